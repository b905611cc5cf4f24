import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, FrameError, KV_MAX_BODY } from '../../examples/kv-rpc/framing.js';
import { kvCall, startKvServer } from '../../examples/kv-rpc/kv.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';

let driver: RealtimeDriver | null = null;
afterEach(() => driver?.stop());
function host(): BerkeleySockets {
  const stack = new Stack({ name: 'kv', seed: 5 });
  driver = new RealtimeDriver(stack).start();
  return new BerkeleySockets(stack);
}

describe('the key-value RPC from the seed notes', () => {
  it('answers PUT, GET and an unknown function as the seed does', async () => {
    const api = host();
    const server = startKvServer(api);
    expect(await kvCall(api, '127.0.0.1', { func: 'PUT', params: { obj: 'k', val: { a: 1 } } })).toEqual({
      status: 'OK',
      response: { func: 'PUT', response: { obj: 'k', response: 'ok' } },
    });
    expect(await kvCall(api, '127.0.0.1', { func: 'GET', params: { obj: 'k' } })).toEqual({
      status: 'OK',
      response: { func: 'GET', response: { obj: 'k', val: { a: 1 } } },
    });
    expect(await kvCall(api, '127.0.0.1', { func: 'GET', params: { obj: 'missing' } })).toEqual({
      status: 'OK',
      response: { func: 'GET', response: { obj: 'missing', val: null } },
    });
    expect(await kvCall(api, '127.0.0.1', { func: 'DELETE', params: {} })).toEqual({
      status: 'OK',
      response: { func: 'DELETE', response: "ERROR - Function doesn't exist" },
    });
    api.close(server.fd);
    await server.stopped;
  });

  it('one recv() is not one message: a frame sent a byte at a time arrives in many segments', async () => {
    const api = host();
    const server = startKvServer(api);
    const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
    api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_NODELAY, 1);
    await api.connect(fd, { address: '127.0.0.1', port: 4444 });
    const frame = encodeFrame({ func: 'PUT', params: { obj: 'split', val: 'across segments' } });
    for (const byte of frame) await api.send(fd, new Uint8Array([byte]));
    // The seed's recv_message does recv(8) and expects the whole header: here the first recv
    // returns whatever has arrived, which is not guaranteed to be 8 bytes. Our decoder copes.
    const decoder = new FrameDecoder();
    let reply: unknown;
    while (reply === undefined) [reply] = decoder.push(await api.recv(fd, 3));
    expect(reply).toEqual({ status: 'OK', response: { func: 'PUT', response: { obj: 'split', response: 'ok' } } });
    api.close(fd);
    api.close(server.fd);
  });

  it("the seed's recv_message (one recv(8) for the header) fails when the header arrives in two segments", async () => {
    const api = host();
    const listener = api.socket(C.AF_INET, C.SOCK_STREAM);
    api.bind(listener, { address: '127.0.0.1', port: 4445 });
    api.listen(listener);
    const client = api.socket(C.AF_INET, C.SOCK_STREAM);
    api.setsockopt(client, C.IPPROTO_TCP, C.TCP_NODELAY, 1);
    await api.connect(client, { address: '127.0.0.1', port: 4445 });
    const { fd } = await api.accept(listener);
    const frame = encodeFrame({ func: 'GET', params: { obj: 'k' } });
    await api.send(client, frame.subarray(0, 3));
    await api.poll([{ fd, events: C.POLLIN }], 1000);
    // header = conn.recv(8); if len(header) < 8: return None  — the seed gives up here.
    const header = await api.recv(fd, 8);
    expect(header.length).toBe(3);
    await api.send(client, frame.subarray(3));
    // A decoder that keeps what it has and waits for the rest reads the message intact.
    const decoder = new FrameDecoder();
    let messages = decoder.push(header);
    while (messages.length === 0) messages = decoder.push(await api.recv(fd, 8));
    expect(messages).toEqual([{ func: 'GET', params: { obj: 'k' } }]);
  });

  it('the decoder joins split frames and splits joined ones, byte by byte', () => {
    const frames = [encodeFrame({ n: 1 }), encodeFrame({ n: 2, s: 'two' }), encodeFrame([3])];
    const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      stream.set(f, at);
      at += f.length;
    }
    const decoder = new FrameDecoder();
    const out: unknown[] = [];
    for (const byte of stream) out.push(...decoder.push(new Uint8Array([byte])));
    expect(out).toEqual([{ n: 1 }, { n: 2, s: 'two' }, [3]]);
    expect(new FrameDecoder().push(stream)).toEqual(out);
  });

  it('refuses oversized and malformed frames with a clear error', () => {
    const oversized = new Uint8Array(8);
    new DataView(oversized.buffer).setInt32(0, 1, true);
    new DataView(oversized.buffer).setInt32(4, KV_MAX_BODY + 1, true);
    expect(() => new FrameDecoder().push(oversized)).toThrow(FrameError);
    const bad = encodeFrame('x');
    bad[8] = 0x7b; // '{' — no longer JSON
    expect(() => new FrameDecoder().push(bad)).toThrow(/malformed JSON/);
    const version = encodeFrame(1);
    version[0] = 9;
    expect(() => new FrameDecoder().push(version)).toThrow(/unsupported version 9/);
  });

  it('the server replies with an error and closes on a malformed frame', async () => {
    const api = host();
    const server = startKvServer(api);
    const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
    await api.connect(fd, { address: '127.0.0.1', port: 4444 });
    const bad = encodeFrame('x');
    bad[8] = 0x7b;
    await api.send(fd, bad);
    const decoder = new FrameDecoder();
    let reply: unknown;
    while (reply === undefined) [reply] = decoder.push(await api.recv(fd, 4096));
    expect(reply).toMatchObject({ status: 'ERROR' });
    expect((await api.recv(fd, 10)).length).toBe(0);
    api.close(fd);
    api.close(server.fd);
  });
});
