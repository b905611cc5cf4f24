import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import type { DecodeError } from '../../src/core/decode-error.js';
import type { Result } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { internetChecksum } from '../../src/ip/checksum.js';
import { DestinationUnreachableCode, emitIcmpv4, Icmpv4Packet, icmpv4Length, parseIcmpv4, parseQuotedDatagram, type Icmpv4Repr } from '../../src/ip/icmpv4.js';
import { addr } from '../support/packets.js';

/** Echo request, identifier 0x1234, sequence 7, 9 bytes of data "abcdefghi" (odd length). */
const ECHO_REQUEST = fromHex('0800eb2e12340007616263646566676869');
/** Fragmentation needed, next-hop MTU 576, quoting a 1028-byte UDP datagram 10.0.0.1 → 10.0.1.2. */
const FRAGMENTATION_NEEDED = fromHex('0304c64d0000024045000404111140003f1111d60a0000010a0001023039003504000000');

function parse(bytes: Uint8Array): Icmpv4Repr {
  const packet = Icmpv4Packet.checked(bytes);
  if (!packet.ok) throw new Error(packet.error.message);
  const repr = parseIcmpv4(packet.value);
  if (!repr.ok) throw new Error(repr.error.message);
  return repr.value;
}

function emit(repr: Icmpv4Repr): Uint8Array {
  const out = new Uint8Array(icmpv4Length(repr));
  expect(emitIcmpv4(repr, out)).toBe(out.length);
  return out;
}

/** A message with the given header bytes and data, checksum filled. */
function message(type: number, code: number, word: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  out[0] = type;
  out[1] = code;
  new DataView(out.buffer).setUint32(4, word >>> 0);
  out.set(data, 8);
  const sum = internetChecksum(out);
  out[2] = sum >> 8;
  out[3] = sum & 0xff;
  return out;
}

function reasonOf(result: Result<unknown, DecodeError>): string {
  return result.ok ? 'ok' : result.error.reason;
}

const QUOTED = FRAGMENTATION_NEEDED.subarray(8);

describe('ICMPv4 messages (RFC 792)', () => {
  it('decodes an echo request and emits the same bytes (odd-length data checksummed with a pad octet)', () => {
    const repr = parse(ECHO_REQUEST);
    expect(repr).toEqual({ kind: 'echoRequest', identifier: 0x1234, sequence: 7, data: new TextEncoder().encode('abcdefghi') });
    expect(toHex(emit(repr))).toBe(toHex(ECHO_REQUEST));
  });

  it('an echo reply differs from its request only in type and checksum', () => {
    const request = parse(ECHO_REQUEST);
    if (request.kind !== 'echoRequest') throw new Error('not an echo request');
    const reply = emit({ ...request, kind: 'echoReply' });
    expect(reply[0]).toBe(0);
    expect(toHex(reply.subarray(4))).toBe(toHex(ECHO_REQUEST.subarray(4)));
    // RFC 1624: type 8 → 0 changes the sum by 0x0800.
    expect(((reply[2] << 8) | reply[3]) - ((ECHO_REQUEST[2] << 8) | ECHO_REQUEST[3])).toBe(0x0800);
    expect(parse(reply).kind).toBe('echoReply');
  });

  it('decodes fragmentation needed with the next-hop MTU in the low half of the word (RFC 1191 §4)', () => {
    const repr = parse(FRAGMENTATION_NEEDED);
    expect(repr).toEqual({ kind: 'destinationUnreachable', code: DestinationUnreachableCode.FRAGMENTATION_NEEDED, nextHopMtu: 576, quoted: QUOTED });
    expect(toHex(emit(repr))).toBe(toHex(FRAGMENTATION_NEEDED));
    const packet = Icmpv4Packet.checked(FRAGMENTATION_NEEDED);
    expect(packet.ok && packet.value.nextHopMtu).toBe(576);
  });

  it('decodes every destination unreachable code 0–15 and emits each exactly', () => {
    for (let code = 0; code <= 15; code++) {
      const nextHopMtu = code === DestinationUnreachableCode.FRAGMENTATION_NEEDED ? 1280 : 0;
      const bytes = message(3, code, nextHopMtu, QUOTED);
      const repr = parse(bytes);
      expect(repr).toEqual({ kind: 'destinationUnreachable', code, nextHopMtu, quoted: QUOTED });
      expect(toHex(emit(repr))).toBe(toHex(bytes));
    }
  });

  it('decodes time exceeded in transit (code 0) and in reassembly (code 1)', () => {
    for (const code of [0, 1]) {
      const bytes = message(11, code, 0, QUOTED);
      const repr = parse(bytes);
      expect(repr).toEqual({ kind: 'timeExceeded', code, quoted: QUOTED });
      expect(toHex(emit(repr))).toBe(toHex(bytes));
    }
  });

  it('decodes parameter problem with the pointer in the first octet of the word', () => {
    const bytes = message(12, 0, 0x09000000, QUOTED);
    const repr = parse(bytes);
    expect(repr).toEqual({ kind: 'parameterProblem', code: 0, pointer: 9, quoted: QUOTED });
    expect(toHex(emit(repr))).toBe(toHex(bytes));
  });

  it('decodes a redirect with its gateway address', () => {
    const bytes = message(5, 1, addr('10.0.0.254'), QUOTED);
    const repr = parse(bytes);
    expect(repr).toEqual({ kind: 'redirect', code: 1, gateway: addr('10.0.0.254'), quoted: QUOTED });
    expect(toHex(emit(repr))).toBe(toHex(bytes));
  });

  it('keeps unusual messages as "other" so that emit reproduces every bit', () => {
    const cases: Array<[string, Uint8Array]> = [
      ['echo with a non-zero code', message(8, 1, 0x00010002, fromHex('aa'))],
      ['destination unreachable with an RFC 4884 length in the unused octets', message(3, 1, 0x00200000, QUOTED)],
      ['time exceeded with unused bits set', message(11, 0, 1, QUOTED)],
      ['parameter problem with bits after the pointer', message(12, 0, 0x14000001, QUOTED)],
      ['timestamp request (type 13)', message(13, 0, 0x00050006, new Uint8Array(12))],
      ['an unassigned type', message(99, 7, 0xdeadbeef, fromHex('0102'))],
    ];
    for (const [name, bytes] of cases) {
      const repr = parse(bytes);
      expect(repr.kind, name).toBe('other');
      expect(toHex(emit(repr)), name).toBe(toHex(bytes));
    }
    expect(parse(cases[5][1])).toEqual({ kind: 'other', type: 99, code: 7, restOfHeader: 0xdeadbeef, data: fromHex('0102') });
  });

  it('refuses fewer than 8 bytes as truncated and a wrong checksum as badChecksum', () => {
    expect(reasonOf(Icmpv4Packet.checked(ECHO_REQUEST.subarray(0, 7)))).toBe('truncated');
    const corrupt = ECHO_REQUEST.slice();
    corrupt[16] ^= 0x01;
    const packet = Icmpv4Packet.checked(corrupt);
    expect(packet.ok).toBe(true);
    if (!packet.ok) return;
    expect(packet.value.checksumValid).toBe(false);
    expect(reasonOf(parseIcmpv4(packet.value))).toBe('badChecksum');
    expect(reasonOf(parseIcmpv4(packet.value, { verifyChecksum: false }))).toBe('ok');
  });

  it('seeded fuzz: random messages never throw, and every accepted one round-trips exactly', () => {
    const rng = new Rng(792);
    for (let round = 0; round < 5000; round++) {
      const type = [0, 3, 5, 8, 11, 12, rng.nextInt(0, 256)][rng.nextInt(0, 7)];
      const bytes = message(type, rng.nextInt(0, 3) === 0 ? rng.nextInt(0, 256) : 0, rng.nextInt(0, 2) ? 0 : rng.nextU32(), rng.bytes(rng.nextInt(0, 40)));
      const repr = parse(bytes);
      expect(toHex(emit(repr))).toBe(toHex(bytes));
    }
  });
});

describe('the datagram quoted in an ICMP error', () => {
  it('gives the original addresses, protocol, identification and the first payload bytes', () => {
    const quoted = parseQuotedDatagram(QUOTED);
    expect(quoted.ok).toBe(true);
    if (!quoted.ok) return;
    expect(quoted.value.source).toBe(addr('10.0.0.1'));
    expect(quoted.value.destination).toBe(addr('10.0.1.2'));
    expect(quoted.value.protocol).toBe(17);
    expect(quoted.value.identification).toBe(0x1111);
    expect(quoted.value.headerLength).toBe(20);
    // The UDP header: 12345 → 53. Total Length says 1028 though only 28 bytes were quoted.
    expect(toHex(quoted.value.payload)).toBe('3039003504000000');
  });

  it('accepts a quoted header with options and no payload at all', () => {
    const withOptions = fromHex('46000018 00050000 01023ac4 0a000001 e0000016 94040000');
    const quoted = parseQuotedDatagram(withOptions);
    expect(quoted.ok && quoted.value.headerLength).toBe(24);
    expect(quoted.ok && quoted.value.payload.length).toBe(0);
  });

  it('refuses a quote without a whole IPv4 header', () => {
    expect(reasonOf(parseQuotedDatagram(QUOTED.subarray(0, 19)))).toBe('truncated');
    const v6 = QUOTED.slice();
    v6[0] = 0x65;
    expect(reasonOf(parseQuotedDatagram(v6))).toBe('badVersion');
    const longIhl = QUOTED.slice();
    longIhl[0] = 0x48;
    expect(reasonOf(parseQuotedDatagram(longIhl))).toBe('badHeaderLength');
    const shortIhl = QUOTED.slice();
    shortIhl[0] = 0x44;
    expect(reasonOf(parseQuotedDatagram(shortIhl))).toBe('badHeaderLength');
  });
});
