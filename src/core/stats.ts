/**
 * Counters by layer and reason, keyed by dotted names: `drop.ipv4.badChecksum`,
 * `ipv4.rx.delivered`, `icmp.tx.echoReply`. Every drop and every decision that a test or a
 * user might want to see increments one. Tests assert on `get()` or on the whole `snapshot()`.
 *
 * Code that counts every packet looks its counters up once (`stats.counter(name)`) and keeps
 * the Counter; `increment(name)` is for everything else.
 */
export class Stats {
  private readonly counters = new Map<string, Counter>();

  /** The named counter, created at 0 on first use; it appears in `snapshot()` once incremented. */
  counter(name: string): Counter {
    let counter = this.counters.get(name);
    if (counter === undefined) {
      counter = new Counter(name);
      this.counters.set(name, counter);
    }
    return counter;
  }

  /** Adds `n` (default 1) to the named counter. */
  increment(name: string, n = 1): void {
    this.counter(name).increment(n);
  }

  /** The counter's value; 0 for a counter never incremented. */
  get(name: string): number {
    return this.counters.get(name)?.value ?? 0;
  }

  /** Sum of every counter whose name starts with `prefix` (e.g. `drop.` for all drops). */
  sum(prefix: string): number {
    let total = 0;
    for (const [name, counter] of this.counters) if (name.startsWith(prefix)) total += counter.value;
    return total;
  }

  /** All counters ever incremented, sorted by name. */
  snapshot(): Record<string, number> {
    const entries: [string, number][] = [];
    for (const [name, counter] of this.counters) if (counter.incremented) entries.push([name, counter.value]);
    return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

/** One named counter of a Stats. */
export class Counter {
  /** The count so far. */
  value = 0;
  /** Whether `increment` was ever called (a counter only looked up stays out of snapshots). */
  incremented = false;

  /** A counter at 0, named `name` (Stats.counter makes them). */
  constructor(readonly name: string) {}

  /** Adds `n` (default 1). */
  increment(n = 1): void {
    this.value += n;
    this.incremented = true;
  }
}
