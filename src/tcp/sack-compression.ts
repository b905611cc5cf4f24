/**
 * SACK compression (TcpConfig.sackCompression), Linux's since 4.18: while data is held out of
 * order, the duplicate ACKs for further out-of-order segments are not all sent at once. RFC 5681
 * §4.2 says a receiver SHOULD send an immediate duplicate ACK for each out-of-order segment;
 * Linux sends the first three for each RCV.NXT at once — the DupThresh duplicates (RFC 5681 §3.2)
 * the sender's fast retransmit waits for — and holds the later ones for a short timer, sending
 * one ACK whose SACK blocks (RFC 2018) cover all that came meanwhile (__tcp_ack_snd_check in
 * net/ipv4/tcp_input.c; the timer is tcp_compressed_ack_kick in tcp_timer.c). The ACK of a
 * segment that fills part of a hole is the first of the three for its new RCV.NXT: only a hole
 * filled completely makes Linux ACK at once without counting (tcp_data_queue's ICSK_ACK_NOW).
 */
import type { TcpConnection } from './connection.js';

/** Immediate duplicate ACKs per RCV.NXT before compression starts (Linux's TCP_FASTRETRANS_THRESH). */
const IMMEDIATE_DUPLICATES = 3;

/** The most out-of-order segments one compressed ACK stands for (Linux's tcp_comp_sack_nr). */
const MAX_COMPRESSED = 44;

/** The longest the compressed ACK waits, in ms (Linux's tcp_comp_sack_delay_ns, 1 ms). */
const MAX_DELAY_MS = 1;

/** The wait as a share of the round-trip time (Linux before 6.19: 5 %). */
const RTT_SHARE = 0.05;

/**
 * How much later than that the timer may fire, in ms (Linux's tcp_comp_sack_slack_ns, 100 µs
 * before 6.19): Linux arms an hrtimer with this slack so that it can fire with another; the
 * latest moment is taken here, as a receiver doing nothing else sees it. On a LAN the share of
 * the RTT is a few µs and the slack is most of the wait.
 */
const SLACK_MS = 0.1;

/** One connection's SACK-compression state (Linux's compressed_ack, compressed_ack_rcv_nxt, dup_ack_counter). */
export class SackCompression {
  /** Out-of-order segments since our last ACK that got no ACK of their own. */
  private compressed = 0;
  /** The RCV.NXT the duplicates below were counted for. */
  private countedFor: number | null = null;
  /** Duplicate ACKs sent at once for `countedFor`. */
  private immediate = 0;

  /**
   * An out-of-order segment arrived (RCV.NXT `rcvNxt`) that nothing else asks to ACK at once.
   * Returns 0 to ACK it now, else how long the compressed ACK may wait (ms): a share of `rttMs`,
   * the connection's RTT, at most 1 ms, and the timer's slack.
   */
  outOfOrderArrived(rcvNxt: number, rttMs: number): number {
    if (this.compressed >= MAX_COMPRESSED) return 0;
    if (this.countedFor !== rcvNxt) {
      this.countedFor = rcvNxt;
      this.immediate = 0;
    }
    if (this.immediate < IMMEDIATE_DUPLICATES) {
      this.immediate++;
      return 0;
    }
    this.compressed++;
    return Math.min(MAX_DELAY_MS, rttMs * RTT_SHARE) + SLACK_MS;
  }

  /**
   * An in-order segment filled part of a hole — RCV.NXT moved to `rcvNxt` and data is still held
   * beyond it — and is ACKed at once, not in quick-ACK mode. Linux asks for an ACK now only when
   * the hole is filled completely (tcp_data_queue's ICSK_ACK_NOW); this one reaches
   * __tcp_ack_snd_check's duplicate count for the new RCV.NXT and is the first of its three.
   */
  holeNarrowed(rcvNxt: number): void {
    this.countedFor = rcvNxt;
    this.immediate = 1;
  }

  /** Nothing counted: the same as a new SackCompression. */
  get unused(): boolean {
    return this.compressed === 0 && this.countedFor === null;
  }

  /** An ACK left: it reported every segment held so far (Linux's tcp_event_ack_sent). */
  ackSent(): void {
    this.compressed = 0;
  }
}

/**
 * TcpConfig.sackCompression: whether the ACK owed for an out-of-order segment waits for the
 * compressed-ACK deadline (the delayed-ACK deadline brought forward to it) rather than leaving
 * at once.
 */
export function compressDuplicateAck(connection: TcpConnection, now: number): boolean {
  if (!connection.host.config.sackCompression || !connection.sackEnabled) return false;
  const wait = connection.quickAcks.sackCompression.outOfOrderArrived(connection.rcvNxt, connection.rtt.srtt ?? MAX_DELAY_MS / RTT_SHARE);
  if (wait === 0) return false;
  connection.delayedAckDeadline = Math.min(connection.delayedAckDeadline, now + wait);
  return true;
}

/**
 * TcpConfig.sackCompression: an in-order segment that filled part of a hole was ACKed at once
 * outside quick-ACK mode; with data still held out of order, that ACK counts as the first of the
 * three immediate ones for the new RCV.NXT (SackCompression.holeNarrowed).
 */
export function holeNarrowedAck(connection: TcpConnection): void {
  if (!connection.host.config.sackCompression || !connection.sackEnabled || connection.assembler.heldBytes === 0) return;
  connection.quickAcks.sackCompression.holeNarrowed(connection.rcvNxt);
}
