/**
 * Every fixture frame, taken apart by the dissector and put back together by our codecs: each
 * layer the dissector found is parsed by its codec and emitted again into a fresh buffer at the
 * same offset, the frame's own checksum values restored through the views' setters (offloaded
 * and unfilled ones included), and the result must be the captured frame bit for bit.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import type { Ipv4Address } from '../../src/ip/address.js';
import { emitIcmpv4, Icmpv4Packet, parseIcmpv4 } from '../../src/ip/icmpv4.js';
import { emitIpv4, Ipv4Packet, parseIpv4 } from '../../src/ip/ipv4.js';
import { ArpPacket, emitArp, parseArp } from '../../src/link/arp.js';
import { emitEthernet, EthernetFrame, parseEthernet } from '../../src/link/ethernet.js';
import { emitTcp, parseTcp, TcpPacket } from '../../src/tcp/tcp-packet.js';
import { emitUdp, parseUdp, UdpPacket } from '../../src/udp/udp-packet.js';
import { dissectFrame, type Dissection } from '../../src/dissect/dissect.js';
import { emitLinuxSll, LinuxSllHeader, parseLinuxSll } from '../../src/dissect/linux-sll.js';
import { emitLinuxSll2, LinuxSll2Header, parseLinuxSll2 } from '../../src/dissect/linux-sll2.js';
import { captureRecords } from './edge-cases.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = resolve(HERE, '../../captures/fixtures');
const FIXTURES = readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith('.pcap'))
  .sort();

/** What a transport layer needs from the IPv4 header above it. */
interface IpContext {
  readonly source: Ipv4Address;
  readonly destination: Ipv4Address;
  /** Frame offset where the IP packet's bytes stop (Total Length, or the capture's end). */
  readonly payloadEnd: number;
  readonly fragmented: boolean;
}

function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }, what: string): T {
  if (!result.ok) throw new Error(`${what}: ${result.error.message}`);
  return result.value;
}

/**
 * The frame rebuilt from the dissection's layers by the codecs. Throws (naming the layer) when a
 * codec refuses a header the dissector accepted.
 */
function rebuild(frame: Uint8Array, dissection: Dissection): { bytes: Uint8Array; opaque: string[] } {
  const out = new Uint8Array(frame.length);
  const ipAtDepth: IpContext[] = [];
  /** Layers copied as raw bytes rather than re-encoded, with why. */
  const opaque: string[] = [];
  for (const layer of dissection.layers) {
    const at = layer.start;
    const ip = ipAtDepth[layer.depth];
    switch (layer.layer) {
      case 'frame':
      case 'malformed':
      case 'vlan': // emitted by the Ethernet codec together with the header it is part of
        break;
      case 'eth': {
        const parsed = EthernetFrame.checked(frame.subarray(at));
        const repr = unwrap(parseEthernet(unwrap(parsed, 'ethernet')), 'ethernet');
        emitEthernet(repr, out.subarray(at));
        break;
      }
      case 'sll': {
        if (dissection.linkType === 276) {
          const repr = unwrap(parseLinuxSll2(unwrap(LinuxSll2Header.checked(frame.subarray(at)), 'sll2')), 'sll2');
          emitLinuxSll2(repr, out.subarray(at));
        } else {
          const repr = unwrap(parseLinuxSll(unwrap(LinuxSllHeader.checked(frame.subarray(at)), 'sll')), 'sll');
          emitLinuxSll(repr, out.subarray(at));
        }
        break;
      }
      case 'arp': {
        const packet = unwrap(ArpPacket.checked(frame.subarray(at, layer.end)), 'arp');
        emitArp(unwrap(parseArp(packet), 'arp'), out.subarray(at));
        break;
      }
      case 'ip': {
        const header = Ipv4Packet.unchecked(frame.subarray(at));
        const packet = unwrap(Ipv4Packet.checked(frame.subarray(at, Math.min(frame.length, at + header.totalLength))), `ip at ${at}`);
        const repr = unwrap(parseIpv4(packet, { verifyChecksum: false }), `ip at ${at}`);
        emitIpv4(repr, out.subarray(at));
        Ipv4Packet.unchecked(out.subarray(at)).checksum = packet.checksum;
        ipAtDepth[layer.depth] = {
          source: repr.source,
          destination: repr.destination,
          payloadEnd: layer.payloadEnd,
          fragmented: repr.moreFragments || repr.fragmentOffset > 0,
        };
        break;
      }
      case 'icmp': {
        const message = frame.subarray(at, ip.payloadEnd);
        const packet = unwrap(Icmpv4Packet.checked(message), 'icmp');
        emitIcmpv4(unwrap(parseIcmpv4(packet, { verifyChecksum: false }), 'icmp'), out.subarray(at));
        Icmpv4Packet.unchecked(out.subarray(at)).checksum = packet.checksum;
        break;
      }
      case 'udp': {
        const datagram = frame.subarray(at, ip.payloadEnd);
        const checked = UdpPacket.checked(datagram);
        if (!checked.ok && ip.fragmented) {
          // A first fragment holds the UDP header, but its Length counts the whole datagram,
          // which is not here: that is not a datagram the codec can (or should) emit.
          out.set(datagram.subarray(0, 8), at);
          opaque.push(`UDP header of a first fragment at ${at}`);
          break;
        }
        const packet = unwrap(checked, 'udp');
        // Bytes after the UDP Length but inside the IP packet are not the datagram's: kept as found.
        out.set(datagram.subarray(packet.length), at + packet.length);
        emitUdp(unwrap(parseUdp(packet, { verifyChecksum: false }), 'udp'), out.subarray(at), ip);
        UdpPacket.unchecked(out.subarray(at)).checksum = packet.checksum;
        break;
      }
      case 'tcp': {
        const packet = unwrap(TcpPacket.checked(frame.subarray(at, ip.payloadEnd)), 'tcp');
        emitTcp(unwrap(parseTcp(packet, { verifyChecksum: false }), 'tcp'), out.subarray(at), ip);
        TcpPacket.unchecked(out.subarray(at)).checksum = packet.checksum;
        break;
      }
      case 'data':
      case 'padding':
        // Payload and Ethernet padding: no header to re-encode, the bytes themselves.
        out.set(frame.subarray(layer.start, layer.end), layer.start);
        break;
      default:
        throw new Error(`no codec for a ${layer.layer} layer`);
    }
  }
  return { bytes: out, opaque };
}

/** The first differing byte, for a readable failure. */
function firstDifference(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i])
      return `byte ${i}: rebuilt ${a[i]?.toString(16)}, captured ${b[i]?.toString(16)} (captured around it: ${toHex(b.subarray(Math.max(0, i - 4), i + 4))})`;
  }
  return 'none';
}

describe('parse → emit through the codecs reproduces every fixture frame', () => {
  for (const name of FIXTURES) {
    it(name, () => {
      const failures: string[] = [];
      let fragments = 0;
      captureRecords(join(FIXTURE_DIR, name)).forEach((record, i) => {
        const dissection = dissectFrame(record.data, record.linkType, i + 1, { originalLength: record.originalLength });
        expect(dissection.malformed, `${name} frame ${i + 1} is malformed`).toBeUndefined();
        try {
          const { bytes, opaque } = rebuild(record.data, dissection);
          fragments += opaque.length;
          if (toHex(bytes) !== toHex(record.data)) failures.push(`frame ${i + 1}: ${firstDifference(bytes, record.data)}`);
        } catch (error) {
          failures.push(`frame ${i + 1}: ${(error as Error).message}`);
        }
      });
      expect(failures.slice(0, 10), failures.slice(0, 10).join('\n')).toEqual([]);
      // Only the UDP headers of first fragments bypass the codec (the offload and SLL2 captures
      // hold no fragmented UDP).
      if (name !== 'eth-offload.pcap' && name !== 'sll2.pcap') expect(fragments).toBeGreaterThan(0);
    });
  }
});
