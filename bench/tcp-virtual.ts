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
 * Each rate is the median of BENCH_RUNS runs (3) after one discarded run, every run printed.
 * Every loop is bounded. The memory figure needs full collections: the script enables `gc` itself
 * when node was not started with `--expose-gc`. `BENCH_ONLY=bulk` runs one part (for profiling).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { unwrap } from '../src/core/result.js';
import { Rng } from '../src/core/rng.js';
import { parseIpv4Address } from '../src/ip/address.js';
import { VirtualNetwork } from '../src/socket-api/virtual-network.js';
import type { TcpConnection } from '../src/tcp/connection.js';
import { bulk, connectClose, pair, requestResponse, type Build } from './tcp-workloads.js';

/** This checkout's build, as the workloads (tcp-workloads.ts) take it. */
const build: Build = { VirtualNetwork, Rng, unwrap, parseIpv4Address };
const wall = () => performance.now();

const SERVER = parseIpv4Address('10.0.0.2')!;
const PORT = 5001;

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

/** Memory per idle ESTABLISHED endpoint, from `count` connections (2·count endpoints). */
function idleMemory(count: number): number {
  const { net, client, server } = pair(build);
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
/** Measured runs of each workload, after one discarded run of the same size (JIT and heap settle first). */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/**
 * A rate from `RUNS` runs of `measure` (each returns the rate of one run), after one discarded
 * run: the median, and every run, so that the spread shows. A single cold run measures V8's
 * compilation as much as the stack (connect+close ran 3.5–4k/s cold and 8–20k/s warm).
 */
function median(name: string, unit: string, digits: number, measure: () => number): void {
  measure();
  const rates = Array.from({ length: RUNS }, measure);
  const sorted = [...rates].sort((a, b) => a - b);
  const show = (rate: number) => rate.toFixed(digits);
  console.log(`${name} ${show(sorted[Math.floor((sorted.length - 1) / 2)])} ${unit} (runs: ${rates.map(show).join(', ')})`);
}

/** Payload Gbit/s of `connections` transfers of `bytes` each. */
const gbits = (connections: number, bytes: number) => (connections * bytes * 8) / (bulk(build, wall, connections, bytes) / 1000) / 1e9;
const transactions = (count: number) => count / (requestResponse(build, wall, count) / 1000);
const connections = (count: number) => count / (connectClose(build, wall, count) / 1000);
if (run('bulk')) median('bulk', 'Gbit/s', 2, () => gbits(1, 200_000_000));
if (run('bulk16')) median('bulk16', 'Gbit/s', 2, () => gbits(16, 12_500_000));
if (run('rr')) median('rr', 'transactions/s', 0, () => transactions(50_000));
if (run('connect')) median('connect+close', '/s', 0, () => connections(5000));
if (run('idle')) console.log(`idle ${Math.round(idleMemory(2000))} bytes/connection${exposedGc ? '' : ' (no --expose-gc: includes garbage)'}`);
