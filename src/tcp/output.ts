/**
 * Building and sending segments: SYN and SYN-ACK with their options, data within the send
 * window and the congestion window, Nagle (RFC 896 / RFC 9293 §3.7.4), sender-side
 * silly-window avoidance (§3.8.6.2.1), the advertised window with receiver-side SWS avoidance
 * (§3.8.6.2.2) and window scaling (RFC 7323 §2.3), timestamps (RFC 7323 §3) and SACK blocks
 * (RFC 2018 §4, D-SACK RFC 2883), and pure ACKs.
 */
import { NO_BYTES } from '../core/bytes.js';
import { ecnMode } from './config.js';
import type { SentSegment, TcpConnection } from './connection.js';
import { armProbeTimer, armRetransmitTimer } from './deadlines.js';
import { pacingHolds, pacingRate, pacingUnitSent } from './pacing.js';
import { linuxDataRead, linuxSynWindow, linuxWindow, linuxWindowUpdateBounds } from './receive-window.js';
import { congestionWindow, congestionWindowLimited, pipe } from './recovery.js';
import { seqAdd, seqGt, seqLt, seqSub } from './seq.js';
import { Chrono, segmentCount } from './tcp-info-counters.js';
import type { SackBlock, TcpOption } from './tcp-options.js';
import { TcpFlag, type TcpRepr } from './tcp-packet.js';
import type { IpAddress } from '../ip/ip-address.js';

/** IPv4 (20) + TCP (20) header bytes without options. */
export const TCP_IP_HEADERS = 40;

/** IP + TCP header bytes without options toward `remote`: 40 over IPv4, 60 over IPv6 (RFC 8200's 40-byte header). */
export function tcpIpHeaderLength(remote: IpAddress): number {
  return typeof remote === 'number' ? TCP_IP_HEADERS : TCP_IP_HEADERS + 20;
}

/** Largest window field value. */
const MAX_WINDOW_FIELD = 0xffff;

/** The window-scale shift we offer for a receive buffer (RFC 7323 §2.3: at most 14). */
export function windowShiftFor(bufferSize: number): number {
  let shift = 0;
  while (shift < 14 && bufferSize >> shift > MAX_WINDOW_FIELD) shift++;
  return shift;
}

/**
 * The MSS we advertise: the path MTU minus headers, or the route's advmss, bounded by TCP_MAXSEG
 * (RFC 9293 §3.7.1).
 */
export function advertisedMssFor(connection: TcpConnection): number {
  const mtu = connection.host.pathMtu(connection.remoteAddress) ?? 576;
  const mss = Math.min(mtu - tcpIpHeaderLength(connection.remoteAddress), connection.host.routeAdvertisedMss(connection.remoteAddress) ?? Infinity);
  return connection.options.maxSegmentSize > 0 ? Math.min(mss, connection.options.maxSegmentSize) : mss;
}

/** Options for a SYN or SYN-ACK, in Linux's order so captures look familiar. */
function synOptions(connection: TcpConnection, now: number, isSynAck: boolean): TcpOption[] {
  const config = connection.host.config;
  const sack = isSynAck ? connection.sackEnabled : config.sack;
  const ts = isSynAck ? connection.timestamps.enabled : config.timestamps;
  // A SYN-ACK carries window scale only in answer to one, and only if we scale (RFC 7323 §2.2).
  const ws = isSynAck ? connection.windowScalingEnabled : config.windowScaling;
  const options: TcpOption[] = [{ kind: 'maxSegmentSize', mss: connection.advertisedMss }];
  if (sack && ts) options.push({ kind: 'sackPermitted' });
  if (ts) {
    if (!sack) options.push({ kind: 'noOperation' }, { kind: 'noOperation' });
    options.push({ kind: 'timestamps', tsVal: connection.timestamps.tsVal(now), tsEcr: isSynAck ? connection.timestamps.recent : 0 });
  } else if (sack) {
    options.push({ kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' });
  }
  if (ws) options.push({ kind: 'noOperation' }, { kind: 'windowScale', shiftCount: connection.rcvWindowShift });
  return options;
}

/** No-Operation, which pads the options after it to 32 bits; one shared object, as options are never changed. */
const NO_OPERATION: TcpOption = Object.freeze({ kind: 'noOperation' });

/** Options for a synchronized-state segment: timestamps, then SACK blocks if any. */
function segmentOptions(connection: TcpConnection, now: number): TcpOption[] {
  const options: TcpOption[] = [];
  if (connection.timestamps.enabled) {
    options.push(NO_OPERATION, NO_OPERATION, { kind: 'timestamps', tsVal: connection.timestamps.tsVal(now), tsEcr: connection.timestamps.recent });
  }
  // Blocks exist only for data held out of order or a duplicate to report (RFC 2018 §4, RFC 2883).
  const dsack = connection.host.config.duplicateSack ? connection.pendingDsack : null;
  if (connection.sackEnabled && (connection.assembler.holes || dsack !== null)) {
    const max = connection.timestamps.enabled ? 3 : 4;
    const blocks: SackBlock[] = connection.assembler.sackBlocks(max, dsack ?? undefined);
    const fin = connection.outOfOrderFinSeq;
    if (fin !== null && connection.host.config.sackCoversFin) coverFin(blocks, dsack === null ? 0 : 1, fin);
    if (blocks.length > 0) options.push(NO_OPERATION, NO_OPERATION, { kind: 'sack', blocks });
  }
  return options;
}

/** TcpConfig.sackCoversFin: the block of held data that ends at the held FIN takes it in (Linux). */
function coverFin(blocks: SackBlock[], first: number, fin: number): void {
  for (let i = first; i < blocks.length; i++) {
    if (blocks[i].rightEdge === fin) blocks[i] = { leftEdge: blocks[i].leftEdge, rightEdge: seqAdd(fin, 1) };
  }
}

/**
 * Payload bytes a data segment with these options may carry. The send MSS already leaves room
 * for timestamps; SACK blocks come and go and take payload room while they ride along
 * (RFC 2018 §3 with RFC 9293 §3.7.1: the MSS counts data only, the IP packet must still fit
 * the path; Linux's tcp_current_mss does the same). Without this a full-sized segment that
 * picks up SACK blocks exceeds the MTU, and with DF set it cannot be sent at all.
 */
function payloadRoom(connection: TcpConnection, options: readonly TcpOption[]): number {
  let room = connection.sendMss;
  for (const option of options) if (option.kind === 'sack') room -= 4 + 8 * option.blocks.length; // two NOPs, kind, length, blocks
  return room;
}

/**
 * The window to advertise (unscaled bytes), never moving the right edge left, and moving it
 * right only by a worthwhile amount: min(buffer/2, MSS) (RFC 9293 §3.8.6.2.2).
 */
function windowToAdvertise(connection: TcpConnection): number {
  const linux = linuxWindow(connection); // TcpConfig.receiveWindowGrowth
  if (linux !== null) return linux;
  const space = connection.receiveWindowSpace();
  const current = Math.max(0, seqSub(connection.rcvAdvertisedEdge, connection.rcvNxt));
  const threshold = Math.min(connection.receiveBufferSize / 2, connection.advertisedMss || connection.sendMss);
  if (space >= current + threshold || space >= connection.receiveBufferSize) return Math.max(space, current);
  return current;
}

/** The window a SYN or SYN-ACK offers: never scaled (RFC 7323 §2.2). */
export function synWindow(connection: TcpConnection, isSynAck = true): number {
  return linuxSynWindow(connection, isSynAck) ?? Math.min(connection.receiveWindowSpace(), MAX_WINDOW_FIELD);
}

/**
 * Builds and transmits one segment; updates the ACK and window bookkeeping. Returns false when
 * the segment never left: the interface's transmit queue was full (local congestion). An ACK
 * counts as sent either way (as Linux's tcp_event_ack_sent); data does not.
 */
export function transmitSegment(
  connection: TcpConnection,
  now: number,
  seq: number,
  flags: number,
  payload: Uint8Array,
  options?: TcpOption[],
  segmentSize?: number,
): boolean {
  let window: number;
  const isSyn = (flags & TcpFlag.SYN) !== 0;
  if (flags & TcpFlag.RST) {
    window = 0; // a reset offers no window (Linux sends 0)
  } else if (isSyn) {
    window = synWindow(connection, (flags & TcpFlag.ACK) !== 0);
    connection.rcvAdvertisedEdge = seqAdd(connection.rcvNxt, window);
  } else {
    const bytes = windowToAdvertise(connection);
    const unit = 1 << connection.rcvWindowShift;
    window = Math.min(MAX_WINDOW_FIELD, Math.ceil(bytes / unit));
    const edge = seqAdd(connection.rcvNxt, window * unit);
    if (seqGt(edge, connection.rcvAdvertisedEdge)) connection.rcvAdvertisedEdge = edge;
  }
  if (!(flags & TcpFlag.RST)) connection.info.receiveWindow = isSyn ? window : window << connection.rcvWindowShift;
  if (connection.ecn.enabled && !isSyn) {
    if (connection.ecn.echoPending) flags |= TcpFlag.ECE;
    if (payload.length > 0 && connection.ecn.takeCwr()) flags |= TcpFlag.CWR;
  }
  const segment: TcpRepr = {
    srcPort: connection.localPort,
    dstPort: connection.remotePort,
    seq,
    ack: flags & TcpFlag.ACK ? connection.rcvNxt : 0,
    flags,
    window,
    urgentPointer: 0,
    options: options ?? segmentOptions(connection, now),
    payload,
  };
  if (flags & TcpFlag.ACK) {
    connection.timestamps.ackSent(connection.rcvNxt);
    connection.ackNow = false;
    connection.segmentsSinceAck = 0;
    connection.quickAcks.ackSent();
    connection.delayedAckDeadline = Infinity;
    connection.pendingDsack = null;
  }
  if (payload.length > 0) connection.quickAcks.dataSent(now, connection.host.config.delayedAckMs);
  connection.host.counters.txSegments.increment();
  // With offload a segment of many MSS leaves as the segments the link cuts it into.
  const segments = segmentSize !== undefined && payload.length > segmentSize ? Math.ceil(payload.length / segmentSize) : 1;
  connection.info.segmentSent(payload.length, segments, now);
  return connection.host.transmit(connection, segment, segmentSize);
}

/** Sends (or re-sends) our SYN (active open, RFC 9293 §3.10.1). */
export function sendSyn(connection: TcpConnection, now: number): void {
  // RFC 3168 §6.1.1: an ECN-setup SYN (ECE and CWR) only when we ask for ECN; 'accept' never asks.
  const flags = TcpFlag.SYN | (ecnMode(connection.host.config) === 'on' ? TcpFlag.ECE | TcpFlag.CWR : 0);
  transmitSegment(connection, now, connection.iss, flags, NO_BYTES, synOptions(connection, now, false));
}

/** Sends (or re-sends) our SYN-ACK (passive open, RFC 9293 §3.10.7.2). */
export function sendSynAck(connection: TcpConnection, now: number): void {
  const flags = TcpFlag.SYN | TcpFlag.ACK | (connection.ecn.enabled ? TcpFlag.ECE : 0);
  transmitSegment(connection, now, connection.iss, flags, NO_BYTES, synOptions(connection, now, true));
}

/**
 * Sends a RST for the connection (ABORT, or a keepalive that went unanswered) at SND.NXT. With
 * timestamps negotiated it carries them (RFC 7323 §3.2: TSopt SHOULD be sent in a RST; Linux's
 * tcp_send_active_reset does), but no SACK blocks.
 */
export function sendReset(connection: TcpConnection, now: number, flags: number): void {
  const options: TcpOption[] = connection.timestamps.enabled
    ? [NO_OPERATION, NO_OPERATION, { kind: 'timestamps', tsVal: connection.timestamps.tsVal(now), tsEcr: connection.timestamps.recent }]
    : [];
  transmitSegment(connection, now, connection.sndNxt, TcpFlag.RST | flags, NO_BYTES, options);
}

/** Sends a bare ACK for the current RCV.NXT. */
export function sendAck(connection: TcpConnection, now: number): void {
  transmitSegment(connection, now, connection.sndNxt, TcpFlag.ACK, NO_BYTES);
}

/** Bytes of a SentSegment's data (without SYN/FIN). */
function dataLength(segment: SentSegment): number {
  return segment.length - (segment.syn ? 1 : 0) - (segment.fin ? 1 : 0);
}

/**
 * Retransmits one segment from the send buffer (RFC 9293 §3.8.1; RFC 6675 §5 step 4), with PSH
 * if it carried the end of a write or `endsUnit` (the last segment of a unit of two or more).
 * Returns false when the interface's full transmit queue dropped it: it stays as it was (lost,
 * not retransmitted), as Linux's tcp_retransmit_skb leaves an skb whose transmission failed.
 */
export function retransmit(connection: TcpConnection, segment: SentSegment, now: number, endsUnit = false): boolean {
  connection.mtuProbing.retransmitting(segment.seq);
  const options = segment.syn ? [] : segmentOptions(connection, now);
  const room = payloadRoom(connection, options);
  if (!segment.syn && dataLength(segment) > room) {
    // SACK blocks now take room the original transmission had: resend the head, and leave the
    // tail as its own entry in the state the whole was in (Linux tcp_fragment does the same).
    connection.inFlight.splitAt(connection.inFlight.indexOf(segment), seqAdd(segment.seq, room));
  }
  // TCP_INFO's total_retrans and bytes_retrans count every attempt, as Linux's do.
  connection.info.retransmitted(dataLength(segment), segmentCount(segment, connection.sendMss));
  if (!segment.syn) {
    const length = dataLength(segment);
    const payload = length > 0 ? connection.sendBuffer.read(seqSub(segment.seq, connection.sendBufferSeq), length) : NO_BYTES;
    // A segment of several MSS (segmentation offload) is a unit of its own.
    const push = segment.push || (length > 0 && (endsUnit || length > connection.sendMss));
    if (!transmitSegment(connection, now, segment.seq, TcpFlag.ACK | (segment.fin ? TcpFlag.FIN : 0) | (push ? TcpFlag.PSH : 0), payload, options)) {
      connection.stats.increment('tcp.tx.retransmitsFailed');
      return false;
    }
  }
  connection.stats.increment('tcp.tx.retransmits');
  if (connection.undo && connection.recovery.inFastRecovery) connection.undo.retransmissions++;
  connection.prr?.onSent(segment.length);
  segment.retransmits++;
  connection.inFlight.clearLost(segment);
  segment.sentAt = now;
  segment.sentOrder = connection.transmissions++;
  if (connection.rttSeq !== null && !seqLt(connection.rttSeq, segment.seq) && seqLt(connection.rttSeq, seqAdd(segment.seq, segment.length))) {
    connection.rttSeq = null; // Karn: never time a retransmitted segment
  }
  if (segment.syn) {
    if (connection.state === 'SYN-SENT') sendSyn(connection, now);
    else sendSynAck(connection, now);
  }
  return true;
}

/** The largest send unit: a 64 KiB IP packet's worth (Linux's GSO_MAX_SIZE). */
const MAX_SEND_UNIT_BYTES = 65536;

/**
 * Segments per send unit (TcpConfig.minSendUnitSegments; Linux's tcp_tso_autosize): about
 * 1/1024 s of data at the pacing rate Linux would set (tcp_update_pacing_rate), at least the
 * minimum; a 64 KiB unit before there is an RTT sample to compute a rate from. Both openers
 * have a rate once the handshake completes (Linux's tcp_rcv_state_process sets a passive
 * opener's from the SYN-ACK's RTT as it reaches ESTABLISHED).
 */
export function sendUnitSegments(connection: TcpConnection, mss: number): number {
  const largest = Math.max(1, Math.floor(MAX_SEND_UNIT_BYTES / mss));
  const bytesPerSecond = pacingRate(connection);
  if (bytesPerSecond <= 0) return largest;
  return Math.min(largest, Math.max(connection.host.config.minSendUnitSegments, Math.floor(bytesPerSecond / 1024 / mss)));
}

/**
 * The most segments one send unit may take of the congestion window (Linux's tcp_cwnd_test):
 * what is left of it, and never more than half of it, so that at least two units are in flight
 * and the ACK of the first releases the next while the second travels.
 */
export function congestionWindowQuota(cwnd: number, inPipe: number, mss: number): number {
  const windowSegments = Math.floor(cwnd / mss);
  const left = windowSegments - Math.ceil(inPipe / mss);
  return Math.max(1, Math.min(Math.max(1, windowSegments >> 1), left));
}

/** Why transmitPending runs, when that changes what it may send. */
export interface TransmitMode {
  /**
   * A tail loss probe (RFC 8985 §7.3): one new segment goes if the receive window allows,
   * whatever Nagle or the congestion window say (Linux's tcp_send_loss_probe, push_one = 2).
   */
  readonly lossProbe?: boolean;
  /** A write with MSG_MORE, or one not yet fully queued: partial segments wait. */
  readonly corked?: boolean;
  /** TCP_NODELAY set or TCP_CORK cleared: held data goes now, cork or not (Linux's TCP_NAGLE_PUSH). */
  readonly push?: boolean;
  /**
   * The probe timer found data held with nothing in flight: one segment goes whatever Nagle or
   * a cork say, with PSH (Linux's tcp_write_wakeup).
   */
  readonly wakeup?: boolean;
}

/**
 * Sends whatever may be sent now: retransmissions of segments marked lost, new data and FIN
 * within min(send window, congestion window), then an ACK if one is owed and none was sent.
 * Returns true when a data segment found the interface's transmit queue full and did not leave.
 */
export function transmitPending(connection: TcpConnection, now: number, mode: TransmitMode = {}): boolean {
  const state = connection.state;
  if (state === 'CLOSED' || state === 'LISTEN' || state === 'SYN-SENT' || state === 'SYN-RECEIVED' || state === 'TIME-WAIT') {
    // An unacceptable segment in SYN-RECEIVED or TIME-WAIT is answered too (RFC 9293 §3.10.7.4).
    if (connection.ackNow && (state === 'TIME-WAIT' || state === 'SYN-RECEIVED')) sendAck(connection, now);
    return false;
  }
  let sentSomething = false;
  let sentNewData = false;
  /** A segment found the interface's transmit queue full: nothing more goes now. */
  let droppedLocally = false;
  const queue = connection.inFlight;
  if (connection.host.config.idleRestart && connection.flightSize === 0 && connection.lastSendAt > 0 && now - connection.lastSendAt > connection.rtt.rto) {
    // Restart after idle (RFC 5681 §4.1): the window measured before the pause is stale.
    connection.stats.increment('tcp.cwnd.idleRestart');
    connection.cc.onIdleRestart(now, connection.rtt.rto);
  }
  const cwnd = congestionWindow(connection);
  let inPipe = pipe(connection);
  // F-RTO step 2b (RFC 5682): after the ACK of a timeout's retransmission, new data goes instead
  // of the segments the timeout marked lost, Nagle or not (the RFC allows overriding it; Linux's
  // tcp_xmit_recovery pushes with TCP_NAGLE_OFF).
  const newDataOnly = connection.frto.takeNewDataTurn();
  const sndNxtBefore = connection.sndNxt;

  // Retransmissions first: lost segments in sequence order while cwnd − pipe leaves room for a
  // segment (RFC 6675 §5 (C)). An entry that must be split leaves its tail lost, next in line.
  // What is left of a send unit leaves again as one unit, as far as cwnd and the unit size
  // allow, with PSH on its last segment when it has two or more (Linux retransmits a lost skb
  // as one GSO packet).
  let groupSegments = 0;
  let groupLimit = 0;
  let groupBytes = 0;
  for (let i = 0; !newDataOnly && queue.lostCount > 0 && i < queue.length; i++) {
    const segment = queue.at(i);
    if (!segment.lost) continue;
    if (cwnd - inPipe < connection.sendMss) break;
    if (groupSegments === 0) {
      if (pacingHolds(connection, now)) break;
      groupLimit = sendUnitSegments(connection, connection.sendMss);
    }
    groupSegments++;
    const next = i + 1 < queue.length ? queue.at(i + 1) : undefined;
    const continues =
      next !== undefined &&
      next.lost &&
      next.unitEnd === segment.unitEnd &&
      next.seq === seqAdd(segment.seq, segment.length) &&
      inPipe + segment.length + next.length <= cwnd &&
      groupSegments < groupLimit;
    if (!retransmit(connection, segment, now, groupSegments >= 2 && !continues)) {
      droppedLocally = true;
      break;
    }
    groupBytes += segment.length;
    if (!continues) {
      pacingUnitSent(connection, groupBytes, now);
      groupSegments = 0;
      groupBytes = 0;
    }
    inPipe += segment.length;
    sentSomething = true;
  }
  pacingUnitSent(connection, groupBytes, now);

  const mayCarryData = state === 'ESTABLISHED' || state === 'CLOSE-WAIT' || state === 'FIN-WAIT-1' || state === 'CLOSING' || state === 'LAST-ACK';
  // RFC 4821: a path MTU probe goes before other new data when the search wants one; when the
  // windows will soon have room for it, new data waits (mtu-probe.ts).
  let holdForProbe = false;
  if (mayCarryData && connection.host.config.mtuProbing && !mode.wakeup && !mode.lossProbe && !connection.finSent) {
    const probed = sendMtuProbe(connection, now, cwnd, inPipe);
    if (probed < 0) holdForProbe = true;
    else if (probed > 0) {
      inPipe += probed;
      sentSomething = true;
      sentNewData = true;
    }
  }
  // New data leaves in send units (Linux's GSO packets), each sized as it starts: where it ends,
  // and whether it groups two segments or more. The send memory learns each unit (send-memory.ts).
  let unitStart = connection.sndNxt;
  let unitEnd = connection.sndNxt;
  let unitIsGroup = false;
  let unitBytesSent = 0;
  while (mayCarryData && !connection.finSent && !holdForProbe && !droppedLocally) {
    const unsentOffset = seqSub(connection.sndNxt, connection.sendBufferSeq);
    const unsent = connection.sendBuffer.length - unsentOffset;
    if (unsent <= 0 && !connection.finPending) break;
    const usableWindow = seqSub(seqAdd(connection.sndUna, connection.sndWnd), connection.sndNxt);
    const options = segmentOptions(connection, now);
    const mss = payloadRoom(connection, options);
    const congestionRoom = mode.lossProbe ? Math.max(cwnd - inPipe, mss) : cwnd - inPipe;
    if (!seqLt(connection.sndNxt, unitEnd)) {
      if (seqGt(unitEnd, unitStart)) connection.sendMemory.transmitted(unitStart, unitEnd, seqSub(unitEnd, unitStart));
      unitStart = connection.sndNxt;
      // With pacing a unit leaves only when the schedule allows (a probe's wakeup goes at once,
      // as Linux's tcp_write_wakeup bypasses it).
      pacingUnitSent(connection, unitBytesSent, now);
      unitBytesSent = 0;
      if (!mode.wakeup && pacingHolds(connection, now)) break;
      const segments = Math.min(sendUnitSegments(connection, mss), congestionWindowQuota(cwnd, inPipe, mss));
      const unitBytes = Math.max(0, Math.min(segments * mss, unsent, usableWindow, congestionRoom));
      unitEnd = seqAdd(connection.sndNxt, unitBytes);
      unitIsGroup = unitBytes > mss;
    }
    // With segmentation offload a unit is one segment of many MSS (a whole number of them) for
    // the link to cut; Nagle and SWS avoidance still reason in MSS.
    const offload = connection.segmentationOffloadBytes;
    const largest = offload > mss ? Math.min(offload - (offload % mss), seqSub(unitEnd, connection.sndNxt)) : mss;
    let length = Math.min(unsent, largest, usableWindow, congestionRoom);
    if (unsent > 0 && length <= 0) {
      if (usableWindow <= 0 && connection.flightSize === 0) armPersistIfIdle(connection, now);
      break;
    }
    length = Math.max(0, length);
    if (length > 0 && length < mss && length < unsent && !mode.wakeup) {
      // Sender SWS avoidance (§3.8.6.2.1): a segment shorter than the MSS that leaves data
      // behind goes only if it is at least Fs = 1/2 of the largest window the peer offered.
      // Otherwise it waits for the window to open or, with nothing outstanding to bring an
      // ACK, for the override timeout: the persist timer sends it (tcp_write_wakeup in Linux).
      if (length < connection.maxSndWnd / 2) {
        if (connection.flightSize === 0) armPersistIfIdle(connection, now);
        break;
      }
    }
    // MSG_EOR: a segment stops at the end of a record.
    length = Math.min(length, connection.writeMarks.untilRecordEnd(connection.sndNxt));
    const partial = length > 0 && length === unsent && length < mss && !connection.finPending;
    if (partial && !mode.push && !mode.wakeup && (mode.corked || connection.options.cork)) {
      // TCP_CORK or MSG_MORE: the partial tail waits for more data, an uncork, or — with nothing
      // in flight to bring an ACK — the probe timer (Linux's tcp_check_probe_timer).
      connection.stats.increment('tcp.cork.held');
      if (connection.flightSize === 0) armPersistIfIdle(connection, now);
      break;
    }
    if (partial && !connection.options.noDelay && !mode.lossProbe && !mode.wakeup && !newDataOnly && seqGt(connection.smallSegmentEnd, connection.sndUna)) {
      // Nagle (RFC 896, RFC 9293 §3.7.4) in Minshall's form, as Linux: a small segment waits
      // only while an earlier small segment is unacknowledged, so the tail of a large write
      // leaves at once but a stream of small writes still coalesces.
      connection.stats.increment('tcp.nagle.delayed');
      break;
    }
    const fin = connection.finPending && length === unsent;
    if (length === 0 && !fin) break;
    // Nothing in flight: the controller learns how long the sender was idle (Linux's CA_EVENT_TX_START).
    if (connection.flightSize === 0 && connection.lastSendAt > 0) connection.cc.onTransmitStart?.(now, now - connection.lastSendAt);
    const payload = length > 0 ? connection.sendBuffer.read(unsentOffset, length) : NO_BYTES;
    // PSH on the segment that carries the end of a write (RFC 9293 §3.9.1, as Linux marks it),
    // and on the last segment of a send unit of two or more (Linux forces it on GSO packets).
    const end = seqAdd(connection.sndNxt, length);
    const writeEnd = length > 0 && connection.writeMarks.pushUpTo(end);
    const unitPush = length > mss || (unitIsGroup && !seqLt(end, unitEnd));
    const push = length > 0 && (writeEnd || unitPush || mode.wakeup === true);
    const flags = TcpFlag.ACK | (push ? TcpFlag.PSH : 0) | (fin ? TcpFlag.FIN : 0);
    const seq = connection.sndNxt;
    // With offload every data segment goes with its segment size: the link cuts it if longer,
    // and completes its checksum either way.
    if (!transmitSegment(connection, now, seq, flags, payload, options, offload > 0 && length > 0 ? mss : undefined)) {
      // Dropped before the wire: SND.NXT stays, and the data goes again when something next
      // sends (an ACK, a timer, the probe timer when nothing is in flight).
      droppedLocally = true;
      if (connection.flightSize === 0) armPersistIfIdle(connection, now);
      break;
    }
    if (length > 0) connection.writeMarks.take(end);
    const segmentLength = length + (fin ? 1 : 0);
    connection.prr?.onSent(segmentLength);
    if (length > 0 && length < mss) connection.smallSegmentEnd = seqAdd(seq, length);
    // A retransmission repeats the PSH of a write's end or a wakeup, not a send unit's: Linux
    // forces that one on the GSO packet as it leaves, not on the data it keeps for retransmission.
    const pushKept = length > 0 && (writeEnd || mode.wakeup === true);
    queue.push({ seq, length: segmentLength, syn: false, fin, push: pushKept, unitEnd, sentAt: now, sentOrder: connection.transmissions++ });
    if (connection.firstUnackedSentAt === null) connection.firstUnackedSentAt = now;
    if (connection.rttSeq === null && !connection.timestamps.enabled && length > 0) {
      connection.rttSeq = seq;
      connection.rttStartedAt = now;
    }
    connection.sndNxt = seqAdd(seq, segmentLength);
    inPipe += segmentLength;
    unitBytesSent += length;
    connection.lastSendAt = now;
    connection.host.counters.txDataSegments.increment();
    if (fin) connection.finSent = true;
    sentSomething = true;
    sentNewData = true;
    if (mode.wakeup || mode.lossProbe) break;
  }
  if (seqGt(connection.sndNxt, unitStart))
    connection.sendMemory.transmitted(unitStart, connection.sndNxt, Math.max(seqSub(unitEnd, unitStart), connection.sendMss));
  pacingUnitSent(connection, unitBytesSent, now);
  if (newDataOnly && connection.sndNxt === sndNxtBefore) {
    // No new data could go after all (a cork, pacing, the transmit queue): F-RTO ends and the
    // recovery is the conventional one (RFC 5682 step 2b; Linux's tcp_xmit_recovery).
    connection.frto.stop();
    return transmitPending(connection, now, mode);
  }
  if (mayCarryData) {
    // The window's use is recorded first: whether this transmission found cwnd limiting decides
    // whether a writer short of buffer is send-buffer limited (Linux's tcp_cwnd_validate order).
    recordWindowUse(connection, cwnd, inPipe, sentNewData);
    chargeSenderTime(connection, now, cwnd, inPipe, sentNewData);
  }

  if (sentSomething) {
    if (connection.retransmitDeadline === Infinity) armRetransmitTimer(connection, now);
    connection.persistDeadline = Infinity;
    armProbeTimer(connection, now);
  }
  if (connection.ackNow) sendOwedAck(connection, now);
  return droppedLocally;
}

/**
 * The ACK owed for what arrived (or a delayed ACK): bare, or with TcpConfig.repeatFinInAcks a
 * repeat of our unacknowledged FIN at its own sequence number (BSD's tcp_output).
 */
export function sendOwedAck(connection: TcpConnection, now: number): void {
  if (connection.host.config.repeatFinInAcks && connection.finSent && seqLt(connection.sndUna, connection.sndNxt)) {
    connection.stats.increment('tcp.tx.finRepeated');
    transmitSegment(connection, now, seqAdd(connection.sndNxt, -1), TcpFlag.ACK | TcpFlag.FIN, NO_BYTES);
    return;
  }
  sendAck(connection, now);
}

/**
 * The delayed-ACK timer fired (RFC 1122 §4.2.3.2, RFC 5681 §4.2): the ACK held for a second
 * segment or a reply goes now, and the connection stops counting as interactive (quick-ack.ts).
 */
export function onDelayedAckTimer(connection: TcpConnection, now: number): void {
  connection.stats.increment('tcp.delayedAck.fired');
  connection.quickAcks.delayedAckFired();
  sendOwedAck(connection, now);
}

/**
 * After new data went out, or could not for want of cwnd: the flight and whether cwnd ran out
 * (less than a segment of it left) go into the congestion window's use (RFC 7661,
 * cwnd-validation.ts). Linux records at the same two moments (tcp_cwnd_validate at the end of
 * tcp_write_xmit).
 */
function recordWindowUse(connection: TcpConnection, cwnd: number, inPipe: number, sentNewData: boolean): void {
  const limited = inPipe + connection.sendMss > cwnd;
  if (!sentNewData && !(limited && connection.unsentBytes > 0)) return;
  connection.windowUse.recordTransmission(connection.sndUna, connection.sndNxt, connection.flightSize, limited);
}

/**
 * Sends an RFC 4821 path MTU probe if the search wants one now: one new-data segment of the
 * probe size, without segmentation offload so that it leaves whole. Returns its length, 0 when
 * none went, or -1 when new data should wait for the windows to take the probe.
 */
function sendMtuProbe(connection: TcpConnection, now: number, cwnd: number, inPipe: number): number {
  const mss = connection.sendMss;
  const unsentOffset = seqSub(connection.sndNxt, connection.sendBufferSeq);
  const unsent = connection.sendBuffer.length - unsentOffset;
  const decision = connection.mtuProbing.decide(now, unsent, Math.ceil(inPipe / mss), Math.floor(cwnd / mss));
  if (decision !== 'probe') return decision === 'wait' ? -1 : 0;
  const length = connection.mtuProbing.probeLength;
  const seq = connection.sndNxt;
  const push = connection.writeMarks.take(seqAdd(seq, length));
  transmitSegment(
    connection,
    now,
    seq,
    TcpFlag.ACK | (push ? TcpFlag.PSH : 0),
    connection.sendBuffer.read(unsentOffset, length),
    segmentOptions(connection, now),
  );
  connection.inFlight.push({ seq, length, syn: false, fin: false, push, sentAt: now, sentOrder: connection.transmissions++ });
  if (connection.firstUnackedSentAt === null) connection.firstUnackedSentAt = now;
  if (connection.rttSeq === null && !connection.timestamps.enabled) {
    connection.rttSeq = seq;
    connection.rttStartedAt = now;
  }
  connection.sndNxt = seqAdd(seq, length);
  connection.lastSendAt = now;
  connection.host.counters.txDataSegments.increment();
  connection.sendMemory.transmitted(seq, connection.sndNxt, length);
  connection.mtuProbing.sent(seq, length, now);
  return length;
}

/**
 * Linux's chrono accounting at the end of tcp_write_xmit (for TCP_INFO's rwnd_limited and
 * sndbuf_limited): data left unsent because its next segment did not fit the peer's window,
 * although the congestion window had room, is receive-window-limited time; all of it sent while
 * the congestion window was not what limited the sender and the application found the buffer
 * full is send-buffer-limited time (tcp_cwnd_validate).
 */
function chargeSenderTime(connection: TcpConnection, now: number, cwnd: number, inPipe: number, sentNewData: boolean): void {
  const info = connection.info;
  const unsent = connection.sendBuffer.length - seqSub(connection.sndNxt, connection.sendBufferSeq);
  if (unsent > 0) {
    const usableWindow = seqSub(seqAdd(connection.sndUna, connection.sndWnd), connection.sndNxt);
    if (usableWindow < Math.min(unsent, connection.sendMss) && inPipe < cwnd) info.chronoStart(Chrono.receiveWindowLimited, now);
    else info.chronoStop(Chrono.receiveWindowLimited, false, now);
    return;
  }
  if (!sentNewData) return;
  info.chronoStop(Chrono.receiveWindowLimited, connection.inFlight.length === 0, now);
  const state = connection.state;
  if (info.sendBufferFull && !congestionWindowLimited(connection) && (state === 'ESTABLISHED' || state === 'CLOSE-WAIT')) {
    info.chronoStart(Chrono.sendBufferLimited, now);
  }
}

function armPersistIfIdle(connection: TcpConnection, now: number): void {
  if (connection.persistDeadline !== Infinity) return;
  const interval = Math.min(connection.rtt.rto * 2 ** connection.persistBackoff, connection.host.config.maxRtoMs);
  connection.persistDeadline = now + interval;
}

/** After the application read data: send a window update if the window opened enough. */
export function windowUpdateAfterRead(connection: TcpConnection, now: number): void {
  if (!connection.synchronized || connection.peerFinReceived) return;
  linuxDataRead(connection, now); // TcpConfig.receiveWindowGrowth: autotuning
  const advertised = Math.max(0, seqSub(connection.rcvAdvertisedEdge, connection.rcvNxt));
  // Only what the window field can carry counts: a buffer larger than 65535 << shift cannot
  // open the window further, and an update that changes nothing is a wasted segment.
  const largest = MAX_WINDOW_FIELD * 2 ** connection.rcvWindowShift;
  const space = Math.min(connection.receiveWindowSpace(), largest);
  const mss = connection.advertisedMss || connection.sendMss;
  let update: boolean;
  if (connection.host.config.windowUpdate === 'linux') {
    // Linux's __tcp_cleanup_rbuf: only once the window still open is at most half the largest
    // it can be, and the read at least doubles it to a segment or more (a buffer smaller than a
    // segment counts as one, as __tcp_select_window bounds the MSS by it).
    const linux = linuxWindowUpdateBounds(connection); // TcpConfig.receiveWindowGrowth
    const clamp = linux?.clamp ?? Math.min(connection.receiveBufferSize, largest);
    const window = linux?.window ?? space;
    update = 2 * advertised <= clamp && window >= Math.min(mss, clamp) && window >= 2 * advertised;
  } else {
    // BSD's tcp_output: when the window grows by two segments or by half the buffer.
    update =
      space - advertised >= 2 * connection.sendMss ||
      (advertised === 0 && space >= connection.sendMss) ||
      space - advertised >= connection.receiveBufferSize / 2;
  }
  if (update) {
    connection.ackNow = true;
    if (!connection.processingSegment) transmitPending(connection, now);
  }
}
