/**
 * Node's http over ustack behaves as Node's http on the kernel: its server sets TCP_NODELAY on
 * every connection (http.Server's `noDelay` defaults to true) and keeps connections alive
 * between requests, so a response written in two pieces (headers, then the body) never waits
 * behind Nagle's algorithm (RFC 896; RFC 9293 §3.7.4) for the client's delayed ACK
 * (RFC 1122 §4.2.3.2: up to 500 ms; Linux and ustack 40 ms). In virtual time, so a wait of one
 * delayed ACK shows exactly.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startHttpServer } from '../../examples/services.js';
import { serveOnStack } from '../../src/socket-api/serve-on-stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

/** One GET on `agent`'s connection; resolves with the body's length and the virtual time it took. */
function get(
  network: VirtualNetwork,
  agent: http.Agent,
  path: string,
): Promise<{ length: number; nonZero: number; ms: number; socketReused: boolean; socket: Duplex }> {
  const started = network.now;
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '10.0.0.2', port: 80, path, agent }, (response) => {
      let length = 0;
      let nonZero = 0;
      response.on('data', (chunk: Buffer) => {
        length += chunk.length;
        for (const byte of chunk) if (byte !== 0) nonZero++;
      });
      response.on('end', () => resolve({ length, nonZero, ms: network.now - started, socketReused: request.reusedSocket, socket: request.socket! }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

describe('http over ustack: no request waits on a delayed ACK', () => {
  it('ustack up --serve http: GET /bytes/1000 on a kept-alive connection takes one round trip', async () => {
    const network = new VirtualNetwork(16);
    // The client acknowledges as Linux does (quickack only at the start, then delayed ACKs while
    // the connection is interactive): the peer `wrk` or curl on the kernel would be.
    const client = network.createStack('client', { tcp: { quickAck: 'linux' } });
    const server = network.createStack('server');
    network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
    // Node's own http client, its connections made by the client stack with the options Node's
    // Agent passes (noDelay: true among them).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agent.createConnection = ((options: object, callback: () => void) => client.net.createConnection(options as never, callback)) as never;
    const logged: string[] = [];
    const stop = startHttpServer(server, 80, (line) => logged.push(line));
    let idleMs = 0;
    const results = await network.runAsync(async () => {
      const out: Array<Awaited<ReturnType<typeof get>>> = [];
      for (let i = 0; i < 40; i++) out.push(await get(network, agent, '/bytes/1000'));
      // Then idle: http.Server ends a kept-alive connection after its keepAliveTimeout (5 s).
      const idleSince = network.now;
      const { socket } = out[out.length - 1];
      const closed = new Promise((resolve) => socket.once('close', resolve));
      await new Promise((resolve) => socket.once('end', resolve));
      idleMs = network.now - idleSince;
      await closed; // the Agent forgets the socket only then
      out.push(await get(network, agent, '/bytes/1000')); // on a new connection
      return out;
    });
    agent.destroy();
    stop();
    console.log(`GET /bytes/1000 over ustack, virtual ms per request: ${results.map((r) => r.ms).join(', ')}`);
    expect(results.every((r) => r.length === 1000 && r.nonZero === 0)).toBe(true);
    expect(results.slice(1, 40).every((r) => r.socketReused)).toBe(true);
    // One round trip (1 ms each way) per request on the kept-alive connection; it was 44 ms
    // (2 ms plus the client's 40 ms delayed ACK and a round trip) when the listener left Nagle on.
    for (const result of results.slice(1, 40)) expect(result.ms).toBe(2);
    // The server ends the idle connection after its keepAliveTimeout (5 s) — plus the second Node
    // adds to the socket's timer since Node 20 (Node 20.20's http on the kernel's loopback: 6.02 s).
    expect(idleMs).toBeGreaterThanOrEqual(5000);
    expect(idleMs).toBeLessThanOrEqual(6001);
    // A line per request, at most 10 a second (wrk makes thousands); then how many were left out.
    expect(logged).toHaveLength(12);
    expect(logged.slice(0, 10).every((line) => /^http: GET \/bytes\/1000 from 10\.0\.0\.1:\d+$/.test(line))).toBe(true);
    expect(logged[10]).toBe('http: 30 more requests not printed (at most 10 a second are)');
    expect(logged[11]).toMatch(/^http: GET \/bytes\/1000 from 10\.0\.0\.1:\d+$/);
  });

  it('serveOnStack gives each connection what http.Server gives its own: TCP_NODELAY, and SO_KEEPALIVE with its delay when asked', async () => {
    const network = new VirtualNetwork(17);
    const client = network.createStack('client');
    const server = network.createStack('server');
    network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
    const plain = http.createServer((_, response) => response.end('plain'));
    const keepalive = http.createServer({ keepAlive: true, keepAliveInitialDelay: 1000 }, (_, response) => response.end('keepalive'));
    const listeners = [serveOnStack(server, plain, 80), serveOnStack(server, keepalive, 81)];
    const request = 'GET / HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n';
    await network.runAsync(async () => {
      for (const port of [80, 81]) {
        const socket = client.net.connect(port, '10.0.0.2', () => socket.write(request));
        await new Promise((resolve) => socket.once('data', resolve));
      }
    });
    const served = server.tcp.listConnections().sort((x, y) => x.localPort - y.localPort);
    expect(served.map((connection) => [connection.localPort, connection.options.noDelay, connection.keepalive.enabled, connection.keepalive.idleMs])).toEqual([
      [80, true, false, server.tcp.config.keepaliveIdleMs],
      [81, true, true, 1000],
    ]);
    // Idle for 2 s of virtual time, under http's own 5 s keep-alive timeout: the keepalive server's connection (the only one with SO_KEEPALIVE) is probed.
    network.run(2000);
    expect(server.stats.get('tcp.tx.keepaliveProbes')).toBeGreaterThanOrEqual(1);
    for (const listener of listeners) listener.close();
    plain.closeAllConnections();
    keepalive.closeAllConnections();
  });

  it('the server knows its connections, as on the kernel: stopping the http service closes them all (the process can exit)', async () => {
    const network = new VirtualNetwork(18);
    const client = network.createStack('client');
    const server = network.createStack('server');
    network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
    const stop = startHttpServer(server, 80);
    // Ten clients: five kept alive after a request, five connected that sent nothing yet.
    const sockets = await network.runAsync(async () => {
      const opened = [];
      for (let i = 0; i < 10; i++) {
        const socket = client.net.connect(80, '10.0.0.2');
        await new Promise((resolve) => socket.once('connect', resolve));
        if (i < 5) {
          socket.write('GET / HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n');
          await new Promise((resolve) => socket.once('data', resolve));
        }
        opened.push(socket);
      }
      return opened;
    });
    // The last handshake's ACK reaches the server, which accepts the connection.
    await network.runAsync(() => new Promise<void>((resolve) => server.schedule(network.now + 10, resolve)));
    expect(server.tcp.listConnections().filter((connection) => connection.state === 'ESTABLISHED')).toHaveLength(10);
    const outcomes = await network.runAsync(async () => {
      const ends = sockets.map(
        (socket) =>
          new Promise<string>((resolve) => {
            socket.once('end', () => resolve('end'));
            socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
          }),
      );
      stop();
      return Promise.all(ends);
    });
    // Each closed with a FIN, as Linux closes a socket with nothing unread.
    expect(outcomes).toEqual(Array(10).fill('end'));
    for (const socket of sockets) socket.destroy();
    await network.runAsync(() => new Promise((resolve) => setImmediate(resolve)));
    network.run(1000);
    // Nothing of the service is left holding a connection open (before, all ten stayed ESTABLISHED).
    expect(server.tcp.listConnections().filter((connection) => connection.state === 'ESTABLISHED')).toEqual([]);
  });
});
