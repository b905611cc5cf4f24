import { describe, expect, it } from 'vitest';
import { timestampFromMs, timestampToMs } from '../../src/pcap/pcap.js';

describe('timestamps: ms float to seconds + nanoseconds, exactly', () => {
  it('1.5 ms is 0 s and 1500 µs', () => {
    expect(timestampFromMs(1.5, 'microsecond')).toEqual({ seconds: 0, nanoseconds: 1_500_000 });
    expect(timestampFromMs(1.5)).toEqual({ seconds: 0, nanoseconds: 1_500_000 });
  });

  it('float noise in the fraction is rounded away (0.1 + 0.2 ms is 300 µs)', () => {
    expect(timestampFromMs(0.1 + 0.2, 'microsecond')).toEqual({ seconds: 0, nanoseconds: 300_000 });
    expect(timestampFromMs(0.1 + 0.2, 'nanosecond')).toEqual({ seconds: 0, nanoseconds: 300_000 });
    expect(timestampFromMs(1.0005, 'nanosecond')).toEqual({ seconds: 0, nanoseconds: 1_000_500 });
  });

  it('rounding up to a whole second carries into the seconds', () => {
    expect(timestampFromMs(999.9996, 'microsecond')).toEqual({ seconds: 1, nanoseconds: 0 });
    expect(timestampFromMs(1999.9999999, 'nanosecond')).toEqual({ seconds: 2, nanoseconds: 0 });
  });

  it('epoch-sized values keep their sub-millisecond part', () => {
    // 1_700_000_000_123.456 ms: the double nearest to it is 1_700_000_000_123.4560546875.
    expect(timestampFromMs(1_700_000_000_123.456, 'microsecond')).toEqual({
      seconds: 1_700_000_000,
      nanoseconds: 123_456_000,
    });
    expect(timestampFromMs(1_700_000_000_123.456, 'nanosecond')).toEqual({
      seconds: 1_700_000_000,
      nanoseconds: 123_456_055,
    });
    expect(timestampFromMs(1_700_000_000_000)).toEqual({ seconds: 1_700_000_000, nanoseconds: 0 });
  });

  it('whole and exact values go through unchanged, and back', () => {
    for (const ms of [0, 1, 999, 1000, 1001, 65_535.25, 4_294_967_295_000]) {
      const timestamp = timestampFromMs(ms, 'microsecond');
      expect(Number.isInteger(timestamp.seconds) && Number.isInteger(timestamp.nanoseconds)).toBe(true);
      expect(timestamp.nanoseconds).toBeGreaterThanOrEqual(0);
      expect(timestamp.nanoseconds).toBeLessThan(1e9);
      expect(timestampToMs(timestamp)).toBe(ms);
    }
  });

  it('negative times split with a non-negative fraction', () => {
    expect(timestampFromMs(-0.5, 'microsecond')).toEqual({ seconds: -1, nanoseconds: 999_500_000 });
  });

  it('NaN and Infinity are programming errors', () => {
    expect(() => timestampFromMs(Number.NaN)).toThrow(RangeError);
    expect(() => timestampFromMs(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
