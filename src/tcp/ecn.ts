/**
 * Explicit Congestion Notification in TCP (RFC 3168 §6.1): whether the handshake negotiated it
 * (§6.1.1), the receiver's echo of a Congestion Experienced mark with ECE until the sender's
 * CWR (§6.1.3), and the sender's response to ECE — one reduction per window of data, announced
 * with CWR on the next new data (§6.1.2).
 *
 * One owner of that state: tcp-layer.ts and input.ts report the handshake, input.ts what arrives,
 * recovery.ts the reductions, output.ts takes the flags for each segment. The reduction itself
 * (ssthresh, PRR) stays in recovery.ts; this keeps only when it began and whether it is over.
 */
import { seqGe, seqGt } from './seq.js';

/** The ECN state of one connection (RFC 3168 §6.1). */
export class ExplicitCongestionNotification {
  /** Both SYNs agreed on ECN (§6.1.1). */
  private negotiated = false;
  /** A CE mark arrived: our segments carry ECE until a CWR arrives (§6.1.3). */
  private echo = false;
  /** We reduced the window (for ECE, or a loss): the next new data carries CWR (§6.1.2). */
  private cwrOwed = false;
  /** SND.NXT when we last reduced for ECE: at most once per window of data (§6.1.2). */
  private reducedAt = 0;
  /** A reduction for ECE is in progress until `reducedAt` is acknowledged (Linux's CWR state). */
  private inReduction = false;

  /** ECN was negotiated: our new data is ECN-capable, and the ECE and CWR flags mean what §6.1 says. */
  get enabled(): boolean {
    return this.negotiated;
  }

  /** Our segments (other than SYNs) carry ECE. */
  get echoPending(): boolean {
    return this.echo;
  }

  /** A reduction for ECE is in progress (TCP_INFO's CWR state). */
  get reducing(): boolean {
    return this.inReduction;
  }

  /** The handshake's outcome (§6.1.1): whether ECN is in use on this connection. */
  setEnabled(enabled: boolean): void {
    this.negotiated = enabled;
  }

  /** The connection's own SYN is about to leave: no reduction is owed for the window before ISS. */
  opening(iss: number): void {
    this.reducedAt = iss;
  }

  /** A segment with CE in its IP header arrived (§6.1.3): echo ECE until CWR. */
  congestionExperienced(): void {
    this.echo = true;
  }

  /** A segment with CWR arrived (§6.1.3): the sender reduced, stop echoing. */
  cwrReceived(): void {
    this.echo = false;
  }

  /** Whether an ECE may reduce the window now: no reduction is in progress and SND.UNA has passed the last one's window (§6.1.2). */
  mayReduce(sndUna: number): boolean {
    return !this.inReduction && seqGt(sndUna, this.reducedAt);
  }

  /** The window was reduced for ECE with SND.NXT at `sndNxt`: a reduction is in progress and CWR is owed. */
  reduced(sndNxt: number): void {
    this.reducedAt = sndNxt;
    this.inReduction = true;
    this.cwrOwed = true;
  }

  /** The window was reduced for a loss (fast recovery): with ECN, CWR tells the peer so too (§6.1.2). */
  lossReduced(): void {
    if (this.negotiated) this.cwrOwed = true;
  }

  /** An ACK moved SND.UNA to `sndUna`: true when that ends the reduction in progress (its window is acknowledged). */
  reductionEnds(sndUna: number): boolean {
    if (!this.inReduction || !seqGe(sndUna, this.reducedAt)) return false;
    this.inReduction = false;
    return true;
  }

  /** A segment with new data leaves: whether it carries the CWR owed (then no longer owed). */
  takeCwr(): boolean {
    if (!this.cwrOwed) return false;
    this.cwrOwed = false;
    return true;
  }
}
