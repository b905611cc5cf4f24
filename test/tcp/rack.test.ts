/**
 * RACK's variables and steps (RFC 8985 §6; rack.ts RackLossDetection) on their own: RACK.rtt and
 * RACK.xmit_ts from delivered segments, the reordering window, the D-SACK round and its persistence.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TCP_CONFIG } from '../../src/tcp/config.js';
import type { SentSegment } from '../../src/tcp/connection.js';
import { RackLossDetection } from '../../src/tcp/rack.js';

function sent(seq: number, sentAt: number, sentOrder: number, retransmits = 0): SentSegment {
  return { seq, length: 1000, syn: false, fin: false, push: false, unitEnd: seq + 1000, sentAt, sentOrder, retransmits, sacked: false, lost: false };
}

describe('RACK (RFC 8985 §6)', () => {
  it('step 2: RACK.rtt from the most recently sent segment an ACK delivers; RACK.xmit_ts and end_seq from the most recently sent ever', () => {
    const rack = new RackLossDetection(DEFAULT_TCP_CONFIG);
    expect(rack.sentOrder).toBe(-1);
    rack.ackArrives();
    rack.update(sent(2000, 20, 2), 100, false, undefined);
    rack.update(sent(1000, 10, 1), 100, true, undefined); // sent earlier: neither RTT nor xmit_ts
    expect(rack.rtt).toBe(80);
    expect(rack.sentAt).toBe(20);
    expect(rack.sentOrder).toBe(2);
    expect(rack.endSeq).toBe(3000);
  });

  it('step 2: a retransmission acknowledged faster than min_RTT says nothing', () => {
    const rack = new RackLossDetection(DEFAULT_TCP_CONFIG);
    rack.ackArrives();
    rack.update(sent(1000, 95, 5, 1), 100, true, 30);
    expect(rack.sentOrder).toBe(-1);
    expect(rack.rtt).toBe(0);
  });

  it('step 4: reo_wnd is min_RTT/4, zero in loss recovery until reordering is seen, at most SRTT', () => {
    const rack = new RackLossDetection(DEFAULT_TCP_CONFIG);
    expect(rack.reorderWindow(40, 100, false, 0)).toBe(10);
    expect(rack.reorderWindow(40, 100, true, 0)).toBe(0);
    expect(rack.reorderWindow(40, 100, false, DEFAULT_TCP_CONFIG.duplicateThreshold)).toBe(0);
    rack.reorderingDetected();
    expect(rack.reorderWindow(40, 100, true, 0)).toBe(10);
    expect(rack.reorderWindow(40, 5, true, 0)).toBe(5);
  });

  it('step 4: a D-SACK widens the window once per round trip, and 16 recoveries without one shrink it back', () => {
    const rack = new RackLossDetection(DEFAULT_TCP_CONFIG);
    expect(rack.dsackReceived(1000, 5000)).toBe(true);
    expect(rack.reorderWindowMultiplier).toBe(2);
    expect(rack.reorderingSeen).toBe(true);
    expect(rack.dsackReceived(3000, 6000)).toBe(false); // SND.UNA has not passed 5000
    expect(rack.dsackReceived(5000, 7000)).toBe(true);
    expect(rack.reorderWindowMultiplier).toBe(3);
    for (let i = 0; i < 15; i++) rack.recoveryEnded();
    expect(rack.reorderWindowMultiplier).toBe(3);
    rack.recoveryEnded();
    expect(rack.reorderWindowMultiplier).toBe(1);
  });
});
