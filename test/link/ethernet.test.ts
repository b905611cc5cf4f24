import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import type { DecodeError } from '../../src/core/decode-error.js';
import type { Result } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { Ipv4Packet } from '../../src/ip/ipv4.js';
import {
  emitEthernet,
  ETHERNET_MIN_FRAME_LENGTH,
  EthernetFrame,
  ethernetHeaderLength,
  EtherType,
  formatMac,
  isBroadcastMac,
  isMulticastMac,
  MAC_BROADCAST,
  parseEthernet,
  parseMac,
  type EthernetRepr,
} from '../../src/link/ethernet.js';

/** Bytes from hex text in which `#` starts a comment that runs to the end of the line. */
function fixture(text: string): Uint8Array {
  return fromHex(text.replace(/#.*$/gm, ''));
}

/** A broadcast ARP request, padded with zeros to the 60-byte minimum frame. */
const ARP_BROADCAST = fixture(`
  ffffffffffff                # destination: broadcast
  020000000001                # source
  0806                        # EtherType ARP
  0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002   # who has 10.0.0.2?
  000000000000000000000000000000000000                               # 18 bytes of padding
`);

/** An IPv4 packet of 40 bytes (a RST) in a 60-byte frame: 6 bytes of padding follow it. */
const IPV4_PADDED = fixture(`
  020000000001 020000000002 0800
  4500 0028 1234 4000 4006 149a 0a000002 0a000001        # IPv4, total length 40
  0050 b26f 00000000 11223345 5014 0000 a4a7 0000        # TCP RST|ACK
  000000000000                                           # padding
`);

/** An 802.1Q-tagged IPv4 frame: priority 3, DEI clear, VLAN 100. */
const VLAN_TAGGED = fixture(`
  020000000002 020000000001
  8100 6064                   # 802.1Q tag: TCI 0x6064
  0800                        # EtherType of the payload
  4500 0028 1234 4000 4006 149a 0a000002 0a000001
  0050 b26f 00000000 11223345 5014 0000 a4a7 0000
  0000                        # padding to 60 bytes
`);

function expectOk<T>(result: Result<T, DecodeError>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.reason}: ${result.error.message}`);
  return result.value;
}

function roundTrip(bytes: Uint8Array): void {
  const frame = expectOk(EthernetFrame.checked(bytes));
  const repr = expectOk(parseEthernet(frame));
  const out = new Uint8Array(ethernetHeaderLength(repr) + frame.payload.length).fill(0xee);
  const headerLength = emitEthernet(repr, out);
  expect(headerLength).toBe(frame.headerLength);
  out.set(frame.payload, headerLength);
  expect(toHex(out)).toBe(toHex(bytes));
}

describe('Ethernet II codec', () => {
  it('reads a broadcast ARP frame, padding included in the payload', () => {
    expect(ARP_BROADCAST.length).toBe(ETHERNET_MIN_FRAME_LENGTH);
    const frame = expectOk(EthernetFrame.checked(ARP_BROADCAST));
    expect(formatMac(frame.destination)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMac(frame.source)).toBe('02:00:00:00:00:01');
    expect(frame.etherType).toBe(EtherType.ARP);
    expect(frame.vlanTagged).toBe(false);
    expect(frame.vlan).toBeNull();
    expect(frame.vlanTci).toBe(0);
    expect(frame.headerLength).toBe(14);
    expect(frame.payload.length).toBe(46);
    expect(isBroadcastMac(frame.destination)).toBe(true);
    expect(expectOk(parseEthernet(frame))).toEqual({
      destination: MAC_BROADCAST,
      source: parseMac('02:00:00:00:00:01'),
      etherType: EtherType.ARP,
      vlan: null,
    });
    roundTrip(ARP_BROADCAST);
  });

  it('hands IPv4 the padded payload, and IPv4 trims it by Total Length', () => {
    const frame = expectOk(EthernetFrame.checked(IPV4_PADDED));
    expect(frame.etherType).toBe(EtherType.IPV4);
    expect(frame.payload.length).toBe(46);
    const ip = expectOk(Ipv4Packet.checked(frame.payload));
    expect(ip.totalLength).toBe(40);
    expect(ip.checksumValid).toBe(true);
    expect(ip.payload.length).toBe(20);
    roundTrip(IPV4_PADDED);
  });

  it('decodes an 802.1Q tag instead of rejecting the frame', () => {
    const frame = expectOk(EthernetFrame.checked(VLAN_TAGGED));
    expect(frame.vlanTagged).toBe(true);
    expect(frame.vlanTci).toBe(0x6064);
    expect(frame.vlan).toEqual({ priority: 3, dropEligible: false, vlanId: 100 });
    expect(frame.etherType).toBe(EtherType.IPV4);
    expect(frame.headerLength).toBe(18);
    expect(expectOk(Ipv4Packet.checked(frame.payload)).totalLength).toBe(40);
    const repr = expectOk(parseEthernet(frame));
    expect(repr.vlan).toEqual({ priority: 3, dropEligible: false, vlanId: 100 });
    expect(ethernetHeaderLength(repr)).toBe(18);
    roundTrip(VLAN_TAGGED);
  });

  it('encodes every TCI bit: priority 7, drop eligible, VLAN 4095', () => {
    const repr: EthernetRepr = {
      destination: parseMac('01:00:5e:00:00:01')!,
      source: parseMac('02:00:00:00:00:01')!,
      etherType: EtherType.IPV6,
      vlan: { priority: 7, dropEligible: true, vlanId: 4095 },
    };
    const out = new Uint8Array(18);
    expect(emitEthernet(repr, out)).toBe(18);
    expect(toHex(out)).toBe('01005e000001' + '020000000001' + '8100' + 'ffff' + '86dd');
    const frame = expectOk(EthernetFrame.checked(out));
    expect(frame.payload.length).toBe(0);
    expect(expectOk(parseEthernet(frame))).toEqual(repr);
  });

  it('emits an untagged header', () => {
    const repr: EthernetRepr = { destination: MAC_BROADCAST, source: parseMac('aa:bb:cc:dd:ee:ff')!, etherType: EtherType.ARP, vlan: null };
    const out = new Uint8Array(14);
    expect(ethernetHeaderLength(repr)).toBe(14);
    expect(emitEthernet(repr, out)).toBe(14);
    expect(toHex(out)).toBe('ffffffffffffaabbccddeeff0806');
  });

  it('returns addresses in the repr as copies that outlive the frame buffer', () => {
    const bytes = ARP_BROADCAST.slice();
    const repr = expectOk(parseEthernet(expectOk(EthernetFrame.checked(bytes))));
    bytes.fill(0);
    expect(formatMac(repr.source)).toBe('02:00:00:00:00:01');
  });

  describe('malformed frames', () => {
    it('fewer than 14 bytes is truncated', () => {
      for (const length of [0, 1, 13]) {
        const result = EthernetFrame.checked(ARP_BROADCAST.subarray(0, length));
        expect(result.ok ? null : result.error).toMatchObject({ layer: 'ethernet', reason: 'truncated' });
      }
    });

    it('a tagged frame shorter than 18 bytes is truncated', () => {
      const result = EthernetFrame.checked(VLAN_TAGGED.subarray(0, 17));
      expect(result.ok ? null : result.error).toMatchObject({ layer: 'ethernet', reason: 'truncated' });
    });

    it('bare headers with no payload are fine', () => {
      expect(expectOk(EthernetFrame.checked(ARP_BROADCAST.subarray(0, 14))).payload.length).toBe(0);
      expect(expectOk(EthernetFrame.checked(VLAN_TAGGED.subarray(0, 18))).payload.length).toBe(0);
    });

    it('never throws on random or cut-down frames, and what parses re-emits exactly (seeded)', () => {
      const rng = new Rng(1);
      for (let i = 0; i < 3000; i++) {
        let bytes: Uint8Array;
        if (i % 2 === 0) {
          bytes = rng.bytes(rng.nextInt(0, 40));
          if (bytes.length >= 14 && i % 4 === 0) bytes.set([0x81, 0x00], 12);
        } else {
          bytes = [ARP_BROADCAST, IPV4_PADDED, VLAN_TAGGED][i % 3].slice(0, rng.nextInt(0, 64));
          if (bytes.length > 0) bytes[rng.nextInt(0, bytes.length)] = rng.nextU32() & 0xff;
        }
        let result: Result<EthernetFrame, DecodeError> | undefined;
        expect(() => {
          result = EthernetFrame.checked(bytes);
          if (result.ok) void result.value.payload;
        }).not.toThrow();
        if (result?.ok) roundTrip(bytes);
      }
    });
  });
});

describe('MAC address helpers', () => {
  it('formats lowercase, colon-separated', () => {
    expect(formatMac(fromHex('0a1b2c3d4e5f'))).toBe('0a:1b:2c:3d:4e:5f');
  });

  it('parses six hex pairs in either case', () => {
    expect(toHex(parseMac('AA:bb:0C:dd:EE:ff')!)).toBe('aabb0cddeeff');
    expect(formatMac(parseMac('02:00:00:00:00:01')!)).toBe('02:00:00:00:00:01');
  });

  it('returns null for anything else', () => {
    for (const text of [
      '',
      'aa:bb:cc:dd:ee',
      'aa:bb:cc:dd:ee:ff:00',
      'aa-bb-cc-dd-ee-ff',
      'a:b:c:d:e:f',
      'gg:bb:cc:dd:ee:ff',
      'aa:bb:cc:dd:ee:fff',
      ' aa:bb:cc:dd:ee:ff',
    ]) {
      expect(parseMac(text)).toBeNull();
    }
  });

  it('tells group addresses (multicast, broadcast) from unicast by the I/G bit', () => {
    expect(isMulticastMac(parseMac('01:00:5e:00:00:fb')!)).toBe(true);
    expect(isMulticastMac(MAC_BROADCAST)).toBe(true);
    expect(isMulticastMac(parseMac('02:00:00:00:00:01')!)).toBe(false);
    expect(isBroadcastMac(parseMac('ff:ff:ff:ff:ff:fe')!)).toBe(false);
  });
});

// Optional cross-check of the same frames against tshark.
const haveTshark =
  spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('text2pcap', ['--version'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!haveTshark)('agreement with tshark', () => {
  it('tshark reads the same addresses, types and tag', () => {
    const frames = [ARP_BROADCAST, IPV4_PADDED, VLAN_TAGGED];
    const dir = mkdtempSync(join(tmpdir(), 'ustack-ethernet-'));
    try {
      writeFileSync(join(dir, 'in.txt'), frames.map((f) => `000000 ${toHex(f, ' ')}\n`).join('\n'));
      expect(spawnSync('text2pcap', ['-q', join(dir, 'in.txt'), join(dir, 'out.pcap')]).status).toBe(0);
      const fields = ['eth.dst', 'eth.src', 'vlan.priority', 'vlan.dei', 'vlan.id', 'vlan.etype', 'eth.type'];
      const run = spawnSync('tshark', ['-r', join(dir, 'out.pcap'), '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {
        encoding: 'utf8',
      });
      const lines = run.stdout.trim().split('\n');
      expect(lines.length).toBe(frames.length);
      lines.forEach((line, i) => {
        const frame = expectOk(EthernetFrame.checked(frames[i]));
        const vlan = frame.vlan;
        const hex4 = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;
        expect(line.split('\t')).toEqual([
          formatMac(frame.destination),
          formatMac(frame.source),
          vlan ? String(vlan.priority) : '',
          vlan ? (vlan.dropEligible ? '1' : '0') : '',
          vlan ? String(vlan.vlanId) : '',
          vlan ? hex4(frame.etherType) : '',
          vlan ? hex4(EtherType.VLAN) : hex4(frame.etherType),
        ]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
