/**
 * What an idle connection costs (issue 16: 100,000 idle connections at ≤ 2 KB an endpoint,
 * measured by `npm run bench:idle`). Structural: an idle endpoint holds no timer deadlines, no
 * retransmission or reassembly queue, no write marks, no send-buffer storage and no busy record
 * (they come back when data moves and go again at rest); and 2,000 idle connections, measured
 * with full collections, stay under the bound. TIME-WAIT (issue 16: 1,000,000 entries) is a
 * compact record in the layer (time-wait.ts), bounded the same way. Never wall-clock time.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { BusyState, RESTING, settle } from '../../src/tcp/busy-state.js';
import type { TcpConnection } from '../../src/tcp/connection.js';

const SERVER = parseIpv4Address('10.0.0.2')!;
const PORT = 5001;

function pair(): { net: VirtualNetwork; client: Stack; server: Stack } {
  const net = new VirtualNetwork(3);
  const client = net.createStack('client');
  const server = net.createStack('server');
  net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
  return { net, client, server };
}

/** `count` connections, established and idle (nothing left to do); both ends of each. */
function idleConnections(count: number): { net: VirtualNetwork; clients: TcpConnection[]; servers: TcpConnection[] } {
  const { net, client, server } = pair();
  const listener = unwrap(server.tcp.listen(0, PORT, 65535));
  const servers: TcpConnection[] = [];
  listener.onAcceptable = () => {
    for (let c = listener.accept(); c !== null; c = listener.accept()) servers.push(c);
  };
  const clients: TcpConnection[] = [];
  for (let i = 0; i < count; i++) clients.push(unwrap(client.tcp.connect(SERVER, PORT, { localPort: 10_000 + i })));
  net.runUntil(() => servers.length === count, 10_000);
  net.runUntilIdle(1000);
  return { net, clients, servers };
}

/**
 * A pair whose server closes each connection when the client's FIN arrives, and `fill(first,
 * count)`: `count` connections from client ports `first`…, each closed as soon as it opens, so
 * that the client's ends wait in TIME-WAIT (nothing references them once there); `expireAll`.
 */
function timeWaitPair(): { client: Stack; fill: (first: number, count: number) => void; expireAll: () => void } {
  const { net, client, server } = pair();
  const listener = unwrap(server.tcp.listen(0, PORT, 65535));
  listener.onAcceptable = () => {
    for (let c = listener.accept(); c !== null; c = listener.accept()) {
      const accepted = c;
      accepted.events.onReadable = () => {
        if (accepted.endOfStream) accepted.close();
      };
    }
  };
  const fill = (first: number, count: number) => {
    const target = client.tcp.timeWaitCount + count;
    for (let i = 0; i < count; i++) {
      const connection = unwrap(client.tcp.connect(SERVER, PORT, { localPort: first + i }));
      connection.events.onConnect = () => connection.close();
    }
    net.runUntil(() => client.tcp.timeWaitCount === target && server.tcp.listConnections().length === 0, 20_000);
  };
  /** Runs the 2·MSL out: every TIME-WAIT entry expires. */
  const expireAll = () => net.runUntil(() => client.tcp.timeWaitCount === 0, 2 * 60_000);
  return { client, fill, expireAll };
}

/** `gc`, turned on here: vitest's workers do not start with --expose-gc. */
function gcFunction(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap and ArrayBuffer bytes after full collections until the heap stops shrinking. */
function collectedBytes(gc: () => void): number {
  let previous = Infinity;
  for (let i = 0; i < 10; i++) {
    gc();
    const used = process.memoryUsage().heapUsed;
    if (used >= previous) break;
    previous = used;
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/**
 * collectedBytes without the code spaces: what V8 compiles and optimizes in the background (its
 * timing follows the machine's load) is no part of what an entry holds.
 */
function collectedDataBytes(gc: () => void): number {
  const total = collectedBytes(gc);
  const code = getHeapSpaceStatistics()
    .filter((space) => space.space_name.startsWith('code'))
    .reduce((sum, space) => sum + space.space_used_size, 0);
  return total - code;
}

describe('an idle connection holds only its variables', () => {
  it('an established connection with nothing to do holds no timers, queues, marks, storage or busy record, at either end', () => {
    const { clients, servers } = idleConnections(200);
    for (const connection of [...clients, ...servers]) {
      expect(connection.state).toBe('ESTABLISHED');
      expect(connection.pollAt()).toBe(Infinity);
      expect(connection.heldWhileBusy()).toEqual([]);
    }
  });

  it('data moving makes the parts it needs, and they go again once the connection rests', () => {
    const { net, clients, servers } = idleConnections(1);
    const [client] = clients;
    const [server] = servers;
    const data = new Uint8Array(100_000).fill(7);
    expect(unwrap(client.send(data))).toBe(data.length);
    // Sent and not yet acknowledged: the queue, the storage and the retransmission timer are there.
    expect(client.heldWhileBusy()).toEqual(expect.arrayContaining(['retransmission queue', 'send buffer storage', 'timer deadlines', 'busy variables']));
    let received = 0;
    net.runUntil(() => {
      for (let chunk = server.receive(); chunk.length > 0; chunk = server.receive()) received += chunk.length;
      return received === data.length && client.sendBuffer.length === 0;
    }, 10_000);
    net.runUntilIdle(1000);
    expect(client.pollAt()).toBe(Infinity);
    expect(client.heldWhileBusy()).toEqual([]);
    expect(server.heldWhileBusy()).toEqual([]);
    // And they come back for the next write.
    expect(unwrap(client.send(data.subarray(0, 1000)))).toBe(1000);
    expect(client.heldWhileBusy()).toContain('retransmission queue');
  });

  it("resting connections give their send storage to the stack's pool and the next writes take the same arrays (bounded)", () => {
    const { net, clients, servers } = idleConnections(20);
    const stack = clients[0].host as unknown as Stack['tcp'];
    const round = (): Set<ArrayBufferLike> => {
      const arrays = new Set<ArrayBufferLike>();
      for (const client of clients) {
        expect(unwrap(client.send(new Uint8Array(1000).fill(3)))).toBe(1000);
        arrays.add(client.sendBuffer.read(0, 1).buffer);
      }
      net.runUntil(() => {
        for (const server of servers) while (server.receive().length > 0);
        return clients.every((client) => client.sendBuffer.length === 0);
      }, 10_000);
      net.runUntilIdle(1000);
      return arrays;
    };
    const first = round();
    expect(first.size).toBe(20);
    for (const client of clients) expect(client.heldWhileBusy()).toEqual([]);
    expect(stack.sendStoragePool.size).toBe(20);
    const second = round();
    expect([...second].filter((array) => first.has(array)).length).toBe(20);
    expect(stack.sendStoragePool.size).toBe(20);
    expect(stack.sendStoragePool.limit).toBe(256); // 1 MiB a stack at most, whatever its connections
  });

  it('unread data keeps the receive queue (and so the busy record) of an otherwise idle connection', () => {
    const { net, clients, servers } = idleConnections(1);
    unwrap(clients[0].send(new Uint8Array(3000)));
    net.runUntilIdle(1000);
    expect(servers[0].pollAt()).toBe(Infinity);
    expect(servers[0].readableBytes).toBe(3000);
    expect(servers[0].heldWhileBusy()).toEqual(['busy variables', 'receive queue']);
    expect(servers[0].receive().length).toBe(3000);
  });

  it('TIME-WAIT is a compact record in the layer: the connection, data moved and closed, is let go (time-wait.ts)', () => {
    const { net, client, server } = pair();
    const listener = unwrap(server.tcp.listen(0, PORT, 16));
    listener.onAcceptable = () => {
      for (let c = listener.accept(); c !== null; c = listener.accept()) {
        const accepted = c;
        accepted.events.onReadable = () => {
          while (accepted.receive().length > 0);
          if (accepted.endOfStream) accepted.close();
        };
      }
    };
    const connection = unwrap(client.tcp.connect(SERVER, PORT, { localPort: 40_000 }));
    connection.events.onConnect = () => {
      unwrap(connection.send(new Uint8Array(20_000)));
      connection.close();
    };
    net.runUntil(() => client.tcp.timeWaitCount === 1 && server.tcp.listConnections().length === 0, 10_000);
    // The layer holds no connection, only the record; nobody listens for onClose, so the record
    // does not keep the connection either (this test's reference is all that does).
    expect(client.tcp.listConnections()).toEqual([]);
    const [record] = client.tcp.listTimeWait();
    expect(record.owner).toBe(null);
    expect([record.localPort, record.remotePort, record.sndNxt, record.rcvNxt]).toEqual([40_000, PORT, connection.sndNxt, connection.rcvNxt]);
    expect(connection.state).toBe('TIME-WAIT');
    expect(connection.timeWaitDeadline).toBe(record.deadline);
    expect(client.tcp.pollAt()).toBe(record.deadline);
  });

  it('4,000 TIME-WAIT entries cost at most 350 bytes each (heap but code, and ArrayBuffers, full collections)', () => {
    const gc = gcFunction();
    // Outside the measure: the code compiled (optimized code counts in the heap too), and what a
    // burst of connections grows (queues, frames in flight) grown once. The entries then expire,
    // so the TIME-WAIT tables' own growth to 4,000 entries is in the measure.
    const measured = timeWaitPair();
    measured.fill(10_000, 4000);
    measured.expireAll();
    const before = collectedDataBytes(gc);
    measured.fill(20_000, 4000);
    const perEntry = (collectedDataBytes(gc) - before) / 4000;
    console.log(`TIME-WAIT entry: ${Math.round(perEntry)} bytes`);
    expect(measured.client.tcp.timeWaitCount).toBe(4000);
    expect(measured.client.tcp.listConnections()).toEqual([]);
    expect(perEntry).toBeGreaterThan(50); // the measure sees the records at all
    // About 300 here, of which a heap snapshot's diff gives the record 152 bytes, its key 32 and
    // the two tables' slots 57; the rest is what V8 makes meanwhile outside the code spaces
    // (deoptimization data, weak lists), which the measure cannot tell apart.
    // `npm run bench:idle -- --only time-wait --time-wait 200000` measures 244 bytes an entry;
    // a whole connection took 2,581.
    expect(perEntry).toBeLessThanOrEqual(350);
  });

  it('the shared RESTING record is never written: it equals a new one', () => {
    idleConnections(50);
    const fresh = new BusyState();
    expect({ ...RESTING }).toEqual({ ...fresh });
    expect(settle(fresh, 0)).toBe(true);
  });

  it('2,000 idle connections cost at most 2 KB an endpoint, buffers included (heap and ArrayBuffers, full collections)', () => {
    const gc = gcFunction();
    const warm = idleConnections(2000); // the code compiled and the stack's tables grown once, outside the measure
    expect(warm.clients.length).toBe(2000);
    const before = collectedBytes(gc);
    const { clients, servers } = idleConnections(2000);
    const perEndpoint = (collectedBytes(gc) - before) / (clients.length + servers.length);
    console.log(`idle endpoint: ${Math.round(perEndpoint)} bytes`);
    expect(perEndpoint).toBeGreaterThan(500); // the measure sees the connections at all
    expect(perEndpoint).toBeLessThanOrEqual(2048);
  });
});
