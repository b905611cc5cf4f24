/**
 * `ustack example NAME`: runs one of the seed programs. By default both ends run on two stacks
 * joined by a virtual wire, in virtual time (no root); `--faults` puts seeded loss, duplication
 * and reordering on the wire. With `--tun`, the server runs on a ustack stack on a real TUN
 * device (`ustack up --serve SERVICE`) and the machine's own tools are the clients.
 */
import { parseArgs } from 'node:util';
import { runUp, type UpControls } from '../src/cli/up-command.js';
import type { FaultConfig } from '../src/link/fault-injector.js';
import { BerkeleySockets } from '../src/socket-api/berkeley.js';
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
  readonly client: (api: BerkeleySockets, stack: Stack, server: string, print: (line: string) => void) => Promise<void>;
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
      new Promise((resolve, reject) => {
        let attempt = 0;
        const tryOnce = () => {
          if (++attempt > 10) return reject(new Error('udp upper: no reply after 10 tries'));
          const socket = sendUdpUpperRequest(stack, server, UDP_UPPER_PORT, 'datagrams carry their own addresses', (reply, from) => {
            cancel();
            print(`udp upper client: ${JSON.stringify(reply)} from ${from}${attempt > 1 ? ` (try ${attempt})` : ''}`);
            resolve();
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

/** Runs `ustack example NAME [--faults] [--seed N] [--tun NAME ...]`. */
export async function runExample(args: string[], print: (line: string) => void, controls: UpControls = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: false,
    options: { faults: { type: 'boolean' }, seed: { type: 'string' }, tun: { type: 'string' }, help: { type: 'boolean' } },
  });
  const name = positionals[0];
  const example = name === undefined ? undefined : EXAMPLES[name];
  if (!example || values.help) {
    print('usage: ustack example NAME [--faults] [--seed N]      both ends on the virtual network (no root)');
    print('       ustack example NAME --tun DEVICE [up options]  the server on a real TUN device (root)');
    print('');
    for (const [key, e] of Object.entries(EXAMPLES)) print(`  ${key.padEnd(10)} ${e.summary}`);
    return example || values.help ? 0 : 2;
  }
  if (typeof values.tun === 'string') {
    const upArgs = args.filter((a) => a !== name && a !== '--faults');
    return runUp([...upArgs, '--serve', example.service], print, controls);
  }
  print(`${name}: ${example.summary}`);
  const faults = values.faults ? { lossRate: 0.05, duplicateRate: 0.02, reorderRate: 0.05, reorderDelayMs: 3 } : undefined;
  const run = await runOnVirtualNetwork(name, { seed: Number(values.seed ?? 1), faults, print });
  print(`done in ${run.virtualMs.toFixed(1)} ms of virtual time${faults ? `; ${run.retransmits} TCP retransmissions repaired the faults` : ''}`);
  return 0;
}

/** What a virtual-network run of an example did. */
export interface ExampleRun {
  readonly virtualMs: number;
  readonly retransmits: number;
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
  const net = new VirtualNetwork(options.seed ?? 1);
  const client = net.createStack('client');
  const server = net.createStack('server');
  const faults = options.faults;
  net.connect({ stack: client, address: '10.0.0.1/24', faults }, { stack: server, address: '10.0.0.2/24', faults }, { latencyMs: 2 });
  const describe = faults ? `, ${Math.round((faults.lossRate ?? 0) * 100)}% loss, ${Math.round((faults.duplicateRate ?? 0) * 100)}% duplication, ${Math.round((faults.reorderRate ?? 0) * 100)}% reordering` : '';
  const service = SERVICES[example.service]!;
  print(`client 10.0.0.1 ── virtual wire (2 ms${describe}) ── server 10.0.0.2 (${describePorts(service.ports)})`);
  service.start(server, print);
  await net.runAsync(() => example.client(new BerkeleySockets(client), client, '10.0.0.2', print), { limitMs: 10 * 60_000 });
  const retransmits = client.stats.get('tcp.tx.retransmits') + server.stats.get('tcp.tx.retransmits');
  return { virtualMs: net.now, retransmits, stacks: [client, server] };
}
