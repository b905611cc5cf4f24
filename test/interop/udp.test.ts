/**
 * UDP between the Linux kernel and our stack over a TUN device: the kernel's nc to our server,
 * our datagrams (one fragmented) to a kernel echo server, multicast to a group both ends joined,
 * and ICMP port unreachable turned into ECONNREFUSED on a connected socket (RFC 1122 §4.1.3.3).
 */
import { expect, it } from 'vitest';
import { parseIpv4Address } from '../../src/ip/address.js';
import { Rng } from '../../src/core/rng.js';
import type { ReceivedDatagram } from '../../src/udp/udp-layer.js';
import { closePeersAfterEach, describeInterop, KERNEL_ADDRESS, KernelPeer, sha256, STACK_ADDRESS, startPeerScript } from './kernel-peer.js';

const kernel = parseIpv4Address(KERNEL_ADDRESS)!;

describeInterop('interop: UDP between the Linux kernel and ustack', () => {
  let peer: KernelPeer | null = null;
  closePeersAfterEach();

  it('kernel nc -u → ustack server: the reply comes back upper-cased', async () => {
    peer = new KernelPeer();
    const socket = peer.stack.udp.open();
    expect(socket.bind(0, 5000).ok).toBe(true);
    socket.onReadable = () => {
      for (let datagram = socket.receive(); datagram; datagram = socket.receive()) {
        const reply = new TextEncoder().encode(new TextDecoder().decode(datagram.payload).toUpperCase());
        socket.send(reply, datagram.sourceAddress, datagram.sourcePort);
      }
    };
    const result = await peer.run(['nc', '-u', '-w', '1', STACK_ADDRESS, '5000'], { input: 'hello, udp\n', timeoutMs: 10_000 });
    expect(result.stdout.toString()).toBe('HELLO, UDP\n');
    expect(peer.stack.stats.sum('drop.')).toBe(0);
  });

  it('ustack → kernel echo server: small and fragmented (8000-byte) datagrams come back whole', async () => {
    peer = new KernelPeer();
    const server = await startPeerScript(peer, ['udp-echo', KERNEL_ADDRESS, '5001', '2']);
    const socket = peer.stack.udp.open();
    const replies: ReceivedDatagram[] = [];
    socket.onReadable = () => {
      for (let datagram = socket.receive(); datagram; datagram = socket.receive()) replies.push(datagram);
    };
    const small = new TextEncoder().encode('ping');
    const large = new Rng(3).bytes(8000);
    expect(socket.send(small, kernel, 5001).ok).toBe(true);
    await peer.until(() => replies.length === 1, 5_000, 'the small echo');
    expect(socket.send(large, kernel, 5001).ok).toBe(true);
    await peer.until(() => replies.length === 2, 5_000, 'the fragmented echo');
    expect(new TextDecoder().decode(replies[0].payload)).toBe('ping');
    expect(sha256(replies[1].payload)).toBe(sha256(large));
    expect(peer.stack.stats.get('ipv4.tx.fragments')).toBeGreaterThan(0);
    expect((await server.done).stdout.toString()).toContain('echoed 8000');
  });

  it("multicast both ways over the device: our IGMP report as tcpdump reads it, the kernel's member socket gets our datagram to the group, and ours gets the kernel's", async () => {
    peer = new KernelPeer();
    const group = '239.7.7.7';
    // The kernel side: join the group on the device, echo one datagram back to the group.
    const member = peer.start(
      [
        'python3',
        '-c',
        `
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('', 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack('4s4s', socket.inet_aton('${group}'), socket.inet_aton('${KERNEL_ADDRESS}')))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('${KERNEL_ADDRESS}'))
print('listening', flush=True)
data, sender = s.recvfrom(2048)
print('got', data.decode(), 'from', sender[0], flush=True)
s.sendto(data.upper(), ('${group}', 5353))
`,
      ],
      { timeoutMs: 15_000 },
    );
    await peer.until(() => member.output().includes('listening'), 10_000, 'the kernel member');
    peer.stack.addRoute('224.0.0.0/4', { interfaceName: peer.iface.name });
    // tcpdump on the kernel's end is the oracle for our IGMP membership report (RFC 2236).
    const dump = peer.start(['tcpdump', '-i', peer.link.name, '-n', '-l', '-c', '1', 'igmp'], { timeoutMs: 15_000 });
    await peer.until(() => dump.stderr().includes('listening on'), 10_000, 'tcpdump');
    const socket = peer.stack.udp.open();
    socket.options.reuseAddress = true;
    expect(socket.bind(0, 5353).ok).toBe(true);
    expect(socket.joinGroup(parseIpv4Address(group)!).ok).toBe(true);
    expect((await dump.done).stdout.toString()).toMatch(
      new RegExp(`${STACK_ADDRESS} > ${group.replaceAll('.', '\\.')}: igmp v2 report ${group.replaceAll('.', '\\.')}`),
    );
    socket.options.multicastLoop = false; // only the kernel's copy should come back
    const received: ReceivedDatagram[] = [];
    socket.onReadable = () => {
      for (let datagram = socket.receive(); datagram; datagram = socket.receive()) received.push(datagram);
    };
    expect(socket.send(new TextEncoder().encode('hello group'), parseIpv4Address(group)!, 5353).ok).toBe(true);
    await peer.until(() => received.length > 0, 10_000, "the kernel's datagram to the group");
    expect(new TextDecoder().decode(received[0].payload)).toBe('HELLO GROUP');
    expect(received[0].sourceAddress).toBe(kernel);
    expect((await member.done).stdout.toString()).toContain(`got hello group from ${STACK_ADDRESS}`);
  });

  it('a datagram to a closed kernel port leaves ECONNREFUSED on a connected socket', async () => {
    peer = new KernelPeer();
    const socket = peer.stack.udp.open();
    expect(socket.connect(kernel, 9).ok).toBe(true);
    let reported: string | null = null;
    socket.onError = (code) => (reported = code);
    expect(socket.send(new TextEncoder().encode('anyone there?')).ok).toBe(true);
    await peer.until(() => socket.pendingError !== null, 5_000, 'the ICMP port unreachable');
    expect(reported).toBe('ECONNREFUSED');
    expect(socket.takeError()).toBe('ECONNREFUSED');
  });
});
