/**
 * The sending end of the kernel fixtures' transfers, replayed into ustack (docs/replay.md, "The
 * sending end"). eth-offload.pcap's sender (10.1.2.1, TSO on: super-segments of up to 21720
 * bytes at the tap, compared as the NIC cut them) agrees with the Linux profile segment for
 * segment: no divergence within the window tolerance. eth.pcap's sender (10.1.1.1, 256 KiB losing
 * every 15th segment) parts from Linux at the first loss — ustack and Linux retransmit at other
 * moments, and from then on the receiver's recorded ACKs acknowledge data ustack has not sent — and
 * every divergence is named by the rule below and counted, so a change in either is caught.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tcpConversations } from '../../src/drill/pcap-to-script.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { replayCapture, type Divergence, type ReplayResult } from '../../src/replay.js';
import { seqSub } from '../../src/tcp/seq.js';
import { TcpFlag } from '../../src/tcp/tcp-packet.js';

const FIXTURES = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../captures/fixtures');
/** The sender's advertised window is not what this is about (receive-window, docs/replay.md). */
const WINDOWS = { windowBytes: 1 << 20 };

/** The sending end's documented differences (docs/replay.md), by name. */
type SenderDifference = 'syn-window-scale' | 'syn-ecn' | 'ack-policy' | 'retransmission-timing' | 'ahead-of-ustack' | 'ack-of-unsent' | 'ts-echo-newer';

/** Which documented difference a divergence of the sending end is, or null. */
function explainSender(d: Divergence, retransmitted: (seq: number, side: 'host' | 'ustack', frame: number) => boolean): SenderDifference | null {
  const { expected, actual } = d;
  switch (d.kind) {
    case 'flags':
      return expected?.flags === 'S' && actual?.flags === 'SEW' ? 'syn-ecn' : null;
    case 'options': {
      if (!expected || !actual) return null;
      if (expected.flags.includes('S') && expected.options.replace(/wscale \d+/, '') === actual.options.replace(/wscale \d+/, '')) return 'syn-window-scale';
      // Linux's segments carry the TS echo of when they were built, before the ACKs that arrived
      // in the same instant were processed (a burst from one write, TSO); ustack's echo the latest.
      const ecr = (text: string) => Number(/ecr (\d+)/.exec(text)?.[1]);
      if (d.message.includes('echoed TS ecr') && ecr(actual.options) > ecr(expected.options)) return 'ts-echo-newer';
      return null;
    }
    case 'extra': {
      if (!actual) return null;
      // ustack answers an ACK of data it has not sent with an ACK, and drops it (RFC 9293 §3.10.7.4).
      if (actual.length === 0 && actual.flags === '.') return 'ack-of-unsent';
      return retransmitted(actual.seq, 'ustack', actual.frame) ? 'retransmission-timing' : null;
    }
    case 'missing': {
      if (!expected) return null;
      if (expected.length === 0 && expected.flags === '.') return 'ack-policy';
      // A retransmission Linux sent at another moment than ustack's (or that ustack did not need).
      if (retransmitted(expected.seq, 'host', expected.frame)) return 'retransmission-timing';
      // New data Linux sent and ustack had not yet: behind from the first parting on.
      return 'ahead-of-ustack';
    }
    default:
      return null;
  }
}

/**
 * For each relative sequence number a host sent data from, the first frame it did, in `capture`
 * (the fixture for the host, ReplayResult.pcap for ustack): a later sending is a retransmission.
 */
function firstSendings(capture: Uint8Array, host: string): Map<number, number> {
  const read = readCapture(capture);
  if (!read.ok) throw new Error(read.error.message);
  const address = parseIpv4Address(host);
  const first = new Map<number, number>();
  for (const conversation of tcpConversations(read.value.records)) {
    const own = conversation.segments.filter((s) => s.source === address);
    const syn = own.find((s) => s.tcp.flags & TcpFlag.SYN);
    if (!syn) continue;
    for (const s of own) {
      if (s.tcp.payload.length === 0) continue;
      const seq = seqSub(s.tcp.seq, syn.tcp.seq);
      if (!first.has(seq)) first.set(seq, s.frame);
    }
  }
  return first;
}

/** The replay's divergences by name (and those no rule names). */
function named(result: ReplayResult, file: string, host: string): { counts: Record<string, number>; unexplained: string[] } {
  const firstSent = { host: firstSendings(new Uint8Array(readFileSync(join(FIXTURES, file))), host), ustack: firstSendings(result.pcap, host) };
  const retransmitted = (seq: number, side: 'host' | 'ustack', frame: number) => (firstSent[side].get(seq) ?? frame) < frame;
  const counts: Record<string, number> = {};
  const unexplained: string[] = [];
  for (const d of result.divergences) {
    const name = explainSender(d, retransmitted);
    if (name === null) unexplained.push(`${d.kind}: ${d.message}`);
    else counts[name] = (counts[name] ?? 0) + 1;
  }
  return { counts, unexplained };
}

describe("eth-offload.pcap's sender (10.1.2.1): 64 KiB in TSO super-segments", () => {
  it("agrees with Linux's profile segment for segment: the super-segments cut at the MSS line up with ustack's 51 segments, no divergence", async () => {
    const result = await replayCapture(join(FIXTURES, 'eth-offload.pcap'), { host: '10.1.2.1', linux: true, tolerances: WINDOWS, datagrams: false });
    expect(result.divergences.map((d) => d.message)).toEqual([]);
    // 5 data super-segments (7240, 7240, 14480, 21720, 14856 bytes) are 46 segments on the wire, + SYN, ACK, FIN, 2 ACKs.
    expect(result.conversations[0]).toMatchObject({ role: 'connected', expected: 51, actual: 51, matched: 51 });
  });

  it("with ustack's defaults: the SYN's ECN request and window scale, and the ACK of the answer delayed (ack-policy)", async () => {
    const result = await replayCapture(join(FIXTURES, 'eth-offload.pcap'), { host: '10.1.2.1', tolerances: WINDOWS, datagrams: false });
    expect(named(result, 'eth-offload.pcap', '10.1.2.1')).toEqual({ counts: { 'syn-ecn': 1, 'syn-window-scale': 1, 'ack-policy': 1 }, unexplained: [] });
  });
});

describe("eth.pcap's sender (10.1.1.1): 256 KiB, every 15th segment lost after the tap", () => {
  it("with Linux's profile: everything up to the first loss agrees, then each divergence is a named difference, counted", async () => {
    const result = await replayCapture(join(FIXTURES, 'eth.pcap'), { host: '10.1.1.1', linux: true, tolerances: WINDOWS, datagrams: false });
    const { counts, unexplained } = named(result, 'eth.pcap', '10.1.1.1');
    expect(unexplained).toEqual([]);
    expect(counts).toEqual(EXPECTED_LINUX);
    const transfer = result.conversations.find((c) => c.peer === '10.1.1.2:5001')!;
    expect(transfer).toMatchObject(EXPECTED_TRANSFER);
    // Everything before the first loss lines up: the first divergence is at the first retransmission.
    const first = result.divergences.find((d) => d.conversation === transfer.number)!;
    expect(named({ ...result, divergences: [first] }, 'eth.pcap', '10.1.1.1').counts).toEqual({ 'retransmission-timing': 1 });
  });
});

/**
 * eth.pcap's sending end under Linux's profile, as of this commit: a change in ustack's sender
 * (or in the replay) moves these, and the change is then looked at and the counts (and
 * docs/replay.md) updated with it.
 */
const EXPECTED_LINUX: Record<string, number> = {
  'retransmission-timing': 19,
  'ahead-of-ustack': 103,
  'ts-echo-newer': 12,
  'ack-policy': 2,
  'ack-of-unsent': 1,
};
/** The host sent 202 segments in the capture's time, ustack 91, 84 of them lining up. */
const EXPECTED_TRANSFER = { role: 'connected', inbound: 89, expected: 202, actual: 91, matched: 84 };
