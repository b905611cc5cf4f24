import { describe, expect, it } from 'vitest';
import { IPV4_ANY, IPV4_BROADCAST } from '../../src/ip/address.js';
import { Icmpv4Packet, parseIcmpv4 } from '../../src/ip/icmpv4.js';
import { Ipv4Packet, IpProtocol } from '../../src/ip/ipv4.js';
import type { StackOptions } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { UdpSocket } from '../../src/udp/udp-layer.js';
import { addr, ipv4Frame, pattern, udpDatagram, udpFrame } from '../support/packets.js';
import { attachRawPeer, drive } from '../support/raw-peer.js';

const SERVER = addr('10.0.0.2');
const CLIENT = addr('10.0.0.1');

/** client 10.0.0.1 ── server 10.0.0.2 on one wire. */
function twoHosts(options: { server?: StackOptions; client?: StackOptions; seed?: number } = {}) {
  const net = new VirtualNetwork(options.seed ?? 21);
  const client = net.createStack('client', options.client);
  const server = net.createStack('server', options.server);
  net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
  return { net, client, server };
}

/** The server 10.0.0.2/24 alone, with a raw peer that can claim any source on 10.0.0.0/24. */
function serverWithPeer(options: StackOptions = {}) {
  const net = new VirtualNetwork(22);
  const server = net.createStack('server', options);
  const peer = attachRawPeer(net, server, '10.0.0.2/24');
  return { net, server, peer };
}

function bound(socket: UdpSocket, address: number, port: number, reuse: { address?: boolean; port?: boolean } = {}) {
  socket.options.reuseAddress = reuse.address ?? false;
  socket.options.reusePort = reuse.port ?? false;
  return socket.bind(address, port);
}

function drain(socket: UdpSocket): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let d = socket.receive(); d; d = socket.receive()) out.push(d.payload);
  return out;
}

describe('bind (as Linux)', () => {
  it('a wildcard and a specific address on one port conflict, in either order', () => {
    const { server } = twoHosts();
    expect(bound(server.udp.open(), IPV4_ANY, 5000).ok).toBe(true);
    expect(bound(server.udp.open(), SERVER, 5000)).toEqual({ ok: false, error: 'EADDRINUSE' });
    expect(bound(server.udp.open(), SERVER, 5001).ok).toBe(true);
    expect(bound(server.udp.open(), IPV4_ANY, 5001)).toEqual({ ok: false, error: 'EADDRINUSE' });
    expect(bound(server.udp.open(), IPV4_ANY, 5000)).toEqual({ ok: false, error: 'EADDRINUSE' });
  });

  it('two different specific addresses may share a port', () => {
    const { server } = twoHosts();
    expect(bound(server.udp.open(), SERVER, 5000).ok).toBe(true);
    expect(bound(server.udp.open(), addr('127.0.0.1'), 5000).ok).toBe(true);
  });

  it('refuses an address that is not ours, a second bind, a bad port, and a closed socket', () => {
    const { server } = twoHosts();
    expect(server.udp.open().bind(addr('10.0.0.9'), 5000)).toEqual({ ok: false, error: 'EADDRNOTAVAIL' });
    const socket = server.udp.open();
    expect(socket.bind(IPV4_ANY, 5000).ok).toBe(true);
    expect(socket.bind(IPV4_ANY, 5001)).toEqual({ ok: false, error: 'EINVAL' });
    expect(server.udp.open().bind(IPV4_ANY, 65_536)).toEqual({ ok: false, error: 'EINVAL' });
    expect(server.udp.open().bind(IPV4_ANY, 1.5)).toEqual({ ok: false, error: 'EINVAL' });
    const closed = server.udp.open();
    closed.close();
    expect(closed.bind(IPV4_ANY, 5002)).toEqual({ ok: false, error: 'EBADF' });
  });

  it('SO_REUSEADDR lets sockets share a port only when every one of them set it', () => {
    const { server } = twoHosts();
    expect(bound(server.udp.open(), IPV4_ANY, 6000, { address: true }).ok).toBe(true);
    expect(bound(server.udp.open(), IPV4_ANY, 6000, { address: true }).ok).toBe(true);
    expect(bound(server.udp.open(), SERVER, 6000, { address: true }).ok).toBe(true);
    expect(bound(server.udp.open(), IPV4_ANY, 6000)).toEqual({ ok: false, error: 'EADDRINUSE' });
    expect(bound(server.udp.open(), IPV4_ANY, 6001).ok).toBe(true);
    expect(bound(server.udp.open(), IPV4_ANY, 6001, { address: true })).toEqual({ ok: false, error: 'EADDRINUSE' });
  });

  it('SO_REUSEPORT lets sockets share a port when every one of them set it', () => {
    const { server } = twoHosts();
    expect(bound(server.udp.open(), IPV4_ANY, 6000, { port: true }).ok).toBe(true);
    expect(bound(server.udp.open(), IPV4_ANY, 6000, { port: true }).ok).toBe(true);
    expect(bound(server.udp.open(), IPV4_ANY, 6000, { address: true })).toEqual({ ok: false, error: 'EADDRINUSE' });
  });

  it('closing a socket frees its port', () => {
    const { server } = twoHosts();
    const first = server.udp.open();
    first.bind(IPV4_ANY, 7000);
    first.close();
    expect(server.udp.open().bind(IPV4_ANY, 7000).ok).toBe(true);
  });
});

describe('ephemeral ports (RFC 6056 §3.3.1)', () => {
  it('come from 49152–65535 by default, at a seeded random point', () => {
    const ports = (seed: number) => {
      const { client } = twoHosts({ seed });
      return [0, 1, 2].map(() => {
        const s = client.udp.open();
        s.bind(IPV4_ANY, 0);
        return s.localPort;
      });
    };
    const first = ports(1);
    expect(first.every((p) => p >= 49152 && p <= 65535)).toBe(true);
    expect(new Set(first).size).toBe(3);
    expect(ports(1)).toEqual(first);
    expect(ports(2)).not.toEqual(first);
  });

  it('a small configured range is used up exactly, then bind says EADDRINUSE', () => {
    const { client } = twoHosts({ client: { udp: { ephemeralPorts: { low: 40000, high: 40003 } } } });
    const explicit = client.udp.open();
    expect(explicit.bind(IPV4_ANY, 40001).ok).toBe(true);
    const sockets = [0, 1, 2].map(() => {
      const s = client.udp.open();
      expect(s.bind(IPV4_ANY, 0).ok).toBe(true);
      return s;
    });
    expect(sockets.map((s) => s.localPort).sort()).toEqual([40000, 40002, 40003]);
    expect(client.udp.open().bind(IPV4_ANY, 0)).toEqual({ ok: false, error: 'EADDRINUSE' });
    sockets[1].close();
    const again = client.udp.open();
    expect(again.bind(IPV4_ANY, 0).ok).toBe(true);
    expect(again.localPort).toBe(sockets[1].localPort);
  });

  it('an implicit bind by sendto or connect that finds no free port says EAGAIN (Linux inet_autobind)', () => {
    const { client } = twoHosts({ client: { udp: { ephemeralPorts: { low: 40000, high: 40000 } } } });
    expect(client.udp.open().bind(IPV4_ANY, 0).ok).toBe(true);
    const unbound = client.udp.open();
    expect(unbound.send(pattern(1), SERVER, 9)).toEqual({ ok: false, error: 'EAGAIN' });
    expect(unbound.connect(SERVER, 9)).toEqual({ ok: false, error: 'EAGAIN' });
    expect(unbound.bound).toBe(false);
  });
});

describe('delivery', () => {
  it('SO_REUSEPORT spreads datagrams over the group by source, and keeps one source on one socket', () => {
    const { net, server, peer } = serverWithPeer();
    const group = [0, 1, 2, 3].map(() => {
      const s = server.udp.open();
      bound(s, IPV4_ANY, 8000, { port: true });
      return s;
    });
    for (let sourcePort = 20000; sourcePort < 20040; sourcePort++) {
      peer.send(udpFrame({ source: CLIENT, destination: SERVER }, sourcePort, 8000, pattern(1)));
      peer.send(udpFrame({ source: CLIENT, destination: SERVER }, sourcePort, 8000, pattern(1)));
    }
    drive(net, [peer]);
    const counts = group.map((s) => s.queuedDatagrams);
    expect(counts.reduce((a, b) => a + b)).toBe(80);
    expect(counts.every((c) => c >= 8)).toBe(true);
    for (const socket of group) {
      const ports: number[] = [];
      for (let d = socket.receive(); d; d = socket.receive()) ports.push(d.sourcePort);
      // Each source port arrived twice, both times here.
      for (const port of new Set(ports)) expect(ports.filter((p) => p === port)).toHaveLength(2);
    }
  });

  it('with SO_REUSEADDR a unicast datagram goes to the socket bound last (as Linux)', () => {
    const { net, server, peer } = serverWithPeer();
    const older = server.udp.open();
    const newer = server.udp.open();
    bound(older, IPV4_ANY, 8000, { address: true });
    bound(newer, IPV4_ANY, 8000, { address: true });
    peer.send(udpFrame({ source: CLIENT, destination: SERVER }, 1234, 8000, pattern(3)));
    drive(net, [peer]);
    expect([older.queuedDatagrams, newer.queuedDatagrams]).toEqual([0, 1]);
  });

  it('a socket bound to our address beats the wildcard socket on the same port', () => {
    const { net, server, peer } = serverWithPeer();
    const wildcard = server.udp.open();
    const specific = server.udp.open();
    bound(specific, SERVER, 8000, { address: true });
    bound(wildcard, IPV4_ANY, 8000, { address: true });
    peer.send(udpFrame({ source: CLIENT, destination: SERVER }, 1234, 8000, pattern(3)));
    drive(net, [peer]);
    expect([wildcard.queuedDatagrams, specific.queuedDatagrams]).toEqual([0, 1]);
  });

  it("a connected socket takes only its peer's datagrams; others go to an unconnected socket or draw Port Unreachable", () => {
    const { net, server, peer } = serverWithPeer();
    const connected = server.udp.open();
    bound(connected, IPV4_ANY, 5000, { address: true });
    expect(connected.connect(CLIENT, 6000).ok).toBe(true);
    peer.send(udpFrame({ source: CLIENT, destination: SERVER }, 6000, 5000, pattern(1)));
    peer.send(udpFrame({ source: addr('10.0.0.3'), destination: SERVER }, 6000, 5000, pattern(2)));
    peer.send(udpFrame({ source: CLIENT, destination: SERVER }, 6001, 5000, pattern(3)));
    drive(net, [peer]);
    expect(drain(connected)).toEqual([pattern(1)]);
    expect(server.stats.get('udp.rx.noPort')).toBe(2);
    expect(peer.take()).toHaveLength(2);
    const others = server.udp.open();
    bound(others, IPV4_ANY, 5000, { address: true });
    peer.send(udpFrame({ source: CLIENT, destination: SERVER }, 6000, 5000, pattern(4)));
    peer.send(udpFrame({ source: addr('10.0.0.3'), destination: SERVER }, 6000, 5000, pattern(5)));
    drive(net, [peer]);
    expect(drain(connected)).toEqual([pattern(4)]);
    expect(drain(others)).toEqual([pattern(5)]);
  });

  it('a broadcast reaches every socket bound to the port that would accept it, and draws no ICMP', () => {
    const { net, server, peer } = serverWithPeer();
    const a = server.udp.open();
    const b = server.udp.open();
    const specific = server.udp.open();
    const limited = server.udp.open();
    const connectedElsewhere = server.udp.open();
    bound(a, IPV4_ANY, 7000, { address: true });
    bound(b, IPV4_ANY, 7000, { address: true });
    bound(specific, SERVER, 7000, { address: true });
    bound(limited, IPV4_BROADCAST, 7000, { address: true });
    bound(connectedElsewhere, IPV4_ANY, 7000, { address: true });
    connectedElsewhere.connect(addr('10.0.0.3'), 7000);
    peer.send(udpFrame({ source: CLIENT, destination: addr('10.0.0.255') }, 7000, 7000, pattern(1)));
    peer.send(udpFrame({ source: CLIENT, destination: IPV4_BROADCAST }, 7000, 7000, pattern(2)));
    peer.send(udpFrame({ source: CLIENT, destination: IPV4_BROADCAST }, 7000, 7001, pattern(3)));
    drive(net, [peer]);
    expect(drain(a)).toEqual([pattern(1), pattern(2)]);
    expect(drain(b)).toEqual([pattern(1), pattern(2)]);
    expect(drain(specific)).toEqual([]);
    expect(drain(limited)).toEqual([pattern(2)]);
    expect(drain(connectedElsewhere)).toEqual([]);
    expect(server.stats.get('udp.rx.noPort')).toBe(1);
    expect(peer.take()).toEqual([]);
  });

  it('a full receive buffer drops and counts the datagram; reading makes room again', () => {
    const { net, server, peer } = serverWithPeer({ udp: { receiveBufferSize: 300 } });
    const socket = server.udp.open();
    socket.bind(IPV4_ANY, 9000);
    for (let i = 0; i < 3; i++) peer.send(udpFrame({ source: CLIENT, destination: SERVER }, 1000, 9000, pattern(100, i)));
    drive(net, [peer]);
    expect(socket.queuedDatagrams).toBe(1);
    expect(socket.nextDatagramSize).toBe(100);
    expect(server.stats.get('drop.udp.receiveBufferFull')).toBe(2);
    expect(server.stats.get('udp.rx.delivered')).toBe(1);
    expect(drain(socket)).toEqual([pattern(100, 0)]);
    peer.send(udpFrame({ source: CLIENT, destination: SERVER }, 1000, 9000, pattern(100, 7)));
    drive(net, [peer]);
    expect(drain(socket)).toEqual([pattern(100, 7)]);
    // No ICMP for a full buffer: the port is open.
    expect(peer.take()).toEqual([]);
  });

  it('drops and counts a bad checksum or a bad length; takes a datagram without checksum', () => {
    const { net, server, peer } = serverWithPeer();
    const socket = server.udp.open();
    socket.bind(IPV4_ANY, 9000);
    const udp = udpDatagram(CLIENT, SERVER, 1000, 9000, pattern(10));
    const corrupt = udp.slice();
    corrupt[12] ^= 0x20;
    const longLength = udp.slice();
    longLength[5] += 1;
    const shortLength = udp.slice();
    shortLength[5] = 7;
    const noChecksum = udp.slice();
    noChecksum[6] = noChecksum[7] = 0;
    for (const payload of [corrupt, longLength, shortLength, noChecksum, udp.subarray(0, 6)]) {
      peer.send(ipv4Frame({ source: CLIENT, destination: SERVER, protocol: IpProtocol.UDP }, payload));
    }
    drive(net, [peer]);
    expect(server.stats.get('drop.udp.badChecksum')).toBe(1);
    expect(server.stats.get('drop.udp.truncated')).toBe(2);
    expect(server.stats.get('drop.udp.badTotalLength')).toBe(1);
    expect(drain(socket)).toEqual([pattern(10)]);
  });
});

describe('sending', () => {
  it('refuses a payload over 65507 bytes, no destination, port 0', () => {
    const { client } = twoHosts();
    const socket = client.udp.open();
    expect(socket.send(new Uint8Array(65_508), SERVER, 9)).toEqual({ ok: false, error: 'EMSGSIZE' });
    expect(socket.send(pattern(1))).toEqual({ ok: false, error: 'EDESTADDRREQ' });
    expect(socket.send(pattern(1), SERVER, 0)).toEqual({ ok: false, error: 'EINVAL' });
    expect(socket.send(pattern(1), addr('192.0.2.1'), 9)).toEqual({ ok: false, error: 'ENETUNREACH' });
  });

  it('sending to a broadcast address needs SO_BROADCAST, else EACCES', () => {
    const { net, client, server } = twoHosts();
    client.addRoute('default', { via: '10.0.0.2' });
    const listener = server.udp.open();
    listener.bind(IPV4_ANY, 7000);
    const socket = client.udp.open();
    expect(socket.send(pattern(1), addr('10.0.0.255'), 7000)).toEqual({ ok: false, error: 'EACCES' });
    expect(socket.send(pattern(1), IPV4_BROADCAST, 7000)).toEqual({ ok: false, error: 'EACCES' });
    socket.options.broadcast = true;
    expect(socket.send(pattern(1), addr('10.0.0.255'), 7000).ok).toBe(true);
    expect(socket.send(pattern(2), IPV4_BROADCAST, 7000).ok).toBe(true);
    net.runUntilIdle();
    expect(drain(listener)).toEqual([pattern(1), pattern(2)]);
  });

  it('connecting to a broadcast address needs SO_BROADCAST too (Linux ip4_datagram_connect)', () => {
    const { client } = twoHosts();
    const socket = client.udp.open();
    expect(socket.connect(addr('10.0.0.255'), 7000)).toEqual({ ok: false, error: 'EACCES' });
    expect(socket.connected).toBe(false);
    socket.options.broadcast = true;
    expect(socket.connect(addr('10.0.0.255'), 7000).ok).toBe(true);
  });

  it('sets TTL and TOS from the socket options, and the source from a specific bind', () => {
    const { net, client, server } = twoHosts();
    const listener = server.udp.open();
    listener.bind(IPV4_ANY, 7000);
    const socket = client.udp.open();
    socket.options.ttl = 3;
    socket.options.tos = 0xb8;
    socket.bind(CLIENT, 0);
    socket.send(pattern(1), SERVER, 7000);
    const frames: Uint8Array[] = [];
    client.tracer = (e) => {
      if (e.layer === 'ipv4' && e.direction === 'down') frames.push(e.header);
    };
    socket.send(pattern(1), SERVER, 7000);
    net.runUntilIdle();
    expect(frames[0][1]).toBe(0xb8);
    expect(frames[0][8]).toBe(3);
    const d = listener.receive()!;
    expect([d.sourceAddress, d.sourcePort, d.ttl]).toEqual([CLIENT, socket.localPort, 3]);
  });
});

describe('ICMP errors to sockets (RFC 1122 §4.1.3.3, as Linux without IP_RECVERR)', () => {
  it('Port Unreachable becomes ECONNREFUSED on a connected socket, reported once, and calls onError', () => {
    const { net, client } = twoHosts();
    const socket = client.udp.open();
    const seen: string[] = [];
    socket.onError = (code) => seen.push(code);
    socket.connect(SERVER, 4444);
    socket.send(pattern(4));
    net.runUntilIdle();
    expect(seen).toEqual(['ECONNREFUSED']);
    expect(client.stats.get('udp.icmpError.ECONNREFUSED')).toBe(1);
    expect(socket.takeError()).toBe('ECONNREFUSED');
    expect(socket.takeError()).toBe(null);
    expect(socket.send(pattern(4)).ok).toBe(true);
  });

  it('an unconnected socket is not told: the error is counted and dropped', () => {
    const { net, client } = twoHosts();
    const socket = client.udp.open();
    socket.send(pattern(4), SERVER, 4444);
    net.runUntilIdle();
    expect(socket.pendingError).toBe(null);
    expect(client.stats.get('udp.icmpError.noSocket')).toBe(1);
  });

  it("an error quoting another peer than the connected one is not the socket's", () => {
    const { net, server, peer } = serverWithPeer();
    const socket = server.udp.open();
    socket.connect(CLIENT, 53);
    const aboutOther = ipv4Frame(
      { source: SERVER, destination: addr('10.0.0.3'), protocol: IpProtocol.UDP },
      udpDatagram(SERVER, addr('10.0.0.3'), socket.localPort, 53, pattern(2)),
    );
    const aboutPeer = ipv4Frame(
      { source: SERVER, destination: CLIENT, protocol: IpProtocol.UDP },
      udpDatagram(SERVER, CLIENT, socket.localPort, 53, pattern(2)),
    );
    const unreachable = (quoted: Uint8Array) => {
      const icmp = new Uint8Array(8 + quoted.length);
      icmp.set([3, 3, 0, 0, 0, 0, 0, 0]);
      icmp.set(quoted, 8);
      let sum = 0;
      for (let i = 0; i < icmp.length; i += 2) sum += (icmp[i] << 8) | (icmp[i + 1] ?? 0);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      icmp[2] = (~sum >> 8) & 0xff;
      icmp[3] = ~sum & 0xff;
      return ipv4Frame({ source: CLIENT, destination: SERVER, protocol: IpProtocol.ICMP }, icmp);
    };
    peer.send(unreachable(aboutOther));
    drive(net, [peer]);
    expect(socket.pendingError).toBe(null);
    peer.send(unreachable(aboutPeer));
    drive(net, [peer]);
    expect(socket.pendingError).toBe('ECONNREFUSED');
  });

  it('a soft error (Time Exceeded) leaves even a connected socket alone', () => {
    const net = new VirtualNetwork(5);
    const a = net.createStack('a');
    const router = net.createStack('router', { ip: { forwarding: true } });
    const b = net.createStack('b');
    net.connect({ stack: a, address: '10.0.0.1/24' }, { stack: router, address: '10.0.0.254/24' });
    net.connect({ stack: router, address: '10.0.1.254/24' }, { stack: b, address: '10.0.1.2/24' });
    a.addRoute('default', { via: '10.0.0.254' });
    const socket = a.udp.open();
    socket.options.ttl = 1;
    socket.connect(addr('10.0.1.2'), 53);
    socket.send(pattern(4));
    net.runUntilIdle();
    expect(a.stats.get('icmp.rx.timeExceeded')).toBe(1);
    expect(a.stats.get('udp.icmpError.ignoredSoft')).toBe(1);
    expect(socket.pendingError).toBe(null);
  });
});

describe('ICMP Port Unreachable is sent only for unicast', () => {
  it('answers a unicast datagram to a closed port with code 3, quoting it', () => {
    const { net, server, peer } = serverWithPeer();
    server.ip.joinGroup(addr('224.0.0.251')); // a member, so the datagram reaches UDP
    const frame = udpFrame({ source: CLIENT, destination: SERVER }, 1000, 9, pattern(4));
    peer.send(frame);
    peer.send(udpFrame({ source: CLIENT, destination: addr('10.0.0.255') }, 1000, 9, pattern(4)));
    peer.send(udpFrame({ source: CLIENT, destination: addr('224.0.0.251') }, 1000, 9, pattern(4)));
    drive(net, [peer]);
    expect(server.stats.get('udp.rx.noPort')).toBe(3);
    const sent = peer.take();
    expect(sent).toHaveLength(1);
    const ip = Ipv4Packet.checked(sent[0].frame);
    const icmp = ip.ok ? Icmpv4Packet.checked(ip.value.payload) : null;
    const message = icmp?.ok ? parseIcmpv4(icmp.value) : null;
    expect(message?.ok && message.value).toEqual({ kind: 'destinationUnreachable', code: 3, nextHopMtu: 0, quoted: frame });
  });
});

describe('multicast groups and loopback (RFC 1112, IP_ADD_MEMBERSHIP, IP_MULTICAST_LOOP/TTL)', () => {
  const GROUP = addr('239.1.2.3');

  it('a host receives a group only while a socket is in it; every socket bound to the port gets it', () => {
    const { net, client, server } = twoHosts();
    client.addRoute('224.0.0.0/4', { interfaceName: 'eth0' }); // multicast goes out the wire (as Linux's route to 224/4)
    const [a, b] = [server.udp.open(), server.udp.open()];
    for (const s of [a, b]) {
      s.options.reusePort = true;
      s.bind(0, 5353);
    }
    const sender = client.udp.open();
    const send = (text: string) => {
      sender.send(new TextEncoder().encode(text), GROUP, 5353);
      net.runUntilIdle();
    };
    send('before');
    expect([a.queuedDatagrams, b.queuedDatagrams]).toEqual([0, 0]);
    expect(server.stats.get('drop.ipv4.multicastNotJoined')).toBe(1);
    expect(a.joinGroup(GROUP).ok).toBe(true);
    expect(a.joinGroup(GROUP)).toEqual({ ok: false, error: 'EADDRINUSE' });
    send('member');
    expect([a.queuedDatagrams, b.queuedDatagrams]).toEqual([1, 1]);
    a.close();
    send('after');
    expect(b.queuedDatagrams).toBe(1);
    expect(b.leaveGroup(GROUP)).toEqual({ ok: false, error: 'EADDRNOTAVAIL' });
    expect(b.joinGroup(addr('10.0.0.9'))).toEqual({ ok: false, error: 'EINVAL' });
  });

  it('our multicast to a joined group comes back to our own sockets unless IP_MULTICAST_LOOP is off; it leaves with TTL 1', () => {
    const { net, client, server } = twoHosts();
    const frames: Uint8Array[] = [];
    client.tracer = (e) => {
      if (e.layer === 'ipv4' && e.direction === 'down') frames.push(e.header);
    };
    client.addRoute('224.0.0.0/4', { interfaceName: 'eth0' });
    const listener = client.udp.open();
    listener.bind(0, 5353);
    listener.joinGroup(GROUP);
    const sender = client.udp.open();
    sender.send(pattern(3), GROUP, 5353);
    net.runUntilIdle();
    expect(listener.receive()?.payload).toEqual(pattern(3));
    expect(frames[0][8]).toBe(1); // TTL
    sender.options.multicastLoop = false;
    sender.send(pattern(3), GROUP, 5353);
    net.runUntilIdle();
    expect(listener.receive()).toBe(null);
    expect(server.stats.get('udp.rx.datagrams')).toBe(0); // the server never joined
  });

  it('IP_MULTICAST_IF: with no route to the group, a multicast leaves by the interface chosen, from its address', () => {
    const { net, client, server } = twoHosts();
    const member = server.udp.open();
    member.bind(0, 5353);
    member.joinGroup(GROUP);
    const sender = client.udp.open();
    expect(sender.send(pattern(2), GROUP, 5353)).toEqual({ ok: false, error: 'ENETUNREACH' });
    expect(sender.setMulticastInterface(addr('10.0.0.9'))).toEqual({ ok: false, error: 'EADDRNOTAVAIL' });
    expect(sender.setMulticastInterface(CLIENT).ok).toBe(true);
    expect(sender.send(pattern(2), GROUP, 5353).ok).toBe(true);
    net.runUntilIdle();
    const datagram = member.receive();
    expect(datagram?.payload).toEqual(pattern(2));
    expect(datagram?.sourceAddress).toBe(CLIENT);
    expect(sender.setMulticastInterface(0).ok).toBe(true);
    expect(sender.send(pattern(2), GROUP, 5353)).toEqual({ ok: false, error: 'ENETUNREACH' });
  });

  it('our broadcasts come back to our own sockets bound to the port (as Linux)', () => {
    const { net, client, server } = twoHosts();
    const local = client.udp.open();
    local.bind(0, 6000);
    const remote = server.udp.open();
    remote.bind(0, 6000);
    const sender = client.udp.open();
    sender.options.broadcast = true;
    sender.send(pattern(4), addr('10.0.0.255'), 6000);
    net.runUntilIdle();
    expect(local.receive()?.payload).toEqual(pattern(4));
    expect(remote.receive()?.payload).toEqual(pattern(4));
  });
});
