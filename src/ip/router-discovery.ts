/**
 * Router and prefix discovery (RFC 4861 §6.3) and stateless address autoconfiguration (RFC 4862)
 * for a host on one interface, with stable opaque interface identifiers (RFC 7217):
 *
 * - the link-local address fe80::/64 + RID (RFC 4862 §5.3), tentative until DAD says it is unique;
 * - then up to MAX_RTR_SOLICITATIONS Router Solicitations, RTR_SOLICITATION_INTERVAL apart, the
 *   first after a random delay (§6.3.7), until an advertisement arrives;
 * - each Router Advertisement (§6.3.4): the Default Router List (a `::/0` route through each
 *   router, metric 1024 as Linux's `proto ra`, for its Router Lifetime), Cur Hop Limit, Reachable
 *   Time and Retrans Timer, the MTU option, the Prefix List (an on-link route per L-flagged prefix
 *   for its Valid Lifetime), and for A-flagged /64 prefixes an address of ours (RFC 4862 §5.5.3)
 *   with its preferred and valid lifetimes — deprecated, then removed, as they run out;
 * - a router whose reachability fails is tried last (§6.3.6).
 *
 * Lifetimes are deadlines in the stack's time, run by `poll(now)`.
 */
import type { Rng } from '../core/rng.js';
import type { Stats } from '../core/stats.js';
import {
  formatIpv6Address,
  formatIpv6Cidr,
  IPV6_ALL_ROUTERS,
  ipv6CidrContains,
  ipv6Equal,
  ipv6FromGroups,
  ipv6Prefix,
  ipv6WithInterfaceId,
  isLinkLocalUnicast,
  type Ipv6Address,
  type Ipv6Cidr,
} from './ipv6-address.js';
import type { Ipv6Layer } from './ipv6-layer.js';
import { IPV6_MINIMUM_MTU } from './ipv6.js';
import type { NdpCounterName } from './ndp-counters.js';
import type { NdpRepr } from './ndp.js';
import type { NeighborDiscovery } from './neighbor-discovery.js';
import { stableInterfaceId } from './stable-interface-id.js';

/** fe80::/64 (RFC 4291 §2.5.6). */
const LINK_LOCAL_PREFIX = ipv6FromGroups([0xfe80, 0, 0, 0, 0, 0, 0, 0]);
/** RFC 4862 §5.5.3(e): a valid lifetime is not cut below two hours by an unauthenticated RA. */
const TWO_HOURS_MS = 2 * 3600_000;
/** A lifetime field of all ones is infinity (RFC 4861 §4.6.2, RFC 4862 §5.5.3). */
const INFINITE_LIFETIME = 0xffffffff;
/** Linux's metric for routes learned from RAs. */
const RA_ROUTE_METRIC = 1024;
/** Routers and prefixes kept at most per interface: RAs cost bounded memory. */
const LIST_LIMIT = 64;
/** The default route. */
const DEFAULT_ROUTE: Ipv6Cidr = { address: new Uint8Array(16), prefixLength: 0 };

type RouterAdvertisement = Extract<NdpRepr, { kind: 'routerAdvertisement' }>;

/** An address this host made for itself (link-local or SLAAC) and its lifetimes. */
interface AutoconfiguredAddress {
  readonly prefix: Ipv6Address;
  address: Ipv6Address;
  /** RFC 7217 §6's DAD_Counter it was made with. */
  dadCounter: number;
  /** Infinity for the link-local address. */
  preferredUntil: number;
  validUntil: number;
  /** Past its preferred lifetime (RFC 4862 §5.5.4). */
  deprecated: boolean;
}

/** Router and prefix discovery and SLAAC on one interface. */
export class RouterDiscovery {
  /** Default Router List: address text → when its lifetime ends. */
  private readonly routers = new Map<string, { readonly address: Ipv6Address; expires: number }>();
  /** Prefix List: prefix text → the prefix and when it stops being on-link. */
  private readonly prefixes = new Map<string, { readonly prefix: Ipv6Cidr; expires: number }>();
  /** Our own addresses, by prefix text. */
  private readonly addresses = new Map<string, AutoconfiguredAddress>();
  private solicitationsSent = 0;
  private nextSolicitation = Infinity;
  /** Cur Hop Limit of the last RA that set one; null: the stack's default. */
  currentHopLimit: number | null = null;
  /** The link MTU an RA's MTU option set (RFC 4861 §6.3.4); null: the interface's. */
  linkMtu: number | null = null;

  constructor(
    private readonly nd: NeighborDiscovery,
    private readonly ip: Ipv6Layer,
    private readonly stats: Stats<NdpCounterName>,
    private readonly rng: Rng,
  ) {}

  /** Makes the link-local address (RFC 4862 §5.3, RFC 7217 identifier) and starts its DAD. */
  start(now: number): void {
    this.configure(LINK_LOCAL_PREFIX, 0, Infinity, Infinity, now);
  }

  /** The default routers, in the order they are tried. */
  defaultRouters(): readonly Ipv6Address[] {
    return [...this.routers.values()].map((router) => router.address);
  }

  /** The on-link prefixes learned from RAs. */
  onLinkPrefixes(): readonly Ipv6Cidr[] {
    return [...this.prefixes.values()].map((entry) => entry.prefix);
  }

  /** An address became preferred: once the link-local one is, routers are solicited (§6.3.7). */
  addressReady(address: Ipv6Address, now: number): void {
    if (!isLinkLocalUnicast(address) || this.solicitationsSent > 0 || this.routers.size > 0) return;
    this.nextSolicitation = now + Math.floor(this.rng.nextFloat() * this.nd.config.maxRtrSolicitationDelayMs);
  }

  /** RFC 7217 §6: `address` was a duplicate; its prefix gets the identifier of `dadCounter`. */
  regenerate(address: Ipv6Address, dadCounter: number, now: number): void {
    for (const entry of this.addresses.values()) {
      if (!ipv6Equal(entry.address, address)) continue;
      this.ip.removeAddress(this.nd.interfaceName, address);
      this.configure(entry.prefix, dadCounter, entry.preferredUntil, entry.validUntil, now);
      return;
    }
  }

  /** RFC 4861 §6.3.6: a router that stopped answering (or routing) is chosen last. */
  routerUnreachable(address: Ipv6Address, now: number): void {
    const key = formatIpv6Address(address);
    const router = this.routers.get(key);
    if (!router) return;
    this.routers.delete(key);
    this.removeDefaultRoute(address);
    if (router.expires > now) {
      this.routers.set(key, router);
      this.ip.routes.add({ destination: DEFAULT_ROUTE, gateway: address, interfaceName: this.nd.interfaceName, metric: RA_ROUTE_METRIC });
    }
  }

  /** RFC 4861 §6.3.4: a valid Router Advertisement from `source`. */
  routerAdvertisement(message: RouterAdvertisement, source: Ipv6Address, now: number): void {
    this.nextSolicitation = Infinity; // §6.3.7: an advertisement ends the solicitations
    if (message.currentHopLimit !== 0) this.currentHopLimit = message.currentHopLimit;
    this.nd.updateTimers(message.reachableTime, message.retransTimer);
    const key = formatIpv6Address(source);
    const router = this.routers.get(key);
    if (message.routerLifetime === 0) {
      if (router) this.dropRouter(key, router.address);
    } else if (router) {
      router.expires = now + message.routerLifetime * 1000;
    } else if (this.routers.size < LIST_LIMIT) {
      this.stats.increment('ndp.routers.added');
      this.routers.set(key, { address: source.slice(), expires: now + message.routerLifetime * 1000 });
      this.ip.routes.add({ destination: DEFAULT_ROUTE, gateway: source.slice(), interfaceName: this.nd.interfaceName, metric: RA_ROUTE_METRIC });
    }
    for (const option of message.options) {
      if (option.kind === 'mtu') {
        // §6.3.4: an MTU below the minimum or above the link's maximum is ignored.
        const iface = this.ip.interfaceOf(this.nd.interfaceName);
        if (iface && option.mtu >= IPV6_MINIMUM_MTU && option.mtu <= iface.mtu) this.linkMtu = option.mtu;
      }
      if (option.kind !== 'prefixInformation') continue;
      if (option.prefixLength > 128) continue;
      const prefix: Ipv6Cidr = { address: ipv6Prefix(option.prefix, option.prefixLength), prefixLength: option.prefixLength };
      if (isLinkLocalUnicast(prefix.address)) {
        // §6.3.4 and RFC 4862 §5.5.3(b): the link-local prefix is ignored.
        this.stats.increment('drop.ndp.badPrefix');
        continue;
      }
      if (option.onLink) this.onLinkPrefix(prefix, option.validLifetime, now);
      if (option.autonomous) this.autonomousPrefix(prefix, option.validLifetime, option.preferredLifetime, now);
    }
  }

  /** RFC 4861 §6.3.4: the Prefix List. */
  private onLinkPrefix(prefix: Ipv6Cidr, validLifetime: number, now: number): void {
    const key = formatIpv6Cidr(prefix);
    const entry = this.prefixes.get(key);
    const expires = lifetimeEnd(validLifetime, now);
    if (entry) {
      if (validLifetime === 0) this.dropPrefix(key, entry.prefix);
      else entry.expires = expires;
      return;
    }
    if (validLifetime === 0 || this.prefixes.size >= LIST_LIMIT) return;
    this.stats.increment('ndp.prefixes.added');
    this.prefixes.set(key, { prefix, expires });
    const existing = this.ip.routes
      .list()
      .some(
        (r) =>
          r.interfaceName === this.nd.interfaceName &&
          r.gateway === undefined &&
          r.destination.prefixLength === prefix.prefixLength &&
          ipv6CidrContains(r.destination, prefix.address),
      );
    if (!existing) this.ip.routes.add({ destination: prefix, interfaceName: this.nd.interfaceName, metric: RA_ROUTE_METRIC });
  }

  /** RFC 4862 §5.5.3: an address from an autonomous prefix, or new lifetimes for ours. */
  private autonomousPrefix(prefix: Ipv6Cidr, validLifetime: number, preferredLifetime: number, now: number): void {
    if (preferredLifetime > validLifetime) {
      this.stats.increment('drop.ndp.badPrefix'); // (c)
      return;
    }
    const key = formatIpv6Cidr(prefix);
    const ours = this.addresses.get(key);
    if (ours) {
      // (e): the preferred lifetime is taken as given; the valid one is not cut below two hours.
      ours.preferredUntil = lifetimeEnd(preferredLifetime, now);
      const remaining = ours.validUntil - now;
      const received = validLifetime === INFINITE_LIFETIME ? Infinity : validLifetime * 1000;
      if (received > TWO_HOURS_MS || received > remaining) ours.validUntil = now + received;
      else if (remaining > TWO_HOURS_MS) ours.validUntil = now + TWO_HOURS_MS;
      if (ours.deprecated && ours.preferredUntil > now) {
        ours.deprecated = false;
        this.ip.setAddressState(this.nd.interfaceName, ours.address, 'preferred', now);
      }
      return;
    }
    if (validLifetime === 0) return;
    // (d): the prefix and a 64-bit identifier must make 128 bits (RFC 2464 §4 for Ethernet).
    if (prefix.prefixLength !== 64 || this.addresses.size >= LIST_LIMIT) {
      this.stats.increment('drop.ndp.badPrefix');
      return;
    }
    this.stats.increment('ndp.slaac.addresses');
    this.configure(prefix.address, 0, lifetimeEnd(preferredLifetime, now), lifetimeEnd(validLifetime, now), now);
  }

  /** Makes our address in `prefix` with RFC 7217's identifier for `dadCounter`, tentative, and starts DAD. */
  private configure(prefix: Ipv6Address, dadCounter: number, preferredUntil: number, validUntil: number, now: number): void {
    const id = stableInterfaceId(prefix, this.nd.interfaceName, dadCounter, this.ip.stableSecret());
    const address = ipv6WithInterfaceId(prefix, id);
    this.addresses.set(formatIpv6Cidr({ address: prefix, prefixLength: 64 }), { prefix, address, dadCounter, preferredUntil, validUntil, deprecated: false });
    this.ip.addAddress(this.nd.interfaceName, { address, prefixLength: 64 }, now, dadCounter);
  }

  private dropRouter(key: string, address: Ipv6Address): void {
    this.stats.increment('ndp.routers.expired');
    this.routers.delete(key);
    this.removeDefaultRoute(address);
  }

  private removeDefaultRoute(gateway: Ipv6Address): void {
    this.ip.routes.removeWhere(
      (r) =>
        r.destination.prefixLength === 0 &&
        r.interfaceName === this.nd.interfaceName &&
        r.gateway !== undefined &&
        ipv6Equal(r.gateway, gateway) &&
        r.metric === RA_ROUTE_METRIC,
    );
  }

  private dropPrefix(key: string, prefix: Ipv6Cidr): void {
    this.stats.increment('ndp.prefixes.expired');
    this.prefixes.delete(key);
    this.ip.routes.removeWhere(
      (r) =>
        r.interfaceName === this.nd.interfaceName &&
        r.gateway === undefined &&
        r.metric === RA_ROUTE_METRIC &&
        r.destination.prefixLength === prefix.prefixLength &&
        ipv6Equal(r.destination.address, prefix.address),
    );
  }

  /** The next deadline: a solicitation, a router's, a prefix's or an address's lifetime. */
  pollAt(): number {
    let next = this.nextSolicitation;
    for (const router of this.routers.values()) next = Math.min(next, router.expires);
    for (const prefix of this.prefixes.values()) next = Math.min(next, prefix.expires);
    for (const entry of this.addresses.values()) {
      if (!entry.deprecated) next = Math.min(next, entry.preferredUntil);
      next = Math.min(next, entry.validUntil);
    }
    return next;
  }

  /** Runs what is due. */
  poll(now: number): void {
    if (this.nextSolicitation <= now) this.solicit(now);
    for (const [key, router] of this.routers) if (router.expires <= now) this.dropRouter(key, router.address);
    for (const [key, entry] of this.prefixes) if (entry.expires <= now) this.dropPrefix(key, entry.prefix);
    for (const [key, entry] of this.addresses) {
      if (entry.validUntil <= now) {
        this.stats.increment('ndp.slaac.expired');
        this.addresses.delete(key);
        this.ip.removeAddress(this.nd.interfaceName, entry.address);
      } else if (!entry.deprecated && entry.preferredUntil <= now) {
        // RFC 4862 §5.5.4: past its preferred lifetime an address is deprecated: kept for the
        // connections that use it, not chosen for new ones.
        entry.deprecated = true;
        this.ip.setAddressState(this.nd.interfaceName, entry.address, 'deprecated', now);
      }
    }
  }

  /** RFC 4861 §6.3.7: a Router Solicitation from our link-local address (or ::, without it). */
  private solicit(now: number): void {
    this.solicitationsSent++;
    this.stats.increment('ndp.tx.routerSolicitations');
    this.nextSolicitation = this.solicitationsSent < this.nd.config.maxRtrSolicitations ? now + this.nd.config.rtrSolicitationIntervalMs : Infinity;
    const source = this.ip.preferredLinkLocal(this.nd.interfaceName);
    const options = source ? [{ kind: 'sourceLinkLayerAddress' as const, address: this.nd.linkAddress }] : [];
    this.nd.send(source ?? new Uint8Array(16), IPV6_ALL_ROUTERS, { kind: 'routerSolicitation', reserved: 0, options }, now);
  }
}

/** When a lifetime of `seconds` given at `now` ends (all ones: never). */
function lifetimeEnd(seconds: number, now: number): number {
  return seconds === INFINITE_LIFETIME ? Infinity : now + seconds * 1000;
}
