/**
 * The trace writes TCP flags as tcpdump users read them (`Flags [S.]`) and its flags field as
 * Wireshark's Info column does (`[SYN, ACK]`). Judged by the tools themselves: one segment per
 * combination of the nine flag bits, written to a capture that tcpdump and tshark then read.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LinkType } from '../../src/pcap/link-type.js';
import { PcapWriter } from '../../src/pcap/pcap-writer.js';
import { formatTcpFlagsTcpdump, formatTcpFlagsWireshark, TCP_RESERVED_FLAGS } from '../../src/tcp/tcp-packet.js';

const hasTool = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'ustack-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every value of the nine flag bits, and one with the reserved bits set beside ACK. */
const FLAG_VALUES = [...Array.from({ length: 0x200 }, (_, flags) => flags), TCP_RESERVED_FLAGS | 0x010];

/** A bare IPv4 packet (10.0.0.1 → 10.0.0.2) carrying a 20-byte TCP header with `flags`. */
function segment(flags: number): Uint8Array {
  const packet = new Uint8Array(40);
  const view = new DataView(packet.buffer);
  view.setUint8(0, 0x45);
  view.setUint16(2, 40);
  view.setUint8(8, 64);
  view.setUint8(9, 6);
  packet.set([10, 0, 0, 1, 10, 0, 0, 2], 12);
  view.setUint16(20, 40000);
  view.setUint16(22, 80);
  view.setUint32(24, 1000);
  view.setUint32(28, 2000);
  view.setUint16(32, (5 << 12) | flags);
  view.setUint16(34, 1024);
  return packet;
}

function capture(): string {
  const writer = new PcapWriter({ linkType: LinkType.RAW });
  FLAG_VALUES.forEach((flags, i) => writer.record(i, segment(flags)));
  const path = join(dir, 'flags.pcap');
  writeFileSync(path, writer.toBytes());
  return path;
}

function skipWithout(tool: string): boolean {
  if (hasTool(tool)) return false;
  if (process.env.CI === 'true') throw new Error(`${tool} is required under CI=true`);
  console.warn(`SKIPPED (no ${tool}): TCP flag text against ${tool}`);
  return true;
}

describe('TCP flags as the tools print them', () => {
  it('the common ones', () => {
    expect(formatTcpFlagsTcpdump(0x002)).toBe('S');
    expect(formatTcpFlagsTcpdump(0x012)).toBe('S.');
    expect(formatTcpFlagsTcpdump(0x019)).toBe('FP.');
    expect(formatTcpFlagsTcpdump(0x0c2)).toBe('SEW');
    expect(formatTcpFlagsTcpdump(0)).toBe('none');
    expect(formatTcpFlagsWireshark(0x012)).toBe('SYN, ACK');
    expect(formatTcpFlagsWireshark(0x0c2)).toBe('SYN, ECE, CWR');
    expect(formatTcpFlagsWireshark(0)).toBe('<None>');
  });

  it('formatTcpFlagsTcpdump: what tcpdump prints in Flags [...] for each of the 513 values', () => {
    if (skipWithout('tcpdump')) return;
    const read = spawnSync('tcpdump', ['-n', '-r', capture()], { encoding: 'utf8' });
    expect(read.status, read.stderr).toBe(0);
    const theirs = [...read.stdout.matchAll(/Flags \[([^\]]*)\]/g)].map((match) => match[1]);
    expect(FLAG_VALUES.map(formatTcpFlagsTcpdump)).toEqual(theirs);
  });

  it("formatTcpFlagsWireshark: the [...] of tshark's Info column for each of the 513 values", () => {
    if (skipWithout('tshark')) return;
    const read = spawnSync('tshark', ['-n', '-r', capture(), '-T', 'fields', '-e', '_ws.col.Info'], { encoding: 'utf8' });
    expect(read.status, read.stderr).toBe(0);
    const theirs = read.stdout
      .trim()
      .split('\n')
      .map((info) => /→ 80 \[([^\]]*)\]/.exec(info)?.[1]);
    // Where ECE, CWR and AE are all set on a segment after the handshake, tshark reads the three
    // as Accurate ECN's ACE counter (draft-ietf-tcpm-accurate-ecn) and prints `ACE=7` instead of their names; a
    // stack without AccECN means the three flags, so there we expect the names it stands for.
    const ours = FLAG_VALUES.map((flags, i) => {
      const text = formatTcpFlagsWireshark(flags);
      return theirs[i]?.includes('ACE=7') ? text.replace('ECE, CWR, AE', 'ACE=7') : text;
    });
    expect(theirs.filter((text) => text?.includes('ACE=7')).length).toBeLessThan(32);
    expect(ours).toEqual(theirs);
  });
});
