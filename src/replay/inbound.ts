/**
 * What reached the host, and how it goes into ustack: the peer's segments the capture shows but
 * the host never received (lost after the tap) are left out, and the others are rebuilt with the
 * host's numbers mapped to ustack's, as packetdrill maps a script's.
 */
import { emitIpv4, IpProtocol, type Ipv4Repr } from '../ip/ipv4.js';
import { emitIpv6, IPV6_HEADER_LENGTH, Ipv6NextHeader } from '../ip/ipv6.js';
import { ipv6Bytes, type IpAddress } from '../ip/ip-address.js';
import { seqSub } from '../tcp/seq.js';
import type { TcpOption } from '../tcp/tcp-options.js';
import { emitTcp, TcpFlag, tcpLength, type TcpRepr } from '../tcp/tcp-packet.js';
import type { CapturedSegment, ConversationPlan } from '../drill/pcap-to-script.js';
import type { UstackSide } from './diff.js';

/**
 * The peer's segments that never reached the host: ones carrying data or a FIN that the peer sent
 * again later, with nothing from the host acknowledging (or SACKing) them in between. A capture
 * taken at the peer's side of a lossy link shows them; the host never saw them. (Had one arrived
 * and its acknowledgement been lost on the way back, or delayed past the peer's retransmission,
 * the replay's answer to it shows up as a divergence rather than being hidden.)
 */
export function lostBeforeHost(plan: ConversationPlan<IpAddress>): Set<CapturedSegment<IpAddress>> {
  const segments = plan.steps.flatMap((step) => (step.kind === 'segment' ? [{ segment: step.segment, outbound: step.outbound }] : []));
  const lost = new Set<CapturedSegment<IpAddress>>();
  segments.forEach(({ segment, outbound }, index) => {
    const fin = (segment.tcp.flags & TcpFlag.FIN) !== 0 ? 1 : 0;
    const length = segment.tcp.payload.length + fin;
    if (outbound || length === 0 || (segment.tcp.flags & TcpFlag.SYN) !== 0) return;
    const start = segment.tcp.seq;
    const end = (start + length) >>> 0;
    const again = segments.findIndex(
      (other, later) =>
        later > index &&
        !other.outbound &&
        other.segment.tcp.seq === start &&
        other.segment.tcp.payload.length + ((other.segment.tcp.flags & TcpFlag.FIN) !== 0 ? 1 : 0) > 0,
    );
    if (again < 0) return;
    const covered = segments.slice(index + 1, again).some(({ segment: other, outbound: fromHost }) => {
      if (!fromHost) return false;
      if ((other.tcp.flags & TcpFlag.ACK) !== 0 && seqSub(other.tcp.ack, end) >= 0) return true;
      return other.tcp.options.some(
        (o) => o.kind === 'sack' && o.blocks.some((b) => seqSub(b.leftEdge, start) <= 0 && seqSub(b.rightEdge, start + Math.max(1, length - fin)) >= 0),
      );
    });
    if (!covered) lost.add(segment);
  });
  return lost;
}

/**
 * The IP packet that carries a peer's `segment` to ustack: the acknowledgement and SACK blocks
 * moved by the difference between ustack's ISN and the host's, the TS echo by the difference
 * between their first TS vals, the destination port to ustack's; the rest as captured (IPv4's
 * options and IPv6's extension headers and flow label left out), checksums computed over the
 * pseudo-header of the segment's family (RFC 9293 §3.1, RFC 8200 §8.1).
 */
export function inboundFrame(segment: CapturedSegment<IpAddress>, plan: ConversationPlan<IpAddress>, side: UstackSide, host: IpAddress): Uint8Array {
  const tcp = segment.tcp;
  // The host's numbers, as the peer echoes them, become ustack's.
  const hostToUstack = (value: number) => (side.isn === undefined ? value : (side.isn + seqSub(value, plan.hostIsn)) >>> 0);
  const options = tcp.options.map((option): TcpOption => {
    if (option.kind === 'sack')
      return { ...option, blocks: option.blocks.map((b) => ({ leftEdge: hostToUstack(b.leftEdge), rightEdge: hostToUstack(b.rightEdge) })) };
    if (option.kind === 'timestamps' && option.tsEcr !== 0 && side.firstTsVal !== undefined && plan.firstHostTsVal !== undefined) {
      return { ...option, tsEcr: (side.firstTsVal + seqSub(option.tsEcr, plan.firstHostTsVal)) >>> 0 };
    }
    return option;
  });
  const repr: TcpRepr = {
    ...tcp,
    dstPort: side.port ?? tcp.dstPort,
    ack: (tcp.flags & TcpFlag.ACK) !== 0 ? hostToUstack(tcp.ack) : tcp.ack,
    options,
  };
  const transportLength = tcpLength(repr);
  if (typeof host === 'string') {
    const source = ipv6Bytes(segment.source as string);
    const destination = ipv6Bytes(host);
    const packet = new Uint8Array(IPV6_HEADER_LENGTH + transportLength);
    emitIpv6(
      {
        dscp: segment.ip.dscp,
        ecn: segment.ip.ecn,
        flowLabel: 0,
        payloadLength: transportLength,
        nextHeader: Ipv6NextHeader.TCP,
        hopLimit: segment.ip.ttl,
        source,
        destination,
      },
      packet,
    );
    emitTcp(repr, packet.subarray(IPV6_HEADER_LENGTH), { source, destination });
    return packet;
  }
  const ip: Ipv4Repr = {
    dscp: segment.ip.dscp,
    ecn: segment.ip.ecn,
    identification: segment.ip.identification,
    reservedFlag: false,
    dontFragment: segment.ip.dontFragment,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: segment.ip.ttl,
    protocol: IpProtocol.TCP,
    source: segment.source as number,
    destination: host,
    options: [],
    payloadLength: transportLength,
  };
  const frame = new Uint8Array(20 + transportLength);
  emitIpv4(ip, frame);
  emitTcp(repr, frame.subarray(20), { source: segment.source as number, destination: host });
  return frame;
}
