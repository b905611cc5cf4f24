/**
 * State tests for TCP in the manner of smoltcp's socket tests and gVisor's checkers: a whole
 * Stack (10.0.0.1) on a link that captures what it sends, a hand-driven peer (10.0.0.2) whose
 * segments are real bytes with correct checksums entering through IP input, and virtual time
 * that moves only when the test says so.
 *
 *     const h = established();
 *     h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
 *     h.expectNothingSent();                      // delayed ACK
 *     h.advance(40);
 *     h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(100)));
 *
 * Fixtures put a connection in each RFC 9293 state by real segment exchanges, in the manner of
 * smoltcp's `socket_established()`: the peer's ISN is chosen (`peerIss`), ours is read from the
 * connection (`iss`); `ourSeq(n)` / `peerSeq(n)` give the sequence number of data byte `n` of
 * each direction (byte 0 follows the SYN).
 */
export * from './harness/segment-checks.js';
export * from './harness/tcp-harness.js';
export * from './harness/fixtures.js';
