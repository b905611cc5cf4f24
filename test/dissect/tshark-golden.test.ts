/**
 * `ustack dissect --json` must read every frame of every fixture capture exactly as tshark does:
 * the committed golden readings (captures/fixtures/NAME.tshark.jsonl) always, and a live tshark
 * run when tshark is installed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dissectFrame, toTsharkFields, TSHARK_JSON_FIELDS } from '../../src/dissect/dissect.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { goldenPathFor, readGoldenJsonl, readTsharkFields, TSHARK_FIELDS, tsharkVersion, type TsharkFrame } from '../fixtures/tshark-fields.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = resolve(HERE, '../../captures/fixtures');
const FIXTURES = readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith('.pcap'))
  .sort();
const TSHARK = tsharkVersion();

/** Our reading of every frame of a capture, as tshark-style field records. */
function ourReading(path: string): TsharkFrame[] {
  const bytes = readFileSync(path);
  const capture = readCapture(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (!capture.ok) throw new Error(`${path}: ${capture.error.message}`);
  return capture.value.records.map((record, i) => toTsharkFields(dissectFrame(record.data, record.linkType, i + 1, { originalLength: record.originalLength })));
}

/** The first `limit` differences between two readings, one line each. */
function differences(ours: readonly TsharkFrame[], theirs: readonly TsharkFrame[], limit = 10): string[] {
  const out: string[] = [];
  if (ours.length !== theirs.length) out.push(`frame count: ours ${ours.length}, tshark's ${theirs.length}`);
  for (let i = 0; i < Math.min(ours.length, theirs.length) && out.length < limit; i++) {
    const names = new Set([...Object.keys(ours[i]), ...Object.keys(theirs[i])]);
    for (const name of names) {
      const a = JSON.stringify(ours[i][name]);
      const b = JSON.stringify(theirs[i][name]);
      if (a !== b && out.length < limit) out.push(`frame ${i + 1} ${name}: ours ${a ?? 'absent'}, tshark's ${b ?? 'absent'}`);
    }
  }
  return out;
}

describe('dissect --json equals tshark on every fixture frame', () => {
  it('finds the fixture captures', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(5);
  });

  it('prints the same field list as the fixtures compare', () => {
    expect([...TSHARK_JSON_FIELDS]).toEqual([...TSHARK_FIELDS]);
  });

  for (const name of FIXTURES) {
    it(`${name}: golden reading`, () => {
      const path = join(FIXTURE_DIR, name);
      const diffs = differences(ourReading(path), readGoldenJsonl(goldenPathFor(path)));
      expect(diffs, diffs.join('\n')).toEqual([]);
    });
  }

  if (TSHARK === undefined && process.env.CI !== 'true') {
    console.warn('SKIPPED (no tshark): live comparison');
  }
  for (const name of FIXTURES) {
    it.runIf(TSHARK !== undefined || process.env.CI === 'true')(`${name}: live tshark`, () => {
      const path = join(FIXTURE_DIR, name);
      const diffs = differences(ourReading(path), readTsharkFields(path));
      expect(diffs, diffs.join('\n')).toEqual([]);
    });
  }
});
