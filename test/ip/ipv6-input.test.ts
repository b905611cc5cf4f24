import { describe, expect, it } from 'vitest';
import { buildIcmpv6Packet } from '../../src/ip/icmpv6-layer.js';
import { Icmpv6Packet, parseIcmpv6, type Icmpv6Repr } from '../../src/ip/icmpv6.js';
import { parseIpv6Address, parseIpv6Cidr, type Ipv6Address } from '../../src/ip/ipv6-address.js';
import { emitIpv6ExtensionHeaders, firstNextHeader, type Ipv6ExtensionHeader } from '../../src/ip/ipv6-extension-headers.js';
import { emitIpv6, IPV6_HEADER_LENGTH, Ipv6NextHeader, Ipv6Packet } from '../../src/ip/ipv6.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { emitUdp } from '../../src/udp/udp-packet.js';
import { attachRawPeer, drive, type RawPeer } from '../support/raw-peer.js';

const PEER = parseIpv6Address('fd00::1')!;
const HOST = parseIpv6Address('fd00::2')!;

/** An IPv6 packet from `source` to `destination`: the extension headers, then `upper` of protocol `nextHeader`. */
function ipv6Packet(nextHeader: number, upper: Uint8Array, headers: readonly Ipv6ExtensionHeader[] = [], source = PEER, destination = HOST): Uint8Array {
  const chain = new Uint8Array(512);
  const chainLength = emitIpv6ExtensionHeaders(headers, nextHeader, chain);
  const packet = new Uint8Array(IPV6_HEADER_LENGTH + chainLength + upper.length);
  emitIpv6(
    {
      dscp: 0,
      ecn: 0,
      flowLabel: 0,
      payloadLength: chainLength + upper.length,
      nextHeader: firstNextHeader(headers, nextHeader),
      hopLimit: 64,
      source,
      destination,
    },
    packet,
  );
  packet.set(chain.subarray(0, chainLength), IPV6_HEADER_LENGTH);
  packet.set(upper, IPV6_HEADER_LENGTH + chainLength);
  return packet;
}

function udp(sourcePort: number, destinationPort: number, payload: Uint8Array, source = PEER, destination = HOST): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  emitUdp({ sourcePort, destinationPort, payload }, out, { source, destination });
  return out;
}

function icmp(repr: Icmpv6Repr, source = PEER, destination = HOST): Uint8Array {
  return buildIcmpv6Packet(source, destination, repr).subarray(IPV6_HEADER_LENGTH);
}

/** Splits `upper` (protocol `nextHeader`) into fragments of `size` bytes (a multiple of 8 but the last) with Identification `id`. */
function fragments(nextHeader: number, upper: Uint8Array, size: number, id: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < upper.length; offset += size) {
    const piece = upper.subarray(offset, offset + size);
    const more = offset + size < upper.length;
    out.push(
      ipv6Packet(nextHeader, piece, [{ kind: 'fragment', reserved: 0, fragmentOffset: offset, reservedBits: 0, moreFragments: more, identification: id }]),
    );
  }
  return out;
}

/** The ICMPv6 messages the host sent, decoded. */
function icmpSent(peer: RawPeer): Icmpv6Repr[] {
  const out: Icmpv6Repr[] = [];
  for (const { frame } of peer.take()) {
    const packet = Ipv6Packet.checked(frame);
    if (!packet.ok || packet.value.nextHeader !== Ipv6NextHeader.ICMPV6) continue;
    const message = Icmpv6Packet.checked(packet.value.payload);
    if (!message.ok) continue;
    const parsed = parseIcmpv6(message.value, { source: packet.value.source, destination: packet.value.destination });
    if (parsed.ok) out.push(parsed.value);
  }
  return out;
}

function host(options: { memoryLimit?: number } = {}) {
  const net = new VirtualNetwork(3);
  const stack = net.createStack(
    'host',
    options.memoryLimit ? { ip: { reassembly: { timeoutMs: 30_000, memoryLimit: options.memoryLimit, maxFragmentsPerDatagram: 128 } } } : {},
  );
  const peer = attachRawPeer(net, stack, '10.0.0.2/24');
  stack.ip6.addAddress('eth0', parseIpv6Cidr('fd00::2/64')!);
  const socket = stack.udp.open(6);
  socket.bind('::', 9000);
  return { net, stack, peer, socket };
}

const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + 5) & 0xff);

describe('IPv6 input (RFC 8200 §4)', () => {
  it('delivers a UDP datagram reassembled from fragments in any order (§4.5)', () => {
    const { net, stack, peer, socket } = host();
    const data = pattern(2000);
    const pieces = fragments(Ipv6NextHeader.UDP, udp(1, 9000, data), 512, 77);
    for (const piece of [pieces[3], pieces[1], pieces[0], pieces[2]]) peer.send(piece);
    drive(net, [peer]);
    expect(socket.receive()?.payload).toEqual(data);
    expect(stack.stats.get('ipv6.rx.fragments')).toBe(4);
    expect(stack.stats.get('ipv6.rx.reassembled')).toBe(1);
  });

  it('an overlapping fragment discards the whole packet (RFC 5722 §4); an exact duplicate is dropped alone', () => {
    const { net, stack, peer, socket } = host();
    const whole = udp(1, 9000, pattern(1000));
    const pieces = fragments(Ipv6NextHeader.UDP, whole, 512, 1);
    // Overlap: a second first piece of 520 bytes runs into the 512 already held.
    const overlapping = fragments(Ipv6NextHeader.UDP, whole.subarray(0, 520), 520, 1)[0];
    overlapping[IPV6_HEADER_LENGTH + 3] |= 1; // M set: more follow
    peer.send(pieces[0]);
    peer.send(fragments(Ipv6NextHeader.UDP, whole, 8, 1)[1]); // offset 8, 8 bytes: inside the first
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv6.fragmentOverlap')).toBe(1);
    peer.send(pieces[1]);
    drive(net, [peer]);
    expect(socket.receive()).toBeNull(); // the packet was discarded with its first piece

    const again = fragments(Ipv6NextHeader.UDP, whole, 512, 2);
    peer.send(again[0]);
    peer.send(again[0]);
    peer.send(again[1]);
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv6.fragmentDuplicate')).toBe(1);
    expect(socket.receive()?.payload).toEqual(pattern(1000));
    expect(overlapping.length).toBeGreaterThan(0);
  });

  it('gives up after 60 s, not 30, with Time Exceeded code 1 when the first fragment came (§4.5)', () => {
    const { net, stack, peer } = host();
    const pieces = fragments(Ipv6NextHeader.UDP, udp(1, 9000, pattern(1000)), 512, 9);
    peer.send(pieces[0]);
    drive(net, [peer], 59_000);
    expect(stack.ip6.reassembler.pending).toBe(1);
    drive(net, [peer]);
    expect(stack.ip6.reassembler.pending).toBe(0);
    expect(stack.stats.get('drop.ipv6.reassemblyTimeout')).toBe(1);
    const sent = icmpSent(peer);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ kind: 'timeExceeded', code: 1 });
    // Only a packet whose first fragment arrived earns one.
    peer.send(pieces[1]);
    drive(net, [peer]);
    expect(icmpSent(peer)).toHaveLength(0);
  });

  it('IPv4 and IPv6 fragments share one reassembly budget', () => {
    const { net, stack, peer } = host({ memoryLimit: 3000 });
    for (let id = 1; id <= 4; id++) peer.send(fragments(Ipv6NextHeader.UDP, udp(1, 9000, pattern(1600)), 1024, id)[0]);
    drive(net, [peer], 1000);
    expect(stack.stats.get('drop.ipv6.reassemblyMemoryFull')).toBeGreaterThan(0);
    expect(stack.ip.reassemblyMemory.inUse).toBeLessThanOrEqual(3000);
    expect(stack.ip6.reassembler.memory).toBe(stack.ip.reassemblyMemory.inUse);
  });

  it('an unknown Next Header earns Parameter Problem code 1 pointing at the field that names it', () => {
    const { net, stack, peer } = host();
    peer.send(ipv6Packet(253, pattern(8)));
    peer.send(ipv6Packet(253, pattern(8), [{ kind: 'destinationOptions', options: [] }]));
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv6.unknownNextHeader')).toBe(2);
    expect(icmpSent(peer)).toMatchObject([
      { kind: 'parameterProblem', code: 1, pointer: 6 },
      { kind: 'parameterProblem', code: 1, pointer: 40 },
    ]);
  });

  it('an unrecognized option of type 10xxxxxx earns Parameter Problem code 2 — but never about an ICMPv6 error (RFC 4443 §2.4(e))', () => {
    const { net, stack, peer } = host();
    const unknown: Ipv6ExtensionHeader = { kind: 'destinationOptions', options: [{ type: 0x8f, data: new Uint8Array(2) }] };
    peer.send(ipv6Packet(Ipv6NextHeader.ICMPV6, icmp({ kind: 'echoRequest', identifier: 1, sequence: 1, data: pattern(8) }), [unknown]));
    peer.send(ipv6Packet(Ipv6NextHeader.ICMPV6, icmp({ kind: 'destinationUnreachable', code: 4, quoted: pattern(48) }), [unknown]));
    drive(net, [peer]);
    expect(icmpSent(peer)).toMatchObject([{ kind: 'parameterProblem', code: 2, pointer: 42 }]);
    expect(stack.stats.get('icmpv6.error.notSent.aboutIcmpError')).toBe(1);
  });

  it('port unreachables to one source are rate-limited: a burst of 6, then one a second (RFC 4443 §2.4(f))', () => {
    const { net, stack, peer } = host();
    for (let i = 0; i < 20; i++) peer.send(ipv6Packet(Ipv6NextHeader.UDP, udp(1, 4000 + i, pattern(4))));
    drive(net, [peer], 100);
    expect(icmpSent(peer).filter((m) => m.kind === 'destinationUnreachable' && m.code === 4)).toHaveLength(6);
    expect(stack.stats.get('icmpv6.error.notSent.rateLimited')).toBe(14);
  });

  it('drops ::1 and IPv4-mapped sources from outside, and multicast it did not join', () => {
    const { net, stack, peer } = host();
    peer.send(ipv6Packet(Ipv6NextHeader.UDP, udp(1, 9000, pattern(4), parseIpv6Address('::1')!), [], parseIpv6Address('::1')!));
    peer.send(ipv6Packet(Ipv6NextHeader.UDP, udp(1, 9000, pattern(4), parseIpv6Address('::ffff:10.0.0.1')!), [], parseIpv6Address('::ffff:10.0.0.1')!));
    peer.send(ipv6Packet(Ipv6NextHeader.UDP, udp(1, 9000, pattern(4), PEER, parseIpv6Address('ff02::1234')!), [], PEER, parseIpv6Address('ff02::1234')!));
    peer.send(ipv6Packet(Ipv6NextHeader.UDP, udp(1, 9000, pattern(4), PEER, parseIpv6Address('fd00::99')!), [], PEER, parseIpv6Address('fd00::99')!));
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv6.martianSource')).toBe(2);
    expect(stack.stats.get('drop.ipv6.multicastNotJoined')).toBe(1);
    expect(stack.stats.get('drop.ipv6.notForUs')).toBe(1);
    expect(peer.take()).toEqual([]);
  });

  it('a UDP datagram with a zero checksum is refused over IPv6 (RFC 8200 §8.1)', () => {
    const { net, stack, peer, socket } = host();
    const datagram = udp(1, 9000, pattern(4));
    datagram[6] = 0;
    datagram[7] = 0;
    peer.send(ipv6Packet(Ipv6NextHeader.UDP, datagram));
    drive(net, [peer]);
    expect(stack.stats.get('drop.udp.badChecksum')).toBe(1);
    expect(socket.receive()).toBeNull();
  });
});

describe('path MTU discovery (RFC 8201) through a router with a 1280-byte link', () => {
  function routed() {
    const net = new VirtualNetwork(5);
    const a = net.createStack('a');
    const router = net.createStack('router', { ipv6: { forwarding: true } });
    const b = net.createStack('b');
    net.connect({ stack: a, address: '10.1.0.1/24', address6: 'fd00:1::1/64' }, { stack: router, address: '10.1.0.254/24', address6: 'fd00:1::fe/64' });
    net.connect({ stack: router, address: '10.2.0.254/24', address6: 'fd00:2::fe/64' }, { stack: b, address: '10.2.0.2/24', address6: 'fd00:2::2/64' });
    router.addRoute('fd00:2::/64', { interfaceName: 'eth1', mtu: 1280 });
    a.addRoute('::/0', { via: 'fd00:1::fe' });
    b.addRoute('::/0', { via: 'fd00:2::fe' });
    return { net, a, router, b };
  }

  it('a ping6 too big for the 1280 link earns Packet Too Big; the next goes in fragments and is answered', () => {
    const { net, a, router } = routed();
    const replies: number[] = [];
    a.icmp6.onEchoReply((reply) => replies.push(reply.sequence));
    a.ping6('fd00:2::2', 1, 1, pattern(1400));
    net.run(1000); // not until idle: the learned MTU's 10-minute expiry is a deadline too
    expect(router.stats.get('drop.ipv6.packetTooBig')).toBe(1);
    expect(a.stats.get('ipv6.pmtu.lowered')).toBe(1);
    expect(a.ip6.mtuTo(parseIpv6Address('fd00:2::2')!)).toBe(1280);
    expect(replies).toEqual([]);
    a.ping6('fd00:2::2', 1, 2, pattern(1400));
    net.run(1000);
    expect(replies).toEqual([2]);
    expect(router.stats.get('ipv6.forwarded')).toBe(3); // the request's two fragments, the reply whole (1500 on its way back)
  });

  it('a Packet Too Big below 1280 is taken as 1280 (RFC 8201 §4)', () => {
    const { a } = routed();
    const to: Ipv6Address = parseIpv6Address('fd00:2::2')!;
    a.ip6.updatePathMtu(to, 600, 0);
    expect(a.ip6.mtuTo(to)).toBe(1280);
  });

  it('TCP lowers its MSS on Packet Too Big and the transfer completes', async () => {
    const { net, a, b } = routed();
    const server = b.net.createServer();
    const received: Buffer[] = [];
    server.on('connection', (socket) => socket.on('data', (chunk: Buffer) => received.push(chunk)));
    await net.runAsync(new Promise<void>((resolve) => server.listen(80, '::', resolve)));
    const data = Buffer.from(pattern(100_000));
    await net.runAsync(
      new Promise<void>((resolve, reject) => {
        const socket = a.net.connect({ host: 'fd00:2::2', port: 80 }, () => socket.end(data));
        socket.on('error', reject);
        socket.on('close', () => resolve());
      }),
    );
    await net.runAsync(async () => {
      while (Buffer.concat(received).length < data.length) await new Promise((r) => setImmediate(r));
    });
    expect(Buffer.compare(Buffer.concat(received), data)).toBe(0);
    expect(a.stats.get('tcp.pmtu.mssLowered')).toBe(1);
    expect(a.ip6.mtuTo(parseIpv6Address('fd00:2::2')!)).toBe(1280);
  });
});
