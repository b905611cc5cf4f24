/**
 * When the keepalive timer (RFC 1122 §4.2.3.6) is armed as its settings change, option by
 * option as Linux arms it (src/tcp/keepalive.ts): SO_KEEPALIVE on starts a whole idle time from
 * now (tcp_set_keepalive), TCP_KEEPIDLE while on counts from the last segment received
 * (keepalive_time_elapsed), TCP_KEEPINTVL and TCP_KEEPCNT leave the timer alone, off stops it.
 */
import { describe, expect, it } from 'vitest';
import { ACK, PSH, SYN, established, mssOnly, seq, sentAt, synSent } from './harness.js';

describe('keepalive arming (Linux tcp_set_keepalive, tcp_sock_set_keepidle)', () => {
  it('SO_KEEPALIVE turned on: the first probe a whole idle time from now, however long the connection was quiet', () => {
    const h = established({ tcp: { keepaliveIdleMs: 1000 } });
    h.advance(5000);
    h.conn.setKeepalive({ enabled: true });
    expect(h.conn.keepaliveDeadline).toBe(6000);
    h.advance(999);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(seq(h.ourSeq(-1)), sentAt(6000));
  });

  it('SO_KEEPALIVE turned on while on changes nothing', () => {
    const h = established({ tcp: { keepaliveIdleMs: 1000 } });
    h.conn.setKeepalive({ enabled: true });
    h.advance(700);
    h.conn.setKeepalive({ enabled: true });
    expect(h.conn.keepaliveDeadline).toBe(1000);
  });

  it('TCP_KEEPIDLE while on, the last segment long ago: what is left of the new idle time, at once if none is', () => {
    const h = established({ tcp: { keepaliveIdleMs: 60_000 } });
    h.advance(1000);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 }); // the last segment, at 1000
    h.take();
    h.conn.setKeepalive({ enabled: true }); // 1000 + 60 s
    expect(h.conn.keepaliveDeadline).toBe(61_000);
    h.advance(4000);
    h.conn.setKeepalive({ idleMs: 10_000 }); // 10 s after the segment at 1000
    expect(h.conn.keepaliveDeadline).toBe(11_000);
    h.conn.setKeepalive({ idleMs: 3000 }); // 4 s have passed since it: due now
    expect(h.conn.keepaliveDeadline).toBe(5000);
    h.advance(0);
    h.expectSent(seq(h.ourSeq(-1)), sentAt(5000));
  });

  it('TCP_KEEPIDLE while off only records the idle time: turning it on then counts it from now', () => {
    const h = established({ tcp: { keepaliveIdleMs: 60_000 } });
    h.advance(4000);
    h.conn.setKeepalive({ idleMs: 3000 });
    expect(h.conn.keepaliveDeadline).toBe(Infinity);
    h.conn.setKeepalive({ enabled: true });
    expect(h.conn.keepaliveDeadline).toBe(7000);
  });

  it('TCP_KEEPINTVL and TCP_KEEPCNT leave the timer as it is; the next probes use them', () => {
    const h = established({ tcp: { keepaliveIdleMs: 1000 } });
    h.conn.setKeepalive({ enabled: true });
    h.advance(500);
    h.conn.setKeepalive({ intervalMs: 100, count: 2 });
    expect(h.conn.keepaliveDeadline).toBe(1000);
    h.advance(600);
    expect(h.take().map((s) => s.time)).toEqual([1000, 1100]);
    h.expectState('ESTABLISHED');
    h.advance(100); // the third expiry, after two unanswered probes: reset, ETIMEDOUT
    expect(h.closedWith).toBe('ETIMEDOUT');
  });

  it('SO_KEEPALIVE turned off clears the deadline: no probe, ever', () => {
    const h = established({ tcp: { keepaliveIdleMs: 1000 } });
    h.conn.setKeepalive({ enabled: true });
    h.advance(500);
    h.conn.setKeepalive({ enabled: false });
    expect(h.conn.keepaliveDeadline).toBe(Infinity);
    h.advance(10 * 3600 * 1000);
    h.expectNothingSent();
    h.expectState('ESTABLISHED');
  });

  it('set while the connection opens: no timer until the handshake completes, then a whole idle time from then', () => {
    const h = synSent({ tcp: { keepaliveIdleMs: 1000 } });
    h.conn.setKeepalive({ enabled: true, idleMs: 2000 });
    expect(h.conn.keepaliveDeadline).toBe(Infinity);
    h.take();
    h.advance(300);
    h.send({ seq: h.peerIss, ack: h.ourSeq(0), flags: SYN | ACK, options: mssOnly() });
    h.expectState('ESTABLISHED');
    expect(h.conn.keepaliveDeadline).toBe(2300);
  });
});
