/**
 * ARP codec (RFC 826) for IPv4 over Ethernet, the only pairing this stack resolves.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-------------------------------+-------------------------------+
 *    |  Hardware type (1: Ethernet)  |  Protocol type (0x0800: IPv4) |
 *    +---------------+---------------+-------------------------------+
 *    | HW length (6) | IP length (4) | Operation (1 request, 2 reply)|
 *    +---------------+---------------+-------------------------------+
 *    |            Sender hardware address (octets 8 to 13)           |
 *    |           Sender protocol address (octets 14 to 17)           |
 *    |           Target hardware address (octets 18 to 23)           |
 *    |           Target protocol address (octets 24 to 27)           |
 *    +---------------------------------------------------------------+
 *
 * 28 octets in all; on Ethernet the frame is padded to 60, so the buffer may be longer. Any
 * other hardware type, protocol type or address length is `unsupported` (well-formed ARP for
 * some other network, not ours to answer). The operation is kept as it comes: the RFC merges
 * the sender's mapping before looking at the opcode, so the layer decides what to do with
 * opcodes other than request and reply.
 */
import { dataView } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import { readIpv4Address, writeIpv4Address, type Ipv4Address } from '../ip/address.js';
import { EtherType, MAC_ADDRESS_LENGTH, type MacAddress } from './ethernet.js';

/** ARP operation codes (RFC 826). */
export const ArpOperation = {
  /** ares_op$REQUEST (RFC 826): who has the target protocol address? */
  REQUEST: 1,
  /** ares_op$REPLY (RFC 826): the sender has the address asked for. */
  REPLY: 2,
} as const;

/** The hardware type of Ethernet (IANA ARP parameters). */
export const ARP_HARDWARE_ETHERNET = 1;
/** Length of an ARP packet for IPv4 over Ethernet. */
export const ARP_PACKET_LENGTH = 28;
/** Length of the part that says which kind of ARP packet this is (types, lengths, operation). */
const ARP_FIXED_LENGTH = 8;
const IPV4_ADDRESS_LENGTH = 4;

const Field = {
  HARDWARE_TYPE: 0,
  PROTOCOL_TYPE: 2,
  HARDWARE_LENGTH: 4,
  PROTOCOL_LENGTH: 5,
  OPERATION: 6,
  SENDER_HARDWARE_ADDRESS: 8,
  SENDER_PROTOCOL_ADDRESS: 14,
  TARGET_HARDWARE_ADDRESS: 18,
  TARGET_PROTOCOL_ADDRESS: 24,
} as const;

/**
 * A zero-copy view of an ARP packet for IPv4 over Ethernet. `checked()` validates types,
 * lengths and size; after that no accessor can read outside the buffer.
 */
export class ArpPacket {
  private readonly view: DataView;

  private constructor(
    /** The buffer given to `checked` or `unchecked`; it may run past the 28 bytes (Ethernet padding). */
    readonly bytes: Uint8Array,
  ) {
    this.view = dataView(bytes);
  }

  /** Validates that this is Ethernet/IPv4 ARP and that all 28 bytes are present. */
  static checked(bytes: Uint8Array): Result<ArpPacket, DecodeError> {
    if (bytes.length < ARP_FIXED_LENGTH) {
      return decodeFail('arp', 'truncated', `${bytes.length} bytes is shorter than the 8-byte fixed part`);
    }
    const packet = new ArpPacket(bytes);
    if (packet.hardwareType !== ARP_HARDWARE_ETHERNET || packet.hardwareLength !== MAC_ADDRESS_LENGTH) {
      return decodeFail('arp', 'unsupported', `hardware type ${packet.hardwareType} with ${packet.hardwareLength}-byte addresses is not Ethernet`);
    }
    if (packet.protocolType !== EtherType.IPV4 || packet.protocolLength !== IPV4_ADDRESS_LENGTH) {
      return decodeFail(
        'arp',
        'unsupported',
        `protocol type 0x${packet.protocolType.toString(16).padStart(4, '0')} with ${packet.protocolLength}-byte addresses is not IPv4`,
      );
    }
    if (bytes.length < ARP_PACKET_LENGTH) {
      return decodeFail('arp', 'truncated', `${bytes.length} bytes is shorter than the 28-byte Ethernet/IPv4 packet`);
    }
    return ok(packet);
  }

  /** A view over a buffer the caller is about to fill (egress); no validation. */
  static unchecked(bytes: Uint8Array): ArpPacket {
    return new ArpPacket(bytes);
  }

  /** Hardware type (1: Ethernet). */
  get hardwareType(): number {
    return this.view.getUint16(Field.HARDWARE_TYPE);
  }
  /** The protocol's EtherType (0x0800 for IPv4). */
  get protocolType(): number {
    return this.view.getUint16(Field.PROTOCOL_TYPE);
  }
  /** Hardware address length (6 for Ethernet). */
  get hardwareLength(): number {
    return this.bytes[Field.HARDWARE_LENGTH];
  }
  /** Protocol address length (4 for IPv4). */
  get protocolLength(): number {
    return this.bytes[Field.PROTOCOL_LENGTH];
  }
  /** The opcode: ArpOperation.REQUEST or REPLY (others are possible on the wire). */
  get operation(): number {
    return this.view.getUint16(Field.OPERATION);
  }
  /** A view into the packet. */
  get senderHardwareAddress(): MacAddress {
    return this.bytes.subarray(Field.SENDER_HARDWARE_ADDRESS, Field.SENDER_HARDWARE_ADDRESS + MAC_ADDRESS_LENGTH);
  }
  /** The sender's IPv4 address. */
  get senderProtocolAddress(): Ipv4Address {
    return readIpv4Address(this.bytes, Field.SENDER_PROTOCOL_ADDRESS);
  }
  /** A view into the packet (all zeros in a request, by convention). */
  get targetHardwareAddress(): MacAddress {
    return this.bytes.subarray(Field.TARGET_HARDWARE_ADDRESS, Field.TARGET_HARDWARE_ADDRESS + MAC_ADDRESS_LENGTH);
  }
  /** The target's IPv4 address. */
  get targetProtocolAddress(): Ipv4Address {
    return readIpv4Address(this.bytes, Field.TARGET_PROTOCOL_ADDRESS);
  }
}

/** An Ethernet/IPv4 ARP packet as plain data; the fixed types and lengths are implied. */
export interface ArpRepr {
  /** Opcode (RFC 826 ar$op): `ArpOperation`, or any other value as received. */
  readonly operation: number;
  /** Sender hardware address (RFC 826 ar$sha): the MAC of the host sending the packet. */
  readonly senderHardwareAddress: MacAddress;
  /** Sender protocol address (RFC 826 ar$spa): the IPv4 address of the host sending the packet. */
  readonly senderProtocolAddress: Ipv4Address;
  /** Target hardware address (RFC 826 ar$tha): the MAC asked about; unknown (usually zeros) in a request. */
  readonly targetHardwareAddress: MacAddress;
  /** Target protocol address (RFC 826 ar$tpa): the IPv4 address being resolved, or answered to. */
  readonly targetProtocolAddress: Ipv4Address;
}

/** Decodes a checked packet. The hardware addresses are copies, safe to keep after the frame. */
export function parseArp(packet: ArpPacket): Result<ArpRepr, DecodeError> {
  return ok({
    operation: packet.operation,
    senderHardwareAddress: packet.senderHardwareAddress.slice(),
    senderProtocolAddress: packet.senderProtocolAddress,
    targetHardwareAddress: packet.targetHardwareAddress.slice(),
    targetProtocolAddress: packet.targetProtocolAddress,
  });
}

/**
 * Writes `repr` at the start of `out` (at least 28 bytes). Returns the bytes written; padding
 * the Ethernet frame to its minimum size is the caller's choice.
 */
export function emitArp(repr: ArpRepr, out: Uint8Array): number {
  const view = dataView(out);
  view.setUint16(Field.HARDWARE_TYPE, ARP_HARDWARE_ETHERNET);
  view.setUint16(Field.PROTOCOL_TYPE, EtherType.IPV4);
  out[Field.HARDWARE_LENGTH] = MAC_ADDRESS_LENGTH;
  out[Field.PROTOCOL_LENGTH] = IPV4_ADDRESS_LENGTH;
  view.setUint16(Field.OPERATION, repr.operation);
  out.set(repr.senderHardwareAddress.subarray(0, MAC_ADDRESS_LENGTH), Field.SENDER_HARDWARE_ADDRESS);
  writeIpv4Address(out, Field.SENDER_PROTOCOL_ADDRESS, repr.senderProtocolAddress);
  out.set(repr.targetHardwareAddress.subarray(0, MAC_ADDRESS_LENGTH), Field.TARGET_HARDWARE_ADDRESS);
  writeIpv4Address(out, Field.TARGET_PROTOCOL_ADDRESS, repr.targetProtocolAddress);
  return ARP_PACKET_LENGTH;
}
