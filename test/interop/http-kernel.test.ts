/**
 * HTTP between the Linux kernel and ustack over a TUN device, with unchanged HTTP software on
 * both ends: the kernel's curl against Node's own http server whose connections come from a
 * ustack listener, and Node's http client (its connections made by ustack, through an Agent)
 * against `python3 -m http.server` in the namespace. Bodies are checked by SHA-256.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { NetConnectOptions } from '../../src/socket-api/net-socket.js';
import { serveOnStack } from '../../src/socket-api/serve-on-stack.js';
import { describeInterop, IN_CI, KERNEL_ADDRESS, KernelPeer, sha256, STACK_ADDRESS } from './kernel-peer.js';

/** curl is installed by `npm test` / .ci/run; without it the curl test is skipped (loudly), except under CI. */
const HAS_CURL = spawnSync('sh', ['-c', 'command -v curl'], { stdio: 'ignore' }).status === 0;
if (!HAS_CURL && !IN_CI) console.warn('SKIPPED (needs curl): interop curl → ustack http server');

describeInterop('interop: HTTP between the Linux kernel and ustack', () => {
  let peer: KernelPeer | null = null;
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    if (peer) {
      expect(peer.stack.lastInternalError).toBe(null);
      await peer.close();
    }
    peer = null;
  });

  it.skipIf(!HAS_CURL && !IN_CI)(
    "kernel curl → Node's http server on a ustack listener: 8 MB by SHA-256, plus a small page",
    async () => {
      peer = new KernelPeer();
      const body = Buffer.from(new Rng(21).bytes(8_000_000));
      const httpServer = http.createServer((request, response) => {
        response.setHeader('content-type', 'application/octet-stream');
        response.end(request.url === '/big' ? body : 'hello from ustack\n');
      });
      // As `ustack up --serve http` does: the listener gives connections http.Server's own settings (TCP_NODELAY).
      const listener = serveOnStack(peer.stack, httpServer, 8080);
      cleanups.push(() => {
        listener.close();
        httpServer.close();
      });

      const small = await peer.run(['curl', '-sS', '--fail', '--max-time', '10', `http://${STACK_ADDRESS}:8080/`], { timeoutMs: 15_000 });
      expect(small.stderr).toBe('');
      expect(small.code).toBe(0);
      expect(small.stdout.toString()).toBe('hello from ustack\n');

      const started = Date.now();
      const big = await peer.run(['curl', '-sS', '--fail', '--max-time', '30', `http://${STACK_ADDRESS}:8080/big`], { timeoutMs: 35_000 });
      const seconds = (Date.now() - started) / 1000;
      expect(big.stderr).toBe('');
      expect(big.code).toBe(0);
      expect(big.stdout.length).toBe(body.length);
      expect(sha256(big.stdout)).toBe(sha256(body));
      console.log(`curl fetched ${body.length} bytes from ustack's http server in ${seconds.toFixed(2)} s`);
    },
    60_000,
  );

  it("Node's http.get over ustack (an Agent whose connections are ustack's) → python3 -m http.server: 50 MB by SHA-256", async () => {
    peer = new KernelPeer();
    const size = 50_000_000;
    const dir = mkdtempSync(join(tmpdir(), 'ustack-http-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = Buffer.from(new Rng(50).bytes(size));
    writeFileSync(join(dir, 'data.bin'), file);
    const expected = sha256(file);

    const port = 8000;
    const server = peer.start(['python3', '-m', 'http.server', String(port), '--bind', KERNEL_ADDRESS, '--directory', dir], { timeoutMs: 60_000 });
    await peer.kernelListening(port);

    // Node ignores a request's createConnection when it has an agent, and `agent: false` still
    // builds a default one (the real network): so an Agent whose connections are ustack's.
    const stack = peer.stack;
    const agent = new http.Agent({ keepAlive: false });
    let connections = 0;
    // With the options the Agent passes (noDelay: true among them), as Node's own createConnection gets them.
    agent.createConnection = ((options: NetConnectOptions, callback?: () => void) => {
      connections++;
      return stack.net.createConnection(options, callback);
    }) as never;
    cleanups.push(() => agent.destroy());

    const started = Date.now();
    const result = await new Promise<{ status: number; length: number; sha256: string; headerLength: string | undefined }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('http.get did not finish in 40 s')), 40_000);
      const request = http.get({ host: KERNEL_ADDRESS, port, path: '/data.bin', agent }, (response) => {
        const digest = createHash('sha256');
        let length = 0;
        response.on('data', (chunk: Buffer) => {
          digest.update(chunk);
          length += chunk.length;
        });
        response.on('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, length, sha256: digest.digest('hex'), headerLength: response.headers['content-length'] });
        });
        response.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const seconds = (Date.now() - started) / 1000;
    server.kill();
    expect(connections).toBe(1);
    expect(result.status).toBe(200);
    expect(result.headerLength).toBe(String(size));
    expect(result.length).toBe(size);
    expect(result.sha256).toBe(expected);
    // It went over ustack: a body's worth of bytes came in through our TUN device, to our TCP.
    expect(peer.link.counters.rxBytes).toBeGreaterThan(size);
    expect(peer.stack.stats.get('tcp.rx.dataSegments')).toBeGreaterThan(0);
    console.log(`http.get over ustack fetched ${size} bytes from python3 -m http.server in ${seconds.toFixed(2)} s`);
  }, 90_000);
});
