/**
 * IPv4 and IPv6 over Ethernet: a Link decorator that turns an Ethernet link (a TAP device, an
 * Ethernet virtual wire) into the bare-IP link the stack's interfaces speak, resolving IPv4 next
 * hops with ARP (RFC 826; RFC 1122 §2.3.2). IPv6 (RFC 2464) asks the interface's Neighbor
 * Discovery, which lives with IPv6 (src/ip/neighbor-discovery.ts) and installs itself through
 * `neighborLink`; multicast goes to 33:33 + the group's low 32 bits (RFC 2464 §7).
 *
 *   stack ── IPv4 packet ──▶ EthernetAdapter ── Ethernet frame ──▶ inner link
 *                             │ next hop → ARP cache → destination MAC
 *                             │ miss: queue the packet, broadcast a request, retry, give up
 *   stack ◀── IPv4 packet ── EthernetAdapter ◀── Ethernet frame ── inner link
 *                               (ARP answered and learned here; frames for other MACs dropped)
 *
 * The adapter keeps the core I/O-free: retries and cache ageing are deadlines in `pollAt()`,
 * run by `poll(now)`, like every other timer of the stack. With a tracer (the stack's, handed
 * over by Link.setTracer) it reports each frame's Ethernet header (`eth`) and each ARP packet
 * (`arp`) as the stack's layers report theirs.
 */
import { bytesEqual } from '../core/bytes.js';
import type { TraceEvent, Tracer } from '../core/trace.js';
import { formatIpv4Address, isMulticast, subnetBroadcast, readIpv4Address, type Ipv4Address, type Ipv4Cidr } from '../ip/address.js';
import { ArpOperation, ArpPacket, ARP_PACKET_LENGTH, emitArp, parseArp } from './arp.js';
import {
  emitEthernet,
  EtherType,
  ETHERNET_HEADER_LENGTH,
  ETHERNET_MIN_FRAME_LENGTH,
  EthernetFrame,
  formatMac,
  isBroadcastMac,
  isMulticastMac,
  MAC_BROADCAST,
  type MacAddress,
} from './ethernet.js';
import type { FrameReceiver, Ipv6LinkResolver, Link, LinkMedium, NeighborLink } from './link.js';

/** Settings of an EthernetAdapter. */
export interface EthernetAdapterOptions {
  /** This interface's MAC address. */
  readonly mac: MacAddress;
  /** This interface's IPv4 address and prefix (ARP requests for it are answered). */
  readonly address: Ipv4Cidr;
  /** The next hop toward a destination: the route's gateway, or the destination when on-link. */
  readonly nextHop?: (destination: Ipv4Address) => Ipv4Address;
  /** How long a learned mapping is trusted before it is confirmed again (ms; Linux ~30 s). */
  readonly reachableMs?: number;
  /** Time between ARP requests for an unanswered address (ms; Linux retrans_time 1 s). */
  readonly retryMs?: number;
  /** Requests sent before giving up on an address (Linux mcast_solicit 3). */
  readonly attempts?: number;
  /** Packets held per unresolved address; more are dropped (Linux keeps ~100 KB). */
  readonly queueLimit?: number;
  /** Mappings the cache holds at most; the oldest learned goes first (Linux gc_thresh3: 1024). */
  readonly cacheLimit?: number;
}

/** Default of EthernetAdapterOptions.cacheLimit. */
export const ARP_CACHE_LIMIT = 1024;

/** What the adapter did, for tests and `ustack` status lines. */
export interface EthernetAdapterCounters {
  /** ARP requests broadcast, retries included. */
  arpRequestsSent: number;
  /** ARP replies sent to requests for our address. */
  arpRepliesSent: number;
  /** Mappings learned or refreshed from ARP packets. */
  arpLearned: number;
  /** Packets dropped because their next hop never answered (or its queue was full). */
  unresolvedDrops: number;
  /** Frames addressed to another station's MAC. */
  notForUs: number;
  /** Frames that were too short or carried an EtherType other than IPv4, IPv6 and ARP. */
  malformedOrUnknown: number;
  /** IPv6 packets dropped because no Neighbor Discovery serves the interface (IPv6 not enabled on it). */
  ipv6WithoutNeighborDiscovery: number;
  /** IPv6 multicast frames for groups this interface does not listen to, filtered as a NIC filters them (RFC 2464 §7). */
  multicastFiltered: number;
  /** ARP packets claiming our own IPv4 address from another MAC (an address conflict). */
  addressConflicts: number;
}

interface Neighbor {
  mac: MacAddress;
  confirmedAt: number;
}

interface Resolution {
  /** Packets waiting for the answer, with the segment size each was sent with (TSO; 0 if none). */
  readonly queue: Array<{ readonly packet: Uint8Array; readonly segmentSize: number }>;
  attempts: number;
  nextAt: number;
}

/** A random locally administered unicast MAC (02:xx:xx:xx:xx:xx) from `random` (0 ≤ x < 1). */
export function randomLocalMac(random: () => number = Math.random): MacAddress {
  const mac = new Uint8Array(6);
  for (let i = 0; i < 6; i++) mac[i] = Math.floor(random() * 256);
  mac[0] = (mac[0] & 0xfc) | 0x02; // locally administered, unicast (IEEE 802 §8.2)
  return mac;
}

/** RFC 1112 §6.4: an IPv4 multicast group's MAC is 01:00:5e plus its low 23 bits. */
function multicastMac(address: Ipv4Address): MacAddress {
  return new Uint8Array([0x01, 0x00, 0x5e, (address >>> 16) & 0x7f, (address >>> 8) & 0xff, address & 0xff]);
}

/** Carries IPv4 over an Ethernet link with ARP. */
export class EthernetAdapter implements Link {
  readonly medium: LinkMedium = 'ip';
  /** What the adapter has done so far; the fields only grow. */
  readonly counters: EthernetAdapterCounters = {
    arpRequestsSent: 0,
    arpRepliesSent: 0,
    arpLearned: 0,
    unresolvedDrops: 0,
    notForUs: 0,
    malformedOrUnknown: 0,
    addressConflicts: 0,
    ipv6WithoutNeighborDiscovery: 0,
    multicastFiltered: 0,
  };
  /** IPv6's seam: Neighbor Discovery asks for our MAC and sends through it (see Link.neighborLink). */
  readonly neighborLink: NeighborLink;
  private ipv6Resolver: Ipv6LinkResolver | null = null;
  private receiver: FrameReceiver | null = null;
  private tracer: Tracer | null = null;
  /** The interface's name in its stack, for trace events. */
  private traceWhere = '';
  private readonly neighbors = new Map<Ipv4Address, Neighbor>();
  private readonly resolving = new Map<Ipv4Address, Resolution>();
  private readonly reachableMs: number;
  private readonly retryMs: number;
  private readonly attempts: number;
  private readonly queueLimit: number;
  /** Most mappings held (see EthernetAdapterOptions.cacheLimit). */
  readonly cacheLimit: number;

  /** Wraps `inner`, an Ethernet link, as a bare-IP link with our MAC and address from `options`. */
  constructor(
    /** The Ethernet link the frames go out on and come in from. */
    readonly inner: Link,
    private readonly options: EthernetAdapterOptions,
  ) {
    if (inner.medium !== 'ethernet') throw new Error(`EthernetAdapter: ${inner.name} carries ${inner.medium} frames, not Ethernet`);
    this.reachableMs = options.reachableMs ?? 30_000;
    this.retryMs = options.retryMs ?? 1_000;
    this.attempts = options.attempts ?? 3;
    this.queueLimit = options.queueLimit ?? 64;
    this.cacheLimit = Math.max(1, options.cacheLimit ?? ARP_CACHE_LIMIT);
    inner.setReceiver((frame, now, checksumTrusted) => this.arrived(frame, now, checksumTrusted));
    this.neighborLink = {
      linkAddress: options.mac,
      setIpv6Resolver: (resolver) => {
        this.ipv6Resolver = resolver;
      },
      transmitIpv6To: (mac, packet, now, segmentSize) => this.send(mac, EtherType.IPV6, packet, now, segmentSize),
    };
  }

  get name(): string {
    return this.inner.name;
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  /** The inner link's segmentation offload, counted in IPv4 packets (without our header). */
  get tcpSegmentationMax(): number {
    const inner = this.inner.tcpSegmentationMax ?? 0;
    return inner > ETHERNET_HEADER_LENGTH ? inner - ETHERNET_HEADER_LENGTH : 0;
  }

  /** The MAC address this interface uses. */
  get mac(): MacAddress {
    return this.options.mac;
  }

  /** The MAC the cache holds for `address`, or null. */
  lookup(address: Ipv4Address): MacAddress | null {
    return this.neighbors.get(address)?.mac ?? null;
  }

  /** Mappings the cache holds now. */
  get cacheSize(): number {
    return this.neighbors.size;
  }

  setReceiver(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }

  /** Reports every frame from now on to `tracer` (null: stop) as happening on interface `where`; see Link.setTracer. */
  setTracer(tracer: Tracer | null, where: string): boolean {
    this.tracer = tracer;
    this.traceWhere = where;
    return true;
  }

  transmit(packet: Uint8Array, now: number, segmentSize = 0): void {
    if (packet.length >= 40 && packet[0] >> 4 === 6) {
      this.transmitIpv6(packet, now, segmentSize);
      return;
    }
    if (packet.length < 20 || packet[0] >> 4 !== 4) {
      this.counters.malformedOrUnknown++;
      return;
    }
    const destination = readIpv4Address(packet, 16);
    if (destination === 0xffffffff || destination === subnetBroadcast(this.options.address)) {
      this.send(MAC_BROADCAST, EtherType.IPV4, packet, now);
      return;
    }
    if (isMulticast(destination)) {
      this.send(multicastMac(destination), EtherType.IPV4, packet, now);
      return;
    }
    const hop = this.options.nextHop?.(destination) ?? destination;
    const neighbor = this.neighbors.get(hop);
    if (neighbor) {
      this.send(neighbor.mac, EtherType.IPV4, packet, now, segmentSize);
      // Old mapping: keep using it, but ask again (Linux's STALE → PROBE, simplified).
      if (now - neighbor.confirmedAt > this.reachableMs && !this.resolving.has(hop)) this.request(hop, now, null);
      return;
    }
    this.request(hop, now, { packet, segmentSize });
  }

  /** RFC 2464 §7: multicast to 33:33 + the group's last four bytes; unicast where Neighbor Discovery says (or later, when it knows). */
  private transmitIpv6(packet: Uint8Array, now: number, segmentSize: number): void {
    if (packet[24] === 0xff) {
      this.send(Uint8Array.of(0x33, 0x33, packet[36], packet[37], packet[38], packet[39]), EtherType.IPV6, packet, now, segmentSize);
      return;
    }
    if (!this.ipv6Resolver) {
      this.counters.ipv6WithoutNeighborDiscovery++;
      return;
    }
    const mac = this.ipv6Resolver.linkAddressFor(packet, now, segmentSize);
    if (mac) this.send(mac, EtherType.IPV6, packet, now, segmentSize);
  }

  pollAt(): number {
    let next = this.inner.pollAt();
    for (const resolution of this.resolving.values()) next = Math.min(next, resolution.nextAt);
    return next;
  }

  poll(now: number): void {
    this.inner.poll(now);
    for (const [address, resolution] of this.resolving) {
      if (resolution.nextAt > now) continue;
      if (resolution.attempts >= this.attempts) {
        // RFC 1122 §2.3.2.2: give up; what waited is lost (the sender's own timers recover).
        this.resolving.delete(address);
        this.neighbors.delete(address);
        this.counters.unresolvedDrops += resolution.queue.length;
        continue;
      }
      this.sendRequest(address, now);
      resolution.attempts++;
      resolution.nextAt = now + this.retryMs;
    }
  }

  /** Starts (or joins) resolving `address`, holding `waiting` until it is answered. */
  private request(address: Ipv4Address, now: number, waiting: { readonly packet: Uint8Array; readonly segmentSize: number } | null): void {
    let resolution = this.resolving.get(address);
    const first = !resolution;
    if (!resolution) {
      resolution = { queue: [], attempts: 1, nextAt: now + this.retryMs };
      this.resolving.set(address, resolution);
    }
    if (waiting !== null) {
      if (resolution.queue.length >= this.queueLimit) this.counters.unresolvedDrops++;
      else resolution.queue.push(waiting);
    }
    if (first) this.sendRequest(address, now);
  }

  private sendRequest(address: Ipv4Address, now: number): void {
    this.counters.arpRequestsSent++;
    const waiting = this.resolving.get(address)?.queue.length ?? 0;
    const note = waiting === 0 ? 'broadcast' : `broadcast; ${waiting === 1 ? 'one packet waits' : `${waiting} packets wait`} for the answer`;
    this.sendArp(ArpOperation.REQUEST, MAC_BROADCAST, new Uint8Array(6), address, now, note);
  }

  private sendArp(operation: number, to: MacAddress, targetMac: MacAddress, targetAddress: Ipv4Address, now: number, note: string): void {
    const packet = new Uint8Array(ARP_PACKET_LENGTH);
    emitArp(
      {
        operation,
        senderHardwareAddress: this.options.mac,
        senderProtocolAddress: this.options.address.address,
        targetHardwareAddress: targetMac,
        targetProtocolAddress: targetAddress,
      },
      packet,
    );
    if (this.tracer) this.tracer(arpTraceEvent('down', ArpPacket.unchecked(packet), now, this.traceWhere, note));
    this.send(to, EtherType.ARP, packet, now);
  }

  /** Frames `payload` for `to` and hands it to the inner link (padded to Ethernet's 60 bytes). */
  private send(to: MacAddress, etherType: number, payload: Uint8Array, now: number, segmentSize = 0): void {
    const frame = new Uint8Array(Math.max(ETHERNET_MIN_FRAME_LENGTH, ETHERNET_HEADER_LENGTH + payload.length));
    emitEthernet({ destination: to, source: this.options.mac, etherType, vlan: null }, frame);
    frame.set(payload, ETHERNET_HEADER_LENGTH);
    if (this.tracer) {
      const padding = frame.length - ETHERNET_HEADER_LENGTH - payload.length;
      const padded = padding > 0 ? `, then ${padding} bytes of padding to Ethernet's ${ETHERNET_MIN_FRAME_LENGTH}-byte minimum` : '';
      this.tracer(
        ethernetTraceEvent('down', EthernetFrame.unchecked(frame), now, this.traceWhere, `added ${ETHERNET_HEADER_LENGTH}-byte header${padded}`, {
          payloadLength: payload.length,
          packet: etherType === EtherType.IPV4 || etherType === EtherType.IPV6 ? payload : undefined,
        }),
      );
    }
    this.inner.transmit(frame, now, segmentSize);
  }

  private arrived(bytes: Uint8Array, now: number, checksumTrusted = false): void {
    const checked = EthernetFrame.checked(bytes);
    if (!checked.ok || checked.value.vlanTagged) {
      this.counters.malformedOrUnknown++;
      return;
    }
    const frame = checked.value;
    const destination = frame.destination;
    if (!bytesEqual(destination, this.options.mac) && !isBroadcastMac(destination) && !isMulticastMac(destination)) {
      this.counters.notForUs++;
      return;
    }
    // IPv6 multicast for a group nobody here listens to (another node's DAD, MLD reports to
    // routers): a NIC's multicast filter would never pass it up.
    if (
      frame.etherType === EtherType.IPV6 &&
      destination[0] === 0x33 &&
      destination[1] === 0x33 &&
      this.ipv6Resolver &&
      !this.ipv6Resolver.acceptsMulticast(destination)
    ) {
      this.counters.multicastFiltered++;
      return;
    }
    const ip = frame.etherType === EtherType.IPV4 || frame.etherType === EtherType.IPV6;
    const known = ip || frame.etherType === EtherType.ARP;
    if (this.tracer) {
      const action = known
        ? `removed ${ETHERNET_HEADER_LENGTH}-byte header, ${frame.payload.length} bytes to ${frame.etherType === EtherType.IPV4 ? 'IPv4' : frame.etherType === EtherType.IPV6 ? 'IPv6' : 'ARP'}`
        : 'no protocol here speaks this EtherType: dropped';
      this.tracer(ethernetTraceEvent('up', frame, now, this.traceWhere, action, { payloadLength: frame.payload.length }));
    }
    // The stack tells the families by the version nibble; an EtherType that disagrees with it is refused.
    if (ip && frame.payload.length > 0 && frame.payload[0] >> 4 === (frame.etherType === EtherType.IPV4 ? 4 : 6))
      this.receiver?.(frame.payload, now, checksumTrusted);
    else if (ip) this.counters.malformedOrUnknown++;
    else if (frame.etherType === EtherType.ARP) this.arp(frame.payload, now);
    else this.counters.malformedOrUnknown++;
  }

  /** RFC 826 "Packet Reception", for IPv4 over Ethernet. */
  private arp(bytes: Uint8Array, now: number): void {
    const checked = ArpPacket.checked(bytes);
    if (!checked.ok) {
      this.counters.malformedOrUnknown++;
      return;
    }
    const parsed = parseArp(checked.value);
    if (!parsed.ok) {
      this.counters.malformedOrUnknown++;
      return;
    }
    const arp = parsed.value;
    const ours = this.options.address.address;
    if (arp.senderProtocolAddress === ours) {
      const conflict = !bytesEqual(arp.senderHardwareAddress, this.options.mac);
      if (conflict) this.counters.addressConflicts++;
      if (this.tracer)
        this.tracer(arpTraceEvent('up', checked.value, now, this.traceWhere, conflict ? 'another station claims our address: counted' : 'our own'));
      return;
    }
    // Merge: update a mapping we hold (or are asking for); add one if the packet is for us.
    const known = this.neighbors.has(arp.senderProtocolAddress) || this.resolving.has(arp.senderProtocolAddress);
    const forUs = arp.targetProtocolAddress === ours;
    const learns = (known || forUs) && arp.senderProtocolAddress !== 0;
    const answers = forUs && arp.operation === ArpOperation.REQUEST;
    if (this.tracer) {
      const waiting = this.resolving.get(arp.senderProtocolAddress)?.queue.length ?? 0;
      const learned = `learned ${formatIpv4Address(arp.senderProtocolAddress)} is-at ${formatMac(arp.senderHardwareAddress)}`;
      const sends = waiting === 0 ? '' : `, sending the ${waiting === 1 ? 'packet' : `${waiting} packets`} that waited`;
      const action = learns ? `${learned}${sends}${answers ? ', replying' : ''}` : 'not about us: ignored';
      this.tracer(arpTraceEvent('up', checked.value, now, this.traceWhere, action));
    }
    if (learns) this.learn(arp.senderProtocolAddress, arp.senderHardwareAddress, now);
    if (answers) {
      this.counters.arpRepliesSent++;
      this.sendArp(
        ArpOperation.REPLY,
        arp.senderHardwareAddress,
        arp.senderHardwareAddress,
        arp.senderProtocolAddress,
        now,
        `to ${formatMac(arp.senderHardwareAddress)}`,
      );
    }
  }

  /** Records `address` at `mac` and sends what waited for it. */
  private learn(address: Ipv4Address, mac: MacAddress, now: number): void {
    this.counters.arpLearned++;
    // Every request for our address teaches its sender: without a bound, a stream of requests
    // from ever new addresses would grow the cache without end. Refreshed entries move to the
    // end of the Map's order, so the first one is the least recently learned.
    this.neighbors.delete(address);
    if (this.neighbors.size >= this.cacheLimit) this.neighbors.delete(this.neighbors.keys().next().value!);
    this.neighbors.set(address, { mac, confirmedAt: now });
    const resolution = this.resolving.get(address);
    if (!resolution) return;
    this.resolving.delete(address);
    for (const { packet, segmentSize } of resolution.queue) this.send(mac, EtherType.IPV4, packet, now, segmentSize);
  }
}

/** EtherType names as tcpdump -e and tshark print them. */
function etherTypeName(etherType: number): string {
  const name = etherType === EtherType.IPV4 ? 'IPv4' : etherType === EtherType.ARP ? 'ARP' : etherType === EtherType.IPV6 ? 'IPv6' : 'unknown';
  return `${name} (0x${etherType.toString(16).padStart(4, '0')})`;
}

/** A trace event for an Ethernet header going `direction`, on the interface `where`. */
function ethernetTraceEvent(
  direction: 'down' | 'up',
  frame: EthernetFrame,
  now: number,
  where: string,
  action: string,
  carried: { readonly payloadLength: number; readonly packet?: Uint8Array },
): TraceEvent {
  const destination = formatMac(frame.destination) + (isBroadcastMac(frame.destination) ? ' (broadcast)' : '');
  return {
    direction,
    layer: 'eth',
    time: now,
    where,
    summary: `Ethernet ${formatMac(frame.source)} → ${destination}, type ${etherTypeName(frame.etherType)}, ${frame.bytes.length} bytes: ${action}`,
    fields: [
      ['destination', formatMac(frame.destination)],
      ['source', formatMac(frame.source)],
      ['type', etherTypeName(frame.etherType)],
    ],
    header: frame.bytes.subarray(0, frame.headerLength),
    payloadLength: carried.payloadLength,
    packet: carried.packet,
  };
}

/** A trace event for an ARP packet; its summary starts as tcpdump's line for it. */
function arpTraceEvent(direction: 'down' | 'up', packet: ArpPacket, now: number, where: string, action: string): TraceEvent {
  const sender = formatIpv4Address(packet.senderProtocolAddress);
  const target = formatIpv4Address(packet.targetProtocolAddress);
  const what =
    packet.operation === ArpOperation.REQUEST
      ? `Request who-has ${target} tell ${sender}`
      : packet.operation === ArpOperation.REPLY
        ? `Reply ${sender} is-at ${formatMac(packet.senderHardwareAddress)}`
        : `operation ${packet.operation} from ${sender} about ${target}`;
  const operation =
    packet.operation === ArpOperation.REQUEST ? 'request (1)' : packet.operation === ArpOperation.REPLY ? 'reply (2)' : String(packet.operation);
  return {
    direction,
    layer: 'arp',
    time: now,
    where,
    summary: `ARP, ${what}, length ${ARP_PACKET_LENGTH}: ${action}`,
    fields: [
      ['hardware type', `Ethernet (${packet.hardwareType})`],
      ['protocol type', etherTypeName(packet.protocolType)],
      ['hardware size', String(packet.hardwareLength)],
      ['protocol size', String(packet.protocolLength)],
      ['opcode', operation],
      ['sender MAC', formatMac(packet.senderHardwareAddress)],
      ['sender IP', sender],
      ['target MAC', formatMac(packet.targetHardwareAddress)],
      ['target IP', target],
    ],
    header: packet.bytes.subarray(0, ARP_PACKET_LENGTH),
    payloadLength: 0,
  };
}
