import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../examples/demo.js';
import { readPcapFile } from '../../src/pcap/pcap-file.js';

const hasTshark = spawnSync('sh', ['-c', 'command -v tshark'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'ustack-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm start (the demo)', () => {
  const capturePath = join(dir, 'demo.pcap');
  const lines: string[] = [];
  const frames = runDemo({ capturePath, print: (line) => lines.push(line) });
  const output = lines.join('\n');

  it('runs the UDP upper-casing exchange, pings, and traces a datagram through every layer', () => {
    expect(output).toContain('client: reply "HELLO FROM THE CLIENT" from 10.0.0.2:15000');
    expect(output).toMatch(/64 bytes from 10\.0\.0\.2: icmp_seq=3 ttl=64/);
    expect(output).toMatch(/3008 bytes from 10\.0\.0\.2: icmp_seq=4/);
    for (const step of ['client ↓ udp', 'client ↓ ipv4', 'client ↓ link', 'server ↑ link', 'server ↑ ipv4', 'server ↑ udp']) {
      expect(output).toContain(step);
    }
    expect(output).toContain(capturePath);
  });

  it('writes a capture with every frame the client saw', async () => {
    const read = await readPcapFile(capturePath);
    expect(read.ok).toBe(true);
    if (read.ok) expect(read.value.records.length).toBe(frames);
    expect(frames).toBe(18);
  });

  it('is a capture tshark reads with no malformed frame and no bad checksum', () => {
    if (!hasTshark) {
      if (process.env.CI === 'true') throw new Error('tshark is required under CI=true');
      console.warn('SKIPPED (no tshark): demo capture check against tshark');
      return;
    }
    const filter =
      '_ws.malformed || _ws.expert.severity >= "Warning" || ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad"';
    const bad = spawnSync('tshark', ['-r', capturePath, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-Y', filter], { encoding: 'utf8' });
    expect(bad.status).toBe(0);
    expect(bad.stdout.trim()).toBe('');
    const all = spawnSync('tshark', ['-r', capturePath, '-T', 'fields', '-e', '_ws.col.Protocol'], { encoding: 'utf8' });
    const protocols = all.stdout.trim().split('\n');
    expect(protocols).toHaveLength(frames);
    expect(protocols.filter((p) => p === 'UDP')).toHaveLength(6);
    expect(protocols.filter((p) => p === 'ICMP')).toHaveLength(8);
  });
});
