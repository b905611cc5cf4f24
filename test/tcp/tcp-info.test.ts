/**
 * TCP_INFO (Linux's struct tcp_info, tcp_get_info() in net/ipv4/tcp.c) from a connection after
 * known segments: each group of fields against values computed by hand, in Linux's units
 * (µs for RTTs and timeouts, ms for ages, segments for the windows).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TCP_CONFIG } from '../../src/tcp/config.js';
import { listenerTcpInfo, NO_MIN_RTT, TCP_INFINITE_SSTHRESH, TcpCaState, tcpInfo, unconnectedTcpInfo, type TcpInfo } from '../../src/tcp/tcp-info.js';
import type { TcpOption } from '../../src/tcp/tcp-options.js';
import { unwrap } from '../../src/core/result.js';
import {
  ACK,
  ack,
  closeWait,
  closing,
  ECE,
  established,
  FIN,
  finWait1,
  finWait2,
  flags,
  lastAck,
  linuxSynOptions,
  mssOnly,
  PSH,
  sackOption,
  SYN,
  synReceived,
  synSent,
  timeWait,
  type FixtureOptions,
  type TcpHarness,
} from './harness.js';

const MSS = 1460;
const ECT0 = 2;
/** A peer that offers SACK (and an MSS of 1460), 40 ms away. */
const SACK_PEER: FixtureOptions = {
  peerSynOptions: [...mssOnly(), { kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sackPermitted' }] as TcpOption[],
  handshakeRttMs: 40,
};

function info(h: TcpHarness): TcpInfo {
  return tcpInfo(h.conn, h.now);
}

/** Writes `count` full segments with Nagle off and takes them. */
function sendSegments(h: TcpHarness, count: number): void {
  h.conn.setNoDelay(true);
  h.write(count * MSS);
  h.take();
}

describe('tcpi_state and tcpi_options', () => {
  it('tcpi_state numbers the states as Linux does (ESTABLISHED 1 … CLOSING 11, include/net/tcp_states.h)', () => {
    const states: Array<[() => TcpHarness, number]> = [
      [() => established(), 1],
      [() => synSent(), 2],
      [() => synReceived(), 3],
      [() => finWait1(), 4],
      [() => finWait2(), 5],
      [() => timeWait(), 6],
      [() => closeWait(), 8],
      [() => lastAck(), 9],
      [() => closing(), 11],
    ];
    for (const [fixture, state] of states) {
      const h = fixture();
      expect(info(h).state, h.conn.state).toBe(state);
    }
    const h = established();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: 0x04 /* RST */ });
    expect(info(h).state, 'CLOSED').toBe(7);
  });

  it('options carry TCPI_OPT_TIMESTAMPS | SACK | WSCALE when both SYNs had them, with the peer’s shift and ours (RFC 7323 §2.3)', () => {
    const h = established({ open: 'active', peerSynOptions: linuxSynOptions(1000, 0, 7) });
    const i = info(h);
    expect(i.options).toBe(1 | 2 | 4);
    expect(i.snd_wscale).toBe(7);
    expect(i.rcv_wscale).toBe(5); // the smallest shift that lets a 1 MiB buffer be advertised
  });

  it('a peer that offers only an MSS leaves every option bit clear and both shifts 0', () => {
    const i = info(established({ peerSynOptions: mssOnly() }));
    expect([i.options, i.snd_wscale, i.rcv_wscale]).toEqual([0, 0, 0]);
  });

  it('ECN negotiated sets TCPI_OPT_ECN, and TCPI_OPT_ECN_SEEN once ECT data arrives (RFC 3168 §6.1.1)', () => {
    const h = synSent();
    h.peerIss = 5000;
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK | ECE, options: mssOnly() });
    h.take();
    expect(info(h).options).toBe(8);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 100, ecn: ECT0 });
    expect(info(h).options).toBe(8 | 16);
  });
});

describe('RTT and RTO, in microseconds (RFC 6298)', () => {
  it('before any sample: rtt 0, rttvar a quarter of the initial RTO, rto 1 s, min_rtt ~0U (Linux’s tcp_init_sock values)', () => {
    const i = info(synSent());
    expect([i.rtt, i.rttvar, i.rto, i.min_rtt]).toEqual([0, 250_000, 1_000_000, NO_MIN_RTT]);
  });

  it('the handshake sample sets rtt = SRTT = R, rttvar = R/2 (RFC 6298 §2.2) and rto at the 200 ms floor', () => {
    const i = info(established({ handshakeRttMs: 10 }));
    expect([i.rtt, i.rttvar, i.min_rtt, i.rto]).toEqual([10_000, 5_000, 10_000, 200_000]);
  });

  it('a retransmission timeout: retransmits 1, backoff 1, rto doubled, ca_state Loss, the segment lost and retransmitted, one RTO recovery', () => {
    const h = established({ handshakeRttMs: 10 });
    h.write(1000);
    h.take();
    h.advance(200);
    h.take();
    let i = info(h);
    expect([i.retransmits, i.backoff, i.rto, i.ca_state]).toEqual([1, 1, 400_000, TcpCaState.loss]);
    expect([i.unacked, i.lost, i.retrans, i.total_retrans, i.bytes_retrans]).toEqual([1, 1, 1, 1, 1000]);
    expect([i.total_rto, i.total_rto_recoveries]).toEqual([1, 1]);
    h.advance(50);
    expect(info(h).total_rto_time).toBe(50);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1000), flags: ACK });
    h.advance(100);
    i = info(h);
    expect([i.retransmits, i.backoff, i.rto, i.ca_state, i.unacked, i.lost, i.retrans]).toEqual([0, 0, 200_000, TcpCaState.open, 0, 0, 0]);
    expect(i.total_rto_time).toBe(50); // the recovery ended with the ACK
  });

  it('a retransmitted SYN counts as an RTO and a retransmission, and SYN-SENT is in Loss until answered', () => {
    const h = synSent();
    h.advance(1000);
    h.take();
    const i = info(h);
    expect([i.retransmits, i.backoff, i.ca_state, i.total_retrans, i.total_rto, i.segs_out]).toEqual([1, 1, TcpCaState.loss, 1, 1, 2]);
  });
});

describe('snd_cwnd and snd_ssthresh in segments', () => {
  it('start at the initial window (RFC 6928: 10) and TCP_INFINITE_SSTHRESH', () => {
    const i = info(established());
    expect([i.snd_cwnd, i.snd_ssthresh, i.snd_mss]).toEqual([10, TCP_INFINITE_SSTHRESH, MSS]);
  });

  it('a partly acknowledged segment does not raise snd_cwnd: Linux credits whole segments, so the byte window is floored', () => {
    const h = established({ tcp: { congestionControl: 'newreno' } });
    sendSegments(h, 10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(100), flags: ACK });
    expect(h.conn.cc.cwnd).toBe(10 * MSS + 100);
    expect(info(h).snd_cwnd).toBe(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK });
    expect(info(h).snd_cwnd).toBe(11);
  });

  it('after an RTO: snd_cwnd 1 and snd_ssthresh half the flight, in segments (RFC 5681 §3.1 eq. 4)', () => {
    const h = established({ tcp: { congestionControl: 'newreno' } });
    sendSegments(h, 10);
    h.advance(1000);
    const i = info(h);
    expect([i.snd_cwnd, i.snd_ssthresh]).toEqual([1, 5]);
  });
});

describe('segment and byte counters (RFC 4898 tcpEStats, Linux’s tcp_sock)', () => {
  it('an active open counts its SYN and ACK out, the SYN-ACK in, and the SYN in bytes_acked and delivered', () => {
    const i = info(established({ open: 'active' }));
    expect([i.segs_out, i.segs_in, i.data_segs_out, i.data_segs_in, i.bytes_acked, i.delivered]).toEqual([2, 1, 0, 0, 1, 1]);
  });

  it('a passive open starts as Linux’s child socket: the SYN in, no SYN-ACK out, nothing in bytes_acked, the SYN-ACK delivered', () => {
    const i = info(established());
    expect([i.segs_out, i.segs_in, i.bytes_acked, i.delivered]).toEqual([0, 1, 0, 1]);
  });

  it('data both ways: data segments, bytes sent, acknowledged and received; a FIN counts one in bytes_received and bytes_acked', () => {
    const h = established();
    h.write(1000);
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1000), flags: ACK | PSH, payload: 500 });
    h.expectSent(flags(ACK), ack(h.peerSeq(500)));
    let i = info(h);
    expect([i.segs_out, i.data_segs_out, i.bytes_sent, i.segs_in, i.data_segs_in]).toEqual([2, 1, 1000, 2, 1]);
    expect([i.bytes_acked, i.bytes_received, i.delivered]).toEqual([1000, 500, 2]);
    h.send({ seq: h.peerSeq(500), ack: h.ourSeq(1000), flags: ACK | FIN });
    h.take();
    h.read();
    h.conn.close();
    h.take();
    h.send({ seq: h.peerSeq(501), ack: h.ourSeq(1001), flags: ACK });
    i = info(h);
    expect([i.bytes_received, i.bytes_acked]).toEqual([501, 1001]);
  });

  it('notsent_bytes counts what is written and not yet sent (here held by Nagle, RFC 896)', () => {
    const h = established();
    h.write(100);
    h.write(200);
    h.take();
    expect(info(h).notsent_bytes).toBe(200);
  });
});

describe('ages, in milliseconds', () => {
  it('last_data_sent, last_data_recv and last_ack_recv count from the handshake, then from the last data and ACK; ato appears with the first data', () => {
    const h = established();
    h.advance(1000);
    let i = info(h);
    expect([i.last_data_sent, i.last_data_recv, i.last_ack_recv, i.ato]).toEqual([1000, 1000, 1000, 0]);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK | PSH, payload: 10 });
    h.advance(30);
    i = info(h);
    expect([i.last_data_sent, i.last_data_recv, i.last_ack_recv, i.ato]).toEqual([1030, 30, 30, 40_000]);
    h.write(10);
    h.advance(5);
    expect(info(h).last_data_sent).toBe(5);
  });
});

describe('the SACK scoreboard, in segments', () => {
  it('SACKed segments above a hole: sacked and delivered count them, ca_state Disorder; RACK’s loss then means Recovery with the holes lost and retransmitted', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 10);
    h.advance(40);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(2 * MSS), rightEdge: h.ourSeq(4 * MSS) }) });
    let i = info(h);
    expect([i.unacked, i.sacked, i.lost, i.delivered, i.ca_state]).toEqual([10, 2, 0, 3, TcpCaState.disorder]);
    h.advance(10); // RACK's reordering window, min_RTT / 4
    h.take();
    // CUBIC's reduced window (7 segments) has room for one retransmission: pipe = 10 − 2 SACKed
    // − 2 lost = 6. Both holes stay lost, one resent and in flight.
    i = info(h);
    expect([i.ca_state, i.snd_cwnd, i.unacked, i.sacked, i.lost, i.retrans, i.total_retrans]).toEqual([TcpCaState.recovery, 7, 10, 2, 2, 1, 1]);
  });

  it('a segment SACKed below the highest SACKed one, never retransmitted, is reordering: reord_seen, and the degree in segments (tcp_check_sack_reordering)', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 10);
    h.advance(40);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(5 * MSS), rightEdge: h.ourSeq(6 * MSS) }) });
    expect([info(h).reord_seen, info(h).reordering]).toEqual([0, 3]);
    h.send({
      seq: h.peerSeq(0),
      ack: h.ourSeq(0),
      flags: ACK,
      options: sackOption({ leftEdge: h.ourSeq(MSS), rightEdge: h.ourSeq(2 * MSS) }, { leftEdge: h.ourSeq(5 * MSS), rightEdge: h.ourSeq(6 * MSS) }),
    });
    expect([info(h).reord_seen, info(h).reordering]).toEqual([1, 5]); // 6 MSS − 1 MSS below the highest
  });

  it('a D-SACK counts the segments it reports received twice (dsack_dups, RFC 2883)', () => {
    const h = established(SACK_PEER);
    sendSegments(h, 2);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(2 * MSS), flags: ACK, options: sackOption({ leftEdge: h.ourSeq(0), rightEdge: h.ourSeq(2 * MSS) }) });
    expect(info(h).dsack_dups).toBe(2);
  });

  it('without SACK, duplicate ACKs count as delivered segments in sacked, as Linux’s Reno sacked_out (RFC 5681 §3.2)', () => {
    const h = established();
    sendSegments(h, 5);
    for (let n = 0; n < 2; n++) h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK });
    let i = info(h);
    expect([i.sacked, i.delivered, i.ca_state]).toEqual([2, 3, TcpCaState.disorder]);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK });
    h.take();
    i = info(h);
    expect([i.sacked, i.ca_state, i.total_retrans]).toEqual([3, TcpCaState.recovery, 1]);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(5 * MSS), flags: ACK });
    i = info(h);
    expect([i.sacked, i.delivered, i.ca_state]).toEqual([0, 6, TcpCaState.open]); // the SYN-ACK and five segments
  });

  it('segments an ACK with ECN-Echo reports delivered count in delivered_ce (RFC 3168 §6.1.2)', () => {
    const h = synSent();
    h.peerIss = 5000;
    h.send({ seq: 5000, ack: h.ourSeq(0), flags: SYN | ACK | ECE, options: mssOnly() });
    h.take();
    h.write(100);
    h.take();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(100), flags: ACK | ECE });
    const i = info(h);
    expect([i.delivered, i.delivered_ce, i.ca_state]).toEqual([2, 1, TcpCaState.cwr]);
  });
});

describe('the receiving side', () => {
  it('a data segment beyond a hole counts in rcv_ooopack; bytes_received grows when the hole fills', () => {
    const h = established();
    h.send({ seq: h.peerSeq(100), ack: h.ourSeq(0), flags: ACK, payload: 100 });
    expect([info(h).rcv_ooopack, info(h).bytes_received]).toEqual([1, 0]);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 100 });
    expect([info(h).rcv_ooopack, info(h).bytes_received]).toEqual([1, 200]);
  });

  it('rcv_mss starts at 536, follows longer segments up to our MSS, and falls to a shorter full-looking length seen twice (tcp_measure_rcv_mss)', () => {
    const h = established();
    expect(info(h).rcv_mss).toBe(536);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 1000 });
    expect(info(h).rcv_mss).toBe(1000);
    h.send({ seq: h.peerSeq(1000), ack: h.ourSeq(0), flags: ACK, payload: 600 });
    expect(info(h).rcv_mss).toBe(1000);
    h.send({ seq: h.peerSeq(1600), ack: h.ourSeq(0), flags: ACK, payload: 600 });
    expect(info(h).rcv_mss).toBe(600);
  });

  it('rcv_rtt is the age of the TSval a full-sized segment echoes (tcp_rcv_rtt_measure_ts); rcv_space starts at 10 × advmss', () => {
    const h = established({ open: 'active', peerSynOptions: linuxSynOptions(1000), handshakeRttMs: 10 });
    expect([info(h).rcv_rtt, info(h).rcv_space]).toEqual([0, 10 * 1460]);
    h.advance(30);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, payload: 1000 });
    expect(info(h).rcv_rtt).toBe(30_000); // our ACK of the SYN-ACK left at 10 ms, echoed at 40 ms
  });

  it('rcv_wnd is the window last advertised, scaled; rcv_ssthresh the largest the buffer and scale allow', () => {
    const h = established({ open: 'active', peerSynOptions: linuxSynOptions(1000) });
    const i = info(h);
    expect(i.rcv_wnd).toBe(32768 << 5); // the whole free 1 MiB: window field 32768 at shift 5
    expect(i.rcv_ssthresh).toBe(1024 * 1024);
  });
});

describe('chrono accounting: busy, rwnd-limited and sndbuf-limited time, in µs', () => {
  it('data held back by a zero window is rwnd_limited time, inside busy_time, which ends when everything is acknowledged', () => {
    const h = established({ peerWindow: 0 });
    h.write(1000);
    h.advance(100);
    expect([info(h).rwnd_limited, info(h).busy_time]).toEqual([100_000, 100_000]);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(0), flags: ACK, window: 2000 });
    h.take();
    h.advance(30);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1000), flags: ACK, window: 2000 });
    h.advance(50);
    expect([info(h).rwnd_limited, info(h).busy_time]).toEqual([100_000, 130_000]);
  });

  it('unanswered zero-window probes count in probes and backoff, not in retransmits', () => {
    const h = established({ peerWindow: 0 });
    h.write(1000);
    h.advance(h.conn.rtt.rto);
    h.take();
    const i = info(h);
    expect([i.probes, i.backoff, i.retransmits]).toEqual([1, 1, 0]);
  });

  it('a writer blocked on a full send buffer while all it queued is sent and cwnd has room is sndbuf_limited time', () => {
    const h = established();
    h.conn.sendMemory.setSize(2 * MSS);
    h.conn.setNoDelay(true);
    expect(h.write(5000)).toBe(2 * MSS);
    h.take();
    h.advance(50);
    expect([info(h).sndbuf_limited, info(h).busy_time]).toEqual([50_000, 50_000]);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(MSS), flags: ACK }); // half the buffer free: no longer blocked
    h.advance(10);
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(2 * MSS), flags: ACK });
    h.advance(10);
    expect([info(h).sndbuf_limited, info(h).busy_time, info(h).rwnd_limited]).toEqual([50_000, 60_000, 0]);
  });

  it('the first transmission after a cwnd-limited window that leaves cwnd unused starts sndbuf_limited time (tcp_cwnd_validate records the window first)', () => {
    const h = established({ tcp: { congestionWindowValidation: 'linux', slowStartAckLimitSegments: Number.POSITIVE_INFINITY } });
    h.conn.sendMemory.setSize(10 * MSS);
    h.conn.setNoDelay(true);
    expect(h.write(30 * MSS)).toBe(10 * MSS);
    expect(h.take()).toHaveLength(10); // the whole initial window: cwnd-limited
    h.advance(10);
    // All ten acknowledged: cwnd 20; the writer fills the buffer again and all of it leaves, ten
    // of twenty segments (Linux's slow-start rule: cwnd-limited only while cwnd < 2 × the flight).
    // The buffer, not cwnd, holds the sender back from now on, though the window before was
    // cwnd-limited.
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(10 * MSS), flags: ACK });
    expect(h.write(20 * MSS)).toBe(10 * MSS);
    expect(h.take()).toHaveLength(10);
    h.advance(30);
    expect(info(h).sndbuf_limited).toBe(30_000);
  });
});

describe('sockets without a connection', () => {
  it('a listener reports LISTEN, its accept queue in unacked and its backlog in sacked, as Linux', () => {
    const h = established();
    const listener = unwrap(h.stack.tcp.listen(0, 8080, 7));
    const i = listenerTcpInfo(listener, h.stack.tcp.config);
    expect([i.state, i.unacked, i.sacked, i.snd_cwnd, i.reordering, i.rtt, i.segs_in]).toEqual([10, 0, 7, 10, 3, 0, 0]);
  });

  it('a fresh socket reports CLOSE with Linux’s initial values: 1 s RTO, 536-byte MSS, 10 segments, no ssthresh', () => {
    const i = unconnectedTcpInfo(DEFAULT_TCP_CONFIG);
    expect([i.state, i.rto, i.rttvar, i.snd_mss, i.snd_cwnd, i.snd_ssthresh, i.min_rtt, i.segs_out]).toEqual([
      7,
      1_000_000,
      250_000,
      536,
      10,
      TCP_INFINITE_SSTHRESH,
      NO_MIN_RTT,
      0,
    ]);
  });
});

describe('tcpi_pacing_rate (Linux tcp_update_pacing_rate, whether or not anything paces)', () => {
  it('is ~0 before an RTT sample, then max(cwnd, flight) / SRTT times the slow-start ratio (200 %) in bytes a second', () => {
    expect(info(synSent()).pacing_rate).toBe(2 ** 64 - 1);
    const h = established(SACK_PEER); // SRTT 40 ms from the handshake
    const cwnd = h.conn.cc.cwnd;
    expect(h.conn.rtt.srtt).toBe(40);
    expect(info(h).pacing_rate).toBe(Math.floor((cwnd * 2) / 0.04));
    expect(info(h).max_pacing_rate).toBe(2 ** 64 - 1);
  });

  it('follows the configured ratio (tcp_pacing_ss_ratio)', () => {
    const h = established({ ...SACK_PEER, tcp: { pacingSlowStartRatio: 300 } });
    expect(info(h).pacing_rate).toBe(Math.floor((h.conn.cc.cwnd * 3) / 0.04));
  });
});
