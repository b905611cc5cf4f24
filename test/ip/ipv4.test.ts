import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import type { DecodeError } from '../../src/core/decode-error.js';
import type { Result } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { internetChecksum } from '../../src/ip/checksum.js';
import { emitIpv4, ipv4HeaderLength, Ipv4Packet, parseIpv4, type Ipv4Repr } from '../../src/ip/ipv4.js';
import { parseIpv4Options } from '../../src/ip/ipv4-options.js';
import { addr } from '../support/packets.js';

/** Checked view and parsed header of `bytes`, failing the test with the reason otherwise. */
function decode(bytes: Uint8Array): { packet: Ipv4Packet; repr: Ipv4Repr } {
  const checked = Ipv4Packet.checked(bytes);
  if (!checked.ok) throw new Error(`checked: ${checked.error.reason}: ${checked.error.message}`);
  const parsed = parseIpv4(checked.value);
  if (!parsed.ok) throw new Error(`parse: ${parsed.error.reason}: ${parsed.error.message}`);
  return { packet: checked.value, repr: parsed.value };
}

/** parse → emit gives back exactly the header bytes. */
function expectExactRoundTrip(bytes: Uint8Array): void {
  const { packet, repr } = decode(bytes);
  expect(ipv4HeaderLength(repr)).toBe(packet.headerLength);
  const out = new Uint8Array(ipv4HeaderLength(repr));
  expect(emitIpv4(repr, out)).toBe(packet.headerLength);
  expect(toHex(out)).toBe(toHex(packet.header));
}

function reasonOf(result: Result<unknown, DecodeError>): string {
  return result.ok ? 'ok' : result.error.reason;
}

/** Wikipedia's and countless textbooks' example: 192.168.0.1 → 192.168.0.199, UDP, DF. */
const TEXTBOOK = fromHex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
/** Every field away from zero: DSCP 46 (EF), ECN 2, id abcd, MF, offset 1480, TTL 1, TCP. */
const ALL_FIELDS = fromHex('45ba001c abcd20b9 01060060 c0000201 c6336407');
/** Record route, 2 slots, pointer 8 (one address recorded), then End of Option List. */
const RECORD_ROUTE = fromHex('48000020 00014000 401113b5 0a000001 0a000002 070b080a 00000100 00000000');
/** Timestamp, flag 0 (timestamps only), two slots, pointer 9. */
const TIMESTAMP_0 = fromHex('48000020 00020000 40011669 0a000001 0a000002 440c0900 00000064 00000000');
/** Timestamp, flag 1 (address + timestamp), overflow 3, two slots, pointer 13. */
const TIMESTAMP_1 = fromHex('4a000028 00030000 40018688 0a000001 0a000002 44140d31 0a000001 80000001 00000000 00000000');
/** Timestamp, flag 3 (prespecified addresses 10.0.0.2 and 10.0.0.3), pointer 5. */
const TIMESTAMP_3 = fromHex('4a000028 00040000 400104b3 0a000001 0a000002 44140503 0a000002 00000000 0a000003 00000000');
/** Router Alert (RFC 2113, type 148, copied), kept as a raw option; IGMP to 224.0.0.22. */
const ROUTER_ALERT = fromHex('46000018 00050000 01023ac4 0a000001 e0000016 94040000');
/** NOP, NOP, record route with one slot, EOL and two octets of padding. */
const NOP_EOL = fromHex('48000020 00060000 401157bd 0a000001 0a000002 01010707 04000000 00000000');

/** `header` followed by `n` payload bytes. */
function withPayload(header: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(header.length + n);
  out.set(header);
  for (let i = 0; i < n; i++) out[header.length + i] = i;
  return out;
}

/** A copy of a header with `edit` applied and the checksum recomputed. */
function edited(header: Uint8Array, edit: (bytes: Uint8Array) => void): Uint8Array {
  const bytes = header.slice();
  edit(bytes);
  const headerLength = Math.min((bytes[0] & 0x0f) * 4, bytes.length);
  bytes[10] = 0;
  bytes[11] = 0;
  const sum = internetChecksum(bytes.subarray(0, headerLength));
  bytes[10] = sum >> 8;
  bytes[11] = sum & 0xff;
  return bytes;
}

describe('IPv4 header (RFC 791 §3.1)', () => {
  it('reads every field of the textbook header', () => {
    const { packet, repr } = decode(withPayload(TEXTBOOK, 0x73 - 20));
    expect(packet.version).toBe(4);
    expect(packet.headerLength).toBe(20);
    expect(packet.totalLength).toBe(0x73);
    expect(packet.checksum).toBe(0xb861);
    expect(packet.checksumValid).toBe(true);
    expect(repr).toEqual({
      dscp: 0,
      ecn: 0,
      identification: 0,
      reservedFlag: false,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: 17,
      source: addr('192.168.0.1'),
      destination: addr('192.168.0.199'),
      options: [],
      payloadLength: 0x73 - 20,
    });
  });

  it('reads DSCP/ECN, identification, MF, a fragment offset in bytes, TTL and protocol', () => {
    const { packet, repr } = decode(withPayload(ALL_FIELDS, 8));
    expect(packet.dsField).toBe(0xba);
    expect(repr.dscp).toBe(46);
    expect(repr.ecn).toBe(2);
    expect(repr.identification).toBe(0xabcd);
    expect(repr.dontFragment).toBe(false);
    expect(repr.moreFragments).toBe(true);
    expect(repr.reservedFlag).toBe(false);
    expect(repr.fragmentOffset).toBe(185 * 8);
    expect(repr.ttl).toBe(1);
    expect(repr.protocol).toBe(6);
    expect(repr.source).toBe(addr('192.0.2.1'));
    expect(repr.destination).toBe(addr('198.51.100.7'));
    expect(packet.payload).toEqual(new Uint8Array(8).map((_, i) => i));
  });

  it('keeps the reserved ("evil") flag so that parse → emit stays exact', () => {
    const evil = edited(TEXTBOOK, (b) => (b[6] |= 0x80));
    const { repr } = decode(withPayload(evil, 0x73 - 20));
    expect(repr.reservedFlag).toBe(true);
    expectExactRoundTrip(withPayload(evil, 0x73 - 20));
  });

  it('emits a header from a record, byte for byte as the fixtures', () => {
    const out = new Uint8Array(20);
    emitIpv4(
      {
        dscp: 46,
        ecn: 2,
        identification: 0xabcd,
        reservedFlag: false,
        dontFragment: false,
        moreFragments: true,
        fragmentOffset: 1480,
        ttl: 1,
        protocol: 6,
        source: addr('192.0.2.1'),
        destination: addr('198.51.100.7'),
        options: [],
        payloadLength: 8,
      },
      out,
    );
    expect(toHex(out)).toBe(toHex(ALL_FIELDS));
  });

  it('treats bytes after Total Length (Ethernet padding) as not part of the packet', () => {
    const padded = new Uint8Array(60);
    padded.set(withPayload(ALL_FIELDS, 8));
    padded.fill(0xee, 28);
    const { packet, repr } = decode(padded);
    expect(packet.payload.length).toBe(8);
    expect(repr.payloadLength).toBe(8);
  });

  it('the TTL setter and fillChecksum update the header in place (what a router does)', () => {
    const bytes = withPayload(TEXTBOOK, 0x73 - 20);
    const { packet } = decode(bytes);
    packet.ttl = 63;
    expect(packet.checksumValid).toBe(false);
    packet.fillChecksum();
    expect(packet.checksumValid).toBe(true);
    expect(bytes[8]).toBe(63);
    // RFC 1624: decrementing TTL by one adds 0x0100 to the checksum.
    expect(packet.checksum).toBe(0xb961);
  });

  it('does not verify the checksum when told not to, and reports a bad one as badChecksum', () => {
    const bad = withPayload(TEXTBOOK, 0x73 - 20);
    bad[11] ^= 0xff;
    const packet = Ipv4Packet.checked(bad);
    expect(packet.ok).toBe(true);
    if (!packet.ok) return;
    expect(reasonOf(parseIpv4(packet.value))).toBe('badChecksum');
    expect(reasonOf(parseIpv4(packet.value, { verifyChecksum: false }))).toBe('ok');
  });
});

describe('IPv4 options (RFC 791 §3.1 "Options")', () => {
  it('decodes record route with its pointer and every slot, and emits it exactly', () => {
    const { repr } = decode(RECORD_ROUTE);
    expect(repr.options).toEqual([
      { kind: 'recordRoute', pointer: 8, route: [addr('10.0.0.1'), 0] },
      { kind: 'endOfList', padding: new Uint8Array(0) },
    ]);
    expect(repr.payloadLength).toBe(0);
    expectExactRoundTrip(RECORD_ROUTE);
  });

  it('decodes a timestamp option with flag 0 (timestamps only)', () => {
    const { repr } = decode(TIMESTAMP_0);
    expect(repr.options).toEqual([{ kind: 'timestamp', pointer: 9, overflow: 0, flag: 0, entries: [{ timestamp: 100 }, { timestamp: 0 }] }]);
    expectExactRoundTrip(TIMESTAMP_0);
  });

  it('decodes a timestamp option with flag 1 (address and timestamp) and its overflow count', () => {
    const { repr } = decode(TIMESTAMP_1);
    expect(repr.options).toEqual([
      {
        kind: 'timestamp',
        pointer: 13,
        overflow: 3,
        flag: 1,
        entries: [
          { address: addr('10.0.0.1'), timestamp: 0x80000001 },
          { address: 0, timestamp: 0 },
        ],
      },
    ]);
    expectExactRoundTrip(TIMESTAMP_1);
  });

  it('decodes a timestamp option with flag 3 (prespecified addresses)', () => {
    const { repr } = decode(TIMESTAMP_3);
    expect(repr.options).toEqual([
      {
        kind: 'timestamp',
        pointer: 5,
        overflow: 0,
        flag: 3,
        entries: [
          { address: addr('10.0.0.2'), timestamp: 0 },
          { address: addr('10.0.0.3'), timestamp: 0 },
        ],
      },
    ]);
    expectExactRoundTrip(TIMESTAMP_3);
  });

  it('keeps a timestamp with an undefined flag (2) or a ragged length as a raw option', () => {
    const flag2 = edited(TIMESTAMP_0, (b) => (b[23] = 0x02));
    expect(decode(flag2).repr.options).toEqual([{ kind: 'raw', type: 68, data: fromHex('0902 00000064 00000000') }]);
    expectExactRoundTrip(flag2);
    // Flag 1 needs 8-byte entries; an 8-byte option has room for half of one.
    const ragged = edited(TIMESTAMP_0, (b) => {
      b[21] = 8;
      b[23] = 0x01;
    });
    expect(decode(ragged).repr.options).toEqual([
      { kind: 'raw', type: 68, data: fromHex('0901 00000064') },
      { kind: 'endOfList', padding: fromHex('000000') },
    ]);
    expectExactRoundTrip(ragged);
  });

  it('keeps an option it does not decode (Router Alert, RFC 2113) as raw type and data', () => {
    const { repr } = decode(ROUTER_ALERT);
    expect(repr.options).toEqual([{ kind: 'raw', type: 0x94, data: fromHex('0000') }]);
    expect(repr.ttl).toBe(1);
    expect(repr.protocol).toBe(2);
    expectExactRoundTrip(ROUTER_ALERT);
  });

  it('decodes NOPs and keeps the bytes after End of Option List as padding', () => {
    const { repr } = decode(NOP_EOL);
    expect(repr.options).toEqual([
      { kind: 'noOperation' },
      { kind: 'noOperation' },
      { kind: 'recordRoute', pointer: 4, route: [0] },
      { kind: 'endOfList', padding: fromHex('0000') },
    ]);
    expectExactRoundTrip(NOP_EOL);
    // Non-zero junk after EOL is not an option; it survives a round trip all the same.
    const junk = edited(NOP_EOL, (b) => {
      b[30] = 0xaa;
      b[31] = 0x55;
    });
    expect(decode(junk).repr.options[3]).toEqual({ kind: 'endOfList', padding: fromHex('aa55') });
    expectExactRoundTrip(junk);
  });

  it('pads emitted options to a 4-byte boundary with zeros and counts them in IHL', () => {
    const repr = { ...decode(withPayload(TEXTBOOK, 0x73 - 20)).repr, payloadLength: 0 };
    const header: Ipv4Repr = { ...repr, options: [{ kind: 'raw', type: 0x94, data: new Uint8Array(0) }, { kind: 'noOperation' }] };
    expect(ipv4HeaderLength(header)).toBe(24);
    const out = new Uint8Array(24).fill(0xee);
    emitIpv4(header, out);
    expect(out[0]).toBe(0x46);
    expect(toHex(out.subarray(20))).toBe('94020100');
    const options = parseIpv4Options(out.subarray(20));
    expect(options.ok && options.value).toEqual([
      { kind: 'raw', type: 0x94, data: new Uint8Array(0) },
      { kind: 'noOperation' },
      { kind: 'endOfList', padding: new Uint8Array(0) },
    ]);
  });
});

describe('malformed IPv4 packets are refused with a typed reason, never a throw', () => {
  it('fewer than 20 bytes is truncated', () => {
    for (const n of [0, 1, 19]) expect(reasonOf(Ipv4Packet.checked(TEXTBOOK.subarray(0, n)))).toBe('truncated');
  });

  it('a version other than 4 is badVersion', () => {
    for (const version of [0, 6, 15]) {
      const bytes = edited(TEXTBOOK, (b) => (b[0] = (version << 4) | 5));
      expect(reasonOf(Ipv4Packet.checked(bytes))).toBe('badVersion');
    }
  });

  it('an IHL below 5 is badHeaderLength', () => {
    for (const ihl of [0, 1, 4]) {
      const bytes = edited(withPayload(TEXTBOOK, 0x73 - 20), (b) => (b[0] = 0x40 | ihl));
      expect(reasonOf(Ipv4Packet.checked(bytes))).toBe('badHeaderLength');
    }
  });

  it('an IHL past the bytes present is truncated', () => {
    const bytes = edited(TEXTBOOK, (b) => (b[0] = 0x4f));
    expect(reasonOf(Ipv4Packet.checked(bytes))).toBe('truncated');
  });

  it('a Total Length below the header length is badTotalLength', () => {
    const short = edited(withPayload(TEXTBOOK, 0x73 - 20), (b) => (b[3] = 19));
    expect(reasonOf(Ipv4Packet.checked(short))).toBe('badTotalLength');
    const belowOptions = edited(RECORD_ROUTE, (b) => (b[3] = 24));
    expect(reasonOf(Ipv4Packet.checked(belowOptions))).toBe('badTotalLength');
  });

  it('a Total Length past the bytes present is truncated', () => {
    expect(reasonOf(Ipv4Packet.checked(withPayload(TEXTBOOK, 0x73 - 21)))).toBe('truncated');
  });

  it('an option length of 0 or 1 is badOption', () => {
    for (const length of [0, 1]) {
      const bytes = edited(RECORD_ROUTE, (b) => (b[21] = length));
      const packet = Ipv4Packet.checked(bytes);
      expect(packet.ok && reasonOf(parseIpv4(packet.value))).toBe('badOption');
    }
  });

  it('an option running past the header is badOption', () => {
    const bytes = edited(RECORD_ROUTE, (b) => (b[21] = 13));
    const packet = Ipv4Packet.checked(bytes);
    expect(packet.ok && reasonOf(parseIpv4(packet.value))).toBe('badOption');
  });

  it('an option type with no room for its length octet is badOption', () => {
    // NOP ×3, then type 7 as the very last octet of the option area.
    const bytes = edited(ROUTER_ALERT, (b) => b.set([1, 1, 1, 7], 20));
    const packet = Ipv4Packet.checked(bytes);
    expect(packet.ok && reasonOf(parseIpv4(packet.value))).toBe('badOption');
  });

  it('seeded fuzz: random and mutated headers never throw; every accepted header round-trips exactly', () => {
    const rng = new Rng(791);
    const seeds = [TEXTBOOK, ALL_FIELDS, RECORD_ROUTE, TIMESTAMP_0, TIMESTAMP_1, TIMESTAMP_3, ROUTER_ALERT, NOP_EOL];
    let accepted = 0;
    for (let round = 0; round < 20_000; round++) {
      let bytes: Uint8Array;
      if (round % 4 === 0) {
        bytes = rng.bytes(rng.nextInt(0, 80));
        if (bytes.length > 0) bytes[0] = 0x40 | (bytes[0] & 0x0f);
      } else {
        const base = withPayload(seeds[rng.nextInt(0, seeds.length)], rng.nextInt(0, 16));
        bytes = base.slice(0, rng.nextInt(base.length - 4, base.length + 1));
        // Flip a few bytes, mostly in the header, and usually fix the checksum up afterwards.
        for (let k = rng.nextInt(1, 4); k > 0; k--) bytes[rng.nextInt(0, Math.min(bytes.length, 44))] = rng.nextU32() & 0xff;
        if (rng.nextFloat() < 0.8) bytes = edited(bytes, () => {});
      }
      const checked = Ipv4Packet.checked(bytes);
      if (!checked.ok) continue;
      const packet = checked.value;
      // After checked(), every accessor stays inside the buffer.
      void [packet.payload, packet.optionBytes, packet.source, packet.destination, packet.fragmentOffset];
      const parsed = parseIpv4(packet);
      if (!parsed.ok) continue;
      accepted++;
      const out = new Uint8Array(ipv4HeaderLength(parsed.value));
      emitIpv4(parsed.value, out);
      expect(toHex(out)).toBe(toHex(packet.header));
    }
    expect(accepted).toBeGreaterThan(2000);
  });
});
