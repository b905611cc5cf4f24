/**
 * Raw AF_INET6 sockets against the Linux kernel over TUN (issue 15): a whole IPv6 packet from an
 * IPPROTO_RAW socket (IPV6_HDRINCL), and a UDP header whose checksum ustack computes under
 * IPV6_CHECKSUM, both reach the kernel's UDP socket — which drops bad checksums, so ustack's is
 * judged by the kernel — and a packet of protocol 253 whose checksum the kernel computed under its
 * own IPV6_CHECKSUM passes ustack's check. Root only: SKIPPED loudly otherwise, and under CI=true
 * it must run (describeInterop).
 */
import { spawn, spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { describeInterop, startUp } from './kernel-peer.js';

const OURS = [0xfd, 0, 0, 0x87, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const KERNEL = [0xfd, 0, 0, 0x87, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/** The test's own RFC 1071 checksum over RFC 8200 §8.1's pseudo-header and `data`. */
function checksum(nextHeader: number, data: Uint8Array): number {
  const bytes = [...OURS, ...KERNEL, 0, 0, data.length >> 8, data.length & 0xff, 0, 0, 0, nextHeader, ...data];
  if (bytes.length % 2) bytes.push(0);
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** UDP from port 4000 to 5000 carrying `text`, checksum left 0. */
function udp(text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + data.length);
  out.set([4000 >> 8, 4000 & 0xff, 5000 >> 8, 5000 & 0xff, out.length >> 8, out.length & 0xff, 0, 0]);
  out.set(data, 8);
  return out;
}

const PYTHON = `
import socket, sys
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.bind(('::', 5000))
u.settimeout(10)
r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 253)
r.setsockopt(socket.IPPROTO_IPV6, 7, 2)
print('ready', flush=True)
for i in range(2):
    data, addr = u.recvfrom(2000)
    print('udp', addr[0], addr[1], data.decode(), flush=True)
r.sendto(bytes([1, 2, 0, 0, 3, 4, 5]), ('fd00:87::2', 0))
print('sent', flush=True)
`;

describeInterop('interop: raw AF_INET6 sockets, IPV6_HDRINCL and IPV6_CHECKSUM, against the kernel over TUN', () => {
  it("the kernel's UDP socket receives ustack's whole packet and its IPV6_CHECKSUM'd UDP; ustack verifies the kernel's IPV6_CHECKSUM", async () => {
    const namespace = `ustack-it-${process.pid}-rw6`;
    const up = await startUp([
      '--tun',
      `usr6${process.pid % 100000}`,
      '--netns',
      namespace,
      '--addr',
      '10.87.0.2/24',
      '--host-addr',
      '10.87.0.1',
      '--addr6',
      'fd00:87::2/64',
    ]);
    const { stack } = up;
    try {
      const api = new BerkeleySockets(stack);
      const receiver = api.socket(C.AF_INET6, C.SOCK_RAW, 253);
      api.setsockopt(receiver, C.IPPROTO_IPV6, C.IPV6_CHECKSUM, 2);
      api.setsockopt(receiver, C.SOL_SOCKET, C.SO_RCVTIMEO, 10_000);
      const python = spawn('ip', ['netns', 'exec', namespace, 'python3', '-c', PYTHON], { stdio: ['ignore', 'pipe', 'inherit'] });
      const timer = setTimeout(() => python.kill('SIGKILL'), 30_000);
      let output = '';
      const seen = (text: string) =>
        new Promise<void>((resolve, reject) => {
          const look = () => (output.includes(text) ? resolve() : undefined);
          python.stdout.on('data', (chunk: Buffer) => {
            output += chunk.toString();
            look();
          });
          python.on('close', () => (output.includes(text) ? resolve() : reject(new Error(`python ended without '${text}': ${output}`))));
          look();
        });
      const closed = new Promise<void>((resolve) => python.on('close', () => resolve()));
      try {
        await seen('ready');
        // 1. An IPPROTO_RAW socket: the whole packet, header and UDP checksum by the test.
        const whole = udp('whole packet');
        const sum = checksum(17, whole);
        whole[6] = sum >> 8;
        whole[7] = sum & 0xff;
        const packet = new Uint8Array(40 + whole.length);
        packet.set([0x60, 0, 0, 0, whole.length >> 8, whole.length & 0xff, 17, 64, ...OURS, ...KERNEL]);
        packet.set(whole, 40);
        const raw = api.socket(C.AF_INET6, C.SOCK_RAW, C.IPPROTO_RAW);
        expect(await api.sendto(raw, packet, { address: 'fd00:87::1', port: 0 })).toBe(packet.length);
        // 2. An IPPROTO_UDP raw socket with IPV6_CHECKSUM 6: ustack fills in UDP's checksum.
        const sender = api.socket(C.AF_INET6, C.SOCK_RAW, C.IPPROTO_UDP);
        api.setsockopt(sender, C.IPPROTO_IPV6, C.IPV6_CHECKSUM, 6);
        await seen('udp fd00:87::2 4000 whole packet');
        await api.sendto(sender, udp('checksum by ustack'), { address: 'fd00:87::1', port: 0 });
        await seen('udp fd00:87::2 4000 checksum by ustack');
        // 3. The kernel's protocol-253 packet, checksum at offset 2 by the kernel, passes ours.
        await seen('sent');
        const got = await api.recvfrom(receiver, 100);
        expect(got.address).toBe('fd00:87::1');
        expect([...got.data.subarray(0, 2), ...got.data.subarray(4)]).toEqual([1, 2, 3, 4, 5]);
        expect(
          checksum(
            253,
            Uint8Array.from([...got.data]).map((byte, i) => (i === 2 || i === 3 ? 0 : byte)),
          ),
        ).toBe((got.data[2] << 8) | got.data[3]);
        expect(stack.stats.get('drop.ipv6.rawChecksum')).toBe(0);
      } finally {
        clearTimeout(timer);
        python.kill('SIGKILL');
        await closed;
      }
    } finally {
      await up.stop();
    }
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(namespace);
  }, 90_000);
});
