/**
 * What an ICMP error means to a socket: the errno it maps to, and whether it is "hard"
 * (fatal to a connection attempt) or "soft" (worth remembering, not worth aborting for).
 * RFC 1122 §4.2.3.9 (TCP) and §4.1.3.3 (UDP) leave the mapping to the host; this is Linux's.
 */
import type { IcmpErrorReport } from './icmp-layer.js';

/** The errnos an ICMP error can mean (the table below, and ICMPv6's in icmpv6-layer.ts). */
export type IcmpErrno =
  'ENETUNREACH' | 'EHOSTUNREACH' | 'ENOPROTOOPT' | 'ECONNREFUSED' | 'EMSGSIZE' | 'EOPNOTSUPP' | 'EHOSTDOWN' | 'ENONET' | 'EPROTO' | 'EACCES';

/** The errno and severity of an ICMP error. */
export interface IcmpErrorMeaning {
  readonly code: IcmpErrno;
  readonly fatal: boolean;
}

const destinationUnreachable: readonly IcmpErrorMeaning[] = [
  { code: 'ENETUNREACH', fatal: false }, // 0 net unreachable
  { code: 'EHOSTUNREACH', fatal: false }, // 1 host unreachable
  { code: 'ENOPROTOOPT', fatal: true }, // 2 protocol unreachable
  { code: 'ECONNREFUSED', fatal: true }, // 3 port unreachable
  { code: 'EMSGSIZE', fatal: false }, // 4 fragmentation needed
  { code: 'EOPNOTSUPP', fatal: false }, // 5 source route failed
  { code: 'ENETUNREACH', fatal: true }, // 6 destination network unknown
  { code: 'EHOSTDOWN', fatal: true }, // 7 destination host unknown
  { code: 'ENONET', fatal: true }, // 8 source host isolated
  { code: 'ENETUNREACH', fatal: true }, // 9 network administratively prohibited
  { code: 'EHOSTUNREACH', fatal: true }, // 10 host administratively prohibited
  { code: 'ENETUNREACH', fatal: false }, // 11 network unreachable for TOS
  { code: 'EHOSTUNREACH', fatal: false }, // 12 host unreachable for TOS
  { code: 'EHOSTUNREACH', fatal: true }, // 13 communication administratively prohibited
  { code: 'EHOSTUNREACH', fatal: true }, // 14 host precedence violation
  { code: 'EHOSTUNREACH', fatal: true }, // 15 precedence cutoff in effect
];

/** The errno and severity of a received ICMP error. */
export function icmpErrorMeaning(report: IcmpErrorReport): IcmpErrorMeaning {
  switch (report.kind) {
    case 'destinationUnreachable':
      return destinationUnreachable[report.code] ?? { code: 'EHOSTUNREACH', fatal: false };
    case 'timeExceeded':
      return { code: 'EHOSTUNREACH', fatal: false };
    case 'parameterProblem':
      return { code: 'EPROTO', fatal: true };
  }
}
