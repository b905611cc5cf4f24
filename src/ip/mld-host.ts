/**
 * MLDv2, the host side (RFC 3810 §6, §7 for the multicast listener part), on one interface: this
 * host tells the link's multicast routers which groups it listens to — the solicited-node groups
 * of its addresses (RFC 4861 §7.2.1 makes a node join them) and the groups sockets join
 * (IPV6_JOIN_GROUP) — as IGMP does for IPv4 (igmp.ts). Every group is any-source (EXCLUDE {}).
 *
 * - a join or leave sends a State Change Report (CHANGE_TO_EXCLUDE_MODE / CHANGE_TO_INCLUDE_MODE
 *   with no sources, §6.1), sent [Robustness Variable] times in all, the repeats at random
 *   times in [0, Unsolicited Report Interval];
 * - a General Query is answered after a random delay up to its Maximum Response Delay with a
 *   Current State Report of every group (MODE_IS_EXCLUDE, §6.2, §6.3); a Multicast Address
 *   Specific Query for one of ours likewise for that group; a source-specific one with the
 *   sources asked about, all of which we hear (MODE_IS_INCLUDE);
 * - a query is taken only from a link-local source with Hop Limit 1 and a Router Alert (§6.2);
 * - an MLDv1 query puts the host in MLDv1 compatibility mode (§8.2.1) for the Older Version
 *   Querier Present Timeout: MLDv1 Reports to the group, Done to all-routers (RFC 2710 §4).
 *
 * Reports go to ff02::16 (v1: to the group) from our link-local address, or :: while it is
 * tentative (§5.2.13), with Hop Limit 1 and the Router Alert (§5). ff02::1 and groups of scope 0
 * and 1 are never reported (§6). Timers are deadlines run by `poll(now)`.
 */
import type { Rng } from '../core/rng.js';
import type { Stats } from '../core/stats.js';
import { emitIcmpv6, icmpv6Length, type Icmpv6Repr } from './icmpv6.js';
import {
  formatIpv6Address,
  IPV6_ALL_MLDV2_ROUTERS,
  IPV6_ALL_NODES,
  IPV6_ALL_ROUTERS,
  ipv6Equal,
  isUnspecifiedAddress,
  type Ipv6Address,
} from './ipv6-address.js';
import { emitIpv6ExtensionHeaders, firstNextHeader, ipv6ExtensionHeadersLength, RouterAlertValue, routerAlertHeader } from './ipv6-extension-headers.js';
import { emitIpv6, IPV6_HEADER_LENGTH, Ipv6NextHeader } from './ipv6.js';
import { mldMaximumResponseDelay, MldRecordType, type MldAddressRecord, type MldRepr } from './mld.js';
import type { NdpCounterName } from './ndp-counters.js';

/** RFC 3810 §9.1: the Robustness Variable's default. */
const ROBUSTNESS = 2;
/** §9.11: Unsolicited Report Interval, 1 s. */
const UNSOLICITED_REPORT_INTERVAL_MS = 1_000;
/** §9.2: Query Interval's default, 125 s; §9.3 Query Response Interval's, 10 s. */
const QUERY_INTERVAL_MS = 125_000;
const QUERY_RESPONSE_INTERVAL_MS = 10_000;
/** Records per report: 1280-byte packets hold 60 source-less records (§5.2.15 splits larger reports). */
const RECORDS_PER_REPORT = 60;
/** Groups listened to at most per interface (Linux's mld_max_msf is per socket; this bounds memory). */
const GROUP_LIMIT = 1024;

type MldQuery = Extract<MldRepr, { kind: 'mldQuery' }>;

/** What the host sends through: a packet from `source` on its interface. */
export interface MldSender {
  /** This interface's preferred link-local address, or null while it has none (then reports come from ::). */
  linkLocalSource(): Ipv6Address | null;
  /** Sends a built IPv6 packet on the interface. */
  sendPacket(packet: Uint8Array, now: number): void;
}

interface PendingChange {
  readonly group: Ipv6Address;
  readonly recordType: number;
  /** Retransmissions still owed (§6.1). */
  left: number;
  at: number;
}

/** The MLD host of one interface. */
export class MldHost {
  /** Groups listened to, by text. */
  private readonly listening = new Map<string, Ipv6Address>();
  /** State-change reports still to be repeated. */
  private readonly changes = new Map<string, PendingChange>();
  /** When the answer to a General Query is due (Infinity: none pending). */
  private generalResponseAt = Infinity;
  /** Group-specific answers due: group text → when, and the sources asked about. */
  private readonly groupResponses = new Map<string, { at: number; sources: Ipv6Address[] | null }>();
  /** MLDv1 compatibility mode until (§8.2.1). */
  private v1Until = -Infinity;

  constructor(
    private readonly sender: MldSender,
    private readonly stats: Stats<NdpCounterName>,
    private readonly rng: Rng,
  ) {}

  /** The groups reported as listened to now. */
  groups(): readonly Ipv6Address[] {
    return [...this.listening.values()];
  }

  /** Whether the host is in MLDv1 compatibility mode at `now`. */
  isV1Mode(now: number): boolean {
    return now < this.v1Until;
  }

  /**
   * The groups the interface should listen to now (RFC 3810 §6.1): each one joined or left
   * since the last call gets its State Change Report.
   */
  update(wanted: readonly Ipv6Address[], now: number): void {
    const next = new Map<string, Ipv6Address>();
    for (const group of wanted) if (reportable(group) && next.size < GROUP_LIMIT) next.set(formatIpv6Address(group), group);
    for (const [key, group] of next) if (!this.listening.has(key)) this.change(key, group, MldRecordType.CHANGE_TO_EXCLUDE_MODE, now);
    for (const [key, group] of this.listening) {
      if (next.has(key)) continue;
      this.groupResponses.delete(key);
      this.change(key, group, MldRecordType.CHANGE_TO_INCLUDE_MODE, now);
    }
    this.listening.clear();
    for (const [key, group] of next) this.listening.set(key, group);
    // §6.1: the first State Change Report goes immediately, not at the next timer.
    this.poll(now);
  }

  /**
   * A query that passed the codec and `checkMldIpHeader` (link-local source); `hopLimit` and
   * `routerAlert` from its IP header (RFC 3810 §6.2 drops it otherwise).
   */
  query(message: MldQuery, hopLimit: number, routerAlert: boolean, now: number): void {
    if (hopLimit !== 1 || !routerAlert) {
      this.stats.increment('drop.mld.badField');
      return;
    }
    this.stats.increment('mld.rx.queries');
    const delay = message.version === 1 ? message.maximumResponseCode : mldMaximumResponseDelay(message.maximumResponseCode);
    if (message.version === 1) {
      // §8.2.1: Older Version Querier Present Timeout = Robustness × Query Interval + Query Response Interval.
      this.v1Until = now + ROBUSTNESS * QUERY_INTERVAL_MS + QUERY_RESPONSE_INTERVAL_MS;
      this.changes.clear();
    }
    const at = now + Math.floor(this.rng.nextFloat() * delay);
    if (isUnspecifiedAddress(message.multicastAddress)) {
      // §6.2 rule 1-2: a General Query; an earlier pending answer stands.
      this.generalResponseAt = Math.min(this.generalResponseAt, at);
      return;
    }
    const key = formatIpv6Address(message.multicastAddress);
    if (!this.listening.has(key)) return;
    const pending = this.groupResponses.get(key);
    const sources = message.version === 2 && message.sources.length > 0 ? [...message.sources] : null;
    if (!pending) this.groupResponses.set(key, { at, sources });
    else {
      // §6.2 rules 4-5: the earlier time; a group query supersedes a source list, lists merge.
      pending.at = Math.min(pending.at, at);
      pending.sources = pending.sources === null || sources === null ? null : [...pending.sources, ...sources];
    }
  }

  /** The next deadline, or Infinity. */
  pollAt(): number {
    let next = this.generalResponseAt;
    for (const change of this.changes.values()) next = Math.min(next, change.at);
    for (const response of this.groupResponses.values()) next = Math.min(next, response.at);
    return next;
  }

  /** Sends what is due. */
  poll(now: number): void {
    const records: MldAddressRecord[] = [];
    const v1 = this.isV1Mode(now);
    for (const [key, change] of this.changes) {
      if (change.at > now) continue;
      records.push(record(change.recordType, change.group, []));
      change.left--;
      if (change.left <= 0) this.changes.delete(key);
      else change.at = now + Math.floor(this.rng.nextFloat() * UNSOLICITED_REPORT_INTERVAL_MS);
    }
    if (this.generalResponseAt <= now) {
      this.generalResponseAt = Infinity;
      for (const group of this.listening.values()) records.push(record(MldRecordType.MODE_IS_EXCLUDE, group, []));
    }
    for (const [key, response] of this.groupResponses) {
      if (response.at > now) continue;
      this.groupResponses.delete(key);
      const group = this.listening.get(key);
      if (!group) continue;
      records.push(
        response.sources === null ? record(MldRecordType.MODE_IS_EXCLUDE, group, []) : record(MldRecordType.MODE_IS_INCLUDE, group, response.sources),
      );
    }
    if (records.length === 0) return;
    if (v1) {
      this.sendV1(records, now);
      return;
    }
    for (let i = 0; i < records.length; i += RECORDS_PER_REPORT) {
      this.send(IPV6_ALL_MLDV2_ROUTERS, { kind: 'mldv2Report', reserved: 0, records: records.slice(i, i + RECORDS_PER_REPORT) }, now);
    }
  }

  private change(key: string, group: Ipv6Address, recordType: number, now: number): void {
    // §6.1: the first report goes at once; a pending change of the other kind is replaced.
    this.changes.delete(key);
    this.changes.set(key, { group, recordType, left: ROBUSTNESS, at: now });
  }

  /** RFC 2710 §4: one report per group to the group; a leave is a Done to all-routers. */
  private sendV1(records: readonly MldAddressRecord[], now: number): void {
    for (const entry of records) {
      const group = entry.multicastAddress;
      if (entry.recordType === MldRecordType.CHANGE_TO_INCLUDE_MODE)
        this.send(IPV6_ALL_ROUTERS, { kind: 'mldv1Done', maximumResponseDelay: 0, reserved: 0, multicastAddress: group }, now);
      else this.send(group, { kind: 'mldv1Report', maximumResponseDelay: 0, reserved: 0, multicastAddress: group }, now);
    }
  }

  private send(destination: Ipv6Address, message: Icmpv6Repr, now: number): void {
    this.stats.increment('mld.tx.reports');
    const source = this.sender.linkLocalSource() ?? new Uint8Array(16);
    const hopByHop = [routerAlertHeader(RouterAlertValue.MLD)];
    const extensionLength = ipv6ExtensionHeadersLength(hopByHop);
    const length = icmpv6Length(message);
    const packet = new Uint8Array(IPV6_HEADER_LENGTH + extensionLength + length);
    emitIpv6(
      {
        dscp: 0,
        ecn: 0,
        flowLabel: 0,
        payloadLength: extensionLength + length,
        nextHeader: firstNextHeader(hopByHop, Ipv6NextHeader.ICMPV6),
        hopLimit: 1,
        source,
        destination,
      },
      packet,
    );
    emitIpv6ExtensionHeaders(hopByHop, Ipv6NextHeader.ICMPV6, packet.subarray(IPV6_HEADER_LENGTH));
    emitIcmpv6(message, packet.subarray(IPV6_HEADER_LENGTH + extensionLength), source, destination);
    this.sender.sendPacket(packet, now);
  }
}

/** RFC 3810 §6: never for ff02::1 or a group of scope 0 or 1. */
function reportable(group: Ipv6Address): boolean {
  const scope = group[1] & 0x0f;
  return scope > 1 && !ipv6Equal(group, IPV6_ALL_NODES);
}

function record(recordType: number, multicastAddress: Ipv6Address, sources: readonly Ipv6Address[]): MldAddressRecord {
  return { recordType, multicastAddress, sources, auxiliaryData: new Uint8Array(0) };
}
