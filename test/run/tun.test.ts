/**
 * `ustack run --tun`: the seed programs and curl under ustack on a TUN device, talking to the
 * Linux kernel's own programs in a network namespace this test makes (and removes). Needs root;
 * SKIPPED loudly otherwise, and under CI=true it must run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale, EXAMPLES, IN_CI, IS_ROOT, PYTHON, run, start, stopAll, ustackRun } from './support.js';

const NS = `ustrun${process.pid % 10000}`;
const DEVICE = `ustrun${process.pid % 10000}`;
const US = '10.79.0.2';
const KERNEL = '10.79.0.1';
const device = ['--tun', DEVICE, '--addr', `${US}/24`, '--host-addr', KERNEL, '--netns', NS];
const inNs = (...command: string[]) => ['ip', 'netns', 'exec', NS, ...command];
const py = (name: string, ...args: string[]) => [PYTHON, '-u', join(EXAMPLES, name), ...args];

/** A kernel program whose socket.gethostname() is `name` (a UTS namespace of its own): the KV RPC finds its peer by it, no /etc/hosts needed. */
const named = (name: string, command: string[]) => ['unshare', '--uts', 'sh', '-c', `hostname ${name} && exec "$@"`, 'sh', ...command];

/** Runs a client; a run refused because the server is not listening yet is run again. */
async function retryRefused(command: string[], stdin = '') {
  let result = await run(command, { stdin, timeoutMs: 20_000 });
  for (let i = 0; i < 20 && /ConnectionRefusedError/.test(result.stderr); i++) {
    await new Promise((r) => setTimeout(r, 100));
    result = await run(command, { stdin, timeoutMs: 20_000 });
  }
  return result;
}

/** A seed server and its clients: what each client prints, and what the server's output must hold. */
interface SeedRun {
  readonly server: string[];
  /** Printed by the server once it listens (the others print nothing before a client: the clients retry a refused connect). */
  readonly ready?: RegExp;
  /** ustack run's --hostname for the program(s) under ustack. */
  readonly hostname?: string;
  readonly clients: { readonly program: string[]; readonly stdin?: string; readonly stdout: string }[];
  readonly concurrent?: boolean;
  /** Matched against the server's output once it exited (servers that serve a count) or was stopped. */
  readonly served: RegExp;
  readonly exits: boolean;
}

const fromKernel = (n: number) => new RegExp(`(connected by \\('${KERNEL.replace(/\./g, '\\.')}', \\d+\\)\\n){${n}}`);
const echoClient = (host: string, n: number) => ({
  program: py('echo_client.py', host),
  stdin: `linux ${n}\nto ustack\n`,
  stdout: `received linux ${n}\nreceived to ustack\n`,
});
const KV_PUT = '{"status": "OK", "response": {"func": "PUT", "response": {"obj": "color", "response": "ok"}}}\n';
const KV_GET = '{"status": "OK", "response": {"func": "GET", "response": {"obj": "color", "val": "blue"}}}\n';
const kvClients = (hostname: (command: string[]) => string[]) => [
  { program: hostname(py('kv_rpc.py', 'client', 'PUT', 'color', 'blue')), stdout: KV_PUT },
  { program: hostname(py('kv_rpc.py', 'client', 'GET', 'color')), stdout: KV_GET },
];

/** Each seed server under `ustack run --tun`, its clients the kernel's (in the namespace). */
const USTACK_SERVES: [string, SeedRun][] = [
  [
    'echo_server.py (one connection)',
    { server: py('echo_server.py', US), clients: [echoClient(US, 0)], served: new RegExp(`^${fromKernel(1).source}$`), exits: true },
  ],
  [
    'echo_server_many.py (two clients in turn)',
    { server: py('echo_server_many.py', US, '2'), clients: [0, 1].map((n) => echoClient(US, n)), served: fromKernel(2), exits: true },
  ],
  [
    'echo_server_selectors.py (two clients at once)',
    {
      server: py('echo_server_selectors.py', '0.0.0.0', '2'),
      clients: [0, 1].map((n) => echoClient(US, n)),
      concurrent: true,
      served: fromKernel(2),
      exits: true,
    },
  ],
  [
    'echo_server_threads.py (two clients at once)',
    {
      server: py('echo_server_threads.py', '0.0.0.0', '2'),
      clients: [0, 1].map((n) => echoClient(US, n)),
      concurrent: true,
      served: fromKernel(2),
      exits: true,
    },
  ],
  [
    'the TCP upper-casing server',
    {
      server: py('tcp_upper_server.py'),
      ready: /ready to receive/,
      clients: [
        { program: py('tcp_upper_client.py', US), stdin: 'from linux to ustack\n', stdout: 'Input lowercase sentence:From Server: FROM LINUX TO USTACK\n' },
      ],
      served: /ready to receive/,
      exits: false,
    },
  ],
  [
    'the UDP upper-casing server',
    {
      server: py('udp_upper_server.py'),
      ready: /ready to receive/,
      clients: [{ program: py('udp_upper_client.py', US), stdin: 'datagram to ustack\n', stdout: 'Input lowercase sentence:DATAGRAM TO USTACK\n' }],
      served: /ready to receive/,
      exits: false,
    },
  ],
  [
    "the KV RPC server (socket.gethostname(): --hostname under ustack, the address itself as the kernel clients' host name)",
    {
      server: py('kv_rpc.py', 'server', '2'),
      ready: new RegExp(`listening on \\('${US.replace(/\./g, '\\.')}', 4444\\)`),
      hostname: 'kvhost',
      clients: kvClients((command) => named(US, command)),
      served: /got message from {2}\('10\.79\.0\.1', \d+\)[\s\S]*got message from {2}\('10\.79\.0\.1', \d+\)/,
      exits: true,
    },
  ],
];

/** Each seed client under `ustack run --tun`, its server the kernel's. */
const KERNEL_SERVES: [string, SeedRun][] = [
  [
    'echo_client.py (echo_server_many.py on the kernel)',
    {
      server: py('echo_server_many.py', KERNEL, '2'),
      clients: [0, 1].map((n) => echoClient(KERNEL, n)),
      served: /(connected by \('10\.79\.0\.2', \d+\)\n){2}/,
      exits: true,
    },
  ],
  [
    'the TCP upper-casing client',
    {
      server: py('tcp_upper_server.py'),
      ready: /ready to receive/,
      clients: [
        { program: py('tcp_upper_client.py', KERNEL), stdin: 'from ustack to linux\n', stdout: 'Input lowercase sentence:From Server: FROM USTACK TO LINUX\n' },
      ],
      served: /ready to receive/,
      exits: false,
    },
  ],
  [
    'the UDP upper-casing client',
    {
      server: py('udp_upper_server.py'),
      ready: /ready to receive/,
      clients: [{ program: py('udp_upper_client.py', KERNEL), stdin: 'datagram\n', stdout: 'Input lowercase sentence:DATAGRAM\n' }],
      served: /ready to receive/,
      exits: false,
    },
  ],
  [
    "the KV RPC client (socket.gethostname(): the kernel address as --hostname under ustack and as the kernel server's host name)",
    {
      server: named(KERNEL, py('kv_rpc.py', 'server', '2')),
      ready: /listening on \('10\.79\.0\.1', 4444\)/,
      hostname: KERNEL,
      clients: kvClients((command) => command),
      served: /got message from {2}\('10\.79\.0\.2', \d+\)[\s\S]*got message from {2}\('10\.79\.0\.2', \d+\)/,
      exits: true,
    },
  ],
];

const canRun = IS_ROOT;
if (!canRun && !IN_CI) console.warn('SKIPPED (needs root): test/run/tun.test.ts — ustack run on a TUN device against the kernel');
const suite = canRun || IN_CI ? describe : describe.skip;

suite('ustack run --tun: the programs on ustack, their peers on the kernel', () => {
  beforeAll(() => {
    buildIfStale();
    spawnSync('ip', ['netns', 'add', NS]);
    spawnSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
    // The kernel's address exists from the start (on lo; the device, which ustack run makes, has it
    // only while a program runs), so a kernel server started first can bind it: the KV RPC's server
    // binds what socket.gethostname() names.
    spawnSync('ip', ['netns', 'exec', NS, 'ip', 'addr', 'add', `${KERNEL}/32`, 'dev', 'lo']);
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    spawnSync('ip', ['netns', 'del', NS]);
  });

  for (const [name, seed] of USTACK_SERVES) {
    it(`${name} on ustack, the clients on the kernel`, async () => {
      const server = start(ustackRun([...device, ...(seed.hostname ? ['--hostname', seed.hostname] : [])], seed.server));
      try {
        // Up once ustack answers the kernel's ping on the device, and listening once a connect is not refused.
        for (let i = 0; i < 50 && spawnSync('ip', ['netns', 'exec', NS, 'ping', '-c', '1', '-W', '1', US]).status !== 0; i++)
          await new Promise((r) => setTimeout(r, 100));
        if (seed.ready) await server.waitFor(seed.ready);
        const clientOf = (c: (typeof seed.clients)[number]) => retryRefused(inNs(...c.program), c.stdin);
        const results = seed.concurrent ? await Promise.all(seed.clients.map(clientOf)) : [];
        if (!seed.concurrent) for (const c of seed.clients) results.push(await clientOf(c));
        results.forEach((result, n) => {
          expect(result.stderr).toBe('');
          expect(result.stdout).toBe(seed.clients[n].stdout);
        });
        const done = seed.exits ? await server.exited : await server.stop();
        if (seed.exits) expect(done.code).toBe(0);
        expect(done.stdout).toMatch(seed.served);
      } finally {
        await server.stop();
      }
    });
  }

  for (const [name, seed] of KERNEL_SERVES) {
    it(`${name}: the clients on ustack, the server on the kernel`, async () => {
      const server = start(inNs(...seed.server));
      try {
        if (seed.ready) await server.waitFor(seed.ready);
        for (const c of seed.clients) {
          const result = await retryRefused(ustackRun([...device, ...(seed.hostname ? ['--hostname', seed.hostname] : [])], c.program), c.stdin);
          expect(result.stderr).toBe('');
          expect(result.stdout).toBe(c.stdout);
        }
        const done = seed.exits ? await server.exited : await server.stop();
        if (seed.exits) expect(done.code).toBe(0);
        expect(done.stdout).toMatch(seed.served);
      } finally {
        await server.stop();
      }
    });
  }

  it('curl on ustack fetches from the kernel http.server: the same bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ustack-run-tun-'));
    const body = Buffer.alloc(2_000_000, 'ustack ');
    writeFileSync(join(dir, 'page.txt'), body);
    const server = start(inNs(PYTHON, '-m', 'http.server', '--bind', '0.0.0.0', '8080'), { cwd: dir });
    await server.waitFor(/Serving HTTP/);
    const curl = await run(ustackRun(device, ['curl', '-sS', `http://${KERNEL}:8080/page.txt`]));
    expect(curl.stderr).toBe('');
    expect(curl.stdout.length).toBe(body.length);
    expect(curl.stdout === body.toString()).toBe(true);
    await server.stop();
  });

  it('iperf3 -c on ustack against the kernel iperf3 -s: data moves, and the TCP_INFO iperf3 reads is sane', async () => {
    const server = start(inNs('iperf3', '-s', '-1', '-p', '5211', '--forceflush'));
    await server.waitFor(/Server listening/);
    const client = await run(ustackRun(device, ['iperf3', '-c', KERNEL, '-p', '5211', '-t', '1', '-J']), { timeoutMs: 30_000 });
    const report = JSON.parse(client.stdout) as { end: { sum_sent: { bytes: number; retransmits: number }; sum_received: { bytes: number } } };
    expect(report.end.sum_received.bytes).toBeGreaterThan(100_000);
    expect(report.end.sum_sent.retransmits).toBeGreaterThanOrEqual(0);
    expect(report.end.sum_sent.retransmits).toBeLessThan(report.end.sum_sent.bytes / 1000);
    console.log(
      `iperf3 -c under ustack run --tun: ${((report.end.sum_received.bytes * 8) / 1e6).toFixed(1)} Mbit in 1 s, ${report.end.sum_sent.retransmits} retransmitted`,
    );
    await server.stop();
  });
});
