import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Ipv4Identification } from '../../src/ip/identification.js';
import { Ipv4Packet, IpProtocol, parseIpv4, type Ipv4Repr } from '../../src/ip/ipv4.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { addr, pattern } from '../support/packets.js';
import { attachRawPeer, drive } from '../support/raw-peer.js';

const HOST = addr('10.0.0.2');
const A = addr('192.0.2.1');
const B = addr('198.51.100.7');
const PROBE = 253;

/** A host 10.0.0.2 whose default route leads to a raw peer; every datagram it sends is captured. */
function host(seed = 5) {
  const net = new VirtualNetwork(seed);
  const stack = net.createStack('host', { seed });
  const peer = attachRawPeer(net, stack, '10.0.0.2/24', { mtu: 600 });
  stack.addRoute('default', { via: '10.0.0.1' });
  const send = (destination: number, length: number, dontFragment = false) =>
    stack.ip.send({ destination, protocol: PROBE, dontFragment }, length, (out) => out.set(pattern(length)), net.now);
  const headers = (): Ipv4Repr[] => {
    drive(net, [peer]);
    return peer.take().map(({ frame }) => {
      const packet = Ipv4Packet.checked(frame);
      if (!packet.ok) throw new Error(packet.error.message);
      const repr = parseIpv4(packet.value);
      if (!repr.ok) throw new Error(repr.error.message);
      return repr.value;
    });
  };
  return { net, stack, send, headers };
}

/** `count` IDs toward `destination` from a generator. */
function sequence(generator: Ipv4Identification, destination: number, count: number, protocol: number = IpProtocol.UDP): number[] {
  return Array.from({ length: count }, () => generator.select(HOST, destination, protocol, false));
}

describe('IP Identification (RFC 6864, RFC 7739 §5.3)', () => {
  it('an atomic datagram (DF, not fragmented) carries ID 0 (RFC 6864 §4.1)', () => {
    const { send, headers } = host();
    for (let i = 0; i < 5; i++) expect(send(A, 100, true).ok).toBe(true);
    expect(send(A, 100, false).ok).toBe(true);
    const sent = headers();
    expect(sent.map((h) => [h.dontFragment, h.identification === 0])).toEqual([
      [true, true],
      [true, true],
      [true, true],
      [true, true],
      [true, true],
      [false, false],
    ]);
  });

  it('TCP segments (DF) leave with ID 0, so nmap sees no incremental sequence', () => {
    const { stack, headers } = host();
    expect(stack.tcp.connect(A, 80).ok).toBe(true);
    expect(stack.tcp.connect(B, 80).ok).toBe(true);
    const syns = headers().filter((h) => h.protocol === IpProtocol.TCP);
    expect(syns.length).toBeGreaterThanOrEqual(2);
    expect(syns.map((h) => [h.dontFragment, h.identification])).toEqual(syns.map(() => [true, 0]));
  });

  it('fragments of one datagram share its ID, and the next datagram to that peer gets the next one', () => {
    const { send, headers } = host();
    send(A, 100);
    send(A, 1500);
    send(A, 100);
    const sent = headers();
    expect(sent).toHaveLength(5);
    const [first, ...rest] = sent.map((h) => h.identification);
    expect(rest).toEqual([(first + 1) & 0xffff, (first + 1) & 0xffff, (first + 1) & 0xffff, (first + 2) & 0xffff]);
    expect(sent.slice(1, 4).map((h) => h.fragmentOffset > 0 || h.moreFragments)).toEqual([true, true, true]);
  });

  it('two destinations get unrelated sequences: traffic to one does not move the other', () => {
    const generator = new Ipv4Identification(new Rng(7));
    const toA = sequence(generator, A, 3);
    const firstToB = generator.select(HOST, B, IpProtocol.UDP, false);
    sequence(generator, A, 1000);
    const secondToB = generator.select(HOST, B, IpProtocol.UDP, false);
    // Each tuple counts by one on its own; a thousand datagrams to A left B's counter alone.
    expect(toA).toEqual([toA[0], (toA[0] + 1) & 0xffff, (toA[0] + 2) & 0xffff]);
    expect(secondToB).toBe((firstToB + 1) & 0xffff);
  });

  it("the sequence to one destination is not predictable from another's: their distance changes with the key", () => {
    const distances = new Set<number>();
    for (let seed = 1; seed <= 64; seed++) {
      const generator = new Ipv4Identification(new Rng(seed));
      const a = generator.select(HOST, A, IpProtocol.UDP, false);
      const b = generator.select(HOST, B, IpProtocol.UDP, false);
      distances.add((b - a) & 0xffff);
    }
    // With one global counter the distance would be 1 under every key.
    expect(distances.size).toBeGreaterThan(60);
  });

  it('tuples that share a counter still get unrelated IDs (each has its own offset)', () => {
    // A table of one counter: every tuple draws from it, only the keyed offset tells them apart.
    const generator = new Ipv4Identification(new Rng(9), 1);
    const ids = [A, B, addr('203.0.113.5'), addr('203.0.113.6')].map((d) => generator.select(HOST, d, IpProtocol.UDP, false));
    const steps = ids.slice(1).map((id, i) => (id - ids[i]) & 0xffff);
    expect(steps.filter((step) => step === 1)).toHaveLength(0);
  });

  it('the protocol is part of the tuple', () => {
    const udp = sequence(new Ipv4Identification(new Rng(3)), A, 1, IpProtocol.UDP)[0];
    const icmp = sequence(new Ipv4Identification(new Rng(3)), A, 1, IpProtocol.ICMP)[0];
    expect(icmp).not.toBe(udp);
  });

  it('the same seed gives the same IDs; another seed other IDs', () => {
    const run = (seed: number) => {
      const { send, headers } = host(seed);
      for (const destination of [A, B, A, addr('203.0.113.9'), B]) send(destination, 50);
      return headers().map((h) => h.identification);
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
  });

  it('refuses a table size that is not a power of two', () => {
    expect(() => new Ipv4Identification(new Rng(1), 1000)).toThrow(RangeError);
    expect(() => new Ipv4Identification(new Rng(1), 0x20000)).toThrow(RangeError);
  });
});
