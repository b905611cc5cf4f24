/**
 * One conversation's divergences once the replay has run: the host's segments from the capture
 * and ustack's, each read in its own numbering (src/replay/compare.ts), lined up, compared pair
 * by pair; what did not line up is missing or extra — except ustack's data the tap never saw the
 * host send first (a loss before the tap) and window updates within the window tolerance.
 */
import type { CapturedSegment, ConversationPlan } from '../drill/pcap-to-script.js';
import type { IpAddress } from '../ip/ip-address.js';
import { tcpOptionsLength, type TcpOption } from '../tcp/tcp-options.js';
import { TcpFlag } from '../tcp/tcp-packet.js';
import { align, comparePair, decodeSegment, type CompareSettings, type DecodedSegment, type Divergence, type Numbering, type SentSegment } from './compare.js';

/** ustack's side of a conversation, as learnt from what it sent. */
export interface UstackSide {
  /** The local port ustack used. */
  port: number | undefined;
  /** Its ISN, from its SYN or SYN-ACK. */
  isn: number | undefined;
  /** Its first TS val. */
  firstTsVal: number | undefined;
  /** The window-scale shift its SYN offered. */
  synWindowScale: number | undefined;
  /** What it sent, in order. */
  readonly sent: SentSegment[];
}

/** The window-scale shift a SYN offered, if any. */
export function windowScaleOf(options: readonly TcpOption[]): number | undefined {
  const option = options.find((o) => o.kind === 'windowScale');
  return option && option.kind === 'windowScale' ? option.shiftCount : undefined;
}

/** The MSS option a SYN carried, if any. */
function mssOf(options: readonly TcpOption[]): number | undefined {
  const option = options.find((o) => o.kind === 'maxSegmentSize');
  return option && option.kind === 'maxSegmentSize' ? option.mss : undefined;
}

/**
 * A segment of the host's longer than the peer's MSS allows (less its own options) never was on
 * the wire: a capture taken at a sender with TCP segmentation offload (eth-offload.pcap: up to
 * 21720 bytes) shows what the kernel handed to the NIC, which cut it into MSS-sized segments with
 * the same header — FIN and PSH on the last only, CWR on the first only (RFC 7414's TSO notes;
 * Linux's tcp_gso_segment). The host's segments are compared as the NIC sent them.
 */
export function cutSuperSegment<A extends IpAddress>(segment: CapturedSegment<A>, peerMss: number | undefined): CapturedSegment<A>[] {
  const { tcp } = segment;
  if (peerMss === undefined || (tcp.flags & TcpFlag.SYN) !== 0) return [segment];
  const size = peerMss - ((tcpOptionsLength(tcp.options) + 3) & ~3);
  if (size <= 0 || tcp.payload.length <= size) return [segment];
  const pieces: CapturedSegment<A>[] = [];
  for (let offset = 0; offset < tcp.payload.length; offset += size) {
    const last = offset + size >= tcp.payload.length;
    let flags = tcp.flags;
    if (!last) flags &= ~(TcpFlag.FIN | TcpFlag.PSH);
    if (offset > 0) flags &= ~TcpFlag.CWR;
    pieces.push({ ...segment, tcp: { ...tcp, seq: (tcp.seq + offset) >>> 0, flags, payload: tcp.payload.subarray(offset, offset + size) } });
  }
  return pieces;
}

/** The divergences of one conversation, in time order, and its counts. */
export interface ConversationDiff {
  readonly divergences: Divergence[];
  readonly expected: number;
  readonly actual: number;
  readonly matched: number;
  readonly unseenByTap: number[];
}

/** Compares what the host sent in `plan` with what ustack sent (`side`); times relative to `origin` (ms). */
export function diffConversation(plan: ConversationPlan<IpAddress>, side: UstackSide, origin: number, settings: CompareSettings): ConversationDiff {
  const tolerances = settings;
  const hostSyn = plan.steps.find((s) => s.kind === 'segment' && s.outbound && (s.segment.tcp.flags & TcpFlag.SYN) !== 0);
  const peerSyn = plan.steps.find((s) => s.kind === 'segment' && !s.outbound && (s.segment.tcp.flags & TcpFlag.SYN) !== 0);
  const peerShift = peerSyn && peerSyn.kind === 'segment' ? windowScaleOf(peerSyn.segment.tcp.options) : undefined;
  const hostShift = hostSyn && hostSyn.kind === 'segment' ? windowScaleOf(hostSyn.segment.tcp.options) : undefined;
  const hostNumbering: Numbering = {
    ownIsn: plan.hostIsn,
    peerIsn: plan.peerIsn,
    firstTsVal: plan.firstHostTsVal,
    windowShift: peerShift !== undefined && hostShift !== undefined ? hostShift : 0,
  };
  const ustackNumbering: Numbering = {
    ownIsn: side.isn ?? 0,
    peerIsn: plan.peerIsn,
    firstTsVal: side.firstTsVal,
    windowShift: peerShift !== undefined && side.synWindowScale !== undefined ? side.synWindowScale : 0,
  };
  const peerMss = peerSyn && peerSyn.kind === 'segment' ? mssOf(peerSyn.segment.tcp.options) : undefined;
  const expectedRaw = plan.steps.flatMap((s) => (s.kind === 'segment' && s.outbound ? cutSuperSegment(s.segment, peerMss) : []));
  const expected = expectedRaw.map((segment) =>
    decodeSegment({ frame: segment.frame, timeMs: segment.timeMs - origin, ip: segment.ip, tcp: segment.tcp }, hostNumbering),
  );
  const actual = side.sent.map((segment) => decodeSegment(segment, ustackNumbering));
  const pairs = align(expected, actual);
  const pairedExpected = new Set(pairs.map(([i]) => i));
  const pairedActual = new Set(pairs.map(([, j]) => j));
  const found: Array<{ at: number; divergence: Divergence }> = [];
  for (const [i, j] of pairs) {
    for (const divergence of comparePair(plan.number, expected[i], actual[j], expectedRaw[i].tcp.options, side.sent[j].tcp.options, settings)) {
      found.push({ at: expected[i].timeMs, divergence });
    }
  }
  // A bare ACK that only opens the window (the same acknowledgement and SACK blocks as the
  // sender's segment before it) follows from when the application read, which the capture
  // does not show: within the window tolerance it is not missed, beyond it a window divergence.
  const windowUpdate = (list: readonly DecodedSegment[], index: number): number | undefined => {
    const segment = list[index];
    const before = list[index - 1];
    if (!before || segment.length > 0 || segment.flags !== '.' || before.ack !== segment.ack) return undefined;
    if (segment.options.replace(/TS val \d+/, '') !== before.options.replace(/TS val \d+/, '')) return undefined;
    const opened = segment.windowBytes - before.windowBytes;
    return opened > 0 ? opened : undefined;
  };
  const unpairedUpdate = (list: readonly DecodedSegment[], index: number, who: string): Divergence | null | undefined => {
    const opened = windowUpdate(list, index);
    if (opened === undefined) return undefined;
    if (opened <= tolerances.windowBytes) return null;
    const segment = list[index];
    return {
      kind: 'window',
      conversation: plan.number,
      frames: who === 'host' ? { capture: segment.frame } : { replay: segment.frame },
      ...(who === 'host' ? { expected: segment } : { actual: segment }),
      message: `${who === 'host' ? `frame ${segment.frame}` : `replay frame ${segment.frame}`} (${segment.text}): a window update opening ${opened} bytes that only ${who === 'host' ? 'the host' : 'ustack'} sent (tolerance ${tolerances.windowBytes})`,
    };
  };
  expected.forEach((segment, i) => {
    if (pairedExpected.has(i)) return;
    const update = unpairedUpdate(expected, i, 'host');
    if (update !== undefined) {
      if (update) found.push({ at: segment.timeMs, divergence: update });
      return;
    }
    found.push({
      at: segment.timeMs,
      divergence: {
        kind: 'missing',
        conversation: plan.number,
        frames: { capture: segment.frame },
        expected: segment,
        message: `frame ${segment.frame} (${segment.text}) at ${segment.timeMs.toFixed(3)} ms: the host sent it, ustack sent nothing like it`,
      },
    });
  });
  // ustack's data the capture never shows the host sending at first, only again later, after
  // data beyond it: the host's first transmission was lost before the tap (a capture at the
  // peer's side of a lossy link), so ustack's is what the host sent, unseen.
  const unseen: number[] = [];
  const coveredAt = (start: number, end: number) => expected.findIndex((e) => e.length > 0 && e.seq <= start && end <= e.seq + e.length);
  const beyondAt = (end: number) => expected.findIndex((e) => e.length > 0 && e.seq >= end);
  actual.forEach((segment, j) => {
    if (pairedActual.has(j)) return;
    const end = segment.seq + segment.length;
    const covered = segment.length > 0 ? coveredAt(segment.seq, end) : -1;
    const beyond = beyondAt(end);
    if (covered >= 0 && beyond >= 0 && beyond < covered && !segment.flags.includes('S')) {
      unseen.push(segment.frame);
      return;
    }
    const update = unpairedUpdate(actual, j, 'ustack');
    if (update !== undefined) {
      if (update) found.push({ at: segment.timeMs, divergence: update });
      return;
    }
    found.push({
      at: segment.timeMs,
      divergence: {
        kind: 'extra',
        conversation: plan.number,
        frames: { replay: segment.frame },
        actual: segment,
        message: `replay frame ${segment.frame} (${segment.text}) at ${segment.timeMs.toFixed(3)} ms: ustack sent it, the host sent nothing like it`,
      },
    });
  });
  found.sort((a, b) => a.at - b.at);
  return {
    divergences: found.map((entry) => entry.divergence),
    expected: expected.length,
    actual: actual.length,
    matched: pairs.length,
    unseenByTap: unseen,
  };
}
