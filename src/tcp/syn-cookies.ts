/**
 * SYN cookies (RFC 4987 §3.6): when a listener's SYN queue is full, the SYN-ACK's sequence
 * number carries what the half-open connection would have held, and no state is kept. The ACK
 * that completes the handshake gives it back (SEG.ACK − 1) and the connection is built from it.
 *
 * The layout is the one Linux uses (net/ipv4/syncookies.c, facts only):
 *
 *   cookie = H1(tuple) + ISN(peer) + (count << 24) + ((H2(tuple, count) + index) mod 2^24)
 *
 * `count` is a minute counter, so the secret that H2 mixes in rotates every minute and a cookie
 * is good for the minute it was issued in and the next (MAX_AGE). `index` picks the MSS from a
 * table of four common values (Linux's msstab). H1 and H2 are SipHash-2-4 with a key from the
 * stack's injected Rng, as the RFC 6528 ISNs are (isn.ts; Linux's cookie_hash uses SipHash too).
 *
 * What does not fit in 32 bits — the peer's window scale, SACK-permitted and ECN — rides in the
 * low six bits of our SYN-ACK's TSval when the peer uses timestamps, and comes back in the
 * ACK's TSecr (Linux's cookie_init_timestamp). Without timestamps a cookie connection has no
 * window scaling, SACK or ECN, so the SYN-ACK offers none of them.
 */
import type { Rng } from '../core/rng.js';
import { SipHashKey, sipHash24 } from '../core/siphash.js';
import type { IpAddress } from '../ip/ip-address.js';
import { tupleBytes } from './isn.js';
import { seqGt, seqSub } from './seq.js';

/** MSS values a cookie can carry; the SYN's MSS is rounded down to one of them. */
export const COOKIE_MSS_TABLE: readonly number[] = [536, 1300, 1440, 1460];

/** Minutes a cookie stays valid after the one it was issued in (Linux MAX_SYNCOOKIE_AGE − 1). */
const MAX_AGE = 2;
const MINUTE_MS = 60_000;
/** How long after sending a cookie a listener checks ACKs for one. */
export const COOKIE_LIFETIME_MS = MAX_AGE * MINUTE_MS;

/** The four numbers that name a connection. */
export interface CookieTuple {
  readonly localAddress: IpAddress;
  readonly localPort: number;
  readonly remoteAddress: IpAddress;
  readonly remotePort: number;
}

/** The options a cookie carries in the TSval: the peer's window scale, SACK and ECN. */
export interface CookieOptions {
  /** The peer's window shift, or undefined when its SYN had no window-scale option. */
  readonly windowScale: number | undefined;
  readonly sack: boolean;
  readonly ecn: boolean;
}

/** Low bits of TSval that carry CookieOptions. */
const OPTION_BITS = 6;
const OPTION_MASK = (1 << OPTION_BITS) - 1;
const NO_WINDOW_SCALE = 0xf;
const SACK_BIT = 1 << 4;
const ECN_BIT = 1 << 5;

/** Issues and checks cookies for one stack. */
export class SynCookies {
  private readonly key: SipHashKey;

  constructor(rng: Rng) {
    this.key = new SipHashKey(rng.bytes(16));
  }

  /** The MSS a cookie carries for a SYN's `peerMss`: the largest table value not above it. */
  static mssFor(peerMss: number): number {
    return COOKIE_MSS_TABLE[mssIndex(peerMss)];
  }

  /** The SYN-ACK's sequence number for a SYN with sequence `peerIsn` and MSS option `peerMss`. */
  issue(tuple: CookieTuple, peerIsn: number, peerMss: number, now: number): number {
    const count = minuteCount(now);
    const index = mssIndex(peerMss);
    const low = (this.hash(tuple, count) + index) & 0xff_ffff;
    return (this.hash(tuple) + peerIsn + ((count & 0xff) << 24) + low) >>> 0;
  }

  /**
   * The MSS a returning cookie encodes (`cookie` = SEG.ACK − 1, `peerIsn` = SEG.SEQ − 1), or
   * null when it is not one of ours or has expired.
   */
  check(tuple: CookieTuple, peerIsn: number, cookie: number, now: number): number | null {
    const value = (cookie - this.hash(tuple) - peerIsn) >>> 0;
    const count = minuteCount(now);
    const age = (count - (value >>> 24)) & 0xff;
    if (age >= MAX_AGE) return null;
    const index = ((value & 0xff_ffff) - this.hash(tuple, count - age)) & 0xff_ffff;
    return index < COOKIE_MSS_TABLE.length ? COOKIE_MSS_TABLE[index] : null;
  }

  /**
   * The timestamp clock offset of a connection made from a cookie: a keyed hash of its tuple,
   * so the ACK's TSecr can be read without state (Linux derives every offset this way).
   */
  timestampOffset(tuple: CookieTuple): number {
    return this.digest(tuple).high;
  }

  /**
   * The TSval a cookie SYN-ACK sends: `tsNow` with its low six bits replaced by the options,
   * moved back by 64 if that would put it ahead of the clock (TSvals must not go backwards later).
   */
  static encodeTimestamp(tsNow: number, options: CookieOptions): number {
    let bits = options.windowScale === undefined ? NO_WINDOW_SCALE : Math.min(options.windowScale, 14);
    if (options.sack) bits |= SACK_BIT;
    if (options.ecn) bits |= ECN_BIT;
    let tsVal = ((tsNow & ~OPTION_MASK) | bits) >>> 0;
    if (seqGt(tsVal, tsNow)) tsVal = (tsVal - (1 << OPTION_BITS)) >>> 0;
    return tsVal;
  }

  /** The options a cookie ACK's TSecr carries, or null if TSecr is from the future (not ours). */
  static decodeTimestamp(tsEcr: number, tsNow: number): CookieOptions | null {
    if (seqSub(tsNow, tsEcr) < 0) return null;
    const bits = tsEcr & OPTION_MASK;
    const scale = bits & NO_WINDOW_SCALE;
    return { windowScale: scale === NO_WINDOW_SCALE ? undefined : scale, sack: (bits & SACK_BIT) !== 0, ecn: (bits & ECN_BIT) !== 0 };
  }

  /** H1 (with a counter: H2): SipHash-2-4 of the tuple (and the counter), its low 32 bits. */
  private hash(tuple: CookieTuple, count?: number): number {
    return this.digest(tuple, count).low;
  }

  /** SipHash-2-4 of the tuple and, when given, a minute counter after it. */
  private digest(tuple: CookieTuple, count?: number): { readonly low: number; readonly high: number } {
    const input = tupleBytes(tuple.localAddress, tuple.localPort, tuple.remoteAddress, tuple.remotePort, count === undefined ? 0 : 4);
    if (count !== undefined) new DataView(input.buffer).setInt32(input.length - 4, count | 0);
    return sipHash24(this.key, input);
  }
}

function mssIndex(peerMss: number): number {
  let index = 0;
  while (index + 1 < COOKIE_MSS_TABLE.length && COOKIE_MSS_TABLE[index + 1] <= peerMss) index++;
  return index;
}

/** The minute counter that dates a cookie. */
function minuteCount(now: number): number {
  return Math.floor(now / MINUTE_MS);
}
