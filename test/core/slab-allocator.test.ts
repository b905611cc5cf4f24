import { describe, expect, it } from 'vitest';
import { SlabAllocator } from '../../src/core/slab-allocator.js';

describe('SlabAllocator', () => {
  it('hands out zeroed arrays of the asked length that never overlap', () => {
    const allocator = new SlabAllocator();
    const arrays = Array.from({ length: 40 }, (_, i) => allocator.allocate(100 + 37 * i));
    arrays.forEach((bytes, i) => {
      expect(bytes.length).toBe(100 + 37 * i);
      expect(bytes.every((b) => b === 0)).toBe(true);
      bytes.fill(i + 1);
    });
    arrays.forEach((bytes, i) => expect(bytes.every((b) => b === i + 1)).toBe(true));
  });

  it('carves frame-sized and small arrays from shared slabs, 8-byte aligned, and gives large ones their own buffer', () => {
    const allocator = new SlabAllocator();
    const a = allocator.allocate(1500);
    const b = allocator.allocate(1500);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset % 8).toBe(0);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + 1500);
    const small = allocator.allocate(52);
    expect(small.byteLength).toBe(52);
    expect(small.buffer).toBe(a.buffer);
    expect(allocator.allocate(0).length).toBe(0);
    const large = allocator.allocate(9000);
    expect(large.byteOffset).toBe(0);
    expect(large.buffer.byteLength).toBe(9000);
  });
});
