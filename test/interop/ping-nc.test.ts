/**
 * `ustack ping` and `ustack nc` against the Linux kernel: each command opens its own TUN
 * device (the same setup as `ustack up`) whose kernel end lives in a namespace made here; the
 * kernel answers the pings, and the kernel's `nc` (OpenBSD netcat) is the other end of every
 * transfer, both ways, TCP and UDP, checked by hash.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, openSync, closeSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { runNc } from '../../src/cli/nc-command.js';
import { runPing } from '../../src/cli/ping-command.js';
import { createNamespace, ip, type Namespace } from '../../src/link/device.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { describeInterop } from './kernel-peer.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A kernel command in the namespace: its stdout so far, and its end. */
interface KernelCommand {
  stdout(): Buffer;
  readonly done: Promise<{ code: number | null; stdout: Buffer; stderr: string }>;
  kill(): void;
}

function startInNamespace(namespace: string, argv: string[], input?: Uint8Array, timeoutMs = 30_000): KernelCommand {
  const child = spawn('ip', ['netns', 'exec', namespace, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.on('error', () => {});
  child.stdin.end(input ?? Buffer.alloc(0));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number | null; stdout: Buffer; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(chunks), stderr });
    });
  });
  return { stdout: () => Buffer.concat(chunks), done, kill: () => child.exitCode === null && child.kill('SIGTERM') };
}

/** Waits (bounded) until `predicate` holds. */
async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
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

let counter = 0;

describeInterop('interop: ustack ping and ustack nc', () => {
  let namespace: Namespace | null = null;
  let directory = '';
  let device = '';
  const kernelCommands: KernelCommand[] = [];

  beforeEach(() => {
    counter++;
    namespace = createNamespace(`ustack-it-${process.pid}-pn${counter}`);
    directory = mkdtempSync(join(tmpdir(), 'ustack-ping-nc-'));
    device = `ustpn${process.pid % 100000}${String.fromCharCode(96 + counter)}`;
  });
  afterEach(async () => {
    for (const command of kernelCommands) command.kill();
    await Promise.all(kernelCommands.map((command) => command.done));
    kernelCommands.length = 0;
    namespace?.close();
    namespace = null;
    rmSync(directory, { recursive: true, force: true });
    // Nothing left behind: the device is gone with the command.
    expect(ip(['link', 'show'])).not.toContain(device);
  });

  const deviceArgs = () => ['--tun', device, '--netns', namespace!.name, '--addr', '10.77.0.2/24', '--host-addr', '10.77.0.1'];
  const kernel = (argv: string[], input?: Uint8Array) => {
    const command = startInNamespace(namespace!.name, argv, input);
    kernelCommands.push(command);
    return command;
  };
  const kernelListening = (port: number, protocol: 'tcp' | 'udp') =>
    until(async () => {
      const listing = startInNamespace(namespace!.name, ['ss', '-Hn', protocol === 'tcp' ? '-lt' : '-lu', `sport = :${port}`]);
      return (await listing.done).stdout.toString().trim() !== '';
    }, `a kernel ${protocol} socket on port ${port}`);

  it('ping: the kernel answers; replies matched by identifier, iputils-style lines and summary', async () => {
    const lines: string[] = [];
    const code = await runPing([...deviceArgs(), '10.77.0.1', '-c', '3', '-i', '0.2'], (line) => lines.push(line));
    expect(code).toBe(0);
    expect(lines[0]).toBe('PING 10.77.0.1 (10.77.0.1) 56(84) bytes of data.');
    const replies = lines.filter((line) => / bytes from /.test(line));
    expect(replies).toHaveLength(3);
    replies.forEach((line, i) => expect(line).toMatch(new RegExp(`^64 bytes from 10\\.77\\.0\\.1: icmp_seq=${i + 1} ttl=64 time=\\d+(\\.\\d+)? ms$`)));
    expect(lines).toContain('--- 10.77.0.1 ping statistics ---');
    expect(lines.join('\n')).toMatch(
      /3 packets transmitted, 3 received, 0% packet loss, time \d+ms\nrtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/,
    );
  });

  it('ping -s 3000: requests and replies cross the 1500-byte device in fragments', async () => {
    const pcap = join(directory, 'ping.pcap');
    const lines: string[] = [];
    const code = await runPing([...deviceArgs(), '--pcap', pcap, '10.77.0.1', '-c', '2', '-i', '0.2', '-s', '3000'], (line) => lines.push(line));
    expect(code).toBe(0);
    expect(lines.filter((line) => /^3008 bytes from 10\.77\.0\.1: icmp_seq=\d ttl=64 /.test(line))).toHaveLength(2);
    expect(lines.join('\n')).toMatch(/2 packets transmitted, 2 received, 0% packet loss/);
    const capture = readCapture(readFileSync(pcap));
    if (!capture.ok || capture.value.format !== 'pcap') throw new Error('unreadable pcap');
    const icmpFragments = capture.value.records.filter((r) => r.data[9] === 1 && (r.data[6] & 0x20 || r.data[6] & 0x1f || r.data[7]));
    // 3028-byte datagrams in 3 fragments each way: 2 requests out, 2 replies back.
    const from = (address: string) => icmpFragments.filter((r) => r.data.subarray(12, 16).join('.') === address);
    expect(from('10.77.0.2')).toHaveLength(6);
    expect(from('10.77.0.1')).toHaveLength(6);
    expect(Math.max(...capture.value.records.map((r) => r.data.length))).toBeLessThanOrEqual(1500);
  });

  it('ping: no answer → 100% loss and exit code 1', async () => {
    const lines: string[] = [];
    const code = await runPing([...deviceArgs(), '10.77.0.9', '-c', '2', '-i', '0.2', '-W', '0.5'], (line) => lines.push(line));
    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/2 packets transmitted, 0 received, 100% packet loss/);
  });

  it("nc: a file to the kernel's nc -l, with a progress line; EOF half-closes", async () => {
    const file = join(directory, 'in.bin');
    const content = randomBytes(2_000_000);
    writeFileSync(file, content);
    const listener = kernel(['nc', '-l', '5000']);
    await kernelListening(5000, 'tcp');
    const stdin = createReadStream(file);
    const stdout = collector();
    const stderr = collector();
    const code = await runNc([...deviceArgs(), '10.77.0.1', '5000'], { stdin, stdout: stdout.stream, stderr: stderr.stream, inputSize: content.length });
    stdin.destroy();
    expect(code).toBe(0);
    const received = await listener.done;
    expect(received.code).toBe(0); // the kernel's nc saw our FIN and ended
    expect(received.stdout.length).toBe(content.length);
    expect(sha256(received.stdout)).toBe(sha256(content));
    const drawn = stderr.text().split('\r').filter(Boolean);
    expect(drawn.at(-1)).toMatch(/^2000000 bytes sent \(100%\), 0 received, [\d.]+ s, [\d.]+ (B|KiB|MiB|GiB)\/s *\n$/);
    expect(stdout.bytes().length).toBe(0);
  });

  it("nc -l: the kernel's nc sends a file to ustack; stdout has it exactly", async () => {
    const content = randomBytes(1_500_000);
    const stdout = collector();
    const stderr = collector();
    let sender: KernelCommand | null = null;
    const code = await runNc([...deviceArgs(), '-l', '-v', '5001'], {
      stdin: Readable.from([]),
      stdout: stdout.stream,
      stderr: stderr.stream,
      onReady: () => (sender = kernel(['nc', '-N', '10.77.0.2', '5001'], content)),
    });
    expect(code).toBe(0);
    expect((await sender!.done).code).toBe(0);
    expect(stdout.bytes().length).toBe(content.length);
    expect(sha256(stdout.bytes())).toBe(sha256(content));
    expect(stderr.text()).toMatch(/^Listening on 0\.0\.0\.0 5001\nConnection received on 10\.77\.0\.1 \d+\n$/);
  });

  it('nc: both directions — the kernel answers and closes first; we end while stdin is still open', async () => {
    const answer = randomBytes(300_000);
    const server = kernel(['nc', '-l', '-N', '5004'], answer);
    await kernelListening(5004, 'tcp');
    const stdin = new PassThrough();
    stdin.write('hello\n'); // and never ended: the peer's FIN ends the run
    const stdout = collector();
    const code = await runNc([...deviceArgs(), '10.77.0.1', '5004'], { stdin, stdout: stdout.stream, stderr: collector().stream });
    expect(code).toBe(0);
    const done = await server.done;
    expect(done.code).toBe(0);
    expect(done.stdout.toString()).toBe('hello\n');
    expect(stdout.bytes().length).toBe(answer.length);
    expect(sha256(stdout.bytes())).toBe(sha256(answer));
  });

  it("nc -u: a file to the kernel's nc -u -l in datagrams that fit the MTU", async () => {
    const content = randomBytes(100_000);
    const listener = kernel(['nc', '-u', '-l', '5002']);
    await kernelListening(5002, 'udp');
    const stdout = collector();
    // Read by read as from a file, paced a little: UDP has no flow control, and a burst larger
    // than the kernel socket's receive buffer would be dropped (as between two kernel ncs).
    async function* paced() {
      for (let offset = 0; offset < content.length; offset += 16_384) {
        yield content.subarray(offset, offset + 16_384);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const code = await runNc([...deviceArgs(), '-u', '-q', '0.5', '10.77.0.1', '5002'], {
      stdin: Readable.from(paced()),
      stdout: stdout.stream,
      stderr: collector().stream,
    });
    expect(code).toBe(0);
    await until(() => listener.stdout().length >= content.length, 'the kernel to receive the file', 5_000);
    expect(sha256(listener.stdout())).toBe(sha256(content));
  });

  it("nc -l -u: the kernel's nc -u sends a file (16 KB datagrams, reassembled); -w ends it when idle", async () => {
    const content = randomBytes(100_000);
    const stdout = collector();
    const code = await runNc([...deviceArgs(), '-l', '-u', '-w', '1', '5003'], {
      stdin: Readable.from([]),
      stdout: stdout.stream,
      stderr: collector().stream,
      onReady: () => kernel(['nc', '-u', '-q', '0', '10.77.0.2', '5003'], content),
    });
    expect(code).toBe(0);
    expect(stdout.bytes().length).toBe(content.length);
    expect(sha256(stdout.bytes())).toBe(sha256(content));
  });

  it('nc: connection refused is an error with exit code 1', async () => {
    const stderr = collector();
    const code = await runNc([...deviceArgs(), '-w', '5', '10.77.0.1', '5009'], {
      stdin: Readable.from([]),
      stdout: collector().stream,
      stderr: stderr.stream,
    });
    expect(code).toBe(1);
    expect(stderr.text()).toMatch(/^nc: connect to 10\.77\.0\.1 port 5009 \(tcp\) failed: Connection refused\n$/);
  });

  it('nc -w: a connect nobody answers fails after the timeout', async () => {
    const stderr = collector();
    const started = Date.now();
    const code = await runNc([...deviceArgs(), '-w', '1', '10.77.0.9', '5010'], {
      stdin: Readable.from([]),
      stdout: collector().stream,
      stderr: stderr.stream,
    });
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stderr.text()).toBe('nc: connect to 10.77.0.9 port 5010 (tcp) failed: Operation timed out\n');
  });
});

describeInterop('interop: the ustack command (up, ping, nc) as a process', () => {
  // The CLI compiled into a scratch directory (tsc of tsconfig.build.json), so the real entry
  // point runs: argument handling in main.ts, stdin a file, exit by itself.
  const root = new URL('../../', import.meta.url).pathname;
  let build = '';
  let namespace: Namespace | null = null;
  beforeAll(() => {
    build = mkdtempSync(join(tmpdir(), 'ustack-cli-'));
    symlinkSync(join(root, 'native'), join(build, 'native'));
    symlinkSync(join(root, 'node_modules'), join(build, 'node_modules'));
    writeFileSync(join(build, 'package.json'), '{"type":"module"}');
    try {
      execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json'), '--outDir', build], { stdio: 'pipe', timeout: 120_000 });
    } catch (error) {
      // Type errors still emit JavaScript; only a missing output is fatal.
      const output = (error as { stdout?: Buffer }).stdout?.toString() ?? '';
      console.warn(`tsc reported (the CLI test runs what it emitted): ${output.slice(0, 500)}`);
    }
    namespace = createNamespace(`ustack-it-${process.pid}-cli`);
  }, 180_000);
  afterAll(() => {
    namespace?.close();
    if (build) rmSync(build, { recursive: true, force: true });
  });

  function cli(args: string[], stdinFile: string | null, timeoutMs = 30_000): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    const stdinFd = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
    const child = spawn(process.execPath, [join(build, 'src/cli/main.js'), ...args], { stdio: [stdinFd, 'pipe', 'pipe'] });
    if (typeof stdinFd === 'number') closeSync(stdinFd);
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) => {
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(chunks), stderr });
      });
    });
  }

  it('ustack up --serve (every service) --for 1: serves, then tears down and the process exits by itself, 0', async () => {
    // A listener left behind would keep Node running (as a listening server does): the process
    // would then be killed at the 20 s timeout, with no exit code.
    const result = await cli(
      [
        'up',
        '--tun',
        `ustuc${process.pid % 100000}`,
        '--netns',
        namespace!.name,
        '--addr',
        '10.77.0.2/24',
        '--host-addr',
        '10.77.0.1',
        '--serve',
        'echo,upper,kv,gateway,http,iperf',
        '--for',
        '1',
      ],
      null,
      20_000,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toMatch(/\nustack down: /);
  });

  it('ustack ping -c 2 prints the replies and the summary, and exits 0', async () => {
    const result = await cli(
      [
        'ping',
        '--tun',
        `ustpc${process.pid % 100000}`,
        '--netns',
        namespace!.name,
        '--addr',
        '10.77.0.2/24',
        '--host-addr',
        '10.77.0.1',
        '10.77.0.1',
        '-c',
        '2',
        '-i',
        '0.2',
      ],
      null,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toMatch(
      /^PING 10\.77\.0\.1 .*\n64 bytes from 10\.77\.0\.1: icmp_seq=1 ttl=64 time=[\d.]+ ms\n64 bytes from .*icmp_seq=2[^]*2 packets transmitted, 2 received, 0% packet loss/,
    );
  });

  it("ustack nc < FILE: the kernel's nc -l gets the file; a progress line because stdin is a file; exits by itself", async () => {
    const directory = mkdtempSync(join(tmpdir(), 'ustack-cli-nc-'));
    const file = join(directory, 'in.bin');
    const content = randomBytes(1_000_000);
    writeFileSync(file, content);
    const listener = startInNamespace(namespace!.name, ['nc', '-l', '5100']);
    try {
      await until(async () => (await startInNamespace(namespace!.name, ['ss', '-Hnlt', 'sport = :5100']).done).stdout.toString().trim() !== '', 'nc -l');
      const result = await cli(
        ['nc', '--tun', `ustnc${process.pid % 100000}`, '--netns', namespace!.name, '--addr', '10.77.0.2/24', '--host-addr', '10.77.0.1', '10.77.0.1', '5100'],
        file,
      );
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/\r1000000 bytes sent \(100%\), 0 received, [\d.]+ s, [\d.]+ \S+\/s *\n$/);
      const received = await listener.done;
      expect(sha256(received.stdout)).toBe(sha256(content));
    } finally {
      listener.kill();
      await listener.done;
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
