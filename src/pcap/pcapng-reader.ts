/**
 * pcapng reader: the block-structured capture format Wireshark writes by default.
 *
 * A file is a sequence of blocks. Each section starts with a Section Header Block whose
 * byte-order magic fixes the byte order of every block up to the next section. Interfaces are
 * declared by Interface Description Blocks and numbered from 0 within their section; packet
 * blocks refer to them by that number.
 *
 *   every block
 *   offset  size
 *        0     4  block type
 *        4     4  block total length   whole block including these 12 bytes; a multiple of 4
 *        8     n  body                 padded to 4 bytes
 *     - 4      4  block total length   repeated, so a reader can walk backwards
 *
 *   Section Header Block (type 0a0d0d0a — the same in both byte orders)
 *        8     4  byte-order magic     1a2b3c4d in the writer's byte order
 *       12     2  major version        1
 *       14     2  minor version        0
 *       16     8  section length       bytes after this block in the section, or -1
 *       24        options
 *
 *   Interface Description Block (type 1)
 *        8     2  link type            LINKTYPE_ number
 *       10     2  reserved
 *       12     4  snaplen              0 means no limit
 *       16        options              if_tsresol (9): 1 byte, top bit clear → 10^-n s units,
 *                                      set → 2^-n s units (default 10^-6); if_tsoffset (14):
 *                                      8-byte signed seconds added to every timestamp
 *
 *   Enhanced Packet Block (type 6)
 *        8     4  interface id
 *       12     4  timestamp, upper 32 bits   a 64-bit count of the interface's time units
 *       16     4  timestamp, lower 32 bits   since the epoch
 *       20     4  captured length
 *       24     4  original length
 *       28     n  packet data, padded to 4 bytes, then options
 *
 *   Simple Packet Block (type 3): no timestamp, always interface 0
 *        8     4  original length
 *       12     n  packet data: min(original length, snaplen, room in the block) bytes
 *
 *   option: code (2), length (2), value padded to 4 bytes; code 0 ends the list.
 *
 * Other block types (name resolution, statistics, custom, …) are skipped. A Simple Packet
 * Block's record has timestamp 0 s 0 ns, because the block carries none. Units finer than a
 * nanosecond (tsresol 10^-12, 2^-40, …) are truncated to whole nanoseconds. A truncated final
 * block is an error (reason `truncated`, with `recordIndex` when it was a packet block).
 */
import { dataView } from '../core/bytes.js';
import { ok, type Result } from '../core/result.js';
import { captureFail, type CaptureDecodeError, type CaptureRecord } from './capture.js';

/** Block type of a Section Header Block; also the first four bytes of every pcapng file. */
export const PCAPNG_SECTION_HEADER_BLOCK = 0x0a0d0d0a;
/** Block type of an Interface Description Block. */
export const PCAPNG_INTERFACE_DESCRIPTION_BLOCK = 0x00000001;
/** Block type of a Simple Packet Block. */
export const PCAPNG_SIMPLE_PACKET_BLOCK = 0x00000003;
/** Block type of an Enhanced Packet Block. */
export const PCAPNG_ENHANCED_PACKET_BLOCK = 0x00000006;
/** The Section Header Block's byte-order magic, as written in the section's byte order. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Option codes this reader understands. */
const OptionCode = { endOfOptions: 0, interfaceName: 2, timestampResolution: 9, timestampOffset: 14 } as const;

const BLOCK_OVERHEAD = 12; // type, total length, trailing total length
const SECTION_HEADER_BODY = 16; // byte-order magic, versions, section length
const INTERFACE_DESCRIPTION_BODY = 8; // link type, reserved, snaplen
const ENHANCED_PACKET_BODY = 20; // interface id, timestamp (2 words), captured and original lengths
const SIMPLE_PACKET_BODY = 4; // original length

/** How an interface counts time: units of base^-exponent seconds (default 10^-6). */
export interface PcapngTimestampResolution {
  /** 10 or 2: the if_tsresol option's top bit clear or set. */
  readonly base: 10 | 2;
  /** The if_tsresol option's low seven bits: a unit is base^-exponent seconds. */
  readonly exponent: number;
}

/** One capture interface, as declared by an Interface Description Block. */
export interface PcapngInterface {
  /** The section (0, 1, …) that declared it; its id inside the section is its order there. */
  readonly section: number;
  /** LINKTYPE_ number of its packets (see `LinkType`). */
  readonly linkType: number;
  /** Longest packet prefix kept, 0 for no limit. */
  readonly snaplen: number;
  /** The unit its timestamps count in (if_tsresol), 10^-6 s when the option is absent. */
  readonly timestampResolution: PcapngTimestampResolution;
  /** Seconds added to every timestamp of this interface (if_tsoffset), usually 0. */
  readonly timestampOffsetSeconds: number;
  /** The if_name option, when present. */
  readonly name?: string;
}

/** One section, as declared by a Section Header Block. */
export interface PcapngSection {
  /** The byte order of every block in the section, from its byte-order magic. */
  readonly byteOrder: 'little' | 'big';
  /** The Section Header Block's major version; always 1 (others are refused). */
  readonly versionMajor: number;
  /** The Section Header Block's minor version, usually 0. */
  readonly versionMinor: number;
}

/** A decoded pcapng file. `records[i].interfaceIndex` indexes `interfaces`. */
export interface PcapngFile {
  /** Always `pcapng`: tells a `PcapngFile` from a `PcapFile`. */
  readonly format: 'pcapng';
  /** Byte order of the first section. */
  readonly byteOrder: 'little' | 'big';
  /** Every section in file order. */
  readonly sections: readonly PcapngSection[];
  /** Every interface of every section, in file order; a record's `interfaceIndex` indexes this. */
  readonly interfaces: readonly PcapngInterface[];
  /** The packets of Enhanced and Simple Packet Blocks, in file order. */
  readonly records: readonly CaptureRecord[];
}

/** An interface plus what its packets' timestamps need, precomputed once. */
interface InterfaceState {
  readonly description: PcapngInterface;
  readonly globalIndex: number;
  readonly unitsPerSecond: bigint;
}

const DEFAULT_RESOLUTION: PcapngTimestampResolution = { base: 10, exponent: 6 };
const NANOSECONDS_PER_SECOND = 1_000_000_000n;

function padTo4(length: number): number {
  return (length + 3) & ~3;
}

/**
 * Decodes a pcapng file. Never throws: a first block that is not a Section Header Block, an
 * unknown byte-order magic or major version, a block length that is not a multiple of 4 or
 * disagrees with its trailing copy, a packet block naming an undeclared interface or a captured
 * length larger than its block, a malformed option, and a block cut short by the end of the
 * bytes are all reported as errors. Record data are subarrays of `bytes`.
 */
export function readPcapng(bytes: Uint8Array): Result<PcapngFile, CaptureDecodeError> {
  const view = dataView(bytes);
  const sections: PcapngSection[] = [];
  const interfaces: PcapngInterface[] = [];
  const records: CaptureRecord[] = [];
  let sectionInterfaces: InterfaceState[] = [];
  let littleEndian = true;
  let offset = 0;

  if (bytes.length < 4) return captureFail('truncated', `pcapng needs a block header, have ${bytes.length} bytes`, 0);
  if (view.getUint32(0, false) !== PCAPNG_SECTION_HEADER_BLOCK) {
    return captureFail('badField', 'pcapng must start with a Section Header Block', 0);
  }

  while (offset < bytes.length) {
    const remaining = bytes.length - offset;
    const type = remaining >= 4 ? view.getUint32(offset, littleEndian) : -1;
    const isPacketBlock = type === PCAPNG_ENHANCED_PACKET_BLOCK || type === PCAPNG_SIMPLE_PACKET_BLOCK;
    const recordIndex = isPacketBlock ? records.length : undefined;
    if (remaining < BLOCK_OVERHEAD) {
      return captureFail('truncated', `block at ${offset}: ${remaining} bytes left, a block needs ${BLOCK_OVERHEAD}`, offset, recordIndex);
    }
    if (type === PCAPNG_SECTION_HEADER_BLOCK) {
      // The byte-order magic decides how to read everything from the total length on.
      const magicLittle = view.getUint32(offset + 8, true);
      if (magicLittle === PCAPNG_BYTE_ORDER_MAGIC) littleEndian = true;
      else if (view.getUint32(offset + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) littleEndian = false;
      else return captureFail('badField', `section at ${offset}: bad byte-order magic 0x${magicLittle.toString(16)}`, offset);
    }
    const totalLength = view.getUint32(offset + 4, littleEndian);
    if (totalLength < BLOCK_OVERHEAD || totalLength % 4 !== 0) {
      return captureFail('badField', `block at ${offset}: impossible total length ${totalLength}`, offset, recordIndex);
    }
    if (totalLength > remaining) {
      return captureFail(
        'truncated',
        `block at ${offset}: total length ${totalLength} runs past the end of the file (${remaining} bytes remain)`,
        offset,
        recordIndex,
      );
    }
    const trailingLength = view.getUint32(offset + totalLength - 4, littleEndian);
    if (trailingLength !== totalLength) {
      return captureFail('badField', `block at ${offset}: total length ${totalLength} but trailer says ${trailingLength}`, offset, recordIndex);
    }
    const bodyStart = offset + 8;
    const bodyEnd = offset + totalLength - 4;
    const bodyLength = bodyEnd - bodyStart;

    switch (type) {
      case PCAPNG_SECTION_HEADER_BLOCK: {
        if (bodyLength < SECTION_HEADER_BODY) {
          return captureFail('badField', `section at ${offset}: body of ${bodyLength} bytes is too short`, offset);
        }
        const versionMajor = view.getUint16(bodyStart + 4, littleEndian);
        const versionMinor = view.getUint16(bodyStart + 6, littleEndian);
        if (versionMajor !== 1) {
          return captureFail('badField', `section at ${offset}: unsupported pcapng version ${versionMajor}.${versionMinor}`, offset);
        }
        const options = walkOptions(view, bodyStart + SECTION_HEADER_BODY, bodyEnd, littleEndian, () => undefined);
        if (options !== undefined) return captureFail('badOption', `section at ${offset}: ${options}`, offset);
        sections.push({ byteOrder: littleEndian ? 'little' : 'big', versionMajor, versionMinor });
        sectionInterfaces = [];
        break;
      }
      case PCAPNG_INTERFACE_DESCRIPTION_BLOCK: {
        if (bodyLength < INTERFACE_DESCRIPTION_BODY) {
          return captureFail('badField', `interface at ${offset}: body of ${bodyLength} bytes is too short`, offset);
        }
        const linkType = view.getUint16(bodyStart, littleEndian);
        const snaplen = view.getUint32(bodyStart + 4, littleEndian);
        let timestampResolution = DEFAULT_RESOLUTION;
        let timestampOffsetSeconds = 0;
        let name: string | undefined;
        const problem = walkOptions(view, bodyStart + INTERFACE_DESCRIPTION_BODY, bodyEnd, littleEndian, (code, valueStart, valueLength) => {
          if (code === OptionCode.timestampResolution) {
            if (valueLength !== 1) return `if_tsresol has length ${valueLength}, not 1`;
            const raw = bytes[valueStart];
            timestampResolution = { base: raw & 0x80 ? 2 : 10, exponent: raw & 0x7f };
          } else if (code === OptionCode.timestampOffset) {
            if (valueLength !== 8) return `if_tsoffset has length ${valueLength}, not 8`;
            timestampOffsetSeconds = Number(view.getBigInt64(valueStart, littleEndian));
          } else if (code === OptionCode.interfaceName) {
            name = new TextDecoder().decode(bytes.subarray(valueStart, valueStart + valueLength));
          }
          return undefined;
        });
        if (problem !== undefined) return captureFail('badOption', `interface at ${offset}: ${problem}`, offset);
        const description: PcapngInterface = {
          section: sections.length - 1,
          linkType,
          snaplen,
          timestampResolution,
          timestampOffsetSeconds,
          ...(name === undefined ? {} : { name }),
        };
        const { base, exponent } = timestampResolution;
        const unitsPerSecond = base === 10 ? 10n ** BigInt(exponent) : 1n << BigInt(exponent);
        sectionInterfaces.push({ description, globalIndex: interfaces.length, unitsPerSecond });
        interfaces.push(description);
        break;
      }
      case PCAPNG_ENHANCED_PACKET_BLOCK: {
        const index = records.length;
        if (bodyLength < ENHANCED_PACKET_BODY) {
          return captureFail('badField', `record ${index}: enhanced packet body of ${bodyLength} bytes is too short`, offset, index);
        }
        const interfaceId = view.getUint32(bodyStart, littleEndian);
        const owner = sectionInterfaces[interfaceId];
        if (owner === undefined) {
          return captureFail('badField', `record ${index}: interface ${interfaceId} not declared (section has ${sectionInterfaces.length})`, offset, index);
        }
        const capturedLength = view.getUint32(bodyStart + 12, littleEndian);
        const originalLength = view.getUint32(bodyStart + 16, littleEndian);
        const dataStart = bodyStart + ENHANCED_PACKET_BODY;
        if (capturedLength > bodyEnd - dataStart) {
          return captureFail(
            'badField',
            `record ${index}: captured length ${capturedLength} exceeds its block (${bodyEnd - dataStart} bytes of data)`,
            offset,
            index,
          );
        }
        const problem = walkOptions(view, dataStart + padTo4(capturedLength), bodyEnd, littleEndian, () => undefined);
        if (problem !== undefined) return captureFail('badOption', `record ${index}: ${problem}`, offset, index);
        const ticks = (BigInt(view.getUint32(bodyStart + 4, littleEndian)) << 32n) | BigInt(view.getUint32(bodyStart + 8, littleEndian));
        const units = owner.unitsPerSecond;
        records.push({
          index,
          linkType: owner.description.linkType,
          interfaceIndex: owner.globalIndex,
          seconds: Number(ticks / units) + owner.description.timestampOffsetSeconds,
          nanoseconds: Number(((ticks % units) * NANOSECONDS_PER_SECOND) / units),
          capturedLength,
          originalLength,
          data: bytes.subarray(dataStart, dataStart + capturedLength),
        });
        break;
      }
      case PCAPNG_SIMPLE_PACKET_BLOCK: {
        const index = records.length;
        if (bodyLength < SIMPLE_PACKET_BODY) {
          return captureFail('badField', `record ${index}: simple packet body of ${bodyLength} bytes is too short`, offset, index);
        }
        const owner = sectionInterfaces[0];
        if (owner === undefined) {
          return captureFail('badField', `record ${index}: simple packet block before any interface`, offset, index);
        }
        const originalLength = view.getUint32(bodyStart, littleEndian);
        const dataStart = bodyStart + SIMPLE_PACKET_BODY;
        const snaplen = owner.description.snaplen;
        let capturedLength = Math.min(originalLength, bodyEnd - dataStart);
        if (snaplen !== 0) capturedLength = Math.min(capturedLength, snaplen);
        records.push({
          index,
          linkType: owner.description.linkType,
          interfaceIndex: owner.globalIndex,
          seconds: 0,
          nanoseconds: 0,
          capturedLength,
          originalLength,
          data: bytes.subarray(dataStart, dataStart + capturedLength),
        });
        break;
      }
      default:
        // Name resolution, interface statistics, decryption secrets, custom blocks: not ours.
        break;
    }
    offset += totalLength;
  }
  return ok({
    format: 'pcapng',
    byteOrder: sections[0].byteOrder,
    sections,
    interfaces,
    records,
  });
}

/**
 * Calls `onOption` for each option between `start` and `end` until end-of-options or the end.
 * Returns a sentence describing the first malformed option (or what `onOption` objected to).
 */
function walkOptions(
  view: DataView,
  start: number,
  end: number,
  littleEndian: boolean,
  onOption: (code: number, valueStart: number, valueLength: number) => string | undefined,
): string | undefined {
  let offset = start;
  while (offset < end) {
    if (end - offset < 4) return `option header at ${offset} needs 4 bytes, ${end - offset} remain`;
    const code = view.getUint16(offset, littleEndian);
    const length = view.getUint16(offset + 2, littleEndian);
    if (code === OptionCode.endOfOptions) return undefined;
    const valueStart = offset + 4;
    if (valueStart + length > end) return `option ${code} of length ${length} runs past its block`;
    const problem = onOption(code, valueStart, length);
    if (problem !== undefined) return problem;
    offset = valueStart + padTo4(length);
  }
  return undefined;
}
