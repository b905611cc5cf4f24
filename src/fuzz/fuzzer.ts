/**
 * The fuzzer: epochs of frames fed to two stacks (TUN and TAP) that hold live sockets in every
 * state, with virtual time jumping between frames. After every frame: no exception escaped, no
 * internal error was counted, every bounded store is within its bound. At the end of each epoch,
 * legitimate transfers on the surviving connections must still complete bit-exact.
 *
 * Deterministic: epoch `e` of seed `s` draws everything from Rng(mix(s, e)), so one epoch can be
 * replayed alone (`--seed s --epoch e`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../core/rng.js';
import { Icmpv4Type } from '../ip/icmpv4.js';
import { ipFamily } from '../ip/ip-address.js';
import { emitIgmp, IGMP_LENGTH, IGMP_PROTOCOL, IgmpType } from '../ip/igmp.js';
import { ArpOperation } from '../link/arp.js';
import { MAC_BROADCAST } from '../link/ethernet.js';
import { LinkType } from '../pcap/link-type.js';
import { readCapture } from '../pcap/pcap.js';
import type { TcpConnection } from '../tcp/connection.js';
import {
  arpPacket,
  Dice,
  ethernetFrame,
  EtherType,
  fixChecksums,
  icmpMessage,
  IpProtocol,
  ipv4Options,
  ipv4Packet,
  mutateBytes,
  nearEdge,
  tcpFlags,
  tcpOptions,
  ourSegment,
  tcpSegment,
  udpDatagram,
  type IpFields,
} from './frames.js';
import { fixChecksums6, mutateIpv6Fields } from './frames6.js';
import { Ipv6FrameGenerator } from './generator6.js';
import { CONNECTED_UDP_PORT, FUZZ_GROUPS, RAW_PROTOCOL, REUSE_ADDRESS_PORT, REUSE_PORT } from './application.js';
import { drawVariant, TRACED_FRAMES } from './variants.js';
import { Target } from './world.js';

/** What a run is asked to do. */
export interface FuzzOptions {
  readonly frames: number;
  readonly seed: number;
  /** Frames per epoch (a fresh pair of stacks each epoch). */
  readonly epochFrames?: number;
  /** Replay only this epoch. */
  readonly epoch?: number;
  /** Continue after a finding (with the next epoch) instead of stopping. */
  readonly keepGoing?: boolean;
  /** Bytes of each final transfer, each way. */
  readonly transferBytes?: number;
  /** Called after each epoch (progress lines). */
  readonly onEpoch?: (epoch: number, framesDone: number) => void;
  /**
   * Percent of the TUN stack's frames that are IPv6 (33 by default); the TAP stack, whose IPv6
   * is its link-local address alone, gets 30 % of that share. 100 fuzzes IPv6 on TUN alone.
   */
  readonly ipv6Percent?: number;
}

/** Something the fuzzer found. */
export interface Finding {
  readonly seed: number;
  readonly epoch: number;
  /** Index of the frame within the whole run (epoch × epochFrames + index in the epoch); -1 for setup or transfer. */
  readonly frame: number;
  readonly target: string;
  readonly message: string;
  /** The frame that triggered it, hex. */
  readonly frameHex?: string;
}

/** What a run did. */
export interface FuzzResult {
  readonly frames: number;
  readonly epochs: number;
  readonly elapsedMs: number;
  readonly findings: Finding[];
  /** Surviving connections whose transfers were checked. */
  readonly transfersChecked: number;
  /** Frames by generator. */
  readonly generated: Record<string, number>;
}

/** Frames of the fixture captures, by medium; IPv6's kernel captures (captures/fixtures/ipv6) apart. */
interface Fixtures {
  readonly ip: Uint8Array[];
  readonly ethernet: Uint8Array[];
  readonly ip6: Uint8Array[];
  readonly ethernet6: Uint8Array[];
}

let fixtureCache: Fixtures | null = null;

/** Loads captures/fixtures/{ipv4,eth,eth-offload}.pcap and ipv6/{raw,eth}.pcap, found by walking up from this file. */
function loadFixtures(): Fixtures {
  if (fixtureCache) return fixtureCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  const fixtures: Fixtures = { ip: [], ethernet: [], ip6: [], ethernet6: [] };
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    const base = join(dir, 'captures', 'fixtures');
    if (!existsSync(join(base, 'eth.pcap'))) continue;
    for (const [file, into] of [
      ['ipv4.pcap', fixtures.ip],
      ['eth.pcap', fixtures.ethernet],
      ['eth-offload.pcap', fixtures.ethernet],
      ['ipv6/raw.pcap', fixtures.ip6],
      ['ipv6/eth.pcap', fixtures.ethernet6],
    ] as const) {
      const capture = readCapture(new Uint8Array(readFileSync(join(base, file))));
      if (!capture.ok) continue;
      for (const record of capture.value.records) {
        if (record.linkType === LinkType.ETHERNET || record.linkType === LinkType.IPV4 || record.linkType === LinkType.RAW) into.push(record.data);
      }
    }
    break;
  }
  fixtureCache = fixtures;
  return fixtures;
}

/** Seed of epoch `e` of a run with seed `s`. */
function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
}

/** Runs the fuzzer. */
export function fuzz(options: FuzzOptions): FuzzResult {
  const epochFrames = options.epochFrames ?? 10_000;
  const transferBytes = options.transferBytes ?? 6_000;
  const fixtures = loadFixtures();
  const findings: Finding[] = [];
  const generated: Record<string, number> = {};
  const started = performance.now();
  let framesDone = 0;
  let epochs = 0;
  let transfersChecked = 0;
  const firstEpoch = options.epoch ?? 0;
  const lastEpoch = options.epoch ?? Math.ceil(options.frames / epochFrames) - 1;
  for (let epoch = firstEpoch; epoch <= lastEpoch; epoch++) {
    const frames = options.epoch !== undefined ? epochFrames : Math.min(epochFrames, options.frames - framesDone);
    const outcome = runEpoch(options.seed, epoch, frames, epochFrames, transferBytes, fixtures, generated, options.ipv6Percent ?? 33);
    framesDone += outcome.frames;
    epochs++;
    transfersChecked += outcome.transfersChecked;
    findings.push(...outcome.findings);
    options.onEpoch?.(epoch, framesDone);
    if (findings.length > 0 && !options.keepGoing) break;
  }
  return { frames: framesDone, epochs, elapsedMs: performance.now() - started, findings, transfersChecked, generated };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function runEpoch(
  seed: number,
  epoch: number,
  frames: number,
  epochFrames: number,
  transferBytes: number,
  fixtures: Fixtures,
  generated: Record<string, number>,
  ipv6Percent: number,
): { frames: number; findings: Finding[]; transfersChecked: number } {
  const dice = new Dice(new Rng(epochSeed(seed, epoch)));
  const findings: Finding[] = [];
  const targets = [new Target('tun', dice.u32(), dice, drawVariant(dice, 'tun')), new Target('tap', dice.u32(), dice, drawVariant(dice, 'tap'))];
  const labels = new Map(targets.map((t) => [t.name, t.variant.label]));
  const finding = (frame: number, target: string, message: string, bytes?: Uint8Array) =>
    findings.push({ seed, epoch, frame, target, message: `[${labels.get(target as 'tun' | 'tap')}] ${message}`, ...(bytes ? { frameHex: hex(bytes) } : {}) });
  for (const target of targets) {
    try {
      target.setup();
    } catch (error) {
      finding(-1, target.name, `setup failed: ${error instanceof Error ? error.stack : String(error)}`);
      return { frames: 0, findings, transfersChecked: 0 };
    }
  }
  const generator = new Generator(dice, fixtures, generated, ipv6Percent / 100);
  const ipv6 = generator.ipv6;
  let done = 0;
  for (; done < frames; done++) {
    if (done === TRACED_FRAMES) for (const t of targets) t.stack.tracer = null;
    const target = targets[dice.below(2)];
    const frame = generator.frame(target);
    const index = epoch * epochFrames + done;
    try {
      target.now += timeJump(dice);
      target.advance(target.now);
      // A device with receive checksum offload vouches only for checksums that are right.
      target.deliver(frame, target.variant.link.checksumOffload && generator.checksumsRight && ipv6.checksumsRight && dice.chance(0.5));
      if ((done & 15) === 0) target.application();
      if (dice.chance(0.01)) generator.applicationWrite(target);
      target.link.take();
    } catch (error) {
      finding(index, target.name, `exception escaped: ${error instanceof Error ? error.stack : String(error)}`, frame);
      break;
    }
    const violation = target.violation();
    if (violation) {
      finding(index, target.name, violation, frame);
      break;
    }
  }
  let transfersChecked = 0;
  if (findings.length === 0) {
    for (const target of targets) {
      try {
        const { failures, checked } = target.transfers(transferBytes);
        transfersChecked += checked;
        for (const failure of failures) finding(-1, target.name, `final transfer: ${failure}`);
        const violation = target.violation();
        if (violation) finding(-1, target.name, `after the transfers: ${violation}`);
      } catch (error) {
        finding(-1, target.name, `exception escaped in the final transfer: ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
  }
  for (const target of targets) for (const [kind, n] of Object.entries(target.activity)) generated[`app:${kind}`] = (generated[`app:${kind}`] ?? 0) + n;
  return { frames: done, findings, transfersChecked };
}

/** Virtual time between frames: mostly none, sometimes a little, now and then a timer's worth. */
function timeJump(dice: Dice): number {
  const r = dice.below(100);
  if (r < 60) return 0;
  if (r < 85) return 1 + dice.below(50);
  if (r < 96) return dice.below(1_000);
  return dice.below(130_000);
}

/** Builds the frames. */
class Generator {
  /** The IPv6 frames (generator6.ts). */
  readonly ipv6: Ipv6FrameGenerator;

  constructor(
    private readonly dice: Dice,
    private readonly fixtures: Fixtures,
    private readonly counts: Record<string, number>,
    /** The share of TUN's frames that are IPv6 (FuzzOptions.ipv6Percent). */
    private readonly ipv6Share = 0.33,
  ) {
    this.ipv6 = new Ipv6FrameGenerator(dice, { ip: fixtures.ip6, ethernet: fixtures.ethernet6 });
  }

  private count(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  /** Whether the last frame's checksums are all right (none corrupted, mutations fixed up). */
  checksumsRight = true;

  /** One frame for `target`, as its link carries it. */
  frame(target: Target): Uint8Array {
    const dice = this.dice;
    this.checksumsRight = true;
    this.ipv6.checksumsRight = true;
    let frame: Uint8Array;
    let kind: string;
    // IPv6: a third of TUN's frames by default (where IPv6 sockets live), a tenth of TAP's (its link-local address).
    if (dice.chance(target.ipv6 ? this.ipv6Share : 0.3 * this.ipv6Share)) {
      [kind, frame] = this.ipv6.frame(target, () => {
        const connection = this.connection(target, 6);
        return connection ? { segment: this.tcpToConnection(target, connection) } : null;
      });
      this.count(kind);
      if (dice.chance(0.3)) {
        frame = mutateBytes(dice, frame, target.ethernet, this.other(target, 6));
        if (dice.chance(0.5)) mutateIpv6Fields(dice, frame, target.ethernet);
        if (dice.chance(0.6)) fixChecksums6(frame, target.ethernet);
        else this.checksumsRight = false;
        this.count('mutated6');
      }
      return frame;
    }
    const r = dice.below(100);
    if (r < 38) {
      const connection = this.connection(target, 4);
      [kind, frame] = ['tcp-connection', this.ip(target, IpProtocol.TCP, connection ? this.tcpToConnection(target, connection) : this.tcpToListener(target))];
    } else if (r < 48) [kind, frame] = ['tcp-listener', this.ip(target, IpProtocol.TCP, this.tcpToListener(target))];
    else if (r < 58) [kind, frame] = ['udp', this.udp(target)];
    else if (r < 68) [kind, frame] = ['icmp', this.ip(target, IpProtocol.ICMP, this.icmp(target))];
    else if (r < 78) [kind, frame] = ['fragment', this.fragment(target)];
    else if (r < 80) [kind, frame] = ['igmp', this.igmp(target)];
    else if (r < 88 && target.ethernet) [kind, frame] = ['arp', this.arp(target)];
    else if (r < 97) [kind, frame] = ['fixture', this.fixture(target)];
    else [kind, frame] = ['random', dice.bytes(dice.below(100))];
    this.count(kind);
    if (dice.chance(0.3)) {
      frame = mutateBytes(dice, frame, target.ethernet, this.other(target));
      if (dice.chance(0.6)) fixChecksums(frame, target.ethernet);
      else this.checksumsRight = false;
      this.count('mutated');
    }
    return frame;
  }

  /** A fixture frame of the target's medium and family (for splices), or null. */
  private other(target: Target, family: 4 | 6 = 4): Uint8Array | null {
    const pool = family === 6 ? (target.ethernet ? this.fixtures.ethernet6 : this.fixtures.ip6) : target.ethernet ? this.fixtures.ethernet : this.fixtures.ip;
    return pool.length > 0 ? this.dice.pick(pool) : null;
  }

  /** Wraps a transport payload in IPv4 (options, ECN, TTL, odd destinations now and then). */
  private ip(target: Target, protocol: number, payload: Uint8Array, extra: Partial<IpFields> = {}): Uint8Array {
    const dice = this.dice;
    const fields: IpFields = {
      source: dice.chance(0.95) ? target.peer : dice.pick([target.ours, 0, 0xffffffff, 0x7f000001, (target.peer & 0xffffff00) | dice.u8(), dice.u32()]),
      // Odd destinations; with forwarding on, others' addresses are routed (192.168.0.0/16 has MTU 1280).
      destination: dice.chance(0.95)
        ? target.ours
        : dice.pick([0xffffffff, (target.ours | 0xff) >>> 0, 0xe0000001, 0xe00000fb, dice.u32(), 0xc0a80709, 0x08080808, (target.ours & 0xffffff00) | 0x63]),
      protocol,
      identification: dice.u16(),
      ttl: dice.chance(0.95) ? 64 : dice.pick([0, 1, 2, 255]),
      ecn: dice.chance(0.85) ? 0 : dice.below(4),
      dscp: dice.chance(0.9) ? 0 : dice.below(64),
      dontFragment: dice.chance(0.7),
      reservedFlag: dice.chance(0.01),
      options: dice.chance(0.08) ? ipv4Options(dice, target.ours) : [],
      ...extra,
    };
    const packet = ipv4Packet(fields, payload);
    if (dice.chance(0.03)) {
      this.corruptChecksum(packet, protocol);
      this.checksumsRight = false;
    }
    // Bytes after the datagram (a link's padding, as Ethernet pads short frames to 60 bytes).
    if (dice.chance(0.03)) return target.frameIp(concat(packet, dice.bytes(1 + dice.below(40))), target.ourMac);
    return target.frameIp(packet, dice.chance(0.95) ? target.ourMac : dice.pick([MAC_BROADCAST, new Uint8Array([0x01, 0, 0x5e, 0, 0, 1]), dice.bytes(6)]));
  }

  /** Breaks the transport checksum (or, sometimes, the IP header's). */
  private corruptChecksum(packet: Uint8Array, protocol: number): void {
    const headerLength = (packet[0] & 0x0f) * 4;
    const offset = this.dice.chance(0.2) ? 10 : headerLength + (protocol === IpProtocol.TCP ? 16 : protocol === IpProtocol.UDP ? 6 : 2);
    if (offset + 1 < packet.length) packet[offset + this.dice.below(2)] ^= 1 + this.dice.below(255);
  }

  /**
   * A connection to aim at: a tracked one mostly, any in the table sometimes, and now and then a
   * half-open one a fuzzed SYN made (whose handshake the exact ACK then completes, filling the
   * accept queue of the listener nobody accepts from).
   */
  private connection(target: Target, family: 4 | 6 = 4): TcpConnection | null {
    const ofFamily = (connection: TcpConnection) => ipFamily(connection.remoteAddress) === family;
    if (this.dice.chance(0.05)) {
      const listener = this.dice.pick(target.listeners);
      const halfOpen = [...listener.synQueue.values()].filter(ofFamily);
      if (halfOpen.length > 0) return this.dice.pick(halfOpen);
    }
    const tracked = target.tracked.filter((t) => ofFamily(t.connection));
    if (this.dice.chance(0.8) && tracked.length > 0) return this.dice.pick(tracked).connection;
    const all = target.stack.tcp.listConnections().filter(ofFamily);
    return all.length > 0 ? this.dice.pick(all) : null;
  }

  /** A segment on a live connection's 4-tuple (in its family), its numbers near that connection's window edges. */
  private tcpToConnection(target: Target, connection: TcpConnection): Uint8Array {
    const dice = this.dice;
    const { source, destination } = target.fromPeer(ipFamily(connection.remoteAddress));
    // The connections kept for the final transfer only meet a blind attacker (RFC 5961 §1.2): it
    // knows the 4-tuple, not the sequence numbers; nothing it sends may break them.
    const blind = target.isTransfer(connection);
    const window = Math.max(1, connection.receiveWindowSpace());
    const seq = connection.state === 'SYN-SENT' || blind ? dice.u32() : nearEdge(dice, connection.rcvNxt, window);
    const ackBase = dice.chance(0.5) ? connection.sndNxt : connection.sndUna;
    const ack = blind ? dice.u32() : nearEdge(dice, ackBase, Math.max(1, connection.sndWnd));
    // A SYN-SENT connection mostly gets what a peer answers a SYN with: SYN-ACK, a crossing SYN, SYN+FIN, RST.
    const flags = connection.state === 'SYN-SENT' && dice.chance(0.5) ? dice.pick([0x012, 0x002, 0x003, 0x013, 0x014, 0x004]) : tcpFlags(dice);
    let options = target.peerOptions(connection);
    if (dice.chance(0.35)) options = tcpOptions(dice, { ts: connection.timestamps.recent, seq: connection.sndUna });
    else if (connection.timestamps.enabled && dice.chance(0.3)) {
      options = [
        {
          kind: 'timestamps',
          tsVal: nearEdge(dice, connection.timestamps.recent, 2),
          tsEcr: dice.chance(0.5) ? connection.timestamps.tsVal(target.now) : dice.u32(),
        },
      ];
    }
    return tcpSegment(
      {
        srcPort: dice.chance(0.97) ? connection.remotePort : dice.u16(),
        dstPort: dice.chance(0.97) ? connection.localPort : dice.u16(),
        seq,
        ack,
        flags,
        window: dice.pick([0, 1, 512, 65535, 65535, 65535, dice.u16()]),
        urgentPointer: flags & 0x020 ? dice.pick([0, 1, 100, 65535, dice.u16()]) : dice.chance(0.02) ? dice.u16() : 0,
        options,
        payload: dice.bytes(dice.length(1460)),
      },
      source,
      destination,
    );
  }

  /** A segment to a listener (mostly SYNs, some with data or FIN) or to a closed port. */
  private tcpToListener(target: Target): Uint8Array {
    const dice = this.dice;
    const port = dice.chance(0.9) ? dice.pick([80, 81]) : dice.u16();
    const flags = dice.chance(0.7) ? 0x002 : tcpFlags(dice);
    return tcpSegment(
      {
        srcPort: dice.chance(0.5) ? 40_000 + dice.below(64) : dice.u16(),
        dstPort: port,
        seq: dice.u32(),
        ack: dice.chance(0.7) ? 0 : dice.u32(),
        flags,
        window: dice.pick([0, 1024, 65535, dice.u16()]),
        urgentPointer: 0,
        options: tcpOptions(dice, { ts: dice.u32(), seq: dice.u32() }),
        payload: dice.bytes(dice.chance(0.9) ? 0 : dice.length(1000)),
      },
      target.peer,
      target.ours,
    );
  }

  private udp(target: Target): Uint8Array {
    const dice = this.dice;
    if (dice.chance(0.05)) return this.ip(target, RAW_PROTOCOL, dice.bytes(dice.length(600))); // for the raw socket
    const connected = target.udp.find((u) => u.socket.connected)?.socket;
    const sourcePort = connected && dice.chance(0.3) ? connected.remotePort : dice.u16();
    const datagram = udpDatagram(
      {
        sourcePort,
        destinationPort: dice.pick([53, 53, 5353, 5353, CONNECTED_UDP_PORT, REUSE_PORT, REUSE_ADDRESS_PORT, 7, dice.u16()]),
        payload: dice.bytes(dice.length(1472)),
      },
      target.peer,
      target.ours,
    );
    if (dice.chance(0.05)) datagram.fill(0, 6, 8); // no checksum
    return this.ip(target, IpProtocol.UDP, datagram);
  }

  /** ICMP: echo requests, and errors quoting segments of live connections (PMTU, unreachables). */
  private icmp(target: Target): Uint8Array {
    const dice = this.dice;
    const quote = () => {
      // Now and then a datagram of a UDP socket (an error for a connected one is reported to it).
      const socket = dice.chance(0.2) ? dice.pick(target.udp).socket : null;
      if (socket) {
        const datagram = udpDatagram(
          { sourcePort: socket.localPort, destinationPort: socket.connected ? socket.remotePort : dice.pick([53, 9]), payload: new Uint8Array(4) },
          target.ours,
          target.peer,
        );
        const full = ipv4Packet(
          { source: target.ours, destination: socket.connected ? (socket.remoteAddress as number) : target.peer, protocol: IpProtocol.UDP },
          datagram,
        );
        return full.subarray(0, dice.pick([full.length, full.length, 22, 24]));
      }
      const connection = this.connection(target);
      const segment = connection
        ? ourSegment(connection, nearEdge(dice, connection.sndUna, 1000), new Uint8Array(0), target.ours, target.peer)
        : udpDatagram({ sourcePort: dice.u16(), destinationPort: 53, payload: new Uint8Array(4) }, target.ours, target.peer);
      const protocol = connection ? IpProtocol.TCP : IpProtocol.UDP;
      const full = ipv4Packet(
        { source: target.ours, destination: dice.chance(0.9) ? target.peer : dice.u32(), protocol: dice.chance(0.95) ? protocol : dice.u8() },
        segment,
      );
      return full.subarray(0, dice.pick([full.length, 28, 20 + 8, 24, 19, dice.below(full.length + 1)]));
    };
    switch (dice.below(8)) {
      case 0:
        return icmpMessage({ kind: 'echoRequest', identifier: dice.u16(), sequence: dice.u16(), data: dice.bytes(dice.length(1400)) });
      case 1:
      case 2:
        return icmpMessage({
          kind: 'destinationUnreachable',
          code: 4,
          nextHopMtu: dice.pick([0, 68, 296, 576, 1000, 1280, 1492, 1500, 9000, 65535, dice.u16()]),
          quoted: quote(),
        });
      case 3:
        return icmpMessage({ kind: 'destinationUnreachable', code: dice.below(16), nextHopMtu: 0, quoted: quote() });
      case 4:
        return icmpMessage({ kind: 'timeExceeded', code: dice.below(2), quoted: quote() });
      case 5:
        return icmpMessage({ kind: 'parameterProblem', code: dice.below(3), pointer: dice.u8(), quoted: quote() });
      case 6:
        return icmpMessage({ kind: 'redirect', code: dice.below(4), gateway: dice.u32(), quoted: quote() });
      default:
        return icmpMessage({
          kind: 'other',
          type: dice.pick([Icmpv4Type.ECHO_REPLY, 4, 9, 10, 13, 14, 15, 17, 18, dice.u8()]),
          code: dice.u8() & 3,
          restOfHeader: dice.u32(),
          data: dice.chance(0.5) ? quote() : dice.bytes(dice.below(64)),
        });
    }
  }

  /**
   * A fragment: of the datagrams seeded into reassembly (the missing half, or overlaps), or of a
   * fresh datagram, with offsets and lengths that complete, overlap, duplicate or overrun.
   */
  private fragment(target: Target): Uint8Array {
    const dice = this.dice;
    // Field-aware extremes: one datagram in many tiny fragments (past maxFragmentsPerDatagram),
    // or one whose last fragment ends where a first fragment with 40 bytes of options makes it
    // longer than 65 535 bytes.
    if (dice.chance(0.1)) {
      const identification = 0x6000 + dice.below(4);
      if (dice.chance(0.5)) {
        return this.ip(target, IpProtocol.UDP, dice.bytes(8), {
          identification,
          dontFragment: false,
          moreFragments: true,
          fragmentOffset: 8 * (1 + dice.below(200)),
          source: target.peer,
          destination: target.ours,
          options: [],
        });
      }
      const first = dice.chance(0.5);
      const options = first ? [{ kind: 'raw' as const, type: 30, data: new Uint8Array(36) }] : [];
      return this.ip(target, IpProtocol.UDP, dice.bytes(first ? 8 : 16), {
        identification,
        dontFragment: false,
        moreFragments: first,
        fragmentOffset: first ? 0 : 65_496,
        source: target.peer,
        destination: target.ours,
        options,
      });
    }
    const seeded = target.fragmentIds.length > 0 && dice.chance(0.4);
    const identification = seeded ? dice.pick(target.fragmentIds) : 0x5000 + dice.below(16);
    const protocol = dice.pick([IpProtocol.UDP, IpProtocol.UDP, IpProtocol.TCP, IpProtocol.ICMP]);
    const offsetUnits = dice.pick([0, 75, 75, 1 + dice.below(200), 8190 - dice.below(4), dice.below(8192)]);
    let data: Uint8Array;
    if (offsetUnits === 0 && protocol === IpProtocol.UDP) {
      data = udpDatagram(
        { sourcePort: dice.u16(), destinationPort: dice.pick([53, 5353]), payload: dice.bytes(600 + dice.below(2000)) },
        target.peer,
        target.ours,
      ).subarray(0, 8 * (1 + dice.below(150)));
    } else {
      data = dice.bytes(dice.chance(0.7) ? 8 * (1 + dice.below(150)) : dice.below(1200));
    }
    return this.ip(target, protocol, data, {
      identification,
      dontFragment: false,
      moreFragments: dice.chance(0.5),
      fragmentOffset: offsetUnits * 8,
      source: dice.chance(0.9) ? target.peer : (target.peer & 0xffffff00) | dice.u8(),
    });
  }

  /**
   * IGMP (RFC 2236): queries (general, for a group, version 1 with Max Resp Time 0), other hosts'
   * reports (which suppress ours) and leaves, for the groups the UDP sockets join and others;
   * TTL 1 and Router Alert mostly, a bad checksum or a short message now and then.
   */
  private igmp(target: Target): Uint8Array {
    const dice = this.dice;
    const type = dice.pick([
      IgmpType.MEMBERSHIP_QUERY,
      IgmpType.MEMBERSHIP_QUERY,
      IgmpType.V1_MEMBERSHIP_REPORT,
      IgmpType.V2_MEMBERSHIP_REPORT,
      IgmpType.LEAVE_GROUP,
      dice.u8(),
    ]);
    const group = dice.pick([0, ...FUZZ_GROUPS, ...FUZZ_GROUPS, dice.u32()]);
    const message = new Uint8Array(dice.chance(0.95) ? IGMP_LENGTH : dice.below(16));
    if (message.length >= IGMP_LENGTH) emitIgmp({ type, maxResponseTime: dice.pick([0, 1, 10, 100, 255, dice.u8()]), group }, message);
    if (dice.chance(0.05) && message.length > 2) message[2] ^= 0xff;
    const destination = dice.pick([0xe0000001, group, group, target.ours, 0xe0000002]);
    return this.ip(target, IGMP_PROTOCOL, message, {
      destination,
      ttl: dice.chance(0.9) ? 1 : dice.pick([0, 2, 64]),
      options: dice.chance(0.8) ? [{ kind: 'raw', type: 148, data: new Uint8Array(2) }] : [],
    });
  }

  private arp(target: Target): Uint8Array {
    const dice = this.dice;
    const subnet = target.ours & 0xffffff00;
    const arp = arpPacket({
      operation: dice.pick([ArpOperation.REQUEST, ArpOperation.REQUEST, ArpOperation.REPLY, 0, 3, dice.u16()]),
      senderHardwareAddress: dice.chance(0.5) ? target.peerMac : dice.pick([target.ourMac, MAC_BROADCAST, dice.bytes(6)]),
      senderProtocolAddress: dice.pick([target.peer, target.ours, 0, (subnet | dice.u8()) >>> 0, dice.u32()]),
      targetHardwareAddress: dice.chance(0.7) ? new Uint8Array(6) : dice.bytes(6),
      targetProtocolAddress: dice.chance(0.7) ? target.ours : dice.pick([target.peer, (subnet | dice.u8()) >>> 0, dice.u32()]),
    });
    return ethernetFrame(dice.chance(0.6) ? MAC_BROADCAST : target.ourMac, dice.chance(0.8) ? target.peerMac : dice.bytes(6), EtherType.ARP, arp);
  }

  /** A real captured frame, often readdressed to the target (and its checksums fixed). */
  private fixture(target: Target): Uint8Array {
    const dice = this.dice;
    const pool = target.ethernet ? this.fixtures.ethernet : this.fixtures.ip;
    if (pool.length === 0) return dice.bytes(60);
    const frame = dice.pick(pool).slice();
    if (dice.chance(0.7)) {
      const at = target.ethernet ? 14 : 0;
      if (target.ethernet && frame.length >= 12) {
        frame.set(target.ourMac, 0);
        frame.set(target.peerMac, 6);
      }
      if (frame.length >= at + 20 && frame[at] >> 4 === 4) {
        for (let i = 0; i < 4; i++) {
          frame[at + 12 + i] = (target.peer >>> (24 - 8 * i)) & 0xff;
          frame[at + 16 + i] = (target.ours >>> (24 - 8 * i)) & 0xff;
        }
        // Aim TCP at a live port now and then (the fixtures' own ports are closed here).
        const headerLength = (frame[at] & 0x0f) * 4;
        if (frame[at + 9] === IpProtocol.TCP && frame.length >= at + headerLength + 4 && dice.chance(0.5)) {
          const connection = this.connection(target);
          if (connection) {
            frame[at + headerLength] = connection.remotePort >> 8;
            frame[at + headerLength + 1] = connection.remotePort & 0xff;
            frame[at + headerLength + 2] = connection.localPort >> 8;
            frame[at + headerLength + 3] = connection.localPort & 0xff;
          }
        }
        fixChecksums(frame, target.ethernet);
      }
    }
    return frame;
  }

  /** The application writes a little on a connection not kept for the final transfer. */
  applicationWrite(target: Target): void {
    const candidates = target.tracked.filter((t) => !t.transfer && t.connection.canSend);
    if (candidates.length === 0) return;
    const { connection } = this.dice.pick(candidates);
    connection.send(this.dice.bytes(this.dice.length(4000)));
  }
}
