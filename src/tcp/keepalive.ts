/**
 * TCP keep-alive (RFC 1122 §4.2.3.6, RFC 9293 §3.8.4): the settings, the probes sent, when the
 * next probe is due and what the timer does when it fires. The deadline is the connection's
 * `keepaliveDeadline` (deadlines.ts, the mechanism); only this owner sets it.
 *
 * When the timer runs follows Linux, option by option:
 * - SO_KEEPALIVE turned on (tcp_set_keepalive): the timer starts from now, a whole idle time
 *   ahead. Turning it on while on changes nothing; turning it off stops the timer.
 * - TCP_KEEPIDLE while on (tcp_sock_set_keepidle_locked): the timer is re-armed for what is left
 *   of the new idle time since a segment last arrived (keepalive_time_elapsed), at once if
 *   nothing is left.
 * - TCP_KEEPINTVL and TCP_KEEPCNT: used from the next probe on; the timer is left as it is.
 * - A segment arrives, or the handshake completes: the idle time starts over and the count of
 *   unanswered probes returns to zero.
 * Only a synchronized connection runs the timer, and not in TIME-WAIT (Linux's socket is CLOSE
 * by then); on a connection still opening the settings wait for the handshake's end.
 */
import { NO_BYTES } from '../core/bytes.js';
import type { TcpConnection } from './connection.js';
import { sendReset, transmitSegment } from './output.js';
import { seqAdd } from './seq.js';
import { TcpFlag } from './tcp-packet.js';

/** The keep-alive settings a socket option or the Node handle changes; an absent field stays. */
export interface KeepaliveSettings {
  /** SO_KEEPALIVE. */
  readonly enabled?: boolean;
  /** TCP_KEEPIDLE: quiet time before the first probe (ms). */
  readonly idleMs?: number;
  /** TCP_KEEPINTVL: time between unanswered probes (ms). */
  readonly intervalMs?: number;
  /** TCP_KEEPCNT: unanswered probes before the connection is dropped. */
  readonly count?: number;
}

/** One connection's keep-alive: settings, probes and timer. */
export class Keepalive {
  /** SO_KEEPALIVE: probe an idle connection. */
  enabled = false;
  /** TCP_KEEPIDLE (ms); the stack's `keepaliveIdleMs` until set. */
  idleMs: number;
  /** TCP_KEEPINTVL (ms); the stack's `keepaliveIntervalMs` until set. */
  intervalMs: number;
  /** TCP_KEEPCNT; the stack's `keepaliveCount` until set. */
  count: number;
  /** Probes sent since a segment last arrived (TCP_INFO's probes counts them). */
  probesSent = 0;

  constructor(private readonly connection: TcpConnection) {
    const config = connection.host.config;
    this.idleMs = config.keepaliveIdleMs;
    this.intervalMs = config.keepaliveIntervalMs;
    this.count = config.keepaliveCount;
  }

  /** Off, with the stack's settings and no probe sent: the same as a new Keepalive. */
  get unused(): boolean {
    const config = this.connection.host.config;
    return (
      !this.enabled &&
      this.probesSent === 0 &&
      this.idleMs === config.keepaliveIdleMs &&
      this.intervalMs === config.keepaliveIntervalMs &&
      this.count === config.keepaliveCount
    );
  }

  /**
   * Applies `settings` as the socket options would, in libuv's order (uv__tcp_keepalive):
   * SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, each with its Linux effect.
   */
  configure(settings: KeepaliveSettings, now: number): void {
    if (settings.enabled !== undefined) this.setEnabled(settings.enabled, now);
    if (settings.idleMs !== undefined) this.setIdle(settings.idleMs, now);
    if (settings.intervalMs !== undefined) this.intervalMs = settings.intervalMs;
    if (settings.count !== undefined) this.count = settings.count;
  }

  /** SO_KEEPALIVE (Linux's tcp_set_keepalive): on starts the timer a whole idle time from now; off stops it. */
  setEnabled(on: boolean, now: number): void {
    if (on === this.enabled) return;
    this.enabled = on;
    this.connection.keepaliveDeadline = on && this.running ? now + this.idleMs : Infinity;
  }

  /**
   * TCP_KEEPIDLE: while on, the timer fires when the new idle time has passed since a segment
   * last arrived, or now if it has already (Linux's keepalive_time_elapsed).
   */
  setIdle(ms: number, now: number): void {
    this.idleMs = ms;
    if (!this.enabled || !this.running) return;
    const quietFor = now - this.connection.lastReceiveAt;
    this.connection.keepaliveDeadline = now + Math.max(0, ms - quietFor);
  }

  /** The peer was heard (a segment arrived, or the handshake completed): a whole idle time starts over. */
  restart(now: number): void {
    this.probesSent = 0;
    this.connection.keepaliveDeadline = this.enabled && this.running ? now + this.idleMs : Infinity;
  }

  /**
   * The timer fired: a probe with SEG.SEQ = SND.UNA−1 and no data (as Linux sends it; RFC 1122
   * §4.2.3.6 allows one garbage octet instead), the next one an interval later; after `count`
   * unanswered probes the connection is reset and fails with ETIMEDOUT (or the soft ICMP error
   * seen meanwhile, RFC 1122 §4.2.3.9).
   */
  onTimer(now: number): void {
    const connection = this.connection;
    if (!this.enabled || !this.running) {
      connection.keepaliveDeadline = Infinity;
      return;
    }
    if (connection.inFlight.length > 0 || connection.sendBuffer.length > 0) {
      // Data waiting: the retransmission or persist timer watches the peer (Linux reschedules
      // the keepalive timer while packets are out or queued).
      this.probesSent = 0;
      connection.keepaliveDeadline = now + this.idleMs;
      return;
    }
    if (this.probesSent >= this.count) {
      connection.stats.increment('tcp.keepalive.timeout');
      // Linux resets the connection (tcp_send_active_reset): a peer that lost only our probes'
      // answers, or came back without state, learns that the connection is gone.
      connection.stats.increment('tcp.tx.resets');
      sendReset(connection, now, 0);
      connection.closeWithError(connection.softError ?? 'ETIMEDOUT');
      return;
    }
    this.probesSent++;
    connection.stats.increment('tcp.tx.keepaliveProbes');
    transmitSegment(connection, now, seqAdd(connection.sndUna, -1), TcpFlag.ACK, NO_BYTES);
    connection.keepaliveDeadline = now + this.intervalMs;
  }

  /** Whether the timer may run: synchronized, and not TIME-WAIT. */
  private get running(): boolean {
    return this.connection.synchronized && this.connection.state !== 'TIME-WAIT';
  }
}
