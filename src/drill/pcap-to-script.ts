/**
 * One TCP conversation of a capture as a packetdrill script (`ustack pcap2drill`): the host the
 * caller names plays the stack under test, so its segments become outbound lines (`> …`) and
 * its peer's inbound ones (`< …`), with the system calls that explain them — a host that answered
 * a SYN with a SYN-ACK listened and accepted, one that sent the SYN connected, data it sent was
 * written, data it received was read as it arrived, a FIN it sent was a close (or `shutdown(SHUT_WR)` when
 * data still came in after it).
 *
 * Numbers follow packetdrill's conventions (docs/drill.md, "Sequence numbers and timestamps"):
 * the peer's sequence numbers are relative to its ISN (the script's ISN is 0, so its SYN is
 * `0:0(0)`), the host's relative to its own ISN, each `ack` and SACK block relative to the ISN of
 * the side whose data it acknowledges; the host's TS val relative to the first one it sent (and
 * the peer's TS ecr with it), the peer's TS val and the host's ecr as on the wire. Times are
 * `+seconds` from the previous line, to the microsecond, as the capture stamped them.
 *
 * Left out on purpose, so that a capture of another system's stack still makes a test of
 * behaviour: the host's window (`win`, which depends on its buffer sizes) and IP ECN marks.
 *
 * IPv6 conversations (a `host` of IPv6 text) make a script with packetdrill's own
 * `--ip_version=ipv6` line, so `ustack drill` runs it in ipv6 mode; like an IPv4 one it names no
 * address (the runner's defaults for the mode stand for the capture's two ends).
 */
import { IpProtocol, Ipv4Packet, parseIpv4, type Ipv4Repr } from '../ip/ipv4.js';
import type { Ipv4Address } from '../ip/address.js';
import { formatIpAddress, ipFamily, ipv6Text, type IpAddress } from '../ip/ip-address.js';
import { Ipv6NextHeader, Ipv6Packet, parseIpv6 } from '../ip/ipv6.js';
import { parseIpv6ExtensionHeaders } from '../ip/ipv6-extension-headers.js';
import { LinkType } from '../pcap/link-type.js';
import type { CaptureRecord } from '../pcap/capture.js';
import { timestampToMs } from '../pcap/timestamp.js';
import { seqSub } from '../tcp/seq.js';
import { formatTcpOptions } from '../tcp/tcp-option-text.js';
import type { TcpOption } from '../tcp/tcp-options.js';
import { parseTcp, TcpFlag, TcpPacket, type TcpRepr } from '../tcp/tcp-packet.js';
import { lettersFromFlags } from './wire.js';

/** EtherType of IPv4 (RFC 894), of IPv6 (RFC 2464) and of an 802.1Q tag (IEEE 802.1Q) in front of them. */
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;

/**
 * A TCP segment of the capture, with where and when it travelled. Its addresses are IpAddress
 * values (an IPv4 uint32 or IPv6 RFC 5952 text, so `===` compares both); `A` narrows them to one
 * family (IPv4 by default: what `ustack replay` plays).
 */
export interface CapturedSegment<A extends IpAddress = Ipv4Address> {
  /** Its frame number in the capture, counting from 1 (as tshark and `ustack dissect` do). */
  readonly frame: number;
  /** Milliseconds since the epoch, as the capture stamped it. */
  readonly timeMs: number;
  readonly source: A;
  readonly destination: A;
  /**
   * The IP header's fields a sender chooses (replay compares them and injects them as captured).
   * Over IPv6: `ttl` is the Hop Limit, `dscp`/`ecn` the Traffic Class's, `dontFragment` true (no
   * router fragments IPv6, RFC 8200 §4.5) and `identification` 0 (only a Fragment header has one).
   */
  readonly ip: Pick<Ipv4Repr, 'ttl' | 'dscp' | 'ecn' | 'dontFragment' | 'identification'>;
  readonly tcp: TcpRepr;
}

/** One TCP conversation: its two ends (as first seen) and its segments in capture order. */
export interface TcpConversation<A extends IpAddress = Ipv4Address> {
  readonly first: { readonly address: A; readonly port: number };
  readonly second: { readonly address: A; readonly port: number };
  readonly segments: readonly CapturedSegment<A>[];
}

/** What pcapToScript needs besides the records. */
export interface PcapToScriptOptions<A extends IpAddress = Ipv4Address> {
  /**
   * The address of the stack under test: one end of the conversation. Its family chooses the
   * conversations: IPv4 ones for a number, IPv6 ones for IPv6 text (ip-address.ts's form).
   */
  readonly host: A;
  /** Which TCP conversation of the capture, counting from 1 in order of first appearance (default 1). */
  readonly conversation?: number;
  /** Shown in the script's header comment (the capture's file name). */
  readonly sourceName?: string;
}

/** Why a capture could not be turned into a script: one line for the user. */
export class PcapToScriptError extends Error {
  override readonly name = 'PcapToScriptError';
}

/**
 * The IPv4 packet a record carries, by its link type (Ethernet with or without one VLAN tag,
 * raw IP, IPv4, Linux cooked capture v1 and v2); undefined for anything else.
 */
export function ipv4PacketOfRecord(record: CaptureRecord): Uint8Array | undefined {
  return ipPacketOfRecord(record, 4);
}

/** The IPv6 packet a record carries, by the same link types and LINKTYPE_IPV6; undefined for anything else. */
export function ipv6PacketOfRecord(record: CaptureRecord): Uint8Array | undefined {
  return ipPacketOfRecord(record, 6);
}

function ipPacketOfRecord(record: CaptureRecord, family: 4 | 6): Uint8Array | undefined {
  const data = record.data;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const wanted = family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
  const after = (offset: number, etherType: number): Uint8Array | undefined =>
    etherType === wanted && data.length > offset ? data.subarray(offset) : undefined;
  switch (record.linkType) {
    case LinkType.RAW:
      return data.length > 0 && data[0] >> 4 === family ? data : undefined;
    case LinkType.IPV4:
      return family === 4 && data.length > 0 && data[0] >> 4 === 4 ? data : undefined;
    case LinkType.IPV6:
      return family === 6 && data.length > 0 && data[0] >> 4 === 6 ? data : undefined;
    case LinkType.ETHERNET: {
      if (data.length < 14) return undefined;
      const etherType = view.getUint16(12);
      if (etherType === ETHERTYPE_VLAN) return data.length < 18 ? undefined : after(18, view.getUint16(16));
      return after(14, etherType);
    }
    case LinkType.LINUX_SLL:
      return data.length < 16 ? undefined : after(16, view.getUint16(14));
    case LinkType.LINUX_SLL2:
      return data.length < 20 ? undefined : after(20, view.getUint16(0));
    default:
      return undefined;
  }
}

/** The TCP segment a record carries, or undefined (not IPv4 TCP, a fragment, or malformed). */
function tcpSegmentOf(record: CaptureRecord): CapturedSegment | undefined {
  const bytes = ipv4PacketOfRecord(record);
  if (!bytes) return undefined;
  const packet = Ipv4Packet.checked(bytes);
  if (!packet.ok) return undefined;
  // Checksums are not verified: a capture taken with offloads on holds partial ones.
  const ip = parseIpv4(packet.value, { verifyChecksum: false });
  if (!ip.ok || ip.value.protocol !== IpProtocol.TCP || ip.value.moreFragments || ip.value.fragmentOffset !== 0) return undefined;
  const view = TcpPacket.checked(packet.value.payload);
  if (!view.ok) return undefined;
  const tcp = parseTcp(view.value, { verifyChecksum: false, optionParsing: 'lenient' });
  if (!tcp.ok) return undefined;
  return { frame: record.index + 1, timeMs: timestampToMs(record), source: ip.value.source, destination: ip.value.destination, ip: ip.value, tcp: tcp.value };
}

/**
 * The TCP segment an IPv6 record carries, past any extension headers (RFC 8200 §4), or
 * undefined: not TCP, malformed, or a fragment (a piece of a segment is not one; an atomic
 * fragment, offset 0 without M, is a whole packet, RFC 8021 §2, and is read).
 */
function tcpSegmentOf6(record: CaptureRecord): CapturedSegment<string> | undefined {
  const bytes = ipv6PacketOfRecord(record);
  if (!bytes) return undefined;
  const packet = Ipv6Packet.checked(bytes);
  if (!packet.ok) return undefined;
  const ip = parseIpv6(packet.value);
  if (!ip.ok) return undefined;
  // The chain's rules are a receiver's (a Routing header with Segments Left is refused): such a
  // packet was not yet at the end it was captured going to, so it is no segment of the conversation.
  const chain = parseIpv6ExtensionHeaders(packet.value.payload, ip.value.nextHeader);
  if (!chain.ok || chain.value.upperLayer !== Ipv6NextHeader.TCP) return undefined;
  const fragment = chain.value.fragment;
  if (fragment && (fragment.moreFragments || fragment.fragmentOffset !== 0)) return undefined;
  const view = TcpPacket.checked(packet.value.bytes.subarray(chain.value.upperLayerOffset, 40 + ip.value.payloadLength));
  if (!view.ok) return undefined;
  // Checksums are not verified, as over IPv4 (offloads), so the pseudo-header is not needed.
  const tcp = parseTcp(view.value, { verifyChecksum: false, optionParsing: 'lenient' });
  if (!tcp.ok) return undefined;
  const { hopLimit, dscp, ecn } = ip.value;
  return {
    frame: record.index + 1,
    timeMs: timestampToMs(record),
    source: ipv6Text(ip.value.source),
    destination: ipv6Text(ip.value.destination),
    ip: { ttl: hopLimit, dscp, ecn, dontFragment: true, identification: 0 },
    tcp: tcp.value,
  };
}

/** The capture's TCP conversations of one family (IPv4 unless asked), by address and port pair, in order of first appearance. */
export function tcpConversations(records: readonly CaptureRecord[]): TcpConversation[];
export function tcpConversations(records: readonly CaptureRecord[], family: 6): TcpConversation<string>[];
export function tcpConversations(records: readonly CaptureRecord[], family: 4 | 6): TcpConversation<IpAddress>[];
export function tcpConversations(records: readonly CaptureRecord[], family: 4 | 6 = 4): TcpConversation<IpAddress>[] {
  type End = TcpConversation<IpAddress>['first'];
  const byKey = new Map<string, { first: End; second: End; segments: CapturedSegment<IpAddress>[] }>();
  for (const record of records) {
    const segment: CapturedSegment<IpAddress> | undefined = family === 4 ? tcpSegmentOf(record) : tcpSegmentOf6(record);
    if (!segment) continue;
    const a = `${segment.source}/${segment.tcp.srcPort}`;
    const b = `${segment.destination}/${segment.tcp.dstPort}`;
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    let conversation = byKey.get(key);
    if (!conversation) {
      conversation = {
        first: { address: segment.source, port: segment.tcp.srcPort },
        second: { address: segment.destination, port: segment.tcp.dstPort },
        segments: [],
      };
      byKey.set(key, conversation);
    }
    conversation.segments.push(segment);
  }
  return [...byKey.values()];
}

/** `+0`, `+0.1`, `+1.000250`: seconds from the previous line, to the microsecond, no trailing zeros. */
function relativeTime(ms: number): string {
  const microseconds = Math.max(0, Math.round(ms * 1000));
  if (microseconds === 0) return '+0';
  const text = (microseconds / 1e6).toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
  return `+${text}`;
}

/** Sequence-number arithmetic relative to an ISN, as an unsigned 32-bit offset. */
function relative(value: number, isn: number): number {
  return seqSub(value, isn) >>> 0;
}

/** A system call of the host's application that a script line stands for. */
export interface ApplicationCall {
  /** The call. */
  readonly name: 'socket' | 'setsockopt' | 'bind' | 'listen' | 'fcntl' | 'connect' | 'accept' | 'write' | 'read' | 'close' | 'shutdown';
  /** The script's descriptor: 3 the first socket, 4 an accepted one. */
  readonly fd: number;
  /** Bytes written or read. */
  readonly length?: number;
}

/** One line of the script: a system call, a segment, or a backtick setting, at its capture time. */
export type ConversationStep<A extends IpAddress = Ipv4Address> =
  | { readonly kind: 'call'; readonly timeMs: number; readonly text: string; readonly call: ApplicationCall }
  | { readonly kind: 'segment'; readonly timeMs: number; readonly text: string; readonly outbound: boolean; readonly segment: CapturedSegment<A> }
  | { readonly kind: 'setting'; readonly text: string };

/**
 * What pcapToScript reads out of one conversation, before it is text: the host's end and its
 * peer's, how the host's application used its socket, and every line in order with the segment
 * or call behind it. `ustack replay` plays the same plan into a stack (src/replay/replay.ts), so
 * the rules that infer the application (listen or connect, one write per turn, close or
 * shutdown) have one owner.
 */
export interface ConversationPlan<A extends IpAddress = Ipv4Address> {
  /** Which conversation of the capture, from 1. */
  readonly number: number;
  /** The host's end. */
  readonly host: TcpConversation<A>['first'];
  /** The peer's end. */
  readonly peer: TcpConversation<A>['first'];
  /** The host sent the SYN (connected). */
  readonly hostOpened: boolean;
  /** The host answered the SYN with a SYN-ACK (listened). */
  readonly hostListened: boolean;
  /** The host's ISN (0 when it sent no SYN). */
  readonly hostIsn: number;
  /** The peer's ISN (0 when it sent no SYN). */
  readonly peerIsn: number;
  /** The host's first TS val, the origin of its relative ones. */
  readonly firstHostTsVal: number | undefined;
  /** Every line of the script in order. */
  readonly steps: readonly ConversationStep<A>[];
}

/**
 * Turns one TCP conversation of `records` into packetdrill script text (lines joined with
 * newlines, ending with one). Throws PcapToScriptError when the capture has no such
 * conversation, the host is not one of its ends, or it does not start with a SYN (sequence
 * numbers could not be made relative to the ISNs a script assumes).
 */
export function pcapToScript<A extends IpAddress>(records: readonly CaptureRecord[], options: PcapToScriptOptions<A>): string {
  return planToScript(planConversation(records, options), options.sourceName);
}

/** The script text of a plan (see pcapToScript). */
export function planToScript<A extends IpAddress>(plan: ConversationPlan<A>, sourceName?: string): string {
  const lines: string[] = [
    `// ${sourceName ?? 'capture'}, TCP conversation ${plan.number}: ${describeEnd(plan.host)} (the stack under test) with ${describeEnd(plan.peer)}.`,
    "// Written by `ustack pcap2drill`; the host's window and IP ECN marks are left unchecked.",
  ];
  // packetdrill scripts state the mode they need in an option line (FreeBSD's *-ipv6.pkt do);
  // `ustack drill` then uses its ipv6 defaults (fd3d:fa7b:d17d::1, 2001:db8::1) for the two ends.
  if (ipFamily(plan.host.address) === 6) lines.push('--ip_version=ipv6');
  let lastMs: number | undefined;
  for (const step of plan.steps) {
    if (step.kind === 'setting') {
      lines.push(step.text);
      continue;
    }
    lines.push(`${lastMs === undefined ? '0' : relativeTime(step.timeMs - lastMs)} ${step.text}`);
    lastMs = step.timeMs;
  }
  return `${lines.join('\n')}\n`;
}

/** `10.0.0.1:80`, `[fd00::1]:80` (RFC 5952 §6). */
function describeEnd(end: { readonly address: IpAddress; readonly port: number }): string {
  const text = formatIpAddress(end.address);
  return ipFamily(end.address) === 6 ? `[${text}]:${end.port}` : `${text}:${end.port}`;
}

/**
 * One conversation of `records` as a plan (see ConversationPlan); throws PcapToScriptError as
 * pcapToScript does. Conversations are counted among those of the host's family.
 */
export function planConversation<A extends IpAddress>(records: readonly CaptureRecord[], options: PcapToScriptOptions<A>): ConversationPlan<A> {
  const family = ipFamily(options.host);
  const conversations = tcpConversations(records, family) as TcpConversation<A>[];
  const number = options.conversation ?? 1;
  if (conversations.length === 0) throw new PcapToScriptError(`the capture holds no IPv${family} TCP segment`);
  if (number < 1 || number > conversations.length) {
    throw new PcapToScriptError(`the capture holds ${conversations.length} TCP conversation${conversations.length === 1 ? '' : 's'}, not ${number}`);
  }
  const conversation = conversations[number - 1];
  const { first, second } = conversation;
  const describe = describeEnd;
  const host = first.address === options.host ? first : second.address === options.host ? second : undefined;
  if (!host || first.address === second.address) {
    throw new PcapToScriptError(
      first.address === second.address
        ? `conversation ${number} (${describe(first)} - ${describe(second)}) has the same address at both ends: --host cannot tell them apart`
        : `${formatIpAddress(options.host)} is not an end of conversation ${number} (${describe(first)} - ${describe(second)})`,
    );
  }
  const peer = host === first ? second : first;
  const segments = conversation.segments;
  const opening = segments[0];
  if ((opening.tcp.flags & TcpFlag.SYN) === 0 || (opening.tcp.flags & TcpFlag.ACK) !== 0) {
    throw new PcapToScriptError(`conversation ${number} does not start with a SYN: the script's sequence numbers need the ISNs of its handshake`);
  }
  const isOutbound = (segment: CapturedSegment<A>) => segment.source === host.address && segment.tcp.srcPort === host.port;
  const hostOpened = isOutbound(opening);

  // The ISNs: each side's SYN; a side that never sent one (a closed port's RST) counts from 0.
  const synOf = (outbound: boolean) => segments.find((s) => isOutbound(s) === outbound && (s.tcp.flags & TcpFlag.SYN) !== 0);
  const hostIsn = synOf(true)?.tcp.seq ?? 0;
  const peerIsn = synOf(false)?.tcp.seq ?? 0;
  const hostListened = !hostOpened && segments.some((s) => isOutbound(s) && (s.tcp.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK));
  const firstHostTsVal = segments.filter(isOutbound).flatMap((s) => s.tcp.options.filter((o) => o.kind === 'timestamps'))[0]?.tsVal;
  const hostTsVal = (value: number) => (firstHostTsVal === undefined ? value : relative(value, firstHostTsVal));

  const steps: ConversationStep<A>[] = [];
  const emit = (timeMs: number, text: string, call: ApplicationCall) => steps.push({ kind: 'call', timeMs, text, call });
  const emitSegment = (segment: CapturedSegment<A>, outbound: boolean, text: string) =>
    steps.push({ kind: 'segment', timeMs: segment.timeMs, text, outbound, segment });

  const SOCKET = 3;
  let fd = hostOpened ? SOCKET : -1;
  if (hostOpened) {
    // A host that asked for ECN in its SYN is what ustack does by default; one that did not had it off.
    if ((opening.tcp.flags & (TcpFlag.ECE | TcpFlag.CWR)) === 0) steps.push({ kind: 'setting', text: '`sysctl -q net.ipv4.tcp_ecn=0`' });
    emit(opening.timeMs, `socket(..., SOCK_STREAM, IPPROTO_TCP) = ${SOCKET}`, { name: 'socket', fd: SOCKET });
    emit(opening.timeMs, `fcntl(${SOCKET}, F_SETFL, O_RDWR|O_NONBLOCK) = 0`, { name: 'fcntl', fd: SOCKET });
    emit(opening.timeMs, `connect(${SOCKET}, ..., ...) = -1 EINPROGRESS (Operation now in progress)`, { name: 'connect', fd: SOCKET });
  } else if (hostListened) {
    // A peer that did not ask for ECN met a kernel, not ustack (whose SYN asks): name Linux's
    // default (tcp_ecn=2, ECN only when asked), which also runs the script on the Linux profile —
    // its quick-ACK rules, not ustack's portable ones, are what the capture recorded.
    if ((opening.tcp.flags & (TcpFlag.ECE | TcpFlag.CWR)) === 0) steps.push({ kind: 'setting', text: '`sysctl -q net.ipv4.tcp_ecn=2`' });
    emit(opening.timeMs, `socket(..., SOCK_STREAM, IPPROTO_TCP) = ${SOCKET}`, { name: 'socket', fd: SOCKET });
    emit(opening.timeMs, `setsockopt(${SOCKET}, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0`, { name: 'setsockopt', fd: SOCKET });
    emit(opening.timeMs, `bind(${SOCKET}, ..., ...) = 0`, { name: 'bind', fd: SOCKET });
    emit(opening.timeMs, `listen(${SOCKET}, 1) = 0`, { name: 'listen', fd: SOCKET });
  }

  let accepted = false;
  let closed = false;
  let shutDown = false;
  let hostSentEnd = 1; // relative sequence number past the last data the host wrote
  let bytesRead = 0;
  let writing = false; // inside the data of one write (until the peer's next data)
  // The peer's data as the host's TCP delivered it: in order, from relative sequence number 1.
  let delivered = 0;
  const heldOutOfOrder: { start: number; end: number }[] = [];
  const receive = (start: number, end: number) => {
    heldOutOfOrder.push({ start, end });
    heldOutOfOrder.sort((a, b) => a.start - b.start);
    while (heldOutOfOrder.length > 0 && heldOutOfOrder[0].start <= delivered + 1) {
      delivered = Math.max(delivered, heldOutOfOrder.shift()!.end - 1);
    }
  };
  const unreadBytes = () => (fd >= 0 && !closed ? delivered - bytesRead : 0);
  const read = (timeMs: number, count: number) => {
    emit(timeMs, `read(${fd}, ..., ${count}) = ${count}`, { name: 'read', fd, length: count });
    bytesRead += count;
  };
  /** The host's FIN (segment `finIndex`) as the call that asked for it, at `timeMs`. */
  const endSending = (timeMs: number, finIndex: number) => {
    if (fd < 0 || closed || shutDown) return;
    // Whatever arrived was read first: close() with unread data resets.
    const unread = unreadBytes();
    if (unread > 0) read(timeMs, unread);
    // A host that still received data after its FIN had only shut its sending side (a closed
    // socket answers data with a RST, RFC 9293 §3.6).
    const peerSendsLater = segments.slice(finIndex + 1).some((later) => !isOutbound(later) && later.tcp.payload.length > 0);
    if (peerSendsLater) {
      emit(timeMs, `shutdown(${fd}, SHUT_WR) = 0`, { name: 'shutdown', fd });
      shutDown = true;
    } else {
      emit(timeMs, `close(${fd}) = 0`, { name: 'close', fd });
      closed = true;
    }
  };

  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index];
    const tcp = segment.tcp;
    const outbound = isOutbound(segment);
    const ownIsn = outbound ? hostIsn : peerIsn;
    const otherIsn = outbound ? peerIsn : hostIsn;
    const seq = relative(tcp.seq, ownIsn);
    const ack = relative(tcp.ack, otherIsn);
    const hasAck = (tcp.flags & TcpFlag.ACK) !== 0;
    const length = tcp.payload.length;
    const options = tcp.options.map((option): TcpOption => {
      if (option.kind === 'sack') {
        return { ...option, blocks: option.blocks.map((b) => ({ leftEdge: relative(b.leftEdge, otherIsn), rightEdge: relative(b.rightEdge, otherIsn) })) };
      }
      if (option.kind === 'timestamps') {
        return outbound ? { ...option, tsVal: hostTsVal(option.tsVal) } : { ...option, tsEcr: option.tsEcr === 0 ? 0 : hostTsVal(option.tsEcr) };
      }
      return option;
    });
    const optionText = options.length > 0 ? ` <${formatTcpOptions(options)}>` : '';
    const packet = `${lettersFromFlags(tcp.flags)} ${seq}:${(seq + length) >>> 0}(${length})${hasAck ? ` ack ${ack}` : ''}`;

    if (outbound) {
      const fin = (tcp.flags & TcpFlag.FIN) !== 0;
      const newData = Math.max(0, seq + length - hostSentEnd);
      if (newData > 0 && fd >= 0 && !closed && !shutDown && !writing) {
        // One write for all the data the host sends until the peer's next data (the next turn of
        // a request and answer) or its own FIN: where one write ended is not on the wire, and
        // writing less than the stack had queued would move its PSH flags and its sending.
        let total = 0;
        let finWithData: number | undefined;
        for (let next = index; next < segments.length; next++) {
          const nextSegment = segments[next];
          if (!isOutbound(nextSegment)) {
            if (nextSegment.tcp.payload.length > 0) break;
            continue;
          }
          const end = relative(nextSegment.tcp.seq, hostIsn) + nextSegment.tcp.payload.length;
          total = Math.max(total, end - hostSentEnd);
          if ((nextSegment.tcp.flags & TcpFlag.FIN) !== 0) {
            if (nextSegment.tcp.payload.length > 0) finWithData = next;
            break;
          }
        }
        emit(segment.timeMs, `write(${fd}, ..., ${total}) = ${total}`, { name: 'write', fd, length: total });
        writing = true;
        // A FIN that rides on this write's data was asked for before that data left: at once.
        if (finWithData !== undefined) endSending(segment.timeMs, finWithData);
      }
      hostSentEnd = Math.max(hostSentEnd, seq + length);
      if (fin) endSending(segment.timeMs, index);
      emitSegment(segment, true, `> ${packet}${optionText}`);
    } else {
      if (length > 0) writing = false;
      if (length > 0 && (tcp.flags & TcpFlag.SYN) === 0) receive(seq, seq + length);
      emitSegment(segment, false, `< ${packet} win ${tcp.window}${optionText}`);
      // A listener's accept() returns once the handshake's final ACK arrived.
      if (hostListened && !accepted && hasAck && (tcp.flags & TcpFlag.SYN) === 0 && ack >= 1) {
        emit(segment.timeMs, `accept(${SOCKET}, ..., ...) = 4`, { name: 'accept', fd: SOCKET });
        accepted = true;
        fd = 4;
      }
      // An application blocked in read() takes what arrived once the run of inbound segments
      // that arrived together has been taken in (it runs after the stack, as it did when captured).
      const next = segments[index + 1];
      const endOfRun = next === undefined || isOutbound(next) || next.timeMs !== segment.timeMs;
      const unread = unreadBytes();
      if (endOfRun && unread > 0) read(segment.timeMs, unread);
    }
  }
  return { number, host, peer, hostOpened, hostListened, hostIsn, peerIsn, firstHostTsVal, steps };
}
