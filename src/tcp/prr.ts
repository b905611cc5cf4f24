/**
 * Proportional Rate Reduction (RFC 9937, which obsoletes the experimental RFC 6937): how much
 * a sender in fast recovery may send on each ACK. The congestion controller picks ssthresh when
 * recovery starts; PRR brings the flight down to it smoothly instead of all at once, so ACKs keep
 * clocking data out in proportion to what they report delivered, and it rebuilds a flight that
 * losses drained below ssthresh no faster than slow start would.
 *
 * Linux's fast recovery is the same algorithm (tcp_cwnd_reduction), in segments where this file
 * counts bytes, and with the congestion window at the start of recovery as RecoverFS.
 */

/** PRR's state for one recovery episode (RFC 9937 §4: prr_delivered, prr_out, RecoverFS). */
export class ProportionalRateReduction {
  /** prr_delivered: bytes the receiver reported delivered (cumulatively or by SACK) since recovery began. */
  private delivered = 0;
  /** prr_out: bytes sent (new data and retransmissions) since recovery began. */
  private sent = 0;
  /** cwnd as PRR sets it on each ACK: pipe + sndcnt. */
  private window: number;

  /**
   * Starts an episode. `recoverFs` is the data outstanding and not yet known delivered when
   * recovery began (RFC 9937 §4: SND.NXT − SND.UNA less what was SACKed before the ACK that
   * started it); `pipe` the flight at that moment. Until an ACK reports delivery, the window
   * allows nothing beyond the flight but the fast retransmit itself (see `onAck`).
   */
  constructor(
    private readonly recoverFs: number,
    pipe: number,
    mss: number,
  ) {
    this.window = pipe + mss;
  }

  /** The congestion window PRR allows: the flight after the last ACK plus what it may send. */
  get cwnd(): number {
    return this.window;
  }

  /** Bytes sent since recovery began (prr_out). */
  get bytesSent(): number {
    return this.sent;
  }

  /** Data (or a retransmission) left: prr_out grows (RFC 9937 §4, "on any data transmission"). */
  onSent(bytes: number): void {
    this.sent += bytes;
  }

  /**
   * An ACK during recovery (RFC 9937 §4), the one that started it included and the one that ends
   * it excluded. `deliveredData` is the change in SND.UNA plus the change in SACKed bytes;
   * `pipe` the flight after it (RFC 6675 §4); `safeAck` whether it advanced SND.UNA without
   * marking anything newly lost.
   */
  onAck(deliveredData: number, pipe: number, ssthresh: number, safeAck: boolean, mss: number): void {
    // An ACK that reports nothing delivered changes nothing (RFC 9937 §4).
    if (deliveredData <= 0) return;
    this.delivered += deliveredData;
    let sendCount: number;
    if (pipe > ssthresh) {
      // Proportional reduction: over the episode, send ssthresh/RecoverFS of what is delivered.
      sendCount = Math.ceil((this.delivered * ssthresh) / Math.max(this.recoverFs, 1)) - this.sent;
    } else {
      // The flight is already at or below ssthresh: by default the conservative reduction bound
      // (no more than delivered, PRR-CRB), but never less than this ACK delivered; with an ACK
      // that shows recovery going well, one segment more to rebuild the flight as slow start
      // would (PRR-SSRB). Never beyond ssthresh.
      sendCount = Math.max(this.delivered - this.sent, deliveredData);
      if (safeAck) sendCount += mss;
      sendCount = Math.min(ssthresh - pipe, sendCount);
    }
    // The first ACK of recovery always lets the fast retransmit go.
    if (this.sent === 0) sendCount = Math.max(sendCount, mss);
    this.window = pipe + Math.max(sendCount, 0);
  }
}
