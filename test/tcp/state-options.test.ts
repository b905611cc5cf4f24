/**
 * Option negotiation on the SYNs: MSS from the peer and from the path (RFC 9293 §3.7.1,
 * RFC 6691), window scale (RFC 7323 §2), timestamps (RFC 7323 §3), SACK-permitted
 * (RFC 2018 §2), ECN (RFC 3168 §6.1.1), and how each shapes the segments that follow.
 */
import { describe, expect, it } from 'vitest';
import { IpProtocol } from '../../src/ip/ipv4.js';
import type { TcpOption } from '../../src/tcp/tcp-options.js';
import { emitTcp, tcpLength, TcpPacket, type TcpRepr } from '../../src/tcp/tcp-packet.js';
import { ipv4Frame } from '../support/packets.js';
import {
  ACK,
  ack,
  CWR,
  ECE,
  established,
  flags,
  linuxSynOptions,
  listening,
  mss,
  mssOnly,
  optionKinds,
  options,
  OUR_ADDRESS,
  payloadLength,
  PEER_ADDRESS,
  PSH,
  sackBlocks,
  sackPermitted,
  synReceived,
  synSent,
  SYN,
  timestamps,
  window,
  windowScale,
  type TcpHarness,
} from './harness.js';

const NOP: TcpOption = { kind: 'noOperation' };
const ws = (shiftCount: number): TcpOption[] => [NOP, { kind: 'windowScale', shiftCount }];
const SACK_PERM: TcpOption[] = [NOP, NOP, { kind: 'sackPermitted' }];

/** Sizes of the data segments sent for a write of `bytes` with Nagle off. */
function segmentSizes(h: TcpHarness, bytes: number): number[] {
  h.conn.setNoDelay(true);
  h.write(bytes);
  return h.take().map((s) => s.tcp.payload.length);
}

describe('MSS (RFC 9293 §3.7.1, RFC 6691)', () => {
  it('we advertise the link MTU minus 40 and send no more than the peer’s MSS', () => {
    const h = established({ peerSynOptions: mssOnly(536) });
    expect(segmentSizes(h, 1200)).toEqual([536, 536, 128]);
  });

  it('a peer that sends no MSS option gets 536-byte segments', () => {
    const h = established({ peerSynOptions: [] });
    expect(h.conn.sendMss).toBe(536);
  });

  it('a peer MSS above the path MTU is bounded by the path: 1460 on a 1500-byte link', () => {
    const h = established({ peerSynOptions: mssOnly(9000) });
    expect(segmentSizes(h, 3000)).toEqual([1460, 1460, 80]);
  });

  it('a smaller link MTU lowers both the MSS we advertise and the one we send', () => {
    const h = synReceived({ mtu: 1000, peerSynOptions: mssOnly(1460) });
    expect(mss(960).test(h.ourSynAck)).toBe(null);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK });
    expect(h.conn.sendMss).toBe(960);
  });

  it('timestamps take 12 bytes of every segment: 1448 bytes of data per 1500-byte packet', () => {
    const h = established({ peerSynOptions: linuxSynOptions(1) });
    const sizes = segmentSizes(h, 3000);
    expect(sizes).toEqual([1448, 1448, 104]);
  });

  it('TCP_MAXSEG caps the MSS we advertise on the SYN', () => {
    const h = synSent({ configure: (c) => c.setMaxSegmentSize(1000) });
    expect(mss(1000).test(h.ourSyn)).toBe(null);
  });
});

describe('our SYN’s options, in Linux’s order', () => {
  it('default: MSS, SACK-permitted, timestamps, NOP, window scale 5 (1 MiB buffer)', () => {
    const h = synSent();
    expect(optionKinds(['maxSegmentSize', 'sackPermitted', 'timestamps', 'noOperation', 'windowScale']).test(h.ourSyn)).toBe(null);
    expect(windowScale(5).test(h.ourSyn)).toBe(null);
    expect(timestamps({ tsEcr: 0 }).test(h.ourSyn)).toBe(null);
  });

  it('without SACK: MSS, NOP, NOP, timestamps, NOP, window scale', () => {
    const h = synSent({ tcp: { sack: false } });
    expect(optionKinds(['maxSegmentSize', 'noOperation', 'noOperation', 'timestamps', 'noOperation', 'windowScale']).test(h.ourSyn)).toBe(null);
  });

  it('without timestamps: MSS, NOP, NOP, SACK-permitted, NOP, window scale', () => {
    const h = synSent({ tcp: { timestamps: false } });
    expect(optionKinds(['maxSegmentSize', 'noOperation', 'noOperation', 'sackPermitted', 'noOperation', 'windowScale']).test(h.ourSyn)).toBe(null);
  });

  it('with everything off: MSS only', () => {
    const h = synSent({ tcp: { sack: false, timestamps: false, windowScaling: false } });
    expect(options([{ kind: 'maxSegmentSize', mss: 1460 }]).test(h.ourSyn)).toBe(null);
  });
});

describe('window scale (RFC 7323 §2)', () => {
  it('offered both ways (active open): we scale ours by 5 and theirs by their shift', () => {
    const h = established({ open: 'active', peerSynOptions: [...mssOnly(), ...ws(7)] });
    expect(h.conn.rcvWindowShift).toBe(5);
    expect(h.conn.sndWindowShift).toBe(7);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 32 });
    h.expectSent(flags(ACK), window((1024 * 1024 - 32) / 32));
  });

  it('offered by us only (the SYN-ACK has none): no scaling either way, windows capped at 65535', () => {
    const h = established({ open: 'active', peerSynOptions: mssOnly() });
    expect(h.conn.rcvWindowShift).toBe(0);
    expect(h.conn.sndWindowShift).toBe(0);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10, window: 40000 });
    h.expectSent(flags(ACK), window(65535));
    expect(h.conn.sndWnd).toBe(40000);
  });

  it('offered by the peer only (passive open): the SYN-ACK answers with our shift', () => {
    const h = synReceived({ peerSynOptions: [...mssOnly(), ...ws(2)] });
    expect(windowScale(5).test(h.ourSynAck)).toBe(null);
  });

  it('a SYN without window scale gets a SYN-ACK without it, and nothing is scaled', () => {
    const h = synReceived({ peerSynOptions: mssOnly() });
    expect(windowScale(undefined).test(h.ourSynAck)).toBe(null);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: 1000 });
    expect(h.conn.sndWnd).toBe(1000);
  });

  it('with window scaling turned off, the SYN-ACK carries no window scale even when the peer offers one', () => {
    const h = synReceived({ tcp: { windowScaling: false }, peerSynOptions: [...mssOnly(), ...ws(7)] });
    expect(windowScale(undefined).test(h.ourSynAck)).toBe(null);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: 1000 });
    expect(h.conn.sndWnd).toBe(1000);
  });

  it('a buffer small enough for shift 0 still answers the offer with window scale 0, on every SYN-ACK', () => {
    const h = synReceived({ tcp: { receiveBufferSize: 32768, receiveBufferMax: 32768 }, peerSynOptions: [...mssOnly(), ...ws(7)] });
    expect(windowScale(0).test(h.ourSynAck)).toBe(null);
    // The retransmitted SYN-ACK (RTO) and the answer to a retransmitted SYN say the same.
    h.advance(1000);
    h.expectSent(flags(SYN | ACK), windowScale(0));
    h.send({ seq: h.peerIss, flags: SYN, options: [...mssOnly(), ...ws(7)] });
    h.expectSent(flags(SYN | ACK), windowScale(0));
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: 10 });
    expect(h.conn.sndWnd).toBe(10 << 7);
  });
});

describe('timestamps (RFC 7323 §3)', () => {
  it('negotiated: every segment carries TSval (our clock) and TSecr (TS.Recent)', () => {
    const h = established({ peerSynOptions: linuxSynOptions(1000) });
    h.advance(25);
    h.write(10);
    h.expectSent(flags(ACK | PSH), timestamps({ tsVal: h.ourTsVal(), tsEcr: h.conn.timestamps.recent }));
  });

  it('our clock ticks in milliseconds from a random offset (RFC 7323 §5.4)', () => {
    const h = established({ peerSynOptions: linuxSynOptions(1000) });
    const first = h.ourTsVal();
    h.advance(1234);
    expect((h.ourTsVal() - first) >>> 0).toBe(1234);
    expect(h.conn.timestamps.offset).not.toBe(0);
  });

  it('not offered by the peer: no timestamps on the SYN-ACK or later', () => {
    const h = established({ peerSynOptions: mssOnly() });
    h.write(10);
    h.expectSent(timestamps(undefined), payloadLength(10));
  });

  it('turned off here: no timestamps on the SYN-ACK even when offered', () => {
    const h = synReceived({ tcp: { timestamps: false }, peerSynOptions: linuxSynOptions(1000) });
    expect(timestamps(undefined).test(h.ourSynAck)).toBe(null);
    expect(h.conn.timestamps.enabled).toBe(false);
  });
});

describe('SACK-permitted (RFC 2018 §2)', () => {
  it('offered by the peer: our SYN-ACK permits SACK too, and out-of-order data is SACKed', () => {
    const h = established({ peerSynOptions: [...mssOnly(), ...SACK_PERM] });
    h.send({ seq: h.peerSeq(10), ack: h.ourSeq(0), flags: ACK, payload: 10 });
    h.expectSent(sackBlocks([{ leftEdge: h.peerSeq(10), rightEdge: h.peerSeq(20) }]));
  });

  it('the SYN-ACK of a SACK-only peer: MSS, NOP, NOP, SACK-permitted', () => {
    const h = synReceived({ peerSynOptions: [...mssOnly(), ...SACK_PERM] });
    expect(options([{ kind: 'maxSegmentSize', mss: 1460 }, NOP, NOP, { kind: 'sackPermitted' }]).test(h.ourSynAck)).toBe(null);
  });

  it('turned off here: no SACK-permitted in the SYN-ACK and no SACK blocks later', () => {
    const h = established({ tcp: { sack: false }, peerSynOptions: [...mssOnly(), ...SACK_PERM] });
    h.send({ seq: h.peerSeq(10), ack: h.ourSeq(0), flags: ACK, payload: 10 });
    h.expectSent(sackBlocks([]));
  });

  it('not offered by the peer: SACK blocks from it are ignored', () => {
    const h = established({ peerSynOptions: mssOnly() });
    expect(h.conn.sackEnabled).toBe(false);
    const h2 = synReceived({ peerSynOptions: mssOnly() });
    expect(sackPermitted(false).test(h2.ourSynAck)).toBe(null);
  });
});

describe('ECN negotiation (RFC 3168 §6.1.1)', () => {
  it('an ECN-setup SYN (ECE, CWR) gets an ECN-setup SYN-ACK (ECE)', () => {
    const h = listening();
    h.send({ seq: 1000, flags: SYN | ECE | CWR, options: mssOnly() });
    const synAck = h.take()[0];
    expect(synAck.tcp.flags).toBe(SYN | ACK | ECE);
  });

  it('a plain SYN gets a plain SYN-ACK', () => {
    const h = synReceived();
    expect(flags(SYN | ACK).test(h.ourSynAck)).toBe(null);
    expect(h.conn.ecn.enabled).toBe(false);
  });

  it('active open: a SYN-ACK with ECE turns ECN on; one without leaves it off', () => {
    const h = synSent();
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK | ECE, options: mssOnly() });
    expect(h.conn.ecn.enabled).toBe(true);
    const h2 = synSent();
    h2.send({ seq: 5000, ack: h2.ourSeq(0), flags: SYN | ACK, options: mssOnly() });
    expect(h2.conn.ecn.enabled).toBe(false);
    h2.expectSent(flags(ACK), ack(5001));
  });
});

describe('malformed options (RFC 1122 §4.2.2.5; Linux tcp_parse_options)', () => {
  /** A SYN from the peer carrying `optionBytes` (a multiple of 4) as its options, valid checksum. */
  function synWithOptionBytes(h: TcpHarness, optionBytes: number[]): void {
    const repr: TcpRepr = {
      srcPort: h.peerPort,
      dstPort: h.ourPort,
      seq: h.peerIss,
      ack: 0,
      flags: SYN,
      window: 65535,
      urgentPointer: 0,
      options: [{ kind: 'endOfList', padding: new Uint8Array(optionBytes.length - 1) }],
      payload: new Uint8Array(0),
    };
    const bytes = new Uint8Array(tcpLength(repr));
    emitTcp(repr, bytes, { source: PEER_ADDRESS, destination: OUR_ADDRESS });
    bytes.set(optionBytes, 20);
    const packet = TcpPacket.unchecked(bytes);
    packet.checksum = 0;
    packet.fillChecksum(PEER_ADDRESS, OUR_ADDRESS);
    h.inject(ipv4Frame({ source: PEER_ADDRESS, destination: OUR_ADDRESS, protocol: IpProtocol.TCP, dontFragment: true }, bytes));
  }

  it('a SYN whose last option runs past the header gets a SYN-ACK; the MSS and SACK-permitted before it are honoured', () => {
    const h = listening();
    // MSS 1000, SACK-permitted, then kind 254 claiming 40 octets in a 12-octet option space.
    synWithOptionBytes(h, [2, 4, 0x03, 0xe8, 4, 2, 254, 40, 0, 0, 0, 0]);
    h.expectSent(flags(SYN | ACK), ack(h.peerSeq(0)), sackPermitted(true));
    expect(h.stat('tcp.rx.malformedOption')).toBe(1);
    expect(h.stat('drop.tcp.badOption')).toBe(0);
    const connection = h.stack.tcp.listConnections().find((c) => c.state === 'SYN-RECEIVED')!;
    expect(connection.sendMss).toBe(1000);
  });

  it('a SYN with an MSS option of length 3 gets a SYN-ACK: that option is ignored (536, RFC 9293 §3.7.1), the window scale after it honoured', () => {
    const h = listening();
    synWithOptionBytes(h, [2, 3, 0x05, 1, 3, 3, 7, 0]);
    h.expectSent(flags(SYN | ACK), ack(h.peerSeq(0)), windowScale(5));
    expect(h.stat('tcp.rx.malformedOption')).toBe(1);
    const connection = h.stack.tcp.listConnections().find((c) => c.state === 'SYN-RECEIVED')!;
    expect(connection.sendMss).toBe(536);
    expect(connection.sndWindowShift).toBe(7);
  });
});
