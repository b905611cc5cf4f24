/**
 * Checksums a device vouches for (FrameReceiver's `checksumTrusted`, as a TUN with offload
 * hands over the kernel's own packets): TCP and UDP take them without summing, even when the
 * field holds only the pseudo-header's partial sum; the same bytes from an ordinary link are
 * dropped; and a router completes the checksum before such a packet leaves.
 */
import { describe, expect, it } from 'vitest';
import { checksumIsValid, foldSum, pseudoHeaderSum } from '../../src/ip/checksum.js';
import { IpProtocol } from '../../src/ip/ipv4.js';
import type { FrameReceiver, Link } from '../../src/link/link.js';
import { Stack } from '../../src/socket-api/stack.js';
import { addr, pattern, udpFrame } from '../support/packets.js';

/** A link that keeps what the stack sends. */
class CaptureLink implements Link {
  readonly medium = 'ip' as const;
  readonly mtu = 1500;
  readonly sent: Uint8Array[] = [];
  constructor(readonly name: string) {}
  transmit(frame: Uint8Array): void {
    this.sent.push(frame.slice());
  }
  setReceiver(_receiver: FrameReceiver): void {}
  pollAt(): number {
    return Infinity;
  }
  poll(): void {}
}

const FAR = addr('10.0.1.2');
const NEAR = addr('10.0.0.1');
const US = addr('10.0.0.2');

/** A UDP packet NEAR → `destination` whose checksum field holds only the pseudo-header sum. */
function partialUdp(destination: number, port: number): Uint8Array {
  const frame = udpFrame({ source: NEAR, destination }, 4000, port, pattern(100));
  const sum = foldSum(pseudoHeaderSum(NEAR, destination, IpProtocol.UDP, frame.length - 20));
  frame[26] = sum >> 8;
  frame[27] = sum & 0xff;
  return frame;
}

describe('checksums vouched for by the device', () => {
  it('a UDP datagram with a partial checksum is delivered when trusted, dropped as badChecksum when not', () => {
    const stack = new Stack({ loopback: false });
    stack.addInterface({ name: 'tun0', link: new CaptureLink('tun0'), address: '10.0.0.2/24' });
    const socket = stack.udp.open();
    socket.bind(0, 7);
    stack.receive('tun0', partialUdp(US, 7), 0);
    expect(socket.receive()).toBe(null);
    expect(stack.stats.get('drop.udp.badChecksum')).toBe(1);
    stack.receive('tun0', partialUdp(US, 7), 0, true);
    expect(socket.receive()?.payload).toEqual(pattern(100));
  });

  it('a router completes the checksum of a trusted packet before forwarding it', () => {
    const stack = new Stack({ loopback: false, ip: { forwarding: true } });
    const far = new CaptureLink('eth1');
    stack.addInterface({ name: 'tun0', link: new CaptureLink('tun0'), address: '10.0.0.2/24' });
    stack.addInterface({ name: 'eth1', link: far, address: '10.0.1.1/24' });
    stack.receive('tun0', partialUdp(FAR, 9), 0, true);
    stack.poll(0);
    expect(far.sent).toHaveLength(1);
    const forwarded = far.sent[0];
    expect(checksumIsValid(forwarded, pseudoHeaderSum(NEAR, FAR, IpProtocol.UDP, forwarded.length - 20), 20)).toBe(true);
    expect(forwarded.subarray(28)).toEqual(pattern(100));
  });
});
