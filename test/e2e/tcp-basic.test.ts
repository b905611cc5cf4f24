import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { FaultConfig } from '../../src/link/fault-injector.js';

const addr = (t: string) => parseIpv4Address(t)!;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

type Family = 4 | 6;

/** The server's address in `family`: 10.0.0.2 or fd00::2. */
const serverAddress = (family: Family) => (family === 4 ? addr('10.0.0.2') : 'fd00::2');

function setup(seed = 1, faults?: FaultConfig, latencyMs = 1, tcp: { ecn?: boolean } = {}) {
  const net = new VirtualNetwork(seed);
  const client = net.createStack('client', { tcp });
  const server = net.createStack('server', { tcp });
  net.connect(
    { stack: client, address: '10.0.0.1/24', address6: 'fd00::1/64', faults },
    { stack: server, address: '10.0.0.2/24', address6: 'fd00::2/64', faults },
    { latencyMs },
  );
  return { net, client, server };
}

/** Sends `data` over one connection in `family` and collects what the server reads; closes both ways. */
function transfer(family: Family, seed: number, size: number, faults?: FaultConfig, latencyMs = 1, tcp: { ecn?: boolean } = {}) {
  const { net, client, server } = setup(seed, faults, latencyMs, tcp);
  const data = new Rng(seed).bytes(size);
  const listener = unwrap(server.tcp.listen(family === 4 ? 0 : '::', 80));
  const received: Uint8Array[] = [];
  let serverConnection: TcpConnection | null = null;
  let serverDone = false;
  listener.onAcceptable = () => {
    serverConnection = listener.accept();
    const c = serverConnection!;
    c.events.onReadable = () => {
      for (let chunk = c.receive(); chunk.length > 0; chunk = c.receive()) received.push(chunk.slice());
      if (c.endOfStream && !serverDone) {
        serverDone = true;
        c.close();
      }
    };
  };
  const connection = unwrap(client.tcp.connect(serverAddress(family), 80));
  let offset = 0;
  let clientClosed = false;
  const pump = () => {
    while (offset < data.length) {
      const sent = connection.send(data.subarray(offset, offset + 65536));
      if (!sent.ok || sent.value === 0) break;
      offset += sent.value;
    }
    if (offset === data.length && !clientClosed) {
      clientClosed = true;
      connection.close();
    }
  };
  connection.events.onConnect = pump;
  connection.events.onWritable = pump;
  let closedWith: string | null | undefined;
  connection.events.onClose = (error: string | null) => (closedWith = error);
  net.runUntil(() => (serverDone && connection.state === 'TIME-WAIT') || connection.state === 'CLOSED', 600_000);
  const total = new Uint8Array(received.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of received) {
    total.set(c, at);
    at += c.length;
  }
  return { net, client, server, connection, data, total, closedWith, time: net.now };
}

describe.each([4, 6] as const)('TCP between two stacks on the virtual network, over IPv%i', (family) => {
  it('opens, transfers 1 MB bit-exact, and closes into TIME-WAIT', () => {
    const { data, total, connection, client, server } = transfer(family, 1, 1_000_000);
    expect(total.length).toBe(data.length);
    expect(sha(total)).toBe(sha(data));
    expect(connection.state).toBe('TIME-WAIT');
    expect(client.stats.sum('drop.')).toBe(0);
    expect(server.stats.sum('drop.')).toBe(0);
    expect(client.lastInternalError).toBe(null);
    expect(server.lastInternalError).toBe(null);
  });

  it('recovers from 2% loss both ways', () => {
    const { data, total, client } = transfer(family, 2, 500_000, { lossRate: 0.02 });
    expect(sha(total)).toBe(sha(data));
    expect(client.stats.get('tcp.tx.retransmits')).toBeGreaterThan(0);
  });

  it('negotiates ECN and reacts to CE marks by reducing the window instead of losing packets (RFC 3168)', () => {
    const { data, total, client, server, connection } = transfer(family, 3, 2_000_000, { congestionMarkRate: 0.01 }, 5, { ecn: true });
    expect(sha(total)).toBe(sha(data));
    expect(server.stats.get('tcp.rx.congestionExperienced')).toBeGreaterThan(0);
    expect(client.stats.get('tcp.ecn.reductions')).toBeGreaterThan(0);
    expect(client.stats.get('tcp.tx.retransmits')).toBe(0);
    expect(connection.remoteAddress).toBe(serverAddress(family));
  });

  it('refuses a connection to a closed port with ECONNREFUSED', () => {
    const { net, client } = setup();
    const connection = unwrap(client.tcp.connect(serverAddress(family), 81));
    let error: string | null | undefined;
    connection.events.onClose = (e: string | null) => (error = e);
    net.runUntilIdle();
    expect(error).toBe('ECONNREFUSED');
  });
});
