/**
 * The fixtures themselves: each RFC 9293 §3.3.2 state is reached by real segment exchanges and
 * leaves the table and the timers as the RFC says.
 */
import { describe, expect, it } from 'vitest';
import {
  ACK,
  closeWait,
  closing,
  established,
  finWait1,
  finWait2,
  flags,
  lastAck,
  listening,
  mss,
  OUR_ADDRESS,
  PEER_ADDRESS,
  PSH,
  seq,
  synReceived,
  synSent,
  timeWait,
  window,
} from './harness.js';

describe('state fixtures (RFC 9293 §3.3.2, Figure 5)', () => {
  it('LISTEN has a listener and no connection', () => {
    const h = listening();
    expect(h.listener).not.toBe(null);
    expect(h.stack.tcp.listConnections()).toHaveLength(0);
  });

  it('SYN-SENT sent a SYN with our ISN and an MSS from the 1500-byte link (RFC 9293 §3.7.1)', () => {
    const h = synSent();
    expect(h.ourSyn.tcp.seq).toBe(h.iss);
    expect(h.ourSyn.opts.mss).toBe(1460);
    expect(h.conn.sndNxt).toBe(h.ourSeq(0));
  });

  it('SYN-RECEIVED (passive) answered the SYN with a SYN-ACK', () => {
    const h = synReceived();
    expect(h.ourSynAck.tcp.ack).toBe(h.peerSeq(0));
    expect(h.conn.listenerKey).not.toBe(null);
  });

  it('SYN-RECEIVED (active) is a simultaneous open', () => {
    const h = synReceived({ open: 'active' });
    expect(h.conn.listenerKey).toBe(null);
  });

  it('ESTABLISHED by passive and by active open, and data flows both ways', () => {
    for (const open of ['passive', 'active'] as const) {
      const h = established({ open });
      h.expectState('ESTABLISHED');
      expect(h.write(10)).toBe(10);
      h.expectSent(flags(ACK | PSH), seq(h.ourSeq(0)), window(65535));
      h.send({ seq: h.peerSeq(0), ack: h.ourSeq(10), flags: ACK | PSH, payload: 5 });
      h.expectSent(flags(ACK), seq(h.ourSeq(10)));
      expect(h.read()).toHaveLength(5);
    }
  });

  it('the closing states are reached, each with the right sequence numbers', () => {
    finWait1().expectState('FIN-WAIT-1');
    finWait2().expectState('FIN-WAIT-2');
    closeWait().expectState('CLOSE-WAIT');
    lastAck().expectState('LAST-ACK');
    closing().expectState('CLOSING');
    const h = timeWait();
    h.expectState('TIME-WAIT');
    expect(h.conn.timeWaitDeadline).toBe(h.now + 60_000);
  });

  it('segments leave with DF set (path MTU discovery, RFC 1191), TTL 64, from our address to the peer', () => {
    const h = synReceived();
    const ip = h.ourSynAck.ip;
    expect(ip.dontFragment).toBe(true);
    expect(ip.ttl).toBe(64);
    expect(ip.source).toBe(OUR_ADDRESS);
    expect(ip.destination).toBe(PEER_ADDRESS);
  });

  it('the SYN-ACK carries MSS 1460 for the default peer', () => {
    const h = synReceived();
    expect(mss(1460).test(h.ourSynAck)).toBe(null);
  });
});
