/**
 * Congestion control: the interface the TCP sender drives, and what the controllers we ship
 * share (slow start's growth, the initial window). The factory that picks one by name
 * (NewReno, RFC 5681 + RFC 6582; CUBIC, RFC 9438) is congestion-algorithms.ts, so that the
 * controllers can import this module without importing themselves back.
 *
 * A controller is a pure state machine. It never reads a clock: every event carries `now` in
 * milliseconds, and all sizes are bytes. It owns cwnd and ssthresh and nothing else; the
 * sender owns sequence numbers, the SACK scoreboard, the recovery point, pipe (RFC 6675) and
 * the retransmission timer, and tells the controller what happened.
 *
 * How the sender is expected to call it:
 *  - `onAck` for every ACK that acknowledges new data while not in loss recovery;
 *  - `onCongestionEvent` when fast retransmit / SACK / RACK declares a loss; the controller
 *    reduces at most once until `onRecoveryEnd`, so repeated calls inside one recovery
 *    episode are harmless (RFC 5681 §3.2, RFC 6582 §3.2, RFC 9438 §4.6);
 *  - `onEcnEcho` when an ACK carries ECE; it opens the same kind of reduction episode, which
 *    the sender ends with `onRecoveryEnd` once the data outstanding at the ECE is
 *    acknowledged (RFC 3168 §6.1.2: react at most once per window);
 *  - `onRecoveryEnd` when the recovery point (or, for ECE, the CWR point) is acknowledged;
 *  - `onSpuriousCongestionEvent` when the last loss reduction turns out needless (every
 *    retransmission of that episode was D-SACKed, or F-RTO found the last timeout spurious,
 *    RFC 5682): back to the state before it;
 *  - `onRetransmitTimeout` when the retransmission timer fires;
 *  - `onIdleRestart` before sending after an idle period longer than the RTO;
 *  - `setMss` when path MTU discovery changes the segment size.
 */

import type { AckTiming, HystartSettings } from './congestion-cubic-linux.js';

/** The congestion control algorithms a connection can use. */
export type CongestionAlgorithm = 'cubic' | 'newreno';

/** A congestion controller: owns cwnd and ssthresh, driven by the sender's events. */
export interface CongestionControl {
  readonly algorithm: CongestionAlgorithm;
  /** Congestion window and slow-start threshold, bytes. */
  readonly cwnd: number;
  readonly ssthresh: number;
  /** New data acknowledged outside loss recovery (RFC 5681 §3.1; with RFC 3465 ABC, L = 2*SMSS in slow start).
      `bytesAcked` newly acked; `now` ms; `srttMs` the sender's smoothed RTT (RFC 6298), undefined before the first sample; `appLimited` true if the sender did not fill cwnd (RFC 7661: then do not grow cwnd). */
  onAck(bytesAcked: number, now: number, srttMs: number | undefined, appLimited: boolean): void;
  /** A loss detected by fast retransmit / SACK / RACK: enter recovery once per window (RFC 5681 §3.2 step 2, RFC 6675, RFC 9438 §4.6). `flightSize` bytes in flight. */
  onCongestionEvent(now: number, flightSize: number): void;
  /** Recovery finished (the recovery point was acknowledged): NewReno sets cwnd = ssthresh (RFC 6582 §3.2 step 3, "full acknowledgment"); CUBIC per RFC 9438. */
  onRecoveryEnd(now: number): void;
  /**
   * The last `onCongestionEvent` or `onRetransmitTimeout` was spurious: nothing had been lost
   * (RFC 3708: every retransmission was reported as a duplicate; RFC 5682: F-RTO saw data sent
   * before the timeout arrive). Restore the state saved at that event — RFC 9438 §4.9 for
   * CUBIC — never lowering cwnd or ssthresh below what they are now (as Linux's undo). Only
   * called after recovery ended (a timeout ends one), and at most once per event; a repeated
   * timeout with nothing acknowledged in between undoes to the state before the first.
   */
  onSpuriousCongestionEvent(now: number): void;
  /** Retransmission timeout: ssthresh = max(FlightSize/2, 2*SMSS), cwnd = 1 SMSS (RFC 5681 §3.1 eq. 4, RFC 9438 §4.8). */
  onRetransmitTimeout(now: number, flightSize: number): void;
  /** ECN-Echo received (RFC 3168 §6.1.2): react as to a loss, at most once per window. Same as onCongestionEvent unless you have a reason. */
  onEcnEcho(now: number, flightSize: number): void;
  /** After an idle period longer than the RTO, restart from the restart window (RFC 5681 §4.1, RW = min(IW, cwnd)). */
  onIdleRestart(now: number, rtoMs: number): void;
  /** The path MSS changed (PMTUD): rescale so cwnd stays the same number of segments. */
  setMss(mss: number): void;
  /**
   * An ACK of new data brought an RTT sample of its newest newly acknowledged segment; called
   * before `onAck`, in recovery too (for controllers that watch delay, as HyStart).
   */
  onRttSample?(rttMs: number, now: number, timing: AckTiming): void;
  /** New data leaves with nothing in flight, `idleMs` after data last left. */
  onTransmitStart?(now: number, idleMs: number): void;
}

/** Options for a controller (createCongestionControl, congestion-algorithms.ts). */
export interface CongestionControlOptions {
  /** Initial window in segments, fed to {@link initialWindow}; default 10 (RFC 6928). Pass 1
      when the SYN or SYN-ACK had to be retransmitted (RFC 5681 §3.1, RFC 6928 §2). */
  initialWindowSegments?: number;
  /**
   * RFC 3465 §2.2's L: slow start grows cwnd by at most this many segments per ACK (default
   * {@link ABC_LIMIT_SEGMENTS}; 1 after a timeout, §2.3). Infinity: no limit, and the bytes an ACK
   * acknowledges beyond ssthresh count toward congestion avoidance (Linux's tcp_slow_start).
   */
  slowStartAckLimitSegments?: number;
  /** Which CUBIC: RFC 9438's (default) or Linux's arithmetic with HyStart (congestion-cubic-linux.ts). */
  cubicImplementation?: 'rfc9438' | 'linux';
  /** HyStart's settings for Linux's CUBIC. */
  hystart?: HystartSettings;
  /**
   * cwnd and ssthresh in bytes to start from instead of the initial window and an infinite
   * ssthresh: those of the controller this one replaces when TCP_CONGESTION changes the
   * algorithm of an open connection. Linux keeps them (they are tcp_sock's snd_cwnd and
   * snd_ssthresh, not the algorithm's; tcp_reinit_congestion_control only resets the
   * algorithm's own state), so the connection neither restarts slow start nor bursts.
   */
  window?: { readonly cwnd: number; readonly ssthresh: number };
}

/**
 * Slow start's share of an ACK (RFC 5681 §3.1 with RFC 3465 §2.2–2.3): how many of
 * `segmentsAcked` grow cwnd from `cwnd` toward `ssthresh` (all in segments), and how many are
 * left for congestion avoidance — only without a limit L, when the ACK carried cwnd past
 * ssthresh (Linux's tcp_slow_start returns that remainder).
 */
export function slowStartGrowth(
  cwnd: number,
  ssthresh: number,
  segmentsAcked: number,
  limitSegments: number,
  afterTimeout: boolean,
): { readonly growth: number; readonly left: number } {
  if (limitSegments === Number.POSITIVE_INFINITY) {
    const growth = Math.min(segmentsAcked, ssthresh - cwnd);
    return { growth, left: segmentsAcked - growth };
  }
  const limit = afterTimeout ? 1 : limitSegments;
  return { growth: Math.min(segmentsAcked, limit, ssthresh - cwnd), left: 0 };
}

/** RFC 3465 §2.2: in slow start one ACK may grow cwnd by at most L*SMSS, here L = 2. */
export const ABC_LIMIT_SEGMENTS = 2;

/** RFC 6928's initial window is ten segments. */
export const DEFAULT_INITIAL_WINDOW_SEGMENTS = 10;

/**
 * The initial congestion window in bytes.
 *
 * RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)), 14600 being ten 1460-byte segments. For
 * another segment count `n` the same shape is used with the byte cap scaled to n*1460:
 * min(n*MSS, max(2*MSS, n*1460)); n = 1 gives one segment, the window RFC 5681 §3.1 requires
 * after a lost SYN.
 */
export function initialWindow(mss: number, segments = DEFAULT_INITIAL_WINDOW_SEGMENTS): number {
  assertMss(mss);
  if (!Number.isInteger(segments) || segments < 1) {
    throw new RangeError(`initial window must be a positive whole number of segments, got ${segments}`);
  }
  return Math.min(segments * mss, Math.max(2 * mss, segments * 1460));
}

/**
 * Throws a RangeError unless `mss` is a usable segment size (a positive integer). The MSS is
 * the sender's own configuration, already validated against the peer's option and PMTUD, so a
 * bad value here is a programming error, not untrusted input.
 */
export function assertMss(mss: number): void {
  if (!Number.isInteger(mss) || mss <= 0) {
    throw new RangeError(`MSS must be a positive integer, got ${mss}`);
  }
}
