/**
 * IGMPv2, the host side (RFC 2236; RFC 1112's version 1 reports are understood): this host tells
 * multicast routers on its links which groups it is a member of, so that traffic for them is
 * sent its way.
 *
 *    0                   1                   2                   3
 *   +---------------+---------------+-------------------------------+
 *   |     Type      | Max Resp Time |           Checksum            |
 *   +---------------+---------------+-------------------------------+
 *   |                         Group Address                         |
 *   +---------------------------------------------------------------+
 *
 * - joining a group sends an unsolicited Membership Report to it (§3, "when a host joins");
 * - a Membership Query (general: group 0, to 224.0.0.1; or for one group) starts a report timer
 *   per group, random in [0, Max Resp Time] (§3), drawn from the stack's seeded Rng;
 * - a report from another host for that group cancels ours (suppression, §3), and clears the
 *   flag that we sent the last report;
 * - leaving a group sends Leave Group to 224.0.0.2 (all routers) if we sent the last report (§3).
 * Messages go with TTL 1 and the IP Router Alert option (RFC 2113), as §2 requires. 224.0.0.1 is
 * never reported (§6). The groups themselves are the IP layer's (`IpLayer.joinGroup`).
 */
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import type { Rng } from '../core/rng.js';
import type { Stats } from '../core/stats.js';
import type { IgmpCounterName } from './ip-counters.js';
import { readIpv4Address, writeIpv4Address, type Ipv4Address } from './address.js';
import { checksumIsValid, internetChecksum } from './checksum.js';
import type { IncomingDatagram, IpLayer, ProtocolHandler } from './ip-layer.js';
import type { Ipv4Option } from './ipv4-options.js';

/** IP protocol number of IGMP. */
export const IGMP_PROTOCOL = 2;
/** An IGMP message: type, max resp time, checksum, group. */
export const IGMP_LENGTH = 8;

/** Message types (RFC 2236 §2.1). */
export const IgmpType = {
  /** Membership Query (RFC 2236 §2.1): a router asks which groups have members, all (group 0) or one. */
  MEMBERSHIP_QUERY: 0x11,
  /** Version 1 Membership Report (RFC 1112): understood on receipt, never sent. */
  V1_MEMBERSHIP_REPORT: 0x12,
  /** Version 2 Membership Report (RFC 2236 §2.1): "this link has a member of the group". */
  V2_MEMBERSHIP_REPORT: 0x16,
  /** Leave Group (RFC 2236 §2.1): sent to all routers (224.0.0.2) on leaving a group this host reported last. */
  LEAVE_GROUP: 0x17,
} as const;

/** An IGMP message as plain data. `maxResponseTime` is in tenths of a second. */
export interface IgmpRepr {
  /** Type (RFC 2236 §2.1): an `IgmpType`. */
  readonly type: number;
  /** Max Response Time (RFC 2236 §2.2), in tenths of a second; meaningful in queries (0 from a version 1 router, meaning 10 s); 0 in what hosts send. */
  readonly maxResponseTime: number;
  /** Group Address (RFC 2236 §2.4): the group reported or left, or queried (0 in a general query). */
  readonly group: Ipv4Address;
}

/** 224.0.0.1 and 224.0.0.2: all systems, all routers (RFC 2236 §9). */
const ALL_SYSTEMS = 0xe0000001;
const ALL_ROUTERS = 0xe0000002;
/** RFC 2113: Router Alert, value 0 ("router shall examine packet"). */
const ROUTER_ALERT: Ipv4Option = { kind: 'raw', type: 148, data: new Uint8Array(2) };
/** A version 1 query carries Max Resp Time 0, meaning 10 s (RFC 2236 §4). */
const V1_QUERY_RESPONSE_TENTHS = 100;

/** Decodes an IGMP message, verifying its checksum (over the whole IGMP message, §2.3). */
export function parseIgmp(bytes: Uint8Array): Result<IgmpRepr, DecodeError> {
  if (bytes.length < IGMP_LENGTH) return decodeFail('igmp', 'truncated', `${bytes.length} bytes is shorter than the 8-byte message`);
  if (!checksumIsValid(bytes)) return decodeFail('igmp', 'badChecksum', 'checksum does not verify');
  return ok({ type: bytes[0], maxResponseTime: bytes[1], group: readIpv4Address(bytes, 4) });
}

/** Writes `repr` into `out` with its checksum; returns 8. */
export function emitIgmp(repr: IgmpRepr, out: Uint8Array): number {
  out[0] = repr.type;
  out[1] = repr.maxResponseTime;
  out[2] = 0;
  out[3] = 0;
  writeIpv4Address(out, 4, repr.group);
  const checksum = internetChecksum(out.subarray(0, IGMP_LENGTH));
  out[2] = checksum >> 8;
  out[3] = checksum & 0xff;
  return IGMP_LENGTH;
}

/** The host side of IGMPv2 for one stack. */
export class IgmpLayer implements ProtocolHandler {
  /** Groups with a report due, and when (ms). */
  private readonly reportDue = new Map<Ipv4Address, number>();
  /** Groups for which this host sent the last report heard (§3: then it sends Leave). */
  private readonly lastReporter = new Set<Ipv4Address>();

  constructor(
    private readonly ip: IpLayer,
    private readonly stats: Stats<IgmpCounterName>,
    private readonly rng: Rng,
    private readonly clock: () => number,
  ) {}

  /** The host became a member of `group`: report it unasked (§3). */
  joined(group: Ipv4Address): void {
    if (group === ALL_SYSTEMS) return;
    this.send(IgmpType.V2_MEMBERSHIP_REPORT, group, group);
    this.lastReporter.add(group);
  }

  /** The host left `group`: say so if ours was the last report (§3). */
  left(group: Ipv4Address): void {
    this.reportDue.delete(group);
    if (this.lastReporter.delete(group)) this.send(IgmpType.LEAVE_GROUP, group, ALL_ROUTERS);
  }

  /** A query starts report timers; another host's report stops ours. */
  input(datagram: IncomingDatagram, now: number): void {
    const parsed = parseIgmp(datagram.payload);
    if (!parsed.ok) {
      this.stats.increment(`drop.igmp.${parsed.error.reason}`);
      return;
    }
    const message = parsed.value;
    if (message.type === IgmpType.MEMBERSHIP_QUERY) {
      this.stats.increment('igmp.rx.queries');
      const windowMs = (message.maxResponseTime || V1_QUERY_RESPONSE_TENTHS) * 100;
      const groups = message.group === 0 ? this.ip.joinedGroups() : this.ip.isMember(message.group) ? [message.group] : [];
      for (const group of groups) {
        if (group === ALL_SYSTEMS) continue;
        // §3: a timer already running is reset only if the new delay is shorter.
        const due = now + this.rng.nextFloat() * windowMs;
        if (!(this.reportDue.get(group)! <= due)) this.reportDue.set(group, due);
      }
    } else if (message.type === IgmpType.V2_MEMBERSHIP_REPORT || message.type === IgmpType.V1_MEMBERSHIP_REPORT) {
      // Suppression: another member answered for this group.
      this.stats.increment('igmp.rx.reports');
      if (this.reportDue.delete(message.group)) this.stats.increment('igmp.reportsSuppressed');
      this.lastReporter.delete(message.group);
    }
  }

  /** Sends the reports that are due. */
  poll(now: number): void {
    if (this.reportDue.size === 0) return; // every step polls: no iterator when nothing is due
    for (const [group, due] of this.reportDue) {
      if (due > now) continue;
      this.reportDue.delete(group);
      this.send(IgmpType.V2_MEMBERSHIP_REPORT, group, group);
      this.lastReporter.add(group);
    }
  }

  /** The next report due, or Infinity. */
  pollAt(): number {
    let next = Infinity;
    if (this.reportDue.size > 0) for (const due of this.reportDue.values()) next = Math.min(next, due);
    return next;
  }

  private send(type: number, group: Ipv4Address, destination: Ipv4Address): void {
    const sent = this.ip.send(
      { destination, protocol: IGMP_PROTOCOL, ttl: 1, options: [ROUTER_ALERT], multicastLoop: false },
      IGMP_LENGTH,
      (out) => emitIgmp({ type, maxResponseTime: 0, group }, out),
      this.clock(),
    );
    // No route for multicast (no interface toward a router): nobody to tell.
    this.stats.increment(sent.ok ? `igmp.tx.${type === IgmpType.LEAVE_GROUP ? 'leaves' : 'reports'}` : 'igmp.tx.noRoute');
  }
}
