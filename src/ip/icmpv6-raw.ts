/**
 * Raw IPv6 sockets (`socket(AF_INET6, SOCK_RAW, protocol)`, RFC 3542 §3). An ICMPv6 one
 * receives a copy of every ICMPv6 message delivered to this host — the message alone, no IPv6
 * header (unlike IPv4's raw sockets, RFC 3542 §3) — with its source and Hop Limit, and sends
 * messages the application builds, whose checksum the stack computes (RFC 3542 §3.1: for ICMPv6
 * the kernel always does, as it covers the pseudo-header the application cannot see). One of
 * another protocol (an experimental 253, OSPF's 89…) receives a copy of each packet whose upper
 * layer is that protocol, and sends its payload as is: its checksum, if it has one, is the
 * application's (IPV6_CHECKSUM, which would have the kernel compute it, is not offered).
 */
import type { ErrnoCode } from '../core/errno.js';
import { fail, ok, type Result } from '../core/result.js';
import { internetChecksum, ipv6PseudoHeaderSum } from './checksum.js';
import { isUnspecifiedAddress, type Ipv6Address } from './ipv6-address.js';
import type { Ipv6Layer } from './ipv6-layer.js';
import { Ipv6NextHeader, IPV6_MAX_PAYLOAD_LENGTH } from './ipv6.js';

/** A message waiting in a raw IPv6 socket. */
export interface Icmpv6RawMessage {
  /** The ICMPv6 message, type first. */
  readonly message: Uint8Array;
  /** Who sent it. */
  readonly source: Ipv6Address;
  /** The Hop Limit it arrived with (what IPV6_RECVHOPLIMIT reports). */
  readonly hopLimit: number;
}

/** Bytes queued per socket before new messages are dropped (Linux's rmem_default). */
const RECEIVE_LIMIT = 212_992;

/** One raw IPv6 socket: ICMPv6, or another protocol. */
export class Icmpv6RawSocket {
  /** The peer of connect(), or null. */
  remoteAddress: Ipv6Address | null = null;
  /** IPV6_UNICAST_HOPS, or undefined: IPv6's default. */
  hopLimit: number | undefined;
  closed = false;
  /** Called when a message is queued. */
  onReadable: (() => void) | null = null;
  private readonly queue: Icmpv6RawMessage[] = [];
  private queuedBytes = 0;

  constructor(
    private readonly sockets: Icmpv6RawSockets,
    private readonly ip: Ipv6Layer,
    private readonly now: () => number,
    /** The upper-layer protocol (Next Header) it sends and receives; ICMPv6 by default. */
    readonly protocol: number = Ipv6NextHeader.ICMPV6,
  ) {}

  /** Takes the oldest message, or null. */
  receive(): Icmpv6RawMessage | null {
    const message = this.queue.shift() ?? null;
    if (message) this.queuedBytes -= message.message.length;
    return message;
  }

  /** Size of the next message (FIONREAD), or 0. */
  get nextMessageSize(): number {
    return this.queue[0]?.message.length ?? 0;
  }

  /**
   * Sends `message` (type, code, a checksum the stack overwrites, body) to `destination` (or the
   * connected peer). EDESTADDRREQ without one, EINVAL for less than the 4-byte header, EMSGSIZE
   * over 65535 bytes; IPv6's errors otherwise. Larger than the path MTU, it goes in fragments.
   */
  send(message: Uint8Array, destination: Ipv6Address | null = this.remoteAddress): Result<number, ErrnoCode> {
    if (this.closed) return fail('EBADF');
    if (destination === null || isUnspecifiedAddress(destination)) return fail('EDESTADDRREQ');
    const icmp = this.protocol === Ipv6NextHeader.ICMPV6;
    if (icmp && message.length < 4) return fail('EINVAL');
    if (message.length > IPV6_MAX_PAYLOAD_LENGTH) return fail('EMSGSIZE');
    const sent = this.ip.send(
      { destination, nextHeader: this.protocol, hopLimit: this.hopLimit },
      message.length,
      (out, source) => {
        out.set(message);
        if (!icmp) return;
        out[2] = 0;
        out[3] = 0;
        const checksum = internetChecksum(out.subarray(0, message.length), ipv6PseudoHeaderSum(source, destination, Ipv6NextHeader.ICMPV6, message.length));
        out[2] = checksum >> 8;
        out[3] = checksum & 0xff;
      },
      this.now(),
    );
    return sent.ok ? ok(message.length) : sent;
  }

  /** Stops receiving; queued messages are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.sockets.release(this);
  }

  /** @internal Queues a copy unless the receive buffer is full. */
  deliver(message: Icmpv6RawMessage): void {
    if (this.queuedBytes + message.message.length > RECEIVE_LIMIT) return;
    this.queue.push(message);
    this.queuedBytes += message.message.length;
    this.onReadable?.();
  }
}

/** The raw ICMPv6 sockets of one stack. */
export class Icmpv6RawSockets {
  private readonly open = new Set<Icmpv6RawSocket>();

  constructor(
    private readonly ip: Ipv6Layer,
    private readonly now: () => number,
  ) {}

  /** A new raw socket of `protocol` (ICMPv6 by default). */
  create(protocol: number = Ipv6NextHeader.ICMPV6): Icmpv6RawSocket {
    const socket = new Icmpv6RawSocket(this, this.ip, this.now, protocol);
    this.open.add(socket);
    return socket;
  }

  /**
   * Copies a message of `protocol` to every open socket of it: the ICMPv6 layer calls it for
   * each ICMPv6 message it takes, the IPv6 layer for every other upper layer. Returns whether a
   * socket was there to take it (then an unknown Next Header earns no Parameter Problem, as
   * Linux's raw6_local_deliver).
   */
  deliver(message: Uint8Array, source: Ipv6Address, hopLimit: number, protocol: number = Ipv6NextHeader.ICMPV6): boolean {
    if (this.open.size === 0) return false;
    let taken = false;
    for (const socket of this.open) {
      if (socket.protocol !== protocol) continue;
      socket.deliver({ message: message.slice(), source, hopLimit });
      taken = true;
    }
    return taken;
  }

  /** @internal */
  release(socket: Icmpv6RawSocket): void {
    this.open.delete(socket);
  }
}
