/**
 * The IPv4 Identification field of datagrams this host originates (RFC 6864, RFC 7739).
 *
 * RFC 6864 §4.1: the field exists only for fragmentation and reassembly. An atomic datagram
 * (DF set, MF clear, offset 0) is never fragmented, so its ID means nothing and may be any
 * value; we send 0, which reveals nothing (Linux sends 0 for DF datagrams of unconnected
 * sockets too). Every other datagram needs an ID that is unique for its (source, destination,
 * protocol) for as long as it may live, and that an outsider cannot predict: one global
 * counter leaks how much the host sends to everyone (the "idle scan" zombie of nmap's ipidseq,
 * RFC 7739 §3) and lets an off-path attacker forge fragments.
 *
 * So, as RFC 7739 §5.3 describes: a fixed table of counters, each started at a random value;
 * a keyed hash of (source, destination, protocol) picks the counter and adds an offset of its
 * own, so that tuples sharing a counter still see unrelated sequences. Memory is the table,
 * whatever the number of peers; the keys and starting values come from the injected Rng, so a
 * seed fixes every ID of a run.
 */
import type { Rng } from '../core/rng.js';
import type { Ipv4Address } from './address.js';

/** Counters in the table: Linux's smallest ip_idents table; 4 KB. */
export const IDENTIFICATION_TABLE_SIZE = 2048;

/** Chooses the Identification of each datagram this host originates. */
export class Ipv4Identification {
  private readonly key0: number;
  private readonly key1: number;
  private readonly counters: Uint16Array;
  private readonly mask: number;

  /** `tableSize` is a power of two, at most 65536 (the hash's low 16 bits pick the counter). */
  constructor(rng: Rng, tableSize = IDENTIFICATION_TABLE_SIZE) {
    if (!(tableSize >= 1 && tableSize <= 0x10000 && (tableSize & (tableSize - 1)) === 0)) {
      throw new RangeError(`identification table size ${tableSize} is not a power of two up to 65536`);
    }
    this.key0 = rng.nextU32();
    this.key1 = rng.nextU32();
    const start = rng.bytes(2 * tableSize);
    this.counters = new Uint16Array(tableSize);
    for (let i = 0; i < tableSize; i++) this.counters[i] = (start[2 * i] << 8) | start[2 * i + 1];
    this.mask = tableSize - 1;
  }

  /**
   * The ID of a datagram: 0 when it is atomic (RFC 6864 §4.1), else the next value of its
   * tuple's counter plus the tuple's offset (RFC 7739 §5.3). Fragments of one datagram share
   * the ID they were given here (the caller asks once per datagram).
   */
  select(source: Ipv4Address, destination: Ipv4Address, protocol: number, atomic: boolean): number {
    if (atomic) return 0;
    const hash = halfSipHash24(this.key0, this.key1, source, destination, protocol);
    // Low bits choose the counter (RFC 7739's F), the high 16 bits are the offset (its G): two
    // disjoint parts of one keyed hash, as independent as two hashes under two keys.
    const index = hash & this.mask;
    const counter = this.counters[index];
    this.counters[index] = (counter + 1) & 0xffff;
    return ((hash >>> 16) + counter) & 0xffff;
  }
}

/**
 * HalfSipHash-2-4 (Aumasson and Bernstein's SipHash on 32-bit words) of three words under a
 * 64-bit key: a keyed pseudo-random function, so that without the key the counter and offset
 * a tuple gets cannot be worked out from the IDs seen for other tuples.
 */
function halfSipHash24(key0: number, key1: number, word0: number, word1: number, word2: number): number {
  let v0 = key0 | 0;
  let v1 = key1 | 0;
  let v2 = (0x6c796765 ^ key0) | 0;
  let v3 = (0x74656462 ^ key1) | 0;
  // Three message words, then the final block: the length in bytes in the top octet.
  for (let block = 0; block < 5; block++) {
    const word = block === 0 ? word0 : block === 1 ? word1 : block === 2 ? word2 : 12 << 24;
    let rounds = 2;
    if (block < 4) v3 ^= word;
    else {
      v2 ^= 0xff;
      rounds = 4;
    }
    for (let round = 0; round < rounds; round++) {
      v0 = (v0 + v1) | 0;
      v1 = rotl(v1, 5) ^ v0;
      v0 = rotl(v0, 16);
      v2 = (v2 + v3) | 0;
      v3 = rotl(v3, 8) ^ v2;
      v0 = (v0 + v3) | 0;
      v3 = rotl(v3, 7) ^ v0;
      v2 = (v2 + v1) | 0;
      v1 = rotl(v1, 13) ^ v2;
      v2 = rotl(v2, 16);
    }
    if (block < 4) v0 ^= word;
  }
  return (v1 ^ v3) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
