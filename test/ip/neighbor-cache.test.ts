/**
 * The Neighbor Cache's state machine (RFC 4861 §7.2, §7.3) alone, in virtual time: what it asks
 * its owner to send, and when.
 */
import { describe, expect, it } from 'vitest';
import { Stats } from '../../src/core/stats.js';
import { formatIpv6Address, parseIpv6Address } from '../../src/ip/ipv6-address.js';
import { NeighborCache, NUD_DEFAULTS, type NeighborCacheActions } from '../../src/ip/neighbor-cache.js';
import type { NdpCounterName } from '../../src/ip/ndp-counters.js';

const address = (text: string) => parseIpv6Address(text)!;
const MAC_A = Uint8Array.of(2, 0, 0, 0, 0, 0xa);
const MAC_B = Uint8Array.of(2, 0, 0, 0, 0, 0xb);
const TIMERS = { ...NUD_DEFAULTS, reachableTimeMs: 30_000 };

function cache(options: { cacheLimit?: number; queueLimit?: number } = {}) {
  const log: string[] = [];
  const delivered: Array<{ mac: string; packet: Uint8Array }> = [];
  const unreachable: Array<{ target: string; waiting: number; wasRouter: boolean; at: number }> = [];
  const actions: NeighborCacheActions = {
    solicit: (target, linkAddress, _waiting, now) => log.push(`${now} NS ${formatIpv6Address(target)} ${linkAddress ? 'unicast' : 'multicast'}`),
    deliver: (linkAddress, packet) => delivered.push({ mac: [...linkAddress].join(':'), packet }),
    unreachable: (target, waiting, wasRouter, now) => unreachable.push({ target: formatIpv6Address(target), waiting: waiting.length, wasRouter, at: now }),
  };
  const stats = new Stats<NdpCounterName>();
  const neighbors = new NeighborCache(TIMERS, actions, stats, options.cacheLimit, options.queueLimit);
  /** Runs the cache's timers up to `until`, each at its deadline. */
  const runUntil = (until: number) => {
    for (let at = neighbors.pollAt(); at <= until; at = neighbors.pollAt()) neighbors.poll(at);
  };
  return { neighbors, log, delivered, unreachable, stats, runUntil };
}

describe('Neighbor Cache (RFC 4861 §7.2, §7.3)', () => {
  it('a packet to an unknown neighbor makes an INCOMPLETE entry, queues the packet and multicasts a solicitation (§7.2.2)', () => {
    const { neighbors, log } = cache();
    expect(neighbors.resolve(address('fd00::b'), Uint8Array.of(1), 0, 0)).toBe(null);
    expect(neighbors.get(address('fd00::b'))).toMatchObject({ state: 'INCOMPLETE', linkAddress: null });
    expect(log).toEqual(['0 NS fd00::b multicast']);
    // A second packet joins the queue without another solicitation.
    neighbors.resolve(address('fd00::b'), Uint8Array.of(2), 0, 10);
    expect(log).toHaveLength(1);
    expect(neighbors.get(address('fd00::b'))!.queue).toHaveLength(2);
  });

  it('gives up after MAX_MULTICAST_SOLICIT solicitations RetransTimer apart; the waiting packets are reported unreachable (§7.2.2)', () => {
    const { neighbors, log, unreachable, stats, runUntil } = cache();
    neighbors.resolve(address('fd00::b'), Uint8Array.of(1), 0, 0);
    neighbors.resolve(address('fd00::b'), Uint8Array.of(2), 0, 0);
    runUntil(10_000);
    expect(log).toEqual(['0 NS fd00::b multicast', '1000 NS fd00::b multicast', '2000 NS fd00::b multicast']);
    expect(unreachable).toEqual([{ target: 'fd00::b', waiting: 2, wasRouter: false, at: 3000 }]);
    expect(neighbors.get(address('fd00::b'))).toBeUndefined();
    expect(stats.get('drop.ndp.unresolved')).toBe(2);
    expect(stats.get('ndp.resolutionFailures')).toBe(1);
  });

  it('bounds the queue of an INCOMPLETE entry: the oldest packet goes (§7.2.2)', () => {
    const { neighbors, stats } = cache({ queueLimit: 3 });
    for (let i = 1; i <= 5; i++) neighbors.resolve(address('fd00::b'), Uint8Array.of(i), 0, 0);
    expect(neighbors.get(address('fd00::b'))!.queue.map((q) => q.packet[0])).toEqual([3, 4, 5]);
    expect(stats.get('drop.ndp.queueFull')).toBe(2);
  });

  it('a solicited advertisement makes the entry REACHABLE and sends what waited; ReachableTime later it is STALE (§7.2.5, §7.3.3)', () => {
    const { neighbors, delivered, runUntil } = cache();
    neighbors.resolve(address('fd00::b'), Uint8Array.of(1), 0, 0);
    neighbors.advertised(address('fd00::b'), MAC_B, { router: false, solicited: true, override: true }, 100);
    expect(neighbors.get(address('fd00::b'))).toMatchObject({ state: 'REACHABLE', linkAddress: MAC_B });
    expect(delivered).toEqual([{ mac: '2:0:0:0:0:11', packet: Uint8Array.of(1) }]);
    runUntil(100 + 29_999);
    expect(neighbors.get(address('fd00::b'))!.state).toBe('REACHABLE');
    runUntil(100 + 30_000);
    expect(neighbors.get(address('fd00::b'))!.state).toBe('STALE');
  });

  it('an unsolicited advertisement answering an INCOMPLETE entry makes it STALE; one without a link-layer address is discarded (§7.2.5)', () => {
    const { neighbors } = cache();
    neighbors.resolve(address('fd00::b'), Uint8Array.of(1), 0, 0);
    neighbors.advertised(address('fd00::b'), null, { router: false, solicited: true, override: true }, 1);
    expect(neighbors.get(address('fd00::b'))!.state).toBe('INCOMPLETE');
    neighbors.advertised(address('fd00::b'), MAC_B, { router: false, solicited: false, override: true }, 2);
    expect(neighbors.get(address('fd00::b'))!.state).toBe('STALE');
  });

  it('sending to a STALE entry starts NUD: DELAY, then after DELAY_FIRST_PROBE_TIME unicast probes; MAX_UNICAST_SOLICIT unanswered delete it (§7.3.3)', () => {
    const { neighbors, log, unreachable, runUntil } = cache();
    neighbors.learn(address('fe80::1'), MAC_A, true, 0);
    expect(neighbors.get(address('fe80::1'))).toMatchObject({ state: 'STALE', isRouter: true });
    expect(neighbors.resolve(address('fe80::1'), Uint8Array.of(1), 0, 1000)).toEqual(MAC_A); // sent at once, no waiting
    expect(neighbors.get(address('fe80::1'))!.state).toBe('DELAY');
    runUntil(5999);
    expect(log).toEqual([]);
    runUntil(6000);
    expect(neighbors.get(address('fe80::1'))!.state).toBe('PROBE');
    runUntil(20_000);
    expect(log).toEqual(['6000 NS fe80::1 unicast', '7000 NS fe80::1 unicast', '8000 NS fe80::1 unicast']);
    expect(unreachable).toEqual([{ target: 'fe80::1', waiting: 0, wasRouter: true, at: 9000 }]);
    expect(neighbors.get(address('fe80::1'))).toBeUndefined();
  });

  it('a solicited advertisement during DELAY or PROBE makes the entry REACHABLE without (more) probes (§7.3.3)', () => {
    const { neighbors, log, runUntil } = cache();
    neighbors.learn(address('fd00::b'), MAC_B, undefined, 0);
    neighbors.resolve(address('fd00::b'), Uint8Array.of(1), 0, 0);
    neighbors.advertised(address('fd00::b'), MAC_B, { router: false, solicited: true, override: false }, 2000);
    expect(neighbors.get(address('fd00::b'))!.state).toBe('REACHABLE');
    runUntil(10_000);
    expect(log).toEqual([]);
  });

  it('Override clear and a different address: the cached one stays, REACHABLE becomes STALE; Override set replaces it (§7.2.5)', () => {
    const { neighbors } = cache();
    neighbors.resolve(address('fd00::b'), Uint8Array.of(1), 0, 0);
    neighbors.advertised(address('fd00::b'), MAC_B, { router: false, solicited: true, override: true }, 0);
    neighbors.advertised(address('fd00::b'), MAC_A, { router: false, solicited: true, override: false }, 10);
    expect(neighbors.get(address('fd00::b'))).toMatchObject({ state: 'STALE', linkAddress: MAC_B });
    neighbors.advertised(address('fd00::b'), MAC_A, { router: false, solicited: false, override: true }, 20);
    expect(neighbors.get(address('fd00::b'))).toMatchObject({ state: 'STALE', linkAddress: MAC_A });
    neighbors.advertised(address('fd00::b'), MAC_A, { router: false, solicited: true, override: true }, 30);
    expect(neighbors.get(address('fd00::b'))!.state).toBe('REACHABLE');
  });

  it('an advertisement for an address without an entry creates none (§7.2.5)', () => {
    const { neighbors, stats } = cache();
    neighbors.advertised(address('fd00::b'), MAC_B, { router: true, solicited: false, override: true }, 0);
    expect(neighbors.size).toBe(0);
    expect(stats.get('ndp.rx.unsolicitedAdvertisementIgnored')).toBe(1);
  });

  it('a router whose advertisement clears R is reported, to leave the Default Router List (§7.2.5)', () => {
    const { neighbors } = cache();
    neighbors.learn(address('fe80::1'), MAC_A, true, 0);
    expect(neighbors.advertised(address('fe80::1'), MAC_A, { router: true, solicited: false, override: true }, 1)).toBe(false);
    expect(neighbors.advertised(address('fe80::1'), MAC_A, { router: false, solicited: false, override: true }, 2)).toBe(true);
    expect(neighbors.get(address('fe80::1'))!.isRouter).toBe(false);
  });

  it('a solicitation with a new link-layer address makes the entry STALE; the same address leaves its state alone (§7.2.3)', () => {
    const { neighbors } = cache();
    neighbors.resolve(address('fd00::b'), Uint8Array.of(1), 0, 0);
    neighbors.advertised(address('fd00::b'), MAC_B, { router: false, solicited: true, override: true }, 0);
    neighbors.learn(address('fd00::b'), MAC_B, undefined, 5);
    expect(neighbors.get(address('fd00::b'))!.state).toBe('REACHABLE');
    neighbors.learn(address('fd00::b'), MAC_A, undefined, 6);
    expect(neighbors.get(address('fd00::b'))).toMatchObject({ state: 'STALE', linkAddress: MAC_A });
  });

  it('holds at most cacheLimit entries: a STALE one is evicted first, so a flood of solicitations costs bounded memory', () => {
    const { neighbors, stats } = cache({ cacheLimit: 4 });
    neighbors.resolve(address('fd00::1'), Uint8Array.of(1), 0, 0); // INCOMPLETE, kept
    for (let i = 2; i < 100; i++) neighbors.learn(address(`fd00::${i.toString(16)}`), MAC_A, undefined, i);
    expect(neighbors.size).toBe(4);
    expect(neighbors.get(address('fd00::1'))!.state).toBe('INCOMPLETE');
    expect(stats.get('ndp.cacheEvictions')).toBe(95);
  });
});
