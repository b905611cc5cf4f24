/**
 * `ustack/socket`: the Berkeley socket API over a stack — `new BerkeleySockets(stack)` gives
 * file descriptors and socket, bind, listen, accept, connect, send/recv, sendto/recvfrom,
 * recvmsg, shutdown, close, setsockopt/getsockopt, fcntl, ioctl, poll and epoll — and its
 * constants (`AF_INET`, `SOCK_STREAM`, `SOL_SOCKET`, `TCP_INFO`, `MSG_ZEROCOPY`, …). Failures
 * are `ErrnoError`s carrying the POSIX code (`docs/berkeley-errors.md`).
 *
 * This file only re-exports.
 *
 * @module ustack/socket
 */
export {
  BerkeleySockets,
  type SocketAddress,
  type PollFd,
  type PollResult,
  type DescriptorStatus,
  type ReceivedMessage,
  type AcceptedConnection,
  type ReceivedFrom,
  type LingerValue,
} from './socket-api/berkeley.js';
export * from './socket-api/berkeley-constants.js';
export type { EpollEvent } from './socket-api/epoll.js';
export type { ExtendedError } from './socket-api/zerocopy.js';
export { LINUX_TCP_STATE, TcpCaState, TcpiOption, TCP_INFINITE_SSTHRESH, NO_MIN_RTT, UNLIMITED_PACING_RATE, type TcpInfo } from './tcp/tcp-info.js';
export type { TcpState } from './tcp/connection.js';
export { ErrnoError, Errno, EWOULDBLOCK, describeErrno, type ErrnoCode } from './core/errno.js';
