/**
 * Trace events of the TCP layer (see core/trace.ts): one per segment crossing it, with the
 * header's fields in wire order and its bytes, as a user watching encapsulation wants them.
 */
import type { TraceEvent } from '../core/trace.js';
import { formatTcpFlagsTcpdump, formatTcpFlagsWireshark, TcpFlag, TcpPacket } from './tcp-packet.js';
import { formatTcpOption } from './tcp-option-text.js';
import { parseTcpOptions } from './tcp-options.js';

/** A trace event for `segment` (the TCP header and data) going `direction` at `now`. */
export function tcpTraceEvent(direction: 'up' | 'down', segment: Uint8Array, now: number, checksumTrusted = false): TraceEvent {
  const packet = TcpPacket.unchecked(segment);
  const headerLength = packet.headerLength;
  const dataLength = segment.length - headerLength;
  const parsed = parseTcpOptions(segment, 20, headerLength);
  // nop and eol are padding: the trace leaves them out.
  const options = parsed.ok
    ? parsed.value.filter((option) => option.kind !== 'noOperation' && option.kind !== 'endOfList').map((option) => formatTcpOption(option))
    : ['malformed'];
  const checksum = `0x${packet.checksum.toString(16).padStart(4, '0')}`;
  const verdict = checksumTrusted ? 'checksum vouched for by the device (offload)' : 'checksum verified';
  const action = direction === 'down' ? `added ${headerLength}-byte header, checksum ${checksum}` : `removed ${headerLength}-byte header, ${verdict}`;
  // The segment in tcpdump's words (`tcpdump -S`: absolute numbers), then what this layer did.
  const ack = (packet.flags & TcpFlag.ACK) !== 0 ? `, ack ${packet.ack >>> 0}` : '';
  const shown = options.length > 0 ? `, options [${options.join(',')}]` : '';
  const flagsHex = `0x${packet.flags.toString(16).padStart(3, '0')}`;
  return {
    direction,
    layer: 'tcp',
    time: now,
    where: `port ${direction === 'down' ? packet.srcPort : packet.dstPort}`,
    summary:
      `TCP ${packet.srcPort} → ${packet.dstPort} Flags [${formatTcpFlagsTcpdump(packet.flags)}], seq ${packet.seq >>> 0}${ack}, win ${packet.window}${shown}, ` +
      `length ${dataLength}: ${action}`,
    fields: [
      ['source port', String(packet.srcPort)],
      ['destination port', String(packet.dstPort)],
      ['sequence number', String(packet.seq >>> 0)],
      ['acknowledgment number', String(packet.ack >>> 0)],
      ['data offset', `${headerLength / 4} (${headerLength} bytes)`],
      ['flags', `${flagsHex} (${formatTcpFlagsWireshark(packet.flags)})`],
      ['window', String(packet.window)],
      ['checksum', checksum],
      ['urgent pointer', String(packet.urgentPointer)],
      ['options', options.join(', ') || 'none'],
    ],
    header: segment.subarray(0, headerLength),
    payloadLength: dataLength,
  };
}
