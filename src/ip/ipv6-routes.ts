/**
 * The IPv6 routing table: longest-prefix match over IPv6 prefixes (RFC 4291 §2.3; the
 * conceptual sending algorithm of RFC 4861 §5.2 consults a prefix list first, then the default
 * routers), ties broken by the lower metric, then by insertion order (prefix-routes.ts, shared
 * with IPv4). A default route is ::/0.
 */
import { formatIpv6Address, formatIpv6Cidr, ipv6CidrContains, ipv6Equal, ipv6Prefix, type Ipv6Address, type Ipv6Cidr } from './ipv6-address.js';
import { IPV6_HEADER_LENGTH } from './ipv6.js';
import { PrefixRouteTable, type AddressFamilyRoutes, type PrefixRoute } from './prefix-routes.js';

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

/**
 * One IPv6 route: packets to `destination` leave through `interfaceName`, via `gateway` if set.
 * Its `mtu` (`ip -6 route … mtu lock N`) may be below 1280, as Linux allows (see ROUTE_MTU_FLOOR).
 */
export type Ipv6Route = PrefixRoute<Ipv6Address, Ipv6Cidr>;

/** IPv6's addresses as the route table sees them; a route MTU below ROUTE_MTU_FLOOR is refused. */
const IPV6_ROUTES: AddressFamilyRoutes<Ipv6Address, Ipv6Cidr> = {
  network: ipv6Prefix,
  contains: ipv6CidrContains,
  equal: ipv6Equal,
  formatAddress: formatIpv6Address,
  formatCidr: formatIpv6Cidr,
  mtuFloor: ROUTE_MTU_FLOOR,
  mtuFloorReason: `${ROUTE_MTU_FLOOR}, an IPv6 header, a Fragment header and 8 octets (RFC 8200 §4.5)`,
};

/** A set of IPv6 routes with longest-prefix-match lookup. */
export class Ipv6RouteTable extends PrefixRouteTable<Ipv6Address, Ipv6Cidr, Ipv6Route> {
  constructor() {
    super(IPV6_ROUTES);
  }
}
