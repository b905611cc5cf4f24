/**
 * One TCP connection: the Transmission Control Block of RFC 9293 §3.3.1 and the user calls of
 * §3.10.1–3.10.6 (OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS). Segment arrival lives in
 * `input.ts`, segment building in `output.ts`, loss recovery in `recovery.ts`; they all work on
 * this object. Timer deadlines are `deadlines.ts`'s, `timers.ts` dispatches the due ones to
 * their owners, and the close path's own timers (TIME-WAIT, FIN-WAIT-2) expire here. The state of a mechanism with an RFC of its own
 * lives in that mechanism's owner, which the others call: `recovery` (loss recovery), `rack`
 * (RFC 8985), `ecn` (RFC 3168), `timestamps` (RFC 7323), `frto` (RFC 5682), among others.
 */
import type { ErrnoCode } from '../core/errno.js';
import { fail, ok, type Result } from '../core/result.js';
import type { Counter, Stats } from '../core/stats.js';
import type { TcpCounterName } from './tcp-counters.js';
import type { IpAddress } from '../ip/ip-address.js';
import { InvalidSegmentAckLimit } from './ack-rate-limits.js';
import { Keepalive, type KeepaliveSettings } from './keepalive.js';
import { ReceiveRing, type ReceiveStoragePool } from './receive-ring.js';
import { ReceiveAssembler } from './assembler.js';
import type { TcpConfig } from './config.js';
import type { CongestionAlgorithm, CongestionControl } from './congestion.js';
import { createCongestionControl } from './congestion-algorithms.js';
import { CongestionWindowUse } from './cwnd-validation.js';
import { TimerDeadlines } from './deadlines.js';
import { ExplicitCongestionNotification } from './ecn.js';
import { ForwardRtoRecovery } from './frto.js';
import { MtuProbing } from './mtu-probe.js';
import { QuickAcks } from './quick-ack.js';
import { RetransmissionQueue } from './retransmission-queue.js';
import { LinuxRttEstimator } from './rtt-linux.js';
import { RttEstimator, type RoundTripEstimator, type RtoConfig } from './rtt.js';
import { SendBuffer, WriteMarks, type SendStoragePool } from './send-buffer.js';
import { SendMemory } from './send-memory.js';
import { Chrono, TcpInfoCounters } from './tcp-info-counters.js';
import { sendReset, transmitPending, windowUpdateAfterRead } from './output.js';
import { PacingSchedule } from './pacing.js';
import type { ProportionalRateReduction } from './prr.js';
import { RackLossDetection } from './rack.js';
import { LossRecovery } from './recovery.js';
import type { Segment } from './segment.js';
import { seqAdd, seqSub } from './seq.js';
import { TcpFlag, type TcpRepr } from './tcp-packet.js';
import { TcpTimestamps } from './timestamps.js';
import { BusyState, busyParts, RESTING, settle } from './busy-state.js';
import type { TimeWaitRecord } from './time-wait.js';

/** The eleven states of RFC 9293 §3.3.2. */
export type TcpState =
  'CLOSED' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED' | 'ESTABLISHED' | 'FIN-WAIT-1' | 'FIN-WAIT-2' | 'CLOSE-WAIT' | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT';

/** What a connection needs from the layer that owns it. */
export interface TcpHost {
  readonly config: TcpConfig;
  readonly stats: Stats<TcpCounterName>;
  /** The counters of every segment, looked up once. */
  readonly counters: TcpSegmentCounters;
  /** The counter of each state, `tcp.state.<state>`, looked up once (setState counts every transition). */
  readonly stateCounters: Readonly<Record<TcpState, Counter>>;
  /** Where send buffers' first storage comes from and returns to at rest (send-buffer.ts), if anywhere. */
  readonly sendStoragePool?: SendStoragePool;
  /** Where receive rings' storage comes from and returns to at rest (receive-ring.ts), if anywhere. */
  readonly receiveStoragePool?: ReceiveStoragePool;
  /** The stack's current time (ms). */
  now(): number;
  /**
   * Hands a segment to IP; with offload `segmentSize` (the MSS) lets the link cut it and complete
   * its checksum. False when it never left: the interface's transmit queue was full.
   */
  transmit(connection: TcpConnection, segment: TcpRepr, segmentSize?: number): boolean;
  /** Path MTU toward the peer, or null without a route. */
  pathMtu(remote: IpAddress): number | null;
  /** The MSS the route toward the peer says to offer (`ip route ... advmss`), or null. */
  routeAdvertisedMss(remote: IpAddress): number | null;
  /** The MTU of the interface toward the peer, whatever the route or path say; null without a route. */
  interfaceMtu(remote: IpAddress): number | null;
  /** The largest IP packet toward the peer that the link cuts into segments itself (TSO), or 0. */
  segmentationOffload(remote: IpAddress): number;
  /** The connection reached CLOSED: forget it. */
  release(connection: TcpConnection): void;
  /** A timer deadline of the connection changed (TimerDeadlines): its place among the host's timers may have. */
  deadlinesChanged(connection: TcpConnection): void;
  /** A passively opened connection reached ESTABLISHED: move it to its listener's accept queue. */
  established(connection: TcpConnection): void;
  /** Stack-wide challenge-ACK ceiling (RFC 5961 §7), after the connection's own limit (ack-rate-limits.ts). */
  challengeAckAllowed(now: number): boolean;
  /** Whether the listener of a half-open connection can take one more established one. */
  acceptQueueHasRoom(connection: TcpConnection): boolean;
  /** Sends a RST answering `segment` (RFC 9293 §3.10.7.1). */
  replyWithReset(localAddress: IpAddress, localPort: number, remoteAddress: IpAddress, remotePort: number, segment: Segment): void;
}

/** Counters incremented for every segment: `tcp.tx.segments`, `tcp.tx.dataSegments`, `tcp.rx.dataSegments`, `tcp.rx.headerPredicted`. */
export interface TcpSegmentCounters {
  readonly txSegments: Counter;
  readonly txDataSegments: Counter;
  readonly rxDataSegments: Counter;
  readonly rxPredicted: Counter;
}

/** Callbacks to the socket that owns the connection. */
export interface TcpConnectionEvents {
  /** The handshake completed (ESTABLISHED). */
  onConnect?(): void;
  /** Data, or the end of the stream, can be read. */
  onReadable?(): void;
  /** Send-buffer space was freed. */
  onWritable?(): void;
  /** The connection is gone; `error` says why if it did not close normally. */
  onClose?(error: ErrnoCode | null): void;
}

export type { SentSegment } from './retransmission-queue.js';

/**
 * Per-connection settings that socket options change, read by the parts of TCP that use them.
 * Only the connection's setters (`setNoDelay`, `setUserTimeout`…) write them; keep-alive's are
 * its owner's (`keepalive.ts`).
 */
export interface TcpConnectionOptions {
  /** TCP_NODELAY: Nagle's algorithm is off. */
  noDelay: boolean;
  /** TCP_USER_TIMEOUT (RFC 5482): how long data may stay unacknowledged (0 = the retry count decides). */
  userTimeoutMs: number;
  /** TCP_MAXSEG: an upper bound on the MSS we send and advertise (0 = none). */
  maxSegmentSize: number;
  /** SO_LINGER with a zero timeout: close() aborts with RST. */
  lingerZero: boolean;
  /**
   * SO_RCVBUF was set: the receive buffer stays as set, and the window-scale shift follows it
   * rather than the stack's largest buffer (Linux's SOCK_RCVBUF_LOCK clamps the window).
   */
  receiveBufferLocked: boolean;
  /** IP_TTL for this connection's segments (default: the stack's). */
  ttl: number | undefined;
  /** IP_TOS: DSCP and, unless ECN is negotiated, the ECN bits. */
  tos: number;
  /** TCP_KEEPINIT (FreeBSD): how long the opening may take (TcpConfig.handshakeTimeoutMs; 0 = no bound). */
  handshakeTimeoutMs: number;
  /** IP_MTU_DISCOVER: DF on every segment for path MTU discovery (RFC 1191); off with IP_PMTUDISC_DONT. */
  dontFragment: boolean;
  /** TCP_CORK: partial segments wait for more data, an uncork, or the probe timer. */
  cork: boolean;
  /**
   * TCP_NOTSENT_LOWAT: the socket is writable only while fewer bytes than this wait unsent
   * (0: the stack's `notSentLowWater`).
   */
  notSentLowWater: number;
}

/** How one SEND call wants its data treated (the flags of send(2)). */
export interface SendFlags {
  /** MSG_MORE: more follows; hold a partial segment and do not push. */
  readonly more?: boolean;
  /** MSG_EOR: the data ends a record; no later data shares its last segment. */
  readonly endOfRecord?: boolean;
}

/** One TCP connection (or listener-spawned half-open connection). */
export class TcpConnection extends TimerDeadlines {
  #state: TcpState = 'CLOSED';
  /** The record that stands for this connection in the layer's table once in TIME-WAIT (time-wait.ts). */
  #timeWait: TimeWaitRecord | null = null;
  /**
   * The settings socket options change: the stack's defaults, one record shared by every
   * connection of the stack until a setter gives the connection its own copy (`ownOptions`).
   */
  #options: Readonly<TcpConnectionOptions>;
  /** The socket's callbacks (`events`); null until given or asked for. */
  #events: TcpConnectionEvents | null = null;
  /** The listener that spawned this connection (passive open), until it is accepted. */
  listenerKey: string | null = null;
  /** Place in the host's connection table (order of entry), -1 when not in it; due timers run in this order. */
  tableOrder = -1;
  /**
   * The automatic IPv6 flow label of this connection's packets (RFC 6437 §3, ip/ipv6-flow-label.ts),
   * computed by the layer at the first segment (the SYN of connect, the SYN-ACK of a passive open)
   * and kept, as Linux keeps sk_txhash; -1 until then and after a re-roll.
   */
  flowLabel = -1;
  /** Re-rolls of the flow label by retransmission timeouts (Linux's timeout_rehash, tcpi_rehash; retransmit-timer.ts). */
  flowLabelRehashes = 0;

  // ---- send sequence variables (RFC 9293 §3.3.1) ----
  #iss = 0;
  #sndUna = 0;
  #sndNxt = 0;
  /** Send window in bytes (already scaled). */
  sndWnd = 0;
  #sndWl1 = 0;
  #sndWl2 = 0;
  /** Largest window the peer ever offered (RFC 5961 §5.2 MAX.SND.WND; SWS avoidance). */
  maxSndWnd = 0;
  #sendBufferSeq = 0;

  // ---- receive sequence variables ----
  #irs = 0;
  #rcvNxt = 0;
  #rcvAdvertisedEdge = 0;

  // ---- negotiated options ----
  /** Our MSS for sending: the peer's MSS option bounded by the path. */
  sendMss: number;
  /** Data bytes one new-data segment may carry when the link cuts it into MSS-sized ones (TSO); 0 without. */
  segmentationOffloadBytes = 0;
  /** MSS we advertise. */
  advertisedMss = 0;
  peerMss = 0;
  /** Window scale shifts: applied to windows we receive / we send (RFC 7323 §2.3). */
  sndWindowShift = 0;
  rcvWindowShift = 0;
  /** Both SYNs carried a window-scale option (RFC 7323 §2.2): every SYN-ACK we send must carry ours. */
  windowScalingEnabled = false;
  sackEnabled = false;
  /** The Timestamps option (RFC 7323): negotiated?, our clock, TS.Recent, Last.ACK.sent, PAWS (timestamps.ts). */
  readonly timestamps = new TcpTimestamps();

  // ---- buffers ----
  readonly sendBuffer: SendBuffer;
  /** What a write may queue and when the socket is writable (SO_SNDBUF; TcpConfig.sendBufferAccounting). */
  readonly sendMemory: SendMemory;
  receiveBufferSize: number;

  // ---- retransmission and congestion ----
  /** Replaced (not reset) when the handshake needed a retransmission: RFC 6298 §5.7's 3 s start. */
  rtt: RoundTripEstimator;
  cc: CongestionControl;
  private pacingState: PacingSchedule | null = null;
  /** Counts transmissions of segments that occupy sequence space (see SentSegment.sentOrder). */
  transmissions = 0;
  #smallSegmentEnd = 0;
  /** When the segment `rttSeq` times left. */
  rttStartedAt = 0;
  /** Which loss recovery the sender is in, and RFC 6582's "recover" (recovery.ts). */
  readonly recovery = new LossRecovery();
  #highestSackedEnd = 0;
  /** RACK's variables and steps (RFC 8985 §6; rack.ts). */
  readonly rack: RackLossDetection;
  /** When data was last sent or received (for CWV restart and keepalive). */
  lastSendAt = 0;
  lastReceiveAt = 0;
  /** ECN (RFC 3168 §6.1): negotiated?, the echo of CE, the reduction for ECE and the CWR owed (ecn.ts). */
  readonly ecn = new ExplicitCongestionNotification();

  /** The user closed the socket: nobody reads anymore (orphan). */
  orphaned = false;

  /** What only TCP_INFO reports: RFC 4898 counters, last-activity stamps, chrono times (`tcp-info.ts`). */
  readonly info: TcpInfoCounters;

  /**
   * Owners and variables needed only while busy (busy-state.ts): the shared RESTING record at
   * rest. Timer deadlines are TimerDeadlines' (retransmitDeadline, delayedAckDeadline, …).
   */
  #busy: BusyState = RESTING;
  /**
   * Made when first used, dropped at rest while as new; not in the busy record, as the ACKs of
   * the handshake already use one of ustack's sixteen quick ACKs (quick-ack.ts).
   */
  #quickAcks: QuickAcks | null = null;

  constructor(
    readonly host: TcpHost,
    /** This end's address: IPv4's number or IPv6's text (ip-address.ts). */
    readonly localAddress: IpAddress,
    readonly localPort: number,
    /** The peer's address, of the same family. */
    readonly remoteAddress: IpAddress,
    readonly remotePort: number,
    congestion?: CongestionAlgorithm,
  ) {
    super();
    const config = host.config;
    this.#options = defaultOptions(config);
    this.sendMss = config.defaultMss;
    this.sendBuffer = new SendBuffer(config.sendBufferSize, host.sendStoragePool);
    this.sendMemory = new SendMemory(this, config.sendBufferAccounting);
    this.receiveBufferSize = config.receiveBufferSize;
    this.rtt = this.newRttEstimator(config.initialRtoMs);
    this.cc = this.newCongestionControl(congestion ?? config.congestionControl);
    this.info = new TcpInfoCounters(host.now());
    this.rack = new RackLossDetection(config);
  }

  /**
   * A congestion controller for this connection, configured from the stack's settings, starting
   * at an initial window of `initialWindowSegments` (the configured IW unless given).
   */
  newCongestionControl(
    algorithm: CongestionAlgorithm,
    initialWindowSegments?: number,
    window?: { readonly cwnd: number; readonly ssthresh: number },
  ): CongestionControl {
    const config = this.host.config;
    return createCongestionControl(algorithm, this.sendMss, {
      window,
      initialWindowSegments: initialWindowSegments ?? config.initialWindowSegments,
      slowStartAckLimitSegments: config.slowStartAckLimitSegments,
      cubicImplementation: config.cubicImplementation,
      hystart: {
        enabled: config.hystart,
        detect: config.hystartDetect,
        lowWindow: config.hystartLowWindow,
        ackDeltaUs: config.hystartAckDeltaUs,
        roundsBelowLowWindow: config.hystartRoundsBelowLowWindow,
      },
    });
  }

  /** A round-trip estimator of the configured kind (TcpConfig.rttEstimator) starting at an RTO of `initialMs`. */
  newRttEstimator(initialMs: number): RoundTripEstimator {
    const config = this.host.config;
    const rto = initialMs === config.initialRtoMs ? initialRtoSettings(config) : rtoSettings(config, initialMs);
    return config.rttEstimator === 'linux' ? new LinuxRttEstimator(rto) : new RttEstimator(rto);
  }

  // ---- sequence numbers: kept as int32 (`| 0`) and read as uint32 (`>>> 0`), so that each is a
  // V8 small integer inside the connection; a uint32 above 2^31 would take a heap box of its own
  // (16 bytes a field and connection). Only the representation differs: every read gives the
  // sequence number written. ----
  /** Initial send sequence number (ISS). */
  get iss(): number {
    return this.#iss >>> 0;
  }
  set iss(seq: number) {
    this.#iss = seq | 0;
  }

  /** Oldest unacknowledged sequence number (SND.UNA). */
  get sndUna(): number {
    return this.#sndUna >>> 0;
  }
  set sndUna(seq: number) {
    this.#sndUna = seq | 0;
  }

  /** Next sequence number to send (SND.NXT). */
  get sndNxt(): number {
    return this.#sndNxt >>> 0;
  }
  set sndNxt(seq: number) {
    this.#sndNxt = seq | 0;
  }

  /** Segment sequence number of the last window update (SND.WL1). */
  get sndWl1(): number {
    return this.#sndWl1 >>> 0;
  }
  set sndWl1(seq: number) {
    this.#sndWl1 = seq | 0;
  }

  /** Segment acknowledgment number of the last window update (SND.WL2). */
  get sndWl2(): number {
    return this.#sndWl2 >>> 0;
  }
  set sndWl2(seq: number) {
    this.#sndWl2 = seq | 0;
  }

  /** Sequence number of send-buffer byte 0 (the first unacknowledged data byte). */
  get sendBufferSeq(): number {
    return this.#sendBufferSeq >>> 0;
  }
  set sendBufferSeq(seq: number) {
    this.#sendBufferSeq = seq | 0;
  }

  /** Initial receive sequence number (IRS). */
  get irs(): number {
    return this.#irs >>> 0;
  }
  set irs(seq: number) {
    this.#irs = seq | 0;
  }

  /** Next sequence number expected (RCV.NXT). */
  get rcvNxt(): number {
    return this.#rcvNxt >>> 0;
  }
  set rcvNxt(seq: number) {
    this.#rcvNxt = seq | 0;
  }

  /** Right edge of the window last advertised; never moved left (RFC 9293 §3.8.6.2.2). */
  get rcvAdvertisedEdge(): number {
    return this.#rcvAdvertisedEdge >>> 0;
  }
  set rcvAdvertisedEdge(seq: number) {
    this.#rcvAdvertisedEdge = seq | 0;
  }

  /** End of the last sub-MSS segment sent (Linux's snd_sml), for Minshall's Nagle. */
  get smallSegmentEnd(): number {
    return this.#smallSegmentEnd >>> 0;
  }
  set smallSegmentEnd(seq: number) {
    this.#smallSegmentEnd = seq | 0;
  }

  /** Highest SACKed sequence number (RFC 6675 HighACK side; RACK.fack). */
  get highestSackedEnd(): number {
    return this.#highestSackedEnd >>> 0;
  }
  set highestSackedEnd(seq: number) {
    this.#highestSackedEnd = seq | 0;
  }

  /** The settings socket options change, read-only: each has its setter below (`setNoDelay`…). */
  get options(): Readonly<TcpConnectionOptions> {
    return this.#options;
  }

  /** The options record the setters write: the connection's own, copied from the shared defaults at the first change. */
  #ownOptions(): TcpConnectionOptions {
    if (this.#options === defaultOptions(this.host.config)) this.#options = { ...this.#options };
    return this.#options as TcpConnectionOptions;
  }

  /** The busy record to write into: the connection's own, made at the first change (busy-state.ts). */
  #busyForWrite(): BusyState {
    if (this.#busy === RESTING) this.#busy = new BusyState();
    return this.#busy;
  }

  // ---- variables kept in the busy record (busy-state.ts): read and written like fields ----
  /** Set when the connection died of an error (SO_ERROR until read). */
  get error(): ErrnoCode | null {
    return this.#busy.error;
  }
  set error(value: ErrnoCode | null) {
    if (value !== this.#busy.error) this.#busyForWrite().error = value;
  }

  /** The last soft ICMP error (RFC 1122 §4.2.3.9), reported only if the connection then times out. */
  get softError(): ErrnoCode | null {
    return this.#busy.softError;
  }
  set softError(value: ErrnoCode | null) {
    if (value !== this.#busy.softError) this.#busyForWrite().softError = value;
  }

  get sndUp(): number {
    return this.#busy.sndUp;
  }
  set sndUp(value: number) {
    if (value !== this.#busy.sndUp) this.#busyForWrite().sndUp = value;
  }

  get rcvUp(): number {
    return this.#busy.rcvUp;
  }
  set rcvUp(value: number) {
    if (value !== this.#busy.rcvUp) this.#busyForWrite().rcvUp = value;
  }

  /** The peer marked urgent data that has not been read past yet (RFC 9293 §3.8.5; RCV.UP). */
  get urgentPending(): boolean {
    return this.#busy.urgentPending;
  }
  set urgentPending(value: boolean) {
    if (value !== this.#busy.urgentPending) this.#busyForWrite().urgentPending = value;
  }

  /** The user called CLOSE or SHUTDOWN(SHUT_WR): a FIN follows the data. */
  get finPending(): boolean {
    return this.#busy.finPending;
  }
  set finPending(value: boolean) {
    if (value !== this.#busy.finPending) this.#busyForWrite().finPending = value;
  }

  /** Our FIN has been sent (it occupies sendBufferSeq + sendBuffer.length). */
  get finSent(): boolean {
    return this.#busy.finSent;
  }
  set finSent(value: boolean) {
    if (value !== this.#busy.finSent) this.#busyForWrite().finSent = value;
  }

  /** The peer's FIN arrived in order: the stream has ended after the queued data. */
  get peerFinReceived(): boolean {
    return this.#busy.peerFinReceived;
  }
  set peerFinReceived(value: boolean) {
    if (value !== this.#busy.peerFinReceived) this.#busyForWrite().peerFinReceived = value;
  }

  /** A FIN arrived beyond a hole; its sequence number. */
  get outOfOrderFinSeq(): number | null {
    return this.#busy.outOfOrderFinSeq;
  }
  set outOfOrderFinSeq(value: number | null) {
    if (value !== this.#busy.outOfOrderFinSeq) this.#busyForWrite().outOfOrderFinSeq = value;
  }

  /**
   * Text and FIN that came on the peer's SYN while we were in LISTEN or SYN-SENT, kept (copied)
   * for processing once ESTABLISHED is reached (RFC 9293 §3.10.7.2, §3.10.7.3).
   */
  get synTextQueued(): Segment | null {
    return this.#busy.synTextQueued;
  }
  set synTextQueued(value: Segment | null) {
    if (value !== this.#busy.synTextQueued) this.#busyForWrite().synTextQueued = value;
  }

  /** The user shut down reading (SHUT_RD): reads end at the data queued (TcpConfig.readShutdownDiscards). */
  get readShutdown(): boolean {
    return this.#busy.readShutdown;
  }
  set readShutdown(value: boolean) {
    if (value !== this.#busy.readShutdown) this.#busyForWrite().readShutdown = value;
  }

  /** Consecutive retransmission timeouts without progress. */
  get timeoutCount(): number {
    return this.#busy.timeoutCount;
  }
  set timeoutCount(value: number) {
    if (value !== this.#busy.timeoutCount) this.#busyForWrite().timeoutCount = value;
  }

  /** Sequence number being timed for RTT without timestamps (Karn), and when it left. */
  get rttSeq(): number | null {
    return this.#busy.rttSeq;
  }
  set rttSeq(value: number | null) {
    if (value !== this.#busy.rttSeq) this.#busyForWrite().rttSeq = value;
  }

  get dupAcks(): number {
    return this.#busy.dupAcks;
  }
  set dupAcks(value: number) {
    if (value !== this.#busy.dupAcks) this.#busyForWrite().dupAcks = value;
  }

  /** The congestion window through a fast recovery (RFC 9937 PRR); null outside one. */
  get prr(): ProportionalRateReduction | null {
    return this.#busy.prr;
  }
  set prr(value: ProportionalRateReduction | null) {
    if (value !== this.#busy.prr) this.#busyForWrite().prr = value;
  }

  /**
   * The last loss recovery, while it may still turn out spurious (RFC 3708, as Linux's undo):
   * SND.UNA when it began, and how many of its retransmissions no D-SACK has yet called
   * needless. At zero, after recovery, the congestion controller undoes its reduction. Null
   * after a timeout (F-RTO may undo that, frto.ts) or an ECN reduction (never undone).
   */
  get undo(): { readonly marker: number; retransmissions: number } | null {
    return this.#busy.undo;
  }
  set undo(value: { readonly marker: number; retransmissions: number } | null) {
    if (value !== this.#busy.undo) this.#busyForWrite().undo = value;
  }

  /** Time the first unacknowledged byte was first sent; for the user timeout. */
  get firstUnackedSentAt(): number | null {
    return this.#busy.firstUnackedSentAt;
  }
  set firstUnackedSentAt(value: number | null) {
    if (value !== this.#busy.firstUnackedSentAt) this.#busyForWrite().firstUnackedSentAt = value;
  }

  /** Send an ACK at the next output. */
  get ackNow(): boolean {
    return this.#busy.ackNow;
  }
  set ackNow(value: boolean) {
    if (value !== this.#busy.ackNow) this.#busyForWrite().ackNow = value;
  }

  /** Full-sized segments received since the last ACK (RFC 5681 §4.2: ACK every second one). */
  get segmentsSinceAck(): number {
    return this.#busy.segmentsSinceAck;
  }
  set segmentsSinceAck(value: number) {
    if (value !== this.#busy.segmentsSinceAck) this.#busyForWrite().segmentsSinceAck = value;
  }

  /**
   * A segment is being processed (its callbacks run inside): what the application does there —
   * a read that opens the window, a reply — leaves in the one transmission at the end, so a
   * window update or ACK rides on the reply instead of going alone before it.
   */
  get processingSegment(): boolean {
    return this.#busy.processingSegment;
  }
  set processingSegment(value: boolean) {
    if (value !== this.#busy.processingSegment) this.#busyForWrite().processingSegment = value;
  }

  /** D-SACK block to report with the next ACK (RFC 2883). */
  get pendingDsack(): { leftEdge: number; rightEdge: number } | null {
    return this.#busy.pendingDsack;
  }
  set pendingDsack(value: { leftEdge: number; rightEdge: number } | null) {
    if (value !== this.#busy.pendingDsack) this.#busyForWrite().pendingDsack = value;
  }

  get persistBackoff(): number {
    return this.#busy.persistBackoff;
  }
  set persistBackoff(value: number) {
    if (value !== this.#busy.persistBackoff) this.#busyForWrite().persistBackoff = value;
  }

  /**
   * When the probe timer first fired in the current episode (a closed window, or data the
   * interface's full transmit queue keeps dropping), or null: a user timeout (RFC 5482) bounds
   * how long probing may go on even while the peer answers (as Linux since 5.11,
   * icsk_probes_tstamp). Cleared when the window opens or the data leaves.
   */
  get zeroWindowSince(): number | null {
    return this.#busy.zeroWindowSince;
  }
  set zeroWindowSince(value: number | null) {
    if (value !== this.#busy.zeroWindowSince) this.#busyForWrite().zeroWindowSince = value;
  }

  /** Callbacks to the socket that owns the connection: an empty record is made when first asked for. */
  get events(): TcpConnectionEvents {
    return (this.#events ??= {});
  }
  set events(events: TcpConnectionEvents) {
    this.#events = events;
    // A TIME-WAIT record keeps the connection only to tell its onClose (time-wait.ts).
    if (this.#timeWait !== null && events.onClose === undefined) this.#timeWait.owner = null;
  }

  /** The callbacks given, or null: TCP's own calls look here, so that finding none makes no record. */
  get eventsOrNull(): TcpConnectionEvents | null {
    return this.#events;
  }

  /** Bytes of in-order data the application has not read yet: what the receive ring holds (none at rest). */
  get receiveQueueBytes(): number {
    return this.#busy.receiveQueue?.byteLength ?? 0;
  }

  /** In-order data the application has not read yet, oldest first, copied out of the frames it came in. */
  get receiveQueue(): ReceiveRing {
    return this.#busy.receiveQueue ?? (this.#busyForWrite().receiveQueue = new ReceiveRing(() => this.receiveBufferSize, this.host.receiveStoragePool));
  }

  /** Ends of writes in the unsent data: push points and record ends. */
  get writeMarks(): WriteMarks {
    return this.#busy.writeMarks ?? (this.#busyForWrite().writeMarks = new WriteMarks());
  }

  /** Out-of-order data held until the hole before it fills, within the receive buffer. */
  get assembler(): ReceiveAssembler {
    return this.#busy.assembler ?? (this.#busyForWrite().assembler = new ReceiveAssembler(this.receiveBufferSize));
  }

  /** The retransmission queue and SACK scoreboard. */
  get inFlight(): RetransmissionQueue {
    return this.#busy.inFlight ?? (this.#busyForWrite().inFlight = new RetransmissionQueue());
  }

  /** How much of cwnd the sender uses, measured per window of data (RFC 7661). */
  get windowUse(): CongestionWindowUse {
    return this.#busy.windowUse ?? (this.#busyForWrite().windowUse = new CongestionWindowUse());
  }

  /** F-RTO (RFC 5682): whether the last timeout turns out spurious (TcpConfig.frto). */
  get frto(): ForwardRtoRecovery {
    return this.#busy.frto ?? (this.#busyForWrite().frto = new ForwardRtoRecovery());
  }

  /** Which in-order data is ACKed at once (TcpConfig.quickAck). */
  get quickAcks(): QuickAcks {
    return (this.#quickAcks ??= new QuickAcks(this.host.config.quickAck));
  }

  /** Packetization-layer path MTU discovery (RFC 4821; TcpConfig.mtuProbing). */
  get mtuProbing(): MtuProbing {
    return this.#busy.mtuProbing ?? (this.#busyForWrite().mtuProbing = new MtuProbing(this));
  }

  /** Keep-alive (RFC 1122 §4.2.3.6): settings, probes and timer (keepalive.ts). */
  get keepalive(): Keepalive {
    return this.#busy.keepalive ?? (this.#busyForWrite().keepalive = new Keepalive(this));
  }

  /** How often this connection answers invalid segments (RFC 5961 §7; ack-rate-limits.ts); kept once used. */
  get invalidSegmentAcks(): InvalidSegmentAckLimit {
    return this.#busy.invalidSegmentAcks ?? (this.#busyForWrite().invalidSegmentAcks = new InvalidSegmentAckLimit());
  }

  /** When the next send unit may leave, with TcpConfig.pacing (pacing.ts); made when first needed. */
  get pacing(): PacingSchedule {
    return (this.pacingState ??= new PacingSchedule());
  }

  /** `local:port>remote:port`, the demultiplexing key. */
  get key(): string {
    return connectionKey(this.localAddress, this.localPort, this.remoteAddress, this.remotePort);
  }

  get stats(): Stats<TcpCounterName> {
    return this.host.stats;
  }

  /** Bytes the application can read now. */
  get readableBytes(): number {
    return this.receiveQueueBytes;
  }

  /** True when the peer's FIN has arrived and every byte before it was read. */
  get endOfStream(): boolean {
    return this.peerFinReceived && this.receiveQueueBytes === 0;
  }

  /** Bytes sent and not yet acknowledged (FlightSize, RFC 5681 §2). */
  get flightSize(): number {
    return (this.sndNxt - this.sndUna) >>> 0;
  }

  /** True in the states where both sides have exchanged SYNs (RFC 9293 "synchronized"). */
  get synchronized(): boolean {
    return this.state !== 'CLOSED' && this.state !== 'LISTEN' && this.state !== 'SYN-SENT' && this.state !== 'SYN-RECEIVED';
  }

  /** True while SEND is allowed (RFC 9293 §3.10.2). */
  get canSend(): boolean {
    return !this.finPending && (this.state === 'ESTABLISHED' || this.state === 'CLOSE-WAIT' || this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED');
  }

  /** The state (RFC 9293 §3.3.2); CLOSED once the TIME-WAIT record that took over has ended. */
  get state(): TcpState {
    return this.#timeWait !== null && this.#timeWait.ended ? 'CLOSED' : this.#state;
  }

  /** Moves to a new state, counting the transition. */
  setState(state: TcpState): void {
    if (this.#state === state) return;
    this.host.stateCounters[state].increment();
    this.#state = state;
  }

  /** Reads up to `max` bytes of in-order data (RFC 9293 §3.10.3 RECEIVE); an empty array when none. */
  read(max = Infinity): Uint8Array {
    if (this.receiveQueueBytes === 0) return new Uint8Array(0);
    return this.receiveQueue.read(max);
  }

  /**
   * SEND (RFC 9293 §3.10.2): queues as much of `data` as the send buffer and the not-sent low
   * water mark take, marks the end for a push (unless MSG_MORE) and transmits what the windows
   * allow. Returns the bytes accepted (0 when none fit).
   */
  send(data: Uint8Array, flags: SendFlags = {}): Result<number, ErrnoCode> {
    if (this.error) return fail(this.error);
    if (this.state === 'CLOSED' || this.state === 'LISTEN') return fail('ENOTCONN');
    if (!this.canSend) return fail('EPIPE');
    // Data leaves as it is queued (Linux sends each full skb while copying a write in), so the
    // buffer and the low water mark bound what waits, not the write.
    let accepted = 0;
    const now = this.host.now();
    for (;;) {
      const wanted = data.length - accepted;
      const room = this.sendMemory.writeRoom(wanted);
      const taken = room > 0 ? this.sendBuffer.write(data.subarray(accepted, accepted + room)) : 0;
      accepted += taken;
      const done = accepted === data.length;
      if (taken > 0) {
        this.info.chronoStart(Chrono.busy, now);
        this.sendMemory.appended(taken, done && flags.endOfRecord === true);
        const forced = done ? null : this.sendMemory.forcedPush();
        if (forced !== null) this.writeMarks.add(forced, true, false);
      }
      const last = taken === 0 || done;
      // A write cut short: the writer waits, marked so before the last push of what it copied
      // (Linux's wait_for_space: SOCK_NOSPACE, then tcp_push). Counting bytes, a chunk smaller
      // than asked already means the buffer (or the low water mark) is full.
      if (taken === 0 && !done) this.sendMemory.writerWaiting = true;
      if ((taken === 0 && !done) || (taken < wanted && this.sendMemory.accounting === 'bytes')) this.info.sendBufferFilled();
      if (last && accepted > 0) {
        this.writeMarks.add(this.sendBufferEnd, !flags.more, flags.endOfRecord === true);
        if (!flags.more) this.sendMemory.pushed();
      }
      if (this.synchronized && accepted > 0 && (taken > 0 || last)) transmitPending(this, now, { corked: !last || flags.more === true });
      if (last) return ok(accepted);
    }
  }

  /** Sequence number after the last byte written. */
  get sendBufferEnd(): number {
    return seqAdd(this.sendBufferSeq, this.sendBuffer.length);
  }

  /** Bytes written and not yet sent once (Linux's notsent_bytes). */
  get unsentBytes(): number {
    return Math.max(0, this.sendBuffer.length - seqSub(this.sndNxt, this.sendBufferSeq));
  }

  /** TCP_NOTSENT_LOWAT in force (Infinity when unlimited). */
  get notSentLowWater(): number {
    const value = this.#options.notSentLowWater || this.host.config.notSentLowWater;
    return value >= 0xffffffff ? Infinity : value;
  }

  /**
   * Room worth writing into (POLLOUT) and waking a blocked writer for, as Linux's
   * __sk_stream_is_writeable(sk, 1): room left at least half of what is queued, and fewer unsent
   * bytes than half the low water mark (send-memory.ts).
   */
  get writable(): boolean {
    return this.sendMemory.writable;
  }

  // ---- settings: the one way from a socket option (Berkeley or Node) into the connection ----

  /** TCP_NODELAY; turning it on sends at once what Nagle or a cork was holding (as Linux). */
  setNoDelay(on: boolean): void {
    this.#ownOptions().noDelay = on;
    if (on && this.synchronized) transmitPending(this, this.host.now(), { push: true });
  }

  /** TCP_CORK; uncorking sends what the cork held. */
  setCork(on: boolean): void {
    this.#ownOptions().cork = on;
    if (!on && this.synchronized) transmitPending(this, this.host.now(), { push: true });
  }

  /** SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, in that order, with Linux's effect on the timer (keepalive.ts). */
  setKeepalive(settings: KeepaliveSettings): void {
    this.keepalive.configure(settings, this.host.now());
  }

  /**
   * TCP_CONGESTION: a different algorithm takes over from the window the connection has. Linux
   * keeps snd_cwnd and snd_ssthresh (tcp_reinit_congestion_control resets only the algorithm's
   * own state); gVisor's SetSockOpt starts the new one from its initial window. Neither RFC 5681
   * nor RFC 9438 speaks of a switch; keeping the window is what the kernel we are judged by does
   * and neither bursts nor restarts slow start on a path whose capacity is already known.
   */
  setCongestionControl(algorithm: CongestionAlgorithm): void {
    if (this.cc.algorithm !== algorithm) this.cc = this.newCongestionControl(algorithm, undefined, { cwnd: this.cc.cwnd, ssthresh: this.cc.ssthresh });
  }

  /** TCP_MAXSEG: an upper bound on the MSS we send and advertise (0 = none); used from the next segment sized. */
  setMaxSegmentSize(bytes: number): void {
    this.#ownOptions().maxSegmentSize = bytes;
  }

  /** TCP_USER_TIMEOUT (RFC 5482), in ms (0 = none); the timers read it when they are next armed or fire. */
  setUserTimeout(ms: number): void {
    this.#ownOptions().userTimeoutMs = ms;
  }

  /** TCP_KEEPINIT (FreeBSD): how long the opening may take, in ms (0 = no bound). */
  setHandshakeTimeout(ms: number): void {
    this.#ownOptions().handshakeTimeoutMs = ms;
  }

  /** SO_LINGER: only a zero timeout changes CLOSE, into an abort with RST (CLOSE never waits here). */
  setLinger(on: boolean, seconds: number): void {
    this.#ownOptions().lingerZero = on && seconds === 0;
  }

  /** TCP_NOTSENT_LOWAT in bytes (0: the stack's `notSentLowWater`). */
  setNotSentLowWater(bytes: number): void {
    this.#ownOptions().notSentLowWater = bytes;
  }

  /** SO_SNDBUF: what a writer may queue (send-memory.ts; Linux's accounting doubles it and stops growing it). */
  setSendBufferSize(bytes: number): void {
    this.sendMemory.setSize(bytes);
  }

  /**
   * SO_RCVBUF: the receive buffer, `locked` when the application set it (Linux's
   * SOCK_RCVBUF_LOCK: the window scale follows it). Its size applies only before the handshake
   * completes, as the window scale offered depends on it.
   */
  setReceiveBufferSize(bytes: number, locked: boolean): void {
    this.#ownOptions().receiveBufferLocked = locked;
    if (this.synchronized) return;
    this.receiveBufferSize = bytes;
    const assembler = this.#busy.assembler;
    if (assembler !== null) assembler.limitBytes = bytes;
  }

  /** IP_TTL of this connection's segments (undefined: the stack's). */
  setTtl(ttl: number | undefined): void {
    this.#ownOptions().ttl = ttl;
  }

  /** IP_TOS: DSCP and, unless ECN is negotiated, the ECN bits. */
  setTos(tos: number): void {
    this.#ownOptions().tos = tos;
  }

  /** IP_MTU_DISCOVER: DF on every segment (RFC 1191), off with IP_PMTUDISC_DONT. */
  setDontFragment(on: boolean): void {
    this.#ownOptions().dontFragment = on;
  }

  /** RECEIVE (RFC 9293 §3.10.3): reads up to `max` bytes and reopens the window if it grew enough. */
  receive(max = Infinity): Uint8Array {
    const data = this.read(max);
    if (data.length > 0) this.#afterRead();
    return data;
  }

  /**
   * RECEIVE into the caller's memory, as recv(2) into a buffer: copies up to `target.length`
   * bytes of in-order data out of the receive ring and returns how many (0 when none). Unlike
   * `receive`, it allocates nothing: a reader that reuses one buffer makes no garbage per read.
   */
  receiveInto(target: Uint8Array): number {
    if (this.receiveQueueBytes === 0 || target.length === 0) return 0;
    const count = this.receiveQueue.peek(target);
    this.receiveQueue.discard(count);
    this.#afterRead();
    return count;
  }

  /** After a read: the window may reopen; a drained queue lets an idle connection rest. */
  #afterRead(): void {
    const now = this.host.now();
    this.info.applicationRead(this, now);
    windowUpdateAfterRead(this, now);
    if (this.receiveQueueBytes === 0) this.restIfIdle(); // the queue drained: an idle connection gives it back
  }

  /**
   * CLOSE (RFC 9293 §3.10.4). Unread data, or SO_LINGER 0, turns it into an abort with RST
   * (RFC 2525 §2.17, as Linux does). Otherwise a FIN follows the queued data.
   */
  close(): void {
    this.orphaned = true;
    if (this.state === 'CLOSED') return;
    if (this.state === 'SYN-SENT' || this.state === 'LISTEN') {
      this.closeWithError(null);
      return;
    }
    if (this.options.lingerZero || this.receiveQueueBytes > 0) {
      this.stats.increment(this.options.lingerZero ? 'tcp.close.lingerZeroReset' : 'tcp.close.unreadDataReset');
      this.abort();
      return;
    }
    this.shutdownWrite();
    if (this.state === 'FIN-WAIT-2') this.finWait2Deadline = this.host.now() + this.host.config.finWait2TimeoutMs;
  }

  /**
   * Enters TIME-WAIT (RFC 9293 §3.10.7.4): no timer of the connection's own is left. Once the
   * segment that brought it here has been answered, the layer replaces the connection in its
   * table with a TimeWaitRecord, which keeps the 2·MSL deadline (tcp-layer.ts, time-wait.ts).
   */
  enterTimeWait(): void {
    this.setState('TIME-WAIT');
    this.clearTimers();
  }

  /** The layer's TIME-WAIT record took over from this connection (tcp-layer.ts). */
  timeWaitTakenOverBy(record: TimeWaitRecord): void {
    this.#timeWait = record;
  }

  /** The record standing for this connection in TIME-WAIT, or null. */
  get timeWaitRecord(): TimeWaitRecord | null {
    return this.#timeWait;
  }

  /** End of TIME-WAIT, 2·MSL after it began or after the last retransmitted FIN (RFC 9293 §3.10.8); Infinity outside it. */
  get timeWaitDeadline(): number {
    const record = this.#timeWait;
    return record === null || record.ended ? Infinity : record.deadline;
  }

  /** An orphaned connection stayed in FIN-WAIT-2 too long (TcpConfig.finWait2TimeoutMs; Linux's tcp_fin_timeout): it goes. */
  onFinWait2Timer(): void {
    this.stats.increment('tcp.finWait2.timeout');
    this.closeWithError(null);
  }

  /** SHUTDOWN(SHUT_WR): send FIN after the queued data; reading goes on (half-close). */
  shutdownWrite(): void {
    if (this.finPending) return;
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.finPending = true;
        this.setState('FIN-WAIT-1');
        break;
      case 'CLOSE-WAIT':
        this.finPending = true;
        this.setState('LAST-ACK');
        break;
      default:
        return;
    }
    transmitPending(this, this.host.now());
  }

  /**
   * SHUTDOWN(SHUT_RD): reading ends. Queued and future data are discarded (BSD's sorflush), or,
   * with TcpConfig.readShutdownDiscards off, still queued and readable before the end (Linux).
   */
  shutdownRead(): void {
    this.readShutdown = true;
    if (!this.host.config.readShutdownDiscards) return;
    this.#busy.receiveQueue?.clear();
  }

  /** ABORT (RFC 9293 §3.10.5): RST in synchronized states, then CLOSED. */
  abort(): void {
    if (this.state === 'CLOSED') return;
    // RFC 9293 §3.10.5: a RST only where the peer may still send or wait for data; CLOSING,
    // LAST-ACK and TIME-WAIT just delete the TCB (Linux's tcp_need_reset agrees).
    const resetPeer =
      this.state === 'SYN-RECEIVED' ||
      this.state === 'ESTABLISHED' ||
      this.state === 'FIN-WAIT-1' ||
      this.state === 'FIN-WAIT-2' ||
      this.state === 'CLOSE-WAIT';
    if (resetPeer) {
      this.stats.increment('tcp.tx.resets');
      // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> as Linux and BSD send it (RFC 9293 §3.10.5
      // names only RST; the ACK lets the peer's RFC 5961 check see an exact sequence number).
      sendReset(this, this.host.now(), TcpFlag.ACK);
    }
    this.closeWithError(null);
  }

  /** Sequence number of the next byte the application will read. */
  readSequence(): number {
    return seqAdd(this.rcvNxt, -(this.receiveQueueBytes + (this.peerFinReceived ? 1 : 0)));
  }

  /**
   * Bytes the application can read before the last byte of urgent data (RFC 9293 §3.8.5: the
   * urgent pointer points just past it, RFC 6093), so 0 means the next byte read is that byte
   * (SIOCATMARK). Null when no urgent data lies ahead.
   */
  urgentMarkDistance(): number | null {
    if (!this.urgentPending) return null;
    const distance = seqSub(this.rcvUp, this.readSequence()) - 1;
    if (distance < 0) {
      this.urgentPending = false;
      return null;
    }
    return distance;
  }

  /** Receive window we can offer now: free buffer space (RFC 9293 §3.8.6.2.2). */
  receiveWindowSpace(): number {
    return Math.max(0, this.receiveBufferSize - this.receiveQueueBytes - this.assembler.heldBytes);
  }

  /** Records an error and tells the socket the connection is gone. */
  closeWithError(error: ErrnoCode | null): void {
    if (error) this.error = error;
    this.setState('CLOSED');
    this.clearTimers();
    this.inFlight.clear();
    this.host.release(this); // a TIME-WAIT record that stands for it goes too
    this.#timeWait = null;
    this.#events?.onClose?.(error);
  }

  protected deadlinesChanged(): void {
    this.host.deadlinesChanged(this);
  }

  /**
   * What the connection holds beyond its variables and the owners every connection has, by name:
   * empty for an idle connection (no timer armed, nothing queued or in flight). For tests and
   * memory accounts (bench/idle-memory.ts).
   */
  heldWhileBusy(): string[] {
    const parts = busyParts(this.#busy);
    if (this.holdsDeadlines) parts.push('timer deadlines');
    if (this.sendBuffer.allocated > 0) parts.push('send buffer storage');
    if (this.pacingState !== null) parts.push('pacing schedule');
    return parts;
  }

  /**
   * After work that arms no timer, rest (deadlines.ts); and in TIME-WAIT too, whose only timer is
   * its own: everything was sent and acknowledged both ways, and all it does is acknowledge a
   * repeated FIN (RFC 9293 §3.10.7.4), so what was made for moving data goes as it enters.
   */
  override restIfIdle(): void {
    if (this.state === 'TIME-WAIT') this.atRest();
    else super.restIfIdle();
  }

  /**
   * No timer is armed (deadlines.ts), or only TIME-WAIT's: nothing is in flight, no ACK is owed,
   * no probe is due. What is kept only while data moves goes until it is next needed, so that an
   * idle connection costs its variables and little else.
   */
  protected override atRest(): void {
    // Not while a segment is processed (a read in its callbacks): its code holds the owners.
    if (this.processingSegment) return;
    this.sendBuffer.release();
    // Owners equal to new ones go (their getters make the same again when next used), and a
    // record left with nothing but initial values gives way to the shared one.
    if (this.#busy !== RESTING && settle(this.#busy, this.sndUna)) this.#busy = RESTING;
    if (this.#quickAcks?.unused) this.#quickAcks = null;
  }
}

/** The RTO settings of a configuration, its initial RTO as configured: shared by its connections' estimators. */
const initialRto = new WeakMap<TcpConfig, RtoConfig>();

function initialRtoSettings(config: TcpConfig): RtoConfig {
  let settings = initialRto.get(config);
  if (settings === undefined) {
    settings = rtoSettings(config, config.initialRtoMs);
    initialRto.set(config, settings);
  }
  return settings;
}

function rtoSettings(config: TcpConfig, initialMs: number): RtoConfig {
  return Object.freeze({ initialMs, minMs: config.minRtoMs, maxMs: config.maxRtoMs, clockGranularityMs: 1 });
}

/** The options of a connection no setter has changed, per stack configuration (TcpConnection.options). */
const defaults = new WeakMap<TcpConfig, Readonly<TcpConnectionOptions>>();

/** The shared, frozen options record of connections made with `config`. */
function defaultOptions(config: TcpConfig): Readonly<TcpConnectionOptions> {
  let options = defaults.get(config);
  if (options === undefined) {
    options = Object.freeze({
      noDelay: false,
      userTimeoutMs: config.userTimeoutMs,
      maxSegmentSize: 0,
      lingerZero: false,
      receiveBufferLocked: false,
      ttl: undefined,
      tos: 0,
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      dontFragment: true,
      cork: false,
      notSentLowWater: 0,
    });
    defaults.set(config, options);
  }
  return options;
}

/**
 * The demultiplexing key of a 4-tuple. IPv4's: its 96 bits as six 16-bit code units (not for
 * display; built and hashed for every arriving segment, it costs a quarter of a decimal
 * `a:p>b:q` string). IPv6's: the addresses' text with the ports, longer than six units, so the
 * two families never share a key.
 */
export function connectionKey(localAddress: IpAddress, localPort: number, remoteAddress: IpAddress, remotePort: number): string {
  if (typeof localAddress === 'number' && typeof remoteAddress === 'number') {
    return String.fromCharCode(localAddress >>> 16, localAddress & 0xffff, localPort, remoteAddress >>> 16, remoteAddress & 0xffff, remotePort);
  }
  return `${localAddress}|${localPort}|${remoteAddress}|${remotePort}`;
}
