import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes, dataView, fromHex, readUint16, readUint32, toHex, writeUint16, writeUint32 } from '../../src/core/bytes.js';
import { ManualClock } from '../../src/core/clock.js';
import { describeErrno, Errno, ErrnoError, EWOULDBLOCK } from '../../src/core/errno.js';
import { Stats } from '../../src/core/stats.js';

describe('Stats counters', () => {
  it('count from zero, sum by prefix, and snapshot sorted by name', () => {
    const stats = new Stats();
    expect(stats.get('drop.ipv4.badChecksum')).toBe(0);
    stats.increment('drop.udp.badChecksum');
    stats.increment('drop.ipv4.badChecksum', 3);
    stats.increment('ipv4.rx.packets');
    expect(stats.get('drop.ipv4.badChecksum')).toBe(3);
    expect(stats.sum('drop.')).toBe(4);
    expect(stats.sum('drop.ipv4.')).toBe(3);
    expect(Object.keys(stats.snapshot())).toEqual(['drop.ipv4.badChecksum', 'drop.udp.badChecksum', 'ipv4.rx.packets']);
  });

  it('hand out a counter looked up once: it counts under its name, and stays out of snapshots until incremented', () => {
    const stats = new Stats();
    const packets = stats.counter('ipv4.rx.packets');
    const unused = stats.counter('tcp.rx.segments');
    expect(stats.snapshot()).toEqual({});
    packets.increment();
    stats.increment('ipv4.rx.packets', 2);
    expect(stats.get('ipv4.rx.packets')).toBe(3);
    expect(packets.value).toBe(3);
    expect(stats.counter('ipv4.rx.packets')).toBe(packets);
    expect(stats.snapshot()).toEqual({ 'ipv4.rx.packets': 3 });
    unused.increment(0);
    expect(stats.snapshot()).toEqual({ 'ipv4.rx.packets': 3, 'tcp.rx.segments': 0 });
  });

  it("lines(): `name value` per counter above 0 in name order, the snapshot's filtered entries as text (up's http /)", () => {
    const stats = new Stats();
    expect(stats.lines()).toBe('');
    stats.increment('tcp.rx.segments', 0);
    stats.increment('ipv4.rx.packets', 7);
    stats.increment('drop.udp.badChecksum');
    const expected = Object.entries(stats.snapshot())
      .filter(([, value]) => value > 0)
      .map(([name, value]) => `${name} ${value}\n`)
      .join('');
    expect(stats.lines()).toBe(expected);
    expect(stats.lines()).toBe('drop.udp.badChecksum 1\nipv4.rx.packets 7\n');
    stats.increment('drop.ipv4.badChecksum', 2); // a new counter: the order is made again
    expect(stats.lines()).toBe('drop.ipv4.badChecksum 2\ndrop.udp.badChecksum 1\nipv4.rx.packets 7\n');
  });
});

describe('ManualClock', () => {
  it('moves only when told, and never backwards', () => {
    const clock = new ManualClock(5);
    expect(clock.now()).toBe(5);
    clock.advance(30_000);
    expect(clock.now()).toBe(30_005);
    clock.set(30_005);
    expect(() => clock.set(30_004)).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});

describe('errno-shaped errors', () => {
  it('read like Node: code, negative errno, syscall, address and port in the message', () => {
    const error = new ErrnoError('ECONNREFUSED', 'connect', '10.0.0.2', 80);
    expect(error.message).toBe('connect ECONNREFUSED 10.0.0.2:80');
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.errno).toBe(-111);
    expect(error.syscall).toBe('connect');
    expect(error.address).toBe('10.0.0.2');
    expect(error.port).toBe(80);
    expect(new ErrnoError('EADDRINUSE', 'bind', '0.0.0.0').message).toBe('bind EADDRINUSE 0.0.0.0');
    expect('port' in new ErrnoError('EINVAL', 'send')).toBe(false);
  });

  it('uses Linux numbers and strerror texts; EWOULDBLOCK is EAGAIN', () => {
    expect(Errno.EADDRINUSE).toBe(98);
    expect(Errno.EMSGSIZE).toBe(90);
    expect(Errno.EACCES).toBe(13);
    expect(describeErrno('EADDRINUSE')).toBe('Address already in use');
    expect(EWOULDBLOCK).toBe('EAGAIN');
  });
});

describe('byte helpers', () => {
  it('hex round trips, ignoring spaces and colons, and rejects odd or non-hex input', () => {
    expect(toHex(fromHex('de:ad be ef'))).toBe('deadbeef');
    expect(toHex(fromHex('0a0b'), ':')).toBe('0a:0b');
    expect(() => fromHex('abc')).toThrow();
    expect(() => fromHex('zz')).toThrow();
  });

  it('concatenates, compares, and views a subarray at its own offset', () => {
    const joined = concatBytes(fromHex('01'), fromHex(''), fromHex('0203'));
    expect(bytesEqual(joined, fromHex('010203'))).toBe(true);
    expect(bytesEqual(joined, fromHex('0102'))).toBe(false);
    const view = dataView(joined.subarray(1));
    expect(view.byteLength).toBe(2);
    expect(view.getUint16(0)).toBe(0x0203);
  });

  it('reads and writes network-order fields as DataView does, values taken modulo the width', () => {
    const bytes = new Uint8Array(8);
    writeUint16(bytes, 1, 0xabcd);
    writeUint32(bytes, 3, 0xfedcba98);
    expect(toHex(bytes)).toBe('00abcdfedcba9800');
    expect(readUint16(bytes, 1)).toBe(0xabcd);
    expect(readUint32(bytes, 3)).toBe(0xfedcba98);
    const view = dataView(bytes);
    for (const value of [-1, 0x1_0001, 2 ** 32 + 5, 70000.7]) {
      writeUint16(bytes, 0, value);
      writeUint32(bytes, 4, value);
      const expected = new Uint8Array(8);
      dataView(expected).setUint16(0, value);
      dataView(expected).setUint32(4, value);
      expect(toHex(bytes.subarray(0, 2)) + toHex(bytes.subarray(4))).toBe(toHex(expected.subarray(0, 2)) + toHex(expected.subarray(4)));
      expect(readUint32(bytes, 4)).toBe(view.getUint32(4));
    }
  });
});
