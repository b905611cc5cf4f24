/**
 * TunLink itself against a real device: errors shaped like Node's system errors with advice,
 * the kernel choosing the name, and a device deleted under an open fd. (The write queue is
 * tested with a fake addon in test/link/tun.test.ts: Linux never refuses a TUN write here.)
 */
import { afterEach, expect, it } from 'vitest';
import { TunLink } from '../../src/link/tun.js';
import { describeInterop, KernelPeer } from './kernel-peer.js';

describeInterop('interop: TunLink on a real device', () => {
  let peer: KernelPeer | null = null;
  afterEach(async () => {
    await peer?.close();
    peer = null;
  });

  it('opens with a kernel-chosen name, refuses a name in use with EBUSY and advice, and closes idempotently', () => {
    const first = TunLink.open();
    try {
      expect(first.name).toMatch(/^tun\d+$/);
      let error: NodeJS.ErrnoException | null = null;
      try {
        TunLink.open({ name: first.name });
      } catch (caught) {
        error = caught as NodeJS.ErrnoException;
      }
      expect(error?.code).toBe('EBUSY');
      expect(error?.errno).toBe(-16);
      expect(error?.syscall).toBe('ioctl TUNSETIFF');
      expect(error?.message).toMatch(/pick another name/);
      expect(() => TunLink.open({ name: 'x'.repeat(16) })).toThrow(/longer than 15 bytes/);
    } finally {
      first.close();
      first.close();
    }
    // The name is free again once the fd is closed.
    const again = TunLink.open({ name: first.name });
    again.close();
  });

  it('attaches several queues to one multi-queue device (IFF_MULTI_QUEUE), and refuses a single-queue open of it', () => {
    const name = `ustmq${process.pid % 100000}`;
    const first = TunLink.open({ name, multiQueue: true });
    const second = TunLink.open({ name, multiQueue: true });
    try {
      expect(second.name).toBe(first.name);
      expect(() => TunLink.open({ name })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    } finally {
      first.close();
      second.close();
    }
  });

  it('reports once when the device is deleted under the open fd', async () => {
    peer = new KernelPeer();
    const errors: NodeJS.ErrnoException[] = [];
    peer.link.onError = (error) => errors.push(error);
    await peer.run(['ip', 'link', 'del', 'dev', peer.link.name]);
    peer.stack.ping('10.77.0.1', 1, 1);
    await peer.until(() => errors.length > 0, 5_000, 'the link to report the lost device');
    expect(errors[0].syscall === 'read' || errors[0].syscall === 'write').toBe(true);
    expect(errors[0].message).toMatch(/EBADF/);
  });
});
