/**
 * Link layers for the dissector: Ethernet II (RFC 894) with 802.1Q tags and IEEE 802.3 length
 * frames, ARP (RFC 826), and what trails the network packet (Ethernet padding up to the 60-byte
 * minimum frame, or a trailer). The Linux cooked headers are in ./dissect-sll.ts. Codecs:
 * src/link/ethernet.ts, src/link/arp.ts.
 */
import { formatIpv4Address, readIpv4Address } from '../ip/address.js';
import { ArpOperation, ArpPacket } from '../link/arp.js';
import { ETHERNET_MIN_FRAME_LENGTH, EtherType, EthernetFrame, formatMac } from '../link/ethernet.js';
import { toHex } from '../core/bytes.js';
import { addDataLayer, availableEnd, subSpan, type DissectionBuilder, type LayerDraft, type Span } from './dissect-context.js';
import { hex } from './dissection.js';

/** Largest value of the Ethernet type field that is an IEEE 802.3 length, not an EtherType. */
const IEEE_802_3_MAX_LENGTH = 1500;
/** Smallest EtherType (IEEE 802.3 clause 3.2.6); 1501 to 1535 mean nothing. */
const MIN_ETHER_TYPE = 0x0600;
/** Transparent Ethernet Bridging: a whole Ethernet frame as the payload (RFC 1701 protocol type). */
const ETHER_TYPE_TEB = 0x6558;

const ETHER_TYPE_NAMES: Readonly<Record<number, string>> = {
  [EtherType.IPV4]: 'IPv4',
  [EtherType.ARP]: 'ARP',
  [EtherType.IPV6]: 'IPv6',
  [EtherType.VLAN]: '802.1Q Virtual LAN',
  0x88a8: '802.1ad',
  0x88cc: 'LLDP',
  0x8035: 'RARP',
  0x8847: 'MPLS',
  0x888e: '802.1X',
};

/** `0x0800 (IPv4)`. */
export function describeEtherType(type: number): string {
  const name = ETHER_TYPE_NAMES[type];
  return name === undefined ? hex(type, 4) : `${hex(type, 4)} (${name})`;
}

/**
 * Hands the payload at `span.start` to the dissector for `etherType`. Returns the frame offset
 * where the network packet ends (so the caller can name what trails it), or undefined when the
 * payload is not something dissected here.
 */
export function dissectEtherType(ctx: DissectionBuilder, span: Span, etherType: number, owner: LayerDraft, depth = 0): number | undefined {
  switch (etherType) {
    case EtherType.IPV4:
      owner.payloadTo = 'IPv4';
      return ctx.dissectors.ipv4(ctx, span, depth, 'ethertype');
    case EtherType.IPV6:
      owner.payloadTo = 'IPv6';
      return ctx.dissectors.ipv6(ctx, span, depth);
    case EtherType.ARP:
      owner.payloadTo = 'ARP';
      return dissectArp(ctx, span, depth);
    case EtherType.VLAN:
      owner.payloadTo = '802.1Q';
      return dissectVlan(ctx, span, depth);
    case ETHER_TYPE_TEB:
      owner.payloadTo = 'Ethernet';
      dissectEthernet(ctx, span, depth);
      return undefined;
    default:
      owner.payloadTo = 'data';
      owner.note(`EtherType ${hex(etherType, 4)} is not dissected here (not an error)`);
      addDataLayer(
        ctx,
        span.start,
        availableEnd(span),
        depth,
        `Data (${Math.max(0, availableEnd(span) - span.start)} bytes of EtherType ${hex(etherType, 4)})`,
      );
      return undefined;
  }
}

/** Dissects an IEEE 802.1Q tag and what follows it; returns where the network packet ends. */
function dissectVlan(ctx: DissectionBuilder, span: Span, depth: number): number | undefined {
  const start = span.start;
  const layer = ctx.addLayer('vlan', '802.1Q Virtual LAN', start, depth);
  ctx.need(layer, span, 0, 2, 'the tag control information');
  const tci = (ctx.frame[start] << 8) | ctx.frame[start + 1];
  const priority = tci >> 13;
  const dropEligible = (tci >> 12) & 1;
  const vlanId = tci & 0x0fff;
  layer.title = `802.1Q Virtual LAN, PRI: ${priority}, DEI: ${dropEligible}, ID: ${vlanId}`;
  layer.field('vlan.priority', 'Priority', String(priority), { at: [0, 1] });
  layer.field('vlan.dei', 'Drop eligible', String(dropEligible), { at: [0, 1] });
  layer.field('vlan.id', 'VLAN ID', String(vlanId), { at: [0, 2] });
  ctx.need(layer, span, 2, 2, 'the EtherType');
  const etherType = (ctx.frame[start + 2] << 8) | ctx.frame[start + 3];
  layer.field('vlan.etype', 'Type', hex(etherType, 4), { display: describeEtherType(etherType), at: [2, 2] });
  layer.setRanges(start + 4, start + 4, availableEnd(span));
  return dissectEtherType(ctx, subSpan(span, start + 4), etherType, layer, depth);
}

/** Dissects an Ethernet II or IEEE 802.3 frame (LINKTYPE_ETHERNET, or carried inside IP). */
export function dissectEthernet(ctx: DissectionBuilder, span: Span, depth = 0): void {
  const layer = ctx.addLayer('eth', 'Ethernet II', span.start, depth);
  ctx.need(layer, span, 0, 14, 'the Ethernet header');
  const frame = EthernetFrame.unchecked(ctx.frame.subarray(span.start, availableEnd(span)));
  const destination = formatMac(frame.destination);
  const source = formatMac(frame.source);
  layer.title = `Ethernet II, Src: ${source}, Dst: ${destination}`;
  layer.field('eth.dst', 'Destination', destination, { at: [0, 6] });
  layer.field('eth.src', 'Source', source, { at: [6, 6] });
  const typeField = (ctx.frame[span.start + 12] << 8) | ctx.frame[span.start + 13];
  const payloadStart = span.start + 14;
  // Wireshark reads 0 as an (unknown) EtherType, not as an 802.3 length.
  if (typeField <= IEEE_802_3_MAX_LENGTH && typeField !== 0) {
    layer.title = `IEEE 802.3 Ethernet, Src: ${source}, Dst: ${destination}`;
    layer.field('eth.len', 'Length', String(typeField), { at: [12, 2] });
    const end = Math.min(payloadStart + typeField, availableEnd(span));
    layer.setRanges(payloadStart, payloadStart, end, 'LLC (not dissected)');
    addDataLayer(ctx, payloadStart, end, depth, `Logical-Link Control (${end - payloadStart} bytes, not dissected)`);
    if (span.start === 0) addEthernetTrailer(ctx, payloadStart + typeField, true);
    return;
  }
  if (typeField !== 0 && typeField < MIN_ETHER_TYPE) {
    layer.field(undefined, 'Type/length', hex(typeField, 4), { problem: 'neither a length (≤ 1500) nor an EtherType (≥ 0x0600)', at: [12, 2] });
    ctx.malformed(layer, `type/length field ${hex(typeField, 4)} is neither an 802.3 length nor an EtherType`);
    return;
  }
  layer.field('eth.type', 'Type', hex(typeField, 4), { display: describeEtherType(typeField), at: [12, 2] });
  layer.setRanges(payloadStart, payloadStart, availableEnd(span));

  const packetEnd = dissectEtherType(ctx, subSpan(span, payloadStart), typeField, layer, depth);
  if (packetEnd !== undefined && span.start === 0) addEthernetTrailer(ctx, packetEnd, !frame.vlanTagged);
}

/**
 * Names the bytes after the network packet. Like Wireshark: in a frame of at least 60 bytes
 * (the minimum on the wire, without FCS) zero bytes up to byte 60 are padding and any beyond
 * are a trailer; otherwise (a shorter frame, or non-zero filler) they are all trailer. (Behind an
 * 802.1Q tag Wireshark names only the padding.)
 */
function addEthernetTrailer(ctx: DissectionBuilder, packetEnd: number, untagged: boolean): void {
  const frameEnd = ctx.frame.length;
  if (packetEnd >= frameEnd) return;
  let paddingEnd = ctx.originalLength >= ETHERNET_MIN_FRAME_LENGTH ? Math.min(frameEnd, Math.max(packetEnd, ETHERNET_MIN_FRAME_LENGTH)) : packetEnd;
  if (ctx.frame.subarray(packetEnd, paddingEnd).some((byte) => byte !== 0)) paddingEnd = packetEnd;
  if (paddingEnd > packetEnd) addTrailer(ctx, packetEnd, paddingEnd, 'eth.padding', 'Padding', 'Ethernet padding');
  if (frameEnd > paddingEnd) addTrailer(ctx, paddingEnd, frameEnd, untagged ? 'eth.trailer' : undefined, 'Trailer', 'Ethernet trailer');
}

/** Adds a `padding` layer for bytes [start, end) that follow the network packet. */
export function addTrailer(ctx: DissectionBuilder, start: number, end: number, name: string | undefined, label: string, what: string): void {
  const layer = ctx.addLayer('padding', `${what} (${end - start} bytes)`, start, 0);
  layer.field(name, label, toHex(ctx.frame.subarray(start, end)), { at: [0, end - start] });
  layer.setRanges(end, end, end);
}

/**
 * How far into an ARP packet tshark reads before it shows the first address, by opcode:
 * through the target protocol address for requests and replies (1, 2), RARP replies (4) and
 * DRARP replies (6); through the target hardware address for RARP and DRARP requests (3, 5) and
 * InARP requests (8); through the sender protocol address for InARP replies (9) and the MARS and
 * MAPOS opcodes 11 to 23; not at all for the rest.
 */
function arpReadAhead(operation: number, hardwareLength: number, protocolLength: number): number {
  if (operation === 1 || operation === 2 || operation === 4 || operation === 6) return 8 + 2 * hardwareLength + 2 * protocolLength;
  if (operation === 3 || operation === 5 || operation === 8) return 8 + 2 * hardwareLength + protocolLength;
  if (operation === 9 || (operation >= 11 && operation <= 23)) return 8 + hardwareLength + protocolLength;
  return 0;
}

/** ARP hardware types whose 6-byte addresses are MACs: Ethernet, experimental Ethernet, IEEE 802. */
const ETHERNET_LIKE_HARDWARE = new Set([1, 2, 6]);

/** Dissects an ARP packet (RFC 826); returns the frame offset where it ends. */
export function dissectArp(ctx: DissectionBuilder, span: Span, depth = 0): number {
  const start = span.start;
  const layer = ctx.addLayer('arp', 'Address Resolution Protocol', start, depth);
  const packet = ArpPacket.unchecked(ctx.frame.subarray(start, availableEnd(span)));
  ctx.need(layer, span, 0, 2, 'the hardware type');
  const hardwareType = packet.hardwareType;
  layer.field('arp.hw.type', 'Hardware type', String(hardwareType), { at: [0, 2] });
  ctx.need(layer, span, 2, 2, 'the protocol type');
  const protocolType = packet.protocolType;
  layer.field('arp.proto.type', 'Protocol type', hex(protocolType, 4), { display: describeEtherType(protocolType), at: [2, 2] });
  ctx.need(layer, span, 4, 1, 'the hardware size');
  const hardwareLength = packet.hardwareLength;
  layer.field('arp.hw.size', 'Hardware size', String(hardwareLength), { at: [4, 1] });
  ctx.need(layer, span, 5, 1, 'the protocol size');
  const protocolLength = packet.protocolLength;
  layer.field('arp.proto.size', 'Protocol size', String(protocolLength), { at: [5, 1] });
  ctx.need(layer, span, 6, 2, 'the opcode');
  const operation = packet.operation;
  const operationName = operation === ArpOperation.REQUEST ? 'request' : operation === ArpOperation.REPLY ? 'reply' : `opcode ${operation}`;
  layer.title = `Address Resolution Protocol (${operationName})`;
  layer.field('arp.opcode', 'Opcode', String(operation), { display: `${operationName} (${operation})`, at: [6, 2] });
  const end = 8 + 2 * hardwareLength + 2 * protocolLength;
  layer.setRanges(start + 8, start + 8, start + 8);

  // tshark shows hardware addresses as MACs only for Ethernet-like hardware types.
  const isMac = hardwareLength === 6 && ETHERNET_LIKE_HARDWARE.has(hardwareType);
  const isIpv4 = protocolLength === 4 && protocolType === EtherType.IPV4;
  const addresses: Array<[string, string, number, number, boolean]> = [
    ['arp.src.hw_mac', 'Sender MAC address', 8, hardwareLength, isMac],
    ['arp.src.proto_ipv4', 'Sender IP address', 8 + hardwareLength, protocolLength, isIpv4],
    ['arp.dst.hw_mac', 'Target MAC address', 8 + hardwareLength + protocolLength, hardwareLength, isMac],
    ['arp.dst.proto_ipv4', 'Target IP address', 8 + 2 * hardwareLength + protocolLength, protocolLength, isIpv4],
  ];
  // tshark shows no address unless the packet claims room for all four. Depending on the
  // opcode it then reads ahead before showing any (for its duplicate-address checks).
  if (span.reportedEnd - start < end) {
    ctx.malformed(layer, `${Math.max(0, span.reportedEnd - start)} bytes cannot hold the ${end}-byte packet these sizes make`);
    return start + end;
  }
  const readAhead = arpReadAhead(operation, hardwareLength, protocolLength);
  if (readAhead > 8) ctx.need(layer, span, 8, readAhead - 8, 'the addresses');
  for (const [name, label, offset, length, typed] of addresses) {
    if (length === 0) continue;
    // tshark never shows the target protocol address of a DRARP error (opcode 7).
    if (operation === 7 && name === 'arp.dst.proto_ipv4') continue;
    ctx.need(layer, span, offset, length, label.toLowerCase());
    const bytes = ctx.frame.subarray(start + offset, start + offset + length);
    if (typed) layer.field(name, label, name.endsWith('mac') ? formatMac(bytes) : formatIpv4Address(readIpv4Address(bytes, 0)), { at: [offset, length] });
    else layer.field(undefined, label, toHex(bytes, ':'), { at: [offset, length] });
  }
  layer.setRanges(start + end, start + end, start + end);
  const checked = ArpPacket.checked(ctx.frame.subarray(start, start + end));
  if (!checked.ok) layer.note(`ustack's ARP layer would ignore this packet: ${checked.error.message}`);
  return start + end;
}
