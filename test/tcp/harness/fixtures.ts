/**
 * Fixtures that put a connection in each RFC 9293 state by real segment exchanges, in the manner
 * of smoltcp's `socket_established()`, `socket_fin_wait_2()`, …
 */
import { unwrap } from '../../../src/core/result.js';
import type { TcpConnection, TcpState } from '../../../src/tcp/connection.js';
import type { TcpOption } from '../../../src/tcp/tcp-options.js';
import { ACK, ack, checkSegment, FIN, flags, seq, SYN, type Sent } from './segment-checks.js';
import { CONNECT_PORT, LISTEN_PORT, mssOnly, PEER_ADDRESS, PEER_CLIENT_PORT, TcpHarness, type HarnessOptions } from './tcp-harness.js';

// ---- fixtures: a connection in each state -----------------------------------------------------

/** How a fixture builds its connection. */
export interface FixtureOptions extends HarnessOptions {
  /** Passive (we listen; default) or active (we connect). */
  readonly open?: 'passive' | 'active';
  /** Options on the peer's SYN or SYN-ACK (default: MSS 1460 only). Timestamps here make the peer use them. */
  readonly peerSynOptions?: readonly TcpOption[];
  readonly peerIss?: number;
  /** The peer's window field on its SYN / SYN-ACK and on its handshake ACK. */
  readonly peerWindow?: number;
  /** Applied to the connection before its SYN is sent (active open only). */
  readonly configure?: (connection: TcpConnection) => void;
  /** Listen backlog (passive open). */
  readonly backlog?: number;
  /**
   * Virtual time between our SYN (or SYN-ACK) and the segment acknowledging it: the handshake's
   * RTT sample. 0 by default, which gives SRTT 1 ms and the 200 ms minimum RTO.
   */
  readonly handshakeRttMs?: number;
}

function newHarness(options: FixtureOptions): TcpHarness {
  const h = new TcpHarness(options);
  if (options.peerIss !== undefined) h.peerIss = options.peerIss >>> 0;
  return h;
}

function peerUsesTimestamps(options: FixtureOptions): boolean {
  return (options.peerSynOptions ?? []).some((o) => o.kind === 'timestamps');
}

/** LISTEN on port 80: `h.listener`; no connection yet. */
export function listening(options: FixtureOptions = {}): TcpHarness {
  const h = newHarness(options);
  h.listener = unwrap(h.stack.tcp.listen(0, LISTEN_PORT, options.backlog));
  h.ourPort = LISTEN_PORT;
  h.peerPort = PEER_CLIENT_PORT;
  h.listener.onAcceptable = () => {
    const accepted = h.listener!.accept();
    if (accepted) h.watch(accepted);
  };
  return h;
}

/** SYN-SENT: we connected from 49152 to the peer's port 80; our SYN has been taken (`h.ourSyn`). */
export function synSent(options: FixtureOptions = {}): TcpHarness & { ourSyn: Sent } {
  const h = newHarness(options);
  h.ourPort = CONNECT_PORT;
  h.peerPort = LISTEN_PORT;
  const connection = unwrap(h.stack.tcp.connect(PEER_ADDRESS, LISTEN_PORT, { localPort: CONNECT_PORT, configure: options.configure }));
  h.watch(connection);
  const ourSyn = h.expectSent(flags(h.synFlags), seq(connection.iss));
  h.expectState('SYN-SENT');
  return Object.assign(h, { ourSyn });
}

/**
 * SYN-RECEIVED. Passive: the peer's SYN arrived at our listener and our SYN-ACK was taken
 * (`h.ourSynAck`). Active: simultaneous open, our SYN crossed the peer's SYN.
 */
export function synReceived(options: FixtureOptions = {}): TcpHarness & { ourSynAck: Sent } {
  if (options.open === 'active') {
    const h = synSent(options);
    h.peerTimestamps = peerUsesTimestamps(options);
    h.send({ seq: h.peerIss, flags: SYN, window: options.peerWindow, options: options.peerSynOptions ?? mssOnly() });
    const ourSynAck = h.expectSent(flags(SYN | ACK), seq(h.iss), ack(h.peerSeq(0)));
    h.expectState('SYN-RECEIVED');
    return Object.assign(h, { ourSynAck });
  }
  const h = listening(options);
  h.peerTimestamps = peerUsesTimestamps(options);
  h.send({ seq: h.peerIss, flags: SYN, window: options.peerWindow, options: options.peerSynOptions ?? mssOnly() });
  const ourSynAck = h.take();
  if (ourSynAck.length !== 1) throw new Error(`synReceived: expected a SYN-ACK, got ${ourSynAck.length} segments`);
  const connection = h.stack.tcp.listConnections().find((c) => c.remotePort === PEER_CLIENT_PORT);
  if (!connection) throw new Error('synReceived: no half-open connection');
  h.watch(connection);
  checkSegment(ourSynAck[0], flags(SYN | ACK), seq(connection.iss), ack(h.peerSeq(0)));
  h.expectState('SYN-RECEIVED');
  return Object.assign(h, { ourSynAck: ourSynAck[0] });
}

/** ESTABLISHED by a three-way handshake (passive by default; `open: 'active'` connects). */
export function established(options: FixtureOptions = {}): TcpHarness {
  if (options.open === 'active') {
    const h = synSent(options);
    h.peerTimestamps = peerUsesTimestamps(options);
    h.advance(options.handshakeRttMs ?? 0);
    h.send({ seq: h.peerIss, ack: h.ourSeq(0), flags: SYN | ACK, window: options.peerWindow, options: options.peerSynOptions ?? mssOnly() });
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
    h.expectState('ESTABLISHED');
    h.events.length = 0;
    return h;
  }
  const h = synReceived(options);
  h.advance(options.handshakeRttMs ?? 0);
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: options.peerWindow });
  h.expectNothingSent();
  h.expectState('ESTABLISHED');
  if (h.listener!.acceptQueue.length !== 0) throw new Error('established: the connection was not accepted');
  h.events.length = 0;
  return h;
}

/** FIN-WAIT-1: established, then the user closed; our FIN (seq ourSeq(0)) was taken. */
export function finWait1(options: FixtureOptions = {}): TcpHarness {
  const h = established(options);
  h.conn.close();
  h.expectSent(flags(FIN | ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
  h.expectState('FIN-WAIT-1');
  return h;
}

/** FIN-WAIT-2: the peer acknowledged our FIN. */
export function finWait2(options: FixtureOptions = {}): TcpHarness {
  const h = finWait1(options);
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: ACK });
  h.expectNothingSent();
  h.expectState('FIN-WAIT-2');
  return h;
}

/** TIME-WAIT: the peer's FIN (seq peerSeq(0)) arrived in FIN-WAIT-2 and was acknowledged. */
export function timeWait(options: FixtureOptions = {}): TcpHarness {
  const h = finWait2(options);
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: FIN | ACK });
  h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(1)));
  h.expectState('TIME-WAIT');
  return h;
}

/** CLOSE-WAIT: the peer's FIN (seq peerSeq(0)) arrived in ESTABLISHED and was acknowledged. */
export function closeWait(options: FixtureOptions = {}): TcpHarness {
  const h = established(options);
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: FIN | ACK });
  h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(1)));
  h.expectState('CLOSE-WAIT');
  h.events.length = 0;
  return h;
}

/** LAST-ACK: in CLOSE-WAIT the user closed; our FIN (seq ourSeq(0)) was taken. */
export function lastAck(options: FixtureOptions = {}): TcpHarness {
  const h = closeWait(options);
  h.conn.close();
  h.expectSent(flags(FIN | ACK), seq(h.ourSeq(0)), ack(h.peerSeq(1)));
  h.expectState('LAST-ACK');
  return h;
}

/** CLOSING: our FIN crossed the peer's FIN, which did not acknowledge ours. */
export function closing(options: FixtureOptions = {}): TcpHarness {
  const h = finWait1(options);
  h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: FIN | ACK });
  h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(1)));
  h.expectState('CLOSING');
  return h;
}

/** Every synchronized state, with how to build it, for tests that cover them all. */
export const SYNCHRONIZED_FIXTURES: ReadonlyArray<readonly [TcpState, (options?: FixtureOptions) => TcpHarness]> = [
  ['ESTABLISHED', established],
  ['FIN-WAIT-1', finWait1],
  ['FIN-WAIT-2', finWait2],
  ['CLOSE-WAIT', closeWait],
  ['CLOSING', closing],
  ['LAST-ACK', lastAck],
  ['TIME-WAIT', timeWait],
];
