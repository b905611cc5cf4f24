/**
 * netsim: two stacks on one virtual wire with a link model, one TCP connection carrying the
 * same number of bytes each way at the same time (full duplex), each direction checked
 * bit-exact by SHA-256, and both FINs exchanged; over IPv4 (10.0.0.1 → 10.0.0.2) or IPv6
 * (fd00::1 → fd00::2, `RunOptions.family`), the same scenario either way. Everything runs in virtual time from a seed,
 * so a run is reproducible packet for packet.
 *
 * Each side's path, from the stack outward (faults apply to what a side transmits, so both
 * directions see them):
 *
 *     stack ─ PcapTap ─ OutageLink ─ FaultInjector ─ WireEnd ══ latency ══ WireEnd ─ … ─ stack
 *
 * The tap sits next to the stack, so its capture is exactly what that stack sent and received.
 * It keeps only the first `snaplen` bytes of each frame (headers and options: enough for
 * Wireshark's TCP analysis) unless `NETSIM_SNAPLEN` asks for more.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Rng } from '../../src/core/rng.js';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { FaultInjector, type FaultConfig } from '../../src/link/fault-injector.js';
import { LinkDecorator, type Link } from '../../src/link/link.js';
import { PcapTap } from '../../src/link/pcap-tap.js';
import { LendingLink } from '../support/lending-link.js';
import { VirtualWire } from '../../src/link/virtual-wire.js';
import type { CounterName } from '../../src/socket-api/counters.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import type { TcpConnection } from '../../src/tcp/connection.js';

/** What the wire between the two stacks does. */
export interface LinkModel {
  /** One-way propagation delay (ms). */
  readonly latencyMs: number;
  /** Largest IP packet; 1500 by default. */
  readonly mtu?: number;
  /** Faults on each side's transmissions (a rate limit here makes each direction a bottleneck). */
  readonly faults?: FaultConfig;
  /** Both directions drop every frame sent in [startMs, startMs + durationMs). */
  readonly outage?: { readonly startMs: number; readonly durationMs: number };
  /** TCP segmentation offload: segments up to 64 KiB cross as one frame (VirtualWire). */
  readonly segmentationOffload?: boolean;
  /**
   * Each received frame is lent to the side's link chain and stack only while they take it
   * (LendingLink, next to the wire): overwritten with garbage once the receive returns, as
   * TunLink's fixed batch memory is.
   */
  readonly lendFrames?: boolean;
}

/** One netsim scenario. */
export interface Scenario {
  readonly name: string;
  readonly link: LinkModel;
  /** TCP settings of both stacks (buffer sizes: the windows). */
  readonly tcp?: Partial<TcpConfig>;
  /** The server's application stops reading once it has read `afterBytes`, for `durationMs`. */
  readonly readerPause?: { readonly afterBytes: number; readonly durationMs: number };
  /**
   * Each side reneges once (RFC 2018 §8): 1 ms after its receiver first holds data out of order
   * (SACKed by then: an out-of-order segment is acknowledged at once), that data is discarded.
   */
  readonly receiverReneges?: boolean;
}

/** How to run a scenario once. */
export interface RunOptions {
  readonly seed: number;
  /** Bytes sent in each direction. */
  readonly bytes: number;
  /** Give up after this much virtual time (ms). */
  readonly limitMs: number;
  /** Bytes of each frame kept in the captures (default 128, or NETSIM_SNAPLEN). */
  readonly snaplen?: number;
  /** The IP version the connection runs over; 4 by default. */
  readonly family?: 4 | 6;
}

/** What happened to one direction of the transfer. */
export interface DirectionResult {
  readonly sent: number;
  readonly received: number;
  readonly exact: boolean;
  /** Virtual time (ms) the receiving application read the last byte, or null. */
  readonly doneAt: number | null;
}

/** Everything a test asserts on, and what a failure report needs. */
export interface RunResult {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly bytes: number;
  readonly family: 4 | 6;
  readonly net: VirtualNetwork;
  readonly client: Stack;
  readonly server: Stack;
  readonly clientFaults: FaultInjector | null;
  readonly serverFaults: FaultInjector | null;
  readonly clientTap: PcapTap;
  readonly serverTap: PcapTap;
  readonly clientToServer: DirectionResult;
  readonly serverToClient: DirectionResult;
  /** Virtual time (ms) when both ends had closed (TIME-WAIT or CLOSED), or null. */
  readonly closedAt: number | null;
  readonly clientState: string;
  readonly serverState: string;
  /** Errors the connections died of (null = none: a clean close, or still closing in TIME-WAIT). */
  readonly closeErrors: { readonly client: string | null; readonly server: string | null };
  /** Frames the outage swallowed. */
  readonly outageDrops: number;
  /** Times each receiver reneged (scenario.receiverReneges). */
  readonly reneges: { readonly client: number; readonly server: number };
  /** Why the run did not finish, or null. */
  readonly failure: string | null;
  readonly wallMs: number;
}

/** A Link decorator that drops everything transmitted during a time window (a dead link). */
export class OutageLink extends LinkDecorator {
  dropped = 0;

  constructor(
    inner: Link,
    private readonly startMs: number,
    private readonly endMs: number,
  ) {
    super(inner);
  }

  override transmit(frame: Uint8Array, now: number, segmentSize?: number): void {
    if (now >= this.startMs && now < this.endMs) {
      this.dropped++;
      return;
    }
    this.inner.transmit(frame, now, segmentSize);
  }
}

const CLIENT_ADDRESS = '10.0.0.1';
const SERVER_ADDRESS = '10.0.0.2';
const CLIENT_ADDRESS6 = 'fd00::1';
const SERVER_ADDRESS6 = 'fd00::2';
const SERVER_PORT = 5001;
const SEND_CHUNK = 65536;

function defaultSnaplen(): number {
  const fromEnv = Number(process.env.NETSIM_SNAPLEN);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 128;
}

/** One side's link chain; returns its decorators. */
function attach(stack: Stack, address: string, address6: string, end: Link, model: LinkModel, seed: number, snaplen: number) {
  let link: Link = model.lendFrames ? new LendingLink(end) : end;
  let faults: FaultInjector | null = null;
  let outage: OutageLink | null = null;
  if (model.faults) link = faults = new FaultInjector(link, model.faults, new Rng(seed));
  if (model.outage) link = outage = new OutageLink(link, model.outage.startMs, model.outage.startMs + model.outage.durationMs);
  const tap = new PcapTap(link, { snaplen });
  stack.addInterface({ name: 'eth0', link: tap, address: `${address}/24`, address6: `${address6}/64` });
  return { faults, outage, tap };
}

/** One application endpoint: sends `data`, hashes what it reads, closes when both are done. */
class Endpoint {
  private offset = 0;
  private readonly hash = createHash('sha256');
  received = 0;
  doneAt: number | null = null;
  sentAll = false;
  closed = false;
  paused = false;
  /** Times its receiver discarded its out-of-order data (scenario.receiverReneges). */
  reneged = 0;
  /** Called after each read with the running total (the reader-pause hook). */
  onRead: ((received: number) => void) | null = null;

  constructor(
    readonly connection: TcpConnection,
    private readonly data: Uint8Array,
    private readonly now: () => number,
  ) {
    const events = connection.events;
    events.onConnect = () => this.pump();
    events.onWritable = () => this.pump();
    events.onReadable = () => this.drain();
  }

  get digest(): string {
    return this.hash.copy().digest('hex');
  }

  pump(): void {
    const connection = this.connection;
    while (this.offset < this.data.length) {
      const sent = connection.send(this.data.subarray(this.offset, this.offset + SEND_CHUNK));
      if (!sent.ok || sent.value === 0) break;
      this.offset += sent.value;
    }
    if (this.offset === this.data.length && !this.sentAll) {
      this.sentAll = true;
      connection.shutdownWrite();
    }
    this.maybeClose();
  }

  drain(): void {
    const connection = this.connection;
    while (!this.paused) {
      const chunk = connection.receive();
      if (chunk.length === 0) break;
      this.hash.update(chunk);
      this.received += chunk.length;
      this.onRead?.(this.received);
    }
    if (connection.endOfStream && this.doneAt === null) this.doneAt = this.now();
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.closed || !this.sentAll || this.doneAt === null) return;
    this.closed = true;
    this.connection.close();
  }
}

/**
 * A receiver reneges (RFC 2018 §8 allows it; Linux's tcp_prune_ofo_queue does it under memory
 * pressure): the data it holds out of order, SACKed already, is thrown away.
 */
function renege(endpoint: Endpoint): void {
  endpoint.reneged++;
  endpoint.connection.assembler.clear();
  endpoint.connection.outOfOrderFinSeq = null;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const finished = (state: string) => state === 'TIME-WAIT' || state === 'CLOSED';

/**
 * Runs the scenario once: connect at t = 0, `bytes` each way, close both ways. Never throws for
 * a stalled transfer: `failure` says what did not happen within `limitMs`.
 */
export function runScenario(scenario: Scenario, options: RunOptions): RunResult {
  const started = performance.now();
  const { seed, bytes } = options;
  const family = options.family ?? 4;
  const snaplen = options.snaplen ?? defaultSnaplen();
  const net = new VirtualNetwork(seed);
  const client = net.createStack('client', { tcp: scenario.tcp });
  const server = net.createStack('server', { tcp: scenario.tcp });
  const model = scenario.link;
  const wire = new VirtualWire({ name: 'netsim', mtu: model.mtu ?? 1500, latencyMs: model.latencyMs, segmentationOffload: model.segmentationOffload });
  const a = attach(client, CLIENT_ADDRESS, CLIENT_ADDRESS6, wire.a, model, seed * 2 + 1, snaplen);
  const b = attach(server, SERVER_ADDRESS, SERVER_ADDRESS6, wire.b, model, seed * 2 + 2, snaplen);

  const clientData = new Rng(seed * 7919 + 1).bytes(bytes);
  const serverData = new Rng(seed * 7919 + 2).bytes(bytes);
  const now = () => net.now;

  // Hooks at fixed virtual times (the reader's resume), run between the network's own steps.
  const hooks: Array<{ time: number; run: () => void }> = [];

  const listener = unwrap(server.tcp.listen(family === 4 ? 0 : '::', SERVER_PORT));
  let serverEnd: Endpoint | null = null;
  listener.onAcceptable = () => {
    const connection = listener.accept()!;
    const endpoint = (serverEnd = new Endpoint(connection, serverData, now));
    const pause = scenario.readerPause;
    if (pause) {
      endpoint.onRead = (received) => {
        if (received < pause.afterBytes || endpoint.onRead === null) return;
        endpoint.onRead = null;
        endpoint.paused = true;
        hooks.push({
          time: net.now + pause.durationMs,
          run: () => {
            endpoint.paused = false;
            endpoint.drain();
          },
        });
      };
    }
    endpoint.pump();
    endpoint.drain();
  };
  const clientEnd = new Endpoint(unwrap(client.tcp.connect(family === 4 ? parseIpv4Address(SERVER_ADDRESS)! : SERVER_ADDRESS6, SERVER_PORT)), clientData, now);

  let closedAt: number | null = null;
  const done = () => {
    if (closedAt !== null) return true;
    if (serverEnd === null || !clientEnd.closed || !serverEnd.closed) return false;
    if (!finished(clientEnd.connection.state) || !finished(serverEnd.connection.state)) return false;
    closedAt = net.now;
    return true;
  };

  // Reneging (scenario.receiverReneges): each endpoint's receiver discards its out-of-order data once.
  const toRenege = new Set<Endpoint>();
  const renegeWhenHolding = () => {
    for (const endpoint of [clientEnd, serverEnd]) {
      if (endpoint === null || toRenege.has(endpoint) || endpoint.connection.assembler.heldBytes === 0) continue;
      toRenege.add(endpoint);
      hooks.push({ time: net.now + 1, run: () => renege(endpoint) });
      hooks.sort((x, y) => x.time - y.time);
    }
  };

  let failure: string | null = null;
  const end = net.now + options.limitMs;
  for (;;) {
    if (done()) break;
    const next = net.pollAt();
    const hook = hooks.length > 0 ? hooks[0].time : Infinity;
    if (hook <= next && hook <= end) {
      const due = hooks.shift()!;
      if (due.time > net.now) net.clock.set(due.time);
      for (const stack of net.stacks) stack.poll(net.now); // bring every stack's clock to the hook
      due.run();
      continue;
    }
    if (next === Infinity) {
      failure = `stalled at ${net.now.toFixed(1)} ms: no timer armed and nothing in flight`;
      break;
    }
    if (next > end) {
      failure = `not finished within ${options.limitMs} ms of virtual time`;
      break;
    }
    net.step();
    if (scenario.receiverReneges) renegeWhenHolding();
    if (client.lastInternalError !== null || server.lastInternalError !== null) {
      failure = `internal error: ${String(client.lastInternalError ?? server.lastInternalError)}`;
      break;
    }
  }

  const direction = (from: Endpoint | null, to: Endpoint | null, data: Uint8Array): DirectionResult => ({
    sent: data.length,
    received: to?.received ?? 0,
    exact: to !== null && to.received === data.length && to.digest === sha256(data),
    doneAt: to?.doneAt ?? null,
  });
  return {
    scenario,
    seed,
    bytes,
    family,
    net,
    client,
    server,
    clientFaults: a.faults,
    serverFaults: b.faults,
    clientTap: a.tap,
    serverTap: b.tap,
    clientToServer: direction(clientEnd, serverEnd, clientData),
    serverToClient: direction(serverEnd, clientEnd, serverData),
    closedAt,
    clientState: clientEnd.connection.state,
    serverState: (serverEnd as Endpoint | null)?.connection.state ?? 'none',
    closeErrors: { client: clientEnd.connection.error, server: (serverEnd as Endpoint | null)?.connection.error ?? null },
    outageDrops: (a.outage?.dropped ?? 0) + (b.outage?.dropped ?? 0),
    reneges: { client: clientEnd.reneged, server: (serverEnd as Endpoint | null)?.reneged ?? 0 },
    failure,
    wallMs: performance.now() - started,
  };
}

/** Where failure captures go: `captures/failures/` at the repository root. */
export const FAILURE_CAPTURE_DIRECTORY = new URL('../../captures/failures/', import.meta.url);

/**
 * Writes both sides' captures of a run: `<scenario>-seed<N>.pcap` (the client's view) and
 * `<scenario>-seed<N>-server.pcap`. Returns the paths.
 */
export function writeFailureCaptures(result: RunResult): string[] {
  mkdirSync(FAILURE_CAPTURE_DIRECTORY, { recursive: true });
  const base = `${result.scenario.name}${result.family === 6 ? '-ipv6' : ''}-seed${result.seed}`;
  const files: Array<[string, PcapTap]> = [
    [`${base}.pcap`, result.clientTap],
    [`${base}-server.pcap`, result.serverTap],
  ];
  return files.map(([name, tap]) => {
    const url = new URL(name, FAILURE_CAPTURE_DIRECTORY);
    writeFileSync(url, tap.toBytes());
    return url.pathname;
  });
}

/** A one-line summary of a run for logs and failure messages. */
export function describeRun(result: RunResult): string {
  const c = result.client.stats;
  const s = result.server.stats;
  const counter = (name: CounterName) => `${name}=${c.get(name)}/${s.get(name)}`;
  return [
    `${result.scenario.name} over IPv${result.family} seed ${result.seed}: ${result.bytes} B each way`,
    result.failure ?? `closed at ${result.closedAt?.toFixed(1)} ms`,
    `c→s ${result.clientToServer.received} B exact=${result.clientToServer.exact} done@${result.clientToServer.doneAt?.toFixed(1)}`,
    `s→c ${result.serverToClient.received} B exact=${result.serverToClient.exact} done@${result.serverToClient.doneAt?.toFixed(1)}`,
    `states ${result.clientState}/${result.serverState}`,
    counter('tcp.tx.retransmits'),
    counter('tcp.rto.fired'),
    counter('tcp.tlp.probes'),
    counter('tcp.rack.lost'),
    counter('tcp.rx.dsack'),
    counter('tcp.tx.windowProbes'),
    `wall ${result.wallMs.toFixed(0)} ms`,
  ].join(', ');
}
