/**
 * A Link decorator that makes a link misbehave on purpose, reproducibly: loss, duplication,
 * reordering, bit corruption, delay with jitter, and a rate limit with a bounded queue (a slow
 * router's tail drop). All randomness comes from the injected Rng, so a seed fixes every fault.
 * Faults apply to transmitted frames, received frames, or both.
 */
import type { Rng } from '../core/rng.js';
import { Ipv4Packet } from '../ip/ipv4.js';
import { Stats, type CounterNameOf, type CounterRegistry } from '../core/stats.js';
import { LinkDecorator, type FrameReceiver, type Link } from './link.js';

/** Which frames are subjected to faults. */
export type FaultDirection = 'transmit' | 'receive' | 'both';

/** Fault settings; every rate is a probability in [0, 1]. */
export interface FaultConfig {
  /** Probability that a frame is dropped. */
  readonly lossRate?: number;
  /** Probability that a frame is delivered twice, both copies at the same time. */
  readonly duplicateRate?: number;
  /** Probability that a frame is held back by `reorderDelayMs` so later frames overtake it. */
  readonly reorderRate?: number;
  /** How long (ms) a reordered frame is held back; 1 when unset. */
  readonly reorderDelayMs?: number;
  /** Probability that one random bit of the frame is flipped. */
  readonly corruptRate?: number;
  /**
   * Probability that an ECN-capable packet (ECT(0) or ECT(1)), IPv4 or IPv6, is marked Congestion
   * Experienced instead of being dropped, as an AQM router would (RFC 3168 §5). `ip` links only.
   */
  readonly congestionMarkRate?: number;
  /** Fixed one-way delay (ms) and uniform jitter added to it. */
  readonly delayMs?: number;
  /** Largest random extra delay (ms): each frame gets a uniform draw from [0, jitterMs) on top of `delayMs`. */
  readonly jitterMs?: number;
  /** Bytes per second the link drains; frames wait their turn. Infinite when unset. */
  readonly rateBytesPerSecond?: number;
  /** Frames that may wait for the rate limit before new ones are tail-dropped. */
  readonly queueLimit?: number;
  /** Which frames the faults apply to; `transmit` when unset. */
  readonly direction?: FaultDirection;
}

interface Scheduled {
  readonly frame: Uint8Array;
  readonly time: number;
  readonly order: number;
  /** For the inner link's transmit (TSO), 0 otherwise. */
  readonly segmentSize: number;
  /** For the receiver (see FrameReceiver). */
  readonly checksumTrusted: boolean;
}

/** What a FaultInjector counts, in its own `stats` (see core/stats.ts). docs/counters.md lists it. */
export const FAULT_COUNTERS = {
  'fault.lost': 'frames lost (FaultConfig.lossRate)',
  'fault.queueDropped': 'frames dropped at the tail of a full queue (FaultConfig.queueLimit)',
  'fault.congestionMarked': 'ECN-capable IPv4 and IPv6 packets marked Congestion Experienced instead of dropped (FaultConfig.congestionMarkRate)',
  'fault.corrupted': 'frames with one bit flipped (FaultConfig.corruptRate)',
  'fault.reordered': 'frames held back to arrive after later ones (FaultConfig.reorderRate)',
  'fault.duplicated': 'frames delivered twice (FaultConfig.duplicateRate)',
  'fault.passed': 'frames passed on, whatever else befell them (a duplicate counts once)',
} as const satisfies CounterRegistry;

/** A counter of a FaultInjector. */
export type FaultCounterName = CounterNameOf<typeof FAULT_COUNTERS>;

/** A link that injects faults into another link's traffic. */
export class FaultInjector extends LinkDecorator {
  /** What it did to the frames: the counters of FAULT_COUNTERS. */
  readonly stats = new Stats<FaultCounterName>();
  private receiver: FrameReceiver | null = null;
  private readonly outgoing: Scheduled[] = [];
  private readonly incoming: Scheduled[] = [];
  private order = 0;
  private transmitFreeAt = 0;
  private receiveFreeAt = 0;

  /** Wraps `inner` with the faults of `config`, drawing every random choice from `rng`. */
  constructor(
    inner: Link,
    private readonly config: FaultConfig,
    private readonly rng: Rng,
  ) {
    super(inner);
    inner.setReceiver((frame, now, checksumTrusted = false) => {
      if (this.applies('receive')) this.schedule(this.incoming, frame, now, 'receive', 0, checksumTrusted);
      else this.receiver?.(frame, now, checksumTrusted);
    });
  }

  /** A large segment (the inner link's segmentation offload) is one frame here, lost or delayed whole. */
  override transmit(frame: Uint8Array, now: number, segmentSize = 0): void {
    if (this.applies('transmit')) this.schedule(this.outgoing, frame, now, 'transmit', segmentSize);
    else this.inner.transmit(frame, now, segmentSize);
  }

  override setReceiver(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }

  override pollAt(): number {
    return Math.min(this.inner.pollAt(), this.outgoing[0]?.time ?? Infinity, this.incoming[0]?.time ?? Infinity);
  }

  override poll(now: number): void {
    this.inner.poll(now);
    while (this.outgoing.length > 0 && this.outgoing[0].time <= now) {
      const { frame, segmentSize } = this.outgoing.shift()!;
      this.inner.transmit(frame, now, segmentSize);
    }
    while (this.incoming.length > 0 && this.incoming[0].time <= now) {
      const { frame, checksumTrusted } = this.incoming.shift()!;
      this.receiver?.(frame, now, checksumTrusted);
    }
  }

  private applies(direction: 'transmit' | 'receive'): boolean {
    const configured = this.config.direction ?? 'transmit';
    return configured === 'both' || configured === direction;
  }

  private chance(rate: number | undefined): boolean {
    return rate !== undefined && rate > 0 && this.rng.nextFloat() < rate;
  }

  private schedule(queue: Scheduled[], frame: Uint8Array, now: number, direction: 'transmit' | 'receive', segmentSize = 0, checksumTrusted = false): void {
    const c = this.config;
    if (this.chance(c.lossRate)) {
      this.stats.increment('fault.lost');
      return;
    }
    if (c.queueLimit !== undefined && queue.length >= c.queueLimit) {
      this.stats.increment('fault.queueDropped');
      return;
    }
    // A received frame is lent only for the receive (docs/architecture.md, "Link"): one held
    // for later is copied. A transmitted one the link may keep (Link.transmit).
    let copy = direction === 'receive' ? frame.slice() : frame;
    // The draw only for ECN-capable packets, so that other traffic leaves the Rng's sequence alone.
    if (this.medium === 'ip' && isEcnCapable(frame) && this.chance(c.congestionMarkRate)) {
      copy = markCongestionExperienced(frame)!;
      this.stats.increment('fault.congestionMarked');
    }
    if (this.chance(c.corruptRate) && frame.length > 0) {
      if (copy === frame) copy = frame.slice();
      const bit = this.rng.nextInt(0, frame.length * 8);
      copy[bit >> 3] ^= 1 << (bit & 7);
      checksumTrusted = false; // damaged on the way: nobody vouches for it any more
      this.stats.increment('fault.corrupted');
    }
    // Rate limit: each frame leaves when the previous one has finished serialising.
    let departure = now;
    if (c.rateBytesPerSecond !== undefined && c.rateBytesPerSecond > 0) {
      const freeAt = direction === 'transmit' ? this.transmitFreeAt : this.receiveFreeAt;
      departure = Math.max(now, freeAt) + (frame.length * 1000) / c.rateBytesPerSecond;
      if (direction === 'transmit') this.transmitFreeAt = departure;
      else this.receiveFreeAt = departure;
    }
    let time = departure + (c.delayMs ?? 0) + (c.jitterMs ? this.rng.nextFloat() * c.jitterMs : 0);
    if (this.chance(c.reorderRate)) {
      time += c.reorderDelayMs ?? 1;
      this.stats.increment('fault.reordered');
    }
    this.insert(queue, { frame: copy, time, order: this.order++, segmentSize, checksumTrusted });
    if (this.chance(c.duplicateRate)) {
      this.stats.increment('fault.duplicated');
      this.insert(queue, { frame: copy, time, order: this.order++, segmentSize, checksumTrusted });
    }
    this.stats.increment('fault.passed');
  }

  /** Inserts keeping the queue sorted by time, ties in arrival order. */
  private insert(queue: Scheduled[], item: Scheduled): void {
    let low = 0;
    let high = queue.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (queue[mid].time <= item.time) low = mid + 1;
      else high = mid;
    }
    queue.splice(low, 0, item);
  }
}

/** The ECN field of an IPv4 or IPv6 packet (the version nibble decides), or null for anything else. */
function ecnField(frame: Uint8Array): number | null {
  const version = frame.length > 0 ? frame[0] >> 4 : 0;
  if (version === 4 && frame.length >= 20) return frame[1] & 3;
  // IPv6's Traffic Class straddles the first two octets: its low four bits, ECN among them, are
  // the high nibble of the second (RFC 8200 §3).
  if (version === 6 && frame.length >= 40) return (frame[1] >> 4) & 3;
  return null;
}

/** True for an IPv4 or IPv6 packet marked ECT(0) or ECT(1) (RFC 3168 §5). */
export function isEcnCapable(frame: Uint8Array): boolean {
  const ecn = ecnField(frame);
  return ecn === 1 || ecn === 2;
}

/**
 * A copy of `frame` with its ECN field set to CE (RFC 3168 §5), or null when it is not an
 * ECN-capable IP packet (Not-ECT, already CE, too short, neither version). The version nibble
 * says where the field is: IPv4's TOS octet, whose header checksum is then recomputed as a router
 * would (RFC 1624); IPv6's Traffic Class (RFC 8200 §7), which no checksum covers (the upper-layer
 * pseudo-header leaves it out, §8.1).
 */
export function markCongestionExperienced(frame: Uint8Array): Uint8Array | null {
  if (!isEcnCapable(frame)) return null;
  const copy = frame.slice();
  if (frame[0] >> 4 === 4) {
    copy[1] |= 3;
    Ipv4Packet.unchecked(copy).fillChecksum();
  } else {
    copy[1] |= 0x30;
  }
  return copy;
}
