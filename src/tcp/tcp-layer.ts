/**
 * TCP's place in the stack: demultiplexing by 4-tuple, listeners with a SYN queue and an
 * accept queue, active opens with RFC 6528 ISNs and RFC 6056 ephemeral ports, RSTs for
 * segments nobody wants (RFC 9293 §3.10.7.1), SYNs that reopen TIME-WAIT (RFC 6191), ICMP
 * errors (RFC 5927, RFC 1122 §4.2.3.9, RFC 1191), and the timers of every connection.
 */
import { NO_BYTES } from '../core/bytes.js';
import { SipHashKey, sipHash24 } from '../core/siphash.js';
import type { ErrnoCode } from '../core/errno.js';
import { fail, ok, type Result } from '../core/result.js';
import { DeadlineQueue } from '../core/deadline-queue.js';
import type { Rng } from '../core/rng.js';
import type { Counter, Stats } from '../core/stats.js';
import { stateCounters, type TcpCounterName } from './tcp-counters.js';
import type { Tracer } from '../core/trace.js';
import { IPV4_ANY } from '../ip/address.js';
import { icmpErrorMeaning, type IcmpErrorMeaning } from '../ip/icmp-errors.js';
import type { IcmpErrorListener, IcmpErrorReport } from '../ip/icmp-layer.js';
import type { Icmpv6ErrorListener, Icmpv6ErrorReport } from '../ip/icmpv6-layer.js';
import { ipv6Bytes, ipv6Text, IPV6_ANY_TEXT, type IpAddress } from '../ip/ip-address.js';
import type { IncomingDatagram, IpLayer, ProtocolHandler } from '../ip/ip-layer.js';
import type { IncomingIpv6Datagram, Ipv6Layer, Ipv6ProtocolHandler } from '../ip/ipv6-layer.js';
import { IpProtocol } from '../ip/ipv4.js';
import { allocateEphemeralPort, bindingsOverlap, type PortRange } from '../ip/ports.js';
import { ChallengeAckCeiling } from './ack-rate-limits.js';
import { ecnMode, type TcpConfig } from './config.js';
import type { CongestionAlgorithm } from './congestion.js';
import { connectionKey, TcpConnection, type TcpHost, type TcpSegmentCounters, type TcpState } from './connection.js';
import { armRetransmitTimer } from './deadlines.js';
import { negotiateOptions, prepareOwnSyn, queueTextOfSyn, segmentArrives } from './input.js';
import { AcceptQueue } from './accept-queue.js';
import { IsnGenerator, tupleBytes } from './isn.js';
import { sendSyn, sendSynAck, synWindow, tcpIpHeaderLength, transmitPending } from './output.js';
import { has, receivedSegment, type Segment, type SegmentOptions } from './segment.js';
import { COOKIE_LIFETIME_MS, SynCookies, type CookieOptions } from './syn-cookies.js';
import { seqAdd, seqGe, seqLt } from './seq.js';
import { emitTcp, TcpFlag, tcpLength, TcpPacket, type TcpRepr } from './tcp-packet.js';
import { SendStoragePool } from './send-buffer.js';
import { ReceiveStoragePool } from './receive-ring.js';
import { tcpTraceEvent } from './tcp-trace.js';
import { TimeWaitRecord, TimeWaitTable, type TimeWaitHost } from './time-wait.js';
import { runTimers } from './timers.js';

/** A local address and port held by a socket (bind), a listener, or both. */
export interface TcpBinding {
  /** The address: 0.0.0.0 or `::` for any (ip-address.ts's IpAddress). */
  readonly address: IpAddress;
  port: number;
  readonly reuseAddress: boolean;
  readonly reusePort: boolean;
  /** IPV6_V6ONLY: a `::` binding that takes no IPv4. */
  readonly ipv6Only: boolean;
  /** A listener uses it (then SO_REUSEADDR no longer lets others share it). */
  listening: boolean;
}

/** A passive open: a port in LISTEN with its two queues. */
export class TcpListener {
  /** Half-open connections (SYN-RECEIVED), by key. */
  readonly synQueue = new Map<string, TcpConnection>();
  /** Established connections not yet accepted. */
  readonly acceptQueue = new AcceptQueue();
  /** Called when a connection joins the accept queue. */
  onAcceptable: (() => void) | null = null;
  /**
   * Applies the listening socket's options to a connection its SYN creates, before the SYN-ACK
   * is built: TCP_MAXSEG bounds the MSS the SYN-ACK offers and SO_RCVBUF its window (Linux's
   * request socket takes them from the listener, tcp_openreq_init_rwin).
   */
  configureChild: ((connection: TcpConnection) => void) | null = null;
  closed = false;
  /** When this listener last answered a SYN with a cookie (null: never); cookie ACKs are checked until two minutes after. */
  lastCookieSentAt: number | null = null;

  constructor(
    private readonly layer: TcpLayer,
    readonly address: IpAddress,
    readonly port: number,
    /** Accept-queue limit (listen's backlog). */
    public backlog: number,
    readonly congestion: CongestionAlgorithm | undefined,
    /** The local address and port it holds. */
    readonly binding: TcpBinding,
    /** True when listen() made the binding (and closing releases it). */
    readonly ownsBinding: boolean,
  ) {
    this.identity = `${listenerKey(address, port)}#${nextListenerSerial++}`;
  }

  /** `address:port`, the listener table key (shared by a SO_REUSEPORT group). */
  get key(): string {
    return listenerKey(this.address, this.port);
  }

  /**
   * This listener's own name, what its connections carry as TcpConnection.listenerKey: unique
   * even when a SO_REUSEPORT group shares `address:port`.
   */
  readonly identity: string;

  /** The SYN-queue limit: Linux bounds it by max(backlog, 128)-ish; we use max(backlog, 64). */
  get synBacklog(): number {
    return Math.max(this.backlog, 64);
  }

  /** Takes the oldest established connection, or null. */
  accept(): TcpConnection | null {
    const connection = this.acceptQueue.take();
    if (connection) connection.listenerKey = null;
    return connection;
  }

  /**
   * Stops listening, as Linux does on close: established connections nobody accepted are reset;
   * half-open ones are forgotten silently (their SYN-ACK simply stops being retransmitted).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const connection of [...this.synQueue.values()]) connection.closeWithError(null);
    for (const connection of [...this.acceptQueue]) this.layer.abort(connection);
    this.synQueue.clear();
    this.acceptQueue.clear();
    this.layer.removeListener(this);
  }
}

/** What a cookie without timestamps carries beyond the MSS: nothing. */
const NOTHING_CARRIED: CookieOptions = { windowScale: undefined, sack: false, ecn: false };

/** The SYN a cookie stands for: what a connection made from a cookie knows of the peer's SYN. */
function cookieSyn(from: Segment, seq: number, window: number, mss: number, carried: CookieOptions, timestamps: SegmentOptions['timestamps']): Segment {
  return {
    srcPort: from.srcPort,
    dstPort: from.dstPort,
    seq,
    ack: 0,
    flags: TcpFlag.SYN,
    window,
    urgentPointer: 0,
    payload: NO_BYTES,
    len: 1,
    parsed: { mss, windowScale: carried.windowScale, sackPermitted: carried.sack, sackBlocks: [], timestamps, malformed: 0 },
  };
}

/** The connections on one local port: the connection itself while it is alone there (as an ephemeral port's usually is), else a Set. */
type PortUsers = TcpConnection | Set<TcpConnection>;

/** Options of an active open. */
export interface ConnectOptions {
  readonly localAddress?: IpAddress;
  readonly localPort?: number;
  readonly congestion?: CongestionAlgorithm;
  /** Applied before the SYN is sent (buffer sizes and TCP_MAXSEG shape the SYN's options). */
  readonly configure?: (connection: TcpConnection) => void;
}

/** The TCP protocol of one stack. */
export class TcpLayer implements ProtocolHandler, IcmpErrorListener, Ipv6ProtocolHandler, Icmpv6ErrorListener, TcpHost, TimeWaitHost {
  private readonly connections = new Map<string, TcpConnection>();
  /**
   * Connections in TIME-WAIT, each as a compact record that replaced it in `connections`
   * (time-wait.ts): looked up when `connections` has no entry for a segment's 4-tuple.
   */
  private readonly timeWaits = new TimeWaitTable(this);
  /** The same connections by local port, for bind conflicts and ephemeral ports. */
  private readonly connectionsByLocalPort = new Map<number, PortUsers>();
  /** TcpConnection.tableOrder of the next connection to enter the table. */
  private nextTableOrder = 0;
  /** Connections in the table with an armed timer, by their earliest deadline. */
  private readonly timerQueue = new DeadlineQueue<TcpConnection>();
  /** Connections whose deadlines changed since the timer queue was last brought up to date. */
  private deadlinesChangedFor: TcpConnection[] = [];
  /** While poll runs timers: connections whose deadlines changed meanwhile. */
  private changedWhileRunningTimers: TcpConnection[] | null = null;
  /**
   * Listeners by `address:port`. Several share a key only as a SO_REUSEPORT group (Linux's
   * sock_reuseport); one alone is a group of one.
   */
  private readonly listeners = new Map<string, TcpListener[]>();
  /** The same listeners by TcpListener.identity, for the connections they made. */
  private readonly listenersByIdentity = new Map<string, TcpListener>();
  /** The key of the flow hash that picks a SO_REUSEPORT group's listener, drawn when first needed. */
  private reusePortKey: SipHashKey | null = null;
  private readonly bindings = new Set<TcpBinding>();
  private readonly isn: IsnGenerator;
  private synCookies: SynCookies | null = null;
  private readonly challengeAckCeiling: ChallengeAckCeiling;
  readonly counters: TcpSegmentCounters;
  readonly stateCounters: Readonly<Record<TcpState, Counter>>;
  /** Send-buffer storage that resting connections gave back (send-buffer.ts): 256 arrays, 1 MiB at most. */
  readonly sendStoragePool = new SendStoragePool(256);
  /** Receive-ring storage that resting connections gave back (receive-ring.ts): 4 MiB at most. */
  readonly receiveStoragePool = new ReceiveStoragePool(4 * 1024 * 1024);
  /** Gets a trace event per segment in and out when set (core/trace.ts). */
  tracer: Tracer | null = null;
  private readonly rxSegments: Counter;

  constructor(
    readonly config: TcpConfig,
    private readonly ip: IpLayer,
    readonly stats: Stats<TcpCounterName>,
    private readonly rng: Rng,
    private readonly clock: () => number,
    /** Where active opens and bind to port 0 pick a port (RFC 6056): the stack's range, UDP's too. */
    private readonly ephemeralPorts: PortRange,
    /** IPv6, for connections whose addresses are IPv6 text. */
    private readonly ip6: Ipv6Layer,
  ) {
    this.isn = new IsnGenerator(rng);
    this.challengeAckCeiling = new ChallengeAckCeiling(rng);
    this.counters = {
      txSegments: stats.counter('tcp.tx.segments'),
      txDataSegments: stats.counter('tcp.tx.dataSegments'),
      rxDataSegments: stats.counter('tcp.rx.dataSegments'),
      rxPredicted: stats.counter('tcp.rx.headerPredicted'),
    };
    this.rxSegments = stats.counter('tcp.rx.segments');
    this.stateCounters = stateCounters(stats);
  }

  // ---- TcpHost -----------------------------------------------------------------------------

  now(): number {
    return this.clock();
  }

  transmit(connection: TcpConnection, segment: TcpRepr, segmentSize?: number): boolean {
    // RFC 3168 §6.1.4–6.1.5: only new data is ECN-capable; pure ACKs, probes and retransmissions
    // are not (new data leaves at SND.NXT, before SND.NXT moves past it).
    const ect = connection.ecn.enabled && segment.payload.length > 0 && !seqLt(segment.seq, connection.sndNxt);
    const o = connection.options;
    const remote = connection.remoteAddress;
    let flowLabel: number | undefined;
    if (typeof remote === 'string') {
      // The connection's label, hashed once and kept (ip/ipv6-flow-label.ts); a re-roll sets it to -1.
      if (connection.flowLabel < 0) {
        const local = ipv6Bytes(connection.localAddress as string);
        connection.flowLabel = this.ip6.flowLabels.label(
          local,
          ipv6Bytes(remote),
          IpProtocol.TCP,
          connection.localPort,
          connection.remotePort,
          connection.flowLabelRehashes,
        );
      }
      flowLabel = connection.flowLabel;
    }
    return this.sendSegment(connection.localAddress, remote, segment, ect, o.ttl, o.tos, segmentSize, o.dontFragment, flowLabel);
  }

  pathMtu(remote: IpAddress): number | null {
    return typeof remote === 'number' ? this.ip.mtuTo(remote) : this.ip6.mtuTo(ipv6Bytes(remote));
  }

  interfaceMtu(remote: IpAddress): number | null {
    return (typeof remote === 'number' ? this.ip.routeTo(remote) : this.ip6.routeTo(ipv6Bytes(remote)))?.iface.mtu ?? null;
  }

  routeAdvertisedMss(remote: IpAddress): number | null {
    return (typeof remote === 'number' ? this.ip.routeTo(remote) : this.ip6.routeTo(ipv6Bytes(remote)))?.route.advertisedMss ?? null;
  }

  segmentationOffload(remote: IpAddress): number {
    return typeof remote === 'number' ? this.ip.segmentationOffloadTo(remote) : (this.ip6.routeTo(ipv6Bytes(remote))?.iface.link.tcpSegmentationMax ?? 0);
  }

  /** Whether `address` is one of this host's (of its family). */
  private isLocalAddress(address: IpAddress): boolean {
    return typeof address === 'number' ? this.ip.isLocalAddress(address) : this.ip6.isLocalAddress(ipv6Bytes(address));
  }

  /** Whether a packet to `remote` has a route. */
  private hasRoute(remote: IpAddress): boolean {
    return (typeof remote === 'number' ? this.ip.routeTo(remote) : this.ip6.routeTo(ipv6Bytes(remote))) !== null;
  }

  release(connection: TcpConnection): void {
    const record = connection.timeWaitRecord;
    if (record !== null) this.timeWaits.remove(record);
    if (this.connections.get(connection.key) === connection) this.connections.delete(connection.key);
    const samePort = this.connectionsByLocalPort.get(connection.localPort);
    if (samePort === connection || (samePort instanceof Set && samePort.delete(connection) && samePort.size === 0)) {
      this.connectionsByLocalPort.delete(connection.localPort);
    }
    connection.tableOrder = -1;
    this.timerQueue.delete(connection);
    if (connection.listenerKey !== null) {
      const listener = this.listenersByIdentity.get(connection.listenerKey);
      listener?.synQueue.delete(connection.key);
      listener?.acceptQueue.remove(connection);
    }
  }

  established(connection: TcpConnection): void {
    const listener = connection.listenerKey === null ? undefined : this.listenersByIdentity.get(connection.listenerKey);
    if (!listener) return;
    listener.synQueue.delete(connection.key);
    listener.acceptQueue.push(connection);
    this.stats.increment('tcp.passiveOpens');
    listener.onAcceptable?.();
  }

  acceptQueueHasRoom(connection: TcpConnection): boolean {
    const listener = connection.listenerKey === null ? undefined : this.listenersByIdentity.get(connection.listenerKey);
    return !listener || listener.acceptQueue.length < listener.backlog;
  }

  challengeAckAllowed(now: number): boolean {
    return this.challengeAckCeiling.allow(now, this.config.challengeAckPerSecond);
  }

  replyWithReset(localAddress: IpAddress, localPort: number, remoteAddress: IpAddress, remotePort: number, segment: Segment): void {
    // RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST> if the segment had ACK, else
    // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    this.stats.increment('tcp.tx.resets');
    const reset: TcpRepr = has.ack(segment)
      ? { srcPort: localPort, dstPort: remotePort, seq: segment.ack, ack: 0, flags: TcpFlag.RST, window: 0, urgentPointer: 0, options: [], payload: NO_BYTES }
      : {
          srcPort: localPort,
          dstPort: remotePort,
          seq: 0,
          ack: seqAdd(segment.seq, segment.len),
          flags: TcpFlag.RST | TcpFlag.ACK,
          window: 0,
          urgentPointer: 0,
          options: [],
          payload: NO_BYTES,
        };
    this.sendSegment(localAddress, remoteAddress, reset, false);
  }

  // ---- user calls --------------------------------------------------------------------------

  /**
   * BIND: holds a local address and port for a socket before it listens or connects. Port 0
   * picks an ephemeral port (RFC 6056). Conflicts follow Linux: overlapping addresses clash
   * unless both sides set SO_REUSEADDR (and the other is not listening) or both SO_REUSEPORT;
   * a port used by connections (TIME-WAIT included) needs SO_REUSEADDR.
   */
  bind(address: IpAddress, port: number, options: { reuseAddress?: boolean; reusePort?: boolean; ipv6Only?: boolean } = {}): Result<TcpBinding, ErrnoCode> {
    if (port < 0 || port > 65535 || !Number.isInteger(port)) return fail('EINVAL');
    if (address !== IPV4_ANY && address !== IPV6_ANY_TEXT && !this.isLocalAddress(address)) return fail('EADDRNOTAVAIL');
    const binding: TcpBinding = {
      address,
      port,
      reuseAddress: options.reuseAddress ?? false,
      reusePort: options.reusePort ?? false,
      ipv6Only: options.ipv6Only ?? false,
      listening: false,
    };
    if (port === 0) {
      const chosen = allocateEphemeralPort(this.ephemeralPorts, this.rng, (p) => !this.conflicts({ ...binding, port: p }));
      if (chosen === null) return fail('EADDRINUSE');
      binding.port = chosen;
    } else if (this.conflicts(binding)) {
      return fail('EADDRINUSE');
    }
    this.bindings.add(binding);
    return ok(binding);
  }

  /** Releases a binding (the socket closed). */
  unbind(binding: TcpBinding): void {
    this.bindings.delete(binding);
  }

  /** Whether `candidate` would clash with a binding or a connection's local end. */
  private conflicts(candidate: TcpBinding): boolean {
    const overlaps = (address: IpAddress, ipv6Only = false) => bindingsOverlap(candidate.address, candidate.ipv6Only, address, ipv6Only);
    for (const other of this.bindings) {
      if (other === candidate || other.port !== candidate.port || !overlaps(other.address, other.ipv6Only)) continue;
      if (candidate.reuseAddress && other.reuseAddress && !other.listening) continue;
      if (candidate.reusePort && other.reusePort) continue;
      return true;
    }
    if (candidate.reuseAddress) return false;
    const samePort = this.connectionsByLocalPort.get(candidate.port);
    for (const connection of samePort instanceof Set ? samePort : samePort ? [samePort] : []) {
      if (overlaps(connection.localAddress) && connection.listenerKey === null) return true;
    }
    return this.timeWaits.portUsed(candidate.port, overlaps);
  }

  /** Whether `address:port` is held by a binding, a listener or a connection. */
  portInUse(address: IpAddress, port: number): boolean {
    return this.conflicts({ address, port, reuseAddress: false, reusePort: false, ipv6Only: false, listening: false });
  }

  /**
   * Which local ports an active open may take, given the remote port (null: any). A stack that
   * owns one queue of a multi-queue device takes only the ports whose replies the device steers
   * back to its queue (src/cli/up-queues.ts); RFC 6056's random walk then skips the others.
   */
  activeOpenPorts: ((localPort: number, remotePort: number) => boolean) | null = null;

  /** An ephemeral port for an active open (RFC 6056), or null when all are taken. */
  allocatePort(localAddress: IpAddress, remoteAddress: IpAddress, remotePort: number): number | null {
    return allocateEphemeralPort(this.ephemeralPorts, this.rng, (port) => {
      if (this.activeOpenPorts !== null && !this.activeOpenPorts(port, remotePort)) return false;
      if (this.portInUse(localAddress, port)) return false;
      const key = connectionKey(localAddress, port, remoteAddress, remotePort);
      return !this.connections.has(key) && !this.timeWaits.has(key);
    });
  }

  /** OPEN, active (RFC 9293 §3.10.1): sends a SYN; the connection reports success through its events. */
  connect(remoteAddress: IpAddress, remotePort: number, options: ConnectOptions = {}): Result<TcpConnection, ErrnoCode> {
    if (remotePort <= 0 || remotePort > 65535) return fail('EINVAL');
    const bound = options.localAddress;
    if (bound !== undefined && bound !== IPV4_ANY && bound !== IPV6_ANY_TEXT && typeof bound !== typeof remoteAddress) return fail('EAFNOSUPPORT');
    const source =
      bound !== undefined && bound !== IPV4_ANY && bound !== IPV6_ANY_TEXT
        ? bound
        : typeof remoteAddress === 'number'
          ? this.ip.sourceFor(remoteAddress)
          : nullableText(this.ip6.sourceFor(ipv6Bytes(remoteAddress)));
    if (source === null) return fail(typeof remoteAddress === 'number' ? 'ENETUNREACH' : this.ip6.noSourceError(ipv6Bytes(remoteAddress)));
    const port = options.localPort || this.allocatePort(source, remoteAddress, remotePort);
    if (port === null) return fail('EADDRNOTAVAIL');
    const key = connectionKey(source, port, remoteAddress, remotePort);
    if (this.connections.has(key) || this.timeWaits.has(key)) return fail('EADDRINUSE');
    const now = this.clock();
    const connection = new TcpConnection(this, source, port, remoteAddress, remotePort, options.congestion);
    options.configure?.(connection);
    prepareOwnSyn(connection, this.isn.next(source, port, remoteAddress, remotePort, now), now, this.rng.nextU32());
    connection.rcvAdvertisedEdge = 0;
    connection.setState('SYN-SENT');
    this.enterTable(key, connection);
    this.stats.increment('tcp.activeOpens');
    sendSyn(connection, now);
    armRetransmitTimer(connection, now);
    return ok(connection);
  }

  /**
   * OPEN, passive: a listener on `address:port` (0.0.0.0 = every address). Takes the socket's
   * binding when it called bind() first; otherwise binds here.
   */
  listen(
    address: IpAddress,
    port: number,
    backlog = this.config.defaultBacklog,
    congestion?: CongestionAlgorithm,
    existing?: TcpBinding,
  ): Result<TcpListener, ErrnoCode> {
    let binding = existing;
    if (!binding) {
      if (port <= 0 || port > 65535) return fail('EINVAL');
      const bound = this.bind(address, port);
      if (!bound.ok) return bound;
      binding = bound.value;
    }
    // SO_REUSEPORT (Linux's sock_reuseport): listeners on one address and port form a group when
    // every one of them set it. Linux also requires one effective UID across the group (so that
    // another user cannot steal a share of the connections); ustack has no users, so SO_REUSEPORT
    // on both sides is the whole condition.
    const group = this.listeners.get(listenerKey(binding.address, binding.port));
    if (group && !(binding.reusePort && group.every((member) => member.binding.reusePort))) return fail('EADDRINUSE');
    for (const other of this.bindings) {
      if (
        other !== binding &&
        other.listening &&
        !(other.reusePort && binding.reusePort) &&
        other.port === binding.port &&
        bindingsOverlap(other.address, other.ipv6Only, binding.address, binding.ipv6Only)
      ) {
        return fail('EADDRINUSE');
      }
    }
    binding.listening = true;
    const listener = new TcpListener(this, binding.address, binding.port, Math.max(1, backlog), congestion, binding, existing === undefined);
    if (group) group.push(listener);
    else this.listeners.set(listener.key, [listener]);
    this.listenersByIdentity.set(listener.identity, listener);
    return ok(listener);
  }

  /** @internal */
  removeListener(listener: TcpListener): void {
    const group = this.listeners.get(listener.key);
    const index = group ? group.indexOf(listener) : -1;
    if (group && index >= 0) {
      group.splice(index, 1);
      if (group.length === 0) this.listeners.delete(listener.key);
    }
    if (this.listenersByIdentity.get(listener.identity) === listener) this.listenersByIdentity.delete(listener.identity);
    listener.binding.listening = false;
    if (listener.ownsBinding) this.unbind(listener.binding);
  }

  /** ABORT (RFC 9293 §3.10.5): RST to the peer in synchronized states, then gone; a TIME-WAIT record just goes. */
  abort(connection: TcpConnection | TimeWaitRecord): void {
    if (connection instanceof TimeWaitRecord) this.timeWaits.end(connection, null);
    else connection.abort();
  }

  /** Connections in the table (any state but TIME-WAIT, whose records listTimeWait gives), for status displays and tests. */
  listConnections(): TcpConnection[] {
    return [...this.connections.values()];
  }

  /** The TIME-WAIT records (time-wait.ts), for status displays and tests. */
  listTimeWait(): TimeWaitRecord[] {
    return [...this.timeWaits.values()];
  }

  /** How many connections are in TIME-WAIT. */
  get timeWaitCount(): number {
    return this.timeWaits.size;
  }

  // ---- input -------------------------------------------------------------------------------

  /** A TCP segment arrived (RFC 9293 §3.10.7). */
  input(datagram: IncomingDatagram, now: number): void {
    const { header } = datagram;
    const checked = TcpPacket.checked(datagram.payload);
    if (!checked.ok) {
      this.stats.increment(`drop.tcp.${checked.error.reason}`);
      return;
    }
    const packet = checked.value;
    if (!datagram.checksumTrusted && !packet.checksumValid(header.source, header.destination)) {
      this.stats.increment('drop.tcp.badChecksum');
      return;
    }
    // Options as a receiver takes them: a malformed one ends or is left out of the walk, and
    // the segment is still processed (Linux's tcp_parse_options; segment.ts).
    const segment = receivedSegment(packet);
    if (segment.parsed.malformed > 0) this.stats.increment('tcp.rx.malformedOption');
    if (datagram.destinationKind !== 'unicast') {
      this.stats.increment('drop.tcp.notUnicast'); // RFC 1122 §4.2.3.10
      return;
    }
    this.rxSegments.increment();
    if (this.tracer) this.tracer(tcpTraceEvent('up', datagram.payload, now, datagram.checksumTrusted));
    this.segmentInput(header.destination, header.source, segment, header.ecn, now);
  }

  /** A TCP segment arrived over IPv6 (RFC 9293 §3.10.7; the checksum over RFC 8200 §8.1's pseudo-header). */
  inputIpv6(datagram: IncomingIpv6Datagram, now: number): void {
    const { header } = datagram;
    const checked = TcpPacket.checked(datagram.payload);
    if (!checked.ok) {
      this.stats.increment(`drop.tcp.${checked.error.reason}`);
      return;
    }
    const packet = checked.value;
    if (!datagram.checksumTrusted && !packet.checksumValid(header.source, header.destination)) {
      this.stats.increment('drop.tcp.badChecksum');
      return;
    }
    const segment = receivedSegment(packet);
    if (segment.parsed.malformed > 0) this.stats.increment('tcp.rx.malformedOption');
    if (datagram.destinationKind !== 'unicast') {
      this.stats.increment('drop.tcp.notUnicast');
      return;
    }
    this.rxSegments.increment();
    if (this.tracer) this.tracer(tcpTraceEvent('up', datagram.payload, now, datagram.checksumTrusted));
    this.segmentInput(ipv6Text(header.destination), ipv6Text(header.source), segment, header.ecn, now);
  }

  /** The steps of RFC 9293 §3.10.7 after the checks: the connection, or a listener, or CLOSED. */
  private segmentInput(local: IpAddress, remote: IpAddress, segment: Segment, ecn: number, now: number): void {
    const key = connectionKey(local, segment.dstPort, remote, segment.srcPort);
    const connection = this.connections.get(key);
    if (connection) {
      segmentArrives(connection, segment, now, ecn);
      if (connection.state === 'TIME-WAIT') this.enterTimeWait(connection, now);
      return;
    }
    const timeWait = this.timeWaits.size > 0 ? this.timeWaits.get(key) : undefined;
    if (timeWait) {
      // RFC 6191: a newer SYN ends TIME-WAIT and goes to the listener, if there is one.
      if (!(has.syn(segment) && !has.ack(segment) && !has.rst(segment) && timeWait.synMayReopen(segment))) {
        this.timeWaits.arrive(timeWait, segment, now);
        return;
      }
      this.stats.increment('tcp.timeWait.reopened');
      this.timeWaits.end(timeWait, null);
      const listener = this.listenerFor(local, segment.dstPort, remote, segment.srcPort);
      if (listener) return this.listenArrives(listener, local, remote, segment, now, ecn, timeWait.reopeningIss);
    }
    const listener = this.listenerFor(local, segment.dstPort, remote, segment.srcPort);
    if (listener) {
      this.listenArrives(listener, local, remote, segment, now, ecn);
      return;
    }
    // CLOSED (RFC 9293 §3.10.7.1): everything but a RST is answered with a RST, unless the
    // configuration keeps closed ports silent (TcpConfig.closedPortReset, FreeBSD's blackhole).
    this.stats.increment('tcp.rx.noConnection');
    if (has.rst(segment)) return;
    const silence = this.config.closedPortReset;
    if (silence === 'never' || (silence === 'except-syn' && has.syn(segment))) {
      this.stats.increment('tcp.closedPort.silent');
      return;
    }
    this.replyWithReset(local, segment.dstPort, remote, segment.srcPort, segment);
  }

  /**
   * The connection entered TIME-WAIT with the segment just processed, and answered it: a
   * TimeWaitRecord with the 2·MSL deadline takes its place in the table, and the connection
   * leaves it (what it made for moving data goes with it, unless its socket still holds it).
   */
  private enterTimeWait(connection: TcpConnection, now: number): void {
    const record = TimeWaitRecord.of(connection, now + this.config.timeWaitMs);
    this.release(connection);
    this.timeWaits.add(record);
    connection.timeWaitTakenOverBy(record);
  }

  /** Sends a segment of a TIME-WAIT record, with its connection's IP_TTL, IP_TOS and DF (time-wait.ts). */
  transmitTimeWait(record: TimeWaitRecord, segment: TcpRepr): void {
    const o = record.options;
    this.sendSegment(
      record.localAddress,
      record.remoteAddress,
      segment,
      false,
      o.ttl,
      o.tos,
      undefined,
      o.dontFragment,
      record.flowLabel >= 0 ? record.flowLabel : undefined,
    );
  }

  /**
   * The listener for a segment to `address:port`: bound to that address, else the wildcard of its
   * family, else for IPv4 a dual-stack `::` listener (not IPV6_V6ONLY), as Linux's lookup. In a
   * SO_REUSEPORT group the flow's hash picks the member.
   */
  private listenerFor(address: IpAddress, port: number, remote: IpAddress, remotePort: number): TcpListener | undefined {
    const exact = this.listeners.get(listenerKey(address, port));
    if (exact) return this.groupMember(exact, address, port, remote, remotePort);
    if (typeof address === 'string') {
      const any6 = this.listeners.get(listenerKey(IPV6_ANY_TEXT, port));
      return any6 && this.groupMember(any6, address, port, remote, remotePort);
    }
    const any = this.listeners.get(listenerKey(IPV4_ANY, port));
    if (any) return this.groupMember(any, address, port, remote, remotePort);
    const dual = this.listeners.get(listenerKey(IPV6_ANY_TEXT, port));
    if (!dual) return undefined;
    if (dual.length === 1) return dual[0].binding.ipv6Only ? undefined : dual[0];
    // In a group, IPV6_V6ONLY members take no IPv4: the flow picks among the others.
    const open = dual.filter((member) => !member.binding.ipv6Only);
    return open.length > 0 ? this.groupMember(open, address, port, remote, remotePort) : undefined;
  }

  /**
   * One listener of a group for a SYN's 4-tuple: the only one, or in a SO_REUSEPORT group the one
   * a keyed hash of the 4-tuple picks (Linux's reuseport_select_sock: a flow hash scaled onto
   * the group's size), so every segment of a flow, a retransmitted SYN too, reaches the same one.
   */
  private groupMember(group: TcpListener[], local: IpAddress, localPort: number, remote: IpAddress, remotePort: number): TcpListener {
    if (group.length === 1) return group[0];
    this.reusePortKey ??= new SipHashKey(this.rng.bytes(16));
    const hash = sipHash24(this.reusePortKey, tupleBytes(local, localPort, remote, remotePort)).low >>> 0;
    return group[Math.floor((hash * group.length) / 2 ** 32)];
  }

  /** RFC 9293 §3.10.7.2: LISTEN. */
  private listenArrives(listener: TcpListener, local: IpAddress, remote: IpAddress, segment: Segment, now: number, ecnField: number, issHint?: number): void {
    if (has.rst(segment)) {
      this.stats.increment('drop.tcp.listenReset');
      return;
    }
    if (has.ack(segment)) {
      if (!has.syn(segment) && this.cookieReturns(listener, local, remote, segment, now, ecnField)) return;
      this.stats.increment('tcp.listen.ackWithoutConnection');
      this.replyWithReset(local, segment.dstPort, remote, segment.srcPort, segment);
      return;
    }
    if (!has.syn(segment)) {
      this.stats.increment('drop.tcp.listenNoSyn');
      return;
    }
    if (has.fin(segment) && this.config.dropSynFin) {
      this.stats.increment('drop.tcp.synFin'); // TcpConfig.dropSynFin (FreeBSD drop_synfin)
      return;
    }
    // Linux drops the SYN when the accept queue is full, cookies or not; the peer retries.
    if (listener.acceptQueue.length >= listener.backlog) {
      this.stats.increment('drop.tcp.listenOverflow');
      return;
    }
    // No half-open state for a SYN whose SYN-ACK could not leave (a spoofed source we have no
    // route to would otherwise hold a SYN-queue entry for every retransmission).
    if (!this.hasRoute(remote)) {
      this.stats.increment('drop.tcp.synNoRoute');
      return;
    }
    const cookies = this.config.synCookies;
    if (listener.synQueue.size >= listener.synBacklog) this.pruneSynQueue(listener);
    if (cookies === 'always' || listener.synQueue.size >= listener.synBacklog) {
      if (cookies === 'off') {
        this.stats.increment('drop.tcp.synQueueFull');
        return;
      }
      this.sendCookie(listener, local, remote, segment, now);
      return;
    }
    const iss = issHint ?? this.isn.next(local, segment.dstPort, remote, segment.srcPort, now);
    const connection = this.halfOpen(listener, local, remote, segment, now, iss, this.rng.nextU32());
    // RFC 3168 §6.1.1: an ECN-setup SYN is accepted unless ECN is off ('accept' answers it too).
    connection.ecn.setEnabled(ecnMode(this.config) !== 'off' && has.ece(segment) && has.cwr(segment));
    connection.setState('SYN-RECEIVED');
    queueTextOfSyn(connection, segment);
    this.enterTable(connection.key, connection);
    listener.synQueue.set(connection.key, connection);
    this.stats.increment('tcp.rx.syn');
    sendSynAck(connection, now);
    armRetransmitTimer(connection, now);
  }

  /**
   * A connection for `syn` on a listener, its SYN-ACK not yet sent, in no table: the child takes
   * the listener's socket options, then our side (ISS, TSval offset) and the SYN's options.
   */
  private halfOpen(listener: TcpListener, local: IpAddress, remote: IpAddress, syn: Segment, now: number, iss: number, tsOffset: number): TcpConnection {
    const connection = new TcpConnection(this, local, syn.dstPort, remote, syn.srcPort, listener.congestion);
    connection.listenerKey = listener.identity;
    connection.irs = syn.seq;
    connection.rcvNxt = seqAdd(syn.seq, 1);
    connection.rcvAdvertisedEdge = connection.rcvNxt;
    listener.configureChild?.(connection);
    prepareOwnSyn(connection, iss, now, tsOffset);
    negotiateOptions(connection, syn, now);
    connection.sndWnd = syn.window;
    connection.sndWl1 = syn.seq;
    return connection;
  }

  /**
   * The SYN queue is full: the oldest half-open connection goes if its SYN-ACK has been sent
   * again (a peer that answers does so within an RTT, so an entry that had to retransmit is the
   * likeliest spoofed one). Linux gets the same effect from its SYN-ACK timer, which gives up
   * early on entries that have retransmitted while the queue is more than half full
   * (reqsk_timer_handler); here it happens when the room is needed.
   */
  private pruneSynQueue(listener: TcpListener): void {
    const oldest = listener.synQueue.values().next().value;
    const synAck = oldest?.inFlight.first;
    if (oldest === undefined || synAck === undefined || !synAck.syn || synAck.retransmits === 0) return;
    this.stats.increment('tcp.synQueue.pruned');
    oldest.closeWithError(null);
  }

  /**
   * Answers a SYN with a SYN cookie (RFC 4987 §3.6, syn-cookies.ts) and keeps nothing. The
   * SYN-ACK is the one a half-open connection would send, but for what a cookie can carry: the
   * MSS from the cookie's table, and window scale, SACK and ECN only with timestamps (they ride
   * in the TSval); SYN data is not kept.
   */
  private sendCookie(listener: TcpListener, local: IpAddress, remote: IpAddress, syn: Segment, now: number): void {
    const tuple = { localAddress: local, localPort: syn.dstPort, remoteAddress: remote, remotePort: syn.srcPort };
    const peerMss = syn.parsed.mss ?? this.config.defaultMss;
    const iss = this.cookies().issue(tuple, syn.seq, peerMss, now);
    const timestamps = this.config.timestamps && syn.parsed.timestamps !== undefined;
    // Without timestamps nothing carries window scale or SACK: the SYN-ACK offers neither.
    const carried = timestamps ? { windowScale: syn.parsed.windowScale, sack: syn.parsed.sackPermitted, ecn: false } : NOTHING_CARRIED;
    const stands = cookieSyn(syn, syn.seq, syn.window, SynCookies.mssFor(peerMss), carried, timestamps ? syn.parsed.timestamps : undefined);
    const connection = this.halfOpen(listener, local, remote, stands, now, iss, this.cookies().timestampOffset(tuple));
    connection.ecn.setEnabled(timestamps && ecnMode(this.config) !== 'off' && has.ece(syn) && has.cwr(syn));
    if (timestamps) {
      const options = {
        windowScale: connection.windowScalingEnabled ? connection.sndWindowShift : undefined,
        sack: connection.sackEnabled,
        ecn: connection.ecn.enabled,
      };
      const tsVal = SynCookies.encodeTimestamp(connection.timestamps.tsVal(now), options);
      connection.timestamps.setClockOffset((tsVal - Math.floor(now)) >>> 0); // the SYN-ACK's TSval carries the options
    }
    listener.lastCookieSentAt = now;
    this.stats.increment('tcp.synCookies.sent');
    sendSynAck(connection, now);
  }

  /**
   * An ACK at a listener: the third segment of a handshake whose SYN got a cookie? If the cookie
   * (SEG.ACK − 1) is valid, the connection is made from it in SYN-RECEIVED and the ACK is
   * processed there (it may carry data). Checked only while the listener has sent cookies in the
   * last two minutes, as Linux does (tcp_synq_no_recent_overflow); otherwise, or if invalid, the
   * ACK gets the RST of RFC 9293 §3.10.7.2.
   */
  private cookieReturns(listener: TcpListener, local: IpAddress, remote: IpAddress, ack: Segment, now: number, ecnField: number): boolean {
    if (listener.lastCookieSentAt === null || now - listener.lastCookieSentAt > COOKIE_LIFETIME_MS) return false;
    const tuple = { localAddress: local, localPort: ack.dstPort, remoteAddress: remote, remotePort: ack.srcPort };
    const peerIsn = seqAdd(ack.seq, -1);
    const mss = this.cookies().check(tuple, peerIsn, seqAdd(ack.ack, -1), now);
    const tsOffset = this.cookies().timestampOffset(tuple);
    const ts = this.config.timestamps ? ack.parsed.timestamps : undefined;
    const options = ts ? SynCookies.decodeTimestamp(ts.tsEcr, (Math.floor(now) + tsOffset) >>> 0) : NOTHING_CARRIED;
    if (mss === null || options === null) {
      this.stats.increment('tcp.synCookies.invalid');
      return false;
    }
    this.stats.increment('tcp.synCookies.valid');
    if (listener.acceptQueue.length >= listener.backlog) {
      this.stats.increment('drop.tcp.listenOverflow');
      return true; // Linux drops it: the peer's retransmission may find room
    }
    const syn = cookieSyn(ack, peerIsn, ack.window, mss, options, ts);
    const connection = this.halfOpen(listener, local, remote, syn, now, seqAdd(ack.ack, -1), tsOffset);
    connection.ecn.setEnabled(options.ecn && ecnMode(this.config) !== 'off');
    // Our SYN-ACK left before this connection existed: its send time is unknown, so the ACK
    // gives an RTT sample only through its timestamp echo (as Linux's cookie sockets).
    connection.inFlight.dropFront(1);
    connection.firstUnackedSentAt = null;
    connection.rcvAdvertisedEdge = seqAdd(connection.rcvNxt, synWindow(connection));
    connection.setState('SYN-RECEIVED');
    this.enterTable(connection.key, connection);
    listener.synQueue.set(connection.key, connection);
    segmentArrives(connection, ack, now, ecnField);
    return true;
  }

  /** The stack's SYN-cookie secret, drawn from the Rng when first needed. */
  private cookies(): SynCookies {
    this.synCookies ??= new SynCookies(this.rng);
    return this.synCookies;
  }

  // ---- ICMP --------------------------------------------------------------------------------

  /**
   * An ICMP error about a segment we sent (RFC 5927): believed only if the quoted sequence
   * number lies in SND.UNA..SND.NXT. Hard errors abort a connection still in SYN-SENT or
   * SYN-RECEIVED (RFC 1122 §4.2.3.9 as Linux applies it); fragmentation-needed lowers the
   * path MTU and the MSS and resends what no longer fits (RFC 1191 §6.3).
   */
  icmpError(report: IcmpErrorReport, now: number): void {
    const quoted = report.quoted.payload;
    if (quoted.length < 8) {
      this.stats.increment('drop.tcp.icmpQuoteTooShort');
      return;
    }
    const connection = this.quotedConnection(report.quoted.source, report.quoted.destination, quoted);
    if (!connection) return;
    if (report.kind === 'destinationUnreachable' && report.code === 4) {
      this.pathMtuDiscovered(connection, report.nextHopMtu, now);
      return;
    }
    this.connectionError(connection, icmpErrorMeaning(report));
  }

  /**
   * An ICMPv6 error about a segment we sent: as icmpError, with RFC 4443's types — Packet Too
   * Big lowers the MSS to the path MTU the IPv6 layer now holds (RFC 8201 §5.2), the others
   * mean what Linux's icmpv6_err_convert says.
   */
  icmpv6Error(report: Icmpv6ErrorReport, now: number): void {
    const quoted = report.quoted.payload;
    if (quoted.length < 8) {
      this.stats.increment('drop.tcp.icmpQuoteTooShort');
      return;
    }
    const connection = this.quotedConnection(ipv6Text(report.quoted.source), ipv6Text(report.quoted.destination), quoted);
    if (!connection) return;
    if (report.type === 2) {
      this.pathMtuDiscovered(connection, report.mtu, now);
      return;
    }
    this.connectionError(connection, report.meaning);
  }

  /** The connection whose segment an ICMP error quotes, if its sequence number is in flight (RFC 5927 §4.1). */
  private quotedConnection(source: IpAddress, destination: IpAddress, quoted: Uint8Array): TcpConnection | null {
    const localPort = (quoted[0] << 8) | quoted[1];
    const remotePort = (quoted[2] << 8) | quoted[3];
    const seq = ((quoted[4] << 24) | (quoted[5] << 16) | (quoted[6] << 8) | quoted[7]) >>> 0;
    const key = connectionKey(source, localPort, destination, remotePort);
    const connection = this.connections.get(key);
    if (!connection) {
      // TIME-WAIT has nothing in flight (SND.UNA = SND.NXT): no quoted sequence number is (RFC 5927 §4.1).
      this.stats.increment(this.timeWaits.has(key) ? 'drop.tcp.icmpOutOfWindow' : 'tcp.icmp.noConnection');
      return null;
    }
    if (!(seqGe(seq, connection.sndUna) && seqLt(seq, connection.sndNxt))) {
      this.stats.increment('drop.tcp.icmpOutOfWindow'); // RFC 5927 §4.1
      return null;
    }
    return connection;
  }

  /** What an ICMP error does to a connection: hard ones abort a handshake, soft ones are remembered (RFC 1122 §4.2.3.9). */
  private connectionError(connection: TcpConnection, meaning: IcmpErrorMeaning): void {
    this.stats.increment(`tcp.icmp.${meaning.code}`);
    if (meaning.fatal && (connection.state === 'SYN-SENT' || connection.state === 'SYN-RECEIVED')) {
      connection.closeWithError(meaning.code);
      return;
    }
    connection.softError = meaning.code;
  }

  /**
   * The IPv6 path MTU toward `destination` went down for another transport's packet (a Packet
   * Too Big about a UDP datagram): RFC 8201 §5.2 keeps one PMTU per destination, so the
   * connections to it take the smaller MSS, as Linux's tcp_current_mss follows the route's MTU.
   */
  pathMtuLowered(destination: Uint8Array, now: number): void {
    const mtu = this.ip6.mtuTo(destination);
    if (mtu === null) return;
    const remote = ipv6Text(destination);
    for (const connection of this.connections.values()) if (connection.remoteAddress === remote) this.pathMtuDiscovered(connection, mtu, now);
  }

  private pathMtuDiscovered(connection: TcpConnection, nextHopMtu: number, now: number): void {
    const remote = connection.remoteAddress;
    let pathMtu: number;
    if (typeof remote === 'number') {
      // RFC 1191 §5: a router that gives no MTU (old style) → guess the next plateau down.
      const mtu = nextHopMtu >= 68 ? nextHopMtu : Math.max(576, (this.ip.mtuTo(remote) ?? 1500) - 1);
      this.ip.updatePathMtu(remote, mtu, now);
      // What IP now holds for the path: it refuses to go below its floor (552, Linux's min_pmtu),
      // so a forged tiny MTU cannot shrink our segments to nothing.
      pathMtu = this.ip.mtuTo(remote) ?? mtu;
    } else {
      // Recorded now that the quoted segment is in the window (the ICMPv6 layer leaves TCP's to
      // TCP); IPv6 holds it never below 1280 (RFC 8201 §4).
      this.ip6.updatePathMtu(ipv6Bytes(remote), nextHopMtu, now);
      pathMtu = this.ip6.mtuTo(ipv6Bytes(remote)) ?? nextHopMtu;
    }
    const mss = pathMtu - tcpIpHeaderLength(remote) - (connection.timestamps.enabled ? 12 : 0);
    if (mss >= connection.sendMss) return;
    this.stats.increment('tcp.pmtu.mssLowered');
    connection.sendMss = Math.max(mss, 64);
    connection.cc.setMss(connection.sendMss);
    // Resegment what was sent too large and send it again (RFC 1191 §6.3: retransmit now).
    const queue = connection.inFlight;
    for (let i = 0; i < queue.length; i++) {
      const segment = queue.at(i);
      if (segment.sacked) continue;
      if (segment.length > connection.sendMss && !segment.syn) queue.splitAt(i, seqAdd(segment.seq, connection.sendMss));
      queue.markLost(segment);
    }
    transmitPending(connection, now);
  }

  private enterTable(key: string, connection: TcpConnection): void {
    connection.tableOrder = this.nextTableOrder++;
    this.connections.set(key, connection);
    const samePort = this.connectionsByLocalPort.get(connection.localPort);
    if (samePort === undefined) this.connectionsByLocalPort.set(connection.localPort, connection);
    else if (samePort instanceof Set) samePort.add(connection);
    else this.connectionsByLocalPort.set(connection.localPort, new Set([samePort, connection]));
    this.deadlinesChanged(connection);
  }

  // ---- timers ------------------------------------------------------------------------------

  deadlinesChanged(connection: TcpConnection): void {
    this.deadlinesChangedFor.push(connection);
    this.changedWhileRunningTimers?.push(connection);
  }

  /** Brings the timer queue up to date with the deadlines changed since it was last read. */
  private updateTimerQueue(): void {
    const changed = this.deadlinesChangedFor;
    if (changed.length === 0) return;
    this.deadlinesChangedFor = []; // a new array costs half of emptying this one (length = 0)
    for (let i = 0; i < changed.length; i++) {
      const connection = changed[i];
      connection.markDeadlinesSeen();
      // A connection outside the table (closed, or not yet in) has no timers to run.
      this.timerQueue.set(connection, connection.tableOrder < 0 ? Infinity : connection.pollAt());
    }
  }

  /**
   * Runs the due timers of every connection, in table order, as a scan of the table would: a
   * connection that another's timer makes due before the scan gets to it runs too, one opened
   * meanwhile waits for the next poll. Only due connections are visited.
   */
  poll(now: number): void {
    if (this.timeWaits.nextDeadline <= now) this.timeWaits.expire(now);
    this.updateTimerQueue();
    if (this.timerQueue.nextDeadline > now) return;
    const due = this.timerQueue.dueBy(now).sort((a, b) => a.tableOrder - b.tableOrder);
    const scanEnd = this.nextTableOrder;
    const changed: TcpConnection[] = [];
    this.changedWhileRunningTimers = changed;
    try {
      for (let i = 0; i < due.length; i++) {
        const connection = due[i];
        const position = connection.tableOrder;
        if (position < 0 || connection.pollAt() > now) continue;
        runTimers(connection, now);
        for (const other of changed) {
          if (other.tableOrder <= position || other.tableOrder >= scanEnd || due.includes(other, i + 1)) continue;
          let at = i + 1;
          while (at < due.length && due[at].tableOrder < other.tableOrder) at++;
          due.splice(at, 0, other); // checked when the scan reaches it
        }
        changed.length = 0;
        this.updateTimerQueue();
      }
    } finally {
      this.changedWhileRunningTimers = null;
    }
  }

  /** The earliest timer of any connection, or Infinity. */
  pollAt(): number {
    this.updateTimerQueue();
    return Math.min(this.timerQueue.nextDeadline, this.timeWaits.nextDeadline);
  }

  /** Hands a segment to IP; false when the interface's full transmit queue dropped it. */
  private sendSegment(
    source: IpAddress,
    destination: IpAddress,
    segment: TcpRepr,
    ect: boolean,
    ttl?: number,
    tos = 0,
    segmentSize?: number,
    dontFragment = true,
    flowLabel?: number,
  ): boolean {
    const length = tcpLength(segment);
    if (typeof source === 'string' && typeof destination === 'string') {
      // TCP never has IPv6 fragment its segments: the MSS follows the path MTU (RFC 8201 §5.2).
      const from = ipv6Bytes(source);
      const to = ipv6Bytes(destination);
      const sent = this.ip6.send(
        {
          source: from,
          destination: to,
          nextHeader: IpProtocol.TCP,
          dontFragment: true,
          hopLimit: ttl,
          trafficClass: (tos & ~3) | (ect ? 2 : tos & 3),
          segmentSize,
          flowLabel,
        },
        length,
        (out, _source, checksumOffloaded) => {
          const written = emitTcp(segment, out, { source: from, destination: to }, checksumOffloaded);
          if (this.tracer) this.tracer(tcpTraceEvent('down', out.subarray(0, written), this.clock()));
        },
        this.clock(),
      );
      if (sent.ok) return true;
      this.stats.increment(`tcp.tx.failed.${sent.error}`);
      return sent.error !== 'ENOBUFS';
    }
    if (typeof source !== 'number' || typeof destination !== 'number') return false;
    const sent = this.ip.send(
      { source, destination, protocol: IpProtocol.TCP, dontFragment, ttl, dscp: tos >> 2, ecn: ect ? 2 : tos & 3, segmentSize },
      length,
      (out, _source, checksumOffloaded) => {
        const written = emitTcp(segment, out, { source, destination }, checksumOffloaded);
        if (this.tracer) this.tracer(tcpTraceEvent('down', out.subarray(0, written), this.clock()));
        return written;
      },
      this.clock(),
    );
    if (sent.ok) return true;
    this.stats.increment(`tcp.tx.failed.${sent.error}`);
    // Other failures (no route, a path MTU lowered meanwhile) leave the segment to the timers
    // as if lost on the way.
    return sent.error !== 'ENOBUFS';
  }
}

/** Makes TcpListener.identity unique within the process (only compared, never ordered). */
let nextListenerSerial = 0;

/** The listener table's key of `address:port` (IPv4's as the unsigned number, IPv6's as text). */
function listenerKey(address: IpAddress, port: number): string {
  return `${typeof address === 'number' ? address >>> 0 : address}:${port}`;
}

/** The text of an IPv6 address the layer chose, or null. */
function nullableText(address: Uint8Array | null): string | null {
  return address === null ? null : ipv6Text(address);
}
