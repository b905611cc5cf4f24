/**
 * Sequence-number arithmetic (RFC 9293 §3.4, in the manner of RFC 1982 serial numbers).
 *
 * Sequence numbers are unsigned 32-bit values that wrap: 0xffffffff + 1 is 0. Two numbers are
 * ordered by the sign of their difference taken modulo 2^32 and read as a signed 32-bit
 * integer, so `a` comes before `b` when `b` lies less than 2^31 ahead of it. That works while
 * every pair a connection compares is less than 2^31 apart, which the window limits guarantee
 * (RFC 7323 §2.3 caps the scaled window at 2^30). Numbers exactly 2^31 apart have no defined
 * order (RFC 1982 §3.2); here each is "less than" the other, as in Linux's `before()`.
 *
 * Never compare sequence numbers with `<` directly; every comparison goes through this file.
 */

/** A TCP sequence or acknowledgment number: an integer in [0, 2^32). */
export type SeqNumber = number;

/** `a + n` modulo 2^32; `n` may be negative. */
export function seqAdd(a: SeqNumber, n: number): SeqNumber {
  return (a + n) >>> 0;
}

/**
 * The signed distance from `b` to `a` (`a - b` modulo 2^32, as an int32 in [-2^31, 2^31)).
 * Positive when `a` is after `b`; for `b ≤ a` it is the number of octets from `b` up to `a`.
 */
export function seqSub(a: SeqNumber, b: SeqNumber): number {
  return (a - b) | 0;
}

/** `a < b` in sequence space. */
export function seqLt(a: SeqNumber, b: SeqNumber): boolean {
  return seqSub(a, b) < 0;
}

/** `a ≤ b` in sequence space. */
export function seqLe(a: SeqNumber, b: SeqNumber): boolean {
  return seqSub(a, b) <= 0;
}

/** `a > b` in sequence space. */
export function seqGt(a: SeqNumber, b: SeqNumber): boolean {
  return seqSub(a, b) > 0;
}

/** `a ≥ b` in sequence space. */
export function seqGe(a: SeqNumber, b: SeqNumber): boolean {
  return seqSub(a, b) >= 0;
}

/** The later of two sequence numbers. */
export function seqMax(a: SeqNumber, b: SeqNumber): SeqNumber {
  return seqLt(a, b) ? b : a;
}

/** The earlier of two sequence numbers. */
export function seqMin(a: SeqNumber, b: SeqNumber): SeqNumber {
  return seqLt(a, b) ? a : b;
}

/**
 * True when `start ≤ x < start + size` in sequence space: `x` is one of the `size` numbers
 * beginning at `start`. A window of size 0 contains nothing (RFC 9293 §3.10.7.4's special case
 * for a zero receive window, SEG.SEQ = RCV.NXT, is the caller's to apply). `size` may be as large
 * as 2^32, which contains every number.
 */
export function seqInWindow(x: SeqNumber, start: SeqNumber, size: number): boolean {
  return (x - start) >>> 0 < size;
}
