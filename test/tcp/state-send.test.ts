/**
 * The sender: Nagle's algorithm (RFC 896, RFC 1122 §4.2.3.4, RFC 9293 §3.7.4) and TCP_NODELAY,
 * sender-side silly-window avoidance (RFC 9293 §3.8.6.2.1), and the persist timer with zero-
 * window probes (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17).
 */
import { describe, expect, it } from 'vitest';
import { ACK, ack, doublingCappedAt120s, established, flags, payloadLength, PSH, seq, sentAt, type TcpHarness } from './harness.js';

describe('Nagle (RFC 1122 §4.2.3.4, RFC 9293 §3.7.4)', () => {
  it('a small write goes out at once when nothing is outstanding', () => {
    const h = established();
    h.write(100);
    h.expectSent(flags(ACK | PSH), seq(h.ourSeq(0)), payloadLength(100));
  });

  it('a second small write is held while the first is unacknowledged, and sent when the ACK arrives', () => {
    const h = established();
    h.write(100);
    h.take();
    h.write(50);
    h.write(30);
    h.expectNothingSent();
    expect(h.stat('tcp.nagle.delayed')).toBeGreaterThan(0);
    h.advance(20);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(100), flags: ACK });
    h.expectSent(flags(ACK | PSH), seq(h.ourSeq(100)), payloadLength(80), sentAt(20));
  });

  it('full-sized segments are never held; only the small tail waits', () => {
    const h = established();
    h.write(100);
    h.take();
    h.write(3000);
    const sent = h.take();
    expect(sent.map((s) => s.tcp.payload.length)).toEqual([1460, 1460]);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(3020), flags: ACK });
    h.expectSent(seq(h.ourSeq(3020)), payloadLength(80));
  });

  it('TCP_NODELAY (noDelay) sends small writes at once', () => {
    const h = established();
    h.conn.setNoDelay(true);
    h.write(100);
    h.write(50);
    h.write(30);
    expect(h.take().map((s) => s.tcp.payload.length)).toEqual([100, 50, 30]);
  });
});

describe('sender SWS avoidance (RFC 9293 §3.8.6.2.1)', () => {
  it('with data outstanding, a usable window smaller than a segment and than half the largest window is not used', () => {
    const h = established({ peerWindow: 4000 });
    h.conn.setNoDelay(true);
    h.write(10_000);
    // 1080 octets of window are left after two segments: less than half of 4000, held.
    expect(h.take().map((s) => s.tcp.payload.length)).toEqual([1460, 1460]);
    // The window slides to leave 540 usable octets while 1460 are outstanding: too little.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1460), flags: ACK, window: 2000 });
    h.expectNothingSent();
    // All acknowledged: a full segment, then the 540 left wait again.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(2920), flags: ACK, window: 2000 });
    expect(h.take().map((s) => s.tcp.payload.length)).toEqual([1460]);
    // Half the largest window (2000 of 4000) is enough even with data outstanding.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(4380), flags: ACK, window: 3460 });
    expect(h.take().map((s) => s.tcp.payload.length)).toEqual([1460, 1460]);
  });
});

describe('zero window: persist timer and probes (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17)', () => {
  /** Established with the peer offering a zero window and 100 bytes waiting to go. */
  function blocked(options: { dataRetries?: number } = {}): TcpHarness {
    const h = established({ peerWindow: 0, tcp: options.dataRetries === undefined ? {} : { dataRetries: options.dataRetries } });
    h.write(100);
    h.expectNothingSent();
    return h;
  }

  it('the first probe goes after one RTO: an ACK with SEG.SEQ = SND.UNA − 1 and no data', () => {
    const h = blocked();
    const rto = h.conn.rtt.rto;
    h.advance(rto - 1);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(flags(ACK), seq(h.ourSeq(-1)), ack(h.peerSeq(0)), payloadLength(0), sentAt(rto));
    expect(h.stat('tcp.tx.windowProbes')).toBe(1);
  });

  it('probes back off exponentially up to the 120 s maximum RTO', () => {
    const h = blocked();
    const rto = h.conn.rtt.rto;
    h.advance(900_000);
    const times = h.take().map((s) => s.time);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(times[0]).toBe(rto);
    expect(gaps).toEqual(doublingCappedAt120s(rto, gaps.length));
    expect(gaps.slice(-2)).toEqual([120_000, 120_000]);
  });

  it('probes never stop while the peer answers them, however long the window stays shut', () => {
    const h = blocked();
    for (let i = 0; i < 40; i++) {
      h.advanceTo(h.conn.persistDeadline);
      expect(h.conn.state, `probe ${i + 1}`).toBe('ESTABLISHED');
      h.expectSent(seq(h.ourSeq(-1)));
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: 0 });
      h.expectNothingSent();
    }
    h.expectState('ESTABLISHED');
  });

  it('unanswered probes give up with ETIMEDOUT after dataRetries (tcp_retries2)', () => {
    const h = blocked({ dataRetries: 3 });
    h.advance(1_000_000);
    expect(h.take()).toHaveLength(3);
    expect(h.closedWith).toBe('ETIMEDOUT');
  });

  it('when the window opens the data goes at once and probing stops', () => {
    const h = blocked();
    h.advance(h.conn.rtt.rto);
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: 1000 });
    h.expectSent(flags(ACK | PSH), seq(h.ourSeq(0)), payloadLength(100));
    expect(h.conn.persistDeadline).toBe(Infinity);
  });

  it('a window that opens by less than the data waiting is used (nothing is outstanding)', () => {
    const h = blocked();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: 40 });
    h.expectSent(seq(h.ourSeq(0)), payloadLength(40));
  });
});
