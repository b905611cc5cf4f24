/**
 * Linux "cooked" capture header v2 (LINKTYPE_LINUX_SLL2, 276): what `tcpdump -i any` writes
 * since libpcap 1.10. It carries what v1 does (./linux-sll.ts) plus the index of the interface
 * the packet went through, with the protocol moved to the front and the packet type and
 * address length narrowed to one byte each.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-------------------------------+-------------------------------+
 *    |           Protocol            |       Reserved (zero)         |
 *    +-------------------------------+-------------------------------+
 *    |                        Interface index                        |
 *    +-------------------------------+---------------+---------------+
 *    |   ARPHRD_ type of the device  |  Packet type  |Address length |
 *    +-------------------------------+---------------+---------------+
 *    |      Link-layer address (8 octets: the first 8 of the         |
 *    +      sender's address, zero-padded)                           +
 *    |                                                               |
 *    +-------------------------------+-------------------------------+
 *
 * Protocol, packet type and ARPHRD_ type mean what they mean in v1 (SllPacketType, ArphrdType);
 * the interface index is the kernel's ifindex (`ip link` numbers). All fields big-endian, as
 * libpcap writes them whatever the machine. Only the dissector reads this header.
 */
import { dataView } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';

/** Length of the v2 cooked header. */
export const LINUX_SLL2_HEADER_LENGTH = 20;
/** Bytes the header keeps of the link-layer address. */
export const LINUX_SLL2_ADDRESS_FIELD_LENGTH = 8;

/** Byte offsets of the v2 header's fields. */
export const Sll2Field = {
  PROTOCOL: 0,
  RESERVED: 2,
  INTERFACE_INDEX: 4,
  HARDWARE_TYPE: 8,
  PACKET_TYPE: 10,
  ADDRESS_LENGTH: 11,
  ADDRESS: 12,
} as const;

/** Zero-copy view of a v2 cooked header. */
export class LinuxSll2Header {
  private readonly view: DataView;

  private constructor(readonly bytes: Uint8Array) {
    this.view = dataView(bytes);
  }

  /** Checks that all 20 bytes are there. */
  static checked(bytes: Uint8Array): Result<LinuxSll2Header, DecodeError> {
    if (bytes.length < LINUX_SLL2_HEADER_LENGTH) {
      return decodeFail('sll', 'truncated', `${bytes.length} bytes is shorter than the 20-byte cooked v2 header`);
    }
    return ok(new LinuxSll2Header(bytes));
  }

  /** An EtherType, or a Linux ETH_P_ number up to 0x0600. */
  get protocol(): number {
    return this.view.getUint16(Sll2Field.PROTOCOL);
  }
  /** Reserved: zero when libpcap wrote it. */
  get reserved(): number {
    return this.view.getUint16(Sll2Field.RESERVED);
  }
  /** The kernel's index of the interface the packet went through. */
  get interfaceIndex(): number {
    return this.view.getUint32(Sll2Field.INTERFACE_INDEX);
  }
  /** The ARPHRD_ type of that interface. */
  get hardwareType(): number {
    return this.view.getUint16(Sll2Field.HARDWARE_TYPE);
  }
  /** Packet type (SllPacketType: to us, broadcast, multicast, to another host, outgoing). */
  get packetType(): number {
    return this.bytes[Sll2Field.PACKET_TYPE];
  }
  /** Link-layer address length (may exceed the 8 bytes kept). */
  get addressLength(): number {
    return this.bytes[Sll2Field.ADDRESS_LENGTH];
  }
  /** The whole 8-byte address field (the address, then zero padding or its cut-off tail). */
  get addressField(): Uint8Array {
    return this.bytes.subarray(Sll2Field.ADDRESS, Sll2Field.ADDRESS + LINUX_SLL2_ADDRESS_FIELD_LENGTH);
  }
  /** Everything after the header. */
  get payload(): Uint8Array {
    return this.bytes.subarray(LINUX_SLL2_HEADER_LENGTH);
  }
}

/** A v2 cooked header as plain data. */
export interface LinuxSll2Repr {
  /** An EtherType, or a Linux ETH_P_ number up to 0x0600. */
  readonly protocol: number;
  /** The kernel's ifindex of the interface. */
  readonly interfaceIndex: number;
  /** The ARPHRD_ type of the interface. */
  readonly hardwareType: number;
  /** SllPacketType. */
  readonly packetType: number;
  /** The address's real length, which may exceed the 8 bytes kept. */
  readonly addressLength: number;
  /** The 8-byte address field as captured (kept whole so that parse→emit is exact). */
  readonly addressField: Uint8Array;
}

/**
 * Decodes a checked header; the address field is a copy. A non-zero reserved field is refused
 * (`badField`): libpcap always writes zero, so anything else is not a v2 header as written.
 */
export function parseLinuxSll2(header: LinuxSll2Header): Result<LinuxSll2Repr, DecodeError> {
  if (header.reserved !== 0) {
    return decodeFail('sll', 'badField', `reserved field is 0x${header.reserved.toString(16).padStart(4, '0')}, not zero`);
  }
  return ok({
    protocol: header.protocol,
    interfaceIndex: header.interfaceIndex,
    hardwareType: header.hardwareType,
    packetType: header.packetType,
    addressLength: header.addressLength,
    addressField: header.addressField.slice(),
  });
}

/** Writes the 20-byte header for `repr` at the start of `out` (reserved zero); returns 20. */
export function emitLinuxSll2(repr: LinuxSll2Repr, out: Uint8Array): number {
  const view = dataView(out);
  view.setUint16(Sll2Field.PROTOCOL, repr.protocol);
  view.setUint16(Sll2Field.RESERVED, 0);
  view.setUint32(Sll2Field.INTERFACE_INDEX, repr.interfaceIndex >>> 0);
  view.setUint16(Sll2Field.HARDWARE_TYPE, repr.hardwareType);
  out[Sll2Field.PACKET_TYPE] = repr.packetType;
  out[Sll2Field.ADDRESS_LENGTH] = repr.addressLength;
  out.fill(0, Sll2Field.ADDRESS, Sll2Field.ADDRESS + LINUX_SLL2_ADDRESS_FIELD_LENGTH);
  out.set(repr.addressField.subarray(0, LINUX_SLL2_ADDRESS_FIELD_LENGTH), Sll2Field.ADDRESS);
  return LINUX_SLL2_HEADER_LENGTH;
}
