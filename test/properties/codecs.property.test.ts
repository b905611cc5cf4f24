/**
 * Properties of the codecs, checked with fast-check over generated Reprs and bytes:
 *
 *   - parse ∘ emit = identity for IPv4 (with options), ICMPv4, UDP, TCP (with options), Ethernet
 *     (with and without an 802.1Q tag) and ARP;
 *   - emit writes exactly the bytes its length function announces: into a view that sits inside a
 *     larger buffer filled with a sentinel, nothing before the view or past the announced length
 *     changes;
 *   - any bytes at all (random, or a valid frame truncated) give a Result — a typed DecodeError or
 *     a value — never an exception; a frame cut short of its declared lengths is an error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecodeError, DecodeReason } from '../../src/core/decode-error.js';
import type { Result } from '../../src/core/result.js';
import { emitIcmpv4, Icmpv4Packet, icmpv4Length, parseIcmpv4, type Icmpv4Repr } from '../../src/ip/icmpv4.js';
import { emitIpv4, ipv4HeaderLength, Ipv4Packet, parseIpv4, type Ipv4Repr } from '../../src/ip/ipv4.js';
import { ipv4OptionsLength, type Ipv4Option } from '../../src/ip/ipv4-options.js';
import { ArpPacket, ARP_PACKET_LENGTH, emitArp, parseArp, type ArpRepr } from '../../src/link/arp.js';
import { emitEthernet, ethernetHeaderLength, EthernetFrame, EtherType, parseEthernet, type EthernetRepr } from '../../src/link/ethernet.js';
import { tcpOptionsLength, type TcpOption } from '../../src/tcp/tcp-options.js';
import { emitTcp, parseTcp, tcpLength, TcpPacket, type TcpRepr } from '../../src/tcp/tcp-packet.js';
import { emitUdp, parseUdp, udpLength, UdpPacket, type UdpRepr } from '../../src/udp/udp-packet.js';

const RUNS = { numRuns: 300 };
const REASONS: readonly DecodeReason[] = [
  'truncated',
  'badVersion',
  'badHeaderLength',
  'badTotalLength',
  'badChecksum',
  'badOption',
  'badField',
  'unsupported',
];

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const address = u32;
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
const bytes = (maxLength: number) => fc.uint8Array({ maxLength });

/** Pads an option list to a multiple of 4 with an End of Option List carrying zero padding (what emit writes anyway). */
function padded<T>(options: T[], length: number, endOfList: (padding: Uint8Array) => T): T[] {
  if (length % 4 === 0) return options;
  return [...options, endOfList(new Uint8Array((4 - ((length + 1) % 4)) % 4))];
}

// ---- arbitraries -------------------------------------------------------------------------------

const ipv4Option: fc.Arbitrary<Ipv4Option> = fc.oneof(
  fc.constant({ kind: 'noOperation' } as const),
  fc.record({ kind: fc.constant('recordRoute' as const), pointer: u8, route: fc.array(address, { minLength: 1, maxLength: 4 }) }),
  fc.integer({ min: 0, max: 2 }).chain((which) => {
    const flag = [0, 1, 3][which];
    const entry = flag === 0 ? fc.record({ timestamp: u32 }) : fc.record({ address, timestamp: u32 });
    return fc.record({
      kind: fc.constant('timestamp' as const),
      pointer: u8,
      overflow: fc.integer({ min: 0, max: 15 }),
      flag: fc.constant(flag),
      entries: fc.array(entry, { minLength: 1, maxLength: 3 }),
    });
  }),
  fc.record({ kind: fc.constant('raw' as const), type: u8.filter((t) => ![0, 1, 7, 68].includes(t)), data: bytes(6) }),
);

const ipv4Options = fc
  .array(ipv4Option, { maxLength: 4 })
  .filter((options) => ipv4OptionsLength(options) <= 39)
  .map((options) => padded<Ipv4Option>(options, ipv4OptionsLength(options), (padding) => ({ kind: 'endOfList', padding })));

const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc.record({
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  identification: u16,
  reservedFlag: fc.boolean(),
  dontFragment: fc.boolean(),
  moreFragments: fc.boolean(),
  fragmentOffset: fc.integer({ min: 0, max: 0x1fff }).map((units) => units * 8),
  ttl: u8,
  protocol: u8,
  source: address,
  destination: address,
  options: ipv4Options,
  payloadLength: fc.integer({ min: 0, max: 200 }),
});

const tcpOption: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant({ kind: 'noOperation' } as const),
  fc.record({ kind: fc.constant('maxSegmentSize' as const), mss: u16 }),
  fc.record({ kind: fc.constant('windowScale' as const), shiftCount: u8 }),
  fc.constant({ kind: 'sackPermitted' } as const),
  fc.record({ kind: fc.constant('sack' as const), blocks: fc.array(fc.record({ leftEdge: u32, rightEdge: u32 }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('timestamps' as const), tsVal: u32, tsEcr: u32 }),
  fc.record({ kind: fc.constant('raw' as const), optionKind: u8.filter((k) => ![0, 1, 2, 3, 4, 5, 8].includes(k)), data: bytes(8) }),
);

const tcpOptions = fc
  .array(tcpOption, { maxLength: 5 })
  .filter((options) => tcpOptionsLength(options) <= 39)
  .map((options) => padded<TcpOption>(options, tcpOptionsLength(options), (padding) => ({ kind: 'endOfList', padding })));

const tcpRepr: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0xfff }),
  window: u16,
  urgentPointer: u16,
  options: tcpOptions,
  payload: bytes(300),
});

const udpRepr: fc.Arbitrary<UdpRepr> = fc.record({ sourcePort: u16, destinationPort: u16, payload: bytes(300) });

const KNOWN_ICMP_TYPES = [0, 3, 5, 8, 11, 12];
const icmpRepr: fc.Arbitrary<Icmpv4Repr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echoRequest' as const, 'echoReply' as const), identifier: u16, sequence: u16, data: bytes(100) }),
  fc.record({ kind: fc.constant('destinationUnreachable' as const), code: u8, nextHopMtu: u16, quoted: bytes(100) }),
  fc.record({ kind: fc.constant('timeExceeded' as const), code: u8, quoted: bytes(100) }),
  fc.record({ kind: fc.constant('parameterProblem' as const), code: u8, pointer: u8, quoted: bytes(100) }),
  fc.record({ kind: fc.constant('redirect' as const), code: u8, gateway: address, quoted: bytes(100) }),
  fc.record({ kind: fc.constant('other' as const), type: u8.filter((t) => !KNOWN_ICMP_TYPES.includes(t)), code: u8, restOfHeader: u32, data: bytes(100) }),
);

const ethernetRepr: fc.Arbitrary<EthernetRepr> = fc
  .record({
    destination: mac,
    source: mac,
    etherType: u16,
    vlan: fc.option(fc.record({ priority: fc.integer({ min: 0, max: 7 }), dropEligible: fc.boolean(), vlanId: fc.integer({ min: 0, max: 4095 }) })),
  })
  .filter((repr) => repr.vlan !== null || repr.etherType !== EtherType.VLAN);

const arpRepr: fc.Arbitrary<ArpRepr> = fc.record({
  operation: u16,
  senderHardwareAddress: mac,
  senderProtocolAddress: address,
  targetHardwareAddress: mac,
  targetProtocolAddress: address,
});

const pseudo = fc.record({ source: address, destination: address });

// ---- helpers -----------------------------------------------------------------------------------

const SENTINEL = 0xa5;

/**
 * Calls `emit` on a view of `length + slack` bytes that starts `before` bytes into a buffer
 * filled with a sentinel; returns the emitted bytes after checking that nothing outside
 * [before, before + length) changed and that emit reported `length`.
 */
function emitFenced(length: number, emit: (out: Uint8Array) => number | void, expectReturn = true): Uint8Array {
  const before = 7;
  const slack = 16;
  const buffer = new Uint8Array(before + length + slack + 5).fill(SENTINEL);
  const view = buffer.subarray(before, before + length + slack);
  const written = emit(view);
  if (expectReturn) expect(written).toBe(length);
  for (let i = 0; i < before; i++) expect(buffer[i], `byte ${i - before} before the view`).toBe(SENTINEL);
  for (let i = before + length; i < buffer.length; i++) expect(buffer[i], `byte ${i - before - length} past the announced length`).toBe(SENTINEL);
  return buffer.slice(before, before + length);
}

/** A Result from untrusted bytes: never thrown, and a failure is a typed DecodeError. */
function expectResult<T>(result: Result<T, DecodeError>): void {
  expect(typeof result.ok).toBe('boolean');
  if (!result.ok) {
    expect(REASONS).toContain(result.error.reason);
    expect(typeof result.error.layer).toBe('string');
    expect(typeof result.error.message).toBe('string');
  }
}

/** Every decoder, from raw bytes to a Result (the view's check, then the parse). */
const DECODERS: ReadonlyArray<readonly [string, (bytes: Uint8Array) => Result<unknown, DecodeError>]> = [
  ['ipv4', (b) => chain(Ipv4Packet.checked(b), (p) => parseIpv4(p))],
  ['tcp', (b) => chain(TcpPacket.checked(b), (p) => parseTcp(p, { source: 0x0a000001, destination: 0x0a000002 }))],
  ['tcp (no checksum)', (b) => chain(TcpPacket.checked(b), (p) => parseTcp(p, { verifyChecksum: false }))],
  ['udp', (b) => chain(UdpPacket.checked(b), (p) => parseUdp(p, { source: 0x0a000001, destination: 0x0a000002 }))],
  ['icmpv4', (b) => chain(Icmpv4Packet.checked(b), (p) => parseIcmpv4(p))],
  ['icmpv4 (no checksum)', (b) => chain(Icmpv4Packet.checked(b), (p) => parseIcmpv4(p, { verifyChecksum: false }))],
  ['ethernet', (b) => chain(EthernetFrame.checked(b), (f) => parseEthernet(f))],
  ['arp', (b) => chain(ArpPacket.checked(b), (p) => parseArp(p))],
];

function chain<A, B>(first: Result<A, DecodeError>, next: (a: A) => Result<B, DecodeError>): Result<B, DecodeError> {
  return first.ok ? next(first.value) : first;
}

// ---- properties --------------------------------------------------------------------------------

describe('codec properties (fast-check)', () => {
  it('IPv4: parse ∘ emit = identity, options included; emit writes exactly ipv4HeaderLength bytes', () => {
    fc.assert(
      fc.property(ipv4Repr, (repr) => {
        const headerLength = ipv4HeaderLength(repr);
        const header = emitFenced(headerLength, (out) => emitIpv4(repr, out));
        const packet = new Uint8Array(headerLength + repr.payloadLength);
        packet.set(header);
        const checked = Ipv4Packet.checked(packet);
        expect(checked.ok).toBe(true);
        const parsed = parseIpv4((checked as { value: Ipv4Packet }).value);
        expect(parsed).toEqual({ ok: true, value: repr });
      }),
      RUNS,
    );
  });

  it('TCP: parse ∘ emit = identity, options included, checksum verifying over the pseudo-header; emit writes exactly tcpLength bytes', () => {
    fc.assert(
      fc.property(tcpRepr, pseudo, (repr, addresses) => {
        const bytes = emitFenced(tcpLength(repr), (out) => emitTcp(repr, out, addresses));
        const checked = TcpPacket.checked(bytes);
        expect(checked.ok).toBe(true);
        expect(parseTcp((checked as { value: TcpPacket }).value, addresses)).toEqual({ ok: true, value: { ...repr, malformedOptions: 0 } });
      }),
      RUNS,
    );
  });

  it('UDP: parse ∘ emit = identity, checksum verifying; emit writes exactly udpLength bytes', () => {
    fc.assert(
      fc.property(udpRepr, pseudo, (repr, addresses) => {
        const bytes = emitFenced(udpLength(repr), (out) => emitUdp(repr, out, addresses));
        const checked = UdpPacket.checked(bytes);
        expect(checked.ok).toBe(true);
        expect(parseUdp((checked as { value: UdpPacket }).value, addresses)).toEqual({ ok: true, value: repr });
      }),
      RUNS,
    );
  });

  it('ICMPv4: parse ∘ emit = identity for every message kind; emit writes exactly icmpv4Length bytes', () => {
    fc.assert(
      fc.property(icmpRepr, (repr) => {
        const bytes = emitFenced(icmpv4Length(repr), (out) => emitIcmpv4(repr, out));
        const checked = Icmpv4Packet.checked(bytes);
        expect(checked.ok).toBe(true);
        expect(parseIcmpv4((checked as { value: Icmpv4Packet }).value)).toEqual({ ok: true, value: repr });
      }),
      RUNS,
    );
  });

  it('Ethernet: parse ∘ emit = identity, tagged and untagged; emit writes exactly ethernetHeaderLength bytes', () => {
    fc.assert(
      fc.property(ethernetRepr, (repr) => {
        const bytes = emitFenced(ethernetHeaderLength(repr), (out) => emitEthernet(repr, out));
        const checked = EthernetFrame.checked(bytes);
        expect(checked.ok).toBe(true);
        expect(parseEthernet((checked as { value: EthernetFrame }).value)).toEqual({ ok: true, value: repr });
      }),
      RUNS,
    );
  });

  it('ARP: parse ∘ emit = identity; emit writes exactly 28 bytes', () => {
    fc.assert(
      fc.property(arpRepr, (repr) => {
        const bytes = emitFenced(ARP_PACKET_LENGTH, (out) => emitArp(repr, out));
        const checked = ArpPacket.checked(bytes);
        expect(checked.ok).toBe(true);
        expect(parseArp((checked as { value: ArpPacket }).value)).toEqual({ ok: true, value: repr });
      }),
      RUNS,
    );
  });

  it('random bytes: every decoder returns a Result (a typed DecodeError or a value), never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (input) => {
        for (const [, decode] of DECODERS) expectResult(decode(input));
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes shaped like headers (IPv4 version 4, plausible lengths): still a Result, never a throw', () => {
    const shaped = fc.tuple(fc.integer({ min: 0, max: 15 }), u16, fc.uint8Array({ minLength: 20, maxLength: 120 })).map(([ihl, totalLength, body]) => {
      const out = body.slice();
      out[0] = 0x40 | ihl;
      out[2] = totalLength >> 8;
      out[3] = totalLength & 0xff;
      out[12] = (out[12] & 0x0f) | (ihl << 4); // a TCP data offset too, when read as TCP
      return out;
    });
    fc.assert(
      fc.property(shaped, (input) => {
        for (const [, decode] of DECODERS) expectResult(decode(input));
      }),
      { numRuns: 2000 },
    );
  });

  it('truncations of valid frames: a typed error when cut short of a declared length, never a throw', () => {
    fc.assert(
      fc.property(ipv4Repr, tcpRepr, udpRepr, icmpRepr, arpRepr, ethernetRepr, fc.nat(), (ip, tcp, udp, icmp, arp, ethernet, cut) => {
        const addresses = { source: 0x0a000001, destination: 0x0a000002 };
        const ipBytes = new Uint8Array(ipv4HeaderLength(ip) + ip.payloadLength);
        emitIpv4(ip, ipBytes);
        const tcpBytes = new Uint8Array(tcpLength(tcp));
        emitTcp(tcp, tcpBytes, addresses);
        const udpBytes = new Uint8Array(udpLength(udp));
        emitUdp(udp, udpBytes, addresses);
        const icmpBytes = new Uint8Array(icmpv4Length(icmp));
        emitIcmpv4(icmp, icmpBytes);
        const arpBytes = new Uint8Array(ARP_PACKET_LENGTH);
        emitArp(arp, arpBytes);
        const ethernetBytes = new Uint8Array(ethernetHeaderLength(ethernet));
        emitEthernet(ethernet, ethernetBytes);
        const cases: Array<[Uint8Array, (b: Uint8Array) => Result<unknown, DecodeError>, number]> = [
          // [bytes, decoder, the shortest prefix that must still decode]
          [ipBytes, DECODERS[0][1], ipBytes.length],
          [tcpBytes, DECODERS[2][1], tcpBytes.length - tcp.payload.length],
          [udpBytes, (b) => chain(UdpPacket.checked(b), (p) => parseUdp(p, addresses)), udpBytes.length],
          [icmpBytes, (b) => chain(Icmpv4Packet.checked(b), (p) => parseIcmpv4(p, { verifyChecksum: false })), 8],
          [arpBytes, DECODERS[7][1], ARP_PACKET_LENGTH],
          [ethernetBytes, DECODERS[6][1], ethernetBytes.length],
        ];
        for (const [full, decode, needed] of cases) {
          const length = cut % (full.length + 1);
          const result = decode(full.subarray(0, length));
          expectResult(result);
          if (length < needed) expect(result.ok, `${length} of ${full.length} bytes`).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
