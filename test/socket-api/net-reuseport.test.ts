/**
 * Node's `server.listen({ reusePort: true })` (Node 22.12+/23.1) on the drop-in: SO_REUSEPORT on
 * the listening socket, so servers that all ask for it share a port (tcp-layer.ts picks one per
 * connection by a hash of its 4-tuple).
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import type { NetServer } from '../../src/socket-api/net-server.js';
import type { NetSocket } from '../../src/socket-api/net-socket.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { errnoOf } from '../support/errno.js';

function pair() {
  const net = new VirtualNetwork(23);
  const a = net.createStack('client');
  const b = net.createStack('server');
  net.connect({ stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64' }, { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' });
  return { net, a, b };
}

type Pair = ReturnType<typeof pair>;

/** A server answering each connection with its name; `counts[name]` counts them. */
function namedServer(b: Pair['b'], name: string, counts: Record<string, number>): NetServer {
  counts[name] = 0;
  return b.net.createServer((socket: NetSocket) => {
    counts[name]++;
    socket.end(name);
  });
}

function listen(h: Pair, server: NetServer, options: object): Promise<NodeJS.ErrnoException | null> {
  return h.net.runAsync(
    new Promise<NodeJS.ErrnoException | null>((resolve) => {
      server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
      server.listen(options, () => resolve(null));
    }),
  );
}

/** `clients` connections to host:port, each from its own local port; the names that answered. */
async function replies(h: Pair, host: string, port: number, clients: number): Promise<string[]> {
  return h.net.runAsync(
    Promise.all(
      Array.from(
        { length: clients },
        () =>
          new Promise<string>((resolve, reject) => {
            const socket = h.a.net.connect({ host, port });
            let text = '';
            socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
            socket.on('end', () => resolve(text));
            socket.on('error', reject);
          }),
      ),
    ),
  );
}

describe("Node's net server with reusePort", () => {
  for (const [host, connectTo] of [
    ['10.0.0.2', '10.0.0.2'],
    ['::', 'fd00::2'],
  ]) {
    it(`two servers on ${host}:8000 with reusePort both take connections; one without it is EADDRINUSE`, async () => {
      const h = pair();
      const counts: Record<string, number> = {};
      const one = namedServer(h.b, 'one', counts);
      const two = namedServer(h.b, 'two', counts);
      expect(await listen(h, one, { port: 8000, host, reusePort: true })).toBe(null);
      expect(await listen(h, two, { port: 8000, host, reusePort: true })).toBe(null);
      const plain = namedServer(h.b, 'plain', counts);
      expect((await listen(h, plain, { port: 8000, host }))?.code).toBe('EADDRINUSE');

      const answered = await replies(h, connectTo, 8000, 30);
      expect(answered.length).toBe(30);
      expect(counts.one + counts.two).toBe(30);
      expect(counts.one).toBeGreaterThan(0);
      expect(counts.two).toBeGreaterThan(0);
      expect(counts.plain).toBe(0);

      // Closing one leaves the other taking every connection.
      await h.net.runAsync(new Promise<void>((resolve) => one.close(() => resolve())));
      expect(await replies(h, connectTo, 8000, 10)).toEqual(Array.from({ length: 10 }, () => 'two'));
      await h.net.runAsync(new Promise<void>((resolve) => two.close(() => resolve())));
      for (const stack of [h.a, h.b]) expect(stack.lastInternalError).toBe(null);
    });
  }

  it('a server that did not ask for reusePort keeps its port to itself', async () => {
    const h = pair();
    const counts: Record<string, number> = {};
    const plain = namedServer(h.b, 'plain', counts);
    expect(await listen(h, plain, { port: 8001, host: '10.0.0.2' })).toBe(null);
    const sharing = namedServer(h.b, 'sharing', counts);
    expect((await listen(h, sharing, { port: 8001, host: '10.0.0.2', reusePort: true }))?.code).toBe('EADDRINUSE');
    await h.net.runAsync(new Promise<void>((resolve) => plain.close(() => resolve())));
  });
});

let driver: RealtimeDriver | null = null;
afterEach(() => driver?.stop());

describe('Berkeley sockets with SO_REUSEPORT', () => {
  it('bind and listen pass SO_REUSEPORT to TCP: two listeners share 127.0.0.1:7300 and both accept', async () => {
    const stack = new Stack({ name: 'host', seed: 5 });
    driver = new RealtimeDriver(stack).start();
    const api = new BerkeleySockets(stack);
    const listeners = [0, 1].map(() => {
      const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
      api.setsockopt(fd, C.SOL_SOCKET, C.SO_REUSEPORT, 1);
      api.bind(fd, { address: '127.0.0.1', port: 7300 });
      api.listen(fd, 64);
      api.fcntl(fd, C.F_SETFL, C.O_NONBLOCK);
      return fd;
    });
    const plain = api.socket(C.AF_INET, C.SOCK_STREAM);
    expect(await errnoOf(() => api.bind(plain, { address: '127.0.0.1', port: 7300 }))).toBe('EADDRINUSE');
    const clients = Array.from({ length: 20 }, () => api.socket(C.AF_INET, C.SOCK_STREAM));
    await Promise.all(clients.map((fd) => api.connect(fd, { address: '127.0.0.1', port: 7300 })));
    // connect() returns at the client's ESTABLISHED; the listeners see the final ACKs a moment later.
    const accepted = [0, 0];
    for (let round = 0; round < 100 && accepted[0] + accepted[1] < clients.length; round++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      for (const [index, fd] of listeners.entries()) {
        for (;;) {
          const taken = await api.accept(fd).then(
            (connection) => connection,
            () => null,
          );
          if (!taken) break;
          accepted[index]++;
          api.close(taken.fd);
        }
      }
    }
    expect(accepted[0] + accepted[1]).toBe(20);
    expect(accepted[0]).toBeGreaterThan(0);
    expect(accepted[1]).toBeGreaterThan(0);
    for (const fd of [...clients, ...listeners, plain]) api.close(fd);
  });
});
