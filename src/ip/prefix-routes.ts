/**
 * The routing table both families share: longest-prefix match (RFC 1812 §5.2.4.3 for IPv4,
 * RFC 4291 §2.3 / RFC 4861 §5.2 for IPv6), ties broken by the lower metric, then by insertion
 * order. A default route is the zero-length prefix. What differs per family — how an address is
 * masked, compared and written, and the smallest route MTU the family can carry — comes in as
 * `AddressFamilyRoutes` (routes.ts, ipv6-routes.ts).
 */
import type { NetworkInterface } from './interface.js';

/** A prefix: an address and how many of its leading bits count. */
export interface Prefix<Address> {
  readonly address: Address;
  readonly prefixLength: number;
}

/** One route: packets to `destination` leave through `interfaceName`, via `gateway` if set. */
export interface PrefixRoute<Address, Cidr extends Prefix<Address>> {
  /** The prefix the route covers (stored with its host bits cleared). */
  readonly destination: Cidr;
  /** The interface packets leave by. */
  readonly interfaceName: string;
  /** Next hop; absent for a directly connected (on-link) network. */
  readonly gateway?: Address;
  /** Lower is preferred among equal prefix lengths (default 0). */
  readonly metric?: number;
  /**
   * Path MTU for this route, if lower than the interface MTU (`ip route … mtu 1280`); never below
   * the family's route MTU floor (`AddressFamilyRoutes.mtuFloor`).
   */
  readonly mtu?: number;
  /** The MSS TCP offers on connections over this route (`ip route … advmss 1200`, Linux's RTAX_ADVMSS). */
  readonly advertisedMss?: number;
}

/** What a route table needs to know of its address family. */
export interface AddressFamilyRoutes<Address, Cidr extends Prefix<Address>> {
  /** `address` with the bits past `prefixLength` cleared. */
  network(address: Address, prefixLength: number): Address;
  /** Whether `address` lies inside `cidr`. */
  contains(cidr: Cidr, address: Address): boolean;
  /** Whether two addresses are the same. */
  equal(a: Address, b: Address): boolean;
  /** An address as `ip route` writes it. */
  formatAddress(address: Address): string;
  /** A prefix as `ip route` writes it. */
  formatCidr(cidr: Cidr): string;
  /** The smallest route MTU accepted (RFC 791 §3.2's 68; for IPv6 see ipv6-routes.ts's ROUTE_MTU_FLOOR). */
  readonly mtuFloor: number;
  /** Why the floor is where it is, as the refusal says it ("the IPv4 minimum of 68 (RFC 791 §3.2)"). */
  readonly mtuFloorReason: string;
}

/** A set of routes of one family with longest-prefix-match lookup. */
export class PrefixRouteTable<Address, Cidr extends Prefix<Address>, Route extends PrefixRoute<Address, Cidr>> {
  private routes: Route[] = [];
  /** Bumped by every change, so that a cache of lookups (IpLayer's paths) knows when it is stale. */
  private changes = 0;

  constructor(private readonly family: AddressFamilyRoutes<Address, Cidr>) {}

  /** How many times the table has changed: a lookup's answer holds while this stays the same. */
  get generation(): number {
    return this.changes;
  }

  /** Adds a route (normalising the prefix to its network address). Throws on an MTU below the family's floor. */
  add(route: Route): void {
    if (route.mtu !== undefined && !(route.mtu >= this.family.mtuFloor)) {
      throw new RangeError(`route MTU ${route.mtu} is below ${this.family.mtuFloorReason}`);
    }
    const network = this.family.network(route.destination.address, route.destination.prefixLength);
    this.routes.push({ ...route, destination: { ...route.destination, address: network } });
    this.changes++;
  }

  /** Removes every route for the prefix (and interface, if given); returns how many. */
  remove(destination: Cidr, interfaceName?: string): number {
    const network = this.family.network(destination.address, destination.prefixLength);
    return this.removeWhere(
      (r) =>
        this.family.equal(r.destination.address, network) &&
        r.destination.prefixLength === destination.prefixLength &&
        (interfaceName === undefined || r.interfaceName === interfaceName),
    );
  }

  /** Removes every route `match` picks (Neighbor Discovery's routes through one router); returns how many. */
  removeWhere(match: (route: Route) => boolean): number {
    const before = this.routes.length;
    this.routes = this.routes.filter((route) => !match(route));
    if (this.routes.length !== before) this.changes++;
    return before - this.routes.length;
  }

  /** The most specific route covering `address` (leaving by `interfaceName` when given), or null. */
  lookup(address: Address, interfaceName?: string): Route | null {
    let best: Route | null = null;
    for (const route of this.routes) {
      if (interfaceName !== undefined && route.interfaceName !== interfaceName) continue;
      if (!this.family.contains(route.destination, address)) continue;
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
        const via = r.gateway === undefined ? '' : ` via ${this.family.formatAddress(r.gateway)}`;
        const metric = r.metric ? ` metric ${r.metric}` : '';
        const mtu = r.mtu ? ` mtu ${r.mtu}` : '';
        const dst = r.destination.prefixLength === 0 ? 'default' : this.family.formatCidr(r.destination);
        return `${dst}${via} dev ${r.interfaceName}${metric}${mtu}`;
      })
      .join('\n');
  }
}

/** The MTU a route allows on its interface: the route's own when it sets one below the interface's. */
export function routeMtu(route: { readonly mtu?: number }, iface: NetworkInterface): number {
  return route.mtu !== undefined ? Math.min(route.mtu, iface.mtu) : iface.mtu;
}
