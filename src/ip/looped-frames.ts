/**
 * This host's own broadcasts and multicasts on their way back in (both IP layers): Linux loops
 * a copy of each to the host, which takes it in as if it had arrived on the interface it left
 * by — at the stack's next poll here, never inside the send that made it.
 */
import type { NetworkInterface } from './interface.js';

/** Copies of datagrams sent, waiting to come back in on their interface. */
export class LoopedFrames {
  private frames: Array<{ readonly iface: NetworkInterface; readonly frame: Uint8Array }> = [];

  /** Keeps a copy of `frame` (the sender's memory may be reused) to come back in on `iface`. */
  add(iface: NetworkInterface, frame: Uint8Array): void {
    this.frames.push({ iface, frame: frame.slice() });
  }

  /** True when copies wait for the next poll. */
  get waiting(): boolean {
    return this.frames.length > 0;
  }

  /** Hands every copy kept so far to `input`, in the order sent; copies the input loops again wait for the next call. */
  takeIn(input: (iface: NetworkInterface, frame: Uint8Array) => void): void {
    const frames = this.frames;
    this.frames = [];
    for (const { iface, frame } of frames) input(iface, frame);
  }
}
