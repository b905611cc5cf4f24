import { describe, expect, it } from 'vitest';
import { bestPeer, betterBy, ratioToBest } from '../../bench/ratios.js';

describe('benchmark ratios', () => {
  const figures = new Map([
    ['ustack', 12],
    ['ustack-plain', 2],
    ['gvisor-gso', 8],
    ['gvisor', 2.5],
    ['lwip', 3],
  ]);

  it('the best peer is the highest figure, or the lowest when lower is better', () => {
    expect(bestPeer(figures, ['gvisor', 'lwip'], true)).toEqual({ peer: 'lwip', value: 3 });
    expect(bestPeer(figures, ['gvisor', 'lwip'], false)).toEqual({ peer: 'gvisor', value: 2.5 });
  });

  it('a peer that was not measured is passed over, and none measured gives no ratio', () => {
    expect(bestPeer(figures, ['missing', 'gvisor'], true)).toEqual({ peer: 'gvisor', value: 2.5 });
    expect(ratioToBest(figures, { ours: 'ustack', peers: ['missing'] }, true)).toBeUndefined();
    expect(ratioToBest(figures, { ours: 'missing', peers: ['gvisor'] }, true)).toBeUndefined();
  });

  it('offload against offload and plain against the best plain peer', () => {
    expect(ratioToBest(figures, { ours: 'ustack', peers: ['gvisor-gso'] }, true)).toEqual({ ratio: 1.5, peer: 'gvisor-gso' });
    const plain = ratioToBest(figures, { ours: 'ustack-plain', peers: ['gvisor', 'lwip'] }, true)!;
    expect(plain.peer).toBe('lwip');
    expect(plain.ratio).toBeCloseTo(2 / 3);
  });

  it('for a latency, lower is better and the ratio is inverted: above 1 still means ustack did better', () => {
    const latency = new Map([
      ['ustack-plain', 40],
      ['gvisor', 100],
      ['lwip', 50],
    ]);
    expect(ratioToBest(latency, { ours: 'ustack-plain', peers: ['gvisor', 'lwip'] }, false)).toEqual({ ratio: 1.25, peer: 'lwip' });
    expect(betterBy(40, 50, false)).toBe(1.25);
  });
});
