/**
 * What IPv6 sockets put on packets beyond addresses: automatic flow labels (RFC 6437 §3, as
 * Linux's auto_flowlabels) and the multicast options IPV6_MULTICAST_IF and IPV6_MULTICAST_LOOP
 * (RFC 3493 §5.2), with Node's dgram calls that set them (libuv's uv_udp_set_multicast_*).
 */
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/pcap/pcap.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

/** The flow label and ports of every IPv6 TCP or UDP packet in a capture of bare IP frames. */
function flows(capture: Uint8Array): Array<{ label: number; ports: string; nextHeader: number }> {
  const read = readCapture(capture);
  if (!read.ok || read.value.format !== 'pcap') throw new Error('unreadable capture');
  return read.value.records
    .map((record) => record.data)
    .filter((frame) => frame[0] >> 4 === 6 && (frame[6] === 6 || frame[6] === 17))
    .map((frame) => ({
      label: ((frame[1] & 0x0f) << 16) | (frame[2] << 8) | frame[3],
      ports: `${(frame[40] << 8) | frame[41]}>${(frame[42] << 8) | frame[43]}`,
      nextHeader: frame[6],
    }));
}

function captured(seed: number) {
  const net = new VirtualNetwork(seed);
  const a = net.createStack('a');
  const b = net.createStack('b');
  const wire = net.connect(
    { stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64', capture: true },
    { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' },
  );
  return { net, a, b, tap: wire.a.tap! };
}

/** Lets the drop-ins' events (each 'message' on a later turn) run out, in virtual time. */
async function settle(net: VirtualNetwork): Promise<void> {
  await net.runAsync(async () => {
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  });
}

async function tcpExchange(net: VirtualNetwork, a: Stack, b: Stack, port: number): Promise<void> {
  const server = b.net.createServer((socket) => socket.end('reply'));
  await net.runAsync(new Promise<void>((resolve) => server.listen(port, '::', resolve)));
  for (let i = 0; i < 2; i++) {
    const socket = a.net.connect({ host: 'fd00::2', port });
    await net.runAsync(
      new Promise<void>((resolve) =>
        socket
          .on('close', () => resolve())
          .end('hello')
          .resume(),
      ),
    );
  }
  server.close();
}

describe('flow labels on sent packets (RFC 6437)', () => {
  it('every packet of a TCP or UDP flow carries one non-zero label, each direction its own; other flows other labels; the same seed the same labels', async () => {
    const run = async (seed: number) => {
      const { net, a, b, tap } = captured(seed);
      await tcpExchange(net, a, b, 8000);
      const udp = a.dgram.createSocket('udp6');
      const sink = b.dgram.createSocket('udp6');
      await net.runAsync(new Promise<void>((resolve) => sink.bind(5000, resolve)));
      for (let i = 0; i < 3; i++)
        await net.runAsync(
          new Promise<void>((resolve, reject) => udp.send('x', 5000, 'fd00::2', (error: Error | null) => (error ? reject(error) : resolve()))),
        );
      await settle(net);
      udp.close();
      sink.close();
      return flows(tap.toBytes());
    };
    const packets = await run(41);
    const byFlow = new Map<string, Set<number>>();
    for (const packet of packets)
      byFlow.set(`${packet.nextHeader} ${packet.ports}`, (byFlow.get(`${packet.nextHeader} ${packet.ports}`) ?? new Set()).add(packet.label));
    // Two TCP connections (each way a flow) and one UDP flow.
    expect(byFlow.size).toBe(5);
    for (const [flow, labels] of byFlow) {
      expect([flow, labels.size]).toEqual([flow, 1]);
      expect([...labels][0]).toBeGreaterThan(0);
    }
    const labels = [...byFlow.values()].map((set) => [...set][0]);
    expect(new Set(labels).size).toBe(5);
    // The key comes from the seeded Rng: the same run gives the same labels, another seed others.
    expect((await run(41)).map((p) => p.label)).toEqual(packets.map((p) => p.label));
    expect(new Set((await run(42)).map((p) => p.label))).not.toEqual(new Set(labels));
  });

  it('a label given by the sender is kept; ICMPv6 (echo, and so NDP and MLD) goes with 0, as Linux sends its Neighbor Discovery', async () => {
    const { net, a, tap } = captured(43);
    const api = new BerkeleySockets(a);
    const raw = api.socket(C.AF_INET6, C.SOCK_RAW, C.IPPROTO_ICMPV6);
    await api.sendto(raw, Uint8Array.from([128, 0, 0, 0, 0, 1, 0, 1]), { address: 'fd00::2', port: 0 });
    net.runUntilIdle();
    const read = readCapture(tap.toBytes());
    if (!read.ok || read.value.format !== 'pcap') throw new Error('unreadable capture');
    const icmp = read.value.records.map((r) => r.data).filter((frame) => frame[0] >> 4 === 6 && frame[6] === 58);
    expect(icmp.length).toBeGreaterThanOrEqual(1);
    for (const frame of icmp) expect(((frame[1] & 0x0f) << 16) | (frame[2] << 8) | frame[3]).toBe(0);
  });
});

describe('IPV6_MULTICAST_IF and IPV6_MULTICAST_LOOP', () => {
  /** A host `a` on two wires (to b on eth0 and c on eth1), both with IPv6. */
  function twoLinks() {
    const net = new VirtualNetwork(44);
    const a = net.createStack('a');
    const b = net.createStack('b');
    const c = net.createStack('c');
    net.connect(
      { stack: a, address: '10.0.0.1/24', address6: 'fd00::1/64', interfaceName: 'eth0' },
      { stack: b, address: '10.0.0.2/24', address6: 'fd00::2/64' },
    );
    net.connect(
      { stack: a, address: '10.1.0.1/24', address6: 'fd01::1/64', interfaceName: 'eth1' },
      { stack: c, address: '10.1.0.2/24', address6: 'fd01::2/64' },
    );
    return { net, a, b, c };
  }

  async function listen(net: VirtualNetwork, stack: Stack, group: string): Promise<string[]> {
    const got: string[] = [];
    const socket = stack.dgram.createSocket({ type: 'udp6', reuseAddr: true });
    socket.on('message', (message) => got.push(message.toString()));
    await net.runAsync(new Promise<void>((resolve) => socket.bind(6000, resolve)));
    socket.addMembership(group);
    return got;
  }

  it('IPV6_MULTICAST_IF (an interface index; 0 the routes) chooses the link a group datagram leaves by; an unknown index is ENODEV', async () => {
    const { net, a, b, c } = twoLinks();
    const atB = await listen(net, b, 'ff02::1:3');
    const atC = await listen(net, c, 'ff02::1:3');
    const api = new BerkeleySockets(a);
    const s = api.socket(C.AF_INET6, C.SOCK_DGRAM);
    const names = a.ip.listInterfaces().map((iface) => iface.name);
    expect(names[0]).toBe('lo'); // index 1, as Linux numbers its loopback
    const eth1 = names.indexOf('eth1') + 1;
    expect(api.getsockopt(s, C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF)).toBe(0);
    api.setsockopt(s, C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF, eth1);
    expect(api.getsockopt(s, C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF)).toBe(eth1);
    await api.sendto(s, new TextEncoder().encode('by eth1'), { address: 'ff02::1:3', port: 6000 });
    api.setsockopt(s, C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF, names.indexOf('eth0') + 1);
    await api.sendto(s, new TextEncoder().encode('by eth0'), { address: 'ff02::1:3', port: 6000 });
    await settle(net);
    expect([atB, atC]).toEqual([['by eth0'], ['by eth1']]);
    expect(() => api.setsockopt(s, C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF, 99)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    const v4 = api.socket(C.AF_INET, C.SOCK_DGRAM);
    expect(() => api.setsockopt(v4, C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF, 0)).toThrow(expect.objectContaining({ code: 'ENOPROTOOPT' }));
  });

  it("IPV6_MULTICAST_LOOP (0 or 1) decides whether this host's own members get the datagram; Node's udp6 setMulticastLoopback sets it", async () => {
    const { net, a } = twoLinks();
    const own = await listen(net, a, 'ff02::1:4');
    const api = new BerkeleySockets(a);
    const s = api.socket(C.AF_INET6, C.SOCK_DGRAM);
    expect(api.getsockopt(s, C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP)).toBe(1);
    await api.sendto(s, new TextEncoder().encode('looped'), { address: 'ff02::1:4', port: 6000 });
    api.setsockopt(s, C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP, 0);
    expect(api.getsockopt(s, C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP)).toBe(0);
    await api.sendto(s, new TextEncoder().encode('not looped'), { address: 'ff02::1:4', port: 6000 });
    expect(() => api.setsockopt(s, C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP, 2)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const node = a.dgram.createSocket('udp6');
    await net.runAsync(new Promise<void>((resolve) => node.bind(0, resolve)));
    node.setMulticastLoopback(false);
    await net.runAsync(new Promise<void>((resolve) => node.send('node, not looped', 6000, 'ff02::1:4', () => resolve())));
    node.setMulticastLoopback(true);
    await net.runAsync(new Promise<void>((resolve) => node.send('node, looped', 6000, 'ff02::1:4', () => resolve())));
    await settle(net);
    expect(own).toEqual(['looped', 'node, looped']);
    node.close();
  });

  it("Node's udp6 setMulticastInterface takes an address whose zone names the interface (libuv), '' is EINVAL; a udp4 socket refuses an IPv6 one", async () => {
    const { net, a, b, c } = twoLinks();
    const atB = await listen(net, b, 'ff02::1:5');
    const atC = await listen(net, c, 'ff02::1:5');
    const node = a.dgram.createSocket('udp6');
    await net.runAsync(new Promise<void>((resolve) => node.bind(0, resolve)));
    node.setMulticastInterface('::%eth1');
    await net.runAsync(new Promise<void>((resolve) => node.send('via eth1', 6000, 'ff02::1:5', () => resolve())));
    node.setMulticastInterface('::%nosuch'); // an unknown zone: if_nametoindex's 0, the routes' choice
    expect(() => node.setMulticastInterface('')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => node.setMulticastInterface('undefined')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const v4 = a.dgram.createSocket('udp4');
    await net.runAsync(new Promise<void>((resolve) => v4.bind(0, resolve)));
    expect(() => v4.setMulticastInterface('::')).toThrow(expect.objectContaining({ code: 'ENOPROTOOPT' }));
    await settle(net);
    expect([atB, atC]).toEqual([[], ['via eth1']]);
    node.close();
    v4.close();
  });
});
