/**
 * What the Node drop-ins (`net.ts`, `dgram.ts`) share for one stack: the stack's clock and
 * timers (so socket timeouts run in virtual time on the virtual network), the resolver (no
 * DNS here: IPv4 literals and `localhost`), and the reference that keeps Node's event loop
 * alive while a socket or server is open, as a libuv handle would.
 *
 * Everything that reaches user code from inside the stack's processing (a segment arrived, a
 * timer fired) is deferred to `process.nextTick`: user callbacks never run inside `poll`.
 */
import * as nodeNet from 'node:net';
import { BlockList, isIP, isIPv4 } from 'node:net';
import { formatIpv4Address, IPV4_ANY, parseIpv4Address, type Ipv4Address } from '../ip/address.js';
import type { IpAddress } from '../ip/ip-address.js';
import { formatIpv6Address, ipv4MappedAddress, mappedIpv4Address, parseIpv6ScopedAddress } from '../ip/ipv6-address.js';
import * as dns from 'node:dns';
import { dnsNotFound, invalidArgType, invalidArgValue, type NodeSystemError } from './node-errors.js';
import type { Stack } from './stack.js';

/**
 * Node's `BlockList.isBlockList` (Node 22+); Node 20 lacks it, and there an instance of its
 * `net.BlockList` is one. The class is Node's own, re-exported by ustack's `net`.
 */
export function isBlockList(value: unknown): value is BlockList {
  const check = (BlockList as unknown as { isBlockList?: (v: unknown) => boolean }).isBlockList;
  return check ? check(value) : value instanceof BlockList;
}

/** Validates a `blockList`-style option as Node does: a net.BlockList, or ERR_INVALID_ARG_TYPE. */
export function validateBlockList(value: unknown, name: string): BlockList | undefined {
  if (!value) return undefined;
  if (!isBlockList(value)) throw invalidArgType(name, 'net.BlockList', value);
  return value;
}

/** True when `list` refuses the IPv4 or IPv6 address `address`. */
export function blocks(list: BlockList | undefined, address: string | undefined): boolean {
  if (!list || !address) return false;
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** One resolved address, as `dns.lookup(…, { all: true })` gives it. */
export interface LookupAddress {
  /** The address as text: dotted quad, or IPv6 (which this stack cannot reach). */
  readonly address: string;
  /** Its IP version: 4 or 6. */
  readonly family: number;
}

/** Options a lookup function receives (a subset of `dns.lookup`'s). */
export interface LookupOptions {
  /** The IP version wanted: 4, 6, or 0 (the default) for either. */
  readonly family?: number;
  /** `getaddrinfo` flags, an OR of `dns.ADDRCONFIG`, `dns.V4MAPPED` and `dns.ALL`. */
  readonly hints?: number;
  /** Answer with every address, as `LookupAddress` objects, rather than the first. */
  readonly all?: boolean;
}

/** `dns.lookup`'s shape: `(hostname, options | family, callback)`. */
export type LookupFunction = (
  hostname: string,
  options: LookupOptions | number,
  callback: (error: NodeSystemError | Error | null, address?: string | LookupAddress[], family?: number) => void,
) => void;

/**
 * Keeps Node's event loop alive while any owner holds it, as a referenced libuv handle does.
 * Only a stack driven in real time needs that: on the virtual network nothing would ever wake
 * the held loop, so there it holds nothing (`active` says which).
 */
export class LoopReference {
  private readonly holders = new Set<object>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly active: () => boolean) {}

  /** `owner` keeps the loop alive until released. */
  hold(owner: object): void {
    this.holders.add(owner);
    this.update();
  }

  /** `owner` no longer keeps the loop alive. */
  release(owner: object): void {
    this.holders.delete(owner);
    this.update();
  }

  private update(): void {
    const wanted = this.holders.size > 0 && this.active();
    if (wanted && !this.timer) this.timer = setInterval(() => {}, 0x7fffffff);
    else if (!wanted && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/** The per-stack state both modules use. */
export class NodeModuleContext {
  /** Keeps the event loop alive for open sockets and servers. */
  readonly loop: LoopReference;
  /** The resolver used when a call gives none (`lookup` option). */
  lookup: LookupFunction = defaultLookup;
  /**
   * `net.setDefaultAutoSelectFamily`. Starts as Node's own default, so that
   * `--[no-]network-family-autoselection` applies to ustack's net too.
   */
  autoSelectFamily = nodeNet.getDefaultAutoSelectFamily();
  /**
   * `net.setDefaultAutoSelectFamilyAttemptTimeout` (ms). Starts as Node's own default (250, or
   * `--network-family-autoselection-attempt-timeout`).
   */
  autoSelectFamilyAttemptTimeout = nodeNet.getDefaultAutoSelectFamilyAttemptTimeout();

  constructor(readonly stack: Stack) {
    // A real-time driver installs onWake; the virtual network does not.
    this.loop = new LoopReference(() => stack.onWake !== null);
  }

  /** The stack's time for application calls (ms): virtual or real, whichever drives it. */
  now(): number {
    return this.stack.currentTimeForCalls();
  }

  /**
   * Calls `callback` `delayMs` from now in the stack's time, outside the stack's processing.
   * Returns a function that cancels it.
   */
  after(delayMs: number, callback: () => void): () => void {
    let cancelled = false;
    const cancelTimer = this.stack.schedule(this.now() + delayMs, () => {
      process.nextTick(() => {
        if (!cancelled) callback();
      });
    });
    return () => {
      cancelled = true;
      cancelTimer();
    };
  }
}

/**
 * The resolver without DNS: an IP literal resolves to itself (on the next tick, as
 * `dns.lookup` does), `localhost` to 127.0.0.1 (asynchronously, as getaddrinfo would), and any
 * other name fails with `getaddrinfo ENOTFOUND name`. Pass a `lookup` option to resolve more.
 */
export const defaultLookup: LookupFunction = (hostname, options, callback) => {
  const all = typeof options === 'object' && options !== null && options.all === true;
  const hints = typeof options === 'object' && options !== null ? options.hints : undefined;
  if (hints !== undefined && hints !== 0 && (typeof hints !== 'number' || (hints & ~(dns.ADDRCONFIG | dns.V4MAPPED | dns.ALL)) !== 0)) {
    throw invalidArgValue('hints', hints);
  }
  const literal = isIP(hostname);
  let address: string | null = null;
  let family = 4;
  if (literal) {
    address = hostname;
    family = literal;
  } else if (/^localhost\.?$/i.test(hostname) || /\.localhost\.?$/i.test(hostname)) {
    address = '127.0.0.1';
  }
  const answer = () => {
    if (address === null) callback(dnsNotFound(hostname));
    else if (all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  if (literal) process.nextTick(answer);
  else setImmediate(answer);
};

/**
 * Parses an IP literal to the stack's form (ip-address.ts): IPv4 as its number, IPv6 as its
 * RFC 5952 text (a zone dropped), an IPv4-mapped one as the IPv4 address it stands for, as
 * dual-stack sockets treat it. Null for anything else.
 */
export function toStackAddress(text: string): IpAddress | null {
  if (isIPv4(text)) return parseIpv4Address(text);
  const scoped = parseIpv6ScopedAddress(text);
  if (scoped === null) return null;
  return mappedIpv4Address(scoped.address) ?? formatIpv6Address(scoped.address);
}

/** 127.0.0.1. */
const IPV4_LOOPBACK: Ipv4Address = 0x7f000001;

/**
 * A destination as connect(2) takes it on Linux: as toStackAddress, except that the any
 * address of either family means this host's loopback (Linux's ip_route_connect turns 0.0.0.0
 * into 127.0.0.1 and tcp_v6_connect turns :: into ::1; RFC 1122 §3.2.1.3 forbids sending to
 * 0.0.0.0, so nothing goes on the wire with it). Node's tests rely on this (connecting to the
 * port of a server listening on `::` with ipv6Only, at 0.0.0.0, is refused).
 */
export function toStackDestination(text: string): IpAddress | null {
  const address = toStackAddress(text);
  if (address === IPV4_ANY) return IPV4_LOOPBACK;
  return address === '::' ? '::1' : address;
}

/** Parses an IPv4 literal to the stack's number form, or null. */
export function toIpv4(text: string): Ipv4Address | null {
  return isIPv4(text) ? parseIpv4Address(text) : null;
}

/** `{ address, family, port }`, the shape of Node's `address()`: IPv4, IPv6, or IPv4-mapped on an IPv6 socket. */
export function addressInfo(address: IpAddress, port: number, ipv6Socket = false): { address: string; family: string; port: number } {
  if (typeof address === 'string') return { address, family: 'IPv6', port };
  // An IPv4 peer of an IPv6 socket (a dual-stack server) is shown IPv4-mapped, as Node shows it.
  if (ipv6Socket) return { address: formatIpv6Address(ipv4MappedAddress(address)), family: 'IPv6', port };
  return { address: formatIpv4Address(address), family: 'IPv4', port };
}

/** A class callable with or without `new`, as Node's constructors are. */
export type CallableClass<T extends abstract new (...args: never[]) => unknown> = T & ((...args: ConstructorParameters<T>) => InstanceType<T>);

/** Lets `net.Socket()` work without `new` (Node allows it); `instanceof` and subclassing still work. */
export function callableClass<T extends new (...args: never[]) => unknown>(target: T): CallableClass<T> {
  return new Proxy(target, {
    apply(constructor, _thisArg, args: unknown[]) {
      return new (constructor as unknown as new (...a: unknown[]) => unknown)(...args);
    },
  }) as CallableClass<T>;
}
