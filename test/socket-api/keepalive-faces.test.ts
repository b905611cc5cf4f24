/**
 * Both faces reach keep-alive through the same connection methods (src/tcp/keepalive.ts): the
 * Berkeley API's setsockopt(SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT) and Node's
 * `socket.setKeepAlive(enable, delay)`, which libuv turns into those four options in that
 * order (uv__tcp_keepalive: the delay, 1 s and 10). The same calls at the same virtual times
 * give the same settings and the same deadline.
 */
import { describe, expect, it } from 'vitest';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { TcpConnection } from '../../src/tcp/connection.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** What keep-alive looks like on a connection after a face set it. */
interface KeepaliveSeen {
  readonly enabled: boolean;
  readonly idleMs: number;
  readonly intervalMs: number;
  readonly count: number;
  /** The deadline, as milliseconds after the last segment received. */
  readonly dueAfterLastReceive: number;
  readonly lastReceiveAt: number;
}

/** Node's setKeepAlive arguments, or the Berkeley options libuv would set for them. */
type KeepaliveCall = { readonly enable: boolean; readonly delayMs: number };

function seen(connection: TcpConnection): KeepaliveSeen {
  const k = connection.keepalive;
  return {
    enabled: k.enabled,
    idleMs: k.idleMs,
    intervalMs: k.intervalMs,
    count: k.count,
    dueAfterLastReceive: connection.keepaliveDeadline - connection.lastReceiveAt,
    lastReceiveAt: connection.lastReceiveAt,
  };
}

function sleep(stack: Stack, ms: number): Promise<void> {
  return new Promise((resolve) => stack.schedule(stack.currentTimeForCalls() + ms, resolve));
}

/**
 * A client connects to a listening server, stays quiet `quietMs` after the handshake, then
 * makes `calls` through one face; returns what its connection holds then.
 */
async function keepaliveThrough(face: 'berkeley' | 'node', calls: readonly KeepaliveCall[], quietMs = 2000): Promise<KeepaliveSeen> {
  const network = new VirtualNetwork(5);
  const client = network.createStack('client');
  const server = network.createStack('server');
  network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 5 });
  server.net.createServer(() => {}).listen(80);
  return network.runAsync(async () => {
    if (face === 'node') {
      const socket = client.net.connect(80, '10.0.0.2');
      await new Promise((resolve) => socket.once('connect', resolve));
      await sleep(client, quietMs);
      for (const call of calls) socket.setKeepAlive(call.enable, call.delayMs);
      const result = seen((socket as any).ustackConnection as TcpConnection);
      socket.destroy();
      return result;
    }
    const api = new BerkeleySockets(client);
    const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
    await api.connect(fd, { address: '10.0.0.2', port: 80 });
    await sleep(client, quietMs);
    for (const call of calls) {
      // uv__tcp_keepalive on Linux: SO_KEEPALIVE, then only when on with a delay of 1 s or more
      // TCP_KEEPIDLE, TCP_KEEPINTVL 1, TCP_KEEPCNT 10.
      api.setsockopt(fd, C.SOL_SOCKET, C.SO_KEEPALIVE, call.enable ? 1 : 0);
      const delay = Math.trunc(call.delayMs / 1000);
      if (!call.enable || delay < 1) continue;
      api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_KEEPIDLE, delay);
      api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_KEEPINTVL, 1);
      api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_KEEPCNT, 10);
    }
    const result = seen(api.descriptors().find((d) => d.fd === fd)!.connection!);
    api.close(fd);
    return result;
  });
}

describe('keep-alive through the Berkeley API and through the Node handle', () => {
  it('setKeepAlive(true, 5000) 2 s after the last segment: the same settings, the probe due 5 s after that segment on both', async () => {
    const calls = [{ enable: true, delayMs: 5000 }];
    const berkeley = await keepaliveThrough('berkeley', calls);
    const node = await keepaliveThrough('node', calls);
    expect(node).toEqual(berkeley);
    expect(berkeley).toMatchObject({ enabled: true, idleMs: 5000, intervalMs: 1000, count: 10, dueAfterLastReceive: 5000 });
  });

  it('a new delay while on, after the connection was quiet longer than it: due at once on both (TCP_KEEPIDLE counts from the last segment)', async () => {
    const calls = [
      { enable: true, delayMs: 60_000 },
      { enable: true, delayMs: 3000 },
    ];
    const berkeley = await keepaliveThrough('berkeley', calls, 10_000);
    const node = await keepaliveThrough('node', calls, 10_000);
    expect(node).toEqual(berkeley);
    expect(berkeley).toMatchObject({ enabled: true, idleMs: 3000, dueAfterLastReceive: 10_000 }); // due now: 10 s after it
  });

  it('setKeepAlive(true) without a delay: SO_KEEPALIVE alone, the stack’s idle time from now on both', async () => {
    const calls = [{ enable: true, delayMs: 0 }];
    const berkeley = await keepaliveThrough('berkeley', calls);
    const node = await keepaliveThrough('node', calls);
    expect(node).toEqual(berkeley);
    expect(berkeley).toMatchObject({ enabled: true, idleMs: 7_200_000, intervalMs: 75_000, count: 9, dueAfterLastReceive: 2000 + 7_200_000 });
  });

  it('turned off again: no deadline on either', async () => {
    const calls = [
      { enable: true, delayMs: 5000 },
      { enable: false, delayMs: 0 },
    ];
    const berkeley = await keepaliveThrough('berkeley', calls);
    const node = await keepaliveThrough('node', calls);
    expect(node).toEqual(berkeley);
    expect(berkeley).toMatchObject({ enabled: false, dueAfterLastReceive: Infinity });
  });
});
