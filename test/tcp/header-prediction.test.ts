/**
 * Header prediction (src/tcp/header-prediction.ts) is an implementation of RFC 9293 §3.10.7.4,
 * not a rule of its own: the same traffic through stacks with the short path on and off must
 * leave the same bytes on the wire, in both directions, and the same counters. The traffic is
 * random (a seeded Rng): writes of random sizes both ways, a reader that sometimes lets its
 * buffer fill (zero windows, window updates), and a lossy link that drops, duplicates, reorders
 * and marks CE — so in-order segments, out-of-order ones, duplicate ACKs, SACK blocks, recovery
 * and ECN all occur, under ustack's defaults and under the Linux and FreeBSD profiles.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { unwrap } from '../../src/core/result.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import { headerPrediction } from '../../src/tcp/header-prediction.js';
import { FREEBSD_PROFILE, LINUX_PROFILE } from '../../src/tcp/profiles.js';

const SERVER = parseIpv4Address('10.0.0.2')!;
const PORT = 5001;
const PREDICTED = 'tcp.rx.headerPredicted';
/** Seeds of the random runs (HP_SEEDS=4,5 tries others). */
const SEEDS = (process.env.HP_SEEDS ?? '1,2,3').split(',').map(Number);

interface Outcome {
  /** Both sides' captures (pcap bytes, virtual timestamps): every segment each side sent and got. */
  readonly captures: Uint8Array[];
  /** Both stacks' counters, header prediction's own left out. */
  readonly counters: Record<string, number>[];
  /** Bytes each side received, in order, hashed by a simple sum of position × byte. */
  readonly received: number[];
  /** Segments header prediction took, both stacks. */
  readonly predicted: number;
  /** Each end's variables and deadlines after every round (`snapshot`). */
  readonly states: string[];
}

/** A connection's sequence variables, windows, RTT, congestion state and every deadline. */
function snapshot(c: TcpConnection): string {
  return JSON.stringify([
    c.state,
    c.sndUna,
    c.sndNxt,
    c.sndWnd,
    c.sndWl1,
    c.sndWl2,
    c.maxSndWnd,
    c.rcvNxt,
    c.rcvAdvertisedEdge,
    c.cc.cwnd,
    c.cc.ssthresh,
    c.rtt.srtt ?? null,
    c.rtt.rto,
    c.recovery.state,
    c.dupAcks,
    c.inFlight.length,
    c.timeoutCount,
    c.firstUnackedSentAt,
    c.retransmitDeadline,
    c.probeDeadline,
    c.persistDeadline,
    c.delayedAckDeadline,
    c.keepaliveDeadline,
    c.rackDeadline,
    c.pollAt(),
  ]);
}

/** One seeded run of random traffic between two stacks, with header prediction on or off. */
function run(seed: number, tcp: Partial<TcpConfig>, predicting: boolean): Outcome {
  headerPrediction.enabled = predicting;
  const rng = new Rng(seed);
  const net = new VirtualNetwork(seed);
  const client = net.createStack('client', { tcp });
  const server = net.createStack('server', { tcp });
  const faults = {
    lossRate: rng.nextFloat() * 0.03,
    duplicateRate: rng.nextFloat() * 0.02,
    reorderRate: rng.nextFloat() * 0.05,
    reorderDelayMs: 2,
    congestionMarkRate: rng.nextFloat() * 0.02,
  };
  const wire = net.connect(
    { stack: client, address: '10.0.0.1/24', faults, capture: true },
    { stack: server, address: '10.0.0.2/24', faults, capture: true },
    { latencyMs: 1 },
  );
  const data = rng.bytes(1 << 16);
  const sums = [0, 0];
  const counts = [0, 0];
  const readers: boolean[] = [true, true];
  const attach = (side: number, connection: TcpConnection) => {
    connection.events.onReadable = () => {
      if (!readers[side]) return;
      for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) {
        for (let i = 0; i < chunk.length; i++) sums[side] = (sums[side] + (counts[side] + i + 1) * chunk[i]) % 0x7fffffff;
        counts[side] += chunk.length;
      }
    };
  };
  const listener = unwrap(server.tcp.listen(0, PORT));
  let accepted: TcpConnection | null = null;
  listener.onAcceptable = () => {
    accepted = listener.accept();
    if (accepted) attach(1, accepted);
  };
  const connection = unwrap(client.tcp.connect(SERVER, PORT));
  attach(0, connection);
  net.runUntil(() => accepted !== null, 10_000);
  const ends: TcpConnection[] = [connection, accepted!];
  const states: string[] = [];
  for (let round = 0; round < 60; round++) {
    const side = rng.nextU32() % 2;
    const size = [1, 100, 1448, 5000, 40_000][rng.nextU32() % 5];
    const offset = rng.nextU32() % (data.length - size);
    ends[side].send(data.subarray(offset, offset + size));
    // Now and then a reader stops for a while: its window closes, then opens again.
    if (rng.nextU32() % 8 === 0) {
      const reader = rng.nextU32() % 2;
      readers[reader] = !readers[reader];
      ends[reader].events.onReadable?.();
    }
    net.runUntilIdle(1 + (rng.nextU32() % 20));
    states.push(snapshot(ends[0]), snapshot(ends[1]));
  }
  readers[0] = readers[1] = true;
  for (const end of ends) end.events.onReadable?.();
  net.runUntilIdle(2000);
  for (const end of ends) end.events.onReadable?.();
  // One side closes first: a simultaneous close under the FreeBSD profile (repeatFinInAcks) over
  // a duplicating link can turn into an endless exchange of FIN-carrying ACKs, with or without
  // header prediction (reported separately; not what this test is about).
  connection.close();
  net.runUntilIdle(2000);
  ends[1].close();
  net.runUntilIdle(120_000);
  const counters = [client, server].map((stack) => {
    const snapshot = { ...stack.stats.snapshot() };
    delete snapshot[PREDICTED];
    return snapshot;
  });
  return {
    captures: [wire.a.tap!.toBytes(), wire.b.tap!.toBytes()],
    counters,
    received: [sums[0], sums[1], counts[0], counts[1]],
    predicted: client.stats.get(PREDICTED) + server.stats.get(PREDICTED),
    states,
  };
}

const CONFIGS: Record<string, Partial<TcpConfig>> = {
  defaults: {},
  'Linux profile, ECN': { ...LINUX_PROFILE, ecn: 'on' },
  'FreeBSD profile': FREEBSD_PROFILE,
  'no SACK, no timestamps (NewReno recovery)': { sack: false, timestamps: false },
};

describe('header prediction takes the full path’s steps (RFC 9293 §3.10.7.4)', () => {
  afterEach(() => {
    headerPrediction.enabled = true;
  });

  for (const [name, tcp] of Object.entries(CONFIGS)) {
    it(`random traffic over a lossy, reordering link sends the same segments and counts the same with it on and off: ${name}`, () => {
      for (const seed of SEEDS) {
        const fast = run(seed, tcp, true);
        const full = run(seed, tcp, false);
        expect(full.predicted).toBe(0);
        expect(fast.predicted).toBeGreaterThan(100); // the short path did run
        expect(fast.received).toEqual(full.received);
        expect(fast.states).toEqual(full.states);
        expect(fast.counters).toEqual(full.counters);
        expect(Buffer.from(fast.captures[0]).equals(Buffer.from(full.captures[0]))).toBe(true);
        expect(Buffer.from(fast.captures[1]).equals(Buffer.from(full.captures[1]))).toBe(true);
      }
    });
  }
});
