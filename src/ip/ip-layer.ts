/**
 * The IPv4 layer (RFC 791, RFC 1122 §3.2.1, RFC 1812 §5 when forwarding): validates incoming
 * packets, reassembles fragments, demultiplexes by protocol; routes, fragments and frames
 * outgoing datagrams. It never touches a device: frames to send wait in an outbox that the
 * stack flushes in `poll(now)`.
 */
import type { ErrnoCode } from '../core/errno.js';
import { fail, ok, type Result } from '../core/result.js';
import type { Rng } from '../core/rng.js';
import { SlabAllocator } from '../core/slab-allocator.js';
import type { Stats } from '../core/stats.js';
import type { Ipv4CounterName } from './ip-counters.js';
import type { Tracer } from '../core/trace.js';
import { formatIpv4Address, IPV4_BROADCAST, isMulticast, subnetBroadcast, type Ipv4Address } from './address.js';
import { DEFAULT_REASSEMBLY, fragmentDatagram, IPV4_MIN_MTU, Reassembler } from './fragments.js';
import { ReassemblyMemory, type ReassemblyConfig } from './reassembly.js';
import type { NetworkInterface } from './interface.js';
import { internetChecksum, pseudoHeaderSum } from './checksum.js';
import { Ipv4Identification } from './identification.js';
import {
  emitIpv4,
  IpProtocol,
  ipv4HeaderLength,
  Ipv4Packet,
  IPV4_MAX_HEADER_LENGTH,
  IPV4_MAX_TOTAL_LENGTH,
  IPV4_MIN_HEADER_LENGTH,
  parseIpv4,
  type Ipv4Repr,
} from './ipv4.js';
import { ipv4OptionsVerdict, type Ipv4Option } from './ipv4-options.js';
import { LoopedFrames } from './looped-frames.js';
import { PacketCounters, type QueueCounters } from './packet-counters.js';
import { PathMtuCache, PATH_MTU_ENTRIES_MAX, PATH_MTU_LIFETIME_MS } from './path-mtu.js';
import { routeMtu } from './prefix-routes.js';
import { RouteTable, type Route } from './routes.js';
import { ipv4TraceFields } from './trace-fields.js';

/** How a packet was addressed to us. */
export type DestinationKind = 'unicast' | 'broadcast' | 'multicast';

/** A datagram delivered to a transport protocol. */
export interface IncomingDatagram {
  readonly header: Ipv4Repr;
  readonly payload: Uint8Array;
  /**
   * The IP packet as received, for ICMP quoting; for a reassembled datagram the start of
   * fragment zero, since an error about a non-first fragment must not be sent (RFC 1122 §3.2.2).
   */
  readonly packet: Uint8Array;
  readonly interfaceName: string;
  readonly destinationKind: DestinationKind;
  /** The device vouched for the TCP/UDP checksum, which may be only partial (see FrameReceiver). */
  readonly checksumTrusted: boolean;
}

/** 224.0.0.1: every multicast-capable host is a member (RFC 1112 §4). */
const ALL_HOSTS_GROUP = 0xe0000001;

/** Told when the host's membership of a multicast group begins and ends (IGMP reports it). */
export interface GroupListener {
  joined(group: Ipv4Address): void;
  left(group: Ipv4Address): void;
}

/** A protocol above IP (ICMP, UDP, TCP, raw sockets). */
export interface ProtocolHandler {
  /** A datagram for this protocol arrived. */
  input(datagram: IncomingDatagram, now: number): void;
}

/** Raw sockets as IP sees them: a tap on every datagram delivered to this host. */
export interface RawDatagramTap {
  /** Copies `datagram` to the raw sockets that want it; true when one took it (then no protocol unreachable is sent). */
  deliver(datagram: IncomingDatagram): boolean;
}

/**
 * What IP calls in the layers above it besides the protocol handlers. They send through IP, so
 * they are built after it and handed over once with `IpLayer.connectUpperLayers`.
 */
export interface IpUpperLayers {
  /** Sends the ICMP errors IP's own checks call for (the ICMP layer). */
  readonly icmpErrors: IcmpErrorSender;
  /** Sees every datagram delivered to this host before its protocol handler, as on Linux. */
  readonly rawSockets: RawDatagramTap;
  /** Told when a group's membership begins and ends (the IGMP layer). */
  readonly groupListener: GroupListener;
}

/** What to put in the IP header of an outgoing datagram. */
export interface DatagramSpec {
  /** Source address; omitted or 0 picks the outgoing interface's address. */
  readonly source?: Ipv4Address;
  readonly destination: Ipv4Address;
  readonly protocol: number;
  readonly ttl?: number;
  readonly dscp?: number;
  readonly ecn?: number;
  readonly dontFragment?: boolean;
  readonly options?: readonly Ipv4Option[];
  /**
   * TCP segmentation offload: the datagram is one TCP segment that may exceed the MTU, for a
   * link that cuts it into segments of this many data bytes (see segmentationOffloadTo).
   */
  readonly segmentSize?: number;
  /**
   * Whether a copy of a multicast datagram comes back to this host when it is a member of the
   * group (IP_MULTICAST_LOOP; default true). Broadcasts always come back, as on Linux.
   */
  readonly multicastLoop?: boolean;
  /**
   * For a multicast destination: leave through the interface with this address, whatever the
   * routes say (IP_MULTICAST_IF).
   */
  readonly multicastInterface?: Ipv4Address;
}

/** A frame waiting in the outbox for its interface's link. */
export interface OutgoingFrame {
  readonly interfaceName: string;
  readonly frame: Uint8Array;
  /** For Link.transmit: the TSO segment size, or 0. */
  readonly segmentSize: number;
}

/** The options of a datagram sent without any (shared: option lists are never changed). */
const NO_OPTIONS: readonly Ipv4Option[] = Object.freeze([]);

/** What takeOutbox returns when nothing waits: shared, so an idle poll allocates nothing. */
const NO_FRAMES: readonly OutgoingFrame[] = Object.freeze([]);

/** The IP layer's settings. */
export interface IpConfig {
  /** TTL of datagrams we originate (Linux: 64). */
  readonly defaultTtl: number;
  /** Forward packets not addressed to us (a router); off for a host (RFC 1122 §3.3.4). */
  readonly forwarding: boolean;
  /** Limits on reassembling fragmented datagrams: timeout, memory, fragments per datagram. */
  readonly reassembly: ReassemblyConfig;
}

/** Defaults for IpConfig. */
export const DEFAULT_IP_CONFIG: IpConfig = { defaultTtl: 64, forwarding: false, reassembly: DEFAULT_REASSEMBLY };

/** Called by the IP layer when it must report a problem with a packet by ICMP. */
export interface IcmpErrorSender {
  timeExceeded(packet: Uint8Array, code: number, now: number): void;
  fragmentationNeeded(packet: Uint8Array, nextHopMtu: number, now: number): void;
  protocolUnreachable(packet: Uint8Array, now: number): void;
  netUnreachable(packet: Uint8Array, now: number): void;
  /** `pointer`: the octet of the IP header where the problem is (RFC 792). */
  parameterProblem(packet: Uint8Array, pointer: number, now: number): void;
}

/** The way out toward a destination: its route and the interface the route names. */
export interface Ipv4Path {
  readonly route: Route;
  readonly iface: NetworkInterface;
}

/** How many destinations IpLayer.routeTo remembers before it starts again. */
const PATH_CACHE_ENTRIES_MAX = 1024;

/** Why `IpLayer.send` refused a datagram (see there). */
export type IpSendError = 'ENETUNREACH' | 'EINVAL' | 'EMSGSIZE' | 'ENOBUFS';

/** The IPv4 layer of one stack. */
export class IpLayer {
  readonly routes = new RouteTable();
  readonly reassembler: Reassembler;
  /** Bytes held by partial datagrams of both families: IPv6's reassembler draws on it too. */
  readonly reassemblyMemory: ReassemblyMemory;
  private readonly interfaces = new Map<string, NetworkInterface>();
  /** The same interfaces as a list, rebuilt when one is added: every packet looks through them. */
  private interfaceList: readonly NetworkInterface[] = [];
  /** The broadcast address of each non-loopback interface's network (none for a /31 or /32), kept with the list. */
  private subnetBroadcasts: readonly Ipv4Address[] = [];
  private readonly protocols = new Map<number, ProtocolHandler>();
  private outbox: OutgoingFrame[] = [];
  /** Copies of our own broadcasts and multicasts, to come in at the next poll. */
  private readonly looped = new LoopedFrames();
  /** Multicast groups joined, with how many joins each. */
  private readonly groups = new Map<Ipv4Address, number>();
  /** Where outgoing frames come from: one small allocation each instead of an ArrayBuffer each. */
  private readonly frames = new SlabAllocator();
  /** IDs of the datagrams we originate (RFC 6864, RFC 7739 §5.3). */
  private readonly identification: Ipv4Identification;
  /** Path MTUs learned from fragmentation-needed messages (RFC 1191 §6.3), with expiry. */
  private readonly pathMtus = new PathMtuCache<Ipv4Address>({ floor: PATH_MTU_FLOOR, lifetimeMs: PATH_MTU_LIFETIME_MS, entriesMax: PATH_MTU_ENTRIES_MAX });
  /** routeTo's answers by destination, good while the route table stays at `pathsGeneration`. */
  private readonly paths = new Map<Ipv4Address, Ipv4Path | null>();
  private pathsGeneration = 0;
  /** ICMP, raw sockets and IGMP, from `connectUpperLayers` on; null only while the stack is being built. */
  private upper: IpUpperLayers | null = null;
  tracer: Tracer | null = null;
  /** The counters of every packet, looked up once. */
  private readonly counters: PacketCounters<'ipv4'>;

  constructor(
    readonly config: IpConfig,
    private readonly stats: Stats<Ipv4CounterName>,
    rng: Rng,
    /** Called whenever a frame is queued, so a driver can schedule a poll. */
    private readonly onOutput: () => void,
  ) {
    this.reassemblyMemory = new ReassemblyMemory(config.reassembly.memoryLimit);
    this.reassembler = new Reassembler(config.reassembly, this.reassemblyMemory);
    this.identification = new Ipv4Identification(rng);
    this.counters = new PacketCounters(stats, 'ipv4');
  }

  /** Attaches an interface and its connected route. Throws on an MTU below 68 (RFC 791 §3.2). */
  addInterface(iface: NetworkInterface): void {
    if (!(iface.mtu >= IPV4_MIN_MTU)) throw new RangeError(`${iface.name}: MTU ${iface.mtu} is below the IPv4 minimum of ${IPV4_MIN_MTU}`);
    this.interfaces.set(iface.name, iface);
    this.interfaceList = [...this.interfaces.values()];
    this.subnetBroadcasts = this.interfaceList.flatMap((i) => {
      const broadcast = i.loopback ? null : subnetBroadcast(i.address);
      return broadcast === null ? [] : [broadcast];
    });
    this.paths.clear(); // a new local address, or a loopback, changes where some destinations go
    if (!iface.loopback) this.routes.add({ destination: iface.address, interfaceName: iface.name });
  }

  /** The interface with this name. */
  getInterface(name: string): NetworkInterface | undefined {
    return this.interfaces.get(name);
  }

  /** The loopback interface, where datagrams to this host's own addresses of either family go; undefined without one. */
  loopbackInterface(): NetworkInterface | undefined {
    return this.interfaceList.find((iface) => iface.loopback);
  }

  /** Every interface (the layer's own list, not a copy). */
  listInterfaces(): readonly NetworkInterface[] {
    return this.interfaceList;
  }

  /**
   * Hands IP the layers above it that it calls: once, when the stack has built them. IP needs
   * them (ICMP errors, the raw sockets' copy, IGMP's reports) and they need IP to send, a cycle
   * no constructor order breaks; until then IP sends no ICMP error and has no raw socket.
   */
  connectUpperLayers(upper: IpUpperLayers): void {
    if (this.upper) throw new Error('connectUpperLayers: IP is already connected to its upper layers');
    this.upper = upper;
  }

  /** Registers the handler for an IP protocol number. */
  registerProtocol(protocol: number, handler: ProtocolHandler): void {
    this.protocols.set(protocol, handler);
  }

  /** True when `address` is one of this host's addresses (or in 127/8 with a loopback). */
  isLocalAddress(address: Ipv4Address): boolean {
    for (const iface of this.interfaceList) {
      if (iface.address.address === address) return true;
      if (iface.loopback && address >>> 24 === 127) return true;
    }
    return false;
  }

  /**
   * True for the limited broadcast and for the broadcast address of any of our networks. A
   * router receives a directed broadcast for one of its networks itself rather than forwarding
   * it onto that network, since forwarding them by default is what made smurf attacks possible
   * (RFC 2644); Linux does the same.
   */
  isBroadcastAddress(address: Ipv4Address): boolean {
    return address === IPV4_BROADCAST || this.subnetBroadcasts.includes(address);
  }

  /** Frames waiting to be transmitted, removed from the outbox. */
  takeOutbox(): readonly OutgoingFrame[] {
    if (this.outbox.length === 0) return NO_FRAMES;
    const frames = this.outbox;
    this.outbox = [];
    return frames;
  }

  /** True when frames are waiting. */
  get hasOutput(): boolean {
    return this.outbox.length > 0 || this.looped.waiting;
  }

  // ---- multicast groups ------------------------------------------------------------------

  /**
   * Joins `group` for the host (RFC 1112 §4: a host receives datagrams for the groups it is a
   * member of), counted per join; 224.0.0.1, all hosts, is always joined. Membership decides
   * what this host accepts and what of its own it loops back; the group listener (IGMP) tells
   * the routers.
   */
  joinGroup(group: Ipv4Address): void {
    const count = this.groups.get(group) ?? 0;
    this.groups.set(group, count + 1);
    if (count === 0) this.upper?.groupListener.joined(group);
  }

  /** Undoes one joinGroup. */
  leaveGroup(group: Ipv4Address): void {
    const count = this.groups.get(group) ?? 0;
    if (count === 0) return;
    if (count > 1) {
      this.groups.set(group, count - 1);
      return;
    }
    this.groups.delete(group);
    this.upper?.groupListener.left(group);
  }

  /** The groups this host joined (224.0.0.1 not listed: it is always a member). */
  joinedGroups(): Ipv4Address[] {
    return [...this.groups.keys()];
  }

  /** Whether this host is a member of multicast `group`. */
  isMember(group: Ipv4Address): boolean {
    return group === ALL_HOSTS_GROUP || this.groups.has(group);
  }

  // ---- input -------------------------------------------------------------------------------

  /** Processes one IPv4 packet received on `iface` (RFC 1122 §3.2.1 checks, in order). */
  input(iface: NetworkInterface, bytes: Uint8Array, now: number, checksumTrusted = false): void {
    const packet = this.counters.arrived(Ipv4Packet.checked(bytes));
    if (packet === null) return;
    const parsed = parseIpv4(packet);
    // Options that do not decode are looked at again below, once the packet is known to be
    // one we would route: those are answered with Parameter Problem.
    if (!parsed.ok && parsed.error.reason !== 'badOption') {
      this.counters.refused(parsed.error.reason);
      return;
    }
    // The fields the checks below need, read once.
    const headerLength = packet.headerLength;
    const totalLength = packet.totalLength;
    const source = packet.source;
    const destination = packet.destination;
    // Martians (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7): a source that cannot be one host —
    // broadcast, multicast, "this network" 0/8 (except toward 255.255.255.255, from a host that
    // does not know its address yet: DHCP, RFC 2131 §4.1) — and loopback 127/8 as source or
    // destination anywhere but on the loopback interface.
    const fromOutside = !iface.loopback;
    const sourceNet = source >>> 24;
    if (this.isBroadcastAddress(source) || isMulticast(source) || (sourceNet === 0 && destination !== IPV4_BROADCAST) || (sourceNet === 127 && fromOutside)) {
      this.stats.increment('drop.ipv4.martianSource');
      return;
    }
    const destinationNet = destination >>> 24;
    if (destinationNet === 0 || (destinationNet === 127 && fromOutside)) {
      this.stats.increment('drop.ipv4.martianDestination');
      return;
    }
    let ipPacket = totalLength === bytes.length ? bytes : bytes.subarray(0, totalLength);
    const destinationKind = this.classifyDestination(destination);
    if (destinationKind === 'multicast' && !this.isMember(destination)) {
      this.stats.increment('drop.ipv4.multicastNotJoined');
      return;
    }
    const routed = destinationKind !== null || this.config.forwarding;
    if (routed && headerLength > IPV4_MIN_HEADER_LENGTH && !this.acceptOptions(packet.optionBytes, ipPacket, now)) return;
    if (!parsed.ok) {
      this.counters.refused(parsed.error.reason);
      return;
    }
    const header = parsed.value;
    if (destinationKind === null) {
      if (checksumTrusted) ipPacket = withTransportChecksum(ipPacket, header);
      this.forward(header, ipPacket, now);
      return;
    }
    if (this.tracer) {
      this.tracer({
        direction: 'up',
        layer: 'ipv4',
        time: now,
        where: iface.name,
        summary: `IPv4 ${formatIpv4Address(header.source)} → ${formatIpv4Address(header.destination)} proto ${header.protocol}, header ${headerLength} bytes, checksum verified`,
        fields: ipv4TraceFields(packet),
        header: packet.header,
        payloadLength: header.payloadLength,
      });
    }

    let datagramHeader = header;
    let payload = ipPacket.subarray(headerLength);
    if (header.moreFragments || header.fragmentOffset !== 0) {
      this.stats.increment('ipv4.rx.fragments');
      const result = this.reassembler.insert(header, payload, ipPacket, now);
      if (result.kind === 'dropped') {
        this.counters.refused(result.reason);
        return;
      }
      if (result.kind === 'pending') return;
      this.stats.increment('ipv4.rx.reassembled');
      datagramHeader = result.header;
      payload = result.payload;
      ipPacket = result.firstFrame;
    }

    // A reassembled datagram's checksum is verified: the device vouched only for whole packets.
    const trusted = checksumTrusted && datagramHeader === header;
    const incoming: IncomingDatagram = {
      header: datagramHeader,
      payload,
      packet: ipPacket,
      interfaceName: iface.name,
      destinationKind,
      checksumTrusted: trusted,
    };
    // Raw sockets see a copy of every datagram of their protocol first (as on Linux).
    const rawTaken = this.upper?.rawSockets.deliver(incoming) ?? false;
    const handler = this.protocols.get(datagramHeader.protocol);
    if (!handler) {
      if (rawTaken) return;
      this.stats.increment('drop.ipv4.unknownProtocol');
      if (destinationKind === 'unicast') this.upper?.icmpErrors.protocolUnreachable(ipPacket, now);
      return;
    }
    this.counters.delivered.increment();
    handler.input(incoming, now);
  }

  /**
   * Whether the options of a packet we would deliver or forward let it through. Malformed ones
   * are answered with Parameter Problem (RFC 1122 §3.2.1.8, §3.2.2.5), as Linux's
   * ip_options_compile does. Source-routed packets are all dropped, exhausted route or not:
   * RFC 7126 §4.3–4.4 recommend dropping LSRR and SSRR, RFC 1122 §3.3.5 leaves a host free not
   * to relay them, and Linux does so with accept_source_route=0, its default. Answering to a
   * reversed route instead (RFC 1122 §3.2.1.8 (c)) would let a forged route steer our replies.
   */
  private acceptOptions(optionBytes: Uint8Array, packet: Uint8Array, now: number): boolean {
    const verdict = ipv4OptionsVerdict(optionBytes);
    if (verdict.kind === 'accept') return true;
    if (verdict.kind === 'sourceRoute') {
      this.stats.increment('drop.ipv4.sourceRoute');
      return false;
    }
    this.stats.increment('drop.ipv4.badOption');
    this.upper?.icmpErrors.parameterProblem(packet, verdict.pointer, now);
    return false;
  }

  /** Unicast to us, a broadcast we accept, multicast, or null (not for this host). */
  private classifyDestination(destination: Ipv4Address): DestinationKind | null {
    if (this.isLocalAddress(destination)) return 'unicast';
    if (this.isBroadcastAddress(destination)) return 'broadcast';
    if (isMulticast(destination)) return 'multicast';
    return null;
  }

  /** Forwards a packet not addressed to us (RFC 1812 §5.2), or drops it on a host. */
  private forward(header: Ipv4Repr, packet: Uint8Array, now: number): void {
    if (!this.config.forwarding) {
      this.stats.increment('drop.ipv4.notForUs');
      return;
    }
    // RFC 1812 §5.3.1: a packet whose TTL would reach zero is discarded with Time Exceeded.
    if (header.ttl <= 1) {
      this.stats.increment('drop.ipv4.ttlExceeded');
      this.upper?.icmpErrors.timeExceeded(packet, 0, now);
      return;
    }
    const route = this.routes.lookup(header.destination);
    const iface = route && this.interfaces.get(route.interfaceName);
    if (!route || !iface) {
      // RFC 1812 §5.2.7.1: a router with no route at all MUST answer Network Unreachable.
      this.stats.increment('drop.ipv4.noRoute');
      this.upper?.icmpErrors.netUnreachable(packet, now);
      return;
    }
    const mtu = routeMtu(route, iface);
    const forwarded = { ...header, ttl: header.ttl - 1 };
    const payload = packet.subarray(ipv4HeaderLength(header));
    if (packet.length > mtu && header.dontFragment) {
      this.stats.increment('drop.ipv4.fragmentationNeeded');
      this.upper?.icmpErrors.fragmentationNeeded(packet, mtu, now);
      return;
    }
    if (this.transmitQueueFull(iface)) return;
    this.stats.increment('ipv4.forwarded');
    for (const frame of fragmentDatagram(forwarded, payload, mtu)) this.enqueue(iface, frame);
  }

  // ---- output ------------------------------------------------------------------------------

  /**
   * The route and interface a datagram to `destination` would take, or null. Every datagram
   * asks, and TCP asks again for the path MTU of each segment it sends: the answers are kept
   * until the route table or the interfaces change (a connection sends to one destination).
   */
  routeTo(destination: Ipv4Address): Ipv4Path | null {
    if (this.pathsGeneration !== this.routes.generation) {
      this.paths.clear();
      this.pathsGeneration = this.routes.generation;
    }
    const known = this.paths.get(destination);
    if (known !== undefined) return known;
    const path = this.lookUpPath(destination);
    // Bounded: a host that sends to many destinations (a UDP server's replies) looks them up
    // again once the cache is full rather than growing it without end.
    if (this.paths.size >= PATH_CACHE_ENTRIES_MAX) this.paths.clear();
    this.paths.set(destination, path);
    return path;
  }

  /** routeTo without the cache: a local address by the loopback, else the longest-prefix route. */
  private lookUpPath(destination: Ipv4Address): Ipv4Path | null {
    const loopback = this.isLocalAddress(destination) ? this.loopbackInterface() : undefined;
    if (loopback) return { route: { destination: { address: destination, prefixLength: 32 }, interfaceName: loopback.name }, iface: loopback };
    const route = this.routes.lookup(destination);
    const iface = route && this.interfaces.get(route.interfaceName);
    return route && iface ? { route, iface } : null;
  }

  /** A path to `destination` straight out of the interface whose address is `address`, or null. */
  private pathThrough(address: Ipv4Address, destination: Ipv4Address): Ipv4Path | null {
    const iface = this.interfaceList.find((i) => i.address.address === address);
    return iface ? { route: { destination: { address: destination, prefixLength: 32 }, interfaceName: iface.name }, iface } : null;
  }

  /** The source address a datagram to `destination` would carry, or null with no route. */
  sourceFor(destination: Ipv4Address): Ipv4Address | null {
    const path = this.routeTo(destination);
    return path ? this.sourceOn(path.iface, destination) : null;
  }

  /** The source address of a datagram to `destination` leaving by `iface`. */
  private sourceOn(iface: NetworkInterface, destination: Ipv4Address): Ipv4Address {
    return iface.loopback && this.isLocalAddress(destination) && destination >>> 24 !== 127 ? destination : iface.address.address;
  }

  /** Path MTU toward `destination` (learned PMTU, route MTU or interface MTU), or null with no route. */
  mtuTo(destination: Ipv4Address): number | null {
    const path = this.routeTo(destination);
    if (!path) return null;
    const learned = this.pathMtus.get(destination);
    // A link MTU above 65535 (loopback's 65536) cannot be used whole: Total Length is 16 bits.
    const mtu = Math.min(routeMtu(path.route, path.iface), IPV4_MAX_TOTAL_LENGTH);
    return learned !== undefined ? Math.min(mtu, learned) : mtu;
  }

  /**
   * The largest IPv4 packet toward `destination` that its link cuts into segments itself (TCP
   * segmentation offload), or 0 when the link has none.
   */
  segmentationOffloadTo(destination: Ipv4Address): number {
    const path = this.routeTo(destination);
    return path?.iface.link.tcpSegmentationMax ?? 0;
  }

  /**
   * Records a smaller path MTU toward `destination` (RFC 1191 §6.3), never below 68 (RFC 791)
   * or 552 + 20 as Linux's min_pmtu guards against forged tiny values; kept for 10 minutes (§6.3);
   * at most 4096 destinations.
   */
  updatePathMtu(destination: Ipv4Address, mtu: number, now: number): void {
    if (this.pathMtus.lower(destination, mtu, this.mtuTo(destination), now)) this.stats.increment('ipv4.pmtu.lowered');
  }

  /**
   * Forgets every path MTU learned from ICMP (FreeBSD's net.inet.tcp.hostcache.purgenow flushes
   * the same knowledge): packets go by the route's MTU again until ICMP says otherwise.
   * Returns how many destinations were forgotten.
   */
  forgetPathMtus(): number {
    return this.pathMtus.clear();
  }

  /**
   * Sends a datagram whose transport part is `transportLength` bytes, written by `write` into
   * the slice after the IP header (one buffer per frame; no copy unless it must fragment).
   * With `spec.segmentSize` on a link with segmentation offload the datagram goes whole for the
   * link to cut, and `write` is told so (`checksumOffloaded`: leave the checksum partial).
   * Errors: ENETUNREACH (no route), EMSGSIZE (too large, or DF and over the path MTU), EINVAL
   * (a loopback source toward another host, or more than 40 bytes of options), ENOBUFS (the
   * interface's transmit queue is full: dropped before the wire, as Linux's NET_XMIT_DROP).
   */
  send(
    spec: DatagramSpec,
    transportLength: number,
    write: (out: Uint8Array, source: Ipv4Address, checksumOffloaded: boolean) => void,
    now: number,
  ): Result<{ readonly source: Ipv4Address }, IpSendError> {
    const destination = spec.destination;
    const multicast = isMulticast(destination);
    const path = multicast && spec.multicastInterface ? this.pathThrough(spec.multicastInterface, destination) : this.routeTo(destination);
    if (!path) {
      this.stats.increment('ipv4.tx.noRoute');
      return fail('ENETUNREACH');
    }
    const source = spec.source || this.sourceOn(path.iface, destination);
    // 127/8 must never appear outside the host (RFC 1122 §3.2.1.3 (g)); Linux says EINVAL.
    if (source >>> 24 === 127 && !path.iface.loopback) return fail('EINVAL');
    const options = spec.options ?? NO_OPTIONS;
    const headerLength = ipv4HeaderLength({ options });
    // IHL is 4 bits: at most 40 bytes of options (Linux's IP_OPTIONS says EINVAL too).
    if (headerLength > IPV4_MAX_HEADER_LENGTH) return fail('EINVAL');
    if (headerLength + transportLength > IPV4_MAX_TOTAL_LENGTH) return fail('EMSGSIZE');
    const mtu = routeMtu(path.route, path.iface);
    const segmentSize = spec.segmentSize ?? 0;
    const offloaded = segmentSize > 0 && headerLength + transportLength <= (path.iface.link.tcpSegmentationMax ?? 0);
    if (spec.dontFragment && headerLength + transportLength > mtu && !offloaded) return fail('EMSGSIZE');
    if (this.transmitQueueFull(path.iface)) return fail('ENOBUFS');

    const length = headerLength + transportLength;
    const whole = length <= mtu || offloaded;
    // A datagram that goes to the link whole, with no tracer to show it to, may be built in the
    // link's own reused memory (Link.frameMemory: a 64 KiB TSO segment then costs no allocation
    // and no garbage); a fragmented one is copied into fragments, so its frame stays ours.
    const frame = (whole && !this.tracer ? path.iface.link.frameMemory?.(length) : null) ?? this.frames.allocate(length);
    write(frame.subarray(headerLength), source, offloaded);
    const dontFragment = spec.dontFragment ?? false;
    // Atomic (RFC 6864 §4.1): DF set and not fragmented here. A TSO datagram the link cuts is
    // DF too (TCP always sets it), so its segments are atomic as well.
    const atomic = dontFragment && whole;
    const header: Ipv4Repr = {
      dscp: spec.dscp ?? 0,
      ecn: spec.ecn ?? 0,
      identification: this.identification.select(source, destination, spec.protocol, atomic),
      reservedFlag: false,
      dontFragment,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: spec.ttl ?? this.config.defaultTtl,
      protocol: spec.protocol,
      source,
      destination,
      options,
      payloadLength: transportLength,
    };
    const broadcast = destination === IPV4_BROADCAST || destination === subnetBroadcast(path.iface.address);
    // Linux loops every broadcast, and a multicast to a joined group, back to this host.
    const loop = !path.iface.loopback && (broadcast || (multicast && spec.multicastLoop !== false && this.isMember(destination)));
    if (whole || loop) emitIpv4(header, frame);
    if (loop) this.looped.add(path.iface, frame);
    if (whole) {
      this.traceDown(path.iface, frame, now);
      this.enqueue(path.iface, frame, offloaded ? segmentSize : 0);
    } else {
      this.stats.increment('ipv4.tx.fragmented');
      for (const fragment of fragmentDatagram(header, frame.subarray(headerLength), mtu)) {
        this.stats.increment('ipv4.tx.fragments');
        this.traceDown(path.iface, fragment, now);
        this.enqueue(path.iface, fragment);
      }
    }
    return ok({ source });
  }

  /** Sends an already built IP packet unchanged (ICMP errors' helper, raw sockets with IP_HDRINCL). */
  sendPacket(packet: Uint8Array, now: number): Result<void, ErrnoCode> {
    const checked = Ipv4Packet.checked(packet);
    if (!checked.ok) return fail('EINVAL');
    const path = this.routeTo(checked.value.destination);
    if (!path) return fail('ENETUNREACH');
    if (packet.length > routeMtu(path.route, path.iface)) return fail('EMSGSIZE');
    if (this.transmitQueueFull(path.iface)) return fail('ENOBUFS');
    this.traceDown(path.iface, packet, now);
    this.enqueue(path.iface, packet);
    return ok(undefined);
  }

  /**
   * Takes in our own looped-back broadcasts and multicasts, expires path MTUs, and runs the
   * reassembly timer (reporting expired datagrams whose first fragment arrived).
   */
  poll(now: number): void {
    // Our own broadcasts and multicasts come back in as if received on their interface.
    // (Every step of a driver polls: the checks first, so that an idle poll allocates nothing.)
    if (this.looped.waiting) this.looped.takeIn((iface, frame) => this.input(iface, frame, now));
    this.pathMtus.expire(now);
    if (this.reassembler.pollAt() > now) return;
    for (const expired of this.reassembler.expire(now)) {
      this.stats.increment('drop.ipv4.reassemblyTimeout');
      // RFC 792 / RFC 1122 §3.3.2: Time Exceeded code 1 only if fragment zero was received.
      if (expired.firstFrame) this.upper?.icmpErrors.timeExceeded(expired.firstFrame, 1, now);
    }
  }

  /** The next time `poll` has work, or Infinity. */
  pollAt(): number {
    return Math.min(this.reassembler.pollAt(), this.pathMtus.pollAt());
  }

  /**
   * Whether the transmit queue of `iface` (the frames waiting for its link) is at the link's
   * limit (Link.transmitQueueLimit, as a qdisc's): a datagram that finds it full is dropped
   * before it reaches the wire, and counted by the family that sent it (`counters`, IPv4's by
   * default). The whole datagram goes or none of it. The queue is the interface's, shared by
   * IPv4 and IPv6 as a qdisc is shared by both families, so the IPv6 layer asks here.
   */
  transmitQueueFull(iface: NetworkInterface, counters: QueueCounters = this.counters): boolean {
    const limit = iface.link.transmitQueueLimit;
    if (limit === undefined || limit === Number.POSITIVE_INFINITY) return false;
    let queued = 0;
    for (const frame of this.outbox) if (frame.interfaceName === iface.name) queued++;
    if (queued < limit) return false;
    counters.transmitQueueFull();
    return true;
  }

  /**
   * Queues a frame for `iface`'s link, counted as sent by its family (`counters`, IPv4's by
   * default): one outbox for both families, so the stack flushes them in the order they were
   * sent. The caller checked transmitQueueFull.
   */
  enqueue(iface: NetworkInterface, frame: Uint8Array, segmentSize = 0, counters: QueueCounters = this.counters): void {
    counters.sent.increment();
    this.outbox.push({ interfaceName: iface.name, frame, segmentSize });
    this.onOutput();
  }

  private traceDown(iface: NetworkInterface, frame: Uint8Array, now: number): void {
    if (!this.tracer) return;
    const packet = Ipv4Packet.unchecked(frame);
    this.tracer({
      direction: 'down',
      layer: 'ipv4',
      time: now,
      where: iface.name,
      summary: `IPv4 ${formatIpv4Address(packet.source)} → ${formatIpv4Address(packet.destination)} proto ${packet.protocol}: added ${packet.headerLength}-byte header, checksum 0x${packet.checksum.toString(16).padStart(4, '0')} over the header`,
      fields: ipv4TraceFields(packet),
      header: packet.header,
      payloadLength: packet.totalLength - packet.headerLength,
      packet: frame,
    });
  }
}

/** Linux's min_pmtu: 552 bytes; a forged fragmentation-needed cannot push us below it (RFC 1191 leaves the floor to the host). */
const PATH_MTU_FLOOR = 552;

/**
 * A copy of `packet` (a whole, unfragmented datagram) whose TCP or UDP checksum is computed in
 * full: a packet the device vouched for may carry only a partial one, which must not leave the
 * host (Linux's skb_checksum_help before a device without offload).
 */
function withTransportChecksum(packet: Uint8Array, header: Ipv4Repr): Uint8Array {
  const at = header.protocol === IpProtocol.TCP ? 16 : header.protocol === IpProtocol.UDP ? 6 : -1;
  const start = ipv4HeaderLength(header);
  if (at < 0 || header.moreFragments || header.fragmentOffset !== 0 || packet.length < start + at + 2) return packet;
  const copy = packet.slice();
  copy[start + at] = 0;
  copy[start + at + 1] = 0;
  let checksum = internetChecksum(copy, pseudoHeaderSum(header.source, header.destination, header.protocol, copy.length - start), start);
  if (checksum === 0 && header.protocol === IpProtocol.UDP) checksum = 0xffff; // UDP's zero means "none" (RFC 768)
  copy[start + at] = checksum >> 8;
  copy[start + at + 1] = checksum & 0xff;
  return copy;
}
