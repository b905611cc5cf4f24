import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { ReceiveAssembler, type AssemblerResult } from '../../src/tcp/assembler.js';
import { seqAdd, seqSub } from '../../src/tcp/seq.js';

/** The stream byte at sequence number `seq`: a function of the number, so misplaced bytes show. */
function streamByte(seq: number): number {
  return (seq ^ (seq >>> 8) ^ (seq >>> 16) ^ (seq >>> 24)) & 0xff;
}

/** The stream's bytes [seq, seq + length). */
function stream(seq: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = streamByte(seqAdd(seq, i));
  return out;
}

/** `delivered` joined into one array. */
function joined(result: AssemblerResult): Uint8Array {
  const out = new Uint8Array(result.deliveredBytes);
  let at = 0;
  for (const chunk of result.delivered) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** A receiver that keeps rcvNxt and everything delivered, as the TCB would. */
class Receiver {
  readonly assembler: ReceiveAssembler;
  rcvNxt: number;
  readonly received: number[] = [];
  last: AssemblerResult | undefined;

  constructor(rcvNxt: number, limitBytes = 1 << 20) {
    this.assembler = new ReceiveAssembler(limitBytes);
    this.rcvNxt = rcvNxt;
  }

  /** Offers stream bytes [seq, seq + length) and returns what happened. */
  offer(seq: number, length: number): AssemblerResult {
    const result = this.assembler.insert(seq, stream(seq, length), this.rcvNxt);
    for (const chunk of result.delivered) for (const byte of chunk) this.received.push(byte);
    expect(result.rcvNxt).toBe(seqAdd(this.rcvNxt, result.deliveredBytes));
    this.rcvNxt = result.rcvNxt;
    this.last = result;
    return result;
  }

  /** SACK blocks as [left, right] pairs, for compact expectations. */
  sack(max = 4, withDsack = false): [number, number][] {
    const dsack = withDsack ? this.last?.duplicate : undefined;
    return this.assembler.sackBlocks(max, dsack).map((b) => [b.leftEdge, b.rightEdge]);
  }
}

describe('ReceiveAssembler: in-order and out-of-order text (RFC 9293 §3.10.7.4, seventh step)', () => {
  it('delivers an in-order segment at once, as a view of the caller’s bytes', () => {
    const assembler = new ReceiveAssembler(1000);
    const data = stream(1000, 100);
    const result = assembler.insert(1000, data, 1000);
    expect(result.rcvNxt).toBe(1100);
    expect(result.deliveredBytes).toBe(100);
    expect(result.delivered).toHaveLength(1);
    expect(result.delivered[0].buffer).toBe(data.buffer);
    expect(result.duplicate).toBeUndefined();
    expect(result.duplicateBytes).toBe(0);
    expect(result.heldBytesAdded).toBe(0);
    expect(assembler.holes).toBe(false);
  });

  it('holds an out-of-order segment as a copy, then delivers it when the hole fills', () => {
    const assembler = new ReceiveAssembler(1000);
    const later = stream(1100, 50);
    const held = assembler.insert(1100, later, 1000);
    expect(held.deliveredBytes).toBe(0);
    expect(held.rcvNxt).toBe(1000);
    expect(held.heldBytesAdded).toBe(50);
    expect(assembler.heldBytes).toBe(50);
    expect(assembler.holes).toBe(true);
    later.fill(0); // the caller reuses its frame buffer: the held copy is unaffected

    const filled = assembler.insert(1000, stream(1000, 100), 1000);
    expect(filled.rcvNxt).toBe(1150);
    expect(filled.delivered).toHaveLength(2);
    expect(joined(filled)).toEqual(stream(1000, 150));
    expect(assembler.heldBytes).toBe(0);
    expect(assembler.holes).toBe(false);
  });

  it('fills several holes in any order and joins the held segments in one delivery', () => {
    const receiver = new Receiver(0);
    receiver.offer(300, 100);
    receiver.offer(100, 100);
    expect(receiver.sack()).toEqual([
      [100, 200],
      [300, 400],
    ]);
    receiver.offer(200, 100); // joins the two held blocks, but rcvNxt still waits for 0
    expect(receiver.sack()).toEqual([[100, 400]]);
    expect(receiver.rcvNxt).toBe(0);
    const result = receiver.offer(0, 100);
    expect(result.rcvNxt).toBe(400);
    expect(result.delivered).toHaveLength(4);
    expect(Uint8Array.from(receiver.received)).toEqual(stream(0, 400));
  });

  it('ignores a zero-length segment', () => {
    const assembler = new ReceiveAssembler(100);
    const result = assembler.insert(50, new Uint8Array(0), 10);
    expect(result).toMatchObject({ deliveredBytes: 0, rcvNxt: 10, duplicateBytes: 0, heldBytesAdded: 0, refusedBytes: 0 });
    expect(result.duplicate).toBeUndefined();
  });
});

describe('ReceiveAssembler: overlaps and duplicates (RFC 2883 D-SACK)', () => {
  it('trims data before rcvNxt and reports it as the duplicate range', () => {
    const receiver = new Receiver(1000);
    const result = receiver.offer(900, 200);
    expect(result.rcvNxt).toBe(1100);
    expect(joined(result)).toEqual(stream(1000, 100));
    expect(result.duplicate).toEqual({ leftEdge: 900, rightEdge: 1000 });
    expect(result.duplicateBytes).toBe(100);
  });

  it('reports a wholly old segment as a duplicate and delivers nothing', () => {
    const receiver = new Receiver(1000);
    const result = receiver.offer(500, 100);
    expect(result.deliveredBytes).toBe(0);
    expect(result.delivered).toHaveLength(0);
    expect(result.duplicate).toEqual({ leftEdge: 500, rightEdge: 600 });
  });

  it('keeps the first copy of bytes already held; only the gaps of a new segment are taken', () => {
    const assembler = new ReceiveAssembler(1000);
    const first = stream(110, 20);
    assembler.insert(110, first, 100);
    const conflicting = new Uint8Array(40).fill(0xaa); // covers [100, 140) with different bytes
    const result = assembler.insert(100, conflicting, 100);
    expect(result.duplicate).toEqual({ leftEdge: 110, rightEdge: 130 });
    expect(result.duplicateBytes).toBe(20);
    expect(result.rcvNxt).toBe(140);
    const out = joined(result);
    expect(out.subarray(0, 10)).toEqual(new Uint8Array(10).fill(0xaa));
    expect(out.subarray(10, 30)).toEqual(stream(110, 20)); // the old copy, as Linux keeps
    expect(out.subarray(30, 40)).toEqual(new Uint8Array(10).fill(0xaa));
  });

  it('a segment spanning held blocks takes the gaps between them and counts the rest as duplicates', () => {
    const receiver = new Receiver(0);
    receiver.offer(100, 50);
    receiver.offer(200, 50);
    const result = receiver.offer(120, 200); // [120, 320)
    expect(result.heldBytesAdded).toBe(50 + 70);
    expect(result.duplicateBytes).toBe(30 + 50);
    expect(result.duplicate).toEqual({ leftEdge: 120, rightEdge: 150 }); // the first run only
    expect(receiver.assembler.heldBytes).toBe(220);
    expect(receiver.sack()).toEqual([[100, 320]]);
    receiver.offer(0, 100);
    expect(receiver.rcvNxt).toBe(320);
    expect(Uint8Array.from(receiver.received)).toEqual(stream(0, 320));
  });

  it('reports a duplicate segment (RFC 2883 §4, example 1)', () => {
    const receiver = new Receiver(3000);
    receiver.offer(3000, 500);
    receiver.offer(3500, 500);
    receiver.offer(3000, 500);
    expect(receiver.rcvNxt).toBe(4000);
    expect(receiver.sack(4, true)).toEqual([[3000, 3500]]);
  });

  it('reports an out-of-order segment and a duplicate segment (RFC 2883 §4, example 2)', () => {
    const receiver = new Receiver(3000);
    receiver.offer(3000, 500);
    receiver.offer(3500, 500);
    receiver.offer(4500, 500);
    expect(receiver.sack()).toEqual([[4500, 5000]]);
    receiver.offer(3000, 500);
    expect(receiver.rcvNxt).toBe(4000);
    expect(receiver.sack(4, true)).toEqual([
      [3000, 3500],
      [4500, 5000],
    ]);
  });

  it('reports a duplicate of an out-of-order segment, then the block holding it (RFC 2883 §4, example 3)', () => {
    const receiver = new Receiver(3500);
    receiver.offer(3500, 500);
    receiver.offer(4500, 500);
    expect(receiver.sack()).toEqual([[4500, 5000]]);
    receiver.offer(5000, 500);
    expect(receiver.sack()).toEqual([[4500, 5500]]);
    receiver.offer(5000, 500);
    expect(receiver.rcvNxt).toBe(4000);
    expect(receiver.sack(4, true)).toEqual([
      [5000, 5500],
      [4500, 5500],
    ]);
  });

  it('the block holding a repeated segment is reported right after the D-SACK block, before newer blocks', () => {
    const receiver = new Receiver(0);
    receiver.offer(100, 10);
    receiver.offer(200, 10);
    receiver.offer(300, 10);
    receiver.offer(100, 10); // a duplicate of the oldest block
    expect(receiver.sack(4, true)).toEqual([
      [100, 110],
      [100, 110],
      [300, 310],
      [200, 210],
    ]);
  });

  it('reports a single duplicate subsegment (RFC 2883 §4, example 4)', () => {
    const receiver = new Receiver(500);
    receiver.offer(500, 500);
    receiver.offer(2000, 500);
    expect(receiver.sack()).toEqual([[2000, 2500]]);
    receiver.offer(1000, 500);
    expect(receiver.rcvNxt).toBe(1500);
    expect(receiver.sack()).toEqual([[2000, 2500]]);
    receiver.offer(1000, 1000);
    expect(receiver.rcvNxt).toBe(2500);
    expect(receiver.sack(4, true)).toEqual([[1000, 1500]]);
  });

  it('reports only the first of two duplicate subsegments below the ACK (RFC 2883 §4, example 5)', () => {
    const receiver = new Receiver(500);
    receiver.offer(500, 500);
    receiver.offer(3000, 500);
    receiver.offer(1000, 500);
    receiver.offer(2000, 500);
    expect(receiver.rcvNxt).toBe(1500);
    expect(receiver.sack()).toEqual([
      [2000, 2500],
      [3000, 3500],
    ]);
    const result = receiver.offer(1000, 1500);
    expect(result.rcvNxt).toBe(2500);
    expect(result.duplicateBytes).toBe(1000);
    expect(receiver.sack(4, true)).toEqual([
      [1000, 1500],
      [3000, 3500],
    ]);
  });

  it('reports a duplicate subsegment not covered by the ACK (RFC 2883 §4, example 6)', () => {
    const receiver = new Receiver(500);
    receiver.offer(500, 500);
    receiver.offer(3000, 500);
    receiver.offer(1500, 500);
    expect(receiver.sack()).toEqual([
      [1500, 2000],
      [3000, 3500],
    ]);
    receiver.offer(2500, 500);
    expect(receiver.sack()).toEqual([
      [2500, 3500],
      [1500, 2000],
    ]);
    receiver.offer(1000, 1500);
    expect(receiver.rcvNxt).toBe(3500);
    expect(receiver.sack(4, true)).toEqual([[1500, 2000]]);
  });
});

describe('ReceiveAssembler: SACK blocks (RFC 2018 §4)', () => {
  it('first segment lost, the other seven received: one growing block (RFC 2018 §7, case 2)', () => {
    const receiver = new Receiver(5000);
    for (let i = 1; i < 8; i++) {
      receiver.offer(5000 + 500 * i, 500);
      expect(receiver.sack()).toEqual([[5500, 5500 + 500 * i]]);
    }
  });

  it('the block with the latest segment first, then the most recently reported (RFC 2018 §7, case 3)', () => {
    const receiver = new Receiver(5000);
    receiver.offer(5000, 500);
    expect(receiver.rcvNxt).toBe(5500);
    expect(receiver.sack()).toEqual([]);
    receiver.offer(6000, 500);
    expect(receiver.sack()).toEqual([[6000, 6500]]);
    receiver.offer(7000, 500);
    expect(receiver.sack()).toEqual([
      [7000, 7500],
      [6000, 6500],
    ]);
    receiver.offer(8000, 500);
    expect(receiver.sack(3)).toEqual([
      [8000, 8500],
      [7000, 7500],
      [6000, 6500],
    ]);
    // The 4th segment arrives: two blocks remain, the one it joined first.
    receiver.offer(6500, 500);
    expect(receiver.sack(3)).toEqual([
      [6000, 7500],
      [8000, 8500],
    ]);
    // The 2nd segment arrives: ACK 7500, one block.
    receiver.offer(5500, 500);
    expect(receiver.rcvNxt).toBe(7500);
    expect(receiver.sack(3)).toEqual([[8000, 8500]]);
  });

  it('gives at most `max` blocks, the D-SACK block included, and none for max 0', () => {
    const receiver = new Receiver(0);
    for (let i = 0; i < 6; i++) receiver.offer(100 * (i + 1), 10);
    expect(receiver.sack(3)).toEqual([
      [600, 610],
      [500, 510],
      [400, 410],
    ]);
    receiver.offer(100, 10);
    expect(receiver.sack(3, true)).toEqual([
      [100, 110],
      [100, 110],
      [600, 610],
    ]);
    expect(receiver.sack(0, true)).toEqual([]);
    expect(receiver.assembler.sackBlocks(1, { leftEdge: 1, rightEdge: 2 })).toEqual([{ leftEdge: 1, rightEdge: 2 }]);
  });
});

describe('ReceiveAssembler: the limit on out-of-order bytes', () => {
  it('refuses out-of-order data beyond the limit, counts it, and never refuses in-order data', () => {
    const receiver = new Receiver(0, 100);
    expect(receiver.offer(100, 60).heldBytesAdded).toBe(60);
    const refused = receiver.offer(300, 50);
    expect(refused.refusedBytes).toBe(50);
    expect(refused.heldBytesAdded).toBe(0);
    expect(refused.duplicate).toBeUndefined();
    expect(receiver.assembler.heldBytes).toBe(60);
    expect(receiver.sack()).toEqual([[100, 160]]);
    expect(receiver.offer(200, 40).heldBytesAdded).toBe(40); // exactly to the limit
    expect(receiver.offer(0, 100).rcvNxt).toBe(160); // in order, and releases held bytes
    expect(receiver.assembler.heldBytes).toBe(40);
    expect(receiver.offer(300, 50).heldBytesAdded).toBe(50); // room again
    receiver.offer(160, 40);
    receiver.offer(240, 60);
    expect(receiver.rcvNxt).toBe(350);
    expect(Uint8Array.from(receiver.received)).toEqual(stream(0, 350));
  });

  it('takes the gaps of a segment in sequence order and refuses from the first one that does not fit', () => {
    const receiver = new Receiver(0, 100);
    receiver.offer(50, 10);
    receiver.offer(80, 10);
    const result = receiver.offer(40, 150); // gaps [40,50) 10, [60,80) 20, [90,190) 100
    expect(result.heldBytesAdded).toBe(30);
    expect(result.refusedBytes).toBe(100);
    expect(result.duplicateBytes).toBe(20);
    expect(receiver.assembler.heldBytes).toBe(50);
    expect(receiver.sack()).toEqual([[40, 90]]);
  });

  it('clear() drops everything held', () => {
    const receiver = new Receiver(0);
    receiver.offer(10, 10);
    receiver.assembler.clear();
    expect(receiver.assembler.heldBytes).toBe(0);
    expect(receiver.assembler.holes).toBe(false);
    expect(receiver.sack()).toEqual([]);
  });
});

describe('ReceiveAssembler: sequence-number wrap-around', () => {
  it('holds, joins and delivers across 2^32', () => {
    const start = 0xffffff00;
    const receiver = new Receiver(start);
    receiver.offer(0x00000040, 0x40); // after the wrap
    receiver.offer(0xffffffc0, 0x80); // straddles the wrap: [0xffffffc0, 0x40)
    expect(receiver.sack()).toEqual([[0xffffffc0, 0x80]]);
    const result = receiver.offer(start, 0xc0);
    expect(result.rcvNxt).toBe(0x80);
    expect(Uint8Array.from(receiver.received)).toEqual(stream(start, 0x180));
  });

  it('trims and reports a duplicate that straddles the wrap', () => {
    const receiver = new Receiver(0x10);
    const result = receiver.offer(0xfffffff0, 0x40);
    expect(result.duplicate).toEqual({ leftEdge: 0xfffffff0, rightEdge: 0x10 });
    expect(result.duplicateBytes).toBe(0x20);
    expect(result.rcvNxt).toBe(0x30);
    expect(joined(result)).toEqual(stream(0x10, 0x20));
  });

  it('orders SACK blocks on both sides of the wrap', () => {
    const receiver = new Receiver(0xfffffff0);
    receiver.offer(0x20, 0x10);
    receiver.offer(0xfffffff8, 0x4);
    receiver.offer(0x0, 0x8);
    expect(receiver.sack()).toEqual([
      [0x0, 0x8],
      [0xfffffff8, 0xfffffffc],
      [0x20, 0x30],
    ]);
  });

  it('drops held bytes the caller has already moved rcvNxt past', () => {
    const assembler = new ReceiveAssembler(1000);
    assembler.insert(0xfffffffa, stream(0xfffffffa, 20), 0xfffffff0);
    expect(assembler.heldBytes).toBe(20);
    const result = assembler.insert(0x0, stream(0x0, 4), 0x4); // a duplicate, rcvNxt moved to 4
    expect(assembler.heldBytes).toBe(0);
    expect(result.rcvNxt).toBe(0xe);
    expect(result.duplicate).toEqual({ leftEdge: 0x0, rightEdge: 0x4 });
    expect(joined(result)).toEqual(stream(0x4, 10));
  });
});

describe('ReceiveAssembler: property — any arrival order reassembles the exact stream', () => {
  /** Splits [0, total) into segments of 1..maxSegment bytes. */
  function segments(rng: Rng, total: number, maxSegment: number): [number, number][] {
    const out: [number, number][] = [];
    for (let offset = 0; offset < total;) {
      const length = Math.min(total - offset, rng.nextInt(1, maxSegment + 1));
      out.push([offset, length]);
      offset += length;
    }
    return out;
  }

  /** Fisher–Yates with the seeded Rng. */
  function shuffle<T>(rng: Rng, items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = rng.nextInt(0, i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  it('random permutations of segments, near the wrap and elsewhere', () => {
    for (let trial = 0; trial < 200; trial++) {
      const rng = new Rng(1000 + trial);
      const isn = trial % 2 === 0 ? seqAdd(0xffffffff, -rng.nextInt(0, 3000)) : rng.nextU32();
      const total = rng.nextInt(1, 4000);
      const order = shuffle(rng, segments(rng, total, 300));
      const receiver = new Receiver(isn);
      for (const [offset, length] of order) {
        receiver.offer(seqAdd(isn, offset), length);
        expect(seqSub(receiver.rcvNxt, isn) + receiver.assembler.heldBytes).toBeLessThanOrEqual(total);
      }
      expect(receiver.rcvNxt).toBe(seqAdd(isn, total));
      expect(receiver.assembler.heldBytes).toBe(0);
      expect(receiver.assembler.holes).toBe(false);
      expect(Uint8Array.from(receiver.received)).toEqual(stream(isn, total));
    }
  });

  it('overlapping, duplicated and re-cut retransmissions, with a tight limit that refuses some', () => {
    /** A cheap assertion for the inner loop, where `expect` per offer would dominate the run time. */
    const check = (condition: boolean, what: string): void => {
      if (!condition) throw new Error(what);
    };
    let duplicatesSeen = 0;
    let refusalsSeen = 0;
    for (let trial = 0; trial < 150; trial++) {
      const rng = new Rng(5000 + trial);
      const isn = trial % 3 === 0 ? seqAdd(0, -rng.nextInt(1, 2000)) : rng.nextU32();
      const total = rng.nextInt(1, 3000);
      const limit = trial % 2 === 0 ? rng.nextInt(0, 1500) : 1 << 20;
      const receiver = new Receiver(isn, limit);
      // Rounds of "retransmissions": each round offers random ranges of the stream, some of them
      // beyond rcvNxt, some repeating old data, until everything arrived. Bounded: round 30 sends
      // the rest in order.
      for (let round = 0; round < 31 && receiver.rcvNxt !== seqAdd(isn, total); round++) {
        const offers: [number, number][] =
          round === 30
            ? [[seqSub(receiver.rcvNxt, isn), total - seqSub(receiver.rcvNxt, isn)]]
            : Array.from({ length: rng.nextInt(1, 20) }, () => {
                const offset = rng.nextInt(0, total);
                return [offset, rng.nextInt(1, Math.min(total - offset, 400) + 1)] as [number, number];
              });
        for (const [offset, length] of offers) {
          const heldBefore = receiver.assembler.heldBytes;
          const result = receiver.offer(seqAdd(isn, offset), length);
          duplicatesSeen += result.duplicateBytes;
          refusalsSeen += result.refusedBytes;
          // Every byte of the segment is accounted for exactly once.
          const heldDelivered = heldBefore + result.heldBytesAdded - receiver.assembler.heldBytes;
          const ownDelivered = result.deliveredBytes - heldDelivered;
          check(ownDelivered + result.heldBytesAdded + result.duplicateBytes + result.refusedBytes === length, 'byte accounting');
          check(receiver.assembler.heldBytes <= Math.max(limit, heldBefore), 'limit respected');
          if (result.duplicate !== undefined) {
            const size = seqSub(result.duplicate.rightEdge, result.duplicate.leftEdge);
            check(size > 0 && size <= result.duplicateBytes, 'D-SACK range within the duplicates');
          } else {
            check(result.duplicateBytes === 0, 'duplicates have a range');
          }
          for (const block of receiver.assembler.sackBlocks(4)) {
            check(seqSub(block.leftEdge, receiver.rcvNxt) > 0, 'SACK block above rcvNxt');
            check(seqSub(block.rightEdge, block.leftEdge) > 0, 'SACK block non-empty');
          }
        }
      }
      expect(receiver.rcvNxt).toBe(seqAdd(isn, total));
      expect(receiver.assembler.heldBytes).toBe(0);
      expect(Uint8Array.from(receiver.received)).toEqual(stream(isn, total));
    }
    // The run did exercise both paths.
    expect(duplicatesSeen).toBeGreaterThan(0);
    expect(refusalsSeen).toBeGreaterThan(0);
  });
});
