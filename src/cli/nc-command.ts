/**
 * `ustack nc`: netcat over ustack, on the same device setup as `ustack up`, written on the
 * stack's Node API (`stack.net`, `stack.dgram`). Client by default, listener with `-l` (one
 * connection, or the first UDP sender, as OpenBSD nc does), UDP with `-u`, IPv6 with `-6`
 * (HOST an IPv6 address; the device needs `--addr6`). stdin goes to the
 * socket and the socket to stdout; EOF on stdin half-closes a TCP connection (like `nc -N`) and
 * the command ends once the peer has closed its side too. When stdin is a file (or with
 * `--progress`) a progress line on stderr shows the bytes and the rate, a few times a second.
 *
 *   sudo npx ustack nc --netns ns 10.77.0.1 5000 < file       to `ip netns exec ns nc -l 5000`
 *   sudo npx ustack nc --netns ns -l 5000 > file              from `ip netns exec ns nc 10.77.0.2 5000`
 *   sudo npx ustack nc --netns ns -u -q 1 10.77.0.1 5000 < file
 *   sudo npx ustack nc --netns ns --addr6 fd00:7::2/64 -6 fd00:7::1 5000 < file
 */
import { fstatSync } from 'node:fs';
import { describeErrno, Errno, type ErrnoCode } from '../core/errno.js';
import type { Readable, Writable } from 'node:stream';
import { parseIpv4Address } from '../ip/address.js';
import { parseIpv6Address } from '../ip/ipv6-address.js';
import type { TunLink } from '../link/tun.js';
import type { DgramSocket, RemoteInfo } from '../socket-api/dgram.js';
import type { NetSocket } from '../socket-api/net-socket.js';
import type { Stack } from '../socket-api/stack.js';
import { accepts, parseCommandLine, UsageError, type OptionSpecs } from './arguments.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, deviceConfig, ipv6AddressesUsable, openDevice, type OpenDevice } from './device-setup.js';

/** OpenBSD nc's flags that ustack nc does not take, and why. */
export const NC_REFUSED: Readonly<Record<string, string>> = {
  k: 'OpenBSD nc keeps listening after a connection with it; ustack nc serves one (run it again, or `ustack up --serve`)',
  U: "Unix-domain sockets are not ustack's (use the system nc)",
  d: 'not supported (ustack nc always reads stdin)',
  D: 'SO_DEBUG is not supported',
  t: 'telnet negotiation is not supported',
  T: 'setting the TOS / DSCP is not supported',
  C: 'CRLF line endings are not supported',
  I: 'setting the receive buffer size is not supported',
  O: 'setting the send buffer size is not supported',
  S: 'TCP MD5 signatures are not supported',
  c: 'TLS is not supported',
  e: 'TLS is not supported',
  x: 'proxies are not supported',
  X: 'proxies are not supported',
  P: 'proxies are not supported',
  M: 'setting the TTL is not supported',
  m: 'a minimum TTL is not supported',
  b: 'broadcast is not supported',
  F: 'passing the descriptor is not supported',
  Z: 'TLS is not supported',
  R: 'TLS is not supported',
  K: 'TLS is not supported',
  H: 'TLS is not supported',
  o: 'TLS is not supported',
  V: 'routing tables are not supported',
};

/** Help text of `ustack nc`. */
export const NC_USAGE = `usage: ustack nc [device options] [-46Nnuvz] [-w SECS] [-q SECS] [-p PORT] [-s ADDR] HOST PORT
       ustack nc [device options] -l [-46uv] [HOST] PORT      (needs root or CAP_NET_ADMIN)

OpenBSD nc's flags:
  -l                    listen on PORT (at HOST, default any address) for one connection, or
                        with -u for the first sender's datagrams (-l -p PORT works too)
  -u                    UDP (each read of stdin is sent as datagrams of at most MTU - 28 bytes,
                        MTU - 48 over IPv6)
  -N                    shut down the sending side after EOF on stdin (always so here: EOF
                        half-closes TCP, and nc ends once the peer has closed too)
  -z                    connect and send nothing: is the TCP port open? (exit 0 if so, 1 if not)
  -v                    say when connected / listening on stderr
  -w SECS               give up connecting, or quit when idle, after SECS
  -q SECS               after EOF on stdin, wait SECS, then quit (default: TCP waits for the
                        peer to close; UDP waits for -w, or Ctrl-C)
  -p PORT               connect from this source port
  -s ADDR               connect (or listen) from this address of ustack's
  -4                    IPv4 only: HOST and -s are IPv4 addresses (the default for -l without HOST)
  -6                    IPv6 only: HOST and -s are IPv6 addresses, -l without HOST listens on ::
                        (the device needs --addr6; IPv4 clients still reach ::, as on Linux)
  -n                    accepted: addresses are numeric always (there is no DNS client)
  not supported: ${Object.keys(NC_REFUSED)
    .map((flag) => `-${flag}`)
    .join(' ')} (each says why)

ustack's own:
  --progress            a progress line on stderr (on by default when stdin is a file)
  --for SECONDS         stop by itself after SECONDS

device options (as ustack up):
${DEVICE_USAGE}`;

/** The options of `ustack nc`: OpenBSD nc's (the short names), ustack's, and the device's. */
export const NC_OPTIONS = {
  ...DEVICE_OPTIONS,
  listen: { type: 'boolean', short: 'l' },
  udp: { type: 'boolean', short: 'u' },
  'half-close': { type: 'boolean', short: 'N' },
  zero: { type: 'boolean', short: 'z' },
  numeric: { type: 'boolean', short: 'n' },
  ipv4: { type: 'boolean', short: '4' },
  ipv6: { type: 'boolean', short: '6' },
  wait: { type: 'string', short: 'w', takes: 'SECONDS', accepts: accepts.seconds },
  quit: { type: 'string', short: 'q', takes: 'SECONDS', accepts: accepts.seconds },
  'source-port': { type: 'string', short: 'p', takes: 'a PORT from 1 to 65535', accepts: accepts.integer(1, 65535) },
  source: { type: 'string', short: 's', takes: 'an IPv4 or IPv6 ADDRESS', accepts: (value: string) => accepts.ipv4(value) || parseIpv6Address(value) !== null },
  verbose: { type: 'boolean', short: 'v' },
  progress: { type: 'boolean' },
  for: { type: 'string', takes: 'SECONDS', accepts: accepts.seconds },
} as const satisfies OptionSpecs;

/** Options a caller (or test) can add to the command-line arguments. */
export interface NcControls {
  /** Stops the command when aborted (as Ctrl-C does). */
  readonly signal?: AbortSignal;
  /** Called once listening (-l) or about to connect. */
  readonly onReady?: (info: { stack: Stack; link: TunLink }) => void;
  /** Default process.stdin / process.stdout / process.stderr. */
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  /** How many bytes stdin holds (a file): shown as a percentage; turns the progress line on. */
  readonly inputSize?: number;
}

/** What nc says about an error: strerror() text for errno errors (`Connection refused`), else the message. */
function describe(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code in Errno ? describeErrno(code as ErrnoCode) : error.message;
}

/** Updates of the progress line, at most this often. */
const PROGRESS_INTERVAL_MS = 250;

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

/** The progress line: bytes each way and the rate, redrawn in place (`\r`) at most 4 times a second. */
export class ProgressLine {
  sent = 0;
  received = 0;
  private readonly started = Date.now();
  private lastActivity = this.started;
  private lastDrawn = -Infinity;
  private width = 0;

  constructor(
    private readonly out: Writable,
    private readonly total: number | undefined,
  ) {}

  /** The line's text now; the rate is over the time until the last byte moved. */
  text(now = Date.now()): string {
    const seconds = Math.max(0.001, (Math.min(now, this.lastActivity) - this.started) / 1000);
    const percent = this.total ? ` (${Math.min(100, Math.floor((this.sent / this.total) * 100))}%)` : '';
    const rate = formatBytes((this.sent + this.received) / seconds);
    return `${this.sent} bytes sent${percent}, ${this.received} received, ${seconds.toFixed(1)} s, ${rate}/s`;
  }

  /** Redraws if the last drawing is old enough. */
  update(): void {
    const now = Date.now();
    this.lastActivity = now;
    if (now - this.lastDrawn < PROGRESS_INTERVAL_MS) return;
    this.lastDrawn = now;
    this.draw(this.text(now), '');
  }

  /** The final line, with its newline. */
  finish(): void {
    this.draw(this.text(), '\n');
  }

  private draw(text: string, end: string): void {
    const padding = ' '.repeat(Math.max(0, this.width - text.length));
    this.width = text.length;
    this.out.write(`\r${text}${padding}${end}`);
  }
}

/** Milliseconds of an option in seconds (checked when parsed). */
function seconds(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text) * 1000;
}

function stdinIsFile(stdin: Readable): number | undefined {
  if (stdin !== process.stdin) return undefined;
  try {
    const stat = fstatSync(0);
    return stat.isFile() ? stat.size : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `ustack nc ARGS`; resolves with the exit code once the transfer is over. */
export async function runNc(args: string[], controls: NcControls = {}): Promise<number> {
  const stdin = controls.stdin ?? process.stdin;
  const stdout = controls.stdout ?? process.stdout;
  const stderr = controls.stderr ?? process.stderr;
  const { values, positionals, help } = parseCommandLine('nc', args, NC_OPTIONS, { maxPositionals: 2, refused: NC_REFUSED });
  if (help) {
    stdout.write(NC_USAGE);
    return 0;
  }
  const fail = (text: string): never => {
    throw new UsageError(`ustack nc: ${text}`);
  };
  const listen = Boolean(values.listen);
  // `nc -l -p PORT` (traditional netcat) and `nc -l PORT` (OpenBSD) both listen on PORT.
  const listenPort = listen && values['source-port'] !== undefined;
  if (listenPort && positionals.length === 2) fail('-l -p PORT takes no HOST PORT (or give -l [HOST] PORT)');
  const words = listenPort ? [...positionals, values['source-port']!] : positionals;
  if (listen ? words.length < 1 || words.length > 2 : words.length !== 2)
    fail(listen ? 'which PORT to listen on? (-l [HOST] PORT)' : 'give HOST PORT (`ustack nc --help`)');
  if (listen && words.length === 2 && values.source !== undefined) fail('give -s ADDRESS or HOST, not both');
  if (values.ipv4 && values.ipv6) fail('-4 and -6 exclude each other');
  const host = listen ? (words.length === 2 ? words[0] : (values.source ?? (values.ipv6 ? '::' : '0.0.0.0'))) : words[0];
  const portText = words.at(-1)!;
  // As OpenBSD nc: -4 and -6 restrict HOST (and -s) to their family; without either, a literal
  // of either family is taken. There is no DNS client, so names are refused.
  const family = familyOf(host) as 4 | 6;
  if ((family as number) === 0 || (values.ipv4 && family !== 4) || (values.ipv6 && family !== 6))
    fail(`HOST takes an ${values.ipv6 ? 'IPv6' : values.ipv4 ? 'IPv4' : 'IPv4 or IPv6'} address, not '${host}' (there is no DNS client)`);
  if (!listen && values.source !== undefined && familyOf(values.source) !== family) fail(`-s ${values.source} is not of HOST's address family`);
  if (!accepts.integer(1, 65535)(portText)) fail(`PORT takes a number from 1 to 65535, not '${portText}'${portText.includes('-') ? ' (no port ranges)' : ''}`);
  const port = Number(portText);
  if (values.zero && (listen || values.udp)) fail(`-z (connect, send nothing) is for a TCP client, not with ${listen ? '-l' : '-u'}`);
  const local = listen ? undefined : { address: values.source, port: values['source-port'] === undefined ? undefined : Number(values['source-port']) };
  const idleMs = seconds(values.wait);
  const quitMs = seconds(values.quit);
  const forMs = seconds(values.for);
  const config = deviceConfig('nc', values);
  const inputSize = controls.inputSize ?? stdinIsFile(stdin);
  const progress = !values.zero && (values.progress || inputSize !== undefined) ? new ProgressLine(stderr, inputSize) : null;
  const say = (line: string) => {
    if (values.verbose) stderr.write(`${progress ? '\n' : ''}${line}\n`);
  };

  if (family === 6 && config.address6 === undefined) fail('-6 (an IPv6 HOST) needs an IPv6 address on the device: give --addr6 (fd00:7::2/64)');
  const device = openDevice(config);
  const session = new Session(device, family, stdin, stdout, stderr, progress, idleMs, quitMs, local);
  const interrupt = () => session.finish(130);
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  controls.signal?.addEventListener('abort', interrupt);
  const stopTimer = forMs === undefined ? undefined : setTimeout(() => session.finish(0), forMs);
  try {
    await ipv6AddressesUsable(device);
    const ready = () => controls.onReady?.({ stack: device.stack, link: device.link });
    if (values.udp) session.udp(host, port, listen, ready, say);
    else if (values.zero) session.probe(host, port, ready, say);
    else session.tcp(host, port, listen, ready, say);
    const code = await session.done;
    progress?.finish();
    return code;
  } catch (error) {
    progress?.finish();
    throw error;
  } finally {
    clearTimeout(stopTimer);
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    controls.signal?.removeEventListener('abort', interrupt);
    device.close();
  }
}

/** 4 or 6 for an address literal of that family, else 0. */
function familyOf(address: string): 0 | 4 | 6 {
  if (parseIpv4Address(address) !== null) return 4;
  return parseIpv6Address(address) !== null ? 6 : 0;
}

/** One nc run: the socket, stdin and stdout between them, and the timers that end it. */
class Session {
  private resolve!: (code: number) => void;
  readonly done = new Promise<number>((resolve) => (this.resolve = resolve));
  private finished = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private quitTimer: NodeJS.Timeout | undefined;
  private readonly cleanups: Array<() => void> = [];
  /** Largest UDP payload that leaves unfragmented. */
  private readonly maxDatagram: number;

  constructor(
    private readonly device: OpenDevice,
    /** HOST's address family: 6 makes UDP sockets udp6 and datagrams 20 bytes smaller. */
    private readonly family: 4 | 6,
    private readonly stdin: Readable,
    private readonly stdout: Writable,
    private readonly stderr: Writable,
    private readonly progress: ProgressLine | null,
    private readonly idleMs: number | undefined,
    private readonly quitMs: number | undefined,
    /** -s / -p: where a client connects or sends from. */
    private readonly local: { readonly address?: string; readonly port?: number } = {},
  ) {
    // The IPv6 header is 40 bytes, IPv4's 20 (without options); UDP's 8.
    this.maxDatagram = device.mtu - (family === 6 ? 48 : 28);
  }

  /** Ends the run with `code` (the first call wins). */
  finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.quitTimer);
    for (const cleanup of this.cleanups.reverse()) cleanup();
    this.stdin.pause();
    // process.stdin would keep the process alive (a terminal or a pipe): we are done with it.
    if (this.stdin === process.stdin) process.stdin.destroy();
    this.resolve(code);
  }

  private fail(message: string): void {
    if (this.finished) return;
    this.stderr.write(`${this.progress ? '\n' : ''}nc: ${message}\n`);
    this.finish(1);
  }

  /** Set while a TCP connect is under way: -w running out then is a failure. */
  private connecting: string | null = null;

  /** (Re)starts the -w idle timer. */
  private touch(): void {
    if (this.idleMs === undefined || this.finished) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => (this.connecting ? this.fail(`${this.connecting}: Operation timed out`) : this.finish(0)), this.idleMs);
  }

  /** After EOF on stdin: the -q timer. */
  private stdinEnded(): void {
    if (this.quitMs === undefined || this.finished) return;
    this.quitTimer = setTimeout(() => this.finish(0), this.quitMs);
  }

  private output(data: Buffer): void {
    this.touch();
    if (this.progress) {
      this.progress.received += data.length;
      this.progress.update();
    }
    this.stdout.write(data);
  }

  private counted(length: number): void {
    this.touch();
    if (this.progress) {
      this.progress.sent += length;
      this.progress.update();
    }
  }

  /** -z: connects, sends nothing, closes; 0 if the port answered, 1 if not. */
  probe(host: string, port: number, ready: () => void, say: (line: string) => void): void {
    const socket = this.device.stack.net.connect({ host, port, localAddress: this.local.address, localPort: this.local.port });
    this.cleanups.push(() => socket.destroy());
    this.connecting = `connect to ${host} port ${port} (tcp) failed`;
    socket.once('connect', () => {
      this.connecting = null;
      say(`Connection to ${host} ${port} port [tcp/*] succeeded!`);
      socket.end();
      this.finish(0);
    });
    socket.once('error', (error: Error) => this.fail(`connect to ${host} port ${port} (tcp) failed: ${describe(error)}`));
    this.touch();
    ready();
  }

  tcp(host: string, port: number, listen: boolean, ready: () => void, say: (line: string) => void): void {
    const net = this.device.stack.net;
    if (!listen) {
      const socket = net.connect({ host, port, allowHalfOpen: true, localAddress: this.local.address, localPort: this.local.port });
      this.cleanups.push(() => socket.destroy());
      this.connecting = `connect to ${host} port ${port} (tcp) failed`;
      socket.once('connect', () => {
        this.connecting = null;
        say(`Connection to ${host} ${port} port [tcp] succeeded!`);
        this.pump(socket);
      });
      socket.once('error', (error: Error) => this.fail(`connect to ${host} port ${port} (tcp) failed: ${describe(error)}`));
      this.touch();
      ready();
      return;
    }
    const server = net.createServer({ allowHalfOpen: true });
    this.cleanups.push(() => server.close());
    server.once('connection', (socket: NetSocket) => {
      server.close(); // one connection, as nc -l
      this.cleanups.push(() => socket.destroy());
      say(`Connection received on ${socket.remoteAddress} ${socket.remotePort}`);
      this.touch();
      this.pump(socket);
    });
    server.once('error', (error: Error) => this.fail(`listen on ${host} port ${port}: ${describe(error)}`));
    server.listen(port, host, () => {
      say(`Listening on ${host} ${port}`);
      ready();
    });
  }

  /** stdin → socket (EOF half-closes), socket → stdout; over when the socket has closed. */
  private pump(socket: NetSocket): void {
    socket.on('data', (data: Buffer) => this.output(data));
    socket.once('error', (error: Error) => this.fail(describe(error)));
    socket.once('close', () => this.finish(0));
    // Once the peer has finished sending and we have too, the socket closes; if stdin is still
    // open then, nc stops reading it (the connection is over).
    socket.once('end', () => {
      if (!this.stdin.readableEnded) {
        this.stdin.unpipe(socket);
        socket.end();
      }
    });
    this.stdin.on('data', (chunk: Buffer) => this.counted(chunk.length));
    this.stdin.once('end', () => this.stdinEnded());
    this.stdin.pipe(socket);
    this.cleanups.push(() => this.stdin.unpipe(socket));
  }

  udp(host: string, port: number, listen: boolean, ready: () => void, say: (line: string) => void): void {
    const socket: DgramSocket = this.device.stack.dgram.createSocket(this.family === 6 ? 'udp6' : 'udp4');
    this.cleanups.push(() => {
      try {
        socket.close();
      } catch {
        // Already closed.
      }
    });
    socket.on('error', (error: Error) => this.fail(describe(error)));
    let peer: { address: string; port: number } | null = null;
    const startSending = () => {
      this.stdin.on('data', (chunk: Buffer) => {
        // Sent as datagrams that fit the MTU; stdin waits until the stack has taken them all.
        if (chunk.length === 0) return;
        this.stdin.pause();
        let pending = 0;
        for (let offset = 0; offset < chunk.length; offset += this.maxDatagram) {
          const piece = chunk.subarray(offset, offset + this.maxDatagram);
          pending++;
          socket.send(piece, peer!.port, peer!.address, (error: Error | null) => {
            if (error) return this.fail(describe(error));
            this.counted(piece.length);
            if (--pending === 0 && !this.finished) this.stdin.resume();
          });
        }
      });
      this.stdin.once('end', () => this.stdinEnded());
      this.stdin.resume();
    };
    socket.on('message', (message: Buffer, rinfo: RemoteInfo) => {
      if (!peer) {
        peer = { address: rinfo.address, port: rinfo.port };
        say(`Connection received on ${rinfo.address} ${rinfo.port}`);
        startSending();
      } else if (rinfo.address !== peer.address || rinfo.port !== peer.port) return;
      this.output(message);
    });
    if (listen) {
      socket.bind(port, host, () => {
        say(`Bound on ${host} ${port}`);
        ready();
      });
      return;
    }
    socket.bind(this.local.port ?? 0, this.local.address, () => {
      peer = { address: host, port };
      say(`Sending to ${host} ${port} [udp]`);
      this.touch();
      ready();
      startSending();
    });
  }
}
