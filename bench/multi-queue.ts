/**
 * Every core (issue 16): `ustack up --serve http` with one queue (one stack on Node's main thread)
 * against `--queues 2` (a multi-queue TUN, a stack per worker thread). A benchmark, not a test;
 * needs root, curl and wrk:
 *
 *   npm run bench:multi-queue [-- --seconds 8] [--streams 16] [--connections 100] [--rounds 1]
 *
 * For each setting, with the kernel's end in a namespace of its own:
 * - bulk: `--streams` curl downloads of `/bytes/1000000000` at once for `--seconds` (ustack sends,
 *   the kernel receives; each stream is its own flow, spread over the queues by the kernel's hash),
 *   the aggregate in Gbit/s from the bytes every curl received;
 * - HTTP: `wrk --latency -c CONNECTIONS` on `/` and `/bytes/1000`: requests/s, p50 and p99, errors.
 * Beside each figure, the CPU the ustack process used (cores: its user+system time over the wall
 * time) — what scaling can be had is bounded by the cores the rest of the machine leaves, and
 * `uptime`'s load is printed with the figures. Ratios are 2 queues over 1. With `--rounds N` the
 * settings alternate N times and each figure is the median. Every process is ours, ended by PID;
 * `ustack up` removes its device and namespace when it stops.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    streams: { type: 'string', default: '16' },
    connections: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '1' },
    queues: { type: 'string', default: '1,2' },
  },
});
const SECONDS = Number(values.seconds);
const STREAMS = Number(values.streams);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
const SETTINGS = values.queues.split(',').map(Number);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(root, 'dist', 'src', 'cli', 'main.js');
const TAG = String(process.pid % 10000);
const ADDRESS = '10.94.0.2';
const CLOCK_TICKS = 100;

interface Figures {
  bulkGbps: number;
  bulkCores: number;
  rows: Record<string, { rps: number; p50: string; p99: string; errors: number; cores: number }>;
}

/** The ustack process's CPU seconds so far (user + system, all its threads). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Starts `ustack up` with `queues` and resolves once it listens. */
async function startUp(queues: number, namespace: string): Promise<ChildProcess> {
  const args = [
    CLI,
    'up',
    '--tun',
    `ustmqb${TAG}`,
    '--netns',
    namespace,
    '--addr',
    `${ADDRESS}/24`,
    '--host-addr',
    '10.94.0.1',
    '--serve',
    'http',
    '--stats',
    '0',
  ];
  if (queues > 1) args.push('--queues', String(queues));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 15_000;
  while (!output.includes('Ctrl-C to stop')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`ustack up did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

async function stopUp(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** `STREAMS` downloads at once for SECONDS: the aggregate Gbit/s. */
function bulk(namespace: string): number {
  const curl = `curl -s -o /dev/null -w '%{size_download}\\n' --max-time ${SECONDS} http://${ADDRESS}/bytes/1000000000`;
  const script = `for i in $(seq ${STREAMS}); do ${curl} & done; wait`;
  const run = spawnSync('ip', ['netns', 'exec', namespace, 'sh', '-c', script], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  const bytes = run.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .reduce((sum, line) => sum + Number(line), 0);
  return (bytes * 8) / SECONDS / 1e9;
}

/** wrk against `path`: requests/s, p50, p99 and every error it counted. */
function wrk(namespace: string, path: string): { rps: number; p50: string; p99: string; errors: number } {
  const command = `ulimit -n "$(ulimit -Hn)"; wrk -t2 -c${CONNECTIONS} -d${SECONDS}s --latency http://${ADDRESS}${path}`;
  const run = spawnSync('ip', ['netns', 'exec', namespace, 'sh', '-c', command], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  const text = run.stdout;
  const errors =
    [...text.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce((sum, match) => sum + Number(match[2]), 0) +
    Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0),
    p50: /^\s+50%\s+(\S+)/m.exec(text)?.[1] ?? '-',
    p99: /^\s+99%\s+(\S+)/m.exec(text)?.[1] ?? '-',
    errors,
  };
}

async function measure(queues: number): Promise<Figures> {
  const namespace = `ustack-mqb-${TAG}`;
  const child = await startUp(queues, namespace);
  try {
    const pid = child.pid!;
    await new Promise((resolve) => setTimeout(resolve, 500));
    let before = cpuSeconds(pid);
    let started = performance.now();
    const bulkGbps = bulk(namespace);
    const bulkCores = (cpuSeconds(pid) - before) / ((performance.now() - started) / 1000);
    const rows: Figures['rows'] = {};
    for (const path of ['/', '/bytes/1000']) {
      before = cpuSeconds(pid);
      started = performance.now();
      const figures = wrk(namespace, path);
      rows[path] = { ...figures, cores: (cpuSeconds(pid) - before) / ((performance.now() - started) / 1000) };
    }
    return { bulkGbps, bulkCores, rows };
  } finally {
    await stopUp(child);
  }
}

const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;

const runs = new Map<number, Figures[]>(SETTINGS.map((queues) => [queues, []]));
console.log(
  `bench:multi-queue — ${cpus().length} cores (${cpus()[0]?.model}), Linux ${release()}, load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? SETTINGS : [...SETTINGS].reverse();
  for (const queues of order) {
    const figures = await measure(queues);
    runs.get(queues)!.push(figures);
    const rows = Object.entries(figures.rows)
      .map(([path, row]) => `${path} ${row.rps.toFixed(0)} req/s p50 ${row.p50} p99 ${row.p99} errors ${row.errors} (${row.cores.toFixed(2)} cores)`)
      .join('; ');
    console.log(
      `  round ${round + 1}, ${queues} queue(s): bulk ${STREAMS} streams ${figures.bulkGbps.toFixed(2)} Gbit/s (${figures.bulkCores.toFixed(2)} cores); ${rows}; load ${loadavg()[0]!.toFixed(1)}`,
    );
  }
}
const summary = (queues: number) => {
  const all = runs.get(queues)!;
  return {
    bulk: median(all.map((f) => f.bulkGbps)),
    '/': median(all.map((f) => f.rows['/']!.rps)),
    '/bytes/1000': median(all.map((f) => f.rows['/bytes/1000']!.rps)),
  };
};
const [one, two] = [SETTINGS[0]!, SETTINGS[SETTINGS.length - 1]!];
const a = summary(one);
const b = summary(two);
console.log(`\nmedian of ${ROUNDS} round(s); ratio ${two} queues over ${one} (issue 16 asks ≥ 1.7)`);
console.log(`  bulk, ${STREAMS} streams:        ${a.bulk.toFixed(2)} → ${b.bulk.toFixed(2)} Gbit/s   ${(b.bulk / a.bulk).toFixed(2)}×`);
console.log(`  wrk -c${CONNECTIONS} /:            ${a['/'].toFixed(0)} → ${b['/'].toFixed(0)} req/s   ${(b['/'] / a['/']).toFixed(2)}×`);
console.log(
  `  wrk -c${CONNECTIONS} /bytes/1000:  ${a['/bytes/1000'].toFixed(0)} → ${b['/bytes/1000'].toFixed(0)} req/s   ${(b['/bytes/1000'] / a['/bytes/1000']).toFixed(2)}×`,
);
console.log(
  `load after: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
