/**
 * Ephemeral port selection shared by UDP and TCP (RFC 6056). We use Algorithm 1, "simple port
 * randomization" (§3.3.1): start at a random point of the range and walk forward to the first
 * port the caller says is free. The randomness comes from the stack's injected Rng.
 */
import type { Rng } from '../core/rng.js';
import { IPV4_ANY } from './address.js';
import { IPV6_ANY_TEXT, type IpAddress } from './ip-address.js';

/** An inclusive range of ports for automatic assignment. */
export interface PortRange {
  readonly low: number;
  readonly high: number;
}

/** IANA's dynamic/private range (RFC 6335 §6), our default. Linux defaults to 32768–60999. */
export const DEFAULT_EPHEMERAL_PORTS: PortRange = { low: 49152, high: 65535 };

/** Picks a random free port in `range`, or null when every port is taken. */
export function allocateEphemeralPort(range: PortRange, rng: Rng, isFree: (port: number) => boolean): number | null {
  const count = range.high - range.low + 1;
  const start = rng.nextInt(0, count);
  for (let i = 0; i < count; i++) {
    const port = range.low + ((start + i) % count);
    if (isFree(port)) return port;
  }
  return null;
}

/**
 * Whether two bindings of one port, by TCP or by UDP, would both take some packet: equal
 * addresses; 0.0.0.0 and any IPv4 address; `::` and any IPv6 address, and any IPv4 one too
 * unless that side is IPV6_V6ONLY. Ports are one space for both families (RFC 6056 §2.1: the
 * port with the address names the endpoint), as Linux's inet_rcv_saddr_equal has them.
 */
export function bindingsOverlap(a: IpAddress, aIpv6Only: boolean, b: IpAddress, bIpv6Only: boolean): boolean {
  if (a === b) return true;
  const covers = (wildcard: IpAddress, ipv6Only: boolean, other: IpAddress): boolean =>
    (wildcard === IPV4_ANY && typeof other === 'number') || (wildcard === IPV6_ANY_TEXT && (typeof other === 'string' || !ipv6Only));
  return covers(a, aIpv6Only, b) || covers(b, bIpv6Only, a);
}
