/**
 * Bulk TCP both ways at once between the Linux kernel and ustack over a TUN link that drops 2%
 * of frames in each direction (a seeded FaultInjector on our side of the device): each side's
 * loss recovery works against the other's receiver for tens of megabytes, and every byte
 * arrives intact, within a generous time bound.
 */
import { expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { FaultInjector } from '../../src/link/fault-injector.js';
import { closePeersAfterEach, connected, describeInterop, KERNEL_ADDRESS, KernelPeer, receiveAll, sendAll, sha256, startPeerScript } from './kernel-peer.js';

const SIZE = 50_000_000;

describeInterop('interop: bulk TCP with the Linux kernel through 2% loss', () => {
  let peer: KernelPeer | null = null;
  closePeersAfterEach();

  it(`${SIZE / 1_000_000} MB each way at once, bit-exact, with 2% of frames dropped both ways`, async () => {
    let faults: FaultInjector | null = null;
    peer = new KernelPeer({ wrap: (link) => (faults = new FaultInjector(link, { lossRate: 0.02, direction: 'both' }, new Rng(7))) });
    const server = await startPeerScript(peer, ['exchange', KERNEL_ADDRESS, '9600', String(SIZE)], 60_000);
    const started = Date.now();
    const connection = unwrap(peer.stack.tcp.connect(parseIpv4Address(KERNEL_ADDRESS)!, 9600));
    await connected(connection);
    const data = new Rng(13).bytes(SIZE);
    const [received] = await Promise.all([receiveAll(connection), sendAll(connection, data)]);
    const result = await server.done;
    const seconds = (Date.now() - started) / 1000;
    const lines = result.stdout.toString().split('\n');
    const [sentLength, sentHash, gotLength, gotHash] = lines[1].split(' ');
    expect(received.error).toBe(null);
    expect(received.length).toBe(Number(sentLength));
    expect(received.length).toBe(SIZE);
    expect(received.sha256).toBe(sentHash);
    expect(Number(gotLength)).toBe(SIZE);
    expect(gotHash).toBe(sha256(data));
    const lost = faults!.stats.get('fault.lost');
    expect(lost).toBeGreaterThan(0);
    expect(peer.stack.stats.get('tcp.tx.retransmits')).toBeGreaterThan(0);
    console.log(
      `${SIZE} bytes each way through 2% loss in ${seconds.toFixed(1)} s ` +
        `(${((2 * SIZE) / seconds / 1e6).toFixed(1)} MB/s both ways together); frames dropped ${lost}, ` +
        `our retransmits ${peer.stack.stats.get('tcp.tx.retransmits')}`,
    );
  }, 60_000);
});
