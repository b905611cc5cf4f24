import { describe, expect, it } from 'vitest';
import { SipHashKey, sipHash24 } from '../../src/core/siphash.js';

// The reference vectors of SipHash-2-4 (the authors' vectors.h): key 00 01 … 0f, message i the
// bytes 00 01 … (i − 1); the output's 8 bytes little-endian. Lengths 0–16 cover an empty
// message, every tail length, exactly one block, and one block with every tail.
const VECTORS = [
  '310e0edd47db6f72',
  'fd67dc93c539f874',
  '5a4fa9d909806c0d',
  '2d7efbd796666785',
  'b7877127e09427cf',
  '8da699cd64557618',
  'cee3fe586e46c9cb',
  '37d1018bf50002ab',
  '6224939a79f5f593',
  'b0e4a90bdf82009e',
  'f3b9dd94c5bb5d7a',
  'a7ad6b22462fb3f4',
  'fbe50e86bc8f1e75',
  '903d84c02756ea14',
  'eef27a8e90ca23f7',
  'e545be4961ca29a1',
  'db9bc2577fcc2a3f',
];

const key = new SipHashKey(Uint8Array.from({ length: 16 }, (_, i) => i));

function hex(out: { low: number; high: number }): string {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setUint32(0, out.low, true);
  new DataView(bytes.buffer).setUint32(4, out.high, true);
  return Buffer.from(bytes).toString('hex');
}

describe('SipHash-2-4', () => {
  it.each(VECTORS.map((expected, length) => ({ length, expected })))('the reference vector of a $length-byte message', ({ length, expected }) => {
    expect(
      hex(
        sipHash24(
          key,
          Uint8Array.from({ length }, (_, i) => i),
        ),
      ),
    ).toBe(expected);
  });

  it('depends on every key byte and every message byte', () => {
    const message = Uint8Array.from({ length: 12 }, (_, i) => i * 7);
    const base = hex(sipHash24(key, message));
    for (let i = 0; i < 16; i++) {
      const other = Uint8Array.from({ length: 16 }, (_, j) => j);
      other[i] ^= 1;
      expect(hex(sipHash24(new SipHashKey(other), message))).not.toBe(base);
    }
    for (let i = 0; i < message.length; i++) {
      const changed = message.slice();
      changed[i] ^= 0x80;
      expect(hex(sipHash24(key, changed))).not.toBe(base);
    }
  });

  it('refuses a key that is not 16 bytes', () => {
    expect(() => new SipHashKey(new Uint8Array(8))).toThrow(RangeError);
  });
});
