/**
 * `ustack up`: the stack on a real TUN device with its echo servers, the kernel's end in a
 * namespace; the kernel's ping and nc reach it, and stopping it leaves nothing behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runUp } from '../../src/cli/up-command.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { describeInterop } from './kernel-peer.js';

function inNamespace(namespace: string, argv: string[], input?: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', namespace, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

const namespaces = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;

describeInterop('interop: ustack up', () => {
  it('answers ping, TCP echo and UDP echo from the kernel, records a pcap, and cleans up when stopped', async () => {
    const namespace = `ustack-it-${process.pid}-up`;
    const directory = mkdtempSync(join(tmpdir(), 'ustack-up-'));
    const pcap = join(directory, 'up.pcap');
    const lines: string[] = [];
    const stop = new AbortController();
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const running = runUp(['--tun', `ustup${process.pid % 100000}`, '--netns', namespace, '--address', '10.78.0.2/24', '--kernel', '10.78.0.1/24', '--pcap', pcap, '--for', '30'], (line) => lines.push(line), {
      signal: stop.signal,
      onReady: () => ready(),
    });
    try {
      await isReady;
      expect(lines[0]).toMatch(/^ustack up: tun ustup\d+, ustack 10\.78\.0\.2\/24 ↔ kernel 10\.78\.0\.1\/24/);
      expect(await inNamespace(namespace, ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.78.0.2'])).toMatch(/2 received/);
      expect(await inNamespace(namespace, ['nc', '-N', '10.78.0.2', '7'], 'echo me\n')).toBe('echo me\n');
      expect(await inNamespace(namespace, ['nc', '-u', '-w', '1', '10.78.0.2', '7'], 'udp echo\n')).toBe('udp echo\n');
    } finally {
      stop.abort();
      expect(await running).toBe(0);
    }
    expect(lines.at(-1)).toMatch(/^ustack down: \d+ packets in, \d+ out; 2 pings answered, 1 TCP connections/);
    expect(namespaces()).not.toContain(namespace);
    expect(existsSync(pcap) && statSync(pcap).size).toBeGreaterThan(24 + 10 * 16);
    // A raw-IP (101) capture holding both directions: the kernel's echo requests and our replies.
    const capture = readCapture(readFileSync(pcap));
    if (!capture.ok) throw new Error(`unreadable pcap: ${capture.error.message}`);
    if (capture.value.format !== 'pcap') throw new Error('expected classic pcap');
    expect(capture.value.linkType).toBe(101);
    const packets = capture.value.records;
    const icmpTypes = packets.filter((p) => p.data[9] === 1).map((p) => p.data[(p.data[0] & 0x0f) * 4]);
    expect(icmpTypes.filter((type) => type === 8)).toHaveLength(2);
    expect(icmpTypes.filter((type) => type === 0)).toHaveLength(2);
    rmSync(directory, { recursive: true, force: true });
  });

  it('--tap: the kernel finds us with ARP and pings us', async () => {
    const namespace = `ustack-it-${process.pid}-uptap`;
    const lines: string[] = [];
    const stop = new AbortController();
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const running = runUp(['--tap', `ustut${process.pid % 100000}`, '--netns', namespace, '--echo', '0', '--udp-echo', '0', '--for', '30'], (line) => lines.push(line), {
      signal: stop.signal,
      onReady: () => ready(),
    });
    try {
      await isReady;
      expect(lines[0]).toMatch(/^ustack up: tap ustut/);
      expect(await inNamespace(namespace, ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.77.0.2'])).toMatch(/2 received/);
    } finally {
      stop.abort();
      expect(await running).toBe(0);
    }
    expect(namespaces()).not.toContain(namespace);
  });
});
