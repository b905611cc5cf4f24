/**
 * Which in-order data the receiver ACKs at once instead of after the delayed-ACK timer. RFC 1122
 * §4.2.3.2 and RFC 5681 §4.2 say a TCP SHOULD delay ACKs (at most 500 ms, and at least every
 * second full-sized segment is ACKed: input.ts keeps that rule whatever this says). Both modes
 * here ACK sooner at the start of a connection, where a delayed ACK would hold back the peer's
 * slow start (TcpConfig.quickAck):
 *
 * - `push`: a segment with PSH, within the connection's first 16 ACKs.
 * - `linux`: Linux's quickack mode (tcp_incr_quickack, tcp_in_quickack_mode). The first data, data
 *   after an idle gap longer than the RTO (the sender restarts from a small window), and an old
 *   duplicate (our ACK was lost) grant min(16, window / (2·receive MSS)) ACKs, at least 2; while
 *   any remain every data segment is ACKed at once, and each ACK of newly arrived data uses one.
 *   An interactive connection — one that sent data within the delayed-ACK timeout of receiving
 *   some (Linux's pingpong mode) — delays instead, so its replies carry the ACKs; it stops being
 *   interactive when the delayed-ACK timer fires, or when quickack mode is entered again.
 */
import type { QuickAckMode } from './config.js';
import { LinuxReceiveWindow } from './receive-window.js';
import { SackCompression } from './sack-compression.js';

/** Linux's TCP_MAX_QUICKACKS. */
const MAX_QUICK_ACKS = 16;

/** Linux's TCP_MSS_DEFAULT: the receive-MSS estimate before any segment was measured. */
const INITIAL_RECEIVE_MSS = 536;

/** The quick-ACK state of one connection's receiver. */
export class QuickAcks {
  /** ACKs still to send at once (Linux's icsk_ack.quick). */
  remaining: number;
  /** The connection sent data within the delayed-ACK timeout of receiving some (Linux's pingpong mode). */
  interactive = false;
  /** When data last arrived (Linux's icsk_ack.lrcvtime); null before the first. */
  private lastDataAt: number | null = null;
  /** Data arrived since our last ACK (Linux's ICSK_ACK_SCHED): the next ACK uses a quick ACK. */
  private owed = false;
  /** The largest segment received, bounded by the MSS we advertised (Linux's icsk_ack.rcv_mss). */
  private receiveMss = 0;
  /** Which out-of-order segments are ACKed at once (TcpConfig.sackCompression). */
  readonly sackCompression = new SackCompression();
  /** Linux's receive-window state (TcpConfig.receiveWindowGrowth), made when first used. */
  #receiveWindow: LinuxReceiveWindow | null = null;

  constructor(readonly mode: QuickAckMode) {
    this.remaining = mode === 'push' ? MAX_QUICK_ACKS : 0;
  }

  /** No data has arrived yet: the same as a new QuickAcks. */
  get unused(): boolean {
    return (
      this.remaining === (this.mode === 'push' ? MAX_QUICK_ACKS : 0) &&
      !this.interactive &&
      this.lastDataAt === null &&
      !this.owed &&
      this.receiveMss === 0 &&
      this.sackCompression.unused &&
      (this.#receiveWindow === null || this.#receiveWindow.threshold === 0)
    );
  }

  /**
   * A data segment of `length` bytes arrived, in order or not. Returns whether it is ACKed at
   * once. `window` is the receive window last advertised, `advertisedMss` ours, `rto` the
   * current retransmission timeout.
   */
  dataArrived(length: number, push: boolean, window: number, advertisedMss: number, rto: number, now: number): boolean {
    if (this.mode === 'push') return push && this.remaining > 0;
    this.owed = true;
    if (this.receiveMss === 0) this.receiveMss = Math.min(advertisedMss, INITIAL_RECEIVE_MSS);
    if (length >= this.receiveMss) this.receiveMss = Math.min(length, advertisedMss);
    if (this.lastDataAt === null || now - this.lastDataAt > rto) this.grant(window);
    this.lastDataAt = now;
    return this.remaining > 0 && !this.interactive;
  }

  /** Linux's receive-window state, whose growth asks for quick ACKs (receive-window.ts). */
  get receiveWindow(): LinuxReceiveWindow {
    return (this.#receiveWindow ??= new LinuxReceiveWindow());
  }

  /**
   * The receive window's threshold grew (receive-window.ts): Linux's tcp_grow_window sets bit 0
   * of the quick-ACK count (`icsk_ack.quick |= 1`) so the sender hears of it at once. Returns
   * whether the segment that grew it is ACKed at once.
   */
  windowGrew(): boolean {
    if (this.mode !== 'linux') return false;
    this.remaining |= 1;
    return !this.interactive;
  }

  /** An old duplicate arrived: our ACK was probably lost, so ACK quickly again (Linux's tcp_send_dupack). */
  duplicateArrived(window: number): void {
    if (this.mode !== 'linux') return;
    this.grant(window);
    this.interactive = false;
  }

  /** Data left: a reply within `timeoutMs` of data arriving makes the connection interactive. */
  dataSent(now: number, timeoutMs: number): void {
    if (this.mode === 'linux' && this.lastDataAt !== null && now - this.lastDataAt < timeoutMs) this.interactive = true;
  }

  /** An ACK left. */
  ackSent(): void {
    this.sackCompression.ackSent();
    if (this.mode === 'push') {
      if (this.remaining > 0) this.remaining--;
      return;
    }
    if (this.owed && this.remaining > 0) this.remaining--;
    this.owed = false;
  }

  /** The delayed-ACK timer fired: the peer waited for our ACK, so the exchange is not interactive. */
  delayedAckFired(): void {
    this.interactive = false;
  }

  private grant(window: number): void {
    const mss = Math.max(1, this.receiveMss || INITIAL_RECEIVE_MSS);
    const quick = Math.min(MAX_QUICK_ACKS, Math.floor(window / (2 * mss)) || 2);
    if (quick > this.remaining) this.remaining = quick;
  }
}
