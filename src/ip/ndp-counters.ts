/**
 * What Neighbor Discovery (neighbor-cache.ts, neighbor-discovery.ts, address-autoconfiguration.ts)
 * and the MLDv2 host (mld-host.ts) count, for IPv6 over Ethernet; docs/counters.md lists them.
 */
import { DECODE_REASONS, type DecodeReason } from '../core/decode-error.js';
import { counterFamily, type CounterNameOf, type CounterRegistry } from '../core/stats.js';

/** What Neighbor Discovery and the MLD host count. */
export const NDP_COUNTERS = {
  'ndp.resolutions': 'address resolutions started: an INCOMPLETE entry made and a multicast solicitation sent (RFC 4861 §7.2.2)',
  'ndp.resolutionFailures': 'resolutions given up after MAX_MULTICAST_SOLICIT solicitations (waiting packets answered with address unreachable)',
  'ndp.probes': 'unicast solicitations of Neighbor Unreachability Detection (RFC 4861 §7.3.3, PROBE)',
  'ndp.unreachable': 'neighbors deleted after MAX_UNICAST_SOLICIT unanswered probes',
  'ndp.cacheEvictions': 'entries pushed out of a full Neighbor Cache',
  'ndp.rx.unsolicitedAdvertisementIgnored': 'Neighbor Advertisements for an address without a cache entry (RFC 4861 §7.2.5: ignored)',
  'ndp.rx.neighborSolicitations': 'Neighbor Solicitations for an address of ours, answered (RFC 4861 §7.2.3)',
  'ndp.rx.neighborAdvertisements': 'Neighbor Advertisements taken (RFC 4861 §7.2.5)',
  'ndp.rx.routerAdvertisements': 'Router Advertisements taken (RFC 4861 §6.3.4)',
  'ndp.rx.redirects': 'Redirects taken (RFC 4861 §8.3)',
  'ndp.tx.neighborSolicitations': 'Neighbor Solicitations sent: resolution, probes, DAD',
  'ndp.tx.neighborAdvertisements': 'Neighbor Advertisements sent',
  'ndp.tx.routerSolicitations': 'Router Solicitations sent (RFC 4861 §6.3.7)',
  'ndp.dad.started': 'addresses put through Duplicate Address Detection (RFC 4862 §5.4)',
  'ndp.dad.succeeded': 'tentative addresses that became preferred',
  'ndp.dad.duplicates': 'tentative addresses found in use by another node (RFC 4862 §5.4.3, §5.4.4)',
  'ndp.addressConflicts': 'advertisements from another node for an address of ours that is no longer tentative',
  'ndp.slaac.addresses': 'addresses formed from a Prefix Information option (RFC 4862 §5.5.3, RFC 7217 identifiers)',
  'ndp.slaac.expired': 'autoconfigured addresses whose valid lifetime ran out',
  'ndp.routers.added': 'default routers learned from Router Advertisements',
  'ndp.routers.expired': 'default routers whose lifetime ran out or that said they no longer route',
  'ndp.prefixes.added': 'on-link prefixes learned from Router Advertisements (RFC 4861 §6.3.4)',
  'ndp.prefixes.expired': 'on-link prefixes whose valid lifetime ran out',
  'drop.ndp.<DecodeReason>': counterFamily<DecodeReason>(
    'Neighbor Discovery messages refused by the codec or its IP-header checks (ndp.ts: hop limit 255, sources)',
    DECODE_REASONS,
  ),
  'drop.ndp.notOurTarget': 'Neighbor Solicitations for an address that is not ours (RFC 4861 §7.2.3: silently discarded)',
  'drop.ndp.queueFull': 'packets dropped from a full queue of packets waiting for an address (RFC 4861 §7.2.2)',
  'drop.ndp.unresolved': 'packets lost because their next hop never answered (or its entry was evicted)',
  'drop.ndp.redirectNotFromFirstHop': 'Redirects not sent by the first-hop router for their destination (RFC 4861 §8.1)',
  'drop.ndp.redirectBadTarget': 'Redirects whose target is neither link-local nor the destination (RFC 4861 §8.1)',
  'drop.ndp.badLinkLayerAddress': 'messages whose link-layer address option is not 6 bytes long (RFC 4861 §4.6.1, RFC 2464 §8)',
  'drop.ndp.badPrefix': 'Prefix Information options SLAAC ignores: link-local, preferred above valid, or a length other than 64 (RFC 4862 §5.5.3)',
  'drop.ndp.toTentative': 'packets to a tentative address that are not part of its DAD (RFC 4862 §5.4)',
  'mld.rx.queries': 'MLD queries taken (RFC 3810 §7.2)',
  'mld.tx.reports': 'MLDv2 reports sent: state changes and answers to queries (RFC 3810 §5.2)',
  'drop.mld.<DecodeReason>': counterFamily<DecodeReason>('MLD messages refused by the codec or its source check (mld.ts)', DECODE_REASONS),
} as const satisfies CounterRegistry;

/** A Neighbor Discovery or MLD counter. */
export type NdpCounterName = CounterNameOf<typeof NDP_COUNTERS>;
