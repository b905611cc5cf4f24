/**
 * Ethernet II frame codec (IEEE 802.3 with an EtherType, RFC 894), with the IEEE 802.1Q tag.
 *
 *    untagged:
 *    +----------------------+----------------------+-----------+------------------------
 *    | destination MAC (6)  |    source MAC (6)    | EtherType | payload (46+ octets,
 *    |                      |                      |    (2)    |  may end in padding)
 *    +----------------------+----------------------+-----------+------------------------
 *
 *    802.1Q tagged: the tag sits where the EtherType was, and the real EtherType follows it
 *    +----------------------+----------------------+--------+---------------+-----------+----
 *    | destination MAC (6)  |    source MAC (6)    | 0x8100 | PCP|DEI| VID  | EtherType | ...
 *    |                      |                      |  (2)   |  3 | 1 | 12   |    (2)    |
 *    +----------------------+----------------------+--------+---------------+-----------+----
 *
 * The frame check sequence is not part of what a TAP device or a pcap file hands over. The
 * shortest frame on a wire is 60 octets without FCS, so a short IP packet arrives followed by
 * padding: the payload here is everything after the header, and the IP layer trims it by its
 * Total Length. A type field below 0x0600 is an 802.3 length (LLC frames); the codec passes it
 * through as `etherType` and the link layer, which knows no such type, drops the frame.
 */
import { dataView } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';

/** EtherType values this stack knows. */
export const EtherType = {
  /** IPv4 (RFC 894). */
  IPV4: 0x0800,
  /** ARP (RFC 826). */
  ARP: 0x0806,
  /** IPv6 (RFC 2464); recognised for dissection, not spoken by the stack. */
  IPV6: 0x86dd,
  /** The 802.1Q tag protocol identifier. */
  VLAN: 0x8100,
} as const;

/** A MAC address: exactly 6 bytes. */
export type MacAddress = Uint8Array;

/** Length of the untagged header. */
export const ETHERNET_HEADER_LENGTH = 14;
/** Length of the header with one 802.1Q tag. */
export const ETHERNET_VLAN_HEADER_LENGTH = 18;
/** Shortest frame on the wire, without the 4-octet frame check sequence. */
export const ETHERNET_MIN_FRAME_LENGTH = 60;
/** Length of a MAC address. */
export const MAC_ADDRESS_LENGTH = 6;

const Field = {
  DESTINATION: 0,
  SOURCE: 6,
  ETHER_TYPE: 12,
  /** In a tagged frame: the Tag Control Information after the 0x8100. */
  VLAN_TCI: 14,
  /** In a tagged frame: the EtherType of the payload. */
  VLAN_ETHER_TYPE: 16,
} as const;

const TCI_PRIORITY_SHIFT = 13;
const TCI_DROP_ELIGIBLE = 0x1000;
const TCI_VLAN_ID_MASK = 0x0fff;

/** ff:ff:ff:ff:ff:ff, the broadcast address. A shared array: copy it before changing it. */
export const MAC_BROADCAST: MacAddress = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** `aa:bb:cc:dd:ee:ff` text of a MAC address (lowercase). */
export function formatMac(mac: MacAddress): string {
  let text = '';
  for (let i = 0; i < mac.length; i++) text += (i > 0 ? ':' : '') + mac[i].toString(16).padStart(2, '0');
  return text;
}

/** Parses `aa:bb:cc:dd:ee:ff` (either case); null unless it is six colon-separated hex pairs. */
export function parseMac(text: string): MacAddress | null {
  const parts = text.split(':');
  if (parts.length !== MAC_ADDRESS_LENGTH) return null;
  const mac = new Uint8Array(MAC_ADDRESS_LENGTH);
  for (let i = 0; i < parts.length; i++) {
    if (!/^[0-9a-fA-F]{2}$/.test(parts[i])) return null;
    mac[i] = parseInt(parts[i], 16);
  }
  return mac;
}

/** True for a group address (the I/G bit, the lowest bit of the first octet): multicast or broadcast. */
export function isMulticastMac(mac: MacAddress): boolean {
  return (mac[0] & 0x01) !== 0;
}

/** True for ff:ff:ff:ff:ff:ff. */
export function isBroadcastMac(mac: MacAddress): boolean {
  for (let i = 0; i < MAC_ADDRESS_LENGTH; i++) if (mac[i] !== 0xff) return false;
  return true;
}

/** An 802.1Q tag's Tag Control Information, decoded. */
export interface VlanTag {
  /** Priority code point (IEEE 802.1p), 0 to 7. */
  readonly priority: number;
  /** Drop eligible indicator (formerly CFI). */
  readonly dropEligible: boolean;
  /** VLAN identifier, 0 to 4095 (0: priority tag only). */
  readonly vlanId: number;
}

/**
 * A zero-copy view of an Ethernet II frame. `checked()` validates the header (and the 802.1Q
 * tag when there is one); after that no accessor can read outside the buffer.
 */
export class EthernetFrame {
  private readonly view: DataView;

  private constructor(
    /** The whole frame given to `checked` or `unchecked`: header, payload and any padding. */
    readonly bytes: Uint8Array,
  ) {
    this.view = dataView(bytes);
  }

  /** Validates that the whole header, tag included, is present. */
  static checked(bytes: Uint8Array): Result<EthernetFrame, DecodeError> {
    if (bytes.length < ETHERNET_HEADER_LENGTH) {
      return decodeFail('ethernet', 'truncated', `${bytes.length} bytes is shorter than the 14-byte header`);
    }
    const frame = new EthernetFrame(bytes);
    if (frame.vlanTagged && bytes.length < ETHERNET_VLAN_HEADER_LENGTH) {
      return decodeFail('ethernet', 'truncated', `${bytes.length} bytes is shorter than the 18-byte 802.1Q header`);
    }
    return ok(frame);
  }

  /** A view over a buffer the caller is about to fill (egress); no validation. */
  static unchecked(bytes: Uint8Array): EthernetFrame {
    return new EthernetFrame(bytes);
  }

  /** Destination MAC address (a view into the frame). */
  get destination(): MacAddress {
    return this.bytes.subarray(Field.DESTINATION, Field.DESTINATION + MAC_ADDRESS_LENGTH);
  }
  /** Source MAC address (a view into the frame). */
  get source(): MacAddress {
    return this.bytes.subarray(Field.SOURCE, Field.SOURCE + MAC_ADDRESS_LENGTH);
  }
  /** True when the frame carries an 802.1Q tag. */
  get vlanTagged(): boolean {
    return this.view.getUint16(Field.ETHER_TYPE) === EtherType.VLAN;
  }
  /** The EtherType of the payload: the one after the tag in a tagged frame. */
  get etherType(): number {
    return this.view.getUint16(this.vlanTagged ? Field.VLAN_ETHER_TYPE : Field.ETHER_TYPE);
  }
  /** The 802.1Q Tag Control Information (priority, DEI, VLAN id); 0 when untagged. */
  get vlanTci(): number {
    return this.vlanTagged ? this.view.getUint16(Field.VLAN_TCI) : 0;
  }
  /** The decoded 802.1Q tag, or null when untagged. */
  get vlan(): VlanTag | null {
    return this.vlanTagged ? decodeTci(this.vlanTci) : null;
  }
  /** Header length in bytes: 14, or 18 with a tag. */
  get headerLength(): number {
    return this.vlanTagged ? ETHERNET_VLAN_HEADER_LENGTH : ETHERNET_HEADER_LENGTH;
  }
  /** Everything after the header, padding included. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }
}

function decodeTci(tci: number): VlanTag {
  return {
    priority: tci >> TCI_PRIORITY_SHIFT,
    dropEligible: (tci & TCI_DROP_ELIGIBLE) !== 0,
    vlanId: tci & TCI_VLAN_ID_MASK,
  };
}

function encodeTci(tag: VlanTag): number {
  return ((tag.priority & 0x7) << TCI_PRIORITY_SHIFT) | (tag.dropEligible ? TCI_DROP_ELIGIBLE : 0) | (tag.vlanId & TCI_VLAN_ID_MASK);
}

/** An Ethernet II header as plain data. The payload travels separately. */
export interface EthernetRepr {
  /** Destination MAC address: a station, a multicast group or ff:ff:ff:ff:ff:ff (broadcast). */
  readonly destination: MacAddress;
  /** Source MAC address: the sending station. */
  readonly source: MacAddress;
  /** The EtherType of the payload (inside the tag when there is one). */
  readonly etherType: number;
  /** The 802.1Q tag, or null for an untagged frame. */
  readonly vlan: VlanTag | null;
}

/** Decodes a checked frame's header. The addresses are copies, safe to keep after the frame. */
export function parseEthernet(frame: EthernetFrame): Result<EthernetRepr, DecodeError> {
  return ok({
    destination: frame.destination.slice(),
    source: frame.source.slice(),
    etherType: frame.etherType,
    vlan: frame.vlan,
  });
}

/** Header length in bytes that emitEthernet will write for `repr`. */
export function ethernetHeaderLength(repr: Pick<EthernetRepr, 'vlan'>): number {
  return repr.vlan === null ? ETHERNET_HEADER_LENGTH : ETHERNET_VLAN_HEADER_LENGTH;
}

/**
 * Writes the header for `repr` at the start of `out` (at least ethernetHeaderLength(repr)
 * bytes). Returns the header length; the caller writes the payload after it.
 */
export function emitEthernet(repr: EthernetRepr, out: Uint8Array): number {
  const view = dataView(out);
  out.set(repr.destination.subarray(0, MAC_ADDRESS_LENGTH), Field.DESTINATION);
  out.set(repr.source.subarray(0, MAC_ADDRESS_LENGTH), Field.SOURCE);
  if (repr.vlan === null) {
    view.setUint16(Field.ETHER_TYPE, repr.etherType);
    return ETHERNET_HEADER_LENGTH;
  }
  view.setUint16(Field.ETHER_TYPE, EtherType.VLAN);
  view.setUint16(Field.VLAN_TCI, encodeTci(repr.vlan));
  view.setUint16(Field.VLAN_ETHER_TYPE, repr.etherType);
  return ETHERNET_VLAN_HEADER_LENGTH;
}
