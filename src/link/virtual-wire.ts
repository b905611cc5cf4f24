/**
 * A virtual wire: a point-to-point link joining two stacks in one process. A frame transmitted
 * at one end arrives at the other after `latencyMs`, in order. Frames larger than the MTU are
 * dropped and counted, as a real link would refuse them — except, with `segmentationOffload`,
 * TCP segments sent with a segment size: those arrive whole, as between two Linux hosts on a
 * veth pair, where TSO on one side meets GRO on the other, their checksum left partial and
 * trusted (see FrameReceiver).
 */
import type { FrameReceiver, Link, LinkMedium } from './link.js';

/** Settings of a virtual wire. */
export interface VirtualWireOptions {
  /** Base name of the ends, which are called `NAME:a` and `NAME:b`; `wire` by default. */
  readonly name?: string;
  /** Largest IP packet (bytes); 1500 by default. */
  readonly mtu?: number;
  /** One-way delay in ms; 0 by default. */
  readonly latencyMs?: number;
  /** What the wire carries: bare IP packets (`ip`, the default) or Ethernet frames. */
  readonly medium?: LinkMedium;
  /** TCP segmentation offload: segments up to 64 KiB cross whole (see above). */
  readonly segmentationOffload?: boolean;
}

/** One end of a virtual wire; a Link for the stack attached to it. */
export class WireEnd implements Link {
  private receiver: FrameReceiver | null = null;
  /** Frames on their way to this end, in order; those before `arrivedCount` are delivered. */
  private arriving: Array<{ readonly frame: Uint8Array; readonly time: number; readonly checksumTrusted: boolean }> = [];
  private arrivedCount = 0;
  /** Frames dropped for exceeding the MTU. */
  oversizeDrops = 0;
  /** Frames delivered to this end's receiver. */
  delivered = 0;
  /** Frames sent larger than the MTU for the link to cut (TSO). */
  segmentationOffloads = 0;
  /** The other end of the wire, where this end's frames arrive. */
  peer!: WireEnd;

  /** @internal Made by VirtualWire, one per end. */
  constructor(
    readonly name: string,
    readonly medium: LinkMedium,
    readonly mtu: number,
    private readonly latencyMs: number,
    readonly tcpSegmentationMax = 0,
  ) {}

  transmit(frame: Uint8Array, now: number, segmentSize?: number): void {
    const limit = this.medium === 'ethernet' ? this.mtu + 18 : this.mtu;
    // A segment sent with a segment size has a partial checksum: it arrives trusted, whole.
    const offloaded = segmentSize !== undefined && segmentSize > 0 && frame.length <= this.tcpSegmentationMax;
    if (offloaded && frame.length > limit) {
      this.segmentationOffloads++;
    } else if (frame.length > limit) {
      this.oversizeDrops++;
      return;
    }
    this.peer.arriving.push({ frame, time: now + this.latencyMs, checksumTrusted: offloaded });
  }

  setReceiver(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }

  pollAt(): number {
    return this.arrivedCount < this.arriving.length ? this.arriving[this.arrivedCount].time : Infinity;
  }

  poll(now: number): void {
    // A read index rather than shift(): with thousands of frames on the wire (a fast link's
    // bandwidth-delay product) each shift would move them all.
    while (this.arrivedCount < this.arriving.length && this.arriving[this.arrivedCount].time <= now) {
      const { frame, checksumTrusted } = this.arriving[this.arrivedCount++];
      this.delivered++;
      this.receiver?.(frame, now, checksumTrusted);
    }
    if (this.arrivedCount === this.arriving.length) {
      this.arriving = [];
      this.arrivedCount = 0;
    } else if (this.arrivedCount >= 1024 && 2 * this.arrivedCount >= this.arriving.length) {
      this.arriving = this.arriving.slice(this.arrivedCount);
      this.arrivedCount = 0;
    }
  }
}

/** Two WireEnds joined back to back. */
export class VirtualWire {
  /** One end, named `NAME:a`. */
  readonly a: WireEnd;
  /** The other end, named `NAME:b`. */
  readonly b: WireEnd;

  /** A wire with its two ends, `a` and `b`. */
  constructor(options: VirtualWireOptions = {}) {
    const name = options.name ?? 'wire';
    const medium = options.medium ?? 'ip';
    const mtu = options.mtu ?? 1500;
    const latency = options.latencyMs ?? 0;
    const offload = options.segmentationOffload && medium === 'ip' ? 65535 : 0;
    this.a = new WireEnd(`${name}:a`, medium, mtu, latency, offload);
    this.b = new WireEnd(`${name}:b`, medium, mtu, latency, offload);
    this.a.peer = this.b;
    this.b.peer = this.a;
  }
}
