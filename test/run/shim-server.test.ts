/**
 * The shim server on its own, spoken to as native/preload.c speaks (src/run/protocol.ts): a
 * socket request answered, Linux's errno for a bad call, and input that is not the library's —
 * an oversized request, an unknown socket's data connection, a UDP frame longer than any
 * datagram — closes that connection and nothing else (it is not thrown past the server, and
 * nothing is buffered without bound).
 */
import { mkdtempSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Errno } from '../../src/core/errno.js';
import { HELLO_CONTROL, HELLO_DATA, Op, RESPONSE_BYTES } from '../../src/run/protocol.js';
import { ShimServer } from '../../src/run/shim-server.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function serve(): Promise<{ server: ShimServer; path: string; logs: string[] }> {
  const stack = new Stack({ seed: 5 });
  const driver = new RealtimeDriver(stack).start();
  const path = join(mkdtempSync(join(tmpdir(), 'ustack-shim-')), 's');
  const logs: string[] = [];
  const server = new ShimServer(stack, { socketPath: path, log: (line) => logs.push(line) });
  await server.listen();
  cleanups.push(() => {
    server.close();
    driver.stop();
  });
  return { server, path, logs };
}

function hello(kind: number, id: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(kind, 0);
  out.writeInt32LE(id, 4);
  return out;
}

function request(op: number, id = 0, a = 0, b = 0, payload = Buffer.alloc(0), declaredLength = payload.length): Buffer {
  const out = Buffer.alloc(32);
  out.writeUInt32LE(op, 0);
  out.writeInt32LE(id, 4);
  out.writeInt32LE(a, 8);
  out.writeInt32LE(b, 12);
  out.writeUInt32LE(declaredLength, 28);
  return Buffer.concat([out, payload]);
}

async function open(path: string): Promise<Socket> {
  const socket = createConnection(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  cleanups.push(() => socket.destroy());
  return socket;
}

function response(socket: Socket): Promise<{ result: number; error: number }> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < RESPONSE_BYTES) return;
      socket.off('data', onData);
      resolve({ result: buffer.readInt32LE(0), error: buffer.readInt32LE(4) });
    };
    socket.on('data', onData);
  });
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('the shim server, spoken to as the library speaks', () => {
  it('answers socket() with a descriptor and listen() on a UDP socket with EOPNOTSUPP', async () => {
    const { path } = await serve();
    const control = await open(path);
    control.write(hello(HELLO_CONTROL, process.pid));
    control.write(request(Op.SOCKET, 0, 1, 0));
    const stream = await response(control);
    expect(stream).toEqual({ result: expect.any(Number), error: 0 });
    expect(stream.result).toBeGreaterThanOrEqual(3);
    control.write(request(Op.SOCKET, 0, 2, 0));
    const datagram = await response(control);
    control.write(request(Op.LISTEN, datagram.result, 1));
    expect((await response(control)).error).toBe(Errno.EOPNOTSUPP);
  });

  it('closes a control connection whose request claims a huge payload, and serves the next one', async () => {
    const { path, logs } = await serve();
    const hostile = await open(path);
    hostile.write(hello(HELLO_CONTROL, 1));
    hostile.write(request(Op.RESOLVE, 0, 0, 0, Buffer.alloc(0), 1_000_000_000));
    await closed(hostile);
    expect(logs.join('\n')).toMatch(/a request of 1000000000 bytes: closed/);
    const control = await open(path);
    control.write(hello(HELLO_CONTROL, 2));
    control.write(request(Op.SOCKET, 0, 1, 0));
    expect((await response(control)).error).toBe(0);
  });

  it('closes a data connection naming no socket, and one whose UDP frame is longer than any datagram', async () => {
    const { path, logs } = await serve();
    const stray = await open(path);
    stray.write(hello(HELLO_DATA, 999));
    await closed(stray);
    expect(logs.join('\n')).toMatch(/socket 999, which is unknown/);
    const control = await open(path);
    control.write(hello(HELLO_CONTROL, 3));
    control.write(request(Op.SOCKET, 0, 2, 0));
    const { result: id } = await response(control);
    const data = await open(path);
    data.write(hello(HELLO_DATA, id));
    const frame = Buffer.alloc(12);
    frame.writeUInt32LE(70_000, 0);
    data.write(frame);
    await closed(data);
    expect(logs.join('\n')).toMatch(/a frame of 70000 bytes is not a datagram/);
  });
});
