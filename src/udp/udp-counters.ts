/** What UDP counts (udp-layer.ts; see core/stats.ts). docs/counters.md lists it. */
import { DECODE_REASONS, type DecodeReason } from '../core/decode-error.js';
import { counterFamily, type CounterNameOf, type CounterRegistry } from '../core/stats.js';
import type { IcmpErrno } from '../ip/icmp-errors.js';
import { ICMP_ERRNOS } from '../ip/ip-counters.js';

/** What the UDP layer counts. */
export const UDP_COUNTERS = {
  'udp.bind': 'sockets bound to a local address and port (explicitly or by a first send)',
  'udp.tx.datagrams': 'datagrams sent',
  'udp.tx.droppedLocally': "datagrams the interface's full transmit queue dropped (reported as sent, as Linux without IP_RECVERR)",
  'drop.udp.<DecodeReason>': counterFamily<DecodeReason>('datagrams the UDP codec refused (udp-packet.ts)', DECODE_REASONS),
  'udp.rx.datagrams': 'datagrams received that the codec accepted',
  'udp.rx.noPort': 'datagrams for a port no socket is bound to (port unreachable to unicast)',
  'udp.rx.delivered': 'datagrams queued on a socket (one for each socket that took a copy)',
  'drop.udp.receiveBufferFull': "datagrams a socket's receive buffer had no room for",
  'drop.udp.icmpQuoteTooShort': 'ICMP errors quoting fewer than the 4 bytes of the ports',
  'udp.icmpError.<IcmpErrno>': counterFamily<IcmpErrno>(
    'hard ICMP errors recorded on the connected socket they concern, by errno (RFC 1122 §4.1.3.3)',
    ICMP_ERRNOS,
  ),
  'udp.icmpError.ignoredSoft': 'soft ICMP errors about a connected socket, ignored (Linux without IP_RECVERR)',
  'udp.icmpError.noSocket': 'ICMP errors about a datagram of no connected socket',
} as const satisfies CounterRegistry;

/** A counter of the UDP layer. */
export type UdpCounterName = CounterNameOf<typeof UDP_COUNTERS>;
