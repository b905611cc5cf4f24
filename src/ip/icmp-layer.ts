/**
 * ICMPv4 (RFC 792, RFC 1122 §3.2.2): answers echo requests, hands echo replies to whoever
 * pings, passes received errors to the transport that sent the offending datagram, and sends
 * errors on behalf of IP and the transports — never about an ICMP error, a broadcast or
 * multicast, a non-first fragment, or a packet from a martian source (RFC 1122 §3.2.2), and
 * no faster than a bucket per destination and a global one allow (RFC 1812 §4.3.2.8;
 * icmp-rate-limit.ts).
 */
import type { ErrnoCode } from '../core/errno.js';
import type { Result } from '../core/result.js';
import type { Stats } from '../core/stats.js';
import type { IcmpCounterName } from './ip-counters.js';
import type { TraceEvent, Tracer } from '../core/trace.js';
import { formatIpv4Address, IPV4_BROADCAST, isMulticast, readIpv4Address, cidrBroadcast, type Ipv4Address } from './address.js';
import {
  DestinationUnreachableCode,
  emitIcmpv4,
  Icmpv4Packet,
  icmpv4Length,
  Icmpv4Type,
  parseIcmpv4,
  parseQuotedDatagram,
  type Icmpv4Repr,
  type QuotedDatagram,
} from './icmpv4.js';
import type { IcmpErrorSender, IncomingDatagram, IpLayer, ProtocolHandler } from './ip-layer.js';
import { IcmpRateLimiter, type IcmpRateLimitConfig } from './icmp-rate-limit.js';
import { IpProtocol } from './ipv4.js';
import { echoReplyOptions, type Ipv4Option } from './ipv4-options.js';

/** The ICMP errors this host sends and passes to the transports. */
export type IcmpErrorKind = 'destinationUnreachable' | 'timeExceeded' | 'parameterProblem';

/** Why RFC 1122 §3.2.2 forbids an ICMP error about a datagram (see IcmpLayer's mustNotAnswer). */
export type IcmpSuppression = 'aboutIcmpError' | 'notFirstFragment' | 'toBroadcast' | 'martianSource';

/** An ICMP error received about a datagram this host sent. */
export interface IcmpErrorReport {
  readonly kind: IcmpErrorKind;
  readonly code: number;
  /** Next-hop MTU of a fragmentation-needed message (RFC 1191), else 0. */
  readonly nextHopMtu: number;
  /** Who sent the error. */
  readonly reporter: Ipv4Address;
  /** The datagram the error is about. */
  readonly quoted: QuotedDatagram;
}

/** A transport that wants to hear ICMP errors about its datagrams. */
export interface IcmpErrorListener {
  icmpError(report: IcmpErrorReport, now: number): void;
}

/** An echo reply as a ping program sees it. */
export interface EchoReply {
  readonly source: Ipv4Address;
  readonly identifier: number;
  readonly sequence: number;
  readonly data: Uint8Array;
  readonly ttl: number;
}

/** ICMP settings: the error rate limits (see IcmpRateLimitConfig) and the echo policy. */
export interface IcmpConfig extends IcmpRateLimitConfig {
  /** Answer echo requests sent to a broadcast address (Linux default: no). */
  readonly echoReplyToBroadcast: boolean;
}

/**
 * Defaults for IcmpConfig, Linux's: icmp_msgs_per_sec 1000, icmp_msgs_burst 50, icmp_ratelimit
 * 1000 ms with a burst of 6 per destination; 4096 destinations remembered.
 */
export const DEFAULT_ICMP_CONFIG: IcmpConfig = {
  errorRatePerSecond: 1000,
  errorBurst: 50,
  errorIntervalPerDestinationMs: 1000,
  errorBurstPerDestination: 6,
  errorDestinationsMax: 4096,
  echoReplyToBroadcast: false,
};

/** Largest ICMP error datagram (RFC 1812 §4.3.2.3: quote as much as fits in 576 bytes). */
const MAX_ERROR_DATAGRAM = 576;

/** The ICMP protocol of one stack. */
export class IcmpLayer implements ProtocolHandler, IcmpErrorSender {
  private readonly errorListeners = new Map<number, IcmpErrorListener>();
  private readonly echoListeners = new Set<(reply: EchoReply, now: number) => void>();
  /** The error rate limits, shared with ICMPv6 (Linux's icmp_global counts both families). */
  readonly rateLimiter: IcmpRateLimiter;
  /** Gets a trace event per message in and out when set (core/trace.ts). */
  tracer: Tracer | null = null;

  constructor(
    private readonly ip: IpLayer,
    private readonly stats: Stats<IcmpCounterName>,
    private config: IcmpConfig = DEFAULT_ICMP_CONFIG,
  ) {
    this.rateLimiter = new IcmpRateLimiter(config);
  }

  /** Changes settings while running (the drill's sysctls): the one way in after construction. */
  configure(changes: Partial<IcmpConfig>): void {
    this.config = { ...this.config, ...changes };
    this.rateLimiter.config = this.config;
  }

  /** How many destinations the error rate limiter remembers now (bounded by errorDestinationsMax). */
  get rateLimitedDestinations(): number {
    return this.rateLimiter.destinationCount;
  }

  /** Routes ICMP errors about `protocol` datagrams to `listener`. */
  registerErrorListener(protocol: number, listener: IcmpErrorListener): void {
    this.errorListeners.set(protocol, listener);
  }

  /** Calls `listener` for every echo reply received; returns a function that stops it. */
  onEchoReply(listener: (reply: EchoReply, now: number) => void): () => void {
    this.echoListeners.add(listener);
    return () => this.echoListeners.delete(listener);
  }

  /** Sends an echo request (a ping). */
  sendEchoRequest(
    destination: Ipv4Address,
    identifier: number,
    sequence: number,
    data: Uint8Array,
    now: number,
    ttl?: number,
  ): Result<
    {
      /** The source address the request was sent from. */
      readonly source: Ipv4Address;
    },
    ErrnoCode
  > {
    this.stats.increment('icmp.tx.echoRequest');
    return this.sendMessage(destination, { kind: 'echoRequest', identifier, sequence, data }, now, ttl);
  }

  /** Handles a received ICMP message. */
  input(datagram: IncomingDatagram, now: number): void {
    const checked = Icmpv4Packet.checked(datagram.payload);
    if (!checked.ok) {
      this.stats.increment(`drop.icmp.${checked.error.reason}`);
      return;
    }
    const parsed = parseIcmpv4(checked.value);
    if (!parsed.ok) {
      this.stats.increment(`drop.icmp.${parsed.error.reason}`);
      return;
    }
    const message = parsed.value;
    if (this.tracer) this.tracer(icmpTraceEvent('up', message, checked.value, now));
    const source = datagram.header.source;
    switch (message.kind) {
      case 'echoRequest':
        this.answerEcho(datagram, { kind: 'echoReply', identifier: message.identifier, sequence: message.sequence, data: message.data }, now);
        return;
      case 'echoReply': {
        this.stats.increment('icmp.rx.echoReply');
        // The frame is only lent (docs/architecture.md, "Link"): a ping program may keep the reply.
        const data = message.data.slice();
        for (const listener of [...this.echoListeners]) {
          listener({ source, identifier: message.identifier, sequence: message.sequence, data, ttl: datagram.header.ttl }, now);
        }
        return;
      }
      case 'destinationUnreachable':
      case 'timeExceeded':
      case 'parameterProblem': {
        this.stats.increment(`icmp.rx.${message.kind}`);
        const quoted = parseQuotedDatagram(message.quoted);
        if (!quoted.ok) {
          this.stats.increment('drop.icmp.badQuote');
          return;
        }
        const listener = this.errorListeners.get(quoted.value.protocol);
        if (!listener) {
          this.stats.increment('icmp.rx.errorUnclaimed');
          return;
        }
        listener.icmpError(
          {
            kind: message.kind,
            code: message.code,
            nextHopMtu: message.kind === 'destinationUnreachable' ? message.nextHopMtu : 0,
            reporter: source,
            quoted: quoted.value,
          },
          now,
        );
        return;
      }
      default:
        // An echo request with a code other than 0 (RFC 792 says 0) is still an echo request,
        // which RFC 1122 §3.2.2.6 says every host MUST answer. Linux answers it, its reply
        // carrying the request's code (it copies the header and changes only the type).
        if (message.kind === 'other' && message.type === Icmpv4Type.ECHO_REQUEST) {
          this.answerEcho(datagram, { ...message, type: Icmpv4Type.ECHO_REPLY }, now);
          return;
        }
        this.stats.increment('icmp.rx.other');
    }
  }

  /** Sends `reply` to the sender of an echo request (RFC 1122 §3.2.2.6). */
  private answerEcho(datagram: IncomingDatagram, reply: Icmpv4Repr, now: number): void {
    this.stats.increment('icmp.rx.echoRequest');
    if (datagram.destinationKind !== 'unicast' && !this.config.echoReplyToBroadcast) {
      this.stats.increment('drop.icmp.broadcastEcho');
      return;
    }
    // RFC 1122 §3.2.2.6: the reply carries the request's identifier, sequence and data, and
    // comes from the address the request was sent to — unless that was a broadcast or
    // multicast address, which must never be a source (§3.2.1.3): then from our own.
    this.stats.increment('icmp.tx.echoReply');
    const source = datagram.header.source;
    const replySource = datagram.destinationKind === 'unicast' ? datagram.header.destination : undefined;
    // §3.2.2.6 also: Record Route and Timestamp options come back, with this host added.
    const options =
      datagram.header.options.length > 0 ? echoReplyOptions(datagram.header.options, replySource ?? this.ip.sourceFor(source) ?? 0, now) : undefined;
    this.sendMessage(source, reply, now, undefined, replySource, options);
  }

  /** Port unreachable for a datagram no socket wanted (RFC 1122 §4.1.3.1). */
  portUnreachable(datagram: IncomingDatagram, now: number): void {
    if (datagram.destinationKind !== 'unicast') return;
    this.sendError(datagram.packet, Icmpv4Type.DESTINATION_UNREACHABLE, DestinationUnreachableCode.PORT_UNREACHABLE, 0, now);
  }

  /** Protocol unreachable: no handler for the IP protocol number. */
  protocolUnreachable(packet: Uint8Array, now: number): void {
    this.sendError(packet, Icmpv4Type.DESTINATION_UNREACHABLE, DestinationUnreachableCode.PROTOCOL_UNREACHABLE, 0, now);
  }

  /** Network unreachable: a router has no route to the destination (RFC 1812 §5.2.7.1). */
  netUnreachable(packet: Uint8Array, now: number): void {
    this.sendError(packet, Icmpv4Type.DESTINATION_UNREACHABLE, DestinationUnreachableCode.NET_UNREACHABLE, 0, now);
  }

  /** Fragmentation needed and DF set, with the next-hop MTU (RFC 1191 §4). */
  fragmentationNeeded(packet: Uint8Array, nextHopMtu: number, now: number): void {
    this.sendError(packet, Icmpv4Type.DESTINATION_UNREACHABLE, DestinationUnreachableCode.FRAGMENTATION_NEEDED, nextHopMtu, now);
  }

  /** Time exceeded: TTL ran out in transit (code 0) or reassembly timed out (code 1). */
  timeExceeded(packet: Uint8Array, code: number, now: number): void {
    this.sendError(packet, Icmpv4Type.TIME_EXCEEDED, code, 0, now);
  }

  /**
   * Parameter problem, code 0: the octet `pointer` of the IP header is wrong (RFC 792; RFC 1122
   * §3.2.2.5 — a host SHOULD send it). Rate-limited like every error of Linux's icmp_ratemask.
   */
  parameterProblem(packet: Uint8Array, pointer: number, now: number): void {
    this.sendError(packet, Icmpv4Type.PARAMETER_PROBLEM, 0, pointer, now);
  }

  /**
   * Builds and sends an error about `packet` unless RFC 1122 §3.2.2 forbids it. `parameter` is
   * the next-hop MTU of a fragmentation-needed, the pointer of a parameter problem, else 0.
   */
  private sendError(packet: Uint8Array, type: number, code: number, parameter: number, now: number): void {
    const reason = this.mustNotAnswer(packet);
    if (reason) {
      this.stats.increment(`icmp.tx.suppressed.${reason}`);
      return;
    }
    // Linux never rate-limits fragmentation-needed: throttling it would black-hole PMTUD.
    // Every other error we send is of a type in Linux's default icmp_ratemask (destination
    // unreachable, time exceeded, parameter problem); echo replies are not limited.
    const pathMtuMessage = type === Icmpv4Type.DESTINATION_UNREACHABLE && code === DestinationUnreachableCode.FRAGMENTATION_NEEDED;
    if (!pathMtuMessage) {
      // Errors to ourselves (over loopback) skip the destination's bucket, as on Linux.
      const errorDestination = readIpv4Address(packet, 12);
      const limited = this.rateLimiter.take(errorDestination, now, !this.ip.isLocalAddress(errorDestination));
      if (limited) {
        this.stats.increment('icmp.tx.rateLimited');
        this.stats.increment(`icmp.tx.rateLimited.${limited}`);
        return;
      }
    }
    const headerLength = (packet[0] & 0x0f) * 4;
    const quoteLength = Math.min(packet.length, MAX_ERROR_DATAGRAM - 20 - 8);
    const quoted = packet.slice(0, Math.max(quoteLength, headerLength));
    const repr: Extract<Icmpv4Repr, { readonly kind: IcmpErrorKind }> =
      type === Icmpv4Type.TIME_EXCEEDED
        ? { kind: 'timeExceeded', code, quoted }
        : type === Icmpv4Type.PARAMETER_PROBLEM
          ? { kind: 'parameterProblem', code, pointer: parameter, quoted }
          : { kind: 'destinationUnreachable', code, nextHopMtu: parameter, quoted };
    const source = readIpv4Address(packet, 12);
    this.stats.increment(`icmp.tx.${repr.kind}`);
    const destination = readIpv4Address(packet, 16);
    this.sendMessage(source, repr, now, undefined, this.ip.isLocalAddress(destination) ? destination : undefined);
  }

  /** Why an error about `packet` must not be sent, or null if it may (RFC 1122 §3.2.2). */
  private mustNotAnswer(packet: Uint8Array): IcmpSuppression | null {
    const headerLength = (packet[0] & 0x0f) * 4;
    const protocol = packet[9];
    if (protocol === IpProtocol.ICMP && packet.length > headerLength) {
      const type = packet[headerLength];
      const isQuery = type === Icmpv4Type.ECHO_REQUEST || type === Icmpv4Type.ECHO_REPLY || type === 13 || type === 14;
      if (!isQuery) return 'aboutIcmpError';
    }
    if (((packet[6] << 8) | packet[7]) & 0x1fff) return 'notFirstFragment';
    const destination = readIpv4Address(packet, 16);
    if (destination === IPV4_BROADCAST || isMulticast(destination)) return 'toBroadcast';
    for (const iface of this.ip.listInterfaces()) {
      if (!iface.loopback && iface.address.prefixLength < 31 && destination === cidrBroadcast(iface.address)) return 'toBroadcast';
    }
    const source = readIpv4Address(packet, 12);
    if (source === 0 || source === IPV4_BROADCAST || isMulticast(source)) return 'martianSource';
    return null;
  }

  private sendMessage(
    destination: Ipv4Address,
    repr: Icmpv4Repr,
    now: number,
    ttl?: number,
    source?: Ipv4Address,
    options?: readonly Ipv4Option[],
  ): Result<
    {
      /** The source address the message was sent from. */
      readonly source: Ipv4Address;
    },
    ErrnoCode
  > {
    const length = icmpv4Length(repr);
    const result = this.ip.send(
      { destination, protocol: IpProtocol.ICMP, ttl, source, options },
      length,
      (out) => {
        const written = emitIcmpv4(repr, out);
        if (this.tracer) this.tracer(icmpTraceEvent('down', repr, Icmpv4Packet.unchecked(out.subarray(0, written)), now));
        return written;
      },
      now,
    );
    if (!result.ok) this.stats.increment(`icmp.tx.failed.${result.error}`);
    return result;
  }

  /** A one-line description of an echo reply, ping-style. */
  static describeReply(reply: EchoReply): string {
    return `${reply.data.length + 8} bytes from ${formatIpv4Address(reply.source)}: icmp_seq=${reply.sequence} ttl=${reply.ttl}`;
  }
}

/** A trace event for one ICMP message (see core/trace.ts). */
function icmpTraceEvent(direction: 'up' | 'down', repr: Icmpv4Repr, packet: Icmpv4Packet, now: number): TraceEvent {
  const checksum = `0x${packet.checksum.toString(16).padStart(4, '0')}`;
  const name = repr.kind === 'other' ? `type ${repr.type}` : repr.kind.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`);
  const detail =
    repr.kind === 'echoRequest' || repr.kind === 'echoReply' ? ` id=${repr.identifier} seq=${repr.sequence}` : 'code' in repr ? ` code=${repr.code}` : '';
  const dataLength = packet.bytes.length - 8;
  return {
    direction,
    layer: 'icmp',
    time: now,
    where: name,
    summary: `ICMP ${name}${detail}: ${direction === 'down' ? `added 8-byte header, checksum ${checksum}` : 'removed 8-byte header, checksum verified'}, ${dataLength} bytes of data`,
    fields: [
      ['type', String(packet.type)],
      ['code', String(packet.code)],
      ['checksum', checksum],
      ['rest of header', `0x${packet.restOfHeader.toString(16).padStart(8, '0')}`],
    ],
    header: packet.bytes.subarray(0, 8),
    payloadLength: dataLength,
  };
}
