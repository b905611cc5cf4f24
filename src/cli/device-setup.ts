/**
 * The device setup shared by `ustack up`, `ustack ping` and `ustack nc`: a TUN (or TAP)
 * device, the kernel's end configured with iproute2 (optionally inside a network namespace,
 * made if missing), a Stack on it driven in real time, an optional pcap of what crosses
 * the device and optional random loss. `close()` undoes everything in reverse order.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Rng } from '../core/rng.js';
import { cidrContains, formatIpv4Address, parseIpv4Cidr, type Ipv4Cidr } from '../ip/address.js';
import { ipv6CidrContains, ipv6Equal, ipv6Prefix, formatIpv6Address, parseIpv6Address, parseIpv6Cidr } from '../ip/ipv6-address.js';
import { configureDevice, createNamespace, ip } from '../link/device.js';
import { FaultInjector } from '../link/fault-injector.js';
import type { Link } from '../link/link.js';
import { PcapTap } from '../link/pcap-tap.js';
import { TunLink } from '../link/tun.js';
import { attachDevice } from '../socket-api/attach-device.js';
import { RealtimeDriver } from '../socket-api/realtime-driver.js';
import { Stack } from '../socket-api/stack.js';
import { accepts, UsageError, type OptionSpecs, type OptionValues } from './arguments.js';

/** The device options every device command takes (`ustack up`, `ping`, `nc`, `example --tun`). */
export const DEVICE_OPTIONS = {
  tun: { type: 'string', takes: 'a device NAME (up to 15 bytes)', accepts: accepts.interfaceName },
  tap: { type: 'string', takes: 'a device NAME (up to 15 bytes)', accepts: accepts.interfaceName },
  addr: { type: 'string', takes: 'a CIDR like 10.7.0.2/24', accepts: accepts.cidr },
  'host-addr': { type: 'string', takes: 'an ADDRESS like 10.7.0.1 (or 10.7.0.1/24)', accepts: accepts.ipv4OrCidr },
  addr6: { type: 'string', takes: 'an IPv6 CIDR like fd00:7::2/64', accepts: (value: string) => parseIpv6Cidr(value) !== null && value.includes('/') },
  'host-addr6': { type: 'string', takes: 'an IPv6 ADDRESS like fd00:7::1', accepts: (value: string) => parseIpv6Address(value) !== null },
  netns: { type: 'string', takes: 'a namespace NAME (letters, digits, . _ -)', accepts: accepts.namespaceName },
  mtu: { type: 'string', takes: 'N from 68 to 65535', accepts: accepts.integer(68, 65535) },
  txqueuelen: { type: 'string', takes: 'a number of packets N (1 or more)', accepts: accepts.integer(1, 2 ** 32 - 1) },
  pcap: { type: 'string', takes: 'a FILE to write', accepts: accepts.nonEmpty },
  'no-offload': { type: 'boolean' },
  loss: { type: 'string', takes: 'a PERCENT from 0 to 100', accepts: accepts.percentage },
} as const satisfies OptionSpecs;

/** The defaults of the device options. */
const DEVICE_DEFAULTS = { tun: 'ustack0', addr: '10.7.0.2/24', 'host-addr': '10.7.0.1', mtu: 1500, txqueuelen: 10_000 } as const;

/** Help text of the device options (as in `ustack up --help`). */
export const DEVICE_USAGE = `  --tun NAME            TUN device name (default ustack0)
  --tap NAME            a TAP device instead (Ethernet; we answer ARP, and with --addr6 do
                        IPv6 Neighbor Discovery, DAD, SLAAC from routers' advertisements, MLD)
  --addr CIDR           ustack's address on the device (default 10.7.0.2/24)
  --host-addr ADDR      the host kernel's address on the device, same network (default 10.7.0.1;
                        the prefix length is --addr's unless given)
  --addr6 CIDR          an IPv6 address for ustack too (fd00:7::2/64): the device carries both
                        families; none by default
  --host-addr6 ADDR     the host kernel's IPv6 address on the device (default: ::1 in --addr6's prefix)
  --netns NAME          put the kernel's end in this network namespace (made if missing)
  --mtu N               device MTU (default 1500)
  --txqueuelen N        packets the kernel holds for us to read (default 10000: the kernel
                        queues every peer's segments for us here, where a kernel server has a
                        buffer per socket; at 1000 busy connections 1000 dropped 4000-7000 in
                        6 s, each a retransmission timeout for its sender)
  --pcap FILE           record what crosses the device (pcap)
  --no-offload          no checksum/segmentation offload on the device: every packet within the MTU
                        (with it, the kernel and ustack pass TCP segments of up to 64 KiB)
  --loss PERCENT        lose this share of the frames in each direction, at random (a lossy path
                        to test with; link/fault-injector.ts, seeded from the stack's seed)
`;

/** The device options as given on the command line. */
export type DeviceArgs = OptionValues<typeof DEVICE_OPTIONS>;

/** A device setup, checked: what `openDevice` makes. */
export interface DeviceConfig {
  readonly name: string;
  readonly tap: boolean;
  readonly address: string;
  readonly kernelAddress: string;
  readonly ours: Ipv4Cidr;
  readonly kernel: Ipv4Cidr;
  /** ustack's IPv6 address with its prefix (`fd00:7::2/64`), and the kernel's, when --addr6 was given. */
  readonly address6: string | undefined;
  readonly kernelAddress6: string | undefined;
  readonly namespace: string | undefined;
  readonly mtu: number;
  readonly txQueueLength: number;
  readonly pcap: string | undefined;
  readonly offload: boolean;
  readonly lossRate: number | undefined;
}

/**
 * Checks the device options of `ustack COMMAND` together (each value alone was checked when
 * parsed) before anything is set up; throws UsageError naming the option.
 */
export function deviceConfig(command: string, args: DeviceArgs): DeviceConfig {
  const fail = (text: string): never => {
    throw new UsageError(`ustack ${command}: ${text}`);
  };
  if (args.tun !== undefined && args.tap !== undefined) fail('give --tun or --tap, not both');
  const address = args.addr ?? DEVICE_DEFAULTS.addr;
  const ours = parseIpv4Cidr(address) ?? fail(`--addr takes ${DEVICE_OPTIONS.addr.takes}, not '${address}'`);
  const hostAddr = args['host-addr'] ?? DEVICE_DEFAULTS['host-addr'];
  const kernelAddress = hostAddr.includes('/') ? hostAddr : `${hostAddr}/${ours.prefixLength}`;
  const kernel = parseIpv4Cidr(kernelAddress) ?? fail(`--host-addr takes ${DEVICE_OPTIONS['host-addr'].takes}, not '${hostAddr}'`);
  if (!cidrContains(kernel, ours.address)) fail(`--addr ${address} is not on the host's network ${kernelAddress} (--host-addr)`);
  if (kernel.address === ours.address) fail(`--addr and --host-addr are both ${formatIpv4Address(ours.address)}: give the two ends different addresses`);
  let address6: string | undefined;
  let kernelAddress6: string | undefined;
  if (args.addr6 !== undefined) {
    const ours6 = parseIpv6Cidr(args.addr6)!;
    const kernel6 = args['host-addr6'] !== undefined ? parseIpv6Address(args['host-addr6'])! : ipv6PrefixHost(ours6.address, ours6.prefixLength);
    if (ipv6Equal(kernel6, ours6.address)) fail(`--addr6 and --host-addr6 are both ${formatIpv6Address(kernel6)}: give the two ends different addresses`);
    if (!ipv6CidrContains(ours6, kernel6)) fail(`--host-addr6 ${formatIpv6Address(kernel6)} is not in --addr6's prefix ${args.addr6}`);
    address6 = args.addr6;
    kernelAddress6 = `${formatIpv6Address(kernel6)}/${ours6.prefixLength}`;
  } else if (args['host-addr6'] !== undefined) {
    fail('--host-addr6 needs --addr6');
  }
  return {
    address6,
    kernelAddress6,
    name: args.tap ?? args.tun ?? DEVICE_DEFAULTS.tun,
    tap: args.tap !== undefined,
    address,
    kernelAddress,
    ours,
    kernel,
    namespace: args.netns,
    mtu: args.mtu !== undefined ? Number(args.mtu) : DEVICE_DEFAULTS.mtu,
    txQueueLength: args.txqueuelen !== undefined ? Number(args.txqueuelen) : DEVICE_DEFAULTS.txqueuelen,
    pcap: args.pcap,
    offload: !args['no-offload'],
    lossRate: args.loss !== undefined ? Number(args.loss) / 100 : undefined,
  };
}

/** A stack on an open, configured device. */
export interface OpenDevice {
  readonly stack: Stack;
  readonly driver: RealtimeDriver;
  readonly link: TunLink;
  readonly tap: boolean;
  readonly mtu: number;
  /** Our address on the device, and the kernel's. */
  readonly ours: Ipv4Cidr;
  readonly kernel: Ipv4Cidr;
  /** The two addresses as CIDR text (`10.7.0.2/24`, `10.7.0.1/24`). */
  readonly address: string;
  readonly kernelAddress: string;
  /** The namespace holding the kernel's end, if any. */
  readonly namespace: string | undefined;
  /** The two IPv6 addresses as CIDR text, when the device carries IPv6 too (--addr6). */
  readonly address6: string | undefined;
  readonly kernelAddress6: string | undefined;
  /** Undoes everything (idempotent). */
  close(): void;
}

/** Opens and configures the device `config` describes (see `deviceConfig`), and attaches a started stack to it. */
export function openDevice(config: DeviceConfig): OpenDevice {
  const { address, kernelAddress, ours, kernel, mtu, tap } = config;
  const undo: Array<{ close(): void }> = [];
  const close = () => {
    for (const step of undo.reverse()) step.close();
    undo.length = 0;
  };
  try {
    // The capture file first: a path that cannot be written fails before the device exists.
    let pcapFd: number | undefined;
    if (config.pcap !== undefined) {
      const fd = openCapture(config.pcap);
      pcapFd = fd;
      undo.push({ close: () => closeSync(fd) });
    }
    const namespace = config.namespace;
    if (namespace !== undefined) {
      const exists = ip(['netns', 'list'])
        .split('\n')
        .some((line) => line.split(' ')[0] === namespace);
      if (!exists) undo.push(createNamespace(namespace));
    }
    const link = TunLink.open({ name: config.name, tap, mtu, offload: config.offload });
    undo.push(link);
    const ipv6 = config.kernelAddress6 !== undefined;
    const addresses = ipv6 ? [kernelAddress, config.kernelAddress6!] : [kernelAddress];
    undo.push(configureDevice({ name: link.name, netns: namespace, mtu, txQueueLength: config.txQueueLength, addresses, ipv6 }));

    const seed = Date.now() >>> 0;
    const stack = new Stack({ name: 'ustack', seed });
    const driver = new RealtimeDriver(stack).start();
    undo.push({ close: () => driver.stop() });
    let wrap: ((inner: Link) => Link) | undefined;
    if (pcapFd !== undefined) {
      const fd = pcapFd;
      // Frames are stamped with the driver's clock (ms since it started) plus the start date.
      const epochMs = Date.now() - driver.clock.now();
      wrap = (inner) => new PcapTap(inner, { epochMs, onChunk: (chunk) => writeSync(fd, chunk) });
    }
    const lossRate = config.lossRate;
    if (lossRate !== undefined) {
      // The capture (if any) sees what crossed the device, before the faults.
      const capture = wrap;
      const rng = new Rng(seed ^ 0x10551055);
      wrap = (inner) => new FaultInjector(capture ? capture(inner) : inner, { lossRate, direction: 'both' }, rng);
    }
    attachDevice(stack, driver, link, { address, address6: config.address6, interfaceName: link.name, wrap });
    return {
      stack,
      driver,
      link,
      tap,
      mtu,
      ours,
      kernel,
      address,
      kernelAddress,
      namespace,
      address6: config.address6,
      kernelAddress6: config.kernelAddress6,
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}

/** Opens `path` for the capture, or says in one line why it cannot be written. */
function openCapture(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      `cannot write the capture ${path}: ${code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(code)}`,
      { cause: error },
    );
  }
}

/** The first host of a prefix, `::1` in it (the kernel's end when --host-addr6 is not given). */
function ipv6PrefixHost(address: Uint8Array, prefixLength: number): Uint8Array {
  const host = ipv6Prefix(address, prefixLength);
  host[15] |= 1;
  return host;
}

/**
 * Resolves once DAD (RFC 4862 §5.4) has passed for every IPv6 address on the device: over TAP
 * they start tentative — never a source, nor answered for — so a command that connects or listens
 * at once would find no usable address (Linux's connect() says EADDRNOTAVAIL then). Over TUN
 * there is no DAD and it resolves at once. Bounded: rejects after `timeoutMs`, or when an address
 * turned out to be a duplicate.
 */
export async function ipv6AddressesUsable(device: OpenDevice, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = device.stack.ip6.addresses(device.link.name).map((entry) => [formatIpv6Address(entry.cidr.address), entry.state] as const);
    const duplicate = states.find(([, state]) => state === 'duplicate');
    if (duplicate) throw new Error(`${duplicate[0]} is in use on the link (DAD found a duplicate)`);
    if (states.every(([, state]) => state !== 'tentative')) return;
    if (Date.now() > deadline) throw new Error(`DAD did not finish within ${timeoutMs} ms: ${states.map((pair) => pair.join(' ')).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
