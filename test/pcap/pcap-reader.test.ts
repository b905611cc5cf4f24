import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes, fromHex } from '../../src/core/bytes.js';
import { LinkType, PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS, readCapture, readPcap, timestampToMs } from '../../src/pcap/pcap.js';
import { ETHERNET_FRAME, ICMP_ECHO_PACKET, pcapGlobalHeader, pcapRecord } from './fixtures.js';

describe('classic pcap reader: byte fixtures', () => {
  it('reads a big-endian nanosecond file written out byte by byte', () => {
    const file = fromHex(`
      a1 b2 3c 4d  00 02 00 04  00 00 00 00  00 00 00 00  00 00 ff ff  00 00 00 65
      65 43 21 00  3b 9a c9 ff  00 00 00 04  00 00 00 1c  45 00 00 1c
      65 43 21 01  00 00 00 07  00 00 00 02  00 00 00 02  de ad
    `);
    const result = readPcap(file);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const capture = result.value;
    expect(capture.byteOrder).toBe('big');
    expect(capture.resolution).toBe('nanosecond');
    expect(capture.versionMajor).toBe(2);
    expect(capture.versionMinor).toBe(4);
    expect(capture.snaplen).toBe(65535);
    expect(capture.linkType).toBe(LinkType.RAW);
    expect(capture.records).toHaveLength(2);
    const [first, second] = capture.records;
    expect(first).toMatchObject({
      index: 0,
      seconds: 0x65432100,
      nanoseconds: 999_999_999,
      capturedLength: 4,
      originalLength: 28,
      linkType: 101,
      interfaceIndex: 0,
    });
    expect([...first.data]).toEqual([0x45, 0x00, 0x00, 0x1c]);
    expect(second).toMatchObject({ index: 1, seconds: 0x65432101, nanoseconds: 7, capturedLength: 2 });
    expect([...second.data]).toEqual([0xde, 0xad]);
  });

  it('reads a little-endian microsecond file written out byte by byte', () => {
    const file = fromHex(`
      d4 c3 b2 a1  02 00 04 00  00 00 00 00  00 00 00 00  00 00 04 00  01 00 00 00
      10 00 00 00  40 42 0f 00  03 00 00 00  03 00 00 00  aa bb cc
    `);
    const result = readPcap(file);
    expect(result.ok).toBe(false); // 0x0f4240 µs is exactly one second: an impossible fraction
    const fixed = file.slice();
    fixed.set([0x3f, 0x42, 0x0f, 0x00], 28); // 999_999 µs
    const good = readPcap(fixed);
    expect(good.ok).toBe(true);
    if (!good.ok) return;
    expect(good.value.byteOrder).toBe('little');
    expect(good.value.resolution).toBe('microsecond');
    expect(good.value.snaplen).toBe(262_144);
    expect(good.value.linkType).toBe(LinkType.ETHERNET);
    expect(good.value.records[0]).toMatchObject({ seconds: 16, nanoseconds: 999_999_000 });
    expect(timestampToMs(good.value.records[0])).toBeCloseTo(16_999.999, 6);
  });

  const variants = [
    { littleEndian: true, magic: PCAP_MAGIC_MICROSECONDS, resolution: 'microsecond', nsPerUnit: 1000 },
    { littleEndian: false, magic: PCAP_MAGIC_MICROSECONDS, resolution: 'microsecond', nsPerUnit: 1000 },
    { littleEndian: true, magic: PCAP_MAGIC_NANOSECONDS, resolution: 'nanosecond', nsPerUnit: 1 },
    { littleEndian: false, magic: PCAP_MAGIC_NANOSECONDS, resolution: 'nanosecond', nsPerUnit: 1 },
  ] as const;
  for (const variant of variants) {
    const order = variant.littleEndian ? 'little' : 'big';
    it(`reads ${variant.resolution} timestamps in ${order}-endian files, data zero-copy`, () => {
      const file = concatBytes(
        pcapGlobalHeader({ littleEndian: variant.littleEndian, magic: variant.magic, linkType: LinkType.ETHERNET }),
        pcapRecord(variant.littleEndian, 1_700_000_000, 123_456, ETHERNET_FRAME),
        pcapRecord(variant.littleEndian, 1_700_000_001, 0, ICMP_ECHO_PACKET.subarray(0, 20), { originalLength: 28 }),
      );
      const result = readCapture(file);
      expect(result.ok).toBe(true);
      if (!result.ok || result.value.format !== 'pcap') throw new Error('expected a pcap');
      const capture = result.value;
      expect(capture.byteOrder).toBe(order);
      expect(capture.resolution).toBe(variant.resolution);
      expect(capture.records.map((r) => [r.seconds, r.nanoseconds, r.capturedLength, r.originalLength])).toEqual([
        [1_700_000_000, 123_456 * variant.nsPerUnit, ETHERNET_FRAME.length, ETHERNET_FRAME.length],
        [1_700_000_001, 0, 20, 28],
      ]);
      expect(bytesEqual(capture.records[0].data, ETHERNET_FRAME)).toBe(true);
      expect(capture.records[0].data.buffer).toBe(file.buffer);
    });
  }

  it('keeps an unknown link type as its number', () => {
    const file = pcapGlobalHeader({ littleEndian: true, magic: PCAP_MAGIC_MICROSECONDS, linkType: 147 });
    expect(readPcap(file)).toMatchObject({ ok: true, value: { linkType: 147, records: [] } });
  });

  it('reads a file that is a subarray of a larger buffer', () => {
    const file = concatBytes(
      Uint8Array.of(9, 9, 9),
      pcapGlobalHeader({ littleEndian: false, magic: PCAP_MAGIC_NANOSECONDS, linkType: LinkType.IPV4 }),
      pcapRecord(false, 5, 6, ICMP_ECHO_PACKET),
    );
    const result = readPcap(file.subarray(3));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.linkType).toBe(LinkType.IPV4);
    expect(bytesEqual(result.value.records[0].data, ICMP_ECHO_PACKET)).toBe(true);
  });
});

describe('classic pcap reader: truncated and impossible input is an error, never a throw', () => {
  const header = pcapGlobalHeader({ littleEndian: true, magic: PCAP_MAGIC_MICROSECONDS, linkType: LinkType.RAW });
  const good = concatBytes(header, pcapRecord(true, 1, 2, ICMP_ECHO_PACKET), pcapRecord(true, 3, 4, ICMP_ECHO_PACKET));

  it('a global header cut short is truncated at offset 0', () => {
    for (let length = 0; length < 24; length++) {
      const result = readPcap(good.subarray(0, length));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toMatchObject({ layer: 'pcap', reason: 'truncated', offset: 0 });
    }
  });

  it('every cut inside the final record is truncated with that record index', () => {
    const secondRecordStart = 24 + 16 + ICMP_ECHO_PACKET.length;
    for (let length = secondRecordStart + 1; length < good.length; length++) {
      const result = readPcap(good.subarray(0, length));
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error).toMatchObject({ reason: 'truncated', recordIndex: 1, offset: secondRecordStart });
      }
    }
    expect(readPcap(good.subarray(0, secondRecordStart)).ok).toBe(true);
  });

  it('a record whose captured length points past the end is truncated', () => {
    const file = concatBytes(header, pcapRecord(true, 1, 2, ICMP_ECHO_PACKET, { capturedLength: 1000 }));
    expect(readPcap(file)).toMatchObject({ ok: false, error: { reason: 'truncated', recordIndex: 0, offset: 24 } });
  });

  it('a captured length of 2^31 is refused as badField before reading anything', () => {
    const file = concatBytes(header, pcapRecord(true, 1, 2, ICMP_ECHO_PACKET, { capturedLength: 2 ** 31 }));
    expect(readPcap(file)).toMatchObject({ ok: false, error: { reason: 'badField', recordIndex: 0 } });
    const huge = concatBytes(header, pcapRecord(true, 1, 2, ICMP_ECHO_PACKET, { capturedLength: 0xffffffff }));
    expect(readPcap(huge)).toMatchObject({ ok: false, error: { reason: 'badField', recordIndex: 0 } });
  });

  it('a captured length above a small snaplen but within 256 KiB is accepted (real writers do it)', () => {
    const small = pcapGlobalHeader({ littleEndian: true, magic: PCAP_MAGIC_MICROSECONDS, linkType: 1, snaplen: 16 });
    const result = readPcap(concatBytes(small, pcapRecord(true, 1, 2, ETHERNET_FRAME)));
    expect(result.ok).toBe(true);
  });

  it('an unknown magic and a wrong version are badField', () => {
    const badMagic = good.slice();
    badMagic[0] = 0x00;
    expect(readPcap(badMagic)).toMatchObject({ ok: false, error: { reason: 'badField', offset: 0 } });
    const badVersion = concatBytes(pcapGlobalHeader({ littleEndian: true, magic: PCAP_MAGIC_MICROSECONDS, linkType: 1, versionMajor: 3 }));
    expect(readPcap(badVersion)).toMatchObject({ ok: false, error: { reason: 'badField' } });
  });

  it('a nanosecond fraction of a whole second is badField', () => {
    const file = concatBytes(
      pcapGlobalHeader({ littleEndian: true, magic: PCAP_MAGIC_NANOSECONDS, linkType: 1 }),
      pcapRecord(true, 1, 1_000_000_000, ICMP_ECHO_PACKET),
    );
    expect(readPcap(file)).toMatchObject({ ok: false, error: { reason: 'badField', recordIndex: 0 } });
  });
});
