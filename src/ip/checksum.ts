import type { Ipv4Address } from './address.js';
import { SIMD_BLOCK, simdSummer } from './checksum-simd.js';

/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum
 * of 16-bit words. The sum is accumulated without folding (a JS number holds 2^53, far more
 * than 64 KiB of words can add up to) and folded once at the end.
 */

/**
 * Adds `bytes` (or its bytes [start, end), which spares the caller a subarray) to a running,
 * unfolded sum (`initial`). An odd last byte is padded with zero.
 *
 * A long run is summed in WebAssembly SIMD (checksum-simd.ts) where the runtime has it, else as
 * 32-bit words (`wordSum`); a short one byte by byte, where either would cost more to set up.
 */
export function onesComplementSum(bytes: Uint8Array, initial = 0, start = 0, end = bytes.length): number {
  const length = end - start;
  if (length < WORD_VIEW_MIN) return bytePairSum(bytes, initial, start, end);
  if (simdSummer !== null && length <= simdSummer.capacity) {
    // Whole 16-byte blocks there, the rest here: an even count, so the byte pairs stay aligned.
    const blocks = length - (length % SIMD_BLOCK);
    return bytePairSum(bytes, initial + simdSummer.sum(bytes, start, blocks), start + blocks, end);
  }
  return wordSum(bytes, initial, start, end);
}

/**
 * onesComplementSum in JavaScript alone: a run that starts on a 4-byte boundary is read as 32-bit
 * words in the machine's byte order, one load per four bytes. Since 2^16 ≡ 1 (mod 2^16 − 1),
 * folding the sum of 32-bit words gives the one's complement sum of their 16-bit halves; on a
 * little-endian machine each half has its bytes swapped, and then so has that sum (RFC 1071
 * §2(B)), which is swapped back. For runtimes without WebAssembly SIMD and runs longer than its
 * memory.
 */
export function wordSum(bytes: Uint8Array, initial = 0, start = 0, end = bytes.length): number {
  const offset = bytes.byteOffset + start;
  if (end - start < WORD_VIEW_MIN || (offset & 3) !== 0) return bytePairSum(bytes, initial, start, end);
  const count = (end - start) >>> 2;
  const words = new Uint32Array(bytes.buffer, offset, count);
  // Four independent sums, so that the processor can overlap the additions (~20% faster).
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let k = 0;
  for (; k + 3 < count; k += 4) {
    a += words[k];
    b += words[k + 1];
    c += words[k + 2];
    d += words[k + 3];
  }
  for (; k < count; k++) a += words[k];
  let folded = foldSum(a + b + c + d); // positive unless every word is zero, as the sum it stands for
  if (LITTLE_ENDIAN) folded = ((folded & 0xff) << 8) | (folded >>> 8);
  return bytePairSum(bytes, initial + folded, start + 4 * count, end);
}

/** Below this many bytes a Uint32Array view (~45 ns), or the copy into WebAssembly's memory, costs more than it saves. */
const WORD_VIEW_MIN = 128;
/** True where a Uint32Array sees the bytes of each 16-bit half swapped. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * onesComplementSum byte by byte: the high bytes (even offsets) and the low bytes (odd offsets)
 * are summed apart, and the sum of the words is 256 × the first plus the second. For headers
 * and unaligned data, with nothing to allocate.
 */
function bytePairSum(bytes: Uint8Array, initial: number, start: number, end: number): number {
  const end8 = start + ((end - start) & ~7);
  let high = 0;
  let low = 0;
  let i = start;
  for (; i < end8; i += 8) {
    high += bytes[i] + bytes[i + 2] + bytes[i + 4] + bytes[i + 6];
    low += bytes[i + 1] + bytes[i + 3] + bytes[i + 5] + bytes[i + 7];
  }
  for (; i + 1 < end; i += 2) {
    high += bytes[i];
    low += bytes[i + 1];
  }
  if (i < end) high += bytes[i];
  return initial + high * 256 + low;
}

/** Folds a running sum to 16 bits (end-around carry). */
export function foldSum(sum: number): number {
  // A sum that fits 31 bits (every header's, a segment's up to ~64 KiB of 16-bit words) folds
  // with two integer steps: the first leaves at most 0xffff + 0x7fff, the second at most 0xffff.
  // Larger sums (the 32-bit word loop's) take the division: `%` and Math.floor on a double.
  if (sum <= 0x7fffffff) {
    sum = (sum & 0xffff) + (sum >>> 16);
    return (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for `bytes` [start, end) (whose checksum field must be zero) plus `initial`. */
export function internetChecksum(bytes: Uint8Array, initial = 0, start = 0, end = bytes.length): number {
  return ~foldSum(onesComplementSum(bytes, initial, start, end)) & 0xffff;
}

/** True when `bytes` [start, end) (checksum field included) plus `initial` sums to all ones. */
export function checksumIsValid(bytes: Uint8Array, initial = 0, start = 0, end = bytes.length): boolean {
  return foldSum(onesComplementSum(bytes, initial, start, end)) === 0xffff;
}

/**
 * The unfolded sum of the IPv4 pseudo-header that TCP and UDP checksums cover
 * (RFC 9293 §3.1, RFC 768): source, destination, zero, protocol, transport length.
 */
export function pseudoHeaderSum(source: Ipv4Address, destination: Ipv4Address, protocol: number, length: number): number {
  return (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) + protocol + length;
}

/**
 * The unfolded sum of the IPv6 pseudo-header that upper-layer checksums cover (RFC 8200 §8.1):
 * source and destination (the final destination when a Routing header is present), the
 * upper-layer packet length as 32 bits, three zero bytes and the upper-layer protocol (the
 * Next Header value of the upper layer, not of an extension header). ICMPv6 includes it too
 * (RFC 4443 §2.3), unlike ICMPv4.
 */
export function ipv6PseudoHeaderSum(source: Uint8Array, destination: Uint8Array, nextHeader: number, upperLayerLength: number): number {
  let sum = nextHeader + (upperLayerLength >>> 16) + (upperLayerLength & 0xffff);
  for (let i = 0; i < 16; i += 2) sum += ((source[i] << 8) | source[i + 1]) + ((destination[i] << 8) | destination[i + 1]);
  return sum;
}
