/**
 * "Fifth, check the ACK field" (RFC 9293 §3.10.7.4) with RFC 5961 §5's acceptable range
 * (SND.UNA − MAX.SND.WND ≤ SEG.ACK ≤ SND.NXT), the send-window update rule (SND.WL1, SND.WL2)
 * and window scaling of SEG.WND (RFC 7323 §2.3).
 */
import { describe, expect, it } from 'vitest';
import { ACK, ack, established, flags, linuxSynOptions, mssOnly, PSH, seq, type FixtureOptions } from './harness.js';

describe('RFC 5961 §5.2: the acceptable ACK range', () => {
  it('an ACK of data not yet sent (SEG.ACK > SND.NXT): ACK, and the segment (with its data) is dropped', () => {
    const h = established();
    h.write(100);
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(101), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), seq(h.ourSeq(100)), ack(h.peerSeq(0)));
    expect(h.conn.sndUna).toBe(h.ourSeq(0));
    expect(h.conn.readableBytes).toBe(0);
    expect(h.stat('drop.tcp.ackTooNew')).toBe(1);
  });

  it('an ACK older than SND.UNA − MAX.SND.WND: challenge ACK, drop', () => {
    const h = established(); // MAX.SND.WND = 65535 from the peer's SYN
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(-65536), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
    expect(h.conn.readableBytes).toBe(0);
    expect(h.stat('tcp.challengeAck.ackTooOld')).toBe(1);
  });

  it('an ACK at SND.UNA − MAX.SND.WND is acceptable: a duplicate, ignored, while the data is taken', () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(-65535), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(10)));
    expect(h.conn.readableBytes).toBe(10);
    expect(h.conn.sndUna).toBe(h.ourSeq(0));
  });

  it('an ACK advancing SND.UNA frees the send buffer and reports writable space', () => {
    const h = established();
    h.write(100);
    h.take();
    h.advance(50);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(60), flags: ACK });
    expect(h.conn.sndUna).toBe(h.ourSeq(60));
    expect(h.conn.sendBuffer.length).toBe(40);
    // A 50 ms sample gives SRTT 50, RTTVAR 25: RTO = max(200, 50 + 4·25) (RFC 6298 §2.2, Linux's floor),
    // restarted for what remains (§5.3).
    expect(h.conn.retransmitDeadline).toBe(h.now + 200);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(100), flags: ACK });
    expect(h.conn.sendBuffer.length).toBe(0);
    expect(h.conn.retransmitDeadline).toBe(Infinity); // all acknowledged (RFC 6298 §5.2)
  });
});

describe('the send window (RFC 9293 §3.10.7.4, SND.WL1 and SND.WL2)', () => {
  it('SND.WND follows the latest segment: a newer segment may shrink it, an older one may not change it', () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10, window: 4000 });
    expect(h.conn.sndWnd).toBe(4000);
    // A reordered older segment (SEG.SEQ < SND.WL1) carrying an old, larger window.
    h.send({ seq: h.peerSeq(-1), ack: h.ourSeq(0), flags: ACK, window: 60000 });
    expect(h.conn.sndWnd).toBe(4000);
    h.send({ seq: h.peerSeq(10), ack: h.ourSeq(0), flags: ACK, window: 2000 });
    expect(h.conn.sndWnd).toBe(2000);
  });

  it('we never send beyond SND.UNA + SND.WND', () => {
    const h = established({ peerWindow: 1000 });
    h.conn.setNoDelay(true);
    h.write(3000);
    const sent = h.take();
    expect(sent.map((s) => s.tcp.payload.length)).toEqual([1000]);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1000), flags: ACK, window: 2000 });
    expect(h.take().reduce((n, s) => n + s.tcp.payload.length, 0)).toBe(2000);
  });
});

describe('window scaling applied to SEG.WND (RFC 7323 §2.3)', () => {
  const wsPeer: FixtureOptions = { peerSynOptions: [...mssOnly(), { kind: 'noOperation' }, { kind: 'windowScale', shiftCount: 7 }] };

  it('the window of a SYN is not scaled; later windows are shifted by the peer’s Shift.cnt', () => {
    const h = established({ ...wsPeer, peerWindow: 1000 });
    // The SYN said 1000 (unscaled); the handshake ACK said 1000 << 7.
    expect(h.conn.sndWindowShift).toBe(7);
    expect(h.conn.sndWnd).toBe(1000 << 7);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: 3 });
    expect(h.conn.sndWnd).toBe(3 << 7);
  });

  it('active open: the SYN-ACK window is taken unscaled', () => {
    const h = established({ ...wsPeer, open: 'active', peerWindow: 500 });
    expect(h.conn.sndWnd).toBe(500);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: 500 });
    expect(h.conn.sndWnd).toBe(500 << 7);
  });

  it('a Shift.cnt above 14 is taken as 14 (RFC 7323 §2.3)', () => {
    const h = established({ peerSynOptions: [...mssOnly(), { kind: 'noOperation' }, { kind: 'windowScale', shiftCount: 15 }] });
    expect(h.conn.sndWindowShift).toBe(14);
  });

  it('our windows are sent scaled by our Shift.cnt once scaling is on both ways', () => {
    const h = established({ peerSynOptions: linuxSynOptions(1000) });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    const sent = h.take();
    expect(sent).toHaveLength(1);
    // 1 MiB of buffer, minus nothing (the 10 bytes are unread but counted): (2^20 − 10) >> 5, rounded up.
    expect(sent[0].tcp.window).toBe(Math.ceil((1024 * 1024 - 10) / 32));
  });
});
