import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes, fromHex } from '../../src/core/bytes.js';
import { LinkType, readCapture, readPcapng, timestampToMs } from '../../src/pcap/pcap.js';
import {
  ByteBuilder,
  ETHERNET_FRAME,
  ICMP_ECHO_PACKET,
  pcapngBlock,
  pcapngEndOfOptions,
  pcapngEnhancedPacket,
  pcapngInterface,
  pcapngOption,
  pcapngSectionHeader,
  pcapngSimplePacket,
} from './fixtures.js';

/** A section with an Ethernet interface in µs (default tsresol) and a RAW one in ns. */
function twoInterfaceFile(littleEndian: boolean): Uint8Array {
  return concatBytes(
    pcapngSectionHeader(littleEndian, concatBytes(pcapngOption(littleEndian, 4, new TextEncoder().encode('ustack test')), pcapngEndOfOptions(littleEndian))),
    pcapngInterface(littleEndian, LinkType.ETHERNET, { snaplen: 65535, name: 'eth0' }),
    pcapngInterface(littleEndian, LinkType.RAW, { tsresol: 9, name: 'tun0' }),
    pcapngBlock(littleEndian, 0x00000004, Uint8Array.of(1, 0, 4, 0, 10, 0, 0, 1, 0x61, 0, 0, 0, 0, 0, 0, 0)), // name resolution: skipped
    pcapngEnhancedPacket(littleEndian, 0, 1_700_000_000_123_456n, ETHERNET_FRAME),
    pcapngEnhancedPacket(littleEndian, 1, 1_700_000_000_123_456_789n, ICMP_ECHO_PACKET),
    pcapngBlock(littleEndian, 0x00000005, new Uint8Array(20)), // interface statistics: skipped
    pcapngEnhancedPacket(littleEndian, 1, 5n, ICMP_ECHO_PACKET.subarray(0, 21), {
      originalLength: 28,
      options: concatBytes(pcapngOption(littleEndian, 1, new TextEncoder().encode('cut')), pcapngEndOfOptions(littleEndian)),
    }),
  );
}

describe('pcapng reader', () => {
  for (const littleEndian of [true, false]) {
    const order = littleEndian ? 'little' : 'big';
    it(`reads two interfaces with different link types and tsresol (${order}-endian)`, () => {
      const result = readCapture(twoInterfaceFile(littleEndian));
      expect(result.ok).toBe(true);
      if (!result.ok || result.value.format !== 'pcapng') throw new Error('expected pcapng');
      const capture = result.value;
      expect(capture.byteOrder).toBe(order);
      expect(capture.sections).toEqual([{ byteOrder: order, versionMajor: 1, versionMinor: 0 }]);
      expect(capture.interfaces).toEqual([
        {
          section: 0,
          linkType: LinkType.ETHERNET,
          snaplen: 65535,
          timestampResolution: { base: 10, exponent: 6 },
          timestampOffsetSeconds: 0,
          name: 'eth0',
        },
        {
          section: 0,
          linkType: LinkType.RAW,
          snaplen: 0,
          timestampResolution: { base: 10, exponent: 9 },
          timestampOffsetSeconds: 0,
          name: 'tun0',
        },
      ]);
      expect(capture.records.map((r) => [r.index, r.interfaceIndex, r.linkType, r.seconds, r.nanoseconds])).toEqual([
        [0, 0, LinkType.ETHERNET, 1_700_000_000, 123_456_000],
        [1, 1, LinkType.RAW, 1_700_000_000, 123_456_789],
        [2, 1, LinkType.RAW, 0, 5],
      ]);
      expect(bytesEqual(capture.records[0].data, ETHERNET_FRAME)).toBe(true);
      expect(bytesEqual(capture.records[1].data, ICMP_ECHO_PACKET)).toBe(true);
      expect(capture.records[2]).toMatchObject({ capturedLength: 21, originalLength: 28 });
      expect(bytesEqual(capture.records[2].data, ICMP_ECHO_PACKET.subarray(0, 21))).toBe(true);
    });
  }

  it('reads a tiny big-endian file written out byte by byte', () => {
    const file = fromHex(`
      0a 0d 0d 0a  00 00 00 1c  1a 2b 3c 4d  00 01 00 00  ff ff ff ff ff ff ff ff  00 00 00 1c
      00 00 00 01  00 00 00 14  00 e4 00 00  00 00 00 00  00 00 00 14
      00 00 00 06  00 00 00 24  00 00 00 00  00 00 00 00  00 0f 42 41  00 00 00 02  00 00 00 02
                   45 00 00 00  00 00 00 24
    `);
    const result = readPcapng(file);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.byteOrder).toBe('big');
    expect(result.value.interfaces[0].linkType).toBe(LinkType.IPV4);
    expect(result.value.records).toHaveLength(1);
    expect(result.value.records[0]).toMatchObject({ seconds: 1, nanoseconds: 1000, linkType: 228, capturedLength: 2 });
    expect([...result.value.records[0].data]).toEqual([0x45, 0x00]);
  });

  it('binary tsresol (2^-n s units) and if_tsoffset', () => {
    const file = concatBytes(
      pcapngSectionHeader(true),
      pcapngInterface(true, 147, { tsresol: 0x80 | 10, tsoffset: 1_000n }), // 1/1024 s, +1000 s
      pcapngEnhancedPacket(true, 0, 3n * 1024n + 512n, ICMP_ECHO_PACKET), // 3.5 s
      pcapngEnhancedPacket(true, 0, 1n, ICMP_ECHO_PACKET), // 1/1024 s = 976562.5 ns, floored
    );
    const result = readPcapng(file);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.interfaces[0]).toMatchObject({
      linkType: 147,
      timestampResolution: { base: 2, exponent: 10 },
      timestampOffsetSeconds: 1000,
    });
    expect(result.value.records.map((r) => [r.linkType, r.seconds, r.nanoseconds])).toEqual([
      [147, 1003, 500_000_000],
      [147, 1000, 976_562],
    ]);
    expect(timestampToMs(result.value.records[0])).toBe(1_003_500);
  });

  it('tsresol coarser than 1 s and finer than 1 ns', () => {
    const file = concatBytes(
      pcapngSectionHeader(false),
      pcapngInterface(false, LinkType.RAW, { tsresol: 0 }), // whole seconds
      pcapngInterface(false, LinkType.RAW, { tsresol: 12 }), // picoseconds
      pcapngEnhancedPacket(false, 0, 42n, ICMP_ECHO_PACKET),
      pcapngEnhancedPacket(false, 1, 7_000_000_123_456_789n, ICMP_ECHO_PACKET),
    );
    const result = readPcapng(file);
    expect(result.ok && result.value.records.map((r) => [r.seconds, r.nanoseconds])).toEqual([
      [42, 0],
      [7000, 123_456],
    ]);
  });

  it('Simple Packet Blocks belong to interface 0, have no timestamp, and are cut to its snaplen', () => {
    const file = concatBytes(
      pcapngSectionHeader(true),
      pcapngInterface(true, LinkType.ETHERNET, { snaplen: 20 }),
      pcapngSimplePacket(true, ETHERNET_FRAME.subarray(0, 20), ETHERNET_FRAME.length),
      pcapngSimplePacket(true, ETHERNET_FRAME.subarray(0, 6), 6),
    );
    const result = readPcapng(file);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.records.map((r) => [r.linkType, r.seconds, r.nanoseconds, r.capturedLength, r.originalLength])).toEqual([
      [LinkType.ETHERNET, 0, 0, 20, ETHERNET_FRAME.length],
      [LinkType.ETHERNET, 0, 0, 6, 6],
    ]);
    expect(bytesEqual(result.value.records[1].data, ETHERNET_FRAME.subarray(0, 6))).toBe(true);
  });

  it('a second section restarts interface numbering and may switch byte order', () => {
    const file = concatBytes(
      pcapngSectionHeader(true),
      pcapngInterface(true, LinkType.ETHERNET),
      pcapngEnhancedPacket(true, 0, 1n, ETHERNET_FRAME),
      pcapngSectionHeader(false),
      pcapngInterface(false, LinkType.RAW),
      pcapngEnhancedPacket(false, 0, 2n, ICMP_ECHO_PACKET),
    );
    const result = readPcapng(file);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.sections.map((s) => s.byteOrder)).toEqual(['little', 'big']);
    expect(result.value.interfaces.map((i) => [i.section, i.linkType])).toEqual([
      [0, LinkType.ETHERNET],
      [1, LinkType.RAW],
    ]);
    expect(result.value.records.map((r) => [r.interfaceIndex, r.linkType, r.nanoseconds])).toEqual([
      [0, LinkType.ETHERNET, 1000],
      [1, LinkType.RAW, 2000],
    ]);
  });
});

describe('pcapng reader: truncated and impossible input is an error, never a throw', () => {
  const good = twoInterfaceFile(true);
  const sectionLength = pcapngSectionHeader(true, concatBytes(pcapngOption(true, 4, new TextEncoder().encode('ustack test')), pcapngEndOfOptions(true))).length;

  it('every prefix of a valid file either fails cleanly or (at block boundaries) succeeds', () => {
    let successes = 0;
    for (let length = 0; length < good.length; length++) {
      const result = readCapture(good.subarray(0, length));
      if (result.ok) {
        successes++;
        continue;
      }
      expect(result.error.layer).toBe('pcap');
      expect(['truncated', 'badField']).toContain(result.error.reason);
    }
    expect(successes).toBe(7); // one per block boundary after the section header
  });

  it('a cut inside the final packet block is truncated with its record index', () => {
    const result = readPcapng(good.subarray(0, good.length - 1));
    expect(result).toMatchObject({ ok: false, error: { reason: 'truncated', recordIndex: 2 } });
  });

  it('a block length of 2^31 is truncated, a block length not a multiple of 4 is badField', () => {
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(sectionLength + 4, 2 ** 31, true);
    expect(readPcapng(huge)).toMatchObject({ ok: false, error: { reason: 'truncated', offset: sectionLength } });
    const odd = good.slice();
    new DataView(odd.buffer).setUint32(sectionLength + 4, 30, true);
    expect(readPcapng(odd)).toMatchObject({ ok: false, error: { reason: 'badField', offset: sectionLength } });
    const tiny = good.slice();
    new DataView(tiny.buffer).setUint32(sectionLength + 4, 8, true);
    expect(readPcapng(tiny)).toMatchObject({ ok: false, error: { reason: 'badField' } });
  });

  it('a trailing length that disagrees is badField', () => {
    const file = good.slice();
    file[sectionLength - 4] ^= 0xff;
    expect(readPcapng(file)).toMatchObject({ ok: false, error: { reason: 'badField', offset: 0 } });
  });

  it('a captured length of 2^31 inside an enhanced packet block is badField', () => {
    const file = concatBytes(
      pcapngSectionHeader(true),
      pcapngInterface(true, LinkType.RAW),
      pcapngEnhancedPacket(true, 0, 0n, ICMP_ECHO_PACKET, { capturedLength: 2 ** 31 }),
    );
    expect(readPcapng(file)).toMatchObject({ ok: false, error: { reason: 'badField', recordIndex: 0 } });
  });

  it('a packet for an undeclared interface is badField', () => {
    const file = concatBytes(pcapngSectionHeader(true), pcapngInterface(true, 1), pcapngEnhancedPacket(true, 1, 0n, ETHERNET_FRAME));
    expect(readPcapng(file)).toMatchObject({ ok: false, error: { reason: 'badField', recordIndex: 0 } });
    const simple = concatBytes(pcapngSectionHeader(true), pcapngSimplePacket(true, ETHERNET_FRAME));
    expect(readPcapng(simple)).toMatchObject({ ok: false, error: { reason: 'badField', recordIndex: 0 } });
  });

  it('a bad byte-order magic, a version 2 section, or a first block that is not a section is badField', () => {
    const magic = good.slice();
    magic[8] = 0;
    expect(readPcapng(magic)).toMatchObject({ ok: false, error: { reason: 'badField', offset: 0 } });
    const version = good.slice();
    version[12] = 2;
    expect(readPcapng(version)).toMatchObject({ ok: false, error: { reason: 'badField' } });
    expect(readPcapng(good.subarray(sectionLength))).toMatchObject({ ok: false, error: { reason: 'badField' } });
  });

  it('an option running past its block and a wrong-sized if_tsresol are badOption', () => {
    const runaway = concatBytes(pcapngSectionHeader(true), pcapngBlock(true, 1, new ByteBuilder(true).u16(1).u16(0).u32(0).u16(9).u16(200).build()));
    expect(readPcapng(runaway)).toMatchObject({ ok: false, error: { reason: 'badOption' } });
    const wide = concatBytes(
      pcapngSectionHeader(true),
      pcapngBlock(true, 1, concatBytes(new ByteBuilder(true).u16(1).u16(0).u32(0).build(), pcapngOption(true, 9, Uint8Array.of(6, 6)))),
    );
    expect(readPcapng(wide)).toMatchObject({ ok: false, error: { reason: 'badOption' } });
  });

  it('readCapture refuses what is neither format', () => {
    expect(readCapture(new Uint8Array(0))).toMatchObject({ ok: false, error: { reason: 'truncated' } });
    expect(readCapture(Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0, 0))).toMatchObject({ ok: false, error: { reason: 'badField' } });
  });
});
