/**
 * A link that lends each received frame for the duration of the stack's receive only, as a
 * device reading into fixed memory does (TunLink): the frame is copied into one scratch buffer,
 * handed up, and overwritten with garbage as soon as the receiver returns. Whatever the stack
 * kept a view of instead of copying then reads as garbage.
 */
import { LinkDecorator, type FrameReceiver, type Link } from '../../src/link/link.js';

/** Wraps `inner`: frames from it reach the receiver in reused memory, scribbled over after. */
export class LendingLink extends LinkDecorator {
  private scratch = new Uint8Array(2048);
  /** Frames lent (and then overwritten). */
  lent = 0;

  constructor(inner: Link) {
    super(inner);
  }

  override setReceiver(receiver: FrameReceiver): void {
    this.inner.setReceiver((frame, now, checksumTrusted) => {
      if (frame.length > this.scratch.length) this.scratch = new Uint8Array(Math.max(frame.length, 2 * this.scratch.length));
      const lent = this.scratch.subarray(0, frame.length);
      lent.set(frame);
      try {
        receiver(lent, now, checksumTrusted);
      } finally {
        this.lent++;
        lent.fill(0xa5);
      }
    });
  }
}
