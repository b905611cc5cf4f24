/**
 * A stack on one end of an Ethernet wire, and the test on the other as its only neighbor: what
 * the stack sends is recorded (with the time it was sent) and decoded, and hand-made ICMPv6
 * packets come in as from a neighbor or router. For the Neighbor Discovery, SLAAC and MLD tests.
 */
import { parseIpv4Cidr } from '../../src/ip/address.js';
import { Icmpv6Packet, parseIcmpv6, type Icmpv6Repr } from '../../src/ip/icmpv6.js';
import { buildIcmpv6Packet } from '../../src/ip/icmpv6-layer.js';
import { formatIpv6Address, parseIpv6Address, type Ipv6Address } from '../../src/ip/ipv6-address.js';
import { parseIpv6ExtensionHeaders } from '../../src/ip/ipv6-extension-headers.js';
import type { Ipv6Config } from '../../src/ip/ipv6-layer.js';
import { Ipv6Packet, parseIpv6, type Ipv6Repr } from '../../src/ip/ipv6.js';
import { EthernetAdapter } from '../../src/link/ethernet-adapter.js';
import { emitEthernet, EtherType, EthernetFrame, formatMac, parseMac } from '../../src/link/ethernet.js';
import type { Link } from '../../src/link/link.js';
import { VirtualWire } from '../../src/link/virtual-wire.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

/** The stack's MAC. */
export const HOST_MAC = '02:00:00:00:00:0a';
/** The test's (the neighbor's) MAC. */
export const PEER_MAC = '02:00:00:00:00:0b';
/** A router's link-local address, as the test plays one. */
export const ROUTER = 'fe80::1';

/** One IPv6 packet the stack sent. */
export interface SentPacket {
  /** When (virtual ms). */
  readonly time: number;
  /** The Ethernet destination. */
  readonly to: string;
  readonly ip: Ipv6Repr;
  /** The upper layer after the extension headers, and whether a Hop-by-Hop Router Alert came first. */
  readonly upperLayer: number;
  readonly routerAlert: boolean;
  /** The ICMPv6 message, when it is one. */
  readonly icmp?: Icmpv6Repr;
  readonly source: string;
  readonly destination: string;
}

/** A stack (interface eth0, MAC HOST_MAC) alone on an Ethernet wire with the test. */
export function ndpHost(options: { address6?: string; seed?: number; ipv6?: Partial<Ipv6Config> } = {}) {
  const net = new VirtualNetwork(options.seed ?? 11);
  const stack = net.createStack('host', options.ipv6 ? { ipv6: options.ipv6 as Ipv6Config } : {});
  const wire = new VirtualWire({ medium: 'ethernet' });
  const sent: SentPacket[] = [];
  const recorder: Link = {
    name: 'eth0',
    medium: 'ethernet',
    mtu: wire.a.mtu,
    transmit(frame, now) {
      const packet = decode(frame, now);
      if (packet) sent.push(packet);
      wire.a.transmit(frame, now);
    },
    setReceiver: (receiver) => wire.a.setReceiver(receiver),
    pollAt: () => wire.a.pollAt(),
    poll: (now) => wire.a.poll(now),
  };
  const adapter = new EthernetAdapter(recorder, { mac: parseMac(HOST_MAC)!, address: parseIpv4Cidr('10.0.0.1/24')! });
  stack.addInterface({ name: 'eth0', link: adapter, address: '10.0.0.1/24', address6: options.address6 });
  wire.b.setReceiver(() => {});

  /** Sends `repr` to the stack as from `source` (the test's MAC unless given), with hop limit `hopLimit`. */
  const inject = (source: string, destination: string, repr: Icmpv6Repr, hopLimit = 255, sourceMac = PEER_MAC) => {
    injectPacket(buildIcmpv6Packet(parseIpv6Address(source)!, parseIpv6Address(destination)!, repr, hopLimit), sourceMac);
  };
  const injectPacket = (packet: Uint8Array, sourceMac = PEER_MAC) => {
    const destination = packet.subarray(24, 40);
    const mac = destination[0] === 0xff ? Uint8Array.of(0x33, 0x33, destination[12], destination[13], destination[14], destination[15]) : parseMac(HOST_MAC)!;
    const frame = new Uint8Array(Math.max(60, 14 + packet.length));
    emitEthernet({ destination: mac, source: parseMac(sourceMac)!, etherType: EtherType.IPV6, vlan: null }, frame);
    frame.set(packet, 14);
    wire.b.transmit(frame, net.now);
    net.run(0);
    wire.b.poll(net.now);
  };
  /** Advances virtual time by `ms`, running every timer due. */
  const run = (ms: number) => {
    net.run(ms);
    wire.b.poll(net.now);
  };
  const state = (address: string) => stack.ip6.addressEntry(parseIpv6Address(address)!, 'eth0')?.state;
  const linkLocal = () => stack.ip6.addresses('eth0').find((entry) => entry.cidr.address[0] === 0xfe)?.cidr.address;
  const nd = stack.ip6.neighborDiscovery('eth0')!;
  /** The ICMPv6 messages of `kind` sent so far. */
  const sentOf = (kind: Icmpv6Repr['kind']) => sent.filter((packet) => packet.icmp?.kind === kind);
  return { net, stack, wire, adapter, sent, sentOf, inject, injectPacket, run, state, linkLocal, nd };
}

function decode(frame: Uint8Array, now: number): SentPacket | null {
  const checked = EthernetFrame.checked(frame);
  if (!checked.ok || checked.value.etherType !== EtherType.IPV6) return null;
  const ipChecked = Ipv6Packet.checked(checked.value.payload);
  if (!ipChecked.ok) return null;
  const ip = parseIpv6(ipChecked.value);
  if (!ip.ok) return null;
  const bytes = checked.value.payload.subarray(0, 40 + ip.value.payloadLength);
  const chain = parseIpv6ExtensionHeaders(bytes.subarray(40), ip.value.nextHeader);
  if (!chain.ok) return null;
  const first = chain.value.entries[0]?.header;
  const routerAlert = first?.kind === 'hopByHop' && first.options.some((option) => option.type === 5);
  let icmp: Icmpv6Repr | undefined;
  if (chain.value.upperLayer === 58) {
    const message = Icmpv6Packet.checked(bytes.subarray(chain.value.upperLayerOffset));
    if (message.ok) {
      const parsed = parseIcmpv6(message.value, { source: ip.value.source, destination: ip.value.destination });
      if (parsed.ok) icmp = parsed.value;
    }
  }
  return {
    time: now,
    to: formatMac(checked.value.destination),
    ip: ip.value,
    upperLayer: chain.value.upperLayer,
    routerAlert,
    icmp,
    source: formatIpv6Address(ip.value.source),
    destination: formatIpv6Address(ip.value.destination),
  };
}

/** An address from text. */
export const v6 = (text: string): Ipv6Address => parseIpv6Address(text)!;
/** A MAC from text. */
export const mac = (text: string): Uint8Array => parseMac(text)!;
