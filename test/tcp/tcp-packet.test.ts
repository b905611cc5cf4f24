import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesEqual, fromHex, toHex } from '../../src/core/bytes.js';
import type { DecodeError } from '../../src/core/decode-error.js';
import type { Result } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { parseIpv4Address, type Ipv4Address } from '../../src/ip/address.js';
import { emitIpv4 } from '../../src/ip/ipv4.js';
import { emitEthernet, EtherType, parseMac } from '../../src/link/ethernet.js';
import { emitTcpOptions, parseTcpOptions, parseTcpOptionsLenient, tcpOptionsLength, TcpOptionKind, type TcpOption } from '../../src/tcp/tcp-options.js';
import {
  emitTcp,
  formatTcpFlags,
  parseTcp,
  segLen,
  TCP_RESERVED_FLAGS,
  TcpFlag,
  tcpHeaderLength,
  tcpLength,
  TcpPacket,
  type TcpPseudoHeader,
  type TcpRepr,
} from '../../src/tcp/tcp-packet.js';

const CLIENT = parseIpv4Address('10.0.0.1')!;
const SERVER = parseIpv4Address('10.0.0.2')!;
const TO_SERVER: TcpPseudoHeader = { source: CLIENT, destination: SERVER };
const TO_CLIENT: TcpPseudoHeader = { source: SERVER, destination: CLIENT };

/** Bytes from hex text in which `#` starts a comment that runs to the end of the line. */
function fixture(text: string): Uint8Array {
  return fromHex(text.replace(/#.*$/gm, ''));
}

// Fixtures written out field by field. Checksums were computed by an independent RFC 1071
// implementation and confirmed "good" by tshark 4.0 (tcp.checksum.status 1).

/** A Linux SYN, options in Linux's order: MSS, SACK permitted, timestamps, NOP, window scale. */
const LINUX_SYN = fixture(`
  b26e 0050                   # source port 45678, destination port 80
  1a2b3c4d                    # sequence number
  00000000                    # acknowledgment number
  a002 faf0                   # data offset 10 (40 bytes), flags SYN; window 64240
  4d94 0000                   # checksum, urgent pointer
  020405b4                    # MSS 1460
  0402                        # SACK permitted
  080a 0001e240 00000000      # timestamps TSval 123456, TSecr 0
  01                          # NOP
  030307                      # window scale 7
`);

/** An ACK carrying timestamps and 3 SACK blocks: 40 option bytes, the largest header; seq near the wrap. */
const SACK_ACK = fixture(`
  0050 b26e                   # source port 80, destination port 45678
  fffffff0                    # sequence number, 16 before the wrap
  1a2b3c4e                    # acknowledgment number
  f010 01f5                   # data offset 15 (60 bytes), flags ACK; window 501
  c0c8 0000                   # checksum, urgent pointer
  01 01 080a 0789abcd 0001e240    # NOP, NOP, timestamps TSval 0x0789abcd, TSecr 123456
  01 01 051a                  # NOP, NOP, SACK of length 26: three blocks
  1a2b4000 1a2b4500           # block 1: left edge, right edge
  1a2b5000 1a2b5800           # block 2
  1a2b6000 1a2b6100           # block 3
`);

/** RST|ACK answering a segment to a closed port: no options, window 0. */
const RST_ACK = fromHex('0050 b26f 00000000 11223345 5014 0000 a4a7 0000');

/** URG|ACK|PSH with 5 bytes of data ("hello", an odd length) and urgent pointer 3. */
const URGENT_DATA = fromHex('b26e 0050 1a2b3c4e 0000abcd 5038 faf0 a7d9 0003 68656c6c6f');

/** An ECN-setup SYN (SYN|ECE|CWR, RFC 3168 §6.1.1) with only an MSS option. */
const ECN_SYN = fromHex('b270 0050 00000001 00000000 60c2 ffff d0a2 0000 020405b4');

function expectOk<T>(result: Result<T, DecodeError>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.reason}: ${result.error.message}`);
  return result.value;
}

function expectReason<T>(result: Result<T, DecodeError>, reason: DecodeError['reason']): DecodeError {
  if (result.ok) throw new Error(`expected ${reason}, got ok`);
  expect(result.error.layer).toBe('tcp');
  expect(result.error.reason).toBe(reason);
  return result.error;
}

function decode(bytes: Uint8Array, pseudoHeader: TcpPseudoHeader): TcpRepr {
  return expectOk(parseTcp(expectOk(TcpPacket.checked(bytes)), pseudoHeader));
}

/** Parses and re-emits; the bytes must come back identical, checksum included. */
function roundTrip(bytes: Uint8Array, pseudoHeader: TcpPseudoHeader): Uint8Array {
  const repr = decode(bytes, pseudoHeader);
  const out = new Uint8Array(tcpLength(repr));
  expect(emitTcp(repr, out, pseudoHeader)).toBe(bytes.length);
  return out;
}

/** A 20-byte header plus `options` (a multiple of 4 bytes), checksum filled for TO_SERVER. */
function withOptions(optionsHex: string, payload = new Uint8Array(0)): Uint8Array {
  const options = fromHex(optionsHex);
  const bytes = new Uint8Array(20 + options.length + payload.length);
  const packet = TcpPacket.unchecked(bytes);
  packet.srcPort = 40000;
  packet.dstPort = 443;
  packet.seq = 1;
  packet.headerLength = 20 + options.length;
  packet.flags = TcpFlag.SYN;
  packet.window = 1024;
  bytes.set(options, 20);
  bytes.set(payload, 20 + options.length);
  packet.fillChecksum(CLIENT, SERVER);
  return bytes;
}

function parseBytes(bytes: Uint8Array, options: Parameters<typeof parseTcp>[1] = TO_SERVER): Result<TcpRepr, DecodeError> {
  const packet = TcpPacket.checked(bytes);
  return packet.ok ? parseTcp(packet.value, options) : packet;
}

describe('TCP header codec (RFC 9293 §3.1)', () => {
  describe('a Linux SYN', () => {
    it('reads every header field from the view', () => {
      const packet = expectOk(TcpPacket.checked(LINUX_SYN));
      expect(packet.srcPort).toBe(45678);
      expect(packet.dstPort).toBe(80);
      expect(packet.seq).toBe(0x1a2b3c4d);
      expect(packet.ack).toBe(0);
      expect(packet.dataOffset).toBe(10);
      expect(packet.headerLength).toBe(40);
      expect(packet.flags).toBe(TcpFlag.SYN);
      expect(packet.synFlag).toBe(true);
      for (const flag of ['finFlag', 'rstFlag', 'pshFlag', 'ackFlag', 'urgFlag', 'eceFlag', 'cwrFlag', 'nsFlag'] as const) {
        expect(packet[flag]).toBe(false);
      }
      expect(packet.reservedBits).toBe(0);
      expect(packet.window).toBe(64240);
      expect(packet.checksum).toBe(0x4d94);
      expect(packet.urgentPointer).toBe(0);
      expect(packet.optionBytes.length).toBe(20);
      expect(packet.payload.length).toBe(0);
      expect(packet.checksumValid(CLIENT, SERVER)).toBe(true);
    });

    it('decodes MSS, SACK permitted, timestamps, NOP and window scale in order', () => {
      const repr = decode(LINUX_SYN, TO_SERVER);
      expect(repr).toEqual({
        srcPort: 45678,
        dstPort: 80,
        seq: 0x1a2b3c4d,
        ack: 0,
        flags: TcpFlag.SYN,
        window: 64240,
        urgentPointer: 0,
        options: [
          { kind: 'maxSegmentSize', mss: 1460 },
          { kind: 'sackPermitted' },
          { kind: 'timestamps', tsVal: 123456, tsEcr: 0 },
          { kind: 'noOperation' },
          { kind: 'windowScale', shiftCount: 7 },
        ],
        payload: new Uint8Array(0),
        malformedOptions: 0, // a strict parse: none
      });
      expect(segLen(repr)).toBe(1); // the SYN occupies one sequence number
    });

    it('round-trips bit-exact', () => {
      expect(toHex(roundTrip(LINUX_SYN, TO_SERVER))).toBe(toHex(LINUX_SYN));
    });

    it('emits the known-good checksum from a repr built by hand', () => {
      const repr: TcpRepr = {
        srcPort: 45678,
        dstPort: 80,
        seq: 0x1a2b3c4d,
        ack: 0,
        flags: TcpFlag.SYN,
        window: 64240,
        urgentPointer: 0,
        options: [
          { kind: 'maxSegmentSize', mss: 1460 },
          { kind: 'sackPermitted' },
          { kind: 'timestamps', tsVal: 123456, tsEcr: 0 },
          { kind: 'noOperation' },
          { kind: 'windowScale', shiftCount: 7 },
        ],
        payload: new Uint8Array(0),
      };
      expect(tcpHeaderLength(repr)).toBe(40);
      const out = new Uint8Array(tcpLength(repr)).fill(0xee); // stale bytes must all be overwritten
      emitTcp(repr, out, TO_SERVER);
      expect(TcpPacket.unchecked(out).checksum).toBe(0x4d94);
      expect(toHex(out)).toBe(toHex(LINUX_SYN));
    });
  });

  describe('an ACK with timestamps and three SACK blocks (RFC 2018 §3)', () => {
    it('reads a 60-byte header and every block edge', () => {
      const packet = expectOk(TcpPacket.checked(SACK_ACK));
      expect(packet.headerLength).toBe(60);
      expect(packet.flags).toBe(TcpFlag.ACK);
      expect(packet.ackFlag).toBe(true);
      expect(packet.window).toBe(501);
      const repr = decode(SACK_ACK, TO_CLIENT);
      expect(repr.seq).toBe(0xfffffff0);
      expect(repr.ack).toBe(0x1a2b3c4e);
      expect(repr.options).toEqual([
        { kind: 'noOperation' },
        { kind: 'noOperation' },
        { kind: 'timestamps', tsVal: 0x0789abcd, tsEcr: 123456 },
        { kind: 'noOperation' },
        { kind: 'noOperation' },
        {
          kind: 'sack',
          blocks: [
            { leftEdge: 0x1a2b4000, rightEdge: 0x1a2b4500 },
            { leftEdge: 0x1a2b5000, rightEdge: 0x1a2b5800 },
            { leftEdge: 0x1a2b6000, rightEdge: 0x1a2b6100 },
          ],
        },
      ]);
      expect(segLen(repr)).toBe(0);
    });

    it('round-trips bit-exact, checksum 0xc0c8', () => {
      const out = roundTrip(SACK_ACK, TO_CLIENT);
      expect(TcpPacket.unchecked(out).checksum).toBe(0xc0c8);
      expect(bytesEqual(out, SACK_ACK)).toBe(true);
    });

    it('fails to verify under a different destination address', () => {
      expect(expectOk(TcpPacket.checked(SACK_ACK)).checksumValid(SERVER, parseIpv4Address('10.0.0.3')!)).toBe(false);
    });

    it('reads and writes its options in place, inside a larger buffer, as in a subarray of their own', () => {
      const optionBytes = SACK_ACK.subarray(20, 60);
      const inPlace = expectOk(parseTcpOptions(SACK_ACK, 20, 60));
      expect(inPlace).toEqual(expectOk(parseTcpOptions(optionBytes)));
      const out = new Uint8Array(60).fill(0xee);
      expect(emitTcpOptions(inPlace, out, 20)).toBe(20 + tcpOptionsLength(inPlace));
      expect(toHex(out.subarray(20, 60))).toBe(toHex(optionBytes));
      expect(out[19]).toBe(0xee);
      // End of Option List keeps what follows it up to the end of the range only.
      const padded = fromHex('0101 0000 ffff');
      expect(expectOk(parseTcpOptions(padded, 0, 4))).toEqual([
        { kind: 'noOperation' },
        { kind: 'noOperation' },
        { kind: 'endOfList', padding: fromHex('00') },
      ]);
    });
  });

  describe('a RST|ACK', () => {
    it('reads flags, acknowledgment and zero window', () => {
      const repr = decode(RST_ACK, TO_CLIENT);
      expect(repr).toEqual({
        srcPort: 80,
        dstPort: 45679,
        seq: 0,
        ack: 0x11223345,
        flags: TcpFlag.RST | TcpFlag.ACK,
        window: 0,
        urgentPointer: 0,
        options: [],
        payload: new Uint8Array(0),
        malformedOptions: 0,
      });
      expect(formatTcpFlags(repr.flags)).toBe('ACK,RST');
    });

    it('round-trips bit-exact, checksum 0xa4a7', () => {
      expect(toHex(roundTrip(RST_ACK, TO_CLIENT))).toBe(toHex(RST_ACK));
    });
  });

  describe('urgent data with an odd-length payload', () => {
    it('reads URG, PSH, the urgent pointer and the data', () => {
      const packet = expectOk(TcpPacket.checked(URGENT_DATA));
      expect(packet.urgFlag && packet.pshFlag && packet.ackFlag).toBe(true);
      expect(packet.urgentPointer).toBe(3);
      expect(new TextDecoder().decode(packet.payload)).toBe('hello');
      const repr = decode(URGENT_DATA, TO_SERVER);
      expect(repr.ack).toBe(0xabcd);
      expect(segLen(repr)).toBe(5);
    });

    it('round-trips bit-exact, checksum 0xa7d9 (the odd byte padded for the sum only)', () => {
      expect(toHex(roundTrip(URGENT_DATA, TO_SERVER))).toBe(toHex(URGENT_DATA));
    });

    it('returns the payload as a view into the segment, not a copy', () => {
      const repr = decode(URGENT_DATA, TO_SERVER);
      expect(repr.payload.buffer).toBe(URGENT_DATA.buffer);
      expect(repr.payload.byteOffset).toBe(URGENT_DATA.byteOffset + 20);
    });
  });

  describe('ECN and reserved flag bits', () => {
    it('reads ECE and CWR on an ECN-setup SYN (RFC 3168 §6.1.1)', () => {
      const packet = expectOk(TcpPacket.checked(ECN_SYN));
      expect(packet.flags).toBe(TcpFlag.SYN | TcpFlag.ECE | TcpFlag.CWR);
      expect(packet.eceFlag && packet.cwrFlag && packet.synFlag).toBe(true);
      expect(formatTcpFlags(packet.flags)).toBe('CWR,ECE,SYN');
      expect(toHex(roundTrip(ECN_SYN, TO_SERVER))).toBe(toHex(ECN_SYN));
    });

    it('keeps the NS bit and the three reserved bits so parse→emit is exact', () => {
      const bytes = withOptions('');
      const packet = TcpPacket.unchecked(bytes);
      packet.flags = TCP_RESERVED_FLAGS | TcpFlag.NS | TcpFlag.ACK | TcpFlag.FIN;
      packet.fillChecksum(CLIENT, SERVER);
      expect(toHex(bytes.subarray(12, 14))).toBe('5f11');
      const view = expectOk(TcpPacket.checked(bytes));
      expect(view.dataOffset).toBe(5);
      expect(view.nsFlag).toBe(true);
      expect(view.reservedBits).toBe(7);
      expect(view.finFlag).toBe(true);
      expect(formatTcpFlags(view.flags)).toBe('Reserved,NS,ACK,FIN');
      const repr = decode(bytes, TO_SERVER);
      expect(repr.flags).toBe(0xf11);
      expect(segLen(repr)).toBe(1);
      expect(toHex(roundTrip(bytes, TO_SERVER))).toBe(toHex(bytes));
    });

    it('names no flags as none', () => {
      expect(formatTcpFlags(0)).toBe('none');
    });
  });

  describe('options', () => {
    it('pads an option list to a multiple of 4 with End of Option List', () => {
      const repr: TcpRepr = {
        srcPort: 80,
        dstPort: 45678,
        seq: 7,
        ack: 0x1a2b3c4e,
        flags: TcpFlag.SYN | TcpFlag.ACK,
        window: 65160,
        urgentPointer: 0,
        options: [
          { kind: 'maxSegmentSize', mss: 1460 },
          { kind: 'windowScale', shiftCount: 14 },
        ],
        payload: new Uint8Array(0),
      };
      expect(tcpHeaderLength(repr)).toBe(28);
      const out = new Uint8Array(tcpLength(repr)).fill(0xee);
      expect(emitTcp(repr, out, TO_CLIENT)).toBe(28);
      expect(toHex(out.subarray(20))).toBe('020405b403030e00');
      expect(out[12] >> 4).toBe(7);
      const parsed = decode(out, TO_CLIENT);
      expect(parsed.options).toEqual([...repr.options, { kind: 'endOfList', padding: new Uint8Array(0) }]);
    });

    it('does not pad a list that already fills whole words', () => {
      const options: TcpOption[] = [{ kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' }];
      expect(tcpHeaderLength({ options })).toBe(24);
    });

    it('keeps bytes after End of Option List as padding, so emit is exact', () => {
      const bytes = withOptions('01 00 ab cd');
      expect(decode(bytes, TO_SERVER).options).toEqual([{ kind: 'noOperation' }, { kind: 'endOfList', padding: fromHex('abcd') }]);
      expect(toHex(roundTrip(bytes, TO_SERVER))).toBe(toHex(bytes));
    });

    it('keeps unknown kinds raw (a TCP Fast Open cookie, kind 34; an experiment, kind 254)', () => {
      const bytes = withOptions('22 0a 0102030405060708  fe 04 f989  0000');
      expect(decode(bytes, TO_SERVER).options).toEqual([
        { kind: 'raw', optionKind: 34, data: fromHex('0102030405060708') },
        { kind: 'raw', optionKind: 254, data: fromHex('f989') },
        { kind: 'endOfList', padding: fromHex('00') },
      ]);
      expect(toHex(roundTrip(bytes, TO_SERVER))).toBe(toHex(bytes));
    });

    it('keeps a window scale above 14 as sent (RFC 7323 §2.3 clamping is the layer’s)', () => {
      const bytes = withOptions('01 03 03 0f');
      expect(decode(bytes, TO_SERVER).options).toContainEqual({ kind: 'windowScale', shiftCount: 15 });
    });

    it('emits one SACK block and four SACK blocks', () => {
      for (const count of [1, 4]) {
        const blocks = Array.from({ length: count }, (_, k) => ({ leftEdge: 0xfffffff0 + k, rightEdge: k }));
        const options: TcpOption[] = [{ kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sack', blocks }];
        const repr: TcpRepr = { ...decode(RST_ACK, TO_CLIENT), flags: TcpFlag.ACK, options };
        const out = new Uint8Array(tcpLength(repr));
        emitTcp(repr, out, TO_CLIENT);
        expect(out[22]).toBe(TcpOptionKind.SACK);
        expect(out[23]).toBe(2 + 8 * count);
        expect(decode(out, TO_CLIENT).options).toEqual(options);
      }
    });

    it('refuses to size a header whose options exceed 40 bytes (a programming error)', () => {
      const blocks = Array.from({ length: 4 }, () => ({ leftEdge: 1, rightEdge: 2 }));
      const options: TcpOption[] = [
        { kind: 'timestamps', tsVal: 1, tsEcr: 2 },
        { kind: 'sack', blocks },
      ];
      expect(() => tcpHeaderLength({ options })).toThrow(RangeError);
    });
  });

  describe('emit', () => {
    it('writes the payload after the header and checksums it', () => {
      const repr: TcpRepr = {
        srcPort: 45678,
        dstPort: 80,
        seq: 0x1a2b3c4e,
        ack: 0xabcd,
        flags: TcpFlag.URG | TcpFlag.ACK | TcpFlag.PSH,
        window: 64240,
        urgentPointer: 3,
        options: [],
        payload: new TextEncoder().encode('hello'),
      };
      const out = new Uint8Array(tcpLength(repr));
      expect(emitTcp(repr, out, TO_SERVER)).toBe(25);
      expect(toHex(out)).toBe(toHex(URGENT_DATA));
    });

    it('accepts a payload already in place in the output buffer (zero-copy)', () => {
      const out = new Uint8Array(25);
      out.set(new TextEncoder().encode('hello'), 20);
      const repr: TcpRepr = { ...decode(URGENT_DATA, TO_SERVER), payload: out.subarray(20) };
      emitTcp(repr, out, TO_SERVER);
      expect(toHex(out)).toBe(toHex(URGENT_DATA));
    });

    it('sends a computed checksum of 0 as 0 and it verifies (TCP has no "no checksum" value)', () => {
      const packet = TcpPacket.unchecked(withOptions(''));
      packet.window = 0;
      packet.fillChecksum(CLIENT, SERVER);
      packet.window = packet.checksum; // adds exactly what the sum lacked to reach all ones
      packet.fillChecksum(CLIENT, SERVER);
      expect(packet.checksum).toBe(0);
      expect(packet.checksumValid(CLIENT, SERVER)).toBe(true);
    });
  });

  describe('view setters', () => {
    it('rewrite fields in place and fillChecksum makes the segment valid again', () => {
      const bytes = LINUX_SYN.slice();
      const packet = expectOk(TcpPacket.checked(bytes));
      packet.window = 29200;
      expect(packet.checksumValid(CLIENT, SERVER)).toBe(false);
      packet.fillChecksum(CLIENT, SERVER);
      expect(packet.checksumValid(CLIENT, SERVER)).toBe(true);
      packet.srcPort = 1;
      packet.dstPort = 2;
      packet.seq = 0xffffffff;
      packet.ack = 0x80000000;
      packet.flags = TcpFlag.SYN | TcpFlag.ACK;
      packet.urgentPointer = 9;
      expect([packet.srcPort, packet.dstPort, packet.seq, packet.ack, packet.flags, packet.urgentPointer]).toEqual([1, 2, 0xffffffff, 0x80000000, 0x012, 9]);
      expect(packet.headerLength).toBe(40); // setting flags leaves the data offset alone
      packet.headerLength = 20;
      expect(packet.flags).toBe(0x012); // and setting the data offset leaves the flags alone
    });
  });

  describe('malformed segments', () => {
    it('a buffer shorter than 20 bytes is truncated', () => {
      expectReason(TcpPacket.checked(new Uint8Array(0)), 'truncated');
      expectReason(TcpPacket.checked(RST_ACK.subarray(0, 19)), 'truncated');
    });

    it('a data offset below 5 is badHeaderLength', () => {
      for (const dataOffset of [0, 1, 4]) {
        const bytes = RST_ACK.slice();
        bytes[12] = (dataOffset << 4) | (bytes[12] & 0x0f);
        expectReason(TcpPacket.checked(bytes), 'badHeaderLength');
      }
    });

    it('a header longer than the buffer is truncated', () => {
      expectReason(TcpPacket.checked(SACK_ACK.subarray(0, 59)), 'truncated');
      expectReason(TcpPacket.checked(LINUX_SYN.subarray(0, 20)), 'truncated');
    });

    it('a flipped bit anywhere is badChecksum', () => {
      for (const at of [0, 5, 13, 17, 30, LINUX_SYN.length - 1]) {
        const bytes = LINUX_SYN.slice();
        bytes[at] ^= 0x10;
        const packet = TcpPacket.checked(bytes);
        if (packet.ok) expectReason(parseTcp(packet.value, TO_SERVER), 'badChecksum');
      }
    });

    it('a pseudo-header with another address is badChecksum', () => {
      const elsewhere = parseIpv4Address('10.0.0.3')!;
      expectReason(parseBytes(LINUX_SYN, { source: CLIENT, destination: elsewhere }), 'badChecksum');
      expectReason(parseBytes(URGENT_DATA, { source: elsewhere, destination: SERVER }), 'badChecksum');
    });

    it('source and destination swapped still verify: the one’s complement sum is commutative', () => {
      expect(parseBytes(LINUX_SYN, TO_CLIENT).ok).toBe(true);
    });

    it('verifyChecksum: false skips the check and still decodes', () => {
      const bytes = LINUX_SYN.slice();
      bytes[16] ^= 0xff;
      expect(expectOk(parseBytes(bytes, { verifyChecksum: false })).window).toBe(64240);
    });

    const badOptions: [string, string][] = [
      ['an option kind with no length octet', '01 01 01 02'],
      ['an option of length 0', '02 00 00 00'],
      ['an option of length 1', 'fe 01 00 00'],
      ['an MSS running past the header', '01 01 02 04'],
      ['timestamps running past the header', '08 0a 00 00  00 00 00 00'],
      ['an unknown option running past the header', '01 fe 07 00'],
      ['an MSS of length 3', '02 03 05 00'],
      ['an MSS of length 5', '02 05 05 b4  00 00 00 00'],
      ['a window scale of length 2', '03 02 00 00'],
      ['a window scale of length 4', '03 04 07 00'],
      ['SACK permitted of length 3', '04 03 00 00'],
      ['a SACK of length 2 (no blocks)', '05 02 00 00'],
      ['a SACK of length 12 (not 2 + 8n)', '05 0c 00000001 00000002 0000  0000'],
      ['a SACK of length 9', '05 09 00000001 00000002 00  000000'],
      ['timestamps of length 8', '08 08 00000001 0000 0000'],
      ['timestamps of length 12', '08 0c 00000001 00000002 0000'],
    ];
    for (const [what, optionsHex] of badOptions) {
      it(`${what} is badOption`, () => {
        const bytes = withOptions(optionsHex);
        expect(expectOk(TcpPacket.checked(bytes)).checksumValid(CLIENT, SERVER)).toBe(true);
        expectReason(parseBytes(bytes), 'badOption');
        expectReason(parseBytes(bytes, { verifyChecksum: false }), 'badOption');
      });
      it(`${what}: lenient parsing (a receiver's, as Linux's tcp_parse_options) decodes the segment and counts it`, () => {
        const parsed = expectOk(parseTcp(expectOk(TcpPacket.checked(withOptions(optionsHex))), { ...TO_SERVER, optionParsing: 'lenient' }));
        expect(parsed.malformedOptions).toBeGreaterThanOrEqual(1); // a SACK of length 9 leaves the next option misaligned too
      });
    }
  });

  describe('lenient option parsing (Linux tcp_parse_options)', () => {
    const MSS_1460: TcpOption = { kind: 'maxSegmentSize', mss: 1460 };
    const lenient = (hex: string) => parseTcpOptionsLenient(fromHex(hex.replace(/\s+/g, '')));
    const NOP: TcpOption = { kind: 'noOperation' };

    it('a length octet missing, below 2, or running past the header ends the parse; the options before it stand', () => {
      expect(lenient('02 04 05 b4  01 01 02 04')).toEqual({ options: [MSS_1460, NOP, NOP], malformed: 1 });
      expect(lenient('02 04 05 b4  fe 01 00 00')).toEqual({ options: [MSS_1460], malformed: 1 });
      expect(lenient('02 04 05 b4  01 01 01 02')).toEqual({ options: [MSS_1460, NOP, NOP, NOP], malformed: 1 });
      expect(lenient('02 04 05 b4  04 00 00 00')).toEqual({ options: [MSS_1460], malformed: 1 });
    });

    it('a known kind with the wrong length is left out (kept raw) and the parse goes on: an MSS of length 3 before a good one', () => {
      const result = lenient('02 03 05  01  02 04 05 b4');
      expect(result.malformed).toBe(1);
      expect(result.options).toEqual([{ kind: 'raw', optionKind: 2, data: fromHex('05') }, NOP, MSS_1460]);
    });

    it('well-formed options parse as the strict codec parses them, with nothing counted', () => {
      const hex = '020405b4 0402 080a 00000001 00000000 01 030307';
      expect(lenient(hex)).toEqual({ options: expectOk(parseTcpOptions(fromHex(hex.replace(/\s+/g, '')))), malformed: 0 });
    });
  });

  describe('fuzzing (seeded)', () => {
    it('parse never throws, and whatever parses re-emits to the same bytes', () => {
      const rng = new Rng(1);
      const seeds = [LINUX_SYN, SACK_ACK, RST_ACK, URGENT_DATA, ECN_SYN];
      let parsed = 0;
      for (let i = 0; i < 4000; i++) {
        let bytes: Uint8Array;
        if (i % 4 === 0) {
          bytes = rng.bytes(rng.nextInt(0, 80));
        } else {
          bytes = seeds[i % seeds.length].slice(0, rng.nextInt(0, 90));
          if (bytes.length < 70 && i % 3 === 0) bytes = Uint8Array.of(...bytes, ...rng.bytes(rng.nextInt(0, 20)));
          const flips = rng.nextInt(1, 6);
          for (let k = 0; k < flips && bytes.length > 0; k++) bytes[rng.nextInt(0, bytes.length)] = rng.nextU32() & 0xff;
          if (bytes.length > 12 && i % 5 === 0) bytes[12] = (rng.nextInt(0, 16) << 4) | (bytes[12] & 0x0f);
        }
        let result: Result<TcpRepr, DecodeError> | undefined;
        expect(() => {
          parseBytes(bytes, TO_SERVER);
          result = parseBytes(bytes, { verifyChecksum: false });
        }).not.toThrow();
        if (!result?.ok) continue;
        parsed++;
        const out = new Uint8Array(tcpLength(result.value));
        emitTcp(result.value, out, TO_SERVER);
        const expected = bytes.slice();
        expected.set(out.subarray(16, 18), 16); // only the checksum may differ
        expect(toHex(out)).toBe(toHex(expected));
        expect(expectOk(TcpPacket.checked(out)).checksumValid(CLIENT, SERVER)).toBe(true);
      }
      expect(parsed).toBeGreaterThan(500); // the loop exercised the emit side too
    });
  });
});

// Optional cross-check: the same fixtures, wrapped in Ethernet and IPv4, decoded by tshark.
const haveTshark =
  spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('text2pcap', ['--version'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!haveTshark)('agreement with tshark', () => {
  it('tshark reads the same fields and calls every checksum good', () => {
    const fixtures: [Uint8Array, Ipv4Address, Ipv4Address][] = [
      [LINUX_SYN, CLIENT, SERVER],
      [SACK_ACK, SERVER, CLIENT],
      [RST_ACK, SERVER, CLIENT],
      [URGENT_DATA, CLIENT, SERVER],
      [ECN_SYN, CLIENT, SERVER],
    ];
    const frames = fixtures.map(([segment, source, destination]) => {
      const frame = new Uint8Array(14 + 20 + segment.length);
      emitEthernet({ destination: parseMac('02:00:00:00:00:02')!, source: parseMac('02:00:00:00:00:01')!, etherType: EtherType.IPV4, vlan: null }, frame);
      emitIpv4(
        {
          dscp: 0,
          ecn: 0,
          identification: 1,
          reservedFlag: false,
          dontFragment: true,
          moreFragments: false,
          fragmentOffset: 0,
          ttl: 64,
          protocol: 6,
          source,
          destination,
          options: [],
          payloadLength: segment.length,
        },
        frame.subarray(14),
      );
      frame.set(segment, 34);
      return frame;
    });
    const dir = mkdtempSync(join(tmpdir(), 'ustack-tcp-'));
    try {
      writeFileSync(join(dir, 'in.txt'), frames.map((f) => `000000 ${toHex(f, ' ')}\n`).join('\n'));
      expect(spawnSync('text2pcap', ['-q', join(dir, 'in.txt'), join(dir, 'out.pcap')]).status).toBe(0);
      const fields = [
        'tcp.srcport',
        'tcp.dstport',
        'tcp.seq_raw',
        'tcp.ack_raw',
        'tcp.hdr_len',
        'tcp.flags',
        'tcp.window_size_value',
        'tcp.checksum.status',
        'tcp.urgent_pointer',
        'tcp.len',
      ];
      const run = spawnSync(
        'tshark',
        [
          '-r',
          join(dir, 'out.pcap'),
          '-o',
          'tcp.check_checksum:TRUE',
          '-o',
          'tcp.analyze_sequence_numbers:FALSE',
          '-T',
          'fields',
          ...fields.flatMap((f) => ['-e', f]),
        ],
        { encoding: 'utf8' },
      );
      const lines = run.stdout.trim().split('\n');
      expect(lines.length).toBe(fixtures.length);
      lines.forEach((line, i) => {
        const packet = expectOk(TcpPacket.checked(fixtures[i][0]));
        expect(line.split('\t')).toEqual([
          String(packet.srcPort),
          String(packet.dstPort),
          String(packet.seq),
          String(packet.ack),
          String(packet.headerLength),
          `0x${packet.flags.toString(16).padStart(4, '0')}`,
          String(packet.window),
          '1', // good
          String(packet.urgentPointer),
          String(packet.payload.length),
        ]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
