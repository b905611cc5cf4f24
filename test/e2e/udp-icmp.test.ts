import { describe, expect, it } from 'vitest';
import { parseIpv4Address } from '../../src/ip/address.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

const addr = (text: string) => parseIpv4Address(text)!;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

function twoHosts(seed = 1, mtu = 1500) {
  const net = new VirtualNetwork(seed);
  const client = net.createStack('client');
  const server = net.createStack('server');
  const connection = net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { mtu, latencyMs: 1 });
  return { net, client, server, connection };
}

describe('UDP and ICMP between two stacks on a virtual wire', () => {
  it('runs the upper-casing UDP server from the seed notes', () => {
    const { net, client, server } = twoHosts();
    const serverSocket = server.udp.open();
    expect(serverSocket.bind(0, 12000).ok).toBe(true);
    serverSocket.onReadable = () => {
      for (let d = serverSocket.receive(); d; d = serverSocket.receive()) {
        serverSocket.send(bytes(text(d.payload).toUpperCase()), d.sourceAddress, d.sourcePort);
      }
    };
    const clientSocket = client.udp.open();
    expect(clientSocket.send(bytes('hello, packet switching'), addr('10.0.0.2'), 12000).ok).toBe(true);
    net.runUntilIdle();
    const reply = clientSocket.receive();
    expect(reply && text(reply.payload)).toBe('HELLO, PACKET SWITCHING');
    expect(reply!.sourcePort).toBe(12000);
    // The client was bound implicitly to an ephemeral port in the RFC 6056 default range.
    expect(clientSocket.localPort).toBeGreaterThanOrEqual(49152);
    expect(client.stats.sum('drop.')).toBe(0);
    expect(server.stats.sum('drop.')).toBe(0);
  });

  it('answers a ping with the same identifier, sequence and data', () => {
    const { net, client, server } = twoHosts();
    const replies: Array<{ identifier: number; sequence: number; data: Uint8Array }> = [];
    client.icmp.onEchoReply((r) => replies.push(r));
    const data = bytes('0123456789abcdef');
    expect(client.ping('10.0.0.2', 0x1234, 7, data).ok).toBe(true);
    net.runUntilIdle();
    expect(replies).toHaveLength(1);
    expect(replies[0].identifier).toBe(0x1234);
    expect(replies[0].sequence).toBe(7);
    expect(replies[0].data).toEqual(data);
    expect(server.stats.get('icmp.tx.echoReply')).toBe(1);
  });

  it('fragments a 3000-byte ping and a 65507-byte datagram and reassembles them', () => {
    const { net, client, server } = twoHosts();
    const replies: Uint8Array[] = [];
    client.icmp.onEchoReply((r) => replies.push(r.data));
    const pingData = new Uint8Array(3000).map((_, i) => i & 0xff);
    client.ping('10.0.0.2', 1, 1, pingData);
    const s = server.udp.open();
    s.bind(0, 9);
    const big = new Uint8Array(65507).map((_, i) => (i * 7) & 0xff);
    const c = client.udp.open();
    expect(c.send(big, addr('10.0.0.2'), 9).ok).toBe(true);
    net.runUntilIdle();
    expect(replies[0]).toEqual(pingData);
    expect(s.receive()!.payload).toEqual(big);
    expect(client.stats.get('ipv4.tx.fragments')).toBeGreaterThan(45);
    expect(server.stats.get('ipv4.rx.reassembled')).toBe(2);
  });

  it('refuses a datagram of 65508 bytes with EMSGSIZE', () => {
    const { client } = twoHosts();
    const c = client.udp.open();
    const result = c.send(new Uint8Array(65508), addr('10.0.0.2'), 9);
    expect(result).toEqual({ ok: false, error: 'EMSGSIZE' });
  });

  it('answers a closed port with ICMP port unreachable, delivered as ECONNREFUSED to the connected socket', () => {
    const { net, client, server } = twoHosts();
    const c = client.udp.open();
    expect(c.connect(addr('10.0.0.2'), 4444).ok).toBe(true);
    c.send(bytes('anyone?'));
    net.runUntilIdle();
    expect(server.stats.get('udp.rx.noPort')).toBe(1);
    expect(server.stats.get('icmp.tx.destinationUnreachable')).toBe(1);
    expect(c.pendingError).toBe('ECONNREFUSED');
    expect(c.send(bytes('again'))).toEqual({ ok: false, error: 'ECONNREFUSED' });
    expect(c.pendingError).toBe(null);
  });

  it('gives EADDRINUSE for a second bind unless both ask for reuse', () => {
    const { server } = twoHosts();
    const a = server.udp.open();
    const b = server.udp.open();
    expect(a.bind(0, 5000).ok).toBe(true);
    expect(b.bind(0, 5000)).toEqual({ ok: false, error: 'EADDRINUSE' });
    const c = server.udp.open();
    const d = server.udp.open();
    c.options.reuseAddress = true;
    d.options.reuseAddress = true;
    expect(c.bind(0, 5001).ok).toBe(true);
    expect(d.bind(0, 5001).ok).toBe(true);
  });

  it('is deterministic: the same seed gives the same ephemeral ports and IP identifications', () => {
    const run = (seed: number) => {
      const { net, client } = twoHosts(seed);
      const c = client.udp.open();
      c.send(bytes('x'), addr('10.0.0.2'), 9);
      net.runUntilIdle();
      return c.localPort;
    };
    expect(run(42)).toBe(run(42));
    expect(run(42)).not.toBe(run(43));
  });
});
