/**
 * The Berkeley socket API over a ustack Stack: file descriptors, and the calls of the seed
 * notes — socket, bind, listen, accept, connect, send/recv, sendto/recvfrom, shutdown, close —
 * plus getsockname/getpeername, setsockopt/getsockopt, fcntl(O_NONBLOCK), ioctl(FIONREAD)
 * and poll. Calls that block in C return Promises here; with O_NONBLOCK they fail at once with
 * EAGAIN / EINPROGRESS, and SO_RCVTIMEO / SO_SNDTIMEO bound the wait. Failures throw (or
 * reject with) an ErrnoError carrying the POSIX code of each call (see docs/berkeley-errors.md).
 */
import { ErrnoError, Errno, type ErrnoCode } from '../core/errno.js';
import type { Result } from '../core/result.js';
import { formatIpv4Address, IPV4_ANY, parseIpv4Address, type Ipv4Address } from '../ip/address.js';
import type { RawSocket } from '../ip/raw-layer.js';
import type { CongestionAlgorithm } from '../tcp/congestion.js';
import type { TcpConnection, TcpState } from '../tcp/connection.js';
import { listenerTcpInfo, socketTcpInfo, unconnectedTcpInfo, type TcpInfo } from '../tcp/tcp-info.js';
import type { TcpBinding, TcpListener } from '../tcp/tcp-layer.js';
import type { UdpSocket } from '../udp/udp-layer.js';
import * as C from './berkeley-constants.js';
import { EpollInstance, type EpollEvent } from './epoll.js';
import type { Stack } from './stack.js';
import { ZerocopyNotifications, type ExtendedError } from './zerocopy.js';

/** An IPv4 socket address. */
export interface SocketAddress {
  readonly address: string;
  readonly port: number;
}

/** One poll() entry. */
export interface PollFd {
  readonly fd: number;
  readonly events: number;
}

/** A poll() result. */
export interface PollResult extends PollFd {
  readonly revents: number;
}

/** One open descriptor and what it refers to, as status tools (netstat, sockstat) list them. */
export interface DescriptorStatus {
  readonly fd: number;
  /** SOCK_STREAM, SOCK_DGRAM or SOCK_RAW. */
  readonly type: number;
  readonly protocol: number;
  /** The local address and port (0.0.0.0:0 when unbound). */
  readonly local: SocketAddress;
  /** The peer, for a TCP connection or a connected UDP socket; else null. */
  readonly remote: SocketAddress | null;
  /** A TCP socket's state: LISTEN for a listener, its connection's (CLOSED once gone), CLOSED before listen or connect; null for others. */
  readonly tcpState: TcpState | null;
  /** The TCP connection the descriptor holds, if any (it may be CLOSED and out of the layer's table). */
  readonly connection: TcpConnection | null;
}

/** Options kept per socket (some apply only once a connection exists). */
interface SocketOptions {
  reuseAddress: boolean;
  reusePort: boolean;
  keepalive: boolean;
  keepIdleSeconds: number;
  keepIntervalSeconds: number;
  keepCount: number;
  /** TCP_KEEPINIT: handshake time limit in seconds (0: none). */
  keepInitSeconds: number;
  linger: { onoff: boolean; seconds: number };
  receiveBuffer: number;
  /** SO_RCVBUF was set (Linux's SOCK_RCVBUF_LOCK). */
  receiveBufferSet: boolean;
  sendBuffer: number;
  /** SO_SNDBUF was set: it replaces the connection's send buffer size, even once connected (and Linux's accounting stops growing it: SOCK_SNDBUF_LOCK). */
  sendBufferSet: boolean;
  receiveTimeoutMs: number;
  sendTimeoutMs: number;
  noDelay: boolean;
  /** TCP_CORK. */
  cork: boolean;
  /** TCP_NOTSENT_LOWAT (0: the stack's). */
  notSentLowWater: number;
  /** TCP_INQ: recvmsg reports the bytes still readable. */
  reportInq: boolean;
  maxSegment: number;
  userTimeoutMs: number;
  congestion: CongestionAlgorithm;
  ttl: number | undefined;
  tos: number;
  /** IP_MTU_DISCOVER: one of IP_PMTUDISC_DONT, _WANT, _DO, _PROBE. */
  mtuDiscover: number;
  broadcast: boolean;
  headerIncluded: boolean;
  /** SO_ZEROCOPY: sends with MSG_ZEROCOPY are numbered and completed on the error queue. */
  zerocopy: boolean;
}

/** What recvmsg(2) returns: the data, the sender, msg_flags and the control messages Linux would attach. */
export interface ReceivedMessage extends SocketAddress {
  readonly data: Uint8Array;
  /** msg_flags: MSG_ERRQUEUE on an error-queue read (ustack reports no other flag here). */
  readonly flags: number;
  /** With TCP_INQ: the TCP_CM_INQ control message, bytes still readable. */
  readonly inq?: number;
  /** An error-queue read: the SOL_IP / IP_RECVERR control message, a MSG_ZEROCOPY completion. */
  readonly recvError?: ExtendedError;
}

/** What a descriptor refers to. */
class SocketEntry {
  nonBlocking = false;
  binding: TcpBinding | null = null;
  listener: TcpListener | null = null;
  connection: TcpConnection | null = null;
  udp: UdpSocket | null = null;
  raw: RawSocket | null = null;
  /** A connect() failed or a connection died: reported once by SO_ERROR or the next call. */
  pendingError: ErrnoCode | null = null;
  closed = false;
  /** A writer found no room (Linux's SOCK_NOSPACE): the next room to write wakes the socket. */
  noSpace = false;
  /** MSG_ZEROCOPY ids, sends awaiting their ACK and the error queue; made by the first such send. */
  zerocopy: ZerocopyNotifications | null = null;
  readonly waiters = new Set<() => void>();
  /** Lasting listeners of every wakeup (epoll entries). */
  readonly watchers = new Set<() => void>();
  /** EPOLLEXCLUSIVE entries: woken in turn until one wakes a blocked epoll_wait. */
  readonly exclusiveWatchers = new Set<() => boolean>();

  constructor(
    readonly fd: number,
    readonly type: number,
    readonly protocol: number,
    readonly options: SocketOptions,
  ) {}

  /** Wakes every blocked call on this socket to re-check its condition, and tells its watchers. */
  notify(): void {
    for (const waiter of [...this.waiters]) waiter();
    for (const watcher of [...this.watchers]) watcher();
    for (const watcher of [...this.exclusiveWatchers]) if (watcher()) break;
  }
}

/** The socket calls of one stack. */
export class BerkeleySockets {
  private readonly table = new Map<number, SocketEntry>();
  /** epoll instances, by descriptor (descriptors share one numbering with sockets). */
  private readonly epolls = new Map<number, EpollInstance>();
  private nextFd = 3;

  /** The socket calls of `stack`, with an empty descriptor table (the first descriptor is 3). */
  constructor(readonly stack: Stack) {}

  /** Every open descriptor, lowest first (what `sockstat` or `netstat` would list for this process). */
  descriptors(): DescriptorStatus[] {
    return [...this.table.values()]
      .sort((a, b) => a.fd - b.fd)
      .map((entry) => {
        const connection = entry.connection;
        let remote: SocketAddress | null = null;
        if (connection) remote = { address: formatIpv4Address(connection.remoteAddress), port: connection.remotePort };
        else if (entry.udp?.connected) remote = { address: formatIpv4Address(entry.udp.remoteAddress), port: entry.udp.remotePort };
        const tcpState: TcpState | null = entry.type !== C.SOCK_STREAM ? null : entry.listener ? 'LISTEN' : (connection?.state ?? 'CLOSED');
        return { fd: entry.fd, type: entry.type, protocol: entry.protocol, local: this.getsockname(entry.fd), remote, tcpState, connection };
      });
  }

  // ---- creation and addresses --------------------------------------------------------------

  /** socket(2). `type` may include SOCK_NONBLOCK. */
  socket(domain: number, type: number, protocol = 0): number {
    if (domain !== C.AF_INET) throw new ErrnoError('EAFNOSUPPORT', 'socket');
    const baseType = type & ~C.SOCK_NONBLOCK;
    if (baseType === C.SOCK_STREAM && protocol !== 0 && protocol !== C.IPPROTO_TCP) throw new ErrnoError('EPROTONOSUPPORT', 'socket');
    if (baseType === C.SOCK_DGRAM && protocol !== 0 && protocol !== C.IPPROTO_UDP) throw new ErrnoError('EPROTONOSUPPORT', 'socket');
    if (baseType === C.SOCK_RAW && (protocol <= 0 || protocol > 255)) throw new ErrnoError('EPROTONOSUPPORT', 'socket');
    if (baseType !== C.SOCK_STREAM && baseType !== C.SOCK_DGRAM && baseType !== C.SOCK_RAW) throw new ErrnoError('EINVAL', 'socket');
    const config = this.stack.tcp.config;
    const entry = new SocketEntry(this.nextFd++, baseType, protocol || (baseType === C.SOCK_STREAM ? C.IPPROTO_TCP : C.IPPROTO_UDP), {
      reuseAddress: false,
      reusePort: false,
      keepalive: false,
      keepIdleSeconds: config.keepaliveIdleMs / 1000,
      keepIntervalSeconds: config.keepaliveIntervalMs / 1000,
      keepCount: config.keepaliveCount,
      keepInitSeconds: config.handshakeTimeoutMs / 1000,
      linger: { onoff: false, seconds: 0 },
      receiveBuffer: baseType === C.SOCK_STREAM ? config.receiveBufferSize : this.stack.udp.config.receiveBufferSize,
      receiveBufferSet: false,
      sendBuffer: config.sendBufferSize,
      sendBufferSet: false,
      receiveTimeoutMs: 0,
      sendTimeoutMs: 0,
      noDelay: false,
      cork: false,
      notSentLowWater: 0,
      reportInq: false,
      maxSegment: 0,
      userTimeoutMs: config.userTimeoutMs,
      congestion: config.congestionControl,
      ttl: undefined,
      tos: 0,
      mtuDiscover: C.IP_PMTUDISC_WANT,
      broadcast: false,
      headerIncluded: protocol === C.IPPROTO_RAW,
      zerocopy: false,
    });
    entry.nonBlocking = (type & C.SOCK_NONBLOCK) !== 0;
    if (baseType === C.SOCK_DGRAM) {
      entry.udp = this.stack.udp.open();
      entry.udp.onReadable = () => entry.notify();
      entry.udp.onError = () => entry.notify();
    } else if (baseType === C.SOCK_RAW) {
      entry.raw = this.stack.raw.open(protocol);
      entry.raw.headerIncluded = entry.options.headerIncluded;
      entry.raw.onReadable = () => entry.notify();
    }
    this.table.set(entry.fd, entry);
    return entry.fd;
  }

  /** bind(2). */
  bind(fd: number, address: SocketAddress): void {
    const entry = this.get(fd, 'bind');
    const local = parseAddress(address.address, 'bind');
    if (entry.udp) return check(entry.udp.bind(local, address.port), 'bind', address);
    if (entry.raw) {
      if (local !== IPV4_ANY && !this.stack.ip.isLocalAddress(local)) throw new ErrnoError('EADDRNOTAVAIL', 'bind', address.address, address.port);
      entry.raw.localAddress = local;
      return;
    }
    if (entry.binding || entry.connection || entry.listener) throw new ErrnoError('EINVAL', 'bind', address.address, address.port);
    const bound = this.stack.tcp.bind(local, address.port, { reuseAddress: entry.options.reuseAddress, reusePort: entry.options.reusePort });
    entry.binding = check(bound, 'bind', address);
  }

  /** getsockname(2). */
  getsockname(fd: number): SocketAddress {
    const entry = this.get(fd, 'getsockname');
    if (entry.connection) return { address: formatIpv4Address(entry.connection.localAddress), port: entry.connection.localPort };
    if (entry.binding) return { address: formatIpv4Address(entry.binding.address), port: entry.binding.port };
    if (entry.udp) return { address: formatIpv4Address(entry.udp.localAddress), port: entry.udp.localPort };
    if (entry.raw) return { address: formatIpv4Address(entry.raw.localAddress), port: 0 };
    return { address: '0.0.0.0', port: 0 };
  }

  /** getpeername(2). */
  getpeername(fd: number): SocketAddress {
    const entry = this.get(fd, 'getpeername');
    const c = entry.connection;
    if (c && c.state !== 'CLOSED' && c.state !== 'SYN-SENT') return { address: formatIpv4Address(c.remoteAddress), port: c.remotePort };
    if (entry.udp?.connected) return { address: formatIpv4Address(entry.udp.remoteAddress), port: entry.udp.remotePort };
    throw new ErrnoError('ENOTCONN', 'getpeername');
  }

  // ---- TCP connection management -----------------------------------------------------------

  /** listen(2). Binds an ephemeral port first if the socket is unbound, as Linux does. */
  listen(fd: number, backlog = 128): void {
    const entry = this.get(fd, 'listen');
    if (entry.type !== C.SOCK_STREAM) throw new ErrnoError('EOPNOTSUPP', 'listen');
    if (entry.connection) throw new ErrnoError('EINVAL', 'listen');
    if (entry.listener) {
      entry.listener.backlog = Math.max(1, backlog);
      return;
    }
    if (!entry.binding) entry.binding = check(this.stack.tcp.bind(IPV4_ANY, 0, { reuseAddress: entry.options.reuseAddress }), 'listen');
    const listener = check(
      this.stack.tcp.listen(entry.binding.address, entry.binding.port, Math.max(1, backlog), entry.options.congestion, entry.binding),
      'listen',
    );
    listener.onAcceptable = () => entry.notify();
    // Options set on the listener, even after listen(), shape each SYN-ACK (TCP_MAXSEG's MSS).
    listener.configureChild = (connection) => applyConnectionOptions(connection, entry.options);
    entry.listener = listener;
  }

  /** accept(2): the next established connection as a new descriptor, with the peer's address. */
  async accept(fd: number): Promise<{ fd: number } & SocketAddress> {
    const entry = this.get(fd, 'accept');
    if (!entry.listener) throw new ErrnoError('EINVAL', 'accept');
    const listener = entry.listener;
    const connection = await this.waitFor(entry, 'accept', entry.options.receiveTimeoutMs, () => listener.accept() ?? undefined);
    const child = new SocketEntry(this.nextFd++, C.SOCK_STREAM, C.IPPROTO_TCP, { ...entry.options, linger: { ...entry.options.linger } });
    this.attachConnection(child, connection);
    applyConnectionOptions(connection, child.options); // an accepted socket inherits the listener's options, as on Linux
    this.table.set(child.fd, child);
    return { fd: child.fd, address: formatIpv4Address(connection.remoteAddress), port: connection.remotePort };
  }

  /** connect(2). TCP: the handshake (EINPROGRESS when non-blocking). UDP/raw: sets the peer. */
  async connect(fd: number, address: SocketAddress): Promise<void> {
    const entry = this.get(fd, 'connect');
    const remote = parseAddress(address.address, 'connect');
    if (entry.udp) {
      if (address.port === 0) {
        entry.udp.disconnect();
        return;
      }
      return check(entry.udp.connect(remote, address.port), 'connect', address);
    }
    if (entry.raw) {
      entry.raw.remoteAddress = remote;
      return;
    }
    if (entry.listener) throw new ErrnoError('EINVAL', 'connect', address.address, address.port);
    let connection = entry.connection;
    if (connection) {
      if (connection.state === 'SYN-SENT' || connection.state === 'SYN-RECEIVED') throw new ErrnoError('EALREADY', 'connect', address.address, address.port);
      if (connection.state !== 'CLOSED') throw new ErrnoError('EISCONN', 'connect', address.address, address.port);
      throw new ErrnoError(connection.error ?? 'ECONNABORTED', 'connect', address.address, address.port);
    }
    const options = entry.options;
    connection = check(
      this.stack.tcp.connect(remote, address.port, {
        localAddress: entry.binding?.address,
        localPort: entry.binding?.port,
        congestion: options.congestion,
        configure: (c) => applyConnectionOptions(c, options),
      }),
      'connect',
      address,
    );
    this.attachConnection(entry, connection);
    if (entry.nonBlocking) throw new ErrnoError('EINPROGRESS', 'connect', address.address, address.port);
    await this.waitFor(entry, 'connect', options.sendTimeoutMs, () => {
      if (connection!.state === 'CLOSED') {
        const error = connection!.error ?? entry.pendingError ?? 'ECONNREFUSED';
        entry.pendingError = null;
        throw new ErrnoError(error, 'connect', address.address, address.port);
      }
      return connection!.state === 'SYN-SENT' || connection!.state === 'SYN-RECEIVED' ? undefined : true;
    }, 'EINPROGRESS');
  }

  private attachConnection(entry: SocketEntry, connection: TcpConnection): void {
    entry.connection = connection;
    connection.events = {
      onConnect: () => entry.notify(),
      onReadable: () => entry.notify(),
      // A wakeup for room to write only when a writer ran short and there is now room worth
      // waking for (Linux's SOCK_NOSPACE and sk_stream_write_space).
      onWritable: () => {
        // Room an ACK freed: the MSG_ZEROCOPY sends it acknowledged complete (Linux frees the
        // acknowledged buffers, and with them the sends' records, in tcp_clean_rtx_queue).
        if (entry.zerocopy?.acknowledged(connection.sendBufferSeq)) entry.notify();
        if (entry.noSpace && connection.writable) {
          entry.noSpace = false;
          entry.notify();
        }
      },
      onClose: (error) => {
        if (error) entry.pendingError = error;
        entry.zerocopy?.connectionGone();
        entry.notify();
      },
    };
  }

  // ---- data --------------------------------------------------------------------------------

  /**
   * send(2): for TCP, blocks until every byte is queued (or returns what fit, non-blocking);
   * MSG_MORE holds a partial segment, MSG_EOR ends a record. `null` data is EFAULT, as a bad
   * pointer in C. With SO_ZEROCOPY set, MSG_ZEROCOPY numbers a send of at least one byte and
   * reports its completion on the error queue (src/socket-api/zerocopy.ts); without it the flag
   * is ignored, as Linux's tcp_sendmsg_locked and __ip_append_data ignore it.
   */
  async send(fd: number, data: Uint8Array | null, flags = 0): Promise<number> {
    const entry = this.get(fd, 'send');
    if (data === null) throw new ErrnoError('EFAULT', 'send');
    const zerocopy = (flags & C.MSG_ZEROCOPY) !== 0 && entry.options.zerocopy && data.length > 0;
    if (entry.udp) {
      if (!entry.udp.connected) throw new ErrnoError('EDESTADDRREQ', 'send');
      const sent = check(entry.udp.send(data), 'send');
      if (zerocopy) this.datagramCompleted(entry);
      return sent;
    }
    if (entry.raw) return check(entry.raw.send(data), 'send');
    const connection = entry.connection;
    if (!zerocopy || !connection) return this.sendStream(entry, data, flags);
    // Linux numbers the send only if it queues something (a failed one gives its id back,
    // msg_zerocopy_put_abort); the previous send's range takes this one in while its last
    // bytes still wait to be sent (msg_zerocopy_realloc on the write queue's tail).
    const zc = (entry.zerocopy ??= new ZerocopyNotifications());
    const tailUnsent = connection.unsentBytes > 0 && zc.newestEnd === connection.sendBufferEnd;
    const sent = await this.sendStream(entry, data, flags);
    if (sent > 0) zc.streamSent(sent, connection.sendBufferEnd, tailUnsent);
    return sent;
  }

  /** send(2) on a TCP socket. */
  private async sendStream(entry: SocketEntry, data: Uint8Array, flags: number): Promise<number> {
    const connection = entry.connection;
    // Not connected (never, or listening): Linux's sk_stream_wait_connect fails with EPIPE.
    if (!connection) throw new ErrnoError('EPIPE', 'send');
    const nonBlocking = entry.nonBlocking || (flags & C.MSG_DONTWAIT) !== 0;
    let sent = 0;
    for (;;) {
      if (connection.state === 'CLOSED' || connection.error) {
        if (sent > 0) return sent;
        throw new ErrnoError(this.takeError(entry) ?? 'EPIPE', 'send');
      }
      if (connection.state === 'SYN-SENT' || connection.state === 'SYN-RECEIVED') {
        if (nonBlocking) throw new ErrnoError('EAGAIN', 'send');
      } else {
        const result = connection.send(data.subarray(sent), { more: (flags & C.MSG_MORE) !== 0, endOfRecord: (flags & C.MSG_EOR) !== 0 });
        if (!result.ok) {
          if (sent > 0) return sent;
          throw new ErrnoError(result.error, 'send');
        }
        sent += result.value;
        if (sent === data.length) return sent;
        if (nonBlocking) {
          entry.noSpace = true;
          if (sent > 0) return sent;
          throw new ErrnoError('EAGAIN', 'send');
        }
      }
      entry.noSpace = true;
      try {
        await this.waitFor(entry, 'send', entry.options.sendTimeoutMs, () =>
          connection.state === 'CLOSED' || connection.error || (connection.synchronized && connection.writable) ? true : undefined,
        );
      } catch (error) {
        if (sent > 0) return sent;
        throw error;
      }
    }
  }

  /**
   * A UDP send with MSG_ZEROCOPY queued its datagram: the bytes were copied into the packet,
   * so its id completes at once (Linux's __ip_append_data numbers it; its skb's release completes it).
   */
  private datagramCompleted(entry: SocketEntry): void {
    (entry.zerocopy ??= new ZerocopyNotifications()).datagramSent();
    entry.notify();
  }

  /** sendto(2): UDP and raw take a destination; TCP ignores it (as Linux does when connected). */
  async sendto(fd: number, data: Uint8Array | null, address: SocketAddress, flags = 0): Promise<number> {
    const entry = this.get(fd, 'sendto');
    if (data === null) throw new ErrnoError('EFAULT', 'sendto');
    const destination = parseAddress(address.address, 'sendto');
    if (entry.udp) {
      const sent = check(entry.udp.send(data, destination, address.port), 'sendto', address);
      if ((flags & C.MSG_ZEROCOPY) !== 0 && entry.options.zerocopy && data.length > 0) this.datagramCompleted(entry);
      return sent;
    }
    if (entry.raw) return check(entry.raw.send(data, destination), 'sendto', address);
    return this.send(fd, data, flags);
  }

  /**
   * read(2)/recv(2) into the caller's buffer, as in C: the bytes copied, 0 at end of stream. A
   * `null` buffer is a bad pointer: EFAULT once there is data to copy, which stays queued.
   */
  async recvInto(fd: number, buffer: Uint8Array | null, flags = 0): Promise<number> {
    if (buffer === null) {
      const { data } = await this.recvfrom(fd, 1, flags | C.MSG_PEEK);
      if (data.length > 0) throw new ErrnoError('EFAULT', 'recv');
      return 0;
    }
    const { data } = await this.recvfrom(fd, buffer.length, flags);
    buffer.set(data);
    return data.length;
  }

  /**
   * recvmsg(2) for TCP and UDP: like recvfrom, plus the control messages Linux would attach;
   * with TCP_INQ, `inq` is the bytes still readable after this read (1 at end of stream while
   * none are left, so a reader knows to read again and see it). With MSG_ERRQUEUE it reads the
   * error queue instead: the oldest MSG_ZEROCOPY completion as `recvError` (no data, msg_flags
   * MSG_ERRQUEUE), or EAGAIN at once when the queue is empty — it never waits (ip(7): Linux's
   * ip_recv_error).
   */
  async recvmsg(fd: number, max: number, flags = 0): Promise<ReceivedMessage> {
    const entry = this.get(fd, 'recvmsg');
    if (flags & C.MSG_ERRQUEUE) return this.readErrorQueue(entry, 'recvmsg');
    const result = await this.recvfrom(fd, max, flags);
    const connection = entry.connection;
    if (!entry.options.reportInq || !connection) return { ...result, flags: 0 };
    const inq = connection.readableBytes > 0 ? connection.readableBytes : connection.peerFinReceived ? 1 : 0;
    return { ...result, flags: 0, inq };
  }

  /**
   * Dequeues the oldest notification of the error queue. A completion carries no data and no
   * sender (ip_recv_error fills msg_name only for ICMP errors); an empty queue is EAGAIN.
   */
  private readErrorQueue(entry: SocketEntry, syscall: string): ReceivedMessage {
    const recvError = entry.zerocopy?.take();
    if (!recvError) throw new ErrnoError('EAGAIN', syscall);
    return { data: new Uint8Array(0), address: '0.0.0.0', port: 0, flags: C.MSG_ERRQUEUE, recvError };
  }

  /** recv(2): up to `max` bytes; an empty array means end of stream (TCP). */
  async recv(fd: number, max: number, flags = 0): Promise<Uint8Array> {
    return (await this.recvfrom(fd, max, flags)).data;
  }

  /** recvfrom(2): data and the sender's address. */
  async recvfrom(fd: number, max: number, flags = 0): Promise<{ data: Uint8Array } & SocketAddress> {
    const entry = this.get(fd, 'recvfrom');
    // recv(2) and recvfrom(2) read the error queue too, dropping the control message.
    if (flags & C.MSG_ERRQUEUE) return this.readErrorQueue(entry, 'recvfrom');
    const nonBlocking = entry.nonBlocking || (flags & C.MSG_DONTWAIT) !== 0;
    const peek = (flags & C.MSG_PEEK) !== 0;
    const timeout = nonBlocking ? -1 : entry.options.receiveTimeoutMs;
    if (entry.udp) {
      const udp = entry.udp;
      const datagram = await this.waitFor(entry, 'recvfrom', timeout, () => {
        const error = udp.takeError();
        if (error) throw new ErrnoError(error, 'recvfrom');
        return (peek ? udp.peek() : udp.receive()) ?? undefined;
      });
      return { data: datagram.payload.subarray(0, max), address: formatIpv4Address(datagram.sourceAddress), port: datagram.sourcePort };
    }
    if (entry.raw) {
      const raw = entry.raw;
      const datagram = await this.waitFor(entry, 'recvfrom', timeout, () => raw.receive() ?? undefined);
      return { data: datagram.packet.subarray(0, max), address: formatIpv4Address(datagram.source), port: 0 };
    }
    const connection = entry.connection;
    if (!connection) throw new ErrnoError('ENOTCONN', 'recvfrom');
    const data = await this.waitFor(entry, 'recvfrom', timeout, () => {
      if (connection.readableBytes > 0) return peek ? peekStream(connection, max) : connection.receive(max);
      if (connection.peerFinReceived || connection.readShutdown) return new Uint8Array(0);
      if (connection.state === 'CLOSED') {
        const error = this.takeError(entry);
        if (error) throw new ErrnoError(error, 'recvfrom');
        return new Uint8Array(0);
      }
      if (connection.state === 'SYN-SENT' && nonBlocking) throw new ErrnoError('EAGAIN', 'recvfrom');
      return undefined;
    });
    return { data, address: formatIpv4Address(connection.remoteAddress), port: connection.remotePort };
  }

  /** shutdown(2). */
  shutdown(fd: number, how: number): void {
    const entry = this.get(fd, 'shutdown');
    if (how !== C.SHUT_RD && how !== C.SHUT_WR && how !== C.SHUT_RDWR) throw new ErrnoError('EINVAL', 'shutdown');
    const connection = entry.connection;
    if (!connection || connection.state === 'SYN-SENT' || connection.state === 'CLOSED') {
      if (entry.udp?.connected) return;
      throw new ErrnoError('ENOTCONN', 'shutdown');
    }
    if (how !== C.SHUT_WR) connection.shutdownRead();
    if (how !== C.SHUT_RD) connection.shutdownWrite();
    entry.notify();
  }

  /** close(2): TCP sends FIN (or RST with unread data or SO_LINGER 0); the descriptor is gone. */
  close(fd: number): void {
    const epoll = this.epolls.get(fd);
    if (epoll) {
      this.epolls.delete(fd);
      epoll.close();
      return;
    }
    const entry = this.get(fd, 'close');
    entry.closed = true;
    this.table.delete(fd);
    for (const instance of this.epolls.values()) instance.forget(fd);
    entry.listener?.close();
    if (entry.connection) {
      entry.connection.events = {};
      entry.connection.close();
    }
    if (entry.binding && !entry.listener) this.stack.tcp.unbind(entry.binding);
    entry.udp?.close();
    entry.raw?.close();
    entry.notify();
  }

  // ---- control -----------------------------------------------------------------------------

  /** fcntl(2) with F_GETFL / F_SETFL (O_NONBLOCK). */
  fcntl(fd: number, command: number, flags = 0): number {
    const entry = this.get(fd, 'fcntl');
    if (command === C.F_GETFL) return entry.nonBlocking ? C.O_NONBLOCK : 0;
    if (command === C.F_SETFL) {
      entry.nonBlocking = (flags & C.O_NONBLOCK) !== 0;
      return 0;
    }
    throw new ErrnoError('EINVAL', 'fcntl');
  }

  /** ioctl(2) FIONREAD / SIOCINQ: bytes readable (TCP) or the next datagram's size (UDP, raw); SIOCATMARK. */
  ioctl(fd: number, request: number): number {
    const entry = this.get(fd, 'ioctl');
    if (request === C.SIOCATMARK) return entry.connection?.urgentMarkDistance() === 0 ? 1 : 0;
    if (request !== C.FIONREAD) throw new ErrnoError('EINVAL', 'ioctl');
    if (entry.listener) throw new ErrnoError('EINVAL', 'ioctl');
    if (entry.udp) return entry.udp.nextDatagramSize;
    if (entry.raw) return entry.raw.nextDatagramSize;
    return entry.connection?.readableBytes ?? 0;
  }

  /** setsockopt(2). Values: numbers (booleans as 0/1), SO_LINGER `{ onoff, linger }`, TCP_CONGESTION a name. */
  setsockopt(fd: number, level: number, name: number, value: number | boolean | string | { onoff: number | boolean; linger: number }): void {
    const entry = this.get(fd, 'setsockopt');
    const options = entry.options;
    const n = typeof value === 'boolean' ? Number(value) : typeof value === 'number' ? value : NaN;
    const flag = n !== 0 && !Number.isNaN(n);
    const connection = entry.connection;
    const key = `${level}:${name}`;
    switch (key) {
      case `${C.SOL_SOCKET}:${C.SO_REUSEADDR}`:
        options.reuseAddress = flag;
        if (entry.udp) entry.udp.options.reuseAddress = flag;
        return;
      case `${C.SOL_SOCKET}:${C.SO_REUSEPORT}`:
        options.reusePort = flag;
        if (entry.udp) entry.udp.options.reusePort = flag;
        return;
      case `${C.SOL_SOCKET}:${C.SO_BROADCAST}`:
        options.broadcast = flag;
        if (entry.udp) entry.udp.options.broadcast = flag;
        return;
      case `${C.SOL_SOCKET}:${C.SO_KEEPALIVE}`:
        options.keepalive = flag;
        connection?.setKeepalive({ enabled: flag });
        return;
      case `${C.SOL_SOCKET}:${C.SO_LINGER}`:
        if (typeof value !== 'object') throw new ErrnoError('EINVAL', 'setsockopt');
        options.linger = { onoff: Boolean(value.onoff), seconds: value.linger };
        connection?.setLinger(options.linger.onoff, options.linger.seconds);
        return;
      case `${C.SOL_SOCKET}:${C.SO_RCVBUF}`:
        options.receiveBuffer = positive(n);
        options.receiveBufferSet = true;
        if (entry.udp) entry.udp.options.receiveBufferSize = options.receiveBuffer;
        connection?.setReceiveBufferSize(options.receiveBuffer, true);
        return;
      case `${C.SOL_SOCKET}:${C.SO_SNDBUF}`:
        options.sendBuffer = positive(n);
        options.sendBufferSet = true;
        connection?.setSendBufferSize(options.sendBuffer);
        return;
      case `${C.SOL_SOCKET}:${C.SO_RCVTIMEO}`:
        options.receiveTimeoutMs = positive(n, true);
        return;
      case `${C.SOL_SOCKET}:${C.SO_ZEROCOPY}`:
        // Linux's sock_setsockopt: TCP and UDP only, and the value 0 or 1. Clearing it leaves
        // the sends already numbered to complete.
        if (entry.raw) throw new ErrnoError('EOPNOTSUPP', 'setsockopt');
        if (n !== 0 && n !== 1) throw new ErrnoError('EINVAL', 'setsockopt');
        options.zerocopy = flag;
        return;
      case `${C.SOL_SOCKET}:${C.SO_SNDTIMEO}`:
        options.sendTimeoutMs = positive(n, true);
        return;
      case `${C.IPPROTO_IP}:${C.IP_TTL}`:
        if (!(n >= 1 && n <= 255) && n !== -1) throw new ErrnoError('EINVAL', 'setsockopt');
        options.ttl = n === -1 ? undefined : n;
        if (entry.udp) entry.udp.options.ttl = options.ttl;
        if (entry.raw) entry.raw.ttl = options.ttl;
        connection?.setTtl(options.ttl);
        return;
      case `${C.IPPROTO_IP}:${C.IP_TOS}`:
        options.tos = n & 0xff;
        if (entry.udp) entry.udp.options.tos = options.tos;
        if (entry.raw) entry.raw.tos = options.tos;
        connection?.setTos(options.tos);
        return;
      case `${C.IPPROTO_IP}:${C.IP_MTU_DISCOVER}`:
        if (!(n >= C.IP_PMTUDISC_DONT && n <= C.IP_PMTUDISC_PROBE)) throw new ErrnoError('EINVAL', 'setsockopt');
        options.mtuDiscover = n;
        connection?.setDontFragment(n !== C.IP_PMTUDISC_DONT);
        return;
      case `${C.IPPROTO_IP}:${C.IP_HDRINCL}`:
        if (!entry.raw) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        options.headerIncluded = flag;
        entry.raw.headerIncluded = flag;
        return;
      case `${C.IPPROTO_IP}:${C.IP_MULTICAST_IF}`: {
        // The value is the interface's address as dotted text ('0.0.0.0': by the routes).
        if (!entry.udp) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        const address = typeof value === 'string' ? parseIpv4Address(value) : null;
        if (address === null) throw new ErrnoError('EINVAL', 'setsockopt');
        const set = entry.udp.setMulticastInterface(address);
        if (!set.ok) throw new ErrnoError(set.error, 'setsockopt');
        return;
      }
      case `${C.IPPROTO_IP}:${C.IP_MULTICAST_TTL}`:
        if (!entry.udp) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        if (!(n >= 0 && n <= 255) && n !== -1) throw new ErrnoError('EINVAL', 'setsockopt');
        entry.udp.options.multicastTtl = n === -1 ? 1 : n;
        return;
      case `${C.IPPROTO_IP}:${C.IP_MULTICAST_LOOP}`:
        if (!entry.udp) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        entry.udp.options.multicastLoop = flag;
        return;
      case `${C.IPPROTO_IP}:${C.IP_ADD_MEMBERSHIP}`:
      case `${C.IPPROTO_IP}:${C.IP_DROP_MEMBERSHIP}`: {
        // The value is the group (ip_mreq's imr_multiaddr) as dotted text.
        if (!entry.udp) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        const group = typeof value === 'string' ? parseIpv4Address(value) : null;
        if (group === null) throw new ErrnoError('EINVAL', 'setsockopt');
        const done = name === C.IP_ADD_MEMBERSHIP ? entry.udp.joinGroup(group) : entry.udp.leaveGroup(group);
        if (!done.ok) throw new ErrnoError(done.error, 'setsockopt');
        return;
      }
      case `${C.IPPROTO_TCP}:${C.TCP_NODELAY}`:
        options.noDelay = flag;
        connection?.setNoDelay(flag); // turning it on sends what was held
        return;
      case `${C.IPPROTO_TCP}:${C.TCP_CORK}`:
        options.cork = flag;
        connection?.setCork(flag); // uncorking sends what was held
        return;
      case `${C.IPPROTO_TCP}:${C.TCP_NOTSENT_LOWAT}`:
        options.notSentLowWater = n >>> 0;
        connection?.setNotSentLowWater(options.notSentLowWater);
        return;
      case `${C.IPPROTO_TCP}:${C.TCP_INQ}`:
        options.reportInq = flag;
        return;
      case `${C.IPPROTO_TCP}:${C.TCP_MAXSEG}`:
        if (n < 88 || n > 32767) throw new ErrnoError('EINVAL', 'setsockopt');
        options.maxSegment = n;
        connection?.setMaxSegmentSize(n);
        return;
      case `${C.IPPROTO_TCP}:${C.TCP_KEEPIDLE}`:
        options.keepIdleSeconds = atLeastOne(n);
        connection?.setKeepalive({ idleMs: options.keepIdleSeconds * 1000 });
        return;
      case `${C.IPPROTO_TCP}:${C.TCP_KEEPINTVL}`:
        options.keepIntervalSeconds = atLeastOne(n);
        connection?.setKeepalive({ intervalMs: options.keepIntervalSeconds * 1000 });
        return;
      case `${C.IPPROTO_TCP}:${C.TCP_KEEPCNT}`:
        options.keepCount = atLeastOne(n);
        connection?.setKeepalive({ count: options.keepCount });
        return;
      case `${C.IPPROTO_TCP}:${C.TCP_KEEPINIT}`:
        options.keepInitSeconds = positive(n, true);
        connection?.setHandshakeTimeout(options.keepInitSeconds * 1000);
        return;
      case `${C.IPPROTO_TCP}:${C.TCP_USER_TIMEOUT}`:
        options.userTimeoutMs = positive(n, true);
        connection?.setUserTimeout(options.userTimeoutMs);
        return;
      case `${C.IPPROTO_TCP}:${C.TCP_CONGESTION}`: {
        const algorithm = value === 'cubic' ? 'cubic' : value === 'reno' || value === 'newreno' ? 'newreno' : null;
        if (!algorithm) throw new ErrnoError('ENOENT', 'setsockopt'); // as Linux for an unknown algorithm
        options.congestion = algorithm;
        connection?.setCongestionControl(algorithm);
        return;
      }
      default:
        throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
    }
  }

  /**
   * getsockopt(2). SO_ERROR returns and clears the pending error as an errno number. TCP_INFO
   * (level IPPROTO_TCP, which is SOL_TCP) returns Linux's struct tcp_info as an object whose keys
   * are its field names without `tcpi_` (src/tcp/tcp-info.ts).
   */
  getsockopt(fd: number, level: number, name: number): number | string | { onoff: number; linger: number } | TcpInfo {
    const entry = this.get(fd, 'getsockopt');
    const options = entry.options;
    switch (`${level}:${name}`) {
      case `${C.SOL_SOCKET}:${C.SO_ERROR}`: {
        const error = this.takeError(entry);
        return error ? Errno[error] : 0;
      }
      case `${C.SOL_SOCKET}:${C.SO_TYPE}`:
        return entry.type;
      case `${C.SOL_SOCKET}:${C.SO_ACCEPTCONN}`:
        return entry.listener ? 1 : 0;
      case `${C.SOL_SOCKET}:${C.SO_REUSEADDR}`:
        return Number(options.reuseAddress);
      case `${C.SOL_SOCKET}:${C.SO_REUSEPORT}`:
        return Number(options.reusePort);
      case `${C.SOL_SOCKET}:${C.SO_BROADCAST}`:
        return Number(options.broadcast);
      case `${C.SOL_SOCKET}:${C.SO_KEEPALIVE}`:
        return Number(options.keepalive);
      case `${C.SOL_SOCKET}:${C.SO_LINGER}`:
        return { onoff: Number(options.linger.onoff), linger: options.linger.seconds };
      case `${C.SOL_SOCKET}:${C.SO_RCVBUF}`:
        return this.reportedBufferSize(entry, 'receive');
      case `${C.SOL_SOCKET}:${C.SO_SNDBUF}`: {
        // Linux's send memory reports its limit, sk_sndbuf: twice what was set, or what it grew to.
        const memory = entry.connection?.sendMemory;
        if (memory && memory.accounting === 'linux') return memory.limit;
        return this.reportedBufferSize(entry, 'send');
      }
      case `${C.SOL_SOCKET}:${C.SO_RCVTIMEO}`:
        return options.receiveTimeoutMs;
      case `${C.SOL_SOCKET}:${C.SO_SNDTIMEO}`:
        return options.sendTimeoutMs;
      case `${C.SOL_SOCKET}:${C.SO_ZEROCOPY}`:
        return Number(options.zerocopy);
      case `${C.IPPROTO_IP}:${C.IP_TTL}`:
        return options.ttl ?? this.stack.ip.config.defaultTtl;
      case `${C.IPPROTO_IP}:${C.IP_TOS}`:
        return options.tos;
      case `${C.IPPROTO_IP}:${C.IP_HDRINCL}`:
        return Number(options.headerIncluded);
      case `${C.IPPROTO_IP}:${C.IP_MTU_DISCOVER}`:
        return options.mtuDiscover;
      case `${C.IPPROTO_IP}:${C.IP_MULTICAST_TTL}`:
        return entry.udp?.options.multicastTtl ?? 1;
      case `${C.IPPROTO_IP}:${C.IP_MULTICAST_LOOP}`:
        return Number(entry.udp?.options.multicastLoop ?? true);
      case `${C.IPPROTO_TCP}:${C.TCP_NODELAY}`:
        return Number(options.noDelay);
      case `${C.IPPROTO_TCP}:${C.TCP_CORK}`:
        return Number(options.cork);
      case `${C.IPPROTO_TCP}:${C.TCP_NOTSENT_LOWAT}`:
        return options.notSentLowWater;
      case `${C.IPPROTO_TCP}:${C.TCP_INQ}`:
        return Number(options.reportInq);
      case `${C.IPPROTO_TCP}:${C.TCP_MAXSEG}`:
        return entry.connection?.synchronized ? entry.connection.sendMss : options.maxSegment || this.stack.tcp.config.defaultMss;
      case `${C.IPPROTO_TCP}:${C.TCP_KEEPIDLE}`:
        return options.keepIdleSeconds;
      case `${C.IPPROTO_TCP}:${C.TCP_KEEPINTVL}`:
        return options.keepIntervalSeconds;
      case `${C.IPPROTO_TCP}:${C.TCP_KEEPCNT}`:
        return options.keepCount;
      case `${C.IPPROTO_TCP}:${C.TCP_KEEPINIT}`:
        return options.keepInitSeconds;
      case `${C.IPPROTO_TCP}:${C.TCP_USER_TIMEOUT}`:
        return options.userTimeoutMs;
      case `${C.IPPROTO_TCP}:${C.TCP_CONGESTION}`:
        return options.congestion === 'newreno' ? 'reno' : options.congestion;
      case `${C.IPPROTO_TCP}:${C.TCP_INFO}`:
        return this.tcpInfo(entry);
      default:
        throw new ErrnoError('ENOPROTOOPT', 'getsockopt');
    }
  }

  /** TCP_INFO of a TCP socket: its connection's, a listener's, or a fresh socket's (Linux's values for each). */
  private tcpInfo(entry: SocketEntry): TcpInfo {
    if (entry.type !== C.SOCK_STREAM) throw new ErrnoError('ENOPROTOOPT', 'getsockopt');
    const config = this.stack.tcp.config;
    if (entry.connection) return socketTcpInfo(entry.connection, this.stack.currentTimeForCalls());
    if (entry.listener) return listenerTcpInfo(entry.listener, config);
    return unconnectedTcpInfo(config);
  }

  /**
   * poll(2): readiness of each descriptor; waits up to `timeoutMs` (negative = forever, 0 =
   * just look) for any to become ready. POLLNVAL for unknown descriptors.
   */
  async poll(fds: readonly PollFd[], timeoutMs: number): Promise<PollResult[]> {
    const look = () => fds.map((p) => ({ ...p, revents: this.readiness(p) }));
    const now = look();
    if (timeoutMs === 0 || now.some((r) => r.revents !== 0)) return now;
    const entries = fds.map((p) => this.table.get(p.fd)).filter((e): e is SocketEntry => e !== undefined);
    return new Promise((resolve) => {
      let cancelTimer: (() => void) | null = null;
      const finish = () => {
        for (const entry of entries) entry.waiters.delete(wake);
        cancelTimer?.();
        resolve(look());
      };
      const wake = () => {
        if (fds.some((p) => this.readiness(p) !== 0)) finish();
      };
      for (const entry of entries) entry.waiters.add(wake);
      if (timeoutMs > 0) cancelTimer = this.stack.schedule(this.stack.currentTimeForCalls() + timeoutMs, finish);
    });
  }

  private readiness(p: PollFd): number {
    const entry = this.table.get(p.fd);
    if (!entry) return C.POLLNVAL;
    const always = C.POLLERR | C.POLLHUP | C.POLLNVAL;
    let revents = 0;
    if (entry.listener) {
      if (entry.listener.acceptQueue.length > 0) revents |= C.POLLIN;
    } else if (entry.udp) {
      if (entry.udp.queuedDatagrams > 0) revents |= C.POLLIN;
      revents |= C.POLLOUT;
      if (entry.udp.pendingError) revents |= C.POLLERR;
    } else if (entry.raw) {
      if (entry.raw.nextDatagramSize > 0) revents |= C.POLLIN;
      revents |= C.POLLOUT;
    } else if (entry.connection) {
      const c = entry.connection;
      // Reading has ended by the peer's FIN or our SHUT_RD: a read returns at once (Linux's
      // RCV_SHUTDOWN), and with writing shut down too the connection is hung up.
      const readEnded = c.peerFinReceived || c.readShutdown;
      if (c.readableBytes > 0 || readEnded) revents |= C.POLLIN;
      if (readEnded) revents |= C.POLLRDHUP;
      if (c.synchronized && c.canSend && c.writable) revents |= C.POLLOUT;
      else if (p.events & C.POLLOUT) {
        // As tcp_poll sets SOCK_NOSPACE: freed room then wakes this socket and may grow its buffer.
        entry.noSpace = true;
        c.sendMemory.writerWaiting = true;
      }
      if (c.state === 'CLOSED') revents |= C.POLLHUP | C.POLLIN | (entry.pendingError || c.error ? C.POLLERR : 0);
      if (readEnded && c.finPending) revents |= C.POLLHUP;
    } else {
      revents |= C.POLLOUT | C.POLLHUP; // an unconnected stream socket
    }
    // A notification on the error queue (Linux's tcp_poll and datagram_poll).
    if (entry.zerocopy?.readable) revents |= C.POLLERR;
    return revents & (p.events | always);
  }

  // ---- epoll -------------------------------------------------------------------------------

  /** epoll_create(2): a new epoll instance's descriptor (`size` is a hint, > 0). */
  epollCreate(size = 1): number {
    if (!(size > 0)) throw new ErrnoError('EINVAL', 'epoll_create');
    const fd = this.nextFd++;
    this.epolls.set(
      fd,
      new EpollInstance({
        readiness: (target, events) => this.readiness({ fd: target, events }),
        watch: (target, wake, exclusive) => {
          const entry = this.get(target, 'epoll_ctl');
          const watchers = exclusive ? entry.exclusiveWatchers : entry.watchers;
          watchers.add(wake);
          return () => watchers.delete(wake);
        },
      }),
    );
    return fd;
  }

  /** epoll_ctl(2): EPOLL_CTL_ADD / MOD / DEL of socket `fd` on instance `epfd`. */
  epollCtl(epfd: number, operation: number, fd: number, event: EpollEvent | null): void {
    const instance = this.epoll(epfd, 'epoll_ctl');
    if (fd === epfd) throw new ErrnoError('EINVAL', 'epoll_ctl');
    this.get(fd, 'epoll_ctl');
    instance.control(operation, fd, event);
  }

  /** epoll_wait(2): up to `maxEvents` ready entries; waits up to `timeoutMs` (negative = forever, 0 = just look). */
  async epollWait(epfd: number, maxEvents: number, timeoutMs: number): Promise<EpollEvent[]> {
    const instance = this.epoll(epfd, 'epoll_wait');
    if (!(maxEvents > 0)) throw new ErrnoError('EINVAL', 'epoll_wait');
    const now = instance.collect(maxEvents);
    if (now.length > 0 || timeoutMs === 0) return now;
    return new Promise((resolve) => {
      let cancelTimer: (() => void) | null = null;
      const finish = (events: EpollEvent[]) => {
        instance.waiters.delete(wake);
        cancelTimer?.();
        resolve(events);
      };
      const wake = () => {
        const events = instance.collect(maxEvents);
        if (events.length > 0 || !this.epolls.has(epfd)) finish(events);
      };
      instance.waiters.add(wake);
      if (timeoutMs > 0) cancelTimer = this.stack.schedule(this.stack.currentTimeForCalls() + timeoutMs, () => finish([]));
    });
  }

  /**
   * SO_RCVBUF / SO_SNDBUF as the configured system reports them (TcpConfig.socketBufferAccounting).
   * Linux (socket(7)): double a value that was set, the default (tcp_rmem[1], tcp_wmem[1],
   * rmem_default for UDP) as it is. FreeBSD: the connection's buffers once it has one (grown to
   * whole segments when the MSS became known), else the value set or recvspace / sendspace.
   */
  private reportedBufferSize(entry: SocketEntry, which: 'receive' | 'send'): number {
    const options = entry.options;
    const value = which === 'receive' ? options.receiveBuffer : options.sendBuffer;
    const set = which === 'receive' ? options.receiveBufferSet : options.sendBufferSet;
    if (entry.type !== C.SOCK_STREAM || this.stack.tcp.config.socketBufferAccounting === 'linux') return set ? value * 2 : value;
    const connection = entry.connection;
    if (connection) return which === 'receive' ? connection.receiveBufferSize : connection.sendBuffer.capacity;
    return value;
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private get(fd: number, syscall: string): SocketEntry {
    const entry = this.table.get(fd);
    if (!entry) throw new ErrnoError(this.epolls.has(fd) ? 'ENOTSOCK' : 'EBADF', syscall);
    return entry;
  }

  private epoll(fd: number, syscall: string): EpollInstance {
    const instance = this.epolls.get(fd);
    if (!instance) throw new ErrnoError(this.table.has(fd) ? 'EINVAL' : 'EBADF', syscall);
    return instance;
  }

  private takeError(entry: SocketEntry): ErrnoCode | null {
    const error = entry.pendingError ?? entry.connection?.error ?? entry.udp?.takeError() ?? null;
    entry.pendingError = null;
    if (entry.connection && entry.connection.error === error) entry.connection.error = null;
    return error;
  }

  /**
   * Resolves with `ready()`'s value once it returns one (it may throw an ErrnoError). With a
   * negative timeout it does not wait (EAGAIN); 0 waits forever; otherwise fails with
   * `timeoutError` after `timeoutMs` in the stack's time.
   */
  private waitFor<T>(entry: SocketEntry, syscall: string, timeoutMs: number, ready: () => T | undefined, timeoutError: ErrnoCode = 'EAGAIN'): Promise<T> {
    const first = ready();
    if (first !== undefined) return Promise.resolve(first);
    if (timeoutMs < 0 || (entry.nonBlocking && syscall !== 'connect')) return Promise.reject(new ErrnoError('EAGAIN', syscall));
    return new Promise<T>((resolve, reject) => {
      let cancelTimer: (() => void) | null = null;
      const done = () => {
        entry.waiters.delete(wake);
        cancelTimer?.();
      };
      const wake = () => {
        if (entry.closed) {
          done();
          reject(new ErrnoError('EBADF', syscall));
          return;
        }
        try {
          const value = ready();
          if (value === undefined) return;
          done();
          resolve(value);
        } catch (error) {
          done();
          reject(error);
        }
      };
      entry.waiters.add(wake);
      if (timeoutMs > 0) {
        cancelTimer = this.stack.schedule(this.stack.currentTimeForCalls() + timeoutMs, () => {
          entry.waiters.delete(wake);
          reject(new ErrnoError(timeoutError, syscall));
        });
      }
    });
  }
}

/**
 * Gives a connection the options set on its socket, through the connection's setters: before
 * its SYN (connect), at its SYN (a listener's child) and again when accepted (the listener's
 * options may have changed meanwhile). NODELAY and CORK only when they differ, so that an
 * accept does not push; keep-alive as setsockopt in libuv's order (keepalive.ts).
 */
function applyConnectionOptions(connection: TcpConnection, options: SocketOptions): void {
  if (connection.options.noDelay !== options.noDelay) connection.setNoDelay(options.noDelay);
  if (connection.options.cork !== options.cork) connection.setCork(options.cork);
  connection.setKeepalive({ enabled: options.keepalive, idleMs: options.keepIdleSeconds * 1000, intervalMs: options.keepIntervalSeconds * 1000, count: options.keepCount });
  connection.setHandshakeTimeout(options.keepInitSeconds * 1000);
  connection.setUserTimeout(options.userTimeoutMs);
  connection.setMaxSegmentSize(options.maxSegment);
  connection.setLinger(options.linger.onoff, options.linger.seconds);
  connection.setNotSentLowWater(options.notSentLowWater);
  connection.setTtl(options.ttl);
  connection.setTos(options.tos);
  connection.setDontFragment(options.mtuDiscover !== C.IP_PMTUDISC_DONT);
  // An accepted connection keeps the size it was given unless this socket set its own (with
  // FreeBSD's accounting it may have grown to whole segments already; Linux's keeps its own
  // limit, tcp_wmem[1] grown, until SO_SNDBUF is set).
  if (options.sendBufferSet || (connection.sendMemory.accounting === 'bytes' && !connection.synchronized)) connection.setSendBufferSize(options.sendBuffer);
  connection.setReceiveBufferSize(options.receiveBuffer, options.receiveBufferSet);
}

/** Reads without consuming (MSG_PEEK). */
function peekStream(connection: TcpConnection, max: number): Uint8Array {
  const out = new Uint8Array(Math.min(max, connection.readableBytes));
  let filled = 0;
  for (const chunk of connection.receiveQueue) {
    if (filled === out.length) break;
    const take = Math.min(chunk.length, out.length - filled);
    out.set(chunk.subarray(0, take), filled);
    filled += take;
  }
  return out;
}

function parseAddress(text: string, syscall: string): Ipv4Address {
  const address = parseIpv4Address(text === '' || text === 'INADDR_ANY' ? '0.0.0.0' : text === 'localhost' ? '127.0.0.1' : text);
  if (address === null) throw new ErrnoError('EINVAL', syscall, text);
  return address;
}

function check<T>(result: Result<T, ErrnoCode>, syscall: string, address?: SocketAddress): T {
  if (!result.ok) throw new ErrnoError(result.error, syscall, address?.address, address?.port);
  return result.value;
}

function positive(n: number, allowZero = false): number {
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new ErrnoError('EINVAL', 'setsockopt');
  return Math.floor(n);
}

function atLeastOne(n: number): number {
  if (!Number.isFinite(n) || n < 1) throw new ErrnoError('EINVAL', 'setsockopt');
  return Math.floor(n);
}
