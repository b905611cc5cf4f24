/**
 * Real tools under `ustack run`, judged by things nobody here wrote: Python's socket module
 * against the kernel's answers to the same calls, curl fetching from `python3 -m http.server`
 * (both under ustack, 50 MB compared by SHA-256), OpenBSD nc both ways; and what ustack run
 * refuses (a statically linked program, io_uring) in one line.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale, have, IN_CI, MAIN, NETNS_PREFIX, networkDirectory, PYTHON, ROOT, run, start, stopAll, ustackRun } from './support.js';

const netDir = networkDirectory();
const env = { USTACK_NET_DIR: netDir };
const work = mkdtempSync(join(tmpdir(), 'ustack-run-tools-'));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** `it` for a test needing `tools`: SKIPPED loudly when one is missing, except under CI. */
function itWith(tools: string[], name: string, body: () => Promise<void>, timeoutMs = 60_000): void {
  const missing = tools.filter((tool) => !have(tool));
  if (missing.length > 0 && !IN_CI) {
    console.warn(`SKIPPED (needs ${missing.join(', ')}): ${name}`);
    it.skip(name, body, timeoutMs);
    return;
  }
  it(name, body, timeoutMs);
}

beforeAll(() => buildIfStale(), 120_000);

afterAll(async () => {
  await stopAll();
  for (const net of ['web', 'nc', 'void', 'iperf']) spawnSync(process.execPath, [MAIN, 'net', 'stop', net], { env: { ...process.env, ...env } });
});

describe('ustack run: Python socket calls answer as the kernel answers them', () => {
  it("non-blocking connect and select, accept readiness, FIONREAD, MSG_PEEK, half close, RST, timeouts, errnos, UDP boundaries: line for line the kernel's", async () => {
    const script = join(ROOT, 'test/run/socket-checks.py');
    const kernel = await run([PYTHON, script, '7190']);
    expect(kernel.code).toBe(0);
    expect(kernel.stdout).toMatch(/done\n$/);
    const ours = await run(ustackRun([], [PYTHON, script, '7190']), { isolated: true });
    expect(ours.stderr).toBe('');
    expect(ours.stdout).toBe(kernel.stdout);
  });
});

describe('ustack run --trace --pcap: every packet of the program, seen and recorded', () => {
  it('a UDP exchange over 127.0.0.1 on a stack of its own: the trace on stderr, both datagrams in the capture', async () => {
    const pcap = join(work, 'own.pcap');
    const program = [
      'import socket',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 12000))',
      'c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.sendto(b"lower case", ("127.0.0.1", 12000))',
      'm, a = s.recvfrom(100); s.sendto(m.upper(), a); print(c.recvfrom(100)[0].decode())',
    ].join('\n');
    const result = await run(ustackRun(['--trace', '--pcap', pcap], [PYTHON, '-c', program]), { isolated: true });
    expect(result.stdout).toBe('LOWER CASE\n');
    expect(result.stderr).toMatch(/↓ udp +UDP \d+ → 12000: added 8-byte header to 10 bytes of data/);
    expect(result.stderr).toMatch(/↑ udp +UDP 12000 → \d+/);
    const capture = readFileSync(pcap);
    expect(capture.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(capture.includes(Buffer.from('lower case'))).toBe(true);
    expect(capture.includes(Buffer.from('LOWER CASE'))).toBe(true);
  });
});

describe('ustack run: a connect that does not end', () => {
  it('to a host nobody has (the hub drops the SYNs): EINPROGRESS, not writable, SO_ERROR 0, EALREADY — as Linux while its SYN goes unanswered', async () => {
    const probe = [
      'import errno, select, socket',
      's = socket.socket(); s.setblocking(False)',
      'print(errno.errorcode[s.connect_ex(("10.0.0.99", 80))])',
      'print(select.select([s], [s], [], 0.5))',
      'print(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))',
      'print(errno.errorcode[s.connect_ex(("10.0.0.99", 80))])',
      's.close()',
    ].join('\n');
    const result = await run(ustackRun(['--net', 'void', '--addr', '10.0.0.1/24'], [PYTHON, '-c', probe]), { env, isolated: true });
    expect(result.stdout).toBe('EINPROGRESS\n([], [], [])\n0\nEALREADY\n');
  });
});

describe('ustack run: real tools', () => {
  itWith(
    ['curl'],
    'curl downloads 50 MB from python3 -m http.server, both under ustack on a virtual network: the same SHA-256',
    async () => {
      const file = randomBytes(50_000_000);
      writeFileSync(join(work, 'big.bin'), file);
      // Jumbo frames (--mtu 9000) on this network: a sixth of the packets to carry through the three processes.
      const server = start(ustackRun(['--net', 'web', '--addr', '10.0.0.2/24', '--mtu', '9000'], [PYTHON, '-m', 'http.server', '--bind', '10.0.0.2', '8000']), {
        env,
        isolated: true,
        cwd: work,
      });
      await server.waitFor(/Serving HTTP/);
      const began = performance.now();
      const curl = await run(
        ustackRun(['--net', 'web', '--addr', '10.0.0.1/24', '--mtu', '9000'], ['curl', '-sS', '-o', join(work, 'copy.bin'), 'http://10.0.0.2:8000/big.bin']),
        {
          env,
          isolated: true,
          timeoutMs: 100_000,
        },
      );
      const seconds = (performance.now() - began) / 1000;
      expect(curl.stderr).toBe('');
      expect(curl.code).toBe(0);
      expect(sha256(readFileSync(join(work, 'copy.bin')))).toBe(sha256(file));
      console.log(`curl through ustack run: 50 MB in ${seconds.toFixed(1)} s (${(50 / seconds).toFixed(1)} MB/s)`);
      await server.stop();
    },
    120_000,
  );

  itWith(['nc'], 'OpenBSD nc both ways: a listener receives a file from a client, and a listener sends one to a client (-N: EOF half-closes)', async () => {
    const upload = randomBytes(1_000_000);
    const download = randomBytes(1_000_000);
    writeFileSync(join(work, 'up.bin'), upload);
    writeFileSync(join(work, 'down.bin'), download);
    const host = (address: string) => ['--net', 'nc', '--addr', address];
    // Client to listener. (As on the kernel, nc without -N exits once both its stdin and the
    // connection have ended: the listener's stdin is empty.)
    const listener = start([...ustackRun(host('10.0.0.2/24'), ['sh', '-c', `nc -l 7000 > ${join(work, 'up.copy')}`])], { env, isolated: true, stdin: '' });
    await new Promise((r) => setTimeout(r, 1000));
    // nc says nothing when refused (the listener not yet up): it is run again then.
    const untilConnected = async (command: string[], stdin?: string) => {
      let result = await run(command, { env, isolated: true, stdin });
      for (let i = 0; i < 20 && result.code !== 0; i++) {
        await new Promise((r) => setTimeout(r, 250));
        result = await run(command, { env, isolated: true, stdin });
      }
      return result;
    };
    const sender = await untilConnected(ustackRun(host('10.0.0.1/24'), ['sh', '-c', `nc -N 10.0.0.2 7000 < ${join(work, 'up.bin')}`]));
    expect(sender.code).toBe(0);
    expect((await listener.exited).code).toBe(0);
    expect(sha256(readFileSync(join(work, 'up.copy')))).toBe(sha256(upload));
    // Listener to client.
    const source = start(ustackRun(host('10.0.0.2/24'), ['sh', '-c', `nc -N -l 7001 < ${join(work, 'down.bin')}`]), { env, isolated: true });
    await new Promise((r) => setTimeout(r, 1000));
    const receiver = await untilConnected(ustackRun(host('10.0.0.1/24'), ['sh', '-c', `nc 10.0.0.2 7001 > ${join(work, 'down.copy')}`]), '');
    expect(receiver.code).toBe(0);
    expect((await source.exited).code).toBe(0);
    expect(sha256(readFileSync(join(work, 'down.copy')))).toBe(sha256(download));
  });
});

describe('ustack run: iperf3 on both ends', () => {
  itWith(['iperf3'], 'iperf3 -c against iperf3 -s, both under ustack run on a named network: data moves, TCP_INFO read', async () => {
    const host = (address: string) => ['--net', 'iperf', '--addr', address, '--mtu', '9000'];
    const server = start(ustackRun(host('10.0.0.2/24'), ['iperf3', '-s', '-1', '-p', '5299', '--forceflush']), { env, isolated: true });
    await server.waitFor(/Server listening/);
    const client = await run(ustackRun(host('10.0.0.1/24'), ['iperf3', '-c', '10.0.0.2', '-p', '5299', '-t', '1', '-J']), {
      env,
      isolated: true,
      timeoutMs: 30_000,
    });
    const report = JSON.parse(client.stdout) as { end: { sum_sent: { bytes: number; retransmits: number }; sum_received: { bytes: number } } };
    expect(report.end.sum_received.bytes).toBeGreaterThan(100_000);
    expect(report.end.sum_sent.retransmits).toBeLessThan(report.end.sum_sent.bytes / 1000);
    expect((await server.exited).code).toBe(0);
  });
});

describe('ustack run: what it cannot serve is said in one line, not run on the kernel', () => {
  itWith(['cc'], 'a statically linked program', async () => {
    writeFileSync(join(work, 'static.c'), 'int main(void) { return 0; }\n');
    const built = spawnSync('cc', ['-static', '-o', join(work, 'static'), join(work, 'static.c')], { encoding: 'utf8' });
    if (built.status !== 0) {
      if (IN_CI) throw new Error(`cc -static failed: ${built.stderr}`);
      console.warn('SKIPPED (cc -static failed: no static libc): the static program check');
      return;
    }
    const result = await run(ustackRun([], [join(work, 'static')]));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^ustack run: .*static is statically linked: LD_PRELOAD cannot reach its socket calls, so it would use the kernel's stack; not run\n$/,
    );
  });

  it('io_uring: the program hears ENOSYS and ustack run says why, once', async () => {
    const probe = 'import ctypes, os\nr = ctypes.CDLL(None, use_errno=True).syscall(425, 8, ctypes.c_void_p(0))\nprint(r, os.strerror(ctypes.get_errno()))';
    const result = await run(ustackRun([], [PYTHON, '-c', probe]));
    expect(result.stdout).toBe('-1 Function not implemented\n');
    expect(result.stderr).toBe('ustack run: the program asked for io_uring, which ustack cannot serve; refused (ENOSYS)\n');
  });

  it('usage: no program is a usage error (status 2); --help runs nothing', async () => {
    const none = await run([process.execPath, MAIN, 'run', '--net', 'x']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('ustack run: give the program after --: ustack run [options] -- PROGRAM [ARGS...]\n');
    const help = await run([process.execPath, MAIN, 'run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: ustack run \[options\] -- PROGRAM/);
    const missing = await run(ustackRun([], ['no-such-program-here']));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('ustack run: no-such-program-here: command not found\n');
  });
});

if (!NETNS_PREFIX) console.warn('SKIPPED isolation for test/run/tools.test.ts: no network namespace (unshare -n)');
