/**
 * Counters by layer and reason, keyed by dotted names: `drop.ipv4.badChecksum`,
 * `ipv4.rx.delivered`, `icmp.tx.echoReply`. Every drop and every decision that a test or a
 * user might want to see increments one. Tests assert on `get()` or on the whole `snapshot()`.
 *
 * Names are typed. Each layer declares what it counts in a `CounterRegistry` (a name, or a
 * family such as `drop.tcp.<DecodeReason>`, with one line on what it counts) and takes a
 * `Stats` of the names that registry declares, so a misspelt or undeclared name does not
 * compile. The stack composes the registries (socket-api/counters.ts); docs/counters.md lists
 * them all.
 *
 * Code that counts every packet looks its counters up once (`stats.counter(name)`) and keeps
 * the Counter; `increment(name)` is for everything else.
 */
export class Stats<in Name extends string> {
  private readonly counters = new Map<string, Counter>();
  /** Every counter in name order, made again only after one was added: snapshot() is a page that may be asked for often (`ustack up`'s http `/`). */
  #inNameOrder: Counter[] | null = null;

  /** The named counter, created at 0 on first use; it appears in `snapshot()` once incremented. */
  counter(name: Name): Counter {
    let counter = this.counters.get(name);
    if (counter === undefined) {
      counter = new Counter(name);
      this.counters.set(name, counter);
      this.#inNameOrder = null;
    }
    return counter;
  }

  /** Adds `n` (default 1) to the named counter. */
  increment(name: Name, n = 1): void {
    this.counter(name).increment(n);
  }

  /** The counter's value; 0 for a counter never incremented. */
  get(name: Name): number {
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
    const snapshot: Record<string, number> = {};
    for (const counter of this.inNameOrder()) if (counter.incremented) snapshot[counter.name] = counter.value;
    return snapshot;
  }

  /**
   * A line `name value` for each counter above 0, in name order, each ending in a newline: the
   * page `ustack up`'s http `/` serves on every request, built without a snapshot object (a
   * hundred-odd keys, a dictionary in V8) and the arrays between them.
   */
  lines(): string {
    let text = '';
    for (const counter of this.inNameOrder()) if (counter.value > 0) text += `${counter.name} ${counter.value}\n`;
    return text;
  }

  private inNameOrder(): Counter[] {
    return (this.#inNameOrder ??= [...this.counters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  }
}

/** One named counter of a Stats. */
export class Counter {
  /** The count so far. */
  value = 0;
  /** Whether `increment` was ever called (a counter only looked up stays out of snapshots). */
  incremented = false;

  /** A counter at 0, named `name` (Stats.counter makes them). */
  constructor(
    /** The counter's dotted name (`drop.tcp.synQueueFull`). */
    readonly name: string,
  ) {}

  /** Adds `n` (default 1). */
  increment(n = 1): void {
    this.value += n;
    this.incremented = true;
  }
}

/**
 * A family of counters: one per value of the `<Part>` in its pattern (`drop.tcp.<DecodeReason>`
 * is `drop.tcp.truncated`, `drop.tcp.badChecksum`…).
 */
export interface CounterFamily<Part extends string> {
  /** What each counter of the family counts. */
  readonly doc: string;
  /** Every value the part takes, or null when it is open (the name of an interface). */
  readonly parts: readonly Part[] | null;
}

/**
 * What a layer counts: each key a counter's name with one line on what it counts, or a
 * family's pattern (one `<Part>` placeholder) with a `CounterFamily`.
 */
export type CounterRegistry = { readonly [pattern: string]: string | CounterFamily<string> };

/** Every counter name a registry declares: its plain names, and each family's pattern with its part filled in. */
export type CounterNameOf<Registry extends CounterRegistry> = {
  [Pattern in keyof Registry & string]: Registry[Pattern] extends CounterFamily<infer Part>
    ? Pattern extends `${infer Head}<${string}>${infer Tail}`
      ? `${Head}${Part}${Tail}`
      : never
    : Pattern;
}[keyof Registry & string];

/**
 * A family whose part takes every value of the union `Part`, listed as the keys of `values`:
 * give `Part` explicitly and the compiler rejects a value missing or extra.
 */
export function counterFamily<Part extends string>(doc: string, values: { readonly [Value in Part]: true }): CounterFamily<Part> {
  return { doc, parts: Object.keys(values) as Part[] };
}

/** A family whose part is any string, such as the name an interface was given. */
export function openCounterFamily(doc: string): CounterFamily<string> {
  return { doc, parts: null };
}
