/**
 * TCP settings of a stack, with Linux's defaults where Linux has one. Each socket may override
 * the per-connection ones through socket options (TCP_NODELAY, SO_KEEPALIVE, TCP_USER_TIMEOUT…).
 */
import type { CongestionAlgorithm } from './congestion.js';
import type { SendBufferAccounting } from './send-memory.js';

/** Which in-order data is ACKed at once rather than after the delayed-ACK timer (quick-ack.ts). */
export type QuickAckMode = 'push' | 'linux';

/** Stack-wide TCP configuration. Times in ms, sizes in bytes. */
export interface TcpConfig {
  /** MSS assumed when the peer sends no MSS option (RFC 9293 §3.7.1: 536). */
  readonly defaultMss: number;
  /** RFC 6298 initial, minimum (Linux 200 ms; RFC 1 s) and maximum RTO. */
  readonly initialRtoMs: number;
  readonly minRtoMs: number;
  readonly maxRtoMs: number;
  /**
   * RFC 6298 §2.4 puts the minimum under the RTO: max(minRtoMs, SRTT + 4·RTTVAR). Linux puts it
   * under the variance term (tcp_rtt_estimator: rttvar ≥ tcp_rto_min): SRTT + max(4·RTTVAR,
   * minRtoMs), so its RTO is about RTT + 200 ms. On: Linux's.
   */
  readonly minRtoBoundsVariance: boolean;
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
  /**
   * Which in-order data is ACKed at once although RFC 1122 §4.2.3.2 and RFC 5681 §4.2 say a
   * TCP SHOULD delay its ACKs (quick-ack.ts). `push` (default): a segment with PSH, within a
   * connection's first 16 ACKs. `linux`: Linux's quickack mode — any data segment, for up to 16
   * ACKs after the first data, an idle gap longer than the RTO or an old duplicate, unless the
   * connection is interactive (it replied within the delayed-ACK timeout: pingpong mode).
   */
  readonly quickAck: QuickAckMode;
  /**
   * When a read that opened the receive window sends a window update. RFC 9293 §3.8.6.2.2 and
   * RFC 1122 §4.2.3.3 say how far the right edge may move (receiver SWS avoidance), not when to
   * announce it. `bsd` (default, BSD's tcp_output): when the window grows by two segments or half
   * the buffer. `linux` (__tcp_cleanup_rbuf): only when the window still open is at most half
   * the largest and the read at least doubles it, so a large buffer read in small bites sends
   * none and the next ACK carries the window.
   */
  readonly windowUpdate: 'bsd' | 'linux';
  /**
   * shutdown(SHUT_RD) discards the data queued and any that arrives later, still ACKing it
   * (default, BSD's sorflush; POSIX: "further receive operations are disabled"). Off, as Linux:
   * data still queues and is read before the end of the stream.
   */
  readonly readShutdownDiscards: boolean;
  /** Keepalive idle time, probe interval and probe count (tcp_keepalive_*: 7200 s, 75 s, 9). */
  readonly keepaliveIdleMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCount: number;
  /** Default socket buffer sizes (SO_RCVBUF / SO_SNDBUF; Linux tcp_rmem[1], tcp_wmem[1]). */
  readonly receiveBufferSize: number;
  readonly sendBufferSize: number;
  /**
   * How the send buffer is counted (send-memory.ts). RFC 9293 §3.10.2 leaves it to the
   * implementation. `bytes` (default): SO_SNDBUF bytes of data. `linux`: Linux's accounting —
   * twice SO_SNDBUF (or tcp_wmem[1], grown with the congestion window up to `sendBufferMax`),
   * charged with the data plus a fixed overhead per skb, a write filling its last skb past the
   * limit.
   */
  readonly sendBufferAccounting: SendBufferAccounting;
  /** The largest an unlocked `linux` send buffer grows to (Linux tcp_wmem[2]). */
  readonly sendBufferMax: number;
  /**
   * The largest receive buffer a connection may grow to (Linux tcp_rmem[2], FreeBSD
   * kern.ipc.maxsockbuf). The window-scale shift offered is the smallest that lets a window
   * this large be advertised (RFC 7323 §2.3), as both systems compute it.
   */
  readonly receiveBufferMax: number;
  /**
   * Packetization-layer path MTU discovery (RFC 4821, mtu-probe.ts): search for a larger MSS by
   * probing with one larger segment now and then, as Linux with tcp_mtu_probing = 2. Off by
   * default (classical path MTU discovery, RFC 1191, only lowers the MSS), as in Linux.
   */
  readonly mtuProbing: boolean;
  /** Where the search starts: this MSS (Linux tcp_base_mss, 1024). */
  readonly mtuProbeBaseMss: number;
  /** The search stops when it has narrowed the MTU to this many bytes (Linux tcp_probe_threshold, 8). */
  readonly mtuProbeThreshold: number;
  /** Time after which the search starts over (Linux tcp_probe_interval, 600 s). */
  readonly mtuProbeIntervalMs: number;
  /** Offer and accept these options on SYNs. */
  readonly windowScaling: boolean;
  readonly timestamps: boolean;
  readonly sack: boolean;
  /** Negotiate ECN (RFC 3168): on by default; Linux accepts it when asked (tcp_ecn = 2). */
  readonly ecn: boolean;
  /** Congestion control for new connections (RFC 9438 CUBIC by default). */
  readonly congestionControl: CongestionAlgorithm;
  /** Initial window in segments (RFC 6928: 10). */
  readonly initialWindowSegments: number;
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
  minRtoBoundsVariance: false,
  synRetries: 6,
  synAckRetries: 5,
  dataRetries: 15,
  timeWaitMs: 60_000,
  finWait2TimeoutMs: 60_000,
  delayedAckMs: 40,
  quickAck: 'push',
  windowUpdate: 'bsd',
  readShutdownDiscards: true,
  keepaliveIdleMs: 7_200_000,
  keepaliveIntervalMs: 75_000,
  keepaliveCount: 9,
  receiveBufferSize: 1024 * 1024,
  sendBufferSize: 1024 * 1024,
  sendBufferAccounting: 'bytes',
  sendBufferMax: 4 * 1024 * 1024,
  receiveBufferMax: 1024 * 1024,
  mtuProbing: false,
  mtuProbeBaseMss: 1024,
  mtuProbeThreshold: 8,
  mtuProbeIntervalMs: 600_000,
  windowScaling: true,
  timestamps: true,
  sack: true,
  ecn: true,
  congestionControl: 'cubic',
  initialWindowSegments: 10,
  challengeAckPerSecond: 1000,
  defaultBacklog: 4096,
  userTimeoutMs: 0,
  notSentLowWater: 0xffffffff,
  minSendUnitSegments: 2,
  pacingSlowStartRatio: 200,
  pacingCongestionAvoidanceRatio: 120,
};
