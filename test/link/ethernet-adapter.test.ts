import { describe, expect, it } from 'vitest';
import { parseIpv4Address, parseIpv4Cidr } from '../../src/ip/address.js';
import { ArpOperation, ArpPacket, emitArp, parseArp } from '../../src/link/arp.js';
import { EthernetAdapter } from '../../src/link/ethernet-adapter.js';
import { emitEthernet, EtherType, EthernetFrame, formatMac, MAC_BROADCAST, parseMac } from '../../src/link/ethernet.js';
import { VirtualWire } from '../../src/link/virtual-wire.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { Link } from '../../src/link/link.js';

const ip = (text: string) => parseIpv4Address(text)!;

/** Records the IPv4 and ARP frames that pass through an Ethernet link: [destination MAC, EtherType] per frame (IPv6's own NDP and MLD traffic is test/ip/ndp*.test.ts's). */
function recorder(inner: Link, log: Array<{ to: string; type: number; frame: Uint8Array }>): Link {
  return {
    name: inner.name,
    medium: inner.medium,
    mtu: inner.mtu,
    transmit(frame, now) {
      const parsed = EthernetFrame.checked(frame);
      if (parsed.ok && parsed.value.etherType !== EtherType.IPV6) log.push({ to: formatMac(parsed.value.destination), type: parsed.value.etherType, frame });
      inner.transmit(frame, now);
    },
    setReceiver: (receiver) => inner.setReceiver(receiver),
    pollAt: () => inner.pollAt(),
    poll: (now) => inner.poll(now),
  };
}

/** Two stacks, A 10.0.0.1 and B 10.0.0.2, on one Ethernet wire with ARP. */
function ethernetPair() {
  const net = new VirtualNetwork(3);
  const a = net.createStack('a');
  const b = net.createStack('b');
  const wire = new VirtualWire({ medium: 'ethernet', latencyMs: 1 });
  const sentByA: Array<{ to: string; type: number; frame: Uint8Array }> = [];
  const adapterA = new EthernetAdapter(recorder(wire.a, sentByA), {
    mac: parseMac('02:00:00:00:00:0a')!,
    address: parseIpv4Cidr('10.0.0.1/24')!,
    nextHop: (destination) => a.ip.routes.lookup(destination)?.gateway ?? destination,
  });
  const adapterB = new EthernetAdapter(wire.b, { mac: parseMac('02:00:00:00:00:0b')!, address: parseIpv4Cidr('10.0.0.2/24')! });
  a.addInterface({ name: 'eth0', link: adapterA, address: '10.0.0.1/24' });
  b.addInterface({ name: 'eth0', link: adapterB, address: '10.0.0.2/24' });
  return { net, a, b, wire, adapterA, adapterB, sentByA };
}

describe('EthernetAdapter: IPv4 over Ethernet with ARP (RFC 826)', () => {
  it('resolves the next hop with one broadcast request, holds the packet meanwhile, and the target learns the asker', () => {
    const { net, a, adapterA, adapterB, sentByA } = ethernetPair();
    const replies: number[] = [];
    a.icmp.onEchoReply((reply) => replies.push(reply.sequence));
    a.ping('10.0.0.2', 1, 1);
    net.runUntilIdle();
    expect(replies).toEqual([1]);
    expect(sentByA[0]).toMatchObject({ to: 'ff:ff:ff:ff:ff:ff', type: EtherType.ARP });
    expect(sentByA[1]).toMatchObject({ to: '02:00:00:00:00:0b', type: EtherType.IPV4 });
    expect(adapterA.counters.arpRequestsSent).toBe(1);
    expect(adapterB.counters.arpRepliesSent).toBe(1);
    // B learned A from the request itself, so its reply needed no request of its own.
    expect(adapterB.counters.arpRequestsSent).toBe(0);
    expect(formatMac(adapterB.lookup(ip('10.0.0.1'))!)).toBe('02:00:00:00:00:0a');
    // Every frame is at least Ethernet's 60 bytes.
    expect(sentByA.every((f) => f.frame.length >= 60)).toBe(true);
  });

  it('gives up after three unanswered requests a second apart and drops what waited (RFC 1122 §2.3.2.2)', () => {
    const { net, a, adapterA } = ethernetPair();
    a.ping('10.0.0.9', 1, 1);
    a.ping('10.0.0.9', 1, 2);
    const start = net.now;
    net.runUntilIdle();
    expect(adapterA.counters.arpRequestsSent).toBe(3);
    expect(adapterA.counters.unresolvedDrops).toBe(2);
    expect(net.now - start).toBeGreaterThanOrEqual(3000);
    expect(adapterA.lookup(ip('10.0.0.9'))).toBe(null);
  });

  it('asks for the gateway, not the destination, when a route goes via one', () => {
    const { net, a, adapterA } = ethernetPair();
    a.addRoute('192.168.0.0/16', { via: '10.0.0.2' });
    a.ping('192.168.1.1', 1, 1);
    net.runUntilIdle();
    expect(formatMac(adapterA.lookup(ip('10.0.0.2'))!)).toBe('02:00:00:00:00:0b');
    expect(adapterA.lookup(ip('192.168.1.1'))).toBe(null);
  });

  it('sends subnet and limited broadcasts to ff:ff:ff:ff:ff:ff without ARP', () => {
    const { net, a, adapterA, sentByA } = ethernetPair();
    const socket = a.udp.open();
    socket.options.broadcast = true;
    socket.send(new Uint8Array([1]), ip('10.0.0.255'), 9);
    net.runUntilIdle();
    expect(adapterA.counters.arpRequestsSent).toBe(0);
    expect(sentByA[0]).toMatchObject({ to: 'ff:ff:ff:ff:ff:ff', type: EtherType.IPV4 });
  });

  it('drops frames for another MAC, and counts ARP claiming our address from another MAC as a conflict', () => {
    const { net, wire, adapterB, b } = ethernetPair();
    const frame = new Uint8Array(60);
    emitEthernet({ destination: parseMac('02:00:00:00:00:99')!, source: parseMac('02:00:00:00:00:0a')!, etherType: EtherType.IPV4, vlan: null }, frame);
    wire.a.transmit(frame, net.now);
    const arp = new Uint8Array(60);
    emitEthernet({ destination: MAC_BROADCAST, source: parseMac('02:00:00:00:00:66')!, etherType: EtherType.ARP, vlan: null }, arp);
    emitArp(
      {
        operation: ArpOperation.REQUEST,
        senderHardwareAddress: parseMac('02:00:00:00:00:66')!,
        senderProtocolAddress: ip('10.0.0.2'),
        targetHardwareAddress: new Uint8Array(6),
        targetProtocolAddress: ip('10.0.0.1'),
      },
      arp.subarray(14),
    );
    wire.a.transmit(arp, net.now);
    net.runUntilIdle();
    expect(adapterB.counters.notForUs).toBe(1);
    expect(adapterB.counters.addressConflicts).toBe(1);
    expect(b.stats.get('ipv4.rx.packets')).toBe(0);
  });

  it('answers a request for its address with a unicast reply carrying its MAC', () => {
    const { wire, adapterB } = ethernetPair();
    const sent: Uint8Array[] = [];
    wire.a.setReceiver((frame) => sent.push(frame));
    const request = new Uint8Array(60);
    emitEthernet({ destination: MAC_BROADCAST, source: parseMac('02:00:00:00:00:0c')!, etherType: EtherType.ARP, vlan: null }, request);
    emitArp(
      {
        operation: ArpOperation.REQUEST,
        senderHardwareAddress: parseMac('02:00:00:00:00:0c')!,
        senderProtocolAddress: ip('10.0.0.3'),
        targetHardwareAddress: new Uint8Array(6),
        targetProtocolAddress: ip('10.0.0.2'),
      },
      request.subarray(14),
    );
    wire.a.transmit(request, 0);
    wire.b.poll(10);
    wire.a.poll(20);
    expect(sent).toHaveLength(1);
    const frame = EthernetFrame.checked(sent[0]);
    expect(frame.ok && formatMac(frame.value.destination)).toBe('02:00:00:00:00:0c');
    const packet = ArpPacket.checked(sent[0].subarray(14));
    if (!packet.ok) throw new Error('the reply is not ARP');
    const reply = parseArp(packet.value);
    expect(reply.ok && reply.value.operation).toBe(ArpOperation.REPLY);
    expect(reply.ok && formatMac(reply.value.senderHardwareAddress)).toBe('02:00:00:00:00:0b');
    expect(adapterB.counters.arpRepliesSent).toBe(1);
  });
});
