import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesEqual } from '../../src/core/bytes.js';
import { LinkType, PcapWriter } from '../../src/pcap/pcap.js';
import { openPcapFileSink, readPcapFile, writePcapFile } from '../../src/pcap/pcap-file.js';
import { ICMP_ECHO_PACKET } from './fixtures.js';

const directory = mkdtempSync(join(tmpdir(), 'ustack-pcap-file-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('capture files on disk', () => {
  it('writePcapFile then readPcapFile round-trips a writer', async () => {
    const writer = new PcapWriter({ linkType: LinkType.RAW });
    writer.record(1.5, ICMP_ECHO_PACKET);
    const path = join(directory, 'one.pcap');
    await writePcapFile(path, writer);
    const result = await readPcapFile(path);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.records).toHaveLength(1);
    expect(result.value.records[0]).toMatchObject({ seconds: 0, nanoseconds: 1_500_000, linkType: LinkType.RAW });
    expect(bytesEqual(result.value.records[0].data, ICMP_ECHO_PACKET)).toBe(true);
  });

  it('a streaming sink puts every chunk on disk as it is produced', () => {
    const path = join(directory, 'streamed.pcap');
    const sink = openPcapFileSink(path);
    const writer = new PcapWriter({ linkType: LinkType.RAW, onChunk: sink.write, retain: true });
    writer.record(1, ICMP_ECHO_PACKET);
    expect(readFileSync(path).length).toBe(24 + 16 + ICMP_ECHO_PACKET.length);
    writer.record(2, ICMP_ECHO_PACKET);
    sink.close();
    sink.close();
    expect(bytesEqual(new Uint8Array(readFileSync(path)), writer.toBytes())).toBe(true);
    expect(() => sink.write(ICMP_ECHO_PACKET)).toThrow(/closed/);
  });

  it('a file that is not a capture is an error result; a missing file rejects', async () => {
    const path = join(directory, 'not-a-capture.txt');
    writeFileSync(path, 'hello, world');
    expect(await readPcapFile(path)).toMatchObject({ ok: false, error: { layer: 'pcap', reason: 'badField' } });
    await expect(readPcapFile(join(directory, 'missing.pcap'))).rejects.toThrow(/ENOENT/);
  });
});
