/**
 * A Link on a Linux TUN device: each frame is one bare IPv4 packet read from or written to the
 * device's file descriptor (opened with IFF_TUN | IFF_NO_PI by the native addon). With `tap`
 * the device is a TAP and each frame an Ethernet frame (IFF_TAP; see EthernetAdapter for ARP).
 *
 * Receiving is event-driven: the addon wakes on the fd, reads every packet waiting (a bounded
 * batch) and hands them over in one call; the link gives each to the receiver with one time
 * from its clock, then calls `onBatch` once, so a driver can poll the stack right after the
 * batch and every reply goes out together (see attachDevice). Every batch is read into the same
 * memory, which the link owns: a frame is lent to the receiver for its call only (FrameReceiver),
 * so receiving allocates nothing that the garbage collector must later find.
 *
 * Sending writes straight to the fd. When the kernel's queue is full (EAGAIN) frames wait in a
 * bounded queue, flushed when the fd becomes writable; beyond the bound they are dropped and
 * counted, as a full qdisc drops them (TCP recovers; UDP loses them, as on any host). Linux
 * hands a TUN write to its IP input at once, so EAGAIN is rare there; the queue is for when it
 * happens (and is tested with a fake addon).
 *
 * With `offload` the device (TUN or TAP, as a VM's virtio-net NIC) carries a virtio_net_hdr before every packet
 * (IFF_VNET_HDR) and takes checksum and TCPv4 segmentation offload: the kernel may hand us TCP
 * segments up to 64 KiB (what it would have cut into MTU-sized ones) with the checksum left
 * partial, and we may hand it segments up to 64 KiB that it cuts itself. Per packet
 * that is one read, write and trip through both stacks instead of up to 44: the path's MTU and
 * what goes on any wire beyond are unchanged. The kernel leaves the checksum of its own packets
 * partial (the pseudo-header sum only): the link hands them over as trusted (FrameReceiver), so
 * no byte is summed twice; the stack completes it only for a packet it forwards.
 */
import { NO_BYTES } from '../core/bytes.js';
import { SystemClock, type Clock } from '../core/clock.js';
import type { FrameReceiver, Link, LinkMedium } from './link.js';
import { loadNativeTun, type NativeTunAddon } from './native.js';

/** How a TunLink is opened. */
export interface TunLinkOptions {
  /** Device name (at most 15 bytes); omitted or '' lets the kernel pick `tunN`. */
  readonly name?: string;
  /** The MTU the stack uses on this link (default 1500); configure the device to match (device.ts). */
  readonly mtu?: number;
  /** A TAP device (Ethernet frames; wrap it in an EthernetAdapter) instead of TUN (bare IPv4). */
  readonly tap?: boolean;
  /** Open the device with IFF_MULTI_QUEUE (more fds may then attach to the same name). */
  readonly multiQueue?: boolean;
  /** Checksum and TCP segmentation offload through a virtio_net_hdr (see above). */
  readonly offload?: boolean;
  /** Where receive times come from (default a SystemClock; attachDevice sets the driver's). */
  readonly clock?: Clock;
  /** Frames held while the fd cannot take writes (default 1024); more are dropped. */
  readonly writeQueueLimit?: number;
  /** Whether the open device keeps Node's event loop alive (default true, like a socket). */
  readonly ref?: boolean;
  /** The addon to use instead of native/ (tests pass a fake one to play the kernel). */
  readonly addon?: NativeTunAddon;
}

/** Counters of one device link. */
export interface TunLinkCounters {
  /** Packets read from the device. */
  rxPackets: number;
  /** Bytes of those packets, without the virtio_net_hdr in front of each. */
  rxBytes: number;
  /** Wake-ups that delivered packets (rxPackets / rxBatches = mean batch size). */
  rxBatches: number;
  /** Packets written to the device. */
  txPackets: number;
  /** Bytes of those packets, without the virtio_net_hdr in front of each. */
  txBytes: number;
  /** Writes that met EAGAIN and waited in the queue. */
  txQueued: number;
  /** Frames dropped because the queue was full. */
  txDropped: number;
  /** Packets read whose virtio_net_hdr made no sense (dropped). */
  rxErrors: number;
  /** Packets larger than the MTU the kernel handed over joined (offload). */
  rxSegmentationOffloads: number;
  /** Packets larger than the MTU we wrote for the kernel to cut into segments (TSO). */
  txSegmentationOffloads: number;
  /** Writes that failed for another reason (EIO while the device is down, EINVAL, …). */
  txErrors: number;
}

/** The queue `TunLink.steerByPorts` has the kernel hand a TCP or UDP packet with these two ports to. */
export function queueForPorts(sourcePort: number, destinationPort: number, queues: number): number {
  // The steering program's arithmetic: a 32-bit multiply mixes the sum (Linux's connect() takes
  // even ports, so the sum's low bits alone would put every connection to one port on one queue).
  return (Math.imul(sourcePort + destinationPort, 0x9e3779b1) >>> 16) % queues;
}

/** An errno-shaped error like Node's own system errors. */
function systemError(syscall: string, errno: number, device: string): NodeJS.ErrnoException {
  const codes: Record<number, string> = { 1: 'EPERM', 5: 'EIO', 9: 'EBADF', 11: 'EAGAIN', 22: 'EINVAL', 77: 'EBADFD', 105: 'ENOBUFS' };
  const code = codes[-errno] ?? `E${-errno}`;
  const error: NodeJS.ErrnoException = new Error(`${syscall} ${device}: ${code}`);
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  return error;
}

const EAGAIN = -11;

/** The virtio_net_hdr (linux/virtio_net.h) without num_buffers: 10 bytes, little-endian on x86. */
const VNET_HEADER_LENGTH = 10;
const VNET_F_NEEDS_CSUM = 1;
const VNET_F_DATA_VALID = 2;
const VNET_GSO_NONE = 0;
const VNET_GSO_TCPV4 = 1;
const VNET_GSO_TCPV6 = 4;
/** IPv6's fixed header: the stack offloads only TCP directly after it (no extension headers). */
const IPV6_HEADER = 40;
/** The segment carries CWR: only the first piece may (RFC 3168 §6.1.2). */
const VNET_GSO_ECN = 0x80;
const TCP_FLAG_CWR = 0x80;
/** The header of a packet that needs nothing done. */
const PLAIN_VNET_HEADER = new Uint8Array(VNET_HEADER_LENGTH);
/** TCP's checksum field offset in its header. */
const TCP_CHECKSUM_OFFSET = 16;
/** Total Length's limit, and an untagged Ethernet header (what comes before IPv4 on a TAP). */
const IPV4_MAX_PACKET = 65535;
const ETHERNET_HEADER = 14;
/**
 * The memory frameMemory hands out: room for the frames of one poll (16 TSO segments of 64
 * KiB, or a thousand ACKs); more than that in one poll are allocated by the stack as before.
 */
const ARENA_SIZE = 1024 * 1024;

/** A Link backed by a TUN device's file descriptor. */
export class TunLink implements Link {
  readonly medium: LinkMedium;
  readonly name: string;
  mtu: number;
  /** Source of receive times. */
  clock: Clock;
  /** Called before each received batch is handed to the receiver (a driver holds its polls until onBatch). */
  onBatchStart: (() => void) | null = null;
  /**
   * Called after each received batch was handed to the receiver (a driver polls the stack here),
   * also when the link was closed during the batch or a receiver threw: whoever onBatchStart told
   * is never left waiting.
   */
  onBatch: (() => void) | null = null;
  /** Called when reading fails for good (the device was deleted under us) or a write fails. */
  onError: ((error: NodeJS.ErrnoException) => void) | null = null;
  /** Called when the write queue has emptied after backpressure. */
  onDrain: (() => void) | null = null;
  /** What the link has done so far; the fields only grow. */
  readonly counters: TunLinkCounters = {
    rxPackets: 0,
    rxBytes: 0,
    rxBatches: 0,
    txPackets: 0,
    txBytes: 0,
    txQueued: 0,
    txDropped: 0,
    txErrors: 0,
    rxErrors: 0,
    rxSegmentationOffloads: 0,
    txSegmentationOffloads: 0,
  };
  /** With offload: the largest frame the kernel cuts for us (an IPv4 packet at Total Length's limit, after an Ethernet header on a TAP). */
  readonly tcpSegmentationMax: number;
  private receiver: FrameReceiver | null = null;
  /** Frames waiting for the fd, with their virtio_net_hdr when offloading. */
  private readonly queue: Array<{ readonly frame: Uint8Array; readonly header: Uint8Array }> = [];
  private queueHead = 0;
  private readonly writeQueueLimit: number;
  private readonly ends: Int32Array;
  private closed = false;
  /** frameMemory's reused memory (made on first use), how much of it is handed out, and how many of those frames are not yet transmitted. */
  private arena: ArrayBuffer | null = null;
  private arenaUsed = 0;
  private arenaFrames = 0;
  /** vnetHeaderFor's header, rewritten for each packet sent. */
  private readonly vnetHeader = new Uint8Array(VNET_HEADER_LENGTH);
  private readonly vnetFields = new DataView(this.vnetHeader.buffer);

  private constructor(
    private readonly addon: NativeTunAddon,
    private readonly handle: unknown,
    name: string,
    options: TunLinkOptions,
  ) {
    this.name = name;
    this.medium = options.tap ? 'ethernet' : 'ip';
    this.mtu = options.mtu ?? 1500;
    this.tcpSegmentationMax = options.offload ? IPV4_MAX_PACKET + (options.tap ? ETHERNET_HEADER : 0) : 0;
    this.clock = options.clock ?? new SystemClock();
    this.writeQueueLimit = options.writeQueueLimit ?? 1024;
    this.ends = new Int32Array(addon.maxBatch);
    addon.start(
      handle,
      (buffer, count) => this.arrived(buffer, count),
      () => this.flush(),
      this.ends,
      addon.batchBytes === undefined ? undefined : new Uint8Array(addon.batchBytes),
    );
    if (options.ref === false) addon.setRef(handle, false);
  }

  /**
   * Opens (creating if needed) TUN device `name` (TAP with `tap: true`). Throws when the addon is missing, or with the
   * kernel's errno (`code` EPERM, EBUSY, …) and what to do about it.
   */
  static open(options: TunLinkOptions = {}): TunLink {
    const name = options.name ?? '';
    if (Buffer.byteLength(name) > 15) throw new RangeError(`TUN device name ${JSON.stringify(name)} is longer than 15 bytes (IFNAMSIZ)`);
    const addon = options.addon ?? loadNativeTun();
    const device = addon.open(name, options.tap ?? false, options.multiQueue ?? false, options.offload ?? false);
    return new TunLink(addon, device.handle, device.name, options);
  }

  /**
   * On a multi-queue device, makes the kernel steer by ports (`queueForPorts`) instead of by its
   * flow hash, which for its own sockets follows each socket's random txhash and changes it after
   * a retransmission timeout (moving a flow to another queue, whose stack does not know it).
   */
  steerByPorts(): void {
    this.addon.steerByPorts(this.handle, this.medium === 'ethernet' ? ETHERNET_HEADER : 0);
  }

  /** Frames waiting for the fd to become writable. */
  get queuedFrames(): number {
    return this.queue.length - this.queueHead;
  }

  /** Whether the link was closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  setReceiver(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }

  transmit(frame: Uint8Array, _now: number, segmentSize?: number): void {
    if (!this.closed) {
      const header = this.tcpSegmentationMax > 0 ? this.vnetHeaderFor(frame, segmentSize) : NO_BYTES;
      if (this.queuedFrames > 0) this.enqueue(frame, header);
      else this.write(frame, header);
    }
    // The write copied the frame into the kernel (or enqueue copied it): its memory is free.
    if (frame.buffer === this.arena && --this.arenaFrames === 0) this.arenaUsed = 0;
  }

  /**
   * Link.frameMemory: a zeroed view of the arena, which every frame leaves during transmit
   * (write copies it into the kernel; one that must wait is copied into the queue). The arena
   * starts over once every frame handed out was transmitted: the stack flushes its outbox after
   * each poll, so that is after every poll. Each frame the stack allocated instead (a 64 KiB
   * TSO segment per 64 KiB of data sent) was an ArrayBuffer of its own, and V8 counts those
   * bytes as external memory: with little else allocated, scavenges were rare and every ~20 MB
   * of them started a full mark-compact (bench:tun's ustack peer: 87–94 per run, 43–55 with
   * this; the rest were the received batches, now read into one fixed buffer: see arrived).
   */
  frameMemory(length: number): Uint8Array | null {
    if (this.closed || this.arenaUsed + length > ARENA_SIZE) return null;
    this.arena ??= new ArrayBuffer(ARENA_SIZE);
    const frame = new Uint8Array(this.arena, this.arenaUsed, length);
    frame.fill(0); // reused bytes: zeroed, as the stack's own allocator gives them
    this.arenaUsed += (length + 7) & ~7; // the next frame starts 8-byte aligned
    this.arenaFrames++;
    return frame;
  }

  /**
   * The virtio_net_hdr for an outgoing packet: none needed, or (a TCP segment with a segment
   * size, its checksum partial: see Link.transmit) NEEDS_CSUM, so that the kernel completes the
   * checksum — and, when it holds more than one segment's data, GSO TCPv4 (or TCPv6, by the
   * version nibble) to cut it. An IPv6 segment cut as TCPv4, with its TCP header looked for at
   * IHL × 4, was dropped by the kernel: every burst but its first segment was lost.
   */
  private vnetHeaderFor(frame: Uint8Array, segmentSize: number | undefined): Uint8Array {
    if (!segmentSize) return PLAIN_VNET_HEADER;
    const ipStart = this.medium === 'ethernet' ? ETHERNET_HEADER : 0; // an untagged Ethernet frame on a TAP
    const ipv6 = frame[ipStart] >> 4 === 6;
    const tcpStart = ipStart + (ipv6 ? IPV6_HEADER : (frame[ipStart] & 0x0f) * 4);
    const headersLength = tcpStart + (frame[tcpStart + 12] >> 4) * 4;
    const cut = frame.length - headersLength > segmentSize;
    // One header for every write (the write copies it into the kernel; enqueue copies it).
    const header = this.vnetHeader;
    const fields = this.vnetFields;
    fields.setUint8(0, VNET_F_NEEDS_CSUM);
    const gsoType = ipv6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
    fields.setUint8(1, cut ? gsoType | (frame[tcpStart + 13] & TCP_FLAG_CWR ? VNET_GSO_ECN : 0) : VNET_GSO_NONE);
    fields.setUint16(2, cut ? headersLength : 0, true);
    fields.setUint16(4, cut ? segmentSize : 0, true);
    fields.setUint16(6, tcpStart, true);
    fields.setUint16(8, TCP_CHECKSUM_OFFSET, true);
    if (cut) this.counters.txSegmentationOffloads++;
    return header;
  }

  /** A TUN link holds nothing back in time: frames leave in transmit or when the fd drains. */
  pollAt(): number {
    return Infinity;
  }

  poll(_now: number): void {}

  /** Whether the open device keeps Node's event loop alive. */
  setRef(yes: boolean): void {
    if (!this.closed) this.addon.setRef(this.handle, yes);
  }

  /** Closes the fd: the device disappears (with its addresses and routes) unless persistent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.queueHead = 0;
    this.arena = null;
    this.addon.close(this.handle);
  }

  /** Writes one frame; true when it left (or failed for good), false when it must wait. */
  private write(frame: Uint8Array, header: Uint8Array): boolean {
    const result = this.addon.write(this.handle, header, frame);
    if (result >= 0) {
      this.counters.txPackets++;
      this.counters.txBytes += result - header.length;
      return true;
    }
    if (result === EAGAIN) {
      this.counters.txQueued++;
      this.enqueue(frame, header);
      this.addon.wantWritable(this.handle, true);
      return false;
    }
    this.counters.txErrors++;
    this.onError?.(systemError('write', result, this.name));
    return true;
  }

  private enqueue(frame: Uint8Array, header: Uint8Array): void {
    if (this.queuedFrames >= this.writeQueueLimit) {
      this.counters.txDropped++;
      return;
    }
    // An arena frame's memory is handed out again after transmit, and the header is rewritten for
    // the next packet: the queue keeps copies.
    this.queue.push({ frame: frame.buffer === this.arena ? frame.slice() : frame, header: header === this.vnetHeader ? header.slice() : header });
  }

  /** The fd is writable again: send what waited, in order, until it fills up again. */
  private flush(): void {
    while (this.queueHead < this.queue.length && !this.closed) {
      const { frame, header } = this.queue[this.queueHead];
      const result = this.addon.write(this.handle, header, frame);
      if (result === EAGAIN) {
        this.addon.wantWritable(this.handle, true);
        return;
      }
      this.queueHead++;
      if (result >= 0) {
        this.counters.txPackets++;
        this.counters.txBytes += result - header.length;
      } else {
        this.counters.txErrors++;
        this.onError?.(systemError('write', result, this.name));
      }
    }
    this.queue.length = 0;
    this.queueHead = 0;
    this.onDrain?.();
  }

  /**
   * A batch from the addon: `count` packets back to back in `buffer`, or a read error. The
   * buffer is the link's fixed batch memory, read into again for the next batch: each frame is
   * lent to the receiver for its call only (Link's contract; the stack copies what it keeps).
   */
  private arrived(buffer: Uint8Array | null, count: number): void {
    if (buffer === null) {
      const error = systemError('read', count, this.name);
      if (this.onError) this.onError(error);
      else process.emitWarning(`TUN device ${this.name} stopped reading: ${error.message}`);
      return;
    }
    if (this.closed) return;
    const now = this.clock.now();
    const receiver = this.receiver;
    const ends = this.ends;
    let start = 0;
    this.counters.rxBatches++;
    this.counters.rxPackets += count;
    this.counters.rxBytes += count > 0 ? ends[count - 1] : 0; // the batch's bytes: the buffer is larger (fixed memory)
    const offload = this.tcpSegmentationMax > 0;
    if (offload) this.counters.rxBytes -= count * VNET_HEADER_LENGTH;
    this.onBatchStart?.();
    try {
      for (let i = 0; i < count && !this.closed; i++) {
        const end = ends[i];
        // A plain Uint8Array view (not a Buffer: Buffer#slice shares memory, Uint8Array#slice copies).
        if (offload) this.receiveWithVnetHeader(buffer, start, end, now);
        else if (receiver) receiver(new Uint8Array(buffer.buffer, buffer.byteOffset + start, end - start), now);
        start = end;
      }
    } finally {
      // Even when a receiver threw (a Stack never does; a decorator might): a driver told of the batch must not wait for ever.
      this.onBatch?.();
    }
  }

  /**
   * Hands over the packet after its virtio_net_hdr — as trusted when the kernel left its
   * checksum partial (NEEDS_CSUM: its own packet) or verified it (DATA_VALID) — or drops and
   * counts it when the header does not fit the packet.
   */
  private receiveWithVnetHeader(buffer: Uint8Array, start: number, end: number, now: number): void {
    if (end - start < VNET_HEADER_LENGTH) {
      this.counters.rxErrors++;
      return;
    }
    // The header's fields read from the batch directly (little-endian), no DataView per packet.
    const packet = new Uint8Array(buffer.buffer, buffer.byteOffset + start + VNET_HEADER_LENGTH, end - start - VNET_HEADER_LENGTH);
    const flags = buffer[start];
    const checksumStart = buffer[start + 6] | (buffer[start + 7] << 8);
    const checksumOffset = buffer[start + 8] | (buffer[start + 9] << 8);
    if (flags & VNET_F_NEEDS_CSUM && checksumStart + checksumOffset + 2 > packet.length) {
      this.counters.rxErrors++;
      return;
    }
    if (buffer[start + 1] !== VNET_GSO_NONE) this.counters.rxSegmentationOffloads++;
    this.receiver?.(packet, now, (flags & (VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID)) !== 0);
  }
}
