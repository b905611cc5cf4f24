/**
 * Proportional Rate Reduction (RFC 9937 §4) as arithmetic: what cwnd becomes on each ACK of a
 * fast recovery, in bytes, with an MSS of 1000.
 */
import { describe, expect, it } from 'vitest';
import { ProportionalRateReduction } from '../../src/tcp/prr.js';

const MSS = 1000;

describe('Proportional Rate Reduction (RFC 9937)', () => {
  it('before any ACK, only the fast retransmit may go: cwnd = pipe + 1 MSS', () => {
    expect(new ProportionalRateReduction(10_000, 6_000, MSS).cwnd).toBe(7_000);
  });

  it('above ssthresh, sndcnt = ceil(prr_delivered · ssthresh / RecoverFS) − prr_out', () => {
    const prr = new ProportionalRateReduction(20_000, 18_000, MSS);
    prr.onAck(1_000, 18_000, 10_000, false, MSS); // 500 due, raised to one segment: the fast retransmit
    expect(prr.cwnd).toBe(19_000);
    prr.onSent(1_000);
    prr.onAck(1_000, 18_000, 10_000, false, MSS); // 1000 due, 1000 sent
    expect(prr.cwnd).toBe(18_000);
    prr.onAck(1_000, 17_000, 10_000, false, MSS); // 1500 due
    expect(prr.cwnd).toBe(17_500);
    prr.onAck(1_000, 16_000, 10_000, false, MSS); // 2000 due: a second segment
    expect(prr.cwnd).toBe(17_000);
  });

  it('at or below ssthresh: as much as was delivered (PRR-CRB), one MSS more on a safe ACK (PRR-SSRB), never past ssthresh', () => {
    const prr = new ProportionalRateReduction(8_000, 2_000, MSS);
    prr.onAck(1_000, 2_000, 5_000, false, MSS);
    expect(prr.cwnd).toBe(3_000);
    prr.onSent(1_000);
    prr.onAck(1_000, 2_000, 5_000, true, MSS); // delivered 2000, sent 1000: 1000, +1000 for the safe ACK
    expect(prr.cwnd).toBe(4_000);
    prr.onSent(2_000);
    prr.onAck(3_000, 2_000, 5_000, true, MSS); // this ACK delivered 3000: 3000 + 1000, capped at ssthresh − pipe = 3000
    expect(prr.cwnd).toBe(5_000);
  });

  it('an ACK that delivers nothing changes nothing', () => {
    const prr = new ProportionalRateReduction(8_000, 2_000, MSS);
    prr.onAck(1_000, 2_000, 5_000, false, MSS);
    prr.onSent(1_000);
    prr.onAck(0, 500, 5_000, true, MSS);
    expect(prr.cwnd).toBe(3_000);
  });
});
