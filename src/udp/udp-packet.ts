/**
 * UDP header codec (RFC 768).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-------------------------------+-------------------------------+
 *    |          Source Port          |       Destination Port        |
 *    +-------------------------------+-------------------------------+
 *    |            Length             |           Checksum            |
 *    +-------------------------------+-------------------------------+
 *    |                          data octets ...
 *
 * Length counts header and data. The checksum covers the IPv4 pseudo-header, the header and the
 * data; a transmitted 0 means "no checksum", so a computed 0 is sent as 0xffff.
 */
import { dataView } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import type { Ipv4Address } from '../ip/address.js';
import { checksumIsValid, internetChecksum, ipv6PseudoHeaderSum, onesComplementSum, pseudoHeaderSum } from '../ip/checksum.js';
import type { Ipv6Address } from '../ip/ipv6-address.js';
import { IpProtocol } from '../ip/ipv4.js';

/** Length of the UDP header. */
export const UDP_HEADER_LENGTH = 8;

const Field = { SOURCE_PORT: 0, DESTINATION_PORT: 2, LENGTH: 4, CHECKSUM: 6, DATA: 8 } as const;

/** The addresses of the pseudo-header: IPv4's (RFC 768) or IPv6's (RFC 8200 §8.1), both of one family. */
export interface PseudoHeader {
  /** Source Address of the IP header carrying the datagram. */
  readonly source: Ipv4Address | Ipv6Address;
  /** Destination Address of the IP header carrying the datagram. */
  readonly destination: Ipv4Address | Ipv6Address;
}

/** The unfolded pseudo-header sum of a UDP datagram of `length` bytes, of the family its addresses are. */
function udpPseudoHeaderSum(pseudo: PseudoHeader, length: number): number {
  return typeof pseudo.source === 'number'
    ? pseudoHeaderSum(pseudo.source, pseudo.destination as Ipv4Address, IpProtocol.UDP, length)
    : ipv6PseudoHeaderSum(pseudo.source, pseudo.destination as Ipv6Address, IpProtocol.UDP, length);
}

/** Zero-copy view of a UDP datagram. */
export class UdpPacket {
  private readonly view: DataView;

  private constructor(
    /** The buffer given to `checked` or `unchecked`; bytes past Length are not part of the datagram. */
    readonly bytes: Uint8Array,
  ) {
    this.view = dataView(bytes);
  }

  /**
   * Checks the header is present and Length fits: 8 ≤ Length ≤ bytes present. Bytes beyond
   * Length (an IP payload longer than the datagram) are not part of the datagram.
   */
  static checked(bytes: Uint8Array): Result<UdpPacket, DecodeError> {
    if (bytes.length < UDP_HEADER_LENGTH) {
      return decodeFail('udp', 'truncated', `${bytes.length} bytes is shorter than the 8-byte header`);
    }
    const packet = new UdpPacket(bytes);
    if (packet.length < UDP_HEADER_LENGTH) return decodeFail('udp', 'badTotalLength', `length field ${packet.length} is below 8`);
    if (packet.length > bytes.length) {
      return decodeFail('udp', 'truncated', `length field ${packet.length} exceeds the ${bytes.length} bytes present`);
    }
    return ok(packet);
  }

  /** A view over a buffer the caller is about to fill; no validation. */
  static unchecked(bytes: Uint8Array): UdpPacket {
    return new UdpPacket(bytes);
  }

  /** Source Port (0: none). */
  get sourcePort(): number {
    return this.view.getUint16(Field.SOURCE_PORT);
  }
  /** Destination Port. */
  get destinationPort(): number {
    return this.view.getUint16(Field.DESTINATION_PORT);
  }
  /** Length: header and data, in bytes. */
  get length(): number {
    return this.view.getUint16(Field.LENGTH);
  }
  /** The Checksum as it is in the bytes (0: none was computed). */
  get checksum(): number {
    return this.view.getUint16(Field.CHECKSUM);
  }
  /** Writes Checksum. */
  set checksum(value: number) {
    this.view.setUint16(Field.CHECKSUM, value);
  }
  /** The data octets, up to Length. */
  get payload(): Uint8Array {
    return this.bytes.subarray(Field.DATA, this.length);
  }
  /**
   * True when the checksum verifies against the pseudo-header, or is absent (0) over IPv4. Over
   * IPv6 it is mandatory: a zero checksum is refused (RFC 8200 §8.1).
   */
  checksumValid(pseudo: PseudoHeader): boolean {
    if (this.checksum === 0) return typeof pseudo.source === 'number';
    const datagram = this.bytes.subarray(0, this.length);
    return checksumIsValid(datagram, udpPseudoHeaderSum(pseudo, this.length));
  }
}

/** A UDP datagram as plain data. */
export interface UdpRepr {
  /** Source Port (RFC 768): where a reply should go; 0 when there is none. */
  readonly sourcePort: number;
  /** Destination Port (RFC 768). */
  readonly destinationPort: number;
  /** The data after the header; Length is 8 plus its length. */
  readonly payload: Uint8Array;
}

/** How parseUdp checks the checksum: against a pseudo-header, or not at all. */
export type UdpChecksumCheck =
  | PseudoHeader
  | {
      /** Skip the checksum: it was verified already, or offloaded and trusted. */
      readonly verifyChecksum: false;
    };

/** Decodes a checked datagram, verifying the checksum unless told not to. */
export function parseUdp(packet: UdpPacket, check: UdpChecksumCheck): Result<UdpRepr, DecodeError> {
  if (!('verifyChecksum' in check) && !packet.checksumValid(check)) {
    return decodeFail('udp', 'badChecksum', `checksum 0x${packet.checksum.toString(16).padStart(4, '0')} does not verify`);
  }
  return ok({ sourcePort: packet.sourcePort, destinationPort: packet.destinationPort, payload: packet.payload });
}

/** Bytes emitUdp writes for `repr`. */
export function udpLength(repr: UdpRepr): number {
  return UDP_HEADER_LENGTH + repr.payload.length;
}

/** Writes header and data into `out` and fills the checksum. Returns the datagram length. */
export function emitUdp(repr: UdpRepr, out: Uint8Array, pseudo: PseudoHeader): number {
  const length = udpLength(repr);
  const view = dataView(out);
  view.setUint16(Field.SOURCE_PORT, repr.sourcePort);
  view.setUint16(Field.DESTINATION_PORT, repr.destinationPort);
  view.setUint16(Field.LENGTH, length);
  view.setUint16(Field.CHECKSUM, 0);
  out.set(repr.payload, Field.DATA);
  const sum = onesComplementSum(out.subarray(0, length), udpPseudoHeaderSum(pseudo, length));
  const checksum = internetChecksum(new Uint8Array(0), sum);
  view.setUint16(Field.CHECKSUM, checksum === 0 ? 0xffff : checksum);
  return length;
}
