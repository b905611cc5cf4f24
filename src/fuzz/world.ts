/**
 * The fuzzer's world: stacks holding live sockets in every state, a scripted peer that put them
 * there by real segment exchanges, the bounds every cache and queue must stay within, and the
 * legitimate transfers that must still complete once the fuzzing stops.
 *
 * Two targets: a TUN-style stack fed bare IPv4 and IPv6 packets, and a TAP-style one behind an
 * EthernetAdapter (ARP cache, resolution queues) fed Ethernet frames. On TUN every kind of
 * socket state exists over IPv6 too (connections, listeners on `::`, UDP, partial packets), set
 * up by the same exchanges as over IPv4; the peer speaks the family of the connection it talks on. The peer reads the
 * connection's own sequence variables to aim its segments; it does not parse what the stack sends,
 * except during the final transfer, where it collects the data the stack sent.
 */
import { bytesEqual, concatBytes } from '../core/bytes.js';
import { parseIpv4Address, parseIpv4Cidr, type Ipv4Address } from '../ip/address.js';
import { Ipv4Packet } from '../ip/ipv4.js';
import { ipFamily, type IpAddress } from '../ip/ip-address.js';
import { formatIpv6Address, parseIpv6Address, type Ipv6Address } from '../ip/ipv6-address.js';
import { Ipv6NextHeader, Ipv6Packet } from '../ip/ipv6.js';
import { EthernetAdapter } from '../link/ethernet-adapter.js';
import { ArpOperation } from '../link/arp.js';
import { EthernetFrame, EtherType, MAC_BROADCAST, type MacAddress } from '../link/ethernet.js';
import type { FrameReceiver, Link, LinkMedium } from '../link/link.js';
import type { TraceEvent } from '../core/trace.js';
import { Stack } from '../socket-api/stack.js';
import type { TcpConnection, TcpState } from '../tcp/connection.js';
import { seqAdd, seqSub } from '../tcp/seq.js';
import type { TcpListener } from '../tcp/tcp-layer.js';
import type { TcpOption } from '../tcp/tcp-options.js';
import { TcpPacket } from '../tcp/tcp-packet.js';
import type { UdpSocket } from '../udp/udp-layer.js';
import type { Ipv4Option } from '../ip/ipv4-options.js';
import type { RawSocket } from '../ip/raw-layer.js';
import { parseTcpOptions } from '../tcp/tcp-options.js';
import { applicationActivity, relayOnClose, CONNECTED_UDP_PORT, RAW_PROTOCOL, REUSE_ADDRESS_PORT, REUSE_PORT } from './application.js';
import { arpPacket, ethernetFrame, icmpMessage, ipv4Packet, IpProtocol, ourSegment, tcpSegment, udpDatagram, type Dice } from './frames.js';
import { icmpv6Message, ipv6Packet } from './frames6.js';
import { lossyTransferIn, lossyTransferOut } from './lossy.js';
import type { Variant } from './variants.js';

/** A link whose far end is the fuzzer: it keeps what the stack transmits until taken. */
export class FuzzLink implements Link {
  readonly name: string;
  readonly mtu = 1500;
  receiver: FrameReceiver | null = null;
  /** Frames the stack sent since the last `take`. */
  sent: Uint8Array[] = [];
  /** The segment size of frames sent for the device to cut (TSO). */
  readonly segmentSizes = new WeakMap<Uint8Array, number>();

  constructor(
    readonly medium: LinkMedium,
    /** TCP segmentation offload: the largest frame taken with a segment size (0: none). */
    readonly tcpSegmentationMax = 0,
    /** The device's transmit queue (undefined: no limit). */
    readonly transmitQueueLimit: number | undefined = undefined,
  ) {
    this.name = `fuzz-${medium}`;
  }
  transmit(frame: Uint8Array, _now: number, segmentSize?: number): void {
    if (segmentSize) this.segmentSizes.set(frame, segmentSize);
    this.sent.push(frame);
  }
  setReceiver(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }
  pollAt(): number {
    return Infinity;
  }
  poll(): void {}
  take(): Uint8Array[] {
    const frames = this.sent;
    this.sent = [];
    return frames;
  }
}

/** A connection the fuzzer set up, with what it is for. */
export interface Tracked {
  readonly connection: TcpConnection;
  /** The state it was put in. */
  readonly intended: TcpState;
  /** The application reads what arrives (otherwise the receive buffer fills). */
  readonly drains: boolean;
  /** Reserved for the final transfer: the application never writes to it before. */
  readonly transfer: boolean;
}

/**
 * Bytes each way of a lossy bulk transfer: mostly 32 KB; one in eight 128 KB, enough that more
 * than 64 segments are acknowledged while others are still in flight (the retransmission queue
 * compacts its front) and that the data passes a whole receive window (a per-window receiver
 * RTT sample, Linux's tcp_rcv_rtt_measure).
 */
const LOSSY_TRANSFER_BYTES = [32 * 1024, 32 * 1024, 32 * 1024, 32 * 1024, 32 * 1024, 32 * 1024, 32 * 1024, 128 * 1024] as const;

/** Destinations whose IPv6 path MTU is remembered at most (path-mtu.ts PATH_MTU_ENTRIES_MAX). */
const IPV6_PATH_MTU_ENTRIES_MAX = 4096;

/** A raw socket's receive queue bound (raw-layer.ts RAW_RECEIVE_LIMIT, Linux's default rmem). */
const RAW_QUEUE_LIMIT = 212_992;

/** Where the IPv6 listeners sit in `Target.listeners`: on `::` port 86 (accepted) and 87 (never accepted). */
export const LISTENER6 = 2;
/** Ports of the IPv6 listeners and UDP sockets. */
export const LISTENER6_PORTS = [86, 87] as const;
export const UDP6_PORTS = [5300, 5301] as const;

/** A small ARP cache, so that an epoch's ARP traffic reaches its bound. */
const ARP_CACHE_LIMIT_UNDER_FUZZ = 64;

/** One stack under fuzz and its peer. */
export class Target {
  readonly stack: Stack;
  readonly link: FuzzLink;
  readonly adapter: EthernetAdapter | null;
  readonly ours: Ipv4Address;
  readonly peer: Ipv4Address;
  /** Whether the stack has IPv6 sockets to fuzz (TUN); TAP gets IPv6 frames at its link-local address only. */
  readonly ipv6: boolean;
  /** Our IPv6 address (TUN: fd00:f::1; TAP: the interface's link-local one) and the peer's. */
  readonly ours6: Ipv6Address;
  readonly peer6: Ipv6Address;
  /** The same as the transports hold them (RFC 5952 text). */
  readonly ours6Text: string;
  readonly peer6Text: string;
  /** UDP sockets on IPv6 (`::`), kept apart from `udp` (the application's UDP calls are IPv4's). */
  readonly udp6: Array<{ readonly socket: UdpSocket; readonly drains: boolean }> = [];
  readonly ourMac: MacAddress = new Uint8Array([0x02, 0, 0, 0, 0, 0x01]);
  readonly peerMac: MacAddress = new Uint8Array([0x02, 0, 0, 0, 0, 0x02]);
  readonly tracked: Tracked[] = [];
  readonly listeners: TcpListener[] = [];
  readonly udp: Array<{ readonly socket: UdpSocket; readonly drains: boolean }> = [];
  /** Raw sockets the application opened (ICMP, and a protocol nobody else handles). */
  readonly raw: RawSocket[] = [];
  /** What the application and the peer did besides the frames, by kind (reported with the generators). */
  readonly activity: Record<string, number> = {};
  /** Trace events seen; the first malformed one, or the first wrong answer to an application call. */
  traceEvents = 0;
  private problem: string | null = null;
  /** Identification of the fragments seeded into reassembly. */
  readonly fragmentIds: number[] = [];
  /** Identification of the IPv6 fragments seeded into reassembly, and the whole datagram each first fragment began. */
  readonly fragmentIds6: number[] = [];
  readonly fragmentDatagrams6 = new Map<number, Uint8Array>();
  now = 0;
  private nextPeerPort = 40_000;
  private nextConnectPort = 50_000;
  private readonly peerTsBase: number;

  constructor(
    readonly name: 'tun' | 'tap',
    seed: number,
    readonly dice: Dice,
    readonly variant: Variant,
  ) {
    const prefix = name === 'tun' ? '10.0.0' : '10.0.1';
    this.ours = parseIpv4Address(`${prefix}.1`)!;
    this.peer = parseIpv4Address(`${prefix}.2`)!;
    // The variant: an OS profile and settings over it (TUN keeps challenge ACKs unlimited).
    this.stack = new Stack({ name, seed, loopback: false, tcp: variant.tcp, ip: variant.ip, icmp: variant.icmp, udp: variant.udp });
    if (variant.tracer) this.stack.tracer = (event) => this.checkTraceEvent(event);
    this.link = new FuzzLink(name === 'tun' ? 'ip' : 'ethernet', variant.link.tso, variant.link.queueLimit);
    if (name === 'tun') {
      this.adapter = null;
      this.stack.addInterface({ name: 'eth0', link: this.link, address: `${prefix}.1/24`, address6: 'fd00:f::1/64' });
    } else {
      this.adapter = new EthernetAdapter(this.link, { mac: this.ourMac, address: parseIpv4Cidr(`${prefix}.1/24`)!, cacheLimit: ARP_CACHE_LIMIT_UNDER_FUZZ });
      this.stack.addInterface({ name: 'eth0', link: this.adapter, address: `${prefix}.1/24` });
    }
    this.ipv6 = name === 'tun';
    this.ours6 = this.ipv6 ? parseIpv6Address('fd00:f::1')! : this.stack.ip6.addresses('eth0')[0].cidr.address;
    this.peer6 = parseIpv6Address(this.ipv6 ? 'fd00:f::2' : 'fe80::2')!;
    this.ours6Text = formatIpv6Address(this.ours6);
    this.peer6Text = formatIpv6Address(this.peer6);
    if (variant.routes) {
      const peer = `${prefix}.2`;
      if (this.ipv6) {
        this.stack.addRoute('::/0', { via: 'fd00:f::2' });
        this.stack.addRoute('fd00:99::/32', { via: 'fd00:f::2', mtu: 1280 });
      }
      this.stack.addRoute('default', { via: peer });
      this.stack.addRoute('192.168.0.0/16', { via: peer, mtu: 1280 });
      this.stack.addRoute('192.168.7.0/24', { via: peer, advertisedMss: 1000, metric: 5 });
    }
    this.peerTsBase = dice.u32();
  }

  /** Counts one activity of the application or the peer. */
  count(kind: string): void {
    this.activity[kind] = (this.activity[kind] ?? 0) + 1;
  }

  /** A trace event must be whole: a summary, fields with text, the header's bytes. */
  private checkTraceEvent(event: TraceEvent): void {
    this.traceEvents++;
    if (this.problem !== null) return;
    const fieldsOk = event.fields.every(([name, value]) => typeof name === 'string' && typeof value === 'string');
    if (typeof event.summary !== 'string' || event.summary === '' || !fieldsOk || !(event.header instanceof Uint8Array) || !(event.payloadLength >= 0)) {
      this.problem = `malformed ${event.layer} trace event: ${JSON.stringify(event.summary)}`;
    }
  }

  /** True for a connection kept for the final transfer. */
  isTransfer(connection: TcpConnection): boolean {
    for (const tracked of this.tracked) if (tracked.connection === connection) return tracked.transfer;
    return false;
  }

  get ethernet(): boolean {
    return this.adapter !== null;
  }

  /** The peer's timestamp clock. */
  peerTs(): number {
    return (this.peerTsBase + this.now) >>> 0;
  }

  // ---- delivery ----

  /**
   * Hands a frame (as the link carries it) to the stack, then lets it send what it must.
   * `checksumTrusted`: the device verified the checksums (receive offload).
   */
  deliver(frame: Uint8Array, checksumTrusted = false): void {
    this.link.receiver!(frame, this.now, checksumTrusted);
    this.settle();
  }

  /** Wraps an IPv4 packet for the link (an Ethernet header on TAP) and delivers it. */
  deliverIp(packet: Uint8Array, destinationMac: MacAddress = this.ourMac): void {
    this.deliver(this.frameIp(packet, destinationMac));
  }

  /** An IP packet as this target's link carries it (the EtherType by its version nibble). */
  frameIp(packet: Uint8Array, destinationMac: MacAddress = this.ourMac): Uint8Array {
    if (!this.ethernet) return packet;
    return ethernetFrame(destinationMac, this.peerMac, packet.length > 0 && packet[0] >> 4 === 6 ? EtherType.IPV6 : EtherType.IPV4, packet);
  }

  // ---- the two families ----

  /** The peer's address of `family` as the transports hold it. */
  peerOf(family: 4 | 6): IpAddress {
    return family === 4 ? this.peer : this.peer6Text;
  }

  /** Source and destination of what the peer sends in `family` (for checksums and IP headers). */
  fromPeer(family: 4 | 6): { readonly source: Ipv4Address | Ipv6Address; readonly destination: Ipv4Address | Ipv6Address } {
    return family === 4 ? { source: this.peer, destination: this.ours } : { source: this.peer6, destination: this.ours6 };
  }

  /** What the stack sends the peer in `family`. */
  toPeer(family: 4 | 6): { readonly source: Ipv4Address | Ipv6Address; readonly destination: Ipv4Address | Ipv6Address } {
    return family === 4 ? { source: this.ours, destination: this.peer } : { source: this.ours6, destination: this.peer6 };
  }

  /** A packet from the peer to us carrying `payload` of `protocol`, in `family` (`ecn`: its ECN field). */
  peerPacket(family: 4 | 6, protocol: number, payload: Uint8Array, ecn = 0): Uint8Array {
    return family === 4
      ? ipv4Packet({ source: this.peer, destination: this.ours, protocol, ecn }, payload)
      : ipv6Packet({ source: this.peer6, destination: this.ours6, ecn }, protocol, payload);
  }

  /** A TCP segment from the peer to us in `family`. */
  private peerTcp(family: 4 | 6, repr: Parameters<typeof tcpSegment>[0], ecn = 0): Uint8Array {
    const { source, destination } = this.fromPeer(family);
    return this.peerPacket(family, IpProtocol.TCP, tcpSegment(repr, source, destination), ecn);
  }

  /** Runs every timer due by `now` in order, then flushes output; the peer answers ARP. */
  settle(): void {
    let guard = 0;
    while (this.stack.pollAt() <= this.now && guard++ < 64) {
      this.stack.poll(this.now);
      this.answerArp();
    }
  }

  /** Moves time to `to`, running every timer at its own deadline on the way. */
  advance(to: number): void {
    let guard = 0;
    for (let next = this.stack.pollAt(); next <= to && guard < 10_000; next = this.stack.pollAt(), guard++) {
      this.now = Math.max(this.now, next);
      this.stack.poll(this.now);
      this.answerArp();
    }
    this.now = Math.max(this.now, to);
    this.stack.poll(this.now);
  }

  /**
   * The peer answers the stack's ARP requests for its address, and its Neighbor Solicitations
   * for its IPv6 address (RFC 4861 §7.2.4: a solicited NA with the target's link-layer address),
   * only on TAP.
   */
  private answerArp(): void {
    if (!this.ethernet) return;
    for (const frame of this.link.sent) {
      if (isNeighborSolicitationFor(frame, this.peer6)) {
        const source = frame.subarray(22, 38);
        const advertisement = icmpv6Message(
          {
            kind: 'neighborAdvertisement',
            router: false,
            solicited: true,
            override: true,
            reserved: 0,
            target: this.peer6,
            options: [{ kind: 'targetLinkLayerAddress', address: this.peerMac }],
          },
          this.peer6,
          source,
        );
        this.link.receiver!(
          this.frameIp(ipv6Packet({ source: this.peer6, destination: source, hopLimit: 255 }, Ipv6NextHeader.ICMPV6, advertisement)),
          this.now,
        );
        continue;
      }
      if (frame.length < 42 || frame[12] !== 0x08 || frame[13] !== 0x06 || frame[21] !== ArpOperation.REQUEST) continue;
      const target = ((frame[38] << 24) | (frame[39] << 16) | (frame[40] << 8) | frame[41]) >>> 0;
      if (target !== this.peer) continue;
      const reply = arpPacket({
        operation: ArpOperation.REPLY,
        senderHardwareAddress: this.peerMac,
        senderProtocolAddress: this.peer,
        targetHardwareAddress: this.ourMac,
        targetProtocolAddress: this.ours,
      });
      this.link.receiver!(ethernetFrame(this.ourMac, this.peerMac, EtherType.ARP, reply), this.now);
    }
  }

  // ---- the peer's TCP ----

  /** Options the peer's non-SYN segments carry on `connection` (its timestamps when in use). */
  peerOptions(connection: TcpConnection): TcpOption[] {
    return connection.timestamps.enabled
      ? [{ kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'timestamps', tsVal: this.peerTs(), tsEcr: connection.timestamps.tsVal(this.now) }]
      : [];
  }

  /** Sends a well-formed segment from the peer on `connection`'s 4-tuple (`ecn`: its IP header's ECN field). */
  peerSegment(
    connection: TcpConnection,
    fields: { seq: number; ack: number; flags: number; payload?: Uint8Array; window?: number; options?: TcpOption[]; ecn?: number },
  ): void {
    const repr = {
      srcPort: connection.remotePort,
      dstPort: connection.localPort,
      seq: fields.seq >>> 0,
      ack: fields.ack >>> 0,
      flags: fields.flags,
      window: fields.window ?? 65535,
      urgentPointer: 0,
      options: fields.options ?? this.peerOptions(connection),
      payload: fields.payload ?? new Uint8Array(0),
    };
    this.deliverIp(this.peerTcp(ipFamily(connection.remoteAddress), repr, fields.ecn ?? 0));
  }

  /** A SYN's options as the peer varies them: MSS always, then any of window scale, SACK, timestamps. */
  private synOptions(): TcpOption[] {
    const options: TcpOption[] = [{ kind: 'maxSegmentSize', mss: this.dice.pick([536, 1400, 1460]) }];
    if (this.dice.chance(0.6)) options.push({ kind: 'windowScale', shiftCount: this.dice.below(9) });
    if (this.dice.chance(0.6)) options.push({ kind: 'sackPermitted' });
    if (this.dice.chance(0.6)) options.push({ kind: 'timestamps', tsVal: this.peerTs(), tsEcr: 0 });
    return options;
  }

  private track(connection: TcpConnection, intended: TcpState, drains: boolean, transfer = false): TcpConnection {
    if (connection.state !== intended) throw new Error(`fuzz setup (${this.name}): expected ${intended}, connection is ${connection.state}`);
    this.tracked.push({ connection, intended, drains, transfer });
    return connection;
  }

  /** True when every SYN gets a cookie (TcpConfig.synCookies 'always'): no SYN queue entries. */
  get cookiesAlways(): boolean {
    return this.stack.tcp.config.synCookies === 'always';
  }

  /** The peer's SYN to `port` from `peerPort`, in `family`; returns its ISS. */
  private peerSyn(port: number, peerPort: number, family: 4 | 6 = 4): number {
    const peerIss = this.dice.u32();
    // Half the time the SYN asks for ECN (ECE and CWR, RFC 3168 §6.1.1).
    const flags = this.dice.chance(0.5) ? 0x0c2 : 0x002;
    const segment = tcpSegment(
      {
        srcPort: peerPort,
        dstPort: port,
        seq: peerIss,
        ack: 0,
        flags,
        window: 65535,
        urgentPointer: 0,
        options: this.synOptions(),
        payload: new Uint8Array(0),
      },
      this.fromPeer(family).source,
      this.fromPeer(family).destination,
    );
    this.deliverIp(this.peerPacket(family, IpProtocol.TCP, segment));
    return peerIss;
  }

  /** A passive open: the peer's SYN reaches the listener; SYN-RECEIVED. */
  private synReceived(listener: TcpListener): TcpConnection {
    const peerPort = this.nextPeerPort++;
    this.peerSyn(listener.port, peerPort, ipFamily(listener.address));
    const connection = [...listener.synQueue.values()].find((c) => c.remotePort === peerPort);
    if (!connection) throw new Error(`fuzz setup (${this.name}): no half-open connection from port ${peerPort}`);
    return connection;
  }

  /**
   * A whole passive open: SYN, SYN-ACK, ACK. With SYN cookies the peer answers the SYN-ACK it
   * read off the link exactly — SEG.ACK = cookie + 1 and, when the SYN-ACK carried timestamps,
   * TSecr = its TSval, which holds the options the cookie could not (RFC 4987 §3.6) — and the
   * connection is made from the ACK alone. Returns the connection, in the listener's accept queue.
   */
  passiveOpen(listener: TcpListener): TcpConnection | null {
    const peerPort = this.nextPeerPort++;
    // A listener on `::` hears the peer over IPv6 (it would take IPv4 too: dual stack).
    const family = ipFamily(listener.address);
    const peerIss = this.peerSyn(listener.port, peerPort, family);
    const halfOpen = [...listener.synQueue.values()].find((c) => c.remotePort === peerPort);
    if (halfOpen) {
      this.peerSegment(halfOpen, { seq: halfOpen.rcvNxt, ack: halfOpen.sndNxt, flags: 0x010 });
      return halfOpen.state === 'ESTABLISHED' ? halfOpen : null;
    }
    // No SYN-queue entry: a cookie (always, or the SYN queue was full), or no answer at all.
    const synAck = this.sentSegments().find((p) => p.synFlag && p.ackFlag && p.srcPort === listener.port && p.dstPort === peerPort);
    if (!synAck) return null;
    this.completeCookie(listener.port, peerPort, peerIss, synAck, family);
    return listener.acceptQueue.find((c) => c.remotePort === peerPort) ?? null;
  }

  /** SYN-RECEIVED by a simultaneous open (RFC 9293 Figure 7): we connect, the peer's SYN crosses our SYN. */
  private simultaneousOpen(family: 4 | 6 = 4): TcpConnection {
    const result = this.stack.tcp.connect(this.peerOf(family), 8000 + this.dice.below(100), { localPort: this.nextConnectPort++ });
    if (!result.ok) throw new Error(`fuzz setup (${this.name}): connect: ${result.error}`);
    const connection = result.value;
    this.settle();
    this.deliverIp(
      this.peerTcp(family, {
        srcPort: connection.remotePort,
        dstPort: connection.localPort,
        seq: this.dice.u32(),
        ack: 0,
        flags: 0x002,
        window: 65535,
        urgentPointer: 0,
        options: this.synOptions(),
        payload: new Uint8Array(0),
      }),
    );
    return connection;
  }

  /** ESTABLISHED, passive (through the listener on 80, accepted) or active (we connect). */
  private established(active: boolean, family: 4 | 6 = 4): TcpConnection {
    if (active) {
      const connection = this.activeOpen(undefined, false, undefined, family);
      if (!connection) throw new Error(`fuzz setup (${this.name}): active open failed (IPv${family})`);
      return connection;
    }
    const listener = family === 4 ? this.listeners[0] : this.listeners[LISTENER6];
    const connection = this.passiveOpen(listener);
    if (!connection) throw new Error(`fuzz setup (${this.name}): passive open failed (IPv${family})`);
    const accepted = listener.accept();
    if (accepted !== connection) throw new Error(`fuzz setup (${this.name}): the established connection was not accepted`);
    return connection;
  }

  /**
   * An active open the peer answers with a SYN-ACK (ECN-setup half the time): from the next
   * fixed local port, or an ephemeral one (RFC 6056); `configure` runs before the SYN leaves.
   * Null when connect fails (no ephemeral port left).
   */
  activeOpen(port = 8000 + this.dice.below(100), ephemeral = false, configure?: (connection: TcpConnection) => void, family: 4 | 6 = 4): TcpConnection | null {
    const result = this.stack.tcp.connect(this.peerOf(family), port, {
      ...(ephemeral ? {} : { localPort: this.nextConnectPort++ }),
      ...(configure ? { configure } : {}),
    });
    if (!result.ok) return null;
    const connection = result.value;
    this.settle();
    const options = this.synOptions();
    this.deliverIp(
      this.peerTcp(family, {
        srcPort: connection.remotePort,
        dstPort: connection.localPort,
        seq: this.dice.u32(),
        ack: seqAdd(connection.iss, 1),
        flags: this.dice.chance(0.5) ? 0x052 : 0x012,
        window: 65535,
        urgentPointer: 0,
        options,
        payload: new Uint8Array(0),
      }),
    );
    return connection;
  }

  /** `count` SYNs to `listener` from new ports, back to back (nobody completes them). */
  synFlood(listener: TcpListener, count: number): void {
    for (let i = 0; i < count; i++) this.peerSyn(listener.port, 20_000 + this.dice.below(20_000), ipFamily(listener.address));
    this.link.take();
  }

  /**
   * `count` SYNs to `listener`, then the exact ACK for each: for a half-open connection, or for
   * a SYN-ACK that carried a cookie. The later ones may find the accept queue full.
   */
  handshakeBurst(listener: TcpListener, count: number): void {
    const opened: Array<{ port: number; iss: number }> = [];
    for (let i = 0; i < count; i++) {
      const port = this.nextPeerPort++;
      opened.push({ port, iss: this.peerSyn(listener.port, port, ipFamily(listener.address)) });
    }
    const sent = this.sentSegments();
    for (const { port, iss } of opened) {
      const halfOpen = [...listener.synQueue.values()].find((c) => c.remotePort === port);
      if (halfOpen) {
        this.peerSegment(halfOpen, { seq: halfOpen.rcvNxt, ack: halfOpen.sndNxt, flags: 0x010 });
        continue;
      }
      const synAck = sent.find((p) => p.synFlag && p.ackFlag && p.srcPort === listener.port && p.dstPort === port);
      if (synAck) this.completeCookie(listener.port, port, iss, synAck, ipFamily(listener.address));
    }
  }

  /**
   * A fragmented datagram from the peer, all at once: `many`, more fragments of one datagram
   * than reassembly keeps (never complete); `oversized`, whole but 65 512 bytes of data behind a
   * first fragment with 40 bytes of options (too long once reassembled); `ping`, an echo request
   * in two fragments (the reply is fragmented too).
   */
  fragmentBurst(kind: 'many' | 'oversized' | 'ping'): void {
    const identification = 0x7000 + this.dice.below(0x100);
    const send = (offset: number, data: Uint8Array, more: boolean, protocol: number, options: Ipv4Option[] = []) =>
      this.deliverIp(
        ipv4Packet(
          { source: this.peer, destination: this.ours, protocol, identification, dontFragment: false, moreFragments: more, fragmentOffset: offset, options },
          data,
        ),
      );
    if (kind === 'many') {
      for (let i = 0; i < 140; i++) send(8 * (i + 1), new Uint8Array(8), true, IpProtocol.UDP);
    } else if (kind === 'oversized') {
      const total = 65_512;
      const step = 1_480 - 40;
      for (let offset = 0; offset < total; offset += step) {
        const length = Math.min(step, total - offset);
        send(
          offset,
          new Uint8Array(length),
          offset + length < total,
          IpProtocol.UDP,
          offset === 0 ? [{ kind: 'raw', type: 30, data: new Uint8Array(38) }] : [],
        );
      }
    } else {
      const echo = icmpMessage({ kind: 'echoRequest', identifier: this.dice.u16(), sequence: 1, data: this.dice.bytes(2_000 + this.dice.below(1000)) });
      send(0, echo.subarray(0, 1480), true, IpProtocol.ICMP);
      send(1480, echo.subarray(1480), false, IpProtocol.ICMP);
    }
    this.link.take();
  }

  /** The peer's ACK for a cookie SYN-ACK: SEG.ACK = cookie + 1, TSecr = its TSval (which carries the options). */
  private completeCookie(listenerPort: number, peerPort: number, peerIss: number, synAck: TcpPacket, family: 4 | 6 = 4): void {
    const options = parseTcpOptions(synAck.optionBytes);
    const echoed = options.ok ? options.value.find((o) => o.kind === 'timestamps') : undefined;
    const ts =
      echoed?.kind === 'timestamps'
        ? [{ kind: 'noOperation' as const }, { kind: 'noOperation' as const }, { kind: 'timestamps' as const, tsVal: this.peerTs(), tsEcr: echoed.tsVal }]
        : [];
    this.deliverIp(
      this.peerTcp(family, {
        srcPort: peerPort,
        dstPort: listenerPort,
        seq: seqAdd(peerIss, 1),
        ack: seqAdd(synAck.seq, 1),
        flags: 0x010,
        window: 65535,
        urgentPointer: 0,
        options: ts,
        payload: new Uint8Array(0),
      }),
    );
    this.count(`cookie-ack${ts.length > 0 ? '-ts' : ''}`);
  }

  /** A new SYN on a TIME-WAIT connection's 4-tuple, newer than the old connection (or, sometimes, not). */
  reopenTimeWait(connection: TcpConnection): void {
    const newer = this.dice.chance(0.8);
    const seq = newer ? seqAdd(connection.rcvNxt, 100_000 + this.dice.below(1 << 20)) : seqAdd(connection.rcvNxt, -this.dice.below(1000));
    const options: TcpOption[] = [{ kind: 'maxSegmentSize', mss: 1460 }];
    if (this.dice.chance(0.5))
      options.push({
        kind: 'timestamps',
        tsVal: newer ? (connection.timestamps.recent + 1 + this.dice.below(1000)) >>> 0 : connection.timestamps.recent,
        tsEcr: 0,
      });
    this.deliverIp(
      this.peerTcp(ipFamily(connection.remoteAddress), {
        srcPort: connection.remotePort,
        dstPort: connection.localPort,
        seq,
        ack: 0,
        flags: 0x002,
        window: 65535,
        urgentPointer: 0,
        options,
        payload: new Uint8Array(0),
      }),
    );
  }

  /**
   * A router's fragmentation-needed with `mtu` (RFC 1191), quoting `connection`'s segment at
   * SND.UNA; on an IPv6 connection its Packet Too Big (RFC 4443 §3.2, RFC 8201), quoting as much
   * as ICMPv6 would.
   */
  fragmentationNeeded(connection: TcpConnection, mtu: number): void {
    if (ipFamily(connection.remoteAddress) === 6) {
      const { source, destination } = this.toPeer(6);
      const segment = ourSegment(connection, connection.sndUna, new Uint8Array(0), source, destination);
      const quoted = ipv6Packet({ source: this.ours6, destination: this.peer6 }, IpProtocol.TCP, segment);
      const router = parseIpv6Address('fd00:f::fe')!;
      this.deliverIp(
        ipv6Packet(
          { source: router, destination: this.ours6 },
          Ipv6NextHeader.ICMPV6,
          icmpv6Message({ kind: 'packetTooBig', code: 0, mtu, quoted }, router, this.ours6),
        ),
      );
      return;
    }
    const quotedSegment = ourSegment(connection, connection.sndUna, new Uint8Array(0), this.ours, this.peer);
    const quoted = ipv4Packet({ source: this.ours, destination: this.peer, protocol: IpProtocol.TCP }, quotedSegment).subarray(0, 28);
    const icmp = icmpMessage({ kind: 'destinationUnreachable', code: 4, nextHopMtu: mtu, quoted });
    this.deliverIp(ipv4Packet({ source: (this.peer & 0xffffff00) | 0xfe, destination: this.ours, protocol: IpProtocol.ICMP }, icmp));
  }

  /**
   * A connection still opening: our SYN sent and, per `answer`, nothing back, or the peer's own
   * SYN crossing it (simultaneous open), or a SYN+FIN (dropped in SYN-SENT where
   * TcpConfig.dropSynFin is true). Null when connect fails.
   */
  openingConnection(answer: 'none' | 'syn' | 'syn-fin', family: 4 | 6 = 4): TcpConnection | null {
    const result = this.stack.tcp.connect(this.peerOf(family), 9000 + this.dice.below(100), { localPort: this.nextConnectPort++ });
    if (!result.ok) return null;
    const connection = result.value;
    this.settle();
    if (answer !== 'none') {
      const flags = answer === 'syn' ? 0x002 : 0x003;
      this.deliverIp(
        this.peerTcp(family, {
          srcPort: connection.remotePort,
          dstPort: connection.localPort,
          seq: this.dice.u32(),
          ack: 0,
          flags,
          window: 65535,
          urgentPointer: 0,
          options: this.synOptions(),
          payload: new Uint8Array(0),
        }),
      );
    }
    return connection;
  }

  /** The TCP segments in what the stack has sent since the last `take` (left there). */
  sentSegments(): TcpPacket[] {
    const segments: TcpPacket[] = [];
    for (const frame of this.link.sent) {
      const segment = this.tcpIn(frame);
      if (segment) segments.push(segment);
    }
    return segments;
  }

  /** The TCP segment a frame the stack sent carries, or null. */
  tcpIn(frame: Uint8Array): TcpPacket | null {
    let packet = frame;
    if (this.ethernet) {
      const ethernet = EthernetFrame.checked(frame);
      if (!ethernet.ok || (ethernet.value.etherType !== EtherType.IPV4 && ethernet.value.etherType !== EtherType.IPV6)) return null;
      packet = ethernet.value.payload;
    }
    if (packet.length > 0 && packet[0] >> 4 === 6) {
      // The stack sends TCP with no extension headers: TCP follows the fixed header.
      const ip6 = Ipv6Packet.checked(packet);
      if (!ip6.ok || ip6.value.nextHeader !== IpProtocol.TCP) return null;
      const tcp = TcpPacket.checked(ip6.value.payload);
      return tcp.ok ? tcp.value : null;
    }
    const ip = Ipv4Packet.checked(packet);
    if (!ip.ok || ip.value.protocol !== IpProtocol.TCP) return null;
    const tcp = TcpPacket.checked(ip.value.payload);
    return tcp.ok ? tcp.value : null;
  }

  /** Builds listeners, connections in every state, UDP sockets, fragments and ARP entries. */
  setup(): void {
    const tcp = this.stack.tcp;
    // LISTEN: port 80 (the application accepts), port 81 (never accepts: the queues fill).
    for (const [port, backlog] of [
      [80, 16],
      [81, 4],
    ] as const) {
      const listener = tcp.listen(0, port, backlog);
      if (!listener.ok) throw new Error(`fuzz setup: listen ${port}: ${listener.error}`);
      this.listeners.push(listener.value);
    }
    if (this.ethernet) {
      // ARP: the peer announces itself (the stack learns it from a request for its address).
      const request = arpPacket({
        operation: ArpOperation.REQUEST,
        senderHardwareAddress: this.peerMac,
        senderProtocolAddress: this.peer,
        targetHardwareAddress: new Uint8Array(6),
        targetProtocolAddress: this.ours,
      });
      this.deliver(ethernetFrame(MAC_BROADCAST, this.peerMac, EtherType.ARP, request));
    }
    // ESTABLISHED connections kept clean for the final transfer, passive and active.
    for (let i = 0; i < 4; i++) this.track(this.established(i % 2 === 1), 'ESTABLISHED', true, true);
    // ESTABLISHED with data in flight (never acknowledged) and with out-of-order data held.
    const inFlight = this.established(false);
    inFlight.send(this.dice.bytes(20_000));
    this.settle();
    this.track(inFlight, 'ESTABLISHED', false);
    const holes = this.established(true);
    this.peerSegment(holes, { seq: seqAdd(holes.rcvNxt, 1000), ack: holes.sndNxt, flags: 0x018, payload: this.dice.bytes(500) });
    this.track(holes, 'ESTABLISHED', false);
    // SYN-SENT (the peer never answers) and SYN-RECEIVED (the peer never acknowledges).
    const synSent = tcp.connect(this.peer, 9000, { localPort: this.nextConnectPort++ });
    if (!synSent.ok) throw new Error(`fuzz setup: connect: ${synSent.error}`);
    this.settle();
    this.track(synSent.value, 'SYN-SENT', true);
    this.track(this.cookiesAlways || this.dice.chance(0.3) ? this.simultaneousOpen() : this.synReceived(this.listeners[0]), 'SYN-RECEIVED', true);
    // The closing states, each by its own exchange.
    const finWait1 = this.established(false);
    finWait1.close();
    this.settle();
    this.track(finWait1, 'FIN-WAIT-1', true);
    const finWait2 = this.established(true);
    finWait2.close();
    this.settle();
    this.peerSegment(finWait2, { seq: finWait2.rcvNxt, ack: finWait2.sndNxt, flags: 0x010 });
    this.track(finWait2, 'FIN-WAIT-2', true);
    const timeWait = this.established(false);
    timeWait.close();
    this.settle();
    this.peerSegment(timeWait, { seq: timeWait.rcvNxt, ack: timeWait.sndNxt, flags: 0x011 });
    this.track(timeWait, 'TIME-WAIT', true);
    // Half the time the application relays: when TIME-WAIT (or FIN-WAIT-2, below) runs out, it closes or writes to a connection opened later.
    if (this.dice.chance(0.5)) relayOnClose(this, timeWait);
    if (this.dice.chance(0.5)) relayOnClose(this, finWait2);
    const closeWait = this.established(true);
    this.peerSegment(closeWait, { seq: closeWait.rcvNxt, ack: closeWait.sndNxt, flags: 0x011 });
    this.track(closeWait, 'CLOSE-WAIT', true);
    const lastAck = this.established(false);
    this.peerSegment(lastAck, { seq: lastAck.rcvNxt, ack: lastAck.sndNxt, flags: 0x011 });
    lastAck.close();
    this.settle();
    this.track(lastAck, 'LAST-ACK', true);
    const closing = this.established(true);
    closing.close();
    this.settle();
    this.peerSegment(closing, { seq: closing.rcvNxt, ack: seqSub(closing.sndNxt, 1) >>> 0, flags: 0x011 });
    this.track(closing, 'CLOSING', true);
    // UDP: one socket the application reads, one it never reads (its buffer small in some
    // epochs), one it connects now and then, two sharing a port with SO_REUSEPORT and two with
    // SO_REUSEADDR.
    for (const [port, drains, reuse] of [
      [53, true, null],
      [5353, false, null],
      [CONNECTED_UDP_PORT, true, null],
      [REUSE_PORT, true, 'port'],
      [REUSE_PORT, true, 'port'],
      [REUSE_ADDRESS_PORT, true, 'address'],
      [REUSE_ADDRESS_PORT, false, 'address'],
    ] as const) {
      const socket = this.stack.udp.open();
      if (reuse === 'port') socket.options.reusePort = true;
      if (reuse === 'address') socket.options.reuseAddress = true;
      if (!drains && this.dice.chance(0.3)) socket.options.receiveBufferSize = 4096;
      const bound = socket.bind(0, port);
      if (!bound.ok) throw new Error(`fuzz setup: udp bind ${port}: ${bound.error}`);
      this.udp.push({ socket, drains });
    }
    this.stack.icmp.onEchoReply(() => this.count('echo-reply'));
    // Raw sockets: ICMP (it gets a copy of every ICMP message; never read, so its queue fills)
    // and a protocol nobody handles (read).
    if (this.dice.chance(0.5)) for (const protocol of [1, RAW_PROTOCOL]) this.raw.push(this.stack.raw.open(protocol));
    // Fragments in reassembly: first halves of datagrams whose second halves never come.
    for (let i = 0; i < 3; i++) {
      const id = 0x4000 + i;
      this.fragmentIds.push(id);
      const datagram = udpDatagram({ sourcePort: 1000 + i, destinationPort: 53, payload: this.dice.bytes(1200) }, this.peer, this.ours);
      this.deliverIp(
        ipv4Packet(
          { source: this.peer, destination: this.ours, protocol: IpProtocol.UDP, identification: id, dontFragment: false, moreFragments: true },
          datagram.subarray(0, 600),
        ),
      );
    }
    if (this.ipv6) this.setupIpv6();
    this.link.take();
  }

  /**
   * The same over IPv6 (TUN): listeners on `::` (86 accepted, 87 never), two ESTABLISHED
   * connections kept for the final transfer (passive and active), one with data in flight and
   * one holding out-of-order data, SYN-SENT, SYN-RECEIVED, FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT,
   * CLOSE-WAIT, LAST-ACK; two UDP sockets (one read, one never read); first fragments of three
   * packets whose rest never comes (RFC 8200 §4.5).
   */
  private setupIpv6(): void {
    const tcp = this.stack.tcp;
    for (const [port, backlog] of [
      [LISTENER6_PORTS[0], 16],
      [LISTENER6_PORTS[1], 4],
    ] as const) {
      const listener = tcp.listen('::', port, backlog);
      if (!listener.ok) throw new Error(`fuzz setup: listen [::]:${port}: ${listener.error}`);
      this.listeners.push(listener.value);
    }
    for (let i = 0; i < 2; i++) this.track(this.established(i % 2 === 1, 6), 'ESTABLISHED', true, true);
    const inFlight = this.established(false, 6);
    inFlight.send(this.dice.bytes(20_000));
    this.settle();
    this.track(inFlight, 'ESTABLISHED', false);
    const holes = this.established(true, 6);
    this.peerSegment(holes, { seq: seqAdd(holes.rcvNxt, 1000), ack: holes.sndNxt, flags: 0x018, payload: this.dice.bytes(500) });
    this.track(holes, 'ESTABLISHED', false);
    const synSent = tcp.connect(this.peer6Text, 9000, { localPort: this.nextConnectPort++ });
    if (!synSent.ok) throw new Error(`fuzz setup: connect [${this.peer6Text}]:9000: ${synSent.error}`);
    this.settle();
    this.track(synSent.value, 'SYN-SENT', true);
    this.track(this.cookiesAlways || this.dice.chance(0.3) ? this.simultaneousOpen(6) : this.synReceived(this.listeners[LISTENER6]), 'SYN-RECEIVED', true);
    const finWait1 = this.established(false, 6);
    finWait1.close();
    this.settle();
    this.track(finWait1, 'FIN-WAIT-1', true);
    const finWait2 = this.established(true, 6);
    finWait2.close();
    this.settle();
    this.peerSegment(finWait2, { seq: finWait2.rcvNxt, ack: finWait2.sndNxt, flags: 0x010 });
    this.track(finWait2, 'FIN-WAIT-2', true);
    const timeWait = this.established(false, 6);
    timeWait.close();
    this.settle();
    this.peerSegment(timeWait, { seq: timeWait.rcvNxt, ack: timeWait.sndNxt, flags: 0x011 });
    this.track(timeWait, 'TIME-WAIT', true);
    const closeWait = this.established(true, 6);
    this.peerSegment(closeWait, { seq: closeWait.rcvNxt, ack: closeWait.sndNxt, flags: 0x011 });
    this.track(closeWait, 'CLOSE-WAIT', true);
    const lastAck = this.established(false, 6);
    this.peerSegment(lastAck, { seq: lastAck.rcvNxt, ack: lastAck.sndNxt, flags: 0x011 });
    lastAck.close();
    this.settle();
    this.track(lastAck, 'LAST-ACK', true);
    for (const [port, drains] of [
      [UDP6_PORTS[0], true],
      [UDP6_PORTS[1], false],
    ] as const) {
      const socket = this.stack.udp.open(6);
      if (!drains && this.dice.chance(0.3)) socket.options.receiveBufferSize = 4096;
      const bound = socket.bind('::', port);
      if (!bound.ok) throw new Error(`fuzz setup: udp bind [::]:${port}: ${bound.error}`);
      this.udp6.push({ socket, drains });
    }
    for (let i = 0; i < 3; i++) {
      const identification = 0x4000 + i;
      this.fragmentIds6.push(identification);
      const datagram = udpDatagram({ sourcePort: 1000 + i, destinationPort: UDP6_PORTS[0], payload: this.dice.bytes(1200) }, this.peer6, this.ours6);
      this.fragmentDatagrams6.set(identification, datagram);
      this.deliverIp(
        ipv6Packet({ source: this.peer6, destination: this.ours6 }, IpProtocol.UDP, datagram.subarray(0, 600), [
          { kind: 'fragment', reserved: 0, fragmentOffset: 0, reservedBits: 0, moreFragments: true, identification },
        ]),
      );
    }
  }

  /** The application's share of the work between frames: reading, accepting, closing extras. */
  application(): void {
    for (const { connection, drains } of this.tracked) {
      if (!drains || connection.receiveQueueBytes === 0) continue;
      connection.urgentMarkDistance(); // SIOCATMARK before and after
      void connection.readableBytes; // FIONREAD, as the socket layer asks before a read
      connection.receive();
      connection.urgentMarkDistance();
      if (connection.endOfStream || !connection.writable) this.count('eof-or-unwritable'); // poll(2)'s POLLIN at EOF, POLLOUT
    }
    for (const listener of [this.listeners[0], this.listeners[LISTENER6]]) {
      const accepted = listener?.accept();
      if (!accepted) continue;
      if (this.tracked.length < 64) this.tracked.push({ connection: accepted, intended: 'ESTABLISHED', drains: true, transfer: false });
      else accepted.close();
    }
    for (const { socket, drains } of [...this.udp, ...this.udp6]) if (drains) while (socket.receive());
    for (const socket of this.raw) if (socket.protocol === RAW_PROTOCOL) while (socket.receive());
    this.problem ??= applicationActivity(this);
  }

  // ---- invariants ----

  /** What is wrong with the stack now, or null: internal errors and every bounded store. */
  violation(): string | null {
    const stack = this.stack;
    if (this.problem !== null) return this.problem;
    if (stack.stats.get('drop.internalError') !== 0)
      return `drop.internalError = ${stack.stats.get('drop.internalError')}: ${describeError(stack.lastInternalError)}`;
    const config = stack.tcp.config;
    for (const listener of this.listeners) {
      if (listener.synQueue.size > listener.synBacklog) return `listener ${listener.port}: SYN queue ${listener.synQueue.size} > ${listener.synBacklog}`;
      if (listener.acceptQueue.length > listener.backlog)
        return `listener ${listener.port}: accept queue ${listener.acceptQueue.length} > backlog ${listener.backlog}`;
    }
    const receiveBound = Math.max(config.receiveBufferSize, config.receiveBufferMax);
    for (const connection of stack.tcp.listConnections()) {
      const held = connection.assembler.heldBytes;
      if (held > connection.assembler.limitBytes)
        return `${connection.key} ${connection.state}: out-of-order bytes ${held} > limit ${connection.assembler.limitBytes}`;
      if (connection.receiveQueueBytes + held > receiveBound)
        return `${connection.key} ${connection.state}: receive queue ${connection.receiveQueueBytes} + out of order ${held} > ${receiveBound}`;
      if (connection.sendBuffer.length > config.sendBufferMax)
        return `${connection.key}: send buffer ${connection.sendBuffer.length} > ${config.sendBufferMax}`;
    }
    const reassembler = stack.ip.reassembler;
    const reassembly = stack.ip.config.reassembly;
    if (reassembler.memory > reassembly.memoryLimit) return `reassembly holds ${reassembler.memory} bytes > ${reassembly.memoryLimit}`;
    // One budget for both families (RFC 8200 §4.5's reassembly draws on IPv4's).
    const budget = stack.ip.reassemblyMemory;
    const held = reassembler.memory + stack.ip6.reassembler.memory;
    if (held > budget.limit) return `reassembly of both families holds ${held} bytes > ${budget.limit}`;
    if (budget.inUse !== held) return `the reassembly budget says ${budget.inUse} bytes in use, the reassemblers hold ${held}`;
    const pathMtus = (stack.ip6 as unknown as { pathMtus: { readonly size: number } }).pathMtus.size;
    if (pathMtus > IPV6_PATH_MTU_ENTRIES_MAX) return `IPv6 path MTUs remembered for ${pathMtus} destinations > ${IPV6_PATH_MTU_ENTRIES_MAX}`;
    for (const { socket } of [...this.udp, ...this.udp6]) {
      const queued = (socket as unknown as { queuedBytes: number }).queuedBytes;
      if (queued > socket.options.receiveBufferSize) return `udp port ${socket.localPort}: queue ${queued} > ${socket.options.receiveBufferSize}`;
    }
    for (const socket of this.raw) {
      const queued = (socket as unknown as { queuedBytes: number }).queuedBytes;
      if (queued > RAW_QUEUE_LIMIT) return `raw socket (protocol ${socket.protocol}): queue ${queued} > ${RAW_QUEUE_LIMIT}`;
    }
    if (this.adapter) {
      if (this.adapter.cacheSize > this.adapter.cacheLimit) return `ARP cache holds ${this.adapter.cacheSize} entries > ${this.adapter.cacheLimit}`;
      const internals = this.adapter as unknown as { resolving: Map<number, { queue: unknown[] }>; queueLimit: number };
      for (const resolution of internals.resolving.values()) {
        if (resolution.queue.length > internals.queueLimit) return `ARP resolution queue ${resolution.queue.length} > ${internals.queueLimit}`;
      }
    }
    return null;
  }

  // ---- the final transfer ----

  /**
   * Legitimate transfers both ways on every surviving ESTABLISHED connection kept for them;
   * returns the failures (empty when every byte arrived exactly) and how many were checked. In
   * a lossy epoch every other kept connection moves 32 or 128 KB (LOSSY_TRANSFER_BYTES) each way
   * over a lossy path (lossy.ts) after its clean transfers.
   */
  transfers(bytes: number): { failures: string[]; checked: number } {
    const failures: string[] = [];
    let checked = 0;
    let kept = 0;
    for (const { connection, transfer } of this.tracked) {
      if (!transfer) continue;
      const lossy = this.variant.lossy && kept++ % 2 === 0;
      if (connection.state !== 'ESTABLISHED') continue;
      checked++;
      let failure = this.transferIn(connection, this.dice.bytes(bytes)) ?? this.transferOut(connection, this.dice.bytes(bytes));
      if (!failure && lossy) {
        this.count('lossy-transfer');
        // With MTU probing half the transfers out are long ones (they may pause, lossy.ts).
        const out = this.variant.tcp.mtuProbing ? this.dice.pick([32 * 1024, 128 * 1024]) : this.dice.pick(LOSSY_TRANSFER_BYTES);
        failure =
          lossyTransferOut(this, connection, this.dice.bytes(out)) ?? lossyTransferIn(this, connection, this.dice.bytes(this.dice.pick(LOSSY_TRANSFER_BYTES)));
      }
      if (failure) failures.push(`${this.name} ${connection.key}: ${failure}`);
    }
    return { failures, checked };
  }

  /** Peer → stack: in-order segments from RCV.NXT; the application must read exactly `data`. */
  private transferIn(connection: TcpConnection, data: Uint8Array): string | null {
    connection.read();
    const mss = 512;
    let sent = 0;
    const received: Uint8Array[] = [];
    for (let rounds = 0; sent < data.length && rounds < 10_000; rounds++) {
      if (connection.state !== 'ESTABLISHED') return `state ${connection.state} after ${sent} bytes in`;
      const space = connection.receiveWindowSpace();
      const length = Math.min(mss, data.length - sent, Math.max(space, 0));
      if (length > 0) {
        const expected = connection.rcvNxt;
        this.peerSegment(connection, {
          seq: expected,
          ack: connection.sndNxt,
          flags: 0x018,
          payload: data.subarray(sent, sent + length),
          options: this.transferOptions(connection),
        });
        if (seqSub(connection.rcvNxt, expected) === length) sent += length;
      }
      received.push(connection.read());
      this.advance(this.now + 50);
    }
    const got = concatBytes(...received);
    if (sent < data.length) return `only ${sent} of ${data.length} bytes in were accepted`;
    if (!bytesEqual(got, data)) return `bytes in differ (${got.length} read of ${data.length})`;
    return null;
  }

  /** Stack → peer: the application writes `data`; the peer acknowledges what it collects in order. */
  private transferOut(connection: TcpConnection, data: Uint8Array): string | null {
    this.link.take();
    const start = connection.sndNxt;
    const written = connection.send(data);
    if (!written.ok || written.value !== data.length) return `send accepted ${written.ok ? written.value : written.error}`;
    const collected = new Uint8Array(data.length);
    let contiguous = 0;
    for (let rounds = 0; contiguous < data.length && rounds < 10_000; rounds++) {
      this.settle();
      for (const frame of this.link.take()) {
        const segment = this.segmentFrom(frame, connection);
        if (!segment) continue;
        const offset = seqSub(segment.seq, start);
        const payload = segment.payload;
        for (let i = 0; i < payload.length; i++) {
          const at = offset + i;
          if (at >= 0 && at < data.length) collected[at] = payload[i];
        }
        if (offset <= contiguous && offset + payload.length > contiguous) contiguous = Math.min(data.length, offset + payload.length);
      }
      if (connection.state !== 'ESTABLISHED') return `state ${connection.state} after ${contiguous} bytes out`;
      this.peerSegment(connection, { seq: connection.rcvNxt, ack: seqAdd(start, contiguous), flags: 0x010, options: this.transferOptions(connection) });
      this.advance(this.now + 200);
    }
    if (contiguous < data.length) return `only ${contiguous} of ${data.length} bytes out arrived`;
    if (!bytesEqual(collected, data)) return 'bytes out differ';
    return null;
  }

  /** Timestamps for the transfer: newer than anything the fuzzer made the stack accept (PAWS). */
  private transferOptions(connection: TcpConnection): TcpOption[] {
    if (!connection.timestamps.enabled) return [];
    return [
      { kind: 'noOperation' },
      { kind: 'noOperation' },
      { kind: 'timestamps', tsVal: (connection.timestamps.recent + 1) >>> 0, tsEcr: connection.timestamps.tsVal(this.now) },
    ];
  }

  /** The TCP segment in a frame the stack sent, if it belongs to `connection`. */
  segmentFrom(frame: Uint8Array, connection: TcpConnection): TcpPacket | null {
    const tcp = this.tcpIn(frame);
    return tcp && tcp.srcPort === connection.localPort && tcp.dstPort === connection.remotePort ? tcp : null;
  }
}

/** True for an Ethernet frame carrying a Neighbor Solicitation (no extension headers) whose target is `target`. */
function isNeighborSolicitationFor(frame: Uint8Array, target: Ipv6Address): boolean {
  if (frame.length < 14 + 40 + 24 || frame[12] !== 0x86 || frame[13] !== 0xdd || frame[14 + 6] !== Ipv6NextHeader.ICMPV6 || frame[54] !== 135) return false;
  for (let i = 0; i < 16; i++) if (frame[62 + i] !== target[i]) return false;
  return true;
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
