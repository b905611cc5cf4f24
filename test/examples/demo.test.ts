import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../examples/demo.js';
import { dissectFrame, toTsharkFields } from '../../src/dissect/dissect.js';
import { LinkType } from '../../src/pcap/link-type.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { readTsharkFields, type TsharkFrame } from '../fixtures/tshark-fields.js';

const hasTool = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
const hasTshark = hasTool('tshark');
const hasTcpdump = hasTool('tcpdump');
const dir = mkdtempSync(join(tmpdir(), 'ustack-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Fails under CI=true, where every tool must be present; elsewhere says SKIPPED loudly. */
function skipWithout(tool: string, present: boolean, what: string): boolean {
  if (present) return false;
  if (process.env.CI === 'true') throw new Error(`${tool} is required under CI=true`);
  console.warn(`SKIPPED (no ${tool}): ${what}`);
  return true;
}

/** Our dissector's reading of every frame of the capture, as tshark-style field records. */
function ourReading(path: string): TsharkFrame[] {
  const bytes = readFileSync(path);
  const capture = readCapture(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (!capture.ok) throw new Error(`${path}: ${capture.error.message}`);
  return capture.value.records.map((record, i) => toTsharkFields(dissectFrame(record.data, record.linkType, i + 1, { originalLength: record.originalLength })));
}

describe('npm start (the demo)', () => {
  const capturePath = join(dir, 'demo.pcap');
  const lines: string[] = [];
  let frames = 0;
  let output = '';
  beforeAll(async () => {
    frames = await runDemo({ capturePath, print: (line) => lines.push(line) });
    output = lines.join('\n');
  });

  it('runs ARP and the UDP upper-casing exchange, pings, traces a datagram through every layer and a TCP connection frame by frame', () => {
    expect(output).toContain('ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28');
    expect(output).toContain('ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28');
    expect(output).toContain('client: reply "HELLO FROM THE CLIENT" from 10.0.0.2:15000');
    expect(output).toMatch(/64 bytes from 10\.0\.0\.2: icmp_seq=3 ttl=64/);
    expect(output).toMatch(/3008 bytes from 10\.0\.0\.2: icmp_seq=4/);
    expect(output).toContain('client: reply "A SENTENCE IN LOWER CASE"');
    expect(output).toContain(capturePath);
  });

  it("prints the traced datagram's lines frame by frame: the four wrappers in the order they wrap", () => {
    const section = output.slice(output.indexOf('3. One datagram'), output.indexOf('4. TCP'));
    const layerLines = section.split('\n').filter((line) => /^ {3}(client|server) (sends|receives) |^ {5}[↓↑] /.test(line));
    const shape = layerLines.map((line) =>
      line
        .trim()
        .replace(/^(client|server) (sends|receives) a (\d+)-byte frame on eth0 at [\d.]+ ms$/, '$1 $2 $3')
        .slice(0, 6),
    );
    expect(shape).toEqual([
      'client',
      '↓ udp ',
      '↓ ipv4',
      '↓ eth ',
      'server',
      '↑ eth ',
      '↑ ipv4',
      '↑ udp ',
      'server',
      '↓ udp ',
      '↓ ipv4',
      '↓ eth ',
      'client',
      '↑ eth ',
      '↑ ipv4',
      '↑ udp ',
    ]);
    expect(section).toContain('client sends a 60-byte frame on eth0');
    expect(section).toContain('header bytes: 02 00 00 00 00 02 02 00 00 00 00 01 08 00');
  });

  it('shows the TCP connection with the flags tcpdump prints: [SEW], [S.E], [.], [P.], [F.]', () => {
    const section = output.slice(output.indexOf('4. TCP'), output.indexOf('5. Counters'));
    const flags = [...section.matchAll(/[↓↑] tcp {2}TCP \d+ → \d+ Flags \[([^\]]+)\]/g)].map((match) => match[1]);
    expect(flags[0]).toBe('SEW');
    expect(flags[1]).toBe('S.E');
    expect(flags).toContain('P.');
    expect(flags.filter((flag) => flag === 'F.')).toHaveLength(2);
  });

  it('writes an Ethernet capture with every frame the client saw: ARP and all four layers, which our dissector reads', () => {
    const reading = ourReading(capturePath);
    expect(reading).toHaveLength(frames);
    // 31 of IPv4 and ARP, and each host's own IPv6 on the link (MLDv2 reports, its DAD probe, three router solicitations: 12).
    expect(frames).toBe(43);
    const bytes = readFileSync(capturePath);
    const capture = readCapture(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    expect(capture.ok && capture.value.records.every((record) => record.linkType === LinkType.ETHERNET)).toBe(true);
    expect(reading.filter((frame) => frame['eth.type'] === '0x0806').map((frame) => frame['arp.opcode'])).toEqual(['1', '2']);
    // Ethernet ⊃ IPv4 ⊃ UDP ⊃ data (the six upper-casing datagrams carry 8 bytes or more) and
    // Ethernet ⊃ IPv4 ⊃ TCP ⊃ data (the sentence and its reply, 24 bytes each).
    const ipv4 = reading.filter((frame) => frame['eth.type'] === '0x0800');
    expect(ipv4.filter((frame) => frame['udp.srcport'] !== undefined && Number(frame['udp.length']) > 8)).toHaveLength(6);
    expect(ipv4.filter((frame) => frame['tcp.srcport'] !== undefined && frame['tcp.len'] === '24')).toHaveLength(2);
  });

  it('is a capture tshark reads as our dissector does, with no malformed frame and no bad checksum', () => {
    if (skipWithout('tshark', hasTshark, 'demo capture against tshark')) return;
    const theirs = readTsharkFields(capturePath);
    expect(ourReading(capturePath)).toEqual(theirs);
    const filter =
      '_ws.malformed || _ws.expert.severity >= "Warning" || ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || tcp.checksum.status == "Bad"';
    const checks = ['ip', 'udp', 'tcp'].flatMap((protocol) => ['-o', `${protocol}.check_checksum:TRUE`]);
    const bad = spawnSync('tshark', ['-r', capturePath, ...checks, '-Y', filter], { encoding: 'utf8' });
    expect(bad.status).toBe(0);
    expect(bad.stdout.trim()).toBe('');
    const all = spawnSync('tshark', ['-r', capturePath, '-T', 'fields', '-e', '_ws.col.Protocol'], { encoding: 'utf8' });
    const protocols = all.stdout.trim().split('\n');
    expect(protocols).toHaveLength(frames);
    expect(protocols.filter((p) => p === 'ARP')).toHaveLength(2);
    expect(protocols.filter((p) => p === 'UDP')).toHaveLength(6);
    expect(protocols.filter((p) => p === 'ICMP')).toHaveLength(8);
    expect(protocols.filter((p) => p === 'IPv4')).toHaveLength(4); // the first two fragments of each 3008-byte echo
    expect(protocols.filter((p) => p === 'TCP')).toHaveLength(11);
    expect(protocols.filter((p) => p === 'ICMPv6')).toHaveLength(12);
  });

  it("prints each TCP segment's flags as tcpdump prints them from the capture", () => {
    if (skipWithout('tcpdump', hasTcpdump, "demo trace's TCP flags against tcpdump")) return;
    const read = spawnSync('tcpdump', ['-n', '-r', capturePath, 'tcp'], { encoding: 'utf8' });
    expect(read.status).toBe(0);
    const theirs = [...read.stdout.matchAll(/Flags \[([^\]]+)\]/g)].map((match) => match[1]);
    const section = output.slice(output.indexOf('4. TCP'), output.indexOf('5. Counters'));
    const ours = [...section.matchAll(/[↓↑] tcp {2}TCP \d+ → \d+ Flags \[([^\]]+)\]/g)].map((match) => match[1]);
    expect(ours.length).toBeGreaterThan(5);
    expect(ours).toEqual(theirs);
  });
});
