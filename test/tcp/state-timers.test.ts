/**
 * Keepalive (RFC 1122 §4.2.3.6 with Linux's tcp_keepalive_* defaults) and the user timeout
 * (RFC 5482 TCP_USER_TIMEOUT, RFC 9293 §3.8.3 R2).
 */
import { describe, expect, it } from 'vitest';
import { ACK, ack, established, flags, payloadLength, PSH, RST, seq, sentAt, synSent } from './harness.js';

describe('keepalive (RFC 1122 §4.2.3.6)', () => {
  it('off by default: an idle connection sends nothing, ever', () => {
    const h = established();
    h.advance(10 * 3600 * 1000);
    h.expectNothingSent();
    h.expectState('ESTABLISHED');
  });

  it('the first probe after 2 h idle: <SEQ=SND.NXT−1><ACK=RCV.NXT>, no data', () => {
    const h = established();
    h.setKeepalive();
    h.advance(7_200_000 - 1);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(flags(ACK), seq(h.ourSeq(-1)), ack(h.peerSeq(0)), payloadLength(0), sentAt(7_200_000));
  });

  it('unanswered, probes repeat every 75 s; after 9 the connection fails with ETIMEDOUT and a RST (as Linux)', () => {
    const h = established();
    h.setKeepalive();
    h.advance(7_200_000 + 9 * 75_000 - 1);
    const probes = h.take();
    expect(probes.map((s) => s.time)).toEqual(Array.from({ length: 9 }, (_, i) => 7_200_000 + i * 75_000));
    h.expectState('ESTABLISHED');
    h.advance(1);
    const rst = h.expectSent(seq(h.ourSeq(0)));
    expect(rst.tcp.flags & RST).toBe(RST);
    expect(h.closedWith).toBe('ETIMEDOUT');
    expect(h.stat('tcp.keepalive.timeout')).toBe(1);
  });

  it('an answer resets the count and the idle timer', () => {
    const h = established();
    h.setKeepalive(1000, 100, 3);
    h.advance(1200);
    expect(h.take()).toHaveLength(3); // at 1000, 1100, 1200
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK });
    h.expectNothingSent();
    h.advance(999);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(seq(h.ourSeq(-1)), sentAt(2200));
    h.expectState('ESTABLISHED');
  });

  it('received data restarts the idle time', () => {
    const h = established();
    h.setKeepalive(1000, 100, 3);
    h.advance(900);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.take();
    h.advance(999);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(seq(h.ourSeq(-1)), ack(h.peerSeq(10)), sentAt(1900));
  });
});

describe('keepalive and outstanding data', () => {
  it('no keepalive probe while data is outstanding: the retransmission timer is in charge (as Linux)', () => {
    const h = established({ tcp: { dataRetries: 30 } });
    h.setKeepalive(1000, 100, 2);
    h.write(100);
    h.take();
    h.advance(5000);
    const sent = h.take();
    expect(sent.every((s) => s.tcp.seq === h.ourSeq(0) && s.tcp.payload.length === 100)).toBe(true);
    expect(h.stat('tcp.tx.keepaliveProbes')).toBe(0);
    h.expectState('ESTABLISHED');
  });
});

describe('user timeout (RFC 5482, TCP_USER_TIMEOUT)', () => {
  it('data unacknowledged for the user timeout fails the connection with ETIMEDOUT at that time, not at the next RTO', () => {
    const h = established();
    h.conn.setUserTimeout(5000);
    h.write(100);
    h.take();
    const rto = h.conn.rtt.rto;
    h.advance(4999);
    expect(h.take().map((s) => s.time)).toEqual([1, 3, 7, 15, 31].map((k) => k * rto).filter((t) => t < 5000));
    h.expectState('ESTABLISHED');
    h.advance(1);
    expect(h.closedWith).toBe('ETIMEDOUT');
  });

  it('counts from the oldest unacknowledged data: progress restarts it', () => {
    const h = established();
    h.conn.setUserTimeout(5000);
    h.conn.setNoDelay(true);
    h.write(100);
    h.advance(4000);
    h.write(100);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(100), flags: ACK });
    h.take();
    h.advance(4999);
    h.expectState('ESTABLISHED');
    h.advance(1);
    expect(h.closedWith).toBe('ETIMEDOUT');
  });

  it('covers an active open too: connect fails with ETIMEDOUT when the user timeout has passed since the first SYN (as Linux)', () => {
    const h = synSent();
    h.conn.setUserTimeout(10_000);
    h.advance(9_999);
    expect(h.take().map((s) => s.time)).toEqual([1000, 3000, 7000]);
    h.expectState('SYN-SENT');
    h.advance(1);
    expect(h.closedWith).toBe('ETIMEDOUT');
  });

  it('bounds zero-window probing even while the peer answers every probe (as Linux since 5.11)', () => {
    const h = established({ peerWindow: 0 });
    h.conn.setUserTimeout(60_000);
    h.write(100);
    let firstProbeAt: number | null = null;
    while (h.conn.state === 'ESTABLISHED' && h.now < 1_000_000) {
      h.advanceTo(h.conn.persistDeadline);
      if (h.conn.state !== 'ESTABLISHED') break;
      const probe = h.expectSent(seq(h.ourSeq(-1)));
      firstProbeAt ??= probe.time;
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: 0 });
    }
    expect(h.closedWith).toBe('ETIMEDOUT');
    expect(h.now).toBe(firstProbeAt! + 60_000);
    expect(h.stat('tcp.persist.giveUp')).toBe(1);
  });

  it('a user timeout shorter than the retries gives up before dataRetries would', () => {
    const h = established();
    h.conn.setUserTimeout(20_000);
    h.write(100);
    h.advance(60_000);
    expect(h.closedWith).toBe('ETIMEDOUT');
    expect(h.stat('tcp.retransmit.giveUp')).toBe(1);
  });
});
