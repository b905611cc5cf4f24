/**
 * SEGMENT ARRIVES (RFC 9293 §3.10.7.3 for SYN-SENT, §3.10.7.4 for the other states), in the
 * RFC's order: sequence number check (with PAWS, RFC 7323 §5), RST (with RFC 5961 §3), SYN
 * (RFC 5961 §4), ACK (RFC 5961 §5), URG, segment text, FIN. LISTEN and CLOSED are the
 * layer's (tcp-layer.ts): they have no connection yet; TIME-WAIT, after the segment that enters
 * it, is a record's (time-wait.ts).
 */
import { NO_BYTES } from '../core/bytes.js';
import { answerIsRateLimited } from './ack-rate-limits.js';
import { ecnMode } from './config.js';
import type { TcpConnection } from './connection.js';
import { armDelayedAck, armProbeTimer, armRetransmitTimer } from './deadlines.js';
import { linuxDataReceived } from './receive-window.js';
import { compressDuplicateAck, holeNarrowedAck } from './sack-compression.js';
import { frtoAck } from './frto.js';
import { headerPrediction, segmentIsPredicted } from './header-prediction.js';
import { advertisedMssFor, sendAck, sendSynAck, tcpIpHeaderLength, transmitPending, transmitSegment, windowShiftFor } from './output.js';
import {
  ackArrives,
  acknowledge,
  checkSackReneging,
  deliveredData,
  duplicateAck,
  enterRecovery,
  growForDelivered,
  isDuplicateAck,
  processSack,
  reduceForAck,
  reduceForEcnEcho,
} from './recovery.js';
import { detectLossByRack } from './rack.js';
import { has, type Segment } from './segment.js';
import { seqAdd, seqGt, seqInWindow, seqLe, seqLt, seqSub } from './seq.js';
import { Chrono } from './tcp-info-counters.js';
import { TcpFlag } from './tcp-packet.js';
import type { ChallengeAckReason } from './tcp-counters.js';

/**
 * Applies the options of the peer's SYN (or SYN-ACK) to the connection: MSS (RFC 9293
 * §3.7.1), window scale (RFC 7323 §2.2–2.3), SACK-permitted (RFC 2018 §2), timestamps
 * (RFC 7323 §3.2), ECN (RFC 3168 §6.1.1).
 */
export function negotiateOptions(connection: TcpConnection, syn: Segment, now: number): void {
  const config = connection.host.config;
  const options = syn.parsed;
  connection.windowScalingEnabled = config.windowScaling && options.windowScale !== undefined;
  if (connection.windowScalingEnabled) {
    connection.sndWindowShift = Math.min(options.windowScale!, 14);
  } else {
    connection.sndWindowShift = 0;
    connection.rcvWindowShift = 0;
  }
  connection.sackEnabled = config.sack && options.sackPermitted;
  connection.timestamps.synArrived(config.timestamps && options.timestamps !== undefined, options.timestamps?.tsVal, now);
  connection.peerMss = options.mss ?? config.defaultMss;
  const pathMss = (connection.host.pathMtu(connection.remoteAddress) ?? 576) - tcpIpHeaderLength(connection.remoteAddress);
  let mss = Math.min(connection.peerMss, pathMss);
  if (connection.options.maxSegmentSize > 0) mss = Math.min(mss, connection.options.maxSegmentSize);
  // An active open sizes its buffers now; a passive one once established (fitBuffersToSegments).
  if (config.socketBufferAccounting === 'freebsd' && connection.listenerKey === null) fitBuffersToSegments(connection, mss);
  if (connection.timestamps.enabled) mss -= 12; // the option rides on every segment
  connection.sendMss = Math.max(mss, 64);
  connection.cc.setMss(connection.sendMss);
  // TCP segmentation offload: the link cuts segments up to this size (IP and TCP headers with
  // the largest options left out), so new data may leave in segments of many MSS.
  const offload = connection.host.segmentationOffload(connection.remoteAddress);
  connection.segmentationOffloadBytes = offload > 0 ? offload - tcpIpHeaderLength(connection.remoteAddress) - 40 : 0;
}

/**
 * FreeBSD's socket buffers once the MSS is known (its tcp_mss(), run when an active open learns
 * the peer's MSS and when a passive one gets its socket at establishment): each grows to a
 * whole number of segments, so that a full window is full segments, bounded by the largest
 * buffer (kern.ipc.maxsockbuf). A buffer smaller than one segment stays as it is.
 */
function fitBuffersToSegments(connection: TcpConnection, mss: number): void {
  const limit = connection.host.config.receiveBufferMax;
  const rounded = (size: number) => Math.min(Math.ceil(size / mss) * mss, limit);
  if (connection.receiveBufferSize > mss && rounded(connection.receiveBufferSize) > connection.receiveBufferSize) {
    connection.receiveBufferSize = rounded(connection.receiveBufferSize);
    connection.assembler.limitBytes = connection.receiveBufferSize;
  }
  const send = connection.sendBuffer.capacity;
  if (send >= mss && rounded(send) > send) connection.sendBuffer.capacity = rounded(send);
}

/** Prepares a connection's own side before its SYN or SYN-ACK goes out. */
export function prepareOwnSyn(connection: TcpConnection, iss: number, now: number, tsOffset: number): void {
  connection.iss = iss;
  connection.sndUna = iss;
  connection.sndNxt = seqAdd(iss, 1);
  connection.sendBufferSeq = seqAdd(iss, 1);
  connection.recovery.opening(iss);
  connection.highestSackedEnd = iss;
  connection.smallSegmentEnd = iss;
  connection.ecn.opening(iss);
  connection.timestamps.setClockOffset(tsOffset);
  connection.advertisedMss = advertisedMssFor(connection);
  const config = connection.host.config;
  // Linux lets a set SO_RCVBUF bound the shift (SOCK_RCVBUF_LOCK); FreeBSD always scales for
  // kern.ipc.maxsockbuf, as a buffer may grow to that later.
  const locked = connection.options.receiveBufferLocked && config.socketBufferAccounting === 'linux';
  const largestBuffer = locked ? connection.receiveBufferSize : Math.max(connection.receiveBufferSize, config.receiveBufferMax);
  connection.rcvWindowShift = config.windowScaling ? windowShiftFor(largestBuffer) : 0;
  connection.inFlight.push({ seq: iss, length: 1, syn: true, fin: false, push: false, sentAt: now, sentOrder: connection.transmissions++ });
  connection.firstUnackedSentAt = now;
}

/** Sends a RST in reply to a segment (RFC 9293 §3.10.7.1 rules). */
function sendResetFor(connection: TcpConnection, segment: Segment): void {
  connection.host.replyWithReset(connection.localAddress, connection.localPort, connection.remoteAddress, connection.remotePort, segment);
}

/**
 * A challenge ACK (RFC 5961 §3.2, §4.2, §5.2), under the limits of §7 (ack-rate-limits.ts): the
 * connection's own first, whatever the segment carries (Linux's tcp_send_challenge_ack calls
 * __tcp_oow_rate_limited, with no exemption for data), then the stack-wide ceiling.
 */
function challengeAck(connection: TcpConnection, now: number, reason: ChallengeAckReason): void {
  if (!connection.invalidSegmentAcks.allow(now, connection.host.config.invalidAckRateLimitMs)) {
    connection.stats.increment('tcp.challengeAck.rateLimited');
    return;
  }
  if (!connection.host.challengeAckAllowed(now)) {
    connection.stats.increment('tcp.challengeAck.overCeiling');
    return;
  }
  connection.stats.increment(`tcp.challengeAck.${reason}`);
  sendAck(connection, now);
}

/**
 * Whether the answer RFC 9293 §3.10.7.4 gives an unacceptable segment may go: always for one
 * carrying data or a FIN, at most once per TcpConfig.invalidAckRateLimitMs per connection for
 * a pure ACK or a SYN (Linux's tcp_oow_rate_limited; ack-rate-limits.ts). A refused answer is
 * counted.
 */
function mayAnswerInvalid(connection: TcpConnection, segment: Segment, now: number): boolean {
  if (!answerIsRateLimited(segment.len, has.syn(segment))) return true;
  if (connection.invalidSegmentAcks.allow(now, connection.host.config.invalidAckRateLimitMs)) return true;
  connection.stats.increment('tcp.oowAck.rateLimited');
  return false;
}

/** IP's ECN field: Congestion Experienced (RFC 3168 §5). */
const ECN_CE = 3;

/**
 * Processes a segment for a connection in any state but LISTEN and CLOSED. `ecnField` is the
 * ECN field of its IP header (RFC 3168 §5: 0 Not-ECT, 1 and 2 ECT, 3 CE).
 */
export function segmentArrives(connection: TcpConnection, segment: Segment, now: number, ecnField = 0): void {
  connection.lastReceiveAt = now;
  connection.info.segmentArrived(segment.payload.length, connection.advertisedMss || connection.sendMss);
  connection.processingSegment = true;
  try {
    if (connection.state === 'SYN-SENT') synSentArrives(connection, segment, now);
    else synchronizedArrives(connection, segment, now, ecnField);
  } finally {
    connection.processingSegment = false;
  }
  if (connection.state === 'CLOSED') return;
  transmitPending(connection, now);
  // Room an ACK freed is announced after what it let us send left (Linux's tcp_data_snd_check:
  // tcp_push_pending_frames, then tcp_check_space), so the send-buffer limit grows only while
  // the congestion window is not full.
  if (connection.sendMemory.takeFreed()) connection.eventsOrNull?.onWritable?.();
  connection.restIfIdle(); // a segment that armed nothing (a pure ACK, a window update) leaves nothing made for it
}

/** RFC 9293 §3.10.7.3: SYN-SENT. */
function synSentArrives(connection: TcpConnection, segment: Segment, now: number): void {
  let ackAcceptable = false;
  if (has.ack(segment)) {
    // First: the ACK must cover our SYN and nothing we have not sent.
    if (seqLe(segment.ack, connection.iss) || seqGt(segment.ack, connection.sndNxt)) {
      connection.stats.increment('drop.tcp.synSentBadAck');
      if (!has.rst(segment)) sendResetFor(connection, segment);
      return;
    }
    ackAcceptable = seqLt(connection.sndUna, segment.ack) && seqLe(segment.ack, connection.sndNxt);
  }
  if (has.rst(segment)) {
    // Second: a RST is believed only if it acknowledges our SYN (RFC 5961 §3.2 keeps this).
    if (ackAcceptable) {
      connection.stats.increment('tcp.rx.resetRefused');
      connection.closeWithError('ECONNREFUSED');
    } else {
      connection.stats.increment('drop.tcp.synSentResetWithoutAck');
    }
    return;
  }
  if (!has.syn(segment)) {
    connection.stats.increment('drop.tcp.synSentNoSyn');
    return;
  }
  if (has.fin(segment) && connection.host.config.dropSynFin === true) {
    connection.stats.increment('drop.tcp.synFin'); // TcpConfig.dropSynFin (FreeBSD drop_synfin; not Linux in SYN-SENT)
    return;
  }
  // Fourth: SYN.
  // Our SYN offered an unscaled window (RFC 7323 §2.2), the one it set the edge with (Linux's
  // window offers less than the free buffer); data on the SYN-ACK may fill it.
  const synWindowOffered = seqSub(connection.rcvAdvertisedEdge, connection.rcvNxt);
  connection.irs = segment.seq;
  connection.rcvNxt = seqAdd(segment.seq, 1);
  connection.rcvAdvertisedEdge = seqAdd(connection.rcvNxt, Math.min(synWindowOffered, 0xffff));
  negotiateOptions(connection, segment, now);
  // RFC 3168 §6.1.1: an ECN-setup SYN-ACK (ECE without CWR) counts only if our SYN asked.
  if (ecnMode(connection.host.config) === 'on' && has.ece(segment) && !has.cwr(segment)) connection.ecn.setEnabled(true);
  if (ackAcceptable) {
    establish(connection, segment, segment.window, now); // a SYN-ACK's window is never scaled (RFC 7323 §2.2)
    connection.ackNow = true;
    connection.eventsOrNull?.onConnect?.();
    if (segment.payload.length > 0 || has.fin(segment)) processTextAndFin(connection, segment, now);
    return;
  }
  // Simultaneous open (RFC 9293 Figure 7): answer with SYN-ACK and wait in SYN-RECEIVED.
  connection.setState('SYN-RECEIVED');
  connection.sndWnd = segment.window;
  connection.sndWl1 = segment.seq;
  queueTextOfSyn(connection, segment);
  sendSynAck(connection, now);
  armRetransmitTimer(connection, now);
}

/**
 * RFC 9293 §3.10.7.2 (LISTEN) and §3.10.7.3 (SYN-SENT, a SYN without ACK): "If there are other
 * controls or text in the segment, queue them for processing after the ESTABLISHED state has
 * been reached". The SYN-ACK acknowledges only the SYN; the text and FIN wait, copied out of
 * the frame.
 */
export function queueTextOfSyn(connection: TcpConnection, segment: Segment): void {
  if (segment.payload.length === 0 && !has.fin(segment)) return;
  connection.stats.increment('tcp.rx.synTextQueued');
  connection.synTextQueued = { ...segment, payload: segment.payload.slice() };
}

/** RFC 9293 §3.10.7.4: every synchronized state, and SYN-RECEIVED. */
function synchronizedArrives(connection: TcpConnection, segment: Segment, now: number, ecnField: number): void {
  const state = connection.state;

  // A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost; send it again — for a passive
  // open at most once per invalidAckRateLimitMs, as Linux's tcp_check_req.
  if (state === 'SYN-RECEIVED' && has.syn(segment) && !has.ack(segment) && segment.seq === connection.irs) {
    connection.stats.increment('tcp.rx.synRetransmitted');
    if (connection.listenerKey !== null && !mayAnswerInvalid(connection, segment, now)) return;
    connection.info.retransmitted(0, 1); // Linux's inet_rtx_syn_ack counts it (req->num_retrans)
    sendSynAck(connection, now);
    return;
  }

  // PAWS (RFC 7323 §5.3): a timestamp older than TS.Recent marks an old duplicate.
  const ts = segment.parsed.timestamps;
  if (connection.timestamps.enabled && ts && !has.rst(segment) && connection.timestamps.pawsRejects(ts.tsVal, now)) {
    connection.stats.increment('drop.tcp.paws');
    if (mayAnswerInvalid(connection, segment, now)) connection.ackNow = true;
    return;
  }

  // Header prediction (header-prediction.ts): the expected segment skips the checks whose
  // outcome its header already settles.
  if (headerPrediction.enabled && segmentIsPredicted(connection, segment, ecnField)) {
    predictedSegmentArrives(connection, segment, ts, ecnField, now);
    return;
  }

  const window = receiveWindow(connection);
  // Fourth check, taken first for a SYN: RFC 5961 §4.2 (and RFC 9293 §3.10.7.4) answer a SYN in
  // a synchronized state "irrespective of the sequence number". A passive half-open connection
  // goes back to LISTEN instead, in the RFC's order (below).
  if (has.syn(segment) && !has.rst(segment) && !(state === 'SYN-RECEIVED' && connection.listenerKey !== null)) {
    synchronizedSynArrives(connection, segment, now, window);
    return;
  }

  // First: sequence number check (the four cases of §3.10.7.4).
  if (!sequenceAcceptable(connection.rcvNxt, window, segment)) {
    if (has.rst(segment)) {
      connection.stats.increment('drop.tcp.resetOutsideWindow');
      return;
    }
    const wholeDuplicate = segment.len > 0 && seqLe(seqAdd(segment.seq, segment.len), connection.rcvNxt);
    if (wholeDuplicate) {
      if (connection.sackEnabled) connection.pendingDsack = { leftEdge: segment.seq, rightEdge: seqAdd(segment.seq, segment.len) };
      connection.quickAcks.duplicateArrived(seqSub(connection.rcvAdvertisedEdge, connection.timestamps.lastAckSent));
    }
    if (wholeDuplicate && connection.host.config.oldSegmentAck === 'process' && has.ack(segment) && !has.syn(segment) && state !== 'SYN-RECEIVED') {
      // TcpConfig.oldSegmentAck 'process' (FreeBSD): a segment wholly before RCV.NXT is trimmed
      // to nothing, ACKed at once, and its ACK field read; see oldSegmentArrives.
      oldSegmentArrives(connection, segment, now, ecnField);
      return;
    }
    connection.stats.increment('drop.tcp.outsideWindow');
    if (mayAnswerInvalid(connection, segment, now)) connection.ackNow = true;
    return;
  }

  // Second: RST (RFC 5961 §3.2: only an exact match resets; in-window gets a challenge ACK).
  if (has.rst(segment)) {
    // RFC 793 believed any RST in the window; RFC 5961 §3.2 answers one not at RCV.NXT with a
    // challenge ACK instead (TcpConfig.inWindowReset).
    if (segment.seq !== connection.rcvNxt && connection.host.config.inWindowReset === 'challenge-ack') {
      challengeAck(connection, now, 'reset');
      return;
    }
    connection.stats.increment('tcp.rx.resets');
    if (state === 'SYN-RECEIVED') {
      connection.closeWithError(connection.listenerKey !== null ? null : 'ECONNREFUSED');
    } else if (state === 'CLOSING' || state === 'LAST-ACK') {
      // RFC 9293 §3.10.7.4: no "connection reset" signal in these states, unless configured
      // to report one as Linux and FreeBSD do (TcpConfig.resetAfterCloseReported).
      connection.closeWithError(connection.host.config.resetAfterCloseReported ? 'ECONNRESET' : null);
    } else {
      // "Connection reset" (RFC 9293 §3.10.7.4), in the system's words (TcpConfig.closeWaitResetError).
      connection.closeWithError(state === 'CLOSE-WAIT' ? connection.host.config.closeWaitResetError : 'ECONNRESET');
    }
    return;
  }

  // Fourth: a SYN in SYN-RECEIVED of a passive open (the others were answered above): RFC 9293
  // §3.10.7.4 returns the connection to LISTEN.
  if (has.syn(segment)) {
    connection.stats.increment('tcp.rx.synInSynReceived');
    connection.closeWithError(null); // back to LISTEN: forget the half-open connection
    return;
  }

  // Fifth: ACK.
  if (!has.ack(segment)) {
    connection.stats.increment('drop.tcp.noAck');
    return;
  }
  if (state === 'SYN-RECEIVED') {
    if (!(seqLt(connection.sndUna, segment.ack) && seqLe(segment.ack, connection.sndNxt))) {
      connection.stats.increment('drop.tcp.synReceivedBadAck');
      sendResetFor(connection, segment);
      return;
    }
    if (connection.listenerKey !== null && !connection.host.acceptQueueHasRoom(connection)) {
      // Linux (tcp_abort_on_overflow = 0): drop the ACK and stay half-open; the SYN-ACK
      // retransmission gives the application time to accept.
      connection.stats.increment('drop.tcp.acceptQueueFull');
      return;
    }
    establish(connection, segment, segment.window << connection.sndWindowShift, now);
    if (connection.listenerKey !== null) connection.host.established(connection);
    else connection.eventsOrNull?.onConnect?.();
    const queued = connection.synTextQueued;
    if (queued !== null && connection.state === 'ESTABLISHED') {
      // What came with the peer's SYN, now that ESTABLISHED is reached (queueTextOfSyn).
      connection.synTextQueued = null;
      processTextAndFin(connection, queued, now);
    }
  } else if (!processAck(connection, segment, now)) {
    return;
  }
  if (connection.state === 'CLOSED') return;

  // Timestamps (RFC 7323 §4.3): remember TSval of a segment covering Last.ACK.sent.
  if (ts && connection.timestamps.enabled) connection.timestamps.segmentAccepted(segment.seq, ts.tsVal, now);
  // The echo also times the peer's view of the path: a receiver RTT sample (Linux's
  // tcp_rcv_rtt_measure_ts, for TCP_INFO's rcv_rtt).
  if (ts && connection.timestamps.enabled && connection.state === 'ESTABLISHED') connection.info.timestampEchoed(connection, segment.len, ts.tsEcr, now);

  if (connection.state === 'TIME-WAIT') {
    // The ACK of our FIN took CLOSING to TIME-WAIT: the rest of the segment is TIME-WAIT's
    // (RFC 9293 §3.10.7.4, fifth step), as time-wait.ts's record answers every segment after
    // this one. Anything but a bare repeat of the peer's last ACK is acknowledged; its text is
    // ignored (seventh step); 2·MSL starts when the record takes over.
    if ((has.fin(segment) || segment.payload.length > 0 || segment.seq !== connection.rcvNxt) && mayAnswerInvalid(connection, segment, now)) {
      connection.stats.increment('tcp.timeWait.acknowledged');
      connection.ackNow = true;
    }
    return;
  }

  // ECN (RFC 3168 §6.1.3): CE on the IP header is echoed with ECE until CWR arrives.
  if (connection.ecn.enabled) {
    if (has.cwr(segment)) connection.ecn.cwrReceived();
    if (ecnField !== 0 && segment.payload.length > 0) connection.info.ecnCapableDataArrived();
    if (ecnField === ECN_CE) {
      connection.ecn.congestionExperienced();
      connection.ackNow = true;
      connection.stats.increment('tcp.rx.congestionExperienced');
    }
  }

  // New data after CLOSE: nobody will read it, so say that it was lost (RFC 1122 §4.2.2.13
  // SHOULD; Linux resets on data after close, TCPAbortOnData).
  if (
    connection.orphaned &&
    segment.payload.length > 0 &&
    seqGt(seqAdd(segment.seq, segment.payload.length), connection.rcvNxt) &&
    (connection.state === 'FIN-WAIT-1' || connection.state === 'FIN-WAIT-2')
  ) {
    connection.stats.increment('tcp.rx.dataAfterClose');
    sendResetFor(connection, segment);
    connection.closeWithError(null);
    return;
  }

  connection.keepalive.restart(now);
  processTextAndFin(connection, segment, now);
}

/**
 * The rest of RFC 9293 §3.10.7.4 for a segment header prediction picked (header-prediction.ts),
 * in ESTABLISHED: the ACK, the timestamps, ECN's count of ECT data, the keepalive restart, and
 * the text, by the full path's own functions. Skipped, with the outcome the prediction settled:
 * the sequence check (in order: acceptable), RST, SYN, the SYN-RECEIVED and TIME-WAIT cases,
 * CWR and CE (absent), data after close (not ESTABLISHED's), URG and FIN (absent).
 */
function predictedSegmentArrives(connection: TcpConnection, segment: Segment, ts: Segment['parsed']['timestamps'], ecnField: number, now: number): void {
  connection.host.counters.rxPredicted.increment();
  // Fifth: ACK. It cannot end ESTABLISHED: no FIN of ours is in flight there.
  if (!processAck(connection, segment, now)) return;
  if (connection.state === 'CLOSED') return;
  if (ts && connection.timestamps.enabled) {
    connection.timestamps.segmentAccepted(segment.seq, ts.tsVal, now);
    connection.info.timestampEchoed(connection, segment.len, ts.tsEcr, now);
  }
  if (connection.ecn.enabled && ecnField !== 0 && segment.payload.length > 0) connection.info.ecnCapableDataArrived();
  connection.keepalive.restart(now);
  if (segment.payload.length > 0) processTextAndFin(connection, segment, now);
}

/**
 * A segment whose text and FIN lie wholly before RCV.NXT, with TcpConfig.oldSegmentAck =
 * 'process'. RFC 9293 §3.10.7.4's first check finds it unacceptable: it is ACKed and dropped
 * unread, ACK field and all. FreeBSD's tcp_input instead trims it (todrop >= tlen: the data
 * and FIN are dropped, TF_ACKNOW set) and goes on to the ACK processing; Linux's
 * tcp_sequence admits a segment whose end is not before rcv_wup (so a FIN sent again one
 * sequence number behind RCV.NXT) and reads its ACK, then answers the duplicate. Reading
 * only the RFC's way, a profile that repeats its unacknowledged FIN in every ACK
 * (repeatFinInAcks) never has that FIN acknowledged on a simultaneous close: each side's ACK
 * of the other's FIN is itself a repeated, wholly old FIN, dropped unread, so both stay in
 * CLOSING trading ACKs (and duplication on the link multiplies them).
 *
 * The RFC's rule (TcpConfig.oldSegmentAck 'ignore', the defaults and the Linux profile) does
 * not loop there: their ACKs are bare, at SND.NXT, so acceptable. A FIN retransmitted in
 * CLOSING is wholly old to the peer and its new ACK goes unread, but the peer's answer, a bare
 * ACK, acknowledges that FIN: one round trip more, no exchange. 4.3BSD read the ACK only of a
 * segment one FIN to the left of the window ("or we will get into FIN wars if our FINs
 * crossed"); FreeBSD reads it for every wholly old segment, and so does this.
 *
 * Here: the ACK step, as for an acceptable segment (so CLOSING may reach TIME-WAIT); TS.Recent
 * only if the text ends at Last.ACK.sent (RFC 7323 §4.3 on what FreeBSD's trim leaves: the
 * sequence number past the text, no length, no FIN); ECN's CWR and CE; the keepalive restart;
 * an immediate ACK. No URG, text or FIN (all old). The window update rule (SND.WL1) ignores
 * it, its sequence number being older than any accepted.
 */
function oldSegmentArrives(connection: TcpConnection, segment: Segment, now: number, ecnField: number): void {
  connection.stats.increment('tcp.rx.oldSegmentAckRead');
  connection.ackNow = true;
  if (!processAck(connection, segment, now)) return;
  if (connection.state === 'CLOSED') return;
  const ts = segment.parsed.timestamps;
  if (ts && connection.timestamps.enabled && seqAdd(segment.seq, segment.payload.length) === connection.timestamps.lastAckSent)
    connection.timestamps.segmentAccepted(segment.seq, ts.tsVal, now);
  if (connection.state === 'TIME-WAIT') return;
  if (connection.ecn.enabled && has.cwr(segment)) connection.ecn.cwrReceived();
  if (connection.ecn.enabled && ecnField === ECN_CE) {
    connection.ecn.congestionExperienced();
    connection.stats.increment('tcp.rx.congestionExperienced');
  }
  connection.keepalive.restart(now);
}

/**
 * A SYN in a synchronized state (or in SYN-RECEIVED of an active open). RFC 5961 §4.2: a
 * challenge ACK whatever its sequence number, and nothing else. With TcpConfig.inWindowSyn =
 * 'reset', RFC 793's rule: "If the SYN is in the window it is an error, send a reset", the
 * user is told "connection reset" and the connection closes; a SYN whose own sequence number
 * is outside the window gets the ACK of the sequence number check instead.
 */
function synchronizedSynArrives(connection: TcpConnection, segment: Segment, now: number, window: number): void {
  if (connection.host.config.inWindowSyn === 'challenge-ack') {
    challengeAck(connection, now, 'syn');
    return;
  }
  if (!seqInWindow(segment.seq, connection.rcvNxt, window)) {
    connection.stats.increment('drop.tcp.outsideWindow');
    sendAck(connection, now);
    return;
  }
  connection.stats.increment('tcp.rx.synInWindowReset');
  connection.stats.increment('tcp.tx.resets');
  transmitSegment(connection, now, connection.sndNxt, TcpFlag.RST | TcpFlag.ACK, NO_BYTES, []);
  connection.closeWithError('ECONNRESET');
}

/**
 * Our SYN is acknowledged: take the ACK, the peer's window (SND.WND, SND.WL1, SND.WL2) and
 * move to ESTABLISHED (RFC 9293 §3.10.7.3 and the SYN-RECEIVED case of §3.10.7.4).
 */
function establish(connection: TcpConnection, segment: Segment, window: number, now: number): void {
  const passive = connection.state === 'SYN-RECEIVED' && connection.listenerKey !== null;
  const first = connection.inFlight.first;
  const handshake = first !== undefined && first.syn ? first : null;
  const handshakeRetransmitted = handshake !== null && handshake.retransmits > 0;
  acknowledge(connection, segment, now);
  // A SYN or SYN-ACK sent once is timed like data (RFC 6298 §2, Karn's rule; Linux samples it
  // too), so without timestamps the first RTO still follows the path, not the initial 1 s.
  if (handshake && !handshakeRetransmitted && connection.rtt.srtt === undefined)
    connection.rtt.measure(Math.max(now - handshake.sentAt, 1), connection.sndUna, connection.sndNxt);
  connection.softError = null;
  if (handshakeRetransmitted) {
    // Our SYN or SYN-ACK was lost: start with one segment (RFC 5681 §3.1, RFC 6928 §2) and,
    // without an RTT sample, with an RTO of 3 s (RFC 6298 §5.7).
    connection.cc = connection.newCongestionControl(connection.cc.algorithm, 1);
    if (connection.rtt.srtt === undefined) connection.rtt = connection.newRttEstimator(3000);
  }
  connection.sndWnd = window;
  connection.maxSndWnd = window;
  connection.sndWl1 = segment.seq;
  connection.sndWl2 = segment.ack;
  connection.retransmitDeadline = Infinity;
  connection.firstUnackedSentAt = null;
  if (connection.host.config.socketBufferAccounting === 'freebsd' && connection.listenerKey !== null) {
    fitBuffersToSegments(connection, connection.sendMss + (connection.timestamps.enabled ? 12 : 0));
  }
  connection.setState('ESTABLISHED');
  connection.sendMemory.established();
  connection.info.established(connection, passive, now);
  connection.keepalive.restart(now);
}

/**
 * RCV.WND for the acceptability test (RFC 9293 §3.10.7.4): the window last advertised, or with
 * TcpConfig.receiveWindow = 'buffer' the free receive-buffer space when that is larger
 * (FreeBSD's rcv_wnd: a window the 16-bit field could not carry, without scaling, still
 * admits what the buffer holds). A passive half-open connection keeps what its SYN-ACK
 * offered: in the system this reproduces it has no buffer yet (a SYN cache, RFC 4987 §3.3).
 */
function receiveWindow(connection: TcpConnection): number {
  const advertised = Math.max(0, seqSub(connection.rcvAdvertisedEdge, connection.rcvNxt));
  if (connection.host.config.receiveWindow === 'advertised') return advertised;
  if (connection.state === 'SYN-RECEIVED' && connection.listenerKey !== null) return advertised;
  return Math.max(advertised, connection.receiveWindowSpace());
}

/** The four acceptability cases of RFC 9293 §3.10.7.4 (a zero window still admits ACK/RST/URG at RCV.NXT). */
export function sequenceAcceptable(rcvNxt: number, window: number, segment: Segment): boolean {
  if (segment.len === 0) return window === 0 ? segment.seq === rcvNxt : seqInWindow(segment.seq, rcvNxt, window);
  if (window === 0) return segment.seq === rcvNxt; // control and ACK processed; the text is dropped
  const last = seqAdd(segment.seq, segment.len - 1);
  return seqInWindow(segment.seq, rcvNxt, window) || seqInWindow(last, rcvNxt, window);
}

/**
 * The ACK step for ESTABLISHED and later states. Returns false when the segment was dropped.
 */
function processAck(connection: TcpConnection, segment: Segment, now: number): boolean {
  const ack = segment.ack;
  if (seqGt(ack, connection.sndNxt)) {
    // RFC 5961 §5.2 / RFC 9293: an ACK for something not yet sent: ACK, drop.
    connection.stats.increment('drop.tcp.ackTooNew');
    challengeAck(connection, now, 'ackTooNew');
    return false;
  }
  if (seqLt(ack, seqAdd(connection.sndUna, -connection.maxSndWnd))) {
    connection.stats.increment('drop.tcp.ackTooOld');
    challengeAck(connection, now, 'ackTooOld');
    return false;
  }
  // An acceptable ACK: the path works, so a soft ICMP error seen before is stale (Linux clears
  // sk_err_soft here too).
  connection.softError = null;
  connection.info.ackArrived(now);
  const deliveredBefore = connection.info.delivered;
  const before = ackArrives(connection);
  const previousWindow = connection.sndWnd;
  let dataAcked = 0;
  let finAcked = false;
  if (seqGt(ack, connection.sndUna)) {
    const result = acknowledge(connection, segment, now);
    dataAcked = result.dataAcked;
    finAcked = result.finAcked;
    connection.mtuProbing.acknowledged();
  }
  processSack(connection, segment.parsed.sackBlocks, now, ack);

  // Window update (RFC 9293 §3.10.7.4: SND.WL1/SND.WL2 keep old segments from updating it).
  if (seqLt(connection.sndWl1, segment.seq) || (connection.sndWl1 === segment.seq && seqLe(connection.sndWl2, ack))) {
    connection.sndWnd = segment.window << connection.sndWindowShift;
    connection.sndWl1 = segment.seq;
    connection.sndWl2 = ack;
    if (connection.sndWnd > connection.maxSndWnd) connection.maxSndWnd = connection.sndWnd;
    if (connection.sndWnd > 0) {
      connection.persistDeadline = Infinity;
      connection.zeroWindowSince = null;
    }
  }
  // With nothing in flight the timeouts counted were zero-window probes, and this ACK answers
  // them: probing goes on as long as the peer answers (RFC 1122 §4.2.2.17; Linux resets
  // icsk_probes_out on every ACK).
  if (connection.inFlight.length === 0) connection.timeoutCount = 0;
  const duplicate = ack === connection.sndUna && dataAcked === 0 && isDuplicateAck(connection, segment, previousWindow);
  if (duplicate) duplicateAck(connection, before);
  // F-RTO (RFC 5682) after a timeout: send new data, or undo a spurious timeout, before RACK
  // looks for losses among what the undo leaves unmarked.
  frtoAck(connection, before.sndUna, duplicate, now);

  if (connection.sackEnabled && detectLossByRack(connection, now)) enterRecovery(connection, now, before);
  // ECN-Echo (RFC 3168 §6.1.2): a reduction once per window of data, before this ACK's share of
  // it is computed (recovery.ts).
  if (connection.ecn.reductionEnds(connection.sndUna)) {
    // The window that saw the congestion mark is acknowledged: the reduction is complete, and
    // cwnd is ssthresh (RFC 9937 §4).
    if (connection.recovery.open) {
      connection.prr = null;
      connection.cc.onRecoveryEnd(now);
    }
  }
  if (connection.ecn.enabled && has.ece(segment) && connection.ecn.mayReduce(connection.sndUna)) {
    reduceForEcnEcho(connection, now, before);
  }
  const delivered = deliveredData(connection, before, duplicate);
  reduceForAck(connection, before, delivered);
  growForDelivered(connection, before, delivered, dataAcked > 0, now);
  // Segments this ACK reported delivered while it echoed congestion (Linux's delivered_ce).
  if (connection.ecn.enabled && has.ece(segment)) connection.info.deliveredWithEcnEcho(connection.info.delivered - deliveredBefore);

  // The retransmission timer follows the oldest unacknowledged segment (RFC 6298 §5.2–5.3).
  const unsent = connection.sendBuffer.length - seqSub(connection.sndNxt, connection.sendBufferSeq);
  if (connection.inFlight.length === 0) {
    connection.retransmitDeadline = Infinity;
    connection.probeDeadline = Infinity;
    connection.firstUnackedSentAt = null;
    connection.info.chronoStop(Chrono.busy, unsent <= 0, now);
  } else if (dataAcked > 0 || finAcked) {
    connection.firstUnackedSentAt = now;
    armRetransmitTimer(connection, now);
    armProbeTimer(connection, now);
    checkSackReneging(connection, now);
  }
  if (dataAcked > 0) {
    const charged = connection.sendMemory.charged;
    connection.info.sendBufferFreed(connection.sendMemory.limit - charged, charged, connection.inFlight.length === 0 && unsent <= 0, now);
    connection.sendMemory.freed();
  }

  if (finAcked) {
    switch (connection.state) {
      case 'FIN-WAIT-1':
        connection.setState('FIN-WAIT-2');
        if (connection.orphaned) connection.finWait2Deadline = now + connection.host.config.finWait2TimeoutMs;
        break;
      case 'CLOSING':
        connection.enterTimeWait();
        break;
      case 'LAST-ACK':
        connection.closeWithError(null);
        return false;
    }
  }
  return true;
}

/** Steps six to eight: URG, segment text, FIN. */
function processTextAndFin(connection: TcpConnection, segment: Segment, now: number): void {
  const state = connection.state;
  const receiving = state === 'ESTABLISHED' || state === 'FIN-WAIT-1' || state === 'FIN-WAIT-2';
  const dataStart = has.syn(segment) ? seqAdd(segment.seq, 1) : segment.seq;

  // Sixth: URG (RFC 9293 §3.8.5 / §3.10.7.4): remember how far urgent data extends.
  if (has.urg(segment) && receiving) {
    const urgentEnd = seqAdd(dataStart, segment.urgentPointer);
    if (!connection.urgentPending || seqGt(urgentEnd, connection.rcvUp)) connection.rcvUp = urgentEnd;
    connection.urgentPending = seqGt(connection.rcvUp, connection.readSequence());
    connection.stats.increment('tcp.rx.urgent');
  }

  // Seventh: the text, trimmed to the window, delivered in order through the assembler.
  if (segment.payload.length > 0 && receiving) {
    let start = dataStart;
    let data = segment.payload;
    const windowEnd = seqAdd(connection.rcvNxt, receiveWindow(connection));
    if (seqGt(seqAdd(start, data.length), windowEnd)) {
      data = data.subarray(0, Math.max(0, seqSub(windowEnd, start)));
      connection.stats.increment('tcp.rx.trimmedToWindow');
      // Text beyond the window is not acceptable (with a zero window, none is: a BSD-style
      // window probe): ACK at once so the sender learns where the window ends.
      connection.ackNow = true;
    }
    const wasHolding = connection.assembler.heldBytes > 0;
    if (seqLt(start, connection.rcvNxt)) {
      const skip = Math.min(data.length, seqSub(connection.rcvNxt, start));
      if (connection.sackEnabled && skip > 0) connection.pendingDsack = { leftEdge: start, rightEdge: seqAdd(start, skip) };
      data = data.subarray(skip);
      start = connection.rcvNxt;
    }
    if (data.length > 0) deliverText(connection, start, data, segment, wasHolding, now);
  }

  // Eighth: FIN, processed once every byte before it has arrived.
  if (has.fin(segment) && state !== 'CLOSED' && state !== 'LISTEN' && state !== 'SYN-SENT') {
    const finSeq = seqAdd(dataStart, segment.payload.length);
    if (finSeq === connection.rcvNxt) finArrives(connection, now);
    else if (seqGt(finSeq, connection.rcvNxt)) {
      connection.outOfOrderFinSeq = finSeq;
      connection.ackNow = true;
    } else if (connection.peerFinReceived) {
      connection.ackNow = true;
    }
  }
}

function deliverText(connection: TcpConnection, start: number, data: Uint8Array, segment: Segment, wasHolding: boolean, now: number): void {
  const inOrder = start === connection.rcvNxt;
  const result = connection.assembler.insert(start, data, connection.rcvNxt);
  if (result.refusedBytes > 0) connection.stats.increment('drop.tcp.outOfOrderLimit');
  if (result.duplicate && connection.sackEnabled) connection.pendingDsack = result.duplicate;
  const advanced = seqSub(result.rcvNxt, connection.rcvNxt);
  connection.rcvNxt = result.rcvNxt;
  connection.info.received(advanced);
  if (inOrder) connection.info.dataArrivedInOrder(connection, segment.payload.length, segment.flags, now);
  else if (result.refusedBytes < data.length) connection.info.outOfOrderArrived();
  for (const chunk of result.delivered) {
    if (connection.readShutdown && connection.host.config.readShutdownDiscards) continue; // SHUT_RD: acknowledged and discarded
    connection.receiveQueue.push(chunk);
  }
  connection.host.counters.rxDataSegments.increment();
  const advertisedWindow = seqSub(connection.rcvAdvertisedEdge, connection.timestamps.lastAckSent);
  let quick = connection.quickAcks.dataArrived(
    data.length,
    has.psh(segment),
    advertisedWindow,
    connection.advertisedMss || connection.sendMss,
    connection.rtt.rto,
    now,
  );
  // TcpConfig.receiveWindowGrowth 'linux': a window that grew is announced at once.
  if (
    result.refusedBytes < data.length &&
    linuxDataReceived(connection, data.length, inOrder, segment.parsed.timestamps?.tsEcr, now, start) &&
    connection.quickAcks.windowGrew()
  )
    quick = true;
  if (!inOrder && !quick && result.duplicate === undefined && compressDuplicateAck(connection, now)) {
    // Out of order with SACK compression (TcpConfig.sackCompression): its ACK waits for others.
  } else if (!inOrder || wasHolding || result.duplicate !== undefined) {
    // Out of order, a duplicate, or filling a hole: ACK at once (RFC 5681 §4.2, RFC 9293 §3.8.6.3).
    connection.ackNow = true;
    if (inOrder && wasHolding && !quick) holeNarrowedAck(connection); // TcpConfig.sackCompression
  } else {
    // A segment longer than our MSS is several that a device joined (the kernel's segmentation
    // offload on a TUN): it counts as two, so it is ACKed at once as they would have been.
    connection.segmentsSinceAck += data.length > (connection.advertisedMss || connection.sendMss) ? 2 : 1;
    if (connection.segmentsSinceAck >= 2 || quick) connection.ackNow = true;
    else armDelayedAck(connection, now);
  }
  if (connection.outOfOrderFinSeq !== null && connection.outOfOrderFinSeq === connection.rcvNxt) finArrives(connection, now);
  if (advanced > 0) connection.eventsOrNull?.onReadable?.();
}

/** The peer's FIN, in order (RFC 9293 §3.10.7.4 eighth step). */
function finArrives(connection: TcpConnection, now: number): void {
  if (connection.peerFinReceived) return;
  connection.peerFinReceived = true;
  connection.outOfOrderFinSeq = null;
  const dataReceived = connection.rcvNxt !== seqAdd(connection.irs, 1);
  connection.rcvNxt = seqAdd(connection.rcvNxt, 1);
  connection.info.received(1);
  // With delayFinAck (Linux's profile) the FIN that ends ESTABLISHED waits for the delayed-ACK
  // timer unless something already asked for an immediate ACK (data held out of order, a second
  // full segment): the application's answer or FIN usually carries it (RFC 1122 §4.2.3.2).
  // Only after data: Linux's delayed-ACK timeout (icsk_ack.ato) is 0 until the first data
  // arrives (tcp_event_data_recv sets it), so a FIN on a connection that carried none is ACKed
  // at once — Google's close/close-remote-fin-then-close.pkt.
  if (connection.state === 'ESTABLISHED' && connection.host.config.delayFinAck && dataReceived && !connection.ackNow) armDelayedAck(connection, now);
  else connection.ackNow = true;
  connection.stats.increment('tcp.rx.fin');
  switch (connection.state) {
    case 'SYN-RECEIVED':
    case 'ESTABLISHED':
      connection.setState('CLOSE-WAIT');
      break;
    case 'FIN-WAIT-1':
      // Our FIN not yet acknowledged: simultaneous close.
      connection.setState('CLOSING');
      break;
    case 'FIN-WAIT-2':
      connection.enterTimeWait();
      break;
  }
  connection.eventsOrNull?.onReadable?.();
}
