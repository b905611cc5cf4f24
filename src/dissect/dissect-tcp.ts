/**
 * TCP (RFC 9293 §3.1) for the dissector: the header through the codec's view
 * (src/tcp/tcp-packet.ts), the options walked one by one (RFC 9293 §3.2, RFC 7323, RFC 2018),
 * the checksum verified over the pseudo-header when the whole segment is there, and the data
 * handed on.
 *
 * What tshark prints for a header, and therefore what `--json` prints, depends on the context:
 * - the frame's own segment: tcp.seq_raw, and tcp.len = (IP payload length) − (header length)
 *   unless the datagram is a fragment or that length is shorter than the header;
 * - a segment quoted in an ICMP error: no tcp.seq_raw and no tcp.len, and the sequence number
 *   (tcp.seq) as soon as its 8 bytes are quoted;
 * - both: the ports from 4 bytes, then ack, header length, flags and window together once 16
 *   bytes are there, the checksum from 18, the urgent pointer from 20, options as far as they go.
 */
import { formatTcpFlags, TcpPacket } from '../tcp/tcp-packet.js';
import { parseTcpOptions, TcpOptionKind } from '../tcp/tcp-options.js';
import { checksumCoverage, describeChecksum, verifyChecksum, type ChecksumVerdict } from './checksum-verdict.js';
import { addDataLayer, availableEnd, type DissectionBuilder, type LayerDraft, type NetworkContext, type Span } from './dissect-context.js';
import { hex } from './dissection.js';

/** The IP protocol number of TCP. */
const PROTOCOL_TCP = 6;
const CHECKSUM_OFFSET = 16;
const MIN_HEADER_LENGTH = 20;

/** Dissects the TCP segment starting at `span.start`. */
export function dissectTcp(ctx: DissectionBuilder, span: Span, network: NetworkContext): void {
  const start = span.start;
  const quoted = network.depth > 0;
  const layer = ctx.addLayer('tcp', 'Transmission Control Protocol', start, network.depth);
  const view = TcpPacket.unchecked(ctx.frame.subarray(start, availableEnd(span)));

  ctx.need(layer, span, 0, 4, 'the ports');
  const { srcPort, dstPort } = view;
  layer.title = `Transmission Control Protocol, Src Port: ${srcPort}, Dst Port: ${dstPort}`;
  layer.field('tcp.srcport', 'Source Port', String(srcPort), { at: [0, 2] });
  layer.field('tcp.dstport', 'Destination Port', String(dstPort), { at: [2, 2] });
  layer.setRanges(start + 4, start + 4, start + 4);

  if (quoted) {
    ctx.need(layer, span, 4, 4, 'the sequence number');
    layer.field('tcp.seq', 'Sequence Number', String(view.seq), { at: [4, 4] });
  }
  ctx.need(layer, span, 0, 16, 'the fixed header');
  const headerLength = view.headerLength;
  // The IP layer already cut the span at its Total Length, so this is the segment length it claims.
  const segmentLength = span.reportedEnd - start;
  const payloadLength = !network.fragmented && !quoted && segmentLength >= headerLength ? segmentLength - headerLength : undefined;
  if (!quoted) {
    layer.field('tcp.seq', 'Sequence Number', String(view.seq), { at: [4, 4] });
    layer.field('tcp.seq_raw', 'Sequence Number (raw)', String(view.seq), { at: [4, 4] });
  }
  if (headerLength < MIN_HEADER_LENGTH) {
    layer.field('tcp.hdr_len', 'Header Length', String(headerLength), { display: `${headerLength} bytes (${headerLength / 4})`, at: [12, 1] });
    if (payloadLength !== undefined) layer.field('tcp.len', 'TCP Segment Len', String(payloadLength));
    ctx.malformed(layer, `data offset ${headerLength / 4} is below 5 (header length ${headerLength} < 20)`);
    return;
  }

  const { ack, flags, window } = view;
  layer.title += `, Seq: ${view.seq}, Ack: ${ack}`;
  layer.field('tcp.ack', 'Acknowledgment Number', String(ack), { at: [8, 4] });
  layer.field('tcp.ack_raw', 'Acknowledgment number (raw)', String(ack), { at: [8, 4] });
  layer.field('tcp.hdr_len', 'Header Length', String(headerLength), { display: `${headerLength} bytes (${headerLength / 4})`, at: [12, 1] });
  if (payloadLength !== undefined) {
    layer.title += `, Len: ${payloadLength}`;
    layer.field('tcp.len', 'TCP Segment Len', String(payloadLength));
  }
  layer.field('tcp.flags', 'Flags', hex(flags, 4), { display: `${hex(flags, 4)} (${formatTcpFlags(flags)})`, at: [12, 2] });
  layer.field('tcp.window_size_value', 'Window', String(window), { at: [14, 2] });

  ctx.need(layer, span, 16, 2, 'the checksum');
  const checksum = view.checksum;
  const verdict = tcpChecksumVerdict(ctx, span, network, headerLength);
  const described = describeChecksum(checksum, verdict);
  layer.field('tcp.checksum', 'Checksum', hex(checksum, 4), {
    ...described,
    at: [CHECKSUM_OFFSET, 2],
    checksum: checksumCoverage(verdict, start, start + network.payloadLength, network.pseudoHeader(PROTOCOL_TCP, network.payloadLength)),
  });
  if (described.note !== undefined) layer.note(described.note);

  ctx.need(layer, span, 18, 2, 'the urgent pointer');
  layer.field('tcp.urgent_pointer', 'Urgent Pointer', String(view.urgentPointer), { at: [18, 2] });
  layer.setRanges(start + MIN_HEADER_LENGTH, start + MIN_HEADER_LENGTH, start + MIN_HEADER_LENGTH);

  walkTcpOptions(ctx, layer, span, headerLength);

  if (headerLength > segmentLength) {
    ctx.malformed(layer, `header length ${headerLength} exceeds the ${segmentLength}-byte segment`);
    return;
  }
  if (start + headerLength > span.capturedEnd) {
    layer.note(`truncated: the ${headerLength}-byte header was not all captured`);
    return;
  }
  const optionBytes = ctx.frame.subarray(start + MIN_HEADER_LENGTH, start + headerLength);
  const decoded = parseTcpOptions(optionBytes);
  if (!decoded.ok) layer.note(`ustack's TCP layer would drop this segment: ${decoded.error.message}`);

  const dataStart = start + headerLength;
  const dataEnd = span.reportedEnd;
  layer.setRanges(dataStart, dataStart, Math.min(dataEnd, span.capturedEnd), dataEnd > dataStart ? 'data' : undefined);
  if (network.fragmented) layer.note('the datagram is fragmented: this frame holds only part of the segment');
  addDataLayer(ctx, dataStart, dataEnd, network.depth);
}

function tcpChecksumVerdict(ctx: DissectionBuilder, span: Span, network: NetworkContext, headerLength: number): ChecksumVerdict {
  if (network.fragmented) return { kind: 'unverified', why: 'the datagram is fragmented' };
  const length = network.payloadLength;
  const end = span.start + length;
  if (length < headerLength || end > span.capturedEnd || end > span.reportedEnd) {
    return { kind: 'unverified', why: 'the segment is not all here' };
  }
  const pseudo = network.pseudoHeaderSum(PROTOCOL_TCP, length);
  return verifyChecksum(ctx.frame.subarray(span.start, end), CHECKSUM_OFFSET, pseudo, pseudo);
}

/**
 * Walks the options between byte 20 and the header length the way tshark does, adding the
 * option fields it prints. An option whose length octet is missing, below 2 or runs past the
 * header ends the walk (tshark notes it and carries on with the rest of the segment); a
 * fixed-size option of the wrong length is skipped; a field whose bytes are missing ends the
 * dissection (need). A SACK option too short for its first block makes tshark read past it and
 * give up on the frame, which is mirrored.
 */
function walkTcpOptions(ctx: DissectionBuilder, layer: LayerDraft, span: Span, headerLength: number): void {
  const frame = ctx.frame;
  const base = span.start;
  const described: string[] = [];
  const summaryAt = layer.fields.length;
  let offset = MIN_HEADER_LENGTH;
  try {
    while (offset < headerLength) {
      ctx.need(layer, span, offset, 1, 'an option kind');
      const kind = frame[base + offset];
      if (kind === TcpOptionKind.END_OF_LIST) {
        described.push('EOL');
        break;
      }
      if (kind === TcpOptionKind.NO_OPERATION) {
        described.push('NOP');
        offset += 1;
        continue;
      }
      if (offset + 1 >= headerLength) {
        layer.note(`option kind ${kind} at header byte ${offset} has no room for its length octet`);
        break;
      }
      ctx.need(layer, span, offset + 1, 1, `the length of option kind ${kind}`);
      const length = frame[base + offset + 1];
      if (length < 2) {
        layer.note(`option kind ${kind} has the impossible length ${length}`);
        break;
      }
      if (offset + length > headerLength) {
        layer.note(`option kind ${kind} of length ${length} runs past the ${headerLength}-byte header`);
        break;
      }
      described.push(walkOne(ctx, layer, span, offset, kind, length));
      offset += length;
    }
  } finally {
    // The summary goes before the option fields it sums up.
    if (described.length > 0)
      layer.fields.splice(summaryAt, 0, {
        label: 'Options',
        value: described.join(', '),
        start: base + MIN_HEADER_LENGTH,
        end: Math.min(base + headerLength, frame.length),
      });
  }
}

/** Adds the fields of one kind-length-data option at header byte `offset`; returns its description. */
function walkOne(ctx: DissectionBuilder, layer: LayerDraft, span: Span, offset: number, kind: number, length: number): string {
  const frame = ctx.frame;
  const at = span.start + offset;
  const u16 = (i: number): number => (frame[at + i] << 8) | frame[at + i + 1];
  const u32 = (i: number): number => ((frame[at + i] << 24) | (frame[at + i + 1] << 16) | (frame[at + i + 2] << 8) | frame[at + i + 3]) >>> 0;
  const wrongLength = (name: string, expected: number): string => {
    layer.note(`${name} option has length ${length}, expected ${expected}: skipped`);
    return `${name} (bad length ${length})`;
  };
  switch (kind) {
    case TcpOptionKind.MAX_SEGMENT_SIZE: {
      if (length !== 4) return wrongLength('MSS', 4);
      ctx.need(layer, span, offset + 2, 2, 'the MSS value');
      const mss = u16(2);
      layer.field('tcp.options.mss_val', 'Maximum segment size', String(mss), { display: `${mss} bytes`, at: [offset + 2, 2] });
      return `MSS ${mss}`;
    }
    case TcpOptionKind.WINDOW_SCALE: {
      if (length !== 3) return wrongLength('Window scale', 3);
      ctx.need(layer, span, offset + 2, 1, 'the window scale shift count');
      const shift = frame[at + 2];
      // RFC 7323 §2.3: a shift count above 14 is used as 14.
      layer.field('tcp.options.wscale.shift', 'Window scale shift count', String(shift), {
        display: `${shift} (multiply by ${2 ** Math.min(shift, 14)})`,
        at: [offset + 2, 1],
      });
      return `WS ${shift}`;
    }
    case TcpOptionKind.SACK_PERMITTED:
      if (length !== 2) return wrongLength('SACK permitted', 2);
      return 'SACK_PERM';
    case TcpOptionKind.TIMESTAMPS: {
      if (length !== 10) return wrongLength('Timestamps', 10);
      ctx.need(layer, span, offset + 2, 4, 'TSval');
      layer.field('tcp.options.timestamp.tsval', 'Timestamp value', String(u32(2)), { at: [offset + 2, 4] });
      ctx.need(layer, span, offset + 6, 4, 'TSecr');
      layer.field('tcp.options.timestamp.tsecr', 'Timestamp echo reply', String(u32(6)), { at: [offset + 6, 4] });
      return `TS val ${u32(2)} ecr ${u32(6)}`;
    }
    case TcpOptionKind.SACK: {
      const edges: string[] = [];
      for (let edge = 2; edge + 4 <= length; edge += 4) {
        ctx.need(layer, span, offset + edge, 4, 'a SACK edge');
        const value = String(u32(edge));
        const left = (edge - 2) % 8 === 0;
        layer.field(left ? 'tcp.options.sack_le' : 'tcp.options.sack_re', left ? 'SACK left edge' : 'SACK right edge', value, { at: [offset + edge, 4] });
        edges.push(value);
      }
      if (length < 10) {
        // tshark reads the first block regardless (to spot a D-SACK, RFC 2883) and fails.
        ctx.stop(`SACK option of length ${length} is too short for one block`);
      }
      if ((length - 2) % 8 !== 0) layer.note(`SACK option of length ${length} is not 2 + 8n`);
      const blocks: string[] = [];
      for (let i = 0; i + 1 < edges.length; i += 2) blocks.push(`${edges[i]}-${edges[i + 1]}`);
      return `SACK ${blocks.join(' ')}`.trim();
    }
    default:
      return `kind ${kind} (${length} bytes)`;
  }
}
