/**
 * The retransmission timer's expiry (RFC 6298 §5.4–5.7): the sender retransmits the earliest
 * unacknowledged segment, backs the timer off, and gives up after its retry limits (RFC 9293
 * §3.8.3 R2, RFC 5482's user timeout); in SYN-SENT and SYN-RECEIVED it repeats the SYN or SYN-ACK
 * instead. The timer is armed by `armRetransmitTimer` (deadlines.ts); the loss-recovery state a
 * timeout changes is recovery.ts's (`retransmissionTimeout`, `retransmitTimerBackoff`).
 */
import type { TcpConnection } from './connection.js';
import { armRetransmitTimer, LOCAL_CONGESTION_RETRY_MS } from './deadlines.js';
import { retransmit, sendSyn, sendSynAck } from './output.js';
import { pacingUnitSent } from './pacing.js';
import { retransmissionTimeout, retransmitTimerBackoff } from './recovery.js';

/** The retransmission timer fired (RFC 6298 §5.4–5.6): retransmit, back off, or give up. */
export function onRetransmitTimer(connection: TcpConnection, now: number): void {
  connection.retransmitDeadline = Infinity;
  const config = connection.host.config;
  if (connection.inFlight.length === 0) return;
  if (connection.state === 'SYN-SENT' || connection.state === 'SYN-RECEIVED') {
    const limit = connection.state === 'SYN-SENT' ? config.synRetries : config.synAckRetries;
    // RFC 5482 on an active open too (as Linux): connect gives up when the user timeout has
    // passed since the first SYN, whatever the retry count.
    const userTimeout = connection.state === 'SYN-SENT' ? connection.options.userTimeoutMs : 0;
    const waited = connection.firstUnackedSentAt === null ? 0 : now - connection.firstUnackedSentAt;
    const handshakeTimeout = connection.options.handshakeTimeoutMs;
    if (connection.timeoutCount >= limit || (userTimeout > 0 && waited >= userTimeout) || (handshakeTimeout > 0 && waited >= handshakeTimeout)) {
      connection.stats.increment('tcp.connect.timeout');
      // RFC 1122 §4.2.3.9: a soft ICMP error seen meanwhile says more than ETIMEDOUT (Linux
      // reports sk_err_soft the same way in tcp_write_err).
      connection.closeWithError(connection.softError ?? 'ETIMEDOUT');
      return;
    }
    connection.info.rtoFired(connection.timeoutCount === 0, now);
    rethinkFlowLabel(connection);
    connection.info.retransmitted(0, 1);
    connection.timeoutCount++;
    connection.rtt.backoff();
    connection.stats.increment(connection.state === 'SYN-SENT' ? 'tcp.tx.synRetransmits' : 'tcp.tx.synAckRetransmits');
    const handshake = connection.inFlight.at(0);
    handshake.retransmits++;
    handshake.sentAt = now;
    handshake.sentOrder = connection.transmissions++;
    if (connection.state === 'SYN-SENT') sendSyn(connection, now);
    else sendSynAck(connection, now);
    armRetransmitTimer(connection, now);
    return;
  }
  const userTimeout = connection.options.userTimeoutMs;
  const stalledFor = connection.firstUnackedSentAt === null ? 0 : now - connection.firstUnackedSentAt;
  if (connection.timeoutCount >= config.dataRetries || (userTimeout > 0 && stalledFor >= userTimeout)) {
    // RFC 9293 §3.8.3 R2 / RFC 5482: give up and report the failure.
    connection.stats.increment('tcp.retransmit.giveUp');
    connection.closeWithError(connection.softError ?? 'ETIMEDOUT');
    return;
  }
  retransmissionTimeout(connection, now);
  rethinkFlowLabel(connection);
  const first = connection.inFlight.firstLost();
  connection.probeDeadline = Infinity;
  if (first) {
    // A timeout's retransmission goes at once, and the pacing schedule counts it (as Linux's
    // tcp_retransmit_timer, which does not wait for the pacing timer).
    if (!retransmit(connection, first, now)) {
      connection.stats.increment('tcp.rto.droppedLocally');
      connection.retransmitDeadline = now + LOCAL_CONGESTION_RETRY_MS;
      return;
    }
    pacingUnitSent(connection, first.length, now);
  }
  retransmitTimerBackoff(connection);
  armRetransmitTimer(connection, now);
}

/**
 * A retransmission timeout that does not end the connection re-rolls its flow label, as Linux's
 * tcp_write_timeout calls sk_rethink_txhash (and tcp_rtx_synack for a SYN-ACK): the path in use
 * may be failing, and a new label lets a router hashing on it (ECMP) pick another. RFC 6437 §3
 * keeps a flow's label constant so that its packets keep one path and their order; after a
 * timeout nothing is in order to keep (ip/ipv6-flow-label.ts). The next segment, the
 * retransmission, carries the new label; counted in tcpi_rehash, for IPv4 too, as Linux counts
 * every socket's rethink.
 */
function rethinkFlowLabel(connection: TcpConnection): void {
  connection.flowLabelRehashes++;
  connection.flowLabel = -1;
}
