/**
 * Time for the drivers. The core never reads a clock: `stack.poll(now)` is given the time.
 * A Clock is what a driver consults to decide that `now`. Times are milliseconds as numbers.
 */
export interface Clock {
  /** Milliseconds since this clock's epoch. */
  now(): number;
}

/** Real monotonic time, starting near 0 when constructed. Only drivers use it. */
export class SystemClock implements Clock {
  private readonly origin = performance.now();
  now(): number {
    return performance.now() - this.origin;
  }
}

/** Virtual time that moves only when told to: tests, the demo, the virtual network. */
export class ManualClock implements Clock {
  /** A clock standing at `time` (ms) until set or advanced. */
  constructor(private time = 0) {}
  now(): number {
    return this.time;
  }
  /** Moves time forward by `ms` (never backwards). */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('ManualClock cannot go backwards');
    this.time += ms;
  }
  /** Moves time to `ms`, which must not be in the past. */
  set(ms: number): void {
    if (ms < this.time) throw new RangeError('ManualClock cannot go backwards');
    this.time = ms;
  }
}
