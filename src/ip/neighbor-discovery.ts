/**
 * Neighbor Discovery on one interface with link-layer addresses (RFC 4861 on Ethernet, RFC
 * 2464): next-hop determination and address resolution for each IPv6 packet leaving, the
 * Neighbor Cache and its unreachability detection (neighbor-cache.ts), answers to Neighbor
 * Solicitations, Redirects taken only as §8 allows, and Duplicate Address Detection (RFC 4862
 * §5.4) for every address before it is used. Router and prefix discovery and SLAAC are
 * `RouterDiscovery`'s (router-discovery.ts), to which Router Advertisements are handed.
 *
 *   IPv6 layer ── packet ──▶ EthernetAdapter ── linkAddressFor(packet) ──▶ NeighborDiscovery
 *                                 ▲                 next hop: Destination Cache (Redirects),
 *                                 │                 else the route's gateway, else the destination;
 *                                 └── MAC, or null: its link-layer address from the Neighbor Cache
 *                                     (queued while INCOMPLETE, sent by `deliver` later)
 *
 * Every message is checked by the codec and `checkNdpIpHeader` before it gets here (hop limit
 * 255 and the source rules of §6.1, §7.1 and §8.1); what is sent goes with hop limit 255.
 */
import type { Rng } from '../core/rng.js';
import type { Ipv6LinkResolver, NeighborLink } from '../link/link.js';
import type { Stats } from '../core/stats.js';
import { emitIcmpv6, icmpv6Length, type Icmpv6Repr } from './icmpv6.js';
import {
  formatIpv6Address,
  IPV6_ALL_NODES,
  IPV6_UNSPECIFIED,
  ipv6Equal,
  isIpv6Multicast,
  isLinkLocalUnicast,
  isUnspecifiedAddress,
  readIpv6Address,
  solicitedNodeAddress,
  type Ipv6Address,
} from './ipv6-address.js';
import type { Ipv6Layer } from './ipv6-layer.js';
import { emitIpv6, IPV6_HEADER_LENGTH, Ipv6NextHeader, type Ipv6Repr } from './ipv6.js';
import { NeighborCache, NUD_DEFAULTS, type NeighborTimers } from './neighbor-cache.js';
import type { NdpCounterName } from './ndp-counters.js';
import type { NdpOption, NdpRepr } from './ndp.js';
import { RouterDiscovery } from './router-discovery.js';
import { IDGEN_RETRIES } from './stable-interface-id.js';

/** The node constants of RFC 4861 §10 and RFC 4862 §5.1 that a host uses. */
export interface NeighborDiscoveryConfig {
  /** DupAddrDetectTransmits (RFC 4862 §5.1): solicitations per DAD; 0 turns DAD off. */
  readonly dupAddrDetectTransmits: number;
  /** BaseReachableTime (ms, REACHABLE_TIME 30 s) until a router says otherwise. */
  readonly baseReachableTimeMs: number;
  /** RetransTimer (ms, RETRANS_TIMER 1 s) until a router says otherwise. */
  readonly retransTimerMs: number;
  /** MAX_RTR_SOLICITATION_DELAY (ms, 1 s): the random delay before the first DAD solicitation and Router Solicitation. */
  readonly maxRtrSolicitationDelayMs: number;
  /** MAX_RTR_SOLICITATIONS (3). */
  readonly maxRtrSolicitations: number;
  /** RTR_SOLICITATION_INTERVAL (ms, 4 s). */
  readonly rtrSolicitationIntervalMs: number;
  /** Accept Router Advertisements: default routers, prefixes, SLAAC (a host does; Linux accept_ra 1). */
  readonly acceptRouterAdvertisements: boolean;
}

/** RFC 4861 §10 and RFC 4862's defaults. */
export const DEFAULT_NEIGHBOR_DISCOVERY_CONFIG: NeighborDiscoveryConfig = {
  dupAddrDetectTransmits: 1,
  baseReachableTimeMs: 30_000,
  retransTimerMs: 1_000,
  maxRtrSolicitationDelayMs: 1_000,
  maxRtrSolicitations: 3,
  rtrSolicitationIntervalMs: 4_000,
  acceptRouterAdvertisements: true,
};

/** Destinations redirected at most: a flood of Redirects costs bounded memory. */
const DESTINATION_CACHE_LIMIT = 1024;

/** A tentative address going through DAD. */
interface DadRun {
  readonly address: Ipv6Address;
  /** Solicitations still to send. */
  transmitsLeft: number;
  /** When the next solicitation goes, or (none left) when the address becomes preferred. */
  deadline: number;
  /** RFC 7217 §6: identifiers already tried for this prefix; null for an address not made by us. */
  readonly dadCounter: number | null;
}

/** Neighbor Discovery on one interface. */
export class NeighborDiscovery implements Ipv6LinkResolver {
  /** The Neighbor Cache (RFC 4861 §5.1). */
  readonly cache: NeighborCache;
  /** Default routers, prefixes, SLAAC (RFC 4861 §6.3.4, RFC 4862 §5.5). */
  readonly routers: RouterDiscovery;
  /** Destination Cache entries made by Redirects: destination → first hop (RFC 4861 §5.1, §8.3). */
  private readonly redirects = new Map<string, Ipv6Address>();
  private readonly dad = new Map<string, DadRun>();
  /** BaseReachableTime in force (a router's Reachable Time replaces the default, §6.3.4). */
  private baseReachableTimeMs: number;

  constructor(
    /** The interface's name in the stack. */
    readonly interfaceName: string,
    private readonly link: NeighborLink,
    private readonly ip: Ipv6Layer,
    private readonly stats: Stats<NdpCounterName>,
    private readonly rng: Rng,
    readonly config: NeighborDiscoveryConfig,
  ) {
    this.baseReachableTimeMs = config.baseReachableTimeMs;
    this.cache = new NeighborCache(this.timers(config.retransTimerMs), this.cacheActions(), stats);
    this.routers = new RouterDiscovery(this, ip, stats, rng);
    link.setIpv6Resolver(this);
  }

  /** This interface's link-layer address. */
  get linkAddress(): Uint8Array {
    return this.link.linkAddress;
  }

  // ---- sending: next hop and address resolution ------------------------------------------------

  /** RFC 4861 §5.2: the next hop of a packet to `destination` — a Redirect's, the route's gateway, or the destination itself. */
  nextHop(destination: Ipv6Address): Ipv6Address {
    const redirected = this.redirects.get(formatIpv6Address(destination));
    if (redirected) return redirected;
    return this.ip.routes.lookup(destination, this.interfaceName)?.gateway ?? destination;
  }

  linkAddressFor(packet: Uint8Array, now: number, segmentSize: number): Uint8Array | null {
    const hop = this.nextHop(readIpv6Address(packet, 24));
    return this.cache.resolve(hop, packet, segmentSize, now);
  }

  acceptsMulticast(linkAddress: Uint8Array): boolean {
    return this.ip.listensToMulticastMac(this.interfaceName, linkAddress);
  }

  private cacheActions() {
    return {
      solicit: (target: Ipv6Address, linkAddress: Uint8Array | null, waiting: Uint8Array | null, now: number) => {
        // §7.2.2: the source is the prompting packet's when that is ours, else one of the interface's.
        const prompted = waiting ? readIpv6Address(waiting, 8) : null;
        const source = prompted && this.ip.isLocalAddress(prompted) ? prompted : this.ip.sourceFor(target, this.interfaceName);
        if (source === null) return;
        const destination = linkAddress === null ? solicitedNodeAddress(target) : target;
        this.sendNeighborSolicitation(source, destination, target, true, now);
      },
      deliver: (linkAddress: Uint8Array, packet: Uint8Array, segmentSize: number, now: number) =>
        this.link.transmitIpv6To(linkAddress, packet, now, segmentSize),
      unreachable: (target: Ipv6Address, waiting: readonly Uint8Array[], wasRouter: boolean, now: number) => {
        // §7.2.2: "an ICMP destination unreachable message SHOULD be generated" (code 3, address unreachable).
        for (const packet of waiting) this.ip.reportUnreachable(packet, 3, now);
        if (wasRouter) this.routers.routerUnreachable(target, now);
        for (const [destination, hop] of this.redirects) if (ipv6Equal(hop, target)) this.redirects.delete(destination);
      },
    };
  }

  private timers(retransTimerMs: number): NeighborTimers {
    // §6.3.2: ReachableTime is random in [MIN_RANDOM_FACTOR, MAX_RANDOM_FACTOR] × BaseReachableTime.
    const reachableTimeMs = Math.round(this.baseReachableTimeMs * (0.5 + this.rng.nextFloat()));
    return { ...NUD_DEFAULTS, reachableTimeMs, retransTimerMs };
  }

  /** A router's Reachable Time and Retrans Timer (RFC 4861 §6.3.4; 0 leaves a value unchanged). */
  updateTimers(reachableTimeMs: number, retransTimerMs: number): void {
    const retrans = retransTimerMs !== 0 ? retransTimerMs : this.cache.currentTimers.retransTimerMs;
    if (reachableTimeMs !== 0 && reachableTimeMs !== this.baseReachableTimeMs) this.baseReachableTimeMs = reachableTimeMs;
    else if (retrans === this.cache.currentTimers.retransTimerMs) return;
    this.cache.setTimers(this.timers(retrans));
  }

  // ---- receiving -----------------------------------------------------------------------------

  /** A Neighbor Discovery message that passed the codec's and `checkNdpIpHeader`'s checks. */
  input(message: NdpRepr, header: Ipv6Repr, now: number): void {
    switch (message.kind) {
      case 'neighborSolicitation':
        this.neighborSolicitation(message.target, message.options, header, now);
        return;
      case 'neighborAdvertisement':
        this.neighborAdvertisement(message, now);
        return;
      case 'routerAdvertisement': {
        const sourceLink = this.linkAddressOption(message.options, 'sourceLinkLayerAddress');
        if (sourceLink === undefined) return;
        this.stats.increment('ndp.rx.routerAdvertisements');
        // §6.3.4: the router's link-layer address goes into the cache, IsRouter set.
        if (sourceLink !== null) this.cache.learn(header.source, sourceLink, true, now);
        else this.cache.markRouter(header.source);
        if (this.config.acceptRouterAdvertisements) this.routers.routerAdvertisement(message, header.source, now);
        return;
      }
      case 'redirect':
        this.redirect(message, header, now);
        return;
      case 'routerSolicitation':
        // §6.2.6: only routers process solicitations; a host silently discards them.
        return;
    }
  }

  /** RFC 4861 §7.2.3, RFC 4862 §5.4.3. */
  private neighborSolicitation(target: Ipv6Address, options: readonly NdpOption[], header: Ipv6Repr, now: number): void {
    const sourceLink = this.linkAddressOption(options, 'sourceLinkLayerAddress');
    if (sourceLink === undefined) return;
    const entry = this.ip.addressEntry(target, this.interfaceName);
    if (!entry || entry.state === 'duplicate') {
      this.stats.increment('drop.ndp.notOurTarget');
      return;
    }
    if (entry.state === 'tentative') {
      // RFC 4862 §5.4.3: from :: it is another node's DAD for the same address: ours is a
      // duplicate. From a unicast source it is address resolution by a node that should not
      // have sent it yet; silently discarded.
      if (isUnspecifiedAddress(header.source)) this.duplicateFound(target, now);
      return;
    }
    this.stats.increment('ndp.rx.neighborSolicitations');
    const fromDad = isUnspecifiedAddress(header.source);
    if (!fromDad && sourceLink !== null) this.cache.learn(header.source, sourceLink, undefined, now);
    // §7.2.4: solicited (S) unless the solicitation came from ::, then to all-nodes; Override
    // set (the target is not an anycast address); R clear (a host).
    this.sendNeighborAdvertisement(target, fromDad ? IPV6_ALL_NODES : header.source, !fromDad, true, now);
  }

  /** RFC 4861 §7.2.5, RFC 4862 §5.4.4. */
  private neighborAdvertisement(message: Extract<NdpRepr, { kind: 'neighborAdvertisement' }>, now: number): void {
    const targetLink = this.linkAddressOption(message.options, 'targetLinkLayerAddress');
    if (targetLink === undefined) return;
    const ours = this.ip.addressEntry(message.target, this.interfaceName);
    if (ours) {
      if (ours.state === 'tentative') this.duplicateFound(message.target, now);
      else if (targetLink === null || !bytesEqualMac(targetLink, this.link.linkAddress)) this.stats.increment('ndp.addressConflicts');
      return;
    }
    this.stats.increment('ndp.rx.neighborAdvertisements');
    const stoppedRouting = this.cache.advertised(message.target, targetLink, message, now);
    if (stoppedRouting) this.routers.routerUnreachable(message.target, now);
  }

  /**
   * RFC 4861 §8.1 and §8.3: a Redirect is taken only from the current first-hop router for its
   * destination (the IP source, link-local and hop limit 255 already checked), only with a
   * target that is link-local (a better router) or the destination itself (on-link); then the
   * Destination Cache sends that destination to the target, and the target's link-layer address,
   * when given, goes into the Neighbor Cache.
   */
  private redirect(message: Extract<NdpRepr, { kind: 'redirect' }>, header: Ipv6Repr, now: number): void {
    const targetLink = this.linkAddressOption(message.options, 'targetLinkLayerAddress');
    if (targetLink === undefined) return;
    if (isIpv6Multicast(message.destination) || !ipv6Equal(this.nextHop(message.destination), header.source)) {
      this.stats.increment('drop.ndp.redirectNotFromFirstHop');
      return;
    }
    const onLink = ipv6Equal(message.target, message.destination);
    if (!onLink && !isLinkLocalUnicast(message.target)) {
      this.stats.increment('drop.ndp.redirectBadTarget');
      return;
    }
    this.stats.increment('ndp.rx.redirects');
    const key = formatIpv6Address(message.destination);
    this.redirects.delete(key);
    if (this.redirects.size >= DESTINATION_CACHE_LIMIT) this.redirects.delete(this.redirects.keys().next().value as string);
    this.redirects.set(key, message.target.slice());
    // §8.3: with a Target Link-Layer Address the entry is STALE (made or changed); IsRouter is
    // set when the target is not the destination, left alone otherwise.
    if (targetLink !== null) this.cache.learn(message.target, targetLink, onLink ? undefined : true, now);
  }

  /**
   * The link-layer address of option `kind`: null when absent; undefined (after counting) when
   * present but not an Ethernet address (RFC 2464 §8: Length 1, six bytes).
   */
  private linkAddressOption(options: readonly NdpOption[], kind: 'sourceLinkLayerAddress' | 'targetLinkLayerAddress'): Uint8Array | null | undefined {
    for (const option of options) {
      if (option.kind !== kind) continue;
      if (option.address.length !== 6) {
        this.stats.increment('drop.ndp.badLinkLayerAddress');
        return undefined;
      }
      return option.address;
    }
    return null;
  }

  // ---- duplicate address detection (RFC 4862 §5.4) -------------------------------------------

  /**
   * Starts DAD for tentative `address` (RFC 4862 §5.4.2): after a random delay up to
   * MAX_RTR_SOLICITATION_DELAY, DupAddrDetectTransmits solicitations from :: to its
   * solicited-node group, RetransTimer apart; unanswered, it becomes preferred. `dadCounter`:
   * the RFC 7217 counter it was made with (null for an address given by the user).
   */
  startDad(address: Ipv6Address, dadCounter: number | null, now: number): void {
    this.stats.increment('ndp.dad.started');
    if (this.config.dupAddrDetectTransmits === 0) {
      this.ip.setAddressState(this.interfaceName, address, 'preferred', now);
      return;
    }
    const delay = Math.floor(this.rng.nextFloat() * this.config.maxRtrSolicitationDelayMs);
    this.dad.set(formatIpv6Address(address), {
      address: address.slice(),
      transmitsLeft: this.config.dupAddrDetectTransmits,
      deadline: now + delay,
      dadCounter,
    });
  }

  /** Stops the DAD of an address removed. */
  stopDad(address: Ipv6Address): void {
    this.dad.delete(formatIpv6Address(address));
  }

  private duplicateFound(address: Ipv6Address, now: number): void {
    const run = this.dad.get(formatIpv6Address(address));
    this.stats.increment('ndp.dad.duplicates');
    this.stopDad(address);
    // RFC 4862 §5.4.5: the address is not used. RFC 7217 §6: one we made is made again with the
    // next DAD_Counter, at most IDGEN_RETRIES times.
    this.ip.setAddressState(this.interfaceName, address, 'duplicate', now);
    if (run && run.dadCounter !== null && run.dadCounter < IDGEN_RETRIES) this.routers.regenerate(address, run.dadCounter + 1, now);
  }

  // ---- timers --------------------------------------------------------------------------------

  /** The next deadline of the cache, DAD and router discovery. */
  pollAt(): number {
    let next = Math.min(this.cache.pollAt(), this.routers.pollAt());
    for (const run of this.dad.values()) next = Math.min(next, run.deadline);
    return next;
  }

  /** Runs what is due. */
  poll(now: number): void {
    this.cache.poll(now);
    for (const [key, run] of this.dad) {
      if (run.deadline > now) continue;
      if (run.transmitsLeft === 0) {
        this.dad.delete(key);
        this.stats.increment('ndp.dad.succeeded');
        this.ip.setAddressState(this.interfaceName, run.address, 'preferred', now);
        continue;
      }
      run.transmitsLeft--;
      run.deadline = now + this.cache.currentTimers.retransTimerMs;
      this.sendNeighborSolicitation(IPV6_UNSPECIFIED, solicitedNodeAddress(run.address), run.address, false, now);
    }
    this.routers.poll(now);
  }

  // ---- sending messages ----------------------------------------------------------------------

  /** A Neighbor Solicitation (RFC 4861 §7.2.2; from :: without the source's link-layer address, §4.3). */
  private sendNeighborSolicitation(source: Ipv6Address, destination: Ipv6Address, target: Ipv6Address, withSourceLink: boolean, now: number): void {
    this.stats.increment('ndp.tx.neighborSolicitations');
    const options: NdpOption[] = withSourceLink && !isUnspecifiedAddress(source) ? [{ kind: 'sourceLinkLayerAddress', address: this.link.linkAddress }] : [];
    this.send(source, destination, { kind: 'neighborSolicitation', reserved: 0, target, options }, now);
  }

  /** A Neighbor Advertisement for our `target` (RFC 4861 §7.2.4), with our link-layer address. */
  private sendNeighborAdvertisement(target: Ipv6Address, destination: Ipv6Address, solicited: boolean, override: boolean, now: number): void {
    this.stats.increment('ndp.tx.neighborAdvertisements');
    this.send(
      target,
      destination,
      {
        kind: 'neighborAdvertisement',
        router: false,
        solicited,
        override,
        reserved: 0,
        target,
        options: [{ kind: 'targetLinkLayerAddress', address: this.link.linkAddress }],
      },
      now,
    );
  }

  /** Sends an NDP (or MLD) message from exactly `source` (:: included) with hop limit `hopLimit` (255 for NDP, §4). */
  send(source: Ipv6Address, destination: Ipv6Address, message: Icmpv6Repr, now: number, hopLimit = 255): void {
    const length = icmpv6Length(message);
    const packet = new Uint8Array(IPV6_HEADER_LENGTH + length);
    emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLength: length, nextHeader: Ipv6NextHeader.ICMPV6, hopLimit, source, destination }, packet);
    emitIcmpv6(message, packet.subarray(IPV6_HEADER_LENGTH), source, destination);
    this.ip.sendPacket(packet, now, this.interfaceName);
  }
}

function bytesEqualMac(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
