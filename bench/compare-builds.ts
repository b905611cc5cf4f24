/**
 * Two builds of ustack in one process, measured in turns: the checkout this script was built in
 * and another one (`OTHER` — a clone at an older commit, built with `npx tsc -p
 * tsconfig.build.json`). Each round runs the same small workload on one build and then on the
 * other (the order alternating), timed in CPU time of this process, and the script prints the
 * median round of each and the ratio of their speeds.
 *
 * Why: on a shared machine, wall-clock figures of two separate runs differ by ±20% with the load
 * and with what the JIT happened to compile, which hides a regression of 10–30%. Paired rounds in
 * one process share the load and the machine's state, so the ratio holds where the separate
 * figures do not (run it with the same directory twice to see the noise: about 1.00 ± 0.02).
 *
 *   npm run bench:compare -- /tmp/base [rr|connect|bulk] [rounds]
 *
 * Rounds: rr 5,000 one-byte transactions, connect 500 connections opened and closed, bulk 20 MB
 * on one connection — the parts of bench/tcp-virtual.ts, on the same two-stack virtual network.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The parts of a build the workloads use, as its modules export them. */
interface Build {
  readonly name: string;
  readonly VirtualNetwork: new (seed?: number) => Network;
  readonly unwrap: <T>(result: unknown) => T;
  readonly server: number;
}
interface Network {
  createStack(name: string): Stack;
  connect(a: { stack: Stack; address: string }, b: { stack: Stack; address: string }, options: { latencyMs: number }): void;
  runUntil(condition: () => boolean, limitMs: number): void;
}
interface Stack {
  readonly tcp: {
    listen(address: number, port: number, backlog?: number): unknown;
    connect(address: number, port: number): unknown;
  };
}
interface Listener {
  onAcceptable: (() => void) | null;
  accept(): Connection | null;
}
interface Connection {
  readonly state: string;
  readonly endOfStream: boolean;
  events: { onReadable?: () => void; onConnect?: () => void; onWritable?: () => void };
  receive(): Uint8Array;
  send(data: Uint8Array): { ok: boolean; value?: number };
  close(): void;
}

const PORT = 5001;

async function load(directory: string, name: string): Promise<Build> {
  const module = (path: string) => import(pathToFileURL(resolve(directory, path)).href);
  const [network, result, address] = await Promise.all([
    module('src/socket-api/virtual-network.js'),
    module('src/core/result.js'),
    module('src/ip/address.js'),
  ]);
  return { name, VirtualNetwork: network.VirtualNetwork, unwrap: result.unwrap, server: address.parseIpv4Address('10.0.0.2') };
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function pair(build: Build): { net: Network; client: Stack; server: Stack } {
  const net = new build.VirtualNetwork(1);
  const client = net.createStack('client');
  const server = net.createStack('server');
  net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
  return { net, client, server };
}

/** CPU ms of `transactions` 1-byte requests and responses, one at a time. */
function requestResponse(build: Build, transactions: number): number {
  const { net, client, server } = pair(build);
  const listener = build.unwrap<Listener>(server.tcp.listen(0, PORT));
  listener.onAcceptable = () => {
    const connection = listener.accept()!;
    connection.events.onReadable = () => {
      for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) connection.send(chunk);
    };
  };
  const request = new Uint8Array([42]);
  const connection = build.unwrap<Connection>(client.tcp.connect(build.server, PORT));
  let done = 0;
  connection.events.onConnect = () => connection.send(request);
  connection.events.onReadable = () => {
    for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) {
      done += chunk.length;
      if (done < transactions) connection.send(request);
    }
  };
  net.runUntil(() => connection.state === 'ESTABLISHED', 10_000);
  const startedAt = cpuMs();
  net.runUntil(() => done >= transactions, 3_600_000);
  return cpuMs() - startedAt;
}

/** CPU ms of `count` connections opened and closed both ways, one after another. */
function connectClose(build: Build, count: number): number {
  const { net, client, server } = pair(build);
  const listener = build.unwrap<Listener>(server.tcp.listen(0, PORT, 65535));
  listener.onAcceptable = () => {
    for (let accepted = listener.accept(); accepted !== null; accepted = listener.accept()) {
      const connection = accepted;
      connection.events.onReadable = () => {
        if (connection.endOfStream) connection.close();
      };
    }
  };
  const startedAt = cpuMs();
  for (let i = 0; i < count; i++) {
    const connection = build.unwrap<Connection>(client.tcp.connect(build.server, PORT));
    connection.events.onConnect = () => connection.close();
    net.runUntil(() => connection.state === 'TIME-WAIT' || connection.state === 'CLOSED', 10_000);
  }
  return cpuMs() - startedAt;
}

/** CPU ms of `bytes` sent over one connection. */
function bulk(build: Build, bytes: number): number {
  const { net, client, server } = pair(build);
  const data = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 0xff);
  const listener = build.unwrap<Listener>(server.tcp.listen(0, PORT));
  let received = 0;
  listener.onAcceptable = () => {
    const connection = listener.accept()!;
    connection.events.onReadable = () => {
      for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) received += chunk.length;
    };
  };
  const connection = build.unwrap<Connection>(client.tcp.connect(build.server, PORT));
  let sent = 0;
  const pump = () => {
    while (sent < bytes) {
      const result = connection.send(data.subarray(0, Math.min(data.length, bytes - sent)));
      const taken = result.ok ? (result.value ?? 0) : 0;
      if (taken <= 0) break;
      sent += taken;
    }
  };
  connection.events.onConnect = pump;
  connection.events.onWritable = pump;
  const startedAt = cpuMs();
  net.runUntil(() => received >= bytes, 600_000);
  return cpuMs() - startedAt;
}

const WORKLOADS: Record<string, (build: Build) => number> = {
  rr: (build) => requestResponse(build, 5_000),
  connect: (build) => connectClose(build, 500),
  bulk: (build) => bulk(build, 20_000_000),
};

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

async function main(): Promise<void> {
  const [other, part = 'rr', roundsText = '30'] = process.argv.slice(2);
  const workload = WORKLOADS[part];
  const rounds = Number(roundsText);
  if (!other || !workload || !(rounds > 0)) {
    console.error('usage: npm run bench:compare -- OTHER_CHECKOUT [rr|connect|bulk] [rounds]   (OTHER_CHECKOUT built: dist/ present)');
    process.exit(2);
  }
  const here = await load(new URL('..', import.meta.url).pathname, 'this build');
  const there = await load(resolve(other, 'dist'), other);
  for (let i = 0; i < 3; i++) for (const build of [here, there]) workload(build); // both compiled before timing
  const times = new Map<Build, number[]>([
    [here, []],
    [there, []],
  ]);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [here, there] : [there, here];
    for (const build of order) times.get(build)!.push(workload(build));
  }
  const ours = median(times.get(here)!);
  const theirs = median(times.get(there)!);
  const ratios = times
    .get(there)!
    .map((t, i) => t / times.get(here)![i])
    .sort((a, b) => a - b);
  console.log(`${part}, ${rounds} paired rounds, CPU ms per round (median): this build ${ours.toFixed(1)}, ${other} ${theirs.toFixed(1)}`);
  console.log(
    `speed of this build / ${other}: ${median(ratios).toFixed(3)} (median of the rounds' ratios; quartiles ${ratios[rounds >> 2].toFixed(2)}–${ratios[(3 * rounds) >> 2].toFixed(2)})`,
  );
}

await main();
