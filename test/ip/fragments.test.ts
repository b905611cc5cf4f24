import { describe, expect, it } from 'vitest';
import { Ipv4Packet, IpProtocol, parseIpv4, type Ipv4Repr } from '../../src/ip/ipv4.js';
import type { Ipv4Option } from '../../src/ip/ipv4-options.js';
import { parseIcmpv4, Icmpv4Packet } from '../../src/ip/icmpv4.js';
import { DEFAULT_REASSEMBLY, fragmentDatagram, Reassembler, type ReassemblyResult } from '../../src/ip/fragments.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { addr, ipv4Frame, ipv4Header, pattern, udpDatagram } from '../support/packets.js';
import { attachRawPeer, drive } from '../support/raw-peer.js';

const SOURCE = addr('10.0.0.1');
const DESTINATION = addr('10.0.0.2');

/** The header of a datagram from SOURCE to DESTINATION. */
function datagramHeader(fields: Partial<Ipv4Repr> = {}): Ipv4Repr {
  return ipv4Header({ source: SOURCE, destination: DESTINATION, protocol: IpProtocol.UDP, identification: 0x4242, ...fields });
}

function decode(frame: Uint8Array): { repr: Ipv4Repr; payload: Uint8Array } {
  const packet = Ipv4Packet.checked(frame);
  if (!packet.ok) throw new Error(packet.error.message);
  const repr = parseIpv4(packet.value);
  if (!repr.ok) throw new Error(repr.error.message);
  return { repr: repr.value, payload: packet.value.payload };
}

/** One fragment: `length` bytes of the pattern datagram at `offset`. */
function piece(offset: number, length: number, more: boolean, fields: Partial<Ipv4Repr> = {}) {
  const payload = pattern(length, offset);
  const header = datagramHeader({ fragmentOffset: offset, moreFragments: more, ...fields });
  const frame = ipv4Frame(header, payload);
  return { header: { ...header, payloadLength: length }, payload, frame };
}

/** Feeds pieces to a reassembler at time `now`, returning each result. */
function feed(reassembler: Reassembler, pieces: Array<ReturnType<typeof piece>>, now = 0): ReassemblyResult[] {
  return pieces.map((p) => reassembler.insert(p.header, p.payload, p.frame, now));
}

const ROUTER_ALERT: Ipv4Option = { kind: 'raw', type: 0x94, data: new Uint8Array(2) };
const LOOSE_SOURCE_ROUTE: Ipv4Option = { kind: 'raw', type: 0x83, data: new Uint8Array([4, 10, 0, 0, 9]) };
const RECORD_ROUTE: Ipv4Option = { kind: 'recordRoute', pointer: 4, route: [0, 0] };

describe('fragmentation (RFC 791 §2.3, §3.2)', () => {
  it('cuts a 4000-byte payload for MTU 1500 into 1480 + 1480 + 1040, each a multiple of 8 but the last', () => {
    const payload = pattern(4000);
    const frames = fragmentDatagram(datagramHeader({ payloadLength: 4000 }), payload, 1500);
    const decoded = frames.map(decode);
    expect(decoded.map((d) => d.payload.length)).toEqual([1480, 1480, 1040]);
    expect(decoded.map((d) => d.repr.fragmentOffset)).toEqual([0, 1480, 2960]);
    expect(decoded.map((d) => d.repr.moreFragments)).toEqual([true, true, false]);
    expect(decoded.every((d) => d.repr.identification === 0x4242)).toBe(true);
    expect(frames.every((f) => f.length <= 1500)).toBe(true);
    for (const d of decoded) expect(d.payload).toEqual(payload.subarray(d.repr.fragmentOffset, d.repr.fragmentOffset + d.payload.length));
  });

  it('rounds the data per fragment down to a multiple of 8 for an MTU that is not (1006 → 984)', () => {
    const frames = fragmentDatagram(datagramHeader(), pattern(3000), 1006);
    const decoded = frames.map(decode);
    expect(decoded.map((d) => d.payload.length)).toEqual([984, 984, 984, 48]);
    expect(frames.every((f) => f.length <= 1006)).toBe(true);
  });

  it('sends a datagram that fits as one unfragmented frame', () => {
    const frames = fragmentDatagram(datagramHeader({ dontFragment: true }), pattern(1480), 1500);
    expect(frames).toHaveLength(1);
    const { repr } = decode(frames[0]);
    expect(repr.moreFragments).toBe(false);
    expect(repr.fragmentOffset).toBe(0);
    expect(repr.dontFragment).toBe(true);
  });

  it('repeats only options with the copied flag in later fragments (RFC 791 §3.1 "copied flag")', () => {
    const header = datagramHeader({ options: [RECORD_ROUTE, ROUTER_ALERT, LOOSE_SOURCE_ROUTE] });
    const frames = fragmentDatagram(header, pattern(1000), 576);
    const decoded = frames.map(decode);
    expect(decoded.length).toBeGreaterThan(1);
    expect(decoded[0].repr.options.filter((o) => o.kind !== 'endOfList')).toEqual([RECORD_ROUTE, ROUTER_ALERT, LOOSE_SOURCE_ROUTE]);
    for (const later of decoded.slice(1)) {
      expect(later.repr.options.filter((o) => o.kind !== 'endOfList')).toEqual([ROUTER_ALERT, LOOSE_SOURCE_ROUTE]);
    }
    expect(frames.every((f) => f.length <= 576)).toBe(true);
    expect(decoded.slice(0, -1).every((d) => d.payload.length % 8 === 0)).toBe(true);
    // The data still lines up end to end.
    let offset = 0;
    for (const d of decoded) {
      expect(d.repr.fragmentOffset).toBe(offset);
      offset += d.payload.length;
    }
    expect(offset).toBe(1000);
  });

  it('re-fragmenting a fragment adds its offset and keeps its MF on the last piece (a router forwarding)', () => {
    const middle = fragmentDatagram(datagramHeader({ fragmentOffset: 1480, moreFragments: true }), pattern(1480, 1480), 576).map(decode);
    expect(middle.map((d) => d.repr.fragmentOffset)).toEqual([1480, 2032, 2584]);
    expect(middle.map((d) => d.repr.moreFragments)).toEqual([true, true, true]);
    const last = fragmentDatagram(datagramHeader({ fragmentOffset: 2960, moreFragments: false }), pattern(1040, 2960), 576).map(decode);
    expect(last.map((d) => d.repr.moreFragments)).toEqual([true, false]);
  });

  it('refuses an MTU below the 68 octets every IPv4 module must carry (RFC 791 §3.2) instead of looping', () => {
    expect(() => fragmentDatagram(datagramHeader(), pattern(100), 27)).toThrow(RangeError);
    // 68 is enough even for a 60-byte header: 8 data octets per fragment.
    const tight = fragmentDatagram(datagramHeader({ options: [{ kind: 'raw', type: 0x94, data: new Uint8Array(38) }] }), pattern(40), 68);
    expect(tight.map((f) => decode(f).payload.length)).toEqual([8, 8, 8, 8, 8]);
  });

  it('an interface or a route with an MTU below 68 is refused when configured', () => {
    const net = new VirtualNetwork(1);
    const stack = net.createStack('tiny');
    expect(() => attachRawPeer(net, stack, '10.0.0.2/24', { mtu: 40 })).toThrow(RangeError);
    attachRawPeer(net, stack, '10.0.0.2/24', { mtu: 68 });
    expect(() => stack.addRoute('10.9.0.0/16', { via: '10.0.0.1', mtu: 67 })).toThrow(RangeError);
    stack.addRoute('10.9.0.0/16', { via: '10.0.0.1', mtu: 68 });
    expect(stack.ip.mtuTo(addr('10.9.1.1'))).toBe(68);
  });
});

describe('reassembly (RFC 791 §3.2, RFC 815)', () => {
  const fourPieces = () => [piece(0, 1480, true), piece(1480, 1480, true), piece(2960, 1480, true), piece(4440, 100, false)];

  it('reassembles fragments arriving in any order into the original datagram', () => {
    const orders = [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [1, 3, 0, 2],
      [2, 0, 3, 1],
    ];
    for (const order of orders) {
      const reassembler = new Reassembler();
      const pieces = fourPieces();
      const results = feed(
        reassembler,
        order.map((i) => pieces[i]),
      );
      expect(results.slice(0, 3).map((r) => r.kind)).toEqual(['pending', 'pending', 'pending']);
      const done = results[3];
      expect(done.kind).toBe('complete');
      if (done.kind !== 'complete') continue;
      expect(done.payload).toEqual(pattern(4540));
      expect(done.header.moreFragments).toBe(false);
      expect(done.header.fragmentOffset).toBe(0);
      expect(done.header.payloadLength).toBe(4540);
      expect(reassembler.pending).toBe(0);
      expect(reassembler.memory).toBe(0);
    }
  });

  it('takes the reassembled header, options included, from fragment zero', () => {
    const reassembler = new Reassembler();
    const first = piece(0, 16, true, { options: [RECORD_ROUTE, ROUTER_ALERT], ttl: 9 });
    const last = piece(16, 4, false, { options: [ROUTER_ALERT], ttl: 60 });
    const [, done] = feed(reassembler, [last, first]);
    expect(done.kind === 'complete' && done.header.options.filter((o) => o.kind !== 'endOfList')).toEqual([RECORD_ROUTE, ROUTER_ALERT]);
    expect(done.kind === 'complete' && done.header.ttl).toBe(9);
  });

  it('keeps datagrams apart by source, destination, protocol and identification', () => {
    const reassembler = new Reassembler();
    const results = feed(reassembler, [
      piece(0, 8, true),
      piece(8, 8, false, { identification: 1 }),
      piece(8, 8, false, { protocol: IpProtocol.ICMP }),
      piece(8, 8, false, { source: addr('10.0.0.9') }),
      piece(8, 8, false, { destination: addr('10.0.0.9') }),
    ]);
    expect(results.every((r) => r.kind === 'pending')).toBe(true);
    expect(reassembler.pending).toBe(5);
    expect(feed(reassembler, [piece(8, 8, false)])[0].kind).toBe('complete');
  });

  it('a fragment overlapping received data discards the whole datagram (RFC 5722 §4 applied to IPv4, as Linux)', () => {
    const reassembler = new Reassembler();
    const results = feed(reassembler, [piece(0, 16, true), piece(24, 8, false), piece(8, 16, true)]);
    expect(results.map((r) => r.kind)).toEqual(['pending', 'pending', 'dropped']);
    expect(results[2]).toEqual({ kind: 'dropped', reason: 'fragmentOverlap' });
    expect(reassembler.pending).toBe(0);
    expect(reassembler.memory).toBe(0);
    // What arrives afterwards starts a new datagram; it cannot complete from the old pieces.
    expect(feed(reassembler, [piece(16, 16, false)])[0].kind).toBe('pending');
  });

  it('overlap with the following fragment is an overlap too (RFC 5722 §4 applied to IPv4)', () => {
    const after = new Reassembler();
    expect(feed(after, [piece(16, 16, false), piece(8, 16, true)])[1]).toEqual({ kind: 'dropped', reason: 'fragmentOverlap' });
    expect(after.pending).toBe(0);
  });

  it('a fragment wholly inside one already held is a duplicate, dropped on its own (Linux IPFRAG_DUP)', () => {
    const inside = new Reassembler();
    expect(feed(inside, [piece(0, 32, true), piece(8, 8, true)])[1]).toEqual({ kind: 'dropped', reason: 'fragmentDuplicate' });
    expect(inside.pending).toBe(1);
  });

  it('an exact duplicate is dropped on its own and the datagram still completes', () => {
    const reassembler = new Reassembler();
    const results = feed(reassembler, [piece(0, 16, true), piece(0, 16, true), piece(16, 8, false), piece(16, 8, false)]);
    expect(results.map((r) => r.kind)).toEqual(['pending', 'dropped', 'complete', 'pending']);
    expect(results[1]).toEqual({ kind: 'dropped', reason: 'fragmentDuplicate' });
    // The late duplicate of the last fragment started a new partial datagram, which will time out.
    expect(reassembler.pending).toBe(1);
  });

  it('an empty fragment is refused on its own instead of making the real fragment at its offset look like an overlap', () => {
    const reassembler = new Reassembler();
    const results = feed(reassembler, [piece(0, 0, true), piece(0, 16, true), piece(16, 8, false)]);
    expect(results.map((r) => r.kind)).toEqual(['dropped', 'pending', 'complete']);
    expect(results[0]).toEqual({ kind: 'dropped', reason: 'fragmentInconsistent' });
  });

  it('refuses a non-last fragment whose data is not a multiple of 8 octets', () => {
    const reassembler = new Reassembler();
    expect(feed(reassembler, [piece(0, 12, true)])[0]).toEqual({ kind: 'dropped', reason: 'fragmentInconsistent' });
    expect(reassembler.pending).toBe(0);
  });

  it('discards the datagram when fragments disagree about where it ends', () => {
    const twoEnds = new Reassembler();
    expect(feed(twoEnds, [piece(16, 8, false), piece(32, 8, false)])[1]).toEqual({ kind: 'dropped', reason: 'fragmentInconsistent' });
    expect(twoEnds.pending).toBe(0);
    const pastEnd = new Reassembler();
    expect(feed(pastEnd, [piece(16, 8, false), piece(24, 8, true)])[1]).toEqual({ kind: 'dropped', reason: 'fragmentInconsistent' });
    const endBeforeData = new Reassembler();
    expect(feed(endBeforeData, [piece(32, 8, true), piece(16, 8, false)])[1]).toEqual({ kind: 'dropped', reason: 'fragmentInconsistent' });
    expect(endBeforeData.memory).toBe(0);
  });

  it('a fragment reaching past 65535 octets is dropped with its datagram (ping of death)', () => {
    const reassembler = new Reassembler();
    feed(reassembler, [piece(0, 1480, true)]);
    // Offset 65528 (the largest the 13-bit field can say) + 20 header + 8 data = 65556.
    expect(feed(reassembler, [piece(65528, 8, false)])[0]).toEqual({ kind: 'dropped', reason: 'fragmentTooLong' });
    expect(reassembler.pending).toBe(0);
    expect(reassembler.memory).toBe(0);
    // Exactly 65535 with a 20-byte header is fine.
    expect(feed(reassembler, [piece(65512, 3, false)])[0].kind).toBe('pending');
  });

  it('a datagram whose fragment zero has options is too long when its header plus data pass 65535', () => {
    const reassembler = new Reassembler({ ...DEFAULT_REASSEMBLY, maxFragmentsPerDatagram: 64 });
    // 40 bytes of options in fragment zero: a 60-byte header. The last fragment (20-byte header)
    // ends at 65515, so it fits alone, but 60 + 65515 = 65575 does not.
    const options: Ipv4Option[] = [{ kind: 'raw', type: 0x94, data: new Uint8Array(38) }];
    const pieces = [];
    for (let offset = 0; offset < 65512; offset += 1480) pieces.push(piece(offset, Math.min(1480, 65512 - offset), true, offset === 0 ? { options } : {}));
    pieces.push(piece(65512, 3, false));
    const results = feed(reassembler, pieces);
    expect(results.slice(0, -1).every((r) => r.kind === 'pending')).toBe(true);
    expect(results[results.length - 1]).toEqual({ kind: 'dropped', reason: 'fragmentTooLong' });
    expect(reassembler.memory).toBe(0);
  });

  it('caps the fragments of one datagram', () => {
    const reassembler = new Reassembler({ ...DEFAULT_REASSEMBLY, maxFragmentsPerDatagram: 4 });
    const results = feed(
      reassembler,
      [0, 8, 16, 24, 32].map((offset) => piece(offset, 8, true)),
    );
    expect(results.map((r) => r.kind)).toEqual(['pending', 'pending', 'pending', 'pending', 'dropped']);
    expect(results[4]).toEqual({ kind: 'dropped', reason: 'tooManyFragments' });
    expect(reassembler.memory).toBe(0);
  });

  it('refuses new fragments while the memory cap is reached, and never holds more than the cap', () => {
    const limit = 10_000;
    const reassembler = new Reassembler({ ...DEFAULT_REASSEMBLY, memoryLimit: limit });
    const dropped: string[] = [];
    for (let id = 0; id < 20; id++) {
      const [result] = feed(reassembler, [piece(0, 1480, true, { identification: id })]);
      if (result.kind === 'dropped') dropped.push(result.reason);
      expect(reassembler.memory).toBeLessThanOrEqual(limit);
    }
    expect(dropped.length).toBeGreaterThan(0);
    expect(new Set(dropped)).toEqual(new Set(['reassemblyMemoryFull']));
    expect(reassembler.memory).toBeGreaterThan(limit - 1480 - 64 - 1);
    reassembler.expire(DEFAULT_REASSEMBLY.timeoutMs);
    expect(reassembler.memory).toBe(0);
    expect(reassembler.pending).toBe(0);
  });

  it('counts every byte it holds: data, a per-fragment overhead, and the copy of fragment zero kept for ICMP', () => {
    const reassembler = new Reassembler();
    feed(reassembler, [piece(8, 8, true)]);
    expect(reassembler.memory).toBe(8 + 64);
    feed(reassembler, [piece(0, 8, true)]);
    expect(reassembler.memory).toBe(8 + 64 + (8 + 64 + 28));
    const big = new Reassembler();
    feed(big, [piece(0, 1480, true)]);
    expect(big.memory).toBe(1480 + 64 + 576);
  });

  it('times out a partial datagram exactly 30 s after its first fragment, reporting fragment zero only if it came', () => {
    const reassembler = new Reassembler();
    feed(reassembler, [piece(8, 8, false, { identification: 1 })], 1000);
    feed(reassembler, [piece(0, 8, true, { identification: 2 })], 2000);
    // A later fragment does not extend the deadline (as Linux).
    feed(reassembler, [piece(16, 8, true, { identification: 2 })], 20_000);
    expect(reassembler.pollAt()).toBe(31_000);
    expect(reassembler.expire(30_999)).toEqual([]);
    const first = reassembler.expire(31_000);
    expect(first).toEqual([{ source: SOURCE, firstFrame: null }]);
    expect(reassembler.pollAt()).toBe(32_000);
    const second = reassembler.expire(32_000);
    expect(second).toHaveLength(1);
    expect(second[0].firstFrame).toEqual(piece(0, 8, true, { identification: 2 }).frame);
    expect(reassembler.pollAt()).toBe(Infinity);
    expect(reassembler.memory).toBe(0);
  });
});

describe('reassembly in a stack, in virtual time', () => {
  function host() {
    const net = new VirtualNetwork(5);
    const stack = net.createStack('host');
    const peer = attachRawPeer(net, stack, '10.0.0.2/24');
    return { net, stack, peer };
  }

  /** UDP to port 9 (nobody listens) from 10.0.0.1, cut into 8-byte-aligned fragments. */
  function udpFragments(identification: number) {
    const udp = udpDatagram(SOURCE, DESTINATION, 5000, 9, pattern(2000));
    return fragmentDatagram(datagramHeader({ identification }), udp, 576);
  }

  it('sends Time Exceeded code 1 at exactly 30 s when fragment zero arrived, quoting it (RFC 792, RFC 1122 §3.3.2)', () => {
    const { net, stack, peer } = host();
    const fragments = udpFragments(7);
    net.clock.set(500);
    peer.send(fragments[0]);
    peer.send(fragments[2]);
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv4.reassemblyTimeout')).toBe(1);
    const sent = peer.take();
    expect(sent).toHaveLength(1);
    expect(sent[0].time).toBe(30_500);
    const { repr, payload } = decode(sent[0].frame);
    expect(repr.source).toBe(DESTINATION);
    expect(repr.destination).toBe(SOURCE);
    expect(repr.protocol).toBe(IpProtocol.ICMP);
    const icmp = Icmpv4Packet.checked(payload);
    const message = icmp.ok ? parseIcmpv4(icmp.value) : null;
    expect(message?.ok && message.value).toMatchObject({ kind: 'timeExceeded', code: 1 });
    if (message?.ok && message.value.kind === 'timeExceeded') {
      expect(message.value.quoted).toEqual(fragments[0].subarray(0, message.value.quoted.length));
    }
    expect(stack.ip.reassembler.memory).toBe(0);
  });

  it('sends nothing on timeout when fragment zero never arrived', () => {
    const { net, stack, peer } = host();
    const fragments = udpFragments(8);
    peer.send(fragments[1]);
    peer.send(fragments[3]);
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv4.reassemblyTimeout')).toBe(1);
    expect(peer.take()).toEqual([]);
    expect(stack.stats.get('icmp.tx.timeExceeded')).toBe(0);
    expect(stack.ip.reassembler.pending).toBe(0);
  });

  it('survives a ping of death: the oversize fragment is counted and nothing is delivered', () => {
    const { net, stack, peer } = host();
    const echo = new Uint8Array(65_600);
    echo[0] = 8;
    const header = ipv4Header({ source: SOURCE, destination: DESTINATION, protocol: IpProtocol.ICMP, identification: 99 });
    // Fragments of 1480 as a real attacker sends them, up to offset 65528 and beyond the limit.
    for (let offset = 0; offset < echo.length; offset += 1480) {
      const length = Math.min(1480, echo.length - offset, 65_528 - offset + 8);
      if (length <= 0) break;
      peer.send(
        ipv4Frame(
          { ...header, fragmentOffset: offset, moreFragments: offset + length < echo.length && offset < 65_528 },
          echo.subarray(offset, offset + length),
        ),
      );
    }
    drive(net, [peer]);
    expect(stack.stats.get('drop.ipv4.fragmentTooLong')).toBe(1);
    expect(stack.stats.get('icmp.rx.echoRequest')).toBe(0);
    expect(stack.lastInternalError).toBe(null);
    expect(stack.ip.reassembler.memory).toBe(0);
  });
});
