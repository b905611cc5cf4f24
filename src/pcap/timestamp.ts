/**
 * Capture timestamps as two integers — whole seconds since the Unix epoch and nanoseconds into
 * that second — so that no float ever stands between a file's bytes and what we report. The
 * stack's clock is milliseconds as a float; the conversions here round once, at the resolution
 * the file keeps, and carry into the seconds when rounding reaches a whole second.
 */

/** A point in time: `seconds` since the epoch and `nanoseconds` (0 ≤ n < 1e9) into that second. */
export interface Timestamp {
  /** Whole seconds since the Unix epoch (1970-01-01T00:00:00Z). */
  readonly seconds: number;
  /** Nanoseconds into that second, an integer 0 ≤ n < 1e9. */
  readonly nanoseconds: number;
}

/** How finely a capture file stores the fraction of a second. */
export type TimestampResolution = 'microsecond' | 'nanosecond';

const NANOSECONDS_PER_SECOND = 1_000_000_000;

/** Milliseconds (a float) of a timestamp: `seconds * 1000 + nanoseconds / 1e6`. */
export function timestampToMs(timestamp: Timestamp): number {
  return timestamp.seconds * 1000 + timestamp.nanoseconds / 1_000_000;
}

/**
 * Splits `ms` into whole seconds and nanoseconds-of-second, rounded to the nearest microsecond
 * or nanosecond. The whole milliseconds are split with integer arithmetic and only the fraction
 * of a millisecond is scaled, so large epoch values do not drift: 1.5 → { 0 s, 1_500_000 ns };
 * 0.1 + 0.2 → { 0 s, 300_000 ns } at microsecond resolution. Throws RangeError on NaN/±Infinity
 * (a programming error, not untrusted input).
 */
export function timestampFromMs(ms: number, resolution: TimestampResolution = 'nanosecond'): Timestamp {
  if (!Number.isFinite(ms)) throw new RangeError(`timestamp is not a finite number of ms: ${ms}`);
  const unitsPerMs = resolution === 'microsecond' ? 1_000 : 1_000_000;
  const unitsPerSecond = unitsPerMs * 1000;
  const wholeMs = Math.floor(ms);
  // ms - floor(ms) is exact in binary floating point; only this fraction is scaled and rounded.
  const fractionUnits = Math.round((ms - wholeMs) * unitsPerMs);
  let seconds = Math.floor(wholeMs / 1000);
  let msOfSecond = wholeMs - seconds * 1000;
  if (msOfSecond < 0) {
    seconds -= 1;
    msOfSecond += 1000;
  } else if (msOfSecond >= 1000) {
    seconds += 1;
    msOfSecond -= 1000;
  }
  let unitsOfSecond = msOfSecond * unitsPerMs + fractionUnits;
  if (unitsOfSecond >= unitsPerSecond) {
    seconds += 1;
    unitsOfSecond -= unitsPerSecond;
  }
  return { seconds, nanoseconds: unitsOfSecond * (NANOSECONDS_PER_SECOND / unitsPerSecond) };
}
