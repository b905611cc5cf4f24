/**
 * ICMPv4 (RFC 792) for the dissector, read through the codec's view (src/ip/icmpv4.ts): type,
 * code, checksum, the type-specific word, and for error messages the quoted original datagram,
 * which is dissected as an IPv4 header and transport header of its own (one level deeper). That
 * quoted datagram is where tshark's repeated fields come from: its ip.* fields follow the outer
 * header's, and its transport fields are the frame's only ones.
 */
import { formatIpv4Address } from '../ip/address.js';
import { Icmpv4Packet, Icmpv4Type } from '../ip/icmpv4.js';
import { checksumCoverage, describeChecksum, verifyChecksum, type ChecksumVerdict } from './checksum-verdict.js';
import { addDataLayer, availableEnd, subSpan, type DissectionBuilder, type NetworkContext, type Span } from './dissect-context.js';
import { hex } from './dissection.js';

/** Types whose bytes 4–7 are an identifier and a sequence number (echo, timestamp, information, mask). */
const IDENTIFIED_TYPES = new Set([0, 8, 13, 14, 15, 16, 17, 18]);
/** Extended echo (RFC 8335): an identifier, then an 8-bit sequence and flags. */
const EXTENDED_ECHO_TYPES = new Set([42, 43]);
/** Error messages, which quote the datagram that caused them (RFC 792, RFC 1812 §4.3.2.3). */
const ERROR_TYPES = new Set([3, 4, 5, 11, 12]);
/** ICMP errors inside ICMP errors are dissected this deep, no deeper. */
const MAX_QUOTE_DEPTH = 4;

const TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'Echo (ping) reply',
  3: 'Destination unreachable',
  4: 'Source quench',
  5: 'Redirect',
  8: 'Echo (ping) request',
  9: 'Router advertisement',
  10: 'Router solicitation',
  11: 'Time-to-live exceeded',
  12: 'Parameter problem',
  13: 'Timestamp request',
  14: 'Timestamp reply',
  15: 'Information request',
  16: 'Information reply',
  17: 'Address mask request',
  18: 'Address mask reply',
  42: 'Extended echo request',
  43: 'Extended echo reply',
};

const UNREACHABLE_CODES = [
  'Network unreachable',
  'Host unreachable',
  'Protocol unreachable',
  'Port unreachable',
  'Fragmentation needed',
  'Source route failed',
  'Destination network unknown',
  'Destination host unknown',
  'Source host isolated',
  'Network administratively prohibited',
  'Host administratively prohibited',
  'Network unreachable for TOS',
  'Host unreachable for TOS',
  'Communication administratively filtered',
  'Host precedence violation',
  'Precedence cutoff in effect',
];
const CODE_NAMES: Readonly<Record<number, readonly string[]>> = {
  3: UNREACHABLE_CODES,
  5: ['Redirect for network', 'Redirect for host', 'Redirect for TOS and network', 'Redirect for TOS and host'],
  11: ['Time to live exceeded in transit', 'Fragment reassembly time exceeded'],
  12: ['Pointer indicates the error', 'Required option missing', 'Bad length'],
};

/** The name of an ICMP type, or `type N`. */
export function icmpTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

/** Dissects the ICMP message starting at `span.start`. */
export function dissectIcmp(ctx: DissectionBuilder, span: Span, network: NetworkContext): void {
  const start = span.start;
  const layer = ctx.addLayer('icmp', 'Internet Control Message Protocol', start, network.depth);
  // tshark reads the header through byte 6 before it shows any of it.
  ctx.need(layer, span, 0, 6, 'the ICMP header');
  const view = Icmpv4Packet.unchecked(ctx.frame.subarray(start, availableEnd(span)));
  const { type, code, checksum } = view;
  const codeName = CODE_NAMES[type]?.[code];
  layer.title = `Internet Control Message Protocol, ${icmpTypeName(type)}${codeName === undefined ? '' : ` (${codeName})`}`;
  layer.field('icmp.type', 'Type', String(type), { display: `${type} (${icmpTypeName(type)})`, at: [0, 1] });
  layer.field('icmp.code', 'Code', String(code), { display: codeName === undefined ? String(code) : `${code} (${codeName})`, at: [1, 1] });
  const verdict = icmpChecksumVerdict(ctx, span, network);
  const described = describeChecksum(checksum, verdict);
  layer.field('icmp.checksum', 'Checksum', hex(checksum, 4), {
    ...described,
    at: [2, 2],
    checksum: checksumCoverage(verdict, start, start + network.payloadLength),
  });
  if (described.note !== undefined) layer.note(described.note);
  layer.setRanges(Math.min(start + 6, span.capturedEnd), start + 6, start + 6);

  if (IDENTIFIED_TYPES.has(type) || EXTENDED_ECHO_TYPES.has(type)) {
    const identifier = view.identifier;
    // tshark's icmp.ident is the big-endian reading; it prints the decimal form only.
    layer.field('icmp.ident', 'Identifier', String(identifier), { display: `${identifier} (${hex(identifier, 4)})`, at: [4, 2] });
  }
  if (IDENTIFIED_TYPES.has(type)) {
    ctx.need(layer, span, 6, 2, 'the sequence number');
    layer.field('icmp.seq', 'Sequence Number', String(view.sequence), { display: `${view.sequence} (${hex(view.sequence, 4)})`, at: [6, 2] });
  } else if (type === Icmpv4Type.DESTINATION_UNREACHABLE && code === 4) {
    ctx.need(layer, span, 6, 2, 'the next-hop MTU');
    layer.field('icmp.mtu', 'MTU of next hop', String(view.nextHopMtu), { at: [6, 2] });
  } else if (type === Icmpv4Type.REDIRECT) {
    ctx.need(layer, span, 4, 4, 'the gateway address');
    layer.field('icmp.redir_gw', 'Gateway Address', formatIpv4Address(view.restOfHeader), { at: [4, 4] });
  } else if (type === Icmpv4Type.PARAMETER_PROBLEM) {
    layer.field('icmp.pointer', 'Pointer', String(ctx.frame[start + 4]), { at: [4, 1] });
  }

  const bodyStart = start + 8;
  const bodyEnd = span.reportedEnd;
  const headerEnd = Math.min(bodyStart, span.capturedEnd, span.reportedEnd);
  if (bodyEnd <= bodyStart || bodyStart >= span.capturedEnd) {
    layer.setRanges(headerEnd, headerEnd, headerEnd);
    return;
  }
  if (ERROR_TYPES.has(type) && network.depth < MAX_QUOTE_DEPTH) {
    layer.setRanges(bodyStart, bodyStart, Math.min(bodyEnd, span.capturedEnd), 'the quoted IPv4 datagram');
    ctx.dissectors.ipv4(ctx, subSpan(span, bodyStart), network.depth + 1);
    return;
  }
  layer.setRanges(bodyStart, bodyStart, Math.min(bodyEnd, span.capturedEnd), 'data');
  addDataLayer(ctx, bodyStart, bodyEnd, network.depth);
}

function icmpChecksumVerdict(ctx: DissectionBuilder, span: Span, network: NetworkContext): ChecksumVerdict {
  if (network.fragmented) return { kind: 'unverified', why: 'the datagram is fragmented' };
  const end = span.start + network.payloadLength;
  if (end > span.capturedEnd || end > span.reportedEnd) return { kind: 'unverified', why: 'the message is not all here' };
  return verifyChecksum(ctx.frame.subarray(span.start, end), 2);
}
