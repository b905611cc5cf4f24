import { describe, expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { ReceiveRing, ReceiveStoragePool } from '../../src/tcp/receive-ring.js';

const run = (start: number, length: number) => Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);

describe('ReceiveRing: the in-order receive queue, copied in once and out once', () => {
  it('keeps a copy: the pushed memory may be reused at once', () => {
    const ring = new ReceiveRing(() => 65536);
    const frame = run(0, 100);
    ring.push(frame.subarray(10, 60));
    frame.fill(0);
    expect(ring.byteLength).toBe(50);
    expect(ring.read(Infinity)).toEqual(run(10, 50));
    expect(ring.byteLength).toBe(0);
  });

  it('reads and peeks across the end of its storage, in order', () => {
    const ring = new ReceiveRing(() => 65536);
    ring.push(run(0, 1500));
    expect(ring.read(1000)).toEqual(run(0, 1000));
    ring.push(run(1500, 1000)); // 500 + 1000 in 2048 bytes: wraps
    expect(ring.capacity).toBe(2048);
    const peeked = new Uint8Array(1200);
    expect(ring.peek(peeked)).toBe(1200);
    expect(peeked).toEqual(run(1000, 1200));
    expect(ring.read(700)).toEqual(run(1000, 700));
    expect(ring.read(Infinity)).toEqual(run(1700, 800));
  });

  it('grows by doubling up to the receive buffer size, keeping the order of wrapped bytes', () => {
    const ring = new ReceiveRing(() => 5000);
    ring.push(run(0, 1500));
    ring.read(1000);
    ring.push(run(1500, 1500)); // wrapped in 2048
    ring.push(run(3000, 1500)); // 3500 queued: 4096
    expect(ring.capacity).toBe(4096);
    ring.push(run(4500, 1000)); // 4500: the limit, not 8192
    expect(ring.capacity).toBe(5000);
    ring.push(run(5500, 1000)); // past the limit (a shrunk buffer): still doubles
    expect(ring.capacity).toBe(10000);
    expect(ring.read(Infinity)).toEqual(run(1000, 5500));
  });

  it('clear drops the queued bytes and keeps the storage', () => {
    const ring = new ReceiveRing(() => 65536);
    ring.push(run(0, 3000));
    ring.clear();
    expect(ring.byteLength).toBe(0);
    expect(ring.read(10)).toEqual(new Uint8Array(0));
    ring.push(run(7, 10));
    expect(ring.read(10)).toEqual(run(7, 10));
  });

  it('gives its storage back to the pool when released, and the next ring takes it', () => {
    const pool = new ReceiveStoragePool(5000);
    const first = new ReceiveRing(() => 65536, pool);
    first.push(run(0, 3000));
    expect(first.read(Infinity)).toEqual(run(0, 3000));
    first.release();
    expect(pool.bytes).toBe(3000);
    const second = new ReceiveRing(() => 65536, pool);
    second.push(run(5, 100));
    expect(second.capacity).toBe(3000);
    expect(pool.bytes).toBe(0);
    expect(second.read(Infinity)).toEqual(run(5, 100));
    // Bounded: a release past the limit is left to the collector.
    second.release();
    const big = new ReceiveRing(() => 65536, pool);
    big.push(run(0, 5000)); // takes the 3000 kept, grows to 6000: more than the pool keeps
    big.read(Infinity);
    big.release();
    expect(pool.bytes).toBe(0);
  });

  it("receiveInto copies into the caller's buffer, as recv(2), and a drained connection gives its ring back", () => {
    const net = new VirtualNetwork(3);
    const client = net.createStack('client');
    const server = net.createStack('server');
    net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
    const listener = unwrap(server.tcp.listen(0, 80));
    const sent = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const connection = unwrap(client.tcp.connect(parseIpv4Address('10.0.0.2')!, 80));
    connection.events.onConnect = () => unwrap(connection.send(sent));
    net.runUntilIdle();
    const accepted = listener.accept()!;
    const buffer = new Uint8Array(3000);
    const got: number[] = [];
    for (let n = accepted.receiveInto(buffer); n > 0; n = accepted.receiveInto(buffer)) {
      got.push(...buffer.subarray(0, n));
      net.runUntilIdle();
    }
    expect(Uint8Array.from(got)).toEqual(sent);
    expect(accepted.receiveInto(buffer)).toBe(0);
    expect(accepted.heldWhileBusy()).not.toContain('receive queue');
  });
});
