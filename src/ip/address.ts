/**
 * IPv4 addresses are unsigned 32-bit numbers inside the stack (fast to compare, mask and hash);
 * dotted-quad strings only at the edges (socket API, CLI, traces).
 */
export type Ipv4Address = number;

/** 0.0.0.0, "any address" for bind. */
export const IPV4_ANY: Ipv4Address = 0;
/** 255.255.255.255, the limited broadcast address. */
export const IPV4_BROADCAST: Ipv4Address = 0xffffffff;

/**
 * Parses a dotted quad; null if it is not exactly four decimal octets. An octet with a leading
 * zero is refused, as inet_pton and Node's `net.isIPv4` do: inet_aton would read `010` as
 * octal 8, so accepting it as decimal 10 would silently mean another host.
 */
export function parseIpv4Address(text: string): Ipv4Address | null {
  // One pass over the characters: no split, no regular expression, no temporary strings — a
  // connect or sendto with a string address parses it on every call.
  const length = text.length;
  if (length < 7 || length > 15) return null;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x2e) {
      if (digits === 0 || dots === 3) return null;
      value = value * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
    } else if (code >= 0x30 && code <= 0x39) {
      if (digits === 3 || (digits === 1 && octet === 0)) return null;
      octet = octet * 10 + (code - 0x30);
      if (octet > 255) return null;
      digits++;
    } else {
      return null;
    }
  }
  if (dots !== 3 || digits === 0) return null;
  return (value * 256 + octet) >>> 0;
}

/** Dotted-quad text of an address. */
export function formatIpv4Address(address: Ipv4Address): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** Reads an address from 4 bytes at `offset`. */
export function readIpv4Address(bytes: Uint8Array, offset: number): Ipv4Address {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

/** Writes an address as 4 bytes at `offset`. */
export function writeIpv4Address(bytes: Uint8Array, offset: number, address: Ipv4Address): void {
  bytes[offset] = address >>> 24;
  bytes[offset + 1] = (address >>> 16) & 0xff;
  bytes[offset + 2] = (address >>> 8) & 0xff;
  bytes[offset + 3] = address & 0xff;
}

/** A network prefix: `10.0.0.0/24`. */
export interface Ipv4Cidr {
  /** The address as written, host bits kept: an interface's `10.0.0.1/24` stays `10.0.0.1`. */
  readonly address: Ipv4Address;
  /** Leading bits that name the network, 0 to 32 (32 when the text had no `/`). */
  readonly prefixLength: number;
}

/** The netmask of a prefix length (24 → 255.255.255.0). */
export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Parses `a.b.c.d/n` (or a bare address, as /32); null when malformed. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | null {
  const [addressText, prefixText, ...rest] = text.split('/');
  if (rest.length > 0) return null;
  const address = parseIpv4Address(addressText);
  if (address === null) return null;
  if (prefixText === undefined) return { address, prefixLength: 32 };
  if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) return null;
  return { address, prefixLength: Number(prefixText) };
}

/** True when `address` lies inside the prefix. */
export function cidrContains(cidr: Ipv4Cidr, address: Ipv4Address): boolean {
  const mask = prefixMask(cidr.prefixLength);
  return (cidr.address & mask) >>> 0 === (address & mask) >>> 0;
}

/** The subnet's directed broadcast address (10.0.0.0/24 → 10.0.0.255). */
export function cidrBroadcast(cidr: Ipv4Cidr): Ipv4Address {
  return (cidr.address | ~prefixMask(cidr.prefixLength)) >>> 0;
}

/**
 * The broadcast address of the network an interface is on, or null for a /31 or /32: a /31
 * point-to-point link has two host addresses and no broadcast (RFC 3021 §2.2), and cidrBroadcast
 * of it would be the peer's address.
 */
export function subnetBroadcast(cidr: Ipv4Cidr): Ipv4Address | null {
  return cidr.prefixLength >= 31 ? null : cidrBroadcast(cidr);
}

/** `a.b.c.d/n` text of a prefix. */
export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4Address(cidr.address)}/${cidr.prefixLength}`;
}

/** 224.0.0.0/4. */
export function isMulticast(address: Ipv4Address): boolean {
  return address >>> 28 === 0xe;
}
