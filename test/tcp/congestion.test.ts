import { describe, expect, it } from 'vitest';
import { initialWindow, type CongestionAlgorithm, type CongestionControl } from '../../src/tcp/congestion.js';
import { createCongestionControl } from '../../src/tcp/congestion-algorithms.js';
import { CubicCongestionControl } from '../../src/tcp/congestion-cubic.js';
import { NewRenoCongestionControl } from '../../src/tcp/congestion-newreno.js';

const MSS = 1000;
const RTT = 100;

/**
 * One round trip of a sender that keeps cwnd full: the window at the start of the round comes
 * back as ACKs of `segmentsPerAck` segments (the last one may cover fewer), spread evenly over one RTT. Returns the time at
 * the end of the round.
 */
function ackRound(cc: CongestionControl, now: number, options: { segmentsPerAck?: number; appLimited?: boolean } = {}): number {
  const segmentsPerAck = options.segmentsPerAck ?? 1;
  const segments = Math.max(1, Math.floor(cc.cwnd / MSS));
  const acks = Math.ceil(segments / segmentsPerAck);
  for (let i = 0; i < acks; i++) {
    const acked = Math.min(segmentsPerAck, segments - i * segmentsPerAck) * MSS;
    cc.onAck(acked, now + (i * RTT) / acks, RTT, options.appLimited ?? false);
  }
  return now + RTT;
}

/** Grows a fresh controller in slow start until cwnd ≥ `segments`, then returns it. */
function grownTo(algorithm: CongestionAlgorithm, segments: number): CongestionControl {
  const cc = createCongestionControl(algorithm, MSS);
  while (cc.cwnd < segments * MSS) cc.onAck(MSS, 0, RTT, false);
  return cc;
}

describe('initial window (RFC 6928 §2: min(10*MSS, max(2*MSS, 14600)))', () => {
  it('is ten segments up to a 1460-byte MSS', () => {
    expect(initialWindow(536)).toBe(5360);
    expect(initialWindow(1000)).toBe(10_000);
    expect(initialWindow(1460)).toBe(14_600);
  });

  it('is capped at 14600 bytes for larger segments, but never below two segments', () => {
    expect(initialWindow(1500)).toBe(14_600);
    expect(initialWindow(4000)).toBe(14_600);
    expect(initialWindow(7300)).toBe(14_600);
    expect(initialWindow(9000)).toBe(18_000);
    expect(initialWindow(65_495)).toBe(130_990);
  });

  it('scales the byte cap with a different segment count; one segment after a lost SYN (RFC 5681 §3.1)', () => {
    expect(initialWindow(1460, 1)).toBe(1460);
    expect(initialWindow(9000, 1)).toBe(9000);
    expect(initialWindow(1000, 4)).toBe(4000);
    expect(initialWindow(1460, 4)).toBe(5840);
    expect(initialWindow(4000, 4)).toBe(8000);
  });

  it('rejects an unusable MSS or segment count', () => {
    expect(() => initialWindow(0)).toThrow(RangeError);
    expect(() => initialWindow(-1)).toThrow(RangeError);
    expect(() => initialWindow(1.5)).toThrow(RangeError);
    expect(() => initialWindow(Number.NaN)).toThrow(RangeError);
    expect(() => initialWindow(1460, 0)).toThrow(RangeError);
    expect(() => createCongestionControl('cubic', 0)).toThrow(RangeError);
  });
});

describe('createCongestionControl', () => {
  it('builds the named algorithm, starting at IW with ssthresh "arbitrarily high" (RFC 5681 §3.1)', () => {
    const reno = createCongestionControl('newreno', 1460);
    expect(reno).toBeInstanceOf(NewRenoCongestionControl);
    expect(reno.algorithm).toBe('newreno');
    expect(reno.cwnd).toBe(14_600);
    expect(reno.ssthresh).toBe(Number.POSITIVE_INFINITY);

    const cubic = createCongestionControl('cubic', 1460);
    expect(cubic).toBeInstanceOf(CubicCongestionControl);
    expect(cubic.algorithm).toBe('cubic');
    expect(cubic.cwnd).toBe(14_600);
    expect(cubic.ssthresh).toBe(Number.POSITIVE_INFINITY);
  });

  it('honours initialWindowSegments', () => {
    expect(createCongestionControl('newreno', 1460, { initialWindowSegments: 1 }).cwnd).toBe(1460);
    expect(createCongestionControl('cubic', 1000, { initialWindowSegments: 4 }).cwnd).toBe(4000);
  });
});

describe.each<CongestionAlgorithm>(['newreno', 'cubic'])('%s: behaviour shared with RFC 5681', (algorithm) => {
  const reducedSsthresh = (flight: number): number => (algorithm === 'newreno' ? Math.max(flight / 2, 2 * MSS) : Math.max(flight * 0.7, 2 * MSS));

  it('slow start doubles cwnd every RTT when every segment is ACKed (RFC 5681 §3.1)', () => {
    const cc = createCongestionControl(algorithm, MSS);
    let now = 0;
    const seen = [cc.cwnd];
    for (let round = 0; round < 4; round++) {
      now = ackRound(cc, now);
      seen.push(cc.cwnd);
    }
    expect(seen).toEqual([10_000, 20_000, 40_000, 80_000, 160_000]);
  });

  it('slow start still doubles every RTT with delayed ACKs, because ABC counts bytes with L = 2 (RFC 3465 §2.2)', () => {
    const cc = createCongestionControl(algorithm, MSS);
    let now = 0;
    for (let round = 0; round < 3; round++) now = ackRound(cc, now, { segmentsPerAck: 2 });
    expect(cc.cwnd).toBe(80_000);
  });

  it('a stretch ACK grows cwnd by at most L = 2 SMSS in slow start (RFC 3465 §2.2)', () => {
    const cc = createCongestionControl(algorithm, MSS);
    cc.onAck(8 * MSS, 0, RTT, false);
    expect(cc.cwnd).toBe(12_000);
    cc.onAck(500, 1, RTT, false);
    expect(cc.cwnd).toBe(12_500);
  });

  it('ACKs while the application leaves cwnd unfilled do not grow it (RFC 7661)', () => {
    const cc = createCongestionControl(algorithm, MSS);
    let now = 0;
    for (let round = 0; round < 5; round++) now = ackRound(cc, now, { appLimited: true });
    expect(cc.cwnd).toBe(10_000);

    const inAvoidance = grownTo(algorithm, 40);
    inAvoidance.onCongestionEvent(0, 40 * MSS);
    inAvoidance.onRecoveryEnd(0);
    const before = inAvoidance.cwnd;
    now = 0;
    for (let round = 0; round < 20; round++) now = ackRound(inAvoidance, now, { appLimited: true });
    expect(inAvoidance.cwnd).toBe(before);
  });

  it('ignores ACKs that acknowledge nothing new', () => {
    const cc = createCongestionControl(algorithm, MSS);
    cc.onAck(0, 0, RTT, false);
    cc.onAck(-5, 0, RTT, false);
    expect(cc.cwnd).toBe(10_000);
  });

  it('a loss reduces once per recovery episode (RFC 5681 §3.2 step 2, RFC 6582 §3.2)', () => {
    const cc = grownTo(algorithm, 100);
    cc.onCongestionEvent(0, 100 * MSS);
    expect(cc.ssthresh).toBe(reducedSsthresh(100 * MSS));
    expect(cc.cwnd).toBe(reducedSsthresh(100 * MSS));
    // More losses in the same window, and ECE, are the same congestion episode.
    cc.onCongestionEvent(10, 90 * MSS);
    cc.onEcnEcho(20, 80 * MSS);
    expect(cc.ssthresh).toBe(reducedSsthresh(100 * MSS));
    // ACKs reaching the controller during recovery do not grow the reduced window.
    cc.onAck(5 * MSS, 30, RTT, false);
    expect(cc.cwnd).toBe(reducedSsthresh(100 * MSS));
    cc.onRecoveryEnd(40);
    expect(cc.cwnd).toBe(reducedSsthresh(100 * MSS));
    // The next window's loss is a new episode.
    const ssthresh = cc.ssthresh;
    cc.onCongestionEvent(50, cc.cwnd);
    expect(cc.ssthresh).toBe(Math.round(reducedSsthresh(ssthresh)));
  });

  it('ssthresh after a loss is at least 2 SMSS (RFC 5681 eq. 4, RFC 9438 §4.6)', () => {
    const cc = createCongestionControl(algorithm, MSS);
    cc.onCongestionEvent(0, 2 * MSS);
    expect(cc.ssthresh).toBe(2 * MSS);
    expect(cc.cwnd).toBe(2 * MSS);
  });

  it('onRecoveryEnd without a congestion event changes nothing', () => {
    const cc = createCongestionControl(algorithm, MSS);
    cc.onRecoveryEnd(0);
    expect(cc.cwnd).toBe(10_000);
    expect(cc.ssthresh).toBe(Number.POSITIVE_INFINITY);
  });

  it('a retransmission timeout sets cwnd to 1 SMSS and ssthresh from the flight (RFC 5681 §3.1 eq. 4, RFC 9438 §4.8)', () => {
    const cc = grownTo(algorithm, 60);
    cc.onRetransmitTimeout(0, 60 * MSS);
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(reducedSsthresh(60 * MSS));
  });

  it('a repeated timeout with nothing acknowledged in between holds ssthresh (RFC 5681 §3.1)', () => {
    const cc = grownTo(algorithm, 60);
    cc.onRetransmitTimeout(0, 60 * MSS);
    cc.onRetransmitTimeout(1000, 60 * MSS);
    cc.onRetransmitTimeout(3000, 1 * MSS);
    expect(cc.ssthresh).toBe(reducedSsthresh(60 * MSS));
    expect(cc.cwnd).toBe(MSS);
    // Once new data is acknowledged, the next timeout computes ssthresh afresh.
    cc.onAck(MSS, 3500, RTT, false);
    cc.onRetransmitTimeout(5000, 4 * MSS);
    expect(cc.ssthresh).toBe(reducedSsthresh(4 * MSS));
  });

  it('slow start after a timeout counts at most 1 SMSS per ACK, then climbs back to ssthresh', () => {
    const cc = grownTo(algorithm, 60);
    cc.onRetransmitTimeout(0, 60 * MSS);
    cc.onAck(4 * MSS, 100, RTT, false);
    expect(cc.cwnd).toBe(2 * MSS);
    let now = 100;
    for (let round = 0; round < 6; round++) now = ackRound(cc, now);
    // Slow start stops at ssthresh; congestion avoidance takes over from there.
    expect(cc.cwnd).toBeGreaterThanOrEqual(cc.ssthresh);
    expect(cc.cwnd).toBeLessThan(cc.ssthresh + 3 * MSS);
  });

  it('a timeout during recovery ends the episode', () => {
    const cc = grownTo(algorithm, 60);
    cc.onCongestionEvent(0, 60 * MSS);
    cc.onRetransmitTimeout(1000, 60 * MSS);
    expect(cc.cwnd).toBe(MSS);
    cc.onAck(MSS, 1100, RTT, false);
    expect(cc.cwnd).toBe(2 * MSS);
  });

  it('after an idle period cwnd restarts from RW = min(IW, cwnd), keeping ssthresh (RFC 5681 §4.1)', () => {
    const cc = grownTo(algorithm, 60);
    cc.onCongestionEvent(0, 60 * MSS);
    cc.onRecoveryEnd(0);
    const ssthresh = cc.ssthresh;
    cc.onIdleRestart(10_000, 1000);
    expect(cc.cwnd).toBe(initialWindow(MSS));
    expect(cc.ssthresh).toBe(ssthresh);

    const small = createCongestionControl(algorithm, MSS);
    small.onRetransmitTimeout(0, 4 * MSS);
    small.onIdleRestart(10_000, 2000);
    expect(small.cwnd).toBe(MSS);
  });

  it('setMss keeps cwnd and ssthresh the same number of segments', () => {
    const cc = grownTo(algorithm, 40);
    cc.onCongestionEvent(0, 40 * MSS);
    cc.onRecoveryEnd(0);
    const cwndSegments = cc.cwnd / MSS;
    const ssthreshSegments = cc.ssthresh / MSS;
    cc.setMss(1400);
    expect(cc.cwnd).toBe(Math.round(cwndSegments * 1400));
    expect(cc.ssthresh).toBe(Math.round(ssthreshSegments * 1400));
    cc.setMss(500);
    expect(cc.cwnd).toBe(Math.round(cwndSegments * 500));
    expect(cc.ssthresh).toBe(Math.round(ssthreshSegments * 500));
    // The new MSS is what slow start and the restart window are counted in.
    cc.onRetransmitTimeout(0, 20 * 500);
    expect(cc.cwnd).toBe(500);
    cc.onAck(500, 10, RTT, false);
    expect(cc.cwnd).toBe(1000);
    expect(() => cc.setMss(0)).toThrow(RangeError);
  });

  it('an infinite ssthresh stays infinite through setMss', () => {
    const cc = createCongestionControl(algorithm, MSS);
    cc.setMss(1460);
    expect(cc.ssthresh).toBe(Number.POSITIVE_INFINITY);
    expect(cc.cwnd).toBe(14_600);
  });
});

describe('NewReno (RFC 5681, RFC 3465, RFC 6582)', () => {
  it('congestion avoidance adds exactly 1 SMSS per RTT of full-window ACKs (RFC 5681 §3.1, RFC 3465 §2.1)', () => {
    const cc = grownTo('newreno', 40);
    cc.onCongestionEvent(0, 40 * MSS);
    cc.onRecoveryEnd(0);
    expect(cc.cwnd).toBe(20 * MSS);
    let now = 0;
    const seen: number[] = [];
    for (let round = 0; round < 10; round++) {
      now = ackRound(cc, now);
      seen.push(cc.cwnd / MSS);
    }
    expect(seen).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  });

  it('congestion avoidance also adds 1 SMSS per RTT with delayed ACKs (byte counting)', () => {
    const cc = grownTo('newreno', 40);
    cc.onCongestionEvent(0, 40 * MSS);
    cc.onRecoveryEnd(0);
    let now = 0;
    for (let round = 0; round < 10; round++) now = ackRound(cc, now, { segmentsPerAck: 2 });
    expect(cc.cwnd).toBe(30 * MSS);
  });

  it('halves to max(FlightSize/2, 2*SMSS) on a loss and sets cwnd = ssthresh (no inflation kept in cwnd)', () => {
    const cc = grownTo('newreno', 64);
    cc.onCongestionEvent(0, 64 * MSS);
    expect(cc.ssthresh).toBe(32 * MSS);
    expect(cc.cwnd).toBe(32 * MSS);
    // FlightSize, not cwnd, is what is halved (RFC 5681 eq. 4).
    const appLimited = grownTo('newreno', 64);
    appLimited.onCongestionEvent(0, 10 * MSS);
    expect(appLimited.ssthresh).toBe(5 * MSS);
  });

  it('full acknowledgment of the recovery point leaves cwnd = ssthresh (RFC 6582 §3.2 step 3)', () => {
    const cc = grownTo('newreno', 64);
    cc.onCongestionEvent(0, 64 * MSS);
    cc.onRecoveryEnd(500);
    expect(cc.cwnd).toBe(cc.ssthresh);
    expect((cc as NewRenoCongestionControl).inRecovery).toBe(false);
  });

  it('ECN-Echo reduces like a loss, once per window (RFC 3168 §6.1.2)', () => {
    const cc = grownTo('newreno', 64);
    cc.onEcnEcho(0, 64 * MSS);
    expect(cc.ssthresh).toBe(32 * MSS);
    expect(cc.cwnd).toBe(32 * MSS);
    cc.onEcnEcho(10, 64 * MSS);
    cc.onCongestionEvent(20, 64 * MSS);
    expect(cc.cwnd).toBe(32 * MSS);
    cc.onRecoveryEnd(100);
    cc.onEcnEcho(200, 32 * MSS);
    expect(cc.cwnd).toBe(16 * MSS);
  });

  it('slow start lands on ssthresh and hands over to congestion avoidance', () => {
    const cc = grownTo('newreno', 20);
    cc.onRetransmitTimeout(0, 30 * MSS);
    expect(cc.ssthresh).toBe(15 * MSS);
    let now = 0;
    while (cc.cwnd < cc.ssthresh) now = ackRound(cc, now);
    expect(cc.cwnd).toBe(15 * MSS);
    now = ackRound(cc, now);
    expect(cc.cwnd).toBe(16 * MSS);
  });

  it('idle restart after a long idle keeps a small cwnd and restarts slow start below ssthresh', () => {
    const cc = grownTo('newreno', 100);
    cc.onCongestionEvent(0, 100 * MSS);
    cc.onRecoveryEnd(0);
    cc.onIdleRestart(60_000, 1000);
    expect(cc.cwnd).toBe(10 * MSS);
    let now = 60_000;
    now = ackRound(cc, now);
    expect(cc.cwnd).toBe(20 * MSS);
  });

  it('is deterministic: the same events give the same windows', () => {
    const run = (): number[] => {
      const cc = createCongestionControl('newreno', 1460);
      const out: number[] = [];
      let now = 0;
      for (let round = 0; round < 30; round++) {
        now = ackRound(cc, now, { segmentsPerAck: 1 + (round % 3) });
        if (round % 7 === 6) cc.onCongestionEvent(now, cc.cwnd);
        if (round % 7 === 0) cc.onRecoveryEnd(now);
        out.push(cc.cwnd, cc.ssthresh);
      }
      return out;
    };
    expect(run()).toEqual(run());
  });
});

describe.each<CongestionAlgorithm>(['newreno', 'cubic'])('%s: undo after a spurious congestion event (RFC 3708, RFC 9438 §4.9)', (algorithm) => {
  /** A controller in congestion avoidance at about 40 segments, with a loss behind it. */
  function avoiding(): CongestionControl {
    const cc = grownTo(algorithm, 60);
    cc.onCongestionEvent(0, cc.cwnd);
    cc.onRecoveryEnd(RTT);
    let now = RTT;
    for (let round = 0; round < 5; round++) now = ackRound(cc, now);
    return cc;
  }

  it('restores cwnd and ssthresh from before the reduction, once recovery is over', () => {
    const cc = avoiding();
    const before = { cwnd: cc.cwnd, ssthresh: cc.ssthresh };
    cc.onCongestionEvent(1000, cc.cwnd);
    expect(cc.cwnd).toBeLessThan(before.cwnd);
    cc.onRecoveryEnd(1100);
    cc.onSpuriousCongestionEvent(1200);
    expect({ cwnd: cc.cwnd, ssthresh: cc.ssthresh }).toEqual(before);
    // Once only.
    cc.onCongestionEvent(1300, cc.cwnd);
    cc.onRecoveryEnd(1400);
    const reduced = cc.cwnd;
    cc.onSpuriousCongestionEvent(1500);
    cc.onSpuriousCongestionEvent(1600);
    expect(cc.cwnd).toBe(before.cwnd);
    expect(reduced).toBeLessThan(before.cwnd);
  });

  it('never lowers what grew since the reduction', () => {
    const cc = avoiding();
    cc.onCongestionEvent(1000, cc.cwnd);
    cc.onRecoveryEnd(1100);
    const restoredAtLeast = cc.cwnd;
    cc.onSpuriousCongestionEvent(1200);
    expect(cc.cwnd).toBeGreaterThanOrEqual(restoredAtLeast);
  });

  it('undoes nothing after an ECN reduction, or while recovering', () => {
    const ecn = avoiding();
    ecn.onCongestionEvent(1000, ecn.cwnd);
    ecn.onRecoveryEnd(1100);
    ecn.onEcnEcho(1150, ecn.cwnd);
    ecn.onRecoveryEnd(1200);
    const afterEcn = ecn.cwnd;
    ecn.onSpuriousCongestionEvent(1300);
    expect(ecn.cwnd).toBe(afterEcn);

    const recovering = avoiding();
    recovering.onCongestionEvent(1000, recovering.cwnd);
    const during = recovering.cwnd;
    recovering.onSpuriousCongestionEvent(1050);
    expect(recovering.cwnd).toBe(during);
  });

  it('a spurious timeout (F-RTO, RFC 5682) is undone to the state just before it, not before an earlier reduction', () => {
    const timeout = avoiding();
    timeout.onCongestionEvent(1000, timeout.cwnd);
    timeout.onRecoveryEnd(1050);
    const before = { cwnd: timeout.cwnd, ssthresh: timeout.ssthresh };
    timeout.onRetransmitTimeout(1100, timeout.cwnd);
    expect(timeout.cwnd).toBe(MSS);
    timeout.onSpuriousCongestionEvent(1200);
    expect({ cwnd: timeout.cwnd, ssthresh: timeout.ssthresh }).toEqual(before);
  });

  it('after repeated timeouts with nothing acknowledged in between, the undo goes back to before the first', () => {
    const cc = avoiding();
    const before = { cwnd: cc.cwnd, ssthresh: cc.ssthresh };
    cc.onRetransmitTimeout(1000, cc.cwnd);
    cc.onRetransmitTimeout(1400, cc.cwnd);
    cc.onSpuriousCongestionEvent(1500);
    expect({ cwnd: cc.cwnd, ssthresh: cc.ssthresh }).toEqual(before);
  });
});

describe('a controller started from a window (TCP_CONGESTION on an open connection)', () => {
  const kinds: [string, () => CongestionControl][] = [
    ['newreno', () => createCongestionControl('newreno', 1000, { window: { cwnd: 30_000, ssthresh: 20_000 } })],
    ['cubic (RFC 9438)', () => createCongestionControl('cubic', 1000, { window: { cwnd: 30_000, ssthresh: 20_000 } })],
    ['cubic (Linux)', () => createCongestionControl('cubic', 1000, { cubicImplementation: 'linux', window: { cwnd: 30_000, ssthresh: 20_000 } })],
  ];
  for (const [name, make] of kinds) {
    it(`${name}: starts at the given cwnd and ssthresh, in congestion avoidance`, () => {
      const cc = make();
      expect([cc.cwnd, cc.ssthresh]).toEqual([30_000, 20_000]);
      // Above ssthresh: one ACK of a segment grows cwnd by far less than slow start's segment.
      cc.onAck(1000, 1000, 50, false);
      expect(cc.cwnd).toBeLessThan(31_000);
      expect(cc.ssthresh).toBe(20_000);
    });
  }
});
