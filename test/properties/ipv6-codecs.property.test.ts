/**
 * Properties of the IPv6 codecs, checked with fast-check as codecs.property.test.ts checks the
 * IPv4 ones:
 *
 *   - parse ∘ emit = identity for the IPv6 header and every ICMPv6 message kind (NDP with its
 *     options, MLDv1 and MLDv2), and emit → parse → emit gives the same bytes for extension-header
 *     chains (whose padding emit adds);
 *   - emit writes exactly the bytes its length function announces, nothing before or after;
 *   - any bytes at all give a Result — a value or a DecodeError with a known reason — never an
 *     exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DECODE_REASONS, type DecodeError } from '../../src/core/decode-error.js';
import type { Result } from '../../src/core/result.js';
import { emitIcmpv6, Icmpv6Packet, icmpv6Length, parseIcmpv6, type Icmpv6Repr } from '../../src/ip/icmpv6.js';
import {
  emitIpv6ExtensionHeaders,
  firstNextHeader,
  ipv6ExtensionHeadersLength,
  parseIpv6ExtensionHeaders,
  type Ipv6ExtensionHeader,
} from '../../src/ip/ipv6-extension-headers.js';
import { emitIpv6, Ipv6Packet, parseIpv6, type Ipv6Repr } from '../../src/ip/ipv6.js';
import type { MldAddressRecord } from '../../src/ip/mld.js';
import type { NdpOption } from '../../src/ip/ndp.js';

const RUNS = { numRuns: 300 };
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const address = fc.uint8Array({ minLength: 16, maxLength: 16 });
const unicast = address.map((bytes) => {
  const out = bytes.slice();
  if (out[0] === 0xff) out[0] = 0xfe;
  return out;
});
/** Bytes whose length is 8n + `remainder` (at most `units` units). */
const padded = (remainder: number, units = 3) =>
  fc.integer({ min: 0, max: units }).chain((n) => fc.uint8Array({ minLength: 8 * n + remainder, maxLength: 8 * n + remainder }));
const source = unicast;
const destination = address;

const SENTINEL = 0xa5;

/** Calls `emit` on a view inside a sentinel-filled buffer; checks nothing outside [0, length) changed. */
function emitFenced(length: number, emit: (out: Uint8Array) => number): Uint8Array {
  const before = 7;
  const buffer = new Uint8Array(before + length + 21).fill(SENTINEL);
  const view = buffer.subarray(before, before + length + 16);
  expect(emit(view)).toBe(length);
  for (let i = 0; i < before; i++) expect(buffer[i]).toBe(SENTINEL);
  for (let i = before + length; i < buffer.length; i++) expect(buffer[i]).toBe(SENTINEL);
  return buffer.slice(before, before + length);
}

function expectResult(result: Result<unknown, DecodeError>): void {
  if (!result.ok) expect(Object.keys(DECODE_REASONS)).toContain(result.error.reason);
}

const ipv6Repr: fc.Arbitrary<Ipv6Repr> = fc.record({
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  payloadLength: fc.integer({ min: 0, max: 64 }),
  nextHeader: u8,
  hopLimit: u8,
  source: unicast,
  destination,
});

/** Options a receiver skips (high bits 00, RFC 8200 §4.2), no padding: emit adds what is needed. */
const skippedOption = fc.record({ type: fc.integer({ min: 2, max: 0x3f }), data: fc.uint8Array({ maxLength: 12 }) });
const extensionHeader: fc.Arbitrary<Ipv6ExtensionHeader> = fc.oneof(
  fc.record({ kind: fc.constant('destinationOptions' as const), options: fc.array(skippedOption, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('routing' as const), routingType: u8, segmentsLeft: fc.constant(0), data: padded(4) }),
  fc.record({
    kind: fc.constant('fragment' as const),
    reserved: u8,
    fragmentOffset: fc.constant(0),
    reservedBits: fc.integer({ min: 0, max: 3 }),
    moreFragments: fc.constant(false),
    identification: u32,
  }),
);
const chain = fc
  .tuple(fc.option(fc.array(skippedOption, { maxLength: 3 }), { nil: undefined }), fc.array(extensionHeader, { maxLength: 4 }))
  .map(([hopByHop, rest]) => (hopByHop === undefined ? rest : [{ kind: 'hopByHop' as const, options: hopByHop }, ...rest]));

const ndpOption: fc.Arbitrary<NdpOption> = fc.oneof(
  fc.record({ kind: fc.constantFrom('sourceLinkLayerAddress' as const, 'targetLinkLayerAddress' as const), address: padded(6, 1) }),
  fc.record({
    kind: fc.constant('prefixInformation' as const),
    prefixLength: fc.integer({ min: 0, max: 128 }),
    onLink: fc.boolean(),
    autonomous: fc.boolean(),
    otherFlags: fc.integer({ min: 0, max: 0x3f }),
    validLifetime: u32,
    preferredLifetime: u32,
    reserved: u32,
    prefix: address,
  }),
  fc.record({ kind: fc.constant('redirectedHeader' as const), reserved: fc.uint8Array({ minLength: 6, maxLength: 6 }), packet: padded(0) }),
  fc.record({ kind: fc.constant('mtu' as const), reserved: u16, mtu: u32 }),
  fc.record({ kind: fc.constant('other' as const), type: fc.integer({ min: 6, max: 255 }), data: padded(6) }),
);
const options = fc.array(ndpOption, { maxLength: 4 });
const quoted = fc.uint8Array({ maxLength: 64 });
const mldRecord: fc.Arbitrary<MldAddressRecord> = fc.record({
  recordType: u8,
  multicastAddress: address,
  sources: fc.array(address, { maxLength: 3 }),
  auxiliaryData: fc.integer({ min: 0, max: 2 }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n })),
});

const icmpv6Repr: fc.Arbitrary<Icmpv6Repr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const), identifier: u16, sequence: u16, data: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ kind: fc.constantFrom('destinationUnreachable' as const, 'timeExceeded' as const), code: u8, quoted }),
  fc.record({ kind: fc.constant('packetTooBig' as const), code: u8, mtu: u32, quoted }),
  fc.record({ kind: fc.constant('parameterProblem' as const), code: u8, pointer: u32, quoted }),
  fc.record({ kind: fc.constant('routerSolicitation' as const), reserved: u32, options }),
  fc.record({
    kind: fc.constant('routerAdvertisement' as const),
    currentHopLimit: u8,
    managedAddressConfiguration: fc.boolean(),
    otherConfiguration: fc.boolean(),
    otherFlags: fc.integer({ min: 0, max: 0x3f }),
    routerLifetime: u16,
    reachableTime: u32,
    retransTimer: u32,
    options,
  }),
  fc.record({ kind: fc.constant('neighborSolicitation' as const), reserved: u32, target: unicast, options }),
  fc.record({
    kind: fc.constant('neighborAdvertisement' as const),
    router: fc.boolean(),
    solicited: fc.boolean(),
    override: fc.boolean(),
    reserved: fc.integer({ min: 0, max: 0x1fffffff }),
    target: unicast,
    options,
  }),
  fc.record({ kind: fc.constant('redirect' as const), reserved: u32, target: address, destination: unicast, options }),
  fc.record({
    kind: fc.constant('mldQuery' as const),
    version: fc.constant(2 as const),
    maximumResponseCode: u16,
    reserved: u16,
    multicastAddress: address,
    flagsReserved: fc.integer({ min: 0, max: 15 }),
    suppressRouterProcessing: fc.boolean(),
    robustness: fc.integer({ min: 0, max: 7 }),
    queryIntervalCode: u8,
    sources: fc.array(address, { maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('mldQuery' as const),
    version: fc.constant(1 as const),
    maximumResponseCode: u16,
    reserved: u16,
    multicastAddress: address,
    flagsReserved: fc.constant(0),
    suppressRouterProcessing: fc.constant(false),
    robustness: fc.constant(0),
    queryIntervalCode: fc.constant(0),
    sources: fc.constant([]),
  }),
  fc.record({ kind: fc.constantFrom('mldv1Report' as const, 'mldv1Done' as const), maximumResponseDelay: u16, reserved: u16, multicastAddress: address }),
  fc.record({ kind: fc.constant('mldv2Report' as const), reserved: u16, records: fc.array(mldRecord, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('other' as const), type: fc.integer({ min: 5, max: 127 }), code: u8, body: fc.uint8Array({ maxLength: 32 }) }),
);

describe('IPv6 codec properties (fast-check)', () => {
  it('IPv6 header: parse ∘ emit = identity; emit writes exactly 40 bytes', () => {
    fc.assert(
      fc.property(ipv6Repr, (repr) => {
        const packet = new Uint8Array(40 + repr.payloadLength);
        packet.set(emitFenced(40, (out) => emitIpv6(repr, out)));
        const view = Ipv6Packet.checked(packet);
        if (!view.ok) throw new Error(view.error.message);
        expect(parseIpv6(view.value)).toEqual({ ok: true, value: repr });
      }),
      RUNS,
    );
  });

  it('extension-header chains: emit → parse → emit gives the same bytes, the same kinds in order, and the upper layer', () => {
    fc.assert(
      fc.property(chain, u8, (headers, upperLayer) => {
        fc.pre(upperLayer !== 0 && upperLayer !== 43 && upperLayer !== 44 && upperLayer !== 60);
        const bytes = emitFenced(ipv6ExtensionHeadersLength(headers), (out) => emitIpv6ExtensionHeaders(headers, upperLayer, out));
        const parsed = parseIpv6ExtensionHeaders(bytes, firstNextHeader(headers, upperLayer));
        if (!parsed.ok) throw new Error(parsed.error.message);
        expect(parsed.value.entries.map((e) => e.header.kind)).toEqual(headers.map((h) => h.kind));
        expect(parsed.value.upperLayer).toBe(upperLayer);
        expect(parsed.value.upperLayerOffset).toBe(40 + bytes.length);
        const again = new Uint8Array(bytes.length);
        emitIpv6ExtensionHeaders(
          parsed.value.entries.map((e) => e.header),
          upperLayer,
          again,
        );
        expect(again).toEqual(bytes);
      }),
      RUNS,
    );
  });

  it('ICMPv6: parse ∘ emit = identity for every message kind, NDP options and MLD records included; emit writes exactly icmpv6Length bytes', () => {
    fc.assert(
      fc.property(icmpv6Repr, source, destination, (repr, from, to) => {
        const bytes = emitFenced(icmpv6Length(repr), (out) => emitIcmpv6(repr, out, from, to));
        const view = Icmpv6Packet.checked(bytes);
        if (!view.ok) throw new Error(view.error.message);
        expect(parseIcmpv6(view.value, { source: from, destination: to })).toEqual({ ok: true, value: repr });
      }),
      RUNS,
    );
  });

  it('any bytes give a Result, never an exception: the header, the chain from any first header, ICMPv6 with and without its checksum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), u8, (bytes, first) => {
        const header = Ipv6Packet.checked(bytes);
        expectResult(header);
        if (header.ok) expectResult(parseIpv6(header.value));
        expectResult(parseIpv6ExtensionHeaders(bytes, first));
        for (const start of [0, 43, 44, 60]) expectResult(parseIpv6ExtensionHeaders(bytes, start));
        const message = Icmpv6Packet.checked(bytes);
        expectResult(message);
        if (message.ok) {
          const zero = new Uint8Array(16);
          expectResult(parseIcmpv6(message.value, { source: zero, destination: zero }));
          expectResult(parseIcmpv6(message.value, { source: zero, destination: zero, verifyChecksum: false }));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('ICMPv6 messages of every type, cut or with bytes changed, still give a Result', () => {
    fc.assert(
      fc.property(icmpv6Repr, fc.nat(), fc.array(fc.tuple(fc.nat(), u8), { maxLength: 4 }), (repr, cut, changes) => {
        const zero = new Uint8Array(16);
        const bytes = new Uint8Array(icmpv6Length(repr));
        emitIcmpv6(repr, bytes, zero, zero);
        for (const [at, value] of changes) bytes[at % bytes.length] = value;
        const message = Icmpv6Packet.checked(bytes.subarray(0, cut % (bytes.length + 1)));
        expectResult(message);
        if (message.ok) expectResult(parseIcmpv6(message.value, { source: zero, destination: zero, verifyChecksum: false }));
      }),
      { numRuns: 1000 },
    );
  });
});
