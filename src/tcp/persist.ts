/**
 * The persist timer's expiry: the zero-window probe (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17) and,
 * with the window open, the send of data a cork held or the interface's full transmit queue
 * dropped (Linux's resource probe). output.ts arms the timer when data waits with nothing in
 * flight; it is disarmed when data leaves (output.ts) or the window opens (input.ts).
 */
import { NO_BYTES } from '../core/bytes.js';
import type { TcpConnection } from './connection.js';
import { LOCAL_CONGESTION_RETRY_MS } from './deadlines.js';
import { transmitPending, transmitSegment } from './output.js';
import { seqAdd } from './seq.js';
import { TcpFlag } from './tcp-packet.js';

/**
 * The probe timer, armed when data waits with nothing in flight. With the window closed, a
 * zero-window probe (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17): an ACK with SEG.SEQ = SND.UNA−1
 * makes the peer answer with its current window. Backs off exponentially and never gives up
 * while the peer answers (each answer resets `timeoutCount`) — unless a user timeout is set,
 * which bounds the whole episode. With the window open, the data itself goes (a cork held it,
 * or the interface's full transmit queue dropped it); while the queue keeps dropping it, it is
 * tried every 500 ms, each try counted as a probe (as Linux's tcp_send_probe0), under the same
 * limits.
 */
export function onPersistTimer(connection: TcpConnection, now: number): void {
  connection.persistDeadline = Infinity;
  if (connection.unsentBytes <= 0 || connection.flightSize > 0) return;
  connection.zeroWindowSince ??= now;
  const userTimeout = connection.options.userTimeoutMs;
  if (connection.timeoutCount >= connection.host.config.dataRetries || (userTimeout > 0 && now - connection.zeroWindowSince >= userTimeout)) {
    connection.stats.increment('tcp.persist.giveUp');
    connection.closeWithError(connection.softError ?? 'ETIMEDOUT');
    return;
  }
  if (connection.sndWnd > 0) {
    // The window is open but a cork (TCP_CORK, MSG_MORE) held a partial segment, or the
    // transmit queue dropped the data, with nothing in flight: send it, with PSH (Linux's
    // tcp_write_wakeup).
    connection.stats.increment('tcp.cork.probeSends');
    if (!transmitPending(connection, now, { wakeup: true })) {
      connection.zeroWindowSince = null;
      connection.timeoutCount = 0;
      return;
    }
    connection.stats.increment('tcp.tx.resourceProbes');
    connection.timeoutCount++;
    connection.persistDeadline =
      userTimeout > 0 ? Math.min(now + LOCAL_CONGESTION_RETRY_MS, Math.max(now, connection.zeroWindowSince + userTimeout)) : now + LOCAL_CONGESTION_RETRY_MS;
    return;
  }
  connection.stats.increment('tcp.tx.windowProbes');
  connection.timeoutCount++;
  transmitSegment(connection, now, seqAdd(connection.sndUna, -1), TcpFlag.ACK, NO_BYTES);
  connection.persistBackoff++;
  const interval = Math.min(connection.rtt.rto * 2 ** connection.persistBackoff, connection.host.config.maxRtoMs);
  // With a user timeout the timer also fires when it runs out (as the retransmission timer).
  connection.persistDeadline = userTimeout > 0 ? Math.min(now + interval, Math.max(now, connection.zeroWindowSince + userTimeout)) : now + interval;
}
