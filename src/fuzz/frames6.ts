/**
 * IPv6 frames for the fuzzer, built from the codecs' Reprs like the IPv4 ones in frames.ts: the
 * fixed header (RFC 8200 §3), extension-header chains (§4: Hop-by-Hop, Routing, Fragment,
 * Destination Options, with options of every action bit pattern, §4.2), ICMPv6 (RFC 4443), NDP
 * (RFC 4861) and MLD (RFC 3810, RFC 2710) messages; then IPv6-aware mutations (Payload Length,
 * Next Header, an extension header's length, the Fragment header's offset and M bit) and the
 * checksum fix-up over RFC 8200 §8.1's pseudo-header, so that a mutated packet reaches the code
 * behind the checksum.
 */
import { writeUint16 } from '../core/bytes.js';
import { internetChecksum, ipv6PseudoHeaderSum } from '../ip/checksum.js';
import { emitIcmpv6, icmpv6Length, type Icmpv6Repr } from '../ip/icmpv6.js';
import { ipv6FromGroups, type Ipv6Address } from '../ip/ipv6-address.js';
import { emitIpv6, IPV6_HEADER_LENGTH, Ipv6NextHeader, type Ipv6Repr } from '../ip/ipv6.js';
import {
  emitIpv6ExtensionHeaders,
  firstNextHeader,
  ipv6ExtensionHeadersLength,
  type Ipv6ExtensionHeader,
  type Ipv6Option,
} from '../ip/ipv6-extension-headers.js';
import type { MldRepr } from '../ip/mld.js';
import type { NdpOption, NdpRepr } from '../ip/ndp.js';
import { ETHERNET_HEADER_LENGTH } from '../link/ethernet.js';
import type { Dice } from './frames.js';

/** Header fields of an IPv6 packet; everything but the addresses and next header has a default. */
export type Ip6Fields = Partial<Omit<Ipv6Repr, 'payloadLength' | 'nextHeader'>> & Pick<Ipv6Repr, 'source' | 'destination'>;

/**
 * An IPv6 packet: the fixed header, the extension headers `chain` (in order, each naming the
 * next), then `payload` of upper layer `upperLayer`.
 */
export function ipv6Packet(fields: Ip6Fields, upperLayer: number, payload: Uint8Array, chain: readonly Ipv6ExtensionHeader[] = []): Uint8Array {
  const chainLength = ipv6ExtensionHeadersLength(chain);
  const repr: Ipv6Repr = {
    dscp: 0,
    ecn: 0,
    flowLabel: 0,
    hopLimit: 64,
    ...fields,
    nextHeader: firstNextHeader(chain, upperLayer),
    payloadLength: chainLength + payload.length,
  };
  const packet = new Uint8Array(IPV6_HEADER_LENGTH + chainLength + payload.length);
  emitIpv6(repr, packet);
  emitIpv6ExtensionHeaders(chain, upperLayer, packet.subarray(IPV6_HEADER_LENGTH));
  packet.set(payload, IPV6_HEADER_LENGTH + chainLength);
  return packet;
}

/** An ICMPv6 message, checksummed over the pseudo-header of `source` → `destination`. */
export function icmpv6Message(repr: Icmpv6Repr, source: Ipv6Address, destination: Ipv6Address): Uint8Array {
  const out = new Uint8Array(icmpv6Length(repr));
  emitIcmpv6(repr, out, source, destination);
  return out;
}

/** Well-known multicast groups (RFC 4291 §2.7.1) and the odd scopes the layer must refuse (0, 1). */
export const ALL_NODES = ipv6FromGroups([0xff02, 0, 0, 0, 0, 0, 0, 1]);
export const ALL_ROUTERS = ipv6FromGroups([0xff02, 0, 0, 0, 0, 0, 0, 2]);
export const MLDV2_ROUTERS = ipv6FromGroups([0xff02, 0, 0, 0, 0, 0, 0, 0x16]);
const INTERFACE_LOCAL_ALL_NODES = ipv6FromGroups([0xff01, 0, 0, 0, 0, 0, 0, 1]);
const RESERVED_SCOPE_GROUP = ipv6FromGroups([0xff00, 0, 0, 0, 0, 0, 0, 1]);
const GLOBAL_GROUP = ipv6FromGroups([0xff0e, 0, 0, 0, 0, 0, 0, 0x101]);
export const UNSPECIFIED = new Uint8Array(16);
export const LOOPBACK = ipv6FromGroups([0, 0, 0, 0, 0, 0, 0, 1]);

/** The solicited-node group of `address` (RFC 4291 §2.7.1). */
export function solicitedNode(address: Ipv6Address): Ipv6Address {
  return ipv6FromGroups([0xff02, 0, 0, 0, 0, 1, 0xff00 | address[13], (address[14] << 8) | address[15]]);
}

/** Destinations worth aiming at besides our own address: multicast of every scope, others, loopback. */
export function oddDestinations6(ours: Ipv6Address, dice: Dice): Ipv6Address[] {
  return [
    ALL_NODES,
    ALL_ROUTERS,
    solicitedNode(ours),
    INTERFACE_LOCAL_ALL_NODES,
    RESERVED_SCOPE_GROUP,
    GLOBAL_GROUP,
    LOOPBACK,
    UNSPECIFIED,
    ipv6FromGroups([0xfd00, 0x99, 0, 0, 0, 0, 0, 1]),
    ipv6FromGroups([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7]),
    ipv6FromGroups([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]),
    dice.bytes(16),
  ];
}

/** Sources a hostile peer might write: multicast (refused, RFC 4291 §2.7), ours, ::, ::1, mapped, link-local, anyone. */
export function oddSources6(ours: Ipv6Address, peer: Ipv6Address, dice: Dice): Ipv6Address[] {
  return [
    ALL_NODES,
    ours,
    UNSPECIFIED,
    LOOPBACK,
    ipv6FromGroups([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0002]),
    ipv6FromGroups([0xfe80, 0, 0, 0, 0, 0, 0, 2]),
    ipv6FromGroups([peer[0] << 8, 0, 0, 0, 0, 0, 0, dice.u16()]),
    dice.bytes(16),
  ];
}

// ---- extension headers -----------------------------------------------------------------------

/** An option of a Hop-by-Hop or Destination Options header: padding, Router Alert, every action pattern (RFC 8200 §4.2). */
function option(dice: Dice): Ipv6Option {
  switch (dice.below(8)) {
    case 0:
      return { type: 0, data: new Uint8Array(0) }; // Pad1
    case 1:
      return { type: 1, data: new Uint8Array(dice.pick([0, 1, 4, 5, 6, 8])) }; // PadN, sometimes too long
    case 2:
      return { type: 1, data: dice.bytes(1 + dice.below(4)) }; // PadN with non-zero data
    case 3:
      return { type: 5, data: new Uint8Array([0, dice.pick([0, 1, 2, 0xff])]) }; // Router Alert (RFC 2711)
    case 4:
      return { type: 5, data: dice.bytes(dice.below(5)) }; // Router Alert of the wrong length
    case 5:
      // Unrecognized, each action: 00 skip, 01 discard, 10 discard + error, 11 discard + error unless multicast.
      return { type: (dice.below(4) << 6) | (dice.below(2) << 5) | (2 + dice.below(30)), data: dice.bytes(dice.below(12)) };
    case 6:
      return { type: 0xc2, data: dice.bytes(dice.pick([4, 0, 2])) }; // Jumbo Payload (RFC 2675, not supported)
    default:
      return { type: dice.u8(), data: dice.bytes(dice.below(20)) };
  }
}

function options(dice: Dice): Ipv6Option[] {
  return Array.from({ length: dice.below(4) }, () => option(dice));
}

/**
 * One extension header: Hop-by-Hop and Destination Options with options, a Routing header (type
 * 0 refused per RFC 5095, 2, 4, others; segments left 0 skipped, or not), or a Fragment header
 * (atomic mostly: offset 0, M clear, RFC 8021).
 */
export function extensionHeader(dice: Dice): Ipv6ExtensionHeader {
  switch (dice.below(5)) {
    case 0:
      return { kind: 'hopByHop', options: options(dice) };
    case 1:
    case 2:
      return { kind: 'destinationOptions', options: options(dice) };
    case 3:
      return {
        kind: 'routing',
        routingType: dice.pick([0, 0, 2, 3, 4, dice.u8()]),
        segmentsLeft: dice.pick([0, 0, 1, 2, dice.u8()]),
        data: dice.bytes(4 + 8 * dice.below(4)),
      };
    default:
      return {
        kind: 'fragment',
        reserved: dice.chance(0.9) ? 0 : dice.u8(),
        fragmentOffset: dice.chance(0.8) ? 0 : 8 * dice.below(8192),
        reservedBits: dice.chance(0.9) ? 0 : dice.below(4),
        moreFragments: dice.chance(0.1),
        identification: dice.u32(),
      };
  }
}

/** A chain of extension headers: mostly the order RFC 8200 §4.1 recommends, sometimes any order, repeats, Hop-by-Hop late. */
export function extensionChain(dice: Dice): Ipv6ExtensionHeader[] {
  const chain = Array.from({ length: 1 + dice.below(4) }, () => extensionHeader(dice));
  if (dice.chance(0.6)) {
    const rank = { hopByHop: 0, destinationOptions: 1, routing: 2, fragment: 3 } as const;
    chain.sort((a, b) => rank[a.kind] - rank[b.kind]);
  }
  return chain;
}

// ---- ICMPv6 ----------------------------------------------------------------------------------

/** NDP options (RFC 4861 §4.6): link-layer addresses, prefixes, MTU, a redirected header, others; some of odd lengths. */
export function ndpOptions(dice: Dice, quoted: () => Uint8Array): NdpOption[] {
  return Array.from({ length: dice.below(4) }, (): NdpOption => {
    switch (dice.below(7)) {
      case 0:
        return { kind: 'sourceLinkLayerAddress', address: dice.chance(0.9) ? new Uint8Array([2, 0, 0, 0, 0, 2]) : dice.bytes(6 + 8 * dice.below(2)) };
      case 1:
        return { kind: 'targetLinkLayerAddress', address: dice.chance(0.9) ? new Uint8Array([2, 0, 0, 0, 0, 2]) : dice.bytes(6 + 8 * dice.below(2)) };
      case 2:
        return {
          kind: 'prefixInformation',
          prefixLength: dice.pick([64, 64, 0, 48, 128, dice.u8()]),
          onLink: dice.chance(0.7),
          autonomous: dice.chance(0.7),
          otherFlags: dice.chance(0.9) ? 0 : dice.below(32),
          validLifetime: dice.pick([0, 7200, 0xffffffff, dice.u32()]),
          preferredLifetime: dice.pick([0, 3600, 0xffffffff, dice.u32()]),
          reserved: 0,
          prefix: dice.chance(0.5) ? ipv6FromGroups([0xfd00, 0xf, 0, 0, 0, 0, 0, 0]) : dice.bytes(16),
        };
      case 3:
        return { kind: 'mtu', reserved: 0, mtu: dice.pick([0, 1279, 1280, 1500, 9000, 65535, dice.u32()]) };
      case 4: {
        const packet = quoted();
        return { kind: 'redirectedHeader', reserved: new Uint8Array(6), packet: packet.subarray(0, packet.length - (packet.length % 8)) };
      }
      default:
        return { kind: 'other', type: dice.pick([14, 24, 25, 31, dice.u8()]), data: dice.bytes(6 + 8 * dice.below(3)) };
    }
  });
}

/** An NDP message (RFC 4861 §4): RS, RA, NS (address resolution, NUD, DAD), NA, Redirect. */
export function ndpMessage(dice: Dice, ours: Ipv6Address, peer: Ipv6Address, quoted: () => Uint8Array): NdpRepr {
  const target = dice.pick([ours, ours, peer, ALL_NODES, dice.bytes(16)]);
  switch (dice.below(5)) {
    case 0:
      return { kind: 'routerSolicitation', reserved: 0, options: ndpOptions(dice, quoted) };
    case 1:
      return {
        kind: 'routerAdvertisement',
        currentHopLimit: dice.pick([0, 64, 255, 1]),
        managedAddressConfiguration: dice.chance(0.2),
        otherConfiguration: dice.chance(0.2),
        otherFlags: dice.chance(0.8) ? 0 : dice.below(64),
        routerLifetime: dice.pick([0, 1800, 9000, 65535]),
        reachableTime: dice.pick([0, 30_000, 1, 0xffffffff]),
        retransTimer: dice.pick([0, 1000, 1, 0xffffffff]),
        options: ndpOptions(dice, quoted),
      };
    case 2:
      return { kind: 'neighborSolicitation', reserved: 0, target, options: ndpOptions(dice, quoted) };
    case 3:
      return {
        kind: 'neighborAdvertisement',
        router: dice.chance(0.3),
        solicited: dice.chance(0.5),
        override: dice.chance(0.5),
        reserved: 0,
        target,
        options: ndpOptions(dice, quoted),
      };
    default:
      return {
        kind: 'redirect',
        reserved: 0,
        target: dice.pick([peer, ipv6FromGroups([0xfe80, 0, 0, 0, 0, 0, 0, 2])]),
        destination: target,
        options: ndpOptions(dice, quoted),
      };
  }
}

/** An MLD message: MLDv2 and MLDv1 queries (general, for a group, with sources), reports and dones (RFC 3810, RFC 2710). */
export function mldMessage(dice: Dice, groups: readonly Ipv6Address[]): MldRepr {
  const group = dice.pick([...groups, UNSPECIFIED, ALL_NODES, dice.bytes(16)]);
  switch (dice.below(4)) {
    case 0:
    case 1: {
      const version = dice.chance(0.7) ? 2 : 1;
      return {
        kind: 'mldQuery',
        version,
        maximumResponseCode: dice.pick([0, 1, 1000, 10_000, 0x8000, 0xffff]),
        reserved: 0,
        multicastAddress: group,
        flagsReserved: 0,
        suppressRouterProcessing: dice.chance(0.2),
        robustness: dice.below(8),
        queryIntervalCode: dice.u8(),
        sources: version === 2 ? Array.from({ length: dice.below(3) }, () => dice.bytes(16)) : [],
      };
    }
    case 2:
      return { kind: dice.chance(0.5) ? 'mldv1Report' : 'mldv1Done', maximumResponseDelay: 0, reserved: 0, multicastAddress: group };
    default:
      return {
        kind: 'mldv2Report',
        reserved: 0,
        records: Array.from({ length: 1 + dice.below(3) }, () => ({
          recordType: 1 + dice.below(7),
          multicastAddress: dice.pick([group, ...groups]),
          sources: Array.from({ length: dice.below(3) }, () => dice.bytes(16)),
          auxiliaryData: new Uint8Array(0),
        })),
      };
  }
}

// ---- blind mutations and the checksum fix-up -------------------------------------------------

/** Where the upper layer of an IPv6 packet at `at` begins, following the chain; null when fragmented or unparsable. */
function upperLayerOf(frame: Uint8Array, at: number): { readonly start: number; readonly nextHeader: number } | null {
  let nextHeader = frame[at + 6];
  let offset = at + IPV6_HEADER_LENGTH;
  for (let hops = 0; hops < 16; hops++) {
    if (nextHeader === Ipv6NextHeader.FRAGMENT) {
      if (offset + 8 > frame.length) return null;
      const offsetAndMore = (frame[offset + 2] << 8) | frame[offset + 3];
      if (offsetAndMore !== 0) return null; // a fragment: no checksum can be fixed on a piece
      nextHeader = frame[offset];
      offset += 8;
      continue;
    }
    if (nextHeader === Ipv6NextHeader.HOP_BY_HOP || nextHeader === Ipv6NextHeader.ROUTING || nextHeader === Ipv6NextHeader.DESTINATION_OPTIONS) {
      if (offset + 2 > frame.length) return null;
      nextHeader = frame[offset];
      offset += 8 * (frame[offset + 1] + 1);
      continue;
    }
    return offset <= frame.length ? { start: offset, nextHeader } : null;
  }
  return null;
}

/**
 * Recomputes the TCP, UDP or ICMPv6 checksum of the IPv6 packet at `at` (0 on TUN, after the
 * Ethernet header on TAP) over the pseudo-header (RFC 8200 §8.1), when the chain can be followed
 * and the packet is not a fragment. The upper-layer length is what Payload Length leaves after
 * the extension headers, cut to the bytes present.
 */
export function fixChecksums6(frame: Uint8Array, ethernet: boolean): void {
  const at = ethernet ? ETHERNET_HEADER_LENGTH : 0;
  if (frame.length < at + IPV6_HEADER_LENGTH || frame[at] >> 4 !== 6) return;
  const upper = upperLayerOf(frame, at);
  if (!upper) return;
  const end = Math.min(frame.length, at + IPV6_HEADER_LENGTH + ((frame[at + 4] << 8) | frame[at + 5]));
  const length = end - upper.start;
  const source = frame.subarray(at + 8, at + 24);
  const destination = frame.subarray(at + 24, at + 40);
  const field =
    upper.nextHeader === Ipv6NextHeader.TCP && length >= 20
      ? 16
      : upper.nextHeader === Ipv6NextHeader.UDP && length >= 8
        ? 6
        : upper.nextHeader === Ipv6NextHeader.ICMPV6 && length >= 4
          ? 2
          : -1;
  if (field < 0) return;
  writeUint16(frame, upper.start + field, 0);
  const sum = internetChecksum(frame, ipv6PseudoHeaderSum(source, destination, upper.nextHeader, length), upper.start, end);
  writeUint16(frame, upper.start + field, upper.nextHeader === Ipv6NextHeader.UDP ? sum || 0xffff : sum);
}

/**
 * Field-aware smashes of an IPv6 packet: Payload Length (0, one off, past the frame, 65535),
 * Next Header (an extension header, an unknown protocol, No Next Header), the first extension
 * header's Hdr Ext Len, a Fragment header's offset and M bit, the version nibble, the Hop Limit.
 */
export function mutateIpv6Fields(dice: Dice, frame: Uint8Array, ethernet: boolean): void {
  const at = ethernet ? ETHERNET_HEADER_LENGTH : 0;
  if (frame.length < at + IPV6_HEADER_LENGTH) return;
  const payload = frame.length - at - IPV6_HEADER_LENGTH;
  switch (dice.below(6)) {
    case 0:
      writeUint16(frame, at + 4, dice.pick([0, 1, 7, payload - 1, payload + 1, payload + 8, 65535, dice.u16()]) & 0xffff);
      return;
    case 1:
      frame[at + 6] = dice.pick([0, 43, 44, 60, 59, 50, 51, 135, 253, 4, 41, 58, 6, 17, dice.u8()]);
      return;
    case 2: {
      // The first extension header's length byte, or the byte naming the next header.
      const h = at + IPV6_HEADER_LENGTH;
      if (frame.length >= h + 2) frame[h + dice.below(2)] = dice.pick([0, 1, 2, 0xff, dice.u8()]);
      return;
    }
    case 3: {
      // A Fragment header wherever the chain has one: offset and M.
      for (let i = at + IPV6_HEADER_LENGTH; i + 8 <= frame.length; i += 8) {
        if (dice.chance(0.3)) {
          writeUint16(frame, i + 2, dice.pick([0x0001, 0xfff9, 0x0000, dice.u16()]));
          return;
        }
      }
      return;
    }
    case 4:
      frame[at] = (dice.pick([4, 0, 7, 15]) << 4) | (frame[at] & 0x0f);
      return;
    default:
      frame[at + 7] = dice.pick([0, 1, 255]);
  }
}
