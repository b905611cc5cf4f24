/**
 * `ustack dissect` on a capture cut short — made here with `head -c`, as a killed tcpdump leaves
 * it — prints every complete frame, then tshark's one-line warning, and exits as tshark does;
 * compared with a live tshark on the same files, classic pcap and pcapng, at cuts inside the
 * file header, inside record headers, inside packet data and on record boundaries.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runDissect } from '../../src/cli/dissect-command.js';
import { concatBytes } from '../../src/core/bytes.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { tsharkVersion } from '../fixtures/tshark-fields.js';
import { pcapngEnhancedPacket, pcapngInterface, pcapngSectionHeader } from '../pcap/fixtures.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = resolve(HERE, '../../captures/fixtures');
const TSHARK = tsharkVersion();
const directory = mkdtempSync(join(tmpdir(), 'ustack-cut-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** `head -c LENGTH SOURCE > name`; returns the new file's path. */
function headC(source: string, length: number, name: string): string {
  const path = join(directory, name);
  const run = spawnSync('sh', ['-c', 'head -c "$1" "$2" > "$3"', 'sh', String(length), source, path]);
  if (run.status !== 0) throw new Error(`head -c ${length} ${source} failed: ${run.stderr}`);
  return path;
}

interface Outcome {
  readonly frames: number;
  readonly warnings: string[];
  readonly code: number;
}

async function ours(path: string, extra: string[] = []): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDissect(
    [path, ...extra],
    (line) => out.push(line),
    (line) => err.push(line),
  );
  return { frames: out.filter((line) => /^Frame \d+: /.test(line)).length, warnings: err.map((line) => line.replace(/^ustack dissect: /, '')), code };
}

function theirs(path: string, extra: string[] = []): Outcome {
  const run = spawnSync('tshark', ['-r', path, '-n', '-T', 'fields', '-e', 'frame.number', ...extra], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
  });
  const warnings = run.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('Running as user'));
  return {
    frames: run.stdout.split('\n').filter((line) => line !== '').length,
    warnings: warnings.map((line) => line.replace(/^tshark: /, '')),
    code: run.status ?? -1,
  };
}

/** Offsets at which each record of a little-endian classic pcap starts. */
function recordStarts(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts: number[] = [];
  for (let offset = 24; offset < bytes.length; offset += 16 + view.getUint32(offset + 8, true)) starts.push(offset);
  return starts;
}

describe('a capture cut short in its 11th record (eth.pcap, head -c)', () => {
  const source = join(FIXTURE_DIR, 'eth.pcap');
  const starts = recordStarts(new Uint8Array(readFileSync(source)));
  const cut = headC(source, starts[10] + 30, 'eth-cut-in-11th.pcap');

  it('prints the 10 complete frames, then the warning, and exits with status 2', async () => {
    const outcome = await ours(cut);
    expect(outcome.frames).toBe(10);
    expect(outcome.warnings).toEqual([`The file "${cut}" appears to have been cut short in the middle of a packet.`]);
    expect(outcome.code).toBe(2);
  });

  it('with --json too: 10 lines, the same warning', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runDissect(
      [cut, '--json'],
      (line) => out.push(line),
      (line) => err.push(line),
    );
    expect(out.map((line) => (JSON.parse(line) as Record<string, string>)['frame.number'])).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(err).toEqual([`ustack dissect: The file "${cut}" appears to have been cut short in the middle of a packet.`]);
    expect(code).toBe(2);
  });

  it('a file cut inside its global header says "or other data"', async () => {
    const outcome = await ours(headC(source, 10, 'eth-cut-10.pcap'));
    expect(outcome).toMatchObject({ frames: 0, code: 2 });
    expect(outcome.warnings[0]).toMatch(/appears to have been cut short in the middle of a packet or other data\.$/);
  });
});

if (TSHARK === undefined && process.env.CI !== 'true') console.warn('SKIPPED (no tshark): cut-short captures compared with a live tshark');

describe.runIf(TSHARK !== undefined || process.env.CI === 'true')('cut short anywhere, as tshark says it', () => {
  it("classic pcap: frames printed, warning and exit status equal tshark's at every kind of cut", async () => {
    const source = join(FIXTURE_DIR, 'sll2.pcap');
    const bytes = new Uint8Array(readFileSync(source));
    const starts = recordStarts(bytes);
    // 1 to 3 bytes are too few for tshark to know the format; it guesses another one. 0 is empty.
    const lengths = [
      0,
      4,
      10,
      23,
      24,
      30,
      39,
      40,
      41,
      starts[3],
      starts[3] + 1,
      starts[3] + 15,
      starts[3] + 16,
      starts[3] + 17,
      starts[10] + 30,
      bytes.length - 1,
      bytes.length,
    ];
    const differences: string[] = [];
    for (const length of lengths) {
      const path = headC(source, length, `sll2-${length}.pcap`);
      const a = await ours(path);
      const b = theirs(path);
      if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`head -c ${length}: ours ${JSON.stringify(a)}, tshark's ${JSON.stringify(b)}`);
    }
    expect(differences, differences.join('\n')).toEqual([]);
  });

  it('pcapng: the same, at cuts in the interface block, in block headers and in packet data', async () => {
    const capture = readCapture(new Uint8Array(readFileSync(join(FIXTURE_DIR, 'sll2.pcap'))));
    if (!capture.ok) throw new Error(capture.error.message);
    const section = pcapngSectionHeader(true);
    const interfaceBlock = pcapngInterface(true, 276, { snaplen: 262144 });
    const packets = capture.value.records.slice(0, 6).map((record, i) => pcapngEnhancedPacket(true, 0, BigInt(1_800_000_000_000_000 + i), record.data));
    const file = concatBytes(section, interfaceBlock, ...packets);
    const source = join(directory, 'sll2.pcapng');
    writeFileSync(source, file);
    const first = section.length + interfaceBlock.length;
    const second = first + packets[0].length;
    // Cuts inside the section header make tshark try other formats; they are not compared.
    const lengths = [
      section.length,
      section.length + 4,
      section.length + 12,
      first,
      first + 2,
      first + 4,
      first + 7,
      first + 8,
      first + 20,
      second,
      second + 4,
      second + 9,
      file.length - 4,
      file.length,
    ];
    const differences: string[] = [];
    for (const length of lengths) {
      const path = headC(source, length, `sll2-${length}.pcapng`);
      const a = await ours(path);
      const b = theirs(path);
      if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`head -c ${length}: ours ${JSON.stringify(a)}, tshark's ${JSON.stringify(b)}`);
    }
    expect(differences, differences.join('\n')).toEqual([]);
  });
});
