/**
 * Which local ports the layer's connections hold (for bind conflicts and ephemeral ports): as
 * many connections as share a port, each holding it until it is gone.
 */
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

describe('local ports held by connections', () => {
  it('a port stays in use while any connection from it remains, and is free once the last one is gone', () => {
    const net = new VirtualNetwork(9);
    const client = net.createStack('client');
    const server = net.createStack('server');
    net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
    const local = parseIpv4Address('10.0.0.1')!;
    const remote = parseIpv4Address('10.0.0.2')!;
    unwrap(server.tcp.listen(0, 80));
    unwrap(server.tcp.listen(0, 81));
    expect(client.tcp.portInUse(local, 40000)).toBe(false);
    const first = unwrap(client.tcp.connect(remote, 80, { localPort: 40000 }));
    const second = unwrap(client.tcp.connect(remote, 81, { localPort: 40000 }));
    net.runUntilIdle(1000);
    expect([first.state, second.state]).toEqual(['ESTABLISHED', 'ESTABLISHED']);
    expect(client.tcp.bind(local, 40000).ok).toBe(false);
    first.abort();
    expect(client.tcp.portInUse(local, 40000)).toBe(true);
    second.abort();
    expect(client.tcp.portInUse(local, 40000)).toBe(false);
    expect(client.tcp.bind(local, 40000).ok).toBe(true);
  });
});
