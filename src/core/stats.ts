/**
 * Counters by layer and reason, keyed by dotted names: `drop.ipv4.badChecksum`,
 * `ipv4.rx.delivered`, `icmp.tx.echoReply`. Every drop and every decision that a test or a
 * user might want to see increments one. Tests assert on `get()` or on the whole `snapshot()`.
 */
export class Stats {
  private readonly counters = new Map<string, number>();

  /** Adds `n` (default 1) to the named counter. */
  increment(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  /** The counter's value; 0 for a counter never incremented. */
  get(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** Sum of every counter whose name starts with `prefix` (e.g. `drop.` for all drops). */
  sum(prefix: string): number {
    let total = 0;
    for (const [name, value] of this.counters) if (name.startsWith(prefix)) total += value;
    return total;
  }

  /** All counters, sorted by name. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counters].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
