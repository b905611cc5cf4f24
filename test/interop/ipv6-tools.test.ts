/**
 * IPv6 against the Linux kernel's own tools over TUN (issue 15), beyond ping and one TCP echo
 * (ipv6-kernel.test.ts): `curl -g` and `iperf3 -6` against `ustack up --serve http,iperf
 * --addr6`, a Python AF_INET6 client and server both ways, `ustack nc -6` with the kernel's
 * OpenBSD `nc -6` both ways (TCP and UDP), 50 MB each way by hash through 2% loss (`ustack up
 * --loss`, the FaultInjector), and path MTU discovery (RFC 8201) through a Linux router whose
 * far link is 1280 bytes. All but the PMTU test run twice: over TUN and over TAP (`ustack up --tap`,
 * where the kernel finds us with Neighbor Discovery and our address passes DAD first), the
 * device kind being the only difference; over both, the kernel's `ping -6 -s 3000` in fragments
 * too. Each test makes its namespaces and removes them. Root only: SKIPPED loudly otherwise, and
 * under CI=true it must run (describeInterop).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runNc } from '../../src/cli/nc-command.js';
import { Rng } from '../../src/core/rng.js';
import { parseIpv6Address } from '../../src/ip/ipv6-address.js';
import { createNamespace, ip } from '../../src/link/device.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { describeInterop, startUp, type RunningUp } from './kernel-peer.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
let counter = 0;

type Kind = 'tun' | 'tap';
/** Optional: a prefix for the namespaces and devices a run makes, so two runs on one machine tell theirs apart. */
const PREFIX = process.env.USTACK_IT_PREFIX;

/** A fresh namespace and device name for one test (`letter` names the test, `kind` the device). */
function names(kind: Kind, letter: string): { namespace: string; device: string; args: string[] } {
  counter++;
  const namespace = `${PREFIX ?? 'ustack-it'}-${process.pid}-${letter}${kind[1]}${counter}`;
  const device = `${PREFIX ?? 'ust6'}${letter}${kind[1]}${process.pid % 10000}${counter}`;
  return { namespace, device, args: [`--${kind}`, device, '--netns', namespace] };
}

/**
 * Over TAP our address is tentative until DAD (RFC 4862 §5.4) has passed: neither answered for
 * nor used as a source before. Waits (bounded) for it; over TUN there is no DAD.
 */
async function addressUsable(kind: Kind, stack: Stack, device: string, address: string): Promise<void> {
  if (kind === 'tun') return;
  const deadline = Date.now() + 5_000;
  while (stack.ip6.addressEntry(parseIpv6Address(address)!, device)?.state !== 'preferred') {
    if (Date.now() > deadline) throw new Error(`${address} still ${stack.ip6.addressEntry(parseIpv6Address(address)!, device)?.state} on ${device}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Finished {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** A command in `namespace`, killed after `timeoutMs`. */
function start(
  namespace: string,
  argv: string[],
  input?: Uint8Array | string,
  timeoutMs = 30_000,
): { done: Promise<Finished>; stdout(): Buffer; kill(): void } {
  const child = spawn('ip', ['netns', 'exec', namespace, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.on('error', () => {});
  child.stdin.end(input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Finished>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(chunks), stderr });
    }),
  );
  return { done, stdout: () => Buffer.concat(chunks), kill: () => child.exitCode === null && child.kill('SIGTERM') };
}

/** Waits (bounded) until a kernel socket listens on `port` in `namespace`. */
async function kernelListening(namespace: string, port: number, protocol: 'tcp' | 'udp'): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const listing = await start(namespace, ['ss', '-Hn', protocol === 'tcp' ? '-lt' : '-lu', `sport = :${port}`]).done;
    if (listing.stdout.toString().trim() !== '') return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${protocol} ${port} in ${namespace}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A Writable that keeps what it is given. */
function collector(): { stream: Writable; bytes(): Buffer; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks), text: () => Buffer.concat(chunks).toString() };
}

/**
 * Python's socket.AF_INET6 in the namespace. `serve HOST PORT SIZE`: accepts one connection,
 * sends SIZE seeded bytes while reading what comes, prints `listening` first, then the byte
 * count and SHA-256 of what it received and of what it sent. `connect HOST PORT SIZE`: the same
 * from the client side.
 */
const PYTHON_PEER = `
import hashlib, socket, sys, threading
mode, host, port, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = bytes((i * 7 + 3) & 0xff for i in range(65536))
if mode == 'serve':
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port)); server.listen(1)
    print('listening', flush=True)
    conn, peer = server.accept()
else:
    conn = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    conn.settimeout(60); conn.connect((host, port)); conn.settimeout(None)
got, count = hashlib.sha256(), 0
def receive():
    global count
    while True:
        chunk = conn.recv(262144)
        if not chunk: break
        got.update(chunk); count += len(chunk)
reader = threading.Thread(target=receive); reader.start()
sent, left = hashlib.sha256(), size
while left > 0:
    piece = data[:min(left, len(data))]
    conn.sendall(piece); sent.update(piece); left -= len(piece)
conn.shutdown(socket.SHUT_WR)
reader.join()
print(count, got.hexdigest(), size, sent.hexdigest(), flush=True)
`;

/** The bytes PYTHON_PEER sends. */
function pythonBytes(size: number): Buffer {
  const pattern = Buffer.alloc(65536);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7 + 3) & 0xff;
  const out = Buffer.alloc(size);
  for (let offset = 0; offset < size; offset += pattern.length) pattern.copy(out, offset, 0, Math.min(pattern.length, size - offset));
  return out;
}

/** Sends `data` on an IPv6 net socket and reads all it gets until the peer's FIN: its length and hash. */
async function exchange(socket: import('../../src/socket-api/net-socket.js').NetSocket, data: Uint8Array): Promise<{ length: number; hash: string }> {
  const hash = createHash('sha256');
  let length = 0;
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    length += chunk.length;
  });
  const ended = new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  socket.end(data);
  await ended;
  return { length, hash: hash.digest('hex') };
}

describeInterop('interop: IPv6 with the kernel’s tools (curl -g, iperf3 -6, python, nc -6, loss, PMTU)', () => {
  describe.each(['tun', 'tap'] as const)('over %s', (kind) => {
    it("every ustack up service over IPv6 (--addr6): ping -6 -s 3000 in fragments, curl -g 'http://[fd00:81::2]/', iperf3 -6 both ways, nc -6 to echo and upper, kv and gateway; python AF_INET6 both ways; flow labels as tshark reads them", async () => {
      const { namespace, device, args } = names(kind, 't');
      const directory = mkdtempSync(join(tmpdir(), 'ustack-ipv6-tools-'));
      const pcap = join(directory, 'device.pcap');
      const service = await startUp(
        [
          ...args,
          ...['--addr', '10.81.0.2/24', '--host-addr', '10.81.0.1'],
          ...['--addr6', 'fd00:81::2/64', '--serve', 'http,iperf,echo,upper,kv,gateway', '--pcap', pcap],
        ],
        120,
      );
      try {
        await addressUsable(kind, service.stack, device, 'fd00:81::2');
        // The kernel's ping -6 of 3000 bytes: three fragments each way (RFC 8200 §4.5).
        const big = await start(namespace, ['ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', '-s', '3000', 'fd00:81::2']).done;
        expect(big.stdout.toString()).toMatch(/2 packets transmitted, 2 received/);
        expect(service.stack.stats.get('ipv6.rx.reassembled')).toBeGreaterThanOrEqual(2);
        expect(service.stack.stats.get('ipv6.tx.fragments')).toBeGreaterThanOrEqual(6);
        // The echo service on both families (RFC 862): the kernel's nc -6 over TCP and UDP.
        const echoed = await start(namespace, ['nc', '-6', '-N', 'fd00:81::2', '7'], 'echo over ipv6\n').done;
        expect(echoed.stdout.toString()).toBe('echo over ipv6\n');
        const echoedUdp = await start(namespace, ['nc', '-6', '-u', '-w', '1', 'fd00:81::2', '7'], 'udp over ipv6\n').done;
        expect(echoedUdp.stdout.toString()).toBe('udp over ipv6\n');
        const upper = await start(namespace, ['nc', '-6', '-N', 'fd00:81::2', '12000'], 'a sentence').done;
        expect(upper.stdout.toString()).toBe('A SENTENCE');
        // kv: a PUT over IPv6 is read back over IPv4 (one dictionary behind both listeners); the gateway over IPv6.
        const framed = (host: string, port: number, message: object) =>
          `import socket,struct,json;s=socket.create_connection(('${host}',${port}),timeout=5);b=${JSON.stringify(JSON.stringify(message))}.encode();s.sendall(struct.pack('<ii',1,len(b))+b);h=s.recv(8);print(s.recv(struct.unpack('<ii',h)[1]).decode())`;
        const put = await start(namespace, ['python3', '-c', framed('fd00:81::2', 4444, { func: 'PUT', params: { obj: 'colour', val: 'blue' } })]).done;
        expect(put.code).toBe(0);
        const get = await start(namespace, ['python3', '-c', framed('10.81.0.2', 4444, { func: 'GET', params: { obj: 'colour' } })]).done;
        expect(JSON.parse(get.stdout.toString())).toMatchObject({ status: 'OK', response: { func: 'GET', response: { obj: 'colour', val: 'blue' } } });
        const add = await start(namespace, [
          'python3',
          '-c',
          framed('fd00:81::2', 25333, { type: 'call', id: 1, target: 'entryPoint', method: 'add', args: [2, 3] }),
        ]).done;
        expect(add.stdout.toString()).toMatch(/\b5\b/);
        const page = await start(namespace, ['curl', '-sS', '-g', '--max-time', '10', 'http://[fd00:81::2]:80/']).done;
        expect(page.stderr).toBe('');
        expect(page.stdout.toString()).toMatch(/^hello from ustack: this page came over a TCP\/IP stack written in TypeScript\n/);
        expect(page.stdout.toString()).toMatch(/^ipv6\.rx\.delivered [1-9]\d*$/m);
        const download = await start(namespace, [
          'curl',
          '-sS',
          '-g',
          '--max-time',
          '20',
          '-o',
          '/dev/null',
          '-w',
          '%{size_download} %{remote_ip}',
          'http://[fd00:81::2]/bytes/5000000',
        ]).done;
        expect(download.stdout.toString()).toBe('5000000 fd00:81::2');
        expect(service.lines.some((line) => /^http: GET \/bytes\/5000000 from fd00:81::1:\d+$/.test(line))).toBe(true);

        // iperf3 -6 (Debian's), forward and reverse, 1 s each; its JSON is the oracle.
        for (const reverse of [false, true]) {
          const run = await start(namespace, ['iperf3', '-6', '-c', 'fd00:81::2', '-t', '1', '-J', ...(reverse ? ['-R'] : [])], undefined, 30_000).done;
          const report = JSON.parse(run.stdout.toString()) as {
            error?: string;
            start: { connected: { remote_host: string }[] };
            end: { sum_received: { bytes: number } };
          };
          expect(report.error).toBeUndefined();
          expect(run.code).toBe(0);
          expect(report.start.connected[0].remote_host).toBe('fd00:81::2');
          expect(report.end.sum_received.bytes).toBeGreaterThan(1_000_000);
        }
        expect(service.lines.filter((line) => line.startsWith('iperf3: a test from'))).toEqual([
          'iperf3: a test from fd00:81::1: 1 stream(s), we receive',
          'iperf3: a test from fd00:81::1: 1 stream(s), we send',
        ]);

        // Python's AF_INET6 client to ustack's net server on fd00:81::2, 2 MB each way at once.
        const SIZE = 2_000_000;
        const ours = new Rng(15).bytes(SIZE);
        const server = service.stack.net.createServer();
        await new Promise<void>((resolve) => server.listen(9601, 'fd00:81::2', resolve));
        const accepted = new Promise<{ length: number; hash: string; remote: string | undefined }>((resolve) =>
          server.once('connection', (socket) => {
            const remote = socket.remoteAddress;
            void exchange(socket, ours).then((result) => resolve({ ...result, remote }));
          }),
        );
        const client = await start(namespace, ['python3', '-c', PYTHON_PEER, 'connect', 'fd00:81::2', '9601', String(SIZE)]).done;
        const [gotLength, gotHash, sentLength, sentHash] = client.stdout.toString().trim().split(' ');
        const atUstack = await accepted;
        expect([gotLength, gotHash]).toEqual([String(SIZE), sha256(ours)]);
        expect(atUstack).toEqual({ length: Number(sentLength), hash: sentHash, remote: 'fd00:81::1' });
        expect(sha256(pythonBytes(SIZE))).toBe(sentHash);
        server.close();

        // ustack's net client to Python's AF_INET6 server on fd00:81::1.
        const python = start(namespace, ['python3', '-c', PYTHON_PEER, 'serve', 'fd00:81::1', '9602', String(SIZE)]);
        await kernelListening(namespace, 9602, 'tcp');
        const socket = service.stack.net.connect({ host: 'fd00:81::1', port: 9602 });
        await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
        expect([socket.remoteFamily, socket.localAddress]).toEqual(['IPv6', 'fd00:81::2']);
        const atClient = await exchange(socket, ours);
        const [pyGotLength, pyGotHash, , pySentHash] = (await python.done).stdout.toString().trim().split('\n').at(-1)!.split(' ');
        expect([pyGotLength, pyGotHash]).toEqual([String(SIZE), sha256(ours)]);
        expect(atClient).toEqual({ length: SIZE, hash: pySentHash });
      } finally {
        await service.stop();
      }
      expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(namespace);
      // tshark's reading of what we sent: each TCP flow of ours carries one non-zero flow label
      // (RFC 6437 §3, automatic labels), and the flows differ.
      const fields = spawnSync(
        'tshark',
        ['-r', pcap, '-Y', 'ipv6.src == fd00:81::2 && tcp', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'ipv6.flow'],
        {
          encoding: 'utf8',
        },
      );
      rmSync(directory, { recursive: true, force: true });
      const labels = new Map<string, Set<string>>();
      for (const line of fields.stdout.trim().split('\n')) {
        const [from, to, flow] = line.split('\t');
        labels.set(`${from}>${to}`, (labels.get(`${from}>${to}`) ?? new Set()).add(flow));
      }
      expect(labels.size).toBeGreaterThanOrEqual(6); // 2 curl, 2 × 2 iperf3, 2 python
      for (const [flow, seen] of labels) expect([flow, [...seen].length, Number([...seen][0]) > 0]).toEqual([flow, 1, true]);
      expect(new Set([...labels.values()].map((seen) => [...seen][0])).size).toBe(labels.size);
    }, 120_000);

    it("ustack nc -6 with the kernel's nc -6: a file each way over TCP, and over UDP (udp6)", async () => {
      const { namespace: name, args } = names(kind, 'n');
      // Made here (with IPv6 on) so that the kernel's nc can listen before ustack nc opens the device.
      const made = createNamespace(name, { ipv6: true });
      const namespace = made.name;
      try {
        await ncBothWays(kind, namespace, args);
      } finally {
        made.close();
      }
      expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(namespace);
    }, 90_000);
    it('50 MB each way at once over IPv6 with 2% of frames lost both ways (ustack up --loss 2 --no-offload): bit-exact by hash', async () => {
      const { namespace, device, args } = names(kind, 'l');
      const service = await startUp(
        [...args, ...['--addr', '10.84.0.2/24', '--host-addr', '10.84.0.1'], ...['--addr6', 'fd00:84::2/64', '--loss', '2', '--no-offload', '--serve', 'none']],
        120,
      );
      try {
        await addressUsable(kind, service.stack, device, 'fd00:84::2');
        const SIZE = 50_000_000;
        const ours = new Rng(23).bytes(SIZE);
        const server = service.stack.net.createServer();
        await new Promise<void>((resolve) => server.listen(9603, '::', resolve));
        const accepted = new Promise<{ length: number; hash: string }>((resolve, reject) =>
          server.once('connection', (socket) => void exchange(socket, ours).then(resolve, reject)),
        );
        const started = Date.now();
        const client = await start(namespace, ['python3', '-c', PYTHON_PEER, 'connect', 'fd00:84::2', '9603', String(SIZE)], undefined, 240_000).done;
        const [gotLength, gotHash, sentLength, sentHash] = client.stdout.toString().trim().split(' ');
        const atUstack = await accepted;
        const seconds = (Date.now() - started) / 1000;
        expect([gotLength, gotHash]).toEqual([String(SIZE), sha256(ours)]);
        expect(atUstack).toEqual({ length: Number(sentLength), hash: sentHash });
        expect(sentLength).toBe(String(SIZE));
        const stats = service.stack.stats;
        // Loss was real and recovered from: our retransmissions, and the peer's (their segments lost on our side).
        expect(stats.get('tcp.tx.retransmits')).toBeGreaterThan(100);
        expect(stats.get('ipv6.rx.delivered')).toBeGreaterThan(30_000);
        console.log(
          `50 MB each way over IPv6 over ${kind} with 2% loss: ${seconds.toFixed(1)} s, ${stats.get('tcp.tx.retransmits')} segments retransmitted by ustack`,
        );
        server.close();
      } finally {
        await service.stop();
      }
    }, 300_000);
  });

  it('path MTU discovery (RFC 8201) through a Linux router whose far link is 1280 bytes: Packet Too Big lowers our MSS, 2 MB arrive bit-exact; UDP 1400 goes out in fragments', async () => {
    counter++;
    // Over TUN only: the router's side is the same kernel code over TAP.
    // ustack fd00:85::2 ──TUN 1500── router (forwarding) fd00:85::1 | fd00:86::1 ──veth 1280── far fd00:86::2 (1500)
    const router = createNamespace(`${PREFIX ?? 'ustack-it'}-${process.pid}-r${counter}`, { ipv6: true });
    const far = createNamespace(`${PREFIX ?? 'ustack-it'}-${process.pid}-f${counter}`, { ipv6: true });
    let service: RunningUp | null = null;
    try {
      // The router's end of the far link is 1280 bytes; the far end's 1500, so that it offers an
      // MSS of 1440 and only the router knows the path is narrower (as the IPv4 test's `mtu lock`).
      ip(['link', 'add', 'rtr0', 'netns', router.name, 'mtu', '1280', 'type', 'veth', 'peer', 'name', 'far0', 'netns', far.name, 'mtu', '1500']);
      ip(['addr', 'add', 'fd00:86::1/64', 'dev', 'rtr0', 'nodad'], router.name);
      ip(['link', 'set', 'rtr0', 'up'], router.name);
      ip(['addr', 'add', 'fd00:86::2/64', 'dev', 'far0', 'nodad'], far.name);
      ip(['link', 'set', 'far0', 'up'], far.name);
      ip(['-6', 'route', 'add', 'default', 'via', 'fd00:86::1'], far.name);
      spawnSync('ip', ['netns', 'exec', router.name, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
      service = await startUp(
        [
          ...['--tun', `${PREFIX ?? 'ust6'}r${process.pid % 10000}${counter}`, '--netns', router.name, '--addr', '10.85.0.2/24', '--host-addr', '10.85.0.1'],
          ...['--addr6', 'fd00:85::2/64', '--serve', 'none'],
        ],
        120,
      );
      service.stack.addRoute('fd00:86::/64', { via: 'fd00:85::1' });
      const SIZE = 2_000_000;
      const python = start(far.name, ['python3', '-c', PYTHON_PEER, 'serve', 'fd00:86::2', '9604', '1000']);
      await kernelListening(far.name, 9604, 'tcp');
      const socket = service.stack.net.connect({ host: 'fd00:86::2', port: 9604 });
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      const ours = new Rng(24).bytes(SIZE);
      const atClient = await exchange(socket, ours);
      const [farGot, farHash] = (await python.done).stdout.toString().trim().split('\n').at(-1)!.split(' ');
      expect([farGot, farHash]).toEqual([String(SIZE), sha256(ours)]);
      expect(atClient.length).toBe(1000);
      const stats = service.stack.stats;
      expect(stats.get('icmpv6.rx.packetTooBig')).toBeGreaterThanOrEqual(1);
      // The router's Packet Too Big named 1280: the path MTU is remembered for the far host.
      const udp = service.stack.dgram.createSocket('udp6');
      const sink = start(far.name, [
        'python3',
        '-c',
        "import socket;s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM);s.bind(('fd00:86::2',9605));print('listening',flush=True);d,a=s.recvfrom(65536);print(len(d))",
      ]);
      await kernelListening(far.name, 9605, 'udp');
      const fragmentedBefore = stats.get('ipv6.tx.fragmented');
      await new Promise<void>((resolve, reject) =>
        udp.send(new Uint8Array(1400), 9605, 'fd00:86::2', (error: Error | null) => (error ? reject(error) : resolve())),
      );
      expect((await sink.done).stdout.toString().trim().split('\n')).toEqual(['listening', '1400']);
      expect(stats.get('ipv6.tx.fragmented')).toBe(fragmentedBefore + 1);
      udp.close();
    } finally {
      await service?.stop();
      far.close();
      router.close();
    }
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(far.name);
  }, 90_000);
});

/** The nc -6 test's body, in a namespace the kernel's nc can listen in first. */
async function ncBothWays(kind: Kind, namespace: string, args: string[]): Promise<void> {
  const device = [...args, ...['--addr', '10.82.0.2/24', '--host-addr', '10.82.0.1'], ...['--addr6', 'fd00:82::2/64']];
  // To the kernel's nc -6 -l: 1 MB over TCP; EOF half-closes, the kernel's nc ends.
  const content = new Rng(21).bytes(1_000_000);
  const listener = start(namespace, ['nc', '-6', '-l', '5006']);
  await kernelListening(namespace, 5006, 'tcp');
  const sentErrors = collector();
  const sent = await runNc([...device, '-6', 'fd00:82::1', '5006'], {
    stdin: Readable.from([Buffer.from(content)]),
    stdout: collector().stream,
    stderr: sentErrors.stream,
  });
  expect(sent, sentErrors.text()).toBe(0);
  const received = await listener.done;
  expect(received.code).toBe(0);
  expect(sha256(received.stdout)).toBe(sha256(content));

  // From the kernel's nc -6 to ustack nc -6 -l (on ::).
  const stdout = collector();
  const stderr = collector();
  let sender: ReturnType<typeof start> | null = null;
  const code = await runNc([...device, '-6', '-l', '-v', '5007'], {
    stdin: Readable.from([]),
    stdout: stdout.stream,
    stderr: stderr.stream,
    onReady: () => (sender = start(namespace, ['nc', '-6', '-N', 'fd00:82::2', '5007'], content)),
  });
  expect(code).toBe(0);
  expect((await sender!.done).code).toBe(0);
  expect(sha256(stdout.bytes())).toBe(sha256(content));
  expect(stderr.text()).toMatch(/^Listening on :: 5007\nConnection received on fd00:82::1 \d+\n$/);

  // UDP: 100 KB to the kernel's nc -6 -u -l in datagrams of MTU - 48, none fragmented; read by
  // read and paced a little, as UDP has no flow control (the IPv4 test does the same).
  const udpContent = new Rng(22).bytes(100_000);
  const udpListener = start(namespace, ['nc', '-6', '-u', '-l', '5008']);
  await kernelListening(namespace, 5008, 'udp');
  async function* paced() {
    for (let offset = 0; offset < udpContent.length; offset += 16_384) {
      yield udpContent.subarray(offset, offset + 16_384);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  let stack: Stack | null = null;
  const udpCode = await runNc([...device, '-6', '-u', '-q', '0.5', 'fd00:82::1', '5008'], {
    stdin: Readable.from(paced()),
    stdout: collector().stream,
    stderr: collector().stream,
    onReady: (info) => (stack = info.stack),
  });
  expect(udpCode).toBe(0);
  // Six reads of 16,384 bytes in 12 datagrams each (11 × 1452 + 412), the last 1696 in 2.
  expect(stack!.stats.get('udp.tx.datagrams')).toBe(74);
  expect(stack!.stats.get('ipv6.tx.fragmented')).toBe(0);
  const deadline = Date.now() + 5_000;
  while (udpListener.stdout().length < udpContent.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  udpListener.kill();
  const udpReceived = await udpListener.done;
  expect(udpReceived.stdout.length).toBe(udpContent.length);
  expect(sha256(udpReceived.stdout)).toBe(sha256(udpContent));
}
