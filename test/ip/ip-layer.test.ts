import { describe, expect, it } from 'vitest';
import { parseIpv4Cidr } from '../../src/ip/address.js';
import { Icmpv4Packet, parseIcmpv4, parseQuotedDatagram, type Icmpv4Repr } from '../../src/ip/icmpv4.js';
import type { IcmpErrorReport } from '../../src/ip/icmp-layer.js';
import type { IncomingDatagram } from '../../src/ip/ip-layer.js';
import { Ipv4Packet, IpProtocol, parseIpv4, type Ipv4Repr } from '../../src/ip/ipv4.js';
import type { Link } from '../../src/link/link.js';
import { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { addr, ipv4Frame, pattern, udpFrame } from '../support/packets.js';
import { attachRawPeer, drive } from '../support/raw-peer.js';

/** An unassigned protocol number used as a probe: no handler unless a test registers one. */
const PROBE = 253;

/** Records probe datagrams delivered to a stack and ICMP errors about probes it sent. */
function listen(stack: Stack) {
  const delivered: IncomingDatagram[] = [];
  const errors: IcmpErrorReport[] = [];
  stack.ip.registerProtocol(PROBE, { input: (d) => delivered.push(d) });
  stack.icmp.registerErrorListener(PROBE, { icmpError: (r) => errors.push(r) });
  return { delivered, errors };
}

/** Sends a probe of `length` bytes (a byte pattern) from `stack`. */
function sendProbe(stack: Stack, destination: string, length: number, spec: { ttl?: number; dontFragment?: boolean } = {}) {
  return stack.ip.send({ destination: addr(destination), protocol: PROBE, ...spec }, length, (out) => out.set(pattern(length)), stack.now);
}

/**
 *     a 10.0.0.1 ── eth0 10.0.0.254 [router] 10.0.1.254 eth1 ── 10.0.1.2 b
 * The far link's MTU is `farMtu`.
 */
function threeStacks(farMtu = 1500, seed = 3) {
  const net = new VirtualNetwork(seed);
  const a = net.createStack('a');
  const router = net.createStack('router', { ip: { forwarding: true } });
  const b = net.createStack('b');
  net.connect({ stack: a, address: '10.0.0.1/24' }, { stack: router, address: '10.0.0.254/24' }, { latencyMs: 1 });
  net.connect({ stack: router, address: '10.0.1.254/24' }, { stack: b, address: '10.0.1.2/24' }, { latencyMs: 1, mtu: farMtu });
  a.addRoute('default', { via: '10.0.0.254' });
  b.addRoute('default', { via: '10.0.1.254' });
  return { net, a, router, b, atA: listen(a), atB: listen(b) };
}

function decodeIpv4(frame: Uint8Array): { repr: Ipv4Repr; payload: Uint8Array } {
  const packet = Ipv4Packet.checked(frame);
  if (!packet.ok) throw new Error(packet.error.message);
  const repr = parseIpv4(packet.value);
  if (!repr.ok) throw new Error(repr.error.message);
  return { repr: repr.value, payload: packet.value.payload };
}

function decodeIcmp(frame: Uint8Array): { ip: Ipv4Repr; icmp: Icmpv4Repr } {
  const { repr, payload } = decodeIpv4(frame);
  const packet = Icmpv4Packet.checked(payload);
  if (!packet.ok) throw new Error(packet.error.message);
  const icmp = parseIcmpv4(packet.value);
  if (!icmp.ok) throw new Error(icmp.error.message);
  return { ip: repr, icmp: icmp.value };
}

describe('forwarding through a router (RFC 1812 §5)', () => {
  it('forwards a datagram from host to host, decrementing TTL by one', () => {
    const { net, a, router, atB } = threeStacks();
    expect(sendProbe(a, '10.0.1.2', 100, { ttl: 9 }).ok).toBe(true);
    net.runUntilIdle();
    expect(atB.delivered).toHaveLength(1);
    expect(atB.delivered[0].header.ttl).toBe(8);
    expect(atB.delivered[0].header.source).toBe(addr('10.0.0.1'));
    expect(atB.delivered[0].payload).toEqual(pattern(100));
    expect(router.stats.get('ipv4.forwarded')).toBe(1);
    expect(router.stats.sum('drop.')).toBe(0);
  });

  it('TTL 1 is not forwarded: Time Exceeded code 0 goes back to the sender (RFC 1812 §5.3.1)', () => {
    const { net, a, router, atA, atB } = threeStacks();
    sendProbe(a, '10.0.1.2', 40, { ttl: 1 });
    net.runUntilIdle();
    expect(atB.delivered).toHaveLength(0);
    expect(router.stats.get('drop.ipv4.ttlExceeded')).toBe(1);
    expect(router.stats.get('icmp.tx.timeExceeded')).toBe(1);
    expect(atA.errors).toHaveLength(1);
    const report = atA.errors[0];
    expect(report.kind).toBe('timeExceeded');
    expect(report.code).toBe(0);
    expect(report.reporter).toBe(addr('10.0.0.254'));
    expect(report.quoted.destination).toBe(addr('10.0.1.2'));
    expect(report.quoted.header[8]).toBe(1); // quoted as received, TTL 1
    expect(report.quoted.payload).toEqual(pattern(40));
  });

  it('TTL 0 is not forwarded either', () => {
    const { net, a, router, atA } = threeStacks();
    sendProbe(a, '10.0.1.2', 8, { ttl: 0 });
    net.runUntilIdle();
    expect(router.stats.get('drop.ipv4.ttlExceeded')).toBe(1);
    expect(atA.errors.map((e) => e.kind)).toEqual(['timeExceeded']);
  });

  it('a host accepts a datagram addressed to it whatever its TTL (RFC 1122 §3.2.1.7)', () => {
    const { net, a, atB } = threeStacks();
    const peer = attachRawPeer(net, a, '192.168.9.1/24', { interfaceName: 'raw' });
    peer.send(ipv4Frame({ source: addr('192.168.9.2'), destination: addr('192.168.9.1'), protocol: PROBE, ttl: 0 }, pattern(4)));
    drive(net, [peer]);
    expect(atB.delivered).toHaveLength(0);
    expect(a.stats.get('ipv4.rx.delivered')).toBe(1);
  });

  it('DF and a smaller MTU on the far link: Fragmentation Needed with that next-hop MTU (RFC 1191 §4)', () => {
    const { net, a, router, atA, atB } = threeStacks(576);
    expect(sendProbe(a, '10.0.1.2', 1000, { dontFragment: true }).ok).toBe(true);
    net.runUntilIdle();
    expect(atB.delivered).toHaveLength(0);
    expect(router.stats.get('drop.ipv4.fragmentationNeeded')).toBe(1);
    expect(atA.errors).toHaveLength(1);
    expect(atA.errors[0]).toMatchObject({ kind: 'destinationUnreachable', code: 4, nextHopMtu: 576, reporter: addr('10.0.0.254') });
  });

  it('a route MTU lower than the interface MTU is the next-hop MTU reported', () => {
    const { net, a, router, atA } = threeStacks();
    router.addRoute('10.0.1.2/32', { interfaceName: 'eth1', mtu: 1280 });
    sendProbe(a, '10.0.1.2', 1400, { dontFragment: true });
    net.runUntilIdle();
    expect(atA.errors[0]).toMatchObject({ code: 4, nextHopMtu: 1280 });
    expect(router.stats.get('drop.ipv4.fragmentationNeeded')).toBe(1);
  });

  it('DF clear: the router fragments for the far link and the host reassembles', () => {
    const { net, a, router, b, atB } = threeStacks(576);
    sendProbe(a, '10.0.1.2', 1400);
    net.runUntilIdle();
    expect(atB.delivered).toHaveLength(1);
    expect(atB.delivered[0].payload).toEqual(pattern(1400));
    expect(b.stats.get('ipv4.rx.fragments')).toBe(3);
    expect(b.stats.get('ipv4.rx.reassembled')).toBe(1);
    expect(router.stats.get('link.eth1.tx.frames')).toBe(3);
  });

  it('fragments of fragments: a datagram already fragmented by the sender is cut again, offsets intact', () => {
    const { net, a, router, b, atB } = threeStacks(576);
    sendProbe(a, '10.0.1.2', 4000);
    net.runUntilIdle();
    expect(a.stats.get('ipv4.tx.fragments')).toBe(3);
    expect(router.stats.get('ipv4.forwarded')).toBe(3);
    // 1480 → 552 + 552 + 376, twice; 1040 → 552 + 488.
    expect(b.stats.get('ipv4.rx.fragments')).toBe(8);
    expect(atB.delivered[0].payload).toEqual(pattern(4000));
  });

  it('a router answers a destination it has no route to with Network Unreachable (RFC 1812 §5.2.7.1)', () => {
    const { net, a, router, atA } = threeStacks();
    sendProbe(a, '192.0.2.7', 20);
    net.runUntilIdle();
    expect(router.stats.get('drop.ipv4.noRoute')).toBe(1);
    expect(atA.errors).toHaveLength(1);
    expect(atA.errors[0]).toMatchObject({ kind: 'destinationUnreachable', code: 0, reporter: addr('10.0.0.254') });
  });

  it('a router does not forward a directed broadcast to its other network (RFC 2644), it receives it', () => {
    const { net, a, router, b } = threeStacks();
    const listener = b.udp.open();
    listener.options.broadcast = true;
    listener.bind(0, 7000);
    const sender = a.udp.open();
    // Not a broadcast as far as host a knows, so no SO_BROADCAST is needed to send it.
    expect(sender.send(pattern(10), addr('10.0.1.255'), 7000).ok).toBe(true);
    net.runUntilIdle();
    expect(router.stats.get('ipv4.forwarded')).toBe(0);
    expect(b.stats.get('ipv4.rx.packets')).toBe(0);
    expect(router.stats.get('udp.rx.noPort')).toBe(1);
    // A broadcast draws no port unreachable.
    expect(router.stats.get('icmp.tx.destinationUnreachable')).toBe(0);
  });
});

describe('input validation on a host (RFC 1122 §3.2.1)', () => {
  function host() {
    const net = new VirtualNetwork(9);
    const stack = net.createStack('host');
    const peer = attachRawPeer(net, stack, '10.0.0.2/24');
    const probes = listen(stack);
    const socket = stack.udp.open();
    socket.bind(0, 67);
    return { net, stack, peer, probes, socket };
  }
  const PEER = addr('10.0.0.1');
  const HOST = addr('10.0.0.2');

  it('drops and counts a packet whose header fails a check, without a word back', () => {
    const { net, stack, peer } = host();
    const good = ipv4Frame({ source: PEER, destination: HOST, protocol: PROBE }, pattern(8));
    const badChecksum = good.slice();
    badChecksum[11] ^= 1;
    const badVersion = good.slice();
    badVersion[0] = 0x55; // 5: neither IPv4 nor IPv6 (a 6 goes to the IPv6 layer now)
    const shortIhl = good.slice();
    shortIhl[0] = 0x44;
    const longTotal = good.slice();
    longTotal[3] += 1;
    peer.send(badChecksum);
    peer.send(badVersion);
    peer.send(shortIhl);
    peer.send(longTotal);
    peer.send(good.subarray(0, 12));
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv4.badChecksum')).toBe(1);
    expect(stack.stats.get('drop.ipv4.badVersion')).toBe(1);
    expect(stack.stats.get('drop.ipv4.badHeaderLength')).toBe(1);
    expect(stack.stats.get('drop.ipv4.truncated')).toBe(2);
    expect(stack.stats.get('ipv4.rx.delivered')).toBe(0);
    expect(peer.take()).toEqual([]);
  });

  it('drops a bad option as drop.ipv4.badOption', () => {
    const { net, stack, peer } = host();
    const frame = ipv4Frame({ source: PEER, destination: HOST, protocol: PROBE, options: [{ kind: 'raw', type: 0x94, data: new Uint8Array(2) }] });
    frame[21] = 1; // option length 1
    frame[10] = frame[11] = 0;
    const sum = (() => {
      let s = 0;
      for (let i = 0; i < 24; i += 2) s += (frame[i] << 8) | frame[i + 1];
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return ~s & 0xffff;
    })();
    frame[10] = sum >> 8;
    frame[11] = sum & 0xff;
    peer.send(frame);
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv4.badOption')).toBe(1);
  });

  it("drops martian sources: broadcast, multicast, this network's broadcast, 0/8 and loopback from outside", () => {
    const { net, stack, peer, socket } = host();
    for (const source of ['255.255.255.255', '224.0.0.5', '239.1.2.3', '10.0.0.255', '0.0.0.0', '0.1.2.3', '127.0.0.1', '127.9.9.9']) {
      peer.send(udpFrame({ source: addr(source), destination: HOST }, 68, 67, pattern(4)));
    }
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv4.martianSource')).toBe(8);
    expect(socket.queuedDatagrams).toBe(0);
    expect(peer.take()).toEqual([]);
  });

  it('accepts source 0.0.0.0 only toward the limited broadcast (a DHCP client, RFC 2131 §4.1)', () => {
    const { net, stack, peer, socket } = host();
    peer.send(udpFrame({ source: 0, destination: addr('255.255.255.255') }, 68, 67, pattern(4)));
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv4.martianSource')).toBe(0);
    expect(socket.queuedDatagrams).toBe(1);
  });

  it('drops a loopback or 0/8 destination arriving from outside (RFC 1122 §3.2.1.3 (a), (g))', () => {
    const { net, stack, peer } = host();
    const echo = new Uint8Array([8, 0, 0xf7, 0xff, 0, 0, 0, 0]);
    peer.send(ipv4Frame({ source: PEER, destination: addr('127.0.0.1'), protocol: IpProtocol.ICMP }, echo));
    peer.send(ipv4Frame({ source: PEER, destination: addr('0.0.0.0'), protocol: IpProtocol.ICMP }, echo));
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv4.martianDestination')).toBe(2);
    expect(stack.stats.get('icmp.rx.echoRequest')).toBe(0);
    expect(peer.take()).toEqual([]);
  });

  it('a host drops a datagram not addressed to it, without forwarding or answering (RFC 1122 §3.3.4)', () => {
    const { net, stack, peer } = host();
    peer.send(ipv4Frame({ source: PEER, destination: addr('10.0.0.77'), protocol: PROBE, ttl: 5 }, pattern(8)));
    peer.send(ipv4Frame({ source: PEER, destination: addr('192.0.2.1'), protocol: PROBE, ttl: 5 }, pattern(8)));
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv4.notForUs')).toBe(2);
    expect(stack.stats.get('ipv4.forwarded')).toBe(0);
    expect(peer.take()).toEqual([]);
  });

  it('an unknown protocol draws Protocol Unreachable for unicast, nothing for broadcast', () => {
    const { net, stack, peer } = host();
    peer.send(ipv4Frame({ source: PEER, destination: HOST, protocol: 254 }, pattern(30)));
    peer.send(ipv4Frame({ source: PEER, destination: addr('10.0.0.255'), protocol: 254 }, pattern(30)));
    peer.send(ipv4Frame({ source: PEER, destination: addr('255.255.255.255'), protocol: 254 }, pattern(30)));
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv4.unknownProtocol')).toBe(3);
    const sent = peer.take();
    expect(sent).toHaveLength(1);
    const { ip, icmp } = decodeIcmp(sent[0].frame);
    expect(ip.source).toBe(HOST);
    expect(ip.destination).toBe(PEER);
    expect(icmp).toMatchObject({ kind: 'destinationUnreachable', code: 2 });
    if (icmp.kind === 'destinationUnreachable') {
      const quoted = parseQuotedDatagram(icmp.quoted);
      expect(quoted.ok && quoted.value.protocol).toBe(254);
    }
  });

  it('a reassembled datagram to a closed port draws Port Unreachable quoting fragment zero', () => {
    const { net, stack, peer } = host();
    // The fragments of a 1200-byte UDP datagram as a sender with MTU 576 cuts them.
    const frames = (() => {
      const sender = new VirtualNetwork(1).createStack('sender', { loopback: false });
      const out: Uint8Array[] = [];
      const wire = {
        name: 'w',
        medium: 'ip' as const,
        mtu: 576,
        transmit: (f: Uint8Array) => out.push(f),
        setReceiver: () => {},
        pollAt: () => Infinity,
        poll: () => {},
      };
      sender.addInterface({ name: 'eth0', link: wire, address: '10.0.0.1/24' });
      const s = sender.udp.open();
      s.send(pattern(1200), HOST, 4444);
      sender.poll(0);
      return out;
    })();
    expect(frames.length).toBe(3);
    for (const frame of [frames[2], frames[0], frames[1]]) peer.send(frame);
    drive(net, [peer]);
    expect(stack.stats.get('ipv4.rx.reassembled')).toBe(1);
    expect(stack.stats.get('udp.rx.noPort')).toBe(1);
    const sent = peer.take();
    expect(sent).toHaveLength(1);
    const { icmp } = decodeIcmp(sent[0].frame);
    expect(icmp).toMatchObject({ kind: 'destinationUnreachable', code: 3 });
    if (icmp.kind !== 'destinationUnreachable') return;
    const quoted = parseQuotedDatagram(icmp.quoted);
    expect(quoted.ok).toBe(true);
    if (!quoted.ok) return;
    // Fragment zero's header, then the UDP header: ports 4444 as destination.
    expect(((quoted.value.header[6] << 8) | quoted.value.header[7]) & 0x1fff).toBe(0);
    expect((quoted.value.payload[2] << 8) | quoted.value.payload[3]).toBe(4444);
  });
});

describe('a point-to-point /31 link (RFC 3021)', () => {
  it("has no broadcast address: each end's packets are accepted, not taken for martians", () => {
    const net = new VirtualNetwork(31);
    const a = net.createStack('a');
    const b = net.createStack('b');
    net.connect({ stack: a, address: '10.0.0.0/31' }, { stack: b, address: '10.0.0.1/31' });
    const replies: number[] = [];
    a.icmp.onEchoReply((r) => replies.push(r.sequence));
    b.icmp.onEchoReply((r) => replies.push(r.sequence));
    a.ping('10.0.0.1', 1, 1);
    b.ping('10.0.0.0', 1, 2);
    net.runUntilIdle();
    expect(replies.sort()).toEqual([1, 2]);
    expect(a.stats.sum('drop.') + b.stats.sum('drop.')).toBe(0);
  });
});

describe('output (RFC 1122 §3.3)', () => {
  function twoHosts() {
    const net = new VirtualNetwork(4);
    const a = net.createStack('a');
    const b = net.createStack('b');
    net.connect({ stack: a, address: '10.0.0.1/24' }, { stack: b, address: '10.0.0.2/24' }, { mtu: 1000 });
    return { net, a, b, atB: listen(b) };
  }

  it('refuses more than 65535 bytes, DF over the path MTU, and a destination without a route', () => {
    const { a } = twoHosts();
    expect(sendProbe(a, '10.0.0.2', 65_515).ok).toBe(true);
    expect(sendProbe(a, '10.0.0.2', 65_516)).toEqual({ ok: false, error: 'EMSGSIZE' });
    expect(sendProbe(a, '10.0.0.2', 980, { dontFragment: true }).ok).toBe(true);
    expect(sendProbe(a, '10.0.0.2', 981, { dontFragment: true })).toEqual({ ok: false, error: 'EMSGSIZE' });
    expect(sendProbe(a, '192.0.2.1', 10)).toEqual({ ok: false, error: 'ENETUNREACH' });
    expect(a.stats.get('ipv4.tx.noRoute')).toBe(1);
  });

  it('each destination goes by the route the table holds now: a route added or removed after a send is taken at the next', () => {
    const { a } = twoHosts();
    expect(sendProbe(a, '192.0.2.1', 10)).toEqual({ ok: false, error: 'ENETUNREACH' });
    a.addRoute('192.0.2.0/24', { via: '10.0.0.2', mtu: 600 });
    expect(a.ip.routeTo(addr('192.0.2.1'))?.route.gateway).toBe(addr('10.0.0.2'));
    expect(a.ip.mtuTo(addr('192.0.2.1'))).toBe(600);
    expect(sendProbe(a, '192.0.2.1', 10).ok).toBe(true);
    a.addRoute('192.0.2.1/32', { interfaceName: 'eth0', mtu: 576 });
    expect(a.ip.mtuTo(addr('192.0.2.1'))).toBe(576);
    expect(a.ip.routes.remove(parseIpv4Cidr('192.0.2.0/24')!)).toBe(1);
    expect(a.ip.mtuTo(addr('192.0.2.1'))).toBe(576);
    expect(a.ip.routeTo(addr('192.0.2.2'))).toBe(null);
    expect(a.ip.routes.removeWhere((route) => route.destination.prefixLength === 32)).toBe(1);
    expect(sendProbe(a, '192.0.2.1', 10)).toEqual({ ok: false, error: 'ENETUNREACH' });
    // Our own address goes by the loopback, whatever the table says of it.
    expect(a.ip.routeTo(addr('10.0.0.1'))?.iface.loopback).toBe(true);
  });

  it('refuses more than 40 bytes of options (IHL has 4 bits) with EINVAL', () => {
    const { a } = twoHosts();
    const options = [{ kind: 'raw' as const, type: 0x94, data: new Uint8Array(40) }];
    const result = a.ip.send({ destination: addr('10.0.0.2'), protocol: PROBE, options }, 8, () => {}, 0);
    expect(result).toEqual({ ok: false, error: 'EINVAL' });
    const fits = a.ip.send(
      { destination: addr('10.0.0.2'), protocol: PROBE, options: [{ kind: 'raw', type: 0x94, data: new Uint8Array(38) }] },
      8,
      () => {},
      0,
    );
    expect(fits.ok).toBe(true);
  });

  it("a datagram that finds the interface's transmit queue at its limit is dropped before the link: ENOBUFS", () => {
    const frames: Uint8Array[] = [];
    const link: Link & { transmitQueueLimit: number } = {
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
    host.addInterface({ name: 'q0', link, address: '10.0.0.1/24' });
    expect(sendProbe(host, '10.0.0.2', 10).ok).toBe(true);
    expect(sendProbe(host, '10.0.0.2', 10).ok).toBe(true);
    expect(sendProbe(host, '10.0.0.2', 10)).toEqual({ ok: false, error: 'ENOBUFS' });
    expect(host.stats.get('drop.ipv4.transmitQueueFull')).toBe(1);
    host.poll(0); // the queue drains to the link
    expect(frames).toHaveLength(2);
    expect(sendProbe(host, '10.0.0.2', 10).ok).toBe(true);
    link.transmitQueueLimit = 0; // tc's pfifo limit 0: nothing gets through
    host.poll(0);
    expect(sendProbe(host, '10.0.0.2', 10)).toEqual({ ok: false, error: 'ENOBUFS' });
    host.poll(0);
    expect(frames).toHaveLength(3);
  });

  it('a loopback source never leaves the host: EINVAL, as Linux (RFC 1122 §3.2.1.3 (g))', () => {
    const { net, a, b, atB } = twoHosts();
    const fromLoopback = a.ip.send({ source: addr('127.0.0.1'), destination: addr('10.0.0.2'), protocol: PROBE }, 4, () => {}, 0);
    expect(fromLoopback).toEqual({ ok: false, error: 'EINVAL' });
    const socket = a.udp.open();
    socket.bind(addr('127.0.0.1'), 0);
    expect(socket.send(pattern(4), addr('10.0.0.2'), 9)).toEqual({ ok: false, error: 'EINVAL' });
    expect(socket.send(pattern(4), addr('127.0.0.1'), 9).ok).toBe(true);
    net.runUntilIdle();
    expect(atB.delivered).toHaveLength(0);
    expect(b.stats.get('ipv4.rx.packets')).toBe(0);
  });

  it('gives each datagram to one destination the next identification of its counter, and fragments of one datagram the same one (RFC 7739 §5.3)', () => {
    const { net, a, atB } = twoHosts();
    sendProbe(a, '10.0.0.2', 10);
    sendProbe(a, '10.0.0.2', 2000);
    sendProbe(a, '10.0.0.2', 10);
    net.runUntilIdle();
    const ids = atB.delivered.map((d) => d.header.identification);
    expect(ids).toEqual([ids[0], (ids[0] + 1) & 0xffff, (ids[0] + 2) & 0xffff]);
    expect(a.stats.get('ipv4.tx.fragmented')).toBe(1);
    expect(a.stats.get('ipv4.tx.packets')).toBe(5);
  });

  it('a datagram to one of our own addresses goes through loopback with that address as source', () => {
    const { net, a } = twoHosts();
    const self = listen(a);
    sendProbe(a, '10.0.0.1', 10);
    sendProbe(a, '127.0.0.1', 10);
    net.runUntilIdle();
    expect(self.delivered.map((d) => [d.interfaceName, d.header.source])).toEqual([
      ['lo', addr('10.0.0.1')],
      ['lo', addr('127.0.0.1')],
    ]);
    expect(a.stats.get('link.eth0.tx.frames')).toBe(0);
  });
});
