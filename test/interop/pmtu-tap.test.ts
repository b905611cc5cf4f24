/**
 * Path MTU discovery over TAP (issue 15): ustack on an Ethernet device, found by the kernel with
 * Neighbor Discovery and ARP, behind a Linux router whose link onward is 1280 bytes.
 *
 *   ustack ──TAP 1500── router (forwarding) ══veth 1280══ far router (forwarding) ──veth 1500── far host
 *   fd00:87::2          fd00:87::1 | fd00:88::1          fd00:88::2 | fd00:89::1             fd00:89::2, ::3
 *   10.87.0.2           10.87.0.1  | 10.88.0.1           10.88.0.2  | 10.89.0.1              10.89.0.2
 *
 * Both hosts sit on 1500-byte links and offer an MSS for 1500; only the routers know of the
 * narrow link. Our full-sized TCP segments meet the first router, which answers with a Packet
 * Too Big (RFC 8201 §4) or, over IPv4 with DF, a fragmentation needed (RFC 1191 §4): we must
 * lower the MSS and resend. The far kernel's segments meet the far router and the kernel learns
 * the same way, so the transfer both ways crosses the narrow link. The kernel's own `ping -6 -s
 * 3000` from a second far address makes us learn once more for that destination (our echo
 * replies are fragmented: RFC 8200 §5 fragments at the path MTU). The TUN twin is
 * ipv6-tools.test.ts (IPv6) and pmtu.test.ts (IPv4). Root only: SKIPPED loudly otherwise, and
 * under CI=true it must run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { parseIpv6Address } from '../../src/ip/ipv6-address.js';
import { createNamespace, ip, type Namespace } from '../../src/link/device.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { connected, describeInterop, inNamespace, listeningIn, receiveAll, sendAll, sha256, startInNamespace, startUp, type RunningUp } from './kernel-peer.js';

const PEER_SCRIPT = new URL('./peer.py', import.meta.url).pathname;
const NARROW_MTU = 1280;
let counter = 0;

/** The three namespaces and ustack on its TAP device in the first; `close` removes all. */
interface NarrowPath {
  readonly up: RunningUp;
  readonly stack: Stack;
  readonly device: string;
  readonly far: Namespace;
  /** The namespace of the router on ustack's TAP device. */
  readonly routerName: string;
  /** A directory of the test's own, removed by `close`. */
  readonly directory: string;
  /** The three namespaces' names, to check they are gone after `close`. */
  readonly namespaces: readonly string[];
  close(): Promise<void>;
}

/** Builds the path drawn above, dual-stack, every kernel address without DAD (`nodad`). */
async function narrowPath(): Promise<NarrowPath> {
  counter++;
  const tag = `${process.pid}-pt${counter}`;
  const device = `uspt${process.pid % 10000}${counter}`;
  const router = createNamespace(`ustack-it-${tag}-r`, { ipv6: true });
  const farRouter = createNamespace(`ustack-it-${tag}-m`, { ipv6: true });
  const far = createNamespace(`ustack-it-${tag}-f`, { ipv6: true });
  let up: RunningUp | null = null;
  const directory = mkdtempSync(join(tmpdir(), 'ustack-pmtu-tap-'));
  const close = async () => {
    await up?.stop();
    rmSync(directory, { recursive: true, force: true });
    far.close();
    farRouter.close();
    router.close();
  };
  try {
    // The narrow link: 1280 bytes at both ends, so neither router can forward a larger packet.
    ip(['link', 'add', 'narrow0', 'netns', router.name, 'mtu', String(NARROW_MTU), 'type', 'veth', 'peer', 'name', 'narrow1', 'netns', farRouter.name]);
    ip(['link', 'set', 'narrow1', 'mtu', String(NARROW_MTU)], farRouter.name);
    ip(['link', 'add', 'wide0', 'netns', farRouter.name, 'mtu', '1500', 'type', 'veth', 'peer', 'name', 'wide1', 'netns', far.name, 'mtu', '1500']);
    const address = (namespace: Namespace, cidr: string, dev: string) =>
      ip([...(cidr.includes(':') ? ['-6'] : []), 'addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : [])], namespace.name);
    address(router, 'fd00:88::1/64', 'narrow0');
    address(router, '10.88.0.1/24', 'narrow0');
    address(farRouter, 'fd00:88::2/64', 'narrow1');
    address(farRouter, '10.88.0.2/24', 'narrow1');
    address(farRouter, 'fd00:89::1/64', 'wide0');
    address(farRouter, '10.89.0.1/24', 'wide0');
    for (const cidr of ['fd00:89::2/64', 'fd00:89::3/64', '10.89.0.2/24', '10.89.0.3/24']) address(far, cidr, 'wide1');
    ip(['link', 'set', 'narrow0', 'up'], router.name);
    ip(['link', 'set', 'narrow1', 'up'], farRouter.name);
    ip(['link', 'set', 'wide0', 'up'], farRouter.name);
    ip(['link', 'set', 'wide1', 'up'], far.name);
    ip(['-6', 'route', 'add', 'fd00:89::/64', 'via', 'fd00:88::2'], router.name);
    ip(['route', 'add', '10.89.0.0/24', 'via', '10.88.0.2'], router.name);
    ip(['-6', 'route', 'add', 'fd00:87::/64', 'via', 'fd00:88::1'], farRouter.name);
    ip(['route', 'add', '10.87.0.0/24', 'via', '10.88.0.1'], farRouter.name);
    ip(['-6', 'route', 'add', 'default', 'via', 'fd00:89::1'], far.name);
    ip(['route', 'add', 'default', 'via', '10.89.0.1'], far.name);
    for (const namespace of [router, farRouter]) {
      for (const setting of ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']) {
        expect((await inNamespace(namespace.name, ['sysctl', '-qw', setting])).code).toBe(0);
      }
    }
    up = await startUp(
      [...['--tap', device, '--netns', router.name, '--addr', '10.87.0.2/24', '--host-addr', '10.87.0.1'], ...['--addr6', 'fd00:87::2/64', '--serve', 'none']],
      120,
    );
    const stack = up.stack;
    stack.addRoute('fd00:89::/64', { via: 'fd00:87::1' });
    stack.addRoute('10.89.0.0/24', { via: '10.87.0.1' });
    // Over TAP our addresses are tentative until DAD (RFC 4862 §5.4) has passed: wait, bounded.
    const deadline = Date.now() + 5_000;
    while (stack.ip6.addresses(device).some((entry) => entry.state === 'tentative')) {
      if (Date.now() > deadline) throw new Error(`DAD did not finish on ${device}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { up, stack, device, far, routerName: router.name, directory, namespaces: [router.name, farRouter.name, far.name], close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Resolves once `condition` holds (polled every 20 ms); rejects after 10 s. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Which of the path's namespaces still exist. */
const namespacesLeft = (path: NarrowPath) => {
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  return path.namespaces.filter((name) => listed.split('\n').some((line) => line.split(' ')[0] === name));
};

/**
 * A TCP transfer both ways at once between ustack (client) and the far kernel's peer.py
 * exchange (`size` bytes each way): what each end received, checked by hash against what the
 * other sent. Returns the connection's send MSS before and after.
 */
async function exchangeBothWays(
  path: NarrowPath,
  host: string,
  port: number,
  size: number,
): Promise<{ mssAtStart: number; mssAtEnd: number; localPort: number }> {
  const server = inNamespace(path.far.name, ['python3', PEER_SCRIPT, 'exchange', host, String(port), String(size)], '', 30_000);
  await listeningIn(path.far.name, port);
  const remote = host.includes(':') ? host : parseIpv4Address(host)!;
  const connection = unwrap(path.stack.tcp.connect(remote, port));
  await connected(connection);
  const mssAtStart = connection.sendMss;
  const ours = new Rng(port).bytes(size);
  // Our FIN follows our last byte (sendAll); the kernel's ends what we receive; then we close.
  const [received] = await Promise.all([receiveAll(connection), sendAll(connection, ours)]);
  connection.close();
  const result = await server;
  expect(result.code).toBe(0);
  // "<sent> <sha256 sent> <received> <sha256 received>", then the TCP_INFO options line.
  const [kernelSent, kernelSentHash, kernelGot, kernelGotHash] = result.stdout.split('\n')[1].split(' ');
  expect(received.error).toBe(null);
  expect([received.length, received.sha256]).toEqual([Number(kernelSent), kernelSentHash]);
  expect([Number(kernelGot), kernelGotHash]).toEqual([size, sha256(ours)]);
  return { mssAtStart, mssAtEnd: connection.sendMss, localPort: connection.localPort };
}

describeInterop('interop: path MTU discovery over TAP through a Linux router with a 1280-byte link onward', () => {
  it("IPv6 (RFC 8201): the router's Packet Too Big lowers our MSS, 2 MB each way arrive by hash, the far kernel learns from its router too; the kernel's ping -6 -s 3000 from a second address gets fragmented replies after one more Packet Too Big", async () => {
    const path = await narrowPath();
    try {
      const stack = path.stack;
      const far = parseIpv6Address('fd00:89::2')!;
      expect(stack.ip6.mtuTo(far)).toBe(1500); // the TAP's, nothing learned yet
      // tcpdump on the router's end of the TAP records the TCP transfer, for tshark's flow labels.
      const capturePath = join(path.directory, 'tap.pcap');
      const tcpdump = startInNamespace(path.routerName, ['tcpdump', '-i', path.device, '-U', '-n', '-w', capturePath, 'ip6 and tcp port 9700']);
      await waitFor(() => tcpdump.stderr().includes('listening on'), 'tcpdump to listen');
      const { mssAtStart, mssAtEnd, localPort } = await exchangeBothWays(path, 'fd00:89::2', 9700, 2_000_000);
      await tcpdump.stop('SIGINT');
      // RFC 6437 §3, as tshark reads the capture: each direction of the connection keeps its
      // label through the Packet Too Big and its resends, and changes it only where a timeout
      // re-rolled it (Linux's sk_rethink_txhash; ours in retransmit-timer.ts). Ours starts as the
      // flow's keyed hash (generation 0); the kernel's re-rolls are its own counters' (nstat).
      const tshark = spawnSync('tshark', ['-r', capturePath, '-T', 'fields', '-E', 'separator=|', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'ipv6.flow']);
      expect(tshark.status).toBe(0);
      const labels = new Map<string, number[]>();
      for (const line of tshark.stdout.toString().trim().split('\n')) {
        const [source, port, label] = line.split('|');
        const key = `${source} ${port}`;
        labels.set(key, [...(labels.get(key) ?? []), Number(label)]);
      }
      const ours = labels.get(`fd00:87::2 ${localPort}`)!;
      const theirs = labels.get('fd00:89::2 9700')!;
      expect([...labels.keys()].sort()).toEqual([`fd00:87::2 ${localPort}`, 'fd00:89::2 9700']);
      const changes = (sequence: number[]) => sequence.filter((label, i) => i > 0 && label !== sequence[i - 1]).length;
      expect(ours[0]).toBe(stack.ip6.flowLabels.label(parseIpv6Address('fd00:87::2')!, far, 6, localPort, 9700));
      // Every retransmission timeout re-rolls it: the data's (tcp.rto.fired) and the SYN's (a
      // loaded machine sometimes retransmits the SYN; CI saw one label change with no data RTO).
      const timeouts = stack.stats.get('tcp.rto.fired') + stack.stats.get('tcp.tx.synRetransmits');
      expect(changes(ours), `our labels ${[...new Set(ours)].join(', ')}, timeouts ${timeouts}`).toBeLessThanOrEqual(timeouts);
      // The kernel re-rolls on its timeouts and duplicate data (counted as *Rehash) and on every
      // SYN-ACK it sends again (tcp_rtx_synack draws a new txhash; counted in TCPSynRetrans) —
      // which a retransmitted SYN of ours makes it do (CI saw two label changes with no rehash).
      const kernel = (await inNamespace(path.far.name, ['nstat', '-az', 'TcpExtTcpTimeoutRehash', 'TcpExtTcpDuplicateDataRehash', 'TcpExtTCPSynRetrans']))
        .stdout;
      const rehashes = [...kernel.matchAll(/^TcpExt(?:\w+Rehash|TCPSynRetrans)\s+(\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
      expect(theirs.every((label) => label > 0)).toBe(true);
      expect(changes(theirs), `the kernel's labels ${[...new Set(theirs)].join(', ')}; nstat:\n${kernel}`).toBeLessThanOrEqual(rehashes);
      console.log(
        `flow labels: ustack ${new Set(ours).size} over ${ours.length} packets, the kernel ${new Set(theirs).size} over ${theirs.length} (its rehashes: ${rehashes})`,
      );
      // The far host offered an MSS for 1500 (1440): we began above what the narrow link carries.
      expect(mssAtStart).toBeGreaterThan(NARROW_MTU - 60);
      // 1280 - 40 (IPv6) - 20 (TCP) - 12 (timestamps).
      expect(mssAtEnd).toBeLessThanOrEqual(NARROW_MTU - 60 - 12);
      expect(stack.ip6.mtuTo(far)).toBe(NARROW_MTU);
      const stats = stack.stats;
      expect(stats.get('icmpv6.rx.packetTooBig')).toBeGreaterThanOrEqual(1);
      expect(stats.get('ipv6.pmtu.lowered')).toBe(1);
      expect(stats.get('tcp.pmtu.mssLowered')).toBeGreaterThanOrEqual(1);
      // The far kernel's segments to us met the far router's Packet Too Big: it keeps 1280 for us.
      expect((await inNamespace(path.far.name, ['ip', '-6', 'route', 'get', 'fd00:87::2', 'from', 'fd00:89::2'])).stdout).toMatch(/mtu 1280/);

      // ping -6 -s 3000 from fd00:89::3, a destination we know nothing of yet: our first reply
      // leaves in 1500-byte fragments and the router answers Packet Too Big instead; the rest
      // go in fragments of 1280 and come back to ping.
      const tooBigBefore = stats.get('icmpv6.rx.packetTooBig');
      const fragmentedBefore = stats.get('ipv6.tx.fragmented');
      expect(stack.ip6.mtuTo(parseIpv6Address('fd00:89::3')!)).toBe(1500);
      const ping = await inNamespace(path.far.name, ['ping', '-6', '-c', '4', '-i', '0.3', '-W', '2', '-s', '3000', '-I', 'fd00:89::3', 'fd00:87::2']);
      const [, transmitted, received] = ping.stdout.match(/(\d+) packets transmitted, (\d+) received/) ?? [];
      expect(Number(transmitted)).toBe(4);
      expect(Number(received)).toBeGreaterThanOrEqual(3);
      expect(ping.stdout).toMatch(/3008 bytes from fd00:87::2/);
      expect(stack.ip6.mtuTo(parseIpv6Address('fd00:89::3')!)).toBe(NARROW_MTU);
      expect(stats.get('icmpv6.rx.packetTooBig')).toBeGreaterThan(tooBigBefore);
      expect(stats.get('ipv6.pmtu.lowered')).toBe(2);
      expect(stats.get('ipv6.tx.fragmented') - fragmentedBefore).toBeGreaterThanOrEqual(4);
      expect(stats.get('drop.ipv6.reassemblyTimeout')).toBe(0);
      console.log(
        `IPv6 PMTU over TAP: MSS ${mssAtStart} → ${mssAtEnd}, ${stats.get('icmpv6.rx.packetTooBig')} Packet Too Big received, ${stats.get('ipv6.pmtu.lowered')} path MTUs lowered, ping -6 -s 3000: ${received}/4`,
      );
      expect(stack.lastInternalError).toBe(null);
    } finally {
      await path.close();
    }
    expect(namespacesLeft(path)).toEqual([]);
  }, 90_000);

  it("IPv4 (RFC 1191): our DF segments earn the router's fragmentation needed, the MSS falls to the 1280 link, 2 MB each way arrive by hash; the far kernel learns from its router too", async () => {
    const path = await narrowPath();
    try {
      const stack = path.stack;
      const far = parseIpv4Address('10.89.0.2')!;
      expect(stack.ip.mtuTo(far)).toBe(1500);
      const { mssAtStart, mssAtEnd } = await exchangeBothWays(path, '10.89.0.2', 9701, 2_000_000);
      expect(mssAtStart).toBeGreaterThan(NARROW_MTU - 40);
      // 1280 - 20 (IPv4) - 20 (TCP) - 12 (timestamps).
      expect(mssAtEnd).toBeLessThanOrEqual(NARROW_MTU - 40 - 12);
      expect(stack.ip.mtuTo(far)).toBe(NARROW_MTU);
      const stats = stack.stats;
      expect(stats.get('icmp.rx.destinationUnreachable')).toBeGreaterThanOrEqual(1);
      expect(stats.get('ipv4.pmtu.lowered')).toBe(1);
      expect(stats.get('tcp.pmtu.mssLowered')).toBeGreaterThanOrEqual(1);
      expect((await inNamespace(path.far.name, ['ip', 'route', 'get', '10.87.0.2', 'from', '10.89.0.2'])).stdout).toMatch(/mtu 1280/);
      console.log(
        `IPv4 PMTU over TAP: MSS ${mssAtStart} → ${mssAtEnd}, ${stats.get('icmp.rx.destinationUnreachable')} fragmentation needed received, ${stats.get('ipv4.pmtu.lowered')} path MTU lowered`,
      );
      expect(stack.lastInternalError).toBe(null);
    } finally {
      await path.close();
    }
    expect(namespacesLeft(path)).toEqual([]);
  }, 90_000);
});
