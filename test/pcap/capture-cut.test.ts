/**
 * Captures cut short (tcpdump killed mid-write, `head -c`): every prefix of a real capture, in
 * classic pcap and in pcapng, reads as its complete records plus the cut, and the cut is of the
 * kind tshark names ("in the middle of a packet", or "… or other data" while the file's headers
 * are still being read). The expected record counts come from walking the files' own headers
 * here, independently of the readers.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/core/bytes.js';
import { readCaptureUpToCut } from '../../src/pcap/capture-cut.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { pcapngEnhancedPacket, pcapngInterface, pcapngSectionHeader, pcapngSimplePacket } from './fixtures.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SLL2 = new Uint8Array(readFileSync(resolve(HERE, '../../captures/fixtures/sll2.pcap')));

/** Offsets at which each record of a little-endian classic pcap ends, read by hand. */
function pcapRecordEnds(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ends: number[] = [];
  for (let offset = 24; offset < bytes.length;) {
    offset += 16 + view.getUint32(offset + 8, true);
    ends.push(offset);
  }
  return ends;
}

/** Each block of a little-endian pcapng file: where it starts and ends, and its type. */
function pcapngBlocks(bytes: Uint8Array): { start: number; end: number; type: number }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks: { start: number; end: number; type: number }[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const end = offset + view.getUint32(offset + 4, true);
    blocks.push({ start: offset, end, type: view.getUint32(offset, true) });
    offset = end;
  }
  return blocks;
}

/** sll2.pcap's records as pcapng: a section, its interface, a name-resolution block, packets. */
function sll2AsPcapng(): Uint8Array {
  const capture = readCapture(SLL2);
  if (!capture.ok) throw new Error(capture.error.message);
  const records = capture.value.records;
  const nameResolution = Uint8Array.from([4, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0]);
  return concatBytes(
    pcapngSectionHeader(true),
    pcapngInterface(true, 276, { snaplen: 262144, tsresol: 9 }),
    pcapngEnhancedPacket(true, 0, 1n, records[0].data),
    nameResolution,
    ...records.slice(1, -1).map((record, i) => pcapngEnhancedPacket(true, 0, BigInt(i + 2), record.data)),
    pcapngSimplePacket(true, records[records.length - 1].data),
  );
}

describe('a classic pcap cut at every length', () => {
  const ends = pcapRecordEnds(SLL2);

  it('walks to exactly the end of the file', () => {
    expect(ends.length).toBe(20);
    expect(ends[ends.length - 1]).toBe(SLL2.length);
  });

  it('gives the records wholly before the cut, and the cut unless it falls between records', () => {
    const whole = readCapture(SLL2);
    if (!whole.ok) throw new Error(whole.error.message);
    for (let length = 0; length <= SLL2.length; length++) {
      const result = readCaptureUpToCut(SLL2.subarray(0, length));
      expect(result.ok, `length ${length}`).toBe(true);
      if (!result.ok) continue;
      const complete = ends.filter((end) => end <= length).length;
      expect(result.value.records.length, `length ${length}`).toBe(complete);
      // The same bytes of the same file as the whole file's records (subarrays of one buffer).
      const where = (records: readonly { data: Uint8Array }[]) => records.map((r) => `${r.data.byteOffset}+${r.data.length}`).join(' ');
      expect(where(result.value.records)).toBe(where(whole.value.records.slice(0, complete)));
      const boundary = length === 0 || length === 24 || ends.includes(length);
      expect(result.value.cut === undefined, `length ${length}: cut`).toBe(boundary);
      // Only a cut in the 24-byte global header is met while opening.
      if (result.value.cut) expect(result.value.cut.whileOpening, `length ${length}`).toBe(length < 24);
    }
  });

  it('an empty file is an empty capture, not a cut', () => {
    expect(readCaptureUpToCut(new Uint8Array(0))).toEqual({ ok: true, value: { records: [] } });
  });

  it('a file malformed other than by its end is still an error', () => {
    const broken = SLL2.slice(0, 200);
    new DataView(broken.buffer).setUint32(24 + 8, 0x7fffffff, true); // first record's captured length
    const result = readCaptureUpToCut(broken);
    expect(result).toMatchObject({ ok: false, error: { reason: 'badField', recordIndex: 0 } });
  });
});

describe('a pcapng cut at every length', () => {
  const file = sll2AsPcapng();
  const blocks = pcapngBlocks(file);

  it('has a section, an interface, packets and a name-resolution block among them', () => {
    expect(blocks.map((b) => b.type).slice(0, 4)).toEqual([0x0a0d0d0a, 1, 6, 4]);
    expect(blocks[blocks.length - 1].end).toBe(file.length);
  });

  it("gives the packets wholly before the cut, and tshark's kind of cut", () => {
    const packets = blocks.filter((b) => b.type === 6 || b.type === 3);
    const [section, , firstPacket] = blocks;
    for (let length = 0; length <= file.length; length++) {
      const result = readCaptureUpToCut(file.subarray(0, length));
      expect(result.ok, `length ${length}`).toBe(true);
      if (!result.ok) continue;
      expect(result.value.records.length, `length ${length}`).toBe(packets.filter((b) => b.end <= length).length);
      const boundary = length === 0 || blocks.some((b) => b.end === length);
      expect(result.value.cut === undefined, `length ${length}: cut`).toBe(boundary);
      if (result.value.cut === undefined) continue;
      // tshark opens a pcapng by reading its section, the interfaces after it, and the type and
      // length of the next block; a cut in any of that is "… or other data".
      const whileOpening = length < section.end || length < firstPacket.start + 8;
      expect(result.value.cut.whileOpening, `length ${length}`).toBe(whileOpening);
    }
  });
});
