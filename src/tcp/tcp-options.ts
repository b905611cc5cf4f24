/**
 * TCP options (RFC 9293 §3.1 and §3.2, RFC 7323, RFC 2018). Two single-octet options (End of
 * Option List, No Operation); every other option is kind, length (counting kind and length
 * octets), then data:
 *
 *    MSS (RFC 9293 §3.7.1)                  Window scale (RFC 7323 §2.2)
 *    +--------+--------+--------+--------+  +--------+--------+---------+
 *    |00000010|00000100| max segment size|  |00000011|00000011|shift cnt|
 *    +--------+--------+--------+--------+  +--------+--------+---------+
 *
 *    SACK permitted (RFC 2018 §2)           Timestamps (RFC 7323 §3.2)
 *    +--------+--------+                    +--------+--------+----------+----------+
 *    |00000100|00000010|                    |00001000|00001010| TSval (4)| TSecr (4)|
 *    +--------+--------+                    +--------+--------+----------+----------+
 *
 *    SACK (RFC 2018 §3): 1 to 4 blocks, each a left and a right edge of 4 octets
 *    +--------+--------+-------------------+-------------------+----
 *    |00000101| 2 + 8n | left edge block 1 | right edge block 1| ...
 *    +--------+--------+-------------------+-------------------+----
 *
 * An option whose length octet is missing or below 2, that runs past the header, or whose
 * length does not fit its kind is a `badOption` error: the segment is dropped and counted
 * (Linux ignores such options; a typed error lets the layer say why). Unknown kinds are kept as
 * raw kind and data so that parse→emit reproduces the header exactly.
 */
import { readUint16, readUint32, writeUint16, writeUint32 } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';

/** Option-Kind numbers (IANA "TCP Option Kind Numbers"). */
export const TcpOptionKind = {
  /** End of Option List (RFC 9293 §3.1): one octet; what follows to the header's end is padding. */
  END_OF_LIST: 0,
  /** No-Operation (RFC 9293 §3.1): one octet, used to align the next option. */
  NO_OPERATION: 1,
  /** Maximum Segment Size (RFC 9293 §3.7.1), 4 octets, SYN only. */
  MAX_SEGMENT_SIZE: 2,
  /** Window Scale (RFC 7323 §2.2), 3 octets, SYN only. */
  WINDOW_SCALE: 3,
  /** SACK-Permitted (RFC 2018 §2), 2 octets, SYN only. */
  SACK_PERMITTED: 4,
  /** SACK (RFC 2018 §3), 2 + 8 octets per block. */
  SACK: 5,
  /** Timestamps (RFC 7323 §3.2), 10 octets. */
  TIMESTAMPS: 8,
} as const;

/** Option-Length each fixed-size option must carry (kind and length octets included). */
const FIXED_LENGTH: Readonly<Record<number, number>> = {
  [TcpOptionKind.MAX_SEGMENT_SIZE]: 4,
  [TcpOptionKind.WINDOW_SCALE]: 3,
  [TcpOptionKind.SACK_PERMITTED]: 2,
  [TcpOptionKind.TIMESTAMPS]: 10,
};

/** Length of one SACK block: a left and a right edge. */
const SACK_BLOCK_LENGTH = 8;
/** At most 4 blocks fit in the 40 option octets (RFC 2018 §3). */
export const TCP_MAX_SACK_BLOCKS = 4;

/** One SACK block: the received octets from `leftEdge` up to, not including, `rightEdge`. */
export interface SackBlock {
  /** Left Edge of Block (RFC 2018 §3): the first sequence number of the block. */
  readonly leftEdge: number;
  /** Right Edge of Block (RFC 2018 §3): the sequence number just past the block's last octet. */
  readonly rightEdge: number;
}

/** A decoded TCP option. */
export type TcpOption =
  /** End of Option List; `padding` holds the header bytes after it (normally zeros). */
  | {
      /** End of Option List (kind 0). */
      readonly kind: 'endOfList';
      /** The header bytes after it, kept so that parse→emit is exact. */
      readonly padding: Uint8Array;
    }
  | {
      /** No-Operation (kind 1). */
      readonly kind: 'noOperation';
    }
  /** Maximum Segment Size the sender can receive (SYN only, RFC 9293 §3.7.1). */
  | {
      /** Maximum Segment Size (kind 2). */
      readonly kind: 'maxSegmentSize';
      /** The largest segment payload, in octets, the sender of the option can receive (RFC 9293 §3.7.1). */
      readonly mss: number;
    }
  /**
   * Window scale (SYN only, RFC 7323 §2). `shiftCount` is the value on the wire; a receiver
   * treats anything above 14 as 14 (§2.3), which is the layer's to do, not the codec's.
   */
  | {
      /** Window Scale (kind 3). */
      readonly kind: 'windowScale';
      /** shift.cnt (RFC 7323 §2.2): the option sender's Window fields are to be shifted left this many bits; as on the wire, 0–255. */
      readonly shiftCount: number;
    }
  /** The sender accepts SACK blocks (SYN only, RFC 2018 §2). */
  | {
      /** SACK-Permitted (kind 4). */
      readonly kind: 'sackPermitted';
    }
  /** Selective acknowledgment blocks, 1 to 4 (RFC 2018 §3). */
  | {
      /** SACK (kind 5). */
      readonly kind: 'sack';
      /** The blocks in the order sent (RFC 2018 §4: the first should hold the segment that triggered the ACK). */
      readonly blocks: readonly SackBlock[];
    }
  /** Timestamps (RFC 7323 §3): the sender's clock value and the echoed one. */
  | {
      /** Timestamps (kind 8). */
      readonly kind: 'timestamps';
      /** TSval (RFC 7323 §3.2): the sender's timestamp clock when it sent the segment, 32 bits. */
      readonly tsVal: number;
      /** TSecr (RFC 7323 §3.2): the TSval most recently received from the peer; meaningful with ACK set. */
      readonly tsEcr: number;
    }
  /** Any other kind, kept as its kind number and data (the octets after the length). */
  | {
      /** An option kind this codec does not decode. */
      readonly kind: 'raw';
      /** Its Option-Kind number. */
      readonly optionKind: number;
      /** The octets after the kind and length. */
      readonly data: Uint8Array;
    };

/** What `parseTcpOptionsLenient` made of a header's options. */
export interface LenientTcpOptions {
  /** The options understood, in order; one of known kind but wrong length is kept as `raw`. */
  readonly options: TcpOption[];
  /** Options found malformed: ignored (wrong length for the kind) or ending the parse. */
  readonly malformed: number;
}

/**
 * Decodes a header's options as a receiver acts on them, the way Linux's tcp_parse_options does:
 * an option whose length octet is missing, below 2 or runs past the header ends the parse, and
 * the options before it stand; an option of a known kind with the wrong length (an MSS of length
 * 3, a SACK of 2 + 7 octets) is ignored — kept as `raw`, so no code takes it for the real thing —
 * and parsing goes on. RFC 9293 §3.1 gives option lengths but no rule for a wrong one; RFC 1122
 * §4.2.2.5 has TCP "be prepared to handle an illegal option length (e.g., zero) without
 * crashing; a suggested procedure is to reset the connection and log the reason". Linux neither
 * resets nor drops: it uses what it understood and answers, so a peer whose SYN carries one bad
 * option still connects. The strict view (`parseTcpOptions`) stays for the dissector.
 */
export function parseTcpOptionsLenient(bytes: Uint8Array, start = 0, end = bytes.length): LenientTcpOptions {
  const scan = scanOptions(bytes, start, end, 'lenient');
  return { options: scan.options, malformed: scan.malformed };
}

/**
 * Decodes the option bytes of a header: all of `bytes`, or its bytes [start, end) (a header's
 * 20 to data offset × 4, without making a subarray for them). Strict: any malformed option fails
 * the whole (the dissector's view; a receiver uses `parseTcpOptionsLenient`).
 */
export function parseTcpOptions(bytes: Uint8Array, start = 0, end = bytes.length): Result<TcpOption[], DecodeError> {
  const scan = scanOptions(bytes, start, end, 'strict');
  return scan.failure ?? ok(scan.options);
}

/**
 * Walks a header's options once for both views: `strict` stops at the first malformed option
 * with its failure; `lenient` counts it and, as tcp_parse_options, ends the walk at a bad length
 * or keeps a known kind of the wrong length as `raw` and goes on.
 */
function scanOptions(
  bytes: Uint8Array,
  start: number,
  end: number,
  mode: 'strict' | 'lenient',
): { options: TcpOption[]; malformed: number; failure: Result<never, DecodeError> | null } {
  const options: TcpOption[] = [];
  let malformed = 0;
  let i = start;
  while (i < end) {
    const optionKind = bytes[i];
    if (optionKind === TcpOptionKind.END_OF_LIST) {
      options.push({ kind: 'endOfList', padding: bytes.subarray(i + 1, end) });
      break;
    }
    if (optionKind === TcpOptionKind.NO_OPERATION) {
      options.push({ kind: 'noOperation' });
      i += 1;
      continue;
    }
    const length = i + 1 < end ? bytes[i + 1] : -1;
    if (length < 2 || i + length > end) {
      if (mode === 'lenient') {
        malformed++;
        break;
      }
      const why = length < 0 ? 'has no length octet' : length < 2 ? `has length ${length} (< 2)` : `of length ${length} runs past the header`;
      return { options, malformed, failure: decodeFail('tcp', 'badOption', `option kind ${optionKind} at offset ${i - start} ${why}`) };
    }
    const decoded = decodeOption(optionKind, bytes, i, length);
    if (decoded.ok) {
      options.push(decoded.value);
    } else if (mode === 'lenient') {
      malformed++;
      options.push({ kind: 'raw', optionKind, data: bytes.subarray(i + 2, i + length) });
    } else {
      return { options, malformed, failure: decoded };
    }
    i += length;
  }
  return { options, malformed, failure: null };
}

/**
 * Decodes the kind-length-data option of `length` bytes at `at` in `bytes`, whose length is
 * already known to lie inside the header.
 */
function decodeOption(optionKind: number, bytes: Uint8Array, at: number, length: number): Result<TcpOption, DecodeError> {
  const expected = FIXED_LENGTH[optionKind];
  if (expected !== undefined && length !== expected) {
    return decodeFail('tcp', 'badOption', `option kind ${optionKind} has length ${length}, expected ${expected}`);
  }
  switch (optionKind) {
    case TcpOptionKind.MAX_SEGMENT_SIZE:
      return ok({ kind: 'maxSegmentSize', mss: readUint16(bytes, at + 2) });
    case TcpOptionKind.WINDOW_SCALE:
      return ok({ kind: 'windowScale', shiftCount: bytes[at + 2] });
    case TcpOptionKind.SACK_PERMITTED:
      return ok({ kind: 'sackPermitted' });
    case TcpOptionKind.TIMESTAMPS:
      return ok({ kind: 'timestamps', tsVal: readUint32(bytes, at + 2), tsEcr: readUint32(bytes, at + 6) });
    case TcpOptionKind.SACK: {
      const blockBytes = length - 2;
      if (blockBytes === 0 || blockBytes % SACK_BLOCK_LENGTH !== 0) {
        return decodeFail('tcp', 'badOption', `SACK option has length ${length}, not 2 + 8n with n ≥ 1`);
      }
      const blocks: SackBlock[] = [];
      for (let j = at + 2; j < at + length; j += SACK_BLOCK_LENGTH) {
        blocks.push({ leftEdge: readUint32(bytes, j), rightEdge: readUint32(bytes, j + 4) });
      }
      return ok({ kind: 'sack', blocks });
    }
    default:
      return ok({ kind: 'raw', optionKind, data: bytes.subarray(at + 2, at + length) });
  }
}

/** Encoded length of one option. */
function optionLength(option: TcpOption): number {
  switch (option.kind) {
    case 'endOfList':
      return 1 + option.padding.length;
    case 'noOperation':
      return 1;
    case 'maxSegmentSize':
      return FIXED_LENGTH[TcpOptionKind.MAX_SEGMENT_SIZE];
    case 'windowScale':
      return FIXED_LENGTH[TcpOptionKind.WINDOW_SCALE];
    case 'sackPermitted':
      return FIXED_LENGTH[TcpOptionKind.SACK_PERMITTED];
    case 'sack':
      return 2 + SACK_BLOCK_LENGTH * option.blocks.length;
    case 'timestamps':
      return FIXED_LENGTH[TcpOptionKind.TIMESTAMPS];
    case 'raw':
      return 2 + option.data.length;
  }
}

/** Encoded length of an option list, before padding to a multiple of 4. */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  let length = 0;
  for (const option of options) length += optionLength(option);
  return length;
}

/**
 * Writes `options` into `out` from `offset` on (tcpOptionsLength(options) bytes must fit);
 * returns the offset just past them, so the bytes written when `offset` is 0.
 */
export function emitTcpOptions(options: readonly TcpOption[], out: Uint8Array, offset = 0): number {
  let i = offset;
  for (const option of options) {
    const length = optionLength(option);
    if (option.kind !== 'endOfList' && option.kind !== 'noOperation') out[i + 1] = length;
    switch (option.kind) {
      case 'endOfList':
        out[i] = TcpOptionKind.END_OF_LIST;
        out.set(option.padding, i + 1);
        break;
      case 'noOperation':
        out[i] = TcpOptionKind.NO_OPERATION;
        break;
      case 'maxSegmentSize':
        out[i] = TcpOptionKind.MAX_SEGMENT_SIZE;
        writeUint16(out, i + 2, option.mss);
        break;
      case 'windowScale':
        out[i] = TcpOptionKind.WINDOW_SCALE;
        out[i + 2] = option.shiftCount;
        break;
      case 'sackPermitted':
        out[i] = TcpOptionKind.SACK_PERMITTED;
        break;
      case 'sack':
        out[i] = TcpOptionKind.SACK;
        option.blocks.forEach((block, k) => {
          writeUint32(out, i + 2 + SACK_BLOCK_LENGTH * k, block.leftEdge);
          writeUint32(out, i + 6 + SACK_BLOCK_LENGTH * k, block.rightEdge);
        });
        break;
      case 'timestamps':
        out[i] = TcpOptionKind.TIMESTAMPS;
        writeUint32(out, i + 2, option.tsVal);
        writeUint32(out, i + 6, option.tsEcr);
        break;
      case 'raw':
        out[i] = option.optionKind;
        out.set(option.data, i + 2);
        break;
    }
    i += length;
  }
  return i;
}
