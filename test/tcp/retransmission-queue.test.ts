import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { RetransmissionQueue, type SentSegment } from '../../src/tcp/retransmission-queue.js';
import { seqAdd } from '../../src/tcp/seq.js';

/** A queue of `count` data segments of `size` bytes from `start`. */
function queueOf(count: number, size = 100, start = 1000): RetransmissionQueue {
  const queue = new RetransmissionQueue();
  for (let i = 0; i < count; i++) queue.push({ seq: seqAdd(start, i * size), length: size, syn: false, fin: false, push: false, sentAt: i, sentOrder: i });
  return queue;
}

/** The totals recomputed from the entries, as RFC 6675 §4 defines them. */
function recount(queue: RetransmissionQueue) {
  const entries: SentSegment[] = [...queue];
  const sum = (list: SentSegment[]) => list.reduce((total, s) => total + s.length, 0);
  return {
    bytes: sum(entries),
    sackedBytes: sum(entries.filter((s) => s.sacked)),
    sackedCount: entries.filter((s) => s.sacked).length,
    lostBytes: sum(entries.filter((s) => s.lost)),
    lostCount: entries.filter((s) => s.lost).length,
    pipe: sum(entries.filter((s) => !s.sacked && !s.lost)),
  };
}

function totals(queue: RetransmissionQueue) {
  const { bytes, sackedBytes, sackedCount, lostBytes, lostCount, pipe } = queue;
  return { bytes, sackedBytes, sackedCount, lostBytes, lostCount, pipe };
}

describe('RetransmissionQueue', () => {
  it('keeps pipe as the sequence space neither SACKed nor lost (RFC 6675 §4)', () => {
    const queue = queueOf(5);
    queue.markSacked(queue.at(1));
    queue.markLost(queue.at(0));
    expect(totals(queue)).toEqual({ bytes: 500, sackedBytes: 100, sackedCount: 1, lostBytes: 100, lostCount: 1, pipe: 300 });
    queue.clearLost(queue.at(0)); // retransmitted: back in the pipe
    expect(queue.pipe).toBe(400);
  });

  it('never holds a segment SACKed and lost at once', () => {
    const queue = queueOf(2);
    queue.markLost(queue.at(0));
    queue.markSacked(queue.at(0));
    queue.markLost(queue.at(0));
    expect(queue.at(0)).toMatchObject({ sacked: true, lost: false });
    expect(totals(queue)).toEqual(recount(queue));
  });

  it('splits an entry into two in the same state, SYN with the head and FIN with the tail', () => {
    const queue = new RetransmissionQueue();
    queue.push({ seq: 10, length: 101, syn: false, fin: true, push: true, sentAt: 5, sentOrder: 3 });
    queue.markLost(queue.at(0));
    queue.splitAt(0, 60);
    expect(queue.length).toBe(2);
    expect(queue.at(0)).toMatchObject({ seq: 10, length: 50, fin: false, lost: true, sentOrder: 3 });
    expect(queue.at(1)).toMatchObject({ seq: 60, length: 51, fin: true, lost: true, sentOrder: 3 });
    expect(totals(queue)).toEqual(recount(queue));
  });

  it('drops acknowledged entries from the front and forgets their state', () => {
    const queue = queueOf(4);
    queue.markSacked(queue.at(0));
    queue.markLost(queue.at(1));
    queue.dropFront(2);
    expect(queue.first?.seq).toBe(1200);
    expect(totals(queue)).toEqual({ bytes: 200, sackedBytes: 0, sackedCount: 0, lostBytes: 0, lostCount: 0, pipe: 200 });
    queue.dropFront(2);
    expect(queue.length).toBe(0);
    expect(queue.first).toBeUndefined();
    expect(queue.last).toBeUndefined();
  });

  it('stays in order while acknowledgments move its head past many entries', () => {
    const queue = queueOf(1000);
    for (let acked = 1; acked <= 999; acked++) {
      queue.dropFront(1);
      expect(queue.first?.seq).toBe(1000 + 100 * acked);
      expect(queue.length).toBe(1000 - acked);
    }
    expect(queue.last?.seq).toBe(1000 + 100 * 999);
    expect(queue.bytes).toBe(100);
  });

  it('finds the first entry ending after a sequence number, across the 2^32 wrap', () => {
    const queue = queueOf(4, 100, 0xffffff00);
    expect(queue.firstEndingAfter(0xffffff00)).toBe(0);
    expect(queue.firstEndingAfter(0xffffff64)).toBe(1);
    expect(queue.firstEndingAfter(seqAdd(0xffffff00, 250))).toBe(2);
    expect(queue.firstEndingAfter(seqAdd(0xffffff00, 400))).toBe(4);
  });

  it('keeps its totals and order through many pushes, splits, marks and acknowledgments', () => {
    const rng = new Rng(11);
    const queue = new RetransmissionQueue();
    let next = 0xfffff000; // crosses 2^32
    let order = 0;
    for (let step = 0; step < 20_000; step++) {
      const action = rng.nextInt(0, 9);
      if (action <= 3 || queue.length === 0) {
        const length = rng.nextInt(1, 1500);
        queue.push({ seq: next, length, syn: false, fin: false, push: false, sentAt: step, sentOrder: order++ });
        next = seqAdd(next, length);
      } else {
        const index = rng.nextInt(0, queue.length);
        const segment = queue.at(index);
        if (action === 4) queue.markSacked(segment);
        else if (action === 5) queue.markLost(segment);
        else if (action === 6) queue.clearLost(segment);
        else if (action === 7 && segment.length > 1) queue.splitAt(index, seqAdd(segment.seq, rng.nextInt(1, segment.length)));
        else queue.dropFront(rng.nextInt(0, Math.min(queue.length, 3) + 1));
      }
      if (step % 97 === 0) expect(totals(queue)).toEqual(recount(queue));
    }
    expect(totals(queue)).toEqual(recount(queue));
    const entries = [...queue];
    for (let i = 1; i < entries.length; i++) expect(entries[i].seq).toBe(seqAdd(entries[i - 1].seq, entries[i - 1].length));
    expect(queue.last === undefined ? next : seqAdd(queue.last.seq, queue.last.length)).toBe(next);
  });
});
