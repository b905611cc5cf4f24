import type { TcpConnection } from './connection.js';

/**
 * The armed deadlines of a connection that has any: a separate record, so that a connection with
 * no timer armed (an idle one) holds none — eight numbers that are not small integers each take
 * a heap box of their own in V8.
 */
class ArmedDeadlines {
  retransmitAt = Infinity;
  delayedAckAt = Infinity;
  persistAt = Infinity;
  keepaliveAt = Infinity;
  finWait2At = Infinity;
  rackAt = Infinity;
  probeAt = Infinity;
  pacingAt = Infinity;
}

/** The deadlines of every connection with no timer armed: shared, so never written (TimerDeadlines.armedForWrite). */
const NONE_ARMED = new ArmedDeadlines();

/**
 * The deadlines of one connection's timers (RFC 9293 §3.8, RFC 6298, RFC 8985 …): absolute
 * times in ms, Infinity when a timer is not armed, and the arming rules that only compute and
 * set one (`armRetransmitTimer`, `armDelayedAck`, `armProbeTimer`). What a timer does when it
 * fires is its owner's; `timers.ts` only dispatches the due ones.
 *
 * They read and write like plain fields, but a write that changes one is reported (once, until
 * the host says it has looked: `markDeadlinesSeen`). The layer keeps its connections ordered by
 * their earliest deadline, so that finding the next deadline and the due connections never
 * means visiting every connection, and it must hear of every change wherever it is made:
 * segment processing, user calls, socket options, tests.
 */
export abstract class TimerDeadlines {
  /** The deadlines, NONE_ARMED (shared, never written) while no timer is armed. */
  private armed: ArmedDeadlines = NONE_ARMED;
  /** A change was reported and the host has not looked since. */
  private changeReported = false;

  /** Called on the first change after the host last looked. */
  protected abstract deadlinesChanged(): void;

  /**
   * The host has read the deadlines (pollAt): the next change is reported again. With no timer
   * left armed the connection is at rest: the deadline record goes, and `atRest` may release
   * what else it no longer needs.
   */
  markDeadlinesSeen(): void {
    this.changeReported = false;
    if (this.armed !== NONE_ARMED && this.pollAt() === Infinity) {
      this.armed = NONE_ARMED;
      this.atRest();
    }
  }

  /**
   * After work that arms no timer (a segment processed, a read): if none is armed the connection
   * rests, and what it made meanwhile may go too.
   */
  restIfIdle(): void {
    if (this.armed === NONE_ARMED) this.atRest();
  }

  /** Whether the connection holds a deadline record of its own (a timer is armed, or was until the host last looked). */
  protected get holdsDeadlines(): boolean {
    return this.armed !== NONE_ARMED;
  }

  /** No timer is armed any more (after the host looked): state kept only while busy may be released. */
  protected atRest(): void {}

  private changed(): void {
    if (this.changeReported) return;
    this.changeReported = true;
    this.deadlinesChanged();
  }

  /** The record to write a deadline into: made when the first timer is armed. */
  private armedForWrite(): ArmedDeadlines {
    if (this.armed === NONE_ARMED) this.armed = new ArmedDeadlines();
    return this.armed;
  }

  /** Retransmission timer (RFC 6298 §5). */
  get retransmitDeadline(): number {
    return this.armed.retransmitAt;
  }
  set retransmitDeadline(at: number) {
    if (at === this.armed.retransmitAt) return;
    this.armedForWrite().retransmitAt = at;
    this.changed();
  }

  /** Delayed ACK (RFC 1122 §4.2.3.2, RFC 5681 §4.2). */
  get delayedAckDeadline(): number {
    return this.armed.delayedAckAt;
  }
  set delayedAckDeadline(at: number) {
    if (at === this.armed.delayedAckAt) return;
    this.armedForWrite().delayedAckAt = at;
    this.changed();
  }

  /** Persist timer: the next zero-window probe (RFC 9293 §3.8.6.1). */
  get persistDeadline(): number {
    return this.armed.persistAt;
  }
  set persistDeadline(at: number) {
    if (at === this.armed.persistAt) return;
    this.armedForWrite().persistAt = at;
    this.changed();
  }

  /** Keepalive (RFC 1122 §4.2.3.6). */
  get keepaliveDeadline(): number {
    return this.armed.keepaliveAt;
  }
  set keepaliveDeadline(at: number) {
    if (at === this.armed.keepaliveAt) return;
    this.armedForWrite().keepaliveAt = at;
    this.changed();
  }

  /** How long an orphaned connection may stay in FIN-WAIT-2. */
  get finWait2Deadline(): number {
    return this.armed.finWait2At;
  }
  set finWait2Deadline(at: number) {
    if (at === this.armed.finWait2At) return;
    this.armedForWrite().finWait2At = at;
    this.changed();
  }

  /** RACK's reordering timer (RFC 8985 §6.2). */
  get rackDeadline(): number {
    return this.armed.rackAt;
  }
  set rackDeadline(at: number) {
    if (at === this.armed.rackAt) return;
    this.armedForWrite().rackAt = at;
    this.changed();
  }

  /** Tail loss probe (RFC 8985 §7). */
  get probeDeadline(): number {
    return this.armed.probeAt;
  }
  set probeDeadline(at: number) {
    if (at === this.armed.probeAt) return;
    this.armedForWrite().probeAt = at;
    this.changed();
  }

  /** Pacing: when the next send unit may leave (TcpConfig.pacing, pacing.ts). */
  get pacingDeadline(): number {
    return this.armed.pacingAt;
  }
  set pacingDeadline(at: number) {
    if (at === this.armed.pacingAt) return;
    this.armedForWrite().pacingAt = at;
    this.changed();
  }

  /** Disarms every timer. */
  clearTimers(): void {
    this.retransmitDeadline = Infinity;
    this.delayedAckDeadline = Infinity;
    this.persistDeadline = Infinity;
    this.keepaliveDeadline = Infinity;
    this.finWait2Deadline = Infinity;
    this.rackDeadline = Infinity;
    this.probeDeadline = Infinity;
    this.pacingDeadline = Infinity;
  }

  /** The earliest armed timer, or Infinity. */
  pollAt(): number {
    const armed = this.armed;
    if (armed === NONE_ARMED) return Infinity;
    return Math.min(armed.retransmitAt, armed.delayedAckAt, armed.persistAt, armed.keepaliveAt, armed.finWait2At, armed.rackAt, armed.probeAt, armed.pacingAt);
  }
}

/** RFC 8985 §7.2 WCDelAckT: the worst-case delayed-ACK time assumed for a lone segment. */
const WORST_CASE_DELAYED_ACK_MS = 200;

/** Linux's TCP_TIMEOUT_MIN added to 2·SRTT (tcp_schedule_loss_probe). */
const PROBE_TIMER_SLACK_MS = 2;

/**
 * How soon a transmission the interface's full transmit queue dropped is tried again, without
 * backing off: the congestion is our own, not the path's (Linux's TCP_RESOURCE_PROBE_INTERVAL).
 */
export const LOCAL_CONGESTION_RETRY_MS = 500;

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

/** SYN-SENT or SYN-RECEIVED: our SYN or SYN-ACK is not acknowledged yet. */
function isOpening(connection: TcpConnection): boolean {
  return connection.state === 'SYN-SENT' || connection.state === 'SYN-RECEIVED';
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
