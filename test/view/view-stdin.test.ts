/**
 * `ustack view -` reads the capture from standard input, as `ustack dissect -` does: the built
 * command on a real pipe (`cat FILE | ustack view - > page.html`, and `-o FILE.html`) draws the
 * same frames as `ustack view FILE`; a capture cut short on the pipe shows its complete frames;
 * bytes that are no capture are refused naming standard input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runView, viewModelOfFile } from '../../src/view/view-command.js';
import type { ViewModel } from '../../src/view/view-model.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const FIXTURE = join(ROOT, 'captures/fixtures/sll2.pcap');
const scratch = mkdtempSync(join(tmpdir(), 'ustack-view-stdin-'));

beforeAll(() => {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
}, 180_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The model a page carries in its JSON block. */
function modelOf(html: string): ViewModel {
  const json = /<script type="application\/json" id="model">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (json === undefined) throw new Error('no model in the page');
  return JSON.parse(json) as ViewModel;
}

/** Standard input in `parts`. */
async function* chunks(...parts: Array<Uint8Array | string>): AsyncIterable<Uint8Array | string> {
  yield* parts;
}

/** `cat input | ustack view ARGS` (a real pipe, as a shell makes it). */
function piped(input: string, args: string[]) {
  return spawnSync('sh', ['-c', 'input=$1; shift; cat "$input" | "$@"', 'sh', input, process.execPath, MAIN, 'view', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

describe('ustack view - (standard input)', () => {
  it('without -o the page goes to standard output, the summary to standard error; the frames are those of ustack view FILE', async () => {
    const run = piped(FIXTURE, ['-']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^<!doctype html>/);
    expect(run.stderr).toBe('wrote standard output: 20 frames, 1 TCP connection (0 retransmissions), 0 fragmented datagrams\n');
    const page = modelOf(run.stdout);
    const file = await viewModelOfFile(FIXTURE);
    expect(page.title).toBe('standard input');
    expect(page.frames.map((f) => f.hex)).toEqual(file.frames.map((f) => f.hex));
    expect(page.frames.map((f) => f.dissection)).toEqual(file.frames.map((f) => f.dissection));
    expect(page.connections).toEqual(file.connections);
  });

  it('with -o FILE.html the page goes there and the summary to standard output', () => {
    const written = join(scratch, 'piped.html');
    const run = piped(FIXTURE, ['-', '-o', written]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`wrote ${written}: 20 frames, 1 TCP connection (0 retransmissions), 0 fragmented datagrams\n`);
    expect(modelOf(readFileSync(written, 'utf8')).frames).toHaveLength(20);
  });

  it('a capture cut short on standard input shows its complete frames; bytes that are no capture exit 1 naming standard input', async () => {
    const bytes = readFileSync(FIXTURE);
    const pages: string[] = [];
    const err: string[] = [];
    const cut = await runView(
      ['-'],
      () => {},
      (line) => err.push(line),
      {
        stdin: chunks(bytes.subarray(0, 500), bytes.subarray(500, 1000)), // inside the 10th record
        stdout: async (html) => void pages.push(html),
      },
    );
    expect(cut).toBe(0);
    expect(modelOf(pages[0]).frames).toHaveLength(9);
    const junk: string[] = [];
    const code = await runView(
      ['-'],
      () => {},
      (line) => junk.push(line),
      { stdin: chunks('GET / HTTP/1.1\r\n\r\n'), stdout: async () => {} },
    );
    expect(code).toBe(1);
    expect(junk[0]).toMatch(/^ustack view: standard input: not a readable capture/);
  });
});
