/**
 * The key-value RPC of the seed notes: `{func: "GET"|"PUT", params: {obj, val}}` in, the seed's
 * reply shapes out, over the Berkeley socket API on a ustack stack. The server answers every
 * request on a connection (the seed closes after one; we keep the connection for more, which a
 * client that sends one request and closes never notices).
 */
import { ErrnoError } from '../../src/core/errno.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import type { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { acceptLoop, listenTcp } from '../server-socket.js';
import { encodeFrame, FrameDecoder, FrameError } from './framing.js';

/** The default port of the seed's server. */
export const KV_PORT = 4444;

type Request = { func?: unknown; params?: { obj?: unknown; val?: unknown } };

/** The seed's make_call: GET and PUT on one dictionary; anything else is an error reply. */
export function makeCall(dictionary: Map<string, unknown>, message: unknown): unknown {
  const { func, params } = (message ?? {}) as Request;
  if (func === 'GET') {
    const name = String(params?.obj);
    return { func: 'GET', response: { obj: name, val: dictionary.has(name) ? dictionary.get(name) : null } };
  }
  if (func === 'PUT') {
    const name = String(params?.obj);
    dictionary.set(name, params?.val ?? null);
    return { func: 'PUT', response: { obj: name, response: 'ok' } };
  }
  return { func, response: "ERROR - Function doesn't exist" };
}

/** Serves one connection until the client closes or sends a bad frame. */
async function serveConnection(api: BerkeleySockets, fd: number, dictionary: Map<string, unknown>, log: (line: string) => void): Promise<void> {
  const decoder = new FrameDecoder();
  try {
    for (;;) {
      const data = await api.recv(fd, 4096);
      if (data.length === 0) break;
      let messages: unknown[];
      try {
        messages = decoder.push(data);
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        log(`kv server: closing a connection: ${error.message}`);
        await api.send(fd, encodeFrame({ status: 'ERROR', error: error.message }));
        break;
      }
      for (const message of messages) await api.send(fd, encodeFrame({ status: 'OK', response: makeCall(dictionary, message) }));
    }
  } catch (error) {
    if (!(error instanceof ErrnoError)) throw error;
    log(`kv server: connection ended: ${error.message}`);
  } finally {
    api.close(fd);
  }
}

/**
 * Starts the server: socket, SO_REUSEADDR, bind, listen, then accept until the socket is closed.
 * `family` 6 listens on `[::]` (IPv6 only); a second server given the first's `dictionary`
 * serves the same keys.
 */
export function startKvServer(
  api: BerkeleySockets,
  port = KV_PORT,
  log: (line: string) => void = () => {},
  options: { readonly family?: 4 | 6; readonly dictionary?: Map<string, unknown> } = {},
): { fd: number; stopped: Promise<void>; dictionary: Map<string, unknown> } {
  const dictionary = options.dictionary ?? new Map<string, unknown>();
  const fd = listenTcp(api, port, 16, options.family ?? 4);
  const stopped = acceptLoop(api, fd, (connection, peer) => {
    log(`kv server: got message from ${peer.address}:${peer.port}`);
    return serveConnection(api, connection, dictionary, log);
  });
  return { fd, stopped, dictionary };
}

/** The seed's client_do_single_call: connect, send one request, read the reply, close. */
export async function kvCall(api: BerkeleySockets, host: string, call: unknown, port = KV_PORT): Promise<unknown> {
  const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
  try {
    await api.connect(fd, { address: host, port });
    await api.send(fd, encodeFrame(call));
    const decoder = new FrameDecoder();
    for (;;) {
      const data = await api.recv(fd, 4096);
      if (data.length === 0) throw new Error('kv: the server closed without a reply');
      const [reply] = decoder.push(data);
      if (reply !== undefined) return reply;
    }
  } finally {
    api.close(fd);
  }
}
