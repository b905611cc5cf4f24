/**
 * Interop harness: our stack on a TUN device whose kernel end lives in a private network
 * namespace, so the Linux kernel's own TCP/UDP/ICMP (through ping, nc, python3) is the peer.
 *
 *   this process (root namespace)              namespace ustack-it-<pid>-<n>
 *   Stack 10.77.0.2/24 ── TunLink fd ══ device ── kernel 10.77.0.1/24, ping / nc / python3
 *
 * The device is created here and moved into the namespace; its fd stays with us. Everything is
 * torn down by `close()` (and by device.ts's exit/signal hooks if a test dies).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { runUp } from '../../src/cli/up-command.js';
import { afterEach, describe, expect } from 'vitest';
import { configureDevice, createNamespace, type Configured, type Namespace } from '../../src/link/device.js';
import { nativeTunAvailable } from '../../src/link/native.js';
import { TunLink, type TunLinkOptions } from '../../src/link/tun.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { attachDevice } from '../../src/socket-api/attach-device.js';
import { Stack, type StackOptions } from '../../src/socket-api/stack.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { Link } from '../../src/link/link.js';
import type { NetworkInterface } from '../../src/ip/interface.js';

/** Whether these tests can run: root, or CI (where not being able to run is a failure). */
export const IS_ROOT = process.getuid?.() === 0;
export const IN_CI = process.env.CI === 'true';

const TOOLS = ['ip', 'ss', 'ping', 'nc', 'python3'];

/** What is missing for the interop suites (root, the addon, the kernel-side tools), or null. */
function missingForInterop(): string | null {
  if (!IS_ROOT) return 'root';
  if (!nativeTunAvailable()) return 'the TUN/TAP addon: run `node native/build.mjs`';
  const missing = TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0);
  return missing.length > 0 ? missing.join(', ') : null;
}

/**
 * `describe` for root-only suites: skipped loudly when something they need is missing, but run
 * (and failing) under CI=true, where nothing may be skipped.
 */
export function describeInterop(name: string, body: () => void): void {
  const missing = missingForInterop();
  if (missing !== null && !IN_CI) {
    console.warn(`SKIPPED (needs ${missing}): ${name} — TUN device and network namespace against the Linux kernel`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}

/** The stack's and the kernel's addresses on the TUN link. */
export const STACK_ADDRESS = '10.77.0.2';
export const KERNEL_ADDRESS = '10.77.0.1';

/** What a finished command left. */
export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** A command running inside the namespace. */
export interface RunningCommand {
  readonly pid: number | undefined;
  /** What it printed so far. */
  output(): string;
  /** What it printed on stderr so far. */
  stderr(): string;
  readonly done: Promise<CommandResult>;
  /** Stops it (SIGTERM to this child only). */
  kill(): void;
}

/** Options of a kernel-side command. */
export interface RunOptions {
  /** Written to the command's stdin, which is then closed (default: stdin closed at once). */
  readonly input?: Uint8Array | string;
  /** Killed after this long (default 20 s). */
  readonly timeoutMs?: number;
}

let counter = 0;

/** Peers not yet closed, so that `closePeersAfterEach` can close what a test left open. */
const openPeers = new Set<KernelPeer>();

/**
 * Registers the teardown every interop file needs: after each test, each peer it made must have
 * had no internal error in its stack, and is closed (namespace, device and processes).
 */
export function closePeersAfterEach(): void {
  afterEach(async () => {
    for (const peer of [...openPeers]) {
      expect(peer.stack.lastInternalError).toBe(null);
      await peer.close();
    }
  });
}

/** One namespace + TUN device + our stack on it, driven in real time. */
export class KernelPeer {
  readonly namespace: Namespace;
  readonly link: TunLink;
  readonly stack: Stack;
  readonly driver: RealtimeDriver;
  private readonly device: Configured;
  private readonly children = new Set<RunningCommand>();

  /** The stack's interface on the device (its link is an EthernetAdapter on a TAP). */
  readonly iface: NetworkInterface;

  constructor(
    options: { mtu?: number; kernelMtu?: number; tap?: boolean; link?: Partial<TunLinkOptions>; stack?: StackOptions; wrap?: (link: Link) => Link } = {},
  ) {
    counter++;
    const mtu = options.mtu ?? 1500;
    this.namespace = createNamespace(`ustack-it-${process.pid}-${counter}`);
    try {
      // The device gets checksum and segmentation offload, as `ustack up` opens it — unless the
      // test wraps the link to inject faults: those act per packet of the MTU, as on a wire.
      const offload = !options.wrap;
      this.link = TunLink.open({ name: `ust${process.pid % 100000}n${counter}`, mtu, tap: options.tap, offload, ...options.link });
      try {
        this.device = configureDevice({ name: this.link.name, netns: this.namespace.name, mtu: options.kernelMtu ?? mtu, addresses: [`${KERNEL_ADDRESS}/24`] });
      } catch (error) {
        this.link.close();
        throw error;
      }
    } catch (error) {
      this.namespace.close();
      throw error;
    }
    this.stack = new Stack({ name: 'ustack', seed: 1, ...options.stack });
    this.driver = new RealtimeDriver(this.stack).start();
    this.iface = attachDevice(this.stack, this.driver, this.link, { address: `${STACK_ADDRESS}/24`, interfaceName: 'tun0', wrap: options.wrap });
    openPeers.add(this);
  }

  /** A view of this peer whose commands run in another namespace (a router's far side). */
  elsewhere(namespace: Namespace): KernelPeer {
    const view = Object.create(this) as KernelPeer;
    Object.defineProperty(view, 'namespace', { value: namespace });
    return view;
  }

  /** Starts `argv` inside the namespace. */
  start(argv: readonly string[], options: RunOptions = {}): RunningCommand {
    const child = spawn(this.namespace.execPrefix[0], [...this.namespace.execPrefix.slice(1), ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.on('error', () => {});
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    const done = new Promise<CommandResult>((resolve) => {
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.children.delete(running);
        resolve({ code, signal, stdout: Buffer.concat(stdout), stderr });
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        this.children.delete(running);
        resolve({ code: null, signal: null, stdout: Buffer.concat(stdout), stderr: `${stderr}${error.message}` });
      });
    });
    const running: RunningCommand = {
      pid: child.pid,
      done,
      output: () => Buffer.concat(stdout).toString(),
      stderr: () => stderr,
      kill: () => child.exitCode === null && child.kill('SIGTERM'),
    };
    this.children.add(running);
    return running;
  }

  /** Runs `argv` inside the namespace to completion. */
  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return this.start(argv, options).done;
  }

  /** Resolves once `predicate` holds, polling every few ms; rejects after `timeoutMs`. */
  async until(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Records the device's traffic, as the kernel sees it, into `path` (tcpdump, until close). */
  async capture(path: string): Promise<void> {
    const tcpdump = this.start(['tcpdump', '-i', this.link.name, '-U', '-n', '-w', path], { timeoutMs: 600_000 });
    await this.until(() => /listening on/.test(tcpdump.stderr()), 10_000, 'tcpdump to start');
  }

  /** Resolves once a kernel socket listens on TCP `port` in the namespace (for `nc -l`). */
  async kernelListening(port: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const listing = await this.run(['ss', '-Hn', protocol === 'tcp' ? '-lt' : '-lu', `sport = :${port}`]);
      if (listing.stdout.toString().trim() !== '') return;
      if (Date.now() > deadline) throw new Error(`nothing listens on ${protocol} port ${port} in ${this.namespace.name}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Kills what still runs, stops the driver, closes the device and deletes the namespace. */
  /** Closes everything the peer made; a second call does nothing. */
  async close(): Promise<void> {
    if (!openPeers.delete(this)) return;
    for (const child of this.children) child.kill();
    await Promise.all([...this.children].map((child) => child.done));
    this.driver.stop();
    this.link.close();
    this.device.close();
    this.namespace.close();
  }
}

/** A running peer.py (test/interop/peer.py) in the namespace, once it listens. */
export async function startPeerScript(peer: KernelPeer, args: readonly string[], timeoutMs = 60_000): Promise<RunningCommand> {
  const script = new URL('./peer.py', import.meta.url).pathname;
  const running = peer.start(['python3', script, ...args], { timeoutMs });
  await peer.until(() => running.output().includes('listening'), 10_000, `peer.py ${args.join(' ')} to listen`);
  return running;
}

/** What arrived on a connection before it ended. */
export interface Received {
  readonly length: number;
  readonly sha256: string;
  readonly bytes: Uint8Array | null;
  /** Why the connection closed, if it failed. */
  readonly error: string | null;
}

/**
 * Reads `connection` until the peer's FIN (or the connection dies), hashing as it goes; keeps
 * the bytes too when `keep`. Closes our side when the stream ends, if `closeAtEnd`.
 */
export function receiveAll(connection: TcpConnection, options: { keep?: boolean; closeAtEnd?: boolean } = {}): Promise<Received> {
  return new Promise((resolve) => {
    const digest = createHash('sha256');
    const kept: Uint8Array[] = [];
    let length = 0;
    let finished = false;
    const finish = (error: string | null) => {
      if (finished) return;
      finished = true;
      const bytes = options.keep ? Buffer.concat(kept) : null;
      resolve({ length, sha256: digest.digest('hex'), bytes, error });
    };
    const drain = () => {
      for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) {
        digest.update(chunk);
        length += chunk.length;
        if (options.keep) kept.push(chunk.slice());
      }
      if (connection.endOfStream) {
        if (options.closeAtEnd) connection.close();
        finish(null);
      }
    };
    const previousClose = connection.events.onClose;
    connection.events.onReadable = drain;
    connection.events.onClose = (error) => {
      previousClose?.(error);
      drain();
      finish(error);
    };
    drain();
  });
}

/** Sends all of `data` as the window allows, then closes (FIN) when `closeAfter`. */
export function sendAll(connection: TcpConnection, data: Uint8Array, closeAfter = true): Promise<void> {
  return new Promise((resolve, reject) => {
    let offset = 0;
    const pump = () => {
      while (offset < data.length) {
        const sent = connection.send(data.subarray(offset, offset + 256 * 1024));
        if (!sent.ok) {
          reject(new Error(`send failed: ${sent.error}`));
          return;
        }
        if (sent.value === 0) return;
        offset += sent.value;
      }
      connection.events.onWritable = undefined;
      if (closeAfter) connection.shutdownWrite();
      resolve();
    };
    connection.events.onWritable = pump;
    pump();
  });
}

/** Resolves when an active open completes, rejects with the errno when it fails. */
export function connected(connection: TcpConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    if (connection.state === 'ESTABLISHED') {
      resolve();
      return;
    }
    connection.events.onConnect = () => resolve();
    connection.events.onClose = (error) => reject(Object.assign(new Error(`connect failed: ${error}`), { code: error }));
  });
}

/** sha256 of bytes, hex. */
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** `ustack up` running in this process: its stack and the lines it printed, until `stop()`. */
export interface RunningUp {
  readonly stack: Stack;
  readonly lines: string[];
  /** Ends it (the abort of Ctrl-C), waits until it has removed its device and namespace; its exit code. */
  stop(): Promise<number>;
}

/** Starts `ustack up ARGS --for SECONDS` in this process; resolves once its services listen, rejects if it stops before. */
export async function startUp(args: readonly string[], forSeconds = 60): Promise<RunningUp> {
  const lines: string[] = [];
  const abort = new AbortController();
  let stack!: Stack;
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const running = runUp([...args, '--for', String(forSeconds)], (line) => lines.push(line), {
    signal: abort.signal,
    onReady: (info) => {
      stack = info.stack;
      ready();
    },
    terminal: false,
  });
  await Promise.race([isReady, running.then(() => Promise.reject(new Error(`ustack up stopped early: ${lines.join('\n')}`)))]);
  return {
    stack,
    lines,
    stop: () => {
      abort.abort();
      return running;
    },
  };
}

/** Runs `argv` in the network namespace `namespace`: its exit code and standard output (killed after `timeoutMs`). */
export function inNamespace(namespace: string, argv: string[], input = '', timeoutMs = 20_000): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', namespace, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stdin.on('error', () => {}); // a command that exits before reading its input
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

/** Resolves once a kernel socket listens on `port` in the network namespace `namespace` (ss); rejects after 10 s. */
export async function listeningIn(namespace: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const listing = await inNamespace(namespace, ['ss', '-Hn', protocol === 'tcp' ? '-lt' : '-lu', `sport = :${port}`]);
    if (listing.stdout.trim() !== '') return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${protocol} port ${port} in ${namespace}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A command started by `startInNamespace`, still running. */
export interface BackgroundCommand {
  readonly pid: number | undefined;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Resolves with its exit code (null when a signal ended it). */
  readonly done: Promise<number | null>;
  /** Sends `signal` (SIGTERM by default) to this command's PID only, and waits for its end. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `argv` in the network namespace `namespace` without waiting for it (tcpdump while a test runs); killed after `timeoutMs`. */
export function startInNamespace(namespace: string, argv: string[], timeoutMs = 60_000): BackgroundCommand {
  // `ip netns exec` enters the namespace and execs the command: the PID is the command's.
  const child = spawn('ip', ['netns', 'exec', namespace, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return {
    pid: child.pid,
    stderr: () => stderr,
    done,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await done;
    },
  };
}
