/**
 * The virtual-network driver: any number of stacks joined by virtual wires, all on one
 * ManualClock that jumps straight to the next deadline. Nothing waits for real time, so a
 * 30-second reassembly timeout or a 60-second TIME-WAIT takes microseconds, and a seed fixes
 * every random choice: the same run gives the same packets, bit for bit.
 */
import { ManualClock } from '../core/clock.js';
import { Rng } from '../core/rng.js';
import { parseIpv4Cidr } from '../ip/address.js';
import { EthernetAdapter, randomLocalMac } from '../link/ethernet-adapter.js';
import { parseMac } from '../link/ethernet.js';
import { FaultInjector, type FaultConfig } from '../link/fault-injector.js';
import type { Link, LinkMedium } from '../link/link.js';
import { PcapTap } from '../link/pcap-tap.js';
import { VirtualWire } from '../link/virtual-wire.js';
import type { NetworkInterface } from '../ip/interface.js';
import { Stack, type StackOptions } from './stack.js';

/** One side of a `connect`: which stack, which address, what to call the interface. */
export interface Attachment {
  /** The stack to attach; one made by this network's `createStack`. */
  readonly stack: Stack;
  /** The interface's address with its prefix, `10.0.0.1/24`. */
  readonly address: string;
  /** IPv6 addresses with their prefixes (`fd00::1/64`), beside the link-local one every interface gets (bare-IP wires). */
  readonly address6?: string | readonly string[];
  /** The interface's name; `ethN` by default, N the wire's number. */
  readonly interfaceName?: string;
  /** Faults on this side's link (applied to what it transmits unless `direction` says otherwise). */
  readonly faults?: FaultConfig;
  /** Record this side's traffic (what it sends and receives) in a pcap. */
  readonly capture?: boolean;
  /** This side's MAC on an Ethernet wire, `02:00:00:00:00:01` (default: random, locally administered, from the seed). */
  readonly mac?: string;
}

/** Settings of the wire VirtualNetwork.connect lays. */
export interface WireSettings {
  /** Largest IP packet (bytes); 1500 by default. */
  readonly mtu?: number;
  /** One-way delay (ms); 0 by default. */
  readonly latencyMs?: number;
  /** Added to the captures' timestamps (ms since the Unix epoch); 0 by default. */
  readonly captureEpochMs?: number;
  /** TCP segmentation offload across the wire (bare-IP wires only; see VirtualWire). */
  readonly segmentationOffload?: boolean;
  /**
   * What the wire carries: bare IPv4 packets (`ip`, the default, as a TUN device) or Ethernet
   * frames (as a TAP device or a veth pair), each side then resolving the other's MAC with ARP
   * through an EthernetAdapter; captures are then Ethernet (link type 1), ARP included.
   */
  readonly medium?: LinkMedium;
}

/** A connection made by VirtualNetwork.connect. */
export interface Connection {
  /** The wire joining the two sides, named `wireN`. */
  readonly wire: VirtualWire;
  /** What the first attachment got. */
  readonly a: {
    /** The interface added to its stack. */
    readonly iface: NetworkInterface;
    /** Its capture, when `capture` was asked for. */
    readonly tap?: PcapTap;
    /** Its fault injector, when `faults` were given. */
    readonly faults?: FaultInjector;
    /** Its IPv4-over-Ethernet adapter (MAC, ARP cache, counters), on an Ethernet wire. */
    readonly ethernet?: EthernetAdapter;
  };
  /** What the second attachment got. */
  readonly b: {
    /** The interface added to its stack. */
    readonly iface: NetworkInterface;
    /** Its capture, when `capture` was asked for. */
    readonly tap?: PcapTap;
    /** Its fault injector, when `faults` were given. */
    readonly faults?: FaultInjector;
    /** Its IPv4-over-Ethernet adapter (MAC, ARP cache, counters), on an Ethernet wire. */
    readonly ethernet?: EthernetAdapter;
  };
}

/** Options of VirtualNetwork.runAsync. */
export interface RunAsyncOptions {
  /** Virtual time allowed before giving up (ms; default 60 000). */
  readonly limitMs?: number;
  /** Event-loop turns to wait, with no stack work at the current instant, before the clock jumps (default 4). */
  readonly settleTurns?: number;
  /** Real time to wait when nothing at all is scheduled in virtual time (ms; default 1000). */
  readonly idleRealTimeMs?: number;
  /** Steps (polls of every stack) allowed before giving up with an error (default 10 000 000). */
  readonly maxSteps?: number;
}

/** Stacks on virtual wires, driven in virtual time. */
export class VirtualNetwork {
  /** The virtual clock every stack of the network reads. */
  readonly clock = new ManualClock();
  /** The stacks made by `createStack`, in order. */
  readonly stacks: Stack[] = [];
  private readonly rng: Rng;
  private wireCount = 0;

  /** A network with no stacks yet; `seed` fixes every random choice of its stacks and links. */
  constructor(
    /** The seed of every random choice of the network's stacks and links. */
    readonly seed = 1,
  ) {
    this.rng = new Rng(seed);
  }

  /** The virtual time now (ms). */
  get now(): number {
    return this.clock.now();
  }

  /** A new stack on this network, seeded from the network's seed. */
  createStack(name: string, options: Omit<StackOptions, 'name'> = {}): Stack {
    const stack = new Stack({ seed: this.rng.nextU32(), ...options, name });
    stack.setTimeSource(this.clock);
    this.stacks.push(stack);
    return stack;
  }

  /**
   * Joins two stacks with a wire; each side gets an interface with the given address. On an
   * Ethernet wire the layers of each side are, from the stack down: EthernetAdapter (ARP),
   * PcapTap (so the capture holds whole Ethernet frames), FaultInjector, the wire's end.
   */
  connect(a: Attachment, b: Attachment, options: WireSettings = {}): Connection {
    const index = this.wireCount++;
    const medium = options.medium ?? 'ip';
    const wire = new VirtualWire({
      name: `wire${index}`,
      mtu: options.mtu ?? 1500,
      latencyMs: options.latencyMs ?? 0,
      medium,
      segmentationOffload: options.segmentationOffload,
    });
    const attach = (side: Attachment, end: Link) => {
      let link: Link = end;
      let faults: FaultInjector | undefined;
      let tap: PcapTap | undefined;
      let ethernet: EthernetAdapter | undefined;
      if (side.faults) link = faults = new FaultInjector(link, side.faults, new Rng(this.rng.nextU32()));
      if (side.capture) link = tap = new PcapTap(link, { epochMs: options.captureEpochMs ?? 0 });
      if (medium === 'ethernet') link = ethernet = this.ethernetAdapter(side, link);
      const iface = side.stack.addInterface({ name: side.interfaceName ?? `eth${index}`, link, address: side.address, address6: side.address6 });
      return { iface, tap, faults, ethernet };
    };
    return { wire, a: attach(a, wire.a), b: attach(b, wire.b) };
  }

  /** IPv4 over the Ethernet link `link` for `side`, next hops from its stack's routes. */
  private ethernetAdapter(side: Attachment, link: Link): EthernetAdapter {
    const address = parseIpv4Cidr(side.address);
    if (!address) throw new Error(`connect: bad address ${side.address}; expected a.b.c.d/n`);
    const mac = side.mac === undefined ? randomLocalMac(() => this.rng.nextFloat()) : parseMac(side.mac);
    if (!mac) throw new Error(`connect: bad MAC ${side.mac}; expected six hex octets, 02:00:00:00:00:01`);
    const stack = side.stack;
    return new EthernetAdapter(link, { mac, address, nextHop: (destination) => stack.ip.routes.lookup(destination)?.gateway ?? destination });
  }

  /** The earliest time any stack has work, or Infinity. */
  pollAt(): number {
    let next = Infinity;
    for (const stack of this.stacks) next = Math.min(next, stack.pollAt());
    return next;
  }

  /**
   * Advances to the next deadline (never backwards) and polls every stack there.
   * Returns false when no stack has anything to do.
   */
  step(): boolean {
    const next = this.pollAt();
    if (next === Infinity) return false;
    this.stepAt(next);
    return true;
  }

  /**
   * Polls every stack at `next`, what pollAt just answered: the loops below ask pollAt once a
   * step and hand its answer here (every stack's pollAt is a good part of a step's cost).
   */
  private stepAt(next: number): void {
    if (next > this.clock.now()) this.clock.set(next);
    const now = this.clock.now();
    for (const stack of this.stacks) stack.poll(now);
  }

  /** Runs until nothing is left to do, or `limitMs` of virtual time passed; returns the time. */
  runUntilIdle(limitMs = 10 * 60_000, maxSteps = 10_000_000): number {
    const end = this.clock.now() + limitMs;
    for (let steps = 0; steps < maxSteps; steps++) {
      const next = this.pollAt();
      if (next > end || next === Infinity) break;
      this.stepAt(next);
    }
    return this.clock.now();
  }

  /** Runs for exactly `ms` of virtual time. */
  run(ms: number, maxSteps = 10_000_000): void {
    const end = this.clock.now() + ms;
    for (let steps = 0; steps < maxSteps; steps++) {
      const next = this.pollAt();
      if (next > end || next === Infinity) break;
      this.stepAt(next);
    }
    this.clock.set(end);
  }

  /**
   * Runs asynchronous, Node-style code (callbacks, promises, `stack.net`/`stack.dgram`) in
   * virtual time until `until` settles, and returns its value (or rejects with its error).
   *
   * It alternates turns of Node's event loop (`await setImmediate`) with `step()`: while any
   * stack has work at the current instant it steps at that instant; when none has, it first
   * lets the event loop turn `settleTurns` more times, so that callbacks, ticks and immediates
   * of this instant finish before the clock jumps to the next deadline. Deterministic for a
   * seed, as long as the code waits only on the network (not on real timers or files).
   *
   * Rejects when `limitMs` of virtual time pass first, or when nothing is left to do in virtual
   * time and `until` is still pending after `idleRealTimeMs` of real time (waiting for real I/O).
   */
  async runAsync<T>(until: Promise<T> | (() => Promise<T>), options: RunAsyncOptions = {}): Promise<T> {
    const limitMs = options.limitMs ?? 60_000;
    const settleTurns = options.settleTurns ?? 4;
    const idleRealTimeMs = options.idleRealTimeMs ?? 1_000;
    const maxSteps = options.maxSteps ?? 10_000_000;
    const promise = typeof until === 'function' ? until() : until;
    let outcome: { value: T } | { error: unknown } | null = null;
    promise.then(
      (value) => (outcome = { value }),
      (error: unknown) => (outcome = { error }),
    );
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    const end = this.clock.now() + limitMs;
    let quietTurns = 0;
    let idleSince: number | null = null;
    for (let steps = 0; ;) {
      await turn();
      if (outcome) break;
      const next = this.pollAt();
      if (next <= this.clock.now()) {
        quietTurns = 0;
        idleSince = null;
        if (++steps > maxSteps) throw new Error(`runAsync: more than ${maxSteps} steps`);
        this.stepAt(next);
        continue;
      }
      if (quietTurns < settleTurns) {
        quietTurns++;
        continue;
      }
      quietTurns = 0;
      if (next === Infinity) {
        // Nothing scheduled in virtual time: the code waits on something real, or on nothing.
        idleSince ??= performance.now();
        if (performance.now() - idleSince > idleRealTimeMs) {
          throw new Error(`runAsync: nothing left to do in virtual time at ${this.clock.now()} ms and the promise is still pending`);
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      idleSince = null;
      if (next > end) throw new Error(`runAsync: not settled within ${limitMs} ms of virtual time`);
      if (++steps > maxSteps) throw new Error(`runAsync: more than ${maxSteps} steps`);
      this.stepAt(next);
    }
    const result = outcome as { value: T } | { error: unknown };
    if ('error' in result) throw result.error;
    return result.value;
  }

  /** Runs until `done()` is true; throws if it is not within `limitMs` of virtual time. */
  runUntil(done: () => boolean, limitMs = 60_000, maxSteps = 10_000_000): void {
    const end = this.clock.now() + limitMs;
    for (let steps = 0; steps < maxSteps && !done(); steps++) {
      const next = this.pollAt();
      if (next > end || next === Infinity) break;
      this.stepAt(next);
    }
    if (!done()) throw new Error(`runUntil: condition not met within ${limitMs} ms of virtual time`);
  }
}
