/**
 * Neighbor Discovery on an Ethernet interface (RFC 4861): solicitations answered, neighbors
 * resolved, the hop-limit rule, Redirects taken only as §8 allows — a stack on a wire whose other
 * end is the test, in virtual time.
 */
import { describe, expect, it } from 'vitest';
import { formatIpv6Address } from '../../src/ip/ipv6-address.js';
import { formatMac } from '../../src/link/ethernet.js';
import { HOST_MAC, mac, ndpHost, PEER_MAC, ROUTER, v6 } from './ndp-harness.js';

const SLLA = (address: string) => ({ kind: 'sourceLinkLayerAddress' as const, address: mac(address) });
const TLLA = (address: string) => ({ kind: 'targetLinkLayerAddress' as const, address: mac(address) });

/** A host with fd00::a/64, its DAD done. */
function readyHost() {
  const host = ndpHost({ address6: 'fd00::a/64' });
  host.run(3000);
  expect(host.state('fd00::a')).toBe('preferred');
  return host;
}

describe('Neighbor Discovery (RFC 4861) on Ethernet', () => {
  it('answers a solicitation for its address: solicited and override set, its MAC, hop limit 255, to the asker; the asker is learned STALE (§7.2.3, §7.2.4)', () => {
    const host = readyHost();
    host.inject('fd00::b', 'ff02::1:ff00:a', { kind: 'neighborSolicitation', reserved: 0, target: v6('fd00::a'), options: [SLLA(PEER_MAC)] });
    const [answer] = host.sentOf('neighborAdvertisement');
    expect(answer).toMatchObject({ source: 'fd00::a', destination: 'fd00::b', to: PEER_MAC });
    expect(answer.ip.hopLimit).toBe(255);
    expect(answer.icmp).toMatchObject({ solicited: true, override: true, router: false, target: v6('fd00::a'), options: [TLLA(HOST_MAC)] });
    // Sending the answer to a STALE entry moved it to DELAY (§7.3.3).
    expect(host.nd.cache.get(v6('fd00::b'))).toMatchObject({ state: 'DELAY', linkAddress: mac(PEER_MAC) });
  });

  it("answers another node's DAD probe (from ::) with an advertisement to all-nodes, S clear (§7.2.4)", () => {
    const host = readyHost();
    host.inject('::', 'ff02::1:ff00:a', { kind: 'neighborSolicitation', reserved: 0, target: v6('fd00::a'), options: [] });
    const [answer] = host.sentOf('neighborAdvertisement');
    expect(answer).toMatchObject({ destination: 'ff02::1', to: '33:33:00:00:00:01' });
    expect(answer.icmp).toMatchObject({ solicited: false, override: true });
    expect(host.nd.cache.size).toBe(0);
  });

  it('drops a solicitation with hop limit below 255: it may have been forwarded (§7.1.1)', () => {
    const host = readyHost();
    host.inject('fd00::b', 'ff02::1:ff00:a', { kind: 'neighborSolicitation', reserved: 0, target: v6('fd00::a'), options: [SLLA(PEER_MAC)] }, 254);
    expect(host.sentOf('neighborAdvertisement')).toHaveLength(0);
    expect(host.stack.stats.get('drop.ndp.badField')).toBe(1);
    expect(host.nd.cache.size).toBe(0);
  });

  it('drops an advertisement with hop limit below 255 (§7.1.2)', () => {
    const host = readyHost();
    host.stack.ping6('fd00::b', 1, 1);
    host.run(0);
    host.inject(
      'fd00::b',
      'fd00::a',
      { kind: 'neighborAdvertisement', router: false, solicited: true, override: true, reserved: 0, target: v6('fd00::b'), options: [TLLA(PEER_MAC)] },
      64,
    );
    expect(host.nd.cache.get(v6('fd00::b'))!.state).toBe('INCOMPLETE');
    expect(host.stack.stats.get('drop.ndp.badField')).toBe(1);
  });

  it('ignores a solicitation for an address that is not its own (§7.2.3)', () => {
    const host = readyHost();
    host.inject('fd00::b', 'ff02::1:ff00:a', { kind: 'neighborSolicitation', reserved: 0, target: v6('fd00::1:a'), options: [SLLA(PEER_MAC)] });
    expect(host.sentOf('neighborAdvertisement')).toHaveLength(0);
    expect(host.stack.stats.get('drop.ndp.notOurTarget')).toBe(1);
  });

  it("resolves a neighbor: a multicast solicitation to its solicited-node group (33:33:ff:…) with our MAC, the packet held until the answer, then sent to the neighbor's MAC (§7.2.2)", () => {
    const host = readyHost();
    host.stack.ping6('fd00::b', 1, 1);
    host.run(0);
    const [solicitation] = host.sentOf('neighborSolicitation').filter((packet) => packet.source !== '::');
    expect(solicitation).toMatchObject({ source: 'fd00::a', destination: 'ff02::1:ff00:b', to: '33:33:ff:00:00:0b' });
    expect(solicitation.ip.hopLimit).toBe(255);
    expect(solicitation.icmp).toMatchObject({ target: v6('fd00::b'), options: [SLLA(HOST_MAC)] });
    expect(host.sentOf('echoRequest')).toHaveLength(0);
    host.inject('fd00::b', 'fd00::a', {
      kind: 'neighborAdvertisement',
      router: false,
      solicited: true,
      override: true,
      reserved: 0,
      target: v6('fd00::b'),
      options: [TLLA(PEER_MAC)],
    });
    const [echo] = host.sentOf('echoRequest');
    expect(echo).toMatchObject({ to: PEER_MAC, destination: 'fd00::b' });
    expect(host.nd.cache.get(v6('fd00::b'))!.state).toBe('REACHABLE');
  });

  it('an unanswered resolution ends after three solicitations a second apart, with an ICMPv6 address unreachable for the waiting packet (§7.2.2)', () => {
    const host = readyHost();
    const start = host.net.now;
    host.stack.ping6('fd00::b', 1, 1);
    host.run(5000);
    const solicitations = host
      .sentOf('neighborSolicitation')
      .filter((packet) => packet.icmp?.kind === 'neighborSolicitation' && formatIpv6Address(packet.icmp.target) === 'fd00::b');
    expect(solicitations.map((packet) => packet.time - start)).toEqual([0, 1000, 2000]);
    expect(host.stack.stats.get('ndp.resolutionFailures')).toBe(1);
    expect(host.stack.stats.get('icmpv6.tx.errors')).toBe(1);
  });

  it('multicast leaves for 33:33 and the group’s low 32 bits, without resolution (RFC 2464 §7)', () => {
    const host = readyHost();
    host.stack.ping6('ff02::1', 1, 1);
    host.run(0);
    const [echo] = host.sentOf('echoRequest');
    expect(echo.to).toBe('33:33:00:00:00:01');
    expect(host.stack.stats.get('ndp.resolutions')).toBe(0);
  });

  it('an advertisement for an address of ours (past DAD) from another MAC is a conflict, counted; the address stays', () => {
    const host = readyHost();
    host.inject('fd00::a', 'ff02::1', {
      kind: 'neighborAdvertisement',
      router: false,
      solicited: false,
      override: true,
      reserved: 0,
      target: v6('fd00::a'),
      options: [TLLA(PEER_MAC)],
    });
    expect(host.stack.stats.get('ndp.addressConflicts')).toBe(1);
    expect(host.state('fd00::a')).toBe('preferred');
  });
});

describe('Redirects (RFC 4861 §8)', () => {
  /** A host whose default router is fe80::1 (at PEER_MAC), with 2001:db8::9 reached through it. */
  function routedHost() {
    const host = readyHost();
    host.stack.addRoute('::/0', { via: ROUTER, interfaceName: 'eth0' });
    host.stack.ping6('2001:db8::9', 1, 1);
    host.run(0);
    host.inject(ROUTER, 'fd00::a', {
      kind: 'neighborAdvertisement',
      router: true,
      solicited: true,
      override: true,
      reserved: 0,
      target: v6(ROUTER),
      options: [TLLA(PEER_MAC)],
    });
    expect(host.sentOf('echoRequest')).toHaveLength(1);
    return host;
  }
  const OTHER_ROUTER_MAC = '02:00:00:00:00:0c';

  it('from the first-hop router, a better router (link-local target): later packets go to its MAC; its entry is STALE and a router (§8.3)', () => {
    const host = routedHost();
    host.inject(ROUTER, 'fd00::a', { kind: 'redirect', reserved: 0, target: v6('fe80::2'), destination: v6('2001:db8::9'), options: [TLLA(OTHER_ROUTER_MAC)] });
    expect(host.stack.stats.get('ndp.rx.redirects')).toBe(1);
    expect(host.nd.nextHop(v6('2001:db8::9'))).toEqual(v6('fe80::2'));
    expect(host.nd.cache.get(v6('fe80::2'))).toMatchObject({ state: 'STALE', isRouter: true });
    host.stack.ping6('2001:db8::9', 1, 2);
    host.run(0);
    expect(host.sentOf('echoRequest')[1].to).toBe(OTHER_ROUTER_MAC);
    // Other destinations still go by the route.
    expect(host.nd.nextHop(v6('2001:db8::10'))).toEqual(v6(ROUTER));
  });

  it('from the first-hop router, the destination itself is on-link (target = destination)', () => {
    const host = routedHost();
    host.inject(ROUTER, 'fd00::a', {
      kind: 'redirect',
      reserved: 0,
      target: v6('2001:db8::9'),
      destination: v6('2001:db8::9'),
      options: [TLLA(OTHER_ROUTER_MAC)],
    });
    host.stack.ping6('2001:db8::9', 1, 2);
    host.run(0);
    expect(host.sentOf('echoRequest')[1].to).toBe(OTHER_ROUTER_MAC);
    expect(host.nd.cache.get(v6('2001:db8::9'))!.isRouter).toBe(false);
  });

  it('refuses a redirect from a node that is not the first hop for the destination (§8.1)', () => {
    const host = routedHost();
    host.inject('fe80::66', 'fd00::a', {
      kind: 'redirect',
      reserved: 0,
      target: v6('fe80::66'),
      destination: v6('2001:db8::9'),
      options: [TLLA(OTHER_ROUTER_MAC)],
    });
    expect(host.stack.stats.get('drop.ndp.redirectNotFromFirstHop')).toBe(1);
    expect(host.nd.nextHop(v6('2001:db8::9'))).toEqual(v6(ROUTER));
    // Nor for an on-link destination, whose first hop is itself.
    host.inject(ROUTER, 'fd00::a', { kind: 'redirect', reserved: 0, target: v6('fe80::2'), destination: v6('fd00::b'), options: [] });
    expect(host.stack.stats.get('drop.ndp.redirectNotFromFirstHop')).toBe(2);
  });

  it('refuses a target that is neither link-local nor the destination (§8.1)', () => {
    const host = routedHost();
    host.inject(ROUTER, 'fd00::a', { kind: 'redirect', reserved: 0, target: v6('2001:db8::2'), destination: v6('2001:db8::9'), options: [] });
    expect(host.stack.stats.get('drop.ndp.redirectBadTarget')).toBe(1);
    expect(host.nd.nextHop(v6('2001:db8::9'))).toEqual(v6(ROUTER));
  });

  it('refuses one with hop limit below 255 or from a global source (§8.1)', () => {
    const host = routedHost();
    host.inject(ROUTER, 'fd00::a', { kind: 'redirect', reserved: 0, target: v6('fe80::2'), destination: v6('2001:db8::9'), options: [] }, 254);
    host.inject('fd00::1', 'fd00::a', { kind: 'redirect', reserved: 0, target: v6('fe80::2'), destination: v6('2001:db8::9'), options: [] });
    expect(host.stack.stats.get('drop.ndp.badField')).toBe(2);
    expect(host.nd.nextHop(v6('2001:db8::9'))).toEqual(v6(ROUTER));
  });
});

describe('the EthernetAdapter carries IPv6', () => {
  it('filters multicast for groups the interface does not listen to, as a NIC does (RFC 2464 §7): another node’s DAD reaches no layer', () => {
    const host = readyHost();
    const before = host.stack.stats.get('ipv6.rx.packets');
    host.inject('::', 'ff02::1:ff00:99', { kind: 'neighborSolicitation', reserved: 0, target: v6('fd00::99'), options: [] });
    expect(host.adapter.counters.multicastFiltered).toBe(1);
    expect(host.stack.stats.get('ipv6.rx.packets')).toBe(before);
    // Its own solicited-node group and all-nodes pass.
    host.inject('fd00::b', 'ff02::1', { kind: 'echoRequest', identifier: 1, sequence: 1, data: new Uint8Array(0) }, 64);
    host.inject('::', 'ff02::1:ff00:a', { kind: 'neighborSolicitation', reserved: 0, target: v6('fd00::a'), options: [] });
    expect(host.stack.stats.get('ipv6.rx.packets')).toBe(before + 2);
    expect(host.adapter.counters.multicastFiltered).toBe(1);
  });

  it('hands IPv6 frames to the stack and refuses an EtherType that disagrees with the version nibble', () => {
    const host = readyHost();
    const before = host.adapter.counters.malformedOrUnknown;
    // An IPv4 packet under EtherType 0x86dd.
    const packet = new Uint8Array(40);
    packet[0] = 0x45;
    host.injectPacket(packet);
    expect(host.adapter.counters.malformedOrUnknown).toBe(before + 1);
    expect(formatMac(host.nd.linkAddress)).toBe(HOST_MAC);
  });
});
