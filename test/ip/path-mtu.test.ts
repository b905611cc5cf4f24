import { describe, expect, it } from 'vitest';

import { PathMtuCache } from '../../src/ip/path-mtu.js';

describe('PathMtuCache: learned path MTUs of one family (RFC 1191 §6.3, RFC 8201 §4–5)', () => {
  const limits = { floor: 552, lifetimeMs: 600_000, entriesMax: 3 };

  it('lowers only below the MTU in use, never under the floor', () => {
    const cache = new PathMtuCache<number>(limits);
    expect(cache.lower(1, 1500, 1500, 0)).toBe(false);
    expect(cache.get(1)).toBeUndefined();
    expect(cache.lower(1, 100, 1500, 0)).toBe(true);
    expect(cache.get(1)).toBe(552);
    expect(cache.lower(1, 552, 552, 0)).toBe(false);
  });

  it('forgets an entry when its lifetime ends, and says when that is', () => {
    const cache = new PathMtuCache<number>(limits);
    expect(cache.pollAt()).toBe(Infinity);
    cache.lower(1, 1000, 1500, 5);
    expect(cache.pollAt()).toBe(600_005);
    cache.expire(600_004);
    expect(cache.get(1)).toBe(1000);
    cache.expire(600_005);
    expect(cache.get(1)).toBeUndefined();
    expect(cache.pollAt()).toBe(Infinity);
  });

  it('expires in report order, a destination lowered again taking its new lifetime', () => {
    const cache = new PathMtuCache<number>(limits);
    cache.lower(1, 1400, 1500, 0);
    cache.lower(2, 1400, 1500, 10);
    cache.lower(1, 1300, 1400, 20); // lowered again: kept until 600_020
    expect(cache.pollAt()).toBe(600_010);
    cache.expire(600_010);
    expect([cache.get(1), cache.get(2)]).toEqual([1300, undefined]);
    expect(cache.pollAt()).toBe(600_020);
    cache.expire(600_020);
    expect(cache.size).toBe(0);
  });

  it('holds at most entriesMax destinations, the oldest report going first', () => {
    const cache = new PathMtuCache<number>(limits);
    for (let destination = 1; destination <= 5; destination++) cache.lower(destination, 1000, 1500, destination);
    expect(cache.size).toBe(3);
    expect([1, 2, 3, 4, 5].map((d) => cache.get(d))).toEqual([undefined, undefined, 1000, 1000, 1000]);
    expect(cache.clear()).toBe(3);
    expect(cache.size).toBe(0);
  });
});
