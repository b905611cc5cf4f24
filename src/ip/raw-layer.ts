/**
 * Raw IPv4 sockets (SOCK_RAW): a socket bound to an IP protocol number receives a copy of
 * every datagram of that protocol delivered to this host, IP header included (as Linux's raw
 * sockets do), and sends datagrams whose IP header the stack builds — or, with IP_HDRINCL,
 * the application builds (RFC 791 layout; the stack fills in a zero checksum, source, id).
 */
import type { ErrnoCode } from '../core/errno.js';
import { fail, ok, type Result } from '../core/result.js';
import type { Stats } from '../core/stats.js';
import type { RawCounterName } from './ip-counters.js';
import { IPV4_ANY, type Ipv4Address } from './address.js';
import type { IncomingDatagram, IpLayer, RawDatagramTap } from './ip-layer.js';
import { emitIpv4, ipv4HeaderLength, Ipv4Packet, IPV4_MAX_TOTAL_LENGTH } from './ipv4.js';

/** A datagram waiting in a raw socket. */
export interface RawDatagram {
  /** The whole IPv4 datagram, header included. */
  readonly packet: Uint8Array;
  readonly source: Ipv4Address;
}

/** Bytes queued per raw socket before new datagrams are dropped. */
const RAW_RECEIVE_LIMIT = 212_992;

/** One raw socket. */
export class RawSocket {
  localAddress: Ipv4Address = IPV4_ANY;
  remoteAddress: Ipv4Address = IPV4_ANY;
  /** IP_HDRINCL: the application supplies the IP header on send. */
  headerIncluded = false;
  ttl: number | undefined;
  tos = 0;
  closed = false;
  onReadable: (() => void) | null = null;
  private readonly queue: RawDatagram[] = [];
  private queuedBytes = 0;

  constructor(
    private readonly layer: RawLayer,
    /** The IP protocol number this socket sends and receives (IPPROTO_RAW = 255 sends only). */
    readonly protocol: number,
  ) {}

  /** Takes the oldest datagram, or null. */
  receive(): RawDatagram | null {
    const datagram = this.queue.shift() ?? null;
    if (datagram) this.queuedBytes -= datagram.packet.length;
    return datagram;
  }

  /** Size of the next datagram (FIONREAD), or 0. */
  get nextDatagramSize(): number {
    return this.queue[0]?.packet.length ?? 0;
  }

  /** Sends `payload` (or, with IP_HDRINCL, a whole datagram) to `destination`. */
  send(payload: Uint8Array, destination?: Ipv4Address): Result<number, ErrnoCode> {
    return this.layer.send(this, payload, destination ?? this.remoteAddress);
  }

  /** Stops receiving. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.layer.release(this);
  }

  /** @internal */
  enqueue(datagram: RawDatagram): boolean {
    if (this.queuedBytes + datagram.packet.length > RAW_RECEIVE_LIMIT) return false;
    this.queue.push(datagram);
    this.queuedBytes += datagram.packet.length;
    this.onReadable?.();
    return true;
  }
}

/** Raw sockets of one stack. */
export class RawLayer implements RawDatagramTap {
  private readonly sockets = new Set<RawSocket>();

  constructor(
    private readonly ip: IpLayer,
    private readonly stats: Stats<RawCounterName>,
    private readonly clock: () => number,
  ) {}

  /** A raw socket for `protocol`. */
  open(protocol: number): RawSocket {
    const socket = new RawSocket(this, protocol);
    this.sockets.add(socket);
    return socket;
  }

  /** @internal */
  release(socket: RawSocket): void {
    this.sockets.delete(socket);
  }

  /** Copies a delivered datagram to every matching raw socket; true if any took it (IP calls it first). */
  deliver(datagram: IncomingDatagram): boolean {
    if (this.sockets.size === 0) return false;
    let packet: Uint8Array | null = null;
    let taken = false;
    for (const socket of this.sockets) {
      if (socket.protocol !== datagram.header.protocol) continue;
      if (socket.localAddress !== IPV4_ANY && socket.localAddress !== datagram.header.destination) continue;
      if (socket.remoteAddress !== IPV4_ANY && socket.remoteAddress !== datagram.header.source) continue;
      packet ??= wholeDatagram(datagram);
      if (socket.enqueue({ packet, source: datagram.header.source })) this.stats.increment('raw.rx.delivered');
      else this.stats.increment('drop.raw.receiveBufferFull');
      taken = true;
    }
    return taken;
  }

  /** @internal */
  send(socket: RawSocket, payload: Uint8Array, destination: Ipv4Address): Result<number, ErrnoCode> {
    if (socket.closed) return fail('EBADF');
    const now = this.clock();
    if (socket.headerIncluded || socket.protocol === 255) {
      const checked = Ipv4Packet.checked(payload);
      if (!checked.ok) return fail('EINVAL');
      const packet = payload.slice(0, checked.value.totalLength);
      const view = Ipv4Packet.unchecked(packet);
      // Linux fills a zero source address and always recomputes the checksum (raw(7)).
      if (view.source === IPV4_ANY) {
        const source = this.ip.sourceFor(view.destination);
        if (source === null) return fail('ENETUNREACH');
        packet.set([source >>> 24, (source >>> 16) & 0xff, (source >>> 8) & 0xff, source & 0xff], 12);
      }
      view.fillChecksum();
      const sent = this.ip.sendPacket(packet, now);
      if (!sent.ok) return sent;
      this.stats.increment('raw.tx.datagrams');
      return ok(payload.length);
    }
    if (destination === IPV4_ANY) return fail('EDESTADDRREQ');
    if (payload.length + 20 > IPV4_MAX_TOTAL_LENGTH) return fail('EMSGSIZE');
    const sent = this.ip.send(
      { source: socket.localAddress || undefined, destination, protocol: socket.protocol, ttl: socket.ttl, dscp: socket.tos >> 2, ecn: socket.tos & 3 },
      payload.length,
      (out) => out.set(payload),
      now,
    );
    if (!sent.ok) return sent;
    this.stats.increment('raw.tx.datagrams');
    return ok(payload.length);
  }
}

/** The datagram as it would have been on the wire, reassembled if it came in fragments. */
function wholeDatagram(datagram: IncomingDatagram): Uint8Array {
  const headerLength = ipv4HeaderLength(datagram.header);
  if (datagram.packet.length === headerLength + datagram.payload.length) return datagram.packet.slice();
  const out = new Uint8Array(headerLength + datagram.payload.length);
  emitIpv4({ ...datagram.header, payloadLength: datagram.payload.length }, out);
  out.set(datagram.payload, headerLength);
  return out;
}
