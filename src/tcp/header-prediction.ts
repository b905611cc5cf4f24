/**
 * Header prediction (Van Jacobson's, in BSD's tcp_input; Linux's tcp_rcv_established fast path).
 * Nearly every segment an established connection receives is the one it expects: the next in
 * sequence, with nothing but an ACK and perhaps data and PSH. For such a segment the checks that
 * RFC 9293 §3.10.7.4 makes before its fifth step (ACK) have known outcomes, and of the steps
 * after it only the ACK, the timestamps and the text have anything to do; input.ts then runs
 * those same steps and skips the rest. Whatever else arrives takes the full path.
 *
 * The prediction changes no rule: the steps run for a predicted segment are the full path's own
 * functions, in the full path's order, and every check left out is one the conditions below
 * settle in advance. test/tcp/header-prediction.test.ts runs the same traffic with the
 * prediction on and off and compares every byte sent and every counter.
 */
import type { TcpConnection } from './connection.js';
import type { Segment } from './segment.js';
import { TcpFlag } from './tcp-packet.js';

/** Whether input.ts takes the short path for predicted segments; tests turn it off to compare. */
export const headerPrediction = { enabled: true };

/** IP's ECN field: Congestion Experienced (RFC 3168 §5). */
const ECN_CE = 3;

/**
 * Whether `segment` (its IP header's ECN field `ecnField`) is one the short path may take, after
 * the PAWS test (RFC 7323 §5.3) accepted it. Each condition stands for a rule whose outcome it
 * fixes:
 *
 * - ESTABLISHED: the state whose segments are predicted; the other synchronized states have
 *   their own endings (FIN acknowledged, data after close, TIME-WAIT).
 * - ACK set and no other flag but PSH: no SYN (RFC 5961 §4: a challenge ACK), no RST (RFC 5961
 *   §3), no URG (sixth step), no FIN (eighth step), no ECE or CWR (RFC 3168 §6.1.2–6.1.3).
 * - SEG.SEQ = RCV.NXT: the segment is acceptable whatever the receive window (the four cases of
 *   §3.10.7.4 each admit an in-order segment: with a zero window its text is trimmed in the
 *   seventh step, as on the full path), and its text needs no trimming at the front.
 * - Not marked CE (RFC 3168 §6.1.3: the mark is echoed and ACKed at once).
 */
export function segmentIsPredicted(connection: TcpConnection, segment: Segment, ecnField: number): boolean {
  return connection.state === 'ESTABLISHED' && (segment.flags & ~TcpFlag.PSH) === TcpFlag.ACK && segment.seq === connection.rcvNxt && ecnField !== ECN_CE;
}
