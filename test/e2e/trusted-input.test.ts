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
    const rng = new Rng(77);
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      const frame = templates[rng.nextInt(0, templates.length)].slice();
      // Damage past the IP header, where only the codecs' checks remain once trusted.
      for (let flips = rng.nextInt(1, 4); flips > 0; flips--) frame[rng.nextInt(20, frame.length)] ^= 1 << rng.nextInt(0, 8);
      // One in ten also cut short.
      stack.receive('tun0', rng.nextFloat() < 0.1 ? frame.subarray(0, rng.nextInt(20, frame.length)) : frame, now, true);
      now += 0.5;
      if (i % 100 === 0) stack.poll(now);
    }
    stack.poll(now + 600_000);
    expect(stack.lastInternalError).toBe(null);
    expect(stack.stats.get('drop.internalError')).toBe(0);
    expect(stack.stats.sum('drop.')).toBeGreaterThan(0);
    // Bounded: connections left over are few and time out; the UDP queue is within its buffer.
    expect(stack.tcp.listConnections().length).toBeLessThan(200);
    // Still working: an undamaged ping is answered.
    const before = stack.stats.get('icmp.tx.echoReply');
    stack.receive('tun0', templates[5], now + 600_001, true);
    expect(stack.stats.get('icmp.tx.echoReply')).toBe(before + 1);
  });
});
