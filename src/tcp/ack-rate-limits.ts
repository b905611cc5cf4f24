/**
 * Limits on the ACKs TCP sends in answer to segments it rejects: challenge ACKs (RFC 5961 §3.2,
 * §4.2, §5.2) and the ACK RFC 9293 §3.10.7.4 sends for an unacceptable segment (out of the
 * window, or old by PAWS, RFC 7323 §5.3).
 *
 * RFC 5961 §7 asks for a limit on challenge ACKs. One stack-wide budget alone (ustack had one,
 * as Linux before 4.7) is a side channel: an off-path attacker who provokes challenge ACKs on
 * its own connection and counts them learns whether some other connection spent part of the
 * budget, and so whether a guessed RST or SYN hit its window (CVE-2016-5696). Linux since 4.7
 * limits each connection first (`__tcp_oow_rate_limited`, one answer per tcp_invalid_ratelimit,
 * 500 ms) and keeps a stack-wide ceiling whose budget is drawn anew, at random, every second, so
 * that the attacker cannot know it (`tcp_send_challenge_ack`). We do the same.
 *
 * The same per-connection limit, on the same clock, also keeps two stacks that each find the
 * other's segments unacceptable from answering each other forever (an "ACK storm"): Linux's
 * `tcp_oow_rate_limited`, applied to the duplicate ACKs for out-of-window and PAWS-rejected
 * segments, in TIME-WAIT, and to a half-open connection's SYN-ACK repeats.
 */
import type { Rng } from '../core/rng.js';
import { TokenBucket } from '../core/token-bucket.js';

/**
 * One connection's limit on answers to invalid segments: at most one per `intervalMs`
 * (TcpConfig.invalidAckRateLimitMs; Linux's per-socket last_oow_ack_time and
 * tcp_invalid_ratelimit). Challenge ACKs and out-of-window ACKs share it, as in Linux.
 */
export class InvalidSegmentAckLimit {
  /** Credit in ms, one per ms, one interval per answer: full after `intervalMs` of quiet; made at the first answer. */
  private bucket: TokenBucket | null = null;

  /**
   * Whether an answer may go at `now`; if so, it counts as sent. An interval of 0 turns the
   * limit off.
   */
  allow(now: number, intervalMs: number): boolean {
    this.bucket ??= new TokenBucket();
    return this.bucket.take(now, intervalMs, { capacity: intervalMs, tokens: 1, everyMs: 1 });
  }
}

/**
 * Whether an unacceptable segment's answer is subject to the per-connection limit. Linux
 * (`tcp_oow_rate_limited`) exempts segments that carry data or a FIN and no SYN: they are not
 * the pure ACKs two confused stacks would bounce between each other, and a peer retransmitting
 * data we already have needs the ACK (and D-SACK, RFC 2883) to stop.
 */
export function answerIsRateLimited(segmentLength: number, syn: boolean): boolean {
  return segmentLength === 0 || syn;
}

/** A per-second budget at or above this is no limit (Linux: tcp_challenge_ack_limit = INT_MAX). */
const UNLIMITED = 0x7fffffff;

/**
 * The stack-wide ceiling on challenge ACKs (RFC 5961 §7), applied after each connection's own
 * limit: every second of the clock a budget is drawn uniformly from [⌈limit/2⌉,
 * ⌈limit/2⌉ + limit − 1], averaging the configured limit (Linux's tcp_send_challenge_ack since
 * 4.7, with `half = (limit + 1) >> 1`), from the stack's injected Rng.
 */
export class ChallengeAckCeiling {
  private second = Number.NaN;
  private remaining = 0;

  constructor(private readonly rng: Rng) {}

  /** Whether one more challenge ACK may go at `now` under a limit of `perSecond`; if so, it is spent. */
  allow(now: number, perSecond: number): boolean {
    if (perSecond >= UNLIMITED) return true;
    if (perSecond <= 0) return false;
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      const half = Math.floor((perSecond + 1) / 2);
      this.remaining = half + this.rng.nextInt(0, perSecond);
    }
    if (this.remaining <= 0) return false;
    this.remaining--;
    return true;
  }
}
