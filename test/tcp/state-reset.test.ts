/**
 * RST handling (RFC 9293 §3.10.7.2–§3.10.7.4 "second, check the RST bit", with RFC 5961 §3
 * blind-reset mitigation and RFC 1337 TIME-WAIT assassination protection), and the stack-wide
 * challenge-ACK rate limit (RFC 5961 §7).
 */
import { describe, expect, it } from 'vitest';
import { seqAdd } from '../../src/tcp/seq.js';
import {
  ACK,
  ack,
  closeWait,
  closing,
  established,
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
  type FixtureOptions,
} from './harness.js';

const RESET_OUTCOME = [
  ['ESTABLISHED', established, 'ECONNRESET'],
  ['FIN-WAIT-1', finWait1, 'ECONNRESET'],
  ['FIN-WAIT-2', finWait2, 'ECONNRESET'],
  ['CLOSE-WAIT', closeWait, 'ECONNRESET'],
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

describe('challenge ACK rate limit (RFC 5961 §7)', () => {
  const limited: FixtureOptions = { tcp: { challengeAckPerSecond: 2 } };

  it('no more than challengeAckPerSecond challenge ACKs leave in a second, stack-wide; the budget refills with time', () => {
    const h = established(limited);
    for (let i = 0; i < 4; i++) h.send({ seq: h.peerSeq(1 + i), flags: RST });
    expect(h.take()).toHaveLength(2);
    expect(h.stat('tcp.challengeAck.rateLimited')).toBe(2);
    h.advance(500);
    h.send({ seq: h.peerSeq(1), flags: RST });
    expect(h.take()).toHaveLength(1);
    h.send({ seq: h.peerSeq(1), flags: RST });
    expect(h.take()).toHaveLength(0);
    h.expectState('ESTABLISHED');
  });

  it('SYNs and too-old ACKs draw on the same budget (RFC 5961 §7)', () => {
    const h = established(limited);
    h.send({ seq: h.peerSeq(1), flags: RST });
    h.send({ seq: h.peerSeq(0), flags: SYN, options: mssOnly() });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(-200_000), flags: ACK });
    expect(h.take()).toHaveLength(2);
    expect(h.stat('tcp.challengeAck.rateLimited')).toBe(1);
  });
});
