/**
 * TCP between the Linux kernel and our stack over a TUN device: the kernel's nc and python3 as
 * clients and servers, data both ways checked by hash, refused connections, bulk transfers, and
 * the options the kernel negotiates with us (RFC 7323 window scaling and timestamps, RFC 2018
 * SACK).
 */
import { expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
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
  sha256,
  STACK_ADDRESS,
  startPeerScript,
} from './kernel-peer.js';

const kernel = parseIpv4Address(KERNEL_ADDRESS)!;

/** A TCP echo server on the stack: echoes every byte, closes after the client's FIN. */
function echoServer(peer: KernelPeer, port: number): TcpConnection[] {
  const accepted: TcpConnection[] = [];
  const listener = unwrap(peer.stack.tcp.listen(0, port));
  listener.onAcceptable = () => {
    for (let connection = listener.accept(); connection; connection = listener.accept()) {
      const c = connection;
      accepted.push(c);
      c.events.onReadable = () => {
        for (let data = c.receive(); data.length > 0; data = c.receive()) c.send(data);
        if (c.endOfStream) c.close();
      };
    }
  };
  return accepted;
}

/** Resolves with the first connection the listener on `port` accepts. */
function acceptOne(peer: KernelPeer, port: number): Promise<TcpConnection> {
  const listener = unwrap(peer.stack.tcp.listen(0, port));
  return new Promise((resolve) => {
    listener.onAcceptable = () => {
      const connection = listener.accept();
      if (connection) {
        listener.close();
        resolve(connection);
      }
    };
  });
}

function parseOptions(output: string): { sack: boolean; timestamps: boolean; sendShift: number; receiveShift: number } {
  const match = /options sack=(\d) timestamps=(\d) wscale=(\d+),(\d+)/.exec(output);
  if (!match) throw new Error(`no options line in ${JSON.stringify(output)}`);
  return { sack: match[1] === '1', timestamps: match[2] === '1', sendShift: Number(match[3]), receiveShift: Number(match[4]) };
}

function megabytesPerSecond(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
}

describeInterop('interop: TCP between the Linux kernel and ustack', () => {
  let peer: KernelPeer | null = null;
  closePeersAfterEach();

  it('kernel nc → ustack echo server: the bytes come back, then both sides close', async () => {
    peer = new KernelPeer();
    const accepted = echoServer(peer, 7);
    const result = await peer.run(['nc', '-N', STACK_ADDRESS, '7'], { input: 'hello from the kernel\n', timeoutMs: 10_000 });
    expect(result.stdout.toString()).toBe('hello from the kernel\n');
    expect(result.code).toBe(0);
    expect(accepted).toHaveLength(1);
    await peer.until(() => accepted[0].state === 'CLOSED' || accepted[0].state === 'TIME-WAIT', 5_000, 'the echo connection to close');
    const drops = Object.entries(peer.stack.stats.snapshot()).filter(([name]) => name.startsWith('drop.'));
    expect(drops).toEqual([]);
  });

  it('the kernel negotiates SACK, timestamps and window scaling with us, as client and as server', async () => {
    peer = new KernelPeer();
    // Kernel as client.
    const acceptance = acceptOne(peer, 8000);
    const client = peer.start(['nc', '-N', STACK_ADDRESS, '8000'], { input: 'x', timeoutMs: 10_000 });
    const passive = await acceptance;
    expect(passive.sackEnabled).toBe(true);
    expect(passive.timestamps.enabled).toBe(true);
    expect(passive.sndWindowShift).toBeGreaterThan(0);
    expect(passive.rcvWindowShift).toBeGreaterThan(0);
    await receiveAll(passive, { closeAtEnd: true });
    await client.done;
    // Kernel as server (python3 reports what its socket negotiated through TCP_INFO).
    const server = await startPeerScript(peer, ['sink', KERNEL_ADDRESS, '8001']);
    const active = unwrap(peer.stack.tcp.connect(kernel, 8001));
    await connected(active);
    expect(active.sackEnabled).toBe(true);
    expect(active.timestamps.enabled).toBe(true);
    expect(active.sndWindowShift).toBeGreaterThan(0);
    await sendAll(active, new TextEncoder().encode('options'));
    const output = (await server.done).stdout.toString();
    const options = parseOptions(output);
    expect(options.sack).toBe(true);
    expect(options.timestamps).toBe(true);
    // The kernel's send shift is the one we advertised; its receive shift the one we apply.
    expect(options.sendShift).toBe(active.rcvWindowShift);
    expect(options.receiveShift).toBe(active.sndWindowShift);
  });

  it('ustack client ↔ kernel python3 server: data both ways at once, bit-exact', async () => {
    peer = new KernelPeer();
    const size = 300_000;
    const server = await startPeerScript(peer, ['exchange', KERNEL_ADDRESS, '9000', String(size)]);
    const connection = unwrap(peer.stack.tcp.connect(kernel, 9000));
    await connected(connection);
    const data = new Rng(5).bytes(200_000);
    const [received] = await Promise.all([receiveAll(connection), sendAll(connection, data)]);
    const result = await server.done;
    const [sentLength, sentHash, gotLength, gotHash] = result.stdout.toString().split('\n')[1].split(' ');
    expect(received.error).toBe(null);
    expect(received.length).toBe(Number(sentLength));
    expect(received.sha256).toBe(sentHash);
    expect(Number(gotLength)).toBe(data.length);
    expect(gotHash).toBe(sha256(data));
    await peer.until(() => connection.state === 'TIME-WAIT', 5_000, 'TIME-WAIT');
  });

  it('ustack client → kernel nc -l: what nc prints is what we sent', async () => {
    peer = new KernelPeer();
    const server = peer.start(['nc', '-l', KERNEL_ADDRESS, '9001'], { timeoutMs: 20_000 });
    await peer.kernelListening(9001);
    const connection = unwrap(peer.stack.tcp.connect(kernel, 9001));
    await connected(connection);
    const data = new Rng(6).bytes(100_000);
    const closing = receiveAll(connection);
    await sendAll(connection, data);
    const result = await server.done;
    expect(sha256(result.stdout)).toBe(sha256(data));
    expect((await closing).error).toBe(null);
  });

  it('a connect to a closed kernel port fails with ECONNREFUSED (the kernel answers RST)', async () => {
    peer = new KernelPeer();
    const connection = unwrap(peer.stack.tcp.connect(kernel, 9));
    await expect(connected(connection)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(connection.state).toBe('CLOSED');
  });

  it.each([
    ['with offload: the kernel joins what it sends into segments of up to 64 KB and cuts ours', true],
    ['without offload: every packet within the 1500-byte MTU', false],
  ])(
    'bulk: 50 MB kernel → ustack and 50 MB ustack → kernel, bit-exact, %s',
    async (_, offload) => {
      peer = new KernelPeer({ link: { offload } });
      const size = 50_000_000;
      // Kernel → ustack: python3 sends, we hash.
      const source = await startPeerScript(peer, ['source', KERNEL_ADDRESS, '9100', String(size)], 120_000);
      let began = performance.now();
      const inbound = unwrap(peer.stack.tcp.connect(kernel, 9100));
      await connected(inbound);
      const received = await receiveAll(inbound, { closeAtEnd: true });
      const downMs = performance.now() - began;
      const [sentLength, sentHash] = (await source.done).stdout.toString().split('\n')[1].split(' ');
      expect(received.error).toBe(null);
      expect(received.length).toBe(Number(sentLength));
      expect(received.sha256).toBe(sentHash);
      // ustack → kernel: we send, python3 hashes.
      const sink = await startPeerScript(peer, ['sink', KERNEL_ADDRESS, '9101'], 120_000);
      const data = new Rng(7).bytes(size);
      began = performance.now();
      const outbound = unwrap(peer.stack.tcp.connect(kernel, 9101));
      await connected(outbound);
      await sendAll(outbound, data);
      const sinkOutput = (await sink.done).stdout.toString();
      const upMs = performance.now() - began;
      const [gotLength, gotHash] = sinkOutput.split('\n')[1].split(' ');
      expect(Number(gotLength)).toBe(size);
      expect(gotHash).toBe(sha256(data));
      const counters = peer.link.counters;
      if (offload) {
        expect(counters.rxSegmentationOffloads).toBeGreaterThan(0);
        expect(counters.txSegmentationOffloads).toBeGreaterThan(0);
        expect(peer.stack.stats.get(`link.${peer.iface.name}.tx.frames`)).toBeLessThan(size / 1448);
      } else {
        expect([counters.rxSegmentationOffloads, counters.txSegmentationOffloads]).toEqual([0, 0]);
        expect(counters.rxBytes / counters.rxPackets).toBeLessThanOrEqual(1500);
      }
      console.log(
        `bulk over TUN${offload ? ' with offload' : ''}: kernel → ustack ${megabytesPerSecond(size, downMs)}, ustack → kernel ${megabytesPerSecond(size, upMs)}; retransmits ${peer.stack.stats.get('tcp.tx.retransmits')}`,
      );
    },
    120_000,
  );
});
