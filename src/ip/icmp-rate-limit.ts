/**
 * How fast this host may send ICMP errors (RFC 1812 §4.3.2.8, RFC 1122 §3.2.2): two limits,
 * as Linux keeps them.
 *
 * - Per destination (Linux's icmp_ratelimit, applied through its inet_peer entries): a token
 *   bucket per host the errors go to, one token every `errorIntervalPerDestinationMs`, holding
 *   at most `errorBurstPerDestination` (Linux's XRLIM_BURST_FACTOR, 6). One peer provoking
 *   errors as fast as it can gets six and then one a second, and cannot use up the budget of
 *   everyone else.
 * - Global (icmp_msgs_per_sec, icmp_msgs_burst): a ceiling over all destinations, so that many
 *   peers together, or spoofed sources, cannot make the host a traffic amplifier.
 *
 * The per-destination table has a fixed number of entries and forgets the least recently used
 * one when full: a flood from forged sources costs a bounded amount of memory, and a
 * destination it pushes out merely starts again with a full bucket — still under the global
 * ceiling.
 *
 * One limiter serves ICMPv4 and ICMPv6 (as Linux's icmp_global is shared by both): an IPv6
 * destination is keyed by its text (ipv6-address.ts's RFC 5952 form).
 */
import { TokenBucket } from '../core/token-bucket.js';
import type { Ipv4Address } from './address.js';

/** The limits, in the units of Linux's sysctls. */
export interface IcmpRateLimitConfig {
  /** Errors per second over all destinations (icmp_msgs_per_sec; Linux 1000). */
  readonly errorRatePerSecond: number;
  /** The burst above that rate (icmp_msgs_burst; Linux 50). */
  readonly errorBurst: number;
  /** One error per this many ms to each destination (icmp_ratelimit; Linux 1000; 0: no limit). */
  readonly errorIntervalPerDestinationMs: number;
  /** How many errors a destination may get at once after a quiet spell (Linux: 6). */
  readonly errorBurstPerDestination: number;
  /** Destinations the limiter remembers at most (the least recently used are forgotten). */
  readonly errorDestinationsMax: number;
}

/** Which limit refused an error. */
export type IcmpRateLimit = 'global' | 'destination';

/** The two token buckets of one stack's ICMP errors. */
export class IcmpRateLimiter {
  /** Whole errors, errorRatePerSecond a second up to errorBurst (Linux's icmp_global). */
  private readonly global: TokenBucket;
  /**
   * Buckets by destination, least recently used first (a Map keeps insertion order). Their
   * tokens are ms of credit, one per ms, as Linux's inet_peer rate_tokens.
   */
  private readonly destinations = new Map<Ipv4Address | string, TokenBucket>();

  constructor(public config: IcmpRateLimitConfig) {
    this.global = new TokenBucket(config.errorBurst);
  }

  /** Destinations remembered now (never more than errorDestinationsMax). */
  get destinationCount(): number {
    return this.destinations.size;
  }

  /**
   * Takes the tokens for one error to `destination`, or says which limit refuses it. The global
   * bucket is looked at first but paid only when the destination's bucket also allows the error
   * (Linux: icmp_global_allow, then icmpv4_xrlim_allow, then icmp_global_consume), so a refused
   * destination does not eat into everyone's budget. `perDestination` false skips the
   * destination's bucket (Linux does for errors over loopback).
   */
  take(destination: Ipv4Address | string, now: number, perDestination = true): IcmpRateLimit | null {
    // The capacity is applied at every call: a burst lowered while running (configure) takes effect at once.
    const { errorBurst, errorRatePerSecond } = this.config;
    if (!this.global.allows(now, 1, { capacity: errorBurst, tokens: errorRatePerSecond, everyMs: 1000 })) return 'global';
    if (perDestination && !this.destinationAllows(destination, now)) return 'destination';
    this.global.spend(1);
    return null;
  }

  /** Linux's inet_peer_xrlim_allow: credit in ms, capped at burst × interval, one interval per error. */
  private destinationAllows(destination: Ipv4Address | string, now: number): boolean {
    const interval = this.config.errorIntervalPerDestinationMs;
    if (!(interval > 0)) return true;
    let bucket = this.destinations.get(destination);
    if (bucket) {
      this.destinations.delete(destination); // re-inserted below: now the most recently used
    } else {
      // A destination not seen (or forgotten) starts with a full bucket, as a new inet_peer.
      while (this.destinations.size >= Math.max(1, this.config.errorDestinationsMax)) {
        const oldest = this.destinations.keys().next().value as Ipv4Address | string;
        this.destinations.delete(oldest);
      }
      bucket = new TokenBucket();
    }
    this.destinations.set(destination, bucket);
    return bucket.take(now, interval, { capacity: interval * this.config.errorBurstPerDestination, tokens: 1, everyMs: 1 });
  }
}
