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
import { IPV4_ANY, IPV4_BROADCAST, isMulticast, type Ipv4Address } from '../ip/address.js';
import type { IcmpErrorListener, IcmpErrorReport, IcmpLayer } from '../ip/icmp-layer.js';
import { icmpErrorMeaning, type IcmpErrorMeaning } from '../ip/icmp-errors.js';
import type { IncomingDatagram, IpLayer, ProtocolHandler } from '../ip/ip-layer.js';
import { formatIpAddress, ipv6Bytes, ipv6Text, IPV6_ANY_TEXT, type IpAddress } from '../ip/ip-address.js';
import type { Icmpv6ErrorListener, Icmpv6ErrorReport, Icmpv6Layer } from '../ip/icmpv6-layer.js';
import { ipv6Equal } from '../ip/ipv6-address.js';
import type { IncomingIpv6Datagram, Ipv6Layer, Ipv6ProtocolHandler } from '../ip/ipv6-layer.js';
import { IpProtocol } from '../ip/ipv4.js';
import { allocateEphemeralPort, bindingsOverlap, DEFAULT_EPHEMERAL_PORTS, type PortRange } from '../ip/ports.js';
import { emitUdp, parseUdp, type PseudoHeader, UDP_HEADER_LENGTH, UdpPacket, udpLength } from './udp-packet.js';

/** Largest UDP payload over IPv4 without options: 65535 − 20 (IP) − 8 (UDP). */
export const UDP_MAX_PAYLOAD = 65507;
/** Largest UDP payload over IPv6 without jumbograms: 65535 (Payload Length) − 8 (UDP). */
export const UDP_MAX_PAYLOAD_IPV6 = 65527;

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
  /** The sender's address: the IP Source Address (IPv4's number or IPv6's text, ip-address.ts). */
  readonly sourceAddress: IpAddress;
  /** The sender's port: the UDP Source Port. */
  readonly sourcePort: number;
  /** The address it was sent to (ours, or a broadcast or group). */
  readonly destinationAddress: IpAddress;
  /** The TTL (IPv4) or Hop Limit (IPv6) it arrived with. */
  readonly ttl: number;
  /**
   * The interface it arrived on; for one looped back to an address of ours, the interface that
   * address is on, as Linux's IP6CB(skb)->iif takes the local route's device. It is the zone of a
   * link-local source (RFC 4007 §6): recvfrom's sin6_scope_id.
   */
  readonly interfaceName: string;
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
  /** IPV6_V6ONLY on an IPv6 socket: IPv6 only, no IPv4-mapped peers (Linux's default, bindv6only=0: off). */
  ipv6Only: boolean;
  /** Hop Limit of IPv6 datagrams to unicast addresses (IPV6_UNICAST_HOPS), or undefined: IPv6's default. */
  unicastHops: number | undefined;
  /** Hop Limit of IPv6 datagrams to a group (IPV6_MULTICAST_HOPS; 1 by default). */
  multicastHops: number;
  /** The interface IPv6 multicasts leave by (IPV6_MULTICAST_IF), or undefined: by the routes. */
  multicastInterface6: string | undefined;
  /** Whether our IPv6 multicasts to a joined group come back to this host (IPV6_MULTICAST_LOOP; default on; apart from IPv4's, as on Linux). */
  multicastLoop6: boolean;
  /** The IPv6 Traffic Class (IPV6_TCLASS): DSCP << 2 | ECN. */
  trafficClass: number;
}

/** A UDP socket: an endpoint in the port table plus its receive queue. */
export class UdpSocket {
  /** The address bound to: a wildcard (0.0.0.0, or `::` for an IPv6 socket) until bound to one. */
  localAddress: IpAddress;
  /** The port bound to; 0 until bound. */
  localPort = 0;
  /** The connected peer's address; the wildcard when not connected. */
  remoteAddress: IpAddress;
  /** The connected peer's port; 0 when not connected. */
  remotePort = 0;
  /**
   * The automatic flow label (RFC 6437 §3) of the connected IPv6 flow, computed at the first
   * datagram after connect and kept until the next connect or disconnect, as Linux sets a
   * connected socket's sk_txhash once in ip6_datagram_connect; null until then.
   */
  flowLabel: number | null = null;
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
  constructor(
    private readonly layer: UdpLayer,
    /**
     * 4 for an AF_INET socket; 6 for an AF_INET6 one, which speaks IPv4 too (to and from IPv4
     * addresses, that its socket layer shows as ::ffff:a.b.c.d) unless `options.ipv6Only`.
     */
    readonly family: 4 | 6 = 4,
  ) {
    this.localAddress = family === 6 ? IPV6_ANY_TEXT : IPV4_ANY;
    this.remoteAddress = this.localAddress;
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
      ipv6Only: false,
      unicastHops: undefined,
      multicastHops: 1,
      multicastInterface6: undefined,
      multicastLoop6: true,
      trafficClass: 0,
    };
  }

  /** The multicast groups this socket joined (IP_ADD_MEMBERSHIP, IPV6_JOIN_GROUP). */
  readonly memberships = new Set<IpAddress>();

  /** IP_ADD_MEMBERSHIP or IPV6_JOIN_GROUP: the host joins `group` for as long as this socket is in it. */
  joinGroup(group: IpAddress): Result<void, ErrnoCode> {
    if (!isGroupAddress(group)) return fail('EINVAL');
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

  /** IPV6_MULTICAST_IF: IPv6 multicasts leave by the interface `name` (undefined: by the routes again); ENODEV for none such, as Linux. */
  setMulticastInterface6(name: string | undefined): Result<void, ErrnoCode> {
    if (name !== undefined && !this.layer.hasInterface(name)) return fail('ENODEV');
    this.options.multicastInterface6 = name;
    return ok(undefined);
  }

  /** IP_DROP_MEMBERSHIP, IPV6_LEAVE_GROUP. */
  leaveGroup(group: IpAddress): Result<void, ErrnoCode> {
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

  /** Binds to a local address (the wildcard by default) and port (0 = ephemeral). */
  bind(address: IpAddress = this.family === 6 ? IPV6_ANY_TEXT : IPV4_ANY, port = 0): Result<void, ErrnoCode> {
    return this.layer.bind(this, address, port);
  }

  /** Sets the default destination and accepts datagrams only from it. Binds first if needed. */
  connect(address: IpAddress, port: number): Result<void, ErrnoCode> {
    return this.layer.connect(this, address, port);
  }

  /** Forgets the remote address. */
  disconnect(): void {
    this.remoteAddress = this.family === 6 ? IPV6_ANY_TEXT : IPV4_ANY;
    this.remotePort = 0;
    this.flowLabel = null;
  }

  /** Sends one datagram; to the connected peer when address/port are omitted. Binds if needed. */
  send(payload: Uint8Array, address?: IpAddress, port?: number): Result<number, ErrnoCode> {
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
export class UdpLayer implements ProtocolHandler, IcmpErrorListener, Ipv6ProtocolHandler, Icmpv6ErrorListener {
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
    private readonly ip6: Ipv6Layer,
    private readonly icmp6: Icmpv6Layer,
  ) {}

  /** A new, unbound socket: AF_INET (4, the default) or AF_INET6 (6). */
  open(family: 4 | 6 = 4): UdpSocket {
    return new UdpSocket(this, family);
  }

  /** Sockets currently bound, for `ustack` status displays. */
  boundSockets(): UdpSocket[] {
    return [...this.sockets];
  }

  /** @internal */
  bind(socket: UdpSocket, address: IpAddress, port: number): Result<void, ErrnoCode> {
    if (socket.closed) return fail('EBADF');
    if (socket.bound) return fail('EINVAL');
    if (port < 0 || port > 65535 || !Number.isInteger(port)) return fail('EINVAL');
    if (typeof address === 'string' && socket.family === 4) return fail('EAFNOSUPPORT');
    if (typeof address === 'number' && socket.family === 6 && socket.options.ipv6Only) return fail('EADDRNOTAVAIL');
    if (typeof address === 'string') {
      if (address !== IPV6_ANY_TEXT && !isGroupAddress(address) && !this.ip6.isLocalAddress(ipv6Bytes(address))) return fail('EADDRNOTAVAIL');
    } else if (address !== IPV4_ANY && !this.ip.isLocalAddress(address) && address !== IPV4_BROADCAST && !isMulticast(address)) {
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

  /**
   * Whether binding `socket` to address:port would clash with a bound socket (SO_REUSEADDR/PORT
   * rules as Linux). Ports are one space for both families (RFC 6056 §3.1: the port names an
   * endpoint whatever the family): a dual-stack `::` overlaps every IPv4 binding too.
   */
  private conflicts(socket: UdpSocket, address: IpAddress, port: number): boolean {
    for (const other of this.sockets) {
      if (other === socket || other.localPort !== port) continue;
      if (!bindingsOverlap(address, socket.options.ipv6Only, other.localAddress, other.options.ipv6Only)) continue;
      if (socket.options.reuseAddress && other.options.reuseAddress) continue;
      if (socket.options.reusePort && other.options.reusePort) continue;
      return true;
    }
    return false;
  }

  /** @internal */
  connect(socket: UdpSocket, address: IpAddress, port: number): Result<void, ErrnoCode> {
    if (socket.closed) return fail('EBADF');
    if (port <= 0 || port > 65535) return fail('EINVAL');
    const familyError = this.familyError(socket, address);
    if (familyError) return fail(familyError);
    // Linux refuses to connect to a broadcast address without SO_BROADCAST, as sendto does.
    if (typeof address === 'number' && this.isBroadcast(address) && !socket.options.broadcast) return fail('EACCES');
    const source = typeof address === 'number' ? this.ip.sourceFor(address) : sourceText(this.ip6.sourceFor(ipv6Bytes(address)));
    if (source === null) return fail(typeof address === 'number' ? 'ENETUNREACH' : this.ip6.noSourceError(ipv6Bytes(address)));
    const bound = this.autobind(socket);
    if (!bound.ok) return bound;
    // Linux pins the local address to the route's source on connect (ip4_datagram_connect,
    // ip6_datagram_connect); a dual-stack socket connected to an IPv4 peer gets an IPv4 source.
    if (socket.localAddress === IPV4_ANY || socket.localAddress === IPV6_ANY_TEXT) socket.localAddress = source;
    socket.remoteAddress = address;
    socket.remotePort = port;
    socket.flowLabel = null;
    return ok(undefined);
  }

  /**
   * Binds an unbound socket to the wildcard address and an ephemeral port, as sendto() and
   * connect() do. When no port is free Linux's inet_autobind says EAGAIN, not EADDRINUSE.
   */
  private autobind(socket: UdpSocket): Result<void, ErrnoCode> {
    if (socket.bound) return ok(undefined);
    const bound = this.bind(socket, socket.family === 6 ? IPV6_ANY_TEXT : IPV4_ANY, 0);
    return bound.ok || bound.error !== 'EADDRINUSE' ? bound : fail('EAGAIN');
  }

  /** @internal */
  release(socket: UdpSocket): void {
    this.sockets.delete(socket);
  }

  /** @internal Whether the stack has an interface of this name (IPV6_MULTICAST_IF). */
  hasInterface(name: string): boolean {
    return this.ip.getInterface(name) !== undefined;
  }

  /** @internal Whether `address` is one of this stack's. */
  isOurAddress(address: Ipv4Address): boolean {
    return this.ip.isLocalAddress(address);
  }

  /** @internal A socket joined a multicast group: so does the host. */
  groupJoined(group: IpAddress): void {
    if (typeof group === 'number') this.ip.joinGroup(group);
    else this.ip6.joinGroup(ipv6Bytes(group), this.clock());
  }

  /** @internal A socket left a multicast group. */
  groupLeft(group: IpAddress): void {
    if (typeof group === 'number') this.ip.leaveGroup(group);
    else this.ip6.leaveGroup(ipv6Bytes(group), this.clock());
  }

  /**
   * Why `socket` cannot reach `address`, or null: an AF_INET socket has no IPv6; an IPV6_V6ONLY
   * socket no IPv4 (Linux's udpv6_sendmsg says ENETUNREACH for a v4-mapped destination); a
   * socket bound to an address of one family cannot send from it to the other.
   */
  private familyError(socket: UdpSocket, address: IpAddress): ErrnoCode | null {
    if (typeof address === 'string') {
      if (socket.family === 4) return 'EAFNOSUPPORT';
      if (typeof socket.localAddress === 'number' && socket.bound) return 'ENETUNREACH';
      return null;
    }
    if (socket.family === 6 && socket.options.ipv6Only) return 'ENETUNREACH';
    if (typeof socket.localAddress === 'string' && socket.localAddress !== IPV6_ANY_TEXT) return 'ENETUNREACH';
    return null;
  }

  /** @internal Sends one datagram from `socket`. Returns the payload bytes sent. */
  send(socket: UdpSocket, payload: Uint8Array, address?: IpAddress, port?: number): Result<number, ErrnoCode> {
    if (socket.closed) return fail('EBADF');
    const pending = socket.takeError();
    if (pending) return fail(pending);
    const destination = address ?? (socket.connected ? socket.remoteAddress : undefined);
    const destinationPort = port ?? (socket.connected ? socket.remotePort : undefined);
    if (destination === undefined || destinationPort === undefined) return fail('EDESTADDRREQ');
    if (destinationPort <= 0 || destinationPort > 65535) return fail('EINVAL');
    const familyError = this.familyError(socket, destination);
    if (familyError) return fail(familyError);
    if (typeof destination === 'string') return this.sendIpv6(socket, payload, destination, destinationPort);
    if (payload.length > UDP_MAX_PAYLOAD) return fail('EMSGSIZE');
    if (this.isBroadcast(destination) && !socket.options.broadcast) return fail('EACCES');
    const bound = this.autobind(socket);
    if (!bound.ok) return bound;
    const repr = { sourcePort: socket.localPort, destinationPort, payload };
    const length = udpLength(repr);
    const now = this.clock();
    const local = socket.localAddress;
    const sent = this.ip.send(
      {
        source: typeof local === 'number' && local !== IPV4_ANY && !isMulticast(local) && local !== IPV4_BROADCAST ? local : undefined,
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

  /** Sends one datagram over IPv6 (the checksum is mandatory there, RFC 8200 §8.1). */
  private sendIpv6(socket: UdpSocket, payload: Uint8Array, destination: string, destinationPort: number): Result<number, ErrnoCode> {
    if (payload.length > UDP_MAX_PAYLOAD_IPV6) return fail('EMSGSIZE');
    const bound = this.autobind(socket);
    if (!bound.ok) return bound;
    const repr = { sourcePort: socket.localPort, destinationPort, payload };
    const length = udpLength(repr);
    const now = this.clock();
    const target = ipv6Bytes(destination);
    const group = isGroupAddress(destination);
    const local = socket.localAddress;
    const source = typeof local === 'string' && local !== IPV6_ANY_TEXT && !isGroupAddress(local) ? ipv6Bytes(local) : undefined;
    // The connected flow's label, kept on the socket; a datagram elsewhere (sendto on a
    // connected socket) or from an unconnected one is labelled by the IPv6 layer per packet.
    const connectedFlow = source !== undefined && socket.remotePort === destinationPort && socket.remoteAddress === destination;
    const flowLabel = connectedFlow
      ? (socket.flowLabel ??= this.ip6.flowLabels.label(source, target, IpProtocol.UDP, socket.localPort, destinationPort))
      : undefined;
    const sent = this.ip6.send(
      {
        source,
        destination: target,
        flowLabel,
        nextHeader: IpProtocol.UDP,
        hopLimit: group ? socket.options.multicastHops : socket.options.unicastHops,
        trafficClass: socket.options.trafficClass,
        interfaceName: group ? socket.options.multicastInterface6 : undefined,
        multicastLoop: socket.options.multicastLoop6,
      },
      length,
      (out, source) => {
        emitUdp(repr, out, { source, destination: target });
        if (this.tracer) this.traceDown(out.subarray(0, length), ipv6Text(source), destination, now);
      },
      now,
    );
    if (!sent.ok) {
      if (sent.error !== 'ENOBUFS') return sent;
      this.stats.increment('udp.tx.droppedLocally');
      return ok(payload.length);
    }
    this.stats.increment('udp.tx.datagrams');
    return ok(payload.length);
  }

  /** Handles a received UDP datagram over IPv6 (RFC 8200 §8.1: a zero checksum is refused). */
  inputIpv6(datagram: IncomingIpv6Datagram, now: number): void {
    const { header } = datagram;
    const source = ipv6Text(header.source);
    const delivered = this.receive(
      datagram.payload,
      datagram.checksumTrusted,
      header,
      source,
      ipv6Text(header.destination),
      header.hopLimit,
      datagram.destinationKind !== 'unicast',
      this.arrivalInterface6(datagram),
      now,
    );
    // RFC 4443 §2.4(e.3): never to a multicast destination (the ICMPv6 layer checks it too).
    if (delivered === 'noPort' && datagram.destinationKind === 'unicast') this.icmp6.portUnreachable(datagram, now);
  }

  /**
   * The interface an IPv6 datagram counts as arriving on: the loopback hands over what we sent
   * to an address of ours, and then it is that address's interface (Linux: the local route's
   * device, IP6CB(skb)->iif), so that a link-local sender is `fe80::…%eth0`, not `%lo`.
   */
  private arrivalInterface6(datagram: IncomingIpv6Datagram): string {
    if (!this.ip.getInterface(datagram.interfaceName)?.loopback) return datagram.interfaceName;
    const owner = this.ip6.addresses().find((entry) => ipv6Equal(entry.cidr.address, datagram.header.destination));
    return owner?.interfaceName ?? datagram.interfaceName;
  }

  /** An ICMPv6 error about a datagram we sent: as icmpError, with Linux's ICMPv6 meanings. */
  icmpv6Error(report: Icmpv6ErrorReport): void {
    const quoted = report.quoted;
    if (quoted.payload.length < 4) {
      this.stats.increment('drop.udp.icmpQuoteTooShort');
      return;
    }
    this.socketError(ipv6Text(quoted.source), ipv6Text(quoted.destination), quoted.payload, report.meaning);
  }

  /** 255.255.255.255 or the broadcast address of one of our networks. */
  private isBroadcast(address: Ipv4Address): boolean {
    return this.ip.isBroadcastAddress(address);
  }

  /** Handles a received UDP datagram (RFC 1122 §4.1.3). */
  input(datagram: IncomingDatagram, now: number): void {
    const { header } = datagram;
    const delivered = this.receive(
      datagram.payload,
      datagram.checksumTrusted,
      header,
      header.source,
      header.destination,
      header.ttl,
      datagram.destinationKind !== 'unicast',
      datagram.interfaceName,
      now,
    );
    if (delivered === 'noPort') this.icmp.portUnreachable(datagram, now);
  }

  /**
   * A datagram of either family: checked (the checksum over the `pseudo` header's addresses
   * unless the device vouched for it), traced, and queued on the sockets it is for ('noPort'
   * when none is: the caller answers with its family's port unreachable). `source` and
   * `destination` are the addresses as sockets name them.
   */
  private receive(
    bytes: Uint8Array,
    checksumTrusted: boolean,
    pseudo: PseudoHeader,
    source: IpAddress,
    destination: IpAddress,
    ttl: number,
    toGroup: boolean,
    interfaceName: string,
    now: number,
  ): 'delivered' | 'noPort' | 'dropped' {
    const checked = UdpPacket.checked(bytes);
    if (!checked.ok) {
      this.stats.increment(`drop.udp.${checked.error.reason}`);
      return 'dropped';
    }
    const packet = checked.value;
    const parsed = parseUdp(packet, checksumTrusted ? { verifyChecksum: false } : pseudo);
    if (!parsed.ok) {
      this.stats.increment(`drop.udp.${parsed.error.reason}`);
      return 'dropped';
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
    const received: ReceivedDatagram = { payload: payload.slice(), sourceAddress: source, sourcePort, destinationAddress: destination, ttl, interfaceName };
    const targets = this.lookup(destination, destinationPort, source, sourcePort, toGroup);
    if (targets.length === 0) {
      this.stats.increment('udp.rx.noPort');
      return 'noPort';
    }
    for (const socket of targets) {
      if (socket.enqueue(received)) this.stats.increment('udp.rx.delivered');
      else this.stats.increment('drop.udp.receiveBufferFull');
    }
    return 'delivered';
  }

  /**
   * The sockets a datagram goes to: for unicast the most specific match (connected beats
   * bound-to-address beats wildcard), among SO_REUSEPORT peers one chosen by a hash of the
   * 4-tuple; for broadcast and multicast every match.
   */
  private lookup(destination: IpAddress, port: number, source: IpAddress, sourcePort: number, all: boolean): UdpSocket[] {
    let best: UdpSocket[] = [];
    let bestScore = -1;
    const matches: UdpSocket[] = [];
    for (const socket of this.sockets) {
      if (socket.localPort !== port) continue;
      const local = socket.localAddress;
      const wildcard = local === IPV4_ANY || local === IPV6_ANY_TEXT;
      if (!wildcard && local !== destination) continue;
      // 0.0.0.0 takes IPv4 only; `::` takes IPv6, and IPv4 too unless IPV6_V6ONLY.
      if (local === IPV4_ANY && typeof destination !== 'number') continue;
      if (local === IPV6_ANY_TEXT && typeof destination === 'number' && socket.options.ipv6Only) continue;
      if (socket.connected && (socket.remoteAddress !== source || socket.remotePort !== sourcePort)) continue;
      matches.push(socket);
      const score = (wildcard ? 0 : 1) + (socket.connected ? 2 : 0);
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
      const hash = ((addressHash(source) ^ (sourcePort * 2654435761)) >>> 0) % group.length;
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
    this.socketError(quoted.source, quoted.destination, quoted.payload, icmpErrorMeaning(report));
  }

  /** Records an ICMP or ICMPv6 error on the connected socket whose datagram `quoted` starts. */
  private socketError(source: IpAddress, destination: IpAddress, quoted: Uint8Array, meaning: IcmpErrorMeaning): void {
    const sourcePort = (quoted[0] << 8) | quoted[1];
    const destinationPort = (quoted[2] << 8) | quoted[3];
    for (const socket of this.sockets) {
      if (socket.localPort !== sourcePort) continue;
      if (socket.localAddress !== IPV4_ANY && socket.localAddress !== IPV6_ANY_TEXT && socket.localAddress !== source) continue;
      if (!socket.connected || socket.remoteAddress !== destination || socket.remotePort !== destinationPort) continue;
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

  private traceDown(datagram: Uint8Array, source: IpAddress, destination: IpAddress, now: number): void {
    const packet = UdpPacket.unchecked(datagram);
    this.tracer!({
      direction: 'down',
      layer: 'udp',
      time: now,
      where: `port ${packet.sourcePort}`,
      summary: `UDP ${packet.sourcePort} → ${packet.destinationPort}: added 8-byte header to ${packet.length - 8} bytes of data, checksum 0x${packet.checksum.toString(16).padStart(4, '0')} over pseudo-header (${formatIpAddress(source)}, ${formatIpAddress(destination)}, proto 17, length ${packet.length}) + header + data`,
      fields: udpTraceFields(packet),
      header: datagram.subarray(0, UDP_HEADER_LENGTH),
      payloadLength: packet.length - UDP_HEADER_LENGTH,
    });
  }
}

/** True for an IPv4 multicast address or an IPv6 one (ff00::/8). */
function isGroupAddress(address: IpAddress): boolean {
  return typeof address === 'number' ? isMulticast(address) : address.startsWith('ff');
}

/** The text of an IPv6 source the layer chose, or null. */
function sourceText(source: Uint8Array | null): string | null {
  return source === null ? null : ipv6Text(source);
}

/** A number from an address of either family, for SO_REUSEPORT's choice of socket. */
function addressHash(address: IpAddress): number {
  if (typeof address === 'number') return address;
  let hash = 0;
  for (let i = 0; i < address.length; i++) hash = (Math.imul(hash, 31) + address.charCodeAt(i)) >>> 0;
  return hash;
}

function udpTraceFields(packet: UdpPacket): Array<readonly [string, string]> {
  return [
    ['source port', String(packet.sourcePort)],
    ['destination port', String(packet.destinationPort)],
    ['length', String(packet.length)],
    ['checksum', `0x${packet.checksum.toString(16).padStart(4, '0')}`],
  ];
}
