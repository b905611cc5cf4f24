/**
 * `iperf3 -c` under `ustack run` against `ustack up --serve iperf`: two stacks, each on a TUN
 * device of its own whose kernel end is in a network namespace this test makes (and removes),
 * the kernel forwarding between the two devices. Both TCP ends are ustack's; the path between
 * them is the kernel's routing. Needs root; SKIPPED loudly otherwise, and under CI=true it must run.
 *
 * Addresses: `ustack up` 10.81.0.2/24 (kernel 10.81.0.1/24 on its device), `ustack run`
 * 10.81.0.130/25 (kernel 10.81.0.129/25): the kernel reaches the run side by the longer prefix,
 * `ustack up` (which has no default route) sees the run side inside its own /24, and `ustack run`
 * reaches 10.81.0.2 through its default route to the kernel.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale, have, IN_CI, IS_ROOT, MAIN, run, start, stopAll, ustackRun } from './support.js';

const NS = `ustip${process.pid % 10000}`;
const UP_DEVICE = `ustipu${process.pid % 10000}`;
const RUN_DEVICE = `ustipr${process.pid % 10000}`;
const SERVER = '10.81.0.2';

const canRun = IS_ROOT;
if (!canRun && !IN_CI) console.warn('SKIPPED (needs root): test/run/up-iperf.test.ts — iperf3 -c under ustack run against ustack up --serve iperf');
const suite = canRun || IN_CI ? describe : describe.skip;

/** IP's ForwDatagrams in the namespace (/proc/net/snmp): the packets the kernel forwarded. */
function forwarded(): number {
  const snmp = spawnSync('ip', ['netns', 'exec', NS, 'cat', '/proc/net/snmp'], { encoding: 'utf8' }).stdout.split('\n');
  const names = snmp.find((line) => line.startsWith('Ip: Forwarding'))!.split(/\s+/);
  const values = snmp.find((line) => line.startsWith('Ip: ') && !line.startsWith('Ip: Forwarding'))!.split(/\s+/);
  return Number(values[names.indexOf('ForwDatagrams')]);
}

suite('iperf3 -c under ustack run against ustack up --serve iperf, through the kernel', () => {
  beforeAll(() => {
    if (!have('iperf3')) throw new Error('iperf3 is not installed (apt-get install iperf3)');
    buildIfStale();
    spawnSync('ip', ['netns', 'add', NS]);
    spawnSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
    spawnSync('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('one second of iperf3 -c: the ustack up server receives what was sent, and the kernel forwarded them', async () => {
    const up = start(
      [
        process.execPath,
        MAIN,
        'up',
        '--tun',
        UP_DEVICE,
        '--addr',
        `${SERVER}/24`,
        '--host-addr',
        '10.81.0.1',
        '--netns',
        NS,
        '--serve',
        'iperf',
        '--stats',
        '0',
      ],
      { timeoutMs: 30_000 },
    );
    await up.waitFor(/iperf \(tcp 5201\)/);
    const before = forwarded();
    const device = ['--tun', RUN_DEVICE, '--addr', '10.81.0.130/25', '--host-addr', '10.81.0.129', '--netns', NS];
    const client = await run(ustackRun(device, ['iperf3', '-c', SERVER, '-t', '1', '-J']), { timeoutMs: 20_000 });
    expect(client.stderr).toBe('');
    expect(client.code).toBe(0);
    const report = JSON.parse(client.stdout) as { end: { sum_sent: { bytes: number; retransmits: number }; sum_received: { bytes: number } } };
    expect(report.end.sum_sent.bytes).toBeGreaterThan(100_000);
    // The server's count is taken when the client ends the test: the last bytes may be in flight.
    expect(report.end.sum_received.bytes).toBeGreaterThan(report.end.sum_sent.bytes * 0.9);
    expect(report.end.sum_received.bytes).toBeLessThanOrEqual(report.end.sum_sent.bytes);
    // Every full segment crossed the kernel once: at least a packet forwarded per 64 KiB sent.
    const packets = forwarded() - before;
    expect(packets).toBeGreaterThan(report.end.sum_sent.bytes / 65536);
    console.log(
      `iperf3 -c under ustack run → ustack up --serve iperf: ${((report.end.sum_received.bytes * 8) / 1e6).toFixed(1)} Mbit in 1 s, ${report.end.sum_sent.retransmits} retransmitted, ${packets} packets forwarded by the kernel`,
    );
    await up.stop();
  }, 60_000);
});
