/**
 * The Linux cooked capture headers, what `tcpdump -i any` writes in place of a link-layer
 * header: v1 (LINKTYPE_LINUX_SLL, 113, 16 bytes) and v2 (LINKTYPE_LINUX_SLL2, 276, 20 bytes,
 * with the interface index). Codecs and layouts: ./linux-sll.ts, ./linux-sll2.ts.
 *
 * Both versions are read as tshark 4.0 reads them, with its `sll.*` field names:
 * - the address is `sll.src.eth` when 6 bytes long, `sll.src.ipv4` when 4, else `sll.src.other`
 *   (at most the 8 bytes kept), and the rest of the 8-byte field is `sll.unused`;
 * - a protocol up to 0x0600 is a Linux ETH_P_ number (`sll.ltype`): 3 is a whole Ethernet frame,
 *   the others are not taken apart; above, on an IP-GRE device it is a GRE protocol type
 *   (`sll.gretype`), elsewhere an EtherType (`sll.etype`), and bytes after the network packet are
 *   `sll.trailer`;
 * - a netlink socket's frames (ARPHRD_NETLINK) get no `sll.*` fields: tshark hands them to its
 *   netlink dissector.
 * v2 shows nothing until its first 12 bytes (through the address length) are there, as tshark,
 * which reads the device and packet types before it adds any field.
 */
import { toHex } from '../core/bytes.js';
import { formatIpv4Address, readIpv4Address } from '../ip/address.js';
import { formatMac } from '../link/ethernet.js';
import { addDataLayer, availableEnd, subSpan, type DissectionBuilder, type LayerDraft, type Span } from './dissect-context.js';
import { addTrailer, describeEtherType, dissectEtherType, dissectEthernet } from './dissect-link.js';
import { hex } from './dissection.js';
import { ArphrdType, LINUX_SLL_ADDRESS_FIELD_LENGTH, LINUX_SLL_HEADER_LENGTH, LinuxSllHeader } from './linux-sll.js';
import { LINUX_SLL2_ADDRESS_FIELD_LENGTH, LINUX_SLL2_HEADER_LENGTH, LinuxSll2Header, Sll2Field } from './linux-sll2.js';

/** Largest protocol value that is a Linux ETH_P_ number rather than an EtherType (Linux's own threshold). */
const LINUX_PROTOCOL_MAX = 0x0600;
/** Linux ETH_P_ number (LINUX_SLL_P_ETHERNET in libpcap) of a whole Ethernet frame. */
const LINUX_PROTOCOL_ETHERNET = 0x0003;

const PACKET_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'Unicast to us',
  1: 'Broadcast',
  2: 'Multicast',
  3: 'Unicast to another host',
  4: 'Sent by us',
};

/** Names of the ARPHRD_ device types a capture on Linux commonly shows (linux/if_arp.h). */
const HARDWARE_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'Ethernet',
  512: 'PPP',
  768: 'IPIP tunnel',
  769: 'IPv6-in-IPv6 tunnel',
  772: 'Loopback',
  776: 'IPv6-in-IPv4 (sit)',
  778: 'IP GRE',
  803: 'IEEE 802.11 radiotap',
  824: 'Netlink',
  65534: 'None (TUN, WireGuard…)',
};

function describePacketType(packetType: number): string {
  return `${PACKET_TYPE_NAMES[packetType] ?? 'Unknown'} (${packetType})`;
}

function describeHardwareType(hardwareType: number): string {
  const name = HARDWARE_TYPE_NAMES[hardwareType];
  return name === undefined ? String(hardwareType) : `${name} (${hardwareType})`;
}

/** Dissects a Linux cooked capture v1 frame (LINKTYPE_LINUX_SLL). */
export function dissectLinuxSll(ctx: DissectionBuilder, span: Span): void {
  const frame = ctx.frame;
  const start = span.start;
  const u16 = (offset: number): number => (frame[start + offset] << 8) | frame[start + offset + 1];
  const layer = ctx.addLayer('sll', 'Linux cooked capture v1', start, 0);
  // tshark reads the device type first: it decides how the rest of the header is read.
  ctx.need(layer, span, 0, 4, 'the packet and device types');
  const packetType = u16(0);
  const hardwareType = u16(2);
  if (hardwareType === ArphrdType.NETLINK) {
    // tshark hands a netlink capture's cooked header to its netlink dissector, without sll.* fields.
    layer.title = 'Linux cooked capture v1 of a netlink socket';
    layer.field(undefined, 'Link-layer address type', `${hardwareType} (netlink)`);
    const payloadStart = Math.min(start + LINUX_SLL_HEADER_LENGTH, availableEnd(span));
    layer.setRanges(payloadStart, payloadStart, availableEnd(span), 'netlink (not dissected)');
    addDataLayer(ctx, payloadStart, availableEnd(span), 0, 'Netlink message (not dissected)');
    return;
  }
  layer.title = `Linux cooked capture v1, ${PACKET_TYPE_NAMES[packetType] ?? `packet type ${packetType}`}`;
  layer.field('sll.pkttype', 'Packet type', String(packetType), { display: describePacketType(packetType), at: [0, 2] });
  layer.field('sll.hatype', 'Link-layer address type', String(hardwareType), { display: describeHardwareType(hardwareType), at: [2, 2] });
  ctx.need(layer, span, 4, 2, 'the address length');
  const addressLength = u16(4);
  layer.field('sll.halen', 'Link-layer address length', String(addressLength), { at: [4, 2] });
  addAddressFields(ctx, layer, span, 6, addressLength, LINUX_SLL_ADDRESS_FIELD_LENGTH);
  ctx.need(layer, span, 14, 2, 'the protocol');
  const checked = LinuxSllHeader.checked(frame.subarray(start, availableEnd(span)));
  if (!checked.ok) ctx.stop(checked.error.message);
  const protocol = checked.value.protocol;
  addProtocolField(layer, protocol, hardwareType, 14);
  const payloadStart = start + LINUX_SLL_HEADER_LENGTH;
  layer.setRanges(payloadStart, payloadStart, availableEnd(span));
  handOff(ctx, layer, span, payloadStart, protocol, hardwareType);
}

/** Dissects a Linux cooked capture v2 frame (LINKTYPE_LINUX_SLL2). */
export function dissectLinuxSll2(ctx: DissectionBuilder, span: Span): void {
  const frame = ctx.frame;
  const start = span.start;
  const layer = ctx.addLayer('sll', 'Linux cooked capture v2', start, 0);
  // Nothing is shown before the device type, packet type and address length can be read.
  ctx.need(layer, span, 0, Sll2Field.ADDRESS, 'the protocol, interface, device and packet types and address length');
  const u16 = (offset: number): number => (frame[start + offset] << 8) | frame[start + offset + 1];
  const protocol = u16(Sll2Field.PROTOCOL);
  const reserved = u16(Sll2Field.RESERVED);
  const interfaceIndex = ((frame[start + 4] << 24) | (frame[start + 5] << 16) | (frame[start + 6] << 8) | frame[start + 7]) >>> 0;
  const hardwareType = u16(Sll2Field.HARDWARE_TYPE);
  const packetType = frame[start + Sll2Field.PACKET_TYPE];
  const addressLength = frame[start + Sll2Field.ADDRESS_LENGTH];
  if (hardwareType === ArphrdType.NETLINK) {
    // tshark offers the whole frame, cooked header included, to its netlink dissector, which
    // expects a v1 header and declines; the frame's bytes all become data.
    layer.title = 'Linux cooked capture v2 of a netlink socket';
    layer.field(undefined, 'Link-layer address type', `${hardwareType} (netlink)`);
    layer.setRanges(start, start, availableEnd(span), 'netlink (not dissected)');
    addDataLayer(ctx, start, availableEnd(span), 0, 'Netlink message with its cooked header (not dissected)');
    return;
  }
  layer.title = `Linux cooked capture v2, ${PACKET_TYPE_NAMES[packetType] ?? `packet type ${packetType}`}, interface ${interfaceIndex}`;
  // Field order is tshark's: the protocol first, as in the header.
  addProtocolField(layer, protocol, hardwareType, Sll2Field.PROTOCOL);
  if (reserved !== 0) layer.field(undefined, 'Reserved', hex(reserved, 4), { problem: 'not zero', at: [Sll2Field.RESERVED, 2] });
  layer.field('sll.ifindex', 'Interface index', String(interfaceIndex), { at: [4, 4] });
  layer.field('sll.hatype', 'Link-layer address type', String(hardwareType), { display: describeHardwareType(hardwareType), at: [Sll2Field.HARDWARE_TYPE, 2] });
  layer.field('sll.pkttype', 'Packet type', String(packetType), { display: describePacketType(packetType), at: [Sll2Field.PACKET_TYPE, 1] });
  layer.field('sll.halen', 'Link-layer address length', String(addressLength), { at: [Sll2Field.ADDRESS_LENGTH, 1] });
  addAddressFields(ctx, layer, span, Sll2Field.ADDRESS, addressLength, LINUX_SLL2_ADDRESS_FIELD_LENGTH);
  const checked = LinuxSll2Header.checked(frame.subarray(start, availableEnd(span)));
  if (!checked.ok) ctx.stop(checked.error.message);
  const payloadStart = start + LINUX_SLL2_HEADER_LENGTH;
  layer.setRanges(payloadStart, payloadStart, availableEnd(span));
  handOff(ctx, layer, span, payloadStart, protocol, hardwareType);
}

/**
 * The source address at `offset` (`addressLength` long, of which the header keeps up to
 * `fieldLength` bytes), then the unused rest of the address field.
 */
function addAddressFields(ctx: DissectionBuilder, layer: LayerDraft, span: Span, offset: number, addressLength: number, fieldLength: number): void {
  const frame = ctx.frame;
  const start = span.start + offset;
  const shown = Math.min(addressLength, fieldLength);
  if (shown > 0) {
    ctx.need(layer, span, offset, shown, 'the link-layer address');
    const address = frame.subarray(start, start + shown);
    const at = [offset, shown] as const;
    if (addressLength === 6) layer.field('sll.src.eth', 'Source', formatMac(address), { at });
    else if (addressLength === 4) layer.field('sll.src.ipv4', 'Source', formatIpv4Address(readIpv4Address(address, 0)), { at });
    else layer.field('sll.src.other', 'Source', toHex(address), { display: toHex(address, ':'), at });
  }
  if (shown < fieldLength) {
    ctx.need(layer, span, offset + shown, fieldLength - shown, 'the unused address bytes');
    layer.field('sll.unused', 'Unused', toHex(frame.subarray(start + shown, start + fieldLength)), { at: [offset + shown, fieldLength - shown] });
  }
}

/** The protocol field (at header byte `offset`), under the name its value and the device type give it. */
function addProtocolField(layer: LayerDraft, protocol: number, hardwareType: number, offset: number): void {
  const at = [offset, 2] as const;
  if (protocol <= LINUX_PROTOCOL_MAX) {
    const display = protocol === LINUX_PROTOCOL_ETHERNET ? `${hex(protocol, 4)} (Ethernet)` : `${hex(protocol, 4)} (Linux ETH_P_ ${protocol})`;
    layer.field('sll.ltype', 'Protocol', hex(protocol, 4), { display, at });
  } else {
    // On an IP-in-GRE device the field is a GRE protocol type, which for IP is the EtherType.
    layer.field(hardwareType === ArphrdType.IPGRE ? 'sll.gretype' : 'sll.etype', 'Protocol', hex(protocol, 4), { display: describeEtherType(protocol), at });
  }
}

/** Hands the payload at `payloadStart` to the layer `protocol` names; names what trails it. */
function handOff(ctx: DissectionBuilder, layer: LayerDraft, span: Span, payloadStart: number, protocol: number, hardwareType: number): void {
  const end = availableEnd(span);
  if (protocol === LINUX_PROTOCOL_ETHERNET) {
    layer.payloadTo = 'Ethernet';
    dissectEthernet(ctx, subSpan(span, payloadStart));
    return;
  }
  if (protocol <= LINUX_PROTOCOL_MAX) {
    layer.payloadTo = 'data';
    addDataLayer(ctx, payloadStart, end, 0, `Data (${end - payloadStart} bytes of Linux protocol ${protocol}, not dissected)`);
    return;
  }
  const packetEnd = dissectEtherType(ctx, subSpan(span, payloadStart), protocol, layer);
  if (packetEnd !== undefined && packetEnd < ctx.frame.length) {
    // tshark's GRE path has no trailer field; its EtherType path calls what is left sll.trailer.
    const name = hardwareType === ArphrdType.IPGRE ? undefined : 'sll.trailer';
    addTrailer(ctx, packetEnd, ctx.frame.length, name, 'Trailer', 'Bytes after the packet');
  }
}
