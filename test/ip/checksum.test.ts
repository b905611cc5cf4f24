import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/core/bytes.js';
import { Rng } from '../../src/core/rng.js';
import { checksumIsValid, foldSum, internetChecksum, onesComplementSum, pseudoHeaderSum, wordSum } from '../../src/ip/checksum.js';
import { SIMD_BLOCK, simdSummer } from '../../src/ip/checksum-simd.js';
import { addr } from '../support/packets.js';

/** The textbook definition: add 16-bit big-endian words with end-around carry after each add. */
function naiveChecksum(bytes: Uint8Array, initialWords: number[] = []): number {
  let sum = 0;
  const add = (word: number) => {
    sum += word;
    if (sum > 0xffff) sum = (sum & 0xffff) + 1;
  };
  for (const w of initialWords) add(w);
  for (let i = 0; i < bytes.length; i += 2) add((bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0));
  return ~sum & 0xffff;
}

describe('Internet checksum (RFC 1071)', () => {
  it('sums the RFC 1071 §3 example 00 01 f2 03 f4 f5 f6 f7 to ddf2 (checksum 220d)', () => {
    const bytes = fromHex('0001 f203 f4f5 f6f7');
    expect(foldSum(onesComplementSum(bytes))).toBe(0xddf2);
    expect(internetChecksum(bytes)).toBe(0x220d);
  });

  it('gives b861 for the well-known IPv4 header 4500 0073 0000 4000 4011 …', () => {
    const header = fromHex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    expect(internetChecksum(header)).toBe(0xb861);
    header[10] = 0xb8;
    header[11] = 0x61;
    expect(checksumIsValid(header)).toBe(true);
    header[19] ^= 0x01;
    expect(checksumIsValid(header)).toBe(false);
  });

  it('pads an odd last byte with a zero octet on the right (RFC 1071 §4.1)', () => {
    expect(internetChecksum(fromHex('ab'))).toBe(~0xab00 & 0xffff);
    expect(internetChecksum(fromHex('0001 f203 f4f5 f6'))).toBe(naiveChecksum(fromHex('0001 f203 f4f5 f6')));
    // The 1-, 2- and 3-byte tails after the 32-bit loop all take their own path.
    for (const n of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11]) {
      const bytes = new Uint8Array(n).map((_, i) => 0xf0 + i);
      expect(internetChecksum(bytes)).toBe(naiveChecksum(bytes));
    }
  });

  it("checksums nothing as 0xffff and all-ones words as 0x0000 (one's complement zeros)", () => {
    expect(internetChecksum(new Uint8Array(0))).toBe(0xffff);
    expect(internetChecksum(new Uint8Array(8).fill(0xff))).toBe(0x0000);
  });

  it('agrees with the naive 16-bit reference on 2000 seeded random buffers up to 65535 bytes', () => {
    const rng = new Rng(1071);
    for (let round = 0; round < 2000; round++) {
      const length = round < 1900 ? rng.nextInt(0, 200) : rng.nextInt(60_000, 65_536);
      const buffer = rng.bytes(length);
      // A view at an odd offset into a larger buffer must not change the result.
      const host = new Uint8Array(length + 3);
      host.set(buffer, 1);
      const view = host.subarray(1, 1 + length);
      expect(internetChecksum(view)).toBe(naiveChecksum(buffer));
    }
  });

  it('agrees with the reference at every alignment, read as a view or as a range of a larger buffer (the 32-bit word path)', () => {
    const rng = new Rng(2);
    for (let round = 0; round < 800; round++) {
      const length = round < 790 ? rng.nextInt(100, 700) : rng.nextInt(60_000, 65_536);
      const offset = round % 8;
      const buffer = rng.bytes(length);
      const host = new Uint8Array(length + 16);
      host.set(buffer, offset);
      expect(internetChecksum(host.subarray(offset, offset + length))).toBe(naiveChecksum(buffer));
      expect(internetChecksum(host, 0, offset, offset + length)).toBe(naiveChecksum(buffer));
    }
    for (const fill of [0x00, 0xff]) {
      const words = new Uint8Array(4096).fill(fill);
      expect(internetChecksum(words)).toBe(naiveChecksum(words));
      expect(checksumIsValid(words, 0)).toBe(fill === 0xff);
    }
  });

  it('does not lose carries on 64 KiB of 0xff (the worst case for an unfolded 32-bit sum)', () => {
    const buffer = new Uint8Array(65_535).fill(0xff);
    expect(internetChecksum(buffer)).toBe(naiveChecksum(buffer));
  });

  it('a buffer with its own checksum inserted verifies, and any single bit flip is caught', () => {
    const rng = new Rng(9);
    for (let round = 0; round < 200; round++) {
      const buffer = rng.bytes(2 * rng.nextInt(2, 100));
      buffer[0] = 0;
      buffer[1] = 0;
      const sum = internetChecksum(buffer);
      buffer[0] = sum >> 8;
      buffer[1] = sum & 0xff;
      expect(checksumIsValid(buffer)).toBe(true);
      const bit = rng.nextInt(0, buffer.length * 8);
      buffer[bit >> 3] ^= 1 << (bit & 7);
      expect(checksumIsValid(buffer)).toBe(false);
    }
  });

  it('continues a running sum: checksum(a ‖ b) = checksum(b, sum(a)) for even-length a', () => {
    const rng = new Rng(77);
    const a = rng.bytes(64);
    const b = rng.bytes(33);
    const whole = new Uint8Array(97);
    whole.set(a);
    whole.set(b, 64);
    expect(internetChecksum(b, onesComplementSum(a))).toBe(internetChecksum(whole));
  });

  it('the pseudo-header sum equals summing the 12 pseudo-header octets (RFC 768, RFC 9293 §3.1)', () => {
    const source = addr('192.168.1.10');
    const destination = addr('203.0.113.250');
    const pseudo = fromHex('c0a8 010a cb00 71fa 0011 0123');
    expect(foldSum(pseudoHeaderSum(source, destination, 17, 0x0123))).toBe(foldSum(onesComplementSum(pseudo)));
    const payload = fromHex('3039 0035 0123 0000 68656c6c6f');
    expect(internetChecksum(payload, pseudoHeaderSum(source, destination, 17, 0x0123))).toBe(
      naiveChecksum(payload, [0xc0a8, 0x010a, 0xcb00, 0x71fa, 0x0011, 0x0123]),
    );
  });

  it('foldSum folds repeatedly until 16 bits remain', () => {
    expect(foldSum(0)).toBe(0);
    expect(foldSum(0xffff)).toBe(0xffff);
    expect(foldSum(0x1fffe)).toBe(0xffff);
    expect(foldSum(0xffff_ffff)).toBe(0xffff);
    expect(foldSum(2 ** 40 + 5)).toBe(foldSum(foldSum(2 ** 40 + 5)));
  });
});

describe('the two ways a long run is summed (checksum-simd.ts, wordSum)', () => {
  it('has WebAssembly SIMD on this runtime (Node ≥ 16.4), so the tests above ran through it', () => {
    expect(simdSummer).not.toBeNull();
  });

  it('the WebAssembly sum agrees with the reference for every block count, at any offset of a larger buffer, all-ones included', () => {
    const rng = new Rng(16);
    for (let round = 0; round < 600; round++) {
      const length = SIMD_BLOCK * rng.nextInt(0, 100);
      const offset = round % 16;
      const buffer = round % 50 === 0 ? new Uint8Array(length).fill(0xff) : rng.bytes(length);
      const host = new Uint8Array(length + 32);
      host.set(buffer, offset);
      expect(~simdSummer!.sum(host, offset, length) & 0xffff).toBe(naiveChecksum(buffer));
    }
    const full = new Uint8Array(simdSummer!.capacity).fill(0xff); // the most a lane can gain
    expect(~simdSummer!.sum(full, 0, full.length) & 0xffff).toBe(naiveChecksum(full));
  });

  it('the 32-bit word loop (runtimes without SIMD, runs past the module memory) agrees with the reference', () => {
    const rng = new Rng(32);
    for (let round = 0; round < 400; round++) {
      const length = rng.nextInt(0, 3000);
      const offset = round % 8;
      const buffer = rng.bytes(length);
      const host = new Uint8Array(length + 16);
      host.set(buffer, offset);
      expect(~foldSum(wordSum(host, 0, offset, offset + length)) & 0xffff).toBe(naiveChecksum(buffer));
    }
  });

  it('a run longer than the module memory is summed by the word loop', () => {
    const buffer = new Rng(33).bytes(simdSummer!.capacity + 6);
    expect(internetChecksum(buffer)).toBe(naiveChecksum(buffer));
  });
});
