/**
 * Losses found during an RTO recovery (recovery.ts, LossRecovery's `'rto'`). After a timeout the
 * sender repairs what the ACKs show lost within the RTO recovery, growing cwnd by slow start,
 * and starts no fast recovery (RFC 6675 §5.1; RFC 6582 §4 without SACK) — except for the loss of
 * a retransmission, which RFC 5681 §4.3 counts as a second indication of congestion (RFC 8985
 * §3.4 for RACK): the RTO recovery then gives way to one fast recovery, with one more reduction,
 * as Linux's Loss state gives way to Recovery (tcp_fastretrans_alert, FLAG_LOST_RETRANS).
 */
import { describe, expect, it } from 'vitest';
import { TcpCaState, tcpInfo } from '../../src/tcp/tcp-info.js';
import type { TcpOption } from '../../src/tcp/tcp-options.js';
import { ACK, established, mssOnly, sackOption, type FixtureOptions, type TcpHarness } from './harness.js';

const MSS = 1460;
/** RFC 5681's arithmetic (NewReno); no tail loss probe, so that the timeout is the first thing to fire. */
const TCP = { congestionControl: 'newreno', tailLossProbe: false } as const;
/** A SACK peer. */
const SACK_PEER: FixtureOptions = {
  peerSynOptions: [...mssOnly(), { kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' }] as TcpOption[],
  tcp: TCP,
};

/** The peer acknowledges through data byte `n`, with SACK blocks [from, to) in data bytes. */
function ackThrough(h: TcpHarness, n: number, ...sacked: [number, number][]): void {
  const options = sacked.length > 0 ? sackOption(...sacked.map(([from, to]) => ({ leftEdge: h.ourSeq(from), rightEdge: h.ourSeq(to) }))) : undefined;
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(n), flags: ACK, options });
}

/** Data byte offsets of what we sent since the last call. */
const sentOffsets = (h: TcpHarness): number[] => h.take().map((s) => (s.tcp.seq - h.ourSeq(0)) >>> 0);

/** Eight segments out, then the timeout: the first is retransmitted, cwnd is one segment. Returns ssthresh after it. */
function eightOutThenTimeout(h: TcpHarness): number {
  h.conn.setNoDelay(true);
  h.write(8 * MSS);
  expect(h.take()).toHaveLength(8);
  h.advance(h.conn.rtt.rto);
  expect(sentOffsets(h)).toEqual([0]);
  expect(h.conn.recovery.state).toBe('rto');
  expect(h.conn.recovery.recoveryPoint).toBe(h.ourSeq(8 * MSS));
  expect(h.conn.cc.cwnd).toBe(MSS);
  // RFC 5681 §3.1 eq. 4: half the eight segments in flight.
  expect(h.conn.cc.ssthresh).toBe(4 * MSS);
  return h.conn.cc.ssthresh;
}

describe('losses found during an RTO recovery', () => {
  it('new data sent after the timeout and lost is resent within the RTO recovery: no fast recovery, no second reduction (RFC 6675 §5.1)', () => {
    const h = established(SACK_PEER);
    const ssthresh = eightOutThenTimeout(h);
    h.write(2 * MSS); // held back by cwnd
    h.expectNothingSent();
    h.advance(10);
    // The timeout's retransmission is acknowledged: F-RTO (RFC 5682 step 2b) sends new data.
    ackThrough(h, MSS);
    expect(h.conn.cc.cwnd).toBe(2 * MSS); // slow start
    expect(sentOffsets(h)).toEqual([8 * MSS, 9 * MSS]);
    h.advance(10);
    // The first new segment was lost, the second SACKed: RACK marks the first lost (RFC 8985
    // §6.2), never retransmitted. F-RTO ends (step 3a); the RTO recovery goes on.
    ackThrough(h, MSS, [9 * MSS, 10 * MSS]);
    expect(h.stat('tcp.rack.lost')).toBe(1);
    expect(h.conn.recovery.state).toBe('rto');
    expect(h.conn.recovery.recoveryPoint).toBe(h.ourSeq(8 * MSS));
    expect(h.stat('tcp.recovery.sack')).toBe(0);
    expect(h.conn.prr).toBeNull();
    expect(h.conn.cc.ssthresh).toBe(ssthresh);
    expect(tcpInfo(h.conn, h.now).ca_state).toBe(TcpCaState.loss);
    // Lost segments go in sequence order as cwnd allows: two, nothing being in flight.
    expect(sentOffsets(h)).toEqual([MSS, 2 * MSS]);

    // The ACKs that follow grow cwnd by slow start and let the rest of the lost segments out,
    // the lost new data after those outstanding at the timeout.
    h.advance(10);
    ackThrough(h, 3 * MSS, [9 * MSS, 10 * MSS]);
    expect(h.conn.cc.cwnd).toBe(3 * MSS);
    expect(sentOffsets(h)).toEqual([3 * MSS, 4 * MSS, 5 * MSS]);
    h.advance(10);
    ackThrough(h, 6 * MSS, [9 * MSS, 10 * MSS]);
    expect(h.conn.cc.cwnd).toBe(4 * MSS);
    expect(sentOffsets(h)).toEqual([6 * MSS, 7 * MSS, 8 * MSS]);
    expect(h.conn.recovery.state).toBe('rto');
    // Everything outstanding at the timeout is acknowledged: the RTO recovery ends, once.
    h.advance(10);
    ackThrough(h, 8 * MSS, [9 * MSS, 10 * MSS]);
    expect(h.conn.recovery.state).toBe('open');
    h.advance(10);
    ackThrough(h, 10 * MSS);
    expect(h.conn.recovery.state).toBe('open');
    expect(h.conn.cc.ssthresh).toBe(ssthresh);
    expect(h.stat('tcp.recovery.sack')).toBe(0);
    expect(tcpInfo(h.conn, h.now).ca_state).toBe(TcpCaState.open);
  });

  it('a retransmission lost again ends the RTO recovery with one fast recovery and one more reduction (RFC 5681 §4.3, RFC 8985 §3.4; Linux)', () => {
    const h = established({ ...SACK_PEER, tcp: { ...TCP, frto: false } });
    const ssthresh = eightOutThenTimeout(h);
    h.advance(10);
    ackThrough(h, MSS);
    expect(h.conn.cc.cwnd).toBe(2 * MSS); // slow start
    expect(sentOffsets(h)).toEqual([MSS, 2 * MSS]);
    h.advance(10);
    // The second segment's retransmission is lost again, the third's arrives: RACK marks the
    // second lost, a retransmission.
    ackThrough(h, MSS, [2 * MSS, 3 * MSS]);
    expect(h.stat('tcp.rack.lost')).toBe(1);
    expect(h.conn.recovery.state).toBe('fast');
    expect(h.stat('tcp.recovery.sack')).toBe(1);
    // "recover" moves to SND.NXT, which the timeout's "recover" did not exceed.
    expect(h.conn.recovery.recoveryPoint).toBe(h.ourSeq(8 * MSS));
    // One more reduction, from the window of the RTO recovery: max(min(FlightSize, cwnd)/2, 2·SMSS).
    expect(h.conn.cc.ssthresh).toBe(2 * MSS);
    expect(h.conn.cc.ssthresh).toBeLessThan(ssthresh);
    expect(h.conn.prr).not.toBeNull();
    expect(h.conn.frto.active).toBe(false);
    const info = tcpInfo(h.conn, h.now);
    expect(info.ca_state).toBe(TcpCaState.recovery);
    // The RTO recovery ended at this ACK (Linux's tcp_update_rto_time on leaving Loss).
    expect(info.total_rto_time).toBe(20);
    // PRR lets the lost retransmission go again.
    expect(sentOffsets(h)[0]).toBe(MSS);

    // Further losses of the same flight reduce nothing more.
    const reduced = h.conn.cc.ssthresh;
    h.advance(10);
    ackThrough(h, MSS, [2 * MSS, 3 * MSS], [4 * MSS, 5 * MSS]);
    expect(h.conn.recovery.state).toBe('fast');
    expect(h.stat('tcp.recovery.sack')).toBe(1);
    expect(h.conn.cc.ssthresh).toBe(reduced);
    // Everything acknowledged: the fast recovery ends with cwnd = ssthresh (RFC 9937 §4).
    for (let i = 0; i < 6 && h.conn.inFlight.length > 0; i++) {
      h.advance(10);
      h.take();
      ackThrough(h, 8 * MSS);
    }
    expect(h.conn.recovery.state).toBe('open');
    expect(h.conn.cc.ssthresh).toBe(reduced);
    expect(h.conn.cc.cwnd).toBe(reduced);
    expect(h.stat('tcp.recovery.exit')).toBe(1);
    expect(tcpInfo(h.conn, h.now).total_rto_time).toBe(20);
  });

  it('without SACK, duplicate ACKs that do not cover "recover" start no fast retransmit (RFC 6582 §4)', () => {
    const h = established({ tcp: { ...TCP, frto: false } });
    eightOutThenTimeout(h);
    h.advance(10);
    ackThrough(h, MSS);
    expect(sentOffsets(h)).toEqual([MSS, 2 * MSS]);
    for (let i = 0; i < 4; i++) {
      h.advance(1);
      ackThrough(h, MSS);
    }
    expect(h.stat('tcp.rx.duplicateAcks')).toBe(4);
    expect(h.stat('tcp.fastRetransmits')).toBe(0);
    expect(h.conn.recovery.state).toBe('rto');
    expect(h.conn.cc.ssthresh).toBe(4 * MSS);
  });
});
