/**
 * The ECN state of a connection (RFC 3168 §6.1; ecn.ts) on its own: the receiver's echo, one
 * reduction per window of data, and the CWR owed after it.
 */
import { describe, expect, it } from 'vitest';
import { ExplicitCongestionNotification } from '../../src/tcp/ecn.js';

describe('ECN (RFC 3168 §6.1)', () => {
  it('§6.1.3: CE is echoed with ECE until a CWR arrives', () => {
    const ecn = new ExplicitCongestionNotification();
    ecn.setEnabled(true);
    ecn.congestionExperienced();
    expect(ecn.echoPending).toBe(true);
    ecn.cwrReceived();
    expect(ecn.echoPending).toBe(false);
  });

  it('§6.1.2: one reduction per window of data, then CWR once on new data', () => {
    const ecn = new ExplicitCongestionNotification();
    ecn.setEnabled(true);
    ecn.opening(1000);
    expect(ecn.mayReduce(1000)).toBe(false); // nothing past ISS acknowledged yet
    expect(ecn.mayReduce(1001)).toBe(true);
    ecn.reduced(5000);
    expect(ecn.reducing).toBe(true);
    expect(ecn.mayReduce(4000)).toBe(false);
    expect(ecn.reductionEnds(4999)).toBe(false);
    expect(ecn.reductionEnds(5000)).toBe(true);
    expect(ecn.reducing).toBe(false);
    expect(ecn.mayReduce(5000)).toBe(false); // the window of the last reduction: not again
    expect(ecn.mayReduce(5001)).toBe(true);
    expect(ecn.takeCwr()).toBe(true);
    expect(ecn.takeCwr()).toBe(false);
  });

  it('a loss reduction owes a CWR only when ECN was negotiated', () => {
    const ecn = new ExplicitCongestionNotification();
    ecn.lossReduced();
    expect(ecn.takeCwr()).toBe(false);
    ecn.setEnabled(true);
    ecn.lossReduced();
    expect(ecn.takeCwr()).toBe(true);
  });
});
