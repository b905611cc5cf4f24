/**
 * `ustack dissect -Y FILTER`: the display-filter subset chooses the same frames as `tshark -Y`
 * on the same captures, for expressions over every construct the subset has; anything outside
 * it is refused with a message naming the part (exit 2); and the filter knows every field the
 * dissector names, with the type tshark gives it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runDissect } from '../../src/cli/dissect-command.js';
import { dissectFrame } from '../../src/dissect/dissect.js';
import { compileDisplayFilter, FILTER_FIELDS, FILTER_PROTOCOLS } from '../../src/dissect/display-filter.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { TSHARK_PREFERENCES, TSHARK_PROTOCOLS, tsharkVersion } from '../fixtures/tshark-fields.js';
import { captureRecords, malformedEthernetCases, otherLinkTypeCases, sll2Cases, vlanCases } from './edge-cases.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = resolve(HERE, '../../captures/fixtures');
const TSHARK = tsharkVersion();

/** The frame numbers `ustack dissect -Y filter` prints for the capture at `path`. */
async function ourFrames(path: string, filter: string): Promise<string[]> {
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

/**
 * The frame numbers `tshark -Y filter` prints for the same capture, read frame by frame and
 * protocol by protocol as the dissector reads (the fixture comparison's TSHARK_PROTOCOLS and
 * TSHARK_PREFERENCES): by default tshark moves a fragmented datagram's UDP header to its last
 * fragment, and takes TCP port 7000's payload for Gryphon rather than data (tshark 4.0 keeps
 * Gryphon on port 7000 even with ALL protocols disabled, so it is disabled by name).
 */
function tsharkFrames(path: string, filter: string): string[] {
  const preferences = TSHARK_PREFERENCES.flatMap((preference) => ['-o', preference]);
  const protocols = ['--disable-protocol', 'ALL', '--enable-protocol', TSHARK_PROTOCOLS.join(','), '--disable-protocol', 'gryphon'];
  const run = spawnSync('tshark', ['-r', path, '-n', ...protocols, ...preferences, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`tshark -Y '${filter}' exited ${run.status}: ${run.stderr}`);
  return run.stdout.split('\n').filter((line) => line !== '');
}

async function refusal(filter: string): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDissect(
    [join(FIXTURE_DIR, 'sll2.pcap'), '-Y', filter],
    (line) => out.push(line),
    (line) => err.push(line),
  );
  return { code, out, err };
}

describe('-Y chooses frames by their fields', () => {
  const path = join(FIXTURE_DIR, 'sll2.pcap');
  const records = captureRecords(path);

  it('a field alone, ==, != and ordering, on values read from the frames themselves', async () => {
    const dissections = records.map((record, i) => dissectFrame(record.data, record.linkType, i + 1));
    const numbersWhere = (test: (values: Map<string, string[]>) => boolean): string[] =>
      dissections
        .filter((d) => {
          const values = new Map<string, string[]>();
          for (const field of d.layers.flatMap((layer) => layer.fields))
            if (field.name) values.set(field.name, [...(values.get(field.name) ?? []), field.value]);
          return test(values);
        })
        .map((d) => String(d.frameNumber));
    const has = (values: Map<string, string[]>, name: string, value: string): boolean => values.get(name)?.includes(value) ?? false;
    expect(await ourFrames(path, 'tcp.port == 7000')).toEqual(numbersWhere((v) => has(v, 'tcp.srcport', '7000') || has(v, 'tcp.dstport', '7000')));
    expect(await ourFrames(path, 'arp')).toEqual(numbersWhere((v) => v.has('arp.opcode')));
    expect(await ourFrames(path, 'sll.pkttype != 4')).toEqual(numbersWhere((v) => v.has('sll.pkttype') && !has(v, 'sll.pkttype', '4')));
    expect(await ourFrames(path, 'frame.len >= 100')).toEqual(numbersWhere((v) => Number(v.get('frame.len')?.[0]) >= 100));
    expect(await ourFrames(path, 'tcp.flags.syn == 1 && !(tcp.flags.ack == 1)')).toEqual(numbersWhere((v) => v.get('tcp.flags')?.[0] === '0x0002'));
    expect((await ourFrames(path, 'tcp.port == 7000')).length).toBe(10);
  });

  it("frame numbers stay the capture's, in text mode too, with one blank line between frames", async () => {
    const out: string[] = [];
    const code = await runDissect(
      [path, '-Y', 'icmp.type == 8'],
      (line) => out.push(line),
      () => undefined,
    );
    expect(code).toBe(0);
    expect(out.filter((line) => line.startsWith('Frame ')).map((line) => line.split(':')[0])).toEqual(['Frame 3', 'Frame 5', 'Frame 19']);
    expect(out.filter((line) => line === '')).toHaveLength(2);
  });

  it('-c counts the frames read, before the filter (as tshark)', async () => {
    expect(
      await runDissect(
        [path, '--json', '-c', '2', '-Y', 'tcp'],
        () => expect.fail('printed a frame'),
        () => undefined,
      ),
    ).toBe(0);
    const out: string[] = [];
    await runDissect(
      [path, '--json', '-c', '4', '-Y', 'icmp'],
      (line) => out.push(line),
      () => undefined,
    );
    expect(out.map((line) => (JSON.parse(line) as Record<string, string>)['frame.number'])).toEqual(['3', '4']);
  });
});

describe('-Y refuses what is beyond the subset, naming it (exit 2)', () => {
  const cases: Array<[string, RegExp]> = [
    ['frame contains 41', /'contains' is not in the subset/],
    ['ip.src matches "10"', /'matches' is not in the subset/],
    ['tcp.port in {80 443}', /'\{' is not in the subset/],
    ['ip.src ~= 10.0.0.1', /'~=' is not in the subset/],
    ['ip.src === 10.0.0.1', /'===' is not in the subset/],
    ['eth.src[0:2] == 00:00', /'\[' is not in the subset/],
    ['len(tcp.options) > 2', /'len' is not a field or protocol/],
    ['tcp.srcport == tcp.dstport', /'tcp.dstport' is a field: comparing two fields is not in the subset/],
    ['ip.len + 1 == 85', /'\+' is not in the subset/],
    ['tcp.flags & 0x02', /'&' is not in the subset/],
    ['foo.bar == 1', /'foo.bar' is not a field or protocol ustack dissect knows/],
    ['ip.ttl == 064', /'064' has a leading zero: octal numbers are not in the subset/],
    ['ip.ttl == -1', /'-1' is negative/],
    ['ip.src == "10.3.3.1"', /is a string, and ip.src is not a byte field/],
    ['ip.src == 10.3.3.1/33', /prefix length that is not 0 to 32/],
    ['ip.src > 10.3.3.0/24', /only == and != take one/],
    ['eth.src == 1', /'1' is not a MAC address/],
    ['ip.len == 84 == 84', /chained comparisons are not in the subset/],
    ['(tcp', /'\(' at character 1 is not closed/],
    ['tcp)', /'\)' has no '\(' to close/],
    ['tcp &&', /the filter ends where a field, a protocol, ! or \( should be/],
    ['tcp == 1', /'tcp' is a protocol: it can be tested for, not compared/],
    ['', /the filter is empty/],
  ];
  for (const [filter, pattern] of cases) {
    it(`-Y '${filter}'`, async () => {
      const { code, out, err } = await refusal(filter);
      expect(code).toBe(2);
      expect(out).toEqual([]);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/^ustack dissect: -Y '.*': .* \(at character \d+\)$/);
      expect(err[0]).toMatch(pattern);
    });
  }

  it('--help says which subset exists and lists the fields', async () => {
    const out: string[] = [];
    await runDissect(['--help'], (line) => out.push(line));
    const help = out.join('\n');
    expect(help).toMatch(/-Y FILTER/);
    expect(help).toMatch(/subset\s+of Wireshark's display filters/);
    for (const name of ['tcp.flags.syn', 'sll.ifindex', 'ip.addr', 'eth.addr']) expect(help).toContain(name);
  });
});

describe("the filter knows the dissector's fields", () => {
  it('every field the dissector names, in every fixture and edge case, can be filtered on', () => {
    const named = new Set<string>();
    const frames = [
      ...['eth.pcap', 'sll.pcap', 'sll2.pcap', 'raw.pcap', 'ipv4.pcap', 'eth-offload.pcap'].flatMap((name) => captureRecords(join(FIXTURE_DIR, name))),
      ...[...malformedEthernetCases(), ...otherLinkTypeCases(), ...vlanCases(), ...sll2Cases()].map((c) => ({ data: c.frame, linkType: c.linkType })),
    ];
    for (const frame of frames) {
      for (const field of dissectFrame(frame.data, frame.linkType, 1).layers.flatMap((layer) => layer.fields)) if (field.name) named.add(field.name);
    }
    expect([...named].filter((name) => !FILTER_FIELDS.has(name))).toEqual([]);
    expect(named.size).toBeGreaterThan(80);
  });

  it.runIf(TSHARK !== undefined || process.env.CI === 'true')('each with the type tshark gives it', () => {
    const run = spawnSync('tshark', ['-G', 'fields'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
    const tsharkTypes = new Map<string, string>();
    for (const line of run.stdout.split('\n')) {
      const columns = line.split('\t');
      if (columns[0] === 'F') tsharkTypes.set(columns[2], columns[3]);
      if (columns[0] === 'P') tsharkTypes.set(columns[2], 'FT_PROTOCOL');
    }
    const expected = (type: string): string =>
      /^FT_U?INT\d+$/.test(type)
        ? 'number'
        : (({ FT_BOOLEAN: 'boolean', FT_IPv4: 'ipv4', FT_IPv6: 'ipv6', FT_ETHER: 'mac', FT_BYTES: 'bytes' } as Record<string, string>)[type] ?? type);
    const mismatches = [...FILTER_FIELDS]
      .filter(([name, type]) => expected(tsharkTypes.get(name) ?? 'absent') !== type)
      .map(([name, type]) => `${name}: ours ${type}, tshark's ${tsharkTypes.get(name) ?? 'absent'}`);
    expect(mismatches).toEqual([]);
    expect([...FILTER_PROTOCOLS.keys()].filter((name) => tsharkTypes.get(name) !== 'FT_PROTOCOL')).toEqual([]);
  });
});

if (TSHARK === undefined && process.env.CI !== 'true') console.warn('SKIPPED (no tshark): -Y compared with tshark -Y');

describe.runIf(TSHARK !== undefined || process.env.CI === 'true')('-Y chooses the frames tshark -Y chooses', () => {
  const expressions: Record<string, string[]> = {
    'sll2.pcap': [
      'tcp.port == 7000 && tcp.flags.syn == 1',
      'tcp.flags.syn == True and tcp.flags.ack == False',
      'tcp.flags.push == 1 || tcp.flags.fin',
      'tcp.port != 7000',
      'ip.src != 10.3.3.1',
      '!(ip.src == 10.3.3.1)',
      'ip.addr == 10.3.3.0/24 && !icmp',
      'ip.addr != 127.0.0.0/8',
      'ip.src > 10.3.3.1',
      'ip.dst <= 10.3.3.1',
      'ip.id == 0x2420 || ip.id == 2059',
      'ip.flags.df == 0',
      'ip.ttl eq 64 and not tcp',
      'frame.len >= 100 or arp',
      'frame.number <= 3 || frame.number >= 19',
      'sll.pkttype == 4',
      'sll.ifindex == 1',
      'sll.hatype == 772 || sll.etype == 0x0806',
      'sll.src.eth == ' + sllSource(),
      'sll.unused == 00:00',
      'sll.unused == 0000',
      'sll.unused == "\\x00\\x00"',
      'icmp.type == 8 || icmp.type == 3',
      'icmp && udp',
      'udp.port == 7001',
      'tcp.len > 0',
      'tcp.options.mss_val',
      'tcp.options.timestamp.tsecr < 1000',
      'data',
      'data.len > 20',
      'ip.checksum',
      '((tcp))',
      '!arp && !icmp && !tcp',
    ],
    'eth.pcap': [
      'ip.flags.mf == 1 || ip.frag_offset > 0',
      'icmp.type == 3 && udp.dstport',
      'ip.src == 10.1.1.1 && ip.proto == 1',
      'tcp.options.sack_le',
      'tcp.options.sack_le > 0 && tcp.flags.ack == 1 && tcp.window_size_value < 1000',
      'eth.addr == ff:ff:ff:ff:ff:ff',
      'arp.opcode == 2',
      'arp.dst.proto_ipv4 == 10.1.1.2',
      'ip.hdr_len > 20',
      'ip.dsfield == 0xc0',
      'udp.length > 1500',
    ],
  };
  for (const [file, list] of Object.entries(expressions)) {
    it(`${file}: ${list.length} expressions`, async () => {
      const path = join(FIXTURE_DIR, file);
      const differences: string[] = [];
      for (const filter of list) {
        const ours = await ourFrames(path, filter);
        const theirs = tsharkFrames(path, filter);
        if (JSON.stringify(ours) !== JSON.stringify(theirs)) differences.push(`-Y '${filter}': ours [${ours.join(' ')}], tshark's [${theirs.join(' ')}]`);
      }
      expect(differences, differences.join('\n')).toEqual([]);
    }, 60_000);
  }
});

/** The source MAC of sll2.pcap's first frame (its ARP request). */
function sllSource(): string {
  const capture = readCapture(new Uint8Array(readFileSync(join(FIXTURE_DIR, 'sll2.pcap'))));
  if (!capture.ok) throw new Error(capture.error.message);
  return [...capture.value.records[0].data.subarray(12, 18)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

describe('compileDisplayFilter on an IPv6 frame (2001::1 to fe80::211:22ff:fe33:4455)', () => {
  const frame = sll2Cases().find((c) => c.name === 'SLL2 IPv6');
  if (frame === undefined) throw new Error('no SLL2 IPv6 edge case');
  const dissection = dissectFrame(frame.frame, frame.linkType, 1);
  const matches = (text: string): boolean => {
    const filter = compileDisplayFilter(text);
    if (!filter.ok) throw new Error(`${text}: ${filter.error.message}`);
    return filter.value.matches(dissection);
  };

  it('reads IPv6 addresses in every text form', () => {
    expect(matches('ipv6.src == 2001::1')).toBe(true);
    expect(matches('ipv6.src == 2001:0:0:0:0:0:0:1')).toBe(true);
    expect(matches('ipv6.addr == fe80::211:22ff:fe33:4455')).toBe(true);
    expect(matches('ipv6.addr == FE80:0::0211:22FF:FE33:4455')).toBe(true);
    expect(matches('ipv6.src == 2001::2')).toBe(false);
    expect(matches('ipv6.dst == ::ffff:1.2.3.4')).toBe(false);
    expect(matches('ipv6.src < fe80::1 && ipv6 && !ip')).toBe(true);
    expect(matches('ipv6.src == 2001::/16 && ipv6.dst == fe80::/10')).toBe(true);
    expect(matches('ipv6.addr != fd00::/8')).toBe(true);
    expect(matches('ipv6.addr != fe80::/64')).toBe(false);
    expect(matches('ipv6.src == 2001:1::/32')).toBe(false);
  });

  it('refuses what is not an IPv6 address', () => {
    for (const text of ['ipv6.src == 2001:::1', 'ipv6.src == 1:2:3:4:5:6:7:8:9', 'ipv6.src == 2001::1/129', 'ipv6.src < 2001::/16', 'ipv6.src == 10.0.0.1']) {
      expect(compileDisplayFilter(text).ok, text).toBe(false);
    }
  });
});
