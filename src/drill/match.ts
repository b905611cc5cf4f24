/**
 * Does what ustack sent match what a script line expects? And how to print both, in the
 * script's own notation with relative sequence numbers, so a failure reads like the script.
 *
 * Two modes (see docs/drill.md):
 * - portable (default): options compared as a set (nop/eol ignored), an outbound line without an
 *   option list does not check options, an option written without a value (`mss`) is not
 *   checked for its value;
 * - linux (`--linux`): the option list must be exactly the one written, in order.
 * In both, a window, urgent pointer or IP ECN field is checked only when the line writes it.
 */
import { formatTcpOption, formatTcpOptions, tcpOptionName, type TcpOptionNumbering } from '../tcp/tcp-option-text.js';
import type { TcpOption } from '../tcp/tcp-options.js';
import { TcpFlag, type TcpRepr } from '../tcp/tcp-packet.js';
import type { IcmpPacketSpec, OptionSpec, TcpPacketSpec, UdpPacketSpec } from './script.js';
import {
  ecnMatches,
  ecnName,
  flagsFromLetters,
  icmpCodeName,
  icmpNumbers,
  icmpTypeName,
  icmpv6CodeName,
  icmpv6TypeName,
  lettersFromFlags,
  type DecodedIp,
  type DecodedPacket,
  type Flow,
} from './wire.js';

/** How strictly to compare. */
export interface MatchSettings {
  readonly portable: boolean;
  /** How far ustack's TS val may stray from the script's (after remapping), in ticks. */
  readonly tsToleranceTicks: number;
  /** Never let one scripted packet match several smaller segments. */
  readonly strictSegments: boolean;
}

/** The outcome of comparing one real segment with a scripted one. */
export type MatchOutcome =
  | { readonly kind: 'match' }
  /** The segment is the first `bytes` of the scripted one (a split send); wait for the rest. */
  | { readonly kind: 'partial'; readonly bytes: number }
  | { readonly kind: 'mismatch'; readonly differences: readonly string[] };

function sub(a: number, b: number): number {
  return (a - b) >>> 0;
}

/** Relative sequence number of ustack's `seq`. */
function localRelative(flow: Flow, seq: number): number {
  return sub(seq, flow.localIsn ?? 0);
}

/** How the drill shows an option's numbers: SACK edges relative to the peer's ISN, TS val to ustack's first. */
function numbering(flow: Flow): TcpOptionNumbering {
  const tsOffset = flow.tsOffset;
  return { sackEdge: (edge) => sub(edge, flow.remoteIsn), tsVal: tsOffset === null ? undefined : (value) => sub(value, tsOffset) };
}

function formatOption(option: TcpOption, flow: Flow): string {
  return formatTcpOption(option, numbering(flow));
}

function formatOptionSpec(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'nop':
    case 'eol':
    case 'sackOK':
      return spec.kind;
    case 'mss':
    case 'wscale':
      return spec.value === undefined ? spec.kind : `${spec.kind} ${spec.value}`;
    case 'sack':
      return spec.blocks === undefined ? 'sack' : `sack ${spec.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`;
    case 'TS':
      return spec.val === undefined ? 'TS' : `TS val ${spec.val} ecr ${spec.ecr ?? '*'}`;
  }
}

/** A TCP segment ustack sent, in script notation relative to the flow's ISNs. */
export function formatTcp(tcp: TcpRepr, ip: DecodedIp | null, flow: Flow): string {
  const letters = lettersFromFlags(tcp.flags);
  const start = localRelative(flow, tcp.seq);
  let text = `${ip && ip.ecn !== 0 ? `[${ecnName(ip.ecn)}] ` : ''}${letters} ${start}:${(start + tcp.payload.length) >>> 0}(${tcp.payload.length})`;
  if (tcp.flags & TcpFlag.ACK) text += ` ack ${sub(tcp.ack, flow.remoteIsn)}`;
  text += ` win ${tcp.window}`;
  if (tcp.flags & TcpFlag.URG) text += ` urg ${tcp.urgentPointer}`;
  const options = tcp.options.filter((o) => o.kind !== 'endOfList' || o.padding.some((b) => b !== 0));
  if (options.length > 0) text += ` <${formatTcpOptions(options, numbering(flow))}>`;
  return text;
}

/** A scripted TCP packet, normalised. */
export function formatTcpSpec(spec: TcpPacketSpec): string {
  const range = spec.anySequence ? `...(${spec.length})` : `${spec.seqStart}:${spec.seqEnd}(${spec.length})`;
  let text = `${spec.ecn ? `[${spec.ecn}] ` : ''}${spec.flags} ${range}`;
  if (spec.ack !== undefined) text += ` ack ${spec.ack}`;
  if (spec.window !== undefined) text += ` win ${spec.window}`;
  if (spec.urgent !== undefined) text += ` urg ${spec.urgent}`;
  if (spec.options === 'any') text += ' <...>';
  else if (spec.options !== undefined) text += ` <${spec.options.map(formatOptionSpec).join(',')}>`;
  return text;
}

/** Any packet ustack sent, in script notation (`> S. 0:0(0) ack 1 …`, `> udp (10)`, `> icmp …`). */
export function formatDecoded(packet: DecodedPacket, flow: Flow): string {
  switch (packet.protocol) {
    case 'tcp':
      return formatTcp(packet.tcp, packet.ip, flow);
    case 'udp':
      return `udp (${packet.udp.payload.length}) ${packet.udp.sourcePort} > ${packet.udp.destinationPort}`;
    case 'icmp': {
      const icmp = packet.icmp;
      if (icmp.kind === 'destinationUnreachable') return `icmp unreachable ${icmpCodeName(3, icmp.code)}${icmp.nextHopMtu ? ` mtu ${icmp.nextHopMtu}` : ''}`;
      if (icmp.kind === 'timeExceeded') return `icmp time_exceeded ${icmpCodeName(11, icmp.code)}`;
      if (icmp.kind === 'echoRequest' || icmp.kind === 'echoReply') return `icmp ${icmp.kind === 'echoRequest' ? 'echo_request' : 'echo_reply'}`;
      if (icmp.kind === 'other') return `icmp ${icmpTypeName(icmp.type)} ${icmp.code}`;
      return `icmp ${icmp.kind} ${'code' in icmp ? icmp.code : ''}`;
    }
    case 'icmpv6': {
      const { type, code } = icmpv6Numbers(packet);
      const mtu = packet.icmp.kind === 'packetTooBig' ? ` mtu ${packet.icmp.mtu}` : '';
      return `icmp ${icmpv6TypeName(type)} ${icmpv6CodeName(type, code)}${mtu}`;
    }
    case 'other':
      return `undecodable packet (${packet.reason})`;
  }
}

/** Why one option differs from its spec, or null when it matches. */
function optionDifference(spec: OptionSpec, actual: TcpOption, flow: Flow, settings: MatchSettings): string | null {
  if (tcpOptionName(actual) !== spec.kind) return `expected option ${formatOptionSpec(spec)}, got ${formatOption(actual, flow)}`;
  switch (spec.kind) {
    case 'mss':
      if (spec.value !== undefined && actual.kind === 'maxSegmentSize' && actual.mss !== spec.value) return `mss ${actual.mss}, expected ${spec.value}`;
      return null;
    case 'wscale':
      if (spec.value !== undefined && actual.kind === 'windowScale' && actual.shiftCount !== spec.value)
        return `wscale ${actual.shiftCount}, expected ${spec.value}`;
      return null;
    case 'sack': {
      if (spec.blocks === undefined || actual.kind !== 'sack') return null;
      const got = formatOption(actual, flow);
      const want = `sack ${spec.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`;
      return got === want ? null : `${got}, expected ${want}`;
    }
    case 'TS': {
      if (actual.kind !== 'timestamps') return null;
      if (spec.ecr !== undefined && actual.tsEcr !== spec.ecr >>> 0) return `TS ecr ${actual.tsEcr}, expected ${spec.ecr}`;
      if (spec.val !== undefined && flow.tsOffset !== null) {
        const relative = sub(actual.tsVal, flow.tsOffset);
        const drift = Math.abs(((relative - spec.val) << 0) | 0);
        if (drift > settings.tsToleranceTicks) return `TS val ${relative}, expected ${spec.val} (±${settings.tsToleranceTicks})`;
      }
      return null;
    }
    default:
      return null;
  }
}

/** Differences between a scripted option list and the real one. */
function optionDifferences(expected: TcpPacketSpec['options'], actual: readonly TcpOption[], flow: Flow, settings: MatchSettings): string[] {
  if (expected === 'any') return [];
  if (expected === undefined && settings.portable) return [];
  const wanted = expected ?? [];
  const wantsEol = wanted.some((o) => o.kind === 'eol');
  let real = actual.filter((o) => wantsEol || o.kind !== 'endOfList');
  let want = wanted;
  if (settings.portable) {
    real = real.filter((o) => o.kind !== 'noOperation' && o.kind !== 'endOfList');
    want = wanted.filter((o) => o.kind !== 'nop' && o.kind !== 'eol');
    const differences: string[] = [];
    const unused = [...real];
    for (const spec of want) {
      const index = unused.findIndex((o) => tcpOptionName(o) === spec.kind);
      if (index < 0) {
        differences.push(`option ${formatOptionSpec(spec)} missing`);
        continue;
      }
      const difference = optionDifference(spec, unused[index], flow, settings);
      if (difference) differences.push(difference);
      unused.splice(index, 1);
    }
    for (const extra of unused) differences.push(`unexpected option ${formatOption(extra, flow)}`);
    return differences;
  }
  const describe = (list: readonly TcpOption[]) => `<${formatTcpOptions(list, numbering(flow))}>`;
  if (real.length !== want.length) return [`options ${describe(real)}, expected <${want.map(formatOptionSpec).join(',')}>`];
  const differences: string[] = [];
  want.forEach((spec, i) => {
    const difference = optionDifference(spec, real[i], flow, settings);
    if (difference) differences.push(difference);
  });
  return differences;
}

/**
 * Learns what an outbound segment tells about the flow before it is compared: ustack's ISN from
 * a SYN or SYN-ACK, its TS clock offset from the first TS val (mapped to the script's value).
 */
export function learnFromOutbound(spec: TcpPacketSpec | null, tcp: TcpRepr, flow: Flow): void {
  if (tcp.flags & TcpFlag.SYN) {
    flow.localIsn = tcp.seq;
    flow.tsOffset = null;
  }
  const ts = tcp.options.find((o) => o.kind === 'timestamps');
  if (ts && ts.kind === 'timestamps' && flow.tsOffset === null) {
    const written = spec && spec.options !== 'any' ? spec.options?.find((o) => o.kind === 'TS') : undefined;
    const scriptValue = written && written.kind === 'TS' && written.val !== undefined ? written.val : 0;
    flow.tsOffset = sub(ts.tsVal, scriptValue);
  }
}

/** The TOS octet and TTL a line pins (`(tos 0x20)`, `(ttl 4)`), against the datagram sent. */
function ipDifferences(spec: { readonly tos?: number; readonly ttl?: number }, ip: DecodedIp, flow: Flow): string[] {
  const differences: string[] = [];
  // The mode (--ip_version) says which family the flow's packets travel in.
  if (ip.family !== flow.family) differences.push(`an IPv${ip.family} packet, expected IPv${flow.family}`);
  const tos = (ip.dscp << 2) | ip.ecn;
  if (spec.tos !== undefined && tos !== spec.tos) differences.push(`IP TOS 0x${tos.toString(16)}, expected 0x${spec.tos.toString(16)}`);
  if (spec.ttl !== undefined && ip.ttl !== spec.ttl) differences.push(`IP TTL ${ip.ttl}, expected ${spec.ttl}`);
  return differences;
}

/** Compares a TCP segment ustack sent with a scripted `>` line. */
export function matchTcp(spec: TcpPacketSpec, packet: DecodedPacket, flow: Flow, settings: MatchSettings): MatchOutcome {
  if (packet.protocol !== 'tcp') return { kind: 'mismatch', differences: [`expected a TCP segment, got ${formatDecoded(packet, flow)}`] };
  const { tcp, ip } = packet;
  learnFromOutbound(spec, tcp, flow);
  const differences: string[] = [];
  if (tcp.dstPort !== flow.remotePort) differences.push(`destination port ${tcp.dstPort}, expected ${flow.remotePort}`);
  if (flow.localPort !== 0 && tcp.srcPort !== flow.localPort) differences.push(`source port ${tcp.srcPort}, expected ${flow.localPort}`);
  const wantFlags = flagsFromLetters(spec.flags);
  const gotFlags = tcp.flags & 0xff;
  const start = spec.anySequence ? spec.seqStart >>> 0 : localRelative(flow, tcp.seq);
  const length = tcp.payload.length;
  // A smaller segment that starts the scripted one: packetdrill lets one line cover a split send.
  const ignoredOnPiece = TcpFlag.PSH | TcpFlag.FIN;
  const piece =
    !settings.strictSegments &&
    length > 0 &&
    length < spec.length &&
    start === spec.seqStart >>> 0 &&
    (gotFlags & ~ignoredOnPiece) === (wantFlags & ~ignoredOnPiece) &&
    (gotFlags & TcpFlag.FIN) === 0;
  if (!piece && gotFlags !== wantFlags) differences.push(`flags ${lettersFromFlags(gotFlags)}, expected ${spec.flags}`);
  if (start !== spec.seqStart >>> 0) differences.push(`sequence number ${start}, expected ${spec.seqStart}`);
  if (!piece && length !== spec.length) differences.push(`payload ${length} bytes, expected ${spec.length}`);
  if (spec.ack !== undefined && (tcp.flags & TcpFlag.ACK) !== 0) {
    const ack = sub(tcp.ack, flow.remoteIsn);
    if (ack !== spec.ack >>> 0) differences.push(`ack ${ack}, expected ${spec.ack}`);
  }
  if (spec.window !== undefined && tcp.window !== spec.window) differences.push(`window ${tcp.window}, expected ${spec.window}`);
  if (spec.urgent !== undefined && tcp.urgentPointer !== spec.urgent) differences.push(`urgent pointer ${tcp.urgentPointer}, expected ${spec.urgent}`);
  if (spec.ecn !== undefined && !ecnMatches(spec.ecn, ip.ecn)) differences.push(`IP ECN ${ecnName(ip.ecn)}, expected ${spec.ecn}`);
  differences.push(...ipDifferences(spec, ip, flow));
  differences.push(...optionDifferences(spec.options, tcp.options, flow, settings));
  if (differences.length > 0) return { kind: 'mismatch', differences };
  return piece ? { kind: 'partial', bytes: length } : { kind: 'match' };
}

/** Compares a UDP datagram ustack sent with a scripted `> udp (N)` line. */
export function matchUdp(spec: UdpPacketSpec, packet: DecodedPacket, flow: Flow): MatchOutcome {
  if (packet.protocol !== 'udp') return { kind: 'mismatch', differences: [`expected a UDP datagram, got ${formatDecoded(packet, flow)}`] };
  const differences: string[] = [];
  if (packet.udp.payload.length !== spec.length) differences.push(`payload ${packet.udp.payload.length} bytes, expected ${spec.length}`);
  if (packet.udp.destinationPort !== flow.remotePort) differences.push(`destination port ${packet.udp.destinationPort}, expected ${flow.remotePort}`);
  if (spec.ecn !== undefined && !ecnMatches(spec.ecn, packet.ip.ecn)) differences.push(`IP ECN ${ecnName(packet.ip.ecn)}, expected ${spec.ecn}`);
  differences.push(...ipDifferences(spec, packet.ip, flow));
  return differences.length > 0 ? { kind: 'mismatch', differences } : { kind: 'match' };
}

/** Compares an ICMP message ustack sent with a scripted `> icmp …` line. */
/** The Type and Code of an ICMPv6 message ustack sent. */
function icmpv6Numbers(packet: DecodedPacket & { protocol: 'icmpv6' }): { type: number; code: number } {
  const icmp = packet.icmp;
  const type =
    icmp.kind === 'other'
      ? icmp.type
      : (({ destinationUnreachable: 1, packetTooBig: 2, timeExceeded: 3, parameterProblem: 4, echoRequest: 128, echoReply: 129 } as Record<string, number>)[
          icmp.kind
        ] ?? -1);
  return { type, code: 'code' in icmp ? icmp.code : 0 };
}

/** Compares an ICMP (or, over IPv6, ICMPv6) message ustack sent with a scripted `> icmp …` line. */
export function matchIcmp(spec: IcmpPacketSpec, packet: DecodedPacket, flow: Flow): MatchOutcome {
  if (packet.protocol !== 'icmp' && packet.protocol !== 'icmpv6')
    return { kind: 'mismatch', differences: [`expected an ICMP message, got ${formatDecoded(packet, flow)}`] };
  let wanted: { type: number; code: number | undefined };
  try {
    wanted = icmpNumbers(spec, flow.family, 0);
  } catch {
    // A code name the type has none of is not compared (as before IPv6); an unknown type is a difference.
    try {
      wanted = icmpNumbers({ ...spec, code: undefined }, flow.family, 0);
    } catch {
      return { kind: 'mismatch', differences: [`ICMP ${spec.type} is not a message type packetdrill knows in IPv${flow.family}`] };
    }
  }
  const differences: string[] = [];
  if (packet.protocol === 'icmpv6') {
    const { type, code } = icmpv6Numbers(packet);
    if (flow.family !== 6) differences.push('an ICMPv6 message, expected ICMP');
    else if (wanted.type !== type) differences.push(`ICMPv6 ${icmpv6TypeName(type)}, expected ${spec.type}`);
    else if (wanted.code !== undefined && wanted.code !== code) differences.push(`code ${icmpv6CodeName(type, code)}, expected ${spec.code}`);
    const icmp = packet.icmp;
    if (spec.mtu !== undefined && icmp.kind === 'packetTooBig' && icmp.mtu !== spec.mtu) differences.push(`mtu ${icmp.mtu}, expected ${spec.mtu}`);
    if (spec.quoted && 'quoted' in icmp) {
      // The quoted packet's Next Header (ustack quotes no extension headers of its own).
      const protocol = icmp.quoted.length >= 40 ? icmp.quoted[6] : -1;
      if (spec.quoted.protocol === 'udp' && protocol !== 17) differences.push('the quoted packet is not UDP');
      if (spec.quoted.protocol === 'tcp' && protocol !== 6) differences.push('the quoted packet is not TCP');
    }
    return differences.length > 0 ? { kind: 'mismatch', differences } : { kind: 'match' };
  }
  const icmp = packet.icmp;
  const type =
    icmp.kind === 'destinationUnreachable'
      ? 3
      : icmp.kind === 'timeExceeded'
        ? 11
        : icmp.kind === 'echoRequest'
          ? 8
          : icmp.kind === 'echoReply'
            ? 0
            : icmp.kind === 'other'
              ? icmp.type
              : -1;
  const code = 'code' in icmp ? icmp.code : 0;
  if (flow.family !== 4) differences.push('an ICMP message, expected ICMPv6');
  else if (wanted.type !== type) differences.push(`ICMP ${icmpTypeName(type)}, expected ${spec.type}`);
  else if (wanted.code !== undefined && type === 3 && wanted.code !== code) differences.push(`code ${icmpCodeName(type, code)}, expected ${spec.code}`);
  if (spec.mtu !== undefined && icmp.kind === 'destinationUnreachable' && icmp.nextHopMtu !== spec.mtu)
    differences.push(`mtu ${icmp.nextHopMtu}, expected ${spec.mtu}`);
  if (spec.quoted && 'quoted' in icmp) {
    const quoted = icmp.quoted;
    const protocol = quoted.length >= 20 ? quoted[9] : -1;
    if (spec.quoted.protocol === 'udp' && protocol !== 17) differences.push('the quoted datagram is not UDP');
    if (spec.quoted.protocol === 'tcp' && protocol !== 6) differences.push('the quoted datagram is not TCP');
  }
  return differences.length > 0 ? { kind: 'mismatch', differences } : { kind: 'match' };
}
