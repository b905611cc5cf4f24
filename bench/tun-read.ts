/**
 * How fast packets get from a TUN device into Node (a benchmark, not a test; needs root).
 *
 *   npm run build && node dist/bench/tun-read.js [--packets N] [--size BYTES] [--senders K]
 *
 * The kernel, in a private namespace, sends N UDP datagrams to 10.77.0.2 through a TUN device
 * whose fd this process holds. Three figures:
 *
 *   prefill  the kernel queues all N first (txqueuelen ≥ N), then we read: the addon's and
 *            JavaScript's read rate alone, in full batches;
 *   live     K python3 senders blast while we read, event-driven (the rate seen is the lesser
 *            of theirs and ours);
 *   stack    like live, but every packet goes through TunLink → Stack (IPv4, UDP) to a socket.
 */
import { spawn, spawnSync } from 'node:child_process';
import { configureDevice, createNamespace } from '../src/link/device.js';
import { loadNativeTun } from '../src/link/native.js';
import { TunLink } from '../src/link/tun.js';
import { attachDevice } from '../src/socket-api/attach-device.js';
import { RealtimeDriver } from '../src/socket-api/realtime-driver.js';
import { Stack } from '../src/socket-api/stack.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const PACKETS = option('packets', 200_000);
const SIZE = option('size', 64);
const SENDERS = option('senders', 2);
const PORT = 9999;

/** Python sender: `count` datagrams of `size` bytes to the stack, as fast as it can. */
const SENDER = `
import socket, sys
count, size = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 32, 1 << 26)  # SO_SNDBUFFORCE: never block on our own queue
payload, target = b'u' * size, ('10.77.0.2', ${PORT})
for _ in range(count):
    s.sendto(payload, target)
`;

function report(label: string, packets: number, ms: number, batches: number): void {
  const rate = packets / (ms / 1000);
  console.log(
    `${label.padEnd(8)} ${packets} packets of ${SIZE + 28} bytes in ${ms.toFixed(0)} ms: ${(rate / 1e6).toFixed(2)} M packets/s, ${((rate * (SIZE + 28) * 8) / 1e9).toFixed(2)} Gbit/s, mean batch ${(packets / Math.max(1, batches)).toFixed(1)}`,
  );
}

function startSenders(namespace: string, total: number): Promise<void> {
  const each = Math.ceil(total / SENDERS);
  const children = Array.from({ length: SENDERS }, () =>
    spawn('ip', ['netns', 'exec', namespace, 'python3', '-c', SENDER, String(each), String(SIZE)], { stdio: 'inherit' }),
  );
  return Promise.all(children.map((child) => new Promise<void>((resolve) => child.on('close', () => resolve())))).then(() => undefined);
}

/** Reads until `expected` packets arrived or nothing came for a second. */
function waitFor(count: () => number, expected: number): Promise<void> {
  return new Promise((resolve) => {
    let last = -1;
    const timer = setInterval(() => {
      if (count() >= expected || count() === last) {
        clearInterval(timer);
        resolve();
      }
      last = count();
    }, 1000);
    timer.unref();
  });
}

async function rawRun(namespace: string, index: number, prefill: boolean): Promise<void> {
  const addon = loadNativeTun();
  const device = addon.open(`ustb${process.pid % 10000}r${index}`, false, false, false);
  const config = configureDevice({ name: device.name, netns: namespace, addresses: ['10.77.0.1/24'], txQueueLength: PACKETS + 1000 });
  let received = 0;
  let batches = 0;
  let first = 0;
  let last = 0;
  const ends = new Int32Array(addon.maxBatch);
  const start = () =>
    addon.start(
      device.handle,
      (buffer, count) => {
        if (buffer === null) return;
        if (received === 0) first = performance.now();
        received += count;
        batches++;
        last = performance.now();
      },
      () => {},
      ends,
    );
  try {
    if (prefill) {
      const total = PACKETS;
      spawnSync('ip', ['netns', 'exec', namespace, 'python3', '-c', SENDER, String(total), String(SIZE)], { stdio: 'inherit' });
      const began = performance.now();
      start();
      await waitFor(() => received, total);
      report('prefill', received, last - began, batches);
    } else {
      start();
      const senders = startSenders(namespace, PACKETS);
      await senders;
      await waitFor(() => received, PACKETS);
      report('live', received, last - first, batches);
    }
  } finally {
    addon.close(device.handle);
    config.close();
  }
}

async function stackRun(namespace: string): Promise<void> {
  const link = TunLink.open({ name: `ustb${process.pid % 10000}s` });
  const config = configureDevice({ name: link.name, netns: namespace, addresses: ['10.77.0.1/24'], txQueueLength: PACKETS + 1000 });
  const stack = new Stack({ name: 'bench', udp: { receiveBufferSize: 1 << 30 } });
  const driver = new RealtimeDriver(stack).start();
  attachDevice(stack, driver, link, { address: '10.77.0.2/24' });
  const socket = stack.udp.open();
  socket.bind(0, PORT);
  let delivered = 0;
  let first = 0;
  let last = 0;
  socket.onReadable = () => {
    while (socket.receive() !== null) {
      if (delivered === 0) first = performance.now();
      delivered++;
    }
    last = performance.now();
  };
  try {
    await startSenders(namespace, PACKETS);
    await waitFor(() => delivered, PACKETS);
    report('stack', delivered, last - first, link.counters.rxBatches);
  } finally {
    driver.stop();
    link.close();
    config.close();
  }
}

const namespace = createNamespace(`ustack-bench-${process.pid}`);
try {
  await rawRun(namespace.name, 1, true);
  await rawRun(namespace.name, 2, false);
  await stackRun(namespace.name);
} finally {
  namespace.close();
}
