import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { TimerHeap, type HeapTimer } from '../../src/core/timer-heap.js';

describe('TimerHeap: earliest first, first in first out among equal times', () => {
  it('timers at the same time fire in the order they were added, whatever was cancelled between', () => {
    const heap = new TimerHeap();
    const fired: string[] = [];
    const timers: HeapTimer[] = [];
    for (const label of ['a', 'b', 'c', 'd', 'e', 'f']) timers.push(heap.add(label === 'c' ? 5 : 10, () => fired.push(label)));
    heap.cancel(timers[1]);
    heap.add(10, () => fired.push('g'));
    expect(heap.nextAt).toBe(5);
    for (let timer = heap.takeDue(9); timer !== undefined; timer = heap.takeDue(9)) timer.callback();
    expect(fired).toEqual(['c']);
    for (let timer = heap.takeDue(10); timer !== undefined; timer = heap.takeDue(10)) timer.callback();
    expect(fired).toEqual(['c', 'a', 'd', 'e', 'f', 'g']);
    expect(heap.size).toBe(0);
    expect(heap.nextAt).toBe(Infinity);
  });

  it('cancelling a timer that fired or was cancelled already changes nothing', () => {
    const heap = new TimerHeap();
    const first = heap.add(1, () => {});
    heap.add(2, () => {});
    expect(heap.takeDue(1)).toBe(first);
    heap.cancel(first);
    heap.cancel(first);
    expect(heap.size).toBe(1);
    expect(heap.nextAt).toBe(2);
  });

  it('matches a sorted list through a seeded run of adds, cancels and firings', () => {
    const rng = new Rng(16);
    const heap = new TimerHeap();
    /** The model: [at, sequence, timer] sorted by time then sequence. */
    let model: Array<{ at: number; sequence: number; timer: HeapTimer }> = [];
    let sequence = 0;
    let now = 0;
    const fired: number[] = [];
    for (let step = 0; step < 5000; step++) {
      const action = rng.nextInt(0, 10);
      if (action < 5) {
        const at = now + rng.nextInt(0, 50);
        const label = sequence++;
        const timer = heap.add(at, () => fired.push(label));
        model.push({ at, sequence: label, timer });
        model.sort((x, y) => x.at - y.at || x.sequence - y.sequence);
      } else if (action < 8 && model.length > 0) {
        const [gone] = model.splice(rng.nextInt(0, model.length), 1);
        heap.cancel(gone.timer);
      } else {
        now += rng.nextInt(0, 20);
        fired.length = 0;
        for (let timer = heap.takeDue(now); timer !== undefined; timer = heap.takeDue(now)) timer.callback();
        const due = model.filter((entry) => entry.at <= now);
        model = model.filter((entry) => entry.at > now);
        expect(fired).toEqual(due.map((entry) => entry.sequence));
      }
      expect(heap.size).toBe(model.length);
      expect(heap.nextAt).toBe(model[0]?.at ?? Infinity);
    }
    expect(sequence).toBeGreaterThan(2000);
  });
});
