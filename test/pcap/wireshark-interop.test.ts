/**
 * Our files as Wireshark's tools see them, and Wireshark's files as we see them. Skipped (with a
 * loud warning) only when the tools are missing and CI is not 'true'; under CI they must run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesEqual } from '../../src/core/bytes.js';
import { LinkType, PcapWriter } from '../../src/pcap/pcap.js';
import { readPcapFile, writePcapFile } from '../../src/pcap/pcap-file.js';
import { ETHERNET_FRAME, ICMP_ECHO_PACKET } from './fixtures.js';

const TOOLS = ['capinfos', 'tshark', 'mergecap', 'text2pcap'];
const missing = TOOLS.filter((tool) => spawnSync('which', [tool]).status !== 0);
const mustRun = process.env.CI === 'true';
const skip = missing.length > 0 && !mustRun;
if (skip) console.warn(`SKIPPED: Wireshark interop tests, missing ${missing.join(', ')} (they run, and fail, under CI=true)`);

const directory = mkdtempSync(join(tmpdir(), 'ustack-pcap-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function run(tool: string, args: string[]): string {
  return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** capinfos' table report (`-T -m`), as header → value for the one file. */
function capinfos(path: string): Record<string, string> {
  const [header, values] = run('capinfos', ['-T', '-m', '-t', '-E', '-c', '-S', '-a', '-e', path]).trim().split('\n');
  const names = header.split(',');
  const fields = values.split(',');
  return Object.fromEntries(names.map((name, i) => [name, fields[i]]));
}

/** `1700000000.1234` → [seconds, nanoseconds], whatever precision the tool printed. */
function epoch(text: string): [number, number] {
  const [seconds, fraction = ''] = text.split('.');
  return [Number(seconds), Number(fraction.padEnd(9, '0'))];
}

/** tshark's per-frame fields, one array per frame. */
function tsharkFields(path: string, fields: string[]): string[][] {
  const args = ['-r', path, '-T', 'fields', '-E', 'separator=,'];
  for (const field of fields) args.push('-e', field);
  return run('tshark', args)
    .trim()
    .split('\n')
    .map((line) => line.split(','));
}

describe.skipIf(skip)('Wireshark tools read what PcapWriter writes', () => {
  const times = [1_700_000_000_123.456, 1_700_000_000_124, 1_700_000_001_000.5];

  it('a microsecond RAW capture: link type, packet count and timestamps', async () => {
    const writer = new PcapWriter({ linkType: LinkType.RAW });
    for (const t of times) writer.record(t, ICMP_ECHO_PACKET);
    const path = join(directory, 'raw-us.pcap');
    await writePcapFile(path, writer);
    const info = capinfos(path);
    expect(info['File type']).toBe('pcap');
    expect(info['File encapsulation']).toBe('rawip');
    expect(info['Number of packets']).toBe('3');
    expect(epoch(info['Start time'])).toEqual([1_700_000_000, 123_456_000]);
    expect(epoch(info['End time'])).toEqual([1_700_000_001, 500_000]);
    const frames = tsharkFields(path, ['frame.time_epoch', 'frame.len', 'frame.protocols', 'ip.src', 'ip.dst']);
    expect(frames.map(([time, ...rest]) => [...epoch(time), ...rest])).toEqual([
      [1_700_000_000, 123_456_000, '28', 'raw:ip:icmp', '10.0.0.1', '10.0.0.2'],
      [1_700_000_000, 124_000_000, '28', 'raw:ip:icmp', '10.0.0.1', '10.0.0.2'],
      [1_700_000_001, 500_000, '28', 'raw:ip:icmp', '10.0.0.1', '10.0.0.2'],
    ]);
  });

  it('a nanosecond Ethernet capture with a cut frame', async () => {
    const writer = new PcapWriter({ linkType: LinkType.ETHERNET, nanosecond: true, snaplen: 34 });
    for (const t of times) writer.record(t, ETHERNET_FRAME);
    const path = join(directory, 'ether-ns.pcap');
    await writePcapFile(path, writer);
    const info = capinfos(path);
    expect(info['File type']).toMatch(/nsec|nanosecond/);
    expect(info['File encapsulation']).toBe('ether');
    expect(info['Number of packets']).toBe('3');
    // 1_700_000_000_123.456 is the double 1_700_000_000_123.4560546875 ms: 55 ns past .123456.
    expect(epoch(info['Start time'])).toEqual([1_700_000_000, 123_456_055]);
    const frames = tsharkFields(path, ['frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.protocols', 'eth.src']);
    expect(frames.map(([time, ...rest]) => [...epoch(time), ...rest])).toEqual([
      [1_700_000_000, 123_456_055, '42', '34', 'eth:ethertype:ip:icmp', '02:00:00:00:00:01'],
      [1_700_000_000, 124_000_000, '42', '34', 'eth:ethertype:ip:icmp', '02:00:00:00:00:01'],
      [1_700_000_001, 500_000, '42', '34', 'eth:ethertype:ip:icmp', '02:00:00:00:00:01'],
    ]);
  });
});

describe.skipIf(skip)('we read what Wireshark tools write', () => {
  it('mergecap: a pcapng with an Ethernet and a RAW interface', async () => {
    const ether = new PcapWriter({ linkType: LinkType.ETHERNET });
    ether.record(1_000, ETHERNET_FRAME);
    ether.record(3_000, ETHERNET_FRAME);
    const raw = new PcapWriter({ linkType: LinkType.RAW, nanosecond: true });
    raw.record(2_000.000001, ICMP_ECHO_PACKET);
    await writePcapFile(join(directory, 'm-ether.pcap'), ether);
    await writePcapFile(join(directory, 'm-raw.pcap'), raw);
    const merged = join(directory, 'merged.pcapng');
    run('mergecap', ['-F', 'pcapng', '-w', merged, join(directory, 'm-ether.pcap'), join(directory, 'm-raw.pcap')]);
    const result = await readPcapFile(merged);
    expect(result.ok).toBe(true);
    if (!result.ok || result.value.format !== 'pcapng') throw new Error('expected pcapng');
    const capture = result.value;
    expect(capture.interfaces.map((i) => i.linkType).sort()).toEqual([LinkType.ETHERNET, LinkType.RAW]);
    expect(capture.records.map((r) => [r.linkType, r.seconds, r.nanoseconds])).toEqual([
      [LinkType.ETHERNET, 1, 0],
      [LinkType.RAW, 2, 1],
      [LinkType.ETHERNET, 3, 0],
    ]);
    expect(bytesEqual(capture.records[1].data, ICMP_ECHO_PACKET)).toBe(true);
    expect(bytesEqual(capture.records[2].data, ETHERNET_FRAME)).toBe(true);
  });

  it('text2pcap: its default pcapng output', async () => {
    const hexdump = join(directory, 'dump.txt');
    const bytes = [...ICMP_ECHO_PACKET].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    writeFileSync(hexdump, `0000 ${bytes}\n`);
    const output = join(directory, 'text2pcap.pcapng');
    run('text2pcap', ['-q', '-l', '101', hexdump, output]);
    const result = await readPcapFile(output);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.format).toBe('pcapng');
    expect(result.value.records).toHaveLength(1);
    expect(result.value.records[0].linkType).toBe(LinkType.RAW);
    expect(bytesEqual(result.value.records[0].data, ICMP_ECHO_PACKET)).toBe(true);
  });
});
