/**
 * HTTP on two ustack stacks in one process, in CPU time per request (a benchmark, not a test; no
 * root, no device, bounded):
 *
 *   npm run bench:http-virtual [-- --requests 300] [--rounds 31] [--connections 10] [--other /tmp/base]
 *
 * What `ustack up --serve http` does per request, without the TUN device: the http service of
 * examples/services.ts (Node's http.Server on a ustack listener through serveOnStack, its `/` the
 * stack's counters, its `/bytes/N` N zeros) on one stack, and Node's http client on another (an
 * http.Agent with keep-alive whose connections come from that stack's `net`), the two joined by a
 * virtual wire (MTU 1500, with segmentation offload as `up` opens its TUN). Each stack has its own
 * RealtimeDriver, as `up`'s has: a frame put on the wire wakes the other side's driver, as a TUN
 * read wakes `up`'s. Beside it, in the same process and rounds, the reference: Node's http server
 * and client on the kernel's loopback, the same handler for `/bytes/N` and for `/` a page as long
 * as ustack's.
 *
 * Each round runs `--requests` requests of each path over `--connections` keep-alive connections
 * (each connection one request at a time) on every setup in turn, and counts the process's CPU
 * time (user + system, process.cpuUsage) — the machine is shared, so wall time says little; the
 * kernel's own work on loopback is mostly system time of this process. Printed: the median round's
 * CPU µs per request for each setup and path, and the ratios. `--other DIR` adds a second build of
 * ustack (a clone at another commit, built with `npx tsc -p tsconfig.build.json`), run in the same
 * rounds: a before/after pair that shares the machine's load (its noise, the same build paired
 * against itself under a load of 10: 0.92 to 1.08, so repeat a pair before believing 5%). Every
 * response is checked (status and length); a wrong one stops the run.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { sendZeros } from '../examples/services.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '31' },
    connections: { type: 'string', default: '10' },
    paths: { type: 'string', default: '/,/bytes/1000' },
    other: { type: 'string' },
    only: { type: 'string' },
  },
});
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = Number(values.connections);
const PATHS = values.paths.split(',');
if (!(REQUESTS > 0) || !(ROUNDS > 0) || !(CONNECTIONS > 0)) {
  console.error(
    'usage: npm run bench:http-virtual -- [--requests N] [--rounds N] [--connections N] [--paths /,/bytes/1000] [--other DIR] [--only ustack|kernel]',
  );
  process.exit(2);
}
const SERVER_ADDRESS = '10.0.0.2';
const PORT = 80;

/** What a setup offers a round: an agent and where to send requests. */
interface Setup {
  readonly name: string;
  readonly agent: http.Agent;
  readonly host: string;
  readonly port: number;
  /** Stops servers, drivers and agents. */
  close(): void;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- another build's modules are untyped here */
/** The modules of the build in `directory` (a dist/ folder) that a ustack setup needs. */
async function loadBuild(directory: string) {
  const module = (path: string): Promise<any> => import(pathToFileURL(resolve(directory, path)).href);
  const [clock, stack, driver, wire, services] = await Promise.all([
    module('src/core/clock.js'),
    module('src/socket-api/stack.js'),
    module('src/socket-api/realtime-driver.js'),
    module('src/link/virtual-wire.js'),
    module('examples/services.js'),
  ]);
  return {
    SystemClock: clock.SystemClock,
    Stack: stack.Stack,
    RealtimeDriver: driver.RealtimeDriver,
    VirtualWire: wire.VirtualWire,
    startHttpServer: services.startHttpServer,
  };
}

/** Two stacks of the build in `directory` on a wire, `up`'s http service on one, an agent on the other. */
async function ustackSetup(name: string, directory: string): Promise<Setup> {
  const build = await loadBuild(directory);
  const server = new build.Stack({ name: 'server', seed: 1 });
  const client = new build.Stack({ name: 'client', seed: 2 });
  const wire = new build.VirtualWire({ name: 'wire', mtu: 1500, segmentationOffload: true });
  // One clock for both: a frame is stamped with its sender's time, and a receiver whose clock
  // started later would hold it back until its own clock caught up.
  const clock = new build.SystemClock();
  const serverDriver = new build.RealtimeDriver(server, clock).start();
  const clientDriver = new build.RealtimeDriver(client, clock).start();
  // A frame put on the wire wakes the other end's driver, as a TUN read wakes `up`'s.
  const wake = (end: any, peerDriver: any) => {
    const transmit = end.transmit.bind(end);
    end.transmit = (frame: Uint8Array, now: number, segmentSize?: number) => {
      transmit(frame, now, segmentSize);
      peerDriver.pollSoon();
    };
  };
  wake(wire.a, serverDriver);
  wake(wire.b, clientDriver);
  client.addInterface({ name: 'eth0', link: wire.a, address: '10.0.0.1/24' });
  server.addInterface({ name: 'eth0', link: wire.b, address: `${SERVER_ADDRESS}/24` });
  const stopHttp = build.startHttpServer(server, PORT);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  (agent as unknown as { createConnection: (options: object, callback: unknown) => Socket }).createConnection = (options, callback) =>
    client.net.createConnection(options, callback);
  return {
    name,
    agent,
    host: SERVER_ADDRESS,
    port: PORT,
    close() {
      agent.destroy();
      stopHttp();
      serverDriver.stop();
      clientDriver.stop();
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Node's http on the kernel's loopback: the service's handler for `/bytes/N`, and `/` a page of `pageLength` bytes. */
async function kernelSetup(pageLength: number): Promise<Setup> {
  const page = 'k'.repeat(pageLength - 1) + '\n';
  const server = http.createServer((request, response) => {
    const bytes = /^\/bytes\/(\d+)$/.exec(request.url ?? '/');
    if (request.url === '/') {
      response.setHeader('content-type', 'text/plain; charset=utf-8');
      response.end(page);
    } else if (bytes) {
      sendZeros(response, Number(bytes[1]));
    } else {
      response.statusCode = 404;
      response.end('not found\n');
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  return {
    name: 'kernel',
    agent,
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    close() {
      agent.destroy();
      server.close();
      server.closeAllConnections();
    },
  };
}

/** Requests sent again after a kept-alive connection closed under them, by setup. */
const retries = new Map<string, number>();

/**
 * One GET; resolves with the body's length once it has all arrived, rejects on a status other
 * than 200. A request on a reused connection that the server closed as idle just as it was sent
 * (keepAliveTimeout: the race Node's documentation describes for `request.reusedSocket`) is sent
 * again, once, and counted.
 */
function get(setup: Setup, path: string, retried = false): Promise<number> {
  return new Promise((done, fail) => {
    const request = http.get({ agent: setup.agent, host: setup.host, port: setup.port, path }, (response) => {
      let length = 0;
      response.on('data', (chunk: Buffer) => (length += chunk.length));
      response.on('end', () => (response.statusCode === 200 ? done(length) : fail(new Error(`${setup.name} ${path}: status ${response.statusCode}`))));
      response.on('error', fail);
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (!retried && request.reusedSocket && error.code === 'ECONNRESET') {
        retries.set(setup.name, (retries.get(setup.name) ?? 0) + 1);
        get(setup, path, true).then(done, fail);
      } else fail(error);
    });
  });
}

/** `count` requests of `path` over the setup's connections, each connection one at a time; every body must be `expected` bytes. */
async function run(setup: Setup, path: string, count: number, expected: number | null): Promise<void> {
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      const length = await get(setup, path);
      if (expected !== null && length !== expected) throw new Error(`${setup.name} ${path}: a body of ${length} bytes, ${expected} expected`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECTIONS, count) }, worker));
}

/** CPU time of this process (µs): user + system. */
function cpuMicroseconds(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

async function main(): Promise<void> {
  const setups: Setup[] = [];
  const here = new URL('..', import.meta.url).pathname;
  if (values.only !== 'kernel') {
    setups.push(await ustackSetup('ustack', here));
    if (values.other) setups.push(await ustackSetup('other', resolve(values.other, 'dist')));
  }
  // The kernel's `/` is as long as ustack's counters page (which grows a little as counters appear).
  const pageLength = setups.length > 0 ? await get(setups[0], '/') : 1000;
  if (values.only !== 'ustack') setups.push(await kernelSetup(pageLength));
  const expected = (path: string) => {
    const bytes = /^\/bytes\/(\d+)$/.exec(path);
    return bytes ? Number(bytes[1]) : null;
  };
  // Warm-up: every connection opened, the JIT past its first tiers, on every setup.
  for (const setup of setups) for (const path of PATHS) await run(setup, path, Math.min(REQUESTS, 1000), expected(path));
  const samples = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    // The order alternates so that no setup always runs just after the same one.
    const order = round % 2 === 0 ? setups : [...setups].reverse();
    for (const setup of order) {
      for (const path of PATHS) {
        const before = cpuMicroseconds();
        await run(setup, path, REQUESTS, expected(path));
        const perRequest = (cpuMicroseconds() - before) / REQUESTS;
        const key = `${setup.name} ${path}`;
        samples.set(key, [...(samples.get(key) ?? []), perRequest]);
      }
    }
  }
  for (const setup of setups) setup.close();
  console.log(
    `http over ${CONNECTIONS} keep-alive connections, ${REQUESTS} requests a path a round, median of ${ROUNDS} rounds, CPU µs per request (user+system); / is ${pageLength} bytes`,
  );
  for (const path of PATHS) {
    const figure = (name: string) => {
      const values = samples.get(`${name} ${path}`);
      return values ? median(values) : undefined;
    };
    const parts = setups.map((setup) => `${setup.name} ${figure(setup.name)!.toFixed(1)}`);
    const kernel = figure('kernel');
    const ustack = figure('ustack');
    const other = figure('other');
    if (kernel !== undefined && ustack !== undefined) parts.push(`kernel/ustack ${(kernel / ustack).toFixed(2)}×`);
    if (kernel !== undefined && other !== undefined) parts.push(`kernel/other ${(kernel / other).toFixed(2)}×`);
    if (other !== undefined && ustack !== undefined) parts.push(`ustack/other ${(ustack / other).toFixed(2)}`);
    console.log(`  ${path.padEnd(12)} ${parts.join('  ')}`);
  }
  if (retries.size > 0)
    console.log(`  sent again after an idle connection closed under them: ${[...retries].map(([name, count]) => `${name} ${count}`).join(', ')}`);
}

await main();
