/**
 * tshark as the oracle for IPv6: the fields of IPv6, its extension headers, ICMPv6 (NDP and
 * MLDv2 included) and the transports above it that the ustack dissector must print exactly as
 * tshark 4.0 prints them, and how tshark is run to read them. The record format and the general
 * formatting rules are those of test/fixtures/tshark-fields.ts; what IPv6 adds:
 *
 * - tshark 4.0 names the Fragment header's fields `ipv6.fraghdr.*` (its `ipv6.fragment.*` are
 *   about reassembly, which is off); `ipv6.fraghdr.offset` is in 8-byte units, like ip.frag_offset.
 * - `ipv6.tclass` prints 8 hex digits (a 32-bit field under a mask), `ipv6.flow` 6 (24 bits).
 * - Addresses print in RFC 5952 form; link-layer addresses in NDP options as `aa:bb:cc:dd:ee:ff`.
 * - An ICMPv6 error quotes the invoking packet, which is dissected again: its ipv6.* and
 *   transport fields follow the outer ones, as with ICMPv4.
 * - Option fields repeat once per option in tree order: a Router Alert and its PadN give
 *   `ipv6.opt.type` ["0x05", "0x01"]; an empty PadN prints `<none>`.
 */
import { runTshark, TSHARK_AGGREGATOR, TSHARK_PREFERENCES, parseTsharkFields, type TsharkFrame } from '../fixtures/tshark-fields.js';

/** The fields compared, in output order. */
export const IPV6_TSHARK_FIELDS = [
  'frame.number',
  'eth.src',
  'eth.dst',
  'eth.type',
  'sll.etype',
  'ip.version',
  'ipv6.version',
  'ipv6.tclass',
  'ipv6.tclass.dscp',
  'ipv6.tclass.ecn',
  'ipv6.flow',
  'ipv6.plen',
  'ipv6.nxt',
  'ipv6.hlim',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.hopopts.nxt',
  'ipv6.hopopts.len',
  'ipv6.hopopts.len_oct',
  'ipv6.dstopts.nxt',
  'ipv6.dstopts.len',
  'ipv6.dstopts.len_oct',
  'ipv6.opt.type',
  'ipv6.opt.type.action',
  'ipv6.opt.type.change',
  'ipv6.opt.type.rest',
  'ipv6.opt.length',
  'ipv6.opt.router_alert',
  'ipv6.opt.padn',
  'ipv6.opt.unknown',
  'ipv6.routing.nxt',
  'ipv6.routing.len',
  'ipv6.routing.len_oct',
  'ipv6.routing.type',
  'ipv6.routing.segleft',
  'ipv6.routing.src.reserved',
  'ipv6.routing.src.addr',
  'ipv6.fraghdr.nxt',
  'ipv6.fraghdr.reserved_octet',
  'ipv6.fraghdr.offset',
  'ipv6.fraghdr.reserved_bits',
  'ipv6.fraghdr.more',
  'ipv6.fraghdr.ident',
  'icmpv6.type',
  'icmpv6.code',
  'icmpv6.checksum',
  'icmpv6.reserved',
  'icmpv6.mtu',
  'icmpv6.pointer',
  'icmpv6.echo.identifier',
  'icmpv6.echo.sequence_number',
  'icmpv6.nd.ra.cur_hop_limit',
  'icmpv6.nd.ra.flag',
  'icmpv6.nd.ra.router_lifetime',
  'icmpv6.nd.ra.reachable_time',
  'icmpv6.nd.ra.retrans_timer',
  'icmpv6.nd.ns.target_address',
  'icmpv6.nd.na.flag',
  'icmpv6.nd.na.target_address',
  'icmpv6.nd.rd.target_address',
  'icmpv6.rd.na.destination_address',
  'icmpv6.opt.type',
  'icmpv6.opt.length',
  'icmpv6.opt.linkaddr',
  'icmpv6.opt.src_linkaddr',
  'icmpv6.opt.target_linkaddr',
  'icmpv6.opt.mtu',
  'icmpv6.opt.prefix.length',
  'icmpv6.opt.prefix.flag',
  'icmpv6.opt.prefix.valid_lifetime',
  'icmpv6.opt.prefix.preferred_lifetime',
  'icmpv6.opt.prefix',
  'icmpv6.mld.maximum_response_delay',
  'icmpv6.mld.maximum_response_code',
  'icmpv6.mld.multicast_address',
  'icmpv6.mld.flag',
  'icmpv6.mld.qqi',
  'icmpv6.mld.nb_sources',
  'icmpv6.mld.source_address',
  'icmpv6.mldr.nb_mcast_records',
  'icmpv6.mldr.mar.record_type',
  'icmpv6.mldr.mar.aux_data_len',
  'icmpv6.mldr.mar.nb_sources',
  'icmpv6.mldr.mar.multicast_address',
  'icmpv6.mldr.mar.source_address',
  'icmpv6.mldr.mar.auxiliary_data',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
  'udp.checksum',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.hdr_len',
  'tcp.flags',
  'tcp.window_size_value',
  'tcp.checksum',
  'tcp.urgent_pointer',
  'tcp.len',
  'tcp.options.mss_val',
  'tcp.options.wscale.shift',
  'tcp.options.timestamp.tsval',
  'tcp.options.timestamp.tsecr',
  'data.len',
] as const;

/** The protocols tshark may dissect: no heuristics, no port-based guesses past the transports. */
export const IPV6_TSHARK_PROTOCOLS = [
  'frame',
  'eth',
  'sll',
  'raw',
  'ipv6',
  'ipv6.hopopts',
  'ipv6.routing',
  'ipv6.fraghdr',
  'ipv6.dstopts',
  'icmpv6',
  'udp',
  'tcp',
  'data',
] as const;

/** The argument list that reads `pcapPath` into `fields`: the IPv4 fixtures' preferences, IPv6 reassembly off. */
export function ipv6TsharkArgs(pcapPath: string, fields: readonly string[] = IPV6_TSHARK_FIELDS): string[] {
  const args = ['-r', pcapPath, '-n', '--disable-protocol', 'ALL', '--enable-protocol', IPV6_TSHARK_PROTOCOLS.join(',')];
  for (const preference of [...TSHARK_PREFERENCES, 'ipv6.defragment:FALSE']) args.push('-o', preference);
  args.push('-T', 'fields', '-E', 'header=n', '-E', 'separator=/t', '-E', 'occurrence=a');
  args.push('-E', `aggregator=${TSHARK_AGGREGATOR}`, '-E', 'quote=n');
  for (const field of fields) args.push('-e', field);
  return args;
}

/** tshark's reading of every frame of the capture at `pcapPath`. */
export function readIpv6TsharkFields(pcapPath: string, fields: readonly string[] = IPV6_TSHARK_FIELDS): TsharkFrame[] {
  return parseTsharkFields(runTshark(ipv6TsharkArgs(pcapPath, fields)), fields);
}
