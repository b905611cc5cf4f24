/**
 * Every counter of a stack: the registries of its layers composed, and the stack's own. A
 * layer's registry lives beside the layer (ip/ip-counters.ts, udp/udp-counters.ts,
 * tcp/tcp-counters.ts), which takes a `Stats` of its own names only; the Stack holds one
 * `Stats<CounterName>` and hands it to each. docs/counters.md is made from COUNTER_SECTIONS
 * (`countersReference`); test/socket-api/counters.test.ts fails when it is stale.
 */
import { openCounterFamily, type CounterNameOf, type CounterRegistry } from '../core/stats.js';
import {
  ICMP_COUNTERS,
  IGMP_COUNTERS,
  IPV4_COUNTERS,
  RAW_COUNTERS,
  type IcmpCounterName,
  type IgmpCounterName,
  type Ipv4CounterName,
  type RawCounterName,
} from '../ip/ip-counters.js';
import { ICMPV6_COUNTERS, IPV6_COUNTERS, type Icmpv6CounterName, type Ipv6CounterName } from '../ip/ipv6-counters.js';
import { NDP_COUNTERS, type NdpCounterName } from '../ip/ndp-counters.js';
import { DNS_COUNTERS, type DnsCounterName } from '../dns/dns-counters.js';
import { FAULT_COUNTERS } from '../link/fault-injector.js';
import { TCP_COUNTERS, type TcpCounterName } from '../tcp/tcp-counters.js';
import { UDP_COUNTERS, type UdpCounterName } from '../udp/udp-counters.js';

/** What the Stack itself counts (stack.ts): frames per interface, and what no layer could take. */
export const STACK_COUNTERS = {
  'link.<interface>.rx.frames': openCounterFamily('frames received on the interface of that name'),
  'link.<interface>.tx.frames': openCounterFamily('frames handed to the link of the interface of that name'),
  'drop.link.unknownInterface': 'frames received for an interface the stack does not have',
  'drop.internalError': 'frames whose processing threw (a bug: `stack.lastInternalError` holds the error)',
} as const satisfies CounterRegistry;

/** A counter of the Stack's own. */
export type StackCounterName = CounterNameOf<typeof STACK_COUNTERS>;

/** Every counter a stack's `stats` may hold. */
export type CounterName =
  | StackCounterName
  | Ipv4CounterName
  | IcmpCounterName
  | IgmpCounterName
  | RawCounterName
  | Ipv6CounterName
  | Icmpv6CounterName
  | NdpCounterName
  | UdpCounterName
  | TcpCounterName
  | DnsCounterName;

/** The registries in the order docs/counters.md lists them, each under a title. */
export const COUNTER_SECTIONS: readonly { readonly title: string; readonly source: string; readonly counters: CounterRegistry }[] = [
  { title: 'Stack and links', source: 'src/socket-api/stack.ts', counters: STACK_COUNTERS },
  { title: 'IPv4', source: 'src/ip/ip-layer.ts', counters: IPV4_COUNTERS },
  { title: 'ICMP', source: 'src/ip/icmp-layer.ts', counters: ICMP_COUNTERS },
  { title: 'IGMP', source: 'src/ip/igmp.ts', counters: IGMP_COUNTERS },
  { title: 'Raw sockets', source: 'src/ip/raw-layer.ts', counters: RAW_COUNTERS },
  { title: 'IPv6', source: 'src/ip/ipv6-layer.ts', counters: IPV6_COUNTERS },
  { title: 'ICMPv6', source: 'src/ip/icmpv6-layer.ts', counters: ICMPV6_COUNTERS },
  { title: 'Neighbor Discovery and MLD (IPv6 over Ethernet)', source: 'src/ip/neighbor-discovery.ts, src/ip/mld-host.ts', counters: NDP_COUNTERS },
  { title: 'UDP', source: 'src/udp/udp-layer.ts', counters: UDP_COUNTERS },
  { title: 'TCP', source: 'src/tcp/', counters: TCP_COUNTERS },
  { title: 'DNS resolver (`ustack/dns`)', source: 'src/socket-api/dns.ts', counters: DNS_COUNTERS },
  { title: "A FaultInjector's own (`faults.stats`, not the stack's)", source: 'src/link/fault-injector.ts', counters: FAULT_COUNTERS },
];

/** docs/counters.md: every registry of COUNTER_SECTIONS as a table (`node scripts/counters-doc.mjs` writes it). */
export function countersReference(): string {
  const lines = [
    '# Counters',
    '',
    '<!-- Made from the counter registries by `node scripts/counters-doc.mjs`; test/socket-api/counters.test.ts fails when it is stale. -->',
    '',
    "Every counter a stack keeps in `stack.stats`, by layer. Read one with `stats.get(name)` (its type, `CounterName`, accepts these names and no other), all that moved with `stats.snapshot()`, a group with `stats.sum(prefix)` (`sum('drop.')` is every drop). A `<Part>` in a name stands for each value listed with it; `<interface>` for an interface's name.",
    '',
    'Each layer declares its counters in a registry beside its code (`src/ip/ip-counters.ts`, `src/udp/udp-counters.ts`, `src/tcp/tcp-counters.ts`, `src/socket-api/counters.ts`, `src/link/fault-injector.ts`).',
  ];
  for (const section of COUNTER_SECTIONS) {
    lines.push('', `## ${section.title}`, '', `Counted in \`${section.source}\`.`, '', '| counter | what it counts |', '| --- | --- |');
    for (const [pattern, entry] of Object.entries(section.counters)) {
      const doc = typeof entry === 'string' ? entry : entry.parts === null ? entry.doc : `${entry.doc}: ${entry.parts.map((part) => `\`${part}\``).join(', ')}`;
      lines.push(`| \`${pattern}\` | ${doc.replaceAll('|', '\\|')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
