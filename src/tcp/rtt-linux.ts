/**
 * Linux's retransmission timeout (tcp_rtt_estimator, tcp_set_rto), a deviation from RFC 6298
 * that Linux scripts pin (TcpConfig.rttEstimator = 'linux').
 *
 * RFC 6298 §2 sets RTO = SRTT + max(G, 4·RTTVAR) and then raises it to the minimum RTO. Linux
 * keeps SRTT and the mean deviation with the same gains, but the term it adds to SRTT is not
 * 4·RTTVAR itself: it is the largest 4·RTTVAR seen in the current round trip, never below the
 * minimum RTO, decaying toward the next round's largest by a quarter of the gap per round. So
 * the RTO is SRTT + at least 200 ms — on a steady 100 ms path 300 ms where RFC 6298 gives
 * 200 ms — and a round of jittery samples raises it at once while calm rounds lower it slowly.
 * A sample below SRTT moves the deviation only by an eighth of the usual gain when it would
 * raise it (Linux's take on Eifel: a falling RTT should not inflate the timeout).
 *
 * Arithmetic is Linux's, in integer microseconds with its shifts, so SRTT, the deviation and
 * the RTO come out as Linux reports them in TCP_INFO; the RTO is rounded up to whole
 * milliseconds (Linux's jiffies at HZ=1000).
 */
import type { RoundTripEstimator, RtoConfig } from './rtt.js';
import { seqGt } from './seq.js';

/** Backoff exponents beyond this change nothing (as in rtt.ts). */
const MAX_BACKOFF_EXPONENT = 64;

/** Linux's estimator; times in and out in milliseconds, kept inside in microseconds. */
export class LinuxRttEstimator implements RoundTripEstimator {
  readonly config: RtoConfig;
  /** 8·SRTT, µs (Linux's srtt_us); 0 before the first sample. */
  private smoothedTimes8 = 0;
  /** 4·mean deviation, µs (Linux's mdev_us). */
  private deviationTimes4 = 0;
  /** The largest deviation term of the current round, at least the minimum RTO (mdev_max_us). */
  private roundLargestDeviation = 0;
  /** The term added to SRTT for the RTO (rttvar_us). */
  private timeoutVariance = 0;
  /** SND.NXT when the current round began (rtt_seq): a round ends once SND.UNA passes it. */
  private roundEnd = 0;
  private minimum: number | undefined = undefined;
  private latest: number | undefined = undefined;
  private backoffs = 0;

  constructor(config: RtoConfig) {
    if (!(config.minMs >= 0 && config.minMs <= config.maxMs && config.initialMs >= 0)) {
      throw new RangeError('LinuxRttEstimator: need 0 ≤ minMs ≤ maxMs, initialMs ≥ 0');
    }
    this.config = config;
  }

  get srtt(): number | undefined {
    return this.smoothedTimes8 === 0 ? undefined : (this.smoothedTimes8 >>> 3) / 1000;
  }

  /** The mean deviation (TCP_INFO's rttvar: mdev_us / 4), ms. */
  get rttvar(): number | undefined {
    return this.smoothedTimes8 === 0 ? undefined : (this.deviationTimes4 >>> 2) / 1000;
  }

  get minRtt(): number | undefined {
    return this.minimum;
  }

  get latestRtt(): number | undefined {
    return this.latest;
  }

  get backoffCount(): number {
    return this.backoffs;
  }

  /** SRTT + the round's variance term, rounded up to whole ms, at most maxMs; initialMs before a sample. */
  get baseRto(): number {
    if (this.smoothedTimes8 === 0) return Math.min(this.config.maxMs, this.config.initialMs);
    const micros = (this.smoothedTimes8 >>> 3) + this.timeoutVariance;
    return Math.min(this.config.maxMs, Math.ceil(micros / 1000));
  }

  get rto(): number {
    return Math.min(this.config.maxMs, this.baseRto * 2 ** Math.min(this.backoffs, MAX_BACKOFF_EXPONENT));
  }

  /**
   * One RTT measurement of `rttMs`, taken when SND.UNA was `sndUna` and SND.NXT `sndNxt`: the
   * round trip whose largest deviation sets the RTO ends when SND.UNA passes the SND.NXT of the
   * sample that began it.
   */
  measure(rttMs: number, sndUna: number, sndNxt: number): void {
    if (!(rttMs >= 0 && Number.isFinite(rttMs))) throw new RangeError(`LinuxRttEstimator.measure: bad RTT ${rttMs}`);
    this.latest = rttMs;
    this.minimum = this.minimum === undefined ? rttMs : Math.min(this.minimum, rttMs);
    this.backoffs = 0;
    const sample = Math.max(1, Math.round(rttMs * 1000));
    const floor = Math.round(this.config.minMs * 1000);
    if (this.smoothedTimes8 === 0) {
      // The first sample: SRTT = R and 4·deviation = 2R, so that the RTO is 3R (or R + the minimum).
      this.smoothedTimes8 = sample * 8;
      this.deviationTimes4 = sample * 2;
      this.timeoutVariance = Math.max(this.deviationTimes4, floor);
      this.roundLargestDeviation = this.timeoutVariance;
      this.roundEnd = sndNxt;
      return;
    }
    let error = sample - (this.smoothedTimes8 >>> 3);
    this.smoothedTimes8 = Math.max(1, this.smoothedTimes8 + error);
    if (error < 0) {
      // A faster sample: a deviation it would raise moves by 1/32 instead of 1/4.
      error = -error - (this.deviationTimes4 >>> 2);
      if (error > 0) error >>= 3;
    } else {
      error -= this.deviationTimes4 >>> 2;
    }
    this.deviationTimes4 += error;
    if (this.deviationTimes4 > this.roundLargestDeviation) {
      this.roundLargestDeviation = this.deviationTimes4;
      if (this.roundLargestDeviation > this.timeoutVariance) this.timeoutVariance = this.roundLargestDeviation;
    }
    if (seqGt(sndUna, this.roundEnd)) {
      // A round ended: the variance term falls a quarter of the way to that round's largest.
      if (this.roundLargestDeviation < this.timeoutVariance) this.timeoutVariance -= (this.timeoutVariance - this.roundLargestDeviation) >> 2;
      this.roundEnd = sndNxt;
      this.roundLargestDeviation = floor;
    }
  }

  backoff(): void {
    this.backoffs += 1;
  }

  resetBackoff(): void {
    this.backoffs = 0;
  }
}
