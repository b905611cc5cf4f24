/**
 * Path MTU discovery (RFC 1191) with the Linux kernel as the router in the middle:
 *
 *   ustack 10.77.0.2 ──TUN 1500── ns "router" (forwarding) ──veth 1280── ns "far" 10.79.0.2
 *
 * Our TCP sends with DF; the router cannot forward 1500-byte packets into the 1280 link and
 * answers ICMP fragmentation needed (type 3 code 4, next-hop MTU 1280); we must lower the MSS,
 * resend, and finish bit-exact. The other way, the far kernel's own segments are clamped by
 * the router's ICMP when the router's side of our TUN is the narrow one.
 */
import { afterEach, expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { Rng } from '../../src/core/rng.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { createNamespace, ip, type Namespace } from '../../src/link/device.js';
import { connected, describeInterop, KernelPeer, receiveAll, sendAll, sha256, startPeerScript } from './kernel-peer.js';
import { execFileSync } from 'node:child_process';

const FAR = '10.79.0.2';

/**
 * Adds the far namespace behind the peer's namespace, joined by a 1500-byte veth pair; with
 * `narrowTo`, the router's route to the far network is clamped to that MTU (`mtu lock`), so the
 * far end still advertises a 1460-byte MSS and only the router knows the path is narrower.
 */
function addFarSide(peer: KernelPeer, narrowTo?: number): Namespace {
  const mtu = 1500;
  const far = createNamespace(`${peer.namespace.name}-far`);
  const router = peer.namespace.name;
  ip(['link', 'add', 'rtr0', 'netns', router, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'far0', 'netns', far.name, 'mtu', String(mtu)]);
  ip(['addr', 'add', '10.79.0.1/24', 'dev', 'rtr0'], router);
  ip(['link', 'set', 'rtr0', 'up'], router);
  ip(['addr', 'add', `${FAR}/24`, 'dev', 'far0'], far.name);
  ip(['link', 'set', 'far0', 'up'], far.name);
  ip(['route', 'add', 'default', 'via', '10.79.0.1'], far.name);
  if (narrowTo) ip(['route', 'replace', '10.79.0.0/24', 'dev', 'rtr0', 'mtu', 'lock', String(narrowTo)], router);
  execFileSync('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  peer.stack.addRoute('10.79.0.0/24', { via: '10.77.0.1' });
  return far;
}

describeInterop('interop: path MTU discovery through a Linux router', () => {
  let peer: KernelPeer | null = null;
  let far: Namespace | null = null;
  afterEach(async () => {
    if (peer) {
      expect(peer.stack.lastInternalError).toBe(null);
      await peer.close();
    }
    far?.close();
    peer = null;
    far = null;
  });

  it("our TCP lowers its MSS on the router's fragmentation-needed and delivers 2 MB bit-exact", async () => {
    peer = new KernelPeer();
    far = addFarSide(peer, 1280);
    const sink = await startPeerScript(peer.elsewhere(far), ['sink', FAR, '9400']);
    const connection = unwrap(peer.stack.tcp.connect(parseIpv4Address(FAR)!, 9400));
    await connected(connection);
    expect(connection.sendMss).toBeGreaterThan(1280 - 40);
    const data = new Rng(11).bytes(2_000_000);
    await sendAll(connection, data);
    const [length, hash] = (await sink.done).stdout.toString().split('\n')[1].split(' ');
    expect(Number(length)).toBe(data.length);
    expect(hash).toBe(sha256(data));
    expect(peer.stack.stats.get('tcp.pmtu.mssLowered')).toBeGreaterThanOrEqual(1);
    expect(connection.sendMss).toBeLessThanOrEqual(1280 - 40 - 12);
  });

  it('the far kernel learns the narrow link from the router and its segments reach us whole', async () => {
    // The router's end of the TUN is 1000 bytes; ours says 1500, so we advertise MSS 1460.
    peer = new KernelPeer({ kernelMtu: 1000 });
    far = addFarSide(peer);
    const farPeer = peer.elsewhere(far);
    const size = 1_000_000;
    const source = await startPeerScript(farPeer, ['source', FAR, '9401', String(size)]);
    const connection = unwrap(peer.stack.tcp.connect(parseIpv4Address(FAR)!, 9401));
    await connected(connection);
    const received = await receiveAll(connection, { closeAtEnd: true });
    const [length, hash] = (await source.done).stdout.toString().split('\n')[1].split(' ');
    expect(received.length).toBe(Number(length));
    expect(received.sha256).toBe(hash);
    const cached = (await farPeer.run(['ip', 'route', 'get', '10.77.0.2'])).stdout.toString();
    expect(cached).toMatch(/mtu 1000/);
    expect(peer.stack.stats.sum('drop.')).toBe(0);
  });
});
