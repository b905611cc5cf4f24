/**
 * The sender's loss-recovery state (recovery.ts LossRecovery): which recovery each event leads
 * to, and where RFC 6582's "recover" stands.
 */
import { describe, expect, it } from 'vitest';
import { LossRecovery } from '../../src/tcp/recovery.js';

describe('loss-recovery state', () => {
  it('starts open, with "recover" at ISS once the SYN is prepared (RFC 6582 §3.2)', () => {
    const recovery = new LossRecovery();
    recovery.opening(1000);
    expect(recovery.state).toBe('open');
    expect(recovery.open).toBe(true);
    expect(recovery.recoveryPoint).toBe(1000);
  });

  it('a fast recovery is entered once, sets "recover" to SND.NXT and ends open', () => {
    const recovery = new LossRecovery();
    expect(recovery.enterFastRecovery(5000)).toBe(true);
    expect(recovery.state).toBe('fast');
    expect(recovery.inFastRecovery).toBe(true);
    expect(recovery.inRtoRecovery).toBe(false);
    expect(recovery.enterFastRecovery(9000)).toBe(false);
    expect(recovery.recoveryPoint).toBe(5000);
    recovery.endFastRecovery();
    expect(recovery.state).toBe('open');
  });

  it('a timeout during a fast recovery ends it: RTO recovery up to the new SND.NXT', () => {
    const recovery = new LossRecovery();
    recovery.enterFastRecovery(5000);
    recovery.enterRtoRecovery(7000);
    expect(recovery.state).toBe('rto');
    expect(recovery.inFastRecovery).toBe(false);
    expect(recovery.recoveryPoint).toBe(7000);
    recovery.endRtoRecovery();
    expect(recovery.state).toBe('open');
  });

  it('a loss found during an RTO recovery nests a fast recovery in it; each end leaves the other', () => {
    const recovery = new LossRecovery();
    recovery.enterRtoRecovery(7000);
    expect(recovery.enterFastRecovery(8000)).toBe(true);
    expect(recovery.state).toBe('fast-in-rto');
    expect(recovery.inFastRecovery && recovery.inRtoRecovery).toBe(true);
    expect(recovery.open).toBe(false);
    expect(recovery.recoveryPoint).toBe(8000);
    recovery.endFastRecovery();
    expect(recovery.state).toBe('rto');

    recovery.enterFastRecovery(9000);
    recovery.endRtoRecovery(); // F-RTO: the timeout was spurious
    expect(recovery.state).toBe('fast');
  });
});
