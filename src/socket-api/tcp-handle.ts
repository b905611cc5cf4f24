/**
 * A TCP stream handle over a ustack TcpConnection: what libuv's TCP handle is to Node's
 * `net.Socket`. The socket (net-socket.ts) keeps the stream semantics; the handle keeps the
 * plumbing:
 *
 * - reading: while started, received bytes go to the owner as they arrive, until the owner says
 *   stop (backpressure); then the peer's FIN, or the error that ended the connection;
 * - writing: a chunk completes when the send buffer has taken all of it; the rest waits for
 *   send-buffer space;
 * - the handshake's outcome, shutdown (FIN after the data), close or reset;
 * - keeping Node's event loop alive while active (connecting, reading before EOF, writing), as
 *   a referenced libuv handle does.
 *
 * Whatever the connection reports from inside the stack's processing is taken up on the next
 * tick: the owner is never called from within `poll` or `receive`.
 */
import type { ErrnoCode } from '../core/errno.js';
import type { SendFlags, TcpConnection } from '../tcp/connection.js';
import { addressInfo, type NodeModuleContext } from './node-support.js';

/** A writev's chunks before its last: MSG_MORE, the rest of the write follows at once. */
const MORE: SendFlags = { more: true };
const NO_FLAGS: SendFlags = {};

/** What the handle tells its socket (always outside the stack's processing). */
export interface TcpHandleOwner {
  /** The handshake completed. */
  handleConnected(): void;
  /** The handshake failed (refused, timed out, unreachable). */
  handleConnectFailed(code: ErrnoCode): void;
  /** Bytes arrived; return false to stop reading (readStop). */
  handleData(data: Uint8Array): boolean;
  /** The peer's FIN, after every byte before it. */
  handleEnd(): void;
  /** The connection died of an error (RST, retransmission or keepalive timeout). */
  handleError(code: ErrnoCode): void;
  /** The most bytes one read may hand over. */
  readLimit(): number;
}

/** `{ address, family, port }` as getsockname/getpeername fill it. */
export type SocketName = { address: string; family: string; port: number };

interface WriteInProgress {
  /** The chunks of one write (several for a writev), sent in order as one stream of bytes. */
  readonly chunks: readonly Uint8Array[];
  /** The chunk being sent, and how far into it. */
  index: number;
  offset: number;
  readonly callback: (error: ErrnoCode | null, synchronous: boolean) => void;
}

/** One TCP stream handle. */
export class TcpHandle {
  /** The connection, once connect() or accept() gave one. */
  connection: TcpConnection | null = null;
  /** Bytes handed to the owner / accepted for sending over this handle's life. */
  bytesRead = 0;
  bytesWritten = 0;
  #owner: TcpHandleOwner | null;
  #connecting = false;
  #handshakeDone = false;
  #reading = false;
  #eofDelivered = false;
  #pumpQueued = false;
  #write: WriteInProgress | null = null;
  #referenced = true;
  #closed = false;
  #noDelay = false;
  #keepAlive = false;
  #keepAliveDelaySeconds = 0;
  /** Accepted by an IPv6 server: its IPv4 peers are shown IPv4-mapped, as Node shows them. */
  #ipv6Server = false;

  constructor(
    private readonly context: NodeModuleContext,
    owner: TcpHandleOwner,
  ) {
    this.#owner = owner;
  }

  /** Takes over an accepted (already established) connection; `ipv6Server`: it came through an IPv6 listener. */
  adopt(connection: TcpConnection, ipv6Server = false): void {
    this.#ipv6Server = ipv6Server;
    this.#handshakeDone = true;
    this.#attach(connection);
  }

  /** Takes over a connection whose SYN is out; `handleConnected` or `handleConnectFailed` follows. */
  connecting(connection: TcpConnection): void {
    this.#connecting = true;
    this.#attach(connection);
  }

  #attach(connection: TcpConnection): void {
    this.connection = connection;
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
    // What the socket set before there was a connection (libuv keeps the flags and applies them
    // when the socket is made; ours arrive with the connection).
    if (this.#noDelay) connection.setNoDelay(true);
    if (this.#keepAlive) applyKeepAlive(connection, true, this.#keepAliveDelaySeconds);
    this.#updateReference();
  }

  /** True while the handle would keep a libuv loop alive. */
  get active(): boolean {
    return !this.#closed && (this.#connecting || (this.#reading && !this.#eofDelivered) || this.#write !== null);
  }

  /** Whether reading is on (readStart without a readStop since). */
  get reading(): boolean {
    return this.#reading;
  }

  /** libuv readStart: deliver bytes as they arrive. */
  readStart(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#updateReference();
    this.#schedulePump();
  }

  /** libuv readStop: leave arriving bytes in the connection's receive queue. */
  readStop(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.#updateReference();
  }

  /**
   * Writes `data`; `callback` runs once the send buffer has taken all of it — synchronously
   * (`synchronous` true) when it fits at once, as a kernel socket's write would.
   */
  write(data: Uint8Array, callback: (error: ErrnoCode | null, synchronous: boolean) => void): void {
    this.writev([data], callback);
  }

  /**
   * Writes `chunks` as one write, as libuv's uv_write with several buffers is one writev(2):
   * every chunk but the last goes with MSG_MORE, so a small header and its body leave in one
   * segment (the kernel copies a writev's buffers into the same skb before it pushes) instead of
   * one segment each under TCP_NODELAY. `callback` as for `write`.
   */
  writev(chunks: readonly Uint8Array[], callback: (error: ErrnoCode | null, synchronous: boolean) => void): void {
    for (const chunk of chunks) this.bytesWritten += chunk.length;
    this.#write = { chunks, index: 0, offset: 0, callback };
    this.#continueWrite(true);
    this.#updateReference();
  }

  #continueWrite(synchronous: boolean): void {
    const write = this.#write;
    const connection = this.connection;
    if (!write || !connection) return;
    const chunks = write.chunks;
    // The last chunk with bytes goes without MSG_MORE (an empty one after it would push nothing).
    let final = chunks.length - 1;
    while (final > 0 && chunks[final].length === 0) final--;
    while (write.index < chunks.length) {
      const data = chunks[write.index];
      if (write.offset < data.length) {
        const sent = connection.send(write.offset === 0 ? data : data.subarray(write.offset), write.index < final ? MORE : NO_FLAGS);
        if (!sent.ok) {
          this.#write = null;
          write.callback(sent.error, synchronous);
          return;
        }
        if (sent.value === 0) return;
        write.offset += sent.value;
      }
      if (write.offset >= data.length) {
        write.index++;
        write.offset = 0;
      }
    }
    this.#write = null;
    write.callback(null, synchronous);
  }

  /**
   * SHUT_WR: a FIN follows the data. Completes asynchronously but within the same turn of the
   * loop (after queued ticks, before immediates), as libuv's shutdown does.
   */
  shutdown(callback: () => void): void {
    const connection = this.connection;
    if (connection && connection.state !== 'CLOSED') connection.shutdownWrite();
    queueMicrotask(callback);
  }

  /** Closes the handle: the connection closes gracefully (or with a RST when `reset`). */
  close(reset = false): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#owner = null;
    this.#write = null;
    const connection = this.connection;
    if (connection) {
      connection.events = {};
      if (reset) connection.abort();
      else connection.close();
    }
    this.#updateReference();
  }

  /** The local address, or null before there is a connection. */
  getsockname(): SocketName | null {
    return this.connection ? addressInfo(this.connection.localAddress, this.connection.localPort, this.#ipv6Server) : null;
  }

  /** The peer's address, or null before there is a connection. */
  getpeername(): SocketName | null {
    return this.connection ? addressInfo(this.connection.remoteAddress, this.connection.remotePort, this.#ipv6Server) : null;
  }

  /** TCP_NODELAY (uv_tcp_nodelay); turning it on sends what Nagle was holding back. */
  setNoDelay(enable: boolean): void {
    this.#noDelay = enable;
    this.connection?.setNoDelay(enable);
  }

  /** uv_tcp_keepalive: SO_KEEPALIVE, and with a delay of at least 1 s the idle time, interval and count (`applyKeepAlive`). */
  setKeepAlive(enable: boolean, delaySeconds: number): void {
    this.#keepAlive = enable;
    this.#keepAliveDelaySeconds = delaySeconds;
    if (this.connection) applyKeepAlive(this.connection, enable, delaySeconds);
  }

  /** The loop stays alive while the handle is active and referenced. */
  ref(): void {
    this.#referenced = true;
    this.#updateReference();
  }

  unref(): void {
    this.#referenced = false;
    this.#updateReference();
  }

  #updateReference(): void {
    if (this.#referenced && this.active) this.context.loop.hold(this);
    else this.context.loop.release(this);
  }

  #schedulePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    process.nextTick(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  /** Catches up with the connection: handshake, pending write, received data, EOF, errors. */
  #pump(): void {
    const connection = this.connection;
    if (!connection || this.#closed) return;
    if (this.#connecting) {
      if (this.#handshakeDone) {
        this.#connecting = false;
        this.#owner?.handleConnected();
      } else if (connection.state === 'CLOSED') {
        this.#connecting = false;
        this.#updateReference();
        this.#owner?.handleConnectFailed(connection.error ?? 'ECONNREFUSED');
        return;
      }
      if (this.#connecting || this.#closed) return this.#updateReference();
    }
    this.#continueWrite(false);
    while (this.#reading && connection.readableBytes > 0 && this.#owner) {
      const data = connection.receive(this.#owner.readLimit());
      this.bytesRead += data.length;
      if (!this.#owner.handleData(data)) this.#reading = false;
    }
    if (this.#reading && connection.endOfStream && !this.#eofDelivered && this.#owner) {
      this.#eofDelivered = true;
      this.#owner.handleEnd();
    }
    if (connection.state === 'CLOSED' && connection.error && this.#owner && !this.#closed) this.#owner.handleError(connection.error);
    this.#updateReference();
  }
}

/**
 * The socket options libuv's uv__tcp_keepalive sets on Linux, in its order, through the
 * connection's one way in (the Berkeley API's setsockopt takes the same): SO_KEEPALIVE; then,
 * only when on with a delay of at least one second, TCP_KEEPIDLE = the delay, TCP_KEEPINTVL =
 * 1 s and TCP_KEEPCNT = 10 (libuv 1.46 of Node 20 and 1.50–1.51 of Node 24 alike). A delay of 0
 * fails TCP_KEEPIDLE (1.46) or returns before it (1.48+), leaving the idle time, interval and
 * count as they were; Node ignores that error.
 */
function applyKeepAlive(connection: TcpConnection, enable: boolean, delaySeconds: number): void {
  if (!enable || delaySeconds < 1) connection.setKeepalive({ enabled: enable });
  else connection.setKeepalive({ enabled: true, idleMs: delaySeconds * 1000, intervalMs: 1000, count: 10 });
}
