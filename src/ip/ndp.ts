/**
 * Neighbor Discovery messages and options (RFC 4861 §4): the bodies of ICMPv6 types 133–137
 * after the 4-byte ICMPv6 header (src/ip/icmpv6.ts carries them).
 *
 *   Router Solicitation (133, §4.1)       Reserved (32) | options
 *   Router Advertisement (134, §4.2)      Cur Hop Limit | M|O|other flags | Router Lifetime (16)
 *                                         Reachable Time (32) | Retrans Timer (32) | options
 *   Neighbor Solicitation (135, §4.3)     Reserved (32) | Target Address (128) | options
 *   Neighbor Advertisement (136, §4.4)    R|S|O| Reserved (29) | Target Address (128) | options
 *   Redirect (137, §4.5)                  Reserved (32) | Target Address | Destination Address | options
 *
 *   Options (§4.6): Type (8) | Length (8, in units of 8 bytes, the type and length included) | data
 *     1 Source Link-Layer Address, 2 Target Link-Layer Address (§4.6.1): the address
 *     3 Prefix Information (§4.6.2): Prefix Length | L|A|R(RFC 6275)|Reserved1 | Valid Lifetime (32)
 *       | Preferred Lifetime (32) | Reserved2 (32) | Prefix (128)
 *     4 Redirected Header (§4.6.3): Reserved (48) | the start of the redirected packet
 *     5 MTU (§4.6.4): Reserved (16) | MTU (32)
 *
 * Reserved fields are kept so that parse→emit is exact; the validity checks of §6.1, §7.1 and
 * §8.1 that need only the message are made by `parseNdpBody`, those that need the IP header
 * (hop limit 255, addresses) by `checkNdpIpHeader`.
 */
import { readUint16, readUint32, writeUint16, writeUint32 } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import {
  ipv6PrefixMatches,
  isIpv6Multicast,
  isLinkLocalUnicast,
  isUnspecifiedAddress,
  readIpv6Address,
  solicitedNodeAddress,
  writeIpv6Address,
  type Ipv6Address,
} from './ipv6-address.js';

/** ff02::1:ff00:0/104, the solicited-node groups (RFC 4291 §2.7.1). */
const SOLICITED_NODE_PREFIX = solicitedNodeAddress(new Uint8Array(16));

/** NDP option types (RFC 4861 §4.6; IANA "IPv6 Neighbor Discovery Option Formats"). */
export const NdpOptionType = {
  /** Source Link-Layer Address (§4.6.1). */
  SOURCE_LINK_LAYER_ADDRESS: 1,
  /** Target Link-Layer Address (§4.6.1). */
  TARGET_LINK_LAYER_ADDRESS: 2,
  /** Prefix Information (§4.6.2). */
  PREFIX_INFORMATION: 3,
  /** Redirected Header (§4.6.3). */
  REDIRECTED_HEADER: 4,
  /** MTU (§4.6.4). */
  MTU: 5,
} as const;

/** One NDP option as plain data. */
export type NdpOption =
  | {
      /** Source (type 1) or Target (type 2) Link-Layer Address (RFC 4861 §4.6.1). */
      readonly kind: 'sourceLinkLayerAddress' | 'targetLinkLayerAddress';
      /** The option's data: the link-layer address (6 bytes on Ethernet, RFC 2464 §8) and any padding after it. */
      readonly address: Uint8Array;
    }
  | {
      /** Prefix Information (type 3, RFC 4861 §4.6.2). */
      readonly kind: 'prefixInformation';
      /** Prefix Length: leading bits of `prefix` that are valid, 0 to 128. */
      readonly prefixLength: number;
      /** L: the prefix is on-link. */
      readonly onLink: boolean;
      /** A: the prefix may be used for stateless autoconfiguration (RFC 4862 §5.5.3). */
      readonly autonomous: boolean;
      /** The other five bits of the flags octet: R (router address, RFC 6275 §7.2) and Reserved1. */
      readonly otherFlags: number;
      /** Valid Lifetime in seconds; 0xffffffff is infinity. */
      readonly validLifetime: number;
      /** Preferred Lifetime in seconds; 0xffffffff is infinity. */
      readonly preferredLifetime: number;
      /** Reserved2, zero on the wire. */
      readonly reserved: number;
      /** The prefix (bits past Prefix Length are to be ignored). */
      readonly prefix: Ipv6Address;
    }
  | {
      /** Redirected Header (type 4, RFC 4861 §4.6.3). */
      readonly kind: 'redirectedHeader';
      /** The six reserved bytes before the packet, zero on the wire. */
      readonly reserved: Uint8Array;
      /** As much of the redirected packet as fits, IPv6 header first. */
      readonly packet: Uint8Array;
    }
  | {
      /** MTU (type 5, RFC 4861 §4.6.4). */
      readonly kind: 'mtu';
      /** The 16 reserved bits, zero on the wire. */
      readonly reserved: number;
      /** The link's MTU. */
      readonly mtu: number;
    }
  | {
      /** Any other option, or a known one of a length its typed form cannot hold: kept verbatim. */
      readonly kind: 'other';
      /** The option type. */
      readonly type: number;
      /** The bytes after type and length (8 × Length − 2 of them). */
      readonly data: Uint8Array;
    };

/** A Neighbor Discovery message (the body after type, code and checksum). */
export type NdpRepr =
  | {
      /** Router Solicitation (133, §4.1). */
      readonly kind: 'routerSolicitation';
      /** The reserved word, zero on the wire. */
      readonly reserved: number;
      /** Options: Source Link-Layer Address when the source address is not unspecified. */
      readonly options: readonly NdpOption[];
    }
  | {
      /** Router Advertisement (134, §4.2). */
      readonly kind: 'routerAdvertisement';
      /** Cur Hop Limit: the Hop Limit hosts should use, 0 when unspecified. */
      readonly currentHopLimit: number;
      /** M: addresses are available via DHCPv6. */
      readonly managedAddressConfiguration: boolean;
      /** O: other configuration is available via DHCPv6. */
      readonly otherConfiguration: boolean;
      /** The other six bits: H (RFC 6275), Prf (RFC 4191 §2.2), P (RFC 4389), reserved. */
      readonly otherFlags: number;
      /** Router Lifetime in seconds; 0: not a default router. */
      readonly routerLifetime: number;
      /** Reachable Time in ms; 0 when unspecified. */
      readonly reachableTime: number;
      /** Retrans Timer in ms; 0 when unspecified. */
      readonly retransTimer: number;
      /** Options: Source Link-Layer Address, MTU, Prefix Information. */
      readonly options: readonly NdpOption[];
    }
  | {
      /** Neighbor Solicitation (135, §4.3). */
      readonly kind: 'neighborSolicitation';
      /** The reserved word, zero on the wire. */
      readonly reserved: number;
      /** Target Address: the address whose link-layer address is sought; never multicast. */
      readonly target: Ipv6Address;
      /** Options: Source Link-Layer Address (never with an unspecified source: DAD, §7.1.1). */
      readonly options: readonly NdpOption[];
    }
  | {
      /** Neighbor Advertisement (136, §4.4). */
      readonly kind: 'neighborAdvertisement';
      /** R: the sender is a router. */
      readonly router: boolean;
      /** S: sent in answer to a Neighbor Solicitation. */
      readonly solicited: boolean;
      /** O: override an existing cache entry. */
      readonly override: boolean;
      /** The 29 reserved bits, zero on the wire. */
      readonly reserved: number;
      /** Target Address: the address the advertisement is about. */
      readonly target: Ipv6Address;
      /** Options: Target Link-Layer Address. */
      readonly options: readonly NdpOption[];
    }
  | {
      /** Redirect (137, §4.5). */
      readonly kind: 'redirect';
      /** The reserved word, zero on the wire. */
      readonly reserved: number;
      /** Target Address: the better first hop (link-local), or the destination itself when on-link. */
      readonly target: Ipv6Address;
      /** Destination Address: the destination being redirected. */
      readonly destination: Ipv6Address;
      /** Options: Target Link-Layer Address, Redirected Header. */
      readonly options: readonly NdpOption[];
    };

/** The ICMPv6 types of NDP messages. */
export const NdpType = {
  /** Router Solicitation (RFC 4861 §4.1): a host asks routers to advertise now. */
  ROUTER_SOLICITATION: 133,
  /** Router Advertisement (RFC 4861 §4.2): a router's presence, prefixes and link parameters. */
  ROUTER_ADVERTISEMENT: 134,
  /** Neighbor Solicitation (RFC 4861 §4.3): address resolution, reachability, DAD. */
  NEIGHBOR_SOLICITATION: 135,
  /** Neighbor Advertisement (RFC 4861 §4.4): the answer to a solicitation, or news of a change. */
  NEIGHBOR_ADVERTISEMENT: 136,
  /** Redirect (RFC 4861 §4.5): a router names a better first hop. */
  REDIRECT: 137,
} as const;

/** The fixed part of each message's body (after the 4-byte ICMPv6 header). */
const FIXED_BODY: Readonly<Record<number, number>> = { 133: 4, 134: 12, 135: 20, 136: 20, 137: 36 };

/** Reads the options of a message (RFC 4861 §4.6): an option of length 0 or one that runs past the message is refused ('badOption', §6.1, §7.1). */
export function parseNdpOptions(bytes: Uint8Array): Result<NdpOption[], DecodeError> {
  const options: NdpOption[] = [];
  for (let i = 0; i < bytes.length;) {
    if (i + 2 > bytes.length) return decodeFail('ndp', 'badOption', `an option at ${i} has no length byte`);
    const type = bytes[i];
    const length = bytes[i + 1] * 8;
    if (length === 0) return decodeFail('ndp', 'badOption', `option ${type} at ${i} has length 0 (RFC 4861 §4.6)`);
    if (i + length > bytes.length) return decodeFail('ndp', 'badOption', `option ${type} at ${i} is ${length} bytes, ${bytes.length - i} are left`);
    const data = bytes.subarray(i + 2, i + length);
    options.push(typedOption(type, data));
    i += length;
  }
  return ok(options);
}

function typedOption(type: number, data: Uint8Array): NdpOption {
  switch (type) {
    case NdpOptionType.SOURCE_LINK_LAYER_ADDRESS:
      return { kind: 'sourceLinkLayerAddress', address: data };
    case NdpOptionType.TARGET_LINK_LAYER_ADDRESS:
      return { kind: 'targetLinkLayerAddress', address: data };
    case NdpOptionType.PREFIX_INFORMATION:
      if (data.length !== 30) break; // §4.6.2: Length is 4
      return {
        kind: 'prefixInformation',
        prefixLength: data[0],
        onLink: (data[1] & 0x80) !== 0,
        autonomous: (data[1] & 0x40) !== 0,
        otherFlags: data[1] & 0x3f,
        validLifetime: readUint32(data, 2),
        preferredLifetime: readUint32(data, 6),
        reserved: readUint32(data, 10),
        prefix: readIpv6Address(data, 14),
      };
    case NdpOptionType.REDIRECTED_HEADER:
      return { kind: 'redirectedHeader', reserved: data.subarray(0, 6), packet: data.subarray(6) };
    case NdpOptionType.MTU:
      if (data.length !== 6) break; // §4.6.4: Length is 1
      return { kind: 'mtu', reserved: readUint16(data, 0), mtu: readUint32(data, 2) };
  }
  return { kind: 'other', type, data };
}

/** Bytes an option takes: its data rounded up to the 8-byte units its Length counts. */
export function ndpOptionLength(option: NdpOption): number {
  switch (option.kind) {
    case 'sourceLinkLayerAddress':
    case 'targetLinkLayerAddress':
      return (2 + option.address.length + 7) & ~7;
    case 'prefixInformation':
      return 32;
    case 'redirectedHeader':
      return (8 + option.packet.length + 7) & ~7;
    case 'mtu':
      return 8;
    case 'other':
      return (2 + option.data.length + 7) & ~7;
  }
}

/** Writes one option at the start of `out`, zero-padded to its length; returns that length. */
export function emitNdpOption(option: NdpOption, out: Uint8Array): number {
  const length = ndpOptionLength(option);
  out.fill(0, 0, length);
  out[1] = length / 8;
  switch (option.kind) {
    case 'sourceLinkLayerAddress':
    case 'targetLinkLayerAddress':
      out[0] = option.kind === 'sourceLinkLayerAddress' ? NdpOptionType.SOURCE_LINK_LAYER_ADDRESS : NdpOptionType.TARGET_LINK_LAYER_ADDRESS;
      out.set(option.address, 2);
      break;
    case 'prefixInformation':
      out[0] = NdpOptionType.PREFIX_INFORMATION;
      out[2] = option.prefixLength;
      out[3] = (option.onLink ? 0x80 : 0) | (option.autonomous ? 0x40 : 0) | (option.otherFlags & 0x3f);
      writeUint32(out, 4, option.validLifetime >>> 0);
      writeUint32(out, 8, option.preferredLifetime >>> 0);
      writeUint32(out, 12, option.reserved >>> 0);
      writeIpv6Address(out, 16, option.prefix);
      break;
    case 'redirectedHeader':
      out[0] = NdpOptionType.REDIRECTED_HEADER;
      out.set(option.reserved.subarray(0, 6), 2);
      out.set(option.packet, 8);
      break;
    case 'mtu':
      out[0] = NdpOptionType.MTU;
      writeUint16(out, 2, option.reserved);
      writeUint32(out, 4, option.mtu >>> 0);
      break;
    case 'other':
      out[0] = option.type;
      out.set(option.data, 2);
      break;
  }
  return length;
}

/**
 * Reads the body (after the ICMPv6 header) of NDP message `type` with `code`. Refuses a code
 * other than 0 ('badField': §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1), a body shorter than the
 * fixed part ('truncated'), bad option lengths ('badOption'), a multicast target of an NS or NA
 * ('badField', §7.1.1, §7.1.2) and a multicast Redirect destination ('badField', §8.1).
 */
export function parseNdpBody(type: number, code: number, body: Uint8Array): Result<NdpRepr, DecodeError> {
  const fixed = FIXED_BODY[type];
  if (fixed === undefined) return decodeFail('ndp', 'unsupported', `ICMPv6 type ${type} is not a Neighbor Discovery message`);
  if (code !== 0) return decodeFail('ndp', 'badField', `code ${code} of ICMPv6 type ${type} is not 0 (RFC 4861 §6.1, §7.1, §8.1)`);
  if (body.length < fixed) return decodeFail('ndp', 'truncated', `ICMPv6 type ${type} needs ${4 + fixed} bytes, has ${4 + body.length}`);
  const options = parseNdpOptions(body.subarray(fixed));
  if (!options.ok) return options;
  switch (type) {
    case NdpType.ROUTER_SOLICITATION:
      return ok({ kind: 'routerSolicitation', reserved: readUint32(body, 0), options: options.value });
    case NdpType.ROUTER_ADVERTISEMENT:
      return ok({
        kind: 'routerAdvertisement',
        currentHopLimit: body[0],
        managedAddressConfiguration: (body[1] & 0x80) !== 0,
        otherConfiguration: (body[1] & 0x40) !== 0,
        otherFlags: body[1] & 0x3f,
        routerLifetime: readUint16(body, 2),
        reachableTime: readUint32(body, 4),
        retransTimer: readUint32(body, 8),
        options: options.value,
      });
    case NdpType.NEIGHBOR_SOLICITATION:
    case NdpType.NEIGHBOR_ADVERTISEMENT: {
      const target = readIpv6Address(body, 4);
      if (isIpv6Multicast(target)) return decodeFail('ndp', 'badField', 'the target address is multicast (RFC 4861 §7.1.1, §7.1.2)');
      const word = readUint32(body, 0);
      if (type === NdpType.NEIGHBOR_SOLICITATION) return ok({ kind: 'neighborSolicitation', reserved: word, target, options: options.value });
      return ok({
        kind: 'neighborAdvertisement',
        router: (word & 0x80000000) !== 0,
        solicited: (word & 0x40000000) !== 0,
        override: (word & 0x20000000) !== 0,
        reserved: word & 0x1fffffff,
        target,
        options: options.value,
      });
    }
    default: {
      const destination = readIpv6Address(body, 20);
      if (isIpv6Multicast(destination)) return decodeFail('ndp', 'badField', 'the redirect destination is multicast (RFC 4861 §8.1)');
      return ok({ kind: 'redirect', reserved: readUint32(body, 0), target: readIpv6Address(body, 4), destination, options: options.value });
    }
  }
}

/** The ICMPv6 type of an NDP message. */
export function ndpType(repr: NdpRepr): number {
  return {
    routerSolicitation: NdpType.ROUTER_SOLICITATION,
    routerAdvertisement: NdpType.ROUTER_ADVERTISEMENT,
    neighborSolicitation: NdpType.NEIGHBOR_SOLICITATION,
    neighborAdvertisement: NdpType.NEIGHBOR_ADVERTISEMENT,
    redirect: NdpType.REDIRECT,
  }[repr.kind];
}

/** Bytes `emitNdpBody` writes. */
export function ndpBodyLength(repr: NdpRepr): number {
  let length = FIXED_BODY[ndpType(repr)];
  for (const option of repr.options) length += ndpOptionLength(option);
  return length;
}

/** Writes the body of `repr` (after the ICMPv6 header) into `out`; returns its length. */
export function emitNdpBody(repr: NdpRepr, out: Uint8Array): number {
  switch (repr.kind) {
    case 'routerSolicitation':
      writeUint32(out, 0, repr.reserved >>> 0);
      break;
    case 'routerAdvertisement':
      out[0] = repr.currentHopLimit;
      out[1] = (repr.managedAddressConfiguration ? 0x80 : 0) | (repr.otherConfiguration ? 0x40 : 0) | (repr.otherFlags & 0x3f);
      writeUint16(out, 2, repr.routerLifetime);
      writeUint32(out, 4, repr.reachableTime >>> 0);
      writeUint32(out, 8, repr.retransTimer >>> 0);
      break;
    case 'neighborSolicitation':
      writeUint32(out, 0, repr.reserved >>> 0);
      writeIpv6Address(out, 4, repr.target);
      break;
    case 'neighborAdvertisement':
      writeUint32(
        out,
        0,
        ((repr.router ? 0x80000000 : 0) | (repr.solicited ? 0x40000000 : 0) | (repr.override ? 0x20000000 : 0) | (repr.reserved & 0x1fffffff)) >>> 0,
      );
      writeIpv6Address(out, 4, repr.target);
      break;
    case 'redirect':
      writeUint32(out, 0, repr.reserved >>> 0);
      writeIpv6Address(out, 4, repr.target);
      writeIpv6Address(out, 20, repr.destination);
      break;
  }
  let offset = FIXED_BODY[ndpType(repr)];
  for (const option of repr.options) offset += emitNdpOption(option, out.subarray(offset));
  return offset;
}

/** The IPv6 header fields the NDP validity checks read. */
export interface NdpIpHeader {
  /** The packet's Hop Limit. */
  readonly hopLimit: number;
  /** Its Source Address. */
  readonly source: Ipv6Address;
  /** Its Destination Address. */
  readonly destination: Ipv6Address;
}

/**
 * The validity checks of RFC 4861 that need the IP header: Hop Limit 255 (so that the message
 * was not forwarded: §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1), a link-local source for Router
 * Advertisements and Redirects (§6.1.2, §8.1), no Source Link-Layer Address from the
 * unspecified address and then only to a solicited-node group (§6.1.1, §7.1.1), and no S flag
 * on an advertisement sent to a multicast address (§7.1.2). Refusals are 'badField'.
 */
export function checkNdpIpHeader(repr: NdpRepr, ip: NdpIpHeader): Result<NdpRepr, DecodeError> {
  if (ip.hopLimit !== 255) return decodeFail('ndp', 'badField', `hop limit ${ip.hopLimit}, not 255: the message was forwarded (RFC 4861 §6.1, §7.1, §8.1)`);
  const sourceLinkLayer = repr.options.some((option) => option.kind === 'sourceLinkLayerAddress');
  switch (repr.kind) {
    case 'routerSolicitation':
      if (isUnspecifiedAddress(ip.source) && sourceLinkLayer) return decodeFail('ndp', 'badField', 'a Source Link-Layer Address from :: (RFC 4861 §6.1.1)');
      break;
    case 'routerAdvertisement':
    case 'redirect':
      if (!isLinkLocalUnicast(ip.source)) return decodeFail('ndp', 'badField', `a ${repr.kind} from a source that is not link-local (RFC 4861 §6.1.2, §8.1)`);
      break;
    case 'neighborSolicitation':
      if (isUnspecifiedAddress(ip.source)) {
        const solicitedNode = ipv6PrefixMatches(ip.destination, SOLICITED_NODE_PREFIX, 104);
        if (!solicitedNode) return decodeFail('ndp', 'badField', 'a solicitation from :: not sent to a solicited-node group (RFC 4861 §7.1.1)');
        if (sourceLinkLayer) return decodeFail('ndp', 'badField', 'a Source Link-Layer Address from :: (RFC 4861 §7.1.1)');
      }
      break;
    case 'neighborAdvertisement':
      if (isIpv6Multicast(ip.destination) && repr.solicited)
        return decodeFail('ndp', 'badField', 'a solicited advertisement sent to a multicast group (RFC 4861 §7.1.2)');
      break;
  }
  return ok(repr);
}
