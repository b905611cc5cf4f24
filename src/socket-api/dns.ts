/**
 * Node's `dns` for one stack: `Resolver` (and `dns.promises.Resolver`) ask DNS servers over the
 * stack's own UDP — and TCP when an answer comes truncated (RFC 7766 §5) — with the RFC 1035
 * codec of `src/dns/message.ts`, so that name resolution goes where the stack's traffic goes (a
 * namespace, a TUN device, the virtual network), not through the host kernel's sockets as
 * Node's c-ares would.
 *
 * What it answers: `resolve` with A, AAAA, ANY, CNAME, MX, NS, PTR and TXT, and the matching
 * `resolve4`, `resolve6` (both with `{ ttl: true }`), `resolveAny`, `resolveCname`, `resolveMx`,
 * `resolveNs`, `resolvePtr`, `resolveTxt`; `getServers`/`setServers`, `cancel`,
 * `setLocalAddress`; the same on the module (its default resolver) and in `promises`. Other record
 * types (SOA, SRV, NAPTR, CAA, TLSA) and `reverse` throw ERR_INVALID_ARG_VALUE naming what is
 * answered, rather than quietly asking the kernel's resolver.
 *
 * `lookup` and `lookupService` stay Node's: getaddrinfo/getnameinfo of the host, which read
 * /etc/hosts and nsswitch and use the kernel's sockets. The default servers are the host's own
 * (`/etc/resolv.conf`, as c-ares reads it), asked over the stack.
 *
 * How a query runs, as c-ares does by default: one query per server in turn, `tries` rounds, each
 * round's timeout double the last (up to `maxTimeout`). A reply counts only if it comes from the
 * server asked, to the port asked from, with the query's ID and question (RFC 5452 §9.1; each
 * query has its own socket, so a fresh random port, and an ID from the stack's Rng); anything else
 * is dropped and counted (`dns.rx.*` in the stack's stats). SERVFAIL, NOTIMP and REFUSED move on
 * to the next server; NXDOMAIN is ENOTFOUND, an answer without the type asked ENODATA.
 */
import * as nodeDns from 'node:dns';
import { isIP } from 'node:net';
import {
  decodeDnsMessage,
  DNS_CLASS_IN,
  DnsRcode,
  DnsType,
  encodeDnsQuery,
  recordValue,
  validDnsName,
  type DnsDecodeReason,
  type DnsMessage,
  type DnsRecordValue,
} from '../dns/message.js';
import type { DgramModule, DgramSocket } from './dgram.js';
import type { NetModule } from './net.js';
import { codedError, invalidArgType, invalidArgValue, validateFunction, validateString } from './node-errors.js';
import type { NodeModuleContext } from './node-support.js';
import type { Stack } from './stack.js';

/** `new Resolver(options)`. */
export interface ResolverOptions {
  /** Milliseconds before a query to one server is given up (first round); -1 for the default. */
  readonly timeout?: number;
  /** Rounds over the servers before giving up (default 4, as Node). */
  readonly tries?: number;
  /** The longest a round may wait, once doubled (default: no cap). */
  readonly maxTimeout?: number;
}

/** c-ares's default query timeout (ms), which Node keeps for `timeout: -1`. */
const DEFAULT_TIMEOUT_MS = 2000;
/** Node's default `tries`. */
const DEFAULT_TRIES = 4;
/** DNS's port (RFC 1035 §4.2). */
const DNS_PORT = 53;

/** One server: its address as text and its port. */
interface Server {
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
}

/** Record types the resolver answers, their query type and the syscall name Node's errors carry. */
const RRTYPES = {
  A: { type: DnsType.A, syscall: 'queryA' },
  AAAA: { type: DnsType.AAAA, syscall: 'queryAaaa' },
  ANY: { type: DnsType.ANY, syscall: 'queryAny' },
  CNAME: { type: DnsType.CNAME, syscall: 'queryCname' },
  MX: { type: DnsType.MX, syscall: 'queryMx' },
  NS: { type: DnsType.NS, syscall: 'queryNs' },
  PTR: { type: DnsType.PTR, syscall: 'queryPtr' },
  TXT: { type: DnsType.TXT, syscall: 'queryTxt' },
} as const;
type RrType = keyof typeof RRTYPES;

/** Node's order for `resolveAny`'s records: by type, in the order its parser tries them. */
const ANY_ORDER: readonly string[] = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'TXT', 'PTR'];

/** An error as Node's resolver raises it: `queryA ENOTFOUND example.org`. */
export interface DnsError extends Error {
  /**
   * Why, as Node's `dns` error codes: `ENOTFOUND` (NXDOMAIN), `ENODATA` (no record of the type),
   * `ETIMEOUT`, `ECONNREFUSED` (no server reached, or none set), `ESERVFAIL`, `ENOTIMP`,
   * `EREFUSED`, `EFORMERR`, `EBADRESP`, `EBADNAME`, `ECANCELLED`.
   */
  code: string;
  /** The c-ares call Node would have made: `queryA`, `queryAaaa`, `queryAny`, `queryCname`, `queryMx`, `queryNs`, `queryPtr`, `queryTxt`. */
  syscall: string;
  /** The name asked, as the caller passed it. */
  hostname: string;
  /** Always undefined, as on Node's resolver errors (the code is a string, not an errno). */
  errno: undefined;
}

function dnsError(code: string, syscall: string, hostname: string): DnsError {
  const error = new Error(`${syscall} ${code} ${hostname}`) as DnsError;
  error.errno = undefined;
  error.code = code;
  error.syscall = syscall;
  error.hostname = hostname;
  return error;
}

/** Parses one `setServers` entry as Node accepts it: `a.b.c.d[:port]`, `x::y`, `[x::y][:port]`. */
function parseServer(text: string): Server | null {
  let address = text;
  let port = DNS_PORT;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const ipv4WithPort = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  if (bracketed) {
    address = bracketed[1];
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (ipv4WithPort) {
    address = ipv4WithPort[1];
    port = Number(ipv4WithPort[2]);
  }
  const family = isIP(address);
  // Node takes an IPv4 address in brackets too (`[192.0.2.53]:53`).
  if (family === 0 || !(port > 0 && port <= 0xffff)) return null;
  return { address, family: family as 4 | 6, port };
}

/** A server as `getServers` writes it: the port only when it is not 53. */
function formatServer(server: Server): string {
  if (server.port === DNS_PORT) return server.address;
  return server.family === 6 ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`;
}

/** The host's servers (what c-ares read from /etc/resolv.conf), as the starting list. */
function hostServers(): Server[] {
  const servers: Server[] = [];
  for (const text of nodeDns.getServers()) {
    const server = parseServer(text);
    if (server) servers.push(server);
  }
  return servers;
}

/** What one resolver call hands back: the values and their TTLs, or the error code. */
type Outcome = { readonly message: DnsMessage } | { readonly code: string };

/** The state shared by the resolvers of one stack's module. */
interface DnsContext {
  readonly stack: Stack;
  readonly context: NodeModuleContext;
  readonly dgram: DgramModule;
  readonly net: NetModule;
}

/**
 * Node's callback `dns.Resolver`, on the stack: each call queries the servers over the stack's
 * UDP (TCP for a truncated answer) and calls back on a later tick with `(err, result)`, `err` a
 * {@link DnsError}. Made with `new stack.dns.Resolver(options)`; servers start as the host's.
 *
 * Where it differs from Node's (c-ares): only records of the name and its CNAME chain answer
 * (RFC 1034 §3.6.2), where c-ares gives every record of the type; SERVFAIL, NOTIMP and REFUSED
 * move on to the next server (RFC 1034 §5.3.3), where Node 20's c-ares ends with ESERVFAIL.
 */
export class Resolver {
  #servers: Server[];
  readonly #timeoutMs: number;
  readonly #tries: number;
  readonly #maxTimeoutMs: number;
  #localAddresses: { ipv4?: string; ipv6?: string } = {};
  /** Queries in flight, so `cancel()` can end them. */
  readonly #pending = new Set<(code: string) => void>();
  readonly #dns: DnsContext;

  /**
   * Not called directly: `new stack.dns.Resolver(options)` (the module's `Resolver`) supplies
   * `dns`, the stack and its modules. Throws ERR_INVALID_ARG_TYPE when `options` is not an
   * object and ERR_INVALID_ARG_VALUE on a `timeout`, `tries` or `maxTimeout` out of range.
   *
   * @param dns - The stack, its timers, `dgram` and `net` the queries go over.
   * @param options - Timeout, tries and maxTimeout, as Node's.
   */
  constructor(dns: DnsContext, options: ResolverOptions = {}) {
    this.#dns = dns;
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'Object', options);
    const timeout = options.timeout ?? -1;
    if (!Number.isInteger(timeout) || timeout < -1 || timeout > 0x7fffffff) throw invalidArgValue('options.timeout', timeout);
    const tries = options.tries ?? DEFAULT_TRIES;
    if (!Number.isInteger(tries) || tries < 1 || tries > 0x7fffffff) throw invalidArgValue('options.tries', tries);
    const maxTimeout = options.maxTimeout ?? 0;
    if (!Number.isInteger(maxTimeout) || maxTimeout < 0) throw invalidArgValue('options.maxTimeout', maxTimeout);
    this.#timeoutMs = timeout === -1 ? DEFAULT_TIMEOUT_MS : timeout;
    this.#tries = tries;
    this.#maxTimeoutMs = maxTimeout === 0 ? Infinity : maxTimeout;
    this.#servers = hostServers();
  }

  /**
   * The servers asked, in order, as IP address strings (RFC 5952 for IPv6); with the port only
   * when it is not 53 (`1.2.3.4:5353`, `[::1]:5353`), as `setServers` takes them.
   */
  getServers(): string[] {
    return this.#servers.map(formatServer);
  }

  /**
   * Replaces the servers, asked in the order given. Each is an IPv4 or IPv6 address with an
   * optional port: `a.b.c.d`, `a.b.c.d:port`, `x::y`, `[x::y]`, `[x::y]:port`. Throws
   * ERR_INVALID_ARG_TYPE unless an array of strings, ERR_INVALID_IP_ADDRESS on an entry that is
   * not an address (or has a port outside 1–65535); then the servers are unchanged. Node's docs
   * forbid a call while a query is in flight; here such queries keep the servers they started with.
   *
   * @param servers - The new list; empty makes every query fail with ECONNREFUSED.
   */
  setServers(servers: unknown): void {
    if (!Array.isArray(servers)) throw invalidArgType('servers', 'Array', servers);
    const parsed: Server[] = [];
    servers.forEach((text, index) => {
      if (typeof text !== 'string') throw invalidArgType(`servers[${index}]`, 'string', text);
      const server = parseServer(text);
      if (!server) throw codedError('ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${text}`, TypeError);
      parsed.push(server);
    });
    this.#servers = parsed;
  }

  /**
   * The source addresses later queries leave from: `ipv4` for IPv4 servers, `ipv6` for IPv6 ones
   * (unset: the stack chooses, by its routes). Each must be an address of its family
   * (ERR_INVALID_ARG_VALUE), and `ipv4` must be given (ERR_INVALID_ARG_TYPE); a call replaces
   * both, so one without `ipv6` clears it.
   *
   * @param ipv4 - An IPv4 address of the stack's.
   * @param ipv6 - An IPv6 address of the stack's.
   */
  setLocalAddress(ipv4?: unknown, ipv6?: unknown): void {
    validateString(ipv4, 'ipv4');
    if (isIP(ipv4) !== 4) throw invalidArgValue('ipv4', ipv4);
    if (ipv6 !== undefined) {
      validateString(ipv6, 'ipv6');
      if (isIP(ipv6) !== 6) throw invalidArgValue('ipv6', ipv6);
    }
    this.#localAddresses = { ipv4, ipv6: ipv6 as string | undefined };
  }

  /** Ends every query in flight of this resolver: each calls back with an ECANCELLED error. */
  cancel(): void {
    for (const end of [...this.#pending]) end('ECANCELLED');
  }

  /**
   * `resolve(hostname[, rrtype], callback)`: the records of type `rrtype` (default `'A'`) of
   * `hostname`, as the matching `resolve*` gives them. Node's SOA, SRV, NAPTR, CAA and TLSA
   * throw ERR_INVALID_ARG_VALUE here (no parser of ustack's, and no fallback to the host).
   *
   * @param hostname - The name; a final dot is allowed.
   * @param rrtype - `'A'`, `'AAAA'`, `'ANY'`, `'CNAME'`, `'MX'`, `'NS'`, `'PTR'` or `'TXT'`; or the callback.
   * @param callback - `(err, records)`.
   */
  resolve(hostname: string, rrtype: unknown, callback?: unknown): void {
    if (typeof rrtype === 'function') {
      callback = rrtype;
      rrtype = 'A';
    }
    validateString(rrtype, 'rrtype');
    if (!(rrtype in RRTYPES)) {
      throw invalidArgValue(
        'rrtype',
        rrtype,
        `is not one ustack's resolver answers (${Object.keys(RRTYPES).join(', ')}; it asks the stack's own network, and has no ${rrtype} parser)`,
      );
    }
    this.#query(hostname, rrtype as RrType, false, callback);
  }

  /**
   * `resolve4(hostname[, options], callback)`: the IPv4 addresses (A records) of `hostname`, as
   * strings, or with `{ ttl: true }` as `{ address, ttl }` objects (TTL in seconds).
   *
   * @param hostname - The name.
   * @param options - `{ ttl }`; or the callback.
   * @param callback - `(err, addresses)`.
   */
  resolve4(hostname: string, options: unknown, callback?: unknown): void {
    this.#withTtl(hostname, 'A', options, callback);
  }

  /**
   * `resolve6(hostname[, options], callback)`: the IPv6 addresses (AAAA records) of `hostname`,
   * as {@link resolve4} gives IPv4's.
   *
   * @param hostname - The name.
   * @param options - `{ ttl }`; or the callback.
   * @param callback - `(err, addresses)`.
   */
  resolve6(hostname: string, options: unknown, callback?: unknown): void {
    this.#withTtl(hostname, 'AAAA', options, callback);
  }

  /**
   * An ANY query (RFC 8482 lets a server answer with only some records): one object per record
   * with its `type`: A and AAAA `{ address, ttl }`, CNAME, NS and PTR `{ value }`, MX
   * `{ priority, exchange }`, TXT `{ entries }`, ordered by type as Node's parser reads them.
   * Records of other types (SOA, SRV, …) are left out, where Node gives them.
   *
   * @param hostname - The name.
   * @param callback - `(err, records)`.
   */
  resolveAny(hostname: string, callback: unknown): void {
    this.#query(hostname, 'ANY', true, callback);
  }

  /**
   * The CNAME records of `hostname` itself: the canonical names it is an alias of.
   *
   * @param hostname - The name.
   * @param callback - `(err, names)`.
   */
  resolveCname(hostname: string, callback: unknown): void {
    this.#query(hostname, 'CNAME', false, callback);
  }

  /**
   * The mail exchanges of `hostname` (MX records), as `{ priority, exchange }`; with
   * `type: 'MX'` too on Node 24 and later, as Node's own.
   *
   * @param hostname - The name.
   * @param callback - `(err, exchanges)`.
   */
  resolveMx(hostname: string, callback: unknown): void {
    this.#query(hostname, 'MX', false, callback);
  }

  /**
   * The name servers of `hostname` (NS records), as names.
   *
   * @param hostname - The name.
   * @param callback - `(err, names)`.
   */
  resolveNs(hostname: string, callback: unknown): void {
    this.#query(hostname, 'NS', false, callback);
  }

  /**
   * The PTR records of `hostname`, as names; for a reverse lookup pass the in-addr.arpa or
   * ip6.arpa name (`reverse` is not provided).
   *
   * @param hostname - The name.
   * @param callback - `(err, names)`.
   */
  resolvePtr(hostname: string, callback: unknown): void {
    this.#query(hostname, 'PTR', false, callback);
  }

  /**
   * The TXT records of `hostname`: one array per record of its character strings (read as
   * UTF-8), which Node's docs say are usually joined and read as one.
   *
   * @param hostname - The name.
   * @param callback - `(err, records)`.
   */
  resolveTxt(hostname: string, callback: unknown): void {
    this.#query(hostname, 'TXT', false, callback);
  }

  #withTtl(hostname: string, rrtype: 'A' | 'AAAA', options: unknown, callback: unknown): void {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    const ttl = options !== null && typeof options === 'object' && (options as { ttl?: unknown }).ttl === true;
    this.#query(hostname, rrtype, ttl, callback);
  }

  /** Validates, runs the query, and answers `callback` on a later tick. */
  #query(hostname: string, rrtype: RrType, withTtl: boolean, callback: unknown): void {
    validateString(hostname, 'name');
    validateFunction(callback, 'callback');
    const done = callback as (error: Error | null, result?: unknown) => void;
    const { syscall, type } = RRTYPES[rrtype];
    const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
    if (!validDnsName(name) || name === '') {
      process.nextTick(() => done(dnsError('EBADNAME', syscall, hostname)));
      return;
    }
    this.#ask(name, type, (outcome) => {
      if ('code' in outcome) return done(dnsError(outcome.code, syscall, hostname));
      const values = answersFor(outcome.message, name, rrtype);
      if (values.length === 0) return done(dnsError('ENODATA', syscall, hostname));
      done(null, shape(values, rrtype, withTtl));
    });
  }

  /** Asks each server in turn, `tries` rounds; `finish` gets the first usable reply or the last error. */
  #ask(name: string, type: number, finish: (outcome: Outcome) => void): void {
    const servers = [...this.#servers];
    const stats = this.#dns.stack.stats;
    let finished = false;
    let stopCurrent: (() => void) | null = null;
    let lastCode = servers.length === 0 ? 'ECONNREFUSED' : 'ETIMEOUT';
    const end = (outcome: Outcome) => {
      if (finished) return;
      finished = true;
      this.#pending.delete(cancel);
      stopCurrent?.();
      // Answers reach user code from the event loop, never inside the stack's processing.
      process.nextTick(() => finish(outcome));
    };
    const cancel = (code: string) => end({ code });
    this.#pending.add(cancel);
    let attempt = 0;
    const next = () => {
      if (finished) return;
      const round = Math.floor(attempt / Math.max(1, servers.length));
      if (servers.length === 0 || round >= this.#tries) return end({ code: lastCode });
      const server = servers[attempt % servers.length];
      attempt++;
      const timeout = Math.min(this.#timeoutMs * 2 ** round, this.#maxTimeoutMs);
      stats.increment('dns.tx.queries');
      stopCurrent = this.#askOne(server, name, type, timeout, (result) => {
        stopCurrent = null;
        if ('message' in result) {
          const rcode = result.message.rcode;
          if (rcode === DnsRcode.NOERROR) return end(result);
          if (rcode === DnsRcode.NXDOMAIN) return end({ code: 'ENOTFOUND' });
          if (rcode === DnsRcode.FORMERR) return end({ code: 'EFORMERR' });
          // RFC 1034 §5.3.3: a server failure or a refusal says nothing of the name; ask the
          // next server (glibc's res_send does). Node 20's c-ares ends with ESERVFAIL at once.
          lastCode = rcode === DnsRcode.SERVFAIL ? 'ESERVFAIL' : rcode === DnsRcode.NOTIMP ? 'ENOTIMP' : rcode === DnsRcode.REFUSED ? 'EREFUSED' : 'EBADRESP';
        } else {
          lastCode = result.code;
        }
        next();
      });
    };
    next();
  }

  /**
   * One query to one server over UDP, on its own socket: calls `answer` once with the matching
   * reply (or, when it is truncated, the reply over TCP), or an error code.
   */
  #askOne(server: Server, name: string, type: number, timeoutMs: number, answer: (result: Outcome) => void): () => void {
    const { dgram, context, stack } = this.#dns;
    const id = stack.rng.nextU32() & 0xffff;
    const query = encodeDnsQuery(id, name, type);
    const socket: DgramSocket = dgram.createSocket(server.family === 6 ? 'udp6' : 'udp4');
    let over = false;
    let stopTcp: (() => void) | null = null;
    const stop = () => {
      if (over) return;
      over = true;
      cancelTimer();
      stopTcp?.();
      socket.close();
    };
    const settle = (result: Outcome) => {
      if (over) return;
      stop();
      answer(result);
    };
    const cancelTimer = context.after(timeoutMs, () => {
      stack.stats.increment('dns.timeouts');
      settle({ code: 'ETIMEOUT' });
    });
    // A connected socket hears the server's ICMP port unreachable (RFC 1122 §4.1.3.3); c-ares
    // reports any failure to reach a server as ECONNREFUSED.
    socket.on('error', () => settle({ code: 'ECONNREFUSED' }));
    socket.on('message', (bytes: Buffer) => {
      const reply = matchingReply(bytes, id, name, type);
      if (!reply.ok) {
        stack.stats.increment(`drop.dns.${reply.reason as DnsDecodeReason | 'unmatched'}`);
        return;
      }
      stack.stats.increment('dns.rx.replies');
      if (!reply.message.truncated) return settle({ message: reply.message });
      // RFC 7766 §5 (RFC 1035 §4.2.1): a truncated answer is asked again over TCP.
      stack.stats.increment('dns.rx.truncated');
      stopTcp = this.#askOverTcp(server, query, id, name, type, settle);
    });
    const local = server.family === 6 ? this.#localAddresses.ipv6 : this.#localAddresses.ipv4;
    socket.bind({ port: 0, address: local }, () => {
      if (over) return;
      socket.connect(server.port, server.address, (error?: Error) => {
        if (error) return settle({ code: 'ECONNREFUSED' });
        if (!over) socket.send(query);
      });
    });
    return stop;
  }

  /** The same query over TCP (two-octet length, then the message: RFC 1035 §4.2.2). */
  #askOverTcp(server: Server, query: Uint8Array, id: number, name: string, type: number, settle: (result: Outcome) => void): () => void {
    const { net, stack } = this.#dns;
    const local = server.family === 6 ? this.#localAddresses.ipv6 : this.#localAddresses.ipv4;
    stack.stats.increment('dns.tx.tcpQueries');
    const connection = net.connect({ host: server.address, port: server.port, localAddress: local });
    // At most the two-octet length's 65,535 octets and one chunk are held (RFC 1035 §4.2.2).
    let received = Buffer.alloc(0);
    const framed = Buffer.alloc(2 + query.length);
    framed.writeUInt16BE(query.length, 0);
    framed.set(query, 2);
    connection.on('connect', () => connection.write(framed));
    connection.on('error', (error: Error & { code?: string }) => settle({ code: error.code === 'ECONNREFUSED' ? 'ECONNREFUSED' : 'EBADRESP' }));
    connection.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      const reply = matchingReply(received.subarray(2, 2 + length), id, name, type);
      if (!reply.ok) {
        stack.stats.increment(`drop.dns.${reply.reason as DnsDecodeReason | 'unmatched'}`);
        return settle({ code: 'EBADRESP' });
      }
      settle({ message: reply.message });
    });
    connection.on('end', () => settle({ code: 'EBADRESP' }));
    return () => connection.destroy();
  }
}

type Matched = { readonly ok: true; readonly message: DnsMessage } | { readonly ok: false; readonly reason: DnsDecodeReason | 'unmatched' };

/** The reply to our query, or why these bytes are not (RFC 5452 §9.1: ID and question must match). */
function matchingReply(bytes: Uint8Array, id: number, name: string, type: number): Matched {
  const decoded = decodeDnsMessage(bytes);
  if (!decoded.ok) return { ok: false, reason: decoded.error.reason };
  const message = decoded.value;
  if (!message.response || message.opcode !== 0 || message.id !== id) return { ok: false, reason: 'unmatched' };
  // A FORMERR may come without the question (RFC 1035 §4.1.1 leaves it to the server).
  if (message.questions.length === 0 && message.rcode === DnsRcode.FORMERR) return { ok: true, message };
  const question = message.questions[0];
  if (message.questions.length !== 1 || question.type !== type || question.class !== DNS_CLASS_IN || !sameName(question.name, name)) {
    return { ok: false, reason: 'unmatched' };
  }
  return { ok: true, message };
}

/** Names compare without regard to ASCII case (RFC 1035 §2.3.3, RFC 4343). */
function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** A record's value with its TTL. */
type Answer = { readonly value: DnsRecordValue; readonly ttl: number };

/**
 * The answers for `name`: records owned by it or by a name its CNAMEs lead to (RFC 1034 §3.6.2,
 * §5.3.3), of the type asked (every type read, for ANY). A record of another owner is no answer
 * to the question and is left out, as glibc's resolver does; c-ares (Node 20's) returns every
 * record of the type in the answer section.
 */
function answersFor(message: DnsMessage, name: string, rrtype: RrType): Answer[] {
  const owners = new Set([name.toLowerCase()]);
  // Follow the CNAME chain as far as the answer section goes (each step adds a name; bounded by it).
  for (let grew = true; grew;) {
    grew = false;
    for (const record of message.answers) {
      if (record.type !== DnsType.CNAME || !owners.has(record.name.toLowerCase())) continue;
      const value = recordValue(message, record);
      if (value && value.type === 'CNAME' && !owners.has(value.value.toLowerCase())) {
        owners.add(value.value.toLowerCase());
        grew = true;
      }
    }
  }
  const answers: Answer[] = [];
  for (const record of message.answers) {
    if (record.class !== DNS_CLASS_IN) continue;
    // CNAME asked for: the name's own CNAME record.
    if (rrtype === 'CNAME' ? !sameName(record.name, name) : !owners.has(record.name.toLowerCase())) continue;
    const value = recordValue(message, record);
    if (!value) continue;
    if (rrtype !== 'ANY' && value.type !== rrtype) continue;
    answers.push({ value, ttl: record.ttl });
  }
  if (rrtype === 'ANY') answers.sort((a, b) => ANY_ORDER.indexOf(a.value.type) - ANY_ORDER.indexOf(b.value.type));
  return answers;
}

/** The answers as Node gives them for each call. */
function shape(answers: Answer[], rrtype: RrType, withTtl: boolean): unknown[] {
  return answers.map(({ value, ttl }) => {
    switch (rrtype) {
      case 'ANY':
        return value.type === 'A' || value.type === 'AAAA' ? { address: value.address, ttl, type: value.type } : { ...value };
      case 'A':
      case 'AAAA':
        return withTtl ? { address: (value as { address: string }).address, ttl } : (value as { address: string }).address;
      case 'CNAME':
      case 'NS':
      case 'PTR':
        return (value as { value: string }).value;
      case 'MX': {
        const mx = { exchange: (value as { exchange: string }).exchange, priority: (value as { priority: number }).priority };
        return MX_CARRIES_TYPE ? { ...mx, type: 'MX' } : mx;
      }
      case 'TXT':
        return (value as { entries: string[] }).entries;
    }
  });
}

/**
 * Whether `resolveMx`'s records carry `type: 'MX'` as the running Node's do: Node 24's do, Node
 * 20's do not (both seen against c-ares in test/node-compat/dns.test.ts); Node 22 is taken as 20.
 */
const MX_CARRIES_TYPE = Number(process.versions.node.split('.')[0]) >= 24;

type Callback = (error: Error | null, result?: unknown) => void;

/**
 * `dns.promises.Resolver`: the same resolver as {@link Resolver}, answering with promises that
 * reject with a {@link DnsError}. Made with `new stack.dns.promises.Resolver(options)`. A bad
 * argument throws synchronously, as in Node.
 */
export class PromiseResolver {
  readonly #resolver: Resolver;

  /**
   * Not called directly: `new stack.dns.promises.Resolver(options)` supplies `dns`.
   *
   * @param dns - The stack, its timers, `dgram` and `net` the queries go over.
   * @param options - As {@link Resolver}'s.
   * @param resolver - A callback resolver to share (servers, queries, `cancel`) instead of a new one: the module's default.
   */
  constructor(dns: DnsContext, options?: ResolverOptions, resolver?: Resolver) {
    this.#resolver = resolver ?? new Resolver(dns, options);
  }

  /** As {@link Resolver.getServers}. */
  getServers(): string[] {
    return this.#resolver.getServers();
  }

  /** As {@link Resolver.setServers}. */
  setServers(servers: unknown): void {
    this.#resolver.setServers(servers);
  }

  /** As {@link Resolver.setLocalAddress}. */
  setLocalAddress(ipv4?: unknown, ipv6?: unknown): void {
    this.#resolver.setLocalAddress(ipv4, ipv6);
  }

  /** Ends every query in flight: their promises reject with ECANCELLED. */
  cancel(): void {
    this.#resolver.cancel();
  }

  /**
   * Starts the call now, so that a bad argument throws here as in Node's promises API, and
   * settles the promise with its answer.
   */
  #promise(call: (callback: Callback) => void): Promise<unknown> {
    let settle: Callback | null = null;
    let early: [Error | null, unknown] | null = null;
    call((error, result) => {
      if (settle) settle(error, result);
      else early = [error, result];
    });
    return new Promise((resolve, reject) => {
      settle = (error, result) => (error ? reject(error) : resolve(result));
      if (early) settle(early[0], early[1]);
    });
  }

  /** As {@link Resolver.resolve}; `rrtype` defaults to `'A'`. Resolves with the records. */
  resolve(hostname: string, rrtype: unknown = 'A'): Promise<unknown> {
    return this.#promise((callback) => this.#resolver.resolve(hostname, rrtype, callback));
  }

  /** As {@link Resolver.resolve4}: resolves with the IPv4 addresses (`{ address, ttl }` with `{ ttl: true }`). */
  resolve4(hostname: string, options?: { ttl?: boolean }): Promise<unknown> {
    return this.#promise((callback) => this.#resolver.resolve4(hostname, options ?? {}, callback));
  }

  /** As {@link Resolver.resolve6}: resolves with the IPv6 addresses (`{ address, ttl }` with `{ ttl: true }`). */
  resolve6(hostname: string, options?: { ttl?: boolean }): Promise<unknown> {
    return this.#promise((callback) => this.#resolver.resolve6(hostname, options ?? {}, callback));
  }

  /** As {@link Resolver.resolveAny}: resolves with the records, each with its `type`. */
  resolveAny(hostname: string): Promise<unknown> {
    return this.#promise((callback) => this.#resolver.resolveAny(hostname, callback));
  }

  /** As {@link Resolver.resolveCname}: resolves with the canonical names. */
  resolveCname(hostname: string): Promise<unknown> {
    return this.#promise((callback) => this.#resolver.resolveCname(hostname, callback));
  }

  /** As {@link Resolver.resolveMx}: resolves with `{ priority, exchange }` objects. */
  resolveMx(hostname: string): Promise<unknown> {
    return this.#promise((callback) => this.#resolver.resolveMx(hostname, callback));
  }

  /** As {@link Resolver.resolveNs}: resolves with the name servers' names. */
  resolveNs(hostname: string): Promise<unknown> {
    return this.#promise((callback) => this.#resolver.resolveNs(hostname, callback));
  }

  /** As {@link Resolver.resolvePtr}: resolves with the names. */
  resolvePtr(hostname: string): Promise<unknown> {
    return this.#promise((callback) => this.#resolver.resolvePtr(hostname, callback));
  }

  /** As {@link Resolver.resolveTxt}: resolves with one array of strings per record. */
  resolveTxt(hostname: string): Promise<unknown> {
    return this.#promise((callback) => this.#resolver.resolveTxt(hostname, callback));
  }
}

/** The `dns` module of one stack. */
export interface DnsModule {
  /** `new dns.Resolver(options)`: a resolver asking over the stack. */
  readonly Resolver: {
    /**
     * A resolver of this stack's, its servers the host's; see {@link Resolver}'s constructor.
     *
     * @param options - Timeout, tries and maxTimeout, as Node's.
     */
    new (options?: ResolverOptions): Resolver;
  };
  /** Node's `dns.lookup`: the host's getaddrinfo (see the file's comment). */
  lookup: typeof nodeDns.lookup;
  /** Node's `dns.lookupService`: the host's getnameinfo. */
  readonly lookupService: typeof nodeDns.lookupService;
  /** The default resolver's {@link Resolver.getServers}. */
  readonly getServers: () => string[];
  /** The default resolver's {@link Resolver.setServers} (used by the module's `resolve*` and `promises`). */
  readonly setServers: (servers: unknown) => void;
  /** The default resolver's {@link Resolver.resolve}. */
  readonly resolve: (hostname: string, rrtype: unknown, callback?: unknown) => void;
  /** The default resolver's {@link Resolver.resolve4}. */
  readonly resolve4: (hostname: string, options: unknown, callback?: unknown) => void;
  /** The default resolver's {@link Resolver.resolve6}. */
  readonly resolve6: (hostname: string, options: unknown, callback?: unknown) => void;
  /** The default resolver's {@link Resolver.resolveAny}. */
  readonly resolveAny: (hostname: string, callback: unknown) => void;
  /** The default resolver's {@link Resolver.resolveCname}. */
  readonly resolveCname: (hostname: string, callback: unknown) => void;
  /** The default resolver's {@link Resolver.resolveMx}. */
  readonly resolveMx: (hostname: string, callback: unknown) => void;
  /** The default resolver's {@link Resolver.resolveNs}. */
  readonly resolveNs: (hostname: string, callback: unknown) => void;
  /** The default resolver's {@link Resolver.resolvePtr}. */
  readonly resolvePtr: (hostname: string, callback: unknown) => void;
  /** The default resolver's {@link Resolver.resolveTxt}. */
  readonly resolveTxt: (hostname: string, callback: unknown) => void;
  /**
   * Node's own `dns.setDefaultResultOrder` (`'ipv4first'`, `'ipv6first'`, `'verbatim'`): it
   * orders `lookup`'s answers, process-wide, so it also changes Node's own `dns`.
   */
  readonly setDefaultResultOrder: typeof nodeDns.setDefaultResultOrder;
  /** Node's own `dns.getDefaultResultOrder()`: the order `lookup` gives addresses in. */
  readonly getDefaultResultOrder: () => string;
  /** `dns.promises` (also `dns/promises`). */
  readonly promises: DnsPromisesModule;
  /** getaddrinfo's hints and the resolver's error codes, as Node's module has them. */
  readonly [constant: string]: unknown;
}

/** `dns.promises` of one stack. */
export interface DnsPromisesModule {
  /** `new dns.promises.Resolver(options)`: a promise resolver asking over the stack. */
  readonly Resolver: {
    /**
     * A promise resolver of this stack's, its servers the host's; see {@link Resolver}'s constructor.
     *
     * @param options - Timeout, tries and maxTimeout, as Node's.
     */
    new (options?: ResolverOptions): PromiseResolver;
  };
  /** Node's `dns.promises.lookup`: the host's getaddrinfo, not the stack. */
  readonly lookup: typeof nodeDns.promises.lookup;
  /** Node's `dns.promises.lookupService`: the host's getnameinfo. */
  readonly lookupService: typeof nodeDns.promises.lookupService;
  /** {@link PromiseResolver.getServers} of the module's default resolver (the callback module's, shared). */
  readonly getServers: () => string[];
  /** {@link PromiseResolver.setServers} of the default resolver, shared with the callback module. */
  readonly setServers: (servers: unknown) => void;
  /** The default resolver's {@link PromiseResolver.resolve}. */
  readonly resolve: (hostname: string, rrtype?: unknown) => Promise<unknown>;
  /** The default resolver's {@link PromiseResolver.resolve4}. */
  readonly resolve4: (hostname: string, options?: { ttl?: boolean }) => Promise<unknown>;
  /** The default resolver's {@link PromiseResolver.resolve6}. */
  readonly resolve6: (hostname: string, options?: { ttl?: boolean }) => Promise<unknown>;
  /** The default resolver's {@link PromiseResolver.resolveAny}. */
  readonly resolveAny: (hostname: string) => Promise<unknown>;
  /** The default resolver's {@link PromiseResolver.resolveCname}. */
  readonly resolveCname: (hostname: string) => Promise<unknown>;
  /** The default resolver's {@link PromiseResolver.resolveMx}. */
  readonly resolveMx: (hostname: string) => Promise<unknown>;
  /** The default resolver's {@link PromiseResolver.resolveNs}. */
  readonly resolveNs: (hostname: string) => Promise<unknown>;
  /** The default resolver's {@link PromiseResolver.resolvePtr}. */
  readonly resolvePtr: (hostname: string) => Promise<unknown>;
  /** The default resolver's {@link PromiseResolver.resolveTxt}. */
  readonly resolveTxt: (hostname: string) => Promise<unknown>;
  readonly [constant: string]: unknown;
}

/** Node's constants (ADDRCONFIG, V4MAPPED, ALL, and the error codes NODATA … CANCELLED). */
function constantsOf(module: object): Record<string, unknown> {
  const constants: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(module)) if (/^[A-Z][A-Z0-9_]*$/.test(key) && typeof value !== 'function') constants[key] = value;
  return constants;
}

/** Builds the `dns` module of `stack`: resolvers over its `dgram` (and `net` for truncated answers). */
export function createDns(stack: Stack, context: NodeModuleContext, dgram: DgramModule, net: NetModule): DnsModule {
  const dns: DnsContext = { stack, context, dgram, net };
  const defaultResolver = new Resolver(dns);
  const defaultPromises = new PromiseResolver(dns, undefined, defaultResolver);
  const StackResolver = class extends Resolver {
    constructor(options?: ResolverOptions) {
      super(dns, options);
    }
  };
  const StackPromiseResolver = class extends PromiseResolver {
    constructor(options?: ResolverOptions) {
      super(dns, options);
    }
  };
  const promises: DnsPromisesModule = {
    ...constantsOf(nodeDns.promises),
    Resolver: StackPromiseResolver,
    lookup: nodeDns.promises.lookup,
    lookupService: nodeDns.promises.lookupService,
    getServers: () => defaultPromises.getServers(),
    setServers: (servers) => defaultPromises.setServers(servers),
    resolve: (hostname, rrtype) => defaultPromises.resolve(hostname, rrtype),
    resolve4: (hostname, options) => defaultPromises.resolve4(hostname, options),
    resolve6: (hostname, options) => defaultPromises.resolve6(hostname, options),
    resolveAny: (hostname) => defaultPromises.resolveAny(hostname),
    resolveCname: (hostname) => defaultPromises.resolveCname(hostname),
    resolveMx: (hostname) => defaultPromises.resolveMx(hostname),
    resolveNs: (hostname) => defaultPromises.resolveNs(hostname),
    resolvePtr: (hostname) => defaultPromises.resolvePtr(hostname),
    resolveTxt: (hostname) => defaultPromises.resolveTxt(hostname),
  };
  return {
    ...constantsOf(nodeDns),
    Resolver: StackResolver,
    lookup: nodeDns.lookup,
    lookupService: nodeDns.lookupService,
    getServers: () => defaultResolver.getServers(),
    setServers: (servers) => defaultResolver.setServers(servers),
    resolve: (hostname, rrtype, callback) => defaultResolver.resolve(hostname, rrtype, callback),
    resolve4: (hostname, options, callback) => defaultResolver.resolve4(hostname, options, callback),
    resolve6: (hostname, options, callback) => defaultResolver.resolve6(hostname, options, callback),
    resolveAny: (hostname, callback) => defaultResolver.resolveAny(hostname, callback),
    resolveCname: (hostname, callback) => defaultResolver.resolveCname(hostname, callback),
    resolveMx: (hostname, callback) => defaultResolver.resolveMx(hostname, callback),
    resolveNs: (hostname, callback) => defaultResolver.resolveNs(hostname, callback),
    resolvePtr: (hostname, callback) => defaultResolver.resolvePtr(hostname, callback),
    resolveTxt: (hostname, callback) => defaultResolver.resolveTxt(hostname, callback),
    setDefaultResultOrder: nodeDns.setDefaultResultOrder,
    getDefaultResultOrder: () => (nodeDns as unknown as { getDefaultResultOrder: () => string }).getDefaultResultOrder(),
    promises,
  };
}
