/**
 * Retransmissions leave in send units as first transmissions do (output.ts): what is left of a
 * lost unit goes again as one unit, as far as cwnd and the unit size allow, PSH on its last
 * segment when it has two or more (Linux retransmits a lost skb as one GSO packet, and forces PSH
 * on every GSO packet). The PSH a unit had on its first transmission is not kept with the data:
 * RFC 9293 §3.9.1 ties PSH to the end of what a write handed over, which is all a retransmission
 * repeats of its own.
 */
import { describe, expect, it } from 'vitest';
import type { TcpOption } from '../../src/tcp/tcp-options.js';
import { ACK, established, mssOnly, PSH, sackOption, type FixtureOptions, type TcpHarness } from './harness.js';

const MSS = 1460;
const SACK_PEER: FixtureOptions = {
  peerSynOptions: [...mssOnly(), { kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' }] as TcpOption[],
  handshakeRttMs: 40,
};

/** Ten full segments in one write, Nagle off: send units of 2 segments (the 40 ms handshake's pacing rate gives less than one segment a millisecond). */
function tenSegments(h: TcpHarness): void {
  h.conn.setNoDelay(true);
  h.write(10 * MSS + 1);
  const first = h.take();
  expect(first.slice(0, 10).map((s) => (s.tcp.flags & PSH) !== 0)).toEqual([false, true, false, true, false, true, false, true, false, true]);
  h.advance(10);
}

/** The retransmissions sent next, by segment index, and whether each carries PSH (new data after them left out). */
function retransmitted(h: TcpHarness): Array<[number, boolean]> {
  return h
    .take()
    .map((s): [number, boolean] => [((s.tcp.seq - h.ourSeq(0)) >>> 0) / MSS, (s.tcp.flags & PSH) !== 0])
    .filter(([index]) => index < 10);
}

describe('retransmission in send units', () => {
  it('a whole lost unit goes again as one unit, PSH on its last segment', () => {
    const h = established(SACK_PEER);
    tenSegments(h);
    // Segments 0–1 acknowledged, 4–9 SACKed: the unit of segments 2–3 was lost.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(2 * MSS), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(4 * MSS), rightEdge: h.ourSeq(10 * MSS) }) });
    expect(retransmitted(h)).toEqual([
      [2, false],
      [3, true],
    ]);
  });

  it('what a SACK left of a unit goes alone, without the PSH the unit ended with', () => {
    const h = established(SACK_PEER);
    tenSegments(h);
    // Segments 0–2 acknowledged, 4–9 SACKed: only segment 3, the end of the second unit, was lost.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(3 * MSS), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(4 * MSS), rightEdge: h.ourSeq(10 * MSS) }) });
    expect(retransmitted(h)).toEqual([[3, false]]);
  });

  it('two lost units go as two, each with PSH on its last segment', () => {
    const h = established(SACK_PEER);
    tenSegments(h);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(2 * MSS), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(6 * MSS), rightEdge: h.ourSeq(10 * MSS) }) });
    expect(retransmitted(h)).toEqual([
      [2, false],
      [3, true],
      [4, false],
      [5, true],
    ]);
  });
});
