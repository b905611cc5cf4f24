import { describe, expect, it } from 'vitest';
import { LinuxRttEstimator } from '../../src/tcp/rtt-linux.js';
import { RttEstimator } from '../../src/tcp/rtt.js';

const CONFIG = { initialMs: 1000, minMs: 200, maxMs: 120_000, clockGranularityMs: 1 };

describe("Linux's RTO (tcp_rtt_estimator), against RFC 6298", () => {
  it('starts at the initial RTO, then 3·R for a first sample above the minimum (SRTT = R, 4·RTTVAR = 2R)', () => {
    const rtt = new LinuxRttEstimator(CONFIG);
    expect(rtt.rto).toBe(1000);
    rtt.measure(500, 1, 1);
    expect([rtt.srtt, rtt.rttvar, rtt.rto]).toEqual([500, 250, 1500]);
  });

  it('adds at least the minimum RTO to SRTT, where RFC 6298 lets SRTT + 4·RTTVAR fall to the minimum', () => {
    const linux = new LinuxRttEstimator(CONFIG);
    const rfc = new RttEstimator(CONFIG);
    linux.measure(100, 1, 1);
    rfc.sample(100);
    for (let round = 1; round <= 20; round++) {
      linux.measure(100, 1 + round * 1000, 1 + (round + 1) * 1000);
      rfc.sample(100);
    }
    expect(rfc.rto).toBe(200);
    expect(linux.srtt).toBe(100);
    expect(linux.rto).toBe(300);
  });

  it('a jittery sample raises the RTO at once; calm rounds lower it a quarter of the way each', () => {
    const rtt = new LinuxRttEstimator(CONFIG);
    rtt.measure(100, 1, 1);
    rtt.measure(100, 1001, 2001); // round 1 ends
    rtt.measure(300, 1001, 2001); // same round: error 200 → 4·RTTVAR = 3/4·150 + 200 = 312.5
    const raised = rtt.rto;
    expect(raised).toBe(Math.ceil(((100_000 * 8 + 200_000) / 8 + 312_500) / 1000));
    rtt.measure(125, 3001, 4001); // ends the jittery round: its largest is the term itself
    expect(rtt.rto).toBe(raised);
    rtt.measure(125, 5001, 6001); // ends a calm round: the term falls a quarter of the way
    expect(rtt.rto).toBeLessThan(raised);
    expect(rtt.rto).toBeGreaterThan(Math.ceil(rtt.srtt! + 200));
  });

  it('a falling RTT moves the deviation by an eighth of the usual gain when it would raise it', () => {
    const rtt = new LinuxRttEstimator(CONFIG);
    rtt.measure(200, 1, 1); // 4·RTTVAR = 400 ms
    rtt.measure(40, 1, 1); // error −160 ms: |e| − 4·RTTVAR/4 = 60 ms > 0, so + 60/8 ms
    expect(rtt.rttvar).toBeCloseTo((400 + 60 / 8) / 4, 3);
    const rfc = new RttEstimator(CONFIG);
    rfc.sample(200);
    rfc.sample(40);
    expect(rfc.rttvar).toBe(0.75 * 100 + 0.25 * 160);
  });

  it('rounds the RTO up to whole milliseconds, backs off by doubling up to the maximum, and a sample collapses it', () => {
    const rtt = new LinuxRttEstimator(CONFIG);
    rtt.measure(100.4, 1, 1);
    expect(rtt.rto).toBe(Math.ceil(100.4 + 200.8));
    rtt.backoff();
    rtt.backoff();
    expect(rtt.rto).toBe(4 * 302);
    for (let i = 0; i < 100; i++) rtt.backoff();
    expect(rtt.rto).toBe(120_000);
    rtt.measure(100, 2, 2);
    expect(rtt.backoffCount).toBe(0);
  });

  it('rejects a negative sample', () => {
    expect(() => new LinuxRttEstimator(CONFIG).measure(-1, 0, 0)).toThrow(RangeError);
  });
});
