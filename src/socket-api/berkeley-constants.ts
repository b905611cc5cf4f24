/**
 * The numbers of the Berkeley socket API as Linux defines them, so that programs and
 * packetdrill scripts written for Linux read the same here.
 */

/** Address family. */
export const AF_INET = 2;

/** Socket types. */
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
/** Flag ORed into the type: start in non-blocking mode. */
export const SOCK_NONBLOCK = 0o4000;

/** Protocols. */
export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_RAW = 255;
/** Linux's name for the TCP option level: the same number as IPPROTO_TCP. */
export const SOL_TCP = IPPROTO_TCP;

/** setsockopt levels and options. */
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;
export const SO_ACCEPTCONN = 30;

export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_HDRINCL = 3;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;

export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
/** Linux's struct tcp_info (getsockopt only; see src/tcp/tcp-info.ts). */
export const TCP_INFO = 11;
export const TCP_CONGESTION = 13;
export const TCP_USER_TIMEOUT = 18;

/** shutdown() directions. */
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** fcntl. */
export const F_GETFL = 3;
export const F_SETFL = 4;
export const O_NONBLOCK = 0o4000;

/** ioctl: bytes readable (SIOCINQ is the same number). */
export const FIONREAD = 0x541b;
export const SIOCINQ = FIONREAD;
/** ioctl: 1 when the next byte read is the last byte of urgent data (the "mark"). */
export const SIOCATMARK = 0x8905;

/** poll() events. */
export const POLLIN = 0x001;
export const POLLPRI = 0x002;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const POLLRDHUP = 0x2000;

/** send/recv flags. */
export const MSG_PEEK = 0x02;
export const MSG_DONTWAIT = 0x40;
