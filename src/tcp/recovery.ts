/**
 * The sender's side of acknowledgments: the retransmission queue, RTT samples (RFC 6298,
 * RFC 7323 §4), the SACK scoreboard (RFC 2018, RFC 6675), loss detection by RACK (RFC 8985
 * §6, in rack.ts) with SACK or by duplicate ACKs with NewReno (RFC 5681 §3.2, RFC 6582)
 * without it, fast recovery paced by PRR (RFC 9937, in prr.ts), and the congestion
 * controller's hooks. Retransmission timeouts (RFC 6298 §5) end here too, with F-RTO's first
 * step (RFC 5682; the rest in frto.ts).
 */
import type { SentSegment, TcpConnection } from './connection.js';
import { frtoMayStart } from './frto.js';
import { ProportionalRateReduction } from './prr.js';
import { takeRttSample } from './rtt-sampling.js';
import type { Segment } from './segment.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from './seq.js';
import { segmentCount } from './tcp-info-counters.js';
import type { SackBlock } from './tcp-options.js';

/** The end of a sent segment's sequence space. */
function endOf(segment: SentSegment): number {
  return seqAdd(segment.seq, segment.length);
}

/**
 * Which loss recovery the sender is in (Linux's names in brackets):
 *
 * - `'open'`: none [Open; also Disorder, and CWR, whose ECN reduction is ecn.ts's]. Losses are
 *   looked for (RACK, duplicate ACKs) and the tail loss probe may be armed.
 * - `'fast'`: fast recovery [Recovery], begun when ACKs showed a loss — RACK's (RFC 8985 §6.3,
 *   with SACK, RFC 6675 §5) or the third duplicate ACK's (RFC 5681 §3.2, RFC 6582, without) —
 *   or when RACK found a retransmission of an RTO recovery lost (below). The window was reduced
 *   once and PRR (RFC 9937) paces the flight down to ssthresh; it ends when SND.UNA reaches
 *   "recover".
 * - `'rto'`: after a retransmission timeout (RFC 6298 §5.4–5.6) [Loss]: cwnd collapsed
 *   (RFC 5681 §3.1), everything outstanding deemed lost (RFC 8985 §6.3), until SND.UNA reaches
 *   "recover" (SND.NXT at the timeout), or F-RTO (RFC 5682, frto.ts) finds the timeout spurious.
 *   ACKs grow cwnd by slow start; a segment RACK finds lost meanwhile is marked and resent within
 *   cwnd, and no fast recovery starts (RFC 6675 §5.1: "a new recovery phase … MUST NOT be
 *   initiated until HighACK is greater than or equal to the new value of RecoveryPoint"; without
 *   SACK, RFC 6582 §4: duplicate ACKs that do not cover "recover" start no fast retransmit).
 *   One loss ends this: that of a retransmission. RFC 5681 §4.3 says "the loss of a
 *   retransmission" is a second indication of congestion and cwnd and ssthresh "MUST be lowered
 *   twice", and RFC 8985 §3.4 repeats it for the losses RACK finds. Linux does that
 *   (tcp_fastretrans_alert: in Loss, FLAG_LOST_RETRANS falls through to tcp_enter_recovery, and
 *   Loss is no cwnd reduction, so ssthresh is recomputed and PRR starts), and so do we: the RTO
 *   recovery gives way to a fast recovery up to the new SND.NXT, which covers what the timeout's
 *   "recover" did. We read the two rules as not colliding: RFC 6675 §5.1 and RFC 6582 §4 guard
 *   against loss detection by sequence (DupThresh, duplicate ACKs), which cannot tell a lost
 *   retransmission from a needless one (RFC 6582 §4 says as much), while RACK marks a
 *   retransmission lost only when a segment sent after it was delivered (RFC 8985 §6.2).
 */
export type RecoveryState = 'open' | 'fast' | 'rto';

/**
 * The loss-recovery state of a connection's sender and RFC 6582's "recover", its one owner:
 * recovery.ts enters and ends the recoveries, frto.ts ends an RTO recovery found spurious, and
 * the rest ask.
 */
export class LossRecovery {
  private current: RecoveryState = 'open';
  /** RFC 6582 "recover": the highest sequence number sent when recovery began (starts at ISS). */
  private recover = 0;

  /** Which recovery the sender is in. */
  get state(): RecoveryState {
    return this.current;
  }

  /** No loss recovery (Linux's Open, Disorder or CWR). */
  get open(): boolean {
    return this.current === 'open';
  }

  /** In a fast recovery (Linux's Recovery). */
  get inFastRecovery(): boolean {
    return this.current === 'fast';
  }

  /** In an RTO recovery (Linux's Loss). */
  get inRtoRecovery(): boolean {
    return this.current === 'rto';
  }

  /** RFC 6582 "recover": SND.NXT when the last recovery began (ISS before any). */
  get recoveryPoint(): number {
    return this.recover;
  }

  /** The connection's own SYN is about to leave: "recover" starts at ISS (RFC 6582 §3.2 step 1). */
  opening(iss: number): void {
    this.recover = iss;
  }

  /**
   * A loss shown by ACKs starts a fast recovery up to `sndNxt`: from `'open'`, or from `'rto'`
   * when a retransmission was found lost (`retransmissionLost`; RFC 5681 §4.3), which ends the
   * RTO recovery. False (and nothing changes) otherwise: a fast recovery is already on, or an RTO
   * recovery repairs the loss itself (RFC 6675 §5.1).
   */
  enterFastRecovery(sndNxt: number, retransmissionLost: boolean): boolean {
    if (this.current === 'fast' || (this.current === 'rto' && !retransmissionLost)) return false;
    this.current = 'fast';
    this.recover = sndNxt;
    return true;
  }

  /** A retransmission timeout: RTO recovery up to `sndNxt`, ending any fast recovery. */
  enterRtoRecovery(sndNxt: number): void {
    this.current = 'rto';
    this.recover = sndNxt;
  }

  /** The fast recovery is over (SND.UNA reached "recover"). */
  endFastRecovery(): void {
    if (this.current === 'fast') this.current = 'open';
  }

  /** The RTO recovery is over (SND.UNA reached "recover", or F-RTO undid it). */
  endRtoRecovery(): void {
    if (this.current === 'rto') this.current = 'open';
  }
}

/**
 * Whether the congestion window is what holds the sender back, so that an ACK may grow it
 * (RFC 7661; TcpConfig.congestionWindowValidation says by which rule). Measured over the current
 * window of data (cwnd-validation.ts), not from the flight left when the ACK arrives.
 */
export function congestionWindowLimited(connection: TcpConnection): boolean {
  const cc = connection.cc;
  return connection.windowUse.validated(connection.host.config.congestionWindowValidation, cc.cwnd, cc.cwnd < cc.ssthresh, connection.sendMss);
}

/**
 * RFC 6675 §4 "pipe": the data in flight, neither SACKed nor deemed lost. Without SACK, each
 * duplicate ACK since the last cumulative one says a segment has left the network: that is
 * what lets limited transmit (RFC 3042) and fast recovery (RFC 5681 §3.2 step 4) send.
 */
export function pipe(connection: TcpConnection): number {
  const inFlight = connection.inFlight.pipe;
  return connection.sackEnabled ? inFlight : Math.max(0, inFlight - connection.dupAcks * connection.sendMss);
}

/** The congestion window the sender obeys: PRR's through a fast recovery (RFC 9937), the controller's otherwise. */
export function congestionWindow(connection: TcpConnection): number {
  return connection.prr?.cwnd ?? connection.cc.cwnd;
}

/** The scoreboard as an ACK found it, for what PRR needs to know of the ACK (`reduceForAck`). */
export interface ScoreboardBefore {
  readonly sndUna: number;
  readonly sackedBytes: number;
  readonly dupAcks: number;
  readonly lossMarks: number;
  /** Whether cwnd was what held the sender back (RFC 7661): only then may the ACK grow it. */
  readonly cwndLimited: boolean;
}

/**
 * An ACK arrives: RACK.rtt is to come from the segments it delivers (RFC 8985 §6.2 step 2), and
 * the scoreboard's measure is taken for PRR.
 */
export function ackArrives(connection: TcpConnection): ScoreboardBefore {
  connection.rack.ackArrives();
  connection.frto.ackArrives();
  const queue = connection.inFlight;
  return {
    sndUna: connection.sndUna,
    sackedBytes: queue.sackedBytes,
    dupAcks: connection.dupAcks,
    lossMarks: queue.lossMarks,
    cwndLimited: congestionWindowLimited(connection),
  };
}

/**
 * RFC 9937 DeliveredData: what an ACK newly reports the receiver has, by the change in SND.UNA
 * plus the change in SACKed bytes (data SACKed earlier and now cumulatively acknowledged is not
 * delivered twice). Without SACK a duplicate ACK reports one segment, and a cumulative ACK what
 * it covers less the segments its duplicate ACKs already reported — at least one segment, as
 * Linux's tcp_remove_reno_sacks counts it.
 */
export function deliveredData(connection: TcpConnection, before: ScoreboardBefore, duplicate: boolean): number {
  const acked = seqSub(connection.sndUna, before.sndUna);
  const mss = connection.sendMss;
  if (connection.sackEnabled) return Math.max(0, acked + connection.inFlight.sackedBytes - before.sackedBytes);
  if (duplicate) return mss;
  return acked > 0 ? Math.max(acked - before.dupAcks * mss, Math.min(acked, mss)) : 0;
}

/**
 * PRR's step for an ACK during fast recovery or an ECN reduction (RFC 9937 §4), the one that
 * began it included. An ACK is "safe" (PRR-SSRB may send a segment more) when it advanced
 * SND.UNA and marked nothing newly lost.
 */
export function reduceForAck(connection: TcpConnection, before: ScoreboardBefore, delivered: number): void {
  const prr = connection.prr;
  if (prr === null || !(connection.recovery.inFastRecovery || connection.ecn.reducing)) return;
  const safe = seqGt(connection.sndUna, before.sndUna) && connection.inFlight.lossMarks === before.lossMarks;
  prr.onAck(delivered, pipe(connection), connection.cc.ssthresh, safe, connection.sendMss);
}

/**
 * With cwndGrowthFromDeliveredData (Linux's tcp_cong_control): an ACK outside fast recovery grows
 * cwnd by what it newly delivered (RFC 9937's DeliveredData) when it acknowledges new data — or,
 * once the reordering seen exceeds DupThresh, whenever it delivers anything, SACKs included
 * (tcp_may_raise_cwnd). Without the setting, `acknowledge` grows cwnd by RFC 5681's N.
 */
export function growForDelivered(connection: TcpConnection, before: ScoreboardBefore, delivered: number, dataAcked: boolean, now: number): void {
  const config = connection.host.config;
  if (!config.cwndGrowthFromDeliveredData || connection.recovery.inFastRecovery || delivered <= 0) return;
  if (!dataAcked && connection.info.reordering <= config.duplicateThreshold) return;
  connection.cc.onAck(delivered, now, connection.rtt.srtt, !before.cwndLimited);
}

/** What a cumulative ACK did. */
export interface AckResult {
  /** Data bytes newly acknowledged (SYN and FIN excluded). */
  readonly dataAcked: number;
  /** Sequence space newly acknowledged (SYN and FIN included). */
  readonly sequenceAcked: number;
  readonly finAcked: boolean;
  readonly rttSample: number | undefined;
}

/**
 * Processes an acceptable ACK that advances SND.UNA (RFC 9293 §3.10.7.4, fifth step):
 * drops acknowledged segments and data, takes an RTT sample, updates the congestion window.
 */
export function acknowledge(connection: TcpConnection, segment: Segment, now: number): AckResult {
  const ack = segment.ack;
  const sequenceAcked = seqSub(ack, connection.sndUna);
  const info = connection.info;
  info.acknowledged(sequenceAcked);
  // Grow cwnd only if it was what held the sender back (RFC 7661).
  const appLimited = !congestionWindowLimited(connection);
  const mss = connection.sendMss;

  // Drop acknowledged entries from the retransmission queue; trim a partly acknowledged one.
  const queue = connection.inFlight;
  let removed = 0;
  // When the oldest and newest newly acknowledged segments were sent, of those whose time says
  // something for an RTT sample: not SACKed before, never retransmitted (Karn, RFC 6298 §3).
  let oldestSent: number | undefined;
  let newestSent: number | undefined;
  // When the newly acknowledged data was last retransmitted (-Infinity if never).
  let lastRetransmittedAt = -Infinity;
  // Segments newly known delivered (SACKed ones were counted when SACKed), and the lowest
  // sequence number acknowledged out of order, for TCP_INFO.
  let deliveredSegments = 0;
  let reorderedFrom: number | null = null;
  while (removed < queue.length && seqLe(endOf(queue.at(removed)), ack)) {
    const acked = queue.at(removed);
    if (!acked.sacked) {
      connection.rack.update(acked, now, true, connection.rtt.minRtt);
      connection.frto.delivered(acked, endOf(acked), false);
      deliveredSegments += segmentCount(acked, mss);
      // RFC 8985 §6.2 step 3 counts cumulatively acknowledged segments too: an original
      // transmission that arrives after a later segment was SACKed fills the hole and is
      // acknowledged cumulatively, never SACKed itself.
      if (acked.retransmits === 0 && seqLt(endOf(acked), connection.highestSackedEnd)) {
        connection.rack.reorderingDetected();
        reorderedFrom ??= acked.seq;
      }
    }
    if (acked.retransmits > 0 && acked.sentAt > lastRetransmittedAt) lastRetransmittedAt = acked.sentAt;
    else if (!acked.sacked && acked.retransmits === 0) {
      oldestSent ??= acked.sentAt;
      newestSent = acked.sentAt;
    }
    removed++;
  }
  queue.dropFront(removed);
  const partlyAcked = queue.first;
  if (partlyAcked !== undefined && seqLt(partlyAcked.seq, ack)) {
    queue.splitAt(0, ack);
    connection.rack.update(partlyAcked, now, true, connection.rtt.minRtt);
    if (!partlyAcked.sacked) {
      connection.frto.delivered(partlyAcked, ack, false);
      deliveredSegments += segmentCount(partlyAcked, mss);
    }
    if (partlyAcked.retransmits > 0 && partlyAcked.sentAt > lastRetransmittedAt) lastRetransmittedAt = partlyAcked.sentAt;
    else if (!partlyAcked.sacked && partlyAcked.retransmits === 0) {
      oldestSent ??= partlyAcked.sentAt;
      newestSent = partlyAcked.sentAt;
    }
    queue.dropFront(1);
  }

  // Data bytes covered by the ACK leave the send buffer; FIN sits just past the data.
  const dataEnd = seqAdd(connection.sendBufferSeq, connection.sendBuffer.length);
  const dataAcked = Math.max(0, seqSub(seqLt(ack, dataEnd) ? ack : dataEnd, connection.sendBufferSeq));
  if (dataAcked > 0) {
    connection.sendBuffer.consume(dataAcked);
    connection.sendBufferSeq = seqAdd(connection.sendBufferSeq, dataAcked);
  }
  const finAcked = connection.finSent && seqGt(ack, dataEnd);
  // Linux's tcp_count_delivered (with SACK) and tcp_remove_reno_sacks (without), and
  // tcp_check_sack_reordering for data acknowledged below the highest SACKed byte.
  if (connection.sackEnabled) info.deliveredSegments(deliveredSegments);
  else if (deliveredSegments > 0) info.cumulativeAckWithoutSack(deliveredSegments);
  if (reorderedFrom !== null) info.reorderingSeen(seqSub(connection.highestSackedEnd, reorderedFrom), mss);
  connection.sndUna = ack;

  const rttSample = takeRttSample(connection, segment, now, { oldest: oldestSent, newest: newestSent }, lastRetransmittedAt);
  connection.rtt.resetBackoff();
  connection.timeoutCount = 0;
  connection.persistBackoff = 0;
  // RFC 6582 §3.2 step 5: a partial ACK in recovery deflates the window by the data it covers
  // and adds one segment back, so the segments duplicate ACKs reported beyond those it covers
  // stay out of the pipe (Linux's tcp_remove_reno_sacks keeps them too).
  const recovery = connection.recovery;
  const partialAck = !connection.sackEnabled && recovery.inFastRecovery && seqLt(ack, recovery.recoveryPoint);
  connection.dupAcks = partialAck ? Math.max(0, connection.dupAcks - (deliveredSegments - 1)) : 0;

  // Congestion control (RFC 5681 §3.1; RFC 6582 §3.2 steps 5–6; RFC 6675 §5).
  if (recovery.inFastRecovery) {
    if (seqGe(ack, recovery.recoveryPoint)) {
      recovery.endFastRecovery();
      // RFC 9937 §4: recovery ends with cwnd = ssthresh, where the controller left it.
      connection.prr = null;
      connection.stats.increment('tcp.recovery.exit');
      connection.cc.onRecoveryEnd(now);
      connection.rack.recoveryEnded();
      undoIfSpurious(connection, now);
    } else if (!connection.sackEnabled && queue.length > 0) {
      // NewReno partial acknowledgment: the next hole is lost too.
      queue.markLost(queue.at(0));
      connection.stats.increment('tcp.recovery.partialAck');
    }
  } else if (dataAcked > 0 && !connection.host.config.cwndGrowthFromDeliveredData) {
    connection.cc.onAck(dataAcked, now, connection.rtt.srtt, appLimited);
  }
  if (recovery.inRtoRecovery && seqGe(ack, recovery.recoveryPoint)) {
    recovery.endRtoRecovery();
    info.rtoRecoveryEnded(now);
    connection.rack.recoveryEnded();
  }

  return { dataAcked, sequenceAcked, finAcked, rttSample };
}

/**
 * Marks segments covered by SACK blocks (RFC 2018 §3, RFC 6675 §4 Update()). Blocks outside
 * (SND.UNA, SND.NXT] are ignored. A first block at or below the ACK field of the same segment
 * (`ack`), or inside the second block, is a D-SACK (RFC 2883 §4); compared with SND.UNA instead,
 * the ordinary SACK blocks of an ACK overtaken by a later one would look like D-SACKs.
 */
export function processSack(connection: TcpConnection, blocks: readonly SackBlock[], now: number, ack = connection.sndUna): void {
  if (!connection.sackEnabled || blocks.length === 0) return;
  const first = blocks[0];
  const dsack = seqLe(first.rightEdge, ack) || (blocks.length > 1 && seqGe(first.leftEdge, blocks[1].leftEdge) && seqLe(first.rightEdge, blocks[1].rightEdge));
  if (dsack) {
    connection.stats.increment('tcp.rx.dsack');
    connection.info.dsackReceived(seqSub(first.rightEdge, first.leftEdge), connection.sendMss, connection.maxSndWnd);
    if (connection.rack.dsackReceived(connection.sndUna, connection.sndNxt)) connection.stats.increment('tcp.rack.reorderWindowGrown');
    // RFC 3708 §3.2: a D-SACK for data sent since the recovery began says one retransmission
    // of it was needless.
    if (connection.undo && connection.undo.retransmissions > 0 && seqGe(first.leftEdge, connection.undo.marker)) {
      connection.undo.retransmissions--;
      undoIfSpurious(connection, now);
    }
  }
  let highestSacked = connection.highestSackedEnd;
  // The lowest segment this ACK shows delivered below the highest one SACKed before (TCP_INFO's reordering).
  let reorderedFrom: number | null = null;
  // In sequence order, as Linux walks them (it matters only to rackRttInSequenceOrder).
  const ordered = blocks.length > 1 ? [...blocks].sort((x, y) => seqSub(x.leftEdge, y.leftEdge)) : blocks;
  for (let b = 0; b < ordered.length; b++) {
    const { leftEdge, rightEdge } = ordered[b];
    if (!seqLt(leftEdge, rightEdge)) {
      connection.stats.increment('tcp.rx.sackInvalid');
      continue;
    }
    if (seqLe(rightEdge, connection.sndUna)) continue; // a D-SACK, or old news on a late ACK
    if (seqGt(rightEdge, connection.sndNxt) || seqLt(leftEdge, connection.sndUna)) {
      connection.stats.increment('tcp.rx.sackInvalid');
      continue;
    }
    const queue = connection.inFlight;
    const mss = connection.sendMss;
    // Entries ending at or before the left edge are not covered: start past them.
    for (let i = queue.firstEndingAfter(leftEdge); i < queue.length; i++) {
      const segment = queue.at(i);
      const end = endOf(segment);
      if (seqGe(segment.seq, rightEdge)) break;
      if (segment.sacked) continue;
      // RFC 2018 §5: a segment is SACKed when a block wholly contains it. An entry of several
      // segments (sent with segmentation offload) is that many MSS-sized segments: a block
      // covering some of them splits it at the nearest whole-segment boundary inside the block
      // (as Linux's tcp_match_skb_to_sack); a block covering only part of a segment says
      // nothing about it.
      if (seqLt(segment.seq, leftEdge)) {
        const boundary = seqAdd(segment.seq, Math.ceil(seqSub(leftEdge, segment.seq) / mss) * mss);
        if (seqLt(boundary, end) && seqLt(boundary, rightEdge)) queue.splitAt(i, boundary);
        continue; // the tail, if any, is examined next
      }
      if (seqGt(end, rightEdge)) {
        const boundary = seqAdd(segment.seq, Math.floor(seqSub(rightEdge, segment.seq) / mss) * mss);
        if (boundary === segment.seq) break; // less than one segment covered
        queue.splitAt(i, boundary);
      }
      queue.markSacked(segment);
      connection.stats.increment('tcp.rx.sackedSegments');
      connection.info.deliveredSegments(segmentCount(segment, connection.sendMss));
      connection.rack.update(segment, now, false, connection.rtt.minRtt);
      const segmentEnd = endOf(segment);
      connection.frto.delivered(segment, segmentEnd, true);
      // RFC 8985 §6.2 step 3: delivery of a segment below the highest one SACKed before is
      // reordering. Not below one SACKed by this same ACK: a receiver lists its most recent
      // block first (RFC 2018 §4), so blocks come in any sequence order, and which of them
      // arrived first is unknowable (Linux sorts them before tagging for the same reason).
      if (seqLt(segmentEnd, connection.highestSackedEnd) && segment.retransmits === 0) {
        connection.rack.reorderingDetected();
        if (reorderedFrom === null || seqLt(segment.seq, reorderedFrom)) reorderedFrom = segment.seq;
      }
      if (seqGt(segmentEnd, highestSacked)) highestSacked = segmentEnd;
    }
  }
  if (reorderedFrom !== null) connection.info.reorderingSeen(seqSub(connection.highestSackedEnd, reorderedFrom), connection.sendMss);
  connection.highestSackedEnd = highestSacked;
}

/**
 * A duplicate ACK (RFC 5681 §2): no data, no SYN/FIN, ACK equal to SND.UNA, the same window,
 * and data outstanding. Without SACK, the third starts fast retransmit (RFC 5681 §3.2, RFC 6582).
 */
export function isDuplicateAck(connection: TcpConnection, segment: Segment, previousWindow: number): boolean {
  return (
    segment.payload.length === 0 &&
    segment.len === 0 &&
    segment.ack === connection.sndUna &&
    segment.window << connection.sndWindowShift === previousWindow &&
    connection.inFlight.length > 0
  );
}

/**
 * Counts a duplicate ACK and, without SACK, starts NewReno fast retransmit at DupThresh.
 * `before` is the scoreboard as the ACK found it.
 */
export function duplicateAck(connection: TcpConnection, before: ScoreboardBefore): void {
  connection.dupAcks++;
  connection.stats.increment('tcp.rx.duplicateAcks');
  if (!connection.sackEnabled) connection.info.duplicateAckWithoutSack(connection.inFlight.length);
  if (connection.sackEnabled || connection.recovery.inFastRecovery) return;
  // RFC 6582 §3.2 step 1: only when the ACK covers more than the last recovery point.
  if (connection.dupAcks === connection.host.config.duplicateThreshold && seqGt(connection.sndUna, connection.recovery.recoveryPoint)) {
    connection.inFlight.markLost(connection.inFlight.at(0));
    connection.stats.increment('tcp.fastRetransmits');
    enterRecovery(connection, connection.host.now(), before);
  }
}

/**
 * The FlightSize a reduction is computed from. With SACK, SND.NXT − SND.UNA counts SACKed data
 * too and can far exceed what the congestion window let out; halving that would raise cwnd.
 * Like Linux, we never base a reduction on more than cwnd.
 */
export function reductionBase(connection: TcpConnection): number {
  if (connection.host.config.reductionBasis === 'cwnd') return connection.cc.cwnd;
  return Math.min(connection.flightSize, connection.cc.cwnd);
}

/**
 * RFC 3708 §3.2 (Linux's tcp_try_undo_dsack and tcp_try_undo_recovery): once the recovery is
 * over and none of its retransmissions remains unexplained by a D-SACK, nothing was lost — the
 * segments were only reordered or delayed — and the window reduction is undone.
 */
function undoIfSpurious(connection: TcpConnection, now: number): void {
  const undo = connection.undo;
  if (!undo || undo.retransmissions > 0 || !connection.recovery.open) return;
  connection.undo = null;
  connection.stats.increment('tcp.cwnd.undone');
  connection.cc.onSpuriousCongestionEvent(now);
}

/**
 * Enters fast recovery once per window of data (RFC 6675 §5, RFC 8985 §6.3): the controller
 * picks ssthresh, and PRR (RFC 9937) paces the flight down to it. During an RTO recovery, only
 * when RACK has just found a retransmission lost (RFC 5681 §4.3; see RecoveryState). `before` is
 * the scoreboard as the ACK that shows the loss found it (none when RACK's timer shows it):
 * RecoverFS is what was outstanding then and not yet known delivered.
 */
export function enterRecovery(connection: TcpConnection, now: number, before?: ScoreboardBefore): void {
  const recovery = connection.recovery;
  const fromRto = recovery.inRtoRecovery;
  // In an RTO recovery only a lost retransmission (RACK's; Linux's FLAG_LOST_RETRANS) starts one;
  // any other loss is resent within the RTO recovery (LossRecovery's `'rto'`).
  if (!recovery.enterFastRecovery(connection.sndNxt, fromRto && connection.rack.retransmissionLost)) return;
  if (fromRto) {
    // The RTO recovery ends here, as Linux's Loss state does (tcp_update_rto_time); so does
    // F-RTO, which only an RTO recovery runs (RFC 5682; Linux calls tcp_process_loss in Loss only).
    connection.info.rtoRecoveryEnded(now);
    connection.rack.recoveryEnded();
    connection.frto.stop();
  }
  connection.undo = { marker: connection.sndUna, retransmissions: 0 };
  connection.stats.increment(connection.sackEnabled ? 'tcp.recovery.sack' : 'tcp.recovery.newReno');
  connection.cc.onCongestionEvent(now, reductionBase(connection));
  const recoverFs = before ? seqSub(connection.sndNxt, before.sndUna) - before.sackedBytes : connection.inFlight.bytes - connection.inFlight.sackedBytes;
  connection.prr = new ProportionalRateReduction(recoverFs, pipe(connection), connection.sendMss);
  connection.ecn.lossReduced();
}

/**
 * ECN-Echo (RFC 3168 §6.1.2): once per window of data the controller reduces ssthresh (and
 * ssthresh is never undone, the congestion being reported), and the next new data carries CWR.
 * Outside a loss recovery PRR (RFC 9937) then brings the flight down to ssthresh ACK by ACK, as
 * in fast recovery, rather than cwnd dropping at once and the sender falling silent until the
 * flight drains — Linux's CWR state does this since 3.7, FreeBSD's base stack too. `before` is
 * the scoreboard as the ACK found it. The reduction ends once SND.UNA reaches the SND.NXT of
 * this moment (input.ts).
 */
export function reduceForEcnEcho(connection: TcpConnection, now: number, before: ScoreboardBefore): void {
  connection.stats.increment('tcp.ecn.reductions');
  connection.undo = null;
  connection.cc.onEcnEcho(now, reductionBase(connection));
  connection.ecn.reduced(connection.sndNxt);
  if (!connection.recovery.open) return;
  const recoverFs = seqSub(connection.sndNxt, before.sndUna) - before.sackedBytes;
  connection.prr = new ProportionalRateReduction(recoverFs, pipe(connection), connection.sendMss);
}

/**
 * The retransmission timer expired (RFC 6298 §5.4–5.6): collapse the congestion window
 * (RFC 5681 §3.1) and treat every unSACKed segment as lost (RFC 8985 §6.3). The timer backs off
 * once the retransmission has left (`retransmitTimerBackoff`).
 *
 * RFC 2018 §8: after a timeout the sender MUST retransmit the segment at SND.UNA whether or not
 * it is SACKed, and SHOULD forget the SACK marks, since the receiver may have reneged (discarded
 * data it SACKed). RFC 6675 §5.1 lets a sender keep them where it tests for reneging; Linux does
 * (tcp_timeout_mark_lost): it clears every mark only when the segment at SND.UNA is itself
 * SACKed, which a receiver holding that segment would have acknowledged cumulatively instead —
 * proof of reneging. Otherwise that segment is unSACKed, goes first, and the marks above it keep
 * the recovery short; should the receiver have reneged on them too, its ACK for the resent
 * segment leaves a SACKed segment at SND.UNA and the short reneging timer (`checkSackReneging`)
 * brings the next timeout, which clears them. We do the same.
 *
 * F-RTO's step 1 (RFC 5682, frto.ts) is here too: the retransmission that follows is of the
 * segment at SND.UNA, and "recover" is SND.NXT; the controller keeps what it had before, should
 * the timeout turn out spurious.
 */
export function retransmissionTimeout(connection: TcpConnection, now: number): void {
  connection.stats.increment('tcp.rto.fired');
  connection.info.rtoFired(connection.timeoutCount === 0, now);
  const frto = frtoMayStart(connection);
  connection.undo = null; // not RFC 3708's: only F-RTO undoes a timeout
  connection.cc.onRetransmitTimeout(now, reductionBase(connection));
  const queue = connection.inFlight;
  if (queue.first?.sacked) {
    connection.stats.increment('tcp.sack.reneging');
    queue.clearSacked();
    connection.highestSackedEnd = connection.sndUna;
  }
  for (let i = 0; i < queue.length; i++) queue.markLost(queue.at(i)); // SACKed entries stay SACKed
  const first = queue.firstLost();
  if (frto && first !== undefined) {
    connection.frto.start(connection.sndNxt, endOf(first), connection.sackEnabled);
    connection.stats.increment('tcp.frto.started');
  } else {
    connection.frto.stop();
  }
  connection.recovery.enterRtoRecovery(connection.sndNxt);
  connection.prr = null;
  connection.dupAcks = 0;
  connection.rttSeq = null;
}

/**
 * After an ACK that advanced SND.UNA: a SACKed segment now at SND.UNA means the receiver has
 * reneged (RFC 2018 §8) — had it kept that segment, the ACK would have covered it. Waiting a
 * whole RTO for the timeout that clears the marks (`retransmissionTimeout`) would stall the
 * sender, so the retransmission timer is shortened to max(SRTT/2, 10 ms), as Linux's
 * tcp_check_sack_reneging does. Returns true if it did so.
 */
export function checkSackReneging(connection: TcpConnection, now: number): boolean {
  if (!connection.inFlight.first?.sacked) return false;
  connection.stats.increment('tcp.sack.renegingSuspected');
  const delay = Math.max((connection.rtt.srtt ?? 0) / 2, RENEGING_TIMER_MIN_MS);
  connection.retransmitDeadline = Math.min(connection.retransmitDeadline, now + delay);
  connection.probeDeadline = Infinity;
  return true;
}

/** Linux's floor for the reneging timer (tcp_check_sack_reneging: 10 ms). */
const RENEGING_TIMER_MIN_MS = 10;

/** RFC 6298 §5.5: the timeout's retransmission left; the timer backs off and the timeout counts. */
export function retransmitTimerBackoff(connection: TcpConnection): void {
  connection.rtt.backoff();
  connection.timeoutCount++;
}
