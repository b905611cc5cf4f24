/**
 * `ustack/wire`: the codecs. Each protocol has a zero-copy view over bytes (`XxxPacket`,
 * `XxxPacket.checked(bytes)` validates every length once), a plain record (`XxxRepr`),
 * `parseXxx(view) → Result<Repr, DecodeError>` and `emitXxx(repr, out)`; plus the Internet
 * checksum, IPv4 and IPv6 addresses and TCP sequence arithmetic.
 *
 * This file only re-exports.
 *
 * @module ustack/wire
 */

// Results and decode errors.
export { ok, fail, unwrap, type Result } from './core/result.js';
export type { DecodeError, DecodeReason } from './core/decode-error.js';
export { toHex, fromHex, bytesEqual, concatBytes } from './core/bytes.js';

// Link layer.
export {
  EthernetFrame,
  EtherType,
  parseEthernet,
  emitEthernet,
  ethernetHeaderLength,
  formatMac,
  parseMac,
  isMulticastMac,
  isBroadcastMac,
  ETHERNET_HEADER_LENGTH,
  ETHERNET_VLAN_HEADER_LENGTH,
  ETHERNET_MIN_FRAME_LENGTH,
  MAC_ADDRESS_LENGTH,
  MAC_BROADCAST,
  type EthernetRepr,
  type MacAddress,
  type VlanTag,
} from './link/ethernet.js';
export { ArpPacket, ArpOperation, parseArp, emitArp, ARP_HARDWARE_ETHERNET, ARP_PACKET_LENGTH, type ArpRepr } from './link/arp.js';
export {
  LinuxSllHeader,
  parseLinuxSll,
  emitLinuxSll,
  SllPacketType,
  ArphrdType,
  LINUX_SLL_HEADER_LENGTH,
  LINUX_SLL_ADDRESS_FIELD_LENGTH,
  type LinuxSllRepr,
} from './dissect/linux-sll.js';

// IPv4, its options, ICMPv4, IGMP.
export {
  parseIpv4Address,
  formatIpv4Address,
  readIpv4Address,
  writeIpv4Address,
  parseIpv4Cidr,
  formatIpv4Cidr,
  prefixMask,
  cidrContains,
  cidrBroadcast,
  subnetBroadcast,
  isMulticast,
  IPV4_ANY,
  IPV4_BROADCAST,
  type Ipv4Address,
  type Ipv4Cidr,
} from './ip/address.js';
export { onesComplementSum, foldSum, internetChecksum, checksumIsValid, pseudoHeaderSum } from './ip/checksum.js';
export {
  Ipv4Packet,
  IpProtocol,
  parseIpv4,
  emitIpv4,
  ipv4HeaderLength,
  IPV4_MIN_HEADER_LENGTH,
  IPV4_MAX_HEADER_LENGTH,
  IPV4_MAX_TOTAL_LENGTH,
  type Ipv4Repr,
  type Ipv4ParseOptions,
} from './ip/ipv4.js';
export { Ipv4OptionType, parseIpv4Options, emitIpv4Options, ipv4OptionsLength, type Ipv4Option, type Ipv4TimestampEntry } from './ip/ipv4-options.js';
export {
  Icmpv4Packet,
  Icmpv4Type,
  DestinationUnreachableCode,
  TimeExceededCode,
  parseIcmpv4,
  emitIcmpv4,
  icmpv4Length,
  parseQuotedDatagram,
  ICMPV4_HEADER_LENGTH,
  type Icmpv4Repr,
  type Icmpv4ParseOptions,
  type QuotedDatagram,
} from './ip/icmpv4.js';
export { parseIgmp, emitIgmp, IgmpType, IGMP_PROTOCOL, IGMP_LENGTH, type IgmpRepr } from './ip/igmp.js';
export { fragmentDatagram, IPV4_MIN_MTU } from './ip/fragments.js';

// IPv6, its extension headers, ICMPv6, Neighbor Discovery, MLD (docs/ipv6.md).
export {
  parseIpv6Address,
  formatIpv6Address,
  readIpv6Address,
  writeIpv6Address,
  parseIpv6ScopedAddress,
  parseIpv6Cidr,
  formatIpv6Cidr,
  ipv6FromGroups,
  ipv6Groups,
  ipv6Equal,
  ipv6Prefix,
  ipv6PrefixMatches,
  ipv6CidrContains,
  ipv6CommonPrefixLength,
  isUnspecifiedAddress,
  isLoopbackAddress,
  isIpv6Multicast,
  isLinkLocalUnicast,
  isUniqueLocal,
  isIpv4MappedAddress,
  ipv4MappedAddress,
  mappedIpv4Address,
  Ipv6Scope,
  ipv6AddressScope,
  solicitedNodeAddress,
  ipv6MulticastMac,
  modifiedEui64,
  ipv6WithInterfaceId,
  IPV6_ADDRESS_LENGTH,
  IPV6_UNSPECIFIED,
  IPV6_LOOPBACK,
  IPV6_ALL_NODES,
  IPV6_ALL_ROUTERS,
  IPV6_ALL_MLDV2_ROUTERS,
  type Ipv6Address,
  type Ipv6ScopedAddress,
  type Ipv6Cidr,
} from './ip/ipv6-address.js';
export { ipv6PseudoHeaderSum } from './ip/checksum.js';
export { Ipv6Packet, Ipv6NextHeader, parseIpv6, emitIpv6, IPV6_HEADER_LENGTH, IPV6_MINIMUM_MTU, IPV6_MAX_PAYLOAD_LENGTH, type Ipv6Repr } from './ip/ipv6.js';
export {
  Ipv6OptionType,
  RouterAlertValue,
  ParameterProblemCode,
  parseIpv6ExtensionHeaders,
  emitIpv6ExtensionHeader,
  emitIpv6ExtensionHeaders,
  ipv6ExtensionHeaderLength,
  ipv6ExtensionHeadersLength,
  isIpv6ExtensionHeader,
  extensionHeaderNumber,
  firstNextHeader,
  routerAlertHeader,
  unrecognizedOptionAction,
  optionDataMayChange,
  type Ipv6Option,
  type Ipv6ExtensionHeader,
  type Ipv6ChainEntry,
  type Ipv6HeaderChain,
  type Ipv6ChainError,
  type ParameterProblem,
  type UnrecognizedOptionAction,
} from './ip/ipv6-extension-headers.js';
export {
  Icmpv6Packet,
  Icmpv6Type,
  Icmpv6UnreachableCode,
  Icmpv6TimeExceededCode,
  parseIcmpv6,
  emitIcmpv6,
  icmpv6Length,
  icmpv6Type,
  ICMPV6_HEADER_LENGTH,
  ICMPV6_ERROR_QUOTE_MAX,
  type Icmpv6Repr,
  type Icmpv6ParseOptions,
} from './ip/icmpv6.js';
export {
  NdpType,
  NdpOptionType,
  parseNdpBody,
  emitNdpBody,
  ndpBodyLength,
  ndpType,
  parseNdpOptions,
  emitNdpOption,
  ndpOptionLength,
  checkNdpIpHeader,
  type NdpRepr,
  type NdpOption,
  type NdpIpHeader,
} from './ip/ndp.js';
export {
  MldType,
  MldRecordType,
  parseMldBody,
  emitMldBody,
  mldBodyLength,
  mldType,
  mldMaximumResponseDelay,
  mldQueryInterval,
  checkMldIpHeader,
  type MldRepr,
  type MldAddressRecord,
} from './ip/mld.js';

// UDP.
export { UdpPacket, parseUdp, emitUdp, udpLength, UDP_HEADER_LENGTH, type UdpRepr, type PseudoHeader, type UdpChecksumCheck } from './udp/udp-packet.js';

// TCP.
export {
  TcpPacket,
  TcpFlag,
  parseTcp,
  emitTcp,
  tcpHeaderLength,
  tcpLength,
  segLen,
  formatTcpFlags,
  TCP_MIN_HEADER_LENGTH,
  TCP_MAX_HEADER_LENGTH,
  TCP_MAX_OPTIONS_LENGTH,
  TCP_RESERVED_FLAGS,
  type TcpRepr,
  type ParsedTcp,
  type TcpPseudoHeader,
  type TcpParseOptions,
} from './tcp/tcp-packet.js';
export {
  TcpOptionKind,
  parseTcpOptions,
  parseTcpOptionsLenient,
  emitTcpOptions,
  tcpOptionsLength,
  TCP_MAX_SACK_BLOCKS,
  type TcpOption,
  type SackBlock,
  type LenientTcpOptions,
} from './tcp/tcp-options.js';
export { seqAdd, seqSub, seqLt, seqLe, seqGt, seqGe, seqMax, seqMin, seqInWindow, type SeqNumber } from './tcp/seq.js';
