/**
 * The soak, three minutes of it (issue 11): `ustack up` with 2% loss each way under HTTP, churn,
 * UDP, pings, fragments and a spoofed-SYN trickle; no errors and no heap growth trend after the
 * first minute. The hour-long run is `npm run soak` (bench/soak.ts).
 */
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { runSoak } from '../../bench/soak.js';
import { describeInterop, IN_CI } from './kernel-peer.js';

const missing = ['hping3'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0);

describeInterop('interop: soak', () => {
  const name = '3 minutes of mixed load over 2% loss: every request answered, no heap growth trend';
  if (missing.length > 0 && !IN_CI) {
    console.warn(`SKIPPED (needs ${missing.join(', ')}): ${name}`);
    it.skip(name, () => {});
    return;
  }
  it(
    name,
    async () => {
      const lines: string[] = [];
      const summary = await runSoak({ minutes: 3, lossPercent: 2, log: (line) => lines.push(line) });
      console.log(`soak:\n${lines.join('\n')}\n${JSON.stringify({ ...summary, samples: undefined })}`);
      expect(summary.failures, lines.join('\n')).toEqual([]);
      expect(summary.httpRequests).toBeGreaterThan(0);
      expect(summary.samples.length).toBeGreaterThanOrEqual(18);
    },
    300_000,
  );
});
