/**
 * RACK (RFC 8985 §6): loss detection by time. The most recently sent segment known delivered
 * says how long ago a segment must have been sent to count as lost, allowing a reordering window
 * that D-SACKs widen; segments not yet due are watched by the reordering timer.
 */
import type { SentSegment, TcpConnection } from './connection.js';
import { seqAdd, seqGe } from './seq.js';

/** The end of a sent segment's sequence space. */
function endOf(segment: SentSegment): number {
  return seqAdd(segment.seq, segment.length);
}

/**
 * RFC 8985 §6.2 step 2, for a segment the ACK being processed newly delivers (`cumulative`: by
 * its ACK field, else by SACK): RACK.rtt from it if it is the most recently sent of the ACK's
 * segments (or, with rackRttInSequenceOrder, as Linux orders them), and RACK.xmit_ts from it if
 * it is the most recently sent segment ever delivered.
 */
export function rackUpdate(connection: TcpConnection, segment: SentSegment, now: number, cumulative: boolean): void {
  const rtt = now - segment.sentAt;
  const minRtt = connection.rtt.minRtt;
  // A retransmitted segment acknowledged faster than the minimum RTT was acknowledged by
  // its original transmission: its send time says nothing.
  if (segment.retransmits > 0 && minRtt !== undefined && rtt < minRtt) return;
  if (connection.host.config.rackRttInSequenceOrder) {
    // Linux visits SACKed segments, then cumulatively acknowledged ones, each in sequence order
    // (ustack processes the cumulative part first: a SACKed one must not overwrite it).
    if (cumulative || !connection.rackRttFromCumulative) connection.rackRtt = rtt;
    if (cumulative) connection.rackRttFromCumulative = true;
  } else if (segment.sentOrder > connection.rackRttSampleOrder) {
    connection.rackRtt = rtt;
    connection.rackRttSampleOrder = segment.sentOrder;
  }
  if (segment.sentOrder > connection.rackSentOrder) {
    connection.rackSentAt = segment.sentAt;
    connection.rackSentOrder = segment.sentOrder;
    connection.rackEndSeq = endOf(segment);
  }
}

/**
 * RFC 8985 §6.2 step 4: a D-SACK says a retransmission was spurious, most likely because the
 * reordering window was too small for this path. Widen it by min_RTT/4, at most once per round
 * trip, and keep it for the next 16 recoveries.
 */
export function growReorderWindow(connection: TcpConnection): void {
  if (connection.rackDsackRound !== null && seqGe(connection.sndUna, connection.rackDsackRound)) connection.rackDsackRound = null;
  if (connection.rackDsackRound !== null) return;
  connection.rackDsackRound = connection.sndNxt;
  if (connection.host.config.rackAdaptiveReorderWindow) connection.rackReorderWindowMultiplier++;
  connection.rackReorderingSeen = true; // a spurious retransmission is reordering seen late (as Linux)
  connection.rackReorderWindowPersist = 16;
  connection.stats.increment('tcp.rack.reorderWindowGrown');
}

/** RFC 8985 §6.2 step 4: after 16 recoveries without a D-SACK the window shrinks back. */
export function recoveryEndedForReorderWindow(connection: TcpConnection): void {
  if (--connection.rackReorderWindowPersist <= 0) connection.rackReorderWindowMultiplier = 1;
}

/**
 * RACK loss detection (RFC 8985 §6.2 steps 4–5): a segment sent before the most recently
 * delivered one is lost once RACK.rtt + reo_wnd has passed since it was sent. Arms the
 * reordering timer for those not yet due. Returns true if any segment was newly marked lost.
 */
export function detectLossByRack(connection: TcpConnection, now: number): boolean {
  if (connection.rackSentOrder < 0) return false;
  const minRtt = connection.rtt.minRtt ?? connection.rackRtt;
  const config = connection.host.config;
  let reorderWindow = (connection.rackReorderWindowMultiplier * minRtt) / 4;
  if (
    !connection.rackReorderingSeen &&
    (!connection.recovery.open || (config.rackDuplicateThreshold && connection.inFlight.sackedCount >= config.duplicateThreshold))
  ) {
    reorderWindow = 0;
  }
  reorderWindow = Math.min(reorderWindow, connection.rtt.srtt ?? reorderWindow);
  let timeout = 0;
  let marked = false;
  const queue = connection.inFlight;
  for (let i = 0; i < queue.length; i++) {
    const segment = queue.at(i);
    // New data leaves in sequence order, and a retransmission only ever leaves later: past an
    // entry first sent after the RACK segment, every entry was sent after it too. (Linux keeps
    // a list in send order for the same purpose; on an ACK without loss this stops at once.)
    if (segment.retransmits === 0 && segment.sentOrder >= connection.rackSentOrder) break;
    if (segment.sacked || segment.lost) continue;
    // RFC 8985 §6.2 step 5 compares send times, then end sequence numbers on a tie; the
    // transmission order settles both at once.
    if (segment.sentOrder >= connection.rackSentOrder) continue;
    const remaining = segment.sentAt + connection.rackRtt + reorderWindow - now;
    if (remaining <= 0) {
      queue.markLost(segment);
      marked = true;
      connection.stats.increment('tcp.rack.lost');
    } else {
      timeout = Math.max(timeout, remaining);
    }
  }
  connection.rackDeadline = timeout > 0 ? now + timeout : Infinity;
  return marked;
}
