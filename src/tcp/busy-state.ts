/**
 * What a connection holds only while it is busy: the owners of state that exists only while
 * data moves (the retransmission queue, the reassembly queue, the marks of writes, F-RTO, …) and
 * the TCB variables that are back at their initial value whenever the connection rests (no ACK
 * owed, nothing timed, no recovery, no FIN, no error). An idle connection — no timer armed —
 * shares the one RESTING record (deadlines.ts's rest: TcpConnection.atRest), so that a hundred
 * thousand idle connections do not each carry them; the first change makes a record of its own.
 *
 * Its fields are read and written through TcpConnection's accessors of the same names: a write
 * of the value already there changes nothing, and an owner is made when first used.
 */
import type { ErrnoCode } from '../core/errno.js';
import type { ReceiveAssembler } from './assembler.js';
import type { InvalidSegmentAckLimit } from './ack-rate-limits.js';
import type { CongestionWindowUse } from './cwnd-validation.js';
import type { ForwardRtoRecovery } from './frto.js';
import type { Keepalive } from './keepalive.js';
import type { MtuProbing } from './mtu-probe.js';
import type { ProportionalRateReduction } from './prr.js';
import type { ReceiveRing } from './receive-ring.js';
import type { RetransmissionQueue } from './retransmission-queue.js';
import type { Segment } from './segment.js';
import type { WriteMarks } from './send-buffer.js';

/** The busy part of one connection's TCB (the documentation of each is on TcpConnection's accessor). */
export class BusyState {
  // ---- owners, made when first used; dropped at rest while each equals a new one ----
  writeMarks: WriteMarks | null = null;
  assembler: ReceiveAssembler | null = null;
  inFlight: RetransmissionQueue | null = null;
  windowUse: CongestionWindowUse | null = null;
  frto: ForwardRtoRecovery | null = null;
  mtuProbing: MtuProbing | null = null;
  keepalive: Keepalive | null = null;
  /** In-order data the application has not read yet, copied out of its frames; dropped when empty. */
  receiveQueue: ReceiveRing | null = null;
  /** Kept once made: its token bucket remembers the last answer. */
  invalidSegmentAcks: InvalidSegmentAckLimit | null = null;

  // ---- variables at their initial value whenever the connection rests ----
  error: ErrnoCode | null = null;
  softError: ErrnoCode | null = null;
  sndUp = 0;
  rcvUp = 0;
  urgentPending = false;
  finPending = false;
  finSent = false;
  peerFinReceived = false;
  outOfOrderFinSeq: number | null = null;
  synTextQueued: Segment | null = null;
  readShutdown = false;
  timeoutCount = 0;
  rttSeq: number | null = null;
  dupAcks = 0;
  prr: ProportionalRateReduction | null = null;
  undo: { readonly marker: number; retransmissions: number } | null = null;
  firstUnackedSentAt: number | null = null;
  ackNow = false;
  segmentsSinceAck = 0;
  processingSegment = false;
  pendingDsack: { leftEdge: number; rightEdge: number } | null = null;
  persistBackoff = 0;
  zeroWindowSince: number | null = null;
}

/** The busy state of every resting connection: shared, so never written (TcpConnection's accessors copy it first). */
export const RESTING = new BusyState();

/** The parts `busy` holds, by name (empty for RESTING): for tests and memory accounts (TcpConnection.heldWhileBusy). */
export function busyParts(busy: BusyState): string[] {
  if (busy === RESTING) return [];
  const parts = ['busy variables'];
  if (busy.writeMarks !== null) parts.push('write marks');
  if (busy.assembler !== null) parts.push('reassembly queue');
  if (busy.inFlight !== null) parts.push('retransmission queue');
  if (busy.windowUse !== null) parts.push('window use');
  if (busy.frto !== null) parts.push('F-RTO');
  if (busy.mtuProbing !== null) parts.push('MTU probing');
  if (busy.keepalive !== null) parts.push('keep-alive');
  if (busy.receiveQueue !== null) parts.push('receive queue');
  if (busy.invalidSegmentAcks !== null) parts.push('invalid-segment answer limit');
  return parts;
}

/**
 * Drops the owners that equal new ones (at rest, SND.UNA = `sndUna`: nothing is in flight),
 * then says whether nothing else differs from RESTING: the connection may then share it again.
 */
export function settle(busy: BusyState, sndUna: number): boolean {
  if (busy.writeMarks?.unused) busy.writeMarks = null;
  if (busy.receiveQueue?.byteLength === 0) {
    busy.receiveQueue.release(); // its storage to the stack's pool, for the next ring
    busy.receiveQueue = null;
  }
  if (busy.assembler?.holes === false) busy.assembler = null;
  if (busy.inFlight?.length === 0) busy.inFlight = null;
  if (busy.windowUse?.unusedAt(sndUna)) busy.windowUse = null;
  if (busy.frto?.unused) busy.frto = null;
  if (busy.mtuProbing?.unused) busy.mtuProbing = null;
  if (busy.keepalive?.unused) busy.keepalive = null;
  return (
    busy.writeMarks === null &&
    busy.receiveQueue === null &&
    busy.assembler === null &&
    busy.inFlight === null &&
    busy.windowUse === null &&
    busy.frto === null &&
    busy.mtuProbing === null &&
    busy.keepalive === null &&
    busy.invalidSegmentAcks === null &&
    busy.error === RESTING.error &&
    busy.softError === RESTING.softError &&
    busy.sndUp === RESTING.sndUp &&
    busy.rcvUp === RESTING.rcvUp &&
    busy.urgentPending === RESTING.urgentPending &&
    busy.finPending === RESTING.finPending &&
    busy.finSent === RESTING.finSent &&
    busy.peerFinReceived === RESTING.peerFinReceived &&
    busy.outOfOrderFinSeq === RESTING.outOfOrderFinSeq &&
    busy.synTextQueued === RESTING.synTextQueued &&
    busy.readShutdown === RESTING.readShutdown &&
    busy.timeoutCount === RESTING.timeoutCount &&
    busy.rttSeq === RESTING.rttSeq &&
    busy.dupAcks === RESTING.dupAcks &&
    busy.prr === RESTING.prr &&
    busy.undo === RESTING.undo &&
    busy.firstUnackedSentAt === RESTING.firstUnackedSentAt &&
    busy.ackNow === RESTING.ackNow &&
    busy.segmentsSinceAck === RESTING.segmentsSinceAck &&
    busy.processingSegment === RESTING.processingSegment &&
    busy.pendingDsack === RESTING.pendingDsack &&
    busy.persistBackoff === RESTING.persistBackoff &&
    busy.zeroWindowSince === RESTING.zeroWindowSince
  );
}
