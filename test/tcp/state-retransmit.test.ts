/**
 * Retransmission: the RTO (RFC 6298: 1 s before any sample, SRTT + 4·RTTVAR with Linux's 200 ms
 * floor after, doubling, 120 s cap as Linux), giving up
 * (RFC 9293 §3.8.3 R2 as tcp_retries2 / tcp_syn_retries / tcp_synack_retries), fast retransmit
 * on three duplicate ACKs without SACK (RFC 5681 §3.2, RFC 6582), and SACK-based loss detection
 * by RACK (RFC 2018, RFC 6675, RFC 8985) retransmitting exactly the hole.
 */
import { describe, expect, it } from 'vitest';
import type { SentSegment } from '../../src/tcp/connection.js';
import type { TcpOption } from '../../src/tcp/tcp-options.js';
import {
  ACK,
  ack,
  established,
  FIN,
  flags,
  mssOnly,
  payloadLength,
  PSH,
  sackOption,
  seq,
  sentAt,
  SYN,
  synReceived,
  synSent,
  backoffTimes,
  doublingCappedAt120s,
  type FixtureOptions,
  type TcpHarness,
} from './harness.js';

const MSS = 1460;
/** A SACK peer 40 ms away. */
const SACK_PEER: FixtureOptions = {
  peerSynOptions: [...mssOnly(), { kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' }] as TcpOption[],
  handshakeRttMs: 40,
};

/** Sends `count` full segments (Nagle off) and takes them. */
function sendSegments(h: TcpHarness, count: number): void {
  h.conn.setNoDelay(true);
  h.write(count * MSS);
  expect(h.take()).toHaveLength(count);
}

describe('retransmission timeout (RFC 6298)', () => {
  // The RTO of the first data is 1 s without an RTT sample (§2.1), or SRTT + 4·RTTVAR with
  // Linux's 200 ms floor (§2.2–2.4) when the handshake gave one. These tests read that first RTO
  // from the connection and pin everything after it; the SYN's 1 s is pinned further down.

  it('the first RTO is 1 s before any RTT sample, else max(200 ms, SRTT + 4·RTTVAR) (RFC 6298 §2)', () => {
    const h = established({ handshakeRttMs: 100 });
    const { srtt, rttvar } = h.conn.rtt;
    expect(h.conn.rtt.rto).toBe(srtt === undefined ? 1000 : Math.max(200, srtt + 4 * rttvar!));
  });

  it('the first retransmission comes one RTO after the segment, each later one twice as late (§5.5)', () => {
    const h = established();
    const rto = h.conn.rtt.rto;
    h.write(100);
    h.take();
    h.advance(60_000);
    const sent = h.take();
    const expected = backoffTimes(0, rto, 20).filter((t) => t <= 60_000);
    expect(sent.map((s) => s.time)).toEqual(expected);
    for (const s of sent) {
      expect(s.tcp.seq).toBe(h.ourSeq(0));
      expect(s.tcp.payload).toHaveLength(100);
    }
    expect(h.stat('tcp.rto.fired')).toBe(expected.length);
  });

  it('the backed-off RTO stops at 120 s (RFC 6298 §2.5, Linux TCP_RTO_MAX)', () => {
    const h = established();
    const rto = h.conn.rtt.rto;
    h.write(100);
    h.take();
    h.advance(900_000);
    const times = h.take().map((s) => s.time);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps).toEqual(doublingCappedAt120s(rto, gaps.length));
    expect(gaps.slice(-3)).toEqual([120_000, 120_000, 120_000]);
  });

  it('after dataRetries retransmissions the connection fails with ETIMEDOUT, and no RST is sent', () => {
    const h = established({ tcp: { dataRetries: 3 } });
    const [first, second, third, giveUp] = backoffTimes(0, h.conn.rtt.rto, 4);
    h.write(100);
    h.take();
    h.advance(giveUp - 1);
    expect(h.take().map((s) => s.time)).toEqual([first, second, third]);
    h.expectState('ESTABLISHED');
    h.advance(1);
    h.expectNothingSent();
    expect(h.closedWith).toBe('ETIMEDOUT');
    expect(h.inTable).toBe(false);
  });

  it('an RTT sample from data moves the RTO, and the next segment is timed with it (RFC 6298 §2.3, §5.1)', () => {
    const h = established();
    h.write(100);
    h.take();
    h.advance(150);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(100), flags: ACK });
    expect(h.conn.rtt.latestRtt).toBe(150);
    const { srtt, rttvar } = h.conn.rtt;
    const rto = Math.max(200, srtt! + 4 * rttvar!);
    expect(h.conn.rtt.rto).toBe(rto);
    const start = h.now;
    h.write(100);
    h.take();
    h.advance(rto - 1);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(seq(h.ourSeq(100)), sentAt(start + rto));
  });

  it('an ACK of new data cancels the backoff and restarts the timer for what is left (RFC 6298 §5.3)', () => {
    const h = established();
    const rto = h.conn.rtt.rto;
    h.conn.setNoDelay(true);
    h.write(100);
    h.write(100);
    h.take();
    h.advance(3 * rto); // retransmissions at rto and 3·rto (of the first segment only)
    expect(h.take().map((s) => s.tcp.seq)).toEqual([h.ourSeq(0), h.ourSeq(0)]);
    expect(h.conn.rtt.backoffCount).toBe(2);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(100), flags: ACK });
    expect(h.conn.rtt.backoffCount).toBe(0);
    expect(h.conn.retransmitDeadline).toBe(h.now + h.conn.rtt.rto);
  });

  it('after an RTO, what was outstanding is resent in slow start from one segment (RFC 5681 §3.1)', () => {
    const h = established();
    sendSegments(h, 3);
    h.advance(h.conn.rtt.rto);
    h.expectSent(seq(h.ourSeq(0)), payloadLength(MSS));
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
    const sent = h.take();
    expect(sent.map((s) => s.tcp.seq)).toEqual([h.ourSeq(MSS), h.ourSeq(2 * MSS)]);
  });
});

describe('handshake retransmission', () => {
  it('the SYN is retransmitted at 1, 3, 7, 15, 31 and 63 s, and connect fails with ETIMEDOUT at 127 s (tcp_syn_retries = 6)', () => {
    const h = synSent();
    h.advance(126_999);
    const sent = h.take();
    expect(sent.map((s) => s.time)).toEqual([1000, 3000, 7000, 15_000, 31_000, 63_000]);
    for (const s of sent) {
      expect(s.tcp.flags & SYN).toBe(SYN);
      expect(s.tcp.seq).toBe(h.iss);
      expect(s.tcp.options).toEqual(h.ourSyn.tcp.options.map((o) => (o.kind === 'timestamps' ? { ...o, tsVal: (o.tsVal + s.time) >>> 0 } : o)));
    }
    h.expectState('SYN-SENT');
    h.advance(1);
    expect(h.closedWith).toBe('ETIMEDOUT');
    expect(h.inTable).toBe(false);
  });

  it('the SYN-ACK is retransmitted at 1, 3, 7, 15 and 31 s, and the half-open connection dropped at 63 s (tcp_synack_retries = 5)', () => {
    const h = synReceived();
    h.advance(62_999);
    const sent = h.take();
    expect(sent.map((s) => s.time)).toEqual([1000, 3000, 7000, 15_000, 31_000]);
    for (const s of sent) expect(s.tcp.flags).toBe(SYN | ACK);
    h.advance(1);
    h.expectNothingSent();
    expect(h.conn.state).toBe('CLOSED');
    expect(h.listener!.synQueue.size).toBe(0);
  });

  it('a SYN-ACK arriving after a SYN retransmission still completes the handshake', () => {
    const h = synSent();
    h.advance(1000);
    h.take();
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK, options: mssOnly() });
    h.expectSent(flags(ACK), ack(5001));
    h.expectState('ESTABLISHED');
    expect(h.conn.retransmitDeadline).toBe(Infinity);
  });
});

describe('fast retransmit without SACK (RFC 5681 §3.2, RFC 6582)', () => {
  it('the third duplicate ACK retransmits the first unacknowledged segment at once', () => {
    const h = established();
    sendSegments(h, 5);
    h.advance(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
    h.expectNothingSent();
    for (let i = 0; i < 2; i++) {
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
      h.expectNothingSent();
    }
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
    // Not the end of the write: no PSH, on the resent copy either (RFC 9293 §3.9.1, as Linux).
    h.expectSent(flags(ACK), seq(h.ourSeq(MSS)), payloadLength(MSS), sentAt(10));
    expect(h.stat('tcp.fastRetransmits')).toBe(1);
  });

  it('an ACK with a window change, or carrying data, is not a duplicate ACK (RFC 5681 §2)', () => {
    const h = established();
    sendSegments(h, 5);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK, window: 60000 });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK | PSH, window: 60000, payload: 10 });
    h.send({ seq: h.peerSeq(10), ack: h.ourSeq(MSS), flags: ACK, window: 60000 });
    expect(h.stat('tcp.fastRetransmits')).toBe(0);
  });

  it('after limited transmit (RFC 3042), the ACK that fills the hole grows cwnd by N (RFC 5681 §3.1), or by the one segment it delivers with cwndGrowthFromDeliveredData (Linux)', () => {
    for (const [fromDelivered, growth] of [
      [false, 2 * MSS], // N = 3 segments, capped at RFC 3465's L = 2
      [true, MSS], // the two segments the duplicate ACKs stood for are not counted again
    ] as const) {
      const h = established({ tcp: { cwndGrowthFromDeliveredData: fromDelivered } });
      h.conn.setNoDelay(true);
      h.write(12 * MSS);
      expect(h.take()).toHaveLength(10);
      const cwnd = h.conn.cc.cwnd;
      h.advance(10);
      for (let i = 0; i < 2; i++) {
        h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK });
        expect(h.take()).toHaveLength(1); // limited transmit
      }
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(3 * MSS), flags: ACK });
      expect(h.conn.cc.cwnd - cwnd).toBe(growth);
    }
  });

  it('with cwndGrowthFromDeliveredData (Linux), an ACK with only SACK blocks grows cwnd once the reordering seen exceeds DupThresh', () => {
    const h = established({ ...SACK_PEER, tcp: { cwndGrowthFromDeliveredData: true } });
    sendSegments(h, 10);
    const cwnd = h.conn.cc.cwnd;
    h.advance(40);
    const block = (n: number) => ({ leftEdge: h.ourSeq(n * MSS), rightEdge: h.ourSeq((n + 1) * MSS) });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption(block(9)) });
    expect(h.conn.cc.cwnd).toBe(cwnd); // in-order delivery alone grows cwnd (RFC 5681)
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption(block(2), block(9)) });
    expect(h.conn.info.reordering).toBe(8);
    expect(h.conn.cc.cwnd).toBe(cwnd + MSS);
  });

  it('NewReno: a partial ACK retransmits the next hole at once (RFC 6582 §3.2 step 5)', () => {
    const h = established();
    sendSegments(h, 5);
    for (let i = 0; i < 4; i++) h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK });
    h.expectSent(seq(h.ourSeq(0)));
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(2 * MSS), flags: ACK });
    const sent = h.take();
    expect(sent[0].tcp.seq).toBe(h.ourSeq(2 * MSS));
    expect(h.stat('tcp.recovery.partialAck')).toBe(1);
  });
});

describe('SACK loss recovery (RFC 2018, RFC 6675, RACK RFC 8985)', () => {
  it('SACK blocks above a hole mark the segments; RACK declares the hole lost and exactly the hole is retransmitted', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 5);
    h.advance(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(MSS), rightEdge: h.ourSeq(5 * MSS) }) });
    h.expectSent(seq(h.ourSeq(0)), payloadLength(MSS), sentAt(h.now));
    expect([...h.conn.inFlight].filter((s) => s.sacked)).toHaveLength(4);
    expect(h.stat('tcp.rack.lost')).toBe(1);
    // The cumulative ACK for everything ends recovery; nothing more is resent.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(5 * MSS), flags: ACK });
    h.expectNothingSent();
    expect(h.conn.recovery.inFastRecovery).toBe(false);
  });

  it('a recovery whose every retransmission comes back D-SACKed was spurious: the window reduction is undone (RFC 3708, RFC 9438 §4.9)', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 5);
    const before = { cwnd: h.conn.cc.cwnd, ssthresh: h.conn.cc.ssthresh };
    h.advance(10);
    // Segment 0 was only delayed: SACKs above it make RACK call it lost, and it goes again.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(MSS), rightEdge: h.ourSeq(5 * MSS) }) });
    h.expectSent(seq(h.ourSeq(0)), payloadLength(MSS));
    expect(h.conn.cc.cwnd).toBeLessThan(before.cwnd);
    // The original arrives: everything is acknowledged, recovery ends, cwnd stays reduced ...
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(5 * MSS), flags: ACK });
    expect(h.conn.recovery.inFastRecovery).toBe(false);
    expect(h.conn.cc.cwnd).toBeLessThan(before.cwnd);
    expect(h.stat('tcp.cwnd.undone')).toBe(0);
    // ... until the receiver reports the retransmission as a duplicate (RFC 2883 D-SACK).
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(5 * MSS), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(0), rightEdge: h.ourSeq(MSS) }) });
    expect(h.stat('tcp.cwnd.undone')).toBe(1);
    expect({ cwnd: h.conn.cc.cwnd, ssthresh: h.conn.cc.ssthresh }).toEqual(before);
  });

  it('a recovery with a retransmission no D-SACK explains (a real loss) keeps its reduction', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 5);
    const before = h.conn.cc.cwnd;
    h.advance(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(MSS), rightEdge: h.ourSeq(5 * MSS) }) });
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(5 * MSS), flags: ACK });
    h.advance(1000);
    expect(h.stat('tcp.cwnd.undone')).toBe(0);
    expect(h.conn.cc.cwnd).toBeLessThan(before);
  });

  it('two holes reported in one ACK, most recent block first (RFC 2018 §4): both holes are retransmitted at once, nothing SACKed is', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 6);
    h.advance(10);
    // Segment 0 arrived, 1 was lost, 2 arrived, 3 was lost, 4 and 5 arrived last.
    h.send({
      seq: h.peerSeq(0),
      ack: h.ourSeq(MSS),
      flags: ACK,
      options: sackOption({ leftEdge: h.ourSeq(4 * MSS), rightEdge: h.ourSeq(6 * MSS) }, { leftEdge: h.ourSeq(2 * MSS), rightEdge: h.ourSeq(3 * MSS) }),
    });
    const sent = h.take();
    expect(sent.map((s) => s.tcp.seq)).toEqual([h.ourSeq(MSS), h.ourSeq(3 * MSS)]);
    expect(h.conn.rack.reorderingSeen).toBe(false);
  });

  it('a segment SACKed below one SACKed by an earlier ACK is reordering (RFC 8985 §6.2 step 3)', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 4);
    h.advance(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(3 * MSS), rightEdge: h.ourSeq(4 * MSS) }) });
    expect(h.conn.rack.reorderingSeen).toBe(false);
    h.send({
      seq: h.peerSeq(0),
      ack: h.ourSeq(0),
      flags: ACK,
      options: sackOption({ leftEdge: h.ourSeq(MSS), rightEdge: h.ourSeq(2 * MSS) }, { leftEdge: h.ourSeq(3 * MSS), rightEdge: h.ourSeq(4 * MSS) }),
    });
    expect(h.conn.rack.reorderingSeen).toBe(true);
  });

  /**
   * Seven segments leave; 0 and 3 are lost, 2 is delayed, 1, 4 and 5 arrive: RACK calls 0, 2 and
   * 3 lost and 0 is retransmitted. 22 ms later the retransmission and the delayed 2 (sent 42 ms
   * before) are acknowledged together. Returns the harness and segment 6, still unacknowledged.
   */
  function retransmissionAckedWithOlderOriginal(options: FixtureOptions): { h: TcpHarness; last: () => SentSegment | undefined } {
    const h = established({ ...SACK_PEER, handshakeRttMs: 20, ...options });
    sendSegments(h, 7);
    h.advance(20);
    const blocks = (...segments: number[]) => sackOption(...segments.map((n) => ({ leftEdge: h.ourSeq(n * MSS), rightEdge: h.ourSeq((n + 1) * MSS) })));
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: blocks(1) });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: blocks(4, 1) });
    h.send({
      seq: h.peerSeq(0),
      ack: h.ourSeq(0),
      flags: ACK,
      options: sackOption({ leftEdge: h.ourSeq(4 * MSS), rightEdge: h.ourSeq(6 * MSS) }, { leftEdge: h.ourSeq(MSS), rightEdge: h.ourSeq(2 * MSS) }),
    });
    expect(h.take().map((s) => s.tcp.seq)).toEqual([h.ourSeq(0)]);
    h.advance(22);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(3 * MSS), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(4 * MSS), rightEdge: h.ourSeq(6 * MSS) }) });
    return { h, last: () => [...h.conn.inFlight].find((s) => s.seq === h.ourSeq(6 * MSS)) };
  }

  it('RACK.rtt comes from the most recently sent of the segments an ACK delivers: a retransmission before an older original (RFC 8985 §6.2 step 2)', () => {
    const { h, last } = retransmissionAckedWithOlderOriginal({});
    expect(h.conn.rack.rtt).toBe(22);
    // Timed by 22 ms, segment 6, sent 42 ms ago with the originals, is lost too.
    expect(last()?.lost || last()?.retransmits).toBeTruthy();
  });

  it('with rackRttInSequenceOrder (Linux), the highest segment cumulatively acknowledged gives RACK.rtt instead', () => {
    const { h, last } = retransmissionAckedWithOlderOriginal({ tcp: { rackRttInSequenceOrder: true } });
    expect(h.conn.rack.rtt).toBe(42);
    expect(last()).toMatchObject({ lost: false, retransmits: 0 });
  });

  it('with fewer than three segments SACKed, RACK waits a quarter of the minimum RTT before calling the hole lost (RFC 8985 §6.2)', () => {
    const h = established(SACK_PEER);
    const start = h.now;
    sendSegments(h, 3);
    h.advance(40);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(MSS), rightEdge: h.ourSeq(2 * MSS) }) });
    h.expectNothingSent();
    expect(h.conn.rackDeadline).toBe(h.now + 10);
    h.advance(9);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(seq(h.ourSeq(0)), sentAt(start + 50));
  });

  it('a block covering part of a segment does not SACK it (RFC 2018 §5: segments wholly contained): nothing is deemed lost', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 3);
    h.advance(40);
    // Only the last byte of the last segment is reported.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(3 * MSS - 1), rightEdge: h.ourSeq(3 * MSS) }) });
    expect([...h.conn.inFlight].map((s) => [s.seq, s.length, s.sacked])).toEqual([0, 1, 2].map((n) => [h.ourSeq(n * MSS), MSS, false]));
    expect(h.conn.rackDeadline).toBe(Infinity);
    h.advance(30);
    h.expectNothingSent();
  });

  it('an entry of several segments (segmentation offload) is SACKed in whole segments: a block is rounded inward to segment boundaries', () => {
    // One entry of four segments (a send unit of at least four; the capture link drops it).
    const h = established({ ...SACK_PEER, tcp: { minSendUnitSegments: 4 } });
    h.conn.segmentationOffloadBytes = 64 * 1024;
    h.conn.setNoDelay(true);
    h.write(4 * MSS);
    h.take();
    expect(h.conn.inFlight.length).toBe(1);
    // From the middle of the second segment to the middle of the fourth: only the third is wholly inside.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(MSS + 700), rightEdge: h.ourSeq(3 * MSS + 700) }) });
    expect([...h.conn.inFlight].map((s) => [s.seq, s.length, s.sacked])).toEqual([
      [h.ourSeq(0), 2 * MSS, false],
      [h.ourSeq(2 * MSS), MSS, true],
      [h.ourSeq(3 * MSS), MSS, false],
    ]);
  });

  it('with rackDuplicateThreshold off (Linux tcp_recovery 0x4), RACK waits out its reordering window even with DupThresh segments SACKed', () => {
    for (const shortcut of [true, false]) {
      const h = established({ ...SACK_PEER, tcp: { rackDuplicateThreshold: shortcut } });
      sendSegments(h, 4);
      h.advance(40);
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(MSS), rightEdge: h.ourSeq(4 * MSS) }) });
      // RFC 8985 §6.2 step 4: reo_wnd = 0, the hole is lost at once; without the shortcut, min_RTT/4 = 10 ms later.
      expect(h.take().length).toBe(shortcut ? 1 : 0);
      expect(h.conn.rackDeadline).toBe(shortcut ? Infinity : h.now + 10);
    }
  });

  it('with rackAdaptiveReorderWindow off (Linux tcp_recovery 0x2), a D-SACK leaves the reordering window at min_RTT/4 (RFC 8985 §6.2 step 4 widens it)', () => {
    for (const adaptive of [true, false]) {
      const h = established({ ...SACK_PEER, tcp: { rackAdaptiveReorderWindow: adaptive } });
      sendSegments(h, 2);
      h.advance(40);
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(2 * MSS), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(0), rightEdge: h.ourSeq(MSS) }) });
      expect(h.conn.rack.reorderWindowMultiplier).toBe(adaptive ? 2 : 1);
    }
  });

  it('SACK blocks outside SND.UNA..SND.NXT are ignored (RFC 2018 §3)', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 2);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(MSS), rightEdge: h.ourSeq(10 * MSS) }) });
    expect([...h.conn.inFlight].some((s) => s.sacked)).toBe(false);
    expect(h.stat('tcp.rx.sackInvalid')).toBe(1);
  });
});

describe('tail loss probe (RFC 8985 §7)', () => {
  /** SACK connection whose RTT samples were all 50 ms: SRTT 50, RTO 200 (the floor). */
  function measured(): TcpHarness {
    const h = established({ ...SACK_PEER, handshakeRttMs: 50 });
    h.conn.setNoDelay(true);
    h.write(100);
    h.take();
    h.advance(50);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(100), flags: ACK });
    expect(h.conn.rtt.srtt).toBe(50);
    return h;
  }

  // PTO = 2·SRTT (RFC 8985 §7.2) plus Linux's two timer ticks (TCP_TIMEOUT_MIN): 102 ms here.
  it('with no ACK for 2·SRTT, the last segment sent is retransmitted as a probe; the RTO is re-armed after it', () => {
    const h = measured();
    const start = h.now;
    h.write(3 * MSS);
    h.take();
    h.advance(101);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(seq(h.ourSeq(100 + 2 * MSS)), payloadLength(MSS), sentAt(start + 102));
    expect(h.stat('tcp.tlp.probes')).toBe(1);
    expect(h.conn.retransmitDeadline).toBe(start + 102 + h.conn.rtt.rto);
  });

  it('the probe sends new data that Nagle was holding instead of retransmitting (RFC 8985 §7.3, as Linux)', () => {
    const h = measured();
    h.conn.setNoDelay(false);
    h.write(MSS + 50); // a full segment, then a small one: no small segment was unacknowledged
    h.write(60); // held by Nagle behind the small segment
    expect(h.take().map((s) => s.tcp.payload.length)).toEqual([MSS, 50]);
    const start = h.now;
    h.advance(101);
    h.expectNothingSent();
    h.advance(1); // PTO = 2·SRTT + 2 ms, before the 200 ms RTO
    h.expectSent(seq(h.ourSeq(100 + MSS + 50)), payloadLength(60), sentAt(start + 102));
    expect(h.stat('tcp.tlp.probes')).toBe(1);
    expect(h.stat('tcp.tx.retransmits')).toBe(0);
  });

  it('no probe is armed while segments are SACKed: RACK already times the hole below them (RFC 8985 §7.2)', () => {
    const h = measured();
    h.write(3 * MSS);
    h.take();
    h.advance(10);
    h.send({
      seq: h.peerSeq(0),
      ack: h.ourSeq(100),
      flags: ACK,
      options: sackOption({ leftEdge: h.ourSeq(100 + 2 * MSS), rightEdge: h.ourSeq(100 + 3 * MSS) }),
    });
    h.write(MSS); // new data leaves (RFC 3042 through the pipe), and would re-arm the probe
    expect(h.take()).toHaveLength(1);
    expect(h.conn.probeDeadline).toBe(Infinity);
  });

  it('the probe’s ACK, with SACK for the tail, lets RACK repair the rest without an RTO', () => {
    const h = measured();
    h.write(3 * MSS);
    h.take();
    h.advance(102);
    h.take(); // the probe
    h.advance(50); // an RTT after the probe: RACK takes the sample (RFC 8985 §6.2 step 2)
    h.send({
      seq: h.peerSeq(0),
      ack: h.ourSeq(100),
      flags: ACK,
      options: sackOption({ leftEdge: h.ourSeq(100 + 2 * MSS), rightEdge: h.ourSeq(100 + 3 * MSS) }),
    });
    // Both holes are lost; PRR (RFC 9937) sends as much as was delivered: one segment per ACK.
    expect(h.take().map((s) => s.tcp.seq)).toEqual([h.ourSeq(100)]);
    h.advance(50);
    h.send({
      seq: h.peerSeq(0),
      ack: h.ourSeq(100 + MSS),
      flags: ACK,
      options: sackOption({ leftEdge: h.ourSeq(100 + 2 * MSS), rightEdge: h.ourSeq(100 + 3 * MSS) }),
    });
    expect(h.take().map((s) => s.tcp.seq)).toEqual([h.ourSeq(100 + MSS)]);
    expect(h.stat('tcp.rto.fired')).toBe(0);
  });
});

describe('after a lost SYN or SYN-ACK (RFC 5681 §3.1, RFC 6298 §5.7)', () => {
  it('without handshake loss, data starts with the ten-segment initial window (RFC 6928)', () => {
    const h = established({ peerWindow: 65535 });
    sendSegments(h, 10);
    h.conn.setNoDelay(true);
    h.write(MSS);
    h.expectNothingSent(); // the eleventh waits for an ACK
    const rto = h.conn.rtt.rto;
    h.advance(rto);
    h.expectSent(seq(h.ourSeq(0)), sentAt(rto));
  });

  it('active open whose SYN was retransmitted: one segment of initial window, and an RTO of 3 s', () => {
    const h = synSent();
    h.advance(1000);
    h.take();
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK, options: mssOnly() });
    h.take();
    h.conn.setNoDelay(true);
    h.write(3 * MSS);
    h.expectSent(seq(h.ourSeq(0)), payloadLength(MSS));
    const start = h.now;
    h.advance(2999);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(seq(h.ourSeq(0)), sentAt(start + 3000));
  });

  it('passive open whose SYN-ACK was retransmitted: the same', () => {
    const h = synReceived();
    h.advance(1000);
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK });
    h.expectState('ESTABLISHED');
    h.conn.setNoDelay(true);
    h.write(3 * MSS);
    h.expectSent(seq(h.ourSeq(0)), payloadLength(MSS));
    const start = h.now;
    h.advance(3000);
    h.expectSent(seq(h.ourSeq(0)), sentAt(start + 3000));
  });
});

describe('SACK reneging (RFC 2018 §8)', () => {
  /** Four full segments and a FIN out; the peer SACKs segments 1–3 and gets segment 0 resent. */
  function sackedThenHoleResent(h: TcpHarness): void {
    sendSegments(h, 4);
    h.conn.shutdownWrite();
    h.expectSent(flags(FIN | ACK), seq(h.ourSeq(4 * MSS)));
    h.advance(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(MSS), rightEdge: h.ourSeq(4 * MSS) }) });
    h.expectSent(seq(h.ourSeq(0)), payloadLength(MSS));
  }

  /** The peer acknowledges whatever arrives, one segment at a time, until the FIN is acknowledged. */
  function acknowledgeEverything(h: TcpHarness): void {
    for (let round = 0; round < 20 && h.conn.state === 'FIN-WAIT-1'; round++) {
      const sent = h.take();
      if (sent.length === 0) {
        h.advance(h.conn.retransmitDeadline - h.now);
        continue;
      }
      for (const segment of sent) {
        const end = segment.tcp.seq + segment.tcp.payload.length + ((segment.tcp.flags & FIN) !== 0 ? 1 : 0);
        h.send({ seq: h.peerSeq(0), ack: end >>> 0, flags: ACK });
      }
    }
  }

  it('an ACK that leaves a SACKed segment at SND.UNA shows reneging: the timer is cut to max(SRTT/2, 10 ms), and that timeout forgets every SACK mark and resends from SND.UNA', () => {
    const h = established(SACK_PEER);
    sackedThenHoleResent(h);
    // The peer takes segment 0 but has discarded 1–3: its ACK stops at segment 1, no SACK.
    h.advance(40);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
    // RACK calls the FIN, sent before the resent segment 0 was, lost; segment 1 is still SACKed.
    expect(h.take().map((s) => s.tcp.seq)).toEqual([h.ourSeq(4 * MSS)]);
    expect(h.conn.inFlight.first!.sacked).toBe(true);
    expect(h.stat('tcp.sack.renegingSuspected')).toBe(1);
    const srtt = h.conn.rtt.srtt!;
    expect(h.conn.retransmitDeadline).toBe(h.now + Math.max(srtt / 2, 10));
    h.advance(h.conn.retransmitDeadline - h.now);
    // Not the FIN, the first unSACKed-now segment (a stalled sender resent only the FIN forever).
    h.expectSent(seq(h.ourSeq(MSS)), payloadLength(MSS));
    expect(h.stat('tcp.sack.reneging')).toBe(1);
    expect(h.conn.inFlight.sackedCount).toBe(0);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(2 * MSS), flags: ACK });
    acknowledgeEverything(h);
    expect(h.conn.state).toBe('FIN-WAIT-2');
    expect(h.conn.sndUna).toBe(h.ourSeq(4 * MSS + 1));
  });

  it('a receiver that never answers again: the timeout finds the SACKed segment at SND.UNA, forgets the marks and resends it (RFC 2018 §8 MUST)', () => {
    const h = established(SACK_PEER);
    sackedThenHoleResent(h);
    h.advance(40);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
    h.take(); // the FIN, by RACK
    h.advance(h.conn.retransmitDeadline - h.now);
    h.expectSent(seq(h.ourSeq(MSS)), payloadLength(MSS));
    // Every later timeout resends SND.UNA too, backed off.
    for (let i = 0; i < 3; i++) {
      h.advance(h.conn.retransmitDeadline - h.now);
      h.expectSent(seq(h.ourSeq(MSS)), payloadLength(MSS));
    }
  });

  it('a timeout with an unSACKed segment at SND.UNA resends that segment and keeps the SACK marks above it (RFC 6675 §5.1, Linux tcp_timeout_mark_lost)', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 4);
    h.advance(10);
    // Segments 2 and 3 SACKed; RACK resends 0 and 1, which are lost again.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(2 * MSS), rightEdge: h.ourSeq(4 * MSS) }) });
    while (h.conn.retransmitDeadline > h.conn.rackDeadline) {
      h.advance(h.conn.rackDeadline - h.now);
      h.take();
    }
    h.take();
    h.advance(h.conn.retransmitDeadline - h.now);
    h.expectSent(seq(h.ourSeq(0)), payloadLength(MSS));
    expect(h.stat('tcp.sack.reneging')).toBe(0);
    expect(h.conn.inFlight.sackedCount).toBe(2);
  });
});
