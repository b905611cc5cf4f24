/**
 * IPv6 (RFC 8200) for the dissector: the fixed header (§3, flow label RFC 6437), the extension
 * headers (§4: Hop-by-Hop and Destination Options with their options, Routing, Fragment; AH
 * skipped by its length), and the upper layer after them — ICMPv6 (./dissect-icmpv6.ts), UDP or
 * TCP checked against the IPv6 pseudo-header (§8.1) — each field under tshark 4.0's name and in
 * its text (`ipv6.tclass` as 8 hex digits, the Fragment header's fields as `ipv6.fraghdr.*`).
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
import { ipv6PseudoHeaderSum } from '../ip/checksum.js';
import { formatIpv6Address, readIpv6Address } from '../ip/ipv6-address.js';
import { Ipv6NextHeader } from '../ip/ipv6.js';
import { addDataLayer, availableEnd, subSpan, type DissectionBuilder, type LayerDraft, type NetworkContext, type Span } from './dissect-context.js';
import { ipProtocolName } from './dissect-ip.js';
import { dissectTcp } from './dissect-tcp.js';
import { dissectUdp } from './dissect-udp.js';
import { hex } from './dissection.js';

const IPV6_HEADER_LENGTH = 40;

/** How dissectIpv6 was reached. */
export interface Ipv6Handoff {
  /** The IPv4 dissector already showed the version field (tshark then does not repeat it). */
  readonly versionShown?: boolean;
}

/**
 * The 16 bytes at `offset` of the frame as tshark writes them: RFC 5952 text, except that it
 * writes the deprecated IPv4-compatible form (RFC 4291 §2.5.5.1: 96 zero bits, then a
 * non-zero seventh group) as `::a.b.c.d` (`::3200` stays as it is).
 */
export function ipv6Text(frame: Uint8Array, offset: number): string {
  const address = readIpv6Address(frame, offset);
  const zeroPrefix = address.subarray(0, 12).every((byte) => byte === 0);
  if (zeroPrefix && (address[12] | address[13]) !== 0) return `::${address[12]}.${address[13]}.${address[14]}.${address[15]}`;
  return formatIpv6Address(address);
}

/** Dissects the IPv6 packet at `span.start`; returns the frame offset where it ends (undefined if unknown). */
export function dissectIpv6(ctx: DissectionBuilder, span: Span, depth: number, handoff: Ipv6Handoff = {}): number | undefined {
  const frame = ctx.frame;
  const start = span.start;
  const layer = ctx.addLayer('ipv6', 'Internet Protocol Version 6', start, depth);
  ctx.need(layer, span, 0, 1, 'the version');
  const version = frame[start] >> 4;
  // tshark shows the shared ip.version field, unless the IPv4 dissector (on the IPv4 link
  // type) already did, and then its own.
  if (!handoff.versionShown) layer.field('ip.version', 'Version', String(version), { at: [0, 1] });
  layer.field('ipv6.version', 'Version', String(version), { at: [0, 1] });
  if (version !== 6) {
    // tshark names the bogus version and shows the rest as data.
    layer.note(`version ${version} is not 6`);
    layer.setRanges(start + 1, start, availableEnd(span), 'data');
    addDataLayer(ctx, start, span.reportedEnd, depth);
    return undefined;
  }
  ctx.need(layer, span, 1, 3, 'the traffic class and flow label');
  const trafficClass = ((frame[start] & 0x0f) << 4) | (frame[start + 1] >> 4);
  const flowLabel = ((frame[start + 1] & 0x0f) << 16) | (frame[start + 2] << 8) | frame[start + 3];
  // tshark's ipv6.tclass is a 32-bit field under a mask: eight hex digits.
  layer.field('ipv6.tclass', 'Traffic Class', hex(trafficClass, 8), {
    display: `${hex(trafficClass, 2)} (DSCP ${trafficClass >> 2}, ECN ${trafficClass & 3})`,
    at: [0, 2],
  });
  layer.field('ipv6.tclass.dscp', 'Differentiated Services Codepoint', String(trafficClass >> 2), { at: [0, 2] });
  layer.field('ipv6.tclass.ecn', 'Explicit Congestion Notification', String(trafficClass & 3), { at: [1, 1] });
  layer.field('ipv6.flow', 'Flow Label', hex(flowLabel, 6), { at: [1, 3] });
  // tshark reads the payload length and next header together.
  ctx.need(layer, span, 4, 3, 'the payload length and next header');
  const payloadLength = (frame[start + 4] << 8) | frame[start + 5];
  const firstNextHeader = frame[start + 6];
  layer.field('ipv6.plen', 'Payload Length', String(payloadLength), { at: [4, 2] });
  layer.field('ipv6.nxt', 'Next Header', String(firstNextHeader), { display: `${firstNextHeader} (${ipProtocolName(firstNextHeader)})`, at: [6, 1] });
  ctx.need(layer, span, 7, 1, 'the hop limit');
  layer.field('ipv6.hlim', 'Hop Limit', String(frame[start + 7]), { at: [7, 1] });
  ctx.need(layer, span, 8, 16, 'the source address');
  const source = ipv6Text(frame, start + 8);
  layer.field('ipv6.src', 'Source Address', source, { at: [8, 16] });
  ctx.need(layer, span, 24, 16, 'the destination address');
  const destination = ipv6Text(frame, start + 24);
  layer.field('ipv6.dst', 'Destination Address', destination, { at: [24, 16] });
  layer.title = `Internet Protocol Version 6, Src: ${source}, Dst: ${destination}`;

  const packetSpan = subSpan(span, start, IPV6_HEADER_LENGTH + payloadLength);
  const packetEnd = start + IPV6_HEADER_LENGTH + payloadLength;
  const chain = dissectExtensionHeaders(ctx, layer, packetSpan, firstNextHeader);
  const { nextHeader, offset } = chain;
  layer.setRanges(offset, offset, Math.min(packetSpan.capturedEnd, packetSpan.reportedEnd), ipProtocolName(nextHeader));
  if (chain.laterFragment) {
    addDataLayer(ctx, offset, packetSpan.reportedEnd, depth, 'Fragment data (not reassembled)');
    return packetEnd;
  }
  const sourceBytes = frame.slice(start + 8, start + 24);
  const destinationBytes = frame.slice(start + 24, start + 40);
  const network: NetworkContext = {
    depth,
    fragmented: chain.fragmented,
    payloadLength: packetEnd - offset,
    pseudoHeaderSum: (protocol, length) => ipv6PseudoHeaderSum(sourceBytes, destinationBytes, protocol, length),
    pseudoHeader: (protocol, length) => ({ source, destination, protocol, length }),
  };
  const payloadSpan = subSpan(packetSpan, offset);
  switch (nextHeader) {
    case Ipv6NextHeader.TCP:
      dissectTcp(ctx, payloadSpan, network);
      break;
    case Ipv6NextHeader.UDP:
      dissectUdp(ctx, payloadSpan, network);
      break;
    case Ipv6NextHeader.IPV4:
      ctx.dissectors.ipv4(ctx, payloadSpan, depth);
      break;
    case Ipv6NextHeader.IPV6:
      ctx.dissectors.ipv6(ctx, payloadSpan, depth);
      break;
    case Ipv6NextHeader.ICMP:
      ctx.dissectors.icmp(ctx, payloadSpan, network);
      break;
    case Ipv6NextHeader.ICMPV6:
      ctx.dissectors.icmpv6(ctx, payloadSpan, network);
      break;
    case Ipv6NextHeader.NO_NEXT_HEADER:
      break;
    default:
      addDataLayer(ctx, offset, packetSpan.reportedEnd, depth);
  }
  return packetEnd;
}

interface ChainEnd {
  /** The Next Header after the last extension header. */
  readonly nextHeader: number;
  /** Frame offset where the upper layer starts. */
  readonly offset: number;
  /** A Fragment header was there. */
  readonly fragmented: boolean;
  /** It was not the first fragment: no upper-layer header follows. */
  readonly laterFragment: boolean;
}

/**
 * The extension headers (RFC 8200 §4), each field as tshark names it. Their lengths are read as
 * they come (the codec's receiving rules, src/ip/ipv6-extension-headers.ts, are for the stack:
 * a dissector shows what is there, as tshark does).
 */
function dissectExtensionHeaders(ctx: DissectionBuilder, layer: LayerDraft, span: Span, firstNextHeader: number): ChainEnd {
  const frame = ctx.frame;
  const start = span.start;
  let nextHeader = firstNextHeader;
  let offset = IPV6_HEADER_LENGTH;
  let fragmented = false;
  let laterFragment = false;
  for (;;) {
    const at = start + offset;
    if (nextHeader === Ipv6NextHeader.HOP_BY_HOP || nextHeader === Ipv6NextHeader.DESTINATION_OPTIONS) {
      const prefix = nextHeader === Ipv6NextHeader.HOP_BY_HOP ? 'ipv6.hopopts' : 'ipv6.dstopts';
      const title = nextHeader === Ipv6NextHeader.HOP_BY_HOP ? 'Hop-by-Hop Options' : 'Destination Options';
      ctx.need(layer, span, offset, 2, `the ${title} header`);
      const length = (frame[at + 1] + 1) * 8;
      layer.field(`${prefix}.nxt`, `${title}: Next Header`, String(frame[at]), { display: `${frame[at]} (${ipProtocolName(frame[at])})`, at: [offset, 1] });
      layer.field(`${prefix}.len`, `${title}: Length`, String(frame[at + 1]), { at: [offset + 1, 1] });
      layer.field(`${prefix}.len_oct`, `${title}: Length in bytes`, String(length), { at: [offset + 1, 1] });
      // tshark shows each option as far as its bytes go, so the header is not checked whole first.
      dissectOptions(ctx, layer, span, offset + 2, offset + length);
      nextHeader = frame[at];
      offset += length;
    } else if (nextHeader === Ipv6NextHeader.ROUTING) {
      ctx.need(layer, span, offset, 4, 'the Routing header');
      const length = (frame[at + 1] + 1) * 8;
      const routingType = frame[at + 2];
      layer.field('ipv6.routing.nxt', 'Routing: Next Header', String(frame[at]), { display: `${frame[at]} (${ipProtocolName(frame[at])})`, at: [offset, 1] });
      layer.field('ipv6.routing.len', 'Routing: Length', String(frame[at + 1]), { at: [offset + 1, 1] });
      layer.field('ipv6.routing.len_oct', 'Routing: Length in bytes', String(length), { at: [offset + 1, 1] });
      layer.field('ipv6.routing.type', 'Routing: Type', String(routingType), {
        display: routingType === 0 ? '0 (Source Route, deprecated by RFC 5095)' : String(routingType),
        at: [offset + 2, 1],
      });
      layer.field('ipv6.routing.segleft', 'Routing: Segments Left', String(frame[at + 3]), { at: [offset + 3, 1] });
      if (routingType === 0) {
        // RFC 5095 deprecated it, but its layout stays: 4 reserved bytes, then the addresses,
        // each shown (as tshark does) as soon as its bytes are there.
        ctx.need(layer, span, offset + 4, 4, 'the reserved field');
        layer.field('ipv6.routing.src.reserved', 'Routing: Reserved', hexBytes(frame, at + 4, 4), { at: [offset + 4, 4] });
        for (let address = at + 8; address + 16 <= at + length; address += 16) {
          ctx.need(layer, span, address - start, 16, 'an address');
          layer.field('ipv6.routing.src.addr', 'Routing: Address', ipv6Text(frame, address), { at: [address - start, 16] });
        }
      }
      ctx.need(layer, span, offset, length, 'the Routing header');
      nextHeader = frame[at];
      offset += length;
    } else if (nextHeader === Ipv6NextHeader.FRAGMENT) {
      ctx.need(layer, span, offset, 8, 'the Fragment header');
      const word = (frame[at + 2] << 8) | frame[at + 3];
      const identification = ((frame[at + 4] << 24) | (frame[at + 5] << 16) | (frame[at + 6] << 8) | frame[at + 7]) >>> 0;
      layer.field('ipv6.fraghdr.nxt', 'Fragment: Next Header', String(frame[at]), { display: `${frame[at]} (${ipProtocolName(frame[at])})`, at: [offset, 1] });
      layer.field('ipv6.fraghdr.reserved_octet', 'Fragment: Reserved', hex(frame[at + 1], 2), { at: [offset + 1, 1] });
      layer.field('ipv6.fraghdr.offset', 'Fragment: Offset', String(word >> 3), { display: `${word >> 3} (${word & 0xfff8} bytes)`, at: [offset + 2, 2] });
      layer.field('ipv6.fraghdr.reserved_bits', 'Fragment: Reserved bits', String((word >> 1) & 3), { at: [offset + 3, 1] });
      layer.field('ipv6.fraghdr.more', 'Fragment: More Fragments', String(word & 1), { at: [offset + 3, 1] });
      layer.field('ipv6.fraghdr.ident', 'Fragment: Identification', hex(identification, 8), { at: [offset + 4, 4] });
      // An atomic fragment (offset 0, M clear, RFC 8021) is a whole packet.
      fragmented = fragmented || word !== 0;
      laterFragment = (word & 0xfff8) !== 0;
      nextHeader = frame[at];
      offset += 8;
      if (laterFragment) break;
    } else if (nextHeader === Ipv6NextHeader.AH) {
      ctx.need(layer, span, offset, 2, 'the Authentication header');
      const length = (frame[at + 1] + 2) * 4;
      ctx.need(layer, span, offset, length, 'the Authentication header');
      layer.field(undefined, 'Authentication Header', `${length} bytes`, { at: [offset, length] });
      nextHeader = frame[at];
      offset += length;
    } else {
      break;
    }
  }
  return { nextHeader, offset: start + offset, fragmented, laterFragment };
}

/** The options of a Hop-by-Hop or Destination Options header between frame offsets start + `from` and start + `to` (RFC 8200 §4.2). */
function dissectOptions(ctx: DissectionBuilder, layer: LayerDraft, span: Span, from: number, to: number): void {
  const frame = ctx.frame;
  const start = span.start;
  let offset = from;
  while (offset < to) {
    const at = start + offset;
    ctx.need(layer, span, offset, 1, 'an option type');
    const type = frame[at];
    if (type === 0) {
      // Pad1 (RFC 8200 §4.2): one byte, which tshark shows without the type's bit fields.
      layer.field('ipv6.opt.type', 'Option: Type', hex(type, 2), { display: '0x00 (Pad1)', at: [offset, 1] });
      offset += 1;
      continue;
    }
    // tshark reads an option's type and length together.
    ctx.need(layer, span, offset, 2, 'an option type and length');
    layer.field('ipv6.opt.type', 'Option: Type', hex(type, 2), { display: `${hex(type, 2)} (${OPTION_NAMES[type] ?? 'unknown'})`, at: [offset, 1] });
    layer.field('ipv6.opt.type.action', 'Option: Action when unknown', String(type >> 6), {
      display: `${type >> 6} (${['skip', 'discard', 'discard and report', 'discard and report unless multicast'][type >> 6]}, RFC 8200 §4.2)`,
      at: [offset, 1],
    });
    layer.field('ipv6.opt.type.change', 'Option: May change en route', String((type >> 5) & 1), { at: [offset, 1] });
    layer.field('ipv6.opt.type.rest', 'Option: Low-order bits', hex(type & 0x1f, 2), { at: [offset, 1] });
    ctx.need(layer, span, offset + 1, 1, 'an option length');
    const length = frame[at + 1];
    layer.field('ipv6.opt.length', 'Option: Length', String(length), { at: [offset + 1, 1] });
    if (type === 5) {
      // tshark reads a Router Alert's two bytes whatever its length says; one that overruns
      // the header ends the options, and the next header is where the header's length says.
      if (offset + 4 > to) ctx.stop(`a Router Alert at the end of its header`);
      ctx.need(layer, span, offset + 2, 2, 'the router alert value');
      const value = (frame[at + 2] << 8) | frame[at + 3];
      layer.field('ipv6.opt.router_alert', 'Option: Router Alert', String(value), {
        display: `${value}${value === 0 ? ' (MLD, RFC 2711)' : ''}`,
        at: [offset + 2, 2],
      });
      if (offset + 2 + length > to) {
        // …as long as the length stays inside the packet.
        ctx.need(layer, span, offset + 2, length, 'the router alert option');
        layer.note(`the Router Alert's length ${length} runs past its header`);
        return;
      }
      offset += 2 + length;
      continue;
    }
    if (offset + 2 + length > to) ctx.stop(`option ${hex(type, 2)} of ${length} bytes runs past its header`);
    ctx.need(layer, span, offset + 2, length, 'the option data');
    const fixed = FIXED_OPTION_DATA[type];
    if (fixed !== undefined && length < fixed) {
      // tshark reads such an option's value whatever its length says, and goes on after it.
      ctx.need(layer, span, offset + 2, fixed, 'the option value');
      if (offset + 2 + fixed > to) ctx.stop(`option ${hex(type, 2)} needs ${fixed} bytes of data, its header ends first`);
      offset += 2 + fixed;
      continue;
    }
    if (type === 1) {
      layer.field('ipv6.opt.padn', 'Option: PadN', length === 0 ? '<none>' : hexBytes(frame, at + 2, length), { at: [offset + 2, length] });
    } else if (!TSHARK_KNOWN_OPTIONS.has(type)) {
      layer.field('ipv6.opt.unknown', 'Option: Data', length === 0 ? '<MISSING>' : hexBytes(frame, at + 2, length), { at: [offset + 2, length] });
    }
    offset += 2 + length;
  }
}

const OPTION_NAMES: Readonly<Record<number, string>> = { 0: 'Pad1', 1: 'PadN', 5: 'Router Alert' };

/** Options tshark reads a fixed-size value from: tunnel encapsulation limit (RFC 2473), jumbo payload (RFC 2675), home address (RFC 6275). */
const FIXED_OPTION_DATA: Readonly<Record<number, number>> = { 0x04: 1, 0xc2: 4, 0xc9: 16 };

/**
 * Option types tshark 4.0 decodes with fields of their own (IANA's registry: tunnel encapsulation
 * limit, CALIPSO, SMF, PDM, IOAM, RPL, Quick-Start, MPL, jumbo payload, home address, ILNP, the
 * RFC 3692 experiments…); any other type's data is its `ipv6.opt.unknown`.
 */
const TSHARK_KNOWN_OPTIONS = new Set([
  0x00, 0x01, 0x04, 0x05, 0x07, 0x08, 0x0f, 0x23, 0x26, 0x30, 0x31, 0x4d, 0x63, 0x6d, 0x8a, 0x8b, 0x8c, 0xc2, 0xc9, 0xee, 0x1e, 0x3e, 0x5e, 0x7e, 0x9e, 0xbe,
  0xde, 0xfe,
]);

/** `length` bytes from `offset` as tshark prints an FT_BYTES field: lowercase hex, no separators. */
export function hexBytes(frame: Uint8Array, offset: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += frame[offset + i].toString(16).padStart(2, '0');
  return text;
}
