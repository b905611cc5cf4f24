/**
 * Untrusted capture files never throw: seeded random corruption of valid files of every kind
 * (bytes flipped, lengths overwritten with extremes, cuts) yields a Result every time, and a
 * successful result's records always lie inside the input.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/core/bytes.js';
import { Rng } from '../../src/core/rng.js';
import { LinkType, PCAP_MAGIC_NANOSECONDS, PcapWriter, readCapture } from '../../src/pcap/pcap.js';
import {
  ETHERNET_FRAME,
  ICMP_ECHO_PACKET,
  pcapGlobalHeader,
  pcapngEnhancedPacket,
  pcapngInterface,
  pcapngSectionHeader,
  pcapngSimplePacket,
  pcapRecord,
} from './fixtures.js';

function samples(): Uint8Array[] {
  const writer = new PcapWriter({ linkType: LinkType.ETHERNET });
  for (let i = 0; i < 4; i++) writer.record(i * 1.25, ETHERNET_FRAME);
  const bigEndianNanoseconds = concatBytes(
    pcapGlobalHeader({ littleEndian: false, magic: PCAP_MAGIC_NANOSECONDS, linkType: LinkType.RAW }),
    pcapRecord(false, 1, 2, ICMP_ECHO_PACKET),
    pcapRecord(false, 3, 4, ICMP_ECHO_PACKET),
  );
  const pcapng = (littleEndian: boolean) =>
    concatBytes(
      pcapngSectionHeader(littleEndian),
      pcapngInterface(littleEndian, LinkType.ETHERNET, { tsresol: 9, tsoffset: 5n, name: 'eth0' }),
      pcapngInterface(littleEndian, LinkType.RAW, { tsresol: 0x83, snaplen: 40 }),
      pcapngEnhancedPacket(littleEndian, 0, 123n, ETHERNET_FRAME),
      pcapngEnhancedPacket(littleEndian, 1, 456n, ICMP_ECHO_PACKET),
      pcapngSimplePacket(littleEndian, ETHERNET_FRAME),
    );
  return [writer.toBytes(), bigEndianNanoseconds, pcapng(true), pcapng(false)];
}

const EXTREMES = [0, 1, 3, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

describe('capture readers on corrupted input', () => {
  it('return a Result for 20 000 seeded corruptions, and ok records stay inside the input', () => {
    const rng = new Rng(0x9cab);
    const pick = (n: number) => rng.nextU32() % n;
    const files = samples();
    const problems: string[] = [];
    let successes = 0;
    let failures = 0;
    for (let round = 0; round < 20_000; round++) {
      const file = files[round % files.length].slice();
      const mutations = 1 + pick(4);
      for (let m = 0; m < mutations; m++) {
        const at = pick(file.length);
        switch (pick(3)) {
          case 0:
            file[at] ^= 1 << pick(8);
            break;
          case 1:
            if (at + 4 <= file.length) new DataView(file.buffer).setUint32(at & ~3, EXTREMES[pick(EXTREMES.length)], pick(2) === 0);
            break;
          default:
            file[at] = pick(256);
        }
      }
      const input = pick(4) === 0 ? file.subarray(0, pick(file.length + 1)) : file;
      let result: ReturnType<typeof readCapture>;
      try {
        result = readCapture(input);
      } catch (error) {
        problems.push(`round ${round}: threw ${String(error)}`);
        continue;
      }
      if (!result.ok) {
        failures++;
        if (result.error.layer !== 'pcap') problems.push(`round ${round}: layer ${result.error.layer}`);
        continue;
      }
      successes++;
      for (const record of result.value.records) {
        const inside =
          record.data.buffer === input.buffer &&
          record.data.byteOffset + record.data.length <= input.byteOffset + input.length &&
          record.data.length === record.capturedLength &&
          Number.isInteger(record.nanoseconds) &&
          record.nanoseconds >= 0 &&
          record.nanoseconds < 1e9;
        if (!inside) problems.push(`round ${round}: record ${record.index} is inconsistent`);
      }
    }
    expect(problems).toEqual([]);
    // Both outcomes are exercised: corruption of payload bytes leaves a readable file.
    expect(successes).toBeGreaterThan(1000);
    expect(failures).toBeGreaterThan(1000);
  });
});
