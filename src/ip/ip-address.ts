/**
 * An address as the transports (UDP, TCP) and the sockets hold it, of either family: IPv4 as
 * its uint32 (address.ts), IPv6 as its RFC 5952 text (ipv6-address.ts's formatIpv6Address).
 * One text per address, so `===`, Map keys and the 4-tuple keys work for both families alike,
 * and `typeof` tells the family. The IP layers work on their own forms: the uint32, the 16 bytes.
 * An IPv4-mapped address (::ffff:a.b.c.d) never appears here: the socket layer turns it into the
 * IPv4 address it stands for, as Linux's dual-stack sockets do.
 */
import { formatIpv4Address, IPV4_ANY, type Ipv4Address } from './address.js';
import { formatIpv6Address, ipv6Equal, parseIpv6Address, type Ipv6Address } from './ipv6-address.js';

/** An IPv4 address (a number) or an IPv6 address (its RFC 5952 text). */
export type IpAddress = Ipv4Address | string;

/** `::`, IPv6's unspecified address as an IpAddress. */
export const IPV6_ANY_TEXT = '::';

/** The address family an IpAddress belongs to. */
export function ipFamily(address: IpAddress): 4 | 6 {
  return typeof address === 'number' ? 4 : 6;
}

/** True for 0.0.0.0 and `::`, the wildcards of bind. */
export function isAnyAddress(address: IpAddress): boolean {
  return address === IPV4_ANY || address === IPV6_ANY_TEXT;
}

/** Text of an address of either family. */
export function formatIpAddress(address: IpAddress): string {
  return typeof address === 'number' ? formatIpv4Address(address) : address;
}

/**
 * The IpAddress of 16 bytes (an IPv4-mapped one stays IPv6 text here; the socket layer maps).
 * TCP asks for every segment that arrives, nearly always about the same few addresses: the last
 * few answers are kept and found by comparing the bytes, which costs less than writing the text.
 */
export function ipv6Text(address: Ipv6Address): string {
  for (let k = 0; k < RECENT_TEXTS; k++) {
    const bytes = recentTextBytes[k];
    if (recentTexts[k] !== undefined && ipv6Equal(bytes, address)) return recentTexts[k]!;
  }
  const text = formatIpv6Address(address);
  const k = nextRecentText;
  nextRecentText = (k + 1) % RECENT_TEXTS;
  recentTextBytes[k].set(address.subarray(0, 16));
  recentTexts[k] = text;
  return text;
}

/** How many of ipv6Text's answers are kept, each with the bytes it was for. */
const RECENT_TEXTS = 8;
const recentTextBytes = Array.from({ length: RECENT_TEXTS }, () => new Uint8Array(16));
const recentTexts: Array<string | undefined> = new Array<string | undefined>(RECENT_TEXTS).fill(undefined);
let nextRecentText = 0;

/**
 * The 16 bytes of an IPv6 IpAddress, a fresh array each time. Throws on text that is not an
 * address (a bug: the text is always ours). TCP asks for every segment it sends: the bytes of
 * each text are kept (up to 256 texts, then forgotten together), and a copy handed out.
 */
export function ipv6Bytes(address: string): Ipv6Address {
  const known = parsedTexts.get(address);
  if (known !== undefined) return known.slice();
  const bytes = parseIpv6Address(address);
  if (bytes === null) throw new Error(`not an IPv6 address: ${address}`);
  if (parsedTexts.size >= PARSED_TEXTS_MAX) parsedTexts.clear();
  parsedTexts.set(address, bytes.slice());
  return bytes;
}

/** ipv6Bytes's answers by text. */
const parsedTexts = new Map<string, Ipv6Address>();
const PARSED_TEXTS_MAX = 256;
