/**
 * The Timestamps option's state (RFC 7323; timestamps.ts) on its own: our clock, the TS.Recent
 * update rule, PAWS and the 24-day invalidation of TS.Recent.
 */
import { describe, expect, it } from 'vitest';
import { TcpTimestamps } from '../../src/tcp/timestamps.js';

const DAY_MS = 24 * 3600 * 1000;

describe('Timestamps option (RFC 7323)', () => {
  it('§5.4: TSval counts milliseconds from the offset, wrapping at 2^32', () => {
    const timestamps = new TcpTimestamps();
    timestamps.setClockOffset(0xffff_fff0);
    expect(timestamps.tsVal(10.7)).toBe(0xffff_fffa);
    expect(timestamps.tsVal(20)).toBe(4);
  });

  it('§4.3: TS.Recent takes the TSval of a segment covering Last.ACK.sent, never an older one', () => {
    const timestamps = new TcpTimestamps();
    timestamps.synArrived(true, 100, 0);
    timestamps.ackSent(5000);
    timestamps.segmentAccepted(5001, 200, 1); // beyond Last.ACK.sent
    expect(timestamps.recent).toBe(100);
    timestamps.segmentAccepted(5000, 90, 1); // older TSval
    expect(timestamps.recent).toBe(100);
    timestamps.segmentAccepted(4000, 150, 1);
    expect(timestamps.recent).toBe(150);
  });

  it('§5.3: PAWS rejects a TSval older than TS.Recent, §5.5: not once TS.Recent is 24 days idle', () => {
    const timestamps = new TcpTimestamps();
    timestamps.synArrived(true, 1000, 0);
    expect(timestamps.pawsRejects(999, 1)).toBe(true);
    expect(timestamps.pawsRejects(1000, 1)).toBe(false);
    expect(timestamps.pawsRejects(999, 24 * DAY_MS)).toBe(true);
    expect(timestamps.pawsRejects(999, 24 * DAY_MS + 1)).toBe(false);
  });

  it('a SYN without the option leaves it off and TS.Recent as it was', () => {
    const timestamps = new TcpTimestamps();
    timestamps.synArrived(false, undefined, 5);
    expect(timestamps.enabled).toBe(false);
    expect(timestamps.recent).toBe(0);
  });
});
