/**
 * A route MTU below IPv6's 1280 (`ip -6 route … mtu lock 660`): taken, as Linux takes it, and
 * honoured by IPv6 fragmentation and TCP's MSS (src/ip/ipv6-routes.ts, ROUTE_MTU_FLOOR says why
 * RFC 8200 §5's 1280 does not forbid it). packetdrill's mtu_probe/basic-v6.pkt relies on it.
 */
import { describe, expect, it } from 'vitest';
import { ROUTE_MTU_FLOOR } from '../../src/ip/ipv6-routes.js';
import type { Icmpv6EchoReply } from '../../src/ip/icmpv6-layer.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

function twoStacks() {
  const net = new VirtualNetwork(11);
  const a = net.createStack('a');
  const b = net.createStack('b');
  net.connect({ stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64' }, { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' });
  return { net, a, b };
}

describe('IPv6 route MTU below 1280', () => {
  it('is taken and caps what leaves: a 1000-byte ping6 goes in fragments of at most 660 bytes', () => {
    const { net, a, b } = twoStacks();
    a.addRoute('fd00::2/128', { interfaceName: 'eth0', mtu: 660 });
    expect(a.ip6.mtuTo(Uint8Array.from([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]))).toBe(660);
    const replies: Icmpv6EchoReply[] = [];
    a.icmp6.onEchoReply((reply) => replies.push(reply));
    const data = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    a.ping6('fd00::2', 1, 1, data);
    net.runUntilIdle();
    expect(replies).toHaveLength(1);
    expect(replies[0].data).toEqual(data);
    // 8 ICMPv6 + 1000 data = 1008 octets in fragments of (660 − 40 − 8) & ~7 = 608: two.
    expect(a.stats.get('ipv6.tx.fragments')).toBe(2);
    expect(b.stats.get('ipv6.rx.reassembled')).toBe(1);
    // b has no such route: its reply (1048 octets) fits its 1500-byte link whole.
    expect(b.stats.get('ipv6.tx.fragments') ?? 0).toBe(0);
  });

  it('sets the MSS TCP offers: 660 − 40 − 20 = 600', async () => {
    const { net, a, b } = twoStacks();
    a.addRoute('fd00::2/128', { interfaceName: 'eth0', mtu: 660 });
    const server = b.net.createServer();
    server.listen(80, '::');
    const client = a.net.connect({ host: 'fd00::2', port: 80 });
    // The drop-ins defer to Node's event loop: let it turn between runs of the network.
    for (let i = 0; i < 10 && !client.ustackConnection; i++) {
      net.runUntilIdle();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(client.ustackConnection?.advertisedMss).toBe(600);
    client.destroy();
    server.close();
    net.runUntilIdle();
  });

  it(`refuses one below ${ROUTE_MTU_FLOOR}, too small for even an IPv6 fragment`, () => {
    const { a } = twoStacks();
    expect(() => a.addRoute('fd00::2/128', { interfaceName: 'eth0', mtu: ROUTE_MTU_FLOOR - 1 })).toThrow(/below 56/);
    expect(() => a.addRoute('fd00::2/128', { interfaceName: 'eth0', mtu: ROUTE_MTU_FLOOR })).not.toThrow();
  });
});
