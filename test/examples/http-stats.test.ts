/**
 * `ustack up --serve http`'s `/stats.json`: the stack's counters and, per TCP connection, its
 * 4-tuple, state and TCP_INFO — here fetched over the virtual network by a raw HTTP request.
 */
import { describe, expect, it } from 'vitest';
import { startHttpServer, type StatsReport } from '../../examples/services.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
describe('GET /stats.json', () => {
  it('lists the counters and every TCP connection with its 4-tuple, state and TCP_INFO, the request’s own included', async () => {
    const network = new VirtualNetwork(5);
    const client = network.createStack('client');
    const server = network.createStack('server');
    network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 2 });
    const request = 'GET /stats.json HTTP/1.1\r\nHost: 10.0.0.2\r\nConnection: close\r\n\r\n';
    const response = await network.runAsync(async () => {
      const stop = startHttpServer(server, 80);
      const socket = client.net.connect(80, '10.0.0.2', () => socket.end(request));
      let text = '';
      for await (const chunk of socket) text += chunk;
      stop();
      return text;
    });
    const report = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as StatsReport;
    expect(report.counters['tcp.passiveOpens']).toBe(1);
    const served = report.connections.find((c) => c.remote.startsWith('10.0.0.1:'));
    expect(served).toBeDefined();
    expect(served!.local).toBe('10.0.0.2:80');
    expect(served!.state).toBe('CLOSE-WAIT'); // the client sent its request with FIN
    expect(served!.tcpInfo.state).toBe(8);
    expect(served!.tcpInfo.rtt).toBe(4000); // 2 ms each way
    expect(served!.tcpInfo.bytes_received).toBe(request.length + 1); // the request and the FIN
  });
});
