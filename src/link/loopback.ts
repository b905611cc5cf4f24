import type { FrameReceiver, Link } from './link.js';

/**
 * The loopback link: what a stack transmits on it comes back to the same stack at the next
 * poll (not synchronously, so that a reply is never processed inside the send that caused it).
 */
export class LoopbackLink implements Link {
  readonly medium = 'ip' as const;
  private receiver: FrameReceiver | null = null;
  private readonly queue: Array<{ readonly frame: Uint8Array; readonly time: number }> = [];

  /** A loopback link named `name` with MTU `mtu`. */
  constructor(
    readonly name = 'lo',
    readonly mtu = 65536,
  ) {}

  transmit(frame: Uint8Array, now: number): void {
    this.queue.push({ frame, time: now });
  }

  setReceiver(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }

  pollAt(): number {
    return this.queue.length > 0 ? this.queue[0].time : Infinity;
  }

  poll(now: number): void {
    while (this.queue.length > 0 && this.queue[0].time <= now) {
      const { frame } = this.queue.shift()!;
      this.receiver?.(frame, now);
    }
  }
}
