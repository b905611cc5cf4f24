import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import type { DecodeError } from '../../src/core/decode-error.js';
import type { Result } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { foldSum, onesComplementSum, pseudoHeaderSum } from '../../src/ip/checksum.js';
import { emitUdp, parseUdp, UdpPacket, udpLength } from '../../src/udp/udp-packet.js';
import { addr } from '../support/packets.js';

const SOURCE = addr('10.0.0.1');
const DESTINATION = addr('10.0.0.2');
const PSEUDO = { source: SOURCE, destination: DESTINATION };
/** 10.0.0.1:12345 → 10.0.0.2:53, "hello" (odd length), checksum 0x7791. */
const HELLO = fromHex('30390035000d779168656c6c6f');

function reasonOf(result: Result<unknown, DecodeError>): string {
  return result.ok ? 'ok' : result.error.reason;
}

function checked(bytes: Uint8Array): UdpPacket {
  const packet = UdpPacket.checked(bytes);
  if (!packet.ok) throw new Error(packet.error.message);
  return packet.value;
}

describe('UDP datagrams (RFC 768)', () => {
  it('decode ports, length, checksum and data of a fixture', () => {
    const packet = checked(HELLO);
    expect(packet.sourcePort).toBe(12345);
    expect(packet.destinationPort).toBe(53);
    expect(packet.length).toBe(13);
    expect(packet.checksum).toBe(0x7791);
    expect(packet.checksumValid(PSEUDO)).toBe(true);
    const repr = parseUdp(packet, PSEUDO);
    expect(repr.ok && repr.value).toEqual({ sourcePort: 12345, destinationPort: 53, payload: new TextEncoder().encode('hello') });
  });

  it('emit the fixture byte for byte', () => {
    const repr = { sourcePort: 12345, destinationPort: 53, payload: new TextEncoder().encode('hello') };
    const out = new Uint8Array(udpLength(repr));
    expect(emitUdp(repr, out, PSEUDO)).toBe(13);
    expect(toHex(out)).toBe(toHex(HELLO));
  });

  it('the checksum covers the pseudo-header: another destination address fails it', () => {
    const packet = checked(HELLO);
    expect(packet.checksumValid({ source: SOURCE, destination: addr('10.0.0.3') })).toBe(false);
    expect(reasonOf(parseUdp(packet, { source: SOURCE, destination: addr('10.0.0.3') }))).toBe('badChecksum');
    expect(reasonOf(parseUdp(packet, { verifyChecksum: false }))).toBe('ok');
  });

  it('a transmitted checksum of 0 means none was computed, and is accepted as is', () => {
    const noChecksum = HELLO.slice();
    noChecksum[6] = 0;
    noChecksum[7] = 0;
    noChecksum[12] ^= 0xff; // the data can be anything: nothing covers it
    expect(reasonOf(parseUdp(checked(noChecksum), PSEUDO))).toBe('ok');
  });

  it('a computed checksum of 0 is sent as 0xffff (RFC 768), and that verifies', () => {
    // Choose the last data word so that the whole sum folds to 0xffff: the checksum is then 0.
    const payload = fromHex('0102 0304 0000');
    const sumWithoutLast = foldSum(onesComplementSum(fromHex('3039 0035 000e 0000 0102 0304'), pseudoHeaderSum(SOURCE, DESTINATION, 17, 14)));
    const last = 0xffff - sumWithoutLast;
    payload[4] = last >> 8;
    payload[5] = last & 0xff;
    const out = new Uint8Array(14);
    emitUdp({ sourcePort: 12345, destinationPort: 53, payload }, out, PSEUDO);
    expect(toHex(out.subarray(6, 8))).toBe('ffff');
    expect(checked(out).checksumValid(PSEUDO)).toBe(true);
  });

  it('a Length field below 8 is badTotalLength; above the bytes present is truncated', () => {
    for (const length of [0, 7]) {
      const bytes = HELLO.slice();
      bytes[4] = 0;
      bytes[5] = length;
      expect(reasonOf(UdpPacket.checked(bytes))).toBe('badTotalLength');
    }
    const long = HELLO.slice();
    long[5] = 14;
    expect(reasonOf(UdpPacket.checked(long))).toBe('truncated');
    expect(reasonOf(UdpPacket.checked(HELLO.subarray(0, 7)))).toBe('truncated');
  });

  it('bytes after Length are not part of the datagram, for the data and for the checksum', () => {
    const trailing = new Uint8Array(HELLO.length + 3);
    trailing.set(HELLO);
    trailing.set([0xde, 0xad, 0xbe], HELLO.length);
    const packet = checked(trailing);
    expect(packet.payload).toEqual(new TextEncoder().encode('hello'));
    expect(packet.checksumValid(PSEUDO)).toBe(true);
  });

  it('a Length of exactly 8 is an empty datagram', () => {
    const out = new Uint8Array(8);
    emitUdp({ sourcePort: 1, destinationPort: 2, payload: new Uint8Array(0) }, out, PSEUDO);
    const repr = parseUdp(checked(out), PSEUDO);
    expect(repr.ok && repr.value.payload.length).toBe(0);
  });

  it('seeded: emitted datagrams always verify, and any single flipped bit is caught', () => {
    const rng = new Rng(768);
    for (let round = 0; round < 500; round++) {
      const payload = rng.bytes(rng.nextInt(0, 300));
      const repr = { sourcePort: rng.nextInt(1, 65536), destinationPort: rng.nextInt(1, 65536), payload };
      const out = new Uint8Array(udpLength(repr));
      emitUdp(repr, out, PSEUDO);
      expect(reasonOf(parseUdp(checked(out), PSEUDO))).toBe('ok');
      const bit = rng.nextInt(0, out.length * 8);
      out[bit >> 3] ^= 1 << (bit & 7);
      const corrupted = UdpPacket.checked(out);
      // A flip in Length may make the datagram malformed instead; either way it is refused —
      // except a checksum flipped to exactly 0, which means "no checksum" (RFC 768).
      if (corrupted.ok && corrupted.value.checksum !== 0) expect(reasonOf(parseUdp(corrupted.value, PSEUDO))).toBe('badChecksum');
    }
  });
});
