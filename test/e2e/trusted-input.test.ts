/**
 * Frames a device vouches for (FrameReceiver's `checksumTrusted`: a TUN with offload) skip the
 * TCP and UDP checksum, so nothing but the codecs' length and field checks stands between damaged
 * bytes and the protocol state. Seeded random damage to valid TCP, UDP, ICMP and IGMP frames,
 * delivered as trusted to a host with a listener, a connection and sockets: nothing throws,
 * memory stays bounded, and the host still works afterwards.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { unwrap } from '../../src/core/result.js';
import { emitIgmp, IGMP_PROTOCOL, IgmpType } from '../../src/ip/igmp.js';
import { emitIcmpv4, icmpv4Length } from '../../src/ip/icmpv4.js';
import { IpProtocol } from '../../src/ip/ipv4.js';
import type { FrameReceiver, Link } from '../../src/link/link.js';
import { Stack } from '../../src/socket-api/stack.js';
import { emitTcp, TcpFlag, tcpLength, type TcpRepr } from '../../src/tcp/tcp-packet.js';
import { addr, ipv4Frame, pattern, udpFrame } from '../support/packets.js';
import { emitIcmpv6, icmpv6Length, type Icmpv6Repr } from '../../src/ip/icmpv6.js';
import { parseIpv6Address, type Ipv6Address } from '../../src/ip/ipv6-address.js';
import { emitIpv6, Ipv6NextHeader } from '../../src/ip/ipv6.js';
import { emitUdp } from '../../src/udp/udp-packet.js';

class SinkLink implements Link {
  readonly name = 'tun0';
  readonly medium = 'ip' as const;
  readonly mtu = 1500;
  readonly tcpSegmentationMax = 65535;
  sent = 0;
  transmit(): void {
    this.sent++;
  }
  setReceiver(_receiver: FrameReceiver): void {}
  pollAt(): number {
    return Infinity;
  }
  poll(): void {}
}

const PEER = addr('10.0.0.1');
const HOST = addr('10.0.0.2');

function tcp(flags: number, seq: number, ack: number, payload: Uint8Array): Uint8Array {
  const repr: TcpRepr = {
    srcPort: 40000,
    dstPort: 80,
    seq,
    ack,
    flags,
    window: 65535,
    urgentPointer: 0,
    options: [{ kind: 'maxSegmentSize', mss: 1460 }],
    payload,
  };
  const segment = new Uint8Array(tcpLength(repr));
  emitTcp(repr, segment, { source: PEER, destination: HOST });
  return ipv4Frame({ source: PEER, destination: HOST, protocol: IpProtocol.TCP }, segment);
}

const PEER6 = parseIpv6Address('fd00::1')!;
const HOST6 = parseIpv6Address('fd00::2')!;

/** An IPv6 packet from PEER6 to `destination` carrying `payload` of `nextHeader`. */
function ipv6Frame(nextHeader: number, payload: Uint8Array, destination: Ipv6Address = HOST6): Uint8Array {
  const packet = new Uint8Array(40 + payload.length);
  emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLength: payload.length, nextHeader, hopLimit: 64, source: PEER6, destination }, packet);
  packet.set(payload, 40);
  return packet;
}

function tcp6(flags: number, seq: number, ack: number, payload: Uint8Array): Uint8Array {
  const repr: TcpRepr = {
    srcPort: 40000,
    dstPort: 80,
    seq,
    ack,
    flags,
    window: 65535,
    urgentPointer: 0,
    options: [{ kind: 'maxSegmentSize', mss: 1440 }],
    payload,
  };
  const segment = new Uint8Array(tcpLength(repr));
  emitTcp(repr, segment, { source: PEER6, destination: HOST6 });
  return ipv6Frame(Ipv6NextHeader.TCP, segment);
}

function udp6(payload: Uint8Array): Uint8Array {
  const datagram = new Uint8Array(8 + payload.length);
  emitUdp({ sourcePort: 5000, destinationPort: 7, payload }, datagram, { source: PEER6, destination: HOST6 });
  return ipv6Frame(Ipv6NextHeader.UDP, datagram);
}

function icmp6(repr: Icmpv6Repr, destination: Ipv6Address = HOST6): Uint8Array {
  const message = new Uint8Array(icmpv6Length(repr));
  emitIcmpv6(repr, message, PEER6, destination);
  return ipv6Frame(Ipv6NextHeader.ICMPV6, message, destination);
}

/**
 * 20,000 of `templates`, each with 1–3 bits flipped after its first `headerLength` bytes and one
 * in ten also cut short, taken as trusted (checksums not checked); then checks that nothing was
 * thrown past the stack, that something was dropped, and that what is left is bounded (few
 * connections, which time out). Returns the virtual time after the run.
 */
function damageTrusted(stack: Stack, templates: readonly Uint8Array[], rng: Rng, headerLength: number): number {
  let now = 0;
  for (let i = 0; i < 20_000; i++) {
    const frame = templates[rng.nextInt(0, templates.length)].slice();
    for (let flips = rng.nextInt(1, 4); flips > 0; flips--) frame[rng.nextInt(headerLength, frame.length)] ^= 1 << rng.nextInt(0, 8);
    stack.receive('tun0', rng.nextFloat() < 0.1 ? frame.subarray(0, rng.nextInt(headerLength, frame.length)) : frame, now, true);
    now += 0.5;
    if (i % 100 === 0) stack.poll(now);
  }
  stack.poll(now + 600_000);
  expect(stack.lastInternalError).toBe(null);
  expect(stack.stats.get('drop.internalError')).toBe(0);
  expect(stack.stats.sum('drop.')).toBeGreaterThan(0);
  expect(stack.tcp.listConnections().length).toBeLessThan(200);
  return now;
}

describe('trusted frames with damage', () => {
  it('20,000 damaged frames taken as trusted: dropped or absorbed, never thrown, and the host still answers', () => {
    const stack = new Stack({ name: 'host', loopback: false });
    stack.addInterface({ name: 'tun0', link: new SinkLink(), address: '10.0.0.2/24' });
    const listener = unwrap(stack.tcp.listen(0, 80));
    listener.onAcceptable = () => {
      for (let c = listener.accept(); c; c = listener.accept()) c.events.onReadable = () => void c.receive();
    };
    const udp = stack.udp.open();
    udp.bind(0, 7);
    udp.joinGroup(addr('239.1.1.1'));
    const ping = new Uint8Array(icmpv4Length({ kind: 'echoRequest', identifier: 1, sequence: 1, data: pattern(32) }));
    emitIcmpv4({ kind: 'echoRequest', identifier: 1, sequence: 1, data: pattern(32) }, ping);
    const igmp = new Uint8Array(8);
    emitIgmp({ type: IgmpType.MEMBERSHIP_QUERY, maxResponseTime: 100, group: 0 }, igmp);
    const templates = [
      tcp(TcpFlag.SYN, 1000, 0, new Uint8Array(0)),
      tcp(TcpFlag.ACK | TcpFlag.PSH, 1001, 1, pattern(1000)),
      tcp(TcpFlag.ACK | TcpFlag.FIN, 2001, 1, new Uint8Array(0)),
      udpFrame({ source: PEER, destination: HOST }, 5000, 7, pattern(200)),
      udpFrame({ source: PEER, destination: addr('239.1.1.1') }, 5000, 7, pattern(20)),
      ipv4Frame({ source: PEER, destination: HOST, protocol: IpProtocol.ICMP }, ping),
      ipv4Frame({ source: PEER, destination: addr('224.0.0.1'), protocol: IGMP_PROTOCOL }, igmp),
    ];
    // Damage past the IP header, where only the codecs' checks remain once trusted.
    const now = damageTrusted(stack, templates, new Rng(77), 20);
    // Still working: an undamaged ping is answered.
    const before = stack.stats.get('icmp.tx.echoReply');
    stack.receive('tun0', templates[5], now + 600_001, true);
    expect(stack.stats.get('icmp.tx.echoReply')).toBe(before + 1);
  });

  it('over IPv6: 20,000 damaged TCP, UDP and ICMPv6 packets taken as trusted: dropped or absorbed, never thrown, and the host still answers', () => {
    const stack = new Stack({ name: 'host', loopback: false });
    stack.addInterface({ name: 'tun0', link: new SinkLink(), address: '10.0.0.2/24', address6: 'fd00::2/64' });
    const listener = unwrap(stack.tcp.listen('::', 80));
    listener.onAcceptable = () => {
      for (let c = listener.accept(); c; c = listener.accept()) c.events.onReadable = () => void c.receive();
    };
    const udp = stack.udp.open(6);
    udp.bind('::', 7);
    const quoted = udp6(pattern(40)).map((b, i) => (i >= 8 && i < 24 ? HOST6[i - 8] : i >= 24 && i < 40 ? PEER6[i - 24] : b));
    const templates = [
      tcp6(TcpFlag.SYN, 1000, 0, new Uint8Array(0)),
      tcp6(TcpFlag.ACK | TcpFlag.PSH, 1001, 1, pattern(1000)),
      tcp6(TcpFlag.ACK | TcpFlag.FIN, 2001, 1, new Uint8Array(0)),
      udp6(pattern(200)),
      icmp6({ kind: 'echoRequest', identifier: 1, sequence: 1, data: pattern(32) }),
      icmp6({ kind: 'packetTooBig', code: 0, mtu: 1280, quoted }),
      icmp6({ kind: 'destinationUnreachable', code: 4, quoted }),
      icmp6({ kind: 'parameterProblem', code: 0, pointer: 6, quoted }),
      icmp6(
        {
          kind: 'mldQuery',
          version: 2,
          maximumResponseCode: 1000,
          reserved: 0,
          multicastAddress: new Uint8Array(16),
          flagsReserved: 0,
          suppressRouterProcessing: false,
          robustness: 2,
          queryIntervalCode: 125,
          sources: [],
        },
        parseIpv6Address('ff02::1')!,
      ),
    ];
    // Damage past the fixed header (IPv6 has no header checksum: only the upper layer's, skipped when trusted).
    const now = damageTrusted(stack, templates, new Rng(78), 40);
    expect(stack.ip6.reassembler.memory).toBe(0);
    const before = stack.stats.get('icmpv6.tx.echoReplies');
    stack.receive('tun0', templates[4], now + 600_001, true);
    expect(stack.stats.get('icmpv6.tx.echoReplies')).toBe(before + 1);
  });
});
