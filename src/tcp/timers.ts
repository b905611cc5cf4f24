/**
 * The mechanism every TCP timer shares: `runTimers(now)` fires the connection's due deadlines
 * (deadlines.ts) in a fixed order, each through its owner. Retransmission (RFC 6298):
 * retransmit-timer.ts; RACK's reordering timer and the tail loss probe (RFC 8985): rack.ts;
 * persist / zero-window probe (RFC 9293 §3.8.6.1): persist.ts; delayed ACK (RFC 1122 §4.2.3.2,
 * RFC 5681 §4.2) and pacing: output.ts; keepalive (RFC 1122 §4.2.3.6): keepalive.ts; the orphaned
 * FIN-WAIT-2 timeout: the connection's close path. TIME-WAIT's 2·MSL is its record's (time-wait.ts).
 */
import type { TcpConnection } from './connection.js';
import { onDelayedAckTimer, transmitPending } from './output.js';
import { onPersistTimer } from './persist.js';
import { onProbeTimer, onReorderTimer } from './rack.js';
import { onRetransmitTimer } from './retransmit-timer.js';

/** Fires every timer due at `now`, in a fixed order. */
export function runTimers(connection: TcpConnection, now: number): void {
  if (connection.finWait2Deadline <= now) {
    connection.onFinWait2Timer();
    return;
  }
  // The probe timer stands in for the RTO while it is armed (RFC 8985 §7.2 caps the PTO at the
  // RTO; §7.3 re-arms the RTO after the probe): when both fall due together, the probe goes and
  // the RTO starts over from it (Linux has one timer for both, so it never sees both due).
  if (connection.probeDeadline <= now && connection.probeDeadline <= connection.retransmitDeadline) onProbeTimer(connection, now);
  if (connection.retransmitDeadline <= now) onRetransmitTimer(connection, now);
  if (isClosed(connection)) return;
  if (connection.rackDeadline <= now) onReorderTimer(connection, now);
  if (connection.pacingDeadline <= now) {
    // The pacing schedule lets the next send unit go (TcpConfig.pacing).
    connection.pacingDeadline = Infinity;
    transmitPending(connection, now);
  }
  if (connection.probeDeadline <= now) onProbeTimer(connection, now);
  if (connection.persistDeadline <= now) onPersistTimer(connection, now);
  if (connection.keepaliveDeadline <= now) connection.keepalive.onTimer(now);
  if (isClosed(connection)) return;
  if (connection.delayedAckDeadline <= now) onDelayedAckTimer(connection, now);
}

/** Read through a function so the compiler does not narrow the state across calls that change it. */
function isClosed(connection: TcpConnection): boolean {
  return connection.state === 'CLOSED';
}
