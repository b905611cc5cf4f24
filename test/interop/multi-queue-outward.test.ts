/**
 * Connections a worker opens itself on a multi-queue TUN come back to it: two worker threads,
 * each with its own stack on one queue of the device, the steering program of queue 0
 * (`TunLink.steerByPorts`) and local ports chosen by `TcpLayer.activeOpenPorts`, each connect 8
 * times to a server of the kernel's in a namespace the test makes; every connection is echoed,
 * again after 4 s idle (the kernel's own flow table would have forgotten the flow by then), and
 * no worker sends a RST (a SYN-ACK steered to the worker without the connection would draw one).
 * The workers load the built modules (a worker thread cannot load TypeScript).
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { beforeAll, expect, it } from 'vitest';
import { configureDevice, createNamespace } from '../../src/link/device.js';
import { describeInterop } from './kernel-peer.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = pathToFileURL(join(ROOT, 'dist', 'src')).href;

/** One queue's worker: its stack connects 8 times, echoes a byte, idles, echoes again, and reports. */
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  const { TunLink, queueForPorts } = await import(workerData.dist + '/link/tun.js');
  const { Stack } = await import(workerData.dist + '/socket-api/stack.js');
  const { RealtimeDriver } = await import(workerData.dist + '/socket-api/realtime-driver.js');
  const { attachDevice } = await import(workerData.dist + '/socket-api/attach-device.js');
  const link = TunLink.open({ name: workerData.device, multiQueue: true, offload: true });
  if (workerData.index === 0) link.steerByPorts();
  const stack = new Stack({ name: 'queue' + workerData.index, seed: 11 + workerData.index * 7919 });
  const driver = new RealtimeDriver(stack).start();
  attachDevice(stack, driver, link, { address: '10.98.0.2/24' });
  stack.tcp.activeOpenPorts = (local, remote) => queueForPorts(remote, local, 2) === workerData.index;
  parentPort.postMessage('opened');
  parentPort.once('message', async () => {
    const echo = (socket, text) => new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 3000);
      socket.once('data', (data) => { clearTimeout(timer); resolve(data.toString() === text); });
      socket.write(text);
    });
    const sockets = await Promise.all(Array.from({ length: 8 }, () => new Promise((resolve) => {
      const socket = stack.net.connect(9000, '10.98.0.1', () => resolve(socket));
      socket.on('error', () => resolve(null));
    })));
    const first = await Promise.all(sockets.map((socket) => (socket ? echo(socket, 'a') : false)));
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const second = await Promise.all(sockets.map((socket) => (socket ? echo(socket, 'b') : false)));
    for (const socket of sockets) socket?.destroy();
    parentPort.postMessage({
      connected: sockets.filter(Boolean).length,
      first: first.filter(Boolean).length,
      afterIdle: second.filter(Boolean).length,
      resets: stack.stats.get('tcp.tx.resets'),
      dropped: stack.stats.sum('drop.'),
    });
    driver.stop();
    link.close();
  });
})().catch((error) => parentPort.postMessage({ error: String(error) }));
`;

/** The kernel's echo server: a thread per connection. */
const SERVER = `
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('10.98.0.1', 9000)); s.listen(64)
print('listening', flush=True)
def serve(c):
    while True:
        d = c.recv(100)
        if not d: break
        c.sendall(d)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

describeInterop('interop: multi-queue TUN, connections the workers open', () => {
  beforeAll(() => {
    const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
  }, 120_000);

  it('two workers each open 8 connections to the kernel: all echoed, again after 4 s idle, no RST from the wrong worker', async () => {
    const tag = process.pid % 100000;
    const device = `ustmo${tag}`;
    const namespace = createNamespace(`ustack-it-${tag}-mqo`);
    const workers: Worker[] = [];
    let configured: { close(): void } | undefined;
    let server: ReturnType<typeof spawn> | undefined;
    try {
      for (let index = 0; index < 2; index++) {
        const worker = new Worker(WORKER, { eval: true, workerData: { index, device, dist: DIST } });
        workers.push(worker);
        const first = await new Promise<unknown>((resolve) => worker.once('message', resolve));
        expect(first).toBe('opened');
      }
      configured = configureDevice({ name: device, netns: namespace.name, addresses: ['10.98.0.1/24'] });
      server = spawn('ip', ['netns', 'exec', namespace.name, 'python3', '-c', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((resolve) => server!.stdout!.once('data', resolve));
      const reports = await Promise.all(
        workers.map((worker) => {
          const report = new Promise<Record<string, number>>((resolve) => worker.once('message', resolve));
          worker.postMessage('go');
          return report;
        }),
      );
      for (const report of reports) expect(report).toEqual({ connected: 8, first: 8, afterIdle: 8, resets: 0, dropped: 0 });
    } finally {
      server?.kill();
      configured?.close();
      await Promise.all(workers.map((worker) => worker.terminate()));
      namespace.close();
    }
  }, 30_000);
});
