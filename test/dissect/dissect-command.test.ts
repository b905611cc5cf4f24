/**
 * `ustack dissect FILE [--json]` as a user runs it: the text mode's layers, byte ranges,
 * problems and payload handoffs on small frames, the JSON mode's lines (the same text as the
 * golden tshark readings), and the exit codes for bad arguments and unreadable files.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runDissect } from '../../src/cli/dissect-command.js';
import { concatBytes } from '../../src/core/bytes.js';
import { LinkType, PcapWriter } from '../../src/pcap/pcap.js';
import { ascii, ethernet, ipv4, repeat, tcp, udp } from './frame-builder.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = resolve(HERE, '../../captures/fixtures');
const directory = mkdtempSync(join(tmpdir(), 'ustack-dissect-cli-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** Writes `frames` as a pcap of `linkType`; returns its path. */
function capture(name: string, linkType: number, frames: readonly Uint8Array[]): string {
  const writer = new PcapWriter({ linkType });
  frames.forEach((frame, i) => writer.record(1_763_702_592_575.17 + i, frame));
  const path = join(directory, name);
  writeFileSync(path, writer.toBytes());
  return path;
}

async function run(args: string[], stdin?: Uint8Array): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  // Standard input arrives in uneven chunks, as from a pipe.
  const chunks = stdin === undefined ? [] : [stdin.subarray(0, 7), stdin.subarray(7, 1000), stdin.subarray(1000)];
  const code = await runDissect(
    args,
    (line) => out.push(line),
    (line) => err.push(line),
    { stdin: Readable.from(chunks) },
  );
  return { code, out, err };
}

describe('ustack dissect FILE (text)', () => {
  it('prints each layer with its byte range, fields and the payload it hands on', async () => {
    // 18 bytes of padding bring the frame to the 60-byte Ethernet minimum.
    const frame = concatBytes(ethernet(ipv4(udp(ascii('hi'), { sourcePort: 5353, destinationPort: 53 }))), repeat(0, 16));
    const { code, out } = await run([capture('udp.pcap', LinkType.ETHERNET, [frame])]);
    expect(code).toBe(0);
    expect(out[0]).toBe('Frame 1: 60 bytes, link type ETHERNET (1), time 2025-11-21T05:23:12.575170Z');
    expect(out).toContain('  [0..14) Ethernet II, Src: 02:00:00:00:00:01, Dst: 02:00:00:00:00:02');
    expect(out).toContain('      Type: 0x0800 (IPv4)');
    expect(out).toContain('    → 46 bytes of payload to IPv4');
    expect(out).toContain('  [14..34) Internet Protocol Version 4, Src: 10.0.0.1, Dst: 10.0.0.2');
    expect(out).toContain('      Total Length: 30');
    expect(out.find((line) => line.startsWith('      Header Checksum: '))).toMatch(/^      Header Checksum: 0x[0-9a-f]{4} \(correct\)$/);
    expect(out).toContain('    → 10 bytes of payload to UDP');
    expect(out).toContain('  [34..42) User Datagram Protocol, Src Port: 5353, Dst Port: 53');
    expect(out).toContain('    → 2 bytes of payload to data');
    expect(out).toContain('  [42..44) Data (2 bytes)');
    expect(out).toContain('  [44..60) Ethernet padding (16 bytes)');
  });

  it('shows a wrong checksum as it is and flags it, saying what it should be', async () => {
    const frame = ethernet(ipv4(tcp(ascii('abc'), { checksum: 0xbeef }), { protocol: 6 }));
    const { out } = await run([capture('bad.pcap', LinkType.ETHERNET, [frame])]);
    const checksum = out.find((line) => line.includes('Checksum: 0xbeef'));
    expect(checksum).toMatch(/^ {6}Checksum: 0xbeef \[should be 0x[0-9a-f]{4}\] \(bad checksum\)$/);
    expect(out.some((line) => /^ {4}! checksum 0xbeef is wrong; it should be 0x[0-9a-f]{4}$/.test(line))).toBe(true);
  });

  it('indents the datagram quoted in an ICMP error one level deeper', async () => {
    const { out } = await run([join(FIXTURE_DIR, 'raw.pcap')]);
    const error = out.findIndex((line) => line.includes('Destination unreachable (Port unreachable)'));
    expect(error).toBeGreaterThan(0);
    expect(out.slice(error).find((line) => line.includes('bytes of payload to the quoted IPv4 datagram'))).toMatch(/^ {4}→ /);
    expect(out.slice(error).find((line) => line.includes('Internet Protocol Version 4 (quoted)'))).toMatch(/^ {6}\[\d+\.\.\d+\) /);
  });

  it('separates frames by a blank line and reports malformed ones', async () => {
    const good = ethernet(ipv4(udp(ascii('x'))));
    const cut = ethernet(ipv4(udp(ascii('hello')), { totalLength: 24 }));
    const { out } = await run([capture('two.pcap', LinkType.ETHERNET, [good, cut])]);
    expect(out.filter((line) => line === '')).toHaveLength(1);
    expect(out).toContain('  [Malformed Packet: User Datagram Protocol]: the length needs bytes 4..6 but the User Datagram Protocol has only 4');
  });
});

describe('ustack dissect FILE --json', () => {
  it('prints exactly the golden tshark lines for a fixture capture', async () => {
    for (const name of ['sll', 'eth-offload']) {
      const { code, out } = await run([join(FIXTURE_DIR, `${name}.pcap`), '--json']);
      expect(code).toBe(0);
      const golden = readFileSync(join(FIXTURE_DIR, `${name}.tshark.jsonl`), 'utf8')
        .trimEnd()
        .split('\n');
      expect(out).toEqual(golden);
    }
  });
});

describe('ustack dissect - (standard input)', () => {
  const path = join(FIXTURE_DIR, 'sll2.pcap');
  const bytes = new Uint8Array(readFileSync(path));

  it('prints what it prints for the file, text and --json', async () => {
    for (const extra of [[], ['--json']]) {
      const fromFile = await run([path, ...extra]);
      const fromStdin = await run(['-', ...extra], bytes);
      expect(fromStdin.code).toBe(0);
      expect(fromStdin.err).toEqual([]);
      expect(fromStdin.out).toEqual(fromFile.out);
      expect(fromStdin.out.length).toBeGreaterThanOrEqual(20);
    }
  });

  it('a cut-short standard input: the complete frames, then "The standard input appears…", exit 2', async () => {
    const { code, out, err } = await run(['-', '--json'], bytes.subarray(0, 1000));
    expect(out).toHaveLength(9);
    expect(err).toEqual(['ustack dissect: The standard input appears to have been cut short in the middle of a packet.']);
    expect(code).toBe(2);
  });

  it('something that is not a capture on standard input: exit 1, naming standard input', async () => {
    const { code, out, err } = await run(['-'], new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'));
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^ustack dissect: standard input: not a readable capture: not a pcap or pcapng file/);
  });

  it('an empty standard input is an empty capture (as tshark -r -)', async () => {
    expect(await run(['-'], new Uint8Array(0))).toEqual({ code: 0, out: [], err: [] });
  });
});

describe('ustack dissect -c N', () => {
  const path = join(FIXTURE_DIR, 'sll2.pcap');
  const all = async (): Promise<string[]> => (await run([path, '--json'])).out;

  it('prints the first N frames only', async () => {
    const every = await all();
    expect(every).toHaveLength(20);
    for (const n of [1, 3, 19, 20, 21, 1000]) {
      const { code, out, err } = await run([path, '--json', '-c', String(n)]);
      expect(code).toBe(0);
      expect(err).toEqual([]);
      expect(out).toEqual(every.slice(0, n));
    }
    const text = await run(['-c2', path]);
    expect(text.out.filter((line) => line.startsWith('Frame '))).toEqual([expect.stringMatching(/^Frame 1: /), expect.stringMatching(/^Frame 2: /)]);
  });

  it('on a capture cut short, warns only when the frames asked for reach the cut (as tshark)', async () => {
    const cut = join(directory, 'cut-in-10th.pcap');
    writeFileSync(cut, readFileSync(path).subarray(0, 1000));
    expect(await run([cut, '--json', '-c', '9'])).toMatchObject({ code: 0, err: [] });
    const past = await run([cut, '--json', '-c', '10']);
    expect(past.out).toHaveLength(9);
    expect(past.code).toBe(2);
    expect(past.err).toEqual([`ustack dissect: The file "${cut}" appears to have been cut short in the middle of a packet.`]);
  });

  it('N must be a whole number of frames, 1 or more: one line, exit 2', async () => {
    for (const value of ['0', '-1', 'abc', '2.5', '']) {
      const { code, out, err } = await run([path, '-c', value]);
      expect(code, value).toBe(2);
      expect(out).toEqual([]);
      expect(err).toEqual([`ustack dissect: -c takes N (a whole number of frames, 1 or more), not '${value}'`]);
    }
    expect((await run([path, '-c'])).err).toEqual(['ustack dissect: -c takes N (a whole number of frames, 1 or more)']);
  });
});

describe('ustack dissect: arguments and files', () => {
  it('exits 2 without a file, with two files or with an unknown option', async () => {
    for (const args of [[], ['a.pcap', 'b.pcap'], ['a.pcap', '--xml']]) {
      const { code, err } = await run(args);
      expect(code).toBe(2);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/^ustack dissect: (which capture FILE|takes one capture FILE|unknown option --xml)/);
    }
  });

  it('exits 1 for a file that is missing or not a capture', async () => {
    const missing = await run([join(directory, 'nope.pcap')]);
    expect(missing.code).toBe(1);
    expect(missing.err[0]).toMatch(/nope\.pcap: ENOENT/);
    const text = join(directory, 'text.pcap');
    writeFileSync(text, 'not a capture at all');
    const garbage = await run([text]);
    expect(garbage.code).toBe(1);
    expect(garbage.err[0]).toMatch(/not a readable capture/);
  });

  it('prints its usage for --help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^usage: ustack dissect FILE\|- \[-c N\]/);
  });
});
