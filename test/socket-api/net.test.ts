/**
 * ustack's `net` against Node's: each scenario runs on Node's own `net` over 127.0.0.1, on one
 * ustack stack over loopback in real time, and on two ustack stacks on the virtual network in
 * virtual time; the per-socket event sequences must match Node's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  closedPort,
  describeError,
  EventLog,
  loopbackEnvironment,
  nodeEnvironment,
  normalize,
  once,
  turn,
  virtualEnvironment,
  type Environment,
} from './node-harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const socketEvents = ['connect', 'ready', 'lookup', 'data', 'end', 'finish', 'timeout', 'error', 'close'] as const;

const environments: Environment[] = [];
afterEach(() => {
  for (const env of environments.splice(0)) {
    env.dispose();
    for (const stack of env.stacks) expect(stack.lastInternalError).toBe(null);
  }
});

function make(kind: 'node' | 'loopback' | 'virtual'): Environment {
  const env = kind === 'node' ? nodeEnvironment() : kind === 'loopback' ? loopbackEnvironment(7) : virtualEnvironment(7);
  environments.push(env);
  return env;
}

async function listen(env: Environment, server: any, host = env.serverHost): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return server.address().port;
}

/** Runs `scenario` in all three environments and returns their results, Node's first. */
async function everywhere<T>(scenario: (env: Environment) => Promise<T>): Promise<{ node: T; loopback: T; virtual: T }> {
  const results: Record<string, T> = {};
  for (const kind of ['node', 'loopback', 'virtual'] as const) {
    const env = make(kind);
    results[kind] = await env.run(() => scenario(env));
  }
  return results as { node: T; loopback: T; virtual: T };
}

/** An echo exchange; each socket's events logged separately (their interleaving is timing). */
async function echoScenario(env: Environment) {
  const client = new EventLog();
  const accepted = new EventLog();
  const server = new EventLog();
  let serverBytes = '';
  const srv = env.serverNet.createServer((socket: any) => {
    server.add('connection');
    accepted.watch(socket, 'socket', socketEvents);
    socket.on('data', (data: Buffer) => socket.write(data));
    socket.on('close', () => (serverBytes = `read ${socket.bytesRead} wrote ${socket.bytesWritten}`));
  });
  server.watch(srv, 'server', ['listening', 'close']);
  const port = await listen(env, srv);
  const socket = env.clientNet.connect(port, env.serverHost, () => client.add('connect callback'));
  client.add(`after connect(): connecting=${socket.connecting} pending=${socket.pending} readyState=${socket.readyState}`);
  client.watch(socket, 'client', socketEvents);
  socket.on('ready', () => {
    client.add(`ready: readyState=${socket.readyState} remote=${normalize(`${socket.remoteAddress}:${socket.remotePort}`)} family=${socket.remoteFamily}`);
    socket.end('hello');
  });
  await once(socket, 'close');
  client.add(`bytes read ${socket.bytesRead} written ${socket.bytesWritten} readyState=${socket.readyState}`);
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return { client: client.entries, accepted: accepted.entries, server: server.entries, serverBytes };
}

describe('net: the same events as Node', () => {
  it('echo: connect before ready, data, end before close(false); listening, connection and close on the server', async () => {
    const { node, loopback, virtual } = await everywhere(echoScenario);
    expect(node.client).toEqual([
      'after connect(): connecting=true pending=true readyState=opening',
      'connect callback',
      'client connect',
      'client ready',
      'ready: readyState=open remote=HOST:PORT family=IPv4',
      'client finish',
      'client data(hello)',
      'client end',
      'client close(false)',
      'bytes read 5 written 5 readyState=closed',
    ]);
    for (const result of [loopback, virtual]) {
      expect(result.client).toEqual(node.client);
      expect(result.accepted).toEqual(node.accepted);
      expect(result.server).toEqual(node.server);
      expect(result.serverBytes).toEqual(node.serverBytes);
    }
  });

  it('allowHalfOpen: false (default) ends our side when the peer ends; allowHalfOpen: true keeps it writable', async () => {
    const scenario = async (env: Environment) => {
      const logs: Record<string, string[]> = {};
      for (const allowHalfOpen of [false, true]) {
        const client = new EventLog();
        const accepted = new EventLog();
        const srv = env.serverNet.createServer({ allowHalfOpen }, (socket: any) => {
          accepted.watch(socket, 'socket', socketEvents);
          socket.on('end', () => {
            accepted.add(`on end: writable=${socket.writable} readyState=${socket.readyState}`);
            socket.write('reply after your FIN', () => accepted.add('reply written'));
            if (allowHalfOpen) setImmediate(() => socket.end(', and goodbye'));
          });
        });
        const port = await listen(env, srv);
        const socket = env.clientNet.connect({ port, host: env.serverHost, allowHalfOpen: true });
        // Data may arrive in one piece or two: log what arrived in all.
        client.watch(
          socket,
          'client',
          socketEvents.filter((event) => event !== 'data'),
        );
        let text = '';
        socket.on('data', (data: Buffer) => (text += data));
        socket.on('end', () => client.add(`client received "${text}"`));
        socket.on('connect', () => socket.end());
        await once(socket, 'close');
        await new Promise<void>((resolve) => srv.close(() => resolve()));
        for (let i = 0; i < 3; i++) await turn();
        logs[`allowHalfOpen=${allowHalfOpen}`] = [...client.entries, ...accepted.entries];
      }
      return logs;
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node['allowHalfOpen=false']).toContain('client received "reply after your FIN"');
    expect(node['allowHalfOpen=true']).toContain('client received "reply after your FIN, and goodbye"');
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });

  it('writing after the peer ended, without allowHalfOpen, fails with EPIPE "ended by the other party"', async () => {
    const scenario = async (env: Environment) => {
      const accepted = new EventLog();
      const done = new Promise<void>((resolve) => {
        const srv = env.serverNet.createServer((socket: any) => {
          accepted.watch(socket, 'socket', ['end', 'finish', 'error', 'close']);
          socket.on('end', () =>
            setImmediate(() => {
              const result = socket.write('too late', (error: any) => accepted.add(`write callback ${describeError(error)}`));
              accepted.add(`write returned ${result}`);
            }),
          );
          socket.on('close', () => srv.close(() => resolve()));
        });
        listen(env, srv).then((port) => {
          const client = env.clientNet.connect(port, env.serverHost, () => client.end());
          client.resume();
        });
      });
      await done;
      return accepted.entries;
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    // By then the socket has ended both ways and is destroyed: the error goes to the callback.
    expect(node).toEqual([
      'socket end',
      'socket finish',
      'write returned false',
      'write callback EPIPE: This socket has been ended by the other party',
      'socket close(false)',
    ]);
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });

  it('a refused connection: error with code, errno, syscall, address, port, then close(true)', async () => {
    const scenario = async (env: Environment) => {
      const port = await closedPort(env);
      const log = new EventLog();
      const socket = env.clientNet.connect(port, env.serverHost);
      log.watch(socket, 'client', socketEvents);
      const [error] = await once(socket, 'error');
      await once(socket, 'close');
      return {
        log: log.entries,
        fields: {
          code: error.code,
          errno: error.errno,
          syscall: error.syscall,
          address: error.address,
          port: error.port === port,
          message: normalize(error.message),
        },
        keys: Object.keys(error),
      };
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node.fields).toEqual({
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
      address: '127.0.0.1',
      port: true,
      message: 'connect ECONNREFUSED HOST:PORT',
    });
    expect(loopback).toEqual(node);
    expect({ ...virtual, fields: { ...virtual.fields, address: '127.0.0.1' } }).toEqual(node);
  });

  it('a RST from the peer (resetAndDestroy) is "read ECONNRESET" on the other side', async () => {
    const scenario = async (env: Environment) => {
      const client = new EventLog();
      const accepted = new EventLog();
      const srv = env.serverNet.createServer((socket: any) => {
        accepted.watch(socket, 'socket', socketEvents);
        socket.once('data', () => socket.resetAndDestroy());
      });
      const port = await listen(env, srv);
      const socket = env.clientNet.connect(port, env.serverHost, () => socket.write('provoke'));
      client.watch(socket, 'client', socketEvents);
      const [error] = await once(socket, 'error');
      await once(socket, 'close');
      await new Promise<void>((resolve) => srv.close(() => resolve()));
      return { client: client.entries, accepted: accepted.entries, fields: { errno: error.errno, syscall: error.syscall, keys: Object.keys(error) } };
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node.client).toContain('client error(ECONNRESET: read ECONNRESET)');
    expect(node.fields).toEqual({ errno: -104, syscall: 'read', keys: ['errno', 'code', 'syscall'] });
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });

  it('listen on a port in use: "listen EADDRINUSE: address already in use"', async () => {
    const scenario = async (env: Environment) => {
      const first = env.serverNet.createServer();
      const port = await listen(env, first);
      const second = env.serverNet.createServer();
      const log = new EventLog().watch(second, 'second', ['listening', 'error', 'close']);
      second.listen(port, env.serverHost);
      const [error] = await once(second, 'error');
      const fields = {
        code: error.code,
        errno: error.errno,
        syscall: error.syscall,
        address: normalize(error.address),
        port: error.port === port,
        listening: second.listening,
      };
      await new Promise<void>((resolve) => first.close(() => resolve()));
      return { log: log.entries, fields, keys: Object.keys(error) };
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node.log).toEqual(['second error(EADDRINUSE: listen EADDRINUSE: address already in use HOST:PORT)']);
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });

  it('backpressure: write() returns false once the buffers are full, drain follows, every byte arrives', async () => {
    const total = 16 * 1024 * 1024;
    const scenario = async (env: Environment) => {
      let received = 0;
      let readerStarted = false;
      const srv = env.serverNet.createServer({ pauseOnConnect: true }, (socket: any) => {
        // The reader starts late, so the sender's buffers fill and writes must wait.
        const startReader = () => {
          readerStarted = true;
          socket.on('data', (data: Buffer) => (received += data.length));
          socket.resume();
        };
        // 50 ms in the environment's own time: in virtual time a real timer races the stack's
        // speed (zero-window probes back off until the 600 s limit if it fires too late).
        const server = env.stacks[env.stacks.length - 1];
        if (env.name === 'virtual') server.schedule(server.currentTimeForCalls() + 50, startReader);
        else setTimeout(startReader, 50);
      });
      const port = await listen(env, srv);
      const socket = env.clientNet.connect(port, env.serverHost);
      await once(socket, 'connect');
      const chunk = Buffer.alloc(16 * 1024, 7);
      let falses = 0;
      let drains = 0;
      let firstFalseBeforeReader = false;
      for (let sent = 0; sent < total; sent += chunk.length) {
        if (!socket.write(chunk)) {
          if (falses === 0) firstFalseBeforeReader = !readerStarted;
          falses++;
          await once(socket, 'drain');
          drains++;
        }
      }
      socket.end();
      await once(socket, 'close');
      await new Promise<void>((resolve) => srv.close(() => resolve()));
      return { waited: falses > 0 && drains === falses, firstFalseBeforeReader, received, bytesWritten: socket.bytesWritten };
    };
    const expected = { waited: true, firstFalseBeforeReader: true, received: total, bytesWritten: total };
    expect(await make('node').run(() => scenario(environments[environments.length - 1]))).toEqual(expected);
    expect(await make('loopback').run(() => scenario(environments[environments.length - 1]))).toEqual(expected);
    expect(await make('virtual').run(() => scenario(environments[environments.length - 1]))).toEqual(expected);
  });

  it('setTimeout: timeout after that long without activity, and the socket stays open', async () => {
    const scenario = async (env: Environment) => {
      const srv = env.serverNet.createServer();
      const port = await listen(env, srv);
      const log = new EventLog();
      const socket = env.clientNet.connect(port, env.serverHost);
      log.watch(socket, 'client', ['connect', 'timeout', 'close']);
      socket.setTimeout(30, () => {
        log.add(`timeout callback: destroyed=${socket.destroyed} timeout=${socket.timeout}`);
        socket.destroy();
      });
      await once(socket, 'close');
      srv.close();
      return log.entries;
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node).toEqual(['client connect', 'client timeout', 'timeout callback: destroyed=false timeout=30', 'client close(false)']);
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });

  it('server.close(): stops listening at once, close only after the last connection, getConnections counts', async () => {
    const scenario = async (env: Environment) => {
      const log = new EventLog();
      let accepted: any;
      const srv = env.serverNet.createServer((socket: any) => (accepted = socket));
      log.watch(srv, 'server', ['listening', 'close', 'error']);
      const port = await listen(env, srv);
      const socket = env.clientNet.connect(port, env.serverHost);
      socket.resume();
      await once(srv, 'connection');
      const count = await new Promise((resolve) => srv.getConnections((_error: any, n: number) => resolve(n)));
      log.add(`connections ${count}`);
      srv.close((error: any) => log.add(`close callback ${error ?? 'ok'}`));
      log.add(`after close(): listening=${srv.listening} address=${srv.address()}`);
      await turn();
      await turn();
      log.add('connection still open');
      accepted.end();
      await once(srv, 'close');
      const notRunning = await new Promise<any>((resolve) => srv.close(resolve));
      log.add(`second close: ${describeError(notRunning)}`);
      return log.entries;
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node).toEqual([
      'server listening',
      'connections 1',
      'after close(): listening=false address=null',
      'connection still open',
      'server close',
      'close callback ok',
      'server close',
      'second close: ERR_SERVER_NOT_RUNNING: Server is not running.',
    ]);
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });

  it('address(), localAddress/localPort and remoteAddress/remotePort agree on both ends', async () => {
    const scenario = async (env: Environment) => {
      let accepted: any;
      const srv = env.serverNet.createServer((socket: any) => (accepted = socket));
      const port = await listen(env, srv, '0.0.0.0');
      const socket = env.clientNet.connect({ port, host: env.serverHost });
      await once(socket, 'connect');
      while (!accepted) await turn();
      const result = {
        server: { ...srv.address(), port: srv.address().port === port },
        clientLocal: socket.localPort === accepted.remotePort && socket.localAddress === accepted.remoteAddress,
        clientRemote: socket.remotePort === port && socket.remoteAddress === accepted.localAddress,
        family: [socket.remoteFamily, accepted.remoteFamily, socket.address().family],
        addressKeys: Object.keys(socket.address()),
        beforeConnect: (() => {
          const fresh = new env.clientNet.Socket();
          return { address: fresh.address(), remote: fresh.remoteAddress, pending: fresh.pending, readyState: fresh.readyState };
        })(),
      };
      socket.destroy();
      srv.close();
      return result;
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node.server).toEqual({ address: '0.0.0.0', family: 'IPv4', port: true });
    expect(node.clientLocal && node.clientRemote).toBe(true);
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });

  it("argument errors are Node's (bad port, missing port, already listening)", async () => {
    const scenario = async (env: Environment) => {
      const attempt = (f: () => unknown) => {
        try {
          f();
          return 'no error';
        } catch (error: any) {
          return `${error.name} ${error.code}: ${error.message}`;
        }
      };
      const srv = env.serverNet.createServer();
      const port = await listen(env, srv);
      const result = [
        attempt(() => env.clientNet.connect(70000, env.serverHost)),
        attempt(() => env.clientNet.connect({ host: env.serverHost })),
        attempt(() => env.clientNet.connect({ port: true })),
        attempt(() => env.serverNet.createServer().listen(-1)),
        attempt(() => srv.listen(port)),
        attempt(() => env.clientNet.connect({ port, localAddress: 'nope' })),
      ];
      srv.close();
      return result.map(normalize);
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node[0]).toBe('RangeError ERR_SOCKET_BAD_PORT: Port should be >= 0 and < 65536. Received type number (70000).');
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });
});

describe('net on the virtual network', () => {
  it("listen without a host binds 0.0.0.0, and a second listener there gets EADDRINUSE with Node's message", async () => {
    const env = virtualEnvironment(8);
    const result = await env.run(async () => {
      const first = env.serverNet.createServer().listen(80);
      await once(first, 'listening');
      const second = env.serverNet.createServer().listen(80);
      const [error] = await once(second, 'error');
      const address = first.address();
      first.close();
      return { address, message: error.message, fields: [error.code, error.errno, error.syscall, error.address, error.port] };
    });
    expect(result).toEqual({
      address: { address: '0.0.0.0', family: 'IPv4', port: 80 },
      message: 'listen EADDRINUSE: address already in use 0.0.0.0:80',
      fields: ['EADDRINUSE', -98, 'listen', '0.0.0.0', 80],
    });
  });

  it('setTimeout fires exactly that long (virtual ms) after the last activity', async () => {
    const env = virtualEnvironment(3, 5);
    const srv = env.serverNet.createServer((socket: any) => socket.on('data', () => {}));
    const times: number[] = [];
    await env.run(async () => {
      await new Promise<void>((resolve) => srv.listen(80, resolve));
      const socket = env.clientNet.connect(80, '10.0.0.2');
      socket.setTimeout(1000);
      await once(socket, 'connect');
      const connectedAt = env.network.now;
      socket.write('x');
      const wroteAt = env.network.now;
      await once(socket, 'timeout');
      times.push(connectedAt, wroteAt, env.network.now);
      socket.destroy();
      srv.close();
    });
    expect(times[2] - times[1]).toBe(1000);
    expect(times[1]).toBe(times[0]);
  });

  it('connect to an address where nothing answers: connect ETIMEDOUT after the SYN retries', async () => {
    const env = virtualEnvironment(5, 1);
    const result = await env.run(async () => {
      const socket = env.clientNet.connect(80, '10.0.0.3');
      const log = new EventLog().watch(socket, 'client', socketEvents);
      const [error] = await once(socket, 'error');
      await once(socket, 'close');
      return {
        log: log.entries,
        fields: { code: error.code, errno: error.errno, syscall: error.syscall, address: error.address, port: error.port },
        at: env.network.now,
      };
    });
    expect(result.log).toEqual(['client error(ETIMEDOUT: connect ETIMEDOUT 10.0.0.3:80)', 'client close(true)']);
    expect(result.fields).toEqual({ code: 'ETIMEDOUT', errno: -110, syscall: 'connect', address: '10.0.0.3', port: 80 });
    // Linux: 6 SYN retransmissions, 1 s doubling to 64 s: 127 s.
    expect(result.at).toBeGreaterThanOrEqual(127_000);
  });

  it('a host name is looked up: localhost works, others fail with getaddrinfo ENOTFOUND, a lookup option resolves', async () => {
    const env = virtualEnvironment(2);
    const result = await env.run(async () => {
      const srv = env.serverNet.createServer((socket: any) => socket.end('hi'));
      await new Promise<void>((resolve) => srv.listen(80, resolve));
      const unknown = env.clientNet.connect(80, 'server.example');
      const log = new EventLog().watch(unknown, 'unknown', ['lookup', 'error', 'close'], (event, args) =>
        event === 'lookup'
          ? `lookup(${args[0]?.code ?? null}, ${args[1]}, ${args[2]}, ${args[3]})`
          : event === 'error'
            ? `error(${describeError(args[0])})`
            : event,
      );
      await once(unknown, 'close');
      const named = env.clientNet.connect({
        port: 80,
        host: 'server.example',
        lookup: (host: string, options: any, callback: any) => {
          log.add(`lookup called for ${host} all=${options.all}`);
          setImmediate(() => callback(null, [{ address: '10.0.0.2', family: 4 }]));
        },
      });
      log.watch(named, 'named', ['lookup', 'connect', 'data'], (event, args) =>
        event === 'lookup' ? `lookup(${args[1]})` : event === 'data' ? `data(${args[0]})` : event,
      );
      await once(named, 'end');
      srv.close();
      return log.entries;
    });
    expect(result).toEqual([
      'unknown lookup(ENOTFOUND, undefined, undefined, server.example)',
      'unknown error(ENOTFOUND: getaddrinfo ENOTFOUND server.example)',
      'unknown close',
      'lookup called for server.example all=true',
      'named lookup(10.0.0.2)',
      'named connect',
      'named data(hi)',
    ]);
  });

  it('maxConnections: connections beyond it are dropped with a drop event', async () => {
    const env = virtualEnvironment(4);
    const result = await env.run(async () => {
      const log = new EventLog();
      const srv = env.serverNet.createServer((socket: any) => socket.resume());
      srv.maxConnections = 1;
      srv.on('drop', (data: any) => log.add(`drop from ${data.remoteAddress} to port ${data.localPort}`));
      await new Promise<void>((resolve) => srv.listen(80, resolve));
      const first = env.clientNet.connect(80, '10.0.0.2');
      await once(first, 'connect');
      const second = env.clientNet.connect(80, '10.0.0.2');
      second.on('end', () => log.add('second ended by the server'));
      second.resume();
      await once(second, 'close');
      first.destroy();
      srv.close();
      return log.entries;
    });
    expect(result).toEqual(['drop from 10.0.0.1 to port 80', 'second ended by the server']);
  });

  it('setNoDelay and setKeepAlive reach the TCP connection; keepalive probes find a dead peer (read ETIMEDOUT)', async () => {
    const env = virtualEnvironment(6);
    const result = await env.network.runAsync(
      async () => {
        const srv = env.serverNet.createServer((socket: any) => socket.resume());
        await new Promise<void>((resolve) => srv.listen(80, resolve));
        const socket = env.clientNet.connect({ port: 80, host: '10.0.0.2', noDelay: true, keepAlive: true, keepAliveInitialDelay: 10_000 });
        await once(socket, 'connect');
        const connection = socket.ustackConnection;
        const keepalive = connection.keepalive;
        const options = {
          noDelay: connection.options.noDelay,
          keepalive: keepalive.enabled,
          idle: keepalive.idleMs,
          interval: keepalive.intervalMs,
          count: keepalive.count,
        };
        // The server's stack vanishes: no more answers.
        env.network.stacks.splice(env.network.stacks.indexOf(env.server), 1);
        const [error] = await once(socket, 'error');
        return { options, error: describeError(error), at: env.network.now };
      },
      { limitMs: 2_000_000 },
    );
    // libuv's uv__tcp_keepalive: TCP_KEEPIDLE the delay, TCP_KEEPINTVL 1 s, TCP_KEEPCNT 10.
    expect(result.options).toEqual({ noDelay: true, keepalive: true, idle: 10_000, interval: 1000, count: 10 });
    expect(result.error).toBe('ETIMEDOUT: read ETIMEDOUT');
  });

  it('the same seed gives the same run, event for event and millisecond for millisecond', async () => {
    const run = async () => {
      const env = virtualEnvironment(11, 3);
      const log: string[] = [];
      await env.run(async () => {
        const srv = env.serverNet.createServer((socket: any) => socket.pipe(socket));
        await new Promise<void>((resolve) => srv.listen(7, resolve));
        const socket = env.clientNet.connect(7, '10.0.0.2');
        socket.on('data', (data: Buffer) => log.push(`${env.network.now} data ${data.length}`));
        socket.write(Buffer.alloc(100_000, 1));
        socket.end();
        await once(socket, 'close');
        log.push(`${env.network.now} close port ${socket.localPort ?? 'gone'}`);
        srv.close();
      });
      return log;
    };
    const first = await run();
    expect(first.length).toBeGreaterThan(2);
    expect(await run()).toEqual(first);
  });
});
