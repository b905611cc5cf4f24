/**
 * Pacing: the rate Linux gives a connection (tcp_update_pacing_rate) and, with TcpConfig.pacing,
 * a schedule that spreads send units over the round trip at that rate instead of sending each
 * window as one burst. No TCP RFC specifies pacing; RFC 9002 §7.7 describes the same idea for
 * QUIC (a rate of N·cwnd/SRTT, units released no faster than it allows). Without TcpConfig.pacing
 * the rate still sizes send units (output.ts sendUnitSegments, Linux's TSO autosizing) and
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

/**
 * Data segments a connection sends before pacing starts: sch_fq gives a new flow an initial
 * quantum of ten packets, and Linux's TCP leaves its first ten data segments unpaced to match
 * (tcp_update_skb_after_send).
 */
export const UNPACED_DATA_SEGMENTS = 10;

/**
 * When the next send unit may leave (Linux's earliest departure time, tcp_wstamp_ns): each unit
 * pushes it on by the unit's length at the pacing rate. A sender that fell behind the schedule
 * (it had nothing to send, or its timer ran late) gets the lost time back as credit, but never
 * more than half of a unit's time, so it cannot burst (Linux's allowance for OS jitter).
 */
export class PacingSchedule {
  /** The earliest time (ms) the next unit may leave. */
  private nextDepartureAt = 0;

  /** The earliest time (ms) the next unit may leave; at or before `now`, it may leave now. */
  get nextDeparture(): number {
    return this.nextDepartureAt;
  }

  /**
   * A unit of `bytes` (payload) left at `now`, at `bytesPerSecond` (0: unpaced), with
   * `dataSegmentsSent` data segments sent so far, this unit's included.
   */
  unitSent(bytes: number, now: number, bytesPerSecond: number, dataSegmentsSent: number): void {
    const prior = this.nextDepartureAt;
    if (now > prior) this.nextDepartureAt = now;
    if (bytesPerSecond <= 0 || dataSegmentsSent < UNPACED_DATA_SEGMENTS) return;
    const lengthMs = (bytes * 1000) / bytesPerSecond;
    const credit = this.nextDepartureAt - prior;
    this.nextDepartureAt += lengthMs - Math.min(lengthMs / 2, credit);
  }
}

/**
 * With TcpConfig.pacing: whether the next unit must wait, arming the pacing timer for when it
 * may leave. Without pacing, never.
 */
export function pacingHolds(connection: TcpConnection, now: number): boolean {
  if (!connection.host.config.pacing) return false;
  const at = connection.pacing.nextDeparture;
  if (at <= now) return false;
  connection.pacingDeadline = at;
  return true;
}

/** With TcpConfig.pacing: a unit of `bytes` left at `now`; the schedule moves on. */
export function pacingUnitSent(connection: TcpConnection, bytes: number, now: number): void {
  if (!connection.host.config.pacing || bytes <= 0) return;
  connection.pacing.unitSent(bytes, now, pacingRate(connection), connection.info.dataSegmentsOut);
}
