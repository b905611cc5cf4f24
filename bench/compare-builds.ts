/**
 * Two builds of ustack in one process, measured in turns: the checkout this script was built in
 * and another one (`OTHER` — a clone at an older commit, built with `npx tsc -p
 * tsconfig.build.json`). Each round runs the same small workload on one build and then on the
 * other (the order alternating), timed in CPU time of this process, and the script prints the
 * median round of each and the ratio of their speeds.
 *
 * Why: on a shared machine, wall-clock figures of two separate runs differ by ±20% with the load
 * and with what the JIT happened to compile, which hides a regression of 10–30%. Paired rounds in
 * one process share the load and the machine's state, so the ratio holds where the separate
 * figures do not (run it with the same directory twice to see the noise: about 1.00 ± 0.02).
 *
 *   npm run bench:compare -- /tmp/base [rr|connect|bulk] [rounds]
 *
 * Rounds: rr 5,000 one-byte transactions, connect 500 connections opened and closed, bulk 20 MB
 * on one connection — the parts of bench/tcp-virtual.ts, on the same two-stack virtual network.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bulk, connectClose, requestResponse, type Build } from './tcp-workloads.js';

/** The modules of the build in `directory` (a dist/ folder) that the workloads use. */
async function load(directory: string): Promise<Build> {
  const module = (path: string) => import(pathToFileURL(resolve(directory, path)).href);
  const [network, rng, result, address] = await Promise.all([
    module('src/socket-api/virtual-network.js'),
    module('src/core/rng.js'),
    module('src/core/result.js'),
    module('src/ip/address.js'),
  ]);
  return { VirtualNetwork: network.VirtualNetwork, Rng: rng.Rng, unwrap: result.unwrap, parseIpv4Address: address.parseIpv4Address };
}

/** CPU time of this process (ms): what a round cost, whatever else the machine ran meanwhile. */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

const WORKLOADS: Record<string, (build: Build) => number> = {
  rr: (build) => requestResponse(build, cpuMs, 5_000),
  connect: (build) => connectClose(build, cpuMs, 500),
  bulk: (build) => bulk(build, cpuMs, 1, 20_000_000),
};

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

async function main(): Promise<void> {
  const [other, part = 'rr', roundsText = '30'] = process.argv.slice(2);
  const workload = WORKLOADS[part];
  const rounds = Number(roundsText);
  if (!other || !workload || !(rounds > 0)) {
    console.error('usage: npm run bench:compare -- OTHER_CHECKOUT [rr|connect|bulk] [rounds]   (OTHER_CHECKOUT built: dist/ present)');
    process.exit(2);
  }
  const here = await load(new URL('..', import.meta.url).pathname);
  const there = await load(resolve(other, 'dist'));
  for (let i = 0; i < 3; i++) for (const build of [here, there]) workload(build); // both compiled before timing
  const times = new Map<Build, number[]>([
    [here, []],
    [there, []],
  ]);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [here, there] : [there, here];
    for (const build of order) times.get(build)!.push(workload(build));
  }
  const ours = median(times.get(here)!);
  const theirs = median(times.get(there)!);
  const ratios = times
    .get(there)!
    .map((t, i) => t / times.get(here)![i])
    .sort((a, b) => a - b);
  console.log(`${part}, ${rounds} paired rounds, CPU ms per round (median): this build ${ours.toFixed(1)}, ${other} ${theirs.toFixed(1)}`);
  console.log(
    `speed of this build / ${other}: ${median(ratios).toFixed(3)} (median of the rounds' ratios; quartiles ${ratios[rounds >> 2].toFixed(2)}–${ratios[(3 * rounds) >> 2].toFixed(2)})`,
  );
}

await main();
