/**
 * Writes buffered in the stream (corked, or queued behind a write under way) leave as one write,
 * as Node's Socket hands them to libuv's writev: Node's http corks a response and writes its
 * header and body as two chunks, which the kernel copies into one segment (tcp_sendmsg fills an
 * skb from every iovec before it pushes); one segment each under TCP_NODELAY would double the
 * segments of every small response.
 */
import { describe, expect, it } from 'vitest';
import { once, virtualEnvironment } from './node-harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** A server on the virtual network that collects what each connection sends until its end. */
function collectingServer(env: ReturnType<typeof virtualEnvironment>): { ended: Promise<Buffer> } {
  const received: Buffer[] = [];
  const ended = new Promise<Buffer>((resolve) => {
    const server = env.serverNet.createServer((socket: any) => {
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('end', () => {
        socket.end();
        server.close();
        resolve(Buffer.concat(received));
      });
    });
    server.listen(80);
  });
  return { ended };
}

describe('net: corked writes are one write (writev)', () => {
  it('under TCP_NODELAY a corked header and body leave in one data segment, in order, each callback called', async () => {
    const env = virtualEnvironment(5);
    const result = await env.run(async () => {
      const { ended } = collectingServer(env);
      const socket = env.clientNet.connect({ port: 80, host: '10.0.0.2', noDelay: true });
      await once(socket, 'connect');
      const callbacks: string[] = [];
      socket.cork();
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n', () => callbacks.push('header'));
      socket.write(Buffer.alloc(1000, 0x61), () => callbacks.push('body'));
      socket.uncork();
      await new Promise((resolve) => setImmediate(resolve));
      const segments = socket.getTcpInfo().data_segs_out;
      const bytesWritten = socket.bytesWritten;
      socket.end();
      return { data: await ended, segments, callbacks, bytesWritten };
    });
    expect(result.segments).toBe(1);
    expect(result.callbacks).toEqual(['header', 'body']);
    expect(result.bytesWritten).toBe(41 + 1000);
    expect(result.data.toString('latin1')).toBe('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n' + 'a'.repeat(1000));
  });

  it('a corked write larger than the send buffer waits for room between its chunks and arrives whole, in order', async () => {
    const env = virtualEnvironment(6);
    const chunks = [Buffer.alloc(10, 1), Buffer.alloc(1_500_000, 2), Buffer.alloc(0), Buffer.alloc(700_000, 3), Buffer.alloc(5, 4)];
    const result = await env.run(async () => {
      const { ended } = collectingServer(env);
      const socket = env.clientNet.connect({ port: 80, host: '10.0.0.2', noDelay: true });
      await once(socket, 'connect');
      let done = 0;
      socket.cork();
      for (const chunk of chunks) socket.write(chunk, () => done++);
      socket.uncork();
      socket.end();
      const data = await ended;
      return { data, done };
    });
    expect(result.done).toBe(chunks.length);
    expect(result.data.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('chunks written while connecting are counted by bytesWritten and sent once connected', async () => {
    const env = virtualEnvironment(7);
    const result = await env.run(async () => {
      const { ended } = collectingServer(env);
      const socket = env.clientNet.connect({ port: 80, host: '10.0.0.2' });
      socket.cork();
      socket.write('one ');
      socket.write(Buffer.from('two '));
      socket.write('three', 'latin1');
      socket.uncork();
      const whileConnecting = socket.bytesWritten;
      socket.end();
      return { whileConnecting, data: (await ended).toString() };
    });
    expect(result.whileConnecting).toBe(13);
    expect(result.data).toBe('one two three');
  });
});
