/**
 * The host's datagrams in a capture (UDP, and ICMP or ICMPv6: echo replies, errors): what reached
 * it, what its application did with UDP sockets, and what it sent — read so that
 * src/replay/replay.ts can play them into ustack and src/replay/datagram-compare.ts compare what
 * ustack sends. Both families: the host's address (`--host`) chooses which packets are read.
 *
 * The sockets are inferred as a TCP conversation's are: a port the host sent datagrams from was
 * a bound socket, and each datagram it sent was one `sendto` of the application at that time
 * (the bytes as captured); a port that received datagrams and answered none with an ICMP port
 * unreachable was bound too (an application that read and kept quiet). A port answered with a
 * port unreachable was closed: no socket, the stack answers (RFC 1122 §3.2.2.1, RFC 792; RFC 4443
 * §3.1). Echo requests are the stack's to answer (RFC 1122 §3.2.2.6, RFC 4443 §4.1): no application.
 */
import { formatIpv4Address, parseIpv4Address } from '../ip/address.js';
import { checksumIsValid, internetChecksum, ipv6PseudoHeaderSum, pseudoHeaderSum } from '../ip/checksum.js';
import { ipv6Bytes, ipv6Text, type IpAddress } from '../ip/ip-address.js';
import { formatIpv6Address, parseIpv6Address } from '../ip/ipv6-address.js';
import { IpProtocol, Ipv4Packet, parseIpv4 } from '../ip/ipv4.js';
import { Ipv6NextHeader, Ipv6Packet } from '../ip/ipv6.js';
import { ipv4PacketOfRecord, ipv6PacketOfRecord } from '../drill/pcap-to-script.js';
import type { CaptureRecord } from '../pcap/capture.js';
import { timestampToMs } from '../pcap/timestamp.js';

/**
 * The IP header's fields a replay reads, of either family. Over IPv6: `ttl` is the Hop Limit,
 * `protocol` the upper layer past the extension headers (a fragment's: its Fragment header's Next
 * Header), `dontFragment` true (no router fragments IPv6, RFC 8200 §4.5), and the fragment fields
 * the Fragment header's (none: offset 0, no M, identification 0).
 */
export interface PacketHeader {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** An IpAddress: IPv4 as its uint32, IPv6 as its RFC 5952 text (so `===` compares both). */
  readonly source: IpAddress;
  /** As `source`. */
  readonly destination: IpAddress;
  /** IPv4's Protocol, or IPv6's upper-layer Next Header. */
  readonly protocol: number;
  /** TTL or Hop Limit. */
  readonly ttl: number;
  /** DSCP of the TOS octet or Traffic Class. */
  readonly dscp: number;
  /** ECN of the TOS octet or Traffic Class. */
  readonly ecn: number;
  /** IPv4's DF bit; true for IPv6. */
  readonly dontFragment: boolean;
  /** IPv4's Identification, or the Fragment header's. */
  readonly identification: number;
  /** MF, or the Fragment header's M. */
  readonly moreFragments: boolean;
  /** The fragment's offset in bytes. */
  readonly fragmentOffset: number;
  /** The bytes after `headerLength`: a fragment's piece, or the transport bytes. */
  readonly payloadLength: number;
}

/** One IP packet of the capture that is not part of a TCP conversation. */
export interface CapturedPacket {
  /** Frame number, from 1 (in the capture, or in the replay's pcap for ustack's). */
  readonly frame: number;
  /** ms since the capture's first frame. */
  readonly timeMs: number;
  /** The packet's bytes, up to Total Length (IPv4) or 40 + Payload Length (IPv6). */
  readonly bytes: Uint8Array;
  /** Its IP header, read. */
  readonly ip: PacketHeader;
  /** Where the payload starts: past IPv4's options, past IPv6's extension headers (or its Fragment header). */
  readonly headerLength: number;
  /** IPv6's extension headers other than Fragment, as read (`destination-options [0x9e]`); empty for IPv4. */
  readonly extensionHeaders: readonly string[];
}

/** One datagram: an IP packet, or the fragments of one put together. */
export interface Datagram {
  /** Its frames, first fragment first. */
  readonly frames: readonly number[];
  /** When its first fragment travelled (ms since the capture's first frame). */
  readonly timeMs: number;
  /** The header of its first fragment (offset 0). */
  readonly ip: PacketHeader;
  /** The IPv4 header's raw options of its first fragment (empty for IPv6). */
  readonly ipOptions: Uint8Array;
  /** IPv6's extension headers of its first fragment, other than Fragment (empty for IPv4). */
  readonly extensionHeaders: readonly string[];
  /** The transport bytes: UDP header and data, or the ICMP message. */
  readonly payload: Uint8Array;
}

/** ICMPv6 messages of the link itself: MLD (RFC 2710, RFC 3810) and Neighbor Discovery (RFC 4861). */
const LINK_ICMPV6_TYPES: ReadonlySet<number> = new Set([130, 131, 132, 133, 134, 135, 136, 137, 143]);

/** The packet a frame carries, if IPv4 or IPv6 (not checked beyond its headers: replay plays it as captured). */
export function capturedPacket(bytes: Uint8Array, frame: number, timeMs: number): CapturedPacket | undefined {
  if (bytes.length > 0 && bytes[0] >> 4 === 6) return capturedPacket6(bytes, frame, timeMs);
  const packet = Ipv4Packet.checked(bytes);
  if (!packet.ok) return undefined;
  const ip = parseIpv4(packet.value, { verifyChecksum: false });
  if (!ip.ok) return undefined;
  const length = packet.value.headerLength + ip.value.payloadLength;
  const { source, destination, protocol, ttl, dscp, ecn, dontFragment, identification, moreFragments, fragmentOffset, payloadLength } = ip.value;
  return {
    frame,
    timeMs,
    bytes: bytes.subarray(0, length),
    ip: { family: 4, source, destination, protocol, ttl, dscp, ecn, dontFragment, identification, moreFragments, fragmentOffset, payloadLength },
    headerLength: packet.value.headerLength,
    extensionHeaders: [],
  };
}

/** The IPv6 extension headers a replay walks past besides Fragment (RFC 8200 §4): each one's length is all it needs. */
const EXTENSION_NAMES: Readonly<Record<number, string>> = {
  [Ipv6NextHeader.HOP_BY_HOP]: 'hop-by-hop',
  [Ipv6NextHeader.ROUTING]: 'routing',
  [Ipv6NextHeader.DESTINATION_OPTIONS]: 'destination-options',
};

/**
 * An IPv6 packet as captured, its extension headers walked by their lengths only — not by a
 * receiver's rules (parseIpv6ExtensionHeaders refuses a Routing header with Segments Left, and an
 * unknown option that asks for a Parameter Problem): the replay plays what arrived and lets
 * ustack judge it. The walk stops at a Fragment header of a piece after the first (only data
 * follows), at anything that is not an extension header (the upper layer), at the packet's end.
 */
function capturedPacket6(bytes: Uint8Array, frame: number, timeMs: number): CapturedPacket | undefined {
  const packet = Ipv6Packet.checked(bytes);
  if (!packet.ok) return undefined;
  const view = packet.value;
  const end = 40 + view.payloadLength;
  const headers: string[] = [];
  let next = view.nextHeader;
  let at = 40;
  let fragment: { offset: number; more: boolean; identification: number; dataAt: number; protocol: number } | undefined;
  for (let hops = 0; hops < 16; hops++) {
    if (next === Ipv6NextHeader.FRAGMENT) {
      if (at + 8 > end) return undefined;
      const offsetField = (bytes[at + 2] << 8) | bytes[at + 3];
      const piece = {
        offset: offsetField & 0xfff8,
        more: (offsetField & 1) === 1,
        identification: ((bytes[at + 4] << 24) | (bytes[at + 5] << 16) | (bytes[at + 6] << 8) | bytes[at + 7]) >>> 0,
        dataAt: at + 8,
        protocol: bytes[at],
      };
      next = bytes[at];
      at += 8;
      // An atomic fragment (offset 0, no M) is a whole packet (RFC 8021 §2); a piece of one is put
      // together first, from its Fragment header's Next Header on (assembleDatagrams).
      if (piece.offset !== 0 || piece.more) {
        fragment = piece;
        break;
      }
      continue;
    }
    const name = EXTENSION_NAMES[next];
    if (name === undefined || at + 2 > end) break;
    const length = (bytes[at + 1] + 1) * 8;
    if (at + length > end) break;
    headers.push(extensionText(next, bytes.subarray(at, at + length)));
    next = bytes[at];
    at += length;
  }
  const headerLength = fragment ? fragment.dataAt : at;
  return {
    frame,
    timeMs,
    bytes: bytes.subarray(0, end),
    ip: {
      family: 6,
      source: ipv6Text(view.source),
      destination: ipv6Text(view.destination),
      protocol: fragment ? fragment.protocol : next,
      ttl: view.hopLimit,
      dscp: view.dscp,
      ecn: view.ecn,
      dontFragment: true,
      identification: fragment?.identification ?? 0,
      moreFragments: fragment?.more ?? false,
      fragmentOffset: fragment?.offset ?? 0,
      payloadLength: end - headerLength,
    },
    headerLength,
    extensionHeaders: headers,
  };
}

/** `hop-by-hop [0x05]`, `destination-options [0x9e]`, `routing type 0 left 1`: the options' types, padding left out. */
function extensionText(kind: number, header: Uint8Array): string {
  if (kind === Ipv6NextHeader.ROUTING) return `routing type ${header[2]} left ${header[3]}`;
  const types: string[] = [];
  for (let at = 2; at < header.length;) {
    const type = header[at];
    if (type === 0) {
      at++;
      continue;
    }
    if (type !== 1) types.push(`0x${type.toString(16).padStart(2, '0')}`);
    at += 2 + (header[at + 1] ?? 0);
  }
  return `${EXTENSION_NAMES[kind]} [${types.join(' ')}]`;
}

/** True for MLD and Neighbor Discovery: the link's business (RFC 4861, RFC 3810), not an end host's traffic. */
export function isLinkIcmpv6(packet: CapturedPacket): boolean {
  return (
    packet.ip.family === 6 &&
    packet.ip.protocol === Ipv6NextHeader.ICMPV6 &&
    packet.ip.fragmentOffset === 0 &&
    !packet.ip.moreFragments &&
    packet.bytes.length > packet.headerLength &&
    LINK_ICMPV6_TYPES.has(packet.bytes[packet.headerLength])
  );
}

/**
 * The capture's packets of one family other than TCP's (UDP, ICMP or ICMPv6, fragments of them,
 * and whatever else an end host may be sent), in order. MLD and Neighbor Discovery are left out
 * (`linkFrames` lists them): the replay's interface is a point-to-point link with no neighbours.
 */
export function capturedPackets(records: readonly CaptureRecord[], originMs: number, family: 4 | 6 = 4): CapturedPacket[] {
  const packets: CapturedPacket[] = [];
  for (const record of records) {
    const bytes = family === 4 ? ipv4PacketOfRecord(record) : ipv6PacketOfRecord(record);
    // The link's type says the family; a packet whose version says otherwise is no packet of it.
    if (!bytes || bytes.length === 0 || bytes[0] >> 4 !== family) continue;
    const packet = capturedPacket(bytes, record.index + 1, timestampToMs(record) - originMs);
    if (!packet || packet.ip.protocol === IpProtocol.TCP || isLinkIcmpv6(packet)) continue;
    packets.push(packet);
  }
  return packets;
}

/** The frames of the capture that carry MLD or Neighbor Discovery. */
export function linkFrames(records: readonly CaptureRecord[]): number[] {
  const frames: number[] = [];
  for (const record of records) {
    const bytes = ipv6PacketOfRecord(record);
    const packet = bytes ? capturedPacket(bytes, record.index + 1, 0) : undefined;
    if (packet && isLinkIcmpv6(packet)) frames.push(packet.frame);
  }
  return frames;
}

/**
 * Puts fragments together (RFC 791 §3.2: same source, destination, protocol and identification;
 * each piece at its offset, the last one without MF). Whole packets are datagrams as they are;
 * a datagram some of whose fragments are missing is counted, not returned.
 */
export function assembleDatagrams(packets: readonly CapturedPacket[]): { datagrams: Datagram[]; incomplete: number } {
  const whole: Array<{ order: number; datagram: Datagram }> = [];
  const pending = new Map<string, { order: number; pieces: CapturedPacket[] }>();
  packets.forEach((packet, order) => {
    const { ip } = packet;
    if (!ip.moreFragments && ip.fragmentOffset === 0) {
      whole.push({ order, datagram: datagramOf([packet]) });
      return;
    }
    const key = `${ip.source}-${ip.destination}-${ip.protocol}-${ip.identification}`;
    const group = pending.get(key) ?? { order, pieces: [] };
    group.pieces.push(packet);
    pending.set(key, group);
    const sorted = [...group.pieces].sort((a, b) => a.ip.fragmentOffset - b.ip.fragmentOffset);
    let covered = 0;
    for (const piece of sorted) {
      if (piece.ip.fragmentOffset > covered) return;
      covered = Math.max(covered, piece.ip.fragmentOffset + piece.ip.payloadLength);
    }
    if (sorted[sorted.length - 1].ip.moreFragments || sorted[0].ip.fragmentOffset !== 0) return;
    pending.delete(key);
    whole.push({ order: group.order, datagram: datagramOf(sorted) });
  });
  whole.sort((a, b) => a.order - b.order);
  return { datagrams: whole.map((entry) => entry.datagram), incomplete: pending.size };
}

function datagramOf(pieces: readonly CapturedPacket[]): Datagram {
  const first = pieces[0];
  const size = Math.max(...pieces.map((p) => p.ip.fragmentOffset + p.ip.payloadLength));
  const payload = new Uint8Array(size);
  for (const piece of pieces) payload.set(piece.bytes.subarray(piece.headerLength), piece.ip.fragmentOffset);
  return {
    frames: [...pieces].sort((a, b) => a.frame - b.frame).map((p) => p.frame),
    timeMs: Math.min(...pieces.map((p) => p.timeMs)),
    ip: first.ip,
    ipOptions: first.ip.family === 4 ? first.bytes.subarray(20, first.headerLength) : new Uint8Array(0),
    extensionHeaders: first.extensionHeaders,
    payload,
  };
}

/** One `sendto` of the host's application on a UDP socket. */
export interface DatagramSend {
  /** ms after the capture's first frame. */
  readonly atMs: number;
  /** The capture frame it follows when several happen at one instant (default: every frame before atMs). */
  readonly afterFrame?: number;
  /** Where to: `10.1.1.1:44757`, `[fd00::1]:44757`. */
  readonly to: string;
  /** The datagram's data. */
  readonly data: Uint8Array;
}

/** A UDP socket of the host's application: bound to `port` on the host's address, and what it sent. */
export interface DatagramSocket {
  /** The UDP port the host's socket was bound to. */
  readonly port: number;
  /** What the application sent from it (one `sendto` each), in the capture's order. */
  readonly sends: readonly DatagramSend[];
}

const ICMP_DESTINATION_UNREACHABLE = 3;
const ICMP_PORT_UNREACHABLE = 3;
const ICMPV6_DESTINATION_UNREACHABLE = 1;
const ICMPV6_PORT_UNREACHABLE = 4;

/** True for an ICMP or ICMPv6 error message (RFC 792; RFC 4443 §2.1: types below 128), which quotes a datagram. */
export function isIcmpError(datagram: Pick<Datagram, 'ip' | 'payload'>): boolean {
  const type = datagram.payload[0];
  if (datagram.payload.length <= 8) return false;
  if (datagram.ip.family === 6) return datagram.ip.protocol === Ipv6NextHeader.ICMPV6 && type < 128;
  return datagram.ip.protocol === IpProtocol.ICMP && [3, 4, 5, 11, 12].includes(type);
}

/**
 * True for an error a node sends about a packet it was forwarding to someone else: Time Exceeded
 * in transit (RFC 792; RFC 4443 §3.3 code 0), Packet Too Big (RFC 4443 §3.2; IPv4's fragmentation
 * needed, RFC 1191), a destination unreachable for want of a route or of the neighbour (RFC 792
 * codes 0 and 1; RFC 4443 §3.1 codes 0, 1, 3). A port unreachable is an end host's.
 */
export function isForwardingError(datagram: Pick<Datagram, 'ip' | 'payload'>): boolean {
  if (!isIcmpError(datagram)) return false;
  const [type, code] = datagram.payload;
  if (datagram.ip.family === 6) return (type === 3 && code === 0) || type === 2 || (type === 1 && [0, 1, 3].includes(code));
  return (type === 11 && code === 0) || (type === 3 && [0, 1, 4].includes(code));
}

/** What an ICMP error's quote says of the datagram it is about: its protocol, destination and ports (when quoted). */
export interface QuotedDatagram {
  /** IPv4's Protocol, or IPv6's upper layer past the quoted extension headers. */
  readonly protocol: number;
  /** The quoted datagram's destination (undefined when the quote is too short for it). */
  readonly destination: IpAddress | undefined;
  /** Its TCP or UDP ports, when the quote reaches them. */
  readonly ports?: { readonly source: number; readonly destination: number };
}

/**
 * Reads an ICMP error's quote (RFC 792: the IP header and 8 bytes; RFC 4443 §2.4: as much of the
 * invoking packet as fits in the minimum MTU), of the family of the error: IPv4's header by its
 * IHL, IPv6's past the extension headers the quote holds (walked by their lengths).
 */
export function quotedDatagram(quoted: Uint8Array, family: 4 | 6): QuotedDatagram {
  let protocol: number;
  let at: number;
  let destination: IpAddress | undefined;
  if (family === 4) {
    at = (quoted[0] & 0x0f) * 4;
    protocol = quoted[9];
    destination = quoted.length >= 20 ? ((quoted[16] << 24) | (quoted[17] << 16) | (quoted[18] << 8) | quoted[19]) >>> 0 : undefined;
  } else {
    protocol = quoted[6];
    at = 40;
    destination = quoted.length >= 40 ? ipv6Text(quoted.subarray(24, 40)) : undefined;
    for (let hops = 0; hops < 16 && at + 8 <= quoted.length; hops++) {
      if (protocol === Ipv6NextHeader.FRAGMENT) {
        // A later piece holds no transport header.
        if ((((quoted[at + 2] << 8) | quoted[at + 3]) & 0xfff8) !== 0) return { protocol: quoted[at], destination };
        protocol = quoted[at];
        at += 8;
      } else if (EXTENSION_NAMES[protocol] !== undefined) {
        protocol = quoted[at];
        at += (quoted[at + 1] + 1) * 8;
      } else break;
    }
  }
  const hasPorts = (protocol === IpProtocol.UDP || protocol === IpProtocol.TCP) && quoted.length >= at + 4;
  return hasPorts
    ? { protocol, destination, ports: { source: (quoted[at] << 8) | quoted[at + 1], destination: (quoted[at + 2] << 8) | quoted[at + 3] } }
    : { protocol, destination };
}

/** UDP ports and data of a datagram's payload (undefined when too short to be UDP). */
export function udpOf(payload: Uint8Array): { srcPort: number; dstPort: number; data: Uint8Array } | undefined {
  if (payload.length < 8) return undefined;
  return { srcPort: (payload[0] << 8) | payload[1], dstPort: (payload[2] << 8) | payload[3], data: payload.subarray(8) };
}

/** The UDP destination port a port unreachable quotes (RFC 792: the IP header and 8 bytes of the datagram; RFC 4443 §3.1). */
function portUnreachableFor(datagram: Datagram): number | undefined {
  const icmp = datagram.payload;
  const [type, code] =
    datagram.ip.family === 6 ? [ICMPV6_DESTINATION_UNREACHABLE, ICMPV6_PORT_UNREACHABLE] : [ICMP_DESTINATION_UNREACHABLE, ICMP_PORT_UNREACHABLE];
  if (!isIcmpError(datagram) || icmp[0] !== type || icmp[1] !== code) return undefined;
  const quoted = quotedDatagram(icmp.subarray(8), datagram.ip.family);
  return quoted.protocol === IpProtocol.UDP ? quoted.ports?.destination : undefined;
}

/**
 * The host's UDP sockets as the capture shows them: each port it sent from, with its sends; each
 * port it received datagrams on and answered none with a port unreachable (a socket that only read).
 */
export function datagramSocketsOf(datagrams: readonly Datagram[], host: IpAddress): DatagramSocket[] {
  const sockets = new Map<number, DatagramSend[]>();
  const received = new Set<number>();
  const refused = new Set<number>();
  for (const datagram of datagrams) {
    if (datagram.ip.source === host) {
      const closed = portUnreachableFor(datagram);
      if (closed !== undefined) refused.add(closed);
    }
    if (datagram.ip.protocol !== IpProtocol.UDP) continue;
    const udp = udpOf(datagram.payload);
    if (!udp) continue;
    if (datagram.ip.source === host) {
      const sends = sockets.get(udp.srcPort) ?? [];
      sends.push({
        atMs: datagram.timeMs,
        afterFrame: datagram.frames[0] - 1,
        to: endpointText(datagram.ip.destination, udp.dstPort),
        data: udp.data,
      });
      sockets.set(udp.srcPort, sends);
    } else if (datagram.ip.destination === host) received.add(udp.dstPort);
  }
  for (const port of received) if (!refused.has(port) && !sockets.has(port)) sockets.set(port, []);
  return [...sockets].sort(([a], [b]) => a - b).map(([port, sends]) => ({ port, sends }));
}

/** `10.1.1.1:44757`, or `[fd00::1]:44757` (RFC 3986's brackets) for IPv6. */
export function endpointText(address: IpAddress, port: number): string {
  return typeof address === 'number' ? `${formatIpv4Address(address)}:${port}` : `[${address}]:${port}`;
}

/** `10.1.1.1:44757` or `[fd00::1]:44757` as an address (an IpAddress) and a port. */
export function parseEndpoint(text: string): { address: IpAddress; port: number } | undefined {
  const match = /^(?:(\d+\.\d+\.\d+\.\d+)|\[([0-9a-fA-F:.]+)\]):(\d+)$/.exec(text);
  if (!match || Number(match[3]) > 65535) return undefined;
  const port = Number(match[3]);
  if (match[1] !== undefined) {
    const address = parseIpv4Address(match[1]);
    return address === null ? undefined : { address, port };
  }
  const address = parseIpv6Address(match[2]);
  return address === null ? undefined : { address: formatIpv6Address(address), port };
}

/**
 * The packet that carries a captured packet to ustack: as captured (IP options, identification,
 * fragments), except a checksum that does not verify, computed again — a capture taken at the
 * sender with checksum offload on holds only the pseudo-header's sum (eth-offload.pcap,
 * sll2.pcap), which ustack would rightly drop. A fragment's transport checksum spans the
 * others: it goes in as captured.
 */
export function inboundPacket(packet: CapturedPacket): Uint8Array {
  const bytes = packet.bytes.slice();
  const { ip, headerLength } = packet;
  if (ip.family === 6) return inboundPacket6(packet, bytes);
  const header = bytes.subarray(0, headerLength);
  if (!checksumIsValid(header)) setChecksum(header, 10, internetChecksumWithout(header, 10));
  if (ip.moreFragments || ip.fragmentOffset !== 0) return bytes;
  const source = ip.source as number;
  const destination = ip.destination as number;
  const transport = bytes.subarray(headerLength);
  if (ip.protocol === IpProtocol.UDP && transport.length >= 8 && (transport[6] !== 0 || transport[7] !== 0)) {
    const pseudo = pseudoHeaderSum(source, destination, IpProtocol.UDP, transport.length);
    if (!checksumIsValid(transport, pseudo)) setChecksum(transport, 6, internetChecksumWithout(transport, 6, pseudo) || 0xffff);
  } else if (ip.protocol === IpProtocol.ICMP && transport.length >= 4 && !checksumIsValid(transport)) {
    setChecksum(transport, 2, internetChecksumWithout(transport, 2));
  }
  return bytes;
}

/**
 * inboundPacket's IPv6 half: no header checksum; UDP's (never 0 over IPv6, RFC 8200 §8.1) and
 * ICMPv6's (RFC 4443 §2.3) cover the pseudo-header. A packet with a Routing header is left as
 * captured: its pseudo-header names the final destination, which ustack may never reach.
 */
function inboundPacket6(packet: CapturedPacket, bytes: Uint8Array): Uint8Array {
  const { ip, headerLength } = packet;
  if (ip.moreFragments || ip.fragmentOffset !== 0 || packet.extensionHeaders.some((h) => h.startsWith('routing'))) return bytes;
  const transport = bytes.subarray(headerLength);
  const at = ip.protocol === IpProtocol.UDP && transport.length >= 8 ? 6 : ip.protocol === Ipv6NextHeader.ICMPV6 && transport.length >= 4 ? 2 : -1;
  if (at < 0) return bytes;
  const pseudo = ipv6PseudoHeaderSum(ipv6Bytes(ip.source as string), ipv6Bytes(ip.destination as string), ip.protocol, transport.length);
  if (!checksumIsValid(transport, pseudo)) setChecksum(transport, at, internetChecksumWithout(transport, at, pseudo) || (at === 6 ? 0xffff : 0));
  return bytes;
}

/** The checksum of `bytes` with the 16-bit field at `at` taken as zero. */
function internetChecksumWithout(bytes: Uint8Array, at: number, initial = 0): number {
  const copy = bytes.slice();
  copy[at] = 0;
  copy[at + 1] = 0;
  return internetChecksum(copy, initial);
}

function setChecksum(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >> 8;
  bytes[at + 1] = value & 0xff;
}

/**
 * An ICMP error the host sent quotes the datagram as the host received it; ustack received it as
 * inboundPacket played it (a checksum fixed). The host's quote of a packet that was played is
 * read as the played bytes, as a TCP conversation's numbers are mapped to ustack's.
 */
export function quoteAsPlayed(datagram: Datagram, played: ReadonlyArray<{ readonly captured: Uint8Array; readonly sent: Uint8Array }>): Datagram {
  const icmp = datagram.payload;
  if (!isIcmpError(datagram)) return datagram;
  const quote = icmp.subarray(8);
  const source = played.find(({ captured }) => captured.length >= quote.length && quote.every((byte, i) => captured[i] === byte));
  if (!source) return datagram;
  const payload = icmp.slice();
  payload.set(source.sent.subarray(0, quote.length), 8);
  return { ...datagram, payload };
}
