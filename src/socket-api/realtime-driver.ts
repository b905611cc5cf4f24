/**
 * The real-time driver: runs one stack against the wall clock inside Node's event loop.
 * One timer, re-armed at `stack.pollAt()`; a poll as soon as possible after anything queues
 * output (`stack.onWake`) or a frame arrives from a real device. The stack itself stays
 * I/O-free: this is the only place that turns its deadlines into timers.
 */
import { SystemClock, type Clock } from '../core/clock.js';
import type { Stack } from './stack.js';

/** Drives a Stack in real time. */
export class RealtimeDriver {
  private timer: NodeJS.Timeout | null = null;
  private timerDeadline = Infinity;
  private pollQueued = false;
  /** This turn of the event loop had its poll after ticks (pollSoon); later ones wait for the next turn. */
  private tickPollTaken = false;
  /** A device's batch is being handed to the stack (beginBatch): the poll that ends it is coming. */
  private inBatch = false;
  private running = false;

  /** Drives `stack` on `clock` (the system clock by default) once started. */
  constructor(
    /** The stack this driver runs. */
    readonly stack: Stack,
    /** Where time comes from: the system clock unless a test gives another. */
    readonly clock: Clock = new SystemClock(),
  ) {}

  /** Starts driving: the stack's timers fire in real time from now on. */
  start(): this {
    if (this.running) return this;
    this.running = true;
    this.stack.setTimeSource(this.clock);
    this.stack.onWake = () => this.pollSoon();
    this.pollSoon();
    return this;
  }

  /** Stops every timer; the stack keeps its state. */
  stop(): void {
    this.running = false;
    this.inBatch = false;
    this.stack.onWake = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDeadline = Infinity;
  }

  /**
   * A device is about to hand the stack a batch of frames and will call `endBatch` after the
   * last: until then pollSoon schedules nothing, since the poll that ends the batch sends every
   * reply the batch queued. Without this each batch that queued output (an ACK, an echo) was
   * polled twice — once at its end and again from the ticks pollSoon had queued, finding
   * nothing — and left an immediate behind that cost the event loop one more turn.
   */
  beginBatch(): void {
    this.inBatch = true;
  }

  /** The batch begun with beginBatch is over: polls now, so its replies leave together. */
  endBatch(): void {
    this.inBatch = false;
    this.pollNow();
  }

  /** Hands a frame from a device to the stack at the current time, then polls. */
  receive(interfaceName: string, frame: Uint8Array): void {
    this.stack.receive(interfaceName, frame, this.clock.now());
    this.pollSoon();
  }

  /**
   * Schedules a poll soon, coalescing repeated requests: the first of a turn of the event loop
   * once the callback under way and its ticks are done (a response written while a batch of
   * requests is handled leaves in the same turn, as a kernel socket's write goes out within the
   * write call), later ones on the next turn, so that a stack answering itself can never keep
   * the loop from its I/O and timers.
   */
  pollSoon(): void {
    if (!this.running || this.pollQueued || this.inBatch) return;
    this.pollQueued = true;
    if (this.tickPollTaken) {
      setImmediate(this.queuedPoll);
      return;
    }
    this.tickPollTaken = true;
    process.nextTick(this.queuedPoll);
    setImmediate(this.turnEnded);
  }

  private readonly queuedPoll = (): void => {
    // A poll that ran since (pollNow) has done this one's work.
    if (this.pollQueued) this.pollNow();
  };

  private readonly turnEnded = (): void => {
    this.tickPollTaken = false;
  };

  /** Polls at the current time and re-arms the timer for the next deadline. */
  pollNow(): void {
    if (!this.running) return;
    this.pollQueued = false;
    this.stack.poll(this.clock.now());
    this.arm();
  }

  /**
   * Sets the timer for the stack's next deadline — unless one is set already for no later: that
   * one wakes a poll that finds nothing due and arms again then. The deadlines of a busy
   * connection move later with almost every segment (the delayed ACK, the retransmission timer
   * pushed back by each ACK), and moving the timer with them cost a clearTimeout and a
   * setTimeout per poll; waking early costs one poll per deadline instead.
   */
  private arm(): void {
    const next = this.stack.pollAt();
    if (this.timer && this.timerDeadline <= next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDeadline = next;
    if (next === Infinity) return;
    const delay = Math.max(0, Math.ceil(next - this.clock.now()));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDeadline = Infinity;
      this.pollNow();
    }, delay);
    // Timers alone do not keep the process alive: sockets and servers hold the ref (as in Node).
    this.timer.unref();
  }
}
