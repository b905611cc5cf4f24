/**
 * `npm start`: two stacks on a virtual Ethernet wire, no root, virtual time. Runs the upper-casing
 * UDP client/server from the seed notes (after ARP finds the server's MAC), pings, follows one
 * datagram down through every layer of the client and up through every layer of the server —
 * Ethernet, IPv4, UDP, the data: the four wrappers — then a TCP connection frame by frame, and
 * writes a capture of it all (Ethernet, link type 1): where `--pcap FILE` says, else
 * ustack/demo.pcap in the OS temp dir (`npm start` asks for captures/demo.pcap in the
 * repository). The path is printed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { accepts, parseCommandLine, type OptionSpecs } from '../src/cli/arguments.js';
import { FrameTracePrinter } from '../src/core/trace-format.js';
import type { Tracer } from '../src/core/trace.js';
import { IcmpLayer } from '../src/ip/icmp-layer.js';
import { BerkeleySockets } from '../src/socket-api/berkeley.js';
import { VirtualNetwork } from '../src/socket-api/virtual-network.js';
import { startTcpUpperServer, tcpUpperClient, TCP_UPPER_PORT } from './tcp-upper.js';
import { sendUdpUpperRequest, startUdpUpperServer, UDP_UPPER_PORT } from './udp-upper.js';

/** Where the capture goes and where the text goes. */
export interface DemoOptions {
  readonly capturePath: string;
  readonly print: (line: string) => void;
}

/** A fixed date for the capture's timestamps, so the demo writes the same file every run. */
const CAPTURE_EPOCH_MS = Date.UTC(2026, 0, 1);

/** The MACs of the two hosts: locally administered (02:…), easy to tell apart in the trace. */
const CLIENT_MAC = '02:00:00:00:00:01';
const SERVER_MAC = '02:00:00:00:00:02';

/** Passes on only the events of ARP packets and of the Ethernet frames that carry them. */
function arpOnly(tracer: Tracer): Tracer {
  return (event) => {
    const carriesArp = event.layer === 'eth' && event.fields.some(([name, value]) => name === 'type' && value.startsWith('ARP'));
    if (event.layer === 'arp' || carriesArp) tracer(event);
  };
}

/** Runs the demo; resolves with the number of frames captured. */
export async function runDemo({ capturePath, print }: DemoOptions): Promise<number> {
  const net = new VirtualNetwork(2026);
  const client = net.createStack('client');
  const server = net.createStack('server');
  const { a, b } = net.connect(
    { stack: client, address: '10.0.0.1/24', interfaceName: 'eth0', mac: CLIENT_MAC, capture: true },
    { stack: server, address: '10.0.0.2/24', interfaceName: 'eth0', mac: SERVER_MAC },
    { medium: 'ethernet', mtu: 1500, latencyMs: 1, captureEpochMs: CAPTURE_EPOCH_MS },
  );

  print('ustack demo: two TCP/IP stacks in one process, joined by a virtual Ethernet wire (no root, virtual time)');
  print('');
  print(`  client 10.0.0.1/24 ──eth0──[ Ethernet: MTU 1500, 1 ms one way ]──eth0── server 10.0.0.2/24`);
  print(`         ${CLIENT_MAC}                                        ${SERVER_MAC}`);
  print('');

  // 1. The UDP upper-casing server and client (seed notes: "Socket Programming with UDP").
  print("1. UDP upper-casing server and client (the seed notes' UDP socket program)");
  startUdpUpperServer(server, UDP_UPPER_PORT, (line) => print(`   ${line}`));
  print(`   server: socket(AF_INET, SOCK_DGRAM); bind(("", ${UDP_UPPER_PORT})); waiting in recvfrom`);
  // The first datagram needs the server's MAC first: ARP (RFC 826) asks the whole wire for it.
  const arpTrace = new FrameTracePrinter({ print, indent: '   ' });
  client.tracer = arpOnly(arpTrace.tracerFor('client'));
  server.tracer = arpOnly(arpTrace.tracerFor('server'));
  for (const line of ['hello from the client', 'packets carry their own addresses']) {
    const socket = sendUdpUpperRequest(client, '10.0.0.2', UDP_UPPER_PORT, line, (reply, from) =>
      print(`   client: reply ${JSON.stringify(reply)} from ${from}`),
    );
    print(`   client: sendto(${JSON.stringify(line)}, ("10.0.0.2", ${UDP_UPPER_PORT})) from ephemeral port ${socket.localPort}`);
    net.runUntilIdle();
    arpTrace.flush();
  }
  client.tracer = null;
  server.tracer = null;
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

  // 3. One datagram, layer by layer: each layer wraps what the one above handed it.
  print("3. One datagram, down through the client's layers and up through the server's");
  print('   (data inside UDP inside IPv4 inside Ethernet: each layer adds its header going down and removes it coming up)');
  const layerTrace = new FrameTracePrinter({ print, detail: 'fields', indent: '   ' });
  client.tracer = layerTrace.tracerFor('client');
  server.tracer = layerTrace.tracerFor('server');
  sendUdpUpperRequest(client, '10.0.0.2', UDP_UPPER_PORT, 'trace me', (reply) => print(`   client: reply ${JSON.stringify(reply)}`));
  net.runUntilIdle();
  layerTrace.flush();
  client.tracer = null;
  server.tracer = null;
  print('');

  // 4. The TCP upper-casing program (seed notes: "Socket Programming with TCP"), frame by frame.
  print("4. TCP upper-casing server and client (the seed notes' TCP socket program), frame by frame on the client's eth0");
  print('   (TCP flags as tcpdump prints them: [S] SYN, [S.] SYN+ACK, [.] ACK, [P.] PSH+ACK, [F.] FIN+ACK; E and W: ECN)');
  const serverApi = new BerkeleySockets(server);
  const welcome = startTcpUpperServer(serverApi, TCP_UPPER_PORT, (line) => print(`   server: ${line}`));
  const connectionTrace = new FrameTracePrinter({ print, indent: '   ' });
  client.tracer = connectionTrace.tracerFor('client');
  const sentence = 'a sentence in lower case';
  print(`   client: connect(("10.0.0.2", ${TCP_UPPER_PORT})); send(${JSON.stringify(sentence)}); recv until the server closes; close`);
  const reply = await net.runAsync(tcpUpperClient(new BerkeleySockets(client), '10.0.0.2', sentence, TCP_UPPER_PORT));
  net.run(1000); // the last ACK
  connectionTrace.flush();
  client.tracer = null;
  print(`   client: reply ${JSON.stringify(reply)}`);
  serverApi.close(welcome.fd);
  await net.runAsync(welcome.stopped);
  print('');

  // 5. What the stacks counted.
  print('5. Counters');
  for (const [stack, side] of [
    [client, a],
    [server, b],
  ] as const) {
    const counters = Object.entries(stack.stats.snapshot()).map(([k, v]) => `${k}=${v}`);
    print(`   ${stack.name}: ${counters.join(' ')}`);
    const arp = side.ethernet!.counters;
    print(`   ${stack.name} ARP: requests sent ${arp.arpRequestsSent}, replies sent ${arp.arpRepliesSent}, mappings learned ${arp.arpLearned}`);
  }
  print('');

  // 6. The capture.
  const tap = a.tap!;
  mkdirSync(dirname(capturePath), { recursive: true });
  writeFileSync(capturePath, tap.writer.toBytes());
  print(`6. Capture: ${capturePath} (${tap.writer.recordCount} frames, Ethernet link type (1), as seen on the client's eth0)`);
  print(`   open it with:  tshark -r ${capturePath}    or    npx ustack dissect ${capturePath}    or Wireshark`);
  return tap.writer.recordCount;
}

/** Where the capture goes unless `--pcap` says. */
export function defaultDemoCapturePath(): string {
  return join(tmpdir(), 'ustack', 'demo.pcap');
}

/** Help text of `ustack demo`. */
export const DEMO_USAGE = `usage: ustack demo [--pcap FILE]

Two stacks on a virtual Ethernet wire, no root, virtual time: ARP and the UDP upper-casing
program, ping (one fragmented), one datagram traced through every layer, the TCP upper-casing
program frame by frame, the counters, and a capture of it all (Ethernet, link type 1).
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
    await runDemo({ capturePath, print });
    print(
      `   or in a browser: ${(await (await import('../src/view/view-command.js')).writeViewHtml(capturePath)).path} (ustack view: layers over the bytes, TCP ladder and graph)`,
    );
  } catch (error) {
    // The one thing that fails here is writing the capture: say where, in one line.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string') throw new Error(`cannot write the capture ${capturePath} (${code})`, { cause: error });
    throw error;
  }
  return 0;
}
