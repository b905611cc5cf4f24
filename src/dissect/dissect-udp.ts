/**
 * UDP (RFC 768) for the dissector: ports, length and checksum as tshark prints them, the
 * checksum verified against the pseudo-header when the whole datagram is there, and the data
 * handed on. The header is read through the codec's view (src/udp/udp-packet.ts).
 */
import { UdpPacket } from '../udp/udp-packet.js';
import { checksumCoverage, describeChecksum, verifyChecksum, type ChecksumVerdict } from './checksum-verdict.js';
import { addDataLayer, availableEnd, type DissectionBuilder, type NetworkContext, type Span } from './dissect-context.js';
import { hex } from './dissection.js';

/** The IP protocol number of UDP. */
const PROTOCOL_UDP = 17;
const CHECKSUM_OFFSET = 6;

/** Dissects the UDP datagram starting at `span.start`. */
export function dissectUdp(ctx: DissectionBuilder, span: Span, network: NetworkContext): void {
  const start = span.start;
  const layer = ctx.addLayer('udp', 'User Datagram Protocol', start, network.depth);
  const view = UdpPacket.unchecked(ctx.frame.subarray(start, availableEnd(span)));

  ctx.need(layer, span, 0, 4, 'the ports');
  const { sourcePort, destinationPort } = view;
  layer.title = `User Datagram Protocol, Src Port: ${sourcePort}, Dst Port: ${destinationPort}`;
  layer.field('udp.srcport', 'Source Port', String(sourcePort), { at: [0, 2] });
  layer.field('udp.dstport', 'Destination Port', String(destinationPort), { at: [2, 2] });
  layer.setRanges(start + 4, start + 4, start + 4);

  ctx.need(layer, span, 4, 2, 'the length');
  const length = view.length;
  layer.field('udp.length', 'Length', String(length), { at: [4, 2] });
  if (length < 8) {
    // tshark stops here too ("bogus UDP length"): nothing after the length is read.
    ctx.malformed(layer, `length ${length} is less than the 8-byte header`);
    return;
  }

  ctx.need(layer, span, 6, 2, 'the checksum');
  const checksum = view.checksum;
  const verdict = udpChecksumVerdict(ctx, span, network, length, checksum);
  const described = describeChecksum(checksum, verdict);
  layer.field('udp.checksum', 'Checksum', hex(checksum, 4), {
    ...described,
    at: [6, 2],
    checksum: checksumCoverage(verdict, start, start + length, network.pseudoHeader(PROTOCOL_UDP, length)),
  });
  if (described.note !== undefined) layer.note(described.note);
  if (length > network.payloadLength && !network.fragmented) {
    ctx.malformed(layer, `length ${length} exceeds the ${network.payloadLength}-byte IP payload`);
  }

  const dataStart = start + 8;
  const dataEnd = Math.min(start + length, span.reportedEnd);
  layer.setRanges(dataStart, dataStart, Math.min(dataEnd, span.capturedEnd), dataEnd > dataStart ? 'data' : undefined);
  if (network.fragmented && length > network.payloadLength) {
    layer.note(`first fragment: ${network.payloadLength - 8} of the datagram's ${length - 8} data bytes are in this frame`);
  }
  addDataLayer(ctx, dataStart, dataEnd, network.depth);
}

function udpChecksumVerdict(ctx: DissectionBuilder, span: Span, network: NetworkContext, length: number, checksum: number): ChecksumVerdict {
  // RFC 768: an all-zero checksum means the sender computed none.
  if (checksum === 0) return { kind: 'absent' };
  if (network.fragmented) return { kind: 'unverified', why: 'the datagram is fragmented' };
  if (length > network.payloadLength) return { kind: 'unverified', why: 'the length field is wrong' };
  const end = span.start + length;
  if (end > span.capturedEnd || end > span.reportedEnd) return { kind: 'unverified', why: 'the datagram is not all here' };
  const covered = ctx.frame.subarray(span.start, end);
  const pseudo = network.pseudoHeaderSum(PROTOCOL_UDP, length);
  const verdict = verifyChecksum(covered, CHECKSUM_OFFSET, pseudo, pseudo);
  // A computed checksum of 0 is sent as 0xffff (RFC 768); the two are the same in one's complement.
  if (verdict.kind === 'bad' && verdict.expected === 0) return { ...verdict, expected: 0xffff };
  return verdict;
}
