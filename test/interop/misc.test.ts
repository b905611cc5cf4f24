/**
 * Corners met with the Linux kernel: keepalive probes both ways (RFC 1122 §4.2.3.6), a new
 * connection onto a four-tuple we hold in TIME-WAIT (RFC 6191), maximum-size UDP datagrams
 * (45 fragments) both ways, and pings carrying IP options (RFC 791 record route / timestamp).
 */
import { expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import type { ReceivedDatagram } from '../../src/udp/udp-layer.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import { closePeersAfterEach, describeInterop, KERNEL_ADDRESS, KernelPeer, sha256, STACK_ADDRESS, startPeerScript } from './kernel-peer.js';

const kernel = parseIpv4Address(KERNEL_ADDRESS)!;

describeInterop('interop: corners with the Linux kernel', () => {
  let peer: KernelPeer | null = null;
  closePeersAfterEach();

  it("answers the kernel's keepalive probes, and ours are answered by the kernel", async () => {
    peer = new KernelPeer();
    const listener = unwrap(peer.stack.tcp.listen(0, 9800));
    const accepted = new Promise<TcpConnection>((resolve) => (listener.onAcceptable = () => resolve(listener.accept()!)));
    // A kernel client with 1-second keepalives that idles 3.5 s, then reports its probe count.
    const client = peer.start(
      [
        'python3',
        '-c',
        `
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)
s.connect(('${STACK_ADDRESS}', 9800))
time.sleep(3.5)
s.sendall(b'still here')
print(s.recv(100).decode(), flush=True)
`,
      ],
      { timeoutMs: 20_000 },
    );
    const connection = await accepted;
    connection.setKeepalive({ enabled: true, idleMs: 1000, intervalMs: 1000 });
    const before = peer.stack.stats.get('tcp.rx.segments');
    connection.events.onReadable = () => {
      const data = connection.receive();
      if (data.length > 0) connection.send(new TextEncoder().encode(`you said: ${new TextDecoder().decode(data)}`));
    };
    const result = await client.done;
    expect(result.stdout.toString().trim()).toBe('you said: still here');
    // The kernel probed an idle connection (2-3 probes in 3.5 s) and we kept it alive.
    expect(peer.stack.stats.get('tcp.rx.segments') - before).toBeGreaterThanOrEqual(3);
    expect(peer.stack.stats.get('tcp.tx.keepaliveProbes')).toBeGreaterThanOrEqual(1);
    expect(peer.stack.stats.get('tcp.keepalive.timeout')).toBe(0);
  }, 30_000);

  it('a kernel client reconnecting from the same port while we hold the old connection in TIME-WAIT gets through (RFC 6191)', async () => {
    peer = new KernelPeer();
    const listener = unwrap(peer.stack.tcp.listen(0, 9801));
    const served: TcpConnection[] = [];
    listener.onAcceptable = () => {
      for (let c = listener.accept(); c; c = listener.accept()) {
        const connection = c;
        served.push(connection);
        // We close first: the server side ends up in TIME-WAIT.
        connection.send(new TextEncoder().encode(`hello ${served.length}\n`));
        connection.close();
      }
    };
    const script = `
import socket, time
for attempt in range(2):
    time.sleep(0.3 * attempt)  # let the kernel's old socket finish LAST-ACK
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('${KERNEL_ADDRESS}', 40000))
    s.connect(('${STACK_ADDRESS}', 9801))
    print(s.recv(100).decode().strip(), flush=True)
    s.close()
`;
    const result = await peer.run(['python3', '-c', script], { timeoutMs: 20_000 });
    expect(result.stdout.toString().split('\n').filter(Boolean)).toEqual(['hello 1', 'hello 2']);
    expect(served).toHaveLength(2);
    expect(peer.stack.stats.get('tcp.timeWait.reopened')).toBe(1);
  });

  it('carries 65507-byte UDP datagrams (45 fragments) both ways', async () => {
    peer = new KernelPeer();
    const server = await startPeerScript(peer, ['udp-echo', KERNEL_ADDRESS, '9802', '1']);
    const socket = peer.stack.udp.open();
    let reply: ReceivedDatagram | null = null;
    socket.onReadable = () => (reply = socket.receive());
    const big = new Rng(8).bytes(65507);
    expect(socket.send(big, kernel, 9802).ok).toBe(true);
    await peer.until(() => reply !== null, 10_000, 'the echoed 64 KB datagram');
    expect(sha256(reply!.payload)).toBe(sha256(big));
    await server.done;
  });

  it('answers pings that carry IP options, reflecting them with our address and time added (RFC 1122 §3.2.2.6)', async () => {
    peer = new KernelPeer();
    // ping -R prints the route the reply brought back: the kernel, then us, then the kernel.
    const recordRoute = (await peer.run(['ping', '-c', '1', '-W', '2', '-R', STACK_ADDRESS])).stdout.toString();
    expect(recordRoute).toMatch(/1 received/);
    expect(recordRoute).toContain(`RR: \t${KERNEL_ADDRESS}\n\t${STACK_ADDRESS}\n\t${KERNEL_ADDRESS}\n`);
    // ping -T tsonly: our stamp is marked as not relative to midnight UT (RFC 791).
    const timestamp = (await peer.run(['ping', '-c', '1', '-W', '2', '-T', 'tsonly', STACK_ADDRESS])).stdout.toString();
    expect(timestamp).toMatch(/1 received/);
    expect(timestamp).toMatch(/TS: \t\d+ absolute\n\t\d+ absolute not-standard\n/);
  });
});
