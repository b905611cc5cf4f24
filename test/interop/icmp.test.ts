/**
 * The Linux kernel pings our stack over a TUN device (ICMP echo, RFC 792 / RFC 1122 §3.2.2.6),
 * with requests small and large enough to be fragmented both ways (RFC 791 reassembly).
 */
import { afterEach, expect, it } from 'vitest';
import { describeInterop, KernelPeer, STACK_ADDRESS } from './kernel-peer.js';

describeInterop('interop: kernel ping → ustack', () => {
  let peer: KernelPeer | null = null;
  afterEach(async () => {
    await peer?.close();
    peer = null;
  });

  it("answers the kernel's pings", async () => {
    peer = new KernelPeer();
    const result = await peer.run(['ping', '-c', '3', '-i', '0.2', '-W', '2', STACK_ADDRESS]);
    expect(result.stdout.toString()).toMatch(/3 packets transmitted, 3 received/);
    expect(peer.stack.stats.get('icmp.tx.echoReply')).toBe(3);
    expect(peer.stack.stats.sum('drop.')).toBe(0);
  });

  it("answers 3000-byte pings: reassembles the kernel's fragments and fragments the reply", async () => {
    peer = new KernelPeer();
    const result = await peer.run(['ping', '-c', '3', '-i', '0.2', '-W', '2', '-s', '3000', STACK_ADDRESS]);
    expect(result.stdout.toString()).toMatch(/3 packets transmitted, 3 received/);
    expect(result.stdout.toString()).toMatch(/3008 bytes from 10\.77\.0\.2/);
    expect(peer.stack.stats.get('icmp.tx.echoReply')).toBe(3);
    expect(peer.link.counters.rxPackets).toBeGreaterThanOrEqual(9);
    expect(peer.stack.stats.sum('drop.')).toBe(0);
  });
});
