/**
 * Compares the datagrams a host sent (UDP, ICMP echo replies and errors) with the ones ustack
 * sent when the same packets were played into it. Datagrams are lined up by what they are — a
 * UDP datagram by its ports and peer, an echo reply by its identifier and sequence number, an
 * ICMP error by its type, code and the ports of the datagram it quotes — the nth of a kind with
 * the nth; each pair is compared field by field (one divergence per field, as TCP's are); what
 * did not line up is missing or extra. Fragments are put together first: a datagram is compared
 * whole, and how many fragments carried it is an IP-header matter.
 */
import { formatIpv4Address } from '../ip/address.js';
import { formatIpAddress } from '../ip/ip-address.js';
import { IpProtocol } from '../ip/ipv4.js';
import { Ipv6NextHeader } from '../ip/ipv6.js';
import { icmpCodeName, icmpTypeName, icmpv6CodeName, icmpv6TypeName } from '../drill/wire.js';
import { ms, type Divergence, type DivergenceKind } from './compare.js';
import { endpointText, isIcmpError, quotedDatagram, udpOf, type Datagram } from './datagrams.js';

/** One datagram as the replay reports it. */
export interface DecodedDatagram {
  /** Its first frame: in the capture (expected) or in the replay's pcap (actual). */
  readonly frame: number;
  /** Every frame that carried it (its fragments). */
  readonly frames: readonly number[];
  /** ms since the capture's first frame. */
  readonly timeMs: number;
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** `udp`, `icmp`, `icmp6`, or the protocol number. */
  readonly protocol: string;
  /** What it is lined up by: `udp 10.1.1.2:6000 > 10.1.1.1:44757`, `icmp echo-reply id 2227 seq 1`. */
  readonly key: string;
  /** IP TTL. */
  readonly ttl: number;
  /** IP DF bit. */
  readonly dontFragment: boolean;
  /** IP TOS octet (DSCP and ECN). */
  readonly tos: number;
  /**
   * The IP options, as read: `rr ptr 16 [10.1.1.2 10.1.1.2]`, `ts flag 0 ptr 9 (1 stamps)`; over
   * IPv6 the extension headers other than Fragment (`destination-options [0x9e]`); or empty.
   */
  readonly ipOptions: string;
  /**
   * An ICMPv6 error's own field, compared: a Parameter Problem's pointer (RFC 4443 §3.4), a
   * Packet Too Big's MTU (§3.2) — `pointer 42`, `mtu 1280`; empty otherwise.
   */
  readonly errorField: string;
  /** How many fragments carried it (1: not fragmented). */
  readonly fragments: number;
  /** What follows the UDP or ICMP header: the UDP data, the echo data, the quoted datagram. */
  readonly payload: Uint8Array;
  /** One line: `udp 6000 > 10.1.1.1:44757 len 100`, `icmp destination-unreachable/port-unreachable quoting udp 57489 > 6001`. */
  readonly text: string;
}

const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;
const ICMPV6_ECHO_REQUEST = 128;
const ICMPV6_ECHO_REPLY = 129;
const ICMPV6_PACKET_TOO_BIG = 2;
const ICMPV6_PARAMETER_PROBLEM = 4;

/** The IP options in a comparable form: addresses of Record Route, but a timestamp only by its count. */
function optionsText(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let at = 0; at < bytes.length;) {
    const type = bytes[at];
    if (type === 0) break;
    if (type === 1) {
      at++;
      continue;
    }
    const length = bytes[at + 1] ?? 0;
    if (length < 2 || at + length > bytes.length) {
      parts.push(`malformed ${type}`);
      break;
    }
    const body = bytes.subarray(at, at + length);
    const pointer = body[2] ?? 0;
    if (type === 7) {
      const route: string[] = [];
      for (let slot = 3; slot + 4 <= Math.min(pointer - 1, length); slot += 4)
        route.push(formatIpv4Address(((body[slot] << 24) | (body[slot + 1] << 16) | (body[slot + 2] << 8) | body[slot + 3]) >>> 0));
      parts.push(`rr ptr ${pointer} [${route.join(' ')}]`);
    } else if (type === 68) {
      // Time stamps are milliseconds since midnight UT at each hop: only how many were added compares.
      const flag = body[3] & 0x0f;
      const entry = flag === 0 ? 4 : 8;
      parts.push(`ts flag ${flag} ptr ${pointer} (${Math.max(0, Math.floor((pointer - 5) / entry))} stamps)`);
    } else parts.push(`option ${type} len ${length}`);
    at += length;
  }
  return parts.join(', ');
}

/** The datagram read for comparison. */
export function decodeDatagram(datagram: Datagram): DecodedDatagram {
  const { ip, payload } = datagram;
  const v6 = ip.family === 6;
  const base = {
    family: ip.family,
    frame: datagram.frames[0],
    frames: datagram.frames,
    timeMs: datagram.timeMs,
    ttl: ip.ttl,
    dontFragment: ip.dontFragment,
    tos: (ip.dscp << 2) | ip.ecn,
    ipOptions: v6 ? datagram.extensionHeaders.join(', ') : optionsText(datagram.ipOptions),
    errorField: '',
    fragments: datagram.frames.length,
  };
  const peer = formatIpAddress(ip.destination);
  if (ip.protocol === IpProtocol.UDP) {
    const udp = udpOf(payload);
    if (udp) {
      const key = `udp ${endpointText(ip.source, udp.srcPort)} > ${endpointText(ip.destination, udp.dstPort)}`;
      return {
        ...base,
        protocol: 'udp',
        key,
        payload: udp.data,
        text: `udp ${udp.srcPort} > ${endpointText(ip.destination, udp.dstPort)} len ${udp.data.length}`,
      };
    }
  }
  const icmpProtocol = v6 ? Ipv6NextHeader.ICMPV6 : IpProtocol.ICMP;
  if (ip.protocol === icmpProtocol && payload.length >= 8) {
    const [type, code] = payload;
    const icmp = v6 ? 'icmp6' : 'icmp';
    const echo = v6 ? type === ICMPV6_ECHO_REPLY || type === ICMPV6_ECHO_REQUEST : type === ICMP_ECHO_REPLY || type === ICMP_ECHO_REQUEST;
    const typeName = v6 ? icmpv6TypeName(type) : icmpTypeName(type);
    const name = `${typeName}${echo ? '' : `/${v6 ? icmpv6CodeName(type, code) : icmpCodeName(type, code)}`}`;
    if (echo) {
      const identifier = (payload[4] << 8) | payload[5];
      const sequence = (payload[6] << 8) | payload[7];
      const key = `${icmp} ${name} to ${peer} id ${identifier} seq ${sequence}`;
      return { ...base, protocol: icmp, key, payload: payload.subarray(8), text: `${key} len ${payload.length - 8}` };
    }
    // IPv4's other types are read as errors, as before IPv6 came (hostile input lines up as it did).
    if (!v6 || isIcmpError(datagram)) {
      // An error: known by what it quotes (RFC 792: the IP header and at least 8 bytes after it;
      // RFC 4443 §2.4: as much of the invoking packet as fits in 1280 bytes).
      const quoted = payload.subarray(8);
      const about = quotedDatagram(quoted, ip.family);
      const ports = about.ports
        ? ` ${about.protocol === IpProtocol.UDP ? 'udp' : 'tcp'} ${about.ports.source} > ${about.ports.destination}`
        : ` protocol ${about.protocol}`;
      const field = (payload[4] * 2 ** 24 + ((payload[5] << 16) | (payload[6] << 8) | payload[7])) >>> 0;
      const errorField = !v6 ? '' : type === ICMPV6_PARAMETER_PROBLEM ? `pointer ${field}` : type === ICMPV6_PACKET_TOO_BIG ? `mtu ${field}` : '';
      const key = `${icmp} ${name} to ${peer} quoting${ports}`;
      return {
        ...base,
        errorField,
        protocol: icmp,
        key,
        payload: quoted,
        text: `${icmp} ${name} to ${peer}${errorField ? ` ${errorField}` : ''} quoting${ports} (${quoted.length} bytes quoted)`,
      };
    }
    // An informational message other than echo: known by its type and code.
    return {
      ...base,
      protocol: icmp,
      key: `${icmp} ${name} to ${peer}`,
      payload: payload.subarray(4),
      text: `${icmp} ${name} to ${peer} len ${payload.length}`,
    };
  }
  return {
    ...base,
    protocol: String(ip.protocol),
    key: `protocol ${ip.protocol} to ${peer}`,
    payload,
    text: `protocol ${ip.protocol} to ${peer} len ${payload.length}`,
  };
}

/** How strictly to compare datagrams. */
export interface DatagramCompareSettings {
  readonly timeMs: number;
}

/** What the datagrams of a replay came to. */
export interface DatagramDiff {
  readonly divergences: Divergence[];
  /** The host's datagrams, ustack's, and how many lined up. */
  readonly expected: number;
  readonly actual: number;
  readonly matched: number;
}

/** Lines up and compares the host's datagrams (`expected`) with ustack's (`actual`). */
export function diffDatagrams(expected: readonly DecodedDatagram[], actual: readonly DecodedDatagram[], settings: DatagramCompareSettings): DatagramDiff {
  const found: Array<{ at: number; divergence: Divergence }> = [];
  const taken = new Set<number>();
  let matched = 0;
  const waiting = new Map<string, number[]>();
  actual.forEach((datagram, index) => waiting.set(datagram.key, [...(waiting.get(datagram.key) ?? []), index]));
  for (const host of expected) {
    const queue = waiting.get(host.key);
    const index = queue?.shift();
    if (index === undefined) {
      found.push({
        at: host.timeMs,
        divergence: {
          kind: 'missing',
          conversation: 0,
          datagram: host.key,
          frames: { capture: host.frame },
          expectedDatagram: host,
          message: `frame ${host.frame} (${host.text}) at ${host.timeMs.toFixed(3)} ms: the host sent it, ustack sent nothing like it`,
        },
      });
      continue;
    }
    taken.add(index);
    matched++;
    for (const divergence of compareDatagrams(host, actual[index], settings)) found.push({ at: host.timeMs, divergence });
  }
  actual.forEach((datagram, index) => {
    if (taken.has(index)) return;
    found.push({
      at: datagram.timeMs,
      divergence: {
        kind: 'extra',
        conversation: 0,
        datagram: datagram.key,
        frames: { replay: datagram.frame },
        actualDatagram: datagram,
        message: `replay frame ${datagram.frame} (${datagram.text}) at ${datagram.timeMs.toFixed(3)} ms: ustack sent it, the host sent nothing like it`,
      },
    });
  });
  found.sort((a, b) => a.at - b.at);
  return { divergences: found.map((entry) => entry.divergence), expected: expected.length, actual: actual.length, matched };
}

/** The divergences of one lined-up pair, one per field that differs. */
function compareDatagrams(expected: DecodedDatagram, actual: DecodedDatagram, settings: DatagramCompareSettings): Divergence[] {
  const found: Divergence[] = [];
  const add = (kind: DivergenceKind, detail: string) =>
    found.push({
      kind,
      conversation: 0,
      datagram: expected.key,
      frames: { capture: expected.frame, replay: actual.frame },
      expectedDatagram: expected,
      actualDatagram: actual,
      message: `frame ${expected.frame} (${expected.text}): ${detail}`,
    });
  if (expected.payload.length !== actual.payload.length)
    add('payload', `ustack's carries ${actual.payload.length} bytes, the host's ${expected.payload.length}`);
  else {
    const at = expected.payload.findIndex((byte, index) => actual.payload[index] !== byte);
    if (at >= 0) add('payload', `differs from byte ${at}: ustack 0x${hex(actual.payload[at])}, the host 0x${hex(expected.payload[at])}`);
  }
  if (expected.ttl !== actual.ttl || expected.dontFragment !== actual.dontFragment || expected.tos !== actual.tos)
    add(
      'ip',
      `ustack's IP header TTL ${actual.ttl}, DF ${actual.dontFragment ? 1 : 0}, TOS 0x${hex(actual.tos)}; the host's TTL ${expected.ttl}, DF ${expected.dontFragment ? 1 : 0}, TOS 0x${hex(expected.tos)}`,
    );
  if (expected.errorField !== actual.errorField) add('payload', `ustack's ${actual.errorField}, the host's ${expected.errorField}`);
  if (expected.ipOptions !== actual.ipOptions)
    add('ip', `ustack's IP ${expected.family === 6 ? 'extension headers' : 'options'} <${actual.ipOptions}>, the host's <${expected.ipOptions}>`);
  if (expected.fragments !== actual.fragments) add('ip', `ustack sent it in ${actual.fragments} fragment(s), the host in ${expected.fragments}`);
  const late = actual.timeMs - expected.timeMs;
  if (Math.abs(late) > settings.timeMs)
    add(
      'timing',
      `ustack sent it at ${ms(actual.timeMs)}, the host at ${ms(expected.timeMs)}: ${ms(Math.abs(late))} ${late > 0 ? 'later' : 'earlier'} (tolerance ${ms(settings.timeMs)})`,
    );
  return found;
}

function hex(value: number): string {
  return value.toString(16).padStart(2, '0');
}
