/**
 * The receive-side reassembler: segment text that arrives out of order is held until the hole
 * before it fills, then delivered in order (RFC 9293 §3.10.7.4, "seventh, process the segment
 * text"), and the held ranges are what the receiver advertises in SACK blocks (RFC 2018 §4),
 * with a D-SACK block first when a segment repeated data already received (RFC 2883 §4).
 *
 * Choices:
 * - Where a segment overlaps bytes already held, the first copy is kept and the new copy of
 *   those bytes is a duplicate (as Linux does); only the gaps it fills are taken.
 * - Data is borrowed for the duration of `insert`: bytes delivered at once are views into the
 *   caller's `data` (zero-copy), and bytes held for later are copied, so the caller may reuse its
 *   frame buffer after the call. Held chunks, once delivered, belong to the caller.
 * - Held chunks are never merged or re-copied; a block is a run of adjacent chunks.
 * - "Recency" for SACK ordering is an insertion counter, not time: each `insert` call stamps
 *   the chunks it adds or repeats.
 *
 * All positions are absolute sequence numbers compared through `seq.ts`, so a stream may cross
 * 2^32 anywhere; everything held lies within the receive window, far less than 2^31 wide.
 */
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub, type SeqNumber } from './seq.js';
import type { SackBlock } from './tcp-options.js';

/** What one `ReceiveAssembler.insert` did. */
export interface AssemblerResult {
  /** Bytes now deliverable in order, starting at the old rcvNxt; empty when none. */
  readonly delivered: readonly Uint8Array[];
  /** Total length of `delivered`. */
  readonly deliveredBytes: number;
  /** RCV.NXT after this segment: the old one advanced by `deliveredBytes`. */
  readonly rcvNxt: SeqNumber;
  /** Bytes of the segment newly held out of order. */
  readonly heldBytesAdded: number;
  /** Bytes of the segment that were already received: before rcvNxt or already held. */
  readonly duplicateBytes: number;
  /**
   * The first contiguous run of duplicate bytes, for a D-SACK block (RFC 2883 §4); undefined
   * when nothing was a duplicate. A second, separate duplicate run in the same segment is
   * counted in `duplicateBytes` but not reported here, since one D-SACK block names one range.
   */
  readonly duplicate: SackBlock | undefined;
  /** Out-of-order bytes not held because the limit was reached (the caller counts the drop). */
  readonly refusedBytes: number;
}

/** A held run of bytes: `data` occupies [seq, seq + data.length). */
interface Chunk {
  seq: SeqNumber;
  data: Uint8Array;
  /** The insert call that last added or repeated this chunk (RFC 2018 §4 ordering). */
  stamp: number;
  /** True while `data` is still a view of the caller's buffer (only inside `insert`). */
  borrowed: boolean;
}

/** A piece of the incoming segment that no held chunk covers. */
interface Gap {
  seq: SeqNumber;
  data: Uint8Array;
}

/**
 * Duplicate bytes seen by one insert: their count, and the first contiguous run of them (RFC
 * 2883 §4: one D-SACK block; a later run is reported only if it extends the first).
 */
class DuplicateTally {
  bytes = 0;
  first: { leftEdge: SeqNumber; rightEdge: SeqNumber } | undefined = undefined;

  note(start: SeqNumber, length: number): void {
    if (length <= 0) return;
    this.bytes += length;
    if (this.first === undefined) this.first = { leftEdge: start, rightEdge: seqAdd(start, length) };
    else if (this.first.rightEdge === start) this.first.rightEdge = seqAdd(start, length);
  }
}

/** An empty chunk list for results that deliver nothing. */
const NOTHING: readonly Uint8Array[] = Object.freeze([]);

/**
 * Holds out-of-order segment text for one connection and yields it in order.
 */
export class ReceiveAssembler {
  /**
   * The most out-of-order bytes held at once; new out-of-order data beyond it is refused.
   * In-order data is never refused (the receive window bounds it). May be changed at any time;
   * lowering it keeps what is already held.
   */
  limitBytes: number;
  /** Held chunks in sequence order, non-overlapping, all after rcvNxt. */
  private chunks: Chunk[] = [];
  private held = 0;
  private stampCounter = 0;

  constructor(limitBytes: number) {
    if (!(limitBytes >= 0)) throw new RangeError(`ReceiveAssembler: bad limit ${limitBytes}`);
    this.limitBytes = limitBytes;
  }

  /** Bytes held out of order. */
  get heldBytes(): number {
    return this.held;
  }

  /** True if anything is held out of order, i.e. there is a hole at rcvNxt. */
  get holes(): boolean {
    return this.chunks.length > 0;
  }

  /** Drops everything held (on reset or close). */
  clear(): void {
    this.chunks = [];
    this.held = 0;
  }

  /**
   * Offers segment text `data` starting at sequence number `seq`, when the receiver expects
   * `rcvNxt`. The caller has already trimmed anything beyond RCV.NXT + RCV.WND (RFC 9293
   * §3.10.7.4, "first, check sequence number"); bytes before `rcvNxt` are trimmed here and
   * reported as duplicates (RFC 2883 §4: a D-SACK block may lie below the cumulative ACK).
   *
   * Whatever becomes contiguous with `rcvNxt` — the segment's own bytes and then any held chunks
   * the segment reached — is returned in order and no longer held.
   */
  insert(seq: SeqNumber, data: Uint8Array, rcvNxt: SeqNumber): AssemblerResult {
    this.stampCounter += 1;
    const stamp = this.stampCounter;
    if (seq === rcvNxt && this.chunks.length === 0 && data.length > 0) {
      // The common case, the next bytes in order with nothing held: delivered as they are
      // (borrowed), nothing to trim, split, hold or report.
      return {
        delivered: [data],
        deliveredBytes: data.length,
        rcvNxt: seqAdd(rcvNxt, data.length),
        heldBytesAdded: 0,
        duplicateBytes: 0,
        duplicate: undefined,
        refusedBytes: 0,
      };
    }
    this.discardBefore(rcvNxt);

    const duplicates = new DuplicateTally();

    // Trim what lies before rcvNxt: already delivered, a duplicate.
    let start = seq;
    let bytes = data;
    if (seqLt(start, rcvNxt)) {
      const before = Math.min(bytes.length, seqSub(rcvNxt, start));
      duplicates.note(start, before);
      bytes = bytes.subarray(before);
      start = rcvNxt;
    }

    // Split the rest into the gaps between held chunks; the covered parts are duplicates.
    const gaps: Gap[] = [];
    let index = this.firstChunkEndingAfter(start);
    let cursor = start;
    let remaining = bytes.length;
    while (remaining > 0) {
      const chunk = index < this.chunks.length ? this.chunks[index] : undefined;
      if (chunk === undefined || seqGe(chunk.seq, seqAdd(cursor, remaining))) {
        gaps.push({ seq: cursor, data: bytes.subarray(bytes.length - remaining) });
        break;
      }
      if (seqLt(cursor, chunk.seq)) {
        const gapLength = seqSub(chunk.seq, cursor);
        gaps.push({ seq: cursor, data: bytes.subarray(bytes.length - remaining, bytes.length - remaining + gapLength) });
        cursor = chunk.seq;
        remaining -= gapLength;
      }
      // Overlap with the chunk: keep the held copy, count ours as a duplicate (RFC 2883 §4),
      // and stamp the chunk so its block is reported right after the D-SACK block.
      const chunkEnd = seqAdd(chunk.seq, chunk.data.length);
      const overlap = Math.min(remaining, seqSub(chunkEnd, cursor));
      duplicates.note(cursor, overlap);
      chunk.stamp = stamp;
      cursor = seqAdd(cursor, overlap);
      remaining -= overlap;
      index += 1;
    }

    // Place the gaps as borrowed chunks, then deliver whatever is now contiguous with rcvNxt.
    for (const gap of gaps) {
      this.chunks.splice(this.firstChunkEndingAfter(gap.seq), 0, { seq: gap.seq, data: gap.data, stamp, borrowed: true });
    }
    const delivered: Uint8Array[] = [];
    let deliveredBytes = 0;
    let next = rcvNxt;
    let taken = 0;
    while (taken < this.chunks.length && this.chunks[taken].seq === next) {
      const chunk = this.chunks[taken];
      delivered.push(chunk.data);
      deliveredBytes += chunk.data.length;
      if (!chunk.borrowed) this.held -= chunk.data.length;
      next = seqAdd(next, chunk.data.length);
      taken += 1;
    }
    if (taken > 0) this.chunks.splice(0, taken);

    // What is still borrowed is out of order: copy it if the limit allows, in sequence order,
    // and refuse it (and the rest of this segment) from the first gap that does not fit.
    let heldBytesAdded = 0;
    let refusedBytes = 0;
    let refusing = false;
    let kept = 0;
    for (const chunk of this.chunks) {
      if (chunk.borrowed) {
        const length = chunk.data.length;
        if (refusing || this.held + length > this.limitBytes) {
          refusing = true;
          refusedBytes += length;
          continue;
        }
        chunk.data = chunk.data.slice();
        chunk.borrowed = false;
        this.held += length;
        heldBytesAdded += length;
      }
      this.chunks[kept] = chunk;
      kept += 1;
    }
    this.chunks.length = kept;

    return {
      delivered: delivered.length === 0 ? NOTHING : delivered,
      deliveredBytes,
      rcvNxt: next,
      heldBytesAdded,
      duplicateBytes: duplicates.bytes,
      duplicate: duplicates.first,
      refusedBytes,
    };
  }

  /**
   * SACK blocks to advertise, at most `max` of them including `dsack` (the caller computes
   * `max` from option space: 4 without timestamps, 3 with, RFC 2018 §3).
   *
   * If `dsack` is given it comes first (RFC 2883 §4). Then the held blocks, most recently
   * changed first (RFC 2018 §4): the block holding the latest segment first, then the others in
   * the order segments last landed in them, which is the order they were last reported first.
   * Ties (blocks that one segment both touched) go in sequence order.
   */
  sackBlocks(max: number, dsack?: SackBlock): SackBlock[] {
    const out: SackBlock[] = [];
    if (max <= 0) return out;
    if (dsack !== undefined) out.push({ leftEdge: dsack.leftEdge, rightEdge: dsack.rightEdge });
    const blocks: { leftEdge: SeqNumber; rightEdge: SeqNumber; stamp: number }[] = [];
    for (const chunk of this.chunks) {
      const last = blocks.length > 0 ? blocks[blocks.length - 1] : undefined;
      const end = seqAdd(chunk.seq, chunk.data.length);
      if (last !== undefined && last.rightEdge === chunk.seq) {
        last.rightEdge = end;
        last.stamp = Math.max(last.stamp, chunk.stamp);
      } else {
        blocks.push({ leftEdge: chunk.seq, rightEdge: end, stamp: chunk.stamp });
      }
    }
    // Array.prototype.sort is stable, so equal stamps keep sequence order.
    blocks.sort((a, b) => b.stamp - a.stamp);
    for (const block of blocks) {
      if (out.length >= max) break;
      out.push({ leftEdge: block.leftEdge, rightEdge: block.rightEdge });
    }
    return out;
  }

  /** Index of the first chunk whose end lies after `seq` (chunks.length if none). */
  private firstChunkEndingAfter(seq: SeqNumber): number {
    let low = 0;
    let high = this.chunks.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const chunk = this.chunks[middle];
      if (seqLe(seqAdd(chunk.seq, chunk.data.length), seq)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * Drops held bytes before `rcvNxt`. Normally there are none (held data always lies after the
   * rcvNxt the assembler last returned); this keeps the invariant if the caller moved rcvNxt.
   */
  private discardBefore(rcvNxt: SeqNumber): void {
    let drop = 0;
    while (drop < this.chunks.length && seqLt(this.chunks[drop].seq, rcvNxt)) {
      const chunk = this.chunks[drop];
      const end = seqAdd(chunk.seq, chunk.data.length);
      if (seqGt(end, rcvNxt)) {
        const cut = seqSub(rcvNxt, chunk.seq);
        chunk.data = chunk.data.subarray(cut);
        chunk.seq = rcvNxt;
        this.held -= cut;
        break;
      }
      this.held -= chunk.data.length;
      drop += 1;
    }
    if (drop > 0) this.chunks.splice(0, drop);
  }
}
