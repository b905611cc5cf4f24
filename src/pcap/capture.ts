/**
 * What every capture reader returns, whatever the file format: packet records carrying their
 * own link type and timestamp, and a decoding error that says where in the file it gave up.
 */
import type { DecodeError, DecodeReason } from '../core/decode-error.js';
import { fail } from '../core/result.js';
import type { Timestamp } from './timestamp.js';

/**
 * One captured packet. `seconds`/`nanoseconds` are its timestamp (use `timestampToMs(record)`
 * for milliseconds). `data` is a zero-copy subarray of the file's bytes, `capturedLength` long;
 * `originalLength` is how long the packet was on the wire (larger when the snapshot cut it).
 */
export interface CaptureRecord extends Timestamp {
  /** Position among the file's packets, counting from 0. */
  readonly index: number;
  /** The link type of the interface the packet was captured on (see `LinkType`). */
  readonly linkType: number;
  /** The capturing interface: always 0 in classic pcap; an index into `PcapngFile.interfaces`. */
  readonly interfaceIndex: number;
  /** Bytes of the packet present in the file (`data.length`). */
  readonly capturedLength: number;
  /** Bytes the packet had on the wire. */
  readonly originalLength: number;
  /** The captured bytes. */
  readonly data: Uint8Array;
}

/**
 * A capture file that could not be read. `offset` is the byte offset in the file where the
 * faulty header or block starts; `recordIndex` is set when the fault lies in a packet record
 * (the index that packet would have had), e.g. a final record cut short by a killed tcpdump.
 */
export interface CaptureDecodeError extends DecodeError {
  /** Always `pcap`: the capture reader, whichever format. */
  readonly layer: 'pcap';
  /** Byte offset in the file where the faulty header or block starts. */
  readonly offset: number;
  /** The index the faulty packet record would have had; absent when the fault is not in a record. */
  readonly recordIndex?: number;
}

/** Shorthand for a failed Result carrying a CaptureDecodeError. */
export function captureFail(reason: DecodeReason, message: string, offset: number, recordIndex?: number) {
  const error: CaptureDecodeError =
    recordIndex === undefined ? { layer: 'pcap', reason, message, offset } : { layer: 'pcap', reason, message, offset, recordIndex };
  return fail(error);
}

/**
 * The largest captured length a reader accepts when the file's own snapshot length is smaller:
 * 256 KiB, the ceiling libpcap and Wireshark use. A record claiming more than both is corrupt
 * (a length of 2^31 is garbage, not a packet) and is refused before any bytes are looked at.
 */
export const MAX_CAPTURED_LENGTH = 262_144;
