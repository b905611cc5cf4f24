/**
 * `net.Server` over a ustack TCP listener. As in Node: `listen()` binds at once (SO_REUSEADDR,
 * as libuv sets it) and reports `listening` or `error` on the next tick; every accepted
 * connection becomes a `net.Socket` and a `connection` event; `close()` stops listening at once
 * and emits `close` when the last accepted socket is gone.
 *
 * Without a host the server listens on 0.0.0.0 (Node would try `::` first; this stack is IPv4).
 */
import { EventEmitter } from 'node:events';
import type { BlockList } from 'node:net';
import type { TcpBinding, TcpListener } from '../tcp/tcp-layer.js';
import type { TcpConnection } from '../tcp/connection.js';
import { codedError, invalidArgValue, nodeErrors, uvExceptionWithHostPort, validateAbortSignal, validateNumber, validatePort } from './node-errors.js';
import { kConnection, kContext, isPipeName, normalizeArgs, toNumber, type NetSocket, type NetSocketOptions } from './net-socket.js';
import { kIpv6Server } from './net-args.js';
import { addressInfo, blocks, toStackAddress, validateBlockList, type NodeModuleContext } from './node-support.js';

/** Options of `net.createServer()`. */
export interface NetServerOptions {
  /** Accepted sockets keep their writable side open after the peer's FIN. Default false. */
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused, not reading. Default false. */
  pauseOnConnect?: boolean;
  /** Accepted sockets get `setNoDelay(true)` (TCP_NODELAY). Default false. */
  noDelay?: boolean;
  /** Accepted sockets get `setKeepAlive(true, keepAliveInitialDelay)`. Default false. */
  keepAlive?: boolean;
  /** Idle time in ms before the first keepalive probe of an accepted socket; whole seconds count. Default 0. */
  keepAliveInitialDelay?: number;
  /** The readable and writable high-water mark (bytes) of accepted sockets. Default 16384. */
  highWaterMark?: number;
  /** Connections from addresses it blocks are closed unseen (Node 22.13+). */
  blockList?: BlockList;
}

/** Options of `server.listen()`. */
export interface NetListenOptions {
  /** The port to listen on; 0, null or absent: an ephemeral one (see `address()`). */
  port?: number | string | null;
  /** The address to listen on, an IP literal or a name resolved first; default 0.0.0.0. */
  host?: string;
  /** Most connections waiting to be accepted (listen(2)'s backlog); default 511, as Node. */
  backlog?: number;
  /** Node: do not share the handle with cluster workers. Ignored: there is no cluster here. */
  exclusive?: boolean;
  /** An IPC path. Not available in a user-space stack: throws ERR_FEATURE_UNAVAILABLE_ON_PLATFORM. */
  path?: string;
  /** Aborting it closes the server. */
  signal?: AbortSignal;
  /** Listening on `::`: IPv6 only, no IPv4 clients as ::ffff:a.b.c.d (IPV6_V6ONLY). */
  ipv6Only?: boolean;
  /**
   * SO_REUSEPORT (Node 22.12+/23.1): several servers that all set it may listen on one address
   * and port; each new connection goes to one of them by a hash of its 4-tuple (tcp-layer.ts).
   */
  reusePort?: boolean;
}

/** The socket options `listen()` sets before binding. */
interface ListenFlags {
  readonly ipv6Only: boolean;
  readonly reusePort: boolean;
}

/** What the server needs from its stack's net module: the Socket class to wrap connections in. */
export interface NetServerContext extends NodeModuleContext {
  readonly socketClass: new (options: NetSocketOptions) => NetSocket;
}

/** Node's `net.Server` for one stack (each stack's module subclasses it with its context). */
export class NetServer extends EventEmitter {
  /** The per-stack context; set on each stack's subclass. */
  static [kContext]: NetServerContext | undefined;

  /** Accepted sockets not yet closed. */
  _connections = 0;
  /**
   * Refuse (close at once, with a `drop` event) connections beyond this many. As in Node 22+,
   * 0 refuses every connection; unset (or null) means no limit.
   */
  declare maxConnections?: number | null;
  /** The `blockList` option: connections from addresses it blocks are closed unseen. */
  declare blockList?: BlockList;
  /** The `allowHalfOpen` option, given to every accepted socket. */
  allowHalfOpen: boolean;
  /** The `pauseOnConnect` option: accepted sockets start paused. */
  pauseOnConnect: boolean;
  /** The `noDelay` option: accepted sockets get `setNoDelay(true)`. */
  noDelay: boolean;
  /** The `keepAlive` option: accepted sockets get `setKeepAlive(true, keepAliveInitialDelay)`. */
  keepAlive: boolean;
  /** Seconds, as Node keeps it. */
  keepAliveInitialDelay: number;
  /** The `highWaterMark` option (default 16384): both high-water marks of accepted sockets. */
  highWaterMark: number;

  readonly #context: NetServerContext;
  #listener: TcpListener | null = null;
  #binding: TcpBinding | null = null;
  #listeningId = 1;
  #unref = false;
  #acceptQueued = false;
  /** `family:address:requested port`, as Node keys a listening server (set by listen). */
  declare _connectionKey?: string;

  /** As `net.createServer(options, connectionListener)`. */
  constructor(options?: NetServerOptions | ((socket: NetSocket) => void), connectionListener?: (socket: NetSocket) => void) {
    super();
    const context = (new.target as typeof NetServer)[kContext];
    if (!context) throw new Error("ustack: create servers through a stack's net module (stack.net.createServer)");
    this.#context = context;
    let given: NetServerOptions;
    if (typeof options === 'function') {
      given = {};
      this.on('connection', options);
    } else if (options == null || typeof options === 'object') {
      given = { ...options };
      if (typeof connectionListener === 'function') this.on('connection', connectionListener);
    } else {
      throw codedError(
        'ERR_INVALID_ARG_TYPE',
        `The "options" argument must be of type object. Received type ${typeof options} (${String(options)})`,
        TypeError,
      );
    }
    if (given.keepAliveInitialDelay !== undefined) {
      validateNumber(given.keepAliveInitialDelay, 'options.keepAliveInitialDelay');
      if (given.keepAliveInitialDelay < 0) given.keepAliveInitialDelay = 0;
    }
    if (given.highWaterMark !== undefined) {
      validateNumber(given.highWaterMark, 'options.highWaterMark');
      if (given.highWaterMark < 0) given.highWaterMark = undefined;
    }
    this.allowHalfOpen = given.allowHalfOpen || false;
    this.pauseOnConnect = Boolean(given.pauseOnConnect);
    this.noDelay = Boolean(given.noDelay);
    this.keepAlive = Boolean(given.keepAlive);
    this.keepAliveInitialDelay = ~~((given.keepAliveInitialDelay ?? 0) / 1000);
    this.highWaterMark = given.highWaterMark ?? 16384;
    const blockList = validateBlockList(given.blockList, 'options.blockList');
    if (blockList) this.blockList = blockList;
  }

  /** `listen([port][, host][, backlog][, cb])` or `listen(options[, cb])`. */
  listen(...args: unknown[]): this {
    const [normalized, callback] = normalizeArgs(args);
    if (this.#listener) throw nodeErrors.serverAlreadyListen();
    if (callback !== null) this.once('listening', callback);
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
    const options = { ...(normalized as NetListenOptions) };
    this.#listeningId++;
    if (
      (normalized as { handle?: unknown; _handle?: unknown; fd?: unknown }).handle ||
      (normalized as { _handle?: unknown })._handle ||
      typeof (normalized as { fd?: unknown }).fd === 'number'
    ) {
      throw codedError(
        'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM',
        'ustack: listening on an existing handle or file descriptor is not available in a user-space stack',
      );
    }
    validateAbortSignal(options.signal, 'options.signal');
    if (options.signal) this.#watchSignal(options.signal);
    if (args.length === 0 || typeof args[0] === 'function' || (options.port === undefined && 'port' in options) || options.port === null) options.port = 0;
    if (typeof options.port === 'number' || typeof options.port === 'string') {
      const port = validatePort(options.port, 'options.port');
      const backlog = options.backlog || backlogFromArgs || 0;
      const flags = { ipv6Only: Boolean(options.ipv6Only), reusePort: Boolean(options.reusePort) };
      if (options.host) this.#lookupAndListen(port, options.host, backlog, flags);
      else this.#setupListen('0.0.0.0', port, backlog, flags);
      return this;
    }
    if (options.path && isPipeName(options.path)) {
      throw codedError('ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', 'ustack: IPC paths (Unix sockets, pipes) are not available in a user-space TCP/IP stack');
    }
    if (!('port' in options || 'path' in options)) throw invalidArgValue('options', normalized, 'must have the property "port" or "path"');
    throw invalidArgValue('options', normalized);
  }

  #watchSignal(signal: AbortSignal): void {
    const onAbort = () => this.close();
    if (signal.aborted) process.nextTick(onAbort);
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      this.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }

  #lookupAndListen(port: number, host: string, backlog: number, flags: ListenFlags): void {
    const listeningId = this.#listeningId;
    this.#context.lookup(host, {}, (error, ip) => {
      if (listeningId !== this.#listeningId) return;
      if (error) this.emit('error', error);
      else this.#setupListen((ip as string) || '0.0.0.0', port, backlog, flags);
    });
  }

  #setupListen(address: string, port: number, backlog: number, flags: ListenFlags): void {
    const tcp = this.#context.stack.tcp;
    const local = toStackAddress(address);
    const fail = (code: string) => process.nextTick(() => this.emit('error', uvExceptionWithHostPort(code, 'listen', address, port)));
    if (local === null) return fail('EAFNOSUPPORT');
    // A `::` listener takes IPv4 clients too, as ::ffff:a.b.c.d, unless ipv6Only (Node's default is dual stack).
    const bound = tcp.bind(local, port, { reuseAddress: true, reusePort: flags.reusePort, ipv6Only: typeof local === 'string' && flags.ipv6Only });
    if (!bound.ok) return fail(bound.error);
    const listening = tcp.listen(local, bound.value.port, backlog || 511, undefined, bound.value);
    if (!listening.ok) {
      tcp.unbind(bound.value);
      return fail(listening.error);
    }
    this.#binding = bound.value;
    this.#listener = listening.value;
    this._connectionKey = `${typeof local === 'string' ? 6 : 4}:${address}:${port}`;
    this.#listener.onAcceptable = () => this.#scheduleAccept();
    this.#updateReference();
    process.nextTick(() => {
      if (this.#listener) this.emit('listening');
    });
  }

  #scheduleAccept(): void {
    if (this.#acceptQueued) return;
    this.#acceptQueued = true;
    process.nextTick(() => {
      this.#acceptQueued = false;
      for (let connection = this.#listener?.accept(); connection; connection = this.#listener?.accept()) this.#onConnection(connection);
    });
  }

  #onConnection(connection: TcpConnection): void {
    if (this.maxConnections != null && this._connections >= this.maxConnections) {
      const ipv6 = typeof this.#listener?.address === 'string';
      const local = addressInfo(connection.localAddress, connection.localPort, ipv6);
      const remote = addressInfo(connection.remoteAddress, connection.remotePort, ipv6);
      this.emit('drop', {
        localAddress: local.address,
        localPort: local.port,
        localFamily: local.family,
        remoteAddress: remote.address,
        remotePort: remote.port,
        remoteFamily: remote.family,
      });
      connection.close();
      return;
    }
    if (blocks(this.blockList, addressInfo(connection.remoteAddress, connection.remotePort).address)) {
      connection.close();
      return;
    }
    const socket = new this.#context.socketClass({
      [kConnection]: connection,
      [kIpv6Server]: typeof this.#listener?.address === 'string',
      allowHalfOpen: this.allowHalfOpen,
      pauseOnCreate: this.pauseOnConnect,
      readable: true,
      writable: true,
      readableHighWaterMark: this.highWaterMark,
      writableHighWaterMark: this.highWaterMark,
    });
    if (this.noDelay) socket.setNoDelay(true);
    if (this.keepAlive) socket.setKeepAlive(true, this.keepAliveInitialDelay * 1000);
    this._connections++;
    socket.server = this;
    socket._server = this;
    this.emit('connection', socket);
  }

  /** `{ address, family, port }` while listening, else null. */
  address(): {
    /** The address listened on, dotted quad (`0.0.0.0` for any). */
    address: string;
    /** Always `IPv4`. */
    family: string;
    /** The port listened on, the ephemeral one chosen when 0 was asked for. */
    port: number;
  } | null {
    const listener = this.#listener;
    return listener ? addressInfo(listener.address, listener.port) : null;
  }

  /** True while listening. */
  get listening(): boolean {
    return this.#listener !== null;
  }

  /** Stops accepting; `close` (and `callback`) once every accepted socket has closed. */
  close(callback?: (error?: Error) => void): this {
    this.#listeningId++;
    if (typeof callback === 'function') {
      if (!this.#listener) this.once('close', () => callback(nodeErrors.serverNotRunning()));
      else this.once('close', callback);
    }
    if (this.#listener) {
      this.#listener.onAcceptable = null;
      this.#listener.close();
      if (this.#binding) this.#context.stack.tcp.unbind(this.#binding);
      this.#listener = null;
      this.#binding = null;
      this.#updateReference();
    }
    this._emitCloseIfDrained();
    return this;
  }

  /** @internal Emits `close` when neither the listener nor any accepted socket is left. */
  _emitCloseIfDrained(): void {
    if (this.#listener || this._connections) return;
    process.nextTick(() => this.emit('close'));
  }

  /** Calls back (asynchronously) with the number of open accepted sockets. */
  getConnections(callback: (error: Error | null, count: number) => void): this {
    process.nextTick(callback, null, this._connections);
    return this;
  }

  /** Keeps the event loop alive while listening (the default). */
  ref(): this {
    this.#unref = false;
    this.#updateReference();
    return this;
  }

  /** Lets the process exit although the server listens. */
  unref(): this {
    this.#unref = true;
    this.#updateReference();
    return this;
  }

  #updateReference(): void {
    if (this.#listener && !this.#unref) this.#context.loop.hold(this);
    else this.#context.loop.release(this);
  }

  /** A rejected async 'connection' listener destroys that socket; others become 'error'. */
  override [EventEmitter.captureRejectionSymbol](error: Error, event: string, socket?: NetSocket): void {
    if (event === 'connection' && socket) socket.destroy(error);
    else this.emit('error', error);
  }

  /** `await using server`: closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#listener) return;
    await new Promise<void>((resolve, reject) => this.close((error) => (error ? reject(error) : resolve())));
  }
}
