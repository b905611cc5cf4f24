import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { echoClient, startEchoServer } from '../../examples/tcp-echo.js';
import { startTcpUpperServer, tcpUpperClient } from '../../examples/tcp-upper.js';
import { Rng } from '../../src/core/rng.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';

let driver: RealtimeDriver | null = null;
afterEach(() => driver?.stop());
function host(): BerkeleySockets {
  const stack = new Stack({ name: 'echo', seed: 3 });
  driver = new RealtimeDriver(stack).start();
  return new BerkeleySockets(stack);
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('the echo and upper-casing TCP programs of the seed notes', () => {
  it('single connection: the server serves one client and stops', async () => {
    const api = host();
    const server = startEchoServer(api, 'single');
    const message = new Rng(1).bytes(100_000);
    expect(sha(await echoClient(api, '127.0.0.1', message))).toBe(sha(message));
    await server.stopped;
  });

  it('many connections in turn', async () => {
    const api = host();
    const server = startEchoServer(api, 'sequential');
    for (let i = 0; i < 5; i++) {
      const message = new TextEncoder().encode(`message ${i}`);
      expect(await echoClient(api, '127.0.0.1', message)).toEqual(message);
    }
    api.close(server.fd);
    await server.stopped;
  });

  it('many connections at once on one event loop', async () => {
    const api = host();
    const server = startEchoServer(api, 'concurrent');
    const messages = Array.from({ length: 20 }, (_, i) => new Rng(i + 10).bytes(5000 + i));
    const replies = await Promise.all(messages.map((m) => echoClient(api, '127.0.0.1', m)));
    replies.forEach((reply, i) => expect(sha(reply)).toBe(sha(messages[i])));
    api.close(server.fd);
    await server.stopped;
  });

  it('the upper-casing server gives each client its own connection socket', async () => {
    const api = host();
    const server = startTcpUpperServer(api);
    const replies = await Promise.all(['one', 'two', 'three'].map((s) => tcpUpperClient(api, '127.0.0.1', `sentence ${s}`)));
    expect(replies).toEqual(['SENTENCE ONE', 'SENTENCE TWO', 'SENTENCE THREE']);
    api.close(server.fd);
    await server.stopped;
  });
});
