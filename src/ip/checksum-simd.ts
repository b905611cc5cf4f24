/**
 * The Internet checksum's sum (RFC 1071) of a long run of bytes in WebAssembly SIMD: the run is
 * copied into the module's memory and summed sixteen bytes per step. Over a 1500-byte frame this
 * takes about a quarter of the time of the JavaScript loop of 32-bit words (checksum.ts), and
 * every data byte is summed twice on its way through a stack (sent and verified).
 *
 * The module, written out below instruction by instruction (WebAssembly Core Specification 2.0,
 * binary format §5; SIMD instructions §5.4.8):
 *
 *   (module
 *     (memory (export "memory") 2)                  ;; 128 KiB: any IP datagram fits
 *     (func (export "sum") (param $length i32) (result i32)
 *       (local $i i32) (local $lanes v128) (local $total i64)
 *       (block (loop
 *         (br_if 1 (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $length)))
 *         ;; eight little-endian 16-bit words, added pairwise into four 32-bit lanes
 *         (local.set $lanes (i32x4.add (local.get $lanes)
 *           (i32x4.extadd_pairwise_i16x8_u (v128.load (local.get $i)))))
 *         (local.set $i (i32.add (local.get $i) (i32.const 16)))
 *         (br 0)))
 *       (local.set $total (i64.add (i64.add (i64.extend_i32_u (i32x4.extract_lane 0 (local.get $lanes)))
 *                                           (i64.extend_i32_u (i32x4.extract_lane 1 (local.get $lanes))))
 *                                  (i64.add (i64.extend_i32_u (i32x4.extract_lane 2 (local.get $lanes)))
 *                                           (i64.extend_i32_u (i32x4.extract_lane 3 (local.get $lanes))))))
 *       ;; four end-around-carry folds bring any sum below 2^34 to 16 bits
 *       (local.set $total (i64.add (i64.and (local.get $total) (i64.const 0xffff)) (i64.shr_u (local.get $total) (i64.const 16))))
 *       ... three times more ...
 *       (i32.wrap_i64 (local.get $total))))
 *
 * A lane gains at most 2 × 0xffff a step: 128 KiB is 8192 steps, 2^30 at most, far from 2^32.
 * Loads are little-endian, so each 16-bit word is summed with its bytes swapped, and so is the
 * folded sum (RFC 1071 §2(B)); the caller swaps it back.
 */

/** The fold of $total, as bytes: local.get 3, i64.const 0xffff, i64.and, local.get 3, i64.const 16, i64.shr_u, i64.add, local.set 3. */
const FOLD = [0x20, 0x03, 0x42, 0xff, 0xff, 0x03, 0x83, 0x20, 0x03, 0x42, 0x10, 0x88, 0x7c, 0x21, 0x03];
/** Lane `n` of $lanes widened to i64: local.get 2, i32x4.extract_lane n, i64.extend_i32_u. */
const lane = (n: number) => [0x20, 0x02, 0xfd, 0x1b, n, 0xad];

const BODY = [
  ...[0x03, 0x01, 0x7f, 0x01, 0x7b, 0x01, 0x7e], // locals: $i i32, $lanes v128, $total i64
  ...[0x02, 0x40, 0x03, 0x40], // block, loop
  ...[0x20, 0x01, 0x41, 0x10, 0x6a, 0x20, 0x00, 0x4b, 0x0d, 0x01], // br_if 1 ($i + 16 > $length)
  ...[0x20, 0x02, 0x20, 0x01, 0xfd, 0x00, 0x04, 0x00], // $lanes, v128.load align=16 offset=0 at $i
  ...[0xfd, 0x7f, 0xfd, 0xae, 0x01, 0x21, 0x02], // i32x4.extadd_pairwise_i16x8_u, i32x4.add, local.set $lanes
  ...[0x20, 0x01, 0x41, 0x10, 0x6a, 0x21, 0x01], // $i += 16
  ...[0x0c, 0x00, 0x0b, 0x0b], // br 0, end loop, end block
  ...lane(0),
  ...lane(1),
  0x7c,
  ...lane(2),
  0x7c,
  ...lane(3),
  0x7c, // the three i64.add
  ...[0x21, 0x03], // local.set $total
  ...FOLD,
  ...FOLD,
  ...FOLD,
  ...FOLD,
  ...[0x20, 0x03, 0xa7, 0x0b], // local.get $total, i32.wrap_i64, end
];

/** Unsigned LEB128 (binary format §5.2.2), for the sizes of the code section and the body. */
function leb128(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

const CODE_SECTION = [0x01, ...leb128(BODY.length), ...BODY]; // one function body

const MODULE = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
  ...[0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f], // type section: (i32) -> i32
  ...[0x03, 0x02, 0x01, 0x00], // function section: one function of type 0
  ...[0x05, 0x03, 0x01, 0x00, 0x02], // memory section: one memory, 2 pages, no maximum
  ...[0x07, 0x10, 0x02, 0x03, 0x73, 0x75, 0x6d, 0x00, 0x00, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00], // exports "sum", "memory"
  ...[0x0a, ...leb128(CODE_SECTION.length), ...CODE_SECTION],
]);

/** Steps of the loop: the sum covers whole 16-byte blocks; the caller sums the rest. */
export const SIMD_BLOCK = 16;

/** The module instantiated: its sum over a run copied into its memory. */
export interface SimdSummer {
  /** Largest run the module's memory holds. */
  readonly capacity: number;
  /**
   * The one's complement sum, folded to 16 bits, of the big-endian 16-bit words of `bytes`
   * [start, start + length): `length` a multiple of SIMD_BLOCK, at most `capacity`.
   */
  sum(bytes: Uint8Array, start: number, length: number): number;
}

/** What is used of the WebAssembly JavaScript API (the project's TypeScript libraries do not declare it). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: object };
}

function instantiate(): SimdSummer | null {
  const api = (globalThis as { readonly WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (api === undefined) return null;
  try {
    const instance = new api.Instance(new api.Module(MODULE));
    const exports = instance.exports as { readonly sum: (length: number) => number; readonly memory: { readonly buffer: ArrayBuffer } };
    const memory = new Uint8Array(exports.memory.buffer);
    const sumBlocks = exports.sum;
    return {
      capacity: memory.length,
      sum(bytes: Uint8Array, start: number, length: number): number {
        memory.set(start === 0 && length === bytes.length ? bytes : bytes.subarray(start, start + length));
        const swapped = sumBlocks(length);
        return ((swapped & 0xff) << 8) | (swapped >>> 8);
      },
    };
  } catch {
    // No SIMD in this runtime's WebAssembly (before V8 9.1, or turned off): the JavaScript
    // loop in checksum.ts does the work alone.
    return null;
  }
}

/** The summer of this process (one module, 128 KiB), or null where WebAssembly SIMD is missing. */
export const simdSummer: SimdSummer | null = instantiate();
