/**
 * `ustack example NAME`: runs one of the seed programs. By default both ends run on two stacks
 * joined by a virtual wire, in virtual time (no root); `--faults` puts seeded loss, duplication
 * and reordering on the wire. With `--tun`, the server runs on a ustack stack on a real TUN
 * device (`ustack up --serve SERVICE`) and the machine's own tools are the clients.
 */
import { accepts, parseCommandLine, UsageError, type OptionSpecs } from '../src/cli/arguments.js';
import { runUp, UP_OPTIONS, type UpControls } from '../src/cli/up-command.js';
import type { FaultConfig, FaultCounterName } from '../src/link/fault-injector.js';
import { BerkeleySockets } from '../src/socket-api/berkeley.js';
import type { CounterName } from '../src/socket-api/counters.js';
import type { Stack } from '../src/socket-api/stack.js';
import { VirtualNetwork } from '../src/socket-api/virtual-network.js';
import { kvCall } from './kv-rpc/kv.js';
import { connectGateway } from './object-gateway/gateway.js';
import { describePorts, GATEWAY_PORT, SERVICES } from './services.js';
import { echoClient } from './tcp-echo.js';
import { tcpUpperClient } from './tcp-upper.js';
import { sendUdpUpperRequest, UDP_UPPER_PORT } from './udp-upper.js';

/** One runnable example: a client run against one of the services. */
interface Example {
  readonly service: keyof typeof SERVICES;
  readonly summary: string;
  /** Runs the client; resolves with how many times it tried again itself (UDP has no retransmission). */
  readonly client: (api: BerkeleySockets, stack: Stack, server: string, print: (line: string) => void) => Promise<number | void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The seed programs by name. */
export const EXAMPLES: Record<string, Example> = {
  echo: {
    service: 'echo',
    summary: 'TCP echo server (connections served at once) and client',
    client: async (api, _stack, server, print) => {
      for (const line of ['hello, echo', 'a second connection']) {
        const reply = decoder.decode(await echoClient(api, server, encoder.encode(line)));
        print(`echo client: sent ${JSON.stringify(line)}, got back ${JSON.stringify(reply)}`);
      }
    },
  },
  'tcp-upper': {
    service: 'upper',
    summary: 'TCP upper-casing server with a welcome socket, and its client',
    client: async (api, _stack, server, print) => {
      print(`tcp upper client: ${JSON.stringify(await tcpUpperClient(api, server, 'a sentence in lower case'))}`);
    },
  },
  'udp-upper': {
    service: 'upper',
    summary: 'UDP upper-casing server (one socket for every client) and client',
    // UDP does not retransmit: a client that must get an answer tries again (here every second).
    client: (_api, stack, server, print) =>
      new Promise<number>((resolve, reject) => {
        let attempt = 0;
        const tryOnce = () => {
          if (++attempt > 10) return reject(new Error('udp upper: no reply after 10 tries'));
          const socket = sendUdpUpperRequest(stack, server, UDP_UPPER_PORT, 'datagrams carry their own addresses', (reply, from) => {
            cancel();
            print(`udp upper client: ${JSON.stringify(reply)} from ${from}${attempt > 1 ? ` (try ${attempt})` : ''}`);
            resolve(attempt - 1);
          });
          const cancel = stack.schedule(stack.currentTimeForCalls() + 1000, () => {
            socket.close();
            tryOnce();
          });
        };
        tryOnce();
      }),
  },
  kv: {
    service: 'kv',
    summary: 'key-value RPC (8-byte header + JSON, GET/PUT)',
    client: async (api, _stack, server, print) => {
      print(`kv client: ${JSON.stringify(await kvCall(api, server, { func: 'PUT', params: { obj: 'colour', val: 'blue' } }))}`);
      print(`kv client: ${JSON.stringify(await kvCall(api, server, { func: 'GET', params: { obj: 'colour' } }))}`);
    },
  },
  gateway: {
    service: 'gateway',
    summary: 'object gateway (Py4J style): calls, references, callbacks, remote errors',
    client: async (api, _stack, server, print) => {
      const peer = await connectGateway(api, server, GATEWAY_PORT);
      const gateway = peer.remote('entryPoint');
      print(`gateway client: add(2, 3) = ${await gateway.add(2, 3)}`);
      const ticks: number[] = [];
      print(`gateway client: countdown → ${await gateway.countdown({ tick: (n: number) => void ticks.push(n) }, 3)} after callbacks ${ticks.join(', ')}`);
      await gateway.fail().catch((error: Error) => print(`gateway client: fail() raised ${error.name}: ${error.message}`));
      peer.close();
    },
  },
};

/** The faults `--faults` puts on the virtual wire, in each direction. */
export const EXAMPLE_FAULTS: FaultConfig = { lossRate: 0.2, duplicateRate: 0.05, reorderRate: 0.1, reorderDelayMs: 3 };

/** The seed of the virtual network unless `--seed` says (with EXAMPLE_FAULTS, every example meets faults). */
export const DEFAULT_EXAMPLE_SEED = 1;

/** The options of `ustack example` on the virtual network. */
const EXAMPLE_OPTIONS = {
  faults: { type: 'boolean' },
  seed: { type: 'string', takes: 'an integer N (0 to 4294967295)', accepts: accepts.integer(0, 2 ** 32 - 1) },
} as const satisfies OptionSpecs;

/** Help text of `ustack example`. */
export function exampleUsage(): string {
  return [
    'usage: ustack example NAME [--faults] [--seed N]      both ends on the virtual network (no root)',
    '       ustack example NAME --tun DEVICE [up options]  the server on a real TUN device (root)',
    '',
    ...Object.entries(EXAMPLES).map(([key, e]) => `  ${key.padEnd(10)} ${e.summary}`),
    '',
    `  --faults   the wire loses ${percent(EXAMPLE_FAULTS.lossRate)}, duplicates ${percent(EXAMPLE_FAULTS.duplicateRate)} and reorders ${percent(EXAMPLE_FAULTS.reorderRate)} of the frames each way, at random`,
    `  --seed N   the virtual network's seed (default ${DEFAULT_EXAMPLE_SEED}): the same seed, the same run`,
  ].join('\n');
}

function percent(rate: number | undefined): string {
  return `${Math.round((rate ?? 0) * 100)}%`;
}

/** Runs `ustack example NAME [--faults] [--seed N] [--tun NAME ...]`. */
export async function runExample(args: string[], print: (line: string) => void, controls: UpControls = {}): Promise<number> {
  // With --tun the example's server runs as `ustack up --serve SERVICE`, so up's options apply.
  const { values, positionals, help } = parseCommandLine('example', args, { ...UP_OPTIONS, ...EXAMPLE_OPTIONS }, { maxPositionals: 1 });
  const name = positionals[0];
  if (help) {
    print(exampleUsage());
    return 0;
  }
  if (name === undefined) throw new UsageError(`ustack example: which example? NAME takes one of ${Object.keys(EXAMPLES).join(', ')}`);
  const upOnly = Object.keys(values).filter((key) => key in UP_OPTIONS && !(key in EXAMPLE_OPTIONS));
  if (values.tun === undefined && upOnly.length > 0) throw new UsageError(`ustack example: --${upOnly[0]} is for a TUN device: give --tun DEVICE too`);
  if (values.serve !== undefined) throw new UsageError("ustack example: --serve is up's: the example names its service");
  const example = EXAMPLES[name];
  if (!example) throw new UsageError(`ustack example: NAME takes one of ${Object.keys(EXAMPLES).join(', ')}, not '${name}'`);
  if (values.tun !== undefined) {
    if (values.faults || values.seed !== undefined)
      throw new UsageError(`ustack example: ${values.faults ? '--faults' : '--seed'} is for the virtual network, not with --tun`);
    const upArgs = Object.entries(values).flatMap(([key, value]) =>
      value === true ? [`--${key}`] : [value as string | string[]].flat().flatMap((v) => [`--${key}`, v]),
    );
    return runUp([...upArgs, '--serve', example.service], print, controls);
  }
  print(`${name}: ${example.summary}`);
  const faults = values.faults ? EXAMPLE_FAULTS : undefined;
  const run = await runOnVirtualNetwork(name, { seed: values.seed === undefined ? DEFAULT_EXAMPLE_SEED : Number(values.seed), faults, print });
  print(`done in ${run.virtualMs.toFixed(1)} ms of virtual time`);
  if (faults) {
    const { lost, duplicated, reordered } = run.faults;
    print(`faults: the wire lost ${frames(lost)}, duplicated ${frames(duplicated)} and reordered ${frames(reordered)}`);
    if (name === 'udp-upper') print(`repairs: UDP does not retransmit; the client asked again ${count(run.clientRetries, 'time')}`);
    else
      print(
        `repairs: TCP retransmitted ${count(run.retransmits, 'segment')}, ${count(run.synRetransmits, 'SYN')} and ${count(run.synAckRetransmits, 'SYN-ACK')}`,
      );
  }
  return 0;
}

function frames(n: number): string {
  return count(n, 'frame');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** What a virtual-network run of an example did. */
export interface ExampleRun {
  readonly virtualMs: number;
  /** TCP retransmissions of data and FIN (`tcp.tx.retransmits`), of SYN, of SYN-ACK, both stacks. */
  readonly retransmits: number;
  readonly synRetransmits: number;
  readonly synAckRetransmits: number;
  /** How many times the client program itself tried again (the UDP example). */
  readonly clientRetries: number;
  /** What the faulty wire did, both directions. */
  readonly faults: { readonly lost: number; readonly duplicated: number; readonly reordered: number };
  readonly stacks: readonly Stack[];
}

/** Runs example `name` with both ends on two stacks of a virtual network, optionally faulty. */
export async function runOnVirtualNetwork(
  name: string,
  options: { seed?: number; faults?: FaultConfig; print?: (line: string) => void } = {},
): Promise<ExampleRun> {
  const example = EXAMPLES[name];
  if (!example) throw new Error(`no example named ${name}`);
  const print = options.print ?? (() => {});
  const net = new VirtualNetwork(options.seed ?? DEFAULT_EXAMPLE_SEED);
  const client = net.createStack('client');
  const server = net.createStack('server');
  const faults = options.faults;
  const wire = net.connect({ stack: client, address: '10.0.0.1/24', faults }, { stack: server, address: '10.0.0.2/24', faults }, { latencyMs: 2 });
  const describe = faults ? `, ${percent(faults.lossRate)} loss, ${percent(faults.duplicateRate)} duplication, ${percent(faults.reorderRate)} reordering` : '';
  const service = SERVICES[example.service]!;
  print(`client 10.0.0.1 ── virtual wire (2 ms${describe}) ── server 10.0.0.2 (${describePorts(service.ports)})`);
  service.start(server, print);
  let clientRetries = 0;
  await net.runAsync(
    async () => {
      clientRetries = (await example.client(new BerkeleySockets(client), client, '10.0.0.2', print)) ?? 0;
    },
    { limitMs: 10 * 60_000 },
  );
  const both = (counter: CounterName) => client.stats.get(counter) + server.stats.get(counter);
  const injected = (counter: FaultCounterName) => (wire.a.faults?.stats.get(counter) ?? 0) + (wire.b.faults?.stats.get(counter) ?? 0);
  return {
    virtualMs: net.now,
    retransmits: both('tcp.tx.retransmits'),
    synRetransmits: both('tcp.tx.synRetransmits'),
    synAckRetransmits: both('tcp.tx.synAckRetransmits'),
    clientRetries,
    faults: { lost: injected('fault.lost'), duplicated: injected('fault.duplicated'), reordered: injected('fault.reordered') },
    stacks: [client, server],
  };
}
