import { describe, expect, it } from 'vitest';
import { TokenBucket, type TokenBucketRate } from '../../src/core/token-bucket.js';

/** 1000 tokens a second, a burst of 50: Linux's icmp_msgs_per_sec and icmp_msgs_burst. */
const PER_SECOND: TokenBucketRate = { capacity: 50, tokens: 1000, everyMs: 1000 };

describe('TokenBucket', () => {
  it('a full bucket allows a burst of its capacity at one instant, then nothing', () => {
    const bucket = new TokenBucket();
    let allowed = 0;
    for (let i = 0; i < 80; i++) if (bucket.take(0, 1, PER_SECOND)) allowed++;
    expect(allowed).toBe(50);
    expect(bucket.available).toBe(0);
  });

  it('refills pro rata from the time it is given, fractions included, up to the capacity', () => {
    const bucket = new TokenBucket(0);
    const slow: TokenBucketRate = { capacity: 5, tokens: 1, everyMs: 1000 };
    expect(bucket.take(0, 1, slow)).toBe(false); // nothing accrues before the first call
    expect(bucket.take(500, 1, slow)).toBe(false);
    expect(bucket.available).toBe(0.5);
    expect(bucket.take(1000, 1, slow)).toBe(true);
    expect(bucket.available).toBe(0);
    bucket.allows(60_000, 1, slow);
    expect(bucket.available).toBe(5);
  });

  it('starts with the tokens it is given, clamped to the capacity at the first call', () => {
    const bucket = new TokenBucket(3);
    expect(bucket.allows(0, 1, { capacity: 2, tokens: 1, everyMs: 1 })).toBe(true);
    expect(bucket.available).toBe(2);
  });

  it('a capacity lowered while running clamps the tokens at the next call (a sysctl changed)', () => {
    const bucket = new TokenBucket();
    bucket.allows(0, 1, PER_SECOND);
    expect(bucket.available).toBe(50);
    bucket.allows(0, 1, { ...PER_SECOND, capacity: 10 });
    expect(bucket.available).toBe(10);
  });

  it('allows looks without paying; spend pays later (several buckets consulted before either is charged)', () => {
    const bucket = new TokenBucket(1);
    expect(bucket.allows(0, 1, PER_SECOND)).toBe(true);
    expect(bucket.allows(0, 1, PER_SECOND)).toBe(true);
    bucket.spend(1);
    expect(bucket.allows(0, 1, PER_SECOND)).toBe(false);
  });

  it('credit in ms, one interval per event: at most one event per interval (Linux inet_peer_xrlim_allow)', () => {
    const bucket = new TokenBucket();
    const interval = 500;
    const rate: TokenBucketRate = { capacity: interval, tokens: 1, everyMs: 1 };
    const allowedAt = [0, 100, 499, 500, 700, 999, 1000, 1600].filter((now) => bucket.take(now, interval, rate));
    expect(allowedAt).toEqual([0, 500, 1000, 1600]);
  });

  it('a cost of 0 is always allowed (an interval of 0 turns a limit off)', () => {
    const bucket = new TokenBucket();
    const off: TokenBucketRate = { capacity: 0, tokens: 1, everyMs: 1 };
    for (let now = 0; now < 5; now++) expect(bucket.take(now, 0, off)).toBe(true);
  });

  it('time going backwards accrues nothing', () => {
    const bucket = new TokenBucket(0);
    const rate: TokenBucketRate = { capacity: 10, tokens: 1, everyMs: 1 };
    bucket.allows(100, 1, rate);
    bucket.allows(50, 1, rate);
    expect(bucket.available).toBe(0);
    bucket.allows(53, 1, rate);
    expect(bucket.available).toBe(3);
  });
});
