import { describe, expect, it } from 'vitest';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

function pair(faults?: { loss?: number }) {
  const net = new VirtualNetwork(11);
  const a = net.createStack('client');
  const b = net.createStack('server');
  net.connect(
    { stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64', faults: faults ? { lossRate: faults.loss } : undefined },
    { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64', faults: faults ? { lossRate: faults.loss } : undefined },
  );
  return { net, a, b, client: new BerkeleySockets(a), server: new BerkeleySockets(b) };
}

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/**
 * Sends `data` from a new connection of `client` to the listener `l` on fd00::2 `port`, in
 * writes of `chunk` bytes, then shuts down the write side; returns what the accepted socket read
 * until end of stream, and the accepted socket.
 */
async function transfer(
  net: VirtualNetwork,
  client: BerkeleySockets,
  server: BerkeleySockets,
  l: number,
  c: number,
  port: number,
  data: Uint8Array,
  chunk: number,
) {
  return net.runAsync(
    async () => {
      const accepted = server.accept(l);
      await client.connect(c, { address: 'fd00::2', port });
      const peer = await accepted;
      const sending = (async () => {
        for (let off = 0; off < data.length; off += chunk) await client.send(c, data.subarray(off, off + chunk));
        client.shutdown(c, C.SHUT_WR);
      })();
      const chunks: Uint8Array[] = [];
      for (;;) {
        const received = await server.recv(peer.fd, 65536);
        if (received.length === 0) break;
        chunks.push(received);
      }
      await sending;
      return { received: Buffer.concat(chunks), peer };
    },
    { limitMs: 600_000 },
  );
}

describe('UDP over IPv6 (AF_INET6 datagram sockets)', () => {
  it('carries a datagram both ways with the IPv6 addresses (RFC 8200 §8.1 checksum)', async () => {
    const { net, client, server } = pair();
    const s = server.socket(C.AF_INET6, C.SOCK_DGRAM);
    server.bind(s, { address: '::', port: 5353 });
    const c = client.socket(C.AF_INET6, C.SOCK_DGRAM);
    await client.sendto(c, bytes(100), { address: 'fd00::2', port: 5353 });
    const traced: string[] = [];
    server.stack.tracer = (event) => {
      if (event.layer === 'udp' && event.direction === 'up') traced.push(event.summary);
    };
    const got = await net.runAsync(server.recvfrom(s, 2000));
    expect(got.address).toBe('fd00::1');
    expect(got.data).toEqual(bytes(100));
    // The trace shows the UDP layer taking it in, as over IPv4.
    expect(traced).toEqual([
      expect.stringMatching(/^UDP \d+ → 5353: removed 8-byte header, checksum verified over pseudo-header \+ header \+ data, 100 bytes of data$/),
    ]);
    server.stack.tracer = null;
    await server.sendto(s, bytes(3000, 2), { address: got.address, port: got.port });
    const back = await net.runAsync(client.recvfrom(c, 4000));
    expect(back).toMatchObject({ address: 'fd00::2', port: 5353 });
    expect(back.data).toEqual(bytes(3000, 2)); // fragmented and reassembled
  });

  it('a dual-stack socket bound to :: receives IPv4 datagrams from ::ffff:a.b.c.d; IPV6_V6ONLY refuses them', async () => {
    const { net, client, server } = pair();
    const dual = server.socket(C.AF_INET6, C.SOCK_DGRAM);
    server.bind(dual, { address: '::', port: 7000 });
    const c4 = client.socket(C.AF_INET, C.SOCK_DGRAM);
    await client.sendto(c4, bytes(10), { address: '10.0.0.2', port: 7000 });
    const got = await net.runAsync(server.recvfrom(dual, 100));
    expect(got.address).toBe('::ffff:10.0.0.1');
    await server.sendto(dual, bytes(5), { address: got.address, port: got.port });
    const back = await net.runAsync(client.recvfrom(c4, 100));
    expect(back.address).toBe('10.0.0.2');

    const only = server.socket(C.AF_INET6, C.SOCK_DGRAM);
    server.setsockopt(only, C.IPPROTO_IPV6, C.IPV6_V6ONLY, 1);
    server.bind(only, { address: '::', port: 7001 });
    await expect(server.sendto(only, bytes(1), { address: '::ffff:10.0.0.1', port: 9 })).rejects.toMatchObject({ code: 'ENETUNREACH' });
    await client.sendto(c4, bytes(10), { address: '10.0.0.2', port: 7001 });
    net.runUntilIdle();
    expect(server.stack.stats.get('udp.rx.noPort')).toBe(1);
    // Ports are shared across families (RFC 6056): 0.0.0.0:7000 clashes with the dual-stack [::]:7000.
    const v4 = server.socket(C.AF_INET, C.SOCK_DGRAM);
    expect(() => server.bind(v4, { address: '0.0.0.0', port: 7000 })).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    // …but not with the IPv6-only [::]:7001.
    server.bind(v4, { address: '0.0.0.0', port: 7001 });
  });

  it('IPV6_V6ONLY is fixed once bound (EINVAL) and an AF_INET socket has no IPv6 options (ENOPROTOOPT)', () => {
    const { server } = pair();
    const s = server.socket(C.AF_INET6, C.SOCK_DGRAM);
    expect(server.getsockopt(s, C.IPPROTO_IPV6, C.IPV6_V6ONLY)).toBe(0);
    server.bind(s, { address: '::', port: 0 });
    expect(() => server.setsockopt(s, C.IPPROTO_IPV6, C.IPV6_V6ONLY, 1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const v4 = server.socket(C.AF_INET, C.SOCK_DGRAM);
    expect(() => server.setsockopt(v4, C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS, 5)).toThrow(expect.objectContaining({ code: 'ENOPROTOOPT' }));
    expect(() => server.setsockopt(s, C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS, 256)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    server.setsockopt(s, C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS, 7);
    expect(server.getsockopt(s, C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS)).toBe(7);
    server.setsockopt(s, C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS, -1);
    expect(server.getsockopt(s, C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS)).toBe(64);
  });

  it('a datagram to a closed port comes back as ICMPv6 port unreachable: ECONNREFUSED on a connected socket', async () => {
    const { net, client } = pair();
    const c = client.socket(C.AF_INET6, C.SOCK_DGRAM);
    await client.connect(c, { address: 'fd00::2', port: 9999 });
    await client.send(c, bytes(4));
    net.runUntilIdle();
    await expect(client.send(c, bytes(4))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('TCP over IPv6 (AF_INET6 stream sockets)', () => {
  it('transfers 1 MB bit-exact with 2% loss each way, MSS 1440 (1500 − 60)', async () => {
    const { net, client, server } = pair({ loss: 0.02 });
    const l = server.socket(C.AF_INET6, C.SOCK_STREAM);
    server.bind(l, { address: '::', port: 8080 });
    server.listen(l);
    const c = client.socket(C.AF_INET6, C.SOCK_STREAM);
    const data = bytes(1_000_000, 3);
    const { received: result, peer } = await transfer(net, client, server, l, c, 8080, data, 65536);
    expect(peer.address).toBe('fd00::1');
    expect(result.length).toBe(data.length);
    expect(Buffer.compare(result, Buffer.from(data))).toBe(0);
    expect(client.getsockname(c).address).toBe('fd00::1');
    const info = client.getsockopt(c, C.IPPROTO_TCP, C.TCP_INFO) as { snd_mss: number };
    expect(info.snd_mss).toBe(1440 - 12); // timestamps ride on every segment
    expect(client.stack.stats.get('tcp.tx.retransmits')).toBeGreaterThan(0);
  });

  it('transfers 300 KB bit-exact through loss, duplication, reordering and corruption (IPv6 and TCP checks refuse the corrupted frames, nothing throws)', async () => {
    const net = new VirtualNetwork(29);
    const a = net.createStack('client');
    const b = net.createStack('server');
    const faults = { lossRate: 0.02, duplicateRate: 0.02, reorderRate: 0.05, reorderDelayMs: 3, corruptRate: 0.01 };
    const wire = net.connect(
      { stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64', faults },
      { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64', faults },
      { latencyMs: 2 },
    );
    const client = new BerkeleySockets(a);
    const server = new BerkeleySockets(b);
    const l = server.socket(C.AF_INET6, C.SOCK_STREAM);
    server.bind(l, { address: '::', port: 9090 });
    server.listen(l);
    const c = client.socket(C.AF_INET6, C.SOCK_STREAM);
    const data = bytes(300_000, 7);
    const { received: result } = await transfer(net, client, server, l, c, 9090, data, 32768);
    expect(Buffer.compare(result, Buffer.from(data))).toBe(0);
    const corrupted = wire.a.faults!.stats.get('fault.corrupted') + wire.b.faults!.stats.get('fault.corrupted');
    const refused = (stack: typeof a) => stack.stats.sum('drop.ipv6.') + stack.stats.sum('drop.tcp.') + stack.stats.sum('drop.ipv4.');
    expect(corrupted).toBeGreaterThan(0);
    // A flipped bit in an address or the Hop Limit can leave a packet that is still valid (a
    // misrouted or harmless one); every other one is refused by a check and counted.
    expect(refused(a) + refused(b)).toBeGreaterThan(0);
    expect(a.lastInternalError).toBeNull();
    expect(b.lastInternalError).toBeNull();
  });

  it('a dual-stack listener on :: accepts an IPv4 client as ::ffff:10.0.0.1 (RFC 4291 §2.5.5.2)', async () => {
    const { net, client, server } = pair();
    const l = server.socket(C.AF_INET6, C.SOCK_STREAM);
    server.bind(l, { address: '::', port: 8081 });
    server.listen(l);
    const c = client.socket(C.AF_INET, C.SOCK_STREAM);
    const peer = await net.runAsync(async () => {
      const accepted = server.accept(l);
      await client.connect(c, { address: '10.0.0.2', port: 8081 });
      return accepted;
    });
    expect(peer.address).toBe('::ffff:10.0.0.1');
    expect(server.getsockname(peer.fd).address).toBe('::ffff:10.0.0.2');
    await client.send(c, bytes(10));
    const got = await net.runAsync(server.recv(peer.fd, 100));
    expect(got).toEqual(bytes(10));
  });

  it('an IPV6_V6ONLY listener refuses an IPv4 client with RST: ECONNREFUSED', async () => {
    const { net, client, server } = pair();
    const l = server.socket(C.AF_INET6, C.SOCK_STREAM);
    server.setsockopt(l, C.IPPROTO_IPV6, C.IPV6_V6ONLY, 1);
    server.bind(l, { address: '::', port: 8082 });
    server.listen(l);
    const c = client.socket(C.AF_INET, C.SOCK_STREAM);
    await expect(net.runAsync(client.connect(c, { address: '10.0.0.2', port: 8082 }))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const c6 = client.socket(C.AF_INET6, C.SOCK_STREAM);
    await expect(net.runAsync(client.connect(c6, { address: '::ffff:10.0.0.2', port: 8082 }))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('raw ICMPv6 sockets (AF_INET6, SOCK_RAW, IPPROTO_ICMPV6; RFC 3542 §3)', () => {
  it('send an echo request the application built (the stack fills the checksum) and read the reply without its IPv6 header', async () => {
    const { net, client } = pair();
    const fd = client.socket(C.AF_INET6, C.SOCK_RAW, C.IPPROTO_ICMPV6);
    const request = Uint8Array.of(128, 0, 0, 0, 0x12, 0x34, 0, 1, 1, 2, 3, 4);
    await client.sendto(fd, request, { address: 'fd00::2', port: 0 });
    let reply;
    for (;;) {
      reply = await net.runAsync(client.recvfrom(fd, 100));
      if (reply.data[0] === 129) break;
    }
    expect(reply.address).toBe('fd00::2');
    expect(reply.hopLimit).toBe(64);
    expect([...reply.data.subarray(4)]).toEqual([0x12, 0x34, 0, 1, 1, 2, 3, 4]);
    // IPPROTO_RAW's socket sends whole packets, IPV6_HDRINCL on (ipv6-raw-checksum-hdrincl.test.ts).
    expect(client.getsockopt(client.socket(C.AF_INET6, C.SOCK_RAW, C.IPPROTO_RAW), C.IPPROTO_IPV6, C.IPV6_HDRINCL)).toBe(1);
  });
});
