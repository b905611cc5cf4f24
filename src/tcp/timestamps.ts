/**
 * The TCP Timestamps option (RFC 7323 §3–5) on one connection: whether it was negotiated, our
 * timestamp clock (§5.4: milliseconds from a per-connection random offset), TS.Recent and
 * Last.ACK.sent with the rule that updates TS.Recent (§4.3), and PAWS (§5.3) with the
 * invalidation of a TS.Recent idle for more than 24 days (§5.5).
 *
 * One owner of that state: input.ts reports the peer's SYN and each acceptable segment and asks
 * PAWS; output.ts reports each ACK sent and reads the values it sends; tcp-layer.ts sets the
 * clock's offset of a SYN-cookie connection.
 */
import { seqGe, seqLe, seqLt } from './seq.js';

/** RFC 7323 §5.5: TS.Recent older than 24 days is invalid for PAWS. */
const PAWS_IDLE_LIMIT_MS = 24 * 24 * 3600 * 1000;

/** The Timestamps option's state on one connection (RFC 7323). */
export class TcpTimestamps {
  /** Both SYNs carried the option (RFC 7323 §3.2): every segment carries it. */
  private negotiated = false;
  /** TS.Recent: the TSval to echo (RFC 7323 §4.3). */
  private tsRecent = 0;
  /** When TS.Recent was last set, for §5.5's 24 days. */
  private tsRecentSetAt = 0;
  /** Last.ACK.sent: the ACK field of the last segment we sent (RFC 7323 §4.3). */
  private lastAck = 0;
  /** The random offset of our timestamp clock (RFC 7323 §5.4). */
  private clockOffset = 0;

  /** The option was negotiated: every segment carries it (RFC 7323 §3.2). */
  get enabled(): boolean {
    return this.negotiated;
  }

  /** TS.Recent (RFC 7323 §4.3): what our TSecr echoes. */
  get recent(): number {
    return this.tsRecent;
  }

  /** When TS.Recent was last set (RFC 7323 §5.5's age). */
  get recentSetAt(): number {
    return this.tsRecentSetAt;
  }

  /** Last.ACK.sent (RFC 7323 §4.3): RCV.NXT when we last sent an ACK. */
  get lastAckSent(): number {
    return this.lastAck;
  }

  /** The offset of our timestamp clock (RFC 7323 §5.4). */
  get offset(): number {
    return this.clockOffset;
  }

  /** Our TSval at time `now` (ms): RFC 7323 §5.4's clock, millisecond ticks from a random offset. */
  tsVal(now: number): number {
    return (Math.floor(now) + this.clockOffset) >>> 0;
  }

  /** Sets our clock's offset: a random one before our SYN (§5.4), or the one a SYN cookie's TSval stands for. */
  setClockOffset(offset: number): void {
    this.clockOffset = offset;
  }

  /**
   * The peer's SYN (or SYN-ACK) arrived: the option is in use when `enabled` (both sides
   * offered it), and its TSval, if it carried one, is TS.Recent.
   */
  synArrived(enabled: boolean, tsVal: number | undefined, now: number): void {
    this.negotiated = enabled;
    if (tsVal !== undefined) {
      this.tsRecent = tsVal;
      this.tsRecentSetAt = now;
    }
  }

  /** We sent an ACK of `rcvNxt`: Last.ACK.sent (RFC 7323 §4.3). */
  ackSent(rcvNxt: number): void {
    this.lastAck = rcvNxt;
  }

  /**
   * PAWS (RFC 7323 §5.3): a TSval older than TS.Recent marks an old duplicate, unless TS.Recent
   * has been idle for more than 24 days (§5.5), when it no longer says anything.
   */
  pawsRejects(tsVal: number, now: number): boolean {
    return pawsRejects(tsVal, this.tsRecent, this.tsRecentSetAt, now);
  }

  /**
   * RFC 7323 §4.3: an acceptable segment starting at or before Last.ACK.sent updates TS.Recent
   * with its TSval, if that is not older.
   */
  segmentAccepted(seq: number, tsVal: number, now: number): void {
    if (seqLe(seq, this.lastAck) && seqGe(tsVal, this.tsRecent)) {
      this.tsRecent = tsVal;
      this.tsRecentSetAt = now;
    }
  }
}

/**
 * PAWS (RFC 7323 §5.3) on its values: `tsVal` is older than TS.Recent (`recent`, set at
 * `recentSetAt`), and TS.Recent is not older than 24 days (§5.5). Shared by a connection's
 * TcpTimestamps and a TIME-WAIT record (time-wait.ts).
 */
export function pawsRejects(tsVal: number, recent: number, recentSetAt: number, now: number): boolean {
  return now - recentSetAt <= PAWS_IDLE_LIMIT_MS && seqLt(tsVal, recent);
}
