/**
 * Compares the segments a host sent in a capture with the ones ustack sent when the same
 * inbound frames were played into it (src/replay/replay.ts): both are put in packetdrill's
 * relative numbering (sequence numbers from each sender's ISN, acknowledgements and SACK blocks
 * from the peer's, TS val from the sender's first), lined up by what they carry (SYN/FIN/RST,
 * sequence range, and for a bare ACK what it acknowledges) as a longest common subsequence, and
 * each pair is compared field by field. What neither lines up is a missing or an extra segment.
 */
import { seqSub } from '../tcp/seq.js';
import { formatTcpOptions } from '../tcp/tcp-option-text.js';
import type { TcpOption } from '../tcp/tcp-options.js';
import { TcpFlag, type TcpRepr } from '../tcp/tcp-packet.js';
import type { Ipv4Repr } from '../ip/ipv4.js';
import { lettersFromFlags } from '../drill/wire.js';
import type { DecodedDatagram } from './datagram-compare.js';

/** How far a field may stray before it is a divergence. */
export interface ReplayTolerances {
  /** A segment's time, relative to the capture's first frame (ms; default 4, packetdrill's 4000 µs). */
  readonly timeMs?: number;
  /** The receive window a segment advertises, in bytes after scaling (default 0: exact, as strict). */
  readonly windowBytes?: number;
  /** TS val, relative to the sender's first, in its 1 ms ticks (default: timeMs rounded up, plus 1). */
  readonly tsValTicks?: number;
}

/** One segment as the replay reports it: numbers relative as in a packetdrill script. */
export interface DecodedSegment {
  /** Frame number: in the capture (expected) or in the replay's own pcap (actual), from 1. */
  readonly frame: number;
  /** ms since the capture's first frame. */
  readonly timeMs: number;
  /** packetdrill's flag letters (`S.`, `P.`, `F.`). */
  readonly flags: string;
  /** Sequence number relative to the sender's ISN. */
  readonly seq: number;
  /** Payload length. */
  readonly length: number;
  /** Acknowledgement relative to the peer's ISN (undefined without ACK). */
  readonly ack: number | undefined;
  /** The window field as sent. */
  readonly window: number;
  /** The window in bytes (the field shifted by the sender's window scale, off on SYNs). */
  readonly windowBytes: number;
  /** The options in packetdrill's notation (SACK blocks relative to the peer's ISN, TS val to the sender's first). */
  readonly options: string;
  /** IP TTL. */
  readonly ttl: number;
  /** IP DF bit. */
  readonly dontFragment: boolean;
  /** IP TOS octet (DSCP and ECN). */
  readonly tos: number;
  /** The segment as a script line: `P. 1:25(24) ack 25 win 502 <nop,nop,TS val 7 ecr 91>`. */
  readonly text: string;
  /** The payload bytes. */
  readonly payload: Uint8Array;
}

/** What a divergence is about. */
export type DivergenceKind = 'missing' | 'extra' | 'flags' | 'ack' | 'payload' | 'options' | 'window' | 'timing' | 'ip' | 'call';

/** One way ustack's replay differs from what the capture shows the host did. */
export interface Divergence {
  /** The field (or `missing`: the host sent it, ustack did not; `extra`: the reverse; `call`: an application call failed). */
  readonly kind: DivergenceKind;
  /** The TCP conversation (from 1, in order of first appearance in the capture); 0 for a datagram. */
  readonly conversation: number;
  /** For a UDP or ICMP datagram: what it was lined up by (`udp 10.1.1.2:6000 > 10.1.1.1:44757`). */
  readonly datagram?: string;
  /** The frame numbers: in the capture, and in the replay's pcap (ReplayResult.pcap). */
  readonly frames: {
    /** The host's segment in the capture. */
    readonly capture?: number;
    /** ustack's segment in ReplayResult.pcap. */
    readonly replay?: number;
  };
  /** The host's segment, from the capture. */
  readonly expected?: DecodedSegment;
  /** ustack's segment, from the replay. */
  readonly actual?: DecodedSegment;
  /** The host's datagram (UDP, ICMP), from the capture. */
  readonly expectedDatagram?: DecodedDatagram;
  /** ustack's datagram, from the replay. */
  readonly actualDatagram?: DecodedDatagram;
  /** One line: `frame 12: ack 25, expected ack 26`. */
  readonly message: string;
}

/** A segment and what is needed to read its numbers relatively. */
export interface SentSegment {
  readonly frame: number;
  readonly timeMs: number;
  readonly ip: Pick<Ipv4Repr, 'ttl' | 'dontFragment' | 'dscp' | 'ecn'>;
  readonly tcp: TcpRepr;
}

/** The numbering of one sender: its ISN, its first TS val, its window shift, and its peer's ISN. */
export interface Numbering {
  readonly ownIsn: number;
  readonly peerIsn: number;
  readonly firstTsVal: number | undefined;
  /** The window-scale shift in force for this sender's non-SYN segments (0 when not negotiated). */
  readonly windowShift: number;
}

const relative = (value: number, base: number): number => seqSub(value, base) >>> 0;

/** The segment in relative numbers. */
export function decodeSegment(segment: SentSegment, numbering: Numbering): DecodedSegment {
  const { tcp, ip } = segment;
  const hasAck = (tcp.flags & TcpFlag.ACK) !== 0;
  const seq = relative(tcp.seq, numbering.ownIsn);
  const ack = hasAck ? relative(tcp.ack, numbering.peerIsn) : undefined;
  const isSyn = (tcp.flags & TcpFlag.SYN) !== 0;
  const windowBytes = isSyn ? tcp.window : tcp.window * 2 ** numbering.windowShift;
  const shown = tcp.options.filter((o) => o.kind !== 'endOfList' || o.padding.some((b) => b !== 0));
  const options = formatTcpOptions(shown, {
    sackEdge: (edge) => relative(edge, numbering.peerIsn),
    tsVal: numbering.firstTsVal === undefined ? undefined : (value) => relative(value, numbering.firstTsVal!),
  });
  const flags = lettersFromFlags(tcp.flags);
  const text = `${flags} ${seq}:${(seq + tcp.payload.length) >>> 0}(${tcp.payload.length})${ack === undefined ? '' : ` ack ${ack}`} win ${tcp.window}${options ? ` <${options}>` : ''}`;
  return {
    frame: segment.frame,
    timeMs: segment.timeMs,
    flags,
    seq,
    length: tcp.payload.length,
    ack,
    window: tcp.window,
    windowBytes,
    options,
    ttl: ip.ttl,
    dontFragment: ip.dontFragment,
    tos: (ip.dscp << 2) | ip.ecn,
    text,
    payload: tcp.payload,
  };
}

/** How the two lists are lined up: what a segment carries, not how it was laid out. */
function alignmentKey(segment: DecodedSegment): string {
  const control = segment.flags.replace(/[^SFR]/g, '');
  // A bare ACK is known by what it acknowledges; a segment with data or SYN/FIN/RST by its range.
  const bare = segment.length === 0 && control === '';
  return `${control} ${segment.seq} ${segment.length}${bare ? ` ack ${segment.ack}` : ''}`;
}

/**
 * Pairs of indices (expected, actual) of a longest common subsequence by alignment key. Past
 * 4 million cells (2000 × 2000 segments: 16 MB) it falls back to a greedy walk that looks 64 ahead.
 */
export function align(expected: readonly DecodedSegment[], actual: readonly DecodedSegment[]): Array<[number, number]> {
  const a = expected.map(alignmentKey);
  const b = actual.map(alignmentKey);
  const n = a.length;
  const m = b.length;
  const pairs: Array<[number, number]> = [];
  if ((n + 1) * (m + 1) > 4_000_000) {
    let j = 0;
    for (let i = 0; i < n && j < m; i++) {
      const found = b.slice(j, j + 64).indexOf(a[i]);
      if (found >= 0) {
        pairs.push([i, j + found]);
        j += found + 1;
      }
    }
    return pairs;
  }
  // lengths[i][j]: LCS of a[i..] and b[j..].
  const width = m + 1;
  const lengths = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i * width + j] = a[i] === b[j] ? lengths[(i + 1) * width + j + 1] + 1 : Math.max(lengths[(i + 1) * width + j], lengths[i * width + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      pairs.push([i, j]);
      i++;
      j++;
    } else if (lengths[(i + 1) * width + j] >= lengths[i * width + j + 1]) i++;
    else j++;
  }
  return pairs;
}

/** How strictly to compare a pair. */
export interface CompareSettings {
  /** Options compared as laid out (order, nop, eol) and PSH compared; otherwise options as a set and PSH left to the sender. */
  readonly strict: boolean;
  readonly timeMs: number;
  readonly windowBytes: number;
  readonly tsValTicks: number;
}

/** The options as a sorted list of texts, without nop/eol, and TS only by its presence (its values are compared apart). */
function optionSet(options: readonly TcpOption[]): string[] {
  return options
    .filter((o) => o.kind !== 'noOperation' && o.kind !== 'endOfList')
    .map((o) => (o.kind === 'timestamps' ? 'TS' : formatTcpOptions([o])))
    .sort();
}

/** The TS val/ecr of a segment's options, relative as shown. */
function timestampsOf(text: string): { val: number; ecr: number } | undefined {
  const match = /TS val (\d+) ecr (\d+)/.exec(text);
  return match ? { val: Number(match[1]), ecr: Number(match[2]) } : undefined;
}

/**
 * The divergences of one lined-up pair: each field that differs is one divergence, so a report
 * names the field (`ack`, `window`, …) and the frame.
 */
export function comparePair(
  conversation: number,
  expected: DecodedSegment,
  actual: DecodedSegment,
  rawExpected: readonly TcpOption[],
  rawActual: readonly TcpOption[],
  settings: CompareSettings,
): Divergence[] {
  const found: Divergence[] = [];
  const add = (kind: DivergenceKind, detail: string) =>
    found.push({
      kind,
      conversation,
      frames: { capture: expected.frame, replay: actual.frame },
      expected,
      actual,
      message: `frame ${expected.frame} (${expected.text}): ${detail}`,
    });
  const flagsOf = (letters: string) => (settings.strict ? letters : letters.replace('P', ''));
  if (flagsOf(expected.flags) !== flagsOf(actual.flags)) add('flags', `ustack sent flags ${actual.flags}, the host ${expected.flags}`);
  if (expected.ack !== actual.ack) add('ack', `ustack acknowledged ${actual.ack ?? '(no ACK)'}, the host ${expected.ack ?? '(no ACK)'}`);
  if (expected.length === actual.length) {
    const at = expected.payload.findIndex((byte, index) => actual.payload[index] !== byte);
    if (at >= 0)
      add(
        'payload',
        `payload differs from byte ${at} (sequence ${expected.seq + at}): ustack 0x${hex(actual.payload[at])}, the host 0x${hex(expected.payload[at])}`,
      );
  }
  const windowDifference = Math.abs(expected.windowBytes - actual.windowBytes);
  if (settings.strict ? expected.window !== actual.window : windowDifference > settings.windowBytes) {
    add(
      'window',
      `ustack's window ${actual.windowBytes} bytes (field ${actual.window}), the host's ${expected.windowBytes} (field ${expected.window})${settings.strict ? '' : `, ${windowDifference} apart (tolerance ${settings.windowBytes})`}`,
    );
  }
  if (settings.strict) {
    // As laid out, TS val aside: it is compared below, within its tolerance.
    const layout = (options: string) => options.replace(/TS val \d+/, 'TS val');
    if (layout(expected.options) !== layout(actual.options)) add('options', `ustack's options <${actual.options}>, the host's <${expected.options}>`);
  } else {
    // As a set, without nop/eol and TS (compared below, relatively): SACK edges and the ack are
    // in the peer's sequence space, which the replay injects unchanged, so they compare as sent.
    const want = optionSet(rawExpected);
    const got = optionSet(rawActual);
    if (want.join(',') !== got.join(',')) add('options', `ustack's options <${actual.options}>, the host's <${expected.options}>`);
  }
  const tsExpected = timestampsOf(expected.options);
  const tsActual = timestampsOf(actual.options);
  if (tsExpected && tsActual) {
    if (tsExpected.ecr !== tsActual.ecr) add('options', `ustack echoed TS ecr ${tsActual.ecr}, the host ${tsExpected.ecr}`);
    if (Math.abs(tsExpected.val - tsActual.val) > settings.tsValTicks)
      add('options', `ustack's TS val ${tsActual.val}, the host's ${tsExpected.val} (relative to each one's first; tolerance ${settings.tsValTicks})`);
  }
  const late = actual.timeMs - expected.timeMs;
  if (Math.abs(late) > settings.timeMs) {
    add(
      'timing',
      `ustack sent it at ${ms(actual.timeMs)}, the host at ${ms(expected.timeMs)}: ${ms(Math.abs(late))} ${late > 0 ? 'later' : 'earlier'} (tolerance ${ms(settings.timeMs)})`,
    );
  }
  if (expected.ttl !== actual.ttl || expected.dontFragment !== actual.dontFragment || expected.tos !== actual.tos) {
    add(
      'ip',
      `ustack's IP header TTL ${actual.ttl}, DF ${actual.dontFragment ? 1 : 0}, TOS 0x${hex(actual.tos)}; the host's TTL ${expected.ttl}, DF ${expected.dontFragment ? 1 : 0}, TOS 0x${hex(expected.tos)}`,
    );
  }
  return found;
}

function hex(value: number): string {
  return value.toString(16).padStart(2, '0');
}

/** `12.345 ms`. */
export function ms(value: number): string {
  return `${value.toFixed(3)} ms`;
}
