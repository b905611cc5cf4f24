/**
 * The first half of `socket.connect()`: checking the options as Node does and resolving the
 * host. There is no DNS client in the stack: IP literals connect directly (on the next tick,
 * as in Node), other names go through `options.lookup` or the module's resolver (`localhost`
 * only by default). With `autoSelectFamily` (Node 20's default) the resolver is asked for every
 * address and they are tried in turn, the families alternating (RFC 8305, "Happy Eyeballs v2",
 * as Node implements it): `ConnectAttempts`.
 */
import { isIP, type BlockList } from 'node:net';
import { kAttempt, kAttempts, kReinitializeHandle, kTouch, kInternalConnect } from './net-args.js';
import type { NetConnectOptions } from './net-args.js';
import {
  invalidAddressFamily,
  invalidArgType,
  invalidArgValue,
  codedError,
  exceptionWithHostPort,
  nodeErrors,
  validateBoolean,
  validateFunction,
  validateInt32,
  validateNumber,
  validatePort,
} from './node-errors.js';
import type { NodeSystemError } from './node-errors.js';
import { blocks, type LookupAddress, type LookupFunction, type NodeModuleContext } from './node-support.js';

/** What the connect path needs of a socket. */
export interface ConnectingSocket {
  readonly connecting: boolean;
  _host: string | null;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  destroy(error?: Error): unknown;
  [kTouch](): void;
  [kInternalConnect](address: string, port: number, addressType: number, localAddress: string | undefined, localPort: number | undefined): void;
  /** Node's `_aborted`: the socket's abort signal fired. */
  readonly _aborted?: boolean;
  /** The `blockList` option. */
  readonly blockList?: BlockList;
  /** Every `address:port` tried by a family-racing connect, in order (Node's public field). */
  autoSelectFamilyAttemptedAddresses?: string[];
  /** Opens one attempt of a racing connect; its outcome reaches `this[kAttempts]`. A synchronous failure is returned. */
  [kAttempt](address: string, port: number, addressType: 4 | 6, localPort: number | undefined): NodeSystemError | null;
  /** The racing connect under way, if any. */
  [kAttempts]: ConnectAttempts | null;
  /** Closes the current handle (an attempt given up) and makes a fresh one for the next. */
  [kReinitializeHandle](): void;
}

/**
 * Node's lookupAndConnect: validates the options, resolves the host (an IP literal on the next
 * tick; a name through `options.lookup` or the context's resolver, emitting `lookup`), then
 * hands the address to the socket's internal connect.
 */
export function lookupAndConnect(socket: ConnectingSocket, options: NetConnectOptions, context: NodeModuleContext): void {
  const { localAddress, localPort } = options;
  const host = options.host || 'localhost';
  let port: number | string | undefined = options.port;
  // Node 22+ checks the host first: a string without null bytes.
  if (typeof host !== 'string') throw invalidArgType('options.host', 'string', host);
  if (host.includes('\u0000')) throw invalidArgValue('options.host', host, 'must be a string without null bytes');
  if (localAddress && !isIP(localAddress)) throw nodeErrors.invalidIpAddress(localAddress);
  if (localPort) validateNumber(localPort, 'options.localPort');
  if (port !== undefined) {
    if (typeof port !== 'number' && typeof port !== 'string') throw invalidArgType('options.port', ['number', 'string'], port);
    validatePort(port);
  }
  port = Number(port) | 0;
  let autoSelectFamily = options.autoSelectFamily;
  if (autoSelectFamily != null) validateBoolean(autoSelectFamily, 'options.autoSelectFamily');
  else autoSelectFamily = context.autoSelectFamily;
  let attemptTimeout = context.autoSelectFamilyAttemptTimeout;
  if (options.autoSelectFamilyAttemptTimeout != null) {
    validateInt32(options.autoSelectFamilyAttemptTimeout, 'options.autoSelectFamilyAttemptTimeout', 1);
    // Node's floor: RFC 8305 §5 recommends at least 10 ms (and 100 ms as a floor for the delay).
    attemptTimeout = Math.max(10, options.autoSelectFamilyAttemptTimeout);
  }

  const literal = isIP(host);
  if (literal) {
    process.nextTick(() => {
      if (socket.connecting) socket[kInternalConnect](host, port as number, literal, localAddress, localPort);
    });
    return;
  }
  if (options.lookup != null) validateFunction(options.lookup, 'options.lookup');
  const lookup: LookupFunction = options.lookup ?? context.lookup;
  const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family as number | undefined);
  socket._host = host;
  if (family !== 4 && family !== 6 && !localAddress && autoSelectFamily) {
    lookup(host, { family, hints: options.hints || 0, all: true }, (error, addresses) => {
      if (!socket.connecting) return;
      if (error) {
        socket.emit('lookup', error, undefined, undefined, host);
        process.nextTick(() => socket.destroy(error));
        return;
      }
      const list = (addresses ?? []) as LookupAddress[];
      // RFC 8305 §4: the addresses in two groups, the first answer's family first (the
      // resolver's order, which getaddrinfo sorts by RFC 6724: IPv6 first where both work), each
      // address once; then interleaved, one of each family in turn.
      const groups: [LookupAddress[], LookupAddress[]] = [[], []];
      let preferred: number | undefined;
      for (const entry of list) {
        socket.emit('lookup', null, entry.address, entry.family, host);
        if (!socket.connecting) return;
        if (isIP(entry.address) === 0 || (entry.family !== 4 && entry.family !== 6)) continue;
        preferred ??= entry.family;
        const group = groups[entry.family === preferred ? 0 : 1];
        if (!group.some((known) => known.address === entry.address)) group.push(entry);
      }
      if (groups[0].length === 0) {
        const first = list[0];
        const failure = !first || !isIP(first.address) ? nodeErrors.invalidIpAddress(first?.address) : invalidAddressFamily(first.family, host, port as number);
        process.nextTick(() => socket.destroy(failure));
        return;
      }
      const toAttempt: LookupAddress[] = [];
      for (let i = 0; i < Math.max(groups[0].length, groups[1].length); i++) {
        if (i < groups[0].length) toAttempt.push(groups[0][i]);
        if (i < groups[1].length) toAttempt.push(groups[1][i]);
      }
      socket[kTouch]();
      if (toAttempt.length === 1) {
        socket[kInternalConnect](toAttempt[0].address, port as number, toAttempt[0].family, localAddress, localPort);
        return;
      }
      new ConnectAttempts(socket, toAttempt, port as number, localPort, attemptTimeout, context).next();
    });
    return;
  }
  lookup(host, { family, hints: options.hints || 0 }, (error, ip, addressType) => {
    socket.emit('lookup', error, ip, addressType, host);
    if (!socket.connecting) return;
    if (error) {
      process.nextTick(() => socket.destroy(error));
    } else if (typeof ip !== 'string' || !isIP(ip)) {
      const invalid = nodeErrors.invalidIpAddress(ip);
      process.nextTick(() => socket.destroy(invalid));
    } else if (addressType !== 4 && addressType !== 6) {
      const invalid = invalidAddressFamily(addressType, host, port as number);
      process.nextTick(() => socket.destroy(invalid));
    } else {
      socket[kTouch]();
      socket[kInternalConnect](ip, port as number, addressType, localAddress, localPort);
    }
  });
}

/**
 * A connect that tries several addresses (RFC 8305 §5, as Node's internalConnectMultiple):
 * one attempt at a time, each given `timeoutMs` (the Connection Attempt Delay, Node's
 * `autoSelectFamilyAttemptTimeout`, 250 ms by default) before it is abandoned for the next
 * address; a failure moves on at once; the first to complete wins. Node abandons an attempt when
 * it starts the next rather than racing both, and so does this. When every attempt has failed
 * the socket is destroyed with an AggregateError of their errors (its `code` the first one's),
 * or ERR_SOCKET_CONNECTION_TIMEOUT when none failed. Timers run in the stack's time, so the
 * virtual network replays a race exactly.
 */
export class ConnectAttempts {
  #current = 0;
  readonly #errors: NodeSystemError[] = [];
  #cancelTimer: (() => void) | null = null;

  constructor(
    private readonly socket: ConnectingSocket,
    private readonly addresses: readonly LookupAddress[],
    private readonly port: number,
    private readonly localPort: number | undefined,
    private readonly timeoutMs: number,
    private readonly context: NodeModuleContext,
  ) {
    socket.autoSelectFamilyAttemptedAddresses = [];
    socket[kAttempts] = this;
  }

  /** Starts the next attempt, or ends the connect when none is left. */
  next(): void {
    this.cancel();
    const socket = this.socket;
    if (socket._aborted) return;
    if (this.#current === this.addresses.length) {
      socket[kAttempts] = null;
      socket.destroy(this.#errors.length === 0 ? codedError('ERR_SOCKET_CONNECTION_TIMEOUT', 'Socket connection timeout') : aggregateError(this.#errors));
      return;
    }
    const current = this.#current++;
    if (current > 0) socket[kReinitializeHandle]();
    const { address, family } = this.addresses[current];
    const addressType = family as 4 | 6;
    if (blocks(socket.blockList, address)) {
      this.failed(address, addressType, nodeErrors.ipBlocked(address) as NodeSystemError);
      return;
    }
    socket.emit('connectionAttempt', address, this.port, addressType);
    socket.autoSelectFamilyAttemptedAddresses!.push(`${address}:${this.port}`);
    const error = socket[kAttempt](address, this.port, addressType, this.localPort);
    if (error) {
      this.failed(address, addressType, error);
      return;
    }
    if (current < this.addresses.length - 1) this.#cancelTimer = this.context.after(this.timeoutMs, () => this.#timedOut(address, addressType));
  }

  /** An attempt failed (refused, unreachable, blocked): the next address at once. */
  failed(address: string, addressType: 4 | 6, error: NodeSystemError): void {
    this.cancel();
    this.#errors.push(error);
    this.socket.emit('connectionAttemptFailed', address, this.port, addressType, error);
    if (this.socket.connecting) this.next();
  }

  /** The current attempt completed: the race is over. */
  connected(): void {
    this.cancel();
    this.socket[kAttempts] = null;
  }

  /** Stops the attempt timer (the socket was destroyed, or an attempt ended). */
  cancel(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = null;
  }

  #timedOut(address: string, addressType: 4 | 6): void {
    this.#cancelTimer = null;
    const socket = this.socket;
    if (!socket.connecting || socket[kAttempts] !== this) return;
    socket.emit('connectionAttemptTimeout', address, this.port, addressType);
    this.#errors.push(exceptionWithHostPort('ETIMEDOUT', 'connect', address, this.port));
    if (socket.connecting) this.next();
  }
}

/** Node's NodeAggregateError: the attempts' errors, `code` the first one's. */
function aggregateError(errors: readonly NodeSystemError[]): AggregateError & { code?: string } {
  const error = new AggregateError(errors, '') as AggregateError & { code?: string };
  error.code = errors[0]?.code;
  return error;
}
