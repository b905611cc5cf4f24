/**
 * Where an ACK's RTT samples come from (RFC 6298 §3, RFC 7323 §4), and what they feed: the RTO
 * estimator (TcpConfig.rttEstimator) and, for controllers that watch delay, the congestion
 * controller (CongestionControl.onRttSample).
 */
import type { TcpConnection } from './connection.js';
import { pacingRate } from './pacing.js';
import type { Segment } from './segment.js';
import { seqGt, seqLt } from './seq.js';

/** When the oldest and the newest of an ACK's newly acknowledged segments were sent (recovery.ts's acknowledge). */
export interface AckedSendTimes {
  /** Of the segments neither SACKed before nor ever retransmitted; undefined when none. */
  readonly oldest: number | undefined;
  readonly newest: number | undefined;
}

/**
 * Takes the RTT sample of an ACK that advanced SND.UNA (already set to the ACK): feeds the RTO
 * estimator and the congestion controller, and returns the estimator's sample.
 *
 * RFC 6298 (`rfc6298`): from the echoed timestamp (RFC 7323 §4.1), else from the one segment
 * being timed (Karn). Linux (`linux`): from every ACK, the time since the oldest segment it
 * newly acknowledges was sent unless it acknowledges a retransmission, the echo otherwise
 * (tcp_clean_rtx_queue's seq_rtt). The controller hears of the newest such segment (Linux's
 * ca_rtt), or of the echo.
 * `lastRetransmittedAt` is when the data acknowledged was last retransmitted (-Infinity if never).
 */
export function takeRttSample(
  connection: TcpConnection,
  segment: Segment,
  now: number,
  sendTimes: AckedSendTimes,
  lastRetransmittedAt: number,
): number | undefined {
  const retransmissionAcked = lastRetransmittedAt > -Infinity;
  const everyAck = connection.host.config.rttEstimator === 'linux';
  let rttSample: number | undefined;
  const ts = segment.parsed.timestamps;
  if (everyAck && sendTimes.oldest !== undefined && !retransmissionAcked) {
    rttSample = now - sendTimes.oldest;
  } else if (connection.timestamps.enabled && ts && ts.tsEcr !== 0) {
    // Karn's rule still applies when the echo is older than the latest retransmission of the
    // data acknowledged: the peer echoes the segment that last advanced its window (RFC 7323
    // §4.3), so this ACK may have been sent for the original (a true sample) or for the
    // retransmission arriving as a duplicate after ACKs were lost (then the "sample" adds
    // the whole recovery time). Such samples feed back into ever larger RTOs under ACK loss.
    const sample = (connection.timestamps.tsVal(now) - ts.tsEcr) >>> 0;
    const ambiguous = retransmissionAcked && seqLt(ts.tsEcr, connection.timestamps.tsVal(lastRetransmittedAt));
    if (ambiguous) connection.stats.increment('tcp.rtt.ambiguousEcho');
    else if (sample < 600_000) rttSample = Math.max(sample, 0);
  } else if (!everyAck && connection.rttSeq !== null && seqGt(connection.sndUna, connection.rttSeq)) {
    rttSample = now - connection.rttStartedAt;
    connection.rttSeq = null;
  }
  if (rttSample !== undefined) connection.rtt.measure(Math.max(rttSample, 1), connection.sndUna, connection.sndNxt);
  const newest = sendTimes.newest !== undefined && !retransmissionAcked ? now - sendTimes.newest : rttSample;
  if (newest !== undefined) {
    connection.cc.onRttSample?.(Math.max(newest, 0), now, {
      sndUna: connection.sndUna,
      sndNxt: connection.sndNxt,
      pacingRate: pacingRate(connection),
      paced: connection.host.config.pacing,
    });
  }
  return rttSample;
}
