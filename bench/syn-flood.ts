/**
 * A SYN flood against ustack and against Linux, side by side (issue 11; needs root):
 *
 *   npm run bench:syn-flood [-- --syns 200000] [--interval-us 10] [--burst 600]
 *
 * The same hping3 flood (random, routable sources, a listener with backlog 128) and the same
 * legitimate client (test/interop/peer.py request-loop: a connection every 50 ms, 16 bytes
 * echoed within 3 s) against:
 *   - ustack (`ustack up` on a TUN device, synCookies 'auto' and 'off');
 *   - Linux on a veth pair, tcp_syncookies=1 and 0 (its own namespace's sysctls).
 * For each: the share of requests answered during the flood and in the 5 s after it, the
 * slowest request, and then a burst of `--burst` SYNs in about a second followed by 3 s of
 * requests: how many needed a SYN retransmission (an outage of a second or more).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configureDevice, createNamespace, ip } from '../src/link/device.js';
import { TunLink } from '../src/link/tun.js';
import { attachDevice } from '../src/socket-api/attach-device.js';
import { RealtimeDriver } from '../src/socket-api/realtime-driver.js';
import { Stack } from '../src/socket-api/stack.js';

const { values } = parseArgs({
  options: {
    syns: { type: 'string', default: '200000' },
    'interval-us': { type: 'string', default: '10' },
    burst: { type: 'string', default: '600' },
  },
});
const syns = Number(values.syns);
const intervalUs = Number(values['interval-us']);
const burst = Number(values.burst);

const here = dirname(fileURLToPath(import.meta.url));
const peerScript = [join(here, '..', 'test', 'interop', 'peer.py'), join(here, '..', '..', 'test', 'interop', 'peer.py')].find((path) => existsSync(path));
if (!peerScript) throw new Error('bench:syn-flood: test/interop/peer.py not found');

/** Runs argv in a namespace; resolves with stdout + stderr when it ends (killed after `limitSeconds`). */
function inNamespace(namespace: string, argv: string[], limitSeconds: number): Promise<string> {
  return startInNamespace(namespace, argv, limitSeconds).done;
}

/** The same, with a way to end it early (SIGTERM; `ip netns exec` runs the command in its place). */
function startInNamespace(namespace: string, argv: string[], limitSeconds: number): { done: Promise<string>; stop: () => void } {
  const child = spawn('ip', ['netns', 'exec', namespace, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const backstop = setTimeout(() => child.kill('SIGKILL'), limitSeconds * 1000);
  const done = new Promise<string>((resolve) =>
    child.on('close', () => {
      clearTimeout(backstop);
      resolve(output);
    }),
  );
  return { done, stop: () => child.kill('SIGTERM') };
}

interface Requests {
  readonly ok: number;
  readonly failed: number;
  readonly slowest: number;
}

function requests(output: string): Requests {
  const match = /ok (\d+) failed (\d+) slowest ([\d.]+)/.exec(output);
  if (!match) throw new Error(`request-loop printed: ${output}`);
  return { ok: Number(match[1]), failed: Number(match[2]), slowest: Number(match[3]) };
}

interface Outcome {
  readonly name: string;
  /** Packets the kernel dropped because ustack had not read its device queue in time (ustack only). */
  deviceDrops?: number;
  readonly floodRate: number;
  readonly during: Requests;
  readonly after: Requests;
  /** Requests after the burst that waited a second or more (a SYN retransmission). */
  readonly burstOutage: number;
  readonly burstRequests: number;
}

/** Floods `target` from `attacker` and measures the legitimate client meanwhile. */
async function measure(name: string, attacker: string, target: string, port: number): Promise<Outcome> {
  const loop = (seconds: number) =>
    startInNamespace(attacker, ['python3', peerScript!, 'request-loop', target, String(port), String(seconds), '50'], seconds + 30);
  // The client runs for as long as the flood does.
  const during = loop(600);
  const started = Date.now();
  await inNamespace(attacker, ['hping3', '-q', '-S', '-p', String(port), '--rand-source', '-i', `u${intervalUs}`, '-c', String(syns), target], 600);
  const floodRate = syns / ((Date.now() - started) / 1000);
  during.stop();
  const duringResult = requests(await during.done);
  const afterResult = requests(await loop(5).done);
  // Let half-open state from the flood expire before the burst (Linux: 5 SYN-ACK retries, ~63 s;
  // ustack the same), so the burst meets an empty queue.
  await new Promise((resolve) => setTimeout(resolve, 65_000));
  await inNamespace(
    attacker,
    ['hping3', '-q', '-S', '-p', String(port), '--rand-source', '-i', `u${Math.round(1e6 / burst)}`, '-c', String(burst), target],
    30,
  );
  const burstOutput = await inNamespace(attacker, ['python3', '-c', BURST_PROBE, target, String(port)], 30);
  const [burstRequests, burstOutage] = burstOutput.trim().split(' ').map(Number);
  return { name, floodRate, during: duringResult, after: afterResult, burstOutage, burstRequests };
}

/** 60 requests over 3 s right after a burst; prints "<requests> <requests that took ≥ 1 s>". */
const BURST_PROBE = `
import socket, sys, time
slow = 0
for i in range(60):
    started = time.monotonic()
    try:
        with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10) as s:
            s.sendall(b"x"); s.recv(1)
    except OSError:
        slow += 1; continue
    slow += time.monotonic() - started >= 1.0
    time.sleep(max(0.0, 0.05 - (time.monotonic() - started)))
print(60, slow)
`;

const LINUX_ECHO = `
import socket, sys, threading
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((sys.argv[1], int(sys.argv[2]))); server.listen(128)
def serve(c):
    with c:
        while True:
            data = c.recv(4096)
            if not data: break
            c.sendall(data)
while True:
    c, _ = server.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

async function ustack(cookies: 'auto' | 'off'): Promise<Outcome> {
  const tag = process.pid % 100000;
  // As `ustack up` opens its device (src/cli/device-setup.ts), with the cookie setting chosen.
  const namespace = createNamespace(`ustack-flood-${tag}`);
  const link = TunLink.open({ name: `usflood${tag}`, mtu: 1500, offload: true });
  const device = configureDevice({ name: link.name, netns: namespace.name, mtu: 1500, txQueueLength: 1000, addresses: ['10.80.0.1/24'] });
  const stack = new Stack({ name: 'ustack', seed: 1, tcp: { synCookies: cookies } });
  const driver = new RealtimeDriver(stack).start();
  try {
    attachDevice(stack, driver, link, { address: '10.80.0.2/24', interfaceName: link.name });
    stack.addRoute('0.0.0.0/0', { via: '10.80.0.1' });
    const server = stack.net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => server.listen({ port: 7, backlog: 128 }, resolve));
    try {
      const outcome = await measure(`ustack, synCookies ${cookies}`, namespace.name, '10.80.0.2', 7);
      outcome.deviceDrops = transmitDrops(namespace.name, link.name);
      return outcome;
    } finally {
      server.close();
    }
  } finally {
    driver.stop();
    device.close();
    link.close();
    namespace.close();
  }
}

async function linux(syncookies: 0 | 1): Promise<Outcome> {
  const tag = process.pid % 100000;
  const server = createNamespace(`linux-flood-s${tag}`);
  const client = createNamespace(`linux-flood-c${tag}`);
  try {
    ip(['link', 'add', `lfs${tag}`, 'netns', server.name, 'type', 'veth', 'peer', 'name', `lfc${tag}`, 'netns', client.name]);
    ip(['-n', server.name, 'addr', 'add', '10.81.0.2/24', 'dev', `lfs${tag}`]);
    ip(['-n', client.name, 'addr', 'add', '10.81.0.1/24', 'dev', `lfc${tag}`]);
    ip(['-n', server.name, 'link', 'set', `lfs${tag}`, 'up']);
    ip(['-n', client.name, 'link', 'set', `lfc${tag}`, 'up']);
    ip(['-n', server.name, 'route', 'add', 'default', 'via', '10.81.0.1']);
    spawnSync('ip', ['netns', 'exec', server.name, 'sysctl', '-q', `net.ipv4.tcp_syncookies=${syncookies}`]);
    const echo = spawn('ip', ['netns', 'exec', server.name, 'python3', '-c', LINUX_ECHO, '10.81.0.2', '7'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return await measure(`Linux ${release()}, tcp_syncookies=${syncookies}`, client.name, '10.81.0.2', 7);
    } finally {
      echo.kill();
    }
  } finally {
    client.close();
    server.close();
  }
}

/** The kernel's transmit drops on a device (a full queue toward its reader). */
function transmitDrops(namespace: string, device: string): number {
  const shown = JSON.parse(ip(['-s', '-j', 'link', 'show', 'dev', device], namespace)) as Array<{ stats64?: { tx?: { dropped?: number } } }>;
  return shown[0]?.stats64?.tx?.dropped ?? 0;
}

function release(): string {
  return spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
}

if (process.getuid?.() !== 0) {
  console.error('npm run bench:syn-flood needs root');
  process.exit(2);
}
const outcomes: Outcome[] = [];
for (const run of [() => ustack('auto'), () => linux(1), () => ustack('off'), () => linux(0)]) {
  const outcome = await run();
  outcomes.push(outcome);
  console.error(`done: ${outcome.name}`);
}
const share = (r: Requests) => `${((100 * r.ok) / Math.max(1, r.ok + r.failed)).toFixed(1)}% of ${r.ok + r.failed}`;
console.log(
  `${syns} SYNs from random sources at ${Math.round(1e6 / intervalUs)}/s asked (hping3 -i u${intervalUs}); a legitimate request every 50 ms, 3 s to answer`,
);
console.log(
  '| stack | flood SYN/s | answered during | slowest | answered after (5 s) | after a burst of ' + burst + ' SYNs: requests waiting ≥ 1 s | TUN queue drops |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const o of outcomes) {
  console.log(
    `| ${o.name} | ${Math.round(o.floodRate)} | ${share(o.during)} | ${o.during.slowest.toFixed(2)} s | ${share(o.after)} | ${o.burstOutage} of ${o.burstRequests} | ${o.deviceDrops ?? '—'} |`,
  );
}
