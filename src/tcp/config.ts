/**
 * TCP settings of a stack, with Linux's defaults where Linux has one. Each socket may override
 * the per-connection ones through socket options (TCP_NODELAY, SO_KEEPALIVE, TCP_USER_TIMEOUT…).
 */
import type { CongestionAlgorithm } from './congestion.js';
import type { CongestionWindowValidationRule } from './cwnd-validation.js';

/**
 * ECN negotiation (RFC 3168 §6.1.1): `on` asks for it on our SYNs and accepts it on the peer's,
 * `accept` only accepts it when the peer asks (Linux tcp_ecn = 2, FreeBSD ecn.enable = 2),
 * `off` neither asks nor accepts.
 */
export type EcnMode = 'on' | 'accept' | 'off';

/**
 * How SO_RCVBUF and SO_SNDBUF are counted and reported. `linux` (socket(7)): a value set is
 * doubled (room for bookkeeping) and reported doubled, an unset buffer reports tcp_rmem[1] /
 * tcp_wmem[1]. `freebsd`: a value set is reported as set, an unset buffer reports recvspace /
 * sendspace, and once the MSS is known both buffers grow to a whole number of MSS-sized
 * segments (FreeBSD's tcp_mss(), bounded by kern.ipc.maxsockbuf).
 */
export type SocketBufferAccounting = 'linux' | 'freebsd';

/**
 * What a segment to a port nobody listens on gets (RFC 9293 §3.10.7.1: a RST). FreeBSD's
 * net.inet.tcp.blackhole turns the RST off for SYNs (1) or for everything (2) so that port
 * scans see nothing.
 */
export type ClosedPortReset = 'always' | 'except-syn' | 'never';
import type { SendBufferAccounting } from './send-memory.js';

/** Which in-order data is ACKed at once rather than after the delayed-ACK timer (quick-ack.ts). */
export type QuickAckMode = 'push' | 'linux';

/** Stack-wide TCP configuration. Times in ms, sizes in bytes. */
export interface TcpConfig {
  /** MSS assumed when the peer sends no MSS option (RFC 9293 §3.7.1: 536). */
  readonly defaultMss: number;
  /** RFC 6298 initial, minimum (Linux 200 ms; RFC 1 s) and maximum RTO. */
  readonly initialRtoMs: number;
  /** Lower bound on the RTO (Linux TCP_RTO_MIN: 200 ms; RFC 6298 §2.4 says 1 s). */
  readonly minRtoMs: number;
  /** Upper bound on the RTO, backoff included (Linux TCP_RTO_MAX: 120 s; RFC 6298 §2.5: at least 60 s). */
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
  /** Time between keepalive probes while they go unanswered (tcp_keepalive_intvl: 75 s). */
  readonly keepaliveIntervalMs: number;
  /** Unanswered keepalive probes before the connection is dropped with ETIMEDOUT (tcp_keepalive_probes: 9). */
  readonly keepaliveCount: number;
  /** Default socket buffer sizes (SO_RCVBUF / SO_SNDBUF; Linux tcp_rmem[1] / tcp_wmem[1], FreeBSD recvspace / sendspace). */
  readonly receiveBufferSize: number;
  /** Send buffer of a socket that sets no SO_SNDBUF (see `receiveBufferSize`). */
  readonly sendBufferSize: number;
  /** How SO_RCVBUF / SO_SNDBUF are counted and reported: Linux's way (default) or FreeBSD's. */
  readonly socketBufferAccounting: SocketBufferAccounting;
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
   * RCV.WND when deciding whether a segment is acceptable (RFC 9293 §3.10.7.4). `advertised`:
   * the window we last sent (RFC 9293 §3.8.6: the window sent is the range we are prepared to
   * accept; Linux). `buffer`: the free receive-buffer space when larger than that (FreeBSD's
   * rcv_wnd = max(sbspace, rcv_adv − rcv_nxt)), which differs when the 16-bit field cannot
   * carry the buffer (no window scaling) or the window was not updated yet.
   */
  readonly receiveWindow: 'advertised' | 'buffer';
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
  /** Offer and accept the Timestamps option (RFC 7323 §3) on SYNs. */
  readonly timestamps: boolean;
  /** Offer and accept SACK-Permitted (RFC 2018 §2) on SYNs, and with it SACK blocks. */
  readonly sack: boolean;
  /** ECN negotiation (RFC 3168): `on` by default; `true` and `false` mean `on` and `off`. */
  readonly ecn: EcnMode | boolean;
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
  /** HyStart's detectors: 1 the ACK train, 2 the delay, 3 both (tcp_cubic hystart_detect: 3). */
  readonly hystartDetect: number;
  /** The cwnd, in segments, from which HyStart watches (tcp_cubic hystart_low_window: 16). */
  readonly hystartLowWindow: number;
  /** Largest gap in µs between ACKs that still counts as one train (tcp_cubic hystart_ack_delta_us: 2000). */
  readonly hystartAckDeltaUs: number;
  /**
   * When HyStart starts a round (its sample count anew) at an ACK past the previous round's
   * end: at any cwnd (true, Linux since 6.14), or only once cwnd has reached
   * `hystartLowWindow` (false, Linux 5.16 to 6.13: the first round then begins at the first ACK
   * of that cwnd and lasts a flight, so slow start runs longer). HyStart has no RFC (RFC 9406's
   * HyStart++ counts rounds from the start).
   */
  readonly hystartRoundsBelowLowWindow: boolean;
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
  /**
   * The stack-wide ceiling on challenge ACKs (RFC 5961 §7; Linux tcp_challenge_ack_limit), taken
   * after each connection's own limit (`invalidAckRateLimitMs`): every second a budget is drawn
   * at random around this mean, so that no connection can measure what others spent
   * (CVE-2016-5696; ack-rate-limits.ts). 2147483647 (Linux's INT_MAX) or more: no ceiling.
   */
  readonly challengeAckPerSecond: number;
  /**
   * Per connection, the least time between two answers to invalid segments (ms): challenge ACKs
   * (RFC 5961 §7) and the ACKs for out-of-window or PAWS-rejected segments without data (RFC
   * 9293 §3.10.7.4, answered at most this often, as Linux's tcp_invalid_ratelimit, 500 ms). 0:
   * every one is answered.
   */
  readonly invalidAckRateLimitMs: number;
  /** Limits of a listener's queues when listen() gives no backlog (SOMAXCONN). */
  readonly defaultBacklog: number;
  /**
   * SYN cookies (RFC 4987 §3.6, syn-cookies.ts): `auto` answers a SYN with a cookie when the
   * listener's SYN queue is full (Linux tcp_syncookies = 1, FreeBSD syncookies = 1), `always`
   * answers every SYN with one (tcp_syncookies = 2, FreeBSD syncookies_only), `off` drops the
   * SYN instead (tcp_syncookies = 0).
   */
  readonly synCookies: 'auto' | 'always' | 'off';
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
   * Linux forces PSH on GSO packets so the receiver's GRO flushes. The same rate paces units
   * when `pacing` is on.
   */
  readonly minSendUnitSegments: number;
  /** Pacing rate while cwnd is under half of ssthresh, in percent of cwnd/SRTT (Linux tcp_pacing_ss_ratio: 200). */
  readonly pacingSlowStartRatio: number;
  /** Pacing rate after that, in percent of cwnd/SRTT (Linux tcp_pacing_ca_ratio: 120). */
  readonly pacingCongestionAvoidanceRatio: number;
  /**
   * Pacing (pacing.ts): each send unit, new data or retransmission, leaves no earlier than the
   * previous one's departure plus its length at the pacing rate above, rather than as soon as
   * the windows allow; the first 10 data segments go unpaced, and a sender behind its schedule
   * gains at most half a unit's time. No TCP RFC asks for pacing (RFC 9002 §7.7 describes it
   * for QUIC). Linux paces this way (its earliest-departure-time model, tcp_wstamp_ns) when the
   * interface's qdisc is fq or the congestion control asks for it; off by default, as Linux
   * over a pfifo qdisc. `ustack drill` turns it on for `tc qdisc … fq`.
   */
  readonly pacing: boolean;
  /**
   * How long an opening connection (SYN-SENT, SYN-RECEIVED) may take before it is given up with
   * ETIMEDOUT, whatever the retries left (FreeBSD net.inet.tcp.keepinit, 75 s there). 0: no such
   * bound, only synRetries / synAckRetries (Linux).
   */
  readonly handshakeTimeoutMs: number;
  /** What a segment to a closed port gets (FreeBSD net.inet.tcp.blackhole 0, 1, 2). */
  readonly closedPortReset: ClosedPortReset;
  /**
   * Where a segment carrying both SYN and FIN is dropped instead of opening a connection:
   * `'listen'` in LISTEN only (Linux: tcp_rcv_state_process discards it there, so nmap's T3
   * probe draws no SYN-ACK; in SYN-SENT Linux answers it as any SYN); `true` in LISTEN and
   * SYN-SENT (FreeBSD net.inet.tcp.drop_synfin = 1); `false` nowhere (FreeBSD's default,
   * drop_synfin = 0). RFC 9293 gives SYN+FIN no special meaning — §3.10.7.2 would answer it and
   * queue the FIN for ESTABLISHED — but no RFC requires a stack to accept it either; ustack
   * follows Linux. In synchronized states it is answered as any SYN whatever this says.
   */
  readonly dropSynFin: boolean | 'listen';
  /**
   * Delay the ACK of the peer's FIN that ends ESTABLISHED (into CLOSE-WAIT) when nothing else asks
   * for an immediate ACK, so that it rides on the application's answer or its own FIN — Linux's
   * tcp_fin enters delayed-ACK "pingpong" mode there. `false` (default): ACK the FIN at once. RFC
   * 9293 §3.10.7.4 asks for an acknowledgment of the FIN without saying when, and RFC 1122
   * §4.2.3.2 lets a TCP delay an ACK (within 500 ms; the delayed-ACK timer here).
   */
  readonly delayFinAck: boolean;
  /**
   * A SYN in a synchronized state whose sequence number lies in the window: `challenge-ack`
   * (RFC 5961 §4.2, RFC 9293 §3.10.7.4; Linux, FreeBSD insecure_syn = 0) or `reset`, the RFC 793
   * rule (send a RST and close; FreeBSD insecure_syn = 1).
   */
  readonly inWindowSyn: 'challenge-ack' | 'reset';
  /**
   * A RST in the window but not at RCV.NXT: `challenge-ack` (RFC 5961 §3.2; Linux, FreeBSD
   * insecure_rst = 0) or `accept`, the RFC 793 rule that any in-window RST resets (FreeBSD
   * insecure_rst = 1).
   */
  readonly inWindowReset: 'challenge-ack' | 'accept';
  /**
   * While our FIN is unacknowledged, the ACKs the output path sends (for segments received,
   * delayed ACKs) carry the FIN again at its sequence number, as BSD's tcp_output builds every
   * segment in FIN-WAIT-1, CLOSING and LAST-ACK. Off: RFC 9293 §3.10.7.4's bare
   * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (Linux). Challenge ACKs and answers to a SYN stay bare.
   */
  readonly repeatFinInAcks: boolean;
  /**
   * A segment whose text and FIN lie wholly before RCV.NXT (a retransmission of what arrived):
   * `ignore` ACKs and drops it unread, RFC 9293 §3.10.7.4's first check; `process` ACKs it,
   * drops its text and FIN and reads its ACK field, as FreeBSD's tcp_input trims it (todrop >=
   * tlen) and goes on. Needed with repeatFinInAcks, whose ACKs repeat an old FIN: read the
   * RFC's way, neither FIN of a simultaneous close is ever acknowledged (input.ts,
   * oldSegmentArrives). Linux reads the ACK only of such a segment ending at rcv_wup; the
   * defaults and the Linux profile, whose ACKs are bare, keep `ignore`.
   */
  readonly oldSegmentAck: 'ignore' | 'process';
  /**
   * A RST that ends a connection in CLOSING or LAST-ACK is reported to the user as ECONNRESET
   * (Linux and FreeBSD set so_error then). Off: RFC 9293 §3.10.7.4, which in these states only
   * enters CLOSED and deletes the TCB, with no "connection reset" signal.
   */
  readonly resetAfterCloseReported: boolean;
  /**
   * The error a RST in CLOSE-WAIT (the peer's FIN came, ours has not gone) reports: RFC 9293
   * §3.10.7.4 signals "connection reset" and leaves the API's words to the system. `EPIPE`
   * (default): Linux's tcp_reset, which says EPIPE there because the peer had already closed —
   * the errors of ustack's Berkeley API are Linux's (docs/berkeley-errors.md); `ECONNRESET`:
   * FreeBSD's tcp_drop, as in every other synchronized state.
   */
  readonly closeWaitResetError: 'EPIPE' | 'ECONNRESET';
  /**
   * DupThresh (RFC 5681 §2, RFC 6675 §2): without SACK, the duplicate ACKs that start fast
   * retransmit; with it, the SACKed segments at which RACK stops allowing for reordering when it
   * has seen none (RFC 8985 §6.2 step 4). 3; Linux's tcp_reordering.
   */
  readonly duplicateThreshold: number;
  /**
   * RFC 8985 §6.2 step 4: RACK's reordering window widens by min_RTT/4 per round trip that
   * brings a D-SACK (a retransmission was needless). False keeps it at min_RTT/4 (Linux's
   * tcp_recovery bit 0x2, TCP_RACK_STATIC_REO_WND).
   */
  readonly rackAdaptiveReorderWindow: boolean;
  /**
   * RFC 8985 §6.2 step 4: with no reordering seen, RACK's reordering window is zero once
   * DupThresh segments are SACKed. False keeps waiting it out (Linux's tcp_recovery bit 0x4,
   * TCP_RACK_NO_DUPTHRESH).
   */
  readonly rackDuplicateThreshold: boolean;
  /** Tail loss probes (RFC 8985 §7); Linux sends them when tcp_early_retrans is 3 or 4. */
  readonly tailLossProbe: boolean;
  /** Report duplicate segments received with a D-SACK block (RFC 2883); Linux's tcp_dsack. */
  readonly duplicateSack: boolean;
  /**
   * A SACK block of data held out of order that ends where a FIN held with it sits covers the
   * FIN's sequence number too (`262089:262146` where the data ends at 262145). RFC 2018 §3 makes
   * a block's right edge "the sequence number immediately following the last sequence number of
   * this block" without saying whether a FIN — which occupies a sequence number (RFC 9293 §3.4)
   * but is not data — belongs to it; false (default) covers the data only. Linux queues the FIN
   * with its segment out of order and builds blocks from the queued segments' end sequence,
   * which includes it (tcp_data_queue_ofo, tcp_sack_new_ofo_skb in net/ipv4/tcp_input.c).
   */
  readonly sackCoversFin: boolean;
  /**
   * SACK compression (sack-compression.ts): while data is held out of order, the first three
   * duplicate ACKs for each RCV.NXT go at once and later ones wait up to 1 ms (5 % of the RTT
   * plus a timer slack of 100 µs) or 44 segments, so that one ACK reports them all. Off by
   * default: RFC 5681 §4.2 says a receiver SHOULD send an immediate duplicate ACK for every
   * out-of-order segment. Linux compresses since 4.18 (tcp_comp_sack_*).
   */
  readonly sackCompression: boolean;
  /**
   * How large a window to offer (receive-window.ts). RFC 9293 §3.8.6 leaves it to the receiver
   * (the window is what it "is currently prepared to accept"), §3.8.6.2.2 bounds how the right
   * edge moves. `free-space` (default): the free buffer. `linux`: Linux's — the buffer
   * (`receiveBufferSize`, tcp_rmem[1]) counted in memory (each segment costs its payload plus
   * `receiveSegmentOverhead`), the window starting at half of it and growing by two segments
   * per data segment while there is room (rcv_ssthresh, tcp_grow_window; each growth ACKed at
   * once), rounded up to the scale's unit (RFC 7323 §2.3), and the buffer autotuned once per
   * RTT from what the application read, up to `receiveBufferMax` (tcp_rcv_space_adjust).
   * The drill's Linux profile does not turn it on (the window follows when and how much the
   * application reads); the replay's LINUX_REPLAY_CONFIG does, with reads inferred from the
   * host's windows, and every kernel fixture replays with fewer divergences (docs/replay.md).
   */
  readonly receiveWindowGrowth: 'free-space' | 'linux';
  /**
   * With `receiveWindowGrowth` 'linux': the memory a received segment costs beyond its payload
   * (Linux's skb->truesize less skb->len). 768 bytes is what Linux 6.18 charged over veth
   * (truesize 2216 for a 1448-byte segment: a 2 KiB buffer for the frame, its headroom, and the
   * sk_buff and skb_shared_info structures), which sets the window to 1448/2216 = 167/256 of the
   * buffer (scaling_ratio). Other devices charge otherwise: a TUN device's packet is one 2 KiB
   * linear buffer, truesize 2304 (the replay's TUN_SEGMENT_OVERHEAD, 856).
   */
  readonly receiveSegmentOverhead: number;
  /**
   * With `receiveWindowGrowth` 'linux': the memory beyond its payload that a segment costs when
   * it arrived longer than the peer may send — several segments that the sender's segmentation
   * offload or a receive offload (GRO, a TUN's virtio-net GSO) kept as one buffer. Linux charges
   * such a buffer its one skb->truesize (skb_set_owner_r in tcp_queue_rcv and
   * tcp_data_queue_ofo), not one per segment inside. 1845 is what Linux 6.18 charged over veth
   * with TSO (eth-offload.pcap: scaling_ratio 204 from a 7240-byte buffer, truesize 9085).
   */
  readonly receiveOffloadOverhead: number;
  /**
   * F-RTO (RFC 5682, frto.ts): after a retransmission timeout, new data goes once the first
   * retransmission is acknowledged, and an ACK for data sent before the timeout then undoes the
   * timeout's cwnd and ssthresh reduction — the SACK-enhanced version (§3) with SACK, the basic
   * one (§2) without. On by default: RFC 5682 is on the Standards Track (RFC 4138, its
   * predecessor, was Experimental), it needs nothing from the receiver, and Linux has had it on
   * since 2.6.24 (tcp_frto = 2; any non-zero value is the same since 3.10). FreeBSD's base stack
   * has no F-RTO (its profile turns it off).
   */
  readonly frto: boolean;
  /**
   * Which of the segments an ACK newly delivers gives RACK.rtt. RFC 8985 §6.2 step 2 visits them
   * in transmission order, so RACK.rtt is that of the most recently sent. Linux (tcp_rack_advance,
   * called as tcp_sacktag_write_queue and then tcp_clean_rtx_queue walk the queue) visits them in
   * sequence order, SACKed ones first: RACK.rtt is that of the highest cumulatively acknowledged
   * one, else of the highest SACKed one. When an ACK covers a retransmission and older original
   * segments above it, Linux times RACK's window by the older ones' longer RTT and calls less lost.
   * False (the RFC) by default; Linux's profile sets it.
   */
  readonly rackRttInSequenceOrder: boolean;
  /**
   * What an ACK outside fast recovery grows cwnd by. RFC 5681 §3.1 counts N, the bytes it newly
   * acknowledges cumulatively. Linux (tcp_cong_control with tcp_newly_delivered) counts what it
   * newly delivered, RFC 9937's DeliveredData, and does so only on ACKs that acknowledge new data
   * unless the reordering seen exceeds DupThresh (tcp_may_raise_cwnd): data SACKed earlier is
   * not counted again when cumulatively acknowledged, and without SACK neither is a segment a
   * duplicate ACK stood for (the cumulative ACK counts at least one). After limited transmit
   * (RFC 3042) the ACK that fills the hole grows cwnd by one segment, not by all it covers. The
   * ACK that ends a recovery grows it too. False (the RFC) by default; Linux's profile sets it.
   */
  readonly cwndGrowthFromDeliveredData: boolean;
}

/** The ECN mode a configuration asks for (`true` and `false` are `on` and `off`). */
export function ecnMode(config: Pick<TcpConfig, 'ecn'>): EcnMode {
  return config.ecn === true ? 'on' : config.ecn === false ? 'off' : config.ecn;
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
  quickAck: 'push',
  windowUpdate: 'bsd',
  readShutdownDiscards: true,
  keepaliveIdleMs: 7_200_000,
  keepaliveIntervalMs: 75_000,
  keepaliveCount: 9,
  receiveBufferSize: 1024 * 1024,
  sendBufferSize: 1024 * 1024,
  socketBufferAccounting: 'linux',
  sendBufferAccounting: 'bytes',
  sendBufferMax: 4 * 1024 * 1024,
  receiveBufferMax: 1024 * 1024,
  receiveWindow: 'advertised',
  mtuProbing: false,
  mtuProbeBaseMss: 1024,
  mtuProbeThreshold: 8,
  mtuProbeIntervalMs: 600_000,
  windowScaling: true,
  timestamps: true,
  sack: true,
  ecn: 'on',
  congestionControl: 'cubic',
  cubicImplementation: 'rfc9438',
  hystart: true,
  hystartDetect: 3,
  hystartLowWindow: 16,
  hystartAckDeltaUs: 2000,
  hystartRoundsBelowLowWindow: true,
  reductionBasis: 'flight-size',
  initialWindowSegments: 10,
  slowStartAckLimitSegments: 2,
  congestionWindowValidation: 'rfc7661',
  idleRestart: true,
  challengeAckPerSecond: 1000,
  invalidAckRateLimitMs: 500,
  defaultBacklog: 4096,
  synCookies: 'auto',
  userTimeoutMs: 0,
  notSentLowWater: 0xffffffff,
  minSendUnitSegments: 2,
  pacingSlowStartRatio: 200,
  pacingCongestionAvoidanceRatio: 120,
  pacing: false,
  handshakeTimeoutMs: 0,
  closedPortReset: 'always',
  dropSynFin: 'listen',
  delayFinAck: false,
  inWindowSyn: 'challenge-ack',
  inWindowReset: 'challenge-ack',
  repeatFinInAcks: false,
  oldSegmentAck: 'ignore',
  resetAfterCloseReported: false,
  closeWaitResetError: 'EPIPE',
  duplicateThreshold: 3,
  rackAdaptiveReorderWindow: true,
  rackDuplicateThreshold: true,
  tailLossProbe: true,
  duplicateSack: true,
  sackCoversFin: false,
  sackCompression: false,
  receiveWindowGrowth: 'free-space',
  receiveSegmentOverhead: 768,
  receiveOffloadOverhead: 1845,
  frto: true,
  rackRttInSequenceOrder: false,
  cwndGrowthFromDeliveredData: false,
};
