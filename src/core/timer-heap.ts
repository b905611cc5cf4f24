/**
 * One-shot timers ordered by their time, and among equal times by the order they were added
 * (first in, first out): a binary min-heap on (at, sequence) whose entries know their place, so
 * adding, cancelling and taking the earliest each cost O(log n) and the earliest time O(1).
 *
 * For the socket layer's timeouts (Stack.schedule): Node's http server re-arms a socket's
 * keep-alive timeout after every response and a new request cancels it, so a server with a
 * thousand keep-alive connections holds about a thousand of them and cancels one per request —
 * a sorted array's linear search and splice cost O(n) there. The sequence number keeps the order
 * deterministic: two timers due at the same time fire in the order they were scheduled, as
 * before, whatever the heap's shape.
 */

/** A scheduled timer; `cancel` it through the heap. */
export interface HeapTimer {
  readonly at: number;
  readonly callback: () => void;
}

interface Entry extends HeapTimer {
  /** Order of scheduling: the tie-break among equal times. */
  readonly sequence: number;
  /** Position in the heap array, -1 once it left (fired or cancelled). */
  index: number;
}

/** Timers, earliest first, FIFO among equal times. */
export class TimerHeap {
  private readonly heap: Entry[] = [];
  private nextSequence = 0;

  /** Timers waiting. */
  get size(): number {
    return this.heap.length;
  }

  /** The earliest timer's time, or Infinity with none. */
  get nextAt(): number {
    return this.heap.length > 0 ? this.heap[0].at : Infinity;
  }

  /** Adds a timer for `at`; the returned record cancels it (`cancel`). */
  add(at: number, callback: () => void): HeapTimer {
    const entry: Entry = { at, callback, sequence: this.nextSequence++, index: this.heap.length };
    this.heap.push(entry);
    this.siftUp(entry);
    return entry;
  }

  /** Removes a timer that has not fired; a fired or cancelled one is left alone. */
  cancel(timer: HeapTimer): void {
    const entry = timer as Entry;
    if (entry.index < 0 || this.heap[entry.index] !== entry) return;
    this.removeAt(entry.index);
  }

  /** Removes and returns the earliest timer if it is due at `now`, else undefined. */
  takeDue(now: number): HeapTimer | undefined {
    if (this.heap.length === 0 || this.heap[0].at > now) return undefined;
    const first = this.heap[0];
    this.removeAt(0);
    return first;
  }

  private removeAt(index: number): void {
    const entry = this.heap[index];
    entry.index = -1;
    const last = this.heap.pop()!;
    if (last === entry) return;
    last.index = index;
    this.heap[index] = last;
    if (before(last, entry)) this.siftUp(last);
    else this.siftDown(last);
  }

  private siftUp(entry: Entry): void {
    let index = entry.index;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.heap[parentIndex];
      if (!before(entry, parent)) break;
      this.place(parent, index);
      index = parentIndex;
    }
    this.place(entry, index);
  }

  private siftDown(entry: Entry): void {
    let index = entry.index;
    const length = this.heap.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && before(this.heap[child + 1], this.heap[child])) child++;
      const smaller = this.heap[child];
      if (!before(smaller, entry)) break;
      this.place(smaller, index);
      index = child;
    }
    this.place(entry, index);
  }

  private place(entry: Entry, index: number): void {
    entry.index = index;
    this.heap[index] = entry;
  }
}

/** Whether `a` fires before `b`: the earlier time, or at the same time the one scheduled first. */
function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.sequence < b.sequence);
}
