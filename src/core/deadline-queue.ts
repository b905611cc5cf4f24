/**
 * Items ordered by a deadline (ms): a binary min-heap that also knows where each item sits, so
 * that changing or removing an item's deadline costs O(log n) and the earliest deadline O(1).
 * A layer with many timers (TCP's connections) finds what is due without looking at the rest.
 */

interface Entry<T> {
  readonly item: T;
  at: number;
  /** Position in the heap array. */
  index: number;
}

/** A set of items, each with one finite deadline, earliest first. */
export class DeadlineQueue<T> {
  private readonly heap: Entry<T>[] = [];
  private readonly entries = new Map<T, Entry<T>>();

  /** Items in the queue. */
  get size(): number {
    return this.heap.length;
  }

  /** The earliest deadline, or Infinity when the queue is empty. */
  get nextDeadline(): number {
    return this.heap.length > 0 ? this.heap[0].at : Infinity;
  }

  /** The item's deadline, or Infinity when it is not in the queue. */
  deadlineOf(item: T): number {
    return this.entries.get(item)?.at ?? Infinity;
  }

  /** Sets the item's deadline, adding the item if needed; Infinity removes it. */
  set(item: T, at: number): void {
    const entry = this.entries.get(item);
    if (at === Infinity) {
      if (entry !== undefined) this.remove(entry);
      return;
    }
    if (entry === undefined) {
      const added: Entry<T> = { item, at, index: this.heap.length };
      this.entries.set(item, added);
      this.heap.push(added);
      this.siftUp(added);
      return;
    }
    if (at === entry.at) return;
    const earlier = at < entry.at;
    entry.at = at;
    if (earlier) this.siftUp(entry);
    else this.siftDown(entry);
  }

  /** Removes the item, if present. */
  delete(item: T): void {
    const entry = this.entries.get(item);
    if (entry !== undefined) this.remove(entry);
  }

  /** Every item whose deadline is at or before `time`, in no particular order. */
  dueBy(time: number): T[] {
    const due: T[] = [];
    // Walk the heap from the root; below an entry that is not due nothing is.
    const pending = this.heap.length > 0 && this.heap[0].at <= time ? [0] : [];
    while (pending.length > 0) {
      const index = pending.pop()!;
      due.push(this.heap[index].item);
      const left = 2 * index + 1;
      if (left < this.heap.length && this.heap[left].at <= time) pending.push(left);
      if (left + 1 < this.heap.length && this.heap[left + 1].at <= time) pending.push(left + 1);
    }
    return due;
  }

  private remove(entry: Entry<T>): void {
    this.entries.delete(entry.item);
    const last = this.heap.pop()!;
    if (last === entry) return;
    last.index = entry.index;
    this.heap[entry.index] = last;
    if (last.at < entry.at) this.siftUp(last);
    else this.siftDown(last);
  }

  private siftUp(entry: Entry<T>): void {
    let index = entry.index;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.heap[parentIndex];
      if (parent.at <= entry.at) break;
      this.place(parent, index);
      index = parentIndex;
    }
    this.place(entry, index);
  }

  private siftDown(entry: Entry<T>): void {
    let index = entry.index;
    const length = this.heap.length;
    for (;;) {
      let smallest = 2 * index + 1;
      if (smallest >= length) break;
      const right = smallest + 1;
      if (right < length && this.heap[right].at < this.heap[smallest].at) smallest = right;
      const child = this.heap[smallest];
      if (child.at >= entry.at) break;
      this.place(child, index);
      index = smallest;
    }
    this.place(entry, index);
  }

  private place(entry: Entry<T>, index: number): void {
    entry.index = index;
    this.heap[index] = entry;
  }
}
