/**
 * TCP header codec (RFC 9293 §3.1).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-------------------------------+-------------------------------+
 *    |          Source Port          |        Destination Port       |
 *    +-------------------------------+-------------------------------+
 *    |                        Sequence Number                        |
 *    +---------------------------------------------------------------+
 *    |                     Acknowledgment Number                     |
 *    +-------+-----+-+-+-+-+-+-+-+-+-+-------------------------------+
 *    | Data  | Rsv |N|C|E|U|A|P|R|S|F|                               |
 *    |Offset |     |S|W|C|R|C|S|S|Y|I|            Window             |
 *    |       |     | |R|E|G|K|H|T|N|N|                               |
 *    +-------+-----+-+-+-+-+-+-+-+-+-+-------------------------------+
 *    |           Checksum            |         Urgent Pointer        |
 *    +-------------------------------+-------------------------------+
 *    |               Options (0 to 40 octets)                | Pad   |
 *    +-------------------------------------------------------+-------+
 *    |                             Data                              |
 *
 * Data Offset counts 32-bit words of header (5 to 15). The twelve bits after it are kept whole
 * as `flags`: three reserved bits, the former ECN-nonce bit NS (RFC 3540, historic since
 * RFC 8311; Accurate ECN reuses it as AE), CWR and ECE (RFC 3168), then URG ACK PSH RST SYN FIN.
 * The checksum covers a pseudo-header (source, destination, zero, protocol 6, TCP length), the
 * header and the data.
 */
import { readUint16, readUint32, writeUint16, writeUint32 } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import type { Ipv4Address } from '../ip/address.js';
import { checksumIsValid, foldSum, internetChecksum, ipv6PseudoHeaderSum, pseudoHeaderSum } from '../ip/checksum.js';
import type { Ipv6Address } from '../ip/ipv6-address.js';
import { emitTcpOptions, parseTcpOptions, parseTcpOptionsLenient, tcpOptionsLength, type TcpOption } from './tcp-options.js';
import type { SeqNumber } from './seq.js';

/** The IP protocol number of TCP, as carried in the pseudo-header. */
const PROTOCOL_TCP = 6;

/** Length of the fixed part of the header, without options. */
export const TCP_MIN_HEADER_LENGTH = 20;
/** Largest possible header: data offset 15 × 4 bytes. */
export const TCP_MAX_HEADER_LENGTH = 60;
/** Most option bytes a header can carry. */
export const TCP_MAX_OPTIONS_LENGTH = TCP_MAX_HEADER_LENGTH - TCP_MIN_HEADER_LENGTH;

const Field = {
  SOURCE_PORT: 0,
  DESTINATION_PORT: 2,
  SEQUENCE_NUMBER: 4,
  ACKNOWLEDGMENT_NUMBER: 8,
  DATA_OFFSET_FLAGS: 12,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT_POINTER: 18,
  OPTIONS: 20,
} as const;

/** The 12 bits below the data offset in the 16-bit word at offset 12. */
const FLAGS_MASK = 0x0fff;

/** Flag bits of the 12-bit `flags` field. */
export const TcpFlag = {
  /** FIN (RFC 9293 §3.1): no more data from the sender; occupies one sequence number. */
  FIN: 0x001,
  /** SYN (RFC 9293 §3.1): synchronize sequence numbers; occupies one sequence number. */
  SYN: 0x002,
  /** RST (RFC 9293 §3.1): reset the connection. */
  RST: 0x004,
  /** PSH (RFC 9293 §3.1): push, deliver the data to the application promptly. */
  PSH: 0x008,
  /** ACK (RFC 9293 §3.1): the Acknowledgment Number field is significant. */
  ACK: 0x010,
  /** URG (RFC 9293 §3.1): the Urgent Pointer field is significant. */
  URG: 0x020,
  /** ECN-Echo (RFC 3168 §6.1). */
  ECE: 0x040,
  /** Congestion Window Reduced (RFC 3168 §6.1). */
  CWR: 0x080,
  /** The former ECN-nonce sum bit (RFC 3540, historic); Accurate ECN's AE. */
  NS: 0x100,
} as const;

/** The three bits of `flags` still reserved; zero on every sane segment. */
export const TCP_RESERVED_FLAGS = 0xe00;

/** Flag names from the most to the least significant bit, as tshark lists them. */
const FLAG_NAMES: readonly (readonly [number, string])[] = [
  [TCP_RESERVED_FLAGS, 'Reserved'],
  [TcpFlag.NS, 'NS'],
  [TcpFlag.CWR, 'CWR'],
  [TcpFlag.ECE, 'ECE'],
  [TcpFlag.URG, 'URG'],
  [TcpFlag.ACK, 'ACK'],
  [TcpFlag.PSH, 'PSH'],
  [TcpFlag.RST, 'RST'],
  [TcpFlag.SYN, 'SYN'],
  [TcpFlag.FIN, 'FIN'],
];

/** The set flag names of `flags`, comma-separated (`0x012` → `ACK,SYN`); `none` when zero. */
export function formatTcpFlags(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  return names.length === 0 ? 'none' : names.join(',');
}

/** tcpdump's letter per flag, in the order it prints them (print-tcp.c): `[S.]` is SYN and ACK. */
const TCPDUMP_FLAG_LETTERS: readonly (readonly [number, string])[] = [
  [TcpFlag.FIN, 'F'],
  [TcpFlag.SYN, 'S'],
  [TcpFlag.RST, 'R'],
  [TcpFlag.PSH, 'P'],
  [TcpFlag.ACK, '.'],
  [TcpFlag.URG, 'U'],
  [TcpFlag.ECE, 'E'],
  [TcpFlag.CWR, 'W'],
];

/**
 * `flags` as tcpdump prints them inside `Flags [...]`: `S.` for SYN+ACK, `FP.` for FIN+PSH+ACK,
 * `SEW` for an ECN-setup SYN, `none` when no flag is set. tcpdump 4.99 reads only the eight flags
 * of byte 13, so AE and the reserved bits do not show (formatTcpFlagsWireshark has them).
 */
export function formatTcpFlagsTcpdump(flags: number): string {
  const letters = TCPDUMP_FLAG_LETTERS.filter(([bit]) => (flags & bit) !== 0).map(([, letter]) => letter);
  return letters.length === 0 ? 'none' : letters.join('');
}

/** Wireshark's order, from the least significant bit: its Info column's `[SYN, ACK]`. */
const WIRESHARK_FLAG_NAMES: readonly (readonly [number, string])[] = [
  [TcpFlag.FIN, 'FIN'],
  [TcpFlag.SYN, 'SYN'],
  [TcpFlag.RST, 'RST'],
  [TcpFlag.PSH, 'PSH'],
  [TcpFlag.ACK, 'ACK'],
  [TcpFlag.URG, 'URG'],
  [TcpFlag.ECE, 'ECE'],
  [TcpFlag.CWR, 'CWR'],
  [TcpFlag.NS, 'AE'],
  [TCP_RESERVED_FLAGS, 'Reserved'],
];

/** `flags` as Wireshark's Info column lists them: `SYN, ACK`, `FIN, PSH, ACK`; `<None>` when zero. */
export function formatTcpFlagsWireshark(flags: number): string {
  const names = WIRESHARK_FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  return names.length === 0 ? '<None>' : names.join(', ');
}

/** The addresses of the pseudo-header the checksum covers: IPv4's (RFC 9293 §3.1) or IPv6's (RFC 8200 §8.1), both of one family. */
export interface TcpPseudoHeader {
  /** Source Address of the IP header carrying the segment. */
  readonly source: Ipv4Address | Ipv6Address;
  /** Destination Address of the IP header carrying the segment. */
  readonly destination: Ipv4Address | Ipv6Address;
}

/** The unfolded sum of the pseudo-header for a TCP segment of `tcpLength` bytes, of its addresses' family. */
function tcpPseudoHeaderSum(pseudoHeader: TcpPseudoHeader, tcpLength: number): number {
  return typeof pseudoHeader.source === 'number'
    ? pseudoHeaderSum(pseudoHeader.source, pseudoHeader.destination as Ipv4Address, PROTOCOL_TCP, tcpLength)
    : ipv6PseudoHeaderSum(pseudoHeader.source, pseudoHeader.destination as Ipv6Address, PROTOCOL_TCP, tcpLength);
}

/**
 * A zero-copy view of a TCP segment (header and data). `checked()` validates the data offset
 * against the buffer; after that no accessor can read outside it. Setters write the wire format
 * in place. The segment is the whole buffer: the IP layer hands over its payload already trimmed
 * to Total Length.
 */
export class TcpPacket {
  private constructor(
    /** The whole segment, header and data: the buffer given to `checked` or `unchecked`. */
    readonly bytes: Uint8Array,
  ) {}

  /** Validates the fixed header and the data offset against the buffer. */
  static checked(bytes: Uint8Array): Result<TcpPacket, DecodeError> {
    if (bytes.length < TCP_MIN_HEADER_LENGTH) {
      return decodeFail('tcp', 'truncated', `${bytes.length} bytes is shorter than the 20-byte header`);
    }
    const packet = new TcpPacket(bytes);
    const headerLength = packet.headerLength;
    if (headerLength < TCP_MIN_HEADER_LENGTH) {
      return decodeFail('tcp', 'badHeaderLength', `data offset ${headerLength / 4} is below 5`);
    }
    if (headerLength > bytes.length) {
      return decodeFail('tcp', 'truncated', `header length ${headerLength} exceeds the ${bytes.length} bytes present`);
    }
    return ok(packet);
  }

  /** A view over a buffer the caller is about to fill (egress); no validation. */
  static unchecked(bytes: Uint8Array): TcpPacket {
    return new TcpPacket(bytes);
  }

  /** Source Port. */
  get srcPort(): number {
    return readUint16(this.bytes, Field.SOURCE_PORT);
  }
  /** Destination Port. */
  get dstPort(): number {
    return readUint16(this.bytes, Field.DESTINATION_PORT);
  }
  /** Sequence number of the first octet of data (or of the SYN). */
  get seq(): SeqNumber {
    return readUint32(this.bytes, Field.SEQUENCE_NUMBER);
  }
  /** Acknowledgment number: the next sequence number the sender expects (meaningful with ACK). */
  get ack(): SeqNumber {
    return readUint32(this.bytes, Field.ACKNOWLEDGMENT_NUMBER);
  }
  /** The data offset field: header length in 32-bit words. */
  get dataOffset(): number {
    return this.bytes[Field.DATA_OFFSET_FLAGS] >> 4;
  }
  /** Header length in bytes (data offset × 4). */
  get headerLength(): number {
    return this.dataOffset * 4;
  }
  /** All 12 bits after the data offset (reserved, NS, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN). */
  get flags(): number {
    return readUint16(this.bytes, Field.DATA_OFFSET_FLAGS) & FLAGS_MASK;
  }
  /** FIN: no more data from the sender. */
  get finFlag(): boolean {
    return (this.flags & TcpFlag.FIN) !== 0;
  }
  /** SYN: synchronize sequence numbers. */
  get synFlag(): boolean {
    return (this.flags & TcpFlag.SYN) !== 0;
  }
  /** RST: reset the connection. */
  get rstFlag(): boolean {
    return (this.flags & TcpFlag.RST) !== 0;
  }
  /** PSH: push function. */
  get pshFlag(): boolean {
    return (this.flags & TcpFlag.PSH) !== 0;
  }
  /** ACK: the Acknowledgment Number is significant. */
  get ackFlag(): boolean {
    return (this.flags & TcpFlag.ACK) !== 0;
  }
  /** URG: the Urgent Pointer is significant. */
  get urgFlag(): boolean {
    return (this.flags & TcpFlag.URG) !== 0;
  }
  /** ECE: ECN-Echo (RFC 3168). */
  get eceFlag(): boolean {
    return (this.flags & TcpFlag.ECE) !== 0;
  }
  /** CWR: Congestion Window Reduced (RFC 3168). */
  get cwrFlag(): boolean {
    return (this.flags & TcpFlag.CWR) !== 0;
  }
  /** NS: the historic ECN-nonce bit (RFC 3540, obsoleted by RFC 8311). */
  get nsFlag(): boolean {
    return (this.flags & TcpFlag.NS) !== 0;
  }
  /** The three reserved bits, right-aligned (0 to 7). */
  get reservedBits(): number {
    return (this.flags & TCP_RESERVED_FLAGS) >> 9;
  }
  /** The window field as sent, before any window scaling (RFC 7323 §2.3). */
  get window(): number {
    return readUint16(this.bytes, Field.WINDOW);
  }
  /** The Checksum as it is in the bytes. */
  get checksum(): number {
    return readUint16(this.bytes, Field.CHECKSUM);
  }
  /** Offset from `seq` of the octet after the urgent data (meaningful with URG). */
  get urgentPointer(): number {
    return readUint16(this.bytes, Field.URGENT_POINTER);
  }
  /** The raw option bytes (between the fixed header and the data). */
  get optionBytes(): Uint8Array {
    return this.bytes.subarray(Field.OPTIONS, this.headerLength);
  }
  /** The header bytes, options included. */
  get header(): Uint8Array {
    return this.bytes.subarray(0, this.headerLength);
  }
  /** The data after the header. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }

  /** True when the checksum verifies over the pseudo-header, header and data. */
  checksumValid(source: Ipv4Address | Ipv6Address, destination: Ipv4Address | Ipv6Address): boolean {
    return checksumIsValid(this.bytes, tcpPseudoHeaderSum({ source, destination }, this.bytes.length));
  }
  /** Recomputes the checksum in place (after changing a field or the data). */
  fillChecksum(source: Ipv4Address | Ipv6Address, destination: Ipv4Address | Ipv6Address): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.bytes, tcpPseudoHeaderSum({ source, destination }, this.bytes.length));
  }

  /** Writes Source Port. */
  set srcPort(value: number) {
    writeUint16(this.bytes, Field.SOURCE_PORT, value);
  }
  /** Writes Destination Port. */
  set dstPort(value: number) {
    writeUint16(this.bytes, Field.DESTINATION_PORT, value);
  }
  /** Writes Sequence Number. */
  set seq(value: SeqNumber) {
    writeUint32(this.bytes, Field.SEQUENCE_NUMBER, value);
  }
  /** Writes Acknowledgment Number. */
  set ack(value: SeqNumber) {
    writeUint32(this.bytes, Field.ACKNOWLEDGMENT_NUMBER, value);
  }
  /** Sets the header length in bytes (a multiple of 4, 20 to 60). */
  set headerLength(value: number) {
    this.bytes[Field.DATA_OFFSET_FLAGS] = ((value / 4) << 4) | (this.bytes[Field.DATA_OFFSET_FLAGS] & 0x0f);
  }
  /** Writes the twelve bits after Data Offset: the reserved bits and the control bits (TcpFlag). */
  set flags(value: number) {
    const word = readUint16(this.bytes, Field.DATA_OFFSET_FLAGS);
    writeUint16(this.bytes, Field.DATA_OFFSET_FLAGS, (word & ~FLAGS_MASK) | (value & FLAGS_MASK));
  }
  /** Writes Window. */
  set window(value: number) {
    writeUint16(this.bytes, Field.WINDOW, value);
  }
  /** Writes Checksum. */
  set checksum(value: number) {
    writeUint16(this.bytes, Field.CHECKSUM, value);
  }
  /** Writes Urgent Pointer. */
  set urgentPointer(value: number) {
    writeUint16(this.bytes, Field.URGENT_POINTER, value);
  }
}

/** A TCP segment as plain data. */
export interface TcpRepr {
  /** Source Port (RFC 9293 §3.1). */
  readonly srcPort: number;
  /** Destination Port (RFC 9293 §3.1). */
  readonly dstPort: number;
  /** Sequence Number (RFC 9293 §3.1), SEG.SEQ: of the first data octet, or of the SYN itself. */
  readonly seq: SeqNumber;
  /** Acknowledgment Number (RFC 9293 §3.1), SEG.ACK: the next sequence number expected; meaningful with ACK set. */
  readonly ack: SeqNumber;
  /** The 12-bit flags field: an OR of `TcpFlag` bits (reserved bits kept so parse→emit is exact). */
  readonly flags: number;
  /** The window field as sent, unscaled. */
  readonly window: number;
  /** Urgent Pointer (RFC 9293 §3.1), SEG.UP: offset from `seq` of the urgent data's end; meaningful with URG set. */
  readonly urgentPointer: number;
  /** Options (RFC 9293 §3.1) in header order; emit pads them to a multiple of 4 octets. */
  readonly options: readonly TcpOption[];
  /** The data after the header. */
  readonly payload: Uint8Array;
}

/**
 * Options for parseTcp: the pseudo-header addresses to verify the checksum, or no verification;
 * and how to take malformed options — `strict` (the default) fails the segment, `lenient` keeps
 * what a receiver would use (`parseTcpOptionsLenient`, as Linux's tcp_parse_options).
 */
export type TcpParseOptions = (
  | (TcpPseudoHeader & {
      /** Verify the checksum over the pseudo-header, header and data (the default). */
      readonly verifyChecksum?: true;
    })
  | {
      /** Skip the checksum: it was verified already, or offloaded and trusted. */
      readonly verifyChecksum: false;
    }
) & {
  /** `strict` (the default): a malformed option fails the segment; `lenient`: keep what a receiver would use. */
  readonly optionParsing?: 'strict' | 'lenient';
};

/** A decoded segment, with how many of its options were malformed (parsed leniently; 0 when strict). */
export interface ParsedTcp extends TcpRepr {
  /** Options lenient parsing found malformed (ignored, or ending the parse); 0 when strict. */
  readonly malformedOptions: number;
}

/**
 * Decodes a checked segment, verifying its checksum (unless told not to) and its options. The
 * returned payload is a view into the packet's bytes, not a copy.
 */
export function parseTcp(packet: TcpPacket, options: TcpParseOptions): Result<ParsedTcp, DecodeError> {
  if (options.verifyChecksum !== false && !packet.checksumValid(options.source, options.destination)) {
    return decodeFail('tcp', 'badChecksum', `checksum 0x${packet.checksum.toString(16).padStart(4, '0')} does not verify`);
  }
  if (options.optionParsing === 'lenient') {
    const lenient = parseTcpOptionsLenient(packet.bytes, Field.OPTIONS, packet.headerLength);
    return ok(reprOf(packet, lenient.options, lenient.malformed));
  }
  const strict = parseTcpOptions(packet.bytes, Field.OPTIONS, packet.headerLength);
  return strict.ok ? ok(reprOf(packet, strict.value, 0)) : strict;
}

/**
 * The header fields of a checked segment, with its options decoded. Fields spelled out, one
 * shape for both parsings: an object spread here costs the bulk path dearly (see toSegment).
 */
function reprOf(packet: TcpPacket, options: TcpOption[], malformedOptions: number): ParsedTcp {
  return {
    srcPort: packet.srcPort,
    dstPort: packet.dstPort,
    seq: packet.seq,
    ack: packet.ack,
    flags: packet.flags,
    window: packet.window,
    urgentPointer: packet.urgentPointer,
    options,
    payload: packet.payload,
    malformedOptions,
  };
}

/**
 * Header length in bytes that emitTcp will write for `repr` (options padded to 4 bytes).
 * Throws RangeError when the options need more than 40 bytes: that is a bug in whoever built
 * the list, not something a peer can cause.
 */
export function tcpHeaderLength(repr: Pick<TcpRepr, 'options'>): number {
  const optionsLength = tcpOptionsLength(repr.options);
  if (optionsLength > TCP_MAX_OPTIONS_LENGTH) {
    throw new RangeError(`TCP options need ${optionsLength} bytes; at most ${TCP_MAX_OPTIONS_LENGTH} fit`);
  }
  return TCP_MIN_HEADER_LENGTH + ((optionsLength + 3) & ~3);
}

/** Bytes emitTcp will write for `repr`: header and data (the pseudo-header's "TCP length"). */
export function tcpLength(repr: Pick<TcpRepr, 'options' | 'payload'>): number {
  return tcpHeaderLength(repr) + repr.payload.length;
}

/** SEG.LEN (RFC 9293 §3.4): the sequence space the segment occupies, data plus SYN and FIN. */
export function segLen(repr: Pick<TcpRepr, 'flags' | 'payload'>): number {
  return repr.payload.length + (repr.flags & TcpFlag.SYN ? 1 : 0) + (repr.flags & TcpFlag.FIN ? 1 : 0);
}

/**
 * Writes the segment for `repr` (header, then data) at the start of `out`, which must hold at
 * least tcpLength(repr) bytes, and fills the checksum over the pseudo-header. Returns the number
 * of bytes written. `repr.payload` may already sit in `out` at the header's end (zero-copy).
 * With `partialChecksum` the field gets only the pseudo-header's sum, for a device that
 * completes it (checksum offload: Linux's CHECKSUM_PARTIAL).
 */
export function emitTcp(repr: TcpRepr, out: Uint8Array, pseudoHeader: TcpPseudoHeader, partialChecksum = false): number {
  const headerLength = tcpHeaderLength(repr);
  const length = headerLength + repr.payload.length;
  writeUint16(out, Field.SOURCE_PORT, repr.srcPort);
  writeUint16(out, Field.DESTINATION_PORT, repr.dstPort);
  writeUint32(out, Field.SEQUENCE_NUMBER, repr.seq);
  writeUint32(out, Field.ACKNOWLEDGMENT_NUMBER, repr.ack);
  writeUint16(out, Field.DATA_OFFSET_FLAGS, ((headerLength / 4) << 12) | (repr.flags & FLAGS_MASK));
  writeUint16(out, Field.WINDOW, repr.window);
  writeUint16(out, Field.CHECKSUM, 0);
  writeUint16(out, Field.URGENT_POINTER, repr.urgentPointer);
  const optionsEnd = emitTcpOptions(repr.options, out, Field.OPTIONS);
  out.fill(0, optionsEnd, headerLength); // padding with End of Option List
  out.set(repr.payload, headerLength);
  const pseudo = tcpPseudoHeaderSum(pseudoHeader, length);
  writeUint16(out, Field.CHECKSUM, partialChecksum ? foldSum(pseudo) : internetChecksum(out, pseudo, 0, length));
  return length;
}
