/**
 * A capture file cut short — tcpdump killed in the middle of a write, a partial copy, `head -c`
 * — read as far as it goes: every complete packet record before the cut, and where the cut lies.
 *
 * The readers refuse such a file whole (reason `truncated`, with the offset of the header or
 * block the bytes end inside); everything before that offset is a well-formed file of the same
 * format, so reading it again gives the complete records.
 *
 * tshark tells two kinds of cut apart, and so does `CaptureCut.whileOpening`: one met while the
 * file's headers are still being read ("cut short in the middle of a packet or other data"), and
 * one met while reading packets ("cut short in the middle of a packet"). For classic pcap the
 * first is a cut inside the 24-byte global header. For pcapng it is a cut inside the first
 * Section Header Block, inside an Interface Description Block that directly follows it (or
 * another such), or within the first 8 bytes (type and length) of the block after them: tshark
 * reads that far before the first packet. A file of 0 bytes is an empty capture, as for tshark.
 */
import { dataView } from '../core/bytes.js';
import { ok, type Result } from '../core/result.js';
import type { CaptureDecodeError, CaptureRecord } from './capture.js';
import { readCapture, type CaptureFile } from './pcap.js';
import { PCAPNG_INTERFACE_DESCRIPTION_BLOCK, PCAPNG_SECTION_HEADER_BLOCK } from './pcapng-reader.js';

/** Where a capture was cut short. */
export interface CaptureCut {
  /** File offset of the header or block the bytes end inside. */
  readonly offset: number;
  /** The cut lies in what tshark reads before the first packet (see the file comment). */
  readonly whileOpening: boolean;
  /** The reader's own account of the cut. */
  readonly error: CaptureDecodeError;
}

/** A capture read up to a cut: the complete records, the file they came from, and the cut. */
export interface CaptureUpToCut {
  /** Every complete packet record before the cut (all of them when there is no cut). */
  readonly records: readonly CaptureRecord[];
  /** The decoded file (up to the cut); absent when the cut lies in its first header. */
  readonly file?: CaptureFile;
  /** Absent when the file is whole. */
  readonly cut?: CaptureCut;
}

/** Bytes of a pcapng block's type and total length, which tshark reads before the first packet. */
const PCAPNG_BLOCK_HEADER = 8;

/**
 * Reads a pcap or pcapng file that may have been cut short. Never throws. A file that is
 * malformed in any other way (bad magic, impossible lengths) is still an error; 0 bytes are an
 * empty capture; 1 to 3 bytes are a cut while opening.
 */
export function readCaptureUpToCut(bytes: Uint8Array): Result<CaptureUpToCut, CaptureDecodeError> {
  if (bytes.length === 0) return ok({ records: [] });
  const whole = readCapture(bytes);
  if (whole.ok) return ok({ records: whole.value.records, file: whole.value });
  const error = whole.error;
  if (error.reason !== 'truncated') return whole;
  if (error.offset === 0) return ok({ records: [], cut: { offset: 0, whileOpening: true, error } });
  const before = readCapture(bytes.subarray(0, error.offset));
  // The readers only ever report a cut at a header or block boundary: what precedes it reads.
  if (!before.ok) return before;
  const file = before.value;
  const whileOpening = file.format === 'pcap' ? error.recordIndex === undefined : pcapngCutWhileOpening(bytes, error.offset);
  return ok({ records: file.records, file, cut: { offset: error.offset, whileOpening, error } });
}

/** Whether a pcapng cut at the block starting at `cutOffset` lies in what tshark reads while opening. */
function pcapngCutWhileOpening(bytes: Uint8Array, cutOffset: number): boolean {
  const view = dataView(bytes);
  // The byte order is the first section's (the magic at offset 8 reads 0x1a2b3c4d in it).
  const littleEndian = view.getUint32(8, true) === 0x1a2b3c4d;
  let offset = 0;
  let index = 0;
  while (offset < cutOffset) {
    const type = view.getUint32(offset, littleEndian);
    const opening = index === 0 ? type === PCAPNG_SECTION_HEADER_BLOCK : type === PCAPNG_INTERFACE_DESCRIPTION_BLOCK;
    if (!opening) return false;
    offset += view.getUint32(offset + 4, littleEndian);
    index++;
  }
  const remaining = bytes.length - cutOffset;
  if (remaining < 4) return true;
  return view.getUint32(cutOffset, littleEndian) === PCAPNG_INTERFACE_DESCRIPTION_BLOCK || remaining < PCAPNG_BLOCK_HEADER;
}
