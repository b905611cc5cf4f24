/**
 * `ustack run --tun`: the seed programs and curl under ustack on a TUN device, talking to the
 * Linux kernel's own programs in a network namespace this test makes (and removes). Needs root;
 * SKIPPED loudly otherwise, and under CI=true it must run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale, EXAMPLES, IN_CI, IS_ROOT, PYTHON, run, start, stopAll, ustackRun } from './support.js';

const NS = `ustrun${process.pid % 10000}`;
const DEVICE = `ustrun${process.pid % 10000}`;
const US = '10.79.0.2';
const KERNEL = '10.79.0.1';
const device = ['--tun', DEVICE, '--addr', `${US}/24`, '--host-addr', KERNEL, '--netns', NS];
const inNs = (...command: string[]) => ['ip', 'netns', 'exec', NS, ...command];
const py = (name: string, ...args: string[]) => [PYTHON, '-u', join(EXAMPLES, name), ...args];

const canRun = IS_ROOT;
if (!canRun && !IN_CI) console.warn('SKIPPED (needs root): test/run/tun.test.ts — ustack run on a TUN device against the kernel');
const suite = canRun || IN_CI ? describe : describe.skip;

suite('ustack run --tun: the programs on ustack, their peers on the kernel', () => {
  beforeAll(() => {
    buildIfStale();
    spawnSync('ip', ['netns', 'add', NS]);
    spawnSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('the TCP upper-casing client on ustack, the server on the kernel', async () => {
    const server = start(inNs(...py('tcp_upper_server.py')));
    await server.waitFor(/ready to receive/);
    const client = await run(ustackRun(device, py('tcp_upper_client.py', KERNEL)), { stdin: 'from ustack to linux\n' });
    expect(client.stderr).toBe('');
    expect(client.stdout).toBe('Input lowercase sentence:From Server: FROM USTACK TO LINUX\n');
    await server.stop();
  });

  it('the UDP upper-casing client on ustack, the server on the kernel', async () => {
    const server = start(inNs(...py('udp_upper_server.py')));
    await server.waitFor(/ready to receive/);
    const client = await run(ustackRun(device, py('udp_upper_client.py', KERNEL)), { stdin: 'datagram\n', timeoutMs: 20_000 });
    expect(client.stdout).toBe('Input lowercase sentence:DATAGRAM\n');
    await server.stop();
  });

  it('the echo server on ustack, the echo client on the kernel', async () => {
    const server = start(ustackRun(device, py('echo_server.py', US)));
    try {
      // Up once ustack answers the kernel's ping on the device, and listening once a connect is not refused.
      for (let i = 0; i < 50 && spawnSync('ip', ['netns', 'exec', NS, 'ping', '-c', '1', '-W', '1', US]).status !== 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      let client = await run(inNs(...py('echo_client.py', US)), { stdin: 'linux\nto ustack\n' });
      for (let i = 0; i < 20 && /ConnectionRefusedError/.test(client.stderr); i++) {
        await new Promise((r) => setTimeout(r, 100));
        client = await run(inNs(...py('echo_client.py', US)), { stdin: 'linux\nto ustack\n' });
      }
      expect(client.stdout).toBe('received linux\nreceived to ustack\n');
      const done = await server.exited;
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(new RegExp(`^connected by \\('${KERNEL.replace(/\./g, '\\.')}', \\d+\\)\\n$`));
    } finally {
      await server.stop();
    }
  });

  it('curl on ustack fetches from the kernel http.server: the same bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ustack-run-tun-'));
    const body = Buffer.alloc(2_000_000, 'ustack ');
    writeFileSync(join(dir, 'page.txt'), body);
    const server = start(inNs(PYTHON, '-m', 'http.server', '--bind', '0.0.0.0', '8080'), { cwd: dir });
    await server.waitFor(/Serving HTTP/);
    const curl = await run(ustackRun(device, ['curl', '-sS', `http://${KERNEL}:8080/page.txt`]));
    expect(curl.stderr).toBe('');
    expect(curl.stdout.length).toBe(body.length);
    expect(curl.stdout === body.toString()).toBe(true);
    await server.stop();
  });

  it('iperf3 -c on ustack against the kernel iperf3 -s: data moves, and the TCP_INFO iperf3 reads is sane', async () => {
    const server = start(inNs('iperf3', '-s', '-1', '-p', '5211', '--forceflush'));
    await server.waitFor(/Server listening/);
    const client = await run(ustackRun(device, ['iperf3', '-c', KERNEL, '-p', '5211', '-t', '1', '-J']), { timeoutMs: 30_000 });
    const report = JSON.parse(client.stdout) as { end: { sum_sent: { bytes: number; retransmits: number }; sum_received: { bytes: number } } };
    expect(report.end.sum_received.bytes).toBeGreaterThan(100_000);
    expect(report.end.sum_sent.retransmits).toBeGreaterThanOrEqual(0);
    expect(report.end.sum_sent.retransmits).toBeLessThan(report.end.sum_sent.bytes / 1000);
    console.log(
      `iperf3 -c under ustack run --tun: ${((report.end.sum_received.bytes * 8) / 1e6).toFixed(1)} Mbit in 1 s, ${report.end.sum_sent.retransmits} retransmitted`,
    );
    await server.stop();
  });
});
