/**
 * Frames for the fuzzer, built from the codecs' own Reprs (so a well-formed frame is exactly what
 * the stack's parsers expect) and then mutated: field-aware changes first (flags, sequence numbers
 * near the window edges, lengths, options, checksums right and wrong), then blind ones (bit
 * flips, truncations, extensions, splices of another frame).
 */
import { writeUint16 } from '../core/bytes.js';
import type { Rng } from '../core/rng.js';
import type { Ipv4Address } from '../ip/address.js';
import type { Ipv6Address } from '../ip/ipv6-address.js';
import { internetChecksum, pseudoHeaderSum } from '../ip/checksum.js';
import { emitIcmpv4, icmpv4Length, type Icmpv4Repr } from '../ip/icmpv4.js';
import { emitIpv4, ipv4HeaderLength, IpProtocol, type Ipv4Repr } from '../ip/ipv4.js';
import type { Ipv4Option } from '../ip/ipv4-options.js';
import { emitArp, ARP_PACKET_LENGTH, type ArpRepr } from '../link/arp.js';
import { emitEthernet, EtherType, ETHERNET_HEADER_LENGTH, type MacAddress } from '../link/ethernet.js';
import type { TcpOption } from '../tcp/tcp-options.js';
import { emitTcp, tcpLength, type TcpRepr } from '../tcp/tcp-packet.js';
import { emitUdp, udpLength, type UdpRepr } from '../udp/udp-packet.js';

/** Small helpers over the fuzzer's Rng. */
export class Dice {
  constructor(readonly rng: Rng) {}
  /** An integer in [0, n). */
  below(n: number): number {
    return (this.rng.nextU32() % n) >>> 0;
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.rng.nextU32() < p * 0x1_0000_0000;
  }
  u32(): number {
    return this.rng.nextU32();
  }
  u16(): number {
    return this.rng.nextU32() & 0xffff;
  }
  u8(): number {
    return this.rng.nextU32() & 0xff;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
  bytes(n: number): Uint8Array {
    return this.rng.bytes(n);
  }
  /** A length skewed toward small values (most segments are small; some are full-sized). */
  length(max: number): number {
    const r = this.below(8);
    if (r < 3) return 0;
    if (r < 6) return this.below(Math.min(max, 64) + 1);
    return this.below(max + 1);
  }
}

/** Header fields of an IPv4 packet; everything but the addresses and protocol has a default. */
export type IpFields = Partial<Omit<Ipv4Repr, 'payloadLength'>> & Pick<Ipv4Repr, 'source' | 'destination' | 'protocol'>;

/** An IPv4 packet around `payload`, header checksummed. */
export function ipv4Packet(fields: IpFields, payload: Uint8Array): Uint8Array {
  const repr: Ipv4Repr = {
    dscp: 0,
    ecn: 0,
    identification: 0,
    reservedFlag: false,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    options: [],
    ...fields,
    payloadLength: payload.length,
  };
  const headerLength = ipv4HeaderLength(repr);
  const packet = new Uint8Array(headerLength + payload.length);
  emitIpv4(repr, packet);
  packet.set(payload, headerLength);
  return packet;
}

/** A TCP segment (header and data), checksummed over the pseudo-header of its addresses' family. */
export function tcpSegment(repr: TcpRepr, source: Ipv4Address | Ipv6Address, destination: Ipv4Address | Ipv6Address): Uint8Array {
  const out = new Uint8Array(tcpLength(repr));
  emitTcp(repr, out, { source, destination });
  return out;
}

/**
 * The bare ACK a connection of ours sends at `seq` (SND.UNA, or near it), carrying `payload`:
 * what a router's ICMP error about our traffic quotes (RFC 792, RFC 4443 §3.2).
 */
export function ourSegment(
  connection: { readonly localPort: number; readonly remotePort: number; readonly rcvNxt: number },
  seq: number,
  payload: Uint8Array,
  source: Ipv4Address | Ipv6Address,
  destination: Ipv4Address | Ipv6Address,
): Uint8Array {
  const repr = {
    srcPort: connection.localPort,
    dstPort: connection.remotePort,
    seq,
    ack: connection.rcvNxt,
    flags: 0x010,
    window: 0,
    urgentPointer: 0,
    options: [],
    payload,
  };
  return tcpSegment(repr, source, destination);
}

/** A UDP datagram, checksummed. */
export function udpDatagram(repr: UdpRepr, source: Ipv4Address | Ipv6Address, destination: Ipv4Address | Ipv6Address): Uint8Array {
  const out = new Uint8Array(udpLength(repr));
  emitUdp(repr, out, { source, destination });
  return out;
}

/** An ICMP message, checksummed. */
export function icmpMessage(repr: Icmpv4Repr): Uint8Array {
  const out = new Uint8Array(icmpv4Length(repr));
  emitIcmpv4(repr, out);
  return out;
}

/** An Ethernet II frame around `payload`, padded to 60 bytes. */
export function ethernetFrame(destination: MacAddress, source: MacAddress, etherType: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(Math.max(60, ETHERNET_HEADER_LENGTH + payload.length));
  emitEthernet({ destination, source, etherType, vlan: null }, frame);
  frame.set(payload, ETHERNET_HEADER_LENGTH);
  return frame;
}

/** An ARP packet. */
export function arpPacket(repr: ArpRepr): Uint8Array {
  const out = new Uint8Array(ARP_PACKET_LENGTH);
  emitArp(repr, out);
  return out;
}

export { EtherType, IpProtocol };

// ---- field-aware choices ---------------------------------------------------------------------

/** Flag combinations worth trying, most of them the ones a state machine branches on. */
const FLAG_SETS = [
  0x010, 0x018, 0x011, 0x019, 0x002, 0x012, 0x004, 0x014, 0x001, 0x000, 0x003, 0x006, 0x007, 0x016, 0x017, 0x030, 0x0d0, 0x050, 0x090, 0x052, 0x0c2, 0x13f,
  0xfff,
];

/** TCP flags: a meaningful set most of the time, any 12 bits sometimes. */
export function tcpFlags(dice: Dice): number {
  return dice.chance(0.85) ? dice.pick(FLAG_SETS) : dice.u16() & 0xfff;
}

/**
 * A sequence number near `base`: exactly on it, just either side, at the edges of a window of
 * `window` bytes, half the sequence space away, or anywhere.
 */
export function nearEdge(dice: Dice, base: number, window: number): number {
  switch (dice.below(10)) {
    case 0:
    case 1:
    case 2:
      return base >>> 0;
    case 3:
      return (base + 1) >>> 0;
    case 4:
      return (base - 1) >>> 0;
    case 5:
      return (base + window + dice.below(3) - 1) >>> 0;
    case 6:
      return (base + dice.below(Math.max(1, window))) >>> 0;
    case 7:
      return (base - dice.below(70_000)) >>> 0;
    case 8:
      return (base + 0x8000_0000 + dice.below(3) - 1) >>> 0;
    default:
      return dice.u32();
  }
}

/** TCP options: valid ones in valid and odd combinations, raw unknown kinds, impossible lengths. */
export function tcpOptions(dice: Dice, near: { readonly ts: number; readonly seq: number }): TcpOption[] {
  const options: TcpOption[] = [];
  let room = 40;
  const add = (option: TcpOption, length: number) => {
    if (length <= room) {
      options.push(option);
      room -= length;
    }
  };
  const count = dice.below(5);
  for (let i = 0; i < count; i++) {
    switch (dice.below(9)) {
      case 0:
        add({ kind: 'maxSegmentSize', mss: dice.pick([0, 1, 64, 536, 1460, 65535, dice.u16()]) }, 4);
        break;
      case 1:
        add({ kind: 'windowScale', shiftCount: dice.pick([0, 1, 7, 14, 15, 255]) }, 3);
        break;
      case 2:
        add({ kind: 'sackPermitted' }, 2);
        break;
      case 3:
      case 4:
        add({ kind: 'timestamps', tsVal: nearEdge(dice, near.ts, 1000), tsEcr: dice.chance(0.5) ? 0 : dice.u32() }, 10);
        break;
      case 5: {
        const blocks = [];
        for (let k = 1 + dice.below(4); k > 0; k--) {
          const left = nearEdge(dice, near.seq, 65535);
          blocks.push({ leftEdge: left, rightEdge: dice.chance(0.8) ? (left + 1 + dice.below(3000)) >>> 0 : dice.u32() });
        }
        add({ kind: 'sack', blocks }, 2 + 8 * blocks.length);
        break;
      }
      case 6:
        add({ kind: 'noOperation' }, 1);
        break;
      case 7: {
        const data = dice.bytes(dice.below(6));
        add({ kind: 'raw', optionKind: dice.pick([6, 7, 9, 19, 28, 29, 30, 34, 253, 254, dice.u8()]), data }, 2 + data.length);
        break;
      }
      default: {
        const padding = new Uint8Array(dice.below(3));
        add({ kind: 'endOfList', padding }, 1 + padding.length);
      }
    }
  }
  return options;
}

/** IPv4 options: record route, timestamps (every flag), raw ones, end of list. */
export function ipv4Options(dice: Dice, address: Ipv4Address): Ipv4Option[] {
  const options: Ipv4Option[] = [];
  let room = 40;
  for (let i = dice.below(3); i >= 0; i--) {
    switch (dice.below(5)) {
      case 0: {
        const slots = 1 + dice.below(9);
        if (3 + 4 * slots > room) break;
        const route = Array.from({ length: slots }, () => (dice.chance(0.5) ? 0 : address));
        options.push({ kind: 'recordRoute', pointer: dice.pick([4, 4 + 4 * dice.below(slots + 1), dice.u8()]), route });
        room -= 3 + 4 * slots;
        break;
      }
      case 1: {
        const flag = dice.pick([0, 1, 3, dice.below(16)]);
        const size = flag === 0 ? 4 : 8;
        const slots = 1 + dice.below(4);
        if (4 + size * slots > room) break;
        const entries = Array.from({ length: slots }, () =>
          flag === 0 ? { timestamp: dice.u32() } : { address: dice.chance(0.5) ? address : dice.u32(), timestamp: 0 },
        );
        options.push({ kind: 'timestamp', pointer: dice.pick([5, 5 + size * dice.below(slots + 1), dice.u8()]), overflow: dice.below(16), flag, entries });
        room -= 4 + size * slots;
        break;
      }
      case 2: {
        const data = dice.bytes(dice.below(8));
        if (2 + data.length > room) break;
        options.push({ kind: 'raw', type: dice.pick([0x94, 0x83, 0x89, 0x82, dice.u8() | 2]), data });
        room -= 2 + data.length;
        break;
      }
      case 3:
        if (room >= 1) {
          options.push({ kind: 'noOperation' });
          room -= 1;
        }
        break;
      default:
        if (room >= 1) {
          options.push({ kind: 'endOfList', padding: new Uint8Array(0) });
          room -= 1;
        }
    }
  }
  return options;
}

// ---- blind mutations -------------------------------------------------------------------------

/** Offset of the IPv4 header in `frame` (0 on a TUN link, 14 after an Ethernet header). */
function ipStart(frame: Uint8Array, ethernet: boolean): number {
  return ethernet ? ETHERNET_HEADER_LENGTH : 0;
}

/**
 * Recomputes the IPv4 header checksum and, when the header and transport fit, the TCP/UDP/ICMP
 * checksum, so that a mutated frame gets past the integrity checks to the code behind them.
 */
export function fixChecksums(frame: Uint8Array, ethernet: boolean): void {
  const at = ipStart(frame, ethernet);
  if (frame.length < at + 20 || frame[at] >> 4 !== 4) return;
  const headerLength = (frame[at] & 0x0f) * 4;
  if (headerLength < 20 || at + headerLength > frame.length) return;
  writeUint16(frame, at + 10, 0);
  writeUint16(frame, at + 10, internetChecksum(frame, 0, at, at + headerLength));
  const totalLength = (frame[at + 2] << 8) | frame[at + 3];
  const end = Math.min(frame.length, at + totalLength);
  const fragmented = ((frame[at + 6] & 0x3f) | frame[at + 7]) !== 0;
  if (fragmented || end <= at + headerLength) return;
  const start = at + headerLength;
  const length = end - start;
  const source = ((frame[at + 12] << 24) | (frame[at + 13] << 16) | (frame[at + 14] << 8) | frame[at + 15]) >>> 0;
  const destination = ((frame[at + 16] << 24) | (frame[at + 17] << 16) | (frame[at + 18] << 8) | frame[at + 19]) >>> 0;
  switch (frame[at + 9]) {
    case IpProtocol.TCP:
      if (length < 20) return;
      writeUint16(frame, start + 16, 0);
      writeUint16(frame, start + 16, internetChecksum(frame, pseudoHeaderSum(source, destination, IpProtocol.TCP, length), start, end));
      return;
    case IpProtocol.UDP:
      if (length < 8) return;
      writeUint16(frame, start + 6, 0);
      writeUint16(frame, start + 6, internetChecksum(frame, pseudoHeaderSum(source, destination, IpProtocol.UDP, length), start, end) || 0xffff);
      return;
    case IpProtocol.ICMP:
      if (length < 8) return;
      writeUint16(frame, start + 2, 0);
      writeUint16(frame, start + 2, internetChecksum(frame, 0, start, end));
      return;
  }
}

/**
 * Blind mutations of a built frame: bit flips, byte overwrites with boundary values, header field
 * smashes (IHL, total length, data offset, UDP length), truncation, extension, a splice with
 * `other`. Returns the frame to send (possibly a new array).
 */
export function mutateBytes(dice: Dice, frame: Uint8Array, ethernet: boolean, other: Uint8Array | null): Uint8Array {
  let out = frame;
  const at = ipStart(frame, ethernet);
  const rounds = 1 + dice.below(3);
  for (let r = 0; r < rounds && out.length > 0; r++) {
    switch (dice.below(9)) {
      case 0:
      case 1: {
        const i = dice.below(out.length);
        out[i] ^= 1 << dice.below(8);
        break;
      }
      case 2: {
        const i = dice.below(out.length);
        out[i] = dice.pick([0, 1, 0x7f, 0x80, 0xff, dice.u8()]);
        break;
      }
      case 3: // IPv4 header length and total length
        if (out.length >= at + 4) {
          if (dice.chance(0.5)) out[at] = (out[at] & 0xf0) | dice.below(16);
          else writeUint16(out, at + 2, dice.pick([0, 19, 20, out.length - at - 1, out.length - at + 1, 65535, dice.u16()]) & 0xffff);
        }
        break;
      case 4: {
        // Transport header: TCP data offset or UDP length, whichever this is.
        const ipHeader = out.length > at ? (out[at] & 0x0f) * 4 : 0;
        const t = at + ipHeader;
        if (out.length >= t + 14 && out[at + 9] === IpProtocol.TCP) out[t + 12] = (dice.below(16) << 4) | (out[t + 12] & 0x0f);
        else if (out.length >= t + 6 && out[at + 9] === IpProtocol.UDP)
          writeUint16(out, t + 4, dice.pick([0, 7, 8, 9, out.length - t, out.length - t + 1, dice.u16()]));
        break;
      }
      case 5:
        out = out.subarray(0, dice.below(out.length));
        break;
      case 6: {
        const extended = new Uint8Array(out.length + 1 + dice.below(64));
        extended.set(out);
        extended.set(dice.bytes(extended.length - out.length), out.length);
        out = extended;
        break;
      }
      case 7:
        if (other && other.length > 0) {
          const cut = dice.below(out.length + 1);
          const from = dice.below(other.length);
          const spliced = new Uint8Array(cut + other.length - from);
          spliced.set(out.subarray(0, cut));
          spliced.set(other.subarray(from), cut);
          out = spliced;
        }
        break;
      default: {
        // Fragment bits and offset.
        if (out.length >= at + 8) writeUint16(out, at + 6, dice.pick([0x2000, 0x2000 | dice.below(0x2000), dice.below(0x2000), 0x8000, dice.u16()]));
        break;
      }
    }
  }
  return out;
}
