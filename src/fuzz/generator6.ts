/**
 * The fuzzer's IPv6 frames, beside fuzzer.ts's IPv4 ones: segments to the IPv6 listeners and
 * closed ports, UDP to the IPv6 sockets, ICMPv6 (echo; errors quoting live connections and
 * sockets: Packet Too Big with every MTU, unreachables, time exceeded, parameter problems;
 * unknown types), NDP and MLD messages, fragments of the seeded packets and fresh ones
 * (overlaps, duplicates, atomic fragments, first fragments without the upper-layer header),
 * extension-header chains of every kind before TCP, UDP and ICMPv6, and the kernel's IPv6
 * captures readdressed. Each IP header now and then has odd sources and destinations, Hop Limits,
 * traffic classes and flow labels, trailing bytes, or a broken checksum.
 */
import { ipFamily } from '../ip/ip-address.js';
import { Icmpv6Type } from '../ip/icmpv6.js';
import { Ipv6NextHeader } from '../ip/ipv6.js';
import type { Ipv6ExtensionHeader } from '../ip/ipv6-extension-headers.js';
import { ipv6MulticastMac, type Ipv6Address } from '../ip/ipv6-address.js';
import { MAC_BROADCAST } from '../link/ethernet.js';
import type { TcpConnection } from '../tcp/connection.js';
import { type Dice, nearEdge, ourSegment, tcpFlags, tcpOptions, tcpSegment, udpDatagram } from './frames.js';
import {
  ALL_NODES,
  extensionChain,
  fixChecksums6,
  icmpv6Message,
  ipv6Packet,
  mldMessage,
  MLDV2_ROUTERS,
  ndpMessage,
  oddDestinations6,
  oddSources6,
  solicitedNode,
  type Ip6Fields,
} from './frames6.js';
import { LISTENER6_PORTS, UDP6_PORTS, type Target } from './world.js';

/** IPv6 frames, drawn from the fuzzer's dice. */
export class Ipv6FrameGenerator {
  /** Whether the last frame's checksums are all right. */
  checksumsRight = true;

  constructor(
    private readonly dice: Dice,
    /** Kernel IPv6 frames of each medium (captures/fixtures/ipv6). */
    private readonly fixtures: { readonly ip: readonly Uint8Array[]; readonly ethernet: readonly Uint8Array[] },
  ) {}

  /** One IPv6 frame for `target` and the name of its generator. */
  frame(target: Target, connectionSegment: () => { segment: Uint8Array } | null): [string, Uint8Array] {
    const dice = this.dice;
    this.checksumsRight = true;
    const r = dice.below(100);
    if (r < 30) {
      const made = connectionSegment();
      if (made) return ['tcp6-connection', this.ip(target, Ipv6NextHeader.TCP, made.segment)];
    }
    if (r < 42) return ['tcp6-listener', this.ip(target, Ipv6NextHeader.TCP, this.tcpToListener(target))];
    if (r < 54) return ['udp6', this.udp(target)];
    if (r < 68) return ['icmpv6', this.ip(target, Ipv6NextHeader.ICMPV6, this.icmpv6Error(target))];
    if (r < 76) return ['ndp-mld', this.neighborOrListener(target)];
    if (r < 86) return ['fragment6', this.fragment(target)];
    if (r < 94) return ['exthdr6', this.chained(target)];
    return ['fixture6', this.fixture(target)];
  }

  /**
   * Wraps `payload` of `upperLayer` in IPv6 behind `chain`: from the peer to us mostly; odd
   * addresses, Hop Limits 0/1/255, traffic classes and flow labels now and then; trailing bytes
   * (3 %); a broken checksum (3 %).
   */
  ip(target: Target, upperLayer: number, payload: Uint8Array, chain: readonly Ipv6ExtensionHeader[] = [], extra: Partial<Ip6Fields> = {}): Uint8Array {
    const dice = this.dice;
    const fields: Ip6Fields = {
      source: dice.chance(0.95) ? target.peer6 : dice.pick(oddSources6(target.ours6, target.peer6, dice)),
      destination: dice.chance(0.93) ? target.ours6 : dice.pick(oddDestinations6(target.ours6, dice)),
      hopLimit: dice.chance(0.93) ? 64 : dice.pick([0, 1, 2, 255]),
      ecn: dice.chance(0.85) ? 0 : dice.below(4),
      dscp: dice.chance(0.9) ? 0 : dice.below(64),
      flowLabel: dice.chance(0.7) ? 0 : dice.u32() & 0xfffff,
      ...extra,
    };
    const packet = ipv6Packet(fields, upperLayer, payload, chain);
    if (dice.chance(0.03)) {
      // A broken upper-layer checksum: flip a byte past the chain.
      const at = packet.length - payload.length + (upperLayer === Ipv6NextHeader.TCP ? 16 : upperLayer === Ipv6NextHeader.UDP ? 6 : 2);
      if (at + 1 < packet.length) packet[at + dice.below(2)] ^= 1 + dice.below(255);
      this.checksumsRight = false;
    }
    const multicast = fields.destination[0] === 0xff;
    const mac =
      multicast && dice.chance(0.9) ? ipv6MulticastMac(fields.destination) : dice.chance(0.95) ? target.ourMac : dice.pick([MAC_BROADCAST, dice.bytes(6)]);
    if (dice.chance(0.03)) {
      const padded = new Uint8Array(packet.length + 1 + dice.below(40));
      padded.set(packet);
      padded.set(dice.bytes(padded.length - packet.length), packet.length);
      return target.frameIp(padded, mac);
    }
    return target.frameIp(packet, mac);
  }

  /** A segment to an IPv6 listener (mostly SYNs) or a closed port, or to an IPv4 listener's port over IPv6. */
  private tcpToListener(target: Target): Uint8Array {
    const dice = this.dice;
    const { source, destination } = { source: target.peer6, destination: target.ours6 };
    return tcpSegment(
      {
        srcPort: dice.chance(0.5) ? 41_000 + dice.below(64) : dice.u16(),
        dstPort: dice.chance(0.85) ? dice.pick([...LISTENER6_PORTS, 80, 81]) : dice.u16(),
        seq: dice.u32(),
        ack: dice.chance(0.7) ? 0 : dice.u32(),
        flags: dice.chance(0.7) ? 0x002 : tcpFlags(dice),
        window: dice.pick([0, 1024, 65535, dice.u16()]),
        urgentPointer: 0,
        options: tcpOptions(dice, { ts: dice.u32(), seq: dice.u32() }),
        payload: dice.bytes(dice.chance(0.9) ? 0 : dice.length(1000)),
      },
      source,
      destination,
    );
  }

  /** UDP to the IPv6 sockets, the IPv4 sockets' ports (dual stack or not) and closed ports; a zero checksum now and then (refused over IPv6, RFC 8200 §8.1). */
  private udp(target: Target): Uint8Array {
    const dice = this.dice;
    const { source, destination } = { source: target.peer6, destination: target.ours6 };
    const datagram = udpDatagram(
      {
        sourcePort: dice.u16(),
        destinationPort: dice.pick([...UDP6_PORTS, ...UDP6_PORTS, 53, 5353, 7, dice.u16()]),
        payload: dice.bytes(dice.length(1452)),
      },
      source,
      destination,
    );
    if (dice.chance(0.05)) datagram.fill(0, 6, 8);
    return this.ip(target, Ipv6NextHeader.UDP, datagram);
  }

  /** An IPv6 connection of the target's to quote or aim at, or null. */
  private connection(target: Target): TcpConnection | null {
    const candidates = target.tracked.filter((t) => ipFamily(t.connection.remoteAddress) === 6);
    return candidates.length > 0 ? this.dice.pick(candidates).connection : null;
  }

  /** The start of a packet we might have sent: a live connection's segment or a UDP socket's datagram, cut anywhere. */
  private quote(target: Target): Uint8Array {
    const dice = this.dice;
    const { source, destination } = { source: target.ours6, destination: target.peer6 };
    const connection = dice.chance(0.8) ? this.connection(target) : null;
    let full: Uint8Array;
    if (connection) {
      const segment = ourSegment(connection, nearEdge(dice, connection.sndUna, 1000), dice.bytes(dice.below(64)), source, destination);
      full = ipv6Packet({ source, destination: dice.chance(0.9) ? destination : dice.bytes(16) }, dice.chance(0.95) ? Ipv6NextHeader.TCP : dice.u8(), segment);
    } else {
      const socket = target.udp6.length > 0 ? dice.pick(target.udp6).socket : null;
      const datagram = udpDatagram(
        { sourcePort: socket?.localPort ?? dice.u16(), destinationPort: dice.pick([53, 9]), payload: new Uint8Array(4) },
        source,
        destination,
      );
      const chain = dice.chance(0.2) ? extensionChain(dice) : [];
      full = ipv6Packet({ source, destination }, Ipv6NextHeader.UDP, datagram, chain);
    }
    return full.subarray(0, dice.pick([full.length, full.length, full.length, 40, 48, 60, 39, dice.below(full.length + 1)]));
  }

  /** ICMPv6 (RFC 4443): echo requests, errors about our packets, informational and unknown types. */
  private icmpv6Error(target: Target): Uint8Array {
    const dice = this.dice;
    const { source, destination } = { source: target.peer6, destination: target.ours6 };
    const message = (() => {
      switch (dice.below(9)) {
        case 0:
          return { kind: 'echoRequest' as const, identifier: dice.u16(), sequence: dice.u16(), data: dice.bytes(dice.length(1400)) };
        case 1:
        case 2:
          return {
            kind: 'packetTooBig' as const,
            code: dice.chance(0.9) ? 0 : dice.u8(),
            mtu: dice.pick([0, 68, 576, 1279, 1280, 1281, 1400, 1500, 9000, 65535, 0xffffffff, dice.u32()]),
            quoted: this.quote(target),
          };
        case 3:
          return { kind: 'destinationUnreachable' as const, code: dice.below(9), quoted: this.quote(target) };
        case 4:
          return { kind: 'timeExceeded' as const, code: dice.below(3), quoted: this.quote(target) };
        case 5:
          return { kind: 'parameterProblem' as const, code: dice.below(5), pointer: dice.pick([0, 4, 6, 7, 40, 42, dice.u32()]), quoted: this.quote(target) };
        case 6:
          return { kind: 'echoReply' as const, identifier: dice.u16(), sequence: dice.u16(), data: dice.bytes(dice.length(100)) };
        default:
          return {
            kind: 'other' as const,
            type: dice.pick([Icmpv6Type.DESTINATION_UNREACHABLE, 100, 101, 127, 139, 140, 200, 255, dice.u8()]),
            code: dice.u8(),
            body: dice.chance(0.5) ? this.quote(target) : dice.bytes(dice.below(64)),
          };
      }
    })();
    return icmpv6Message(message, source, destination);
  }

  /**
   * NDP (RFC 4861) and MLD (RFC 3810): from a link-local source with Hop Limit 255 mostly (as
   * §7.1 requires, so the checks behind it are reached), to the all-nodes, solicited-node or
   * our own address; MLD with the Router Alert Hop-by-Hop header it must carry.
   */
  private neighborOrListener(target: Target): Uint8Array {
    const dice = this.dice;
    const linkLocalPeer = target.ethernet ? target.peer6 : new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    const source = dice.pick([linkLocalPeer, linkLocalPeer, target.peer6, new Uint8Array(16), dice.bytes(16)]);
    const quoted = () => this.quote(target);
    const ndp = dice.chance(0.65);
    const repr = ndp ? ndpMessage(dice, target.ours6, target.peer6, quoted) : mldMessage(dice, [ALL_NODES, solicitedNode(target.ours6), dice.bytes(16)]);
    const destination: Ipv6Address = dice.pick(ndp ? [ALL_NODES, solicitedNode(target.ours6), target.ours6] : [ALL_NODES, MLDV2_ROUTERS, target.ours6]);
    const chain: Ipv6ExtensionHeader[] =
      !ndp && dice.chance(0.8)
        ? [
            {
              kind: 'hopByHop',
              options: [
                { type: 5, data: new Uint8Array(2) },
                { type: 1, data: new Uint8Array(0) },
              ],
            },
          ]
        : [];
    const message = icmpv6Message(repr, source, destination);
    return this.ip(target, Ipv6NextHeader.ICMPV6, message, chain, {
      source,
      destination,
      hopLimit: dice.chance(0.85) ? (ndp ? 255 : 1) : dice.pick([64, 254, 0]),
    });
  }

  /**
   * A fragment (RFC 8200 §4.5): the seeded packets' missing pieces, overlaps (RFC 5722),
   * duplicates, atomic fragments (RFC 8021), offsets up to 65 528, lengths not a multiple of 8
   * with M set, first fragments without the whole upper-layer header (RFC 7112), a packet in many
   * tiny fragments.
   */
  private fragment(target: Target): Uint8Array {
    const dice = this.dice;
    const seeded = target.fragmentIds6.length > 0 && dice.chance(0.4);
    const identification = seeded ? dice.pick(target.fragmentIds6) : dice.chance(0.8) ? 0x5000 + dice.below(16) : dice.u32();
    const datagram = target.fragmentDatagrams6.get(identification);
    if (seeded && datagram && dice.chance(0.5)) {
      // The exact rest of a seeded packet: reassembly completes and the datagram reaches its
      // socket. The peer first sends the first piece again, in case the one set up has timed out
      // (then it is an exact duplicate, dropped alone) — the frame itself may yet be mutated.
      const piece = (offset: number, data: Uint8Array, more: boolean) =>
        ipv6Packet({ source: target.peer6, destination: target.ours6 }, Ipv6NextHeader.UDP, data, [
          { kind: 'fragment', reserved: 0, fragmentOffset: offset, reservedBits: 0, moreFragments: more, identification },
        ]);
      target.deliverIp(piece(0, datagram.subarray(0, 600), true));
      return target.frameIp(piece(600, datagram.subarray(600), false));
    }
    const upperLayer = dice.pick([Ipv6NextHeader.UDP, Ipv6NextHeader.UDP, Ipv6NextHeader.TCP, Ipv6NextHeader.ICMPV6, Ipv6NextHeader.NO_NEXT_HEADER, 253]);
    const offset = 8 * dice.pick([0, 0, 75, 75, 150, 1 + dice.below(200), 8191 - dice.below(4), dice.below(8192)]);
    let data: Uint8Array;
    if (offset === 0 && upperLayer === Ipv6NextHeader.UDP && dice.chance(0.7)) {
      const { source, destination } = { source: target.peer6, destination: target.ours6 };
      const datagram = udpDatagram(
        { sourcePort: dice.u16(), destinationPort: dice.pick(UDP6_PORTS), payload: dice.bytes(600 + dice.below(2000)) },
        source,
        destination,
      );
      data = datagram.subarray(0, dice.chance(0.9) ? 8 * (1 + dice.below(150)) : dice.below(8)); // sometimes less than the UDP header
    } else {
      data = dice.bytes(dice.chance(0.8) ? 8 * (1 + dice.below(150)) : dice.below(1200));
    }
    const moreFragments = dice.chance(0.5);
    const chain: Ipv6ExtensionHeader[] = [];
    if (dice.chance(0.15)) chain.push({ kind: 'hopByHop', options: [] });
    if (dice.chance(0.15)) chain.push({ kind: 'destinationOptions', options: [{ type: 1, data: new Uint8Array(dice.below(6)) }] });
    chain.push({ kind: 'fragment', reserved: 0, fragmentOffset: offset, reservedBits: 0, moreFragments, identification });
    // After the Fragment header, now and then more headers (a chain split across fragments, RFC 7112).
    if (offset === 0 && dice.chance(0.15)) chain.push({ kind: 'destinationOptions', options: [{ type: 1, data: new Uint8Array(dice.below(300)) }] });
    return this.ip(target, upperLayer, data, chain, { source: dice.chance(0.9) ? target.peer6 : dice.bytes(16), destination: target.ours6 });
  }

  /** A chain of extension headers of every kind, in order or not, before a well-formed TCP, UDP or ICMPv6 message. */
  private chained(target: Target): Uint8Array {
    const dice = this.dice;
    const { source, destination } = { source: target.peer6, destination: target.ours6 };
    const chain = extensionChain(dice);
    switch (dice.below(4)) {
      case 0:
        return this.ip(target, Ipv6NextHeader.TCP, this.tcpToListener(target), chain);
      case 1: {
        const echo = icmpv6Message(
          { kind: 'echoRequest', identifier: dice.u16(), sequence: dice.u16(), data: dice.bytes(dice.length(200)) },
          source,
          destination,
        );
        return this.ip(target, Ipv6NextHeader.ICMPV6, echo, chain);
      }
      case 2:
        return this.ip(
          target,
          dice.pick([Ipv6NextHeader.NO_NEXT_HEADER, Ipv6NextHeader.ESP, Ipv6NextHeader.AH, Ipv6NextHeader.IPV6, Ipv6NextHeader.IPV4, 253, dice.u8()]),
          dice.bytes(dice.below(80)),
          chain,
        );
      default: {
        const datagram = udpDatagram(
          { sourcePort: dice.u16(), destinationPort: dice.pick(UDP6_PORTS), payload: dice.bytes(dice.length(400)) },
          source,
          destination,
        );
        return this.ip(target, Ipv6NextHeader.UDP, datagram, chain);
      }
    }
  }

  /** A kernel IPv6 frame of the target's medium, often readdressed to the target and aimed at a live port (checksums fixed). */
  private fixture(target: Target): Uint8Array {
    const dice = this.dice;
    const pool = target.ethernet ? this.fixtures.ethernet : this.fixtures.ip;
    if (pool.length === 0) return this.chained(target);
    const frame = dice.pick(pool).slice();
    const at = target.ethernet ? 14 : 0;
    if (frame.length < at + 40 || frame[at] >> 4 !== 6 || !dice.chance(0.7)) return frame;
    if (target.ethernet) {
      frame.set(target.ourMac, 0);
      frame.set(target.peerMac, 6);
    }
    frame.set(target.peer6, at + 8);
    // Multicast destinations (NDP, MLD) stay; unicast ones become ours.
    if (frame[at + 24] !== 0xff) frame.set(target.ours6, at + 24);
    if (frame[at + 6] === Ipv6NextHeader.TCP && frame.length >= at + 44 && dice.chance(0.5)) {
      const connection = this.connection(target);
      if (connection) {
        frame[at + 40] = connection.remotePort >> 8;
        frame[at + 41] = connection.remotePort & 0xff;
        frame[at + 42] = connection.localPort >> 8;
        frame[at + 43] = connection.localPort & 0xff;
      }
    }
    fixChecksums6(frame, target.ethernet);
    return frame;
  }
}
