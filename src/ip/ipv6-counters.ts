/**
 * What the IPv6 and ICMPv6 layers count (ipv6-layer.ts, icmpv6-layer.ts), one registry each
 * (see core/stats.ts); docs/counters.md lists them.
 */
import { DECODE_REASONS, type DecodeReason } from '../core/decode-error.js';
import { counterFamily, type CounterNameOf, type CounterRegistry } from '../core/stats.js';
import { REASSEMBLY_DROPS, type ReassemblyDrop } from './reassembly.js';

/** What the IPv6 layer counts (ipv6-layer.ts). */
export const IPV6_COUNTERS = {
  'ipv6.rx.packets': 'IPv6 packets the links handed to the stack, before any check',
  'ipv6.rx.fragments': 'fragments received for this host (atomic fragments not included)',
  'ipv6.rx.atomicFragments': 'packets with a Fragment header of offset 0 and M clear, processed whole (RFC 8200 §4.5, RFC 6946)',
  'ipv6.rx.reassembled': 'packets reassembled from their fragments',
  'ipv6.rx.delivered': 'packets (whole or reassembled) handed to an upper-layer protocol',
  'ipv6.rx.noNextHeader': 'packets whose chain ends in No Next Header (59): nothing to deliver (RFC 8200 §4.7)',
  'ipv6.tx.packets': 'IPv6 packets queued for a link: originated, forwarded, fragments',
  'ipv6.tx.noRoute': 'packets not sent for want of a route (ENETUNREACH)',
  'ipv6.tx.fragmented': 'packets this host originated larger than the path MTU, sent in fragments (RFC 8200 §4.5)',
  'ipv6.tx.fragments': 'fragments of those packets',
  'ipv6.forwarded': 'packets forwarded for other hosts (Ipv6Config.forwarding)',
  'ipv6.pmtu.lowered': 'path MTUs lowered by a Packet Too Big (RFC 8201 §4)',
  'drop.ipv6.<DecodeReason>': counterFamily<DecodeReason>(
    'packets the IPv6 header or extension-header codec refused (ipv6.ts, ipv6-extension-headers.ts; those owing one answered with Parameter Problem)',
    DECODE_REASONS,
  ),
  'drop.ipv6.martianSource': 'packets from an IPv4-mapped source, or from ::1 off the loopback (RFC 4291 §2.5.3, as Linux)',
  'drop.ipv6.martianDestination': 'packets to ::1 off the loopback, to a multicast scope 0, or interface-local multicast from outside (RFC 4291 §2.7)',
  'drop.ipv6.multicastNotJoined': 'multicast packets for a group this host is not a member of',
  'drop.ipv6.notForUs': 'packets for another host on a host that does not forward',
  'drop.ipv6.hopLimitExceeded': 'packets to forward whose Hop Limit would reach 0 (answered with Time Exceeded, RFC 4443 §3.3)',
  'drop.ipv6.noRoute': 'packets to forward with no route (answered with Destination Unreachable, code 0)',
  'drop.ipv6.packetTooBig': 'packets to forward larger than the next link (answered with Packet Too Big, RFC 8201)',
  'drop.ipv6.linkLocalNotForwarded': 'packets with a link-local source or destination that a router must not forward (RFC 4291 §2.5.6)',
  'drop.ipv6.unknownNextHeader': 'packets for an upper-layer protocol this host does not serve (Parameter Problem, code 1, RFC 8200 §4)',
  'drop.ipv6.rawChecksum': 'copies a raw IPv6 socket with IPV6_CHECKSUM dropped for a bad checksum (RFC 3542 §3.1), one per socket',
  'drop.ipv6.nestedFragment': 'reassembled packets that held a Fragment header again',
  'drop.ipv6.<ReassemblyDrop>': counterFamily<ReassemblyDrop>('fragments the reassembler refused (ipv6-fragments.ts; overlaps per RFC 5722)', REASSEMBLY_DROPS),
  'drop.ipv6.reassemblyTimeout': 'packets whose fragments did not all arrive within 60 s (RFC 8200 §4.5)',
  'drop.ipv6.transmitQueueFull': 'IPv6 packets refused because the interface transmit queue was full (ENOBUFS)',
} as const satisfies CounterRegistry;

/** An IPv6 counter. */
export type Ipv6CounterName = CounterNameOf<typeof IPV6_COUNTERS>;

/** Why an ICMPv6 error was not sent (RFC 4443 §2.4(e), (f)). */
export type Icmpv6Suppression = 'aboutIcmpError' | 'toMulticast' | 'fromNonUnicast' | 'rateLimited';

const SUPPRESSIONS: { readonly [Reason in Icmpv6Suppression]: true } = {
  aboutIcmpError: true,
  toMulticast: true,
  fromNonUnicast: true,
  rateLimited: true,
};

/** What the ICMPv6 layer counts (icmpv6-layer.ts). */
export const ICMPV6_COUNTERS = {
  'icmpv6.rx.messages': 'ICMPv6 messages received and checked',
  'icmpv6.rx.echoRequests': 'echo requests received (RFC 4443 §4.1)',
  'icmpv6.rx.echoReplies': 'echo replies received (RFC 4443 §4.2)',
  'icmpv6.rx.errors': 'error messages received about a packet this host sent',
  'icmpv6.rx.packetTooBig': 'Packet Too Big messages received (RFC 8201)',
  'icmpv6.rx.neighborDiscovery':
    'Neighbor Discovery and MLD messages received (acted on by Neighbor Discovery and the MLD host of an Ethernet interface; over a bare-IP link, counted only)',
  'icmpv6.rx.other': 'other messages (unknown informational types are silently discarded, RFC 4443 §2.4(b))',
  'icmpv6.tx.echoReplies': 'echo replies sent',
  'icmpv6.tx.echoRequests': 'echo requests sent',
  'icmpv6.tx.errors': 'error messages sent',
  'icmpv6.error.notSent.<Icmpv6Suppression>': counterFamily<Icmpv6Suppression>(
    'errors RFC 4443 §2.4(e) forbids, or the rate limit refused (§2.4(f))',
    SUPPRESSIONS,
  ),
  'drop.icmpv6.<DecodeReason>': counterFamily<DecodeReason>('messages the ICMPv6 codec refused (icmpv6.ts)', DECODE_REASONS),
  'drop.icmpv6.errorQuoteUnreadable': 'error messages whose quoted packet does not name a transport header',
} as const satisfies CounterRegistry;

/** An ICMPv6 counter. */
export type Icmpv6CounterName = CounterNameOf<typeof ICMPV6_COUNTERS>;
