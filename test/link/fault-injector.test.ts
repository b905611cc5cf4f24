import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { FaultInjector, type FaultConfig } from '../../src/link/fault-injector.js';
import { VirtualWire } from '../../src/link/virtual-wire.js';

interface Arrival {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly time: number;
}

/**
 * A fault injector on end a of a wire without latency. `send` puts frames into it at given
 * times (frame i carries i in its first two bytes); `run` polls both ends to the end and
 * returns what reached end b, with arrival times.
 */
function bench(config: FaultConfig, seed = 1) {
  const wire = new VirtualWire({ mtu: 65535 });
  const faults = new FaultInjector(wire.a, config, new Rng(seed));
  const arrivals: Arrival[] = [];
  wire.b.setReceiver((frame, now) => arrivals.push({ id: (frame[0] << 8) | frame[1], bytes: frame, time: now }));
  const frameOf = (id: number, size: number) => {
    const frame = new Uint8Array(size);
    frame[0] = id >> 8;
    frame[1] = id & 0xff;
    for (let i = 2; i < size; i++) frame[i] = (id + i) & 0xff;
    return frame;
  };
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

describe('FaultInjector', () => {
  const everything: FaultConfig = { lossRate: 0.1, duplicateRate: 0.1, reorderRate: 0.1, reorderDelayMs: 3, corruptRate: 0.1, delayMs: 2, jitterMs: 1 };

  it('the same seed gives the same faults, frame for frame; another seed others', () => {
    const trace = (seed: number) => {
      const b = bench(everything, seed);
      const arrivals = sendMany(b, 500);
      return { arrivals: arrivals.map((a) => `${a.id}@${a.time}:${a.bytes.join(',')}`), stats: b.faults.stats.snapshot() };
    };
    expect(trace(7)).toEqual(trace(7));
    expect(trace(7).arrivals).not.toEqual(trace(8).arrivals);
  });

  it('loses roughly the configured share of frames (20% ± 3% over 5000)', () => {
    const b = bench({ lossRate: 0.2 });
    const arrivals = sendMany(b, 5000);
    const lost = b.faults.stats.get('fault.lost');
    expect(lost / 5000).toBeGreaterThan(0.17);
    expect(lost / 5000).toBeLessThan(0.23);
    expect(arrivals.length).toBe(5000 - lost);
    expect(b.faults.stats.get('fault.passed')).toBe(5000 - lost);
  });

  it('duplicates roughly the configured share, each copy right after its original', () => {
    const b = bench({ duplicateRate: 0.1 });
    const arrivals = sendMany(b, 3000);
    const duplicated = b.faults.stats.get('fault.duplicated');
    expect(duplicated / 3000).toBeGreaterThan(0.08);
    expect(duplicated / 3000).toBeLessThan(0.12);
    expect(arrivals.length).toBe(3000 + duplicated);
    const ids = arrivals.map((a) => a.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
  });

  it("corrupts by flipping exactly one bit of a copy, leaving the sender's frame alone", () => {
    const b = bench({ corruptRate: 1 });
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
    const b = bench({ reorderRate: 0.2, reorderDelayMs: 5 });
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
    const b = bench({ delayMs: 10, jitterMs: 4 });
    const arrivals = sendMany(b, 500, 20);
    for (const a of arrivals) {
      const latency = a.time - a.id * 20;
      expect(latency).toBeGreaterThanOrEqual(10);
      expect(latency).toBeLessThan(14);
    }
  });

  it('a rate limit spaces frames by their serialisation time in virtual time', () => {
    const b = bench({ rateBytesPerSecond: 100_000 });
    for (let id = 0; id < 5; id++) b.send(id, 0, 1000);
    b.send(5, 100, 500);
    const arrivals = b.run();
    expect(arrivals.map((a) => a.time)).toEqual([10, 20, 30, 40, 50, 105]);
  });

  it('tail-drops frames beyond the queue limit while the rate limit holds them back', () => {
    const b = bench({ rateBytesPerSecond: 100_000, queueLimit: 3 });
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
      faults.transmit(new Uint8Array(10), 0);
      wire.b.transmit(new Uint8Array(10), 0);
      faults.poll(0);
      wire.b.poll(0);
      return { sentArrived: atB, receivedArrived: atA };
    };
    expect(lossy(undefined)).toEqual({ sentArrived: 0, receivedArrived: 1 });
    expect(lossy('transmit')).toEqual({ sentArrived: 0, receivedArrived: 1 });
    expect(lossy('receive')).toEqual({ sentArrived: 1, receivedArrived: 0 });
    expect(lossy('both')).toEqual({ sentArrived: 0, receivedArrived: 0 });
  });

  it("passes the inner link's name, medium and MTU through", () => {
    const wire = new VirtualWire({ name: 'w', mtu: 1280 });
    const faults = new FaultInjector(wire.a, {}, new Rng(1));
    expect([faults.name, faults.medium, faults.mtu]).toEqual(['w:a', 'ip', 1280]);
  });
});
