/**
 * The device setup shared by `ustack up`, `ustack ping` and `ustack nc`: a TUN (or TAP)
 * device, the kernel's end configured with iproute2 (optionally inside a network namespace,
 * made if missing), a Stack on it driven in real time, an optional pcap of what crosses
 * the device and optional random loss. `close()` undoes everything in reverse order.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Rng } from '../core/rng.js';
import { cidrContains, parseIpv4Cidr, type Ipv4Cidr } from '../ip/address.js';
import { configureDevice, createNamespace, ip } from '../link/device.js';
import { FaultInjector } from '../link/fault-injector.js';
import type { Link } from '../link/link.js';
import { PcapTap } from '../link/pcap-tap.js';
import { TunLink } from '../link/tun.js';
import { attachDevice } from '../socket-api/attach-device.js';
import { RealtimeDriver } from '../socket-api/realtime-driver.js';
import { Stack } from '../socket-api/stack.js';

/** The device options every device command takes, for `parseArgs`. */
export const DEVICE_ARG_OPTIONS = {
  tun: { type: 'string' },
  tap: { type: 'string' },
  addr: { type: 'string', default: '10.7.0.2/24' },
  'host-addr': { type: 'string', default: '10.7.0.1' },
  netns: { type: 'string' },
  mtu: { type: 'string', default: '1500' },
  txqueuelen: { type: 'string', default: '1000' },
  pcap: { type: 'string' },
  'no-offload': { type: 'boolean' },
  loss: { type: 'string' },
} as const;

/** Help text of the device options (as in `ustack up --help`). */
export const DEVICE_USAGE = `  --tun NAME            TUN device name (default ustack0)
  --tap NAME            a TAP device instead (Ethernet; we answer ARP)
  --addr CIDR           ustack's address on the device (default 10.7.0.2/24)
  --host-addr ADDR      the host kernel's address on the device, same network (default 10.7.0.1;
                        the prefix length is --addr's unless given)
  --netns NAME          put the kernel's end in this network namespace (made if missing)
  --mtu N               device MTU (default 1500)
  --txqueuelen N        packets the kernel holds for us to read (default 1000: a full 1 MB
                        receive window of segments fits, so a busy moment loses none)
  --pcap FILE           record what crosses the device (pcap)
  --no-offload          no checksum/segmentation offload on the device: every packet within the MTU
                        (with it, the kernel and ustack pass TCP segments of up to 64 KiB)
  --loss PERCENT        lose this share of the frames in each direction, at random (a lossy path
                        to test with; link/fault-injector.ts, seeded from the stack's seed)
`;

/** The device options as parseArgs returns them. */
export interface DeviceArgs {
  readonly tun?: string;
  readonly tap?: string;
  readonly addr?: string;
  readonly 'host-addr'?: string;
  readonly netns?: string;
  readonly mtu?: string;
  readonly txqueuelen?: string;
  readonly pcap?: string;
  readonly 'no-offload'?: boolean;
  readonly loss?: string;
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
  /** Undoes everything (idempotent). */
  close(): void;
}

/** Opens and configures the device described by `args`, and attaches a started stack to it. */
export function openDevice(args: DeviceArgs): OpenDevice {
  const address = args.addr ?? DEVICE_ARG_OPTIONS.addr.default;
  const ours = parseIpv4Cidr(address);
  if (!ours) throw new Error(`bad --addr ${address}: give a.b.c.d/n`);
  const hostAddr = args['host-addr'] ?? DEVICE_ARG_OPTIONS['host-addr'].default;
  const kernelAddress = hostAddr.includes('/') ? hostAddr : `${hostAddr}/${ours.prefixLength}`;
  const kernel = parseIpv4Cidr(kernelAddress);
  if (!kernel) throw new Error(`bad --host-addr ${hostAddr}: give a.b.c.d or a.b.c.d/n`);
  if (!cidrContains(kernel, ours.address)) throw new Error(`--addr ${address} is not on the host's network ${kernelAddress}`);
  if (kernel.address === ours.address) throw new Error(`--addr and --host-addr are both ${hostAddr}: give the two ends different addresses`);
  const mtu = Number(args.mtu ?? DEVICE_ARG_OPTIONS.mtu.default);
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`bad --mtu ${args.mtu}`);
  const tap = args.tap !== undefined;

  const undo: Array<{ close(): void }> = [];
  const close = () => {
    for (const step of undo.reverse()) step.close();
    undo.length = 0;
  };
  try {
    let namespace: string | undefined;
    if (args.netns) {
      namespace = args.netns;
      const exists = ip(['netns', 'list']).split('\n').some((line) => line.split(' ')[0] === namespace);
      if (!exists) undo.push(createNamespace(namespace));
    }
    const link = TunLink.open({ name: args.tap ?? args.tun ?? 'ustack0', tap, mtu, offload: !args['no-offload'] });
    undo.push(link);
    undo.push(configureDevice({ name: link.name, netns: namespace, mtu, txQueueLength: Number(args.txqueuelen ?? DEVICE_ARG_OPTIONS.txqueuelen.default), addresses: [kernelAddress] }));

    const seed = Date.now() >>> 0;
    const stack = new Stack({ name: 'ustack', seed });
    const driver = new RealtimeDriver(stack).start();
    undo.push({ close: () => driver.stop() });
    let wrap: ((inner: Link) => Link) | undefined;
    if (args.pcap) {
      const fd = openSync(args.pcap, 'w');
      undo.push({ close: () => closeSync(fd) });
      // Frames are stamped with the driver's clock (ms since it started) plus the start date.
      const epochMs = Date.now() - driver.clock.now();
      wrap = (inner) => new PcapTap(inner, { epochMs, onChunk: (chunk) => writeSync(fd, chunk) });
    }
    if (args.loss !== undefined) {
      const lossRate = Number(args.loss) / 100;
      if (!(lossRate >= 0 && lossRate <= 1)) throw new Error(`bad --loss ${args.loss}: give a percentage`);
      // The capture (if any) sees what crossed the device, before the faults.
      const capture = wrap;
      const rng = new Rng(seed ^ 0x10551055);
      wrap = (inner) => new FaultInjector(capture ? capture(inner) : inner, { lossRate, direction: 'both' }, rng);
    }
    attachDevice(stack, driver, link, { address, interfaceName: link.name, wrap });
    return { stack, driver, link, tap, mtu, ours, kernel, address, kernelAddress, namespace, close };
  } catch (error) {
    close();
    throw error;
  }
}
