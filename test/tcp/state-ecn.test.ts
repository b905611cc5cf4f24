/**
 * ECN on an established connection (RFC 3168 §6.1): which packets are ECN-capable, echoing
 * Congestion Experienced with ECE until CWR, and the sender's once-per-window reduction.
 */
import { describe, expect, it } from 'vitest';
import { ACK, ack, CWR, ECE, established, flags, mssOnly, PSH, seq, SYN, synSent, type TcpHarness } from './harness.js';

const ECT0 = 2;
const CE = 3;

/** An established connection with ECN negotiated (active open, ECN-setup SYN-ACK). */
function ecnEstablished(): TcpHarness {
  const h = synSent();
  h.peerIss = 5000;
  h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK | ECE, options: mssOnly() });
  h.expectSent(flags(ACK), ack(5001));
  expect(h.conn.ecn.enabled).toBe(true);
  return h;
}

describe('ECN-capable transport (RFC 3168 §6.1.1, §6.1.4, §6.1.5)', () => {
  it('new data goes out ECT(0); pure ACKs are not ECN-capable', () => {
    const h = ecnEstablished();
    h.write(100);
    const data = h.expectSent(flags(ACK | PSH));
    expect(data.ip.ecn).toBe(ECT0);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(100), flags: ACK | PSH, payload: 10 });
    const pureAck = h.expectSent(flags(ACK));
    expect(pureAck.ip.ecn).toBe(0);
  });

  it('a retransmission is not ECN-capable (RFC 3168 §6.1.5)', () => {
    const h = ecnEstablished();
    h.write(100);
    h.take();
    h.advance(h.conn.rtt.rto);
    const retransmission = h.expectSent(seq(h.ourSeq(0)));
    expect(retransmission.ip.ecn).toBe(0);
  });

  it('without ECN negotiated nothing is ECN-capable', () => {
    const h = established();
    h.write(100);
    expect(h.expectSent(flags(ACK | PSH)).ip.ecn).toBe(0);
  });
});

describe('Congestion Experienced (RFC 3168 §6.1.3)', () => {
  it('a CE-marked segment is ACKed at once with ECE, and ECE stays set until a segment with CWR arrives', () => {
    const h = ecnEstablished();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 100, ecn: CE });
    h.expectSent(flags(ACK | ECE), ack(h.peerSeq(100)));
    h.send({ seq: h.peerSeq(100), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100, ecn: ECT0 });
    h.expectSent(flags(ACK | ECE), ack(h.peerSeq(200)));
    h.send({ seq: h.peerSeq(200), ack: h.ourSeq(0), flags: ACK | PSH | CWR, payload: 100, ecn: ECT0 });
    h.expectSent(flags(ACK), ack(h.peerSeq(300)));
  });

  it('ECE reduces the congestion window once per window of data, and the next new data carries CWR (RFC 3168 §6.1.2)', () => {
    const h = ecnEstablished();
    h.conn.setNoDelay(true);
    h.write(1000);
    h.take();
    const before = h.conn.cc.cwnd;
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1000), flags: ACK | ECE });
    expect(h.conn.cc.cwnd).toBeLessThan(before);
    const reduced = h.conn.cc.cwnd;
    expect(h.stat('tcp.ecn.reductions')).toBe(1);
    h.write(100);
    const next = h.expectSent(seq(h.ourSeq(1000)));
    expect(next.tcp.flags & CWR).toBe(CWR);
    // A second ECE for data sent before the reduction does not reduce again.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1000), flags: ACK | ECE });
    expect(h.conn.cc.cwnd).toBe(reduced);
    expect(h.stat('tcp.ecn.reductions')).toBe(1);
  });
});
