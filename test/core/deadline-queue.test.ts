import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from '../../src/core/deadline-queue.js';
import { Rng } from '../../src/core/rng.js';

describe('DeadlineQueue', () => {
  it('gives the earliest deadline, moves an item when its deadline changes, and forgets it at Infinity', () => {
    const queue = new DeadlineQueue<string>();
    expect(queue.nextDeadline).toBe(Infinity);
    queue.set('a', 30);
    queue.set('b', 10);
    queue.set('c', 20);
    expect(queue.nextDeadline).toBe(10);
    queue.set('b', 40);
    expect(queue.nextDeadline).toBe(20);
    queue.set('c', Infinity);
    expect(queue.size).toBe(2);
    expect(queue.deadlineOf('c')).toBe(Infinity);
    expect(queue.nextDeadline).toBe(30);
    queue.delete('a');
    expect(queue.nextDeadline).toBe(40);
    expect(queue.dueBy(39)).toEqual([]);
    expect(queue.dueBy(40)).toEqual(['b']);
  });

  it('agrees with a plain list through 20 000 seeded changes', () => {
    const rng = new Rng(5);
    const queue = new DeadlineQueue<number>();
    const model = new Map<number, number>();
    for (let step = 0; step < 20_000; step++) {
      const item = rng.nextInt(0, 200);
      const at = rng.nextInt(0, 10) === 0 ? Infinity : rng.nextInt(0, 1000);
      queue.set(item, at);
      if (at === Infinity) model.delete(item);
      else model.set(item, at);
      if (step % 101 === 0) {
        const time = rng.nextInt(0, 1000);
        expect(queue.size).toBe(model.size);
        expect(queue.nextDeadline).toBe(Math.min(Infinity, ...model.values()));
        const due = [...model].filter(([, deadline]) => deadline <= time).map(([key]) => key);
        expect(queue.dueBy(time).sort((x, y) => x - y)).toEqual(due.sort((x, y) => x - y));
      }
    }
  });
});
