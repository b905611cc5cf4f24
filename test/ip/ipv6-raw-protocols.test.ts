/**
 * Raw AF_INET6 sockets of protocols other than ICMPv6 (RFC 3542 §3): the payload sent as is
 * under the socket's Next Header, and received without the IPv6 header, by every raw socket of
 * that protocol; a host with one for an upper layer it does not otherwise serve answers no
 * Parameter Problem (as Linux's raw6_local_deliver), one without does (RFC 8200 §4).
 */
import { describe, expect, it } from 'vitest';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

/** RFC 3692's experimental protocol number. */
const EXPERIMENT = 253;

function pair() {
  const net = new VirtualNetwork(51);
  const a = net.createStack('a');
  const b = net.createStack('b');
  net.connect({ stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64' }, { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' });
  return { net, a, b, client: new BerkeleySockets(a), server: new BerkeleySockets(b) };
}

describe('raw AF_INET6 sockets of other protocols (RFC 3542 §3)', () => {
  it('a payload of protocol 253 crosses as is, both ways; only sockets of 253 get it; no Parameter Problem while one is open', async () => {
    const { net, b, client, server } = pair();
    const sender = client.socket(C.AF_INET6, C.SOCK_RAW, EXPERIMENT);
    const receiver = server.socket(C.AF_INET6, C.SOCK_RAW, EXPERIMENT);
    const other = server.socket(C.AF_INET6, C.SOCK_RAW, 254);
    const payload = Uint8Array.of(1, 2, 3, 4, 5, 6, 7);
    expect(await client.sendto(sender, payload, { address: 'fd00::2', port: 0 })).toBe(7);
    const got = await net.runAsync(server.recvfrom(receiver, 100));
    expect([got.address, [...got.data]]).toEqual(['fd00::1', [...payload]]);
    await server.sendto(receiver, Uint8Array.of(9, 9), { address: got.address, port: 0 });
    const back = await net.runAsync(client.recvfrom(sender, 100));
    expect([back.address, [...back.data]]).toEqual(['fd00::2', [9, 9]]);
    net.runUntilIdle();
    expect(server.ioctl(other, C.FIONREAD)).toBe(0);
    expect(b.stats.get('drop.ipv6.unknownNextHeader')).toBe(0);

    // Closed: 253 is an unknown Next Header again, answered with Parameter Problem code 1.
    server.close(receiver);
    await client.sendto(sender, payload, { address: 'fd00::2', port: 0 });
    net.runUntilIdle();
    expect(b.stats.get('drop.ipv6.unknownNextHeader')).toBe(1);
    expect(b.stats.get('icmpv6.tx.errors')).toBe(1);
  });
});
