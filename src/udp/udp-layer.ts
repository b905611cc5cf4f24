/**
 * UDP (RFC 768, RFC 1122 §4.1): the port table, per-socket datagram queues, delivery of ICMP
 * errors to the socket that caused them, and port-unreachable for datagrams nobody wanted.
 */
import type { ErrnoCode } from '../core/errno.js';
import { fail, ok, type Result } from '../core/result.js';
import type { Rng } from '../core/rng.js';
import type { Stats } from '../core/stats.js';
import type { UdpCounterName } from './udp-counters.js';
import type { Tracer } from '../core/trace.js';
import { formatIpv4Address, IPV4_ANY, IPV4_BROADCAST, isMulticast, type Ipv4Address } from '../ip/address.js';
import type { IcmpErrorListener, IcmpErrorReport, IcmpLayer } from '../ip/icmp-layer.js';
import { icmpErrorMeaning } from '../ip/icmp-errors.js';
import type { IncomingDatagram, IpLayer, ProtocolHandler } from '../ip/ip-layer.js';
import { IpProtocol } from '../ip/ipv4.js';
import { allocateEphemeralPort, DEFAULT_EPHEMERAL_PORTS, type PortRange } from '../ip/ports.js';
import { emitUdp, parseUdp, UDP_HEADER_LENGTH, UdpPacket, udpLength } from './udp-packet.js';

/** Largest UDP payload over IPv4 without options: 65535 − 20 (IP) − 8 (UDP). */
export const UDP_MAX_PAYLOAD = 65507;

/** UDP settings. */
export interface UdpConfig {
  /** Default receive buffer (bytes) of a socket; Linux rmem_default is 212992. */
  readonly receiveBufferSize: number;
  /** The ports an unbound socket gets one of when it sends or binds to port 0. */
  readonly ephemeralPorts: PortRange;
}

/** Defaults for UdpConfig. */
export const DEFAULT_UDP_CONFIG: UdpConfig = { receiveBufferSize: 212_992, ephemeralPorts: DEFAULT_EPHEMERAL_PORTS };

/** Bytes charged per queued datagram beyond its payload, so empty datagrams are not free. */
const DATAGRAM_OVERHEAD = 64;

/** A datagram waiting in a socket's receive queue. */
export interface ReceivedDatagram {
  /** The datagram's data. */
  readonly payload: Uint8Array;
  /** The sender's address: the IPv4 Source Address. */
  readonly sourceAddress: Ipv4Address;
  /** The sender's port: the UDP Source Port. */
  readonly sourcePort: number;
  /** The address it was sent to (ours, or a broadcast). */
  readonly destinationAddress: Ipv4Address;
  /** The TTL of the IPv4 header it arrived with. */
  readonly ttl: number;
}

/** Per-socket options that change how it binds or sends. */
export interface UdpSocketOptions {
  /** SO_REUSEADDR: may share its port with sockets that set it too; the one bound last receives. */
  reuseAddress: boolean;
  /** SO_REUSEPORT: may share its port with sockets that set it too; a hash of the source picks the receiver. */
  reusePort: boolean;
  /** SO_BROADCAST: may send to a broadcast address (EACCES otherwise). */
  broadcast: boolean;
  /** TTL of datagrams to unicast addresses (IP_TTL), or undefined: the IP layer's default. */
  ttl: number | undefined;
  /** The whole TOS octet (DSCP << 2 | ECN). */
  tos: number;
  /** Bytes the receive queue may hold (SO_RCVBUF), each datagram charged its payload plus 64. */
  receiveBufferSize: number;
  /** TTL of datagrams to a multicast group (IP_MULTICAST_TTL; 1 by default, as Linux: this network only). */
  multicastTtl: number;
  /** Whether our multicasts to a joined group come back to this host (IP_MULTICAST_LOOP; default on). */
  multicastLoop: boolean;
  /** The address of the interface multicasts leave by (IP_MULTICAST_IF), or undefined: by the routes. */
  multicastInterface: Ipv4Address | undefined;
}

/** A UDP socket: an endpoint in the port table plus its receive queue. */
export class UdpSocket {
  /** The address bound to; 0.0.0.0 (any) until bound to one. */
  localAddress: Ipv4Address = IPV4_ANY;
  /** The port bound to; 0 until bound. */
  localPort = 0;
  /** The connected peer's address; 0.0.0.0 when not connected. */
  remoteAddress: Ipv4Address = IPV4_ANY;
  /** The connected peer's port; 0 when not connected. */
  remotePort = 0;
  /** True once `close()` has been called. */
  closed = false;
  /** The socket's options; socket option calls change them in place. */
  readonly options: UdpSocketOptions;
  /** The error an ICMP message left for the next call (SO_ERROR), if any. */
  pendingError: ErrnoCode | null = null;
  /** Called when a datagram is queued. */
  onReadable: (() => void) | null = null;
  /** Called when an ICMP error is recorded. */
  onError: ((code: ErrnoCode) => void) | null = null;
  private readonly queue: ReceivedDatagram[] = [];
  private queuedBytes = 0;

  /** @internal Sockets come from `stack.udp.open()`. */
  constructor(private readonly layer: UdpLayer) {
    this.options = {
      reuseAddress: false,
      reusePort: false,
      broadcast: false,
      ttl: undefined,
      tos: 0,
      receiveBufferSize: layer.config.receiveBufferSize,
      multicastTtl: 1,
      multicastLoop: true,
      multicastInterface: undefined,
    };
  }

  /** The multicast groups this socket joined (IP_ADD_MEMBERSHIP). */
  readonly memberships = new Set<Ipv4Address>();

  /** IP_ADD_MEMBERSHIP: the host joins `group` for as long as this socket is in it. */
  joinGroup(group: Ipv4Address): Result<void, ErrnoCode> {
    if (!isMulticast(group)) return fail('EINVAL');
    if (this.memberships.has(group)) return fail('EADDRINUSE'); // as Linux for a second join
    this.memberships.add(group);
    this.layer.groupJoined(group);
    return ok(undefined);
  }

  /** IP_MULTICAST_IF: multicasts leave by the interface with `address` (0: by the routes again). */
  setMulticastInterface(address: Ipv4Address): Result<void, ErrnoCode> {
    if (address !== IPV4_ANY && !this.layer.isOurAddress(address)) return fail('EADDRNOTAVAIL');
    this.options.multicastInterface = address === IPV4_ANY ? undefined : address;
    return ok(undefined);
  }

  /** IP_DROP_MEMBERSHIP. */
  leaveGroup(group: Ipv4Address): Result<void, ErrnoCode> {
    if (!this.memberships.delete(group)) return fail('EADDRNOTAVAIL');
    this.layer.groupLeft(group);
    return ok(undefined);
  }

  /** True once bound to a port. */
  get bound(): boolean {
    return this.localPort !== 0;
  }

  /** True when connected to a remote address. */
  get connected(): boolean {
    return this.remotePort !== 0;
  }

  /** Binds to a local address (0 = any) and port (0 = ephemeral). */
  bind(address: Ipv4Address = IPV4_ANY, port = 0): Result<void, ErrnoCode> {
    return this.layer.bind(this, address, port);
  }

  /** Sets the default destination and accepts datagrams only from it. Binds first if needed. */
  connect(address: Ipv4Address, port: number): Result<void, ErrnoCode> {
    return this.layer.connect(this, address, port);
  }

  /** Forgets the remote address. */
  disconnect(): void {
    this.remoteAddress = IPV4_ANY;
    this.remotePort = 0;
  }

  /** Sends one datagram; to the connected peer when address/port are omitted. Binds if needed. */
  send(payload: Uint8Array, address?: Ipv4Address, port?: number): Result<number, ErrnoCode> {
    return this.layer.send(this, payload, address, port);
  }

  /** Takes the oldest queued datagram, or null when none is waiting. */
  receive(): ReceivedDatagram | null {
    const datagram = this.queue.shift() ?? null;
    if (datagram) this.queuedBytes -= datagram.payload.length + DATAGRAM_OVERHEAD;
    return datagram;
  }

  /** The oldest queued datagram without removing it (MSG_PEEK), or null. */
  peek(): ReceivedDatagram | null {
    return this.queue[0] ?? null;
  }

  /** The size of the next datagram (FIONREAD), or 0. */
  get nextDatagramSize(): number {
    return this.queue[0]?.payload.length ?? 0;
  }

  /** Number of datagrams waiting. */
  get queuedDatagrams(): number {
    return this.queue.length;
  }

  /** Returns and clears the pending error (SO_ERROR semantics). */
  takeError(): ErrnoCode | null {
    const error = this.pendingError;
    this.pendingError = null;
    return error;
  }

  /** Leaves the port table and drops queued datagrams. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    for (const group of this.memberships) this.layer.groupLeft(group);
    this.memberships.clear();
    this.layer.release(this);
  }

  /** @internal Queues a datagram unless the receive buffer is full. */
  enqueue(datagram: ReceivedDatagram): boolean {
    const cost = datagram.payload.length + DATAGRAM_OVERHEAD;
    if (this.queuedBytes + cost > this.options.receiveBufferSize) return false;
    this.queue.push(datagram);
    this.queuedBytes += cost;
    this.onReadable?.();
    return true;
  }
}

/** The UDP protocol of one stack. */
export class UdpLayer implements ProtocolHandler, IcmpErrorListener {
  private readonly sockets = new Set<UdpSocket>();
  tracer: Tracer | null = null;

  constructor(
    readonly config: UdpConfig,
    private readonly ip: IpLayer,
    private readonly icmp: IcmpLayer,
    private readonly stats: Stats<UdpCounterName>,
    private readonly rng: Rng,
    /** The stack's current time (the last `now` it was given). */
    private readonly clock: () => number,
  ) {}

  /** A new, unbound socket. */
  open(): UdpSocket {
    return new UdpSocket(this);
  }

  /** Sockets currently bound, for `ustack` status displays. */
  boundSockets(): UdpSocket[] {
    return [...this.sockets];
  }

  /** @internal */
  bind(socket: UdpSocket, address: Ipv4Address, port: number): Result<void, ErrnoCode> {
    if (socket.closed) return fail('EBADF');
    if (socket.bound) return fail('EINVAL');
    if (port < 0 || port > 65535 || !Number.isInteger(port)) return fail('EINVAL');
    if (address !== IPV4_ANY && !this.ip.isLocalAddress(address) && address !== IPV4_BROADCAST && !isMulticast(address)) {
      return fail('EADDRNOTAVAIL');
    }
    if (port === 0) {
      const chosen = allocateEphemeralPort(this.config.ephemeralPorts, this.rng, (p) => !this.conflicts(socket, address, p));
      if (chosen === null) return fail('EADDRINUSE');
      port = chosen;
    } else if (this.conflicts(socket, address, port)) {
      return fail('EADDRINUSE');
    }
    socket.localAddress = address;
    socket.localPort = port;
    this.sockets.add(socket);
    this.stats.increment('udp.bind');
    return ok(undefined);
  }

  /** Whether binding `socket` to address:port would clash with a bound socket (SO_REUSEADDR/PORT rules as Linux). */
  private conflicts(socket: UdpSocket, address: Ipv4Address, port: number): boolean {
    for (const other of this.sockets) {
      if (other === socket || other.localPort !== port) continue;
      const overlap = other.localAddress === IPV4_ANY || address === IPV4_ANY || other.localAddress === address;
      if (!overlap) continue;
      if (socket.options.reuseAddress && other.options.reuseAddress) continue;
      if (socket.options.reusePort && other.options.reusePort) continue;
      return true;
    }
    return false;
  }

  /** @internal */
  connect(socket: UdpSocket, address: Ipv4Address, port: number): Result<void, ErrnoCode> {
    if (socket.closed) return fail('EBADF');
    if (port <= 0 || port > 65535) return fail('EINVAL');
    // Linux refuses to connect to a broadcast address without SO_BROADCAST, as sendto does.
    if (this.isBroadcast(address) && !socket.options.broadcast) return fail('EACCES');
    const source = this.ip.sourceFor(address);
    if (source === null) return fail('ENETUNREACH');
    const bound = this.autobind(socket);
    if (!bound.ok) return bound;
    // Linux pins the local address to the route's source on connect (ip4_datagram_connect).
    if (socket.localAddress === IPV4_ANY) socket.localAddress = source;
    socket.remoteAddress = address;
    socket.remotePort = port;
    return ok(undefined);
  }

  /**
   * Binds an unbound socket to the wildcard address and an ephemeral port, as sendto() and
   * connect() do. When no port is free Linux's inet_autobind says EAGAIN, not EADDRINUSE.
   */
  private autobind(socket: UdpSocket): Result<void, ErrnoCode> {
    if (socket.bound) return ok(undefined);
    const bound = this.bind(socket, IPV4_ANY, 0);
    return bound.ok || bound.error !== 'EADDRINUSE' ? bound : fail('EAGAIN');
  }

  /** @internal */
  release(socket: UdpSocket): void {
    this.sockets.delete(socket);
  }

  /** @internal Whether `address` is one of this stack's. */
  isOurAddress(address: Ipv4Address): boolean {
    return this.ip.isLocalAddress(address);
  }

  /** @internal A socket joined a multicast group: so does the host. */
  groupJoined(group: Ipv4Address): void {
    this.ip.joinGroup(group);
  }

  /** @internal A socket left a multicast group. */
  groupLeft(group: Ipv4Address): void {
    this.ip.leaveGroup(group);
  }

  /** @internal Sends one datagram from `socket`. Returns the payload bytes sent. */
  send(socket: UdpSocket, payload: Uint8Array, address?: Ipv4Address, port?: number): Result<number, ErrnoCode> {
    if (socket.closed) return fail('EBADF');
    const pending = socket.takeError();
    if (pending) return fail(pending);
    const destination = address ?? (socket.connected ? socket.remoteAddress : undefined);
    const destinationPort = port ?? (socket.connected ? socket.remotePort : undefined);
    if (destination === undefined || destinationPort === undefined) return fail('EDESTADDRREQ');
    if (destinationPort <= 0 || destinationPort > 65535) return fail('EINVAL');
    if (payload.length > UDP_MAX_PAYLOAD) return fail('EMSGSIZE');
    if (this.isBroadcast(destination) && !socket.options.broadcast) return fail('EACCES');
    const bound = this.autobind(socket);
    if (!bound.ok) return bound;
    const repr = { sourcePort: socket.localPort, destinationPort, payload };
    const length = udpLength(repr);
    const now = this.clock();
    const sent = this.ip.send(
      {
        source:
          socket.localAddress !== IPV4_ANY && !isMulticast(socket.localAddress) && socket.localAddress !== IPV4_BROADCAST ? socket.localAddress : undefined,
        destination,
        protocol: IpProtocol.UDP,
        ttl: isMulticast(destination) ? socket.options.multicastTtl : socket.options.ttl,
        multicastLoop: socket.options.multicastLoop,
        multicastInterface: socket.options.multicastInterface,
        dscp: socket.options.tos >> 2,
        ecn: socket.options.tos & 3,
      },
      length,
      (out, source) => {
        emitUdp(repr, out, { source, destination });
        if (this.tracer) this.traceDown(out.subarray(0, length), source, destination, now);
      },
      now,
    );
    if (!sent.ok) {
      // A datagram the interface's full transmit queue dropped is lost like any other; Linux
      // reports it only to a socket that asked for errors (IP_RECVERR, which ustack lacks).
      if (sent.error !== 'ENOBUFS') return sent;
      this.stats.increment('udp.tx.droppedLocally');
      return ok(payload.length);
    }
    this.stats.increment('udp.tx.datagrams');
    return ok(payload.length);
  }

  /** 255.255.255.255 or the broadcast address of one of our networks. */
  private isBroadcast(address: Ipv4Address): boolean {
    return this.ip.isBroadcastAddress(address);
  }

  /** Handles a received UDP datagram (RFC 1122 §4.1.3). */
  input(datagram: IncomingDatagram, now: number): void {
    const { header } = datagram;
    const checked = UdpPacket.checked(datagram.payload);
    if (!checked.ok) {
      this.stats.increment(`drop.udp.${checked.error.reason}`);
      return;
    }
    const packet = checked.value;
    const parsed = parseUdp(packet, datagram.checksumTrusted ? { verifyChecksum: false } : { source: header.source, destination: header.destination });
    if (!parsed.ok) {
      this.stats.increment(`drop.udp.${parsed.error.reason}`);
      return;
    }
    const { sourcePort, destinationPort, payload } = parsed.value;
    this.stats.increment('udp.rx.datagrams');
    if (this.tracer) {
      this.tracer({
        direction: 'up',
        layer: 'udp',
        time: now,
        where: `port ${destinationPort}`,
        summary: `UDP ${sourcePort} → ${destinationPort}: removed 8-byte header, checksum ${packet.checksum === 0 ? 'absent' : 'verified over pseudo-header + header + data'}, ${payload.length} bytes of data`,
        fields: udpTraceFields(packet),
        header: packet.bytes.subarray(0, UDP_HEADER_LENGTH),
        payloadLength: payload.length,
      });
    }
    const received: ReceivedDatagram = {
      payload: payload.slice(),
      sourceAddress: header.source,
      sourcePort,
      destinationAddress: header.destination,
      ttl: header.ttl,
    };
    const targets = this.lookup(header.destination, destinationPort, header.source, sourcePort, datagram.destinationKind !== 'unicast');
    if (targets.length === 0) {
      this.stats.increment('udp.rx.noPort');
      this.icmp.portUnreachable(datagram, now);
      return;
    }
    for (const socket of targets) {
      if (socket.enqueue(received)) this.stats.increment('udp.rx.delivered');
      else this.stats.increment('drop.udp.receiveBufferFull');
    }
  }

  /**
   * The sockets a datagram goes to: for unicast the most specific match (connected beats
   * bound-to-address beats wildcard), among SO_REUSEPORT peers one chosen by a hash of the
   * 4-tuple; for broadcast and multicast every match.
   */
  private lookup(destination: Ipv4Address, port: number, source: Ipv4Address, sourcePort: number, all: boolean): UdpSocket[] {
    let best: UdpSocket[] = [];
    let bestScore = -1;
    const matches: UdpSocket[] = [];
    for (const socket of this.sockets) {
      if (socket.localPort !== port) continue;
      if (socket.localAddress !== IPV4_ANY && socket.localAddress !== destination) continue;
      if (socket.connected && (socket.remoteAddress !== source || socket.remotePort !== sourcePort)) continue;
      matches.push(socket);
      const score = (socket.localAddress !== IPV4_ANY ? 1 : 0) + (socket.connected ? 2 : 0);
      if (score > bestScore) {
        bestScore = score;
        best = [socket];
      } else if (score === bestScore) {
        best.push(socket);
      }
    }
    if (all) return matches;
    if (best.length <= 1) return best;
    const group = best.filter((s) => s.options.reusePort);
    if (group.length === best.length) {
      const hash = ((source ^ (sourcePort * 2654435761)) >>> 0) % group.length;
      return [group[hash]];
    }
    return [best[best.length - 1]]; // SO_REUSEADDR: Linux delivers to the most recently bound
  }

  /**
   * An ICMP error about a datagram we sent: recorded on the socket that sent it when that
   * socket is connected and the error is fatal (Linux without IP_RECVERR; RFC 1122 §4.1.3.3).
   */
  icmpError(report: IcmpErrorReport): void {
    const quoted = report.quoted;
    if (quoted.payload.length < 4) {
      this.stats.increment('drop.udp.icmpQuoteTooShort');
      return;
    }
    const sourcePort = (quoted.payload[0] << 8) | quoted.payload[1];
    const destinationPort = (quoted.payload[2] << 8) | quoted.payload[3];
    for (const socket of this.sockets) {
      if (socket.localPort !== sourcePort) continue;
      if (socket.localAddress !== IPV4_ANY && socket.localAddress !== quoted.source) continue;
      if (!socket.connected || socket.remoteAddress !== quoted.destination || socket.remotePort !== destinationPort) continue;
      const meaning = icmpErrorMeaning(report);
      if (!meaning.fatal) {
        this.stats.increment('udp.icmpError.ignoredSoft');
        return;
      }
      this.stats.increment(`udp.icmpError.${meaning.code}`);
      socket.pendingError = meaning.code;
      socket.onError?.(meaning.code);
      return;
    }
    this.stats.increment('udp.icmpError.noSocket');
  }

  private traceDown(datagram: Uint8Array, source: Ipv4Address, destination: Ipv4Address, now: number): void {
    const packet = UdpPacket.unchecked(datagram);
    this.tracer!({
      direction: 'down',
      layer: 'udp',
      time: now,
      where: `port ${packet.sourcePort}`,
      summary: `UDP ${packet.sourcePort} → ${packet.destinationPort}: added 8-byte header to ${packet.length - 8} bytes of data, checksum 0x${packet.checksum.toString(16).padStart(4, '0')} over pseudo-header (${formatIpv4Address(source)}, ${formatIpv4Address(destination)}, proto 17, length ${packet.length}) + header + data`,
      fields: udpTraceFields(packet),
      header: datagram.subarray(0, UDP_HEADER_LENGTH),
      payloadLength: packet.length - UDP_HEADER_LENGTH,
    });
  }
}

function udpTraceFields(packet: UdpPacket): Array<readonly [string, string]> {
  return [
    ['source port', String(packet.sourcePort)],
    ['destination port', String(packet.destinationPort)],
    ['length', String(packet.length)],
    ['checksum', `0x${packet.checksum.toString(16).padStart(4, '0')}`],
  ];
}
