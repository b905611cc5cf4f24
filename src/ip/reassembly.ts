/**
 * The reassembly bookkeeping both families share (RFC 815's hole list, as a sorted list of the
 * pieces held): partial datagrams by key, each with its deadline, its pieces sorted by offset and
 * never overlapping, its total length once the last piece came, and the bytes it is charged
 * against the host's budget. IPv4's reassembler (fragments.ts, RFC 791) and IPv6's
 * (ipv6-fragments.ts, RFC 8200 §4.5) check what their own RFC asks of a fragment, hand the piece
 * here, keep what their first fragment leaves (`First`), and build the datagram when it is whole.
 *
 * The one rule the families read differently is which fragment counts as a duplicate rather than
 * an overlap (`DuplicateFragments`); every other overlap discards the whole datagram, as RFC 5722
 * prescribes for IPv6 and Linux does for IPv4.
 */

/** Limits on reassembly. */
export interface ReassemblyConfig {
  /** Time a partial datagram is kept (ms). RFC 791 suggests 15 s; Linux and we use 30 s (IPv6: 60 s, RFC 8200 §4.5). */
  readonly timeoutMs: number;
  /** Bytes all partial datagrams may hold together (Linux ipfrag_high_thresh: 4 MiB). */
  readonly memoryLimit: number;
  /** Fragments one datagram may have. */
  readonly maxFragmentsPerDatagram: number;
}

/**
 * The bytes held by every partial datagram of a host, IPv4's and IPv6's together: one budget
 * (`ReassemblyConfig.memoryLimit`), so that fragments of one family cannot take twice the
 * memory by arriving as both (Linux keeps a limit per family; one shared limit is the stricter
 * reading of "bounded").
 */
export class ReassemblyMemory {
  /** Bytes charged now. */
  inUse = 0;

  constructor(
    /** Bytes all partial datagrams may hold together. */
    public limit: number,
  ) {}

  /** Whether `cost` more bytes fit. */
  fits(cost: number): boolean {
    return this.inUse + cost <= this.limit;
  }
}

/** Why a fragment was not kept; counted as `drop.ipv4.<reason>` or `drop.ipv6.<reason>`. */
export type ReassemblyDrop = 'fragmentOverlap' | 'fragmentDuplicate' | 'fragmentTooLong' | 'fragmentInconsistent' | 'reassemblyMemoryFull' | 'tooManyFragments';

/** Every ReassemblyDrop, for the counter families of both families (ip-counters.ts, ipv6-counters.ts). */
export const REASSEMBLY_DROPS: { readonly [Drop in ReassemblyDrop]: true } = {
  fragmentOverlap: true,
  fragmentDuplicate: true,
  fragmentTooLong: true,
  fragmentInconsistent: true,
  reassemblyMemoryFull: true,
  tooManyFragments: true,
};

/** A fragment refused, and why. */
export interface ReassemblyDropped {
  readonly kind: 'dropped';
  readonly reason: ReassemblyDrop;
}

/**
 * Which fragment is dropped alone as a duplicate (the rest of an overlap discards the datagram):
 * - `'contained'`: any fragment lying wholly inside one held, as Linux's IPFRAG_DUP does for
 *   IPv4 (RFC 791 says nothing of duplicates).
 * - `'exact'`: only one at the same offset with the same length: RFC 8200 §4.5 "may choose to
 *   detect this case and drop exact duplicate fragments"; any other overlap is RFC 5722's.
 */
export type DuplicateFragments = 'contained' | 'exact';

/** Bytes charged per fragment on top of its data, so that tiny fragments cannot be free. */
export const FRAGMENT_OVERHEAD = 64;

/** A piece of a datagram's data held. */
interface Piece {
  readonly offset: number;
  readonly data: Uint8Array;
}

/** A datagram being reassembled. */
export interface PartialDatagram<First> {
  /** What names the datagram (the family's fields that identify it, as text). */
  readonly key: string;
  readonly deadline: number;
  /** Sorted by offset, never overlapping. */
  readonly pieces: Piece[];
  /** What the family keeps of its first fragment (offset 0), once it arrived. */
  first: First | null;
  /** Total data length, known once the last fragment (more-fragments clear) arrived. */
  totalLength: number | null;
  /** Bytes charged to the budget for it. */
  charged: number;
}

/** Partial datagrams of one family, charged to the host's budget. Time comes in as an argument. */
export class FragmentReassembly<First> {
  private readonly partials = new Map<string, PartialDatagram<First>>();
  private memoryInUse = 0;

  constructor(
    private readonly config: ReassemblyConfig,
    /** The host's reassembly budget, shared by both families. */
    readonly budget: ReassemblyMemory,
    private readonly duplicates: DuplicateFragments,
  ) {}

  /** Bytes held by this family's partial datagrams. */
  get memory(): number {
    return this.memoryInUse;
  }

  /** Datagrams being reassembled. */
  get pending(): number {
    return this.partials.size;
  }

  /** The datagram named `key`, if one is being reassembled. */
  partial(key: string): PartialDatagram<First> | undefined {
    return this.partials.get(key);
  }

  /**
   * Files `data` at `offset` of the datagram named `key` (starting one, with its deadline, if
   * none is held), charging `cost` bytes. Refuses it when the budget is spent, when a last piece
   * disagrees with the length known or a piece runs past it, on a duplicate (`duplicates`), an
   * overlap, or one piece too many; all but the first and the duplicate discard the datagram.
   */
  add(key: string, offset: number, data: Uint8Array, moreFragments: boolean, cost: number, now: number): PartialDatagram<First> | ReassemblyDropped {
    const end = offset + data.length;
    if (!this.budget.fits(cost)) return { kind: 'dropped', reason: 'reassemblyMemoryFull' };
    let partial = this.partials.get(key);
    if (!partial) {
      partial = { key, deadline: now + this.config.timeoutMs, pieces: [], first: null, totalLength: null, charged: 0 };
      this.partials.set(key, partial);
    }
    if (!moreFragments) {
      // The last fragment fixes the length; one that disagrees with what is held is an error.
      if ((partial.totalLength !== null && partial.totalLength !== end) || end < highestEnd(partial)) return this.drop(partial, 'fragmentInconsistent');
      partial.totalLength = end;
    } else if (partial.totalLength !== null && end > partial.totalLength) {
      return this.drop(partial, 'fragmentInconsistent');
    }
    // Find the insertion point and check the neighbours for overlap.
    const pieces = partial.pieces;
    let index = 0;
    while (index < pieces.length && pieces[index].offset < offset) index++;
    const next = pieces[index];
    const previous = pieces[index - 1];
    if (this.isDuplicate(offset, end, previous, next)) return { kind: 'dropped', reason: 'fragmentDuplicate' };
    if ((previous && previous.offset + previous.data.length > offset) || (next && next.offset < end)) return this.drop(partial, 'fragmentOverlap');
    if (pieces.length >= this.config.maxFragmentsPerDatagram) return this.drop(partial, 'tooManyFragments');
    pieces.splice(index, 0, { offset, data: data.slice() });
    partial.charged += cost;
    this.memoryInUse += cost;
    this.budget.inUse += cost;
    return partial;
  }

  /** Whether every byte up to the total length is held and the first fragment's part is kept. */
  isComplete(partial: PartialDatagram<First>): boolean {
    if (partial.totalLength === null || partial.first === null) return false;
    let covered = 0;
    for (const piece of partial.pieces) {
      if (piece.offset !== covered) return false;
      covered += piece.data.length;
    }
    return covered === partial.totalLength;
  }

  /** Copies a complete datagram's data into `into` from `at` on, and lets the datagram go. */
  assemble(partial: PartialDatagram<First>, into: Uint8Array, at: number): void {
    for (const piece of partial.pieces) into.set(piece.data, at + piece.offset);
    this.discard(partial);
  }

  /** Discards the datagram, refusing the fragment for `reason`. */
  drop(partial: PartialDatagram<First>, reason: ReassemblyDrop): ReassemblyDropped {
    this.discard(partial);
    return { kind: 'dropped', reason };
  }

  /** Removes the datagrams whose time ran out (RFC 791 §3.2 "timer runs out", RFC 8200 §4.5) and returns them. */
  expire(now: number): PartialDatagram<First>[] {
    const expired: PartialDatagram<First>[] = [];
    for (const partial of this.partials.values()) {
      if (partial.deadline > now) continue;
      expired.push(partial);
      this.discard(partial);
    }
    return expired;
  }

  /** The earliest deadline, or Infinity. */
  pollAt(): number {
    if (this.partials.size === 0) return Infinity;
    let earliest = Infinity;
    for (const partial of this.partials.values()) earliest = Math.min(earliest, partial.deadline);
    return earliest;
  }

  /** Lets a datagram go, giving its bytes back to the budget. */
  discard(partial: PartialDatagram<First>): void {
    this.memoryInUse -= partial.charged;
    this.budget.inUse -= partial.charged;
    this.partials.delete(partial.key);
  }

  private isDuplicate(start: number, end: number, previous: Piece | undefined, next: Piece | undefined): boolean {
    if (this.duplicates === 'exact') return next !== undefined && next.offset === start && next.data.length === end - start;
    const container = next && next.offset === start ? next : previous;
    return container !== undefined && container.offset <= start && end <= container.offset + container.data.length;
  }
}

function highestEnd(partial: PartialDatagram<unknown>): number {
  const last = partial.pieces[partial.pieces.length - 1];
  return last ? last.offset + last.data.length : 0;
}
