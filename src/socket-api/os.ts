/**
 * Node's `os` for one stack: Node's own module but for `networkInterfaces()`, which lists the
 * stack's interfaces and addresses — the addresses its sockets can bind — in Node's shape
 * (`{ lo: [{ address, netmask, family, mac, internal, cidr, scopeid? }], … }`), instead of the
 * host kernel's. Every other function (`hostname`, `tmpdir`, `cpus`…) is the host's.
 *
 * `scopeid` is the interface's place in the stack's list, counted from 1 as Linux numbers
 * interfaces (the loopback first); ustack has no other interface index. An IPv6 address that
 * Duplicate Address Detection refused is left out, as Linux's getifaddrs shows it only flagged.
 */
import * as nodeOs from 'node:os';
import { formatIpv4Address } from '../ip/address.js';
import { formatIpv6Address } from '../ip/ipv6-address.js';
import type { Stack } from './stack.js';

/** One address as `os.networkInterfaces()` lists it. */
export interface NetworkInterfaceInfo {
  readonly address: string;
  readonly netmask: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly mac: string;
  readonly internal: boolean;
  readonly cidr: string;
  /** IPv6 only: the zone of a link-local address (its interface's number), 0 otherwise. */
  readonly scopeid?: number;
}

/** The `os` module of one stack. */
export type OsModule = typeof nodeOs & { networkInterfaces(): Record<string, NetworkInterfaceInfo[]> };

function ipv4Netmask(prefixLength: number): string {
  return formatIpv4Address(prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0);
}

function ipv6Netmask(prefixLength: number): string {
  const bytes = new Uint8Array(16);
  for (let bit = 0; bit < prefixLength; bit++) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  return formatIpv6Address(bytes);
}

function macOf(link: unknown): string {
  const mac = (link as { mac?: Uint8Array }).mac;
  if (!(mac instanceof Uint8Array) || mac.length !== 6) return '00:00:00:00:00:00';
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/** The stack's interfaces in the shape of Node's `os.networkInterfaces()`. */
export function networkInterfacesOf(stack: Stack): Record<string, NetworkInterfaceInfo[]> {
  const result: Record<string, NetworkInterfaceInfo[]> = {};
  stack.ip.listInterfaces().forEach((iface, index) => {
    const mac = macOf(iface.link);
    const internal = iface.loopback;
    const entries: NetworkInterfaceInfo[] = [];
    const v4 = formatIpv4Address(iface.address.address);
    entries.push({ address: v4, netmask: ipv4Netmask(iface.address.prefixLength), family: 'IPv4', mac, internal, cidr: `${v4}/${iface.address.prefixLength}` });
    for (const entry of stack.ip6.addresses(iface.name)) {
      if (entry.state === 'duplicate') continue;
      const address = formatIpv6Address(entry.cidr.address);
      const linkLocal = entry.cidr.address[0] === 0xfe && (entry.cidr.address[1] & 0xc0) === 0x80;
      entries.push({
        address,
        netmask: ipv6Netmask(entry.cidr.prefixLength),
        family: 'IPv6',
        mac,
        internal,
        cidr: `${address}/${entry.cidr.prefixLength}`,
        scopeid: linkLocal ? index + 1 : 0,
      });
    }
    result[iface.name] = entries;
  });
  return result;
}

/** Node's `os` with the stack's `networkInterfaces()`. */
export function createOs(stack: Stack): OsModule {
  return { ...nodeOs, networkInterfaces: () => networkInterfacesOf(stack) } as OsModule;
}
