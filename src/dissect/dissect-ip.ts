/**
 * IPv4 (RFC 791 §3.1) for the dissector, read through the codec's view (src/ip/ipv4.ts) and
 * options codec (src/ip/ipv4-options.ts): the header fields as tshark prints them, the header
 * checksum verified, the options listed, and the payload handed to ICMP, UDP, TCP or `data`.
 *
 * Each frame is dissected on its own, as tshark does with IP reassembly off: a first fragment's
 * payload is dissected as far as it goes (its transport header is there), a later fragment's is
 * only data. A Total Length of 0 is taken as a TSO/GSO super-frame whose length the kernel never
 * filled in: the packet is then as long as the bytes on the wire (tshark's ip.tso_support).
 */
import { formatIpv4Address, readIpv4Address } from '../ip/address.js';
import { pseudoHeaderSum } from '../ip/checksum.js';
import { parseIpv4Options, type Ipv4Option } from '../ip/ipv4-options.js';
import { IpProtocol, Ipv4Packet, IPV4_MIN_HEADER_LENGTH } from '../ip/ipv4.js';
import { checksumCoverage, describeChecksum, verifyChecksum } from './checksum-verdict.js';
import { addDataLayer, availableEnd, subSpan, type DissectionBuilder, type LayerDraft, type NetworkContext, type Span } from './dissect-context.js';
import { dissectTcp } from './dissect-tcp.js';
import { dissectUdp } from './dissect-udp.js';
import { hex } from './dissection.js';

/** Protocol numbers beyond IpProtocol that the dissector follows or names. */
const PROTOCOL_IPIP = 4;
const PROTOCOL_IPV6 = 41;
const PROTOCOL_ICMPV6 = 58;
/** A whole Ethernet frame (RFC 8986 §10.1). */
const PROTOCOL_ETHERNET = 143;

const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: 'ICMP',
  2: 'IGMP',
  4: 'IPIP',
  6: 'TCP',
  17: 'UDP',
  41: 'IPv6',
  47: 'GRE',
  50: 'ESP',
  51: 'AH',
  58: 'ICMPv6',
  89: 'OSPF',
  132: 'SCTP',
  143: 'Ethernet',
};

/** The name of an IP protocol number, or `protocol N`. */
export function ipProtocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? `protocol ${protocol}`;
}

/**
 * Options whose own dissection in tshark reads a fixed part (pointer, flags, value) without
 * first checking the option is long enough: shorter than this, tshark gives up on the frame.
 */
const OPTION_MIN_LENGTH: Readonly<Record<number, number>> = {
  0x07: 3, // record route: type, length, pointer
  0x83: 3, // loose source route
  0x89: 3, // strict source route
  0x44: 4, // timestamp: type, length, pointer, overflow/flag
  0x88: 4, // stream identifier
  0x94: 4, // router alert
  0x86: 6, // CIPSO: type, length, domain of interpretation
};

/**
 * Dissects the IPv4 packet starting at `span.start`. `depth` is 0 for the frame's own header
 * and one more for each ICMP error it is quoted in; `via` says what handed the packet over (the
 * capture's link type, an EtherType, or another IP header or ICMP message). Returns the frame
 * offset where the packet ends by its Total Length (the link layer's padding starts there), or
 * undefined when the header is too broken to say.
 */
export function dissectIpv4(ctx: DissectionBuilder, span: Span, depth: number, via: 'link' | 'ethertype' | 'payload' = 'payload'): number | undefined {
  const start = span.start;
  const layer = ctx.addLayer('ip', depth > 0 ? 'Internet Protocol Version 4 (quoted)' : 'Internet Protocol Version 4', start, depth);
  ctx.need(layer, span, 0, 1, 'the version');
  const view = Ipv4Packet.unchecked(ctx.frame.subarray(start, availableEnd(span)));
  const version = view.version;
  layer.field('ip.version', 'Version', String(version), { at: [0, 1] });
  if (version !== 4) {
    if (version === 6) {
      // An IPv6 packet where IPv4 was expected: tshark hands it to its IPv6 dissector, which
      // shows the version again, except on the IPv4 link type and inside ICMP errors.
      layer.title = 'IP version 6 where IPv4 was expected';
      layer.note('version 6: dissected as IPv6');
      return ctx.dissectors.ipv6(ctx, span, depth, { versionShown: via === 'link' || depth > 0 });
    }
    ctx.malformed(layer, `version ${version} is not 4`);
    return undefined;
  }
  const headerLength = view.headerLength;
  layer.field('ip.hdr_len', 'Header Length', String(headerLength), { display: `${headerLength} bytes (${headerLength / 4})`, at: [0, 1] });
  if (headerLength < IPV4_MIN_HEADER_LENGTH) {
    ctx.malformed(layer, `header length ${headerLength} is below 20 (IHL ${headerLength / 4})`);
    return undefined;
  }

  ctx.need(layer, span, 1, 1, 'the DS field');
  const dsField = view.dsField;
  layer.field('ip.dsfield', 'Differentiated Services Field', hex(dsField, 2), {
    display: `${hex(dsField, 2)} (DSCP ${view.dscp}, ECN ${view.ecn})`,
    at: [1, 1],
  });

  ctx.need(layer, span, 2, 2, 'the total length');
  let totalLength = view.totalLength;
  const segmentationOffload = totalLength === 0;
  if (segmentationOffload) {
    totalLength = Math.max(0, span.reportedEnd - start);
    layer.note(`total length 0: taken as a TSO/GSO packet as long as the ${totalLength} bytes present`);
  }
  layer.field('ip.len', 'Total Length', String(totalLength), { at: [2, 2] });
  // (tshark does not check a presumed TSO length against the header length.)
  if (totalLength < headerLength && !segmentationOffload) {
    ctx.malformed(layer, `total length ${totalLength} is less than the header length ${headerLength}`);
    return undefined;
  }
  if (depth === 0 && start + totalLength > span.reportedEnd) {
    layer.note(`total length ${totalLength} exceeds the ${span.reportedEnd - start} bytes of the packet`);
  }
  const packetSpan = subSpan(span, start, totalLength);

  ctx.need(layer, packetSpan, 4, 2, 'the identification');
  const identification = view.identification;
  layer.field('ip.id', 'Identification', hex(identification, 4), { display: `${hex(identification, 4)} (${identification})`, at: [4, 2] });
  ctx.need(layer, packetSpan, 6, 2, 'the flags and fragment offset');
  const fragmentUnits = view.fragmentOffset / 8;
  const flagBits = ctx.frame[start + 6] >> 5;
  const flagNames = [view.reservedFlag ? 'RB' : '', view.dontFragment ? 'DF' : '', view.moreFragments ? 'MF' : ''].filter((f) => f !== '');
  layer.field('ip.flags', 'Flags', hex(flagBits, 2), { display: `${hex(flagBits, 2)} (${flagNames.join(', ') || 'none'})`, at: [6, 1] });
  layer.field('ip.flags.rb', 'Reserved bit', view.reservedFlag ? '1' : '0', { problem: view.reservedFlag ? 'must be zero' : undefined, at: [6, 1] });
  layer.field('ip.flags.df', "Don't fragment", view.dontFragment ? '1' : '0', { at: [6, 1] });
  layer.field('ip.flags.mf', 'More fragments', view.moreFragments ? '1' : '0', { at: [6, 1] });
  layer.field('ip.frag_offset', 'Fragment Offset', String(fragmentUnits), { display: `${fragmentUnits} (byte ${view.fragmentOffset})`, at: [6, 2] });
  ctx.need(layer, packetSpan, 8, 1, 'the TTL');
  layer.field('ip.ttl', 'Time to Live', String(view.ttl), { at: [8, 1] });
  ctx.need(layer, packetSpan, 9, 1, 'the protocol');
  const protocol = view.protocol;
  layer.field('ip.proto', 'Protocol', String(protocol), { display: `${protocol} (${ipProtocolName(protocol)})`, at: [9, 1] });
  ctx.need(layer, packetSpan, 10, 2, 'the header checksum');
  const checksum = view.checksum;
  const headerAvailable = start + headerLength <= availableEnd(packetSpan);
  const verdict = headerAvailable ? verifyChecksum(view.header, 10) : ({ kind: 'unverified', why: 'the header is not all here' } as const);
  const described = describeChecksum(checksum, verdict);
  layer.field('ip.checksum', 'Header Checksum', hex(checksum, 4), {
    ...described,
    at: [10, 2],
    checksum: checksumCoverage(verdict, start, start + headerLength),
  });
  if (described.note !== undefined) layer.note(`header ${described.note}`);
  ctx.need(layer, packetSpan, 12, 4, 'the source address');
  const source = view.source;
  layer.field('ip.src', 'Source Address', formatIpv4Address(source), { at: [12, 4] });
  ctx.need(layer, packetSpan, 16, 4, 'the destination address');
  const destination = view.destination;
  const finalHop = scanForSourceRoute(ctx, layer, packetSpan, headerLength);
  if (finalHop === undefined) {
    layer.field('ip.dst', 'Destination Address', formatIpv4Address(destination), { at: [16, 4] });
  } else {
    // Like tshark, ip.dst is where the packet is finally going: the source route's last hop.
    layer.field('ip.dst', 'Destination Address', formatIpv4Address(finalHop), {
      display: `${formatIpv4Address(finalHop)} (the source route's last hop; the header holds ${formatIpv4Address(destination)})`,
      at: [16, 4],
    });
  }
  layer.title += `, Src: ${formatIpv4Address(source)}, Dst: ${formatIpv4Address(destination)}`;
  layer.setRanges(start + IPV4_MIN_HEADER_LENGTH, start + IPV4_MIN_HEADER_LENGTH, start + IPV4_MIN_HEADER_LENGTH);

  if (headerLength > IPV4_MIN_HEADER_LENGTH) {
    ctx.need(layer, packetSpan, IPV4_MIN_HEADER_LENGTH, headerLength - IPV4_MIN_HEADER_LENGTH, 'the options');
    walkIpv4Options(ctx, layer, view.optionBytes);
  }

  const payloadStart = start + headerLength;
  const packetEnd = start + totalLength;
  const fragmented = view.moreFragments || view.fragmentOffset > 0;
  const payloadSpan = subSpan(packetSpan, payloadStart);
  const payloadEnd = Math.min(packetSpan.capturedEnd, packetSpan.reportedEnd);
  if (view.fragmentOffset > 0) {
    layer.setRanges(payloadStart, payloadStart, payloadEnd, 'data (a later fragment)');
    addDataLayer(
      ctx,
      payloadStart,
      packetSpan.reportedEnd,
      depth,
      `Fragment data (${totalLength - headerLength} bytes at offset ${view.fragmentOffset}, not reassembled)`,
    );
    return packetEnd;
  }
  const network: NetworkContext = {
    depth,
    fragmented,
    payloadLength: totalLength - headerLength,
    // With a source route the pseudo-header holds the final destination (RFC 9293 §3.1).
    pseudoHeaderSum: (upperProtocol, length) => pseudoHeaderSum(source, finalHop ?? destination, upperProtocol, length),
    pseudoHeader: (upperProtocol, length) => ({
      source: formatIpv4Address(source),
      destination: formatIpv4Address(finalHop ?? destination),
      protocol: upperProtocol,
      length,
    }),
  };
  layer.setRanges(payloadStart, payloadStart, payloadEnd, ipProtocolName(protocol));
  switch (protocol) {
    case IpProtocol.ICMP:
      ctx.dissectors.icmp(ctx, payloadSpan, network);
      break;
    case IpProtocol.TCP:
      dissectTcp(ctx, payloadSpan, network);
      break;
    case IpProtocol.UDP:
      dissectUdp(ctx, payloadSpan, network);
      break;
    case PROTOCOL_IPIP:
      ctx.dissectors.ipv4(ctx, payloadSpan, depth);
      break;
    case PROTOCOL_IPV6:
      ctx.dissectors.ipv6(ctx, payloadSpan, depth);
      break;
    case PROTOCOL_ICMPV6:
      ctx.dissectors.icmpv6(ctx, payloadSpan, network);
      break;
    case PROTOCOL_ETHERNET:
      ctx.dissectors.ethernet(ctx, payloadSpan, depth);
      break;
    default:
      layer.setRanges(payloadStart, payloadStart, payloadEnd, 'data');
      addDataLayer(ctx, payloadStart, packetSpan.reportedEnd, depth);
  }
  return packetEnd;
}

/**
 * tshark looks through the options for a loose or strict source route (RFC 791: its last
 * address is where the packet is finally going, and that is what ip.dst then shows) before it
 * shows the destination: it reads each option's type and length octets, and a source route's
 * last address. Mirrored so that a header cut short shows the destination exactly when tshark
 * does. Returns the source route's last hop, if there is one.
 */
function scanForSourceRoute(ctx: DissectionBuilder, layer: LayerDraft, span: Span, headerLength: number): number | undefined {
  const frame = ctx.frame;
  let finalHop: number | undefined;
  let offset = IPV4_MIN_HEADER_LENGTH;
  while (offset < headerLength) {
    ctx.need(layer, span, offset, 1, 'an option type');
    const type = frame[span.start + offset];
    if (type === 0) break;
    if (type === 1) {
      offset += 1;
      continue;
    }
    if (offset + 1 >= headerLength) break;
    ctx.need(layer, span, offset + 1, 1, 'an option length');
    const length = frame[span.start + offset + 1];
    if (length < 2 || offset + length > headerLength) break;
    if ((type === 0x83 || type === 0x89) && length >= 7 && (length - 3) % 4 === 0) {
      ctx.need(layer, span, offset + length - 4, 4, 'the source route');
      finalHop = readIpv4Address(frame, span.start + offset + length - 4);
    }
    offset += length;
  }
  return finalHop;
}

/**
 * Lists the options (decoded by the codec) and mirrors tshark's walk: an option too short for
 * the fixed part tshark reads makes it give up on the frame.
 */
function walkIpv4Options(ctx: DissectionBuilder, layer: LayerDraft, options: Uint8Array): void {
  let offset = 0;
  while (offset < options.length) {
    const type = options[offset];
    if (type === 0) break;
    if (type === 1) {
      offset += 1;
      continue;
    }
    if (offset + 1 >= options.length) break;
    const length = options[offset + 1];
    if (length < 2 || offset + length > options.length) break;
    const minimum = OPTION_MIN_LENGTH[type];
    if (minimum !== undefined && length < minimum) {
      ctx.stop(`IPv4 option ${type} has length ${length}, less than the ${minimum} bytes it needs`);
    }
    offset += length;
  }
  const decoded = parseIpv4Options(options);
  if (!decoded.ok) {
    layer.note(`options do not decode: ${decoded.error.message}`);
    layer.field(undefined, 'Options', `${options.length} bytes (malformed)`, { at: [IPV4_MIN_HEADER_LENGTH, options.length] });
    return;
  }
  layer.field(undefined, 'Options', decoded.value.map(describeIpv4Option).join(', ') || 'none', { at: [IPV4_MIN_HEADER_LENGTH, options.length] });
}

function describeIpv4Option(option: Ipv4Option): string {
  switch (option.kind) {
    case 'endOfList':
      return 'EOL';
    case 'noOperation':
      return 'NOP';
    case 'recordRoute':
      return `Record Route (pointer ${option.pointer}: ${option.route.map(formatIpv4Address).join(' ')})`;
    case 'timestamp':
      return `Timestamp (flag ${option.flag}, pointer ${option.pointer}, overflow ${option.overflow}: ${option.entries
        .map((entry) => (entry.address === undefined ? String(entry.timestamp) : `${formatIpv4Address(entry.address)}@${entry.timestamp}`))
        .join(' ')})`;
    case 'raw':
      return `type ${option.type} (${option.data.length + 2} bytes)`;
  }
}
