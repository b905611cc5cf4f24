/**
 * Bulk TCP throughput between the Linux kernel and our stack over a TUN device (a benchmark,
 * not a test; needs root): `npm run build && node dist/bench/tun-tcp.js [--megabytes N]`.
 *
 * The kernel side is python3 in a private namespace; each direction moves N MB once and prints
 * MB/s with the CPU time this process spent (user+system) per MB, so a slow run says whether
 * the stack's CPU or the path (window, ACK clocking) was the limit.
 */
import { spawn } from 'node:child_process';
import { unwrap } from '../src/core/result.js';
import { parseIpv4Address } from '../src/ip/address.js';
import { configureDevice, createNamespace } from '../src/link/device.js';
import { TunLink } from '../src/link/tun.js';
import { attachDevice } from '../src/socket-api/attach-device.js';
import { RealtimeDriver } from '../src/socket-api/realtime-driver.js';
import { Stack } from '../src/socket-api/stack.js';
import type { TcpConnection } from '../src/tcp/connection.js';

const index = process.argv.indexOf('--megabytes');
const BYTES = (index >= 0 ? Number(process.argv[index + 1]) : 100) * 1_000_000;

/** Kernel side: `source` sends BYTES zeros then closes; `sink` reads to EOF. */
const PEER = `
import socket, sys
mode, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('10.77.0.1', port)); server.listen(1); print('listening', flush=True)
c, _ = server.accept()
if mode == 'source':
    block = bytes(1 << 16)
    while count > 0:
        n = min(count, len(block)); c.sendall(block[:n]); count -= n
    c.shutdown(socket.SHUT_WR); c.recv(1)
else:
    while c.recv(1 << 20): pass
c.close()
`;

/** Starts the kernel side; resolves once it listens, with a promise of its exit. */
function startPeer(namespace: string, mode: string, port: number): Promise<{ exited: Promise<void> }> {
  const child = spawn('ip', ['netns', 'exec', namespace, 'python3', '-c', PEER, mode, String(port), String(BYTES)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return new Promise((resolve) => child.stdout.once('data', () => resolve({ exited })));
}

function measure(label: string, began: number, cpu: NodeJS.CpuUsage): void {
  const seconds = (performance.now() - began) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  console.log(`${label}: ${BYTES / 1e6} MB in ${seconds.toFixed(2)} s = ${(BYTES / 1e6 / seconds).toFixed(1)} MB/s; node CPU ${((cpuSeconds / seconds) * 100).toFixed(0)}% (${((cpuSeconds * 1e6) / (BYTES / 1e6)).toFixed(0)} µs/MB)`);
}

function connect(stack: Stack, port: number): Promise<TcpConnection> {
  const connection = unwrap(stack.tcp.connect(parseIpv4Address('10.77.0.1')!, port));
  return new Promise((resolve, reject) => {
    connection.events.onConnect = () => resolve(connection);
    connection.events.onClose = (error) => reject(new Error(`connect: ${error}`));
  });
}

const namespace = createNamespace(`ustack-bench-${process.pid}`);
const link = TunLink.open({ name: `ustb${process.pid % 10000}t` });
const device = configureDevice({ name: link.name, netns: namespace.name, addresses: ['10.77.0.1/24'] });
const stack = new Stack({ name: 'bench' });
const driver = new RealtimeDriver(stack).start();
attachDevice(stack, driver, link, { address: '10.77.0.2/24' });
try {
  // Kernel → ustack.
  let { exited } = await startPeer(namespace.name, 'source', 9200);
  let began = performance.now();
  let cpu = process.cpuUsage();
  const inbound = await connect(stack, 9200);
  await new Promise<void>((resolve) => {
    inbound.events.onReadable = () => {
      while (inbound.receive().length > 0);
      if (inbound.endOfStream) {
        inbound.close();
        resolve();
      }
    };
  });
  measure('kernel → ustack', began, cpu);
  await exited;
  // ustack → kernel.
  ({ exited } = await startPeer(namespace.name, 'sink', 9201));
  began = performance.now();
  cpu = process.cpuUsage();
  const outbound = await connect(stack, 9201);
  const block = new Uint8Array(1 << 18);
  let left = BYTES;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (left > 0) {
        const sent = unwrap(outbound.send(block.subarray(0, Math.min(left, block.length))));
        if (sent === 0) return;
        left -= sent;
      }
      outbound.close();
      resolve();
    };
    outbound.events.onWritable = pump;
    pump();
  });
  await exited;
  measure('ustack → kernel', began, cpu);
  console.log(`link: ${JSON.stringify(link.counters)}; retransmits ${stack.stats.get('tcp.tx.retransmits')}`);
} finally {
  driver.stop();
  link.close();
  device.close();
  namespace.close();
}
