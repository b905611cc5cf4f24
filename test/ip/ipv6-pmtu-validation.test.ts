/**
 * A Packet Too Big about a TCP segment lowers the path MTU only once TCP has found the quoted
 * segment in its window (RFC 5927 §4.1, RFC 8201 §6; Linux's tcp_v6_err checks the sequence
 * number before tcp_v6_mtu_reduced touches the route). Found by the fuzzer (seed 17, epoch 14):
 * a forged, out-of-window Packet Too Big lowered the path MTU to 1400 while the connection kept
 * its MSS of 1388, so every segment left in IPv6 fragments.
 */
import { describe, expect, it } from 'vitest';
import { ourSegment } from '../../src/fuzz/frames.js';
import { unwrap } from '../../src/core/result.js';
import { emitIcmpv6, icmpv6Length, type Icmpv6Repr } from '../../src/ip/icmpv6.js';
import { parseIpv6Address, type Ipv6Address } from '../../src/ip/ipv6-address.js';
import { emitIpv6, Ipv6NextHeader } from '../../src/ip/ipv6.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import { emitUdp } from '../../src/udp/udp-packet.js';

const CLIENT = parseIpv6Address('fd00::1')!;
const SERVER = parseIpv6Address('fd00::2')!;
const ROUTER = parseIpv6Address('fd00::fe')!;

function ipv6(source: Ipv6Address, destination: Ipv6Address, nextHeader: number, payload: Uint8Array): Uint8Array {
  const packet = new Uint8Array(40 + payload.length);
  emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLength: payload.length, nextHeader, hopLimit: 64, source, destination }, packet);
  packet.set(payload, 40);
  return packet;
}

/** A router's Packet Too Big to the client, quoting `quoted` (a packet the client sent). */
function packetTooBig(mtu: number, quoted: Uint8Array): Uint8Array {
  const repr: Icmpv6Repr = { kind: 'packetTooBig', code: 0, mtu, quoted };
  const message = new Uint8Array(icmpv6Length(repr));
  emitIcmpv6(repr, message, ROUTER, CLIENT);
  return ipv6(ROUTER, CLIENT, Ipv6NextHeader.ICMPV6, message);
}

/** The client's segment on `connection` with sequence number `seq`, as it would have left. */
function quotedSegment(connection: TcpConnection, seq: number): Uint8Array {
  return ipv6(CLIENT, SERVER, Ipv6NextHeader.TCP, ourSegment(connection, seq, new Uint8Array(0), CLIENT, SERVER));
}

function connected() {
  const net = new VirtualNetwork(3);
  const client = net.createStack('client');
  const server = net.createStack('server');
  net.connect(
    { stack: client, address: '10.0.0.1/24', address6: 'fd00::1/64' },
    { stack: server, address: '10.0.0.2/24', address6: 'fd00::2/64' },
    { latencyMs: 1 },
  );
  unwrap(server.tcp.listen('::', 80));
  const connection = unwrap(client.tcp.connect('fd00::2', 80));
  net.runUntil(() => connection.state === 'ESTABLISHED');
  // Data in flight, so that the window [SND.UNA, SND.NXT) is not empty.
  connection.send(new Uint8Array(4000));
  client.poll(net.now);
  return { net, client, connection };
}

describe('Packet Too Big about TCP is checked against the connection first (RFC 5927 §4.1)', () => {
  it('an out-of-window Packet Too Big changes neither the path MTU nor the MSS, and is counted', () => {
    const { net, client, connection } = connected();
    const mss = connection.sendMss;
    expect(client.ip6.mtuTo(SERVER)).toBe(1500);
    client.receive('eth0', packetTooBig(1400, quotedSegment(connection, (connection.sndUna - 100_000) >>> 0)), net.now);
    expect(client.stats.get('drop.tcp.icmpOutOfWindow')).toBe(1);
    expect(client.ip6.mtuTo(SERVER)).toBe(1500);
    expect(connection.sendMss).toBe(mss);
    expect(client.stats.get('tcp.pmtu.mssLowered')).toBe(0);
  });

  it('an in-window one lowers both (RFC 8201 §5.2): the MSS to the path MTU − 60 − timestamps', () => {
    const { net, client, connection } = connected();
    client.receive('eth0', packetTooBig(1400, quotedSegment(connection, connection.sndUna)), net.now);
    expect(client.ip6.mtuTo(SERVER)).toBe(1400);
    expect(connection.sendMss).toBe(1400 - 60 - (connection.timestamps.enabled ? 12 : 0));
    expect(client.stats.get('tcp.pmtu.mssLowered')).toBe(1);
  });

  it('a Packet Too Big about a UDP datagram we sent lowers the path MTU (nothing above IP can check it), and TCP connections to that destination take the smaller MSS and finish (RFC 8201 §5.2)', () => {
    const { net, client, connection } = connected();
    const datagram = new Uint8Array(8 + 20);
    emitUdp({ sourcePort: 5000, destinationPort: 53, payload: new Uint8Array(20) }, datagram, { source: CLIENT, destination: SERVER });
    client.receive('eth0', packetTooBig(1300, ipv6(CLIENT, SERVER, Ipv6NextHeader.UDP, datagram)), net.now);
    expect(client.ip6.mtuTo(SERVER)).toBe(1300);
    // The path holds for every packet to the destination: the connection's segments must fit it
    // (Linux's tcp_current_mss follows the route's MTU), or they could never leave.
    expect(connection.sendMss).toBe(1300 - 60 - (connection.timestamps.enabled ? 12 : 0));
    connection.send(new Uint8Array(20_000));
    net.runUntil(() => connection.sndUna === connection.sndNxt, 10_000);
    expect(connection.flightSize).toBe(0);
  });
});
