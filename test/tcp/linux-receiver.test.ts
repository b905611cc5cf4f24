/**
 * The receiver rules of Linux's profile that the RFCs leave open, each against the RFC default
 * (TcpConfig doc comments name Linux's code): SACK blocks that take in a FIN held out of order.
 */
import { describe, expect, it } from 'vitest';
import { LINUX_PROFILE } from '../../src/tcp/profiles.js';
import type { TcpOption } from '../../src/tcp/tcp-options.js';
import { ACK, ack, established, FIN, flags, sackBlocks } from './harness.js';

const SACK_PEER: TcpOption[] = [{ kind: 'maxSegmentSize', mss: 1460 }, { kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' }];

describe('a FIN held out of order in a SACK block (TcpConfig.sackCoversFin)', () => {
  const finAfterHole = (tcp: object) => {
    const h = established({ peerSynOptions: SACK_PEER, tcp });
    h.send({ seq: h.peerSeq(100), ack: h.ourSeq(0), flags: ACK | FIN, payload: 100 });
    return h;
  };

  it('by default the block covers the data only (RFC 2018 §3: blocks of data)', () => {
    const h = finAfterHole({});
    h.expectSent(flags(ACK), ack(h.peerSeq(0)), sackBlocks([{ leftEdge: h.peerSeq(100), rightEdge: h.peerSeq(200) }]));
  });

  it("with Linux's profile the block ends after the FIN, as tcp_sack_new_ofo_skb reports the segment's end_seq", () => {
    const h = finAfterHole(LINUX_PROFILE);
    h.expectSent(flags(ACK), ack(h.peerSeq(0)), sackBlocks([{ leftEdge: h.peerSeq(100), rightEdge: h.peerSeq(201) }]));
    // The hole filled: data and FIN are acknowledged together and the block goes.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 100 });
    h.expectSent(flags(ACK), ack(h.peerSeq(201)), sackBlocks([]));
    h.expectState('CLOSE-WAIT');
    expect(h.read()).toHaveLength(200);
  });
});
