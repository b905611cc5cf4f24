/**
 * F-RTO (RFC 5682; TcpConfig.frto): after a retransmission timeout and the ACK of its
 * retransmission, new data goes instead of more retransmissions; an ACK for data sent before the
 * timeout then shows the timeout spurious, and its cwnd and ssthresh reduction is undone (as
 * Linux's tcp_try_undo_loss). A duplicate ACK or a SACK for other data shows a real loss, and
 * the conventional RTO recovery goes on. The SACK-enhanced version (§3) with SACK, the basic one
 * (§2) without.
 */
import { describe, expect, it } from 'vitest';
import { TcpCaState, tcpInfo } from '../../src/tcp/tcp-info.js';
import type { TcpOption } from '../../src/tcp/tcp-options.js';
import { ACK, established, mssOnly, sackOption, seq, type FixtureOptions, type TcpHarness } from './harness.js';

const MSS = 1460;
/** A SACK peer; no tail loss probe, so that the timeout is the first thing to fire. */
const SACK_PEER: FixtureOptions = {
  peerSynOptions: [...mssOnly(), { kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' }] as TcpOption[],
  tcp: { tailLossProbe: false },
};

/**
 * Four segments out, a timeout, its retransmission of the first, and two more segments written
 * that cwnd (one segment after the timeout) holds back. Returns cwnd and ssthresh from before
 * the timeout.
 */
function timedOut(h: TcpHarness): { readonly cwnd: number; readonly ssthresh: number } {
  h.conn.setNoDelay(true);
  h.write(4 * MSS);
  expect(h.take()).toHaveLength(4);
  const before = { cwnd: h.conn.cc.cwnd, ssthresh: h.conn.cc.ssthresh };
  h.advance(h.conn.rtt.rto);
  h.expectSent(seq(h.ourSeq(0)));
  expect(h.conn.cc.cwnd).toBe(MSS);
  h.write(2 * MSS);
  h.expectNothingSent();
  return before;
}

/** The peer acknowledges through data byte `n`, with SACK blocks [from, to) in data bytes. */
function ackThrough(h: TcpHarness, n: number, ...sacked: [number, number][]): void {
  const options = sacked.length > 0 ? sackOption(...sacked.map(([from, to]) => ({ leftEdge: h.ourSeq(from), rightEdge: h.ourSeq(to) }))) : undefined;
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(n), flags: ACK, options });
}

const sentSeqs = (h: TcpHarness): number[] => h.take().map((s) => s.tcp.seq);

describe('F-RTO without SACK (RFC 5682 §2)', () => {
  it('a spurious timeout: new data after the first ACK, then the ACK of an original segment undoes the reduction (§2 steps 2b, 3b)', () => {
    const h = established();
    const before = timedOut(h);
    ackThrough(h, MSS); // the original first segment's ACK, late: SND.UNA advances, "recover" not reached
    // Step 2b: two new segments (cwnd grew to two), not the second and third segments again.
    expect(sentSeqs(h)).toEqual([h.ourSeq(4 * MSS), h.ourSeq(5 * MSS)]);
    expect(tcpInfo(h.conn, h.now).ca_state).toBe(TcpCaState.loss);
    ackThrough(h, 2 * MSS); // step 3: a segment never retransmitted is acknowledged
    expect(h.stat('tcp.frto.spuriousRto')).toBe(1);
    expect(h.conn.cc.ssthresh).toBe(before.ssthresh);
    expect(h.conn.cc.cwnd).toBeGreaterThanOrEqual(before.cwnd);
    expect(h.conn.recovery.inRtoRecovery).toBe(false);
    expect(tcpInfo(h.conn, h.now).ca_state).toBe(TcpCaState.open);
    // Nothing is deemed lost any more: the rest is not retransmitted.
    h.expectNothingSent();
    ackThrough(h, 6 * MSS);
    expect(h.stat('tcp.tx.retransmits')).toBe(1);
  });

  it('a real loss: a duplicate ACK after the new data resumes the conventional recovery, without undo (§2 step 3a)', () => {
    const h = established();
    timedOut(h);
    ackThrough(h, MSS); // the retransmission's ACK; the second segment was lost too
    expect(sentSeqs(h)).toEqual([h.ourSeq(4 * MSS), h.ourSeq(5 * MSS)]);
    ackThrough(h, MSS); // the new data arrived above the hole: a duplicate ACK
    expect(sentSeqs(h)).toEqual([h.ourSeq(MSS)]);
    expect(h.stat('tcp.frto.spuriousRto')).toBe(0);
    expect(h.conn.cc.cwnd).toBe(2 * MSS);
    expect(tcpInfo(h.conn, h.now).ca_state).toBe(TcpCaState.loss);
  });

  it('an ACK of everything outstanding at the timeout ends F-RTO without undo, as the receiver held the rest (§2 step 2a; Linux undoes)', () => {
    const h = established();
    timedOut(h);
    ackThrough(h, 4 * MSS); // the first segment was lost; the others had arrived
    expect(h.stat('tcp.frto.spuriousRto')).toBe(0);
    expect(h.conn.cc.cwnd).toBe(2 * MSS);
    expect(sentSeqs(h)).toEqual([h.ourSeq(4 * MSS), h.ourSeq(5 * MSS)]);
  });

  it('a duplicate ACK before the retransmission is acknowledged ends F-RTO (§2 step 2a)', () => {
    const h = established();
    timedOut(h);
    ackThrough(h, 0);
    ackThrough(h, MSS);
    // Go-back-N, not new data.
    expect(sentSeqs(h)).toEqual([h.ourSeq(MSS), h.ourSeq(2 * MSS)]);
    ackThrough(h, 3 * MSS);
    expect(h.stat('tcp.frto.spuriousRto')).toBe(0);
  });

  it('with nothing new to send, the recovery is the conventional one (§2 step 2b)', () => {
    const h = established();
    h.conn.setNoDelay(true);
    h.write(4 * MSS);
    h.take();
    h.advance(h.conn.rtt.rto);
    h.take();
    ackThrough(h, MSS);
    expect(sentSeqs(h)).toEqual([h.ourSeq(MSS), h.ourSeq(2 * MSS)]);
    expect(h.conn.frto.active).toBe(false);
  });

  it('tcp.frto = false: go-back-N after the first ACK, and no undo', () => {
    const h = established({ tcp: { frto: false } });
    timedOut(h);
    ackThrough(h, MSS);
    expect(sentSeqs(h)).toEqual([h.ourSeq(MSS), h.ourSeq(2 * MSS)]);
    ackThrough(h, 2 * MSS);
    expect(h.stat('tcp.frto.spuriousRto')).toBe(0);
    expect(h.conn.recovery.inRtoRecovery).toBe(true);
  });
});

describe('F-RTO with SACK (RFC 5682 §3)', () => {
  it('a spurious timeout: new data after the first ACK, then an original segment acknowledged undoes the reduction (§3 steps 2b, 3b)', () => {
    const h = established(SACK_PEER);
    const before = timedOut(h);
    ackThrough(h, MSS);
    expect(sentSeqs(h)).toEqual([h.ourSeq(4 * MSS), h.ourSeq(5 * MSS)]);
    ackThrough(h, 2 * MSS);
    expect(h.stat('tcp.frto.spuriousRto')).toBe(1);
    expect(h.stat('tcp.cwnd.undone')).toBe(1);
    expect(h.conn.cc.cwnd).toBeGreaterThanOrEqual(before.cwnd);
    expect(h.conn.cc.ssthresh).toBe(before.ssthresh);
    expect(tcpInfo(h.conn, h.now).ca_state).toBe(TcpCaState.open);
    h.expectNothingSent();
  });

  it('a SACK of the new data after it shows the loss real: the conventional recovery resumes, without undo (§3 step 3a)', () => {
    const h = established(SACK_PEER);
    timedOut(h);
    ackThrough(h, MSS);
    expect(sentSeqs(h)).toEqual([h.ourSeq(4 * MSS), h.ourSeq(5 * MSS)]);
    ackThrough(h, MSS, [4 * MSS, 5 * MSS]);
    expect(sentSeqs(h)[0]).toBe(h.ourSeq(MSS));
    expect(h.stat('tcp.frto.spuriousRto')).toBe(0);
    expect(h.conn.recovery.inRtoRecovery).toBe(true);
  });

  it('duplicate ACKs in step 2 do not end it; a SACK for an original segment there already shows the timeout spurious (as Linux)', () => {
    const h = established(SACK_PEER);
    const before = timedOut(h);
    ackThrough(h, 0, [MSS, 2 * MSS]);
    expect(h.stat('tcp.frto.spuriousRto')).toBe(1);
    expect(h.conn.cc.cwnd).toBeGreaterThanOrEqual(before.cwnd);
    expect(h.conn.recovery.inRtoRecovery).toBe(false);
    // With cwnd back, the two segments written after the timeout go; nothing is retransmitted.
    expect(sentSeqs(h)).toEqual([h.ourSeq(4 * MSS), h.ourSeq(5 * MSS)]);
  });

  it('a repeated timeout with nothing acknowledged restarts F-RTO, and the undo goes back to before the first', () => {
    const h = established(SACK_PEER);
    const before = timedOut(h);
    h.advance(h.conn.rtt.rto); // the second timeout, backed off
    h.expectSent(seq(h.ourSeq(0)));
    expect(h.conn.frto.active).toBe(true);
    ackThrough(h, MSS);
    expect(sentSeqs(h)).toEqual([h.ourSeq(4 * MSS), h.ourSeq(5 * MSS)]);
    ackThrough(h, 2 * MSS);
    expect(h.stat('tcp.frto.spuriousRto')).toBe(1);
    expect(h.conn.cc.ssthresh).toBe(before.ssthresh);
    expect(h.conn.cc.cwnd).toBeGreaterThanOrEqual(before.cwnd);
  });
});
