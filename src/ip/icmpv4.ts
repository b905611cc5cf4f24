/**
 * ICMPv4 message codec (RFC 792; fragmentation-needed's next-hop MTU from RFC 1191).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +---------------+---------------+-------------------------------+
 *    |     Type      |     Code      |           Checksum            |
 *    +---------------+---------------+-------------------------------+
 *    |   type-specific word: identifier + sequence (echo),           |
 *    |   unused + next-hop MTU (destination unreachable), pointer,   |
 *    |   gateway address (redirect), unused (time exceeded)          |
 *    +---------------------------------------------------------------+
 *    |   data: echo payload, or the quoted original IP header plus   |
 *    |   at least the first 8 bytes of its payload (errors)          |
 *    +---------------------------------------------------------------+
 *
 * The checksum covers the whole ICMP message. A message whose type-specific word holds bits
 * the typed form has no place for is kept as `other`, so parse→emit is always exact.
 */
import { dataView } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import { readIpv4Address, type Ipv4Address } from './address.js';
import { checksumIsValid, internetChecksum } from './checksum.js';

/** ICMPv4 type numbers. */
export const Icmpv4Type = {
  /** Echo Reply (RFC 792): the answer to an Echo Request, its identifier, sequence and data copied. */
  ECHO_REPLY: 0,
  /** Destination Unreachable (RFC 792): the datagram could not be delivered; the code says why. */
  DESTINATION_UNREACHABLE: 3,
  /** Redirect (RFC 792): a router names a better first hop for the destination. */
  REDIRECT: 5,
  /** Echo Request (RFC 792): what ping sends. */
  ECHO_REQUEST: 8,
  /** Time Exceeded (RFC 792): the TTL ran out in transit, or reassembly timed out. */
  TIME_EXCEEDED: 11,
  /** Parameter Problem (RFC 792): a header field could not be processed; the datagram was dropped. */
  PARAMETER_PROBLEM: 12,
} as const;

/** Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const DestinationUnreachableCode = {
  /** Net unreachable (RFC 792): a router has no route to the destination network. */
  NET_UNREACHABLE: 0,
  /** Host unreachable (RFC 792): the last router cannot reach the destination host. */
  HOST_UNREACHABLE: 1,
  /** Protocol unreachable (RFC 792): the destination host does not speak the datagram's protocol. */
  PROTOCOL_UNREACHABLE: 2,
  /** Port unreachable (RFC 792): nothing on the destination host listens on the port. */
  PORT_UNREACHABLE: 3,
  /** Fragmentation needed and DF set (RFC 792); carries the next-hop MTU (RFC 1191 §4). */
  FRAGMENTATION_NEEDED: 4,
  /** Source route failed (RFC 792). */
  SOURCE_ROUTE_FAILED: 5,
  /** Destination network unknown (RFC 1122 §3.2.2.1). */
  DESTINATION_NETWORK_UNKNOWN: 6,
  /** Destination host unknown (RFC 1122 §3.2.2.1). */
  DESTINATION_HOST_UNKNOWN: 7,
  /** Source host isolated (RFC 1122 §3.2.2.1); obsolete. */
  SOURCE_HOST_ISOLATED: 8,
  /** Communication with the destination network administratively prohibited (RFC 1122 §3.2.2.1). */
  NETWORK_ADMINISTRATIVELY_PROHIBITED: 9,
  /** Communication with the destination host administratively prohibited (RFC 1122 §3.2.2.1). */
  HOST_ADMINISTRATIVELY_PROHIBITED: 10,
  /** Network unreachable for the type of service (RFC 1122 §3.2.2.1). */
  NETWORK_UNREACHABLE_FOR_TOS: 11,
  /** Host unreachable for the type of service (RFC 1122 §3.2.2.1). */
  HOST_UNREACHABLE_FOR_TOS: 12,
  /** Communication administratively prohibited: a router filtered the datagram (RFC 1812 §5.2.7.1). */
  COMMUNICATION_ADMINISTRATIVELY_PROHIBITED: 13,
  /** Host precedence violation: the precedence is not permitted for this host or port (RFC 1812 §5.2.7.1). */
  HOST_PRECEDENCE_VIOLATION: 14,
  /** Precedence cutoff in effect: the precedence is below the network's minimum (RFC 1812 §5.2.7.1). */
  PRECEDENCE_CUTOFF_IN_EFFECT: 15,
} as const;

/** Time Exceeded codes. */
export const TimeExceededCode = {
  /** Time to live exceeded in transit (RFC 792): a router decremented the TTL to zero. */
  TTL_EXCEEDED_IN_TRANSIT: 0,
  /** Fragment reassembly time exceeded (RFC 792): the destination gave up waiting for the missing fragments. */
  FRAGMENT_REASSEMBLY_TIME_EXCEEDED: 1,
} as const;

/** Length of the fixed part: type, code, checksum, type-specific word. */
export const ICMPV4_HEADER_LENGTH = 8;

const Field = { TYPE: 0, CODE: 1, CHECKSUM: 2, WORD: 4, DATA: 8 } as const;

/** Zero-copy view of an ICMPv4 message. */
export class Icmpv4Packet {
  private readonly view: DataView;

  private constructor(
    /** The whole message, header and data: the buffer given to `checked` or `unchecked`. */
    readonly bytes: Uint8Array,
  ) {
    this.view = dataView(bytes);
  }

  /** Checks that the fixed 8-byte header is present; the message is the whole buffer. */
  static checked(bytes: Uint8Array): Result<Icmpv4Packet, DecodeError> {
    if (bytes.length < ICMPV4_HEADER_LENGTH) {
      return decodeFail('icmpv4', 'truncated', `${bytes.length} bytes is shorter than the 8-byte header`);
    }
    return ok(new Icmpv4Packet(bytes));
  }

  /** A view over a buffer the caller is about to fill; no validation. */
  static unchecked(bytes: Uint8Array): Icmpv4Packet {
    return new Icmpv4Packet(bytes);
  }

  /** The Type field (Icmpv4Type). */
  get type(): number {
    return this.bytes[Field.TYPE];
  }
  /** The Code field. */
  get code(): number {
    return this.bytes[Field.CODE];
  }
  /** The Checksum field as it is in the bytes. */
  get checksum(): number {
    return this.view.getUint16(Field.CHECKSUM);
  }
  /** Writes the Checksum field. */
  set checksum(value: number) {
    this.view.setUint16(Field.CHECKSUM, value);
  }
  /** The type-specific 32-bit word (bytes 4–7). */
  get restOfHeader(): number {
    return this.view.getUint32(Field.WORD);
  }
  /** Echo identifier (bytes 4–5). */
  get identifier(): number {
    return this.view.getUint16(Field.WORD);
  }
  /** Echo sequence number (bytes 6–7). */
  get sequence(): number {
    return this.view.getUint16(Field.WORD + 2);
  }
  /** Next-hop MTU of a fragmentation-needed message (RFC 1191 §4; bytes 6–7). */
  get nextHopMtu(): number {
    return this.view.getUint16(Field.WORD + 2);
  }
  /** Everything after the 8-byte header. */
  get data(): Uint8Array {
    return this.bytes.subarray(Field.DATA);
  }
  /** True when the checksum over the whole message verifies. */
  get checksumValid(): boolean {
    return checksumIsValid(this.bytes);
  }
}

/** An ICMPv4 message as plain data. */
export type Icmpv4Repr =
  | {
      /** Echo Request (type 8) or Echo Reply (type 0), code 0 (RFC 792). */
      readonly kind: 'echoRequest' | 'echoReply';
      /** Identifier (RFC 792): with the sequence number, matches replies to requests. */
      readonly identifier: number;
      /** Sequence Number (RFC 792): tells apart the requests of one identifier. */
      readonly sequence: number;
      /** The echo data, which the reply returns unchanged. */
      readonly data: Uint8Array;
    }
  /** `quoted` is the original IP header and the start of its payload. `nextHopMtu` is 0 unless code 4. */
  | {
      /** Destination Unreachable (type 3, RFC 792), with the upper 16 bits of its word zero. */
      readonly kind: 'destinationUnreachable';
      /** Why it was not delivered: a `DestinationUnreachableCode`. */
      readonly code: number;
      /** Next-Hop MTU (RFC 1191 §4), the low 16 bits of the word; 0 unless code 4. */
      readonly nextHopMtu: number;
      /** The original datagram's IP header and the start of its payload (see `parseQuotedDatagram`). */
      readonly quoted: Uint8Array;
    }
  | {
      /** Time Exceeded (type 11, RFC 792), with its unused word zero. */
      readonly kind: 'timeExceeded';
      /** Which timer ran out: a `TimeExceededCode`. */
      readonly code: number;
      /** The original datagram's IP header and the start of its payload (see `parseQuotedDatagram`). */
      readonly quoted: Uint8Array;
    }
  | {
      /** Parameter Problem (type 12, RFC 792), with the low 24 bits of its word zero. */
      readonly kind: 'parameterProblem';
      /** The Code field: 0 when `pointer` locates the error (RFC 792). */
      readonly code: number;
      /** Pointer (RFC 792): the octet of the quoted header where the error was found. */
      readonly pointer: number;
      /** The original datagram's IP header and the start of its payload (see `parseQuotedDatagram`). */
      readonly quoted: Uint8Array;
    }
  | {
      /** Redirect (type 5, RFC 792). */
      readonly kind: 'redirect';
      /** What to redirect (RFC 792): 0 the network, 1 the host, 2 and 3 the same for the type of service. */
      readonly code: number;
      /** Gateway Internet Address (RFC 792): the router to send the destination's traffic to. */
      readonly gateway: Ipv4Address;
      /** The original datagram's IP header and the start of its payload (see `parseQuotedDatagram`). */
      readonly quoted: Uint8Array;
    }
  /** Any other message, or one whose unused bits are set: kept verbatim. */
  | {
      /** A message the typed forms do not cover, kept verbatim. */
      readonly kind: 'other';
      /** The Type field. */
      readonly type: number;
      /** The Code field. */
      readonly code: number;
      /** The type-specific 32-bit word (bytes 4–7) as it is. */
      readonly restOfHeader: number;
      /** Everything after the 8-byte header. */
      readonly data: Uint8Array;
    };

/** Options for parseIcmpv4. */
export interface Icmpv4ParseOptions {
  /** Verify the checksum (default true). */
  readonly verifyChecksum?: boolean;
}

/** Decodes a checked ICMPv4 message. */
export function parseIcmpv4(packet: Icmpv4Packet, options: Icmpv4ParseOptions = {}): Result<Icmpv4Repr, DecodeError> {
  if (options.verifyChecksum !== false && !packet.checksumValid) {
    return decodeFail('icmpv4', 'badChecksum', `checksum 0x${packet.checksum.toString(16).padStart(4, '0')} does not verify`);
  }
  const { type, code, restOfHeader, data } = packet;
  switch (type) {
    case Icmpv4Type.ECHO_REQUEST:
    case Icmpv4Type.ECHO_REPLY:
      if (code !== 0) break;
      return ok({
        kind: type === Icmpv4Type.ECHO_REQUEST ? 'echoRequest' : 'echoReply',
        identifier: packet.identifier,
        sequence: packet.sequence,
        data,
      });
    case Icmpv4Type.DESTINATION_UNREACHABLE:
      if (restOfHeader >>> 16 !== 0) break;
      return ok({ kind: 'destinationUnreachable', code, nextHopMtu: packet.nextHopMtu, quoted: data });
    case Icmpv4Type.TIME_EXCEEDED:
      if (restOfHeader !== 0) break;
      return ok({ kind: 'timeExceeded', code, quoted: data });
    case Icmpv4Type.PARAMETER_PROBLEM:
      if ((restOfHeader & 0x00ffffff) !== 0) break;
      return ok({ kind: 'parameterProblem', code, pointer: restOfHeader >>> 24, quoted: data });
    case Icmpv4Type.REDIRECT:
      return ok({ kind: 'redirect', code, gateway: restOfHeader >>> 0, quoted: data });
  }
  return ok({ kind: 'other', type, code, restOfHeader, data });
}

/** Bytes emitIcmpv4 writes for `repr`. */
export function icmpv4Length(repr: Icmpv4Repr): number {
  return ICMPV4_HEADER_LENGTH + icmpv4Data(repr).length;
}

function icmpv4Data(repr: Icmpv4Repr): Uint8Array {
  return 'quoted' in repr ? repr.quoted : repr.data;
}

/** Writes the message into `out` (at least icmpv4Length bytes) with its checksum. Returns its length. */
export function emitIcmpv4(repr: Icmpv4Repr, out: Uint8Array): number {
  const view = dataView(out);
  let type: number;
  let code = 0;
  let word = 0;
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      type = repr.kind === 'echoRequest' ? Icmpv4Type.ECHO_REQUEST : Icmpv4Type.ECHO_REPLY;
      word = ((repr.identifier << 16) | repr.sequence) >>> 0;
      break;
    case 'destinationUnreachable':
      type = Icmpv4Type.DESTINATION_UNREACHABLE;
      code = repr.code;
      word = repr.nextHopMtu & 0xffff;
      break;
    case 'timeExceeded':
      type = Icmpv4Type.TIME_EXCEEDED;
      code = repr.code;
      break;
    case 'parameterProblem':
      type = Icmpv4Type.PARAMETER_PROBLEM;
      code = repr.code;
      word = (repr.pointer << 24) >>> 0;
      break;
    case 'redirect':
      type = Icmpv4Type.REDIRECT;
      code = repr.code;
      word = repr.gateway;
      break;
    case 'other':
      type = repr.type;
      code = repr.code;
      word = repr.restOfHeader;
      break;
  }
  const data = icmpv4Data(repr);
  const length = ICMPV4_HEADER_LENGTH + data.length;
  out[Field.TYPE] = type;
  out[Field.CODE] = code;
  view.setUint16(Field.CHECKSUM, 0);
  view.setUint32(Field.WORD, word >>> 0);
  out.set(data, Field.DATA);
  view.setUint16(Field.CHECKSUM, internetChecksum(out.subarray(0, length)));
  return length;
}

/**
 * The original datagram quoted in an ICMP error: its IP header and the first bytes of its
 * payload (RFC 792 quotes 8; Linux quotes as much as fits in 576 bytes). Its Total Length may
 * exceed what was quoted, so this is read leniently, not with Ipv4Packet.checked.
 */
export interface QuotedDatagram {
  /** Source Address of the quoted header (RFC 791 §3.1). */
  readonly source: Ipv4Address;
  /** Destination Address of the quoted header (RFC 791 §3.1). */
  readonly destination: Ipv4Address;
  /** Protocol of the quoted header (RFC 791 §3.1): what `payload` starts with (`IpProtocol`). */
  readonly protocol: number;
  /** Identification of the quoted header (RFC 791 §3.1). */
  readonly identification: number;
  /** The quoted header's length in bytes (IHL × 4), 20 to 60. */
  readonly headerLength: number;
  /** The quoted header itself. */
  readonly header: Uint8Array;
  /** The quoted start of the original payload (the transport header, for a first fragment). */
  readonly payload: Uint8Array;
}

/** Reads the datagram quoted in an ICMP error; fails when not even its IP header is there. */
export function parseQuotedDatagram(quoted: Uint8Array): Result<QuotedDatagram, DecodeError> {
  if (quoted.length < 20) return decodeFail('icmpv4', 'truncated', `quoted datagram of ${quoted.length} bytes has no IP header`);
  if (quoted[0] >> 4 !== 4) return decodeFail('icmpv4', 'badVersion', `quoted datagram version ${quoted[0] >> 4}`);
  const headerLength = (quoted[0] & 0x0f) * 4;
  if (headerLength < 20 || headerLength > quoted.length) {
    return decodeFail('icmpv4', 'badHeaderLength', `quoted header length ${headerLength} of ${quoted.length} bytes`);
  }
  return ok({
    source: readIpv4Address(quoted, 12),
    destination: readIpv4Address(quoted, 16),
    protocol: quoted[9],
    identification: (quoted[4] << 8) | quoted[5],
    headerLength,
    header: quoted.subarray(0, headerLength),
    payload: quoted.subarray(headerLength),
  });
}
