/**
 * Every field the dissector gives a byte range lies inside its layer's header (or, for data and
 * padding, inside the layer), and the named fields whose value is a plain number in those bytes
 * read back from them: the ranges `ustack view` draws are the bytes the values came from.
 * Checksum coverage names the header (IPv4, ICMP) or segment (UDP, TCP) and the pseudo-header.
 * And judged by tshark: each named field lies at the position and size tshark's PDML gives it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dissectFrame } from '../../src/dissect/dissect.js';
import { readCapture } from '../../src/pcap/pcap.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = resolve(HERE, '../../captures/fixtures');
const hasTshark = spawnSync('sh', ['-c', 'command -v tshark'], { stdio: 'ignore' }).status === 0;
/** Frames of each fixture compared with tshark's PDML (every kind of frame is among the first). */
const PDML_FRAMES = 150;

/** Fields stored big-endian in exactly their bytes, printed in decimal or tshark's hex. */
const WHOLE_BYTE_FIELDS = new Set([
  'ip.len',
  'ip.id',
  'ip.ttl',
  'ip.proto',
  'ip.checksum',
  'icmp.type',
  'icmp.code',
  'icmp.checksum',
  'icmp.seq',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
  'udp.checksum',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.window_size_value',
  'tcp.checksum',
  'tcp.urgent_pointer',
  'tcp.options.mss_val',
  'tcp.options.timestamp.tsval',
  'tcp.options.timestamp.tsecr',
  'tcp.options.sack_le',
  'tcp.options.sack_re',
  'eth.type',
  'sll.pkttype',
  'sll.hatype',
  'sll.ifindex',
  'sll.etype',
  'arp.opcode',
]);

function readNumber(bytes: Uint8Array): number {
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  return value;
}

describe('field byte ranges', () => {
  const files = readdirSync(FIXTURE_DIR).filter((name) => name.endsWith('.pcap'));

  it.each(files)('%s: every ranged field lies in its layer and the numeric ones read back from their bytes', (name) => {
    const capture = readCapture(new Uint8Array(readFileSync(join(FIXTURE_DIR, name))));
    if (!capture.ok) throw new Error(capture.error.message);
    let checked = 0;
    let ranged = 0;
    for (const record of capture.value.records) {
      const d = dissectFrame(record.data, record.linkType, record.index + 1, { originalLength: record.originalLength });
      for (const layer of d.layers) {
        if (layer.layer === 'frame' || layer.layer === 'malformed') continue;
        const layerEnd = Math.max(layer.end, layer.payloadEnd);
        for (const field of layer.fields) {
          if (field.start === undefined || field.end === undefined) continue;
          ranged++;
          expect(field.start, `${name} #${d.frameNumber} ${field.label}`).toBeGreaterThanOrEqual(layer.start);
          expect(field.end, `${name} #${d.frameNumber} ${field.label}`).toBeLessThanOrEqual(layerEnd);
          expect(field.end).toBeLessThanOrEqual(record.data.length);
          if (field.name !== undefined && WHOLE_BYTE_FIELDS.has(field.name)) {
            const value = readNumber(record.data.subarray(field.start, field.end));
            const printed = field.value.startsWith('0x') ? Number.parseInt(field.value, 16) : Number(field.value);
            expect(value, `${name} #${d.frameNumber} ${field.name}`).toBe(printed);
            checked++;
          }
          if (field.name === 'ip.src' || field.name === 'ip.dst') {
            expect([...record.data.subarray(field.start, field.end)].join('.')).toBe(field.value);
          }
        }
      }
    }
    expect(ranged).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(0);
  });

  it('checksums name what they cover: the IPv4 header; the TCP segment with its pseudo-header', () => {
    const capture = readCapture(new Uint8Array(readFileSync(join(FIXTURE_DIR, 'eth.pcap'))));
    if (!capture.ok) throw new Error(capture.error.message);
    const record = capture.value.records.find((r) => dissectFrame(r.data, r.linkType, 1).layers.some((l) => l.layer === 'tcp'))!;
    const d = dissectFrame(record.data, record.linkType, record.index + 1);
    const ip = d.layers.find((l) => l.layer === 'ip')!;
    const tcp = d.layers.find((l) => l.layer === 'tcp')!;
    const ipChecksum = ip.fields.find((f) => f.name === 'ip.checksum')!;
    expect(ipChecksum.checksum).toMatchObject({ start: ip.start, end: ip.payloadStart });
    expect(ipChecksum.checksum?.pseudoHeader).toBeUndefined();
    const tcpChecksum = tcp.fields.find((f) => f.name === 'tcp.checksum')!;
    const source = ip.fields.find((f) => f.name === 'ip.src')!.value;
    const destination = ip.fields.find((f) => f.name === 'ip.dst')!.value;
    const ipLength = Number(ip.fields.find((f) => f.name === 'ip.len')!.value);
    expect(tcpChecksum.checksum).toMatchObject({
      start: tcp.start,
      end: tcp.start + ipLength - (ip.payloadStart - ip.start),
      pseudoHeader: { source, destination, protocol: 6, length: ipLength - (ip.payloadStart - ip.start) },
    });
    expect(['good', 'bad']).toContain(tcpChecksum.checksum?.verdict);
  });

  it.each(files)("%s: every named field's bytes are where tshark's PDML puts them", (name) => {
    if (!hasTshark) {
      if (process.env.CI === 'true') throw new Error('tshark is required under CI=true');
      console.warn(`SKIPPED (no tshark): ${name}'s field positions against tshark's PDML`);
      return;
    }
    const path = join(FIXTURE_DIR, name);
    // Reassembly off, as the dissector (and the tshark comparisons of test/dissect) take each frame alone.
    const run = spawnSync('tshark', ['-r', path, '-c', String(PDML_FRAMES), '-o', 'ip.defragment:FALSE', '-T', 'pdml'], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    expect(run.status).toBe(0);
    const packets = run.stdout.split('<packet>').slice(1);
    const capture = readCapture(new Uint8Array(readFileSync(path)));
    if (!capture.ok) throw new Error(capture.error.message);
    const records = capture.value.records.slice(0, PDML_FRAMES);
    expect(packets.length).toBe(records.length);
    const differences: string[] = [];
    let agreed = 0;
    records.forEach((record, i) => {
      // Field name → [pos, size] of each occurrence, in tree order.
      const theirs = new Map<string, Array<readonly [number, number]>>();
      for (const tag of packets[i].match(/<field [^>]*>/g) ?? []) {
        const field = /name="([^"]*)"/.exec(tag)?.[1];
        const pos = /pos="(\d+)"/.exec(tag)?.[1];
        const size = /size="(\d+)"/.exec(tag)?.[1];
        if (field === undefined || pos === undefined || size === undefined) continue;
        const list = theirs.get(field) ?? [];
        list.push([Number(pos), Number(size)]);
        theirs.set(field, list);
      }
      const seen = new Map<string, number>();
      const d = dissectFrame(record.data, record.linkType, i + 1, { originalLength: record.originalLength });
      for (const layer of d.layers) {
        for (const field of layer.fields) {
          // data.len is a field tshark generates (size 0); ours names the data's bytes.
          if (field.name === undefined || field.start === undefined || field.name === 'data.len') continue;
          const occurrence = seen.get(field.name) ?? 0;
          seen.set(field.name, occurrence + 1);
          const position = theirs.get(field.name)?.[occurrence];
          const ours = `${field.start}+${field.end! - field.start}`;
          if (position === undefined) differences.push(`frame ${i + 1} ${field.name}: ours ${ours}, not in tshark's`);
          else if (position[0] !== field.start || position[1] !== field.end! - field.start)
            differences.push(`frame ${i + 1} ${field.name}: ours ${ours}, tshark's ${position[0]}+${position[1]}`);
          else agreed++;
        }
      }
    });
    expect(differences).toEqual([]);
    expect(agreed).toBeGreaterThan(records.length * 5);
  });
});
