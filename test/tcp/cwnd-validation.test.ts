import { describe, expect, it } from 'vitest';
import { slowStartGrowth } from '../../src/tcp/congestion.js';
import { CongestionWindowUse } from '../../src/tcp/cwnd-validation.js';
import { mapShellCommand } from '../../src/drill/sysctl.js';

const MSS = 1000;

describe('congestion window use, measured per window of data (RFC 7661)', () => {
  it('the ACKs of one window all see its largest flight, not what is left in flight', () => {
    const use = new CongestionWindowUse();
    use.recordTransmission(0, 9000, 9000, false);
    expect(use.largestFlightBytes).toBe(9000);
    // RFC 7661 §4.3: validated while pipeACK ≥ ½·cwnd, whatever remains outstanding.
    expect(use.validated('rfc7661', 18_000, true, MSS)).toBe(true);
    expect(use.validated('rfc7661', 19_000, true, MSS)).toBe(false);
  });

  it('a new measurement starts once the last one is acknowledged', () => {
    const use = new CongestionWindowUse();
    use.recordTransmission(0, 9000, 9000, false);
    use.recordTransmission(4000, 10_000, 6000, false); // SND.UNA short of 9000: still the 9000 flight
    expect(use.largestFlightBytes).toBe(9000);
    use.recordTransmission(9000, 13_000, 4000, false);
    expect(use.largestFlightBytes).toBe(4000);
    expect(use.validated('rfc7661', 10_000, true, MSS)).toBe(false);
  });

  it('a larger flight replaces a smaller one within a measurement', () => {
    const use = new CongestionWindowUse();
    use.recordTransmission(0, 3000, 3000, false);
    use.recordTransmission(1000, 8000, 7000, false);
    expect(use.largestFlightBytes).toBe(7000);
  });

  it('running out of cwnd validates the window for the rest of the measurement', () => {
    const use = new CongestionWindowUse();
    use.recordTransmission(0, 10_000, 10_000, true);
    expect(use.congestionWindowLimited).toBe(true);
    // A smaller flight in the same measurement does not undo it.
    use.recordTransmission(2000, 10_000, 8000, false);
    expect(use.validated('rfc7661', 10_000, false, MSS)).toBe(true);
    expect(use.validated('linux', 10_000, false, MSS)).toBe(true);
  });

  it('after slow start, RFC 9438 §5.8: growth only with less than a segment of cwnd left', () => {
    const use = new CongestionWindowUse();
    use.recordTransmission(0, 9500, 9500, false);
    expect(use.validated('rfc7661', 10_000, false, MSS)).toBe(true);
    const halfUsed = new CongestionWindowUse();
    halfUsed.recordTransmission(0, 6000, 6000, false);
    expect(halfUsed.validated('rfc7661', 10_000, false, MSS)).toBe(false);
  });

  it("Linux's rule: slow start needs cwnd below twice the flight; congestion avoidance needs cwnd to have run out", () => {
    const use = new CongestionWindowUse();
    use.recordTransmission(0, 5000, 5000, false);
    expect(use.validated('rfc7661', 10_000, true, MSS)).toBe(true); // pipeACK = ½·cwnd
    expect(use.validated('linux', 10_000, true, MSS)).toBe(false);
    expect(use.validated('linux', 9000, true, MSS)).toBe(true);
    use.recordTransmission(0, 9900, 9900, false);
    expect(use.validated('linux', 10_000, false, MSS)).toBe(false);
  });
});

describe('slow start per ACK (RFC 5681 §3.1, RFC 3465 §2.2–2.3)', () => {
  it('grows by at most L segments; L = 1 after a timeout', () => {
    expect(slowStartGrowth(10, Infinity, 4, 2, false)).toEqual({ growth: 2, left: 0 });
    expect(slowStartGrowth(10, Infinity, 4, 2, true)).toEqual({ growth: 1, left: 0 });
    expect(slowStartGrowth(10, 11, 4, 2, false)).toEqual({ growth: 1, left: 0 });
  });

  it('without a limit every acknowledged segment counts, and what passes ssthresh is left for congestion avoidance', () => {
    expect(slowStartGrowth(10, Infinity, 4, Infinity, true)).toEqual({ growth: 4, left: 0 });
    expect(slowStartGrowth(10, 12, 4, Infinity, false)).toEqual({ growth: 2, left: 2 });
  });
});

describe('Linux sysctls of congestion control and send units', () => {
  it('map to their TcpConfig settings', () => {
    const outcome = mapShellCommand(
      'sysctl -q net.ipv4.tcp_slow_start_after_idle=0 net.ipv4.tcp_min_tso_segs=10 net.ipv4.tcp_pacing_ss_ratio=150 net.ipv4.tcp_pacing_ca_ratio=110',
      false,
    );
    expect(outcome.unsupported).toEqual([]);
    expect(outcome.changes).toEqual({ idleRestart: false, minSendUnitSegments: 10, pacingSlowStartRatio: 150, pacingCongestionAvoidanceRatio: 110 });
  });

  it('ustack settings take Infinity and named rules', () => {
    const outcome = mapShellCommand('ustack tcp.slowStartAckLimitSegments=Infinity tcp.congestionWindowValidation=linux', true);
    expect(outcome.changes).toEqual({ slowStartAckLimitSegments: Infinity, congestionWindowValidation: 'linux' });
    expect(mapShellCommand('ustack tcp.congestionWindowValidation=sometimes', true).unsupported).toHaveLength(1);
  });
});
