/**
 * The idle timer behind `socket.setTimeout(ms)`: fires once after `ms` without activity, and
 * activity after it fired arms it again (Node refreshes its timer the same way). It runs in the
 * stack's time (`NodeModuleContext.after`), so on the virtual network it is virtual too, and
 * activity only records a time instead of rescheduling a timer for every read and write.
 */
import type { NodeModuleContext } from './node-support.js';

/** An idle timeout in the stack's time. */
export class IdleTimer {
  #ms = 0;
  #lastActivity = 0;
  #cancel: (() => void) | null = null;

  constructor(
    private readonly context: NodeModuleContext,
    private readonly onIdle: () => void,
  ) {}

  /** Fires after `ms` of inactivity from now on (ms > 0). */
  start(ms: number): void {
    this.stop();
    this.#ms = ms;
    this.#lastActivity = this.context.now();
    this.#arm(this.#lastActivity + ms);
  }

  /** Turns the timeout off. */
  stop(): void {
    this.#ms = 0;
    this.#cancel?.();
    this.#cancel = null;
  }

  /** Records activity: the timeout counts from now. */
  touch(): void {
    if (this.#ms === 0) return;
    this.#lastActivity = this.context.now();
    if (!this.#cancel) this.#arm(this.#lastActivity + this.#ms);
  }

  #arm(at: number): void {
    this.#cancel = this.context.after(Math.max(0, at - this.context.now()), () => {
      this.#cancel = null;
      if (this.#ms === 0) return;
      const due = this.#lastActivity + this.#ms;
      if (this.context.now() < due) this.#arm(due);
      else this.onIdle();
    });
  }
}
