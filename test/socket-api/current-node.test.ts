/**
 * What Node 22/24 added to or changed in `net` and `dgram`, which ustack's drop-ins follow on
 * every Node they run on: `blockList` for sockets and servers, `sendBlockList` /
 * `receiveBlockList` and `reusePort` for dgram, `maxConnections = 0` refusing everything, `end()`
 * on a socket that never connected, the `options.host` check, and the autoSelectFamily defaults
 * taken from Node's own (command-line flags included). Each scenario runs on one stack over
 * loopback and on two stacks on the virtual network; when the Node running the tests is 24 or
 * newer, on Node's own modules too, which must give the same result.
 */
import * as nodeNet from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeError, EventLog, loopbackEnvironment, nodeEnvironment, once, turn, virtualEnvironment, type Environment } from './node-harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const nodeMajor = Number(process.versions.node.split('.')[0]);

const environments: Environment[] = [];
afterEach(() => {
  for (const env of environments.splice(0)) {
    env.dispose();
    for (const stack of env.stacks) expect(stack.lastInternalError).toBe(null);
  }
});

/** Runs `scenario` on ustack (loopback, virtual) and, on Node 24+, on Node; all must give `expected`. */
async function expectEverywhere<T>(expected: T, scenario: (env: Environment) => Promise<T>): Promise<void> {
  const kinds = nodeMajor >= 24 ? (['node', 'loopback', 'virtual'] as const) : (['loopback', 'virtual'] as const);
  for (const kind of kinds) {
    const env = kind === 'node' ? nodeEnvironment() : kind === 'loopback' ? loopbackEnvironment(11) : virtualEnvironment(11);
    environments.push(env);
    const result = await env.run(() => scenario(env));
    expect({ kind, result }).toEqual({ kind, result: expected });
  }
}

async function listen(server: any, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return server.address().port;
}

const closed = (server: any) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('net: Node 22+ behaviour', () => {
  it('a socket whose blockList holds the server address fails with ERR_IP_BLOCKED after connectionAttempt, without connecting', async () => {
    await expectEverywhere(['connectionAttempt', 'error(ERR_IP_BLOCKED: IP(HOST) is blocked by net.BlockList)', 'close(true)', 'accepted 0'], async (env) => {
      const log = new EventLog();
      let accepted = 0;
      const server = env.serverNet.createServer(() => accepted++);
      const port = await listen(server, env.serverHost);
      const blockList = new env.clientNet.BlockList();
      blockList.addAddress(env.serverHost);
      const socket = env.clientNet.connect({ port, host: env.serverHost, blockList });
      socket.on('connectionAttempt', () => log.add('connectionAttempt'));
      socket.on('connect', () => log.add('connect'));
      socket.on('error', (error: any) => log.add(`error(${describeError(error)})`));
      const [hadError] = await once(socket, 'close');
      log.add(`close(${hadError})`);
      await closed(server);
      log.add(`accepted ${accepted}`);
      return log.entries;
    });
  });

  it("a server's blockList closes a blocked client's connection unseen and accepts the others", async () => {
    await expectEverywhere(['blocked client: close', 'allowed client: connect', 'connection events 1'], async (env) => {
      const log = new EventLog();
      let connections = 0;
      const blockList = new env.serverNet.BlockList();
      blockList.addAddress(env.clientHost);
      const server = env.serverNet.createServer({ blockList }, (socket: any) => {
        connections++;
        socket.end();
      });
      const port = await listen(server, env.serverHost);
      const blocked = env.clientNet.connect(port, env.serverHost);
      blocked.on('error', () => {});
      blocked.resume();
      await once(blocked, 'close');
      log.add('blocked client: close');
      server.blockList = undefined;
      const allowed = env.clientNet.connect(port, env.serverHost);
      await once(allowed, 'connect');
      log.add('allowed client: connect');
      allowed.resume();
      await once(allowed, 'close');
      await closed(server);
      log.add(`connection events ${connections}`);
      return log.entries;
    });
  });

  it('a blockList option that is not a net.BlockList is ERR_INVALID_ARG_TYPE', async () => {
    await expectEverywhere(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE'], async (env) => {
      const codes: string[] = [];
      const attempt = (f: () => unknown) => {
        try {
          f();
          codes.push('no error');
        } catch (error: any) {
          codes.push(error.code);
        }
      };
      attempt(() => new env.clientNet.Socket({ blockList: ['10.0.0.1'] }));
      attempt(() => env.serverNet.createServer({ blockList: {} }));
      attempt(() => env.clientDgram.createSocket({ type: 'udp4', sendBlockList: 'x' }));
      attempt(() => env.clientDgram.createSocket({ type: 'udp4', receiveBlockList: 1 }));
      return codes;
    });
  });

  it('maxConnections = 0 drops every connection (a drop event with both ends), unset means no limit', async () => {
    await expectEverywhere(['drop local=true remote=true family=IPv4', 'client close', 'connection events 0'], async (env) => {
      const log = new EventLog();
      let connections = 0;
      const server = env.serverNet.createServer(() => connections++);
      server.maxConnections = 0;
      server.on('drop', (data: any) =>
        log.add(
          `drop local=${Boolean(data.localAddress && data.localPort)} remote=${Boolean(data.remoteAddress && data.remotePort)} family=${data.remoteFamily}`,
        ),
      );
      const port = await listen(server, env.serverHost);
      const client = env.clientNet.connect(port, env.serverHost);
      client.on('error', () => {});
      client.resume();
      await once(client, 'close');
      log.add('client close');
      await closed(server);
      log.add(`connection events ${connections}`);
      return log.entries;
    });
  });

  it('end() on a socket that never connected finishes: the callback runs, writable is false', async () => {
    await expectEverywhere(['end callback writable=false', 'finish'], async (env) => {
      const log = new EventLog();
      const socket = new env.clientNet.Socket();
      socket.on('finish', () => log.add('finish'));
      socket.end(() => log.add(`end callback writable=${socket.writable}`));
      for (let i = 0; i < 5; i++) await turn();
      socket.destroy();
      return log.entries;
    });
  });

  it('options.host must be a string without null bytes', async () => {
    await expectEverywhere(
      [
        'TypeError ERR_INVALID_ARG_TYPE: The "options.host" property must be of type string. Received an instance of Array',
        'TypeError ERR_INVALID_ARG_TYPE: The "options.host" property must be of type string. Received type number (5)',
        "TypeError ERR_INVALID_ARG_VALUE: The property 'options.host' must be a string without null bytes. Received 'a\\x00b'",
      ],
      async (env) =>
        [['192.168.0.1'], 5, 'a\u0000b'].map((host) => {
          try {
            env.clientNet.createConnection({ host, port: 8080 }).destroy();
            return 'no error';
          } catch (error: any) {
            return `${error.name} ${error.code}: ${error.message}`;
          }
        }),
    );
  });

  it("the autoSelectFamily defaults start as Node's own (which command-line flags set)", async () => {
    await expectEverywhere([nodeNet.getDefaultAutoSelectFamily(), nodeNet.getDefaultAutoSelectFamilyAttemptTimeout()], async (env) => [
      env.clientNet.getDefaultAutoSelectFamily(),
      env.clientNet.getDefaultAutoSelectFamilyAttemptTimeout(),
    ]);
  });
});

describe('dgram: Node 22+ behaviour', () => {
  it('sendBlockList: send and connect to a blocked address fail with ERR_IP_BLOCKED, nothing is sent', async () => {
    await expectEverywhere(
      [
        'send callback ERR_IP_BLOCKED: IP(HOST) is blocked by net.BlockList',
        'connect callback ERR_IP_BLOCKED: IP(HOST) is blocked by net.BlockList',
        'received 0',
      ],
      async (env) => {
        const log = new EventLog();
        let received = 0;
        const server = env.serverDgram.createSocket('udp4', () => received++);
        await new Promise<void>((resolve) => server.bind(0, env.serverHost, resolve));
        const port = server.address().port;
        const blockList = new env.clientNet.BlockList();
        blockList.addAddress(env.serverHost);
        const sender = env.clientDgram.createSocket({ type: 'udp4', sendBlockList: blockList });
        await new Promise<void>((resolve) =>
          sender.send('hello', port, env.serverHost, (error: any) => resolve(log.add(`send callback ${describeError(error)}`))),
        );
        const connector = env.clientDgram.createSocket({ type: 'udp4', sendBlockList: blockList });
        await new Promise<void>((resolve) =>
          connector.connect(port, env.serverHost, (error: any) => resolve(log.add(`connect callback ${describeError(error)}`))),
        );
        for (let i = 0; i < 5; i++) await turn();
        log.add(`received ${received}`);
        sender.close();
        connector.close();
        server.close();
        await once(server, 'close');
        return log.entries;
      },
    );
  });

  it('receiveBlockList: datagrams from a blocked sender are dropped, the others delivered', async () => {
    await expectEverywhere(['message second from allowed'], async (env) => {
      const log = new EventLog();
      const blockList = new env.serverNet.BlockList();
      const server = env.serverDgram.createSocket({ type: 'udp4', receiveBlockList: blockList });
      server.on('message', (message: Buffer, rinfo: any) => log.add(`message ${message} from ${rinfo.port === allowedPort ? 'allowed' : 'blocked'}`));
      await new Promise<void>((resolve) => server.bind(0, env.serverHost, resolve));
      const port = server.address().port;
      const blocked = env.clientDgram.createSocket('udp4');
      const allowed = env.clientDgram.createSocket('udp4');
      await new Promise<void>((resolve) => blocked.bind(0, env.clientHost, resolve));
      await new Promise<void>((resolve) => allowed.bind(0, env.clientHost, resolve));
      const allowedPort = allowed.address().port;
      blockList.addSubnet(env.clientHost, 32);
      // The list is consulted per datagram; take the block off for the second one only.
      const check = blockList.check.bind(blockList);
      let calls = 0;
      blockList.check = (...args: any[]) => (calls++ === 0 ? check(...args) : false);
      await new Promise<void>((resolve) => blocked.send('first', port, env.serverHost, () => resolve()));
      for (let i = 0; i < 5; i++) await turn();
      const delivered = once(server, 'message');
      allowed.send('second', port, env.serverHost);
      await delivered;
      blocked.close();
      allowed.close();
      server.close();
      await once(server, 'close');
      return log.entries;
    });
  });

  it('reusePort: sockets that all set it share a port; without it the second bind is EADDRINUSE', async () => {
    await expectEverywhere(['reusePort: both bound', 'plain: EADDRINUSE'], async (env) => {
      const log = new EventLog();
      const first = env.serverDgram.createSocket({ type: 'udp4', reusePort: true });
      const second = env.serverDgram.createSocket({ type: 'udp4', reusePort: true });
      await new Promise<void>((resolve) => first.bind(0, env.serverHost, resolve));
      await new Promise<void>((resolve) => second.bind(first.address().port, env.serverHost, resolve));
      log.add(`reusePort: ${second.address().port === first.address().port ? 'both bound' : 'different ports'}`);
      const plain = env.serverDgram.createSocket({ type: 'udp4' });
      const [error] = await new Promise<any[]>((resolve) => {
        plain.once('error', (e: any) => resolve([e]));
        plain.bind(first.address().port, env.serverHost, () => resolve([null]));
      });
      log.add(`plain: ${error?.code ?? 'bound'}`);
      for (const socket of [first, second, plain]) socket.close();
      return log.entries;
    });
  });
});

describe('net: setNoDelay as Node 24 tests it (test-net-socket-setnodelay runs on fake libuv handles, so it is ours here)', () => {
  it('no argument means true; any value is taken for its truthiness; a value set before connect applies at connect; it returns the socket', async () => {
    const env = virtualEnvironment(12);
    environments.push(env);
    const result = await env.run(async () => {
      const seen: unknown[] = [];
      const server = env.serverNet.createServer((socket: any) => socket.resume());
      const port = await listen(server, env.serverHost);
      const socket = new env.clientNet.Socket();
      seen.push(socket.setNoDelay('') === socket);
      socket.setNoDelay({});
      socket.connect(port, env.serverHost);
      await once(socket, 'connect');
      const option = () => socket.ustackConnection.options.noDelay;
      seen.push(option());
      for (const value of [0, '', false]) seen.push(socket.setNoDelay(value) && option());
      for (const value of ['true', 1, []]) seen.push(socket.setNoDelay(value) && option());
      socket.setNoDelay(false);
      socket.setNoDelay();
      seen.push(option());
      socket.destroy();
      await closed(server);
      return seen;
    });
    expect(result).toEqual([true, true, false, false, false, true, true, true, true]);
  });
});
