/**
 * `net.Socket` over a ustack TCP connection: a real `stream.Duplex` whose readable side is fed
 * from the connection's receive queue and whose writable side hands bytes to its send buffer.
 * It follows Node's own Socket event for event (observed behaviour and the documentation are
 * the specification):
 *
 * - `connect` then `ready` when the handshake completes; `lookup` when a name was resolved;
 * - `data`, then `end` when the peer's FIN has been read; with `allowHalfOpen: false` (the
 *   default) the stream ends its own side in turn, and a later write fails with EPIPE;
 * - `close(hadError)` last, after `error` if any, on the turn after the handle closed;
 * - `write()` returns false past the high-water mark and `drain` follows; a chunk completes when
 *   the TCP send buffer has taken all of it (as a kernel socket's write does);
 * - errors are Node's: `connect ECONNREFUSED 10.0.0.2:80`, `read ECONNRESET`, `read ETIMEDOUT`.
 *
 * Everything the stack reports is taken up on the next tick (`#schedulePump`), never inside the
 * stack's processing.
 */
import { addAbortSignal, Duplex } from 'node:stream';
import { IPV4_ANY } from '../ip/address.js';
import type { TcpConnection } from '../tcp/connection.js';
import { transmitPending } from '../tcp/output.js';
import { armKeepalive } from '../tcp/timers.js';
import {
  errnoException,
  exceptionWithHostPort,
  invalidArgValue,
  nodeErrors,
  outOfRange,
  validateFunction,
  validateAbortSignal,
  validateNumber,
  validateString,
  codedError,
  type NodeSystemError,
} from './node-errors.js';
import { lookupAndConnect } from './net-connect.js';
import { kConnection, kInternalConnect, kNormalized, kTouch, normalizeArgs, type NetSocketOptions, type NormalizedArgs } from './net-args.js';
import { IdleTimer } from './idle-timer.js';
import { addressInfo, toIpv4, type NodeModuleContext } from './node-support.js';

export { kConnection, normalizeArgs, isPipeName, toNumber, type NetConnectOptions, type NetSocketOptions } from './net-args.js';

/** Static key under which a per-stack subclass stores its context. */
export const kContext = Symbol('ustack.net.context');
/** Largest chunk one read hands to the stream (libuv reads 64 KiB at a time). */
const READ_CHUNK = 65536;

/** What a connect attempt was aimed at (for the error it may end with). */
interface ConnectRequest {
  readonly address: string;
  readonly port: number;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
}

/** A chunk being handed to the send buffer. */
interface WriteInProgress {
  readonly data: Uint8Array;
  offset: number;
  readonly callback: (error?: Error | null) => void;
}

type SocketAddressInfo = { address?: string; family?: string; port?: number };

/** Server bookkeeping a socket updates when it is destroyed. */
export interface SocketOwner {
  _connections: number;
  _emitCloseIfDrained(): void;
}

/** Node's `net.Socket` for one stack (each stack's module subclasses it with its context). */
export class NetSocket extends Duplex {
  /** The per-stack context; set on each stack's subclass. */
  static [kContext]: NodeModuleContext | undefined;

  /** True from `connect()` until the handshake completes or fails. */
  connecting = false;
  /** The server that accepted this socket, if any. */
  server: SocketOwner | null = null;
  _server: SocketOwner | null = null;
  /** The hostname being connected to, when one was resolved. */
  _host: string | null = null;
  /** The idle timeout last given to setTimeout (Node sets it there). */
  declare timeout?: number;
  /** Node marks a socket whose abort signal fired. */
  declare _aborted?: boolean;

  readonly #context: NodeModuleContext;
  #connection: TcpConnection | null = null;
  /** Node's `_handle !== null`: from connect() (or accept) until destroy. */
  #hasHandle = false;
  /** The handle is reading (libuv readStart): data is moved into the stream as it arrives. */
  #reading = false;
  #pumpQueued = false;
  #handshakeDone = false;
  #eofPushed = false;
  #bytesRead = 0;
  #bytesDispatched = 0;
  #pendingData: Uint8Array | string | null = null;
  #pendingEncoding: BufferEncoding | '' = '';
  #write: WriteInProgress | null = null;
  #request: ConnectRequest | null = null;
  #peername: SocketAddressInfo | null = null;
  #sockname: SocketAddressInfo | null = null;
  #noDelay: boolean;
  #keepAlive: boolean;
  /** Keepalive idle time in seconds, as Node keeps it. */
  #keepAliveDelay: number;
  readonly #idle: IdleTimer;
  #resetAndClosing = false;
  #referenced = true;
  /** The `onread` option: reads go into this buffer and to the callback instead of 'data'. */
  #onreadBuffer: Uint8Array | null = null;
  #onreadGenerator: (() => Uint8Array) | null = null;
  #onreadCallback: ((bytes: number, buffer: Uint8Array) => unknown) | null = null;

  constructor(options: NetSocketOptions | number = {}) {
    if (typeof options === 'number') options = { fd: options };
    const given: NetSocketOptions = { ...options };
    if (given.objectMode) throw invalidArgValue('options.objectMode', given.objectMode, 'is not supported');
    if (given.readableObjectMode || given.writableObjectMode) {
      const name = given.readableObjectMode ? 'readableObjectMode' : 'writableObjectMode';
      throw invalidArgValue(`options.${name}`, given.readableObjectMode || given.writableObjectMode, 'is not supported');
    }
    if (given.keepAliveInitialDelay !== undefined) {
      validateNumber(given.keepAliveInitialDelay, 'options.keepAliveInitialDelay');
      if (given.keepAliveInitialDelay < 0) given.keepAliveInitialDelay = 0;
    }
    const { signal, ...streamOptions } = given;
    super({ ...streamOptions, allowHalfOpen: Boolean(given.allowHalfOpen), emitClose: false, autoDestroy: true, decodeStrings: false });
    const context = (new.target as typeof NetSocket)[kContext];
    if (!context) throw new Error('ustack: create sockets through a stack\'s net module (stack.net.Socket)');
    this.#context = context;
    this.#idle = new IdleTimer(context, () => {
      if (!this.destroyed) this.emit('timeout');
    });
    if (given.fd !== undefined) throw codedError('ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', 'ustack: sockets on file descriptors are not available in a user-space stack');
    this.#noDelay = Boolean(given.noDelay);
    this.#keepAlive = Boolean(given.keepAlive);
    this.#keepAliveDelay = ~~((given.keepAliveInitialDelay ?? 0) / 1000);
    this.on('end', onReadableStreamEnd);
    const onread = given.onread;
    if (onread !== null && typeof onread === 'object' && (onread.buffer instanceof Uint8Array || typeof onread.buffer === 'function') && typeof onread.callback === 'function') {
      if (typeof onread.buffer === 'function') this.#onreadGenerator = onread.buffer;
      else this.#onreadBuffer = onread.buffer;
      this.#onreadCallback = onread.callback;
    }

    const accepted = given[kConnection];
    if (accepted) {
      this.#hasHandle = true;
      this.#nextOnreadBuffer();
      this.#handshakeDone = true;
      this.#adopt(accepted);
      this.#updateReference();
      if (given.readable !== false) {
        if (given.pauseOnCreate) {
          this.#reading = false;
          (this as unknown as { readableFlowing: boolean }).readableFlowing = false;
        } else {
          this.read(0);
        }
      }
    }
    // After the fields exist: an aborted signal destroys the socket at once.
    validateAbortSignal(signal, 'options.signal');
    if (signal) {
      addAbortSignal(signal, this);
      // Node notes the abort for its connect attempts, and listens from the next tick on.
      if (signal.aborted) process.nextTick(() => (this._aborted = true));
      else process.nextTick(() => signal.addEventListener('abort', () => (this._aborted = true), { once: true }));
    }
  }

  /** With `onread.buffer` a function, each read gets a fresh buffer from it. */
  #nextOnreadBuffer(): void {
    if (!this.#onreadGenerator) return;
    const next = this.#onreadGenerator();
    if (next instanceof Uint8Array) this.#onreadBuffer = next;
  }

  // ---- connecting --------------------------------------------------------------------------

  /** `connect(port[, host][, cb])` / `connect(options[, cb])`. */
  connect(...args: unknown[]): this {
    const normalized = Array.isArray(args[0]) && (args[0] as NormalizedArgs)[kNormalized] ? (args[0] as NormalizedArgs) : normalizeArgs(args);
    const [options, callback] = normalized;
    if (callback !== null) this.once('connect', callback);
    if (options.port === undefined && options.path == null) throw nodeErrors.missingConnectArgs();
    if (Object.prototype.hasOwnProperty.call(this, 'write')) delete (this as { write?: unknown }).write;
    if (this.destroyed) {
      this.#hasHandle = false;
      this.#connection = null;
      this.#peername = null;
      this.#sockname = null;
    }

    if (!this.#hasHandle) {
      this.#hasHandle = true;
      (this as unknown as { _undestroy(): void })._undestroy();
      this.#sockname = null;
      this.#handshakeDone = false;
      this.#eofPushed = false;
      this.#reading = false;
      // A new handle counts from zero (Node reads these from the handle).
      this.#bytesRead = 0;
      this.#bytesDispatched = 0;
      this.#nextOnreadBuffer();
    }
    this.#touch();
    this.connecting = true;
    this.#updateReference();
    if (options.path) {
      // A user-space TCP/IP stack has no Unix-domain sockets: nothing listens at any path.
      validateString(options.path, 'options.path');
      const path = options.path;
      process.nextTick(() => {
        if (this.connecting) this.destroy(exceptionWithHostPort('ENOENT', 'connect', path, undefined));
      });
      return this;
    }
    lookupAndConnect(this, options, this.#context);
    return this;
  }

  /** @internal Activity for the idle timer (used by the connect path in net-connect.ts). */
  [kTouch](): void {
    this.#touch();
  }

  /** @internal Opens the TCP connection to a resolved address (Node's internalConnect). */
  [kInternalConnect](address: string, port: number, addressType: number, localAddress: string | undefined, localPort: number | undefined): void {
    this.#internalConnect(address, port, addressType, localAddress, localPort);
  }

  #internalConnect(address: string, port: number, addressType: number, localAddress: string | undefined, localPort: number | undefined): void {
    const tcp = this.#context.stack.tcp;
    let bindAddress: string | undefined;
    let bindPort = 0;
    if (localAddress || localPort) {
      bindAddress = localAddress || '0.0.0.0';
      const local = toIpv4(bindAddress);
      // libuv binds with SO_REUSEADDR; a port held by a listener still refuses.
      const bound = local === null ? null : tcp.bind(local, localPort ?? 0, { reuseAddress: true });
      if (!bound || !bound.ok) {
        this.destroy(exceptionWithHostPort(bound ? bound.error : 'EAFNOSUPPORT', 'bind', bindAddress, localPort));
        return;
      }
      bindPort = bound.value.port;
      tcp.unbind(bound.value);
    }
    this.emit('connectionAttempt', address, port, addressType);
    this.#request = { address, port, localAddress: bindAddress, localPort };
    const remote = addressType === 4 ? toIpv4(address) : null;
    const opened =
      remote === null
        ? ({ ok: false, error: 'EAFNOSUPPORT' } as const)
        : tcp.connect(remote, port, {
            localAddress: bindAddress === undefined ? undefined : (toIpv4(bindAddress) ?? IPV4_ANY),
            localPort: bindPort || undefined,
            configure: (connection) => this.#configure(connection),
          });
    if (!opened.ok) {
      const local = `${bindAddress ?? '0.0.0.0'}:${bindPort}`;
      this.destroy(exceptionWithHostPort(opened.error, 'connect', address, port, local));
      return;
    }
    this.#adopt(opened.value);
  }

  #configure(connection: TcpConnection): void {
    if (this.#noDelay) connection.options.noDelay = true;
  }

  /** Takes over a connection: every event it reports is taken up on the next tick. */
  #adopt(connection: TcpConnection): void {
    this.#connection = connection;
    const wake = () => this.#schedulePump();
    connection.events = {
      onConnect: () => {
        this.#handshakeDone = true;
        wake();
      },
      onReadable: wake,
      onWritable: wake,
      onClose: wake,
    };
    if (this.#handshakeDone) {
      if (this.#noDelay) connection.options.noDelay = true;
      if (this.#keepAlive) this.#applyKeepAlive(connection);
    }
    this.#updateReference();
  }

  #schedulePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    process.nextTick(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  /** Catches up with the connection: handshake, queued writes, received data, EOF, errors. */
  #pump(): void {
    const connection = this.#connection;
    if (!connection || this.destroyed) return;
    if (this.connecting) {
      if (this.#handshakeDone) this.#afterConnect(connection);
      else if (connection.state === 'CLOSED') this.#connectFailed(connection.error ?? 'ECONNREFUSED');
      if (this.connecting || this.destroyed || this.#connection !== connection) return;
    }
    this.#continueWrite(false);
    while (this.#reading && connection.readableBytes > 0 && !this.destroyed) {
      const buffer = this.#onreadBuffer;
      if (buffer && this.#onreadCallback) {
        const data = connection.receive(Math.min(READ_CHUNK, buffer.length));
        buffer.set(data);
        this.#bytesRead += data.length;
        this.#touch();
        const more = this.#onreadCallback.call(this, data.length, buffer) !== false;
        this.#nextOnreadBuffer();
        if (!more) this.#reading = false;
        continue;
      }
      const data = connection.receive(READ_CHUNK);
      this.#bytesRead += data.length;
      this.#touch();
      if (!this.push(Buffer.from(data))) this.#reading = false;
    }
    if (this.#reading && connection.endOfStream && !this.#eofPushed && !this.destroyed) {
      this.#eofPushed = true;
      this.push(null);
      this.read(0);
    }
    if (connection.state === 'CLOSED' && connection.error && !this.destroyed && this.#connection === connection) {
      this.destroy(errnoException(connection.error, 'read'));
    }
    this.#updateReference();
  }

  #afterConnect(connection: TcpConnection): void {
    this.connecting = false;
    this.#sockname = null;
    this.#touch();
    if (this.#noDelay) connection.options.noDelay = true;
    if (this.#keepAlive) this.#applyKeepAlive(connection);
    this.emit('connect');
    this.emit('ready');
    if (!this.isPaused()) this.read(0);
  }

  #connectFailed(code: string): void {
    const request = this.#request!;
    const local = request.localAddress && request.localPort ? `${request.localAddress}:${request.localPort}` : undefined;
    const error: NodeSystemError = exceptionWithHostPort(code, 'connect', request.address, request.port, local);
    if (local) {
      error.localAddress = request.localAddress;
      error.localPort = request.localPort;
    }
    this.emit('connectionAttemptFailed', request.address, request.port, 4, error);
    this.destroy(error);
  }

  // ---- the stream's side -------------------------------------------------------------------

  override _read(_size: number): void {
    if (this.connecting || !this.#connection) {
      this.once('connect', () => this._read(_size));
    } else if (!this.#reading) {
      this.#startReading();
    }
  }

  override _write(chunk: Uint8Array | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      this.#pendingData = chunk;
      this.#pendingEncoding = encoding;
      const onClose = () => callback(nodeErrors.socketClosedBeforeConnection());
      this.once('connect', () => {
        this.off('close', onClose);
        this._write(chunk, encoding, callback);
      });
      this.once('close', onClose);
      return;
    }
    this.#pendingData = null;
    this.#pendingEncoding = '';
    if (!this.#connection) {
      callback(nodeErrors.socketClosed());
      return;
    }
    this.#touch();
    const data = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    this.#bytesDispatched += data.length;
    this.#write = { data, offset: 0, callback };
    this.#continueWrite(true);
    this.#updateReference();
  }

  /** Moves as much of the chunk being written as fits into the send buffer. */
  #continueWrite(synchronous: boolean): void {
    const write = this.#write;
    const connection = this.#connection;
    if (!write || !connection) return;
    while (write.offset < write.data.length) {
      const sent = connection.send(write.data.subarray(write.offset));
      if (!sent.ok) {
        this.#write = null;
        write.callback(errnoException(sent.error, 'write'));
        return;
      }
      if (sent.value === 0) break;
      write.offset += sent.value;
    }
    if (write.offset < write.data.length) return;
    this.#write = null;
    if (!synchronous) this.#touch();
    write.callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.pending) {
      this.once('connect', () => this._final(callback));
      return;
    }
    const connection = this.#connection;
    if (!connection || connection.state === 'CLOSED') {
      callback();
      return;
    }
    connection.shutdownWrite();
    // libuv completes a shutdown asynchronously but within the same loop iteration: after the
    // ticks already queued, before any immediate.
    queueMicrotask(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.connecting = false;
    this.#idle.stop();
    if (this.#hasHandle) {
      const isException = Boolean(error);
      this.#hasHandle = false;
      this.#sockname = null;
      const connection = this.#connection;
      this.#connection = null;
      this.#write = null;
      if (connection) {
        connection.events = {};
        if (this.#resetAndClosing) connection.abort();
        else connection.close();
      }
      this.#resetAndClosing = false;
      this.#updateReference();
      // The handle's close callback runs on a later turn, after the error (if any) was emitted.
      setImmediate(() => this.emit('close', isException));
      callback(error);
    } else {
      callback(error);
      process.nextTick(() => this.emit('close'));
    }
    const server = this._server;
    if (server) {
      server._connections--;
      server._emitCloseIfDrained();
    }
  }

  // ---- user calls --------------------------------------------------------------------------

  /** With `onread`, pausing stops reading from the connection itself (nothing is buffered). */
  override pause(): this {
    if (this.#onreadCallback && !this.connecting && this.#connection && this.#reading) {
      this.#reading = false;
      this.#updateReference();
    }
    return super.pause();
  }

  override resume(): this {
    if (this.#onreadCallback && !this.connecting && this.#connection && !this.#reading) this.#startReading();
    return super.resume();
  }

  override read(size?: number): unknown {
    if (this.#onreadCallback && !this.connecting && this.#connection && !this.#reading) this.#startReading();
    return super.read(size);
  }

  #startReading(): void {
    this.#reading = true;
    this.#updateReference();
    this.#schedulePump();
  }

  /** Ends the writable side; returns the socket. */
  override end(...args: unknown[]): this {
    (Duplex.prototype.end as (...a: unknown[]) => unknown).apply(this, args);
    return this;
  }

  /** Closes the connection with a RST (SO_LINGER 0), then destroys the socket. */
  resetAndDestroy(): this {
    if (this.#hasHandle) {
      if (this.connecting) this.once('connect', () => this.#reset());
      else this.#reset();
    } else {
      this.destroy(nodeErrors.socketClosed());
    }
    return this;
  }

  #reset(): void {
    this.#resetAndClosing = true;
    this.destroy();
  }

  /** Ends the socket and destroys it once everything was written. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** TCP_NODELAY (true when called without an argument). */
  setNoDelay(enable?: boolean): this {
    const value = enable === undefined ? true : Boolean(enable);
    if (value === this.#noDelay) return this;
    this.#noDelay = value;
    const connection = this.#connection;
    if (connection && this.#handshakeDone) {
      connection.options.noDelay = value;
      if (value && connection.state !== 'CLOSED') transmitPending(connection, this.#context.now());
    }
    return this;
  }

  /** SO_KEEPALIVE, with the idle time before the first probe (ms, rounded down to seconds). */
  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    const value = Boolean(enable);
    const delay = ~~((initialDelay as number) / 1000);
    if (value === this.#keepAlive && (!value || delay === this.#keepAliveDelay)) return this;
    this.#keepAlive = value;
    this.#keepAliveDelay = delay;
    if (this.#connection && this.#handshakeDone) this.#applyKeepAlive(this.#connection);
    return this;
  }

  #applyKeepAlive(connection: TcpConnection): void {
    connection.options.keepalive = this.#keepAlive;
    if (this.#keepAlive && this.#keepAliveDelay > 0) connection.options.keepaliveIdleMs = this.#keepAliveDelay * 1000;
    if (connection.state !== 'CLOSED') armKeepalive(connection, this.#context.now());
  }

  /**
   * Emits 'timeout' after `msecs` without activity (reads, writes, connect); 0 turns it off.
   * The timer runs in the stack's time, so on the virtual network it is virtual too.
   */
  setTimeout(msecs: number, callback?: () => void): this {
    if (this.destroyed) return this;
    this.timeout = msecs;
    validateNumber(msecs, 'msecs');
    if (msecs < 0 || !Number.isFinite(msecs)) throw outOfRange('msecs', 'a non-negative finite number', msecs);
    if (msecs === 0) {
      this.#idle.stop();
      if (callback !== undefined) {
        validateFunction(callback, 'callback');
        this.removeListener('timeout', callback);
      }
    } else {
      this.#idle.start(msecs > 0x7fffffff ? 1 : msecs);
      if (callback !== undefined) {
        validateFunction(callback, 'callback');
        this.once('timeout', callback);
      }
    }
    return this;
  }

  /** Activity (a read, a write, the handshake) restarts the idle timeout. */
  #touch(): void {
    this.#idle.touch();
  }

  /** The local end: `{ address, family, port }`, or `{}` before there is one. */
  address(): SocketAddressInfo {
    return this.#getsockname();
  }

  #getsockname(): SocketAddressInfo {
    if (!this.#hasHandle || !this.#connection) return {};
    this.#sockname ??= addressInfo(this.#connection.localAddress, this.#connection.localPort);
    return this.#sockname;
  }

  #getpeername(): SocketAddressInfo {
    if (!this.#hasHandle || !this.#connection || this.connecting) return this.#peername ?? {};
    this.#peername ??= addressInfo(this.#connection.remoteAddress, this.#connection.remotePort);
    return this.#peername;
  }

  /** Keeps the event loop alive while open (the default). */
  ref(): this {
    if (!this.#hasHandle) {
      this.once('connect', () => this.ref());
      return this;
    }
    this.#referenced = true;
    this.#updateReference();
    return this;
  }

  /** Lets the process exit even though this socket is open. */
  unref(): this {
    if (!this.#hasHandle) {
      this.once('connect', () => this.unref());
      return this;
    }
    this.#referenced = false;
    this.#updateReference();
    return this;
  }

  /**
   * A libuv stream keeps the loop alive only while it is active: connecting, reading (until
   * EOF, and not stopped for backpressure), or with a write pending. A paused socket, or one
   * whose peer has ended it, lets the process exit, in Node and here.
   */
  #updateReference(): void {
    const active = (this.connecting && this.#connection !== null) || (this.#reading && !this.#eofPushed) || this.#write !== null;
    if (this.#hasHandle && this.#referenced && active) this.#context.loop.hold(this);
    else this.#context.loop.release(this);
  }

  // ---- properties --------------------------------------------------------------------------

  /** Bytes received. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes written by the application so far, including those still buffered in the stream. */
  get bytesWritten(): number | undefined {
    const buffer = (this as unknown as { writableBuffer?: Array<{ chunk: Uint8Array | string; encoding: BufferEncoding }> }).writableBuffer;
    if (!buffer) return undefined;
    let bytes = this.#bytesDispatched;
    for (const entry of buffer) bytes += typeof entry.chunk === 'string' ? Buffer.byteLength(entry.chunk, entry.encoding) : entry.chunk.length;
    const pending = this.#pendingData;
    if (typeof pending === 'string') bytes += Buffer.byteLength(pending, (this.#pendingEncoding || 'utf8') as BufferEncoding);
    else if (pending) bytes += pending.length;
    return bytes;
  }

  /** Node's legacy name for the bytes handed to the handle. */
  get _bytesDispatched(): number {
    return this.#bytesDispatched;
  }

  get remoteAddress(): string | undefined {
    return this.#getpeername().address;
  }

  get remoteFamily(): string | undefined {
    return this.#getpeername().family;
  }

  get remotePort(): number | undefined {
    return this.#getpeername().port;
  }

  get localAddress(): string | undefined {
    return this.#getsockname().address;
  }

  get localPort(): number | undefined {
    return this.#getsockname().port;
  }

  get localFamily(): string | undefined {
    return this.#getsockname().family;
  }

  /** True before the socket is connected (no handle yet, or still connecting). */
  get pending(): boolean {
    return !this.#hasHandle || this.connecting;
  }

  get _connecting(): boolean {
    return this.connecting;
  }

  /** `opening`, `open`, `readOnly`, `writeOnly` or `closed`. */
  get readyState(): string {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  /** Deprecated alias of writableLength. */
  get bufferSize(): number | undefined {
    return this.#hasHandle ? this.writableLength : undefined;
  }

  /** The TCP connection underneath (ustack-specific: for inspection and tests). */
  get ustackConnection(): TcpConnection | null {
    return this.#connection;
  }
}

/** After the peer's FIN was read: without allowHalfOpen the socket ends too, and later writes fail with EPIPE. */
function onReadableStreamEnd(this: NetSocket): void {
  if (!this.allowHalfOpen) this.write = writeAfterFin as NetSocket['write'];
}

function writeAfterFin(this: NetSocket, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  if (!this.writableEnded) return (Duplex.prototype.write as (...a: unknown[]) => boolean).call(this, chunk, encoding, callback);
  if (typeof encoding === 'function') callback = encoding;
  const error = nodeErrors.endedByPeer();
  if (typeof callback === 'function') process.nextTick(callback as (e: Error) => void, error);
  this.destroy(error);
  return false;
}
