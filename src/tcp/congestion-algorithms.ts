/**
 * The congestion-control algorithms by name: builds the controller a connection asked for
 * (TCP_CONGESTION, TcpConfig.congestionControl). Apart from congestion.ts, which the
 * controllers themselves import for the interface and what they share.
 */
import type { CongestionAlgorithm, CongestionControl, CongestionControlOptions } from './congestion.js';
import { CubicCongestionControl } from './congestion-cubic.js';
import { LinuxCubicCongestionControl } from './congestion-cubic-linux.js';
import { NewRenoCongestionControl } from './congestion-newreno.js';

/** Builds a controller for `algorithm` with sender MSS `mss` bytes. */
export function createCongestionControl(algorithm: CongestionAlgorithm, mss: number, options: CongestionControlOptions = {}): CongestionControl {
  switch (algorithm) {
    case 'newreno':
      return new NewRenoCongestionControl(mss, options);
    case 'cubic':
      return options.cubicImplementation === 'linux' ? new LinuxCubicCongestionControl(mss, options) : new CubicCongestionControl(mss, options);
  }
}
