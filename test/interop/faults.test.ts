/**
 * The kernel and our stack over a TUN link that loses, duplicates, reorders, corrupts and
 * delays frames both ways (a seeded FaultInjector on our side of the device): each TCP must
 * recover the other's losses — the kernel's SACK/RACK recovery against our receiver, ours
 * against its — and every byte must arrive intact.
 */
import { expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { FaultInjector } from '../../src/link/fault-injector.js';
import { closePeersAfterEach, connected, describeInterop, KERNEL_ADDRESS, KernelPeer, receiveAll, sendAll, sha256, startPeerScript } from './kernel-peer.js';

describeInterop('interop: TCP with the Linux kernel over a faulty link', () => {
  let peer: KernelPeer | null = null;
  closePeersAfterEach();

  it('3 MB each way at once through 2% loss, 1% duplication, 2% reordering, 0.5% corruption and jittered delay', async () => {
    let faults: FaultInjector | null = null;
    peer = new KernelPeer({
      wrap: (link) =>
        (faults = new FaultInjector(
          link,
          { lossRate: 0.02, duplicateRate: 0.01, reorderRate: 0.02, reorderDelayMs: 5, corruptRate: 0.005, delayMs: 2, jitterMs: 1, direction: 'both' },
          new Rng(42),
        )),
    });
    const size = 3_000_000;
    const server = await startPeerScript(peer, ['exchange', KERNEL_ADDRESS, '9500', String(size)], 90_000);
    const connection = unwrap(peer.stack.tcp.connect(parseIpv4Address(KERNEL_ADDRESS)!, 9500));
    await connected(connection);
    const data = new Rng(12).bytes(size);
    const [received] = await Promise.all([receiveAll(connection), sendAll(connection, data)]);
    const lines = (await server.done).stdout.toString().split('\n');
    const [sentLength, sentHash, gotLength, gotHash] = lines[1].split(' ');
    expect(received.error).toBe(null);
    expect(received.length).toBe(Number(sentLength));
    expect(received.sha256).toBe(sentHash);
    expect(Number(gotLength)).toBe(size);
    expect(gotHash).toBe(sha256(data));
    const injected = faults!.stats;
    expect(injected.get('fault.lost')).toBeGreaterThan(0);
    expect(injected.get('fault.corrupted')).toBeGreaterThan(0);
    expect(peer.stack.stats.get('tcp.tx.retransmits')).toBeGreaterThan(0);
    // SACK stayed on through it all (RFC 2018), and the kernel's TCP_INFO agrees.
    expect(connection.sackEnabled).toBe(true);
    expect(lines[2]).toMatch(/sack=1/);
  }, 90_000);
});
