import { describe, expect, it } from 'vitest';
import { emitIcmpv4, Icmpv4Packet, icmpv4Length, parseIcmpv4, type Icmpv4Repr } from '../../src/ip/icmpv4.js';
import type { IcmpErrorReport } from '../../src/ip/icmp-layer.js';
import { Ipv4Packet, IpProtocol, parseIpv4, type Ipv4Repr } from '../../src/ip/ipv4.js';
import { fragmentDatagram } from '../../src/ip/fragments.js';
import type { StackOptions } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { addr, ipv4Frame, ipv4Header, pattern, udpFrame, type HeaderFields } from '../support/packets.js';
import { attachRawPeer, drive, type RawPeer } from '../support/raw-peer.js';

const PEER = addr('10.0.0.1');
const HOST = addr('10.0.0.2');

function icmpBytes(repr: Icmpv4Repr): Uint8Array {
  const out = new Uint8Array(icmpv4Length(repr));
  emitIcmpv4(repr, out);
  return out;
}

function icmpFrame(fields: Omit<HeaderFields, 'protocol'>, repr: Icmpv4Repr): Uint8Array {
  return ipv4Frame({ ...fields, protocol: IpProtocol.ICMP }, icmpBytes(repr));
}

function decode(frame: Uint8Array): { ip: Ipv4Repr; icmp: Icmpv4Repr; length: number } {
  const packet = Ipv4Packet.checked(frame);
  if (!packet.ok) throw new Error(packet.error.message);
  const ip = parseIpv4(packet.value);
  if (!ip.ok) throw new Error(ip.error.message);
  const message = Icmpv4Packet.checked(packet.value.payload);
  if (!message.ok) throw new Error(message.error.message);
  const icmp = parseIcmpv4(message.value);
  if (!icmp.ok) throw new Error(icmp.error.message);
  return { ip: ip.value, icmp: icmp.value, length: packet.value.totalLength };
}

/** The host 10.0.0.2/24 under test, its raw peer 10.0.0.1 on the wire. */
function host(options: StackOptions = {}) {
  const net = new VirtualNetwork(12);
  const stack = net.createStack('host', options);
  const peer = attachRawPeer(net, stack, '10.0.0.2/24');
  return { net, stack, peer };
}

/** A router 10.0.0.254 | 10.0.1.254 with raw peers on both sides. */
function router() {
  const net = new VirtualNetwork(13);
  const stack = net.createStack('router', { ip: { forwarding: true } });
  const near = attachRawPeer(net, stack, '10.0.0.254/24', { interfaceName: 'eth0' });
  const far = attachRawPeer(net, stack, '10.0.1.254/24', { interfaceName: 'eth1' });
  return { net, stack, near, far };
}

function run(net: VirtualNetwork, ...peers: RawPeer[]) {
  drive(net, peers);
}

describe('echo (RFC 792, RFC 1122 §3.2.2.6)', () => {
  it('answers an echo request with the same identifier, sequence and data, from the address it was sent to', () => {
    const { net, stack, peer } = host();
    const data = pattern(57);
    peer.send(icmpFrame({ source: PEER, destination: HOST }, { kind: 'echoRequest', identifier: 0xbeef, sequence: 300, data }));
    run(net, peer);
    const [reply] = peer.take();
    const { ip, icmp } = decode(reply.frame);
    expect(icmp).toEqual({ kind: 'echoReply', identifier: 0xbeef, sequence: 300, data });
    expect(ip.source).toBe(HOST);
    expect(ip.destination).toBe(PEER);
    expect(ip.ttl).toBe(64);
    expect(stack.stats.get('icmp.rx.echoRequest')).toBe(1);
    expect(stack.stats.get('icmp.tx.echoReply')).toBe(1);
  });

  it('reflects Record Route and Timestamp options, with this host added; a full option comes back as it was (§3.2.2.6, RFC 791)', () => {
    const { net, peer } = host();
    const request = (options: Ipv4Repr['options']) => {
      peer.send(icmpFrame({ source: PEER, destination: HOST, options }, { kind: 'echoRequest', identifier: 1, sequence: 1, data: pattern(8) }));
      run(net, peer);
      return decode(peer.take()[0].frame).ip.options.filter((option) => option.kind !== 'endOfList'); // (the header's padding)
    };
    // ping -R: nine empty slots, the pointer at the first.
    expect(request([{ kind: 'recordRoute', pointer: 4, route: new Array(9).fill(0) }])).toEqual([
      { kind: 'recordRoute', pointer: 8, route: [HOST, ...new Array(8).fill(0)] },
    ]);
    // Already full: as it came.
    const full = { kind: 'recordRoute' as const, pointer: 12, route: [PEER, PEER] };
    expect(request([full])).toEqual([full]);
    // ping -T tsonly: a timestamp with the high bit set (not relative to midnight UT).
    const [stamped] = request([{ kind: 'timestamp', pointer: 5, overflow: 0, flag: 0, entries: [{ timestamp: 0 }, { timestamp: 0 }] }]);
    if (stamped.kind !== 'timestamp') throw new Error('no timestamp option');
    expect(stamped.pointer).toBe(9);
    expect(stamped.entries[0].timestamp >>> 31).toBe(1);
    expect(stamped.entries[1]).toEqual({ timestamp: 0 });
    // Address and timestamp, full: the overflow count goes up.
    expect(request([{ kind: 'timestamp', pointer: 13, overflow: 2, flag: 1, entries: [{ address: PEER, timestamp: 5 }] }])).toEqual([
      { kind: 'timestamp', pointer: 13, overflow: 3, flag: 1, entries: [{ address: PEER, timestamp: 5 }] },
    ]);
  });

  it('hands echo replies to every listener, with the TTL they arrived with', () => {
    const { net, stack, peer } = host();
    const seen: Array<[number, number, number]> = [];
    const stop = stack.icmp.onEchoReply((r) => seen.push([r.identifier, r.sequence, r.ttl]));
    peer.send(icmpFrame({ source: PEER, destination: HOST, ttl: 57 }, { kind: 'echoReply', identifier: 1, sequence: 2, data: pattern(3) }));
    run(net, peer);
    stop();
    peer.send(icmpFrame({ source: PEER, destination: HOST }, { kind: 'echoReply', identifier: 1, sequence: 3, data: pattern(3) }));
    run(net, peer);
    expect(seen).toEqual([[1, 2, 57]]);
    expect(stack.stats.get('icmp.rx.echoReply')).toBe(2);
  });

  it('ignores an echo request sent to a broadcast address by default (Linux icmp_echo_ignore_broadcasts)', () => {
    const { net, stack, peer } = host();
    for (const destination of ['10.0.0.255', '255.255.255.255', '224.0.0.1']) {
      peer.send(icmpFrame({ source: PEER, destination: addr(destination) }, { kind: 'echoRequest', identifier: 1, sequence: 1, data: pattern(8) }));
    }
    run(net, peer);
    expect(peer.take()).toEqual([]);
    expect(stack.stats.get('drop.icmp.broadcastEcho')).toBe(3);
  });

  it('when told to answer broadcast pings, replies from its own address, not from the broadcast address', () => {
    const { net, peer } = host({ icmp: { echoReplyToBroadcast: true } });
    peer.send(icmpFrame({ source: PEER, destination: addr('10.0.0.255') }, { kind: 'echoRequest', identifier: 1, sequence: 1, data: pattern(8) }));
    run(net, peer);
    const sent = peer.take();
    expect(sent).toHaveLength(1);
    expect(decode(sent[0].frame).ip.source).toBe(HOST);
  });
});

describe('errors never sent (RFC 1122 §3.2.2)', () => {
  const echo: Icmpv4Repr = { kind: 'echoRequest', identifier: 7, sequence: 1, data: pattern(16) };
  const quoted = ipv4Frame({ source: addr('10.0.1.9'), destination: PEER, protocol: IpProtocol.UDP }, pattern(8));

  it('no error about an ICMP error; a query (echo) still gets one', () => {
    const { net, stack, near } = router();
    const errors: Icmpv4Repr[] = [
      { kind: 'destinationUnreachable', code: 3, nextHopMtu: 0, quoted },
      { kind: 'timeExceeded', code: 0, quoted },
      { kind: 'parameterProblem', code: 0, pointer: 1, quoted },
      { kind: 'redirect', code: 1, gateway: addr('10.0.0.99'), quoted },
    ];
    for (const message of errors) near.send(icmpFrame({ source: PEER, destination: addr('10.0.1.9'), ttl: 1 }, message));
    run(net, near);
    expect(near.take()).toEqual([]);
    expect(stack.stats.get('icmp.tx.suppressed.aboutIcmpError')).toBe(4);
    near.send(icmpFrame({ source: PEER, destination: addr('10.0.1.9'), ttl: 1 }, echo));
    run(net, near);
    const [answer] = near.take();
    expect(decode(answer.frame).icmp).toMatchObject({ kind: 'timeExceeded', code: 0 });
  });

  it('no error about a datagram sent to a broadcast or multicast address', () => {
    const { net, stack, peer } = host();
    stack.ip.joinGroup(addr('224.0.0.9')); // a member, so the datagrams reach UDP and IP's demux
    for (const destination of ['10.0.0.255', '255.255.255.255', '224.0.0.9']) {
      peer.send(udpFrame({ source: PEER, destination: addr(destination) }, 1000, 9, pattern(4)));
      peer.send(ipv4Frame({ source: PEER, destination: addr(destination), protocol: 254 }, pattern(4)));
    }
    run(net, peer);
    expect(stack.stats.get('udp.rx.noPort')).toBe(3);
    expect(stack.stats.get('drop.ipv4.unknownProtocol')).toBe(3);
    expect(peer.take()).toEqual([]);
    // Asked directly, the ICMP layer refuses too.
    stack.icmp.protocolUnreachable(ipv4Frame({ source: PEER, destination: addr('10.0.0.255'), protocol: 254 }), net.now);
    stack.icmp.timeExceeded(ipv4Frame({ source: PEER, destination: addr('239.0.0.1'), protocol: 17 }), 0, net.now);
    expect(stack.stats.get('icmp.tx.suppressed.toBroadcast')).toBe(2);
  });

  it('no error about a fragment other than the first: a fragmented datagram with TTL 1 draws exactly one', () => {
    const { net, stack, near, far } = router();
    const header = ipv4Header({ source: PEER, destination: addr('10.0.1.9'), protocol: IpProtocol.UDP, ttl: 1 });
    const fragments = fragmentDatagram(header, pattern(1200), 576);
    expect(fragments).toHaveLength(3);
    for (const fragment of fragments) near.send(fragment);
    run(net, near, far);
    expect(stack.stats.get('drop.ipv4.ttlExceeded')).toBe(3);
    expect(stack.stats.get('icmp.tx.suppressed.notFirstFragment')).toBe(2);
    const sent = near.take();
    expect(sent).toHaveLength(1);
    expect(decode(sent[0].frame).icmp).toMatchObject({ kind: 'timeExceeded', code: 0 });
    expect(far.take()).toEqual([]);
  });

  it('no error about a datagram whose source is not one host (0.0.0.0, broadcast, multicast)', () => {
    const { net, stack } = host();
    for (const source of ['0.0.0.0', '255.255.255.255', '224.0.0.1']) {
      stack.icmp.protocolUnreachable(ipv4Frame({ source: addr(source), destination: HOST, protocol: 254 }), net.now);
    }
    expect(stack.stats.get('icmp.tx.suppressed.martianSource')).toBe(3);
    expect(stack.stats.get('icmp.tx.destinationUnreachable')).toBe(0);
  });
});

describe('error contents', () => {
  it('quotes as much of the offending datagram as fits in 576 bytes (RFC 1812 §4.3.2.3)', () => {
    const { net, peer } = host();
    const offending = udpFrame({ source: PEER, destination: HOST }, 1000, 9, pattern(1400));
    peer.send(offending);
    run(net, peer);
    const [error] = peer.take();
    const { ip, icmp, length } = decode(error.frame);
    expect(length).toBe(576);
    expect(ip.source).toBe(HOST);
    expect(icmp).toMatchObject({ kind: 'destinationUnreachable', code: 3 });
    if (icmp.kind === 'destinationUnreachable') expect(icmp.quoted).toEqual(offending.subarray(0, 548));
  });

  it('quotes a short datagram whole', () => {
    const { net, peer } = host();
    const offending = udpFrame({ source: PEER, destination: HOST }, 1000, 9, pattern(3));
    peer.send(offending);
    run(net, peer);
    const { icmp } = decode(peer.take()[0].frame);
    expect(icmp.kind === 'destinationUnreachable' && icmp.quoted).toEqual(offending);
  });
});

describe('error rate limit: a token bucket (RFC 1812 §4.3.2.8)', () => {
  it('sends a burst, then one per refill interval in virtual time, never more than the burst', () => {
    const { net, stack, peer } = host({ icmp: { errorBurst: 3, errorRatePerSecond: 10 } });
    const probe = (count: number) => {
      for (let i = 0; i < count; i++) peer.send(udpFrame({ source: PEER, destination: HOST }, 1000 + i, 9, pattern(4)));
      run(net, peer);
      return peer.take().length;
    };
    expect(probe(5)).toBe(3);
    expect(stack.stats.get('icmp.tx.rateLimited')).toBe(2);
    net.run(100); // one token at 10 per second
    expect(probe(3)).toBe(1);
    net.run(50); // half a token
    expect(probe(1)).toBe(0);
    net.run(50);
    expect(probe(1)).toBe(1);
    net.run(60_000); // a long quiet spell refills to the burst, no further
    expect(probe(10)).toBe(3);
    expect(stack.stats.get('icmp.tx.destinationUnreachable')).toBe(8);
  });
});

describe('received errors and malformed messages', () => {
  it('hands an error to the protocol of the quoted datagram, with the reporter and the quote', () => {
    const { net, stack, peer } = host();
    const reports: IcmpErrorReport[] = [];
    stack.icmp.registerErrorListener(253, { icmpError: (r) => reports.push(r) });
    const quoted = ipv4Frame({ source: HOST, destination: addr('10.0.9.9'), protocol: 253, identification: 77 }, pattern(8));
    peer.send(icmpFrame({ source: PEER, destination: HOST }, { kind: 'destinationUnreachable', code: 4, nextHopMtu: 1400, quoted }));
    peer.send(icmpFrame({ source: PEER, destination: HOST }, { kind: 'parameterProblem', code: 0, pointer: 20, quoted }));
    run(net, peer);
    expect(reports.map((r) => [r.kind, r.code, r.nextHopMtu, r.reporter, r.quoted.identification])).toEqual([
      ['destinationUnreachable', 4, 1400, PEER, 77],
      ['parameterProblem', 0, 0, PEER, 77],
    ]);
  });

  it('counts what it cannot use: bad checksum, truncated, bad quote, unclaimed, other types', () => {
    const { net, stack, peer } = host();
    const echo = icmpBytes({ kind: 'echoRequest', identifier: 1, sequence: 1, data: pattern(4) });
    const corrupt = echo.slice();
    corrupt[9] ^= 4;
    peer.send(ipv4Frame({ source: PEER, destination: HOST, protocol: IpProtocol.ICMP }, corrupt));
    peer.send(ipv4Frame({ source: PEER, destination: HOST, protocol: IpProtocol.ICMP }, echo.subarray(0, 7)));
    peer.send(icmpFrame({ source: PEER, destination: HOST }, { kind: 'timeExceeded', code: 0, quoted: pattern(12) }));
    peer.send(
      icmpFrame({ source: PEER, destination: HOST }, { kind: 'timeExceeded', code: 0, quoted: ipv4Frame({ source: HOST, destination: PEER, protocol: 99 }) }),
    );
    peer.send(
      icmpFrame(
        { source: PEER, destination: HOST },
        { kind: 'redirect', code: 0, gateway: PEER, quoted: ipv4Frame({ source: HOST, destination: PEER, protocol: 17 }) },
      ),
    );
    run(net, peer);
    expect(stack.stats.get('drop.icmp.badChecksum')).toBe(1);
    expect(stack.stats.get('drop.icmp.truncated')).toBe(1);
    expect(stack.stats.get('drop.icmp.badQuote')).toBe(1);
    expect(stack.stats.get('icmp.rx.errorUnclaimed')).toBe(1);
    expect(stack.stats.get('icmp.rx.other')).toBe(1);
    expect(peer.take()).toEqual([]);
    expect(stack.lastInternalError).toBe(null);
  });
});
