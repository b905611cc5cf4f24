/**
 * `npm start`: two stacks on a virtual wire, no root, virtual time. Runs the upper-casing UDP
 * client/server from the seed notes, pings, follows one datagram down through every layer of
 * the client and up through every layer of the server, and writes a capture of it: where
 * `--pcap FILE` says, else ustack/demo.pcap in the OS temp dir (`npm start` asks for
 * captures/demo.pcap in the repository). The path is printed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { accepts, parseCommandLine, type OptionSpecs } from '../src/cli/arguments.js';
import { toHex } from '../src/core/bytes.js';
import type { TraceEvent } from '../src/core/trace.js';
import { IcmpLayer } from '../src/ip/icmp-layer.js';
import { VirtualNetwork } from '../src/socket-api/virtual-network.js';
import { sendUdpUpperRequest, startUdpUpperServer, UDP_UPPER_PORT } from './udp-upper.js';

/** Where the capture goes and where the text goes. */
export interface DemoOptions {
  readonly capturePath: string;
  readonly print: (line: string) => void;
}

/** A fixed date for the capture's timestamps, so the demo writes the same file every run. */
const CAPTURE_EPOCH_MS = Date.UTC(2026, 0, 1);

/** Runs the demo; returns the number of frames captured. */
export function runDemo({ capturePath, print }: DemoOptions): number {
  const net = new VirtualNetwork(2026);
  const client = net.createStack('client');
  const server = net.createStack('server');
  const { a } = net.connect(
    { stack: client, address: '10.0.0.1/24', interfaceName: 'eth0', capture: true },
    { stack: server, address: '10.0.0.2/24', interfaceName: 'eth0' },
    { mtu: 1500, latencyMs: 1, captureEpochMs: CAPTURE_EPOCH_MS },
  );

  print('ustack demo: two TCP/IP stacks in one process, joined by a virtual wire (no root, virtual time)');
  print('');
  print('  client 10.0.0.1/24 ──eth0──[ wire: MTU 1500, 1 ms one way ]──eth0── server 10.0.0.2/24');
  print('');

  // 1. The UDP upper-casing server and client (seed notes: "Socket Programming with UDP").
  print("1. UDP upper-casing server and client (the seed notes' UDP socket program)");
  startUdpUpperServer(server, UDP_UPPER_PORT, (line) => print(`   ${line}`));
  print(`   server: socket(AF_INET, SOCK_DGRAM); bind(("", ${UDP_UPPER_PORT})); waiting in recvfrom`);
  for (const line of ['hello from the client', 'packets carry their own addresses']) {
    const socket = sendUdpUpperRequest(client, '10.0.0.2', UDP_UPPER_PORT, line, (reply, from) =>
      print(`   client: reply ${JSON.stringify(reply)} from ${from}`),
    );
    print(`   client: sendto(${JSON.stringify(line)}, ("10.0.0.2", ${UDP_UPPER_PORT})) from ephemeral port ${socket.localPort}`);
    net.runUntilIdle();
  }
  print('');

  // 2. Ping, including one that must be fragmented.
  print('2. ping 10.0.0.2');
  const sentAt = new Map<number, number>();
  client.icmp.onEchoReply((reply, now) => {
    print(`   ${IcmpLayer.describeReply(reply)} time=${(now - (sentAt.get(reply.sequence) ?? now)).toFixed(3)} ms (virtual)`);
  });
  for (let sequence = 1; sequence <= 3; sequence++) {
    sentAt.set(sequence, net.now);
    client.ping('10.0.0.2', 0x0d0e, sequence);
    net.runUntilIdle();
    net.run(1000);
  }
  sentAt.set(4, net.now);
  client.ping(
    '10.0.0.2',
    0x0d0e,
    4,
    new Uint8Array(3000).map((_, i) => i & 0xff),
  );
  net.runUntilIdle();
  print(
    `   the 3008-byte echo request left in ${client.stats.get('ipv4.tx.fragments')} fragments and the server reassembled it (${server.stats.get('ipv4.rx.reassembled')} datagram)`,
  );
  print('');

  // 3. One datagram, layer by layer.
  print("3. One datagram, down through the client's layers and up through the server's");
  const show = (host: string) => (event: TraceEvent) => {
    print(`   ${host.padEnd(6)} ${event.direction === 'down' ? '↓' : '↑'} ${event.layer.padEnd(4)} ${event.summary}`);
    if (event.fields.length > 0 && event.layer !== 'link') {
      print(`          ${' '.repeat(6)} ${event.fields.map(([name, value]) => `${name}=${value}`).join(', ')}`);
    }
    if (event.header.length > 0) print(`          ${' '.repeat(6)} header bytes: ${toHex(event.header, ' ')}`);
  };
  client.tracer = show('client');
  server.tracer = show('server');
  sendUdpUpperRequest(client, '10.0.0.2', UDP_UPPER_PORT, 'trace me', (reply) => print(`   client: reply ${JSON.stringify(reply)}`));
  net.runUntilIdle();
  client.tracer = null;
  server.tracer = null;
  print('');

  // 4. What the stacks counted.
  print('4. Counters');
  for (const stack of [client, server]) {
    const counters = Object.entries(stack.stats.snapshot()).map(([k, v]) => `${k}=${v}`);
    print(`   ${stack.name}: ${counters.join(' ')}`);
  }
  print('');

  // 5. The capture.
  const tap = a.tap!;
  mkdirSync(dirname(capturePath), { recursive: true });
  writeFileSync(capturePath, tap.writer.toBytes());
  print(`5. Capture: ${capturePath} (${tap.writer.recordCount} frames, raw IPv4 link type, as seen on the client's eth0)`);
  print(`   open it with:  tshark -r ${capturePath}    or    npx ustack dissect ${capturePath}    or Wireshark`);
  return tap.writer.recordCount;
}

/** Where the capture goes unless `--pcap` says. */
export function defaultDemoCapturePath(): string {
  return join(tmpdir(), 'ustack', 'demo.pcap');
}

/** Help text of `ustack demo`. */
export const DEMO_USAGE = `usage: ustack demo [--pcap FILE]

Two stacks on a virtual wire, no root, virtual time: the UDP upper-casing program, ping (one
fragmented), one datagram traced through every layer, the counters, and a capture of it all.
  --pcap FILE   where the capture goes (default ${defaultDemoCapturePath()})`;

const DEMO_OPTIONS = {
  pcap: { type: 'string', takes: 'a FILE to write', accepts: accepts.nonEmpty },
} as const satisfies OptionSpecs;

/** Runs `ustack demo ARGS`; resolves with the exit code. */
export async function runDemoCommand(args: string[], print: (line: string) => void): Promise<number> {
  const { values, help } = parseCommandLine('demo', args, DEMO_OPTIONS);
  if (help) {
    print(DEMO_USAGE);
    return 0;
  }
  const capturePath = values.pcap !== undefined ? resolve(values.pcap) : defaultDemoCapturePath();
  try {
    runDemo({ capturePath, print });
  } catch (error) {
    // The one thing that fails here is writing the capture: say where, in one line.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string') throw new Error(`cannot write the capture ${capturePath} (${code})`, { cause: error });
    throw error;
  }
  return 0;
}
