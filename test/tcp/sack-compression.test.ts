/**
 * SACK compression (TcpConfig.sackCompression, sack-compression.ts): with Linux's profile, after
 * three immediate duplicate ACKs for one RCV.NXT, later out-of-order segments share one ACK sent
 * when the compression timer (a share of the RTT, at most 1 ms, plus 100 µs of slack) fires;
 * by default every out-of-order segment is ACKed at once (RFC 5681 §4.2).
 */
import { describe, expect, it } from 'vitest';
import { mapShellCommand } from '../../src/drill/sysctl.js';
import { LINUX_PROFILE } from '../../src/tcp/profiles.js';
import type { TcpOption } from '../../src/tcp/tcp-options.js';
import { ACK, ack, established, flags, sackBlocks, type TcpHarness } from './harness.js';

const SACK_PEER: TcpOption[] = [{ kind: 'maxSegmentSize', mss: 1460 }, { kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' }];
const MSS = 1000;
// Linux's profile without its quick ACKs at the start, so that only the compression rule decides.
const LINUX_NO_QUICK_ACKS = { ...LINUX_PROFILE, quickAck: 'push' as const };

/** Segments 1..n of MSS bytes (segment 0 lost), one every 10 µs; returns how many ACKs left at once. */
function outOfOrderRun(h: TcpHarness, n: number): number {
  let immediate = 0;
  for (let i = 1; i <= n; i++) {
    h.send({ seq: h.peerSeq(i * MSS), ack: h.ourSeq(0), flags: ACK, payload: MSS });
    immediate += h.take().length;
    h.advance(0.01);
  }
  return immediate;
}

describe('SACK compression (TcpConfig.sackCompression)', () => {
  it('by default every out-of-order segment is acknowledged at once (RFC 5681 §4.2)', () => {
    const h = established({ peerSynOptions: SACK_PEER });
    expect(outOfOrderRun(h, 6)).toBe(6);
  });

  it("with Linux's profile three duplicates go at once, then one ACK carries the rest when the timer fires", () => {
    const h = established({ peerSynOptions: SACK_PEER, tcp: LINUX_NO_QUICK_ACKS });
    expect(outOfOrderRun(h, 6)).toBe(3);
    h.advance(0.2); // the RTT's share (SRTT 1 ms: 50 µs) and the 100 µs slack
    h.expectSent(flags(ACK), ack(h.peerSeq(0)), sackBlocks([{ leftEdge: h.peerSeq(MSS), rightEdge: h.peerSeq(7 * MSS) }]));
    h.expectNothingSent();
  });

  it('a segment that moves RCV.NXT starts the count of immediate duplicates again', () => {
    const h = established({ peerSynOptions: SACK_PEER, tcp: LINUX_NO_QUICK_ACKS });
    expect(outOfOrderRun(h, 4)).toBe(3);
    h.advance(0.2);
    h.take();
    // A retransmission fills part of the hole (0..MSS arrives, MSS.. was held): RCV.NXT moves.
    h.send({ seq: h.peerSeq(10 * MSS), ack: h.ourSeq(0), flags: ACK, payload: MSS });
    expect(h.take()).toHaveLength(0); // still RCV.NXT 0: compressed
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: MSS });
    h.expectSent(flags(ACK), ack(h.peerSeq(5 * MSS))); // the hole's segment: at once
    h.send({ seq: h.peerSeq(11 * MSS), ack: h.ourSeq(0), flags: ACK, payload: MSS });
    h.expectSent(flags(ACK), ack(h.peerSeq(5 * MSS))); // a new RCV.NXT: immediate again
  });

  it('a segment that fills part of a hole is the first of the three immediate ACKs for the new RCV.NXT (Linux counts it; only a hole filled completely asks for an ACK now)', () => {
    const h = established({ peerSynOptions: SACK_PEER, tcp: LINUX_NO_QUICK_ACKS });
    // Segments 0 and 4 lost: 1..3 and 5 held.
    expect(outOfOrderRun(h, 3)).toBe(3);
    h.send({ seq: h.peerSeq(5 * MSS), ack: h.ourSeq(0), flags: ACK, payload: MSS });
    h.advance(0.2);
    expect(h.take()).toHaveLength(1); // the compressed ACK for 5
    // The retransmission of 0 fills the first hole: RCV.NXT 4 × MSS, 5 still held. ACKed at once.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: MSS });
    h.expectSent(flags(ACK), ack(h.peerSeq(4 * MSS)));
    // Then two more duplicates go at once, and the next waits (__tcp_ack_snd_check's dup_ack_counter).
    const sent = [6, 7, 8].map((k) => {
      h.send({ seq: h.peerSeq(k * MSS), ack: h.ourSeq(0), flags: ACK, payload: MSS });
      h.advance(0.01);
      return h.take().length;
    });
    expect(sent).toEqual([1, 1, 0]);
  });

  it('at most 44 out-of-order segments wait for one ACK', () => {
    const h = established({ peerSynOptions: SACK_PEER, tcp: { ...LINUX_NO_QUICK_ACKS, receiveBufferSize: 1 << 20 } });
    let immediate = 0;
    for (let i = 1; i <= 3 + 45; i++) {
      h.send({ seq: h.peerSeq(i * MSS), ack: h.ourSeq(0), flags: ACK, payload: MSS });
      immediate += h.take().length;
    }
    expect(immediate).toBe(4); // three duplicates, then the 45th held one
  });
});

it("packetdrill's net.ipv4.tcp_comp_sack_nr: 0 turns SACK compression off, a count turns it on", () => {
  expect(mapShellCommand('sysctl -q net.ipv4.tcp_comp_sack_nr=0', true).changes).toEqual({ sackCompression: false });
  expect(mapShellCommand('sysctl -q net.ipv4.tcp_comp_sack_nr=44', true).changes).toEqual({ sackCompression: true });
  expect(mapShellCommand('sysctl -q net.ipv4.tcp_comp_sack_nr=-1', true).unsupported).toHaveLength(1);
});
