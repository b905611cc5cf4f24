import { describe, expect, it } from 'vitest';
import { VirtualWire } from '../../src/link/virtual-wire.js';

function recorder() {
  const got: Array<{ bytes: number[]; time: number }> = [];
  return { got, receiver: (frame: Uint8Array, now: number) => got.push({ bytes: [...frame], time: now }) };
}

describe('VirtualWire', () => {
  it('delivers a frame at the other end after the latency, in the order sent', () => {
    const wire = new VirtualWire({ latencyMs: 5 });
    const atB = recorder();
    wire.b.setReceiver(atB.receiver);
    wire.a.transmit(new Uint8Array([1]), 0);
    wire.a.transmit(new Uint8Array([2]), 0);
    wire.a.transmit(new Uint8Array([3]), 2);
    expect(wire.b.pollAt()).toBe(5);
    wire.b.poll(4.999);
    expect(atB.got).toEqual([]);
    wire.b.poll(5);
    expect(atB.got).toEqual([
      { bytes: [1], time: 5 },
      { bytes: [2], time: 5 },
    ]);
    expect(wire.b.pollAt()).toBe(7);
    wire.b.poll(7);
    expect(atB.got.map((g) => g.bytes[0])).toEqual([1, 2, 3]);
    expect(wire.b.delivered).toBe(3);
    expect(wire.b.pollAt()).toBe(Infinity);
  });

  it('carries both directions independently', () => {
    const wire = new VirtualWire({ latencyMs: 1 });
    const atA = recorder();
    const atB = recorder();
    wire.a.setReceiver(atA.receiver);
    wire.b.setReceiver(atB.receiver);
    wire.a.transmit(new Uint8Array([0xa]), 0);
    wire.b.transmit(new Uint8Array([0xb]), 0);
    expect(wire.a.pollAt()).toBe(1);
    wire.a.poll(1);
    expect(atA.got).toEqual([{ bytes: [0xb], time: 1 }]);
    expect(atB.got).toEqual([]);
    wire.b.poll(1);
    expect(atB.got).toEqual([{ bytes: [0xa], time: 1 }]);
  });

  it('refuses and counts a frame larger than the MTU (plus an Ethernet header on an Ethernet wire)', () => {
    const ip = new VirtualWire({ mtu: 576 });
    ip.a.transmit(new Uint8Array(576), 0);
    ip.a.transmit(new Uint8Array(577), 0);
    expect(ip.a.oversizeDrops).toBe(1);
    ip.b.poll(0);
    expect(ip.b.delivered).toBe(1);
    const ethernet = new VirtualWire({ mtu: 1500, medium: 'ethernet' });
    ethernet.a.transmit(new Uint8Array(1518), 0);
    ethernet.a.transmit(new Uint8Array(1519), 0);
    expect(ethernet.a.oversizeDrops).toBe(1);
    expect(ethernet.a.medium).toBe('ethernet');
  });

  it('names its ends after the wire and defaults to MTU 1500, no latency, IP medium', () => {
    const wire = new VirtualWire({ name: 'uplink' });
    expect([wire.a.name, wire.b.name]).toEqual(['uplink:a', 'uplink:b']);
    expect([wire.a.mtu, wire.a.medium]).toEqual([1500, 'ip']);
    wire.a.transmit(new Uint8Array(1), 3);
    expect(wire.b.pollAt()).toBe(3);
  });
});
