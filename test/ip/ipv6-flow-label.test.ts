/**
 * Automatic flow labels kept per flow (RFC 6437 §3, src/ip/ipv6-flow-label.ts): a TCP connection
 * and a connected UDP socket hash their label once and put it on every packet, as Linux keeps a
 * socket's sk_txhash; a retransmission timeout re-rolls a connection's label, as Linux's
 * sk_rethink_txhash, and counts it in tcpi_rehash. Virtual time, bare-IP wire, captured.
 */
import { describe, expect, it, vi } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { parseIpv6Address } from '../../src/ip/ipv6-address.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import { tcpInfo } from '../../src/tcp/tcp-info.js';
import { tcpSegment } from '../../src/fuzz/frames.js';
import { ipv6Packet } from '../../src/fuzz/frames6.js';

interface Labelled {
  readonly label: number;
  readonly source: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly nextHeader: number;
  readonly flags: number;
}

/** Every IPv6 TCP or UDP packet of a bare-IP capture: its label, source, ports and TCP flags. */
function packets(capture: Uint8Array): Labelled[] {
  const read = readCapture(capture);
  if (!read.ok || read.value.format !== 'pcap') throw new Error('unreadable capture');
  return read.value.records
    .map((record) => record.data)
    .filter((frame) => frame[0] >> 4 === 6 && (frame[6] === 6 || frame[6] === 17))
    .map((frame) => ({
      label: ((frame[1] & 0x0f) << 16) | (frame[2] << 8) | frame[3],
      source: [...frame.subarray(8, 24)].map((byte) => byte.toString(16).padStart(2, '0')).join(''),
      sourcePort: (frame[40] << 8) | frame[41],
      destinationPort: (frame[42] << 8) | frame[43],
      nextHeader: frame[6],
      flags: frame[6] === 6 ? frame[53] : 0,
    }));
}

function setup(seed = 7) {
  const net = new VirtualNetwork(seed);
  const a = net.createStack('a');
  const b = net.createStack('b');
  const wire = net.connect(
    { stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64', capture: true },
    { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' },
  );
  return { net, a, b, tap: wire.a.tap! };
}

const A6 = parseIpv6Address('fd00::1')!;
const B6 = parseIpv6Address('fd00::2')!;

const OURS = [...parseIpv6Address('fd00::1')!].map((byte) => byte.toString(16).padStart(2, '0')).join('');

/** Opens a connection from a to b's port, sends `size` bytes, and waits until b has them all. */
function transfer(setupResult: ReturnType<typeof setup>, port: number, size: number): { client: TcpConnection; server: TcpConnection } {
  const { net, a, b } = setupResult;
  const listener = unwrap(b.tcp.listen('::', port));
  let server: TcpConnection | null = null;
  let received = 0;
  listener.onAcceptable = () => {
    server = listener.accept();
    server!.events.onReadable = () => {
      for (let chunk = server!.receive(); chunk.length > 0; chunk = server!.receive()) received += chunk.length;
    };
  };
  const client = unwrap(a.tcp.connect('fd00::2', port));
  const data = new Rng(port).bytes(size);
  let offset = 0;
  const pump = () => {
    while (offset < data.length) {
      const sent = client.send(data.subarray(offset, offset + 65536));
      if (!sent.ok || sent.value === 0) break;
      offset += sent.value;
    }
  };
  client.events.onConnect = pump;
  client.events.onWritable = pump;
  net.runUntil(() => received === size, 60_000);
  return { client, server: server! };
}

describe('automatic flow labels kept per flow (RFC 6437 §3)', () => {
  it("every segment of a connection carries the label it computed once; a second connection's label differs; the hash runs once per connection, not per segment", () => {
    const world = setup();
    const hashes = vi.spyOn(world.a.ip6.flowLabels, 'label');
    const first = transfer(world, 8001, 200_000);
    const second = transfer(world, 8002, 200_000);
    const sent = packets(world.tap.toBytes()).filter((packet) => packet.source === OURS && packet.nextHeader === 6);
    const ofFirst = sent.filter((packet) => packet.sourcePort === first.client.localPort);
    const ofSecond = sent.filter((packet) => packet.sourcePort === second.client.localPort);
    expect(ofFirst.length).toBeGreaterThan(100);
    expect(ofSecond.length).toBeGreaterThan(100);
    expect(new Set(ofFirst.map((packet) => packet.label))).toEqual(new Set([first.client.flowLabel]));
    expect(new Set(ofSecond.map((packet) => packet.label))).toEqual(new Set([second.client.flowLabel]));
    expect(first.client.flowLabel).not.toBe(second.client.flowLabel);
    expect(first.client.flowLabel).toBeGreaterThan(0);
    // The label is what the IPv6 layer's stateless hash gives the flow (so a reset sent for it
    // without the connection carries the same): generation 0 of its 5-tuple.
    const fresh = world.a.ip6.flowLabels.label(parseIpv6Address('fd00::1')!, parseIpv6Address('fd00::2')!, 6, first.client.localPort, 8001);
    expect(fresh).toBe(first.client.flowLabel);
    // Two connections, one hash each (the call just above is the test's own).
    expect(hashes).toHaveBeenCalledTimes(3);
    // The passive side keeps its own: one label on every segment b sent for the first connection.
    expect(first.server.flowLabel).toBeGreaterThan(0);
    expect(first.server.flowLabel).not.toBe(first.client.flowLabel);
    expect(tcpInfo(first.client, world.net.now).rehash).toBe(0);
  });

  it('a retransmission timeout re-rolls the label (Linux sk_rethink_txhash): the retransmission and what follows carry the new one, tcpi_rehash counts it; the SYN retransmissions each get a new one too', () => {
    const world = setup();
    const { net, a, b, tap } = world;
    const { client, server } = transfer(world, 8003, 50_000);
    const before = client.flowLabel;
    // b stops answering (its address gone): our next segment times out, twice.
    b.ip6.removeAddress('eth0', parseIpv6Address('fd00::2')!, net.now);
    const stuck = new Rng(3).bytes(10_000);
    expect(unwrap(client.send(stuck))).toBe(stuck.length);
    const rtoBefore = a.stats.get('tcp.rto.fired');
    net.runUntil(() => a.stats.get('tcp.rto.fired') >= rtoBefore + 2, 60_000);
    expect(client.flowLabelRehashes).toBe(2);
    expect(tcpInfo(client, net.now).rehash).toBe(2);
    // b answers again: the next timeout's retransmission (on a third label) gets through, and
    // the connection finishes on that label.
    b.ip6.addAddress('eth0', { address: parseIpv6Address('fd00::2')!, prefixLength: 64 }, net.now);
    net.runUntil(() => client.sndUna === client.sndNxt, 120_000);
    const rehashes = client.flowLabelRehashes;
    expect(rehashes).toBe(a.stats.get('tcp.rto.fired') - rtoBefore);
    expect(tcpInfo(client, net.now).rehash).toBe(rehashes);
    const labels = packets(tap.toBytes())
      .filter((packet) => packet.source === OURS && packet.sourcePort === client.localPort)
      .map((packet) => packet.label);
    // The first label, then one per timeout, each used until the next: never back to an old one.
    const runs = labels.filter((label, i) => i === 0 || label !== labels[i - 1]);
    expect(runs).toHaveLength(rehashes + 1);
    expect(new Set(runs).size).toBe(rehashes + 1);
    expect(runs[0]).toBe(before);
    expect(labels.at(-1)).toBe(client.flowLabel);

    // TIME-WAIT (a compact record, tcp/time-wait.ts) keeps that label: its ACK of a repeated FIN
    // carries the connection's last one, as Linux's tw_flowlabel — not the flow's first.
    const finalLabel = client.flowLabel;
    expect(finalLabel).not.toBe(before);
    client.close();
    net.runUntil(() => server.state === 'CLOSE-WAIT', 10_000);
    server.close();
    net.runUntil(() => a.tcp.timeWaitCount === 1, 10_000);
    const record = a.tcp.listTimeWait()[0];
    const segment = tcpSegment(
      {
        srcPort: 8003,
        dstPort: client.localPort,
        seq: (record.rcvNxt - 1) >>> 0,
        ack: record.sndNxt,
        flags: 0x011, // FIN, ACK
        window: 1000,
        urgentPointer: 0,
        options: [{ kind: 'noOperation' }, { kind: 'noOperation' }, { kind: 'timestamps', tsVal: (record.tsRecent + 1) >>> 0, tsEcr: 0 }],
        payload: new Uint8Array(0),
      },
      B6,
      A6,
    );
    const sentBefore = packets(tap.toBytes()).length;
    a.receive('eth0', ipv6Packet({ source: B6, destination: A6 }, 6, segment), net.now);
    net.runUntilIdle();
    const answer = packets(tap.toBytes())
      .slice(sentBefore)
      .filter((packet) => packet.source === OURS && packet.sourcePort === client.localPort);
    expect(answer.map((packet) => [packet.flags, packet.label])).toEqual([[0x10, finalLabel]]);

    // SYN-SENT: each SYN retransmission leaves with a new label (tcp_write_timeout rethinks there too).
    const unanswered = unwrap(a.tcp.connect('fd00::99', 9000));
    a.addRoute('fd00::99/128', { via: 'fd00::2' });
    net.runUntil(() => unanswered.flowLabelRehashes >= 2, 60_000);
    const syns = packets(tap.toBytes()).filter((packet) => packet.source === OURS && packet.sourcePort === unanswered.localPort);
    expect(syns.length).toBeGreaterThanOrEqual(3);
    expect(new Set(syns.slice(0, 3).map((packet) => packet.label)).size).toBe(3);
    unanswered.abort();
  });

  it('a connected UDP socket labels its datagrams once (until the next connect); sendto elsewhere and unconnected sockets are labelled per datagram, alike for the same flow', async () => {
    const world = setup();
    const { net, a, b, tap } = world;
    const sink = b.udp.open(6);
    expect(sink.bind('::', 5000).ok).toBe(true);
    const other = b.udp.open(6);
    expect(other.bind('::', 5001).ok).toBe(true);
    const hashes = vi.spyOn(a.ip6.flowLabels, 'label');
    const connected = a.udp.open(6);
    expect(connected.connect('fd00::2', 5000).ok).toBe(true);
    expect(connected.flowLabel).toBe(null);
    for (let i = 0; i < 5; i++) expect(connected.send(new Uint8Array([i])).ok).toBe(true);
    expect(hashes).toHaveBeenCalledTimes(1);
    const label = connected.flowLabel!;
    expect(label).toBeGreaterThan(0);
    // sendto another port on the connected socket: that flow's own label, hashed per datagram.
    expect(connected.send(new Uint8Array([9]), 'fd00::2', 5001).ok).toBe(true);
    // An unconnected socket from the same port cannot exist; one from another port: its own label.
    const unconnected = a.udp.open(6);
    expect(unconnected.send(new Uint8Array([1]), 'fd00::2', 5000).ok).toBe(true);
    expect(unconnected.send(new Uint8Array([2]), 'fd00::2', 5000).ok).toBe(true);
    net.runUntilIdle();
    const datagrams = packets(tap.toBytes()).filter((packet) => packet.source === OURS && packet.nextHeader === 17);
    const connectedFlow = datagrams.filter((packet) => packet.sourcePort === connected.localPort && packet.destinationPort === 5000);
    expect(connectedFlow.map((packet) => packet.label)).toEqual([label, label, label, label, label]);
    const elsewhere = datagrams.find((packet) => packet.sourcePort === connected.localPort && packet.destinationPort === 5001)!;
    expect(elsewhere.label).not.toBe(label);
    const unconnectedLabels = datagrams.filter((packet) => packet.sourcePort === unconnected.localPort).map((packet) => packet.label);
    expect(unconnectedLabels).toHaveLength(2);
    expect(unconnectedLabels[0]).toBe(unconnectedLabels[1]);
    expect(unconnectedLabels[0]).not.toBe(label);
    // The connected flow's label is its stateless hash: a datagram of that flow labelled by the
    // IPv6 layer (connected to another peer, then sendto back) carries the same.
    expect(connected.connect('fd00::2', 5001).ok).toBe(true);
    expect(connected.flowLabel).toBe(null);
    expect(connected.send(new Uint8Array([7]), 'fd00::2', 5000).ok).toBe(true);
    net.runUntilIdle();
    const last = packets(tap.toBytes())
      .filter((packet) => packet.source === OURS && packet.nextHeader === 17)
      .at(-1)!;
    expect([last.destinationPort, last.label]).toEqual([5000, label]);
    connected.close();
    unconnected.close();
    sink.close();
    other.close();
  });
});
