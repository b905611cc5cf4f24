/**
 * TCP settings of a stack, with Linux's defaults where Linux has one. Each socket may override
 * the per-connection ones through socket options (TCP_NODELAY, SO_KEEPALIVE, TCP_USER_TIMEOUT…).
 */
import type { CongestionAlgorithm } from './congestion.js';
import type { CongestionWindowValidationRule } from './cwnd-validation.js';

/** Stack-wide TCP configuration. Times in ms, sizes in bytes. */
export interface TcpConfig {
  /** MSS assumed when the peer sends no MSS option (RFC 9293 §3.7.1: 536). */
  readonly defaultMss: number;
  /** RFC 6298 initial, minimum (Linux 200 ms; RFC 1 s) and maximum RTO. */
  readonly initialRtoMs: number;
  readonly minRtoMs: number;
  readonly maxRtoMs: number;
  /**
   * How the RTO follows the RTT. 'rfc6298': RTO = SRTT + max(G, 4·RTTVAR), at least minRtoMs
   * (§2.2–2.4), from one timed segment per round trip or the timestamp echo (Karn, §3).
   * 'linux': Linux's tcp_rtt_estimator — an RTT sample from every ACK of new data (the oldest
   * segment it acknowledges, Karn still applying) and RTO = SRTT + the round's largest 4·RTTVAR,
   * never below minRtoMs, so at least SRTT + 200 ms (rtt-linux.ts).
   */
  readonly rttEstimator: 'rfc6298' | 'linux';
  /** SYN retransmissions before connect fails with ETIMEDOUT (Linux tcp_syn_retries: 6). */
  readonly synRetries: number;
  /** SYN-ACK retransmissions before a half-open connection is dropped (tcp_synack_retries: 5). */
  readonly synAckRetries: number;
  /** Data retransmissions before the connection is aborted with ETIMEDOUT (tcp_retries2: 15). */
  readonly dataRetries: number;
  /** TIME-WAIT length: 2 × MSL (RFC 9293 §3.4.2; Linux fixes it at 60 s). */
  readonly timeWaitMs: number;
  /** How long an orphaned FIN-WAIT-2 waits for the peer's FIN (tcp_fin_timeout: 60 s). */
  readonly finWait2TimeoutMs: number;
  /** Delayed-ACK timeout (RFC 1122 §4.2.3.2 requires < 500 ms; Linux uses 40 ms minimum). */
  readonly delayedAckMs: number;
  /** Keepalive idle time, probe interval and probe count (tcp_keepalive_*: 7200 s, 75 s, 9). */
  readonly keepaliveIdleMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCount: number;
  /** Default socket buffer sizes (SO_RCVBUF / SO_SNDBUF). */
  readonly receiveBufferSize: number;
  readonly sendBufferSize: number;
  /**
   * The largest receive buffer a connection may grow to (Linux tcp_rmem[2], FreeBSD
   * kern.ipc.maxsockbuf). The window-scale shift offered is the smallest that lets a window
   * this large be advertised (RFC 7323 §2.3), as both systems compute it.
   */
  readonly receiveBufferMax: number;
  /** Offer and accept these options on SYNs. */
  readonly windowScaling: boolean;
  readonly timestamps: boolean;
  readonly sack: boolean;
  /** Negotiate ECN (RFC 3168): on by default; Linux accepts it when asked (tcp_ecn = 2). */
  readonly ecn: boolean;
  /** Congestion control for new connections (RFC 9438 CUBIC by default). */
  readonly congestionControl: CongestionAlgorithm;
  /**
   * Which CUBIC `cubic` means: 'rfc9438' (congestion-cubic.ts) or 'linux', Linux's tcp_cubic
   * arithmetic in whole segments with HyStart (congestion-cubic-linux.ts says where it departs
   * from RFC 9438).
   */
  readonly cubicImplementation: 'rfc9438' | 'linux';
  /**
   * HyStart in Linux's CUBIC (tcp_cubic's module parameters): on or off, which detectors (1 the
   * ACK train, 2 the delay, 3 both), the cwnd in segments from which it watches, and the
   * largest gap between the ACKs of a train in µs.
   */
  readonly hystart: boolean;
  readonly hystartDetect: number;
  readonly hystartLowWindow: number;
  readonly hystartAckDeltaUs: number;
  /**
   * What ssthresh is computed from after a loss, a timeout or ECE: 'flight-size', as RFC 5681
   * §3.1 (eq. 4) and RFC 9438 §4.6 say (never more than cwnd, with SACK counting what is only
   * SACKed); or 'cwnd', as Linux's ssthresh hooks do (RFC 9438 §4.6 allows it to a sender that
   * keeps cwnd from growing past its flight, which cwnd validation does).
   */
  readonly reductionBasis: 'flight-size' | 'cwnd';
  /** Initial window in segments (RFC 6928: 10). */
  readonly initialWindowSegments: number;
  /**
   * Slow start's growth per ACK, in segments: cwnd += min(bytes acknowledged, L·SMSS), the limit
   * L of RFC 3465 §2.2 (2, and 1 in the slow start after a retransmission timeout, §2.3).
   * Infinity removes the limit, as Linux's tcp_slow_start does: a stretch ACK of four segments
   * grows cwnd by four, and bytes that carry cwnd past ssthresh count toward congestion
   * avoidance in the same ACK.
   */
  readonly slowStartAckLimitSegments: number;
  /**
   * When an ACK may grow cwnd (RFC 7661, new-CWV): only while the window is in use, measured
   * over a window of data (the largest flight since SND.UNA passed the SND.NXT of the last
   * measurement, and whether cwnd held the sender back in that time).
   *  - 'rfc7661': in slow start when the largest flight is at least half of cwnd (RFC 7661 §4.3,
   *    pipeACK ≥ ½·cwnd); in congestion avoidance when less than a segment of cwnd was left
   *    (RFC 9438 §5.8: CUBIC does not grow while application-limited).
   *  - 'linux': tcp_is_cwnd_limited — in slow start when cwnd is below twice the largest flight
   *    (a flight of exactly half of cwnd does not grow it), after it only if the sender ran out
   *    of cwnd in that window.
   */
  readonly congestionWindowValidation: CongestionWindowValidationRule;
  /**
   * Restart after idle (RFC 5681 §4.1, a SHOULD): before sending after more than an RTO without
   * sending, cwnd = min(IW, cwnd). Linux's tcp_slow_start_after_idle, on by default there too.
   */
  readonly idleRestart: boolean;
  /** Challenge ACKs allowed per second, stack-wide (RFC 5961 §7; tcp_challenge_ack_limit). */
  readonly challengeAckPerSecond: number;
  /** Limits of a listener's queues when listen() gives no backlog (SOMAXCONN). */
  readonly defaultBacklog: number;
  /** TCP_USER_TIMEOUT default: 0 = off (RFC 5482). */
  readonly userTimeoutMs: number;
  /** Default TCP_NOTSENT_LOWAT (Linux tcp_notsent_lowat): 0xffffffff = no limit. */
  readonly notSentLowWater: number;
  /**
   * Send units (Linux's TSO autosizing, tcp_tso_autosize): new data leaves in units of about a
   * millisecond's worth at the pacing rate — cwnd/SRTT times the slow-start ratio while cwnd is
   * under half of ssthresh, the congestion-avoidance ratio after (percent; Linux
   * tcp_pacing_ss_ratio, tcp_pacing_ca_ratio) — and at least `minSendUnitSegments` segments
   * (tcp_min_tso_segs). With segmentation offload a unit is one segment the link cuts; without,
   * it is that many MSS segments. The last segment of a unit of two or more carries PSH, as
   * Linux forces PSH on GSO packets so the receiver's GRO flushes. ustack does not pace.
   */
  readonly minSendUnitSegments: number;
  readonly pacingSlowStartRatio: number;
  readonly pacingCongestionAvoidanceRatio: number;
}

/** Linux-like defaults. */
export const DEFAULT_TCP_CONFIG: TcpConfig = {
  defaultMss: 536,
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 120_000,
  rttEstimator: 'rfc6298',
  synRetries: 6,
  synAckRetries: 5,
  dataRetries: 15,
  timeWaitMs: 60_000,
  finWait2TimeoutMs: 60_000,
  delayedAckMs: 40,
  keepaliveIdleMs: 7_200_000,
  keepaliveIntervalMs: 75_000,
  keepaliveCount: 9,
  receiveBufferSize: 1024 * 1024,
  sendBufferSize: 1024 * 1024,
  receiveBufferMax: 1024 * 1024,
  windowScaling: true,
  timestamps: true,
  sack: true,
  ecn: true,
  congestionControl: 'cubic',
  cubicImplementation: 'rfc9438',
  hystart: true,
  hystartDetect: 3,
  hystartLowWindow: 16,
  hystartAckDeltaUs: 2000,
  reductionBasis: 'flight-size',
  initialWindowSegments: 10,
  slowStartAckLimitSegments: 2,
  congestionWindowValidation: 'rfc7661',
  idleRestart: true,
  challengeAckPerSecond: 1000,
  defaultBacklog: 4096,
  userTimeoutMs: 0,
  notSentLowWater: 0xffffffff,
  minSendUnitSegments: 2,
  pacingSlowStartRatio: 200,
  pacingCongestionAvoidanceRatio: 120,
};
