/**
 * The receiver: when ACKs are sent (delayed ACK, RFC 1122 §4.2.3.2 and RFC 5681 §4.2), out-of-
 * order data held and reported in SACK blocks (RFC 2018 §4) with D-SACK for duplicates
 * (RFC 2883), and the advertised window with receiver-side silly-window avoidance
 * (RFC 9293 §3.8.6.2.2, RFC 1122 §4.2.3.3).
 */
import { describe, expect, it } from 'vitest';
import type { TcpOption } from '../../src/tcp/tcp-options.js';
import {
  ACK,
  ack,
  established,
  flags,
  mssOnly,
  payloadLength,
  PSH,
  sackBlocks,
  seq,
  sentAt,
  window,
  URG,
  type FixtureOptions,
  type TcpHarness,
} from './harness.js';

const SACK_PEER: TcpOption[] = [...mssOnly(), { kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' }];
const MSS = 1460;

describe('delayed ACK (RFC 1122 §4.2.3.2, RFC 5681 §4.2)', () => {
  it('a single segment is acknowledged after the 40 ms delayed-ACK timer', () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 100 });
    h.expectNothingSent();
    h.advance(39);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(100)), sentAt(40));
    expect(h.stat('tcp.delayedAck.fired')).toBe(1);
  });

  it('the second full-sized segment is acknowledged at once', () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: MSS });
    h.expectNothingSent();
    h.advance(5);
    h.send({ seq: h.peerSeq(MSS), ack: h.ourSeq(0), flags: ACK, payload: MSS });
    h.expectSent(flags(ACK), ack(h.peerSeq(2 * MSS)), sentAt(5));
    h.advance(100);
    h.expectNothingSent(); // the delayed-ACK timer was cancelled by that ACK
  });

  it("a segment with PSH is acknowledged at once while the connection is young (Linux's quickack mode)", () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
    h.expectSent(flags(ACK), ack(h.peerSeq(100)), sentAt(0));
  });

  it('after 16 ACKs a PSH segment waits for the delayed-ACK timer, so a reply within it carries the ACK (as Linux)', () => {
    const h = established();
    let received = 0;
    // The handshake's ACK was the first of the sixteen.
    for (; h.conn.quickAcks.remaining > 0; received += 10) {
      h.send({ seq: h.peerSeq(received), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
      h.expectSent(flags(ACK), ack(h.peerSeq(received + 10)));
    }
    expect(received).toBe(150);
    h.send({ seq: h.peerSeq(received), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.expectNothingSent();
    h.advance(5);
    h.conn.setNoDelay(true);
    h.write(20); // the application answers 5 ms later: one segment, data and ACK
    h.expectSent(flags(ACK | PSH), payloadLength(20), ack(h.peerSeq(received + 10)), sentAt(h.now));
    // Unanswered, a request is acknowledged when the 40 ms timer fires.
    h.send({ seq: h.peerSeq(received + 10), ack: h.ourSeq(20), flags: ACK | PSH, payload: 10 });
    h.advance(39);
    h.expectNothingSent();
    h.advance(1);
    h.expectSent(flags(ACK), ack(h.peerSeq(received + 20)));
  });

  describe("Linux's quickack mode (tcp.quickAck = 'linux')", () => {
    const linux = { tcp: { quickAck: 'linux' as const } };

    it('the first data is acknowledged at once without PSH, for up to 16 ACKs of new data, then the timer waits', () => {
      const h = established(linux);
      let received = 0;
      for (let i = 0; i < 16; i++, received += 100) {
        h.send({ seq: h.peerSeq(received), ack: h.ourSeq(0), flags: ACK, payload: 100 });
        h.expectSent(flags(ACK), ack(h.peerSeq(received + 100)), sentAt(h.now));
        h.advance(1);
      }
      h.send({ seq: h.peerSeq(received), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
      h.expectNothingSent();
      h.advance(40);
      h.expectSent(flags(ACK), ack(h.peerSeq(received + 100)));
    });

    it('a small window grants fewer quick ACKs: window / (2·receive MSS)', () => {
      const h = established({ tcp: { quickAck: 'linux', receiveBufferSize: 4000, receiveBufferMax: 4000 } });
      for (let i = 0; i < 2; i++) {
        h.send({ seq: h.peerSeq(1000 * i), ack: h.ourSeq(0), flags: ACK, payload: 1000 });
        h.expectSent(flags(ACK), ack(h.peerSeq(1000 * i + 1000)), sentAt(h.now));
      }
      h.send({ seq: h.peerSeq(2000), ack: h.ourSeq(0), flags: ACK, payload: 1000 });
      h.expectNothingSent();
      h.advance(40);
      h.expectSent(flags(ACK), ack(h.peerSeq(3000)));
    });

    it('a reply within the delayed-ACK timeout makes the connection interactive: the next request waits for the reply, and the timer firing ends it', () => {
      const h = established(linux);
      h.conn.setNoDelay(true);
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
      h.expectSent(flags(ACK), ack(h.peerSeq(100)));
      h.advance(5);
      h.write(20); // a reply 5 ms after the request
      h.expectSent(flags(ACK | PSH), payloadLength(20));
      h.send({ seq: h.peerSeq(100), ack: h.ourSeq(20), flags: ACK | PSH, payload: 100 });
      h.expectNothingSent();
      h.advance(10);
      h.write(20);
      h.expectSent(flags(ACK | PSH), payloadLength(20), ack(h.peerSeq(200)));
      h.send({ seq: h.peerSeq(200), ack: h.ourSeq(40), flags: ACK | PSH, payload: 100 });
      h.advance(40);
      h.expectSent(flags(ACK), ack(h.peerSeq(300)), sentAt(h.now));
      h.send({ seq: h.peerSeq(300), ack: h.ourSeq(40), flags: ACK | PSH, payload: 100 });
      h.expectSent(flags(ACK), ack(h.peerSeq(400)), sentAt(h.now));
    });

    it('an old duplicate starts quickack mode again (our ACK was lost)', () => {
      const h = established(linux);
      let received = 0;
      for (let i = 0; i < 16; i++, received += 100) {
        h.send({ seq: h.peerSeq(received), ack: h.ourSeq(0), flags: ACK, payload: 100 });
        h.expectSent(flags(ACK));
      }
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 100 });
      h.expectSent(flags(ACK), ack(h.peerSeq(received)));
      h.send({ seq: h.peerSeq(received), ack: h.ourSeq(0), flags: ACK, payload: 100 });
      h.expectSent(flags(ACK), ack(h.peerSeq(received + 100)), sentAt(h.now));
    });
  });

  it('data we send carries the pending ACK, and the timer is cancelled', () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 100 });
    h.advance(10);
    h.write(20);
    h.expectSent(flags(ACK | PSH), seq(h.ourSeq(0)), ack(h.peerSeq(100)), payloadLength(20));
    h.advance(100);
    h.expectNothingSent();
  });

  it('an out-of-order segment is acknowledged at once with a SACK block (RFC 5681 §4.2, RFC 2018 §4)', () => {
    const h = established({ peerSynOptions: SACK_PEER });
    h.send({ seq: h.peerSeq(100), ack: h.ourSeq(0), flags: ACK, payload: 100 });
    h.expectSent(flags(ACK), ack(h.peerSeq(0)), sackBlocks([{ leftEdge: h.peerSeq(100), rightEdge: h.peerSeq(200) }]));
  });

  it('a segment that fills a hole is acknowledged at once, and the SACK blocks go away', () => {
    const h = established({ peerSynOptions: SACK_PEER });
    h.send({ seq: h.peerSeq(100), ack: h.ourSeq(0), flags: ACK, payload: 100 });
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 100 });
    h.expectSent(flags(ACK), ack(h.peerSeq(200)), sackBlocks([]));
    expect(h.read()).toHaveLength(200);
  });
});

describe('out-of-order data (RFC 9293 §3.10.7.4 seventh step, RFC 2018, RFC 2883)', () => {
  it('segments arriving 3, 1, 4, 2 are delivered in order; SACK blocks list the most recent first', () => {
    const h = established({ peerSynOptions: SACK_PEER });
    const block = (from: number, to: number) => ({ leftEdge: h.peerSeq(from * 100), rightEdge: h.peerSeq(to * 100) });
    const segment = (i: number) => h.send({ seq: h.peerSeq(i * 100), ack: h.ourSeq(0), flags: ACK, payload: pattern100(i) });
    segment(2);
    h.expectSent(ack(h.peerSeq(0)), sackBlocks([block(2, 3)]));
    segment(4);
    h.expectSent(ack(h.peerSeq(0)), sackBlocks([block(4, 5), block(2, 3)]));
    segment(0);
    h.expectSent(ack(h.peerSeq(100)), sackBlocks([block(4, 5), block(2, 3)]));
    segment(1);
    h.expectSent(ack(h.peerSeq(300)), sackBlocks([block(4, 5)]));
    segment(3);
    h.expectSent(ack(h.peerSeq(500)), sackBlocks([]));
    const data = h.read();
    expect(data).toHaveLength(500);
    for (let i = 0; i < 5; i++) expect(data[i * 100]).toBe(i);
  });

  it('a duplicate of data already acknowledged is reported in a D-SACK block (RFC 2883 §4.1)', () => {
    const h = established({ peerSynOptions: SACK_PEER });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 200 });
    h.take();
    h.send({ seq: h.peerSeq(100), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
    h.expectSent(ack(h.peerSeq(200)), sackBlocks([{ leftEdge: h.peerSeq(100), rightEdge: h.peerSeq(200) }]));
    // The D-SACK is reported once.
    h.send({ seq: h.peerSeq(200), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.expectSent(ack(h.peerSeq(210)), sackBlocks([]));
  });

  it('a duplicate of held out-of-order data: D-SACK first, then the block containing it (RFC 2883 §4.2)', () => {
    const h = established({ peerSynOptions: SACK_PEER });
    h.send({ seq: h.peerSeq(100), ack: h.ourSeq(0), flags: ACK, payload: 200 });
    h.take();
    h.send({ seq: h.peerSeq(150), ack: h.ourSeq(0), flags: ACK, payload: 50 });
    h.expectSent(
      ack(h.peerSeq(0)),
      sackBlocks([
        { leftEdge: h.peerSeq(150), rightEdge: h.peerSeq(200) },
        { leftEdge: h.peerSeq(100), rightEdge: h.peerSeq(300) },
      ]),
    );
  });

  it('without SACK, out-of-order data is still held and the ACKs are plain duplicates', () => {
    const h = established();
    h.send({ seq: h.peerSeq(100), ack: h.ourSeq(0), flags: ACK, payload: 100 });
    h.expectSent(flags(ACK), ack(h.peerSeq(0)), sackBlocks([]));
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 100 });
    h.expectSent(flags(ACK), ack(h.peerSeq(200)));
  });
});

/** `100` bytes all equal to `i`. */
function pattern100(i: number): Uint8Array {
  return new Uint8Array(100).fill(i);
}

describe('the advertised window and receiver SWS avoidance (RFC 9293 §3.8.6.2.2, RFC 1122 §4.2.3.3)', () => {
  const small: FixtureOptions = { tcp: { receiveBufferSize: 8192 } };

  /** An 8192-byte buffer filled by the peer: window 0. */
  function full(): TcpHarness {
    const h = established(small);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 8192 });
    h.expectSent(ack(h.peerSeq(8192)), window(0));
    return h;
  }

  it('the window shrinks by what arrives and is not read; the right edge never moves left', () => {
    const h = established(small);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 1000 });
    h.expectSent(ack(h.peerSeq(1000)), window(8192 - 1000));
  });

  it('reading less than min(RCV.BUFF/2, MSS) does not open the window: no update, and probes still see 0', () => {
    const h = full();
    expect(h.conn.receive(100)).toHaveLength(100);
    expect(h.conn.receive(1000)).toHaveLength(1000);
    h.expectNothingSent();
    h.send({ seq: h.peerSeq(8191), ack: h.ourSeq(0), flags: ACK }); // zero-window probe
    h.expectSent(ack(h.peerSeq(8192)), window(0));
  });

  it('reading enough to offer a full segment sends a window update at once', () => {
    const h = full();
    h.conn.receive(MSS);
    h.expectSent(flags(ACK), ack(h.peerSeq(8192)), window(MSS));
  });

  it('a read and a reply inside onReadable leave as one segment: the window update rides on the reply', () => {
    const h = established(small);
    h.conn.events.onReadable = () => {
      expect(h.conn.receive(8192)).toHaveLength(4096); // opens the window by 4096 ≥ 2 MSS
      h.conn.send(new Uint8Array(10));
    };
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 4096 });
    h.expectSent(flags(ACK | PSH), payloadLength(10), ack(h.peerSeq(4096)), window(8192));
  });

  it('reading sends no window update when the window cannot grow (a 1 MiB buffer behind an unscaled 65535)', () => {
    const h = established();
    for (let i = 0; i < 4; i++) {
      h.send({ seq: h.peerSeq(i * 1000), ack: h.ourSeq(0), flags: ACK | PSH, payload: 1000 });
      h.expectSent(ack(h.peerSeq(i * 1000 + 1000)), window(65535));
      expect(h.read()).toHaveLength(1000);
      h.expectNothingSent();
    }
  });

  describe("Linux's window update on read (tcp.windowUpdate = 'linux')", () => {
    const linux: FixtureOptions = { tcp: { receiveBufferSize: 8192, windowUpdate: 'linux' } };

    it('a read that opens a closed window by a segment sends an update', () => {
      const h = established(linux);
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 8192 });
      h.expectSent(ack(h.peerSeq(8192)), window(0));
      h.conn.receive(MSS);
      h.expectSent(flags(ACK), window(MSS));
    });

    it('a read that grows the window by two segments sends none unless it doubles a window at most half open (BSD sends one)', () => {
      for (const rule of ['linux', 'bsd'] as const) {
        const h = established({ tcp: { receiveBufferSize: 8192, windowUpdate: rule } });
        h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 4192 });
        h.expectSent(ack(h.peerSeq(4192)), window(4000));
        h.conn.receive(3000); // 7000 free: +3000 ≥ 2 MSS, but less than twice 4000
        if (rule === 'bsd') h.expectSent(flags(ACK), window(7000));
        else h.expectNothingSent();
        if (rule === 'linux') {
          h.conn.receive(1192); // 8192 free: twice 4000
          h.expectSent(flags(ACK), window(8192));
        }
      }
    });
  });

  it('shutdown(SHUT_RD): arriving data is acknowledged and discarded', () => {
    const h = established();
    h.conn.shutdownRead();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
    h.expectSent(ack(h.peerSeq(100)));
    expect(h.conn.readableBytes).toBe(0);
  });
});

describe('urgent data (RFC 9293 §3.8.5, RFC 6093)', () => {
  it('the urgent pointer marks where urgent data ends; the reader learns how far away the mark is', () => {
    const h = established();
    // 10 bytes; the urgent pointer 6 points just past the urgent data (RFC 6093): byte 5 is urgent.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH | URG, urgentPointer: 6, payload: 10 });
    expect(h.stat('tcp.rx.urgent')).toBe(1);
    expect(h.conn.urgentMarkDistance()).toBe(5);
    expect(h.conn.receive(3).length).toBe(3);
    expect(h.conn.urgentMarkDistance()).toBe(2);
    h.conn.receive(2);
    expect(h.conn.urgentMarkDistance()).toBe(0); // SIOCATMARK: the next byte is the urgent one
    h.conn.receive(1);
    expect(h.conn.urgentMarkDistance()).toBe(null);
  });

  it('a later urgent pointer moves the mark forward; segments without URG leave it', () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | URG, urgentPointer: 4, payload: 4 });
    expect(h.conn.urgentMarkDistance()).toBe(3);
    h.send({ seq: h.peerSeq(4), ack: h.ourSeq(0), flags: ACK | URG, urgentPointer: 2, payload: 4 });
    expect(h.conn.urgentMarkDistance()).toBe(5);
    h.send({ seq: h.peerSeq(8), ack: h.ourSeq(0), flags: ACK, payload: 2 });
    expect(h.conn.urgentMarkDistance()).toBe(5);
  });
});
