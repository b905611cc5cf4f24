/**
 * Automatic flow labels kept per flow (RFC 6437 §3, src/ip/ipv6-flow-label.ts): a connected UDP
 * socket hashes its label once and puts it on every datagram, as Linux keeps a connected
 * socket's sk_txhash. Virtual time, bare-IP wire, captured.
 */
import { describe, expect, it, vi } from 'vitest';
import { parseIpv6Address } from '../../src/ip/ipv6-address.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

interface Labelled {
  readonly label: number;
  readonly source: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly nextHeader: number;
  readonly flags: number;
}

/** Every IPv6 TCP or UDP packet of a bare-IP capture: its label, source, ports and TCP flags. */
function packets(capture: Uint8Array): Labelled[] {
  const read = readCapture(capture);
  if (!read.ok || read.value.format !== 'pcap') throw new Error('unreadable capture');
  return read.value.records
    .map((record) => record.data)
    .filter((frame) => frame[0] >> 4 === 6 && (frame[6] === 6 || frame[6] === 17))
    .map((frame) => ({
      label: ((frame[1] & 0x0f) << 16) | (frame[2] << 8) | frame[3],
      source: [...frame.subarray(8, 24)].map((byte) => byte.toString(16).padStart(2, '0')).join(''),
      sourcePort: (frame[40] << 8) | frame[41],
      destinationPort: (frame[42] << 8) | frame[43],
      nextHeader: frame[6],
      flags: frame[6] === 6 ? frame[53] : 0,
    }));
}

function setup(seed = 7) {
  const net = new VirtualNetwork(seed);
  const a = net.createStack('a');
  const b = net.createStack('b');
  const wire = net.connect(
    { stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64', capture: true },
    { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' },
  );
  return { net, a, b, tap: wire.a.tap! };
}

const OURS = [...parseIpv6Address('fd00::1')!].map((byte) => byte.toString(16).padStart(2, '0')).join('');

describe('automatic flow labels kept per flow (RFC 6437 §3)', () => {
  it('a connected UDP socket labels its datagrams once (until the next connect); sendto elsewhere and unconnected sockets are labelled per datagram, alike for the same flow', async () => {
    const world = setup();
    const { net, a, b, tap } = world;
    const sink = b.udp.open(6);
    expect(sink.bind('::', 5000).ok).toBe(true);
    const other = b.udp.open(6);
    expect(other.bind('::', 5001).ok).toBe(true);
    const hashes = vi.spyOn(a.ip6.flowLabels, 'label');
    const connected = a.udp.open(6);
    expect(connected.connect('fd00::2', 5000).ok).toBe(true);
    expect(connected.flowLabel).toBe(null);
    for (let i = 0; i < 5; i++) expect(connected.send(new Uint8Array([i])).ok).toBe(true);
    expect(hashes).toHaveBeenCalledTimes(1);
    const label = connected.flowLabel!;
    expect(label).toBeGreaterThan(0);
    // sendto another port on the connected socket: that flow's own label, hashed per datagram.
    expect(connected.send(new Uint8Array([9]), 'fd00::2', 5001).ok).toBe(true);
    // An unconnected socket from the same port cannot exist; one from another port: its own label.
    const unconnected = a.udp.open(6);
    expect(unconnected.send(new Uint8Array([1]), 'fd00::2', 5000).ok).toBe(true);
    expect(unconnected.send(new Uint8Array([2]), 'fd00::2', 5000).ok).toBe(true);
    net.runUntilIdle();
    const datagrams = packets(tap.toBytes()).filter((packet) => packet.source === OURS && packet.nextHeader === 17);
    const connectedFlow = datagrams.filter((packet) => packet.sourcePort === connected.localPort && packet.destinationPort === 5000);
    expect(connectedFlow.map((packet) => packet.label)).toEqual([label, label, label, label, label]);
    const elsewhere = datagrams.find((packet) => packet.sourcePort === connected.localPort && packet.destinationPort === 5001)!;
    expect(elsewhere.label).not.toBe(label);
    const unconnectedLabels = datagrams.filter((packet) => packet.sourcePort === unconnected.localPort).map((packet) => packet.label);
    expect(unconnectedLabels).toHaveLength(2);
    expect(unconnectedLabels[0]).toBe(unconnectedLabels[1]);
    expect(unconnectedLabels[0]).not.toBe(label);
    // The connected flow's label is its stateless hash: a datagram of that flow labelled by the
    // IPv6 layer (connected to another peer, then sendto back) carries the same.
    expect(connected.connect('fd00::2', 5001).ok).toBe(true);
    expect(connected.flowLabel).toBe(null);
    expect(connected.send(new Uint8Array([7]), 'fd00::2', 5000).ok).toBe(true);
    net.runUntilIdle();
    const last = packets(tap.toBytes())
      .filter((packet) => packet.source === OURS && packet.nextHeader === 17)
      .at(-1)!;
    expect([last.destinationPort, last.label]).toEqual([5000, label]);
    connected.close();
    unconnected.close();
    sink.close();
    other.close();
  });
});
