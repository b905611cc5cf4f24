/**
 * The Neighbor Cache of one interface and Neighbor Unreachability Detection (RFC 4861 §5.1,
 * §7.2, §7.3): for each on-link neighbor its link-layer address, whether it is a router, and its
 * reachability state, with the packets that wait for its address.
 *
 *   INCOMPLETE ── NA (solicited) ──▶ REACHABLE ── ReachableTime ──▶ STALE ── a packet sent ──▶ DELAY
 *       │  multicast NS every RetransTimer        ▲                                            │ 5 s
 *       │  MAX_MULTICAST_SOLICIT unanswered:      └──── NA (solicited) ◀── PROBE ◀──────────────┘
 *       ▼  deleted, waiting packets unreachable             unicast NS every RetransTimer,
 *                                                           MAX_UNICAST_SOLICIT unanswered: deleted
 *
 * Timers are deadlines run by `poll(now)` (virtual time in tests); what the cache sends goes
 * through `NeighborCacheActions`, so the cache itself builds no packet. Memory is bounded: at
 * most `cacheLimit` entries (the least recently used STALE one goes first) and `queueLimit`
 * packets per INCOMPLETE entry (RFC 4861 §7.2.2: "the queue SHOULD be bounded"; the oldest is
 * dropped, as the RFC suggests).
 */
import type { Stats } from '../core/stats.js';
import { bytesEqual } from '../core/bytes.js';
import { formatIpv6Address, type Ipv6Address } from './ipv6-address.js';
import type { NdpCounterName } from './ndp-counters.js';

/** A Neighbor Cache entry's reachability state (RFC 4861 §7.3.2). */
export type NeighborState = 'INCOMPLETE' | 'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE';

/** RFC 4861 §10's protocol constants and the per-interface variables of §6.3.2 that NUD uses. */
export interface NeighborTimers {
  /** ReachableTime (ms): how long a confirmation lasts; random in [0.5, 1.5] × BaseReachableTime. */
  readonly reachableTimeMs: number;
  /** RetransTimer (ms) between solicitations (RETRANS_TIMER 1 s, or a router's). */
  readonly retransTimerMs: number;
  /** DELAY_FIRST_PROBE_TIME (5 s): how long DELAY waits for an upper-layer hint before probing. */
  readonly delayFirstProbeTimeMs: number;
  /** MAX_MULTICAST_SOLICIT (3): multicast solicitations before an address is unreachable. */
  readonly maxMulticastSolicit: number;
  /** MAX_UNICAST_SOLICIT (3): unicast probes before a neighbor is unreachable. */
  readonly maxUnicastSolicit: number;
}

/** How the cache acts on the world: its owner (NeighborDiscovery) builds and sends. */
export interface NeighborCacheActions {
  /** Send a Neighbor Solicitation for `target`: multicast when `linkAddress` is null, else unicast to it (a probe). `waiting`: a packet that prompted it. */
  solicit(target: Ipv6Address, linkAddress: Uint8Array | null, waiting: Uint8Array | null, now: number): void;
  /** Send a packet that waited for `linkAddress`. */
  deliver(linkAddress: Uint8Array, packet: Uint8Array, segmentSize: number, now: number): void;
  /** Resolution of `target` failed: what waited is lost (RFC 4861 §7.2.2: address unreachable for each). */
  unreachable(target: Ipv6Address, waiting: readonly Uint8Array[], wasRouter: boolean, now: number): void;
}

/** What a Neighbor Cache entry holds (RFC 4861 §5.1). */
export interface NeighborEntry {
  /** The neighbor's on-link unicast IP address. */
  readonly address: Ipv6Address;
  /** Its link-layer address; null while INCOMPLETE. */
  linkAddress: Uint8Array | null;
  /** IsRouter. */
  isRouter: boolean;
  /** Reachability state. */
  state: NeighborState;
  /** When the state's timer fires (Infinity: none; STALE has none). */
  deadline: number;
  /** Solicitations sent in this state. */
  solicitations: number;
  /** Packets waiting for the address (INCOMPLETE only). */
  readonly queue: Array<{ readonly packet: Uint8Array; readonly segmentSize: number }>;
}

/** The flags of a received Neighbor Advertisement (RFC 4861 §4.4). */
export interface AdvertisementFlags {
  /** R. */
  readonly router: boolean;
  /** S. */
  readonly solicited: boolean;
  /** O. */
  readonly override: boolean;
}

/** RFC 4861 §10's defaults. */
export const NUD_DEFAULTS: NeighborTimers = {
  reachableTimeMs: 30_000,
  retransTimerMs: 1_000,
  delayFirstProbeTimeMs: 5_000,
  maxMulticastSolicit: 3,
  maxUnicastSolicit: 3,
};

/** The Neighbor Cache of one interface. */
export class NeighborCache {
  /** By address text; Map order is least recently used first. */
  private readonly entries = new Map<string, NeighborEntry>();

  constructor(
    /** The timers in force (a router's RA may change them: `setTimers`). */
    private timers: NeighborTimers,
    private readonly actions: NeighborCacheActions,
    private readonly stats: Stats<NdpCounterName>,
    /** Entries held at most (Linux gc_thresh3: 1024). */
    readonly cacheLimit = 1024,
    /** Packets queued per unresolved address (Linux unres_qlen is about 100). */
    readonly queueLimit = 64,
  ) {}

  /** Takes new ReachableTime / RetransTimer values (RFC 4861 §6.3.4); running timers keep theirs. */
  setTimers(timers: NeighborTimers): void {
    this.timers = timers;
  }

  /** The timers in force. */
  get currentTimers(): NeighborTimers {
    return this.timers;
  }

  /** The entry for `address`, or undefined. */
  get(address: Ipv6Address): Readonly<NeighborEntry> | undefined {
    return this.entries.get(formatIpv6Address(address));
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /** Every entry, for `ip -6 neigh`-style display and tests. */
  list(): readonly Readonly<NeighborEntry>[] {
    return [...this.entries.values()];
  }

  /**
   * A packet is to be sent to on-link `address` (the next hop): its link-layer address, or null
   * when the packet was queued (or dropped, the queue full) while the address is resolved
   * (RFC 4861 §7.2.2). Sending to a STALE entry starts NUD: DELAY (§7.3.3).
   */
  resolve(address: Ipv6Address, packet: Uint8Array, segmentSize: number, now: number): Uint8Array | null {
    const key = formatIpv6Address(address);
    let entry = this.entries.get(key);
    if (entry && entry.state !== 'INCOMPLETE') {
      if (entry.state === 'STALE') this.enter(entry, 'DELAY', now + this.timers.delayFirstProbeTimeMs);
      return entry.linkAddress;
    }
    if (!entry) {
      entry = this.create(key, address, null, 'INCOMPLETE', now + this.timers.retransTimerMs);
      entry.solicitations = 1;
      this.stats.increment('ndp.resolutions');
      this.actions.solicit(address, null, packet, now);
    }
    if (entry.queue.length >= this.queueLimit) {
      entry.queue.shift();
      this.stats.increment('drop.ndp.queueFull');
    }
    entry.queue.push({ packet, segmentSize });
    return null;
  }

  /**
   * A Neighbor Solicitation, Router Solicitation, Router Advertisement or Redirect came from
   * `address` with its link-layer address (RFC 4861 §7.2.3, §6.2.6, §6.3.4, §8.3): a new entry is
   * STALE, a changed address makes an entry STALE, an unchanged one keeps its state; an
   * INCOMPLETE entry becomes STALE and sends what waited. `isRouter`: true from an RA, false
   * from an RS, undefined (unchanged; false when new) from an NS; a Redirect's target sets it.
   */
  learn(address: Ipv6Address, linkAddress: Uint8Array, isRouter: boolean | undefined, now: number): void {
    const key = formatIpv6Address(address);
    const entry = this.entries.get(key);
    if (!entry) {
      this.create(key, address, linkAddress.slice(), 'STALE', Infinity).isRouter = isRouter ?? false;
      return;
    }
    this.touch(key, entry);
    if (isRouter !== undefined) entry.isRouter = isRouter;
    if (entry.state === 'INCOMPLETE') {
      entry.linkAddress = linkAddress.slice();
      this.enter(entry, 'STALE', Infinity);
      this.sendQueued(entry, now);
      return;
    }
    if (!bytesEqual(entry.linkAddress!, linkAddress)) {
      entry.linkAddress = linkAddress.slice();
      this.enter(entry, 'STALE', Infinity);
    }
  }

  /**
   * A Neighbor Advertisement about `target` (RFC 4861 §7.2.5): no entry, nothing; INCOMPLETE
   * takes the address (REACHABLE when solicited, else STALE) and sends what waited; otherwise the
   * Override flag decides whether a different address replaces the cached one. Returns true
   * when the neighbor stopped being a router (IsRouter went from true to false), which the
   * caller must take out of the Default Router List.
   */
  advertised(target: Ipv6Address, linkAddress: Uint8Array | null, flags: AdvertisementFlags, now: number): boolean {
    const key = formatIpv6Address(target);
    const entry = this.entries.get(key);
    if (!entry) {
      this.stats.increment('ndp.rx.unsolicitedAdvertisementIgnored');
      return false;
    }
    const wasRouter = entry.isRouter;
    if (entry.state === 'INCOMPLETE') {
      // "If no Target Link-Layer Address option is included, the receiving node SHOULD silently discard the received advertisement."
      if (linkAddress === null) return false;
      entry.linkAddress = linkAddress.slice();
      entry.isRouter = flags.router;
      this.enter(entry, flags.solicited ? 'REACHABLE' : 'STALE', flags.solicited ? now + this.timers.reachableTimeMs : Infinity);
      this.sendQueued(entry, now);
      return wasRouter && !entry.isRouter;
    }
    const different = linkAddress !== null && !bytesEqual(linkAddress, entry.linkAddress!);
    if (!flags.override && different) {
      // The advertisement may be stale news: keep the address, but doubt a REACHABLE entry.
      if (entry.state === 'REACHABLE') this.enter(entry, 'STALE', Infinity);
      return false;
    }
    if (different) entry.linkAddress = linkAddress.slice();
    if (flags.solicited) this.enter(entry, 'REACHABLE', now + this.timers.reachableTimeMs);
    else if (different) this.enter(entry, 'STALE', Infinity);
    entry.isRouter = flags.router;
    return wasRouter && !entry.isRouter;
  }

  /** RFC 4861 §6.3.4: a Router Advertisement without its source's link-layer address still marks an existing entry a router. */
  markRouter(address: Ipv6Address): void {
    const entry = this.entries.get(formatIpv6Address(address));
    if (entry) entry.isRouter = true;
  }

  /** Forgets `address` (its packets dropped). */
  remove(address: Ipv6Address): void {
    const key = formatIpv6Address(address);
    const entry = this.entries.get(key);
    if (!entry) return;
    this.stats.increment('drop.ndp.unresolved', entry.queue.length);
    this.entries.delete(key);
  }

  /** The next deadline, or Infinity. */
  pollAt(): number {
    let next = Infinity;
    for (const entry of this.entries.values()) if (entry.deadline < next) next = entry.deadline;
    return next;
  }

  /** Runs the timers due at `now` (RFC 4861 §7.3.3, Appendix C). */
  poll(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.deadline > now) continue;
      switch (entry.state) {
        case 'INCOMPLETE':
          if (entry.solicitations >= this.timers.maxMulticastSolicit) {
            // §7.2.2: address resolution failed; each waiting packet gets address unreachable.
            this.entries.delete(key);
            this.stats.increment('ndp.resolutionFailures');
            this.stats.increment('drop.ndp.unresolved', entry.queue.length);
            this.actions.unreachable(
              entry.address,
              entry.queue.map((waiting) => waiting.packet),
              false,
              now,
            );
            break;
          }
          entry.solicitations++;
          entry.deadline = now + this.timers.retransTimerMs;
          this.actions.solicit(entry.address, null, entry.queue[entry.queue.length - 1]?.packet ?? null, now);
          break;
        case 'REACHABLE':
          this.enter(entry, 'STALE', Infinity);
          break;
        case 'DELAY':
          this.enter(entry, 'PROBE', now + this.timers.retransTimerMs);
          entry.solicitations = 1;
          this.stats.increment('ndp.probes');
          this.actions.solicit(entry.address, entry.linkAddress, null, now);
          break;
        case 'PROBE':
          if (entry.solicitations >= this.timers.maxUnicastSolicit) {
            // §7.3.3: "the entry SHOULD be deleted"; a router among them is no longer chosen (§6.3.6).
            this.entries.delete(key);
            this.stats.increment('ndp.unreachable');
            this.actions.unreachable(entry.address, [], entry.isRouter, now);
            break;
          }
          entry.solicitations++;
          entry.deadline = now + this.timers.retransTimerMs;
          this.stats.increment('ndp.probes');
          this.actions.solicit(entry.address, entry.linkAddress, null, now);
          break;
        case 'STALE':
          break;
      }
    }
  }

  private enter(entry: NeighborEntry, state: NeighborState, deadline: number): void {
    entry.state = state;
    entry.deadline = deadline;
    entry.solicitations = 0;
  }

  private create(key: string, address: Ipv6Address, linkAddress: Uint8Array | null, state: NeighborState, deadline: number): NeighborEntry {
    if (this.entries.size >= this.cacheLimit) this.evict();
    const entry: NeighborEntry = { address: address.slice(), linkAddress, isRouter: false, state, deadline, solicitations: 0, queue: [] };
    this.entries.set(key, entry);
    return entry;
  }

  /** Makes room: the least recently used STALE entry, else the least recently used of any (Linux's forced GC). */
  private evict(): void {
    let victim: string | undefined;
    for (const [key, entry] of this.entries) {
      if (entry.state === 'STALE') {
        victim = key;
        break;
      }
    }
    victim ??= this.entries.keys().next().value;
    if (victim === undefined) return;
    this.stats.increment('ndp.cacheEvictions');
    this.remove(this.entries.get(victim)!.address);
  }

  private touch(key: string, entry: NeighborEntry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  private sendQueued(entry: NeighborEntry, now: number): void {
    const queue = entry.queue.splice(0);
    for (const { packet, segmentSize } of queue) this.actions.deliver(entry.linkAddress!, packet, segmentSize, now);
  }
}
