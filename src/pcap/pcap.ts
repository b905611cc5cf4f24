/**
 * Capture files: the entry point of `src/pcap`. `readCapture` takes the bytes of a classic
 * pcap or a pcapng file, tells which by the first four bytes, and returns packet records of the
 * same shape either way; `PcapWriter` writes classic pcap.
 *
 *   classic pcap                            pcapng
 *   +-------------------------------+       +--------------------------------------+
 *   | global header (24 bytes)      |       | Section Header Block (0a0d0d0a)      |
 *   |  magic a1b2c3d4 / a1b23c4d    |       | Interface Description Block (1) × n  |
 *   |  version 2.4, snaplen,        |       |  link type, snaplen, if_tsresol      |
 *   |  one link type for the file   |       | Enhanced Packet Block (6)            |
 *   +-------------------------------+       |  interface id, 64-bit timestamp,     |
 *   | record header (16 bytes)      |       |  captured/original length, data      |
 *   |  seconds, µs or ns fraction,  |       | Simple Packet Block (3)              |
 *   |  captured len, original len   |       |  original length, data               |
 *   | captured bytes                |       | … other blocks (skipped)             |
 *   +-------------------------------+       +--------------------------------------+
 *   | record header | bytes | …     |
 *
 * The exact byte layouts are drawn at the top of pcap-reader.ts, pcap-writer.ts and
 * pcapng-reader.ts.
 */
import { dataView } from '../core/bytes.js';
import type { Result } from '../core/result.js';
import { captureFail, type CaptureDecodeError } from './capture.js';
import { classifyPcapMagic, readPcap, type PcapFile } from './pcap-reader.js';
import { PCAPNG_SECTION_HEADER_BLOCK, readPcapng, type PcapngFile } from './pcapng-reader.js';

export { LinkType, linkTypeName, type KnownLinkType } from './link-type.js';
export { timestampFromMs, timestampToMs, type Timestamp, type TimestampResolution } from './timestamp.js';
export { MAX_CAPTURED_LENGTH, type CaptureDecodeError, type CaptureRecord } from './capture.js';
export {
  classifyPcapMagic,
  PCAP_GLOBAL_HEADER_LENGTH,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_RECORD_HEADER_LENGTH,
  readPcap,
  type PcapFile,
} from './pcap-reader.js';
export {
  PCAPNG_BYTE_ORDER_MAGIC,
  PCAPNG_ENHANCED_PACKET_BLOCK,
  PCAPNG_INTERFACE_DESCRIPTION_BLOCK,
  PCAPNG_SECTION_HEADER_BLOCK,
  PCAPNG_SIMPLE_PACKET_BLOCK,
  readPcapng,
  type PcapngFile,
  type PcapngInterface,
  type PcapngSection,
  type PcapngTimestampResolution,
} from './pcapng-reader.js';
export { PcapWriter, type PcapWriterOptions } from './pcap-writer.js';

/**
 * A decoded capture of either format. Both carry `records` whose `linkType`, `interfaceIndex`,
 * timestamp and data mean the same; `format` tells which extra fields are there.
 */
export type CaptureFile = PcapFile | PcapngFile;

/**
 * Decodes a classic pcap (either magic, either byte order) or a pcapng file, chosen by its
 * first four bytes. Never throws; anything else is a `badField` error, fewer than four bytes
 * a `truncated` one.
 */
export function readCapture(bytes: Uint8Array): Result<CaptureFile, CaptureDecodeError> {
  if (bytes.length < 4) return captureFail('truncated', `a capture file needs at least 4 bytes, have ${bytes.length}`, 0);
  if (classifyPcapMagic(bytes) !== undefined) return readPcap(bytes);
  const magic = dataView(bytes).getUint32(0, false);
  if (magic === PCAPNG_SECTION_HEADER_BLOCK) return readPcapng(bytes);
  return captureFail('badField', `not a pcap or pcapng file (magic 0x${magic.toString(16).padStart(8, '0')})`, 0);
}
