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
    expect(recovery.enterFastRecovery(5000, false)).toBe(true);
    expect(recovery.state).toBe('fast');
    expect(recovery.inFastRecovery).toBe(true);
    expect(recovery.inRtoRecovery).toBe(false);
    expect(recovery.enterFastRecovery(9000, true)).toBe(false);
    expect(recovery.recoveryPoint).toBe(5000);
    recovery.endFastRecovery();
    expect(recovery.state).toBe('open');
  });

  it('a timeout during a fast recovery ends it: RTO recovery up to the new SND.NXT', () => {
    const recovery = new LossRecovery();
    recovery.enterFastRecovery(5000, false);
    recovery.enterRtoRecovery(7000);
    expect(recovery.state).toBe('rto');
    expect(recovery.inFastRecovery).toBe(false);
    expect(recovery.recoveryPoint).toBe(7000);
    recovery.endRtoRecovery();
    expect(recovery.state).toBe('open');
  });

  it('during an RTO recovery a loss starts no fast recovery and "recover" stays (RFC 6675 §5.1, RFC 6582 §4)', () => {
    const recovery = new LossRecovery();
    recovery.enterRtoRecovery(7000);
    expect(recovery.enterFastRecovery(8000, false)).toBe(false);
    expect(recovery.state).toBe('rto');
    expect(recovery.recoveryPoint).toBe(7000);
    recovery.endFastRecovery(); // not in one: nothing to end
    expect(recovery.state).toBe('rto');
  });

  it('a lost retransmission turns an RTO recovery into a fast one up to the new SND.NXT (RFC 5681 §4.3)', () => {
    const recovery = new LossRecovery();
    recovery.enterRtoRecovery(7000);
    expect(recovery.enterFastRecovery(8000, true)).toBe(true);
    expect(recovery.state).toBe('fast');
    expect(recovery.inRtoRecovery).toBe(false);
    expect(recovery.recoveryPoint).toBe(8000);
    recovery.endRtoRecovery(); // F-RTO has nothing left to undo
    expect(recovery.state).toBe('fast');
    recovery.endFastRecovery();
    expect(recovery.state).toBe('open');
  });
});
