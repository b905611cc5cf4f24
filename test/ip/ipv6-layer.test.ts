import { describe, expect, it } from 'vitest';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { Icmpv6EchoReply } from '../../src/ip/icmpv6-layer.js';
import { formatIpv6Address, parseIpv6Address } from '../../src/ip/ipv6-address.js';
import { Ipv6NextHeader } from '../../src/ip/ipv6.js';
import type { Link } from '../../src/link/link.js';
import { Stack } from '../../src/socket-api/stack.js';

function twoStacks(options: { mtu?: number } = {}) {
  const net = new VirtualNetwork(7);
  const a = net.createStack('a');
  const b = net.createStack('b');
  const wire = net.connect(
    { stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64', capture: true },
    { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' },
    { mtu: options.mtu },
  );
  return { net, a, b, wire };
}

describe('IPv6 layer on the virtual network', () => {
  it('answers ping6 (RFC 4443 §4.2): the reply returns identifier, sequence and data from the address asked', () => {
    const { net, a, b } = twoStacks();
    const replies: Icmpv6EchoReply[] = [];
    a.icmp6.onEchoReply((reply) => replies.push(reply));
    const data = Uint8Array.from({ length: 56 }, (_, i) => i);
    expect(a.ping6('fd00::2', 0x1234, 1, data)).toBe(true);
    net.runUntilIdle();
    expect(replies).toHaveLength(1);
    expect(formatIpv6Address(replies[0].source)).toBe('fd00::2');
    expect(replies[0].identifier).toBe(0x1234);
    expect(replies[0].sequence).toBe(1);
    expect(replies[0].data).toEqual(data);
    expect(b.stats.get('icmpv6.tx.echoReplies')).toBe(1);
  });

  it('fragments a ping6 larger than the MTU and reassembles it (RFC 8200 §4.5)', () => {
    const { net, a, b } = twoStacks();
    const replies: Icmpv6EchoReply[] = [];
    a.icmp6.onEchoReply((reply) => replies.push(reply));
    const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
    a.ping6('fd00::2', 1, 1, data);
    net.runUntilIdle();
    expect(replies).toHaveLength(1);
    expect(replies[0].data).toEqual(data);
    expect(a.stats.get('ipv6.tx.fragments')).toBe(3);
    expect(b.stats.get('ipv6.rx.reassembled')).toBe(1);
    expect(b.stats.get('ipv6.tx.fragments')).toBe(3);
    expect(a.stats.get('ipv6.rx.reassembled')).toBe(1);
  });

  it("shares the interface's transmit queue with IPv4, each family counting its own packets and drops (ENOBUFS)", () => {
    const frames: Uint8Array[] = [];
    const link: Link = {
      name: 'q0',
      medium: 'ip',
      mtu: 1500,
      transmitQueueLimit: 2,
      transmit: (frame) => frames.push(frame),
      setReceiver: () => {},
      pollAt: () => Infinity,
      poll: () => {},
    };
    const host = new Stack({ name: 'host', seed: 5, loopback: false });
    host.addInterface({ name: 'q0', link, address: '10.0.0.1/24', address6: 'fd00::1/64' });
    const sendIpv6 = () => host.ip6.send({ destination: parseIpv6Address('fd00::2')!, nextHeader: Ipv6NextHeader.NO_NEXT_HEADER }, 0, () => {}, 0);
    expect(host.ip.send({ destination: 0x0a000002, protocol: 253 }, 4, () => {}, 0).ok).toBe(true);
    expect(sendIpv6().ok).toBe(true);
    expect(sendIpv6()).toEqual({ ok: false, error: 'ENOBUFS' });
    expect(host.stats.get('ipv6.tx.packets')).toBe(1);
    expect(host.stats.get('ipv4.tx.packets')).toBe(1);
    expect(host.stats.get('drop.ipv6.transmitQueueFull')).toBe(1);
    expect(host.stats.get('drop.ipv4.transmitQueueFull')).toBe(0);
    host.poll(0);
    expect(frames.map((frame) => frame[0] >> 4)).toEqual([4, 6]);
  });

  it('pings its own addresses and ::1 over the loopback', () => {
    const { net, a } = twoStacks();
    const replies: Icmpv6EchoReply[] = [];
    a.icmp6.onEchoReply((reply) => replies.push(reply));
    a.ping6('::1', 1, 1);
    a.ping6('fd00::1', 1, 2);
    net.runUntilIdle();
    expect(replies.map((r) => formatIpv6Address(r.source))).toEqual(['::1', 'fd00::1']);
  });

  it('gives each interface a link-local address and answers ping6 on it', () => {
    const { net, a, b } = twoStacks();
    const linkLocal = b.ip6.addresses('eth0').find((entry) => entry.cidr.address[0] === 0xfe)!;
    expect(linkLocal.cidr.prefixLength).toBe(64);
    const replies: Icmpv6EchoReply[] = [];
    a.icmp6.onEchoReply((reply) => replies.push(reply));
    a.ping6(formatIpv6Address(linkLocal.cidr.address), 1, 1);
    net.runUntilIdle();
    expect(replies).toHaveLength(1);
  });
});
