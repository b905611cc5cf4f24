/**
 * Builders for the packets tests feed to a stack: IPv4 frames with any header field set,
 * UDP datagrams with a correct (or deliberately wrong) checksum. They use the codecs that
 * test/ip/ipv4.test.ts and test/udp/udp-packet.test.ts pin against byte fixtures.
 */
import { parseIpv4Address, type Ipv4Address } from '../../src/ip/address.js';
import { emitIpv4, ipv4HeaderLength, IpProtocol, type Ipv4Repr } from '../../src/ip/ipv4.js';
import { emitUdp, udpLength } from '../../src/udp/udp-packet.js';

/** An address from dotted-quad text; throws on a typo in the test itself. */
export function addr(text: string): Ipv4Address {
  const address = parseIpv4Address(text);
  if (address === null) throw new Error(`bad test address ${text}`);
  return address;
}

/** Header fields for a frame; everything but the addresses and protocol has a sane default. */
export type HeaderFields = Partial<Omit<Ipv4Repr, 'payloadLength'>> & Pick<Ipv4Repr, 'source' | 'destination' | 'protocol'>;

/** A full Ipv4Repr from a few fields. */
export function ipv4Header(fields: HeaderFields, payloadLength = 0): Ipv4Repr {
  return {
    dscp: 0,
    ecn: 0,
    identification: 0x1234,
    reservedFlag: false,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    options: [],
    ...fields,
    payloadLength,
  };
}

/** An IPv4 packet: header (checksummed) followed by `payload`. */
export function ipv4Frame(fields: HeaderFields, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const header = ipv4Header(fields, payload.length);
  const headerLength = ipv4HeaderLength(header);
  const frame = new Uint8Array(headerLength + payload.length);
  emitIpv4(header, frame);
  frame.set(payload, headerLength);
  return frame;
}

/** A UDP datagram (header + payload) with its checksum over the pseudo-header. */
export function udpDatagram(source: Ipv4Address, destination: Ipv4Address, sourcePort: number, destinationPort: number, payload: Uint8Array): Uint8Array {
  const repr = { sourcePort, destinationPort, payload };
  const out = new Uint8Array(udpLength(repr));
  emitUdp(repr, out, { source, destination });
  return out;
}

/** An IPv4 packet carrying a UDP datagram. */
export function udpFrame(fields: Omit<HeaderFields, 'protocol'>, sourcePort: number, destinationPort: number, payload: Uint8Array): Uint8Array {
  const udp = udpDatagram(fields.source, fields.destination, sourcePort, destinationPort, payload);
  return ipv4Frame({ ...fields, protocol: IpProtocol.UDP }, udp);
}

/** `n` bytes counting up from `start` (mod 256): easy to recognise when a byte moves. */
export function pattern(n: number, start = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (start + i) & 0xff;
  return out;
}
