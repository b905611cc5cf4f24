/**
 * The host's datagrams in a capture (UDP, and ICMP: echo replies, errors): what reached it, what
 * its application did with UDP sockets, and what it sent — read so that src/replay/replay.ts can
 * play them into ustack and src/replay/datagram-compare.ts compare what ustack sends.
 *
 * The sockets are inferred as a TCP conversation's are: a port the host sent datagrams from was
 * a bound socket, and each datagram it sent was one `sendto` of the application at that time
 * (the bytes as captured); a port that received datagrams and answered none with an ICMP port
 * unreachable was bound too (an application that read and kept quiet). A port answered with a
 * port unreachable was closed: no socket, the stack answers (RFC 1122 §3.2.2.1, RFC 792). Echo
 * requests are the stack's to answer (RFC 1122 §3.2.2.6): no application.
 */
import { formatIpv4Address, parseIpv4Address, type Ipv4Address } from '../ip/address.js';
import { checksumIsValid, internetChecksum, pseudoHeaderSum } from '../ip/checksum.js';
import { IpProtocol, Ipv4Packet, parseIpv4, type Ipv4Repr } from '../ip/ipv4.js';
import { ipv4PacketOfRecord } from '../drill/pcap-to-script.js';
import type { CaptureRecord } from '../pcap/capture.js';
import { timestampToMs } from '../pcap/timestamp.js';

/** One IPv4 packet of the capture that is not part of a TCP conversation. */
export interface CapturedPacket {
  /** Frame number, from 1 (in the capture, or in the replay's pcap for ustack's). */
  readonly frame: number;
  /** ms since the capture's first frame. */
  readonly timeMs: number;
  /** The IPv4 packet's bytes, up to Total Length. */
  readonly bytes: Uint8Array;
  readonly ip: Ipv4Repr;
  /** The IP header's length (options included). */
  readonly headerLength: number;
}

/** One datagram: an IPv4 packet, or the fragments of one put together. */
export interface Datagram {
  /** Its frames, first fragment first. */
  readonly frames: readonly number[];
  /** When its first fragment travelled (ms since the capture's first frame). */
  readonly timeMs: number;
  /** The header of its first fragment (offset 0). */
  readonly ip: Ipv4Repr;
  /** The IP header's raw options of its first fragment. */
  readonly ipOptions: Uint8Array;
  /** The transport bytes: UDP header and data, or the ICMP message. */
  readonly payload: Uint8Array;
}

/** The packet a frame carries, if IPv4 (not checked beyond its header: replay plays it as captured). */
export function capturedPacket(bytes: Uint8Array, frame: number, timeMs: number): CapturedPacket | undefined {
  const packet = Ipv4Packet.checked(bytes);
  if (!packet.ok) return undefined;
  const ip = parseIpv4(packet.value, { verifyChecksum: false });
  if (!ip.ok) return undefined;
  const length = packet.value.headerLength + ip.value.payloadLength;
  return { frame, timeMs, bytes: bytes.subarray(0, length), ip: ip.value, headerLength: packet.value.headerLength };
}

/** The capture's IPv4 packets other than TCP's (UDP, ICMP, and fragments of them), in order. */
export function capturedPackets(records: readonly CaptureRecord[], originMs: number): CapturedPacket[] {
  const packets: CapturedPacket[] = [];
  for (const record of records) {
    const bytes = ipv4PacketOfRecord(record);
    if (!bytes) continue;
    const packet = capturedPacket(bytes, record.index + 1, timestampToMs(record) - originMs);
    if (!packet || packet.ip.protocol === IpProtocol.TCP) continue;
    packets.push(packet);
  }
  return packets;
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
    ipOptions: first.bytes.subarray(20, first.headerLength),
    payload,
  };
}

/** One `sendto` of the host's application on a UDP socket. */
export interface DatagramSend {
  /** ms after the capture's first frame. */
  readonly atMs: number;
  /** The capture frame it follows when several happen at one instant (default: every frame before atMs). */
  readonly afterFrame?: number;
  /** Where to: `10.1.1.1:44757`. */
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

/** UDP ports and data of a datagram's payload (undefined when too short to be UDP). */
export function udpOf(payload: Uint8Array): { srcPort: number; dstPort: number; data: Uint8Array } | undefined {
  if (payload.length < 8) return undefined;
  return { srcPort: (payload[0] << 8) | payload[1], dstPort: (payload[2] << 8) | payload[3], data: payload.subarray(8) };
}

/** The UDP destination port a port unreachable quotes (RFC 792: the IP header and 8 bytes of the datagram). */
function portUnreachableFor(datagram: Datagram): number | undefined {
  const icmp = datagram.payload;
  if (datagram.ip.protocol !== IpProtocol.ICMP || icmp.length < 8 + 20 + 8) return undefined;
  if (icmp[0] !== ICMP_DESTINATION_UNREACHABLE || icmp[1] !== ICMP_PORT_UNREACHABLE) return undefined;
  const quoted = icmp.subarray(8);
  const headerLength = (quoted[0] & 0x0f) * 4;
  if (quoted[9] !== IpProtocol.UDP || quoted.length < headerLength + 4) return undefined;
  return (quoted[headerLength + 2] << 8) | quoted[headerLength + 3];
}

/**
 * The host's UDP sockets as the capture shows them: each port it sent from, with its sends; each
 * port it received datagrams on and answered none with a port unreachable (a socket that only read).
 */
export function datagramSocketsOf(datagrams: readonly Datagram[], host: Ipv4Address): DatagramSocket[] {
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
        to: `${formatIpv4Address(datagram.ip.destination)}:${udp.dstPort}`,
        data: udp.data,
      });
      sockets.set(udp.srcPort, sends);
    } else if (datagram.ip.destination === host) received.add(udp.dstPort);
  }
  for (const port of received) if (!refused.has(port) && !sockets.has(port)) sockets.set(port, []);
  return [...sockets].sort(([a], [b]) => a - b).map(([port, sends]) => ({ port, sends }));
}

/** `10.1.1.1:44757` as an address and a port. */
export function parseEndpoint(text: string): { address: Ipv4Address; port: number } | undefined {
  const match = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  const address = match ? parseIpv4Address(match[1]) : null;
  if (!match || address === null || Number(match[2]) > 65535) return undefined;
  return { address, port: Number(match[2]) };
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
  const header = bytes.subarray(0, headerLength);
  if (!checksumIsValid(header)) setChecksum(header, 10, internetChecksumWithout(header, 10));
  if (ip.moreFragments || ip.fragmentOffset !== 0) return bytes;
  const transport = bytes.subarray(headerLength);
  if (ip.protocol === IpProtocol.UDP && transport.length >= 8 && (transport[6] !== 0 || transport[7] !== 0)) {
    const pseudo = pseudoHeaderSum(ip.source, ip.destination, IpProtocol.UDP, transport.length);
    if (!checksumIsValid(transport, pseudo)) setChecksum(transport, 6, internetChecksumWithout(transport, 6, pseudo) || 0xffff);
  } else if (ip.protocol === IpProtocol.ICMP && transport.length >= 4 && !checksumIsValid(transport)) {
    setChecksum(transport, 2, internetChecksumWithout(transport, 2));
  }
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
  const isError = datagram.ip.protocol === IpProtocol.ICMP && icmp.length > 8 && [3, 4, 5, 11, 12].includes(icmp[0]);
  if (!isError) return datagram;
  const quote = icmp.subarray(8);
  const source = played.find(({ captured }) => captured.length >= quote.length && quote.every((byte, i) => captured[i] === byte));
  if (!source) return datagram;
  const payload = icmp.slice();
  payload.set(source.sent.subarray(0, quote.length), 8);
  return { ...datagram, payload };
}
