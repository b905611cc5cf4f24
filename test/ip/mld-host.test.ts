/**
 * The MLDv2 host (RFC 3810) on an Ethernet interface, in virtual time: reports for the groups
 * sockets join and leave, answers to queries, the query checks, MLDv1 compatibility.
 */
import { describe, expect, it } from 'vitest';
import { buildIcmpv6Packet } from '../../src/ip/icmpv6-layer.js';
import { emitIcmpv6, icmpv6Length, type Icmpv6Repr } from '../../src/ip/icmpv6.js';
import { formatIpv6Address, solicitedNodeAddress } from '../../src/ip/ipv6-address.js';
import { emitIpv6ExtensionHeaders, ipv6ExtensionHeadersLength, routerAlertHeader } from '../../src/ip/ipv6-extension-headers.js';
import { emitIpv6 } from '../../src/ip/ipv6.js';
import { MldRecordType, type MldAddressRecord } from '../../src/ip/mld.js';
import { ndpHost, ROUTER, v6, type SentPacket } from './ndp-harness.js';

const GROUP = 'ff05::1234';

/** An MLD query from `source` with a Router Alert (unless `routerAlert` is false) and hop limit `hopLimit`. */
function query(repr: Icmpv6Repr, options: { source?: string; hopLimit?: number; routerAlert?: boolean } = {}): Uint8Array {
  const source = v6(options.source ?? ROUTER);
  const destination = v6('ff02::1');
  if (options.routerAlert === false) return buildIcmpv6Packet(source, destination, repr, options.hopLimit ?? 1);
  const headers = [routerAlertHeader(0)];
  const extension = ipv6ExtensionHeadersLength(headers);
  const length = icmpv6Length(repr);
  const packet = new Uint8Array(40 + extension + length);
  emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLength: extension + length, nextHeader: 0, hopLimit: options.hopLimit ?? 1, source, destination }, packet);
  emitIpv6ExtensionHeaders(headers, 58, packet.subarray(40));
  emitIcmpv6(repr, packet.subarray(40 + extension), source, destination);
  return packet;
}

const generalQuery = (maximumResponseCode: number): Icmpv6Repr => ({
  kind: 'mldQuery',
  version: 2,
  maximumResponseCode,
  reserved: 0,
  multicastAddress: v6('::'),
  flagsReserved: 0,
  suppressRouterProcessing: false,
  robustness: 2,
  queryIntervalCode: 125,
  sources: [],
});

/** The records of the MLDv2 reports among `packets`, as `type group` text. */
const records = (packets: readonly SentPacket[]) =>
  packets.flatMap((packet) =>
    packet.icmp?.kind === 'mldv2Report'
      ? packet.icmp.records.map((record: MldAddressRecord) => `${record.recordType} ${formatIpv6Address(record.multicastAddress)}`)
      : [],
  );

/** A host past DAD, and the time its reports start being looked at. */
function quietHost() {
  const host = ndpHost({ address6: 'fd00::a/64' });
  host.run(20_000);
  return { host, since: host.sent.length };
}

describe('MLDv2 host (RFC 3810)', () => {
  it('a socket joining a group sends a State Change Report at once and once more within a second: CHANGE_TO_EXCLUDE, to ff02::16, from the link-local address, hop limit 1, Router Alert (§5, §6.1)', () => {
    const { host, since } = quietHost();
    const socket = host.stack.udp.open(6);
    expect(socket.joinGroup(GROUP).ok).toBe(true);
    host.run(0);
    const first = host.sent.slice(since);
    expect(records(first)).toEqual([`${MldRecordType.CHANGE_TO_EXCLUDE_MODE} ${GROUP}`]);
    const [report] = first;
    expect(report).toMatchObject({ destination: 'ff02::16', to: '33:33:00:00:00:16', source: formatIpv6Address(host.linkLocal()!), routerAlert: true });
    expect(report.ip.hopLimit).toBe(1);
    host.run(1000);
    const all = host.sent.slice(since).filter((p) => p.icmp?.kind === 'mldv2Report');
    expect(all).toHaveLength(2);
    expect(all[1].time - all[0].time).toBeLessThanOrEqual(1000);
    host.run(10_000);
    expect(host.sent.slice(since).filter((p) => p.icmp?.kind === 'mldv2Report')).toHaveLength(2);
  });

  it('the last socket leaving sends CHANGE_TO_INCLUDE {} twice; a second socket in the group keeps it quiet', () => {
    const { host, since } = quietHost();
    const a = host.stack.udp.open(6);
    const b = host.stack.udp.open(6);
    a.joinGroup(GROUP);
    b.joinGroup(GROUP);
    host.run(2000);
    a.leaveGroup(GROUP);
    host.run(2000);
    expect(records(host.sent.slice(since))).toEqual([`4 ${GROUP}`, `4 ${GROUP}`]);
    b.leaveGroup(GROUP);
    host.run(2000);
    expect(records(host.sent.slice(since))).toEqual([`4 ${GROUP}`, `4 ${GROUP}`, `3 ${GROUP}`, `3 ${GROUP}`]);
  });

  it('answers a General Query within its Maximum Response Delay with every group it listens to, solicited-node groups included, never ff02::1 (§6.2, §6.3)', () => {
    const { host } = quietHost();
    host.stack.udp.open(6).joinGroup(GROUP);
    host.run(2000);
    const before = host.sent.length;
    const asked = host.net.now;
    host.injectPacket(query(generalQuery(3000)));
    host.run(3000);
    const answers = host.sent.slice(before).filter((p) => p.icmp?.kind === 'mldv2Report');
    expect(answers).toHaveLength(1);
    expect(answers[0].time - asked).toBeLessThan(3000);
    const answered = records(answers).sort();
    expect(answered).toEqual([`2 ${GROUP}`, '2 ff02::1:ff00:a', `2 ${formatIpv6Address(solicitedNodeAddress(host.linkLocal()!))}`].sort());
    expect(answered.some((r) => r.endsWith(' ff02::1'))).toBe(false);
    expect(host.stack.stats.get('mld.rx.queries')).toBe(1);
  });

  it('answers a Multicast Address Specific Query for one of its groups with that group only; ignores one for a group it is not in', () => {
    const { host } = quietHost();
    host.stack.udp.open(6).joinGroup(GROUP);
    host.run(2000);
    const before = host.sent.length;
    host.injectPacket(query({ ...generalQuery(1000), multicastAddress: v6(GROUP) } as Icmpv6Repr));
    host.injectPacket(query({ ...generalQuery(1000), multicastAddress: v6('ff05::9999') } as Icmpv6Repr));
    host.run(1000);
    expect(records(host.sent.slice(before))).toEqual([`2 ${GROUP}`]);
  });

  it('drops a query with hop limit other than 1, without a Router Alert, or from a source that is not link-local (§6.2)', () => {
    const { host } = quietHost();
    const before = host.sent.length;
    host.injectPacket(query(generalQuery(1000), { hopLimit: 2 }));
    host.injectPacket(query(generalQuery(1000), { routerAlert: false }));
    host.injectPacket(query(generalQuery(1000), { source: 'fd00::1' }));
    host.run(2000);
    expect(records(host.sent.slice(before))).toEqual([]);
    expect(host.stack.stats.get('drop.mld.badField')).toBe(3);
  });

  it('an MLDv1 query puts it in MLDv1 compatibility mode: answers are MLDv1 Reports to each group, a leave is a Done to ff02::2 (§8.2.1, RFC 2710 §4)', () => {
    const { host } = quietHost();
    host.stack.udp.open(6).joinGroup(GROUP);
    host.run(2000);
    const before = host.sent.length;
    host.injectPacket(
      query({
        kind: 'mldQuery',
        version: 1,
        maximumResponseCode: 1000,
        reserved: 0,
        multicastAddress: v6('::'),
        flagsReserved: 0,
        suppressRouterProcessing: false,
        robustness: 0,
        queryIntervalCode: 0,
        sources: [],
      }),
    );
    host.run(1000);
    const v1 = host.sent.slice(before).filter((p) => p.icmp?.kind === 'mldv1Report');
    expect(v1.map((p) => p.destination)).toContain(GROUP);
    expect(host.stack.ip6.mldHost('eth0')!.isV1Mode(host.net.now)).toBe(true);
    expect(host.sent.slice(before).some((p) => p.icmp?.kind === 'mldv2Report')).toBe(false);
  });

  it('reports during DAD come from :: (no valid link-local address yet, §5.2.13)', () => {
    const host = ndpHost({ address6: 'fd00::a/64' });
    host.run(0);
    const early = host.sent.filter((p) => p.icmp?.kind === 'mldv2Report');
    expect(early.map((p) => p.source)).toEqual(early.map(() => '::'));
    expect(records(early).sort()).toEqual(['4 ff02::1:ff00:a', `4 ${formatIpv6Address(solicitedNodeAddress(host.linkLocal()!))}`].sort());
  });
});
