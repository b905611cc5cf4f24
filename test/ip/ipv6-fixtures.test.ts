/**
 * IPv6 as the Linux kernel sends it, in every link type the suite records: the captures in
 * captures/fixtures/ipv6 (made by record-ipv6.sh in throw-away network namespaces) are read by
 * ustack's dissector exactly as tshark reads them, field for field; every IPv6 header, extension
 * header chain and ICMPv6 message (NDP and MLDv2 included) in them decodes with the codecs and
 * emits back byte for byte; checksums verify over the IPv6 pseudo-header; and for each
 * hand-made packet the kernel answered with a Parameter Problem, the codec refuses it with the
 * same code and pointer. As root, a capture recorded now is compared with tshark the same way.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDissect } from '../../src/cli/dissect-command.js';
import { toHex } from '../../src/core/bytes.js';
import { dissectFrame, toTsharkFields } from '../../src/dissect/dissect.js';
import { FILTER_FIELDS } from '../../src/dissect/filter-fields.js';
import { checksumIsValid, ipv6PseudoHeaderSum } from '../../src/ip/checksum.js';
import { emitIcmpv6, Icmpv6Packet, icmpv6Length, parseIcmpv6 } from '../../src/ip/icmpv6.js';
import { emitIpv6ExtensionHeaders, firstNextHeader, parseIpv6ExtensionHeaders } from '../../src/ip/ipv6-extension-headers.js';
import { formatIpv6Address } from '../../src/ip/ipv6-address.js';
import { emitIpv6, Ipv6NextHeader, Ipv6Packet, parseIpv6 } from '../../src/ip/ipv6.js';
import { checkMldIpHeader } from '../../src/ip/mld.js';
import { checkNdpIpHeader, type NdpRepr } from '../../src/ip/ndp.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { formatGoldenJsonl, readGoldenJsonl, runTshark, tsharkVersion, type TsharkFrame } from '../fixtures/tshark-fields.js';
import { IPV6_TSHARK_FIELDS, ipv6TsharkArgs, readIpv6TsharkFields } from './ipv6-tshark.js';
import { freshRecording } from '../support/fresh-recording.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = resolve(HERE, '../../captures/fixtures/ipv6');
const RECORD_SCRIPT = join(HERE, 'record-ipv6.sh');
const LINK_TYPES = { 'eth.pcap': 1, 'sll.pcap': 113, 'sll2.pcap': 276, 'raw.pcap': 101, 'ipv6.pcap': 229 } as const;
const CAPTURES = Object.keys(LINK_TYPES) as (keyof typeof LINK_TYPES)[];
const TSHARK = tsharkVersion();
const TSHARK_MATCHES_GOLDEN = TSHARK?.startsWith('4.0.') ?? false;
const IN_CI = process.env.CI === 'true';

const goldenPath = (pcap: string): string => pcap.replace(/\.pcap$/, '.tshark.jsonl');

function records(path: string): { data: Uint8Array; linkType: number; originalLength: number }[] {
  const bytes = readFileSync(path);
  const capture = readCapture(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (!capture.ok) throw new Error(`${path}: ${capture.error.message}`);
  return capture.value.records.map((r) => ({ data: r.data, linkType: r.linkType, originalLength: r.originalLength }));
}

/** Our reading of every frame, as tshark-style records of IPV6_TSHARK_FIELDS. */
function ourReading(path: string): TsharkFrame[] {
  return records(path).map((r, i) =>
    toTsharkFields(dissectFrame(r.data, r.linkType, i + 1, { originalLength: r.originalLength }), { fields: IPV6_TSHARK_FIELDS }),
  );
}

/** Every difference between two readings, one line each (the first `limit`). */
function differences(ours: readonly TsharkFrame[], theirs: readonly TsharkFrame[], limit = 20): string[] {
  const out: string[] = [];
  if (ours.length !== theirs.length) out.push(`frame count: ours ${ours.length}, tshark's ${theirs.length}`);
  for (let i = 0; i < Math.min(ours.length, theirs.length) && out.length < limit; i++) {
    for (const name of new Set([...Object.keys(ours[i]), ...Object.keys(theirs[i])])) {
      const a = JSON.stringify(ours[i][name]);
      const b = JSON.stringify(theirs[i][name]);
      if (a !== b && out.length < limit) out.push(`frame ${i + 1} ${name}: ours ${a ?? 'absent'}, tshark's ${b ?? 'absent'}`);
    }
  }
  return out;
}

/** The IPv6 packet inside a frame of `linkType`, or undefined. */
function ipv6Packet(frame: Uint8Array, linkType: number): Uint8Array | undefined {
  const offset = linkType === 1 ? 14 : linkType === 113 ? 16 : linkType === 276 ? 20 : 0;
  const etherType =
    linkType === 1 ? (frame[12] << 8) | frame[13] : linkType === 113 ? (frame[14] << 8) | frame[15] : linkType === 276 ? (frame[0] << 8) | frame[1] : 0x86dd;
  if (etherType !== 0x86dd || frame.length < offset + 40 || frame[offset] >> 4 !== 6) return undefined;
  return frame.subarray(offset);
}

const all = (frame: TsharkFrame, field: string): string[] => {
  const value = frame[field];
  return value === undefined ? [] : typeof value === 'string' ? [value] : value;
};

/** What every capture of record-ipv6.sh's traffic holds, read by tshark or by us; `veth` adds the veth run's own. */
function expectRecordedTraffic(name: string, frames: readonly TsharkFrame[], veth: boolean): void {
  const count = (predicate: (frame: TsharkFrame) => boolean): number => frames.filter(predicate).length;
  const type = (frame: TsharkFrame): string[] => all(frame, 'icmpv6.type');
  expect(
    count((f) => type(f)[0] === '128'),
    `${name}: echo requests`,
  ).toBeGreaterThanOrEqual(3);
  expect(
    count((f) => type(f)[0] === '129'),
    `${name}: echo replies`,
  ).toBeGreaterThanOrEqual(3);
  expect(
    count((f) => f['ipv6.fraghdr.offset'] === '0' && f['ipv6.fraghdr.more'] === '1'),
    `${name}: first fragments`,
  ).toBeGreaterThanOrEqual(2);
  expect(
    count((f) => Number(f['ipv6.fraghdr.offset'] ?? 0) > 0),
    `${name}: later fragments`,
  ).toBeGreaterThanOrEqual(4);
  expect(
    count((f) => type(f)[0] === '1' && f['icmpv6.code'] === '4' && f['udp.dstport'] !== undefined),
    `${name}: port unreachable quoting UDP`,
  ).toBe(1);
  expect(
    count((f) => f['tcp.flags'] === '0x0014'),
    `${name}: RST`,
  ).toBe(1);
  expect(
    count((f) => f['tcp.options.mss_val'] !== undefined),
    `${name}: SYNs with MSS`,
  ).toBeGreaterThanOrEqual(2);
  expect(
    count((f) => Number(f['tcp.len'] ?? 0) > 1000),
    `${name}: TCP data`,
  ).toBeGreaterThanOrEqual(10);
  const problems = frames.filter((f) => type(f)[0] === '4').map((f) => `${f['icmpv6.code']}@${f['icmpv6.pointer']}`);
  expect(problems, `${name}: Parameter Problems`).toEqual(['2@42', '0@42', '1@6', '1@40']);
  expect(
    count((f) => f['ipv6.routing.type'] !== undefined && all(f, 'ipv6.routing.type').includes('0')),
    `${name}: type 0 routing headers`,
  ).toBe(2);
  if (!veth) return;
  expect(
    count((f) => type(f)[0] === '143' && f['ipv6.opt.router_alert'] === '0'),
    `${name}: MLDv2 reports with a Router Alert`,
  ).toBeGreaterThanOrEqual(4);
  expect(
    count((f) => type(f)[0] === '143' && all(f, 'icmpv6.mldr.mar.multicast_address').includes('ff02::1:2345')),
    `${name}: the group joined and left`,
  ).toBeGreaterThanOrEqual(2);
  expect(
    count((f) => type(f)[0] === '135' && f['ipv6.src'] === '::'),
    `${name}: duplicate address detection`,
  ).toBeGreaterThanOrEqual(3);
  expect(
    count((f) => type(f)[0] === '135' && f['icmpv6.opt.src_linkaddr'] !== undefined),
    `${name}: address resolution`,
  ).toBeGreaterThanOrEqual(1);
  expect(
    count((f) => type(f)[0] === '136' && f['icmpv6.opt.target_linkaddr'] !== undefined),
    `${name}: advertisements`,
  ).toBeGreaterThanOrEqual(1);
  expect(
    count((f) => type(f)[0] === '133'),
    `${name}: router solicitation`,
  ).toBeGreaterThanOrEqual(1);
  // record-ipv6.sh sends the advertisement again (at most 5 times) while A has made no address from it.
  const advertisements = count((f) => type(f)[0] === '134' && f['icmpv6.opt.prefix'] === 'fd00:15:a::' && f['icmpv6.opt.mtu'] === '1500');
  expect(advertisements, `${name}: router advertisement`).toBeGreaterThanOrEqual(1);
  expect(advertisements, `${name}: router advertisements, at most the script's 5`).toBeLessThanOrEqual(5);
  expect(
    count((f) => type(f)[0] === '3' && type(f)[1] === '128'),
    `${name}: time exceeded quoting the echo`,
  ).toBe(1);
  expect(
    count((f) => type(f)[0] === '2' && f['icmpv6.mtu'] === '1280' && f['udp.dstport'] === '6002'),
    `${name}: packet too big`,
  ).toBe(1);
}

describe('the IPv6 fixtures (captures/fixtures/ipv6) read as tshark reads them', () => {
  beforeAll(() => {
    if (process.env.UPDATE_GOLDEN !== '1') return;
    if (TSHARK === undefined) throw new Error('UPDATE_GOLDEN=1 needs tshark');
    for (const name of CAPTURES) {
      const path = join(FIXTURE_DIR, name);
      writeFileSync(goldenPath(path), formatGoldenJsonl(readIpv6TsharkFields(path)));
    }
  });

  for (const name of CAPTURES) {
    it(`${name}: link type ${LINK_TYPES[name]}, the promised traffic, and every field as the golden reading`, () => {
      const path = join(FIXTURE_DIR, name);
      expect(records(path).every((r) => r.linkType === LINK_TYPES[name])).toBe(true);
      expect(existsSync(goldenPath(path)), `${goldenPath(path)} exists`).toBe(true);
      const golden = readGoldenJsonl(goldenPath(path));
      expectRecordedTraffic(name, golden, name !== 'raw.pcap' && name !== 'ipv6.pcap');
      const diffs = differences(ourReading(path), golden);
      expect(diffs, diffs.join('\n')).toEqual([]);
    });
  }

  if (TSHARK === undefined && !IN_CI) console.warn('SKIPPED (no tshark): the IPv6 fixtures compared with a live tshark');
  else if (!TSHARK_MATCHES_GOLDEN) console.warn(`SKIPPED (needs tshark 4.0, have ${TSHARK}): the IPv6 golden files compared with a live tshark`);
  for (const name of CAPTURES) {
    it.runIf(TSHARK_MATCHES_GOLDEN || IN_CI)(`${name}: the golden reading equals a live tshark's`, () => {
      const path = join(FIXTURE_DIR, name);
      expect(readIpv6TsharkFields(path)).toEqual(readGoldenJsonl(goldenPath(path)));
    });
  }
});

/** IPv6 fields stored big-endian in exactly their bytes, printed in decimal or tshark's hex. */
const WHOLE_BYTE_FIELDS = new Set([
  'ipv6.plen',
  'ipv6.nxt',
  'ipv6.hlim',
  'ipv6.hopopts.nxt',
  'ipv6.hopopts.len',
  'ipv6.dstopts.nxt',
  'ipv6.dstopts.len',
  'ipv6.opt.type',
  'ipv6.opt.length',
  'ipv6.opt.router_alert',
  'ipv6.routing.nxt',
  'ipv6.routing.len',
  'ipv6.routing.type',
  'ipv6.routing.segleft',
  'ipv6.fraghdr.nxt',
  'ipv6.fraghdr.reserved_octet',
  'ipv6.fraghdr.ident',
  'icmpv6.type',
  'icmpv6.code',
  'icmpv6.checksum',
  'icmpv6.mtu',
  'icmpv6.pointer',
  'icmpv6.echo.identifier',
  'icmpv6.echo.sequence_number',
  'icmpv6.nd.ra.cur_hop_limit',
  'icmpv6.nd.ra.flag',
  'icmpv6.nd.ra.router_lifetime',
  'icmpv6.nd.ra.reachable_time',
  'icmpv6.nd.ra.retrans_timer',
  'icmpv6.nd.na.flag',
  'icmpv6.opt.type',
  'icmpv6.opt.length',
  'icmpv6.opt.mtu',
  'icmpv6.opt.prefix.length',
  'icmpv6.opt.prefix.flag',
  'icmpv6.opt.prefix.valid_lifetime',
  'icmpv6.opt.prefix.preferred_lifetime',
  'icmpv6.mldr.nb_mcast_records',
  'icmpv6.mldr.mar.record_type',
  'icmpv6.mldr.mar.aux_data_len',
  'icmpv6.mldr.mar.nb_sources',
]);
const ADDRESS_FIELDS = new Set([
  'ipv6.src',
  'ipv6.dst',
  'ipv6.routing.src.addr',
  'icmpv6.nd.ns.target_address',
  'icmpv6.nd.na.target_address',
  'icmpv6.opt.prefix',
  'icmpv6.mldr.mar.multicast_address',
]);

describe('the byte range of every IPv6 field (what ustack view draws)', () => {
  it.each(CAPTURES)('%s: every ranged field lies in its layer, and the numbers and addresses read back from their bytes', (name) => {
    let numbers = 0;
    let addresses = 0;
    for (const [i, record] of records(join(FIXTURE_DIR, name)).entries()) {
      const dissection = dissectFrame(record.data, record.linkType, i + 1, { originalLength: record.originalLength });
      for (const layer of dissection.layers) {
        if (layer.layer === 'frame' || layer.layer === 'malformed') continue;
        for (const field of layer.fields) {
          if (field.start === undefined || field.end === undefined) continue;
          const where = `${name} #${i + 1} ${field.name ?? field.label}`;
          expect(field.start, where).toBeGreaterThanOrEqual(layer.start);
          expect(field.end, where).toBeLessThanOrEqual(Math.max(layer.end, layer.payloadEnd));
          const bytes = record.data.subarray(field.start, field.end);
          if (field.name !== undefined && WHOLE_BYTE_FIELDS.has(field.name)) {
            const printed = field.value.startsWith('0x') ? Number.parseInt(field.value, 16) : Number(field.value);
            expect(
              bytes.reduce((value, byte) => value * 256 + byte, 0),
              where,
            ).toBe(printed);
            numbers++;
          }
          if (field.name !== undefined && ADDRESS_FIELDS.has(field.name)) {
            expect(formatIpv6Address(bytes), where).toBe(field.value);
            addresses++;
          }
        }
      }
    }
    expect(numbers).toBeGreaterThan(300);
    expect(addresses).toBeGreaterThan(100);
  });
});

describe('the codecs on every IPv6 packet the kernel sent', () => {
  const packets = CAPTURES.flatMap((name) =>
    records(join(FIXTURE_DIR, name)).flatMap((r, i) => {
      const packet = ipv6Packet(r.data, r.linkType);
      return packet === undefined ? [] : [{ where: `${name} frame ${i + 1}`, packet }];
    }),
  );

  it('finds them', () => {
    expect(packets.length).toBeGreaterThan(300);
  });

  it('the fixed header and the extension-header chain parse and emit back byte for byte', () => {
    let chains = 0;
    for (const { where, packet } of packets) {
      const view = Ipv6Packet.checked(packet);
      if (!view.ok) throw new Error(`${where}: ${view.error.message}`);
      const repr = parseIpv6(view.value);
      if (!repr.ok) throw new Error(`${where}: ${repr.error.message}`);
      const header = new Uint8Array(40);
      emitIpv6(repr.value, header);
      expect(toHex(header), where).toBe(toHex(packet.subarray(0, 40)));
      const chain = parseIpv6ExtensionHeaders(view.value.payload, repr.value.nextHeader);
      if (!chain.ok) continue; // the hand-made packets, below
      const headers = chain.value.entries.map((entry) => entry.header);
      const out = new Uint8Array(chain.value.upperLayerOffset - 40);
      expect(emitIpv6ExtensionHeaders(headers, chain.value.upperLayer, out), where).toBe(out.length);
      expect(toHex(out), where).toBe(toHex(packet.subarray(40, chain.value.upperLayerOffset)));
      expect(firstNextHeader(headers, chain.value.upperLayer), where).toBe(repr.value.nextHeader);
      if (headers.length > 0) chains++;
    }
    expect(chains, 'packets with extension headers').toBeGreaterThan(40);
  });

  it('every whole ICMPv6 message verifies over the pseudo-header, parses (NDP and MLD too) and emits back byte for byte; TCP and UDP checksums verify', () => {
    const kinds = new Set<string>();
    for (const { where, packet } of packets) {
      const view = Ipv6Packet.checked(packet);
      if (!view.ok) continue;
      const repr = parseIpv6(view.value);
      const chain = parseIpv6ExtensionHeaders(view.value.payload, view.value.nextHeader);
      if (!repr.ok || !chain.ok || chain.value.fragment !== undefined) continue;
      const upper = packet.subarray(chain.value.upperLayerOffset, 40 + view.value.payloadLength);
      const { source, destination } = repr.value;
      if (chain.value.upperLayer === Ipv6NextHeader.TCP || chain.value.upperLayer === Ipv6NextHeader.UDP) {
        expect(checksumIsValid(upper, ipv6PseudoHeaderSum(source, destination, chain.value.upperLayer, upper.length)), where).toBe(true);
        continue;
      }
      if (chain.value.upperLayer !== Ipv6NextHeader.ICMPV6) continue;
      const message = Icmpv6Packet.checked(upper);
      if (!message.ok) throw new Error(`${where}: ${message.error.message}`);
      const parsed = parseIcmpv6(message.value, { source, destination });
      if (!parsed.ok) throw new Error(`${where}: ${parsed.error.message}`);
      kinds.add(parsed.value.kind);
      const out = new Uint8Array(icmpv6Length(parsed.value));
      expect(emitIcmpv6(parsed.value, out, source, destination), where).toBe(upper.length);
      expect(toHex(out), where).toBe(toHex(upper));
      const ip = { hopLimit: repr.value.hopLimit, source, destination };
      if (['routerSolicitation', 'routerAdvertisement', 'neighborSolicitation', 'neighborAdvertisement', 'redirect'].includes(parsed.value.kind)) {
        expect(checkNdpIpHeader(parsed.value as NdpRepr, ip).ok, where).toBe(true);
      }
      if (parsed.value.kind === 'mldv2Report') expect(checkMldIpHeader(parsed.value, source).ok, where).toBe(true);
    }
    expect([...kinds].sort()).toEqual([
      'destinationUnreachable',
      'echoReply',
      'echoRequest',
      'mldv2Report',
      'neighborAdvertisement',
      'neighborSolicitation',
      'packetTooBig',
      'parameterProblem',
      'routerAdvertisement',
      'routerSolicitation',
      'timeExceeded',
    ]);
  });

  it("refuses each packet the kernel answered with a Parameter Problem, with the kernel's code and pointer", () => {
    let compared = 0;
    for (const { where, packet } of packets) {
      const view = Ipv6Packet.checked(packet);
      if (!view.ok || view.value.nextHeader !== Ipv6NextHeader.ICMPV6 || packet[40] !== 4) continue;
      const code = packet[41];
      const pointer = ((packet[44] << 24) | (packet[45] << 16) | (packet[46] << 8) | packet[47]) >>> 0;
      const invoking = Ipv6Packet.checked(packet.subarray(48));
      if (!invoking.ok) throw new Error(`${where}: ${invoking.error.message}`);
      const chain = parseIpv6ExtensionHeaders(invoking.value.payload, invoking.value.nextHeader);
      if (chain.ok) {
        // Nothing wrong with the chain: the upper layer is one the kernel does not serve (RFC 8200 §4, code 1 at its Next Header).
        expect([code, pointer], where).toEqual([1, chain.value.upperLayerPointer]);
        expect(chain.value.upperLayer, where).toBe(253);
      } else {
        expect(chain.error.parameterProblem, `${where}: ${chain.error.message}`).toEqual({ code, pointer, unlessMulticast: false });
      }
      compared++;
    }
    expect(compared).toBe(4 * CAPTURES.length);
  });
});

/** The frame numbers `ustack dissect -Y filter` prints for the capture at `path`. */
async function ourFilteredFrames(path: string, filter: string): Promise<string[]> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDissect(
    [path, '--json', '-Y', filter],
    (line) => out.push(line),
    (line) => err.push(line),
  );
  if (code !== 0) throw new Error(`-Y '${filter}': exit ${code}: ${err.join(' ')}`);
  return out.map((line) => (JSON.parse(line) as Record<string, string>)['frame.number']);
}

/** The frame numbers `tshark -Y filter` prints, reading as the comparison above does. */
function tsharkFilteredFrames(path: string, filter: string): string[] {
  const args = ipv6TsharkArgs(path, ['frame.number']);
  args.splice(args.indexOf('-T'), 0, '-Y', filter);
  return runTshark(args)
    .split('\n')
    .filter((line) => line !== '');
}

describe('-Y knows every IPv6 field the dissector names', () => {
  it('each field of each IPv6 fixture frame can be filtered on', () => {
    const named = new Set<string>();
    for (const name of CAPTURES) {
      for (const [i, record] of records(join(FIXTURE_DIR, name)).entries()) {
        for (const layer of dissectFrame(record.data, record.linkType, i + 1).layers) for (const field of layer.fields) if (field.name) named.add(field.name);
      }
    }
    expect([...named].filter((field) => !FILTER_FIELDS.has(field))).toEqual([]);
    expect(named.size).toBeGreaterThan(90);
  });
});

describe.runIf(TSHARK !== undefined || IN_CI)('-Y on the IPv6 fields chooses the frames tshark -Y chooses', () => {
  const expressions = [
    'ipv6.src == fd00:15::1 && icmpv6.type == 128',
    'ipv6.addr == fd00:15::/64 && !tcp',
    'ipv6.dst == ff02::16',
    'ipv6.flow > 0 && ipv6.hlim == 64',
    'ipv6.nxt == 44',
    'ipv6.fraghdr.more == 1',
    'ipv6.fraghdr.offset > 0',
    'ipv6.opt.router_alert == 0',
    'ipv6.opt.type.action == 2',
    'ipv6.routing.type == 0 && ipv6.routing.segleft > 0',
    'ipv6.hopopts.len_oct == 8 && icmpv6.mldr.nb_mcast_records >= 3',
    'icmpv6.mldr.mar.multicast_address == ff02::1:2345',
    'icmpv6.nd.ns.target_address == fd00:15::2',
    'icmpv6.nd.na.flag == 0xe0000000',
    'icmpv6.opt.prefix == fd00:15:a:: && icmpv6.opt.mtu == 1500',
    'icmpv6.opt.src_linkaddr',
    'icmpv6.type == 4 && icmpv6.pointer == 42',
    'icmpv6.mtu == 1280',
    'icmpv6.type == 1 && udp.dstport == 6001',
    'icmpv6 && ipv6.tclass == 0',
    'tcp.flags.syn == 1 && ipv6',
  ];
  it(`eth.pcap: ${expressions.length} expressions`, async () => {
    const path = join(FIXTURE_DIR, 'eth.pcap');
    const differences: string[] = [];
    for (const filter of expressions) {
      const ours = await ourFilteredFrames(path, filter);
      const theirs = tsharkFilteredFrames(path, filter);
      expect(theirs.length, `tshark matches something for '${filter}'`).toBeGreaterThan(0);
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) differences.push(`-Y '${filter}': ours [${ours.join(' ')}], tshark's [${theirs.join(' ')}]`);
    }
    expect(differences, differences.join('\n')).toEqual([]);
  }, 60_000);
});

const RECORDING = freshRecording(
  RECORD_SCRIPT,
  ['ip', 'tcpdump', 'ethtool', 'python3', 'ping', 'timeout', 'tshark', 'editcap'],
  'recording IPv6 kernel traffic in network namespaces',
);

describe('IPv6 captures recorded now from the kernel (record-ipv6.sh)', () => {
  it.runIf(RECORDING.runs)(
    'are read field for field as tshark reads them, in every link type',
    () => {
      const directory = RECORDING.record();
      try {
        for (const name of CAPTURES) {
          const path = join(directory, name);
          const theirs = readIpv6TsharkFields(path);
          expectRecordedTraffic(name, theirs, name !== 'raw.pcap' && name !== 'ipv6.pcap');
          const diffs = differences(ourReading(path), theirs);
          expect(diffs, `${name}:\n${diffs.join('\n')}`).toEqual([]);
        }
      } finally {
        RECORDING.remove(directory);
      }
    },
    120_000,
  );
});
