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
/** Internal socket methods the connect path calls (see net-connect.ts). */
export const kTouch = Symbol('ustack.net.touch');
export const kInternalConnect = Symbol('ustack.net.internalConnect');
/** Marks an argument array already normalized by `normalizeArgs`. */
export const kNormalized = Symbol('ustack.net.normalizedArgs');

/** Options of `new net.Socket()` and `net.connect()`. */
export interface NetSocketOptions extends DuplexOptions {
  allowHalfOpen?: boolean;
  readable?: boolean;
  writable?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  fd?: number;
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
  [kConnection]?: TcpConnection;
}

/** Options of `socket.connect()` / `net.connect()`. */
export interface NetConnectOptions extends NetSocketOptions {
  port?: number | string;
  host?: string;
  localAddress?: string;
  localPort?: number;
  family?: number | string;
  hints?: number;
  lookup?: LookupFunction;
  timeout?: number;
  autoSelectFamily?: boolean;
  autoSelectFamilyAttemptTimeout?: number;
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
