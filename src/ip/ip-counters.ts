/**
 * What the layers of src/ip count: IPv4, ICMP, IGMP and raw sockets, one registry each (see
 * core/stats.ts). Each layer takes a `Stats` of its own names; docs/counters.md lists them.
 */
import { DECODE_REASONS, type DecodeReason } from '../core/decode-error.js';
import { counterFamily, type CounterNameOf, type CounterRegistry } from '../core/stats.js';
import { REASSEMBLY_DROPS, type ReassemblyDrop } from './reassembly.js';
import type { IcmpErrno } from './icmp-errors.js';
import type { IcmpErrorKind, IcmpSuppression } from './icmp-layer.js';
import type { IcmpRateLimit } from './icmp-rate-limit.js';
import type { IpSendError } from './ip-layer.js';

/** The parts of the `<IpSendError>` families: why IP refused to send a datagram. */
export const IP_SEND_ERRORS: { readonly [Error in IpSendError]: true } = { ENETUNREACH: true, EINVAL: true, EMSGSIZE: true, ENOBUFS: true };

/** The parts of the `<IcmpErrno>` families: what a received ICMP error means to a socket (icmp-errors.ts). */
export const ICMP_ERRNOS: { readonly [Errno in IcmpErrno]: true } = {
  ENETUNREACH: true,
  EHOSTUNREACH: true,
  ENOPROTOOPT: true,
  ECONNREFUSED: true,
  EMSGSIZE: true,
  EOPNOTSUPP: true,
  EHOSTDOWN: true,
  ENONET: true,
  EPROTO: true,
  EACCES: true,
};

/** The parts of the `<IcmpErrorKind>` families. */
const ICMP_ERROR_KINDS: { readonly [Kind in IcmpErrorKind]: true } = { destinationUnreachable: true, timeExceeded: true, parameterProblem: true };

/** What the IPv4 layer counts (ip-layer.ts). */
export const IPV4_COUNTERS = {
  'ipv4.rx.packets': 'packets the links handed to IP, before any check',
  'ipv4.rx.fragments': 'fragments received for this host',
  'ipv4.rx.reassembled': 'datagrams reassembled from their fragments',
  'ipv4.rx.delivered': 'datagrams (whole or reassembled) handed to a protocol',
  'ipv4.tx.packets': 'packets queued for a link: originated, forwarded, fragments, raw',
  'ipv4.tx.noRoute': 'datagrams not sent for want of a route (ENETUNREACH)',
  'ipv4.tx.fragmented': 'datagrams this host originated larger than the MTU, sent in fragments',
  'ipv4.tx.fragments': 'fragments of those datagrams',
  'ipv4.forwarded': 'packets forwarded for other hosts (IpConfig.forwarding)',
  'ipv4.pmtu.lowered': 'path MTUs lowered by a fragmentation-needed message (RFC 1191 §6.3)',
  'drop.ipv4.<DecodeReason>': counterFamily<DecodeReason>(
    'packets the IPv4 codec refused (ipv4.ts), and options found malformed when routed (answered with Parameter Problem)',
    DECODE_REASONS,
  ),
  'drop.ipv4.martianSource': 'packets from a source no host can have: broadcast, multicast, 0/8, 127/8 off the loopback (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7)',
  'drop.ipv4.martianDestination': 'packets to 0/8, or to 127/8 off the loopback',
  'drop.ipv4.multicastNotJoined': 'multicast packets for a group this host has not joined (RFC 1112 §4)',
  'drop.ipv4.sourceRoute': 'source-routed packets (LSRR, SSRR), as Linux with accept_source_route=0 (RFC 7126 §4.3)',
  'drop.ipv4.<ReassemblyDrop>': counterFamily<ReassemblyDrop>('fragments the reassembler refused (fragments.ts)', REASSEMBLY_DROPS),
  'drop.ipv4.reassemblyTimeout': 'datagrams whose fragments did not all arrive in time (RFC 791, RFC 1122 §3.3.2)',
  'drop.ipv4.unknownProtocol': 'datagrams for a protocol with no handler and no raw socket (protocol unreachable to unicast)',
  'drop.ipv4.notForUs': 'packets for another host, on a host that does not forward (RFC 1122 §3.3.4)',
  'drop.ipv4.ttlExceeded': 'packets to forward whose TTL would reach zero (Time Exceeded sent, RFC 1812 §5.3.1)',
  'drop.ipv4.noRoute': 'packets to forward with no route (Network Unreachable sent, RFC 1812 §5.2.7.1)',
  'drop.ipv4.fragmentationNeeded': 'packets to forward over the next MTU with DF set (Fragmentation Needed sent, RFC 1191 §4)',
  'drop.ipv4.transmitQueueFull': "datagrams dropped before the wire: the interface's transmit queue was full (ENOBUFS)",
} as const satisfies CounterRegistry;

/** A counter of the IPv4 layer. */
export type Ipv4CounterName = CounterNameOf<typeof IPV4_COUNTERS>;

/** What ICMP counts (icmp-layer.ts). */
export const ICMP_COUNTERS = {
  'drop.icmp.<DecodeReason>': counterFamily<DecodeReason>('messages the ICMPv4 codec refused (icmpv4.ts)', DECODE_REASONS),
  'icmp.rx.echoRequest': 'echo requests received (answered unless to a broadcast)',
  'icmp.rx.echoReply': 'echo replies received',
  'icmp.rx.<IcmpErrorKind>': counterFamily<IcmpErrorKind>('errors received, by kind', ICMP_ERROR_KINDS),
  'icmp.rx.errorUnclaimed': 'errors about a protocol no layer listens to',
  'icmp.rx.other': 'other messages received (redirects, timestamps…): ignored',
  'drop.icmp.badQuote': 'errors whose quoted datagram does not parse',
  'drop.icmp.broadcastEcho': 'echo requests to a broadcast or multicast address, left unanswered (IcmpConfig.echoReplyToBroadcast)',
  'icmp.tx.echoRequest': 'echo requests sent (ping)',
  'icmp.tx.echoReply': 'echo replies sent',
  'icmp.tx.<IcmpErrorKind>': counterFamily<IcmpErrorKind>('errors sent, by kind', ICMP_ERROR_KINDS),
  'icmp.tx.suppressed.<IcmpSuppression>': counterFamily<IcmpSuppression>(
    'errors not sent because RFC 1122 §3.2.2 forbids them: about an ICMP error, a fragment other than the first, a broadcast or multicast, a martian source',
    { aboutIcmpError: true, notFirstFragment: true, toBroadcast: true, martianSource: true },
  ),
  'icmp.tx.rateLimited': 'errors not sent: over a rate limit (icmp-rate-limit.ts)',
  'icmp.tx.rateLimited.<IcmpRateLimit>': counterFamily<IcmpRateLimit>('the same, by the bucket that refused: host-wide or per destination', {
    global: true,
    destination: true,
  }),
  'icmp.tx.failed.<IpSendError>': counterFamily<IpSendError>('messages IP refused to send, by errno', IP_SEND_ERRORS),
} as const satisfies CounterRegistry;

/** A counter of ICMP. */
export type IcmpCounterName = CounterNameOf<typeof ICMP_COUNTERS>;

/** What IGMP counts (igmp.ts). */
export const IGMP_COUNTERS = {
  'drop.igmp.<DecodeReason>': counterFamily<DecodeReason>('messages the IGMP codec refused (igmp.ts)', DECODE_REASONS),
  'igmp.rx.queries': 'membership queries received',
  'igmp.rx.reports': "membership reports received (another member's)",
  'igmp.reportsSuppressed': 'reports of ours not sent: another member reported the group first (RFC 2236 §3)',
  'igmp.tx.reports': 'membership reports sent',
  'igmp.tx.leaves': 'leave messages sent',
  'igmp.tx.noRoute': 'reports and leaves not sent: no route for multicast',
} as const satisfies CounterRegistry;

/** A counter of IGMP. */
export type IgmpCounterName = CounterNameOf<typeof IGMP_COUNTERS>;

/** What raw sockets count (raw-layer.ts). */
export const RAW_COUNTERS = {
  'raw.rx.delivered': 'datagrams queued on a raw socket (one for each socket that took a copy)',
  'drop.raw.receiveBufferFull': 'datagrams a raw socket had no room for',
  'raw.tx.datagrams': 'datagrams sent from raw sockets',
} as const satisfies CounterRegistry;

/** A counter of raw sockets. */
export type RawCounterName = CounterNameOf<typeof RAW_COUNTERS>;
