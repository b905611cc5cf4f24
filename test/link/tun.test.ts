/**
 * TunLink over a fake addon that plays the kernel's side of the fd: batches handed to the
 * receiver, the bounded write queue under EAGAIN, errors, close. (The real device: test/interop.)
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { NativeDevice, NativeTunAddon } from '../../src/link/native.js';
import { TunLink } from '../../src/link/tun.js';

const EAGAIN = -11;

/** A fake fd: records writes, refuses them while `full`, and delivers batches on demand. */
class FakeKernel implements NativeTunAddon {
  readonly maxBatch = 256;
  readonly written: number[][] = [];
  full = false;
  failWith = 0;
  wantsWritable = false;
  closed = false;
  private onPackets: ((buffer: Buffer | null, count: number) => void) | null = null;
  private onWritable: (() => void) | null = null;
  private ends: Int32Array | null = null;

  open(name: string): NativeDevice {
    return { handle: { fake: true }, name: name || 'tun9' };
  }
  start(_handle: unknown, onPackets: (buffer: Buffer | null, count: number) => void, onWritable: () => void, ends: Int32Array): void {
    this.onPackets = onPackets;
    this.onWritable = onWritable;
    this.ends = ends;
  }
  write(_handle: unknown, packet: Uint8Array): number {
    if (this.failWith) return this.failWith;
    if (this.full) return EAGAIN;
    this.written.push([...packet]);
    return packet.length;
  }
  wantWritable(_handle: unknown, yes: boolean): void {
    this.wantsWritable = yes;
  }
  setRef(): void {}
  close(): void {
    this.closed = true;
  }

  /** The kernel has these packets for us: one wake-up, one batch. */
  deliver(packets: number[][]): void {
    let end = 0;
    packets.forEach((packet, i) => (this.ends![i] = end += packet.length));
    this.onPackets!(Buffer.from(packets.flat()), packets.length);
  }
  /** The fd became writable (the addon calls back once per request). */
  drain(): void {
    this.full = false;
    if (this.wantsWritable) {
      this.wantsWritable = false;
      this.onWritable!();
    }
  }
  readError(errno: number): void {
    this.onPackets!(null, errno);
  }
}

function open(options: { writeQueueLimit?: number } = {}) {
  const kernel = new FakeKernel();
  const clock = new ManualClock(5);
  const link = TunLink.open({ name: 'tunX', addon: kernel, clock, ...options });
  return { kernel, clock, link };
}

describe('TunLink', () => {
  it('hands a batch to the receiver packet by packet, as plain Uint8Arrays at one time, then calls onBatch once', () => {
    const { kernel, clock, link } = open();
    const got: Array<{ bytes: number[]; now: number; isBuffer: boolean }> = [];
    let batches = 0;
    link.setReceiver((frame, now) => got.push({ bytes: [...frame], now, isBuffer: Buffer.isBuffer(frame) }));
    link.onBatch = () => batches++;
    clock.advance(10);
    kernel.deliver([[0x45, 1, 2], [0x45, 3], [0x45, 4, 5, 6]]);
    expect(got.map((g) => g.bytes)).toEqual([[0x45, 1, 2], [0x45, 3], [0x45, 4, 5, 6]]);
    expect(got.every((g) => g.now === 15 && !g.isBuffer)).toBe(true);
    expect(batches).toBe(1);
    expect(link.counters).toMatchObject({ rxPackets: 3, rxBatches: 1, rxBytes: 9 });
    expect(link.medium).toBe('ip');
    expect(link.name).toBe('tunX');
  });

  it('queues frames while the fd refuses writes (EAGAIN), asks for writable, and flushes them in order', () => {
    const { kernel, link } = open();
    let drained = 0;
    link.onDrain = () => drained++;
    link.transmit(new Uint8Array([1]), 0);
    kernel.full = true;
    link.transmit(new Uint8Array([2]), 0);
    kernel.full = false; // even if the fd could take it now, [3] must not overtake [2]
    link.transmit(new Uint8Array([3]), 0);
    expect(kernel.written).toEqual([[1]]);
    expect(link.queuedFrames).toBe(2);
    expect(kernel.wantsWritable).toBe(true);
    kernel.drain();
    expect(kernel.written).toEqual([[1], [2], [3]]);
    expect(link.queuedFrames).toBe(0);
    expect(drained).toBe(1);
    expect(link.counters).toMatchObject({ txPackets: 3, txQueued: 1, txDropped: 0 });
  });

  it('asks for writable again when the fd fills up halfway through a flush', () => {
    const { kernel, link } = open();
    kernel.full = true;
    for (let i = 1; i <= 3; i++) link.transmit(new Uint8Array([i]), 0);
    let writes = 0;
    const write = kernel.write.bind(kernel);
    kernel.write = (handle, packet) => (++writes === 2 ? EAGAIN : write(handle, packet));
    kernel.drain();
    expect(kernel.written).toEqual([[1]]);
    expect(kernel.wantsWritable).toBe(true);
    kernel.drain();
    expect(kernel.written).toEqual([[1], [2], [3]]);
  });

  it('drops and counts frames beyond the queue bound, as a full qdisc would', () => {
    const { kernel, link } = open({ writeQueueLimit: 2 });
    kernel.full = true;
    for (let i = 1; i <= 5; i++) link.transmit(new Uint8Array([i]), 0);
    expect(link.queuedFrames).toBe(2);
    expect(link.counters.txDropped).toBe(3);
    kernel.drain();
    expect(kernel.written).toEqual([[1], [2]]);
  });

  it('counts other write errors and reports them; a read error is reported once with its errno', () => {
    const { kernel, link } = open();
    const errors: NodeJS.ErrnoException[] = [];
    link.onError = (error) => errors.push(error);
    kernel.failWith = -5;
    link.transmit(new Uint8Array([1]), 0);
    expect(link.counters.txErrors).toBe(1);
    kernel.readError(-77);
    expect(errors.map((e) => [e.syscall, e.code, e.errno])).toEqual([
      ['write', 'EIO', -5],
      ['read', 'EBADFD', -77],
    ]);
  });

  it('after close: nothing is written, late batches are ignored, and the fd is closed once', () => {
    const { kernel, link } = open();
    const got: Uint8Array[] = [];
    link.setReceiver((frame) => got.push(frame));
    link.close();
    link.close();
    link.transmit(new Uint8Array([1]), 0);
    kernel.deliver([[0x45]]);
    expect(kernel.written).toEqual([]);
    expect(got).toEqual([]);
    expect(kernel.closed).toBe(true);
    expect(link.isClosed).toBe(true);
  });
});
