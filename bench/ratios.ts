/**
 * Ratios of the benchmark tables: one of ustack's columns over the best of the peers that do the
 * same work (bench/tun.ts compares ustack with TUN offload to gVisor with GSO, and ustack without
 * offload to the better of gVisor and lwIP without). Above 1 means ustack did better, whichever
 * way the measure runs (for a latency, lower is better and the ratio is inverted).
 */

/** ustack's column and the columns of the peers it is held against. */
export interface Comparison {
  readonly ours: string;
  readonly peers: readonly string[];
}

/** ustack's figure over the best peer's, and which peer that was. */
export interface BestRatio {
  readonly ratio: number;
  readonly peer: string;
}

/** The best of `peers` measured in `figures`: the highest, or the lowest when lower is better. */
export function bestPeer(figures: ReadonlyMap<string, number>, peers: readonly string[], higherIsBetter: boolean): { peer: string; value: number } | undefined {
  let best: { peer: string; value: number } | undefined;
  for (const peer of peers) {
    const value = figures.get(peer);
    if (value === undefined || !Number.isFinite(value)) continue;
    if (!best || (higherIsBetter ? value > best.value : value < best.value)) best = { peer, value };
  }
  return best;
}

/** How much better `ours` is than `theirs`: ours/theirs, or theirs/ours when lower is better. */
export function betterBy(ours: number, theirs: number, higherIsBetter: boolean): number {
  return higherIsBetter ? ours / theirs : theirs / ours;
}

/** ustack's ratio to the best peer of `comparison`; undefined when either side was not measured. */
export function ratioToBest(figures: ReadonlyMap<string, number>, comparison: Comparison, higherIsBetter: boolean): BestRatio | undefined {
  const ours = figures.get(comparison.ours);
  const best = bestPeer(figures, comparison.peers, higherIsBetter);
  if (ours === undefined || best === undefined) return undefined;
  return { ratio: betterBy(ours, best.value, higherIsBetter), peer: best.peer };
}
