/**
 * `ustack`: what a user composes — stacks and their drivers, links and their decorators, pcap,
 * the dissector, errors and counters. The socket faces have their own entry points:
 * `ustack/net`, `ustack/dgram` (Node's modules bound to a stack, also `stack.net` and
 * `stack.dgram`), `ustack/socket` (the Berkeley API) and `ustack/wire` (the codecs).
 *
 * This file only re-exports; everything not listed here is internal.
 *
 * @module ustack
 */

// Stacks and drivers.
export { Stack, type StackOptions, type InterfaceOptions, type RouteOptions } from './socket-api/stack.js';
export { VirtualNetwork, type Attachment, type Connection, type RunAsyncOptions, type WireSettings } from './socket-api/virtual-network.js';
export { RealtimeDriver } from './socket-api/realtime-driver.js';
export { attachDevice, type AttachOptions } from './socket-api/attach-device.js';
export { createNodeModules, type NodeModules, type NodeModulesOptions } from './socket-api/node-modules.js';
export type { LookupFunction, LookupAddress, LookupOptions } from './socket-api/node-support.js';
export type { NetworkInterface } from './ip/interface.js';
export type { Ipv4Address, Ipv4Cidr } from './ip/address.js';
export { parseIpv4Address, formatIpv4Address, parseIpv4Cidr, formatIpv4Cidr } from './ip/address.js';

// Configuration.
export { DEFAULT_TCP_CONFIG, type TcpConfig, type EcnMode, type ClosedPortReset, type QuickAckMode, type SocketBufferAccounting } from './tcp/config.js';
export { LINUX_PROFILE, FREEBSD_PROFILE, TCP_PROFILES, type TcpProfile } from './tcp/profiles.js';
export type { CongestionAlgorithm } from './tcp/congestion.js';
export { DEFAULT_UDP_CONFIG, type UdpConfig } from './udp/udp-layer.js';
export { DEFAULT_IP_CONFIG, type IpConfig } from './ip/ip-layer.js';
export { DEFAULT_ICMP_CONFIG, type IcmpConfig } from './ip/icmp-layer.js';
export { UdpSocket, type ReceivedDatagram, type UdpSocketOptions } from './udp/udp-layer.js';

// Links: the Link interface, the media, and the decorators that wrap any link.
export { LinkDecorator, type Link, type LinkMedium, type FrameReceiver } from './link/link.js';
export { VirtualWire, WireEnd, type VirtualWireOptions } from './link/virtual-wire.js';
export { LoopbackLink } from './link/loopback.js';
export { FaultInjector, type FaultConfig, type FaultDirection } from './link/fault-injector.js';
export { PcapTap, type PcapTapOptions } from './link/pcap-tap.js';
export { TunLink, type TunLinkOptions, type TunLinkCounters } from './link/tun.js';
export { nativeTunAvailable } from './link/native.js';
export { EthernetAdapter, randomLocalMac, type EthernetAdapterOptions, type EthernetAdapterCounters } from './link/ethernet-adapter.js';
export { configureDevice, createNamespace, type DeviceConfig, type Configured, type Namespace, type KernelRoute } from './link/device.js';

// pcap and pcapng.
export {
  readCapture,
  readPcap,
  readPcapng,
  LinkType,
  linkTypeName,
  timestampFromMs,
  timestampToMs,
  PcapWriter,
  type CaptureFile,
  type PcapFile,
  type PcapngFile,
  type PcapngInterface,
  type PcapngSection,
  type PcapngTimestampResolution,
  type CaptureRecord,
  type CaptureDecodeError,
  type KnownLinkType,
  type PcapWriterOptions,
  type Timestamp,
  type TimestampResolution,
} from './pcap/pcap.js';
export { readPcapFile, writePcapFile, openPcapFileSink, type PcapFileSink } from './pcap/pcap-file.js';

// The dissector.
export {
  dissectFrame,
  toTsharkFields,
  TSHARK_JSON_FIELDS,
  type DissectOptions,
  type Dissection,
  type DissectionField,
  type DissectionLayer,
  type LayerKind,
} from './dissect/dissect.js';
export { formatDissection, type FormatOptions } from './dissect/format-text.js';

// Errors, counters, time, randomness, traces.
export { ErrnoError, Errno, describeErrno, type ErrnoCode } from './core/errno.js';
export type { NodeSystemError } from './socket-api/node-errors.js';
export type { DecodeError, DecodeReason } from './core/decode-error.js';
export { Stats, Counter } from './core/stats.js';
export type { CounterName } from './socket-api/counters.js';
export { ManualClock, SystemClock, type Clock } from './core/clock.js';
export { Rng } from './core/rng.js';
export type { TraceEvent, Tracer } from './core/trace.js';
export { FrameTracePrinter, type FrameTracePrinterOptions, type TraceDetail } from './core/trace-format.js';
