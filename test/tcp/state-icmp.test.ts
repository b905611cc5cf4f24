/**
 * ICMP errors about our segments (RFC 1122 §4.2.3.9, RFC 5927, RFC 1191 path MTU discovery),
 * delivered as real ICMP messages through the IP input path.
 */
import { describe, expect, it } from 'vitest';
import { addr } from '../support/packets.js';
import { ACK, established, flags, PSH, seq, synSent, type TcpHarness } from './harness.js';

const PORT_UNREACHABLE = 3;
const HOST_UNREACHABLE = 1;
const FRAGMENTATION_NEEDED = 4;
const MSS = 1460;

/** Established with `count` full segments in flight; returns them as sent. */
function inFlight(count: number): { h: TcpHarness; sent: ReturnType<TcpHarness['take']> } {
  const h = established();
  h.conn.setNoDelay(true);
  h.write(count * MSS);
  const sent = h.take();
  expect(sent).toHaveLength(count);
  return { h, sent };
}

describe('ICMP errors during the handshake (RFC 1122 §4.2.3.9, RFC 5927)', () => {
  it('Port Unreachable about our SYN refuses the connection: ECONNREFUSED', () => {
    const h = synSent();
    h.sendIcmpUnreachable(h.ourSyn, PORT_UNREACHABLE);
    expect(h.closedWith).toBe('ECONNREFUSED');
    expect(h.inTable).toBe(false);
    h.expectNothingSent();
  });

  it('Host Unreachable is a soft error: the SYN is retried, and the error reported only if the connection then times out', () => {
    const h = synSent({ tcp: { synRetries: 1 } });
    h.sendIcmpUnreachable(h.ourSyn, HOST_UNREACHABLE, 0, addr('10.0.0.254'));
    h.expectState('SYN-SENT');
    expect(h.conn.softError).toBe('EHOSTUNREACH');
    h.advance(1000);
    h.expectSent(seq(h.iss));
  });

  it('an error quoting a sequence number outside SND.UNA..SND.NXT is ignored (RFC 5927 §4.1)', () => {
    const h = synSent();
    const forged = h.ourSyn.frame.slice();
    const ipHeader = (forged[0] & 0x0f) * 4;
    new DataView(forged.buffer).setUint32(ipHeader + 4, (h.iss + 1000) >>> 0);
    h.sendIcmpUnreachable({ ...h.ourSyn, frame: forged }, PORT_UNREACHABLE);
    h.expectState('SYN-SENT');
    expect(h.stat('drop.tcp.icmpOutOfWindow')).toBe(1);
  });
});

describe('soft errors are reported when the connection times out (RFC 1122 §4.2.3.9; Linux sk_err_soft)', () => {
  it('a connection attempt that times out after a Host Unreachable fails with EHOSTUNREACH, not ETIMEDOUT', () => {
    const h = synSent({ tcp: { synRetries: 1 } });
    h.sendIcmpUnreachable(h.ourSyn, HOST_UNREACHABLE, 0, addr('10.0.0.254'));
    h.advance(10_000);
    expect(h.closedWith).toBe('EHOSTUNREACH');
  });

  it('data that times out after a Host Unreachable fails with EHOSTUNREACH', () => {
    const { h, sent } = inFlight(1);
    h.conn.setUserTimeout(5000);
    h.sendIcmpUnreachable(sent[0], HOST_UNREACHABLE, 0, addr('10.0.0.254'));
    h.advance(10_000);
    expect(h.closedWith).toBe('EHOSTUNREACH');
  });

  it('an ACK after the soft error clears it: a later timeout is ETIMEDOUT', () => {
    const { h, sent } = inFlight(2);
    h.conn.setUserTimeout(5000);
    h.sendIcmpUnreachable(sent[0], HOST_UNREACHABLE, 0, addr('10.0.0.254'));
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
    expect(h.conn.softError).toBe(null);
    h.advance(10_000);
    expect(h.closedWith).toBe('ETIMEDOUT');
  });
});

describe('ICMP errors on an established connection', () => {
  it('Port Unreachable is only a soft error once synchronized', () => {
    const { h, sent } = inFlight(1);
    h.sendIcmpUnreachable(sent[0], PORT_UNREACHABLE);
    h.expectState('ESTABLISHED');
    expect(h.conn.softError).toBe('ECONNREFUSED');
  });
});

describe('path MTU discovery (RFC 1191 §6.3)', () => {
  it('Fragmentation Needed lowers the MSS to the next-hop MTU − 40 and resends what no longer fits at once', () => {
    const { h, sent } = inFlight(2);
    h.advance(5);
    h.sendIcmpUnreachable(sent[0], FRAGMENTATION_NEEDED, 1000, addr('10.0.0.254'));
    expect(h.conn.sendMss).toBe(960);
    const resent = h.take();
    expect(resent.map((s) => [s.tcp.seq, s.tcp.payload.length])).toEqual([
      [h.ourSeq(0), 960],
      [h.ourSeq(960), 500],
      [h.ourSeq(1460), 960],
      [h.ourSeq(2420), 500],
    ]);
    for (const s of resent) expect(s.ip.dontFragment).toBe(true);
    expect(h.stat('tcp.pmtu.mssLowered')).toBe(1);
  });

  it('new data after the drop goes in segments of the new MSS', () => {
    const { h, sent } = inFlight(1);
    h.sendIcmpUnreachable(sent[0], FRAGMENTATION_NEEDED, 1000, addr('10.0.0.254'));
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
    h.write(2000);
    expect(h.take().map((s) => s.tcp.payload.length)).toEqual([960, 960, 80]);
  });

  it('a next-hop MTU below 552 is taken as 552 (Linux min_pmtu), so the MSS falls no lower than 512', () => {
    const { h, sent } = inFlight(1);
    h.sendIcmpUnreachable(sent[0], FRAGMENTATION_NEEDED, 300, addr('10.0.0.254'));
    expect(h.conn.sendMss).toBe(512);
    expect(h.take().map((s) => s.tcp.payload.length)).toEqual([512, 512, 436]);
  });

  it('a Fragmentation Needed that does not lower the MTU changes nothing', () => {
    const { h, sent } = inFlight(1);
    h.sendIcmpUnreachable(sent[0], FRAGMENTATION_NEEDED, 1500, addr('10.0.0.254'));
    expect(h.conn.sendMss).toBe(MSS);
    h.expectNothingSent();
  });

  it('with timestamps, the option’s 12 bytes come out of the lowered MSS too', () => {
    const h = established({
      peerSynOptions: [{ kind: 'maxSegmentSize', mss: 1460 }, { kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'timestamps', tsVal: 1, tsEcr: 0 }],
    });
    h.write(100);
    const sent = h.expectSent(flags(ACK | PSH));
    h.sendIcmpUnreachable(sent, FRAGMENTATION_NEEDED, 1000, addr('10.0.0.254'));
    expect(h.conn.sendMss).toBe(948);
  });
});
