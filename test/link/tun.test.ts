/**
 * TunLink over a fake addon that plays the kernel's side of the fd: batches handed to the
 * receiver, the bounded write queue under EAGAIN, errors, close. (The real device: test/interop.)
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { NativeDevice, NativeTunAddon } from '../../src/link/native.js';
import { TunLink } from '../../src/link/tun.js';
import { foldSum, onesComplementSum, pseudoHeaderSum } from '../../src/ip/checksum.js';
import { IpProtocol } from '../../src/ip/ipv4.js';
import { emitTcp, TcpFlag, tcpLength, type TcpRepr } from '../../src/tcp/tcp-packet.js';
import { addr, ipv4Frame, pattern, udpFrame } from '../support/packets.js';
import { Stack } from '../../src/socket-api/stack.js';

const EAGAIN = -11;

/** A fake fd: records writes, refuses them while `full`, and delivers batches on demand. */
class FakeKernel implements NativeTunAddon {
  readonly maxBatch = 256;
  /** Set: the fake reads batches into the memory start() was given, as the addon does. */
  readonly batchBytes: number | undefined;
  /** The memory TunLink gave start() for batches, if any. */
  batch: Uint8Array | undefined = undefined;
  readonly written: number[][] = [];
  /** The virtio_net_hdr written before each packet (offload), or null. */
  readonly headers: Array<number[] | null> = [];
  full = false;
  failWith = 0;
  wantsWritable = false;
  closed = false;
  private onPackets: ((buffer: Uint8Array | null, count: number) => void) | null = null;
  private onWritable: (() => void) | null = null;
  private ends: Int32Array | null = null;

  open(name: string): NativeDevice {
    return { handle: { fake: true }, name: name || 'tun9' };
  }
  constructor(batchBytes?: number) {
    this.batchBytes = batchBytes;
  }

  start(_handle: unknown, onPackets: (buffer: Uint8Array | null, count: number) => void, onWritable: () => void, ends: Int32Array, batch?: Uint8Array): void {
    this.batch = batch;
    this.onPackets = onPackets;
    this.onWritable = onWritable;
    this.ends = ends;
  }
  write(_handle: unknown, header: Uint8Array, packet: Uint8Array): number {
    if (this.failWith) return this.failWith;
    if (this.full) return EAGAIN;
    this.written.push([...packet]);
    this.headers.push(header.length > 0 ? [...header] : null);
    return packet.length + header.length;
  }
  wantWritable(_handle: unknown, yes: boolean): void {
    this.wantsWritable = yes;
  }
  setRef(): void {}
  steerByPorts(): void {
    throw new Error('the fake kernel has no queues to steer');
  }
  close(): void {
    this.closed = true;
  }

  /** The kernel has these packets for us: one wake-up, one batch. */
  deliver(packets: number[][]): void {
    let end = 0;
    packets.forEach((packet, i) => (this.ends![i] = end += packet.length));
    if (this.batch === undefined) return this.onPackets!(Buffer.from(packets.flat()), packets.length);
    this.batch.set(packets.flat());
    this.onPackets!(this.batch, packets.length);
  }
  /** The fd became writable (the addon calls back once per request). */
  drain(): void {
    this.full = false;
    if (this.wantsWritable) {
      this.wantsWritable = false;
      this.onWritable!();
    }
  }
  readError(errno: number): void {
    this.onPackets!(null, errno);
  }
}

function open(options: { writeQueueLimit?: number; offload?: boolean; batchBytes?: number } = {}) {
  const kernel = new FakeKernel(options.batchBytes);
  const clock = new ManualClock(5);
  const link = TunLink.open({ name: 'tunX', addon: kernel, clock, ...options });
  return { kernel, clock, link };
}

describe('TunLink', () => {
  it('hands a batch to the receiver packet by packet, as plain Uint8Arrays at one time, then calls onBatch once', () => {
    const { kernel, clock, link } = open();
    const got: Array<{ bytes: number[]; now: number; isBuffer: boolean }> = [];
    let batches = 0;
    link.setReceiver((frame, now) => got.push({ bytes: [...frame], now, isBuffer: Buffer.isBuffer(frame) }));
    link.onBatch = () => batches++;
    clock.advance(10);
    kernel.deliver([
      [0x45, 1, 2],
      [0x45, 3],
      [0x45, 4, 5, 6],
    ]);
    expect(got.map((g) => g.bytes)).toEqual([
      [0x45, 1, 2],
      [0x45, 3],
      [0x45, 4, 5, 6],
    ]);
    expect(got.every((g) => g.now === 15 && !g.isBuffer)).toBe(true);
    expect(batches).toBe(1);
    expect(link.counters).toMatchObject({ rxPackets: 3, rxBatches: 1, rxBytes: 9 });
    expect(link.medium).toBe('ip');
    expect(link.name).toBe('tunX');
  });

  it('calls onBatchStart before the first packet and onBatch after the last, also when the receiver closes the link mid-batch', () => {
    const { kernel, link } = open();
    const events: string[] = [];
    link.onBatchStart = () => events.push('start');
    link.onBatch = () => events.push('end');
    link.setReceiver((frame) => {
      events.push(`frame ${frame[1]}`);
      if (frame[1] === 2) link.close();
    });
    kernel.deliver([
      [0x45, 1],
      [0x45, 2],
      [0x45, 3],
    ]);
    // The third packet is not handed over once closed, but whoever was told of the batch hears its end.
    expect(events).toEqual(['start', 'frame 1', 'frame 2', 'end']);
  });

  it('calls onBatch even when a receiver throws, and the error still reaches the caller', () => {
    const { kernel, link } = open();
    let ended = 0;
    link.onBatch = () => ended++;
    link.setReceiver(() => {
      throw new Error('a decorator failed');
    });
    expect(() => kernel.deliver([[0x45, 1]])).toThrow('a decorator failed');
    expect(ended).toBe(1);
  });

  it('queues frames while the fd refuses writes (EAGAIN), asks for writable, and flushes them in order', () => {
    const { kernel, link } = open();
    let drained = 0;
    link.onDrain = () => drained++;
    link.transmit(new Uint8Array([1]), 0);
    kernel.full = true;
    link.transmit(new Uint8Array([2]), 0);
    kernel.full = false; // even if the fd could take it now, [3] must not overtake [2]
    link.transmit(new Uint8Array([3]), 0);
    expect(kernel.written).toEqual([[1]]);
    expect(link.queuedFrames).toBe(2);
    expect(kernel.wantsWritable).toBe(true);
    kernel.drain();
    expect(kernel.written).toEqual([[1], [2], [3]]);
    expect(link.queuedFrames).toBe(0);
    expect(drained).toBe(1);
    expect(link.counters).toMatchObject({ txPackets: 3, txQueued: 1, txDropped: 0 });
  });

  it('asks for writable again when the fd fills up halfway through a flush', () => {
    const { kernel, link } = open();
    kernel.full = true;
    for (let i = 1; i <= 3; i++) link.transmit(new Uint8Array([i]), 0);
    let writes = 0;
    const write = kernel.write.bind(kernel);
    kernel.write = (handle, header, packet) => (++writes === 2 ? EAGAIN : write(handle, header, packet));
    kernel.drain();
    expect(kernel.written).toEqual([[1]]);
    expect(kernel.wantsWritable).toBe(true);
    kernel.drain();
    expect(kernel.written).toEqual([[1], [2], [3]]);
  });

  it('drops and counts frames beyond the queue bound, as a full qdisc would', () => {
    const { kernel, link } = open({ writeQueueLimit: 2 });
    kernel.full = true;
    for (let i = 1; i <= 5; i++) link.transmit(new Uint8Array([i]), 0);
    expect(link.queuedFrames).toBe(2);
    expect(link.counters.txDropped).toBe(3);
    kernel.drain();
    expect(kernel.written).toEqual([[1], [2]]);
  });

  it('counts other write errors and reports them; a read error is reported once with its errno', () => {
    const { kernel, link } = open();
    const errors: NodeJS.ErrnoException[] = [];
    link.onError = (error) => errors.push(error);
    kernel.failWith = -5;
    link.transmit(new Uint8Array([1]), 0);
    expect(link.counters.txErrors).toBe(1);
    kernel.readError(-77);
    expect(errors.map((e) => [e.syscall, e.code, e.errno])).toEqual([
      ['write', 'EIO', -5],
      ['read', 'EBADFD', -77],
    ]);
  });

  it('after close: nothing is written, late batches are ignored, and the fd is closed once', () => {
    const { kernel, link } = open();
    const got: Uint8Array[] = [];
    link.setReceiver((frame) => got.push(frame));
    link.close();
    link.close();
    link.transmit(new Uint8Array([1]), 0);
    kernel.deliver([[0x45]]);
    expect(kernel.written).toEqual([]);
    expect(got).toEqual([]);
    expect(kernel.closed).toBe(true);
    expect(link.isClosed).toBe(true);
  });
});

describe('TunLink with offload (virtio_net_hdr: checksum and TCP segmentation offload)', () => {
  const source = addr('10.77.0.1');
  const destination = addr('10.77.0.2');

  /** An IPv4 TCP segment with `dataLength` bytes of data and a correct (or partial) checksum. */
  function tcpPacket(dataLength: number, flags = TcpFlag.ACK | TcpFlag.PSH, partialChecksum = false): Uint8Array {
    const repr: TcpRepr = { srcPort: 5000, dstPort: 80, seq: 1, ack: 1, flags, window: 512, urgentPointer: 0, options: [], payload: pattern(dataLength) };
    const segment = new Uint8Array(tcpLength(repr));
    emitTcp(repr, segment, { source, destination }, partialChecksum);
    return ipv4Frame({ source, destination, protocol: IpProtocol.TCP }, segment);
  }

  /** A virtio_net_hdr as the kernel writes it (little-endian). */
  function vnetHeader(fields: {
    flags: number;
    gsoType: number;
    headerLength: number;
    gsoSize: number;
    checksumStart: number;
    checksumOffset: number;
  }): number[] {
    const bytes = new Uint8Array(10);
    const view = new DataView(bytes.buffer);
    view.setUint8(0, fields.flags);
    view.setUint8(1, fields.gsoType);
    view.setUint16(2, fields.headerLength, true);
    view.setUint16(4, fields.gsoSize, true);
    view.setUint16(6, fields.checksumStart, true);
    view.setUint16(8, fields.checksumOffset, true);
    return [...bytes];
  }

  /** `packet` with its transport checksum replaced by the pseudo-header sum (Linux's CHECKSUM_PARTIAL). */
  function partial(packet: Uint8Array, protocol: number, checksumAt: number): number[] {
    const copy = packet.slice();
    const sum = foldSum(pseudoHeaderSum(source, destination, protocol, packet.length - 20));
    copy[20 + checksumAt] = sum >> 8;
    copy[20 + checksumAt + 1] = sum & 0xff;
    return [...copy];
  }

  it('hands over a 64 KB segment the kernel joined (GSO) with its partial checksum (NEEDS_CSUM) as trusted, without its header', () => {
    const { kernel, link } = open({ offload: true });
    const received: Array<{ frame: Uint8Array; trusted: boolean | undefined }> = [];
    link.setReceiver((frame, _now, trusted) => received.push({ frame: frame.slice(), trusted }));
    const bytes = partial(tcpPacket(60_000), 6, 16);
    kernel.deliver([[...vnetHeader({ flags: 1, gsoType: 1, headerLength: 40, gsoSize: 1448, checksumStart: 20, checksumOffset: 16 }), ...bytes]]);
    expect(received).toEqual([{ frame: Uint8Array.from(bytes), trusted: true }]);
    expect(link.counters).toMatchObject({ rxPackets: 1, rxBytes: bytes.length, rxSegmentationOffloads: 1, rxErrors: 0 });
  });

  it('trusts DATA_VALID (the kernel verified it) too, and nothing else', () => {
    const { kernel, link } = open({ offload: true });
    const trusted: Array<boolean | undefined> = [];
    link.setReceiver((_frame, _now, checksumTrusted) => trusted.push(checksumTrusted));
    const datagram = udpFrame({ source, destination }, 4000, 7, pattern(300));
    const header = (flags: number) => vnetHeader({ flags, gsoType: 0, headerLength: 0, gsoSize: 0, checksumStart: 0, checksumOffset: 0 });
    kernel.deliver([
      [...header(2), ...datagram],
      [...header(0), ...datagram],
    ]);
    expect(trusted).toEqual([true, false]);
  });

  it('a segment that waits for the fd (EAGAIN) keeps its own virtio_net_hdr while later ones are sent', () => {
    const { kernel, link } = open({ offload: true });
    kernel.full = true;
    link.transmit(tcpPacket(14_480, TcpFlag.ACK, true), 0, 1448);
    kernel.full = false;
    // Queued behind it, then flushed; written in between: one with a header of its own.
    link.transmit(tcpPacket(1448, TcpFlag.ACK, true), 0, 1448);
    kernel.drain();
    expect(kernel.headers[0]).toEqual(vnetHeader({ flags: 1, gsoType: 1, headerLength: 40, gsoSize: 1448, checksumStart: 20, checksumOffset: 16 }));
    expect(kernel.headers[1]).toEqual(vnetHeader({ flags: 1, gsoType: 0, headerLength: 0, gsoSize: 0, checksumStart: 20, checksumOffset: 16 }));
  });

  it('drops and counts a packet shorter than its header, or whose checksum offset lies outside it', () => {
    const { kernel, link } = open({ offload: true });
    const received: Uint8Array[] = [];
    link.setReceiver((frame) => received.push(frame));
    kernel.deliver([
      [1, 2, 3],
      [...vnetHeader({ flags: 1, gsoType: 0, headerLength: 0, gsoSize: 0, checksumStart: 20, checksumOffset: 500 }), ...tcpPacket(10)],
    ]);
    expect(received).toHaveLength(0);
    expect(link.counters.rxErrors).toBe(2);
  });

  it('sends a segment with a segment size as GSO TCPv4 with NEEDS_CSUM (the partial checksum completes to the full one); others with an empty header', () => {
    const { kernel, link } = open({ offload: true });
    expect(link.tcpSegmentationMax).toBe(65535);
    const big = tcpPacket(14_480, TcpFlag.ACK | TcpFlag.CWR, true);
    link.transmit(big, 0, 1448);
    link.transmit(tcpPacket(100), 0);
    link.transmit(tcpPacket(1448, TcpFlag.ACK, true), 0, 1448);
    expect(kernel.headers[0]).toEqual(vnetHeader({ flags: 1, gsoType: 1 | 0x80, headerLength: 40, gsoSize: 1448, checksumStart: 20, checksumOffset: 16 }));
    expect(kernel.headers[1]).toEqual(new Array(10).fill(0));
    // One segment's worth: nothing to cut, only the checksum to complete.
    expect(kernel.headers[2]).toEqual(vnetHeader({ flags: 1, gsoType: 0, headerLength: 0, gsoSize: 0, checksumStart: 20, checksumOffset: 16 }));
    // What the kernel does with NEEDS_CSUM: sum from csum_start over the partial field and the
    // rest; that gives the checksum of the whole segment, computed here independently.
    const written = Uint8Array.from(kernel.written[0]);
    expect(written).toEqual(big);
    const completed = ~foldSum(onesComplementSum(written, 0, 20)) & 0xffff;
    const full = tcpPacket(14_480, TcpFlag.ACK | TcpFlag.CWR);
    expect(completed).toBe((full[36] << 8) | full[37]);
    expect(link.counters).toMatchObject({ txPackets: 3, txBytes: big.length + 140 + 1488, txSegmentationOffloads: 1 });
  });

  it('on a TAP device the offsets count the Ethernet header, and the largest frame is 14 bytes more', () => {
    const kernel = new FakeKernel();
    const link = TunLink.open({ name: 'tapX', tap: true, offload: true, addon: kernel });
    expect(link.tcpSegmentationMax).toBe(65535 + 14);
    const ethernet = [...new Array(12).fill(2), 0x08, 0x00];
    link.transmit(Uint8Array.from([...ethernet, ...tcpPacket(5000, TcpFlag.ACK, true)]), 0, 1448);
    expect(kernel.headers[0]).toEqual(vnetHeader({ flags: 1, gsoType: 1, headerLength: 14 + 40, gsoSize: 1448, checksumStart: 14 + 20, checksumOffset: 16 }));
  });

  it('is absent without the option', () => {
    expect(open().link.tcpSegmentationMax).toBe(0);
  });
});

describe('TunLink frame memory (Link.frameMemory: frames built in memory the link reuses)', () => {
  it('hands out zeroed views of one arena and starts it over once every frame handed out was transmitted', () => {
    const { kernel, link } = open({ offload: true });
    const first = link.frameMemory(100)!;
    const second = link.frameMemory(60)!;
    expect(first.buffer).toBe(second.buffer);
    expect(second.byteOffset).toBe(104); // 8-byte aligned after the first
    first.fill(0xaa);
    second.fill(0xbb);
    link.transmit(first, 0);
    expect(link.frameMemory(10)!.byteOffset).toBe(168); // `second` still waits: nothing is reused yet
    link.transmit(second, 0);
    expect(kernel.written).toEqual([Array(100).fill(0xaa), Array(60).fill(0xbb)]);
    // One frame (the 10 bytes) was never transmitted: the arena is not reused while it is out.
    expect(link.frameMemory(10)!.byteOffset).toBe(184);
  });

  it('reuses the arena from its start after a poll’s frames all left, zeroing what it hands out again', () => {
    const { kernel, link } = open();
    const a = link.frameMemory(64)!;
    a.fill(7);
    link.transmit(a, 0);
    const b = link.frameMemory(64)!;
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset);
    expect([...b]).toEqual(Array(64).fill(0));
    b[0] = 0x45;
    link.transmit(b, 0);
    expect(kernel.written[0]).toEqual(Array(64).fill(7));
    expect(kernel.written[1][0]).toBe(0x45);
  });

  it('copies a frame that must wait for the fd, so the arena’s reuse cannot change what is written later', () => {
    const { kernel, link } = open();
    kernel.full = true;
    const waiting = link.frameMemory(4)!;
    waiting.set([1, 2, 3, 4]);
    link.transmit(waiting, 0);
    expect(link.queuedFrames).toBe(1);
    const next = link.frameMemory(4)!; // the arena started over: the same bytes
    expect(next.byteOffset).toBe(waiting.byteOffset);
    next.set([9, 9, 9, 9]);
    link.transmit(next, 0);
    kernel.drain();
    expect(kernel.written).toEqual([
      [1, 2, 3, 4],
      [9, 9, 9, 9],
    ]);
  });

  it('says null when a frame does not fit in what is left of the arena, and after close', () => {
    const { link } = open();
    const held = link.frameMemory(1024 * 1024 - 16)!;
    expect(held).not.toBeNull();
    expect(link.frameMemory(64)).toBeNull();
    expect(link.frameMemory(8)).not.toBeNull();
    link.close();
    expect(link.frameMemory(8)).toBeNull();
    link.transmit(held, 0); // late: nothing written, nothing thrown
  });

  it('reads every batch into the one buffer it gave the addon; what the stack queued survives the next batch', () => {
    const { kernel, link } = open({ batchBytes: 70_000 });
    expect(kernel.batch?.length).toBe(70_000);
    const stack = new Stack({ name: 'lent-batches' });
    stack.addInterface({ name: 'tunX', link, address: '10.9.0.2/24' });
    const socket = stack.udp.open();
    expect(socket.bind(0, 7).ok).toBe(true);
    const source = addr('10.9.0.1');
    const destination = addr('10.9.0.2');
    const seen: Uint8Array[] = [];
    const receive = stack.receive.bind(stack);
    stack.receive = (name, frame, now, trusted) => {
      seen.push(frame);
      receive(name, frame, now, trusted);
    };
    kernel.deliver([[...udpFrame({ source, destination }, 4000, 7, pattern(300))]]);
    kernel.deliver([[...udpFrame({ source, destination }, 4000, 7, pattern(200, 99))]]);
    expect(seen.map((frame) => frame.buffer === kernel.batch!.buffer && frame.byteOffset === 0)).toEqual([true, true]);
    expect(socket.receive()?.payload).toEqual(pattern(300));
    expect(socket.receive()?.payload).toEqual(pattern(200, 99));
    // The batch's bytes, not the buffer's.
    expect(link.counters).toMatchObject({ rxPackets: 2, rxBytes: 2 * 28 + 300 + 200, rxBatches: 2 });
    link.close();
  });

  it('is where the stack builds a datagram that goes whole to the link, but not a traced or fragmented one', () => {
    const { kernel, link } = open();
    const stack = new Stack({ name: 'frame-memory' });
    stack.addInterface({ name: 'tunX', link, address: '10.9.0.2/24' });
    const asked: number[] = [];
    const frameMemory = link.frameMemory.bind(link);
    link.frameMemory = (length) => {
      asked.push(length);
      return frameMemory(length);
    };
    const socket = stack.udp.open();
    const send = (bytes: number) => {
      expect(socket.send(pattern(bytes), addr('10.9.0.1'), 9).ok).toBe(true);
      stack.poll(0);
    };
    send(100);
    expect(asked).toEqual([128]);
    expect(kernel.written.at(-1)!.slice(28)).toEqual([...pattern(100)]);
    send(3000); // over the MTU: fragmented, the frame is copied into fragments and stays the stack's
    expect(asked).toEqual([128]);
    expect(kernel.written.length).toBe(4); // one datagram, then three fragments
    stack.tracer = () => {};
    send(10); // a tracer may keep what it is shown
    expect(asked).toEqual([128]);
    stack.tracer = null;
    send(10);
    expect(asked).toEqual([128, 38]);
    expect(kernel.written.at(-1)!.slice(28)).toEqual([...pattern(10)]);
  });
});
