/**
 * Linux's receive window (TcpConfig.receiveWindowGrowth = 'linux', receive-window.ts), checked
 * against what Linux 6.18 advertised in captures/fixtures/eth.pcap (tcp_rmem[1] 131072,
 * tcp_rmem[2] 32 MiB, 1448-byte segments over veth): a SYN-ACK window of 65160 (45 × 1448),
 * then 67, 70 and 73 << 10 for the first three segments, each ACKed at once; and what the model
 * leaves alone by default.
 */
import { describe, expect, it } from 'vitest';
import { ACK, established, linuxSynOptions, synReceived, type TcpHarness } from './harness.js';

const LINUX_6_18 = { receiveWindowGrowth: 'linux', receiveBufferSize: 131072, receiveBufferMax: 32 * 1024 * 1024 } as const;
const PEER_SYN = linuxSynOptions(1000, 0, 7);
const SEGMENT = 1448;

/** Data segment `i` (from 0) of SEGMENT bytes, with the peer's timestamps; returns what we sent back. */
function segment(h: TcpHarness, i: number) {
  h.send({ seq: h.peerSeq(i * SEGMENT), ack: h.ourSeq(0), flags: ACK, payload: SEGMENT });
  return h.take();
}

describe("Linux's receive window (TcpConfig.receiveWindowGrowth)", () => {
  it("offers the buffer's window at 50 % in whole segments on the SYN-ACK (tcp_select_initial_window)", () => {
    const linux = synReceived({ peerSynOptions: PEER_SYN, tcp: LINUX_6_18 });
    expect(linux.ourSynAck.tcp.window).toBe(65160); // eth.pcap frame 36
    expect(linux.ourSynAck.opts.windowScale).toBe(10);
    // By default the SYN-ACK offers the free buffer, at most 65535.
    const own = synReceived({ peerSynOptions: PEER_SYN, tcp: { receiveBufferSize: 131072, receiveBufferMax: 32 * 1024 * 1024 } });
    expect(own.ourSynAck.tcp.window).toBe(65535);
  });

  it('grows by two segments per segment, rounded up to the scale, each growth ACKed at once (tcp_grow_window)', () => {
    const h = established({ peerSynOptions: PEER_SYN, tcp: { ...LINUX_6_18, quickAck: 'linux' } });
    const fields = [0, 1, 2].map((i) => {
      const sent = segment(h, i);
      expect(sent).toHaveLength(1);
      return sent[0].tcp.window;
    });
    expect(fields).toEqual([67, 70, 73]); // eth.pcap frames 43–45
  });

  it('grows by twice advmss, our MSS less the timestamp option (1448, not 1460): the fourth window is 75 << 10', () => {
    // 65160 + 4 × 2896 = 76744 offers 75 << 10, as eth.pcap frame 46 does; 4 × 2920 would be 76840, 76 << 10.
    const h = established({ peerSynOptions: PEER_SYN, tcp: { ...LINUX_6_18, quickAck: 'linux' } });
    const fields = [0, 1, 2, 3].map((i) => segment(h, i)[0].tcp.window);
    expect(fields).toEqual([67, 70, 73, 75]);
    expect(h.conn.quickAcks.receiveWindow.threshold).toBe(65160 + 4 * 2 * 1448);
  });

  it('stops growing when the queued memory leaves no room, and never withdraws the window offered', () => {
    const h = established({ peerSynOptions: PEER_SYN, tcp: { ...LINUX_6_18, quickAck: 'linux' } });
    let edge = 0;
    let largest = 0;
    let last = 0;
    // Nothing is read: each segment costs 1448 + 768 bytes of the 131072-byte buffer.
    for (let i = 0; i < 40; i++) {
      h.send({ seq: h.peerSeq(i * SEGMENT), ack: h.ourSeq(0), flags: ACK, payload: SEGMENT });
      for (const sent of h.take()) {
        const acked = (sent.tcp.ack - h.peerSeq(0)) >>> 0;
        const right = acked + sent.tcp.window * 1024;
        expect(right).toBeGreaterThanOrEqual(edge); // the right edge never moves left (RFC 9293 §3.8.6.2.2)
        edge = right;
        last = sent.tcp.window;
        largest = Math.max(largest, last);
      }
      h.advance(0.01);
    }
    // The threshold stopped below the window of the buffer's memory (85504 = 131072 × 167/256),
    // and the window then shrank as the unread data filled the buffer.
    expect(largest * 1024).toBeLessThanOrEqual(85504 + 1024);
    expect(last).toBeLessThan(largest);
  });

  it('autotunes the buffer once the application reads more per RTT than before (tcp_rcv_space_adjust)', () => {
    const h = established({ peerSynOptions: PEER_SYN, tcp: LINUX_6_18 });
    const before = h.conn.receiveBufferSize;
    for (let i = 0; i < 60; i++) {
      h.send({ seq: h.peerSeq(i * SEGMENT), ack: h.ourSeq(0), flags: ACK, payload: SEGMENT });
      h.read();
      h.take();
      h.advance(0.05);
    }
    expect(h.conn.receiveBufferSize).toBeGreaterThan(before);
    expect(h.conn.receiveBufferSize).toBeLessThanOrEqual(32 * 1024 * 1024);
  });

  it('decides autotuning on the first segment a read copies: taking most of a long queue at once grows nothing (tcp_recvmsg_locked)', () => {
    // Both applications read the same 60 segments within the same RTTs; one keeps up, the other
    // lets 30 segments queue and then takes them in one read. Linux adjusts after each buffer it
    // copies, so the second read's first segment is set against the 29 still queued behind it.
    const run = (keepUp: boolean) => {
      const h = established({ peerSynOptions: PEER_SYN, tcp: LINUX_6_18 });
      for (let i = 0; i < 60; i++) {
        h.send({ seq: h.peerSeq(i * SEGMENT), ack: h.ourSeq(0), flags: ACK, payload: SEGMENT });
        if (keepUp || i % 30 === 29) h.read();
        h.take();
        h.advance(0.05);
      }
      return h.conn.receiveBufferSize;
    };
    expect(run(true)).toBeGreaterThan(131072);
    expect(run(false)).toBeLessThanOrEqual(131072 + SEGMENT * 2); // only FreeBSD's rounding to whole segments
  });

  /** An application that keeps up with 60 segments 0.05 ms apart: the buffer autotuned, the RTT measured. */
  function keptUp(h: TcpHarness): number {
    for (let i = 0; i < 60; i++) {
      h.send({ seq: h.peerSeq(i * SEGMENT), ack: h.ourSeq(0), flags: ACK, payload: SEGMENT });
      h.read();
      h.take();
      h.advance(0.05);
    }
    return 60;
  }

  it('grows the threshold for an out-of-order segment under the clamp as it was, before the buffer grows for it (tcp_data_queue_ofo)', () => {
    // Linux calls tcp_grow_window before it charges the segment (skb_set_owner_r) and only then
    // tcp_rcvbuf_grow, whose larger buffer lifts the clamp for the next segment, not this one.
    const h = established({ peerSynOptions: PEER_SYN, tcp: LINUX_6_18 });
    const w = h.conn.quickAcks.receiveWindow;
    const next = keptUp(h);
    const { clamp, threshold } = w;
    expect(clamp - threshold).toBeLessThan(2 * SEGMENT); // less room than a growth
    h.send({ seq: h.peerSeq((next + 1) * SEGMENT), ack: h.ourSeq(0), flags: ACK, payload: SEGMENT }); // one segment lost before it
    expect(w.clamp).toBeGreaterThan(clamp); // the held span grew the buffer (tcp_rcvbuf_grow)
    expect(w.threshold).toBe(clamp); // but this segment's growth stopped at the old clamp
  });

  it("times autotuning's rounds by the last segment's arrival, not by the read (tcp_mstamp, not refreshed in tcp_rcv_space_adjust)", () => {
    // A burst of 60 segments read as they come, but for the last, which is read 20 ms later with
    // nothing arriving in between: by the read's time a round (an RTT) has passed and the reads
    // would grow the buffer; by the last segment's, it has not.
    const h = established({ peerSynOptions: PEER_SYN, tcp: LINUX_6_18 });
    const w = h.conn.quickAcks.receiveWindow;
    const start = keptUp(h);
    h.advance(10);
    for (let i = start; i < start + 60; i++) {
      h.send({ seq: h.peerSeq(i * SEGMENT), ack: h.ourSeq(0), flags: ACK, payload: SEGMENT });
      if (i < start + 59) h.read();
      h.take();
      h.advance(0.001);
    }
    const buffer = h.conn.receiveBufferSize;
    expect(w.rtt8 / 8).toBeGreaterThan(0.06); // the burst took less than an RTT
    h.advance(20);
    expect(h.read()).toHaveLength(SEGMENT);
    expect(h.conn.receiveBufferSize).toBe(buffer); // the read's time would have grown it to 261923
  });

  it('charges a segment an offload kept as one buffer once, as Linux charges a GSO/GRO skb (skb_set_owner_r, tcp_measure_rcv_mss)', () => {
    // eth-offload.pcap: the sender's TSO buffers reach the host whole over veth, 7240 bytes (five
    // segments) and more. Linux charges each its one truesize, 9085 for the first (scaling_ratio
    // 204, where five 1448-byte buffers would cost 5 × 2216 and give 167), until it is all read.
    const h = established({ peerSynOptions: PEER_SYN, tcp: { ...LINUX_6_18, quickAck: 'linux' } });
    const w = h.conn.quickAcks.receiveWindow;
    const BUFFER = 5 * SEGMENT;
    const windows = [0, 1, 2].map((i) => {
      h.send({ seq: h.peerSeq(i * BUFFER), ack: h.ourSeq(0), flags: ACK, payload: BUFFER });
      return h.take().at(-1)!.tcp.window;
    });
    expect(w.ratio).toBe(204); // 7240 × 256 / (7240 + 1845)
    expect(w.clamp).toBe(104448); // eth-offload.pcap frames 15, 21, 23: 102 << 10
    // Unread: three buffers of 9085 bytes leave (131072 − 27255) × 204/256 = 82729 of window
    // (one overhead per 1448 bytes inside would leave 81127); the threshold had stopped at 89968.
    expect(windows).toEqual([78, 88, 81]);
    expect(w.threshold).toBe(89968);
    // Read but for the last 1000 bytes: the third buffer is still charged whole; then all of it.
    h.conn.receive(3 * BUFFER - 1000);
    h.take();
    expect(w.offloaded).toHaveLength(1);
    h.read();
    h.take();
    expect(w.offloaded).toHaveLength(0);
  });

  it('by default the window is the free buffer and no growth ACKs are sent', () => {
    const h = established({ peerSynOptions: PEER_SYN, tcp: { receiveBufferSize: 131072, receiveBufferMax: 32 * 1024 * 1024, quickAck: 'push' } });
    expect(segment(h, 0)).toHaveLength(0); // delayed: the first of two
    const [ack] = segment(h, 1);
    expect(ack.tcp.window).toBe(Math.ceil((131072 - 2 * SEGMENT) / 1024));
  });
});
