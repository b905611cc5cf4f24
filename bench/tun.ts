/**
 * ustack beside other TCP/IP stacks on the same path (a benchmark, not a test; needs root):
 *
 *   npm run bench:tun [-- --megabytes 500] [--warmup 100] [--runs 3] [--rounds 1] [--mtus 1500,9000,65000]
 *                     [--peers ustack,ustack-plain,kernel,gvisor-gso,gvisor,lwip] [--round-trips 10000] [--connections 2000]
 *                     [--profile DIR]   (a V8 CPU profile of each ustack peer process)
 *
 * `ustack` opens its TUN device with checksum and segmentation offload (src/link/tun.ts), as
 * `ustack up` does; `ustack-plain` without (every packet within the MTU, like the other peers).
 * Each user-space stack is a peer process (bench/peers/README.md) on a TUN device whose other end
 * is the Linux kernel in a network namespace of its own; the kernel side runs one Python client
 * for every peer. `kernel` is the reference: the kernel's own TCP on both ends of a veth pair
 * (the same client in one namespace, a Python server in another). For each peer and TUN MTU:
 * bulk TCP kernel→peer (into the peer's sink) and peer→kernel (from its source), the median of
 * `--runs`; at the first MTU also 1-byte request/response latency (p50, p99) and the rate of
 * connections that each carry one 1-byte exchange. Figures, the peer process's CPU, and the
 * ratios are printed side by side: ustack with offload over the best peer with offload
 * (`gvisor-gso`), ustack-plain over the best peer without (`gvisor`, `lwip`); bench/ratios.ts.
 *
 * `gvisor-gso` is gVisor with segmentation offload as gVisor offers it, which Debian's gVisor
 * has only on a packet socket (bench/peers/README.md): its peer attaches with AF_PACKET and the
 * virtio-net header to one end of a veth pair, the kernel's end in the client's namespace.
 *
 * Goodput under loss (`--loss 1,2`, empty to leave out): each percentage of random loss in each
 * direction with a 5 ms delay each way (10 ms RTT), MTU 1500, `--loss-seconds` of bulk each way,
 * median of `--loss-runs`: ustack (`--no-offload`, so a loss is one packet) with its FaultInjector
 * in the peer process, against the kernel's TCP on both ends through bench/peers/lossy-relay.ts,
 * the same FaultInjector between two TUN devices (this kernel has no netem). Both kernels' ends use
 * CUBIC, ustack's default (TCP_CONGESTION per socket: a namespace may not default to it here);
 * the kernel with BBR, this host's default, is printed beside it for reference.
 *
 * gVisor and lwIP peers are built here from Debian's packages (golang-go +
 * golang-gvisor-gvisor-dev; liblwip-dev); a peer that cannot be built is left out with a note.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configureDevice, createNamespace, ip, type Configured } from '../src/link/device.js';
import { ratioToBest, type Comparison } from './ratios.js';

const { values } = parseArgs({
  options: {
    megabytes: { type: 'string', default: '500' },
    /** An uncounted run first, each direction: JIT compilation and caches warm, as in steady use. */
    warmup: { type: 'string', default: '100' },
    runs: { type: 'string', default: '3' },
    /**
     * Sweeps of every peer and MTU, one after the other: on a machine that others load, each
     * peer's runs then fall in every part of the load, not one stretch of it.
     */
    rounds: { type: 'string', default: '1' },
    mtus: { type: 'string', default: '1500,9000,65000' },
    peers: { type: 'string', default: 'ustack,ustack-plain,kernel,gvisor-gso,gvisor,lwip' },
    'round-trips': { type: 'string', default: '10000' },
    connections: { type: 'string', default: '2000' },
    /** Writes a V8 CPU profile of each ustack peer process into this directory. */
    profile: { type: 'string' },
    /** Goodput under loss: percentages of random loss each way, 10 ms RTT; empty leaves it out. */
    loss: { type: 'string', default: '1,2' },
    'loss-seconds': { type: 'string', default: '10' },
    'loss-runs': { type: 'string', default: '3' },
  },
});
const BYTES = Number(values.megabytes) * 1_000_000;
const WARMUP_BYTES = Number(values.warmup) * 1_000_000;
const RUNS = Number(values.runs);
/** The whole sweep this many times, peers in turn, each figure the median over rounds. */
const ROUNDS = Number(values.rounds);
const MTUS = values.mtus.split(',').map(Number);
const ROUND_TRIPS = Number(values['round-trips']);
const CONNECTIONS = Number(values.connections);
/** No single measurement may take longer than this; a stuck peer fails the run, not the machine. */
const CLIENT_TIMEOUT_MS = 120_000;

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const build = join(root, 'bench', 'peers', 'build');
const KERNEL_ADDRESS = '10.78.0.1';
const PEER_ADDRESS = '10.78.0.2';

/** The kernel side's client: one measurement per run, printed as one JSON line. */
const CLIENT = `
import json, os, socket, struct, sys, time
host, test, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
congestion = os.environ.get('BENCH_CONGESTION')
def connect(port):
    s = socket.socket()
    if congestion: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, congestion.encode())
    s.settimeout(30); s.connect((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
def exactly(s, n):
    got = b''
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk: raise SystemExit('connection closed early')
        got += chunk
    return got
if test == 'sink':       # kernel -> peer: send count bytes, then wait for the peer's close
    s = connect(5001); block = memoryview(bytes(1 << 18)); left = count
    began = time.perf_counter()
    while left > 0:
        n = min(left, len(block)); s.sendall(block[:n]); left -= n
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b'': raise SystemExit('sink sent data')
    print(json.dumps({'bytesPerSecond': count / (time.perf_counter() - began)}))
elif test == 'source':   # peer -> kernel: ask for count bytes, read to EOF
    s = connect(5002); buffer = bytearray(1 << 20); got = 0
    began = time.perf_counter()
    s.sendall(struct.pack('>Q', count))
    while True:
        n = s.recv_into(buffer)
        if n == 0: break
        got += n
    seconds = time.perf_counter() - began
    if got != count: raise SystemExit(f'source sent {got} bytes, not {count}')
    print(json.dumps({'bytesPerSecond': count / seconds}))
elif test == 'timed-sink':    # kernel -> peer for count seconds, then wait for the peer's close
    s = connect(5001); block = memoryview(bytes(1 << 16)); sent = 0
    began = time.perf_counter(); deadline = began + count
    while time.perf_counter() < deadline:
        s.sendall(block); sent += len(block)
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b'': raise SystemExit('sink sent data')
    print(json.dumps({'bytesPerSecond': sent / (time.perf_counter() - began)}))
elif test == 'timed-source':  # peer -> kernel: what arrives in count seconds of an endless source
    s = connect(5002); buffer = bytearray(1 << 20); got = 0
    began = time.perf_counter(); deadline = began + count
    s.sendall(struct.pack('>Q', 1 << 62)); s.settimeout(0.2)
    while time.perf_counter() < deadline:
        try: n = s.recv_into(buffer)
        except socket.timeout: continue
        if n == 0: raise SystemExit('source closed early')
        got += n
    print(json.dumps({'bytesPerSecond': got / (time.perf_counter() - began)}))
elif test == 'rr':       # 1-byte request/response on one connection
    s = connect(5003); samples = []
    for i in range(count + 200):
        began = time.perf_counter_ns(); s.sendall(b'x'); exactly(s, 1)
        if i >= 200: samples.append((time.perf_counter_ns() - began) / 1000)
    samples.sort()
    print(json.dumps({'p50': samples[len(samples) // 2], 'p99': samples[int(len(samples) * 0.99)]}))
elif test == 'crr':      # connections per second, each with one 1-byte exchange
    began = time.perf_counter()
    for i in range(count):
        s = connect(5003); s.sendall(b'x'); exactly(s, 1); s.close()
    print(json.dumps({'perSecond': count / (time.perf_counter() - began)}))
`;

/** The reference peer: the kernel's own TCP, the three services in Python threads. */
const KERNEL_SERVER = `
import os, socket, struct, sys, threading
address = sys.argv[1]
congestion = os.environ.get('BENCH_CONGESTION')
def serve(port, handle):
    server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port)); server.listen(1024)
    def loop():
        while True:
            c, _ = server.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if congestion: c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, congestion.encode())
            threading.Thread(target=handle, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
def sink(c):
    buffer = bytearray(1 << 20)
    while c.recv_into(buffer): pass
    c.close()
def source(c):
    header = b''
    while len(header) < 8: header += c.recv(8 - len(header))
    left = struct.unpack('>Q', header)[0]; block = memoryview(bytes(1 << 18))
    try:
        while left > 0:
            n = min(left, len(block)); c.sendall(block[:n]); left -= n
    except OSError: pass     # the timed source test closes before the count is reached
    c.close()
def echo(c):
    while True:
        data = c.recv(65536)
        if not data: break
        c.sendall(data)
    c.close()
serve(5001, sink); serve(5002, source); serve(5003, echo)
print('ready', flush=True)
sys.stdin.read()
`;

/** A peer stack: how to build it and how to start it on a TUN device. */
interface Peer {
  readonly name: string;
  readonly label: string;
  /** Builds it; returns null when ready, else why it cannot run here. */
  readonly prepare: () => string | null;
  /** argv of the peer process for device `tun` at `mtu`. */
  readonly command: (tun: string, mtu: number) => string[];
  /** Starts it on a path of its own instead of a TUN device (startTunPeer). */
  readonly start?: (mtu: number) => Promise<Running>;
}

function buildWith(script: string, output: string): string | null {
  const result = spawnSync('bash', [join(root, 'bench', 'peers', script), join(build, output)], { encoding: 'utf8', timeout: 300_000 });
  return result.status === 0 ? null : (result.stderr.trim() || `build failed (${result.status})`).split('\n').at(-1)!;
}

/** The ustack peer's argv, with `extra` arguments. */
function ustackCommand(tun: string, mtu: number, extra: string[]): string[] {
  const profile = values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [];
  return [
    process.execPath,
    ...profile,
    join(root, 'dist', 'bench', 'peers', 'ustack-peer.js'),
    '--tun',
    tun,
    '--addr',
    PEER_ADDRESS,
    '--mtu',
    String(mtu),
    ...extra,
  ];
}

const PEERS: Record<string, Peer> = {
  ustack: { name: 'ustack', label: 'ustack', prepare: () => null, command: (tun, mtu) => ustackCommand(tun, mtu, []) },
  'ustack-plain': { name: 'ustack-plain', label: 'plain', prepare: () => null, command: (tun, mtu) => ustackCommand(tun, mtu, ['--no-offload']) },
  'gvisor-gso': {
    name: 'gvisor-gso',
    label: 'gVisor-GSO',
    prepare: () => buildWith('gvisor/build.sh', 'gvisor-peer'),
    command: (iface, mtu) => [join(build, 'gvisor-peer'), '--packet-socket', iface, '--addr', PEER_ADDRESS, '--mtu', String(mtu)],
    start: (mtu) => startPacketSocketPeer(PEERS['gvisor-gso']!, mtu),
  },
  gvisor: {
    name: 'gvisor',
    label: 'gVisor',
    prepare: () => buildWith('gvisor/build.sh', 'gvisor-peer'),
    command: (tun, mtu) => [join(build, 'gvisor-peer'), '--tun', tun, '--addr', PEER_ADDRESS, '--mtu', String(mtu)],
  },
  lwip: {
    name: 'lwip',
    label: 'lwIP',
    prepare: () => buildWith('lwip/build.sh', 'lwip-peer'),
    command: (tun, mtu) => [join(build, 'lwip-peer'), '--tun', tun, '--addr', PEER_ADDRESS, '--mtu', String(mtu)],
  },
};

function debianVersion(pkg: string): string {
  const result = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.split('+')[0]!.replace(/^0\.0~/, '') : '(not installed)';
}

/** A running peer: its process (for CPU time) and its setup to undo. */
interface Running {
  readonly clientNamespace: string;
  readonly process: ChildProcess;
  stop(): void;
}

/** Starts `child` and resolves once it prints `ready`. */
function whenReady(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${what}: not ready after 30 s: ${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready: ${output}`));
    });
  });
}

let sequence = 0;

/** A user-space peer on a fresh TUN device, the kernel's end in a fresh namespace. */
async function startTunPeer(peer: Peer, mtu: number): Promise<Running> {
  const tag = `${process.pid % 10000}${sequence++}`;
  const tun = `ustb${tag}`;
  const namespace = createNamespace(`ustack-bench-${tag}`);
  const [program, ...args] = peer.command(tun, mtu);
  const child = spawn(program!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let device: Configured | undefined;
  const stop = () => {
    child.stdin!.end();
    child.kill('SIGTERM');
    device?.close();
    namespace.close();
  };
  try {
    await whenReady(child, peer.name);
    device = configureDevice({ name: tun, netns: namespace.name, mtu, txQueueLength: 1000, addresses: [`${KERNEL_ADDRESS}/24`] });
  } catch (error) {
    stop();
    throw error;
  }
  return { clientNamespace: namespace.name, process: child, stop };
}

/**
 * A user-space peer on an AF_PACKET socket (gVisor with GSO): a veth pair, the kernel's end in
 * the client's namespace with KERNEL_ADDRESS, the peer's end with no address (IPv6 off, so the
 * kernel there neither answers nor chatters) in a namespace where the peer process runs.
 */
async function startPacketSocketPeer(peer: Peer, mtu: number): Promise<Running> {
  const tag = `${process.pid % 10000}${sequence++}`;
  const client = createNamespace(`ustack-bench-${tag}c`);
  const server = createNamespace(`ustack-bench-${tag}p`);
  const [clientEnd, peerEnd] = [`ustbc${tag}`, `ustbp${tag}`];
  let child: ChildProcess | undefined;
  const stop = () => {
    child?.stdin!.end();
    child?.kill('SIGTERM');
    server.close();
    client.close();
  };
  try {
    ip(['link', 'add', clientEnd, 'netns', client.name, 'type', 'veth', 'peer', 'name', peerEnd, 'netns', server.name]);
    ip(['link', 'set', 'dev', clientEnd, 'mtu', String(mtu), 'up'], client.name);
    ip(['addr', 'add', `${KERNEL_ADDRESS}/24`, 'dev', clientEnd], client.name);
    const quiet = spawnSync('ip', ['netns', 'exec', server.name, 'sysctl', '-qw', `net.ipv6.conf.${peerEnd}.disable_ipv6=1`], { encoding: 'utf8' });
    if (quiet.status !== 0) throw new Error(`sysctl in ${server.name}: ${quiet.stderr.trim()}`);
    ip(['link', 'set', 'dev', peerEnd, 'mtu', String(mtu), 'up'], server.name);
    // `ip netns exec` execs the peer, so the child's pid is the peer's (for its CPU time).
    child = spawn('ip', ['netns', 'exec', server.name, ...peer.command(peerEnd, mtu)], { stdio: ['pipe', 'pipe', 'inherit'] });
    await whenReady(child, peer.name);
  } catch (error) {
    stop();
    throw error;
  }
  return { clientNamespace: client.name, process: child, stop };
}

/** The kernel on both ends of a veth pair, a namespace each. */
async function startKernelPeer(mtu: number): Promise<Running> {
  const tag = `${process.pid % 10000}${sequence++}`;
  const client = createNamespace(`ustack-bench-${tag}c`);
  const server = createNamespace(`ustack-bench-${tag}s`);
  const stopNamespaces = () => {
    server.close();
    client.close();
  };
  let child: ChildProcess | undefined;
  try {
    ip(['link', 'add', `ustbc${tag}`, 'netns', client.name, 'type', 'veth', 'peer', 'name', `ustbs${tag}`, 'netns', server.name]);
    for (const [name, namespace, address] of [
      [`ustbc${tag}`, client.name, KERNEL_ADDRESS],
      [`ustbs${tag}`, server.name, PEER_ADDRESS],
    ] as const) {
      ip(['link', 'set', 'dev', name, 'mtu', String(mtu), 'up'], namespace);
      ip(['addr', 'add', `${address}/24`, 'dev', name], namespace);
    }
    child = spawn('ip', ['netns', 'exec', server.name, 'python3', '-c', KERNEL_SERVER, PEER_ADDRESS], { stdio: ['pipe', 'pipe', 'inherit'] });
    await whenReady(child, 'kernel server');
  } catch (error) {
    child?.kill('SIGTERM');
    stopNamespaces();
    throw error;
  }
  const running = child;
  return {
    clientNamespace: client.name,
    process: running,
    stop: () => {
      running.stdin!.end();
      running.kill('SIGTERM');
      stopNamespaces();
    },
  };
}

/** Runs one client measurement in `namespace`; resolves with its JSON. */
function runClient(namespace: string, test: string, count: number, congestion?: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const env = congestion ? { ...process.env, BENCH_CONGESTION: congestion } : process.env;
    const child = spawn('ip', ['netns', 'exec', namespace, 'python3', '-c', CLIENT, PEER_ADDRESS, test, String(count)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLIENT_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(stdout) as Record<string, number>);
      else reject(new Error(`${test} failed (${code ?? 'killed after timeout'}): ${stderr.trim().split('\n').at(-1) ?? ''}`));
    });
  });
}

/** User+system CPU seconds of process `pid` so far (from /proc; clock ticks are 100 Hz on Linux). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** One row of results: a figure per peer measured, and which way is better. */
interface Row {
  readonly label: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  readonly figures: Map<string, number>;
  readonly notes: Map<string, string>;
}

const rows = new Map<string, Row>();
/** Every round's figure of each row and peer: the table shows their median (see --rounds). */
const roundFigures = new Map<string, number[]>();
function record(key: string, label: string, unit: string, higherIsBetter: boolean, peer: string, value: number, note = ''): void {
  let row = rows.get(key);
  if (!row) rows.set(key, (row = { label, unit, higherIsBetter, figures: new Map(), notes: new Map() }));
  const figures = roundFigures.get(`${key} ${peer}`) ?? [];
  figures.push(value);
  roundFigures.set(`${key} ${peer}`, figures);
  row.figures.set(peer, median(figures));
  if (note) row.notes.set(peer, note);
}

/** Measures one peer at one MTU: bulk both ways (median of RUNS), and at `latency` rr and crr. */
async function measure(peer: string, label: string, mtu: number, latency: boolean, start: () => Promise<Running>): Promise<void> {
  const running = await start();
  try {
    for (const [test, direction] of [
      ['sink', `kernel → stack`],
      ['source', `stack → kernel`],
    ] as const) {
      const rates: number[] = [];
      const cpu: number[] = [];
      if (WARMUP_BYTES > 0) await runClient(running.clientNamespace, test, WARMUP_BYTES);
      for (let run = 0; run < RUNS; run++) {
        const cpuBefore = cpuSeconds(running.process.pid);
        const began = performance.now();
        rates.push((await runClient(running.clientNamespace, test, BYTES)).bytesPerSecond!);
        cpu.push((cpuSeconds(running.process.pid) - cpuBefore) / ((performance.now() - began) / 1000));
      }
      const gbits = (median(rates) * 8) / 1e9;
      const note = peer === 'kernel' ? '' : `cpu ${(median(cpu) * 100).toFixed(0)}%`;
      record(`${test}-${mtu}`, `bulk ${direction}, MTU ${mtu}`, 'Gbit/s', true, peer, gbits, note);
      console.log(
        `  ${label.padEnd(18)} MTU ${String(mtu).padEnd(5)} ${direction}: ${gbits.toFixed(2)} Gbit/s (runs: ${rates.map((r) => ((r * 8) / 1e9).toFixed(2)).join(', ')})${note ? `, peer ${note}` : ''}`,
      );
    }
    if (latency) {
      const rr = await runClient(running.clientNamespace, 'rr', ROUND_TRIPS);
      record('rr-p50', `1-byte request/response, p50`, 'µs', false, peer, rr.p50!);
      record('rr-p99', `1-byte request/response, p99`, 'µs', false, peer, rr.p99!);
      const crr = await runClient(running.clientNamespace, 'crr', CONNECTIONS);
      record('crr', `connect + 1-byte exchange + close`, 'per s', true, peer, crr.perSecond!);
      console.log(
        `  ${label.padEnd(18)} MTU ${String(mtu).padEnd(5)} rr p50 ${rr.p50!.toFixed(0)} µs, p99 ${rr.p99!.toFixed(0)} µs; ${crr.perSecond!.toFixed(0)} connections/s`,
      );
    }
  } finally {
    running.stop();
  }
}

/** Like for like: ustack with offload against peers with offload, and without against without. */
const COMPARISONS: ReadonlyArray<Comparison & { readonly label: string }> = [
  { label: 'offload ÷best', ours: 'ustack', peers: ['gvisor-gso'] },
  { label: 'plain ÷best', ours: 'ustack-plain', peers: ['gvisor', 'lwip'] },
];

// ---- goodput under loss ------------------------------------------------------------------

const LOSS_PERCENTS = values.loss ? values.loss.split(',').map(Number) : [];
const LOSS_SECONDS = Number(values['loss-seconds']);
const LOSS_RUNS = Number(values['loss-runs']);
const LOSS_MTU = 1500;
/** Each way, so the round trip is 10 ms. */
const ONE_WAY_DELAY_MS = 5;

/** ustack without offload (one packet per frame, so a loss is one packet), its FaultInjector both ways. */
function lossyUstack(lossRate: number): Peer {
  const faults = ['--no-offload', '--loss', String(lossRate), '--delay', String(ONE_WAY_DELAY_MS)];
  return { name: 'ustack', label: 'ustack', prepare: () => null, command: (tun, mtu) => ustackCommand(tun, mtu, faults) };
}

/**
 * The kernel on both ends through bench/peers/lossy-relay.ts: its two TUN devices, one in the
 * client's namespace and one in the server's, the same FaultInjector between them each way.
 */
async function startRelayedKernelPeer(lossRate: number, congestion: string): Promise<Running> {
  const tag = `${process.pid % 10000}${sequence++}`;
  const client = createNamespace(`ustack-bench-${tag}c`);
  const server = createNamespace(`ustack-bench-${tag}s`);
  const [clientEnd, serverEnd] = [`ustbc${tag}`, `ustbs${tag}`];
  const relayArguments = ['--a', clientEnd, '--b', serverEnd, '--mtu', String(LOSS_MTU), '--loss', String(lossRate), '--delay', String(ONE_WAY_DELAY_MS)];
  const relay = spawn(process.execPath, [join(root, 'dist', 'bench', 'peers', 'lossy-relay.js'), ...relayArguments], { stdio: ['pipe', 'pipe', 'inherit'] });
  const devices: Configured[] = [];
  let kernel: ChildProcess | undefined;
  const stop = () => {
    kernel?.stdin!.end();
    kernel?.kill('SIGTERM');
    relay.stdin!.end();
    relay.kill('SIGTERM');
    for (const device of devices) device.close();
    server.close();
    client.close();
  };
  try {
    await whenReady(relay, 'lossy relay');
    for (const [name, namespace, address] of [
      [clientEnd, client.name, KERNEL_ADDRESS],
      [serverEnd, server.name, PEER_ADDRESS],
    ] as const)
      devices.push(configureDevice({ name, netns: namespace, mtu: LOSS_MTU, txQueueLength: 1000, addresses: [`${address}/24`] }));
    const env = { ...process.env, BENCH_CONGESTION: congestion };
    kernel = spawn('ip', ['netns', 'exec', server.name, 'python3', '-c', KERNEL_SERVER, PEER_ADDRESS], { stdio: ['pipe', 'pipe', 'inherit'], env });
    await whenReady(kernel, 'kernel server');
  } catch (error) {
    stop();
    throw error;
  }
  return { clientNamespace: client.name, process: kernel, stop };
}

/** A stack measured under loss: how to start it, and the congestion control of the kernel's ends. */
interface LossyStack {
  readonly name: string;
  readonly label: string;
  readonly congestion: string;
  readonly start: (lossRate: number) => Promise<Running>;
}

const LOSSY_STACKS: readonly LossyStack[] = [
  { name: 'ustack', label: 'ustack', congestion: 'cubic', start: (lossRate) => startTunPeer(lossyUstack(lossRate), LOSS_MTU) },
  { name: 'kernel', label: 'kernel CUBIC', congestion: 'cubic', start: (lossRate) => startRelayedKernelPeer(lossRate, 'cubic') },
  { name: 'kernel-bbr', label: 'kernel BBR', congestion: 'bbr', start: (lossRate) => startRelayedKernelPeer(lossRate, 'bbr') },
];

const lossRows = new Map<string, Row>();

/** Goodput each way at each loss rate (median of LOSS_RUNS timed runs), and the path's RTT. */
async function measureLoss(): Promise<void> {
  for (const percent of LOSS_PERCENTS) {
    for (const stack of LOSSY_STACKS) {
      let running: Running;
      try {
        running = await stack.start(percent / 100);
      } catch (error) {
        console.log(`  ${stack.label}: ${percent}% loss: ${(error as Error).message}`);
        continue;
      }
      try {
        const row = (key: string, label: string, unit: string, higherIsBetter: boolean) => {
          if (!lossRows.has(key)) lossRows.set(key, { label, unit, higherIsBetter, figures: new Map(), notes: new Map() });
          return lossRows.get(key)!;
        };
        const rtt = await runClient(running.clientNamespace, 'rr', 100, stack.congestion);
        row(`rtt-${percent}`, `1-byte round trip p50, ${percent}% loss`, 'ms', false).figures.set(stack.name, rtt.p50! / 1000);
        const figures: string[] = [];
        for (const [test, direction] of [
          ['timed-sink', 'kernel → stack'],
          ['timed-source', 'stack → kernel'],
        ] as const) {
          const rates: number[] = [];
          for (let run = 0; run < LOSS_RUNS; run++)
            rates.push((await runClient(running.clientNamespace, test, LOSS_SECONDS, stack.congestion)).bytesPerSecond!);
          const mbits = (median(rates) * 8) / 1e6;
          row(`${test}-${percent}`, `goodput ${direction}, ${percent}% loss`, 'Mbit/s', true).figures.set(stack.name, mbits);
          figures.push(`${direction} ${mbits.toFixed(1)} Mbit/s (runs: ${rates.map((r) => ((r * 8) / 1e6).toFixed(1)).join(', ')})`);
        }
        console.log(`  ${stack.label.padEnd(18)} ${percent}% loss, RTT p50 ${(rtt.p50! / 1000).toFixed(1)} ms: ${figures.join('; ')}`);
      } catch (error) {
        console.log(`  ${stack.label}: ${percent}% loss: ${(error as Error).message}`);
      } finally {
        running.stop();
      }
    }
  }
}

/** The loss table: a figure per stack, then ustack's ratio to the kernel with CUBIC (like for like) and with BBR. */
function printLossTable(): void {
  if (lossRows.size === 0) return;
  const width = 14;
  console.log('');
  console.log(
    `Goodput under random loss each way, ${2 * ONE_WAY_DELAY_MS} ms RTT, MTU ${LOSS_MTU}, ${LOSS_SECONDS} s per run, median of ${LOSS_RUNS} (ustack's FaultInjector in its peer; the kernel's through lossy-relay.ts):`,
  );
  console.log(['', ...LOSSY_STACKS.map((s) => s.label), '÷kernel CUBIC', '÷kernel BBR'].map((h, i) => (i === 0 ? h.padEnd(46) : h.padStart(width))).join(' '));
  for (const row of lossRows.values()) {
    const cells = LOSSY_STACKS.map((s) => {
      const value = row.figures.get(s.name);
      return (value === undefined ? '—' : value.toFixed(1)).padStart(width);
    });
    const ratios = ['kernel', 'kernel-bbr'].map((peer) => {
      const best = ratioToBest(row.figures, { ours: 'ustack', peers: [peer] }, row.higherIsBetter);
      return (best ? `${best.ratio.toFixed(2)}×` : '—').padStart(width);
    });
    console.log([`${row.label} (${row.unit})`.padEnd(46), ...cells, ...ratios].join(' '));
  }
}

// ---- main ----------------------------------------------------------------------------------

if (process.getuid?.() !== 0) {
  console.error('bench:tun needs root (TUN devices and network namespaces): sudo npm run bench:tun');
  process.exit(2);
}
const requested = values.peers.split(',');
const columns: Array<{ name: string; label: string }> = [];
for (const name of requested) {
  if (name === 'kernel') {
    columns.push({ name, label: 'kernel' });
    continue;
  }
  const peer = PEERS[name];
  if (!peer) throw new Error(`unknown peer ${name}: choose from kernel, ${Object.keys(PEERS).join(', ')}`);
  const problem = peer.prepare();
  if (problem) console.log(`leaving out ${name}: ${problem}`);
  else columns.push({ name, label: peer.label });
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`bench:tun — ${cpu} × ${cpus().length}, Linux ${release()}, Node ${process.version}`);
console.log(
  `${values.megabytes} MB per bulk run after a ${values.warmup} MB warm-up, median of ${RUNS}${ROUNDS > 1 ? `, then of ${ROUNDS} rounds (peers in turn)` : ''}; ${ROUND_TRIPS} round trips; ${CONNECTIONS} connections; kernel side: Python 3 in a network namespace`,
);
console.log(
  `peers: kernel = Linux TCP on both ends of a veth pair; gVisor netstack ${debianVersion('golang-gvisor-gvisor-dev')} (Debian), gVisor-GSO = the same on AF_PACKET with host GSO; lwIP ${debianVersion('liblwip-dev')} (Debian)`,
);
for (let round = 0; round < ROUNDS; round++) {
  if (ROUNDS > 1) console.log(`round ${round + 1} of ${ROUNDS}`);
  for (const [index, mtu] of MTUS.entries())
    for (const column of columns) {
      const peer = PEERS[column.name];
      const start = !peer ? () => startKernelPeer(mtu) : peer.start ? () => peer.start!(mtu) : () => startTunPeer(peer, mtu);
      try {
        await measure(column.name, column.label, mtu, index === 0, start);
      } catch (error) {
        console.log(`  ${column.label}: MTU ${mtu}: ${(error as Error).message}`);
      }
    }
}

await measureLoss();
printTable();
const cpuNotes = [...rows.values()].filter((row) => row.notes.size > 0);
if (cpuNotes.length > 0) {
  console.log('CPU of the peer process during the bulk runs (100% = one core):');
  for (const row of cpuNotes)
    console.log(
      `  ${row.label.padEnd(32)} ${columns
        .filter((c) => row.notes.has(c.name))
        .map((c) => `${c.label} ${row.notes.get(c.name)!.replace('cpu ', '')}`)
        .join(', ')}`,
    );
}

/** The table: a figure per stack, then for each comparison ustack's ratio to the best peer of its kind. */
function printTable(): void {
  const width = 12;
  const labelOf = new Map(columns.map((c) => [c.name, c.label]));
  const header = ['', ...columns.map((c) => c.label), ...COMPARISONS.map((c) => c.label)];
  console.log('');
  console.log(header.map((h, i) => (i === 0 ? h.padEnd(46) : h.padStart(i > columns.length ? 18 : width))).join(' '));
  for (const row of rows.values()) {
    const cells = columns.map((c) => {
      const value = row.figures.get(c.name);
      return (value === undefined ? '—' : `${value < 10 ? value.toFixed(2) : value.toFixed(0)}`).padStart(width);
    });
    const ratios = COMPARISONS.map((comparison) => {
      const best = ratioToBest(row.figures, comparison, row.higherIsBetter);
      return (best ? `${best.ratio.toFixed(2)}× ${labelOf.get(best.peer) ?? best.peer}` : '—').padStart(18);
    });
    console.log([`${row.label} (${row.unit})`.padEnd(46), ...cells, ...ratios].join(' '));
  }
  console.log("÷best: ustack's figure over the best peer's of the same kind, named (inverted for latency): above 1× means ustack did better.");
}
printLossTable();
