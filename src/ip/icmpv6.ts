/**
 * ICMPv6 message codec (RFC 4443), carrying Neighbor Discovery (RFC 4861, src/ip/ndp.ts) and
 * Multicast Listener Discovery (RFC 3810, src/ip/mld.ts).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +---------------+---------------+-------------------------------+
 *    |     Type      |     Code      |           Checksum            |
 *    +---------------+---------------+-------------------------------+
 *    |                         Message Body                          |
 *    +---------------------------------------------------------------+
 *
 *   Destination Unreachable (1, §3.1)  Unused (32) | as much of the invoking packet as fits
 *   Packet Too Big (2, §3.2)           MTU (32)    | invoking packet
 *   Time Exceeded (3, §3.3)            Unused (32) | invoking packet
 *   Parameter Problem (4, §3.4)        Pointer (32)| invoking packet
 *   Echo Request / Reply (128/129, §4) Identifier (16) | Sequence Number (16) | data
 *
 * The checksum covers the IPv6 pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1) and the whole
 * message. Errors have types 0–127 (§2.1). A message whose unused bits are set, or whose type
 * this codec does not know, is kept as `other`, so parse→emit is always exact.
 */
import { readUint16, readUint32, writeUint16, writeUint32 } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import { checksumIsValid, internetChecksum, ipv6PseudoHeaderSum } from './checksum.js';
import type { Ipv6Address } from './ipv6-address.js';
import { Ipv6NextHeader } from './ipv6.js';
import { emitMldBody, mldBodyLength, MldType, mldType, parseMldBody, type MldRepr } from './mld.js';
import { emitNdpBody, ndpBodyLength, NdpType, ndpType, parseNdpBody, type NdpRepr } from './ndp.js';

/** ICMPv6 types (RFC 4443 §2.1, RFC 4861 §4, RFC 2710 §3, RFC 3810 §5). */
export const Icmpv6Type = {
  /** Destination Unreachable (RFC 4443 §3.1). */
  DESTINATION_UNREACHABLE: 1,
  /** Packet Too Big (RFC 4443 §3.2): the MTU of the next link, for Path MTU Discovery (RFC 8201). */
  PACKET_TOO_BIG: 2,
  /** Time Exceeded (RFC 4443 §3.3). */
  TIME_EXCEEDED: 3,
  /** Parameter Problem (RFC 4443 §3.4). */
  PARAMETER_PROBLEM: 4,
  /** Echo Request (RFC 4443 §4.1). */
  ECHO_REQUEST: 128,
  /** Echo Reply (RFC 4443 §4.2). */
  ECHO_REPLY: 129,
  /** Multicast Listener Query (RFC 3810 §5.1). */
  MLD_QUERY: MldType.QUERY,
  /** MLDv1 Report (RFC 2710 §3). */
  MLDV1_REPORT: MldType.MLDV1_REPORT,
  /** MLDv1 Done (RFC 2710 §3). */
  MLDV1_DONE: MldType.MLDV1_DONE,
  /** Router Solicitation (RFC 4861 §4.1). */
  ROUTER_SOLICITATION: NdpType.ROUTER_SOLICITATION,
  /** Router Advertisement (RFC 4861 §4.2). */
  ROUTER_ADVERTISEMENT: NdpType.ROUTER_ADVERTISEMENT,
  /** Neighbor Solicitation (RFC 4861 §4.3). */
  NEIGHBOR_SOLICITATION: NdpType.NEIGHBOR_SOLICITATION,
  /** Neighbor Advertisement (RFC 4861 §4.4). */
  NEIGHBOR_ADVERTISEMENT: NdpType.NEIGHBOR_ADVERTISEMENT,
  /** Redirect (RFC 4861 §4.5). */
  REDIRECT: NdpType.REDIRECT,
  /** MLDv2 Report (RFC 3810 §5.2). */
  MLDV2_REPORT: MldType.MLDV2_REPORT,
} as const;

/** Destination Unreachable codes (RFC 4443 §3.1). */
export const Icmpv6UnreachableCode = {
  /** No route to destination. */
  NO_ROUTE: 0,
  /** Communication with destination administratively prohibited. */
  ADMINISTRATIVELY_PROHIBITED: 1,
  /** Beyond scope of source address. */
  BEYOND_SCOPE: 2,
  /** Address unreachable. */
  ADDRESS_UNREACHABLE: 3,
  /** Port unreachable. */
  PORT_UNREACHABLE: 4,
  /** Source address failed ingress/egress policy. */
  SOURCE_ADDRESS_FAILED_POLICY: 5,
  /** Reject route to destination. */
  REJECT_ROUTE: 6,
} as const;

/** Time Exceeded codes (RFC 4443 §3.3). */
export const Icmpv6TimeExceededCode = {
  /** Hop limit exceeded in transit. */
  HOP_LIMIT_EXCEEDED: 0,
  /** Fragment reassembly time exceeded. */
  FRAGMENT_REASSEMBLY_TIME_EXCEEDED: 1,
} as const;

/** Length of type, code and checksum. */
export const ICMPV6_HEADER_LENGTH = 4;
/**
 * An error message holds as much of the invoking packet as fits without the whole exceeding
 * the minimum IPv6 MTU (RFC 4443 §2.4(c)): 1280 − 40 (IPv6) − 8 (ICMPv6 header and word).
 */
export const ICMPV6_ERROR_QUOTE_MAX = 1232;

/** Zero-copy view of an ICMPv6 message. */
export class Icmpv6Packet {
  private constructor(
    /** The whole message: the buffer given to `checked` or `unchecked`. */
    readonly bytes: Uint8Array,
  ) {}

  /** Checks that type, code and checksum are present; the message is the whole buffer. */
  static checked(bytes: Uint8Array): Result<Icmpv6Packet, DecodeError> {
    if (bytes.length < ICMPV6_HEADER_LENGTH) return decodeFail('icmpv6', 'truncated', `${bytes.length} bytes is shorter than the 4-byte header`);
    return ok(new Icmpv6Packet(bytes));
  }

  /** A view over a buffer the caller is about to fill; no validation. */
  static unchecked(bytes: Uint8Array): Icmpv6Packet {
    return new Icmpv6Packet(bytes);
  }

  /** The Type field (`Icmpv6Type`). */
  get type(): number {
    return this.bytes[0];
  }
  /** The Code field. */
  get code(): number {
    return this.bytes[1];
  }
  /** The Checksum field as it is in the bytes. */
  get checksum(): number {
    return readUint16(this.bytes, 2);
  }
  /** The message body after the checksum. */
  get body(): Uint8Array {
    return this.bytes.subarray(ICMPV6_HEADER_LENGTH);
  }
  /** True for an error message (type below 128, RFC 4443 §2.1). */
  get isError(): boolean {
    return this.type < 128;
  }
  /** True when the checksum verifies for a packet from `source` to `destination` (RFC 4443 §2.3). */
  checksumValid(source: Ipv6Address, destination: Ipv6Address): boolean {
    return checksumIsValid(this.bytes, ipv6PseudoHeaderSum(source, destination, Ipv6NextHeader.ICMPV6, this.bytes.length));
  }
}

/** An ICMPv6 message as plain data. */
export type Icmpv6Repr =
  | {
      /** Echo Request (128) or Echo Reply (129), code 0 (RFC 4443 §4). */
      readonly kind: 'echoRequest' | 'echoReply';
      /** Identifier: with the sequence number, matches replies to requests. */
      readonly identifier: number;
      /** Sequence Number. */
      readonly sequence: number;
      /** The data, which the reply returns unchanged. */
      readonly data: Uint8Array;
    }
  | {
      /** Destination Unreachable (1, §3.1) or Time Exceeded (3, §3.3), their unused word zero. */
      readonly kind: 'destinationUnreachable' | 'timeExceeded';
      /** `Icmpv6UnreachableCode` or `Icmpv6TimeExceededCode`. */
      readonly code: number;
      /** The start of the invoking packet, IPv6 header first. */
      readonly quoted: Uint8Array;
    }
  | {
      /** Packet Too Big (2, §3.2). */
      readonly kind: 'packetTooBig';
      /** The Code field: 0 from the originator, ignored by the receiver. */
      readonly code: number;
      /** MTU of the next-hop link. */
      readonly mtu: number;
      /** The start of the invoking packet. */
      readonly quoted: Uint8Array;
    }
  | {
      /** Parameter Problem (4, §3.4). */
      readonly kind: 'parameterProblem';
      /** 0 erroneous header field, 1 unrecognized Next Header, 2 unrecognized option, 3 incomplete chain (RFC 7112). */
      readonly code: number;
      /** Octet offset in the invoking packet where the error was found. */
      readonly pointer: number;
      /** The start of the invoking packet. */
      readonly quoted: Uint8Array;
    }
  | NdpRepr
  | MldRepr
  | {
      /** Any other message, or one whose unused bits are set: kept verbatim. */
      readonly kind: 'other';
      /** The Type field. */
      readonly type: number;
      /** The Code field. */
      readonly code: number;
      /** Everything after the checksum. */
      readonly body: Uint8Array;
    };

/** Options for parseIcmpv6. */
export interface Icmpv6ParseOptions {
  /** The IPv6 source address, for the checksum's pseudo-header. */
  readonly source: Ipv6Address;
  /** The IPv6 destination address. */
  readonly destination: Ipv6Address;
  /** Verify the checksum (default true). */
  readonly verifyChecksum?: boolean;
}

/**
 * Decodes a checked message. Refuses a checksum that does not verify ('badChecksum'), an error
 * or echo message shorter than 8 bytes ('truncated'), and what the NDP and MLD codecs refuse
 * (their DecodeErrors, layer `ndp` or `mld`). The IP-header checks of NDP and MLD are
 * `checkNdpIpHeader` and `checkMldIpHeader`.
 */
export function parseIcmpv6(packet: Icmpv6Packet, options: Icmpv6ParseOptions): Result<Icmpv6Repr, DecodeError> {
  if (options.verifyChecksum !== false && !packet.checksumValid(options.source, options.destination)) {
    return decodeFail('icmpv6', 'badChecksum', `checksum 0x${packet.checksum.toString(16).padStart(4, '0')} does not verify`);
  }
  const { type, code, body } = packet;
  const other = (): Result<Icmpv6Repr, DecodeError> => ok({ kind: 'other', type, code, body });
  switch (type) {
    case Icmpv6Type.ECHO_REQUEST:
    case Icmpv6Type.ECHO_REPLY:
    case Icmpv6Type.DESTINATION_UNREACHABLE:
    case Icmpv6Type.PACKET_TOO_BIG:
    case Icmpv6Type.TIME_EXCEEDED:
    case Icmpv6Type.PARAMETER_PROBLEM:
      if (body.length < 4) return decodeFail('icmpv6', 'truncated', `a type ${type} message of ${4 + body.length} bytes; it has at least 8`);
  }
  const word = body.length >= 4 ? readUint32(body, 0) : 0;
  const rest = body.subarray(4);
  switch (type) {
    case Icmpv6Type.ECHO_REQUEST:
    case Icmpv6Type.ECHO_REPLY:
      if (code !== 0) return other();
      return ok({ kind: type === Icmpv6Type.ECHO_REQUEST ? 'echoRequest' : 'echoReply', identifier: word >>> 16, sequence: word & 0xffff, data: rest });
    case Icmpv6Type.DESTINATION_UNREACHABLE:
    case Icmpv6Type.TIME_EXCEEDED:
      if (word !== 0) return other();
      return ok({ kind: type === Icmpv6Type.DESTINATION_UNREACHABLE ? 'destinationUnreachable' : 'timeExceeded', code, quoted: rest });
    case Icmpv6Type.PACKET_TOO_BIG:
      return ok({ kind: 'packetTooBig', code, mtu: word, quoted: rest });
    case Icmpv6Type.PARAMETER_PROBLEM:
      return ok({ kind: 'parameterProblem', code, pointer: word, quoted: rest });
    case Icmpv6Type.ROUTER_SOLICITATION:
    case Icmpv6Type.ROUTER_ADVERTISEMENT:
    case Icmpv6Type.NEIGHBOR_SOLICITATION:
    case Icmpv6Type.NEIGHBOR_ADVERTISEMENT:
    case Icmpv6Type.REDIRECT:
      return parseNdpBody(type, code, body);
    case Icmpv6Type.MLD_QUERY:
    case Icmpv6Type.MLDV1_REPORT:
    case Icmpv6Type.MLDV1_DONE:
    case Icmpv6Type.MLDV2_REPORT:
      // MLD's code is 0 on the wire and ignored on receipt (RFC 3810 §5.1, §5.2); a set one is kept verbatim.
      if (code !== 0) return other();
      return parseMldBody(type, body);
  }
  return other();
}

function isNdp(repr: Icmpv6Repr): repr is NdpRepr {
  return (
    repr.kind === 'routerSolicitation' ||
    repr.kind === 'routerAdvertisement' ||
    repr.kind === 'neighborSolicitation' ||
    repr.kind === 'neighborAdvertisement' ||
    repr.kind === 'redirect'
  );
}

function isMld(repr: Icmpv6Repr): repr is MldRepr {
  return repr.kind === 'mldQuery' || repr.kind === 'mldv1Report' || repr.kind === 'mldv1Done' || repr.kind === 'mldv2Report';
}

/** Bytes emitIcmpv6 writes for `repr`. */
export function icmpv6Length(repr: Icmpv6Repr): number {
  if (isNdp(repr)) return ICMPV6_HEADER_LENGTH + ndpBodyLength(repr);
  if (isMld(repr)) return ICMPV6_HEADER_LENGTH + mldBodyLength(repr);
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      return 8 + repr.data.length;
    case 'other':
      return ICMPV6_HEADER_LENGTH + repr.body.length;
    default:
      return 8 + repr.quoted.length;
  }
}

/** The Type of the message `repr` describes. */
export function icmpv6Type(repr: Icmpv6Repr): number {
  if (isNdp(repr)) return ndpType(repr);
  if (isMld(repr)) return mldType(repr);
  switch (repr.kind) {
    case 'echoRequest':
      return Icmpv6Type.ECHO_REQUEST;
    case 'echoReply':
      return Icmpv6Type.ECHO_REPLY;
    case 'destinationUnreachable':
      return Icmpv6Type.DESTINATION_UNREACHABLE;
    case 'timeExceeded':
      return Icmpv6Type.TIME_EXCEEDED;
    case 'packetTooBig':
      return Icmpv6Type.PACKET_TOO_BIG;
    case 'parameterProblem':
      return Icmpv6Type.PARAMETER_PROBLEM;
    case 'other':
      return repr.type;
  }
}

/**
 * Writes the message into `out` (at least icmpv6Length bytes) with its checksum over the
 * pseudo-header of `source` → `destination`. Returns its length.
 */
export function emitIcmpv6(repr: Icmpv6Repr, out: Uint8Array, source: Ipv6Address, destination: Ipv6Address): number {
  const length = icmpv6Length(repr);
  const body = out.subarray(ICMPV6_HEADER_LENGTH, length);
  out[0] = icmpv6Type(repr);
  out[1] = 'code' in repr ? repr.code : 0;
  if (isNdp(repr)) emitNdpBody(repr, body);
  else if (isMld(repr)) emitMldBody(repr, body);
  else {
    switch (repr.kind) {
      case 'echoRequest':
      case 'echoReply':
        writeUint16(body, 0, repr.identifier);
        writeUint16(body, 2, repr.sequence);
        body.set(repr.data, 4);
        break;
      case 'destinationUnreachable':
      case 'timeExceeded':
        writeUint32(body, 0, 0);
        body.set(repr.quoted, 4);
        break;
      case 'packetTooBig':
        writeUint32(body, 0, repr.mtu >>> 0);
        body.set(repr.quoted, 4);
        break;
      case 'parameterProblem':
        writeUint32(body, 0, repr.pointer >>> 0);
        body.set(repr.quoted, 4);
        break;
      case 'other':
        body.set(repr.body);
        break;
    }
  }
  writeUint16(out, 2, 0);
  writeUint16(out, 2, internetChecksum(out, ipv6PseudoHeaderSum(source, destination, Ipv6NextHeader.ICMPV6, length), 0, length));
  return length;
}
