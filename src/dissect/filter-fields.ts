/**
 * The fields `dissect -Y` filters on: each Wireshark field name the dissector gives, with the
 * type tshark 4.0 declares for it (and so how its values are read and compared), the protocol
 * names, and the fields tshark derives from others (`tcp.port`, `ip.addr`, `tcp.flags.syn`…).
 * Also the readers of address and byte literals, shared by filter values and field values.
 * The grammar and its meaning are in ./display-filter.ts.
 */
import type { Dissection, LayerKind } from './dissection.js';

/** How a field's values are read and compared. */
export type FilterFieldType = 'number' | 'boolean' | 'ipv4' | 'ipv6' | 'mac' | 'bytes';

const NUMBER_FIELDS = [
  'frame.number',
  'frame.len',
  'frame.cap_len',
  'eth.type',
  'eth.len',
  'vlan.priority',
  'vlan.id',
  'vlan.etype',
  'sll.pkttype',
  'sll.hatype',
  'sll.halen',
  'sll.ifindex',
  'sll.etype',
  'sll.ltype',
  'sll.gretype',
  'arp.hw.type',
  'arp.proto.type',
  'arp.hw.size',
  'arp.proto.size',
  'arp.opcode',
  'ip.version',
  'ip.hdr_len',
  'ip.dsfield',
  'ip.len',
  'ip.id',
  'ip.flags',
  'ip.frag_offset',
  'ip.ttl',
  'ip.proto',
  'ip.checksum',
  'ipv6.version',
  'ipv6.tclass',
  'ipv6.tclass.dscp',
  'ipv6.tclass.ecn',
  'ipv6.flow',
  'ipv6.plen',
  'ipv6.nxt',
  'ipv6.hlim',
  'ipv6.hopopts.nxt',
  'ipv6.hopopts.len',
  'ipv6.hopopts.len_oct',
  'ipv6.dstopts.nxt',
  'ipv6.dstopts.len',
  'ipv6.dstopts.len_oct',
  'ipv6.opt.type',
  'ipv6.opt.type.action',
  'ipv6.opt.type.rest',
  'ipv6.opt.length',
  'ipv6.opt.router_alert',
  'ipv6.routing.nxt',
  'ipv6.routing.len',
  'ipv6.routing.len_oct',
  'ipv6.routing.type',
  'ipv6.routing.segleft',
  'ipv6.fraghdr.nxt',
  'ipv6.fraghdr.reserved_octet',
  'ipv6.fraghdr.offset',
  'ipv6.fraghdr.reserved_bits',
  'ipv6.fraghdr.ident',
  'icmp.type',
  'icmp.code',
  'icmp.checksum',
  'icmp.ident',
  'icmp.seq',
  'icmp.mtu',
  'icmp.pointer',
  'icmpv6.type',
  'icmpv6.code',
  'icmpv6.checksum',
  'icmpv6.mtu',
  'icmpv6.pointer',
  'icmpv6.echo.identifier',
  'icmpv6.echo.sequence_number',
  'icmpv6.nd.ra.cur_hop_limit',
  'icmpv6.nd.ra.flag',
  'icmpv6.nd.ra.router_lifetime',
  'icmpv6.nd.ra.reachable_time',
  'icmpv6.nd.ra.retrans_timer',
  'icmpv6.nd.na.flag',
  'icmpv6.opt.type',
  'icmpv6.opt.length',
  'icmpv6.opt.mtu',
  'icmpv6.opt.prefix.length',
  'icmpv6.opt.prefix.flag',
  'icmpv6.opt.prefix.valid_lifetime',
  'icmpv6.opt.prefix.preferred_lifetime',
  'icmpv6.mld.maximum_response_delay',
  'icmpv6.mld.maximum_response_code',
  'icmpv6.mld.flag',
  'icmpv6.mld.qqi',
  'icmpv6.mld.nb_sources',
  'icmpv6.mldr.nb_mcast_records',
  'icmpv6.mldr.mar.record_type',
  'icmpv6.mldr.mar.aux_data_len',
  'icmpv6.mldr.mar.nb_sources',
  'udp.srcport',
  'udp.dstport',
  'udp.port',
  'udp.length',
  'udp.checksum',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.port',
  'tcp.seq',
  'tcp.seq_raw',
  'tcp.ack',
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
  'tcp.options.sack_le',
  'tcp.options.sack_re',
  'data.len',
];
const BOOLEAN_FIELDS = ['vlan.dei', 'ip.flags.rb', 'ip.flags.df', 'ip.flags.mf', 'ipv6.opt.type.change', 'ipv6.fraghdr.more', ...Object.keys(tcpFlagBits())];
const IPV4_FIELDS = ['ip.src', 'ip.dst', 'ip.addr', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4', 'sll.src.ipv4', 'icmp.redir_gw'];
const IPV6_FIELDS = [
  'ipv6.src',
  'ipv6.dst',
  'ipv6.addr',
  'ipv6.routing.src.addr',
  'icmpv6.nd.ns.target_address',
  'icmpv6.nd.na.target_address',
  'icmpv6.nd.rd.target_address',
  'icmpv6.rd.na.destination_address',
  'icmpv6.opt.prefix',
  'icmpv6.mld.multicast_address',
  'icmpv6.mld.source_address',
  'icmpv6.mldr.mar.multicast_address',
  'icmpv6.mldr.mar.source_address',
];
const MAC_FIELDS = ['eth.src', 'eth.dst', 'eth.addr', 'arp.src.hw_mac', 'arp.dst.hw_mac', 'sll.src.eth'];
const BYTES_FIELDS = [
  'eth.padding',
  'eth.trailer',
  'sll.src.other',
  'sll.unused',
  'sll.trailer',
  'ipv6.opt.padn',
  'ipv6.opt.unknown',
  'ipv6.routing.src.reserved',
  'icmpv6.reserved',
  'icmpv6.opt.linkaddr',
  'icmpv6.opt.src_linkaddr',
  'icmpv6.opt.target_linkaddr',
  'icmpv6.mldr.mar.auxiliary_data',
];

/** Every field a filter may name, with its type. */
export const FILTER_FIELDS: ReadonlyMap<string, FilterFieldType> = new Map<string, FilterFieldType>([
  ...NUMBER_FIELDS.map((name) => [name, 'number'] as const),
  ...BOOLEAN_FIELDS.map((name) => [name, 'boolean'] as const),
  ...IPV4_FIELDS.map((name) => [name, 'ipv4'] as const),
  ...IPV6_FIELDS.map((name) => [name, 'ipv6'] as const),
  ...MAC_FIELDS.map((name) => [name, 'mac'] as const),
  ...BYTES_FIELDS.map((name) => [name, 'bytes'] as const),
]);

/** Protocol names a filter may test for, and the layers that make them present. */
export const FILTER_PROTOCOLS: ReadonlyMap<string, LayerKind> = new Map<string, LayerKind>([
  ['frame', 'frame'],
  ['eth', 'eth'],
  ['vlan', 'vlan'],
  ['sll', 'sll'],
  ['arp', 'arp'],
  ['ip', 'ip'],
  ['ipv6', 'ipv6'],
  ['icmp', 'icmp'],
  ['icmpv6', 'icmpv6'],
  ['udp', 'udp'],
  ['tcp', 'tcp'],
  ['data', 'data'],
]);

/** Fields made of others: either end's port or address. */
const EITHER_END: Readonly<Record<string, readonly [string, string]>> = {
  'tcp.port': ['tcp.srcport', 'tcp.dstport'],
  'udp.port': ['udp.srcport', 'udp.dstport'],
  'ip.addr': ['ip.src', 'ip.dst'],
  'ipv6.addr': ['ipv6.src', 'ipv6.dst'],
  'eth.addr': ['eth.src', 'eth.dst'],
};

function tcpFlagBits(): Record<string, number> {
  return {
    'tcp.flags.fin': 0x01,
    'tcp.flags.syn': 0x02,
    'tcp.flags.reset': 0x04,
    'tcp.flags.push': 0x08,
    'tcp.flags.ack': 0x10,
    'tcp.flags.urg': 0x20,
    'tcp.flags.ece': 0x40,
    'tcp.flags.cwr': 0x80,
  };
}
const TCP_FLAG_BITS = tcpFlagBits();

/** a.b.c.d as 4 bytes; undefined if it is not one. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

/** An IPv6 address in any of its text forms (`::`, a dotted IPv4 tail); undefined if it is none. */
export function parseIpv6(text: string): Uint8Array | undefined {
  let body = text;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseIpv4(dotted[2]);
    if (v4 === undefined) return undefined;
    body = dotted[1].endsWith('::') ? dotted[1] : dotted[1].slice(0, -1);
    tail.push(...v4);
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const words = half.split(':');
    if (!words.every((word) => /^[0-9a-fA-F]{1,4}$/.test(word))) return undefined;
    return words.flatMap((word) => [parseInt(word, 16) >> 8, parseInt(word, 16) & 0xff]);
  };
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || rest === undefined) return undefined;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1 ? known !== 16 : known > 14) return undefined;
  return Uint8Array.from([...head, ...new Array<number>(16 - known).fill(0), ...rest, ...tail]);
}

/** Hex bytes: `aa:bb:cc`, `aa-bb-cc`, `aabb.cc`, `aabbcc`. */
export function parseHexBytes(text: string): Uint8Array | undefined {
  const parts = text.split(/[:.-]/);
  if (parts.some((part) => part === '' || !/^[0-9a-fA-F]+$/.test(part))) return undefined;
  const separated = parts.length > 1 && parts.every((part) => part.length <= 2);
  const digits = separated ? parts.map((part) => part.padStart(2, '0')).join('') : parts.join('');
  if (digits.length % 2 !== 0) return undefined;
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** Each field name the frame has → every value, in tree order, derived fields included. */
export function fieldValues(dissection: Dissection): Map<string, string[]> {
  const values = new Map<string, string[]>();
  const add = (name: string, value: string): void => {
    const list = values.get(name);
    if (list === undefined) values.set(name, [value]);
    else list.push(value);
  };
  for (const layer of dissection.layers) {
    for (const field of layer.fields) {
      if (field.name === undefined) continue;
      add(field.name, field.value);
      if (field.name === 'tcp.flags') {
        for (const [flag, bit] of Object.entries(TCP_FLAG_BITS)) add(flag, (Number(field.value) & bit) !== 0 ? '1' : '0');
      }
      for (const [either, ends] of Object.entries(EITHER_END)) if (ends.includes(field.name)) add(either, field.value);
    }
  }
  return values;
}

/** A field's printed value as bytes. */
export function fieldBytes(text: string, type: FilterFieldType): Uint8Array | undefined {
  if (type === 'ipv4') return parseIpv4(text);
  if (type === 'ipv6') return parseIpv6(text);
  return parseHexBytes(text);
}

/** For the usage text: the fields by type, comma-separated. */
export function describeFilterFields(): string {
  const byType = new Map<FilterFieldType, string[]>();
  for (const [name, type] of FILTER_FIELDS) byType.set(type, [...(byType.get(type) ?? []), name]);
  return [...byType].map(([type, names]) => `${type}: ${names.join(' ')}`).join('\n');
}
