import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { INITIAL_STORAGE, SendBuffer, SendStoragePool } from '../../src/tcp/send-buffer.js';

/** Bytes start, start+1, … (mod 256), so any misplaced byte shows. */
function ramp(length: number, start = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (start + i) & 0xff;
  return out;
}

/**
 * A full ring of `capacity` holding ramp(length) whose head sits at storage index `headAt`, so
 * the data runs to the end of storage and wraps on from index 0.
 */
function wrappedBuffer(capacity: number, headAt: number, length: number): SendBuffer {
  const buffer = new SendBuffer(capacity);
  buffer.write(new Uint8Array(headAt));
  buffer.write(ramp(capacity - headAt));
  buffer.consume(headAt);
  buffer.write(ramp(length - (capacity - headAt), capacity - headAt));
  return buffer;
}

describe('SendBuffer', () => {
  it('starts empty with all of its capacity free and nothing allocated', () => {
    const buffer = new SendBuffer(64 * 1024);
    expect(buffer.length).toBe(0);
    expect(buffer.free).toBe(64 * 1024);
    expect(buffer.capacity).toBe(64 * 1024);
    expect(buffer.allocated).toBe(0);
  });

  it('accepts as much as fits and reports how much', () => {
    const buffer = new SendBuffer(10);
    expect(buffer.write(ramp(6))).toBe(6);
    expect(buffer.write(ramp(6, 6))).toBe(4);
    expect(buffer.write(ramp(1))).toBe(0);
    expect(buffer.length).toBe(10);
    expect(buffer.free).toBe(0);
    expect(buffer.read(0, 10)).toEqual(ramp(10));
  });

  it('grows storage lazily: a small first allocation, doubling, never past capacity', () => {
    const buffer = new SendBuffer(4 * 1024 * 1024);
    buffer.write(ramp(100));
    expect(buffer.allocated).toBe(4096);
    buffer.write(ramp(4000, 100));
    expect(buffer.allocated).toBe(8192);
    buffer.write(ramp(20_000, 4100));
    expect(buffer.allocated).toBe(32_768);
    expect(buffer.read(0, 24_100)).toEqual(ramp(24_100));

    const small = new SendBuffer(5000);
    small.write(ramp(5000));
    expect(small.allocated).toBe(5000);
    const tiny = new SendBuffer(100);
    tiny.write(ramp(1));
    expect(tiny.allocated).toBe(100);
  });

  it('keeps wrapped data in order when storage grows', () => {
    const buffer = new SendBuffer(1 << 20);
    buffer.write(ramp(4096));
    buffer.consume(3000);
    buffer.write(ramp(2000, 4096)); // wraps: 1096 at the end of storage, 904 at its start
    expect(buffer.allocated).toBe(4096);
    buffer.write(ramp(5000, 6096)); // must grow; the held bytes unwrap into the new storage
    expect(buffer.allocated).toBe(8192);
    expect(buffer.length).toBe(8096);
    expect(buffer.read(0, 8096)).toEqual(ramp(8096, 3000));
  });

  it('reads a contiguous range as a view into storage, without copying', () => {
    const buffer = new SendBuffer(100);
    buffer.write(ramp(50));
    const first = buffer.read(10, 20);
    const again = buffer.read(10, 20);
    expect(first).toEqual(ramp(20, 10));
    expect(first.buffer).toBe(again.buffer);
    expect(first.byteOffset).toBe(10);
  });

  it('reads and copies ranges across the wrap of the ring', () => {
    const buffer = wrappedBuffer(64, 40, 50); // storage indices 40..63 then 0..25
    expect(buffer.allocated).toBe(64);
    expect(buffer.length).toBe(50);
    expect(buffer.read(0, 50)).toEqual(ramp(50));
    expect(buffer.read(20, 10)).toEqual(ramp(10, 20)); // straddles index 63 → 0
    expect(buffer.read(30, 5)).toEqual(ramp(5, 30)); // wholly after the wrap: a view again
    expect(buffer.read(30, 5).byteOffset).toBe(6);
    const out = new Uint8Array(60).fill(0xee);
    buffer.copyTo(20, 10, out, 5);
    expect(out.subarray(5, 15)).toEqual(ramp(10, 20));
    expect(out[4]).toBe(0xee);
    expect(out[15]).toBe(0xee);
    buffer.copyTo(0, 50, out, 10);
    expect(out.subarray(10, 60)).toEqual(ramp(50));
  });

  it('consumes acknowledged bytes from the head, so offset 0 follows SND.UNA', () => {
    const buffer = new SendBuffer(100);
    buffer.write(ramp(60));
    buffer.consume(25);
    expect(buffer.length).toBe(35);
    expect(buffer.free).toBe(65);
    expect(buffer.read(0, 5)).toEqual(ramp(5, 25));
    buffer.consume(35);
    expect(buffer.length).toBe(0);
    // An emptied ring starts over at index 0, so the next write is contiguous and reads are views.
    buffer.write(ramp(90, 100));
    expect(buffer.read(0, 90).byteOffset).toBe(0);
    expect(buffer.read(0, 90)).toEqual(ramp(90, 100));
  });

  it('treats zero-length reads, copies and consumes as no-ops', () => {
    const buffer = new SendBuffer(8);
    expect(buffer.read(0, 0)).toEqual(new Uint8Array(0));
    buffer.copyTo(0, 0, new Uint8Array(0), 0);
    buffer.consume(0);
    expect(buffer.write(new Uint8Array(0))).toBe(0);
    expect(buffer.allocated).toBe(0);
  });

  it('throws RangeError only on caller bugs: ranges outside the held bytes', () => {
    const buffer = new SendBuffer(100);
    buffer.write(ramp(10));
    expect(() => buffer.read(5, 6)).toThrow(RangeError);
    expect(() => buffer.read(-1, 2)).toThrow(RangeError);
    expect(() => buffer.read(0.5, 2)).toThrow(RangeError);
    expect(() => buffer.copyTo(0, 10, new Uint8Array(9), 0)).toThrow(RangeError);
    expect(() => buffer.copyTo(0, 4, new Uint8Array(9), 6)).toThrow(RangeError);
    expect(() => buffer.consume(11)).toThrow(RangeError);
    expect(() => new SendBuffer(-1)).toThrow(RangeError);
    expect(buffer.length).toBe(10);
  });

  it('raising the capacity keeps the data and lets it grow further', () => {
    const buffer = new SendBuffer(10);
    buffer.write(ramp(10));
    buffer.capacity = 30;
    expect(buffer.free).toBe(20);
    expect(buffer.write(ramp(25, 10))).toBe(20);
    expect(buffer.read(0, 30)).toEqual(ramp(30));
  });

  it('lowering the capacity below the held bytes keeps them and only refuses writes until consumed', () => {
    const buffer = new SendBuffer(100);
    buffer.write(ramp(80));
    buffer.capacity = 50;
    expect(buffer.length).toBe(80);
    expect(buffer.free).toBe(0);
    expect(buffer.write(ramp(1))).toBe(0);
    expect(buffer.read(0, 80)).toEqual(ramp(80));
    buffer.consume(40);
    expect(buffer.free).toBe(10);
    expect(buffer.write(ramp(20, 80))).toBe(10);
    expect(buffer.read(0, 50)).toEqual(ramp(50, 40));
  });

  it('releases oversized storage once empty after the capacity was lowered', () => {
    const buffer = new SendBuffer(1 << 20);
    buffer.write(new Uint8Array(100_000));
    expect(buffer.allocated).toBe(131_072);
    buffer.consume(100_000);
    buffer.capacity = 8192;
    expect(buffer.allocated).toBe(0);
    buffer.write(ramp(10));
    expect(buffer.allocated).toBe(4096);
  });

  it('matches a plain array model through a seeded run of writes, reads and consumes', () => {
    const rng = new Rng(0x5e9d);
    const buffer = new SendBuffer(3000);
    const model: number[] = [];
    let next = 0;
    for (let step = 0; step < 3000; step++) {
      const action = rng.nextInt(0, 4);
      if (action === 0) {
        const chunk = ramp(rng.nextInt(0, 700), next);
        const accepted = buffer.write(chunk);
        expect(accepted).toBe(Math.min(chunk.length, 3000 - model.length));
        for (let i = 0; i < accepted; i++) model.push(chunk[i]);
        next += accepted;
      } else if (action === 1 && model.length > 0) {
        const length = rng.nextInt(0, Math.min(model.length, 900) + 1);
        buffer.consume(length);
        model.splice(0, length);
      } else if (model.length > 0) {
        const offset = rng.nextInt(0, model.length);
        const length = rng.nextInt(0, model.length - offset + 1);
        const expected = Uint8Array.from(model.slice(offset, offset + length));
        if (action === 2) {
          expect(buffer.read(offset, length)).toEqual(expected);
        } else {
          const out = new Uint8Array(length + 3);
          buffer.copyTo(offset, length, out, 3);
          expect(out.subarray(3)).toEqual(expected);
        }
      }
      expect(buffer.length).toBe(model.length);
      expect(buffer.free).toBe(3000 - model.length);
    }
  });
});

describe('SendStoragePool: first-size storage circulates between buffers at rest and busy ones', () => {
  /** The ArrayBuffer behind a buffer's storage (its reads of contiguous ranges are views). */
  const storageOf = (buffer: SendBuffer) => buffer.read(0, 1).buffer;

  it('a released buffer gives its storage back and the next buffer to write takes that array', () => {
    const pool = new SendStoragePool(4);
    const first = new SendBuffer(65536, pool);
    first.write(ramp(1000));
    const array = storageOf(first);
    first.consume(1000);
    first.release();
    expect(first.allocated).toBe(0);
    expect(pool.size).toBe(1);
    const second = new SendBuffer(65536, pool);
    second.write(ramp(10, 50));
    expect(storageOf(second)).toBe(array);
    expect(second.allocated).toBe(INITIAL_STORAGE);
    expect(pool.size).toBe(0);
  });

  it("a taken array's old bytes are never read: only what the new buffer holds", () => {
    const pool = new SendStoragePool(4);
    const first = new SendBuffer(65536, pool);
    first.write(ramp(3000));
    first.consume(3000);
    first.release();
    const second = new SendBuffer(65536, pool);
    second.write(ramp(10, 200));
    expect(second.read(0, 10)).toEqual(ramp(10, 200));
    expect(() => second.read(0, 11)).toThrow(RangeError);
    const out = new Uint8Array(10);
    second.copyTo(0, 10, out, 0);
    expect(out).toEqual(ramp(10, 200));
  });

  it('keeps at most its limit: more releases are left to the collector', () => {
    const pool = new SendStoragePool(2);
    const buffers = Array.from({ length: 5 }, () => new SendBuffer(65536, pool));
    for (const buffer of buffers) buffer.write(ramp(100)); // five busy at once: five arrays
    for (const buffer of buffers) {
      buffer.consume(100);
      buffer.release();
    }
    expect(pool.size).toBe(2);
  });

  it('growing past the first size gives the first array back; other sizes never enter or leave the pool', () => {
    const pool = new SendStoragePool(4);
    const growing = new SendBuffer(65536, pool);
    growing.write(ramp(100));
    growing.write(ramp(5000, 100));
    expect(growing.allocated).toBe(2 * INITIAL_STORAGE);
    expect(pool.size).toBe(1); // the 4 KiB it started with
    expect(growing.read(0, 5100)).toEqual(ramp(5100));
    growing.consume(5100);
    growing.release();
    expect(pool.size).toBe(1); // 8 KiB is not the pooled size
    const small = new SendBuffer(1000, pool); // SO_SNDBUF under the first size: its own 1000 bytes
    small.write(ramp(500));
    expect(small.allocated).toBe(1000);
    expect(pool.size).toBe(1);
    small.consume(500);
    small.release();
    expect(pool.size).toBe(1);
  });

  it('a buffer holding data never gives its storage away', () => {
    const pool = new SendStoragePool(4);
    const buffer = new SendBuffer(65536, pool);
    buffer.write(ramp(100));
    buffer.release();
    expect(pool.size).toBe(0);
    expect(buffer.read(0, 100)).toEqual(ramp(100));
  });
});
