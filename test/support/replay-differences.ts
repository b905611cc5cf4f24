/**
 * Rules both kernel-fixture tests (test/replay/kernel-fixtures.test.ts, ipv6-kernel-fixtures.test.ts)
 * use to name a divergence of a replayed Linux capture as one of the documented differences
 * (docs/replay.md).
 */
import type { Divergence } from '../../src/replay.js';

/** The TS ecr value in a segment's option text (`TS val 1 ecr 2`), or NaN without one. */
export function echoedTimestamp(options: string): number {
  return Number(/ecr (\d+)/.exec(options)?.[1]);
}

/**
 * Whether an options divergence is the relay's ('tap-before-relay'): on a capture taken a relay
 * away from the host, ustack echoed a newer TS val than the host did, whose segment reached the
 * tap only after the peer's next one.
 */
export function echoedAfterRelay(d: Divergence, relayed: boolean): boolean {
  const { expected, actual } = d;
  if (!relayed || !expected || !actual || !d.message.includes('echoed TS ecr')) return false;
  return echoedTimestamp(actual.options) > echoedTimestamp(expected.options);
}

/** Whether a SYN's options differ from the host's in the window scale alone ('syn-window-scale'). */
export function onlyWindowScaleDiffers(d: Divergence): boolean {
  const { expected, actual } = d;
  if (!expected || !actual || !expected.flags.includes('S')) return false;
  return expected.options.replace(/wscale \d+/, '') === actual.options.replace(/wscale \d+/, '');
}

/**
 * The rules both tests try first: every window difference is the receive window's (ustack's
 * autotuning is not Linux's), and an options difference the relay made is the relay's.
 */
export function sharedDifference(d: Divergence, relayed: boolean): 'receive-window' | 'tap-before-relay' | null {
  if (d.kind === 'window') return 'receive-window';
  if (d.kind === 'options' && echoedAfterRelay(d, relayed)) return 'tap-before-relay';
  return null;
}
