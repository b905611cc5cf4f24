import { formatIpv4Address } from './address.js';
import type { Ipv4Packet } from './ipv4.js';

const hex = (value: number, digits: number): string => `0x${value.toString(16).padStart(digits, '0')}`;

/** The header fields of an IPv4 packet in wire order, for trace events. */
export function ipv4TraceFields(packet: Ipv4Packet): Array<readonly [string, string]> {
  return [
    ['version', String(packet.version)],
    ['header length', `${packet.headerLength} bytes (IHL ${packet.headerLength / 4})`],
    ['DSCP/ECN', hex(packet.dsField, 2)],
    ['total length', String(packet.totalLength)],
    ['identification', `${hex(packet.identification, 4)} (${packet.identification})`],
    ['flags', `${packet.dontFragment ? 'DF' : ''}${packet.moreFragments ? ' MF' : ''}`.trim() || 'none'],
    ['fragment offset', String(packet.fragmentOffset)],
    ['TTL', String(packet.ttl)],
    ['protocol', String(packet.protocol)],
    ['header checksum', hex(packet.checksum, 4)],
    ['source', formatIpv4Address(packet.source)],
    ['destination', formatIpv4Address(packet.destination)],
  ];
}
