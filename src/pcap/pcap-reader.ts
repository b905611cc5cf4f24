/**
 * Classic libpcap file reader.
 *
 * A file is one global header, then records back to back. Every multi-byte field is in the
 * byte order of the machine that wrote it; the magic number tells which (read it in either
 * order and see which one matches) and whether the fraction field holds µs or ns.
 *
 *   global header, 24 bytes
 *   offset  size
 *        0     4  magic          a1b2c3d4 = µs timestamps, a1b23c4d = ns timestamps
 *        4     2  version major  2
 *        6     2  version minor  4
 *        8     4  this zone      GMT offset, always 0 in practice (ignored)
 *       12     4  sigfigs        timestamp accuracy, always 0 in practice (ignored)
 *       16     4  snaplen        longest packet prefix the capture kept
 *       20     4  link type      LINKTYPE_ number: what the first byte of each packet is
 *
 *   record header, 16 bytes, followed by `captured length` bytes of packet
 *   offset  size
 *        0     4  seconds            since 1970-01-01 00:00 UTC
 *        4     4  fraction           µs or ns into that second, by the magic
 *        8     4  captured length    bytes of packet that follow in the file
 *       12     4  original length    bytes the packet had on the wire
 *
 * A truncated final record is an error (reason `truncated`, with its `recordIndex`), not a
 * partial success: a caller that wants the packets before it can retry on a shorter prefix.
 */
import { dataView } from '../core/bytes.js';
import { ok, type Result } from '../core/result.js';
import { captureFail, MAX_CAPTURED_LENGTH, type CaptureDecodeError, type CaptureRecord } from './capture.js';
import type { TimestampResolution } from './timestamp.js';

/** Magic of a microsecond-resolution pcap file, as written by its writer's byte order. */
export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
/** Magic of a nanosecond-resolution pcap file. */
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
/** Size of the global header at the start of a pcap file. */
export const PCAP_GLOBAL_HEADER_LENGTH = 24;
/** Size of the header in front of every packet record. */
export const PCAP_RECORD_HEADER_LENGTH = 16;

/** Field offsets in the global header. */
const GlobalHeader = { magic: 0, versionMajor: 4, versionMinor: 6, snaplen: 16, linkType: 20 } as const;
/** Field offsets in a record header. */
const RecordHeader = { seconds: 0, fraction: 4, capturedLength: 8, originalLength: 12 } as const;

/** A decoded classic pcap file. */
export interface PcapFile {
  /** Always `pcap`: tells a `PcapFile` from a `PcapngFile`. */
  readonly format: 'pcap';
  /** The byte order the file was written in. */
  readonly byteOrder: 'little' | 'big';
  /** Whether the record fraction field counts microseconds or nanoseconds. */
  readonly resolution: TimestampResolution;
  /** The global header's major version; always 2 (others are refused). */
  readonly versionMajor: number;
  /** The global header's minor version, 4 in every current writer. */
  readonly versionMinor: number;
  /** Longest packet prefix the capture kept (0 in files from writers that did not care). */
  readonly snaplen: number;
  /** The one link type of every record (see `LinkType`); unknown numbers are kept as is. */
  readonly linkType: number;
  /** The packet records in file order. */
  readonly records: readonly CaptureRecord[];
}

/** What a pcap magic number says, read in both byte orders; undefined if it is not one. */
export function classifyPcapMagic(bytes: Uint8Array): { littleEndian: boolean; resolution: TimestampResolution } | undefined {
  if (bytes.length < 4) return undefined;
  const view = dataView(bytes);
  for (const littleEndian of [true, false]) {
    const magic = view.getUint32(0, littleEndian);
    if (magic === PCAP_MAGIC_MICROSECONDS) return { littleEndian, resolution: 'microsecond' };
    if (magic === PCAP_MAGIC_NANOSECONDS) return { littleEndian, resolution: 'nanosecond' };
  }
  return undefined;
}

/**
 * Decodes a classic pcap file. Never throws: a short global header, an unknown magic, a
 * version other than 2.x, a record whose captured length is absurd (over both the snaplen and
 * 256 KiB) or whose fraction is a whole second or more, and a record running past the end of the
 * bytes are all reported as errors. Record data are subarrays of `bytes`.
 */
export function readPcap(bytes: Uint8Array): Result<PcapFile, CaptureDecodeError> {
  if (bytes.length < PCAP_GLOBAL_HEADER_LENGTH) {
    return captureFail('truncated', `pcap global header needs ${PCAP_GLOBAL_HEADER_LENGTH} bytes, have ${bytes.length}`, 0);
  }
  const kind = classifyPcapMagic(bytes);
  const view = dataView(bytes);
  if (kind === undefined) {
    const magic = view.getUint32(GlobalHeader.magic, false).toString(16).padStart(8, '0');
    return captureFail('badField', `not a pcap magic number: 0x${magic}`, 0);
  }
  const { littleEndian, resolution } = kind;
  const versionMajor = view.getUint16(GlobalHeader.versionMajor, littleEndian);
  const versionMinor = view.getUint16(GlobalHeader.versionMinor, littleEndian);
  if (versionMajor !== 2) {
    return captureFail('badField', `unsupported pcap version ${versionMajor}.${versionMinor}`, GlobalHeader.versionMajor);
  }
  const snaplen = view.getUint32(GlobalHeader.snaplen, littleEndian);
  const linkType = view.getUint32(GlobalHeader.linkType, littleEndian);
  const maxCapturedLength = Math.max(snaplen, MAX_CAPTURED_LENGTH);
  const fractionLimit = resolution === 'microsecond' ? 1_000_000 : 1_000_000_000;
  const nanosecondsPerUnit = resolution === 'microsecond' ? 1000 : 1;

  const records: CaptureRecord[] = [];
  let offset = PCAP_GLOBAL_HEADER_LENGTH;
  while (offset < bytes.length) {
    const index = records.length;
    if (bytes.length - offset < PCAP_RECORD_HEADER_LENGTH) {
      return captureFail('truncated', `record ${index}: header needs ${PCAP_RECORD_HEADER_LENGTH} bytes, ${bytes.length - offset} remain`, offset, index);
    }
    const seconds = view.getUint32(offset + RecordHeader.seconds, littleEndian);
    const fraction = view.getUint32(offset + RecordHeader.fraction, littleEndian);
    const capturedLength = view.getUint32(offset + RecordHeader.capturedLength, littleEndian);
    const originalLength = view.getUint32(offset + RecordHeader.originalLength, littleEndian);
    if (fraction >= fractionLimit) {
      return captureFail('badField', `record ${index}: ${resolution} fraction ${fraction} is a second or more`, offset, index);
    }
    if (capturedLength > maxCapturedLength) {
      return captureFail(
        'badField',
        `record ${index}: captured length ${capturedLength} exceeds snaplen ${snaplen} and the ${MAX_CAPTURED_LENGTH}-byte limit`,
        offset,
        index,
      );
    }
    const dataStart = offset + PCAP_RECORD_HEADER_LENGTH;
    const dataEnd = dataStart + capturedLength;
    if (dataEnd > bytes.length) {
      return captureFail(
        'truncated',
        `record ${index}: captured length ${capturedLength} runs past the end of the file (${bytes.length - dataStart} bytes remain)`,
        offset,
        index,
      );
    }
    records.push({
      index,
      linkType,
      interfaceIndex: 0,
      seconds,
      nanoseconds: fraction * nanosecondsPerUnit,
      capturedLength,
      originalLength,
      data: bytes.subarray(dataStart, dataEnd),
    });
    offset = dataEnd;
  }
  return ok({
    format: 'pcap',
    byteOrder: littleEndian ? 'little' : 'big',
    resolution,
    versionMajor,
    versionMinor,
    snaplen,
    linkType,
    records,
  });
}
