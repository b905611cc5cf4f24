/**
 * Runs the same Node-style scenario against Node's own `net`/`dgram` on 127.0.0.1 and against
 * ustack's drop-ins (one stack over loopback in real time; two stacks on the virtual network in
 * virtual time), so tests can compare what each one emits.
 */
import * as nodeDgram from 'node:dgram';
import * as nodeNet from 'node:net';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Where a scenario runs: a server side and a client side (the same module on one host). */
export interface Environment {
  readonly name: 'node' | 'loopback' | 'virtual';
  /** The module servers use. */
  readonly serverNet: any;
  /** The module clients use. */
  readonly clientNet: any;
  readonly serverDgram: any;
  readonly clientDgram: any;
  /** The address clients reach the server at. */
  readonly serverHost: string;
  /** The address the server sees clients at. */
  readonly clientHost: string;
  /** Runs asynchronous scenario code to completion in this environment's time. */
  run<T>(scenario: () => Promise<T>): Promise<T>;
  /** Releases drivers. */
  dispose(): void;
  /** The stacks, for internal-error checks (none for Node). */
  readonly stacks: Stack[];
}

/** Node's own modules on 127.0.0.1. */
export function nodeEnvironment(): Environment {
  return {
    name: 'node',
    serverNet: nodeNet,
    clientNet: nodeNet,
    serverDgram: nodeDgram,
    clientDgram: nodeDgram,
    serverHost: '127.0.0.1',
    clientHost: '127.0.0.1',
    run: (scenario) => scenario(),
    dispose: () => {},
    stacks: [],
  };
}

/** One ustack stack over its loopback interface, driven in real time. */
export function loopbackEnvironment(seed = 1): Environment {
  const stack = new Stack({ name: 'local', seed });
  const driver = new RealtimeDriver(stack).start();
  return {
    name: 'loopback',
    serverNet: stack.net,
    clientNet: stack.net,
    serverDgram: stack.dgram,
    clientDgram: stack.dgram,
    serverHost: '127.0.0.1',
    clientHost: '127.0.0.1',
    run: (scenario) => scenario(),
    dispose: () => driver.stop(),
    stacks: [stack],
  };
}

/** Two ustack stacks on a virtual wire (10.0.0.1 client, 10.0.0.2 server), in virtual time. */
export function virtualEnvironment(seed = 1, latencyMs = 1): Environment & { network: VirtualNetwork; client: Stack; server: Stack } {
  const network = new VirtualNetwork(seed);
  const client = network.createStack('client');
  const server = network.createStack('server');
  network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs });
  return {
    name: 'virtual',
    serverNet: server.net,
    clientNet: client.net,
    serverDgram: server.dgram,
    clientDgram: client.dgram,
    serverHost: '10.0.0.2',
    clientHost: '10.0.0.1',
    run: (scenario) => network.runAsync(scenario, { limitMs: 600_000 }),
    dispose: () => {},
    stacks: [client, server],
    network,
    client,
    server,
  };
}

/** Resolves with the arguments of the next `event` on `emitter`. */
export function once(emitter: any, event: string): Promise<any[]> {
  return new Promise((resolve) => emitter.once(event, (...args: any[]) => resolve(args)));
}

/** Resolves after `ms` of real time (Node and loopback only). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves after one turn of the event loop. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Records events in order, with a short description of each. */
export class EventLog {
  readonly entries: string[] = [];
  add(entry: string): void {
    this.entries.push(entry);
  }
  /** Logs every named event of `emitter` under `prefix`. */
  watch(emitter: any, prefix: string, events: readonly string[], describe: (event: string, args: any[]) => string = defaultDescribe): this {
    for (const event of events) emitter.on(event, (...args: any[]) => this.add(`${prefix} ${describe(event, args)}`));
    return this;
  }
}

function defaultDescribe(event: string, args: any[]): string {
  if (event === 'close' && args.length > 0) return `close(${String(args[0])})`;
  if (event === 'error') return `error(${describeError(args[0])})`;
  if (event === 'data' || event === 'message') return `${event}(${String(args[0])})`;
  return event;
}

/** `code: message`, with port numbers and addresses replaced so environments compare. */
export function describeError(error: any): string {
  return `${error?.code}: ${normalize(String(error?.message))}`;
}

/** Replaces ports and our addresses by placeholders. */
export function normalize(text: string): string {
  return text.replace(/\b(127\.0\.0\.1|10\.0\.0\.[12]|0\.0\.0\.0):\d+/g, 'HOST:PORT').replace(/\b(127\.0\.0\.1|10\.0\.0\.[12])\b/g, 'HOST');
}

/** A port no one listens on (Node: one just released; ustack: any unused). */
export async function closedPort(env: Environment): Promise<number> {
  const server = env.serverNet.createServer();
  await new Promise<void>((resolve) => server.listen(0, env.serverHost, resolve));
  const port = server.address().port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
