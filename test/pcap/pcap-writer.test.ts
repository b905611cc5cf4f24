import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes, toHex } from '../../src/core/bytes.js';
import { LinkType, PcapWriter, readCapture, readPcap } from '../../src/pcap/pcap.js';
import { ETHERNET_FRAME, ICMP_ECHO_PACKET } from './fixtures.js';

describe('PcapWriter', () => {
  it('writes a little-endian microsecond global header by default', () => {
    const writer = new PcapWriter({ linkType: LinkType.RAW });
    expect(toHex(writer.header(), ' ')).toBe('d4 c3 b2 a1 02 00 04 00 00 00 00 00 00 00 00 00 00 00 04 00 65 00 00 00');
    expect(toHex(writer.toBytes())).toBe(toHex(writer.header()));
  });

  it('writes the nanosecond magic and the requested snaplen', () => {
    const writer = new PcapWriter({ linkType: LinkType.ETHERNET, nanosecond: true, snaplen: 1500 });
    expect(toHex(writer.header().subarray(0, 4))).toBe('4d3cb2a1');
    expect(toHex(writer.header().subarray(16, 24))).toBe('dc05000001000000');
  });

  it('a record is its 16-byte header and the frame; 1.5 ms is 0 s 1500 µs', () => {
    const writer = new PcapWriter({ linkType: LinkType.RAW });
    const record = writer.record(1.5, Uint8Array.of(0x45, 0x00));
    expect(toHex(record, ' ')).toBe('00 00 00 00 dc 05 00 00 02 00 00 00 02 00 00 00 45 00');
  });

  for (const nanosecond of [false, true]) {
    it(`round-trips frames and timestamps (${nanosecond ? 'nanosecond' : 'microsecond'})`, () => {
      const writer = new PcapWriter({ linkType: LinkType.ETHERNET, nanosecond });
      const times = [0, 1.5, 1000.001, 1_700_000_000_123.456, 4_294_967_295_999];
      for (const t of times) writer.record(t, ETHERNET_FRAME);
      writer.record(2, ICMP_ECHO_PACKET.subarray(0, 20), 28);
      const result = readCapture(writer.toBytes());
      expect(result.ok).toBe(true);
      if (!result.ok || result.value.format !== 'pcap') return;
      const capture = result.value;
      expect(capture.resolution).toBe(nanosecond ? 'nanosecond' : 'microsecond');
      expect(capture.byteOrder).toBe('little');
      expect(capture.linkType).toBe(LinkType.ETHERNET);
      expect(capture.records).toHaveLength(times.length + 1);
      expect(capture.records.slice(0, 4).map((r) => [r.seconds, r.nanoseconds])).toEqual([
        [0, 0],
        [0, 1_500_000],
        [1, 1_000],
        [1_700_000_000, nanosecond ? 123_456_055 : 123_456_000],
      ]);
      expect(capture.records[4]).toMatchObject({ seconds: 4_294_967_295, nanoseconds: 999_000_000 });
      expect(capture.records[5]).toMatchObject({ capturedLength: 20, originalLength: 28 });
      for (const record of capture.records.slice(0, times.length)) expect(bytesEqual(record.data, ETHERNET_FRAME)).toBe(true);
    });
  }

  it('cuts frames longer than the snaplen and keeps their original length', () => {
    const writer = new PcapWriter({ linkType: LinkType.ETHERNET, snaplen: 14 });
    writer.record(0, ETHERNET_FRAME);
    const result = readPcap(writer.toBytes());
    expect(result.ok && result.value.records[0]).toMatchObject({ capturedLength: 14, originalLength: ETHERNET_FRAME.length });
    expect(result.ok && bytesEqual(result.value.records[0].data, ETHERNET_FRAME.subarray(0, 14))).toBe(true);
  });

  it('streams chunks to onChunk, header first, and their concatenation is the file', () => {
    const chunks: Uint8Array[] = [];
    const writer = new PcapWriter({ linkType: LinkType.RAW, onChunk: (chunk) => chunks.push(chunk) });
    expect(chunks).toHaveLength(1);
    const first = writer.record(10, ICMP_ECHO_PACKET);
    writer.record(20, ICMP_ECHO_PACKET);
    expect(chunks).toHaveLength(3);
    expect(chunks[1]).toBe(first);
    expect(writer.recordCount).toBe(2);
    expect(() => writer.toBytes()).toThrow(/retain/);
    const result = readPcap(concatBytes(...chunks));
    expect(result.ok && result.value.records.map((r) => r.nanoseconds)).toEqual([10_000_000, 20_000_000]);
  });

  it('with onChunk and retain: true, both the sink and toBytes() see the file', () => {
    const chunks: Uint8Array[] = [];
    const writer = new PcapWriter({ linkType: LinkType.RAW, onChunk: (c) => chunks.push(c), retain: true });
    writer.record(1, ICMP_ECHO_PACKET);
    expect(bytesEqual(writer.toBytes(), concatBytes(...chunks))).toBe(true);
    writer.record(2, ICMP_ECHO_PACKET);
    expect(bytesEqual(writer.toBytes(), concatBytes(...chunks))).toBe(true);
  });

  it('copies the frame: later changes to the caller buffer do not alter the capture', () => {
    const writer = new PcapWriter({ linkType: LinkType.RAW });
    const frame = ICMP_ECHO_PACKET.slice();
    writer.record(0, frame);
    frame.fill(0);
    const result = readPcap(writer.toBytes());
    expect(result.ok && bytesEqual(result.value.records[0].data, ICMP_ECHO_PACKET)).toBe(true);
  });

  it('refuses what a pcap cannot hold', () => {
    const writer = new PcapWriter({ linkType: LinkType.RAW });
    expect(() => writer.record(-1, ICMP_ECHO_PACKET)).toThrow(RangeError);
    expect(() => writer.record(2 ** 32 * 1000, ICMP_ECHO_PACKET)).toThrow(RangeError);
    expect(() => writer.record(Number.NaN, ICMP_ECHO_PACKET)).toThrow(RangeError);
    expect(() => writer.record(0, ICMP_ECHO_PACKET, 3)).toThrow(RangeError);
    expect(() => new PcapWriter({ linkType: -1 })).toThrow(RangeError);
    expect(() => new PcapWriter({ linkType: 1, snaplen: 0 })).toThrow(RangeError);
    expect(writer.recordCount).toBe(0);
  });
});
