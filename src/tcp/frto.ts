/**
 * F-RTO (RFC 5682): after a retransmission timeout, tell a spurious timeout (the segments and
 * their ACKs were only delayed) from a real loss, and undo the congestion response to the
 * spurious one (TcpConfig.frto).
 *
 * Step 1 is the timeout (recovery.ts `retransmissionTimeout`): the segment at SND.UNA is
 * retransmitted, "recover" is SND.NXT. Step 2 waits for the ACK that advances SND.UNA: if it
 * does not reach "recover", new data goes instead of further retransmissions (2b); otherwise,
 * or with no new data to send, the recovery is the conventional one (2a). Step 3: the next ACK
 * that acknowledges, cumulatively or by SACK, data sent before the timeout and never
 * retransmitted proves the timeout spurious (3b); a duplicate ACK or a SACK of other data
 * proves the loss (3a), and the conventional recovery resumes. With SACK this is the
 * SACK-enhanced version (§3), which waits in step 2 through duplicate ACKs; without it the
 * basic version (§2), which gives up at a duplicate ACK in step 2 (§2 step 2a).
 *
 * The response to a spurious timeout is left open by RFC 5682 §4 (RFC 4015's Eifel response is
 * one). We do what Linux's tcp_try_undo_loss does: cwnd and ssthresh go back to what they were
 * before the timeout (each controller's `onSpuriousCongestionEvent`), the loss marks are
 * forgotten and the sender leaves RTO recovery (TCP_INFO's ca_state goes from Loss to Open).
 *
 * Linux (tcp_enter_loss, tcp_process_loss with tcp_frto ≠ 0) differs in places:
 *  - With SACK it takes the evidence of step 3b whenever it comes, in step 2 too: an ACK that
 *    cumulatively acknowledges, or SACKs, a never-retransmitted segment sent before the timeout
 *    and not SACKed before shows that not everything was lost. We do the same. The RFC looks for
 *    it only in step 3, because in step 2 a cumulative ACK may cover the retransmission and
 *    original segments that arrived before the timeout; with SACK those would have been SACKed
 *    already, so the shortcut is sound unless the SACKs themselves were lost.
 *  - Linux runs §3 without SACK too (its commit e33099f96d99: "the SACK enhanced version also
 *    works for non-SACK connections"), shortcut included. We keep §2 there, as the RFC does:
 *    without SACK a receiver that held segments above a lost first one acknowledges them all
 *    with the retransmission, and Linux takes that for a spurious timeout and undoes the
 *    reduction of a real loss; §2 ends F-RTO at that ACK (it covers "recover", step 2a) and
 *    at a duplicate ACK in step 2, and looks for the evidence only in step 3.
 *  - A repeated timeout with nothing acknowledged since the last starts F-RTO again (Linux:
 *    "recurring timeout(s) on the same SND.UNA"); a timeout during fast recovery or during an
 *    RTO recovery that has made progress does not (RFC 5682 step 1: not "already in RTO
 *    recovery"), nor one with a path MTU probe in flight (Linux).
 *  - RFC 5682 step 3a caps cwnd at 3·SMSS; ours is at most 2 then (one segment after the
 *    timeout, grown by the one ACK of step 2 with RFC 3465's L = 1 after a timeout, §2.3), and
 *    Linux's is what its slow start gives, which the ACK of step 2 grows by what it acknowledged.
 */
import type { SentSegment, TcpConnection } from './connection.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt } from './seq.js';

/** F-RTO's state on a connection: which step it is in, and what the ACK being processed showed. */
export class ForwardRtoRecovery {
  /** RFC 5682's step: 2 waits for the ACK of the timeout's retransmission, 3 for the ACK after new data; null outside F-RTO. */
  private step: 2 | 3 | null = null;
  /** RFC 5682's "recover": SND.NXT at the timeout, and again when step 2 sends new data. */
  private recover = 0;
  /** End of the segment the timeout retransmitted (§2 step 2a: its ACK must cover it all). */
  private retransmittedEnd = 0;
  /** The basic version (§2, no SACK) rather than the SACK-enhanced one (§3). */
  private basic = false;
  /** This ACK delivered a never-retransmitted segment sent before the timeout, not SACKed before. */
  private originalDelivered = false;
  /** This ACK newly SACKed a segment. */
  private newlySacked = false;
  /** Step 2b: the next transmission sends new data only. */
  private newDataTurn = false;

  /** Whether the sender is in step 2 or 3. */
  get active(): boolean {
    return this.step !== null;
  }

  /** Never used, or left exactly as new: the connection may drop it and make a new one when needed. */
  get unused(): boolean {
    return (
      this.step === null &&
      this.recover === 0 &&
      this.retransmittedEnd === 0 &&
      !this.basic &&
      !this.originalDelivered &&
      !this.newlySacked &&
      !this.newDataTurn
    );
  }

  /** Step 1: the timeout's retransmission is the segment ending at `retransmittedEnd`; `recover` is SND.NXT. */
  start(recover: number, retransmittedEnd: number, sack: boolean): void {
    this.step = 2;
    this.recover = recover;
    this.retransmittedEnd = retransmittedEnd;
    this.basic = !sack;
    this.newDataTurn = false;
  }

  /** F-RTO is over: the recovery goes on (or ends) as the conventional one. */
  stop(): void {
    this.step = null;
    this.newDataTurn = false;
  }

  /** An ACK arrives: forget what the last one showed. */
  ackArrives(): void {
    this.originalDelivered = false;
    this.newlySacked = false;
  }

  /**
   * The ACK being processed delivers `segment` (through `end`), cumulatively or by SACK
   * (`bySack`), and it was not SACKed before. Linux's FLAG_ORIG_SACK_ACKED and FLAG_DATA_SACKED.
   */
  delivered(segment: SentSegment, end: number, bySack: boolean): void {
    if (this.step === null) return;
    if (bySack) this.newlySacked = true;
    if (segment.retransmits === 0 && seqLe(end, this.recover)) this.originalDelivered = true;
  }

  /** Step 2b's transmission: true once, when only new data should go (Linux's REXMIT_NEW). */
  takeNewDataTurn(): boolean {
    const turn = this.newDataTurn;
    this.newDataTurn = false;
    return turn;
  }

  /**
   * Steps 2 and 3 for an ACK (Linux's tcp_process_loss). `advanced`: it moved SND.UNA;
   * `duplicate`: a duplicate ACK (RFC 5681 §2). Returns what F-RTO concludes.
   */
  onAck(sndUna: number, advanced: boolean, duplicate: boolean, canSendNewData: boolean, sndNxt: number): 'spurious' | 'new-data' | 'none' {
    if (this.step === null) return 'none';
    // Step 3b; with SACK, as Linux, in step 2 too.
    if (this.originalDelivered && (this.step === 3 || !this.basic)) return 'spurious';
    if (this.step === 3) {
      // Step 3a: a duplicate ACK or a SACK for other data (the new data, or a retransmission):
      // the timeout was real.
      if (duplicate || this.newlySacked) this.stop();
      return 'none';
    }
    // Step 2.
    if (this.basic && duplicate) {
      this.stop(); // §2 step 2a
      return 'none';
    }
    if (!advanced) return 'none'; // §3 step 2: wait for the ACK that advances SND.UNA
    if (seqGe(sndUna, this.recover) || (this.basic && seqLt(sndUna, this.retransmittedEnd))) {
      this.stop(); // step 2a: all of it acknowledged, or (§2) only part of the retransmission
      return 'none';
    }
    if (!canSendNewData) {
      // Step 2b without new data to send, or with the receive window closed to it: RFC 5682
      // recommends the conventional recovery.
      this.stop();
      return 'none';
    }
    this.step = 3;
    this.recover = sndNxt;
    this.newDataTurn = true;
    return 'new-data';
  }
}

/**
 * Step 1, at a retransmission timeout, before the recovery state changes: whether F-RTO starts.
 * Not during fast recovery or an RTO recovery that has made progress; again after a timeout
 * that nothing was acknowledged since (Linux's tcp_enter_loss); not with a path MTU probe in
 * flight (Linux).
 */
export function frtoMayStart(connection: TcpConnection): boolean {
  if (!connection.host.config.frto) return false;
  if (connection.mtuProbing.outstanding > 0) return false;
  return connection.recovery.open || connection.timeoutCount > 0;
}

/**
 * Steps 2 and 3 for an ACK in ESTABLISHED or later, after its cumulative and SACK parts and its
 * duplicate-ACK test, before RACK looks for losses. A spurious timeout is undone here.
 */
export function frtoAck(connection: TcpConnection, sndUnaBefore: number, duplicate: boolean, now: number): void {
  const frto = connection.frto;
  if (!frto.active) return;
  const advanced = seqGt(connection.sndUna, sndUnaBefore);
  const window = seqAdd(connection.sndUna, connection.sndWnd);
  const unsent = connection.unsentBytes > 0 || (connection.finPending && !connection.finSent);
  const canSendNewData = unsent && seqGt(window, connection.sndNxt);
  const outcome = frto.onAck(connection.sndUna, advanced, duplicate, canSendNewData, connection.sndNxt);
  if (outcome === 'new-data') connection.stats.increment('tcp.frto.newData');
  if (outcome === 'spurious') undoSpuriousTimeout(connection, now);
}

/**
 * RFC 5682 declared the timeout spurious. As Linux's tcp_try_undo_loss (with
 * tcp_undo_cwnd_reduction): nothing is deemed lost any more, cwnd and ssthresh go back to what
 * they were before the timeout, and the sender leaves RTO recovery; RACK may still find a loss
 * among the segments and start a fast recovery, as it would have without the timeout.
 */
function undoSpuriousTimeout(connection: TcpConnection, now: number): void {
  connection.frto.stop();
  connection.stats.increment('tcp.frto.spuriousRto');
  connection.stats.increment('tcp.cwnd.undone');
  connection.inFlight.clearAllLost();
  connection.cc.onSpuriousCongestionEvent(now);
  connection.timeoutCount = 0;
  if (connection.recovery.inRtoRecovery) {
    connection.recovery.endRtoRecovery();
    connection.info.rtoRecoveryEnded(now);
    connection.rack.recoveryEnded();
  }
}
