import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { checksumIsValid, ipv6PseudoHeaderSum, pseudoHeaderSum } from '../../src/ip/checksum.js';
import { Ipv4Packet } from '../../src/ip/ipv4.js';
import { parseIpv6Address } from '../../src/ip/ipv6-address.js';
import { emitIpv6, Ipv6NextHeader } from '../../src/ip/ipv6.js';
import { FaultInjector, isEcnCapable, markCongestionExperienced, type FaultConfig } from '../../src/link/fault-injector.js';
import { VirtualWire } from '../../src/link/virtual-wire.js';
import { emitUdp } from '../../src/udp/udp-packet.js';
import { addr, ipv4Frame } from '../support/packets.js';

interface Arrival {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly time: number;
}

type Family = 4 | 6;

const V6_SOURCE = parseIpv6Address('fd00::1')!;
const V6_DESTINATION = parseIpv6Address('fd00::2')!;

/** Where a test frame of `family` carries its id: the first payload bytes after IP and UDP. */
const idOffset = (family: Family) => (family === 4 ? 20 : 40) + 8;

/**
 * A UDP datagram of `size` bytes in all, IPv4 or IPv6, whose payload starts with `id` (two bytes)
 * followed by bytes derived from it; checksums right. `ecn` is the IP header's ECN field.
 */
function packet(family: Family, id: number, size: number, ecn = 0): Uint8Array {
  const payload = new Uint8Array(size - idOffset(family));
  payload[0] = id >> 8;
  payload[1] = id & 0xff;
  for (let i = 2; i < payload.length; i++) payload[i] = (id + i) & 0xff;
  if (family === 4) {
    const source = addr('10.0.0.1');
    const destination = addr('10.0.0.2');
    const udp = new Uint8Array(8 + payload.length);
    emitUdp({ sourcePort: 5000, destinationPort: 7, payload }, udp, { source, destination });
    return ipv4Frame({ source, destination, protocol: 17, ecn }, udp);
  }
  const frame = new Uint8Array(size);
  emitIpv6(
    {
      dscp: 0,
      ecn,
      flowLabel: 0x12345,
      payloadLength: size - 40,
      nextHeader: Ipv6NextHeader.UDP,
      hopLimit: 64,
      source: V6_SOURCE,
      destination: V6_DESTINATION,
    },
    frame,
  );
  emitUdp({ sourcePort: 5000, destinationPort: 7, payload }, frame.subarray(40), { source: V6_SOURCE, destination: V6_DESTINATION });
  return frame;
}

/** The transport checksum (and IPv4's header checksum) of a test packet still verify. */
function checksumsVerify(frame: Uint8Array): boolean {
  if (frame[0] >> 4 === 4) {
    const ip = Ipv4Packet.checked(frame);
    if (!ip.ok || !ip.value.checksumValid) return false;
    const source = ((frame[12] << 24) | (frame[13] << 16) | (frame[14] << 8) | frame[15]) >>> 0;
    const destination = ((frame[16] << 24) | (frame[17] << 16) | (frame[18] << 8) | frame[19]) >>> 0;
    return checksumIsValid(frame, pseudoHeaderSum(source, destination, 17, frame.length - 20), 20, frame.length);
  }
  const pseudo = ipv6PseudoHeaderSum(frame.subarray(8, 24), frame.subarray(24, 40), Ipv6NextHeader.UDP, frame.length - 40);
  return checksumIsValid(frame, pseudo, 40, frame.length);
}

/**
 * A fault injector on end a of a wire without latency. `send` puts frames into it at given
 * times (frame i carries i in its first payload bytes); `run` polls both ends to the end and
 * returns what reached end b, with arrival times.
 */
function bench(config: FaultConfig, seed = 1, family: Family = 4) {
  const wire = new VirtualWire({ mtu: 65535 });
  const faults = new FaultInjector(wire.a, config, new Rng(seed));
  const arrivals: Arrival[] = [];
  const at = idOffset(family);
  wire.b.setReceiver((frame, now) => arrivals.push({ id: (frame[at] << 8) | frame[at + 1], bytes: frame, time: now }));
  const frameOf = (id: number, size: number) => packet(family, id, size);
  let now = 0;
  const advance = (to: number) => {
    for (;;) {
      const next = Math.min(faults.pollAt(), wire.b.pollAt());
      if (next > to) break;
      now = Math.max(now, next);
      faults.poll(now);
      wire.b.poll(now);
    }
    now = to;
  };
  return {
    faults,
    arrivals,
    frameOf,
    /** Sends frame `id` of `size` bytes at `time` (not before earlier sends). */
    send(id: number, time: number, size = 100) {
      advance(time);
      const frame = frameOf(id, size);
      faults.transmit(frame, time);
      return frame;
    },
    run(until = 1e9) {
      advance(until);
      return arrivals;
    },
  };
}

function sendMany(b: ReturnType<typeof bench>, count: number, spacingMs = 1, size = 100) {
  for (let i = 0; i < count; i++) b.send(i, i * spacingMs, size);
  return b.run();
}

describe.each([4, 6] as const)('FaultInjector on IPv%i packets', (family) => {
  const everything: FaultConfig = { lossRate: 0.1, duplicateRate: 0.1, reorderRate: 0.1, reorderDelayMs: 3, corruptRate: 0.1, delayMs: 2, jitterMs: 1 };

  it('the same seed gives the same faults, frame for frame; another seed others', () => {
    const trace = (seed: number) => {
      const b = bench(everything, seed, family);
      const arrivals = sendMany(b, 500);
      return { arrivals: arrivals.map((a) => `${a.id}@${a.time}:${a.bytes.join(',')}`), stats: b.faults.stats.snapshot() };
    };
    expect(trace(7)).toEqual(trace(7));
    expect(trace(7).arrivals).not.toEqual(trace(8).arrivals);
  });

  it('loses roughly the configured share of frames (20% ± 3% over 5000)', () => {
    const b = bench({ lossRate: 0.2 }, 1, family);
    const arrivals = sendMany(b, 5000);
    const lost = b.faults.stats.get('fault.lost');
    expect(lost / 5000).toBeGreaterThan(0.17);
    expect(lost / 5000).toBeLessThan(0.23);
    expect(arrivals.length).toBe(5000 - lost);
    expect(b.faults.stats.get('fault.passed')).toBe(5000 - lost);
  });

  it('duplicates roughly the configured share, each copy right after its original', () => {
    const b = bench({ duplicateRate: 0.1 }, 1, family);
    const arrivals = sendMany(b, 3000);
    const duplicated = b.faults.stats.get('fault.duplicated');
    expect(duplicated / 3000).toBeGreaterThan(0.08);
    expect(duplicated / 3000).toBeLessThan(0.12);
    expect(arrivals.length).toBe(3000 + duplicated);
    const ids = arrivals.map((a) => a.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
  });

  it("corrupts by flipping exactly one bit of a copy, leaving the sender's frame alone", () => {
    const b = bench({ corruptRate: 1 }, 1, family);
    const sent = [0, 1, 2, 3, 4].map((id) => b.send(id, id, 64));
    const arrivals = b.run();
    expect(b.faults.stats.get('fault.corrupted')).toBe(5);
    expect(arrivals).toHaveLength(5);
    arrivals.forEach((arrival, i) => {
      expect(sent[i]).toEqual(b.frameOf(i, 64));
      let flipped = 0;
      for (let k = 0; k < 64; k++) for (let x = arrival.bytes[k] ^ sent[i][k]; x; x &= x - 1) flipped++;
      expect(flipped).toBe(1);
    });
  });

  it('reorders: a held-back frame is overtaken by later ones', () => {
    const b = bench({ reorderRate: 0.2, reorderDelayMs: 5 }, 1, family);
    const arrivals = sendMany(b, 1000);
    const reordered = b.faults.stats.get('fault.reordered');
    expect(reordered / 1000).toBeGreaterThan(0.15);
    expect(reordered / 1000).toBeLessThan(0.25);
    let overtaken = 0;
    let highest = -1;
    for (const a of arrivals) {
      if (a.id < highest) overtaken++;
      highest = Math.max(highest, a.id);
    }
    expect(overtaken).toBeGreaterThan(0);
    expect(arrivals).toHaveLength(1000);
  });

  it('delays every frame by delayMs plus a jitter in [0, jitterMs)', () => {
    const b = bench({ delayMs: 10, jitterMs: 4 }, 1, family);
    const arrivals = sendMany(b, 500, 20);
    for (const a of arrivals) {
      const latency = a.time - a.id * 20;
      expect(latency).toBeGreaterThanOrEqual(10);
      expect(latency).toBeLessThan(14);
    }
  });

  it('a rate limit spaces frames by their serialisation time in virtual time', () => {
    const b = bench({ rateBytesPerSecond: 100_000 }, 1, family);
    for (let id = 0; id < 5; id++) b.send(id, 0, 1000);
    b.send(5, 100, 500);
    const arrivals = b.run();
    expect(arrivals.map((a) => a.time)).toEqual([10, 20, 30, 40, 50, 105]);
  });

  it('tail-drops frames beyond the queue limit while the rate limit holds them back', () => {
    const b = bench({ rateBytesPerSecond: 100_000, queueLimit: 3 }, 1, family);
    for (let id = 0; id < 10; id++) b.send(id, 0, 1000);
    expect(b.faults.stats.get('fault.queueDropped')).toBe(7);
    b.send(10, 15, 1000); // one frame has left by now: room for one
    b.send(11, 15, 1000);
    const arrivals = b.run();
    expect(arrivals.map((a) => [a.id, a.time])).toEqual([
      [0, 10],
      [1, 20],
      [2, 30],
      [10, 40],
    ]);
    expect(b.faults.stats.get('fault.queueDropped')).toBe(8);
  });

  it('applies to transmitted frames by default, to received ones with direction "receive", to both with "both"', () => {
    const lossy = (direction: FaultConfig['direction']) => {
      const wire = new VirtualWire();
      const faults = new FaultInjector(wire.a, { lossRate: 1, direction }, new Rng(1));
      let atA = 0;
      let atB = 0;
      faults.setReceiver(() => atA++);
      wire.b.setReceiver(() => atB++);
      faults.transmit(packet(family, 1, 60), 0);
      wire.b.transmit(packet(family, 2, 60), 0);
      faults.poll(0);
      wire.b.poll(0);
      return { sentArrived: atB, receivedArrived: atA };
    };
    expect(lossy(undefined)).toEqual({ sentArrived: 0, receivedArrived: 1 });
    expect(lossy('transmit')).toEqual({ sentArrived: 0, receivedArrived: 1 });
    expect(lossy('receive')).toEqual({ sentArrived: 1, receivedArrived: 0 });
    expect(lossy('both')).toEqual({ sentArrived: 0, receivedArrived: 0 });
  });

  it('marks ECN-capable packets CE (RFC 3168 §5) at the configured rate, leaving Not-ECT and CE ones alone; checksums still verify', () => {
    const wire = new VirtualWire({ mtu: 65535 });
    const faults = new FaultInjector(wire.a, { congestionMarkRate: 0.5 }, new Rng(3));
    const arrivals: Uint8Array[] = [];
    wire.b.setReceiver((frame) => arrivals.push(frame));
    const ecnOf = (frame: Uint8Array) => (family === 4 ? frame[1] & 3 : (frame[1] >> 4) & 3);
    const sent = Array.from({ length: 400 }, (_, i) => packet(family, i, 120, i % 4));
    sent.forEach((frame, i) => faults.transmit(frame, i));
    faults.poll(1e9);
    wire.b.poll(1e9);
    expect(arrivals).toHaveLength(400);
    const marked = faults.stats.get('fault.congestionMarked');
    // 200 ECT(0) and ECT(1) packets, half of them marked.
    expect(marked).toBeGreaterThan(70);
    expect(marked).toBeLessThan(130);
    let seenMarked = 0;
    arrivals.forEach((frame, i) => {
      const before = i % 4;
      const after = ecnOf(frame);
      if (before === 1 || before === 2) {
        expect([before, 3]).toContain(after);
        if (after === 3) seenMarked++;
      } else expect(after).toBe(before);
      // Only the ECN bits changed (and IPv4's header checksum); the flow label, DSCP and the rest stayed.
      const changed = [...frame].flatMap((byte, k) => (byte === sent[i][k] ? [] : [k]));
      expect(changed.every((k) => k === 1 || (family === 4 && (k === 10 || k === 11)))).toBe(true);
      expect(frame[1] & (family === 4 ? 0xfc : 0xcf)).toBe(sent[i][1] & (family === 4 ? 0xfc : 0xcf));
      expect(checksumsVerify(frame)).toBe(true);
    });
    expect(seenMarked).toBe(marked);
    // The sender's packets are untouched.
    sent.forEach((frame, i) => expect(frame).toEqual(packet(family, i, 120, i % 4)));
  });
});

describe('FaultInjector and the IP version', () => {
  it('draws the same faults for an IPv6 stream as for an IPv4 one of the same frame sizes: which version a packet has decides nothing but where its ECN bits are', () => {
    const everything: FaultConfig = { lossRate: 0.1, duplicateRate: 0.1, reorderRate: 0.1, reorderDelayMs: 3, corruptRate: 0.1, delayMs: 2, jitterMs: 1 };
    const trace = (family: Family) => {
      const b = bench(everything, 9, family);
      const corruptedAt: number[] = [];
      const sent = new Map<number, Uint8Array>();
      for (let id = 0; id < 800; id++) sent.set(id, b.send(id, id));
      // Arrivals in time order, each named by the frame it came from: frame i left at i ms and
      // arrives 2–6 ms later (delay, jitter, reordering), intact or with one bit flipped.
      const arrivals = b.run().map((a) => {
        for (let id = Math.floor(a.time) - 6; id <= Math.floor(a.time) - 2; id++) {
          const clean = sent.get(id);
          if (!clean || clean.length !== a.bytes.length) continue;
          const differing = [...clean].flatMap((byte, k) => (byte === a.bytes[k] ? [] : [[k, byte ^ a.bytes[k]]]));
          if (differing.length === 0) return `${id}@${a.time}`;
          if (differing.length === 1 && (differing[0][1] & (differing[0][1] - 1)) === 0) {
            corruptedAt.push(differing[0][0] * 8 + Math.log2(differing[0][1]));
            return `${id}@${a.time} corrupted`;
          }
        }
        return `? @${a.time}`;
      });
      return { arrivals, corruptedAt, stats: b.faults.stats.snapshot() };
    };
    const v4 = trace(4);
    const v6 = trace(6);
    expect(v6.stats).toEqual(v4.stats);
    expect(v6.arrivals).toEqual(v4.arrivals);
    expect(v4.arrivals.filter((a) => a.startsWith('?'))).toEqual([]);
    // A corrupted IPv6 packet has its flipped bit where the IPv4 one has it (the same draw over the same length).
    expect(v6.corruptedAt).toEqual(v4.corruptedAt);
    expect(v4.stats['fault.corrupted']).toBeGreaterThan(0);
  });

  it('markCongestionExperienced reads the version nibble: IPv4 TOS with its header checksum, IPv6 Traffic Class; anything else is left alone', () => {
    for (const family of [4, 6] as const) {
      for (const ecn of [0, 1, 2, 3]) {
        const frame = packet(family, 1, 80, ecn);
        expect(isEcnCapable(frame)).toBe(ecn === 1 || ecn === 2);
        const marked = markCongestionExperienced(frame);
        if (ecn === 1 || ecn === 2) {
          expect(marked).not.toBeNull();
          expect(marked).toEqual(packet(family, 1, 80, 3));
        } else expect(marked).toBeNull();
      }
    }
    // Not IP, or too short to be: nothing to mark.
    expect(markCongestionExperienced(new Uint8Array([0x62, 0x20]))).toBeNull();
    expect(markCongestionExperienced(new Uint8Array(60).fill(0x52))).toBeNull();
    expect(markCongestionExperienced(new Uint8Array(0))).toBeNull();
  });

  it("passes the inner link's name, medium and MTU through", () => {
    const wire = new VirtualWire({ name: 'w', mtu: 1280 });
    const faults = new FaultInjector(wire.a, {}, new Rng(1));
    expect([faults.name, faults.medium, faults.mtu]).toEqual(['w:a', 'ip', 1280]);
  });
});
