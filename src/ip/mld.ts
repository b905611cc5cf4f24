/**
 * Multicast Listener Discovery messages (MLDv2, RFC 3810 §5, and the MLDv1 forms it must read,
 * RFC 2710 §3): the bodies of ICMPv6 types 130, 131, 132 and 143 after the 4-byte ICMPv6 header.
 *
 *   Query (130, §5.1)                 Maximum Response Code (16) | Reserved (16)
 *                                     Multicast Address (128)
 *                                     Resv (4) | S | QRV (3) | QQIC (8) | Number of Sources (16)
 *                                     Source Address [i] (128 each)
 *     A query whose body is 20 bytes (24 with the ICMPv6 header) is an MLDv1 query, ≥ 24 an
 *     MLDv2 query (§8.1); anything else is refused.
 *   MLDv1 Report (131) and Done (132) Maximum Response Delay (16) | Reserved (16) | Multicast Address
 *   MLDv2 Report (143, §5.2)          Reserved (16) | Nr of Mcast Address Records (16) | records:
 *     Record Type (8) | Aux Data Len (8, 32-bit words) | Number of Sources (16)
 *     | Multicast Address (128) | Source Address [i] | Auxiliary Data
 *
 * Reserved fields are kept so that parse→emit is exact. RFC 3810 §5.2.12 says the first byte
 * after the checksum (ICMPv6's Code octet) is reserved in a report; the ICMPv6 codec keeps it
 * as the code.
 */
import { readUint16, writeUint16 } from '../core/bytes.js';
import { decodeFail, type DecodeError } from '../core/decode-error.js';
import { ok, type Result } from '../core/result.js';
import { isLinkLocalUnicast, isUnspecifiedAddress, readIpv6Address, writeIpv6Address, type Ipv6Address } from './ipv6-address.js';

/** The ICMPv6 types of MLD messages. */
export const MldType = {
  /** Multicast Listener Query (RFC 3810 §5.1, RFC 2710 §3.6). */
  QUERY: 130,
  /** Version 1 Multicast Listener Report (RFC 2710 §3.7). */
  MLDV1_REPORT: 131,
  /** Version 1 Multicast Listener Done (RFC 2710 §3.8). */
  MLDV1_DONE: 132,
  /** Version 2 Multicast Listener Report (RFC 3810 §5.2). */
  MLDV2_REPORT: 143,
} as const;

/** Multicast address record types (RFC 3810 §5.2.12). */
export const MldRecordType = {
  /** The current state is INCLUDE the sources listed. */
  MODE_IS_INCLUDE: 1,
  /** The current state is EXCLUDE the sources listed. */
  MODE_IS_EXCLUDE: 2,
  /** The filter mode changed to INCLUDE (an empty list: the listener left). */
  CHANGE_TO_INCLUDE_MODE: 3,
  /** The filter mode changed to EXCLUDE (an empty list: the listener joined any-source). */
  CHANGE_TO_EXCLUDE_MODE: 4,
  /** These sources are now listened to. */
  ALLOW_NEW_SOURCES: 5,
  /** These sources are no longer listened to. */
  BLOCK_OLD_SOURCES: 6,
} as const;

/** One Multicast Address Record of an MLDv2 report (RFC 3810 §5.2.4). */
export interface MldAddressRecord {
  /** Record Type (`MldRecordType`). */
  readonly recordType: number;
  /** The group. */
  readonly multicastAddress: Ipv6Address;
  /** The sources, in order. */
  readonly sources: readonly Ipv6Address[];
  /** Auxiliary Data (a multiple of 4 bytes; none is defined, §5.2.10). */
  readonly auxiliaryData: Uint8Array;
}

/** An MLD message (the body after type, code and checksum). */
export type MldRepr =
  | {
      /** A query (130): MLDv2 (§5.1) or, when `version` is 1, MLDv1 (RFC 2710 §3.6). */
      readonly kind: 'mldQuery';
      /** 1 for a 24-byte query, 2 for a longer one (RFC 3810 §8.1). */
      readonly version: 1 | 2;
      /** Maximum Response Code (§5.1.3): the delay in ms, exponential above 32767 (`mldMaximumResponseDelay`). */
      readonly maximumResponseCode: number;
      /** The reserved 16 bits after it. */
      readonly reserved: number;
      /** Multicast Address: the group asked about, :: for a general query (§5.1.5). */
      readonly multicastAddress: Ipv6Address;
      /** Resv, the four high bits of the flags octet (MLDv2). */
      readonly flagsReserved: number;
      /** S: routers suppress their timer updates (§5.1.7). */
      readonly suppressRouterProcessing: boolean;
      /** QRV: the querier's robustness variable (§5.1.8), 0 when above 7. */
      readonly robustness: number;
      /** QQIC: the querier's query interval code (§5.1.9; `mldQueryInterval`). */
      readonly queryIntervalCode: number;
      /** Sources of a multicast-address-and-source-specific query (§5.1.10). */
      readonly sources: readonly Ipv6Address[];
    }
  | {
      /** An MLDv1 report (131) or done (132) (RFC 2710 §3). */
      readonly kind: 'mldv1Report' | 'mldv1Done';
      /** Maximum Response Delay, 0 in these messages. */
      readonly maximumResponseDelay: number;
      /** The reserved 16 bits. */
      readonly reserved: number;
      /** The group reported or left. */
      readonly multicastAddress: Ipv6Address;
    }
  | {
      /** An MLDv2 report (143, RFC 3810 §5.2). */
      readonly kind: 'mldv2Report';
      /** The reserved 16 bits before the record count (§5.2.2). */
      readonly reserved: number;
      /** The Multicast Address Records. */
      readonly records: readonly MldAddressRecord[];
    };

/** The Maximum Response Delay in ms a Maximum Response Code stands for (RFC 3810 §5.1.3). */
export function mldMaximumResponseDelay(code: number): number {
  if (code < 0x8000) return code;
  return ((code & 0x0fff) | 0x1000) << (((code >> 12) & 0x07) + 3);
}

/** The Querier's Query Interval in seconds a QQIC stands for (RFC 3810 §5.1.9). */
export function mldQueryInterval(code: number): number {
  if (code < 0x80) return code;
  return ((code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3);
}

/**
 * Reads the body of MLD message `type`. Refuses a body shorter than its fixed part or than its
 * source and record counts say ('truncated'), a query of a length neither version has
 * ('badTotalLength', RFC 3810 §8.1), and bytes left after an MLDv2 report's last record
 * ('badTotalLength').
 */
export function parseMldBody(type: number, body: Uint8Array): Result<MldRepr, DecodeError> {
  switch (type) {
    case MldType.QUERY: {
      if (body.length < 20) return decodeFail('mld', 'truncated', `a query of ${4 + body.length} bytes; MLDv1's has 24 (RFC 2710 §3)`);
      const common = { maximumResponseCode: readUint16(body, 0), reserved: readUint16(body, 2), multicastAddress: readIpv6Address(body, 4) };
      if (body.length === 20) {
        return ok({
          kind: 'mldQuery',
          version: 1,
          ...common,
          flagsReserved: 0,
          suppressRouterProcessing: false,
          robustness: 0,
          queryIntervalCode: 0,
          sources: [],
        });
      }
      if (body.length < 24)
        return decodeFail('mld', 'badTotalLength', `a query of ${4 + body.length} bytes is neither MLDv1 (24) nor MLDv2 (28 or more) (RFC 3810 §8.1)`);
      const count = readUint16(body, 22);
      if (body.length < 24 + 16 * count)
        return decodeFail('mld', 'truncated', `a query with ${count} sources has room for ${Math.floor((body.length - 24) / 16)}`);
      const sources: Ipv6Address[] = [];
      for (let i = 0; i < count; i++) sources.push(readIpv6Address(body, 24 + 16 * i));
      // Bytes after the sources are ignored (§5.1.12) and, here, dropped: a query is answered, not forwarded.
      return ok({
        kind: 'mldQuery',
        version: 2,
        ...common,
        flagsReserved: body[20] >> 4,
        suppressRouterProcessing: (body[20] & 0x08) !== 0,
        robustness: body[20] & 0x07,
        queryIntervalCode: body[21],
        sources,
      });
    }
    case MldType.MLDV1_REPORT:
    case MldType.MLDV1_DONE:
      if (body.length < 20) return decodeFail('mld', 'truncated', `an MLDv1 message of ${4 + body.length} bytes; it has 24 (RFC 2710 §3)`);
      return ok({
        kind: type === MldType.MLDV1_REPORT ? 'mldv1Report' : 'mldv1Done',
        maximumResponseDelay: readUint16(body, 0),
        reserved: readUint16(body, 2),
        multicastAddress: readIpv6Address(body, 4),
      });
    case MldType.MLDV2_REPORT: {
      if (body.length < 4) return decodeFail('mld', 'truncated', `an MLDv2 report of ${4 + body.length} bytes`);
      const count = readUint16(body, 2);
      const records: MldAddressRecord[] = [];
      let offset = 4;
      for (let n = 0; n < count; n++) {
        if (body.length < offset + 20) return decodeFail('mld', 'truncated', `record ${n + 1} of ${count} starts past the report's end`);
        const sourceCount = readUint16(body, offset + 2);
        const auxiliaryLength = body[offset + 1] * 4;
        const end = offset + 20 + 16 * sourceCount + auxiliaryLength;
        if (body.length < end) return decodeFail('mld', 'truncated', `record ${n + 1} with ${sourceCount} sources runs past the report's end`);
        const sources: Ipv6Address[] = [];
        for (let i = 0; i < sourceCount; i++) sources.push(readIpv6Address(body, offset + 20 + 16 * i));
        records.push({
          recordType: body[offset],
          multicastAddress: readIpv6Address(body, offset + 4),
          sources,
          auxiliaryData: body.subarray(end - auxiliaryLength, end),
        });
        offset = end;
      }
      if (offset !== body.length) return decodeFail('mld', 'badTotalLength', `${body.length - offset} bytes after the last record`);
      return ok({ kind: 'mldv2Report', reserved: readUint16(body, 0), records });
    }
  }
  return decodeFail('mld', 'unsupported', `ICMPv6 type ${type} is not an MLD message`);
}

/** The ICMPv6 type of an MLD message. */
export function mldType(repr: MldRepr): number {
  switch (repr.kind) {
    case 'mldQuery':
      return MldType.QUERY;
    case 'mldv1Report':
      return MldType.MLDV1_REPORT;
    case 'mldv1Done':
      return MldType.MLDV1_DONE;
    case 'mldv2Report':
      return MldType.MLDV2_REPORT;
  }
}

/** Bytes `emitMldBody` writes. */
export function mldBodyLength(repr: MldRepr): number {
  switch (repr.kind) {
    case 'mldQuery':
      return repr.version === 1 ? 20 : 24 + 16 * repr.sources.length;
    case 'mldv1Report':
    case 'mldv1Done':
      return 20;
    case 'mldv2Report': {
      let length = 4;
      for (const record of repr.records) length += 20 + 16 * record.sources.length + record.auxiliaryData.length;
      return length;
    }
  }
}

/** Writes the body of `repr` into `out`; returns its length. */
export function emitMldBody(repr: MldRepr, out: Uint8Array): number {
  switch (repr.kind) {
    case 'mldQuery':
      writeUint16(out, 0, repr.maximumResponseCode);
      writeUint16(out, 2, repr.reserved);
      writeIpv6Address(out, 4, repr.multicastAddress);
      if (repr.version === 1) return 20;
      out[20] = ((repr.flagsReserved & 0x0f) << 4) | (repr.suppressRouterProcessing ? 0x08 : 0) | (repr.robustness & 0x07);
      out[21] = repr.queryIntervalCode;
      writeUint16(out, 22, repr.sources.length);
      repr.sources.forEach((source, i) => writeIpv6Address(out, 24 + 16 * i, source));
      return 24 + 16 * repr.sources.length;
    case 'mldv1Report':
    case 'mldv1Done':
      writeUint16(out, 0, repr.maximumResponseDelay);
      writeUint16(out, 2, repr.reserved);
      writeIpv6Address(out, 4, repr.multicastAddress);
      return 20;
    case 'mldv2Report': {
      writeUint16(out, 0, repr.reserved);
      writeUint16(out, 2, repr.records.length);
      let offset = 4;
      for (const record of repr.records) {
        out[offset] = record.recordType;
        out[offset + 1] = record.auxiliaryData.length / 4;
        writeUint16(out, offset + 2, record.sources.length);
        writeIpv6Address(out, offset + 4, record.multicastAddress);
        offset += 20;
        for (const source of record.sources) {
          writeIpv6Address(out, offset, source);
          offset += 16;
        }
        out.set(record.auxiliaryData, offset);
        offset += record.auxiliaryData.length;
      }
      return offset;
    }
  }
}

/**
 * The checks of RFC 3810 that need the IP header: a query from a source that is not link-local
 * is dropped (§6.2), a report from one that is neither link-local nor :: too (§7.4; :: is
 * allowed while the node has no link-local address yet, §5.2.13). Refusals are 'badField'.
 */
export function checkMldIpHeader(repr: MldRepr, source: Ipv6Address): Result<MldRepr, DecodeError> {
  if (isLinkLocalUnicast(source)) return ok(repr);
  if (repr.kind !== 'mldQuery' && isUnspecifiedAddress(source)) return ok(repr);
  return decodeFail('mld', 'badField', `an MLD ${repr.kind === 'mldQuery' ? 'query' : 'report'} from a source that is not link-local (RFC 3810 §6.2, §7.4)`);
}
