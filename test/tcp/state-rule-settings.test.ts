/**
 * Settings that choose between an RFC rule and an older or looser form of it, as FreeBSD's
 * sysctls do: SYNs answered irrespective of their sequence number (RFC 5961 §4.2) or RFC 793's
 * reset for one in the window, RSTs (RFC 5961 §3.2 or RFC 793), the handshake time limit, and
 * FreeBSD's buffer accounting.
 */
import { describe, expect, it } from 'vitest';
import { seqAdd } from '../../src/tcp/seq.js';
import { ACK, ack, established, flags, mssOnly, RST, seq, SYN, SYNCHRONIZED_FIXTURES, synReceived, window } from './harness.js';

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
    const h = established({ open: 'active', tcp: { socketBufferAccounting: 'freebsd', receiveBufferSize: 65536, sendBufferSize: 32768, receiveBufferMax: 65600 } });
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
