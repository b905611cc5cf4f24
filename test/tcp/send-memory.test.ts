/**
 * The send buffer's limit and charge (send-memory.ts): SO_SNDBUF bytes by default, Linux's
 * socket memory accounting with `sendBufferAccounting: 'linux'` — twice SO_SNDBUF, skbs filled
 * to the size goal past the limit, a fixed overhead per skb, growth with the congestion window
 * (tcp_sndbuf_expand) — and writability (room at least half the charge, unsent bytes under half
 * TCP_NOTSENT_LOWAT). RFC 9293 §3.10.2 leaves buffering to the implementation.
 */
import { describe, expect, it } from 'vitest';
import { ACK, established, PSH, type Sent } from './harness.js';

const MSS = 1460;
/** Linux's charge per skb beyond its data. */
const SKB = 1280;
/** tcp_sndbuf_expand's per-segment charge for a 1460-byte MSS: roundup_pow_of_two(1460 + 640) + 256. */
const PER_SEGMENT = 4096 + 256;
const linux = { sendBufferAccounting: 'linux' as const };

describe('bytes (default)', () => {
  it('holds SO_SNDBUF bytes of data; a write takes what fits; writable once the room is half the data', () => {
    const h = established();
    h.conn.sendMemory.setSize(3 * MSS);
    expect(h.write(10 * MSS)).toBe(3 * MSS);
    expect(h.conn.sendMemory.charged).toBe(3 * MSS);
    expect(h.conn.writable).toBe(false);
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
    expect(h.conn.writable).toBe(true); // room 1460 ≥ 2920 / 2
  });

  it('TCP_NOTSENT_LOWAT: a write stops at the mark; writable only under half of it (Linux tcp_poll)', () => {
    const h = established({ tcp: { initialWindowSegments: 2 } });
    h.conn.setNotSentLowWater(6000);
    expect(h.write(20_000)).toBe(2 * MSS + 6000); // two segments left, 6000 wait unsent
    expect(h.conn.writable).toBe(false);
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK }); // two more segments leave
    expect(h.conn.unsentBytes).toBe(6000 - 2 * MSS);
    expect(h.conn.writable).toBe(false); // 3080 unsent: under the mark, not under half of it
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(3 * MSS), flags: ACK });
    expect(h.conn.unsentBytes).toBeLessThan(3000);
    expect(h.conn.writable).toBe(true);
  });
});

describe("Linux's accounting (sendBufferAccounting: 'linux')", () => {
  it('SO_SNDBUF is doubled, at least SOCK_MIN_SNDBUF, and locks the limit', () => {
    const h = established({ tcp: linux });
    h.conn.sendMemory.setSize(10_000);
    expect(h.conn.sendMemory.limit).toBe(20_000);
    h.conn.sendMemory.setSize(100);
    expect(h.conn.sendMemory.limit).toBe(4608);
  });

  it('the handshake grows an unlocked limit to two initial windows of skbs (tcp_sndbuf_expand), at most tcp_wmem[2]', () => {
    expect(established({ tcp: { ...linux, sendBufferSize: 4096 } }).conn.sendMemory.limit).toBe(2 * 10 * PER_SEGMENT);
    expect(established({ tcp: { ...linux, sendBufferSize: 4096, sendBufferMax: 50_000 } }).conn.sendMemory.limit).toBe(50_000);
    expect(established({ tcp: { ...linux, sendBufferSize: 200_000 } }).conn.sendMemory.limit).toBe(200_000);
  });

  it('a write fills its skb to the size goal past the limit, and starts none over it; each skb is charged 1280 bytes', () => {
    const h = established({ tcp: linux });
    h.conn.sendMemory.setSize(10_000); // limit 20000
    // Size goal: whole segments in half the peer's 65535-byte window, 22 × 1460. The first skb's
    // initial window leaves at once; its rest is the last unsent skb, filled to 22 segments again.
    expect(h.write(100_000)).toBe(10 * MSS + 22 * MSS);
    const memory = h.conn.sendMemory;
    const overhead = memory.charged - h.conn.sendBuffer.length;
    expect(overhead % SKB).toBe(0);
    expect(overhead).toBeGreaterThanOrEqual(2 * SKB); // the initial window sent is its own skb
    expect(h.conn.writable).toBe(false);
    while (h.conn.sendBuffer.length > 0) {
      h.take();
      h.send({ seq: h.peerSeq(0), ack: h.conn.sndNxt, flags: ACK });
    }
    expect(memory.charged).toBe(0);
    expect(h.conn.writable).toBe(true);
  });

  it('room freed while a writer waits grows an unlocked limit with the congestion window, unless that window is full', () => {
    for (const window of [5 * MSS, 65535]) {
      const h = established({ tcp: { ...linux, sendBufferSize: 4096 } });
      expect(h.write(1_000_000)).toBeLessThan(1_000_000);
      h.take();
      // All of the initial window acknowledged; the peer's window then takes 5 segments, or all.
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(10 * MSS), flags: ACK, window });
      const segments = Math.floor(h.conn.cc.cwnd / MSS);
      expect(segments).toBeGreaterThan(10);
      const cwndFull = window === 65535;
      expect(h.conn.sendMemory.limit).toBe(cwndFull ? 2 * 10 * PER_SEGMENT : 2 * segments * PER_SEGMENT);
    }
  });

  it('SO_SNDBUF set: the limit does not grow', () => {
    const h = established({ tcp: linux });
    h.conn.sendMemory.setSize(20_000);
    expect(h.write(1_000_000)).toBeLessThan(1_000_000);
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(10 * MSS), flags: ACK, window: 5 * MSS });
    expect(h.conn.sendMemory.limit).toBe(40_000);
  });

  it('a write that fills an skb after more than half the peer window since the last push marks PSH there (forced_push)', () => {
    const pushedAt = (accounting: 'bytes' | 'linux'): boolean => {
      const h = established({ tcp: { sendBufferAccounting: accounting } });
      h.conn.setNoDelay(true);
      h.write(100_000);
      const sent: Sent[] = [];
      for (let acked = 0; h.conn.flightSize > 0;) {
        const burst = h.take();
        sent.push(...burst);
        acked = (h.conn.sndNxt - h.ourSeq(0)) >>> 0;
        h.send({ seq: h.peerSeq(0), ack: h.ourSeq(acked), flags: ACK });
      }
      // The first skb (22 segments) was cut by the initial window; its rest filled to 22 again: 46720.
      const end = sent.find((s) => (s.tcp.seq + s.tcp.payload.length - h.ourSeq(0)) >>> 0 === 10 * MSS + 22 * MSS);
      return end !== undefined && (end.tcp.flags & PSH) !== 0;
    };
    expect(pushedAt('linux')).toBe(true);
    expect(pushedAt('bytes')).toBe(false);
  });
});
