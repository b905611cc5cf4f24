/**
 * Opening: CLOSED (RFC 9293 §3.10.7.1), LISTEN (§3.10.7.2), SYN-SENT (§3.10.7.3), SYN-RECEIVED
 * and simultaneous open (§3.10.7.4, Figure 8), and SYNs arriving in synchronized states
 * (RFC 5961 §4).
 */
import { describe, expect, it } from 'vitest';
import { IpProtocol } from '../../src/ip/ipv4.js';
import { seqAdd } from '../../src/tcp/seq.js';
import { emitTcp, tcpLength } from '../../src/tcp/tcp-packet.js';
import { addr, ipv4Frame } from '../support/packets.js';
import {
  ACK,
  ack,
  CONNECT_PORT,
  established,
  FIN,
  flags,
  LISTEN_PORT,
  linuxSynOptions,
  listening,
  mssOnly,
  noOptions,
  options,
  OUR_ADDRESS,
  payloadLength,
  PEER_ADDRESS,
  ports,
  PSH,
  RST,
  seq,
  SYN,
  SYNCHRONIZED_FIXTURES,
  synReceived,
  synSent,
  TcpHarness,
  window,
} from './harness.js';

describe('CLOSED: a segment for no connection is answered with RST (RFC 9293 §3.10.7.1)', () => {
  it('a SYN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>', () => {
    const h = new TcpHarness();
    h.send({ seq: 1000, flags: SYN, options: mssOnly() });
    h.expectSent(flags(RST | ACK), seq(0), ack(1001), window(0), noOptions(), ports(LISTEN_PORT, 40000));
    expect(h.stat('tcp.rx.noConnection')).toBe(1);
  });

  it('data without ACK: the ACK covers the data and the FIN', () => {
    const h = new TcpHarness();
    h.send({ seq: 1000, flags: PSH | FIN, payload: 10 });
    h.expectSent(flags(RST | ACK), seq(0), ack(1011));
  });

  it('a segment with ACK: <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = new TcpHarness();
    h.send({ seq: 1000, ack: 0xdeadbeef, flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(RST), seq(0xdeadbeef), ack(0), noOptions());
  });
});

describe('segments that never reach the state machine', () => {
  it('a bad checksum is dropped and counted, never answered', () => {
    const h = listening();
    h.send({ seq: 1000, flags: SYN, options: mssOnly() });
    const good = h.take()[0];
    expect(good.tcp.flags).toBe(SYN | ACK);
    const frame = ipv4Frame(
      { source: PEER_ADDRESS, destination: OUR_ADDRESS, protocol: IpProtocol.TCP },
      new Uint8Array([0x9c, 0x40, 0x00, 0x50, 0, 0, 0x13, 0x88, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0x12, 0x34, 0, 0]),
    );
    h.inject(frame);
    h.expectNothingSent();
    expect(h.stat('drop.tcp.badChecksum')).toBe(1);
  });

  it('a segment sent to a broadcast address is dropped without a RST (RFC 1122 §4.2.3.10)', () => {
    const h = new TcpHarness();
    const repr = { srcPort: 40000, dstPort: 81, seq: 1000, ack: 0, flags: SYN, window: 65535, urgentPointer: 0, options: [], payload: new Uint8Array(0) };
    const broadcast = addr('10.0.0.255');
    const bytes = new Uint8Array(tcpLength(repr));
    emitTcp(repr, bytes, { source: PEER_ADDRESS, destination: broadcast });
    h.inject(ipv4Frame({ source: PEER_ADDRESS, destination: broadcast, protocol: IpProtocol.TCP }, bytes));
    h.expectNothingSent();
    expect(h.stat('drop.tcp.notUnicast')).toBe(1);
  });
});

describe('LISTEN (RFC 9293 §3.10.7.2)', () => {
  it('an ACK is answered with <SEQ=SEG.ACK><CTL=RST> and no connection is made', () => {
    const h = listening();
    h.send({ seq: 1000, ack: 5555, flags: ACK });
    h.expectSent(flags(RST), seq(5555));
    expect(h.stack.tcp.listConnections()).toHaveLength(0);
  });

  it('a SYN-ACK is answered with RST too', () => {
    const h = listening();
    h.send({ seq: 1000, ack: 5555, flags: SYN | ACK, options: mssOnly() });
    h.expectSent(flags(RST), seq(5555));
  });

  it('a segment with neither SYN, ACK nor RST is dropped', () => {
    const h = listening();
    h.send({ seq: 1000, flags: FIN });
    h.send({ seq: 1000, flags: PSH, payload: 10 });
    h.expectNothingSent();
    expect(h.stat('drop.tcp.listenNoSyn')).toBe(2);
  });

  it('a SYN from a Linux peer gets a SYN-ACK with MSS, SACK-permitted, timestamps, NOP, window scale, in that order', () => {
    const h = listening();
    h.send({ seq: 1000, flags: SYN, options: linuxSynOptions(777_000) });
    const connection = h.stack.tcp.listConnections()[0];
    h.watch(connection);
    h.expectSent(
      flags(SYN | ACK),
      seq(connection.iss),
      ack(1001),
      window(65535), // never scaled in a SYN (RFC 7323 §2.2)
      options([
        { kind: 'maxSegmentSize', mss: 1460 },
        { kind: 'sackPermitted' },
        { kind: 'timestamps', tsVal: h.ourTsVal(), tsEcr: 777_000 },
        { kind: 'noOperation' },
        { kind: 'windowScale', shiftCount: 5 }, // 1 MiB buffer: 2^20 >> 5 fits 16 bits
      ]),
    );
    h.expectState('SYN-RECEIVED');
  });

  it('a SYN with only an MSS gets a SYN-ACK with only an MSS', () => {
    const h = listening();
    h.send({ seq: 1000, flags: SYN, options: mssOnly(1000) });
    h.expectSent(flags(SYN | ACK), options([{ kind: 'maxSegmentSize', mss: 1460 }]));
  });

  it('the completing ACK moves the connection to ESTABLISHED and into the accept queue', () => {
    const h = listening();
    h.listener!.onAcceptable = null;
    h.send({ seq: 1000, flags: SYN, options: mssOnly() });
    const synAck = h.take()[0];
    h.send({ seq: 1001, ack: synAck.tcp.seq + 1, flags: ACK });
    expect(h.listener!.acceptQueue).toHaveLength(1);
    expect(h.listener!.synQueue.size).toBe(0);
    expect(h.listener!.acceptQueue.at(0)!.state).toBe('ESTABLISHED');
  });

  it('text and FIN on the SYN wait for ESTABLISHED: the SYN-ACK acknowledges only the SYN, the completing ACK brings them in (dropSynFin off, as FreeBSD by default)', () => {
    const h = listening({ tcp: { dropSynFin: false } });
    h.send({ seq: 1000, flags: SYN | FIN, options: mssOnly(), payload: 5 });
    const connection = h.stack.tcp.listConnections()[0];
    h.watch(connection);
    h.expectSent(flags(SYN | ACK), ack(1001));
    h.send({ seq: 1007, ack: connection.iss + 1, flags: ACK });
    h.expectSent(flags(ACK), ack(1007)); // the five bytes and the FIN
    h.expectState('CLOSE-WAIT');
    expect(h.read()).toHaveLength(5);
  });

  it('by default a SYN+FIN in LISTEN is dropped, as Linux (tcp_rcv_state_process); a plain SYN after it opens as usual', () => {
    const h = listening();
    h.send({ seq: 1000, flags: SYN | FIN, options: mssOnly() });
    h.expectNothingSent();
    expect(h.stat('drop.tcp.synFin')).toBe(1);
    expect(h.stack.tcp.listConnections()).toHaveLength(0);
    h.send({ seq: 2000, flags: SYN, options: mssOnly() });
    h.expectSent(flags(SYN | ACK), ack(2001));
  });

  it('by default a SYN+FIN in SYN-SENT still starts a simultaneous open, as Linux (only dropSynFin = true, FreeBSD drop_synfin = 1, drops it there)', () => {
    const h = synSent();
    h.send({ seq: h.peerIss, flags: SYN | FIN, options: mssOnly() });
    h.expectSent(flags(SYN | ACK), ack(h.peerSeq(0)));
    h.expectState('SYN-RECEIVED');
    expect(h.stat('drop.tcp.synFin')).toBe(0);
  });
});

describe('the listen queues (Linux, tcp_abort_on_overflow = 0)', () => {
  /** A listener with backlog 1 whose application does not accept. */
  function slowListener() {
    const h = listening({ backlog: 1 });
    h.listener!.onAcceptable = null;
    return h;
  }
  /** A handshake from the peer's port `port`; returns our SYN-ACK's ISS. */
  function handshake(h: TcpHarness, port: number): number {
    h.send({ seq: 1000, flags: SYN, options: mssOnly(), srcPort: port });
    const synAck = h.take()[0];
    h.send({ seq: 1001, ack: synAck.tcp.seq + 1, flags: ACK, srcPort: port });
    return synAck.tcp.seq;
  }

  it('with the accept queue full, the completing ACK is dropped and the connection stays half-open', () => {
    const h = slowListener();
    handshake(h, 40001);
    expect(h.listener!.acceptQueue).toHaveLength(1);
    h.send({ seq: 1000, flags: SYN, options: mssOnly(), srcPort: 40002 });
    h.expectNothingSent(); // the SYN itself is dropped while the accept queue is full
    expect(h.stat('drop.tcp.listenOverflow')).toBe(1);
  });

  it('a connection whose ACK was dropped completes when the SYN-ACK is retransmitted after an accept', () => {
    const h = slowListener();
    h.send({ seq: 1000, flags: SYN, options: mssOnly(), srcPort: 40001 });
    h.send({ seq: 5000, flags: SYN, options: mssOnly(), srcPort: 40002 });
    const [first, second] = h.take();
    h.send({ seq: 1001, ack: first.tcp.seq + 1, flags: ACK, srcPort: 40001 });
    h.send({ seq: 5001, ack: second.tcp.seq + 1, flags: ACK, srcPort: 40002 });
    expect(h.listener!.acceptQueue).toHaveLength(1);
    expect(h.stat('drop.tcp.acceptQueueFull')).toBe(1);
    h.listener!.accept();
    h.advance(1000);
    h.expectSent(flags(SYN | ACK), seq(second.tcp.seq), ports(LISTEN_PORT, 40002));
    h.send({ seq: 5001, ack: second.tcp.seq + 1, flags: ACK, srcPort: 40002 });
    expect(h.listener!.acceptQueue).toHaveLength(1);
    expect(h.listener!.acceptQueue.at(0)!.remotePort).toBe(40002);
  });
});

describe('closing a listener (Linux inet_csk_listen_stop)', () => {
  it('resets established connections nobody accepted and forgets half-open ones silently', () => {
    const h = listening();
    h.listener!.onAcceptable = null;
    h.send({ seq: 1000, flags: SYN, options: mssOnly(), srcPort: 40001 });
    const synAck = h.take()[0];
    h.send({ seq: 1001, ack: synAck.tcp.seq + 1, flags: ACK, srcPort: 40001 });
    h.send({ seq: 7000, flags: SYN, options: mssOnly(), srcPort: 40002 });
    h.take();
    expect(h.listener!.acceptQueue).toHaveLength(1);
    expect(h.listener!.synQueue.size).toBe(1);
    h.listener!.close();
    h.expectSent(flags(RST | ACK), ports(LISTEN_PORT, 40001));
    h.expectNothingSent();
    expect(h.stack.tcp.listConnections()).toHaveLength(0);
    h.advance(10_000);
    h.expectNothingSent(); // no SYN-ACK retransmission for the forgotten half-open connection
  });
});

describe('SYN-SENT (RFC 9293 §3.10.7.3)', () => {
  it('an ACK that does not acknowledge our SYN is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
    for (const bad of [0, -1, 2]) {
      const h = synSent();
      const segAck = seqAdd(h.iss, bad); // ISS or below, or beyond SND.NXT
      h.send({ seq: 5000, ack: segAck, flags: ACK });
      h.expectSent(flags(RST), seq(segAck), ports(CONNECT_PORT, LISTEN_PORT));
      h.expectState('SYN-SENT');
    }
  });

  it('a SYN-ACK with an unacceptable ACK is answered with RST and ignored', () => {
    const h = synSent();
    h.send({ seq: 5000, ack: seqAdd(h.iss, 2), flags: SYN | ACK, options: mssOnly() });
    h.expectSent(flags(RST), seq(seqAdd(h.iss, 2)));
    h.expectState('SYN-SENT');
  });

  it('a segment with neither SYN nor RST is dropped (a bare acceptable ACK)', () => {
    const h = synSent();
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: ACK });
    h.expectNothingSent();
    h.expectState('SYN-SENT');
  });

  it('a SYN-ACK acknowledging our SYN: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, connect reported', () => {
    const h = synSent();
    h.peerIss = 5000;
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK, window: 1000, options: mssOnly() });
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(5001));
    h.expectState('ESTABLISHED');
    expect(h.events).toEqual(['connect']);
    expect(h.conn.sndWnd).toBe(1000);
    expect(h.conn.irs).toBe(5000);
  });

  it('data written in SYN-SENT is queued and sent once the connection is established', () => {
    const h = synSent();
    expect(h.write(100)).toBe(100);
    h.expectNothingSent();
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK, options: mssOnly() });
    h.expectSent(flags(ACK | PSH), seq(h.ourSeq(0)), ack(5001), payloadLength(100));
  });

  it('a SYN-ACK carrying data: the data is queued and acknowledged', () => {
    const h = synSent();
    h.peerIss = 5000;
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK | PSH, options: mssOnly(), payload: 20 });
    h.expectSent(flags(ACK), ack(5021));
    expect(h.read()).toHaveLength(20);
  });

  it('a SYN-ACK with FIN: ESTABLISHED and straight on to CLOSE-WAIT', () => {
    const h = synSent();
    h.peerIss = 5000;
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK | FIN, options: mssOnly() });
    h.expectSent(flags(ACK), ack(5002));
    h.expectState('CLOSE-WAIT');
  });

  it('a bare SYN (simultaneous open): SYN-RECEIVED and <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>', () => {
    const h = synSent();
    h.peerIss = 5000;
    h.send({ seq: 5000, flags: SYN, options: mssOnly() });
    h.expectSent(flags(SYN | ACK), seq(h.iss), ack(5001));
    h.expectState('SYN-RECEIVED');
    // The peer's ACK of our SYN completes it (RFC 9293 Figure 8, line 7).
    h.send({ seq: 5001, ack: h.ourSeq(0), flags: ACK });
    h.expectNothingSent();
    h.expectState('ESTABLISHED');
    expect(h.events).toEqual(['connect']);
  });

  it('simultaneous open where both SYN-ACKs cross (RFC 9293 Figure 8): both ends reach ESTABLISHED', () => {
    const h = synSent();
    h.peerIss = 5000;
    h.send({ seq: 5000, flags: SYN, options: mssOnly() });
    h.take();
    // The peer, also in SYN-RECEIVED, sends its SYN-ACK; it carries an ACK of our SYN.
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK, options: mssOnly() });
    const sent = h.take();
    // RFC 9293 takes this SYN-ACK as a duplicate (SEG.SEQ < RCV.NXT) and ACKs it; Linux accepts
    // it as completing the handshake. Either way we must now answer with an ACK, and the peer's
    // own ACK of our SYN-ACK completes our side.
    expect(sent.map((s) => s.tcp.flags)).toEqual([ACK]);
    expect(sent[0].tcp.ack).toBe(5001);
    h.send({ seq: 5001, ack: h.ourSeq(0), flags: ACK });
    h.expectState('ESTABLISHED');
  });
});

describe('SYN-RECEIVED (RFC 9293 §3.10.7.4)', () => {
  it('a retransmitted SYN gets our SYN-ACK again', () => {
    const h = synReceived();
    h.send({ seq: h.peerIss, flags: SYN, options: mssOnly() });
    h.expectSent(flags(SYN | ACK), seq(h.iss), ack(h.peerSeq(0)));
    h.expectState('SYN-RECEIVED');
  });

  it('an ACK that is not acceptable is answered with <SEQ=SEG.ACK><CTL=RST>', () => {
    const h = synReceived();
    h.send({ seq: h.peerSeq(0), ack: h.iss, flags: ACK });
    h.expectSent(flags(RST), seq(h.iss));
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: ACK });
    h.expectSent(flags(RST), seq(h.ourSeq(1)));
    h.expectState('SYN-RECEIVED');
  });

  it('a segment without ACK is dropped', () => {
    const h = synReceived();
    h.send({ seq: h.peerSeq(0), flags: PSH, payload: 10 });
    h.expectNothingSent();
    h.expectState('SYN-RECEIVED');
    expect(h.stat('drop.tcp.noAck')).toBe(1);
  });

  it('the ACK may carry data: ESTABLISHED, the data queued', () => {
    const h = synReceived();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100 });
    h.expectSent(flags(ACK), ack(h.peerSeq(100)));
    h.expectState('ESTABLISHED');
    expect(h.read()).toHaveLength(100);
  });

  it('from a passive open, a new SYN (another sequence number) returns the connection to LISTEN', () => {
    const h = synReceived();
    const connection = h.conn;
    h.send({ seq: h.peerSeq(100), flags: SYN, options: mssOnly() });
    h.expectNothingSent();
    expect(connection.state).toBe('CLOSED');
    expect(h.listener!.synQueue.size).toBe(0);
  });
});

describe('a SYN in a synchronized state elicits a challenge ACK, whatever its sequence number (RFC 5961 §4.2)', () => {
  for (const [state, fixture] of SYNCHRONIZED_FIXTURES) {
    it(`${state}: SYN in the window → <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the connection is unchanged`, () => {
      // Without the per-connection limit (RFC 5961 §7), which would keep back the second answer.
      const h = fixture({ tcp: { invalidAckRateLimitMs: 0 } });
      const { rcvNxt, sndNxt } = h.conn;
      h.send({ seq: rcvNxt, flags: SYN, options: mssOnly() });
      h.expectSent(flags(ACK), seq(sndNxt), ack(rcvNxt));
      h.expectState(state);
      h.send({ seq: seqAdd(rcvNxt, -1000), flags: SYN, options: mssOnly() });
      h.expectSent(flags(ACK), seq(sndNxt), ack(rcvNxt));
      h.expectState(state);
    });
  }

  it('a SYN-ACK in ESTABLISHED (a stale duplicate) elicits the same ACK', () => {
    const h = established();
    h.send({ seq: h.peerIss, ack: h.ourSeq(0), flags: SYN | ACK, options: mssOnly() });
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
    h.expectState('ESTABLISHED');
  });
});
