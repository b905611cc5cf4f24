/**
 * Hand-made frames for the dissector tests, byte by byte, so that a test can build exactly the
 * broken header it wants (a wrong length, a bad option) that the codecs would refuse to emit.
 * Checksums are filled in unless a test passes its own.
 */
import { concatBytes } from '../../src/core/bytes.js';
import { internetChecksum, onesComplementSum } from '../../src/ip/checksum.js';

const A = Uint8Array.from([10, 0, 0, 1]);
const B = Uint8Array.from([10, 0, 0, 2]);

function u16(value: number): number[] {
  return [(value >>> 8) & 0xff, value & 0xff];
}
function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

/** Bytes of an ASCII string. */
export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** `n` copies of `byte`. */
export function repeat(byte: number, n: number): Uint8Array {
  return new Uint8Array(n).fill(byte);
}

/** Options for ipv4(). */
export interface Ipv4Spec {
  protocol?: number;
  source?: Uint8Array;
  destination?: Uint8Array;
  /** The 16-bit flags + fragment offset word (default DF: 0x4000). */
  flagsFragment?: number;
  identification?: number;
  ttl?: number;
  tos?: number;
  options?: Uint8Array;
  /** Total Length field; default header + payload. */
  totalLength?: number;
  /** IHL field in 32-bit words; default from the options. */
  ihl?: number;
  version?: number;
  /** Header checksum; default computed. */
  checksum?: number;
}

/** An IPv4 packet: header per `spec`, then `payload`. */
export function ipv4(payload: Uint8Array, spec: Ipv4Spec = {}): Uint8Array {
  const options = spec.options ?? new Uint8Array(0);
  const headerLength = 20 + options.length;
  const header = Uint8Array.from([
    ((spec.version ?? 4) << 4) | (spec.ihl ?? headerLength / 4),
    spec.tos ?? 0,
    ...u16(spec.totalLength ?? headerLength + payload.length),
    ...u16(spec.identification ?? 0x1234),
    ...u16(spec.flagsFragment ?? 0x4000),
    spec.ttl ?? 64,
    spec.protocol ?? 17,
    0,
    0,
    ...(spec.source ?? A),
    ...(spec.destination ?? B),
    ...options,
  ]);
  const checksum = spec.checksum ?? internetChecksum(header);
  header[10] = checksum >>> 8;
  header[11] = checksum & 0xff;
  return concatBytes(header, payload);
}

function pseudoSum(protocol: number, length: number, source = A, destination = B): number {
  return onesComplementSum(concatBytes(source, destination, Uint8Array.from([0, protocol, ...u16(length)])));
}

/** Options for udp(). */
export interface UdpSpec {
  sourcePort?: number;
  destinationPort?: number;
  length?: number;
  checksum?: number;
}

/** A UDP datagram between 10.0.0.1 and 10.0.0.2, checksum computed unless given. */
export function udp(data: Uint8Array, spec: UdpSpec = {}): Uint8Array {
  const header = Uint8Array.from([...u16(spec.sourcePort ?? 40000), ...u16(spec.destinationPort ?? 40001), ...u16(spec.length ?? 8 + data.length), 0, 0]);
  const datagram = concatBytes(header, data);
  const computed = internetChecksum(datagram, pseudoSum(17, datagram.length)) || 0xffff;
  const checksum = spec.checksum ?? computed;
  datagram[6] = checksum >>> 8;
  datagram[7] = checksum & 0xff;
  return datagram;
}

/** Options for tcp(). */
export interface TcpSpec {
  sourcePort?: number;
  destinationPort?: number;
  seq?: number;
  ack?: number;
  /** The 12 flag bits (default PSH+ACK). */
  flags?: number;
  window?: number;
  options?: Uint8Array;
  urgentPointer?: number;
  /** Data offset in 32-bit words; default from the options. */
  dataOffset?: number;
  checksum?: number;
}

/** A TCP segment between 10.0.0.1 and 10.0.0.2, checksum computed unless given. */
export function tcp(data: Uint8Array, spec: TcpSpec = {}): Uint8Array {
  const options = spec.options ?? new Uint8Array(0);
  const dataOffset = spec.dataOffset ?? (20 + options.length) / 4;
  const header = Uint8Array.from([
    ...u16(spec.sourcePort ?? 40000),
    ...u16(spec.destinationPort ?? 40002),
    ...u32(spec.seq ?? 1000),
    ...u32(spec.ack ?? 2000),
    ...u16((dataOffset << 12) | (spec.flags ?? 0x018)),
    ...u16(spec.window ?? 512),
    0,
    0,
    ...u16(spec.urgentPointer ?? 0),
    ...options,
  ]);
  const segment = concatBytes(header, data);
  const checksum = spec.checksum ?? internetChecksum(segment, pseudoSum(6, segment.length));
  segment[16] = checksum >>> 8;
  segment[17] = checksum & 0xff;
  return segment;
}

/** An ICMP message: type, code, the 4-byte rest of header, data; checksum computed. */
export function icmp(type: number, code: number, rest: readonly number[], data: Uint8Array): Uint8Array {
  const message = concatBytes(Uint8Array.from([type, code, 0, 0, ...rest]), data);
  const checksum = internetChecksum(message);
  message[2] = checksum >>> 8;
  message[3] = checksum & 0xff;
  return message;
}

/** The addresses the builders use by default. */
export const ADDRESSES = { A, B } as const;

/** An Ethernet II frame from 02:00:00:00:00:01 to 02:00:00:00:00:02. */
export function ethernet(payload: Uint8Array, etherType = 0x0800): Uint8Array {
  return concatBytes(Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...u16(etherType)]), payload);
}

/** An 802.1Q-tagged Ethernet frame with TCI `tci`. */
export function ethernetVlan(payload: Uint8Array, tci: number, etherType = 0x0800): Uint8Array {
  return concatBytes(Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0x00, ...u16(tci), ...u16(etherType)]), payload);
}

/** A Linux cooked v1 header before `payload`. */
export function sll(
  payload: Uint8Array,
  spec: { packetType?: number; hardwareType?: number; addressLength?: number; address?: readonly number[]; protocol?: number } = {},
): Uint8Array {
  const address = spec.address ?? [2, 0, 0, 0, 0, 1, 0, 0];
  return concatBytes(
    Uint8Array.from([
      ...u16(spec.packetType ?? 0),
      ...u16(spec.hardwareType ?? 1),
      ...u16(spec.addressLength ?? 6),
      ...address,
      ...u16(spec.protocol ?? 0x0800),
    ]),
    payload,
  );
}

/** What a Linux cooked v2 header says; every field has a plain default (IPv4 from a MAC, interface 2). */
export interface Sll2Spec {
  readonly protocol?: number;
  readonly reserved?: number;
  readonly interfaceIndex?: number;
  readonly hardwareType?: number;
  readonly packetType?: number;
  readonly addressLength?: number;
  /** The 8-byte address field. */
  readonly address?: readonly number[];
}

/** A Linux cooked v2 header before `payload`, byte by byte (not through the codec under test). */
export function sll2(payload: Uint8Array, spec: Sll2Spec = {}): Uint8Array {
  const address = spec.address ?? [2, 0, 0, 0, 0, 1, 0, 0];
  return concatBytes(
    Uint8Array.from([
      ...u16(spec.protocol ?? 0x0800),
      ...u16(spec.reserved ?? 0),
      ...u32(spec.interfaceIndex ?? 2),
      ...u16(spec.hardwareType ?? 1),
      spec.packetType ?? 0,
      spec.addressLength ?? 6,
      ...address,
    ]),
    payload,
  );
}

/** An Ethernet/IPv4 ARP packet (28 bytes). */
export function arp(operation: number): Uint8Array {
  return Uint8Array.from([0, 1, 8, 0, 6, 4, ...u16(operation), 2, 0, 0, 0, 0, 1, ...A, 0, 0, 0, 0, 0, 0, ...B]);
}

/** An IPv6 packet from 2001::1 to fe80::211:22ff:fe33:4455. */
export function ipv6(payload: Uint8Array, nextHeader = 17): Uint8Array {
  return concatBytes(
    Uint8Array.from([0x60, 0, 0, 0, ...u16(payload.length), nextHeader, 64]),
    Uint8Array.from([0x20, 0x01, ...repeat(0, 13), 1]),
    Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]),
    payload,
  );
}

/** TCP option bytes: a timestamps option. */
export function timestampsOption(tsVal: number, tsEcr: number): number[] {
  return [8, 10, ...u32(tsVal), ...u32(tsEcr)];
}

/** TCP option bytes: a SACK option with the given edges. */
export function sackOption(edges: readonly number[]): number[] {
  return [5, 2 + 4 * edges.length, ...edges.flatMap(u32)];
}
