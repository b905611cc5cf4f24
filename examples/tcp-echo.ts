/**
 * The echo server and client of the seed notes ("Creating an echo client-server: single
 * connection, multi connection, multi-threaded"), over Berkeley sockets on a ustack stack.
 * Node has one thread, so "multi-threaded" becomes many connections served at once on one
 * event loop: each accepted connection gets its own async task.
 */
import { ErrnoError } from '../src/core/errno.js';
import * as C from '../src/socket-api/berkeley-constants.js';
import type { BerkeleySockets } from '../src/socket-api/berkeley.js';
import { acceptLoop, listenTcp } from './server-socket.js';

/** The well-known echo port (RFC 862). */
export const ECHO_PORT = 7;

/** How the server takes connections. */
export type EchoMode = 'single' | 'sequential' | 'concurrent';

/** Echoes one connection until the client closes (recv returns no bytes). Returns bytes echoed. */
export async function echoConnection(api: BerkeleySockets, fd: number): Promise<number> {
  let total = 0;
  try {
    for (;;) {
      const data = await api.recv(fd, 1024);
      if (data.length === 0) break;
      await api.send(fd, data);
      total += data.length;
    }
  } catch (error) {
    if (!(error instanceof ErrnoError)) throw error; // a reset peer ends just this connection
  } finally {
    api.close(fd);
  }
  return total;
}

/**
 * Starts an echo server. `single`: accept one connection, serve it, stop. `sequential`: serve
 * connections one after another. `concurrent`: serve every accepted connection at once.
 * Closing the returned fd stops the accept loop.
 */
export function startEchoServer(api: BerkeleySockets, mode: EchoMode, port = ECHO_PORT, family: 4 | 6 = 4): { fd: number; stopped: Promise<void> } {
  const server = listenTcp(api, port, mode === 'single' ? 1 : 128, family);
  const stopped = acceptLoop(api, server, (fd) => echoConnection(api, fd), {
    oneAtATime: mode !== 'concurrent',
    limit: mode === 'single' ? 1 : undefined,
  }).then(() => {
    if (mode === 'single') api.close(server);
  });
  return { fd: server, stopped };
}

/** The client: connect, send `message`, read until the same number of bytes came back, close. */
export async function echoClient(api: BerkeleySockets, host: string, message: Uint8Array, port = ECHO_PORT): Promise<Uint8Array> {
  const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
  try {
    await api.connect(fd, { address: host, port });
    await api.send(fd, message);
    const received = new Uint8Array(message.length);
    let filled = 0;
    while (filled < message.length) {
      const data = await api.recv(fd, message.length - filled);
      if (data.length === 0) throw new Error(`echo: the server closed after ${filled} of ${message.length} bytes`);
      received.set(data, filled);
      filled += data.length;
    }
    return received;
  } finally {
    api.close(fd);
  }
}
