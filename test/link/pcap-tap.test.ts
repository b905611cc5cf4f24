import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes } from '../../src/core/bytes.js';
import type { FrameReceiver, Link, LinkMedium } from '../../src/link/link.js';
import { linkTypeForMedium, PcapTap } from '../../src/link/pcap-tap.js';
import { LinkType, readPcap } from '../../src/pcap/pcap.js';

/** A Link that remembers what it was asked to do and delivers frames when the test says so. */
class FakeLink implements Link {
  readonly transmitted: { frame: Uint8Array; now: number }[] = [];
  readonly polls: number[] = [];
  receiver: FrameReceiver | undefined;
  constructor(
    readonly name: string,
    readonly medium: LinkMedium,
    readonly mtu = 1500,
    private nextDeadline = Number.POSITIVE_INFINITY,
  ) {}
  transmit(frame: Uint8Array, now: number): void {
    this.transmitted.push({ frame, now });
  }
  setReceiver(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }
  pollAt(): number {
    return this.nextDeadline;
  }
  poll(now: number): void {
    this.polls.push(now);
    this.nextDeadline = Number.POSITIVE_INFINITY;
  }
  deliver(frame: Uint8Array, now: number): void {
    this.receiver?.(frame, now);
  }
}

const OUTBOUND = Uint8Array.of(0x45, 0, 0, 20, 1, 2, 3, 4, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2);
const INBOUND = Uint8Array.of(0x45, 0, 0, 20, 5, 6, 7, 8, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1);

describe('PcapTap', () => {
  it('forwards name, medium, mtu, pollAt and poll to the inner link', () => {
    const inner = new FakeLink('tun0', 'ip', 1280, 42);
    const tap = new PcapTap(inner);
    expect([tap.name, tap.medium, tap.mtu, tap.pollAt()]).toEqual(['tun0', 'ip', 1280, 42]);
    tap.poll(42);
    expect(inner.polls).toEqual([42]);
    expect(tap.pollAt()).toBe(Number.POSITIVE_INFINITY);
  });

  it('passes frames through untouched, the same objects, in both directions', () => {
    const inner = new FakeLink('tun0', 'ip');
    const tap = new PcapTap(inner);
    const received: { frame: Uint8Array; now: number }[] = [];
    tap.setReceiver((frame, now) => received.push({ frame, now }));
    tap.transmit(OUTBOUND, 5);
    inner.deliver(INBOUND, 7);
    expect(inner.transmitted).toEqual([{ frame: OUTBOUND, now: 5 }]);
    expect(inner.transmitted[0].frame).toBe(OUTBOUND);
    expect(received).toHaveLength(1);
    expect(received[0].frame).toBe(INBOUND);
    expect(received[0].now).toBe(7);
  });

  it('records outbound and inbound frames in order, stamped now + epochMs, as RAW for an ip link', () => {
    const inner = new FakeLink('tun0', 'ip');
    const tap = new PcapTap(inner, { epochMs: 1_700_000_000_000 });
    tap.setReceiver(() => undefined);
    tap.transmit(OUTBOUND, 0);
    inner.deliver(INBOUND, 1.5);
    tap.transmit(OUTBOUND, 250.001);
    const result = readPcap(tap.toBytes());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.linkType).toBe(LinkType.RAW);
    expect(result.value.resolution).toBe('microsecond');
    expect(result.value.records.map((r) => [r.seconds, r.nanoseconds])).toEqual([
      [1_700_000_000, 0],
      [1_700_000_000, 1_500_000],
      [1_700_000_000, 250_001_000],
    ]);
    expect(bytesEqual(result.value.records[0].data, OUTBOUND)).toBe(true);
    expect(bytesEqual(result.value.records[1].data, INBOUND)).toBe(true);
  });

  it('an ethernet link is recorded as ETHERNET, with nanoseconds and snaplen on request', () => {
    const inner = new FakeLink('tap0', 'ethernet');
    const frame = concatBytes(new Uint8Array(14), OUTBOUND);
    const tap = new PcapTap(inner, { nanosecond: true, snaplen: 14 });
    tap.transmit(frame, 0.000001);
    const result = readPcap(tap.toBytes());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.linkType).toBe(LinkType.ETHERNET);
    expect(result.value.resolution).toBe('nanosecond');
    expect(result.value.records[0]).toMatchObject({ nanoseconds: 1, capturedLength: 14, originalLength: frame.length });
    expect(linkTypeForMedium('ip')).toBe(LinkType.RAW);
    expect(linkTypeForMedium('ethernet')).toBe(LinkType.ETHERNET);
  });

  it('streams to onChunk without keeping the capture in memory', () => {
    const chunks: Uint8Array[] = [];
    const inner = new FakeLink('tun0', 'ip');
    const tap = new PcapTap(inner, { onChunk: (chunk) => chunks.push(chunk) });
    tap.setReceiver(() => undefined);
    tap.transmit(OUTBOUND, 1);
    inner.deliver(INBOUND, 2);
    expect(chunks).toHaveLength(3);
    expect(tap.writer.recordCount).toBe(2);
    expect(() => tap.toBytes()).toThrow(/retain/);
    const result = readPcap(concatBytes(...chunks));
    expect(result.ok && result.value.records.length).toBe(2);
  });

  it('a frame the stack reuses after transmit is recorded as it was when sent', () => {
    const inner = new FakeLink('tun0', 'ip');
    const tap = new PcapTap(inner);
    const frame = OUTBOUND.slice();
    tap.transmit(frame, 0);
    frame.fill(0xff);
    const result = readPcap(tap.toBytes());
    expect(result.ok && bytesEqual(result.value.records[0].data, OUTBOUND)).toBe(true);
  });
});
