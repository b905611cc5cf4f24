/**
 * TCP with a Linux kernel configured differently (per-namespace sysctls): without SACK, without
 * timestamps, without window scaling — each through a lossy link, so the recovery we fall back
 * to (RFC 6582 NewReno, RFC 3042 limited transmit, RFC 6298 timers without RTTM) meets the
 * kernel's; ECN requested by the kernel (RFC 3168) with routers marking CE; zero windows both
 * ways (RFC 9293 §3.8.6.1 probes); and a reset in the middle of a transfer.
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { FaultInjector, type FaultConfig } from '../../src/link/fault-injector.js';
import type { TcpConnection } from '../../src/tcp/connection.js';
import type { Link } from '../../src/link/link.js';
import {
  closePeersAfterEach,
  connected,
  describeInterop,
  KERNEL_ADDRESS,
  KernelPeer,
  receiveAll,
  sendAll,
  sha256,
  STACK_ADDRESS,
  startPeerScript,
} from './kernel-peer.js';

const kernel = parseIpv4Address(KERNEL_ADDRESS)!;

function sysctl(peer: KernelPeer, setting: string): void {
  execFileSync('ip', ['netns', 'exec', peer.namespace.name, 'sysctl', '-qw', setting]);
}

/** A peer whose link (our side) misbehaves as `faults` says, seeded. */
function faultyPeer(faults: FaultConfig, seed = 9): { peer: KernelPeer; injector: () => FaultInjector } {
  let injector: FaultInjector | null = null;
  const peer = new KernelPeer({ wrap: (link) => (injector = new FaultInjector(link, faults, new Rng(seed))) });
  return { peer, injector: () => injector! };
}

/** 1 MB each way at once with the kernel's python3 `exchange`; asserts both hashes. */
async function exchange(peer: KernelPeer, port: number, size = 1_000_000): Promise<{ connection: TcpConnection; kernelOptions: string }> {
  const server = await startPeerScript(peer, ['exchange', KERNEL_ADDRESS, String(port), String(size)], 90_000);
  const connection = unwrap(peer.stack.tcp.connect(kernel, port));
  await connected(connection);
  const data = new Rng(port).bytes(size);
  const [received] = await Promise.all([receiveAll(connection), sendAll(connection, data)]);
  const lines = (await server.done).stdout.toString().split('\n');
  const [sentLength, sentHash, gotLength, gotHash] = lines[1].split(' ');
  expect(received.error).toBe(null);
  expect(received.length).toBe(Number(sentLength));
  expect(received.sha256).toBe(sentHash);
  expect(Number(gotLength)).toBe(size);
  expect(gotHash).toBe(sha256(data));
  return { connection, kernelOptions: lines[2] };
}

describeInterop('interop: TCP against differently configured Linux kernels', () => {
  let peer: KernelPeer | null = null;
  closePeersAfterEach();

  it('without SACK (tcp_sack=0), through 2% loss: NewReno recovery both ways', async () => {
    ({ peer } = faultyPeer({ lossRate: 0.02, direction: 'both' }));
    sysctl(peer, 'net.ipv4.tcp_sack=0');
    const { connection, kernelOptions } = await exchange(peer, 9700);
    expect(connection.sackEnabled).toBe(false);
    expect(kernelOptions).toMatch(/sack=0/);
    expect(peer.stack.stats.get('tcp.tx.retransmits')).toBeGreaterThan(0);
  }, 90_000);

  it('without timestamps (tcp_timestamps=0), through 2% loss and reordering', async () => {
    ({ peer } = faultyPeer({ lossRate: 0.02, reorderRate: 0.02, reorderDelayMs: 3, direction: 'both' }));
    sysctl(peer, 'net.ipv4.tcp_timestamps=0');
    const { connection, kernelOptions } = await exchange(peer, 9701);
    expect(connection.timestamps.enabled).toBe(false);
    expect(kernelOptions).toMatch(/timestamps=0/);
  }, 90_000);

  it('without window scaling (tcp_window_scaling=0): windows stay under 64 KB and data still flows', async () => {
    ({ peer } = faultyPeer({ lossRate: 0.01, direction: 'both' }));
    sysctl(peer, 'net.ipv4.tcp_window_scaling=0');
    const { connection, kernelOptions } = await exchange(peer, 9702);
    expect(connection.sndWindowShift).toBe(0);
    expect(connection.rcvWindowShift).toBe(0);
    expect(kernelOptions).toMatch(/wscale=0,0/);
  }, 90_000);

  it('the kernel asks for ECN (tcp_ecn=1); CE marks on its data come back as ECE and it answers CWR (RFC 3168)', async () => {
    // Count the kernel's segments with CWR set (TCP flags byte, bit 0x80) as they arrive.
    let cwrSeen = 0;
    const countCwr = (link: Link): Link => ({
      name: link.name,
      medium: link.medium,
      mtu: link.mtu,
      transmit: (frame, now) => link.transmit(frame, now),
      setReceiver: (receiver) =>
        link.setReceiver((frame, now) => {
          const flags = frame[(frame[0] & 0x0f) * 4 + 13];
          if (frame[9] === 6 && (flags & 0x80) !== 0) cwrSeen++;
          receiver(frame, now);
        }),
      pollAt: () => link.pollAt(),
      poll: (now) => link.poll(now),
    });
    peer = new KernelPeer({ wrap: (link) => new FaultInjector(countCwr(link), { congestionMarkRate: 0.02, direction: 'receive' }, new Rng(4)) });
    sysctl(peer, 'net.ipv4.tcp_ecn=1');
    const listener = unwrap(peer.stack.tcp.listen(0, 9703));
    const accepted = new Promise<TcpConnection>((resolve) => (listener.onAcceptable = () => resolve(listener.accept()!)));
    const size = 2_000_000;
    const payload = new Uint8Array(size).map((_, i) => (i * 13) & 0xff);
    const client = peer.start(['nc', '-N', STACK_ADDRESS, '9703'], { input: payload, timeoutMs: 60_000 });
    const connection = await accepted;
    expect(connection.ecn.enabled).toBe(true);
    const received = await receiveAll(connection, { closeAtEnd: true });
    await client.done;
    expect(received.length).toBe(size);
    expect(received.sha256).toBe(sha256(payload));
    expect(peer.stack.stats.get('tcp.rx.congestionExperienced')).toBeGreaterThan(0);
    expect(cwrSeen).toBeGreaterThan(0);
  }, 90_000);

  it('zero windows both ways: a kernel reader that pauses, and ours', async () => {
    peer = new KernelPeer({ stack: { tcp: { receiveBufferSize: 64 * 1024 } } });
    // We send 600 kB to a kernel that reads nothing for a second: our persist timer probes.
    const slowSink = peer.start([
      'python3',
      '-c',
      `
import socket, time, hashlib
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s.bind(('${KERNEL_ADDRESS}', 9704)); s.listen(1); print('listening', flush=True)
c, _ = s.accept(); time.sleep(1.0); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
`,
    ]);
    await peer.until(() => slowSink.output().includes('listening'), 10_000, 'the slow sink');
    const outbound = unwrap(peer.stack.tcp.connect(kernel, 9704));
    await connected(outbound);
    const data = new Rng(5).bytes(600_000);
    await sendAll(outbound, data);
    const [count, hash] = (await slowSink.done).stdout.toString().split('\n')[1].split(' ');
    expect(Number(count)).toBe(data.length);
    expect(hash).toBe(sha256(data));
    expect(peer.stack.stats.get('tcp.tx.windowProbes')).toBeGreaterThan(0);

    // The kernel sends 600 kB to us while we read nothing for a second: it probes our zero window.
    const source = await startPeerScript(peer, ['source', KERNEL_ADDRESS, '9705', '600000']);
    const inbound = unwrap(peer.stack.tcp.connect(kernel, 9705));
    await connected(inbound);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(inbound.receiveWindowSpace()).toBe(0);
    const received = await receiveAll(inbound, { closeAtEnd: true });
    const [sentCount, sentHash] = (await source.done).stdout.toString().split('\n')[1].split(' ');
    expect(received.length).toBe(Number(sentCount));
    expect(received.sha256).toBe(sentHash);
  }, 60_000);

  it('a reset from the kernel in the middle of a transfer ends our connection with ECONNRESET', async () => {
    peer = new KernelPeer();
    const resetter = peer.start([
      'python3',
      '-c',
      `
import socket, struct
s = socket.socket(); s.bind(('${KERNEL_ADDRESS}', 9706)); s.listen(1); print('listening', flush=True)
c, _ = s.accept(); c.recv(1000)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); c.close()
`,
    ]);
    await peer.until(() => resetter.output().includes('listening'), 10_000, 'the resetting server');
    const connection = unwrap(peer.stack.tcp.connect(kernel, 9706));
    await connected(connection);
    const closed = new Promise<string | null>((resolve) => (connection.events.onClose = resolve));
    void sendAll(connection, new Rng(6).bytes(500_000)).catch(() => {});
    expect(await closed).toBe('ECONNRESET');
    await resetter.done;
  });

  it("our abort in the middle of a transfer resets the kernel's connection: its recv raises ECONNRESET", async () => {
    peer = new KernelPeer();
    const reader = peer.start([
      'python3',
      '-c',
      `
import socket
s = socket.socket(); s.bind(('${KERNEL_ADDRESS}', 9707)); s.listen(1); print('listening', flush=True)
c, _ = s.accept(); total = 0
try:
    while True:
        data = c.recv(65536)
        if not data: print('eof', total, flush=True); break
        total += len(data)
except ConnectionResetError:
    print('reset after', total, flush=True)
`,
    ]);
    await peer.until(() => reader.output().includes('listening'), 10_000, 'the reading server');
    const connection = unwrap(peer.stack.tcp.connect(kernel, 9707));
    await connected(connection);
    unwrap(connection.send(new Rng(8).bytes(100_000)));
    await peer.until(() => connection.sndUna !== connection.sndNxt || connection.inFlight.length === 0, 5_000, 'data on its way');
    connection.abort();
    const result = await reader.done;
    expect(result.stdout.toString()).toMatch(/^listening\nreset after \d+\n$/);
  });
});
