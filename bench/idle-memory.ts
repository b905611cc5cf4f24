/**
 * Memory at rest, on the virtual network (two stacks in one process, one wire, 1 ms one way,
 * default TCP settings). Prints:
 *
 *   idle           N established connections opened in batches and left idle: heap and
 *                  ArrayBuffer growth (full collections before and after) divided by the 2·N
 *                  endpoints — the resting size of an endpoint, buffers included
 *   account        what an idle endpoint holds, by object kind: two heap snapshots (before and
 *                  after `--account` connections) diffed by constructor, per endpoint
 *   connect+close  connections opened and closed both ways per CPU second (the process's user +
 *                  system time, which other work on a shared machine does not stretch as it
 *                  stretches wall time) on a fresh pair, again with `--time-wait` connections
 *                  left in TIME-WAIT on the same pair, and once more after their 2·MSL passed
 *                  (the same heap and JIT state without the entries: what the entries cost is
 *                  the second rate against this third); and the heap each TIME-WAIT entry costs
 *
 * `node --expose-gc dist/bench/idle-memory.js [--connections 100000] [--account 2000]
 * [--time-wait 1000000] [--only idle|account|time-wait]`; `npm run bench:idle` runs the defaults.
 * Full collections need `gc`: the script turns it on itself when node was started without
 * `--expose-gc`. Every loop is bounded.
 */
import { setFlagsFromString, getHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { unwrap } from '../src/core/result.js';
import { parseIpv4Address } from '../src/ip/address.js';
import type { Stack } from '../src/socket-api/stack.js';
import { VirtualNetwork } from '../src/socket-api/virtual-network.js';
import type { TcpConnection } from '../src/tcp/connection.js';

const SERVER = parseIpv4Address('10.0.0.2')!;
/** Client ports used explicitly (connect with a local port): 64,512 per server port. */
const FIRST_CLIENT_PORT = 1024;
const CLIENT_PORTS = 65536 - FIRST_CLIENT_PORT;
/** Connections opened at once; the rest wait for the batch to be accepted. */
const BATCH = 2000;

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const only = (() => {
  const at = process.argv.indexOf('--only');
  return at >= 0 ? process.argv[at + 1] : undefined;
})();
const run = (part: string) => only === undefined || only === part;

function pair(): { net: VirtualNetwork; client: Stack; server: Stack } {
  const net = new VirtualNetwork(1);
  const client = net.createStack('client');
  const server = net.createStack('server');
  net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
  return { net, client, server };
}

/** `gc` from `--expose-gc`, or turned on here. */
const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();

/** Full collections until the heap stops shrinking; returns heap plus ArrayBuffer bytes. */
function collectedBytes(): number {
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

/** The `index`-th 4-tuple's server port and client port: client ports first, then the next server port. */
function tuple(index: number, firstServerPort: number): { serverPort: number; clientPort: number } {
  return { serverPort: firstServerPort + Math.floor(index / CLIENT_PORTS), clientPort: FIRST_CLIENT_PORT + (index % CLIENT_PORTS) };
}

/** Listeners on the server ports `count` connections need; accepted connections go to `accepted`. */
function listen(server: Stack, firstServerPort: number, count: number, onAccept: (connection: TcpConnection) => void): void {
  const ports = Math.ceil(count / CLIENT_PORTS);
  for (let p = 0; p < ports; p++) {
    const listener = unwrap(server.tcp.listen(0, firstServerPort + p, 65535));
    listener.onAcceptable = () => {
      for (let c = listener.accept(); c !== null; c = listener.accept()) onAccept(c);
    };
  }
}

/** Opens `count` connections in batches and runs until each is accepted; returns the client ends. */
function openIdle(net: VirtualNetwork, client: Stack, server: Stack, count: number, accepted: TcpConnection[]): TcpConnection[] {
  listen(server, 5001, count, (c) => accepted.push(c));
  const connections: TcpConnection[] = [];
  while (connections.length < count) {
    const end = Math.min(count, connections.length + BATCH);
    for (let i = connections.length; i < end; i++) {
      const { serverPort, clientPort } = tuple(i, 5001);
      connections.push(unwrap(client.tcp.connect(SERVER, serverPort, { localPort: clientPort })));
    }
    net.runUntil(() => accepted.length === end, 10_000);
  }
  // Let the last handshake ACKs and any delayed ACK go: nothing is left to do after this.
  net.runUntilIdle(1000);
  if (connections.some((c) => c.state !== 'ESTABLISHED') || accepted.some((c) => c.state !== 'ESTABLISHED')) {
    throw new Error('idle: not every connection is established');
  }
  return connections;
}

/** Bytes per idle ESTABLISHED endpoint, from `count` connections. */
function idle(count: number): void {
  const { net, client, server } = pair();
  const accepted: TcpConnection[] = [];
  const before = collectedBytes();
  const startedAt = performance.now();
  const connections = openIdle(net, client, server, count, accepted);
  const seconds = (performance.now() - startedAt) / 1000;
  const grown = collectedBytes() - before;
  console.log(
    `idle ${count} connections (${2 * count} endpoints, opened in ${seconds.toFixed(1)} s): ` +
      `${(grown / 2 ** 20).toFixed(1)} MiB, ${Math.round(grown / (2 * count))} bytes/endpoint`,
  );
  // What rest should have left: nothing beyond the variables (TcpConnection.heldWhileBusy).
  const busy = [...connections, ...accepted].filter((c) => c.heldWhileBusy().length > 0).length;
  console.log(`idle endpoints holding more than their variables (timers, queues, buffers, busy record): ${busy} of ${2 * count}`);
}

/** Reads a whole heap snapshot and sums self sizes by node type and constructor name. */
async function heapByKind(): Promise<Map<string, { count: number; bytes: number }>> {
  gc();
  const chunks: string[] = [];
  for await (const chunk of getHeapSnapshot()) chunks.push(typeof chunk === 'string' ? chunk : String(chunk));
  const snapshot = JSON.parse(chunks.join('')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snapshot.snapshot.meta.node_types[0];
  const kinds = new Map<string, { count: number; bytes: number }>();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    // Objects and arrays by constructor; numbers, strings and the like by type alone.
    const kind = type === 'object' || type === 'array' || type === 'closure' ? `${type} ${strings[nodes[i + nameAt]] || '(anonymous)'}` : type;
    const entry = kinds.get(kind) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + sizeAt];
    kinds.set(kind, entry);
  }
  return kinds;
}

/** What `count` idle connections added to the heap, by object kind, per endpoint. */
async function account(count: number): Promise<void> {
  // Warm-up on another pair: the code the connections run is compiled before the first snapshot.
  const warm = pair();
  openIdle(warm.net, warm.client, warm.server, count, []);
  const { net, client, server } = pair();
  const accepted: TcpConnection[] = [];
  const before = await heapByKind();
  const connections = openIdle(net, client, server, count, accepted);
  const after = await heapByKind();
  const endpoints = 2 * count;
  const rows: { kind: string; count: number; bytes: number }[] = [];
  for (const [kind, entry] of after) {
    const earlier = before.get(kind) ?? { count: 0, bytes: 0 };
    rows.push({ kind, count: entry.count - earlier.count, bytes: entry.bytes - earlier.bytes });
  }
  rows.sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  console.log(`account of ${count} idle connections: ${Math.round(total / endpoints)} heap bytes/endpoint (ArrayBuffer contents not included)`);
  for (const row of rows) {
    if (row.bytes / endpoints < 4) break;
    console.log(`  ${(row.bytes / endpoints).toFixed(1).padStart(7)} bytes ${(row.count / endpoints).toFixed(2).padStart(6)} objects  ${row.kind}`);
  }
  if (connections.length + accepted.length !== endpoints) throw new Error('unreachable');
}

/** The process's CPU time so far (user + system), in seconds. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Connections opened, used for nothing and closed both ways, per CPU second: the client
 * closes first and keeps the TIME-WAIT (60 s of virtual time, which pass only when run).
 * `first` numbers the 4-tuples (tuple()), so that every call uses new ones.
 */
function connectClose(net: VirtualNetwork, client: Stack, first: number, count: number, firstServerPort: number): number {
  const startedAt = cpuSeconds();
  let done = 0;
  for (let start = first; start < first + count; start += BATCH) {
    const end = Math.min(first + count, start + BATCH);
    // Each connection of the batch reaches TIME-WAIT once (the counter of that transition).
    const target = client.stats.get('tcp.state.TIME-WAIT') + (end - start);
    for (let i = start; i < end; i++) {
      const { serverPort, clientPort } = tuple(i, firstServerPort);
      const connection = unwrap(client.tcp.connect(SERVER, serverPort, { localPort: clientPort }));
      connection.events.onConnect = () => connection.close();
    }
    net.runUntil(() => client.stats.get('tcp.state.TIME-WAIT') >= target, 10_000);
    done += end - start;
  }
  return done / (cpuSeconds() - startedAt);
}

/** connect+close rates without and with `count` TIME-WAIT entries, and the heap per entry. */
function timeWait(count: number): void {
  const { net, client, server } = pair();
  const sample = 10_000;
  // Server ports: 6000 for the samples before the fill and after the expiry (its TIME-WAITs
  // are gone by then), the fill's from 6001, then the sample with the entries.
  const fillPorts = Math.ceil(count / CLIENT_PORTS);
  listen(server, 6000, (fillPorts + 2) * CLIENT_PORTS, (c) => {
    c.events.onReadable = () => {
      if (c.endOfStream) c.close();
    };
  });
  /**
   * connect+close per CPU second on `serverPort`: a warm-up sample first, then the measured one.
   * The warm-up matters: right after the full collections of collectedBytes() a sample ran at
   * 0.43× (with 10 TIME-WAIT entries as with 1,000,000), the code compiled again as it ran.
   */
  const rate = (serverPort: number): number => {
    connectClose(net, client, sample, sample, serverPort);
    net.runUntil(() => server.tcp.listConnections().length === 0, 10_000);
    const measured = connectClose(net, client, 0, sample, serverPort);
    net.runUntil(() => server.tcp.listConnections().length === 0, 10_000);
    return measured;
  };
  const rateBefore = rate(6000);
  const before = collectedBytes();
  const startedAt = performance.now();
  const fillRate = connectClose(net, client, 0, count, 6000 + 1);
  net.runUntil(() => server.tcp.listConnections().length === 0, 10_000);
  const grown = collectedBytes() - before;
  const fillSeconds = (performance.now() - startedAt) / 1000;
  const rateAfter = rate(6000 + 1 + fillPorts);
  // Every entry's 2·MSL (60 s) passes; port 6000's client ports are free again.
  net.run(61_000);
  const left = client.stats.get('tcp.state.TIME-WAIT') - client.stats.get('tcp.timeWait.expired');
  const rateExpired = rate(6000);
  console.log(`connect+close ${Math.round(rateBefore)} /s with no TIME-WAIT entry (${sample} connections)`);
  console.log(
    `time-wait ${count} entries made in ${fillSeconds.toFixed(1)} s (${Math.round(fillRate)} /s): ` +
      `${(grown / 2 ** 20).toFixed(1)} MiB, ${Math.round(grown / count)} bytes/entry`,
  );
  console.log(
    `connect+close ${Math.round(rateAfter)} /s with ${count} TIME-WAIT entries (${sample} connections): ${(rateAfter / rateBefore).toFixed(2)}× the first`,
  );
  console.log(`connect+close ${Math.round(rateExpired)} /s after they expired (${left} left): with the entries ${(rateAfter / rateExpired).toFixed(2)}× this`);
}

if (run('idle')) idle(argument('connections', 100_000));
if (run('account')) await account(argument('account', 2000));
if (run('time-wait')) timeWait(argument('time-wait', 1_000_000));
