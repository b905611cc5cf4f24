/**
 * IPv6 header codec (RFC 8200 §3).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-------+---------------+---------------------------------------+
 *    |Version| Traffic Class |              Flow Label               |
 *    +-------+---------------+-------+---------------+---------------+
 *    |         Payload Length        |  Next Header  |   Hop Limit   |
 *    +-------------------------------+---------------+---------------+
 *    |                                                               |
 *    +                         Source Address                        +
 *    |                          (128 bits)                           |
 *    +---------------------------------------------------------------+
 *    |                                                               |
 *    +                      Destination Address                      +
 *    |                          (128 bits)                           |
 *    +---------------------------------------------------------------+
 *
 * Traffic Class is DSCP (RFC 2474 §3) and ECN (RFC 3168 §5), as in IPv4's second octet. The Flow
 * Label (RFC 6437) is 20 bits. Payload Length counts everything after these 40 bytes, extension
 * headers included (src/ip/ipv6-extension-headers.ts); there is no header checksum, so the
 * upper-layer checksums cover a pseudo-header (RFC 8200 §8.1, ipv6PseudoHeaderSum).
 */
import { readUint16, writeUint16 } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import { readIpv6Address, writeIpv6Address, type Ipv6Address } from './ipv6-address.js';

/** Next Header values (IANA "Assigned Internet Protocol Numbers", shared with IPv4's Protocol field). */
export const Ipv6NextHeader = {
  /** Hop-by-Hop Options (RFC 8200 §4.3): only directly after the IPv6 header. */
  HOP_BY_HOP: 0,
  /** ICMPv4 (RFC 792), which never rides IPv6 but may be named. */
  ICMP: 1,
  /** IPv4 encapsulated (RFC 2473). */
  IPV4: 4,
  /** TCP (RFC 9293). */
  TCP: 6,
  /** UDP (RFC 768). */
  UDP: 17,
  /** IPv6 encapsulated (RFC 2473). */
  IPV6: 41,
  /** Routing header (RFC 8200 §4.4). */
  ROUTING: 43,
  /** Fragment header (RFC 8200 §4.5). */
  FRAGMENT: 44,
  /** Encapsulating Security Payload (RFC 4303). */
  ESP: 50,
  /** Authentication Header (RFC 4302). */
  AH: 51,
  /** ICMPv6 (RFC 4443). */
  ICMPV6: 58,
  /** No Next Header (RFC 8200 §4.7): nothing follows. */
  NO_NEXT_HEADER: 59,
  /** Destination Options (RFC 8200 §4.6). */
  DESTINATION_OPTIONS: 60,
} as const;

/** Length of the fixed header. */
export const IPV6_HEADER_LENGTH = 40;
/** The minimum link MTU every IPv6 link must carry (RFC 8200 §5). */
export const IPV6_MINIMUM_MTU = 1280;
/** The largest payload the 16-bit Payload Length can describe (jumbograms, RFC 2675, are not supported). */
export const IPV6_MAX_PAYLOAD_LENGTH = 65535;

const Field = { VERSION_CLASS_FLOW: 0, PAYLOAD_LENGTH: 4, NEXT_HEADER: 6, HOP_LIMIT: 7, SOURCE: 8, DESTINATION: 24 } as const;

/**
 * A zero-copy view of an IPv6 packet. `checked()` validates the version and that Payload Length
 * fits in the buffer; after it no accessor reads out of bounds.
 */
export class Ipv6Packet {
  private constructor(
    /** The buffer given to `checked` or `unchecked`; it may run past the payload (Ethernet padding). */
    readonly bytes: Uint8Array,
  ) {}

  /** Validates version and payload length against the buffer; the packet is its first 40 + Payload Length bytes. */
  static checked(bytes: Uint8Array): Result<Ipv6Packet, DecodeError> {
    if (bytes.length < IPV6_HEADER_LENGTH) {
      return decodeFail('ipv6', 'truncated', `${bytes.length} bytes is shorter than the 40-byte header`);
    }
    const packet = new Ipv6Packet(bytes);
    if (packet.version !== 6) return decodeFail('ipv6', 'badVersion', `version ${packet.version}`);
    if (IPV6_HEADER_LENGTH + packet.payloadLength > bytes.length) {
      return decodeFail('ipv6', 'truncated', `payload length ${packet.payloadLength} exceeds the ${bytes.length - IPV6_HEADER_LENGTH} bytes present`);
    }
    return ok(packet);
  }

  /** A view over a buffer the caller is about to fill (egress); no validation. */
  static unchecked(bytes: Uint8Array): Ipv6Packet {
    return new Ipv6Packet(bytes);
  }

  /** The Version field (6 for a valid packet). */
  get version(): number {
    return this.bytes[0] >> 4;
  }
  /** Traffic Class (RFC 8200 §7): DSCP << 2 | ECN; tshark's `ipv6.tclass`. */
  get trafficClass(): number {
    return ((this.bytes[0] & 0x0f) << 4) | (this.bytes[1] >> 4);
  }
  /** Differentiated Services Code Point (RFC 2474 §3), the upper six bits of the Traffic Class. */
  get dscp(): number {
    return this.trafficClass >> 2;
  }
  /** The ECN field (RFC 3168 §5), the low two bits of the Traffic Class. */
  get ecn(): number {
    return this.trafficClass & 0x03;
  }
  /** Flow Label (RFC 6437): 20 bits, 0 when the source labels no flow. */
  get flowLabel(): number {
    return ((this.bytes[1] & 0x0f) << 16) | readUint16(this.bytes, 2);
  }
  /** Payload Length: bytes after the fixed header, extension headers included. */
  get payloadLength(): number {
    return readUint16(this.bytes, Field.PAYLOAD_LENGTH);
  }
  /** Next Header: the first extension header or the upper-layer protocol (`Ipv6NextHeader`). */
  get nextHeader(): number {
    return this.bytes[Field.NEXT_HEADER];
  }
  /** Hop Limit (RFC 8200 §3): hops left. */
  get hopLimit(): number {
    return this.bytes[Field.HOP_LIMIT];
  }
  /** Source Address (a copy). */
  get source(): Ipv6Address {
    return readIpv6Address(this.bytes, Field.SOURCE);
  }
  /** Destination Address (a copy). */
  get destination(): Ipv6Address {
    return readIpv6Address(this.bytes, Field.DESTINATION);
  }
  /** The 40-byte fixed header. */
  get header(): Uint8Array {
    return this.bytes.subarray(0, IPV6_HEADER_LENGTH);
  }
  /** The bytes after the fixed header, up to Payload Length: extension headers and upper layer. */
  get payload(): Uint8Array {
    return this.bytes.subarray(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + this.payloadLength);
  }

  /** Writes the Hop Limit (a router decrements it; there is no checksum to update). */
  set hopLimit(value: number) {
    this.bytes[Field.HOP_LIMIT] = value;
  }
}

/** An IPv6 fixed header as plain data. The payload travels separately; only its length is here. */
export interface Ipv6Repr {
  /** Differentiated Services Code Point (RFC 2474 §3): the upper six bits of the Traffic Class. */
  readonly dscp: number;
  /** ECN field (RFC 3168 §5): 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE. */
  readonly ecn: number;
  /** Flow Label (RFC 6437), 0 to 0xfffff. */
  readonly flowLabel: number;
  /** Payload Length (RFC 8200 §3): extension headers and upper-layer data, in bytes. */
  readonly payloadLength: number;
  /** Next Header (RFC 8200 §3): the first extension header or the upper layer (`Ipv6NextHeader`). */
  readonly nextHeader: number;
  /** Hop Limit (RFC 8200 §3). */
  readonly hopLimit: number;
  /** Source Address. */
  readonly source: Ipv6Address;
  /** Destination Address. */
  readonly destination: Ipv6Address;
}

/**
 * Decodes a checked packet's fixed header. Refuses what RFC 8200 forbids a packet to carry: a
 * multicast source address (RFC 4291 §2.7, 'badField').
 */
export function parseIpv6(packet: Ipv6Packet): Result<Ipv6Repr, DecodeError> {
  if (packet.bytes[Field.SOURCE] === 0xff) return decodeFail('ipv6', 'badField', 'the source address is multicast (RFC 4291 §2.7)');
  return ok({
    dscp: packet.dscp,
    ecn: packet.ecn,
    flowLabel: packet.flowLabel,
    payloadLength: packet.payloadLength,
    nextHeader: packet.nextHeader,
    hopLimit: packet.hopLimit,
    source: packet.source,
    destination: packet.destination,
  });
}

/** Writes the 40-byte fixed header for `repr` at the start of `out`. Returns 40. */
export function emitIpv6(repr: Ipv6Repr, out: Uint8Array): number {
  const trafficClass = ((repr.dscp & 0x3f) << 2) | (repr.ecn & 0x03);
  out[0] = 0x60 | (trafficClass >> 4);
  out[1] = ((trafficClass & 0x0f) << 4) | ((repr.flowLabel >> 16) & 0x0f);
  writeUint16(out, 2, repr.flowLabel & 0xffff);
  writeUint16(out, Field.PAYLOAD_LENGTH, repr.payloadLength);
  out[Field.NEXT_HEADER] = repr.nextHeader;
  out[Field.HOP_LIMIT] = repr.hopLimit;
  writeIpv6Address(out, Field.SOURCE, repr.source);
  writeIpv6Address(out, Field.DESTINATION, repr.destination);
  return IPV6_HEADER_LENGTH;
}
