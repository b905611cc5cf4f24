/**
 * The human form of a dissection, as `ustack dissect FILE` prints it: a header line per frame,
 * then each layer with the byte range of its header inside the frame, its fields (problems in
 * parentheses), its notes, and the payload it hands to the next layer.
 *
 *   Frame 5: 98 bytes, link type ETHERNET (1), time 2026-11-21T05:23:12.575170Z
 *     [0..14) Ethernet II, Src: 02:64:6e:a3:af:cf, Dst: 2e:52:eb:a8:34:f5
 *         Destination: 2e:52:eb:a8:34:f5
 *         …
 *       → 84 bytes of payload to IPv4
 *     [14..34) Internet Protocol Version 4, Src: 10.1.1.1, Dst: 10.1.1.2
 *         …
 *         Header Checksum: 0x6dc7 [should be 0x6dc8] (bad checksum)
 *       ! header checksum 0x6dc7 is wrong; it should be 0x6dc8
 */
import { toHex } from '../core/bytes.js';
import { linkTypeName } from '../pcap/link-type.js';
import type { Timestamp } from '../pcap/timestamp.js';
import type { Dissection, DissectionLayer } from './dissection.js';

/** Longest stretch of payload bytes shown in hex for a data layer. */
const DATA_PREVIEW_BYTES = 32;

/** Options for formatDissection. */
export interface FormatOptions {
  /** The frame's capture timestamp, shown in the header line when given. */
  readonly time?: Timestamp;
  /** The frame's bytes, for the hex preview of data layers. */
  readonly frame?: Uint8Array;
}

/** `2026-11-21T05:23:12.575170Z` (microseconds) or with nine digits when the time has nanoseconds. */
export function formatTimestamp(time: Timestamp): string {
  const iso = new Date(time.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  const fraction = time.nanoseconds % 1000 === 0 ? String(time.nanoseconds / 1000).padStart(6, '0') : String(time.nanoseconds).padStart(9, '0');
  return `${iso}.${fraction}Z`;
}

/** The lines `ustack dissect` prints for one frame (no trailing blank line). */
export function formatDissection(dissection: Dissection, options: FormatOptions = {}): string[] {
  const { frameNumber, capturedLength, originalLength, linkType } = dissection;
  const size = capturedLength === originalLength ? `${capturedLength} bytes` : `${originalLength} bytes (${capturedLength} captured)`;
  const time = options.time === undefined ? '' : `, time ${formatTimestamp(options.time)}`;
  const lines = [`Frame ${frameNumber}: ${size}, link type ${linkTypeName(linkType)} (${linkType})${time}`];
  for (const layer of dissection.layers) {
    if (layer.layer === 'frame') continue;
    lines.push(...formatLayer(layer, options.frame));
  }
  return lines;
}

function formatLayer(layer: DissectionLayer, frame: Uint8Array | undefined): string[] {
  const indent = '  ' + '    '.repeat(layer.depth);
  if (layer.layer === 'malformed') return [`${indent}${layer.title}: ${layer.notes.join('; ')}`];
  const lines = [`${indent}[${layer.start}..${layer.end}) ${layer.title}`];
  for (const field of layer.fields) {
    const problem = field.problem === undefined ? '' : ` (${field.problem})`;
    lines.push(`${indent}    ${field.label}: ${field.display ?? field.value}${problem}`);
  }
  if ((layer.layer === 'data' || layer.layer === 'padding') && frame !== undefined && layer.end > layer.start) {
    const shown = frame.subarray(layer.start, Math.min(layer.end, layer.start + DATA_PREVIEW_BYTES));
    lines.push(`${indent}    Bytes: ${toHex(shown)}${layer.end - layer.start > DATA_PREVIEW_BYTES ? '…' : ''}`);
  }
  for (const note of layer.notes) lines.push(`${indent}  ! ${note}`);
  const payloadLength = layer.payloadEnd - layer.payloadStart;
  if (layer.payloadTo !== undefined && payloadLength > 0) {
    lines.push(`${indent}  → ${payloadLength} byte${payloadLength === 1 ? '' : 's'} of payload to ${layer.payloadTo}`);
  }
  return lines;
}
