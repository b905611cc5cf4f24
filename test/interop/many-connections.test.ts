/**
 * Many connections with the Linux kernel: 1000 kernel clients one after another against our echo
 * server, 1000 at once (a burst of SYNs larger than the device's queue, so some must be
 * retransmitted), and 200 of our connections against a kernel echo server. Every byte comes
 * back; nothing leaks.
 */
import { expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import {
  closePeersAfterEach,
  connected,
  describeInterop,
  KERNEL_ADDRESS,
  KernelPeer,
  receiveAll,
  sendAll,
  STACK_ADDRESS,
  startPeerScript,
} from './kernel-peer.js';

describeInterop('interop: many TCP connections with the Linux kernel', () => {
  let peer: KernelPeer | null = null;
  closePeersAfterEach();

  it.each([
    ['one after another', 'sequential-clients'],
    ['at once', 'clients'],
  ])(
    '1000 kernel clients %s each get their 1000 bytes echoed, and every connection is released',
    async (_, mode) => {
      peer = new KernelPeer();
      const listener = unwrap(peer.stack.tcp.listen(0, 7));
      let accepted = 0;
      listener.onAcceptable = () => {
        for (let connection = listener.accept(); connection; connection = listener.accept()) {
          const c = connection;
          accepted++;
          c.events.onReadable = () => {
            for (let data = c.receive(); data.length > 0; data = c.receive()) c.send(data);
            if (c.endOfStream) c.close();
          };
        }
      };
      const clients = await startPeerScript(peer, [mode, STACK_ADDRESS, '7', '1000', '1000'], 90_000);
      const result = (await clients.done).stdout.toString();
      expect(result).toMatch(/ok 1000 failed 0/);
      expect(accepted).toBe(1000);
      // We closed second (LAST-ACK): once the kernel's last ACKs arrive nothing is left.
      await peer.until(() => peer!.stack.tcp.listConnections().length === 0, 10_000, 'every connection to be released');
    },
    90_000,
  );

  it('200 concurrent connections from us to a kernel echo server, 20 kB each way on each', async () => {
    peer = new KernelPeer();
    const count = 200;
    const size = 20_000;
    const server = await startPeerScript(peer, ['echo-server', KERNEL_ADDRESS, '9600', String(count)], 90_000);
    const kernel = parseIpv4Address(KERNEL_ADDRESS)!;
    const connections: TcpConnection[] = [];
    for (let i = 0; i < count; i++) connections.push(unwrap(peer.stack.tcp.connect(kernel, 9600)));
    const results = await Promise.all(
      connections.map(async (connection, index) => {
        await connected(connection);
        const payload = new Uint8Array(size).map((_, i) => (index * 31 + i) & 0xff);
        const [echoed] = await Promise.all([receiveAll(connection, { keep: true }), sendAll(connection, payload)]);
        return echoed.bytes !== null && Buffer.compare(echoed.bytes, payload) === 0;
      }),
    );
    expect(results.filter(Boolean)).toHaveLength(count);
    expect((await server.done).stdout.toString()).toMatch(`served ${count} bytes ${count * size}`);
    expect(new Set(connections.map((c) => c.localPort)).size).toBe(count);
  }, 90_000);
});
