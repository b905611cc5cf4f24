/**
 * CUBIC congestion control, RFC 9438.
 *
 * The RFC works in segments and seconds; so does this file internally. The sender sees bytes
 * (cwnd and ssthresh rounded to whole bytes) and gives times in milliseconds.
 *
 * In:
 *  - §4.2 window increase function W_cubic(t) = C*(t − K)^3 + W_max, K = cbrt((W_max −
 *    cwnd_epoch)/C), target = W_cubic(t + RTT) clamped to [cwnd, 1.5*cwnd], with RTT the
 *    sender's smoothed RTT (RFC 6298) that `onAck` receives (0 until the first sample);
 *  - §4.3 Reno-friendly region: W_est from cwnd_epoch, α_cubic = 3(1 − β)/(1 + β), and α = 1
 *    once W_est ≥ cwnd_prior;
 *  - §4.4/§4.5 concave and convex regions: cwnd += (target − cwnd)/cwnd per SMSS acknowledged;
 *  - §4.6 multiplicative decrease from the flight size with β_cubic = 0.7, the 2-segment floor
 *    for loss and the 1-segment floor for ECE;
 *  - §4.7 fast convergence (on by default; `fastConvergence: false` turns it off, as §4.7 says
 *    to for a flow known to be alone on its path);
 *  - §4.8 timeout: Reno's cwnd = 1 segment, ssthresh from β_cubic; in the first congestion
 *    avoidance stage afterwards K = 0 and W_max = W_est = cwnd_epoch;
 *  - §4.10 slow start: RFC 5681 with RFC 3465 byte counting (L = 2), as in NewReno;
 *  - §5.8 application-limited flows: app-limited ACKs grow nothing, and the time spent
 *    application-limited is taken out of t by moving epoch_start forward;
 *  - §4.9 undo after a spurious congestion event, when the sender finds by D-SACK that every
 *    retransmission of a recovery was needless (RFC 3708; onSpuriousCongestionEvent).
 *
 * Not implemented:
 *  - HyStart++ (RFC 9406): without it W_max is always defined by a loss or a timeout before
 *    the first congestion avoidance stage, so the §4.10 "W_max undefined" case only guards
 *    corner cases. (Linux's CUBIC, congestion-cubic-linux.ts, has the older HyStart; the RTT
 *    samples and rounds it needs reach a controller through `onRttSample`.)
 *  - RFC 7661 (new-CWV) idle handling; idle restart is RFC 5681 §4.1 (cwnd = min(IW, cwnd)),
 *    and the next congestion avoidance stage starts a fresh epoch so idle time is not in t.
 *    (Whether the window is validated, `appLimited`, is the sender's measurement:
 *    cwnd-validation.ts.)
 */

import {
  ABC_LIMIT_SEGMENTS,
  assertMss,
  slowStartGrowth,
  DEFAULT_INITIAL_WINDOW_SEGMENTS,
  initialWindow,
  type CongestionAlgorithm,
  type CongestionControl,
  type CongestionControlOptions,
} from './congestion.js';

/** RFC 9438 §4.1.1 / §5: C, in segments per second cubed. */
export const CUBIC_C = 0.4;
/** RFC 9438 §4.6: β_cubic, the multiplicative decrease factor. */
export const CUBIC_BETA = 0.7;
/** RFC 9438 §4.3: α_cubic = 3(1 − β_cubic)/(1 + β_cubic), Reno's average window under CUBIC's β. */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** What §4.9 restores after a spurious congestion event (windows in segments). */
interface CubicState {
  readonly cwnd: number;
  readonly ssthresh: number;
  readonly wMax: number | undefined;
  readonly cwndPrior: number;
  readonly wEst: number;
  readonly k: number;
  readonly epochStart: number | undefined;
}

/** Options for {@link CubicCongestionControl}. */
export interface CubicOptions extends CongestionControlOptions {
  /** RFC 9438 §4.7 fast convergence; default true. */
  fastConvergence?: boolean;
}

/** CUBIC (RFC 9438): windows kept in segments, shown to the sender in bytes. */
export class CubicCongestionControl implements CongestionControl {
  readonly algorithm: CongestionAlgorithm = 'cubic';

  private mss: number;
  private readonly initialWindowSegments: number;
  private readonly fastConvergence: boolean;
  /** RFC 3465's L in segments (CongestionControlOptions.slowStartAckLimitSegments). */
  private readonly slowStartLimit: number;

  /** cwnd and ssthresh in segments (fractional, as in the RFC). */
  private cwndSegs: number;
  private ssthreshSegs = Number.POSITIVE_INFINITY;
  /** W_max; undefined until the first congestion event (§4.10: "W_max is undefined"). */
  private wMax: number | undefined;
  /** cwnd_prior: cwnd when ssthresh was last set (§4.3, §4.6). */
  private cwndPrior = 0;
  /** W_est, the Reno-friendly estimate (§4.3). */
  private wEst = 0;
  /** K in seconds (§4.2, Figure 2). */
  private k = 0;
  /** epoch_start in ms, undefined while no congestion avoidance stage is running. */
  private epochStart: number | undefined;
  /** When the current run of application-limited ACKs began (§5.8). */
  private appLimitedSince: number | undefined;
  /** The sender's smoothed RTT in ms as of the last ACK, the RTT of §4.2. */
  private srttMs: number | undefined;
  /** Between a loss or ECE reaction and `onRecoveryEnd`: no further reduction, no growth. */
  private recovering = false;
  /** The next congestion avoidance stage is the first after a timeout (§4.8). */
  private firstAvoidanceAfterTimeout = false;
  /** In the slow start that follows a retransmission timeout (RFC 3465 §2.3: L = 1*SMSS there). */
  private slowStartAfterTimeout = false;
  /** An RTO fired and no new data has been acknowledged since (RFC 5681 §3.1, note on eq. 4). */
  private timeoutWithoutProgress = false;
  /** §4.9: the state just before the last loss reduction, for onSpuriousCongestionEvent. */
  private beforeReduction: CubicState | null = null;

  constructor(mss: number, options: CubicOptions = {}) {
    assertMss(mss);
    this.mss = mss;
    this.initialWindowSegments = options.initialWindowSegments ?? DEFAULT_INITIAL_WINDOW_SEGMENTS;
    this.fastConvergence = options.fastConvergence ?? true;
    this.slowStartLimit = options.slowStartAckLimitSegments ?? ABC_LIMIT_SEGMENTS;
    this.cwndSegs = (options.window?.cwnd ?? initialWindow(mss, this.initialWindowSegments)) / mss;
    if (options.window !== undefined) this.ssthreshSegs = options.window.ssthresh / mss;
  }

  get cwnd(): number {
    return Math.round(this.cwndSegs * this.mss);
  }

  get ssthresh(): number {
    return Number.isFinite(this.ssthreshSegs) ? Math.round(this.ssthreshSegs * this.mss) : this.ssthreshSegs;
  }

  /** cwnd in segments, unrounded (for tests and traces). */
  get cwndSegments(): number {
    return this.cwndSegs;
  }

  /** W_max in segments, or undefined before the first congestion event. */
  get wMaxSegments(): number | undefined {
    return this.wMax;
  }

  /** K in seconds for the current congestion avoidance stage. */
  get kSeconds(): number {
    return this.k;
  }

  /** W_est in segments (§4.3). */
  get wEstSegments(): number {
    return this.wEst;
  }

  /** epoch_start in ms, or undefined outside congestion avoidance. */
  get epochStartMs(): number | undefined {
    return this.epochStart;
  }

  /** The smoothed RTT used for the §4.2 target, ms, or undefined before the first sample. */
  get smoothedRttMs(): number | undefined {
    return this.srttMs;
  }

  /** True between a loss or ECN reaction and `onRecoveryEnd` (or an RTO). */
  get inRecovery(): boolean {
    return this.recovering;
  }

  /** The sender MSS the byte views are currently scaled to. */
  get segmentSize(): number {
    return this.mss;
  }

  onAck(bytesAcked: number, now: number, srttMs: number | undefined, appLimited: boolean): void {
    if (srttMs !== undefined && Number.isFinite(srttMs) && srttMs >= 0) this.srttMs = srttMs;
    if (!(bytesAcked > 0)) return;
    this.timeoutWithoutProgress = false;
    if (this.recovering) return;
    let segmentsAcked = bytesAcked / this.mss;

    if (this.cwndSegs < this.ssthreshSegs) {
      // §4.10: RFC 5681 slow start with RFC 3465 byte counting; §5.8: no growth when app-limited.
      if (appLimited) return;
      const share = slowStartGrowth(this.cwndSegs, this.ssthreshSegs, segmentsAcked, this.slowStartLimit, this.slowStartAfterTimeout);
      this.cwndSegs = Math.min(this.cwndSegs + share.growth, this.ssthreshSegs);
      if (this.cwndSegs >= this.ssthreshSegs) this.slowStartAfterTimeout = false;
      if (!(share.left > 0)) return;
      segmentsAcked = share.left;
    }
    this.slowStartAfterTimeout = false;

    if (appLimited) {
      // §5.8: "CUBIC does not increase cwnd when a flow is application limited", and §4.2: t
      // "MUST NOT include long periods during which cwnd has not been updated due to an
      // application limit". Remember when the run began; the epoch moves by its length.
      if (this.epochStart !== undefined && this.appLimitedSince === undefined) this.appLimitedSince = now;
      return;
    }
    if (this.epochStart === undefined) {
      this.startEpoch(now);
    } else if (this.appLimitedSince !== undefined) {
      this.epochStart += Math.max(0, now - this.appLimitedSince);
      this.appLimitedSince = undefined;
    }
    const epochStart = this.epochStart as number;
    const t = Math.max(0, now - epochStart) / 1000;
    const rtt = (this.srttMs ?? 0) / 1000;
    const cwnd = this.cwndSegs;

    // §4.3 Figure 4, per SMSS acknowledged (byte counting, as §4.3 asks when ABC is on).
    const alpha = this.wEst >= this.cwndPrior ? 1 : CUBIC_ALPHA;
    this.wEst += (alpha * segmentsAcked) / cwnd;

    if (this.wCubic(t) < this.wEst) {
      // §4.3: Reno-friendly region, cwnd = W_est. An ACK never shrinks the window, so a cwnd
      // that the cubic target already carried past W_est stays where it is.
      this.cwndSegs = Math.max(cwnd, this.wEst);
      return;
    }
    // §4.2 target, then §4.4 (cwnd < W_max, concave) and §4.5 (cwnd ≥ W_max, convex), which
    // grow alike: (target − cwnd)/cwnd per new ACK, here per SMSS acknowledged so delayed or
    // stretch ACKs do not slow the curve down; never past the target.
    const target = Math.min(Math.max(this.wCubic(t + rtt), cwnd), 1.5 * cwnd);
    this.cwndSegs = Math.min(target, cwnd + ((target - cwnd) / cwnd) * segmentsAcked);
  }

  onCongestionEvent(_now: number, flightSize: number): void {
    if (!this.recovering) {
      this.beforeReduction = {
        cwnd: this.cwndSegs,
        ssthresh: this.ssthreshSegs,
        wMax: this.wMax,
        cwndPrior: this.cwndPrior,
        wEst: this.wEst,
        k: this.k,
        epochStart: this.epochStart,
      };
    }
    // §4.6: "cwnd >= 2 SMSS" after a loss.
    this.reduce(flightSize, 2);
  }

  onSpuriousCongestionEvent(_now: number): void {
    // §4.9: back to cwnd_prior, ssthresh_prior, W_max, K, epoch_start and W_est from before the
    // reduction; cwnd and ssthresh not below what they have grown to since.
    const before = this.beforeReduction;
    if (!before || this.recovering) return;
    this.cwndSegs = Math.max(this.cwndSegs, before.cwnd);
    this.ssthreshSegs = Math.max(this.ssthreshSegs, before.ssthresh);
    this.wMax = before.wMax;
    this.cwndPrior = before.cwndPrior;
    this.wEst = before.wEst;
    this.k = before.k;
    this.epochStart = before.epochStart;
    this.beforeReduction = null;
    // After a spurious timeout (F-RTO, RFC 5682): no longer the first stage after a timeout.
    this.firstAvoidanceAfterTimeout = false;
    this.slowStartAfterTimeout = false;
    this.timeoutWithoutProgress = false;
  }

  onEcnEcho(_now: number, flightSize: number): void {
    // §4.6 Figure 5: after ECE the window may go down to 1 SMSS (no packet was lost, so the ACK
    // clock is intact); otherwise the same reaction as to a loss (RFC 3168 §6.1.2).
    this.beforeReduction = null; // reported congestion is never undone
    this.reduce(flightSize, 1);
  }

  onRecoveryEnd(_now: number): void {
    // cwnd already holds the §4.6 reduced window; the sender's fast recovery (RFC 6675 / PRR)
    // brought the flight down to it. Congestion avoidance, and a new epoch, start with the next
    // ACK that fills the window.
    this.recovering = false;
  }

  onRetransmitTimeout(_now: number, flightSize: number): void {
    // §4.8: cwnd as Reno (RFC 5681 §3.1: one segment), ssthresh as in §4.6. A repeated timeout
    // with nothing acknowledged in between holds ssthresh (RFC 5681 §3.1, note after eq. 4).
    // The state before it is kept for §4.9's undo should F-RTO (RFC 5682) prove the timeout
    // spurious; a repeated timeout keeps what the first one found.
    if (!this.timeoutWithoutProgress) {
      this.beforeReduction = {
        cwnd: this.cwndSegs,
        ssthresh: this.ssthreshSegs,
        wMax: this.wMax,
        cwndPrior: this.cwndPrior,
        wEst: this.wEst,
        k: this.k,
        epochStart: this.epochStart,
      };
      this.cwndPrior = this.cwndSegs;
      this.ssthreshSegs = Math.max(this.flightSegments(flightSize) * CUBIC_BETA, 2);
    }
    this.cwndSegs = 1;
    this.recovering = false;
    this.epochStart = undefined;
    this.appLimitedSince = undefined;
    this.firstAvoidanceAfterTimeout = true;
    this.slowStartAfterTimeout = true;
    this.timeoutWithoutProgress = true;
  }

  onIdleRestart(_now: number, _rtoMs: number): void {
    // RFC 5681 §4.1: cwnd = RW = min(IW, cwnd). The idle time must not count in t (§4.2, §5.8):
    // the epoch ends here and the next congestion avoidance stage starts its own.
    const iw = initialWindow(this.mss, this.initialWindowSegments) / this.mss;
    this.cwndSegs = Math.min(this.cwndSegs, iw);
    this.epochStart = undefined;
    this.appLimitedSince = undefined;
  }

  setMss(mss: number): void {
    // Windows are held in segments, so they keep their segment count; only the byte view changes.
    assertMss(mss);
    this.mss = mss;
  }

  /** §4.2 Figure 1: W_cubic(t) = C*(t − K)^3 + W_max, t in seconds. */
  private wCubic(t: number): number {
    const d = t - this.k;
    return CUBIC_C * d * d * d + (this.wMax ?? this.cwndSegs);
  }

  /** The beginning of a congestion avoidance stage (§4.2, §4.3, §4.8, §4.10). */
  private startEpoch(now: number): void {
    this.epochStart = now;
    this.appLimitedSince = undefined;
    const cwndEpoch = this.cwndSegs;
    // §4.3: "W_est is set equal to cwnd_epoch at the start of the congestion avoidance stage".
    this.wEst = cwndEpoch;
    if (this.firstAvoidanceAfterTimeout || this.wMax === undefined || this.wMax <= cwndEpoch) {
      // §4.8 (first stage after a timeout) and §4.10 (W_max undefined): K = 0 and W_max =
      // cwnd_epoch. The same when W_max is not above cwnd_epoch, where Figure 2 would give
      // K ≤ 0 and put the stage straight into the steep part of the convex curve.
      this.wMax = cwndEpoch;
      this.k = 0;
    } else {
      // §4.2 Figure 2: K = cbrt((W_max − cwnd_epoch)/C).
      this.k = Math.cbrt((this.wMax - cwndEpoch) / CUBIC_C);
    }
    this.firstAvoidanceAfterTimeout = false;
  }

  /** §4.6 multiplicative decrease (with §4.7 fast convergence), once per recovery episode. */
  private reduce(flightSize: number, cwndFloorSegments: number): void {
    if (this.recovering) return;
    this.recovering = true;
    const cwnd = this.cwndSegs;
    // §4.7: a W_max not reached again means the share of the path shrank; give up more of it.
    this.wMax = this.fastConvergence && this.wMax !== undefined && cwnd < this.wMax ? (cwnd * (1 + CUBIC_BETA)) / 2 : cwnd;
    // §4.6 Figure 5.
    const ssthresh = this.flightSegments(flightSize) * CUBIC_BETA;
    this.cwndPrior = cwnd;
    this.cwndSegs = Math.max(ssthresh, cwndFloorSegments);
    this.ssthreshSegs = Math.max(ssthresh, 2);
    this.epochStart = undefined;
    this.appLimitedSince = undefined;
    this.firstAvoidanceAfterTimeout = false;
    this.slowStartAfterTimeout = false;
  }

  private flightSegments(flightSize: number): number {
    return Number.isFinite(flightSize) && flightSize > 0 ? flightSize / this.mss : 0;
  }
}
