/**
 * Named virtual networks: `ustack net start lab` serves one, and every `ustack run --net lab`
 * joins it as a host with its own stack, so programs started from different shells meet on a
 * wire ustack owns. The network is an IP hub in one process, reached over a UNIX socket
 * (`<tmp>/ustack-net/lab.sock`, or under USTACK_NET_DIR): it hands each IPv4 packet to the member
 * that has its destination address (a broadcast or multicast to every other member), drops and
 * counts the rest, optionally records every packet it carries in one pcap, and keeps the members'
 * host names so that `socket.gethostname()` resolves across them.
 *
 * On the socket, both ways: a 4-byte length (little-endian), one type byte (1 an IPv4 packet,
 * 2 a JSON message), then the bytes.
 */
import { existsSync, mkdirSync, unlinkSync, writeSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cidrBroadcast, formatIpv4Address, parseIpv4Cidr, type Ipv4Cidr } from '../ip/address.js';
import type { FrameReceiver, Link } from '../link/link.js';
import { LinkType } from '../pcap/link-type.js';
import { PcapWriter } from '../pcap/pcap-writer.js';
import { ByteQueue } from './protocol.js';

const PACKET = 1;
const MESSAGE = 2;

/** The folder of the networks' sockets. */
export function networkDirectory(): string {
  return process.env.USTACK_NET_DIR ?? join(tmpdir(), 'ustack-net');
}

/** The socket of network `name`. */
export function networkSocketPath(name: string): string {
  return join(networkDirectory(), `${name}.sock`);
}

/** A network's name: letters, digits, `.`, `_`, `-`. */
export function validNetworkName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name);
}

function frame(type: number, bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + bytes.length);
  out.writeUInt32LE(bytes.length + 1, 0);
  out[4] = type;
  out.set(bytes, 5);
  return out;
}

/** Calls `handle(type, bytes)` for each framed message of a connection. */
function readFrames(connection: Socket, handle: (type: number, bytes: Buffer) => void): void {
  const queue = new ByteQueue();
  connection.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    for (;;) {
      const header = queue.peek(4);
      if (!header) return;
      const length = header.readUInt32LE(0);
      if (length === 0 || length > 1 << 20) {
        connection.destroy(); // not one of ours
        return;
      }
      if (queue.length < 4 + length) return;
      const message = Buffer.from(queue.take(4 + length)!.subarray(4));
      handle(message[0], message.subarray(1));
    }
  });
}

interface Member {
  readonly connection: Socket;
  readonly address: Ipv4Cidr;
  readonly hostname: string;
}

/** What a hub counted. */
export interface HubCounters {
  /** Packets handed to a member. */
  delivered: number;
  /** Packets for an address no member has. */
  noMember: number;
  /** Packets too short to be IPv4. */
  malformed: number;
}

/** Options of a hub. */
export interface HubOptions {
  /** Record every packet the hub carries in this pcap file (an open descriptor). */
  readonly pcapFd?: number;
  /** Stop after this long (ms) with no member; never when absent. */
  readonly idleExitMs?: number;
  /** Where to say who joined and left. */
  readonly log?: (line: string) => void;
}

/** The process serving one named network. */
export class NetworkHub {
  private server: Server | null = null;
  private readonly members = new Set<Member>();
  /** Host names, first come: the first member to join with a name owns it. */
  private readonly names = new Map<string, Member>();
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly writer: PcapWriter | null;
  /** What the hub did with the packets. */
  readonly counters: HubCounters = { delivered: 0, noMember: 0, malformed: 0 };
  /** Resolves when the hub stops (`net stop`, idle, or close()). */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;

  constructor(
    readonly name: string,
    private readonly options: HubOptions = {},
  ) {
    const fd = options.pcapFd;
    this.writer = fd === undefined ? null : new PcapWriter({ linkType: LinkType.RAW, onChunk: (chunk) => writeSync(fd, chunk) });
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
  }

  /** Listens on the network's socket; fails if another hub serves the name. */
  async listen(): Promise<void> {
    const path = networkSocketPath(this.name);
    mkdirSync(networkDirectory(), { recursive: true });
    if (existsSync(path)) {
      if (await isServed(path)) throw new Error(`network ${this.name} is already served (${path})`);
      unlinkSync(path); // left by a hub that died
    }
    const server = createServer((connection) => this.join(connection));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    this.armIdle();
  }

  /** Stops serving: every member's connection closes. */
  close(): void {
    if (!this.server) return;
    this.server.close();
    this.server = null;
    for (const member of this.members) member.connection.destroy();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    try {
      unlinkSync(networkSocketPath(this.name));
    } catch {
      // Gone already.
    }
    this.resolveStopped();
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const ms = this.options.idleExitMs;
    if (ms === undefined || this.members.size > 0) return;
    this.idleTimer = setTimeout(() => {
      this.options.log?.(`network ${this.name}: no member for ${ms / 1000} s, stopping`);
      this.close();
    }, ms);
  }

  private join(connection: Socket): void {
    let member: Member | null = null;
    connection.on('error', () => {
      // 'close' follows.
    });
    connection.on('close', () => {
      if (!member) return;
      this.members.delete(member);
      for (const [name, owner] of this.names) if (owner === member) this.names.delete(name);
      this.options.log?.(`network ${this.name}: ${formatIpv4Address(member.address.address)} left`);
      this.armIdle();
    });
    readFrames(connection, (type, bytes) => {
      if (type === PACKET) {
        if (member) this.forward(member, bytes);
        return;
      }
      let message: { hello?: { address: string; hostname: string }; resolve?: string; tag?: number; stop?: boolean };
      try {
        message = JSON.parse(bytes.toString('utf8')) as typeof message;
      } catch {
        connection.destroy();
        return;
      }
      const reply = (value: object) => connection.write(frame(MESSAGE, Buffer.from(JSON.stringify(value))));
      if (message.stop) {
        reply({ stopping: true });
        connection.end();
        this.options.log?.(`network ${this.name}: stopped by \`ustack net stop\``);
        setImmediate(() => this.close());
        return;
      }
      if (message.hello) {
        const address = parseIpv4Cidr(message.hello.address);
        if (!address) return reply({ refused: `bad address ${message.hello.address}` });
        for (const other of this.members) {
          if (other.address.address === address.address) {
            return reply({ refused: `${formatIpv4Address(address.address)} is already on network ${this.name}` });
          }
        }
        member = { connection, address, hostname: message.hello.hostname };
        this.members.add(member);
        if (!this.names.has(member.hostname)) this.names.set(member.hostname, member);
        if (this.idleTimer) clearTimeout(this.idleTimer);
        this.options.log?.(`network ${this.name}: ${message.hello.address} (${member.hostname}) joined`);
        return reply({ welcome: true });
      }
      if (message.resolve !== undefined) {
        const owner = this.names.get(message.resolve);
        return reply({ tag: message.tag, resolved: owner ? formatIpv4Address(owner.address.address) : null });
      }
    });
  }

  private forward(from: Member, packet: Buffer): void {
    if (packet.length < 20 || packet[0] >> 4 !== 4) {
      this.counters.malformed++;
      return;
    }
    this.writer?.record(Date.now(), packet);
    const destination = packet.readUInt32BE(16) >>> 0;
    const everyone = destination === 0xffffffff || destination >>> 28 === 0xe || destination === cidrBroadcast(from.address);
    let delivered = false;
    for (const member of this.members) {
      if (member === from) continue;
      if (everyone || member.address.address === destination) {
        member.connection.write(frame(PACKET, packet));
        delivered = true;
      }
    }
    if (delivered) this.counters.delivered++;
    else this.counters.noMember++;
  }
}

/** Whether a hub answers on `path`. */
export function isServed(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** A host's link to a named network: IPv4 packets to and from the hub. */
export class HubLink implements Link {
  readonly medium = 'ip' as const;
  private receiver: FrameReceiver | null = null;
  private readonly pending = new Map<number, (address: string | null) => void>();
  private tag = 0;
  /** Called after each packet handed to the stack (a driver polls then). */
  onReceived: (() => void) | null = null;
  /** Called when the hub goes away. */
  onClosed: (() => void) | null = null;

  private constructor(
    readonly name: string,
    readonly mtu: number,
    private readonly connection: Socket,
    private readonly now: () => number,
  ) {}

  /** Joins network `network` as `address` (`10.0.0.2/24`) named `hostname`. */
  static async join(network: string, address: string, hostname: string, now: () => number, mtu = 1500, name = 'eth0'): Promise<HubLink> {
    const path = networkSocketPath(network);
    const connection = createConnection(path);
    await new Promise<void>((resolve, reject) => {
      connection.once('connect', resolve);
      connection.once('error', reject);
    });
    const link = new HubLink(name, mtu, connection, now);
    const welcome = new Promise<void>((resolve, reject) => {
      readFrames(connection, (type, bytes) => {
        if (type === PACKET) {
          link.receiver?.(new Uint8Array(bytes), link.now());
          link.onReceived?.();
          return;
        }
        const message = JSON.parse(bytes.toString('utf8')) as { welcome?: boolean; refused?: string; tag?: number; resolved?: string | null };
        if (message.welcome) resolve();
        if (message.refused) reject(new Error(`network ${network}: ${message.refused}`));
        if (message.tag !== undefined) {
          link.pending.get(message.tag)?.(message.resolved ?? null);
          link.pending.delete(message.tag);
        }
      });
      connection.once('close', () => reject(new Error(`network ${network} closed the connection`)));
    });
    connection.on('close', () => {
      for (const waiter of link.pending.values()) waiter(null);
      link.pending.clear();
      link.onClosed?.();
    });
    connection.on('error', () => {
      // 'close' follows.
    });
    connection.write(frame(MESSAGE, Buffer.from(JSON.stringify({ hello: { address, hostname } }))));
    await welcome;
    return link;
  }

  /** The address of a member's host name on the network, or null. */
  resolve(hostname: string): Promise<string | null> {
    if (this.connection.destroyed) return Promise.resolve(null);
    const tag = ++this.tag;
    return new Promise((resolve) => {
      this.pending.set(tag, resolve);
      this.connection.write(frame(MESSAGE, Buffer.from(JSON.stringify({ resolve: hostname, tag }))));
    });
  }

  transmit(packet: Uint8Array): void {
    if (!this.connection.destroyed) this.connection.write(frame(PACKET, packet));
  }

  setReceiver(receiver: FrameReceiver): void {
    this.receiver = receiver;
  }

  pollAt(): number {
    return Infinity;
  }

  poll(): void {
    // Nothing held back: packets go to the hub at once.
  }

  /** Leaves the network. */
  close(): void {
    this.connection.end();
  }
}

/** Asks the hub of `network` to stop; resolves false when none serves it. */
export async function stopNetwork(network: string): Promise<boolean> {
  const path = networkSocketPath(network);
  if (!(await isServed(path))) return false;
  const connection = createConnection(path);
  await new Promise<void>((resolve) => {
    connection.once('connect', () => connection.write(frame(MESSAGE, Buffer.from(JSON.stringify({ stop: true })))));
    connection.once('close', () => resolve());
    connection.once('error', () => resolve());
  });
  return true;
}

/** Brings a stack's `HubLink` its IPv4 packets as `ip` frames: exported for tests. */
export { PACKET as HUB_PACKET, MESSAGE as HUB_MESSAGE };
