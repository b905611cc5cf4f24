/**
 * Between script packets and bytes: builds the IPv4 frames a script injects (`<` lines) and
 * decodes what ustack transmits, mapping sequence numbers and timestamps the way packetdrill
 * does. Inbound sequence numbers go out as written (plus the script's ISN, 0 unless
 * `--remote_isn`); ustack's own sequence numbers are shown and compared relative to its ISN,
 * learned from its SYN or SYN-ACK; its TS val relative to the first one it sent.
 */
import { emitIpv4, IpProtocol, Ipv4Packet, parseIpv4, type Ipv4Repr } from '../ip/ipv4.js';
import { emitIcmpv4, DestinationUnreachableCode, Icmpv4Packet, icmpv4Length, parseIcmpv4, TimeExceededCode, type Icmpv4Repr } from '../ip/icmpv4.js';
import { emitTcp, parseTcp, TcpFlag, TcpPacket, tcpLength, type TcpRepr } from '../tcp/tcp-packet.js';
import type { TcpOption } from '../tcp/tcp-options.js';
import { emitUdp, parseUdp, UdpPacket, udpLength, type UdpRepr } from '../udp/udp-packet.js';
import type { EcnSpec, IcmpPacketSpec, OptionSpec, TcpPacketSpec, UdpPacketSpec } from './script.js';

/** What the runner knows about the one flow a script talks about. */
export interface Flow {
  readonly localAddress: number;
  readonly remoteAddress: number;
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

/** Wraps a transport payload in an IPv4 header from the script's peer to ustack. */
function ipv4Frame(
  flow: Flow,
  protocol: number,
  transportLength: number,
  ip: { ecn?: EcnSpec; tos?: number; ttl?: number },
  write: (out: Uint8Array) => void,
): Uint8Array {
  const tos = ip.tos ?? (ip.ecn === undefined ? 0 : ECN_CODEPOINT[ip.ecn]);
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
    source: flow.remoteAddress,
    destination: flow.localAddress,
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

/** An IPv4 frame carrying an inbound TCP line. */
export function buildTcpFrame(spec: TcpPacketSpec, flow: Flow, line: number): Uint8Array {
  const repr = inboundTcpRepr(spec, flow, line);
  return ipv4Frame(flow, IpProtocol.TCP, tcpLength(repr), spec, (out) => {
    emitTcp(repr, out, { source: flow.remoteAddress, destination: flow.localAddress });
  });
}

/** An IPv4 frame carrying an inbound UDP line (zero bytes of payload data). */
export function buildUdpFrame(spec: UdpPacketSpec, flow: Flow): Uint8Array {
  const repr: UdpRepr = { sourcePort: flow.remotePort, destinationPort: flow.localPort, payload: new Uint8Array(spec.length) };
  return ipv4Frame(flow, IpProtocol.UDP, udpLength(repr), spec, (out) => {
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

/**
 * An inbound ICMP error about a packet ustack sent: the quoted datagram is rebuilt from the
 * bracketed part (`[1:1461(1460)]` for a TCP segment of the flow, `[udp (N)]` for a datagram).
 */
export function buildIcmpFrame(spec: IcmpPacketSpec, flow: Flow, line: number): Uint8Array {
  const type = ICMP_TYPES[spec.type];
  if (type === undefined) throw new Error(`line ${line}: unknown ICMP type '${spec.type}'`);
  let code = 0;
  if (spec.code !== undefined) {
    const known =
      type === 3
        ? UNREACHABLE_CODES[spec.code]
        : type === 11
          ? spec.code === 'ttl_exceeded'
            ? 0
            : spec.code === 'reassembly_time_exceeded'
              ? 1
              : undefined
          : undefined;
    if (known === undefined) throw new Error(`line ${line}: unknown ICMP code '${spec.code}' for ${spec.type}`);
    code = known;
  }
  // The quoted datagram: ustack's packet toward the peer, IP header plus the transport header.
  const quotedSpec = spec.quoted ?? { protocol: 'tcp' as const, seqStart: 0, seqEnd: 0, length: 0 };
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
    emitTcp(repr, transport, { source: flow.localAddress, destination: flow.remoteAddress });
    protocol = IpProtocol.TCP;
    payloadLength = 20 + quotedSpec.length;
  } else {
    transport = new Uint8Array(8);
    emitUdp({ sourcePort: flow.localPort, destinationPort: flow.remotePort, payload: new Uint8Array(0) }, transport, {
      source: flow.localAddress,
      destination: flow.remoteAddress,
    });
    new DataView(transport.buffer).setUint16(4, 8 + quotedSpec.length);
    protocol = IpProtocol.UDP;
    payloadLength = 8 + quotedSpec.length;
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
      source: flow.localAddress,
      destination: flow.remoteAddress,
      options: [],
      payloadLength,
    },
    quoted,
  );
  quoted.set(transport, 20);
  const repr: Icmpv4Repr =
    type === 3
      ? { kind: 'destinationUnreachable', code, nextHopMtu: spec.mtu ?? 0, quoted }
      : type === 11
        ? { kind: 'timeExceeded', code, quoted }
        : { kind: 'other', type, code, restOfHeader: 0, data: quoted };
  return ipv4Frame(flow, IpProtocol.ICMP, icmpv4Length(repr), {}, (out) => emitIcmpv4(repr, out));
}

/** A frame ustack transmitted, decoded. */
export type DecodedPacket =
  | { readonly protocol: 'tcp'; readonly ip: Ipv4Repr; readonly tcp: TcpRepr }
  | { readonly protocol: 'udp'; readonly ip: Ipv4Repr; readonly udp: UdpRepr }
  | { readonly protocol: 'icmp'; readonly ip: Ipv4Repr; readonly icmp: Icmpv4Repr }
  | { readonly protocol: 'other'; readonly ip: Ipv4Repr | null; readonly reason: string };

/** Decodes a frame ustack transmitted (checksums verified: a bad one is a finding). */
export function decodeFrame(frame: Uint8Array): DecodedPacket {
  const checked = Ipv4Packet.checked(frame);
  if (!checked.ok) return { protocol: 'other', ip: null, reason: checked.error.message };
  const ipResult = parseIpv4(checked.value);
  if (!ipResult.ok) return { protocol: 'other', ip: null, reason: ipResult.error.message };
  const ip = ipResult.value;
  const payload = checked.value.payload;
  if (ip.fragmentOffset !== 0 || ip.moreFragments) return { protocol: 'other', ip, reason: 'an IP fragment' };
  if (ip.protocol === IpProtocol.TCP) {
    const view = TcpPacket.checked(payload);
    if (!view.ok) return { protocol: 'other', ip, reason: view.error.message };
    const tcp = parseTcp(view.value, { source: ip.source, destination: ip.destination });
    if (!tcp.ok) return { protocol: 'other', ip, reason: `TCP: ${tcp.error.message}` };
    return { protocol: 'tcp', ip, tcp: tcp.value };
  }
  if (ip.protocol === IpProtocol.UDP) {
    const view = UdpPacket.checked(payload);
    if (!view.ok) return { protocol: 'other', ip, reason: view.error.message };
    const udp = parseUdp(view.value, { source: ip.source, destination: ip.destination });
    if (!udp.ok) return { protocol: 'other', ip, reason: `UDP: ${udp.error.message}` };
    return { protocol: 'udp', ip, udp: udp.value };
  }
  if (ip.protocol === IpProtocol.ICMP) {
    const view = Icmpv4Packet.checked(payload);
    if (!view.ok) return { protocol: 'other', ip, reason: view.error.message };
    const icmp = parseIcmpv4(view.value);
    if (!icmp.ok) return { protocol: 'other', ip, reason: `ICMP: ${icmp.error.message}` };
    return { protocol: 'icmp', ip, icmp: icmp.value };
  }
  return { protocol: 'other', ip, reason: `IP protocol ${ip.protocol}` };
}
