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

  it('holds at most entriesMax destinations, the oldest report going first', () => {
    const cache = new PathMtuCache<number>(limits);
    for (let destination = 1; destination <= 5; destination++) cache.lower(destination, 1000, 1500, destination);
    expect(cache.size).toBe(3);
    expect([1, 2, 3, 4, 5].map((d) => cache.get(d))).toEqual([undefined, undefined, 1000, 1000, 1000]);
    expect(cache.clear()).toBe(3);
    expect(cache.size).toBe(0);
  });
});
