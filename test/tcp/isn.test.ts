import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { SipHashKey, sipHash24 } from '../../src/core/siphash.js';
import { IsnGenerator, tupleBytes } from '../../src/tcp/isn.js';

describe('initial sequence numbers (RFC 6528 §3)', () => {
  it('are M + F: a 4 µs clock plus SipHash-2-4 of the 4-tuple under the key the stack drew', () => {
    const isn = new IsnGenerator(new Rng(11));
    const key = new SipHashKey(new Rng(11).bytes(16));
    const tuples: Array<[number, number, number, number]> = [
      [0x0a000001, 40000, 0x0a000002, 80],
      [0xffffffff, 65535, 0x00000000, 0],
      [0xc0a80101, 1, 0x7f000001, 0x8000],
    ];
    for (const [localAddress, localPort, remoteAddress, remotePort] of tuples) {
      for (const now of [0, 1, 1000.5, 17_179_869.2]) {
        const f = sipHash24(key, tupleBytes(localAddress, localPort, remoteAddress, remotePort)).low;
        const m = Math.floor(now * 250) % 0x1_0000_0000;
        expect(isn.next(localAddress, localPort, remoteAddress, remotePort, now)).toBe((m + f) >>> 0);
      }
    }
  });

  it('differ between two tuples that differ in one port, and between IPv6 tuples too', () => {
    const isn = new IsnGenerator(new Rng(3));
    expect(isn.next(0x0a000001, 40000, 0x0a000002, 80, 0)).not.toBe(isn.next(0x0a000001, 40001, 0x0a000002, 80, 0));
    expect(isn.next('fe80::1', 40000, 'fe80::2', 80, 0)).not.toBe(isn.next('fe80::1', 40000, 'fe80::2', 81, 0));
  });
});
