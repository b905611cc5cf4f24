/**
 * The harness: one Stack (10.0.0.1) whose only link captures what it sends, a hand-driven peer
 * (10.0.0.2) whose segments are real bytes with correct checksums entering through IP input,
 * and virtual time that moves only when the test says so.
 */
import { expect } from 'vitest';
import { unwrap } from '../../../src/core/result.js';
import type { ErrnoCode } from '../../../src/core/errno.js';
import type { Ipv4Address } from '../../../src/ip/address.js';
import { emitIcmpv4, icmpv4Length } from '../../../src/ip/icmpv4.js';
import { IpProtocol, Ipv4Packet, parseIpv4 } from '../../../src/ip/ipv4.js';
import type { FrameReceiver, Link } from '../../../src/link/link.js';
import type { CounterName } from '../../../src/socket-api/counters.js';
import { Stack } from '../../../src/socket-api/stack.js';
import { ecnMode, type TcpConfig } from '../../../src/tcp/config.js';
import type { TcpConnection, TcpState } from '../../../src/tcp/connection.js';
import { summarizeOptions } from '../../../src/tcp/segment.js';
import { seqAdd } from '../../../src/tcp/seq.js';
import type { TcpListener } from '../../../src/tcp/tcp-layer.js';
import type { SackBlock, TcpOption } from '../../../src/tcp/tcp-options.js';
import { emitTcp, parseTcp, tcpLength, TcpPacket, type TcpRepr } from '../../../src/tcp/tcp-packet.js';
import { addr, ipv4Frame, pattern } from '../../support/packets.js';
import { checkSegment, CWR, describeSegment, ECE, SYN, type SegmentCheck, type Sent } from './segment-checks.js';

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
    return this.conn.timestamps.tsVal(this.now);
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

  /** Whether the layer still holds a connection for our 4-tuple (a TIME-WAIT record included). */
  get inTable(): boolean {
    const tcp = this.stack.tcp;
    return [...tcp.listConnections(), ...tcp.listTimeWait()].some((c) => c.localPort === this.ourPort && c.remotePort === this.peerPort);
  }

  /** SO_KEEPALIVE on, then TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT when given, as setsockopt does them (keepalive.ts). */
  setKeepalive(idleMs?: number, intervalMs?: number, count?: number): void {
    this.conn.setKeepalive({ enabled: true, idleMs, intervalMs, count });
  }

  /** The flags of our SYN: SYN, with ECE and CWR when the stack asks for ECN (RFC 3168 §6.1.1). */
  get synFlags(): number {
    return SYN | (ecnMode(this.stack.tcp.config) === 'on' ? ECE | CWR : 0);
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
  stat(name: CounterName): number {
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
  return [
    { kind: 'noOperation' },
    { kind: 'noOperation' },
    { kind: 'sack', blocks: blocks.map((b) => ({ leftEdge: b.leftEdge >>> 0, rightEdge: b.rightEdge >>> 0 })) },
  ];
}

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
