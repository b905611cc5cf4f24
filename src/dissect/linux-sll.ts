/**
 * Linux "cooked" capture header v1 (LINKTYPE_LINUX_SLL, 113): what `tcpdump -i any` writes in
 * place of a link-layer header, since the interfaces it listens on differ.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-------------------------------+-------------------------------+
 *    |          Packet type          |   ARPHRD_ type of the device  |
 *    +-------------------------------+-------------------------------+
 *    |  Link-layer address length    |                               |
 *    +-------------------------------+                               +
 *    |     Link-layer address (8 octets: the first 8 of the sender's |
 *    +                               +-------------------------------+
 *    |     address, zero-padded)     |           Protocol            |
 *    +-------------------------------+-------------------------------+
 *
 * Packet type (Linux PACKET_*): 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by
 * us. Protocol: an EtherType, or for values below 0x0600 a Linux ETH_P_ number (1 Novell 802.3,
 * 4 802.2 LLC, …). Only the dissector reads this header; the stack never sends it.
 */
import { dataView } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';

/** Length of the v1 cooked header. */
export const LINUX_SLL_HEADER_LENGTH = 16;
/** Bytes the header keeps of the link-layer address. */
export const LINUX_SLL_ADDRESS_FIELD_LENGTH = 8;

const Field = { PACKET_TYPE: 0, HARDWARE_TYPE: 2, ADDRESS_LENGTH: 4, ADDRESS: 6, PROTOCOL: 14 } as const;

/** Linux PACKET_* packet types. */
export const SllPacketType = {
  /** PACKET_HOST: addressed to this host. */
  HOST: 0,
  /** PACKET_BROADCAST: sent to the link-layer broadcast address. */
  BROADCAST: 1,
  /** PACKET_MULTICAST: sent to a link-layer multicast address. */
  MULTICAST: 2,
  /** PACKET_OTHERHOST: addressed to another host, seen in promiscuous mode. */
  OTHER_HOST: 3,
  /** PACKET_OUTGOING: sent by this host. */
  OUTGOING: 4,
} as const;

/** ARPHRD_ device types the dissector treats specially. */
export const ArphrdType = {
  /** ARPHRD_ETHER: Ethernet. */
  ETHER: 1,
  /** ARPHRD_LOOPBACK: the loopback device. */
  LOOPBACK: 772,
  /** ARPHRD_IPGRE: a GRE tunnel over IP. */
  IPGRE: 778,
  /** ARPHRD_NETLINK: a netlink monitor (nlmon) device. */
  NETLINK: 824,
} as const;

/** Zero-copy view of a cooked header. */
export class LinuxSllHeader {
  private readonly view: DataView;

  private constructor(
    /** The bytes given to `checked`: the header, then the payload. */
    readonly bytes: Uint8Array,
  ) {
    this.view = dataView(bytes);
  }

  /** Checks that all 16 bytes are there. */
  static checked(bytes: Uint8Array): Result<LinuxSllHeader, DecodeError> {
    if (bytes.length < LINUX_SLL_HEADER_LENGTH) {
      return decodeFail('sll', 'truncated', `${bytes.length} bytes is shorter than the 16-byte cooked header`);
    }
    return ok(new LinuxSllHeader(bytes));
  }

  /** Packet type (SllPacketType: to us, broadcast, multicast, to another host, outgoing). */
  get packetType(): number {
    return this.view.getUint16(Field.PACKET_TYPE);
  }
  /** The ARPHRD_ type of the device the packet went through. */
  get hardwareType(): number {
    return this.view.getUint16(Field.HARDWARE_TYPE);
  }
  /** Link-layer address length. */
  get addressLength(): number {
    return this.view.getUint16(Field.ADDRESS_LENGTH);
  }
  /** The whole 8-byte address field (the address, then zero padding or its cut-off tail). */
  get addressField(): Uint8Array {
    return this.bytes.subarray(Field.ADDRESS, Field.ADDRESS + LINUX_SLL_ADDRESS_FIELD_LENGTH);
  }
  /** An EtherType, or a Linux ETH_P_ number below 0x0600. */
  get protocol(): number {
    return this.view.getUint16(Field.PROTOCOL);
  }
  /** Everything after the header. */
  get payload(): Uint8Array {
    return this.bytes.subarray(LINUX_SLL_HEADER_LENGTH);
  }
}

/** A cooked header as plain data. */
export interface LinuxSllRepr {
  /** Packet type, a Linux PACKET_* value (`SllPacketType`). */
  readonly packetType: number;
  /** The ARPHRD_ type of the device the packet went through (`ArphrdType`). */
  readonly hardwareType: number;
  /** Length of the sender's link-layer address; may exceed the 8 bytes the header keeps. */
  readonly addressLength: number;
  /** The 8-byte address field as captured (kept whole so that parse→emit is exact). */
  readonly addressField: Uint8Array;
  /** An EtherType, or a Linux ETH_P_ number below 0x0600. */
  readonly protocol: number;
}

/** Decodes a checked header; the address field is a copy. */
export function parseLinuxSll(header: LinuxSllHeader): Result<LinuxSllRepr, DecodeError> {
  return ok({
    packetType: header.packetType,
    hardwareType: header.hardwareType,
    addressLength: header.addressLength,
    addressField: header.addressField.slice(),
    protocol: header.protocol,
  });
}

/** Writes the 16-byte header for `repr` at the start of `out`; returns 16. */
export function emitLinuxSll(repr: LinuxSllRepr, out: Uint8Array): number {
  const view = dataView(out);
  view.setUint16(Field.PACKET_TYPE, repr.packetType);
  view.setUint16(Field.HARDWARE_TYPE, repr.hardwareType);
  view.setUint16(Field.ADDRESS_LENGTH, repr.addressLength);
  out.fill(0, Field.ADDRESS, Field.ADDRESS + LINUX_SLL_ADDRESS_FIELD_LENGTH);
  out.set(repr.addressField.subarray(0, LINUX_SLL_ADDRESS_FIELD_LENGTH), Field.ADDRESS);
  view.setUint16(Field.PROTOCOL, repr.protocol);
  return LINUX_SLL_HEADER_LENGTH;
}
