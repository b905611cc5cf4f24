/**
 * The numbers of the Berkeley socket API as Linux defines them, so that programs and
 * packetdrill scripts written for Linux read the same here.
 */

/** Address family: IPv4. */
export const AF_INET = 2;
/** Address family: IPv6 (also IPv4 through IPv4-mapped addresses, unless IPV6_V6ONLY). */
export const AF_INET6 = 10;

// Socket types.
/** Socket type: a TCP byte stream. */
export const SOCK_STREAM = 1;
/** Socket type: UDP datagrams. */
export const SOCK_DGRAM = 2;
/** Socket type: raw IP (ICMP, or any protocol with IP_HDRINCL). */
export const SOCK_RAW = 3;
/** Flag ORed into the type: start in non-blocking mode. */
export const SOCK_NONBLOCK = 0o4000;

// Protocols (also the option levels SOL_IP and SOL_TCP).
/** Protocol 0: the default for the type; also the option level SOL_IP. */
export const IPPROTO_IP = 0;
/** ICMP (a raw socket's protocol). */
export const IPPROTO_ICMP = 1;
/** TCP; also the option level of the TCP_* options. */
export const IPPROTO_TCP = 6;
/** UDP. */
export const IPPROTO_UDP = 17;
/** A raw socket that sends whole IP packets (implies IP_HDRINCL). */
export const IPPROTO_RAW = 255;
/** The option level of the IPV6_* options (ipv6(7)). */
export const IPPROTO_IPV6 = 41;
/** ICMPv6 (a raw socket's protocol). */
export const IPPROTO_ICMPV6 = 58;

// IPPROTO_IPV6 options (Linux's include/uapi/linux/in6.h).
/** Raw sockets: the offset of the checksum the stack computes and verifies (RFC 3542 §3.1; -1: off). */
export const IPV6_CHECKSUM = 7;
/** Hop Limit of unicast packets (-1: the default, 64). */
export const IPV6_UNICAST_HOPS = 16;
/** The interface multicasts leave by (an interface index; 0: by the routes). */
export const IPV6_MULTICAST_IF = 17;
/** Hop Limit of multicast packets (-1: the default, 1). */
export const IPV6_MULTICAST_HOPS = 18;
/** Whether our multicasts come back to this host's members. */
export const IPV6_MULTICAST_LOOP = 19;
/** Join a multicast group (ipv6_mreq; here the group as text). */
export const IPV6_JOIN_GROUP = 20;
/** Leave a multicast group. */
export const IPV6_LEAVE_GROUP = 21;
/** IPv6 only: no IPv4-mapped peers on this socket (settable only before bind). */
export const IPV6_V6ONLY = 26;
/** Raw sockets: the application sends whole packets, IPv6 header first (Linux 4.5+; on for IPPROTO_RAW). */
export const IPV6_HDRINCL = 36;
/** The Traffic Class of outgoing packets (-1: 0). */
export const IPV6_TCLASS = 67;
/** Linux's name for the TCP option level: the same number as IPPROTO_TCP. */
export const SOL_TCP = IPPROTO_TCP;

// setsockopt levels and options.
/** Option level of the SO_* options. */
export const SOL_SOCKET = 1;
/** Bind to an address whose port still has connections in TIME-WAIT. */
export const SO_REUSEADDR = 2;
/** getsockopt: the socket's type (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW). */
export const SO_TYPE = 3;
/** getsockopt: the pending error (an errno number, or 0), cleared once read. */
export const SO_ERROR = 4;
/** Allow sending to a broadcast address. */
export const SO_BROADCAST = 6;
/** The send buffer size in bytes (reported as TcpConfig.socketBufferAccounting says). */
export const SO_SNDBUF = 7;
/** The receive buffer size in bytes (reported as TcpConfig.socketBufferAccounting says). */
export const SO_RCVBUF = 8;
/** Send TCP keepalive probes on an idle connection. */
export const SO_KEEPALIVE = 9;
/** close() with `{ onoff, linger }`: wait for unsent data, or reset at once with a zero linger. */
export const SO_LINGER = 13;
/** Several sockets bind the same address and port; connections are shared among listeners. */
export const SO_REUSEPORT = 15;
/** Longest wait of a blocking receive, in ms (0: forever); then EAGAIN. */
export const SO_RCVTIMEO = 20;
/** Longest wait of a blocking send, in ms (0: forever); then EAGAIN. */
export const SO_SNDTIMEO = 21;
/** getsockopt: 1 for a listening socket. */
export const SO_ACCEPTCONN = 30;
/** Sends with MSG_ZEROCOPY report completion on the error queue (Linux 4.14; socket(7)). */
export const SO_ZEROCOPY = 60;

/** The IPv4 TOS byte (DSCP and ECN bits) of outgoing packets. */
export const IP_TOS = 1;
/** The IPv4 TTL of outgoing packets. */
export const IP_TTL = 2;
/** A raw socket's sends carry their own IPv4 header. */
export const IP_HDRINCL = 3;
/** Path MTU discovery for the socket (DF set), or not (IP_PMTUDISC_DONT). */
export const IP_MTU_DISCOVER = 10;
/** The control message level/type of an error-queue read: SOL_IP / IP_RECVERR (ip(7)). */
export const SOL_IP = IPPROTO_IP;
/** Queue ICMP errors and MSG_ZEROCOPY completions on the error queue (recvmsg with MSG_ERRQUEUE). */
export const IP_RECVERR = 11;
/** IP_MTU_DISCOVER value: never set DF; fragment. */
export const IP_PMTUDISC_DONT = 0;
/** IP_MTU_DISCOVER value: set DF and learn the path MTU, fragment above it. */
export const IP_PMTUDISC_WANT = 1;
/** IP_MTU_DISCOVER value: always set DF; sends over the path MTU fail with EMSGSIZE. */
export const IP_PMTUDISC_DO = 2;
/** IP_MTU_DISCOVER value: set DF and ignore the learnt path MTU. */
export const IP_PMTUDISC_PROBE = 3;
/** The interface (by its address) multicast datagrams leave by. */
export const IP_MULTICAST_IF = 32;
/** The TTL of outgoing multicast datagrams (default 1). */
export const IP_MULTICAST_TTL = 33;
/** Deliver our own multicast datagrams to local members too (default on). */
export const IP_MULTICAST_LOOP = 34;
/** Join a multicast group (reported with IGMPv2). */
export const IP_ADD_MEMBERSHIP = 35;
/** Leave a multicast group. */
export const IP_DROP_MEMBERSHIP = 36;

/** Turn off Nagle's algorithm: send small segments at once. */
export const TCP_NODELAY = 1;
/** The largest segment this connection sends (clamps the MSS). */
export const TCP_MAXSEG = 2;
/** Hold partial segments until uncorked (or a full segment, or the probe timer). */
export const TCP_CORK = 3;
/** Idle seconds before the first keepalive probe. */
export const TCP_KEEPIDLE = 4;
/** Seconds between keepalive probes. */
export const TCP_KEEPINTVL = 5;
/** Unanswered keepalive probes before the connection is dropped (ETIMEDOUT). */
export const TCP_KEEPCNT = 6;
/** Linux's struct tcp_info (getsockopt only; see src/tcp/tcp-info.ts). */
export const TCP_INFO = 11;
/** The congestion control algorithm by name: `cubic` or `newreno`. */
export const TCP_CONGESTION = 13;
/** Longest time in ms sent data may stay unacknowledged before the connection is dropped (RFC 5482). */
export const TCP_USER_TIMEOUT = 18;
/** Not-yet-sent bytes above which the socket is not writable (Linux 3.12). */
export const TCP_NOTSENT_LOWAT = 25;
/** recvmsg() reports the bytes still readable in a TCP_CM_INQ control message (Linux 4.18). */
export const TCP_INQ = 36;
/** FreeBSD's per-socket handshake time limit in seconds (net.inet.tcp.keepinit's default); Linux has none. */
export const TCP_KEEPINIT = 128;
/** The control message type that carries TCP_INQ's count (same number). */
export const TCP_CM_INQ = TCP_INQ;

// shutdown() directions.
/** shutdown(): no more receiving. */
export const SHUT_RD = 0;
/** shutdown(): no more sending (TCP sends its FIN). */
export const SHUT_WR = 1;
/** shutdown(): neither. */
export const SHUT_RDWR = 2;

// fcntl.
/** fcntl(): read the descriptor's flags (O_NONBLOCK). */
export const F_GETFL = 3;
/** fcntl(): set the descriptor's flags (O_NONBLOCK). */
export const F_SETFL = 4;
/** fcntl() flag: calls that would block fail with EAGAIN (or EINPROGRESS for connect). */
export const O_NONBLOCK = 0o4000;

/** ioctl: bytes readable (SIOCINQ is the same number). */
export const FIONREAD = 0x541b;
/** ioctl: bytes readable (Linux's other name of FIONREAD). */
export const SIOCINQ = FIONREAD;
/** ioctl: 1 when the next byte read is the last byte of urgent data (the "mark"). */
export const SIOCATMARK = 0x8905;

// poll() events.
/** poll(): readable (data, a connection to accept, or the end of the stream). */
export const POLLIN = 0x001;
/** poll(): urgent data to read. */
export const POLLPRI = 0x002;
/** poll(): writable. */
export const POLLOUT = 0x004;
/** poll(): an error is pending (always reported). */
export const POLLERR = 0x008;
/** poll(): hung up: both directions closed (always reported). */
export const POLLHUP = 0x010;
/** poll(): the descriptor is not open. */
export const POLLNVAL = 0x020;
/** poll(): the peer closed its sending side (its FIN arrived). */
export const POLLRDHUP = 0x2000;

// send/recv flags.
/** send/recv: urgent (out-of-band) data. */
export const MSG_OOB = 0x01;
/** recv: read without removing the data. */
export const MSG_PEEK = 0x02;
/** send/recv: this call does not block (EAGAIN instead). */
export const MSG_DONTWAIT = 0x40;
/** End of record: later data never shares a segment with this write's last byte. */
export const MSG_EOR = 0x80;
/** recv: wait for the whole amount asked for (or the end, an error, a signal). */
export const MSG_WAITALL = 0x100;
/** recvmsg: read the socket's error queue (ip(7) IP_RECVERR, MSG_ZEROCOPY completions). */
export const MSG_ERRQUEUE = 0x2000;
/** send: no SIGPIPE on a broken connection (there are no signals here: EPIPE either way). */
export const MSG_NOSIGNAL = 0x4000;
/** More data follows: hold partial segments, as TCP_CORK does for this call. */
export const MSG_MORE = 0x8000;
/** Report when the kernel no longer needs the sent bytes (needs SO_ZEROCOPY; Linux's msg_zerocopy.rst). */
export const MSG_ZEROCOPY = 0x4000000;

/** struct sock_extended_err (linux/errqueue.h): where a MSG_ZEROCOPY completion comes from, and its code. */
export const SO_EE_ORIGIN_ZEROCOPY = 5;
/** The completion's code: the kernel copied the data after all (ustack always does). */
export const SO_EE_CODE_ZEROCOPY_COPIED = 1;

// epoll: control operations and events (EPOLLIN… have poll()'s values).
/** epoll_ctl(): watch a descriptor. */
export const EPOLL_CTL_ADD = 1;
/** epoll_ctl(): stop watching a descriptor. */
export const EPOLL_CTL_DEL = 2;
/** epoll_ctl(): change a watched descriptor's events. */
export const EPOLL_CTL_MOD = 3;
/** epoll: readable (POLLIN). */
export const EPOLLIN = POLLIN;
/** epoll: urgent data (POLLPRI). */
export const EPOLLPRI = POLLPRI;
/** epoll: writable (POLLOUT). */
export const EPOLLOUT = POLLOUT;
/** epoll: an error is pending (POLLERR). */
export const EPOLLERR = POLLERR;
/** epoll: hung up (POLLHUP). */
export const EPOLLHUP = POLLHUP;
/** epoll: the peer closed its sending side (POLLRDHUP). */
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
