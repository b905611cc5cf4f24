import { describe, expect, it } from 'vitest';
import { emitIcmpv4, Icmpv4Packet, icmpv4Length, parseIcmpv4, type Icmpv4Repr } from '../../src/ip/icmpv4.js';
import { ipv4OptionsVerdict, type Ipv4Option } from '../../src/ip/ipv4-options.js';
import { Ipv4Packet, IpProtocol, parseIpv4, type Ipv4Repr } from '../../src/ip/ipv4.js';
import type { StackOptions } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { addr, ipv4Frame, pattern, udpFrame } from '../support/packets.js';
import { attachRawPeer, drive } from '../support/raw-peer.js';

const PEER = addr('10.0.0.1');
const HOST = addr('10.0.0.2');
const FAR = addr('10.0.1.9');

function icmpBytes(repr: Icmpv4Repr): Uint8Array {
  const out = new Uint8Array(icmpv4Length(repr));
  emitIcmpv4(repr, out);
  return out;
}

/** An echo request from the peer to the host carrying `options`. */
function echoRequest(options: readonly Ipv4Option[], destination = HOST): Uint8Array {
  return ipv4Frame(
    { source: PEER, destination, protocol: IpProtocol.ICMP, options },
    icmpBytes({ kind: 'echoRequest', identifier: 7, sequence: 1, data: pattern(16) }),
  );
}

function decode(frame: Uint8Array): { ip: Ipv4Repr; icmp: Icmpv4Repr } {
  const packet = Ipv4Packet.checked(frame);
  if (!packet.ok) throw new Error(packet.error.message);
  const ip = parseIpv4(packet.value);
  if (!ip.ok) throw new Error(ip.error.message);
  const message = Icmpv4Packet.checked(packet.value.payload);
  if (!message.ok) throw new Error(message.error.message);
  const icmp = parseIcmpv4(message.value);
  if (!icmp.ok) throw new Error(icmp.error.message);
  return { ip: ip.value, icmp: icmp.value };
}

function host(options: StackOptions = {}) {
  const net = new VirtualNetwork(31);
  const stack = net.createStack('host', options);
  const peer = attachRawPeer(net, stack, '10.0.0.2/24');
  const exchange = (...frames: Uint8Array[]) => {
    for (const frame of frames) peer.send(frame);
    drive(net, [peer], 10);
    return peer.take().map(({ frame }) => decode(frame));
  };
  return { net, stack, peer, exchange };
}

/** A loose (131) or strict (137) source route option: pointer, then the listed addresses. */
function sourceRoute(type: 131 | 137, pointer: number, route: readonly number[]): Ipv4Option {
  const data = new Uint8Array(1 + 4 * route.length);
  data[0] = pointer;
  route.forEach((address, i) => new DataView(data.buffer).setUint32(1 + 4 * i, address));
  return { kind: 'raw', type, data };
}

/** `frame` with header octet `at` set to `value` and the header checksum made right again. */
function patched(frame: Uint8Array, at: number, value: number): Uint8Array {
  const copy = frame.slice();
  copy[at] = value;
  Ipv4Packet.unchecked(copy).fillChecksum();
  return copy;
}

describe('source-routed datagrams are dropped (RFC 7126 §4.3–4.4; Linux accept_source_route=0)', () => {
  it('an echo request with an exhausted loose source route gets no answer, and is counted', () => {
    const { stack, exchange } = host();
    // Pointer past the end: the route is used up and we are its final destination.
    expect(exchange(echoRequest([sourceRoute(131, 12, [addr('192.0.2.1'), HOST])]))).toEqual([]);
    expect(stack.stats.get('drop.ipv4.sourceRoute')).toBe(1);
    expect(stack.stats.get('icmp.rx.echoRequest')).toBe(0);
  });

  it('a strict source route not yet exhausted is dropped too, and a UDP datagram with one reaches no socket', () => {
    const { stack, exchange } = host();
    const socket = stack.udp.open();
    socket.bind(0, 9);
    const withRoute = udpFrame({ source: PEER, destination: HOST, options: [sourceRoute(137, 4, [addr('192.0.2.1')])] }, 1000, 9, pattern(4));
    expect(exchange(echoRequest([sourceRoute(137, 4, [addr('192.0.2.1'), addr('192.0.2.2')])]), withRoute)).toEqual([]);
    expect(stack.stats.get('drop.ipv4.sourceRoute')).toBe(2);
    expect(stack.stats.get('udp.rx.datagrams')).toBe(0);
  });

  it('a router does not forward a source-routed datagram', () => {
    const net = new VirtualNetwork(32);
    const router = net.createStack('router', { ip: { forwarding: true } });
    const near = attachRawPeer(net, router, '10.0.0.254/24', { interfaceName: 'eth0' });
    const far = attachRawPeer(net, router, '10.0.1.254/24', { interfaceName: 'eth1' });
    near.send(udpFrame({ source: PEER, destination: FAR, options: [sourceRoute(131, 4, [FAR])] }, 1000, 9, pattern(4)));
    near.send(udpFrame({ source: PEER, destination: FAR }, 1000, 9, pattern(4)));
    drive(net, [near, far], 10);
    expect(far.take()).toHaveLength(1);
    expect(router.stats.get('drop.ipv4.sourceRoute')).toBe(1);
    expect(router.stats.get('ipv4.forwarded')).toBe(1);
  });

  it('a datagram with two source routes is malformed (RFC 791: at most one)', () => {
    expect(ipv4OptionsVerdict(Uint8Array.of(131, 7, 8, 1, 2, 3, 4, 137, 7, 4, 0, 0, 0, 0))).toEqual({ kind: 'parameterProblem', pointer: 27 });
  });
});

describe('malformed options are answered with Parameter Problem (RFC 1122 §3.2.1.8, §3.2.2.5)', () => {
  it('a Record Route whose pointer is 2 gets Parameter Problem code 0 pointing at that octet (22), and no echo reply', () => {
    const { stack, exchange } = host();
    const request = echoRequest([{ kind: 'recordRoute', pointer: 2, route: [0, 0] }]);
    const answers = exchange(request);
    expect(answers).toHaveLength(1);
    const [{ ip, icmp }] = answers;
    expect([ip.source, ip.destination]).toEqual([HOST, PEER]);
    expect(icmp.kind === 'parameterProblem' && [icmp.code, icmp.pointer, icmp.quoted.subarray(0, request.length)]).toEqual([0, 22, request]);
    expect(stack.stats.get('drop.ipv4.badOption')).toBe(1);
    expect(stack.stats.get('icmp.tx.parameterProblem')).toBe(1);
    expect(stack.stats.get('icmp.tx.echoReply')).toBe(0);
  });

  it('points at the option itself when its length runs past the header, at the pointer of a Timestamp below 5, at the flags of a full one', () => {
    const { exchange } = host();
    const rr = echoRequest([{ kind: 'noOperation' }, { kind: 'recordRoute', pointer: 4, route: [0, 0] }]);
    const tooLong = patched(rr, 22, 40); // RR's length octet, now past the 32-byte header
    const timestamp = echoRequest([{ kind: 'timestamp', pointer: 4, overflow: 0, flag: 0, entries: [{ timestamp: 0 }] }]);
    const full = echoRequest([{ kind: 'timestamp', pointer: 9, overflow: 15, flag: 0, entries: [{ timestamp: 1 }] }]);
    const pointers = exchange(tooLong, timestamp, full).map(({ icmp }) => icmp.kind === 'parameterProblem' && icmp.pointer);
    expect(pointers).toEqual([21, 22, 23]);
  });

  it('a Timestamp slot that does not fit behind its pointer is malformed; a full one with room in the overflow count is not', () => {
    // Flag 1 (address and timestamp): pointer 9 needs octets 9–16 of a 12-octet option.
    expect(ipv4OptionsVerdict(Uint8Array.of(68, 12, 9, 0x01, 0, 0, 0, 0, 0, 0, 0, 0))).toEqual({ kind: 'parameterProblem', pointer: 22 });
    expect(ipv4OptionsVerdict(Uint8Array.of(68, 12, 13, 0x31, 1, 2, 3, 4, 0, 0, 0, 5))).toEqual({ kind: 'accept' });
    expect(ipv4OptionsVerdict(Uint8Array.of(1, 7, 3, 4, 0, 0, 0, 0, 0))).toEqual({ kind: 'accept' });
    expect(ipv4OptionsVerdict(Uint8Array.of(1, 7, 1))).toEqual({ kind: 'parameterProblem', pointer: 21 });
    expect(ipv4OptionsVerdict(Uint8Array.of(7))).toEqual({ kind: 'parameterProblem', pointer: 20 });
  });

  it('the well-formed Record Route of an echo request still comes back filled in', () => {
    const { exchange } = host();
    const [{ icmp, ip }] = exchange(echoRequest([{ kind: 'recordRoute', pointer: 4, route: [0, 0] }]));
    expect(icmp.kind).toBe('echoReply');
    expect(ip.options).toEqual([
      { kind: 'recordRoute', pointer: 8, route: [HOST, 0] },
      { kind: 'endOfList', padding: new Uint8Array(0) },
    ]);
  });

  it('no Parameter Problem about a broadcast; none past the per-destination rate limit', () => {
    const { stack, exchange } = host();
    const bad: Ipv4Option[] = [{ kind: 'recordRoute', pointer: 2, route: [0] }];
    expect(exchange(echoRequest(bad, addr('10.0.0.255')))).toEqual([]);
    expect(stack.stats.get('icmp.tx.suppressed.toBroadcast')).toBe(1);
    const answers = exchange(...Array.from({ length: 20 }, () => echoRequest(bad)));
    expect(answers.map(({ icmp }) => icmp.kind)).toEqual(new Array(6).fill('parameterProblem'));
    expect(stack.stats.get('icmp.tx.rateLimited.destination')).toBe(14);
    expect(stack.stats.get('drop.ipv4.badOption')).toBe(21);
  });

  it('a packet not for a host is dropped as not for us, with no Parameter Problem', () => {
    const { stack, exchange } = host();
    expect(exchange(echoRequest([{ kind: 'recordRoute', pointer: 2, route: [0] }], FAR))).toEqual([]);
    expect(stack.stats.get('drop.ipv4.notForUs')).toBe(1);
    expect(stack.stats.get('drop.ipv4.badOption')).toBe(0);
  });
});

describe('echo requests with a non-zero code (RFC 1122 §3.2.2.6)', () => {
  it('are answered with the same identifier, sequence and data, the reply keeping the code as Linux does', () => {
    const { stack, exchange } = host();
    const data = pattern(24);
    const request: Icmpv4Repr = { kind: 'other', type: 8, code: 9, restOfHeader: ((0x1234 << 16) | 0x0042) >>> 0, data };
    const answers = exchange(ipv4Frame({ source: PEER, destination: HOST, protocol: IpProtocol.ICMP }, icmpBytes(request)));
    expect(answers.map(({ icmp, ip }) => [ip.destination, icmp])).toEqual([
      [PEER, { kind: 'other', type: 0, code: 9, restOfHeader: request.restOfHeader, data }],
    ]);
    expect(stack.stats.get('icmp.tx.echoReply')).toBe(1);
    expect(stack.stats.get('icmp.rx.other')).toBe(0);
  });
});
