import { describe, expect, it } from 'vitest';
import { DEFAULT_RTO_CONFIG, RttEstimator, type RtoConfig } from '../../src/tcp/rtt.js';

/** The RFC's own floor and ceiling, so that the arithmetic shows without Linux's 200 ms floor. */
const WIDE: RtoConfig = { initialMs: 1000, minMs: 0, maxMs: 120_000, clockGranularityMs: 1 };

describe('RttEstimator (RFC 6298)', () => {
  it('defaults to 1 s initial, 200 ms floor, 120 s ceiling, 1 ms granularity', () => {
    expect(DEFAULT_RTO_CONFIG).toEqual({ initialMs: 1000, minMs: 200, maxMs: 120_000, clockGranularityMs: 1 });
  });

  it('uses the initial RTO of 1 s until a sample is taken (RFC 6298 §2.1)', () => {
    const rtt = new RttEstimator();
    expect(rtt.rto).toBe(1000);
    expect(rtt.srtt).toBeUndefined();
    expect(rtt.rttvar).toBeUndefined();
    expect(rtt.minRtt).toBeUndefined();
    expect(rtt.latestRtt).toBeUndefined();
    expect(rtt.backoffCount).toBe(0);
  });

  it('the first RTT sample sets SRTT = R and RTTVAR = R/2, RTO = SRTT + max(G, K·RTTVAR) (RFC 6298 §2.2)', () => {
    const rtt = new RttEstimator(WIDE);
    rtt.sample(100);
    expect(rtt.srtt).toBe(100);
    expect(rtt.rttvar).toBe(50);
    expect(rtt.rto).toBe(100 + 4 * 50);
  });

  it('a later sample updates RTTVAR from the old SRTT, then SRTT, with alpha 1/8 and beta 1/4 (RFC 6298 §2.3)', () => {
    const rtt = new RttEstimator(WIDE);
    rtt.sample(100);
    rtt.sample(200);
    // RTTVAR = 3/4 · 50 + 1/4 · |100 − 200| = 62.5, computed with the SRTT before this sample.
    expect(rtt.rttvar).toBe(62.5);
    // SRTT = 7/8 · 100 + 1/8 · 200 = 112.5
    expect(rtt.srtt).toBe(112.5);
    expect(rtt.rto).toBe(112.5 + 4 * 62.5);
    expect(rtt.latestRtt).toBe(200);
    expect(rtt.minRtt).toBe(100);
  });

  it('converges to a steady RTT and its variance decays toward zero', () => {
    const rtt = new RttEstimator(WIDE);
    for (let i = 0; i < 200; i++) rtt.sample(50);
    expect(rtt.srtt).toBeCloseTo(50, 9);
    expect(rtt.rttvar).toBeLessThan(1e-9);
  });

  it('the variance term is at least the clock granularity G (RFC 6298 §2.2, §2.3)', () => {
    const rtt = new RttEstimator({ ...WIDE, clockGranularityMs: 10 });
    for (let i = 0; i < 200; i++) rtt.sample(50);
    expect(rtt.rto).toBeCloseTo(60, 6);
  });

  it('rounds an RTO below the minimum up to it (RFC 6298 §2.4; 200 ms as Linux by default)', () => {
    const rtt = new RttEstimator();
    rtt.sample(10);
    expect(rtt.rto).toBe(200);
    const strict = new RttEstimator({ ...DEFAULT_RTO_CONFIG, minMs: 1000 });
    strict.sample(10);
    expect(strict.rto).toBe(1000);
  });

  it('caps the RTO at the maximum (RFC 6298 §2.5)', () => {
    const rtt = new RttEstimator({ ...DEFAULT_RTO_CONFIG, maxMs: 60_000 });
    rtt.sample(50_000);
    expect(rtt.baseRto).toBe(60_000);
    expect(rtt.rto).toBe(60_000);
  });

  it('doubles the RTO on each expiry (RFC 6298 §5.5) up to the maximum, and keeps counting expiries', () => {
    const rtt = new RttEstimator();
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      seen.push(rtt.rto);
      rtt.backoff();
    }
    expect(seen).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 120_000, 120_000, 120_000]);
    expect(rtt.backoffCount).toBe(10);
    for (let i = 0; i < 2000; i++) rtt.backoff();
    expect(rtt.rto).toBe(120_000);
    expect(rtt.backoffCount).toBe(2010);
  });

  it('a new sample recomputes RTO from SRTT and RTTVAR, collapsing the backoff (RFC 6298 §5, after step 5.7)', () => {
    const rtt = new RttEstimator(WIDE);
    rtt.sample(100);
    rtt.backoff();
    rtt.backoff();
    expect(rtt.rto).toBe(1200);
    rtt.sample(100);
    expect(rtt.backoffCount).toBe(0);
    expect(rtt.rto).toBe(rtt.baseRto);
  });

  it('keeps the backed-off RTO until the caller resets it (Karn: no sample from a retransmission)', () => {
    const rtt = new RttEstimator(WIDE);
    rtt.sample(100);
    rtt.backoff();
    expect(rtt.rto).toBe(600);
    rtt.resetBackoff();
    expect(rtt.rto).toBe(300);
    expect(rtt.backoffCount).toBe(0);
  });

  it('scales alpha and beta by ExpectedSamples when every ACK gives a sample (RFC 7323 Appendix G)', () => {
    const rtt = new RttEstimator(WIDE);
    rtt.sample(100, 10); // the first sample is unaffected
    expect(rtt.srtt).toBe(100);
    expect(rtt.rttvar).toBe(50);
    rtt.sample(200, 4);
    // beta' = 1/16: RTTVAR = 15/16 · 50 + 1/16 · 100; alpha' = 1/32: SRTT = 31/32 · 100 + 1/32 · 200.
    expect(rtt.rttvar).toBeCloseTo((15 / 16) * 50 + 100 / 16, 12);
    expect(rtt.srtt).toBeCloseTo((31 / 32) * 100 + 200 / 32, 12);
  });

  it('treats ExpectedSamples below 1 as the plain RFC 6298 gains', () => {
    const plain = new RttEstimator(WIDE);
    const scaled = new RttEstimator(WIDE);
    for (const [sample, expected] of [
      [100, 0],
      [180, 0.5],
      [90, Number.NaN],
    ] as const) {
      plain.sample(sample);
      scaled.sample(sample, expected);
    }
    expect(scaled.srtt).toBe(plain.srtt);
    expect(scaled.rttvar).toBe(plain.rttvar);
  });

  it('N samples at 1/N gains per RTT move SRTT about as far as one sample at full gain', () => {
    const once = new RttEstimator(WIDE);
    const many = new RttEstimator(WIDE);
    once.sample(100);
    many.sample(100);
    once.sample(300);
    for (let i = 0; i < 8; i++) many.sample(300, 8);
    expect(once.srtt).toBe(125);
    expect(many.srtt).toBeGreaterThan(120);
    expect(many.srtt).toBeLessThan(125);
  });

  it('tracks the smallest and the latest sample', () => {
    const rtt = new RttEstimator();
    for (const sample of [80, 40, 120, 60]) rtt.sample(sample);
    expect(rtt.minRtt).toBe(40);
    expect(rtt.latestRtt).toBe(60);
  });

  it('accepts a zero sample and rejects a negative or non-finite one as a caller bug', () => {
    const rtt = new RttEstimator(WIDE);
    rtt.sample(0);
    expect(rtt.srtt).toBe(0);
    expect(rtt.rto).toBe(1); // SRTT 0 + max(G, 0)
    expect(() => rtt.sample(-1)).toThrow(RangeError);
    expect(() => rtt.sample(Number.NaN)).toThrow(RangeError);
    expect(() => rtt.sample(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(rtt.srtt).toBe(0);
  });

  it('rejects a configuration whose floor is above its ceiling', () => {
    expect(() => new RttEstimator({ ...DEFAULT_RTO_CONFIG, minMs: 5000, maxMs: 1000 })).toThrow(RangeError);
  });
});
