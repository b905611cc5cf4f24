import { describe, expect, it } from 'vitest';
import { parseIpv4Cidr } from '../../src/ip/address.js';
import { ArpOperation, emitArp } from '../../src/link/arp.js';
import { ARP_CACHE_LIMIT, EthernetAdapter } from '../../src/link/ethernet-adapter.js';
import { emitEthernet, EtherType, MAC_BROADCAST, parseMac } from '../../src/link/ethernet.js';
import type { FrameReceiver, Link } from '../../src/link/link.js';

/** An Ethernet link the test feeds by hand. */
function handLink(): Link & { deliver(frame: Uint8Array, now: number): void } {
  let receiver: FrameReceiver | null = null;
  return {
    name: 'hand',
    medium: 'ethernet',
    mtu: 1500,
    transmit() {},
    setReceiver: (r) => (receiver = r),
    pollAt: () => Infinity,
    poll() {},
    deliver: (frame, now) => receiver!(frame, now),
  };
}

/** An ARP request for `target` from `sender` (a distinct MAC per sender). */
function arpRequest(sender: number, target: number): Uint8Array {
  const mac = new Uint8Array([0x02, 0, (sender >>> 16) & 0xff, (sender >>> 8) & 0xff, sender & 0xff, 1]);
  const frame = new Uint8Array(60);
  emitEthernet({ destination: MAC_BROADCAST, source: mac, etherType: EtherType.ARP, vlan: null }, frame);
  emitArp(
    {
      operation: ArpOperation.REQUEST,
      senderHardwareAddress: mac,
      senderProtocolAddress: sender,
      targetHardwareAddress: new Uint8Array(6),
      targetProtocolAddress: target,
    },
    frame.subarray(14),
  );
  return frame;
}

describe('EthernetAdapter: the ARP cache is bounded', () => {
  it("requests for our address from ever new senders do not grow the cache past its limit (found by the fuzzer's bound check)", () => {
    const link = handLink();
    const cidr = parseIpv4Cidr('10.0.0.1/8')!;
    const adapter = new EthernetAdapter(link, { mac: parseMac('02:00:00:00:00:01')!, address: cidr });
    for (let i = 0; i < 3 * ARP_CACHE_LIMIT; i++) link.deliver(arpRequest((0x0a000002 + i) >>> 0, cidr.address), i);
    expect(adapter.cacheSize).toBeLessThanOrEqual(ARP_CACHE_LIMIT);
    // The most recent mappings are the ones kept.
    expect(adapter.lookup((0x0a000002 + 3 * ARP_CACHE_LIMIT - 1) >>> 0)).not.toBeNull();
    expect(adapter.lookup(0x0a000002)).toBeNull();
  });
});
