import { describe, expect, it } from 'vitest';
import { initialWindow } from '../../src/tcp/congestion.js';
import { createCongestionControl } from '../../src/tcp/congestion-algorithms.js';
import { CUBIC_ALPHA, CUBIC_BETA, CUBIC_C, CubicCongestionControl } from '../../src/tcp/congestion-cubic.js';

// The expected values below come from RFC 9438's formulas, written out again here with plain
// arithmetic, so the test does not trust the implementation's own helpers.
const C = 0.4;
const BETA = 0.7;
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);
const MSS = 1000;

/** RFC 9438 §4.2 Figure 1, t in seconds, windows in segments. */
function wCubic(t: number, k: number, wMax: number): number {
  return C * (t - k) ** 3 + wMax;
}

/** One RTT of a window-limited sender: the window's segments come back one ACK each, evenly spaced. */
function ackRound(cc: CubicCongestionControl, now: number, rttMs: number, appLimited = false): number {
  const segments = Math.max(1, Math.floor(cc.cwnd / MSS));
  for (let i = 0; i < segments; i++) cc.onAck(MSS, now + (i * rttMs) / segments, rttMs, appLimited);
  return now + rttMs;
}

/** A CUBIC controller that slow-started to `wMax` segments and then lost a packet at time 0. */
function afterLossAt(wMax: number, rttMs: number, options: { fastConvergence?: boolean } = {}): CubicCongestionControl {
  const cc = new CubicCongestionControl(MSS, options);
  while (cc.cwnd < wMax * MSS) cc.onAck(MSS, 0, rttMs, false);
  cc.onCongestionEvent(0, wMax * MSS);
  cc.onRecoveryEnd(0);
  return cc;
}

describe('CUBIC constants (RFC 9438 §4.1.1, §4.3, §4.6)', () => {
  it('C = 0.4, β_cubic = 0.7, α_cubic = 3(1 − β)/(1 + β) ≈ 0.529', () => {
    expect(CUBIC_C).toBe(0.4);
    expect(CUBIC_BETA).toBe(0.7);
    expect(CUBIC_ALPHA).toBeCloseTo(ALPHA, 12);
    expect(CUBIC_ALPHA).toBeCloseTo(0.5294, 4);
  });
});

describe('CUBIC multiplicative decrease and K (RFC 9438 §4.6, §4.2)', () => {
  it('a loss at W_max sets ssthresh = cwnd = β·FlightSize and remembers W_max = cwnd', () => {
    const cc = afterLossAt(100, 100);
    expect(cc.wMaxSegments).toBe(100);
    expect(cc.ssthresh).toBe(70 * MSS);
    expect(cc.cwnd).toBe(70 * MSS);
  });

  it('ssthresh follows the flight size, not cwnd', () => {
    const cc = new CubicCongestionControl(MSS);
    while (cc.cwnd < 100 * MSS) cc.onAck(MSS, 0, 100, false);
    cc.onCongestionEvent(0, 40 * MSS);
    expect(cc.ssthresh).toBe(28 * MSS);
    expect(cc.cwnd).toBe(28 * MSS);
    expect(cc.wMaxSegments).toBe(100);
  });

  it('K = cbrt(W_max(1 − β)/C) for the stage after a loss at W_max', () => {
    const cc = afterLossAt(100, 100);
    cc.onAck(MSS, 0, 100, false);
    expect(cc.epochStartMs).toBe(0);
    expect(cc.kSeconds).toBeCloseTo(Math.cbrt((100 * (1 - BETA)) / C), 12);
    expect(cc.kSeconds).toBeCloseTo(4.2172, 4);
  });

  it('the floor after a loss is 2 segments, after ECE 1 segment; ssthresh is at least 2 (§4.6 Figure 5)', () => {
    const lost = new CubicCongestionControl(MSS);
    lost.onCongestionEvent(0, 1 * MSS);
    expect(lost.cwnd).toBe(2 * MSS);
    expect(lost.ssthresh).toBe(2 * MSS);

    const marked = new CubicCongestionControl(MSS);
    marked.onEcnEcho(0, 1 * MSS);
    expect(marked.cwnd).toBe(1 * MSS);
    expect(marked.ssthresh).toBe(2 * MSS);
  });

  it('ECE on a large window reduces exactly like a loss, once per window', () => {
    const cc = new CubicCongestionControl(MSS);
    while (cc.cwnd < 100 * MSS) cc.onAck(MSS, 0, 100, false);
    cc.onEcnEcho(0, 100 * MSS);
    cc.onEcnEcho(1, 70 * MSS);
    expect(cc.cwnd).toBe(70 * MSS);
    expect(cc.wMaxSegments).toBe(100);
    expect(cc.inRecovery).toBe(true);
    cc.onRecoveryEnd(100);
    expect(cc.inRecovery).toBe(false);
    expect(cc.cwnd).toBe(70 * MSS);
  });
});

describe('CUBIC window growth (RFC 9438 §4.2–§4.5)', () => {
  it('the first ACKs of the stage follow Figure 4 and the target W_cubic(t + RTT)', () => {
    const rtt = 100;
    const cc = afterLossAt(100, rtt);
    const k = Math.cbrt((100 - 70) / C);

    // First ACK at t = 0 starts the epoch. W_cubic(0) = cwnd_epoch = 70 while W_est has just
    // grown by α/cwnd, so this ACK is in the Reno-friendly region: cwnd = W_est.
    cc.onAck(MSS, 1000, rtt, false);
    const wEst1 = 70 + (ALPHA * 1) / 70;
    expect(cc.cwndSegments).toBeCloseTo(wEst1, 9);

    // At t = 0.5 s the cubic curve is above W_est: concave region, cwnd += (target − cwnd)/cwnd
    // with target = W_cubic(t + RTT).
    cc.onAck(MSS, 1500, rtt, false);
    const wEst2 = wEst1 + ALPHA / wEst1;
    expect(wCubic(0.5, k, 100)).toBeGreaterThan(wEst2);
    const target = wCubic(0.5 + rtt / 1000, k, 100);
    expect(cc.cwndSegments).toBeCloseTo(wEst1 + (target - wEst1) / wEst1, 9);
    expect(cc.wEstSegments).toBeCloseTo(wEst2, 9);
  });

  it('the target is clamped to 1.5·cwnd', () => {
    const cc = afterLossAt(100, 100);
    cc.onAck(MSS, 0, 100, false);
    const cwnd1 = cc.cwndSegments;
    // Twenty seconds later W_cubic is far above 1.5·cwnd; one ACK moves cwnd 1/cwnd of the way
    // to 1.5·cwnd, no further.
    cc.onAck(MSS, 20_000, 100, false);
    expect(cc.cwndSegments).toBeCloseTo(cwnd1 + (1.5 * cwnd1 - cwnd1) / cwnd1, 9);
  });

  it('after a loss at W_max, cwnd follows W_cubic(t) through the concave and convex regions', () => {
    const rtt = 100;
    const wMax = 500;
    const cc = afterLossAt(wMax, rtt);
    const k = Math.cbrt((wMax * (1 - BETA)) / C);
    let now = 0;
    const samples: { t: number; cwnd: number; expected: number }[] = [];
    for (let round = 1; round <= 160; round++) {
      now = ackRound(cc, now, rtt);
      if (round % 10 === 0) {
        const t = now / 1000;
        samples.push({ t, cwnd: cc.cwndSegments, expected: wCubic(t, k, wMax) });
      }
    }
    expect(cc.kSeconds).toBeCloseTo(k, 12);
    for (const { cwnd, expected } of samples) {
      expect(Math.abs(cwnd - expected) / expected).toBeLessThan(0.005);
    }
    // Concave below W_max, the plateau around t = K, convex beyond.
    const at = (t: number): number => samples.find((s) => Math.abs(s.t - t) < 1e-9)!.cwnd;
    expect(at(2)).toBeLessThan(wMax);
    expect(at(2) - at(1)).toBeGreaterThan(at(3) - at(2));
    expect(Math.abs(at(7) - wMax)).toBeLessThan(1);
    expect(at(16) - at(15)).toBeGreaterThan(at(15) - at(14));
    expect(at(16)).toBeGreaterThan(wMax * 1.5);
  });

  it('for a small bandwidth-delay product the Reno-friendly region dominates (§4.3)', () => {
    const rtt = 10;
    const wMax = 20;
    const cc = afterLossAt(wMax, rtt);
    const k = Math.cbrt((wMax * (1 - BETA)) / C);
    let now = 0;
    // While W_est < cwnd_prior (20) it grows α_cubic per RTT …
    for (let round = 1; round <= 10; round++) now = ackRound(cc, now, rtt);
    expect(cc.cwndSegments).toBeGreaterThan(14 + 10 * ALPHA - 0.3);
    expect(cc.cwndSegments).toBeLessThan(14 + 10 * ALPHA + 0.3);
    expect(cc.cwndSegments).toBeGreaterThan(wCubic(now / 1000, k, wMax));
    // … and once it has passed cwnd_prior, α = 1: Reno's one segment per RTT.
    for (let round = 11; round <= 100; round++) now = ackRound(cc, now, rtt);
    const at100 = cc.cwndSegments;
    for (let round = 101; round <= 200; round++) now = ackRound(cc, now, rtt);
    expect(cc.cwndSegments - at100).toBeGreaterThan(98);
    expect(cc.cwndSegments - at100).toBeLessThan(101);
    // The cubic curve alone would still be below W_max after 2 s.
    expect(wCubic(now / 1000, k, wMax)).toBeLessThan(wMax);
    expect(cc.cwndSegments).toBeGreaterThan(10 * wMax);
  });

  it('app-limited ACKs grow nothing, and app-limited time is not counted in t (§5.8)', () => {
    const rtt = 100;
    const steady = afterLossAt(200, rtt);
    const paused = afterLossAt(200, rtt);
    let now = 0;
    for (let round = 0; round < 10; round++) {
      ackRound(steady, now, rtt);
      now = ackRound(paused, now, rtt);
    }
    // `paused` spends 5 s application-limited; `steady` carries on.
    const cwndAtPause = paused.cwndSegments;
    let pausedNow = now;
    for (let round = 0; round < 50; round++) pausedNow = ackRound(paused, pausedNow, rtt, true);
    expect(paused.cwndSegments).toBe(cwndAtPause);
    for (let round = 0; round < 40; round++) {
      now = ackRound(steady, now, rtt);
      pausedNow = ackRound(paused, pausedNow, rtt);
    }
    expect(pausedNow - now).toBe(5000);
    expect(Math.abs(paused.cwndSegments - steady.cwndSegments) / steady.cwndSegments).toBeLessThan(0.005);
    // Had the pause counted, t would be 5 s further along the curve.
    const k = paused.kSeconds;
    const withPause = wCubic(pausedNow / 1000, k, 200);
    expect(withPause - paused.cwndSegments).toBeGreaterThan(20);
  });
});

describe('CUBIC fast convergence (RFC 9438 §4.7)', () => {
  function lossBelowWMax(options: { fastConvergence?: boolean } = {}): { cc: CubicCongestionControl; cwndAtLoss: number } {
    const cc = afterLossAt(100, 100, options);
    let now = 0;
    while (cc.cwndSegments < 80) now = ackRound(cc, now, 100);
    const cwndAtLoss = cc.cwndSegments;
    cc.onCongestionEvent(now, cc.cwnd);
    cc.onRecoveryEnd(now);
    cc.onAck(MSS, now, 100, false);
    return { cc, cwndAtLoss };
  }

  it('a loss below the previous W_max lowers W_max to cwnd·(1 + β)/2, and K uses it', () => {
    const { cc, cwndAtLoss } = lossBelowWMax();
    expect(cwndAtLoss).toBeLessThan(100);
    const wMax = (cwndAtLoss * (1 + BETA)) / 2;
    expect(cc.wMaxSegments).toBeCloseTo(wMax, 9);
    // K = cbrt((W_max − cwnd_epoch)/C), cwnd_epoch = β·cwnd at the loss (Figure 2).
    const cwndEpoch = (Math.round(cwndAtLoss * MSS) * BETA) / MSS;
    expect(cc.kSeconds).toBeCloseTo(Math.cbrt((wMax - cwndEpoch) / C), 6);
  });

  it('without fast convergence W_max is simply cwnd at the loss', () => {
    const { cc, cwndAtLoss } = lossBelowWMax({ fastConvergence: false });
    expect(cc.wMaxSegments).toBeCloseTo(cwndAtLoss, 9);
  });

  it('a loss above the previous W_max sets W_max = cwnd', () => {
    const cc = afterLossAt(50, 100);
    let now = 0;
    while (cc.cwndSegments < 60) now = ackRound(cc, now, 100);
    const cwndAtLoss = cc.cwndSegments;
    cc.onCongestionEvent(now, cc.cwnd);
    expect(cc.wMaxSegments).toBe(cwndAtLoss);
  });
});

describe('CUBIC timeout (RFC 9438 §4.8)', () => {
  it('cwnd = 1 segment, ssthresh = β·FlightSize; the next stage has K = 0 and W_max = W_est = cwnd_epoch', () => {
    const rtt = 100;
    const cc = new CubicCongestionControl(MSS);
    while (cc.cwnd < 200 * MSS) cc.onAck(MSS, 0, rtt, false);
    cc.onRetransmitTimeout(0, 200 * MSS);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(140 * MSS);
    expect(cc.epochStartMs).toBeUndefined();

    // Slow start back to ssthresh: the ACK that lands on it is still slow start, the next one
    // starts congestion avoidance.
    let now = 0;
    while (cc.cwnd < cc.ssthresh) cc.onAck(MSS, (now += 1), rtt, false);
    expect(cc.cwndSegments).toBe(140);
    cc.onAck(MSS, (now += 1), rtt, false);
    const epochStart = now;
    expect(cc.epochStartMs).toBe(epochStart);
    expect(cc.kSeconds).toBe(0);
    expect(cc.wMaxSegments).toBe(140);

    // Reno-friendly at first (W_cubic grows as C·t³ from 140), cubic once that is steeper.
    for (let round = 0; round < 100; round++) now = ackRound(cc, now, rtt);
    const t = (now - epochStart) / 1000;
    expect(t).toBeGreaterThan(9);
    expect(Math.abs(cc.cwndSegments - wCubic(t, 0, 140)) / wCubic(t, 0, 140)).toBeLessThan(0.005);
  });

  it('W_est restarts from cwnd_epoch after a timeout', () => {
    const cc = new CubicCongestionControl(MSS);
    while (cc.cwnd < 100 * MSS) cc.onAck(MSS, 0, 100, false);
    cc.onRetransmitTimeout(0, 100 * MSS);
    while (cc.cwnd < cc.ssthresh) cc.onAck(MSS, 1, 100, false);
    cc.onAck(MSS, 2, 100, false);
    // W_est = 70 at the epoch, plus this ACK's α_cubic/cwnd (W_est < cwnd_prior = 100).
    expect(cc.wEstSegments).toBeCloseTo(70 + ALPHA / 70, 9);
  });
});

describe('CUBIC idle restart and MSS changes', () => {
  it('idle restart drops to min(IW, cwnd) and ends the epoch so idle time is not in t (RFC 5681 §4.1, RFC 9438 §5.8)', () => {
    const cc = afterLossAt(200, 100);
    let now = 0;
    for (let round = 0; round < 10; round++) now = ackRound(cc, now, 100);
    expect(cc.epochStartMs).toBe(0);
    cc.onIdleRestart(now + 60_000, 1000);
    expect(cc.cwnd).toBe(initialWindow(MSS));
    expect(cc.epochStartMs).toBeUndefined();
    expect(cc.ssthresh).toBe(140 * MSS);
  });

  it('setMss keeps the window the same number of segments and the curve unchanged', () => {
    const a = afterLossAt(200, 100);
    const b = afterLossAt(200, 100);
    let now = 0;
    for (let round = 0; round < 10; round++) {
      ackRound(a, now, 100);
      now = ackRound(b, now, 100);
    }
    b.setMss(1400);
    expect(b.cwndSegments).toBe(a.cwndSegments);
    expect(b.cwnd).toBe(Math.round(a.cwndSegments * 1400));
    expect(b.ssthresh).toBe(140 * 1400);
    expect(b.wMaxSegments).toBe(a.wMaxSegments);
    expect(b.segmentSize).toBe(1400);
  });

  it('the factory builds a CUBIC controller with the requested initial window', () => {
    const cc = createCongestionControl('cubic', 1460, { initialWindowSegments: 4 });
    expect(cc).toBeInstanceOf(CubicCongestionControl);
    expect(cc.cwnd).toBe(initialWindow(1460, 4));
  });

  it("uses the sender's smoothed RTT for the target, keeping the last one known", () => {
    const cc = new CubicCongestionControl(MSS);
    expect(cc.smoothedRttMs).toBeUndefined();
    cc.onAck(MSS, 0, 80, false);
    expect(cc.smoothedRttMs).toBe(80);
    cc.onAck(MSS, 10, 90, false);
    expect(cc.smoothedRttMs).toBe(90);
    cc.onAck(MSS, 20, undefined, false);
    expect(cc.smoothedRttMs).toBe(90);
  });
});

describe('CUBIC undo (RFC 9438 §4.9)', () => {
  it('a spurious congestion event puts W_max, K and the epoch back as they were', () => {
    const cc = new CubicCongestionControl(1000);
    while (cc.cwnd < 50_000) cc.onAck(1000, 0, 100, false);
    cc.onCongestionEvent(0, cc.cwnd);
    cc.onRecoveryEnd(100);
    for (let now = 100; now < 2000; now += 10) cc.onAck(1000, now, 100, false);
    const before = { wMax: cc.wMaxSegments, k: cc.kSeconds, epoch: cc.epochStartMs, west: cc.wEstSegments, cwnd: cc.cwnd };
    cc.onCongestionEvent(2000, cc.cwnd);
    expect(cc.wMaxSegments).not.toBe(before.wMax);
    cc.onRecoveryEnd(2100);
    cc.onSpuriousCongestionEvent(2200);
    expect({ wMax: cc.wMaxSegments, k: cc.kSeconds, epoch: cc.epochStartMs, west: cc.wEstSegments, cwnd: cc.cwnd }).toEqual(before);
  });
});
