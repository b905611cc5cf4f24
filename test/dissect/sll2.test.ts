/**
 * Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276), what `tcpdump -i any` writes: the
 * committed capture (captures/fixtures/sll2.pcap, recorded once by record-sll2.sh) read field for
 * field as tshark reads it, from the golden reading always and from a live tshark when there is
 * one; and, as root, a capture recorded now in throw-away network namespaces, compared with
 * tshark on the same file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDissect } from '../../src/cli/dissect-command.js';
import { dissectFrame, toTsharkFields } from '../../src/dissect/dissect.js';
import { emitLinuxSll2, LinuxSll2Header, parseLinuxSll2 } from '../../src/dissect/linux-sll2.js';
import { LinkType, readCapture } from '../../src/pcap/pcap.js';
import { writeGolden } from '../fixtures/write-golden.js';
import { formatGoldenJsonl, readGoldenJsonl, readTsharkFields, TSHARK_FIELDS, tsharkVersion, type TsharkFrame } from '../fixtures/tshark-fields.js';
import { freshRecording } from '../support/fresh-recording.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE = resolve(HERE, '../../captures/fixtures/sll2.pcap');
/**
 * tshark's reading of FIXTURE's cooked-header fields (TSHARK_FIELDS are in sll2.tshark.jsonl);
 * both rewritten by `UPDATE_GOLDEN=1 npx vitest run test/dissect/sll2.test.ts`.
 */
const SLL_GOLDEN = resolve(HERE, '../../captures/fixtures/sll2.sll-fields.tshark.jsonl');
const RECORD_SCRIPT = join(HERE, 'record-sll2.sh');
const TSHARK = tsharkVersion();
const IN_CI = process.env.CI === 'true';

/** The frame and cooked-header fields tshark has for a v2 frame. */
const SLL_FIELDS = [
  'frame.number',
  'frame.len',
  'frame.cap_len',
  'sll.etype',
  'sll.ltype',
  'sll.gretype',
  'sll.ifindex',
  'sll.hatype',
  'sll.pkttype',
  'sll.halen',
  'sll.src.eth',
  'sll.src.ipv4',
  'sll.src.other',
  'sll.unused',
  'sll.trailer',
] as const;

function bytesOf(path: string): Uint8Array {
  const buffer = readFileSync(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Our reading of every frame of the capture at `path`, for `fields`. */
function ourReading(path: string, fields: readonly string[]): TsharkFrame[] {
  const capture = readCapture(bytesOf(path));
  if (!capture.ok) throw new Error(`${path}: ${capture.error.message}`);
  return capture.value.records.map((record, i) =>
    toTsharkFields(dissectFrame(record.data, record.linkType, i + 1, { originalLength: record.originalLength }), { fields }),
  );
}

/** Every difference between two readings, one line each. */
function differences(ours: readonly TsharkFrame[], theirs: readonly TsharkFrame[]): string[] {
  const out: string[] = [];
  if (ours.length !== theirs.length) out.push(`frame count: ours ${ours.length}, tshark's ${theirs.length}`);
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) {
    for (const name of new Set([...Object.keys(ours[i]), ...Object.keys(theirs[i])])) {
      const a = JSON.stringify(ours[i][name]);
      const b = JSON.stringify(theirs[i][name]);
      if (a !== b) out.push(`frame ${i + 1} ${name}: ours ${a ?? 'absent'}, tshark's ${b ?? 'absent'}`);
    }
  }
  return out;
}

/** What a capture of record-sll2.sh's traffic must hold, read by tshark or by us. */
function expectRecordedTraffic(frames: readonly TsharkFrame[]): void {
  const count = (predicate: (frame: TsharkFrame) => boolean): number => frames.filter(predicate).length;
  expect(frames.length).toBeGreaterThanOrEqual(15);
  expect(
    count((f) => f['sll.etype'] === '0x0806'),
    'ARP',
  ).toBeGreaterThanOrEqual(2);
  expect(
    count((f) => f['icmp.type'] === '8'),
    'echo requests',
  ).toBeGreaterThanOrEqual(3);
  expect(
    count((f) => f['icmp.type'] === '3' && f['icmp.code'] === '3'),
    'port unreachable',
  ).toBe(1);
  expect(
    count((f) => f['tcp.flags'] === '0x0002' && f['tcp.options.mss_val'] !== undefined),
    'SYN with MSS',
  ).toBe(1);
  expect(
    count((f) => Number(f['tcp.len'] ?? 0) > 0),
    'TCP data both ways',
  ).toBeGreaterThanOrEqual(2);
  // The veth (Ethernet, one interface) and the loopback (ARPHRD_LOOPBACK, interface 1).
  expect(
    count((f) => f['sll.hatype'] === '1' && f['sll.src.eth'] !== undefined),
    'veth frames',
  ).toBeGreaterThanOrEqual(10);
  expect(
    count((f) => f['sll.hatype'] === '772' && f['sll.ifindex'] === '1'),
    'loopback frames',
  ).toBeGreaterThanOrEqual(2);
  expect(new Set(frames.map((f) => f['sll.pkttype'])).size, 'packet types (to us, broadcast, sent by us)').toBeGreaterThanOrEqual(3);
}

describe('the committed SLL2 capture (captures/fixtures/sll2.pcap)', () => {
  beforeAll(() => {
    if (process.env.UPDATE_GOLDEN !== '1') return;
    if (TSHARK === undefined) throw new Error('UPDATE_GOLDEN=1 needs tshark');
    writeGolden(FIXTURE);
    writeFileSync(SLL_GOLDEN, formatGoldenJsonl(readTsharkFields(FIXTURE, SLL_FIELDS)));
  });

  it('is a classic pcap of link type 276 that decodes whole', () => {
    const capture = readCapture(bytesOf(FIXTURE));
    expect(capture.ok).toBe(true);
    if (!capture.ok) return;
    expect(capture.value.format).toBe('pcap');
    expect(capture.value.records.length).toBeGreaterThanOrEqual(15);
    expect(capture.value.records.every((record) => record.linkType === LinkType.LINUX_SLL2)).toBe(true);
  });

  it('holds ARP, pings on the veth and the loopback, a TCP exchange and a port unreachable', () => {
    const ours = ourReading(FIXTURE, [...TSHARK_FIELDS, ...SLL_FIELDS]);
    expectRecordedTraffic(ours);
  });

  it('cooked-header fields equal the golden tshark reading', () => {
    expect(existsSync(SLL_GOLDEN), `${SLL_GOLDEN} exists`).toBe(true);
    const diffs = differences(ourReading(FIXTURE, SLL_FIELDS), readGoldenJsonl(SLL_GOLDEN));
    expect(diffs, diffs.join('\n')).toEqual([]);
  });

  if (TSHARK === undefined && !IN_CI) console.warn('SKIPPED (no tshark): sll2.pcap compared with a live tshark');
  it.runIf(TSHARK !== undefined || IN_CI)('every field equals a live tshark reading', () => {
    const fields = [...TSHARK_FIELDS, ...SLL_FIELDS.filter((name) => name !== 'frame.number')];
    const diffs = differences(ourReading(FIXTURE, fields), readTsharkFields(FIXTURE, fields));
    expect(diffs, diffs.join('\n')).toEqual([]);
  });

  it('`ustack dissect` shows each cooked header and the IPv4 or ARP packet it carries', async () => {
    const out: string[] = [];
    const code = await runDissect(
      [FIXTURE],
      (line) => out.push(line),
      (line) => out.push(`stderr: ${line}`),
    );
    expect(code).toBe(0);
    expect(out.filter((line) => line.startsWith('Frame '))).toHaveLength(ourReading(FIXTURE, ['frame.number']).length);
    expect(out.some((line) => line.includes('not dissected'))).toBe(false);
    expect(out.filter((line) => /^ {2}\[0\.\.20\) Linux cooked capture v2, /.test(line)).length).toBe(out.filter((line) => line.startsWith('Frame ')).length);
    expect(out).toContain('      Link-layer address type: Loopback (772)');
    expect(out).toContain('    → 28 bytes of payload to ARP');
  });

  it('its headers decode with the codec and emit back byte for byte', () => {
    const capture = readCapture(bytesOf(FIXTURE));
    if (!capture.ok) throw new Error(capture.error.message);
    for (const record of capture.value.records) {
      const header = LinuxSll2Header.checked(record.data);
      expect(header.ok).toBe(true);
      if (!header.ok) continue;
      const repr = parseLinuxSll2(header.value);
      expect(repr.ok).toBe(true);
      if (!repr.ok) continue;
      const out = new Uint8Array(20);
      expect(emitLinuxSll2(repr.value, out)).toBe(20);
      expect(out).toEqual(record.data.subarray(0, 20));
    }
  });
});

const RECORDING = freshRecording(
  RECORD_SCRIPT,
  ['ip', 'tcpdump', 'python3', 'ping', 'timeout', 'tshark'],
  'recording a tcpdump -i any capture in network namespaces',
);

describe('an SLL2 capture recorded now with tcpdump -i any', () => {
  it.runIf(RECORDING.runs)(
    'is read field for field as tshark reads it',
    () => {
      const directory = RECORDING.record({ file: 'any.pcap', timeoutMs: 60_000 });
      try {
        const path = join(directory, 'any.pcap');
        const fields = [...TSHARK_FIELDS, ...SLL_FIELDS.filter((name) => name !== 'frame.number')];
        const theirs = readTsharkFields(path, fields);
        expectRecordedTraffic(theirs);
        const diffs = differences(ourReading(path, fields), theirs);
        expect(diffs, diffs.join('\n')).toEqual([]);
      } finally {
        RECORDING.remove(directory);
      }
    },
    90_000,
  );
});
