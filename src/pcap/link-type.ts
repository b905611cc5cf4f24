/**
 * Link-layer header types: the number in a capture file that says what the first byte of every
 * packet is. The values are the tcpdump.org LINKTYPE_ registry's; a reader keeps any other
 * number as it is and lets the caller decide what to do with it.
 */

/** The link types this project writes or dissects, by name. */
export const LinkType = {
  /** Ethernet II (and 802.3) frames, starting at the destination MAC. */
  ETHERNET: 1,
  /** A bare IP packet; the version nibble says IPv4 or IPv6. What a TUN device carries. */
  RAW: 101,
  /** Linux "cooked" capture v1: a 16-byte pseudo-header, then the network-layer packet. */
  LINUX_SLL: 113,
  /**
   * Linux "cooked" capture v2: a 20-byte pseudo-header (protocol, interface index, device and
   * packet types, source address), then the network-layer packet. What `tcpdump -i any` writes
   * since libpcap 1.10.
   */
  LINUX_SLL2: 276,
  /** A bare IPv4 packet, nothing else. */
  IPV4: 228,
  /** A bare IPv6 packet, nothing else. */
  IPV6: 229,
} as const;

/** One of the named link types. */
export type KnownLinkType = (typeof LinkType)[keyof typeof LinkType];

/** The name of a known link type (`'ETHERNET'`), or `'LINKTYPE_<n>'` for any other number. */
export function linkTypeName(linkType: number): string {
  for (const [name, value] of Object.entries(LinkType)) if (value === linkType) return name;
  return `LINKTYPE_${linkType}`;
}
