/**
 * ICMPv6 (RFC 4443) for the IPv6 layer: answers echo requests (§4.2), hands echo replies to
 * whoever pings, passes received errors to the transport that sent the invoking packet — Packet
 * Too Big also lowers the path MTU (RFC 8201 §4) — and sends errors for IPv6 and the transports,
 * never one RFC 4443 §2.4(e) forbids (about an error or a redirect, to a multicast destination
 * but for Packet Too Big and an unrecognized option of type 10xxxxxx, from a source that names
 * no single node) and no faster than the limits ICMPv4 uses (§2.4(f); one IcmpRateLimiter for
 * both families, as Linux's icmp_global).
 *
 * Neighbor Discovery and MLD messages go, after their IP-header checks (RFC 4861 §6.1, §7.1,
 * §8.1: hop limit 255; RFC 3810 §6.2), to the interface's NeighborDiscovery and MldHost when it
 * has link-layer addresses; over a bare-IP link (TUN) there is nothing to resolve, and they are
 * counted and left alone.
 */
import type { Stats } from '../core/stats.js';
import type { Tracer } from '../core/trace.js';
import { emitIcmpv6, ICMPV6_ERROR_QUOTE_MAX, Icmpv6Packet, icmpv6Length, Icmpv6Type, parseIcmpv6, type Icmpv6Repr } from './icmpv6.js';
import type { IcmpErrorMeaning } from './icmp-errors.js';
import type { IcmpRateLimiter } from './icmp-rate-limit.js';
import { Icmpv6RawSockets } from './icmpv6-raw.js';
import { formatIpv6Address, isIpv6Multicast, isUnspecifiedAddress, type Ipv6Address } from './ipv6-address.js';
import type { Icmpv6CounterName, Icmpv6Suppression } from './ipv6-counters.js';
import type { NdpCounterName } from './ndp-counters.js';
import { isIpv6ExtensionHeader, Ipv6OptionType, parseIpv6ExtensionHeaders } from './ipv6-extension-headers.js';
import { checkMldIpHeader } from './mld.js';
import { checkNdpIpHeader } from './ndp.js';
import type { Icmpv6ErrorSender, IncomingIpv6Datagram, Ipv6Layer, Ipv6ProtocolHandler } from './ipv6-layer.js';
import { emitIpv6, IPV6_HEADER_LENGTH, Ipv6NextHeader } from './ipv6.js';
import { readIpv6Address } from './ipv6-address.js';

/** The invoking packet of an ICMPv6 error, as far as it was quoted. */
export interface Icmpv6QuotedPacket {
  /** Its source: this host, for an error about a packet we sent. */
  readonly source: Ipv6Address;
  /** Its destination. */
  readonly destination: Ipv6Address;
  /** The upper-layer protocol, after its extension headers. */
  readonly upperLayer: number;
  /** The quoted start of its upper-layer header and data. */
  readonly payload: Uint8Array;
}

/** An ICMPv6 error received about a packet this host sent. */
export interface Icmpv6ErrorReport {
  /** The message type (1 to 4). */
  readonly type: number;
  /** Its code. */
  readonly code: number;
  /** The MTU of a Packet Too Big, else 0. */
  readonly mtu: number;
  /** Who sent the error. */
  readonly reporter: Ipv6Address;
  /** The packet it is about. */
  readonly quoted: Icmpv6QuotedPacket;
  /** What it means to a socket (Linux's icmpv6_err_convert). */
  readonly meaning: IcmpErrorMeaning;
}

/** A transport that wants to hear ICMPv6 errors about its packets. */
export interface Icmpv6ErrorListener {
  /** An error arrived about a packet of this transport. */
  icmpv6Error(report: Icmpv6ErrorReport, now: number): void;
  /**
   * The path MTU toward `destination` went down for a packet of another transport: it holds for
   * this one's packets too (RFC 8201 §5.2 keeps one PMTU per destination).
   */
  pathMtuLowered?(destination: Ipv6Address, now: number): void;
}

/** An echo reply as a ping program sees it. */
export interface Icmpv6EchoReply {
  /** Who answered. */
  readonly source: Ipv6Address;
  /** The request's identifier. */
  readonly identifier: number;
  /** The request's sequence number. */
  readonly sequence: number;
  /** The data, returned unchanged (RFC 4443 §4.2). */
  readonly data: Uint8Array;
  /** The Hop Limit the reply arrived with. */
  readonly hopLimit: number;
}

/**
 * What a Destination Unreachable code means to a socket: Linux's tab_unreach in
 * net/ipv6/icmp.c (RFC 4443 §3.1 leaves it to the host; RFC 1122 §4.2.3.9's hard/soft split).
 */
const UNREACHABLE_MEANINGS: readonly IcmpErrorMeaning[] = [
  { code: 'ENETUNREACH', fatal: false }, // 0 no route to destination
  { code: 'EACCES', fatal: true }, // 1 administratively prohibited
  { code: 'EHOSTUNREACH', fatal: false }, // 2 beyond scope of source address
  { code: 'EHOSTUNREACH', fatal: false }, // 3 address unreachable
  { code: 'ECONNREFUSED', fatal: true }, // 4 port unreachable
  { code: 'EACCES', fatal: true }, // 5 source address failed policy
  { code: 'EACCES', fatal: true }, // 6 reject route
];

/** The errno and severity of an ICMPv6 error (Linux's icmpv6_err_convert). */
export function icmpv6ErrorMeaning(type: number, code: number): IcmpErrorMeaning {
  switch (type) {
    case Icmpv6Type.DESTINATION_UNREACHABLE:
      return UNREACHABLE_MEANINGS[code] ?? { code: 'EPROTO', fatal: true };
    case Icmpv6Type.PACKET_TOO_BIG:
      return { code: 'EMSGSIZE', fatal: false };
    case Icmpv6Type.PARAMETER_PROBLEM:
      return { code: 'EPROTO', fatal: true };
    case Icmpv6Type.TIME_EXCEEDED:
      return { code: 'EHOSTUNREACH', fatal: false };
    default:
      return { code: 'EPROTO', fatal: false };
  }
}

/** The ICMPv6 protocol of one stack. */
export class Icmpv6Layer implements Ipv6ProtocolHandler, Icmpv6ErrorSender {
  private readonly errorListeners = new Map<number, Icmpv6ErrorListener>();
  private readonly echoListeners = new Set<(reply: Icmpv6EchoReply, now: number) => void>();
  /** Gets a trace event per message in and out when set. */
  tracer: Tracer | null = null;
  /** Raw IPv6 sockets (RFC 3542 §3): an ICMPv6 one gets a copy of every message taken; those of other protocols theirs from the IPv6 layer. */
  readonly rawSockets: Icmpv6RawSockets;

  constructor(
    private readonly ip: Ipv6Layer,
    private readonly stats: Stats<Icmpv6CounterName | NdpCounterName>,
    /** ICMPv4's limiter: one budget for the errors of both families. */
    private readonly rateLimiter: IcmpRateLimiter,
    /** The stack's time, for sends by raw sockets. */
    now: () => number,
  ) {
    this.rawSockets = new Icmpv6RawSockets(ip, now);
    ip.attachRawSockets(this.rawSockets);
  }

  /** Routes ICMPv6 errors about `nextHeader` packets to `listener`. */
  registerErrorListener(nextHeader: number, listener: Icmpv6ErrorListener): void {
    this.errorListeners.set(nextHeader, listener);
  }

  /** Calls `listener` for every echo reply received; returns a function that stops it. */
  onEchoReply(listener: (reply: Icmpv6EchoReply, now: number) => void): () => void {
    this.echoListeners.add(listener);
    return () => this.echoListeners.delete(listener);
  }

  /** Sends an echo request (RFC 4443 §4.1); false when IPv6 could not send it. */
  sendEchoRequest(destination: Ipv6Address, identifier: number, sequence: number, data: Uint8Array, now: number, hopLimit?: number): boolean {
    this.stats.increment('icmpv6.tx.echoRequests');
    return this.send(destination, { kind: 'echoRequest', identifier, sequence, data }, now, undefined, hopLimit);
  }

  /** Handles a received ICMPv6 message. */
  inputIpv6(datagram: IncomingIpv6Datagram, now: number): void {
    const checked = Icmpv6Packet.checked(datagram.payload);
    if (!checked.ok) {
      this.stats.increment(`drop.icmpv6.${checked.error.reason}`);
      return;
    }
    const { source, destination } = datagram.header;
    const parsed = parseIcmpv6(checked.value, { source, destination });
    if (!parsed.ok) {
      this.stats.increment(`drop.icmpv6.${parsed.error.reason}`);
      return;
    }
    this.stats.increment('icmpv6.rx.messages');
    this.rawSockets.deliver(datagram.payload, source, destination, datagram.header.hopLimit);
    const message = parsed.value;
    this.trace('up', message, source, destination, now);
    switch (message.kind) {
      case 'echoRequest': {
        this.stats.increment('icmpv6.rx.echoRequests');
        // RFC 4443 §4.2: the reply's source is the request's destination when that was one of
        // our unicast addresses; a request to a multicast group is answered from an address
        // of ours (Linux answers them: echo_ignore_multicast is 0 by default).
        if (isUnspecifiedAddress(source)) return;
        this.stats.increment('icmpv6.tx.echoReplies');
        const replySource = datagram.destinationKind === 'unicast' ? destination : undefined;
        this.send(source, { kind: 'echoReply', identifier: message.identifier, sequence: message.sequence, data: message.data }, now, replySource);
        return;
      }
      case 'echoReply': {
        this.stats.increment('icmpv6.rx.echoReplies');
        // The frame is only lent (docs/architecture.md, "Link"): a ping program may keep the reply.
        const data = message.data.slice();
        for (const listener of [...this.echoListeners]) {
          listener({ source, identifier: message.identifier, sequence: message.sequence, data, hopLimit: datagram.header.hopLimit }, now);
        }
        return;
      }
      case 'destinationUnreachable':
      case 'timeExceeded':
      case 'parameterProblem':
      case 'packetTooBig': {
        this.stats.increment('icmpv6.rx.errors');
        const quoted = readQuote(message.quoted);
        if (quoted === null) {
          this.stats.increment('drop.icmpv6.errorQuoteUnreadable');
          return;
        }
        const type = message.kind === 'destinationUnreachable' ? 1 : message.kind === 'packetTooBig' ? 2 : message.kind === 'timeExceeded' ? 3 : 4;
        const mtu = message.kind === 'packetTooBig' ? message.mtu : 0;
        if (message.kind === 'packetTooBig') {
          this.stats.increment('icmpv6.rx.packetTooBig');
          // RFC 8201 §4: the path MTU toward the quoted packet's destination drops to the MTU
          // reported (never below 1280: updatePathMtu). Only for packets that were ours; and not
          // for TCP's, which TCP first finds in its window and then records itself (RFC 5927
          // §4.1, RFC 8201 §6; Linux's tcp_v6_err before tcp_v6_mtu_reduced), so that a forged
          // Packet Too Big cannot shrink a connection's path. UDP and the rest cannot check.
          if (this.ip.isLocalAddress(quoted.source) && quoted.upperLayer !== Ipv6NextHeader.TCP) {
            const before = this.ip.mtuTo(quoted.destination);
            this.ip.updatePathMtu(quoted.destination, message.mtu, now);
            // TCP's connections to that destination must then send smaller segments, or none
            // of them could leave (Linux's tcp_current_mss follows the route's MTU likewise).
            if (this.ip.mtuTo(quoted.destination) !== before) {
              for (const listener of this.errorListeners.values()) listener.pathMtuLowered?.(quoted.destination, now);
            }
          }
        }
        this.errorListeners
          .get(quoted.upperLayer)
          ?.icmpv6Error({ type, code: message.code, mtu, reporter: source, quoted, meaning: icmpv6ErrorMeaning(type, message.code) }, now);
        return;
      }
      case 'routerSolicitation':
      case 'routerAdvertisement':
      case 'neighborSolicitation':
      case 'neighborAdvertisement':
      case 'redirect': {
        this.stats.increment('icmpv6.rx.neighborDiscovery');
        const nd = this.ip.neighborDiscovery(datagram.interfaceName);
        if (!nd) return;
        const valid = checkNdpIpHeader(message, datagram.header);
        if (!valid.ok) {
          this.stats.increment(`drop.ndp.${valid.error.reason}`);
          return;
        }
        nd.input(message, datagram.header, now);
        return;
      }
      case 'mldQuery':
      case 'mldv1Report':
      case 'mldv1Done':
      case 'mldv2Report': {
        this.stats.increment('icmpv6.rx.neighborDiscovery');
        const mld = this.ip.mldHost(datagram.interfaceName);
        // A host acts on queries only; other listeners' reports matter to routers (MLDv2 has no suppression, RFC 3810 §6).
        if (!mld || message.kind !== 'mldQuery') return;
        const valid = checkMldIpHeader(message, source);
        if (!valid.ok) {
          this.stats.increment(`drop.mld.${valid.error.reason}`);
          return;
        }
        mld.query(message, datagram.header.hopLimit, hasRouterAlert(datagram.packet), now);
        return;
      }
      default:
        // RFC 4443 §2.4(a), (b): an unknown informational message is silently discarded; an
        // unknown error would go to the upper layer, but its meaning is unknown, so it stops here.
        this.stats.increment('icmpv6.rx.other');
    }
  }

  /** Port unreachable for a packet no UDP socket wanted (RFC 4443 §3.1, code 4). */
  portUnreachable(datagram: IncomingIpv6Datagram, now: number): void {
    this.sendError(datagram.packet, Icmpv6Type.DESTINATION_UNREACHABLE, 4, 0, now);
  }

  /** Parameter Problem (RFC 4443 §3.4). */
  parameterProblem(packet: Uint8Array, code: number, pointer: number, now: number): void {
    this.sendError(packet, Icmpv6Type.PARAMETER_PROBLEM, code, pointer, now);
  }

  /** Time Exceeded (RFC 4443 §3.3). */
  timeExceeded(packet: Uint8Array, code: number, now: number): void {
    this.sendError(packet, Icmpv6Type.TIME_EXCEEDED, code, 0, now);
  }

  /** Packet Too Big (RFC 4443 §3.2). */
  packetTooBig(packet: Uint8Array, mtu: number, now: number): void {
    this.sendError(packet, Icmpv6Type.PACKET_TOO_BIG, 0, mtu, now);
  }

  /** Destination Unreachable (RFC 4443 §3.1). */
  destinationUnreachable(packet: Uint8Array, code: number, now: number): void {
    this.sendError(packet, Icmpv6Type.DESTINATION_UNREACHABLE, code, 0, now);
  }

  /** Sends an error about `packet` unless RFC 4443 §2.4(e) forbids it or the limits refuse it (§2.4(f)). */
  private sendError(packet: Uint8Array, type: number, code: number, parameter: number, now: number): void {
    const reason = this.mustNotAnswer(packet, type, code);
    if (reason !== null) {
      this.stats.increment(`icmpv6.error.notSent.${reason}`);
      return;
    }
    const offender = readIpv6Address(packet, 8);
    const invokedDestination = readIpv6Address(packet, 24);
    // Linux's default icmpv6 ratemask (0-1,3-127) leaves Packet Too Big unlimited: throttling
    // it would black-hole path MTU discovery. Errors to ourselves skip the destination's bucket.
    if (type !== Icmpv6Type.PACKET_TOO_BIG) {
      const limited = this.rateLimiter.take(formatIpv6Address(offender), now, !this.ip.isLocalAddress(offender));
      if (limited !== null) {
        this.stats.increment('icmpv6.error.notSent.rateLimited');
        return;
      }
    }
    // §2.4(c): as much of the invoking packet as fits in the minimum MTU.
    const quoted = packet.slice(0, Math.min(packet.length, ICMPV6_ERROR_QUOTE_MAX));
    const repr: Icmpv6Repr =
      type === Icmpv6Type.PACKET_TOO_BIG
        ? { kind: 'packetTooBig', code, mtu: parameter, quoted }
        : type === Icmpv6Type.PARAMETER_PROBLEM
          ? { kind: 'parameterProblem', code, pointer: parameter, quoted }
          : type === Icmpv6Type.TIME_EXCEEDED
            ? { kind: 'timeExceeded', code, quoted }
            : { kind: 'destinationUnreachable', code, quoted };
    this.stats.increment('icmpv6.tx.errors');
    // §2.2: the source is the invoking packet's destination when that was one of our unicast
    // addresses, else an address of the interface the error leaves by.
    this.send(offender, repr, now, this.ip.isLocalAddress(invokedDestination) ? invokedDestination : undefined);
  }

  /** Why RFC 4443 §2.4(e) forbids an error about `packet`, or null when it may be sent. */
  private mustNotAnswer(packet: Uint8Array, type: number, code: number): Icmpv6Suppression | null {
    if (packet.length < IPV6_HEADER_LENGTH) return 'fromNonUnicast';
    const source = packet.subarray(8, 24);
    // (e.6): a source that does not name one node (unspecified, multicast).
    if (isUnspecifiedAddress(source) || isIpv6Multicast(source)) return 'fromNonUnicast';
    // (e.3): to a multicast destination only Packet Too Big and Parameter Problem code 2 (an
    // option whose high bits are 10, which the IPv6 layer already told apart from 11).
    if (isIpv6Multicast(packet.subarray(24, 40)) && type !== Icmpv6Type.PACKET_TOO_BIG && !(type === Icmpv6Type.PARAMETER_PROBLEM && code === 2))
      return 'toMulticast';
    // (e.1), (e.2): never about an ICMPv6 error or a Redirect, found after the extension headers.
    const upper = upperLayerOf(packet);
    if (upper !== null && upper.protocol === Ipv6NextHeader.ICMPV6) {
      const icmpType = upper.payload[0];
      if (icmpType === undefined || icmpType < 128 || icmpType === Icmpv6Type.REDIRECT) return 'aboutIcmpError';
    }
    return null;
  }

  /** Sends one message to `destination`; false when IPv6 refused it. */
  private send(destination: Ipv6Address, repr: Icmpv6Repr, now: number, source?: Ipv6Address, hopLimit?: number): boolean {
    const length = icmpv6Length(repr);
    const sent = this.ip.send(
      { source, destination, nextHeader: Ipv6NextHeader.ICMPV6, hopLimit },
      length,
      (out, chosenSource) => {
        emitIcmpv6(repr, out, chosenSource, destination);
        this.trace('down', repr, chosenSource, destination, now);
      },
      now,
    );
    return sent.ok;
  }

  private trace(direction: 'up' | 'down', message: Icmpv6Repr, source: Ipv6Address, destination: Ipv6Address, now: number): void {
    if (!this.tracer) return;
    this.tracer({
      direction,
      layer: 'icmpv6',
      time: now,
      where: `${formatIpv6Address(source)} → ${formatIpv6Address(destination)}`,
      summary: `ICMPv6 ${message.kind}`,
      fields: [['kind', message.kind]],
      header: new Uint8Array(0),
      payloadLength: icmpv6Length(message),
    });
  }
}

/**
 * The upper-layer protocol of a (possibly quoted, truncated) IPv6 packet and its first bytes, or
 * null when its headers do not all fit. Only the chain's structure is read (as Linux's
 * ipv6_skip_exthdr), not its options: a packet refused for an option must still be seen to
 * carry an ICMPv6 error, about which no error is sent.
 */
function upperLayerOf(packet: Uint8Array): { readonly protocol: number; readonly payload: Uint8Array } | null {
  if (packet.length < IPV6_HEADER_LENGTH || packet[0] >> 4 !== 6) return null;
  let protocol = packet[6];
  let offset = IPV6_HEADER_LENGTH;
  while (isIpv6ExtensionHeader(protocol)) {
    if (packet.length < offset + 8) return null;
    const next = packet[offset];
    if (protocol === Ipv6NextHeader.FRAGMENT) {
      // A non-first fragment holds no upper-layer header to look at.
      if ((((packet[offset + 2] << 8) | packet[offset + 3]) & 0xfff8) !== 0) return null;
      offset += 8;
    } else {
      offset += (packet[offset + 1] + 1) * 8;
    }
    protocol = next;
  }
  if (offset > packet.length) return null;
  return { protocol, payload: packet.subarray(offset) };
}

/** Whether a packet's Hop-by-Hop header (first, RFC 8200 §4.1) carries a Router Alert (RFC 2711), as MLD's must (RFC 3810 §5). */
function hasRouterAlert(packet: Uint8Array): boolean {
  if (packet.length < IPV6_HEADER_LENGTH || packet[6] !== Ipv6NextHeader.HOP_BY_HOP) return false;
  const chain = parseIpv6ExtensionHeaders(packet.subarray(IPV6_HEADER_LENGTH), Ipv6NextHeader.HOP_BY_HOP);
  if (!chain.ok) return false;
  const first = chain.value.entries[0]?.header;
  return first?.kind === 'hopByHop' && first.options.some((option) => option.type === Ipv6OptionType.ROUTER_ALERT);
}

/** The invoking packet's addresses, protocol and upper-layer start, from an error's quote; null when unreadable. */
function readQuote(quote: Uint8Array): Icmpv6QuotedPacket | null {
  const upper = upperLayerOf(quote);
  if (upper === null) return null;
  return { source: readIpv6Address(quote, 8), destination: readIpv6Address(quote, 24), upperLayer: upper.protocol, payload: upper.payload };
}

/** Writes an IPv6 header and `repr` into a new packet: for tests that hand-craft ICMPv6. */
export function buildIcmpv6Packet(source: Ipv6Address, destination: Ipv6Address, repr: Icmpv6Repr, hopLimit = 64): Uint8Array {
  const length = icmpv6Length(repr);
  const packet = new Uint8Array(IPV6_HEADER_LENGTH + length);
  emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0, payloadLength: length, nextHeader: Ipv6NextHeader.ICMPV6, hopLimit, source, destination }, packet);
  emitIcmpv6(repr, packet.subarray(IPV6_HEADER_LENGTH), source, destination);
  return packet;
}
