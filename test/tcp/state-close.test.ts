/**
 * Closing: CLOSE and ABORT (RFC 9293 §3.10.4–§3.10.5), the FIN rules of §3.10.7.4 (eighth
 * step), active, passive and simultaneous close (§3.6, Figures 12–13), half-close, TIME-WAIT
 * and its 2·MSL (§3.4.2; 60 s as Linux), and a SYN reopening TIME-WAIT (RFC 6191).
 */
import { describe, expect, it } from 'vitest';
import { seqAdd } from '../../src/tcp/seq.js';
import {
  ACK,
  ack,
  closeWait,
  closing,
  established,
  FIN,
  finWait1,
  finWait2,
  flags,
  lastAck,
  linuxSynOptions,
  mssOnly,
  payloadLength,
  PSH,
  RST,
  seq,
  SYN,
  synSent,
  timeWait,
  timestamps,
  type TcpHarness,
} from './harness.js';

describe('active close (RFC 9293 §3.6, Figure 12)', () => {
  it('ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED exactly 2·MSL = 60 s later', () => {
    const h = established();
    h.conn.close();
    h.expectSent(flags(FIN | ACK), seq(h.ourSeq(0)), ack(h.peerSeq(0)));
    h.expectState('FIN-WAIT-1');
    h.advance(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: ACK });
    h.expectNothingSent();
    h.expectState('FIN-WAIT-2');
    h.advance(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: FIN | ACK });
    h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(1)));
    h.expectState('TIME-WAIT');
    const entered = h.now;
    h.advanceTo(entered + 59_999);
    h.expectState('TIME-WAIT');
    expect(h.inTable).toBe(true);
    h.advanceTo(entered + 60_000);
    expect(h.conn.state).toBe('CLOSED');
    expect(h.inTable).toBe(false);
    expect(h.closedWith).toBe(null);
    h.expectNothingSent();
  });

  it('queued data goes first and the FIN rides on the last data segment', () => {
    const h = established();
    h.write(100);
    h.take();
    h.write(50); // held by Nagle behind the unacknowledged 100
    h.expectNothingSent();
    h.conn.close();
    h.expectSent(flags(FIN | ACK | PSH), seq(h.ourSeq(100)), payloadLength(50));
    // An ACK of the data but not the FIN leaves us in FIN-WAIT-1.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(150), flags: ACK });
    h.expectState('FIN-WAIT-1');
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(151), flags: ACK });
    h.expectState('FIN-WAIT-2');
  });

  it('FIN-WAIT-1: a FIN that also acknowledges our FIN goes straight to TIME-WAIT', () => {
    const h = finWait1();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: FIN | ACK });
    h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(1)));
    h.expectState('TIME-WAIT');
  });

  it('after shutdown(SHUT_WR), FIN-WAIT-1 and FIN-WAIT-2 still receive data (the receive half is open)', () => {
    const h = established();
    h.conn.shutdownWrite();
    h.expectSent(flags(FIN | ACK), seq(h.ourSeq(0)));
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(10)));
    h.send({ seq: h.peerSeq(10), ack: h.ourSeq(1), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(20)));
    h.expectState('FIN-WAIT-2');
    expect(h.read()).toHaveLength(20);
  });

  it('an orphaned FIN-WAIT-2 gives up after tcp_fin_timeout (60 s) without a word', () => {
    const h = finWait2();
    h.advance(59_999);
    h.expectState('FIN-WAIT-2');
    h.advance(1);
    expect(h.conn.state).toBe('CLOSED');
    expect(h.stat('tcp.finWait2.timeout')).toBe(1);
    h.expectNothingSent();
  });
});

describe('our FIN is retransmitted like data (RFC 9293 §3.8.1)', () => {
  for (const [state, fixture] of [
    ['FIN-WAIT-1', finWait1],
    ['CLOSING', closing],
    ['LAST-ACK', lastAck],
  ] as const) {
    it(`${state}: an unacknowledged FIN goes again after the RTO, with the same sequence number`, () => {
      const h = fixture();
      const finSeq = seqAdd(h.conn.sndNxt, -1);
      const rto = h.conn.rtt.rto;
      h.advance(rto);
      h.expectSent(flags(FIN | ACK), seq(finSeq), ack(h.conn.rcvNxt));
      h.expectState(state);
      h.advance(2 * rto);
      h.expectSent(flags(FIN | ACK), seq(finSeq));
    });
  }
});

describe('passive close (RFC 9293 §3.6)', () => {
  it('ESTABLISHED → CLOSE-WAIT on the FIN (ACKed at once, end of stream) → LAST-ACK → CLOSED', () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: FIN | ACK });
    h.expectSent(flags(ACK), seq(h.ourSeq(0)), ack(h.peerSeq(1)));
    h.expectState('CLOSE-WAIT');
    expect(h.events).toEqual(['readable']);
    expect(h.conn.endOfStream).toBe(true);
    h.conn.close();
    h.expectSent(flags(FIN | ACK), seq(h.ourSeq(0)), ack(h.peerSeq(1)));
    h.expectState('LAST-ACK');
    h.send({ seq: h.peerSeq(1), ack: h.ourSeq(1), flags: ACK });
    h.expectNothingSent();
    expect(h.conn.state).toBe('CLOSED');
    expect(h.closedWith).toBe(null);
    expect(h.inTable).toBe(false);
  });

  it('CLOSE-WAIT may still send: data, then the FIN', () => {
    const h = closeWait();
    h.write(10);
    h.expectSent(flags(ACK | PSH), seq(h.ourSeq(0)), ack(h.peerSeq(1)), payloadLength(10));
    h.conn.close();
    h.take();
    h.expectState('LAST-ACK');
  });

  it('LAST-ACK: an ACK that does not cover our FIN changes nothing', () => {
    const h = lastAck();
    h.send({ seq: h.peerSeq(1), ack: h.ourSeq(0), flags: ACK });
    h.expectState('LAST-ACK');
  });

  it('a FIN after data waits for the data: FIN out of order is held until the hole fills', () => {
    const h = established();
    h.send({ seq: h.peerSeq(10), ack: h.ourSeq(0), flags: FIN | ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(0)));
    h.expectState('ESTABLISHED');
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(21)));
    h.expectState('CLOSE-WAIT');
    expect(h.read()).toHaveLength(20);
  });

  it('a retransmitted FIN in CLOSE-WAIT is acknowledged again', () => {
    const h = closeWait();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: FIN | ACK });
    h.expectSent(flags(ACK), ack(h.peerSeq(1)));
    h.expectState('CLOSE-WAIT');
  });
});

describe('a retransmitted FIN in the states after it (RFC 9293 §3.10.7.4, eighth step)', () => {
  for (const [state, fixture] of [
    ['CLOSE-WAIT', closeWait],
    ['CLOSING', closing],
    ['LAST-ACK', lastAck],
  ] as const) {
    it(`${state}: the FIN is acknowledged again and the state does not change`, () => {
      const h = fixture();
      const { sndNxt } = h.conn;
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: FIN | ACK });
      h.expectSent(flags(ACK), seq(sndNxt), ack(h.peerSeq(1)));
      h.expectState(state);
    });
  }
});

describe('data arriving after CLOSE (RFC 1122 §4.2.2.13)', () => {
  it('new data for a closed (orphaned) FIN-WAIT-2 connection is answered with <SEQ=SEG.ACK><CTL=RST>, and the connection is gone', () => {
    const h = finWait2();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: ACK | PSH, payload: 10 });
    const rst = h.expectSent(seq(h.ourSeq(1)));
    expect(rst.tcp.flags & RST).toBe(RST);
    expect(h.conn.state).toBe('CLOSED');
    expect(h.inTable).toBe(false);
  });

  it('the same in FIN-WAIT-1, with the RST at the peer’s ACK so that it is exact for the peer (RFC 5961 §3.2)', () => {
    const h = finWait1();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    const rst = h.expectSent(seq(h.ourSeq(0)));
    expect(rst.tcp.flags & RST).toBe(RST);
    expect(h.conn.state).toBe('CLOSED');
  });

  it('a duplicate of data received before the close is only acknowledged', () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.take();
    h.read();
    h.conn.close();
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(10)));
    h.expectState('FIN-WAIT-1'); // a wholly old segment is dropped, its ACK field unread
  });

  it('after shutdown(SHUT_WR) the socket is still open: data is taken, not reset', () => {
    const h = established();
    h.conn.shutdownWrite();
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: ACK | PSH, payload: 10 });
    h.expectSent(flags(ACK), ack(h.peerSeq(10)));
  });
});

describe('simultaneous close (RFC 9293 §3.6, Figure 13)', () => {
  it('FIN-WAIT-1 → CLOSING on the crossing FIN → TIME-WAIT when our FIN is acknowledged', () => {
    const h = closing();
    h.send({ seq: h.peerSeq(1), ack: h.ourSeq(1), flags: ACK });
    h.expectNothingSent();
    h.expectState('TIME-WAIT');
    expect(h.conn.timeWaitDeadline).toBe(h.now + 60_000);
  });
});

describe('CLOSE that turns into a reset (RFC 9293 §3.10.4, RFC 2525 §2.17, SO_LINGER)', () => {
  it('close() with unread data sends <SEQ=SND.NXT><CTL=RST> and goes to CLOSED', () => {
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.take();
    h.conn.close();
    const rst = h.expectSent(seq(h.ourSeq(0)));
    expect(rst.tcp.flags & RST).toBe(RST);
    expect(h.conn.state).toBe('CLOSED');
    expect(h.inTable).toBe(false);
    expect(h.stat('tcp.close.unreadDataReset')).toBe(1);
  });

  it('close() with SO_LINGER 0 (lingerZero) sends RST even with nothing unread', () => {
    const h = established();
    h.write(10);
    h.take();
    h.conn.setLinger(true, 0);
    h.conn.close();
    const rst = h.expectSent(seq(h.ourSeq(10)));
    expect(rst.tcp.flags & RST).toBe(RST);
    expect(h.conn.state).toBe('CLOSED');
  });

  it('ABORT in ESTABLISHED sends <SEQ=SND.NXT><CTL=RST> (RFC 9293 §3.10.5)', () => {
    const h = established();
    h.conn.abort();
    const rst = h.expectSent(seq(h.ourSeq(0)));
    expect(rst.tcp.flags & RST).toBe(RST);
  });

  for (const [state, fixture] of [
    ['CLOSING', closing],
    ['LAST-ACK', lastAck],
    ['TIME-WAIT', timeWait],
  ] as const) {
    it(`ABORT in ${state} deletes the TCB without sending a RST (RFC 9293 §3.10.5)`, () => {
      const h = fixture();
      h.conn.abort();
      h.expectNothingSent();
      expect(h.conn.state).toBe('CLOSED');
      expect(h.inTable).toBe(false);
    });
  }

  it('close() in SYN-SENT deletes the TCB silently (RFC 9293 §3.10.4)', () => {
    const h = synSent();
    h.conn.close();
    h.expectNothingSent();
    expect(h.conn.state).toBe('CLOSED');
    expect(h.inTable).toBe(false);
  });
});

describe('half-close (shutdown(SHUT_WR))', () => {
  it('our FIN goes out, and we keep receiving until the peer’s FIN; no FIN-WAIT-2 timer while the socket is open', () => {
    const h = established();
    h.conn.shutdownWrite();
    h.expectSent(flags(FIN | ACK), seq(h.ourSeq(0)));
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: ACK });
    h.expectState('FIN-WAIT-2');
    expect(h.conn.finWait2Deadline).toBe(Infinity);
    for (let i = 0; i < 5; i++) {
      h.advance(100_000);
      h.send({ seq: h.peerSeq(i * 100), ack: h.ourSeq(1), flags: ACK | PSH, payload: 100 });
      h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(i * 100 + 100)));
    }
    expect(h.read()).toHaveLength(500);
    h.send({ seq: h.peerSeq(500), ack: h.ourSeq(1), flags: FIN | ACK });
    h.expectSent(flags(ACK), ack(h.peerSeq(501)));
    h.expectState('TIME-WAIT');
  });

  it('SEND after shutdown(SHUT_WR) fails with EPIPE', () => {
    const h = established();
    h.conn.shutdownWrite();
    const result = h.conn.send(new Uint8Array(1));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toBe('EPIPE');
  });
});

describe('TIME-WAIT (RFC 9293 §3.10.7.4)', () => {
  it('a retransmitted FIN is acknowledged again and restarts the 2·MSL timer', () => {
    const h = timeWait();
    h.advance(30_000);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: FIN | ACK });
    h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(1)));
    expect(h.conn.timeWaitDeadline).toBe(h.now + 60_000);
    h.advance(59_999);
    h.expectState('TIME-WAIT');
    h.advance(1);
    expect(h.conn.state).toBe('CLOSED');
  });

  it('segment text after the peer’s FIN is ignored (RFC 9293 §3.10.7.4, seventh step)', () => {
    const h = timeWait();
    h.send({ seq: h.peerSeq(1), ack: h.ourSeq(1), flags: ACK | PSH, payload: 10 });
    h.expectState('TIME-WAIT');
    expect(h.conn.rcvNxt).toBe(h.peerSeq(1));
  });
});

describe('a SYN reopening TIME-WAIT (RFC 6191)', () => {
  /** TIME-WAIT of a passive open on a listener that is still there. */
  function timeWaitWithListener(withTimestamps: boolean): TcpHarness {
    return timeWait(withTimestamps ? { peerSynOptions: linuxSynOptions(1_000) } : {});
  }

  it('without timestamps, a SYN beyond RCV.NXT starts a new connection with ISS = old SND.NXT + 65537', () => {
    const h = timeWaitWithListener(false);
    const old = h.conn;
    h.send({ seq: h.peerSeq(100_000), flags: SYN, options: mssOnly() });
    h.expectSent(flags(SYN | ACK), seq(seqAdd(old.sndNxt, 65535 + 2)), ack(h.peerSeq(100_001)));
    expect(old.state).toBe('CLOSED');
    const fresh = h.stack.tcp.listConnections()[0];
    expect(fresh.state).toBe('SYN-RECEIVED');
    expect(h.stat('tcp.timeWait.reopened')).toBe(1);
  });

  it('without timestamps, a SYN at or below RCV.NXT does not reopen: it draws an ACK and TIME-WAIT stays', () => {
    const h = timeWaitWithListener(false);
    h.send({ seq: h.peerSeq(0), flags: SYN, options: mssOnly() });
    h.expectSent(flags(ACK), seq(h.ourSeq(1)), ack(h.peerSeq(1)));
    h.expectState('TIME-WAIT');
  });

  it('with timestamps, a SYN with a newer TSval reopens even at an old sequence number', () => {
    const h = timeWaitWithListener(true);
    h.advance(1000);
    h.send({ seq: h.peerSeq(-5000), flags: SYN, options: linuxSynOptions(h.conn.timestamps.recent + 1) });
    const synAck = h.expectSent(flags(SYN | ACK), ack(h.peerSeq(-4999)));
    expect(timestamps({ tsEcr: h.conn.timestamps.recent + 1 }).test(synAck)).toBe(null);
    expect(h.conn.state).toBe('CLOSED');
  });

  it('with timestamps, a SYN whose TSval is not newer does not reopen', () => {
    const h = timeWaitWithListener(true);
    h.send({ seq: h.peerSeq(100_000), flags: SYN, options: linuxSynOptions(h.conn.timestamps.recent) });
    const sent = h.take();
    expect(sent.every((s) => (s.tcp.flags & SYN) === 0)).toBe(true);
    h.expectState('TIME-WAIT');
  });

  it('without a listener, the SYN finds no one: TIME-WAIT is not disturbed by a reopen', () => {
    const h = finWait2({ open: 'active' });
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: FIN | ACK });
    h.take();
    h.expectState('TIME-WAIT');
    h.send({ seq: h.peerSeq(100_000), flags: SYN, options: mssOnly() });
    const sent = h.take();
    expect(sent).toHaveLength(1);
    expect(sent[0].tcp.flags & SYN).toBe(0);
  });
});
