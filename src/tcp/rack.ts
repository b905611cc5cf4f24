/**
 * RACK (RFC 8985 §6): loss detection by time. The most recently sent segment known delivered
 * says how long ago a segment must have been sent to count as lost, allowing a reordering window
 * that D-SACKs widen; segments not yet due are watched by the reordering timer.
 *
 * `RackLossDetection` owns RACK's variables (§6.1) and the steps that change them; recovery.ts
 * calls it for each delivered segment, each reordering and each D-SACK it finds, and at the end
 * of each recovery; `detectLossByRack` applies steps 4–5 to the connection's queue. The two
 * timers of RACK-TLP fire here too: the reordering timer (`onReorderTimer`, §6.2) and the tail
 * loss probe (`onProbeTimer`, §7.3); `armProbeTimer` (deadlines.ts) arms the probe.
 */
import type { TcpConfig } from './config.js';
import type { SentSegment, TcpConnection } from './connection.js';
import { armRetransmitTimer } from './deadlines.js';
import { retransmit, transmitPending } from './output.js';
import { pacingUnitSent } from './pacing.js';
import { enterRecovery } from './recovery.js';
import { seqAdd, seqGe } from './seq.js';

/** RFC 8985 §6.2 step 4: recoveries a widened reordering window lasts without another D-SACK. */
const REORDER_WINDOW_PERSIST = 16;

/** RACK's state on one connection (RFC 8985 §6.1), changed only through the RFC's steps below. */
export class RackLossDetection {
  /** RACK.xmit_ts: when the most recently sent segment known delivered was sent. */
  private xmitTs = -Infinity;
  /** Its transmission order (SentSegment.sentOrder); -1 before any delivery. */
  private xmitOrder = -1;
  /** RACK.end_seq: the end of that segment. */
  private endSequence = 0;
  /** RACK.rtt: the RTT of the most recently sent segment the last ACK delivered. */
  private roundTrip = 0;
  /**
   * Which segment of the ACK being processed gave RACK.rtt (TcpConfig.rackRttInSequenceOrder):
   * its transmission order (-1: none yet), and whether a cumulatively acknowledged one did.
   */
  private rttSampleOrder = -1;
  private rttFromCumulative = false;
  /** RACK.reordering_seen. */
  private reordering = false;
  /**
   * RACK.reo_wnd_mult: the reordering window is this many quarters of min_RTT; it grows by one
   * per round trip that brings a D-SACK and falls back to 1 after 16 recoveries without one.
   */
  private reorderWindowMult = 1;
  /** RACK.dsack_round: SND.NXT when the window last grew, until SND.UNA passes it; null outside such a round. */
  private dsackRound: number | null = null;
  /** RACK.reo_wnd_persist: recoveries left before the window shrinks back. */
  private reorderWindowPersist = REORDER_WINDOW_PERSIST;
  /** Whether the last detection (`detectLossByRack`) marked a retransmission lost. */
  private lostRetransmission = false;

  constructor(private readonly config: TcpConfig) {}

  /** RACK.xmit_ts (-Infinity before any delivery). */
  get sentAt(): number {
    return this.xmitTs;
  }

  /** The transmission order of the RACK segment; -1 before any delivery. Orders send times and end sequences at once. */
  get sentOrder(): number {
    return this.xmitOrder;
  }

  /** RACK.end_seq. */
  get endSeq(): number {
    return this.endSequence;
  }

  /** RACK.rtt. */
  get rtt(): number {
    return this.roundTrip;
  }

  /** RACK.reordering_seen. */
  get reorderingSeen(): boolean {
    return this.reordering;
  }

  /** RACK.reo_wnd_mult. */
  get reorderWindowMultiplier(): number {
    return this.reorderWindowMult;
  }

  /**
   * Whether the last loss detection marked a retransmission lost (Linux's FLAG_LOST_RETRANS): a
   * second indication of congestion (RFC 5681 §4.3, RFC 8985 §3.4), which ends an RTO recovery
   * with a fast one (recovery.ts `enterRecovery`).
   */
  get retransmissionLost(): boolean {
    return this.lostRetransmission;
  }

  /** Steps 4–5 begin (`detectLossByRack`): nothing is marked yet. */
  detectionStarts(): void {
    this.lostRetransmission = false;
  }

  /** Step 5 marked `segment` lost. */
  markedLost(segment: SentSegment): void {
    if (segment.retransmits > 0) this.lostRetransmission = true;
  }

  /** An ACK arrives: RACK.rtt is to come from the segments it delivers (§6.2 step 2). */
  ackArrives(): void {
    this.rttSampleOrder = -1;
    this.rttFromCumulative = false;
  }

  /**
   * RFC 8985 §6.2 step 2, for a segment the ACK being processed newly delivers (`cumulative`: by
   * its ACK field, else by SACK): RACK.rtt from it if it is the most recently sent of the ACK's
   * segments (or, with rackRttInSequenceOrder, as Linux orders them), and RACK.xmit_ts from it
   * if it is the most recently sent segment ever delivered. `minRtt` is the connection's.
   */
  update(segment: SentSegment, now: number, cumulative: boolean, minRtt: number | undefined): void {
    const rtt = now - segment.sentAt;
    // A retransmitted segment acknowledged faster than the minimum RTT was acknowledged by
    // its original transmission: its send time says nothing.
    if (segment.retransmits > 0 && minRtt !== undefined && rtt < minRtt) return;
    if (this.config.rackRttInSequenceOrder) {
      // Linux visits SACKed segments, then cumulatively acknowledged ones, each in sequence order
      // (ustack processes the cumulative part first: a SACKed one must not overwrite it).
      if (cumulative || !this.rttFromCumulative) this.roundTrip = rtt;
      if (cumulative) this.rttFromCumulative = true;
    } else if (segment.sentOrder > this.rttSampleOrder) {
      this.roundTrip = rtt;
      this.rttSampleOrder = segment.sentOrder;
    }
    if (segment.sentOrder > this.xmitOrder) {
      this.xmitTs = segment.sentAt;
      this.xmitOrder = segment.sentOrder;
      this.endSequence = seqAdd(segment.seq, segment.length);
    }
  }

  /**
   * RFC 8985 §6.2 step 3: a never-retransmitted segment was delivered below one delivered before
   * it (the caller tells, from RACK.fack): RACK.reordering_seen.
   */
  reorderingDetected(): void {
    this.reordering = true;
  }

  /**
   * RFC 8985 §6.2 step 4: a D-SACK says a retransmission was spurious, most likely because the
   * reordering window was too small for this path. Widen it by min_RTT/4 (with
   * rackAdaptiveReorderWindow), at most once per round trip, and keep it for the next 16
   * recoveries. Returns whether this D-SACK started a new round.
   */
  dsackReceived(sndUna: number, sndNxt: number): boolean {
    if (this.dsackRound !== null && seqGe(sndUna, this.dsackRound)) this.dsackRound = null;
    if (this.dsackRound !== null) return false;
    this.dsackRound = sndNxt;
    if (this.config.rackAdaptiveReorderWindow) this.reorderWindowMult++;
    this.reordering = true; // a spurious retransmission is reordering seen late (as Linux)
    this.reorderWindowPersist = REORDER_WINDOW_PERSIST;
    return true;
  }

  /** RFC 8985 §6.2 step 4: a recovery ended; after 16 without a D-SACK the window shrinks back. */
  recoveryEnded(): void {
    if (--this.reorderWindowPersist <= 0) this.reorderWindowMult = 1;
  }

  /**
   * RFC 8985 §6.2 step 4, RACK.reo_wnd: reo_wnd_mult quarters of min_RTT (RACK.rtt before any
   * sample), at most SRTT; zero while no reordering was seen and the sender is in loss recovery
   * or, with rackDuplicateThreshold, DupThresh segments are SACKed.
   */
  reorderWindow(minRtt: number | undefined, srtt: number | undefined, inLossRecovery: boolean, sackedSegments: number): number {
    const config = this.config;
    let window = (this.reorderWindowMult * (minRtt ?? this.roundTrip)) / 4;
    if (!this.reordering && (inLossRecovery || (config.rackDuplicateThreshold && sackedSegments >= config.duplicateThreshold))) window = 0;
    return Math.min(window, srtt ?? window);
  }
}

/**
 * RACK loss detection (RFC 8985 §6.2 steps 4–5): a segment sent before the most recently
 * delivered one is lost once RACK.rtt + reo_wnd has passed since it was sent. Arms the
 * reordering timer for those not yet due. Returns true if any segment was newly marked lost.
 */
export function detectLossByRack(connection: TcpConnection, now: number): boolean {
  const rack = connection.rack;
  rack.detectionStarts();
  const rackOrder = rack.sentOrder;
  if (rackOrder < 0) return false;
  const queue = connection.inFlight;
  const reorderWindow = rack.reorderWindow(connection.rtt.minRtt, connection.rtt.srtt, !connection.recovery.open, queue.sackedCount);
  const rackRtt = rack.rtt;
  let timeout = 0;
  let marked = false;
  for (let i = 0; i < queue.length; i++) {
    const segment = queue.at(i);
    // New data leaves in sequence order, and a retransmission only ever leaves later: past an
    // entry first sent after the RACK segment, every entry was sent after it too. (Linux keeps
    // a list in send order for the same purpose; on an ACK without loss this stops at once.)
    if (segment.retransmits === 0 && segment.sentOrder >= rackOrder) break;
    if (segment.sacked || segment.lost) continue;
    // RFC 8985 §6.2 step 5 compares send times, then end sequence numbers on a tie; the
    // transmission order settles both at once.
    if (segment.sentOrder >= rackOrder) continue;
    const remaining = segment.sentAt + rackRtt + reorderWindow - now;
    if (remaining <= 0) {
      queue.markLost(segment);
      rack.markedLost(segment);
      marked = true;
      connection.stats.increment('tcp.rack.lost');
    } else {
      timeout = Math.max(timeout, remaining);
    }
  }
  connection.rackDeadline = timeout > 0 ? now + timeout : Infinity;
  return marked;
}

/** The reordering timer fired (RFC 8985 §6.2): segments it watched may now count as lost. */
export function onReorderTimer(connection: TcpConnection, now: number): void {
  connection.rackDeadline = Infinity;
  if (detectLossByRack(connection, now)) {
    enterRecovery(connection, now);
    transmitPending(connection, now);
  }
}

/** The tail loss probe fired (RFC 8985 §7.3): send one new segment if possible, else retransmit the last one. */
export function onProbeTimer(connection: TcpConnection, now: number): void {
  connection.probeDeadline = Infinity;
  if (connection.inFlight.length === 0) return;
  connection.stats.increment('tcp.tlp.probes');
  const before = connection.sndNxt;
  transmitPending(connection, now, { lossProbe: true });
  if (connection.sndNxt === before) {
    const last = connection.inFlight.last!;
    if (!last.sacked) {
      retransmit(connection, last, now);
      pacingUnitSent(connection, last.length, now);
    }
  }
  armRetransmitTimer(connection, now);
  connection.probeDeadline = Infinity;
}
