/**
 * A connection's in-order receive queue (RFC 9293 §3.10.7.4, "seventh, process the segment
 * text": data queued for the user's RECEIVE) as one byte ring. A received frame is only lent to
 * the stack for the duration of its receive (docs/architecture.md, "Link"): the bytes that wait
 * for the application are copied in once here, and copied out once by `read`, so the frame's
 * memory — a TUN read batch the driver reuses — is free again when the receive returns.
 *
 * The ring is made when data first waits and grows on demand, doubling, up to the receive buffer
 * size (beyond it only when more than that is queued: a buffer shrunk under queued data); the
 * connection gives it back when it rests with nothing queued (busy-state.ts's settle), so an idle
 * connection holds none. Its storage then goes to the stack's ReceiveStoragePool, where the next
 * ring made takes it: a bulk receiver rests after nearly every batch it reads (no timer armed),
 * and growing a new ring from nothing each time allocated ~2 MB per batch (bench:tun's ustack
 * peer: 36 full collections per 600 MB instead of 22).
 */

import { SlabAllocator } from '../core/slab-allocator.js';

/**
 * Where `read`'s arrays come from: a read of a segment or two (the common case: a reader woken
 * per arrival) is a view into a shared slab, not an ArrayBuffer of its own (~0.1 against ~0.8 µs,
 * slab-allocator.ts). Nothing carved is handed out twice, so sharing one allocator is safe.
 */
const readArrays = new SlabAllocator();

/** Smallest storage a ring starts with: one full-sized segment fits without growing. */
const INITIAL_CAPACITY = 2048;

/**
 * Storage that rings gave back at rest, for the next ring made: one per stack (TcpLayer).
 * Bounded by `limitBytes` in all, so what a stack keeps does not grow with its connections;
 * taken last in, first out (nothing a ring does depends on which array it gets).
 */
export class ReceiveStoragePool {
  private readonly arrays: Uint8Array[] = [];
  #bytes = 0;

  /** Keeps at most `limitBytes` of storage; a release beyond it is left to the garbage collector. */
  constructor(readonly limitBytes: number) {}

  /** Bytes of storage held now (for tests and memory accounts). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The storage given back last, or undefined when none is kept. */
  take(): Uint8Array | undefined {
    const storage = this.arrays.pop();
    if (storage !== undefined) this.#bytes -= storage.length;
    return storage;
  }

  /** Keeps `storage` (no longer used by its ring) if there is room. */
  give(storage: Uint8Array): void {
    if (this.#bytes + storage.length > this.limitBytes) return;
    this.arrays.push(storage);
    this.#bytes += storage.length;
  }
}

const NO_STORAGE = new Uint8Array(0);

/** Bytes waiting to be read, oldest first, in one reused buffer. */
export class ReceiveRing {
  #storage: Uint8Array = NO_STORAGE;
  /** Index in #storage of the oldest byte. */
  #start = 0;
  #length = 0;

  /**
   * A ring that grows, doubling, up to `capacityLimit()` bytes (read at each growth); `pool`:
   * where its first storage comes from and where `release` returns it (the stack's), if anywhere.
   */
  constructor(
    private readonly capacityLimit: () => number,
    private readonly pool?: ReceiveStoragePool,
  ) {}

  /** Bytes queued. */
  get byteLength(): number {
    return this.#length;
  }

  /** Bytes of storage held (for memory accounts). */
  get capacity(): number {
    return this.#storage.length;
  }

  /** Appends a copy of `bytes`: the caller keeps (and may reuse) its memory. */
  push(bytes: Uint8Array): void {
    const length = bytes.length;
    if (length === 0) return;
    if (this.#length + length > this.#storage.length) this.#grow(this.#length + length);
    const storage = this.#storage;
    let end = this.#start + this.#length;
    if (end >= storage.length) end -= storage.length;
    const first = Math.min(length, storage.length - end);
    storage.set(first === length ? bytes : bytes.subarray(0, first), end);
    if (first < length) storage.set(bytes.subarray(first), 0);
    this.#length += length;
  }

  /** Takes up to `max` of the oldest bytes, copied into a new array (empty when none). */
  read(max: number): Uint8Array {
    const out = readArrays.allocate(Math.min(max, this.#length));
    this.#copyOut(out);
    this.#consume(out.length);
    return out;
  }

  /** Drops the `count` oldest bytes (after a `peek` that copied them out). */
  discard(count: number): void {
    this.#consume(Math.min(count, this.#length));
  }

  /** Copies the oldest bytes into `out` without taking them (MSG_PEEK); returns how many. */
  peek(out: Uint8Array): number {
    return this.#copyOut(out);
  }

  /** Gives the storage back to the pool (the ring is empty and dropped: the connection rests). */
  release(): void {
    if (this.#storage !== NO_STORAGE) this.pool?.give(this.#storage);
    this.#storage = NO_STORAGE;
    this.#start = 0;
    this.#length = 0;
  }

  /** Drops every queued byte (SHUT_RD's discard); the storage stays for reuse. */
  clear(): void {
    this.#start = 0;
    this.#length = 0;
  }

  #copyOut(out: Uint8Array): number {
    const count = Math.min(out.length, this.#length);
    const storage = this.#storage;
    const first = Math.min(count, storage.length - this.#start);
    out.set(storage.subarray(this.#start, this.#start + first), 0);
    if (first < count) out.set(storage.subarray(0, count - first), first);
    return count;
  }

  #consume(count: number): void {
    this.#length -= count;
    // Empty: start over at the front, so the next data lies in one piece.
    if (this.#length === 0) this.#start = 0;
    else {
      this.#start += count;
      if (this.#start >= this.#storage.length) this.#start -= this.#storage.length;
    }
  }

  /** Moves the queued bytes, oldest first, into storage for at least `needed` bytes. */
  #grow(needed: number): void {
    if (this.#storage === NO_STORAGE) {
      // Empty and new: a pooled array, if one is kept, is all that most rings need.
      const pooled = this.pool?.take();
      if (pooled !== undefined) {
        this.#storage = pooled;
        this.#start = 0;
        if (pooled.length >= needed) return;
      }
    }
    const doubled = Math.max(INITIAL_CAPACITY, 2 * this.#storage.length);
    const limit = this.capacityLimit();
    // Doubling keeps the copies of growth linear; past the limit (more queued than the buffer
    // allows now) it still doubles, so that a shrunk buffer cannot make each push a copy.
    const capacity = needed > limit ? Math.max(needed, doubled) : Math.min(Math.max(needed, doubled), limit);
    const storage = new Uint8Array(capacity);
    this.#copyOut(storage);
    this.#storage = storage;
    this.#start = 0;
  }
}
