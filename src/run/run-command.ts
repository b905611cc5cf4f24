/**
 * `ustack run [options] -- PROGRAM ARGS...`: runs an unmodified, dynamically linked Linux program
 * with native/build/libustack-preload.so in LD_PRELOAD, so that its AF_INET sockets are ustack's:
 * a stack of its own (loopback, and 10.0.0.1/24 on a wire to nothing), a host on a named virtual
 * network (`--net lab --addr 10.0.0.2/24`), or ustack on a TUN device facing the kernel (`--tun`,
 * root). Exits with the program's status once its sockets have closed in ustack.
 *
 * `ustack net start|stop|serve NAME`: the named networks (src/run/named-network.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname as systemHostname, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../core/rng.js';
import { formatIpv4Address, parseIpv4Cidr } from '../ip/address.js';
import { FaultInjector, type FaultConfig } from '../link/fault-injector.js';
import type { Link } from '../link/link.js';
import { LinkDecorator, type FrameReceiver } from '../link/link.js';
import { LoopbackLink } from '../link/loopback.js';
import { LinkType } from '../pcap/link-type.js';
import { PcapWriter } from '../pcap/pcap-writer.js';
import { RealtimeDriver } from '../socket-api/realtime-driver.js';
import { Stack } from '../socket-api/stack.js';
import { accepts, parseCommandLine, UsageError, type OptionSpecs } from '../cli/arguments.js';
import { DEVICE_OPTIONS, deviceConfig, openDevice, type OpenDevice } from '../cli/device-setup.js';
import { HubLink, isServed, NetworkHub, networkSocketPath, stopNetwork, validNetworkName } from './named-network.js';
import { ShimServer } from './shim-server.js';

/** Help text of `ustack run`. */
export const RUN_USAGE = `usage: ustack run [options] -- PROGRAM [ARGS...]

Runs PROGRAM (dynamically linked) with its IPv4 sockets on ustack instead of the kernel: socket,
bind, connect, accept, send/recv, poll/select/epoll... go to ustack's TCP/UDP/IP (docs/run.md).

  --net NAME            join the named virtual network NAME (started on first use; \`ustack net\`)
  --addr CIDR           this host's address (default 10.0.0.1/24; with --tun, ustack's address
                        on the device, default 10.7.0.2/24)
  --hostname NAME       what gethostname() returns (default the machine's); on a network, the
                        first member to join with a name owns it: the name resolves to its address
  --tun NAME            ustack on a TUN device facing the kernel instead (root; the device
                        options of \`ustack up\` apply: --host-addr, --netns, --mtu, --loss...)
  --trace               print every packet crossing the stack's layers on stderr, one line each
  --pcap FILE           record this host's packets (pcap)
  --faults SPEC         lose, duplicate, reorder what this host sends: 20% (loss), or
                        loss=20%,duplicate=5%,reorder=10%,delay=5 (ms)
  --mtu N               this host's MTU (default 1500; on a network, give its hosts the same)
  --seed N              seed of the stack's and the faults' random choices
`;

/** Help text of `ustack net`. */
export const NET_USAGE = `usage: ustack net start NAME [--pcap FILE] [--idle-exit SECONDS]
       ustack net stop NAME

A named virtual network: one process hands IPv4 packets between the hosts that \`ustack run
--net NAME\` starts, from any shell. start returns once it serves (its socket is under
USTACK_NET_DIR, default <tmp>/ustack-net); --pcap records every packet it carries; --idle-exit
stops it after SECONDS with no host (\`ustack run\` starts one that way on first use).
`;

const RUN_OPTIONS = {
  ...DEVICE_OPTIONS,
  net: { type: 'string', takes: 'a network NAME (letters, digits, . _ -)', accepts: validNetworkName },
  hostname: { type: 'string', takes: 'a host NAME', accepts: (value: string) => /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(value) },
  trace: { type: 'boolean' },
  faults: { type: 'string', takes: 'a SPEC like 20% or loss=20%,duplicate=5%', accepts: (value: string) => parseFaults(value) !== null },
  seed: { type: 'string', takes: 'an integer N', accepts: accepts.integer(0, 2 ** 32 - 1) },
} as const satisfies OptionSpecs;

const NET_OPTIONS = {
  pcap: { type: 'string', takes: 'a FILE to write', accepts: accepts.nonEmpty },
  'idle-exit': { type: 'string', takes: 'SECONDS', accepts: accepts.seconds },
} as const satisfies OptionSpecs;

/** `--faults`: `20%` (loss) or `loss=20%,duplicate=5%,reorder=10%,delay=5`; null when malformed. */
export function parseFaults(text: string): FaultConfig | null {
  const percent = (value: string) => {
    const match = /^(\d+(?:\.\d+)?)%$/.exec(value);
    return match && Number(match[1]) <= 100 ? Number(match[1]) / 100 : null;
  };
  if (/^\d/.test(text)) {
    const loss = percent(text);
    return loss === null ? null : { lossRate: loss };
  }
  const config: Record<string, number> = {};
  const names: Record<string, string> = { loss: 'lossRate', duplicate: 'duplicateRate', reorder: 'reorderRate', corrupt: 'corruptRate' };
  for (const part of text.split(',')) {
    const [key, value] = part.split('=');
    if (value === undefined) return null;
    if (key === 'delay') {
      if (!/^\d+(\.\d+)?$/.test(value)) return null;
      config.delayMs = Number(value);
      continue;
    }
    const field = names[key];
    const rate = percent(value);
    if (!field || rate === null) return null;
    config[field] = rate;
  }
  if (config.reorderRate !== undefined) config.reorderDelayMs = config.reorderDelayMs ?? 2;
  return config as FaultConfig;
}

/** The preload library, next to the package's native/ folder (from dist/src/run or src/run). */
export function preloadLibrary(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const path = resolve(here, up, 'native', 'build', 'libustack-preload.so');
    if (existsSync(path)) return path;
  }
  return null;
}

/** Finds PROGRAM as execvp would (PATH unless it has a slash). */
function findProgram(program: string): string | null {
  if (program.includes('/')) return existsSync(program) ? program : null;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const path = join(dir || '.', program);
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      // Not here.
    }
  }
  return null;
}

/**
 * Why PROGRAM cannot be served, or null: a statically linked ELF (no PT_INTERP: the dynamic
 * linker never runs, so LD_PRELOAD does nothing and the program would use the kernel's stack).
 * A script is judged by its interpreter.
 */
export function unservable(path: string, depth = 0): string | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path).subarray(0, 1 << 16);
  } catch (error) {
    return `cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`;
  }
  if (bytes[0] === 0x23 && bytes[1] === 0x21 && depth < 4) {
    const line = bytes
      .subarray(2, bytes.indexOf(0x0a) > 0 ? bytes.indexOf(0x0a) : 200)
      .toString('utf8')
      .trim();
    const [interpreter, argument] = line.split(/\s+/);
    const target = interpreter.endsWith('/env') && argument ? findProgram(argument) : interpreter;
    return target ? unservable(target, depth + 1) : `cannot find the interpreter of ${path} (${line})`;
  }
  if (bytes.readUInt32BE(0) !== 0x7f454c46) return null; // not ELF: let the kernel say what it is
  if (bytes[4] !== 2 || bytes[5] !== 1) return null; // only 64-bit little-endian is inspected
  const programHeaders = Number(bytes.readBigUInt64LE(0x20));
  const entrySize = bytes.readUInt16LE(0x36);
  const count = bytes.readUInt16LE(0x38);
  for (let i = 0; i < count; i++) {
    const at = programHeaders + i * entrySize;
    if (at + 4 > bytes.length) return null;
    if (bytes.readUInt32LE(at) === 3) return null; // PT_INTERP: dynamically linked
  }
  return `${path} is statically linked: LD_PRELOAD cannot reach its socket calls, so it would use the kernel's stack; not run`;
}

/** Loopback, recorded as it carries each packet (once: what it sends is what it receives). */
class RecordedLoopback extends LoopbackLink {
  constructor(
    private readonly writer: PcapWriter,
    private readonly epochMs: number,
  ) {
    super();
  }

  override transmit(frame: Uint8Array, now: number): void {
    this.writer.record(now + this.epochMs, frame);
    super.transmit(frame, now);
  }
}

/** A link recorded both ways into a capture it shares with loopback (PcapTap owns its file). */
class RecordedLink extends LinkDecorator {
  constructor(
    inner: Link,
    private readonly writer: PcapWriter,
    private readonly epochMs: number,
  ) {
    super(inner);
  }

  override transmit(frame: Uint8Array, now: number, segmentSize?: number): void {
    this.writer.record(now + this.epochMs, frame);
    this.inner.transmit(frame, now, segmentSize);
  }

  override setReceiver(receiver: FrameReceiver): void {
    this.inner.setReceiver((frame, now, checksumTrusted) => {
      this.writer.record(now + this.epochMs, frame);
      receiver(frame, now, checksumTrusted);
    });
  }
}

/** Runs `ustack run ARGS`; resolves with the program's exit status. */
export async function runRun(args: string[], print: (line: string) => void): Promise<number> {
  const split = args.indexOf('--');
  const own = split >= 0 ? args.slice(0, split) : args;
  const command = split >= 0 ? args.slice(split + 1) : [];
  const { values, help } = parseCommandLine('run', own, RUN_OPTIONS);
  if (help) {
    print(RUN_USAGE.trimEnd());
    return 0;
  }
  if (command.length === 0) throw new UsageError('ustack run: give the program after --: ustack run [options] -- PROGRAM [ARGS...]');
  if (values.net !== undefined && (values.tun !== undefined || values.tap !== undefined)) throw new UsageError('ustack run: give --net or --tun, not both');
  if (values.tap !== undefined) throw new UsageError('ustack run: --tap is not taken (a TUN device: --tun)');
  const address = values.addr ?? (values.tun !== undefined ? '10.7.0.2/24' : '10.0.0.1/24');
  const cidr = parseIpv4Cidr(address);
  if (!cidr) throw new UsageError(`ustack run: --addr takes a CIDR like 10.0.0.2/24, not '${address}'`);
  const faults = values.faults !== undefined ? parseFaults(values.faults)! : undefined;
  const library = preloadLibrary();
  if (!library) throw new Error('the LD_PRELOAD library is not built (native/build/libustack-preload.so): run `node native/build.mjs` (needs a C compiler)');
  const path = findProgram(command[0]);
  if (!path) throw new Error(`${command[0]}: command not found`);
  const refusal = unservable(path);
  if (refusal) throw new Error(refusal);
  const hostname = values.hostname ?? systemHostname();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() >>> 0;

  const undo: Array<() => void> = [];
  const finish = () => {
    for (const step of undo.reverse()) step();
    undo.length = 0;
  };
  try {
    let stack: Stack;
    let hub: HubLink | null = null;
    let device: OpenDevice | null = null;
    if (values.tun !== undefined) {
      device = openDevice(deviceConfig('run', { ...values, addr: address }));
      undo.push(() => device!.close());
      stack = device.stack;
      // The kernel's end is this host's gateway: programs reach what the kernel routes to.
      stack.addRoute('0.0.0.0/0', { via: formatIpv4Address(device.kernel.address) });
    } else {
      // With --pcap, loopback is recorded too (programs of one host talk over 127.0.0.1): one
      // capture of raw IPv4 packets for both interfaces.
      let writer: PcapWriter | null = null;
      let epochMs = 0;
      if (values.pcap !== undefined) {
        const fd = openSync(values.pcap, 'w');
        undo.push(() => closeSync(fd));
        writer = new PcapWriter({ linkType: LinkType.RAW, onChunk: (chunk) => writeSync(fd, chunk) });
      }
      stack = new Stack({ name: 'ustack', seed, loopback: writer === null });
      const driver = new RealtimeDriver(stack).start();
      undo.push(() => driver.stop());
      epochMs = Date.now() - driver.clock.now();
      if (writer) stack.addInterface({ name: 'lo', link: new RecordedLoopback(writer, epochMs), address: '127.0.0.1/8' });
      let link: Link;
      if (values.net !== undefined) {
        await ensureNetwork(values.net);
        hub = await HubLink.join(values.net, address, hostname, () => driver.clock.now(), values.mtu !== undefined ? Number(values.mtu) : 1500);
        const joined = hub;
        undo.push(() => joined.close());
        hub.onReceived = () => driver.pollSoon();
        link = hub;
      } else {
        link = { name: 'eth0', medium: 'ip', mtu: 1500, transmit: () => {}, setReceiver: () => {}, pollAt: () => Infinity, poll: () => {} };
      }
      if (faults) link = new FaultInjector(link, { ...faults, direction: 'transmit' }, new Rng(seed ^ 0xfa17));
      if (writer) link = new RecordedLink(link, writer, epochMs);
      stack.addInterface({ name: 'eth0', link, address });
    }
    if (values.trace) stack.tracer = (event) => log(`${event.direction === 'down' ? '↓' : '↑'} ${event.layer.padEnd(5)} ${event.summary}`);

    const dir = mkdtempSync(join(tmpdir(), 'ustack-run-'));
    undo.push(() => rmSync(dir, { recursive: true, force: true }));
    const own = formatIpv4Address(cidr.address);
    const joined = hub;
    const server = new ShimServer(stack, {
      socketPath: join(dir, 'shim.sock'),
      log,
      resolve: async (name) => {
        const onNetwork = joined ? await joined.resolve(name) : null;
        if (onNetwork) return onNetwork;
        return name === hostname ? own : null;
      },
    });
    await server.listen();
    undo.push(() => server.close());

    const env: NodeJS.ProcessEnv = { ...process.env, USTACK_RUN_SOCKET: join(dir, 'shim.sock'), USTACK_HOSTNAME: hostname };
    env.LD_PRELOAD = process.env.LD_PRELOAD ? `${library} ${process.env.LD_PRELOAD}` : library;
    const child = spawn(path, command.slice(1), { stdio: 'inherit', env, argv0: command[0] });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const status = await new Promise<number>((resolveStatus, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolveStatus(code ?? 128 + (signal ? signalNumber(signal) : 0)));
    });
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    await settle(server, stack);
    return status;
  } finally {
    finish();
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return numbers[signal] ?? 0;
}

/**
 * After the program's exit: its descriptors closed with it, so its sockets close in ustack as
 * their streams end; this waits (a few seconds at most) until they have, and until the TCP
 * connections have sent their FINs and had them acknowledged, as the kernel would go on doing
 * for an exited process.
 */
async function settle(server: ShimServer, stack: Stack): Promise<void> {
  const deadline = Date.now() + 3000;
  const busy = () =>
    server.openSockets > 0 ||
    stack.tcp.listConnections().some((c) => c.state !== 'TIME-WAIT' && c.state !== 'CLOSED' && c.state !== 'LISTEN' && c.state !== 'SYN-SENT');
  while (busy() && Date.now() < deadline) await new Promise((resolveWait) => setTimeout(resolveWait, 20));
}

/** Makes sure network `name` is served, starting a hub (which stops when idle) if not. */
async function ensureNetwork(name: string): Promise<void> {
  const path = networkSocketPath(name);
  if (await isServed(path)) return;
  startHubProcess(name, ['--idle-exit', '30']);
  await waitServed(name);
}

function startHubProcess(name: string, extra: string[]): void {
  const main = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
  const child = spawn(process.execPath, [main, 'net', 'serve', name, ...extra], { detached: true, stdio: 'ignore' });
  child.unref();
}

async function waitServed(name: string): Promise<void> {
  const path = networkSocketPath(name);
  for (let i = 0; i < 200; i++) {
    if (await isServed(path)) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 25));
  }
  throw new Error(`network ${name} did not start (${path})`);
}

/** Runs `ustack net ARGS`. */
export async function runNet(args: string[], print: (line: string) => void): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined || action === '--help' || action === '-h') {
    print(NET_USAGE.trimEnd());
    return action === undefined ? 2 : 0;
  }
  const { values, positionals, help } = parseCommandLine('net', rest, NET_OPTIONS, { maxPositionals: 1 });
  if (help) {
    print(NET_USAGE.trimEnd());
    return 0;
  }
  const name = positionals[0];
  if (name === undefined) throw new UsageError(`ustack net ${action}: give the network's NAME`);
  if (!validNetworkName(name)) throw new UsageError(`ustack net: NAME takes letters, digits, . _ -, not '${name}'`);
  switch (action) {
    case 'start': {
      if (await isServed(networkSocketPath(name))) {
        print(`network ${name} is already served (${networkSocketPath(name)})`);
        return 0;
      }
      const extra: string[] = [];
      if (values.pcap !== undefined) extra.push('--pcap', resolve(values.pcap));
      if (values['idle-exit'] !== undefined) extra.push('--idle-exit', values['idle-exit']);
      startHubProcess(name, extra);
      await waitServed(name);
      print(`network ${name}: served (${networkSocketPath(name)}); join it with \`ustack run --net ${name} --addr 10.0.0.N/24 -- PROGRAM\``);
      return 0;
    }
    case 'stop': {
      const stopped = await stopNetwork(name);
      print(stopped ? `network ${name}: stopped` : `network ${name} is not served`);
      return stopped ? 0 : 1;
    }
    case 'serve': {
      // The hub itself, in the foreground (what `start` runs in the background).
      const pcapFd = values.pcap !== undefined ? openSync(values.pcap, 'w') : undefined;
      const idle = values['idle-exit'];
      const hub = new NetworkHub(name, { pcapFd, idleExitMs: idle !== undefined ? Number(idle) * 1000 : undefined, log: print });
      await hub.listen();
      const stop = () => hub.close();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      await hub.stopped;
      if (pcapFd !== undefined) closeSync(pcapFd);
      return 0;
    }
  }
  throw new UsageError(`ustack net: the action is start, stop or serve, not '${action}'`);
}
