/**
 * The IPv6 routing table: longest-prefix match over IPv6 prefixes (RFC 4291 §2.3; the
 * conceptual sending algorithm of RFC 4861 §5.2 consults a prefix list first, then the default
 * routers), ties broken by the lower metric, then by insertion order. A default route is ::/0.
 */
import { formatIpv6Address, formatIpv6Cidr, ipv6CidrContains, ipv6Equal, ipv6Prefix, type Ipv6Address, type Ipv6Cidr } from './ipv6-address.js';
import { IPV6_HEADER_LENGTH } from './ipv6.js';

/**
 * The smallest route MTU accepted: an IPv6 header, a Fragment header and 8 octets of data, the
 * least a datagram can be cut into (RFC 8200 §4.5). RFC 8200 §5's 1280 binds links (an
 * interface's MTU, still refused below it in Ipv6Layer) and RFC 8201 §4 binds what a Packet Too
 * Big may teach (clamped there too); a route MTU is the administrator's own cap on what this
 * host sends, and sending smaller packets than 1280 breaks no receiver. Linux takes any value
 * (`ip -6 route add … mtu lock 660`, even 1; checked on 6.18) and uses it for TCP's MSS and
 * IPv6 fragmentation — packetdrill's mtu_probe/basic-v6.pkt relies on 660.
 */
export const ROUTE_MTU_FLOOR = IPV6_HEADER_LENGTH + 8 + 8;

/** One IPv6 route: packets to `destination` leave through `interfaceName`, via `gateway` if set. */
export interface Ipv6Route {
  /** The prefix the route covers (stored with its host bits cleared). */
  readonly destination: Ipv6Cidr;
  /** The interface packets leave by. */
  readonly interfaceName: string;
  /** Next hop; absent for an on-link prefix. */
  readonly gateway?: Ipv6Address;
  /** Lower is preferred among equal prefix lengths (default 0). */
  readonly metric?: number;
  /**
   * Path MTU for this route if lower than the interface's (`ip -6 route … mtu lock N`); may be
   * below 1280, as Linux allows (see ROUTE_MTU_FLOOR).
   */
  readonly mtu?: number;
  /** The MSS TCP offers on connections over this route (`ip -6 route ... advmss`). */
  readonly advertisedMss?: number;
}

/** A set of IPv6 routes with longest-prefix-match lookup. */
export class Ipv6RouteTable {
  private routes: Ipv6Route[] = [];

  /** Adds a route. Throws on an MTU too small to carry even a fragment (ROUTE_MTU_FLOOR). */
  add(route: Ipv6Route): void {
    if (route.mtu !== undefined && !(route.mtu >= ROUTE_MTU_FLOOR)) {
      throw new RangeError(`route MTU ${route.mtu} is below ${ROUTE_MTU_FLOOR}, an IPv6 header, a Fragment header and 8 octets (RFC 8200 §4.5)`);
    }
    const destination = { address: ipv6Prefix(route.destination.address, route.destination.prefixLength), prefixLength: route.destination.prefixLength };
    this.routes.push({ ...route, destination });
  }

  /** Removes every route for the prefix (and interface, if given); returns how many. */
  remove(destination: Ipv6Cidr, interfaceName?: string): number {
    const before = this.routes.length;
    const network = ipv6Prefix(destination.address, destination.prefixLength);
    this.routes = this.routes.filter(
      (r) =>
        !(
          ipv6Equal(r.destination.address, network) &&
          r.destination.prefixLength === destination.prefixLength &&
          (interfaceName === undefined || r.interfaceName === interfaceName)
        ),
    );
    return before - this.routes.length;
  }

  /** Removes every route `match` picks (Neighbor Discovery's routes through one router); returns how many. */
  removeWhere(match: (route: Ipv6Route) => boolean): number {
    const before = this.routes.length;
    this.routes = this.routes.filter((route) => !match(route));
    return before - this.routes.length;
  }

  /** The most specific route covering `address` (leaving by `interfaceName` when given), or null. */
  lookup(address: Ipv6Address, interfaceName?: string): Ipv6Route | null {
    let best: Ipv6Route | null = null;
    for (const route of this.routes) {
      if (interfaceName !== undefined && route.interfaceName !== interfaceName) continue;
      if (!ipv6CidrContains(route.destination, address)) continue;
      if (
        best === null ||
        route.destination.prefixLength > best.destination.prefixLength ||
        (route.destination.prefixLength === best.destination.prefixLength && (route.metric ?? 0) < (best.metric ?? 0))
      ) {
        best = route;
      }
    }
    return best;
  }

  /** Every route, for display. */
  list(): readonly Ipv6Route[] {
    return this.routes;
  }

  /** `ip -6 route`-style text of the table. */
  format(): string {
    return this.routes
      .map((r) => {
        const via = r.gateway === undefined ? '' : ` via ${formatIpv6Address(r.gateway)}`;
        const metric = r.metric ? ` metric ${r.metric}` : '';
        const mtu = r.mtu ? ` mtu ${r.mtu}` : '';
        const dst = r.destination.prefixLength === 0 ? 'default' : formatIpv6Cidr(r.destination);
        return `${dst}${via} dev ${r.interfaceName}${metric}${mtu}`;
      })
      .join('\n');
  }
}
