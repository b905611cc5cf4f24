/**
 * The real iperf3 client (Debian's iperf3) against ustack's iperf3-compatible server on a TUN
 * device: forward (the kernel sends) and reverse with two parallel streams (we send). iperf3's
 * own JSON report is the oracle: the protocol ran to the end, and the byte counts each side
 * gives agree.
 */
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { startIperf3Server } from '../../examples/iperf3-server.js';
import { closePeersAfterEach, describeInterop, IN_CI, KernelPeer, STACK_ADDRESS } from './kernel-peer.js';

/** iperf3 is installed by `npm test` / .ci/run; without it the test is skipped loudly, except under CI. */
const HAS_IPERF3 = spawnSync('sh', ['-c', 'command -v iperf3'], { stdio: 'ignore' }).status === 0;
if (!HAS_IPERF3 && !IN_CI) console.warn('SKIPPED (needs iperf3): interop iperf3 client → ustack iperf3 server');

interface Iperf3Report {
  readonly error?: string;
  readonly start: { readonly test_start: { readonly num_streams: number; readonly reverse: number } };
  readonly end: {
    readonly streams: readonly unknown[];
    readonly sum_sent: { readonly bytes: number };
    readonly sum_received: { readonly bytes: number };
  };
}

describeInterop('interop: iperf3 against ustack', () => {
  let peer: KernelPeer | null = null;
  closePeersAfterEach();

  it.skipIf(!HAS_IPERF3 && !IN_CI)(
    'iperf3 -c (the kernel sends) and iperf3 -c -R -P 2 (we send on two streams) run to the end and agree on the bytes',
    async () => {
      peer = new KernelPeer();
      const lines: string[] = [];
      startIperf3Server(peer.stack, 5201, (line) => lines.push(line));
      const run = async (args: string[]): Promise<Iperf3Report> => {
        const result = await peer!.run(['iperf3', '-c', STACK_ADDRESS, '-t', '1', '-J', ...args], { timeoutMs: 30_000 });
        const report = JSON.parse(result.stdout.toString()) as Iperf3Report;
        expect(report.error).toBeUndefined();
        expect(result.code).toBe(0);
        return report;
      };
      const forward = await run([]);
      expect(forward.start.test_start).toMatchObject({ num_streams: 1, reverse: 0 });
      expect(forward.end.sum_received.bytes).toBeGreaterThan(1_000_000);
      // What we counted is what iperf3 reports as received (our results), and the kernel sent it.
      const counted = Number(/^iperf3: received (\d+) bytes/.exec(lines.find((l) => l.startsWith('iperf3: received')) ?? '')?.[1]);
      expect(forward.end.sum_received.bytes).toBe(counted);
      expect(forward.end.sum_sent.bytes).toBeGreaterThanOrEqual(counted);

      const reverse = await run(['-R', '-P', '2']);
      expect(reverse.start.test_start).toMatchObject({ num_streams: 2, reverse: 1 });
      expect(reverse.end.streams).toHaveLength(2);
      expect(reverse.end.sum_received.bytes).toBeGreaterThan(1_000_000);
      expect(lines.filter((l) => l.startsWith('iperf3: a test from'))).toEqual([
        'iperf3: a test from 10.77.0.1: 1 stream(s), we receive',
        'iperf3: a test from 10.77.0.1: 2 stream(s), we send',
      ]);
    },
    90_000,
  );
});
