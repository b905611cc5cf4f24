/**
 * The first half of `socket.connect()`: checking the options as Node does and resolving the
 * host. There is no DNS client in the stack: IPv4 literals connect directly (on the next tick,
 * as in Node), other names go through `options.lookup` or the module's resolver (`localhost`
 * only by default). Node 20 asks the resolver for all addresses (autoSelectFamily); this stack
 * connects to the first IPv4 one.
 */
import { isIP } from 'node:net';
import { kTouch, kInternalConnect } from './net-args.js';
import type { NetConnectOptions } from './net-args.js';
import {
  invalidAddressFamily,
  invalidArgType,
  invalidArgValue,
  nodeErrors,
  validateBoolean,
  validateFunction,
  validateInt32,
  validateNumber,
  validatePort,
} from './node-errors.js';
import type { LookupAddress, LookupFunction, NodeModuleContext } from './node-support.js';

/** What the connect path needs of a socket. */
export interface ConnectingSocket {
  readonly connecting: boolean;
  _host: string | null;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  destroy(error?: Error): unknown;
  [kTouch](): void;
  [kInternalConnect](address: string, port: number, addressType: number, localAddress: string | undefined, localPort: number | undefined): void;
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
  if (options.autoSelectFamilyAttemptTimeout != null) validateInt32(options.autoSelectFamilyAttemptTimeout, 'options.autoSelectFamilyAttemptTimeout', 1);

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
      let chosen: LookupAddress | undefined;
      let valid: LookupAddress | undefined;
      for (const entry of list) {
        socket.emit('lookup', null, entry.address, entry.family, host);
        if (!socket.connecting) return;
        const usable = isIP(entry.address) !== 0 && (entry.family === 4 || entry.family === 6);
        if (usable) valid ??= entry;
        if (!chosen && usable && entry.family === 4) chosen = entry;
      }
      // IPv4 first when the answer has both (RFC 8305's racing of the two is not done here);
      // an IPv6-only answer connects over IPv6.
      chosen ??= valid;
      if (!chosen) {
        const first = list[0];
        const failure = !first || !isIP(first.address) ? nodeErrors.invalidIpAddress(first?.address) : invalidAddressFamily(first.family, host, port as number);
        process.nextTick(() => socket.destroy(failure));
        return;
      }
      socket[kTouch]();
      socket[kInternalConnect](chosen.address, port as number, chosen.family, localAddress, localPort);
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
