/**
 * `ustack up`: the stack on a real TUN device with its echo servers, the kernel's end in a
 * namespace; the kernel's ping and nc reach it, and stopping it leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runExample } from '../../examples/run-example.js';
import { runUp } from '../../src/cli/up-command.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { describeInterop, inNamespace, startUp } from './kernel-peer.js';

const namespaces = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;

/** A Python client sending one message in the kv/gateway framing and printing the JSON reply. */
const FRAMED_CALL = `
import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
body = sys.argv[3].encode()
s.sendall(struct.pack('<ii', 1, len(body)) + body)
def exactly(n):
    data = b''
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk: raise SystemExit('closed early')
        data += chunk
    return data
version, length = struct.unpack('<ii', exactly(8))
print(exactly(length).decode())
`;

describeInterop('interop: ustack up', () => {
  it('--serve echo,upper,kv,gateway,http: the kernel reaches every service with its own tools; --pcap records both directions; --stats prints counters; nothing is left behind', async () => {
    const namespace = `ustack-it-${process.pid}-up`;
    const directory = mkdtempSync(join(tmpdir(), 'ustack-up-'));
    const pcap = join(directory, 'up.pcap');
    const up = await startUp([
      '--tun',
      `ustup${process.pid % 100000}`,
      '--netns',
      namespace,
      '--addr',
      '10.78.0.2/24',
      '--host-addr',
      '10.78.0.1',
      '--serve',
      'echo,upper,kv,gateway,http',
      '--pcap',
      pcap,
      '--stats',
      '0.2',
    ]);
    try {
      expect(up.lines[0]).toMatch(/^ustack up: tun ustup\d+, ustack 10\.78\.0\.2\/24 ↔ host 10\.78\.0\.1\/24/);
      // How to reach each service is printed, with the address filled in.
      expect(up.lines).toContain('  echo (tcp 7, udp 7): nc 10.78.0.2 7   nc -u 10.78.0.2 7');
      expect(up.lines.some((line) => line.startsWith('  http (tcp 80): curl http://10.78.0.2/'))).toBe(true);
      for (const name of ['upper', 'kv', 'gateway']) expect(up.lines.some((line) => line.startsWith(`  ${name} (`))).toBe(true);

      expect((await inNamespace(namespace, ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.78.0.2'])).stdout).toMatch(/2 received/);
      expect((await inNamespace(namespace, ['nc', '-N', '10.78.0.2', '7'], 'echo me\n')).stdout).toBe('echo me\n');
      expect((await inNamespace(namespace, ['nc', '-u', '-w', '1', '10.78.0.2', '7'], 'udp echo\n')).stdout).toBe('udp echo\n');
      expect((await inNamespace(namespace, ['nc', '-N', '10.78.0.2', '12000'], 'a sentence\n')).stdout).toBe('A SENTENCE\n');
      expect((await inNamespace(namespace, ['nc', '-u', '-w', '1', '10.78.0.2', '15000'], 'hello')).stdout).toBe('HELLO');
      const kv = async (call: object) => (await inNamespace(namespace, ['python3', '-c', FRAMED_CALL, '10.78.0.2', '4444', JSON.stringify(call)])).stdout;
      expect(JSON.parse(await kv({ func: 'PUT', params: { obj: 'colour', val: 'blue' } }))).toEqual({
        status: 'OK',
        response: { func: 'PUT', response: { obj: 'colour', response: 'ok' } },
      });
      expect(JSON.parse(await kv({ func: 'GET', params: { obj: 'colour' } }))).toEqual({
        status: 'OK',
        response: { func: 'GET', response: { obj: 'colour', val: 'blue' } },
      });
      const gateway = (
        await inNamespace(namespace, [
          'python3',
          '-c',
          FRAMED_CALL,
          '10.78.0.2',
          '25333',
          JSON.stringify({ type: 'call', id: 1, target: 'entryPoint', method: 'add', args: [2, 3] }),
        ])
      ).stdout;
      expect(JSON.parse(gateway)).toEqual({ type: 'return', id: 1, value: 5 });
      const page = (await inNamespace(namespace, ['curl', '-sS', '--max-time', '10', 'http://10.78.0.2/'])).stdout;
      expect(page).toMatch(/^hello from ustack/);
      expect(page).toMatch(/^tcp\.passiveOpens \d+$/m);
      // /view: the capture up is recording, drawn as ustack view draws it, fetched by the kernel's curl.
      const view = (await inNamespace(namespace, ['curl', '-sS', '--max-time', '20', 'http://10.78.0.2/view'], undefined, 30_000)).stdout;
      expect(view).toMatch(/^<!doctype html>/);
      expect(view).toContain('live capture up.pcap as of');
      expect(view).toMatch(/"info":"Echo \(ping\) request id=\d+, seq=1"/);
      const download = (await inNamespace(namespace, ['sh', '-c', 'curl -sS --max-time 20 http://10.78.0.2/bytes/5000000 | wc -c'], undefined, 30_000)).stdout;
      expect(download.trim()).toBe('5000000');
      expect(up.lines.some((line) => /^in \d+ pkts .* \| tcp \d+ open, \d+ accepted/.test(line))).toBe(true);
    } finally {
      expect(await up.stop()).toBe(0);
    }
    expect(up.lines.at(-1)).toMatch(/^ustack down: \d+ packets in, \d+ out; 2 pings answered, \d+ TCP connections, 2 UDP datagrams/);
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
  }, 120_000);

  it('--tap with the default addresses (10.7.0.2/24, host 10.7.0.1): the kernel finds us with ARP and pings us; --trace prints each frame with its layers', async () => {
    const namespace = `ustack-it-${process.pid}-uptap`;
    const up = await startUp(['--tap', `ustut${process.pid % 100000}`, '--netns', namespace, '--serve', 'none', '--trace']);
    try {
      expect(up.lines[0]).toMatch(/^ustack up: tap ustut\d+, ustack 10\.7\.0\.2\/24 ↔ host 10\.7\.0\.1\/24/);
      expect((await inNamespace(namespace, ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.7.0.2'])).stdout).toMatch(/2 received/);
    } finally {
      expect(await up.stop()).toBe(0);
    }
    // Frame by frame: a heading, then the layers the frame crossed (ARP first: the kernel asks for our MAC).
    expect(up.lines).toContainEqual(expect.stringMatching(/^ustack receives a 60-byte frame on ustut\d+ at [\d.]+ ms$/));
    expect(up.lines).toContainEqual(
      expect.stringMatching(/^ {2}↑ arp {2}ARP, Request who-has 10\.7\.0\.2 tell 10\.7\.0\.1, length 28: learned 10\.7\.0\.1 is-at .*, replying$/),
    );
    const request = up.lines.findIndex((line) => /^ {2}↑ icmp .*echo request/i.test(line));
    expect(up.lines.slice(request - 3, request + 1).map((line) => line.slice(0, 10))).toEqual(['ustack rec', '  ↑ eth  E', '  ↑ ipv4 I', '  ↑ icmp I']);
    expect(up.lines.filter((line) => /^ {2}↑ icmp .*echo request/i.test(line)).length).toBeGreaterThanOrEqual(2);
    expect(up.lines.filter((line) => /^ {2}↓ icmp .*echo reply/i.test(line)).length).toBeGreaterThanOrEqual(2);
    expect(namespaces()).not.toContain(namespace);
  }, 60_000);

  it('ustack example kv --tun: the seed key-value server on a real device, reached by a Python client in the kernel', async () => {
    const namespace = `ustack-it-${process.pid}-upex`;
    const lines: string[] = [];
    const abort = new AbortController();
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const running = runExample(['kv', '--tun', `ustux${process.pid % 100000}`, '--netns', namespace, '--for', '60'], (line) => lines.push(line), {
      signal: abort.signal,
      onReady: () => ready(),
      terminal: false,
    });
    try {
      await isReady;
      expect(lines.some((line) => line.startsWith('  kv (tcp 4444): python3 -c'))).toBe(true);
      const kv = async (call: object) => (await inNamespace(namespace, ['python3', '-c', FRAMED_CALL, '10.7.0.2', '4444', JSON.stringify(call)])).stdout;
      expect(JSON.parse(await kv({ func: 'PUT', params: { obj: 'k', val: 42 } }))).toMatchObject({ status: 'OK' });
      expect(JSON.parse(await kv({ func: 'GET', params: { obj: 'k' } }))).toEqual({ status: 'OK', response: { func: 'GET', response: { obj: 'k', val: 42 } } });
    } finally {
      abort.abort();
      expect(await running).toBe(0);
    }
    expect(namespaces()).not.toContain(namespace);
  }, 60_000);

  it('refuses unknown services and bad addresses with a clear message, before touching any device', async () => {
    await expect(runUp(['--serve', 'echo,telnet'], () => {})).rejects.toThrow(
      "ustack up: --serve takes service names, comma-separated (echo, upper, kv, gateway, http, iperf, or none), not 'telnet'",
    );
    await expect(runUp(['--addr', '10.7.0.2/24', '--host-addr', '10.8.0.1'], () => {})).rejects.toThrow(
      "--addr 10.7.0.2/24 is not on the host's network 10.8.0.1/24",
    );
  });
});
