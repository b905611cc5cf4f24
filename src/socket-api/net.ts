/**
 * Node's `net` module over one ustack Stack (IPv4 and IPv6): the same exports, classes, events, options
 * and errors, so code written for `node:net` runs unchanged on a user-space stack — in real
 * time under a RealtimeDriver, or in virtual time on the virtual network (`runAsync`).
 *
 *     const net = stack.net;                 // or createNet(stack)
 *     const server = net.createServer((socket) => socket.pipe(socket)).listen(7);
 *     const client = net.connect(7, '127.0.0.1', () => client.end('hello'));
 *
 * The Socket lives in net-socket.ts, the Server in net-server.ts; this file binds them to a
 * stack. Host names: IP literals and `localhost`; anything else needs a `lookup` option
 * (there is no DNS client here), or fails with `getaddrinfo ENOTFOUND`.
 */
import { BlockList, SocketAddress, isIP, isIPv4, isIPv6 } from 'node:net';
import { NetServer, type NetServerContext, type NetServerOptions } from './net-server.js';
import { kContext, NetSocket, normalizeArgs, type NetConnectOptions } from './net-socket.js';
import { validateBoolean, validateInt32 } from './node-errors.js';
import { callableClass, NodeModuleContext, type CallableClass } from './node-support.js';
import type { Stack } from './stack.js';

/** The `net` module of one stack. */
export interface NetModule {
  /** `net.Socket` on this stack; callable with or without `new`. */
  readonly Socket: CallableClass<typeof NetSocket>;
  /** Node's legacy alias of Socket. */
  readonly Stream: CallableClass<typeof NetSocket>;
  /** `net.Server` on this stack; callable with or without `new`. */
  readonly Server: CallableClass<typeof NetServer>;
  /** A new Server; `connectionListener` gets each accepted socket. */
  createServer(options?: NetServerOptions | ((socket: NetSocket) => void), connectionListener?: (socket: NetSocket) => void): NetServer;
  /** A new Socket connecting as `net.connect(port, host, listener)` or `net.connect(options, listener)`. */
  connect(...args: unknown[]): NetSocket;
  /** The same as connect. */
  createConnection(...args: unknown[]): NetSocket;
  /** Node's own `net.isIP`: 4, 6 or 0. */
  isIP(input: string): number;
  /** Node's own `net.isIPv4`. */
  isIPv4(input: string): boolean;
  /** Node's own `net.isIPv6`. */
  isIPv6(input: string): boolean;
  /** Node's own `net.BlockList`, for the `blockList` options. */
  readonly BlockList: typeof BlockList;
  /** Node's own `net.SocketAddress`. */
  readonly SocketAddress: typeof SocketAddress;
  /** The default of the `autoSelectFamily` connect option (per module). */
  getDefaultAutoSelectFamily(): boolean;
  /** Sets the default of the `autoSelectFamily` connect option. */
  setDefaultAutoSelectFamily(value: boolean): void;
  /** The default of `autoSelectFamilyAttemptTimeout` (ms). */
  getDefaultAutoSelectFamilyAttemptTimeout(): number;
  /** Sets the default of `autoSelectFamilyAttemptTimeout` (ms; at least 10). */
  setDefaultAutoSelectFamilyAttemptTimeout(value: number): void;
  /** Deprecated (DEP0121): warns once, does nothing (as on every platform but Windows). */
  _setSimultaneousAccepts(handle?: unknown): void;
  /** Node exposes its argument normalizer; some code (and Node's tests) use it. */
  _normalizeArgs(args: unknown[]): unknown[];
  /** The stack underneath (ustack-specific). */
  readonly stack: Stack;
}

/** Builds the `net` module of `stack` on a shared per-stack context (see node-modules.ts). */
export function createNet(stack: Stack, context: NodeModuleContext = new NodeModuleContext(stack)): NetModule {
  class Socket extends NetSocket {
    static override [kContext] = context;
  }
  const serverContext = context as NodeModuleContext & { socketClass?: typeof Socket };
  serverContext.socketClass = Socket;
  class Server extends NetServer {
    static override [kContext] = serverContext as NetServerContext;
  }
  const SocketClass = callableClass(Socket);
  const ServerClass = callableClass(Server);

  let warnedSimultaneousAccepts = false;

  function connect(...args: unknown[]): NetSocket {
    const normalized = normalizeArgs(args);
    const options = normalized[0] as NetConnectOptions;
    const socket = new Socket(options);
    if (options.timeout) socket.setTimeout(options.timeout);
    return socket.connect(normalized);
  }

  return {
    Socket: SocketClass,
    Stream: SocketClass,
    Server: ServerClass,
    createServer: (options, connectionListener) => new Server(options, connectionListener),
    connect,
    createConnection: connect,
    isIP,
    isIPv4,
    isIPv6,
    BlockList,
    SocketAddress,
    getDefaultAutoSelectFamily: () => context.autoSelectFamily,
    setDefaultAutoSelectFamily: (value: boolean) => {
      validateBoolean(value, 'value');
      context.autoSelectFamily = value;
    },
    getDefaultAutoSelectFamilyAttemptTimeout: () => context.autoSelectFamilyAttemptTimeout,
    setDefaultAutoSelectFamilyAttemptTimeout: (value: number) => {
      validateInt32(value, 'value', 1);
      context.autoSelectFamilyAttemptTimeout = Math.max(10, value);
    },
    _setSimultaneousAccepts: () => {
      if (!warnedSimultaneousAccepts) {
        warnedSimultaneousAccepts = true;
        process.emitWarning('net._setSimultaneousAccepts() is deprecated and will be removed.', 'DeprecationWarning', 'DEP0121');
      }
    },
    _normalizeArgs: (args: unknown[]) => normalizeArgs(args),
    stack,
  };
}
