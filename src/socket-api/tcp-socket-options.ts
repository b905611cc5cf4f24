/**
 * The socket options of a TCP socket, as one table from (level, optname) to how the value is
 * checked, recorded and applied (setsockopt) and how it is read back (getsockopt): SOL_SOCKET,
 * IPPROTO_IP and IPPROTO_TCP (= SOL_TCP). The shape of gVisor's endpoint SetSockOpt /
 * GetSockOpt: an option reaches the connection only through the connection's own setter
 * (`TcpConnection.setNoDelay`, `setKeepalive`…), the same ones the Node handle calls. Options
 * set before there is a connection are recorded here and given to it, through those setters,
 * when it is created (`applySocketOptions`).
 *
 * The Berkeley API (berkeley.ts) reads this table for every socket: UDP and raw sockets record
 * the shared options here too and add their own (multicast, IP_HDRINCL) in berkeley.ts.
 */
import { ErrnoError, Errno, type ErrnoCode } from '../core/errno.js';
import type { TcpConfig } from '../tcp/config.js';
import type { CongestionAlgorithm } from '../tcp/congestion.js';
import type { TcpConnection } from '../tcp/connection.js';
import { listenerTcpInfo, socketTcpInfo, unconnectedTcpInfo, type TcpInfo } from '../tcp/tcp-info.js';
import type { TcpListener } from '../tcp/tcp-layer.js';
import * as C from './berkeley-constants.js';

/** What setsockopt takes: numbers (booleans as 0/1), SO_LINGER `{ onoff, linger }`, TCP_CONGESTION a name, addresses as text. */
export type SocketOptionValue = number | boolean | string | { onoff: number | boolean; linger: number };

/** What getsockopt returns: a number, TCP_CONGESTION's name, SO_LINGER's pair, TCP_INFO's record. */
export type SocketOptionResult = number | string | { onoff: number; linger: number } | TcpInfo;

/** Options kept per socket (some apply only once a connection exists). */
export interface SocketOptions {
  reuseAddress: boolean;
  reusePort: boolean;
  keepalive: boolean;
  keepIdleSeconds: number;
  keepIntervalSeconds: number;
  keepCount: number;
  /** TCP_KEEPINIT: handshake time limit in seconds (0: none). */
  keepInitSeconds: number;
  linger: { onoff: boolean; seconds: number };
  receiveBuffer: number;
  /** SO_RCVBUF was set (Linux's SOCK_RCVBUF_LOCK). */
  receiveBufferSet: boolean;
  sendBuffer: number;
  /** SO_SNDBUF was set: it replaces the connection's send buffer size, even once connected (and Linux's accounting stops growing it: SOCK_SNDBUF_LOCK). */
  sendBufferSet: boolean;
  receiveTimeoutMs: number;
  sendTimeoutMs: number;
  noDelay: boolean;
  /** TCP_CORK. */
  cork: boolean;
  /** TCP_NOTSENT_LOWAT (0: the stack's). */
  notSentLowWater: number;
  /** TCP_INQ: recvmsg reports the bytes still readable. */
  reportInq: boolean;
  maxSegment: number;
  userTimeoutMs: number;
  congestion: CongestionAlgorithm;
  ttl: number | undefined;
  tos: number;
  /** IP_MTU_DISCOVER: one of IP_PMTUDISC_DONT, _WANT, _DO, _PROBE. */
  mtuDiscover: number;
  broadcast: boolean;
  headerIncluded: boolean;
  /** SO_ZEROCOPY: sends with MSG_ZEROCOPY are numbered and completed on the error queue. */
  zerocopy: boolean;
  /** IPV6_V6ONLY: an AF_INET6 socket speaks IPv6 only (Linux's default, net.ipv6.bindv6only=0: no). */
  ipv6Only: boolean;
  /** IPV6_UNICAST_HOPS, or undefined: IPv6's default Hop Limit. */
  unicastHops: number | undefined;
  /** IPV6_TCLASS: the Traffic Class (DSCP << 2 | ECN). */
  trafficClass: number;
}

/** The socket an option is set on or read from (the Berkeley API's descriptor entry). */
export interface OptionSocket {
  /** SOCK_STREAM, SOCK_DGRAM or SOCK_RAW. */
  readonly type: number;
  /** 4 for AF_INET, 6 for AF_INET6: IPPROTO_IPV6 options are an AF_INET6 socket's only. */
  readonly family: 4 | 6;
  /** True once bound to a port (IPV6_V6ONLY can no longer change, as Linux's inet_num check). */
  readonly bound: boolean;
  readonly options: SocketOptions;
  /** The TCP connection, once connect() or accept() made one. */
  readonly connection: TcpConnection | null;
  readonly listener: TcpListener | null;
}

/** What reading an option may need beyond the socket. */
export interface OptionReadContext {
  readonly tcpConfig: TcpConfig;
  /** IP_TTL's value when none was set. */
  readonly defaultTtl: number;
  /** The time application calls see (TCP_INFO's ages). */
  now(): number;
  /** Takes the socket's pending error (SO_ERROR reads and clears it). */
  takeError(): ErrnoCode | null;
}

/** One row of the table. A missing `set` or `get` is ENOPROTOOPT, as an unknown option. */
export interface SocketOption {
  /** Checks the value (EINVAL, ENOENT…), records it, and applies it to the connection if there is one. */
  readonly set?: (socket: OptionSocket, value: SocketOptionValue) => void;
  /** The value getsockopt reports. */
  readonly get?: (socket: OptionSocket, context: OptionReadContext) => SocketOptionResult;
}

/** The option's row, or undefined for an option TCP sockets do not have (ENOPROTOOPT). */
export function socketOption(level: number, name: number): SocketOption | undefined {
  return SOCKET_OPTIONS.get(optionKey(level, name));
}

/** The table's key of (level, optname). */
export function optionKey(level: number, name: number): string {
  return `${level}:${name}`;
}

/**
 * Gives a connection the options recorded on its socket, through the connection's setters (the
 * same ones the rows call): before its SYN (connect), at its SYN (a listener's child) and again
 * when accepted (the listener's options may have changed meanwhile). NODELAY and CORK only when
 * they differ, so that an accept does not push; keep-alive in libuv's order (keepalive.ts).
 * TCP_CONGESTION is not here: the connection is created with the socket's algorithm.
 */
export function applySocketOptions(connection: TcpConnection, options: SocketOptions): void {
  if (connection.options.noDelay !== options.noDelay) connection.setNoDelay(options.noDelay);
  if (connection.options.cork !== options.cork) connection.setCork(options.cork);
  connection.setKeepalive({
    enabled: options.keepalive,
    idleMs: options.keepIdleSeconds * 1000,
    intervalMs: options.keepIntervalSeconds * 1000,
    count: options.keepCount,
  });
  connection.setHandshakeTimeout(options.keepInitSeconds * 1000);
  connection.setUserTimeout(options.userTimeoutMs);
  connection.setMaxSegmentSize(options.maxSegment);
  connection.setLinger(options.linger.onoff, options.linger.seconds);
  connection.setNotSentLowWater(options.notSentLowWater);
  connection.setTtl(options.ttl);
  connection.setTos(options.tos);
  connection.setDontFragment(options.mtuDiscover !== C.IP_PMTUDISC_DONT);
  // An accepted connection keeps the size it was given unless this socket set its own (with
  // FreeBSD's accounting it may have grown to whole segments already; Linux's keeps its own
  // limit, tcp_wmem[1] grown, until SO_SNDBUF is set).
  if (options.sendBufferSet || (connection.sendMemory.accounting === 'bytes' && !connection.synchronized)) connection.setSendBufferSize(options.sendBuffer);
  connection.setReceiveBufferSize(options.receiveBuffer, options.receiveBufferSet);
}

// ---- values ------------------------------------------------------------------------------------

/** The number a value stands for (booleans 0/1; NaN for text and pairs). */
function numberOf(value: SocketOptionValue): number {
  return typeof value === 'boolean' ? Number(value) : typeof value === 'number' ? value : NaN;
}

/** A flag: any number but 0 is on. */
function flagOf(value: SocketOptionValue): boolean {
  const n = numberOf(value);
  return n !== 0 && !Number.isNaN(n);
}

/** A size or time: not negative (and not zero unless `allowZero`), rounded down; else EINVAL. */
function positive(value: SocketOptionValue, allowZero = false): number {
  const n = numberOf(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new ErrnoError('EINVAL', 'setsockopt');
  return Math.floor(n);
}

/** At least 1, rounded down (the keep-alive times and count, as Linux's 1..MAX_TCP_KEEP*); else EINVAL. */
function atLeastOne(value: SocketOptionValue): number {
  const n = numberOf(value);
  if (!Number.isFinite(n) || n < 1) throw new ErrnoError('EINVAL', 'setsockopt');
  return Math.floor(n);
}

/** A flag recorded in the socket's options, with no effect on a connection. */
function recordedFlag(field: 'reuseAddress' | 'reusePort' | 'broadcast' | 'reportInq' | 'zerocopy'): SocketOption {
  return {
    set: (socket, value) => {
      socket.options[field] = flagOf(value);
    },
    get: (socket) => Number(socket.options[field]),
  };
}

/**
 * SO_RCVBUF / SO_SNDBUF as the configured system reports them (TcpConfig.socketBufferAccounting).
 * Linux (socket(7)): double a value that was set, the default (tcp_rmem[1], tcp_wmem[1],
 * rmem_default for UDP) as it is. FreeBSD: the connection's buffers once it has one (grown to
 * whole segments when the MSS became known), else the value set or recvspace / sendspace.
 */
function reportedBufferSize(socket: OptionSocket, which: 'receive' | 'send', config: TcpConfig): number {
  const options = socket.options;
  const value = which === 'receive' ? options.receiveBuffer : options.sendBuffer;
  const set = which === 'receive' ? options.receiveBufferSet : options.sendBufferSet;
  if (socket.type !== C.SOCK_STREAM || config.socketBufferAccounting === 'linux') return set ? value * 2 : value;
  const connection = socket.connection;
  if (connection) return which === 'receive' ? connection.receiveBufferSize : connection.sendBuffer.capacity;
  return value;
}

/** TCP_INFO of a TCP socket: its connection's, a listener's, or a fresh socket's (Linux's values for each). */
function tcpInfo(socket: OptionSocket, context: OptionReadContext): TcpInfo {
  if (socket.type !== C.SOCK_STREAM) throw new ErrnoError('ENOPROTOOPT', 'getsockopt');
  if (socket.connection) return socketTcpInfo(socket.connection, context.now());
  if (socket.listener) return listenerTcpInfo(socket.listener, context.tcpConfig);
  return unconnectedTcpInfo(context.tcpConfig);
}

// ---- the table -----------------------------------------------------------------------------------

const SOCKET_OPTIONS: ReadonlyMap<string, SocketOption> = new Map<string, SocketOption>([
  // SOL_SOCKET (socket(7))
  [
    optionKey(C.SOL_SOCKET, C.SO_ERROR),
    {
      get: (_, context) => {
        const error = context.takeError();
        return error ? Errno[error] : 0;
      },
    },
  ],
  [optionKey(C.SOL_SOCKET, C.SO_TYPE), { get: (socket) => socket.type }],
  [optionKey(C.SOL_SOCKET, C.SO_ACCEPTCONN), { get: (socket) => (socket.listener ? 1 : 0) }],
  [optionKey(C.SOL_SOCKET, C.SO_REUSEADDR), recordedFlag('reuseAddress')],
  [optionKey(C.SOL_SOCKET, C.SO_REUSEPORT), recordedFlag('reusePort')],
  [optionKey(C.SOL_SOCKET, C.SO_BROADCAST), recordedFlag('broadcast')],
  [
    optionKey(C.SOL_SOCKET, C.SO_KEEPALIVE),
    {
      set: (socket, value) => {
        socket.options.keepalive = flagOf(value);
        socket.connection?.setKeepalive({ enabled: socket.options.keepalive });
      },
      get: (socket) => Number(socket.options.keepalive),
    },
  ],
  [
    optionKey(C.SOL_SOCKET, C.SO_LINGER),
    {
      set: (socket, value) => {
        if (typeof value !== 'object') throw new ErrnoError('EINVAL', 'setsockopt');
        const linger = (socket.options.linger = { onoff: Boolean(value.onoff), seconds: value.linger });
        socket.connection?.setLinger(linger.onoff, linger.seconds);
      },
      get: (socket) => ({ onoff: Number(socket.options.linger.onoff), linger: socket.options.linger.seconds }),
    },
  ],
  [
    optionKey(C.SOL_SOCKET, C.SO_RCVBUF),
    {
      set: (socket, value) => {
        const options = socket.options;
        options.receiveBuffer = positive(value);
        options.receiveBufferSet = true;
        socket.connection?.setReceiveBufferSize(options.receiveBuffer, true);
      },
      get: (socket, context) => reportedBufferSize(socket, 'receive', context.tcpConfig),
    },
  ],
  [
    optionKey(C.SOL_SOCKET, C.SO_SNDBUF),
    {
      set: (socket, value) => {
        const options = socket.options;
        options.sendBuffer = positive(value);
        options.sendBufferSet = true;
        socket.connection?.setSendBufferSize(options.sendBuffer);
      },
      get: (socket, context) => {
        // Linux's send memory reports its limit, sk_sndbuf: twice what was set, or what it grew to.
        const memory = socket.connection?.sendMemory;
        if (memory && memory.accounting === 'linux') return memory.limit;
        return reportedBufferSize(socket, 'send', context.tcpConfig);
      },
    },
  ],
  [
    optionKey(C.SOL_SOCKET, C.SO_RCVTIMEO),
    {
      set: (socket, value) => {
        socket.options.receiveTimeoutMs = positive(value, true);
      },
      get: (socket) => socket.options.receiveTimeoutMs,
    },
  ],
  [
    optionKey(C.SOL_SOCKET, C.SO_SNDTIMEO),
    {
      set: (socket, value) => {
        socket.options.sendTimeoutMs = positive(value, true);
      },
      get: (socket) => socket.options.sendTimeoutMs,
    },
  ],
  [
    optionKey(C.SOL_SOCKET, C.SO_ZEROCOPY),
    {
      // Linux's sock_setsockopt: the value 0 or 1. Clearing it leaves the sends already numbered to complete.
      set: (socket, value) => {
        const n = numberOf(value);
        if (n !== 0 && n !== 1) throw new ErrnoError('EINVAL', 'setsockopt');
        socket.options.zerocopy = flagOf(value);
      },
      get: (socket) => Number(socket.options.zerocopy),
    },
  ],

  // IPPROTO_IP (ip(7))
  [
    optionKey(C.IPPROTO_IP, C.IP_TTL),
    {
      set: (socket, value) => {
        const n = numberOf(value);
        if (!(n >= 1 && n <= 255) && n !== -1) throw new ErrnoError('EINVAL', 'setsockopt');
        socket.options.ttl = n === -1 ? undefined : n;
        socket.connection?.setTtl(socket.options.ttl);
      },
      get: (socket, context) => socket.options.ttl ?? context.defaultTtl,
    },
  ],
  [
    optionKey(C.IPPROTO_IP, C.IP_TOS),
    {
      set: (socket, value) => {
        socket.options.tos = numberOf(value) & 0xff;
        socket.connection?.setTos(socket.options.tos);
      },
      get: (socket) => socket.options.tos,
    },
  ],
  [
    optionKey(C.IPPROTO_IP, C.IP_MTU_DISCOVER),
    {
      set: (socket, value) => {
        const n = numberOf(value);
        if (!(n >= C.IP_PMTUDISC_DONT && n <= C.IP_PMTUDISC_PROBE)) throw new ErrnoError('EINVAL', 'setsockopt');
        socket.options.mtuDiscover = n;
        socket.connection?.setDontFragment(n !== C.IP_PMTUDISC_DONT);
      },
      get: (socket) => socket.options.mtuDiscover,
    },
  ],
  // Raw sockets' and UDP's own options read back on a TCP socket as Linux's defaults; setting
  // them is theirs (berkeley.ts).
  [optionKey(C.IPPROTO_IP, C.IP_HDRINCL), { get: (socket) => Number(socket.options.headerIncluded) }],
  [optionKey(C.IPPROTO_IP, C.IP_MULTICAST_TTL), { get: () => 1 }],
  [optionKey(C.IPPROTO_IP, C.IP_MULTICAST_LOOP), { get: () => 1 }],

  // IPPROTO_IPV6 (ipv6(7)), an AF_INET6 socket's only: Linux answers ENOPROTOOPT on AF_INET.
  [
    optionKey(C.IPPROTO_IPV6, C.IPV6_V6ONLY),
    {
      set: (socket, value) => {
        ipv6Socket(socket);
        // Linux's do_ipv6_setsockopt: EINVAL once the socket has a port.
        if (socket.bound) throw new ErrnoError('EINVAL', 'setsockopt');
        socket.options.ipv6Only = flagOf(value);
      },
      get: (socket) => (ipv6Socket(socket), Number(socket.options.ipv6Only)),
    },
  ],
  [
    optionKey(C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS),
    {
      set: (socket, value) => {
        ipv6Socket(socket);
        const n = numberOf(value);
        if (!(n >= -1 && n <= 255) || !Number.isInteger(n)) throw new ErrnoError('EINVAL', 'setsockopt');
        socket.options.unicastHops = n === -1 ? undefined : n;
        // An IPv6 connection's Hop Limit is its TTL setting; an IPv4-mapped one keeps IP_TTL's.
        if (typeof socket.connection?.remoteAddress === 'string') socket.connection.setTtl(socket.options.unicastHops);
      },
      get: (socket, context) => (ipv6Socket(socket), socket.options.unicastHops ?? context.defaultTtl),
    },
  ],
  [
    optionKey(C.IPPROTO_IPV6, C.IPV6_TCLASS),
    {
      set: (socket, value) => {
        ipv6Socket(socket);
        const n = numberOf(value);
        if (!(n >= -1 && n <= 255) || !Number.isInteger(n)) throw new ErrnoError('EINVAL', 'setsockopt');
        socket.options.trafficClass = n === -1 ? 0 : n;
        if (typeof socket.connection?.remoteAddress === 'string') socket.connection.setTos(socket.options.trafficClass);
      },
      get: (socket) => (ipv6Socket(socket), socket.options.trafficClass),
    },
  ],

  // IPPROTO_TCP (tcp(7))
  [
    optionKey(C.IPPROTO_TCP, C.TCP_NODELAY),
    {
      set: (socket, value) => {
        socket.options.noDelay = flagOf(value);
        socket.connection?.setNoDelay(socket.options.noDelay); // turning it on sends what was held
      },
      get: (socket) => Number(socket.options.noDelay),
    },
  ],
  [
    optionKey(C.IPPROTO_TCP, C.TCP_CORK),
    {
      set: (socket, value) => {
        socket.options.cork = flagOf(value);
        socket.connection?.setCork(socket.options.cork); // uncorking sends what was held
      },
      get: (socket) => Number(socket.options.cork),
    },
  ],
  [
    optionKey(C.IPPROTO_TCP, C.TCP_NOTSENT_LOWAT),
    {
      set: (socket, value) => {
        socket.options.notSentLowWater = numberOf(value) >>> 0;
        socket.connection?.setNotSentLowWater(socket.options.notSentLowWater);
      },
      get: (socket) => socket.options.notSentLowWater,
    },
  ],
  [optionKey(C.IPPROTO_TCP, C.TCP_INQ), recordedFlag('reportInq')],
  [
    optionKey(C.IPPROTO_TCP, C.TCP_MAXSEG),
    {
      set: (socket, value) => {
        const n = numberOf(value);
        if (n < 88 || n > 32767) throw new ErrnoError('EINVAL', 'setsockopt');
        socket.options.maxSegment = n;
        socket.connection?.setMaxSegmentSize(n);
      },
      get: (socket, context) => (socket.connection?.synchronized ? socket.connection.sendMss : socket.options.maxSegment || context.tcpConfig.defaultMss),
    },
  ],
  [
    optionKey(C.IPPROTO_TCP, C.TCP_KEEPIDLE),
    {
      set: (socket, value) => {
        socket.options.keepIdleSeconds = atLeastOne(value);
        socket.connection?.setKeepalive({ idleMs: socket.options.keepIdleSeconds * 1000 });
      },
      get: (socket) => socket.options.keepIdleSeconds,
    },
  ],
  [
    optionKey(C.IPPROTO_TCP, C.TCP_KEEPINTVL),
    {
      set: (socket, value) => {
        socket.options.keepIntervalSeconds = atLeastOne(value);
        socket.connection?.setKeepalive({ intervalMs: socket.options.keepIntervalSeconds * 1000 });
      },
      get: (socket) => socket.options.keepIntervalSeconds,
    },
  ],
  [
    optionKey(C.IPPROTO_TCP, C.TCP_KEEPCNT),
    {
      set: (socket, value) => {
        socket.options.keepCount = atLeastOne(value);
        socket.connection?.setKeepalive({ count: socket.options.keepCount });
      },
      get: (socket) => socket.options.keepCount,
    },
  ],
  [
    optionKey(C.IPPROTO_TCP, C.TCP_KEEPINIT),
    {
      set: (socket, value) => {
        socket.options.keepInitSeconds = positive(value, true);
        socket.connection?.setHandshakeTimeout(socket.options.keepInitSeconds * 1000);
      },
      get: (socket) => socket.options.keepInitSeconds,
    },
  ],
  [
    optionKey(C.IPPROTO_TCP, C.TCP_USER_TIMEOUT),
    {
      set: (socket, value) => {
        socket.options.userTimeoutMs = positive(value, true);
        socket.connection?.setUserTimeout(socket.options.userTimeoutMs);
      },
      get: (socket) => socket.options.userTimeoutMs,
    },
  ],
  [
    optionKey(C.IPPROTO_TCP, C.TCP_CONGESTION),
    {
      set: (socket, value) => {
        const algorithm = value === 'cubic' ? 'cubic' : value === 'reno' || value === 'newreno' ? 'newreno' : null;
        if (!algorithm) throw new ErrnoError('ENOENT', 'setsockopt'); // as Linux for an unknown algorithm
        socket.options.congestion = algorithm;
        socket.connection?.setCongestionControl(algorithm);
      },
      get: (socket) => (socket.options.congestion === 'newreno' ? 'reno' : socket.options.congestion),
    },
  ],
  [optionKey(C.IPPROTO_TCP, C.TCP_INFO), { get: tcpInfo }],
]);

/** IPPROTO_IPV6 options exist on AF_INET6 sockets only (Linux: ENOPROTOOPT on an AF_INET one). */
function ipv6Socket(socket: OptionSocket): void {
  if (socket.family !== 6) throw new ErrnoError('ENOPROTOOPT', 'setsockopt');
}
