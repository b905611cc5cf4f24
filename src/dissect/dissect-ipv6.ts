/**
 * IPv6 (RFC 8200 §3), enough to report such frames for what they are: the fixed header, the
 * common extension headers skipped by their lengths (hop-by-hop, routing, fragment, destination
 * options, AH), and UDP or TCP after them checked against the IPv6 pseudo-header (RFC 8200 §8.1).
 * ustack itself speaks only IPv4; this is here so that a capture holding IPv6 reads sensibly
 * (and as tshark reads it) rather than as an error.
 *
 *    +-------+---------------+---------------------------------------+
 *    |Version| Traffic Class |              Flow Label               |
 *    +-------+---------------+-------+---------------+---------------+
 *    |         Payload Length        |  Next Header  |   Hop Limit   |
 *    +-------------------------------+---------------+---------------+
 *    |                 Source Address (128 bits)                     |
 *    |               Destination Address (128 bits)                  |
 *    +---------------------------------------------------------------+
 */
import { addDataLayer, availableEnd, subSpan, type DissectionBuilder, type NetworkContext, type Span } from './dissect-context.js';
import { ipProtocolName } from './dissect-ip.js';
import { dissectTcp } from './dissect-tcp.js';
import { dissectUdp } from './dissect-udp.js';
import { hex } from './dissection.js';

const IPV6_HEADER_LENGTH = 40;
const NEXT_HEADER = {
  HOP_BY_HOP: 0,
  ICMP: 1,
  IPV4: 4,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  AH: 51,
  ICMPV6: 58,
  NO_NEXT_HEADER: 59,
  DESTINATION_OPTIONS: 60,
} as const;

const EXTENSION_NAMES: Readonly<Record<number, string>> = {
  [NEXT_HEADER.HOP_BY_HOP]: 'Hop-by-hop options',
  [NEXT_HEADER.ROUTING]: 'Routing',
  [NEXT_HEADER.AH]: 'Authentication header',
  [NEXT_HEADER.DESTINATION_OPTIONS]: 'Destination options',
};

/** RFC 5952 text of the 16-byte address at `offset`: lowercase, longest zero run as `::`. */
export function formatIpv6Address(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + 2 * i] << 8) | bytes[offset + 2 * i + 1]);
  // ::ffff:a.b.c.d, an IPv4-mapped address (RFC 5952 §5).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes[offset + 12]}.${bytes[offset + 13]}.${bytes[offset + 14]}.${bytes[offset + 15]}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not shortened (RFC 5952 §4.2.2)
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const text = (list: number[]): string => list.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return text(groups);
  return `${text(groups.slice(0, bestStart))}::${text(groups.slice(bestStart + bestLength))}`;
}

/** How dissectIpv6 was reached. */
export interface Ipv6Handoff {
  /** The IPv4 dissector already showed the version field (tshark then does not repeat it). */
  readonly versionShown?: boolean;
}

/** Dissects the IPv6 packet at `span.start`; returns the frame offset where it ends (undefined if unknown). */
export function dissectIpv6(ctx: DissectionBuilder, span: Span, depth: number, handoff: Ipv6Handoff = {}): number | undefined {
  const frame = ctx.frame;
  const start = span.start;
  const layer = ctx.addLayer('ipv6', 'Internet Protocol Version 6', start, depth);
  ctx.need(layer, span, 0, 1, 'the version');
  const version = frame[start] >> 4;
  // tshark shows the shared ip.version field, unless the IPv4 dissector (on the IPv4 link
  // type) already did.
  if (!handoff.versionShown) layer.field('ip.version', 'Version', String(version), { at: [0, 1] });
  if (version !== 6) {
    ctx.malformed(layer, `version ${version} is not 6`);
    return undefined;
  }
  const word0 = ((frame[start] << 24) | (frame[start + 1] << 16) | (frame[start + 2] << 8) | frame[start + 3]) >>> 0;
  const payloadLength = (frame[start + 4] << 8) | frame[start + 5];
  let nextHeader = frame[start + 6];
  ctx.need(layer, span, 1, 3, 'the traffic class and flow label');
  layer.field(undefined, 'Traffic Class', hex((word0 >>> 20) & 0xff, 2), { at: [0, 2] });
  layer.field(undefined, 'Flow Label', hex(word0 & 0xfffff, 5), { at: [1, 3] });
  // tshark reads the payload length and next header together.
  ctx.need(layer, span, 4, 3, 'the payload length and next header');
  layer.field('ipv6.plen', 'Payload Length', String(payloadLength), { at: [4, 2] });
  layer.field('ipv6.nxt', 'Next Header', String(nextHeader), { display: `${nextHeader} (${ipProtocolName(nextHeader)})`, at: [6, 1] });
  ctx.need(layer, span, 7, 1, 'the hop limit');
  layer.field('ipv6.hlim', 'Hop Limit', String(frame[start + 7]), { at: [7, 1] });
  ctx.need(layer, span, 8, 16, 'the source address');
  const source = formatIpv6Address(frame, start + 8);
  layer.field('ipv6.src', 'Source Address', source, { at: [8, 16] });
  ctx.need(layer, span, 24, 16, 'the destination address');
  const destination = formatIpv6Address(frame, start + 24);
  layer.field('ipv6.dst', 'Destination Address', destination, { at: [24, 16] });
  layer.title = `Internet Protocol Version 6, Src: ${source}, Dst: ${destination}`;

  const packetSpan = subSpan(span, start, IPV6_HEADER_LENGTH + payloadLength);
  const packetEnd = start + IPV6_HEADER_LENGTH + payloadLength;
  let offset = start + IPV6_HEADER_LENGTH;
  let fragmented = false;
  let laterFragment = false;
  const extensions: string[] = [];
  for (;;) {
    if (
      nextHeader === NEXT_HEADER.HOP_BY_HOP ||
      nextHeader === NEXT_HEADER.ROUTING ||
      nextHeader === NEXT_HEADER.DESTINATION_OPTIONS ||
      nextHeader === NEXT_HEADER.AH
    ) {
      ctx.need(layer, packetSpan, offset - start, 2, `the ${ipProtocolName(nextHeader)} extension header`);
      const length = nextHeader === NEXT_HEADER.AH ? (frame[offset + 1] + 2) * 4 : (frame[offset + 1] + 1) * 8;
      ctx.need(layer, packetSpan, offset - start, length, 'an extension header');
      extensions.push(`${EXTENSION_NAMES[nextHeader] ?? `header ${nextHeader}`} (${length} bytes)`);
      nextHeader = frame[offset];
      offset += length;
    } else if (nextHeader === NEXT_HEADER.FRAGMENT) {
      ctx.need(layer, packetSpan, offset - start, 8, 'the fragment header');
      const word = (frame[offset + 2] << 8) | frame[offset + 3];
      fragmented = true;
      laterFragment = (word & 0xfff8) !== 0;
      extensions.push(`Fragment (offset ${word & 0xfff8}, ${word & 1 ? 'more' : 'last'})`);
      nextHeader = frame[offset];
      offset += 8;
    } else {
      break;
    }
  }
  if (extensions.length > 0)
    layer.field(undefined, 'Extension headers', extensions.join(', '), { at: [IPV6_HEADER_LENGTH, offset - start - IPV6_HEADER_LENGTH] });
  layer.setRanges(offset, offset, Math.min(packetSpan.capturedEnd, packetSpan.reportedEnd), ipProtocolName(nextHeader));
  if (laterFragment) {
    addDataLayer(ctx, offset, packetSpan.reportedEnd, depth, 'Fragment data (not reassembled)');
    return packetEnd;
  }
  const sourceSum = wordSum(frame, start + 8, 16);
  const destinationSum = wordSum(frame, start + 24, 16);
  const network: NetworkContext = {
    depth,
    fragmented,
    payloadLength: packetEnd - offset,
    // RFC 8200 §8.1: addresses, 32-bit upper-layer length, three zero bytes, next header.
    pseudoHeaderSum: (protocol, length) => sourceSum + destinationSum + (length >>> 16) + (length & 0xffff) + protocol,
    pseudoHeader: (protocol, length) => ({ source, destination, protocol, length }),
  };
  const payloadSpan = subSpan(packetSpan, offset);
  switch (nextHeader) {
    case NEXT_HEADER.TCP:
      dissectTcp(ctx, payloadSpan, network);
      break;
    case NEXT_HEADER.UDP:
      dissectUdp(ctx, payloadSpan, network);
      break;
    case NEXT_HEADER.IPV4:
      ctx.dissectors.ipv4(ctx, payloadSpan, depth);
      break;
    case NEXT_HEADER.IPV6:
      ctx.dissectors.ipv6(ctx, payloadSpan, depth);
      break;
    case NEXT_HEADER.ICMP:
      ctx.dissectors.icmp(ctx, payloadSpan, network);
      break;
    case NEXT_HEADER.ICMPV6:
      ctx.dissectors.icmpv6(ctx, payloadSpan, depth);
      break;
    case NEXT_HEADER.NO_NEXT_HEADER:
      break;
    default:
      addDataLayer(ctx, offset, packetSpan.reportedEnd, depth);
  }
  return packetEnd;
}

/** ICMPv6 (RFC 4443): only named, not taken apart. */
export function dissectIcmpv6(ctx: DissectionBuilder, span: Span, depth: number): void {
  const layer = ctx.addLayer('icmpv6', 'Internet Control Message Protocol v6', span.start, depth);
  ctx.need(layer, span, 0, 4, 'the ICMPv6 header');
  const frame = ctx.frame;
  const type = frame[span.start];
  layer.title += `, type ${type}`;
  layer.field('icmpv6.type', 'Type', String(type));
  layer.field('icmpv6.code', 'Code', String(frame[span.start + 1]));
  layer.field('icmpv6.checksum', 'Checksum', hex((frame[span.start + 2] << 8) | frame[span.start + 3], 4), {
    display: `${hex((frame[span.start + 2] << 8) | frame[span.start + 3], 4)} (unverified)`,
  });
  const end = availableEnd(span);
  layer.setRanges(span.start + 4, span.start + 4, end, 'data');
  addDataLayer(ctx, span.start + 4, span.reportedEnd, depth);
}

function wordSum(bytes: Uint8Array, offset: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i += 2) sum += (bytes[offset + i] << 8) | bytes[offset + i + 1];
  return sum;
}
