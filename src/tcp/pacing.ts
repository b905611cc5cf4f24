/**
 * The pacing rate Linux would give a connection (tcp_update_pacing_rate). ustack does not pace;
 * the rate sizes its send units (output.ts sendUnitSegments, as Linux's TSO autosizing) and
 * HyStart's allowance for ACKs a burst delays (congestion-cubic-linux.ts).
 */
import type { TcpConnection } from './connection.js';

/**
 * Bytes per second: cwnd (or the flight, if larger) per SRTT, times the slow-start ratio while
 * cwnd is under half of ssthresh and the congestion-avoidance ratio after it (percent;
 * TcpConfig.pacingSlowStartRatio, pacingCongestionAvoidanceRatio). 0 before an RTT sample.
 */
export function pacingRate(connection: TcpConnection): number {
  const srtt = connection.rtt.srtt;
  if (srtt === undefined || srtt <= 0) return 0;
  const config = connection.host.config;
  const cc = connection.cc;
  const ratio = cc.cwnd < cc.ssthresh / 2 ? config.pacingSlowStartRatio : config.pacingCongestionAvoidanceRatio;
  return (Math.max(cc.cwnd, connection.flightSize) * ratio) / 100 / (srtt / 1000);
}
