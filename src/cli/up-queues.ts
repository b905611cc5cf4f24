/**
 * `ustack up --queues N` (N ≥ 2): one multi-queue TUN device (IFF_MULTI_QUEUE), N worker threads
 * (up-queue-worker.ts), each with one queue's fd and a whole Stack of its own with the same
 * addresses, the services listening in every one. The kernel picks a queue per flow (see
 * docs/architecture.md, "Every core"), so each connection lives in exactly one worker's stack and
 * the workers share nothing: no lock, no message per packet. This thread only sets the device up,
 * relays the workers' lines and sums their counters.
 *
 * The Node APIs (`stack.net`, `stack.dgram`, the Berkeley sockets) are those of each worker's own
 * stack, used inside that worker; a server must listen in every worker (as the services do here),
 * since any worker may be handed a new connection.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describePorts, SERVICES } from '../../examples/services.js';
import { formatIpv4Address } from '../ip/address.js';
import { configureDevice, createNamespace, ip, type Configured } from '../link/device.js';
import { randomLocalMac } from '../link/ethernet-adapter.js';
import type { MacAddress } from '../link/ethernet.js';
import type { DeviceConfig } from './device-setup.js';

/** What each queue's worker is given. */
export interface QueueWorkerData {
  readonly index: number;
  /** How many queues there are. */
  readonly queues: number;
  readonly device: DeviceConfig;
  readonly services: readonly string[];
  readonly seed: number;
  /** The one MAC every worker answers with on a TAP device (they are one host to the kernel). */
  readonly mac: MacAddress;
  readonly trace: boolean;
}

/** One worker's counters (its device queue and its stack). */
export interface QueueCounters {
  readonly index: number;
  readonly rxPackets: number;
  readonly rxBytes: number;
  readonly txPackets: number;
  readonly txBytes: number;
  readonly open: number;
  readonly passiveOpens: number;
  readonly retransmits: number;
  readonly udpDelivered: number;
  readonly echoReplies: number;
  readonly dropped: number;
}

type FromWorker =
  | { type: 'opened'; name: string }
  | { type: 'ready' }
  | { type: 'log'; line: string }
  | { type: 'counters'; counters: QueueCounters }
  | { type: 'stopped'; counters: QueueCounters }
  | { type: 'failed'; message: string };

/**
 * The worker's module: beside this one once built; from the sources (vitest) the built one in
 * dist/, since a worker thread cannot load TypeScript.
 */
function workerModule(): string {
  const here = fileURLToPath(import.meta.url);
  const beside = join(dirname(here), 'up-queue-worker.js');
  if (existsSync(beside)) return beside;
  const built = join(dirname(here), '..', '..', 'dist', 'src', 'cli', 'up-queue-worker.js');
  if (existsSync(built)) return built;
  throw new Error(`ustack up --queues: the worker module is not built (${built}): run \`npm run build\``);
}

/** A running queue worker. */
class QueueWorker {
  readonly worker: Worker;
  private readonly waiting = new Map<string, Array<(message: FromWorker) => void>>();
  private failure: Error | null = null;
  private readonly unclaimed = new Map<string, FromWorker>();
  /** Resolves when the thread has ended. */
  readonly exited: Promise<void>;

  constructor(data: QueueWorkerData, log: (line: string) => void) {
    this.worker = new Worker(workerModule(), { workerData: data });
    this.worker.on('message', (message: FromWorker) => {
      if (message.type === 'log') log(`[queue ${data.index}] ${message.line}`);
      if (message.type === 'failed') this.fail(new Error(`ustack up: queue ${data.index}: ${message.message}`));
      const waiters = this.waiting.get(message.type);
      this.waiting.delete(message.type);
      // A message nobody waits for yet ('ready' while the next queue opens) is kept for next().
      if (waiters === undefined) this.unclaimed.set(message.type, message);
      else for (const resolve of waiters) resolve(message);
    });
    this.worker.on('error', (error) => this.fail(error));
    this.exited = new Promise((resolve) =>
      this.worker.on('exit', () => {
        this.fail(new Error(`ustack up: queue ${data.index}'s worker ended`));
        resolve();
      }),
    );
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiters of this.waiting.values()) for (const resolve of waiters) resolve({ type: 'failed', message: error.message });
    this.waiting.clear();
  }

  /** The next message of `type`; rejects if the worker fails or ends first, or after `timeoutMs`. */
  next<T extends FromWorker['type']>(type: T, timeoutMs = 10_000): Promise<Extract<FromWorker, { type: T }>> {
    const kept = this.unclaimed.get(type);
    if (kept !== undefined) {
      this.unclaimed.delete(type);
      return Promise.resolve(kept as Extract<FromWorker, { type: T }>);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ustack up: no '${type}' from a queue worker within ${timeoutMs} ms`)), timeoutMs);
      const list = this.waiting.get(type) ?? [];
      list.push((message) => {
        clearTimeout(timer);
        if (message.type === 'failed' && type !== 'failed') reject(this.failure ?? new Error(message.message));
        else resolve(message as Extract<FromWorker, { type: T }>);
      });
      this.waiting.set(type, list);
    });
  }

  /** Asks the worker to stop; resolves with its last counters (null if it ended without them). */
  async stop(): Promise<QueueCounters | null> {
    if (this.failure) {
      await this.worker.terminate();
      return null;
    }
    const stopped = this.next('stopped', 5_000);
    this.worker.postMessage({ type: 'stop' });
    try {
      return (await stopped).counters;
    } catch {
      return null;
    } finally {
      // A worker that does not end by itself soon after (a connection's timer) is ended.
      const timer = setTimeout(() => void this.worker.terminate(), 2_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** The queues of a running `ustack up --queues N`. */
export interface RunningQueues {
  readonly name: string;
  /** Every worker's counters now. */
  counters(): Promise<QueueCounters[]>;
  /** Stops the workers and undoes the device setup; resolves with each worker's last counters. */
  close(): Promise<Array<QueueCounters | null>>;
}

/**
 * Starts `queues` workers on device `config`, then configures the kernel's end: every queue must
 * be attached before the device moves into a namespace, since TUNSETIFF finds the device by name
 * in the opener's namespace.
 */
export async function startQueues(
  config: DeviceConfig,
  queues: number,
  options: { services: readonly string[]; trace: boolean; log: (line: string) => void },
): Promise<RunningQueues> {
  const workers: QueueWorker[] = [];
  let namespaceMade: { close(): void } | undefined;
  let configured: Configured | undefined;
  // The kernel's end is undone first, while the queues still hold the device (as openDevice's
  // close), then the workers stop (the device goes with the last fd), then the namespace.
  const close = async () => {
    configured?.close();
    configured = undefined;
    const last = await Promise.all(workers.map((worker) => worker.stop()));
    namespaceMade?.close();
    namespaceMade = undefined;
    return last;
  };
  try {
    const namespace = config.namespace;
    if (
      namespace !== undefined &&
      !ip(['netns', 'list'])
        .split('\n')
        .some((line) => line.split(' ')[0] === namespace)
    ) {
      namespaceMade = createNamespace(namespace);
    }
    const base = Date.now() >>> 0;
    const mac = randomLocalMac();
    for (let index = 0; index < queues; index++) {
      const seed = (base + index * 0x9e3779b9) >>> 0;
      const worker = new QueueWorker({ index, queues, device: config, services: options.services, seed, mac, trace: options.trace }, options.log);
      workers.push(worker);
      // One at a time: the first creates the device, so the others attach to it rather than race.
      await worker.next('opened');
    }
    await Promise.all(workers.map((worker) => worker.next('ready')));
    const ipv6 = config.kernelAddress6 !== undefined;
    configured = configureDevice({
      name: config.name,
      netns: namespace,
      mtu: config.mtu,
      txQueueLength: config.txQueueLength,
      addresses: ipv6 ? [config.kernelAddress, config.kernelAddress6!] : [config.kernelAddress],
      ipv6,
    });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    name: config.name,
    counters: () =>
      Promise.all(
        workers.map(async (worker) => {
          const reply = worker.next('counters', 2_000);
          worker.worker.postMessage({ type: 'counters' });
          return (await reply).counters;
        }),
      ),
    close,
  };
}

/** Sums the workers' counters field by field. */
export function totalCounters(all: ReadonlyArray<QueueCounters | null>): Omit<QueueCounters, 'index'> {
  const total = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, open: 0, passiveOpens: 0, retransmits: 0, udpDelivered: 0, echoReplies: 0, dropped: 0 };
  for (const counters of all) {
    if (counters === null) continue;
    for (const key of Object.keys(total) as Array<keyof typeof total>) total[key] += counters[key];
  }
  return total;
}

/** How `ustack up --queues N` runs (up-command.ts has parsed and checked the options). */
export interface UpQueuesOptions {
  readonly trace: boolean;
  readonly statsSeconds: number;
  /** `--for SECONDS`, if given. */
  readonly until: string | undefined;
  /** Prints a line (clearing a live counters line first). */
  readonly log: (line: string) => void;
  readonly print: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** `ustack up --queues N` with N ≥ 2: resolves with the exit code once stopped. */
export async function runUpQueues(config: DeviceConfig, queues: number, services: readonly string[], options: UpQueuesOptions): Promise<number> {
  const { log } = options;
  const running = await startQueues(config, queues, { services, trace: options.trace, log });
  let statsTimer: NodeJS.Timeout | undefined;
  try {
    const us = formatIpv4Address(config.ours.address);
    const where = config.namespace ? ` (in netns ${config.namespace}: prefix commands with \`ip netns exec ${config.namespace}\`)` : '';
    log(
      `ustack up: ${config.tap ? 'tap' : 'tun'} ${running.name} with ${queues} queues, a stack on each (worker threads), ustack ${config.address} ↔ host ${config.kernelAddress}${where}, mtu ${config.mtu}`,
    );
    log(`  ping ${us}`);
    for (const name of services) log(`  ${name} (${describePorts(SERVICES[name]!.ports)}): ${SERVICES[name]!.tryFromShell(us).join('   ')}`);
    log('  Ctrl-C to stop');
    if (options.statsSeconds > 0) {
      statsTimer = setInterval(() => {
        running.counters().then(
          (all) => log(counterLine(totalCounters(all))),
          () => {},
        );
      }, options.statsSeconds * 1000);
      statsTimer.unref();
    }
    await new Promise<void>((resolve) => {
      const finish = () => {
        process.removeListener('SIGINT', finish);
        process.removeListener('SIGTERM', finish);
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', finish);
        resolve();
      };
      process.on('SIGINT', finish);
      process.on('SIGTERM', finish);
      options.signal?.addEventListener('abort', finish);
      const timer = options.until ? setTimeout(finish, Number(options.until) * 1000) : undefined;
    });
  } finally {
    clearInterval(statsTimer);
    const last = await running.close();
    const total = totalCounters(last);
    for (const [index, counters] of last.entries()) {
      options.print(
        counters === null
          ? `  queue ${index}: ended without its counters`
          : `  queue ${index}: ${counters.rxPackets} packets in, ${counters.txPackets} out; ${counters.echoReplies} pings answered, ${counters.passiveOpens} TCP connections, ${counters.udpDelivered} UDP datagrams, ${counters.dropped} dropped`,
      );
    }
    options.print(
      `ustack down: ${total.rxPackets} packets in, ${total.txPackets} out; ` +
        `${total.echoReplies} pings answered, ${total.passiveOpens} TCP connections, ${total.udpDelivered} UDP datagrams, ${total.dropped} dropped`,
    );
  }
  return 0;
}

/** The live counters line, summed over the queues. */
function counterLine(total: Omit<QueueCounters, 'index'>): string {
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  return (
    `in ${total.rxPackets} pkts ${mb(total.rxBytes)}, out ${total.txPackets} pkts ${mb(total.txBytes)} | ` +
    `tcp ${total.open} open, ${total.passiveOpens} accepted, ${total.retransmits} retransmitted | ` +
    `udp ${total.udpDelivered} in | ping ${total.echoReplies} | dropped ${total.dropped}`
  );
}
