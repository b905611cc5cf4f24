/**
 * Replays a capture into ustack (`replayCapture`, `ustack replay`): the TCP segments that arrived
 * at the host are played into a fresh stack in virtual time at their recorded spacing, the host's
 * application is played from what the capture shows it did, and what ustack sends is compared
 * with what the host sent (src/replay/compare.ts).
 *
 * It drives a stack directly rather than running pcap2drill's script through the drill runner:
 * the runner stops at the first failure, writes zeros for data, leaves windows unchecked and
 * knows one flow per script, while a replay must collect every divergence, compare payloads
 * byte for byte and windows within a tolerance, name capture frames, and play every
 * conversation of the host into one stack. What pcap2drill knows it still owns: the
 * conversations (`tcpConversations`) and the host's application inferred from them
 * (`planConversation`: listen and accept, or connect; one write per turn; reads; close or
 * shutdown) come from src/drill/pcap-to-script.ts.
 *
 * The replay is open loop, as packetdrill is: inbound segments go in at their captured times
 * whatever ustack sent, with the host's numbers mapped to ustack's (the acknowledgement and SACK
 * blocks by the difference of the ISNs, the TS echo by the difference of the first TS vals, the
 * destination port to the one ustack chose when it connected). So ustack's output can be
 * compared once the run is over, and lined up with the capture's as a whole.
 */
import { readFile } from 'node:fs/promises';
import { ManualClock } from '../core/clock.js';
import { IpProtocol } from '../ip/ipv4.js';
import { parseIpv4Address } from '../ip/address.js';
import { formatIpAddress, ipFamily, ipv6Text, type IpAddress } from '../ip/ip-address.js';
import { formatIpv6Address, parseIpv6Address } from '../ip/ipv6-address.js';
import { IPV6_MINIMUM_MTU, Ipv6NextHeader } from '../ip/ipv6.js';
import type { FrameReceiver, Link } from '../link/link.js';
import { readCaptureUpToCut } from '../pcap/capture-cut.js';
import type { CaptureRecord } from '../pcap/capture.js';
import { LinuxSllHeader } from '../dissect/linux-sll.js';
import { LinuxSll2Header } from '../dissect/linux-sll2.js';
import { LinkType } from '../pcap/link-type.js';
import { PcapWriter } from '../pcap/pcap-writer.js';
import { timestampToMs } from '../pcap/timestamp.js';
import { BerkeleySockets } from '../socket-api/berkeley.js';
import { Stack } from '../socket-api/stack.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from '../tcp/config.js';
import { LINUX_PROFILE } from '../tcp/profiles.js';
import { TcpFlag } from '../tcp/tcp-packet.js';
import { decodeFrame } from '../drill/wire.js';
import {
  planConversation,
  PcapToScriptError,
  tcpConversations,
  type ApplicationCall,
  type CapturedSegment,
  type ConversationPlan,
} from '../drill/pcap-to-script.js';
import { decodeSegment, type Divergence, type ReplayTolerances, type SentSegment } from './compare.js';
import { diffConversation, windowScaleOf, type UstackSide } from './diff.js';
import { hostStream, inferredCalls, ReplayApplication, type TimedCall } from './application.js';
import { inboundFrame, lostBeforeHost } from './inbound.js';
import { inferReads } from './reads.js';
import {
  assembleDatagrams,
  capturedPacket,
  capturedPackets,
  inboundPacket,
  isForwardingError,
  linkFrames,
  quoteAsPlayed,
  quotedDatagram,
  datagramSocketsOf,
  endpointText,
  isLinkIcmpv6,
  parseEndpoint,
  type CapturedPacket,
  type DatagramSocket,
} from './datagrams.js';
import { decodeDatagram, diffDatagrams } from './datagram-compare.js';
import * as C from '../socket-api/berkeley-constants.js';

export type { DecodedSegment, Divergence, DivergenceKind, ReplayTolerances } from './compare.js';
export type { ApplicationCall } from '../drill/pcap-to-script.js';
export type { TimedCall } from './application.js';
export type { DatagramSend, DatagramSocket } from './datagrams.js';
export type { DecodedDatagram } from './datagram-compare.js';

/**
 * Linux's defaults where they differ from ustack's (`linux: true`): the Linux profile of the
 * drill (src/tcp/profiles.ts: its quick-ACK, window-update, RTT, congestion-control rules), ECN
 * as Linux's tcp_ecn=2 (answer a peer that asks, never ask), tcp_rmem[2] of 32 MiB, whose
 * window-scale shift (10) is what Linux 6.x offers on its SYNs, and Linux's receive window
 * (rcv_ssthresh, truesize accounting, autotuning) from tcp_rmem[1] — with it every kernel fixture
 * replays with fewer divergences than with ustack's free-space window (docs/replay.md). A capture
 * of TUN devices has its segments cost what TUN's buffers do (TUN_SEGMENT_OVERHEAD).
 */
export const LINUX_REPLAY_CONFIG: Partial<TcpConfig> = {
  ...LINUX_PROFILE,
  ecn: 'accept',
  receiveBufferMax: 32 * 1024 * 1024,
  // Linux's receive window (src/tcp/receive-window.ts) from tcp_rmem[1], its initial buffer.
  receiveWindowGrowth: 'linux',
  receiveBufferSize: 131072,
};

/**
 * What a received segment costs a Linux host beyond its payload when it came through a TUN
 * device (TcpConfig.receiveSegmentOverhead; veth's 768 is the default). tun_get_user copies a
 * packet under a page into one linear buffer (tun_alloc_skb): 64 bytes of headroom
 * (NET_SKB_PAD) and a 1500-byte packet round up, with skb_shared_info, to a 2 KiB kmalloc
 * block, and the sk_buff adds 256 — truesize 2304 for 1448 bytes of payload.
 */
export const TUN_SEGMENT_OVERHEAD = 2304 - 1448;

/** ARPHRD_NONE: the device type a cooked capture gives a TUN device's packets. */
const ARPHRD_NONE = 0xfffe;

/**
 * Whether the capture's TCP frames came through TUN devices: a capture of bare IP packets
 * (LINKTYPE_RAW, _IPV4, _IPV6: what a TUN device carries), or a cooked one whose device type is
 * ARPHRD_NONE. The host's buffers then cost what TUN's do (TUN_SEGMENT_OVERHEAD).
 */
function capturedOnTun(records: readonly CaptureRecord[]): boolean {
  const bare: number[] = [LinkType.RAW, LinkType.IPV4, LinkType.IPV6];
  const deviceType = (record: CaptureRecord): number | undefined => {
    if (record.linkType === LinkType.LINUX_SLL) {
      const header = LinuxSllHeader.checked(record.data);
      return header.ok ? header.value.hardwareType : undefined;
    }
    if (record.linkType === LinkType.LINUX_SLL2) {
      const header = LinuxSll2Header.checked(record.data);
      return header.ok ? header.value.hardwareType : undefined;
    }
    return undefined;
  };
  return records.length > 0 && records.every((r) => bare.includes(r.linkType) || deviceType(r) === ARPHRD_NONE);
}

/** What the host's application did in one conversation. */
export interface ConversationSockets {
  /** The conversation (from 1, in order of first appearance in the capture). */
  readonly conversation: number;
  /** Its calls in order. */
  readonly calls: readonly TimedCall[];
}

/** What replayCapture needs besides the capture. */
export interface ReplayOptions {
  /** The address in the capture that ustack plays (`10.0.0.2`, `fd00::2`): its family chooses the packets replayed. */
  readonly host: string;
  /**
   * What the host's application did: inferred from the capture (default; `inferSockets` shows
   * it), or given per conversation (conversations not listed stay inferred).
   */
  readonly sockets?: 'inferred' | readonly ConversationSockets[];
  /**
   * When the host's application read: `'runs'` once per run of segments that arrived together,
   * as pcap2drill's scripts do; `'window'` lazily, as the host's advertised windows show
   * (inferReads in src/replay/reads.ts: a Linux host, its buffer as `tcp`'s receiveBufferSize
   * and receiveSegmentOverhead say). Default: `'window'` when `tcp` (or the Linux profile) has
   * Linux's window (receiveWindowGrowth 'linux'), else `'runs'`.
   */
  readonly reads?: 'runs' | 'window';
  /** Replay with Linux's defaults (LINUX_REPLAY_CONFIG) rather than ustack's. */
  readonly linux?: boolean;
  /** Options compared as laid out, PSH compared, windows exact (default false). */
  readonly strict?: boolean;
  /** How far times, windows and TS vals may stray. */
  readonly tolerances?: ReplayTolerances;
  /** TCP settings over the defaults (after the Linux ones with `linux`). */
  readonly tcp?: Partial<TcpConfig>;
  /** Only these conversations (default: every TCP conversation the host is an end of). */
  readonly conversations?: readonly number[];
  /**
   * Replay the host's UDP and ICMP too (default: yes, unless `conversations` picks TCP ones):
   * the packets that reached it go in as captured, its UDP sockets send what it sent.
   */
  readonly datagrams?: boolean;
  /**
   * The host's UDP sockets: inferred from the capture (default; `inferDatagramSockets` shows
   * them), or given — each bound to a port of the host, with the datagrams it sent and when.
   */
  readonly datagramSockets?: 'inferred' | readonly DatagramSocket[];
  /** Seed of the stack's Rng (default 1). */
  readonly seed?: number;
}

/** What was replayed of one conversation. */
export interface ReplayedConversation {
  /** Its number in the capture. */
  readonly number: number;
  /** `10.1.1.2:5001`, `[fd00::2]:5001`. */
  readonly host: string;
  /** `10.1.1.1:55010`, `[fd00::1]:55010`. */
  readonly peer: string;
  /** What the host's application did: listened, connected, or nothing (a closed port's RST). */
  readonly role: 'listened' | 'connected' | 'none';
  /** The peer's segments played into ustack. */
  readonly inbound: number;
  /**
   * The peer's segments that the capture shows but the host never received (the tap was before
   * a loss: the host acknowledged later data and not these, and the peer sent them again); not played.
   */
  readonly lostBeforeHost: readonly number[];
  /**
   * ustack's data segments (replay frame numbers) that the capture shows the host sending only
   * later, after data beyond them: the host's first transmission was lost before the tap, so
   * these are not counted as extra.
   */
  readonly unseenByTap: readonly number[];
  /** The host's segments in the capture. */
  readonly expected: number;
  /** ustack's segments in the replay (up to the capture's end). */
  readonly actual: number;
  /** How many of the two lined up (each pair then compared field by field). */
  readonly matched: number;
}

/** What was replayed of the host's UDP and ICMP. */
export interface ReplayedDatagrams {
  /** The packets (fragments counted one by one) that reached the host, played into ustack. */
  readonly inbound: number;
  /** The host's UDP sockets: the ports bound, and how many datagrams each sent. */
  readonly sockets: ReadonlyArray<{
    /** The UDP port the socket was bound to. */
    readonly port: number;
    /** How many datagrams the application sent from it. */
    readonly sends: number;
  }>;
  /** The host's datagrams in the capture (fragments put together). */
  readonly expected: number;
  /** ustack's datagrams in the replay (up to the capture's end). */
  readonly actual: number;
  /** How many of the two lined up. */
  readonly matched: number;
}

/** The outcome of a replay. */
export interface ReplayResult {
  /** No divergence. */
  readonly pass: boolean;
  /** Every divergence, in conversation and capture order. */
  readonly divergences: readonly Divergence[];
  /** The conversations replayed. */
  readonly conversations: readonly ReplayedConversation[];
  /** What was replayed of the host's datagrams (UDP, ICMP), when they were. */
  readonly datagrams?: ReplayedDatagrams;
  /** Frames of the capture not played: not of the host's family (ARP, the other IP), MLD and Neighbor Discovery, not the host's, or of conversations not replayed. */
  readonly framesNotReplayed: number;
  /** Things worth knowing: skipped conversations, calls that failed, a capture cut short. */
  readonly notes: readonly string[];
  /** The TCP settings the stack ran with (over ustack's defaults), its MTU, and the tolerances. */
  readonly settings: {
    /** Linux's defaults (ReplayOptions.linux). */
    readonly linux: boolean;
    /** The TCP settings over ustack's defaults. */
    readonly tcp: Partial<TcpConfig>;
    /** The interface's MTU (the host's MSS + 40 over IPv4, + 60 over IPv6). */
    readonly mtu: number;
    /** The tolerances in force. */
    readonly tolerances: Required<ReplayTolerances>;
    /** ReplayOptions.strict. */
    readonly strict: boolean;
  };
  /** Every frame in and out of the replayed stack, a pcap (link type RAW); `frames.replay` numbers count in it. */
  readonly pcap: Uint8Array;
}

/** Why a replay could not start: one line for the user. */
export class ReplayError extends Error {
  /** `ReplayError`. */
  override readonly name = 'ReplayError';
}

const INTERFACE = 'replay0';

/** A link that hands ustack's frames to the replay. */
class ReplayLink implements Link {
  readonly name = 'replay';
  readonly medium = 'ip' as const;
  constructor(
    readonly mtu: number,
    private readonly onTransmit: (frame: Uint8Array, now: number) => void,
  ) {}
  transmit(frame: Uint8Array, now: number): void {
    this.onTransmit(frame.slice(), now);
  }
  setReceiver(_receiver: FrameReceiver): void {
    // The replay calls stack.receive itself.
  }
  pollAt(): number {
    return Infinity;
  }
  poll(): void {}
}

async function loadRecords(capture: Uint8Array | string, notes: string[]): Promise<readonly CaptureRecord[]> {
  let bytes: Uint8Array;
  if (typeof capture === 'string') {
    const file = await readFile(capture);
    bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  } else bytes = capture;
  const read = readCaptureUpToCut(bytes);
  if (!read.ok) throw new ReplayError(`not a readable capture: ${read.error.message} (at byte ${read.error.offset})`);
  if (read.value.cut) notes.push(`the capture was cut short in the middle of a packet: its ${read.value.records.length} complete frames are replayed`);
  return read.value.records;
}

/** The host as an IpAddress: an IPv4 uint32, or IPv6 in its RFC 5952 text (the form pcap2drill's plans compare). */
function parseHost(host: string): IpAddress {
  const ipv4 = parseIpv4Address(host);
  if (ipv4 !== null) return ipv4;
  const ipv6 = parseIpv6Address(host);
  if (ipv6 === null) throw new ReplayError(`host ${JSON.stringify(host)} is not an IPv4 address (a.b.c.d) nor an IPv6 one (fd00::2)`);
  return formatIpv6Address(ipv6);
}

/** An address of a frame ustack sent (a uint32, or 16 bytes) as an IpAddress. */
function wireAddress(address: number | Uint8Array): IpAddress {
  return typeof address === 'number' ? address : ipv6Text(address);
}

/**
 * What the host's application did in each of its TCP conversations, as replayCapture infers it:
 * a host that answered a SYN listened (and accepted), one that sent it connected, data it sent
 * was written (one write per turn), data it received read, its FIN a close or shutdown.
 */
export async function inferSockets(capture: Uint8Array | string, host: string): Promise<ConversationSockets[]> {
  const records = await loadRecords(capture, []);
  const address = parseHost(host);
  const origin = records.length > 0 ? timestampToMs(records[0]) : 0;
  const result: ConversationSockets[] = [];
  tcpConversations(records, ipFamily(address)).forEach((conversation, index) => {
    if (conversation.first.address !== address && conversation.second.address !== address) return;
    try {
      result.push({ conversation: index + 1, calls: inferredCalls(planConversation(records, { host: address, conversation: index + 1 }), origin) });
    } catch (error) {
      if (!(error instanceof PcapToScriptError)) throw error;
    }
  });
  return result;
}

/**
 * The host's UDP sockets as replayCapture infers them: each port the host sent datagrams from
 * (with each datagram as one sendto at its time), and each port that received datagrams and
 * answered none with an ICMP port unreachable.
 */
export async function inferDatagramSockets(capture: Uint8Array | string, host: string): Promise<DatagramSocket[]> {
  const records = await loadRecords(capture, []);
  const origin = records.length > 0 ? timestampToMs(records[0]) : 0;
  const address = parseHost(host);
  return datagramSocketsOf(assembleDatagrams(capturedPackets(records, origin, ipFamily(address))).datagrams, address);
}

/** One thing to do at a time: a segment to inject or a call to make. */
interface TimedEvent {
  readonly atMs: number;
  /** Ties at one time keep the capture's order: the frame of the segment before, then the plan's order. */
  readonly after: number;
  readonly order: number;
  readonly run: () => void;
}

/**
 * Replays `capture` (pcap or pcapng bytes, or a file's path) with `options.host` played by
 * ustack and returns every divergence between what ustack sent and what the host sent. Throws
 * ReplayError when the capture cannot be read or the host is not an address.
 */
export async function replayCapture(capture: Uint8Array | string, options: ReplayOptions): Promise<ReplayResult> {
  const notes: string[] = [];
  const records = await loadRecords(capture, notes);
  const host = parseHost(options.host);
  const family = ipFamily(host);
  const strict = options.strict ?? false;
  const timeMs = options.tolerances?.timeMs ?? 4;
  const tolerances: Required<ReplayTolerances> = {
    timeMs,
    windowBytes: options.tolerances?.windowBytes ?? 0,
    tsValTicks: options.tolerances?.tsValTicks ?? Math.ceil(timeMs) + 1,
  };
  const linuxConfig = options.linux ? { ...LINUX_REPLAY_CONFIG, ...(capturedOnTun(records) ? { receiveSegmentOverhead: TUN_SEGMENT_OVERHEAD } : {}) } : {};
  const tcpConfig: Partial<TcpConfig> = { ...linuxConfig, ...options.tcp };
  const origin = records.length > 0 ? timestampToMs(records[0]) : 0;
  const lastMs = records.length > 0 ? timestampToMs(records[records.length - 1]) - origin : 0;

  // The conversations the host is an end of, each with the application's calls.
  const plans: ConversationPlan<IpAddress>[] = [];
  let playedFrames = 0;
  tcpConversations(records, family).forEach((conversation, index) => {
    const number = index + 1;
    if (conversation.first.address !== host && conversation.second.address !== host) return;
    if (options.conversations && !options.conversations.includes(number)) return;
    try {
      const plan = planConversation(records, { host, conversation: number });
      plans.push(plan);
      playedFrames += conversation.segments.length;
    } catch (error) {
      if (!(error instanceof PcapToScriptError)) throw error;
      notes.push(`conversation ${number} not replayed: ${error.message}`);
    }
  });
  // The host's datagrams: the packets that reached it, what it sent, its UDP sockets.
  const replayDatagrams = options.datagrams ?? options.conversations === undefined;
  const packets = replayDatagrams ? capturedPackets(records, origin, family) : [];
  const packetsIn = packets.filter((p) => p.ip.destination === host && p.ip.source !== host);
  const sentByHost = assembleDatagrams(packets.filter((p) => p.ip.source === host && p.ip.destination !== host));
  // An echo request the host sent was a ping it ran, an application the capture cannot replay.
  const icmpProtocol = family === 6 ? Ipv6NextHeader.ICMPV6 : IpProtocol.ICMP;
  const echoRequest = family === 6 ? 128 : 8;
  const hostPings = sentByHost.datagrams.filter((d) => d.ip.protocol === icmpProtocol && d.payload[0] === echoRequest);
  // A router's ICMP error (a Time Exceeded, a Packet Too Big) about a packet that was not for the
  // host was the host forwarding: ustack plays an end host, and such packets never go in.
  const forwarded = sentByHost.datagrams.filter((d) => {
    if (!isForwardingError(d)) return false;
    const about = quotedDatagram(d.payload.subarray(8), family);
    return about.destination !== undefined && about.destination !== host;
  });
  // The host's quotes of packets that were played, read as played (inboundPacket may fix a checksum).
  const played = packetsIn.map((packet) => ({ captured: packet.bytes, sent: inboundPacket(packet) }));
  const hostDatagrams = sentByHost.datagrams.filter((d) => !hostPings.includes(d) && !forwarded.includes(d));
  const expectedDatagrams = hostDatagrams.map((d) => decodeDatagram(quoteAsPlayed(d, played)));
  if (hostPings.length > 0) notes.push(`the host's ${hostPings.length} echo requests (a ping it ran) are not replayed`);
  if (forwarded.length > 0)
    notes.push(
      `the host's ${forwarded.length} ICMP errors about packets it was forwarding (frames ${forwarded.map((d) => d.frames[0]).join(', ')}) are not compared: ustack plays an end host`,
    );
  // MLD and Neighbor Discovery are the link's: the replay's interface is a point-to-point link
  // with no neighbours, as a TUN device is (ustack's own are tested over TAP, test/ip/ndp-*).
  const ndp = replayDatagrams && family === 6 ? linkFrames(records) : [];
  if (ndp.length > 0) notes.push(`${ndp.length} Neighbor Discovery and MLD messages are not replayed (the replay's link has no neighbours)`);
  if (sentByHost.incomplete > 0) notes.push(`${sentByHost.incomplete} datagrams the host sent have fragments missing from the capture: not compared`);
  const datagramSockets = !replayDatagrams
    ? []
    : options.datagramSockets === undefined || options.datagramSockets === 'inferred'
      ? datagramSocketsOf(assembleDatagrams(packets).datagrams, host)
      : options.datagramSockets;
  if (plans.length === 0 && packetsIn.length === 0 && !notes.some((note) => note.startsWith('conversation')))
    notes.push(`${options.host} is not an end of any TCP conversation in the capture`);

  // The interface's MTU: what the host's own MSS says (its SYN or SYN-ACK: the MTU less the IP
  // and TCP headers, 40 bytes over IPv4 and 60 over IPv6, RFC 9293 §3.7.1, RFC 8200 §8.3), else
  // Ethernet's; never below IPv6's minimum link MTU (RFC 8200 §5).
  const hostMss = plans
    .flatMap((plan) => plan.steps)
    .flatMap((step) => (step.kind === 'segment' && step.outbound && (step.segment.tcp.flags & TcpFlag.SYN) !== 0 ? step.segment.tcp.options : []))
    .find((o) => o.kind === 'maxSegmentSize');
  const headers = family === 6 ? 60 : 40;
  const mtu = hostMss && hostMss.kind === 'maxSegmentSize' ? Math.max(hostMss.mss + headers, family === 6 ? IPV6_MINIMUM_MTU : 0) : 1500;

  const clock = new ManualClock(0);
  const pcap = new PcapWriter({ linkType: LinkType.RAW });
  const sides = new Map<number, UstackSide>(
    plans.map((plan) => [plan.number, { port: undefined, isn: undefined, firstTsVal: undefined, synWindowScale: undefined, sent: [] }]),
  );
  let afterCapture = 0;
  let ustackLinkMessages = 0; // MLD and Neighbor Discovery, not compared (as the capture's are not)
  const unclaimed: SentSegment[] = [];
  const ustackPackets: CapturedPacket[] = [];
  const connectOrder: number[] = []; // conversations whose connect() ran, in order, for ports
  const onTransmit = (frame: Uint8Array, now: number) => {
    pcap.record(now, frame);
    const frameNumber = pcap.recordCount;
    const decoded = decodeFrame(frame);
    if (decoded.protocol !== 'tcp') {
      // UDP, ICMP, or a fragment of one: compared with the host's datagrams once the run is over.
      const packet = replayDatagrams ? capturedPacket(frame, frameNumber, now) : undefined;
      if (!packet || packet.ip.protocol === IpProtocol.TCP) {
        notes.push(
          `replay frame ${frameNumber}: ustack sent a packet that is not TCP (${decoded.protocol === 'other' ? decoded.reason : decoded.protocol}), not compared`,
        );
      } else if (isLinkIcmpv6(packet)) ustackLinkMessages++;
      else if (now > lastMs + tolerances.timeMs) afterCapture++;
      else ustackPackets.push(packet);
      return;
    }
    const { ip, tcp } = decoded;
    const destination = wireAddress(ip.destination);
    const sent: SentSegment = { frame: frameNumber, timeMs: now, ip, tcp };
    if (now > lastMs + tolerances.timeMs) {
      afterCapture++;
      return;
    }
    // Whose segment: the conversation with this peer end and this local port (or, for a SYN of a
    // connect(), the first one that connected and has no port yet).
    const plan = plans.find((p) => {
      const side = sides.get(p.number)!;
      if (p.peer.address !== destination || p.peer.port !== tcp.dstPort) return false;
      if (side.port !== undefined) return side.port === tcp.srcPort;
      return p.hostOpened ? connectOrder.includes(p.number) && (tcp.flags & TcpFlag.SYN) !== 0 : p.host.port === tcp.srcPort;
    });
    if (!plan) {
      unclaimed.push(sent);
      return;
    }
    const side = sides.get(plan.number)!;
    side.port ??= tcp.srcPort;
    if ((tcp.flags & TcpFlag.SYN) !== 0) {
      side.isn = tcp.seq;
      side.synWindowScale = windowScaleOf(tcp.options);
    }
    const ts = tcp.options.find((o) => o.kind === 'timestamps');
    if (ts && ts.kind === 'timestamps' && side.firstTsVal === undefined) side.firstTsVal = ts.tsVal;
    side.sent.push(sent);
  };

  const stack = new Stack({ name: 'replay', seed: options.seed ?? 1, tcp: tcpConfig });
  stack.setTimeSource(clock);
  // An IPv6 host's interface still needs an IPv4 address (Stack.addInterface): RFC 7600's dummy
  // address, 192.0.0.8, which stands for a host without one and is never a capture's.
  stack.addInterface({
    name: INTERFACE,
    link: new ReplayLink(mtu, onTransmit),
    address: family === 4 ? `${formatIpAddress(host)}/32` : '192.0.0.8/32',
    ...(family === 6 ? { address6: `${formatIpAddress(host)}/128` } : {}),
  });
  stack.addRoute(family === 4 ? '0.0.0.0/0' : '::/0', { interfaceName: INTERFACE });
  const api = new BerkeleySockets(stack);

  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  const advanceTo = async (target: number) => {
    let spins = 0;
    let previous = -1;
    for (;;) {
      const next = stack.pollAt();
      if (next > target) break;
      const time = Math.max(next, clock.now());
      spins = time === previous ? spins + 1 : 0;
      previous = time;
      if (spins > 10_000) throw new Error(`ustack asks to be polled at ${time} ms over and over`);
      clock.set(time);
      stack.poll(time);
      await settle();
    }
    if (target > clock.now()) clock.set(target);
    stack.poll(clock.now());
    await settle();
  };

  const events: TimedEvent[] = [];
  const listeners = new Map<number, number>();
  const explicit = options.sockets === undefined || options.sockets === 'inferred' ? [] : options.sockets;
  // The application's reads: once per run of segments, or inferred from the host's windows
  // (src/replay/reads.ts), which show them when they follow the free buffer — by default when
  // ustack's window is Linux's, the model the inference inverts.
  const linuxWindow = (tcpConfig.receiveWindowGrowth ?? DEFAULT_TCP_CONFIG.receiveWindowGrowth) === 'linux';
  const readsFromWindow = (options.reads ?? (linuxWindow ? 'window' : 'runs')) === 'window';
  const bufferModel = {
    receiveBufferSize: tcpConfig.receiveBufferSize ?? DEFAULT_TCP_CONFIG.receiveBufferSize,
    receiveSegmentOverhead: tcpConfig.receiveSegmentOverhead ?? DEFAULT_TCP_CONFIG.receiveSegmentOverhead,
    receiveOffloadOverhead: tcpConfig.receiveOffloadOverhead ?? DEFAULT_TCP_CONFIG.receiveOffloadOverhead,
  };
  const replayed: Array<{ plan: ConversationPlan<IpAddress>; lost: Set<CapturedSegment<IpAddress>>; inbound: number }> = [];
  for (const plan of plans) {
    const side = sides.get(plan.number)!;
    const lost = lostBeforeHost(plan);
    const application = new ReplayApplication(api, plan, host, hostStream(plan), {
      now: () => clock.now(),
      note: (line) => notes.push(line),
      connecting: () => connectOrder.push(plan.number),
      listeners,
    });
    const perform = (call: ApplicationCall) => application.perform(call);
    const inject = (segment: CapturedSegment<IpAddress>) => {
      const frame = inboundFrame(segment, plan, side, host);
      pcap.record(clock.now(), frame);
      stack.receive(INTERFACE, frame, clock.now());
      stack.poll(clock.now());
    };

    const given = explicit.find((entry) => entry.conversation === plan.number);
    let previousFrame = 0;
    let inbound = 0;
    plan.steps.forEach((step, order) => {
      if (step.kind === 'segment') {
        previousFrame = step.segment.frame;
        if (!step.outbound && !lost.has(step.segment)) {
          inbound++;
          events.push({ atMs: step.timeMs - origin, after: step.segment.frame, order, run: () => inject(step.segment) });
        }
      } else if (step.kind === 'call' && !given && !(readsFromWindow && step.call.name === 'read')) {
        events.push({ atMs: step.timeMs - origin, after: previousFrame + 0.5, order, run: () => perform(step.call) });
      }
    });
    if (readsFromWindow && !given) {
      // Before the plan's calls at the same instant (a close), after the segment they follow.
      inferReads(plan, lost, bufferModel, origin).forEach((timed, order) =>
        events.push({ atMs: timed.atMs, after: timed.afterFrame! + 0.5, order: order - plan.steps.length, run: () => perform(timed.call) }),
      );
    }
    const capturedBefore = (atMs: number) =>
      Math.max(0, ...plan.steps.flatMap((step) => (step.kind === 'segment' && step.timeMs - origin < atMs ? [step.segment.frame] : [])));
    given?.calls.forEach((timed, order) =>
      events.push({ atMs: timed.atMs, after: (timed.afterFrame ?? capturedBefore(timed.atMs)) + 0.5, order, run: () => perform(timed.call) }),
    );
    replayed.push({ plan, lost, inbound });
  }

  // The host's UDP sockets, bound before anything arrives; each reads whatever comes, and sends
  // what the host sent at its time (after the frames captured before it).
  for (const socket of datagramSockets) {
    let fd: number;
    try {
      fd = api.socket(family === 4 ? C.AF_INET : C.AF_INET6, C.SOCK_DGRAM, C.IPPROTO_UDP);
      api.bind(fd, { address: formatIpAddress(host), port: socket.port });
    } catch (error) {
      notes.push(`UDP socket on port ${socket.port}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const drain = async () => {
      for (;;) await api.recvfrom(fd, 65536);
    };
    drain().catch(() => {});
    socket.sends.forEach((send, order) => {
      const to = parseEndpoint(send.to);
      if (!to) throw new ReplayError(`UDP socket on port ${socket.port}: ${JSON.stringify(send.to)} is not an address:port`);
      const afterFrame =
        send.afterFrame ??
        Math.max(
          0,
          ...packets.filter((p) => p.timeMs < send.atMs).map((p) => p.frame),
          ...records.filter((r) => timestampToMs(r) - origin < send.atMs).map((r) => r.index + 1),
        );
      events.push({
        atMs: send.atMs,
        after: afterFrame + 0.5,
        order,
        run: () => {
          api
            .sendto(fd, send.data, { address: formatIpAddress(to.address), port: to.port })
            .catch((error: unknown) =>
              notes.push(
                `UDP socket on port ${socket.port}: sendto ${send.to} at ${clock.now().toFixed(3)} ms failed: ${error instanceof Error ? error.message : String(error)}`,
              ),
            );
        },
      });
    });
  }
  // The packets that reached the host go in as captured (fragments too: ustack reassembles).
  for (const packet of packetsIn) {
    events.push({
      atMs: packet.timeMs,
      after: packet.frame,
      order: 0,
      run: () => {
        const bytes = played.find((entry) => entry.captured === packet.bytes)!.sent;
        pcap.record(clock.now(), bytes);
        stack.receive(INTERFACE, bytes, clock.now());
        stack.poll(clock.now());
      },
    });
  }

  events.sort((a, b) => a.atMs - b.atMs || a.after - b.after || a.order - b.order);
  for (const event of events) {
    await advanceTo(event.atMs);
    event.run();
    await settle();
    if (stack.lastInternalError) throw new Error(`ustack threw while replaying: ${String(stack.lastInternalError)}`);
  }
  // What ustack still sends while the capture was running (a delayed ACK) counts; later, not.
  await advanceTo(lastMs + tolerances.timeMs);

  const divergences: Divergence[] = [];
  const conversations: ReplayedConversation[] = [];
  for (const { plan, lost, inbound } of replayed) {
    const side = sides.get(plan.number)!;
    const diff = diffConversation(plan, side, origin, { strict, ...tolerances });
    divergences.push(...diff.divergences);
    conversations.push({
      number: plan.number,
      host: endpointText(plan.host.address, plan.host.port),
      peer: endpointText(plan.peer.address, plan.peer.port),
      role: plan.hostListened ? 'listened' : plan.hostOpened ? 'connected' : 'none',
      inbound,
      lostBeforeHost: [...lost].map((segment) => segment.frame),
      unseenByTap: diff.unseenByTap,
      expected: diff.expected,
      actual: diff.actual,
      matched: diff.matched,
    });
  }
  for (const segment of unclaimed) {
    const decoded = decodeSegment(segment, { ownIsn: 0, peerIsn: 0, firstTsVal: undefined, windowShift: 0 });
    divergences.push({
      kind: 'extra',
      conversation: 0,
      frames: { replay: segment.frame },
      actual: decoded,
      message: `replay frame ${segment.frame}: ustack sent a segment to port ${segment.tcp.dstPort} of no replayed conversation (${decoded.text})`,
    });
  }
  let datagrams: ReplayedDatagrams | undefined;
  if (replayDatagrams) {
    const sentByUstack = assembleDatagrams(ustackPackets);
    if (sentByUstack.incomplete > 0) notes.push(`${sentByUstack.incomplete} datagrams ustack sent lack fragments within the capture's time: not compared`);
    const diff = diffDatagrams(expectedDatagrams, sentByUstack.datagrams.map(decodeDatagram), { timeMs: tolerances.timeMs });
    divergences.push(...diff.divergences);
    datagrams = {
      inbound: packetsIn.length,
      sockets: datagramSockets.map((socket) => ({ port: socket.port, sends: socket.sends.length })),
      expected: diff.expected,
      actual: diff.actual,
      matched: diff.matched,
    };
  }
  if (ustackLinkMessages > 0) notes.push(`ustack sent ${ustackLinkMessages} Neighbor Discovery or MLD messages (not compared)`);
  if (afterCapture > 0) notes.push(`ustack sent ${afterCapture} segment${afterCapture === 1 ? '' : 's'} after the capture ended (not compared)`);
  return {
    pass: divergences.length === 0,
    divergences,
    conversations,
    ...(datagrams ? { datagrams } : {}),
    framesNotReplayed: records.length - playedFrames - packetsIn.length - hostDatagrams.reduce((n, d) => n + d.frames.length, 0),
    notes,
    settings: { linux: options.linux ?? false, tcp: tcpConfig, mtu, tolerances, strict },
    pcap: pcap.toBytes(),
  };
}
