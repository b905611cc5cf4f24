import { describe, expect, it } from 'vitest';
import type { FaultConfig, FaultCounterName } from '../../src/link/fault-injector.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { UdpSocket } from '../../src/udp/udp-layer.js';
import { addr, pattern } from '../support/packets.js';

const FAULTS: FaultConfig = { lossRate: 0.05, duplicateRate: 0.05, reorderRate: 0.1, reorderDelayMs: 3, corruptRate: 0.05, jitterMs: 1 };

/** Counters of frames refused by an integrity check: checksums and the length checks before them. */
const INTEGRITY_DROPS = [
  'drop.ipv4.badChecksum',
  'drop.ipv4.badVersion',
  'drop.ipv4.badHeaderLength',
  'drop.ipv4.badTotalLength',
  'drop.ipv4.truncated',
  'drop.ipv4.badOption',
  'drop.udp.badChecksum',
  'drop.udp.badTotalLength',
  'drop.udp.truncated',
  'drop.icmp.badChecksum',
  'drop.icmp.truncated',
  'drop.icmpv6.badChecksum',
  'drop.icmpv6.truncated',
] as const;

/** IPv6 drops that are not integrity checks: what reassembly does with whole, undamaged fragments. */
const IPV6_NOT_INTEGRITY = ['drop.ipv6.fragmentDuplicate', 'drop.ipv6.reassemblyTimeout'] as const;

/** A datagram that says which one it is: a 4-byte id, then bytes derived from the id. */
function datagram(id: number, length: number): Uint8Array {
  const out = pattern(length, id * 7);
  new DataView(out.buffer).setUint32(0, id);
  return out;
}

function isIntact(payload: Uint8Array): boolean {
  if (payload.length < 4) return false;
  const id = new DataView(payload.buffer, payload.byteOffset).getUint32(0);
  const expected = datagram(id, payload.length);
  return payload.every((b, i) => b === expected[i]);
}

function integrityDrops(...stacks: Stack[]): number {
  let total = 0;
  // Over IPv4, a corrupted version nibble of 6 makes the packet IPv6's to refuse; over IPv6, its
  // layer's refusals are the checks (it has no header checksum, RFC 8200 §3): any of its drops
  // counts, but those of reassembly's own bookkeeping.
  for (const stack of stacks) for (const name of INTEGRITY_DROPS) total += stack.stats.get(name);
  for (const stack of stacks) total += stack.stats.sum('drop.ipv6.');
  for (const stack of stacks) for (const name of IPV6_NOT_INTEGRITY) total -= stack.stats.get(name);
  return total;
}

/**
 * client 10.0.0.1 ⇄ server 10.0.0.2 (or fd00::1 ⇄ fd00::2 with `family` 6) over a wire with the
 * same faults in both directions. The server echoes every datagram; the client counts what comes
 * back. Returns everything the test looks at, after the network has gone idle (reassembly
 * timeouts included).
 */
function scenario(seed: number, plan: { small: number; large: number; largeSize: number }, family: 4 | 6 = 4) {
  const net = new VirtualNetwork(seed);
  const client = net.createStack('client');
  const server = net.createStack('server');
  const connection = net.connect(
    { stack: client, address: '10.0.0.1/24', address6: 'fd00::1/64', faults: FAULTS },
    { stack: server, address: '10.0.0.2/24', address6: 'fd00::2/64', faults: FAULTS },
    { latencyMs: 2 },
  );
  const echo = server.udp.open(family);
  echo.bind(family === 4 ? 0 : '::', 7);
  const received = { atServer: 0, atClient: 0, broken: 0 };
  echo.onReadable = () => {
    for (let d = echo.receive(); d; d = echo.receive()) {
      received.atServer++;
      if (!isIntact(d.payload)) received.broken++;
      echo.send(d.payload, d.sourceAddress, d.sourcePort);
    }
  };
  const socket: UdpSocket = client.udp.open(family);
  const serverAddress = family === 4 ? addr('10.0.0.2') : 'fd00::2';
  socket.onReadable = () => {
    for (let d = socket.receive(); d; d = socket.receive()) {
      received.atClient++;
      if (!isIntact(d.payload)) received.broken++;
    }
  };
  let maxMemory = 0;
  const watch = () => {
    // Both families' partial packets draw on one budget (IPv6's reassembler on IPv4's).
    maxMemory = Math.max(maxMemory, client.ip.reassemblyMemory.inUse, server.ip.reassemblyMemory.inUse);
  };
  let id = 0;
  for (let i = 0; i < plan.small; i++) {
    expect(socket.send(datagram(id++, 20 + (i % 200)), serverAddress, 7).ok).toBe(true);
    net.run(1);
    watch();
  }
  for (let i = 0; i < plan.large; i++) {
    expect(socket.send(datagram(id++, plan.largeSize), serverAddress, 7).ok).toBe(true);
    net.run(5);
    watch();
  }
  while (net.step()) watch();
  const injected = (name: FaultCounterName) => (connection.a.faults?.stats.get(name) ?? 0) + (connection.b.faults?.stats.get(name) ?? 0);
  return { net, client, server, received, maxMemory, injected };
}

describe.each([4, 6] as const)('two stacks over a lossy, duplicating, reordering, corrupting link, over IPv%i', (family) => {
  const v = family === 4 ? 'ipv4' : 'ipv6';

  it('small datagrams: every corrupted frame is caught by a checksum or length check and counted; nothing broken reaches a socket', () => {
    const { client, server, received, injected } = scenario(101, { small: 1500, large: 0, largeSize: 0 }, family);
    const corrupted = injected('fault.corrupted');
    const duplicated = injected('fault.duplicated');
    expect(corrupted).toBeGreaterThan(50);
    // Each corrupted frame arrives once, or twice when it was also duplicated.
    const caught = integrityDrops(client, server);
    if (family === 4) expect(caught).toBeGreaterThanOrEqual(corrupted);
    // IPv6: a flip in the Traffic Class, Flow Label or Hop Limit (36 of ~1,300 bits) harms
    // nothing a check could see, and the datagram arrives whole.
    else expect(caught).toBeGreaterThanOrEqual(0.9 * corrupted);
    expect(caught).toBeLessThanOrEqual(corrupted + duplicated);
    expect(client.stats.get('drop.udp.badChecksum') + server.stats.get('drop.udp.badChecksum')).toBeGreaterThan(0);
    if (family === 4) expect(client.stats.get('drop.ipv4.badChecksum') + server.stats.get('drop.ipv4.badChecksum')).toBeGreaterThan(0);
    else expect(client.stats.sum('drop.ipv6.') + server.stats.sum('drop.ipv6.')).toBeGreaterThan(0);
    expect(received.broken).toBe(0);
    expect(received.atServer).toBeGreaterThan(1500 * 0.85);
    expect(received.atClient).toBeGreaterThan(1500 * 0.75);
    for (const stack of [client, server]) {
      expect(stack.lastInternalError).toBe(null);
      expect(stack.stats.get('drop.internalError')).toBe(0);
    }
  });

  it('large fragmented datagrams: reassembly copes with loss, duplicates and reordering, and its memory returns to 0 after the timeout', () => {
    const { net, client, server, received, maxMemory, injected } = scenario(202, { small: 200, large: 60, largeSize: 8000 }, family);
    expect(received.broken).toBe(0);
    expect(server.stats.get(`${v}.rx.reassembled`)).toBeGreaterThan(15);
    expect(client.stats.get(`${v}.rx.reassembled`)).toBeGreaterThan(5);
    // Duplicated fragments are dropped on their own; datagrams missing a fragment time out.
    expect(server.stats.get(`drop.${v}.fragmentDuplicate`) + client.stats.get(`drop.${v}.fragmentDuplicate`)).toBeGreaterThan(0);
    expect(server.stats.get(`drop.${v}.reassemblyTimeout`)).toBeGreaterThan(0);
    // Whole fragments never overlap. IPv4's header checksum catches a corrupted offset; IPv6's
    // Fragment header has no checksum (RFC 8200 §4.5), so a corrupted offset may overlap and
    // drop the packet (RFC 5722) — only a corrupted one.
    if (family === 4) expect(server.stats.get('drop.ipv4.fragmentOverlap')).toBe(0);
    else expect(server.stats.get('drop.ipv6.fragmentOverlap') + client.stats.get('drop.ipv6.fragmentOverlap')).toBeLessThanOrEqual(injected('fault.corrupted'));
    // A corrupted fragment is caught by the IP header checksum (IPv4) or its layer's checks, or by UDP's once reassembled.
    const caught = integrityDrops(client, server);
    expect(caught).toBeGreaterThan(0);
    expect(caught).toBeLessThanOrEqual(injected('fault.corrupted') + injected('fault.duplicated'));
    // Memory: bounded while running, nothing left once the last timeout has run.
    expect(maxMemory).toBeGreaterThan(0);
    expect(maxMemory).toBeLessThanOrEqual(4 * 1024 * 1024);
    for (const stack of [client, server]) {
      expect(stack.ip.reassembler.memory).toBe(0);
      expect(stack.ip.reassembler.pending).toBe(0);
      expect(stack.ip6.reassembler.memory).toBe(0);
      expect(stack.ip6.reassembler.pending).toBe(0);
      expect(stack.ip.reassemblyMemory.inUse).toBe(0);
      expect(stack.lastInternalError).toBe(null);
    }
    expect(net.pollAt()).toBe(Infinity);
  });

  it('is reproducible: the same seed gives the same counters on both stacks', () => {
    const run = () => {
      const { client, server, received } = scenario(303, { small: 300, large: 10, largeSize: 5000 }, family);
      return { client: client.stats.snapshot(), server: server.stats.snapshot(), received };
    };
    expect(run()).toEqual(run());
  });
});
