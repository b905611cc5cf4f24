/**
 * IPv6 against the Linux kernel (issue 15): `ustack up --addr6` gives the TUN device an IPv6
 * prefix beside IPv4; the kernel's own `ping -6` (also fragmented) and a TCP client over IPv6
 * reach ustack in a namespace the test makes. Root only: SKIPPED loudly otherwise, and under
 * CI=true it must run (describeInterop).
 */
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { runPing } from '../../src/cli/ping-command.js';
import { describeInterop, inNamespace, startUp } from './kernel-peer.js';

describeInterop('interop: IPv6 over TUN (ustack up --addr6)', () => {
  it('the kernel pings ustack over IPv6 (56 bytes, and 3000 in fragments); its TCP clients over IPv6 and IPv4 reach one dual-stack listener', async () => {
    const namespace = `ustack-it-${process.pid}-v6`;
    const up = await startUp([
      '--tun',
      `ust6${process.pid % 100000}`,
      '--netns',
      namespace,
      '--addr',
      '10.79.0.2/24',
      '--host-addr',
      '10.79.0.1',
      '--addr6',
      'fd00:79::2/64',
    ]);
    const { stack, lines } = up;
    try {
      expect(lines.join('\n')).toContain('ping -6 fd00:79::2');
      const ping = await inNamespace(namespace, ['ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd00:79::2']);
      expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/);
      const big = await inNamespace(namespace, ['ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', '-s', '3000', 'fd00:79::2']);
      expect(big.stdout).toMatch(/2 packets transmitted, 2 received/);
      expect(stack.stats.get('ipv6.rx.reassembled')).toBeGreaterThanOrEqual(2);
      expect(stack.stats.get('ipv6.tx.fragments')).toBeGreaterThanOrEqual(6);
      // The kernel's TCP over IPv6 to an echo server on ustack's net, listening on :: (dual stack).
      const server = stack.net.createServer((socket) => socket.pipe(socket));
      await new Promise<void>((resolve) => server.listen(7007, '::', resolve));
      const python = `
import socket
s = socket.create_connection(('fd00:79::2', 7007), timeout=5)
s.sendall(b'hello over ipv6\\n' * 1000)
s.shutdown(socket.SHUT_WR)
data = b''
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
print(len(data), data == b'hello over ipv6\\n' * 1000)
`;
      const echo = await inNamespace(namespace, ['python3', '-c', python]);
      expect(echo.stdout.trim()).toBe('16000 True');
      // …and the kernel's IPv4 client reaches the same :: listener.
      const echo4 = await inNamespace(namespace, ['python3', '-c', python.replace("'fd00:79::2'", "'10.79.0.2'")]);
      expect(echo4.stdout.trim()).toBe('16000 True');
      server.close();
    } finally {
      await up.stop();
    }
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(namespace);
  }, 90_000);

  it('ustack ping -6 (a raw AF_INET6 ICMPv6 socket) gets the kernel echo replies, plain and 3000 bytes in fragments', async () => {
    const namespace = `ustack-it-${process.pid}-p6`;
    const device = [
      '--tun',
      `usp6${process.pid % 100000}`,
      '--netns',
      namespace,
      '--addr',
      '10.80.0.2/24',
      '--host-addr',
      '10.80.0.1',
      '--addr6',
      'fd00:80::2/64',
    ];
    const lines: string[] = [];
    expect(await runPing([...device, '-6', 'fd00:80::1', '-c', '3', '-i', '0.2'], (line) => lines.push(line))).toBe(0);
    expect(lines[0]).toBe('PING fd00:80::1 (fd00:80::1) 56 data bytes');
    const replies = lines.filter((line) => / bytes from /.test(line));
    expect(replies).toHaveLength(3);
    replies.forEach((line, i) => expect(line).toMatch(new RegExp(`^64 bytes from fd00:80::1: icmp_seq=${i + 1} ttl=64 time=\\d+(\\.\\d+)? ms$`)));
    expect(lines.join('\n')).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
    const big: string[] = [];
    expect(await runPing([...device, '-6', 'fd00:80::1', '-c', '2', '-i', '0.2', '-s', '3000'], (line) => big.push(line))).toBe(0);
    expect(big.filter((line) => /^3008 bytes from fd00:80::1: icmp_seq=\d ttl=64 /.test(line))).toHaveLength(2);
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(namespace);
  }, 60_000);
});
