/**
 * The `ustack run` side of native/preload.c: a UNIX socket the program's library connects to,
 * whose requests become calls of ustack's Berkeley socket API (src/socket-api/berkeley.ts) and
 * whose data connections are bridged to TCP and UDP sockets of one stack, both ways, with
 * backpressure (a full TCP send buffer stops the reading of the program's bytes; a program that
 * does not read stops the reading of TCP's receive queue, and the window closes).
 *
 * A socket's life follows its data connection: the program's last descriptor of it closing (a
 * close(), the exit of the last process holding it) is the end of the stream here, and the socket
 * is closed in ustack — TCP sends its FIN, or a RST when unread data is left, as Linux's close.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Errno, ErrnoError } from '../core/errno.js';
import type { AcceptedConnection } from '../socket-api/berkeley.js';
import { BerkeleySockets } from '../socket-api/berkeley.js';
import * as C from '../socket-api/berkeley-constants.js';
import type { Stack } from '../socket-api/stack.js';
import type { TcpInfo } from '../tcp/tcp-info.js';
import {
  addressBytes,
  ByteQueue,
  DATAGRAM_HEADER_BYTES,
  decodeRequest,
  encodeDatagram,
  encodeResponse,
  HELLO_BYTES,
  HELLO_CONTROL,
  HELLO_DATA,
  MAX_DATAGRAM,
  Op,
  REQUEST_BYTES,
  requestPayloadLength,
  SocketState,
  addressText,
  type Request,
  type Response,
} from './protocol.js';

/** The largest request payload the library sends (a setsockopt value, a host name), with room. */
const MAX_PAYLOAD = 4096;

/** What the shim server needs besides the stack. */
export interface ShimServerOptions {
  /** Where to listen (a path; its directory must exist). */
  readonly socketPath: string;
  /** Resolves a host name the program looks up (its own, the virtual network's members), or null. */
  readonly resolve?: (name: string) => string | null | Promise<string | null>;
  /** Where to say what went wrong inside (one line each). */
  readonly log?: (line: string) => void;
}

/** One socket of the program. */
class ShimSocket {
  state: number = SocketState.FRESH;
  /** The errno to report once: a failed connect (SO_ERROR), a reset (the read at the stream's end). */
  pendingError = 0;
  /** The data connection, once its hello arrived. */
  data: Socket | null = null;
  /** Bytes that came with the hello. */
  leftover: Buffer = Buffer.alloc(0);
  /** Bytes of a non-blocking connect's filler still to drop from the stream's start. */
  filler = 0;
  /** A listener's connections accepted in ustack and not yet taken by the program. */
  readonly acceptQueue: Array<{ socket: ShimSocket; peer: AcceptedConnection }> = [];
  bridged = false;
  closed = false;
  /** The peer's FIN was passed on (the program reads the end): a later error is for writes only, as Linux's SOCK_DONE. */
  peerFinDelivered = false;
  /** The program called shutdown(SHUT_WR): the end of its stream is a half close, not its last close(). */
  shutWrite = false;
  /**
   * connect() has returned success (or EISCONN would be right): Linux's first connect() after a
   * non-blocking one completed returns 0 (sock->state moves to SS_CONNECTED then), later ones EISCONN.
   */
  reportedConnected = false;
  private readonly dataWaiters: Array<(data: Socket) => void> = [];

  constructor(
    readonly id: number,
    readonly type: number,
  ) {}

  attach(data: Socket, leftover: Buffer): void {
    this.data = data;
    this.leftover = leftover;
    for (const waiter of this.dataWaiters.splice(0)) waiter(data);
  }

  /** The data connection, when it arrives (the program opens it right after socket() returns). */
  dataConnection(): Promise<Socket> {
    if (this.data) return Promise.resolve(this.data);
    return new Promise((resolve) => this.dataWaiters.push(resolve));
  }
}

/** Serves one program (and every process it forks) on one stack. */
export class ShimServer {
  /** The Berkeley socket API the requests are made on. */
  readonly sockets: BerkeleySockets;
  private readonly table = new Map<number, ShimSocket>();
  private server: Server | null = null;
  private readonly connections = new Set<Socket>();
  /** Connections of the program (control and data) ever opened; a test reads it. */
  connectionsOpened = 0;

  constructor(
    readonly stack: Stack,
    private readonly options: ShimServerOptions,
  ) {
    this.sockets = new BerkeleySockets(stack);
  }

  /** Starts listening on the socket path. */
  async listen(): Promise<void> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (connection) => this.accepted(connection));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * Sockets still open in ustack, but those whose connect has not ended: their stream is not
   * read until it does, so a close() of theirs is not seen (Linux aborts such a connect on close;
   * `close()` here does, at the program's exit).
   */
  get openSockets(): number {
    return [...this.table.values()].filter((s) => !s.closed && s.state !== SocketState.CONNECTING).length;
  }

  /**
   * Ends everything: stops listening, closes every socket still open in ustack (TCP: FIN, or RST
   * with unread data) and every connection of the program.
   */
  close(): void {
    this.server?.close();
    this.server = null;
    for (const socket of this.table.values()) this.closeSocket(socket);
    for (const connection of this.connections) connection.destroy();
  }

  private accepted(connection: Socket): void {
    this.connectionsOpened++;
    this.connections.add(connection);
    connection.on('close', () => this.connections.delete(connection));
    connection.on('error', () => {
      // The program died or closed: 'close' follows.
    });
    const queue = new ByteQueue();
    const onHello = (chunk: Buffer) => {
      queue.push(chunk);
      const hello = queue.take(HELLO_BYTES);
      if (!hello) return;
      connection.off('data', onHello);
      const kind = hello.readUInt32LE(0);
      const id = hello.readInt32LE(4);
      if (kind === HELLO_CONTROL) return this.serveControl(connection, queue);
      const socket = kind === HELLO_DATA ? this.table.get(id) : undefined;
      if (!socket || socket.data) {
        this.log(`a connection announced ${kind === HELLO_DATA ? `socket ${id}, which is unknown` : `kind ${kind}`}: closed`);
        connection.destroy();
        return;
      }
      stopReading(connection);
      socket.attach(connection, queue.takeAll());
      this.dataArrived(socket);
    };
    connection.on('data', onHello);
  }

  private log(line: string): void {
    this.options.log?.(`ustack run: ${line}`);
  }

  // ---- control -----------------------------------------------------------------------------

  private serveControl(connection: Socket, queue: ByteQueue): void {
    let chain = Promise.resolve();
    const drain = () => {
      for (;;) {
        const header = queue.peek(REQUEST_BYTES);
        if (!header) return;
        const length = requestPayloadLength(header);
        if (length > MAX_PAYLOAD) {
          // Not the library's (its largest payload is an option value or a host name): dropped.
          this.log(`a control connection sent a request of ${length} bytes: closed`);
          connection.destroy();
          return;
        }
        if (queue.length < REQUEST_BYTES + length) return;
        const request = decodeRequest(Buffer.from(queue.take(REQUEST_BYTES)!), Buffer.from(queue.take(length)!));
        // One request at a time, in order: the thread waits for each answer.
        chain = chain.then(async () => {
          const response = await this.handle(request);
          if (!connection.destroyed) connection.write(encodeResponse(response));
        });
      }
    };
    connection.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      drain();
    });
    drain();
  }

  private async handle(request: Request): Promise<Response> {
    try {
      return await this.dispatch(request);
    } catch (error) {
      if (error instanceof ErrnoError) return { result: -1, error: Errno[error.code] };
      this.log(`internal error on request ${request.op}: ${error instanceof Error ? error.message : String(error)}`);
      return { result: -1, error: Errno.EINVAL };
    }
  }

  private socket(id: number): ShimSocket {
    const socket = this.table.get(id);
    if (!socket || socket.closed) throw new ErrnoError('EBADF', 'ustack run');
    return socket;
  }

  private async dispatch(request: Request): Promise<Response> {
    const { op, id, a, b } = request;
    const target = { address: request.address, port: request.port };
    switch (op) {
      case Op.SOCKET: {
        const fd = this.sockets.socket(C.AF_INET, a, b);
        this.table.set(fd, new ShimSocket(fd, a));
        return { result: fd };
      }
      case Op.BIND:
        this.sockets.bind(this.socket(id).id, target);
        return {};
      case Op.LISTEN: {
        const socket = this.socket(id);
        this.sockets.listen(id, a);
        if (socket.state !== SocketState.LISTENING) {
          socket.state = SocketState.LISTENING;
          void this.acceptLoop(socket);
        }
        return {};
      }
      case Op.ACCEPT: {
        const next = this.socket(id).acceptQueue.shift();
        if (!next) throw new ErrnoError('EAGAIN', 'accept');
        return { result: next.socket.id, address: next.peer.address, port: next.peer.port };
      }
      case Op.CONNECT:
        return this.connect(this.socket(id), request);
      case Op.GETSOCKNAME: {
        const name = this.sockets.getsockname(this.socket(id).id);
        return { address: name.address, port: name.port };
      }
      case Op.GETPEERNAME: {
        const name = this.sockets.getpeername(this.socket(id).id);
        return { address: name.address, port: name.port };
      }
      case Op.SETSOCKOPT:
        this.sockets.setsockopt(this.socket(id).id, a, b, decodeOption(a, b, request.payload));
        return {};
      case Op.GETSOCKOPT:
        return this.getsockopt(this.socket(id), a, b);
      case Op.SHUTDOWN: {
        const socket = this.socket(id);
        if (a !== C.SHUT_RD && a !== C.SHUT_WR && a !== C.SHUT_RDWR) throw new ErrnoError('EINVAL', 'shutdown');
        if (socket.type !== C.SOCK_STREAM) {
          this.sockets.shutdown(id, a);
          return {};
        }
        if (socket.state !== SocketState.CONNECTED) throw new ErrnoError('ENOTCONN', 'shutdown');
        // SHUT_WR is the end of the data stream (it keeps its place after the bytes written).
        if (a !== C.SHUT_WR) this.sockets.shutdown(id, C.SHUT_RD);
        if (a !== C.SHUT_RD) socket.shutWrite = true;
        return {};
      }
      case Op.STATUS: {
        const socket = this.table.get(id);
        if (!socket) return { result: SocketState.FAILED, a: 1 };
        if (a === 1 && socket.state === SocketState.FRESH) {
          // A non-blocking connect's filler comes next: it must stay unread until the handshake ends.
          stopReading(await socket.dataConnection());
        }
        // 2: the error a write reports (once); 3: the one a read at the stream's end reports,
        // none when that end is the peer's FIN (Linux's tcp_recvmsg returns 0 once SOCK_DONE is
        // set, and the error stays for the next write).
        let error = 0;
        if (a === 2 || (a === 3 && !socket.peerFinDelivered)) {
          error = socket.pendingError;
          socket.pendingError = 0;
        }
        return { result: socket.state, a: socket.state === SocketState.CONNECTING ? 0 : 1, error };
      }
      case Op.RESOLVE: {
        const name = request.payload.toString('utf8');
        const address = (await this.options.resolve?.(name)) ?? null;
        if (address === null) throw new ErrnoError('ENOENT', 'getaddrinfo');
        return { address };
      }
    }
    throw new ErrnoError('EINVAL', 'ustack run');
  }

  private async connect(socket: ShimSocket, request: Request): Promise<Response> {
    const target = { address: request.address, port: request.port };
    if (socket.type !== C.SOCK_STREAM) {
      await this.sockets.connect(socket.id, target);
      return {};
    }
    switch (socket.state) {
      case SocketState.CONNECTING:
        throw new ErrnoError('EALREADY', 'connect');
      case SocketState.CONNECTED:
        if (!socket.reportedConnected) {
          socket.reportedConnected = true;
          return {};
        }
        throw new ErrnoError('EISCONN', 'connect');
      case SocketState.LISTENING:
        throw new ErrnoError('EINVAL', 'connect');
      case SocketState.FAILED: {
        // Linux reports a failed non-blocking connect's error to the next connect() too, once.
        const error = socket.pendingError;
        socket.pendingError = 0;
        if (error) return { result: -1, error };
        throw new ErrnoError('ECONNABORTED', 'connect');
      }
    }
    socket.state = SocketState.CONNECTING;
    socket.filler = request.a;
    if (socket.data) stopReading(socket.data);
    const wait = request.b === 1;
    const done = this.sockets.connect(socket.id, target).then(
      () => {
        socket.state = SocketState.CONNECTED;
        return 0;
      },
      (error: unknown) => {
        socket.state = SocketState.FAILED;
        return error instanceof ErrnoError ? Errno[error.code] : Errno.ECONNREFUSED;
      },
    );
    // The bridge starts when the handshake ends, and only then drops the filler: until then
    // the program's descriptor is not writable, as a connecting socket is not.
    void done.then((error) => {
      if (error && !wait) socket.pendingError = error;
      if (error === 0) return this.startStreamBridge(socket);
      return this.endFailed(socket);
    });
    if (wait) {
      const error = await done;
      socket.reportedConnected = error === 0;
      return error ? { result: -1, error } : {};
    }
    // A failure found at once (no route, no address) is the call's own error, as on Linux.
    const early = await Promise.race([done, new Promise<null>((resolve) => setImmediate(() => resolve(null)))]);
    if (early !== null && early !== 0) {
      socket.pendingError = 0;
      return { result: -1, error: early };
    }
    if (early === 0) {
      socket.reportedConnected = true;
      return {};
    }
    return { result: -1, error: Errno.EINPROGRESS };
  }

  private getsockopt(socket: ShimSocket, level: number, name: number): Response {
    const ended = socket.state === SocketState.CONNECTING ? 0 : 1;
    if (level === C.SOL_SOCKET && name === C.SO_ERROR) {
      let error = socket.pendingError;
      socket.pendingError = 0;
      if (!error) error = Number(this.sockets.getsockopt(socket.id, level, name)) || 0;
      return { payload: int32(error), a: ended };
    }
    const value = this.sockets.getsockopt(socket.id, level, name);
    if (typeof value === 'number') return { payload: int32(value), a: ended };
    if (typeof value === 'string') return { payload: Buffer.from(`${value}\0`), a: ended };
    if ('onoff' in value) return { payload: Buffer.concat([int32(value.onoff), int32(value.linger)]), a: ended };
    return { payload: encodeTcpInfo(value), a: ended };
  }

  // ---- data --------------------------------------------------------------------------------

  private dataArrived(socket: ShimSocket): void {
    if (socket.type !== C.SOCK_STREAM) return void this.startDatagramBridge(socket);
    switch (socket.state) {
      case SocketState.FRESH:
      case SocketState.LISTENING:
        return this.watchIdle(socket);
      case SocketState.CONNECTED:
        // An accepted connection, or a connect that ended before the data connection came.
        return void this.startStreamBridge(socket);
      case SocketState.FAILED:
        return void this.endFailed(socket);
    }
    // CONNECTING: stays paused (the filler must stay unread); the connect's end starts the bridge.
  }

  /**
   * A socket that carries no data (not yet connected, or listening): the stream is read only to
   * learn that the program closed it. Bytes written to it are dropped (Linux fails such a write
   * with EPIPE; the library does not check).
   */
  private watchIdle(socket: ShimSocket): void {
    const data = socket.data!;
    data.on('data', () => {
      // Nothing to carry yet.
    });
    data.on('end', () => {
      if (socket.state === SocketState.FRESH || socket.state === SocketState.LISTENING) this.closeSocket(socket);
    });
    data.on('close', () => {
      if (socket.state === SocketState.FRESH || socket.state === SocketState.LISTENING) this.closeSocket(socket);
    });
    startReading(data);
  }

  /** A failed connect: the program's reads end (the error comes with the end) and its descriptor turns writable. */
  private async endFailed(socket: ShimSocket): Promise<void> {
    const data = await socket.dataConnection();
    data.removeAllListeners('data');
    let filler = socket.filler;
    socket.filler = 0;
    const drop = (chunk: Buffer) => {
      filler = Math.max(0, filler - chunk.length);
    };
    drop(socket.leftover);
    // The end first (reads see it, with the error), then the filler goes and writes are possible.
    data.end();
    data.on('data', drop);
    data.on('close', () => this.closeSocket(socket));
    startReading(data);
  }

  private async acceptLoop(listener: ShimSocket): Promise<void> {
    const data = await listener.dataConnection();
    for (;;) {
      let peer: AcceptedConnection;
      try {
        peer = await this.sockets.accept(listener.id);
      } catch {
        return; // closed
      }
      const child = new ShimSocket(peer.fd, C.SOCK_STREAM);
      child.state = SocketState.CONNECTED;
      child.reportedConnected = true;
      this.table.set(peer.fd, child);
      if (listener.closed || data.destroyed) {
        this.closeSocket(child);
        return;
      }
      listener.acceptQueue.push({ socket: child, peer });
      data.write(Buffer.of(1)); // one byte per connection: the descriptor is readable exactly while one waits
    }
  }

  private async startStreamBridge(socket: ShimSocket): Promise<void> {
    if (socket.bridged || socket.closed) return;
    socket.bridged = true;
    const data = await socket.dataConnection();
    const id = socket.id;
    let filler = socket.filler;
    socket.filler = 0;
    let chain = Promise.resolve();
    let failed = false;
    let shut = false;
    const later = (task: () => Promise<void> | void) => {
      chain = chain.then(task).catch((error: unknown) => this.log(`socket ${id}: ${error instanceof Error ? error.message : String(error)}`));
    };
    // The program's bytes to TCP, one chunk at a time: the stream pauses while TCP's send buffer is full.
    const onChunk = (chunk: Buffer) => {
      if (filler > 0) {
        const dropped = Math.min(filler, chunk.length);
        filler -= dropped;
        chunk = chunk.subarray(dropped);
      }
      if (chunk.length === 0 || failed) return;
      data.pause();
      later(async () => {
        try {
          await this.sockets.send(id, chunk);
        } catch (error) {
          failed = true;
          if (error instanceof ErrnoError && error.code !== 'EPIPE' && error.code !== 'EBADF') socket.pendingError = Errno[error.code];
          data.destroy(); // the program's next write fails with EPIPE (and SIGPIPE), as after a RST
          return;
        }
        if (!data.destroyed) startReading(data);
      });
    };
    if (socket.leftover.length > 0) onChunk(socket.leftover);
    socket.leftover = Buffer.alloc(0);
    data.on('data', onChunk);
    // The end of the program's stream, after its data: shutdown(SHUT_WR) (a FIN), or the last
    // close() of the socket in every process holding it (Linux's close: FIN, or RST when data
    // is left unread in ustack).
    data.on('end', () =>
      later(() => {
        if (shut || socket.closed || failed) return;
        shut = true;
        if (!socket.shutWrite) return this.closeSocket(socket);
        try {
          this.sockets.shutdown(id, C.SHUT_WR);
        } catch {
          // Already gone.
        }
      }),
    );
    // A program that closes with bytes it never read: the kernel resets our end of the UNIX
    // connection (unix_release_sock), and Linux's close() would send a RST (tcp_close).
    let unread = false;
    data.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET') unread = true;
    });
    data.on('close', () =>
      later(() => {
        if (unread && !socket.closed) this.abort(socket);
        this.closeSocket(socket);
      }),
    );
    startReading(data);

    // TCP's bytes to the program; the end of TCP's stream ends the program's.
    for (;;) {
      let bytes: Uint8Array;
      try {
        bytes = await this.sockets.recv(id, 65536);
      } catch (error) {
        if (error instanceof ErrnoError && error.code !== 'EBADF') {
          socket.pendingError = Errno[error.code];
          socket.state = SocketState.FAILED;
          // A reset (or a timeout) ends the connection both ways: what came before stays
          // readable, then reads end (with the error, once); writes fail (the library reports
          // the error first, then EPIPE), as Linux's tcp_reset and sk_stream_error.
          if (!data.destroyed) data.end(() => data.destroy());
          return;
        }
        if (!data.destroyed) data.end();
        return;
      }
      if (data.destroyed) return;
      if (bytes.length === 0) {
        data.end();
        socket.peerFinDelivered = true;
        return this.watchResetAfterFin(socket, data);
      }
      if (!data.write(bytes)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            data.off('drain', done);
            data.off('close', done);
            resolve();
          };
          data.on('drain', done);
          data.on('close', done);
        });
      }
    }
  }

  /**
   * CLOSE-WAIT: the program has read the peer's FIN and may go on writing. Data reaching a peer
   * that closed is answered by a RST (RFC 1122 §4.2.2.13, Linux and ustack's TCP alike), and on
   * Linux the program's next write fails at once (EPIPE, tcp_reset). The program's writes only
   * reach a UNIX socket buffer here, so the reset is watched for and its error stands ready
   * before the next write: the data connection closes, and that write fails with the error.
   */
  private async watchResetAfterFin(socket: ShimSocket, data: Socket): Promise<void> {
    const [ready] = await this.sockets.poll([{ fd: socket.id, events: 0 }], -1);
    if (socket.closed || (ready.revents & C.POLLERR) === 0) return; // closed by the program (POLLNVAL)
    const error = Number(this.sockets.getsockopt(socket.id, C.SOL_SOCKET, C.SO_ERROR)) || 0;
    if (!error) return;
    socket.pendingError = error;
    socket.state = SocketState.FAILED;
    // After the FIN already written to the program (its reads still see the end, not the error).
    if (data.writableFinished) data.destroy();
    else data.once('finish', () => data.destroy());
  }

  private async startDatagramBridge(socket: ShimSocket): Promise<void> {
    if (socket.bridged) return;
    socket.bridged = true;
    const data = await socket.dataConnection();
    const id = socket.id;
    const queue = new ByteQueue();
    let chain = Promise.resolve();
    const onChunk = (chunk: Buffer) => {
      queue.push(chunk);
      for (;;) {
        const header = queue.peek(DATAGRAM_HEADER_BYTES);
        if (!header) return;
        const length = header.readUInt32LE(0);
        if (length > MAX_DATAGRAM) {
          this.log(`udp socket ${id}: a frame of ${length} bytes is not a datagram: the socket's connection is closed`);
          data.destroy();
          return;
        }
        if (queue.length < DATAGRAM_HEADER_BYTES + length) return;
        const frame = Buffer.from(queue.take(DATAGRAM_HEADER_BYTES + length)!);
        const address = addressText(frame.subarray(4, 8));
        const port = frame.readUInt16LE(8);
        const payload = frame.subarray(DATAGRAM_HEADER_BYTES);
        chain = chain.then(async () => {
          try {
            if (port === 0 && address === '0.0.0.0') await this.sockets.send(id, payload);
            else await this.sockets.sendto(id, payload, { address, port });
          } catch (error) {
            // Linux would fail the sendto itself; the library has returned already (docs/run.md).
            this.log(`udp socket ${id}: a datagram to ${address}:${port} was not sent: ${error instanceof Error ? error.message : String(error)}`);
          }
        });
      }
    };
    onChunk(socket.leftover);
    socket.leftover = Buffer.alloc(0);
    data.on('data', onChunk);
    data.on('end', () => data.end());
    data.on('close', () => {
      chain = chain.then(() => this.closeSocket(socket));
    });
    startReading(data);
    for (;;) {
      let datagram;
      try {
        datagram = await this.sockets.recvfrom(id, 65535);
      } catch (error) {
        if (error instanceof ErrnoError && error.code === 'EBADF') return;
        continue; // an ICMP error reported to the socket: Linux gives it to the next call; here it is dropped
      }
      if (data.destroyed) return;
      if (!data.write(encodeDatagram(datagram.data, datagram.address, datagram.port))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            data.off('drain', done);
            data.off('close', done);
            resolve();
          };
          data.on('drain', done);
          data.on('close', done);
        });
      }
    }
  }

  /** Closes with a RST (SO_LINGER 0), as Linux's close() of a socket with unread data. */
  private abort(socket: ShimSocket): void {
    try {
      this.sockets.setsockopt(socket.id, C.SOL_SOCKET, C.SO_LINGER, { onoff: 1, linger: 0 });
    } catch {
      // Gone already.
    }
  }

  private closeSocket(socket: ShimSocket): void {
    if (socket.closed) return;
    socket.closed = true;
    for (const waiting of socket.acceptQueue.splice(0)) this.closeSocket(waiting.socket);
    try {
      this.sockets.close(socket.id);
    } catch {
      // Already closed.
    }
    socket.data?.destroy();
    // Kept a while for the calls that may still ask about it (the error at the end of the stream).
    setTimeout(() => this.table.delete(socket.id), 30_000).unref();
  }
}

/**
 * Stops reading a connection now. Node's pause() only stops the 'data' events: the socket goes
 * on reading into its buffer up to the high-water mark, and a non-blocking connect's filler must
 * stay in the kernel (the program's descriptor turns writable the moment it is read). resume()
 * starts reading again (Socket's _read restarts the handle).
 */
function stopReading(connection: Socket): void {
  connection.pause();
  const handle = (connection as unknown as { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle?.reading && handle.readStop) {
    handle.reading = false;
    handle.readStop();
  }
}

/** Reads a connection again after stopReading (its handle first: resume() alone may not restart it). */
function startReading(connection: Socket): void {
  const handle = (connection as unknown as { _handle?: { reading?: boolean; readStart?: () => number } })._handle;
  if (handle && !handle.reading && handle.readStart && !connection.destroyed) {
    handle.reading = true;
    handle.readStart();
  }
  connection.resume();
}

/**
 * TCP_INFO as the program's `struct tcp_info` (include/uapi/linux/tcp.h, 248 bytes on x86-64:
 * eight single-byte fields, the two window scales in one byte's nibbles, then the __u32 and
 * __u64 fields in the header's order); the library copies what fits the caller's length, as
 * Linux's do_tcp_getsockopt does.
 */
export function encodeTcpInfo(info: TcpInfo): Buffer {
  const out = Buffer.alloc(248);
  [info.state, info.ca_state, info.retransmits, info.probes, info.backoff, info.options].forEach((value, i) => (out[i] = value & 0xff));
  out[6] = (info.snd_wscale & 0xf) | ((info.rcv_wscale & 0xf) << 4);
  out[7] = (info.delivery_rate_app_limited & 1) | ((info.fastopen_client_fail & 3) << 1);
  const u32 = (offset: number, value: number) => out.writeUInt32LE(Math.max(0, Math.min(0xffffffff, Math.floor(value))), offset);
  // Linux's "unlimited" (~0ULL, max_pacing_rate) arrives as 2^64 or Infinity: it stays all ones.
  const u64 = (offset: number, value: number) =>
    out.writeBigUInt64LE(Number.isFinite(value) && value < 2 ** 64 ? BigInt(Math.max(0, Math.floor(value))) : 0xffffffffffffffffn, offset);
  const words: Array<keyof TcpInfo> = [
    'rto',
    'ato',
    'snd_mss',
    'rcv_mss',
    'unacked',
    'sacked',
    'lost',
    'retrans',
    'fackets',
    'last_data_sent',
    'last_ack_sent',
    'last_data_recv',
    'last_ack_recv',
    'pmtu',
    'rcv_ssthresh',
    'rtt',
    'rttvar',
    'snd_ssthresh',
    'snd_cwnd',
    'advmss',
    'reordering',
    'rcv_rtt',
    'rcv_space',
    'total_retrans',
  ];
  words.forEach((key, i) => u32(8 + 4 * i, info[key]));
  u64(104, info.pacing_rate);
  u64(112, info.max_pacing_rate);
  u64(120, info.bytes_acked);
  u64(128, info.bytes_received);
  (['segs_out', 'segs_in', 'notsent_bytes', 'min_rtt', 'data_segs_in', 'data_segs_out'] as const).forEach((key, i) => u32(136 + 4 * i, info[key]));
  u64(160, info.delivery_rate);
  u64(168, info.busy_time);
  u64(176, info.rwnd_limited);
  u64(184, info.sndbuf_limited);
  u32(192, info.delivered);
  u32(196, info.delivered_ce);
  u64(200, info.bytes_sent);
  u64(208, info.bytes_retrans);
  (['dsack_dups', 'reord_seen', 'rcv_ooopack', 'snd_wnd', 'rcv_wnd', 'rehash'] as const).forEach((key, i) => u32(216 + 4 * i, info[key]));
  out.writeUInt16LE(Math.min(0xffff, info.total_rto), 240);
  out.writeUInt16LE(Math.min(0xffff, info.total_rto_recoveries), 242);
  u32(244, info.total_rto_time);
  return out;
}

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32LE(value | 0, 0);
  return out;
}

/** A setsockopt value as the program gave it, as BerkeleySockets.setsockopt takes it. */
function decodeOption(level: number, name: number, bytes: Buffer): number | string | { onoff: number; linger: number } {
  if (level === C.SOL_SOCKET && name === C.SO_LINGER) {
    if (bytes.length < 8) throw new ErrnoError('EINVAL', 'setsockopt');
    return { onoff: bytes.readInt32LE(0), linger: bytes.readInt32LE(4) };
  }
  if (level === C.IPPROTO_TCP && name === C.TCP_CONGESTION) {
    const end = bytes.indexOf(0);
    return bytes.subarray(0, end < 0 ? bytes.length : end).toString('latin1');
  }
  if (level === C.IPPROTO_IP && (name === C.IP_ADD_MEMBERSHIP || name === C.IP_DROP_MEMBERSHIP || name === C.IP_MULTICAST_IF)) {
    if (bytes.length < 4) throw new ErrnoError('EINVAL', 'setsockopt');
    return addressText(bytes.subarray(0, 4)); // struct ip_mreq's group, or an in_addr
  }
  if (bytes.length >= 4) return bytes.readInt32LE(0);
  if (bytes.length >= 1) return bytes[0]; // Linux takes one byte for some IP options (ip_setsockopt)
  throw new ErrnoError('EINVAL', 'setsockopt');
}

/** Used by tests: the four bytes of an address, as the library sends them. */
export const encodeAddress = addressBytes;
