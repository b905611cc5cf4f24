import { describe, expect, it } from 'vitest';
import { createCongestionControl } from '../../src/tcp/congestion-algorithms.js';
import { HYSTART_ACK_TRAIN, HYSTART_DELAY, LinuxCubicCongestionControl } from '../../src/tcp/congestion-cubic-linux.js';

const MSS = 1000;
const NO_HYSTART = { enabled: false, detect: 0, lowWindow: 16, ackDeltaUs: 2000 };

/** Segments of cwnd. */
const segments = (cc: LinuxCubicCongestionControl) => cc.cwnd / MSS;

describe("Linux's CUBIC: slow start (tcp_slow_start)", () => {
  it('counts every segment an ACK acknowledges, with no RFC 3465 limit', () => {
    const cc = new LinuxCubicCongestionControl(MSS, { hystart: NO_HYSTART });
    cc.onAck(4 * MSS, 100, 100, false);
    expect(segments(cc)).toBe(14);
  });

  it('grows nothing when the window is not validated (the sender passes appLimited)', () => {
    const cc = new LinuxCubicCongestionControl(MSS, { hystart: NO_HYSTART });
    cc.onAck(4 * MSS, 100, 100, true);
    expect(segments(cc)).toBe(10);
  });

  it('is chosen by cubicImplementation', () => {
    expect(createCongestionControl('cubic', MSS, { cubicImplementation: 'linux' })).toBeInstanceOf(LinuxCubicCongestionControl);
  });
});

describe("Linux's CUBIC: reductions", () => {
  it('ssthresh = 717/1024 of cwnd (not of the flight), at least 2; W_max = cwnd', () => {
    const cc = new LinuxCubicCongestionControl(MSS, { hystart: NO_HYSTART });
    cc.onCongestionEvent(0, 1 * MSS);
    expect(cc.ssthresh).toBe(7 * MSS);
    expect(cc.cwnd).toBe(7 * MSS);
    expect(cc.wMaxSegments).toBe(10);
  });

  it('a timeout sets cwnd to 1 and forgets W_max and the minimum RTT; a second one keeps ssthresh', () => {
    const cc = new LinuxCubicCongestionControl(MSS, { hystart: NO_HYSTART });
    cc.onRttSample(100, 100, { sndUna: 1, sndNxt: 1, pacingRate: 0 });
    cc.onCongestionEvent(200, 10 * MSS);
    cc.onRecoveryEnd(300);
    cc.onRetransmitTimeout(400, 7 * MSS);
    expect([segments(cc), cc.ssthresh / MSS, cc.wMaxSegments, cc.minRttMs]).toEqual([1, 4, 0, undefined]);
    cc.onRetransmitTimeout(900, MSS);
    expect(cc.ssthresh / MSS).toBe(4);
  });

  it('an undo restores cwnd and a higher ssthresh (tcp_undo_cwnd_reduction); ECE is never undone', () => {
    const cc = new LinuxCubicCongestionControl(MSS, { hystart: NO_HYSTART });
    cc.onCongestionEvent(0, 10 * MSS);
    cc.onRecoveryEnd(100);
    cc.onSpuriousCongestionEvent(100);
    expect([segments(cc), cc.ssthresh]).toEqual([10, Infinity]);
    const ecn = new LinuxCubicCongestionControl(MSS, { hystart: NO_HYSTART });
    ecn.onEcnEcho(0, 10 * MSS);
    ecn.onRecoveryEnd(100);
    ecn.onSpuriousCongestionEvent(100);
    expect(segments(ecn)).toBe(7);
  });
});

describe("Linux's CUBIC: congestion avoidance (bictcp_update, tcp_cong_avoid_ai)", () => {
  /** A controller in congestion avoidance at `cwnd` segments with W_max unknown (after a timeout). */
  function avoidingAt(cwnd: number, minRttMs: number): LinuxCubicCongestionControl {
    const cc = new LinuxCubicCongestionControl(MSS, { hystart: NO_HYSTART });
    cc.onRetransmitTimeout(0, 10 * MSS); // ssthresh 7, W_max forgotten
    cc.onRttSample(minRttMs, 1, { sndUna: 1, sndNxt: 1, pacingRate: 0 });
    while (segments(cc) < cwnd) cc.onAck(MSS, 1, minRttMs, false);
    return cc;
  }

  it('before any loss the curve may not be slower than one segment per 20 acknowledged', () => {
    const cc = avoidingAt(7, 100);
    // ACKs of one segment, 1 ms apart: the curve is flat at cwnd, so cnt = min(100·cwnd, 20),
    // and the Reno-friendly estimate (one segment per 7·15/8 = 13 acknowledged) is recomputed
    // only when cwnd changes or 31 ms pass.
    let now = 1000;
    for (let i = 0; i < 19; i++) cc.onAck(MSS, now++, 100, false);
    expect(segments(cc)).toBe(7);
    cc.onAck(MSS, now++, 100, false);
    expect(segments(cc)).toBe(8);
  });

  it('grows by at most one segment per two acknowledged, far below the curve', () => {
    const cc = avoidingAt(7, 100);
    cc.onAck(MSS, 1000, 100, false); // the epoch starts
    // Ten seconds into the epoch W_cubic is 400 segments above cwnd: cnt is held at 2.
    let now = 11_000;
    for (let i = 0; i < 40; i++) cc.onAck(MSS, now++, 100, false);
    expect(segments(cc)).toBe(7 + 20);
  });

  it('idle time with nothing in flight moves the epoch forward (CA_EVENT_TX_START)', () => {
    const idle = avoidingAt(7, 100);
    const busy = avoidingAt(7, 100);
    idle.onAck(MSS, 1000, 100, false); // epochs start
    busy.onAck(MSS, 1000, 100, false);
    idle.onTransmitStart(9000, 8000);
    let grownIdle = 0;
    let grownBusy = 0;
    for (let i = 0; i < 5; i++) {
      idle.onAck(MSS, 9000 + 40 * i, 100, false);
      busy.onAck(MSS, 9000 + 40 * i, 100, false);
    }
    grownIdle = segments(idle);
    grownBusy = segments(busy);
    expect(grownIdle).toBeLessThan(grownBusy);
  });
});

describe("Linux's CUBIC: HyStart", () => {
  const timing = (sndUna: number, sndNxt: number) => ({ sndUna, sndNxt, pacingRate: 0 });

  /** Slow start to `cwnd` segments with RTT samples of `rttMs`, all in one round ending at 1,000,000. */
  function slowStartTo(cwnd: number, detect: number): LinuxCubicCongestionControl {
    const cc = new LinuxCubicCongestionControl(MSS, { hystart: { enabled: true, detect, lowWindow: 16, ackDeltaUs: 2000 } });
    cc.onRttSample(100, 100, timing(1, 1_000_000));
    while (segments(cc) < cwnd) cc.onAck(MSS, 100, 100, false);
    return cc;
  }

  it('delay: 8 samples of a round, then one whose round minimum exceeds min RTT + 1/8 ends slow start at cwnd', () => {
    const cc = slowStartTo(20, HYSTART_DELAY);
    // A new round (SND.UNA past 1,000,000) of samples at 113 ms: 100 + 12.5 ms is the threshold.
    for (let i = 0; i < 8; i++) {
      cc.onRttSample(113, 300 + i * 10, timing(1_000_001 + i, 2_000_000));
      expect(cc.ssthresh).toBe(Infinity);
    }
    cc.onRttSample(113, 400, timing(1_000_010, 2_000_000));
    expect(cc.ssthresh).toBe(20 * MSS);
    expect(cc.hystartFound).toBe(true);
  });

  it('delay: a round whose minimum stays within the threshold, or falls, does not end it', () => {
    const cc = slowStartTo(20, HYSTART_DELAY);
    for (let i = 0; i < 12; i++) cc.onRttSample(i === 9 ? 30 : 112, 300 + i * 10, timing(1_000_001 + i, 2_000_000));
    expect(cc.ssthresh).toBe(Infinity);
  });

  it('below 16 segments it does not watch', () => {
    const cc = slowStartTo(12, HYSTART_DELAY);
    for (let i = 0; i < 12; i++) cc.onRttSample(300, 300 + i * 10, timing(1_000_001 + i, 2_000_000));
    expect(cc.ssthresh).toBe(Infinity);
  });

  it('ACK train: ACKs at most 2 ms apart for longer than half the minimum RTT end slow start', () => {
    const cc = slowStartTo(20, HYSTART_ACK_TRAIN);
    // The round starts at 300 ms; ACKs every 2 ms; half of 100 ms passes at 350 ms.
    let now = 300;
    cc.onRttSample(100, now, timing(1_000_001, 2_000_000));
    while (now < 350) {
      now += 2;
      cc.onRttSample(100, now, timing(1_000_001, 2_000_000));
      if (now <= 350) expect(cc.ssthresh).toBe(Infinity);
    }
    now += 2;
    cc.onRttSample(100, now, timing(1_000_001, 2_000_000));
    expect(cc.ssthresh).toBe(20 * MSS);
  });
});
