/**
 * Glue between a Stack, its RealtimeDriver and a device link (TunLink; a TAP gets an
 * EthernetAdapter with ARP in between): the link's frames go to the stack with the driver's time, and after each batch of frames the driver polls the stack
 * at once, so the replies to a whole batch (ACKs, echoes) leave in one go instead of one poll
 * per frame.
 */
import type { NetworkInterface } from '../ip/interface.js';
import { parseIpv4Cidr } from '../ip/address.js';
import { EthernetAdapter, randomLocalMac } from '../link/ethernet-adapter.js';
import type { MacAddress } from '../link/ethernet.js';
import type { Link } from '../link/link.js';
import type { TunLink } from '../link/tun.js';
import type { RealtimeDriver } from './realtime-driver.js';
import type { Stack } from './stack.js';

/** What attachDevice needs besides the link. */
export interface AttachOptions {
  /** The stack's address on the link with its prefix: `10.77.0.2/24`. */
  readonly address: string;
  /** The stack's IPv6 address(es) on the link with the prefix, `fd00:7::2/64` (a TUN device carries both families). */
  readonly address6?: string | readonly string[];
  /** The interface's name inside the stack (default: the device's name). */
  readonly interfaceName?: string;
  /** The interface MTU (default: the link's). */
  readonly mtu?: number;
  /**
   * Decorates the link before the stack sees it (a PcapTap, a FaultInjector): the stack talks
   * to what this returns, while batches are still noticed on the device itself.
   */
  readonly wrap?: (link: Link) => Link;
  /** Our MAC on a TAP device (default: random, locally administered). */
  readonly mac?: MacAddress;
}

/** Adds `link` to `stack` as an interface driven by `driver` (which should be started). */
export function attachDevice(stack: Stack, driver: RealtimeDriver, link: TunLink, options: AttachOptions): NetworkInterface {
  if (driver.stack !== stack) throw new Error(`attachDevice: the driver drives stack ${driver.stack.name}, not ${stack.name}`);
  link.clock = driver.clock;
  let seen = options.wrap ? options.wrap(link) : link;
  if (seen.medium === 'ethernet') {
    // TAP: IPv4 over Ethernet with ARP; next hops come from the stack's own routes.
    const address = parseIpv4Cidr(options.address);
    if (!address) throw new Error(`attachDevice: bad address ${options.address}; expected a.b.c.d/n`);
    seen = new EthernetAdapter(seen, {
      mac: options.mac ?? randomLocalMac(() => stack.rng.nextFloat()),
      address,
      nextHop: (destination) => stack.ip.routes.lookup(destination)?.gateway ?? destination,
    });
  }
  const iface = stack.addInterface({
    name: options.interfaceName ?? link.name,
    link: seen,
    address: options.address,
    address6: options.address6,
    mtu: options.mtu,
  });
  link.onBatchStart = () => driver.beginBatch();
  link.onBatch = () => driver.endBatch();
  return iface;
}
