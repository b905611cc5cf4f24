import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { seqAdd, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqMax, seqMin, seqSub } from '../../src/tcp/seq.js';

const MAX = 0xffffffff;
const HALF = 0x80000000;

describe('sequence-number arithmetic (RFC 9293 §3.4)', () => {
  it('seqAdd wraps modulo 2^32 in both directions', () => {
    expect(seqAdd(MAX, 1)).toBe(0);
    expect(seqAdd(MAX, 2)).toBe(1);
    expect(seqAdd(0, -1)).toBe(MAX);
    expect(seqAdd(10, -20)).toBe(MAX - 9);
    expect(seqAdd(0xfffffff0, 0x20)).toBe(0x10);
    expect(seqAdd(1000, 0)).toBe(1000);
    expect(seqAdd(HALF, HALF)).toBe(0);
  });

  it('seqSub is the signed distance across the wrap', () => {
    expect(seqSub(0x10, 0xfffffff0)).toBe(0x20);
    expect(seqSub(0xfffffff0, 0x10)).toBe(-0x20);
    expect(seqSub(5, 5)).toBe(0);
    expect(seqSub(0, MAX)).toBe(1);
    expect(seqSub(MAX, 0)).toBe(-1);
    expect(seqSub(HALF - 1, 0)).toBe(HALF - 1);
    expect(seqSub(HALF, 0)).toBe(-HALF); // exactly half the space apart: no defined order
  });

  it('orders numbers that straddle the wrap', () => {
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqGt(0x10, 0xfffffff0)).toBe(true);
    expect(seqLt(0x10, 0xfffffff0)).toBe(false);
    expect(seqLe(MAX, 0)).toBe(true);
    expect(seqGe(0, MAX)).toBe(true);
    expect(seqGt(MAX, 0)).toBe(false);
  });

  it('treats equal numbers as ≤ and ≥ but not < or >', () => {
    for (const x of [0, 1, HALF - 1, HALF, MAX]) {
      expect(seqLt(x, x)).toBe(false);
      expect(seqGt(x, x)).toBe(false);
      expect(seqLe(x, x)).toBe(true);
      expect(seqGe(x, x)).toBe(true);
    }
  });

  it('orders by less than half the space: 2^31 - 1 ahead is later, 2^31 + 1 ahead is earlier', () => {
    expect(seqLt(0, HALF - 1)).toBe(true);
    expect(seqGt(0, HALF + 1)).toBe(true);
    expect(seqLt(100, seqAdd(100, HALF - 1))).toBe(true);
    expect(seqGt(100, seqAdd(100, HALF + 1))).toBe(true);
  });

  it('leaves numbers exactly 2^31 apart unordered, each before the other (RFC 1982 §3.2)', () => {
    expect(seqLt(0, HALF)).toBe(true);
    expect(seqLt(HALF, 0)).toBe(true);
    expect(seqGt(0, HALF)).toBe(false);
    expect(seqGt(HALF, 0)).toBe(false);
  });

  it('seqMax and seqMin pick by sequence order, not by magnitude', () => {
    expect(seqMax(0xfffffff0, 0x10)).toBe(0x10);
    expect(seqMin(0xfffffff0, 0x10)).toBe(0xfffffff0);
    expect(seqMax(3, 3)).toBe(3);
  });

  it('seqInWindow includes the start and excludes start + size', () => {
    expect(seqInWindow(100, 100, 10)).toBe(true);
    expect(seqInWindow(109, 100, 10)).toBe(true);
    expect(seqInWindow(110, 100, 10)).toBe(false);
    expect(seqInWindow(99, 100, 10)).toBe(false);
  });

  it('seqInWindow works for a window that wraps past 2^32', () => {
    const start = 0xfffffffa;
    expect(seqInWindow(start, start, 16)).toBe(true);
    expect(seqInWindow(MAX, start, 16)).toBe(true);
    expect(seqInWindow(0, start, 16)).toBe(true);
    expect(seqInWindow(9, start, 16)).toBe(true);
    expect(seqInWindow(10, start, 16)).toBe(false);
    expect(seqInWindow(start - 1, start, 16)).toBe(false);
  });

  it('a zero window contains nothing, not even its start', () => {
    expect(seqInWindow(100, 100, 0)).toBe(false);
    expect(seqInWindow(0, 0, 0)).toBe(false);
  });

  it('a window of 2^30 (the largest scaled window, RFC 7323 §2.3) and of 2^32 behave', () => {
    expect(seqInWindow(seqAdd(5, 2 ** 30 - 1), 5, 2 ** 30)).toBe(true);
    expect(seqInWindow(seqAdd(5, 2 ** 30), 5, 2 ** 30)).toBe(false);
    expect(seqInWindow(4, 5, 2 ** 32)).toBe(true);
  });

  it('agrees with BigInt reference arithmetic on random pairs near and away from the wrap', () => {
    const rng = new Rng(1);
    const mod = 2n ** 32n;
    for (let i = 0; i < 5000; i++) {
      const a = i % 2 === 0 ? rng.nextU32() : seqAdd(MAX, rng.nextInt(-64, 64));
      const b = seqAdd(a, i % 3 === 0 ? rng.nextInt(-1000, 1000) : rng.nextU32());
      const forward = (((BigInt(b) - BigInt(a)) % mod) + mod) % mod; // how far b is ahead of a
      const ahead = forward !== 0n && forward < 2n ** 31n;
      const behind = forward > 2n ** 31n;
      if (forward !== 2n ** 31n) {
        expect(seqLt(a, b)).toBe(ahead);
        expect(seqGt(a, b)).toBe(behind);
        expect(seqLe(a, b)).toBe(ahead || forward === 0n);
        expect(seqGe(a, b)).toBe(behind || forward === 0n);
      }
      expect(seqAdd(a, seqSub(b, a))).toBe(b);
      const size = rng.nextInt(0, 5000);
      expect(seqInWindow(b, a, size)).toBe(forward < BigInt(size));
    }
  });
});
