/**
 * One queue of `ustack up --queues N` (see up-queues.ts): a worker thread that attaches its own
 * fd to the multi-queue TUN device, runs a whole Stack of its own on it (same addresses as every
 * other worker's) and the services, and answers the main thread's requests for its counters.
 *
 * Messages from the main thread: `{ type: 'counters' }` (reply: a `counters` message) and
 * `{ type: 'stop' }` (the services stop, the fd closes, a last `stopped` message with the
 * counters, then the thread ends by itself). To the main thread: `opened`, `ready`, `log`,
 * `counters`, `stopped`, and `failed` when something throws during setup.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseServiceList, SERVICES } from '../../examples/services.js';
import { Rng } from '../core/rng.js';
import { FrameTracePrinter } from '../core/trace-format.js';
import { FaultInjector } from '../link/fault-injector.js';
import type { Link } from '../link/link.js';
import { queueForPorts, TunLink } from '../link/tun.js';
import { attachDevice } from '../socket-api/attach-device.js';
import { RealtimeDriver } from '../socket-api/realtime-driver.js';
import { Stack } from '../socket-api/stack.js';
import type { QueueCounters, QueueWorkerData } from './up-queues.js';

const data = workerData as QueueWorkerData;
const port = parentPort!;
const log = (line: string) => port.postMessage({ type: 'log', line });

try {
  const { device } = data;
  // Every queue opens the same name with the same flags: the first creates the device, the rest
  // attach to it (TUNSETIFF with IFF_MULTI_QUEUE); the kernel then spreads flows over them.
  const link = TunLink.open({ name: device.name, tap: device.tap, mtu: device.mtu, offload: device.offload, multiQueue: true });
  // The first queue sets the steering for all (before the device is up: no packet goes astray).
  if (data.index === 0) link.steerByPorts();
  port.postMessage({ type: 'opened', name: link.name });
  const stack = new Stack({ name: `ustack-q${data.index}`, seed: data.seed });
  // Our own connections take local ports whose replies come back to this queue.
  stack.tcp.activeOpenPorts = (localPort, remotePort) => queueForPorts(remotePort, localPort, data.queues) === data.index;
  const driver = new RealtimeDriver(stack).start();
  const lossRate = device.lossRate;
  const wrap = lossRate !== undefined ? (inner: Link) => new FaultInjector(inner, { lossRate, direction: 'both' }, new Rng(data.seed ^ 0x10551055)) : undefined;
  attachDevice(stack, driver, link, { address: device.address, address6: device.address6, interfaceName: link.name, wrap, mac: data.mac });
  const stops = parseServiceList(data.services).map((name) => SERVICES[name]!.start(stack, log));
  if (data.trace) stack.tracer = new FrameTracePrinter({ print: log }).tracerFor(stack.name);

  const counters = (): QueueCounters => ({
    index: data.index,
    rxPackets: link.counters.rxPackets,
    rxBytes: link.counters.rxBytes,
    txPackets: link.counters.txPackets,
    txBytes: link.counters.txBytes,
    open: stack.tcp.listConnections().length,
    passiveOpens: stack.stats.get('tcp.passiveOpens'),
    retransmits: stack.stats.get('tcp.tx.retransmits'),
    udpDelivered: stack.stats.get('udp.rx.delivered'),
    echoReplies: stack.stats.get('icmp.tx.echoReply'),
    dropped: stack.stats.sum('drop.'),
  });
  port.on('message', (message: { type: string }) => {
    if (message.type === 'counters') port.postMessage({ type: 'counters', counters: counters() });
    if (message.type === 'stop') {
      // The listeners go first (a listening server keeps the thread alive), then the driver and the fd.
      for (const stop of stops) stop();
      driver.stop();
      link.close();
      port.postMessage({ type: 'stopped', counters: counters() });
      port.close();
    }
  });
  port.postMessage({ type: 'ready' });
} catch (error) {
  port.postMessage({ type: 'failed', message: (error as Error).message });
  port.close();
}
