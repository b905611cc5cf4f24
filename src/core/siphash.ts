/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed hash
 * made for short messages such as a connection's 4-tuple, where a call costs a few hundred
 * nanoseconds — an HMAC through node:crypto costs microseconds and a Buffer or two per call.
 * Linux keys its TCP ISNs and SYN cookies with it (secure_tcp_seq, cookie_hash) for that reason.
 *
 * The 64-bit words are kept as two uint32 halves, as JavaScript's numbers hold 53 bits.
 */

/** A 128-bit SipHash key: the key's 16 bytes read as four little-endian uint32 words. */
export class SipHashKey {
  readonly words: Uint32Array;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== 16) throw new RangeError(`SipHashKey: a key is 16 bytes, not ${bytes.length}`);
    this.words = new Uint32Array(4);
    for (let i = 0; i < 4; i++) this.words[i] = (bytes[4 * i] | (bytes[4 * i + 1] << 8) | (bytes[4 * i + 2] << 16) | (bytes[4 * i + 3] << 24)) >>> 0;
  }
}

/**
 * The state v0..v3 as high and low int32 halves: [v0h, v0l, v1h, v1l, v2h, v2l, v3h, v3l]. A
 * typed array, so that a call allocates nothing and no half is ever boxed as a heap number.
 */
const v = new Int32Array(8);

/** `rounds` SipRounds (§2 of the paper): add, rotate, xor on the four words. */
function sipRounds(rounds: number): void {
  let v0h = v[0];
  let v0l = v[1];
  let v1h = v[2];
  let v1l = v[3];
  let v2h = v[4];
  let v2l = v[5];
  let v3h = v[6];
  let v3l = v[7];
  let h = 0;
  let l = 0;
  for (let r = 0; r < rounds; r++) {
    // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
    l = (v0l + v1l) | 0;
    v0h = (v0h + v1h + (l >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
    v0l = l;
    h = (v1h << 13) | (v1l >>> 19);
    l = (v1l << 13) | (v1h >>> 19);
    v1h = h ^ v0h;
    v1l = l ^ v0l;
    h = v0h;
    v0h = v0l;
    v0l = h;
    // v2 += v3; v3 <<<= 16; v3 ^= v2
    l = (v2l + v3l) | 0;
    v2h = (v2h + v3h + (l >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
    v2l = l;
    h = (v3h << 16) | (v3l >>> 16);
    l = (v3l << 16) | (v3h >>> 16);
    v3h = h ^ v2h;
    v3l = l ^ v2l;
    // v0 += v3; v3 <<<= 21; v3 ^= v0
    l = (v0l + v3l) | 0;
    v0h = (v0h + v3h + (l >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
    v0l = l;
    h = (v3h << 21) | (v3l >>> 11);
    l = (v3l << 21) | (v3h >>> 11);
    v3h = h ^ v0h;
    v3l = l ^ v0l;
    // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
    l = (v2l + v1l) | 0;
    v2h = (v2h + v1h + (l >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
    v2l = l;
    h = (v1h << 17) | (v1l >>> 15);
    l = (v1l << 17) | (v1h >>> 15);
    v1h = h ^ v2h;
    v1l = l ^ v2l;
    h = v2h;
    v2h = v2l;
    v2l = h;
  }
  v[0] = v0h;
  v[1] = v0l;
  v[2] = v1h;
  v[3] = v1l;
  v[4] = v2h;
  v[5] = v2l;
  v[6] = v3h;
  v[7] = v3l;
}

/** Takes in one 64-bit message word (c = 2 rounds). */
function compress(mh: number, ml: number): void {
  v[6] ^= mh;
  v[7] ^= ml;
  sipRounds(2);
  v[0] ^= mh;
  v[1] ^= ml;
}

/** Little-endian 32-bit word of `message` at `offset` (as an int32), the bytes past its end read as 0. */
function wordAt(message: Uint8Array, offset: number): number {
  let word = 0;
  for (let i = 3; i >= 0; i--) word = (word << 8) | (offset + i < message.length ? message[offset + i] : 0);
  return word;
}

/**
 * SipHash-2-4 of `message` under `key`, as the reference implementation's 8 output bytes
 * (little-endian): `low` is the first four, `high` the last four, both uint32.
 */
export function sipHash24(key: SipHashKey, message: Uint8Array): { readonly low: number; readonly high: number } {
  const [k0l, k0h, k1l, k1h] = key.words;
  // The initialisation constants "somepseudorandomlygeneratedbytes" (§2).
  v[0] = k0h ^ 0x736f6d65;
  v[1] = k0l ^ 0x70736575;
  v[2] = k1h ^ 0x646f7261;
  v[3] = k1l ^ 0x6e646f6d;
  v[4] = k0h ^ 0x6c796765;
  v[5] = k0l ^ 0x6e657261;
  v[6] = k1h ^ 0x74656462;
  v[7] = k1l ^ 0x79746573;
  const whole = message.length - (message.length % 8);
  for (let offset = 0; offset < whole; offset += 8) compress(wordAt(message, offset + 4), wordAt(message, offset));
  // The last word: the remaining 0–7 bytes, zero-padded, with the length mod 256 in its top byte.
  compress(wordAt(message, whole + 4) | ((message.length & 0xff) << 24), wordAt(message, whole));
  // Finalisation (d = 4 rounds).
  v[5] ^= 0xff;
  sipRounds(4);
  return { low: (v[1] ^ v[3] ^ v[5] ^ v[7]) >>> 0, high: (v[0] ^ v[2] ^ v[4] ^ v[6]) >>> 0 };
}
