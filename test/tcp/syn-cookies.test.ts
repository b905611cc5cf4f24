/**
 * SYN cookies (RFC 4987 §3.6): the cookie itself (syn-cookies.ts), then a listener that answers
 * with cookies when its SYN queue is full (`synCookies: 'auto'`), or always, and the connection
 * a returning cookie makes; SYN-queue pruning and unroutable SYNs.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { IpProtocol } from '../../src/ip/ipv4.js';
import { emitTcp, tcpLength } from '../../src/tcp/tcp-packet.js';
import { addr, ipv4Frame } from '../support/packets.js';
import { seqAdd } from '../../src/tcp/seq.js';
import { SynCookies } from '../../src/tcp/syn-cookies.js';
import { ACK, flags, LISTEN_PORT, linuxSynOptions, listening, mssOnly, OUR_ADDRESS, PSH, RST, seq, SYN, type Sent, type TcpHarness } from './harness.js';

const tuple = { localAddress: addr('10.0.0.1'), localPort: 80, remoteAddress: addr('10.0.0.2'), remotePort: 40000 };

describe('the cookie (RFC 4987 §3.6, the layout of Linux syncookies.c)', () => {
  const cookies = new SynCookies(new Rng(1));
  const minute = 60_000;

  it('comes back valid with the MSS rounded down to the table', () => {
    for (const [peerMss, carried] of [
      [1460, 1460],
      [1448, 1440],
      [1400, 1300],
      [600, 536],
      [100, 536],
      [9000, 1460],
    ]) {
      const cookie = cookies.issue(tuple, 12345, peerMss, 10 * minute);
      expect(cookies.check(tuple, 12345, cookie, 10 * minute + 5)).toBe(carried);
      expect(SynCookies.mssFor(peerMss)).toBe(carried);
    }
  });

  it('is good for the rest of its minute and the next, not after (the secret rotates)', () => {
    const cookie = cookies.issue(tuple, 7, 1460, 10 * minute + 59_000);
    expect(cookies.check(tuple, 7, cookie, 11 * minute + 59_999)).toBe(1460);
    expect(cookies.check(tuple, 7, cookie, 12 * minute)).toBeNull();
    expect(cookies.check(tuple, 7, cookie, 9 * minute)).toBeNull(); // from the future
  });

  it('does not fit another tuple, another peer ISN, another stack, or a neighbouring value', () => {
    const cookie = cookies.issue(tuple, 7, 1460, 0);
    expect(cookies.check({ ...tuple, remotePort: 40001 }, 7, cookie, 0)).toBeNull();
    expect(cookies.check({ ...tuple, remoteAddress: addr('10.0.0.3') }, 7, cookie, 0)).toBeNull();
    expect(cookies.check(tuple, 100_007, cookie, 0)).toBeNull();
    expect(new SynCookies(new Rng(2)).check(tuple, 7, cookie, 0)).toBeNull();
    // Of the 2^24 values of the low 24 bits only 4 decode, one per MSS: of 10,000 neighbours of a
    // cookie for the smallest MSS, exactly the three that name the other MSS values pass.
    const smallest = cookies.issue(tuple, 7, 536, 0);
    let accepted = 0;
    for (let delta = 1; delta <= 10_000; delta++) if (cookies.check(tuple, 7, (smallest + delta) >>> 0, 0) !== null) accepted++;
    expect(accepted).toBe(3);
  });

  it('carries window scale, SACK and ECN in the low six bits of a TSval that never runs ahead', () => {
    for (const options of [
      { windowScale: 7, sack: true, ecn: false },
      { windowScale: undefined, sack: false, ecn: true },
      { windowScale: 14, sack: true, ecn: true },
      { windowScale: 0, sack: false, ecn: false },
    ]) {
      for (const tsNow of [1_000_000, 1_000_063, 64, 0xffff_fff0]) {
        const tsVal = SynCookies.encodeTimestamp(tsNow, options);
        expect((tsNow - tsVal) >>> 0 < 64).toBe(true);
        expect(SynCookies.decodeTimestamp(tsVal, (tsNow + 10) >>> 0)).toEqual(options);
      }
    }
    expect(SynCookies.decodeTimestamp(2000, 1000)).toBeNull(); // an echo from our future is not ours
  });
});

/** The peer's SYN from `port`; returns our answer. */
function syn(h: TcpHarness, port: number, options = mssOnly(), isn = 1000): Sent {
  h.send({ seq: isn, flags: SYN, options, srcPort: port });
  const sent = h.take();
  expect(sent).toHaveLength(1);
  return sent[0];
}

/** Fills the SYN queue of a listener with backlog 1 (max(backlog, 64) = 64 entries) from ports 30000 on. */
function fillSynQueue(h: TcpHarness): void {
  for (let port = 30000; port < 30064; port++) syn(h, port);
  expect(h.listener!.synQueue.size).toBe(64);
}

describe('a listener answers with cookies (TcpConfig.synCookies)', () => {
  it("'always': a SYN with timestamps gets a SYN-ACK that keeps no state, and the ACK makes the connection with every option", () => {
    const h = listening({ tcp: { synCookies: 'always' } });
    const synAck = syn(h, 40000, linuxSynOptions(777, 0, 7));
    expect(synAck.tcp.flags).toBe(SYN | ACK);
    expect(synAck.opts.sackPermitted).toBe(true);
    expect(synAck.opts.windowScale).toBeDefined();
    expect(synAck.opts.timestamps?.tsEcr).toBe(777);
    expect(h.stack.tcp.listConnections()).toHaveLength(0);
    expect(h.listener!.synQueue.size).toBe(0);
    expect(h.stat('tcp.synCookies.sent')).toBe(1);

    h.advance(30);
    const tsEcr = synAck.opts.timestamps!.tsVal;
    h.send({
      seq: 1001,
      ack: seqAdd(synAck.tcp.seq, 1),
      flags: ACK | PSH,
      window: 100,
      options: [{ kind: 'timestamps', tsVal: 800, tsEcr }],
      payload: 10,
      srcPort: 40000,
    });
    expect(h.stat('tcp.synCookies.valid')).toBe(1);
    const connection = h.conn; // accepted by the fixture
    expect(connection.state).toBe('ESTABLISHED');
    expect(connection.remotePort).toBe(40000);
    expect(connection.sndWindowShift).toBe(7);
    expect(connection.sndWnd).toBe(100 << 7);
    expect(connection.sackEnabled).toBe(true);
    expect(connection.timestamps.enabled).toBe(true);
    expect(connection.sendMss).toBe(1460 - 12);
    expect(connection.timestamps.recent).toBe(800);
    expect(h.read()).toHaveLength(10);
    // The RTT sample comes from the echo: 30 ms, give or take the ≤ 63 ms the options took off TSval.
    expect(connection.rtt.srtt).toBeGreaterThanOrEqual(30);
    expect(connection.rtt.srtt).toBeLessThan(30 + 64);
    // Later TSvals go on from the connection's clock, never behind the SYN-ACK's.
    h.advance(200);
    const next = h.take().find((s) => s.opts.timestamps);
    expect(next).toBeDefined();
    expect((next!.opts.timestamps!.tsVal - tsEcr) >>> 0 < 1000).toBe(true);
    expect(next!.tcp.ack).toBe(1011);
  });

  it("'always': without timestamps the SYN-ACK offers no window scale or SACK, and the MSS is the cookie's", () => {
    const h = listening({ tcp: { synCookies: 'always' } });
    const options = [...mssOnly(1400), { kind: 'sackPermitted' as const }, { kind: 'windowScale' as const, shiftCount: 7 }];
    const synAck = syn(h, 40000, options);
    expect(synAck.opts.sackPermitted).toBe(false);
    expect(synAck.opts.windowScale).toBeUndefined();
    expect(synAck.opts.timestamps).toBeUndefined();
    h.send({ seq: 1001, ack: seqAdd(synAck.tcp.seq, 1), flags: ACK, srcPort: 40000 });
    const connection = h.conn;
    expect(connection.state).toBe('ESTABLISHED');
    expect(connection.sendMss).toBe(1300);
    expect(connection.windowScalingEnabled).toBe(false);
    expect(connection.sackEnabled).toBe(false);
    expect(connection.rtt.srtt).toBeUndefined(); // the SYN-ACK's send time is not known
  });

  it("'auto': a SYN that finds the SYN queue full gets a cookie, and its handshake completes", () => {
    const h = listening({ backlog: 1 });
    fillSynQueue(h);
    const synAck = syn(h, 40000);
    expect(synAck.tcp.flags).toBe(SYN | ACK);
    expect(h.stat('tcp.synCookies.sent')).toBe(1);
    expect(h.listener!.synQueue.size).toBe(64);
    h.send({ seq: 1001, ack: seqAdd(synAck.tcp.seq, 1), flags: ACK, srcPort: 40000 });
    expect(h.conn.remotePort).toBe(40000);
    expect(h.conn.state).toBe('ESTABLISHED');
    expect(h.stat('tcp.passiveOpens')).toBe(1);
  });

  it('an ACK with a wrong cookie is answered with RST, and no ACK is checked when no cookie was sent lately', () => {
    const h = listening({ tcp: { synCookies: 'always' } });
    const synAck = syn(h, 40000);
    h.send({ seq: 1001, ack: seqAdd(synAck.tcp.seq, 2), flags: ACK, srcPort: 40000 });
    h.expectSent(flags(RST), seq(seqAdd(synAck.tcp.seq, 2)));
    expect(h.stat('tcp.synCookies.invalid')).toBe(1);
    expect(h.stack.tcp.listConnections()).toHaveLength(0);
    // Two minutes later even the right cookie is not looked at (nor valid any more).
    h.advance(121_000);
    h.send({ seq: 1001, ack: seqAdd(synAck.tcp.seq, 1), flags: ACK, srcPort: 40000 });
    h.expectSent(flags(RST), seq(seqAdd(synAck.tcp.seq, 1)));
    expect(h.stat('tcp.synCookies.invalid')).toBe(1);
    expect(h.stat('tcp.listen.ackWithoutConnection')).toBe(2);
  });

  it("'off': a SYN that finds the SYN queue full is dropped", () => {
    const h = listening({ backlog: 1, tcp: { synCookies: 'off' } });
    fillSynQueue(h);
    h.send({ seq: 1000, flags: SYN, options: mssOnly(), srcPort: 40000 });
    h.expectNothingSent();
    expect(h.stat('drop.tcp.synQueueFull')).toBe(1);
  });
});

describe('the SYN queue under pressure', () => {
  it('a full queue makes room by dropping its oldest entry once that entry has retransmitted its SYN-ACK', () => {
    const h = listening({ backlog: 1, tcp: { synCookies: 'off' } });
    fillSynQueue(h);
    h.advance(1000); // every SYN-ACK is retransmitted once
    expect(h.take()).toHaveLength(64);
    const synAck = syn(h, 40000);
    expect(synAck.tcp.flags).toBe(SYN | ACK);
    expect(h.stat('tcp.synQueue.pruned')).toBe(1);
    expect(h.listener!.synQueue.size).toBe(64);
    expect([...h.listener!.synQueue.values()].some((c) => c.remotePort === 30000)).toBe(false);
    expect([...h.listener!.synQueue.values()].some((c) => c.remotePort === 40000)).toBe(true);
    // The pruned peer's ACK now finds nothing: RST, as for any ACK at a listener.
    h.send({ seq: 1001, ack: 1, flags: ACK, srcPort: 30000 });
    expect(h.take()[0].tcp.flags).toBe(RST);
  });

  it('a SYN whose SYN-ACK has no route makes no half-open entry', () => {
    const h = listening();
    const repr = {
      srcPort: 40000,
      dstPort: LISTEN_PORT,
      seq: 1000,
      ack: 0,
      flags: SYN,
      window: 65535,
      urgentPointer: 0,
      options: mssOnly(),
      payload: new Uint8Array(0),
    };
    const far = addr('192.0.2.9'); // the harness's stack has only 10.0.0.0/24, no default route
    const bytes = new Uint8Array(tcpLength(repr));
    emitTcp(repr, bytes, { source: far, destination: OUR_ADDRESS });
    h.inject(ipv4Frame({ source: far, destination: OUR_ADDRESS, protocol: IpProtocol.TCP }, bytes));
    h.expectNothingSent();
    expect(h.stat('drop.tcp.synNoRoute')).toBe(1);
    expect(h.listener!.synQueue.size).toBe(0);
  });
});
