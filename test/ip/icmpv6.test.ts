import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import type { DecodeError } from '../../src/core/decode-error.js';
import type { Result } from '../../src/core/result.js';
import { emitIcmpv6, Icmpv6Packet, icmpv6Length, parseIcmpv6, type Icmpv6Repr } from '../../src/ip/icmpv6.js';
import { parseIpv6Address } from '../../src/ip/ipv6-address.js';
import { checkMldIpHeader, MldRecordType, mldMaximumResponseDelay, mldQueryInterval } from '../../src/ip/mld.js';
import { checkNdpIpHeader, type NdpRepr } from '../../src/ip/ndp.js';

const a = (text: string): Uint8Array => parseIpv6Address(text)!;
const SOURCE = a('fe80::1');
const DESTINATION = a('fe80::2');
const MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 1);

function emit(repr: Icmpv6Repr, source = SOURCE, destination = DESTINATION): Uint8Array {
  const out = new Uint8Array(icmpv6Length(repr));
  expect(emitIcmpv6(repr, out, source, destination)).toBe(out.length);
  return out;
}

function parse(bytes: Uint8Array, source = SOURCE, destination = DESTINATION): Result<Icmpv6Repr, DecodeError> {
  const packet = Icmpv6Packet.checked(bytes);
  if (!packet.ok) return packet;
  return parseIcmpv6(packet.value, { source, destination });
}

function reason(result: Result<unknown, DecodeError>): string {
  return result.ok ? 'ok' : `${result.error.layer}.${result.error.reason}`;
}

/** `bytes` with byte `at` set to `value` and the checksum filled again. */
function patched(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice();
  out[at] = value;
  return refill(out);
}

function refill(bytes: Uint8Array): Uint8Array {
  return emit({ kind: 'other', type: bytes[0], code: bytes[1], body: bytes.subarray(4) });
}

const ROUTER_ADVERTISEMENT: NdpRepr = {
  kind: 'routerAdvertisement',
  currentHopLimit: 64,
  managedAddressConfiguration: true,
  otherConfiguration: false,
  otherFlags: 0x08, // Prf high (RFC 4191 §2.2)
  routerLifetime: 1800,
  reachableTime: 30000,
  retransTimer: 1000,
  options: [
    { kind: 'sourceLinkLayerAddress', address: MAC },
    { kind: 'mtu', reserved: 0, mtu: 1280 },
    {
      kind: 'prefixInformation',
      prefixLength: 64,
      onLink: true,
      autonomous: true,
      otherFlags: 0,
      validLifetime: 0xffffffff,
      preferredLifetime: 604800,
      reserved: 0,
      prefix: a('fd00:7::'),
    },
    { kind: 'other', type: 25, data: new Uint8Array(14) }, // RDNSS (RFC 8106), kept verbatim
  ],
};

describe('ICMPv6 (RFC 4443)', () => {
  it('every message kind emits and parses back to itself, the checksum over the pseudo-header (§2.3)', () => {
    const quoted = new Uint8Array(48).fill(0x60, 0, 1);
    const reprs: Icmpv6Repr[] = [
      { kind: 'echoRequest', identifier: 0x1234, sequence: 7, data: Uint8Array.of(1, 2, 3) },
      { kind: 'echoReply', identifier: 0x1234, sequence: 7, data: new Uint8Array(0) },
      { kind: 'destinationUnreachable', code: 4, quoted },
      { kind: 'packetTooBig', code: 0, mtu: 1280, quoted },
      { kind: 'timeExceeded', code: 1, quoted },
      { kind: 'parameterProblem', code: 2, pointer: 42, quoted },
      { kind: 'routerSolicitation', reserved: 0, options: [{ kind: 'sourceLinkLayerAddress', address: MAC }] },
      ROUTER_ADVERTISEMENT,
      { kind: 'neighborSolicitation', reserved: 0, target: a('fe80::2'), options: [{ kind: 'sourceLinkLayerAddress', address: MAC }] },
      {
        kind: 'neighborAdvertisement',
        router: true,
        solicited: true,
        override: false,
        reserved: 0,
        target: a('fe80::2'),
        options: [{ kind: 'targetLinkLayerAddress', address: MAC }],
      },
      {
        kind: 'redirect',
        reserved: 0,
        target: a('fe80::9'),
        destination: a('2001:db8::5'),
        options: [{ kind: 'redirectedHeader', reserved: new Uint8Array(6), packet: quoted }],
      },
      {
        kind: 'mldQuery',
        version: 2,
        maximumResponseCode: 10000,
        reserved: 0,
        multicastAddress: a('ff02::1:2345'),
        flagsReserved: 0,
        suppressRouterProcessing: true,
        robustness: 2,
        queryIntervalCode: 125,
        sources: [a('2001:db8::1'), a('2001:db8::2')],
      },
      {
        kind: 'mldQuery',
        version: 1,
        maximumResponseCode: 10000,
        reserved: 0,
        multicastAddress: a('::'),
        flagsReserved: 0,
        suppressRouterProcessing: false,
        robustness: 0,
        queryIntervalCode: 0,
        sources: [],
      },
      { kind: 'mldv1Report', maximumResponseDelay: 0, reserved: 0, multicastAddress: a('ff02::1:2345') },
      { kind: 'mldv1Done', maximumResponseDelay: 0, reserved: 0, multicastAddress: a('ff02::1:2345') },
      {
        kind: 'mldv2Report',
        reserved: 0,
        records: [
          { recordType: MldRecordType.CHANGE_TO_EXCLUDE_MODE, multicastAddress: a('ff02::1:2345'), sources: [], auxiliaryData: new Uint8Array(0) },
          {
            recordType: MldRecordType.ALLOW_NEW_SOURCES,
            multicastAddress: a('ff0e::1'),
            sources: [a('2001:db8::1')],
            auxiliaryData: Uint8Array.of(1, 2, 3, 4),
          },
        ],
      },
      { kind: 'other', type: 200, code: 3, body: Uint8Array.of(9, 9) },
    ];
    for (const repr of reprs) {
      const bytes = emit(repr);
      const parsed = parse(bytes);
      if (!parsed.ok) throw new Error(`${repr.kind}: ${parsed.error.message}`);
      expect(parsed.value, repr.kind).toEqual(repr);
      expect(toHex(emit(parsed.value)), repr.kind).toBe(toHex(bytes));
    }
  });

  it('the NDP and MLD wire layouts (RFC 4861 §4.2, §4.6.2; RFC 3810 §5.2)', () => {
    const ra = emit(ROUTER_ADVERTISEMENT);
    expect(toHex(ra.subarray(4, 16))).toBe('40880708000075300000' + '03e8');
    expect(toHex(ra.subarray(16, 24))).toBe('0101020000000001'); // SLLA, length 1
    expect(toHex(ra.subarray(24, 32))).toBe('0501000000000500'); // MTU 1280
    expect(toHex(ra.subarray(32, 48))).toBe('030440c0ffffffff00093a8000000000'); // prefix information, L and A
    const report = emit({
      kind: 'mldv2Report',
      reserved: 0,
      records: [{ recordType: 4, multicastAddress: a('ff02::1:2345'), sources: [], auxiliaryData: new Uint8Array(0) }],
    });
    expect(toHex(report.subarray(4))).toBe('00000001' + '04000000' + 'ff020000000000000000000000012345');
  });

  it('a wrong checksum, or one over another pseudo-header, is refused (badChecksum)', () => {
    const bytes = emit({ kind: 'echoRequest', identifier: 1, sequence: 1, data: new Uint8Array(0) });
    expect(reason(parse(bytes))).toBe('ok');
    expect(reason(parse(bytes, SOURCE, a('fe80::3')))).toBe('icmpv6.badChecksum');
    bytes[3] ^= 1;
    expect(reason(parse(bytes))).toBe('icmpv6.badChecksum');
  });

  it('short messages are refused (truncated); unused bits set keep a message verbatim as other', () => {
    expect(reason(parse(new Uint8Array(3)))).toBe('icmpv6.truncated');
    for (const type of [1, 2, 3, 4, 128, 129]) expect(reason(parse(refill(Uint8Array.of(type, 0, 0, 0, 0, 0))))).toBe('icmpv6.truncated');
    const unreachable = emit({ kind: 'destinationUnreachable', code: 4, quoted: new Uint8Array(8) });
    const parsed = parse(patched(unreachable, 5, 1));
    expect(parsed.ok && parsed.value.kind).toBe('other');
    const echo = emit({ kind: 'echoRequest', identifier: 1, sequence: 1, data: new Uint8Array(0) });
    const coded = parse(patched(echo, 1, 1));
    expect(coded.ok && coded.value.kind).toBe('other');
  });
});

describe('Neighbor Discovery validity (RFC 4861 §6.1, §7.1, §8.1)', () => {
  const ns: NdpRepr = { kind: 'neighborSolicitation', reserved: 0, target: a('fe80::2'), options: [{ kind: 'sourceLinkLayerAddress', address: MAC }] };

  it('refuses a code other than 0, a short body, options of length 0 or past the end, multicast targets', () => {
    const bytes = emit(ns);
    expect(reason(parse(patched(bytes, 1, 1)))).toBe('ndp.badField');
    expect(reason(parse(refill(bytes.slice(0, 20))))).toBe('ndp.truncated');
    expect(reason(parse(patched(bytes, 25, 0)))).toBe('ndp.badOption');
    expect(reason(parse(patched(bytes, 25, 2)))).toBe('ndp.badOption');
    expect(reason(parse(refill(Uint8Array.of(...bytes, 1))))).toBe('ndp.badOption');
    expect(reason(parse(emit({ ...ns, target: a('ff02::1') })))).toBe('ndp.badField');
    const redirect = emit({ kind: 'redirect', reserved: 0, target: a('fe80::9'), destination: a('ff02::1'), options: [] });
    expect(reason(parse(redirect))).toBe('ndp.badField');
  });

  it('keeps a prefix information or MTU option of the wrong length verbatim', () => {
    const bytes = emit({ kind: 'routerSolicitation', reserved: 0, options: [{ kind: 'other', type: 5, data: new Uint8Array(14) }] });
    const parsed = parse(bytes);
    expect(parsed.ok && parsed.value.kind === 'routerSolicitation' && parsed.value.options[0].kind).toBe('other');
  });

  it('the IP-header checks: hop limit 255, link-local sources, DAD from ::, S only to unicast', () => {
    const ip = (hopLimit: number, source: string, destination: string) => ({ hopLimit, source: a(source), destination: a(destination) });
    expect(checkNdpIpHeader(ns, ip(255, 'fe80::1', 'ff02::1:ff00:2')).ok).toBe(true);
    expect(reason(checkNdpIpHeader(ns, ip(254, 'fe80::1', 'ff02::1:ff00:2')))).toBe('ndp.badField');
    expect(reason(checkNdpIpHeader(ns, ip(255, '::', 'ff02::1:ff00:2')))).toBe('ndp.badField'); // SLLA from ::
    expect(checkNdpIpHeader({ ...ns, options: [] }, ip(255, '::', 'ff02::1:ff00:2')).ok).toBe(true);
    expect(reason(checkNdpIpHeader({ ...ns, options: [] }, ip(255, '::', 'fe80::2')))).toBe('ndp.badField');
    expect(reason(checkNdpIpHeader(ROUTER_ADVERTISEMENT, ip(255, 'fd00::1', 'ff02::1')))).toBe('ndp.badField');
    expect(checkNdpIpHeader(ROUTER_ADVERTISEMENT, ip(255, 'fe80::1', 'ff02::1')).ok).toBe(true);
    const na: NdpRepr = { kind: 'neighborAdvertisement', router: false, solicited: true, override: true, reserved: 0, target: a('fe80::2'), options: [] };
    expect(reason(checkNdpIpHeader(na, ip(255, 'fe80::2', 'ff02::1')))).toBe('ndp.badField');
    expect(checkNdpIpHeader({ ...na, solicited: false }, ip(255, 'fe80::2', 'ff02::1')).ok).toBe(true);
  });
});

describe('MLD (RFC 3810)', () => {
  it('reads the exponential codes of §5.1.3 and §5.1.9', () => {
    expect(mldMaximumResponseDelay(10000)).toBe(10000);
    expect(mldMaximumResponseDelay(0x8000)).toBe(0x1000 << 3);
    expect(mldMaximumResponseDelay(0xffff)).toBe(0x1fff << 10);
    expect(mldQueryInterval(125)).toBe(125);
    expect(mldQueryInterval(0x80)).toBe(0x10 << 3);
    expect(mldQueryInterval(0xff)).toBe(0x1f << 10);
  });

  it('refuses queries of no version’s length, counts past the end, bytes after the last record', () => {
    const query = emit({
      kind: 'mldQuery',
      version: 2,
      maximumResponseCode: 1,
      reserved: 0,
      multicastAddress: a('::'),
      flagsReserved: 0,
      suppressRouterProcessing: false,
      robustness: 2,
      queryIntervalCode: 125,
      sources: [a('2001:db8::1')],
    });
    expect(reason(parse(refill(query.slice(0, 26))))).toBe('mld.badTotalLength');
    expect(reason(parse(refill(query.slice(0, 20))))).toBe('mld.truncated');
    expect(reason(parse(refill(query.slice(0, 40))))).toBe('mld.truncated');
    const report = emit({
      kind: 'mldv2Report',
      reserved: 0,
      records: [{ recordType: 4, multicastAddress: a('ff02::1:2345'), sources: [], auxiliaryData: new Uint8Array(0) }],
    });
    expect(reason(parse(patched(report, 7, 2)))).toBe('mld.truncated');
    expect(reason(parse(patched(report, 9, 1)))).toBe('mld.truncated'); // aux data past the end
    expect(reason(parse(refill(Uint8Array.of(...report, 0, 0, 0, 0))))).toBe('mld.badTotalLength');
  });

  it('accepts MLD only from link-local sources (reports also from ::) (§6.2, §7.4)', () => {
    const report = { kind: 'mldv2Report', reserved: 0, records: [] } as const;
    expect(checkMldIpHeader(report, a('fe80::1')).ok).toBe(true);
    expect(checkMldIpHeader(report, a('::')).ok).toBe(true);
    expect(reason(checkMldIpHeader(report, a('2001:db8::1')))).toBe('mld.badField');
    const query = { kind: 'mldv1Done', maximumResponseDelay: 0, reserved: 0, multicastAddress: a('ff02::1') } as const;
    expect(checkMldIpHeader(query, a('fe80::1')).ok).toBe(true);
  });
});
