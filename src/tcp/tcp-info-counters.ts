/**
 * The per-connection counters and clocks behind TCP_INFO (`tcp-info.ts`) that the rest of the
 * TCB does not keep: what Linux's `struct tcp_sock` holds only to report it (RFC 4898's
 * tcpEStats* counters, the "chrono" accounting of sender-limited time, the receiver's RTT
 * estimate and dynamic right-sizing measure, the last-activity stamps). One owner: input,
 * output, recovery and the timers call the methods here where the event happens; each is a
 * few additions on plain number fields, nothing allocated per segment.
 *
 * Times are kept in ms, as ustack's clock gives them; `tcp-info.ts` converts to Linux's units.
 */
import type { SentSegment, TcpConnection } from './connection.js';
import { seqLt, seqSub } from './seq.js';

/** Linux's TCP_MSS_DEFAULT (RFC 9293 §3.7.1's 536): rcv_mss before any data says otherwise. */
const TCP_MSS_DEFAULT = 536;
/** Linux's TCP_MIN_MSS: the smallest receiver MSS estimate. */
const TCP_MIN_MSS = 88;
/** Linux's sysctl_tcp_reordering default: the reordering degree assumed until more is seen (RFC 5681 DupThresh). */
export const INITIAL_REORDERING = 3;
/** Linux's sysctl_tcp_max_reordering: the reordering degree is never raised beyond it. */
const MAX_REORDERING = 300;
/** Linux's TCP_INIT_CWND, which bounds the first receive-space measure to ten segments. */
const INITIAL_RECEIVE_SPACE_SEGMENTS = 10;

/**
 * Linux's `enum tcp_chrono`: what the sender's time is charged to. A higher value takes over
 * from a lower one (tcp_chrono_start), so only one runs at a time.
 */
export const Chrono = {
  /** Nothing to send: no clock runs. */
  none: 0,
  /** Data queued or in flight (TCP_CHRONO_BUSY). */
  busy: 1,
  /** Held back by the peer's receive window (TCP_CHRONO_RWND_LIMITED). */
  receiveWindowLimited: 2,
  /** Everything queued is sent and the application is blocked on a full send buffer (TCP_CHRONO_SNDBUF_LIMITED). */
  sendBufferLimited: 3,
} as const;

/** One of the {@link Chrono} values. */
export type ChronoType = (typeof Chrono)[keyof typeof Chrono];

/** Segments (Linux's "packets", tcp_skb_pcount) a queue entry stands for: its data cut at `mss`, at least one. */
export function segmentCount(segment: SentSegment, mss: number): number {
  const data = segment.length - (segment.syn ? 1 : 0) - (segment.fin ? 1 : 0);
  return data <= mss ? 1 : Math.ceil(data / mss);
}

/**
 * The counters that stay at their initial values until something goes wrong or out of the
 * ordinary — a retransmission, a duplicate, reordering, ECN, a timeout: a record of their own,
 * made at the first change, so that a connection that never saw one shares NOTHING_SEEN.
 */
class LossCounters {
  totalRetransmissions = 0;
  bytesRetransmitted = 0;
  deliveredCe = 0;
  duplicateAckSegments = 0;
  dsackDuplicates = 0;
  reorderingEvents = 0;
  reordering = INITIAL_REORDERING;
  outOfOrderSegments = 0;
  ecnSeen = false;
  totalRto = 0;
  totalRtoRecoveries = 0;
  totalRtoTime = 0;
  rtoRecoveryStartedAt: number | null = null;
}

/** The counters of every connection that never retransmitted, reordered or saw a duplicate: shared, never written. */
const NOTHING_SEEN = new LossCounters();

/** The counters of one connection (Linux's tcp_sock fields of the same meaning named in each comment). */
export class TcpInfoCounters {
  // ---- RFC 4898 counters ----
  /** Segments sent, pure ACKs and retransmissions included (segs_out, tcpEStatsPerfSegsOut). */
  segmentsOut = 0;
  /** Segments sent carrying data, retransmissions included (data_segs_out). */
  dataSegmentsOut = 0;
  /** Data bytes sent, retransmissions included (bytes_sent, tcpEStatsPerfHCDataOctetsOut). */
  bytesSent = 0;
  /** Segments received for this connection, whatever became of them (segs_in). */
  segmentsIn = 0;
  /** Segments received carrying data (data_segs_in). */
  dataSegmentsIn = 0;
  /** Sequence space the peer acknowledged: data, and a SYN or FIN (bytes_acked). */
  bytesAcked = 0;
  /** Sequence space received in order: data, and the FIN (bytes_received). */
  bytesReceived = 0;
  /** Segments known delivered, cumulatively or by SACK, the handshake's included (delivered). */
  delivered = 0;

  // ---- last activity (Linux: lsndtime, icsk_ack.lrcvtime, rcv_tstamp), ms ----
  lastDataSentAt: number;
  lastDataReceivedAt: number;
  lastAckReceivedAt: number;

  // ---- the receiver's view of the peer ----
  /** Estimate of the peer's MSS from the segments it sends (icsk_ack.rcv_mss, tcp_measure_rcv_mss). */
  receiveMss = TCP_MSS_DEFAULT;
  /** Length of the last sub-estimate segment that looked full-sized (icsk_ack.last_seg_size). */
  private lastSegmentSize = 0;
  /** The receive window last advertised, bytes after scaling (rcv_wnd). */
  receiveWindow = 0;

  // ---- receiver RTT estimate (tcp_rcv_rtt_est): µs × 8, as Linux keeps it; 0 before a sample ----
  receiverRttScaled = 0;
  private receiverRttSeq = 0;
  // NaN rather than null for "none": these are written for every segment, and a field that may
  // hold null boxes each number stored in it (a 32-bit TSecr is rarely a small integer).
  /** When the per-window measure began (ms), NaN before the first in-order data. */
  private receiverRttStartedAt = NaN;
  /** The TSecr last used for a sample (rcv_rtt_last_tsecr), NaN before one. */
  private receiverRttLastEcho = NaN;

  // ---- dynamic right-sizing (rcvq_space): data the application read per receiver RTT ----
  receiveSpace = 0;
  private receiveSpaceSeq = 0;
  private receiveSpaceStartedAt = 0;

  // ---- chrono accounting (tcp_chrono_start/stop), ms ----
  chrono: ChronoType = Chrono.none;
  chronoStartedAt = 0;
  /** Time charged to each chrono that has ended, made when the first one ends; the running one is added when read. */
  private chronoTotals: number[] | null = null;
  /** The application found the send buffer full (SOCK_NOSPACE); cleared when half of it frees up. */
  sendBufferFull = false;

  // ---- RTO statistics (Linux 6.7: total_rto, total_rto_recoveries, total_rto_time) ----

  // ---- losses, duplicates, reordering, ECN, timeouts (LossCounters); RTO statistics as Linux 6.7's total_rto* ----
  #losses: LossCounters = NOTHING_SEEN;

  /** The record to count into: this connection's own, made at the first change. */
  #lossesForWrite(): LossCounters {
    if (this.#losses === NOTHING_SEEN) this.#losses = new LossCounters();
    return this.#losses;
  }

  /** Segments retransmitted, SYN and SYN-ACK included (total_retrans). */
  get totalRetransmissions(): number {
    return this.#losses.totalRetransmissions;
  }

  /** Data bytes retransmitted (bytes_retrans, tcpEStatsPerfOctetsRetrans). */
  get bytesRetransmitted(): number {
    return this.#losses.bytesRetransmitted;
  }

  /** Of those, the ones whose ACK carried ECN-Echo (delivered_ce). */
  get deliveredCe(): number {
    return this.#losses.deliveredCe;
  }

  /** Without SACK, duplicate ACKs counted as segments delivered beyond a hole (Linux's sacked_out of a Reno sender). */
  get duplicateAckSegments(): number {
    return this.#losses.duplicateAckSegments;
  }

  /** Segments a D-SACK reported received twice (dsack_dups, tcpEStatsStackDSACKDups). */
  get dsackDuplicates(): number {
    return this.#losses.dsackDuplicates;
  }

  /** ACKs that revealed reordering (reord_seen). */
  get reorderingEvents(): number {
    return this.#losses.reorderingEvents;
  }

  /** The largest reordering seen, in segments, at least DupThresh (reordering). */
  get reordering(): number {
    return this.#losses.reordering;
  }

  /** Data segments that arrived beyond a hole (rcv_ooopack). */
  get outOfOrderSegments(): number {
    return this.#losses.outOfOrderSegments;
  }

  /** An ECN-capable (ECT or CE) data segment arrived on an ECN connection (TCP_ECN_SEEN). */
  get ecnSeen(): boolean {
    return this.#losses.ecnSeen;
  }

  /** Retransmission timeouts (total_rto). */
  get totalRto(): number {
    return this.#losses.totalRto;
  }

  /** RTO recoveries begun (total_rto_recoveries). */
  get totalRtoRecoveries(): number {
    return this.#losses.totalRtoRecoveries;
  }

  /** ms spent in finished RTO recoveries. */
  get totalRtoTime(): number {
    return this.#losses.totalRtoTime;
  }

  /** When the unfinished RTO recovery began (rto_stamp), or null. */
  get rtoRecoveryStartedAt(): number | null {
    return this.#losses.rtoRecoveryStartedAt;
  }

  constructor(now: number) {
    this.lastDataSentAt = now;
    this.lastDataReceivedAt = now;
    this.lastAckReceivedAt = now;
  }

  // ---- segments out ----

  /** A segment left (tcp_transmit_skb): `segments` is more than one only for an offloaded one the link cuts. */
  segmentSent(payloadLength: number, segments: number, now: number): void {
    this.segmentsOut += segments;
    if (payloadLength > 0) {
      this.dataSegmentsOut += segments;
      this.bytesSent += payloadLength;
      this.lastDataSentAt = now;
    }
  }

  /** A segment is about to be sent again (__tcp_retransmit_skb); `segmentSent` counts it as a segment too. */
  retransmitted(dataBytes: number, segments: number): void {
    const losses = this.#lossesForWrite();
    losses.totalRetransmissions += segments;
    losses.bytesRetransmitted += dataBytes;
  }

  // ---- segments in ----

  /** A segment arrived for this connection (tcp_segs_in); an offloaded one joined by the device counts as its parts. */
  segmentArrived(payloadLength: number, mss: number): void {
    const segments = payloadLength > mss && mss > 0 ? Math.ceil(payloadLength / mss) : 1;
    this.segmentsIn += segments;
    if (payloadLength > 0) this.dataSegmentsIn += segments;
  }

  /** An acceptable ACK arrived (tcp_ack sets rcv_tstamp once the ACK is neither too old nor too new). */
  ackArrived(now: number): void {
    this.lastAckReceivedAt = now;
  }

  /**
   * In-order data arrived (tcp_event_data_recv): the last-receive stamp, the peer's MSS estimate
   * (tcp_measure_rcv_mss) and, without timestamps, one receiver RTT sample per window
   * (tcp_rcv_rtt_measure: the time until RCV.NXT passes the window advertised when it began).
   */
  dataArrivedInOrder(connection: TcpConnection, payloadLength: number, flags: number, now: number): void {
    this.lastDataReceivedAt = now;
    this.measureReceiveMss(connection, payloadLength, flags);
    if (!Number.isNaN(this.receiverRttStartedAt)) {
      if (seqLt(connection.rcvNxt, this.receiverRttSeq)) return;
      this.updateReceiverRtt(connection, Math.max(1, Math.round((now - this.receiverRttStartedAt) * 1000)), true);
    }
    this.receiverRttSeq = (connection.rcvNxt + this.receiveWindow) >>> 0;
    this.receiverRttStartedAt = now;
  }

  /**
   * A segment of at least one receiver MSS echoed one of our timestamps (tcp_rcv_rtt_measure_ts):
   * the time since we sent that timestamp is a receiver RTT sample, once per echo value.
   */
  timestampEchoed(connection: TcpConnection, segmentLength: number, tsEcr: number, now: number): void {
    if (tsEcr === this.receiverRttLastEcho) return;
    this.receiverRttLastEcho = tsEcr;
    if (segmentLength < this.receiveMss) return;
    const ticks = (connection.timestamps.tsVal(now) - tsEcr) | 0; // our clock ticks in ms (RFC 7323 §5.4)
    if (ticks > 0 && ticks < 2_000_000) this.updateReceiverRtt(connection, ticks * 1000, false);
  }

  /**
   * tcp_rcv_rtt_update: a smaller sample replaces the estimate; a larger one is averaged in
   * (gain 1/8) only from timestamps and only while nothing waits to be read, since a sample per
   * window only ever overestimates.
   */
  private updateReceiverRtt(connection: TcpConnection, sampleUs: number, perWindow: boolean): void {
    const scaled = sampleUs * 8;
    const old = this.receiverRttScaled;
    if (old === 0 || scaled < old) {
      this.receiverRttScaled = scaled;
    } else if (!perWindow && connection.receiveQueueBytes === 0) {
      this.receiverRttScaled = old - (old >>> 3) + sampleUs;
    }
  }

  /**
   * tcp_measure_rcv_mss: a segment at least as long as the estimate raises it (up to the MSS we
   * advertised); a shorter one that still looks full-sized (long enough, or without PSH, URG or
   * FIN) lowers it once two in a row have the same length.
   */
  private measureReceiveMss(connection: TcpConnection, payloadLength: number, flags: number): void {
    const previous = this.lastSegmentSize;
    this.lastSegmentSize = 0;
    const advertised = connection.advertisedMss || connection.sendMss;
    if (payloadLength >= this.receiveMss) {
      this.receiveMss = Math.min(payloadLength, advertised);
      return;
    }
    const remnant = (flags & REMNANT_FLAGS) !== 0;
    if (payloadLength >= TCP_MSS_DEFAULT || (payloadLength >= TCP_MIN_MSS && !remnant)) {
      this.lastSegmentSize = payloadLength;
      if (payloadLength === previous) this.receiveMss = payloadLength;
    }
  }

  /** An ECN-capable (ECT or CE) data segment arrived on an ECN connection (tcp_data_ecn_check). */
  ecnCapableDataArrived(): void {
    if (!this.#losses.ecnSeen) this.#lossesForWrite().ecnSeen = true;
  }

  /** A data segment arrived beyond a hole (tcp_data_queue_ofo). */
  outOfOrderArrived(): void {
    this.#lossesForWrite().outOfOrderSegments++;
  }

  /** RCV.NXT advanced by `bytes` (tcp_rcv_nxt_update; the FIN counts as one). */
  received(bytes: number): void {
    this.bytesReceived += bytes;
  }

  // ---- the connection is established ----

  /**
   * The handshake completed. The stamps start here (tcp_finish_connect, tcp_create_openreq_child),
   * and so do the receiver's estimates (tcp_initialize_rcv_mss, tcp_init_buffer_space).
   *
   * A passive open starts its counters over as Linux's child socket does: Linux answers a SYN
   * with a request sock and creates the socket only at the handshake's last ACK, with the SYN
   * counted (segs_in = 1), none of its SYN-ACKs (segs_out = 0) and SND.UNA already past the
   * SYN-ACK (so that ACK adds nothing to bytes_acked); its SYN-ACK retransmissions and timeouts
   * carry over (total_retrans, total_rto).
   */
  established(connection: TcpConnection, passive: boolean, now: number): void {
    if (passive) {
      this.segmentsIn = 1;
      this.dataSegmentsIn = 0;
      this.segmentsOut = 0;
      this.dataSegmentsOut = 0;
      this.bytesSent = 0;
      this.bytesAcked = 0;
    }
    this.lastDataSentAt = now;
    this.lastDataReceivedAt = now;
    this.lastAckReceivedAt = now;
    this.rtoRecoveryEnded(now);
    const advertised = connection.advertisedMss || connection.sendMss;
    this.receiveMss = Math.max(TCP_MIN_MSS, Math.min(advertised, connection.sendMss, Math.floor(this.receiveWindow / 2), TCP_MSS_DEFAULT));
    this.receiveSpace = Math.min(largestReceiveWindow(connection), this.receiveWindow, INITIAL_RECEIVE_SPACE_SEGMENTS * advertised);
    this.receiveSpaceSeq = connection.readSequence();
    this.receiveSpaceStartedAt = now;
  }

  /**
   * The application read (tcp_rcv_space_adjust, dynamic right-sizing): once a receiver RTT has
   * passed since the measure began, the data read in it, less what still waits, becomes the
   * receive space if it is larger. ustack does not grow its buffer from it (its window is the
   * free buffer space from the start); the measure is reported as Linux reports it.
   */
  applicationRead(connection: TcpConnection, now: number): void {
    if (this.receiverRttScaled === 0) return;
    if ((now - this.receiveSpaceStartedAt) * 1000 < this.receiverRttScaled >>> 3) return;
    const readSequence = connection.readSequence();
    const copied = seqSub(readSequence, this.receiveSpaceSeq) - connection.receiveQueueBytes;
    if (copied > this.receiveSpace) this.receiveSpace = copied;
    this.receiveSpaceSeq = readSequence;
    this.receiveSpaceStartedAt = now;
  }

  // ---- the sender's view of the peer ----

  /** SND.UNA advanced by `sequenceSpace` (tcp_snd_una_update). */
  acknowledged(sequenceSpace: number): void {
    this.bytesAcked += sequenceSpace;
  }

  /** Delivery of `segments` segments became known, by an ACK or a SACK block (tcp_count_delivered). */
  deliveredSegments(segments: number): void {
    this.delivered += segments;
  }

  /** An ACK carrying ECN-Echo reported `segments` delivered (tcp_count_delivered with ece_ack). */
  deliveredWithEcnEcho(segments: number): void {
    if (segments !== 0) this.#lossesForWrite().deliveredCe += segments;
  }

  /**
   * A duplicate ACK without SACK (tcp_add_reno_sack): one more segment left the network, as far
   * as the sender can tell. Never more than the segments in flight save the hole
   * (tcp_limit_reno_sacked).
   */
  duplicateAckWithoutSack(segmentsInFlight: number): void {
    if (this.duplicateAckSegments + 1 >= segmentsInFlight) return;
    this.#lossesForWrite().duplicateAckSegments++;
    this.delivered++;
  }

  /**
   * A cumulative ACK without SACK acknowledged `segments` (tcp_remove_reno_sacks): those the
   * duplicate ACKs already counted are not counted again, but the ACK counts at least one.
   */
  cumulativeAckWithoutSack(segments: number): void {
    const counted = this.duplicateAckSegments;
    this.delivered += Math.max(segments - counted, 1);
    if (counted !== 0) this.#lossesForWrite().duplicateAckSegments = segments < counted ? counted - segments : 0;
  }

  /**
   * A D-SACK arrived (tcp_dsack_seen): the segments it covers were received twice. A block
   * longer than the largest window the peer ever offered is not believed.
   */
  dsackReceived(length: number, mss: number, largestWindow: number): void {
    if (length <= 0 || length > largestWindow) return;
    this.#lossesForWrite().dsackDuplicates += length > mss ? Math.ceil(length / mss) : 1;
  }

  /**
   * An ACK showed data below the highest SACKed sequence number delivered without
   * retransmission: reordering (tcp_check_sack_reordering). `distance` is how far below; the
   * degree becomes the distance in segments when it exceeds the current one.
   */
  reorderingSeen(distance: number, mss: number): void {
    const losses = this.#lossesForWrite();
    if (distance > losses.reordering * mss && mss > 0) {
      losses.reordering = Math.min(Math.ceil(distance / mss), MAX_REORDERING);
    }
    losses.reorderingEvents++;
  }

  // ---- retransmission timeouts ----

  /** The retransmission timer expired (tcp_update_rto_stats); `first` when it is the first without progress. */
  rtoFired(first: boolean, now: number): void {
    const losses = this.#lossesForWrite();
    losses.totalRto++;
    if (first) {
      losses.totalRtoRecoveries++;
      losses.rtoRecoveryStartedAt ??= now;
    }
  }

  /** The RTO recovery ended: everything outstanding at the timeout was acknowledged (tcp_update_rto_time). */
  rtoRecoveryEnded(now: number): void {
    const losses = this.#losses;
    if (losses.rtoRecoveryStartedAt === null) return;
    losses.totalRtoTime += now - losses.rtoRecoveryStartedAt;
    losses.rtoRecoveryStartedAt = null;
  }

  // ---- chrono accounting ----

  /** tcp_chrono_start: `type` takes over unless a higher one runs. */
  chronoStart(type: ChronoType, now: number): void {
    if (type > this.chrono) this.chronoSet(type, now);
  }

  /**
   * tcp_chrono_stop: with nothing queued or in flight every clock stops; otherwise, if `type`
   * was the one running, the time goes back to plain busy.
   */
  chronoStop(type: ChronoType, queuesEmpty: boolean, now: number): void {
    if (queuesEmpty) this.chronoSet(Chrono.none, now);
    else if (type === this.chrono) this.chronoSet(Chrono.busy, now);
  }

  /** Time charged to `type` so far, the running clock included (ms). */
  chronoTime(type: ChronoType, now: number): number {
    return (this.chronoTotals === null ? 0 : this.chronoTotals[type]) + (this.chrono === type ? now - this.chronoStartedAt : 0);
  }

  private chronoSet(type: ChronoType, now: number): void {
    if (this.chrono !== Chrono.none) (this.chronoTotals ??= [0, 0, 0, 0])[this.chrono] += now - this.chronoStartedAt;
    this.chronoStartedAt = now;
    this.chrono = type;
  }

  /**
   * The application could not queue all it wrote (SOCK_NOSPACE). The send-buffer clock starts
   * once everything queued has been sent while the congestion window had room (`chronoStart`
   * from output.ts, as tcp_cwnd_validate).
   */
  sendBufferFilled(): void {
    this.sendBufferFull = true;
  }

  /**
   * ACKs freed send-buffer space: once the free part is at least half the used part
   * (sk_stream_is_writeable) the application is no longer blocked and the send-buffer clock
   * stops (tcp_check_space).
   */
  sendBufferFreed(free: number, used: number, queuesEmpty: boolean, now: number): void {
    if (!this.sendBufferFull || 2 * free < used) return;
    this.sendBufferFull = false;
    this.chronoStop(Chrono.sendBufferLimited, queuesEmpty, now);
  }
}

/** PSH, URG, FIN, SYN: Linux's TCP_REMNANT, flags that mark a segment that may be short on purpose. */
const REMNANT_FLAGS = 0x08 | 0x20 | 0x01 | 0x02;

/**
 * The largest window the connection can advertise: its receive buffer, up to what the window
 * field carries at its scale (RFC 7323 §2.3). ustack opens the window to the free space at once
 * (no receive-window slow start, Linux's rcv_ssthresh), so this is also its rcv_ssthresh.
 */
export function largestReceiveWindow(connection: TcpConnection): number {
  return Math.min(connection.receiveBufferSize, 0xffff * 2 ** connection.rcvWindowShift);
}
