/**
 * TCP connections for `ustack view`'s ladder and time–sequence graph, found in the frames'
 * dissections (their tcp.* and ip.* fields; no bytes are read again here).
 *
 * Numbers are relative, as Wireshark and tcptrace show them: each direction's sequence numbers
 * count from its ISN (the SYN's sequence number, so the first data byte is 1), or from its first
 * sequence number seen when the capture missed the SYN. Acknowledgements and SACK blocks are in
 * the other direction's numbering. Windows are scaled by the shift each side's SYN offered, when
 * both SYNs carried the option (RFC 7323 §2.2, §2.3); never on the SYNs themselves.
 *
 * A segment is a retransmission when it occupies sequence space (data, SYN or FIN) that its
 * direction had already sent: its first sequence number is below the highest one sent so far
 * (Wireshark's rule, with its exception for a keep-alive: at most one byte at one below the
 * next sequence number, RFC 9293 §3.8.4).
 */
import { fieldValue, topLayer, type ViewFrame } from './view-frame.js';

/** One end of a connection. */
export interface TcpEndpoint {
  /** IP address as printed. */
  readonly address: string;
  /** Port. */
  readonly port: number;
}

/** One segment as the diagrams draw it. */
export interface TcpSegmentView {
  /** The frame it is in. */
  readonly frame: number;
  /** Seconds since the capture's first frame. */
  readonly time: number;
  /** 0: sent by the connection's `a` end; 1: by `b`. */
  readonly direction: 0 | 1;
  /** Relative sequence number. */
  readonly seq: number;
  /** Relative acknowledgement number (the other direction's numbering), when ACK is set. */
  readonly ack?: number;
  /** Data bytes. */
  readonly length: number;
  /** Flag names in header order (`SYN`, `ACK`, …). */
  readonly flags: readonly string[];
  /** The window field as sent. */
  readonly window: number;
  /** The window in bytes, scaled when both SYNs offered window scaling. */
  readonly windowBytes: number;
  /** SACK blocks [left, right) in the other direction's relative numbering. */
  readonly sack: ReadonlyArray<readonly [number, number]>;
  /** The options as the dissector summed them up (`MSS 1460, SACK_PERM, TS val … ecr …, NOP, WS 7`). */
  readonly options?: string;
  /** It resends sequence space this direction had already sent. */
  readonly retransmission: boolean;
}

/** One TCP connection. */
export interface TcpConnection {
  /** 1-based, in order of the connection's first frame. */
  readonly id: number;
  /** The end that sent the first segment seen (the client, when the SYN was captured). */
  readonly a: TcpEndpoint;
  /** The other end. */
  readonly b: TcpEndpoint;
  /** Raw ISN (or first sequence number seen) of each direction, [a→b, b→a]. */
  readonly base: readonly [number, number];
  /** Whether each direction's SYN was captured. */
  readonly synSeen: readonly [boolean, boolean];
  /** Window scale shift each side offered in its SYN, when it did. */
  readonly windowShift: readonly [number | undefined, number | undefined];
  /** Segments in capture order. */
  readonly segments: readonly TcpSegmentView[];
}

/** The TCP flag bits, from FIN upward, with their names (RFC 9293 §3.1, RFC 3168 §6.1). */
const FLAG_BITS: ReadonlyArray<readonly [number, string]> = [
  [0x002, 'SYN'],
  [0x010, 'ACK'],
  [0x001, 'FIN'],
  [0x004, 'RST'],
  [0x008, 'PSH'],
  [0x020, 'URG'],
  [0x040, 'ECE'],
  [0x080, 'CWR'],
];

interface RawSegment {
  readonly frame: number;
  readonly time: number;
  readonly source: TcpEndpoint;
  readonly destination: TcpEndpoint;
  readonly seq: number;
  readonly ack: number;
  readonly flagBits: number;
  readonly length: number;
  readonly window: number;
  readonly shift?: number;
  readonly sack: ReadonlyArray<readonly [number, number]>;
  readonly options?: string;
}

interface Draft {
  readonly id: number;
  readonly a: TcpEndpoint;
  readonly b: TcpEndpoint;
  readonly raw: RawSegment[];
  closed: boolean;
}

/** Groups the frames' TCP segments into connections and numbers them relatively. */
export function findTcpConnections(frames: readonly ViewFrame[]): TcpConnection[] {
  const open = new Map<string, Draft>();
  const drafts: Draft[] = [];
  for (const frame of frames) {
    const segment = readSegment(frame);
    if (segment === undefined) continue;
    const key = connectionKey(segment.source, segment.destination);
    let draft = open.get(key);
    const isSyn = (segment.flagBits & 0x012) === 0x002;
    // A new SYN on a 4-tuple whose connection has ended starts the next connection (port reuse).
    if (draft !== undefined && isSyn && draft.closed) draft = undefined;
    if (draft === undefined) {
      draft = { id: drafts.length + 1, a: segment.source, b: segment.destination, raw: [], closed: false };
      drafts.push(draft);
      open.set(key, draft);
    }
    draft.raw.push(segment);
    if (segment.flagBits & 0x005) draft.closed = true;
  }
  return drafts.map(number);
}

function readSegment(frame: ViewFrame): RawSegment | undefined {
  const dissection = frame.dissection;
  const tcp = topLayer(dissection, 'tcp');
  const ip = topLayer(dissection, 'ip') ?? topLayer(dissection, 'ipv6');
  const seq = fieldValue(tcp, 'tcp.seq_raw');
  const ack = fieldValue(tcp, 'tcp.ack_raw');
  const flags = fieldValue(tcp, 'tcp.flags');
  if (tcp === undefined || ip === undefined || seq === undefined || ack === undefined || flags === undefined) return undefined;
  const sourceAddress = fieldValue(ip, 'ip.src') ?? fieldValue(ip, 'ipv6.src') ?? '?';
  const destinationAddress = fieldValue(ip, 'ip.dst') ?? fieldValue(ip, 'ipv6.dst') ?? '?';
  const left = tcp.fields.filter((f) => f.name === 'tcp.options.sack_le').map((f) => Number(f.value));
  const right = tcp.fields.filter((f) => f.name === 'tcp.options.sack_re').map((f) => Number(f.value));
  const shift = fieldValue(tcp, 'tcp.options.wscale.shift');
  const options = tcp.fields.find((f) => f.name === undefined && f.label === 'Options')?.value;
  const segment: { -readonly [K in keyof RawSegment]: RawSegment[K] } = {
    frame: frame.number,
    time: frame.time,
    source: { address: sourceAddress, port: Number(fieldValue(tcp, 'tcp.srcport')) },
    destination: { address: destinationAddress, port: Number(fieldValue(tcp, 'tcp.dstport')) },
    seq: Number(seq),
    ack: Number(ack),
    flagBits: Number.parseInt(flags, 16),
    length: Number(fieldValue(tcp, 'tcp.len') ?? 0),
    window: Number(fieldValue(tcp, 'tcp.window_size_value') ?? 0),
    sack: left.map((l, i) => [l, right[i] ?? l] as const),
  };
  // RFC 7323 §2.3: a shift above 14 is used as 14.
  if (shift !== undefined) segment.shift = Math.min(14, Number(shift));
  if (options !== undefined) segment.options = options;
  return segment;
}

function connectionKey(x: TcpEndpoint, y: TcpEndpoint): string {
  const one = `${x.address}:${x.port}`;
  const two = `${y.address}:${y.port}`;
  return one < two ? `${one}-${two}` : `${two}-${one}`;
}

/** Sequence-space distance from `base` to `value`, modulo 2^32. */
function relative(value: number, base: number): number {
  return (value - base) >>> 0;
}

function number(draft: Draft): TcpConnection {
  const directionOf = (segment: RawSegment): 0 | 1 => (segment.source.address === draft.a.address && segment.source.port === draft.a.port ? 0 : 1);
  const base: [number | undefined, number | undefined] = [undefined, undefined];
  const synSeen: [boolean, boolean] = [false, false];
  const windowShift: [number | undefined, number | undefined] = [undefined, undefined];
  for (const segment of draft.raw) {
    const d = directionOf(segment);
    if (segment.flagBits & 0x002 && !synSeen[d]) {
      synSeen[d] = true;
      base[d] = segment.seq;
      windowShift[d] = segment.shift;
    }
  }
  // A direction whose SYN was missed counts from the first sequence number it sent; one that
  // never sent counts from the first acknowledgement the other side gave it.
  for (const d of [0, 1] as const) {
    if (base[d] !== undefined) continue;
    const sent = draft.raw.find((s) => directionOf(s) === d);
    const acked = draft.raw.find((s) => directionOf(s) !== d && s.flagBits & 0x010);
    base[d] = sent?.seq ?? acked?.ack ?? 0;
  }
  const bases = base as [number, number];
  const scaled = windowShift[0] !== undefined && windowShift[1] !== undefined;
  const highest: [number | undefined, number | undefined] = [undefined, undefined];
  const segments = draft.raw.map((raw): TcpSegmentView => {
    const d = directionOf(raw);
    const other = d === 0 ? 1 : 0;
    const seq = relative(raw.seq, bases[d]);
    const occupies = raw.length + (raw.flagBits & 0x002 ? 1 : 0) + (raw.flagBits & 0x001 ? 1 : 0);
    const high = highest[d];
    const keepAlive = raw.length <= 1 && high !== undefined && seq === high - 1 && (raw.flagBits & 0x003) === 0;
    const retransmission = occupies > 0 && high !== undefined && seq < high && !keepAlive;
    if (occupies > 0) highest[d] = Math.max(high ?? 0, seq + occupies);
    const isSyn = (raw.flagBits & 0x002) !== 0;
    const shift = scaled && !isSyn ? (windowShift[d] ?? 0) : 0;
    const segment: { -readonly [K in keyof TcpSegmentView]: TcpSegmentView[K] } = {
      frame: raw.frame,
      time: raw.time,
      direction: d,
      seq,
      length: raw.length,
      flags: FLAG_BITS.filter(([bit]) => raw.flagBits & bit).map(([, name]) => name),
      window: raw.window,
      // The window a side advertises is scaled by the shift that side itself announced (RFC 7323 §2.2).
      windowBytes: raw.window * 2 ** shift,
      sack: raw.sack.map(([left, right]) => [relative(left, bases[other]), relative(right, bases[other])] as const),
      retransmission,
    };
    if (raw.flagBits & 0x010) segment.ack = relative(raw.ack, bases[other]);
    if (raw.options !== undefined) segment.options = raw.options;
    return segment;
  });
  return { id: draft.id, a: draft.a, b: draft.b, base: bases, synSeen, windowShift, segments };
}
