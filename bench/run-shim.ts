/**
 * `ustack run`'s cost (a benchmark, not a test):
 *
 *   npm run bench:run-shim [-- --calls N] [--bytes MB] [--requests N]
 *
 * 1. Per call (any user): the same Python script times socket calls on the kernel and under
 *    `ustack run` — a control call (getsockname, setsockopt: a round trip to the ustack process),
 *    socket()+close(), and a 1-byte request/response on a TCP connection over 127.0.0.1 (data only:
 *    two bridges and ustack's TCP instead of the kernel's loopback).
 * 2. Tools (root): curl (throughput of one large file, then the request rate of many small ones,
 *    one connection each: python3 -m http.server is HTTP/1.0) and iperf3 -c, from a namespace's
 *    kernel servers — under `ustack run --tun` (ustack on a TUN device), and the same tools on the
 *    kernel over the same kind of path: TUN devices and a Node process between client and server
 *    (bench/peers/lossy-relay.ts with no loss or delay: it reads each packet from one TUN device
 *    and writes it to the other, where `ustack run`'s process runs TCP/IP on it; the kernel
 *    cannot sit on both ends of one TUN device). The kernel over a veth pair, its own path
 *    between namespaces, is printed beside them. ustack runs with --no-offload, as the relay does.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = resolve(here, '..', 'src', 'cli', 'main.js');
const PYTHON = '/usr/bin/python3';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const CALLS = option('calls', 20_000);
const MEGABYTES = option('bytes', 200);
const REQUESTS = option('requests', 200);

const CALL_SCRIPT = `
import json, socket, sys, threading, time
n = int(sys.argv[1])
def per_call(f, count=n):
    began = time.perf_counter()
    for _ in range(count): f()
    return (time.perf_counter() - began) / count * 1e6
listener = socket.socket(); listener.bind(('127.0.0.1', 0)); listener.listen()
results = {}
results['getsockname'] = per_call(listener.getsockname)
results['setsockopt'] = per_call(lambda: listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1))
results['socket+close'] = per_call(lambda: socket.socket().close(), n // 10)
client = socket.create_connection(listener.getsockname()); server, _ = listener.accept()
client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def echo():
    while True:
        b = server.recv(1)
        if not b: return
        server.sendall(b)
threading.Thread(target=echo, daemon=True).start()
def round_trip():
    client.sendall(b'x'); client.recv(1)
results['1-byte round trip'] = per_call(round_trip, n // 4)
print(json.dumps(results))
`;

function runJson(command: string[]): Record<string, number> {
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', timeout: 600_000 });
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

function perCall(): void {
  const kernel = runJson([PYTHON, '-c', CALL_SCRIPT, String(CALLS)]);
  const shim = runJson([process.execPath, MAIN, 'run', '--', PYTHON, '-c', CALL_SCRIPT, String(CALLS)]);
  console.log(`\nper call (µs; ${CALLS} calls, a tenth for socket+close, a quarter for round trips)`);
  console.log(`${'call'.padEnd(20)} ${'kernel'.padStart(10)} ${'ustack run'.padStart(12)} ${'ratio'.padStart(8)}`);
  for (const name of Object.keys(kernel)) {
    console.log(
      `${name.padEnd(20)} ${kernel[name].toFixed(2).padStart(10)} ${shim[name].toFixed(2).padStart(12)} ${(shim[name] / kernel[name]).toFixed(1).padStart(8)}`,
    );
  }
}

/**
 * The kernel's path through TUN: lossy-relay.ts (no loss, no delay) between TUN device A, here
 * with 10.87.0.2, and B, moved into `ns` with 10.87.0.1 — a wire that is a Node process reading
 * and writing one packet at a time, as `ustack run --tun`'s is.
 */
async function startTunRelay(ns: string): Promise<ReturnType<typeof spawn>> {
  const [hostEnd, nsEnd] = [`${ns}a`, `${ns}b`];
  const relay = spawn(process.execPath, [join(here, 'peers', 'lossy-relay.js'), '--a', hostEnd, '--b', nsEnd, '--mtu', '1500'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolveReady, reject) => {
    relay.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolveReady());
    relay.on('exit', (code) => reject(new Error(`lossy-relay exited (${code}) before it was ready`)));
  });
  sh(`ip link set ${nsEnd} netns ${ns}`);
  sh(
    `ip addr add 10.87.0.2/24 dev ${hostEnd} && ip link set ${hostEnd} up && ip -n ${ns} addr add 10.87.0.1/24 dev ${nsEnd} && ip -n ${ns} link set ${nsEnd} up`,
  );
  return relay;
}

function sh(command: string): void {
  const result = spawnSync('sh', ['-c', command], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command}: ${result.stderr}`);
}

async function tools(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('\ntools: SKIPPED (needs root: a TUN device, a namespace and a veth pair)');
    return;
  }
  const ns = `ustbench${process.pid % 10000}`;
  const dir = mkdtempSync(join(tmpdir(), 'ustack-bench-run-'));
  writeFileSync(join(dir, 'small.txt'), 'x'.repeat(1000));
  sh(`truncate -s ${MEGABYTES}M ${join(dir, 'big.bin')}`);
  const children: Array<ReturnType<typeof spawn>> = [];
  try {
    sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
    // The kernel's path: a veth pair, host 10.85.0.2 ↔ namespace 10.85.0.1; ustack's: TUN, 10.86.0.2 ↔ 10.86.0.1.
    sh(`ip link add ${ns}h type veth peer name ${ns}n && ip link set ${ns}n netns ${ns}`);
    sh(`ip addr add 10.85.0.2/24 dev ${ns}h && ip link set ${ns}h up && ip -n ${ns} addr add 10.85.0.1/24 dev ${ns}n && ip -n ${ns} link set ${ns}n up`);
    children.push(spawn('ip', ['netns', 'exec', ns, PYTHON, '-m', 'http.server', '--bind', '0.0.0.0', '8090'], { cwd: dir, stdio: 'ignore' }));
    children.push(spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-p', '5291'], { stdio: 'ignore' }));
    children.push(await startTunRelay(ns));
    await new Promise((r) => setTimeout(r, 1500));
    // --no-offload: one packet per MTU, as the relay's path carries them (it has no offload), so
    // the two TUN columns compare plain with plain.
    const device = ['--tun', `${ns}t`, '--addr', '10.86.0.2/24', '--host-addr', '10.86.0.1', '--netns', ns, '--no-offload'];
    const curlRate = (prefix: string[], host: string) =>
      Number(
        spawnSync(
          prefix[0] ?? 'curl',
          [...prefix.slice(1), ...(prefix.length ? ['curl'] : []), '-s', '-o', '/dev/null', '-w', '%{speed_download}', `http://${host}:8090/big.bin`],
          { encoding: 'utf8' },
        ).stdout,
      );
    const requests = (prefix: string[], host: string) => {
      const urls = Array.from({ length: REQUESTS }, () => `http://${host}:8090/small.txt`);
      const began = performance.now();
      const result = spawnSync(prefix[0] ?? 'curl', [...prefix.slice(1), ...(prefix.length ? ['curl'] : []), '-s', '-o', '/dev/null', ...urls], {
        encoding: 'utf8',
      });
      if (result.status !== 0) throw new Error(`curl failed: ${result.stderr}`);
      return REQUESTS / ((performance.now() - began) / 1000);
    };
    const iperf = (prefix: string[], host: string) => {
      const result = spawnSync(prefix[0] ?? 'iperf3', [...prefix.slice(1), ...(prefix.length ? ['iperf3'] : []), '-c', host, '-p', '5291', '-t', '3', '-J'], {
        encoding: 'utf8',
      });
      return (JSON.parse(result.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
    };
    const shim = [process.execPath, MAIN, 'run', ...device, '--'];
    // Each tool: the kernel over veth (10.85.0.1), the kernel over the TUN relay (10.87.0.1), ustack run over TUN (10.86.0.1).
    const rows: Array<[string, number, number, number, string]> = [
      [`curl ${MEGABYTES} MB (MB/s)`, curlRate([], '10.85.0.1') / 1e6, curlRate([], '10.87.0.1') / 1e6, curlRate(shim, '10.86.0.1') / 1e6, ''],
      [
        `curl ${REQUESTS} requests (/s)`,
        requests([], '10.85.0.1'),
        requests([], '10.87.0.1'),
        requests(shim, '10.86.0.1'),
        'one connection each; the ustack figure includes starting ustack run',
      ],
      ['iperf3 -c 3 s (Mbit/s)', iperf([], '10.85.0.1') / 1e6, iperf([], '10.87.0.1') / 1e6, iperf(shim, '10.86.0.1') / 1e6, ''],
    ];
    console.log(
      `\ntools, from a namespace's kernel servers: the kernel over veth, the kernel over TUN through a relay process, ustack run over TUN (both TUN paths without offload)`,
    );
    console.log(`${'tool'.padEnd(26)} ${'kernel veth'.padStart(12)} ${'kernel TUN'.padStart(12)} ${'ustack run'.padStart(12)} ${'÷ TUN'.padStart(8)}`);
    for (const [name, veth, tun, ours, note] of rows) {
      const cells = [veth, tun, ours].map((figure) => figure.toFixed(1).padStart(12)).join(' ');
      console.log(`${name.padEnd(26)} ${cells} ${(ours / tun).toFixed(2).padStart(8)}  ${note}`);
    }
  } finally {
    for (const child of children) child.kill();
    spawnSync('ip', ['link', 'del', `${ns}h`]);
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

perCall();
await tools();
