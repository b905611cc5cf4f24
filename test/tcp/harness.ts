/**
 * State tests for TCP in the manner of smoltcp's socket tests and gVisor's checkers: a whole
 * Stack (10.0.0.1) on a link that captures what it sends, a hand-driven peer (10.0.0.2) whose
 * segments are real bytes with correct checksums entering through IP input, and virtual time
 * that moves only when the test says so.
 *
 *     const h = established();
 *     h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
 *     h.expectNothingSent();                      // delayed ACK
 *     h.advance(40);
 *     h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(100)));
 *
 * Fixtures put a connection in each RFC 9293 state by real segment exchanges, in the manner of
 * smoltcp's `socket_established()`: the peer's ISN is chosen (`peerIss`), ours is read from the
 * connection (`iss`); `ourSeq(n)` / `peerSeq(n)` give the sequence number of data byte `n` of
 * each direction (byte 0 follows the SYN).
 */
import { expect } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import type { ErrnoCode } from '../../src/core/errno.js';
import type { Ipv4Address } from '../../src/ip/address.js';
import { emitIcmpv4, icmpv4Length } from '../../src/ip/icmpv4.js';
import { IpProtocol, Ipv4Packet, parseIpv4, type Ipv4Repr } from '../../src/ip/ipv4.js';
import type { FrameReceiver, Link } from '../../src/link/link.js';
import { Stack } from '../../src/socket-api/stack.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import type { TcpConnection, TcpState } from '../../src/tcp/connection.js';
import { summarizeOptions, type SegmentOptions } from '../../src/tcp/segment.js';
import { seqAdd } from '../../src/tcp/seq.js';
import type { TcpListener } from '../../src/tcp/tcp-layer.js';
import type { SackBlock, TcpOption } from '../../src/tcp/tcp-options.js';
import { emitTcp, formatTcpFlags, parseTcp, TcpFlag, tcpLength, TcpPacket, type TcpRepr } from '../../src/tcp/tcp-packet.js';
import { armKeepalive } from '../../src/tcp/timers.js';
import { addr, ipv4Frame, pattern } from '../support/packets.js';

export const { FIN, SYN, RST, PSH, ACK, URG, ECE, CWR } = TcpFlag;

/** Our address and the peer's. */
export const OUR_ADDRESS = addr('10.0.0.1');
export const PEER_ADDRESS = addr('10.0.0.2');
/** Ports of a passive open (we listen on 80) and of an active open (we connect from 49152 to 80). */
export const LISTEN_PORT = 80;
export const PEER_CLIENT_PORT = 40000;
export const CONNECT_PORT = 49152;

/** The peer's ISN unless a test chooses another. */
export const DEFAULT_PEER_ISS = 1_000_000;

// ---- the capturing link --------------------------------------------------------------------

/** A frame the stack handed to its link, and when. */
interface CapturedFrame {
  readonly frame: Uint8Array;
  readonly time: number;
}

/** A Link that keeps every frame the stack transmits. */
class CaptureLink implements Link {
  readonly name = 'capture';
  readonly medium = 'ip' as const;
  readonly frames: CapturedFrame[] = [];
  receiver: FrameReceiver | null = null;

  constructor(readonly mtu: number) {}

  transmit(frame: Uint8Array, now: number): void {
    this.frames.push({ frame: frame.slice(), time: now });
  }
  setReceiver(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }
  pollAt(): number {
    return Infinity;
  }
  poll(): void {}
}

// ---- what the stack sent ---------------------------------------------------------------------

/** A TCP segment the stack sent, decoded (its IP and TCP checksums verified). */
export interface Sent {
  readonly time: number;
  readonly ip: Ipv4Repr;
  readonly tcp: TcpRepr;
  /** Options by meaning. */
  readonly opts: SegmentOptions;
  /** The whole IP packet, for quoting in an ICMP error. */
  readonly frame: Uint8Array;
}

/** One line for a segment: `t=40 ACK seq=… ack=… win=… len=… [options]`. */
export function describeSegment(s: Sent): string {
  const t = s.tcp;
  const options = t.options
    .map((o) => {
      switch (o.kind) {
        case 'maxSegmentSize':
          return `mss ${o.mss}`;
        case 'windowScale':
          return `wscale ${o.shiftCount}`;
        case 'sackPermitted':
          return 'sackOK';
        case 'timestamps':
          return `TS ${o.tsVal}/${o.tsEcr}`;
        case 'sack':
          return `sack ${o.blocks.map((b) => `${b.leftEdge}-${b.rightEdge}`).join(',')}`;
        case 'noOperation':
          return 'nop';
        default:
          return o.kind;
      }
    })
    .join(',');
  return `t=${s.time} ${formatTcpFlags(t.flags)} ${t.srcPort}>${t.dstPort} seq=${t.seq} ack=${t.ack} win=${t.window} len=${t.payload.length}${options ? ` [${options}]` : ''}`;
}

/** A check on a sent segment (gVisor's `checker.TCP(...)` in spirit). */
export interface SegmentCheck {
  readonly name: string;
  /** Null when the segment passes, else what was wrong. */
  readonly test: (s: Sent) => string | null;
}

function check(name: string, actual: (s: Sent) => unknown, expected: unknown): SegmentCheck {
  return {
    name,
    test: (s) => {
      const value = actual(s);
      try {
        expect(value).toEqual(expected);
        return null;
      } catch {
        return `${name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(value)}`;
      }
    },
  };
}

/** Exactly these flags (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR bits). */
export const flags = (expected: number): SegmentCheck => ({
  name: 'flags',
  test: (s) => (s.tcp.flags === expected ? null : `flags: expected ${formatTcpFlags(expected)}, got ${formatTcpFlags(s.tcp.flags)}`),
});
/** SEG.SEQ. */
export const seq = (expected: number): SegmentCheck => check('seq', (s) => s.tcp.seq, expected >>> 0);
/** SEG.ACK. */
export const ack = (expected: number): SegmentCheck => check('ack', (s) => s.tcp.ack, expected >>> 0);
/** The window field as sent (unscaled). */
export const window = (expected: number): SegmentCheck => check('window', (s) => s.tcp.window, expected);
/** Data length. */
export const payloadLength = (expected: number): SegmentCheck => check('payload length', (s) => s.tcp.payload.length, expected);
/** Exactly these data bytes. */
export const payload = (expected: Uint8Array): SegmentCheck => check('payload', (s) => [...s.tcp.payload], [...expected]);
/** Exactly this option list, in order. */
export const options = (expected: readonly TcpOption[]): SegmentCheck => check('options', (s) => s.tcp.options, expected);
/** No options at all. */
export const noOptions = (): SegmentCheck => check('options', (s) => s.tcp.options, []);
/** The option kinds in order (`['maxSegmentSize', 'sackPermitted', …]`). */
export const optionKinds = (expected: readonly string[]): SegmentCheck => check('option kinds', (s) => s.tcp.options.map((o) => o.kind), expected);
/** The MSS option's value (undefined: none). */
export const mss = (expected: number | undefined): SegmentCheck => check('mss option', (s) => s.opts.mss, expected);
/** The window-scale option's shift (undefined: none). */
export const windowScale = (expected: number | undefined): SegmentCheck => check('window scale option', (s) => s.opts.windowScale, expected);
/** Whether SACK-permitted is present. */
export const sackPermitted = (expected: boolean): SegmentCheck => check('SACK-permitted option', (s) => s.opts.sackPermitted, expected);
/** The SACK blocks (an empty list: no SACK option). */
export const sackBlocks = (expected: readonly SackBlock[]): SegmentCheck =>
  check('SACK blocks', (s) => s.opts.sackBlocks, expected.map((b) => ({ leftEdge: b.leftEdge >>> 0, rightEdge: b.rightEdge >>> 0 })));
/** The timestamps option: fields given are compared; `undefined` means none. */
export const timestamps = (expected: { tsVal?: number; tsEcr?: number } | undefined): SegmentCheck => ({
  name: 'timestamps',
  test: (s) => {
    const ts = s.opts.timestamps;
    if (expected === undefined) return ts === undefined ? null : `timestamps: expected none, got ${JSON.stringify(ts)}`;
    if (ts === undefined) return 'timestamps: expected the option, got none';
    if (expected.tsVal !== undefined && ts.tsVal !== expected.tsVal >>> 0) return `timestamps: TSval ${ts.tsVal}, expected ${expected.tsVal >>> 0}`;
    if (expected.tsEcr !== undefined && ts.tsEcr !== expected.tsEcr >>> 0) return `timestamps: TSecr ${ts.tsEcr}, expected ${expected.tsEcr >>> 0}`;
    return null;
  },
});
/** When it was sent (virtual ms). */
export const sentAt = (expected: number): SegmentCheck => check('time', (s) => s.time, expected);
/** Ports. */
export const ports = (src: number, dst: number): SegmentCheck => check('ports', (s) => [s.tcp.srcPort, s.tcp.dstPort], [src, dst]);

/** Throws with a readable account unless `s` passes every check. */
export function checkSegment(s: Sent, ...checks: SegmentCheck[]): Sent {
  const failures = checks.map((c) => c.test(s)).filter((m): m is string => m !== null);
  if (failures.length > 0) throw new Error(`segment ${describeSegment(s)}\n  ${failures.join('\n  ')}`);
  return s;
}

// ---- the peer's segments ---------------------------------------------------------------------

/** A segment from the peer; everything but seq and flags has a default. */
export interface PeerSegment {
  readonly seq: number;
  readonly ack?: number;
  readonly flags: number;
  /** Window field as sent (scaled by the peer's shift); 65535 by default. */
  readonly window?: number;
  /** Options as sent; by default none, or a timestamps option when the peer uses them. */
  readonly options?: readonly TcpOption[];
  /** Data, or a length for `pattern(length)`. */
  readonly payload?: Uint8Array | number;
  readonly urgentPointer?: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** IP ECN bits (3 = CE). */
  readonly ecn?: number;
}

/** Settings of a harness. */
export interface HarnessOptions {
  readonly tcp?: Partial<TcpConfig>;
  /** MTU of our link (1500). */
  readonly mtu?: number;
  readonly seed?: number;
}

/** Callbacks seen from the connection under test, in order. */
export type ConnectionEvent = 'connect' | 'readable' | `close:${ErrnoCode | 'ok'}`;

/** One stack, one captured link, one hand-driven peer, virtual time. */
export class TcpHarness {
  readonly stack: Stack;
  private readonly link: CaptureLink;
  private captured = 0;
  now = 0;
  /** The connection under test (set by the fixtures, or by `connect` / `accept`). */
  connection: TcpConnection | null = null;
  listener: TcpListener | null = null;
  /** Our port and the peer's, used as defaults by `send`. */
  ourPort = LISTEN_PORT;
  peerPort = PEER_CLIENT_PORT;
  /** The peer's ISN. */
  peerIss = DEFAULT_PEER_ISS;
  /** When set, `send` adds a timestamps option (peer clock = peerTsBase + now) to segments that give none. */
  peerTimestamps = false;
  peerTsBase = 5_000_000;
  /** Callbacks of `connection` (and of the connection accepted from `listener`). */
  readonly events: ConnectionEvent[] = [];
  /** What onClose reported: undefined while open, null for a normal close. */
  closedWith: ErrnoCode | null | undefined = undefined;

  constructor(options: HarnessOptions = {}) {
    this.stack = new Stack({ name: 'us', seed: options.seed ?? 7, tcp: options.tcp, loopback: false });
    this.link = new CaptureLink(options.mtu ?? 1500);
    this.stack.addInterface({ name: 'eth0', link: this.link, address: '10.0.0.1/24' });
  }

  // ---- sequence numbers ----

  /** The connection under test; throws when there is none. */
  get conn(): TcpConnection {
    if (!this.connection) throw new Error('no connection under test');
    return this.connection;
  }
  /** Our ISN. */
  get iss(): number {
    return this.conn.iss;
  }
  /** The sequence number of our data byte `n` (0 follows our SYN). */
  ourSeq(n: number): number {
    return seqAdd(this.iss, 1 + n);
  }
  /** The sequence number of the peer's data byte `n` (0 follows its SYN). */
  peerSeq(n: number): number {
    return seqAdd(this.peerIss, 1 + n);
  }
  /** The peer's timestamp clock now. */
  peerTsVal(): number {
    return (this.peerTsBase + this.now) >>> 0;
  }
  /** Our timestamp clock now (what our TSval reads). */
  ourTsVal(): number {
    return this.conn.tsNow(this.now);
  }
  /** TSval of the last segment we sent that carried one (what the peer echoes). */
  lastOurTsVal = 0;

  // ---- input ----

  /** Injects a segment from the peer at `now` through IP input, then flushes what the stack sends. */
  send(segment: PeerSegment): void {
    const data = typeof segment.payload === 'number' ? pattern(segment.payload) : (segment.payload ?? new Uint8Array(0));
    let segmentOptions = segment.options;
    if (segmentOptions === undefined) {
      segmentOptions = this.peerTimestamps
        ? [{ kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'timestamps', tsVal: this.peerTsVal(), tsEcr: this.lastOurTsVal }]
        : [];
    }
    const repr: TcpRepr = {
      srcPort: segment.srcPort ?? this.peerPort,
      dstPort: segment.dstPort ?? this.ourPort,
      seq: segment.seq >>> 0,
      ack: (segment.ack ?? 0) >>> 0,
      flags: segment.flags,
      window: segment.window ?? 65535,
      urgentPointer: segment.urgentPointer ?? 0,
      options: segmentOptions,
      payload: data,
    };
    const bytes = new Uint8Array(tcpLength(repr));
    emitTcp(repr, bytes, { source: PEER_ADDRESS, destination: OUR_ADDRESS });
    this.inject(ipv4Frame({ source: PEER_ADDRESS, destination: OUR_ADDRESS, protocol: IpProtocol.TCP, ecn: segment.ecn ?? 0, dontFragment: true }, bytes));
  }

  /** Injects a whole IP packet from the peer's side. */
  inject(frame: Uint8Array): void {
    this.stack.receive('eth0', frame, this.now);
    this.stack.poll(this.now);
  }

  /**
   * An ICMP Destination Unreachable from `reporter` about `about` (a segment we sent), quoting
   * its IP header and `quoteBytes` of TCP (8 as RFC 792; Linux quotes more).
   */
  sendIcmpUnreachable(about: Sent, code: number, nextHopMtu = 0, reporter: Ipv4Address = PEER_ADDRESS, quoteBytes = 8): void {
    const headerLength = (about.frame[0] & 0x0f) * 4;
    const quoted = about.frame.subarray(0, headerLength + quoteBytes);
    const repr = { kind: 'destinationUnreachable', code, nextHopMtu, quoted } as const;
    const icmp = new Uint8Array(icmpv4Length(repr));
    emitIcmpv4(repr, icmp);
    this.inject(ipv4Frame({ source: reporter, destination: OUR_ADDRESS, protocol: IpProtocol.ICMP }, icmp));
  }

  // ---- time ----

  /** Moves virtual time forward by `ms`, firing every timer due on the way at its own time. */
  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }

  /** Moves virtual time to `time`, firing every timer due on the way at its own time. */
  advanceTo(time: number): void {
    if (time < this.now) throw new Error(`advanceTo(${time}) is in the past (now ${this.now})`);
    for (let steps = 0; steps < 100_000; steps++) {
      const next = this.stack.pollAt();
      if (next > time) break;
      this.now = Math.max(this.now, next);
      this.stack.poll(this.now);
    }
    this.now = time;
    this.stack.poll(this.now);
  }

  // ---- output ----

  /** Every TCP segment sent since the last take, decoded; throws on anything that is not TCP. */
  take(): Sent[] {
    this.stack.poll(this.now); // what user calls queued goes out in the next poll
    const out: Sent[] = [];
    for (const { frame, time } of this.link.frames.splice(0)) out.push(this.decode(frame, time));
    for (const s of out) if (s.opts.timestamps) this.lastOurTsVal = s.opts.timestamps.tsVal;
    return out;
  }

  /** Raw frames sent since the last take (for non-TCP output such as ICMP). */
  takeFrames(): Uint8Array[] {
    this.stack.poll(this.now);
    return this.link.frames.splice(0).map((f) => f.frame);
  }

  /** Asserts that exactly one segment was sent and that it passes `checks`; returns it. */
  expectSent(...checks: SegmentCheck[]): Sent {
    const sent = this.take();
    if (sent.length !== 1) throw new Error(`expected one segment, got ${sent.length}:\n  ${sent.map(describeSegment).join('\n  ')}`);
    return checkSegment(sent[0], ...checks);
  }

  /** Asserts the segments sent, one list of checks per segment, in order; returns them. */
  expectSentSequence(...each: SegmentCheck[][]): Sent[] {
    const sent = this.take();
    if (sent.length !== each.length) {
      throw new Error(`expected ${each.length} segments, got ${sent.length}:\n  ${sent.map(describeSegment).join('\n  ')}`);
    }
    sent.forEach((s, i) => checkSegment(s, ...each[i]));
    return sent;
  }

  /** Asserts that nothing was sent. */
  expectNothingSent(): void {
    const sent = this.take();
    if (sent.length > 0) throw new Error(`expected nothing sent, got:\n  ${sent.map(describeSegment).join('\n  ')}`);
  }

  private decode(frame: Uint8Array, time: number): Sent {
    const packet = unwrap(Ipv4Packet.checked(frame));
    const ip = unwrap(parseIpv4(packet));
    if (ip.protocol !== IpProtocol.TCP) throw new Error(`the stack sent a non-TCP packet (protocol ${ip.protocol}); use takeFrames()`);
    const segmentBytes = frame.subarray(packet.headerLength, packet.totalLength);
    const tcp = unwrap(parseTcp(unwrap(TcpPacket.checked(segmentBytes)), { source: ip.source, destination: ip.destination }));
    return { time, ip, tcp, opts: summarizeOptions(tcp.options), frame };
  }

  // ---- the connection under test ----

  /** Makes `connection` the one under test and records its callbacks in `events`. */
  watch(connection: TcpConnection): TcpConnection {
    this.connection = connection;
    connection.events = {
      onConnect: () => this.events.push('connect'),
      onReadable: () => this.events.push('readable'),
      onClose: (error) => {
        this.events.push(`close:${error ?? 'ok'}`);
        this.closedWith = error;
      },
    };
    return connection;
  }

  /** Asserts the connection's state. */
  expectState(state: TcpState): void {
    expect(this.conn.state, `connection state`).toBe(state);
  }

  /** Whether the layer still holds a connection for our 4-tuple. */
  get inTable(): boolean {
    return this.stack.tcp.listConnections().some((c) => c.localPort === this.ourPort && c.remotePort === this.peerPort);
  }

  /** SO_KEEPALIVE on, as setsockopt would do it (arms the timer at once). */
  setKeepalive(idleMs?: number, intervalMs?: number, count?: number): void {
    const o = this.conn.options;
    o.keepalive = true;
    if (idleMs !== undefined) o.keepaliveIdleMs = idleMs;
    if (intervalMs !== undefined) o.keepaliveIntervalMs = intervalMs;
    if (count !== undefined) o.keepaliveCount = count;
    armKeepalive(this.conn, this.now);
  }

  /** The flags of our SYN: SYN, with ECE and CWR when the stack asks for ECN (RFC 3168 §6.1.1). */
  get synFlags(): number {
    return SYN | (this.stack.tcp.config.ecn ? ECE | CWR : 0);
  }

  /** Reads everything readable. */
  read(): Uint8Array {
    return this.conn.receive();
  }

  /** Writes through SEND; returns the bytes accepted. */
  write(data: Uint8Array | number): number {
    return unwrap(this.conn.send(typeof data === 'number' ? pattern(data) : data));
  }

  /** The stack's counter. */
  stat(name: string): number {
    return this.stack.stats.get(name);
  }
}

// ---- options the peer offers on its SYN --------------------------------------------------------

/** SYN options of a minimal peer: an MSS only. */
export function mssOnly(value = 1460): TcpOption[] {
  return [{ kind: 'maxSegmentSize', mss: value }];
}

/** SYN options as Linux sends them: MSS, SACK-permitted, timestamps, NOP, window scale. */
export function linuxSynOptions(tsVal: number, tsEcr = 0, shift = 7, mssValue = 1460): TcpOption[] {
  return [
    { kind: 'maxSegmentSize', mss: mssValue },
    { kind: 'sackPermitted' },
    { kind: 'timestamps', tsVal, tsEcr },
    { kind: 'noOperation' },
    { kind: 'windowScale', shiftCount: shift },
  ];
}

/** A SACK option (with the NOPs Linux puts before it). */
export function sackOption(...blocks: SackBlock[]): TcpOption[] {
  return [{ kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sack', blocks: blocks.map((b) => ({ leftEdge: b.leftEdge >>> 0, rightEdge: b.rightEdge >>> 0 })) }];
}

// ---- fixtures: a connection in each state -----------------------------------------------------

/** How a fixture builds its connection. */
export interface FixtureOptions extends HarnessOptions {
  /** Passive (we listen; default) or active (we connect). */
  readonly open?: 'passive' | 'active';
  /** Options on the peer's SYN or SYN-ACK (default: MSS 1460 only). Timestamps here make the peer use them. */
  readonly peerSynOptions?: readonly TcpOption[];
  readonly peerIss?: number;
  /** The peer's window field on its SYN / SYN-ACK and on its handshake ACK. */
  readonly peerWindow?: number;
  /** Applied to the connection before its SYN is sent (active open only). */
  readonly configure?: (connection: TcpConnection) => void;
  /** Listen backlog (passive open). */
  readonly backlog?: number;
  /**
   * Virtual time between our SYN (or SYN-ACK) and the segment acknowledging it: the handshake's
   * RTT sample. 0 by default, which gives SRTT 1 ms and the 200 ms minimum RTO.
   */
  readonly handshakeRttMs?: number;
}

function newHarness(options: FixtureOptions): TcpHarness {
  const h = new TcpHarness(options);
  if (options.peerIss !== undefined) h.peerIss = options.peerIss >>> 0;
  return h;
}

function peerUsesTimestamps(options: FixtureOptions): boolean {
  return (options.peerSynOptions ?? []).some((o) => o.kind === 'timestamps');
}

/** LISTEN on port 80: `h.listener`; no connection yet. */
export function listening(options: FixtureOptions = {}): TcpHarness {
  const h = newHarness(options);
  h.listener = unwrap(h.stack.tcp.listen(0, LISTEN_PORT, options.backlog));
  h.ourPort = LISTEN_PORT;
  h.peerPort = PEER_CLIENT_PORT;
  h.listener.onAcceptable = () => {
    const accepted = h.listener!.accept();
    if (accepted) h.watch(accepted);
  };
  return h;
}

/** SYN-SENT: we connected from 49152 to the peer's port 80; our SYN has been taken (`h.ourSyn`). */
export function synSent(options: FixtureOptions = {}): TcpHarness & { ourSyn: Sent } {
  const h = newHarness(options);
  h.ourPort = CONNECT_PORT;
  h.peerPort = LISTEN_PORT;
  const connection = unwrap(h.stack.tcp.connect(PEER_ADDRESS, LISTEN_PORT, { localPort: CONNECT_PORT, configure: options.configure }));
  h.watch(connection);
  const ourSyn = h.expectSent(flags(h.synFlags), seq(connection.iss));
  h.expectState('SYN-SENT');
  return Object.assign(h, { ourSyn });
}

/**
 * SYN-RECEIVED. Passive: the peer's SYN arrived at our listener and our SYN-ACK was taken
 * (`h.ourSynAck`). Active: simultaneous open, our SYN crossed the peer's SYN.
 */
export function synReceived(options: FixtureOptions = {}): TcpHarness & { ourSynAck: Sent } {
  if (options.open === 'active') {
    const h = synSent(options);
    h.peerTimestamps = peerUsesTimestamps(options);
    h.send({ seq: h.peerIss, flags: SYN, window: options.peerWindow, options: options.peerSynOptions ?? mssOnly() });
    const ourSynAck = h.expectSent(flags(SYN | ACK), seq(h.iss), ack(h.peerSeq(0)));
    h.expectState('SYN-RECEIVED');
    return Object.assign(h, { ourSynAck });
  }
  const h = listening(options);
  h.peerTimestamps = peerUsesTimestamps(options);
  h.send({ seq: h.peerIss, flags: SYN, window: options.peerWindow, options: options.peerSynOptions ?? mssOnly() });
  const ourSynAck = h.take();
  if (ourSynAck.length !== 1) throw new Error(`synReceived: expected a SYN-ACK, got ${ourSynAck.length} segments`);
  const connection = h.stack.tcp.listConnections().find((c) => c.remotePort === PEER_CLIENT_PORT);
  if (!connection) throw new Error('synReceived: no half-open connection');
  h.watch(connection);
  checkSegment(ourSynAck[0], flags(SYN | ACK), seq(connection.iss), ack(h.peerSeq(0)));
  h.expectState('SYN-RECEIVED');
  return Object.assign(h, { ourSynAck: ourSynAck[0] });
}

/** ESTABLISHED by a three-way handshake (passive by default; `open: 'active'` connects). */
export function established(options: FixtureOptions = {}): TcpHarness {
  if (options.open === 'active') {
    const h = synSent(options);
    h.peerTimestamps = peerUsesTimestamps(options);
    h.advance(options.handshakeRttMs ?? 0);
    h.send({ seq: h.peerIss, ack: h.ourSeq(0), flags: SYN | ACK, window: options.peerWindow, options: options.peerSynOptions ?? mssOnly() });
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
    h.expectState('ESTABLISHED');
    h.events.length = 0;
    return h;
  }
  const h = synReceived(options);
  h.advance(options.handshakeRttMs ?? 0);
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: options.peerWindow });
  h.expectNothingSent();
  h.expectState('ESTABLISHED');
  if (h.listener!.acceptQueue.length !== 0) throw new Error('established: the connection was not accepted');
  h.events.length = 0;
  return h;
}

/** FIN-WAIT-1: established, then the user closed; our FIN (seq ourSeq(0)) was taken. */
export function finWait1(options: FixtureOptions = {}): TcpHarness {
  const h = established(options);
  h.conn.close();
  h.expectSent(flags(FIN | ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
  h.expectState('FIN-WAIT-1');
  return h;
}

/** FIN-WAIT-2: the peer acknowledged our FIN. */
export function finWait2(options: FixtureOptions = {}): TcpHarness {
  const h = finWait1(options);
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: ACK });
  h.expectNothingSent();
  h.expectState('FIN-WAIT-2');
  return h;
}

/** TIME-WAIT: the peer's FIN (seq peerSeq(0)) arrived in FIN-WAIT-2 and was acknowledged. */
export function timeWait(options: FixtureOptions = {}): TcpHarness {
  const h = finWait2(options);
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: FIN | ACK });
  h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(1)));
  h.expectState('TIME-WAIT');
  return h;
}

/** CLOSE-WAIT: the peer's FIN (seq peerSeq(0)) arrived in ESTABLISHED and was acknowledged. */
export function closeWait(options: FixtureOptions = {}): TcpHarness {
  const h = established(options);
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: FIN | ACK });
  h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(1)));
  h.expectState('CLOSE-WAIT');
  h.events.length = 0;
  return h;
}

/** LAST-ACK: in CLOSE-WAIT the user closed; our FIN (seq ourSeq(0)) was taken. */
export function lastAck(options: FixtureOptions = {}): TcpHarness {
  const h = closeWait(options);
  h.conn.close();
  h.expectSent(flags(FIN | ACK), seq(h.ourSeq(0)), ack(h.peerSeq(1)));
  h.expectState('LAST-ACK');
  return h;
}

/** CLOSING: our FIN crossed the peer's FIN, which did not acknowledge ours. */
export function closing(options: FixtureOptions = {}): TcpHarness {
  const h = finWait1(options);
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: FIN | ACK });
  h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(1)));
  h.expectState('CLOSING');
  return h;
}

/** Every synchronized state, with how to build it, for tests that cover them all. */
export const SYNCHRONIZED_FIXTURES: ReadonlyArray<readonly [TcpState, (options?: FixtureOptions) => TcpHarness]> = [
  ['ESTABLISHED', established],
  ['FIN-WAIT-1', finWait1],
  ['FIN-WAIT-2', finWait2],
  ['CLOSE-WAIT', closeWait],
  ['CLOSING', closing],
  ['LAST-ACK', lastAck],
  ['TIME-WAIT', timeWait],
];

/**
 * The gaps between successive backed-off timeouts starting from `rto`: 2·rto, 4·rto, … capped
 * at 120 s (RFC 6298 §5.5 with Linux's TCP_RTO_MAX).
 */
export function doublingCappedAt120s(rto: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.min(rto * 2 ** (i + 1), 120_000));
}

/** Times of `count` backed-off timeouts after `start`: start + rto, + 2·rto, … (capped at 120 s). */
export function backoffTimes(start: number, rto: number, count: number): number[] {
  const times: number[] = [];
  let t = start;
  for (let i = 0; i < count; i++) {
    t += Math.min(rto * 2 ** i, 120_000);
    times.push(t);
  }
  return times;
}

/** RCV.NXT of the connection under test, as the fixture left it. */
export function rcvNxt(h: TcpHarness): number {
  return h.conn.rcvNxt;
}

/** SND.NXT of the connection under test. */
export function sndNxt(h: TcpHarness): number {
  return h.conn.sndNxt;
}
