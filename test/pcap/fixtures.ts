/**
 * Byte fixtures for the capture tests, assembled field by field so each test says exactly
 * which bytes a file holds: classic pcap headers and records in either byte order, and pcapng
 * blocks (section, interface, enhanced and simple packets, options) in either byte order.
 */
import { concatBytes } from '../../src/core/bytes.js';

/** Appends fixed-width integers in one byte order. */
export class ByteBuilder {
  private readonly parts: number[] = [];
  constructor(private readonly littleEndian: boolean) {}
  u8(value: number): this {
    this.parts.push(value & 0xff);
    return this;
  }
  u16(value: number): this {
    const bytes = [(value >>> 8) & 0xff, value & 0xff];
    if (this.littleEndian) bytes.reverse();
    this.parts.push(...bytes);
    return this;
  }
  u32(value: number): this {
    const bytes = [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
    if (this.littleEndian) bytes.reverse();
    this.parts.push(...bytes);
    return this;
  }
  u64(value: bigint): this {
    const high = Number((value >> 32n) & 0xffffffffn);
    const low = Number(value & 0xffffffffn);
    return this.littleEndian ? this.u32(low).u32(high) : this.u32(high).u32(low);
  }
  bytes(values: Uint8Array | readonly number[]): this {
    this.parts.push(...values);
    return this;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** A classic pcap global header. */
export function pcapGlobalHeader(options: { littleEndian: boolean; magic: number; linkType: number; snaplen?: number; versionMajor?: number }): Uint8Array {
  return new ByteBuilder(options.littleEndian)
    .u32(options.magic)
    .u16(options.versionMajor ?? 2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(options.snaplen ?? 65535)
    .u32(options.linkType)
    .build();
}

/** A classic pcap record header followed by `data` (or `capturedLength` if it lies). */
export function pcapRecord(
  littleEndian: boolean,
  seconds: number,
  fraction: number,
  data: Uint8Array,
  options: { originalLength?: number; capturedLength?: number } = {},
): Uint8Array {
  return new ByteBuilder(littleEndian)
    .u32(seconds)
    .u32(fraction)
    .u32(options.capturedLength ?? data.length)
    .u32(options.originalLength ?? data.length)
    .bytes(data)
    .build();
}

function pad4(bytes: Uint8Array): Uint8Array {
  const padded = new Uint8Array((bytes.length + 3) & ~3);
  padded.set(bytes);
  return padded;
}

/** One pcapng option (code, length, value padded to 4). */
export function pcapngOption(littleEndian: boolean, code: number, value: Uint8Array): Uint8Array {
  return concatBytes(new ByteBuilder(littleEndian).u16(code).u16(value.length).build(), pad4(value));
}

/** The end-of-options marker. */
export function pcapngEndOfOptions(littleEndian: boolean): Uint8Array {
  return new ByteBuilder(littleEndian).u16(0).u16(0).build();
}

/** A whole pcapng block around `body` (padded), with both total-length fields. */
export function pcapngBlock(littleEndian: boolean, type: number, body: Uint8Array): Uint8Array {
  const padded = pad4(body);
  const total = padded.length + 12;
  return new ByteBuilder(littleEndian).u32(type).u32(total).bytes(padded).u32(total).build();
}

/** A Section Header Block, version 1.0, section length unknown (-1). */
export function pcapngSectionHeader(littleEndian: boolean, options: Uint8Array = new Uint8Array(0)): Uint8Array {
  const body = new ByteBuilder(littleEndian).u32(0x1a2b3c4d).u16(1).u16(0).u64(0xffffffffffffffffn).bytes(options).build();
  return pcapngBlock(littleEndian, 0x0a0d0d0a, body);
}

/** An Interface Description Block, optionally with an if_tsresol byte and extra options. */
export function pcapngInterface(
  littleEndian: boolean,
  linkType: number,
  options: { snaplen?: number; tsresol?: number; tsoffset?: bigint; name?: string } = {},
): Uint8Array {
  const parts: Uint8Array[] = [];
  if (options.name !== undefined) parts.push(pcapngOption(littleEndian, 2, new TextEncoder().encode(options.name)));
  if (options.tsresol !== undefined) parts.push(pcapngOption(littleEndian, 9, Uint8Array.of(options.tsresol)));
  if (options.tsoffset !== undefined) {
    parts.push(pcapngOption(littleEndian, 14, new ByteBuilder(littleEndian).u64(options.tsoffset).build()));
  }
  if (parts.length > 0) parts.push(pcapngEndOfOptions(littleEndian));
  const body = new ByteBuilder(littleEndian)
    .u16(linkType)
    .u16(0)
    .u32(options.snaplen ?? 0)
    .bytes(concatBytes(...parts))
    .build();
  return pcapngBlock(littleEndian, 1, body);
}

/** An Enhanced Packet Block with a 64-bit tick count in the interface's units. */
export function pcapngEnhancedPacket(
  littleEndian: boolean,
  interfaceId: number,
  ticks: bigint,
  data: Uint8Array,
  options: { originalLength?: number; capturedLength?: number; options?: Uint8Array } = {},
): Uint8Array {
  const body = new ByteBuilder(littleEndian)
    .u32(interfaceId)
    .u32(Number(ticks >> 32n))
    .u32(Number(ticks & 0xffffffffn))
    .u32(options.capturedLength ?? data.length)
    .u32(options.originalLength ?? data.length)
    .bytes(pad4(data))
    .bytes(options.options ?? new Uint8Array(0))
    .build();
  return pcapngBlock(littleEndian, 6, body);
}

/** A Simple Packet Block. */
export function pcapngSimplePacket(littleEndian: boolean, data: Uint8Array, originalLength = data.length): Uint8Array {
  return pcapngBlock(littleEndian, 3, new ByteBuilder(littleEndian).u32(originalLength).bytes(data).build());
}

/** A small IPv4/ICMP echo request, 28 bytes, for packet payloads. */
export const ICMP_ECHO_PACKET = Uint8Array.from([
  0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x66, 0xdd, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x08, 0x00, 0xf7, 0xfe, 0x00, 0x01,
  0x00, 0x00,
]);

/** An Ethernet II frame carrying ICMP_ECHO_PACKET. */
export const ETHERNET_FRAME = concatBytes(Uint8Array.from([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]), ICMP_ECHO_PACKET);
