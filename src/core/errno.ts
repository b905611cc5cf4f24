/**
 * Errors users see: errno-shaped, with the POSIX name as `code`, Linux's number as `errno`
 * (negative, as Node reports libuv errors), the failing call as `syscall`, and the address
 * and port when there is one. The message reads like Node's: `connect ECONNREFUSED 10.0.0.2:80`.
 */

/** Linux errno numbers for the codes the stack raises. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EFAULT: 14,
  EEXIST: 17,
  EINVAL: 22,
  EPIPE: 32,
  ENONET: 64,
  EPROTO: 71,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
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
  readonly code: ErrnoCode;
  readonly errno: number;
  readonly syscall: string;
  // `declare`: no own key at all unless given, like Node's errors (a class field would be an
  // own `port: undefined` under ES2022 semantics).
  declare readonly address?: string;
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
