/**
 * Frames that real captures rarely hold — cut short at every length, with lengths and options
 * that contradict themselves, random bytes, IPv6, 802.1Q — each named, for the tests that
 * dissect them (never throwing) and compare them with a live tshark.
 */
import { readFileSync } from 'node:fs';
import { concatBytes } from '../../src/core/bytes.js';
import { Rng } from '../../src/core/rng.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { ADDRESSES, arp, ascii, ethernet, ethernetVlan, icmp, ipv4, ipv6, repeat, sackOption, sll, sll2, tcp, timestampsOption, udp } from './frame-builder.js';

/** One test frame. */
export interface EdgeCase {
  readonly name: string;
  readonly linkType: number;
  readonly frame: Uint8Array;
  /** Length on the wire; more than frame.length when the capture cut it. */
  readonly originalLength: number;
}

function edge(name: string, linkType: number, frame: Uint8Array, originalLength = frame.length): EdgeCase {
  return { name, linkType, frame, originalLength };
}

/** Every record of a pcap file, with its link type. */
export function captureRecords(path: string): { data: Uint8Array; linkType: number; originalLength: number }[] {
  const bytes = readFileSync(path);
  const capture = readCapture(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (!capture.ok) throw new Error(`${path}: ${capture.error.message}`);
  return capture.value.records.map((r) => ({ data: r.data, linkType: r.linkType, originalLength: r.originalLength }));
}

/**
 * `frame` cut at every length from 0 to its own: `snap` keeps the original length (the capture's
 * snapshot length cut it), `wire` makes the cut frame all there was.
 */
export function truncations(name: string, linkType: number, frame: Uint8Array): EdgeCase[] {
  const out: EdgeCase[] = [];
  for (let n = 0; n <= frame.length; n++) {
    out.push(edge(`${name} cut to ${n} (snap)`, linkType, frame.slice(0, n), frame.length));
    out.push(edge(`${name} cut to ${n} (wire)`, linkType, frame.slice(0, n)));
  }
  return out;
}

const U = udp(ascii('x'.repeat(20)));
const TS = timestampsOption(1, 2);
const quote = (type: number, code: number, quoted: Uint8Array, rest: readonly number[] = [0, 0, 0, 0]): Uint8Array =>
  ethernet(ipv4(icmp(type, code, rest, quoted), { protocol: 1, source: ADDRESSES.B, destination: ADDRESSES.A, tos: 0xc0 }));
const withTcpOptions = (options: readonly number[], data = ascii('abc')): Uint8Array =>
  ethernet(ipv4(tcp(data, { options: Uint8Array.from(options) }), { protocol: 6 }));

/** Hand-made Ethernet frames whose headers bend the rules. */
export function malformedEthernetCases(): EdgeCase[] {
  const E = 1;
  const cases: EdgeCase[] = [
    edge('IHL 4', E, ethernet(ipv4(U, { ihl: 4 }))),
    edge('IHL 0', E, ethernet(ipv4(U, { ihl: 0 }))),
    edge('IHL 15, packet shorter', E, ethernet(ipv4(U, { ihl: 15 }))),
    edge('total length below header', E, ethernet(ipv4(U, { totalLength: 10 }))),
    edge('total length 0 (TSO), UDP', E, ethernet(ipv4(U, { totalLength: 0 }))),
    edge('total length 0 (TSO), TCP', E, ethernet(ipv4(tcp(ascii('abc')), { protocol: 6, totalLength: 0 }))),
    edge('total length beyond the frame', E, ethernet(ipv4(U, { totalLength: 200 }))),
    edge('padding after the packet', E, concatBytes(ethernet(ipv4(U)), repeat(0, 10))),
    edge('short frame with trailer', E, concatBytes(ethernet(ipv4(udp(ascii('xxxx')))), repeat(0, 6))),
    edge('padding and trailer', E, concatBytes(ethernet(ipv4(udp(ascii('xxxx')))), repeat(0, 18))),
    edge('ARP padded to 60', E, concatBytes(ethernet(arp(1), 0x0806), repeat(0, 18))),
    edge('ARP opcode 3', E, ethernet(arp(3), 0x0806)),
    edge('version 6 under EtherType IPv4', E, ethernet(ipv4(U, { version: 6 }))),
    edge('version 5', E, ethernet(ipv4(U, { version: 5 }))),
    edge('IEEE 802.3 length frame', E, ethernet(concatBytes(Uint8Array.from([0x42, 0x42, 0x03]), repeat(0, 43)), 0x002e)),
    edge('IPv6 UDP', E, ethernet(ipv6(udp(ascii('hello'))), 0x86dd)),
    edge('IPv6 ICMPv6', E, ethernet(ipv6(Uint8Array.from([0x80, 0, 0x12, 0x34, 0, 0, 0, 0]), 58), 0x86dd)),
    edge('unknown EtherType', E, ethernet(repeat(0, 46), 0x88b5)),
    edge('UDP length below 8', E, ethernet(ipv4(udp(ascii('x'.repeat(20)), { length: 4 })))),
    edge('UDP length 0', E, ethernet(ipv4(udp(ascii('x'.repeat(20)), { length: 0 })))),
    edge('UDP length beyond IP payload', E, ethernet(ipv4(udp(ascii('x'.repeat(20)), { length: 100 })))),
    edge('UDP length short of IP payload', E, ethernet(ipv4(udp(ascii('x'.repeat(20)), { length: 12 })))),
    edge('UDP checksum 0', E, ethernet(ipv4(udp(ascii('x'.repeat(20)), { checksum: 0 })))),
    edge('UDP checksum wrong', E, ethernet(ipv4(udp(ascii('x'.repeat(20)), { checksum: 0x1234 })))),
    edge('IP checksum wrong', E, ethernet(ipv4(U, { checksum: 0xbeef }))),
    edge('TCP data offset 3', E, ethernet(ipv4(tcp(ascii('abc'), { dataOffset: 3 }), { protocol: 6 }))),
    edge('TCP data offset past the segment', E, ethernet(ipv4(tcp(ascii('abc'), { dataOffset: 15 }), { protocol: 6 }))),
    edge('TCP all flags', E, ethernet(ipv4(tcp(ascii('abc'), { flags: 0xfff }), { protocol: 6 }))),
    edge('TCP first fragment', E, ethernet(ipv4(tcp(ascii('abc')), { protocol: 6, flagsFragment: 0x2000 }))),
    edge('UDP first fragment', E, ethernet(ipv4(U, { flagsFragment: 0x2000 }))),
    edge('later fragment', E, ethernet(ipv4(U, { flagsFragment: 0x0003 }))),
    edge('reserved flag set', E, ethernet(ipv4(U, { flagsFragment: 0x8000 }))),
    edge('IP protocol 47', E, ethernet(ipv4(repeat(0x78, 20), { protocol: 47 }))),
    edge('ICMP of 3 bytes', E, ethernet(ipv4(Uint8Array.from([8, 0, 0]), { protocol: 1 }))),
    edge('Ethernet of 13 bytes', E, repeat(0, 13)),
    edge('empty frame', E, new Uint8Array(0)),
    edge('TCP options: MSS of length 1', E, withTcpOptions([2, 1, 5, 0xb4])),
    edge('TCP options: timestamps running past the header', E, withTcpOptions([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2].slice(0, 8))),
    edge('TCP options: MSS of length 5 then timestamps', E, withTcpOptions([2, 5, 5, 0xb4, 0, ...TS, 0])),
    edge('TCP options: window scale 20', E, withTcpOptions([1, 3, 3, 20])),
    edge('TCP options: EOL then junk', E, withTcpOptions([0, 2, 4, 5, 0xb4, 0, 0, 0])),
    edge('TCP options: unknown kind', E, withTcpOptions([0x99, 4, 0, 0, ...TS, 0, 0])),
    edge('TCP options: unknown kind of length 0', E, withTcpOptions([0x99, 0, ...TS])),
    edge('TCP options: two MSS', E, withTcpOptions([2, 4, 5, 0xb4, 2, 4, 5, 0xb5, ...TS, 0, 0])),
    edge('TCP options: two SACK options', E, withTcpOptions([...sackOption([1, 2]), ...sackOption([3, 4])])),
    edge('TCP options: four SACK blocks', E, withTcpOptions([...sackOption([1, 2, 3, 4, 5, 6, 7, 8]), 1, 1])),
  ];
  for (const length of [2, 3, 6, 9, 10, 14, 17, 18, 22]) {
    const data = Array.from({ length: length - 2 }, (_, i) => (i % 4 === 3 ? i / 4 + 1 : 0));
    const options = [5, length, ...data, ...TS];
    while (options.length % 4 !== 0) options.push(0);
    cases.push(edge(`TCP options: SACK of length ${length} then timestamps`, E, withTcpOptions(options)));
  }
  for (const option of [
    [7, 2, 0, 0],
    [7, 3, 4, 0],
    [7, 0x30, 4, 0],
    [0x44, 3, 5, 0],
    [0x44, 8, 5, 1, 0, 0, 0, 0],
    [0x94, 2, 0, 0],
    [0x94, 4, 0, 0],
    [0x88, 3, 0, 0],
    [0x82, 4, 0, 0],
    [1, 1, 1, 7],
    [0x99, 1, 0, 0],
    [0, 7, 7, 7],
  ]) {
    cases.push(edge(`IP option ${option.map((b) => b.toString(16)).join(' ')}`, E, ethernet(ipv4(U, { options: Uint8Array.from(option) }))));
  }

  // ICMP errors and what they quote.
  const segment = ipv4(tcp(ascii('hello world'), { flags: 0x12, options: Uint8Array.from([2, 4, 5, 0xb4, 1, 1, ...TS, 1, 1, ...sackOption([5, 9])]) }), {
    protocol: 6,
  });
  for (let n = 0; n <= segment.length; n += 1) cases.push(edge(`port unreachable quoting ${n} bytes of TCP`, E, quote(3, 3, segment.slice(0, n))));
  const echo = ipv4(icmp(8, 0, [0x12, 0x34, 0, 5], ascii('abcdefgh')), { protocol: 1 });
  for (let n = 20; n <= echo.length; n += 1) cases.push(edge(`time exceeded quoting ${n} bytes of an echo`, E, quote(11, 0, echo.slice(0, n))));
  const datagram = ipv4(udp(ascii('x'.repeat(100))));
  for (const n of [20, 22, 24, 26, 27, 28, 60]) cases.push(edge(`port unreachable quoting ${n} bytes of UDP`, E, quote(3, 3, datagram.slice(0, n))));
  cases.push(
    edge('fragmentation needed with MTU', E, quote(3, 4, datagram.slice(0, 28), [0, 0, 0x05, 0xdc])),
    edge('redirect', E, quote(5, 1, datagram.slice(0, 28), [10, 0, 0, 254])),
    edge('parameter problem', E, quote(12, 0, datagram.slice(0, 28), [20, 0, 0, 0])),
    edge('error quoting a later fragment', E, quote(3, 3, ipv4(repeat(0x7a, 40), { flagsFragment: 0x2000 | 10 }).slice(0, 28))),
    edge('error quoting a first fragment', E, quote(3, 3, ipv4(U, { flagsFragment: 0x2000 }))),
    edge('error quoting total length 0', E, quote(3, 3, ipv4(U, { totalLength: 0 }))),
    edge('error quoting IHL 4', E, quote(3, 3, ipv4(U, { ihl: 4 }))),
    edge('error quoting version 5', E, quote(3, 3, ipv4(U, { version: 5 }))),
    edge('error quoting garbage', E, quote(3, 3, concatBytes(Uint8Array.from([0x45]), repeat(0, 30)))),
    edge('error quoting an error', E, quote(3, 3, ipv4(icmp(3, 3, [0, 0, 0, 0], ipv4(U)), { protocol: 1 }))),
    edge('error quoting UDP length 4', E, quote(3, 3, ipv4(udp(ascii('x'.repeat(20)), { length: 4 })))),
    edge('error quoting IP options', E, quote(3, 3, ipv4(U, { options: Uint8Array.from([1, 1, 1, 0]) }))),
    edge('error quoting TCP data offset 3', E, quote(3, 3, ipv4(tcp(new Uint8Array(0), { dataOffset: 3 }), { protocol: 6 }))),
    edge('error quoting a TCP segment cut short', E, quote(3, 3, ipv4(tcp(new Uint8Array(0)), { protocol: 6, totalLength: 500 }))),
    edge('error with an empty quote', E, quote(3, 3, new Uint8Array(0))),
  );
  for (let type = 0; type <= 44; type++) {
    cases.push(edge(`ICMP type ${type}`, E, ethernet(ipv4(icmp(type, 0, [0x12, 0x34, 0, 5], datagram.slice(0, 48)), { protocol: 1 }))));
  }
  return cases;
}

/** Hand-made frames of the other link types. */
export function otherLinkTypeCases(): EdgeCase[] {
  return [
    edge('SLL loopback device', 113, sll(ipv4(U), { hardwareType: 772, addressLength: 0, address: [0, 0, 0, 0, 0, 0, 0, 0] })),
    edge('SLL 802.2 protocol', 113, sll(Uint8Array.from([0x42, 0x42, 3, 0]), { protocol: 4 })),
    edge('SLL address length 20', 113, sll(ipv4(U), { addressLength: 20 })),
    edge('SLL IP-GRE device', 113, sll(ipv4(U), { hardwareType: 778, addressLength: 4, address: [10, 0, 0, 1, 0, 0, 0, 0] })),
    edge('SLL netlink', 113, sll(ipv4(U), { hardwareType: 824 })),
    edge('SLL IPv6', 113, sll(ipv6(udp(ascii('hi'))), { protocol: 0x86dd })),
    edge('SLL ARP cut short', 113, sll(Uint8Array.from([6, 4, 0, 1]), { protocol: 0x0806 })),
    edge('SLL bytes after the packet', 113, sll(concatBytes(ipv4(U), Uint8Array.from([0, 1, 2])))),
    edge(
      'SLL IP-GRE device with bytes after the packet',
      113,
      sll(concatBytes(ipv4(U), Uint8Array.from([9, 9])), { hardwareType: 778, addressLength: 4, address: [10, 0, 0, 1, 0, 0, 0, 0] }),
    ),
    edge('SLL address length 3', 113, sll(ipv4(U), { addressLength: 3, address: [0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 0] })),
    edge('SLL address length 8', 113, sll(ipv4(U), { addressLength: 8, address: [1, 2, 3, 4, 5, 6, 7, 8] })),
    edge('SLL Linux protocol 3 (Ethernet)', 113, sll(ethernet(ipv4(U)), { protocol: 3 })),
    edge('SLL protocol 0x0600', 113, sll(ipv4(U), { protocol: 0x0600 })),
    edge('SLL unknown EtherType', 113, sll(ipv4(U), { protocol: 0x1234 })),
    edge('RAW IPv6', 101, ipv6(udp(ascii('hello')))),
    edge('RAW version 5', 101, ipv4(U, { version: 5 })),
    edge('RAW IHL 4', 101, ipv4(U, { ihl: 4 })),
    edge('RAW empty', 101, new Uint8Array(0)),
    edge('RAW with trailing bytes', 101, concatBytes(ipv4(U), repeat(0xee, 7))),
    edge('IPv4 link IPv6', 228, ipv6(udp(ascii('hello')))),
    edge('IPv4 link version 5', 228, ipv4(U, { version: 5 })),
    edge('IPv4 link version 0', 228, ipv4(U, { version: 0 })),
    edge('IPv4 link empty', 228, new Uint8Array(0)),
  ];
}

/** Linux cooked v2 frames (LINKTYPE_LINUX_SLL2): each header field at unusual values. */
export function sll2Cases(): EdgeCase[] {
  const L = 276;
  const cases = [
    edge('SLL2 IPv4 from a MAC', L, sll2(ipv4(U))),
    edge('SLL2 outgoing on interface 4294967295', L, sll2(ipv4(U), { packetType: 4, interfaceIndex: 0xffffffff })),
    edge('SLL2 unknown packet type 9', L, sll2(ipv4(U), { packetType: 9 })),
    edge('SLL2 TUN device (no address)', L, sll2(ipv4(U), { hardwareType: 65534, addressLength: 0, address: [0, 0, 0, 0, 0, 0, 0, 0] })),
    edge('SLL2 loopback device', L, sll2(ipv4(U), { hardwareType: 772, address: [0, 0, 0, 0, 0, 0, 0, 0], interfaceIndex: 1 })),
    edge('SLL2 IP-GRE device', L, sll2(ipv4(U), { hardwareType: 778, addressLength: 4, address: [192, 0, 2, 1, 0, 0, 0, 0] })),
    edge('SLL2 IP-GRE device with bytes after the packet', L, sll2(concatBytes(ipv4(U), Uint8Array.from([7, 7])), { hardwareType: 778, addressLength: 4 })),
    edge('SLL2 address length 3', L, sll2(ipv4(U), { addressLength: 3, address: [0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 0] })),
    edge('SLL2 address length 4 on Ethernet', L, sll2(ipv4(U), { addressLength: 4, address: [10, 1, 2, 3, 0, 0, 0, 0] })),
    edge('SLL2 address length 8', L, sll2(ipv4(U), { addressLength: 8, address: [1, 2, 3, 4, 5, 6, 7, 8] })),
    edge('SLL2 address length 255', L, sll2(ipv4(U), { addressLength: 255, address: [1, 2, 3, 4, 5, 6, 7, 8] })),
    edge('SLL2 reserved not zero', L, sll2(ipv4(U), { reserved: 0xbeef })),
    edge('SLL2 bytes after the packet', L, sll2(concatBytes(ipv4(U), Uint8Array.from([0, 1, 2])))),
    edge('SLL2 netlink', L, sll2(repeat(0, 16), { protocol: 0x0010, hardwareType: 824, addressLength: 0, address: [0, 0, 0, 0, 0, 0, 0, 0] })),
    edge('SLL2 802.2 protocol', L, sll2(Uint8Array.from([0x42, 0x42, 3, 0]), { protocol: 4 })),
    edge('SLL2 Linux protocol 3 (Ethernet)', L, sll2(ethernet(ipv4(U)), { protocol: 3 })),
    edge('SLL2 protocol 0x0600', L, sll2(ipv4(U), { protocol: 0x0600 })),
    edge('SLL2 protocol 0x05ff', L, sll2(ipv4(U), { protocol: 0x05ff })),
    edge('SLL2 unknown EtherType', L, sll2(ipv4(U), { protocol: 0x1234 })),
    edge('SLL2 IPv6', L, sll2(ipv6(udp(ascii('hi'))), { protocol: 0x86dd })),
    edge('SLL2 ARP', L, sll2(arp(1), { protocol: 0x0806, packetType: 1 })),
    edge('SLL2 ARP with zero sizes', L, sll2(repeat(0, 28), { protocol: 0x0806 })),
    edge('SLL2 802.1Q', L, sll2(concatBytes(Uint8Array.from([0x20, 0x07, 0x08, 0x00]), ipv4(U)), { protocol: 0x8100 })),
    edge('SLL2 Ethernet bridged (0x6558)', L, sll2(ethernet(ipv4(U)), { protocol: 0x6558 })),
    edge('SLL2 TCP', L, sll2(ipv4(tcp(ascii('GET /'), { flags: 0x18 }), { protocol: 6 }))),
  ];
  // Every header length, cut by the snapshot and short on the wire.
  cases.push(...truncations('SLL2 header', L, sll2(ipv4(U)).slice(0, 24)));
  cases.push(...truncations('SLL2 netlink header', L, sll2(new Uint8Array(4), { hardwareType: 824 })));
  return cases;
}

/** 802.1Q frames (tshark reads past the tag even with only our protocols enabled). */
export function vlanCases(): EdgeCase[] {
  return [
    edge('802.1Q UDP', 1, ethernetVlan(ipv4(U), 0xb005)),
    edge('802.1Q UDP padded to 60', 1, concatBytes(ethernetVlan(ipv4(U), 0x0005), repeat(0, 10))),
    edge('802.1Q ARP', 1, ethernetVlan(arp(2), 0x0064, 0x0806)),
    edge('802.1Q tag cut short', 1, ethernetVlan(new Uint8Array(0), 0x0005).slice(0, 16)),
    edge('802.1Q in 802.1Q', 1, ethernetVlan(concatBytes(Uint8Array.from([0x00, 0x07, 0x08, 0x00]), ipv4(U)), 0x0005, 0x8100)),
    edge('SLL 802.1Q', 113, sll(concatBytes(Uint8Array.from([0x20, 0x07, 0x08, 0x00]), ipv4(U)), { protocol: 0x8100 })),
  ];
}

/** `count` frames of random bytes for `linkType`, from seed `seed`. */
export function randomCases(linkType: number, seed: number, count: number): EdgeCase[] {
  const rng = new Rng(seed);
  const out: EdgeCase[] = [];
  for (let i = 0; i < count; i++) out.push(edge(`random ${linkType}/${seed}/${i}`, linkType, rng.bytes(rng.nextInt(0, 120))));
  return out;
}

/** How mutatedCases changes frames. */
export interface MutationOptions {
  /** Bytes are changed only among the first `window` (default 80: the headers). */
  readonly window?: number;
  /** Up to this many bytes change per frame (default 3). */
  readonly maxChanges?: number;
  /** Also cut some frames short at a random length, snapshot-cut or wire-short. */
  readonly cut?: boolean;
}

/**
 * `count` copies of real frames (at most 200 bytes of each) with a few bytes changed at random
 * (seeded): plausible headers with one or two wrong values, which reach deeper into the
 * dissector than random bytes do.
 */
export function mutatedCases(
  frames: readonly { data: Uint8Array; linkType: number }[],
  seed: number,
  count: number,
  options: MutationOptions = {},
): EdgeCase[] {
  const rng = new Rng(seed);
  const window = options.window ?? 80;
  const out: EdgeCase[] = [];
  for (let i = 0; i < count; i++) {
    const source = frames[rng.nextInt(0, frames.length)];
    const frame = source.data.slice(0, Math.min(source.data.length, 200));
    const changes = rng.nextInt(1, (options.maxChanges ?? 3) + 1);
    for (let c = 0; c < changes && frame.length > 0; c++) frame[rng.nextInt(0, Math.min(frame.length, window))] = rng.nextInt(0, 256);
    if (options.cut && rng.nextFloat() < 0.3) {
      const length = rng.nextInt(0, frame.length + 1);
      const snapshot = rng.nextFloat() < 0.5;
      out.push(edge(`mutated ${seed}/${i} cut to ${length}`, source.linkType, frame.slice(0, length), snapshot ? frame.length : length));
    } else {
      out.push(edge(`mutated ${seed}/${i}`, source.linkType, frame));
    }
  }
  return out;
}
