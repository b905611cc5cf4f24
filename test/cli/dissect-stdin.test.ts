/**
 * The built `ustack dissect` reading a real pipe (`ustack dissect - < FILE`) and stopping after
 * `-c N` frames, next to tshark doing the same (`tshark -r - < FILE`, `tshark -c N`): the same
 * frames, the same warning for a capture cut short, the same exit status.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsharkVersion } from '../fixtures/tshark-fields.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const FIXTURE = join(ROOT, 'captures/fixtures/sll2.pcap');
const TSHARK = tsharkVersion();
const scratch = mkdtempSync(join(tmpdir(), 'ustack-dissect-stdin-'));
const CUT = join(scratch, 'cut.pcap');

beforeAll(() => {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  writeFileSync(CUT, readFileSync(FIXTURE).subarray(0, 1000)); // inside the 10th record
}, 180_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Outcome {
  readonly frameNumbers: string[];
  readonly warnings: string[];
  readonly code: number | null;
}

/**
 * Runs `command` with standard input a pipe from `cat input` (Node's own stdio pipes are
 * sockets, which tshark refuses as "not a regular file").
 */
function piped(command: string[], input?: string): SpawnSyncReturns<string> {
  if (input === undefined) return spawnSync(command[0], command.slice(1), { encoding: 'utf8' });
  return spawnSync('sh', ['-c', 'input=$1; shift; cat "$input" | "$@"', 'sh', input, ...command], { encoding: 'utf8' });
}

/** `ustack dissect ARGS --json`, stdin from `input` when given. */
function ours(args: string[], input?: string): Outcome {
  const run = piped([process.execPath, MAIN, 'dissect', ...args, '--json'], input);
  const frameNumbers = run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as Record<string, string>)['frame.number']);
  return {
    frameNumbers,
    warnings: run.stderr
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.replace(/^ustack dissect: /, '')),
    code: run.status,
  };
}

/** `tshark -r ARGS -T fields -e frame.number`, stdin from `input` when given. */
function theirs(args: string[], input?: string): Outcome {
  const run = piped(['tshark', '-n', '-T', 'fields', '-e', 'frame.number', '-r', ...args], input);
  const warnings = run.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('Running as user'));
  return {
    frameNumbers: run.stdout.split('\n').filter((line) => line !== ''),
    warnings: warnings.map((line) => line.replace(/^tshark: /, '')),
    code: run.status,
  };
}

describe('ustack dissect - reads a pipe', () => {
  it('every frame of a capture piped in', () => {
    const outcome = ours(['-'], FIXTURE);
    expect(outcome.code).toBe(0);
    expect(outcome.frameNumbers).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
    expect(outcome.warnings).toEqual([]);
  });
});

if (TSHARK === undefined && process.env.CI !== 'true') console.warn('SKIPPED (no tshark): dissect - and -c compared with a live tshark');

describe.runIf(TSHARK !== undefined || process.env.CI === 'true')('standard input and -c, as tshark', () => {
  it('a whole capture and a cut-short one through a pipe', () => {
    for (const file of [FIXTURE, CUT]) expect(ours(['-'], file), file).toEqual(theirs(['-'], file));
  });

  it('-c N on a whole and on a cut-short capture, from a file and from a pipe', () => {
    // The cut file holds 9 complete frames: -c 9 never reaches the cut, -c 10 does.
    for (const n of ['5', '9', '10', '25']) {
      for (const file of [FIXTURE, CUT]) expect(ours([file, '-c', n]), `${file} -c ${n}`).toEqual(theirs([file, '-c', n]));
    }
    for (const n of ['9', '10']) expect(ours(['-', '-c', n], CUT), `- -c ${n} < cut`).toEqual(theirs(['-', '-c', n], CUT));
  });
});
