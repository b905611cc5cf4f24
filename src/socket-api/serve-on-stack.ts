/**
 * Node's servers (http, https, tls, net) on a ustack stack, set up as Node sets up their
 * connections on the kernel.
 *
 * A Node server takes connections through its `connection` event, so a stack's listener can feed
 * it: `stack.net.createServer((socket) => httpServer.emit('connection', socket))`. But Node's own
 * listener does more before that event: it applies the server's socket options to every accepted
 * connection (lib/net.js onconnection) — and `http.createServer()` asks for `noDelay: true`
 * (TCP_NODELAY) and `allowHalfOpen: true`. A listener made without them hands http sockets with
 * Nagle's algorithm on (RFC 896; RFC 9293 §3.7.4): a response written as headers then body keeps
 * its body back until the client ACKs the headers, which a client that delays its ACKs
 * (RFC 1122 §4.2.3.2; Linux 40 ms) does only when its timer fires — 44 ms for a 1000-byte body
 * that takes 2 ms with TCP_NODELAY. `serveOnStack` makes the listener with the server's own
 * settings, so nothing differs from the kernel but the stack.
 */
import type { Server } from 'node:net';
import type { NetServer } from './net-server.js';
import type { Stack } from './stack.js';

/** The socket settings a Node server applies to its connections (public fields of net.Server). */
interface NodeServerSettings {
  /** TCP_NODELAY on each connection; `http.createServer` defaults it to true. */
  readonly noDelay?: boolean;
  /** SO_KEEPALIVE on each connection (http's `keepAlive` option; default false). */
  readonly keepAlive?: boolean;
  /** Seconds before the first keepalive probe, as Node keeps it (the option is in ms). */
  readonly keepAliveInitialDelay?: number;
  /** Half-open connections (http.Server: true; it ends the socket itself after the response). */
  readonly allowHalfOpen?: boolean;
  /** Accepted sockets start paused. */
  readonly pauseOnConnect?: boolean;
  /** Both high-water marks of accepted sockets. */
  readonly highWaterMark?: number;
}

/**
 * Listens on `stack` for `server` (an `http.Server`, `https.Server`, `tls.Server`, `net.Server`):
 * each connection the stack accepts gets the socket options `server` gives its own (TCP_NODELAY,
 * keepalive, half-open, high-water marks, pause on connect) and its `maxConnections`, then goes
 * to `server` through its `connection` event; the listener's `listening` and `error` go to
 * `server` too. `listenArgs` are `net.Server.listen`'s (`80`, `{ port: 80, host: '10.0.0.2' }`).
 * Returns the stack's listener: close it and `server` (which closes its idle connections; its
 * `closeAllConnections()` the others) to stop.
 */
export function serveOnStack(stack: Stack, server: Server, ...listenArgs: unknown[]): NetServer {
  const settings = server as Server & NodeServerSettings;
  const listener = stack.net.createServer(
    {
      noDelay: settings.noDelay ?? false,
      keepAlive: settings.keepAlive ?? false,
      keepAliveInitialDelay: (settings.keepAliveInitialDelay ?? 0) * 1000,
      allowHalfOpen: settings.allowHalfOpen ?? false,
      pauseOnConnect: settings.pauseOnConnect ?? false,
      highWaterMark: settings.highWaterMark,
    },
    (socket) => server.emit('connection', socket),
  );
  if (server.maxConnections !== undefined && server.maxConnections !== null) listener.maxConnections = server.maxConnections;
  // The server hears what it would hear from its own listener: 'listening' (on which http.Server
  // starts tracking its connections — without it closeAllConnections and closeIdleConnections,
  // which close() calls, find none, and the process never exits) and a failed listen's 'error'.
  listener.on('listening', () => server.emit('listening'));
  listener.on('error', (error) => server.emit('error', error));
  listener.listen(...listenArgs);
  return listener;
}
