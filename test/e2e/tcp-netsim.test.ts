/**
 * The netsim scenario suite: two stacks on a virtual wire, one connection, 10 MB each way at
 * the same time, bit-exact (SHA-256 per direction), FIN both ways, for every link below and
 * three seeds. Each run must finish (both ends in TIME-WAIT or CLOSED, no error) within a
 * virtual-time bound derived from the link model, so a pass shows that recovery works and
 * not only that the transfer ends eventually. On a failed assertion both stacks' captures are
 * written to `captures/failures/<scenario>-seed<N>.pcap` (client view) and `…-server.pcap`.
 *
 * Every seed moves the full 10 MB each way (about 1 s of wall time per run here).
 * `NETSIM_VERBOSE=1` prints the table of runs; `NETSIM_SEEDS=4-40` runs other seeds; `NETSIM_SNAPLEN=65535` keeps whole frames in
 * the captures (the default keeps 128 bytes: every header and option).
 *
 * Every scenario runs over IPv6 too (fd00::1 → fd00::2, `RunOptions.family`), with the same
 * assertions and bounds computed for IPv6's MSS (1428 = 1500 − 40 − 20 − 12: a 40-byte IP
 * header, so 1.4% more segments for the same bytes); for time, over the first seed only unless
 * `NETSIM_SEEDS6` names others (`NETSIM_SEEDS6=1-3`).
 *
 * Link model, unless a scenario says otherwise: 1 ms one way (2 ms base RTT), MTU 1500, and a
 * 100 Mbit/s bottleneck in each direction (12.5 MB/s, `rateBytesPerSecond`) with a 1000-frame
 * queue: deeper than the 1 MiB default window (~725 full frames), so no scenario loses a frame
 * to the queue, only to the fault it names. Faults apply to what each side transmits, so data
 * and ACKs in both directions suffer them.
 *
 * Bounds (B = bytes each way, MSS 1448 = 1500 − 40 − 12 of timestamps, N = B / MSS segments):
 *
 *  scenario   link                        bound (ms)                                why
 *  none       as above                    1.1·line + 20                             line = N·1500 B / 12.5 MB/s (829 ms
 *                                                                                   for 10 MB) plus ACK overhead (<10%),
 *                                                                                   handshake, one doubling of IW10 to
 *                                                                                   the 25 KB BDP, FINs: a few RTTs.
 *  loss1/5    + lossRate 1% / 5%          2·B/min(line rate, Mathis) + RTO_min      Mathis et al.: MSS/RTT·√(3/2b)/√p
 *  corrupt1   + corruptRate 1%            (as loss1)                                with b = 2 (delayed ACKs), RTT 2 ms.
 *                                                                                   Twice that model: repair by SACK and
 *                                                                                   RACK keeps to it; falling back to
 *                                                                                   200 ms timeouts would be ~100× slower.
 *  loss20     + lossRate 20%              1.5·(N·RTT/W + N·P_to·RTO_min/(1−2q))     W = √(3/2bp) ≈ 1.9 segments per RTT
 *                                                                                   (Mathis), plus timeouts (Padhye et al.):
 *                                                                                   a segment needs one when it is lost and
 *                                                                                   both RACK's chance (the next segment and
 *                                                                                   its ACK arrive) and the tail loss probe's
 *                                                                                   fail: q = 1−(1−p)² = 36% each, P_to =
 *                                                                                   p·q² ≈ 2.6%. Each timeout costs RTO_min,
 *                                                                                   doubled per failed retry: Σ(2q)^k =
 *                                                                                   1/(1−2q) = 3.6. ≈ 200 s for 10 MB; runs
 *                                                                                   take 43–63 s, but the backoff makes the
 *                                                                                   tail heavy (one seed in 15: 151 s, six
 *                                                                                   straight failures costing 100 s).
 *  dup5       + duplicateRate 5%          as none                                   a duplicate leaves with its original
 *                                                                                   (no extra link time in this model).
 *  reorder10  + reorderRate 10%, 5 ms,    1.5·(2·RTT + n·RTT), n = √(100 + 2N) − 10   a held frame is 5 ms late, a quarter of
 *             10 ms one way (20 ms RTT)                                             the RTT: RACK's window (min_RTT/4 × a
 *                                                                                   multiplier that D-SACKs grow) covers it
 *                                                                                   once reordering has been seen. Before
 *                                                                                   that, one segment may be called lost:
 *                                                                                   worst case the window then grows from
 *                                                                                   IW by one segment per RTT, n rounds.
 *                                                                                   RACK caps its window at SRTT (RFC 8985
 *                                                                                   §6.2), so on the 2 ms base RTT a 5 ms
 *                                                                                   skew (2.5 RTTs late) is loss to any
 *                                                                                   RTT-scaled detector; hence 20 ms here.
 *  delay64k   50 ms one way, 1 Gbit/s     1.1·(RTT + B/(W/RTT) + 3 RTT + RTT)       window-limited: W/RTT = 655 KB/s,
 *             (4000-frame queue), 64 KiB  and at least B/(W/RTT)                    15.3 s for 10 MB; slow start to 64 KiB
 *             buffers (W)                                                           takes 3 RTTs.
 *  delay4m    50 ms one way, 1 Gbit/s     1.1·(RTT + (log2(W/IW)+1)·RTT             BDP 12.5 MB > W: window-limited at
 *             4 MiB buffers               + B/(W/RTT) + RTT)                        41.9 MB/s after slow start (9 RTTs).
 *                                                                                   Its bound (≈1.5 s) is 10× below the
 *                                                                                   64 KiB floor.
 *  outage     as none; everything both    none + 3000 + (3000 + 2·R)                after the link returns, the next
 *             ways dropped for 3 s from                                             retransmission comes within one
 *             t = 100 + 97·(seed mod 7) ms                                          backed-off RTO: with timeouts at t1,
 *                                                                                   t1+2R, t1+6R, … the interval after the
 *                                                                                   last one inside the outage is less than
 *                                                                                   3000 + 2R, R the RTO before backoff
 *                                                                                   (≤ 500 ms: SRTT ≤ 2 ms + the 84 ms a
 *                                                                                   1 MiB window can queue, RTO ≤ 5·SRTT).
 *  zerowin    as none; the server stops   none + 30000 + RTT                        the client persists (zero-window
 *             reading for 30 s after 1 MB                                           probes) while the server does not
 *                                                                                   read; reading again sends a window
 *                                                                                   update at once on this lossless link.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Stats } from '../../src/core/stats.js';
import type { FaultConfig } from '../../src/link/fault-injector.js';
import type { CounterName } from '../../src/socket-api/counters.js';
import { describeRun, runScenario, writeFailureCaptures, type RunResult, type Scenario } from './netsim.js';

/** Three seeds; `NETSIM_SEEDS=4-40` (a range or a comma list) soaks more. */
const SEEDS = parseSeeds(process.env.NETSIM_SEEDS ?? '1-3');
/** The seeds each scenario runs over IPv6 (`NETSIM_SEEDS6`); the first IPv4 seed by default. */
const SEEDS6 = parseSeeds(process.env.NETSIM_SEEDS6 ?? String(SEEDS[0]));

function parseSeeds(text: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) return Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i);
  return text.split(',').map(Number);
}
const BYTES = 10_000_000;
/** MSS over IPv4 with timestamps: 1500 − 20 − 20 − 12. */
const MSS = 1448;
/** The MSS of each family: IPv6's header is 20 bytes longer (RFC 8200 §3). */
const MSS_OF = { 4: MSS, 6: 1428 } as const;
const FRAME = 1500;
/** 100 Mbit/s. */
const RATE = 12_500_000;
const QUEUE = 1000;
/** Holds a whole 4 MiB window (~2900 frames): the delay scenarios have no bottleneck queue. */
const DEEP_QUEUE = 4000;
const LATENCY = 1;
const RTT = 2 * LATENCY;
const MIN_RTO = 200;
const IW = 10 * MSS;

const link = (faults: FaultConfig = {}) => ({ latencyMs: LATENCY, faults: { rateBytesPerSecond: RATE, queueLimit: QUEUE, ...faults } });
const segments = (bytes: number, mss: number = MSS) => Math.ceil(bytes / mss);
/** Time to serialise `bytes` of payload in full frames at `rate` (ms). */
const lineMs = (bytes: number, mss: number = MSS, rate = RATE) => (segments(bytes, mss) * FRAME * 1000) / rate;
/** The lossless bound: line time plus 10%, and 20 ms for handshake, slow start and FINs. */
const cleanBound = (bytes: number, mss: number = MSS) => 1.1 * lineMs(bytes, mss) + 20;
/** Mathis et al. (1997) with delayed ACKs (b = 2), bytes per second at loss rate p. */
const mathis = (p: number, mss: number, rttMs = RTT) => (((mss * 1000) / rttMs) * Math.sqrt(3 / 4)) / Math.sqrt(p);
const lossBound =
  (p: number) =>
  (bytes: number, mss: number = MSS) =>
    2 * ((bytes * 1000) / Math.min(mathis(p, mss), (RATE * mss) / FRAME)) + MIN_RTO;

/** Counters summed over both stacks. */
const both = (r: RunResult, name: CounterName) => r.client.stats.get(name) + r.server.stats.get(name);
/** Frames a stack dropped because the bytes did not decode: every IPv4 drop and TCP's codec drops. */
const integrityDrops = (stats: Stats<CounterName>) =>
  stats.sum('drop.ipv4.') +
  stats.sum('drop.ipv6.') + // a corrupted version nibble of 6 makes the packet IPv6's to refuse
  (['truncated', 'badHeaderLength', 'badTotalLength', 'badChecksum', 'badOption', 'badField'] as const).reduce(
    (n, reason) => n + stats.get(`drop.tcp.${reason}`),
    0,
  );

interface Case {
  readonly scenario: (seed: number) => Scenario;
  /** Upper bound on the virtual completion time (ms) for `bytes` each way in segments of `mss`. */
  readonly bound: (bytes: number, mss: number) => number;
  /** Lower bound, where the model has one worth checking. */
  readonly floor?: (bytes: number) => number;
  /** What shows the scenario's mechanism at work. */
  readonly check: (r: RunResult) => void;
}

const cases: Record<string, Case> = {
  none: {
    scenario: () => ({ name: 'none', link: link() }),
    bound: cleanBound,
    check: (r) => {
      expect(both(r, 'tcp.tx.retransmits')).toBe(0);
      expect(r.client.stats.sum('drop.') + r.server.stats.sum('drop.')).toBe(0);
    },
  },
  loss1: {
    scenario: () => ({ name: 'loss1', link: link({ lossRate: 0.01 }) }),
    bound: lossBound(0.01),
    check: (r) => {
      expect(r.client.stats.get('tcp.tx.retransmits')).toBeGreaterThan(0);
      expect(r.server.stats.get('tcp.tx.retransmits')).toBeGreaterThan(0);
      expect(both(r, 'tcp.rack.lost')).toBeGreaterThan(0);
    },
  },
  loss5: {
    scenario: () => ({ name: 'loss5', link: link({ lossRate: 0.05 }) }),
    bound: lossBound(0.05),
    check: (r) => {
      expect(r.client.stats.get('tcp.tx.retransmits')).toBeGreaterThan(0);
      expect(r.server.stats.get('tcp.tx.retransmits')).toBeGreaterThan(0);
      expect(both(r, 'tcp.rack.lost')).toBeGreaterThan(0);
    },
  },
  loss20: {
    scenario: () => ({ name: 'loss20', link: link({ lossRate: 0.2 }) }),
    bound: (bytes, mss) => {
      const p = 0.2;
      const window = Math.sqrt(3 / (4 * p)); // Mathis, b = 2: segments per RTT
      const roundTripFails = 1 - (1 - p) ** 2; // the segment or its ACK is lost
      const timeoutChance = p * roundTripFails ** 2;
      // Each retry fails with roundTripFails and doubles the RTO: Σ (2q)^k = 1/(1 − 2q).
      return 1.5 * ((segments(bytes, mss) * RTT) / window + (segments(bytes, mss) * timeoutChance * MIN_RTO) / (1 - 2 * roundTripFails));
    },
    check: (r) => {
      expect(r.client.stats.get('tcp.rack.lost')).toBeGreaterThan(0);
      expect(r.server.stats.get('tcp.rack.lost')).toBeGreaterThan(0);
      expect(both(r, 'tcp.tlp.probes')).toBeGreaterThan(0);
      expect(both(r, 'tcp.rto.fired')).toBeGreaterThan(0);
      // ACKs are lost too: echoes older than a retransmission give no RTT sample (Karn).
      expect(both(r, 'tcp.rtt.ambiguousEcho')).toBeGreaterThan(0);
    },
  },
  dup5: {
    scenario: () => ({ name: 'dup5', link: link({ duplicateRate: 0.05 }) }),
    bound: cleanBound,
    check: (r) => {
      // The receiver reports each duplicate with a D-SACK (RFC 2883); nothing is resent for them.
      expect(r.client.stats.get('tcp.rx.dsack')).toBeGreaterThan(0);
      expect(r.server.stats.get('tcp.rx.dsack')).toBeGreaterThan(0);
      expect(both(r, 'tcp.tx.retransmits')).toBe(0);
    },
  },
  reorder10: {
    scenario: () => ({ name: 'reorder10', link: { ...link({ reorderRate: 0.1, reorderDelayMs: 5 }), latencyMs: 10 } }),
    bound: (bytes, mss) => {
      const rtt = 20;
      // Worst case: a reordered segment is called lost before RACK has seen any reordering, and
      // the window grows from IW by one segment per RTT from then on.
      const rounds = -10 + Math.sqrt(100 + 2 * segments(bytes, mss));
      return 1.5 * (2 * rtt + rounds * rtt);
    },
    check: (r) => {
      expect(r.clientFaults!.stats.get('fault.reordered')).toBeGreaterThan(0);
      for (const stack of [r.client, r.server]) {
        // RACK's reordering window holds back all but a handful of retransmissions (under 1%:
        // the window undone after a spurious recovery puts more in flight when the next
        // reordering comes), and every one of those is reported spurious by a D-SACK: this link
        // loses nothing.
        expect(stack.stats.get('tcp.tx.retransmits')).toBeLessThanOrEqual(0.01 * segments(r.bytes, MSS_OF[r.family]));
        expect(stack.stats.get('tcp.rx.dsack')).toBeLessThanOrEqual(stack.stats.get('tcp.tx.retransmits'));
      }
      // RFC 3708 / RFC 9438 §4.9: a recovery all of whose retransmissions were D-SACKed is undone.
      expect(both(r, 'tcp.cwnd.undone')).toBeGreaterThan(0);
    },
  },
  corrupt1: {
    scenario: () => ({ name: 'corrupt1', link: link({ corruptRate: 0.01 }) }),
    bound: lossBound(0.01),
    check: (r) => {
      // Every corrupted frame is caught by a checksum (or a length check) and counted.
      expect(r.client.stats.get('drop.tcp.badChecksum') + r.client.stats.get('drop.ipv4.badChecksum')).toBeGreaterThan(0);
      if (r.family === 4) {
        expect(integrityDrops(r.server.stats)).toBe(r.clientFaults!.stats.get('fault.corrupted'));
        expect(integrityDrops(r.client.stats)).toBe(r.serverFaults!.stats.get('fault.corrupted'));
      } else {
        // IPv6 has no header checksum (RFC 8200 §3, left to the upper layer's over §8.1's
        // pseudo-header): a flip in the Traffic Class, Flow Label or Hop Limit leaves the packet
        // deliverable and whole, and no check counts it (36 of the header's 320 bits). Every other
        // flip is caught and counted.
        for (const [stats, faults] of [
          [r.server.stats, r.clientFaults!],
          [r.client.stats, r.serverFaults!],
        ] as const) {
          const corrupted = faults.stats.get('fault.corrupted');
          expect(integrityDrops(stats)).toBeLessThanOrEqual(corrupted);
          expect(integrityDrops(stats)).toBeGreaterThanOrEqual(0.9 * corrupted);
        }
      }
      expect(r.client.stats.get('tcp.tx.retransmits')).toBeGreaterThan(0);
    },
  },
  delay64k: {
    scenario: () => ({
      name: 'delay64k',
      link: { latencyMs: 50, faults: { rateBytesPerSecond: 10 * RATE, queueLimit: DEEP_QUEUE } },
      tcp: { receiveBufferSize: 65536, sendBufferSize: 65536 },
    }),
    bound: (bytes) => 1.1 * (100 + (bytes * 100) / 65536 + 3 * 100 + 100),
    floor: (bytes) => (bytes * 100) / 65536,
    check: (r) => expect(both(r, 'tcp.tx.retransmits')).toBe(0),
  },
  delay4m: {
    scenario: () => ({
      name: 'delay4m',
      link: { latencyMs: 50, faults: { rateBytesPerSecond: 10 * RATE, queueLimit: DEEP_QUEUE } },
      tcp: { receiveBufferSize: 4 << 20, sendBufferSize: 4 << 20 },
    }),
    bound: (bytes) => 1.1 * (100 + (Math.ceil(Math.log2((4 << 20) / IW)) + 1) * 100 + (bytes * 100) / (4 << 20) + 100),
    check: (r) => expect(both(r, 'tcp.tx.retransmits')).toBe(0),
  },
  outage: {
    // Starts somewhere in the first 700 ms of the ~850 ms transfer, by seed.
    scenario: (seed) => ({ name: 'outage', link: { ...link(), outage: { startMs: 100 + 97 * (seed % 7), durationMs: 3000 } } }),
    bound: (bytes, mss) => cleanBound(bytes, mss) + 3000 + (3000 + 2 * 500),
    floor: () => 3000,
    check: (r) => {
      expect(r.outageDrops).toBeGreaterThan(0);
      expect(r.client.stats.get('tcp.rto.fired')).toBeGreaterThan(0);
      expect(r.server.stats.get('tcp.rto.fired')).toBeGreaterThan(0);
    },
  },
  tso: {
    // TCP segmentation offload on both ends: new data leaves in segments of up to 64 KiB that
    // cross whole (TSO meeting GRO); the receiver ACKs each at once.
    scenario: () => ({ name: 'tso', link: { ...link(), segmentationOffload: true } }),
    bound: cleanBound,
    check: (r) => {
      const frames = r.client.stats.get('link.eth0.tx.frames');
      expect(frames).toBeGreaterThan(0);
      expect(frames).toBeLessThan(segments(BYTES, MSS_OF[r.family]) / 4);
      expect(both(r, 'tcp.tx.retransmits')).toBe(0);
    },
  },
  tsoLoss1: {
    // 1% of frames lost, each large segment lost whole: SACK marks what arrived, and the lost
    // ranges go again as MSS-sized retransmissions (the queue splits them).
    scenario: () => ({ name: 'tsoLoss1', link: { ...link({ lossRate: 0.01 }), segmentationOffload: true } }),
    bound: lossBound(0.01),
    check: (r) => {
      expect(both(r, 'tcp.tx.retransmits')).toBeGreaterThan(0);
      expect(both(r, 'tcp.rx.sackedSegments')).toBeGreaterThan(0);
    },
  },
  renege: {
    // 1% loss, and each receiver once discards the out-of-order data it has SACKed (RFC 2018
    // §8). The sender sees a SACKed segment at SND.UNA, shortens its timer (Linux's
    // tcp_check_sack_reneging), and the timeout forgets the SACK marks and resends from SND.UNA.
    // Without that the SACKed-but-discarded segment at SND.UNA is never resent and the transfer
    // stalls until the retries run out.
    scenario: () => ({ name: 'renege', link: link({ lossRate: 0.01 }), receiverReneges: true }),
    bound: (bytes, mss) => lossBound(0.01)(bytes, mss) + 2 * MIN_RTO,
    check: (r) => {
      expect(r.reneges.client).toBe(1);
      expect(r.reneges.server).toBe(1);
      expect(r.client.stats.get('tcp.sack.reneging')).toBeGreaterThan(0);
      expect(r.server.stats.get('tcp.sack.reneging')).toBeGreaterThan(0);
    },
  },
  zerowin: {
    scenario: () => ({ name: 'zerowin', link: link(), readerPause: { afterBytes: 1_000_000, durationMs: 30_000 } }),
    bound: (bytes, mss) => cleanBound(bytes, mss) + 30_000 + RTT,
    floor: () => 30_000,
    check: (r) => {
      expect(r.client.stats.get('tcp.tx.windowProbes')).toBeGreaterThan(0);
      expect(both(r, 'tcp.tx.retransmits')).toBe(0);
    },
  },
};

const table: string[] = [];
afterAll(() => {
  if (process.env.NETSIM_VERBOSE) console.log(['scenario  seed  virtual ms  bound ms  wall ms', ...table].join('\n'));
});

describe('netsim: 10 MB each way at once, bit-exact, within a virtual-time bound', () => {
  for (const [name, testCase] of Object.entries(cases)) {
    describe(name, () => {
      const runs = [...SEEDS.map((seed) => [4, seed] as const), ...SEEDS6.map((seed) => [6, seed] as const)];
      for (const [family, seed] of runs) {
        it(`${family === 6 ? 'IPv6, ' : ''}seed ${seed}`, () => {
          const bound = testCase.bound(BYTES, MSS_OF[family]);
          const result = runScenario(testCase.scenario(seed), { seed, bytes: BYTES, limitMs: Math.max(4 * bound, 60_000), family });
          table.push(
            `${(family === 6 ? `${name}/6` : name).padEnd(11)} ${String(seed).padStart(5)} ${(result.closedAt ?? NaN).toFixed(1).padStart(11)} ${bound.toFixed(0).padStart(9)} ${result.wallMs.toFixed(0).padStart(8)}`,
          );
          try {
            expect(result.failure).toBe(null);
            expect(result.client.lastInternalError).toBe(null);
            expect(result.server.lastInternalError).toBe(null);
            expect(result.clientToServer.exact).toBe(true);
            expect(result.serverToClient.exact).toBe(true);
            expect(result.closeErrors).toEqual({ client: null, server: null });
            expect(result.closedAt).toBeLessThanOrEqual(bound);
            if (testCase.floor) expect(result.closedAt).toBeGreaterThanOrEqual(testCase.floor(BYTES));
            testCase.check(result);
          } catch (error) {
            const files = writeFailureCaptures(result);
            if (error instanceof Error) error.message += `\n${describeRun(result)}\ncaptures: ${files.join(' ')}`;
            throw error;
          }
        });
      }
    });
  }
});
