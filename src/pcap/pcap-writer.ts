/**
 * Classic libpcap file writer: little-endian, microsecond timestamps unless nanoseconds are
 * asked for, version 2.4.
 *
 *   global header, 24 bytes (written once, first)
 *   offset  size
 *        0     4  magic          d4 c3 b2 a1 (µs) or 4d 3c b2 a1 (ns) on disk
 *        4     2  version major  2
 *        6     2  version minor  4
 *        8     4  this zone      0
 *       12     4  sigfigs        0
 *       16     4  snaplen        longest packet prefix kept; longer frames are cut to it
 *       20     4  link type      LINKTYPE_ number (see LinkType)
 *
 *   record, 16-byte header then the captured bytes
 *   offset  size
 *        0     4  seconds            since the Unix epoch
 *        4     4  fraction           µs or ns into that second
 *        8     4  captured length    min(frame length, snaplen)
 *       12     4  original length    the frame's length on the wire
 *       16     n  captured bytes
 *
 * The writer does no I/O: it hands out byte chunks (return values, an `onChunk` sink, or all of
 * them joined by `toBytes()`), so a driver decides where they go.
 */
import { dataView } from '../core/bytes.js';
import { MAX_CAPTURED_LENGTH } from './capture.js';
import { PCAP_GLOBAL_HEADER_LENGTH, PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS, PCAP_RECORD_HEADER_LENGTH } from './pcap-reader.js';
import { timestampFromMs, type TimestampResolution } from './timestamp.js';

/** How to write a pcap file. */
export interface PcapWriterOptions {
  /** LINKTYPE_ number of every record (see `LinkType`). */
  readonly linkType: number;
  /** Write nanosecond timestamps (magic a1b23c4d) instead of microseconds. */
  readonly nanosecond?: boolean;
  /** Longest packet prefix to keep; longer frames are cut. Default 262144. */
  readonly snaplen?: number;
  /**
   * Receives every chunk as it is produced — the global header during construction, then one
   * chunk per record — so a driver can stream to a file. Chunks are not reused by the writer.
   */
  readonly onChunk?: (chunk: Uint8Array) => void;
  /**
   * Keep every chunk in memory for `toBytes()`. Defaults to true without `onChunk` and false
   * with it, so a long-running streamed capture does not grow without bound.
   */
  readonly retain?: boolean;
}

const UINT32_MAX = 0xffff_ffff;

function isUint32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= UINT32_MAX;
}

/**
 * Produces a pcap file incrementally. Misuse by the program (a negative or non-finite
 * timestamp, an original length shorter than the frame, a link type or snaplen that does not
 * fit 32 bits) throws RangeError; there is no untrusted input here.
 */
export class PcapWriter {
  /** LINKTYPE_ number written in the global header. */
  readonly linkType: number;
  /** Resolution of the record timestamps. */
  readonly resolution: TimestampResolution;
  /** Longest packet prefix kept. */
  readonly snaplen: number;
  private readonly onChunk: ((chunk: Uint8Array) => void) | undefined;
  private readonly headerBytes: Uint8Array;
  private retained: Uint8Array[] | undefined;
  private recordsWritten = 0;

  /** A writer of one capture (its global header is written at once). */
  constructor(options: PcapWriterOptions) {
    const snaplen = options.snaplen ?? MAX_CAPTURED_LENGTH;
    if (!isUint32(options.linkType)) throw new RangeError(`link type must be a uint32: ${options.linkType}`);
    if (!isUint32(snaplen) || snaplen === 0) throw new RangeError(`snaplen must be a positive uint32: ${snaplen}`);
    this.linkType = options.linkType;
    this.resolution = options.nanosecond === true ? 'nanosecond' : 'microsecond';
    this.snaplen = snaplen;
    this.onChunk = options.onChunk;
    this.headerBytes = this.buildHeader();
    const retain = options.retain ?? options.onChunk === undefined;
    this.retained = retain ? [this.headerBytes] : undefined;
    this.onChunk?.(this.header());
  }

  /** Number of records written so far. */
  get recordCount(): number {
    return this.recordsWritten;
  }

  /** The 24-byte global header (a fresh copy each call). */
  header(): Uint8Array {
    return this.headerBytes.slice();
  }

  /**
   * Appends one record stamped `timestampMs` (ms since the Unix epoch, a float, rounded to
   * the file's resolution) and returns its bytes: the 16-byte record header, then `frame` cut
   * to the snaplen. `originalLength` defaults to `frame.length`; pass it when `frame` is
   * already a prefix of a longer packet.
   */
  record(timestampMs: number, frame: Uint8Array, originalLength: number = frame.length): Uint8Array {
    const { seconds, nanoseconds } = timestampFromMs(timestampMs, this.resolution);
    if (seconds < 0 || seconds > UINT32_MAX) {
      throw new RangeError(`timestamp ${timestampMs} ms does not fit a pcap record (0 to 2^32 s)`);
    }
    if (!isUint32(originalLength) || originalLength < frame.length) {
      throw new RangeError(`original length ${originalLength} is shorter than the ${frame.length}-byte frame`);
    }
    const capturedLength = Math.min(frame.length, this.snaplen);
    const out = new Uint8Array(PCAP_RECORD_HEADER_LENGTH + capturedLength);
    const view = dataView(out);
    view.setUint32(0, seconds, true);
    view.setUint32(4, this.resolution === 'nanosecond' ? nanoseconds : nanoseconds / 1000, true);
    view.setUint32(8, capturedLength, true);
    view.setUint32(12, originalLength, true);
    out.set(frame.subarray(0, capturedLength), PCAP_RECORD_HEADER_LENGTH);
    this.recordsWritten += 1;
    this.retained?.push(out);
    this.onChunk?.(out);
    return out;
  }

  /**
   * The whole file so far — global header and every record — as one array. Throws if the
   * writer was created not to retain its chunks (streaming with `onChunk`).
   */
  toBytes(): Uint8Array {
    if (this.retained === undefined) {
      throw new Error('PcapWriter does not retain its chunks (created with onChunk); pass retain: true');
    }
    // Joined by hand: a long capture has more chunks than a spread call can take arguments.
    let length = 0;
    for (const chunk of this.retained) length += chunk.length;
    const joined = new Uint8Array(length);
    let offset = 0;
    for (const chunk of this.retained) {
      joined.set(chunk, offset);
      offset += chunk.length;
    }
    // Keep the joined copy so the next call does not join the same chunks again.
    this.retained = [joined];
    return joined.slice();
  }

  private buildHeader(): Uint8Array {
    const out = new Uint8Array(PCAP_GLOBAL_HEADER_LENGTH);
    const view = dataView(out);
    view.setUint32(0, this.resolution === 'nanosecond' ? PCAP_MAGIC_NANOSECONDS : PCAP_MAGIC_MICROSECONDS, true);
    view.setUint16(4, 2, true);
    view.setUint16(6, 4, true);
    view.setInt32(8, 0, true);
    view.setUint32(12, 0, true);
    view.setUint32(16, this.snaplen, true);
    view.setUint32(20, this.linkType, true);
    return out;
  }
}
