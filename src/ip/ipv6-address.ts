/**
 * IPv6 addresses (RFC 4291): 16 bytes in network order inside the stack; text only at the edges
 * (socket API, CLI, traces), read in every form RFC 4291 §2.2 allows and written in the one form
 * RFC 5952 recommends. Also what the address says about itself: its scope (RFC 4007, RFC 6724
 * §3.1), the multicast groups and link-layer addresses NDP derives from it (RFC 4291 §2.7.1,
 * RFC 2464 §7), interface identifiers from a MAC (RFC 4291 Appendix A), and the IPv4-mapped form
 * (RFC 4291 §2.5.5.2) that dual-stack sockets use.
 */
import type { Ipv4Address } from './address.js';

/** An IPv6 address: exactly 16 bytes, network order. Compare with `ipv6Equal`, never `===`. */
export type Ipv6Address = Uint8Array;

/** Length of an address in bytes. */
export const IPV6_ADDRESS_LENGTH = 16;

/** `::`, the unspecified address (RFC 4291 §2.5.2). */
export const IPV6_UNSPECIFIED: Ipv6Address = new Uint8Array(16);
/** `::1`, the loopback address (RFC 4291 §2.5.3). */
export const IPV6_LOOPBACK: Ipv6Address = ipv6FromGroups([0, 0, 0, 0, 0, 0, 0, 1]);
/** `ff02::1`, all nodes on the link (RFC 4291 §2.7.1). */
export const IPV6_ALL_NODES: Ipv6Address = ipv6FromGroups([0xff02, 0, 0, 0, 0, 0, 0, 1]);
/** `ff02::2`, all routers on the link (RFC 4291 §2.7.1). */
export const IPV6_ALL_ROUTERS: Ipv6Address = ipv6FromGroups([0xff02, 0, 0, 0, 0, 0, 0, 2]);
/** `ff02::16`, all MLDv2-capable routers: where MLDv2 reports go (RFC 3810 §5.2.14). */
export const IPV6_ALL_MLDV2_ROUTERS: Ipv6Address = ipv6FromGroups([0xff02, 0, 0, 0, 0, 0, 0, 0x16]);

/** An address from its eight 16-bit groups. */
export function ipv6FromGroups(groups: readonly number[]): Ipv6Address {
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = (groups[i] >> 8) & 0xff;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  return out;
}

/** The eight 16-bit groups of an address. */
export function ipv6Groups(address: Ipv6Address): number[] {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((address[2 * i] << 8) | address[2 * i + 1]);
  return groups;
}

/** A copy of the 16 bytes at `offset` (a view would change under the caller when the frame is reused). */
export function readIpv6Address(bytes: Uint8Array, offset: number): Ipv6Address {
  return bytes.slice(offset, offset + 16);
}

/** Writes an address as 16 bytes at `offset`. */
export function writeIpv6Address(bytes: Uint8Array, offset: number, address: Ipv6Address): void {
  // Byte by byte: `set` of a subarray makes a view and calls into the runtime for 16 bytes.
  for (let i = 0; i < 16; i++) bytes[offset + i] = address[i];
}

/** True when both hold the same 16 bytes. */
export function ipv6Equal(a: Ipv6Address, b: Ipv6Address): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Reads an address in any text form of RFC 4291 §2.2: eight groups of one to four hex digits,
 * one `::` for a run of zero groups, and a dotted IPv4 tail in place of the last two groups.
 * Null for anything else (a zone, a prefix length, a fifth hex digit, a second `::`, an IPv4
 * tail with a leading-zero octet, which inet_pton refuses as parseIpv4Address does).
 */
export function parseIpv6Address(text: string): Ipv6Address | null {
  if (text.length < 2 || text.length > 45) return null;
  let body = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const octets = text.slice(lastColon + 1).split('.');
    if (octets.length !== 4 || !octets.every((octet) => /^(0|[1-9]\d{0,2})$/.test(octet) && Number(octet) <= 255)) return null;
    tail = [(Number(octets[0]) << 8) | Number(octets[1]), (Number(octets[2]) << 8) | Number(octets[3])];
    // `::1.2.3.4` keeps its `::`; `1::2:1.2.3.4` drops the colon before the tail.
    body = text.slice(0, lastColon + 1);
    body = body.endsWith('::') ? body : body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (half: string): number[] | null => {
    if (half === '') return [];
    const groups: number[] = [];
    for (const word of half.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(word)) return null;
      groups.push(parseInt(word, 16));
    }
    return groups;
  };
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (head === null || rest === null) return null;
  const known = head.length + rest.length + tail.length;
  // Without `::` all eight groups are written; with it, it stands for at least one zero group.
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  return ipv6FromGroups([...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail]);
}

/**
 * The RFC 5952 text of an address: lowercase hex (§4.3), no leading zeros (§4.1), `::` for the
 * longest run of two or more zero groups, the first of equal runs (§4.2), and the IPv4-mapped
 * form as `::ffff:a.b.c.d` (§5).
 */
export function formatIpv6Address(address: Ipv6Address): string {
  const groups = ipv6Groups(address);
  if (isIpv4MappedAddress(address)) return `::ffff:${address[12]}.${address[13]}.${address[14]}.${address[15]}`;
  let bestStart = -1;
  let bestLength = 1; // a single zero group is written as 0 (RFC 5952 §4.2.2)
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const text = (list: number[]): string => list.map((group) => group.toString(16)).join(':');
  if (bestStart < 0) return text(groups);
  return `${text(groups.slice(0, bestStart))}::${text(groups.slice(bestStart + bestLength))}`;
}

/** An address with its zone (RFC 4007 §11): `fe80::1%eth0`. */
export interface Ipv6ScopedAddress {
  /** The address. */
  readonly address: Ipv6Address;
  /** The zone after `%` (an interface name or index), or undefined when there was none. */
  readonly zone: string | undefined;
}

/**
 * Reads `address%zone` (RFC 4007 §11.2) or a bare address. The zone is kept as text: what it
 * names (an interface) is the socket layer's to decide. Null when the address is not one, or
 * the zone is empty.
 */
export function parseIpv6ScopedAddress(text: string): Ipv6ScopedAddress | null {
  const percent = text.indexOf('%');
  if (percent < 0) {
    const address = parseIpv6Address(text);
    return address === null ? null : { address, zone: undefined };
  }
  const zone = text.slice(percent + 1);
  if (zone === '' || /[\s%]/.test(zone)) return null;
  const address = parseIpv6Address(text.slice(0, percent));
  return address === null ? null : { address, zone };
}

/** A prefix (RFC 4291 §2.3): `2001:db8::/32`. */
export interface Ipv6Cidr {
  /** The address as written, interface identifier kept: `fd00:7::2/64` stays `fd00:7::2`. */
  readonly address: Ipv6Address;
  /** Leading bits that name the prefix, 0 to 128 (128 when the text had no `/`). */
  readonly prefixLength: number;
}

/** Reads `address/n` (RFC 4291 §2.3), or a bare address as /128; null when malformed. */
export function parseIpv6Cidr(text: string): Ipv6Cidr | null {
  const slash = text.indexOf('/');
  const address = parseIpv6Address(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return null;
  if (slash < 0) return { address, prefixLength: 128 };
  const lengthText = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(lengthText) || Number(lengthText) > 128) return null;
  return { address, prefixLength: Number(lengthText) };
}

/** `address/n` text of a prefix. */
export function formatIpv6Cidr(cidr: Ipv6Cidr): string {
  return `${formatIpv6Address(cidr.address)}/${cidr.prefixLength}`;
}

/** The first `prefixLength` bits of `address`, the rest zero (RFC 4291 §2.3's prefix). */
export function ipv6Prefix(address: Ipv6Address, prefixLength: number): Ipv6Address {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefixLength - 8 * i));
    out[i] = address[i] & ((0xff00 >> bits) & 0xff);
  }
  return out;
}

/** True when the first `prefixLength` bits of `a` and `b` are the same. */
export function ipv6PrefixMatches(a: Ipv6Address, b: Ipv6Address, prefixLength: number): boolean {
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefixLength - 8 * i));
    if (bits === 0) return true;
    const mask = (0xff00 >> bits) & 0xff;
    if ((a[i] & mask) !== (b[i] & mask)) return false;
  }
  return true;
}

/** True when `address` lies inside the prefix. */
export function ipv6CidrContains(cidr: Ipv6Cidr, address: Ipv6Address): boolean {
  return ipv6PrefixMatches(cidr.address, address, cidr.prefixLength);
}

/** How many leading bits `a` and `b` share (RFC 6724 §2.2's CommonPrefixLen over all 128 bits). */
export function ipv6CommonPrefixLength(a: Ipv6Address, b: Ipv6Address): number {
  for (let i = 0; i < 16; i++) {
    const differing = a[i] ^ b[i];
    if (differing !== 0) return 8 * i + Math.clz32(differing) - 24;
  }
  return 128;
}

/** The unspecified address `::` (RFC 4291 §2.5.2). */
export function isUnspecifiedAddress(address: Ipv6Address): boolean {
  return ipv6Equal(address, IPV6_UNSPECIFIED);
}

/** The loopback address `::1` (RFC 4291 §2.5.3). */
export function isLoopbackAddress(address: Ipv6Address): boolean {
  return ipv6Equal(address, IPV6_LOOPBACK);
}

/** Multicast, ff00::/8 (RFC 4291 §2.7). */
export function isIpv6Multicast(address: Ipv6Address): boolean {
  return address[0] === 0xff;
}

/** Link-local unicast, fe80::/10 (RFC 4291 §2.5.6). */
export function isLinkLocalUnicast(address: Ipv6Address): boolean {
  return address[0] === 0xfe && (address[1] & 0xc0) === 0x80;
}

/** Unique local, fc00::/7 (RFC 4193 §3.1). */
export function isUniqueLocal(address: Ipv6Address): boolean {
  return (address[0] & 0xfe) === 0xfc;
}

/** IPv4-mapped, ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
export function isIpv4MappedAddress(address: Ipv6Address): boolean {
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return false;
  return address[10] === 0xff && address[11] === 0xff;
}

/** `::ffff:a.b.c.d` for an IPv4 address (RFC 4291 §2.5.5.2). */
export function ipv4MappedAddress(ipv4: Ipv4Address): Ipv6Address {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out[12] = ipv4 >>> 24;
  out[13] = (ipv4 >>> 16) & 0xff;
  out[14] = (ipv4 >>> 8) & 0xff;
  out[15] = ipv4 & 0xff;
  return out;
}

/** The IPv4 address inside an IPv4-mapped address, or null when it is not one. */
export function mappedIpv4Address(address: Ipv6Address): Ipv4Address | null {
  if (!isIpv4MappedAddress(address)) return null;
  return ((address[12] << 24) | (address[13] << 16) | (address[14] << 8) | address[15]) >>> 0;
}

/** Scope values (RFC 4007 §5, the multicast scope field of RFC 4291 §2.7, used by RFC 6724 §3.1). */
export const Ipv6Scope = {
  /** Interface-local (multicast only): never leaves the interface. */
  INTERFACE_LOCAL: 0x1,
  /** Link-local: fe80::/10, the loopback address (RFC 6724 §3.1), ff02::/16. */
  LINK_LOCAL: 0x2,
  /** Admin-local (multicast only). */
  ADMIN_LOCAL: 0x4,
  /** Site-local: ff05::/16 (unicast site-local is deprecated, RFC 3879, and read as global). */
  SITE_LOCAL: 0x5,
  /** Organization-local (multicast only). */
  ORGANIZATION_LOCAL: 0x8,
  /** Global: everything else, unique local addresses included (RFC 6724 §3.1). */
  GLOBAL: 0xe,
} as const;

/**
 * The scope of an address as RFC 6724 §3.1 reads it: a multicast address's own scope field
 * (RFC 4291 §2.7); link-local for fe80::/10 and for the loopback address; global for the rest
 * (unique local addresses are global in scope, RFC 4193 §3.3; the unspecified address too).
 */
export function ipv6AddressScope(address: Ipv6Address): number {
  if (isIpv6Multicast(address)) return address[1] & 0x0f;
  if (isLinkLocalUnicast(address) || isLoopbackAddress(address)) return Ipv6Scope.LINK_LOCAL;
  return Ipv6Scope.GLOBAL;
}

/** The solicited-node multicast group of an address: ff02::1:ff00:0/104 + its low 24 bits (RFC 4291 §2.7.1). */
export function solicitedNodeAddress(address: Ipv6Address): Ipv6Address {
  const out = ipv6FromGroups([0xff02, 0, 0, 0, 0, 1, 0xff00, 0]);
  out[13] = address[13];
  out[14] = address[14];
  out[15] = address[15];
  return out;
}

/** The Ethernet address a multicast IPv6 packet goes to: 33:33 and the group's low 32 bits (RFC 2464 §7). */
export function ipv6MulticastMac(group: Ipv6Address): Uint8Array {
  return Uint8Array.of(0x33, 0x33, group[12], group[13], group[14], group[15]);
}

/**
 * The modified EUI-64 interface identifier of a 48-bit MAC (RFC 4291 Appendix A): ff:fe in the
 * middle and the universal/local bit inverted. RFC 7217 identifiers are preferred for addresses
 * (RFC 8064); this is what a link-local address made the old way holds.
 */
export function modifiedEui64(mac: Uint8Array): Uint8Array {
  return Uint8Array.of(mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]);
}

/** `prefix` (its first 64 bits) followed by a 64-bit interface identifier (RFC 4291 §2.5.1). */
export function ipv6WithInterfaceId(prefix: Ipv6Address, interfaceId: Uint8Array): Ipv6Address {
  const out = prefix.slice(0, 16);
  out.set(interfaceId.subarray(0, 8), 8);
  return out;
}
