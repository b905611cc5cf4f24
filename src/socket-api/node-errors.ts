/**
 * Errors shaped exactly like the ones Node's `net` and `dgram` raise, so code written against
 * Node (and Node's own tests) sees the same `message`, `code`, `errno`, `syscall`, `address`
 * and `port`. Three families:
 *
 * - system errors from a socket call: `connect ECONNREFUSED 10.0.0.2:80` (errno negative, as
 *   libuv reports it), and for listen `listen EADDRINUSE: address already in use 0.0.0.0:80`;
 * - Node's own argument and state errors (`ERR_SOCKET_BAD_PORT`, `ERR_SOCKET_DGRAM_NOT_CONNECTED`…),
 *   whose message and class (`TypeError`, `RangeError`, `Error`) follow Node's;
 * - the resolver's `getaddrinfo ENOTFOUND host`.
 *
 * Written from Node's documented and observed behaviour; no Node code is reused.
 */
import { inspect, getSystemErrorMap } from 'node:util';
import { Errno, describeErrno, type ErrnoCode } from '../core/errno.js';

/** An Error carrying Node's system-error fields. */
export interface NodeSystemError extends Error {
  /** libuv's error number, negative on Linux (ECONNREFUSED: -111; ENOTFOUND: -3008). */
  errno: number;
  /** The error's name: a POSIX errno name (`ECONNREFUSED`) or a resolver one (`ENOTFOUND`). */
  code: string;
  /** The call that failed: `connect`, `listen`, `bind`, `send`, `read`, `getaddrinfo`, …. */
  syscall: string;
  /** The remote (connect, send) or local (bind, listen) address the call concerned. */
  address?: string;
  /** The port the call concerned; absent when it was 0. */
  port?: number;
  /** For a failed connect from a given local address and port: the address. */
  localAddress?: string;
  /** For a failed connect from a given local address and port: the port. */
  localPort?: number;
  /** For a failed lookup: the name that did not resolve. */
  hostname?: string;
}

/** An Error carrying one of Node's `ERR_*` codes. */
export interface NodeCodedError extends Error {
  /** Node's error code, such as `ERR_SOCKET_BAD_PORT` or `ERR_INVALID_ARG_TYPE`. */
  code: string;
}

/** libuv's number for a POSIX error name (negative on Linux), as Node reports it in `errno`. */
export function uvErrno(code: string): number {
  if (code in Errno) return -Errno[code as ErrnoCode];
  for (const [errno, [name]] of getSystemErrorMap()) if (name === code) return errno;
  return -Errno.EINVAL;
}

/** libuv's lower-case description of an error (`address already in use`). */
export function uvMessage(code: string): string {
  const entry = getSystemErrorMap().get(uvErrno(code));
  if (entry) return entry[1];
  return code in Errno ? describeErrno(code as ErrnoCode).toLowerCase() : 'unknown error';
}

function plainError(message: string): Error {
  const error = new Error(message);
  return error;
}

/** `${syscall} ${code}`: what a failed read, write or shutdown raises (Node's ErrnoException). */
export function errnoException(code: string, syscall: string): NodeSystemError {
  const error = plainError(`${syscall} ${code}`) as NodeSystemError;
  error.errno = uvErrno(code);
  error.code = code;
  error.syscall = syscall;
  return error;
}

function hostPortDetails(address: string | undefined, port: number | undefined): string {
  if (port !== undefined && port > 0) return ` ${address}:${port}`;
  if (address) return ` ${address}`;
  return '';
}

/**
 * `${syscall} ${code} ${address}:${port}` with an optional ` - Local (a:p)`: what connect, bind
 * and send raise (Node's ExceptionWithHostPort). A zero port is left out of the message and the
 * fields, as Node does.
 */
export function exceptionWithHostPort(code: string, syscall: string, address: string | undefined, port: number | undefined, local?: string): NodeSystemError {
  const error = plainError(`${syscall} ${code}${hostPortDetails(address, port)}${local ? ` - Local (${local})` : ''}`) as NodeSystemError;
  error.errno = uvErrno(code);
  error.code = code;
  error.syscall = syscall;
  error.address = address;
  if (port) error.port = port;
  return error;
}

/** `${syscall} ${code}: ${description} ${address}:${port}`: what listen raises. */
export function uvExceptionWithHostPort(code: string, syscall: string, address: string | undefined, port: number | undefined): NodeSystemError {
  const error = plainError(`${syscall} ${code}: ${uvMessage(code)}${hostPortDetails(address, port)}`) as NodeSystemError;
  error.code = code;
  error.errno = uvErrno(code);
  error.syscall = syscall;
  error.address = address;
  if (port) error.port = port;
  return error;
}

/** The resolver's failure: `getaddrinfo ENOTFOUND example.com`. */
export function dnsNotFound(hostname: string): NodeSystemError {
  const error = plainError(`getaddrinfo ENOTFOUND ${hostname}`) as NodeSystemError;
  error.errno = -3008; // UV_EAI_NONAME
  error.code = 'ENOTFOUND';
  error.syscall = 'getaddrinfo';
  error.hostname = hostname;
  return error;
}

type ErrorClass = ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor;

/** An error with one of Node's `ERR_*` codes; `name [code]: message` heads its stack, as in Node. */
export function codedError(code: string, message: string, Base: ErrorClass = Error): NodeCodedError {
  const error = new Base(message) as NodeCodedError;
  error.code = code;
  if (typeof error.stack === 'string') {
    const name = Base.name;
    error.stack = error.stack.replace(`${name}: `, `${name} [${code}]: `);
  }
  return error;
}

/** How Node describes a received value in its argument errors (`type number (70000)`). */
export function describeReceived(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'number':
      if (Object.is(value, -0)) return 'type number (-0)';
      return `type number (${String(value)})`;
    case 'bigint':
      return `type bigint (${String(value)}n)`;
    case 'boolean':
      return `type boolean (${String(value)})`;
    case 'symbol':
      return `type symbol (${String(value)})`;
    case 'function':
      return `function ${(value as { name: string }).name}`;
    case 'string': {
      const text = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return text.includes("'") ? `type string (${JSON.stringify(text)})` : `type string ('${text}')`;
    }
    default: {
      const constructor = (value as { constructor?: { name?: string } }).constructor;
      if (constructor && typeof constructor.name === 'string') return `an instance of ${constructor.name}`;
      return inspect(value, { depth: -1 });
    }
  }
}

function formatList(items: readonly string[], conjunction: string): string {
  if (items.length <= 2) return items.join(` ${conjunction} `);
  return `${items.slice(0, -1).join(', ')}, ${conjunction} ${items[items.length - 1]}`;
}

/** Names Node prints as `of type x` (lower-cased) rather than `an instance of X`. */
const typeNames = new Set(['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol']);

/** ERR_INVALID_ARG_TYPE: `The "port" argument must be of type number. Received …`. */
export function invalidArgType(name: string, expected: string | readonly string[], actual: unknown): NodeCodedError {
  const list = typeof expected === 'string' ? [expected] : expected;
  const types = list.filter((t) => typeNames.has(t)).map((t) => t.toLowerCase());
  const instances = list.filter((t) => !typeNames.has(t));
  let message = name.endsWith(' argument') ? `The ${name} ` : `The "${name}" ${name.includes('.') ? 'property' : 'argument'} `;
  message += 'must be ';
  if (types.length > 0) {
    message += `${types.length > 1 ? 'one of type' : 'of type'} ${formatList(types, 'or')}`;
    if (instances.length > 0) message += ' or ';
  }
  if (instances.length > 0) message += `an instance of ${formatList(instances, 'or')}`;
  message += `. Received ${describeReceived(actual)}`;
  return codedError('ERR_INVALID_ARG_TYPE', message, TypeError);
}

/** ERR_INVALID_ARG_VALUE: `The argument 'x' is invalid. Received …`. */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid', Base: ErrorClass = TypeError): NodeCodedError {
  let inspected = inspect(value);
  if (inspected.length > 128) inspected = `${inspected.slice(0, 128)}...`;
  return codedError('ERR_INVALID_ARG_VALUE', `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${reason}. Received ${inspected}`, Base);
}

/** ERR_OUT_OF_RANGE. */
export function outOfRange(name: string, range: string, received: unknown): NodeCodedError {
  return codedError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${inspect(received)}`, RangeError);
}

/** ERR_SOCKET_BAD_PORT: `Port should be >= 0 and < 65536. Received type number (70000).` */
export function badPort(name: string, port: unknown, allowZero: boolean): NodeCodedError {
  return codedError('ERR_SOCKET_BAD_PORT', `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeReceived(port)}.`, RangeError);
}

/** Checks a port as Node's validatePort does (numbers and numeric strings); returns it as a number. */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  const valid =
    (typeof port === 'number' || (typeof port === 'string' && port.trim().length > 0)) &&
    +port === +port >>> 0 &&
    +port <= 0xffff &&
    (allowZero || +port !== 0);
  if (!valid) throw badPort(name, port, allowZero);
  return +port | 0;
}

/** Throws ERR_INVALID_ARG_TYPE unless `value` is a number. */
export function validateNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
}

/** Throws ERR_INVALID_ARG_TYPE unless `value` is a function. */
export function validateFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalidArgType(name, 'Function', value);
}

/** Throws ERR_INVALID_ARG_TYPE unless `value` is a string. */
export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'string', value);
}

/** Throws ERR_INVALID_ARG_TYPE unless `value` is a boolean. */
export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'boolean', value);
}

/** Throws ERR_INVALID_ARG_TYPE unless `value` is an AbortSignal (or undefined). */
export function validateAbortSignal(value: unknown, name: string): void {
  if (value !== undefined && (value === null || typeof value !== 'object' || !('aborted' in value))) throw invalidArgType(name, 'AbortSignal', value);
}

/** Node's validateInt32: an integer in [min, max], else ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE. */
export function validateInt32(value: unknown, name: string, min = -2147483648, max = 2147483647): asserts value is number {
  validateNumber(value, name);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
}

/** ERR_INVALID_ADDRESS_FAMILY: a resolver answered with a family that is neither 4 nor 6. */
export function invalidAddressFamily(family: unknown, host: string, port: number): NodeCodedError & { host: string; port: number } {
  const error = codedError('ERR_INVALID_ADDRESS_FAMILY', `Invalid address family: ${String(family)} ${host}:${port}`, RangeError) as NodeCodedError & {
    host: string;
    port: number;
  };
  error.host = host;
  error.port = port;
  return error;
}

/** Node's system-error class for a failed socket option (ERR_SOCKET_BUFFER_SIZE). */
export function socketBufferSizeError(code: string, syscall: string): NodeCodedError {
  const description = uvMessage(code);
  const error = codedError('ERR_SOCKET_BUFFER_SIZE', `Could not get or set buffer size: ${syscall} returned ${code} (${description})`) as NodeCodedError & {
    info: object;
    errno: number;
    syscall: string;
  };
  error.name = 'SystemError';
  error.info = { errno: uvErrno(code), code, message: description, syscall };
  error.errno = uvErrno(code);
  error.syscall = syscall;
  return error;
}

/** The fixed-message `ERR_*` errors the modules raise. */
export const nodeErrors = {
  socketClosed: () => codedError('ERR_SOCKET_CLOSED', 'Socket is closed'),
  socketClosedBeforeConnection: () => codedError('ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'Socket closed before the connection was established'),
  serverAlreadyListen: () => codedError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.'),
  serverNotRunning: () => codedError('ERR_SERVER_NOT_RUNNING', 'Server is not running.'),
  missingConnectArgs: () => codedError('ERR_MISSING_ARGS', 'The "options" or "port" or "path" argument must be specified', TypeError),
  missingArgs: (name: string) => codedError('ERR_MISSING_ARGS', `The "${name}" argument must be specified`, TypeError),
  invalidIpAddress: (address: unknown) => codedError('ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(address)}`, TypeError),
  socketAlreadyBound: () => codedError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound'),
  dgramIsConnected: () => codedError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected'),
  dgramNotConnected: () => codedError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected'),
  dgramNotRunning: () => codedError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running'),
  badSocketType: () => codedError('ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4, udp6', TypeError),
  badBufferSize: () => codedError('ERR_SOCKET_BAD_BUFFER_SIZE', 'Buffer size must be a positive integer', TypeError),
  /** Node 22+: an address a `blockList` / `sendBlockList` option refuses. */
  ipBlocked: (address: string) => codedError('ERR_IP_BLOCKED', `IP(${address}) is blocked by net.BlockList`),
  bufferOutOfBounds: (name: string) => codedError('ERR_BUFFER_OUT_OF_BOUNDS', `"${name}" is outside of buffer bounds`, RangeError),
  endedByPeer: () => {
    const error = new Error('This socket has been ended by the other party') as NodeCodedError;
    error.code = 'EPIPE';
    return error;
  },
} as const;
