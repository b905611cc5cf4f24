/**
 * IPv6 over a TAP device against the Linux kernel (issue 15): `ustack up --tap --addr6` in a
 * namespace this test makes and removes. The kernel finds ustack with Neighbor Discovery (RFC
 * 4861) and pings its global and link-local addresses; ustack finds the kernel; DAD (RFC 4862
 * §5.4) both ways — the kernel defends its address against ustack's probe, ustack defends its
 * own against the kernel's (which the kernel then marks dadfailed); SLAAC (RFC 4862 §5.5.3) from
 * Debian's radvd with an RFC 7217 identifier; TCP over IPv6 both ways; and tcpdump's capture,
 * read by tshark, holds our MLDv2 report for a group a socket joined and our DAD probes, as the
 * RFCs shape them. Root only: SKIPPED loudly otherwise, and under CI=true it must run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { formatIpv6Address, ipv6WithInterfaceId, parseIpv6Address, solicitedNodeAddress } from '../../src/ip/ipv6-address.js';
import { stableInterfaceId } from '../../src/ip/stable-interface-id.js';
import { formatMac } from '../../src/link/ethernet.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { describeInterop, inNamespace, startUp, type RunningUp } from './kernel-peer.js';

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Stops a process this test started, by its PID, and waits for it. */
async function stop(child: ChildProcess | null, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, signal);
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
}

const ECHO = `
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b'neighbor discovery over tap\\n' * 2000)
s.shutdown(socket.SHUT_WR)
data = b''
while True:
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
print(len(data), data == b'neighbor discovery over tap\\n' * 2000)
`;

const ECHO_SERVER = `
import socket, sys
server = socket.create_server((sys.argv[1], int(sys.argv[2])), family=socket.AF_INET6)
print('listening', flush=True)
server.settimeout(15)
connection, _ = server.accept()
while True:
    chunk = connection.recv(65536)
    if not chunk: break
    connection.sendall(chunk)
connection.close()
`;

describeInterop('interop: IPv6 over TAP (Neighbor Discovery, DAD, SLAAC, MLD) with the Linux kernel', () => {
  it('the kernel and ustack find each other with NDP, ping and TCP over IPv6; DAD both ways; SLAAC from radvd; MLDv2 and DAD probes as tshark reads them', async () => {
    const namespace = `ustack-it-${process.pid}-nd`;
    const device = `usnd${process.pid % 100000}`;
    const dir = mkdtempSync(join(tmpdir(), 'ustack-nd-'));
    const capturePath = join(dir, 'tap.pcap');
    expect(spawnSync('ip', ['netns', 'add', namespace]).status).toBe(0);
    let tcpdump: ChildProcess | null = null;
    let radvd: ChildProcess | null = null;
    let up: RunningUp | null = null;
    let stack!: Stack;
    let lines!: string[];
    try {
      up = await startUp(
        ['--tap', device, '--netns', namespace, '--addr', '10.80.0.2/24', '--host-addr', '10.80.0.1', '--addr6', 'fd00:80::2/64', '--serve', 'none'],
        120,
      );
      ({ stack, lines } = up);
      // tcpdump records the device from now on (IPv6 only), for tshark to read at the end.
      tcpdump = spawn('ip', ['netns', 'exec', namespace, 'tcpdump', '-i', device, '-U', '-w', capturePath, 'ip6'], { stdio: ['ignore', 'ignore', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        tcpdump!.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('listening on') && resolve());
        tcpdump!.once('exit', (code) => reject(new Error(`tcpdump exited with ${code}`)));
      });

      // DAD (RFC 4862 §5.4): both of ustack's addresses start tentative and become preferred.
      const state = (text: string) => stack.ip6.addressEntry(parseIpv6Address(text)!, device)?.state;
      const linkLocal = stack.ip6.addresses(device).find((entry) => entry.cidr.address[0] === 0xfe)!.cidr.address;
      await waitFor(
        'DAD of fd00:80::2 and the link-local address',
        () => state('fd00:80::2') === 'preferred' && state(formatIpv6Address(linkLocal)) === 'preferred',
        5000,
      );
      expect(lines.join('\n')).toContain(`ping -6 ${formatIpv6Address(linkLocal)}%${device}`);
      // The link-local identifier is RFC 7217's for fe80::/64 on this interface.
      expect(linkLocal).toEqual(
        ipv6WithInterfaceId(parseIpv6Address('fe80::')!, stableInterfaceId(parseIpv6Address('fe80::')!, device, 0, stack.ip6.stableSecret())),
      );

      // The kernel resolves us (NS/NA) and pings both addresses.
      const ping = await inNamespace(namespace, ['ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd00:80::2']);
      expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/);
      const pingLinkLocal = await inNamespace(namespace, ['ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', `${formatIpv6Address(linkLocal)}%${device}`]);
      expect(pingLinkLocal.stdout).toMatch(/2 packets transmitted, 2 received/);
      const ourMac = formatMac(stack.ip6.neighborDiscovery(device)!.linkAddress);
      const kernelNeighbors = (await inNamespace(namespace, ['ip', '-6', 'neigh', 'show', 'dev', device])).stdout;
      expect(kernelNeighbors).toMatch(new RegExp(`fd00:80::2 lladdr ${ourMac}`));

      // We resolve the kernel: its MAC in our Neighbor Cache.
      const kernelMac = (await inNamespace(namespace, ['cat', `/sys/class/net/${device}/address`])).stdout.trim();
      const replies: string[] = [];
      const stopListening = stack.icmp6.onEchoReply((reply) => replies.push(formatIpv6Address(reply.source)));
      stack.ping6('fd00:80::1', 7, 1);
      await waitFor('an echo reply from the kernel', () => replies.includes('fd00:80::1'), 5000);
      stopListening();
      const entry = stack.ip6.neighborDiscovery(device)!.cache.get(parseIpv6Address('fd00:80::1')!)!;
      expect(formatMac(entry.linkAddress!)).toBe(kernelMac);
      expect(['REACHABLE', 'STALE', 'DELAY']).toContain(entry.state);

      // TCP over IPv6 over TAP: the kernel's client to our echo server, and ours to the kernel's.
      const server = stack.net.createServer((socket) => socket.pipe(socket));
      await new Promise<void>((resolve) => server.listen(7008, '::', resolve));
      const client = await inNamespace(namespace, ['python3', '-c', ECHO, 'fd00:80::2', '7008']);
      expect(client.stdout.trim()).toBe('56000 True');
      server.close();
      const kernelServer = spawn('ip', ['netns', 'exec', namespace, 'python3', '-c', ECHO_SERVER, 'fd00:80::1', '7009'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => kernelServer.stdout!.once('data', () => resolve()));
      const echoed = await new Promise<Buffer>((resolve, reject) => {
        const socket = stack.net.connect({ host: 'fd00:80::1', port: 7009 });
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('end', () => resolve(Buffer.concat(chunks)));
        socket.on('error', reject);
        socket.end(Buffer.alloc(100_000, 'u'));
      });
      expect(echoed.equals(Buffer.alloc(100_000, 'u'))).toBe(true);

      // MLDv2 (RFC 3810 §6.1): a socket joins ff05::1234; the report goes out at once.
      const socket = stack.udp.open(6);
      expect(socket.joinGroup('ff05::1234').ok).toBe(true);

      // DAD against the kernel: it holds fd00:80::99, so our probe for it is answered and ours is a duplicate.
      expect((await inNamespace(namespace, ['ip', 'addr', 'add', 'fd00:80::99/64', 'dev', device, 'nodad'])).code).toBe(0);
      stack.ip6.addAddress(device, { address: parseIpv6Address('fd00:80::99')!, prefixLength: 64 }, stack.now);
      stack.onWake?.(); // a change made from outside a poll: let the driver see the new deadline
      await waitFor('DAD to find fd00:80::99 in use', () => state('fd00:80::99') === 'duplicate', 5000);
      // And the kernel's DAD against us: it may not take fd00:80::2, ours (it marks it dadfailed).
      expect((await inNamespace(namespace, ['ip', 'addr', 'add', 'fd00:80::2/128', 'dev', device])).code).toBe(0);
      let kernelAddresses = '';
      await waitFor(
        "the kernel's DAD to fail",
        () => {
          kernelAddresses = spawnSync('ip', ['netns', 'exec', namespace, 'ip', '-6', 'addr', 'show', 'dev', device]).stdout.toString();
          return /fd00:80::2\/128 scope global (tentative )?dadfailed/.test(kernelAddresses);
        },
        8000,
      );
      await inNamespace(namespace, ['ip', 'addr', 'del', 'fd00:80::2/128', 'dev', device]);

      // SLAAC (RFC 4862 §5.5.3) from radvd's advertisements: an address in its prefix with an
      // RFC 7217 identifier, DAD, a default route through the router; its hop limit and MTU taken.
      writeFileSync(
        join(dir, 'radvd.conf'),
        `interface ${device} {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  AdvDefaultLifetime 600;
  AdvCurHopLimit 61;
  AdvLinkMTU 1400;
  prefix fd00:81::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 3600; AdvPreferredLifetime 1800; };
};
`,
      );
      await inNamespace(namespace, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
      // The router's own address in the prefix it advertises, so that the kernel can reach ours there.
      expect((await inNamespace(namespace, ['ip', 'addr', 'add', 'fd00:81::1/64', 'dev', device, 'nodad'])).code).toBe(0);
      radvd = spawn('ip', ['netns', 'exec', namespace, 'radvd', '-n', '-m', 'stderr', '-C', join(dir, 'radvd.conf'), '-p', join(dir, 'radvd.pid')], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const prefix = parseIpv6Address('fd00:81::')!;
      const slaac = ipv6WithInterfaceId(prefix, stableInterfaceId(prefix, device, 0, stack.ip6.stableSecret()));
      await waitFor('a SLAAC address from the RA, past DAD', () => state(formatIpv6Address(slaac)) === 'preferred', 20_000);
      const nd = stack.ip6.neighborDiscovery(device)!;
      expect(nd.routers.currentHopLimit).toBe(61);
      expect(nd.routers.linkMtu).toBe(1400);
      const kernelLinkLocal = (await inNamespace(namespace, ['ip', '-6', 'addr', 'show', 'dev', device, 'scope', 'link'])).stdout.match(
        /inet6 (fe80::[0-9a-f:]+)\//,
      )![1];
      expect(nd.routers.defaultRouters().map(formatIpv6Address)).toEqual([kernelLinkLocal]);
      expect(stack.ip6.routes.lookup(parseIpv6Address('2001:db8::1')!)?.gateway).toEqual(parseIpv6Address(kernelLinkLocal));
      const pingSlaac = await inNamespace(namespace, ['ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', formatIpv6Address(slaac)]);
      expect(pingSlaac.stdout).toMatch(/2 packets transmitted, 2 received/);

      // What tcpdump saw, read by tshark.
      await stop(radvd);
      radvd = null;
      await new Promise((resolve) => setTimeout(resolve, 300));
      await stop(tcpdump, 'SIGINT');
      tcpdump = null;
      const fields = [
        'ipv6.src',
        'ipv6.dst',
        'ipv6.hlim',
        'icmpv6.type',
        'icmpv6.nd.ns.target_address',
        'icmpv6.mldr.mar.record_type',
        'icmpv6.mldr.mar.multicast_address',
        'ipv6.opt.type',
      ];
      const tshark = spawnSync('tshark', ['-r', capturePath, '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((field) => ['-e', field])]);
      expect(tshark.status).toBe(0);
      const rows = tshark.stdout
        .toString()
        .trim()
        .split('\n')
        .map((line) => {
          const values = line.split('|');
          return Object.fromEntries(fields.map((field, i) => [field, values[i] ?? '']));
        });
      const ours = formatIpv6Address(linkLocal);
      // Our MLDv2 report for ff05::1234 (type 143, CHANGE_TO_EXCLUDE_MODE 4), from our link-local
      // address with Hop Limit 1 and a Router Alert (option 5), to ff02::16 (RFC 3810 §5.2, §6.1).
      const report = rows.find((row) => row['icmpv6.type'] === '143' && row['icmpv6.mldr.mar.multicast_address'].split(',').includes('ff05::1234'));
      expect(report).toMatchObject({ 'ipv6.src': ours, 'ipv6.dst': 'ff02::16', 'ipv6.hlim': '1' });
      expect(report!['icmpv6.mldr.mar.record_type'].split(',')).toContain('4');
      expect(report!['ipv6.opt.type'].split(',')).toContain('0x05');
      // Our DAD probes for fd00:80::99 and the SLAAC address: from ::, Hop Limit 255, to the solicited-node group (RFC 4862 §5.4.2).
      for (const target of ['fd00:80::99', formatIpv6Address(slaac)]) {
        const probe = rows.find((row) => row['icmpv6.type'] === '135' && row['icmpv6.nd.ns.target_address'] === target && row['ipv6.src'] === '::');
        expect(probe, `DAD probe for ${target}`).toMatchObject({
          'ipv6.hlim': '255',
          'ipv6.dst': formatIpv6Address(solicitedNodeAddress(parseIpv6Address(target)!)),
        });
      }
      expect(stack.stats.get('ndp.dad.duplicates')).toBe(1);
      expect(stack.stats.get('drop.ndp.badField')).toBe(0);
    } finally {
      await stop(radvd);
      await stop(tcpdump, 'SIGINT');
      await up?.stop().catch(() => {});
      spawnSync('ip', ['netns', 'del', namespace]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
