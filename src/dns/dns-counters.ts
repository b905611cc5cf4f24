/** What the resolver of `ustack/dns` counts (src/socket-api/dns.ts). docs/counters.md lists it. */
import { counterFamily, type CounterNameOf, type CounterRegistry } from '../core/stats.js';
import type { DnsDecodeReason } from './message.js';

/** Every reason the message codec refuses bytes for, once. */
const DNS_DECODE_REASONS: { readonly [Reason in DnsDecodeReason]: true } = { truncated: true, badName: true, badPointer: true };

/** What the resolver counts. */
export const DNS_COUNTERS = {
  'dns.tx.queries': 'queries sent over UDP (one for each server asked in each round)',
  'dns.tx.tcpQueries': 'queries asked again over TCP because the UDP answer was truncated (RFC 7766 §5)',
  'dns.rx.replies': 'replies that matched a query in flight',
  'dns.rx.truncated': 'matching replies with TC set',
  'dns.timeouts': 'queries a server did not answer in time',
  'drop.dns.<DnsDecodeReason>': counterFamily<DnsDecodeReason>('replies the DNS codec refused (src/dns/message.ts)', DNS_DECODE_REASONS),
  'drop.dns.unmatched': "replies whose ID, question or flags are not the query's (RFC 5452 §9.1)",
} as const satisfies CounterRegistry;

/** A counter of the resolver. */
export type DnsCounterName = CounterNameOf<typeof DNS_COUNTERS>;
