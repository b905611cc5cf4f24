/**
 * What the stack sent, decoded, and checks on it in the spirit of gVisor's
 * `checker.TCP(checker.TCPFlags(...), checker.SeqNum(...))`: each check names the field it
 * looks at, and a failure prints the whole segment.
 */
import { expect } from 'vitest';
import type { Ipv4Repr } from '../../../src/ip/ipv4.js';
import type { SegmentOptions } from '../../../src/tcp/segment.js';
import { formatTcpOptions } from '../../../src/tcp/tcp-option-text.js';
import type { SackBlock, TcpOption } from '../../../src/tcp/tcp-options.js';
import { formatTcpFlags, TcpFlag, type TcpRepr } from '../../../src/tcp/tcp-packet.js';

/** The flag bits by name, for building and checking segments. */
export const { FIN, SYN, RST, PSH, ACK, URG, ECE, CWR } = TcpFlag;

// ---- what the stack sent ---------------------------------------------------------------------

/** A TCP segment the stack sent, decoded (its IP and TCP checksums verified). */
export interface Sent {
  readonly time: number;
  readonly ip: Ipv4Repr;
  readonly tcp: TcpRepr;
  /** Options by meaning. */
  readonly opts: SegmentOptions;
  /** The whole IP packet, for quoting in an ICMP error. */
  readonly frame: Uint8Array;
}

/** One line for a segment: `t=40 ACK seq=… ack=… win=… len=… [options]`. */
export function describeSegment(s: Sent): string {
  const t = s.tcp;
  const options = formatTcpOptions(t.options);
  return `t=${s.time} ${formatTcpFlags(t.flags)} ${t.srcPort}>${t.dstPort} seq=${t.seq} ack=${t.ack} win=${t.window} len=${t.payload.length}${options ? ` [${options}]` : ''}`;
}

/** A check on a sent segment (gVisor's `checker.TCP(...)` in spirit). */
export interface SegmentCheck {
  readonly name: string;
  /** Null when the segment passes, else what was wrong. */
  readonly test: (s: Sent) => string | null;
}

function check(name: string, actual: (s: Sent) => unknown, expected: unknown): SegmentCheck {
  return {
    name,
    test: (s) => {
      const value = actual(s);
      try {
        expect(value).toEqual(expected);
        return null;
      } catch {
        return `${name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(value)}`;
      }
    },
  };
}

/** Exactly these flags (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR bits). */
export const flags = (expected: number): SegmentCheck => ({
  name: 'flags',
  test: (s) => (s.tcp.flags === expected ? null : `flags: expected ${formatTcpFlags(expected)}, got ${formatTcpFlags(s.tcp.flags)}`),
});
/** SEG.SEQ. */
export const seq = (expected: number): SegmentCheck => check('seq', (s) => s.tcp.seq, expected >>> 0);
/** SEG.ACK. */
export const ack = (expected: number): SegmentCheck => check('ack', (s) => s.tcp.ack, expected >>> 0);
/** The window field as sent (unscaled). */
export const window = (expected: number): SegmentCheck => check('window', (s) => s.tcp.window, expected);
/** Data length. */
export const payloadLength = (expected: number): SegmentCheck => check('payload length', (s) => s.tcp.payload.length, expected);
/** Exactly these data bytes. */
export const payload = (expected: Uint8Array): SegmentCheck => check('payload', (s) => [...s.tcp.payload], [...expected]);
/** Exactly this option list, in order. */
export const options = (expected: readonly TcpOption[]): SegmentCheck => check('options', (s) => s.tcp.options, expected);
/** No options at all. */
export const noOptions = (): SegmentCheck => check('options', (s) => s.tcp.options, []);
/** The option kinds in order (`['maxSegmentSize', 'sackPermitted', …]`). */
export const optionKinds = (expected: readonly string[]): SegmentCheck => check('option kinds', (s) => s.tcp.options.map((o) => o.kind), expected);
/** The MSS option's value (undefined: none). */
export const mss = (expected: number | undefined): SegmentCheck => check('mss option', (s) => s.opts.mss, expected);
/** The window-scale option's shift (undefined: none). */
export const windowScale = (expected: number | undefined): SegmentCheck => check('window scale option', (s) => s.opts.windowScale, expected);
/** Whether SACK-permitted is present. */
export const sackPermitted = (expected: boolean): SegmentCheck => check('SACK-permitted option', (s) => s.opts.sackPermitted, expected);
/** The SACK blocks (an empty list: no SACK option). */
export const sackBlocks = (expected: readonly SackBlock[]): SegmentCheck =>
  check(
    'SACK blocks',
    (s) => s.opts.sackBlocks,
    expected.map((b) => ({ leftEdge: b.leftEdge >>> 0, rightEdge: b.rightEdge >>> 0 })),
  );
/** The timestamps option: fields given are compared; `undefined` means none. */
export const timestamps = (expected: { tsVal?: number; tsEcr?: number } | undefined): SegmentCheck => ({
  name: 'timestamps',
  test: (s) => {
    const ts = s.opts.timestamps;
    if (expected === undefined) return ts === undefined ? null : `timestamps: expected none, got ${JSON.stringify(ts)}`;
    if (ts === undefined) return 'timestamps: expected the option, got none';
    if (expected.tsVal !== undefined && ts.tsVal !== expected.tsVal >>> 0) return `timestamps: TSval ${ts.tsVal}, expected ${expected.tsVal >>> 0}`;
    if (expected.tsEcr !== undefined && ts.tsEcr !== expected.tsEcr >>> 0) return `timestamps: TSecr ${ts.tsEcr}, expected ${expected.tsEcr >>> 0}`;
    return null;
  },
});
/** When it was sent (virtual ms). */
export const sentAt = (expected: number): SegmentCheck => check('time', (s) => s.time, expected);
/** Ports. */
export const ports = (src: number, dst: number): SegmentCheck => check('ports', (s) => [s.tcp.srcPort, s.tcp.dstPort], [src, dst]);

/** Throws with a readable account unless `s` passes every check. */
export function checkSegment(s: Sent, ...checks: SegmentCheck[]): Sent {
  const failures = checks.map((c) => c.test(s)).filter((m): m is string => m !== null);
  if (failures.length > 0) throw new Error(`segment ${describeSegment(s)}\n  ${failures.join('\n  ')}`);
  return s;
}
