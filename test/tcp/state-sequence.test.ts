/**
 * RFC 9293 §3.10.7.4, "first, check sequence number": the four acceptability cases, the edges
 * of the receive window, what happens to segments that fail the test (an ACK, then drop), in
 * every state that has a receive window; and PAWS (RFC 7323 §5.3), which runs before it.
 */
import { describe, expect, it } from 'vitest';
import type { TcpOption } from '../../src/tcp/tcp-options.js';
import { seqAdd } from '../../src/tcp/seq.js';
import {
  ACK,
  established,
  FIN,
  flags,
  linuxSynOptions,
  mssOnly,
  PSH,
  RST,
  sackBlocks,
  seq,
  ack,
  SYNCHRONIZED_FIXTURES,
  synReceived,
  timestamps,
  window,
  type FixtureOptions,
  type TcpHarness,
} from './harness.js';

/** A peer that does SACK, and a receive buffer (hence window) of 8192 bytes. */
const SACK_PEER: TcpOption[] = [...mssOnly(), { kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' }];
const SMALL_WINDOW: FixtureOptions = { peerSynOptions: SACK_PEER, tcp: { receiveBufferSize: 8192 } };
const RCV_WND = 8192;

/** An established connection whose receive window is 0: the peer filled the 8192-byte buffer. */
function zeroWindow(options: FixtureOptions = {}): TcpHarness {
  const h = established({ ...SMALL_WINDOW, ...options });
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: RCV_WND });
  h.expectSent(flags(ACK), ack(h.peerSeq(RCV_WND)), window(0));
  return h;
}

for (const [label, peerIss] of [
  ['', 1_000_000],
  [' (sequence space wrapping inside the window)', 0xffff_f000],
] as const) {
  describe(`RFC 9293 §3.10.7.4 segment acceptability${label}`, () => {
    const fixture = (): TcpHarness => established({ ...SMALL_WINDOW, peerIss });

    it('SEG.LEN = 0, RCV.WND > 0: acceptable if RCV.NXT ≤ SEG.SEQ < RCV.NXT + RCV.WND (the ACK field is processed)', () => {
      for (const offset of [0, 1, RCV_WND - 1]) {
        const h = fixture();
        h.write(10);
        h.take();
        h.send({ seq: h.peerSeq(offset), ack: h.ourSeq(10), flags: ACK });
        expect(h.conn.sndUna, `offset ${offset}`).toBe(h.ourSeq(10));
        h.expectNothingSent();
      }
    });

    it('SEG.LEN = 0, RCV.WND > 0: SEG.SEQ = RCV.NXT − 1 or RCV.NXT + RCV.WND is not acceptable: ACK, drop', () => {
      for (const offset of [-1, RCV_WND]) {
        const h = fixture();
        h.write(10);
        h.take();
        h.send({ seq: h.peerSeq(offset), ack: h.ourSeq(10), flags: ACK });
        h.expectSent(flags(ACK), seq(h.ourSeq(10)), ack(h.peerSeq(0)), sackBlocks([]));
        expect(h.conn.sndUna, `offset ${offset}: the ACK field of a dropped segment is ignored`).toBe(h.ourSeq(0));
        expect(h.stat('drop.tcp.outsideWindow')).toBe(1);
      }
    });

    it('SEG.LEN > 0, RCV.WND > 0: acceptable if its first octet is in the window (the last in-window octet is held out of order)', () => {
      const h = fixture();
      h.send({ seq: h.peerSeq(RCV_WND - 1), ack: h.ourSeq(0), flags: ACK, payload: 1 });
      h.expectSent(flags(ACK), ack(h.peerSeq(0)), sackBlocks([{ leftEdge: h.peerSeq(RCV_WND - 1), rightEdge: h.peerSeq(RCV_WND) }]));
      expect(h.stat('drop.tcp.outsideWindow')).toBe(0);
    });

    it('SEG.LEN > 0, RCV.WND > 0: acceptable if its last octet is in the window (only the new octets are taken)', () => {
      const h = fixture();
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
      h.expectSent(flags(ACK), ack(h.peerSeq(100)));
      // Octets 50..149: the first 50 are old, the last 50 new.
      h.send({ seq: h.peerSeq(50), ack: h.ourSeq(0), flags: ACK | PSH, payload: new Uint8Array(100).fill(7) });
      h.expectSent(flags(ACK), ack(h.peerSeq(150)), sackBlocks([{ leftEdge: h.peerSeq(50), rightEdge: h.peerSeq(100) }]));
      const data = h.read();
      expect(data).toHaveLength(150);
      expect(data[99]).toBe(99); // the first copy of an octet is kept
      expect(data[100]).toBe(7);
    });

    it('SEG.LEN > 0, RCV.WND > 0: a segment straddling the right edge is trimmed to the window', () => {
      const h = fixture();
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: RCV_WND + 100 });
      h.expectSent(flags(ACK), ack(h.peerSeq(RCV_WND)), window(0));
      expect(h.read()).toHaveLength(RCV_WND);
    });

    it('SEG.LEN > 0, RCV.WND > 0: a segment wholly after the window is not acceptable: ACK, drop', () => {
      const h = fixture();
      h.send({ seq: h.peerSeq(RCV_WND), ack: h.ourSeq(0), flags: ACK, payload: 10 });
      h.expectSent(flags(ACK), ack(h.peerSeq(0)), sackBlocks([]));
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
      h.expectSent(flags(ACK), ack(h.peerSeq(10)), sackBlocks([]));
      expect(h.read()).toHaveLength(10);
    });

    it('SEG.LEN > 0, RCV.WND > 0: a segment wholly before RCV.NXT is a duplicate: ACK with a D-SACK block (RFC 2883 §4.1), drop', () => {
      const h = fixture();
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
      h.take();
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
      h.expectSent(flags(ACK), ack(h.peerSeq(100)), sackBlocks([{ leftEdge: h.peerSeq(0), rightEdge: h.peerSeq(100) }]));
      expect(h.read()).toHaveLength(100);
    });
  });
}

describe('RFC 9293 §3.10.7.4 with a zero receive window', () => {
  it('SEG.LEN = 0, RCV.WND = 0: acceptable only if SEG.SEQ = RCV.NXT', () => {
    const h = zeroWindow();
    h.write(10);
    h.take();
    h.send({ seq: h.peerSeq(RCV_WND), ack: h.ourSeq(10), flags: ACK });
    h.expectNothingSent();
    expect(h.conn.sndUna).toBe(h.ourSeq(10));
  });

  it('SEG.LEN = 0, RCV.WND = 0: SEG.SEQ ≠ RCV.NXT is not acceptable: ACK, drop', () => {
    const h = zeroWindow();
    h.send({ seq: h.peerSeq(RCV_WND + 1), ack: h.ourSeq(0), flags: ACK });
    h.expectSent(flags(ACK), ack(h.peerSeq(RCV_WND)), window(0));
    h.advance(500); // past the per-connection limit on such answers (invalidAckRateLimitMs)
    h.send({ seq: h.peerSeq(RCV_WND - 1), ack: h.ourSeq(0), flags: ACK }); // a Linux-style zero-window probe
    h.expectSent(flags(ACK), ack(h.peerSeq(RCV_WND)), window(0));
  });

  it('SEG.LEN > 0, RCV.WND = 0: the data is not acceptable and is answered with an ACK; its ACK field is still processed', () => {
    // A BSD-style zero-window probe carries one octet of new data at RCV.NXT.
    const h = zeroWindow();
    h.write(10);
    h.take();
    h.send({ seq: h.peerSeq(RCV_WND), ack: h.ourSeq(10), flags: ACK, payload: 1 });
    h.expectSent(flags(ACK), seq(h.ourSeq(10)), ack(h.peerSeq(RCV_WND)), window(0));
    expect(h.conn.sndUna, 'special allowance for valid ACKs').toBe(h.ourSeq(10));
    expect(h.read()).toHaveLength(RCV_WND);
  });

  it('the window reopens once the application reads, and the next segment is taken', () => {
    const h = zeroWindow();
    expect(h.read()).toHaveLength(RCV_WND);
    h.expectSent(flags(ACK), ack(h.peerSeq(RCV_WND)), window(RCV_WND));
    h.send({ seq: h.peerSeq(RCV_WND), ack: h.ourSeq(0), flags: ACK | PSH, payload: 1 });
    h.expectSent(flags(ACK), ack(h.peerSeq(RCV_WND + 1)));
  });
});

describe('RFC 9293 §3.10.7.4: a segment outside the window gets an ACK in every state with a window', () => {
  for (const [state, fixture] of SYNCHRONIZED_FIXTURES) {
    it(`${state}: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and the segment is dropped`, () => {
      const h = fixture();
      const before = { rcvNxt: h.conn.rcvNxt, sndNxt: h.conn.sndNxt };
      h.send({ seq: seqAdd(before.rcvNxt, 200_000), ack: before.sndNxt, flags: ACK | PSH, payload: 10 });
      h.expectSent(flags(ACK), seq(before.sndNxt), ack(before.rcvNxt));
      h.expectState(state);
      expect(h.conn.rcvNxt).toBe(before.rcvNxt);
    });
  }

  it('SYN-RECEIVED: <SEQ=ISS+1><ACK=RCV.NXT><CTL=ACK>, and the connection stays half-open', () => {
    const h = synReceived();
    h.send({ seq: h.peerSeq(200_000), ack: h.ourSeq(0), flags: ACK, payload: 10 });
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
    h.expectState('SYN-RECEIVED');
  });

  it('an unacceptable RST is dropped without an ACK', () => {
    const h = established();
    h.send({ seq: h.peerSeq(200_000), flags: RST });
    h.expectNothingSent();
    h.expectState('ESTABLISHED');
    expect(h.stat('drop.tcp.resetOutsideWindow')).toBe(1);
  });
});

describe('PAWS (RFC 7323 §5.3)', () => {
  const TS_PEER: FixtureOptions = { peerSynOptions: linuxSynOptions(5_000_000) };
  const ts = (tsVal: number, tsEcr: number): TcpOption[] => [{ kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'timestamps', tsVal, tsEcr }];

  it('our ACKs echo the TSval of the segment that advanced RCV.NXT (RFC 7323 §4.3)', () => {
    const h = established(TS_PEER);
    h.advance(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(10)), timestamps({ tsVal: h.ourTsVal(), tsEcr: h.peerTsVal() }));
  });

  it('a delayed ACK echoes the TSval of the earliest segment it acknowledges (RFC 7323 §4.3)', () => {
    const h = established(TS_PEER);
    h.advance(10);
    const first = h.peerTsVal();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 10 });
    h.advance(10);
    h.send({ seq: h.peerSeq(10), ack: h.ourSeq(0), flags: ACK, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(20)), timestamps({ tsEcr: first }));
  });

  it('R1: a segment whose TSval is older than TS.Recent is not acceptable: ACK (echoing TS.Recent), drop', () => {
    const h = established(TS_PEER);
    h.advance(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    const recent = h.peerTsVal();
    h.take();
    h.advance(10);
    h.send({ seq: h.peerSeq(10), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10, options: ts(recent - 1, h.lastOurTsVal) });
    h.expectSent(flags(ACK), ack(h.peerSeq(10)), timestamps({ tsEcr: recent }));
    expect(h.stat('drop.tcp.paws')).toBe(1);
    expect(h.read()).toHaveLength(10);
  });

  it('R1: a TSval equal to TS.Recent passes, and a TSval that wrapped past 2^31 counts as older', () => {
    const h = established(TS_PEER);
    const recent = h.conn.timestamps.recent;
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10, options: ts(recent, 0) });
    h.expectSent(flags(ACK), ack(h.peerSeq(10)));
    h.send({ seq: h.peerSeq(10), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10, options: ts(recent + 0x8000_0001, 0) });
    h.expectSent(flags(ACK), ack(h.peerSeq(10)));
    expect(h.stat('drop.tcp.paws')).toBe(1);
  });

  it('a RST is not subject to PAWS: an exact RST with an old TSval still resets', () => {
    const h = established(TS_PEER);
    h.send({ seq: h.peerSeq(0), flags: RST, options: ts(h.conn.timestamps.recent - 1000, 0) });
    h.expectNothingSent();
    expect(h.closedWith).toBe('ECONNRESET');
  });

  it('a FIN with an old TSval is dropped too (the state does not change)', () => {
    const h = established(TS_PEER);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: FIN | ACK, options: ts(h.conn.timestamps.recent - 1, 0) });
    h.expectSent(flags(ACK), ack(h.peerSeq(0)));
    h.expectState('ESTABLISHED');
  });
});
