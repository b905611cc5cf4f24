/**
 * An iperf3-compatible server over ustack (TCP tests): the machine's own `iperf3 -c` measures a
 * ustack stack, forward (`iperf3 -c HOST`, the client sends) or reverse (`-R`, we send), with
 * any number of parallel streams (`-P`).
 *
 * iperf3's protocol, as its server speaks it: a control connection opens with the client's
 * 37-byte cookie; the server steers the test by single state bytes — PARAM_EXCHANGE (the client
 * answers with its parameters as JSON after a 4-byte big-endian length), CREATE_STREAMS (the
 * client opens its data connections to the same port, each starting with the same cookie),
 * TEST_START and TEST_RUNNING (data flows); the client's TEST_END stops it, EXCHANGE_RESULTS
 * swaps results as length-prefixed JSON (client first), DISPLAY_RESULTS lets the client print,
 * and its IPERF_DONE ends the test. Stream ids go 1, 3, 4, … as iperf3 numbers them. One test
 * runs at a time; a connection arriving meanwhile gets ACCESS_DENIED, as from iperf3 itself.
 * UDP tests (`-u`) are not served: the control connection is closed.
 */
import type { NetSocket } from '../src/socket-api/net-socket.js';
import type { Stack } from '../src/socket-api/stack.js';

/** An IPv4 peer of a dual-stack (`::`) listener as its IPv4 address (`::ffff:10.7.0.1` → `10.7.0.1`), for log lines. */
export function unmapped(address: string | undefined): string {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : String(address);
}

/** iperf3's default port. */
export const IPERF3_PORT = 5201;

const COOKIE_SIZE = 37;
/** The largest JSON message taken from a client (parameters, results): bounds what we buffer. */
const MAX_JSON = 1024 * 1024;
const State = {
  TEST_START: 1,
  TEST_RUNNING: 2,
  TEST_END: 4,
  PARAM_EXCHANGE: 9,
  CREATE_STREAMS: 10,
  CLIENT_TERMINATE: 12,
  EXCHANGE_RESULTS: 13,
  DISPLAY_RESULTS: 14,
  IPERF_DONE: 16,
  ACCESS_DENIED: -1,
} as const;

/** Bytes of a connection, handed out on request (the control protocol's framing). */
class Reader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiting: { readonly size: number; readonly resolve: (data: Buffer) => void; readonly reject: (error: Error) => void } | null = null;
  private ended = false;

  constructor(socket: NetSocket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.settle();
    });
    socket.on('close', () => {
      this.ended = true;
      this.settle();
    });
  }

  /** The next `size` bytes, once they arrived (rejects if the connection ends first). */
  take(size: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting = { size, resolve, reject };
      this.settle();
    });
  }

  /** Everything buffered so far, after which new data goes to `onData` instead. */
  detach(onData: (chunk: Buffer) => void, socket: NetSocket): Buffer {
    socket.removeAllListeners('data');
    socket.on('data', onData);
    const rest = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }

  private settle(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    if (this.buffered >= waiting.size) {
      this.waiting = null;
      const all = Buffer.concat(this.chunks);
      this.chunks = all.length > waiting.size ? [all.subarray(waiting.size)] : [];
      this.buffered = all.length - waiting.size;
      waiting.resolve(all.subarray(0, waiting.size));
    } else if (this.ended) {
      this.waiting = null;
      waiting.reject(new Error('the connection closed'));
    }
  }
}

/** One data connection of a test. */
interface DataStream {
  readonly id: number;
  readonly socket: NetSocket;
  bytes: number;
}

/** The test in progress: its cookie, what the client asked for, and its streams. */
interface Test {
  readonly cookie: string;
  expectedStreams: number;
  reverse: boolean;
  blockSize: number;
  readonly streams: DataStream[];
  streamsReady: (() => void) | null;
  startedAt: number;
  running: boolean;
}

/** Starts the server on `port` of every address of `stack`; returns what stops it. */
export function startIperf3Server(stack: Stack, port = IPERF3_PORT, log: (line: string) => void = () => {}): () => void {
  let test: Test | null = null;

  const accept = async (socket: NetSocket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {}); // a reset ends its test below, through 'close'
    const reader = new Reader(socket);
    let cookie: string;
    try {
      cookie = (await reader.take(COOKIE_SIZE)).toString('latin1');
    } catch {
      return;
    }
    if (test && test.cookie === cookie && test.streams.length < test.expectedStreams && !test.running) {
      addStream(test, socket, reader);
      return;
    }
    if (test) {
      socket.end(Buffer.from([State.ACCESS_DENIED & 0xff]));
      return;
    }
    const current: Test = { cookie, expectedStreams: 1, reverse: false, blockSize: 128 * 1024, streams: [], streamsReady: null, startedAt: 0, running: false };
    test = current;
    try {
      await control(current, socket, reader);
    } catch (error) {
      log(`iperf3: test ended early: ${(error as Error).message}`);
    } finally {
      for (const stream of current.streams) stream.socket.destroy();
      socket.destroy();
      if (test === current) test = null;
    }
  };

  const addStream = (current: Test, socket: NetSocket, reader: Reader) => {
    // iperf3 numbers its streams 1, 3, 4, … (it keeps that for compatibility between versions).
    const stream: DataStream = { id: current.streams.length === 0 ? 1 : current.streams.length + 2, socket, bytes: 0 };
    current.streams.push(stream);
    stream.bytes += reader.detach((chunk) => (stream.bytes += chunk.length), socket).length;
    if (current.streams.length === current.expectedStreams) current.streamsReady?.();
  };

  const control = async (current: Test, socket: NetSocket, reader: Reader) => {
    const send = (state: number) => socket.write(Buffer.from([state & 0xff]));
    const readJson = async (): Promise<Record<string, unknown>> => {
      const length = (await reader.take(4)).readUInt32BE(0);
      if (length > MAX_JSON) throw new Error(`a ${length}-byte JSON message is more than iperf3 ever sends`);
      return JSON.parse((await reader.take(length)).toString('utf8')) as Record<string, unknown>;
    };
    send(State.PARAM_EXCHANGE);
    const params = await readJson();
    if (params.tcp !== true) throw new Error('only TCP tests are served (not -u)');
    current.expectedStreams = typeof params.parallel === 'number' && params.parallel > 0 ? params.parallel : 1;
    current.reverse = params.reverse === true;
    current.blockSize = typeof params.len === 'number' && params.len > 0 ? params.len : 128 * 1024;
    log(`iperf3: a test from ${unmapped(socket.remoteAddress)}: ${current.expectedStreams} stream(s), ${current.reverse ? 'we send' : 'we receive'}`);
    const ready = new Promise<void>((resolve) => (current.streamsReady = resolve));
    send(State.CREATE_STREAMS);
    await ready;
    current.startedAt = performance.now();
    current.running = true;
    send(State.TEST_START);
    send(State.TEST_RUNNING);
    if (current.reverse) for (const stream of current.streams) pump(current, stream);
    for (;;) {
      const state = (await reader.take(1)).readInt8(0);
      if (state === State.TEST_START) continue;
      if (state === State.CLIENT_TERMINATE || state === State.IPERF_DONE) return;
      if (state !== State.TEST_END) throw new Error(`unexpected state ${state}`);
      break;
    }
    current.running = false;
    const seconds = (performance.now() - current.startedAt) / 1000;
    for (const stream of current.streams) stream.socket.destroy();
    send(State.EXCHANGE_RESULTS);
    await readJson(); // the client's results: printed by the client, not needed here
    const results = {
      cpu_util_total: 0,
      cpu_util_user: 0,
      cpu_util_system: 0,
      sender_has_retransmits: current.reverse ? 1 : -1,
      streams: current.streams.map((stream) => ({
        id: stream.id,
        bytes: stream.bytes,
        retransmits: current.reverse ? 0 : -1,
        jitter: 0,
        errors: 0,
        omitted_errors: 0,
        packets: 0,
        omitted_packets: 0,
        start_time: 0,
        end_time: seconds,
      })),
    };
    const body = Buffer.from(JSON.stringify(results));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length, 0);
    socket.write(Buffer.concat([header, body]));
    send(State.DISPLAY_RESULTS);
    log(`iperf3: ${current.reverse ? 'sent' : 'received'} ${current.streams.reduce((sum, s) => sum + s.bytes, 0)} bytes in ${seconds.toFixed(2)} s`);
    try {
      while ((await reader.take(1)).readInt8(0) !== State.IPERF_DONE);
    } catch {
      // The client may simply close.
    }
  };

  /** Reverse mode: keep the stream's send buffer full until the test stops. */
  const pump = (current: Test, stream: DataStream) => {
    const block = Buffer.alloc(current.blockSize);
    const fill = () => {
      while (current.running && !stream.socket.destroyed) {
        stream.bytes += block.length;
        if (!stream.socket.write(block)) return void stream.socket.once('drain', fill);
      }
    };
    fill();
  };

  // On :: as iperf3 -s listens on Linux: IPv6 clients (iperf3 -6) and IPv4 ones, these as ::ffff:a.b.c.d.
  const server = stack.net.createServer((socket: NetSocket) => void accept(socket)).listen(port, '::');
  return () => {
    server.close();
    for (const stream of test?.streams ?? []) stream.socket.destroy();
  };
}
