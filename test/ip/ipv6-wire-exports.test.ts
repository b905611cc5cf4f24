/**
 * `ustack/wire` carries the IPv6 codecs: a user builds an ICMPv6 echo in IPv6 with them alone,
 * and reads it back, as the IPv4 codecs are used from the same entry point.
 */
import { describe, expect, it } from 'vitest';
import {
  emitIcmpv6,
  emitIpv6,
  formatIpv6Address,
  icmpv6Length,
  Icmpv6Packet,
  Icmpv6Type,
  IPV6_HEADER_LENGTH,
  Ipv6NextHeader,
  Ipv6Packet,
  parseIcmpv6,
  parseIpv6,
  parseIpv6Address,
  unwrap,
  type Icmpv6Repr,
} from '../../src/wire.js';

describe('ustack/wire exports the IPv6 codecs', () => {
  it('an echo request built from ustack/wire alone parses back, checksum verified over the pseudo-header (RFC 4443 §2.3)', () => {
    const source = parseIpv6Address('fd00:15::1')!;
    const destination = parseIpv6Address('fd00:15::2')!;
    const echo: Icmpv6Repr = { kind: 'echoRequest', identifier: 7, sequence: 1, data: new Uint8Array([1, 2, 3]) };
    const length = icmpv6Length(echo);
    const packet = new Uint8Array(IPV6_HEADER_LENGTH + length);
    emitIpv6({ dscp: 0, ecn: 0, flowLabel: 0x12345, payloadLength: length, nextHeader: Ipv6NextHeader.ICMPV6, hopLimit: 64, source, destination }, packet);
    emitIcmpv6(echo, packet.subarray(IPV6_HEADER_LENGTH), source, destination);
    const ip = unwrap(parseIpv6(unwrap(Ipv6Packet.checked(packet))));
    expect(formatIpv6Address(ip.source)).toBe('fd00:15::1');
    expect(ip.flowLabel).toBe(0x12345);
    const message = unwrap(parseIcmpv6(unwrap(Icmpv6Packet.checked(packet.subarray(IPV6_HEADER_LENGTH))), { source, destination }));
    expect(message).toMatchObject({ kind: 'echoRequest', identifier: 7, sequence: 1 });
    expect(Icmpv6Type.ECHO_REQUEST).toBe(128);
  });
});
