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
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe } from 'vitest';
import { configureDevice, createNamespace, type Configured, type Namespace } from '../../src/link/device.js';
import { TunLink } from '../../src/link/tun.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { attachDevice } from '../../src/socket-api/attach-device.js';
import { Stack, type StackOptions } from '../../src/socket-api/stack.js';

/** Whether these tests can run: root, or CI (where not being able to run is a failure). */
export const IS_ROOT = process.getuid?.() === 0;
export const IN_CI = process.env.CI === 'true';

/** `describe` for root-only suites: skipped loudly when not root, run (and failing) under CI=true. */
export function describeInterop(name: string, body: () => void): void {
  if (!IS_ROOT && !IN_CI) {
    console.warn(`SKIPPED (needs root): ${name} — TUN device and network namespace against the Linux kernel`);
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

/** One namespace + TUN device + our stack on it, driven in real time. */
export class KernelPeer {
  readonly namespace: Namespace;
  readonly link: TunLink;
  readonly stack: Stack;
  readonly driver: RealtimeDriver;
  private readonly device: Configured;
  private readonly children = new Set<RunningCommand>();

  constructor(options: { mtu?: number; stack?: StackOptions } = {}) {
    counter++;
    const mtu = options.mtu ?? 1500;
    this.namespace = createNamespace(`ustack-it-${process.pid}-${counter}`);
    try {
      this.link = TunLink.open({ name: `ust${process.pid % 100000}n${counter}`, mtu });
      try {
        this.device = configureDevice({ name: this.link.name, netns: this.namespace.name, mtu, addresses: [`${KERNEL_ADDRESS}/24`] });
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
    attachDevice(this.stack, this.driver, this.link, { address: `${STACK_ADDRESS}/24`, interfaceName: 'tun0' });
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
    const running: RunningCommand = { pid: child.pid, done, kill: () => child.exitCode === null && child.kill('SIGTERM') };
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

  /** Kills what still runs, stops the driver, closes the device and deletes the namespace. */
  async close(): Promise<void> {
    for (const child of this.children) child.kill();
    await Promise.all([...this.children].map((child) => child.done));
    this.driver.stop();
    this.link.close();
    this.device.close();
    this.namespace.close();
  }
}

/** sha256 of bytes, hex. */
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
