/**
 * RST handling (RFC 9293 §3.10.7.2–§3.10.7.4 "second, check the RST bit", with RFC 5961 §3
 * blind-reset mitigation and RFC 1337 TIME-WAIT assassination protection), and the limits on
 * challenge ACKs and other answers to invalid segments (RFC 5961 §7): per connection, then a
 * randomized stack-wide ceiling.
 */
import { describe, expect, it } from 'vitest';
import { seqAdd } from '../../src/tcp/seq.js';
import {
  ACK,
  ack,
  closeWait,
  closing,
  established,
  FIN,
  finWait1,
  finWait2,
  flags,
  lastAck,
  listening,
  mssOnly,
  RST,
  seq,
  SYN,
  SYNCHRONIZED_FIXTURES,
  synReceived,
  synSent,
  TcpHarness,
  timeWait,
} from './harness.js';

const RESET_OUTCOME = [
  ['ESTABLISHED', established, 'ECONNRESET'],
  ['FIN-WAIT-1', finWait1, 'ECONNRESET'],
  ['FIN-WAIT-2', finWait2, 'ECONNRESET'],
  // "Connection reset" in Linux's words there: EPIPE, the peer having closed (TcpConfig.closeWaitResetError).
  ['CLOSE-WAIT', closeWait, 'EPIPE'],
  ['CLOSING', closing, null],
  ['LAST-ACK', lastAck, null],
] as const;

describe('RST in a synchronized state (RFC 9293 §3.10.7.4, RFC 5961 §3.2)', () => {
  for (const [state, fixture, error] of RESET_OUTCOME) {
    it(`${state}: a RST with SEG.SEQ = RCV.NXT closes the connection${error ? ` with ${error}` : ' without an error'}`, () => {
      const h = fixture();
      h.send({ seq: h.conn.rcvNxt, flags: RST });
      h.expectNothingSent();
      expect(h.conn.state).toBe('CLOSED');
      expect(h.closedWith).toBe(error);
      expect(h.inTable).toBe(false);
    });
  }

  it("CLOSE-WAIT with closeWaitResetError 'ECONNRESET' (FreeBSD's profile): ECONNRESET, as in the other states", () => {
    const h = closeWait({ tcp: { closeWaitResetError: 'ECONNRESET' } });
    h.send({ seq: h.conn.rcvNxt, flags: RST });
    expect(h.closedWith).toBe('ECONNRESET');
  });

  it('an exact RST carrying an ACK resets too', () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: RST | ACK });
    expect(h.closedWith).toBe('ECONNRESET');
  });

  for (const [state, fixture] of SYNCHRONIZED_FIXTURES) {
    if (state === 'TIME-WAIT') continue;
    it(`${state}: a RST in the window but not at RCV.NXT elicits a challenge ACK and changes nothing (RFC 5961 §3.2)`, () => {
      const h = fixture();
      const { rcvNxt, sndNxt } = h.conn;
      h.send({ seq: seqAdd(rcvNxt, 1), flags: RST });
      h.expectSent(flags(ACK), seq(sndNxt), ack(rcvNxt));
      h.expectState(state);
      expect(h.stat('tcp.challengeAck.reset')).toBe(1);
      // The peer's answer to the challenge, a RST at exactly RCV.NXT, is believed.
      h.send({ seq: rcvNxt, flags: RST });
      expect(h.conn.state).toBe('CLOSED');
    });

    it(`${state}: a RST outside the window is dropped silently (RFC 5961 §3.2)`, () => {
      const h = fixture();
      h.send({ seq: seqAdd(h.conn.rcvNxt, 100_000), flags: RST });
      h.send({ seq: seqAdd(h.conn.rcvNxt, -1), flags: RST });
      h.expectNothingSent();
      h.expectState(state);
    });
  }

  it('a RST at the last octet of the window is in the window: challenge ACK', () => {
    const h = established({ tcp: { receiveBufferSize: 8192 } });
    h.send({ seq: h.peerSeq(8191), flags: RST });
    h.expectSent(flags(ACK), ack(h.peerSeq(0)));
    h.send({ seq: h.peerSeq(8192), flags: RST });
    h.expectNothingSent();
    h.expectState('ESTABLISHED');
  });

  it('TIME-WAIT: an exact RST is ignored (RFC 1337 §3, fix F1) and 2·MSL runs on', () => {
    const h = timeWait();
    const deadline = h.conn.timeWaitDeadline;
    h.send({ seq: h.conn.rcvNxt, flags: RST });
    h.expectNothingSent();
    h.expectState('TIME-WAIT');
    expect(h.conn.timeWaitDeadline).toBe(deadline);
    expect(h.stat('tcp.rx.resetInTimeWaitIgnored')).toBe(1);
  });
});

describe('RST in SYN-RECEIVED (RFC 9293 §3.10.7.4)', () => {
  it('from a passive open: an exact RST returns the connection to LISTEN silently', () => {
    const h = synReceived();
    const connection = h.conn;
    h.send({ seq: h.peerSeq(0), flags: RST });
    h.expectNothingSent();
    expect(connection.state).toBe('CLOSED');
    expect(h.inTable).toBe(false);
    expect(h.listener!.synQueue.size).toBe(0);
    expect(h.listener!.acceptQueue).toHaveLength(0);
    // The listener is still there: a new SYN gets a SYN-ACK.
    h.send({ seq: h.peerIss + 5000, flags: SYN, options: mssOnly() });
    h.expectSent(flags(SYN | ACK), ack(h.peerIss + 5001));
  });

  it('from an active open (simultaneous open): an exact RST refuses the connection with ECONNREFUSED', () => {
    const h = synReceived({ open: 'active' });
    h.send({ seq: h.peerSeq(0), flags: RST });
    h.expectNothingSent();
    expect(h.closedWith).toBe('ECONNREFUSED');
  });

  it('a RST in the window but not exact elicits a challenge ACK (RFC 5961 §3.2)', () => {
    const h = synReceived();
    h.send({ seq: h.peerSeq(10), flags: RST });
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
    h.expectState('SYN-RECEIVED');
  });
});

describe('RST in SYN-SENT (RFC 9293 §3.10.7.3)', () => {
  it('a RST without an ACK is ignored', () => {
    const h = synSent();
    h.send({ seq: 12345, flags: RST });
    h.expectNothingSent();
    h.expectState('SYN-SENT');
    expect(h.stat('drop.tcp.synSentResetWithoutAck')).toBe(1);
  });

  it('a RST whose ACK acknowledges our SYN refuses the connection: ECONNREFUSED', () => {
    const h = synSent();
    h.send({ seq: 0, ack: h.ourSeq(0), flags: RST | ACK });
    h.expectNothingSent();
    expect(h.closedWith).toBe('ECONNREFUSED');
    expect(h.inTable).toBe(false);
  });

  it('a RST with an unacceptable ACK is dropped, and no RST answers it', () => {
    const h = synSent();
    h.send({ seq: 0, ack: h.iss, flags: RST | ACK });
    h.send({ seq: 0, ack: h.ourSeq(1), flags: RST | ACK });
    h.expectNothingSent();
    h.expectState('SYN-SENT');
  });
});

describe('RST to LISTEN and to a closed port (RFC 9293 §3.10.7.1–2)', () => {
  it('LISTEN: a RST is ignored', () => {
    const h = listening();
    h.send({ seq: 1, flags: RST });
    h.send({ seq: 1, ack: 2, flags: RST | ACK });
    h.expectNothingSent();
    expect(h.stat('drop.tcp.listenReset')).toBe(2);
  });

  it('CLOSED: a RST is dropped, never answered', () => {
    const h = new TcpHarness();
    h.send({ seq: 1, flags: RST });
    h.send({ seq: 1, ack: 2, flags: RST | ACK });
    h.expectNothingSent();
  });
});

describe('challenge ACK limits (RFC 5961 §7, CVE-2016-5696)', () => {
  it('per connection: one challenge ACK per invalidAckRateLimitMs (Linux tcp_invalid_ratelimit, 500 ms), whatever the stack-wide budget', () => {
    const h = established();
    for (let i = 0; i < 4; i++) h.send({ seq: h.peerSeq(1 + i), flags: RST });
    expect(h.take()).toHaveLength(1);
    expect(h.stat('tcp.challengeAck.reset')).toBe(1);
    expect(h.stat('tcp.challengeAck.rateLimited')).toBe(3);
    h.advance(499);
    h.send({ seq: h.peerSeq(1), flags: RST });
    h.expectNothingSent();
    h.advance(1);
    h.send({ seq: h.peerSeq(1), flags: RST });
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
    h.expectState('ESTABLISHED');
  });

  it('SYNs and too-old ACKs draw on the same per-connection limit', () => {
    const h = established();
    h.send({ seq: h.peerSeq(1), flags: RST });
    h.send({ seq: h.peerSeq(0), flags: SYN, options: mssOnly() });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(-200_000), flags: ACK });
    expect(h.take()).toHaveLength(1);
    expect(h.stat('tcp.challengeAck.rateLimited')).toBe(2);
  });

  it('stack-wide, after the connection limit: a budget drawn at random each second from [⌈n/2⌉, ⌈n/2⌉ + n − 1] (Linux tcp_send_challenge_ack)', () => {
    const h = established({ tcp: { challengeAckPerSecond: 4, invalidAckRateLimitMs: 0 } });
    const budgets = new Set<number>();
    for (let second = 0; second < 40; second++) {
      h.advanceTo((Math.floor(h.now / 1000) + 1) * 1000);
      for (let i = 0; i < 20; i++) h.send({ seq: h.peerSeq(1 + i), flags: RST });
      const sent = h.take().length;
      expect(sent).toBeGreaterThanOrEqual(2);
      expect(sent).toBeLessThanOrEqual(5);
      budgets.add(sent);
    }
    // Not a constant an attacker could count down: every possible budget turns up.
    expect([...budgets].sort()).toEqual([2, 3, 4, 5]);
    expect(h.stat('tcp.challengeAck.overCeiling')).toBeGreaterThan(0);
    h.expectState('ESTABLISHED');
  });

  it('challengeAckPerSecond of 2^31 − 1 (Linux INT_MAX, its default since 6.0) is no ceiling', () => {
    const h = established({ tcp: { challengeAckPerSecond: 0x7fffffff, invalidAckRateLimitMs: 0 } });
    for (let i = 0; i < 3000; i++) h.send({ seq: h.peerSeq(1 + (i % 100)), flags: RST });
    expect(h.take()).toHaveLength(3000);
  });
});

describe('answers to unacceptable segments, rate limited (RFC 9293 §3.10.7.4; RFC 5961 §7, Linux tcp_oow_rate_limited)', () => {
  it('1000 out-of-window pure ACKs get one ACK, not 1000; the rest are counted', () => {
    const h = established();
    for (let i = 0; i < 1000; i++) h.send({ seq: h.peerSeq(-1000 - i), ack: h.ourSeq(0), flags: ACK });
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
    expect(h.stat('tcp.oowAck.rateLimited')).toBe(999);
    expect(h.stat('drop.tcp.outsideWindow')).toBe(1000);
  });

  it('an old segment with data is always answered (a retransmission must learn it arrived), as is data out of order inside the window (fast retransmit needs those duplicate ACKs)', () => {
    const h = established();
    h.send({ seq: h.peerSeq(-1000), ack: h.ourSeq(0), flags: ACK });
    h.expectSent(flags(ACK));
    h.send({ seq: h.peerSeq(-10), ack: h.ourSeq(0), flags: ACK, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(0)));
    h.send({ seq: h.peerSeq(-10), ack: h.ourSeq(0), flags: ACK, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(0)));
    for (let i = 1; i <= 3; i++) {
      h.send({ seq: h.peerSeq(100 * i), ack: h.ourSeq(0), flags: ACK, payload: 100 });
      h.expectSent(flags(ACK), ack(h.peerSeq(0)));
    }
    expect(h.stat('tcp.oowAck.rateLimited')).toBe(0);
  });

  it('out-of-window ACKs and challenge ACKs share one limit per connection', () => {
    const h = established();
    h.send({ seq: h.peerSeq(1), flags: RST });
    h.expectSent(flags(ACK));
    h.send({ seq: h.peerSeq(-1000), ack: h.ourSeq(0), flags: ACK });
    h.expectNothingSent();
    expect(h.stat('tcp.oowAck.rateLimited')).toBe(1);
  });

  it('TIME-WAIT: pure ACKs off RCV.NXT get one answer per 500 ms; a retransmitted FIN always gets its ACK', () => {
    const h = timeWait();
    for (let i = 0; i < 5; i++) h.send({ seq: h.peerSeq(-100 - i), ack: h.ourSeq(1), flags: ACK });
    h.expectSent(flags(ACK), ack(h.peerSeq(1)));
    for (let i = 0; i < 2; i++) {
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: FIN | ACK });
      h.expectSent(flags(ACK), ack(h.peerSeq(1)));
    }
    expect(h.stat('tcp.oowAck.rateLimited')).toBe(4);
  });

  it('SYN-RECEIVED (passive): a retransmitted SYN gets the SYN-ACK again, at most once per 500 ms (Linux tcp_check_req)', () => {
    const h = synReceived();
    h.advance(100);
    h.send({ seq: h.peerIss, flags: SYN, options: mssOnly() });
    h.expectSent(flags(SYN | ACK));
    h.advance(100);
    h.send({ seq: h.peerIss, flags: SYN, options: mssOnly() });
    h.expectNothingSent();
    h.advance(400);
    h.send({ seq: h.peerIss, flags: SYN, options: mssOnly() });
    h.expectSent(flags(SYN | ACK));
    expect(h.stat('tcp.oowAck.rateLimited')).toBe(1);
  });

  it('invalidAckRateLimitMs = 0 answers every one', () => {
    const h = established({ tcp: { invalidAckRateLimitMs: 0 } });
    for (let i = 0; i < 10; i++) h.send({ seq: h.peerSeq(-1000 - i), ack: h.ourSeq(0), flags: ACK });
    expect(h.take()).toHaveLength(10);
  });
});
