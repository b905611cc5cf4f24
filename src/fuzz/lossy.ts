/**
 * Lossy bulk transfers for the end of an epoch: a peer that drops some of the stack's segments,
 * sees others reordered, ACKs each segment it gets (SACKing what lies above a hole, RFC 2018;
 * reporting duplicates with a D-SACK, RFC 2883), sometimes holds its ACKs past the RTO (a
 * spurious timeout, for F-RTO, RFC 5682), sometimes reneges on what it SACKed (RFC 2018 §8), and
 * sometimes marks ECE. And the other way: segments sent out of order, some late, some twice, some
 * overlapping. Every byte must still arrive exactly, both ways.
 */
import type { TcpConnection } from '../tcp/connection.js';
import { seqAdd, seqSub } from '../tcp/seq.js';
import { parseTcpOptions, type TcpOption } from '../tcp/tcp-options.js';
import type { Target } from './world.js';

const ACK = 0x010;
const PSH_ACK = 0x018;
const ECE = 0x040;
const CWR = 0x080;
/** The IP header's ECN field (RFC 3168 §5): ECT(0), and CE as a router marks it. */
const ECN_ECT0 = 2;
const ECN_CE = 3;

/**
 * A pause in a transfer longer than both a learned path MTU's lifetime (RFC 1191 §6.3, ten
 * minutes in ip-layer.ts) and the interval after which an MTU search starts over (RFC 4821
 * §7.7, TcpConfig.mtuProbeIntervalMs, 600 s).
 */
const LONG_PAUSE_MS = 601_000;

/** The MTU a router's fragmentation-needed gives an MTU-probing transfer. */
const ROUTER_MTU = 1100;

/** Bytes of each write of a chatty writer (many small writes, each a push mark, Nagle coalescing them). */
const CHATTY_WRITE_BYTES = [64, 200, 536] as const;

/**
 * Stack → peer over a lossy path; null when every byte arrived exactly. Now and then the
 * application writes in small pieces (many write marks waiting), and some long transfers go
 * over a clean path. With MTU probing such a transfer pauses halfway for ten minutes once all
 * it sent is acknowledged: the path MTU a router's fragmentation-needed taught expires (RFC
 * 1191 §6.3), the search for a larger MSS, ended by then, starts over (RFC 4821 §7.7), and a
 * probe larger than the MSS then in use raises it.
 */
export function lossyTransferOut(target: Target, connection: TcpConnection, data: Uint8Array): string | null {
  const dice = target.dice;
  target.link.take();
  const start = connection.sndNxt;
  const collected = new Uint8Array(data.length);
  const held = new Uint8Array(data.length); // 1 where the peer holds the byte
  const drops = new Map<number, number>();
  const maxBlocks = connection.timestamps.enabled ? 3 : 4;
  let written = 0;
  let contiguous = 0;
  let reneged = false;
  // A small SO_SNDBUF now and then: the data goes in as room frees, the ring buffer wraps.
  if (dice.chance(0.3)) connection.sendMemory.setSize(dice.pick([4096, 8192]));
  const chatty = dice.chance(0.3) ? dice.pick(CHATTY_WRITE_BYTES) : 0;
  // With MTU probing: a router's fragmentation-needed (MTU 1100) for the first segment, so that
  // the search for a larger MSS (RFC 4821) has room to probe; this peer takes any size.
  const probing = connection.host.config.mtuProbing;
  let mtuLowered = !probing || connection.peerMss < 1300 || !dice.chance(0.8);
  // Some long transfers go over a clean path (no loss, reordering, held ACKs, reneging or ECE):
  // slow start runs long (HyStart's exits), and the congestion window grows past the 11
  // segments an MTU probe needs. With MTU probing those pause halfway.
  const clean = data.length >= 65_536 && dice.chance(probing ? 0.8 : 0.3);
  let pauseAt = clean && probing ? data.length >> 1 : data.length;
  const lossRate = clean ? 0 : dice.pick([0.05, 0.15, 0.3]);
  for (let rounds = 0; contiguous < data.length && rounds < 5_000; rounds++) {
    if (connection.state !== 'ESTABLISHED') return `state ${connection.state} after ${contiguous} bytes out (lossy)`;
    if (written >= pauseAt && contiguous >= pauseAt && connection.flightSize === 0) {
      target.count('lossy-long-pause');
      target.advance(target.now + LONG_PAUSE_MS);
      pauseAt = data.length;
    }
    const until = Math.min(data.length, pauseAt);
    while (written < until) {
      const piece = chatty > 0 ? data.subarray(written, Math.min(until, written + chatty)) : data.subarray(written, until);
      const sent = connection.send(piece);
      if (!sent.ok) return `send: ${sent.error}`;
      written += sent.value;
      if (sent.value < piece.length) break;
    }
    target.settle();
    if (!mtuLowered && connection.flightSize > 0) {
      mtuLowered = true;
      target.fragmentationNeeded(connection, ROUTER_MTU);
    }
    // What arrives: segments, those sent for the device to cut (TSO) cut as it would.
    const segments: Array<{ seq: number; payload: Uint8Array; optionBytes: Uint8Array }> = [];
    for (const frame of target.link.take()) {
      const segment = target.segmentFrom(frame, connection);
      if (!segment || segment.payload.length === 0) continue;
      const size = target.link.segmentSizes.get(frame) ?? segment.payload.length;
      for (let at = 0; at < segment.payload.length; at += size) {
        segments.push({ seq: seqAdd(segment.seq, at), payload: segment.payload.subarray(at, at + size), optionBytes: segment.optionBytes });
      }
    }
    if (segments.length > 1 && !clean && dice.chance(0.3)) shuffle(dice, segments);
    const acks: Array<{ ack: number; options: TcpOption[]; ece: boolean }> = [];
    for (const segment of segments) {
      const offset = seqSub(segment.seq, start);
      const length = segment.payload.length;
      if (offset < 0 || offset + length > data.length) return `a segment out of the data: offset ${offset}, ${length} bytes`;
      const dropped = drops.get(offset) ?? 0;
      if (dropped < 2 && dice.chance(lossRate)) {
        drops.set(offset, dropped + 1);
        continue;
      }
      let duplicate = true;
      for (let i = 0; i < length; i++) {
        if (!held[offset + i]) duplicate = false;
        held[offset + i] = 1;
        collected[offset + i] = segment.payload[i];
      }
      while (contiguous < data.length && held[contiguous]) contiguous++;
      let blocks: Array<{ leftEdge: number; rightEdge: number }> = [];
      if (connection.sackEnabled) {
        const dsack = duplicate ? [{ leftEdge: segment.seq, rightEdge: seqAdd(segment.seq, length) }] : [];
        const ranges = heldRanges(held, contiguous);
        // The block holding this segment first (RFC 2018 §4), then the others, highest first.
        ranges.sort((a, b) => (a[0] <= offset && offset < a[1] ? -1 : b[0] <= offset && offset < b[1] ? 1 : b[0] - a[0]));
        blocks = [...dsack, ...ranges.map(([from, to]) => ({ leftEdge: seqAdd(start, from), rightEdge: seqAdd(start, to) }))].slice(0, maxBlocks);
      }
      acks.push({
        ack: seqAdd(start, contiguous),
        options: ackOptions(target, connection, tsValOf(segment.optionBytes), blocks),
        ece: connection.ecn.enabled && !clean && dice.chance(0.05),
      });
    }
    // Reneging (RFC 2018 §8): the peer forgets what it SACKed above the hole.
    if (!reneged && !clean && connection.sackEnabled && dice.chance(0.02) && contiguous < data.length) {
      reneged = true;
      held.fill(0, contiguous);
    }
    // ACKs held past the RTO: the timeout is spurious, the ACKs then show the originals arrived.
    if (acks.length > 0 && !clean && dice.chance(0.04)) target.advance(target.now + dice.pick([1_200, 3_000]));
    for (const { ack, options, ece } of acks) {
      if (connection.state !== 'ESTABLISHED') break;
      target.peerSegment(connection, { seq: connection.rcvNxt, ack, flags: ece ? ACK | ECE : ACK, options });
    }
    if (acks.length === 0 && dice.chance(0.2) && connection.state === 'ESTABLISHED') {
      target.peerSegment(connection, {
        seq: connection.rcvNxt,
        ack: seqAdd(start, contiguous),
        flags: ACK,
        options: ackOptions(target, connection, undefined, []),
      });
    }
    // The clean path has a bottleneck of 1 MB/s: a round takes 10 ms plus the time the data in
    // flight spends in its queue, so the RTT grows with the window (HyStart's delay signal).
    target.advance(target.now + (clean ? 10 + Math.floor(connection.flightSize / 1000) : dice.pick([10, 50, 200, 200])));
  }
  if (contiguous < data.length) {
    // What the sender thought then: enough to tell a stall from a slow path.
    const where = `SND.UNA +${seqSub(connection.sndUna, start)}, SND.NXT +${seqSub(connection.sndNxt, start)}, written ${written}, flight ${connection.flightSize}, cwnd ${connection.cc.cwnd}, MSS ${connection.sendMss}, path MTU ${connection.host.pathMtu(connection.remoteAddress)}, retransmits ${connection.host.stats.get('tcp.tx.retransmits')}`;
    return `only ${contiguous} of ${data.length} bytes out arrived (lossy; ${where})`;
  }
  for (let i = 0; i < data.length; i++) if (collected[i] !== data[i]) return `bytes out differ at ${i} (lossy)`;
  return null;
}

/**
 * Peer → stack, out of order, with losses, duplicates and overlaps; the application must read
 * exactly `data`. The peer's segments echo the TSval of the last segment it got from the stack
 * (RFC 7323 §4.3), so that they time the path as a real peer's do (a receiver RTT sample, as
 * Linux's tcp_rcv_rtt_measure_ts takes for TCP_INFO); with ECN, a router marks some CE.
 */
export function lossyTransferIn(target: Target, connection: TcpConnection, data: Uint8Array): string | null {
  const dice = target.dice;
  connection.receive();
  target.link.take();
  const start = connection.rcvNxt;
  const size = dice.pick([536, 1000, 1460]);
  const lossRate = dice.pick([0.05, 0.2]);
  const parts: Uint8Array[] = [];
  let read = 0;
  let echo: number | undefined;
  let congestionSignalled = false;
  for (let rounds = 0; read < data.length && rounds < 5_000; rounds++) {
    if (connection.state !== 'ESTABLISHED') return `state ${connection.state} after ${read} bytes in (lossy)`;
    for (const frame of target.link.take()) {
      const segment = target.segmentFrom(frame, connection);
      if (segment) echo = tsValOf(segment.optionBytes) ?? echo;
    }
    const base = seqSub(connection.rcvNxt, start);
    const room = Math.min(connection.receiveWindowSpace(), seqSub(connection.rcvAdvertisedEdge, connection.rcvNxt));
    const end = Math.min(data.length, base + Math.max(room, 0));
    const offsets: number[] = [];
    for (let at = base; at < end && offsets.length < 40; at += size) if (!dice.chance(lossRate)) offsets.push(at);
    if (base > 0 && dice.chance(0.1)) offsets.push(Math.max(0, base - size)); // old: a duplicate
    if (offsets.length > 1 && dice.chance(0.5)) shuffle(dice, offsets);
    for (const offset of offsets) {
      if (connection.state !== 'ESTABLISHED') break;
      // Now and then a segment overlapping the one before it.
      const from = dice.chance(0.1) ? Math.max(0, offset - (size >> 1)) : offset;
      const to = Math.min(data.length, offset + size);
      // With ECN the peer's data is ECT(0), and a router marks some of it CE (RFC 3168 §5); the
      // peer's next segment after one carries CWR, as a sender that reduced its window (§6.1.2).
      const ce = connection.ecn.enabled && dice.chance(0.05);
      const flags = PSH_ACK | (congestionSignalled ? CWR : 0);
      congestionSignalled = ce;
      target.peerSegment(connection, {
        seq: seqAdd(start, from),
        ack: connection.sndNxt,
        flags,
        payload: data.subarray(from, to),
        options: ackOptions(target, connection, echo, []),
        ecn: connection.ecn.enabled ? (ce ? ECN_CE : ECN_ECT0) : 0,
      });
    }
    const chunk = connection.receive(dice.chance(0.3) ? dice.pick([100, 5000]) : Infinity);
    parts.push(chunk);
    read += chunk.length;
    target.advance(target.now + dice.pick([1, 50, 100]));
  }
  if (read < data.length) return `only ${read} of ${data.length} bytes in were read (lossy)`;
  let at = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++, at++) if (at >= data.length || part[i] !== data[at]) return `bytes in differ at ${at} (lossy)`;
  }
  return null;
}

/** The peer's options on an ACK: timestamps echoing `tsEcr` (when known) and SACK blocks. */
function ackOptions(target: Target, connection: TcpConnection, tsEcr: number | undefined, blocks: Array<{ leftEdge: number; rightEdge: number }>): TcpOption[] {
  const options: TcpOption[] = [];
  if (connection.timestamps.enabled)
    options.push(
      { kind: 'noOperation' },
      { kind: 'noOperation' },
      { kind: 'timestamps', tsVal: (connection.timestamps.recent + 1) >>> 0, tsEcr: tsEcr ?? connection.timestamps.tsVal(target.now) },
    );
  if (blocks.length > 0) options.push({ kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'sack', blocks });
  return options;
}

/** The TSval of a segment's options, if any. */
function tsValOf(optionBytes: Uint8Array): number | undefined {
  const parsed = parseTcpOptions(optionBytes);
  if (!parsed.ok) return undefined;
  for (const option of parsed.value) if (option.kind === 'timestamps') return option.tsVal;
  return undefined;
}

/** Ranges [from, to) of held bytes above `from`. */
function heldRanges(held: Uint8Array, from: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let i = from; i < held.length;) {
    if (!held[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < held.length && held[j]) j++;
    ranges.push([i, j]);
    i = j;
  }
  return ranges;
}

function shuffle<T>(dice: Target['dice'], items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = dice.below(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
}
