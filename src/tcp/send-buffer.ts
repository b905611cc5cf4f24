/**
 * The send buffer: bytes the application wrote that the peer has not yet acknowledged
 * (RFC 9293 §3.3.1, the part of the send sequence space from SND.UNA onward, sent or not).
 *
 * A ring over one Uint8Array. Offsets are counted from the head, which is SND.UNA: offset
 * `SND.NXT − SND.UNA` is the first unsent byte. The caller maps sequence numbers to offsets
 * (with `seqSub`), so nothing here knows about sequence space or its wrap.
 *
 * Storage grows lazily, doubling from a small first allocation up to `capacity`, so an idle
 * socket with a large SO_SNDBUF costs nothing. It never shrinks while it holds data; once it is
 * empty and the capacity has been lowered below its size, or the connection is at rest
 * (`release`), it is released.
 */
import { NO_BYTES } from '../core/bytes.js';

/** The first allocation: enough for a few segments, small enough for thousands of idle sockets. */
export const INITIAL_STORAGE = 4096;

/**
 * First-size storage (INITIAL_STORAGE bytes) that send buffers dropped, for the next one that
 * needs it: one per stack (TcpLayer). A connection at rest releases its send buffer's storage
 * (an idle connection holds none) and the next write allocates again, so a server answering
 * requests on a thousand keep-alive connections made and collected a 4 KiB ArrayBuffer per
 * response. Here a resting connection's storage goes back and a busy one takes it: the same
 * arrays circulate. Bounded (`limit` arrays), so what a stack keeps for this does not grow with
 * its connections, idle or not; taken last in, first out, so which array a buffer gets depends
 * only on the order of releases (nothing in a buffer's behavior depends on it: bytes outside
 * what it holds are never read).
 */
export class SendStoragePool {
  private readonly arrays: Uint8Array[] = [];

  /** At most `limit` arrays are kept; a release beyond them is left to the garbage collector. */
  constructor(readonly limit: number) {}

  /** Arrays held now (for tests and memory accounts). */
  get size(): number {
    return this.arrays.length;
  }

  /** An array of INITIAL_STORAGE bytes, undefined when none is kept. */
  take(): Uint8Array | undefined {
    return this.arrays.pop();
  }

  /** Keeps `storage` (INITIAL_STORAGE bytes, no longer referenced by its buffer) if there is room. */
  give(storage: Uint8Array): void {
    if (this.arrays.length < this.limit) this.arrays.push(storage);
  }
}

/** A byte ring holding unacknowledged and unsent data, with a settable capacity (SO_SNDBUF). */
export class SendBuffer {
  /** The ring; the shared NO_BYTES until the first write and after a release. */
  private storage: Uint8Array = NO_BYTES;
  /** Index in `storage` of offset 0 (SND.UNA). */
  private head = 0;
  private held = 0;
  private limit: number;

  /** `pool`: where first-size storage comes from and goes back to (the stack's), if anywhere. */
  constructor(
    capacity: number,
    private readonly pool?: SendStoragePool,
  ) {
    this.limit = checkedCapacity(capacity);
  }

  /** Bytes held: sent-but-unacknowledged plus unsent. */
  get length(): number {
    return this.held;
  }

  /** Bytes `write` would accept now (0 when the capacity was lowered below `length`). */
  get free(): number {
    return Math.max(0, this.limit - this.held);
  }

  /**
   * The most bytes the buffer will hold. Raising it keeps the data and lets storage grow
   * further on later writes; lowering it below `length` drops nothing and only refuses writes
   * until enough is consumed.
   */
  get capacity(): number {
    return this.limit;
  }

  set capacity(capacity: number) {
    this.limit = checkedCapacity(capacity);
    if (this.held === 0 && this.storage.length > this.limit) this.release();
  }

  /** Drops the storage of an empty buffer (the connection is at rest); the next write allocates again. */
  release(): void {
    if (this.held > 0) return;
    this.dropStorage();
    this.storage = NO_BYTES;
    this.head = 0;
  }

  /** The storage is being replaced: first-size storage goes back to the pool. */
  private dropStorage(): void {
    if (this.storage.length === INITIAL_STORAGE) this.pool?.give(this.storage);
  }

  /** Bytes of storage allocated now (for tests and memory accounting); at most max(capacity, what was ever needed). */
  get allocated(): number {
    return this.storage.length;
  }

  /** Appends as much of `data` as fits (a copy) and returns how many bytes were taken. */
  write(data: Uint8Array): number {
    const accepted = Math.min(data.length, this.free);
    if (accepted === 0) return 0;
    this.reserve(this.held + accepted);
    const size = this.storage.length;
    const tail = (this.head + this.held) % size;
    const firstPart = Math.min(accepted, size - tail);
    this.storage.set(data.subarray(0, firstPart), tail);
    if (firstPart < accepted) this.storage.set(data.subarray(firstPart, accepted), 0);
    this.held += accepted;
    return accepted;
  }

  /**
   * Bytes [offset, offset + length) counted from the head (offset 0 is SND.UNA). When the range
   * is contiguous in storage this is a view, not a copy: it stays valid until those bytes are
   * consumed (a later write may then overwrite them), so copy it to keep it longer. A range that
   * wraps around the end of the ring is copied. Throws RangeError for a range outside
   * [0, length): a bug in the caller, never a consequence of input.
   */
  read(offset: number, length: number): Uint8Array {
    this.checkRange(offset, length);
    if (length === 0) return new Uint8Array(0);
    const size = this.storage.length;
    const start = (this.head + offset) % size;
    if (start + length <= size) return this.storage.subarray(start, start + length);
    const out = new Uint8Array(length);
    this.copyTo(offset, length, out, 0);
    return out;
  }

  /**
   * Copies bytes [offset, offset + length) from the head into `out` at `outOffset`, for building
   * a segment in place in an outgoing frame. Throws RangeError for a range outside [0, length) or
   * an `out` too short.
   */
  copyTo(offset: number, length: number, out: Uint8Array, outOffset: number): void {
    this.checkRange(offset, length);
    if (!(Number.isInteger(outOffset) && outOffset >= 0 && outOffset + length <= out.length)) {
      throw new RangeError(`SendBuffer.copyTo: ${length} bytes do not fit at ${outOffset} in ${out.length}`);
    }
    if (length === 0) return;
    const size = this.storage.length;
    const start = (this.head + offset) % size;
    const firstPart = Math.min(length, size - start);
    out.set(this.storage.subarray(start, start + firstPart), outOffset);
    if (firstPart < length) out.set(this.storage.subarray(0, length - firstPart), outOffset + firstPart);
  }

  /**
   * Drops `length` acknowledged bytes from the head (SND.UNA advanced by `length`). Throws
   * RangeError for more than `length` bytes: the caller must have checked the ACK against
   * SND.NXT (RFC 9293 §3.10.7.4, "fifth, check the ACK field").
   */
  consume(length: number): void {
    if (!(Number.isInteger(length) && length >= 0 && length <= this.held)) {
      throw new RangeError(`SendBuffer.consume: ${length} of ${this.held} bytes`);
    }
    this.held -= length;
    // An empty ring restarts at index 0, so the next writes are contiguous and reads stay views.
    this.head = this.held === 0 ? 0 : (this.head + length) % this.storage.length;
  }

  private checkRange(offset: number, length: number): void {
    if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.held)) {
      throw new RangeError(`SendBuffer: range [${offset}, ${offset}+${length}) outside the ${this.held} bytes held`);
    }
  }

  /** Makes storage at least `needed` bytes, doubling, never past max(capacity, needed); unwraps the data. */
  private reserve(needed: number): void {
    const current = this.storage.length;
    if (needed <= current) return;
    let size = Math.max(current, Math.min(INITIAL_STORAGE, this.limit));
    while (size < needed) size *= 2;
    size = Math.max(needed, Math.min(size, this.limit));
    const grown = (size === INITIAL_STORAGE && this.pool?.take()) || new Uint8Array(size);
    if (this.held > 0) {
      const firstPart = Math.min(this.held, current - this.head);
      grown.set(this.storage.subarray(this.head, this.head + firstPart), 0);
      if (firstPart < this.held) grown.set(this.storage.subarray(0, this.held - firstPart), firstPart);
    }
    this.dropStorage();
    this.storage = grown;
    this.head = 0;
  }
}

function checkedCapacity(capacity: number): number {
  if (!(Number.isSafeInteger(capacity) && capacity >= 0)) throw new RangeError(`SendBuffer: bad capacity ${capacity}`);
  return capacity;
}

/**
 * Where the application's writes ended in the data not yet sent: push points (RFC 9293 §3.9.1:
 * a write without MSG_MORE asks for its data to be pushed, and the segment carrying its last
 * byte has PSH, as Linux marks the tail of each write) and record ends (MSG_EOR: no segment
 * crosses one, so later data never rides with the record's last byte). Sequence numbers, in
 * order; a mark leaves once the segment covering it is sent.
 */
export class WriteMarks {
  private readonly positions: number[] = [];
  /** Per mark: 1 push, 2 end of record. */
  private readonly kinds: number[] = [];
  private head = 0;

  /** No mark is held: the same as a new WriteMarks. */
  get unused(): boolean {
    return this.positions.length === 0;
  }

  /** Marks `end` (the sequence number after a write's last byte). */
  add(end: number, push: boolean, endOfRecord: boolean): void {
    if (!push && !endOfRecord) return;
    const kind = (push ? 1 : 0) | (endOfRecord ? 2 : 0);
    const last = this.positions.length - 1;
    if (last >= this.head && this.positions[last] === end) {
      this.kinds[last] |= kind;
      return;
    }
    this.positions.push(end);
    this.kinds.push(kind);
  }

  /** Bytes from `start` to the next end of record, or Infinity. */
  untilRecordEnd(start: number): number {
    for (let i = this.head; i < this.positions.length; i++) {
      const distance = (this.positions[i] - start) | 0;
      if (distance > 0 && this.kinds[i] & 2) return distance;
    }
    return Infinity;
  }

  /** Whether a mark up to `end` asks for a push (what `take(end)` would say, forgetting nothing). */
  pushUpTo(end: number): boolean {
    for (let i = this.head; i < this.positions.length && ((this.positions[i] - end) | 0) <= 0; i++) {
      if (this.kinds[i] & 1) return true;
    }
    return false;
  }

  /** Forgets the marks up to `end` (a segment [.., end) is being sent) and says whether one asked for a push. */
  take(end: number): boolean {
    let push = false;
    while (this.head < this.positions.length && ((this.positions[this.head] - end) | 0) <= 0) {
      if (this.kinds[this.head] & 1) push = true;
      this.head++;
    }
    if (this.head === this.positions.length) {
      this.positions.length = 0;
      this.kinds.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && 2 * this.head >= this.positions.length) {
      this.positions.splice(0, this.head);
      this.kinds.splice(0, this.head);
      this.head = 0;
    }
    return push;
  }
}
