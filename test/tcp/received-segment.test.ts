/**
 * The receiver reads an arriving segment straight from its bytes (segment.ts: receivedSegment,
 * readReceivedOptions) instead of building the codec's option list first. These tests hold that
 * reading to the codec's own lenient parse (parseTcpOptionsLenient, Linux's tcp_parse_options
 * rules) summarised: the same fields, options, SEG.LEN and malformed count for any bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/bytes.js';
import { readReceivedOptions, receivedSegment, summarizeOptions } from '../../src/tcp/segment.js';
import { parseTcpOptionsLenient, TcpOptionKind } from '../../src/tcp/tcp-options.js';
import { parseTcp, segLen, TcpPacket } from '../../src/tcp/tcp-packet.js';

/** What the codec's list gives the receiver: the lenient parse, summarised. */
function throughTheList(bytes: Uint8Array) {
  const lenient = parseTcpOptionsLenient(bytes);
  return summarizeOptions(lenient.options, lenient.malformed);
}

/** One option's bytes: kind, length and data of any size, or a NOP or an End of Option List. */
const optionBytes = fc.oneof(
  fc.constant([TcpOptionKind.NO_OPERATION]),
  fc.constant([TcpOptionKind.END_OF_LIST]),
  fc
    .record({
      kind: fc.constantFrom(2, 3, 4, 5, 8, 30, 254),
      length: fc.oneof(fc.constantFrom(2, 3, 4, 10, 18, 26, 34), fc.integer({ min: 0, max: 40 })),
      fill: fc.integer({ min: 0, max: 0xff }),
    })
    .map(({ kind, length, fill }) => [kind, length, ...Array.from({ length: Math.max(0, length - 2) }, (_, i) => (fill + 37 * i) & 0xff)]),
);
/** Up to 40 bytes of options built from options (well-formed or not), cut at a random point. */
const optionArea = fc
  .tuple(fc.array(optionBytes, { maxLength: 8 }), fc.integer({ min: 0, max: 40 }))
  .map(([options, cut]) => Uint8Array.from(options.flat().slice(0, cut)));

describe('the receiver reads options as the lenient parse does (RFC 9293 §3.1, RFC 7323, RFC 2018; Linux tcp_parse_options)', () => {
  it('agrees with the lenient list summarised on option areas built of options, any lengths, cut anywhere', () => {
    fc.assert(
      fc.property(optionArea, (bytes) => {
        expect(readReceivedOptions(bytes, 0, bytes.length)).toEqual(throughTheList(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(readReceivedOptions(bytes, 0, bytes.length)).toEqual(throughTheList(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a data segment’s NOP NOP Timestamps NOP NOP SACK, the last of a repeated option winning', () => {
    const bytes = fromHex('0101080a 00000011 00000022 0101 050a 00000100 00000200 080a 00000033 00000044');
    expect(readReceivedOptions(bytes, 0, bytes.length)).toEqual({
      mss: undefined,
      windowScale: undefined,
      sackPermitted: false,
      sackBlocks: [{ leftEdge: 0x100, rightEdge: 0x200 }],
      timestamps: { tsVal: 0x33, tsEcr: 0x44 },
      malformed: 0,
    });
  });

  it('counts an MSS of length 3 and a SACK of 2 + 7 octets as malformed and leaves them out', () => {
    const bytes = fromHex('020305 0209 00000000 000000 0402');
    expect(readReceivedOptions(bytes, 0, bytes.length)).toMatchObject({ mss: undefined, sackBlocks: [], sackPermitted: true, malformed: 2 });
  });
});

describe('receivedSegment reads the header as parseTcp does', () => {
  it('gives the fields, payload and SEG.LEN of parseTcp’s lenient Repr, and its options by meaning', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), optionArea, fc.uint8Array({ maxLength: 64 }), (fixed, options, data) => {
        const optionsLength = (options.length + 3) & ~3;
        const bytes = new Uint8Array(20 + optionsLength + data.length);
        bytes.set(fixed);
        bytes[12] = (((20 + optionsLength) / 4) << 4) | (fixed[12] & 0x0f);
        bytes.set(options, 20); // padded with zeros: End of Option List
        bytes.set(data, 20 + optionsLength);
        const packet = TcpPacket.checked(bytes);
        if (!packet.ok) throw new Error('the built segment should check');
        const parsed = parseTcp(packet.value, { verifyChecksum: false, optionParsing: 'lenient' });
        if (!parsed.ok) throw new Error('a lenient parse without checksum should not fail');
        const repr = parsed.value;
        const segment = receivedSegment(packet.value);
        expect(segment).toEqual({
          srcPort: repr.srcPort,
          dstPort: repr.dstPort,
          seq: repr.seq,
          ack: repr.ack,
          flags: repr.flags,
          window: repr.window,
          urgentPointer: repr.urgentPointer,
          payload: repr.payload,
          len: segLen(repr),
          parsed: summarizeOptions(repr.options, repr.malformedOptions),
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('shares one options record among segments with a 20-byte header', () => {
    const header = new Uint8Array(20);
    header[12] = 5 << 4;
    const first = receivedSegment(TcpPacket.unchecked(header));
    const second = receivedSegment(TcpPacket.unchecked(header.slice()));
    expect(first.parsed).toBe(second.parsed);
    expect(first.parsed).toEqual({ mss: undefined, windowScale: undefined, sackPermitted: false, sackBlocks: [], timestamps: undefined, malformed: 0 });
  });
});
