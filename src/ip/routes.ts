/**
 * The IPv4 routing table: longest-prefix match over IPv4 prefixes (RFC 1812 §5.2.4.3), ties
 * broken by the lower metric, then by insertion order (prefix-routes.ts, shared with IPv6). A
 * default route is simply 0.0.0.0/0.
 */
import { cidrContains, formatIpv4Address, formatIpv4Cidr, prefixMask, type Ipv4Address, type Ipv4Cidr } from './address.js';
import { IPV4_MIN_MTU } from './fragments.js';
import { PrefixRouteTable, type AddressFamilyRoutes, type PrefixRoute } from './prefix-routes.js';

/** One IPv4 route: packets to `destination` leave through `interfaceName`, via `gateway` if set. */
export type Route = PrefixRoute<Ipv4Address, Ipv4Cidr>;

/** IPv4's addresses as the route table sees them; a route MTU below 68 is refused (RFC 791 §3.2). */
const IPV4_ROUTES: AddressFamilyRoutes<Ipv4Address, Ipv4Cidr> = {
  network: (address, prefixLength) => (address & prefixMask(prefixLength)) >>> 0,
  contains: cidrContains,
  equal: (a, b) => a === b,
  formatAddress: formatIpv4Address,
  formatCidr: formatIpv4Cidr,
  mtuFloor: IPV4_MIN_MTU,
  mtuFloorReason: `the IPv4 minimum of ${IPV4_MIN_MTU} (RFC 791 §3.2)`,
};

/** A set of IPv4 routes with longest-prefix-match lookup. */
export class RouteTable extends PrefixRouteTable<Ipv4Address, Ipv4Cidr, Route> {
  constructor() {
    super(IPV4_ROUTES);
  }
}
