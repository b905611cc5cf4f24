import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';

/**
 * An independent xoshiro128** (Blackman and Vigna) written with BigInt and seeded with the
 * same splitmix32 expansion the Rng documents, so that the fast 32-bit code is checked against
 * the plain definition of the algorithm rather than against itself.
 */
function referenceSequence(seed: number, count: number): number[] {
  const M = 0xffffffffn;
  const mul = (a: bigint, b: bigint) => (a * b) & M;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  let x = BigInt(seed >>> 0);
  const splitmix = (): bigint => {
    x = (x + 0x9e3779b9n) & M;
    let z = x;
    z = mul(z ^ (z >> 16n), 0x85ebca6bn);
    z = mul(z ^ (z >> 13n), 0xc2b2ae35n);
    return z ^ (z >> 16n);
  };
  const s = [splitmix(), splitmix(), splitmix(), splitmix()];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(Number(mul(rotl(mul(s[1], 5n), 7n), 9n)));
    const t = (s[1] << 9n) & M;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11n);
  }
  return out;
}

describe('Rng (seeded xoshiro128**)', () => {
  it('matches a BigInt reference of xoshiro128** for several seeds', () => {
    for (const seed of [0, 1, 42, 0xdeadbeef, 0xffffffff]) {
      const rng = new Rng(seed);
      const ours = Array.from({ length: 200 }, () => rng.nextU32());
      expect(ours).toEqual(referenceSequence(seed, 200));
    }
  });

  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const sa = Array.from({ length: 50 }, () => a.nextU32());
    const sb = Array.from({ length: 50 }, () => b.nextU32());
    const sc = Array.from({ length: 50 }, () => c.nextU32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('nextU32 stays an unsigned 32-bit integer', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 10_000; i++) {
      const v = rng.nextU32();
      expect(Number.isInteger(v) && v >= 0 && v <= 0xffffffff).toBe(true);
    }
  });

  it('nextFloat lies in [0, 1) and nextInt in [low, high), reaching both ends of a small range', () => {
    const rng = new Rng(11);
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const f = rng.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      const n = rng.nextInt(-3, 4);
      expect(Number.isInteger(n) && n >= -3 && n < 4).toBe(true);
      seen.add(n);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
  });

  it('spreads nextInt evenly enough (each of 16 buckets within 10% of its share over 64k draws)', () => {
    const rng = new Rng(2024);
    const buckets = new Array<number>(16).fill(0);
    const draws = 65_536;
    for (let i = 0; i < draws; i++) buckets[rng.nextInt(0, 16)]++;
    for (const count of buckets) expect(Math.abs(count - draws / 16)).toBeLessThan(draws / 160);
  });

  it('bytes(n) returns n bytes drawn from the same sequence, deterministically', () => {
    for (const n of [0, 1, 3, 4, 5, 17]) {
      const bytes = new Rng(5).bytes(n);
      expect(bytes.length).toBe(n);
      expect(bytes).toEqual(new Rng(5).bytes(n));
    }
    // Little-endian bytes of the first word, then of the second.
    const words = new Rng(5);
    const w0 = words.nextU32();
    const w1 = words.nextU32();
    expect([...new Rng(5).bytes(6)]).toEqual([w0 & 0xff, (w0 >>> 8) & 0xff, (w0 >>> 16) & 0xff, w0 >>> 24, w1 & 0xff, (w1 >>> 8) & 0xff]);
  });
});
