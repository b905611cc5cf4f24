/**
 * An arriving segment as the state machine reads it: the codec's TcpRepr plus its options
 * summarised (RFC 9293 §3.10.7 speaks of SEG.SEQ, SEG.ACK, SEG.LEN, SEG.WND, SEG.UP).
 */
import type { SackBlock, TcpOption } from './tcp-options.js';
import { segLen, TcpFlag, type TcpRepr } from './tcp-packet.js';

/** The options of one segment, by meaning. */
export interface SegmentOptions {
  readonly mss?: number;
  readonly windowScale?: number;
  readonly sackPermitted: boolean;
  readonly sackBlocks: readonly SackBlock[];
  readonly timestamps?: { readonly tsVal: number; readonly tsEcr: number };
}

/** A received segment with its SEG.LEN and options by meaning. */
export interface Segment extends TcpRepr {
  /** SEG.LEN: data octets plus one for SYN and one for FIN. */
  readonly len: number;
  readonly parsed: SegmentOptions;
}

/** Reads an option list into SegmentOptions (the last of a repeated option wins). */
export function summarizeOptions(options: readonly TcpOption[]): SegmentOptions {
  let mss: number | undefined;
  let windowScale: number | undefined;
  let sackPermitted = false;
  let sackBlocks: readonly SackBlock[] = [];
  let timestamps: { tsVal: number; tsEcr: number } | undefined;
  for (const option of options) {
    switch (option.kind) {
      case 'maxSegmentSize':
        mss = option.mss;
        break;
      case 'windowScale':
        windowScale = option.shiftCount;
        break;
      case 'sackPermitted':
        sackPermitted = true;
        break;
      case 'sack':
        sackBlocks = option.blocks;
        break;
      case 'timestamps':
        timestamps = { tsVal: option.tsVal, tsEcr: option.tsEcr };
        break;
    }
  }
  return { mss, windowScale, sackPermitted, sackBlocks, timestamps };
}

/** Makes a Segment from a parsed TcpRepr. */
export function toSegment(repr: TcpRepr): Segment {
  // Fields spelled out: an object spread here cost 9% of the bulk path (bench/tcp-virtual.ts).
  return {
    srcPort: repr.srcPort,
    dstPort: repr.dstPort,
    seq: repr.seq,
    ack: repr.ack,
    flags: repr.flags,
    window: repr.window,
    urgentPointer: repr.urgentPointer,
    options: repr.options,
    payload: repr.payload,
    len: segLen(repr),
    parsed: summarizeOptions(repr.options),
  };
}

/** Flag tests that read like the RFC. */
export const has = {
  syn: (s: { flags: number }) => (s.flags & TcpFlag.SYN) !== 0,
  ack: (s: { flags: number }) => (s.flags & TcpFlag.ACK) !== 0,
  rst: (s: { flags: number }) => (s.flags & TcpFlag.RST) !== 0,
  fin: (s: { flags: number }) => (s.flags & TcpFlag.FIN) !== 0,
  psh: (s: { flags: number }) => (s.flags & TcpFlag.PSH) !== 0,
  urg: (s: { flags: number }) => (s.flags & TcpFlag.URG) !== 0,
  ece: (s: { flags: number }) => (s.flags & TcpFlag.ECE) !== 0,
  cwr: (s: { flags: number }) => (s.flags & TcpFlag.CWR) !== 0,
};
