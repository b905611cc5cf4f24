/**
 * A Link moves frames between a stack and a medium: a TUN device (raw IPv4 packets), a TAP
 * device (Ethernet frames), or a virtual wire to another stack. Decorators (FaultInjector,
 * PcapTap) are Links that wrap a Link.
 *
 * Links are driven like the stack: nothing happens on its own. Frames that a link holds back
 * (a wire's latency, a fault injector's delay) come out in `poll(now)`; `pollAt()` says when.
 */
import type { Tracer } from '../core/trace.js';

/** What a frame on a link is: a bare IPv4 packet (`ip`) or an Ethernet II frame. */
export type LinkMedium = 'ip' | 'ethernet';

/**
 * Where a link hands frames it received. The frame is lent for the duration of the call: the
 * link may overwrite its memory as soon as the receiver returns (TunLink reads every batch into
 * the same buffer), so whatever outlives the call — queued data, a held segment, a delayed
 * frame, a reply a listener keeps — is copied. `checksumTrusted`: the device vouches for the TCP/UDP
 * checksum — the packet never crossed a wire (the kernel's own, with its checksum left partial
 * for an offloading device, or one it already verified) — so the stack need not verify it, and
 * the field may hold only the pseudo-header's partial sum (as Linux's CHECKSUM_PARTIAL).
 */
export type FrameReceiver = (frame: Uint8Array, now: number, checksumTrusted?: boolean) => void;

/** Moves frames between a stack and a medium; a decorator is a Link that wraps a Link. */
export interface Link {
  /** A name for traces and errors (`tun0`, `wire:a`). */
  readonly name: string;
  /** What a frame on this link is: a bare IPv4 packet (`ip`) or an Ethernet II frame. */
  readonly medium: LinkMedium;
  /** Largest IP packet the link carries without fragmentation (bytes). */
  readonly mtu: number;
  /**
   * Sends one frame. `now` is the sender's time in ms. The link may keep `frame`.
   * `segmentSize` (only on a link with `tcpSegmentationMax`): the frame is one IPv4 TCP segment,
   * usually larger than the MTU, which the device cuts into segments of `segmentSize` data bytes
   * (TSO); its checksum field holds only the pseudo-header's sum, which the device completes.
   */
  transmit(frame: Uint8Array, now: number, segmentSize?: number): void;
  /**
   * Zeroed memory for a frame of `length` bytes that the caller will pass to `transmit` (before
   * any other frame it asks memory for is transmitted, or soon after: several may wait in the
   * stack's outbox), or null to allocate as usual. For a link that copies each frame out during
   * `transmit` (TunLink's write) and can reuse the memory then, so that a 64 KiB TSO segment
   * costs no fresh allocation and no garbage. The caller must hand the frame to `transmit` and
   * keep no reference past it. Absent on decorators: they may keep frames.
   */
  frameMemory?(length: number): Uint8Array | null;
  /**
   * TCP segmentation offload: the largest frame the link takes with a `segmentSize` (0 or
   * absent: none). Such a link may also deliver TCP segments larger than its MTU (the device
   * joined them), their checksums vouched for (see FrameReceiver).
   */
  readonly tcpSegmentationMax?: number;
  /**
   * How many packets the device's transmit queue holds (a qdisc's limit, as Linux's pfifo
   * `limit`); absent: no limit. IP drops a datagram that finds the queue full before it
   * reaches the link and tells its sender (ENOBUFS; Linux's NET_XMIT_DROP).
   */
  readonly transmitQueueLimit?: number;
  /** Sets the one receiver of frames arriving from the medium, each lent for the call (see FrameReceiver). */
  setReceiver(receiver: FrameReceiver): void;
  /**
   * For a link with layers of its own (EthernetAdapter: Ethernet and ARP): installs (or removes,
   * with null) the stack's tracer there; `where` is the interface's name in the stack, for the
   * events. Returns true when the link reports every frame it carries, so the stack leaves out
   * its own `link` events, which would say the same less well.
   */
  setTracer?(tracer: Tracer | null, where: string): boolean;
  /**
   * For a link with link-layer addresses (EthernetAdapter): the seam through which IPv6's Neighbor
   * Discovery (src/ip/neighbor-discovery.ts) resolves next hops. Absent on a bare-IP link.
   */
  readonly neighborLink?: NeighborLink;
  /** The next time (ms) this link has frames to release, or Infinity. */
  pollAt(): number;
  /** Releases every frame due at or before `now`. */
  poll(now: number): void;
}

/** What IPv6's Neighbor Discovery needs of a link with link-layer addresses (RFC 4861 over Ethernet, RFC 2464). */
export interface NeighborLink {
  /** This interface's link-layer address (a MAC on Ethernet). */
  readonly linkAddress: Uint8Array;
  /** Installs the resolver the link asks for each unicast IPv6 packet's destination link-layer address. */
  setIpv6Resolver(resolver: Ipv6LinkResolver | null): void;
  /** Sends an IPv6 packet to a neighbor's link-layer address (a packet that waited for it). */
  transmitIpv6To(linkAddress: Uint8Array, packet: Uint8Array, now: number, segmentSize: number): void;
}

/** The link's question to IPv6: where a unicast packet goes. */
export interface Ipv6LinkResolver {
  /** The link-layer address to send `packet` to, or null when Neighbor Discovery keeps it (queued or dropped). */
  linkAddressFor(packet: Uint8Array, now: number, segmentSize: number): Uint8Array | null;
  /** Whether IPv6 listens to a group that maps to this multicast link-layer address (a NIC's multicast filter). */
  acceptsMulticast(linkAddress: Uint8Array): boolean;
}

/**
 * A Link wrapped around another (PcapTap, FaultInjector, a test's outage): what a subclass does
 * not change is the inner link's — name, medium, MTU, segmentation offload, frames both ways
 * (with their segment sizes and checksum trust), deadlines. Subclasses override what they change.
 */
export abstract class LinkDecorator implements Link {
  /** Wraps `inner`. */
  constructor(
    /** The wrapped link: frames pass through to it and back. */
    readonly inner: Link,
  ) {}

  get name(): string {
    return this.inner.name;
  }
  get medium(): LinkMedium {
    return this.inner.medium;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get tcpSegmentationMax(): number | undefined {
    return this.inner.tcpSegmentationMax;
  }
  get transmitQueueLimit(): number | undefined {
    return this.inner.transmitQueueLimit;
  }
  get neighborLink(): NeighborLink | undefined {
    return this.inner.neighborLink;
  }

  transmit(frame: Uint8Array, now: number, segmentSize?: number): void {
    this.inner.transmit(frame, now, segmentSize);
  }

  setReceiver(receiver: FrameReceiver): void {
    this.inner.setReceiver(receiver);
  }

  setTracer(tracer: Tracer | null, where: string): boolean {
    return this.inner.setTracer?.(tracer, where) ?? false;
  }

  pollAt(): number {
    return this.inner.pollAt();
  }

  poll(now: number): void {
    this.inner.poll(now);
  }
}
