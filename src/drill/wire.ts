/**
 * Between script packets and bytes: builds the IPv4 or IPv6 frames a script injects (`<` lines,
 * in the flow's wire family: src/drill/ip-version.ts) and decodes what ustack transmits, mapping
 * sequence numbers and timestamps the way packetdrill does. Inbound sequence numbers go out as written (plus the script's ISN, 0 unless
 * `--remote_isn`); ustack's own sequence numbers are shown and compared relative to its ISN,
 * learned from its SYN or SYN-ACK; its TS val relative to the first one it sent.
 */
import type { Ipv4Address } from '../ip/address.js';
import { emitIpv4, IpProtocol, Ipv4Packet, parseIpv4, type Ipv4Repr } from '../ip/ipv4.js';
import { emitIcmpv4, DestinationUnreachableCode, Icmpv4Packet, icmpv4Length, parseIcmpv4, TimeExceededCode, type Icmpv4Repr } from '../ip/icmpv4.js';
import { emitIcmpv6, Icmpv6Packet, icmpv6Length, Icmpv6Type, parseIcmpv6, type Icmpv6Repr } from '../ip/icmpv6.js';
import { emitIpv6, IPV6_HEADER_LENGTH, Ipv6NextHeader, Ipv6Packet, parseIpv6 } from '../ip/ipv6.js';
import type { Ipv6Address } from '../ip/ipv6-address.js';
import { emitTcp, parseTcp, TcpFlag, TcpPacket, tcpLength, type TcpRepr } from '../tcp/tcp-packet.js';
import type { TcpOption } from '../tcp/tcp-options.js';
import { emitUdp, parseUdp, UdpPacket, udpLength, type UdpRepr } from '../udp/udp-packet.js';
import type { EcnSpec, IcmpPacketSpec, OptionSpec, TcpPacketSpec, UdpPacketSpec } from './script.js';

/** An address as a packet on the wire carries it: IPv4's number or IPv6's 16 bytes. */
export type WireAddress = Ipv4Address | Ipv6Address;

/** What the runner knows about the one flow a script talks about. */
export interface Flow {
  /** The family of the packets on the wire: 6 only in `--ip_version=ipv6`. */
  readonly family: 4 | 6;
  /** ustack's address on the wire. */
  readonly localAddress: WireAddress;
  /** The script's peer's address on the wire. */
  readonly remoteAddress: WireAddress;
  localPort: number;
  remotePort: number;
  /** ustack's ISN, once it sent a SYN or SYN-ACK; before that sequence numbers are absolute. */
  localIsn: number | null;
  /** The script's ISN: added to inbound sequence numbers (`--remote_isn`, default 0). */
  remoteIsn: number;
  /** ustack's first TS val minus the script's value for it; null until ustack sent one. */
  tsOffset: number | null;
  /** IP identification of the next injected packet. */
  nextIpId: number;
}

/** TCP flag letters of packetdrill. */
const FLAG_LETTERS: readonly (readonly [string, number])[] = [
  ['S', TcpFlag.SYN],
  ['F', TcpFlag.FIN],
  ['R', TcpFlag.RST],
  ['P', TcpFlag.PSH],
  ['.', TcpFlag.ACK],
  ['U', TcpFlag.URG],
  ['E', TcpFlag.ECE],
  ['W', TcpFlag.CWR],
];

/** The flag bits a flags string means (`S.` → SYN|ACK). */
export function flagsFromLetters(letters: string): number {
  let flags = 0;
  for (const letter of letters) {
    if (letter === '-') continue;
    const entry = FLAG_LETTERS.find(([l]) => l === letter);
    if (!entry) throw new Error(`unknown TCP flag '${letter}'`);
    flags |= entry[1];
  }
  return flags;
}

/** The packetdrill letters of `flags`, in the order packetdrill prints them. */
export function lettersFromFlags(flags: number): string {
  const order = ['S', 'F', 'R', 'P', 'U', 'E', 'W', '.'];
  const letters = order.filter((letter) => (flags & FLAG_LETTERS.find(([l]) => l === letter)![1]) !== 0).join('');
  return letters === '' ? '-' : letters;
}

const ECN_CODEPOINT: Readonly<Record<EcnSpec, number>> = { noecn: 0, ect1: 1, ect0: 2, ce: 3, ect01: 2 };

/** The name of an IP ECN codepoint. */
export function ecnName(codepoint: number): EcnSpec {
  return (['noecn', 'ect1', 'ect0', 'ce'] as const)[codepoint & 3];
}

/** The bits of an IP ECN field an `[ect0]`-style spec stands for; `ect01` accepts either ECT. */
export function ecnMatches(spec: EcnSpec, codepoint: number): boolean {
  return spec === 'ect01' ? codepoint === 1 || codepoint === 2 : ECN_CODEPOINT[spec] === codepoint;
}

function add(a: number, b: number): number {
  return (a + b) >>> 0;
}

/**
 * Wraps a transport payload in an IP header of the flow's family from the script's peer to
 * ustack. Over IPv6 the TOS octet is the Traffic Class, the TTL the Hop Limit (as packetdrill's
 * set_ip_header writes them), the Flow Label 0.
 */
function ipFrame(
  flow: Flow,
  protocol: number,
  transportLength: number,
  ip: { ecn?: EcnSpec; tos?: number; ttl?: number },
  write: (out: Uint8Array) => void,
): Uint8Array {
  const tos = ip.tos ?? (ip.ecn === undefined ? 0 : ECN_CODEPOINT[ip.ecn]);
  if (flow.family === 6) {
    const frame = new Uint8Array(IPV6_HEADER_LENGTH + transportLength);
    emitIpv6(
      {
        dscp: tos >> 2,
        ecn: tos & 3,
        flowLabel: 0,
        payloadLength: transportLength,
        nextHeader: protocol,
        hopLimit: ip.ttl ?? 64,
        source: flow.remoteAddress as Ipv6Address,
        destination: flow.localAddress as Ipv6Address,
      },
      frame,
    );
    write(frame.subarray(IPV6_HEADER_LENGTH));
    return frame;
  }
  const repr: Ipv4Repr = {
    dscp: tos >> 2,
    ecn: tos & 3,
    identification: flow.nextIpId++ & 0xffff,
    reservedFlag: false,
    dontFragment: protocol === IpProtocol.TCP,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: ip.ttl ?? 64,
    protocol,
    source: flow.remoteAddress as Ipv4Address,
    destination: flow.localAddress as Ipv4Address,
    options: [],
    payloadLength: transportLength,
  };
  const frame = new Uint8Array(20 + transportLength);
  emitIpv4(repr, frame);
  write(frame.subarray(20));
  return frame;
}

/** The TCP options of an inbound line; values are required there. */
function inboundOptions(specs: readonly OptionSpec[], flow: Flow, line: number): TcpOption[] {
  const need = (value: number | undefined, what: string): number => {
    if (value === undefined) throw new Error(`line ${line}: an injected packet's ${what} needs a value`);
    return value;
  };
  return specs.map((spec): TcpOption => {
    switch (spec.kind) {
      case 'nop':
        return { kind: 'noOperation' };
      case 'eol':
        return { kind: 'endOfList', padding: new Uint8Array(0) };
      case 'mss':
        return { kind: 'maxSegmentSize', mss: need(spec.value, 'mss') };
      case 'wscale':
        return { kind: 'windowScale', shiftCount: need(spec.value, 'wscale') };
      case 'sackOK':
        return { kind: 'sackPermitted' };
      case 'sack': {
        const base = flow.localIsn ?? 0;
        const blocks = (spec.blocks ?? []).map(([left, right]) => ({ leftEdge: add(base, left), rightEdge: add(base, right) }));
        if (blocks.length === 0) throw new Error(`line ${line}: an injected SACK option needs blocks`);
        return { kind: 'sack', blocks };
      }
      case 'TS': {
        // The echo is of a value ustack sent: map the script's number to ustack's clock.
        const ecr = need(spec.ecr, 'TS ecr');
        return { kind: 'timestamps', tsVal: need(spec.val, 'TS val') >>> 0, tsEcr: flow.tsOffset === null ? ecr >>> 0 : add(ecr, flow.tsOffset) };
      }
    }
  });
}

/** The segment an inbound TCP line describes, in absolute sequence numbers. */
export function inboundTcpRepr(spec: TcpPacketSpec, flow: Flow, line: number): TcpRepr {
  if (spec.options === 'any') throw new Error(`line ${line}: an injected packet cannot have <...> options`);
  if (spec.anySequence) throw new Error(`line ${line}: an injected packet needs its sequence numbers (not ...)`);
  return {
    srcPort: flow.remotePort,
    dstPort: flow.localPort,
    seq: add(flow.remoteIsn, spec.seqStart),
    ack: spec.ack === undefined ? 0 : add(flow.localIsn ?? 0, spec.ack),
    flags: flagsFromLetters(spec.flags),
    window: spec.window ?? 65535,
    urgentPointer: spec.urgent ?? 0,
    options: inboundOptions(spec.options ?? [], flow, line),
    payload: new Uint8Array(spec.length),
  };
}

/** An IP frame carrying an inbound TCP line. */
export function buildTcpFrame(spec: TcpPacketSpec, flow: Flow, line: number): Uint8Array {
  const repr = inboundTcpRepr(spec, flow, line);
  return ipFrame(flow, IpProtocol.TCP, tcpLength(repr), spec, (out) => {
    emitTcp(repr, out, { source: flow.remoteAddress, destination: flow.localAddress });
  });
}

/** An IP frame carrying an inbound UDP line (zero bytes of payload data). */
export function buildUdpFrame(spec: UdpPacketSpec, flow: Flow): Uint8Array {
  const repr: UdpRepr = { sourcePort: flow.remotePort, destinationPort: flow.localPort, payload: new Uint8Array(spec.length) };
  return ipFrame(flow, IpProtocol.UDP, udpLength(repr), spec, (out) => {
    emitUdp(repr, out, { source: flow.remoteAddress, destination: flow.localAddress });
  });
}

/** ICMP unreachable code names of packetdrill. */
export const UNREACHABLE_CODES: Readonly<Record<string, number>> = {
  net_unreachable: DestinationUnreachableCode.NET_UNREACHABLE,
  host_unreachable: DestinationUnreachableCode.HOST_UNREACHABLE,
  protocol_unreachable: DestinationUnreachableCode.PROTOCOL_UNREACHABLE,
  port_unreachable: DestinationUnreachableCode.PORT_UNREACHABLE,
  frag_needed: DestinationUnreachableCode.FRAGMENTATION_NEEDED,
  source_route_failed: DestinationUnreachableCode.SOURCE_ROUTE_FAILED,
  net_unknown: DestinationUnreachableCode.DESTINATION_NETWORK_UNKNOWN,
  host_unknown: DestinationUnreachableCode.DESTINATION_HOST_UNKNOWN,
  source_host_isolated: DestinationUnreachableCode.SOURCE_HOST_ISOLATED,
  net_prohibited: DestinationUnreachableCode.NETWORK_ADMINISTRATIVELY_PROHIBITED,
  host_prohibited: DestinationUnreachableCode.HOST_ADMINISTRATIVELY_PROHIBITED,
  net_unreachable_for_tos: DestinationUnreachableCode.NETWORK_UNREACHABLE_FOR_TOS,
  host_unreachable_for_tos: DestinationUnreachableCode.HOST_UNREACHABLE_FOR_TOS,
  packet_filtered: DestinationUnreachableCode.COMMUNICATION_ADMINISTRATIVELY_PROHIBITED,
  precedence_violation: DestinationUnreachableCode.HOST_PRECEDENCE_VIOLATION,
  precedence_cutoff: DestinationUnreachableCode.PRECEDENCE_CUTOFF_IN_EFFECT,
};

/** ICMP type names of packetdrill and their numbers. */
export const ICMP_TYPES: Readonly<Record<string, number>> = {
  echo_reply: 0,
  unreachable: 3,
  source_quench: 4,
  redirect: 5,
  echo_request: 8,
  time_exceeded: 11,
  parameter_problem: 12,
};

/** Name of a code of `type`, for messages. */
export function icmpCodeName(type: number, code: number): string {
  if (type === 3) return Object.entries(UNREACHABLE_CODES).find(([, c]) => c === code)?.[0] ?? String(code);
  if (type === 11) return code === TimeExceededCode.TTL_EXCEEDED_IN_TRANSIT ? 'ttl_exceeded' : code === 1 ? 'reassembly_time_exceeded' : String(code);
  return String(code);
}

/** Name of an ICMP type, for messages. */
export function icmpTypeName(type: number): string {
  return Object.entries(ICMP_TYPES).find(([, t]) => t === type)?.[0] ?? `type ${type}`;
}

/** ICMPv6 type names of packetdrill (its icmpv6_types) and their numbers (RFC 4443). */
export const ICMPV6_TYPES: Readonly<Record<string, number>> = {
  unreachable: Icmpv6Type.DESTINATION_UNREACHABLE,
  packet_too_big: Icmpv6Type.PACKET_TOO_BIG,
  time_exceeded: Icmpv6Type.TIME_EXCEEDED,
  parameter_problem: Icmpv6Type.PARAMETER_PROBLEM,
  echo_request: Icmpv6Type.ECHO_REQUEST,
  echo_reply: Icmpv6Type.ECHO_REPLY,
};

/** ICMPv6 code names of packetdrill, per type (RFC 4443 §3.1, §3.3, §3.4). */
export const ICMPV6_CODES: Readonly<Record<number, Readonly<Record<string, number>>>> = {
  [Icmpv6Type.DESTINATION_UNREACHABLE]: {
    net_unreachable: 0,
    no_route: 0,
    admin_prohibited: 1,
    not_neighbour: 2,
    address_unreachable: 3,
    port_unreachable: 4,
  },
  [Icmpv6Type.TIME_EXCEEDED]: { exceeded_hop_limit: 0, exceeded_frag_time: 1 },
  [Icmpv6Type.PARAMETER_PROBLEM]: { header_field: 0, unknown_next_header: 1, unknown_option: 2 },
};

/** The ICMP type and code numbers a line names, in the flow's family; throws on a name packetdrill does not know there. */
export function icmpNumbers(spec: IcmpPacketSpec, family: 4 | 6, line: number): { type: number; code: number | undefined } {
  const type = (family === 6 ? ICMPV6_TYPES : ICMP_TYPES)[spec.type];
  if (type === undefined) throw new Error(`line ${line}: unknown ${family === 6 ? 'ICMPv6' : 'ICMP'} type '${spec.type}'`);
  if (spec.code === undefined) return { type, code: undefined };
  const codes =
    family === 6
      ? ICMPV6_CODES[type]
      : type === 3
        ? UNREACHABLE_CODES
        : type === 11
          ? { ttl_exceeded: TimeExceededCode.TTL_EXCEEDED_IN_TRANSIT, reassembly_time_exceeded: 1 }
          : undefined;
  const code = codes?.[spec.code];
  if (code === undefined) throw new Error(`line ${line}: unknown ${family === 6 ? 'ICMPv6' : 'ICMP'} code '${spec.code}' for ${spec.type}`);
  return { type, code };
}

/** Name of an ICMPv6 code of `type`, for messages. */
export function icmpv6CodeName(type: number, code: number): string {
  return Object.entries(ICMPV6_CODES[type] ?? {}).find(([name, c]) => c === code && name !== 'net_unreachable')?.[0] ?? String(code);
}

/** Name of an ICMPv6 type, for messages. */
export function icmpv6TypeName(type: number): string {
  return Object.entries(ICMPV6_TYPES).find(([, t]) => t === type)?.[0] ?? `type ${type}`;
}

/**
 * The start of a packet ustack sent toward the peer, as an ICMP error quotes it: the IP header
 * of the flow's family and the transport header, rebuilt from the bracketed part of the line
 * (`[1:1461(1460)]` for a TCP segment of the flow, `[udp (N)]` for a datagram).
 */
function quotedDatagram(spec: IcmpPacketSpec, flow: Flow): Uint8Array {
  const quotedSpec = spec.quoted ?? { protocol: 'tcp' as const, seqStart: 0, seqEnd: 0, length: 0 };
  const pseudo = { source: flow.localAddress, destination: flow.remoteAddress };
  let transport: Uint8Array;
  let protocol: number;
  let payloadLength: number;
  if (quotedSpec.protocol === 'tcp') {
    const repr: TcpRepr = {
      srcPort: flow.localPort,
      dstPort: flow.remotePort,
      seq: add(flow.localIsn ?? 0, quotedSpec.seqStart),
      ack: 0,
      flags: TcpFlag.ACK,
      window: 0,
      urgentPointer: 0,
      options: [],
      payload: new Uint8Array(0),
    };
    transport = new Uint8Array(20);
    emitTcp(repr, transport, pseudo);
    protocol = IpProtocol.TCP;
    payloadLength = 20 + quotedSpec.length;
  } else {
    transport = new Uint8Array(8);
    emitUdp({ sourcePort: flow.localPort, destinationPort: flow.remotePort, payload: new Uint8Array(0) }, transport, pseudo);
    new DataView(transport.buffer).setUint16(4, 8 + quotedSpec.length);
    protocol = IpProtocol.UDP;
    payloadLength = 8 + quotedSpec.length;
  }
  if (flow.family === 6) {
    const quoted = new Uint8Array(IPV6_HEADER_LENGTH + transport.length);
    emitIpv6(
      {
        dscp: 0,
        ecn: 0,
        flowLabel: 0,
        payloadLength,
        nextHeader: protocol,
        hopLimit: 64,
        source: flow.localAddress as Ipv6Address,
        destination: flow.remoteAddress as Ipv6Address,
      },
      quoted,
    );
    quoted.set(transport, IPV6_HEADER_LENGTH);
    return quoted;
  }
  const quoted = new Uint8Array(20 + transport.length);
  emitIpv4(
    {
      dscp: 0,
      ecn: 0,
      identification: 0,
      reservedFlag: false,
      dontFragment: protocol === IpProtocol.TCP,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol,
      source: flow.localAddress as Ipv4Address,
      destination: flow.remoteAddress as Ipv4Address,
      options: [],
      payloadLength,
    },
    quoted,
  );
  quoted.set(transport, 20);
  return quoted;
}

/**
 * An inbound ICMP error about a packet ustack sent, ICMPv4 or (over IPv6) ICMPv6 with
 * packetdrill's names for each (`icmp unreachable frag_needed mtu 1200 [1:1461(1460)]`,
 * `icmp packet_too_big mtu 1280 [1:1441(1440)]`).
 */
export function buildIcmpFrame(spec: IcmpPacketSpec, flow: Flow, line: number): Uint8Array {
  const { type, code = 0 } = icmpNumbers(spec, flow.family, line);
  const quoted = quotedDatagram(spec, flow);
  if (flow.family === 6) {
    const repr: Icmpv6Repr =
      type === Icmpv6Type.DESTINATION_UNREACHABLE || type === Icmpv6Type.TIME_EXCEEDED
        ? { kind: type === Icmpv6Type.DESTINATION_UNREACHABLE ? 'destinationUnreachable' : 'timeExceeded', code, quoted }
        : type === Icmpv6Type.PACKET_TOO_BIG
          ? { kind: 'packetTooBig', code, mtu: spec.mtu ?? 0, quoted }
          : type === Icmpv6Type.PARAMETER_PROBLEM
            ? { kind: 'parameterProblem', code, pointer: 0, quoted }
            : { kind: 'other', type, code, body: new Uint8Array([0, 0, 0, 0, ...quoted]) };
    return ipFrame(flow, Ipv6NextHeader.ICMPV6, icmpv6Length(repr), {}, (out) =>
      emitIcmpv6(repr, out, flow.remoteAddress as Ipv6Address, flow.localAddress as Ipv6Address),
    );
  }
  const repr: Icmpv4Repr =
    type === 3
      ? { kind: 'destinationUnreachable', code, nextHopMtu: spec.mtu ?? 0, quoted }
      : type === 11
        ? { kind: 'timeExceeded', code, quoted }
        : { kind: 'other', type, code, restOfHeader: 0, data: quoted };
  return ipFrame(flow, IpProtocol.ICMP, icmpv4Length(repr), {}, (out) => emitIcmpv4(repr, out));
}

/**
 * The IP header of a frame ustack transmitted, of either family: an IPv6 Traffic Class shows as
 * DSCP and ECN, its Hop Limit as `ttl`; an IPv6 packet is never fragmented on the way
 * (RFC 8200 §5), so `dontFragment` is true for it.
 */
export interface DecodedIp {
  readonly family: 4 | 6;
  readonly dscp: number;
  readonly ecn: number;
  readonly ttl: number;
  readonly dontFragment: boolean;
  readonly source: WireAddress;
  readonly destination: WireAddress;
}

/** A frame ustack transmitted, decoded. */
export type DecodedPacket =
  | { readonly protocol: 'tcp'; readonly ip: DecodedIp; readonly tcp: TcpRepr }
  | { readonly protocol: 'udp'; readonly ip: DecodedIp; readonly udp: UdpRepr }
  | { readonly protocol: 'icmp'; readonly ip: DecodedIp; readonly icmp: Icmpv4Repr }
  | { readonly protocol: 'icmpv6'; readonly ip: DecodedIp; readonly icmp: Icmpv6Repr }
  | { readonly protocol: 'other'; readonly ip: DecodedIp | null; readonly reason: string };

/** The TCP or UDP datagram in `payload`, checksummed over the pseudo-header of `ip`. */
function decodeTransport(protocol: number, payload: Uint8Array, ip: DecodedIp): DecodedPacket | null {
  const pseudo = { source: ip.source, destination: ip.destination };
  if (protocol === IpProtocol.TCP) {
    const view = TcpPacket.checked(payload);
    if (!view.ok) return { protocol: 'other', ip, reason: view.error.message };
    const tcp = parseTcp(view.value, pseudo);
    if (!tcp.ok) return { protocol: 'other', ip, reason: `TCP: ${tcp.error.message}` };
    return { protocol: 'tcp', ip, tcp: tcp.value };
  }
  if (protocol === IpProtocol.UDP) {
    const view = UdpPacket.checked(payload);
    if (!view.ok) return { protocol: 'other', ip, reason: view.error.message };
    const udp = parseUdp(view.value, pseudo);
    if (!udp.ok) return { protocol: 'other', ip, reason: `UDP: ${udp.error.message}` };
    return { protocol: 'udp', ip, udp: udp.value };
  }
  return null;
}

/**
 * Decodes an IPv6 packet ustack transmitted. ustack sends no extension headers on a flow a
 * script drives, except a Fragment header, which (as an IPv4 fragment) is reported, not matched.
 */
function decodeIpv6Frame(frame: Uint8Array): DecodedPacket {
  const checked = Ipv6Packet.checked(frame);
  if (!checked.ok) return { protocol: 'other', ip: null, reason: checked.error.message };
  const header = parseIpv6(checked.value);
  if (!header.ok) return { protocol: 'other', ip: null, reason: header.error.message };
  const { dscp, ecn, hopLimit, source, destination, nextHeader } = header.value;
  const ip: DecodedIp = { family: 6, dscp, ecn, ttl: hopLimit, dontFragment: true, source, destination };
  const payload = checked.value.payload;
  if (nextHeader === Ipv6NextHeader.FRAGMENT) return { protocol: 'other', ip, reason: 'an IP fragment' };
  const transport = decodeTransport(nextHeader, payload, ip);
  if (transport) return transport;
  if (nextHeader === Ipv6NextHeader.ICMPV6) {
    const view = Icmpv6Packet.checked(payload);
    if (!view.ok) return { protocol: 'other', ip, reason: view.error.message };
    const icmp = parseIcmpv6(view.value, { source, destination });
    if (!icmp.ok) return { protocol: 'other', ip, reason: `ICMPv6: ${icmp.error.message}` };
    return { protocol: 'icmpv6', ip, icmp: icmp.value };
  }
  return { protocol: 'other', ip, reason: `IPv6 next header ${nextHeader}` };
}

/** Decodes a frame ustack transmitted, IPv4 or IPv6 by its version (checksums verified: a bad one is a finding). */
export function decodeFrame(frame: Uint8Array): DecodedPacket {
  if (frame.length > 0 && frame[0] >> 4 === 6) return decodeIpv6Frame(frame);
  const checked = Ipv4Packet.checked(frame);
  if (!checked.ok) return { protocol: 'other', ip: null, reason: checked.error.message };
  const ipResult = parseIpv4(checked.value);
  if (!ipResult.ok) return { protocol: 'other', ip: null, reason: ipResult.error.message };
  const header: Ipv4Repr = ipResult.value;
  const ip: DecodedIp = {
    family: 4,
    dscp: header.dscp,
    ecn: header.ecn,
    ttl: header.ttl,
    dontFragment: header.dontFragment,
    source: header.source,
    destination: header.destination,
  };
  const payload = checked.value.payload;
  if (header.fragmentOffset !== 0 || header.moreFragments) return { protocol: 'other', ip, reason: 'an IP fragment' };
  const transport = decodeTransport(header.protocol, payload, ip);
  if (transport) return transport;
  if (header.protocol === IpProtocol.ICMP) {
    const view = Icmpv4Packet.checked(payload);
    if (!view.ok) return { protocol: 'other', ip, reason: view.error.message };
    const icmp = parseIcmpv4(view.value);
    if (!icmp.ok) return { protocol: 'other', ip, reason: `ICMP: ${icmp.error.message}` };
    return { protocol: 'icmp', ip, icmp: icmp.value };
  }
  return { protocol: 'other', ip, reason: `IP protocol ${header.protocol}` };
}
