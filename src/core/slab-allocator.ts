/**
 * Fresh, zeroed byte arrays for outgoing frames, carved from shared 16 KiB blocks (slabs).
 *
 * `new Uint8Array(1500)` costs about 0.8 µs in V8: every such array gets an ArrayBuffer of its
 * own outside the JS heap. A view into a slab costs 0.1–0.2 µs. Nothing is ever handed out
 * twice: a slab is garbage once every array carved from it is, so an array kept long (a receive
 * queue holds views into arriving frames) keeps its 16 KiB slab alive; that is the price Node's
 * own Buffer pool pays too, and why the slabs are small. Arrays of 64 bytes or less live on the
 * JS heap and are cheap already; arrays over a quarter of a slab get a buffer of their own.
 */

/** Size of one slab. */
const SLAB_SIZE = 16 * 1024;
/** Up to this length an array is allocated on its own: V8 keeps it on the JS heap. */
const ON_HEAP_MAX = 64;
/** Larger arrays are allocated on their own too, so that a slab holds at least four. */
const CARVED_MAX = SLAB_SIZE / 4;

/** Hands out zeroed Uint8Arrays, most of them views into shared slabs (see the file comment). */
export class SlabAllocator {
  private slab: ArrayBuffer | null = null;
  private used = 0;

  /** A zeroed array of `length` bytes that nobody else holds. */
  allocate(length: number): Uint8Array {
    if (length <= ON_HEAP_MAX || length > CARVED_MAX) return new Uint8Array(length);
    if (this.slab === null || this.used + length > SLAB_SIZE) {
      this.slab = new ArrayBuffer(SLAB_SIZE);
      this.used = 0;
    }
    const bytes = new Uint8Array(this.slab, this.used, length);
    this.used += (length + 7) & ~7; // the next array starts 8-byte aligned
    return bytes;
  }
}
