/**
 * A received frame is lent to the stack for the duration of its receive; whatever outlives the
 * call is copied (docs/architecture.md, "Link"). LendingLink overwrites each frame with garbage
 * as soon as the receive returns, so any layer that kept a view instead of a copy hands the
 * application garbage here.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { parseIpv6Address } from '../../src/ip/ipv6-address.js';
import { VirtualWire } from '../../src/link/virtual-wire.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { describeRun, runScenario } from '../e2e/netsim.js';
import { LendingLink } from '../support/lending-link.js';

const addr = (text: string) => parseIpv4Address(text)!;

/** Two stacks on one wire, each receiving through a LendingLink. */
function lendingHosts() {
  const net = new VirtualNetwork(5);
  const client = net.createStack('client');
  const server = net.createStack('server');
  const wire = new VirtualWire({ name: 'lend', latencyMs: 1 });
  const clientLink = new LendingLink(wire.a);
  const serverLink = new LendingLink(wire.b);
  client.addInterface({ name: 'eth0', link: clientLink, address: '10.0.0.1/24', address6: 'fd00::1/64' });
  server.addInterface({ name: 'eth0', link: serverLink, address: '10.0.0.2/24', address6: 'fd00::2/64' });
  return { net, client, server, serverLink };
}

const pattern = (length: number, seed: number) => new Rng(seed).bytes(length);

describe('received frames are lent, not kept', () => {
  for (const family of [4, 6] as const) {
    it(`TCP bulk over IPv${family} with loss and reordering (data held out of order, queued unread) arrives exact`, () => {
      const result = runScenario(
        {
          name: 'lent frames',
          link: { latencyMs: 5, lendFrames: true, faults: { lossRate: 0.02, reorderRate: 0.05, reorderDelayMs: 3 } },
          readerPause: { afterBytes: 100_000, durationMs: 50 },
        },
        { seed: 11, bytes: 400_000, limitMs: 120_000, family },
      );
      expect(result.failure, describeRun(result)).toBeNull();
      // Segments lost and overtaken: each receiver held data out of order.
      for (const faults of [result.clientFaults!, result.serverFaults!]) {
        expect(faults.stats.get('fault.lost')).toBeGreaterThan(0);
        expect(faults.stats.get('fault.reordered')).toBeGreaterThan(0);
      }
      expect(result.clientToServer.exact).toBe(true);
      expect(result.serverToClient.exact).toBe(true);
    });
  }

  it('a FaultInjector delaying received frames delivers them intact', () => {
    const result = runScenario(
      { name: 'lent frames, delayed on receipt', link: { latencyMs: 2, lendFrames: true, faults: { direction: 'receive', delayMs: 4, reorderRate: 0.05 } } },
      { seed: 3, bytes: 100_000, limitMs: 60_000 },
    );
    expect(result.failure, describeRun(result)).toBeNull();
    expect(result.clientToServer.exact).toBe(true);
    expect(result.serverToClient.exact).toBe(true);
  });

  it('UDP datagrams queued unread keep their bytes', () => {
    const { net, client, server, serverLink } = lendingHosts();
    const receiver = server.udp.open();
    expect(receiver.bind(0, 7000).ok).toBe(true);
    const sender = client.udp.open();
    const sent = [pattern(100, 1), pattern(1200, 2), pattern(3000, 3)];
    for (const payload of sent) expect(sender.send(payload, addr('10.0.0.2'), 7000).ok).toBe(true);
    net.runUntilIdle();
    expect(serverLink.lent).toBeGreaterThan(0);
    for (const payload of sent) expect(receiver.receive()?.payload).toEqual(payload);
  });

  it('raw IPv4 datagrams queued unread keep their bytes', () => {
    const { net, client, server } = lendingHosts();
    const receiver = server.raw.open(253);
    const sender = client.raw.open(253);
    const sent = [pattern(64, 4), pattern(900, 5)];
    for (const payload of sent) expect(sender.send(payload, addr('10.0.0.2')).ok).toBe(true);
    net.runUntilIdle();
    for (const payload of sent) expect(receiver.receive()?.packet.subarray(20)).toEqual(payload);
  });

  it('ICMPv6 raw messages queued unread keep their bytes', () => {
    const { net, client, server } = lendingHosts();
    const receiver = server.icmp6.rawSockets.create();
    const sender = client.icmp6.rawSockets.create();
    // Type 200: private experimentation (RFC 4443 §2.1), which nobody else answers or consumes.
    const message = pattern(600, 6);
    message[0] = 200;
    message[1] = 0;
    expect(sender.send(message, parseIpv6Address('fd00::2')!).ok).toBe(true);
    net.runUntilIdle();
    const got = receiver.receive();
    expect(got?.message.subarray(4)).toEqual(message.subarray(4));
  });

  it('echo replies a ping program keeps keep their data, over IPv4 and IPv6', () => {
    const { net, client } = lendingHosts();
    const replies: Uint8Array[] = [];
    client.icmp.onEchoReply((reply) => replies.push(reply.data));
    client.icmp6.onEchoReply((reply) => replies.push(reply.data));
    const data = pattern(300, 7);
    expect(client.ping('10.0.0.2', 1, 1, data).ok).toBe(true);
    net.runUntilIdle();
    expect(client.icmp6.sendEchoRequest(parseIpv6Address('fd00::2')!, 2, 1, data, net.now)).toBe(true);
    net.runUntilIdle();
    expect(replies).toEqual([data, data]);
  });
});
