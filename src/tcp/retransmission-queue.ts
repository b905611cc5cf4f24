/**
 * The retransmission queue (RFC 9293 §3.8.1) and the SACK scoreboard on it (RFC 6675 §4): the
 * segments sent and not yet cumulatively acknowledged, in sequence order, each of them SACKed,
 * deemed lost, or neither. Entries are contiguous in sequence space: each begins where the one
 * before it ends, so a sequence number finds its entry by binary search.
 *
 * The queue keeps running totals of the sequence space in each class, so that RFC 6675's
 * "pipe", "is anything lost?" and RACK's count of SACKed segments cost the same on every ACK
 * however many segments are in flight. That is why `sacked`, `lost` and `length` are readonly
 * outside this file: they change only through `markSacked`, `clearSacked`, `markLost`,
 * `clearLost` and `splitAt`. A segment is never SACKed and lost at once: SACKing clears lost,
 * and a SACKed segment is not marked lost (RFC 6675 §4 IsLost counts only un-SACKed octets).
 *
 * Acknowledged entries leave from the front by moving a head index; the array is compacted
 * once the dead prefix is as long as the live part, so removal costs O(1) amortised instead of
 * an O(flight) `splice` on every ACK.
 */
import { seqAdd, seqLe, seqSub } from './seq.js';

/** A segment sent and not yet acknowledged: an entry of the retransmission queue. */
export interface SentSegment {
  readonly seq: number;
  /** Sequence space: data plus SYN and FIN. */
  readonly length: number;
  readonly syn: boolean;
  readonly fin: boolean;
  /** It carries the end of a write (PSH); a retransmission carries PSH again only then. */
  readonly push: boolean;
  /**
   * Where the send unit it first left in ended (a sequence number): what is left of one unit
   * goes out again as one unit (Linux retransmits a lost skb whole, as far as cwnd allows).
   */
  readonly unitEnd: number;
  /** When it was last (re)transmitted (ms). */
  sentAt: number;
  /**
   * Order of that transmission among all of this connection's transmissions. RACK needs to know
   * which of two segments left first; at millisecond resolution many share `sentAt`, and a
   * retransmission can leave after new data with a higher sequence number.
   */
  sentOrder: number;
  /** Times retransmitted. */
  retransmits: number;
  /** Covered by a SACK block (RFC 6675 "SACKed"). */
  readonly sacked: boolean;
  /** Deemed lost and not yet retransmitted. */
  readonly lost: boolean;
}

/** What `push` needs: a first transmission is neither retransmitted, SACKed nor lost. */
export interface NewSentSegment {
  readonly seq: number;
  readonly length: number;
  readonly syn: boolean;
  readonly fin: boolean;
  readonly push: boolean;
  /** Where its send unit ends; the segment's own end if not given. */
  readonly unitEnd?: number;
  readonly sentAt: number;
  readonly sentOrder: number;
}

/** The entry as this file alone may change it. */
type Entry = { -readonly [K in keyof SentSegment]: SentSegment[K] };

/** Compact the array once at least this many dead entries precede the head (and half of it is dead). */
const COMPACT_AFTER = 64;

/** The retransmission queue of one connection, with its scoreboard totals. */
export class RetransmissionQueue {
  /** Entries from `head` on are live, oldest first; those before it are acknowledged. */
  private entries: Entry[] = [];
  private head = 0;
  /** Sequence space of all live entries (equals SND.NXT − SND.UNA once the SYN is sent). */
  private totalBytes = 0;
  private sackedTotal = 0;
  private sackedEntries = 0;
  private lostTotal = 0;
  private lostEntries = 0;
  private markedLost = 0;

  /** Number of entries. */
  get length(): number {
    return this.entries.length - this.head;
  }

  /** The entry at `index` (0 is the oldest); `index` must lie in [0, length). */
  at(index: number): SentSegment {
    return this.entries[this.head + index];
  }

  /** The oldest entry (the one SND.UNA falls in), or undefined when empty. */
  get first(): SentSegment | undefined {
    return this.head < this.entries.length ? this.entries[this.head] : undefined;
  }

  /** The newest entry, or undefined when empty. */
  get last(): SentSegment | undefined {
    return this.head < this.entries.length ? this.entries[this.entries.length - 1] : undefined;
  }

  /** Sequence space of every entry, SACKed and lost ones included. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Sequence space of SACKed entries. */
  get sackedBytes(): number {
    return this.sackedTotal;
  }

  /** Entries currently SACKed. */
  get sackedCount(): number {
    return this.sackedEntries;
  }

  /** Sequence space of entries deemed lost and not yet retransmitted. */
  get lostBytes(): number {
    return this.lostTotal;
  }

  /** Entries deemed lost and not yet retransmitted. */
  get lostCount(): number {
    return this.lostEntries;
  }

  /**
   * How many times an entry has been deemed lost, ever: a change across an ACK says the ACK
   * showed a further loss (RFC 9937's test for a "safe" ACK).
   */
  get lossMarks(): number {
    return this.markedLost;
  }

  /** RFC 6675 §4 "pipe": sequence space sent, neither SACKed nor deemed lost. */
  get pipe(): number {
    return this.totalBytes - this.sackedTotal - this.lostTotal;
  }

  /** Appends a first transmission (at SND.NXT). */
  push(segment: NewSentSegment): void {
    this.entries.push({
      seq: segment.seq,
      length: segment.length,
      syn: segment.syn,
      fin: segment.fin,
      push: segment.push,
      unitEnd: segment.unitEnd ?? seqAdd(segment.seq, segment.length),
      sentAt: segment.sentAt,
      sentOrder: segment.sentOrder,
      retransmits: 0,
      sacked: false,
      lost: false,
    });
    this.totalBytes += segment.length;
  }

  /** Removes the `count` oldest entries (cumulatively acknowledged). */
  dropFront(count: number): void {
    for (let i = this.head; i < this.head + count; i++) this.forget(this.entries[i]);
    this.head += count;
    if (this.head === this.entries.length) {
      this.entries = []; // cheaper than emptying the old one (length = 0)
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && 2 * this.head >= this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Removes every entry. */
  clear(): void {
    this.entries = [];
    this.head = 0;
    this.totalBytes = this.sackedTotal = this.sackedEntries = this.lostTotal = this.lostEntries = 0;
  }

  /**
   * Splits the entry at `index` at sequence number `at` (strictly inside it) into two entries in
   * the same state, so that SACK edges and partial ACKs always fall on entry boundaries. The
   * head keeps SYN, the tail keeps FIN and PSH.
   */
  splitAt(index: number, at: number): void {
    const segment = this.entries[this.head + index];
    const headLength = seqSub(at, segment.seq);
    const tail: Entry = { ...segment, seq: at, length: segment.length - headLength, syn: false };
    segment.length = headLength;
    segment.fin = false;
    segment.push = false; // PSH stays with the last byte (as Linux's tcp_fragment)
    this.entries.splice(this.head + index + 1, 0, tail);
    if (tail.sacked) this.sackedEntries++;
    if (tail.lost) this.lostEntries++;
  }

  /** Marks an entry covered by a SACK block; it is no longer lost. */
  markSacked(segment: SentSegment): void {
    const entry = segment as Entry;
    if (entry.sacked) return;
    if (entry.lost) this.clearLost(entry);
    entry.sacked = true;
    this.sackedTotal += entry.length;
    this.sackedEntries++;
  }

  /**
   * Forgets every SACK mark: the receiver may have discarded data it SACKed (RFC 2018 §8,
   * reneging), so SACKed entries are outstanding again. Returns how many were SACKed.
   */
  clearSacked(): number {
    const cleared = this.sackedEntries;
    if (cleared === 0) return 0;
    for (let i = this.head; i < this.entries.length; i++) this.entries[i].sacked = false;
    this.sackedTotal = this.sackedEntries = 0;
    return cleared;
  }

  /** Deems an entry lost (RFC 6675 §4 IsLost, RACK, an RTO); SACKed entries are never lost. */
  markLost(segment: SentSegment): void {
    const entry = segment as Entry;
    if (entry.lost || entry.sacked) return;
    entry.lost = true;
    this.lostTotal += entry.length;
    this.lostEntries++;
    this.markedLost++;
  }

  /** The entry was retransmitted: it is in the pipe again. */
  clearLost(segment: SentSegment): void {
    const entry = segment as Entry;
    if (!entry.lost) return;
    entry.lost = false;
    this.lostTotal -= entry.length;
    this.lostEntries--;
  }

  /** Forgets every loss mark: nothing was lost after all (a spurious timeout, RFC 5682). Returns how many were lost. */
  clearAllLost(): number {
    const cleared = this.lostEntries;
    if (cleared === 0) return 0;
    for (let i = this.head; i < this.entries.length; i++) this.entries[i].lost = false;
    this.lostTotal = this.lostEntries = 0;
    return cleared;
  }

  /** Index of the first entry ending after `seq` (entries ending at or before it are behind it); length if none. */
  firstEndingAfter(seq: number): number {
    let low = this.head;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const entry = this.entries[middle];
      if (seqLe(seqAdd(entry.seq, entry.length), seq)) low = middle + 1;
      else high = middle;
    }
    return low - this.head;
  }

  /** Index of `segment`, or -1. */
  indexOf(segment: SentSegment): number {
    const index = this.entries.indexOf(segment as Entry, this.head);
    return index < 0 ? -1 : index - this.head;
  }

  /** The oldest entry deemed lost, or undefined. */
  firstLost(): SentSegment | undefined {
    if (this.lostEntries === 0) return undefined;
    for (let i = this.head; i < this.entries.length; i++) if (this.entries[i].lost) return this.entries[i];
    return undefined;
  }

  /** The entries, oldest first. */
  *[Symbol.iterator](): IterableIterator<SentSegment> {
    for (let i = this.head; i < this.entries.length; i++) yield this.entries[i];
  }

  /** Takes an entry that leaves the queue out of the totals. */
  private forget(entry: Entry): void {
    this.totalBytes -= entry.length;
    if (entry.sacked) {
      this.sackedTotal -= entry.length;
      this.sackedEntries--;
    }
    if (entry.lost) {
      this.lostTotal -= entry.length;
      this.lostEntries--;
    }
  }
}
