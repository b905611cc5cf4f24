/**
 * ICMPv6 (RFC 4443) for the dissector, with Neighbor Discovery (RFC 4861) and its options and
 * Multicast Listener Discovery (MLDv1, RFC 2710; MLDv2, RFC 3810): every field under tshark
 * 4.0's name and in its text. An error message's invoking packet is dissected again as IPv6,
 * one level deeper, as is a Redirected Header option's packet; that is where tshark's repeated
 * ipv6.* fields come from. The checksum is verified over the pseudo-header (RFC 4443 §2.3).
 */
import { Icmpv6Type } from '../ip/icmpv6.js';
import { mldMaximumResponseDelay, mldQueryInterval } from '../ip/mld.js';
import { Ipv6NextHeader } from '../ip/ipv6.js';
import { checksumCoverage, describeChecksum, verifyChecksum, type ChecksumVerdict } from './checksum-verdict.js';
import { addDataLayer, availableEnd, subSpan, type DissectionBuilder, type LayerDraft, type NetworkContext, type Span } from './dissect-context.js';
import { hexBytes, ipv6Text } from './dissect-ipv6.js';
import { hex } from './dissection.js';

/** ICMPv6 errors inside ICMPv6 errors are dissected this deep, no deeper. */
const MAX_QUOTE_DEPTH = 4;

const TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'Destination Unreachable',
  2: 'Packet Too Big',
  3: 'Time Exceeded',
  4: 'Parameter Problem',
  128: 'Echo (ping) request',
  129: 'Echo (ping) reply',
  130: 'Multicast Listener Query',
  131: 'Multicast Listener Report',
  132: 'Multicast Listener Done',
  133: 'Router Solicitation',
  134: 'Router Advertisement',
  135: 'Neighbor Solicitation',
  136: 'Neighbor Advertisement',
  137: 'Redirect',
  143: 'Multicast Listener Report Message v2',
};

const CODE_NAMES: Readonly<Record<number, readonly string[]>> = {
  1: [
    'no route to destination',
    'communication with destination administratively prohibited',
    'beyond scope of source address',
    'address unreachable',
    'port unreachable',
    'source address failed ingress/egress policy',
    'reject route to destination',
  ],
  3: ['hop limit exceeded in transit', 'fragment reassembly time exceeded'],
  4: [
    'erroneous header field encountered',
    'unrecognized Next Header type encountered',
    'unrecognized IPv6 option encountered',
    'IPv6 first fragment has incomplete IPv6 header chain',
  ],
};

const OPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'Source link-layer address',
  2: 'Target link-layer address',
  3: 'Prefix information',
  4: 'Redirected header',
  5: 'MTU',
  14: 'Nonce',
};

/** Dissects the ICMPv6 message starting at `span.start`. */
export function dissectIcmpv6(ctx: DissectionBuilder, span: Span, network: NetworkContext): void {
  const frame = ctx.frame;
  const start = span.start;
  const layer = ctx.addLayer('icmpv6', 'Internet Control Message Protocol v6', start, network.depth);
  // tshark shows type, code and checksum each as soon as its own bytes are there.
  ctx.need(layer, span, 0, 1, 'the type');
  const type = frame[start];
  const typeName = TYPE_NAMES[type] ?? `type ${type}`;
  layer.title = `Internet Control Message Protocol v6, ${typeName}`;
  layer.field('icmpv6.type', 'Type', String(type), { display: `${type} (${typeName})`, at: [0, 1] });
  ctx.need(layer, span, 1, 1, 'the code');
  const code = frame[start + 1];
  const codeName = CODE_NAMES[type]?.[code];
  if (codeName !== undefined) layer.title += ` (${codeName})`;
  layer.field('icmpv6.code', 'Code', String(code), { display: codeName === undefined ? String(code) : `${code} (${codeName})`, at: [1, 1] });
  ctx.need(layer, span, 2, 2, 'the checksum');
  const checksum = (frame[start + 2] << 8) | frame[start + 3];
  const verdict = icmpv6ChecksumVerdict(ctx, span, network);
  const described = describeChecksum(checksum, verdict);
  layer.field('icmpv6.checksum', 'Checksum', hex(checksum, 4), {
    ...described,
    at: [2, 2],
    checksum: checksumCoverage(verdict, start, start + network.payloadLength, network.pseudoHeader(Ipv6NextHeader.ICMPV6, network.payloadLength)),
  });
  if (described.note !== undefined) layer.note(described.note);
  const end = availableEnd(span);
  layer.setRanges(Math.min(start + 4, end), start + 4, start + 4);

  const field = (name: string, label: string, offset: number, length: number, value: string, display?: string): void => {
    ctx.need(layer, span, offset, length, label);
    layer.field(name, label, value, { display, at: [offset, length] });
  };
  const u16 = (offset: number): number => (frame[start + offset] << 8) | frame[start + offset + 1];
  const u32 = (offset: number): number =>
    ((frame[start + offset] << 24) | (frame[start + offset + 1] << 16) | (frame[start + offset + 2] << 8) | frame[start + offset + 3]) >>> 0;
  const reserved = (offset: number, length: number): void => {
    ctx.need(layer, span, offset, length, 'the reserved field');
    layer.field('icmpv6.reserved', 'Reserved', hexBytes(frame, start + offset, length), { at: [offset, length] });
  };
  const address = (name: string, label: string, offset: number): void => {
    ctx.need(layer, span, offset, 16, label);
    layer.field(name, label, ipv6Text(frame, start + offset), { at: [offset, 16] });
  };

  switch (type) {
    case Icmpv6Type.DESTINATION_UNREACHABLE:
    case Icmpv6Type.TIME_EXCEEDED:
    case Icmpv6Type.PACKET_TOO_BIG:
    case Icmpv6Type.PARAMETER_PROBLEM: {
      if (type === Icmpv6Type.PACKET_TOO_BIG) field('icmpv6.mtu', 'MTU', 4, 4, String(u32(4)));
      else if (type === Icmpv6Type.PARAMETER_PROBLEM) field('icmpv6.pointer', 'Pointer', 4, 4, String(u32(4)));
      else reserved(4, 4);
      quoted(ctx, layer, span, network, 8, 'the invoking packet');
      return;
    }
    case Icmpv6Type.ECHO_REQUEST:
    case Icmpv6Type.ECHO_REPLY:
      field('icmpv6.echo.identifier', 'Identifier', 4, 2, hex(u16(4), 4));
      field('icmpv6.echo.sequence_number', 'Sequence Number', 6, 2, String(u16(6)));
      rest(ctx, layer, span, network, 8);
      return;
    case Icmpv6Type.ROUTER_SOLICITATION:
      reserved(4, 4);
      options(ctx, layer, span, network, 8);
      return;
    case Icmpv6Type.ROUTER_ADVERTISEMENT:
      field('icmpv6.nd.ra.cur_hop_limit', 'Cur hop limit', 4, 1, String(frame[start + 4]));
      field(
        'icmpv6.nd.ra.flag',
        'Flags',
        5,
        1,
        hex(frame[start + 5], 2),
        `${hex(frame[start + 5], 2)} (M ${frame[start + 5] >> 7}, O ${(frame[start + 5] >> 6) & 1})`,
      );
      field('icmpv6.nd.ra.router_lifetime', 'Router lifetime (s)', 6, 2, String(u16(6)));
      field('icmpv6.nd.ra.reachable_time', 'Reachable time (ms)', 8, 4, String(u32(8)));
      field('icmpv6.nd.ra.retrans_timer', 'Retrans timer (ms)', 12, 4, String(u32(12)));
      options(ctx, layer, span, network, 16);
      return;
    case Icmpv6Type.NEIGHBOR_SOLICITATION:
      reserved(4, 4);
      address('icmpv6.nd.ns.target_address', 'Target Address', 8);
      options(ctx, layer, span, network, 24);
      return;
    case Icmpv6Type.NEIGHBOR_ADVERTISEMENT: {
      const flags = u32(4);
      field('icmpv6.nd.na.flag', 'Flags', 4, 4, hex(flags, 8), `${hex(flags, 8)} (R ${flags >>> 31}, S ${(flags >>> 30) & 1}, O ${(flags >>> 29) & 1})`);
      address('icmpv6.nd.na.target_address', 'Target Address', 8);
      options(ctx, layer, span, network, 24);
      return;
    }
    case Icmpv6Type.REDIRECT:
      reserved(4, 4);
      address('icmpv6.nd.rd.target_address', 'Target Address', 8);
      address('icmpv6.rd.na.destination_address', 'Destination Address', 24);
      options(ctx, layer, span, network, 40);
      return;
    case Icmpv6Type.MLD_QUERY:
    case Icmpv6Type.MLDV1_REPORT:
    case Icmpv6Type.MLDV1_DONE: {
      // A query longer than 24 bytes is MLDv2's (RFC 3810 §8.1).
      const version2 = type === Icmpv6Type.MLD_QUERY && network.payloadLength >= 28;
      // tshark prints the delay the code stands for (RFC 3810 §5.1.3), as it does the QQIC's interval (§5.1.9).
      if (version2)
        field(
          'icmpv6.mld.maximum_response_code',
          'Maximum Response Delay (ms)',
          4,
          2,
          String(mldMaximumResponseDelay(u16(4))),
          `${mldMaximumResponseDelay(u16(4))} (code ${u16(4)})`,
        );
      else field('icmpv6.mld.maximum_response_delay', 'Maximum Response Delay (ms)', 4, 2, String(u16(4)));
      reserved(6, 2);
      address('icmpv6.mld.multicast_address', 'Multicast Address', 8);
      layer.setRanges(Math.min(start + 24, end), start + 24, start + 24);
      if (!version2) return;
      const flags = frame[start + 24];
      field('icmpv6.mld.flag', 'Flags', 24, 1, hex(flags, 2), `${hex(flags, 2)} (S ${(flags >> 3) & 1}, QRV ${flags & 7})`);
      field(
        'icmpv6.mld.qqi',
        "Querier's Query Interval (s)",
        25,
        1,
        String(mldQueryInterval(frame[start + 25])),
        `${mldQueryInterval(frame[start + 25])} (code ${frame[start + 25]})`,
      );
      const count = u16(26);
      field('icmpv6.mld.nb_sources', 'Number of Sources', 26, 2, String(count));
      for (let i = 0; i < count; i++) address('icmpv6.mld.source_address', 'Source Address', 28 + 16 * i);
      layer.setRanges(Math.min(start + 28 + 16 * count, end), start + 28 + 16 * count, start + 28 + 16 * count);
      return;
    }
    case Icmpv6Type.MLDV2_REPORT: {
      reserved(4, 2);
      const count = u16(6);
      field('icmpv6.mldr.nb_mcast_records', 'Number of Multicast Address Records', 6, 2, String(count));
      let offset = 8;
      for (let n = 0; n < count; n++) {
        field('icmpv6.mldr.mar.record_type', 'Record Type', offset, 1, String(frame[start + offset]));
        field('icmpv6.mldr.mar.aux_data_len', 'Aux Data Len', offset + 1, 1, String(frame[start + offset + 1]));
        const sources = u16(offset + 2);
        field('icmpv6.mldr.mar.nb_sources', 'Number of Sources', offset + 2, 2, String(sources));
        address('icmpv6.mldr.mar.multicast_address', 'Multicast Address', offset + 4);
        for (let i = 0; i < sources; i++) address('icmpv6.mldr.mar.source_address', 'Source Address', offset + 20 + 16 * i);
        const auxiliary = frame[start + offset + 1] * 4;
        offset += 20 + 16 * sources;
        if (auxiliary > 0) field('icmpv6.mldr.mar.auxiliary_data', 'Aux Data', offset, auxiliary, hexBytes(frame, start + offset, auxiliary));
        offset += auxiliary;
      }
      layer.setRanges(Math.min(start + offset, end), start + offset, start + offset);
      return;
    }
    default:
      // tshark leaves an unknown type's body undissected (no data layer).
      layer.setRanges(Math.min(start + 4, end), start + 4, end);
  }
}

/** Whatever follows `offset` as a data layer (echo data, an unknown type's body). */
function rest(ctx: DissectionBuilder, layer: LayerDraft, span: Span, network: NetworkContext, offset: number): void {
  const start = span.start;
  const end = availableEnd(span);
  layer.setRanges(Math.min(start + offset, end), start + offset, end, 'data');
  addDataLayer(ctx, start + offset, span.reportedEnd, network.depth);
}

/** The invoking packet of an error message (or a Redirected Header's), dissected as IPv6 one level deeper. */
function quoted(ctx: DissectionBuilder, layer: LayerDraft, span: Span, network: NetworkContext, offset: number, what: string): void {
  const start = span.start;
  const end = availableEnd(span);
  if (start + offset >= end) {
    layer.setRanges(end, end, end);
    return;
  }
  if (network.depth >= MAX_QUOTE_DEPTH) {
    rest(ctx, layer, span, network, offset);
    return;
  }
  // tshark hands the invoking packet to its IPv6 dissector only when the version says 6.
  if (ctx.frame[start + offset] >> 4 !== 6) {
    rest(ctx, layer, span, network, offset);
    return;
  }
  layer.setRanges(start + offset, start + offset, end, what);
  ctx.dissectors.ipv6(ctx, subSpan(span, start + offset), network.depth + 1);
}

/** The NDP options from `offset` to the end of the message (RFC 4861 §4.6). */
function options(ctx: DissectionBuilder, layer: LayerDraft, span: Span, network: NetworkContext, offset: number): void {
  const frame = ctx.frame;
  const start = span.start;
  const end = availableEnd(span);
  layer.setRanges(Math.min(start + offset, end), start + offset, start + offset);
  while (start + offset < span.reportedEnd) {
    ctx.need(layer, span, offset, 2, 'an option header');
    const type = frame[start + offset];
    const units = frame[start + offset + 1];
    const length = units * 8;
    layer.field('icmpv6.opt.type', 'Option: Type', String(type), { display: `${type} (${OPTION_NAMES[type] ?? 'unknown'})`, at: [offset, 1] });
    layer.field('icmpv6.opt.length', 'Option: Length', String(units), { display: `${units} (${length} bytes)`, at: [offset + 1, 1] });
    if (units === 0) ctx.stop(`NDP option ${type} has length 0 (RFC 4861 §4.6)`);
    // tshark shows each field of an option as soon as its own bytes are there.
    const field = (name: string, label: string, at: number, size: number, value: () => string, display?: (text: string) => string): void => {
      ctx.need(layer, span, offset + at, size, label);
      const text = value();
      layer.field(name, label, text, { display: display?.(text), at: [offset + at, size] });
    };
    const data = start + offset + 2;
    const u32 = (at: number): number => ((frame[at] << 24) | (frame[at + 1] << 16) | (frame[at + 2] << 8) | frame[at + 3]) >>> 0;
    if ((type === 1 || type === 2) && length === 8) {
      const mac = (): string => [...frame.subarray(data, data + 6)].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
      field('icmpv6.opt.linkaddr', 'Link-layer address', 2, 6, mac);
      field(
        type === 1 ? 'icmpv6.opt.src_linkaddr' : 'icmpv6.opt.target_linkaddr',
        type === 1 ? 'Source link-layer address' : 'Target link-layer address',
        2,
        6,
        mac,
      );
    } else if (type === 3 && length === 32) {
      field('icmpv6.opt.prefix.length', 'Prefix Length', 2, 1, () => String(frame[data]));
      field(
        'icmpv6.opt.prefix.flag',
        'Flags',
        3,
        1,
        () => hex(frame[data + 1], 2),
        (text) => `${text} (L ${frame[data + 1] >> 7}, A ${(frame[data + 1] >> 6) & 1})`,
      );
      field('icmpv6.opt.prefix.valid_lifetime', 'Valid Lifetime (s)', 4, 4, () => String(u32(data + 2)));
      field('icmpv6.opt.prefix.preferred_lifetime', 'Preferred Lifetime (s)', 8, 4, () => String(u32(data + 6)));
      field('icmpv6.opt.prefix', 'Prefix', 16, 16, () => ipv6Text(frame, data + 14));
    } else if (type === 5 && length === 8) {
      field('icmpv6.opt.mtu', 'MTU', 4, 4, () => String(u32(data + 2)));
    } else if (type === 4 && length > 8 && network.depth < MAX_QUOTE_DEPTH) {
      // The redirected packet follows six reserved bytes; tshark reads it as IPv6.
      layer.setRanges(start + offset + 8, start + offset + 8, Math.min(start + offset + length, end), 'the redirected packet');
      ctx.dissectors.ipv6(ctx, subSpan(span, start + offset + 8, length - 8), network.depth + 1);
    } else {
      ctx.need(layer, span, offset, length, 'an option');
    }
    offset += length;
    // The options are part of the message's header: its range grows over each one read.
    if (layer.payloadTo === undefined) layer.setRanges(Math.min(start + offset, end), start + offset, start + offset);
  }
}

function icmpv6ChecksumVerdict(ctx: DissectionBuilder, span: Span, network: NetworkContext): ChecksumVerdict {
  if (network.fragmented) return { kind: 'unverified', why: 'the packet is fragmented' };
  const end = span.start + network.payloadLength;
  if (end > span.capturedEnd || end > span.reportedEnd) return { kind: 'unverified', why: 'the message is not all here' };
  return verifyChecksum(ctx.frame.subarray(span.start, end), 2, network.pseudoHeaderSum(Ipv6NextHeader.ICMPV6, network.payloadLength));
}
