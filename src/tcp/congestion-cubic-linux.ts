/**
 * CUBIC as Linux computes it (tcp_cubic.c with tcp_cong.c's slow start and additive increase),
 * for scripts that pin Linux's numbers (TcpConfig.cubicImplementation = 'linux'). RFC 9438's
 * CUBIC is congestion-cubic.ts; this file says where Linux departs from it:
 *
 *  - Windows are whole segments and growth is counted: cwnd grows by one segment each time
 *    `cnt` segments have been acknowledged (tcp_cong_avoid_ai), where RFC 9438 §4.4 adds
 *    (target − cwnd)/cwnd per ACK. `cnt` is cwnd/(target − cwnd), recomputed at most once per
 *    millisecond and, while cwnd stands still, at most every 1/32 s; never below 2 (cwnd grows
 *    by at most half per round trip, as RFC 9438 §4.2's 1.5·cwnd clamp) and never above 20
 *    before the first loss (RFC 9438 has no such floor on the growth rate).
 *  - The target is W_cubic(t + min RTT), the smallest RTT seen rather than SRTT (RFC 9438 §4.2
 *    says RTT, the smoothed one), with time in 1/1024 s and C = 410/1024 per 1/1024 s³ in
 *    fixed point.
 *  - The Reno-friendly estimate grows by one segment per cwnd·15/8 segments acknowledged
 *    (α_cubic = 3(1 − β)/(1 + β) in that integer form) and caps `cnt`, rather than setting cwnd.
 *  - β = 717/1024, and ssthresh after a loss, a timeout or ECE is β·cwnd, not β·FlightSize
 *    (RFC 9438 §4.6 allows cwnd when the sender stops cwnd growing past what is in flight,
 *    which Linux's cwnd validation does). A timeout forgets everything CUBIC knew: W_max, the
 *    epoch, the minimum RTT and HyStart's round (RFC 9438 §4.8 keeps W_max, as ssthresh).
 *  - Slow start counts every segment an ACK acknowledges (tcp_slow_start: no RFC 3465 limit);
 *    what carries cwnd past ssthresh counts toward congestion avoidance in the same ACK.
 *  - Time the sender spends with nothing in flight moves the epoch forward (CA_EVENT_TX_START),
 *    so idle time does not count in t (RFC 9438 §5.8 asks the same of application-limited time).
 *  - HyStart, the slow-start exit of Ha and Rhee (2008), not RFC 9406's HyStart++: once cwnd
 *    reaches 16 segments, each round trip (until SND.UNA passes the SND.NXT of its start) the
 *    smallest of its first 8 RTT samples is compared with the connection's minimum RTT plus an
 *    eighth of it (between 4 and 16 ms), and a train of ACKs no more than 2 ms apart that lasts
 *    longer than half the minimum RTT also counts; either sets ssthresh = cwnd, once per
 *    connection (RFC 9406 instead compares rounds with each other and goes through a
 *    conservative slow start before leaving it).
 */
import {
  assertMss,
  DEFAULT_INITIAL_WINDOW_SEGMENTS,
  initialWindow,
  type CongestionAlgorithm,
  type CongestionControl,
  type CongestionControlOptions,
} from './congestion.js';
import { seqGt } from './seq.js';

/** Linux's "infinite" ssthresh (TCP_INFINITE_SSTHRESH), segments. */
const INFINITE_SSTHRESH = 0x7fffffff;
/** β·1024 (tcp_cubic's beta). */
const BETA_SCALED = 717;
/** The scale of β. */
const BETA_SCALE = 1024;
/** C·1024 in segments per second cubed (bic_scale). */
const C_SCALED = 41;
/** C in fixed point for targets in segments and time in 1/1024 s (cube_rtt_scale). */
const CUBE_RTT_SCALE = BigInt(C_SCALED * 10);
/** Segments the Reno-friendly estimate needs acknowledged per segment of cwnd, ×8 (beta_scale). */
const FRIENDLY_SCALE = Math.floor(Math.floor((8 * (BETA_SCALE + BETA_SCALED)) / 3) / (BETA_SCALE - BETA_SCALED));
/** cwnd may not be recomputed again within this many ms while it stands still (HZ/32). */
const UPDATE_INTERVAL_MS = 31;
/** A HyStart delay sample needs this many RTT samples of a round first. */
const HYSTART_MIN_SAMPLES = 8;
/** The delay threshold: an eighth of the minimum RTT, within these bounds (µs). */
const HYSTART_DELAY_MIN_US = 4000;
const HYSTART_DELAY_MAX_US = 16000;
/** Delay samples this soon after a reduction are ignored (ms): the queue is still draining. */
const DELAY_SAMPLE_HOLD_MS = 1000;

/** HyStart's detectors (tcp_cubic's hystart_detect bits). */
export const HYSTART_ACK_TRAIN = 1;
export const HYSTART_DELAY = 2;

/** HyStart's settings (tcp_cubic's module parameters). */
export interface HystartSettings {
  /** Whether HyStart runs at all (hystart). */
  readonly enabled: boolean;
  /** Which detectors: HYSTART_ACK_TRAIN | HYSTART_DELAY (hystart_detect). */
  readonly detect: number;
  /** cwnd, in segments, from which HyStart watches (hystart_low_window). */
  readonly lowWindow: number;
  /** The largest gap between two ACKs of a train, µs (hystart_ack_delta_us). */
  readonly ackDeltaUs: number;
  /**
   * Whether a new round may start while cwnd is below `lowWindow` (Linux since 6.14); false:
   * only once cwnd has reached it (5.16 to 6.13). Absent: true.
   */
  readonly roundsBelowLowWindow?: boolean;
}

/** tcp_cubic's defaults. */
export const DEFAULT_HYSTART: HystartSettings = { enabled: true, detect: HYSTART_ACK_TRAIN | HYSTART_DELAY, lowWindow: 16, ackDeltaUs: 2000 };

/** Options for {@link LinuxCubicCongestionControl}. */
export interface LinuxCubicOptions {
  initialWindowSegments?: number;
  /** RFC 9438 §4.7 fast convergence (fast_convergence); default true. */
  fastConvergence?: boolean;
  hystart?: HystartSettings;
  /** cwnd and ssthresh to start from (CongestionControlOptions.window). */
  window?: CongestionControlOptions['window'];
}

/** What the sender knows when an ACK brings an RTT sample (for HyStart and the minimum RTT). */
export interface AckTiming {
  /** SND.UNA and SND.NXT after the ACK was processed. */
  readonly sndUna: number;
  readonly sndNxt: number;
  /** The pacing rate Linux would have, bytes per second (0: none yet). */
  readonly pacingRate: number;
  /** Whether the sender paces at that rate (TcpConfig.pacing); absent: it does not. */
  readonly paced?: boolean;
}

/** Integer cube root, rounded down. */
function cubeRoot(value: bigint): bigint {
  if (value <= 0n) return 0n;
  let root = BigInt(Math.floor(Math.cbrt(Number(value))));
  while (root * root * root > value) root -= 1n;
  while ((root + 1n) * (root + 1n) * (root + 1n) <= value) root += 1n;
  return root;
}

/** Linux's CUBIC with HyStart: windows in whole segments, times in ms (jiffies at HZ=1000). */
export class LinuxCubicCongestionControl implements CongestionControl {
  readonly algorithm: CongestionAlgorithm = 'cubic';

  private mss: number;
  private readonly initialWindowSegments: number;
  private readonly fastConvergence: boolean;
  private readonly hystart: HystartSettings;

  private cwndSegments: number;
  /** Segments acknowledged toward the next increment (snd_cwnd_cnt). */
  private cwndCount = 0;
  private ssthreshSegments = INFINITE_SSTHRESH;

  // CUBIC's state (struct bictcp); an undefined epoch means none is running.
  /** Segments to acknowledge per increment of cwnd. */
  private cnt = 0;
  /** W_max, 0 when unknown. */
  private lastMaxCwnd = 0;
  /** cwnd and time of the last recomputation of `cnt`. */
  private lastCwnd = 0;
  private lastTime = 0;
  /** The curve's plateau and K (1/1024 s). */
  private originPoint = 0;
  private k = 0n;
  /** The smallest RTT, µs (0: none). */
  private delayMinUs = 0;
  private epochStart: number | undefined;
  /** Segments acknowledged since the Reno-friendly estimate last grew, and that estimate. */
  private ackCount = 0;
  private friendlyCwnd = 0;

  // HyStart's state.
  private found = false;
  private roundStartUs = 0;
  /** SND.NXT when the round began (undefined before the first: the first sample starts one). */
  private roundEnd: number | undefined;
  private lastAckUs = 0;
  private roundMinRttUs = Number.POSITIVE_INFINITY;
  private sampleCount = 0;
  /** SND.NXT as last reported, where a round that starts without an ACK (at a timeout) ends. */
  private sndNxt = 0;

  // Reductions and their undo.
  private recovering = false;
  private priorCwnd = 0;
  private priorSsthresh = 0;
  private timeoutWithoutProgress = false;

  constructor(mss: number, options: LinuxCubicOptions = {}) {
    assertMss(mss);
    this.mss = mss;
    this.initialWindowSegments = options.initialWindowSegments ?? DEFAULT_INITIAL_WINDOW_SEGMENTS;
    this.fastConvergence = options.fastConvergence ?? true;
    this.hystart = options.hystart ?? DEFAULT_HYSTART;
    this.cwndSegments = Math.max(1, Math.floor((options.window?.cwnd ?? initialWindow(mss, this.initialWindowSegments)) / mss));
    if (options.window !== undefined && Number.isFinite(options.window.ssthresh)) {
      this.ssthreshSegments = Math.max(2, Math.floor(options.window.ssthresh / mss));
    }
  }

  get cwnd(): number {
    return this.cwndSegments * this.mss;
  }

  get ssthresh(): number {
    return this.ssthreshSegments >= INFINITE_SSTHRESH ? Number.POSITIVE_INFINITY : this.ssthreshSegments * this.mss;
  }

  /** True between a reduction and `onRecoveryEnd` (or a timeout). */
  get inRecovery(): boolean {
    return this.recovering;
  }

  /** W_max in segments (0 when unknown), for tests. */
  get wMaxSegments(): number {
    return this.lastMaxCwnd;
  }

  /** The smallest RTT seen, ms (undefined when none), for tests. */
  get minRttMs(): number | undefined {
    return this.delayMinUs === 0 ? undefined : this.delayMinUs / 1000;
  }

  /** Whether HyStart has ended slow start. */
  get hystartFound(): boolean {
    return this.found;
  }

  private get inSlowStart(): boolean {
    return this.cwndSegments < this.ssthreshSegments;
  }

  /**
   * An ACK's RTT, from the newest segment it newly acknowledged (Linux's pkts_acked hook, run
   * before the window grows): the minimum RTT, and HyStart while in slow start.
   */
  onRttSample(rttMs: number, now: number, timing: AckTiming): void {
    this.sndNxt = timing.sndNxt;
    if (!(rttMs >= 0)) return;
    // Samples right after a reduction still carry the queue the loss built.
    if (this.epochStart !== undefined && Math.floor(now) - this.epochStart < DELAY_SAMPLE_HOLD_MS) return;
    const delay = Math.max(1, Math.round(rttMs * 1000));
    if (this.delayMinUs === 0 || this.delayMinUs > delay) this.delayMinUs = delay;
    if (!this.found && this.inSlowStart && this.hystart.enabled) this.hystartUpdate(delay, now, timing);
  }

  onAck(bytesAcked: number, now: number, _srttMs: number | undefined, appLimited: boolean): void {
    if (!(bytesAcked > 0)) return;
    this.timeoutWithoutProgress = false;
    if (this.recovering || appLimited) return;
    let acked = Math.ceil(bytesAcked / this.mss);
    if (this.inSlowStart) {
      // tcp_slow_start: every segment counts, up to ssthresh; the rest is congestion avoidance's.
      const grown = Math.min(this.cwndSegments + acked, this.ssthreshSegments);
      acked -= grown - this.cwndSegments;
      this.cwndSegments = grown;
      if (acked <= 0) return;
    }
    this.update(acked, Math.floor(now));
    this.additiveIncrease(this.cnt, acked);
  }

  onCongestionEvent(_now: number, _flightSize: number): void {
    if (this.recovering) return;
    this.saveForUndo();
    this.reduce();
  }

  onEcnEcho(_now: number, _flightSize: number): void {
    if (this.recovering) return;
    this.priorCwnd = 0; // reported congestion is never undone
    this.reduce();
  }

  onRecoveryEnd(_now: number): void {
    // The sender's recovery (PRR) brought cwnd down to ssthresh, where it stays.
    this.recovering = false;
  }

  onSpuriousCongestionEvent(_now: number): void {
    // Linux's tcp_undo_cwnd_reduction with tcp_reno_undo_cwnd: cwnd back to at least what it
    // was, ssthresh to what it was if that is higher; CUBIC's own state stays as the loss left it.
    if (this.recovering || this.priorCwnd === 0) return;
    this.cwndSegments = Math.max(this.cwndSegments, this.priorCwnd);
    if (this.priorSsthresh > this.ssthreshSegments) this.ssthreshSegments = this.priorSsthresh;
    this.priorCwnd = 0;
    this.timeoutWithoutProgress = false;
  }

  onRetransmitTimeout(_now: number, _flightSize: number): void {
    // tcp_enter_loss: a new ssthresh unless a timeout already set one with nothing acknowledged
    // since, and what it replaces kept for F-RTO's undo (tcp_try_undo_loss).
    if (!this.timeoutWithoutProgress) {
      this.saveForUndo();
      this.ssthreshSegments = this.recalculateSsthresh();
    }
    this.cwndSegments = 1;
    this.cwndCount = 0;
    this.recovering = false;
    this.timeoutWithoutProgress = true;
    // The Loss state resets CUBIC and HyStart (cubictcp_state).
    this.resetCubic();
    this.found = false;
    this.startHystartRound(Math.round(_now * 1000), this.sndNxt);
  }

  onIdleRestart(_now: number, _rtoMs: number): void {
    // RFC 5681 §4.1's restart window. (Linux's tcp_cwnd_restart halves cwnd once per RTO idle,
    // down to the same floor, and raises ssthresh to ¾ of the old cwnd.)
    this.cwndSegments = Math.min(this.cwndSegments, Math.max(1, Math.floor(initialWindow(this.mss, this.initialWindowSegments) / this.mss)));
  }

  /**
   * The sender starts sending with nothing in flight after `idleMs` without sending (Linux's
   * CA_EVENT_TX_START): the epoch moves forward by the idle time, never past now.
   */
  onTransmitStart(now: number, idleMs: number): void {
    if (this.epochStart === undefined || !(idleMs > 0)) return;
    this.epochStart = Math.min(this.epochStart + Math.floor(idleMs), Math.floor(now));
  }

  setMss(mss: number): void {
    // Windows are whole segments: they keep their count.
    assertMss(mss);
    this.mss = mss;
  }

  private saveForUndo(): void {
    // tcp_current_ssthresh: outside a reduction, at least ¾ of cwnd.
    this.priorSsthresh = Math.max(this.ssthreshSegments, (this.cwndSegments >> 1) + (this.cwndSegments >> 2));
    this.priorCwnd = this.cwndSegments;
  }

  private reduce(): void {
    this.recovering = true;
    this.ssthreshSegments = this.recalculateSsthresh();
    this.cwndSegments = this.ssthreshSegments;
    this.cwndCount = 0;
  }

  /** cubictcp_recalc_ssthresh: the epoch ends, W_max is set (with fast convergence), β·cwnd. */
  private recalculateSsthresh(): number {
    this.epochStart = undefined;
    const cwnd = this.cwndSegments;
    this.lastMaxCwnd = cwnd < this.lastMaxCwnd && this.fastConvergence ? Math.floor((cwnd * (BETA_SCALE + BETA_SCALED)) / (2 * BETA_SCALE)) : cwnd;
    return Math.max(Math.floor((cwnd * BETA_SCALED) / BETA_SCALE), 2);
  }

  private resetCubic(): void {
    this.cnt = 0;
    this.lastMaxCwnd = 0;
    this.lastCwnd = 0;
    this.lastTime = 0;
    this.originPoint = 0;
    this.k = 0n;
    this.delayMinUs = 0;
    this.epochStart = undefined;
    this.ackCount = 0;
    this.friendlyCwnd = 0;
  }

  /** tcp_cong_avoid_ai: one segment per `w` acknowledged, credit from a larger `w` applied first. */
  private additiveIncrease(w: number, acked: number): void {
    if (this.cwndCount >= w) {
      this.cwndCount = 0;
      this.cwndSegments++;
    }
    this.cwndCount += acked;
    if (this.cwndCount >= w) {
      const delta = Math.floor(this.cwndCount / w);
      this.cwndCount -= delta * w;
      this.cwndSegments += delta;
    }
  }

  /** bictcp_update: `cnt` from the cubic curve and the Reno-friendly estimate. */
  private update(acked: number, jiffies: number): void {
    const cwnd = this.cwndSegments;
    this.ackCount += acked;
    if (this.lastCwnd === cwnd && jiffies - this.lastTime <= UPDATE_INTERVAL_MS) return;
    // At most once per millisecond; a reduction always ends the epoch and forces a recomputation.
    if (!(this.epochStart !== undefined && jiffies === this.lastTime)) {
      this.lastCwnd = cwnd;
      this.lastTime = jiffies;
      if (this.epochStart === undefined) {
        this.epochStart = jiffies;
        this.ackCount = acked;
        this.friendlyCwnd = cwnd;
        if (this.lastMaxCwnd <= cwnd) {
          this.k = 0n;
          this.originPoint = cwnd;
        } else {
          // K = cbrt((W_max − cwnd)/C) in 1/1024 s: 2^30·(W_max − cwnd)/C with C = 410/2^10 per (2^10)^3.
          this.k = cubeRoot((BigInt(this.lastMaxCwnd - cwnd) << 40n) / CUBE_RTT_SCALE);
          this.originPoint = this.lastMaxCwnd;
        }
      }
      // t is the time into the epoch plus the minimum RTT (the target one RTT ahead), in 1/1024 s.
      const t = (BigInt(jiffies - this.epochStart + Math.ceil(this.delayMinUs / 1000)) << 10n) / 1000n;
      const offset = t < this.k ? this.k - t : t - this.k;
      const delta = Number((CUBE_RTT_SCALE * offset * offset * offset) >> 40n);
      const target = t < this.k ? this.originPoint - delta : this.originPoint + delta;
      this.cnt = target > cwnd ? Math.floor(cwnd / (target - cwnd)) : 100 * cwnd;
      // Before any loss the curve's start is not allowed to be slower than 5% a round trip.
      if (this.lastMaxCwnd === 0 && this.cnt > 20) this.cnt = 20;
    }
    // The Reno-friendly estimate: one segment per cwnd·15/8 acknowledged.
    const perSegment = (cwnd * FRIENDLY_SCALE) >> 3;
    while (this.ackCount > perSegment) {
      this.ackCount -= perSegment;
      this.friendlyCwnd++;
    }
    if (this.friendlyCwnd > cwnd) {
      const fastest = Math.floor(cwnd / (this.friendlyCwnd - cwnd));
      if (this.cnt > fastest) this.cnt = fastest;
    }
    // At most one segment per two acknowledged: 1.5·cwnd per round trip.
    this.cnt = Math.max(this.cnt, 2);
  }

  private startHystartRound(nowUs: number, sndNxt: number): void {
    this.roundStartUs = nowUs;
    this.lastAckUs = nowUs;
    this.roundEnd = sndNxt;
    this.roundMinRttUs = Number.POSITIVE_INFINITY;
    this.sampleCount = 0;
  }

  /**
   * hystart_update: a new round once SND.UNA passes the last one's end, then the two detectors.
   * Linux 5.16 to 6.13 looked for the round's end only once cwnd had reached the low window
   * (4e1fddc98d25 put the check behind that test; 25c1a9ca53db moved it back in 6.14), so the
   * first round then starts at the first ACK with cwnd that large and ends a flight later.
   */
  private hystartUpdate(delayUs: number, now: number, timing: AckTiming): void {
    const nowUs = Math.round(now * 1000);
    if (this.hystart.roundsBelowLowWindow === false && this.cwndSegments < this.hystart.lowWindow) return;
    if (this.roundEnd === undefined || seqGt(timing.sndUna, this.roundEnd)) this.startHystartRound(nowUs, timing.sndNxt);
    if (this.cwndSegments < this.hystart.lowWindow) return;
    if (this.hystart.detect & HYSTART_ACK_TRAIN && nowUs - this.lastAckUs <= this.hystart.ackDeltaUs) {
      this.lastAckUs = nowUs;
      // The minimum RTT plus the time a 64 KiB burst takes at the pacing rate, at most 1 ms
      // (hystart_ack_delay: TSO and GRO delay the ACKs of a burst); half of it for a sender
      // that does not pace, as pacing may spread a round's segments over half an RTT.
      const burstDelayUs = timing.pacingRate > 0 ? Math.min(1000, Math.floor((65536 * 4 * 1_000_000) / timing.pacingRate)) : 0;
      const threshold = timing.paced ? this.delayMinUs + burstDelayUs : (this.delayMinUs + burstDelayUs) >> 1;
      if (nowUs - this.roundStartUs > threshold) this.exitSlowStart();
    }
    if (this.hystart.detect & HYSTART_DELAY) {
      if (this.roundMinRttUs > delayUs) this.roundMinRttUs = delayUs;
      if (this.sampleCount < HYSTART_MIN_SAMPLES) {
        this.sampleCount++;
      } else {
        const margin = Math.min(Math.max(this.delayMinUs >> 3, HYSTART_DELAY_MIN_US), HYSTART_DELAY_MAX_US);
        if (this.roundMinRttUs > this.delayMinUs + margin) this.exitSlowStart();
      }
    }
  }

  private exitSlowStart(): void {
    this.found = true;
    this.ssthreshSegments = this.cwndSegments;
  }
}
