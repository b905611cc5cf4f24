/**
 * An arriving segment as the state machine reads it (RFC 9293 §3.10.7 speaks of SEG.SEQ, SEG.ACK,
 * SEG.LEN, SEG.WND, SEG.UP): the header's fields and its options by meaning, read straight from
 * the checked packet. The receiver needs no option list (the codec's TcpRepr, for the dissector
 * and emit): building one cost an object per option, a list, a Repr and two Results per segment.
 */
import { readUint16, readUint32 } from '../core/bytes.js';
import { TcpOptionKind, type SackBlock, type TcpOption } from './tcp-options.js';
import { TcpFlag, TCP_MIN_HEADER_LENGTH, type TcpPacket } from './tcp-packet.js';

/** The options of one segment, by meaning. */
export interface SegmentOptions {
  readonly mss?: number;
  readonly windowScale?: number;
  readonly sackPermitted: boolean;
  readonly sackBlocks: readonly SackBlock[];
  readonly timestamps?: { readonly tsVal: number; readonly tsEcr: number };
  /** Options found malformed and left out: ignored (a known kind of the wrong length) or ending the walk. */
  readonly malformed: number;
}

/** A received segment: the header's fields, SEG.LEN and the options by meaning. */
export interface Segment {
  /** Source Port (RFC 9293 §3.1). */
  readonly srcPort: number;
  /** Destination Port (RFC 9293 §3.1). */
  readonly dstPort: number;
  /** SEG.SEQ. */
  readonly seq: number;
  /** SEG.ACK, meaningful with ACK set. */
  readonly ack: number;
  /** The 12-bit flags field (TcpFlag bits). */
  readonly flags: number;
  /** SEG.WND as sent, unscaled. */
  readonly window: number;
  /** SEG.UP, meaningful with URG set. */
  readonly urgentPointer: number;
  /** The data after the header: a view into the packet's bytes. */
  readonly payload: Uint8Array;
  /** SEG.LEN: data octets plus one for SYN and one for FIN. */
  readonly len: number;
  readonly parsed: SegmentOptions;
}

/** The options of a header that has none, shared (a segment's options are never changed). */
const NO_OPTIONS: SegmentOptions = Object.freeze({
  mss: undefined,
  windowScale: undefined,
  sackPermitted: false,
  sackBlocks: Object.freeze([]) as readonly SackBlock[],
  timestamps: undefined,
  malformed: 0,
});

/** Option-Length each fixed-size option must carry (kind and length octets included), RFC 9293 §3.2, RFC 7323, RFC 2018. */
const MSS_LENGTH = 4;
const WINDOW_SCALE_LENGTH = 3;
const SACK_PERMITTED_LENGTH = 2;
const TIMESTAMPS_LENGTH = 10;
const SACK_BLOCK_LENGTH = 8;

/**
 * A checked segment as the receiver takes it (the checksum is the caller's): the header's fields
 * and its options read in place.
 */
export function receivedSegment(packet: TcpPacket): Segment {
  const bytes = packet.bytes;
  const headerLength = packet.headerLength;
  const flags = packet.flags;
  const payload = packet.payload;
  return {
    srcPort: packet.srcPort,
    dstPort: packet.dstPort,
    seq: packet.seq,
    ack: packet.ack,
    flags,
    window: packet.window,
    urgentPointer: packet.urgentPointer,
    payload,
    len: payload.length + (flags & TcpFlag.SYN ? 1 : 0) + (flags & TcpFlag.FIN ? 1 : 0),
    parsed: headerLength === TCP_MIN_HEADER_LENGTH ? NO_OPTIONS : readReceivedOptions(bytes, TCP_MIN_HEADER_LENGTH, headerLength),
  };
}

/**
 * The options in `bytes` [start, end) by meaning, walked as Linux's tcp_parse_options walks them
 * (the rules of `parseTcpOptionsLenient`, which keeps them as a list): End of Option List ends the
 * walk; a length octet missing, below 2 or running past the header ends it too, counted
 * malformed; a known kind of the wrong length (a SACK not 2 + 8n with n ≥ 1) is counted and left
 * out; unknown kinds are skipped. A repeated option: the last one counts.
 */
export function readReceivedOptions(bytes: Uint8Array, start: number, end: number): SegmentOptions {
  let mss: number | undefined;
  let windowScale: number | undefined;
  let sackPermitted = false;
  let sackBlocks: readonly SackBlock[] = NO_OPTIONS.sackBlocks;
  let timestamps: { tsVal: number; tsEcr: number } | undefined;
  let malformed = 0;
  let i = start;
  while (i < end) {
    const kind = bytes[i];
    if (kind === TcpOptionKind.END_OF_LIST) break;
    if (kind === TcpOptionKind.NO_OPERATION) {
      i += 1;
      continue;
    }
    const length = i + 1 < end ? bytes[i + 1] : -1;
    if (length < 2 || i + length > end) {
      malformed++;
      break;
    }
    switch (kind) {
      case TcpOptionKind.MAX_SEGMENT_SIZE:
        if (length === MSS_LENGTH) mss = readUint16(bytes, i + 2);
        else malformed++;
        break;
      case TcpOptionKind.WINDOW_SCALE:
        if (length === WINDOW_SCALE_LENGTH) windowScale = bytes[i + 2];
        else malformed++;
        break;
      case TcpOptionKind.SACK_PERMITTED:
        if (length === SACK_PERMITTED_LENGTH) sackPermitted = true;
        else malformed++;
        break;
      case TcpOptionKind.TIMESTAMPS:
        if (length === TIMESTAMPS_LENGTH) timestamps = { tsVal: readUint32(bytes, i + 2), tsEcr: readUint32(bytes, i + 6) };
        else malformed++;
        break;
      case TcpOptionKind.SACK: {
        const blockBytes = length - 2;
        if (blockBytes === 0 || blockBytes % SACK_BLOCK_LENGTH !== 0) {
          malformed++;
          break;
        }
        const blocks: SackBlock[] = [];
        for (let j = i + 2; j < i + length; j += SACK_BLOCK_LENGTH) blocks.push({ leftEdge: readUint32(bytes, j), rightEdge: readUint32(bytes, j + 4) });
        sackBlocks = blocks;
        break;
      }
    }
    i += length;
  }
  return { mss, windowScale, sackPermitted, sackBlocks, timestamps, malformed };
}

/** Reads an option list into SegmentOptions (the last of a repeated option wins). */
export function summarizeOptions(options: readonly TcpOption[], malformed = 0): SegmentOptions {
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
  return { mss, windowScale, sackPermitted, sackBlocks, timestamps, malformed };
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
