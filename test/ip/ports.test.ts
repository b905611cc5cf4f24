import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { allocateEphemeralPort, DEFAULT_EPHEMERAL_PORTS } from '../../src/ip/ports.js';

describe('ephemeral port selection (RFC 6056 §3.3.1, simple port randomization)', () => {
  it('uses the IANA dynamic range 49152–65535 by default (RFC 6335 §6)', () => {
    expect(DEFAULT_EPHEMERAL_PORTS).toEqual({ low: 49152, high: 65535 });
  });

  it('starts at a random point and covers the whole range', () => {
    const rng = new Rng(6056);
    const starts = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const port = allocateEphemeralPort({ low: 1000, high: 1009 }, rng, () => true)!;
      expect(port).toBeGreaterThanOrEqual(1000);
      expect(port).toBeLessThanOrEqual(1009);
      starts.add(port);
    }
    expect(starts.size).toBe(10);
  });

  it('walks forward from the random point, wrapping, to the first free port', () => {
    const taken = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009]);
    for (let seed = 0; seed < 50; seed++) {
      expect(allocateEphemeralPort({ low: 1000, high: 1009 }, new Rng(seed), (p) => !taken.has(p))).toBe(1004);
    }
  });

  it('asks about each port at most once and says null when all are taken', () => {
    const asked: number[] = [];
    const result = allocateEphemeralPort({ low: 40000, high: 40007 }, new Rng(1), (p) => {
      asked.push(p);
      return false;
    });
    expect(result).toBe(null);
    expect([...asked].sort((a, b) => a - b)).toEqual([40000, 40001, 40002, 40003, 40004, 40005, 40006, 40007]);
  });

  it('is deterministic for a seed', () => {
    const pick = (seed: number) => allocateEphemeralPort(DEFAULT_EPHEMERAL_PORTS, new Rng(seed), () => true);
    expect(pick(3)).toBe(pick(3));
  });
});
