/**
 * Our stack on a TAP device: Ethernet frames, so the kernel must find our MAC with ARP
 * (RFC 826) before it can ping us or open a TCP connection, and we must find its.
 */
import { expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { EthernetAdapter } from '../../src/link/ethernet-adapter.js';
import { formatMac } from '../../src/link/ethernet.js';
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

describeInterop('interop: ustack on a TAP device (Ethernet and ARP) with the Linux kernel', () => {
  let peer: KernelPeer | null = null;
  closePeersAfterEach();

  it('the kernel resolves our MAC with ARP and pings us (one ping fragmented), on a TAP without offload', async () => {
    peer = new KernelPeer({ tap: true, link: { offload: false } });
    const adapter = peer.iface.link as EthernetAdapter;
    expect(adapter).toBeInstanceOf(EthernetAdapter);
    const small = await peer.run(['ping', '-c', '2', '-i', '0.2', '-W', '2', STACK_ADDRESS]);
    expect(small.stdout.toString()).toMatch(/2 packets transmitted, 2 received/);
    const large = await peer.run(['ping', '-c', '2', '-i', '0.2', '-W', '2', '-s', '3000', STACK_ADDRESS]);
    expect(large.stdout.toString()).toMatch(/2 packets transmitted, 2 received/);
    expect(adapter.counters.arpRepliesSent).toBeGreaterThanOrEqual(1);
    const neighbors = (await peer.run(['ip', 'neigh', 'show', STACK_ADDRESS])).stdout.toString();
    expect(neighbors).toContain(`lladdr ${formatMac(adapter.mac)}`);
    expect(peer.stack.stats.sum('drop.')).toBe(0);
  });

  it("we resolve the kernel's MAC and move data both ways over TCP, in segments of up to 64 KB both ways (offload, as virtio-net)", async () => {
    peer = new KernelPeer({ tap: true });
    const adapter = peer.iface.link as EthernetAdapter;
    const size = 2_000_000;
    const server = await startPeerScript(peer, ['exchange', KERNEL_ADDRESS, '9300', String(size)]);
    const connection = unwrap(peer.stack.tcp.connect(parseIpv4Address(KERNEL_ADDRESS)!, 9300));
    await connected(connection);
    const kernelMac = (await peer.run(['cat', `/sys/class/net/${peer.link.name}/address`])).stdout.toString().trim();
    expect(formatMac(adapter.lookup(parseIpv4Address(KERNEL_ADDRESS)!)!)).toBe(kernelMac);
    const data = new Uint8Array(size).map((_, i) => i * 7);
    const [received] = await Promise.all([receiveAll(connection), sendAll(connection, data)]);
    const [sentLength, sentHash, gotLength, gotHash] = (await server.done).stdout.toString().split('\n')[1].split(' ');
    expect(received.length).toBe(Number(sentLength));
    expect(received.sha256).toBe(sentHash);
    expect(Number(gotLength)).toBe(size);
    expect(gotHash).toBe(sha256(data));
    expect(adapter.counters.arpRequestsSent).toBeGreaterThanOrEqual(1);
    expect(peer.link.counters.rxSegmentationOffloads).toBeGreaterThan(0);
    expect(peer.link.counters.txSegmentationOffloads).toBeGreaterThan(0);
  });
});
