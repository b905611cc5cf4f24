/**
 * A Stack composes the layers of one host: interfaces and their links, IPv4 with ICMP, UDP
 * and TCP. It is I/O-free and deterministic (docs/architecture.md):
 *
 *     stack.receive(interfaceName, frame, now)   a frame arrived: parse, demux, update state
 *     stack.poll(now)                            run due timers, move frames to the links
 *     stack.pollAt()                             the next time poll has work, or Infinity
 *
 * Time only ever comes in as `now`; randomness only from the seeded Rng.
 */
import { cidrBroadcast, formatIpv4Cidr, parseIpv4Address, parseIpv4Cidr, type Ipv4Address, type Ipv4Cidr } from '../ip/address.js';
import type { Clock } from '../core/clock.js';
import { Rng } from '../core/rng.js';
import { Stats, type Counter } from '../core/stats.js';
import { TimerHeap } from '../core/timer-heap.js';
import type { CounterName } from './counters.js';
import type { Tracer } from '../core/trace.js';
import { DEFAULT_ICMP_CONFIG, IcmpLayer, type IcmpConfig } from '../ip/icmp-layer.js';
import { IGMP_PROTOCOL, IgmpLayer } from '../ip/igmp.js';
import type { NetworkInterface } from '../ip/interface.js';
import { DEFAULT_IP_CONFIG, IpLayer, type IpConfig } from '../ip/ip-layer.js';
import { Icmpv6Layer } from '../ip/icmpv6-layer.js';
import { formatIpv6Cidr, parseIpv6Address, parseIpv6Cidr } from '../ip/ipv6-address.js';
import { DEFAULT_IPV6_CONFIG, Ipv6Layer, type Ipv6Config } from '../ip/ipv6-layer.js';
import { Ipv6NextHeader } from '../ip/ipv6.js';
import { IpProtocol } from '../ip/ipv4.js';
import type { Link } from '../link/link.js';
import { LoopbackLink } from '../link/loopback.js';
import { DEFAULT_UDP_CONFIG, UdpLayer, type UdpConfig } from '../udp/udp-layer.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from '../tcp/config.js';
import { TcpLayer } from '../tcp/tcp-layer.js';
import { RawLayer } from '../ip/raw-layer.js';
import { nodeModulesOf, type DgramModule, type DnsModule, type NetModule } from './node-modules.js';

/** Settings of a stack; every part optional. */
export interface StackOptions {
  /** A name for traces (`client`, `server`). */
  readonly name?: string;
  /** Seed of the stack's Rng (ephemeral ports, IP identification, later ISNs). */
  readonly seed?: number;
  /** Add a loopback interface with 127.0.0.1/8 (default true). */
  readonly loopback?: boolean;
  /** IPv4 settings over the defaults (IpConfig: TTL, forwarding, reassembly limits). */
  readonly ip?: Partial<IpConfig>;
  /** IPv6 settings over the defaults (Ipv6Config: hop limit, forwarding); reassembly limits are IPv4's (`ip`). */
  readonly ipv6?: Partial<Ipv6Config>;
  /** ICMP settings over the defaults (IcmpConfig: error rate limits, echo replies to broadcasts). */
  readonly icmp?: Partial<IcmpConfig>;
  /** UDP settings over the defaults (UdpConfig: receive buffer, ephemeral port range). */
  readonly udp?: Partial<UdpConfig>;
  /** TCP settings over the defaults (TcpConfig; `profiles.ts` has Linux's and FreeBSD's). */
  readonly tcp?: Partial<TcpConfig>;
}

/** What addInterface needs. */
export interface InterfaceOptions {
  /** The interface's name (`eth0`, `tun0`): routes, traces and counters use it. */
  readonly name: string;
  /** The link that carries its frames (a TUN/TAP device, a virtual wire, an Ethernet adapter). */
  readonly link: Link;
  /** This host's address with the network's prefix: `10.0.0.1/24`. */
  readonly address: string | Ipv4Cidr;
  /** Defaults to the link's MTU. */
  readonly mtu?: number;
  /**
   * IPv6 addresses with their prefixes (`fd00:7::2/64`), besides the link-local address every
   * interface with an MTU of at least 1280 gets.
   */
  readonly address6?: string | readonly string[];
}

/** What addRoute needs besides the destination. */
export interface RouteOptions {
  /** The gateway (`ip route ... via`); without it the destination is on the link. */
  readonly via?: string;
  /** The interface to send on (`dev`); found from the gateway's connected network when absent. */
  readonly interfaceName?: string;
  /** Among routes of equal prefix length the lower metric wins (default 0). */
  readonly metric?: number;
  /** The route's MTU (`ip route ... mtu`), below the interface's; at least 68. */
  readonly mtu?: number;
  /** The MSS TCP offers over this route (`advmss`). */
  readonly advertisedMss?: number;
}

/** One host's TCP/IP stack. */
export class Stack {
  /** The stack's name in traces (StackOptions.name). */
  readonly name: string;
  /** Every counter of every layer (names and meanings: docs/counters.md). */
  readonly stats = new Stats<CounterName>();
  /** The one source of randomness below the drivers (seeded by StackOptions.seed). */
  readonly rng: Rng;
  /** IPv4 (RFC 791): interfaces, routes, fragmentation and reassembly, forwarding. */
  readonly ip: IpLayer;
  /** IPv6 (RFC 8200): addresses, routes, extension headers, fragmentation and reassembly, path MTUs. */
  readonly ip6: Ipv6Layer;
  /** ICMPv6 (RFC 4443): echo, errors to sockets and from IPv6, Packet Too Big. */
  readonly icmp6: Icmpv6Layer;
  /** ICMP (RFC 792): echo, errors to sockets, rate-limited error replies. */
  readonly icmp: IcmpLayer;
  /** UDP (RFC 768) and its sockets. */
  readonly udp: UdpLayer;
  /** TCP (RFC 9293): listeners, connections, their timers. */
  readonly tcp: TcpLayer;
  /** Raw IP sockets (SOCK_RAW): copies of datagrams of a protocol, and datagrams sent as given. */
  readonly raw: RawLayer;
  /** IGMPv2: tells multicast routers which groups this host joined. */
  readonly igmp: IgmpLayer;
  /** Called when a frame is queued for output, so a driver can schedule a poll. */
  onWake: (() => void) | null = null;
  /** The last internal error caught at the stack boundary (should stay null; tests assert it). */
  lastInternalError: unknown = null;
  private currentTime = 0;
  /** Deadlines set by layers above the core (socket timeouts, poll timeouts), in time order. */
  private readonly userTimers = new TimerHeap();
  /** The driver's clock, consulted when an application call needs the time (see setTimeSource). */
  private timeSource: Clock | null = null;
  private tracerFunction: Tracer | null = null;
  /** Interfaces whose link traces its own frames (Ethernet, ARP): the stack's `link` events are left out there. */
  private readonly selfTracingLinks = new Set<string>();
  /** `link.<interface>.rx.frames` and `.tx.frames` by interface name, looked up once. */
  private readonly linkCounters = new Map<string, { readonly rxFrames: Counter; readonly txFrames: Counter }>();

  /** A stack with a loopback interface (unless `options.loopback` is false) and no other. */
  constructor(options: StackOptions = {}) {
    this.name = options.name ?? 'stack';
    this.rng = new Rng(options.seed ?? 1);
    const clock = () => this.time();
    // Each layer is given what it needs, in dependency order: IP first, everything above it on IP.
    this.ip = new IpLayer({ ...DEFAULT_IP_CONFIG, ...options.ip }, this.stats, this.rng, () => this.onWake?.());
    this.icmp = new IcmpLayer(this.ip, this.stats, { ...DEFAULT_ICMP_CONFIG, ...options.icmp });
    // IPv6 draws (link-local identifiers, fragment Identifications) from a stream of its own,
    // seeded from the stack's seed: adding IPv6 shifts none of IPv4's draws for a seed.
    const ipv6Rng = new Rng(((options.seed ?? 1) ^ 0x6a09e667) >>> 0);
    this.ip6 = new Ipv6Layer({ ...DEFAULT_IPV6_CONFIG, ...options.ipv6 }, this.stats, ipv6Rng, this.ip, this.ip.config.reassembly);
    this.icmp6 = new Icmpv6Layer(this.ip6, this.stats, this.icmp.rateLimiter, clock);
    this.udp = new UdpLayer({ ...DEFAULT_UDP_CONFIG, ...options.udp }, this.ip, this.icmp, this.stats, this.rng, clock, this.ip6, this.icmp6);
    this.tcp = new TcpLayer({ ...DEFAULT_TCP_CONFIG, ...options.tcp }, this.ip, this.stats, this.rng, clock, this.udp.config.ephemeralPorts, this.ip6);
    this.raw = new RawLayer(this.ip, this.stats, clock);
    this.igmp = new IgmpLayer(this.ip, this.stats, this.rng, clock);
    // The one registration step, for what no constructor order can give: IP delivers to the
    // layers above it and sends ICMP errors, raw copies and group changes to them, while they
    // send through IP; ICMP passes errors to UDP and TCP, while UDP asks ICMP for port
    // unreachables. So the layers are built on IP above, then introduced here, once.
    this.ip.connectUpperLayers({ icmpErrors: this.icmp, rawSockets: this.raw, groupListener: this.igmp });
    this.ip.registerProtocol(IpProtocol.ICMP, this.icmp);
    this.ip.registerProtocol(IpProtocol.UDP, this.udp);
    this.ip.registerProtocol(IpProtocol.TCP, this.tcp);
    this.ip.registerProtocol(IGMP_PROTOCOL, this.igmp);
    this.icmp.registerErrorListener(IpProtocol.UDP, this.udp);
    this.icmp.registerErrorListener(IpProtocol.TCP, this.tcp);
    this.ip6.connectErrorSender(this.icmp6);
    this.ip6.registerProtocol(Ipv6NextHeader.ICMPV6, this.icmp6);
    this.ip6.registerProtocol(Ipv6NextHeader.UDP, this.udp);
    this.icmp6.registerErrorListener(Ipv6NextHeader.UDP, this.udp);
    this.ip6.registerProtocol(Ipv6NextHeader.TCP, this.tcp);
    this.icmp6.registerErrorListener(Ipv6NextHeader.TCP, this.tcp);
    if (options.loopback !== false) {
      this.addInterface({ name: 'lo', link: new LoopbackLink(), address: '127.0.0.1/8' });
    }
  }

  /** The last time the stack was given (ms). */
  get now(): number {
    return this.currentTime;
  }

  /**
   * Lets a driver supply the time for application calls made between polls (a send at real
   * time t must not be stamped with the time of the last poll). The stack never reads a clock
   * of its own; it asks this one, and only from calls the application makes.
   */
  setTimeSource(clock: Clock | null): void {
    this.timeSource = clock;
  }

  /** The time for work triggered by an application call: the driver's clock if any, never behind. */
  private time(): number {
    if (this.timeSource) this.advanceTo(this.timeSource.now());
    return this.currentTime;
  }

  /** Node's `net` for this stack (IPv4): same exports, events and errors; created on first use. */
  get net(): NetModule {
    return nodeModulesOf(this).net;
  }

  /** Node's `dgram` for this stack (`udp4`); created on first use. */
  get dgram(): DgramModule {
    return nodeModulesOf(this).dgram;
  }

  /** Node's `dns` for this stack: resolvers asking over its UDP and TCP; created on first use. */
  get dns(): DnsModule {
    return nodeModulesOf(this).dns;
  }

  /** Installs (or removes, with null) a tracer on every layer. */
  set tracer(tracer: Tracer | null) {
    this.tracerFunction = tracer;
    this.ip.tracer = tracer;
    this.icmp.tracer = tracer;
    this.ip6.tracer = tracer;
    this.icmp6.tracer = tracer;
    this.udp.tracer = tracer;
    this.tcp.tracer = tracer;
    for (const iface of this.ip.listInterfaces()) this.traceLinkOf(iface);
  }
  /** The tracer installed on every layer, or null. */
  get tracer(): Tracer | null {
    return this.tracerFunction;
  }

  /** Attaches a link with an address; adds the connected route. */
  addInterface(options: InterfaceOptions): NetworkInterface {
    const address = typeof options.address === 'string' ? parseIpv4Cidr(options.address) : options.address;
    if (!address) throw new Error(`addInterface: bad address ${String(options.address)}; expected a.b.c.d/n`);
    if (this.ip.getInterface(options.name)) throw new Error(`addInterface: ${this.name} already has an interface named ${options.name}`);
    if (options.link.medium !== 'ip') {
      throw new Error(
        `addInterface: ${options.link.name} carries Ethernet frames: wrap it in an EthernetAdapter (IPv4 over Ethernet with ARP, src/link/ethernet-adapter.ts); attachDevice does that for TAP devices`,
      );
    }
    const iface: NetworkInterface = {
      name: options.name,
      link: options.link,
      address,
      mtu: options.mtu ?? options.link.mtu,
      loopback: options.link instanceof LoopbackLink,
    };
    this.ip.addInterface(iface);
    this.ip6.enableInterface(iface, this.currentTime);
    const addresses6 = options.address6 === undefined ? [] : typeof options.address6 === 'string' ? [options.address6] : options.address6;
    for (const text of addresses6) {
      const cidr = parseIpv6Cidr(text);
      if (!cidr) throw new Error(`addInterface: bad IPv6 address ${text}; expected an address with its prefix, fd00:7::2/64`);
      this.ip6.addAddress(iface.name, cidr, this.currentTime);
    }
    if (this.tracerFunction) this.traceLinkOf(iface);
    options.link.setReceiver((frame, now, checksumTrusted) => this.receive(iface.name, frame, now, checksumTrusted));
    return iface;
  }

  /** Adds a route: `addRoute('0.0.0.0/0', { via: '10.0.0.254' })`, or IPv6's: `addRoute('::/0', { via: 'fd00::1' })`. */
  addRoute(destination: string, options: RouteOptions): void {
    if (destination.includes(':')) {
      this.addIpv6Route(destination, options);
      return;
    }
    const prefix = parseIpv4Cidr(destination === 'default' ? '0.0.0.0/0' : destination);
    if (!prefix) throw new Error(`addRoute: bad destination ${destination}`);
    const gateway = options.via === undefined ? undefined : parseIpv4Address(options.via);
    if (gateway === null) throw new Error(`addRoute: bad gateway ${options.via}`);
    let interfaceName = options.interfaceName;
    if (interfaceName === undefined) {
      if (gateway === undefined) throw new Error('addRoute: give a gateway (via) or an interface');
      const path = this.ip.routes.lookup(gateway);
      if (!path) throw new Error(`addRoute: gateway ${options.via} is not on a connected network`);
      interfaceName = path.interfaceName;
    }
    this.ip.routes.add({ destination: prefix, gateway, interfaceName, metric: options.metric, mtu: options.mtu, advertisedMss: options.advertisedMss });
  }

  private addIpv6Route(destination: string, options: RouteOptions): void {
    const prefix = parseIpv6Cidr(destination);
    if (!prefix) throw new Error(`addRoute: bad destination ${destination}`);
    const gateway = options.via === undefined ? undefined : parseIpv6Address(options.via);
    if (gateway === null) throw new Error(`addRoute: bad gateway ${options.via}`);
    let interfaceName = options.interfaceName;
    if (interfaceName === undefined) {
      if (gateway === undefined) throw new Error('addRoute: give a gateway (via) or an interface');
      const path = this.ip6.routes.lookup(gateway);
      if (!path) throw new Error(`addRoute: gateway ${options.via} is not on a connected network`);
      interfaceName = path.interfaceName;
    }
    this.ip6.routes.add({ destination: prefix, gateway, interfaceName, metric: options.metric, mtu: options.mtu, advertisedMss: options.advertisedMss });
  }

  /**
   * A frame arrived on an interface (`checksumTrusted`: see FrameReceiver): an IPv6 packet by its
   * version nibble, else IPv4 (a TUN device carries both bare). Never throws: bad input is
   * counted and dropped. `frame` is lent for the call (FrameReceiver): the caller may reuse its
   * memory once this returns, because every layer copies what it keeps (TCP's receive ring and
   * out-of-order segments, datagram and raw queues, echo replies).
   */
  receive(interfaceName: string, frame: Uint8Array, now: number, checksumTrusted = false): void {
    this.advanceTo(now);
    const iface = this.ip.getInterface(interfaceName);
    if (!iface) {
      this.stats.increment('drop.link.unknownInterface');
      return;
    }
    this.linkCountersOf(interfaceName).rxFrames.increment();
    this.traceLink('up', iface.name, frame, now);
    try {
      if (frame.length > 0 && frame[0] >> 4 === 6) this.ip6.input(iface, frame, now, checksumTrusted);
      else this.ip.input(iface, frame, now, checksumTrusted);
    } catch (error) {
      this.stats.increment('drop.internalError');
      this.lastInternalError = error;
    }
  }

  /** Runs due timers and hands waiting frames to the links. */
  poll(now: number): void {
    this.advanceTo(now);
    for (const iface of this.ip.listInterfaces()) iface.link.poll(now);
    this.ip.poll(now);
    this.ip6.poll(now);
    this.igmp.poll(now);
    this.tcp.poll(now);
    this.runUserTimers(now);
    this.flush(now);
  }

  /** The next time poll has work: a frame waiting, a link's delayed frame, a timer; or Infinity. */
  pollAt(): number {
    if (this.ip.hasOutput || this.ip6.hasOutput) return this.currentTime;
    let next = Math.min(this.ip.pollAt(), this.ip6.pollAt(), this.igmp.pollAt(), this.tcp.pollAt(), this.userTimers.nextAt);
    for (const iface of this.ip.listInterfaces()) next = Math.min(next, iface.link.pollAt());
    return next;
  }

  /**
   * Calls `callback` from `poll` once the stack's time reaches `at` (ms). For the socket layer's
   * timeouts: they then run in whatever time the driver keeps, virtual or real. Returns a
   * function that cancels the timer.
   */
  schedule(at: number, callback: () => void): () => void {
    // A heap (core/timer-heap.ts): a server's keep-alive timeouts, one a connection, are cancelled
    // and re-armed at every request; equal times still fire in the order they were scheduled.
    const timer = this.userTimers.add(at, callback);
    this.onWake?.();
    return () => this.userTimers.cancel(timer);
  }

  /** The time application calls see now (see setTimeSource). */
  currentTimeForCalls(): number {
    return this.time();
  }

  private runUserTimers(now: number): void {
    for (let timer = this.userTimers.takeDue(now); timer !== undefined; timer = this.userTimers.takeDue(now)) timer.callback();
  }

  /** Sends a ping (ICMP echo request); replies arrive through `icmp.onEchoReply`. */
  ping(destination: string, identifier: number, sequence: number, data: Uint8Array = new Uint8Array(56)) {
    const address = parseIpv4Address(destination);
    if (address === null) throw new Error(`ping: bad address ${destination}`);
    return this.icmp.sendEchoRequest(address, identifier, sequence, data, this.time());
  }

  /** Sends an IPv6 ping (ICMPv6 echo request, RFC 4443 §4.1); replies arrive through `icmp6.onEchoReply`. */
  ping6(destination: string, identifier: number, sequence: number, data: Uint8Array = new Uint8Array(56)): boolean {
    const address = parseIpv6Address(destination);
    if (address === null) throw new Error(`ping6: bad address ${destination}`);
    return this.icmp6.sendEchoRequest(address, identifier, sequence, data, this.time());
  }

  /** One line per interface, `ip addr`-style. */
  describeInterfaces(): string {
    return this.ip
      .listInterfaces()
      .map(
        (i) =>
          `${i.name}: ${formatIpv4Cidr(i.address)} brd ${formatIpv4Cidr({ address: cidrBroadcast(i.address), prefixLength: 32 }).slice(0, -3)} mtu ${i.mtu}` +
          this.ip6
            .addresses(i.name)
            .map((a) => ` inet6 ${formatIpv6Cidr(a.cidr)}`)
            .join(''),
      )
      .join('\n');
  }

  /** Hands the tracer to `iface`'s link when it has layers of its own (see Link.setTracer). */
  private traceLinkOf(iface: NetworkInterface): void {
    const linkReports = iface.link.setTracer?.(this.tracerFunction, iface.name) ?? false;
    if (linkReports) this.selfTracingLinks.add(iface.name);
    else this.selfTracingLinks.delete(iface.name);
  }

  private traceLink(direction: 'up' | 'down', interfaceName: string, frame: Uint8Array, now: number): void {
    if (!this.tracerFunction || this.selfTracingLinks.has(interfaceName)) return;
    const iface = this.ip.getInterface(interfaceName)!;
    this.tracerFunction({
      direction,
      layer: 'link',
      time: now,
      where: interfaceName,
      summary:
        direction === 'down'
          ? `${iface.link.name}: ${frame.length}-byte frame handed to the link (${iface.link.medium === 'ip' ? 'a bare IPv4 packet, as on a TUN device' : 'an Ethernet frame'})`
          : `${iface.link.name}: ${frame.length}-byte frame arrived from the link`,
      fields: [
        ['interface', interfaceName],
        ['length', String(frame.length)],
      ],
      header: new Uint8Array(0),
      payloadLength: frame.length,
      packet: direction === 'down' ? frame : undefined,
    });
  }

  private linkCountersOf(interfaceName: string): { readonly rxFrames: Counter; readonly txFrames: Counter } {
    let counters = this.linkCounters.get(interfaceName);
    if (counters === undefined) {
      counters = { rxFrames: this.stats.counter(`link.${interfaceName}.rx.frames`), txFrames: this.stats.counter(`link.${interfaceName}.tx.frames`) };
      this.linkCounters.set(interfaceName, counters);
    }
    return counters;
  }

  private advanceTo(now: number): void {
    if (now > this.currentTime) this.currentTime = now;
  }

  private flush(now: number): void {
    for (const { interfaceName, frame, segmentSize } of this.ip.takeOutbox()) {
      const iface = this.ip.getInterface(interfaceName)!;
      this.linkCountersOf(interfaceName).txFrames.increment();
      this.traceLink('down', interfaceName, frame, now);
      iface.link.transmit(frame, now, segmentSize);
    }
  }
}

export type { Ipv4Address };
