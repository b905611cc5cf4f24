import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.js';
import { checksumIsValid, internetChecksum, ipv6PseudoHeaderSum } from '../../src/ip/checksum.js';
import { formatIpv6Address } from '../../src/ip/ipv6-address.js';
import {
  emitIpv6ExtensionHeaders,
  firstNextHeader,
  ipv6ExtensionHeadersLength,
  parseIpv6ExtensionHeaders,
  ParameterProblemCode,
  routerAlertHeader,
  unrecognizedOptionAction,
  type Ipv6ChainError,
  type Ipv6ExtensionHeader,
  type Ipv6HeaderChain,
} from '../../src/ip/ipv6-extension-headers.js';
import { emitIpv6, Ipv6NextHeader, Ipv6Packet, parseIpv6, type Ipv6Repr } from '../../src/ip/ipv6.js';
import type { Result } from '../../src/core/result.js';

/** An echo request fd00:15::1 → fd00:15::2: traffic class 0, flow label 0x9d5b1, hop limit 64, 16 bytes of ICMPv6. */
const PING = fromHex(
  '6009d5b1 0010 3a 40 fd000015000000000000000000000001 fd000015000000000000000000000002' + '8000 756a 0007 0001 0102030405060708'.replace(/ /g, ''),
);

function header(bytes: Uint8Array): Ipv6Repr {
  const packet = Ipv6Packet.checked(bytes);
  if (!packet.ok) throw new Error(packet.error.message);
  const repr = parseIpv6(packet.value);
  if (!repr.ok) throw new Error(repr.error.message);
  return repr.value;
}

function chain(payload: Uint8Array, nextHeader: number): Result<Ipv6HeaderChain, Ipv6ChainError> {
  return parseIpv6ExtensionHeaders(payload, nextHeader);
}

function refusal(result: Result<unknown, Ipv6ChainError>): Ipv6ChainError {
  if (result.ok) throw new Error('expected a refusal');
  return result.error;
}

describe('the IPv6 header (RFC 8200 §3)', () => {
  it('reads every field, flow label (RFC 6437) and traffic class included, and emits the same 40 bytes', () => {
    const repr = header(PING);
    expect(repr).toMatchObject({ dscp: 0, ecn: 0, flowLabel: 0x9d5b1, payloadLength: 16, nextHeader: 58, hopLimit: 64 });
    expect(formatIpv6Address(repr.source)).toBe('fd00:15::1');
    expect(formatIpv6Address(repr.destination)).toBe('fd00:15::2');
    const out = new Uint8Array(40);
    expect(emitIpv6(repr, out)).toBe(40);
    expect(toHex(out)).toBe(toHex(PING.subarray(0, 40)));
  });

  it('keeps DSCP and ECN apart across the nibble boundary', () => {
    const repr: Ipv6Repr = { ...header(PING), dscp: 0x2e, ecn: 3, flowLabel: 0xfffff };
    const out = new Uint8Array(40);
    emitIpv6(repr, out);
    expect(toHex(out.subarray(0, 4))).toBe('6bbfffff');
    const view = Ipv6Packet.checked(concatBytes(out, new Uint8Array(16)));
    if (!view.ok) throw new Error(view.error.message);
    expect([view.value.trafficClass, view.value.dscp, view.value.ecn, view.value.flowLabel]).toEqual([0xbb, 0x2e, 3, 0xfffff]);
    expect(header(concatBytes(out, new Uint8Array(16)))).toEqual(repr);
  });

  it('refuses short buffers, other versions, a payload length past the bytes, a multicast source; allows padding after', () => {
    const reason = (bytes: Uint8Array): string => {
      const packet = Ipv6Packet.checked(bytes);
      if (!packet.ok) return packet.error.reason;
      const repr = parseIpv6(packet.value);
      return repr.ok ? 'ok' : repr.error.reason;
    };
    expect(reason(PING.subarray(0, 39))).toBe('truncated');
    expect(reason(PING.subarray(0, 55))).toBe('truncated');
    const v4 = PING.slice();
    v4[0] = 0x45;
    expect(reason(v4)).toBe('badVersion');
    const multicastSource = PING.slice();
    multicastSource[8] = 0xff;
    expect(reason(multicastSource)).toBe('badField');
    expect(reason(concatBytes(PING, new Uint8Array(6)))).toBe('ok');
    const packet = Ipv6Packet.checked(concatBytes(PING, new Uint8Array(6)));
    if (packet.ok) expect(packet.value.payload.length).toBe(16);
  });

  it('the pseudo-header (RFC 8200 §8.1) makes an ICMPv6 checksum verify', () => {
    const repr = header(PING);
    const message = PING.subarray(40);
    const sum = ipv6PseudoHeaderSum(repr.source, repr.destination, Ipv6NextHeader.ICMPV6, message.length);
    expect(checksumIsValid(message, sum)).toBe(true);
    expect(checksumIsValid(message, ipv6PseudoHeaderSum(repr.source, repr.destination, Ipv6NextHeader.UDP, message.length))).toBe(false);
    const zeroed = message.slice();
    zeroed[2] = zeroed[3] = 0;
    expect(internetChecksum(zeroed, sum)).toBe(0x756a);
  });
});

/** A UDP header of 8 bytes (what follows the chain in these tests). */
const UDP = fromHex('303900350008 0000'.replace(/ /g, ''));

function emitted(headers: Ipv6ExtensionHeader[], upperLayer: number, after = UDP): { bytes: Uint8Array; first: number } {
  const out = new Uint8Array(ipv6ExtensionHeadersLength(headers) + after.length);
  const length = emitIpv6ExtensionHeaders(headers, upperLayer, out);
  out.set(after, length);
  return { bytes: out, first: firstNextHeader(headers, upperLayer) };
}

describe('the extension-header chain (RFC 8200 §4)', () => {
  it('a fixed header that names the upper layer itself makes an empty chain: the upper layer at byte 40, named at byte 6', () => {
    for (const upper of [Ipv6NextHeader.TCP, Ipv6NextHeader.UDP, Ipv6NextHeader.ICMPV6, Ipv6NextHeader.NO_NEXT_HEADER, 253]) {
      for (const payload of [new Uint8Array(0), new Uint8Array(20)]) {
        expect(chain(payload, upper)).toEqual({ ok: true, value: { entries: [], upperLayer: upper, upperLayerOffset: 40, upperLayerPointer: 6 } });
      }
    }
    // Shared between packets, so that no packet's chain can change another's.
    const tcp = chain(new Uint8Array(20), Ipv6NextHeader.TCP);
    expect(Object.isFrozen(tcp) && tcp.ok && Object.isFrozen(tcp.value) && Object.isFrozen(tcp.value.entries)).toBe(true);
  });

  it('reads hop-by-hop, destination options, routing (segments left 0) and fragment headers and writes them back byte for byte', () => {
    const headers: Ipv6ExtensionHeader[] = [
      routerAlertHeader(0),
      {
        kind: 'destinationOptions',
        options: [
          { type: 0x1e, data: Uint8Array.of(1, 2, 3) },
          { type: 0, data: new Uint8Array(0) },
        ],
      },
      { kind: 'routing', routingType: 4, segmentsLeft: 0, data: new Uint8Array(20) },
      { kind: 'fragment', reserved: 0, fragmentOffset: 0, reservedBits: 0, moreFragments: false, identification: 0xdeadbeef },
    ];
    const { bytes, first } = emitted(headers, Ipv6NextHeader.UDP);
    expect(first).toBe(Ipv6NextHeader.HOP_BY_HOP);
    // Router Alert 0 and PadN(0): the bytes MLD reports carry (RFC 3810 §5).
    expect(toHex(bytes.subarray(0, 8))).toBe('3c00050200000100');
    const parsed = chain(bytes, first);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.value.entries.map((e) => [e.header.kind, e.offset, e.length])).toEqual([
      ['hopByHop', 40, 8],
      ['destinationOptions', 48, 8],
      ['routing', 56, 24],
      ['fragment', 80, 8],
    ]);
    expect(parsed.value).toMatchObject({ upperLayer: 17, upperLayerOffset: 88, upperLayerPointer: 80 });
    expect(parsed.value.fragment?.identification).toBe(0xdeadbeef);
    // What was parsed emits the same bytes again, padding options included.
    const again = emitted(
      parsed.value.entries.map((e) => e.header),
      parsed.value.upperLayer,
    );
    expect(toHex(again.bytes)).toBe(toHex(bytes));
  });

  it('the option type high bits decide an unknown option (RFC 8200 §4.2)', () => {
    expect([0x1e, 0x5e, 0x9e, 0xde].map(unrecognizedOptionAction)).toEqual(['skip', 'discard', 'discardAndReport', 'discardAndReportUnlessMulticast']);
    const withOption = (type: number) => emitted([{ kind: 'destinationOptions', options: [{ type, data: Uint8Array.of(0, 0) }] }], Ipv6NextHeader.UDP);
    expect(chain(withOption(0x1e).bytes, 60).ok).toBe(true);
    expect(refusal(chain(withOption(0x5e).bytes, 60))).toMatchObject({ reason: 'unsupported' });
    expect(refusal(chain(withOption(0x5e).bytes, 60)).parameterProblem).toBeUndefined();
    expect(refusal(chain(withOption(0x9e).bytes, 60)).parameterProblem).toEqual({
      code: ParameterProblemCode.UNRECOGNIZED_OPTION,
      pointer: 42,
      unlessMulticast: false,
    });
    expect(refusal(chain(withOption(0xde).bytes, 60)).parameterProblem).toEqual({ code: 2, pointer: 42, unlessMulticast: true });
    // The Jumbo Payload option (RFC 2675) is not supported: 11, so a Parameter Problem unless multicast.
    expect(refusal(chain(withOption(0xc2).bytes, 60)).parameterProblem?.code).toBe(2);
    // Router Alert is recognized in a Hop-by-Hop header only (RFC 2711); its 00 bits skip it elsewhere.
    expect(chain(emitted([{ kind: 'destinationOptions', options: [{ type: 5, data: Uint8Array.of(0, 0) }] }], 17).bytes, 60).ok).toBe(true);
  });

  it('refuses a Routing header with segments left, type 0 included (RFC 5095 §3), pointing at Routing Type; ignores it with none left', () => {
    for (const routingType of [0, 2, 4, 253]) {
      const { bytes } = emitted([{ kind: 'routing', routingType, segmentsLeft: 1, data: new Uint8Array(20) }], 17);
      const error = refusal(chain(bytes, 43));
      expect(error.reason).toBe('unsupported');
      expect(error.parameterProblem).toEqual({ code: ParameterProblemCode.ERRONEOUS_HEADER_FIELD, pointer: 42, unlessMulticast: false });
      if (routingType === 0) expect(error.message).toContain('RFC 5095');
      const ignored = emitted([{ kind: 'routing', routingType, segmentsLeft: 0, data: new Uint8Array(20) }], 17);
      expect(chain(ignored.bytes, 43).ok).toBe(true);
    }
  });

  it('refuses Hop-by-Hop anywhere but first (RFC 8200 §4.1), pointing at the Next Header that names it', () => {
    const { bytes } = emitted([{ kind: 'destinationOptions', options: [] }, routerAlertHeader(0)], 17);
    const error = refusal(chain(bytes, 60));
    expect(error.reason).toBe('badField');
    expect(error.parameterProblem).toEqual({ code: ParameterProblemCode.UNRECOGNIZED_NEXT_HEADER, pointer: 40, unlessMulticast: false });
  });

  it('refuses options that overrun, too much padding and PadN with data (RFC 4942 §2.1.9.5), silently', () => {
    const overrun = fromHex('1100 1e09 00000000'.replace(/ /g, ''));
    const padding = fromHex('1100 0000 00000000 00000000 00000000'.replace(/ /g, '').slice(0, 32));
    const dirtyPadN = fromHex('1100 0104 00010000'.replace(/ /g, ''));
    for (const bytes of [overrun, concatBytes(padding.subarray(0, 1), Uint8Array.of(1), new Uint8Array(14)), dirtyPadN]) {
      const error = refusal(chain(concatBytes(bytes, UDP), 60));
      expect(error.reason).toBe('badOption');
      expect(error.parameterProblem).toBeUndefined();
    }
  });

  it('refuses a header past the payload; in a first fragment as an incomplete chain (RFC 7112 §5, code 3)', () => {
    const { bytes } = emitted([routerAlertHeader(0)], 17);
    expect(refusal(chain(bytes.subarray(0, 7), 0)).reason).toBe('truncated');
    expect(refusal(chain(bytes.subarray(0, 7), 0)).parameterProblem).toBeUndefined();
    const firstFragment = emitted(
      [
        { kind: 'fragment', reserved: 0, fragmentOffset: 0, reservedBits: 0, moreFragments: true, identification: 1 },
        { kind: 'destinationOptions', options: [{ type: 0x1e, data: new Uint8Array(12) }] },
      ],
      17,
      new Uint8Array(0),
    );
    const cut = concatBytes(firstFragment.bytes.subarray(0, 16));
    const error = refusal(chain(cut, 44));
    expect(error.parameterProblem).toEqual({ code: ParameterProblemCode.INCOMPLETE_HEADER_CHAIN, pointer: 0, unlessMulticast: false });
    // The whole chain but 16 of TCP's 20 bytes (with M set the fragment is a multiple of 8): still incomplete.
    const fragmentThenTcp = (length: number) =>
      emitted([{ kind: 'fragment', reserved: 0, fragmentOffset: 0, reservedBits: 0, moreFragments: true, identification: 1 }], 6, new Uint8Array(length)).bytes;
    expect(refusal(chain(fragmentThenTcp(16), 44)).parameterProblem?.code).toBe(ParameterProblemCode.INCOMPLETE_HEADER_CHAIN);
    expect(chain(fragmentThenTcp(24), 44).ok).toBe(true);
  });

  it('refuses fragments whose length is not a multiple of 8 with M set, or that end past 65535 (RFC 8200 §4.5)', () => {
    const fragment = (fragmentOffset: number, moreFragments: boolean, length: number) =>
      emitted([{ kind: 'fragment', reserved: 0, fragmentOffset, reservedBits: 0, moreFragments, identification: 7 }], 17, new Uint8Array(length)).bytes;
    expect(refusal(chain(fragment(8, true, 12), 44)).parameterProblem).toEqual({ code: 0, pointer: 4, unlessMulticast: false });
    expect(chain(fragment(8, false, 12), 44).ok).toBe(true); // the last fragment may be any length
    expect(refusal(chain(fragment(65528, false, 16), 44)).parameterProblem).toEqual({ code: 0, pointer: 42, unlessMulticast: false });
    expect(chain(fragment(65520, false, 15), 44).ok).toBe(true); // 65535 exactly
    // The unfragmentable headers before the Fragment header count too: 8 + 65520 + 15 > 65535.
    const behindOptions = emitted(
      [
        { kind: 'destinationOptions', options: [] },
        { kind: 'fragment', reserved: 0, fragmentOffset: 65520, reservedBits: 0, moreFragments: false, identification: 7 },
      ],
      17,
      new Uint8Array(15),
    ).bytes;
    expect(refusal(chain(behindOptions, 60)).parameterProblem).toEqual({ code: 0, pointer: 50, unlessMulticast: false });
    // An atomic fragment (offset 0, M clear: RFC 8021) is a whole packet.
    const atomic = chain(fragment(0, false, 8), 44);
    expect(atomic.ok && atomic.value.fragment).toMatchObject({ fragmentOffset: 0, moreFragments: false });
  });

  it('ends the chain after the Fragment header of a fragment other than the first: what follows is data (RFC 8200 §4.5)', () => {
    // The Fragment header names Destination Options (60); in a later fragment the bytes after it
    // are the middle of the fragmentable part — here an option type 0xc2 with a length past the
    // header, which read as options would be refused.
    const data = fromHex('11 00 c2 ff 00 00 00 00 01 02 03 04 05 06 07 08'.replace(/ /g, ''));
    const later = emitted([{ kind: 'fragment', reserved: 0, fragmentOffset: 16, reservedBits: 0, moreFragments: false, identification: 9 }], 60, data).bytes;
    const parsed = chain(later, 44);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect([parsed.value.entries.length, parsed.value.upperLayer, parsed.value.upperLayerOffset]).toEqual([1, 60, 48]);
    expect(parsed.value.fragment?.fragmentOffset).toBe(16);
    // The first fragment of the same packet is read through its Destination Options header.
    const first = emitted([{ kind: 'fragment', reserved: 0, fragmentOffset: 0, reservedBits: 0, moreFragments: true, identification: 9 }], 60, data).bytes;
    expect(chain(first, 44).ok).toBe(false);
  });

  it('stops at the upper layer and at headers it does not read (AH, ESP, unknown), naming them', () => {
    for (const protocol of [6, 17, 58, 59, 50, 51, 135, 253]) {
      const parsed = chain(UDP, protocol);
      expect(parsed.ok && [parsed.value.upperLayer, parsed.value.upperLayerOffset, parsed.value.upperLayerPointer]).toEqual([protocol, 40, 6]);
    }
  });

  it('never throws on any bytes', () => {
    let seed = 15;
    for (let n = 0; n < 2000; n++) {
      const bytes = new Uint8Array(n % 64);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      for (const first of [0, 43, 44, 60]) {
        const result = chain(bytes, first);
        if (!result.ok) expect(result.error.layer).toBe('ipv6');
      }
    }
  });
});
