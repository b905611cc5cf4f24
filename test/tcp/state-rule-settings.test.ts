/**
 * Settings that choose between an RFC rule and an older or looser form of it, as FreeBSD's
 * sysctls do: SYNs answered irrespective of their sequence number (RFC 5961 §4.2) or RFC 793's
 * reset for one in the window, RSTs (RFC 5961 §3.2 or RFC 793), RCV.WND for the acceptability
 * test, the FIN repeated in ACKs, the handshake time limit, and FreeBSD's buffer accounting.
 */
import { describe, expect, it } from 'vitest';
import { seqAdd } from '../../src/tcp/seq.js';
import {
  ACK,
  ack,
  established,
  FIN,
  flags,
  mssOnly,
  PSH,
  RST,
  seq,
  SYN,
  SYNCHRONIZED_FIXTURES,
  synReceived,
  window,
  type FixtureOptions,
  type TcpHarness,
} from './harness.js';

describe('a SYN in a synchronized state (RFC 5961 §4.2, RFC 9293 §3.10.7.4)', () => {
  for (const [state, fixture] of SYNCHRONIZED_FIXTURES) {
    it(`${state}: a SYN outside the window is a challenge ACK too, "irrespective of the sequence number", under its rate limit`, () => {
      const h = fixture({ tcp: { challengeAckPerSecond: 1 } });
      const { rcvNxt, sndNxt } = h.conn;
      // Left of the window: beyond it a SYN would reopen TIME-WAIT (RFC 6191).
      h.send({ seq: seqAdd(rcvNxt, -100_000), flags: SYN, options: mssOnly() });
      h.expectSent(flags(ACK), seq(sndNxt), ack(rcvNxt));
      expect(h.stat('tcp.challengeAck.syn')).toBe(1);
      h.send({ seq: seqAdd(rcvNxt, -1), flags: SYN, options: mssOnly() });
      h.expectNothingSent();
      expect(h.stat('tcp.challengeAck.rateLimited')).toBe(1);
      h.expectState(state);
    });
  }

  for (const [state, fixture] of SYNCHRONIZED_FIXTURES) {
    it(`${state}, inWindowSyn = reset (RFC 793): a SYN in the window sends RST,ACK at SND.NXT and resets the connection`, () => {
      const h = fixture({ tcp: { inWindowSyn: 'reset' } });
      const { rcvNxt, sndNxt } = h.conn;
      h.send({ seq: rcvNxt, flags: SYN, options: mssOnly() });
      h.expectSent(flags(RST | ACK), seq(sndNxt), ack(rcvNxt), window(0));
      expect(h.conn.state).toBe('CLOSED');
      expect(h.closedWith).toBe('ECONNRESET');
      expect(h.inTable).toBe(false);
    });

    it(`${state}, inWindowSyn = reset (RFC 793): a SYN outside the window gets the ACK of the sequence check and changes nothing`, () => {
      const h = fixture({ tcp: { inWindowSyn: 'reset' } });
      const { rcvNxt, sndNxt } = h.conn;
      h.send({ seq: seqAdd(rcvNxt, -1), flags: SYN, options: mssOnly() });
      h.expectSent(flags(ACK), seq(sndNxt), ack(rcvNxt));
      h.expectState(state);
      expect(h.stat('tcp.challengeAck.syn')).toBe(0);
    });
  }
});

describe('RFC 793 RSTs (inWindowReset = accept)', () => {
  it('a RST anywhere in the window resets, not only at RCV.NXT', () => {
    const h = established({ tcp: { inWindowReset: 'accept' } });
    h.send({ seq: seqAdd(h.conn.rcvNxt, 1000), flags: RST });
    h.expectNothingSent();
    expect(h.closedWith).toBe('ECONNRESET');
  });

  it('a RST outside the window is still dropped', () => {
    const h = established({ tcp: { inWindowReset: 'accept' } });
    h.send({ seq: seqAdd(h.conn.rcvNxt, -1), flags: RST });
    h.expectNothingSent();
    h.expectState('ESTABLISHED');
  });
});

describe('RCV.WND for the acceptability test (receiveWindow)', () => {
  // The peer offers no window scaling: our window field says at most 65535 of the 1 MiB buffer.
  it('advertised (default): a segment beyond the 65535 we advertised is outside the window', () => {
    const h = established();
    h.send({ seq: h.peerSeq(70_000), flags: RST });
    h.expectNothingSent();
    h.send({ seq: h.peerSeq(70_000), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(0)));
    expect(h.conn.assembler.heldBytes).toBe(0);
  });

  it('buffer: the free buffer space counts, so the RST draws a challenge ACK and the data is held out of order', () => {
    const h = established({ tcp: { receiveWindow: 'buffer' } });
    h.send({ seq: h.peerSeq(70_000), flags: RST });
    h.expectSent(flags(ACK), ack(h.peerSeq(0)));
    expect(h.stat('tcp.challengeAck.reset')).toBe(1);
    h.send({ seq: h.peerSeq(70_000), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(0)));
    expect(h.conn.assembler.heldBytes).toBe(10);
  });

  it('buffer: a passive half-open connection keeps the window of its SYN-ACK', () => {
    const h = synReceived({ tcp: { receiveWindow: 'buffer' } });
    h.send({ seq: h.peerSeq(70_000), flags: RST });
    h.expectNothingSent();
    h.expectState('SYN-RECEIVED');
  });
});

/** FIN-WAIT-1 by SHUTDOWN(SHUT_WR): the application still reads, so data may arrive. */
function halfClosed(options: FixtureOptions = {}): TcpHarness {
  const h = established(options);
  h.conn.shutdownWrite();
  h.expectSent(flags(FIN | ACK), seq(h.ourSeq(0)));
  h.expectState('FIN-WAIT-1');
  return h;
}

describe('the FIN repeated in ACKs (repeatFinInAcks, BSD tcp_output)', () => {
  it('in FIN-WAIT-1, the ACK of data carries our unacknowledged FIN again; a challenge ACK stays bare', () => {
    const h = halfClosed({ tcp: { repeatFinInAcks: true } });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(FIN | ACK), seq(h.ourSeq(0)), ack(h.peerSeq(10)));
    h.send({ seq: h.peerSeq(10), flags: SYN, options: mssOnly() });
    h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(10)));
    expect(h.stat('tcp.tx.finRepeated')).toBe(1);
  });

  it('once the FIN is acknowledged, ACKs are bare again', () => {
    const h = halfClosed({ tcp: { repeatFinInAcks: true } });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(10)));
    h.expectState('FIN-WAIT-2');
  });

  it('off (default): the ACK is <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 9293 §3.10.7.4)', () => {
    const h = halfClosed();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(10)));
  });
});

describe('the handshake time limit (handshakeTimeoutMs, FreeBSD keepinit)', () => {
  it('a half-open passive connection is given up when it runs out, between SYN-ACK retransmissions', () => {
    const h = synReceived({ tcp: { handshakeTimeoutMs: 2500 } });
    h.advance(1000);
    h.expectSent(flags(SYN | ACK));
    h.advance(1499);
    h.expectState('SYN-RECEIVED');
    h.advance(1);
    expect(h.conn.state).toBe('CLOSED');
    expect(h.stat('tcp.connect.timeout')).toBe(1);
    expect(h.inTable).toBe(false);
  });
});

describe('FreeBSD socket-buffer accounting (socketBufferAccounting = freebsd)', () => {
  it('buffers grow to whole segments of the MSS, never beyond receiveBufferMax', () => {
    const h = established({
      open: 'active',
      tcp: { socketBufferAccounting: 'freebsd', receiveBufferSize: 65536, sendBufferSize: 32768, receiveBufferMax: 65600 },
    });
    expect(h.conn.receiveBufferSize).toBe(65600); // 45 × 1460 = 65700, bounded by the maximum
    expect(h.conn.sendBuffer.capacity).toBe(33580); // 23 × 1460
  });

  it('a buffer smaller than one segment stays as it is', () => {
    const h = established({ open: 'active', tcp: { socketBufferAccounting: 'freebsd', receiveBufferSize: 1000, sendBufferSize: 1000 } });
    expect(h.conn.receiveBufferSize).toBe(1000);
    expect(h.conn.sendBuffer.capacity).toBe(1000);
  });

  it('linux (default): buffers stay as configured', () => {
    const h = established({ open: 'active', tcp: { receiveBufferSize: 65536 } });
    expect(h.conn.receiveBufferSize).toBe(65536);
  });
});
