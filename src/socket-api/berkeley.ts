/**
 * The Berkeley socket API over a ustack Stack: file descriptors, and the calls of the seed
 * notes — socket, bind, listen, accept, connect, send/recv, sendto/recvfrom, shutdown, close —
 * plus getsockname/getpeername, setsockopt/getsockopt, fcntl(O_NONBLOCK), ioctl(FIONREAD)
 * and poll. Calls that block in C return Promises here; with O_NONBLOCK they fail at once with
 * EAGAIN / EINPROGRESS, and SO_RCVTIMEO / SO_SNDTIMEO bound the wait. Failures throw (or
 * reject with) an ErrnoError carrying the POSIX code of each call (see docs/berkeley-errors.md).
 */
import { ErrnoError, type ErrnoCode } from '../core/errno.js';
import type { Result } from '../core/result.js';
import { formatIpv4Address, IPV4_ANY, parseIpv4Address } from '../ip/address.js';
import { ipv6Bytes, ipv6Text, IPV6_ANY_TEXT, type IpAddress } from '../ip/ip-address.js';
import { formatIpv6Address, ipv4MappedAddress, mappedIpv4Address, parseIpv6ScopedAddress } from '../ip/ipv6-address.js';
import type { RawSocket } from '../ip/raw-layer.js';
import type { Icmpv6RawSocket } from '../ip/icmpv6-raw.js';
import type { TcpConnection, TcpState } from '../tcp/connection.js';
import type { TcpInfo } from '../tcp/tcp-info.js';
import type { TcpBinding, TcpListener } from '../tcp/tcp-layer.js';
import type { UdpSocket } from '../udp/udp-layer.js';
import * as C from './berkeley-constants.js';
import { EpollInstance, type EpollEvent } from './epoll.js';
import type { Stack } from './stack.js';
import { applySocketOptions, optionKey, socketOption, type SocketOptions, type SocketOptionValue } from './tcp-socket-options.js';
import { ZerocopyNotifications, type ExtendedError } from './zerocopy.js';

/** A socket address: sockaddr_in's or sockaddr_in6's. */
export interface SocketAddress {
  /**
   * The address as text: dotted quad on an AF_INET socket (`10.0.0.1`); on an AF_INET6 socket
   * IPv6 text (`fd00::1`, a zone as `fe80::1%eth0`), IPv4 peers as IPv4-mapped (`::ffff:10.0.0.1`).
   */
  readonly address: string;
  /** The port, 0–65535. */
  readonly port: number;
}

/** What accept(2) returns: the new connection's descriptor and the peer's address. */
export interface AcceptedConnection extends SocketAddress {
  /** The new connection's descriptor. */
  readonly fd: number;
}

/** What recvfrom(2) returns: the bytes and the sender's address. */
export interface ReceivedFrom extends SocketAddress {
  /** The bytes received: a datagram (cut to the size asked for), or stream data. */
  readonly data: Uint8Array;
  /** On a raw ICMPv6 socket: the Hop Limit the message arrived with (IPV6_RECVHOPLIMIT's value). */
  readonly hopLimit?: number;
}

/** SO_LINGER's value as getsockopt returns it (struct linger). */
export interface LingerValue {
  /** 1 when lingering is on, else 0. */
  readonly onoff: number;
  /** How long close() lingers, in seconds (0 with onoff: close aborts with RST). */
  readonly linger: number;
}

/** One poll() entry. */
export interface PollFd {
  /** The descriptor to watch. */
  readonly fd: number;
  /** The events asked for: POLLIN, POLLOUT, POLLPRI… (POLLERR, POLLHUP and POLLNVAL are always reported). */
  readonly events: number;
}

/** A poll() result. */
export interface PollResult extends PollFd {
  /** The events that hold now (poll(2)'s revents). */
  readonly revents: number;
}

/** One open descriptor and what it refers to, as status tools (netstat, sockstat) list them. */
export interface DescriptorStatus {
  /** The descriptor number. */
  readonly fd: number;
  /** SOCK_STREAM, SOCK_DGRAM or SOCK_RAW. */
  readonly type: number;
  /** IPPROTO_TCP, IPPROTO_UDP, or a raw socket's protocol number. */
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

/** What recvmsg(2) returns: the data, the sender, msg_flags and the control messages Linux would attach. */
export interface ReceivedMessage extends SocketAddress {
  /** The bytes received: a datagram (cut to the size asked for), or stream data. */
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
  /** 4 for AF_INET, 6 for AF_INET6. */
  family: 4 | 6 = 4;
  binding: TcpBinding | null = null;
  listener: TcpListener | null = null;
  connection: TcpConnection | null = null;
  udp: UdpSocket | null = null;
  raw: RawSocket | null = null;
  /** A raw IPv6 socket (AF_INET6, SOCK_RAW, any protocol; IPPROTO_RAW sends whole packets). */
  raw6: Icmpv6RawSocket | null = null;
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

  /** True once the socket has a port (IPV6_V6ONLY is then fixed). */
  get bound(): boolean {
    return this.binding !== null || this.listener !== null || this.connection !== null || (this.udp?.bound ?? false);
  }

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
  constructor(
    /** The stack whose TCP, UDP and raw sockets the descriptors refer to. */
    readonly stack: Stack,
  ) {}

  /** Every open descriptor, lowest first (what `sockstat` or `netstat` would list for this process). */
  descriptors(): DescriptorStatus[] {
    return [...this.table.values()]
      .sort((a, b) => a.fd - b.fd)
      .map((entry) => {
        const connection = entry.connection;
        let remote: SocketAddress | null = null;
        if (connection) remote = { address: socketAddressText(entry, connection.remoteAddress), port: connection.remotePort };
        else if (entry.udp?.connected) remote = { address: socketAddressText(entry, entry.udp.remoteAddress), port: entry.udp.remotePort };
        const tcpState: TcpState | null = entry.type !== C.SOCK_STREAM ? null : entry.listener ? 'LISTEN' : (connection?.state ?? 'CLOSED');
        return { fd: entry.fd, type: entry.type, protocol: entry.protocol, local: this.getsockname(entry.fd), remote, tcpState, connection };
      });
  }

  // ---- creation and addresses --------------------------------------------------------------

  /** socket(2): AF_INET or AF_INET6 (stream and datagram). `type` may include SOCK_NONBLOCK. */
  socket(domain: number, type: number, protocol = 0): number {
    if (domain !== C.AF_INET && domain !== C.AF_INET6) throw new ErrnoError('EAFNOSUPPORT', 'socket');
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
      ipv6Only: false,
      unicastHops: undefined,
      trafficClass: 0,
    });
    entry.nonBlocking = (type & C.SOCK_NONBLOCK) !== 0;
    entry.family = domain === C.AF_INET6 ? 6 : 4;
    if (baseType === C.SOCK_DGRAM) {
      entry.udp = this.stack.udp.open(entry.family);
      entry.udp.onReadable = () => entry.notify();
      entry.udp.onError = () => entry.notify();
    } else if (baseType === C.SOCK_RAW && entry.family === 6) {
      // Raw IPv6 sockets take any upper layer; IPPROTO_RAW's start with IPV6_HDRINCL on (Linux's
      // inet6_create), sending whole packets and receiving only Next Header 255's.
      entry.raw6 = this.stack.icmp6.rawSockets.create(protocol);
      entry.raw6.headerIncluded = entry.options.headerIncluded;
      entry.raw6.onReadable = () => entry.notify();
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
    const local = stackAddress(entry, address.address, 'bind');
    if (entry.udp) return check(entry.udp.bind(local, address.port), 'bind', address);
    if (entry.raw) {
      if (typeof local !== 'number' || (local !== IPV4_ANY && !this.stack.ip.isLocalAddress(local)))
        throw new ErrnoError('EADDRNOTAVAIL', 'bind', address.address, address.port);
      entry.raw.localAddress = local;
      return;
    }
    if (entry.binding || entry.connection || entry.listener) throw new ErrnoError('EINVAL', 'bind', address.address, address.port);
    const bound = this.stack.tcp.bind(local, address.port, {
      reuseAddress: entry.options.reuseAddress,
      reusePort: entry.options.reusePort,
      ipv6Only: entry.family === 6 && entry.options.ipv6Only,
    });
    entry.binding = check(bound, 'bind', address);
  }

  /** getsockname(2). */
  getsockname(fd: number): SocketAddress {
    const entry = this.get(fd, 'getsockname');
    if (entry.connection) return { address: socketAddressText(entry, entry.connection.localAddress), port: entry.connection.localPort };
    if (entry.binding) return { address: socketAddressText(entry, entry.binding.address), port: entry.binding.port };
    if (entry.udp) return { address: socketAddressText(entry, entry.udp.localAddress), port: entry.udp.localPort };
    if (entry.raw) return { address: formatIpv4Address(entry.raw.localAddress), port: 0 };
    return { address: entry.family === 6 ? '::' : '0.0.0.0', port: 0 };
  }

  /** getpeername(2). */
  getpeername(fd: number): SocketAddress {
    const entry = this.get(fd, 'getpeername');
    const c = entry.connection;
    if (c && c.state !== 'CLOSED' && c.state !== 'SYN-SENT') return { address: socketAddressText(entry, c.remoteAddress), port: c.remotePort };
    if (entry.udp?.connected) return { address: socketAddressText(entry, entry.udp.remoteAddress), port: entry.udp.remotePort };
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
    if (!entry.binding) {
      const any = entry.family === 6 ? IPV6_ANY_TEXT : IPV4_ANY;
      entry.binding = check(
        this.stack.tcp.bind(any, 0, {
          reuseAddress: entry.options.reuseAddress,
          reusePort: entry.options.reusePort,
          ipv6Only: entry.family === 6 && entry.options.ipv6Only,
        }),
        'listen',
      );
    }
    const listener = check(
      this.stack.tcp.listen(entry.binding.address, entry.binding.port, Math.max(1, backlog), entry.options.congestion, entry.binding),
      'listen',
    );
    listener.onAcceptable = () => entry.notify();
    // Options set on the listener, even after listen(), shape each SYN-ACK (TCP_MAXSEG's MSS).
    listener.configureChild = (connection) => applySocketOptions(connection, entry.options);
    entry.listener = listener;
  }

  /** accept(2): the next established connection as a new descriptor, with the peer's address. */
  async accept(fd: number): Promise<AcceptedConnection> {
    const entry = this.get(fd, 'accept');
    if (!entry.listener) throw new ErrnoError('EINVAL', 'accept');
    const listener = entry.listener;
    const connection = await this.waitFor(entry, 'accept', entry.options.receiveTimeoutMs, () => listener.accept() ?? undefined);
    const child = new SocketEntry(this.nextFd++, C.SOCK_STREAM, C.IPPROTO_TCP, { ...entry.options, linger: { ...entry.options.linger } });
    child.family = entry.family;
    this.attachConnection(child, connection);
    applySocketOptions(connection, child.options); // an accepted socket inherits the listener's options, as on Linux
    this.table.set(child.fd, child);
    return { fd: child.fd, address: socketAddressText(child, connection.remoteAddress), port: connection.remotePort };
  }

  /** connect(2). TCP: the handshake (EINPROGRESS when non-blocking). UDP/raw: sets the peer. */
  async connect(fd: number, address: SocketAddress): Promise<void> {
    const entry = this.get(fd, 'connect');
    const remote = stackAddress(entry, address.address, 'connect');
    if (entry.udp) {
      if (address.port === 0) {
        entry.udp.disconnect();
        return;
      }
      return check(entry.udp.connect(remote, address.port), 'connect', address);
    }
    if (entry.raw6) {
      if (typeof remote !== 'string') throw new ErrnoError('EAFNOSUPPORT', 'connect', address.address, address.port);
      entry.raw6.remoteAddress = ipv6Bytes(remote);
      return;
    }
    if (entry.raw) {
      if (typeof remote !== 'number') throw new ErrnoError('EAFNOSUPPORT', 'connect', address.address, address.port);
      entry.raw.remoteAddress = remote;
      return;
    }
    // Linux's tcp_v6_connect: an IPV6_V6ONLY socket cannot reach an IPv4-mapped address.
    if (typeof remote === 'number' && entry.family === 6 && entry.options.ipv6Only)
      throw new ErrnoError('ENETUNREACH', 'connect', address.address, address.port);
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
        configure: (c) => applySocketOptions(c, options),
      }),
      'connect',
      address,
    );
    this.attachConnection(entry, connection);
    if (entry.nonBlocking) throw new ErrnoError('EINPROGRESS', 'connect', address.address, address.port);
    await this.waitFor(
      entry,
      'connect',
      options.sendTimeoutMs,
      () => {
        if (connection!.state === 'CLOSED') {
          const error = connection!.error ?? entry.pendingError ?? 'ECONNREFUSED';
          entry.pendingError = null;
          throw new ErrnoError(error, 'connect', address.address, address.port);
        }
        return connection!.state === 'SYN-SENT' || connection!.state === 'SYN-RECEIVED' ? undefined : true;
      },
      'EINPROGRESS',
    );
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
    if (entry.raw6) return check(entry.raw6.send(data), 'send');
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
    const destination = stackAddress(entry, address.address, 'sendto');
    if (entry.udp) {
      const sent = check(entry.udp.send(data, destination, address.port), 'sendto', address);
      if ((flags & C.MSG_ZEROCOPY) !== 0 && entry.options.zerocopy && data.length > 0) this.datagramCompleted(entry);
      return sent;
    }
    if (entry.raw6) {
      if (typeof destination !== 'string') throw new ErrnoError('EAFNOSUPPORT', 'sendto', address.address, address.port);
      return check(entry.raw6.send(data, ipv6Bytes(destination)), 'sendto', address);
    }
    if (entry.raw) {
      if (typeof destination !== 'number') throw new ErrnoError('EAFNOSUPPORT', 'sendto', address.address, address.port);
      return check(entry.raw.send(data, destination), 'sendto', address);
    }
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
  async recvfrom(fd: number, max: number, flags = 0): Promise<ReceivedFrom> {
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
      return { data: datagram.payload.subarray(0, max), address: socketAddressText(entry, datagram.sourceAddress), port: datagram.sourcePort };
    }
    if (entry.raw6) {
      const raw6 = entry.raw6;
      const received = await this.waitFor(entry, 'recvfrom', timeout, () => raw6.receive() ?? undefined);
      return { data: received.message.subarray(0, max), address: ipv6Text(received.source), port: 0, hopLimit: received.hopLimit };
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
    return { data, address: socketAddressText(entry, connection.remoteAddress), port: connection.remotePort };
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
    entry.raw6?.close();
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
    if (entry.raw6) return entry.raw6.nextMessageSize;
    return entry.connection?.readableBytes ?? 0;
  }

  /**
   * setsockopt(2). Values: numbers (booleans as 0/1), SO_LINGER `{ onoff, linger }`,
   * TCP_CONGESTION a name, IP_MULTICAST_IF and the memberships an address as text. The options
   * of a TCP socket are the table's (tcp-socket-options.ts), which applies them to the
   * connection through its setters; UDP and raw sockets record the shared ones there too and
   * add their own here.
   */
  setsockopt(fd: number, level: number, name: number, value: number | boolean | string | { onoff: number | boolean; linger: number }): void {
    const entry = this.get(fd, 'setsockopt');
    if (entry.type !== C.SOCK_STREAM && this.setDatagramOption(entry, level, name, value)) return;
    const set = socketOption(level, name)?.set;
    if (!set) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
    set(entry, value);
    if (entry.type !== C.SOCK_STREAM) this.mirrorDatagramOption(entry, optionKey(level, name));
  }

  /** The options only UDP or raw sockets have; true when `name` was one. */
  private setDatagramOption(entry: SocketEntry, level: number, name: number, value: SocketOptionValue): boolean {
    const n = typeof value === 'boolean' ? Number(value) : typeof value === 'number' ? value : NaN;
    switch (optionKey(level, name)) {
      case optionKey(C.SOL_SOCKET, C.SO_ZEROCOPY):
        // Linux's sock_setsockopt: TCP and UDP only.
        if (entry.raw) throw new ErrnoError('EOPNOTSUPP', 'setsockopt');
        return false;
      case optionKey(C.IPPROTO_IP, C.IP_HDRINCL):
        if (!entry.raw) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        entry.options.headerIncluded = n !== 0 && !Number.isNaN(n);
        entry.raw.headerIncluded = entry.options.headerIncluded;
        return true;
      case optionKey(C.IPPROTO_IPV6, C.IPV6_CHECKSUM):
        // Linux's do_rawv6_setsockopt: raw IPv6 sockets only; not on ICMPv6's, whose checksum
        // the stack always computes (RFC 3542 §3.1); an odd offset is EINVAL; negative: off.
        if (!entry.raw6) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        if (entry.raw6.protocol === C.IPPROTO_ICMPV6 || !Number.isInteger(n) || (n > 0 && n % 2 === 1)) throw new ErrnoError('EINVAL', 'setsockopt');
        entry.raw6.checksumOffset = n < 0 ? -1 : n;
        return true;
      case optionKey(C.IPPROTO_IPV6, C.IPV6_HDRINCL):
        // Linux 4.5+ (do_rawv6_setsockopt): any raw IPv6 socket, IPPROTO_RAW's included.
        if (!entry.raw6) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        entry.options.headerIncluded = n !== 0 && !Number.isNaN(n);
        entry.raw6.headerIncluded = entry.options.headerIncluded;
        return true;
      case optionKey(C.IPPROTO_IP, C.IP_MULTICAST_IF): {
        // The value is the interface's address as dotted text ('0.0.0.0': by the routes).
        if (!entry.udp) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        const address = typeof value === 'string' ? parseIpv4Address(value) : null;
        if (address === null) throw new ErrnoError('EINVAL', 'setsockopt');
        const set = entry.udp.setMulticastInterface(address);
        if (!set.ok) throw new ErrnoError(set.error, 'setsockopt');
        return true;
      }
      case optionKey(C.IPPROTO_IP, C.IP_MULTICAST_TTL):
        if (!entry.udp) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        if (!(n >= 0 && n <= 255) && n !== -1) throw new ErrnoError('EINVAL', 'setsockopt');
        entry.udp.options.multicastTtl = n === -1 ? 1 : n;
        return true;
      case optionKey(C.IPPROTO_IP, C.IP_MULTICAST_LOOP):
        if (!entry.udp) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        entry.udp.options.multicastLoop = n !== 0 && !Number.isNaN(n);
        return true;
      case optionKey(C.IPPROTO_IPV6, C.IPV6_JOIN_GROUP):
      case optionKey(C.IPPROTO_IPV6, C.IPV6_LEAVE_GROUP): {
        // The value is the group (ipv6_mreq's ipv6mr_multiaddr) as text.
        if (!entry.udp || entry.family !== 6) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        const group = ipv6Group(value);
        if (group === null) throw new ErrnoError('EINVAL', 'setsockopt');
        const text = ipv6Text(group);
        const done = name === C.IPV6_JOIN_GROUP ? entry.udp.joinGroup(text) : entry.udp.leaveGroup(text);
        if (!done.ok) throw new ErrnoError(done.error, 'setsockopt');
        return true;
      }
      case optionKey(C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF): {
        // The value is an interface index (if_nametoindex: 1 + the interface's place in the
        // stack's list, the loopback first as on Linux); 0 leaves the choice to the routes.
        if (!entry.udp || entry.family !== 6) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        if (!Number.isInteger(n) || n < 0) throw new ErrnoError('EINVAL', 'setsockopt');
        const set = entry.udp.setMulticastInterface6(n === 0 ? undefined : (this.stack.ip.listInterfaces()[n - 1]?.name ?? `#${n}`));
        if (!set.ok) throw new ErrnoError(set.error, 'setsockopt');
        return true;
      }
      case optionKey(C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP):
        // Linux takes 0 or 1 only (do_ipv6_setsockopt: EINVAL otherwise).
        if (!entry.udp || entry.family !== 6) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        if (n !== 0 && n !== 1) throw new ErrnoError('EINVAL', 'setsockopt');
        entry.udp.options.multicastLoop6 = n === 1;
        return true;
      case optionKey(C.IPPROTO_IPV6, C.IPV6_MULTICAST_HOPS):
        if (!entry.udp || entry.family !== 6) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        if (!(n >= -1 && n <= 255)) throw new ErrnoError('EINVAL', 'setsockopt');
        entry.udp.options.multicastHops = n === -1 ? 1 : n;
        return true;
      case optionKey(C.IPPROTO_IP, C.IP_ADD_MEMBERSHIP):
      case optionKey(C.IPPROTO_IP, C.IP_DROP_MEMBERSHIP): {
        // The value is the group (ip_mreq's imr_multiaddr) as dotted text.
        if (!entry.udp) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
        const group = typeof value === 'string' ? parseIpv4Address(value) : null;
        if (group === null) throw new ErrnoError('EINVAL', 'setsockopt');
        const done = name === C.IP_ADD_MEMBERSHIP ? entry.udp.joinGroup(group) : entry.udp.leaveGroup(group);
        if (!done.ok) throw new ErrnoError(done.error, 'setsockopt');
        return true;
      }
      default:
        return false;
    }
  }

  /** A shared option the table recorded, passed on to the UDP or raw socket that uses it. */
  private mirrorDatagramOption(entry: SocketEntry, key: string): void {
    const options = entry.options;
    const udp = entry.udp;
    const raw = entry.raw;
    switch (key) {
      case optionKey(C.SOL_SOCKET, C.SO_REUSEADDR):
        if (udp) udp.options.reuseAddress = options.reuseAddress;
        return;
      case optionKey(C.SOL_SOCKET, C.SO_REUSEPORT):
        if (udp) udp.options.reusePort = options.reusePort;
        return;
      case optionKey(C.SOL_SOCKET, C.SO_BROADCAST):
        if (udp) udp.options.broadcast = options.broadcast;
        return;
      case optionKey(C.SOL_SOCKET, C.SO_RCVBUF):
        if (udp) udp.options.receiveBufferSize = options.receiveBuffer;
        return;
      case optionKey(C.IPPROTO_IP, C.IP_TTL):
        if (udp) udp.options.ttl = options.ttl;
        if (raw) raw.ttl = options.ttl;
        return;
      case optionKey(C.IPPROTO_IP, C.IP_TOS):
        if (udp) udp.options.tos = options.tos;
        if (raw) raw.tos = options.tos;
        return;
      case optionKey(C.IPPROTO_IPV6, C.IPV6_V6ONLY):
        if (udp) udp.options.ipv6Only = options.ipv6Only;
        return;
      case optionKey(C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS):
        if (udp) udp.options.unicastHops = options.unicastHops;
        if (entry.raw6) entry.raw6.hopLimit = options.unicastHops;
        return;
      case optionKey(C.IPPROTO_IPV6, C.IPV6_TCLASS):
        if (udp) udp.options.trafficClass = options.trafficClass;
        return;
    }
  }

  /**
   * getsockopt(2). SO_ERROR returns and clears the pending error as an errno number. TCP_INFO
   * (level IPPROTO_TCP, which is SOL_TCP) returns Linux's struct tcp_info as an object whose keys
   * are its field names without `tcpi_` (src/tcp/tcp-info.ts). The table's (tcp-socket-options.ts),
   * but for a UDP socket's multicast settings.
   */
  getsockopt(fd: number, level: number, name: number): number | string | LingerValue | TcpInfo {
    const entry = this.get(fd, 'getsockopt');
    const key = optionKey(level, name);
    if (entry.udp && key === optionKey(C.IPPROTO_IP, C.IP_MULTICAST_TTL)) return entry.udp.options.multicastTtl;
    if (entry.udp && key === optionKey(C.IPPROTO_IP, C.IP_MULTICAST_LOOP)) return Number(entry.udp.options.multicastLoop);
    if (entry.udp && entry.family === 6 && key === optionKey(C.IPPROTO_IPV6, C.IPV6_MULTICAST_HOPS)) return entry.udp.options.multicastHops;
    if (entry.udp && entry.family === 6 && key === optionKey(C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP)) return Number(entry.udp.options.multicastLoop6);
    if (entry.udp && entry.family === 6 && key === optionKey(C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF)) {
      const name = entry.udp.options.multicastInterface6;
      return name === undefined ? 0 : this.stack.ip.listInterfaces().findIndex((iface) => iface.name === name) + 1;
    }
    if (entry.raw6 && key === optionKey(C.IPPROTO_IPV6, C.IPV6_CHECKSUM)) {
      // Linux's do_rawv6_getsockopt: an ICMPv6 socket answers 2, where its checksum lies.
      return entry.raw6.protocol === C.IPPROTO_ICMPV6 ? 2 : entry.raw6.checksumOffset;
    }
    if (entry.raw6 && key === optionKey(C.IPPROTO_IPV6, C.IPV6_HDRINCL)) return Number(entry.raw6.headerIncluded);
    const get = socketOption(level, name)?.get;
    if (!get) throw new ErrnoError('ENOPROTOOPT', 'getsockopt');
    return get(entry, {
      tcpConfig: this.stack.tcp.config,
      defaultTtl: this.stack.ip.config.defaultTtl,
      now: () => this.stack.currentTimeForCalls(),
      takeError: () => this.takeError(entry),
    });
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
    } else if (entry.raw6) {
      if (entry.raw6.nextMessageSize > 0) revents |= C.POLLIN;
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

/** Reads without consuming (MSG_PEEK). */
function peekStream(connection: TcpConnection, max: number): Uint8Array {
  const out = new Uint8Array(Math.min(max, connection.readableBytes));
  connection.receiveQueue.peek(out);
  return out;
}

/**
 * The stack's form of a socket address's text: an IPv4 number on an AF_INET socket; on an
 * AF_INET6 socket IPv6 text, but an IPv4-mapped address as the IPv4 address it stands for
 * (RFC 4291 §2.5.5.2: the socket then speaks IPv4, as Linux's dual-stack sockets). A zone is
 * accepted and, on a host whose link-local routes name their interfaces, not needed.
 */
function stackAddress(entry: { readonly family: 4 | 6 }, text: string, syscall: string): IpAddress {
  if (entry.family === 4) {
    const address = parseIpv4Address(text === '' || text === 'INADDR_ANY' ? '0.0.0.0' : text === 'localhost' ? '127.0.0.1' : text);
    if (address === null) throw new ErrnoError('EINVAL', syscall, text);
    return address;
  }
  const scoped = parseIpv6ScopedAddress(text === '' || text === 'in6addr_any' ? '::' : text === 'localhost' ? '::1' : text);
  if (scoped === null) throw new ErrnoError('EINVAL', syscall, text);
  return mappedIpv4Address(scoped.address) ?? ipv6Text(scoped.address);
}

/** The text of a stack address as the socket shows it: IPv4 peers of an AF_INET6 socket as ::ffff:a.b.c.d. */
function socketAddressText(entry: { readonly family: 4 | 6 }, address: IpAddress): string {
  if (typeof address === 'string') return address;
  return entry.family === 6 ? formatIpv6Address(ipv4MappedAddress(address)) : formatIpv4Address(address);
}

/** The 16 bytes of an IPv6 group named in a socket option. */
function ipv6Group(value: SocketOptionValue): Uint8Array | null {
  const scoped = typeof value === 'string' ? parseIpv6ScopedAddress(value) : null;
  return scoped === null || scoped.address[0] !== 0xff ? null : scoped.address;
}

function check<T>(result: Result<T, ErrnoCode>, syscall: string, address?: SocketAddress): T {
  if (!result.ok) throw new ErrnoError(result.error, syscall, address?.address, address?.port);
  return result.value;
}
