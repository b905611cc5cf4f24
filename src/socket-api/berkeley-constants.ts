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

/** Protocols (also the option levels SOL_IP and SOL_TCP). */
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
/** Sends with MSG_ZEROCOPY report completion on the error queue (Linux 4.14; socket(7)). */
export const SO_ZEROCOPY = 60;

export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_HDRINCL = 3;
/** Path MTU discovery for the socket (DF set), or not (IP_PMTUDISC_DONT). */
export const IP_MTU_DISCOVER = 10;
/** The control message level/type of an error-queue read: SOL_IP / IP_RECVERR (ip(7)). */
export const SOL_IP = IPPROTO_IP;
export const IP_RECVERR = 11;
export const IP_PMTUDISC_DONT = 0;
export const IP_PMTUDISC_WANT = 1;
export const IP_PMTUDISC_DO = 2;
export const IP_PMTUDISC_PROBE = 3;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;

export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
/** Hold partial segments until uncorked (or a full segment, or the probe timer). */
export const TCP_CORK = 3;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
/** Linux's struct tcp_info (getsockopt only; see src/tcp/tcp-info.ts). */
export const TCP_INFO = 11;
export const TCP_CONGESTION = 13;
export const TCP_USER_TIMEOUT = 18;
/** Not-yet-sent bytes above which the socket is not writable (Linux 3.12). */
export const TCP_NOTSENT_LOWAT = 25;
/** recvmsg() reports the bytes still readable in a TCP_CM_INQ control message (Linux 4.18). */
export const TCP_INQ = 36;
/** FreeBSD's per-socket handshake time limit in seconds (net.inet.tcp.keepinit's default); Linux has none. */
export const TCP_KEEPINIT = 128;
export const TCP_CM_INQ = TCP_INQ;

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
export const MSG_OOB = 0x01;
export const MSG_PEEK = 0x02;
export const MSG_DONTWAIT = 0x40;
/** End of record: later data never shares a segment with this write's last byte. */
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
/** recvmsg: read the socket's error queue (ip(7) IP_RECVERR, MSG_ZEROCOPY completions). */
export const MSG_ERRQUEUE = 0x2000;
export const MSG_NOSIGNAL = 0x4000;
/** More data follows: hold partial segments, as TCP_CORK does for this call. */
export const MSG_MORE = 0x8000;
/** Report when the kernel no longer needs the sent bytes (needs SO_ZEROCOPY; Linux's msg_zerocopy.rst). */
export const MSG_ZEROCOPY = 0x4000000;

/** struct sock_extended_err (linux/errqueue.h): where a MSG_ZEROCOPY completion comes from, and its code. */
export const SO_EE_ORIGIN_ZEROCOPY = 5;
/** The completion's code: the kernel copied the data after all (ustack always does). */
export const SO_EE_CODE_ZEROCOPY_COPIED = 1;

/** epoll: control operations and events (EPOLLIN… have poll()'s values). */
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLLIN = POLLIN;
export const EPOLLPRI = POLLPRI;
export const EPOLLOUT = POLLOUT;
export const EPOLLERR = POLLERR;
export const EPOLLHUP = POLLHUP;
export const EPOLLRDHUP = POLLRDHUP;
/**
 * Of several epoll instances watching one socket with this flag, a wakeup wakes one that has a
 * caller blocked in epoll_wait rather than all (Linux 4.5; EPOLL_CTL_ADD only).
 */
export const EPOLLEXCLUSIVE = 0x10000000;
/** Report each entry once per wakeup, not while it stays ready. */
export const EPOLLONESHOT = 0x40000000;
/** Edge-triggered: report a ready entry only after something happened to it. */
export const EPOLLET = 0x80000000;
