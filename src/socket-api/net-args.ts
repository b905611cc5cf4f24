/**
 * The argument forms of Node's `connect()` and `listen()` and the options they take:
 * `(options[, cb])`, `(path[, cb])`, `([port][, host][, …][, cb])`, normalized to
 * `[options, cb]` exactly as Node reads them (a numeric string is a port, any other string a
 * pipe path).
 */
import type { BlockList } from 'node:net';
import type { DuplexOptions } from 'node:stream';
import type { TcpConnection } from '../tcp/connection.js';
import type { LookupFunction } from './node-support.js';

/** Constructor option carrying an accepted connection (the server's use only). */
export const kConnection = Symbol('ustack.net.connection');
/** Internal option: the accepted connection came through an IPv6 (`::`) server, which shows IPv4 peers as ::ffff:a.b.c.d. */
export const kIpv6Server = Symbol('ustack.net.ipv6Server');
/** Internal socket methods the connect path calls (see net-connect.ts). */
export const kTouch = Symbol('ustack.net.touch');
export const kInternalConnect = Symbol('ustack.net.internalConnect');
/** Internal socket members the family-racing connect (RFC 8305, net-connect.ts) uses. */
export const kAttempt = Symbol('ustack.net.attempt');
export const kAttempts = Symbol('ustack.net.attempts');
export const kReinitializeHandle = Symbol('ustack.net.reinitializeHandle');
/** Marks an argument array already normalized by `normalizeArgs`. */
export const kNormalized = Symbol('ustack.net.normalizedArgs');

/** Options of `new net.Socket()` and `net.connect()`. */
export interface NetSocketOptions extends DuplexOptions {
  /** Keep the writable side open after the peer's FIN (Node: if false, end it when the readable side ends). Default false. */
  allowHalfOpen?: boolean;
  /** Node: allow reads on a socket wrapping an existing handle. For an accepted socket, `false` keeps it from starting to read. */
  readable?: boolean;
  /** Node: allow writes on a socket wrapping an existing handle; handed to `stream.Duplex` as is. */
  writable?: boolean;
  /** Disable Nagle's algorithm once connected, as `setNoDelay(true)` (TCP_NODELAY). Default false. */
  noDelay?: boolean;
  /** Turn keepalive on once connected, as `setKeepAlive(true)` (SO_KEEPALIVE). Default false. */
  keepAlive?: boolean;
  /** Idle time in ms before the first keepalive probe; 0 (the default) keeps the stack's. Whole seconds count. */
  keepAliveInitialDelay?: number;
  /** Node: wrap an existing file descriptor. Not available here: giving one throws ERR_FEATURE_UNAVAILABLE_ON_PLATFORM. */
  fd?: number;
  /** For an accepted socket: start paused, not reading (the server's `pauseOnConnect`). */
  pauseOnCreate?: boolean;
  /** Reads go into `buffer` (or a buffer the function returns) and to `callback`, not to 'data'. */
  onread?: {
    /** Where reads go: one buffer reused, or a function returning the buffer for each read. */
    buffer: Uint8Array | (() => Uint8Array);
    /** Called with the number of bytes read into `buffer`; returning false pauses reading. */
    callback: (bytes: number, buffer: Uint8Array) => unknown;
  } | null;
  /** Connecting to an address it blocks fails with ERR_IP_BLOCKED (Node 22.13+). */
  blockList?: BlockList;
  /** The accepted connection the socket wraps (set by the server only). */
  [kConnection]?: TcpConnection;
  /** Set with kConnection when the server listens on IPv6. */
  [kIpv6Server]?: boolean;
}

/** Options of `socket.connect()` / `net.connect()`. */
export interface NetConnectOptions extends NetSocketOptions {
  /** The port to connect to; required unless `path` is given. A numeric string is a port. */
  port?: number | string;
  /** The host to connect to: an IP literal, or a name for `lookup`. Default `localhost`. */
  host?: string;
  /** The local address to connect from (bound first, as libuv does, with SO_REUSEADDR). */
  localAddress?: string;
  /** The local port to connect from. */
  localPort?: number;
  /** IP version for the lookup: 4, 6 or 0 (either); `IPv4` and `IPv6` are accepted too. */
  family?: number | string;
  /** `dns.lookup()` hints, passed on to `lookup`. */
  hints?: number;
  /** Resolves `host` to an address, with the signature of `dns.lookup()`; default the stack's resolver. */
  lookup?: LookupFunction;
  /** Given to `net.connect()`: `setTimeout(timeout)` is called before connecting (ms of idleness). */
  timeout?: number;
  /**
   * Try every resolved address, the families alternating, the first answer's family first
   * (RFC 8305 §4, as Node's lookupAndConnectMultiple). Default `net.getDefaultAutoSelectFamily()`.
   */
  autoSelectFamily?: boolean;
  /** ms to wait for each attempt before trying the next address (RFC 8305 §5's Connection Attempt Delay); at least 10, default 250. */
  autoSelectFamilyAttemptTimeout?: number;
  /** An IPC path. There are none in a user-space stack: connecting to one fails with ENOENT. */
  path?: string;
}

/** `[options, callback]`, marked as normalized. */
export type NormalizedArgs = [NetConnectOptions, ((...args: unknown[]) => void) | null] & { [kNormalized]?: true };

/** Node's `toNumber`: a non-negative number, or false. */
export function toNumber(value: unknown): number | false {
  const n = Number(value);
  return n >= 0 ? n : false;
}

/** A string that is not a number names a pipe (IPC path) in Node's argument forms. */
export function isPipeName(value: unknown): value is string {
  return typeof value === 'string' && toNumber(value) === false;
}

/**
 * Node's argument forms for connect and listen: `(options[, cb])`, `(path[, cb])`,
 * `([port][, host][, …][, cb])`, normalized to `[options, cb]`.
 */
export function normalizeArgs(args: readonly unknown[]): NormalizedArgs {
  let result: NormalizedArgs;
  if (args.length === 0) {
    result = [{}, null];
  } else {
    const first = args[0];
    let options: NetConnectOptions = {};
    if (typeof first === 'object' && first !== null) options = first as NetConnectOptions;
    else if (isPipeName(first)) options.path = first;
    else {
      options.port = first as number;
      if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
    }
    const last = args[args.length - 1];
    result = [options, typeof last === 'function' ? (last as (...a: unknown[]) => void) : null];
  }
  result[kNormalized] = true;
  return result;
}
