/**
 * Runs one packetdrill script against a fresh ustack in virtual time.
 *
 * The stack has one interface (`tun0`, 192.168.0.1/24 by default, a default route through it)
 * on a capturing link: the runner injects the script's `<` packets with `stack.receive`, and
 * every frame ustack transmits waits in a queue for the next `>` line. A ManualClock is the
 * stack's time source; before each event the runner moves it forward deadline by deadline
 * (`stack.pollAt()` then `stack.poll(now)`), so timers fire exactly when they are due and a
 * script that waits a minute runs in milliseconds.
 *
 * Timing follows packetdrill: an expected packet must leave within `--tolerance_usecs` (4 ms) of
 * its scripted time; a relative time after a `>` line counts from when the packet really left;
 * a blocking call (`start...end`) lets the following lines run while it waits and must return
 * within the tolerance of its end time.
 */
import { ManualClock } from '../core/clock.js';
import { ErrnoError } from '../core/errno.js';
import { formatIpv4Address, parseIpv4Address, parseIpv4Cidr } from '../ip/address.js';
import { formatIpv6Address, parseIpv6Address, parseIpv6Cidr } from '../ip/ipv6-address.js';
import type { FrameReceiver, Link } from '../link/link.js';
import { LinkType } from '../pcap/link-type.js';
import { PcapWriter } from '../pcap/pcap-writer.js';
import { BerkeleySockets } from '../socket-api/berkeley.js';
import * as C from '../socket-api/berkeley-constants.js';
import { Stack } from '../socket-api/stack.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from '../tcp/config.js';
import { TCP_PROFILES } from '../tcp/profiles.js';
import { isFreeBsdTool, runFreeBsdTool } from './freebsd-tools.js';
import { IPV6_DEFAULTS, parseIpVersion, socketFamily, wireFamily, type IpVersion } from './ip-version.js';
import { formatDecoded, formatTcpSpec, learnFromOutbound, matchIcmp, matchTcp, matchUdp, type MatchOutcome, type MatchSettings } from './match.js';
import { parseScript, ScriptSyntaxError } from './parser.js';
import { runPythonSnippets, type CodeSnippet } from './python-code.js';
import { UnsupportedFeatureError, type UnsupportedFeature } from './unsupported.js';
import type { CodeEvent, PacketEvent, Script, ScriptEvent, ScriptOption, SyscallEvent, TcpPacketSpec, TimePoint } from './script.js';
import { expandCommand } from './shell-scripts.js';
import { mapShellCommand, type DrillRoute, type TcpConfigChanges } from './sysctl.js';
import { describeOutcome, evaluate, startSyscall, SyscallProblem, type SyscallContext } from './syscalls.js';
import { buildIcmpFrame, buildTcpFrame, buildUdpFrame, decodeFrame, type DecodedPacket, type Flow } from './wire.js';

/** How to run scripts; every field has packetdrill's default. */
export interface DrillSettings {
  /** Portable mode (default): see docs/drill.md. `--linux` turns it off. */
  readonly portable: boolean;
  /** How far a packet or a blocking call's return may be from its scripted time (µs). */
  readonly toleranceUsecs: number;
  /** One scripted packet never matches several smaller real segments. */
  readonly strictSegments: boolean;
  /**
   * packetdrill's `--ip_version`: the socket domain, the addresses bind and connect take, and the
   * family of the packets (src/drill/ip-version.ts).
   */
  readonly ipVersion: IpVersion;
  /** ustack's address (`--local_ip`); undefined: the mode's default (192.168.0.1, or fd3d:fa7b:d17d::1 in ipv6). */
  readonly localIp?: string;
  /** The script's peer (`--remote_ip`); undefined: the mode's default (192.0.2.1, or 2001:db8::1 in ipv6). */
  readonly remoteIp?: string;
  /** Prefix length of the local interface's IPv4 network (IPv6's is packetdrill's 48). */
  readonly prefixLength: number;
  readonly bindPort: number;
  readonly connectPort: number;
  /** The peer's port for connections it opens and datagrams it sends. */
  readonly remotePort: number;
  /** Added to every inbound sequence number (the script's ISN). */
  readonly remoteIsn: number;
  readonly mtu: number;
  /**
   * ustack's timestamp clock tick (µs); TS val is compared in these ticks, within the timing
   * tolerance. 0 (packetdrill's default): TS val is not checked, only mapped.
   */
  readonly tsTickUsecs: number;
  /** Seed of the stack's Rng (ISNs, ports). */
  readonly seed: number;
  /** The folder of the script: backtick commands that run a file (`../common/defaults.sh`) read it from there. */
  readonly directory?: string;
}

/** packetdrill's defaults, with ustack's addresses. */
export const DEFAULT_DRILL_SETTINGS: DrillSettings = {
  portable: true,
  toleranceUsecs: 4000,
  strictSegments: false,
  ipVersion: 'ipv4',
  prefixLength: 24,
  bindPort: 8080,
  connectPort: 8080,
  remotePort: 40000,
  remoteIsn: 0,
  mtu: 1500,
  tsTickUsecs: 0,
  seed: 1,
};

/** ustack's IPv4 address and its peer's when a script names none (IPv4 and ipv4-mapped-ipv6 modes). */
const IPV4_DEFAULTS = { localIp: '192.168.0.1', remoteIp: '192.0.2.1' } as const;

/** Why a script failed: the line, and what was expected and what ustack did. */
export interface DrillFailure {
  readonly line: number;
  readonly text: string;
  readonly message: string;
  readonly expected?: string;
  readonly actual?: string;
  /** Virtual time of the failure (s). */
  readonly time: number;
}

/** The outcome of one script. */
export interface DrillResult {
  readonly name: string;
  /** The mode the script ran in (`--ip_version`, the script's own or the command line's). */
  readonly ipVersion: IpVersion;
  readonly passed: boolean;
  readonly failure: DrillFailure | null;
  /** The script needs a feature ustack lacks (src/drill/unsupported.ts); `failure` says where. */
  readonly unsupported: UnsupportedFeature | null;
  /** Backtick lines mapped to configuration, one line each. */
  readonly applied: readonly string[];
  /** Backtick commands with no ustack equivalent, and other things worth knowing. */
  readonly warnings: readonly string[];
  /** Every frame in and out, as a pcap file (link type RAW). */
  readonly pcap: Uint8Array;
  /** Virtual time the script covered (s). */
  readonly virtualSeconds: number;
}

class Failure extends Error {
  constructor(
    readonly failure: DrillFailure,
    readonly unsupported: UnsupportedFeature | null = null,
  ) {
    super(failure.message);
  }
}

/** A link that hands ustack's frames to the runner and takes the runner's frames in. */
class CaptureLink implements Link {
  readonly name = 'drill';
  readonly medium = 'ip' as const;
  /** The transmit queue's limit a script's `tc qdisc … pfifo limit N` set (Infinity: none). */
  transmitQueueLimit = Number.POSITIVE_INFINITY;
  private receiver: FrameReceiver | null = null;
  constructor(
    readonly mtu: number,
    private readonly onTransmit: (frame: Uint8Array, now: number) => void,
  ) {}
  transmit(frame: Uint8Array, now: number): void {
    this.onTransmit(frame.slice(), now);
  }
  setReceiver(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }
  pollAt(): number {
    return Infinity;
  }
  poll(): void {}
  /** The receiver the stack installed (unused: the runner calls stack.receive itself). */
  get installed(): boolean {
    return this.receiver !== null;
  }
}

/** A frame ustack sent and the runner has not matched yet. */
interface Sent {
  readonly time: number;
  readonly frame: Uint8Array;
  readonly packet: DecodedPacket;
}

/** A blocking call in flight. */
interface PendingCall {
  readonly event: ScriptEvent & SyscallEvent;
  readonly endMs: number;
  settled: { value: number; time: number } | { error: unknown; time: number } | null;
}

const INTERFACE = 'tun0';

/** Puts a script's route in the stack's table, in place of one for the same prefix. */
function applyRoute(stack: Stack, route: DrillRoute): void {
  const prefix = parseIpv4Cidr(route.destination);
  if (prefix) stack.ip.routes.remove(prefix);
  const prefix6 = route.destination.includes(':') ? parseIpv6Cidr(route.destination) : null;
  if (prefix6) stack.ip6.routes.remove(prefix6);
  stack.addRoute(route.destination, { interfaceName: INTERFACE, via: route.via, mtu: route.mtu, advertisedMss: route.advertisedMss });
}

/** Calls whose result is a new descriptor: the script's number becomes its name. */
const DESCRIPTOR_CALLS: ReadonlySet<string> = new Set(['socket', 'accept', 'accept4', 'epoll_create', 'epoll_create1']);

/** Applies `--name=value` options (from a script or the command line) to settings. */
export function applyOptions(settings: DrillSettings, options: readonly Pick<ScriptOption, 'name' | 'value'>[], warnings: string[]): DrillSettings {
  const next: { -readonly [K in keyof DrillSettings]: DrillSettings[K] } = { ...settings };
  for (const { name, value } of options) {
    const n = Number(value);
    switch (name) {
      case 'linux':
        next.portable = false;
        break;
      case 'portable':
        next.portable = true;
        break;
      case 'tolerance_usecs':
        next.toleranceUsecs = n;
        break;
      case 'tolerance_percent':
        warnings.push(`--tolerance_percent is not supported; use --tolerance_usecs`);
        break;
      case 'strict_segments':
        next.strictSegments = value === undefined || value !== '0';
        break;
      case 'local_ip':
        next.localIp = value ?? next.localIp;
        break;
      case 'remote_ip':
        next.remoteIp = value ?? next.remoteIp;
        break;
      case 'bind_port':
        next.bindPort = n;
        break;
      case 'connect_port':
        next.connectPort = n;
        break;
      case 'remote_port':
        next.remotePort = n;
        break;
      case 'remote_isn':
        next.remoteIsn = n >>> 0;
        break;
      case 'mtu':
        next.mtu = n;
        break;
      case 'tcp_ts_tick_usecs':
        next.tsTickUsecs = n;
        break;
      case 'seed':
        next.seed = n;
        break;
      case 'ip_version': {
        const version = parseIpVersion(value);
        if (version === null) throw new Error(`--ip_version=${value ?? ''}: packetdrill's modes are ipv4, ipv4-mapped-ipv6 and ipv6`);
        next.ipVersion = version;
        break;
      }
      case 'verbose':
      case 'dry_run':
      case 'non_fatal':
      case 'wire_client':
      case 'wire_server':
        warnings.push(`--${name} has no meaning for ustack's runner`);
        break;
      default:
        warnings.push(`unknown option --${name}${value === undefined ? '' : `=${value}`} (ignored)`);
    }
    if (Number.isNaN(n) && ['tolerance_usecs', 'bind_port', 'connect_port', 'remote_port', 'remote_isn', 'mtu', 'tcp_ts_tick_usecs', 'seed'].includes(name)) {
      throw new Error(`--${name} needs a number`);
    }
  }
  return next;
}

/** One run of one script. */
class DrillRun {
  private readonly clock = new ManualClock(0);
  private stack: Stack | null = null;
  private link: CaptureLink | null = null;
  /** The transmit queue's limit the script's qdisc sets, for the link once there is one. */
  private queueLimit = Number.POSITIVE_INFINITY;
  private api: BerkeleySockets | null = null;
  private readonly sent: Sent[] = [];
  private readonly pending: PendingCall[] = [];
  private readonly pcap = new PcapWriter({ linkType: LinkType.RAW });
  private readonly flow: Flow;
  /** The address `bind(fd, ..., ...)` takes (IPv4-mapped in ipv4-mapped-ipv6). */
  private readonly bindAddress: string;
  /** The address `connect(fd, ..., ...)` and `sendto` take. */
  private readonly connectAddress: string;
  private readonly socketTypes = new Map<number, number>();
  /** Script descriptor numbers → ustack's (packetdrill maps them the same way). */
  private readonly descriptors = new Map<number, number>();
  private config: TcpConfigChanges = {};
  /** The OS personality applied (src/tcp/profiles.ts), once the script's sysctls named one. */
  private profile: 'linux' | 'freebsd' | null = null;
  /** Routes the script's `ip route` lines set, in order (applied to the stack when it exists). */
  private readonly routes: DrillRoute[] = [];
  /** Values set_sysctls.py replaced, for its restore script. */
  private restoreValues: TcpConfigChanges = {};
  /** packetdrill's "socket under test": the last socket() or accept() result; `%{ }%` reads its TCP_INFO. */
  private socketUnderTest: number | null = null;
  /** `%{ }%` blocks with the TCP_INFO they saw, run with python3 when the script is over. */
  private readonly snippets: CodeSnippet[] = [];
  /** Virtual time (ms) relative times count from. */
  private base = 0;
  private current: ScriptEvent | null = null;
  readonly applied: string[] = [];

  constructor(
    private readonly settings: DrillSettings,
    readonly warnings: string[],
  ) {
    const family = wireFamily(settings.ipVersion);
    const defaults = family === 6 ? IPV6_DEFAULTS : IPV4_DEFAULTS;
    const localText = settings.localIp ?? defaults.localIp;
    const remoteText = settings.remoteIp ?? defaults.remoteIp;
    const parse = family === 6 ? parseIpv6Address : parseIpv4Address;
    const local = parse(localText);
    const remote = parse(remoteText);
    if (local === null || remote === null)
      throw new Error(`bad address for --ip_version=${settings.ipVersion}: --local_ip=${localText} --remote_ip=${remoteText} (IPv${family} addresses)`);
    // What bind and connect take (config.c's live_bind_ip, live_connect_ip): the wire's
    // addresses, IPv4-mapped in the ipv4-mapped-ipv6 mode.
    const socketText = (address: number | Uint8Array): string =>
      typeof address !== 'number'
        ? formatIpv6Address(address)
        : settings.ipVersion === 'ipv4'
          ? formatIpv4Address(address)
          : `::ffff:${formatIpv4Address(address)}`;
    this.bindAddress = socketText(local);
    this.connectAddress = socketText(remote);
    this.flow = {
      family,
      localAddress: local,
      remoteAddress: remote,
      localPort: settings.bindPort,
      remotePort: settings.remotePort,
      localIsn: null,
      remoteIsn: settings.remoteIsn,
      tsOffset: null,
      nextIpId: 1,
    };
  }

  private get toleranceMs(): number {
    return this.settings.toleranceUsecs / 1000;
  }

  private get matchSettings(): MatchSettings {
    const ticks = Math.ceil(this.settings.toleranceUsecs / this.settings.tsTickUsecs) + 1;
    return { portable: this.settings.portable, tsToleranceTicks: ticks, strictSegments: this.settings.strictSegments };
  }

  get now(): number {
    return this.clock.now();
  }

  get pcapBytes(): Uint8Array {
    return this.pcap.toBytes();
  }

  private fail(message: string, expected?: string, actual?: string, unsupported: UnsupportedFeature | null = null): never {
    const event = this.current;
    throw new Failure({ line: event?.line ?? 0, text: event?.text ?? '', message, expected, actual, time: this.now / 1000 }, unsupported);
  }

  /**
   * A script's route into the table; one the table refuses (an IPv6 route MTU too small for even
   * a fragment, src/ip/ipv6-routes.ts) fails the script at the line.
   */
  private applyRoute(stack: Stack, route: DrillRoute): void {
    try {
      applyRoute(stack, route);
    } catch (error) {
      this.fail(`the route to ${route.destination}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The stack, created at the first event that needs it (after the leading backtick lines). */
  private ensureStack(): { stack: Stack; api: BerkeleySockets } {
    if (this.stack && this.api) return { stack: this.stack, api: this.api };
    const link = new CaptureLink(this.settings.mtu, (frame, now) => {
      this.pcap.record(now, frame);
      this.sent.push({ time: now, frame, packet: decodeFrame(frame) });
    });
    link.transmitQueueLimit = this.queueLimit;
    this.link = link;
    const stack = new Stack({ name: 'ustack', seed: this.settings.seed, tcp: this.config as Partial<TcpConfig> });
    stack.setTimeSource(this.clock);
    const ipv6 = this.flow.family === 6;
    // In ipv6 mode the interface keeps an IPv4 address nobody uses (ustack's interfaces have one).
    const address = ipv6 ? IPV4_DEFAULTS.localIp : formatIpv4Address(this.flow.localAddress as number);
    const address6 = ipv6 ? `${formatIpv6Address(this.flow.localAddress as Uint8Array)}/${IPV6_DEFAULTS.prefixLength}` : undefined;
    stack.addInterface({ name: INTERFACE, link, address: `${address}/${this.settings.prefixLength}`, address6 });
    stack.addRoute('0.0.0.0/0', { interfaceName: INTERFACE });
    // packetdrill's peer is off-link, behind its gateway; on a TUN link any route through tun0 reaches it.
    if (ipv6) stack.addRoute('::/0', { interfaceName: INTERFACE });
    for (const route of this.routes) this.applyRoute(stack, route);
    this.stack = stack;
    this.api = new BerkeleySockets(stack);
    return { stack, api: this.api };
  }

  /**
   * Lets promise callbacks run (blocking calls finishing), checks the calls that returned, and
   * fails when one is still blocked past its end time.
   */
  private async settle(): Promise<void> {
    if (this.pending.length === 0) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const call of [...this.pending]) {
      if (call.settled !== null) {
        this.pending.splice(this.pending.indexOf(call), 1);
        const saved = this.current;
        this.current = call.event;
        this.checkPending(call);
        this.current = saved;
      } else if (this.now > call.endMs + this.toleranceMs) {
        this.current = call.event;
        this.fail(`the call was still blocked at ${(this.now / 1000).toFixed(3)} s; it should have returned at ${(call.endMs / 1000).toFixed(3)} s`);
      }
    }
  }

  /** Moves one step: to the next deadline if it is at or before `limit`; false if there is none. */
  private async step(limit: number): Promise<boolean> {
    const stack = this.ensureStack().stack;
    const next = stack.pollAt();
    if (next > limit) return false;
    const time = Math.max(next, this.now);
    this.clock.set(time);
    stack.poll(time);
    await this.settle();
    return true;
  }

  /** Runs ustack's timers up to `target` (ms) and leaves the clock there. */
  private async advanceTo(target: number): Promise<void> {
    const stack = this.ensureStack().stack;
    let spins = 0;
    let lastTime = -1;
    while (await this.step(target)) {
      spins = this.now === lastTime ? spins + 1 : 0;
      lastTime = this.now;
      if (spins > 10_000) this.fail(`ustack asks to be polled at ${this.now} ms over and over`);
    }
    if (target > this.now) this.clock.set(target);
    stack.poll(this.now);
    await this.settle();
  }

  /** Resolves a written time point against the base (ms). */
  private resolve(point: TimePoint): number {
    return point.relative ? this.base + point.seconds * 1000 : point.seconds * 1000;
  }

  /** When an event starts (for inbound packets, calls, shell lines). */
  private startTime(event: ScriptEvent): number {
    if (event.time.kind === 'any') return this.now;
    const at = event.time.kind === 'point' ? this.resolve(event.time.at) : this.resolve(event.time.low);
    if (at + 1e-9 < this.base - this.toleranceMs && event.time.kind === 'point' && !event.time.at.relative) {
      this.fail(`time ${event.time.at.seconds} s is before the previous event (${(this.base / 1000).toFixed(3)} s)`);
    }
    return Math.max(at, this.now);
  }

  async run(script: Script): Promise<void> {
    for (const event of script.events) {
      this.current = event;
      switch (event.kind) {
        case 'shell':
          await this.shell(event);
          break;
        case 'packet':
          if (event.direction === 'inbound') await this.inbound(event);
          else await this.outbound(event);
          break;
        case 'syscall':
          await this.syscall(event);
          break;
        case 'code':
          await this.code(event);
          break;
      }
    }
    // Blocking calls still in flight must return by their end time.
    while (this.pending.length > 0) {
      const call = this.pending[0];
      this.current = call.event;
      const deadline = call.endMs + this.toleranceMs;
      if (!(await this.step(deadline))) {
        await this.advanceTo(deadline);
        if (this.pending.includes(call)) this.fail(`the call never returned; it should have returned at ${(call.endMs / 1000).toFixed(3)} s`);
      }
    }
    const outcome = runPythonSnippets(this.snippets);
    if (!outcome.ok) {
      const snippet = this.snippets.find((s) => s.line === outcome.line);
      this.current = snippet ? ({ line: snippet.line, text: `%{ ${snippet.code} }%` } as ScriptEvent) : this.current;
      this.fail(outcome.message);
    }
  }

  /** A `%{ }%` block: reads TCP_INFO of the socket under test now; the code runs at the end. */
  private async code(event: ScriptEvent & CodeEvent): Promise<void> {
    const { api } = this.ensureStack();
    const at = this.startTime(event);
    await this.advanceTo(at);
    this.base = event.time.kind === 'any' ? this.now : at;
    if (this.socketUnderTest === null) this.fail('no socket to use for code (no socket() or accept() yet)');
    let info: unknown;
    try {
      info = api.getsockopt(this.socketUnderTest, C.IPPROTO_TCP, C.TCP_INFO);
    } catch (error) {
      this.fail(`getsockopt(${this.socketUnderTest}, IPPROTO_TCP, TCP_INFO) failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const variables: Record<string, number> = {};
    for (const [name, value] of Object.entries(info as Record<string, unknown>)) {
      if (typeof value === 'number') variables[`tcpi_${name}`] = value;
    }
    this.snippets.push({ line: event.line, code: event.code, variables });
  }

  private async shell(event: ScriptEvent & { kind: 'shell' }): Promise<void> {
    // A backtick line acts at its own time: the stack runs up to it first.
    if (this.stack) {
      await this.advanceTo(this.startTime(event));
      this.base = this.now;
    }
    if (isFreeBsdTool(event.command)) {
      // sockstat and tcpdrop ask about (or act on) the stack as it is at this line's time.
      const { stack, api } = this.ensureStack();
      const tool = runFreeBsdTool(event.command, { stack, api, command: 'packetdrill', pid: process.pid });
      if (tool.kind === 'unsupported') this.warnings.push(`line ${event.line}: unsupported: ${tool.reason}`);
      else if (tool.exitStatus !== 0)
        this.fail(
          `\`${event.command}\` exited with status ${tool.exitStatus} (packetdrill fails the script)`,
          'exit status 0',
          tool.output === '' ? 'no output' : `output ${JSON.stringify(tool.output)}`,
        );
      else this.applied.push(`line ${event.line}: ${event.command} → ${tool.summary}`);
      return;
    }
    const expanded = expandCommand(event.command, this.settings.directory);
    for (const note of expanded.notes) this.applied.push(`line ${event.line}: ${note}`);
    const changes: TcpConfigChanges = {};
    if (this.profile === null) {
      // The script's own sysctls say which system it was written for: apply that personality
      // first (src/tcp/profiles.ts); the script's values then override it.
      const text = expanded.commands.map((c) => c.text).join('\n');
      const os = /\bnet[./]ipv4[./]/.test(text) ? 'linux' : this.settings.portable && /\bnet\.inet\.|\bkern\.ipc\./.test(text) ? 'freebsd' : null;
      if (os !== null) {
        this.profile = os;
        Object.assign(changes, TCP_PROFILES[os]);
        const settings = Object.entries(TCP_PROFILES[os]).map(([field, value]) => `tcp.${field}=${String(value)}`);
        this.applied.push(
          `line ${event.line}: the script sets ${os === 'linux' ? 'Linux' : 'FreeBSD'} sysctls → ${os} profile: ${settings.join(', ') || 'no differences'}`,
        );
      }
    }
    if (expanded.restore) {
      Object.assign(changes, this.restoreValues);
      this.restoreValues = {};
    }
    const actions: ((stack: Stack) => string)[] = [];
    for (const command of expanded.commands) {
      const outcome = mapShellCommand(command.text, this.settings.portable);
      for (const line of outcome.applied) this.applied.push(`line ${event.line}: ${line}`);
      for (const line of outcome.unsupported) this.warnings.push(`line ${event.line}: unsupported: ${line}`);
      for (const route of outcome.routes) {
        this.routes.push(route);
        if (this.stack) this.applyRoute(this.stack, route);
      }
      if (command.fromHelper) {
        // set_sysctls.py remembers the old value of what it sets, for its restore script.
        const effective = { ...this.tcpConfig, ...changes } as Record<string, unknown>;
        for (const field of Object.keys(outcome.changes)) {
          if (!(field in this.restoreValues)) (this.restoreValues as Record<string, unknown>)[field] = effective[field];
        }
      }
      Object.assign(changes, outcome.changes);
      actions.push(...outcome.actions);
      if (outcome.transmitQueueLimit !== undefined) {
        this.queueLimit = outcome.transmitQueueLimit;
        if (this.link) this.link.transmitQueueLimit = this.queueLimit;
      }
    }
    Object.assign(this.config, changes);
    if (this.stack) {
      // Later changes reach live connections too: they read the layer's configuration.
      const layer = this.stack.tcp as unknown as { config: TcpConfig };
      layer.config = { ...layer.config, ...changes };
    }
    for (const action of actions) this.applied.push(`line ${event.line}: ${action(this.ensureStack().stack)}`);
  }

  /** The TCP configuration in force: ustack's defaults with the script's changes. */
  private get tcpConfig(): TcpConfig {
    return this.stack ? this.stack.tcp.config : { ...DEFAULT_TCP_CONFIG, ...this.config };
  }

  private async inbound(event: ScriptEvent & PacketEvent): Promise<void> {
    const { stack } = this.ensureStack();
    const at = this.startTime(event);
    await this.advanceTo(at);
    this.base = event.time.kind === 'any' ? this.now : at;
    const spec = event.packet;
    let frame: Uint8Array;
    try {
      frame =
        spec.protocol === 'tcp'
          ? buildTcpFrame(spec, this.flow, event.line)
          : spec.protocol === 'udp'
            ? buildUdpFrame(spec, this.flow)
            : buildIcmpFrame(spec, this.flow, event.line);
    } catch (error) {
      this.fail(error instanceof Error ? error.message : String(error));
    }
    this.pcap.record(this.now, frame);
    stack.receive(INTERFACE, frame, this.now);
    if (stack.lastInternalError) this.fail(`ustack threw while taking the packet: ${String(stack.lastInternalError)}`);
    stack.poll(this.now);
    await this.settle();
  }

  /** The next frame ustack sends, waiting (in virtual time) until `limit`; null if none by then. */
  private async nextSent(limit: number): Promise<Sent | null> {
    while (this.sent.length === 0) {
      if (!(await this.step(limit))) {
        if (limit !== Infinity && limit > this.now) {
          this.clock.set(limit);
          this.ensureStack().stack.poll(limit);
          await this.settle();
        }
        if (this.sent.length === 0) return null;
      }
    }
    return this.sent.shift()!;
  }

  private async outbound(event: ScriptEvent & PacketEvent): Promise<void> {
    this.ensureStack();
    const tolerance = this.toleranceMs;
    let low: number;
    let high: number;
    let scripted: number;
    if (event.time.kind === 'any') {
      low = -Infinity;
      high = this.now + 3_600_000;
      scripted = this.now;
    } else if (event.time.kind === 'range') {
      low = this.resolve(event.time.low) - tolerance;
      high = this.resolve(event.time.high) + tolerance;
      scripted = low;
    } else {
      scripted = this.resolve(event.time.at);
      low = scripted - tolerance;
      high = scripted + tolerance;
    }
    let spec = event.packet;
    const expectedText = spec.protocol === 'tcp' ? formatTcpSpec(spec) : event.text.replace(/^\S+\s+>\s*/, '');
    for (;;) {
      const sent = await this.nextSent(high);
      if (!sent) {
        this.fail(`ustack sent nothing by ${(high / 1000).toFixed(3)} s`, `${expectedText} at ${(scripted / 1000).toFixed(3)} s`, 'no packet');
      }
      const actualText = `${formatDecoded(sent.packet, this.flow)} at ${(sent.time / 1000).toFixed(3)} s`;
      let outcome: MatchOutcome;
      if (spec.protocol === 'tcp') outcome = matchTcp(spec, sent.packet, this.flow, this.matchSettings);
      else if (spec.protocol === 'udp') outcome = matchUdp(spec, sent.packet, this.flow);
      else outcome = matchIcmp(spec, sent.packet, this.flow);
      if (outcome.kind === 'mismatch') {
        this.fail(outcome.differences.join('; '), expectedText, formatDecoded(sent.packet, this.flow));
      }
      if (sent.time < low) {
        this.fail(
          `sent ${((scripted - sent.time) / 1000).toFixed(3)} s early (tolerance ${tolerance} ms)`,
          `${expectedText} at ${(scripted / 1000).toFixed(3)} s`,
          actualText,
        );
      }
      if (sent.time > high) {
        this.fail(
          `sent ${((sent.time - scripted) / 1000).toFixed(3)} s late (tolerance ${tolerance} ms)`,
          `${expectedText} at ${(scripted / 1000).toFixed(3)} s`,
          actualText,
        );
      }
      this.base = sent.time;
      if (outcome.kind === 'match') return;
      // A piece of the scripted segment: the rest must follow.
      const tcpSpec = spec as TcpPacketSpec;
      spec = { ...tcpSpec, seqStart: (tcpSpec.seqStart + outcome.bytes) >>> 0, length: tcpSpec.length - outcome.bytes };
    }
  }

  private async syscall(event: ScriptEvent & SyscallEvent): Promise<void> {
    const { api } = this.ensureStack();
    const at = this.startTime(event);
    // A relative end counts from the base the start counted from (packetdrill adds the same
    // offset to both), not from the start.
    const endMs = event.end ? this.resolve(event.end) : at;
    await this.advanceTo(at);
    this.base = event.time.kind === 'any' ? this.now : at;
    const call: PendingCall = { event, endMs, settled: null };
    const context: SyscallContext = {
      api,
      flow: this.flow,
      socketDomain: socketFamily(this.settings.ipVersion) === 6 ? C.AF_INET6 : C.AF_INET,
      bindAddress: this.bindAddress,
      connectAddress: this.connectAddress,
      bindPort: this.settings.bindPort,
      connectPort: this.settings.connectPort,
      remotePort: this.settings.remotePort,
      socketTypes: this.socketTypes,
      descriptors: this.descriptors,
    };
    const underTest = (value: number): void => {
      if ((event.name === 'socket' || event.name === 'accept' || event.name === 'accept4') && value >= 0) this.socketUnderTest = value;
    };
    try {
      const result = startSyscall(event, context);
      if (typeof result === 'number') {
        call.settled = { value: result, time: this.now };
        underTest(result);
      } else {
        result.then(
          (value) => {
            call.settled = { value, time: this.now };
            underTest(value);
          },
          (error: unknown) => (call.settled = { error, time: this.now }),
        );
      }
    } catch (error) {
      call.settled = { error, time: this.now };
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    // Output from the call (a SYN, data) leaves at once.
    this.ensureStack().stack.poll(this.now);
    if (call.settled === null) {
      if (!event.end) this.fail('the call blocked; a blocking call is written with its return time (start...end)');
      this.pending.push(call);
      return;
    }
    this.checkPending(call);
  }

  private checkPending(call: PendingCall): void {
    const settled = call.settled!;
    const event = call.event;
    if ('error' in settled && settled.error instanceof SyscallProblem) this.fail(settled.error.message);
    if ('error' in settled && settled.error instanceof UnsupportedFeatureError) this.fail(settled.error.message, undefined, undefined, settled.error.feature);
    if ('error' in settled && !(settled.error instanceof ErrnoError)) {
      this.fail(`the call threw: ${settled.error instanceof Error ? settled.error.message : String(settled.error)}`);
    }
    const describedExpectation = `${event.name}() = ${event.errno ? `-1 ${event.errno}` : event.result.kind === 'elided' ? '...' : safeValue(event.result)}`;
    const describedActual = `${describeOutcome(settled)} at ${(settled.time / 1000).toFixed(3)} s`;
    if (event.result.kind !== 'elided') {
      let expectedValue: number;
      try {
        expectedValue = evaluate(event.result);
      } catch (error) {
        this.fail(error instanceof Error ? error.message : String(error));
      }
      if ('value' in settled) {
        if (DESCRIPTOR_CALLS.has(event.name) && expectedValue >= 0 && settled.value >= 0) this.descriptors.set(expectedValue, settled.value);
        else if (settled.value !== expectedValue) this.fail('the call returned a different value', describedExpectation, describedActual);
      } else {
        const code = (settled.error as ErrnoError).code;
        const wanted = event.errno === 'EWOULDBLOCK' ? 'EAGAIN' : event.errno;
        if (expectedValue !== -1 || (wanted !== undefined && wanted !== code)) this.fail('the call failed differently', describedExpectation, describedActual);
      }
    }
    if (event.end) {
      const late = settled.time - call.endMs;
      if (Math.abs(late) > this.toleranceMs) {
        this.fail(
          `the call returned ${Math.abs(late / 1000).toFixed(3)} s ${late > 0 ? 'late' : 'early'}`,
          `return at ${(call.endMs / 1000).toFixed(3)} s`,
          describedActual,
        );
      }
    }
  }

  /** Frames ustack sent that no line asked about (for the report). */
  get unmatched(): readonly Sent[] {
    return this.sent;
  }

  /** Describes an unmatched frame for the report. */
  describe(sent: Sent): string {
    if (sent.packet.protocol === 'tcp') learnFromOutbound(null, sent.packet.tcp, this.flow);
    return `${formatDecoded(sent.packet, this.flow)} at ${(sent.time / 1000).toFixed(3)} s`;
  }

  /** ustack's address as bind takes it. */
  get localAddress(): string {
    return this.bindAddress;
  }
}

function safeValue(expression: SyscallEvent['result']): string {
  try {
    return String(evaluate(expression));
  } catch {
    return expression.kind;
  }
}

/** What runScript needs besides the script text. */
export interface RunScriptOptions {
  /** A name for the report (the file name). */
  readonly name: string;
  /** Settings from the command line; they win over the script's own `--` lines. */
  readonly overrides?: readonly Pick<ScriptOption, 'name' | 'value'>[];
  /** Starting settings (defaults: DEFAULT_DRILL_SETTINGS). */
  readonly settings?: DrillSettings;
  /** The script's folder, for backtick commands that run a file next to it. */
  readonly directory?: string;
  /**
   * Names `#ifdef` sees (nplab's `-D NAME`). Default: STANDARD, the branch of the nplab scripts
   * that follows the RFC.
   */
  readonly defines?: readonly string[];
}

/** Parses and runs one script. Never throws: every problem is a failed (or unsupported) result. */
export async function runScript(source: string, options: RunScriptOptions): Promise<DrillResult> {
  const warnings: string[] = [];
  let script: Script;
  let settings: DrillSettings;
  // The mode a script that cannot be parsed is reported in: the command line's, else the default.
  const named = options.overrides?.findLast((o) => o.name === 'ip_version');
  let ipVersion: IpVersion = parseIpVersion(named?.value) ?? (options.settings ?? DEFAULT_DRILL_SETTINGS).ipVersion;
  let run: DrillRun;
  try {
    const defines = new Set(options.defines ?? ['STANDARD']);
    script = parseScript(source, defines);
    settings = applyOptions(applyOptions(options.settings ?? DEFAULT_DRILL_SETTINGS, script.options, warnings), options.overrides ?? [], warnings);
    ipVersion = settings.ipVersion;
    if (socketFamily(ipVersion) === 6 && /\bCMSG_(LEVEL_IP|TYPE_RECVERR)\b/.test(source)) {
      // run_all.py's -D CMSG_LEVEL_IP=SOL_IPV6 -D CMSG_TYPE_RECVERR=IPV6_RECVERR for the
      // variants whose sockets are AF_INET6: packetdrill substitutes the names before parsing.
      script = parseScript(source.replace(/\bCMSG_LEVEL_IP\b/g, 'SOL_IPV6').replace(/\bCMSG_TYPE_RECVERR\b/g, 'IPV6_RECVERR'), defines);
    }
    if (options.directory !== undefined) settings = { ...settings, directory: options.directory };
    run = new DrillRun(settings, warnings);
  } catch (error) {
    const line = error instanceof ScriptSyntaxError ? error.line : 0;
    const message = error instanceof ScriptSyntaxError ? `syntax: ${error.detail}` : String(error instanceof Error ? error.message : error);
    return {
      name: options.name,
      ipVersion,
      passed: false,
      failure: { line, text: '', message, time: 0 },
      unsupported: error instanceof UnsupportedFeatureError ? error.feature : null,
      applied: [],
      warnings,
      pcap: new PcapWriter({ linkType: LinkType.RAW }).toBytes(),
      virtualSeconds: 0,
    };
  }
  let failure: DrillFailure | null = null;
  let unsupported: UnsupportedFeature | null = null;
  try {
    await run.run(script);
  } catch (error) {
    if (error instanceof Failure) {
      failure = error.failure;
      unsupported = error.unsupported;
    } else
      failure = {
        line: 0,
        text: '',
        message: `runner error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        time: run.now / 1000,
      };
  }
  return {
    name: options.name,
    ipVersion: settings.ipVersion,
    passed: failure === null,
    failure,
    unsupported,
    applied: run.applied,
    warnings,
    pcap: run.pcapBytes,
    virtualSeconds: run.now / 1000,
  };
}
