import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import type { DecodeError } from '../../src/core/decode-error.js';
import type { Result } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { formatIpv4Address, parseIpv4Address } from '../../src/ip/address.js';
import { ARP_PACKET_LENGTH, ArpOperation, ArpPacket, emitArp, parseArp, type ArpRepr } from '../../src/link/arp.js';
import { EthernetFrame, EtherType, formatMac, parseMac } from '../../src/link/ethernet.js';

/** Bytes from hex text in which `#` starts a comment that runs to the end of the line. */
function fixture(text: string): Uint8Array {
  return fromHex(text.replace(/#.*$/gm, ''));
}

/** "Who has 10.0.0.2? Tell 10.0.0.1", as an Ethernet frame padded to 60 bytes. */
const REQUEST_FRAME = fixture(`
  ffffffffffff 020000000001 0806           # Ethernet: broadcast, from 02:..:01, ARP
  0001                        # hardware type Ethernet
  0800                        # protocol type IPv4
  06 04                       # hardware and protocol address lengths
  0001                        # operation: request
  020000000001 0a000001       # sender: 02:00:00:00:00:01, 10.0.0.1
  000000000000 0a000002       # target: unknown, 10.0.0.2
  000000000000000000000000000000000000     # Ethernet padding
`);

/** "10.0.0.2 is at 02:00:00:00:00:02", unpadded (28 bytes exactly). */
const REPLY = fixture(`
  0001 0800 06 04 0002
  020000000002 0a000002       # sender
  020000000001 0a000001       # target
`);

function expectOk<T>(result: Result<T, DecodeError>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.reason}: ${result.error.message}`);
  return result.value;
}

function expectReason<T>(result: Result<T, DecodeError>, reason: DecodeError['reason']): void {
  expect(result.ok ? null : result.error).toMatchObject({ layer: 'arp', reason });
}

describe('ARP codec (RFC 826)', () => {
  it('reads every field of a request carried in a padded Ethernet frame', () => {
    const frame = expectOk(EthernetFrame.checked(REQUEST_FRAME));
    expect(frame.etherType).toBe(EtherType.ARP);
    const packet = expectOk(ArpPacket.checked(frame.payload));
    expect(packet.hardwareType).toBe(1);
    expect(packet.protocolType).toBe(0x0800);
    expect(packet.hardwareLength).toBe(6);
    expect(packet.protocolLength).toBe(4);
    expect(packet.operation).toBe(ArpOperation.REQUEST);
    expect(formatMac(packet.senderHardwareAddress)).toBe('02:00:00:00:00:01');
    expect(formatIpv4Address(packet.senderProtocolAddress)).toBe('10.0.0.1');
    expect(formatMac(packet.targetHardwareAddress)).toBe('00:00:00:00:00:00');
    expect(formatIpv4Address(packet.targetProtocolAddress)).toBe('10.0.0.2');
    expect(expectOk(parseArp(packet))).toEqual({
      operation: ArpOperation.REQUEST,
      senderHardwareAddress: parseMac('02:00:00:00:00:01'),
      senderProtocolAddress: parseIpv4Address('10.0.0.1'),
      targetHardwareAddress: new Uint8Array(6),
      targetProtocolAddress: parseIpv4Address('10.0.0.2'),
    });
  });

  it('round-trips a request (ignoring the frame padding) and a reply bit-exact', () => {
    for (const bytes of [REQUEST_FRAME.subarray(14), REPLY]) {
      const repr = expectOk(parseArp(expectOk(ArpPacket.checked(bytes))));
      const out = new Uint8Array(ARP_PACKET_LENGTH).fill(0xee);
      expect(emitArp(repr, out)).toBe(28);
      expect(toHex(out)).toBe(toHex(bytes.subarray(0, 28)));
    }
  });

  it('emits a reply built by hand', () => {
    const repr: ArpRepr = {
      operation: ArpOperation.REPLY,
      senderHardwareAddress: parseMac('02:00:00:00:00:02')!,
      senderProtocolAddress: parseIpv4Address('10.0.0.2')!,
      targetHardwareAddress: parseMac('02:00:00:00:00:01')!,
      targetProtocolAddress: parseIpv4Address('10.0.0.1')!,
    };
    const out = new Uint8Array(ARP_PACKET_LENGTH);
    emitArp(repr, out);
    expect(toHex(out)).toBe(toHex(REPLY));
  });

  it('keeps an opcode other than request and reply for the layer to judge (RARP request, 3)', () => {
    const bytes = REPLY.slice();
    bytes[7] = 3;
    expect(expectOk(parseArp(expectOk(ArpPacket.checked(bytes)))).operation).toBe(3);
  });

  it('returns hardware addresses as copies that outlive the buffer', () => {
    const bytes = REPLY.slice();
    const repr = expectOk(parseArp(expectOk(ArpPacket.checked(bytes))));
    bytes.fill(0);
    expect(formatMac(repr.senderHardwareAddress)).toBe('02:00:00:00:00:02');
  });

  describe('packets this codec does not handle', () => {
    it('fewer than 8 bytes is truncated', () => {
      expectReason(ArpPacket.checked(new Uint8Array(0)), 'truncated');
      expectReason(ArpPacket.checked(REPLY.subarray(0, 7)), 'truncated');
    });

    it('an Ethernet/IPv4 packet shorter than 28 bytes is truncated', () => {
      expectReason(ArpPacket.checked(REPLY.subarray(0, 8)), 'truncated');
      expectReason(ArpPacket.checked(REPLY.subarray(0, 27)), 'truncated');
    });

    const unsupported: [string, number, number][] = [
      ['hardware type 6 (IEEE 802)', 1, 6],
      ['protocol type 0x8600', 2, 0x86],
      ['hardware length 8', 4, 8],
      ['protocol length 16', 5, 16],
    ];
    for (const [what, at, value] of unsupported) {
      it(`${what} is unsupported, not a throw`, () => {
        const bytes = REPLY.slice();
        bytes[at] = value;
        expectReason(ArpPacket.checked(bytes), 'unsupported');
        expectReason(ArpPacket.checked(bytes.subarray(0, 8)), 'unsupported'); // judged before length
      });
    }

    it('never throws on random or mutated packets (seeded)', () => {
      const rng = new Rng(1);
      let accepted = 0;
      for (let i = 0; i < 3000; i++) {
        let bytes: Uint8Array;
        if (i % 2 === 0) {
          bytes = rng.bytes(rng.nextInt(0, 40));
        } else {
          bytes = REPLY.slice(0, rng.nextInt(0, 32));
          if (bytes.length > 0 && i % 3 !== 0) bytes[rng.nextInt(0, bytes.length)] = rng.nextU32() & 0xff;
        }
        expect(() => {
          const packet = ArpPacket.checked(bytes);
          if (!packet.ok) return;
          accepted++;
          const out = new Uint8Array(ARP_PACKET_LENGTH);
          emitArp(expectOk(parseArp(packet.value)), out);
          expect(toHex(out)).toBe(toHex(bytes.subarray(0, 28)));
        }).not.toThrow();
      }
      expect(accepted).toBeGreaterThan(100);
    });
  });
});

const haveTshark =
  spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('text2pcap', ['--version'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!haveTshark)('agreement with tshark', () => {
  it('tshark reads the same ARP fields', () => {
    const replyFrame = new Uint8Array(14 + 28);
    replyFrame.set(fromHex('020000000001 020000000002 0806'));
    replyFrame.set(REPLY, 14);
    const frames = [REQUEST_FRAME, replyFrame];
    const dir = mkdtempSync(join(tmpdir(), 'ustack-arp-'));
    try {
      writeFileSync(join(dir, 'in.txt'), frames.map((f) => `000000 ${toHex(f, ' ')}\n`).join('\n'));
      expect(spawnSync('text2pcap', ['-q', join(dir, 'in.txt'), join(dir, 'out.pcap')]).status).toBe(0);
      const fields = ['arp.opcode', 'arp.src.hw_mac', 'arp.src.proto_ipv4', 'arp.dst.hw_mac', 'arp.dst.proto_ipv4'];
      const run = spawnSync('tshark', ['-r', join(dir, 'out.pcap'), '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {
        encoding: 'utf8',
      });
      const lines = run.stdout.trim().split('\n');
      expect(lines.length).toBe(frames.length);
      lines.forEach((line, i) => {
        const packet = expectOk(ArpPacket.checked(frames[i].subarray(14)));
        expect(line.split('\t')).toEqual([
          String(packet.operation),
          formatMac(packet.senderHardwareAddress),
          formatIpv4Address(packet.senderProtocolAddress),
          formatMac(packet.targetHardwareAddress),
          formatIpv4Address(packet.targetProtocolAddress),
        ]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
