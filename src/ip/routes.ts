/**
 * The routing table: longest-prefix match over IPv4 prefixes (RFC 1812 §5.2.4.3), ties broken
 * by the lower metric, then by insertion order. A default route is simply 0.0.0.0/0.
 */
import { cidrContains, formatIpv4Address, formatIpv4Cidr, prefixMask, type Ipv4Address, type Ipv4Cidr } from './address.js';
import { IPV4_MIN_MTU } from './fragments.js';

/** One route: packets to `destination` leave through `interfaceName`, via `gateway` if set. */
export interface Route {
  readonly destination: Ipv4Cidr;
  readonly interfaceName: string;
  /** Next hop; absent for a directly connected network. */
  readonly gateway?: Ipv4Address;
  /** Lower is preferred among equal prefix lengths (default 0). */
  readonly metric?: number;
  /** Path MTU for this route, if lower than the interface MTU (e.g. `ip route ... mtu 1280`). */
  readonly mtu?: number;
  /** The MSS TCP offers on connections over this route (`ip route ... advmss 1200`, Linux's RTAX_ADVMSS). */
  readonly advertisedMss?: number;
}

/** A set of routes with longest-prefix-match lookup. */
export class RouteTable {
  private routes: Route[] = [];

  /** Adds a route (normalising the prefix to its network address). Throws on an MTU below 68. */
  add(route: Route): void {
    if (route.mtu !== undefined && !(route.mtu >= IPV4_MIN_MTU)) {
      throw new RangeError(`route MTU ${route.mtu} is below the IPv4 minimum of ${IPV4_MIN_MTU} (RFC 791 §3.2)`);
    }
    const network = (route.destination.address & prefixMask(route.destination.prefixLength)) >>> 0;
    this.routes.push({ ...route, destination: { address: network, prefixLength: route.destination.prefixLength } });
  }

  /** Removes every route matching the prefix (and interface, if given); returns how many. */
  remove(destination: Ipv4Cidr, interfaceName?: string): number {
    const before = this.routes.length;
    const network = (destination.address & prefixMask(destination.prefixLength)) >>> 0;
    this.routes = this.routes.filter(
      (r) =>
        !(
          r.destination.address === network &&
          r.destination.prefixLength === destination.prefixLength &&
          (interfaceName === undefined || r.interfaceName === interfaceName)
        ),
    );
    return before - this.routes.length;
  }

  /** The most specific route covering `address`, or null when none does. */
  lookup(address: Ipv4Address): Route | null {
    let best: Route | null = null;
    for (const route of this.routes) {
      if (!cidrContains(route.destination, address)) continue;
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
  list(): readonly Route[] {
    return this.routes;
  }

  /** `ip route`-style text of the table. */
  format(): string {
    return this.routes
      .map((r) => {
        const via = r.gateway === undefined ? '' : ` via ${formatIpv4Address(r.gateway)}`;
        const metric = r.metric ? ` metric ${r.metric}` : '';
        const mtu = r.mtu ? ` mtu ${r.mtu}` : '';
        const dst = r.destination.prefixLength === 0 ? 'default' : formatIpv4Cidr(r.destination);
        return `${dst}${via} dev ${r.interfaceName}${metric}${mtu}`;
      })
      .join('\n');
  }
}
