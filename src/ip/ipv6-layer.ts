/**
 * The IPv6 layer (RFC 8200), beside IPv4's on the same interfaces: this host's IPv6 addresses
 * (link-local ones included, RFC 4291 §2.5.6), the IPv6 routes, the extension-header chain
 * processed in order (§4, with the codec of ipv6-extension-headers.ts), reassembly (§4.5,
 * ipv6-fragments.ts) and fragmentation at the source, path MTUs from Packet Too Big (RFC 8201),
 * delivery by upper-layer protocol, and, when forwarding, the Hop Limit (§3). Frames go into
 * the IPv4 layer's outbox: one transmit queue per interface for both families.
 *
 * Transports name IPv6 addresses by their RFC 5952 text (`ip-address.ts`); this layer works on
 * the 16 bytes.
 */
import { fail, ok, type Result } from '../core/result.js';
import type { Rng } from '../core/rng.js';
import type { Stats } from '../core/stats.js';
import type { Tracer } from '../core/trace.js';
import type { ReassemblyConfig } from './reassembly.js';
import type { NetworkInterface } from './interface.js';
import type { IpLayer, IpSendError } from './ip-layer.js';
import {
  formatIpv6Address,
  formatIpv6Cidr,
  IPV6_ALL_NODES,
  IPV6_LOOPBACK,
  ipv6AddressScope,
  ipv6CommonPrefixLength,
  ipv6Equal,
  ipv6FromGroups,
  ipv6WithInterfaceId,
  isIpv4MappedAddress,
  isIpv6Multicast,
  isLinkLocalUnicast,
  isLoopbackAddress,
  isUnspecifiedAddress,
  parseIpv6Address,
  solicitedNodeAddress,
  type Ipv6Address,
  type Ipv6Cidr,
} from './ipv6-address.js';
import type { Ipv6CounterName } from './ipv6-counters.js';
import type { Icmpv6RawSockets } from './icmpv6-raw.js';
import { SlabAllocator } from '../core/slab-allocator.js';
import { LoopedFrames } from './looped-frames.js';
import { MldHost } from './mld-host.js';
import type { NdpCounterName } from './ndp-counters.js';
import { DEFAULT_NEIGHBOR_DISCOVERY_CONFIG, NeighborDiscovery, type NeighborDiscoveryConfig } from './neighbor-discovery.js';
import { parseIpv6ExtensionHeaders } from './ipv6-extension-headers.js';
import { Ipv6FlowLabels } from './ipv6-flow-label.js';
import { fragmentIpv6Packet, ipv6ReassemblyConfig, Ipv6Reassembler } from './ipv6-fragments.js';
import { Ipv6RouteTable, type Ipv6Route } from './ipv6-routes.js';
import { PacketCounters } from './packet-counters.js';
import { PathMtuCache, PATH_MTU_ENTRIES_MAX, PATH_MTU_LIFETIME_MS } from './path-mtu.js';
import { routeMtu } from './prefix-routes.js';
import { emitIpv6, IPV6_HEADER_LENGTH, IPV6_MAX_PAYLOAD_LENGTH, IPV6_MINIMUM_MTU, Ipv6NextHeader, Ipv6Packet, parseIpv6, type Ipv6Repr } from './ipv6.js';

/** A packet delivered to an upper-layer protocol. */
export interface IncomingIpv6Datagram {
  /** The fixed header (of the reassembled packet, for a fragmented one). */
  readonly header: Ipv6Repr;
  /** The upper-layer protocol: the Next Header at the end of the chain. */
  readonly upperLayer: number;
  /** The upper-layer bytes, after every extension header. */
  readonly payload: Uint8Array;
  /** The packet as received, for ICMPv6 quoting; for a reassembled one the start of the first fragment. */
  readonly packet: Uint8Array;
  /** The interface it arrived on. */
  readonly interfaceName: string;
  /** How it was addressed to us. */
  readonly destinationKind: 'unicast' | 'multicast';
  /** The device vouched for the upper-layer checksum (see FrameReceiver). */
  readonly checksumTrusted: boolean;
}

/** An upper-layer protocol over IPv6 (ICMPv6, UDP, TCP). */
export interface Ipv6ProtocolHandler {
  /** A packet for this protocol arrived. */
  inputIpv6(datagram: IncomingIpv6Datagram, now: number): void;
}

/** The ICMPv6 errors IPv6's own checks call for (RFC 4443 §3); each takes the invoking packet. */
export interface Icmpv6ErrorSender {
  /** Parameter Problem (§3.4): `code`, and `pointer`, the culprit's offset in the packet. */
  parameterProblem(packet: Uint8Array, code: number, pointer: number, now: number): void;
  /** Time Exceeded (§3.3): code 0 hop limit, 1 reassembly. */
  timeExceeded(packet: Uint8Array, code: number, now: number): void;
  /** Packet Too Big (§3.2) with the next link's MTU. */
  packetTooBig(packet: Uint8Array, mtu: number, now: number): void;
  /** Destination Unreachable (§3.1) with its code. */
  destinationUnreachable(packet: Uint8Array, code: number, now: number): void;
}

/** What to put in the IPv6 header of an outgoing packet. */
export interface Ipv6DatagramSpec {
  /** Source address; omitted or `::` picks one (RFC 6724 §5, the common cases). */
  readonly source?: Ipv6Address;
  /** Destination address. */
  readonly destination: Ipv6Address;
  /** The upper-layer protocol. */
  readonly nextHeader: number;
  /** Hop Limit; the layer's default when absent. */
  readonly hopLimit?: number;
  /** Traffic Class: DSCP << 2 | ECN (IPV6_TCLASS). */
  readonly trafficClass?: number;
  /**
   * Flow Label (RFC 6437). Absent: TCP and UDP packets get their flow's automatic label, a keyed
   * hash of addresses, protocol and ports (§3, as Linux's auto_flowlabels), anything else 0
   * (Linux sends Neighbor Discovery and MLD with 0; ICMPv6 is left at 0 here too).
   */
  readonly flowLabel?: number;
  /** Whether a multicast to a group this host joined comes back to it too (IPV6_MULTICAST_LOOP; default yes). */
  readonly multicastLoop?: boolean;
  /** Refuse with EMSGSIZE rather than fragment (IPV6_DONTFRAG; TCP never needs fragments). */
  readonly dontFragment?: boolean;
  /** Leave by this interface (a link-local destination's zone, IPV6_MULTICAST_IF, SO_BINDTODEVICE). */
  readonly interfaceName?: string;
  /** TCP segmentation offload: the link cuts the segment into pieces of this many data bytes. */
  readonly segmentSize?: number;
}

/** The IPv6 layer's settings. */
export interface Ipv6Config {
  /** Hop Limit of packets we originate (Linux: 64); a router's RA may set another on its link (RFC 4861 §6.3.4). */
  readonly defaultHopLimit: number;
  /** Forward packets not addressed to us (a router, RFC 8200 §3: Hop Limit decremented). */
  readonly forwarding: boolean;
  /** Neighbor Discovery, DAD and SLAAC on interfaces with link-layer addresses (TAP, Ethernet wires). */
  readonly neighborDiscovery: NeighborDiscoveryConfig;
  /**
   * RFC 7217's secret_key (16 bytes or more) for stable interface identifiers; keep it to keep
   * the addresses across restarts. Absent: drawn from the stack's seeded Rng (stable per seed).
   */
  readonly stableSecret?: Uint8Array;
}

/** Defaults for Ipv6Config. */
export const DEFAULT_IPV6_CONFIG: Ipv6Config = { defaultHopLimit: 64, forwarding: false, neighborDiscovery: DEFAULT_NEIGHBOR_DISCOVERY_CONFIG };

/**
 * An address's state (RFC 4862 §2): tentative while DAD runs (never a source, packets to it
 * dropped), preferred, deprecated (past its preferred lifetime: kept, not chosen for new
 * communication), duplicate (DAD failed, §5.4.5: not used).
 */
export type Ipv6AddressState = 'tentative' | 'preferred' | 'deprecated' | 'duplicate';

/** An address of this host on an interface. */
export interface Ipv6InterfaceAddress {
  /** The interface it is on. */
  readonly interfaceName: string;
  /** The address and its prefix length (`fd00:7::2/64`). */
  readonly cidr: Ipv6Cidr;
  /** Its state: only preferred and deprecated addresses are used. */
  readonly state: Ipv6AddressState;
}

/** `fe80::/64`, where every interface's link-local address lives (RFC 4291 §2.5.6). */
const LINK_LOCAL_PREFIX: Ipv6Cidr = { address: ipv6FromGroups([0xfe80, 0, 0, 0, 0, 0, 0, 0]), prefixLength: 64 };
/** `ff00::/8`: multicast leaves by the interface the route names, as Linux's `multicast ff00::/8 dev …`. */
const MULTICAST_PREFIX: Ipv6Cidr = { address: ipv6FromGroups([0xff00, 0, 0, 0, 0, 0, 0, 0]), prefixLength: 8 };

/** The IPv6 layer of one stack. */
export class Ipv6Layer {
  /** The IPv6 routes. */
  readonly routes = new Ipv6RouteTable();
  /** Partial packets, from the host's reassembly budget (shared with IPv4). */
  readonly reassembler: Ipv6Reassembler;
  private addressList: Array<{ readonly interfaceName: string; readonly cidr: Ipv6Cidr; state: Ipv6AddressState }> = [];
  /** Neighbor Discovery and the MLD host of each interface with link-layer addresses. */
  private readonly neighborLinks = new Map<string, { readonly nd: NeighborDiscovery; readonly mld: MldHost; multicastMacs: Set<number> }>();
  private secret: Uint8Array | null = null;
  private readonly protocols = new Map<number, Ipv6ProtocolHandler>();
  /** Groups joined (besides all-nodes and the solicited-node groups of our addresses), with join counts. */
  private readonly groups = new Map<string, number>();
  /**
   * Path MTUs learned from Packet Too Big (RFC 8201), by destination text; never below 1280 (RFC
   * 8201 §4: RFC 8200 §5 no longer lets a report ask for atomic fragments, RFC 8021).
   */
  private readonly pathMtus = new PathMtuCache<string>({ floor: IPV6_MINIMUM_MTU, lifetimeMs: PATH_MTU_LIFETIME_MS, entriesMax: PATH_MTU_ENTRIES_MAX });
  /** Copies of our own multicasts to joined groups, to come in at the next poll. */
  private readonly looped = new LoopedFrames();
  private errors: Icmpv6ErrorSender | null = null;
  /** Where outgoing packets come from (see IpLayer's). */
  private readonly frames = new SlabAllocator();
  /** Gets a trace event per packet in and out when set. */
  tracer: Tracer | null = null;
  private readonly counters: PacketCounters<'ipv6'>;

  constructor(
    readonly config: Ipv6Config,
    private readonly stats: Stats<Ipv6CounterName | NdpCounterName>,
    private readonly rng: Rng,
    /** The interfaces, their transmit queues and the outbox are IPv4's layer's: both families share them. */
    private readonly ipv4: IpLayer,
    reassembly: ReassemblyConfig,
  ) {
    this.reassembler = new Ipv6Reassembler(ipv6ReassemblyConfig(reassembly), ipv4.reassemblyMemory);
    this.flowLabels = new Ipv6FlowLabels(rng);
    this.counters = new PacketCounters(stats, 'ipv6');
  }

  /** Hands over the ICMPv6 layer, once, when the stack has built it. */
  connectErrorSender(errors: Icmpv6ErrorSender): void {
    if (this.errors) throw new Error('connectErrorSender: IPv6 already has its ICMPv6 layer');
    this.errors = errors;
  }

  /** The raw sockets (the ICMPv6 layer's), for copies of packets of other upper layers. */
  private rawSockets: Icmpv6RawSockets | null = null;

  /** Hands over the raw sockets, once, when the ICMPv6 layer is built. */
  attachRawSockets(sockets: Icmpv6RawSockets): void {
    this.rawSockets = sockets;
    sockets.onChecksumDrop = () => this.stats.increment('drop.ipv6.rawChecksum');
  }

  /** Registers the handler for an upper-layer protocol. */
  registerProtocol(nextHeader: number, handler: Ipv6ProtocolHandler): void {
    this.protocols.set(nextHeader, handler);
  }

  // ---- addresses ---------------------------------------------------------------------------

  /**
   * Enables IPv6 on an interface the stack just added: the loopback gets ::1/128 (RFC 4291
   * §2.5.3); any other interface whose MTU carries IPv6 (at least 1280, RFC 8200 §5) gets a
   * link-local address and the multicast route. On a link with link-layer addresses (Ethernet:
   * `link.neighborLink`) Neighbor Discovery and MLD start there, and the link-local address is
   * RFC 7217's, tentative until DAD ends (RFC 4862 §5.3, §5.4); on a bare-IP link (TUN), where
   * there is nothing to resolve or detect, it has a random identifier drawn from the stack's
   * seeded Rng (stable for a seed).
   */
  enableInterface(iface: NetworkInterface, now = 0): void {
    if (iface.loopback) {
      this.addAddress(iface.name, { address: IPV6_LOOPBACK, prefixLength: 128 });
      return;
    }
    if (iface.mtu < IPV6_MINIMUM_MTU) return;
    const neighborLink = iface.link.neighborLink;
    if (neighborLink) {
      const nd = new NeighborDiscovery(iface.name, neighborLink, this, this.stats, this.rng, this.config.neighborDiscovery);
      const mld = new MldHost(
        { linkLocalSource: () => this.preferredLinkLocal(iface.name), sendPacket: (packet, at) => void this.sendPacket(packet, at, iface.name) },
        this.stats,
        this.rng,
      );
      this.neighborLinks.set(iface.name, { nd, mld, multicastMacs: new Set([IPV6_ALL_NODES_MAC_KEY]) });
      this.routes.add({ destination: MULTICAST_PREFIX, interfaceName: iface.name, metric: 256 });
      nd.routers.start(now);
      return;
    }
    const identifier = new Uint8Array(8);
    for (let i = 0; i < 8; i += 4) {
      const word = this.rng.nextU32();
      identifier.set([word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff], i);
    }
    identifier[0] &= ~0x02; // the universal/local bit says "local" (RFC 4291 Appendix A)
    this.addAddress(iface.name, { address: ipv6WithInterfaceId(LINK_LOCAL_PREFIX.address, identifier), prefixLength: 64 });
    this.routes.add({ destination: MULTICAST_PREFIX, interfaceName: iface.name, metric: 256 });
  }

  /**
   * Adds an address to an interface (`ip -6 addr add fd00:7::2/64 dev tun0`) and, unless it is
   * a /128 or the loopback, the on-link route for its prefix. Throws when the interface is
   * unknown, has an MTU below 1280, or the address cannot be a unicast one of ours. On an
   * interface with Neighbor Discovery the address is tentative until DAD ends (RFC 4862 §5.4);
   * `dadCounter` is RFC 7217's for an address made from a stable identifier.
   */
  addAddress(interfaceName: string, cidr: Ipv6Cidr, now = 0, dadCounter: number | null = null): void {
    const iface = this.ipv4.getInterface(interfaceName);
    if (!iface) throw new Error(`addAddress: no interface ${interfaceName}`);
    if (!iface.loopback && iface.mtu < IPV6_MINIMUM_MTU) throw new Error(`addAddress: ${interfaceName}'s MTU ${iface.mtu} is below IPv6's 1280 (RFC 8200 §5)`);
    const address = cidr.address;
    if (isIpv6Multicast(address) || isUnspecifiedAddress(address) || isIpv4MappedAddress(address)) {
      throw new Error(`addAddress: ${formatIpv6Cidr(cidr)} cannot be an interface address`);
    }
    if (this.addressList.some((a) => ipv6Equal(a.cidr.address, address))) return;
    const neighbors = this.neighborLinks.get(interfaceName);
    this.addressList = [
      ...this.addressList,
      { interfaceName, cidr: { address: address.slice(), prefixLength: cidr.prefixLength }, state: neighbors ? 'tentative' : 'preferred' },
    ];
    if (
      !iface.loopback &&
      cidr.prefixLength < 128 &&
      !this.routes
        .list()
        .some((r) => r.interfaceName === interfaceName && r.destination.prefixLength === cidr.prefixLength && ipv6CidrCovers(r.destination, cidr))
    ) {
      this.routes.add({ destination: cidr, interfaceName, metric: 256 });
    }
    if (neighbors) {
      // RFC 4862 §5.4.2: the solicited-node group is joined (and reported) before DAD's solicitation.
      this.refreshGroups(now);
      neighbors.nd.startDad(address, dadCounter, now);
    }
  }

  /** Removes one of our addresses (its valid lifetime ended, or DAD found it in use and another is made). */
  removeAddress(interfaceName: string, address: Ipv6Address, now = 0): void {
    const before = this.addressList.length;
    this.addressList = this.addressList.filter((a) => !(a.interfaceName === interfaceName && ipv6Equal(a.cidr.address, address)));
    if (this.addressList.length === before) return;
    this.neighborLinks.get(interfaceName)?.nd.stopDad(address);
    this.refreshGroups(now);
  }

  /** Moves an address to `state` (DAD's end, a lifetime's, a duplicate found). */
  setAddressState(interfaceName: string, address: Ipv6Address, state: Ipv6AddressState, now: number): void {
    const entry = this.addressList.find((a) => a.interfaceName === interfaceName && ipv6Equal(a.cidr.address, address));
    if (!entry || entry.state === state) return;
    entry.state = state;
    if (state === 'preferred') this.neighborLinks.get(interfaceName)?.nd.routers.addressReady(address, now);
    if (state === 'duplicate') this.refreshGroups(now);
  }

  /** Our entry for `address` in any state (on `interfaceName` when given). */
  addressEntry(address: Ipv6Address, interfaceName?: string): Ipv6InterfaceAddress | undefined {
    return this.addressList.find((a) => ipv6Equal(a.cidr.address, address) && (interfaceName === undefined || a.interfaceName === interfaceName));
  }

  /** The interface's link-local address once DAD has passed it, or null. */
  preferredLinkLocal(interfaceName: string): Ipv6Address | null {
    const entry = this.addressList.find((a) => a.interfaceName === interfaceName && isLinkLocalUnicast(a.cidr.address) && usable(a.state));
    return entry ? entry.cidr.address : null;
  }

  /** The interface named so, or undefined. */
  interfaceOf(name: string): NetworkInterface | undefined {
    return this.ipv4.getInterface(name) ?? undefined;
  }

  /** Neighbor Discovery on an interface with link-layer addresses, or undefined. */
  neighborDiscovery(interfaceName: string): NeighborDiscovery | undefined {
    return this.neighborLinks.get(interfaceName)?.nd;
  }

  /** The MLD host of an interface with link-layer addresses, or undefined. */
  mldHost(interfaceName: string): MldHost | undefined {
    return this.neighborLinks.get(interfaceName)?.mld;
  }

  /** RFC 7217's secret key: the configured one, else drawn once from the seeded Rng. */
  stableSecret(): Uint8Array {
    this.secret ??= this.config.stableSecret ?? this.rng.bytes(16);
    return this.secret;
  }

  /** Sends Destination Unreachable `code` about a packet we could not deliver (RFC 4861 §7.2.2: code 3). */
  reportUnreachable(packet: Uint8Array, code: number, now: number): void {
    this.errors?.destinationUnreachable(packet, code, now);
  }

  /** Tells each MLD host the groups its interface listens to now (RFC 3810 §6.1). */
  private refreshGroups(now: number): void {
    for (const [name, link] of this.neighborLinks) {
      const groups: Ipv6Address[] = [];
      for (const entry of this.addressList)
        if (entry.interfaceName === name && entry.state !== 'duplicate') groups.push(solicitedNodeAddress(entry.cidr.address));
      // Groups sockets join are the host's; they are listened to on the interface multicast leaves by.
      for (const key of this.groups.keys()) {
        const group = parseIpv6AddressStrict(key);
        if (this.routes.lookup(group)?.interfaceName === name) groups.push(group);
      }
      // The link-layer filter (RFC 2464 §7: 33:33 + the low 32 bits): all-nodes and these groups.
      link.multicastMacs = new Set([IPV6_ALL_NODES_MAC_KEY, ...groups.map(multicastMacKey)]);
      link.mld.update(groups, now);
    }
  }

  /** Whether interface `interfaceName` listens to a group mapped to the Ethernet address `mac` (33:33:…). */
  listensToMulticastMac(interfaceName: string, mac: Uint8Array): boolean {
    const link = this.neighborLinks.get(interfaceName);
    return link !== undefined && link.multicastMacs.has(((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0);
  }

  /** This host's IPv6 addresses (on one interface when named). */
  addresses(interfaceName?: string): readonly Ipv6InterfaceAddress[] {
    return interfaceName === undefined ? this.addressList : this.addressList.filter((a) => a.interfaceName === interfaceName);
  }

  /** True when `address` is one of this host's unicast addresses in use (not tentative or duplicate, RFC 4862 §5.4). */
  isLocalAddress(address: Ipv6Address): boolean {
    for (const entry of this.addressList) if (ipv6Equal(entry.cidr.address, address)) return usable(entry.state);
    return false;
  }

  // ---- multicast groups ----------------------------------------------------------------------

  /** Joins `group` for the host (IPV6_JOIN_GROUP), counted per join; the first join is reported (MLDv2). */
  joinGroup(group: Ipv6Address, now = 0): void {
    const key = formatIpv6Address(group);
    this.groups.set(key, (this.groups.get(key) ?? 0) + 1);
    if (this.groups.get(key) === 1) this.refreshGroups(now);
  }

  /** Undoes one joinGroup; the last leave is reported. */
  leaveGroup(group: Ipv6Address, now = 0): void {
    const key = formatIpv6Address(group);
    const count = this.groups.get(key) ?? 0;
    if (count > 1) this.groups.set(key, count - 1);
    else if (this.groups.delete(key)) this.refreshGroups(now);
  }

  /**
   * Whether this host listens to `group`: all-nodes (ff02::1, and ff01::1 on the host), the
   * solicited-node group of each of its addresses (RFC 4291 §2.7.1: a node must join them), and
   * the groups joined.
   */
  isMember(group: Ipv6Address): boolean {
    if (ipv6Equal(group, IPV6_ALL_NODES)) return true;
    if (group[1] === 0x01 && ipv6Equal(group.subarray(2), IPV6_ALL_NODES.subarray(2))) return true;
    for (const entry of this.addressList) {
      // ::1 lives on the loopback, which has no solicited-node group (RFC 4291 §2.7.1 is for interfaces with links).
      if (entry.state !== 'duplicate' && !isLoopbackAddress(entry.cidr.address) && ipv6Equal(solicitedNodeAddress(entry.cidr.address), group)) return true;
    }
    return this.groups.has(formatIpv6Address(group));
  }

  // ---- input ---------------------------------------------------------------------------------

  /** Processes one IPv6 packet received on `iface` (RFC 8200). Never throws on bad input. */
  input(iface: NetworkInterface, bytes: Uint8Array, now: number, checksumTrusted = false): void {
    const view = this.counters.arrived(Ipv6Packet.checked(bytes));
    if (view === null) return;
    const header = this.counters.decoded(parseIpv6(view));
    if (header === null) return;
    const packet = bytes.length === IPV6_HEADER_LENGTH + header.payloadLength ? bytes : bytes.subarray(0, IPV6_HEADER_LENGTH + header.payloadLength);
    // As Linux's ipv6_rcv: an IPv4-mapped source could pass for an IPv4 host (::ffff:127.0.0.1);
    // ::1 never comes from outside the host (RFC 4291 §2.5.3).
    if (isIpv4MappedAddress(header.source) || (isLoopbackAddress(header.source) && !iface.loopback)) {
      this.stats.increment('drop.ipv6.martianSource');
      return;
    }
    const destination = header.destination;
    const multicast = isIpv6Multicast(destination);
    // RFC 4291 §2.7: multicast scope 0 is reserved (silently dropped); interface-local scope
    // never comes from another node (RFC 4291 errata 3480); ::1 only on the loopback.
    if (
      (multicast && ((destination[1] & 0x0f) === 0 || ((destination[1] & 0x0f) === 1 && !iface.loopback))) ||
      (isLoopbackAddress(destination) && !iface.loopback)
    ) {
      this.stats.increment('drop.ipv6.martianDestination');
      return;
    }
    let destinationKind: 'unicast' | 'multicast';
    if (multicast) {
      if (!this.isMember(destination)) {
        this.stats.increment('drop.ipv6.multicastNotJoined');
        return;
      }
      destinationKind = 'multicast';
    } else if (this.isLocalAddress(destination)) {
      destinationKind = 'unicast';
    } else if (this.addressEntry(destination)) {
      // RFC 4862 §5.4: to a tentative (or duplicate) address only a Neighbor Solicitation for
      // it gets through, for DAD to see; everything else is silently discarded.
      if (!(header.nextHeader === Ipv6NextHeader.ICMPV6 && packet[IPV6_HEADER_LENGTH] === 135)) {
        this.stats.increment('drop.ndp.toTentative');
        return;
      }
      destinationKind = 'unicast';
    } else {
      this.forward(header, packet, now);
      return;
    }
    this.trace('up', iface, packet, header, now);
    this.process(iface, header, packet, packet, destinationKind, checksumTrusted, now);
  }

  /**
   * The extension headers in order, then delivery (RFC 8200 §4). `quote` is what an ICMPv6 error
   * about the packet quotes: the packet itself, or for a reassembled one its first fragment.
   */
  private process(
    iface: NetworkInterface,
    header: Ipv6Repr,
    packet: Uint8Array,
    quote: Uint8Array,
    destinationKind: 'unicast' | 'multicast',
    checksumTrusted: boolean,
    now: number,
  ): void {
    const chain = parseIpv6ExtensionHeaders(packet.subarray(IPV6_HEADER_LENGTH), header.nextHeader);
    if (!chain.ok) {
      this.counters.refused(chain.error.reason);
      const problem = chain.error.parameterProblem;
      // RFC 8200 §4.2: an option whose high bits are 11 is reported only to a unicast destination.
      if (problem && !(problem.unlessMulticast && destinationKind === 'multicast')) this.errors?.parameterProblem(packet, problem.code, problem.pointer, now);
      return;
    }
    const { fragment, entries } = chain.value;
    if (fragment !== undefined) {
      if (quote !== packet) {
        this.stats.increment('drop.ipv6.nestedFragment');
        return;
      }
      if (fragment.fragmentOffset !== 0 || fragment.moreFragments) {
        this.stats.increment('ipv6.rx.fragments');
        const index = entries.findIndex((entry) => entry.header.kind === 'fragment');
        const fragmentHeaderOffset = entries[index].offset;
        const key = `${formatIpv6Address(header.source)}>${formatIpv6Address(header.destination)}#${fragment.identification}`;
        const result = this.reassembler.insert(
          {
            key,
            packet,
            fragmentHeaderOffset,
            nextHeaderField: index === 0 ? 6 : entries[index - 1].offset,
            nextHeader: packet[fragmentHeaderOffset],
            offset: fragment.fragmentOffset,
            moreFragments: fragment.moreFragments,
          },
          now,
        );
        if (result.kind === 'dropped') this.counters.refused(result.reason);
        if (result.kind !== 'complete') return;
        this.stats.increment('ipv6.rx.reassembled');
        const whole = Ipv6Packet.checked(result.packet);
        const reparsed = whole.ok ? parseIpv6(whole.value) : whole;
        if (!reparsed.ok) return;
        // The checksum a device vouched for was the fragment's, not the packet's: verify it.
        this.process(iface, reparsed.value, result.packet, result.firstFragment, destinationKind, false, now);
        return;
      }
      // An atomic fragment (offset 0, M clear) is a whole packet: processed in isolation,
      // never mixed with other fragments of its Identification (RFC 6946 §4, RFC 8200 §4.5).
      this.stats.increment('ipv6.rx.atomicFragments');
    }
    const upperLayer = chain.value.upperLayer;
    if (upperLayer === Ipv6NextHeader.NO_NEXT_HEADER) {
      this.stats.increment('ipv6.rx.noNextHeader');
      return;
    }
    const handler = this.protocols.get(upperLayer);
    // Raw sockets of the protocol get a copy first (RFC 3542 §3; ICMPv6's come from its layer).
    const rawTook =
      upperLayer !== Ipv6NextHeader.ICMPV6 &&
      this.rawSockets !== null &&
      this.rawSockets.deliver(packet.subarray(chain.value.upperLayerOffset), header.source, header.destination, header.hopLimit, upperLayer);
    if (!handler && rawTook) {
      this.counters.delivered.increment();
      return;
    }
    if (!handler) {
      // RFC 8200 §4: an unrecognized Next Header is answered with Parameter Problem, code 1,
      // pointing at the field that names it.
      this.stats.increment('drop.ipv6.unknownNextHeader');
      this.errors?.parameterProblem(quote, 1, chain.value.upperLayerPointer, now);
      return;
    }
    this.counters.delivered.increment();
    handler.inputIpv6(
      {
        header,
        upperLayer,
        payload: packet.subarray(chain.value.upperLayerOffset),
        packet: quote,
        interfaceName: iface.name,
        destinationKind,
        checksumTrusted,
      },
      now,
    );
  }

  /** Forwards a packet not addressed to us (RFC 8200 §3, RFC 4443 §3), or drops it on a host. */
  private forward(header: Ipv6Repr, packet: Uint8Array, now: number): void {
    if (!this.config.forwarding) {
      this.stats.increment('drop.ipv6.notForUs');
      return;
    }
    // RFC 4291 §2.5.6: routers must not forward packets with link-local source or destination.
    if (isLinkLocalUnicast(header.source) || isLinkLocalUnicast(header.destination) || isUnspecifiedAddress(header.source)) {
      this.stats.increment('drop.ipv6.linkLocalNotForwarded');
      return;
    }
    if (header.hopLimit <= 1) {
      this.stats.increment('drop.ipv6.hopLimitExceeded');
      this.errors?.timeExceeded(packet, 0, now);
      return;
    }
    const path = this.routeTo(header.destination);
    if (!path) {
      this.stats.increment('drop.ipv6.noRoute');
      this.errors?.destinationUnreachable(packet, 0, now);
      return;
    }
    const mtu = routeMtu(path.route, path.iface);
    if (packet.length > mtu) {
      // RFC 8200 §5: routers never fragment; the source learns the MTU (RFC 8201 §4).
      this.stats.increment('drop.ipv6.packetTooBig');
      this.errors?.packetTooBig(packet, mtu, now);
      return;
    }
    if (this.ipv4.transmitQueueFull(path.iface, this.counters)) return;
    const copy = packet.slice();
    Ipv6Packet.unchecked(copy).hopLimit = header.hopLimit - 1;
    this.stats.increment('ipv6.forwarded');
    this.enqueue(path.iface, copy, 0);
  }

  // ---- output --------------------------------------------------------------------------------

  /**
   * The route and interface a packet to `destination` takes, or null. Our own addresses go by
   * the loopback; `interfaceName` limits the choice to one interface (a zone, IPV6_MULTICAST_IF).
   */
  routeTo(destination: Ipv6Address, interfaceName?: string): { readonly route: Ipv6Route; readonly iface: NetworkInterface } | null {
    if (this.isLocalAddress(destination)) {
      const loopback = this.ipv4.loopbackInterface();
      if (loopback) return { route: { destination: { address: destination, prefixLength: 128 }, interfaceName: loopback.name }, iface: loopback };
    }
    const route = this.routes.lookup(destination, interfaceName);
    const iface = route && this.ipv4.getInterface(route.interfaceName);
    return route && iface ? { route, iface } : null;
  }

  /**
   * The source address of a packet to `destination` (RFC 6724 §5, the common cases): the
   * destination itself when it is ours (rule 1); else among the outgoing interface's addresses
   * the smallest scope that reaches the destination's (rule 2: a link-local destination gets a
   * link-local source, a global one a global source), then the longest common prefix (rule 8).
   * Null with no route or no address.
   */
  sourceFor(destination: Ipv6Address, interfaceName?: string): Ipv6Address | null {
    const path = this.routeTo(destination, interfaceName);
    return path ? this.sourceOn(path.iface, destination) : null;
  }

  /**
   * Why sourceFor found no source for `destination`: no route (ENETUNREACH), or a route whose
   * interface has no usable address yet — none, or only tentative ones still in DAD — which
   * Linux's ipv6_dev_get_saddr answers with EADDRNOTAVAIL (connect: "Cannot assign requested address").
   */
  noSourceError(destination: Ipv6Address): 'ENETUNREACH' | 'EADDRNOTAVAIL' {
    return this.routeTo(destination) ? 'EADDRNOTAVAIL' : 'ENETUNREACH';
  }

  private sourceOn(iface: NetworkInterface, destination: Ipv6Address): Ipv6Address | null {
    if (this.isLocalAddress(destination)) return destination;
    const wanted = ipv6AddressScope(destination);
    let best: Ipv6Address | null = null;
    let bestScope = 0;
    let bestCommon = -1;
    let bestDeprecated = false;
    for (const entry of this.addressList) {
      // RFC 4862 §5.4: a tentative address is never a source; nor is a duplicate one.
      if (entry.interfaceName !== iface.name || !usable(entry.state)) continue;
      const candidate = entry.cidr.address;
      const scope = ipv6AddressScope(candidate);
      const common = ipv6CommonPrefixLength(candidate, destination);
      const deprecated = entry.state === 'deprecated';
      const better =
        best === null ||
        (scope >= wanted && (bestScope < wanted || scope < bestScope)) ||
        (scope < wanted && bestScope < wanted && scope > bestScope) ||
        // Rule 3: avoid deprecated addresses; then rule 8.
        (scope === bestScope && bestDeprecated && !deprecated) ||
        (scope === bestScope && deprecated === bestDeprecated && common > bestCommon);
      if (better) {
        best = candidate;
        bestScope = scope;
        bestCommon = common;
        bestDeprecated = deprecated;
      }
    }
    return best;
  }

  /** Path MTU toward `destination` (learned, route or interface MTU), or null with no route. */
  mtuTo(destination: Ipv6Address, interfaceName?: string): number | null {
    const path = this.routeTo(destination, interfaceName);
    return path ? this.pathMtu(path, destination) : null;
  }

  /** mtuTo for a path already found. */
  private pathMtu(path: { readonly route: Ipv6Route; readonly iface: NetworkInterface }, destination: Ipv6Address): number {
    const advertised = this.neighborLinks.get(path.iface.name)?.nd.routers.linkMtu ?? Infinity; // an RA's MTU option (RFC 4861 §6.3.4)
    const mtu = Math.min(routeMtu(path.route, path.iface), advertised, IPV6_HEADER_LENGTH + IPV6_MAX_PAYLOAD_LENGTH);
    // Learned MTUs are kept by the destination's text: none learned, none to write.
    const learned = this.pathMtus.size === 0 ? undefined : this.pathMtus.get(formatIpv6Address(destination));
    return learned !== undefined ? Math.min(mtu, learned) : mtu;
  }

  /** The route's advertised MSS toward `destination` (`ip -6 route … advmss`), or null. */
  routeAdvertisedMss(destination: Ipv6Address): number | null {
    return this.routeTo(destination)?.route.advertisedMss ?? null;
  }

  /**
   * Records a smaller path MTU toward `destination` from a Packet Too Big (RFC 8201 §4). A value
   * below 1280 is taken as 1280: RFC 8200 §5 no longer lets it ask for atomic fragments (RFC
   * 8021), and no link may be smaller. Kept 10 minutes (§5.3); at most 4096 destinations.
   */
  updatePathMtu(destination: Ipv6Address, mtu: number, now: number): void {
    if (this.pathMtus.lower(formatIpv6Address(destination), mtu, this.mtuTo(destination), now)) this.stats.increment('ipv6.pmtu.lowered');
  }

  /**
   * The automatic flow labels (RFC 6437 §3, ipv6-flow-label.ts): TCP connections and connected
   * UDP sockets keep theirs and pass it in `Ipv6DatagramSpec.flowLabel`.
   */
  readonly flowLabels: Ipv6FlowLabels;

  /**
   * The label of a TCP or UDP packet no connection labelled (a reset with no connection behind
   * it, an unconnected socket's datagram): its flow's, hashed per packet as Linux's
   * skb_get_hash_flowi6 does for packets without a socket hash. Ports are the first 4 bytes
   * after the header (the layer sends no extension headers before them); anything else gets 0.
   */
  private automaticFlowLabel(source: Ipv6Address, destination: Ipv6Address, nextHeader: number, frame: Uint8Array): number {
    if (nextHeader !== Ipv6NextHeader.TCP && nextHeader !== Ipv6NextHeader.UDP) return 0;
    const ports = IPV6_HEADER_LENGTH;
    return this.flowLabels.label(source, destination, nextHeader, (frame[ports] << 8) | frame[ports + 1], (frame[ports + 2] << 8) | frame[ports + 3]);
  }

  /**
   * Sends a packet whose upper-layer part is `transportLength` bytes, written by `write` into
   * the slice after the 40-byte header. Larger than the path MTU it goes in fragments (RFC 8200
   * §4.5) unless `spec.dontFragment` (then EMSGSIZE). Errors: ENETUNREACH (no route or no
   * source), EADDRNOTAVAIL-free: a given source is the caller's to check; EMSGSIZE (over 65535
   * bytes of payload); ENOBUFS (the interface's transmit queue is full).
   */
  send(
    spec: Ipv6DatagramSpec,
    transportLength: number,
    write: (out: Uint8Array, source: Ipv6Address, checksumOffloaded: boolean) => void,
    now: number,
  ): Result<{ readonly source: Ipv6Address }, IpSendError> {
    const path = this.routeTo(spec.destination, spec.interfaceName);
    if (!path) {
      this.stats.increment('ipv6.tx.noRoute');
      return fail('ENETUNREACH');
    }
    const source = spec.source && !isUnspecifiedAddress(spec.source) ? spec.source : this.sourceOn(path.iface, spec.destination);
    if (source === null) {
      this.stats.increment('ipv6.tx.noRoute');
      return fail('ENETUNREACH');
    }
    // ::1 must never leave the host (RFC 4291 §2.5.3); Linux says EINVAL as for 127/8.
    if (isLoopbackAddress(source) && !path.iface.loopback) return fail('EINVAL');
    if (transportLength > IPV6_MAX_PAYLOAD_LENGTH) return fail('EMSGSIZE');
    const mtu = this.pathMtu(path, spec.destination);
    const segmentSize = spec.segmentSize ?? 0;
    const total = IPV6_HEADER_LENGTH + transportLength;
    const offloaded = segmentSize > 0 && total <= (path.iface.link.tcpSegmentationMax ?? 0);
    const whole = total <= mtu || offloaded;
    if (!whole && spec.dontFragment) return fail('EMSGSIZE');
    if (this.ipv4.transmitQueueFull(path.iface, this.counters)) return fail('ENOBUFS');
    // As IPv4's send: a whole packet with no tracer to show it to may be built in the link's
    // reused memory, else in a slab; a fragmented one is copied into fragments.
    const frame = (whole && !this.tracer ? path.iface.link.frameMemory?.(total) : null) ?? this.frames.allocate(total);
    write(frame.subarray(IPV6_HEADER_LENGTH), source, offloaded);
    const trafficClass = spec.trafficClass ?? 0;
    const flowLabel = spec.flowLabel ?? this.automaticFlowLabel(source, spec.destination, spec.nextHeader, frame);
    const header: Ipv6Repr = {
      dscp: trafficClass >> 2,
      ecn: trafficClass & 0x03,
      flowLabel,
      payloadLength: transportLength,
      nextHeader: spec.nextHeader,
      hopLimit: spec.hopLimit ?? this.neighborLinks.get(path.iface.name)?.nd.routers.currentHopLimit ?? this.config.defaultHopLimit,
      source,
      destination: spec.destination,
    };
    emitIpv6(header, frame);
    if (isIpv6Multicast(spec.destination) && !path.iface.loopback && spec.multicastLoop !== false && this.isMember(spec.destination))
      this.looped.add(path.iface, frame);
    if (whole) {
      this.trace('down', path.iface, frame, header, now);
      this.enqueue(path.iface, frame, offloaded ? segmentSize : 0);
      return ok({ source });
    }
    // RFC 8200 §4.5, RFC 7739 §5.1: an Identification no off-path attacker can predict, drawn
    // from the seeded Rng.
    this.stats.increment('ipv6.tx.fragmented');
    const fragments = fragmentIpv6Packet(frame.subarray(0, IPV6_HEADER_LENGTH), 6, frame.subarray(IPV6_HEADER_LENGTH), mtu, this.rng.nextU32());
    for (const fragment of fragments) {
      this.stats.increment('ipv6.tx.fragments');
      this.trace('down', path.iface, fragment, { ...header, nextHeader: Ipv6NextHeader.FRAGMENT, payloadLength: fragment.length - IPV6_HEADER_LENGTH }, now);
      this.enqueue(path.iface, fragment, 0);
    }
    return ok({ source });
  }

  /** Sends an already built IPv6 packet unchanged (ICMPv6 errors and replies; NDP and MLD by `interfaceName`). */
  sendPacket(packet: Uint8Array, now: number, interfaceName?: string): Result<void, IpSendError> {
    const checked = Ipv6Packet.checked(packet);
    if (!checked.ok) return fail('EINVAL');
    const path = this.routeTo(checked.value.destination, interfaceName);
    if (!path) return fail('ENETUNREACH');
    if (packet.length > (this.mtuTo(checked.value.destination, interfaceName) ?? path.iface.mtu)) return fail('EMSGSIZE');
    if (this.ipv4.transmitQueueFull(path.iface, this.counters)) return fail('ENOBUFS');
    const parsed = parseIpv6(checked.value);
    if (parsed.ok) this.trace('down', path.iface, packet, parsed.value, now);
    this.enqueue(path.iface, packet, 0);
    return ok(undefined);
  }

  /**
   * Sends a whole packet a raw socket built under IPV6_HDRINCL, as given: routed towards
   * `destination` (the socket's sendto or connect address, which Linux routes by, not the
   * header's), never fragmented — EMSGSIZE over the interface's MTU, as Linux's
   * rawv6_send_hdrinc compares with the device's, not the path's, MTU. ENETUNREACH without a
   * route, ENOBUFS when the transmit queue is full.
   */
  sendHeaderIncluded(packet: Uint8Array, destination: Ipv6Address, now: number): Result<void, IpSendError> {
    const path = this.routeTo(destination);
    if (!path) {
      this.stats.increment('ipv6.tx.noRoute');
      return fail('ENETUNREACH');
    }
    if (packet.length > path.iface.mtu) return fail('EMSGSIZE');
    if (this.ipv4.transmitQueueFull(path.iface, this.counters)) return fail('ENOBUFS');
    const frame = packet.slice();
    const checked = Ipv6Packet.checked(frame);
    const parsed = checked.ok ? parseIpv6(checked.value) : checked;
    if (parsed.ok) this.trace('down', path.iface, frame, parsed.value, now);
    this.enqueue(path.iface, frame, 0);
    return ok(undefined);
  }

  /** Takes in our own looped multicasts, expires path MTUs, runs the 60-second reassembly timer and Neighbor Discovery's and MLD's. */
  poll(now: number): void {
    // Every step of a driver polls every stack, most of them with nothing here: the checks
    // first, so that such a poll makes no iterator and no array (IPv4's poll does the same).
    if (this.neighborLinks.size > 0) {
      for (const { nd, mld } of this.neighborLinks.values()) {
        nd.poll(now);
        mld.poll(now);
      }
    }
    if (this.looped.waiting) this.looped.takeIn((iface, frame) => this.input(iface, frame, now));
    this.pathMtus.expire(now);
    if (this.reassembler.pollAt() > now) return;
    for (const expired of this.reassembler.expire(now)) {
      this.stats.increment('drop.ipv6.reassemblyTimeout');
      // RFC 8200 §4.5: Time Exceeded, code 1, only when the first fragment arrived.
      if (expired.firstFragment) this.errors?.timeExceeded(expired.firstFragment, 1, now);
    }
  }

  /** True when looped-back packets wait for the next poll. */
  get hasOutput(): boolean {
    return this.looped.waiting;
  }

  /** The next time `poll` has work, or Infinity. */
  pollAt(): number {
    let next = Math.min(this.reassembler.pollAt(), this.pathMtus.pollAt());
    if (this.neighborLinks.size > 0) for (const { nd, mld } of this.neighborLinks.values()) next = Math.min(next, nd.pollAt(), mld.pollAt());
    return next;
  }

  private enqueue(iface: NetworkInterface, frame: Uint8Array, segmentSize: number): void {
    this.ipv4.enqueue(iface, frame, segmentSize, this.counters);
  }

  private trace(direction: 'up' | 'down', iface: NetworkInterface, packet: Uint8Array, header: Ipv6Repr, now: number): void {
    if (!this.tracer) return;
    this.tracer({
      direction,
      layer: 'ipv6',
      time: now,
      where: iface.name,
      summary: `IPv6 ${formatIpv6Address(header.source)} → ${formatIpv6Address(header.destination)} next header ${header.nextHeader}, hop limit ${header.hopLimit}, payload ${header.payloadLength} bytes`,
      fields: [
        ['traffic class', `0x${((header.dscp << 2) | header.ecn).toString(16).padStart(2, '0')}`],
        ['flow label', `0x${header.flowLabel.toString(16).padStart(5, '0')}`],
        ['payload length', String(header.payloadLength)],
        ['next header', String(header.nextHeader)],
        ['hop limit', String(header.hopLimit)],
        ['source', formatIpv6Address(header.source)],
        ['destination', formatIpv6Address(header.destination)],
      ],
      header: packet.subarray(0, IPV6_HEADER_LENGTH),
      payloadLength: header.payloadLength,
      packet: direction === 'down' ? packet : undefined,
    });
  }
}

/** A group's Ethernet multicast address (RFC 2464 §7) as a number: its low 32 bits. */
function multicastMacKey(group: Ipv6Address): number {
  return ((group[12] << 24) | (group[13] << 16) | (group[14] << 8) | group[15]) >>> 0;
}

/** ff02::1's. */
const IPV6_ALL_NODES_MAC_KEY = multicastMacKey(IPV6_ALL_NODES);

/** Whether an address in `state` may be used (RFC 4862 §5.4, §5.5.4). */
function usable(state: Ipv6AddressState): boolean {
  return state === 'preferred' || state === 'deprecated';
}

/** A group key (RFC 5952 text made by formatIpv6Address) back to bytes. */
function parseIpv6AddressStrict(text: string): Ipv6Address {
  const address = parseIpv6Address(text);
  if (!address) throw new Error(`not an IPv6 address: ${text}`);
  return address;
}

/** True when prefix `outer` holds all of `inner`. */
function ipv6CidrCovers(outer: Ipv6Cidr, inner: Ipv6Cidr): boolean {
  if (outer.prefixLength > inner.prefixLength) return false;
  return ipv6CommonPrefixLength(outer.address, inner.address) >= outer.prefixLength;
}
