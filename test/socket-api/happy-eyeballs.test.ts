/**
 * `net.connect` with `autoSelectFamily` (RFC 8305 "Happy Eyeballs v2", as Node's
 * lookupAndConnectMultiple and internalConnectMultiple do it), in virtual time: every address
 * of the answer, the families alternating and the first answer's family first (§4); one
 * attempt at a time, abandoned after the Connection Attempt Delay (Node's
 * autoSelectFamilyAttemptTimeout, 250 ms by default, §5) or at once when it fails; the first to
 * complete wins; all failing gives an AggregateError.
 */
import { describe, expect, it } from 'vitest';
import type { LookupFunction } from '../../src/socket-api/node-support.js';
import type { NetSocket } from '../../src/socket-api/net-socket.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

/** A client and a server with both families on one wire (1 ms each way). */
function pair() {
  const net = new VirtualNetwork(31);
  const a = net.createStack('client');
  const b = net.createStack('server');
  net.connect({ stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64' }, { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' }, { latencyMs: 1 });
  return { net, a, b };
}

/** A resolver answering `name` with `addresses`, in this order (as getaddrinfo sorts them). */
function answering(addresses: string[]): LookupFunction {
  return ((_hostname: string, _options: unknown, callback: (error: Error | null, answer: Array<{ address: string; family: number }>) => void) =>
    setImmediate(() =>
      callback(
        null,
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      ),
    )) as unknown as LookupFunction;
}

/** Connects to `name` with autoSelectFamily, recording the events and when (virtual ms) they came. */
async function race(addresses: string[], options: { port?: number; attemptTimeout?: number } = {}) {
  const { net, a, b } = pair();
  const server = b.net.createServer((socket: NetSocket) => socket.end());
  await net.runAsync(new Promise<void>((resolve) => server.listen(8000, '::', resolve)));
  const start = net.now;
  const events: string[] = [];
  const at = () => `@${Math.round(net.now - start)}`;
  const socket = a.net.connect({
    host: 'example.test',
    port: options.port ?? 8000,
    autoSelectFamily: true,
    autoSelectFamilyAttemptTimeout: options.attemptTimeout,
    lookup: answering(addresses),
  });
  for (const event of ['connectionAttempt', 'connectionAttemptFailed', 'connectionAttemptTimeout'])
    socket.on(event, (address: string, port: number, family: number, error?: NodeJS.ErrnoException) =>
      events.push(`${event} ${address} ${family}${error ? ` ${error.code}` : ''} ${at()}`),
    );
  const outcome = await net.runAsync(
    new Promise<{ error?: Error & { code?: string; errors?: Array<{ code: string; address: string }> }; remote?: string }>((resolve) => {
      socket.once('connect', () => {
        events.push(`connect ${at()}`);
        resolve({ remote: socket.remoteAddress });
      });
      socket.once('error', (error) => resolve({ error }));
    }),
  );
  const attempted = socket.autoSelectFamilyAttemptedAddresses;
  socket.destroy();
  server.close();
  return { outcome, events, attempted };
}

describe('net.connect with autoSelectFamily (RFC 8305, as Node)', () => {
  it('an answer with both families connects over the first one (IPv6 here) when it answers', async () => {
    const { outcome, events, attempted } = await race(['fd00::2', '10.0.0.2']);
    expect(outcome.remote).toBe('fd00::2');
    expect(events).toEqual(['connectionAttempt fd00::2 6 @0', 'connect @2']);
    expect(attempted).toEqual(['fd00::2:8000']);
  });

  it('an IPv6 address nobody answers is abandoned after the 250 ms attempt delay, then IPv4 connects (§5)', async () => {
    const { outcome, events } = await race(['fd00::99', '10.0.0.2']);
    expect(outcome.remote).toBe('10.0.0.2');
    expect(events).toEqual([
      'connectionAttempt fd00::99 6 @0',
      'connectionAttemptTimeout fd00::99 6 @250',
      'connectionAttempt 10.0.0.2 4 @250',
      'connect @252',
    ]);
  });

  it('autoSelectFamilyAttemptTimeout sets the delay (at least 10 ms); the families alternate (§4): v6, v4, v6, v4', async () => {
    const { outcome, events, attempted } = await race(['fd00::98', 'fd00::99', '10.0.0.98', '10.0.0.2'], { attemptTimeout: 100 });
    expect(outcome.remote).toBe('10.0.0.2');
    expect(attempted).toEqual(['fd00::98:8000', '10.0.0.98:8000', 'fd00::99:8000', '10.0.0.2:8000']);
    expect(events.filter((event) => event.startsWith('connectionAttemptTimeout'))).toEqual([
      'connectionAttemptTimeout fd00::98 6 @100',
      'connectionAttemptTimeout 10.0.0.98 4 @200',
      'connectionAttemptTimeout fd00::99 6 @300',
    ]);
    expect(events.at(-1)).toBe('connect @302');
    const floor = await race(['fd00::99', '10.0.0.2'], { attemptTimeout: 1 });
    expect(floor.events.at(-1)).toBe('connect @12');
  });

  it('a refused attempt moves on at once, without waiting for the delay; the first answer family decides the order', async () => {
    const { outcome, events } = await race(['10.0.0.2', 'fd00::2'], { port: 8001 });
    // Nothing listens on 8001: both refused (a RST each), one after the other.
    expect(events).toEqual([
      'connectionAttempt 10.0.0.2 4 @0',
      'connectionAttemptFailed 10.0.0.2 4 ECONNREFUSED @2',
      'connectionAttempt fd00::2 6 @2',
      'connectionAttemptFailed fd00::2 6 ECONNREFUSED @4',
    ]);
    expect(outcome.error).toBeInstanceOf(AggregateError);
    expect(outcome.error!.code).toBe('ECONNREFUSED');
    expect(outcome.error!.errors!.map((error) => `${error.code} ${error.address}`)).toEqual(['ECONNREFUSED 10.0.0.2', 'ECONNREFUSED fd00::2']);
  });

  it('each address is tried once; a blocked one fails with ERR_IP_BLOCKED and the next is tried', async () => {
    const { net, a, b } = pair();
    const server = b.net.createServer((socket: NetSocket) => socket.end());
    await net.runAsync(new Promise<void>((resolve) => server.listen(8000, '::', resolve)));
    const blockList = new a.net.BlockList();
    blockList.addSubnet('fd00::', 64, 'ipv6');
    const failures: string[] = [];
    const socket = a.net.connect({
      host: 'example.test',
      port: 8000,
      autoSelectFamily: true,
      blockList,
      lookup: answering(['fd00::2', 'fd00::2', '10.0.0.2']),
    });
    socket.on('connectionAttemptFailed', (address: string, _port: number, _family: number, error: NodeJS.ErrnoException) =>
      failures.push(`${address} ${error.code}`),
    );
    await net.runAsync(new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject)));
    expect(failures).toEqual(['fd00::2 ERR_IP_BLOCKED']);
    expect(socket.remoteAddress).toBe('10.0.0.2');
    expect(socket.autoSelectFamilyAttemptedAddresses).toEqual(['10.0.0.2:8000']);
    socket.destroy();
    server.close();
  });

  it('without autoSelectFamily the first address alone is tried (and an answer of one address needs no race)', async () => {
    const { net, a, b } = pair();
    const server = b.net.createServer((socket: NetSocket) => socket.end());
    await net.runAsync(new Promise<void>((resolve) => server.listen(8000, '::', resolve)));
    const lookup = ((_h: string, _o: unknown, callback: (error: Error | null, address: string, family: number) => void) =>
      setImmediate(() => callback(null, 'fd00::2', 6))) as unknown as LookupFunction;
    const socket = a.net.connect({ host: 'example.test', port: 8000, autoSelectFamily: false, lookup });
    await net.runAsync(new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject)));
    expect([socket.remoteAddress, socket.autoSelectFamilyAttemptedAddresses]).toEqual(['fd00::2', undefined]);
    socket.destroy();
    server.close();
  });
});

describe('net.SocketAddress and net.BlockList with IPv6 (Node’s own classes, re-exported)', () => {
  it('are node:net’s classes; an IPv6 SocketAddress blocks an IPv6 client at a :: server, and a mapped IPv4 client by its IPv4 rule', async () => {
    const nodeNet = await import('node:net');
    const { net, a, b } = pair();
    expect([a.net.SocketAddress, a.net.BlockList]).toEqual([nodeNet.SocketAddress, nodeNet.BlockList]);
    const client6 = new a.net.SocketAddress({ address: 'fd00::1', family: 'ipv6', port: 0 });
    expect([client6.address, client6.family]).toEqual(['fd00::1', 'ipv6']);
    const blockList = new b.net.BlockList();
    blockList.addAddress(client6.address, 'ipv6');
    blockList.addAddress('10.0.0.1', 'ipv4');
    const accepted: string[] = [];
    const server = b.net.createServer({ blockList }, (socket: NetSocket) => {
      accepted.push(socket.remoteAddress!);
      socket.end();
    });
    await net.runAsync(new Promise<void>((resolve) => server.listen(8000, '::', resolve)));
    for (const host of ['fd00::2', '10.0.0.2']) {
      const socket = a.net.connect({ host, port: 8000 });
      const ended = await net.runAsync(
        new Promise<string>((resolve) => {
          socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
          socket.once('close', () => resolve('closed'));
          socket.resume();
        }),
      );
      // Node closes a blocked connection (its handle's close: a FIN), never handing it to the listener.
      expect([host, ended]).toEqual([host, 'closed']);
    }
    expect(accepted).toEqual([]);
    server.close();
  });
});
