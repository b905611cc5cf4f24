/**
 * `ustack up --queues 2`: a multi-queue TUN with a stack per worker thread. The kernel, in a
 * namespace the test makes, opens 32 connections from 32 source ports to the echo service at
 * once; every one is echoed, the kernel's flow hash spreads them over both workers (each worker's
 * own counters say how many it accepted), pings are answered, and stopping leaves no device and
 * no namespace behind. The built CLI runs as a process of its own, as a user runs it (a worker
 * thread loads the compiled module).
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { describeInterop } from './kernel-peer.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');

/** 32 connections open at once (the kernel picks 32 source ports), each sends a line and reads it back. */
const MANY_ECHOES = `
import socket, sys
address, count = sys.argv[1], int(sys.argv[2])
sockets = [socket.create_connection((address, 7), timeout=5) for _ in range(count)]
ports = set(s.getsockname()[1] for s in sockets)
for i, s in enumerate(sockets):
    s.sendall(b'line %d\\n' % i)
ok = 0
for i, s in enumerate(sockets):
    want = b'line %d\\n' % i
    got = b''
    while len(got) < len(want):
        chunk = s.recv(100)
        if not chunk: break
        got += chunk
    ok += got == want
    s.close()
print('echoed', ok, 'ports', len(ports))
`;

describeInterop('interop: ustack up --queues', () => {
  // The worker threads load the compiled modules: the CLI is built first (when stale).
  beforeAll(() => {
    const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
  }, 120_000);

  it('two queues, a stack on each: 32 connections from the kernel all echoed and spread over both workers, pings answered, nothing left behind', async () => {
    const tag = process.pid % 100000;
    const namespace = `ustack-it-${tag}-mq`;
    const device = `ustmq${tag}`;
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'up',
        '--queues',
        '2',
        '--tun',
        device,
        '--netns',
        namespace,
        '--addr',
        '10.93.0.2/24',
        '--host-addr',
        '10.93.0.1',
        '--serve',
        'echo',
        '--stats',
        '0',
        '--for',
        '30',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 10_000;
      while (!output.includes('Ctrl-C to stop') && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(output).toContain('with 2 queues');

      const ping = spawnSync('ip', ['netns', 'exec', namespace, 'ping', '-c', '4', '-i', '0.2', '-W', '2', '10.93.0.2'], { encoding: 'utf8', timeout: 10_000 });
      expect(ping.stdout).toContain('4 received');
      const echoes = spawnSync('ip', ['netns', 'exec', namespace, 'python3', '-c', MANY_ECHOES, '10.93.0.2', '32'], { encoding: 'utf8', timeout: 15_000 });
      expect(echoes.stdout.trim(), echoes.stderr).toBe('echoed 32 ports 32');
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);

    const perQueue = [
      ...output.matchAll(/queue (\d): \d+ packets in, \d+ out; (\d+) pings answered, (\d+) TCP connections, \d+ UDP datagrams, (\d+) dropped/g),
    ].map((match) => ({
      queue: Number(match[1]),
      pings: Number(match[2]),
      connections: Number(match[3]),
      dropped: Number(match[4]),
    }));
    expect(perQueue.map((counters) => counters.queue)).toEqual([0, 1]);
    // 32 flows land on one queue with probability 2^-31: both workers accept some.
    for (const counters of perQueue) expect(counters.connections, output).toBeGreaterThan(0);
    // Every packet reached the worker holding its connection (a stray would be dropped or reset).
    for (const counters of perQueue) expect(counters.dropped, output).toBe(0);
    expect(perQueue[0]!.connections + perQueue[1]!.connections).toBe(32);
    expect(perQueue[0]!.pings + perQueue[1]!.pings).toBe(4);
    expect(output).toContain('ustack down:');
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(namespace);
    expect(spawnSync('ip', ['link', 'show', device], { encoding: 'utf8' }).status).not.toBe(0);
  }, 40_000);
});
