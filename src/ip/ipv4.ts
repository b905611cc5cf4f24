/**
 * IPv4 header codec (RFC 791 §3.1).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-------+-------+-----------+---+-------------------------------+
 *    |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 *    +-------+-------+-----------+---+-----+-------------------------+
 *    |         Identification        |Flags|     Fragment Offset     |
 *    +---------------+---------------+-----+-------------------------+
 *    |  Time to Live |    Protocol   |         Header Checksum       |
 *    +---------------+---------------+-------------------------------+
 *    |                       Source Address                          |
 *    +---------------------------------------------------------------+
 *    |                    Destination Address                        |
 *    +-----------------------------------------------+---------------+
 *    |                    Options                    |    Padding    |
 *    +-----------------------------------------------+---------------+
 *
 * Flags: bit 0 reserved (must be zero), bit 1 DF (don't fragment), bit 2 MF (more fragments).
 * DSCP/ECN replace the old Type of Service octet (RFC 2474, RFC 3168).
 */
import { readUint16, writeUint16 } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import { readIpv4Address, writeIpv4Address, type Ipv4Address } from './address.js';
import { foldSum, onesComplementSum } from './checksum.js';
import { emitIpv4Options, ipv4OptionsLength, parseIpv4Options, type Ipv4Option } from './ipv4-options.js';

/** Protocol numbers carried in the IPv4 Protocol field (IANA). */
export const IpProtocol = {
  /** Internet Control Message Protocol (RFC 792). */
  ICMP: 1,
  /** Transmission Control Protocol (RFC 9293). */
  TCP: 6,
  /** User Datagram Protocol (RFC 768). */
  UDP: 17,
} as const;

/** Length of the fixed part of the header, without options. */
export const IPV4_MIN_HEADER_LENGTH = 20;
/** Largest possible header: IHL 15 × 4 bytes. */
export const IPV4_MAX_HEADER_LENGTH = 60;
/** Largest total length the 16-bit field can hold. */
export const IPV4_MAX_TOTAL_LENGTH = 65535;

const Field = {
  VERSION_IHL: 0,
  DSCP_ECN: 1,
  TOTAL_LENGTH: 2,
  IDENTIFICATION: 4,
  FLAGS_FRAGMENT_OFFSET: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SOURCE: 12,
  DESTINATION: 16,
  OPTIONS: 20,
} as const;

const FLAG_RESERVED = 0x8000;
const FLAG_DONT_FRAGMENT = 0x4000;
const FLAG_MORE_FRAGMENTS = 0x2000;
const FRAGMENT_OFFSET_MASK = 0x1fff;

/**
 * A zero-copy view of an IPv4 packet. `checked()` validates every length first; after that no
 * accessor can read outside the buffer. Setters write the wire format in place.
 */
export class Ipv4Packet {
  private constructor(
    /** The buffer given to `checked` or `unchecked`; it may run past Total Length (Ethernet padding). */
    readonly bytes: Uint8Array,
  ) {}

  /**
   * Validates version, header length and total length against the buffer. The buffer may be
   * longer than Total Length (e.g. Ethernet padding); the packet is the first Total Length bytes.
   */
  static checked(bytes: Uint8Array): Result<Ipv4Packet, DecodeError> {
    if (bytes.length < IPV4_MIN_HEADER_LENGTH) {
      return decodeFail('ipv4', 'truncated', `${bytes.length} bytes is shorter than the 20-byte header`);
    }
    const packet = new Ipv4Packet(bytes);
    if (packet.version !== 4) return decodeFail('ipv4', 'badVersion', `version ${packet.version}`);
    const headerLength = packet.headerLength;
    if (headerLength < IPV4_MIN_HEADER_LENGTH) {
      return decodeFail('ipv4', 'badHeaderLength', `IHL ${headerLength / 4} is below 5`);
    }
    if (headerLength > bytes.length) {
      return decodeFail('ipv4', 'truncated', `header length ${headerLength} exceeds the ${bytes.length} bytes present`);
    }
    const totalLength = packet.totalLength;
    if (totalLength < headerLength) {
      return decodeFail('ipv4', 'badTotalLength', `total length ${totalLength} is less than header length ${headerLength}`);
    }
    if (totalLength > bytes.length) {
      return decodeFail('ipv4', 'truncated', `total length ${totalLength} exceeds the ${bytes.length} bytes present`);
    }
    return ok(packet);
  }

  /** A view over a buffer the caller is about to fill (egress); no validation. */
  static unchecked(bytes: Uint8Array): Ipv4Packet {
    return new Ipv4Packet(bytes);
  }

  /** The Version field (4 for a valid packet). */
  get version(): number {
    return this.bytes[Field.VERSION_IHL] >> 4;
  }
  /** Header length in bytes (IHL × 4). */
  get headerLength(): number {
    return (this.bytes[Field.VERSION_IHL] & 0x0f) * 4;
  }
  /** The whole second octet (old TOS, now DSCP << 2 | ECN): tshark's `ip.dsfield`. */
  get dsField(): number {
    return this.bytes[Field.DSCP_ECN];
  }
  /** Differentiated Services Code Point (the upper six bits of the old TOS byte). */
  get dscp(): number {
    return this.bytes[Field.DSCP_ECN] >> 2;
  }
  /** The ECN field (RFC 3168): the lower two bits of the old TOS byte. */
  get ecn(): number {
    return this.bytes[Field.DSCP_ECN] & 0x03;
  }
  /** Total Length: header and data, in bytes. */
  get totalLength(): number {
    return readUint16(this.bytes, Field.TOTAL_LENGTH);
  }
  /** The Identification field. */
  get identification(): number {
    return readUint16(this.bytes, Field.IDENTIFICATION);
  }
  /** The reserved ("evil") bit; must be zero on the wire. */
  get reservedFlag(): boolean {
    return (readUint16(this.bytes, Field.FLAGS_FRAGMENT_OFFSET) & FLAG_RESERVED) !== 0;
  }
  /** The DF flag. */
  get dontFragment(): boolean {
    return (readUint16(this.bytes, Field.FLAGS_FRAGMENT_OFFSET) & FLAG_DONT_FRAGMENT) !== 0;
  }
  /** The MF flag. */
  get moreFragments(): boolean {
    return (readUint16(this.bytes, Field.FLAGS_FRAGMENT_OFFSET) & FLAG_MORE_FRAGMENTS) !== 0;
  }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragmentOffset(): number {
    return (readUint16(this.bytes, Field.FLAGS_FRAGMENT_OFFSET) & FRAGMENT_OFFSET_MASK) * 8;
  }
  /** Time to Live. */
  get ttl(): number {
    return this.bytes[Field.TTL];
  }
  /** The Protocol field (IpProtocol). */
  get protocol(): number {
    return this.bytes[Field.PROTOCOL];
  }
  /** The Header Checksum as it is in the bytes. */
  get checksum(): number {
    return readUint16(this.bytes, Field.CHECKSUM);
  }
  /** Source Address. */
  get source(): Ipv4Address {
    return readIpv4Address(this.bytes, Field.SOURCE);
  }
  /** Destination Address. */
  get destination(): Ipv4Address {
    return readIpv4Address(this.bytes, Field.DESTINATION);
  }
  /** The raw option bytes (between the fixed header and the payload). */
  get optionBytes(): Uint8Array {
    return this.bytes.subarray(Field.OPTIONS, this.headerLength);
  }
  /** The header bytes, options included. */
  get header(): Uint8Array {
    return this.bytes.subarray(0, this.headerLength);
  }
  /** The bytes after the header, up to Total Length. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength, this.totalLength);
  }
  /** True when the header checksum verifies. */
  get checksumValid(): boolean {
    return foldSum(headerSum(this.bytes, this.headerLength)) === 0xffff;
  }

  /** Writes Time to Live (the checksum is not updated). */
  set ttl(value: number) {
    this.bytes[Field.TTL] = value;
  }
  /** Writes the Header Checksum. */
  set checksum(value: number) {
    writeUint16(this.bytes, Field.CHECKSUM, value);
  }
  /** Recomputes the header checksum in place (after changing a field such as TTL). */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = ~foldSum(headerSum(this.bytes, this.headerLength)) & 0xffff;
  }
}

/**
 * The unfolded one's complement sum of the first `headerLength` bytes (RFC 1071). Nearly every
 * header is 20 bytes: those are summed as ten words in a row, with none of the general loop's
 * set-up, which costs more than the sum itself at this size.
 */
function headerSum(bytes: Uint8Array, headerLength: number): number {
  if (headerLength !== IPV4_MIN_HEADER_LENGTH) return onesComplementSum(bytes, 0, 0, headerLength);
  return (
    ((bytes[0] + bytes[2] + bytes[4] + bytes[6] + bytes[8] + bytes[10] + bytes[12] + bytes[14] + bytes[16] + bytes[18]) << 8) +
    (bytes[1] + bytes[3] + bytes[5] + bytes[7] + bytes[9] + bytes[11] + bytes[13] + bytes[15] + bytes[17] + bytes[19])
  );
}

/** An IPv4 header as plain data. The payload travels separately; only its length is here. */
export interface Ipv4Repr {
  /** Differentiated Services Code Point (RFC 2474 §3), the upper six bits of the old Type of Service octet. */
  readonly dscp: number;
  /** ECN field (RFC 3168 §5), the low two bits of that octet: 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE. */
  readonly ecn: number;
  /** Identification (RFC 791 §3.1): the same in every fragment of one datagram, for reassembly. */
  readonly identification: number;
  /** The reserved flag bit; false on every sane packet, kept so parse→emit is exact. */
  readonly reservedFlag: boolean;
  /** DF, Don't Fragment (RFC 791 §3.1): routers must drop the datagram rather than fragment it. */
  readonly dontFragment: boolean;
  /** MF, More Fragments (RFC 791 §3.1): set on every fragment but the last. */
  readonly moreFragments: boolean;
  /** Offset of this fragment's data in the original datagram, in bytes (a multiple of 8). */
  readonly fragmentOffset: number;
  /** Time to Live (RFC 791 §3.1): hops left; a router that brings it to zero drops the datagram. */
  readonly ttl: number;
  /** Protocol (RFC 791 §3.1): the payload's protocol number (`IpProtocol`). */
  readonly protocol: number;
  /** Source Address (RFC 791 §3.1). */
  readonly source: Ipv4Address;
  /** Destination Address (RFC 791 §3.1). */
  readonly destination: Ipv4Address;
  /** Options (RFC 791 §3.1) in header order; empty for a 20-byte header. */
  readonly options: readonly Ipv4Option[];
  /** Bytes of payload after the header: Total Length minus the header length. */
  readonly payloadLength: number;
}

/** Options for parseIpv4. */
export interface Ipv4ParseOptions {
  /** Verify the header checksum (default true). */
  readonly verifyChecksum?: boolean;
}

/** The options of a header that has none (shared: option lists are never changed). */
const NO_OPTIONS: Result<readonly Ipv4Option[], DecodeError> = ok(Object.freeze([]));

/** Decodes a checked packet's header, verifying its checksum and options. */
export function parseIpv4(packet: Ipv4Packet, options: Ipv4ParseOptions = {}): Result<Ipv4Repr, DecodeError> {
  if (options.verifyChecksum !== false && !packet.checksumValid) {
    return decodeFail('ipv4', 'badChecksum', `header checksum 0x${packet.checksum.toString(16).padStart(4, '0')} does not verify`);
  }
  // Almost no header carries options: then there is nothing to look at.
  const headerLength = packet.headerLength;
  const parsedOptions = headerLength === IPV4_MIN_HEADER_LENGTH ? NO_OPTIONS : parseIpv4Options(packet.optionBytes);
  if (!parsedOptions.ok) return parsedOptions;
  // Each field read once from the bytes (the getters would read the flags word four times).
  const bytes = packet.bytes;
  const dsField = bytes[Field.DSCP_ECN];
  const flags = readUint16(bytes, Field.FLAGS_FRAGMENT_OFFSET);
  return ok({
    dscp: dsField >> 2,
    ecn: dsField & 0x03,
    identification: readUint16(bytes, Field.IDENTIFICATION),
    reservedFlag: (flags & FLAG_RESERVED) !== 0,
    dontFragment: (flags & FLAG_DONT_FRAGMENT) !== 0,
    moreFragments: (flags & FLAG_MORE_FRAGMENTS) !== 0,
    fragmentOffset: (flags & FRAGMENT_OFFSET_MASK) * 8,
    ttl: bytes[Field.TTL],
    protocol: bytes[Field.PROTOCOL],
    source: readIpv4Address(bytes, Field.SOURCE),
    destination: readIpv4Address(bytes, Field.DESTINATION),
    options: parsedOptions.value,
    payloadLength: readUint16(bytes, Field.TOTAL_LENGTH) - headerLength,
  });
}

/** Header length in bytes that emitIpv4 will write for `repr` (options padded to 4 bytes). */
export function ipv4HeaderLength(repr: Pick<Ipv4Repr, 'options'>): number {
  if (repr.options.length === 0) return IPV4_MIN_HEADER_LENGTH;
  const optionsLength = ipv4OptionsLength(repr.options);
  return IPV4_MIN_HEADER_LENGTH + ((optionsLength + 3) & ~3);
}

/**
 * Writes the header for `repr` at the start of `out` (which must hold at least
 * ipv4HeaderLength(repr) bytes) and fills the header checksum. Returns the header length.
 * The payload is written by the caller into `out` after the header.
 */
export function emitIpv4(repr: Ipv4Repr, out: Uint8Array): number {
  const headerLength = ipv4HeaderLength(repr);
  out[Field.VERSION_IHL] = 0x40 | (headerLength / 4);
  out[Field.DSCP_ECN] = (repr.dscp << 2) | (repr.ecn & 0x03);
  writeUint16(out, Field.TOTAL_LENGTH, headerLength + repr.payloadLength);
  writeUint16(out, Field.IDENTIFICATION, repr.identification);
  const flags = (repr.reservedFlag ? FLAG_RESERVED : 0) | (repr.dontFragment ? FLAG_DONT_FRAGMENT : 0) | (repr.moreFragments ? FLAG_MORE_FRAGMENTS : 0);
  writeUint16(out, Field.FLAGS_FRAGMENT_OFFSET, flags | ((repr.fragmentOffset / 8) & FRAGMENT_OFFSET_MASK));
  out[Field.TTL] = repr.ttl;
  out[Field.PROTOCOL] = repr.protocol;
  writeUint16(out, Field.CHECKSUM, 0);
  writeIpv4Address(out, Field.SOURCE, repr.source);
  writeIpv4Address(out, Field.DESTINATION, repr.destination);
  if (headerLength > IPV4_MIN_HEADER_LENGTH) {
    const optionsEnd = Field.OPTIONS + emitIpv4Options(repr.options, out.subarray(Field.OPTIONS, headerLength));
    out.fill(0, optionsEnd, headerLength); // padding with End of Option List
  }
  writeUint16(out, Field.CHECKSUM, ~foldSum(headerSum(out, headerLength)) & 0xffff);
  return headerLength;
}
