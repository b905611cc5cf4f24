/**
 * The deadlines of one connection's timers (RFC 9293 §3.8, RFC 6298, RFC 8985 …): absolute
 * times in ms, Infinity when a timer is not armed. What each timer does is `timers.ts`'s.
 *
 * They read and write like plain fields, but a write that changes one is reported (once, until
 * the host says it has looked: `markDeadlinesSeen`). The layer keeps its connections ordered by
 * their earliest deadline, so that finding the next deadline and the due connections never
 * means visiting every connection, and it must hear of every change wherever it is made:
 * segment processing, user calls, socket options, tests.
 */
export abstract class TimerDeadlines {
  private retransmitAt = Infinity;
  private delayedAckAt = Infinity;
  private persistAt = Infinity;
  private keepaliveAt = Infinity;
  private timeWaitAt = Infinity;
  private finWait2At = Infinity;
  private rackAt = Infinity;
  private probeAt = Infinity;
  private pacingAt = Infinity;
  /** A change was reported and the host has not looked since. */
  private changeReported = false;

  /** Called on the first change after the host last looked. */
  protected abstract deadlinesChanged(): void;

  /** The host has read the deadlines (pollAt): the next change is reported again. */
  markDeadlinesSeen(): void {
    this.changeReported = false;
  }

  private changed(): void {
    if (this.changeReported) return;
    this.changeReported = true;
    this.deadlinesChanged();
  }

  /** Retransmission timer (RFC 6298 §5). */
  get retransmitDeadline(): number {
    return this.retransmitAt;
  }
  set retransmitDeadline(at: number) {
    if (at === this.retransmitAt) return;
    this.retransmitAt = at;
    this.changed();
  }

  /** Delayed ACK (RFC 1122 §4.2.3.2, RFC 5681 §4.2). */
  get delayedAckDeadline(): number {
    return this.delayedAckAt;
  }
  set delayedAckDeadline(at: number) {
    if (at === this.delayedAckAt) return;
    this.delayedAckAt = at;
    this.changed();
  }

  /** Persist timer: the next zero-window probe (RFC 9293 §3.8.6.1). */
  get persistDeadline(): number {
    return this.persistAt;
  }
  set persistDeadline(at: number) {
    if (at === this.persistAt) return;
    this.persistAt = at;
    this.changed();
  }

  /** Keepalive (RFC 1122 §4.2.3.6). */
  get keepaliveDeadline(): number {
    return this.keepaliveAt;
  }
  set keepaliveDeadline(at: number) {
    if (at === this.keepaliveAt) return;
    this.keepaliveAt = at;
    this.changed();
  }

  /** End of TIME-WAIT, 2·MSL after it began (RFC 9293 §3.10.8). */
  get timeWaitDeadline(): number {
    return this.timeWaitAt;
  }
  set timeWaitDeadline(at: number) {
    if (at === this.timeWaitAt) return;
    this.timeWaitAt = at;
    this.changed();
  }

  /** How long an orphaned connection may stay in FIN-WAIT-2. */
  get finWait2Deadline(): number {
    return this.finWait2At;
  }
  set finWait2Deadline(at: number) {
    if (at === this.finWait2At) return;
    this.finWait2At = at;
    this.changed();
  }

  /** RACK's reordering timer (RFC 8985 §6.2). */
  get rackDeadline(): number {
    return this.rackAt;
  }
  set rackDeadline(at: number) {
    if (at === this.rackAt) return;
    this.rackAt = at;
    this.changed();
  }

  /** Tail loss probe (RFC 8985 §7). */
  get probeDeadline(): number {
    return this.probeAt;
  }
  set probeDeadline(at: number) {
    if (at === this.probeAt) return;
    this.probeAt = at;
    this.changed();
  }

  /** Pacing: when the next send unit may leave (TcpConfig.pacing, pacing.ts). */
  get pacingDeadline(): number {
    return this.pacingAt;
  }
  set pacingDeadline(at: number) {
    if (at === this.pacingAt) return;
    this.pacingAt = at;
    this.changed();
  }

  /** Disarms every timer. */
  clearTimers(): void {
    this.retransmitDeadline = Infinity;
    this.delayedAckDeadline = Infinity;
    this.persistDeadline = Infinity;
    this.keepaliveDeadline = Infinity;
    this.timeWaitDeadline = Infinity;
    this.finWait2Deadline = Infinity;
    this.rackDeadline = Infinity;
    this.probeDeadline = Infinity;
    this.pacingDeadline = Infinity;
  }

  /** The earliest armed timer, or Infinity. */
  pollAt(): number {
    return Math.min(this.retransmitAt, this.delayedAckAt, this.persistAt, this.keepaliveAt, this.timeWaitAt, this.finWait2At, this.rackAt, this.probeAt, this.pacingAt);
  }
}
