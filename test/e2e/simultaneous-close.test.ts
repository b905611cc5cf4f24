/**
 * A simultaneous close (RFC 9293 Figure 13) over a link that duplicates segments, under
 * ustack's defaults and the Linux and FreeBSD profiles: both ends must reach TIME-WAIT (or
 * CLOSED, once the TIME-WAIT record took over) within a bounded number of segments.
 *
 * Under the FreeBSD profile every ACK repeats the sender's unacknowledged FIN
 * (TcpConfig.repeatFinInAcks). With RFC 9293's first check alone each side found the other's
 * repeat wholly old, ACKed it and dropped it unread — the ACK of its own FIN included — so both
 * stayed in CLOSING trading ACKs for ever, more of them with each duplicate. The profile reads
 * the ACK field of such a segment as FreeBSD's tcp_input does (TcpConfig.oldSegmentAck).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { unwrap } from '../../src/core/result.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import type { CounterName } from '../../src/socket-api/counters.js';
import { FREEBSD_PROFILE, LINUX_PROFILE } from '../../src/tcp/profiles.js';

const SERVER = parseIpv4Address('10.0.0.2')!;
const PORT = 5001;
/** Segments both ends may send between the two CLOSE calls and both ends' TIME-WAIT. */
const SEGMENT_BOUND = 24;

interface Outcome {
  readonly states: string[];
  /** Segments both stacks sent from the CLOSE calls until both ends were done (or the limit). */
  readonly segments: number;
  readonly oldSegmentAcksRead: number;
  readonly finsRepeated: number;
  readonly duplicated: number;
}

function simultaneousClose(seed: number, tcp: Partial<TcpConfig>): Outcome {
  const rng = new Rng(seed);
  const net = new VirtualNetwork(seed);
  const client = net.createStack('client', { tcp });
  const server = net.createStack('server', { tcp });
  // Duplication and a little reordering, no loss: every segment arrives at least once, so the
  // close needs no retransmission timer and its length is the segments' count alone.
  const faults = { duplicateRate: 0.3, reorderRate: 0.1, reorderDelayMs: 1 };
  const wire = net.connect({ stack: client, address: '10.0.0.1/24', faults }, { stack: server, address: '10.0.0.2/24', faults }, { latencyMs: 1 });
  const drain = (connection: TcpConnection) => {
    connection.events.onReadable = () => {
      for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) {
        // read and discard
      }
    };
  };
  const listener = unwrap(server.tcp.listen(0, PORT));
  let accepted: TcpConnection | null = null;
  listener.onAcceptable = () => {
    accepted = listener.accept();
    if (accepted) drain(accepted);
  };
  const connection = unwrap(client.tcp.connect(SERVER, PORT));
  drain(connection);
  net.runUntil(() => accepted !== null, 10_000);
  const ends: TcpConnection[] = [connection, accepted!];
  // Some data both ways first, so that each FIN follows text and ACKs are in flight.
  ends[0]!.send(rng.bytes(1 + (rng.nextU32() % 3000)));
  ends[1]!.send(rng.bytes(1 + (rng.nextU32() % 3000)));
  net.runUntilIdle(2000);
  expect(ends.map((e) => e.state)).toEqual(['ESTABLISHED', 'ESTABLISHED']);

  const sent = () => client.stats.get('tcp.tx.segments') + server.stats.get('tcp.tx.segments');
  const before = sent();
  ends[0]!.close();
  ends[1]!.close();
  const done = () => ends.every((e) => e.state === 'TIME-WAIT' || e.state === 'CLOSED');
  // 10 s of virtual time, or 4 times the bound's segments, whichever ends first.
  net.runUntil(() => done() || sent() - before > 4 * SEGMENT_BOUND, 10_000);
  const both = (name: CounterName) => client.stats.get(name) + server.stats.get(name);
  return {
    states: ends.map((e) => e.state),
    segments: sent() - before,
    oldSegmentAcksRead: both('tcp.rx.oldSegmentAckRead'),
    finsRepeated: both('tcp.tx.finRepeated'),
    duplicated: wire.a.faults!.stats.get('fault.duplicated') + wire.b.faults!.stats.get('fault.duplicated'),
  };
}

const PROFILES: [string, Partial<TcpConfig>][] = [
  ['defaults', {}],
  ['Linux', LINUX_PROFILE],
  ['FreeBSD', FREEBSD_PROFILE],
];

describe('simultaneous close over a duplicating link', () => {
  for (const [name, tcp] of PROFILES) {
    for (const seed of [1, 2, 3, 4]) {
      it(`${name}, seed ${seed}: both ends reach TIME-WAIT within ${SEGMENT_BOUND} segments`, () => {
        const outcome = simultaneousClose(seed, tcp);
        for (const state of outcome.states) expect(['TIME-WAIT', 'CLOSED']).toContain(state);
        expect(outcome.segments).toBeLessThanOrEqual(SEGMENT_BOUND);
        if (name === 'FreeBSD') {
          // The case the fix is for: FINs repeated in ACKs, and their ACK fields read.
          expect(outcome.finsRepeated).toBeGreaterThan(0);
          expect(outcome.oldSegmentAcksRead).toBeGreaterThan(0);
        } else {
          expect(outcome.finsRepeated).toBe(0);
          expect(outcome.oldSegmentAcksRead).toBe(0);
        }
      });
    }
  }

  it('the link duplicated segments in these runs', () => {
    for (const seed of [1, 2, 3, 4]) expect(simultaneousClose(seed, FREEBSD_PROFILE).duplicated).toBeGreaterThan(0);
  });

  it("FreeBSD's FIN repeats with RFC 9293's drop-unread rule never finish the close", () => {
    // The configuration the FreeBSD profile had before oldSegmentAck: the ACK exchange does not end.
    const outcome = simultaneousClose(1, { ...FREEBSD_PROFILE, oldSegmentAck: 'ignore' });
    expect(outcome.states).toEqual(['CLOSING', 'CLOSING']);
    expect(outcome.segments).toBeGreaterThan(4 * SEGMENT_BOUND);
  });
});
