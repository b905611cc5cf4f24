/**
 * Address autoconfiguration on an Ethernet interface, in virtual time: the link-local address
 * with an RFC 7217 identifier, Duplicate Address Detection (RFC 4862 §5.4), Router Solicitations
 * (RFC 4861 §6.3.7), and what a Router Advertisement sets up (RFC 4861 §6.3.4, RFC 4862 §5.5).
 */
import { describe, expect, it } from 'vitest';
import { formatIpv6Address, ipv6WithInterfaceId, solicitedNodeAddress, type Ipv6Address } from '../../src/ip/ipv6-address.js';
import type { NdpOption } from '../../src/ip/ndp.js';
import { stableInterfaceId, isReservedInterfaceId } from '../../src/ip/stable-interface-id.js';
import { mac, ndpHost, PEER_MAC, ROUTER, v6 } from './ndp-harness.js';

const SECRET = Uint8Array.from({ length: 16 }, (_, i) => i * 17);

/** The address RFC 7217 gives this host in `prefix` on eth0 after `dadCounter` failures. */
const stable = (prefix: string, dadCounter = 0) =>
  formatIpv6Address(ipv6WithInterfaceId(v6(prefix), stableInterfaceId(v6(prefix), 'eth0', dadCounter, SECRET)));

function prefixOption(prefix: string, options: Partial<Extract<NdpOption, { kind: 'prefixInformation' }>> = {}): NdpOption {
  return {
    kind: 'prefixInformation',
    prefixLength: 64,
    onLink: true,
    autonomous: true,
    otherFlags: 0,
    validLifetime: 3600,
    preferredLifetime: 1800,
    reserved: 0,
    prefix: v6(prefix),
    ...options,
  };
}

function advertisement(
  options: readonly NdpOption[],
  fields: { routerLifetime?: number; currentHopLimit?: number; reachableTime?: number; retransTimer?: number } = {},
) {
  return {
    kind: 'routerAdvertisement' as const,
    currentHopLimit: fields.currentHopLimit ?? 0,
    managedAddressConfiguration: false,
    otherConfiguration: false,
    otherFlags: 0,
    routerLifetime: fields.routerLifetime ?? 1800,
    reachableTime: fields.reachableTime ?? 0,
    retransTimer: fields.retransTimer ?? 0,
    options: [{ kind: 'sourceLinkLayerAddress' as const, address: mac(PEER_MAC) }, ...options],
  };
}

const host = (address6?: string) => ndpHost({ address6, ipv6: { stableSecret: SECRET } });

describe('stable interface identifiers (RFC 7217)', () => {
  it('are the same for the same prefix, interface, counter and secret, and unrelated otherwise', () => {
    const a = stableInterfaceId(v6('fd00:1::'), 'eth0', 0, SECRET);
    expect(stableInterfaceId(v6('fd00:1::'), 'eth0', 0, SECRET)).toEqual(a);
    expect(stableInterfaceId(v6('fd00:2::'), 'eth0', 0, SECRET)).not.toEqual(a);
    expect(stableInterfaceId(v6('fd00:1::'), 'eth1', 0, SECRET)).not.toEqual(a);
    expect(stableInterfaceId(v6('fd00:1::'), 'eth0', 1, SECRET)).not.toEqual(a);
    expect(
      stableInterfaceId(
        v6('fd00:1::'),
        'eth0',
        0,
        SECRET.map((b) => b ^ 1),
      ),
    ).not.toEqual(a);
    expect(a).toHaveLength(8);
  });

  it('never gives a reserved identifier (RFC 5453)', () => {
    expect(isReservedInterfaceId(new Uint8Array(8))).toBe(true);
    expect(isReservedInterfaceId(Uint8Array.of(0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80))).toBe(true);
    expect(isReservedInterfaceId(Uint8Array.of(0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f))).toBe(false);
    for (let counter = 0; counter < 200; counter++) expect(isReservedInterfaceId(stableInterfaceId(v6('fe80::'), 'eth0', counter, SECRET))).toBe(false);
  });

  it("make the interface's link-local address, the same on every start with the same secret (RFC 4862 §5.3)", () => {
    expect(formatIpv6Address(host().linkLocal()!)).toBe(stable('fe80::'));
    expect(formatIpv6Address(ndpHost({ seed: 99, ipv6: { stableSecret: SECRET } }).linkLocal()!)).toBe(stable('fe80::'));
  });
});

describe('Duplicate Address Detection (RFC 4862 §5.4)', () => {
  it('probes a tentative address once from :: to its solicited-node group (hop limit 255, no options) after a random delay under a second, after reporting that group; a second later it is preferred', () => {
    const h = host('fd00::a/64');
    const linkLocal = formatIpv6Address(h.linkLocal()!);
    expect(h.state('fd00::a')).toBe('tentative');
    expect(h.state(linkLocal)).toBe('tentative');
    h.run(999);
    const probes = h.sentOf('neighborSolicitation');
    expect(probes.map((p) => formatIpv6Address((p.icmp as { target: Ipv6Address }).target)).sort()).toEqual(['fd00::a', linkLocal].sort());
    for (const probe of probes) {
      expect(probe).toMatchObject({ source: '::' });
      expect(probe.ip.hopLimit).toBe(255);
      expect(probe.icmp).toMatchObject({ options: [] });
      expect(probe.destination).toBe(formatIpv6Address(solicitedNodeAddress((probe.icmp as { target: Ipv6Address }).target)));
      // §5.4.2: the solicited-node group was joined (and reported, RFC 3810) before the probe.
      const reports = h.sentOf('mldv2Report').filter((r) => r.time <= probe.time);
      expect(reports.length).toBeGreaterThan(0);
    }
    expect(h.state('fd00::a')).toBe('tentative');
    h.run(1001);
    expect(h.state('fd00::a')).toBe('preferred');
    expect(h.state(linkLocal)).toBe('preferred');
    expect(h.stack.stats.get('ndp.dad.succeeded')).toBe(2);
  });

  it('while tentative, the address is no source and takes no packets but its own DAD (§5.4)', () => {
    const h = host('fd00::a/64');
    expect(h.stack.ip6.sourceFor(v6('fd00::b'))).toBe(null);
    h.inject('fd00::b', 'fd00::a', { kind: 'echoRequest', identifier: 1, sequence: 1, data: new Uint8Array(8) }, 64);
    expect(h.stack.stats.get('drop.ndp.toTentative')).toBe(1);
    expect(h.sentOf('echoReply')).toHaveLength(0);
  });

  it('while the only address is tentative, TCP and UDP connects fail with EADDRNOTAVAIL as on Linux (ipv6_dev_get_saddr), and work once DAD is done', () => {
    const h = host('fd00::a/64');
    expect(h.stack.tcp.connect('fd00::b', 80)).toEqual({ ok: false, error: 'EADDRNOTAVAIL' });
    const udp = h.stack.udp.open(6);
    expect(h.stack.udp.connect(udp, 'fd00::b', 53)).toEqual({ ok: false, error: 'EADDRNOTAVAIL' });
    // No route at all is still ENETUNREACH.
    expect(h.stack.tcp.connect('2001:db8::1', 80)).toEqual({ ok: false, error: 'ENETUNREACH' });
    h.run(3000);
    expect(h.state('fd00::a')).toBe('preferred');
    expect(h.stack.tcp.connect('fd00::b', 80).ok).toBe(true);
    expect(h.stack.udp.connect(udp, 'fd00::b', 53).ok).toBe(true);
  });

  it("another node's probe for our tentative address (from ::) makes it a duplicate, never used (§5.4.3, §5.4.5)", () => {
    const h = host('fd00::a/64');
    h.inject('::', 'ff02::1:ff00:a', { kind: 'neighborSolicitation', reserved: 0, target: v6('fd00::a'), options: [] });
    expect(h.state('fd00::a')).toBe('duplicate');
    h.run(3000);
    expect(h.state('fd00::a')).toBe('duplicate');
    expect(h.stack.ip6.isLocalAddress(v6('fd00::a'))).toBe(false);
    expect(h.stack.stats.get('ndp.dad.duplicates')).toBe(1);
  });

  it('a solicitation for the tentative address from a unicast source is silently discarded, not a duplicate (§5.4.3)', () => {
    const h = host('fd00::a/64');
    h.inject('fd00::b', 'ff02::1:ff00:a', {
      kind: 'neighborSolicitation',
      reserved: 0,
      target: v6('fd00::a'),
      options: [{ kind: 'sourceLinkLayerAddress', address: mac(PEER_MAC) }],
    });
    h.run(3000);
    expect(h.state('fd00::a')).toBe('preferred');
    expect(h.sentOf('neighborAdvertisement')).toHaveLength(0);
  });

  it('an advertisement for the tentative link-local address: a duplicate, and RFC 7217 §6 makes the next identifier (DAD_Counter 1), which goes through DAD in turn', () => {
    const h = host();
    const first = formatIpv6Address(h.linkLocal()!);
    h.inject(first, 'ff02::1', { kind: 'neighborAdvertisement', router: false, solicited: false, override: true, reserved: 0, target: v6(first), options: [] });
    expect(h.state(first)).toBeUndefined();
    expect(formatIpv6Address(h.linkLocal()!)).toBe(stable('fe80::', 1));
    expect(h.state(stable('fe80::', 1))).toBe('tentative');
    h.run(3000);
    expect(h.state(stable('fe80::', 1))).toBe('preferred');
  });
});

describe('router discovery and SLAAC (RFC 4861 §6.3, RFC 4862 §5.5)', () => {
  it('solicits routers three times, four seconds apart, from the link-local address once DAD passed it, with our MAC, hop limit 255; an advertisement ends it (§6.3.7)', () => {
    const h = host();
    h.run(20_000);
    const solicitations = h.sentOf('routerSolicitation');
    expect(solicitations).toHaveLength(3);
    expect(solicitations.map((s) => s.time - solicitations[0].time)).toEqual([0, 4000, 8000]);
    const preferredAt = h.sentOf('neighborSolicitation')[0].time + 1000;
    expect(solicitations[0].time).toBeGreaterThanOrEqual(preferredAt);
    expect(solicitations[0]).toMatchObject({ source: stable('fe80::'), destination: 'ff02::2', to: '33:33:00:00:00:02' });
    expect(solicitations[0].ip.hopLimit).toBe(255);
    expect(solicitations[0].icmp).toMatchObject({ options: [{ kind: 'sourceLinkLayerAddress', address: mac('02:00:00:00:00:0a') }] });

    const early = host();
    early.run(2500);
    early.inject(ROUTER, 'ff02::1', advertisement([]));
    early.run(20_000);
    expect(early.sentOf('routerSolicitation').length).toBeLessThan(3);
  });

  it('an advertisement gives a default router, an on-link prefix and an RFC 7217 address in it, tentative until DAD; its hop limit, MTU and timers are taken', () => {
    const h = host();
    h.run(2000);
    h.inject(
      ROUTER,
      'ff02::1',
      advertisement([prefixOption('fd00:81::'), { kind: 'mtu', reserved: 0, mtu: 1400 }], { currentHopLimit: 61, retransTimer: 2000 }),
    );
    const address = stable('fd00:81::');
    expect(h.state(address)).toBe('tentative');
    expect(h.nd.routers.defaultRouters().map(formatIpv6Address)).toEqual([ROUTER]);
    expect(h.stack.ip6.routes.lookup(v6('2001:db8::1'))).toMatchObject({ gateway: v6(ROUTER), metric: 1024 });
    expect(h.stack.ip6.routes.lookup(v6('fd00:81::77'))?.gateway).toBeUndefined();
    expect(h.nd.cache.get(v6(ROUTER))).toMatchObject({ state: 'STALE', isRouter: true, linkAddress: mac(PEER_MAC) });
    expect(h.nd.cache.currentTimers.retransTimerMs).toBe(2000);
    h.run(4000);
    expect(h.state(address)).toBe('preferred');
    expect(h.stack.stats.get('ndp.slaac.addresses')).toBe(1);
    expect(h.stack.ip6.mtuTo(v6('2001:db8::1'))).toBe(1400);
    h.stack.ping6('2001:db8::1', 1, 1);
    h.run(0);
    const [echo] = h.sentOf('echoRequest');
    expect(echo).toMatchObject({ source: address, to: PEER_MAC });
    expect(echo.ip.hopLimit).toBe(61);
  });

  it('an advertisement without the Source Link-Layer Address still marks an existing entry a router (§6.3.4)', () => {
    const h = host();
    h.run(2000);
    h.inject(ROUTER, formatIpv6Address(solicitedNodeAddress(h.linkLocal()!)), {
      kind: 'neighborSolicitation',
      reserved: 0,
      target: h.linkLocal()!,
      options: [{ kind: 'sourceLinkLayerAddress', address: mac(PEER_MAC) }],
    });
    expect(h.nd.cache.get(v6(ROUTER))!.isRouter).toBe(false);
    h.inject(ROUTER, 'ff02::1', { ...advertisement([]), options: [] });
    expect(h.nd.cache.get(v6(ROUTER))!.isRouter).toBe(true);
  });

  it('a Router Lifetime of 0 takes the router out of the list and its default route away', () => {
    const h = host();
    h.run(2000);
    h.inject(ROUTER, 'ff02::1', advertisement([]));
    h.inject(ROUTER, 'ff02::1', advertisement([], { routerLifetime: 0 }));
    expect(h.nd.routers.defaultRouters()).toEqual([]);
    expect(h.stack.ip6.routes.lookup(v6('2001:db8::1'))).toBe(null);
  });

  it("lifetimes run out in virtual time: the router's, the address's preferred (deprecated, RFC 4862 §5.5.4) then valid (removed), the prefix's", () => {
    const h = host();
    h.run(2000);
    h.inject(ROUTER, 'ff02::1', advertisement([prefixOption('fd00:81::', { validLifetime: 60, preferredLifetime: 30 })], { routerLifetime: 20 }));
    const address = stable('fd00:81::');
    h.run(19_000);
    expect(h.nd.routers.defaultRouters()).toHaveLength(1);
    h.run(1000);
    expect(h.nd.routers.defaultRouters()).toHaveLength(0);
    h.run(10_000);
    expect(h.state(address)).toBe('deprecated');
    h.run(30_000);
    expect(h.state(address)).toBeUndefined();
    expect(h.nd.routers.onLinkPrefixes()).toEqual([]);
    expect(h.stack.stats.get('ndp.slaac.expired')).toBe(1);
  });

  it('an advertisement may not cut a valid lifetime below two hours (RFC 4862 §5.5.3(e)), but may lengthen it', () => {
    const h = host();
    h.run(2000);
    h.inject(ROUTER, 'ff02::1', advertisement([prefixOption('fd00:81::', { validLifetime: 4 * 3600, preferredLifetime: 3600 })]));
    h.inject(ROUTER, 'ff02::1', advertisement([prefixOption('fd00:81::', { validLifetime: 60, preferredLifetime: 30 })]));
    h.run(2 * 3600_000 - 10_000);
    expect(h.state(stable('fd00:81::'))).toBe('deprecated'); // not gone after 60 s: two hours left
    h.run(20_000);
    expect(h.state(stable('fd00:81::'))).toBeUndefined(); // two hours, not four
    const g = host();
    g.run(2000);
    g.inject(ROUTER, 'ff02::1', advertisement([prefixOption('fd00:81::', { validLifetime: 60, preferredLifetime: 30 })]));
    g.inject(ROUTER, 'ff02::1', advertisement([prefixOption('fd00:81::', { validLifetime: 600, preferredLifetime: 300 })]));
    g.run(120_000);
    expect(g.state(stable('fd00:81::'))).toBe('preferred');
  });

  it('SLAAC ignores the link-local prefix, a preferred lifetime above the valid one, and a prefix that is not /64 (RFC 4862 §5.5.3)', () => {
    const h = host();
    h.run(2000);
    h.inject(
      ROUTER,
      'ff02::1',
      advertisement([
        prefixOption('fe80::'),
        prefixOption('fd00:82::', { preferredLifetime: 7200, validLifetime: 3600 }),
        prefixOption('fd00:83::', { prefixLength: 48 }),
      ]),
    );
    expect(h.stack.ip6.addresses('eth0').filter((entry) => entry.cidr.address[0] === 0xfd)).toEqual([]);
    expect(h.stack.stats.get('drop.ndp.badPrefix')).toBe(3);
    // The /48 is still on-link (§6.3.4 does not care about the length).
    expect(h.nd.routers.onLinkPrefixes().map((p) => p.prefixLength)).toContain(48);
  });

  it('refuses advertisements with hop limit below 255 or from a global source (RFC 4861 §6.1.2)', () => {
    const h = host();
    h.run(2000);
    h.inject(ROUTER, 'ff02::1', advertisement([prefixOption('fd00:81::')]), 64);
    h.inject('fd00::1', 'ff02::1', advertisement([prefixOption('fd00:81::')]));
    expect(h.nd.routers.defaultRouters()).toEqual([]);
    expect(h.state(stable('fd00:81::'))).toBeUndefined();
    expect(h.stack.stats.get('drop.ndp.badField')).toBe(2);
  });

  it('a default router whose reachability fails is tried last (§6.3.6)', () => {
    const h = host();
    h.run(2000);
    h.inject('fe80::1', 'ff02::1', advertisement([]));
    h.inject('fe80::2', 'ff02::1', advertisement([], {}), 255, '02:00:00:00:00:0c');
    expect(h.stack.ip6.routes.lookup(v6('2001:db8::1'))?.gateway).toEqual(v6('fe80::1'));
    h.nd.routers.routerUnreachable(v6('fe80::1'), h.net.now);
    expect(h.stack.ip6.routes.lookup(v6('2001:db8::1'))?.gateway).toEqual(v6('fe80::2'));
    expect(h.nd.routers.defaultRouters().map(formatIpv6Address)).toEqual(['fe80::2', 'fe80::1']);
  });
});
