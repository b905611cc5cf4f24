/**
 * HTTP over TUN, as a new user would try it (a benchmark, not a test; needs root and wrk):
 *
 *   npm run bench:http [-- --seconds 10] [--connections 100,1000] [--paths /,/bytes/1000] [--threads 2]
 *
 * `wrk` (Debian's) in a network namespace against two servers, one after the other:
 *
 * - ustack: `ustack up --serve http` (the built CLI, a process of its own, its TUN device's kernel
 *   end in wrk's namespace): Node's http server on ustack's TCP, over TUN with offload as `up` opens it;
 * - kernel: Node's http server on the kernel's TCP, in a second namespace joined to wrk's by a veth
 *   pair — the same handler for `/bytes/N` (a 64 KiB-chunked body of N zeros with a length), and
 *   for `/` a page as long as ustack's (whose `/` is its counters).
 *
 * For each path and connection count: requests/s, latency p50 and p99 (wrk --latency), and every
 * error wrk counts (connect, read, write, timeout, non-2xx/3xx). A warm-up of 2 s per server
 * comes first. The figures are only as good as the machine is quiet: `uptime`'s load is printed
 * with them. Ratios are ustack over the kernel: requests/s (issue 16 asks ≥ 0.9) and p99
 * (≤ 1.5). Each wrk run is bounded by --seconds plus a margin; every process is ours and ended by
 * its PID; the namespaces (and the veth and TUN ends in them) are removed at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createNamespace, ip, type Namespace } from '../src/link/device.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '100,1000' },
    paths: { type: 'string', default: '/,/bytes/1000' },
    threads: { type: 'string', default: '2' },
    'warmup-seconds': { type: 'string', default: '2' },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = values.connections.split(',').map(Number);
const PATHS = values.paths.split(',');
const THREADS = Number(values.threads);
const WARMUP_SECONDS = Number(values['warmup-seconds']);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(root, 'dist', 'src', 'cli', 'main.js');
const TAG = String(process.pid % 10000);
const USTACK_ADDRESS = '10.79.0.2';
const HOST_ON_TUN = '10.79.0.1';
const KERNEL_SERVER_ADDRESS = '10.80.0.2';
const HOST_ON_VETH = '10.80.0.1';
/** Raises the soft limit of file descriptors to the hard one: wrk's and the kernel server's thousand connections need them. */
const RAISE_FILE_LIMIT = 'ulimit -n "$(ulimit -Hn)"';

/**
 * Node's http on the kernel: the handler of examples/services.ts startHttpServer for
 * `/bytes/N`, and for `/` a text page of `pageLength` bytes (ustack's is its counters).
 */
const KERNEL_HTTP_SERVER = `
import http from 'node:http';
const [address, pageLength] = [process.argv[1], Number(process.argv[2])];
const page = 'k'.repeat(pageLength - 1) + '\\n';
const chunk = Buffer.alloc(64 * 1024);
const server = http.createServer((request, response) => {
  const bytes = /^\\/bytes\\/(\\d+)$/.exec(request.url ?? '/');
  if (request.url === '/') {
    response.setHeader('content-type', 'text/plain; charset=utf-8');
    response.end(page);
  } else if (bytes) {
    response.setHeader('content-type', 'application/octet-stream');
    response.setHeader('content-length', Number(bytes[1]));
    let left = Number(bytes[1]);
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!response.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void response.once('drain', pump);
      }
      response.end();
    };
    pump();
  } else {
    response.statusCode = 404;
    response.end('not found\\n');
  }
});
server.listen(80, address, () => console.log('ready'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/** One wrk run's figures. */
interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** connect + read + write + timeout socket errors, and non-2xx/3xx responses. */
  readonly errors: number;
  readonly errorText: string;
}

/** `1.23ms`, `456.78us`, `1.02s` → milliseconds. */
function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!match) throw new Error(`wrk: cannot read the latency ${text}`);
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
  return Number(match[1]) * scale;
}

function parseWrk(output: string): WrkResult {
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output);
  const p99 = /^\s+99%\s+(\S+)/m.exec(output);
  const requests = /(\d+) requests in/.exec(output);
  if (!rate || !p50 || !p99 || !requests) throw new Error(`wrk printed no figures:\n${output}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).map(Number) : [0, 0, 0, 0];
  const badResponses = non2xx ? Number(non2xx[1]) : 0;
  return {
    requestsPerSecond: Number(rate[1]),
    p50Ms: toMs(p50[1]),
    p99Ms: toMs(p99[1]),
    requests: Number(requests[1]),
    errors: socketErrors.reduce((a, b) => a + b, 0) + badResponses,
    errorText:
      socketErrors.every((n) => n === 0) && badResponses === 0
        ? 'none'
        : `connect ${socketErrors[0]}, read ${socketErrors[1]}, write ${socketErrors[2]}, timeout ${socketErrors[3]}, non-2xx ${badResponses}`,
  };
}

/** Runs wrk in `namespace` against `url` for `seconds`; killed if it overruns by 30 s. */
function wrk(namespace: string, url: string, connections: number, seconds: number): WrkResult {
  const threads = Math.min(THREADS, connections);
  const command = `${RAISE_FILE_LIMIT}; exec wrk -t${threads} -c${connections} -d${seconds}s --timeout 5s --latency ${url}`;
  const run = spawnSync('ip', ['netns', 'exec', namespace, 'sh', '-c', command], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  if (run.status !== 0) throw new Error(`wrk failed (${run.status ?? run.signal}): ${run.stderr}${run.stdout}`);
  return parseWrk(run.stdout);
}

/** Resolves once `child` prints a line matching `ready`; rejects if it exits or stays silent 20 s. */
function whenReady(child: ChildProcess, ready: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${what} not ready in 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready:\n${output}`));
    });
  });
}

/** Ends `child` (ours, by its PID) and waits for it. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The length of the body `url` serves, fetched with curl from `namespace`. */
function bodyLength(namespace: string, url: string): number {
  const run = spawnSync('ip', ['netns', 'exec', namespace, 'curl', '-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{size_download}', url], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`curl ${url}: ${run.stderr}`);
  return Number(run.stdout);
}

interface Row {
  readonly path: string;
  readonly connections: number;
  readonly ustack: WrkResult;
  readonly kernel: WrkResult;
}

function measure(namespace: string, base: string, label: string): Map<string, WrkResult> {
  const results = new Map<string, WrkResult>();
  wrk(namespace, `${base}/`, Math.min(...CONNECTIONS), WARMUP_SECONDS);
  for (const path of PATHS) {
    for (const connections of CONNECTIONS) {
      const result = wrk(namespace, `${base}${path}`, connections, SECONDS);
      results.set(`${path} ${connections}`, result);
      console.log(
        `  ${label.padEnd(6)} ${path.padEnd(12)} c=${String(connections).padEnd(5)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  errors: ${result.errorText}`,
      );
    }
  }
  return results;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:http needs root (TUN devices, namespaces)');
  for (const tool of ['wrk', 'curl', 'ip']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) throw new Error(`bench:http needs ${tool} (apt-get install ${tool})`);
  }
  console.log(`bench:http — wrk against Node's http on ustack (TUN) and on the kernel (veth); ${SECONDS} s per run, ${THREADS} wrk threads`);
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}, load ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}`,
  );

  const client: Namespace = createNamespace(`ustack-bh-${TAG}c`);
  const kernelSide: Namespace = createNamespace(`ustack-bh-${TAG}s`);
  const children: ChildProcess[] = [];
  try {
    // ustack up --serve http, the TUN's kernel end in the client's namespace.
    const up = spawn(
      'sh',
      ['-c', `exec node ${CLI} up --tun ubh${TAG} --addr ${USTACK_ADDRESS}/24 --host-addr ${HOST_ON_TUN} --netns ${client.name} --serve http --stats 0`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(up);
    await whenReady(up, /Ctrl-C to stop/, 'ustack up');
    const ustackPage = bodyLength(client.name, `http://${USTACK_ADDRESS}/`);

    // Node's http on the kernel, over a veth pair into the client's namespace.
    ip(['link', 'add', `ubhc${TAG}`, 'netns', client.name, 'type', 'veth', 'peer', 'name', `ubhs${TAG}`, 'netns', kernelSide.name]);
    for (const [name, namespace, address] of [
      [`ubhc${TAG}`, client.name, HOST_ON_VETH],
      [`ubhs${TAG}`, kernelSide.name, KERNEL_SERVER_ADDRESS],
    ] as const) {
      ip(['link', 'set', 'dev', name, 'mtu', '1500', 'up'], namespace);
      ip(['addr', 'add', `${address}/24`, 'dev', name], namespace);
    }
    const kernel = spawn(
      'ip',
      [
        'netns',
        'exec',
        kernelSide.name,
        'sh',
        '-c',
        `${RAISE_FILE_LIMIT}; exec node --input-type=module -e "$0" ${KERNEL_SERVER_ADDRESS} ${ustackPage}`,
        KERNEL_HTTP_SERVER,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    children.push(kernel);
    await whenReady(kernel, /ready/, 'the kernel http server');
    const kernelPage = bodyLength(client.name, `http://${KERNEL_SERVER_ADDRESS}/`);
    console.log(`/ is ${ustackPage} bytes on ustack (its counters) and ${kernelPage} on the kernel server`);

    const ustackResults = measure(client.name, `http://${USTACK_ADDRESS}`, 'ustack');
    const kernelResults = measure(client.name, `http://${KERNEL_SERVER_ADDRESS}`, 'kernel');
    const rows: Row[] = PATHS.flatMap((path) =>
      CONNECTIONS.map((connections) => ({
        path,
        connections,
        ustack: ustackResults.get(`${path} ${connections}`)!,
        kernel: kernelResults.get(`${path} ${connections}`)!,
      })),
    );

    console.log('');
    console.log('| path | conns | ustack req/s | kernel req/s | ratio | ustack p50 / p99 ms | kernel p50 / p99 ms | p99 ratio | errors ustack / kernel |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const { path, connections, ustack, kernel: k } of rows) {
      console.log(
        `| \`${path}\` | ${connections} | ${ustack.requestsPerSecond.toFixed(0)} | ${k.requestsPerSecond.toFixed(0)} | ${(ustack.requestsPerSecond / k.requestsPerSecond).toFixed(2)}× | ` +
          `${ustack.p50Ms.toFixed(2)} / ${ustack.p99Ms.toFixed(2)} | ${k.p50Ms.toFixed(2)} / ${k.p99Ms.toFixed(2)} | ${(ustack.p99Ms / k.p99Ms).toFixed(2)}× | ${ustack.errors} / ${k.errors} |`,
      );
    }
  } finally {
    for (const child of children.reverse()) await stop(child);
    kernelSide.close();
    client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
