/**
 * TCP's timers as deadlines on the connection, fired by `runTimers(now)`: retransmission
 * (RFC 6298), delayed ACK (RFC 1122 §4.2.3.2, RFC 5681 §4.2), persist / zero-window probe
 * (RFC 9293 §3.8.6.1), keepalive (RFC 1122 §4.2.3.6, its owner keepalive.ts), TIME-WAIT (RFC 9293 §3.10.8), the
 * orphaned FIN-WAIT-2 timeout, RACK's reordering timer and the tail loss probe (RFC 8985).
 */
import { NO_BYTES } from '../core/bytes.js';
import type { TcpConnection } from './connection.js';
import { retransmit, sendOwedAck, sendSyn, sendSynAck, transmitPending, transmitSegment } from './output.js';
import { pacingUnitSent } from './pacing.js';
import { detectLossByRack } from './rack.js';
import { enterRecovery, retransmissionTimeout, retransmitTimerBackoff } from './recovery.js';
import { seqAdd } from './seq.js';
import { TcpFlag } from './tcp-packet.js';

/** RFC 8985 §7.2 WCDelAckT: the worst-case delayed-ACK time assumed for a lone segment. */
const WORST_CASE_DELAYED_ACK_MS = 200;

/** Linux's TCP_TIMEOUT_MIN added to 2·SRTT (tcp_schedule_loss_probe). */
const PROBE_TIMER_SLACK_MS = 2;

/**
 * How soon a transmission the interface's full transmit queue dropped is tried again, without
 * backing off: the congestion is our own, not the path's (Linux's TCP_RESOURCE_PROBE_INTERVAL).
 */
const LOCAL_CONGESTION_RETRY_MS = 500;

/** (Re)starts the retransmission timer: now + RTO (RFC 6298 §5.1, §5.3). */
export function armRetransmitTimer(connection: TcpConnection, now: number): void {
  let deadline = now + connection.rtt.rto;
  // RFC 5482: with a user timeout the timer also fires when it runs out, so the connection
  // fails then and not at the next backed-off RTO (Linux's tcp_clamp_rto_to_user_timeout).
  const userTimeout = connection.options.userTimeoutMs;
  if (userTimeout > 0 && (connection.synchronized || connection.state === 'SYN-SENT') && connection.firstUnackedSentAt !== null) {
    deadline = Math.min(deadline, Math.max(now, connection.firstUnackedSentAt + userTimeout));
  }
  // A handshake time limit (FreeBSD's keepinit) ends the opening exactly when it runs out.
  const handshakeTimeout = connection.options.handshakeTimeoutMs;
  if (handshakeTimeout > 0 && isOpening(connection) && connection.firstUnackedSentAt !== null) {
    deadline = Math.min(deadline, Math.max(now, connection.firstUnackedSentAt + handshakeTimeout));
  }
  connection.retransmitDeadline = deadline;
}

/** Starts the delayed-ACK timer unless it runs already. */
export function armDelayedAck(connection: TcpConnection, now: number): void {
  if (connection.delayedAckDeadline === Infinity) connection.delayedAckDeadline = now + connection.host.config.delayedAckMs;
}

/**
 * Arms the tail loss probe (RFC 8985 §7.2) after new data left or new data was acknowledged:
 * PTO = 2·SRTT, plus WCDelAckT when a single segment is out (its ACK may be delayed), never later
 * than the RTO. Only with SACK, outside loss recovery, and with nothing SACKed: a SACKed segment
 * already lets RACK find the losses below it (§7.2's conditions; Linux arms it only in its Open
 * and CWR states).
 */
export function armProbeTimer(connection: TcpConnection, now: number): void {
  const queue = connection.inFlight;
  if (!connection.host.config.tailLossProbe || !connection.sackEnabled || !connection.recovery.open || queue.length === 0 || queue.sackedCount > 0) {
    connection.probeDeadline = Infinity;
    return;
  }
  const srtt = connection.rtt.srtt;
  // With more than one segment out Linux adds two timer ticks (TCP_TIMEOUT_MIN, 2 ms) so that an
  // ACK due at 2·SRTT is not beaten; with one, WCDelAckT covers that and more.
  const pto = srtt === undefined ? 1000 : 2 * srtt + (queue.length === 1 ? WORST_CASE_DELAYED_ACK_MS : PROBE_TIMER_SLACK_MS);
  connection.probeDeadline = Math.min(now + pto, connection.retransmitDeadline);
}

/** Enters TIME-WAIT (or restarts its 2·MSL timer). */
export function startTimeWait(connection: TcpConnection, now: number): void {
  connection.setState('TIME-WAIT');
  connection.clearTimers();
  connection.timeWaitDeadline = now + connection.host.config.timeWaitMs;
}

/** Fires every timer due at `now`, in a fixed order. */
export function runTimers(connection: TcpConnection, now: number): void {
  if (connection.timeWaitDeadline <= now) {
    connection.stats.increment('tcp.timeWait.expired');
    connection.closeWithError(null);
    return;
  }
  if (connection.finWait2Deadline <= now) {
    connection.stats.increment('tcp.finWait2.timeout');
    connection.closeWithError(null);
    return;
  }
  // The probe timer stands in for the RTO while it is armed (RFC 8985 §7.2 caps the PTO at the
  // RTO; §7.3 re-arms the RTO after the probe): when both fall due together, the probe goes and
  // the RTO starts over from it (Linux has one timer for both, so it never sees both due).
  if (connection.probeDeadline <= now && connection.probeDeadline <= connection.retransmitDeadline) onProbeTimer(connection, now);
  if (connection.retransmitDeadline <= now) onRetransmitTimer(connection, now);
  if (isClosed(connection)) return;
  if (connection.rackDeadline <= now) {
    connection.rackDeadline = Infinity;
    if (detectLossByRack(connection, now)) {
      enterRecovery(connection, now);
      transmitPending(connection, now);
    }
  }
  if (connection.pacingDeadline <= now) {
    // The pacing schedule lets the next send unit go (TcpConfig.pacing).
    connection.pacingDeadline = Infinity;
    transmitPending(connection, now);
  }
  if (connection.probeDeadline <= now) onProbeTimer(connection, now);
  if (connection.persistDeadline <= now) onPersistTimer(connection, now);
  if (connection.keepaliveDeadline <= now) connection.keepalive.onTimer(now);
  if (isClosed(connection)) return;
  if (connection.delayedAckDeadline <= now) {
    connection.stats.increment('tcp.delayedAck.fired');
    connection.quickAcks.delayedAckFired();
    sendOwedAck(connection, now);
  }
}

/** Read through a function so the compiler does not narrow the state across calls that change it. */
function isClosed(connection: TcpConnection): boolean {
  return connection.state === 'CLOSED';
}

/** SYN-SENT or SYN-RECEIVED: our SYN or SYN-ACK is not acknowledged yet. */
function isOpening(connection: TcpConnection): boolean {
  return connection.state === 'SYN-SENT' || connection.state === 'SYN-RECEIVED';
}

function onRetransmitTimer(connection: TcpConnection, now: number): void {
  connection.retransmitDeadline = Infinity;
  const config = connection.host.config;
  if (connection.inFlight.length === 0) return;
  if (connection.state === 'SYN-SENT' || connection.state === 'SYN-RECEIVED') {
    const limit = connection.state === 'SYN-SENT' ? config.synRetries : config.synAckRetries;
    // RFC 5482 on an active open too (as Linux): connect gives up when the user timeout has
    // passed since the first SYN, whatever the retry count.
    const userTimeout = connection.state === 'SYN-SENT' ? connection.options.userTimeoutMs : 0;
    const waited = connection.firstUnackedSentAt === null ? 0 : now - connection.firstUnackedSentAt;
    const handshakeTimeout = connection.options.handshakeTimeoutMs;
    if (connection.timeoutCount >= limit || (userTimeout > 0 && waited >= userTimeout) || (handshakeTimeout > 0 && waited >= handshakeTimeout)) {
      connection.stats.increment('tcp.connect.timeout');
      // RFC 1122 §4.2.3.9: a soft ICMP error seen meanwhile says more than ETIMEDOUT (Linux
      // reports sk_err_soft the same way in tcp_write_err).
      connection.closeWithError(connection.softError ?? 'ETIMEDOUT');
      return;
    }
    connection.info.rtoFired(connection.timeoutCount === 0, now);
    connection.info.retransmitted(0, 1);
    connection.timeoutCount++;
    connection.rtt.backoff();
    connection.stats.increment(connection.state === 'SYN-SENT' ? 'tcp.tx.synRetransmits' : 'tcp.tx.synAckRetransmits');
    const handshake = connection.inFlight.at(0);
    handshake.retransmits++;
    handshake.sentAt = now;
    handshake.sentOrder = connection.transmissions++;
    if (connection.state === 'SYN-SENT') sendSyn(connection, now);
    else sendSynAck(connection, now);
    armRetransmitTimer(connection, now);
    return;
  }
  const userTimeout = connection.options.userTimeoutMs;
  const stalledFor = connection.firstUnackedSentAt === null ? 0 : now - connection.firstUnackedSentAt;
  if (connection.timeoutCount >= config.dataRetries || (userTimeout > 0 && stalledFor >= userTimeout)) {
    // RFC 9293 §3.8.3 R2 / RFC 5482: give up and report the failure.
    connection.stats.increment('tcp.retransmit.giveUp');
    connection.closeWithError(connection.softError ?? 'ETIMEDOUT');
    return;
  }
  retransmissionTimeout(connection, now);
  const first = connection.inFlight.firstLost();
  connection.probeDeadline = Infinity;
  if (first) {
    // A timeout's retransmission goes at once, and the pacing schedule counts it (as Linux's
    // tcp_retransmit_timer, which does not wait for the pacing timer).
    if (!retransmit(connection, first, now)) {
      connection.stats.increment('tcp.rto.droppedLocally');
      connection.retransmitDeadline = now + LOCAL_CONGESTION_RETRY_MS;
      return;
    }
    pacingUnitSent(connection, first.length, now);
  }
  retransmitTimerBackoff(connection);
  armRetransmitTimer(connection, now);
}

/** RFC 8985 §7.3: send one new segment if possible, else retransmit the last one. */
function onProbeTimer(connection: TcpConnection, now: number): void {
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

/**
 * The probe timer, armed when data waits with nothing in flight. With the window closed, a
 * zero-window probe (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17): an ACK with SEG.SEQ = SND.UNA−1
 * makes the peer answer with its current window. Backs off exponentially and never gives up
 * while the peer answers (each answer resets `timeoutCount`) — unless a user timeout is set,
 * which bounds the whole episode. With the window open, the data itself goes (a cork held it,
 * or the interface's full transmit queue dropped it); while the queue keeps dropping it, it is
 * tried every 500 ms, each try counted as a probe (as Linux's tcp_send_probe0), under the same
 * limits.
 */
function onPersistTimer(connection: TcpConnection, now: number): void {
  connection.persistDeadline = Infinity;
  if (connection.unsentBytes <= 0 || connection.flightSize > 0) return;
  connection.zeroWindowSince ??= now;
  const userTimeout = connection.options.userTimeoutMs;
  if (connection.timeoutCount >= connection.host.config.dataRetries || (userTimeout > 0 && now - connection.zeroWindowSince >= userTimeout)) {
    connection.stats.increment('tcp.persist.giveUp');
    connection.closeWithError(connection.softError ?? 'ETIMEDOUT');
    return;
  }
  if (connection.sndWnd > 0) {
    // The window is open but a cork (TCP_CORK, MSG_MORE) held a partial segment, or the
    // transmit queue dropped the data, with nothing in flight: send it, with PSH (Linux's
    // tcp_write_wakeup).
    connection.stats.increment('tcp.cork.probeSends');
    if (!transmitPending(connection, now, { wakeup: true })) {
      connection.zeroWindowSince = null;
      connection.timeoutCount = 0;
      return;
    }
    connection.stats.increment('tcp.tx.resourceProbes');
    connection.timeoutCount++;
    connection.persistDeadline = userTimeout > 0 ? Math.min(now + LOCAL_CONGESTION_RETRY_MS, Math.max(now, connection.zeroWindowSince + userTimeout)) : now + LOCAL_CONGESTION_RETRY_MS;
    return;
  }
  connection.stats.increment('tcp.tx.windowProbes');
  connection.timeoutCount++;
  transmitSegment(connection, now, seqAdd(connection.sndUna, -1), TcpFlag.ACK, NO_BYTES);
  connection.persistBackoff++;
  const interval = Math.min(connection.rtt.rto * 2 ** connection.persistBackoff, connection.host.config.maxRtoMs);
  // With a user timeout the timer also fires when it runs out (as the retransmission timer).
  connection.persistDeadline = userTimeout > 0 ? Math.min(now + interval, Math.max(now, connection.zeroWindowSince + userTimeout)) : now + interval;
}
