/**
 * `net.Socket` over a ustack TCP connection: a real `stream.Duplex` over a TcpHandle (what
 * libuv's TCP handle is to Node's Socket). It follows Node's own Socket event for event
 * (observed behaviour and the documentation are the specification):
 *
 * - `connect` then `ready` when the handshake completes; `lookup` when a name was resolved;
 * - `data`, then `end` when the peer's FIN has been read; with `allowHalfOpen: false` (the
 *   default) the stream ends its own side in turn, and a later write fails with EPIPE;
 * - `close(hadError)` last, after `error` if any, on the turn after the handle closed;
 * - `write()` returns false past the high-water mark and `drain` follows; a chunk completes when
 *   the TCP send buffer has taken all of it (as a kernel socket's write does);
 * - errors are Node's: `connect ECONNREFUSED 10.0.0.2:80`, `read ECONNRESET`, `read ETIMEDOUT`.
 *
 * The handle takes up whatever the stack reports on the next tick, never inside its processing.
 */
import type { BlockList } from 'node:net';
import { addAbortSignal, Duplex } from 'node:stream';
import type { ErrnoCode } from '../core/errno.js';
import { IPV4_ANY } from '../ip/address.js';
import type { TcpConnection } from '../tcp/connection.js';
import { socketTcpInfo, type TcpInfo } from '../tcp/tcp-info.js';
import { IdleTimer } from './idle-timer.js';
import {
  kAttempt,
  kAttempts,
  kConnection,
  kInternalConnect,
  kIpv6Server,
  kNormalized,
  kReinitializeHandle,
  kTouch,
  normalizeArgs,
  type NetSocketOptions,
  type NormalizedArgs,
} from './net-args.js';
import { lookupAndConnect, type ConnectAttempts } from './net-connect.js';
import {
  codedError,
  errnoException,
  exceptionWithHostPort,
  invalidArgValue,
  nodeErrors,
  outOfRange,
  validateAbortSignal,
  validateFunction,
  validateNumber,
  validateString,
  type NodeSystemError,
} from './node-errors.js';
import { blocks, toStackAddress, toStackDestination, validateBlockList, type NodeModuleContext } from './node-support.js';
import { TcpHandle, type SocketName } from './tcp-handle.js';

export { kConnection, normalizeArgs, isPipeName, toNumber, type NetConnectOptions, type NetSocketOptions } from './net-args.js';

/** Static key under which a per-stack subclass stores its context. */
export const kContext = Symbol('ustack.net.context');
/** Largest chunk one read hands to the stream (libuv reads 64 KiB at a time). */
const READ_CHUNK = 65536;

/** What a write hands over: one chunk (`_write`) or several (`_writev`), strings in their encodings. */
type PendingWrite = Uint8Array | string | Array<{ chunk: Uint8Array | string; encoding: BufferEncoding }>;

/** A chunk's bytes: a string encoded as the write said. */
function bytesOf(chunk: Uint8Array | string, encoding: BufferEncoding): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
}

/** What a connect attempt was aimed at (for the error it may end with). */
interface ConnectRequest {
  readonly address: string;
  readonly port: number;
  /** 4 or 6, for 'connectionAttemptFailed'. */
  readonly addressType: number;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
}

type SocketAddressInfo = Partial<SocketName>;

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
  /** The same server, under the name Node's internals use. */
  _server: SocketOwner | null = null;
  /** The hostname being connected to, when one was resolved. */
  _host: string | null = null;
  /** The idle timeout last given to setTimeout (Node sets it there). */
  declare timeout?: number;
  /** Node marks a socket whose abort signal fired. */
  declare _aborted?: boolean;
  /** The `blockList` option: addresses this socket refuses to connect to. */
  declare blockList?: BlockList;
  /** Every `address:port` a family-racing connect (autoSelectFamily) tried, in order; set by such a connect only. */
  declare autoSelectFamilyAttemptedAddresses?: string[];
  /** @internal The family-racing connect under way (net-connect.ts). */
  [kAttempts]: ConnectAttempts | null = null;

  readonly #context: NodeModuleContext;
  /** Node's `_handle`: from connect() (or accept) until destroy. */
  #handle: TcpHandle | null = null;
  #request: ConnectRequest | null = null;
  #peername: SocketAddressInfo | null = null;
  #sockname: SocketAddressInfo | null = null;
  /** The counters of the last handle, readable after destroy. */
  #closedBytesRead = 0;
  #closedBytesWritten = 0;
  /** What waits for the connection: a write's chunk or a writev's chunks (counted by bytesWritten). */
  #pendingData: PendingWrite | null = null;
  #pendingEncoding: BufferEncoding | '' = '';
  #noDelay: boolean;
  #keepAlive: boolean;
  /** Keepalive idle time in seconds, as Node keeps it. */
  #keepAliveDelay: number;
  readonly #idle: IdleTimer;
  #resetAndClosing = false;
  /** The `onread` option: reads go into this buffer and to the callback instead of 'data'. */
  #onreadBuffer: Uint8Array | null = null;
  #onreadGenerator: (() => Uint8Array) | null = null;
  #onreadCallback: ((bytes: number, buffer: Uint8Array) => unknown) | null = null;

  /** As `new net.Socket(options)`. */
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
    if (!context) throw new Error("ustack: create sockets through a stack's net module (stack.net.Socket)");
    this.#context = context;
    this.#idle = new IdleTimer(context, () => {
      if (!this.destroyed) this.emit('timeout');
    });
    if (given.fd !== undefined)
      throw codedError('ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', 'ustack: sockets on file descriptors are not available in a user-space stack');
    this.#noDelay = Boolean(given.noDelay);
    this.#keepAlive = Boolean(given.keepAlive);
    this.#keepAliveDelay = ~~((given.keepAliveInitialDelay ?? 0) / 1000);
    this.on('end', onReadableStreamEnd);
    const onread = given.onread;
    if (
      onread !== null &&
      typeof onread === 'object' &&
      (onread.buffer instanceof Uint8Array || typeof onread.buffer === 'function') &&
      typeof onread.callback === 'function'
    ) {
      if (typeof onread.buffer === 'function') this.#onreadGenerator = onread.buffer;
      else this.#onreadBuffer = onread.buffer;
      this.#onreadCallback = onread.callback;
    }

    const accepted = given[kConnection];
    if (accepted) {
      this.#newHandle().adopt(accepted, given[kIpv6Server] === true);
      if (given.readable !== false) {
        if (given.pauseOnCreate) (this as unknown as { readableFlowing: boolean }).readableFlowing = false;
        else this.read(0);
      }
    }
    const blockList = validateBlockList(given.blockList, 'options.blockList');
    if (blockList) this.blockList = blockList;
    // After the fields exist: an aborted signal destroys the socket at once.
    validateAbortSignal(signal, 'options.signal');
    if (signal) {
      addAbortSignal(signal, this);
      // Node notes the abort for its connect attempts, and listens from the next tick on.
      if (signal.aborted) process.nextTick(() => (this._aborted = true));
      else process.nextTick(() => signal.addEventListener('abort', () => (this._aborted = true), { once: true }));
    }
  }

  /** A fresh handle (Node's initSocketHandle): counters from zero, options carried over. */
  #newHandle(): TcpHandle {
    const handle = new TcpHandle(this.#context, {
      handleConnected: () => this.#afterConnect(),
      handleConnectFailed: (code) => this.#connectFailed(code),
      handleData: (data) => this.#onData(data),
      handleEnd: () => {
        this.push(null);
        this.read(0);
      },
      handleError: (code) => this.destroy(errnoException(code, 'read')),
      readLimit: () => (this.#onreadCallback && this.#onreadBuffer ? Math.min(READ_CHUNK, this.#onreadBuffer.length) : READ_CHUNK),
    });
    this.#handle = handle;
    this.#sockname = null;
    if (this.#noDelay) handle.setNoDelay(true);
    if (this.#keepAlive) handle.setKeepAlive(true, this.#keepAliveDelay);
    this.#nextOnreadBuffer();
    return handle;
  }

  /** With `onread.buffer` a function, each read gets a fresh buffer from it. */
  #nextOnreadBuffer(): void {
    if (!this.#onreadGenerator) return;
    const next = this.#onreadGenerator();
    if (next instanceof Uint8Array) this.#onreadBuffer = next;
  }

  #onData(data: Uint8Array): boolean {
    this.#touch();
    const buffer = this.#onreadBuffer;
    if (this.#onreadCallback && buffer) {
      buffer.set(data);
      const more = this.#onreadCallback.call(this, data.length, buffer) !== false;
      this.#nextOnreadBuffer();
      return more && this.#handle?.reading === true;
    }
    return this.push(Buffer.from(data));
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
      this.#handle = null;
      this.#peername = null;
      this.#sockname = null;
    }
    if (!this.#handle) {
      (this as unknown as { _undestroy(): void })._undestroy();
      this.#newHandle();
    }
    this.#touch();
    this.connecting = true;
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
    const handle = this.#handle;
    if (!handle) return;
    const tcp = this.#context.stack.tcp;
    let bindAddress: string | undefined;
    let bindPort = 0;
    if (localAddress || localPort) {
      bindAddress = localAddress || (addressType === 6 ? '::' : '0.0.0.0');
      const local = toStackAddress(bindAddress);
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
    // Node checks the list after any bind and the announced attempt, before connecting.
    if (blocks(this.blockList, address)) {
      this.destroy(nodeErrors.ipBlocked(address));
      return;
    }
    this.#request = { address, port, addressType, localAddress: bindAddress, localPort };
    const remote = addressType === 4 || addressType === 6 ? toStackDestination(address) : null;
    const opened =
      remote === null
        ? ({ ok: false, error: 'EAFNOSUPPORT' } as const)
        : tcp.connect(remote, port, {
            localAddress: bindAddress === undefined ? undefined : (toStackAddress(bindAddress) ?? IPV4_ANY),
            localPort: bindPort || undefined,
          });
    if (!opened.ok) {
      this.destroy(exceptionWithHostPort(opened.error, 'connect', address, port, `${bindAddress ?? '0.0.0.0'}:${bindPort}`));
      return;
    }
    handle.connecting(opened.value);
  }

  /**
   * @internal One attempt of a family-racing connect (Node's internalConnectMultiple): with a
   * local port, bound to the family's any address first; the 'connectionAttempt' event and the
   * block list are the caller's. Returns a synchronous failure; a later one reaches the attempts.
   */
  [kAttempt](address: string, port: number, addressType: 4 | 6, localPort: number | undefined): NodeSystemError | null {
    const handle = this.#handle;
    const remote = toStackDestination(address);
    if (!handle || remote === null) return exceptionWithHostPort('EAFNOSUPPORT', 'connect', address, port);
    const tcp = this.#context.stack.tcp;
    const anyAddress = addressType === 6 ? '::' : '0.0.0.0';
    let bindPort = 0;
    if (localPort) {
      const bound = tcp.bind(toStackAddress(anyAddress)!, localPort, { reuseAddress: true });
      if (!bound.ok) return exceptionWithHostPort(bound.error, 'bind', anyAddress, localPort);
      bindPort = bound.value.port;
      tcp.unbind(bound.value);
    }
    this.#request = { address, port, addressType, localAddress: localPort ? anyAddress : undefined, localPort };
    const opened = tcp.connect(remote, port, { localAddress: localPort ? toStackAddress(anyAddress)! : undefined, localPort: bindPort || undefined });
    if (!opened.ok) return exceptionWithHostPort(opened.error, 'connect', address, port);
    handle.connecting(opened.value);
    return null;
  }

  /** @internal Gives up the current attempt's handle (its connection closed) and makes a fresh one. */
  [kReinitializeHandle](): void {
    this.#handle?.close();
    this.#newHandle();
  }

  #afterConnect(): void {
    if (this.destroyed) return;
    this[kAttempts]?.connected();
    this.connecting = false;
    this.#sockname = null;
    this.#touch();
    this.emit('connect');
    this.emit('ready');
    if (!this.isPaused()) this.read(0);
  }

  #connectFailed(code: ErrnoCode): void {
    if (this.destroyed) return;
    const request = this.#request!;
    const local = request.localAddress && request.localPort ? `${request.localAddress}:${request.localPort}` : undefined;
    const error: NodeSystemError = exceptionWithHostPort(code, 'connect', request.address, request.port, local);
    if (local) {
      error.localAddress = request.localAddress;
      error.localPort = request.localPort;
    }
    const attempts = this[kAttempts];
    if (attempts) attempts.failed(request.address, request.addressType as 4 | 6, error);
    else {
      this.emit('connectionAttemptFailed', request.address, request.port, request.addressType, error);
      this.destroy(error);
    }
  }

  // ---- the stream's side -------------------------------------------------------------------

  /** @internal Duplex's hook: the stream wants more data. */
  override _read(size: number): void {
    if (this.connecting || !this.#handle) this.once('connect', () => this._read(size));
    else this.#handle.readStart();
  }

  /** @internal Duplex's hook: queue a chunk on the connection. */
  override _write(chunk: Uint8Array | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#writeOnceConnected(chunk, encoding, callback);
  }

  /**
   * @internal Duplex's hook for chunks buffered while corked (or while a write was under way):
   * one write of them all, as Node's Socket hands them to libuv's writev — a small header and
   * its body leave in one segment rather than one each (TcpHandle.writev).
   */
  override _writev(chunks: Array<{ chunk: Uint8Array | string; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    this.#writeOnceConnected(chunks, '', callback);
  }

  /**
   * `_write`'s and `_writev`'s work: while a connect is under way the data waits (and counts in
   * bytesWritten), then goes to the handle as one write of one chunk or of several.
   */
  #writeOnceConnected(data: PendingWrite, encoding: BufferEncoding | '', callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      this.#pendingData = data;
      this.#pendingEncoding = encoding;
      const onClose = () => callback(nodeErrors.socketClosedBeforeConnection());
      this.once('connect', () => {
        this.off('close', onClose);
        this.#writeOnceConnected(data, encoding, callback);
      });
      this.once('close', onClose);
      return;
    }
    this.#pendingData = null;
    this.#pendingEncoding = '';
    const handle = this.#handle;
    if (!handle || !handle.connection) {
      callback(nodeErrors.socketClosed());
      return;
    }
    this.#touch();
    const chunks = Array.isArray(data) ? data.map(({ chunk, encoding }) => bytesOf(chunk, encoding)) : [bytesOf(data, encoding || 'utf8')];
    handle.writev(chunks, (error, synchronous) => {
      if (!synchronous) this.#touch();
      callback(error ? errnoException(error, 'write') : null);
    });
  }

  /** @internal Duplex's hook: the writable side ended (sends FIN). */
  override _final(callback: (error?: Error | null) => void): void {
    // Node 22+ waits only for a connect in progress: a socket that never connected finishes
    // at once (Node 20 waited for a 'connect' that never came).
    if (this.connecting) {
      this.once('connect', () => this._final(callback));
      return;
    }
    if (!this.#handle) callback();
    else this.#handle.shutdown(() => callback());
  }

  /** @internal Duplex's hook: close or reset the connection. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.connecting = false;
    this[kAttempts]?.cancel();
    this[kAttempts] = null;
    this.#idle.stop();
    const handle = this.#handle;
    if (handle) {
      const isException = Boolean(error);
      this.#closedBytesRead = handle.bytesRead;
      this.#closedBytesWritten = handle.bytesWritten;
      handle.close(this.#resetAndClosing);
      this.#resetAndClosing = false;
      this.#handle = null;
      this.#sockname = null;
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
    if (this.#onreadCallback && !this.connecting && this.#handle?.reading) this.#handle.readStop();
    return super.pause();
  }

  override resume(): this {
    if (this.#onreadCallback && !this.connecting && this.#handle && !this.#handle.reading) this.#handle.readStart();
    return super.resume();
  }

  override read(size?: number): unknown {
    if (this.#onreadCallback && !this.connecting && this.#handle && !this.#handle.reading) this.#handle.readStart();
    return super.read(size);
  }

  /** Ends the writable side; returns the socket. */
  override end(...args: unknown[]): this {
    (Duplex.prototype.end as (...a: unknown[]) => unknown).apply(this, args);
    return this;
  }

  /** Closes the connection with a RST (SO_LINGER 0), then destroys the socket. */
  resetAndDestroy(): this {
    if (this.#handle) {
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
    if (value !== this.#noDelay) {
      this.#noDelay = value;
      this.#handle?.setNoDelay(value);
    }
    return this;
  }

  /** SO_KEEPALIVE, with the idle time before the first probe (ms, rounded down to seconds). */
  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    const value = Boolean(enable);
    const delay = ~~((initialDelay as number) / 1000);
    if (value !== this.#keepAlive || (value && delay !== this.#keepAliveDelay)) {
      this.#keepAlive = value;
      this.#keepAliveDelay = delay;
      this.#handle?.setKeepAlive(value, delay);
    }
    return this;
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
    if (!this.#handle) return {};
    this.#sockname ??= this.#handle.getsockname();
    return this.#sockname ?? {};
  }

  #getpeername(): SocketAddressInfo {
    if (!this.#handle || this.connecting) return this.#peername ?? {};
    this.#peername ??= this.#handle.getpeername();
    return this.#peername ?? {};
  }

  /** Keeps the event loop alive while the socket is active (the default). */
  ref(): this {
    if (!this.#handle) this.once('connect', () => this.ref());
    else this.#handle.ref();
    return this;
  }

  /** Lets the process exit even though this socket is open. */
  unref(): this {
    if (!this.#handle) this.once('connect', () => this.unref());
    else this.#handle.unref();
    return this;
  }

  // ---- properties --------------------------------------------------------------------------

  /** Bytes received. */
  get bytesRead(): number {
    return this.#handle ? this.#handle.bytesRead : this.#closedBytesRead;
  }

  /** Bytes written by the application so far, including those still buffered in the stream. */
  get bytesWritten(): number | undefined {
    const buffer = (this as unknown as { writableBuffer?: Array<{ chunk: Uint8Array | string; encoding: BufferEncoding }> }).writableBuffer;
    if (!buffer) return undefined;
    let bytes = this._bytesDispatched;
    for (const entry of buffer) bytes += typeof entry.chunk === 'string' ? Buffer.byteLength(entry.chunk, entry.encoding) : entry.chunk.length;
    const pending = this.#pendingData;
    if (typeof pending === 'string') bytes += Buffer.byteLength(pending, (this.#pendingEncoding || 'utf8') as BufferEncoding);
    else if (Array.isArray(pending)) {
      for (const entry of pending) bytes += typeof entry.chunk === 'string' ? Buffer.byteLength(entry.chunk, entry.encoding) : entry.chunk.length;
    } else if (pending) bytes += pending.length;
    return bytes;
  }

  /** Node's legacy name for the bytes handed to the handle. */
  get _bytesDispatched(): number {
    return this.#handle ? this.#handle.bytesWritten : this.#closedBytesWritten;
  }

  /** The peer's address, once connected. */
  get remoteAddress(): string | undefined {
    return this.#getpeername().address;
  }

  /** The peer's address family (`IPv4`), once connected. */
  get remoteFamily(): string | undefined {
    return this.#getpeername().family;
  }

  /** The peer's port, once connected. */
  get remotePort(): number | undefined {
    return this.#getpeername().port;
  }

  /** The local address, once bound. */
  get localAddress(): string | undefined {
    return this.#getsockname().address;
  }

  /** The local port, once bound. */
  get localPort(): number | undefined {
    return this.#getsockname().port;
  }

  /** The local address family (`IPv4`), once bound. */
  get localFamily(): string | undefined {
    return this.#getsockname().family;
  }

  /** True before the socket is connected (no handle yet, or still connecting). */
  get pending(): boolean {
    return !this.#handle || this.connecting;
  }

  /** Node's legacy name of `connecting`. */
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
    return this.#handle ? this.writableLength : undefined;
  }

  /** The TCP connection underneath (ustack-specific: for inspection and tests). */
  get ustackConnection(): TcpConnection | null {
    return this.#handle?.connection ?? null;
  }

  /**
   * Linux's TCP_INFO for this socket's connection (src/tcp/tcp-info.ts: keys are struct
   * tcp_info's field names without `tcpi_`, in Linux's units), or undefined before connect() and
   * after destroy. A ustack extension: Node's net.Socket has no such method.
   */
  getTcpInfo(): TcpInfo | undefined {
    const connection = this.#handle?.connection;
    return connection ? socketTcpInfo(connection, this.#context.stack.currentTimeForCalls()) : undefined;
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
