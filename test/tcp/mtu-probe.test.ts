/**
 * Packetization Layer Path MTU Discovery (RFC 4821, src/tcp/mtu-probe.ts): the probe's size is
 * the midpoint of the search range, its ACK raises the MSS (§7.6.1), its loss lowers the top of
 * the range (§7.6.3) so the next probe is smaller; nothing is probed without enough data queued.
 */
import { describe, expect, it } from 'vitest';
import { ACK, established, type TcpHarness } from './harness.js';

/** An established connection whose MSS is 800 (as if the path MTU were 840) and an initial window of 12, probing from tcp_base_mss 700. */
function probing(): TcpHarness {
  const h = established({ tcp: { mtuProbing: true, mtuProbeBaseMss: 700, initialWindowSegments: 12 } });
  h.conn.sendMss = 800;
  h.conn.cc.setMss(800);
  return h;
}

const lengths = (h: TcpHarness) => h.take().map((s) => s.tcp.payload.length);

describe('RFC 4821 path MTU probing', () => {
  it('a probe of the midpoint between MTU 740 and 1500 (1080 bytes) goes first; its ACK raises the MSS', () => {
    const h = probing();
    h.write(10_000);
    const sent = lengths(h);
    expect(sent[0]).toBe(1080);
    expect(sent.slice(1).every((n) => n <= 800)).toBe(true);
    h.send({ seq: h.peerSeq(0), ack: h.conn.sndNxt, flags: ACK });
    expect(h.stat('tcp.mtuProbe.succeeded')).toBe(1);
    expect(h.conn.sendMss).toBe(1080);
  });

  it('a lost probe is resent in segments of the MSS, and the next probe is smaller (midpoint of 740 and 1119)', () => {
    const h = probing();
    h.write(10_000);
    expect(lengths(h)[0]).toBe(1080);
    h.advance(h.conn.rtt.rto);
    expect(lengths(h)[0]).toBe(800); // the retransmission fits the MSS in force
    expect(h.stat('tcp.mtuProbe.failed')).toBe(1);
    // Recovered, with a window grown back to 11 segments: the next probe.
    let probe = 0;
    for (let i = 0; i < 100 && probe === 0; i++) {
      if (h.conn.sendBuffer.length === 0) h.write(10_000);
      probe = lengths(h).find((n) => n > 800) ?? 0;
      h.send({ seq: h.peerSeq(0), ack: h.conn.sndNxt, flags: ACK });
    }
    expect(probe).toBe(((1119 + 740) >> 1) - 40);
  });

  it('without room for the probe and four segments behind it, nothing is probed', () => {
    const h = probing();
    h.write(1080 + 4 * 800 - 1);
    expect(lengths(h).every((n) => n <= 800)).toBe(true);
    expect(h.stat('tcp.mtuProbe.sent')).toBe(0);
  });

  it('off by default', () => {
    const h = established();
    h.conn.sendMss = 800;
    h.write(10_000);
    expect(lengths(h).every((n) => n <= 800)).toBe(true);
  });
});
