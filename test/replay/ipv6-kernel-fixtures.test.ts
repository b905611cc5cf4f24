/**
 * The kernel's IPv6 fixtures (captures/fixtures/ipv6: Linux 6.18, recorded by
 * test/ip/record-ipv6.sh) replayed over IPv6 with either end played by ustack: every divergence is
 * one of the documented differences between Linux's defaults and ustack's (docs/replay.md,
 * "IPv6"), each named here by the rule that recognises it, and each fixture's set of differences
 * is checked — with Linux's defaults only the named ones stay. A divergence no rule explains fails
 * the test. The captures also hold what an end host's replay leaves out, and the notes say so: MLD
 * and Neighbor Discovery, and the ICMPv6 errors B sent as a router about packets it forwarded.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpConversations } from '../../src/drill/pcap-to-script.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { seqSub } from '../../src/tcp/seq.js';
import { TcpFlag } from '../../src/tcp/tcp-packet.js';
import { echoedTimestamp, onlyWindowScaleDiffers, sharedDifference } from '../support/replay-differences.js';
import { replayCapture, type Divergence, type ReplayResult } from '../../src/replay.js';
import { freshRecording } from '../support/fresh-recording.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const FIXTURES = join(ROOT, 'captures/fixtures/ipv6');

/** The documented differences (docs/replay.md, "IPv6"), by name. */
type Difference =
  'syn-window-scale' | 'syn-ecn' | 'receive-window' | 'ack-policy' | 'fin-ack-delayed' | 'tap-before-relay' | 'raw-socket-packets' | 'ts-echo-burst';

/** How late the Python relay (test/fixtures/tun-relay.py) may bring the host's answers to the tap: 5.9 ms in the fixture, more on a loaded machine. */
const RELAY_MS = 20;

const bareAck = (flags: string | undefined, length: number | undefined) => flags === '.' && length === 0;

/** Which documented difference a divergence is, or null. */
function explain(d: Divergence, relayed: boolean, finAcks: ReadonlyMap<number, number>): Difference | null {
  const { expected, actual, expectedDatagram: host, actualDatagram: ours } = d;
  if (d.datagram !== undefined) {
    // The hand-made packets the recording sent from A (test/ip/record-ipv6.sh: a Destination
    // Options header with an unknown option, a Routing header, an unknown Next Header, a second
    // header chain): whole packets through a raw socket, where the replay's UDP socket sends plain
    // datagrams. ustack cannot play that application.
    if (d.kind === 'ip' && host?.protocol === 'udp' && host.ipOptions !== '' && ours?.ipOptions === '') return 'raw-socket-packets';
    if (d.kind === 'missing' && host?.protocol === '253') return 'raw-socket-packets';
    // ipv6/raw.pcap was taken on A's TUN, a Python relay away from B: B's answers reach the tap
    // some milliseconds after B sent them.
    if (d.kind === 'timing' && relayed && host && ours && ours.timeMs < host.timeMs && host.timeMs - ours.timeMs < RELAY_MS) return 'tap-before-relay';
    return null;
  }
  const shared = sharedDifference(d, relayed);
  if (shared !== null) return shared;
  switch (d.kind) {
    case 'options': {
      if (!expected || !actual) return null;
      // Its TS val, relative to its first (the SYN-ACK's): the relay delayed that one more or less than this one.
      const tsVal = /ustack's TS val (\d+), the host's (\d+)/.exec(d.message);
      if (relayed && tsVal && Math.abs(Number(tsVal[1]) - Number(tsVal[2])) < RELAY_MS) return 'tap-before-relay';
      // A data segment of the sender built after another of the receiver's ACKs than the host's
      // was (open loop: each echoes the newest TS val it had then), a tick or so apart.
      if (expected.length > 0 && d.message.includes('echoed TS ecr') && Math.abs(echoedTimestamp(actual.options) - echoedTimestamp(expected.options)) <= 5)
        return 'ts-echo-burst';
      if (onlyWindowScaleDiffers(d)) return 'syn-window-scale';
      return null;
    }
    case 'timing':
      // The relay again (a refused SYN's RST+ACK, an ACK): the host's answer reached the tap later.
      return relayed && expected && actual && actual.timeMs < expected.timeMs && expected.timeMs - actual.timeMs < RELAY_MS ? 'tap-before-relay' : null;
    case 'flags':
      return expected?.flags === 'S' && actual?.flags === 'SEW' ? 'syn-ecn' : null;
    case 'extra':
      if (!actual || !bareAck(actual.flags, actual.length)) return null;
      // The peer's FIN acknowledged at once, where the host's ACK of it rode on its answer.
      return finAcks.get(d.conversation) === actual.ack ? 'fin-ack-delayed' : 'ack-policy';
    case 'missing':
      return expected && bareAck(expected.flags, expected.length) ? 'ack-policy' : null;
    default:
      return null;
  }
}

/** Per conversation, the acknowledgement (relative to the peer's ISN) of the peer's FIN, when the peer sent one. */
function finAcksOf(path: string, host: string): Map<number, number> {
  const capture = readCapture(new Uint8Array(readFileSync(path)));
  if (!capture.ok) throw new Error(capture.error.message);
  const acks = new Map<number, number>();
  tcpConversations(capture.value.records, 6).forEach((conversation, index) => {
    const peer = conversation.segments.filter((s) => s.source !== host);
    const syn = peer.find((s) => s.tcp.flags & TcpFlag.SYN);
    const fin = peer.find((s) => s.tcp.flags & TcpFlag.FIN);
    if (syn && fin) acks.set(index + 1, (seqSub(fin.tcp.seq, syn.tcp.seq) + fin.tcp.payload.length + 1) >>> 0);
  });
  return acks;
}

/** The differences a replay shows, each divergence named; one no rule explains fails. */
function differences(result: ReplayResult, relayed: boolean, finAcks: ReadonlyMap<number, number> = new Map()): Difference[] {
  const found = new Set<Difference>();
  for (const d of result.divergences) {
    const name = explain(d, relayed, finAcks);
    expect(name, `no documented difference explains: ${d.kind}: ${d.message}`).not.toBeNull();
    found.add(name!);
  }
  return [...found].sort();
}

/** The fixtures of one run: eth, sll and sll2 are one recording over veth (B is fd00:15::2), raw and ipv6 one over TUN (fd00:17::2). */
const FILES = [
  { file: 'eth.pcap', receiver: 'fd00:15::2', sender: 'fd00:15::1', relayed: false },
  { file: 'sll.pcap', receiver: 'fd00:15::2', sender: 'fd00:15::1', relayed: false },
  { file: 'sll2.pcap', receiver: 'fd00:15::2', sender: 'fd00:15::1', relayed: false },
  { file: 'raw.pcap', receiver: 'fd00:17::2', sender: 'fd00:17::1', relayed: true },
  { file: 'ipv6.pcap', receiver: 'fd00:17::2', sender: 'fd00:17::1', relayed: true },
];

describe.each(FILES)('ipv6/$file', ({ file, receiver, sender, relayed }) => {
  const path = `${FIXTURES}/${file}`;
  const relay: Difference[] = relayed ? ['tap-before-relay'] : [];
  // Over the relay the peer's FIN came on a data segment while the Linux profile was still
  // quick-ACKing: ustack ACKed it at once, the host's ACK rode on its answer 1.7 ms (of relay) later.
  const relayFin: Difference[] = relayed ? ['fin-ack-delayed'] : [];

  it(`the receiving end (${receiver}), ustack's defaults: syn-window-scale, receive-window, ack-policy, fin-ack-delayed${relayed ? ', tap-before-relay' : ''}`, async () => {
    const result = await replayCapture(path, { host: receiver });
    expect(differences(result, relayed, finAcksOf(path, receiver))).toEqual(
      ['ack-policy', 'fin-ack-delayed', 'receive-window', 'syn-window-scale', ...relay].sort(),
    );
    // The closed port's SYN and RST+ACK, and the 20 KB exchange: listened, every segment of the peer played.
    expect(result.conversations.map((c) => [c.role, c.host])).toEqual([
      ['none', `[${receiver}]:5999`],
      ['listened', `[${receiver}]:5001`],
    ]);
    // UDP and ICMPv6: 2 pings (one of 3000 bytes in 3 fragments), UDP echoes of 100 and 3000
    // bytes, a closed port, 4 hand-made packets answered with Parameter Problems — all lined up.
    expect(result.datagrams).toEqual({
      inbound: 14,
      sockets: [
        { port: 6000, sends: 2 },
        { port: 6003, sends: 0 },
      ],
      expected: 10,
      actual: 10,
      matched: 10,
    });
    if (relayed) {
      expect(result.notes).toContain("3 Neighbor Discovery and MLD messages are not replayed (the replay's link has no neighbours)");
    } else {
      expect(result.notes).toContain("25 Neighbor Discovery and MLD messages are not replayed (the replay's link has no neighbours)");
      // B was also a router between A and C: its Time Exceeded and Packet Too Big are a router's.
      expect(result.notes).toContain("the host's 2 ICMP errors about packets it was forwarding (frames 94, 97) are not compared: ustack plays an end host");
    }
  });

  it(`the receiving end, Linux's defaults: receive-window${relayed ? ', fin-ack-delayed, tap-before-relay' : ''} — and within 1 MiB of window nothing${relayed ? ' but those two' : ''}`, async () => {
    const finAcks = finAcksOf(path, receiver);
    const result = await replayCapture(path, { host: receiver, linux: true });
    expect(differences(result, relayed, finAcks)).toEqual(['receive-window', ...relay, ...relayFin].sort());
    const windows = await replayCapture(path, { host: receiver, linux: true, tolerances: { windowBytes: 1 << 20 } });
    expect(differences(windows, relayed, finAcks)).toEqual([...relay, ...relayFin].sort());
  });

  it(`the sending end (${sender}): Linux's defaults agree segment for segment, the hand-made packets are raw-socket-packets; ustack's: syn-ecn, syn-window-scale, receive-window, ack-policy`, async () => {
    const linux = await replayCapture(path, { host: sender, linux: true, tolerances: { windowBytes: 1 << 20 } });
    expect(differences(linux, relayed)).toEqual(['raw-socket-packets']);
    expect(linux.conversations.map((c) => [c.role, c.expected, c.matched])).toEqual([
      ['connected', 1, 1],
      ['connected', linux.conversations[1].expected, linux.conversations[1].expected],
    ]);
    expect(linux.notes).toContain("the host's 3 echo requests (a ping it ran) are not replayed");
    const ustack = await replayCapture(path, { host: sender, datagrams: false });
    // The sender's own window (64 << 10 against ustack's 1 MiB), and the ACK of the peer's answer
    // (10 bytes after the FIN) that Linux sent at once and ustack delayed onto the ACK of the FIN.
    expect(differences(ustack, relayed)).toEqual(['ack-policy', 'receive-window', 'syn-ecn', 'syn-window-scale']);
  });
});

const RECORDING = freshRecording(
  join(ROOT, 'test/ip/record-ipv6.sh'),
  ['ip', 'tcpdump', 'ethtool', 'python3', 'ping', 'timeout', 'editcap'],
  'recording IPv6 kernel traffic to replay',
);

/**
 * The kernel of this machine, recorded now by the same script (test/ip/record-ipv6.sh, in
 * throw-away namespaces): the veth run's differences are the fixture's. The TUN run is not
 * replayed fresh: its Python relay delays each answer by a few milliseconds that vary from run
 * to run and from packet to packet (segments then line up otherwise: a FIN, an ACK), so only the
 * committed ipv6/raw.pcap is held to its set (above).
 */
describe('IPv6 captures recorded now from the kernel (record-ipv6.sh), replayed', () => {
  let directory = '';
  beforeAll(() => {
    if (RECORDING.runs) directory = RECORDING.record();
  }, 120_000);
  afterAll(() => {
    if (directory !== '') RECORDING.remove(directory);
  });

  it.runIf(RECORDING.runs)("over veth (eth.pcap): the fixture's differences, from both ends, with both defaults", async () => {
    const path = join(directory, 'eth.pcap');
    const receiver = 'fd00:15::2';
    const finAcks = finAcksOf(path, receiver);
    expect(differences(await replayCapture(path, { host: receiver }), false, finAcks)).toEqual([
      'ack-policy',
      'fin-ack-delayed',
      'receive-window',
      'syn-window-scale',
    ]);
    // With Linux's window, which of the kernel's ACKs went at once follows when its receiving
    // application read (the window grew and set quick ACKs), and a fresh run on a loaded machine
    // reads at other moments than the inferred reads place them: ack-policy may show here (CI saw
    // it once) where the committed fixture, pinned above, has none.
    const linuxDifferences = differences(await replayCapture(path, { host: receiver, linux: true }), false, finAcks);
    expect(linuxDifferences).toContain('receive-window');
    expect(['ack-policy', 'receive-window']).toEqual(expect.arrayContaining(linuxDifferences));
    const withinWindow = differences(await replayCapture(path, { host: receiver, linux: true, tolerances: { windowBytes: 1 << 20 } }), false, finAcks);
    expect(['ack-policy']).toEqual(expect.arrayContaining(withinWindow));
    // The sender's data segments may echo a TS val a tick apart from the host's (which of the
    // receiver's ACKs each built one after varies from run to run).
    const sender = differences(await replayCapture(path, { host: 'fd00:15::1', linux: true, tolerances: { windowBytes: 1 << 20 } }), false);
    expect(sender).toContain('raw-socket-packets');
    expect(['raw-socket-packets', 'ts-echo-burst']).toEqual(expect.arrayContaining(sender));
  });
});
