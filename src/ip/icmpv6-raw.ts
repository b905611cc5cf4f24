/**
 * Raw IPv6 sockets (`socket(AF_INET6, SOCK_RAW, protocol)`, RFC 3542 §3). An ICMPv6 one
 * receives a copy of every ICMPv6 message delivered to this host — the message alone, no IPv6
 * header (unlike IPv4's raw sockets, RFC 3542 §3) — with its source and Hop Limit, and sends
 * messages the application builds, whose checksum the stack computes (RFC 3542 §3.1: for ICMPv6
 * the kernel always does, as it covers the pseudo-header the application cannot see). One of
 * another protocol (an experimental 253, OSPF's 89…) receives a copy of each packet whose upper
 * layer is that protocol, and sends its payload as is: its checksum, if it has one, is the
 * application's unless IPV6_CHECKSUM names its offset (RFC 3542 §3.1), when the stack computes it
 * over the pseudo-header on the way out and drops what fails it on the way in. With IPV6_HDRINCL
 * (on from the start for IPPROTO_RAW, as Linux) the application sends whole packets, IPv6
 * header first, which go out as given.
 */
import type { ErrnoCode } from '../core/errno.js';
import { fail, ok, type Result } from '../core/result.js';
import { checksumIsValid, internetChecksum, ipv6PseudoHeaderSum } from './checksum.js';
import { isUnspecifiedAddress, type Ipv6Address } from './ipv6-address.js';
import type { Ipv6Layer } from './ipv6-layer.js';
import { Ipv6NextHeader, IPV6_HEADER_LENGTH, IPV6_MAX_PAYLOAD_LENGTH } from './ipv6.js';

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
  /**
   * IPV6_CHECKSUM (RFC 3542 §3.1): the offset of the 16-bit checksum in what the socket sends,
   * which the stack then computes, and verifies on receipt; -1: off. Not used by an ICMPv6
   * socket, whose checksum is always computed at offset 2 (RFC 3542 §3.1).
   */
  checksumOffset = -1;
  /** IPV6_HDRINCL: send() takes whole packets, IPv6 header first (Linux's rawv6_send_hdrinc). */
  headerIncluded = false;
  /** Messages dropped for a bad checksum under IPV6_CHECKSUM (Linux's sk_drops). */
  checksumDrops = 0;
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
   * Another protocol's payload goes as is, its checksum filled in at IPV6_CHECKSUM's offset
   * (EINVAL when the field does not fit, as Linux's rawv6_push_pending_frames). Under
   * IPV6_HDRINCL `message` is the whole packet, routed towards `destination`.
   */
  send(message: Uint8Array, destination: Ipv6Address | null = this.remoteAddress): Result<number, ErrnoCode> {
    if (this.closed) return fail('EBADF');
    if (destination === null || isUnspecifiedAddress(destination)) return fail('EDESTADDRREQ');
    if (this.headerIncluded) {
      // Linux's rawv6_send_hdrinc: EINVAL short of an IPv6 header; otherwise nothing in the
      // header is checked or filled in (no source chosen, unlike IPv4's raw_send_hdrinc).
      if (message.length < IPV6_HEADER_LENGTH) return fail('EINVAL');
      const sent = this.ip.sendHeaderIncluded(message, destination, this.now());
      return sent.ok ? ok(message.length) : sent;
    }
    const icmp = this.protocol === Ipv6NextHeader.ICMPV6;
    if (icmp && message.length < 4) return fail('EINVAL');
    if (message.length > IPV6_MAX_PAYLOAD_LENGTH) return fail('EMSGSIZE');
    const offset = icmp ? 2 : this.checksumOffset;
    if (offset >= 0 && offset + 2 > message.length) return fail('EINVAL');
    const protocol = this.protocol;
    const sent = this.ip.send(
      { destination, nextHeader: this.protocol, hopLimit: this.hopLimit },
      message.length,
      (out, source) => {
        out.set(message);
        if (offset < 0) return;
        out[offset] = 0;
        out[offset + 1] = 0;
        let checksum = internetChecksum(out.subarray(0, message.length), ipv6PseudoHeaderSum(source, destination, protocol, message.length));
        // UDP's 0 means "no checksum", which IPv6 forbids (RFC 8200 §8.1): sent as all ones.
        if (checksum === 0 && protocol === Ipv6NextHeader.UDP) checksum = 0xffff;
        out[offset] = checksum >> 8;
        out[offset + 1] = checksum & 0xff;
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

/** The raw IPv6 sockets of one stack. */
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

  /** Counts a message a socket dropped for a bad checksum (the IPv6 layer sets it). */
  onChecksumDrop: (() => void) | null = null;

  /**
   * Copies a message of `protocol` to every open socket of it: the ICMPv6 layer calls it for
   * each ICMPv6 message it takes, the IPv6 layer for every other upper layer. A socket with
   * IPV6_CHECKSUM set takes it only if the checksum over the pseudo-header holds (RFC 3542 §3.1;
   * the whole message is summed, as Linux's rawv6_rcv). Returns whether a socket of the protocol
   * was there (then an unknown Next Header earns no Parameter Problem, as Linux's
   * raw6_local_deliver — even when that socket dropped it).
   */
  deliver(message: Uint8Array, source: Ipv6Address, destination: Ipv6Address, hopLimit: number, protocol: number = Ipv6NextHeader.ICMPV6): boolean {
    if (this.open.size === 0) return false;
    let taken = false;
    let valid: boolean | undefined;
    for (const socket of this.open) {
      if (socket.protocol !== protocol) continue;
      taken = true;
      // ICMPv6's checksum was checked by its layer before the copy.
      if (socket.checksumOffset >= 0 && protocol !== Ipv6NextHeader.ICMPV6) {
        valid ??= checksumIsValid(message, ipv6PseudoHeaderSum(source, destination, protocol, message.length));
        if (!valid) {
          socket.checksumDrops += 1;
          this.onChecksumDrop?.();
          continue;
        }
      }
      socket.deliver({ message: message.slice(), source, hopLimit });
    }
    return taken;
  }

  /** @internal */
  release(socket: Icmpv6RawSocket): void {
    this.open.delete(socket);
  }
}
