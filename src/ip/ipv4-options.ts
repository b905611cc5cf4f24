/**
 * IPv4 options (RFC 791 §3.1, "Options"). Two single-octet options (End of Option List,
 * No Operation); every other option is type, length (counting type and length), data:
 *
 *    Record Route (type 7)          Timestamp (type 68)
 *    +--------+--------+--------+   +--------+--------+--------+--------+
 *    |00000111| length | pointer|   |01000100| length | pointer|oflw|flg|
 *    +--------+--------+--------+   +--------+--------+--------+--------+
 *    |    route data (addresses) |   |   [internet address]  timestamp   |
 *
 * Record route and timestamp are decoded; any other option is kept as raw type and data so
 * that parse→emit reproduces the header exactly.
 */
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import { readIpv4Address, writeIpv4Address, type Ipv4Address } from './address.js';

/** Option type numbers (the whole type octet, copy flag and class included). */
export const Ipv4OptionType = {
  /** End of Option List (RFC 791 §3.1): one octet; what follows to the header's end is padding. */
  END_OF_LIST: 0,
  /** No Operation (RFC 791 §3.1): one octet, used to align the next option. */
  NO_OPERATION: 1,
  /** Record Route (RFC 791 §3.1): each router writes its address into the next free slot. */
  RECORD_ROUTE: 7,
  /** Internet Timestamp (RFC 791 §3.1): each router writes a timestamp, with or without its address. */
  TIMESTAMP: 68,
  /** Loose Source and Record Route (RFC 791 §3.1): hops the datagram must pass through, others allowed between. */
  LOOSE_SOURCE_ROUTE: 131,
  /** Strict Source and Record Route (RFC 791 §3.1): the exact hops the datagram must take. */
  STRICT_SOURCE_ROUTE: 137,
} as const;

/** One timestamp entry: with an address when the flag is 1 or 3. */
export interface Ipv4TimestampEntry {
  /** The internet address of the router that stamped (or is to stamp) the entry; absent with flag 0. */
  readonly address?: Ipv4Address;
  /** Milliseconds since midnight UT (RFC 791 §3.1), a 32-bit value; the top bit set marks a non-standard time. */
  readonly timestamp: number;
}

/** A decoded IPv4 option. */
export type Ipv4Option =
  /** End of Option List; `padding` holds any bytes after it in the header (normally zeros). */
  | {
      /** End of Option List (type 0). */
      readonly kind: 'endOfList';
      /** The bytes after it to the end of the header, kept so that parse→emit is exact. */
      readonly padding: Uint8Array;
    }
  | {
      /** No Operation (type 1). */
      readonly kind: 'noOperation';
    }
  /** Record Route: `pointer` is the 1-based octet offset of the next free slot; every slot listed. */
  | {
      /** Record Route (type 7). */
      readonly kind: 'recordRoute';
      /** Pointer (RFC 791 §3.1): 1-based octet offset in the option of the next free slot; past the end when full. */
      readonly pointer: number;
      /** Every slot of the route data, filled or not, in order. */
      readonly route: readonly Ipv4Address[];
    }
  /** Internet Timestamp: flag 0 timestamps only, 1 address+timestamp, 3 prespecified addresses. */
  | {
      /** Internet Timestamp (type 68). */
      readonly kind: 'timestamp';
      /** Pointer (RFC 791 §3.1): 1-based octet offset in the option of the next free entry. */
      readonly pointer: number;
      /** Overflow (RFC 791 §3.1), 4 bits: routers that could not stamp for want of room. */
      readonly overflow: number;
      /** Flag (RFC 791 §3.1), 4 bits: 0 timestamps only, 1 address and timestamp, 3 prespecified addresses. */
      readonly flag: number;
      /** Every entry of the option, filled or not, in order. */
      readonly entries: readonly Ipv4TimestampEntry[];
    }
  | {
      /** Any other option, or one whose shape does not fit the RFC: kept as it is. */
      readonly kind: 'raw';
      /** The option type octet (copied flag, class and number). */
      readonly type: number;
      /** The bytes after the type and length octets. */
      readonly data: Uint8Array;
    };

/** Decodes the option bytes of a header (between byte 20 and IHL × 4). */
export function parseIpv4Options(bytes: Uint8Array): Result<Ipv4Option[], DecodeError> {
  const options: Ipv4Option[] = [];
  let i = 0;
  while (i < bytes.length) {
    const type = bytes[i];
    if (type === Ipv4OptionType.END_OF_LIST) {
      options.push({ kind: 'endOfList', padding: bytes.subarray(i + 1) });
      break;
    }
    if (type === Ipv4OptionType.NO_OPERATION) {
      options.push({ kind: 'noOperation' });
      i += 1;
      continue;
    }
    if (i + 1 >= bytes.length) return decodeFail('ipv4', 'badOption', `option ${type} at ${i} has no length octet`);
    const length = bytes[i + 1];
    if (length < 2) return decodeFail('ipv4', 'badOption', `option ${type} has length ${length} (< 2)`);
    if (i + length > bytes.length) {
      return decodeFail('ipv4', 'badOption', `option ${type} of length ${length} runs past the header`);
    }
    options.push(decodeOption(type, bytes.subarray(i, i + length)));
    i += length;
  }
  return ok(options);
}

/** Decodes one type-length-value option; shapes that do not fit the RFC stay raw. */
function decodeOption(type: number, option: Uint8Array): Ipv4Option {
  const data = option.subarray(2);
  if (type === Ipv4OptionType.RECORD_ROUTE && option.length >= 3 && (option.length - 3) % 4 === 0) {
    const route: Ipv4Address[] = [];
    for (let j = 3; j < option.length; j += 4) route.push(readIpv4Address(option, j));
    return { kind: 'recordRoute', pointer: option[2], route };
  }
  if (type === Ipv4OptionType.TIMESTAMP && option.length >= 4) {
    const flag = option[3] & 0x0f;
    const entrySize = flag === 0 ? 4 : flag === 1 || flag === 3 ? 8 : 0;
    if (entrySize !== 0 && (option.length - 4) % entrySize === 0) {
      const entries: Ipv4TimestampEntry[] = [];
      for (let j = 4; j < option.length; j += entrySize) {
        entries.push(
          entrySize === 4 ? { timestamp: readIpv4Address(option, j) } : { address: readIpv4Address(option, j), timestamp: readIpv4Address(option, j + 4) },
        );
      }
      return { kind: 'timestamp', pointer: option[2], overflow: option[3] >> 4, flag, entries };
    }
  }
  return { kind: 'raw', type, data };
}

/** What a received header's options ask of us, as ipv4OptionsVerdict finds them. */
export type Ipv4OptionsVerdict =
  /** Well formed and nothing this host refuses. */
  | { readonly kind: 'accept' }
  /** Malformed: answer Parameter Problem pointing at octet `pointer` of the IP header (0-based). */
  | { readonly kind: 'parameterProblem'; readonly pointer: number }
  /** Well formed, but carries Loose or Strict Source and Record Route (RFC 791 §3.1). */
  | { readonly kind: 'sourceRoute' };

const ACCEPT: Ipv4OptionsVerdict = { kind: 'accept' };
/** Where the options start in the header. */
const OPTIONS_OFFSET = 20;

/**
 * Checks the option bytes of a received header (RFC 791 §3.1; RFC 1122 §3.2.1.8 and §3.2.2.5:
 * a malformed option is answered with Parameter Problem) the way Linux's ip_options_compile
 * does: an option whose length is below 2 or runs past the header, a Record Route or source
 * route whose pointer is below 4 (below 5 for Timestamp, whose data starts one octet later),
 * a pointer inside the option whose slot does not fit, a full Timestamp whose overflow count
 * cannot grow, or a second source route. The verdict names the offending octet. Anything
 * well formed with a source route is reported as such, for the caller to refuse.
 */
export function ipv4OptionsVerdict(bytes: Uint8Array): Ipv4OptionsVerdict {
  let sourceRoute = false;
  const problem = (at: number): Ipv4OptionsVerdict => ({ kind: 'parameterProblem', pointer: OPTIONS_OFFSET + at });
  let i = 0;
  while (i < bytes.length) {
    const type = bytes[i];
    if (type === Ipv4OptionType.END_OF_LIST) break;
    if (type === Ipv4OptionType.NO_OPERATION) {
      i += 1;
      continue;
    }
    if (i + 1 >= bytes.length) return problem(i);
    const length = bytes[i + 1];
    if (length < 2 || i + length > bytes.length) return problem(i);
    const pointer = length > 2 ? bytes[i + 2] : 0;
    const isSourceRoute = type === Ipv4OptionType.LOOSE_SOURCE_ROUTE || type === Ipv4OptionType.STRICT_SOURCE_ROUTE;
    if (isSourceRoute) {
      if (sourceRoute) return problem(i); // RFC 791: at most one source route
      sourceRoute = true;
    }
    // A source route's pointer follows the same rules as Record Route's.
    switch (isSourceRoute ? Ipv4OptionType.RECORD_ROUTE : type) {
      case Ipv4OptionType.RECORD_ROUTE:
        if (length < 3) return problem(i + 1);
        if (pointer < 4) return problem(i + 2);
        if (pointer <= length && pointer + 3 > length) return problem(i + 2);
        break;
      case Ipv4OptionType.TIMESTAMP: {
        if (length < 4) return problem(i + 1);
        if (pointer < 5) return problem(i + 2);
        const flag = bytes[i + 3] & 0x0f;
        const entrySize = flag === 1 || flag === 3 ? 8 : 4;
        if (pointer <= length) {
          if (pointer + entrySize - 1 > length) return problem(i + 2);
        } else if (bytes[i + 3] >> 4 === 15) {
          return problem(i + 3); // full, and the overflow count is full too
        }
        break;
      }
    }
    i += length;
  }
  return sourceRoute ? { kind: 'sourceRoute' } : ACCEPT;
}

/** Encoded length of one option. */
function optionLength(option: Ipv4Option): number {
  switch (option.kind) {
    case 'endOfList':
      return 1 + option.padding.length;
    case 'noOperation':
      return 1;
    case 'recordRoute':
      return 3 + 4 * option.route.length;
    case 'timestamp':
      return 4 + (option.flag === 0 ? 4 : 8) * option.entries.length;
    case 'raw':
      return 2 + option.data.length;
  }
}

/** Encoded length of an option list, before padding to a multiple of 4. */
export function ipv4OptionsLength(options: readonly Ipv4Option[]): number {
  let length = 0;
  for (const option of options) length += optionLength(option);
  return length;
}

/** Writes `options` into `out`; returns the bytes written. */
export function emitIpv4Options(options: readonly Ipv4Option[], out: Uint8Array): number {
  let i = 0;
  for (const option of options) {
    const length = optionLength(option);
    switch (option.kind) {
      case 'endOfList':
        out[i] = Ipv4OptionType.END_OF_LIST;
        out.set(option.padding, i + 1);
        break;
      case 'noOperation':
        out[i] = Ipv4OptionType.NO_OPERATION;
        break;
      case 'recordRoute':
        out[i] = Ipv4OptionType.RECORD_ROUTE;
        out[i + 1] = length;
        out[i + 2] = option.pointer;
        option.route.forEach((address, k) => writeIpv4Address(out, i + 3 + 4 * k, address));
        break;
      case 'timestamp': {
        out[i] = Ipv4OptionType.TIMESTAMP;
        out[i + 1] = length;
        out[i + 2] = option.pointer;
        out[i + 3] = (option.overflow << 4) | (option.flag & 0x0f);
        let j = i + 4;
        for (const entry of option.entries) {
          if (option.flag !== 0) {
            writeIpv4Address(out, j, entry.address ?? 0);
            j += 4;
          }
          writeIpv4Address(out, j, entry.timestamp);
          j += 4;
        }
        break;
      }
      case 'raw':
        out[i] = option.type;
        out[i + 1] = length;
        out.set(option.data, i + 2);
        break;
    }
    i += length;
  }
  return i;
}

/** A timestamp in ms, marked as not relative to midnight UT (RFC 791: high-order bit set). */
function nonStandardTimestamp(now: number): number {
  return ((Math.floor(now) & 0x7fffffff) | 0x80000000) >>> 0;
}

/**
 * The options an echo reply carries back (RFC 1122 §3.2.2.6): the request's Record Route and
 * Timestamp options, updated with this host (`address`, at `now` ms) as a router would update
 * them (RFC 791), without truncation. A full option is returned as it came (Timestamp with its
 * overflow count raised). Every other option is left out: this host does no source routing.
 */
export function echoReplyOptions(options: readonly Ipv4Option[], address: Ipv4Address, now: number): Ipv4Option[] {
  const reply: Ipv4Option[] = [];
  for (const option of options) {
    if (option.kind === 'recordRoute') {
      const slot = (option.pointer - 4) / 4;
      if (!Number.isInteger(slot) || slot < 0 || slot >= option.route.length) {
        reply.push(option);
        continue;
      }
      const route = [...option.route];
      route[slot] = address;
      reply.push({ ...option, pointer: option.pointer + 4, route });
    } else if (option.kind === 'timestamp') {
      const size = option.flag === 0 ? 4 : 8;
      const slot = (option.pointer - 5) / size;
      if (!Number.isInteger(slot) || slot < 0 || slot >= option.entries.length) {
        reply.push({ ...option, overflow: Math.min(option.overflow + 1, 15) });
        continue;
      }
      // Flag 3: only the listed addresses stamp, in turn; the slot names someone else.
      if (option.flag === 3 && option.entries[slot].address !== address) {
        reply.push(option);
        continue;
      }
      const entries = [...option.entries];
      entries[slot] = option.flag === 0 ? { timestamp: nonStandardTimestamp(now) } : { address, timestamp: nonStandardTimestamp(now) };
      reply.push({ ...option, pointer: option.pointer + size, entries });
    }
  }
  return reply;
}
