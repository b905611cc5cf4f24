import { describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { NetSocket } from '../../src/socket-api/net-socket.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

function pair() {
  const net = new VirtualNetwork(21);
  const a = net.createStack('client');
  const b = net.createStack('server');
  net.connect({ stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64' }, { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' });
  return { net, a, b };
}

describe("Node's dgram and net over IPv6 (the drop-ins)", () => {
  it("udp6: bind '::', a message from fd00::1 arrives with family IPv6; one from an IPv4 udp4 socket as ::ffff:10.0.0.1", async () => {
    const { net, a, b } = pair();
    const server = b.dgram.createSocket('udp6');
    const messages: Array<{ text: string; address: string; family: string }> = [];
    server.on('message', (message, rinfo) => messages.push({ text: message.toString(), address: rinfo.address, family: rinfo.family }));
    await net.runAsync(new Promise<void>((resolve) => server.bind(4000, resolve)));
    expect(server.address()).toEqual({ address: '::', family: 'IPv6', port: 4000 });
    const c6 = a.dgram.createSocket('udp6');
    const c4 = a.dgram.createSocket('udp4');
    await net.runAsync(new Promise<void>((resolve, reject) => c6.send('six', 4000, 'fd00::2', (error: Error | null) => (error ? reject(error) : resolve()))));
    await net.runAsync(new Promise<void>((resolve, reject) => c4.send('four', 4000, '10.0.0.2', (error: Error | null) => (error ? reject(error) : resolve()))));
    await net.runAsync(async () => {
      while (messages.length < 2) await new Promise((r) => setImmediate(r));
    });
    expect(messages).toEqual([
      { text: 'six', address: 'fd00::1', family: 'IPv6' },
      { text: 'four', address: '::ffff:10.0.0.1', family: 'IPv6' },
    ]);
    for (const socket of [server, c6, c4]) socket.close();
  });

  it("udp6 with ipv6Only leaves the port's IPv4 side to a udp4 socket (RFC 6056 ports shared across families)", async () => {
    const { net, b } = pair();
    const only = b.dgram.createSocket({ type: 'udp6', ipv6Only: true });
    await net.runAsync(new Promise<void>((resolve) => only.bind(4001, resolve)));
    const v4 = b.dgram.createSocket('udp4');
    await net.runAsync(new Promise<void>((resolve) => v4.bind(4001, resolve)));
    const dual = b.dgram.createSocket('udp6');
    const error = await net.runAsync(new Promise<Error>((resolve) => dual.once('error', resolve).bind(4001)));
    expect((error as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    for (const socket of [only, v4, dual]) socket.close();
  });

  it("net: a server on '::' takes a client connecting to fd00::2; remoteFamily is IPv6", async () => {
    const { net, a, b } = pair();
    const seen: Array<{ address?: string; family?: string }> = [];
    const server = b.net.createServer((socket: NetSocket) => {
      seen.push({ address: socket.remoteAddress, family: socket.remoteFamily });
      socket.end('hi');
    });
    await net.runAsync(new Promise<void>((resolve) => server.listen(8000, '::', resolve)));
    expect(server.address()).toMatchObject({ address: '::', family: 'IPv6', port: 8000 } satisfies Partial<AddressInfo>);
    const reply = await net.runAsync(
      new Promise<string>((resolve, reject) => {
        const socket = a.net.connect({ host: 'fd00::2', port: 8000 });
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('end', () => resolve(`${text} ${socket.localAddress} ${socket.remoteFamily}`));
        socket.on('error', reject);
      }),
    );
    expect(reply).toBe('hi fd00::1 IPv6');
    expect(seen).toEqual([{ address: 'fd00::1', family: 'IPv6' }]);
    server.close();
  });

  it("net: an IPv4 client of a '::' server is ::ffff:10.0.0.1 (family IPv6) to it, as Node shows dual-stack peers", async () => {
    const { net, a, b } = pair();
    const seen: Array<{ remote?: string; local?: string; family?: string }> = [];
    const server = b.net.createServer((socket: NetSocket) => {
      seen.push({ remote: socket.remoteAddress, local: socket.localAddress, family: socket.remoteFamily });
      socket.end();
    });
    await net.runAsync(new Promise<void>((resolve) => server.listen(8001, '::', resolve)));
    await net.runAsync(
      new Promise<void>((resolve, reject) => {
        const socket = a.net.connect({ host: '10.0.0.2', port: 8001 });
        socket.on('error', reject);
        socket.on('close', () => resolve());
        socket.resume();
      }),
    );
    expect(seen).toEqual([{ remote: '::ffff:10.0.0.1', local: '::ffff:10.0.0.2', family: 'IPv6' }]);
    server.close();
  });
});
