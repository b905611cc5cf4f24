/**
 * Congestion window validation (RFC 7661): an ACK may grow cwnd only while the sender uses the
 * window it has. A window the application leaves half empty says nothing about what the path
 * can carry, and growing it anyway lets cwnd run far ahead of anything the network has shown.
 *
 * Use is measured over a window of data rather than at the instant an ACK arrives (RFC 7661's
 * pipeACK is such a measurement): at each transmission the sender records its flight, and the
 * largest flight and whether cwnd held it back are kept until SND.UNA passes the SND.NXT of the
 * transmission that began the measurement. The ACKs of a burst then all see the burst's size,
 * not the shrinking remainder still in flight.
 *
 * The draft that would make this a standard rule (draft-ietf-ccwg-ratelimited-increase, "maxFS":
 * the largest flight since cwnd last fell) caps cwnd in the same terms.
 */
import { seqGe } from './seq.js';

/** How a validated window is recognised (TcpConfig.congestionWindowValidation). */
export type CongestionWindowValidationRule = 'rfc7661' | 'linux';

/** The sender's use of its congestion window over the current measurement. */
export class CongestionWindowUse {
  /** No transmission recorded yet. */
  private empty = true;
  /** SND.NXT when the current measurement began; it ends once SND.UNA reaches it. */
  private measurementEnd = 0;
  /** The largest flight (bytes sent and not acknowledged) recorded in this measurement. */
  private largestFlight = 0;
  /** Whether the congestion window held the sender back in this measurement. */
  private limited = false;

  /**
   * The same as a new CongestionWindowUse from here on, at rest with SND.UNA = `sndUna`: nothing
   * was recorded, or the measurement ended (SND.UNA reached its end). A new one and an ended one
   * both start a new measurement at the next transmission (`recordTransmission`'s first rules),
   * and before it no ACK can deliver data, the only time `validated` is acted on.
   */
  unusedAt(sndUna: number): boolean {
    return this.empty || seqGe(sndUna, this.measurementEnd);
  }

  /** The largest flight of the current measurement, bytes. */
  get largestFlightBytes(): number {
    return this.largestFlight;
  }

  /** Whether cwnd ran out during the current measurement. */
  get congestionWindowLimited(): boolean {
    return this.limited;
  }

  /**
   * After the sender tried to send new data: `flight` is SND.NXT − SND.UNA now, `limited` whether
   * the congestion window had less than a segment of room left. A new measurement starts once
   * the last one is acknowledged, whenever cwnd ran out (so "limited" always describes the most
   * recent data), and while the sender is not limited a larger flight replaces the smaller one
   * (Linux's tcp_cwnd_validate keeps the same three rules).
   */
  recordTransmission(sndUna: number, sndNxt: number, flight: number, limited: boolean): void {
    if (this.empty || seqGe(sndUna, this.measurementEnd) || limited || (!this.limited && flight > this.largestFlight)) {
      this.empty = false;
      this.limited = limited;
      this.largestFlight = flight;
      this.measurementEnd = sndNxt;
    }
  }

  /**
   * Whether an ACK may grow `cwnd` (bytes) now: the window is in use by `rule` (see
   * TcpConfig.congestionWindowValidation). `slowStart` is cwnd < ssthresh.
   */
  validated(rule: CongestionWindowValidationRule, cwnd: number, slowStart: boolean, mss: number): boolean {
    if (this.limited) return true;
    if (rule === 'linux') return slowStart && cwnd < 2 * this.largestFlight;
    // RFC 7661 §4.3: the validated phase is pipeACK ≥ ½·cwnd. After slow start RFC 9438 §5.8
    // asks for more: growth only while the flow is limited by cwnd, here less than a segment left.
    return slowStart ? 2 * this.largestFlight >= cwnd : this.largestFlight + mss > cwnd;
  }
}
