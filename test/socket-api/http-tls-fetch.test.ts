/**
 * Real protocols, unchanged, over ustack: Node's own http server and client, tls with a
 * self-signed certificate made here, and fetch through undici's Agent({ connect }) — every byte
 * carried by ustack's TCP, here over two stacks on the virtual network with loss on the wire.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { Socket as NodeSocket } from 'node:net';
import { Agent, fetch } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { serveOnStack } from '../../src/socket-api/serve-on-stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

function network(seed: number) {
  const net = new VirtualNetwork(seed);
  const client = net.createStack('client');
  const server = net.createStack('server');
  const faults = { lossRate: 0.01 };
  net.connect({ stack: client, address: '10.0.0.1/24', faults }, { stack: server, address: '10.0.0.2/24', faults }, { latencyMs: 2 });
  return { net, client, server };
}

const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) & 0xff));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** An http.Server whose connections come from a ustack listener. */
function httpOverUstack(server: ReturnType<typeof network>['server'], port: number, handler: http.RequestListener) {
  return serveOnStack(server, http.createServer(handler), port);
}

const dir = mkdtempSync(join(tmpdir(), 'ustack-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('http, tls and fetch over ustack', () => {
  it("Node's http server and client", async () => {
    const { net, client, server } = network(1);
    httpOverUstack(server, 80, (request, response) => {
      response.setHeader('content-type', 'application/octet-stream');
      response.end(request.url === '/big' ? body : 'hello');
    });
    const result = await net.runAsync(
      () =>
        new Promise<{ status: number; data: Buffer }>((resolve, reject) => {
          // An Agent whose connections are ustack's (Node ignores a request's createConnection
          // when it has an agent, and `agent: false` still builds a default one).
          const agent = new http.Agent();
          agent.createConnection = () => client.net.connect(80, '10.0.0.2') as never;
          const request = http.get({ host: '10.0.0.2', port: 80, path: '/big', agent }, (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (c: Buffer) => chunks.push(c));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, data: Buffer.concat(chunks) }));
          });
          request.on('error', reject);
        }),
      { limitMs: 60_000 },
    );
    expect(result.status).toBe(200);
    expect(sha(result.data)).toBe(sha(body));
  });

  it('tls client and server with a self-signed certificate', async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=ustack.test',
        '-addext',
        'subjectAltName=DNS:ustack.test',
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'));
    const cert = readFileSync(join(dir, 'cert.pem'));
    const { net, client, server } = network(2);
    const tlsServer = tls.createServer({ key, cert }, (secure) => secure.pipe(secure)); // an echo over TLS
    serveOnStack(server, tlsServer, 443);
    const echoed = await net.runAsync(
      () =>
        new Promise<{ text: string; protocol: string | null; authorized: boolean }>((resolve, reject) => {
          const secure = tls.connect({ socket: client.net.connect(443, '10.0.0.2'), ca: cert, servername: 'ustack.test' }, () => {
            secure.end('secret over ustack');
          });
          let text = '';
          secure.on('data', (c: Buffer) => (text += c.toString()));
          secure.on('end', () => resolve({ text, protocol: secure.getProtocol(), authorized: secure.authorized }));
          secure.on('error', reject);
        }),
      { limitMs: 60_000 },
    );
    expect(echoed.text).toBe('secret over ustack');
    expect(echoed.authorized).toBe(true);
    expect(echoed.protocol).toMatch(/^TLSv1\.[23]$/);
  });

  it("fetch through undici's Agent({ connect })", async () => {
    const { net, client, server } = network(3);
    httpOverUstack(server, 8080, (request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ method: request.method, url: request.url }));
    });
    const agent = new Agent({
      connect: (options, callback) => {
        const socket = client.net.connect(Number(options.port), options.hostname);
        // undici types the socket as node:net's Socket; ustack's is a Duplex with the same surface.
        socket.once('connect', () => callback(null, socket as unknown as NodeSocket));
        socket.once('error', (error: Error) => callback(error, null));
      },
    });
    const json = await net.runAsync(
      async () => {
        const response = await fetch('http://10.0.0.2:8080/hello?x=1', { dispatcher: agent });
        return (await response.json()) as unknown;
      },
      { limitMs: 60_000 },
    );
    expect(json).toEqual({ method: 'GET', url: '/hello?x=1' });
    await agent.close();
  });
});
