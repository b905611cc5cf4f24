/**
 * Raw AF_INET6 sockets: IPV6_CHECKSUM (RFC 3542 §3.1) — the stack computes the checksum at the
 * given offset over the pseudo-header when sending and drops what fails it on receipt — and whole
 * packets under IPV6_HDRINCL (on from the start for IPPROTO_RAW, settable on the others, as Linux
 * 4.5+), which go out as given and are never fragmented. Checksums here are summed by the test's
 * own code (RFC 1071 over RFC 8200 §8.1's pseudo-header), not the stack's.
 */
import { describe, expect, it } from 'vitest';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { errnoOf } from '../support/errno.js';

/** RFC 3692's experimental protocol number. */
const EXPERIMENT = 253;
const A = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

function pair() {
  const net = new VirtualNetwork(52);
  const a = net.createStack('a');
  const b = net.createStack('b');
  net.connect({ stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64' }, { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' });
  return { net, a, b, client: new BerkeleySockets(a), server: new BerkeleySockets(b) };
}

/** RFC 1071's one's complement sum of the pseudo-header (RFC 8200 §8.1) and `data`, folded. */
function pseudoSum(source: number[], destination: number[], nextHeader: number, data: Uint8Array): number {
  const bytes = [...source, ...destination, 0, 0, data.length >> 8, data.length & 0xff, 0, 0, 0, nextHeader, ...data];
  if (bytes.length % 2) bytes.push(0);
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** `data` with a correct checksum written at `offset`. */
function withChecksum(data: Uint8Array, offset: number, nextHeader: number): Uint8Array {
  const out = data.slice();
  out[offset] = 0;
  out[offset + 1] = 0;
  const checksum = ~pseudoSum(A, B, nextHeader, out) & 0xffff;
  out[offset] = checksum >> 8;
  out[offset + 1] = checksum & 0xff;
  return out;
}

/** A whole IPv6 packet from fd00::1 port 4000 to fd00::2 port 5000 carrying UDP `data`. */
function udpPacket(data: Uint8Array): Uint8Array {
  const length = 8 + data.length;
  const udp = new Uint8Array(length);
  udp.set([4000 >> 8, 4000 & 0xff, 5000 >> 8, 5000 & 0xff, length >> 8, length & 0xff, 0, 0]);
  udp.set(data, 8);
  const packet = new Uint8Array(40 + length);
  packet.set([0x60, 0, 0, 0, length >> 8, length & 0xff, 17, 64, ...A, ...B]);
  packet.set(withChecksum(udp, 6, 17), 40);
  return packet;
}

describe('IPV6_CHECKSUM on raw AF_INET6 sockets (RFC 3542 §3.1)', () => {
  it('sending: the peer finds a valid checksum at the offset; getsockopt returns it, -1 turns it off', async () => {
    const { net, client, server } = pair();
    const sender = client.socket(C.AF_INET6, C.SOCK_RAW, EXPERIMENT);
    const receiver = server.socket(C.AF_INET6, C.SOCK_RAW, EXPERIMENT);
    expect(client.getsockopt(sender, C.IPPROTO_IPV6, C.IPV6_CHECKSUM)).toBe(-1);
    client.setsockopt(sender, C.IPPROTO_IPV6, C.IPV6_CHECKSUM, 4);
    expect(client.getsockopt(sender, C.IPPROTO_IPV6, C.IPV6_CHECKSUM)).toBe(4);
    const payload = Uint8Array.of(1, 2, 3, 4, 0xaa, 0xbb, 7, 8, 9);
    await client.sendto(sender, payload, { address: 'fd00::2', port: 0 });
    const got = await net.runAsync(server.recvfrom(receiver, 100));
    expect([...got.data]).toEqual([...withChecksum(payload, 4, EXPERIMENT)]);
    expect(pseudoSum(A, B, EXPERIMENT, got.data)).toBe(0xffff);
    expect((got.data[4] << 8) | got.data[5]).not.toBe(0xaabb);

    // Off again: the payload goes as is.
    client.setsockopt(sender, C.IPPROTO_IPV6, C.IPV6_CHECKSUM, -1);
    expect(client.getsockopt(sender, C.IPPROTO_IPV6, C.IPV6_CHECKSUM)).toBe(-1);
    await client.sendto(sender, payload, { address: 'fd00::2', port: 0 });
    const raw = await net.runAsync(server.recvfrom(receiver, 100));
    expect([...raw.data]).toEqual([...payload]);
  });

  it('receiving: a bad checksum is dropped and counted, a good one taken', async () => {
    const { net, b, client, server } = pair();
    const sender = client.socket(C.AF_INET6, C.SOCK_RAW, EXPERIMENT);
    const receiver = server.socket(C.AF_INET6, C.SOCK_RAW, EXPERIMENT);
    server.setsockopt(receiver, C.IPPROTO_IPV6, C.IPV6_CHECKSUM, 2);
    const good = withChecksum(Uint8Array.of(5, 6, 0, 0, 7, 8), 2, EXPERIMENT);
    const bad = good.slice();
    bad[5] ^= 0x40;
    await client.sendto(sender, bad, { address: 'fd00::2', port: 0 });
    net.runUntilIdle();
    expect(server.ioctl(receiver, C.FIONREAD)).toBe(0);
    expect(b.stats.get('drop.ipv6.rawChecksum')).toBe(1);
    // The socket was there: no Parameter Problem for the Next Header (Linux's raw6_local_deliver).
    expect(b.stats.get('drop.ipv6.unknownNextHeader')).toBe(0);
    await client.sendto(sender, good, { address: 'fd00::2', port: 0 });
    const got = await net.runAsync(server.recvfrom(receiver, 100));
    expect([...got.data]).toEqual([...good]);
    expect(b.stats.get('drop.ipv6.rawChecksum')).toBe(1);
  });

  it('errors as Linux: odd offset EINVAL, ICMPv6 socket EINVAL (getsockopt 2), UDP socket ENOPROTOOPT, field past the payload EINVAL', async () => {
    const { client } = pair();
    const raw = client.socket(C.AF_INET6, C.SOCK_RAW, EXPERIMENT);
    expect(await errnoOf(() => client.setsockopt(raw, C.IPPROTO_IPV6, C.IPV6_CHECKSUM, 3))).toBe('EINVAL');
    expect(client.getsockopt(raw, C.IPPROTO_IPV6, C.IPV6_CHECKSUM)).toBe(-1);
    const icmp = client.socket(C.AF_INET6, C.SOCK_RAW, C.IPPROTO_ICMPV6);
    expect(await errnoOf(() => client.setsockopt(icmp, C.IPPROTO_IPV6, C.IPV6_CHECKSUM, 2))).toBe('EINVAL');
    expect(client.getsockopt(icmp, C.IPPROTO_IPV6, C.IPV6_CHECKSUM)).toBe(2);
    const udp = client.socket(C.AF_INET6, C.SOCK_DGRAM, 0);
    expect(await errnoOf(() => client.setsockopt(udp, C.IPPROTO_IPV6, C.IPV6_CHECKSUM, 2))).toBe('ENOPROTOOPT');
    client.setsockopt(raw, C.IPPROTO_IPV6, C.IPV6_CHECKSUM, 4);
    expect(await errnoOf(() => client.sendto(raw, Uint8Array.of(1, 2, 3, 4, 5), { address: 'fd00::2', port: 0 }))).toBe('EINVAL');
  });
});

describe('whole packets: IPPROTO_RAW and IPV6_HDRINCL', () => {
  it('an IPPROTO_RAW socket sends an IPv6 packet with UDP inside, which the peer UDP socket receives', async () => {
    const { net, client, server } = pair();
    const raw = client.socket(C.AF_INET6, C.SOCK_RAW, C.IPPROTO_RAW);
    expect(client.getsockopt(raw, C.IPPROTO_IPV6, C.IPV6_HDRINCL)).toBe(1);
    const udp = server.socket(C.AF_INET6, C.SOCK_DGRAM, 0);
    server.bind(udp, { address: '::', port: 5000 });
    const packet = udpPacket(new TextEncoder().encode('whole packet'));
    expect(await client.sendto(raw, packet, { address: 'fd00::2', port: 0 })).toBe(packet.length);
    const got = await net.runAsync(server.recvfrom(udp, 100));
    expect([got.address, got.port, new TextDecoder().decode(got.data)]).toEqual(['fd00::1', 4000, 'whole packet']);
    // Less than a header: EINVAL; over the link's MTU (1500): EMSGSIZE, never fragmented.
    expect(await errnoOf(() => client.sendto(raw, packet.subarray(0, 39), { address: 'fd00::2', port: 0 }))).toBe('EINVAL');
    expect(await errnoOf(() => client.sendto(raw, udpPacket(new Uint8Array(1453)), { address: 'fd00::2', port: 0 }))).toBe('EMSGSIZE');
    expect(await client.sendto(raw, udpPacket(new Uint8Array(1452)), { address: 'fd00::2', port: 0 })).toBe(1500);
    const full = await net.runAsync(server.recvfrom(udp, 2000));
    expect(full.data.length).toBe(1452);
  });

  it('IPV6_HDRINCL on an IPPROTO_UDP raw socket sends whole packets; clearing it sends payloads again; a UDP socket has no such option', async () => {
    const { net, client, server } = pair();
    const raw = client.socket(C.AF_INET6, C.SOCK_RAW, C.IPPROTO_UDP);
    expect(client.getsockopt(raw, C.IPPROTO_IPV6, C.IPV6_HDRINCL)).toBe(0);
    client.setsockopt(raw, C.IPPROTO_IPV6, C.IPV6_HDRINCL, 1);
    expect(client.getsockopt(raw, C.IPPROTO_IPV6, C.IPV6_HDRINCL)).toBe(1);
    const udp = server.socket(C.AF_INET6, C.SOCK_DGRAM, 0);
    server.bind(udp, { address: '::', port: 5000 });
    await client.sendto(raw, udpPacket(Uint8Array.of(1, 2, 3)), { address: 'fd00::2', port: 0 });
    const got = await net.runAsync(server.recvfrom(udp, 100));
    expect([got.address, got.port, [...got.data]]).toEqual(['fd00::1', 4000, [1, 2, 3]]);

    // Off: the UDP header and data, the stack's IPv6 header in front, its checksum by IPV6_CHECKSUM.
    client.setsockopt(raw, C.IPPROTO_IPV6, C.IPV6_HDRINCL, 0);
    client.setsockopt(raw, C.IPPROTO_IPV6, C.IPV6_CHECKSUM, 6);
    await client.sendto(
      raw,
      udpPacket(Uint8Array.of(4, 5))
        .subarray(40)
        .map((byte, i) => (i === 6 || i === 7 ? 0 : byte)),
      { address: 'fd00::2', port: 0 },
    );
    const second = await net.runAsync(server.recvfrom(udp, 100));
    expect([second.port, [...second.data]]).toEqual([4000, [4, 5]]);
    expect(await errnoOf(() => server.setsockopt(udp, C.IPPROTO_IPV6, C.IPV6_HDRINCL, 1))).toBe('ENOPROTOOPT');
  });
});
