/**
 * TCP_INFO: Linux's `struct tcp_info` (include/uapi/linux/tcp.h, filled by tcp_get_info() in
 * net/ipv4/tcp.c) computed from a ustack connection, field for field and in Linux's units, so
 * that what `getsockopt(fd, IPPROTO_TCP, TCP_INFO)`, `socket.getTcpInfo()` and `ustack up`'s
 * `/stats.json` report reads like `ss -ti` on Linux. Keys are Linux's field names without the
 * `tcpi_` prefix.
 *
 * Units, as Linux: times in microseconds (rto, ato, rtt, rttvar, min_rtt, rcv_rtt, busy_time,
 * rwnd_limited, sndbuf_limited), ages in milliseconds (last_data_sent, last_data_recv,
 * last_ack_recv, total_rto_time), windows and MSSes in bytes, snd_cwnd and snd_ssthresh in
 * segments, counts of segments where Linux counts packets (a segment the link cuts in several,
 * with offload, counts as its parts).
 *
 * The counters that only TCP_INFO needs live in `tcp-info-counters.ts`; everything else is read
 * from the connection as it is.
 */
import type { TcpConfig } from './config.js';
import type { TcpConnection, TcpState } from './connection.js';
import { pacingRate } from './pacing.js';
import { congestionWindow } from './recovery.js';
import { seqSub } from './seq.js';
import { Chrono, INITIAL_REORDERING, largestReceiveWindow, segmentCount } from './tcp-info-counters.js';
import type { TcpListener } from './tcp-layer.js';

/** Linux's tcpi_state numbering (include/net/tcp_states.h). */
export const LINUX_TCP_STATE: Readonly<Record<TcpState, number>> = {
  ESTABLISHED: 1,
  'SYN-SENT': 2,
  'SYN-RECEIVED': 3,
  'FIN-WAIT-1': 4,
  'FIN-WAIT-2': 5,
  'TIME-WAIT': 6,
  CLOSED: 7,
  'CLOSE-WAIT': 8,
  'LAST-ACK': 9,
  LISTEN: 10,
  CLOSING: 11,
};

/** Linux's tcpi_ca_state: the sender's congestion-avoidance state (enum tcp_ca_state). */
export const TcpCaState = {
  /** Nothing odd seen. */
  open: 0,
  /** SACKed segments or duplicate ACKs seen, no recovery yet. */
  disorder: 1,
  /** Reducing the window after ECN-Echo (RFC 3168). */
  cwr: 2,
  /** Fast recovery (RFC 6675, RFC 6582). */
  recovery: 3,
  /** After a retransmission timeout, until what was outstanding is acknowledged. */
  loss: 4,
} as const;

/** Bits of tcpi_options. */
export const TcpiOption = {
  /** TCPI_OPT_TIMESTAMPS: both sides agreed on the Timestamps option (RFC 7323). */
  TIMESTAMPS: 1,
  /** TCPI_OPT_SACK: both sides agreed on SACK (RFC 2018). */
  SACK: 2,
  /** TCPI_OPT_WSCALE: both sides agreed on window scaling (RFC 7323). */
  WSCALE: 4,
  /** TCPI_OPT_ECN: ECN was negotiated on the handshake (RFC 3168 §6.1.1). */
  ECN: 8,
  /** TCPI_OPT_ECN_SEEN: an ECN-capable (ECT or CE) data segment has arrived. */
  ECN_SEEN: 16,
} as const;

/** TCP_INFINITE_SSTHRESH: snd_ssthresh while ssthresh is still "arbitrarily high" (RFC 5681 §3.1). */
export const TCP_INFINITE_SSTHRESH = 0x7fffffff;

/** ~0U: min_rtt before any RTT sample (Linux resets its min filter to it). */
export const NO_MIN_RTT = 0xffffffff;

/**
 * ~0ULL, Linux's "no pacing limit" (sk_pacing_rate and sk_max_pacing_rate as sock_init_data
 * leaves them). A JavaScript number holds it as 2^64, the nearest double.
 */
export const UNLIMITED_PACING_RATE = 2 ** 64 - 1;

/** Linux's `struct tcp_info` (up to tcpi_total_rto_time, Linux 6.7), keys without `tcpi_`. */
export interface TcpInfo {
  /** Connection state in Linux's numbering: ESTABLISHED 1 … CLOSING 11 ({@link LINUX_TCP_STATE}). */
  state: number;
  /** {@link TcpCaState}: Open 0, Disorder 1, CWR 2, Recovery 3, Loss 4. */
  ca_state: number;
  /** Consecutive retransmission timeouts (SYN retransmissions included) without progress. */
  retransmits: number;
  /** Zero-window and keepalive probes sent without an answer. */
  probes: number;
  /** Exponent of the RTO backoff (and of the zero-window probe interval's). */
  backoff: number;
  /** {@link TcpiOption} bits negotiated: timestamps, SACK, window scale, ECN, ECN seen. */
  options: number;
  /** The peer's window-scale shift (applied to windows it sends); 0 without window scaling. */
  snd_wscale: number;
  /** Our window-scale shift; 0 without window scaling. */
  rcv_wscale: number;
  /** 0: ustack has no delivery-rate sampler (draft-cheng-iccrg-delivery-rate-estimation), as a Linux socket before its first rate sample. */
  delivery_rate_app_limited: number;
  /** 0 (TFO_STATUS_UNSPEC): ustack has no TCP Fast Open. */
  fastopen_client_fail: number;
  /** Retransmission timeout now, backoff included (µs). */
  rto: number;
  /** Delayed-ACK timeout (µs); 0 until data has arrived, as Linux sets it on the first data. ustack's is fixed (`delayedAckMs`), Linux adapts it between 40 ms and the RTO. */
  ato: number;
  /** MSS we send with: the peer's MSS bounded by the path, less the timestamp option (bytes). */
  snd_mss: number;
  /** Estimate of the peer's MSS from the segments it sends (Linux's tcp_measure_rcv_mss; 536 until then). */
  rcv_mss: number;
  /** Segments sent and not yet cumulatively acknowledged (packets_out). */
  unacked: number;
  /** Of those, SACKed; without SACK, the duplicate ACKs counted as segments delivered. */
  sacked: number;
  /** Deemed lost and not acknowledged, as Linux counts them: those still to resend plus, during a recovery, those resent and in flight. */
  lost: number;
  /** Retransmitted segments in flight (retrans_out). */
  retrans: number;
  /** 0: Linux removed FACK (4.15) and no longer fills it. */
  fackets: number;
  /** ms since data was last sent (retransmissions included; the handshake's end if none). */
  last_data_sent: number;
  /** 0: Linux never fills it. */
  last_ack_sent: number;
  /** ms since in-order data last arrived (the handshake's end if none). */
  last_data_recv: number;
  /** ms since an acceptable ACK last arrived. */
  last_ack_recv: number;
  /** Path MTU toward the peer (bytes). */
  pmtu: number;
  /** Largest window we advertise (bytes): ustack has no receive-window slow start (Linux's tcp_grow_window), so this is the buffer up to what the scaled window field carries. */
  rcv_ssthresh: number;
  /** Smoothed RTT, SRTT of RFC 6298 (µs); 0 before the first sample. */
  rtt: number;
  /** RTT variation, RTTVAR of RFC 6298 (µs); before the first sample a quarter of the initial RTO, as Linux. */
  rttvar: number;
  /** Slow-start threshold in segments, rounded down; {@link TCP_INFINITE_SSTHRESH} while unset. */
  snd_ssthresh: number;
  /** Congestion window in segments, rounded down: Linux counts whole segments, crediting growth only for fully acknowledged ones, so ustack's bytes / snd_mss is floored. */
  snd_cwnd: number;
  /**
   * The MSS we advertised on our SYN or SYN-ACK (bytes). Linux's active opener lowers its advmss
   * by the timestamp option's 12 bytes once the SYN-ACK has them (tcp_rcv_synsent_state_process),
   * its passive side does not; ustack reports the value it advertised on both.
   */
  advmss: number;
  /** Reordering degree in segments: DupThresh (3) until an ACK shows more (tcp_check_sack_reordering). */
  reordering: number;
  /** The receiver's RTT estimate (µs; Linux's tcp_rcv_rtt_update, from timestamps or one window per sample); 0 before a sample. */
  rcv_rtt: number;
  /** Data the application read per receiver RTT, the largest seen (bytes; Linux's dynamic right-sizing measure), starting at min(window, 10 × advmss). */
  rcv_space: number;
  /** Segments retransmitted, SYN and SYN-ACK included. */
  total_retrans: number;
  /**
   * Bytes a second: the rate pacing and send-unit sizing use (pacing.ts) — max(cwnd, flight)
   * over SRTT times the slow-start or congestion-avoidance ratio — computed whether or not
   * `pacing` is on, as Linux's tcp_update_pacing_rate sets sk_pacing_rate for every socket
   * (the qdisc or TCP decides whether to enforce it). ~0 ({@link UNLIMITED_PACING_RATE})
   * before the first RTT sample.
   */
  pacing_rate: number;
  /** ~0: no SO_MAX_PACING_RATE in ustack. */
  max_pacing_rate: number;
  /** Sequence space acknowledged by the peer: data, plus our SYN on an active open and our FIN. */
  bytes_acked: number;
  /** Sequence space received in order: data, plus the peer's FIN. */
  bytes_received: number;
  /** Segments sent (a passive open counts from the handshake's last ACK, as Linux's child socket). */
  segs_out: number;
  /** Segments received (a passive open: the SYN, then what follows the handshake's last ACK). */
  segs_in: number;
  /** Bytes written and not yet sent (the FIN counting one). */
  notsent_bytes: number;
  /** Smallest RTT sample (µs); {@link NO_MIN_RTT} before one. Not windowed (Linux keeps a 5-minute window). */
  min_rtt: number;
  /** Segments received carrying data. */
  data_segs_in: number;
  /** Segments sent carrying data, retransmissions included. */
  data_segs_out: number;
  /** 0: ustack has no delivery-rate sampler, as Linux before its first rate sample. */
  delivery_rate: number;
  /** µs with data queued or in flight (Linux's chrono: busy, receive-window- and send-buffer-limited time together). */
  busy_time: number;
  /** µs the peer's receive window held back a segment the congestion window allowed. */
  rwnd_limited: number;
  /** µs everything queued was sent while the application was blocked on a full send buffer. */
  sndbuf_limited: number;
  /** Segments known delivered (cumulatively or by SACK), the SYN or SYN-ACK included. */
  delivered: number;
  /** Of those, acknowledged by ACKs carrying ECN-Echo. */
  delivered_ce: number;
  /** Data bytes sent, retransmissions included. */
  bytes_sent: number;
  /** Data bytes retransmitted. */
  bytes_retrans: number;
  /** Segments the peer reported receiving twice (D-SACK, RFC 2883). */
  dsack_dups: number;
  /** ACKs that showed reordering. */
  reord_seen: number;
  /** Data segments that arrived out of order. */
  rcv_ooopack: number;
  /** The peer's receive window, scaled (bytes). */
  snd_wnd: number;
  /** The receive window we last advertised, scaled (bytes). */
  rcv_wnd: number;
  /** Flow-label re-rolls by retransmission timeouts (Linux's timeout_rehash; ustack has no PLB rehash). */
  rehash: number;
  /** Retransmission timeouts, SYN and SYN-ACK ones included. */
  total_rto: number;
  /** RTO recoveries begun (a timeout after progress begins one). */
  total_rto_recoveries: number;
  /** ms spent in RTO recoveries, the unfinished one included. */
  total_rto_time: number;
}

/** A TcpInfo of zeros, in Linux's field order (the order JSON shows them in). */
function zeroTcpInfo(): TcpInfo {
  return {
    state: 0,
    ca_state: 0,
    retransmits: 0,
    probes: 0,
    backoff: 0,
    options: 0,
    snd_wscale: 0,
    rcv_wscale: 0,
    delivery_rate_app_limited: 0,
    fastopen_client_fail: 0,
    rto: 0,
    ato: 0,
    snd_mss: 0,
    rcv_mss: 0,
    unacked: 0,
    sacked: 0,
    lost: 0,
    retrans: 0,
    fackets: 0,
    last_data_sent: 0,
    last_ack_sent: 0,
    last_data_recv: 0,
    last_ack_recv: 0,
    pmtu: 0,
    rcv_ssthresh: 0,
    rtt: 0,
    rttvar: 0,
    snd_ssthresh: 0,
    snd_cwnd: 0,
    advmss: 0,
    reordering: 0,
    rcv_rtt: 0,
    rcv_space: 0,
    total_retrans: 0,
    pacing_rate: 0,
    max_pacing_rate: 0,
    bytes_acked: 0,
    bytes_received: 0,
    segs_out: 0,
    segs_in: 0,
    notsent_bytes: 0,
    min_rtt: 0,
    data_segs_in: 0,
    data_segs_out: 0,
    delivery_rate: 0,
    busy_time: 0,
    rwnd_limited: 0,
    sndbuf_limited: 0,
    delivered: 0,
    delivered_ce: 0,
    bytes_sent: 0,
    bytes_retrans: 0,
    dsack_dups: 0,
    reord_seen: 0,
    rcv_ooopack: 0,
    snd_wnd: 0,
    rcv_wnd: 0,
    rehash: 0,
    total_rto: 0,
    total_rto_recoveries: 0,
    total_rto_time: 0,
  };
}

/** ms → µs, to the microsecond. */
function micros(ms: number): number {
  return Math.round(ms * 1000);
}

/** How long ago `at` was, in whole ms. */
function msAgo(now: number, at: number): number {
  return Math.max(0, Math.floor(now - at));
}

/** TCP_INFO of a connection at `now` (ms), as Linux's tcp_get_info() computes it. */
export function tcpInfo(connection: TcpConnection, now: number): TcpInfo {
  const counters = connection.info;
  const mss = connection.sendMss;
  const rtt = connection.rtt;
  const cc = connection.cc;

  // The scoreboard in segments (packets_out, sacked_out, lost_out, retrans_out).
  let unacked = 0;
  let sacked = 0;
  let toResend = 0;
  let retrans = 0;
  for (const segment of connection.inFlight) {
    const segments = segmentCount(segment, mss);
    unacked += segments;
    if (segment.sacked) sacked += segments;
    else if (segment.lost) toResend += segments;
    else if (segment.retransmits > 0) retrans += segments;
  }
  if (!connection.sackEnabled) sacked = counters.duplicateAckSegments;
  // After an RTO a SYN-SENT connection is in Loss too (tcp_retransmit_timer enters it for the SYN).
  const loss = connection.recovery.inRtoRecovery || (connection.state === 'SYN-SENT' && connection.timeoutCount > 0);
  // Linux keeps a retransmitted segment marked lost until it is acknowledged (in flight = unacked
  // − sacked − lost + retrans); ustack clears the mark when it resends, so during a recovery the
  // resent segments in flight are lost ones too. Outside one, a retransmission in flight is a
  // tail loss probe, which Linux counts in retrans only.
  const lost = toResend + (loss || connection.recovery.inFastRecovery ? retrans : 0);

  let caState: number = TcpCaState.open;
  if (loss) caState = TcpCaState.loss;
  else if (connection.recovery.inFastRecovery) caState = TcpCaState.recovery;
  else if (connection.ecn.reducing) caState = TcpCaState.cwr;
  else if (sacked > 0 || lost > 0 || retrans > 0 || connection.dupAcks > 0 || (connection.inFlight.first?.retransmits ?? 0) > 0) caState = TcpCaState.disorder;

  let options = 0;
  if (connection.timestamps.enabled) options |= TcpiOption.TIMESTAMPS;
  if (connection.sackEnabled) options |= TcpiOption.SACK;
  if (connection.windowScalingEnabled) options |= TcpiOption.WSCALE;
  if (connection.ecn.enabled) options |= TcpiOption.ECN;
  if (counters.ecnSeen) options |= TcpiOption.ECN_SEEN;

  // With nothing in flight the timeouts counted are zero-window probes (timers.ts).
  const probing = connection.inFlight.length === 0;
  const unsent = connection.sendBuffer.length - seqSub(connection.sndNxt, connection.sendBufferSeq);
  const dataReceived = counters.bytesReceived - (connection.peerFinReceived ? 1 : 0) > 0;
  const busy = counters.chronoTime(Chrono.busy, now);
  const receiveWindowLimited = counters.chronoTime(Chrono.receiveWindowLimited, now);
  const sendBufferLimited = counters.chronoTime(Chrono.sendBufferLimited, now);

  const info = zeroTcpInfo();
  info.state = LINUX_TCP_STATE[connection.state];
  info.ca_state = caState;
  info.retransmits = probing ? 0 : connection.timeoutCount;
  info.probes = (probing ? connection.timeoutCount : 0) + connection.keepalive.probesSent;
  info.backoff = rtt.backoffCount + connection.persistBackoff;
  info.options = options;
  info.snd_wscale = connection.windowScalingEnabled ? connection.sndWindowShift : 0;
  info.rcv_wscale = connection.windowScalingEnabled ? connection.rcvWindowShift : 0;
  info.rto = micros(rtt.rto);
  info.ato = dataReceived ? micros(connection.host.config.delayedAckMs) : 0;
  info.snd_mss = mss;
  info.rcv_mss = counters.receiveMss;
  info.unacked = unacked;
  info.sacked = sacked;
  info.lost = lost;
  info.retrans = retrans;
  info.last_data_sent = msAgo(now, counters.lastDataSentAt);
  info.last_data_recv = msAgo(now, counters.lastDataReceivedAt);
  info.last_ack_recv = msAgo(now, counters.lastAckReceivedAt);
  info.pmtu = connection.host.pathMtu(connection.remoteAddress) ?? 0;
  info.rcv_ssthresh = largestReceiveWindow(connection);
  info.rtt = rtt.srtt === undefined ? 0 : micros(rtt.srtt);
  info.rttvar = rtt.rttvar === undefined ? micros(connection.host.config.initialRtoMs / 4) : micros(rtt.rttvar);
  info.snd_ssthresh = Number.isFinite(cc.ssthresh) ? Math.min(Math.floor(cc.ssthresh / mss), TCP_INFINITE_SSTHRESH) : TCP_INFINITE_SSTHRESH;
  info.snd_cwnd = Math.floor(congestionWindow(connection) / mss); // PRR's through a fast recovery, as Linux's
  info.advmss = connection.advertisedMss;
  info.reordering = counters.reordering;
  info.rcv_rtt = counters.receiverRttScaled >>> 3;
  info.rcv_space = counters.receiveSpace;
  info.total_retrans = counters.totalRetransmissions;
  info.pacing_rate = rtt.srtt === undefined ? UNLIMITED_PACING_RATE : Math.floor(pacingRate(connection));
  info.max_pacing_rate = UNLIMITED_PACING_RATE;
  info.bytes_acked = counters.bytesAcked;
  info.bytes_received = counters.bytesReceived;
  info.segs_out = counters.segmentsOut;
  info.segs_in = counters.segmentsIn;
  info.notsent_bytes = Math.max(0, unsent) + (connection.finPending && !connection.finSent ? 1 : 0);
  info.min_rtt = rtt.minRtt === undefined ? NO_MIN_RTT : micros(rtt.minRtt);
  info.data_segs_in = counters.dataSegmentsIn;
  info.data_segs_out = counters.dataSegmentsOut;
  info.busy_time = micros(busy + receiveWindowLimited + sendBufferLimited);
  info.rwnd_limited = micros(receiveWindowLimited);
  info.sndbuf_limited = micros(sendBufferLimited);
  info.delivered = counters.delivered;
  info.delivered_ce = counters.deliveredCe;
  info.bytes_sent = counters.bytesSent;
  info.bytes_retrans = counters.bytesRetransmitted;
  info.dsack_dups = counters.dsackDuplicates;
  info.reord_seen = counters.reorderingEvents;
  info.rcv_ooopack = counters.outOfOrderSegments;
  info.snd_wnd = connection.sndWnd;
  info.rcv_wnd = counters.receiveWindow;
  info.rehash = connection.flowLabelRehashes;
  info.total_rto = counters.totalRto;
  info.total_rto_recoveries = counters.totalRtoRecoveries;
  info.total_rto_time = Math.floor(counters.totalRtoTime + (counters.rtoRecoveryStartedAt === null ? 0 : now - counters.rtoRecoveryStartedAt));
  return info;
}

/**
 * TCP_INFO as a socket's owner reads it (getsockopt, `socket.getTcpInfo()`): as `tcpInfo`, but a
 * connection in TIME-WAIT reads CLOSE — Linux hands TIME-WAIT to a separate mini-socket
 * (tcp_time_wait) and closes the socket itself (tcp_done), counters intact.
 */
export function socketTcpInfo(connection: TcpConnection, now: number): TcpInfo {
  const info = tcpInfo(connection, now);
  if (connection.state === 'TIME-WAIT') info.state = LINUX_TCP_STATE.CLOSED;
  return info;
}

/**
 * TCP_INFO of a TCP socket with no connection (fresh, or only bound): state CLOSE, and the
 * values Linux's tcp_init_sock() gives a new socket where tcp_get_info() reports them — the
 * initial RTO and its RTTVAR, the default MSS, the initial window, an unset ssthresh and
 * min_rtt, DupThresh, no pacing limit — here from the stack's configuration. The rest is 0.
 */
export function unconnectedTcpInfo(config: TcpConfig): TcpInfo {
  const info = zeroTcpInfo();
  info.state = LINUX_TCP_STATE.CLOSED;
  info.rto = micros(config.initialRtoMs);
  info.rttvar = micros(config.initialRtoMs / 4);
  info.snd_mss = config.defaultMss;
  info.snd_ssthresh = TCP_INFINITE_SSTHRESH;
  info.snd_cwnd = config.initialWindowSegments;
  info.reordering = INITIAL_REORDERING;
  info.min_rtt = NO_MIN_RTT;
  info.pacing_rate = UNLIMITED_PACING_RATE;
  info.max_pacing_rate = UNLIMITED_PACING_RATE;
  return info;
}

/**
 * TCP_INFO of a listening socket, as Linux reports a listener: state LISTEN, the pacing rates,
 * reordering and initial window, and two fields reused — unacked is the number of connections
 * waiting in the accept queue, sacked the queue's limit (the backlog). The rest is 0.
 */
export function listenerTcpInfo(listener: TcpListener, config: TcpConfig): TcpInfo {
  const info = zeroTcpInfo();
  info.state = LINUX_TCP_STATE.LISTEN;
  info.pacing_rate = UNLIMITED_PACING_RATE;
  info.max_pacing_rate = UNLIMITED_PACING_RATE;
  info.reordering = INITIAL_REORDERING;
  info.snd_cwnd = config.initialWindowSegments;
  info.unacked = listener.acceptQueue.length;
  info.sacked = listener.backlog;
  return info;
}
