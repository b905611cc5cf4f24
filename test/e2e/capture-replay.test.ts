/**
 * Replaying real Linux-kernel captures into a stack: every frame of every fixture goes through
 * the full receive path of a host that owns the frame's destination address. Nothing may throw,
 * and frames the kernel left with unfilled checksums (offloads on) must be dropped and counted.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIpv4Address, readIpv4Address } from '../../src/ip/address.js';
import { EthernetFrame, EtherType } from '../../src/link/ethernet.js';
import { LoopbackLink } from '../../src/link/loopback.js';
import { LinkType, readCapture } from '../../src/pcap/pcap.js';
import { Stack } from '../../src/socket-api/stack.js';

const FIXTURES = 'captures/fixtures';

/** The IPv4 packet inside a captured frame, or null for ARP and other non-IPv4 frames. */
function ipv4Of(data: Uint8Array, linkType: number): Uint8Array | null {
  if (linkType === LinkType.RAW || linkType === LinkType.IPV4) return data[0] >> 4 === 4 ? data : null;
  if (linkType === LinkType.LINUX_SLL) return ((data[14] << 8) | data[15]) === EtherType.IPV4 ? data.subarray(16) : null;
  if (linkType === LinkType.LINUX_SLL2) return ((data[0] << 8) | data[1]) === EtherType.IPV4 ? data.subarray(20) : null;
  if (linkType === LinkType.ETHERNET) {
    const frame = EthernetFrame.checked(data);
    return frame.ok && frame.value.etherType === EtherType.IPV4 ? frame.value.payload : null;
  }
  return null;
}

/** Feeds every IPv4 frame of a capture to stacks that own its destination. */
function replay(file: string) {
  const capture = readCapture(new Uint8Array(readFileSync(join(FIXTURES, file))));
  if (!capture.ok) throw new Error(capture.error.message);
  const hosts = new Map<number, Stack>();
  let frames = 0;
  for (const record of capture.value.records) {
    const packet = ipv4Of(record.data, record.linkType);
    if (!packet || packet.length < 20) continue;
    const destination = readIpv4Address(packet, 16);
    let host = hosts.get(destination);
    if (!host) {
      host = new Stack({ name: formatIpv4Address(destination), loopback: false });
      host.addInterface({ name: 'eth0', link: new LoopbackLink('replay', 65536), address: `${formatIpv4Address(destination)}/24` });
      hosts.set(destination, host);
    }
    host.receive('eth0', packet.slice(), frames);
    host.poll(frames);
    frames++;
  }
  return { hosts: [...hosts.values()], frames };
}

describe('replaying the kernel captures through the receive path', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.pcap'));

  it.each(files)('%s: every frame is processed or dropped and counted, nothing throws', (file) => {
    const { hosts, frames } = replay(file);
    expect(frames).toBeGreaterThan(10);
    for (const host of hosts) {
      expect(host.lastInternalError).toBe(null);
      expect(host.stats.get('ipv4.rx.packets')).toBeGreaterThan(0);
    }
  });

  it('drops and counts the frames whose checksums the kernel left to the NIC (offloads on)', () => {
    const { hosts } = replay('eth-offload.pcap');
    const badChecksums = hosts.reduce((n, h) => n + h.stats.get('drop.tcp.badChecksum') + h.stats.get('drop.udp.badChecksum'), 0);
    expect(badChecksums).toBeGreaterThan(0);
  });

  it('accepts every checksum of the offload-free captures', () => {
    for (const file of ['eth.pcap', 'raw.pcap', 'sll.pcap', 'ipv4.pcap']) {
      const { hosts } = replay(file);
      for (const host of hosts) {
        expect(host.stats.get('drop.ipv4.badChecksum')).toBe(0);
        expect(host.stats.get('drop.tcp.badChecksum')).toBe(0);
        expect(host.stats.get('drop.udp.badChecksum')).toBe(0);
        expect(host.stats.get('drop.icmp.badChecksum')).toBe(0);
      }
    }
  });
});
