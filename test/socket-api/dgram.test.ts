/**
 * ustack's `dgram` against Node's: the same scenarios on Node's own `dgram` over 127.0.0.1, on
 * one ustack stack over loopback in real time, and on two stacks on the virtual network.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { describeError, EventLog, loopbackEnvironment, nodeEnvironment, normalize, once, turn, virtualEnvironment, type Environment } from './node-harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const socketEvents = ['listening', 'connect', 'message', 'error', 'close'] as const;

const environments: Environment[] = [];
afterEach(() => {
  for (const env of environments.splice(0)) {
    env.dispose();
    for (const stack of env.stacks) expect(stack.lastInternalError).toBe(null);
  }
});

async function everywhere<T>(scenario: (env: Environment) => Promise<T>): Promise<{ node: T; loopback: T; virtual: T }> {
  const results: Record<string, T> = {};
  for (const kind of ['node', 'loopback', 'virtual'] as const) {
    const env = kind === 'node' ? nodeEnvironment() : kind === 'loopback' ? loopbackEnvironment(9) : virtualEnvironment(9);
    environments.push(env);
    results[kind] = await env.run(() => scenario(env));
  }
  return results as { node: T; loopback: T; virtual: T };
}

function describeEvent(event: string, args: any[]): string {
  if (event === 'message')
    return `message(${String(args[0])} from ${normalize(`${args[1].address}:${args[1].port}`)} family=${args[1].family} size=${args[1].size})`;
  if (event === 'error') return `error(${describeError(args[0])})`;
  return event;
}

async function bound(env: Environment, socket: any, host: string): Promise<number> {
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return socket.address().port;
}

const attempt = (f: () => unknown) => {
  try {
    return `returned ${JSON.stringify(f())}`;
  } catch (error: any) {
    return `${error.name} ${error.code}: ${normalize(error.message)}`;
  }
};

describe('dgram: the same events as Node', () => {
  it('send binds implicitly: listening, then the callback with the byte count; the peer gets message with rinfo', async () => {
    const scenario = async (env: Environment) => {
      const log = new EventLog();
      const server = env.serverDgram.createSocket('udp4');
      log.watch(server, 'server', socketEvents, describeEvent);
      const port = await bound(env, server, env.serverHost);
      const client = env.clientDgram.createSocket({ type: 'udp4' });
      log.watch(client, 'client', socketEvents, describeEvent);
      const message = once(server, 'message');
      client.send('hello', port, env.serverHost, (error: any, bytes: number) => log.add(`send callback ${error} ${bytes}`));
      log.add('after send()');
      const [, rinfo] = await message;
      const fromClient = rinfo.port === client.address().port;
      server.send(Buffer.from('reply'), rinfo.port, rinfo.address);
      await once(client, 'message');
      const address = normalize(JSON.stringify({ ...client.address(), port: 'N' }));
      client.close(() => log.add('client close callback'));
      server.close();
      await once(server, 'close');
      return { log: log.entries, fromClient, address };
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node.log).toEqual([
      'server listening',
      'after send()',
      'client listening',
      'send callback null 5',
      'server message(hello from HOST:PORT family=IPv4 size=5)',
      'client message(reply from HOST:PORT family=IPv4 size=5)',
      'client close',
      'client close callback',
      'server close',
    ]);
    expect(node.fromClient).toBe(true);
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });

  it('connect and disconnect: connect event, remoteAddress, the errors of the wrong state', async () => {
    const scenario = async (env: Environment) => {
      const log = new EventLog();
      const server = env.serverDgram.createSocket('udp4');
      const port = await bound(env, server, env.serverHost);
      const client = env.clientDgram.createSocket('udp4');
      log.watch(client, 'client', socketEvents, describeEvent);
      log.add(attempt(() => client.remoteAddress()));
      log.add(attempt(() => client.disconnect()));
      client.connect(port, env.serverHost, () => log.add('connect callback'));
      await once(client, 'connect');
      log.add(normalize(JSON.stringify(client.remoteAddress())));
      log.add(attempt(() => client.connect(port, env.serverHost)));
      log.add(attempt(() => client.send('x', port, env.serverHost)));
      const got = once(server, 'message');
      client.send('to the connected peer', (error: any) => log.add(`send callback ${error}`));
      log.add(`server got ${(await got)[0]}`);
      client.disconnect();
      log.add(attempt(() => client.remoteAddress()));
      log.add(attempt(() => client.send('x')));
      client.close();
      server.close();
      await once(client, 'close');
      return log.entries;
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node.slice(0, 5)).toEqual([
      'Error ERR_SOCKET_DGRAM_NOT_CONNECTED: Not connected',
      'Error ERR_SOCKET_DGRAM_NOT_CONNECTED: Not connected',
      'client listening',
      'client connect',
      'connect callback',
    ]);
    // Node reads send('x', port, host) on a connected socket as send(msg, callback=port): no error.
    expect(node.slice(6)).toEqual([
      'Error ERR_SOCKET_DGRAM_IS_CONNECTED: Already connected',
      'returned undefined',
      'send callback null',
      'server got x',
      'Error ERR_SOCKET_DGRAM_NOT_CONNECTED: Not connected',
      'RangeError ERR_SOCKET_BAD_PORT: Port should be > 0 and < 65536. Received undefined.',
      'client close',
    ]);
    const withoutPort = (log: string[]) => log.map((line) => line.replace(/"port":\d+/, '"port":N'));
    expect(withoutPort(loopback)).toEqual(withoutPort(node));
    expect(withoutPort(virtual)).toEqual(withoutPort(node));
  });

  it('EMSGSIZE, EACCES without setBroadcast, and an empty datagram', async () => {
    const scenario = async (env: Environment) => {
      const log = new EventLog();
      const server = env.serverDgram.createSocket('udp4');
      log.watch(server, 'server', ['message', 'error'], describeEvent);
      const port = await bound(env, server, env.serverHost);
      const client = env.clientDgram.createSocket('udp4');
      log.watch(client, 'client', ['error'], describeEvent);
      const send = (label: string, ...args: any[]) =>
        new Promise<void>((resolve) =>
          client.send(...args, (error: any, bytes: number) => {
            log.add(`${label}: ${error ? `${describeError(error)} syscall=${error.syscall} errno=${error.errno} keys=${Object.keys(error)}` : `ok ${bytes}`}`);
            resolve();
          }),
        );
      await send('65507 bytes', Buffer.alloc(65507), port, env.serverHost);
      await send('65508 bytes', Buffer.alloc(65508), port, env.serverHost);
      await send('broadcast', 'x', port, '255.255.255.255');
      await send('empty', Buffer.alloc(0), port, env.serverHost);
      await send('empty list', [], port, env.serverHost);
      await send('offset and length', Buffer.from('0123456789'), 2, 3, port, env.serverHost);
      await send('array', ['ab', Buffer.from('cd'), new Uint8Array([0x65])], port, env.serverHost);
      while (log.entries.filter((line) => line.startsWith('server message')).length < 5) await turn();
      client.close();
      server.close();
      return log.entries.map((line) =>
        line
          .replace(/message\((\0*)/, (_m, zeros: string) => `message(${zeros.length > 10 ? `<${zeros.length} zero bytes>` : zeros}`)
          .replace(/255:\d+/, '255:PORT'),
      );
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node).toContain('65508 bytes: EMSGSIZE: send EMSGSIZE HOST:PORT syscall=send errno=-90 keys=errno,code,syscall,address,port');
    expect(node).toContain('broadcast: EACCES: send EACCES 255.255.255.255:PORT syscall=send errno=-13 keys=errno,code,syscall,address,port');
    expect(node).toContain('server message( from HOST:PORT family=IPv4 size=0)');
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });

  it('a connected socket learns of ICMP port unreachable as an error event "recvmsg ECONNREFUSED"', async () => {
    const scenario = async (env: Environment) => {
      const log = new EventLog();
      const probe = env.serverDgram.createSocket('udp4');
      const port = await bound(env, probe, env.serverHost);
      await new Promise<void>((resolve) => probe.close(resolve));
      const client = env.clientDgram.createSocket('udp4');
      log.watch(client, 'client', socketEvents, describeEvent);
      client.connect(port, env.serverHost, () => client.send('anyone?'));
      const [error] = await once(client, 'error');
      log.add(`fields ${error.errno} ${error.syscall} ${Object.keys(error)}`);
      client.close();
      await once(client, 'close');
      return log.entries;
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node).toEqual([
      'client listening',
      'client connect',
      'client error(ECONNREFUSED: recvmsg ECONNREFUSED)',
      'fields -111 recvmsg errno,code,syscall',
      'client close',
    ]);
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });

  it('bind errors and state errors: EADDRINUSE, already bound, bad port, not running, before binding', async () => {
    const scenario = async (env: Environment) => {
      const log = new EventLog();
      const first = env.serverDgram.createSocket('udp4');
      const port = await bound(env, first, '0.0.0.0');
      const second = env.serverDgram.createSocket('udp4');
      log.add(attempt(() => second.address()));
      log.add(attempt(() => second.setBroadcast(true)));
      log.add(attempt(() => second.setTTL(64)));
      log.add(attempt(() => second.getRecvBufferSize()));
      log.watch(second, 'second', socketEvents, describeEvent);
      second.bind(port);
      const [error] = await once(second, 'error');
      log.add(`fields ${error.errno} ${error.syscall} ${error.address} ${error.port === port} ${Object.keys(error)}`);
      log.add(attempt(() => first.bind(0)));
      log.add(attempt(() => first.setTTL(0)));
      log.add(attempt(() => first.setTTL(64)));
      log.add(attempt(() => first.setRecvBufferSize(10_000)));
      log.add(attempt(() => first.getRecvBufferSize()));
      log.add(attempt(() => first.send('x', 0, '127.0.0.1')));
      log.add(attempt(() => first.send(42, 9, '127.0.0.1')));
      log.add(attempt(() => env.serverDgram.createSocket('udp5')));
      first.close();
      log.add(attempt(() => first.close()));
      log.add(attempt(() => first.address()));
      second.close();
      await once(second, 'close');
      return log.entries.map((line) => line.replace(/:\d+\b/, ':PORT'));
    };
    const { node, loopback, virtual } = await everywhere(scenario);
    expect(node).toEqual([
      'Error EBADF: getsockname EBADF',
      'Error EBADF: setBroadcast EBADF',
      'Error EBADF: setTTL EBADF',
      'SystemError ERR_SOCKET_BUFFER_SIZE: Could not get or set buffer size: uv_recv_buffer_size returned EBADF (bad file descriptor)',
      'second error(EADDRINUSE: bind EADDRINUSE HOST:PORT)',
      'fields -98 bind 0.0.0.0 true errno,code,syscall,address,port',
      'Error ERR_SOCKET_ALREADY_BOUND: Socket is already bound',
      'Error EINVAL: setTTL EINVAL',
      'returned 64',
      'returned undefined',
      'returned 20000',
      'RangeError ERR_SOCKET_BAD_PORT: Port should be > 0 and < 65536. Received type number (0).',
      'TypeError ERR_INVALID_ARG_TYPE: The "buffer" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type number (42)',
      'TypeError ERR_SOCKET_BAD_TYPE: Bad socket type specified. Valid types are: udp4, udp6',
      'Error ERR_SOCKET_DGRAM_NOT_RUNNING: Not running',
      'Error ERR_SOCKET_DGRAM_NOT_RUNNING: Not running',
      'second close',
    ]);
    expect(loopback).toEqual(node);
    expect(virtual).toEqual(node);
  });
});

describe('dgram on the virtual network', () => {
  it('a broadcast needs setBroadcast and reaches a socket bound to the port', async () => {
    const env = virtualEnvironment(12);
    const result = await env.run(async () => {
      const server = env.serverDgram.createSocket({ type: 'udp4', reuseAddr: true });
      await new Promise<void>((resolve) => server.bind(5000, resolve));
      const client = env.clientDgram.createSocket('udp4');
      const refused = await new Promise<any>((resolve) => client.send('hi all', 5000, '10.0.0.255', resolve));
      client.setBroadcast(true);
      const received = once(server, 'message');
      client.send('hi all', 5000, '10.0.0.255');
      const [message, rinfo] = await received;
      client.close();
      server.close();
      return { refused: describeError(refused), message: String(message), from: normalize(rinfo.address) };
    });
    expect(result).toEqual({ refused: 'EACCES: send EACCES 10.0.0.255:5000', message: 'hi all', from: 'HOST' });
  });

  it('multicast: a socket that joined the group gets it; joining twice is EADDRINUSE, leaving a group not joined EADDRNOTAVAIL, a foreign multicast interface EADDRNOTAVAIL, as on Linux', async () => {
    const env = virtualEnvironment(14);
    env.client.addRoute('224.0.0.0/4', { interfaceName: 'eth0' });
    const result = await env.run(async () => {
      const server = env.serverDgram.createSocket({ type: 'udp4', reuseAddr: true });
      await new Promise<void>((resolve) => server.bind(5353, resolve));
      server.addMembership('239.1.2.3');
      const errors = [
        attempt(() => server.addMembership('239.1.2.3')),
        attempt(() => server.dropMembership('239.9.9.9')),
        attempt(() => server.addMembership('10.0.0.1')),
        attempt(() => server.setMulticastInterface('10.9.9.9')),
        attempt(() => server.setMulticastInterface('x')),
        attempt(() => server.setMulticastInterface('0.0.0.0')),
      ];
      const client = env.clientDgram.createSocket('udp4');
      const received = once(server, 'message');
      client.send('to the group', 5353, '239.1.2.3');
      const [message] = await received;
      server.dropMembership('239.1.2.3');
      client.close();
      server.close();
      return { errors, message: String(message) };
    });
    expect(result).toEqual({
      errors: [
        'Error EADDRINUSE: addMembership EADDRINUSE',
        'Error EADDRNOTAVAIL: dropMembership EADDRNOTAVAIL',
        'Error EINVAL: addMembership EINVAL',
        'Error EADDRNOTAVAIL: setMulticastInterface EADDRNOTAVAIL',
        'Error EINVAL: setMulticastInterface EINVAL',
        'returned undefined',
      ],
      message: 'to the group',
    });
    expect(env.server.stats.get('udp.rx.delivered')).toBe(1);
  });

  it('recvBufferSize bounds what waits unread: datagrams beyond it are dropped and counted', async () => {
    const env = virtualEnvironment(13);
    const result = await env.run(async () => {
      const server = env.serverDgram.createSocket({ type: 'udp4', recvBufferSize: 4096 });
      await new Promise<void>((resolve) => server.bind(5001, resolve));
      const size = server.getRecvBufferSize();
      const client = env.clientDgram.createSocket('udp4');
      let received = 0;
      server.on('message', () => received++);
      for (let i = 0; i < 20; i++) client.send(Buffer.alloc(1000), 5001, '10.0.0.2');
      await new Promise<void>((resolve) => client.send('last', 5001, '10.0.0.2', () => resolve()));
      for (let i = 0; i < 10; i++) await turn();
      client.close();
      server.close();
      return { size, received };
    });
    // Linux doubles the size set; each datagram is charged its payload plus overhead.
    expect(result.size).toBe(8192);
    expect(result.received).toBe(8);
    expect(env.server.stats.get('drop.udp.receiveBufferFull')).toBe(13);
  });
});
