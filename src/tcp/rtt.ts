/**
 * Round-trip time estimation and the retransmission timeout (RFC 6298), with the smoothing
 * adjustment RFC 7323 Appendix G recommends when timestamps give an RTT sample on every ACK.
 *
 * Pure arithmetic: the caller measures RTT samples (from the clock it was given, or from the
 * timestamps option, RFC 7323 §4) and applies Karn's rule (RFC 6298 §3: no sample from a
 * segment that was retransmitted, unless timestamps tell the transmissions apart). Values are in
 * milliseconds and kept as floating point, which RFC 6298 §2 allows; nothing here rounds.
 */

/** Tunables of the retransmission timeout, all in milliseconds. */
export interface RtoConfig {
  /**
   * RTO before any sample (RFC 6298 §2.1: 1 s). After a SYN was retransmitted and no sample
   * came of the handshake, §5.7 wants 3 s once data flows: the caller builds a fresh estimator
   * with `initialMs: 3000`.
   */
  readonly initialMs: number;
  /**
   * Lower bound on the computed RTO. RFC 6298 §2.4 says 1 s; Linux uses 200 ms (TCP_RTO_MIN),
   * and so do we by default.
   */
  readonly minMs: number;
  /** Upper bound on the RTO, backoff included (RFC 6298 §2.5: at least 60 s; Linux TCP_RTO_MAX 120 s). */
  readonly maxMs: number;
  /** G, the clock granularity (RFC 6298 §2): the variance term is at least this much. */
  readonly clockGranularityMs: number;
}

/**
 * What a connection needs of its round-trip estimator: RFC 6298's (RttEstimator) or Linux's
 * (LinuxRttEstimator, rtt-linux.ts). Times in milliseconds.
 */
export interface RoundTripEstimator {
  readonly config: RtoConfig;
  /** SRTT; undefined before the first sample. */
  readonly srtt: number | undefined;
  /** The mean deviation of the RTT (RTTVAR); undefined before the first sample. */
  readonly rttvar: number | undefined;
  /** The smallest sample seen. */
  readonly minRtt: number | undefined;
  /** The most recent sample. */
  readonly latestRtt: number | undefined;
  /** Timer expiries since the last sample or `resetBackoff()`. */
  readonly backoffCount: number;
  /** The RTO before backoff. */
  readonly baseRto: number;
  /** The RTO to arm the timer with, backoff included. */
  readonly rto: number;
  /** One RTT measurement, taken with SND.UNA and SND.NXT as given (Linux's rounds use them). */
  measure(rttMs: number, sndUna: number, sndNxt: number): void;
  /** The retransmission timer expired: double the RTO. */
  backoff(): void;
  /** Back to the RTO the estimate gives. */
  resetBackoff(): void;
}

/** Default RtoConfig: 1 s initial, 200 ms floor (as Linux), 120 s ceiling, 1 ms granularity. */
export const DEFAULT_RTO_CONFIG: RtoConfig = { initialMs: 1000, minMs: 200, maxMs: 120_000, clockGranularityMs: 1 };

/** RFC 6298 §2.3: alpha = 1/8, the gain of SRTT. */
const ALPHA = 1 / 8;
/** RFC 6298 §2.3: beta = 1/4, the gain of RTTVAR. */
const BETA = 1 / 4;
/** RFC 6298 §2.2: K = 4, how many RTTVARs above SRTT the timeout sits. */
const K = 4;
/**
 * Backoff exponents beyond this change nothing: 2^64 times any positive RTO exceeds any sane
 * maxMs. Keeps `base * 2^backoff` finite however many times the timer expired.
 */
const MAX_BACKOFF_EXPONENT = 64;

/**
 * The RFC 6298 estimator for one connection: SRTT, RTTVAR, and the RTO derived from them,
 * with the exponential backoff of §5.5.
 *
 * A valid sample recomputes RTO from §2 and so cancels any backoff, as RFC 6298 §5 notes after
 * step 5.7 ("collapsing" RTO back down). Whether an ACK of new data without a sample also
 * cancels it (Linux does) is the caller's decision: call `resetBackoff()`.
 */
export class RttEstimator implements RoundTripEstimator {
  /** The configuration this estimator clamps with. */
  readonly config: RtoConfig;
  private smoothed: number | undefined = undefined;
  private variation: number | undefined = undefined;
  private minimum: number | undefined = undefined;
  private latest: number | undefined = undefined;
  private backoffs = 0;

  constructor(config: RtoConfig = DEFAULT_RTO_CONFIG) {
    if (!(config.minMs >= 0 && config.minMs <= config.maxMs && config.initialMs >= 0 && config.clockGranularityMs >= 0)) {
      throw new RangeError('RttEstimator: need 0 ≤ minMs ≤ maxMs, initialMs ≥ 0, clockGranularityMs ≥ 0');
    }
    this.config = config;
  }

  /** SRTT, the smoothed round-trip time (ms); undefined before the first sample. */
  get srtt(): number | undefined {
    return this.smoothed;
  }

  /** RTTVAR, the smoothed mean deviation of the round-trip time (ms); undefined before the first sample. */
  get rttvar(): number | undefined {
    return this.variation;
  }

  /** The smallest sample seen on this connection (ms); not windowed (Linux keeps a 5-minute windowed minimum). */
  get minRtt(): number | undefined {
    return this.minimum;
  }

  /** The most recent sample (ms). */
  get latestRtt(): number | undefined {
    return this.latest;
  }

  /** How many times the timer has been backed off since the last sample or `resetBackoff()`. */
  get backoffCount(): number {
    return this.backoffs;
  }

  /**
   * Feeds one RTT measurement `rttMs` (≥ 0).
   *
   * The first sample sets SRTT = R, RTTVAR = R/2 (RFC 6298 §2.2). Later ones update RTTVAR
   * first, from the old SRTT, then SRTT (§2.3): RTTVAR ← (1−β)·RTTVAR + β·|SRTT − R'|,
   * SRTT ← (1−α)·SRTT + α·R'.
   *
   * `samplesPerRtt` is RFC 7323 Appendix G's ExpectedSamples, for a sender that takes a sample
   * from every ACK (timestamps, RFC 7323 §4.2): the caller passes ceil(FlightSize / (2·SMSS)),
   * and α and β are divided by it so that SRTT and RTTVAR keep about one RTT's worth of memory
   * per window, as with one sample per RTT. Values below 1 count as 1 (the plain RFC 6298 gains).
   *
   * A sample cancels the backoff (see the class comment). Throws RangeError for a negative or
   * non-finite sample: the caller must have rejected an implausible timestamp echo before this.
   */
  sample(rttMs: number, samplesPerRtt = 1): void {
    if (!(rttMs >= 0 && Number.isFinite(rttMs))) throw new RangeError(`RttEstimator.sample: bad RTT ${rttMs}`);
    this.latest = rttMs;
    this.minimum = this.minimum === undefined ? rttMs : Math.min(this.minimum, rttMs);
    this.backoffs = 0;
    if (this.smoothed === undefined || this.variation === undefined) {
      // RFC 6298 §2.2: the first measurement.
      this.smoothed = rttMs;
      this.variation = rttMs / 2;
      return;
    }
    const expected = samplesPerRtt >= 1 && Number.isFinite(samplesPerRtt) ? samplesPerRtt : 1;
    const alpha = ALPHA / expected;
    const beta = BETA / expected;
    // RFC 6298 §2.3: RTTVAR uses the SRTT from before this sample.
    this.variation = (1 - beta) * this.variation + beta * Math.abs(this.smoothed - rttMs);
    this.smoothed = (1 - alpha) * this.smoothed + alpha * rttMs;
  }

  /** One RTT measurement (RoundTripEstimator): `sample` with RFC 6298's gains. */
  measure(rttMs: number): void {
    this.sample(rttMs);
  }

  /**
   * The RTO before backoff: `initialMs` until a sample (RFC 6298 §2.1), then
   * SRTT + max(G, K·RTTVAR) (§2.2, §2.3), clamped to [minMs, maxMs] (§2.4, §2.5).
   */
  get baseRto(): number {
    const { initialMs, minMs, maxMs, clockGranularityMs } = this.config;
    const unclamped =
      this.smoothed === undefined || this.variation === undefined ? initialMs : this.smoothed + Math.max(clockGranularityMs, K * this.variation);
    return Math.min(maxMs, Math.max(minMs, unclamped));
  }

  /** The RTO to arm the timer with: min(maxMs, baseRto · 2^backoffCount) (RFC 6298 §5.5, §2.5). */
  get rto(): number {
    const exponent = Math.min(this.backoffs, MAX_BACKOFF_EXPONENT);
    return Math.min(this.config.maxMs, this.baseRto * 2 ** exponent);
  }

  /**
   * The retransmission timer expired: double the RTO (RFC 6298 §5.5), never beyond maxMs.
   * The count keeps rising after the RTO reached maxMs, so it can also count consecutive
   * expiries for giving up (RFC 9293 §3.8.3's R2).
   */
  backoff(): void {
    this.backoffs += 1;
  }

  /** Cancels the backoff, back to the RTO that SRTT and RTTVAR give. */
  resetBackoff(): void {
    this.backoffs = 0;
  }
}
