/**
 * IGMPv2, host side (RFC 2236): reports when a group is joined and when a query asks, within the
 * query's response time; suppression by another member's report; Leave Group when the last
 * report was ours; TTL 1 and Router Alert on everything sent; bad messages dropped and counted.
 */
import { describe, expect, it } from 'vitest';
import { emitIgmp, IGMP_PROTOCOL, IgmpType, parseIgmp, type IgmpRepr } from '../../src/ip/igmp.js';
import { Ipv4Packet, parseIpv4, type Ipv4Repr } from '../../src/ip/ipv4.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { addr, ipv4Frame } from '../support/packets.js';
import { attachRawPeer, drive } from '../support/raw-peer.js';

const GROUP = addr('239.1.2.3');
const ROUTER = addr('10.0.0.1');

function igmpFrame(repr: IgmpRepr, destination: number, source = ROUTER): Uint8Array {
  const message = new Uint8Array(8);
  emitIgmp(repr, message);
  return ipv4Frame({ source, destination, protocol: IGMP_PROTOCOL, ttl: 1 }, message);
}

function decode(frame: Uint8Array): { ip: Ipv4Repr; igmp: IgmpRepr } {
  const packet = Ipv4Packet.checked(frame);
  if (!packet.ok) throw new Error(packet.error.message);
  const ip = parseIpv4(packet.value);
  if (!ip.ok) throw new Error(ip.error.message);
  const igmp = parseIgmp(packet.value.payload);
  if (!igmp.ok) throw new Error(igmp.error.message);
  return { ip: ip.value, igmp: igmp.value };
}

/** A host 10.0.0.2/24 whose multicast route leads to a raw peer (the router). */
function host() {
  const net = new VirtualNetwork(31);
  const stack = net.createStack('host');
  const router = attachRawPeer(net, stack, '10.0.0.2/24');
  stack.addRoute('224.0.0.0/4', { interfaceName: 'eth0' });
  return { net, stack, router };
}

describe('IGMPv2 host (RFC 2236)', () => {
  it('joining a group reports it at once, to the group, with TTL 1 and Router Alert; a second join says nothing', () => {
    const { net, stack, router } = host();
    const a = stack.udp.open();
    const b = stack.udp.open();
    a.joinGroup(GROUP);
    b.joinGroup(GROUP);
    drive(net, [router]);
    const sent = router.take();
    expect(sent).toHaveLength(1);
    const { ip, igmp } = decode(sent[0].frame);
    expect(igmp).toEqual({ type: IgmpType.V2_MEMBERSHIP_REPORT, maxResponseTime: 0, group: GROUP });
    expect(ip.destination).toBe(GROUP);
    expect(ip.ttl).toBe(1);
    expect(ip.options).toContainEqual({ kind: 'raw', type: 148, data: new Uint8Array(2) });
  });

  it('the last member leaving sends Leave Group to 224.0.0.2, if ours was the last report', () => {
    const { net, stack, router } = host();
    const a = stack.udp.open();
    const b = stack.udp.open();
    a.joinGroup(GROUP);
    b.joinGroup(GROUP);
    drive(net, [router]);
    router.take();
    a.close();
    drive(net, [router]);
    expect(router.take()).toHaveLength(0);
    b.leaveGroup(GROUP);
    drive(net, [router]);
    const [leave] = router.take();
    expect(decode(leave.frame).igmp).toEqual({ type: IgmpType.LEAVE_GROUP, maxResponseTime: 0, group: GROUP });
    expect(decode(leave.frame).ip.destination).toBe(addr('224.0.0.2'));
  });

  it("a general query is answered for every group within its Max Resp Time; another member's report suppresses ours, and then we send no Leave", () => {
    const { net, stack, router } = host();
    const socket = stack.udp.open();
    socket.joinGroup(GROUP);
    socket.joinGroup(addr('239.9.9.9'));
    drive(net, [router]);
    router.take();
    const queriedAt = net.now;
    router.send(igmpFrame({ type: IgmpType.MEMBERSHIP_QUERY, maxResponseTime: 100, group: 0 }, addr('224.0.0.1')));
    // Another member reports 239.9.9.9 first: we stay quiet about it.
    router.send(igmpFrame({ type: IgmpType.V2_MEMBERSHIP_REPORT, maxResponseTime: 0, group: addr('239.9.9.9') }, addr('239.9.9.9'), addr('10.0.0.7')));
    drive(net, [router]);
    const reports = router.take();
    expect(reports.map((r) => decode(r.frame).igmp.group)).toEqual([GROUP]);
    expect(reports[0].time - queriedAt).toBeGreaterThanOrEqual(0);
    expect(reports[0].time - queriedAt).toBeLessThanOrEqual(10_000);
    expect(stack.stats.get('igmp.reportsSuppressed')).toBe(1);
    socket.leaveGroup(addr('239.9.9.9'));
    drive(net, [router]);
    expect(router.take()).toHaveLength(0);
  });

  it('a query for one group is answered only for it; a version 1 query (Max Resp Time 0) within 10 s', () => {
    const { net, stack, router } = host();
    const socket = stack.udp.open();
    socket.joinGroup(GROUP);
    socket.joinGroup(addr('239.9.9.9'));
    drive(net, [router]);
    router.take();
    router.send(igmpFrame({ type: IgmpType.MEMBERSHIP_QUERY, maxResponseTime: 10, group: GROUP }, GROUP));
    drive(net, [router]);
    expect(router.take().map((r) => decode(r.frame).igmp.group)).toEqual([GROUP]);
    const queriedAt = net.now;
    router.send(igmpFrame({ type: IgmpType.MEMBERSHIP_QUERY, maxResponseTime: 0, group: 0 }, addr('224.0.0.1')));
    drive(net, [router]);
    const answers = router.take();
    expect(answers).toHaveLength(2);
    for (const answer of answers) expect(answer.time - queriedAt).toBeLessThanOrEqual(10_000);
  });

  it('drops and counts a message with a bad checksum or too short', () => {
    const { net, stack, router } = host();
    const bad = igmpFrame({ type: IgmpType.MEMBERSHIP_QUERY, maxResponseTime: 100, group: 0 }, addr('224.0.0.1'));
    bad[bad.length - 1] ^= 1;
    router.send(bad);
    router.send(ipv4Frame({ source: ROUTER, destination: addr('224.0.0.1'), protocol: IGMP_PROTOCOL }, new Uint8Array(4)));
    drive(net, [router]);
    expect(stack.stats.get('drop.igmp.badChecksum')).toBe(1);
    expect(stack.stats.get('drop.igmp.truncated')).toBe(1);
    expect(router.take()).toHaveLength(0);
  });
});
