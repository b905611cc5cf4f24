/**
 * NewReno congestion control: RFC 5681 slow start and congestion avoidance with Appropriate
 * Byte Counting (RFC 3465), and the window rules of RFC 6582 NewReno fast recovery.
 *
 * What lives here and what lives in the sender:
 *  - Entering recovery sets ssthresh = max(FlightSize/2, 2*SMSS) and cwnd = ssthresh
 *    (RFC 5681 §3.2 step 2; RFC 6675 §5 step 4.2). The controller does NOT inflate cwnd to
 *    ssthresh + 3*SMSS nor by one SMSS per further duplicate ACK (RFC 5681 §3.2 steps 3–4,
 *    RFC 6582 §3.2 steps 3–4). Inflation is an accounting device that lets a sender without
 *    SACK keep the ACK clock going; with SACK the sender counts `pipe` instead (RFC 6675 §5),
 *    and a non-SACK sender can use cwnd + (3 + extra duplicate ACKs)*SMSS as its usable window
 *    without changing the controller's cwnd. Keeping cwnd un-inflated means `cwnd` always
 *    means the same thing and no deflation step can be forgotten.
 *  - Partial ACKs during recovery (RFC 6582 §3.2 step 5) are the sender's: it retransmits
 *    and does not call `onAck`.
 *  - Recovery ends with cwnd = ssthresh, option (2) of RFC 6582 §3.2 step 3 ("full
 *    acknowledgment"); option (1) needs the FlightSize at that moment, which the sender may
 *    enforce itself by not bursting.
 *  - ECN-Echo reduces exactly as a loss does (RFC 3168 §6.1.2 "halves the congestion window
 *    and reduces the slow start threshold"), at most once until `onRecoveryEnd`.
 *  - Idle restart is RFC 5681 §4.1 (cwnd = RW = min(IW, cwnd)). RFC 7661 (new-CWV): whether
 *    an ACK may grow cwnd is measured by the sender, which tracks what it sends
 *    (cwnd-validation.ts), and arrives as `appLimited`; its non-validated-period timer (cwnd
 *    decay after six RTTs unused) is not implemented.
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

/** NewReno (RFC 5681, RFC 3465 with L = 2, RFC 6582), windows in bytes. */
export class NewRenoCongestionControl implements CongestionControl {
  readonly algorithm: CongestionAlgorithm = 'newreno';

  private mss: number;
  private readonly initialWindowSegments: number;
  /** RFC 3465's L in segments (CongestionControlOptions.slowStartAckLimitSegments). */
  private readonly slowStartLimit: number;
  private cwndBytes: number;
  /** RFC 5681 §3.1: "initial value of ssthresh SHOULD be set arbitrarily high". */
  private ssthreshBytes = Number.POSITIVE_INFINITY;
  /** RFC 3465 §2.1 `bytes_acked`: bytes acknowledged in congestion avoidance not yet turned into cwnd. */
  private bytesAckedInAvoidance = 0;
  /** Between a loss or ECE reaction and `onRecoveryEnd`: no further reduction, no growth. */
  private recovering = false;
  /** cwnd and ssthresh just before the last loss reduction, for onSpuriousCongestionEvent. */
  private beforeReduction: { readonly cwnd: number; readonly ssthresh: number } | null = null;
  /** In the slow start that follows a retransmission timeout (RFC 3465 §2.3: L = 1*SMSS there). */
  private slowStartAfterTimeout = false;
  /** An RTO fired and no new data has been acknowledged since (RFC 5681 §3.1, note on eq. 4). */
  private timeoutWithoutProgress = false;

  constructor(mss: number, options: CongestionControlOptions = {}) {
    assertMss(mss);
    this.mss = mss;
    this.initialWindowSegments = options.initialWindowSegments ?? DEFAULT_INITIAL_WINDOW_SEGMENTS;
    this.slowStartLimit = options.slowStartAckLimitSegments ?? ABC_LIMIT_SEGMENTS;
    this.cwndBytes = options.window?.cwnd ?? initialWindow(mss, this.initialWindowSegments);
    this.ssthreshBytes = options.window?.ssthresh ?? Number.POSITIVE_INFINITY;
  }

  get cwnd(): number {
    return this.cwndBytes;
  }

  get ssthresh(): number {
    return this.ssthreshBytes;
  }

  /** True between a loss or ECN reaction and `onRecoveryEnd` (or an RTO). */
  get inRecovery(): boolean {
    return this.recovering;
  }

  /** The sender MSS the windows are currently scaled to. */
  get segmentSize(): number {
    return this.mss;
  }

  onAck(bytesAcked: number, _now: number, _srttMs: number | undefined, appLimited: boolean): void {
    if (!(bytesAcked > 0)) return;
    this.timeoutWithoutProgress = false;
    // The sender drives recovery itself (RFC 6675 pipe / RFC 6582 partial ACKs); an ACK that
    // reaches us anyway must not grow the reduced window before the episode ends.
    if (this.recovering) return;
    // RFC 7661: a window the application is not filling has not been validated by the
    // network, so ACKs of a partly used window do not grow it.
    if (appLimited) return;

    if (this.cwndBytes < this.ssthreshBytes) {
      // RFC 5681 §3.1 slow start, counting bytes: cwnd += min(N, L*SMSS) (RFC 3465 §2.2).
      // Growth stops at ssthresh so that congestion avoidance starts exactly there.
      const share = slowStartGrowth(
        this.cwndBytes / this.mss,
        this.ssthreshBytes / this.mss,
        bytesAcked / this.mss,
        this.slowStartLimit,
        this.slowStartAfterTimeout,
      );
      this.cwndBytes = Math.min(this.cwndBytes + Math.round(share.growth * this.mss), this.ssthreshBytes);
      if (this.cwndBytes >= this.ssthreshBytes) this.slowStartAfterTimeout = false;
      if (!(share.left > 0)) return;
      bytesAcked = Math.round(share.left * this.mss);
    }

    // RFC 5681 §3.1 congestion avoidance, the recommended byte-counting form (RFC 3465 §2.1):
    // once a whole cwnd of bytes has been acknowledged, cwnd grows by one SMSS.
    this.slowStartAfterTimeout = false;
    this.bytesAckedInAvoidance += bytesAcked;
    while (this.bytesAckedInAvoidance >= this.cwndBytes) {
      this.bytesAckedInAvoidance -= this.cwndBytes;
      this.cwndBytes += this.mss;
    }
  }

  onCongestionEvent(_now: number, flightSize: number): void {
    if (!this.recovering) this.beforeReduction = { cwnd: this.cwndBytes, ssthresh: this.ssthreshBytes };
    this.reduce(flightSize);
  }

  onSpuriousCongestionEvent(_now: number): void {
    if (!this.beforeReduction || this.recovering) return;
    this.cwndBytes = Math.max(this.cwndBytes, this.beforeReduction.cwnd);
    this.ssthreshBytes = Math.max(this.ssthreshBytes, this.beforeReduction.ssthresh);
    this.beforeReduction = null;
    // After a spurious timeout (F-RTO, RFC 5682): the window is no longer restarting from one
    // segment, and the next timeout is a first one again.
    this.slowStartAfterTimeout = false;
    this.timeoutWithoutProgress = false;
  }

  onEcnEcho(_now: number, flightSize: number): void {
    // RFC 3168 §6.1.2: respond to ECE as to a dropped packet, at most once per window.
    this.beforeReduction = null; // reported congestion is never undone
    this.reduce(flightSize);
  }

  onRecoveryEnd(_now: number): void {
    if (!this.recovering) return;
    this.recovering = false;
    // RFC 6582 §3.2 step 3, full acknowledgment, option (2): cwnd = ssthresh.
    this.cwndBytes = this.ssthreshBytes;
    this.bytesAckedInAvoidance = 0;
  }

  onRetransmitTimeout(_now: number, flightSize: number): void {
    // RFC 5681 §3.1 eq. 4 — unless this is a repeated timeout with no new data acknowledged in
    // between, in which case ssthresh is held (RFC 5681 §3.1, the note after eq. 4): the
    // flight then is the same unacknowledged data and halving again would punish one loss twice.
    // What the timeout changes is kept for F-RTO (RFC 5682) to undo, should it prove spurious; a
    // repeated timeout keeps what the first one found.
    if (!this.timeoutWithoutProgress) {
      this.beforeReduction = { cwnd: this.cwndBytes, ssthresh: this.ssthreshBytes };
      this.ssthreshBytes = halvedFlight(flightSize, this.mss);
    }
    // RFC 5681 §3.1: cwnd = LW = 1 full-sized segment.
    this.cwndBytes = this.mss;
    this.bytesAckedInAvoidance = 0;
    this.recovering = false;
    this.slowStartAfterTimeout = true;
    this.timeoutWithoutProgress = true;
  }

  onIdleRestart(_now: number, _rtoMs: number): void {
    // RFC 5681 §4.1: cwnd = RW = min(IW, cwnd); ssthresh is untouched, so slow start climbs
    // back to where the connection was.
    this.cwndBytes = Math.min(this.cwndBytes, initialWindow(this.mss, this.initialWindowSegments));
    this.bytesAckedInAvoidance = 0;
  }

  setMss(mss: number): void {
    assertMss(mss);
    if (mss === this.mss) return;
    const scale = mss / this.mss;
    // Same number of segments before and after; at least one segment.
    this.cwndBytes = Math.max(mss, Math.round(this.cwndBytes * scale));
    if (Number.isFinite(this.ssthreshBytes)) {
      this.ssthreshBytes = Math.max(2 * mss, Math.round(this.ssthreshBytes * scale));
    }
    this.bytesAckedInAvoidance = Math.round(this.bytesAckedInAvoidance * scale);
    this.mss = mss;
  }

  /** RFC 5681 §3.2 step 2 / RFC 6582 §3.2 step 2, entered once per recovery episode. */
  private reduce(flightSize: number): void {
    if (this.recovering) return;
    this.recovering = true;
    this.ssthreshBytes = halvedFlight(flightSize, this.mss);
    // RFC 6675 §5 step 4.2: cwnd = ssthresh (no RFC 5681 inflation, see the file comment).
    this.cwndBytes = this.ssthreshBytes;
    this.bytesAckedInAvoidance = 0;
    this.slowStartAfterTimeout = false;
  }
}

/** ssthresh = max(FlightSize/2, 2*SMSS), RFC 5681 §3.1 eq. 4, in whole bytes. */
function halvedFlight(flightSize: number, mss: number): number {
  const flight = Number.isFinite(flightSize) && flightSize > 0 ? flightSize : 0;
  return Math.max(Math.floor(flight / 2), 2 * mss);
}
