/**
 * Trace events of the TCP layer (see core/trace.ts): one per segment crossing it, with the
 * header's fields in wire order and its bytes, as a user watching encapsulation wants them.
 */
import type { TraceEvent } from '../core/trace.js';
import { formatTcpFlags, TcpPacket } from './tcp-packet.js';
import { parseTcpOptions, type TcpOption } from './tcp-options.js';

/** A trace event for `segment` (the TCP header and data) going `direction` at `now`. */
export function tcpTraceEvent(direction: 'up' | 'down', segment: Uint8Array, now: number, checksumTrusted = false): TraceEvent {
  const packet = TcpPacket.unchecked(segment);
  const headerLength = packet.headerLength;
  const dataLength = segment.length - headerLength;
  const parsed = parseTcpOptions(segment, 20, headerLength);
  const options = parsed.ok ? parsed.value.map(describeOption).filter((text) => text !== '') : ['malformed'];
  const checksum = `0x${packet.checksum.toString(16).padStart(4, '0')}`;
  const verdict = checksumTrusted ? 'checksum vouched for by the device (offload)' : 'checksum verified';
  const action = direction === 'down' ? `added ${headerLength}-byte header, checksum ${checksum}` : `removed ${headerLength}-byte header, ${verdict}`;
  return {
    direction,
    layer: 'tcp',
    time: now,
    where: `port ${direction === 'down' ? packet.srcPort : packet.dstPort}`,
    summary:
      `TCP ${packet.srcPort} → ${packet.dstPort} [${formatTcpFlags(packet.flags)}] seq=${packet.seq >>> 0} ack=${packet.ack >>> 0} win=${packet.window}` +
      `${options.length > 0 ? ` <${options.join(',')}>` : ''}: ${action}, ${dataLength} bytes of data`,
    fields: [
      ['source port', String(packet.srcPort)],
      ['destination port', String(packet.dstPort)],
      ['sequence number', String(packet.seq >>> 0)],
      ['acknowledgment number', String(packet.ack >>> 0)],
      ['data offset', `${headerLength / 4} (${headerLength} bytes)`],
      ['flags', formatTcpFlags(packet.flags)],
      ['window', String(packet.window)],
      ['checksum', checksum],
      ['urgent pointer', String(packet.urgentPointer)],
      ['options', options.join(', ') || 'none'],
    ],
    header: segment.subarray(0, headerLength),
    payloadLength: dataLength,
  };
}

function describeOption(option: TcpOption): string {
  switch (option.kind) {
    case 'maxSegmentSize':
      return `mss ${option.mss}`;
    case 'windowScale':
      return `wscale ${option.shiftCount}`;
    case 'sackPermitted':
      return 'sackOK';
    case 'sack':
      return `sack ${option.blocks.map((b) => `${b.leftEdge >>> 0}-${b.rightEdge >>> 0}`).join(' ')}`;
    case 'timestamps':
      return `TS val ${option.tsVal >>> 0} ecr ${option.tsEcr >>> 0}`;
    case 'raw':
      return `kind ${option.optionKind}`;
    default:
      return ''; // nop, eol: padding
  }
}
