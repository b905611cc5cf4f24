/**
 * SO_REUSEPORT for TCP listeners (Linux's sock_reuseport): listeners that all set it share an
 * address and port, and a hash of each SYN's 4-tuple picks the one that gets the connection.
 */
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import type { TcpListener } from '../../src/tcp/tcp-layer.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

const SERVER = parseIpv4Address('10.0.0.2')!;

function pair(tcp: Partial<TcpConfig> = {}) {
  const net = new VirtualNetwork(15);
  const client = net.createStack('client');
  const server = net.createStack('server', { tcp });
  net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
  return { net, client, server };
}

/** A listener on SERVER:80 with SO_REUSEPORT set (or not) before bind, as a socket would. */
function reuseListener(server: ReturnType<typeof pair>['server'], reusePort: boolean) {
  const binding = server.tcp.bind(SERVER, 80, { reusePort });
  if (!binding.ok) return binding;
  const listening = server.tcp.listen(SERVER, 80, 128, undefined, binding.value);
  if (!listening.ok) server.tcp.unbind(binding.value);
  return listening;
}

/** Connects from each local port and says which listener accepted each connection. */
function acceptedBy(h: ReturnType<typeof pair>, listeners: TcpListener[], localPorts: number[]): number[] {
  const connections = localPorts.map((localPort) => unwrap(h.client.tcp.connect(SERVER, 80, { localPort })));
  h.net.runUntilIdle(1000);
  expect(connections.every((c) => c.state === 'ESTABLISHED')).toBe(true);
  const owner = new Map<number, number>();
  listeners.forEach((listener, index) => {
    for (let c = listener.accept(); c; c = listener.accept()) owner.set(c.remotePort, index);
  });
  for (const c of connections) c.abort();
  h.net.runUntilIdle(1000);
  return localPorts.map((port) => owner.get(port) ?? -1);
}

const PORTS = Array.from({ length: 40 }, (_, i) => 41000 + i);

describe('SO_REUSEPORT TCP listeners', () => {
  it('two listeners share a port; connections spread over both, each flow to the same one every time', () => {
    const h = pair();
    const listeners = [unwrap(reuseListener(h.server, true)), unwrap(reuseListener(h.server, true))];
    const first = acceptedBy(h, listeners, PORTS);
    expect(first.every((owner) => owner === 0 || owner === 1)).toBe(true);
    const toFirst = first.filter((owner) => owner === 0).length;
    // 40 flows hashed onto two listeners: each gets a share (all on one side has odds 2^-39).
    expect(toFirst).toBeGreaterThan(5);
    expect(toFirst).toBeLessThan(35);
    // The same 4-tuples again (a new SYN of each flow): the same listener for each.
    expect(acceptedBy(h, listeners, PORTS)).toEqual(first);
  });

  it('a cookie ACK reaches the listener its SYN did (the flow hash, not state, picks it)', () => {
    const h = pair({ synCookies: 'always' });
    const listeners = [unwrap(reuseListener(h.server, true)), unwrap(reuseListener(h.server, true))];
    const owners = acceptedBy(h, listeners, PORTS);
    expect(owners.every((owner) => owner === 0 || owner === 1)).toBe(true);
    expect(new Set(owners).size).toBe(2);
    expect(h.server.stats.get('tcp.passiveOpens')).toBe(PORTS.length);
  });

  it('without SO_REUSEPORT on either side a second listener is EADDRINUSE', () => {
    for (const [first, second] of [
      [false, false],
      [true, false],
      [false, true],
    ]) {
      const h = pair();
      unwrap(reuseListener(h.server, first));
      const again = reuseListener(h.server, second);
      expect(again.ok ? 'listening' : again.error).toBe('EADDRINUSE');
    }
  });

  it('a listen without bind (no SO_REUSEPORT) beside a group is EADDRINUSE', () => {
    const h = pair();
    unwrap(reuseListener(h.server, true));
    const plain = h.server.tcp.listen(SERVER, 80);
    expect(plain.ok ? 'listening' : plain.error).toBe('EADDRINUSE');
  });

  it('closing one listener leaves the other accepting every flow', () => {
    const h = pair();
    const listeners = [unwrap(reuseListener(h.server, true)), unwrap(reuseListener(h.server, true))];
    expect(new Set(acceptedBy(h, listeners, PORTS)).size).toBe(2);
    listeners[0].close();
    expect(acceptedBy(h, listeners, PORTS)).toEqual(PORTS.map(() => 1));
    listeners[1].close();
    const refused = unwrap(h.client.tcp.connect(SERVER, 80, { localPort: 42000 }));
    h.net.runUntilIdle(1000);
    expect(refused.state).toBe('CLOSED');
  });

  it("a closed listener's half-open connections go with it; the other's stay", () => {
    const h = pair();
    const listeners = [unwrap(reuseListener(h.server, true)), unwrap(reuseListener(h.server, true))];
    const connections = PORTS.map((localPort) => unwrap(h.client.tcp.connect(SERVER, 80, { localPort })));
    // Long enough for the SYNs to arrive (1 ms), not for the SYN-ACKs to come back and the ACKs to arrive.
    h.net.run(1.5);
    const halfOpen = listeners.map((l) => l.synQueue.size);
    expect(halfOpen[0] + halfOpen[1]).toBe(PORTS.length);
    expect(halfOpen[0]).toBeGreaterThan(0);
    listeners[0].close();
    h.net.runUntilIdle(1000);
    let accepted = 0;
    for (let c = listeners[1].accept(); c; c = listeners[1].accept()) accepted++;
    expect(accepted).toBe(halfOpen[1]);
    expect(connections.filter((c) => c.state === 'ESTABLISHED').length).toBeGreaterThanOrEqual(halfOpen[1]);
  });
});
