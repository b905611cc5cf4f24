/**
 * Errors users see: errno-shaped, with the POSIX name as `code`, Linux's number as `errno`
 * (negative, as Node reports libuv errors), the failing call as `syscall`, and the address
 * and port when there is one. The message reads like Node's: `connect ECONNREFUSED 10.0.0.2:80`.
 */

/** Linux errno numbers for the codes the stack raises. */
export const Errno = {
  /** Operation not permitted: the caller lacks the privilege the call needs (opening a TUN device without CAP_NET_ADMIN). */
  EPERM: 1,
  /** No such file or directory; for sockets, no such entry (epoll_ctl on a descriptor not in the set, an unknown congestion control algorithm). */
  ENOENT: 2,
  /** Bad file descriptor: the descriptor is not open. */
  EBADF: 9,
  /** Resource temporarily unavailable: a non-blocking call would block (no data, no buffer space, no pending connection). Same number as EWOULDBLOCK. */
  EAGAIN: 11,
  /** Permission denied; for a UDP socket, a send to a broadcast address without SO_BROADCAST. */
  EACCES: 13,
  /** Bad address: a buffer or argument the call needs points nowhere. */
  EFAULT: 14,
  /** File exists; epoll_ctl(EPOLL_CTL_ADD) of a descriptor already in the set. */
  EEXIST: 17,
  /** No such device: IPV6_MULTICAST_IF naming an interface index the host does not have. */
  ENODEV: 19,
  /** Invalid argument: a value out of range, or a call the socket is not in a state to take. */
  EINVAL: 22,
  /** Broken pipe: a write on a stream socket whose sending side is shut down or whose connection is gone. */
  EPIPE: 32,
  /** Machine is not on the network; Linux reports it for ICMP Destination Unreachable code 8 (source host isolated). */
  ENONET: 64,
  /** Protocol error; Linux reports it for an ICMP Parameter Problem. */
  EPROTO: 71,
  /** Socket operation on non-socket: the descriptor is open but is not a socket (here, an epoll instance). */
  ENOTSOCK: 88,
  /** Destination address required: a send on an unconnected datagram socket without an address. */
  EDESTADDRREQ: 89,
  /** Message too long: the datagram exceeds the IPv4 maximum, or the path MTU when it may not be fragmented. */
  EMSGSIZE: 90,
  /** Protocol not available: an option unknown at that level or for that socket type; also ICMP Protocol Unreachable. */
  ENOPROTOOPT: 92,
  /** Protocol not supported: socket() with a protocol the type does not carry. */
  EPROTONOSUPPORT: 93,
  /** Operation not supported on this socket (listen() on a datagram socket); also ICMP Source Route Failed. */
  EOPNOTSUPP: 95,
  /** Address family not supported by protocol: anything but AF_INET (IPv4) here. */
  EAFNOSUPPORT: 97,
  /** Address already in use: the local address and port are bound by another socket. */
  EADDRINUSE: 98,
  /** Cannot assign requested address: the address is not one of this host's, or no ephemeral port is free. */
  EADDRNOTAVAIL: 99,
  /** Network is down: the interface the route would use is down. */
  ENETDOWN: 100,
  /** Network is unreachable: no route to the destination network (also ICMP Net Unreachable and kin). */
  ENETUNREACH: 101,
  /** Software caused connection abort: the connection was ended on this side, not by the peer. */
  ECONNABORTED: 103,
  /** Connection reset by peer: a RST arrived on the connection. */
  ECONNRESET: 104,
  /** No buffer space available; here, the interface's transmit queue is full. */
  ENOBUFS: 105,
  /** Transport endpoint is already connected: connect() on a connected socket. */
  EISCONN: 106,
  /** Transport endpoint is not connected: a call that needs a peer on a socket without one. */
  ENOTCONN: 107,
  /** Connection timed out: the handshake, retransmissions or keepalive probes went unanswered. */
  ETIMEDOUT: 110,
  /** Connection refused: a RST answered the SYN, or ICMP Port Unreachable arrived. */
  ECONNREFUSED: 111,
  /** Host is down; Linux reports it for ICMP Destination Unreachable code 7 (destination host unknown). */
  EHOSTDOWN: 112,
  /** No route to host: ICMP Host Unreachable and its kin (administratively prohibited, precedence), or Time Exceeded. */
  EHOSTUNREACH: 113,
  /** Operation already in progress: connect() while a previous non-blocking connect() is still in its handshake. */
  EALREADY: 114,
  /** Operation now in progress: a non-blocking connect() has sent its SYN; poll for writability to learn the outcome. */
  EINPROGRESS: 115,
} as const;

/** A POSIX error name the stack can raise. */
export type ErrnoCode = keyof typeof Errno;

/** `EWOULDBLOCK` is the same error as `EAGAIN` on Linux. */
export const EWOULDBLOCK: ErrnoCode = 'EAGAIN';

const descriptions: Record<ErrnoCode, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  EINVAL: 'Invalid argument',
  EPIPE: 'Broken pipe',
  ENONET: 'Machine is not on the network',
  EPROTO: 'Protocol error',
  ENOTSOCK: 'Socket operation on non-socket',
  EDESTADDRREQ: 'Destination address required',
  EMSGSIZE: 'Message too long',
  ENOPROTOOPT: 'Protocol not available',
  EPROTONOSUPPORT: 'Protocol not supported',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETDOWN: 'Network is down',
  ENETUNREACH: 'Network is unreachable',
  ECONNABORTED: 'Software caused connection abort',
  ECONNRESET: 'Connection reset by peer',
  ENOBUFS: 'No buffer space available',
  EISCONN: 'Transport endpoint is already connected',
  ENOTCONN: 'Transport endpoint is not connected',
  ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
  EHOSTDOWN: 'Host is down',
  EHOSTUNREACH: 'No route to host',
  EALREADY: 'Operation already in progress',
  EINPROGRESS: 'Operation now in progress',
};

/** The strerror() text of a code. */
export function describeErrno(code: ErrnoCode): string {
  return descriptions[code];
}

/** An error with errno shape. */
export class ErrnoError extends Error {
  /** The POSIX error name, such as `ECONNREFUSED`. */
  readonly code: ErrnoCode;
  /** Linux's number for `code`, negated as Node reports libuv errors (ECONNREFUSED: -111). */
  readonly errno: number;
  /** The call that failed, such as `connect` or `bind`. */
  readonly syscall: string;
  // `declare`: no own key at all unless given, like Node's errors (a class field would be an
  // own `port: undefined` under ES2022 semantics).
  /** The IPv4 address (dotted quad) the call concerned; absent when none. */
  declare readonly address?: string;
  /** The port the call concerned; absent when none. */
  declare readonly port?: number;

  /** The error `code` of the call `syscall`, with the address and port it concerned if any; `detail` is added to the message in parentheses. */
  constructor(code: ErrnoCode, syscall: string, address?: string, port?: number, detail?: string) {
    const where = address === undefined ? '' : port === undefined ? ` ${address}` : ` ${address}:${port}`;
    super(`${syscall} ${code}${where}${detail ? ` (${detail})` : ''}`);
    this.name = 'Error';
    this.code = code;
    this.errno = -Errno[code];
    this.syscall = syscall;
    if (address !== undefined) this.address = address;
    if (port !== undefined) this.port = port;
  }
}
