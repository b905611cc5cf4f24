/**
 * TCP on the virtual network, measured in wall time: two stacks in one process, one wire
 * (1 ms one way, MTU 1500, no faults), default TCP settings (1 MiB buffers, CUBIC, SACK,
 * timestamps). Prints:
 *
 *   bulk N Gbit/s             one connection, client → server, payload bytes per wall second
 *   bulk16 N Gbit/s           sixteen connections at once, aggregate
 *   rr N transactions/s       one connection, 1-byte request, 1-byte response, one at a time
 *   connect+close N /s        connect, accept, FIN both ways, repeatedly (TIME-WAIT piles up)
 *   idle N bytes/connection   heap and ArrayBuffer growth per idle ESTABLISHED endpoint
 *
 * Every loop is bounded. The memory figure needs full collections: the script enables `gc` itself
 * when node was not started with `--expose-gc`. `BENCH_ONLY=bulk` runs one part (for profiling).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { unwrap } from '../src/core/result.js';
import { Rng } from '../src/core/rng.js';
import { parseIpv4Address } from '../src/ip/address.js';
import type { Stack } from '../src/socket-api/stack.js';
import { VirtualNetwork } from '../src/socket-api/virtual-network.js';
import type { TcpConnection } from '../src/tcp/connection.js';

const SERVER = parseIpv4Address('10.0.0.2')!;
const PORT = 5001;

function pair(seed = 1): { net: VirtualNetwork; client: Stack; server: Stack } {
  const net = new VirtualNetwork(seed);
  const client = net.createStack('client');
  const server = net.createStack('server');
  net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
  return { net, client, server };
}

/** `gc` from `--expose-gc`, or turned on here so that `npm run bench:tcp` needs no flag. */
const exposedGc: (() => void) | undefined =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as (() => void) | undefined;
  })();
/** Full collections until the heap stops shrinking (one is not always enough). */
function collect(): void {
  if (!exposedGc) return;
  let previous = Infinity;
  for (let i = 0; i < 10; i++) {
    exposedGc();
    const used = process.memoryUsage().heapUsed;
    if (used >= previous) break;
    previous = used;
  }
}
const seconds = (startedAt: number) => (performance.now() - startedAt) / 1000;

/** `connections` bulk transfers of `bytes` each, client → server; returns Gbit/s of payload. */
function bulk(connections: number, bytes: number): number {
  const { net, client, server } = pair();
  const data = new Rng(7).bytes(1 << 20);
  const listener = unwrap(server.tcp.listen(0, PORT));
  let received = 0;
  listener.onAcceptable = () => {
    for (let c = listener.accept(); c !== null; c = listener.accept()) {
      const connection = c;
      connection.events.onReadable = () => {
        for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) received += chunk.length;
      };
    }
  };
  for (let i = 0; i < connections; i++) {
    const connection = unwrap(client.tcp.connect(SERVER, PORT));
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const offset = sent % data.length;
        const result = connection.send(data.subarray(offset, Math.min(data.length, offset + (bytes - sent))));
        if (!result.ok || result.value === 0) break;
        sent += result.value;
      }
    };
    connection.events.onConnect = pump;
    connection.events.onWritable = pump;
  }
  const total = connections * bytes;
  const startedAt = performance.now();
  net.runUntil(() => received >= total, 600_000);
  return (total * 8) / seconds(startedAt) / 1e9;
}

/** 1-byte request/response transactions per wall second on one connection. */
function requestResponse(transactions: number): number {
  const { net, client, server } = pair();
  const listener = unwrap(server.tcp.listen(0, PORT));
  listener.onAcceptable = () => {
    const connection = listener.accept()!;
    connection.events.onReadable = () => {
      for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) connection.send(chunk);
    };
  };
  const request = new Uint8Array([42]);
  const connection = unwrap(client.tcp.connect(SERVER, PORT));
  let done = 0;
  connection.events.onConnect = () => connection.send(request);
  connection.events.onReadable = () => {
    for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) {
      done += chunk.length;
      if (done < transactions) connection.send(request);
    }
  };
  net.runUntil(() => connection.state === 'ESTABLISHED', 10_000);
  const startedAt = performance.now();
  const first = done;
  net.runUntil(() => done >= transactions, 3_600_000);
  return (done - first) / seconds(startedAt);
}

/** Connections opened, used for nothing, and closed both ways, per wall second. */
function connectClose(count: number): number {
  const { net, client, server } = pair();
  const listener = unwrap(server.tcp.listen(0, PORT, 65535));
  listener.onAcceptable = () => {
    for (let c = listener.accept(); c !== null; c = listener.accept()) {
      const connection = c;
      connection.events.onReadable = () => {
        if (connection.endOfStream) connection.close();
      };
    }
  };
  const startedAt = performance.now();
  for (let i = 0; i < count; i++) {
    const connection = unwrap(client.tcp.connect(SERVER, PORT));
    connection.events.onConnect = () => connection.close();
    // Our side ends in TIME-WAIT (60 s of virtual time, which never passes here): it stays in
    // the table, as on a busy client.
    net.runUntil(() => connection.state === 'TIME-WAIT' || connection.state === 'CLOSED', 10_000);
  }
  return count / seconds(startedAt);
}

/** Memory per idle ESTABLISHED endpoint, from `count` connections (2·count endpoints). */
function idleMemory(count: number): number {
  const { net, client, server } = pair();
  const listener = unwrap(server.tcp.listen(0, PORT, 65535));
  const accepted: TcpConnection[] = [];
  listener.onAcceptable = () => {
    for (let c = listener.accept(); c !== null; c = listener.accept()) accepted.push(c);
  };
  net.runUntilIdle(1000);
  collect();
  const before = process.memoryUsage();
  const connections: TcpConnection[] = [];
  for (let i = 0; i < count; i++) connections.push(unwrap(client.tcp.connect(SERVER, PORT)));
  net.runUntil(() => accepted.length === count, 60_000);
  net.runUntilIdle(1000);
  collect();
  const after = process.memoryUsage();
  const grown = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  if (connections.some((c) => c.state !== 'ESTABLISHED')) throw new Error('idleMemory: not every connection is established');
  return grown / (2 * count);
}

const only = process.env.BENCH_ONLY;
const run = (name: string) => only === undefined || only === name;
if (run('bulk')) console.log(`bulk ${bulk(1, 200_000_000).toFixed(2)} Gbit/s`);
if (run('bulk16')) console.log(`bulk16 ${bulk(16, 12_500_000).toFixed(2)} Gbit/s`);
if (run('rr')) console.log(`rr ${Math.round(requestResponse(50_000))} transactions/s`);
if (run('connect')) console.log(`connect+close ${Math.round(connectClose(5000))} /s`);
if (run('idle')) console.log(`idle ${Math.round(idleMemory(2000))} bytes/connection${exposedGc ? '' : ' (no --expose-gc: includes garbage)'}`);
