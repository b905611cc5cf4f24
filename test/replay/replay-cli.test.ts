/**
 * `ustack replay` as a user runs it (`node dist/src/cli/main.js replay …`): help, usage errors
 * (exit 2, one line), a capture that replays with no divergence (exit 0), one with divergences
 * (exit 1, each named with both segments), --json, and a capture with a changed segment named by
 * frame and field.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/pcap/pcap.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const SLL2 = join(ROOT, 'captures/fixtures/sll2.pcap');
const ETH_OFFLOAD = join(ROOT, 'captures/fixtures/eth-offload.pcap');
const scratch = mkdtempSync(join(tmpdir(), 'ustack-replay-cli-'));

beforeAll(() => {
  // The CLI as built from these sources (compiles only what changed).
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
}, 180_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function ustack(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...args], { cwd: scratch, encoding: 'utf8', env: { ...process.env, USTACK_DEBUG: '' }, timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('ustack replay', () => {
  it('--help and `help replay` print the usage and run nothing', () => {
    const help = ustack('replay', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: ustack replay FILE --host ADDR \[--linux\] \[--strict\] \[--json\]/);
    for (const option of [
      '--linux',
      '--strict',
      '--json',
      '--conversation N',
      '--time-tolerance MS',
      '--window-tolerance BYTES',
      'Exit status: 0 no divergence',
    ]) {
      expect(help.stdout).toContain(option);
    }
    expect(ustack('help', 'replay').stdout).toBe(help.stdout);
    expect(ustack('--help').stdout).toMatch(/^ {2}replay FILE --host ADDR \[--linux\] \[--strict\] \[--json\]$/m);
  });

  it.each([
    [[], /^ustack replay: which capture FILE\? /],
    [['x.pcap'], /^ustack replay: --host ADDR is needed/],
    [['x.pcap', '--host', '10.0.0'], /^ustack replay: --host takes an IPv4 or IPv6 ADDR \(a\.b\.c\.d, fd00::2\), not '10\.0\.0'$/],
    [['x.pcap', '--host', '10.0.0.1', '--conversation', '0'], /^ustack replay: --conversation takes N \(a conversation number, 1 or more\), not '0'$/],
    [['x.pcap', '--host', '10.0.0.1', '--time-tolerance', 'soon'], /^ustack replay: --time-tolerance takes MS \(0 or more\), not 'soon'$/],
    [['x.pcap', '--host', '10.0.0.1', '--fast'], /^ustack replay: unknown option --fast/],
  ])('usage error %j: one line, exit 2', (args, pattern) => {
    const run = ustack('replay', ...(args as string[]));
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr.trimEnd()).toMatch(pattern);
  });

  it('a missing file: one line, exit 1', () => {
    const run = ustack('replay', join(scratch, 'missing.pcap'), '--host', '10.0.0.1');
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^ustack replay: .*missing\.pcap: .*ENOENT/);
  });

  it("sll2.pcap's client on Linux's defaults, TCP only, windows within 1 MiB: PASS, exit 0", () => {
    const run = ustack('replay', SLL2, '--host', '10.3.3.1', '--linux', '--window-tolerance', '1048576', '--tcp-only');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^replay .*sll2\.pcap as 10\.3\.3\.1: Linux's defaults, MTU 1500, tolerances 4 ms, window 1048576 bytes/);
    expect(lines).toContain('conversation 1: 10.3.3.1:52428 (connected) with 10.3.3.2:7000: 4 segments in; the host sent 6, ustack 6, 6 lined up');
    expect(lines.at(-1)).toBe('PASS: no divergence');
  });

  it("sll2.pcap's client with its UDP and ICMP: the datagram to the closed port differs in DF, named with both datagrams, exit 1", () => {
    const run = ustack('replay', SLL2, '--host', '10.3.3.1', '--linux', '--window-tolerance', '1048576');
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toContain('datagrams: 3 packets in; UDP sockets: 58884 (1 sent); the host sent 1, ustack 1, 1 lined up');
    expect(lines).toContain("  ip: frame 17 (udp 58884 > 10.3.3.2:7001 len 13): ustack's IP header TTL 64, DF 0, TOS 0x00; the host's TTL 64, DF 1, TOS 0x00");
    expect(lines).toContain('    host:   udp 58884 > 10.3.3.2:7001 len 13; TTL 64, DF 1, TOS 0x00 at 2678.674 ms (capture frame 17)');
    expect(run.stdout).toMatch(/^ {4}ustack: udp 58884 > 10\.3\.3\.2:7001 len 13; TTL 64, DF 0, TOS 0x00 at 2678\.674 ms \(replay frame \d+\)$/m);
    expect(lines).toContain("note: the host's 2 echo requests (a ping it ran) are not replayed");
    expect(lines.at(-1)).toBe('FAIL: 1 divergence (ip 1)');
  });

  it("sll2.pcap's client on ustack's defaults: the SYN's ECN request and window scale named with both segments, exit 1", () => {
    const run = ustack('replay', SLL2, '--host', '10.3.3.1', '--window-tolerance', '1048576');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('  flags: frame 7 (S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 10>): ustack sent flags SEW, the host S');
    expect(run.stdout).toMatch(/^ {4}host: {3}S 0:0\(0\) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 10> at [\d.]+ ms \(capture frame 7\)$/m);
    expect(run.stdout).toMatch(/^ {4}ustack: SEW 0:0\(0\) win 65535 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 5> at [\d.]+ ms \(replay frame 3\)$/m); // after the two echo replies played in
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('FAIL: 3 divergences (flags 1, options 1, ip 1)');
  });

  it('--strict compares windows exactly whatever the tolerance: the same run then names each window, exit 1', () => {
    // eth-offload.pcap's receiver: within the tolerance only the UDP datagram's DF differs.
    const lenient = ustack('replay', ETH_OFFLOAD, '--host', '10.1.2.2', '--linux', '--window-tolerance', '1048576');
    expect(lenient.stdout.trimEnd().split('\n').at(-1)).toBe('FAIL: 1 divergence (ip 1)');
    const run = ustack('replay', ETH_OFFLOAD, '--host', '10.1.2.2', '--linux', '--strict', '--window-tolerance', '1048576');
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')[0]).toContain("Linux's defaults, strict");
    // (ustack's own windows there follow the receive-window model: docs/replay.md)
    expect(run.stdout).toMatch(
      /\n {2}window: frame 15 \(\. 1:1\(0\) ack 28961 win 102 <nop,nop,TS val 7 ecr 3823072167>\): ustack's window \d+ bytes \(field \d+\), the host's 104448 \(field 102\)/,
    );
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('FAIL: 6 divergences (window 5, ip 1)');
  });

  it('--json: one object with both segments of each divergence decoded', () => {
    const run = ustack('replay', SLL2, '--host', '10.3.3.1', '--json', '--window-tolerance', '1048576');
    const replayFrame = expect.any(Number);
    expect(run.code).toBe(1);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(1);
    const result = JSON.parse(run.stdout) as {
      pass: boolean;
      divergences: { kind: string; frames: { capture: number; replay: number }; expected: { flags: string; payload: string }; actual: { flags: string } }[];
      conversations: { role: string }[];
    };
    expect(result.pass).toBe(false);
    expect(result.divergences.map((d) => [d.kind, d.frames.capture, d.frames.replay])).toEqual([
      // The replay's pcap holds the two echo replies played in before the SYN.
      ['flags', 7, 3],
      ['options', 7, 3],
      ['ip', 17, replayFrame],
    ]);
    expect(result.divergences[0].expected.flags).toBe('S');
    expect(result.divergences[0].actual.flags).toBe('SEW');
    expect(result.conversations[0].role).toBe('connected');
  });

  it('a capture with a changed acknowledgement: the frame and the field are named', () => {
    const bytes = new Uint8Array(readFileSync(SLL2));
    const capture = readCapture(bytes);
    if (!capture.ok) throw new Error(capture.error.message);
    // Frame 10: the client's line (P. 1:18(17) ack 1); SLL2 header 20 bytes, IPv4 20, the ack at TCP byte 8.
    const record = capture.value.records[9];
    const at = record.data.byteOffset - bytes.byteOffset + 20 + 20 + 8;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setUint32(at, view.getUint32(at) + 5);
    const changed = join(scratch, 'changed.pcap');
    writeFileSync(changed, bytes);
    const run = ustack('replay', changed, '--host', '10.3.3.1', '--linux', '--window-tolerance', '1048576', '--tcp-only');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('  ack: frame 10 (P. 1:18(17) ack 6 win 63');
    expect(run.stdout).toContain('ustack acknowledged 1, the host 6');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('FAIL: 1 divergence (ack 1)');
  });
});

describe("the README's replay example", () => {
  it('runs under node --test as written, importing ustack/replay from the built package, and passes', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const example = /```ts\n(\/\/ replay\.test\.ts:[\s\S]*?)```/.exec(readme)?.[1];
    expect(example, 'the README has a replay.test.ts block').toBeDefined();
    expect(example!.trimEnd().split('\n')).toHaveLength(10);
    // Plain JavaScript as written (no type annotations): run it with the package installed beside it.
    const app = join(scratch, 'app');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    symlinkSync(ROOT, join(app, 'node_modules', 'ustack'), 'dir');
    writeFileSync(join(app, 'replay.test.mjs'), example!.replace("'captures/fixtures/sll2.pcap'", JSON.stringify(SLL2)));
    // TAP, whose `# pass N` lines this reads: Node 20 picks it for a pipe, Node 24 the spec reporter.
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', join(app, 'replay.test.mjs')], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout).toMatch(/^# pass 1$/m);
    expect(run.stdout).toMatch(/^# fail 0$/m);
    expect(run.status).toBe(0);
  });
});
