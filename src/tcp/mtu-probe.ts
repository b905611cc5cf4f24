/**
 * Packetization Layer Path MTU Discovery (RFC 4821), as Linux's tcp_mtu_probe does it when
 * tcp_mtu_probing = 2 (TcpConfig.mtuProbing): a binary search for the path MTU between a base
 * (tcp_base_mss plus headers, RFC 4821 §7.2 search_low) and what the peer's MSS and our
 * interface allow (search_high), by sending one new-data segment of the midpoint size. An ACK
 * that covers it raises search_low and the MSS to it (§7.6.1); its retransmission lowers
 * search_high below it (§7.6.3). The search ends when the range is narrower than
 * `mtuProbeThreshold`, and starts over after `mtuProbeIntervalMs` (§7.7).
 *
 * Linux's conditions for a probe (RFC 4821 §7.4 leaves them open): no probe outstanding, no loss
 * recovery, a congestion window of at least 11 segments, no SACK blocks in our ACKs, enough
 * unsent data for the probe and four more segments (so that a lost probe is noticed by
 * duplicate ACKs), and a send window that takes all of it. When the windows only lack room for
 * now, new data waits so the probe can go first.
 *
 * Departures: a lost probe is recovered as ordinary loss (RFC 4821 §7.6.3 says it should not
 * reduce the congestion window; Linux retransmits it without reducing), and the congestion window
 * keeps its segment count when the MSS grows (Linux scales it to keep its bytes).
 */
import type { TcpConnection } from './connection.js';
import { tcpIpHeaderLength } from './output.js';
import { seqAdd, seqGe, seqLt, seqSub } from './seq.js';

/** Linux's tcp_reordering default: a lost probe must leave this many segments + 1 behind it. */
const REORDERING = 3;

/** Linux's minimum congestion window for a probe (tcp_mtu_probe). */
const MIN_CWND_SEGMENTS = 11;

/** What a connection's search should do with new data now. */
export type ProbeDecision = 'probe' | 'wait' | 'none';

/** The search state of one connection (Linux's icsk_mtup). */
export class MtuProbing {
  /** Largest MTU known to work (RFC 4821 search_low). */
  private low = 0;
  /** Smallest MTU known not to, minus one (search_high). */
  private high = 0;
  /** The probe in flight: its sequence range and size as an MTU. */
  private probe: { readonly start: number; readonly end: number; readonly mtu: number } | null = null;
  /** When the search (re)started or last probed (Linux's probe_timestamp). */
  private searchedAt = 0;
  private started = false;

  constructor(private readonly connection: TcpConnection) {}

  /** The search never started: the same as a new MtuProbing. */
  get unused(): boolean {
    return !this.started && this.probe === null && this.low === 0 && this.high === 0 && this.searchedAt === 0;
  }

  /** TCP/IP headers of each segment: with timestamps their 12 bytes too. */
  private get headers(): number {
    return tcpIpHeaderLength(this.connection.remoteAddress) + (this.connection.timestamps.enabled ? 12 : 0);
  }

  /** RFC 4821 §7.2 initial range: the base MTU up to what the peer's MSS and our link allow. */
  private start(now: number): void {
    const c = this.connection;
    const config = c.host.config;
    this.low = config.mtuProbeBaseMss + this.headers;
    this.high = this.largestMtu();
    this.searchedAt = now;
    this.started = true;
  }

  private largestMtu(): number {
    const c = this.connection;
    const clamp = c.options.maxSegmentSize > 0 ? Math.min(c.peerMss, c.options.maxSegmentSize) : c.peerMss;
    return Math.min(clamp + tcpIpHeaderLength(c.remoteAddress), c.host.interfaceMtu(c.remoteAddress) ?? Infinity);
  }

  /**
   * Before new data leaves: whether to send a probe now, wait (the windows will have room for
   * it soon), or send as usual. `unsent` is the data not yet sent, `inFlightSegments` and
   * `cwndSegments` the congestion state in segments.
   */
  decide(now: number, unsent: number, inFlightSegments: number, cwndSegments: number): ProbeDecision {
    const c = this.connection;
    const config = c.host.config;
    if (!config.mtuProbing || this.probe !== null || !c.recovery.open || cwndSegments < MIN_CWND_SEGMENTS) return 'none';
    if (c.sackEnabled && (c.assembler.holes || c.pendingDsack !== null)) return 'none';
    if (!this.started) this.start(now);
    const mss = c.sendMss;
    const probeMss = ((this.high + this.low) >> 1) - this.headers;
    if (probeMss > this.high - this.headers || this.high - this.low < config.mtuProbeThreshold || probeMss <= mss) {
      // RFC 4821 §7.7: search again once in a while, the path may have changed.
      if (now - this.searchedAt >= config.mtuProbeIntervalMs) {
        this.high = this.largestMtu();
        this.low = mss + this.headers;
        this.searchedAt = now;
      }
      return 'none';
    }
    const needed = probeMss + (REORDERING + 1) * mss;
    if (unsent < needed || c.sndWnd < needed) return 'none';
    if (seqLt(seqAdd(c.sndUna, c.sndWnd), seqAdd(c.sndNxt, needed))) return 'wait';
    if (inFlightSegments + 2 > cwndSegments) return inFlightSegments === 0 ? 'none' : 'wait';
    return 'probe';
  }

  /** The probe left: [start, start + length). */
  sent(start: number, length: number, now: number): void {
    this.probe = { start, end: seqAdd(start, length), mtu: length + this.headers };
    this.searchedAt = now;
    this.connection.stats.increment('tcp.mtuProbe.sent');
  }

  /** An ACK moved SND.UNA: one that covers the probe says the path carries its size (§7.6.1). */
  acknowledged(): void {
    const c = this.connection;
    if (this.probe === null || !seqGe(c.sndUna, this.probe.end)) return;
    this.low = this.probe.mtu;
    this.probe = null;
    c.stats.increment('tcp.mtuProbe.succeeded');
    const pathMss = (c.host.pathMtu(c.remoteAddress) ?? this.low) - this.headers;
    const clamp = c.options.maxSegmentSize > 0 ? Math.min(c.peerMss, c.options.maxSegmentSize) : c.peerMss;
    const mss = Math.min(this.low - this.headers, pathMss, clamp - (c.timestamps.enabled ? 12 : 0));
    if (mss > c.sendMss) {
      c.sendMss = mss;
      c.cc.setMss(mss);
    }
  }

  /** A segment starting at `seq` is retransmitted: if it is the probe, the path did not carry it (§7.6.3). */
  retransmitting(seq: number): void {
    if (this.probe === null || seqLt(seq, this.probe.start) || seqGe(seq, this.probe.end)) return;
    this.high = this.probe.mtu - 1;
    this.probe = null;
    this.connection.stats.increment('tcp.mtuProbe.failed');
  }

  /** The probe's length for `decide`'s 'probe': the midpoint of the range, as data bytes. */
  get probeLength(): number {
    return ((this.high + this.low) >> 1) - this.headers;
  }

  /** Bytes the probe in flight covers beyond SND.UNA, for tests; 0 without one. */
  get outstanding(): number {
    return this.probe === null ? 0 : Math.max(0, seqSub(this.probe.end, this.connection.sndUna));
  }
}
