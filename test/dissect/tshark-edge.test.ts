/**
 * Beyond the fixtures: frames cut short at every length, malformed headers, other link types,
 * random and mutated bytes — dissected and compared with a live tshark, field for field, for
 * the fields `--json` prints and the extra Wireshark fields the dissector names.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dissectFrame, toTsharkFields } from '../../src/dissect/dissect.js';
import { PcapWriter } from '../../src/pcap/pcap.js';
import { parseTsharkFields, runTshark, TSHARK_FIELDS, tsharkArgs, tsharkVersion, type TsharkFrame } from '../fixtures/tshark-fields.js';
import {
  captureRecords,
  malformedEthernetCases,
  mutatedCases,
  otherLinkTypeCases,
  randomCases,
  sll2Cases,
  truncations,
  vlanCases,
  type EdgeCase,
} from './edge-cases.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = resolve(HERE, '../../captures/fixtures');
const TSHARK = tsharkVersion();

/** Wireshark fields the dissector names beyond TSHARK_FIELDS, checked against tshark too. */
const EXTRA_FIELDS = [
  'frame.len',
  'frame.cap_len',
  'eth.len',
  'eth.padding',
  'eth.trailer',
  'vlan.priority',
  'vlan.dei',
  'vlan.id',
  'vlan.etype',
  'sll.pkttype',
  'sll.hatype',
  'sll.halen',
  'sll.src.eth',
  'sll.src.ipv4',
  'sll.src.other',
  'sll.unused',
  'sll.etype',
  'sll.ltype',
  'sll.gretype',
  'sll.ifindex',
  'sll.trailer',
  'arp.hw.type',
  'arp.proto.type',
  'arp.hw.size',
  'arp.proto.size',
  'arp.src.hw_mac',
  'arp.src.proto_ipv4',
  'arp.dst.hw_mac',
  'arp.dst.proto_ipv4',
  'ip.flags',
  'ip.flags.rb',
  'tcp.seq',
  'tcp.ack',
  'icmp.mtu',
  'icmp.redir_gw',
  'icmp.pointer',
  'ipv6.plen',
  'ipv6.nxt',
  'ipv6.hlim',
  'ipv6.src',
  'ipv6.dst',
  'icmpv6.type',
  'icmpv6.code',
  'icmpv6.checksum',
];
const FIELDS = [...TSHARK_FIELDS, ...EXTRA_FIELDS];
/** Protocols the dissector takes apart; a frame in which tshark found others is not compared. */
const DISSECTED = new Set([
  'eth',
  'ethertype',
  'vlan',
  'sll',
  'raw',
  'arp',
  'ip',
  'icmp',
  'udp',
  'tcp',
  'data',
  'ipv6',
  'ipv6.hopopts',
  'ipv6.routing',
  'ipv6.fraghdr',
  'ipv6.dstopts',
  'icmpv6',
]);

const directory = mkdtempSync(join(tmpdir(), 'ustack-dissect-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** tshark's reading of `cases` (all of one link type). */
function tsharkReading(cases: readonly EdgeCase[]): TsharkFrame[] {
  const writer = new PcapWriter({ linkType: cases[0].linkType });
  cases.forEach((c, i) => writer.record(1_700_000_000_000 + i, c.frame, c.originalLength));
  const path = join(directory, `cases-${cases[0].linkType}-${Math.random().toString(36).slice(2)}.pcap`);
  writeFileSync(path, writer.toBytes());
  const args = tsharkArgs(path, [...FIELDS, 'frame.protocols']);
  return parseTsharkFields(runTshark(args), [...FIELDS, 'frame.protocols']);
}

/**
 * Differences between our reading and tshark's, one line each. With `onlyDissected`, frames in
 * which tshark found a protocol we do not take apart (IPv6 is read only as far as needed to
 * report it) are skipped.
 */
function compare(cases: readonly EdgeCase[], options: { onlyDissected?: boolean } = {}): string[] {
  const theirs = tsharkReading(cases);
  const out: string[] = [];
  cases.forEach((c, i) => {
    const protocols = String(theirs[i]?.['frame.protocols'] ?? '').split(':');
    if (options.onlyDissected && protocols.some((p) => p !== '' && !DISSECTED.has(p))) return;
    delete theirs[i]?.['frame.protocols'];
    const dissection = dissectFrame(c.frame, c.linkType, i + 1, { originalLength: c.originalLength });
    const ours = toTsharkFields(dissection, { fields: FIELDS });
    if (dissection.malformed !== undefined) {
      // Where tshark puts the Ethernet trailer after a packet it gave up on follows no rule we
      // could find; it is not compared. Nor is the cooked header's trailer: after a malformed
      // (not snapshot-cut) packet tshark still shows what lies past the length the IP header
      // declared, which our dissectors do not report once they stop.
      for (const reading of [ours, theirs[i] ?? {}]) {
        delete reading['eth.trailer'];
        delete reading['eth.padding'];
        delete reading['sll.trailer'];
      }
    }
    const names = new Set([...Object.keys(ours), ...Object.keys(theirs[i] ?? {})]);
    for (const name of names) {
      const a = JSON.stringify(ours[name]);
      const b = JSON.stringify(theirs[i]?.[name]);
      if (a !== b) out.push(`${c.name}: ${name} ours ${a ?? 'absent'}, tshark's ${b ?? 'absent'}`);
    }
  });
  return out;
}

function groupByLinkType(cases: readonly EdgeCase[]): EdgeCase[][] {
  const groups = new Map<number, EdgeCase[]>();
  for (const c of cases) groups.set(c.linkType, [...(groups.get(c.linkType) ?? []), c]);
  return [...groups.values()];
}

const runLive = TSHARK !== undefined || process.env.CI === 'true';
if (!runLive) console.warn('SKIPPED (no tshark): live comparison of edge cases');

describe.runIf(runLive)('dissect agrees with a live tshark beyond the fixtures', () => {
  const fixtureFrames = ['eth.pcap', 'sll.pcap', 'sll2.pcap', 'raw.pcap', 'ipv4.pcap', 'eth-offload.pcap'].flatMap((name) =>
    captureRecords(join(FIXTURE_DIR, name)),
  );

  it('fixture frames cut short at every length', () => {
    const picks = new Map<string, { data: Uint8Array; linkType: number }>();
    // One frame of each shape (link type, EtherType/protocol, length class) keeps the sweep small.
    for (const f of fixtureFrames) {
      const key = `${f.linkType}:${f.data.length > 200 ? 'big' : f.data.length}`;
      if (!picks.has(key) && picks.size < 60) picks.set(key, f);
    }
    const cases = [...picks.values()].flatMap((f, i) => truncations(`fixture frame ${i} (${f.data.length} bytes)`, f.linkType, f.data.slice(0, 140)));
    const diffs = groupByLinkType(cases).flatMap((group) => compare(group, { onlyDissected: true }));
    expect(diffs.slice(0, 20), diffs.slice(0, 20).join('\n')).toEqual([]);
  });

  it('malformed and unusual headers', () => {
    const diffs = compare(malformedEthernetCases());
    expect(diffs.slice(0, 20), diffs.slice(0, 20).join('\n')).toEqual([]);
  });

  it('other link types', () => {
    const diffs = groupByLinkType(otherLinkTypeCases()).flatMap((group) => compare(group));
    expect(diffs.slice(0, 20), diffs.slice(0, 20).join('\n')).toEqual([]);
  });

  it('Linux cooked capture v2 headers, every field and every length', () => {
    const diffs = compare(sll2Cases());
    expect(diffs.slice(0, 20), diffs.slice(0, 20).join('\n')).toEqual([]);
  });

  it('802.1Q tagged frames', () => {
    const diffs = groupByLinkType(vlanCases()).flatMap((group) => compare(group));
    expect(diffs.slice(0, 20), diffs.slice(0, 20).join('\n')).toEqual([]);
  });

  it('random bytes', () => {
    const cases = [1, 101, 113, 228, 276].flatMap((linkType) => randomCases(linkType, 7 + linkType, 300));
    const diffs = groupByLinkType(cases).flatMap((group) => compare(group, { onlyDissected: true }));
    expect(diffs.slice(0, 20), diffs.slice(0, 20).join('\n')).toEqual([]);
  });

  it('real frames with a few bytes changed', () => {
    const cases = [...mutatedCases(fixtureFrames, 2024, 3000), ...mutatedCases(fixtureFrames, 99, 5000, { window: 200, maxChanges: 6, cut: true })];
    const diffs = groupByLinkType(cases).flatMap((group) => compare(group, { onlyDissected: true }));
    expect(diffs.slice(0, 20), diffs.slice(0, 20).join('\n')).toEqual([]);
  });
});
