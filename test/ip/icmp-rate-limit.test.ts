import { describe, expect, it } from 'vitest';
import { IcmpRateLimiter, type IcmpRateLimitConfig } from '../../src/ip/icmp-rate-limit.js';
import { DEFAULT_ICMP_CONFIG } from '../../src/ip/icmp-layer.js';
import { readIpv4Address } from '../../src/ip/address.js';
import { mapShellCommand } from '../../src/drill/sysctl.js';
import type { StackOptions } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { addr, pattern, udpFrame } from '../support/packets.js';
import { attachRawPeer, drive, type RawPeer } from '../support/raw-peer.js';

const ROUTER_NEAR = '10.0.0.254/24';
const PEER = addr('10.0.0.1');
const OTHER_PEER = addr('10.0.0.5');
const FAR = addr('10.0.1.9');

/** A router 10.0.0.254 | 10.0.1.254 with raw peers on both sides. */
function router(options: StackOptions = {}) {
  const net = new VirtualNetwork(21);
  const stack = net.createStack('router', { ...options, ip: { forwarding: true } });
  const near = attachRawPeer(net, stack, ROUTER_NEAR, { interfaceName: 'eth0' });
  const far = attachRawPeer(net, stack, '10.0.1.254/24', { interfaceName: 'eth1' });
  return { net, stack, near, far };
}

/** A datagram from `source` toward the far side whose TTL runs out at the router. */
function expiring(source: number, port: number): Uint8Array {
  return udpFrame({ source, destination: FAR, ttl: 1 }, port, 9, pattern(8));
}

/** Who each time-exceeded the peer received went to. */
function errorsTo(peer: RawPeer): number[] {
  return peer.take().map(({ frame }) => readIpv4Address(frame, 16));
}

const LINUX: IcmpRateLimitConfig = DEFAULT_ICMP_CONFIG;

describe('ICMP error rate limit per destination (RFC 1812 §4.3.2.8; Linux icmp_ratelimit)', () => {
  it('474 triggers from one host in 0.42 s get at most 7 errors; a second host still gets its own; after 1 s one more', () => {
    const { net, stack, near } = router();
    for (let batch = 0; batch < 42; batch++) {
      for (let i = 0; i < (batch < 12 ? 12 : 11); i++) near.send(expiring(PEER, 1000 + batch * 12 + i));
      drive(net, [near], 10);
      net.run(10);
    }
    expect(stack.stats.get('drop.ipv4.ttlExceeded')).toBe(474);
    const first = errorsTo(near);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThanOrEqual(7);
    expect(first.every((to) => to === PEER)).toBe(true);
    expect(stack.stats.get('icmp.tx.rateLimited.destination')).toBe(474 - first.length);
    expect(stack.stats.get('icmp.tx.rateLimited.global')).toBe(0);

    // Another host is not punished for the first one's flood.
    near.send(expiring(OTHER_PEER, 2000));
    drive(net, [near], 10);
    expect(errorsTo(near)).toEqual([OTHER_PEER]);

    // The flooding host: nothing more until a second has passed, then one.
    near.send(expiring(PEER, 3000));
    drive(net, [near], 10);
    expect(errorsTo(near)).toEqual([]);
    net.run(1000);
    near.send(expiring(PEER, 3001));
    near.send(expiring(PEER, 3002));
    drive(net, [near], 10);
    expect(errorsTo(near)).toEqual([PEER]);
  });

  it('the global ceiling still caps many destinations together (icmp_msgs_burst)', () => {
    const { net, stack, near } = router({ icmp: { errorBurst: 10, errorRatePerSecond: 1 } });
    for (let host = 10; host < 40; host++) near.send(expiring(addr(`10.0.0.${host}`), 1000 + host));
    drive(net, [near], 10);
    const sent = errorsTo(near);
    expect(sent).toHaveLength(10);
    expect(new Set(sent).size).toBe(10);
    expect(stack.stats.get('icmp.tx.rateLimited.global')).toBe(20);
    expect(stack.stats.get('icmp.tx.rateLimited.destination')).toBe(0);
    expect(stack.stats.get('icmp.tx.rateLimited')).toBe(20);
  });

  it('a refused destination does not use up the global budget', () => {
    const { net, stack, near } = router({ icmp: { errorBurst: 8, errorRatePerSecond: 1 } });
    for (let i = 0; i < 20; i++) near.send(expiring(PEER, 1000 + i));
    drive(net, [near], 10);
    expect(errorsTo(near)).toHaveLength(6);
    near.send(expiring(OTHER_PEER, 2000));
    near.send(expiring(addr('10.0.0.6'), 2001));
    near.send(expiring(addr('10.0.0.7'), 2002));
    drive(net, [near], 10);
    // 8 global tokens: 6 to the flooder, 2 left, whatever the 14 refused ones did.
    expect(errorsTo(near)).toEqual([OTHER_PEER, addr('10.0.0.6')]);
    expect(stack.stats.get('icmp.tx.rateLimited.destination')).toBe(14);
    expect(stack.stats.get('icmp.tx.rateLimited.global')).toBe(1);
  });

  it('icmp_ratelimit 0 turns the per-destination limit off', () => {
    const { net, near } = router({ icmp: { errorIntervalPerDestinationMs: 0 } });
    for (let i = 0; i < 20; i++) near.send(expiring(PEER, 1000 + i));
    drive(net, [near], 10);
    expect(errorsTo(near)).toHaveLength(20);
  });

  it('port unreachable to a host over loopback is not limited per destination (as Linux)', () => {
    const net = new VirtualNetwork(22);
    const stack = net.createStack('host');
    attachRawPeer(net, stack, '10.0.0.2/24');
    const socket = stack.udp.open();
    socket.bind(0, 0);
    for (let i = 0; i < 10; i++) socket.send(pattern(4), addr('10.0.0.2'), 9);
    net.runUntilIdle();
    expect(stack.stats.get('icmp.tx.destinationUnreachable')).toBe(10);
    expect(stack.stats.get('icmp.tx.rateLimited')).toBe(0);
  });

  it('the table of destinations stays within its cap under 100 000 distinct sources', () => {
    const { stack } = router({ icmp: { errorBurst: 1e9, errorRatePerSecond: 1e9, errorDestinationsMax: 1024 } });
    const packet = expiring(PEER, 1000);
    for (let i = 0; i < 100_000; i++) {
      const source = (0x0b000000 + i) >>> 0; // 11.0.0.0 onward: distinct, routable nowhere
      packet[12] = source >>> 24;
      packet[13] = (source >>> 16) & 0xff;
      packet[14] = (source >>> 8) & 0xff;
      packet[15] = source & 0xff;
      stack.icmp.timeExceeded(packet, 0, 0);
    }
    expect(stack.icmp.rateLimitedDestinations).toBe(1024);
    expect(stack.stats.get('icmp.tx.rateLimited')).toBe(0);
  });
});

describe("the drill's ICMP sysctls", () => {
  it('icmp_ratelimit, icmp_msgs_per_sec and icmp_msgs_burst reach the ICMP layer', () => {
    const outcome = mapShellCommand('sysctl -q net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=5 net.ipv4.icmp_msgs_burst=3', false);
    expect(outcome.unsupported).toEqual([]);
    expect(outcome.changes).toEqual({});
    const { net, stack, near } = router();
    expect(outcome.actions.map((action) => action(stack))).toEqual(['icmp.errorIntervalPerDestinationMs=0', 'icmp.errorRatePerSecond=5', 'icmp.errorBurst=3']);
    for (let i = 0; i < 10; i++) near.send(expiring(PEER, 1000 + i));
    drive(net, [near], 10);
    expect(errorsTo(near)).toHaveLength(3); // the new burst; no per-destination limit before it
    expect(mapShellCommand('sysctl net.ipv4.icmp_ratelimit=-1', false).unsupported).toHaveLength(1);
  });
});

describe('IcmpRateLimiter', () => {
  const small = (changes: Partial<IcmpRateLimitConfig> = {}) => new IcmpRateLimiter({ ...LINUX, errorDestinationsMax: 3, ...changes });

  it('forgets the least recently used destination, which then starts again with a full bucket', () => {
    const limiter = small();
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => addr(`192.0.2.${n}`));
    for (let i = 0; i < 6; i++) expect(limiter.take(a, 0)).toBeNull();
    expect(limiter.take(a, 0)).toBe('destination');
    expect(limiter.take(b, 0)).toBeNull();
    expect(limiter.take(c, 0)).toBeNull();
    expect(limiter.take(a, 0)).toBe('destination'); // a is now the most recently used
    expect(limiter.take(d, 0)).toBeNull(); // pushes out b, not a
    expect(limiter.destinationCount).toBe(3);
    expect(limiter.take(a, 0)).toBe('destination');
  });

  it('refills one error per interval up to the burst, never beyond', () => {
    const limiter = small({ errorIntervalPerDestinationMs: 100, errorBurstPerDestination: 2 });
    const a = addr('192.0.2.1');
    const allowed = (now: number, tries: number) => Array.from({ length: tries }, () => limiter.take(a, now)).filter((r) => r === null).length;
    expect(allowed(0, 5)).toBe(2);
    expect(allowed(99, 5)).toBe(0);
    expect(allowed(100, 5)).toBe(1);
    expect(allowed(10_000, 5)).toBe(2);
  });

  it('a destination exempt from its bucket still pays the global one', () => {
    const limiter = small({ errorBurst: 2, errorRatePerSecond: 1 });
    const a = addr('192.0.2.1');
    expect([limiter.take(a, 0, false), limiter.take(a, 0, false), limiter.take(a, 0, false)]).toEqual([null, null, 'global']);
  });
});
