/**
 * IPv6 extension headers (RFC 8200 §4): the chain between the fixed header and the upper layer.
 *
 *   Hop-by-Hop Options (§4.3) and Destination Options (§4.6):
 *    +---------------+---------------+-------------------------------+
 *    |  Next Header  |  Hdr Ext Len  |                               |
 *    +---------------+---------------+                               +
 *    |            Options (TLVs, §4.2), padded to 8n + 6 bytes       |
 *    +---------------------------------------------------------------+
 *   Routing (§4.4):
 *    +---------------+---------------+---------------+---------------+
 *    |  Next Header  |  Hdr Ext Len  | Routing Type  | Segments Left |
 *    +---------------+---------------+---------------+---------------+
 *    |                       type-specific data                      |
 *    +---------------------------------------------------------------+
 *   Fragment (§4.5):
 *    +---------------+---------------+-------------------------+-+-+-+
 *    |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 *    +---------------+---------------+-------------------------+-+-+-+
 *    |                         Identification                        |
 *    +---------------------------------------------------------------+
 *
 * Hdr Ext Len counts 8-byte units after the first 8. `parseIpv6ExtensionHeaders` reads the
 * chain and applies the receiving rules of RFC 8200 (and RFC 5095, RFC 7112, RFC 4942) that
 * need nothing but the packet: a refusal names the DecodeReason it is counted under and, when
 * the RFC asks for one, the ICMPv6 Parameter Problem to send (RFC 4443 §3.4) with the octet
 * offset of the culprit from the start of the IPv6 header. What only the layer knows (whether
 * an upper-layer protocol is served, whether the destination was multicast) is left to it.
 */
import { readUint16, readUint32, writeUint16, writeUint32 } from '../core/bytes.js';
import type { DecodeError, DecodeReason } from '../core/decode-error.js';
import { fail, ok, type Result } from '../core/result.js';
import { IPV6_HEADER_LENGTH, Ipv6NextHeader } from './ipv6.js';

/** Option types of Hop-by-Hop and Destination Options headers (IANA "Destination Options and Hop-by-Hop Options"). */
export const Ipv6OptionType = {
  /** Pad1 (RFC 8200 §4.2): one byte of padding, no length or data. */
  PAD1: 0x00,
  /** PadN (RFC 8200 §4.2): two or more bytes of padding; its data is zeros. */
  PADN: 0x01,
  /** Router Alert (RFC 2711): routers look inside (MLD, RSVP); hop-by-hop only. */
  ROUTER_ALERT: 0x05,
  /** Jumbo Payload (RFC 2675); jumbograms are not supported here, so it is an unrecognized option. */
  JUMBO_PAYLOAD: 0xc2,
} as const;

/** Router Alert values (RFC 2711 §2.1). */
export const RouterAlertValue = {
  /** The datagram contains a Multicast Listener Discovery message (RFC 2710, RFC 3810 §5). */
  MLD: 0,
  /** RSVP (RFC 2711). */
  RSVP: 1,
  /** Active Networks message (RFC 2711). */
  ACTIVE_NETWORKS: 2,
} as const;

/** One option of a Hop-by-Hop or Destination Options header, as on the wire. */
export interface Ipv6Option {
  /** Option Type (`Ipv6OptionType`); its two high bits say what to do when it is unknown (§4.2). */
  readonly type: number;
  /** Option Data; empty for Pad1 (which has no length byte either). */
  readonly data: Uint8Array;
}

/** What RFC 8200 §4.2 says to do with an option whose type a node does not recognize: the type's two high bits. */
export type UnrecognizedOptionAction =
  /** 00: skip over it and go on with the header. */
  | 'skip'
  /** 01: discard the packet. */
  | 'discard'
  /** 10: discard it and send a Parameter Problem, code 2, pointing at the option type, whatever the destination. */
  | 'discardAndReport'
  /** 11: discard it and send a Parameter Problem, code 2, only when the destination was not multicast. */
  | 'discardAndReportUnlessMulticast';

/** The action an option type's two high bits name (RFC 8200 §4.2). */
export function unrecognizedOptionAction(type: number): UnrecognizedOptionAction {
  return (['skip', 'discard', 'discardAndReport', 'discardAndReportUnlessMulticast'] as const)[type >> 6];
}

/** True when an option's data may change en route (RFC 8200 §4.2, the third-highest bit): the AH computation zeroes it. */
export function optionDataMayChange(type: number): boolean {
  return (type & 0x20) !== 0;
}

/** One extension header of the chain as plain data. Each header's Next Header field is the next element's (or the upper layer's) number. */
export type Ipv6ExtensionHeader =
  | {
      /** Hop-by-Hop Options (RFC 8200 §4.3) or Destination Options (§4.6). */
      readonly kind: 'hopByHop' | 'destinationOptions';
      /** The options in order, padding included, so emit rewrites the same bytes. */
      readonly options: readonly Ipv6Option[];
    }
  | {
      /** A Routing header (RFC 8200 §4.4). */
      readonly kind: 'routing';
      /** Routing Type: 0 is deprecated (RFC 5095), 2 Mobile IPv6 (RFC 6275), 4 Segment Routing (RFC 8754). */
      readonly routingType: number;
      /** Segments Left: route segments still to visit. */
      readonly segmentsLeft: number;
      /** The type-specific data after the first four bytes (a multiple of 8 plus 4 bytes long). */
      readonly data: Uint8Array;
    }
  | {
      /** A Fragment header (RFC 8200 §4.5). */
      readonly kind: 'fragment';
      /** The reserved octet after Next Header, zero on the wire, kept so parse→emit is exact. */
      readonly reserved: number;
      /** Fragment Offset in bytes (the field counts 8-byte units). */
      readonly fragmentOffset: number;
      /** The two reserved bits beside M, zero on the wire, kept likewise. */
      readonly reservedBits: number;
      /** M flag: more fragments follow. */
      readonly moreFragments: boolean;
      /** Identification: the same in every fragment of one packet. */
      readonly identification: number;
    };

/** An extension header where it was found. */
export interface Ipv6ChainEntry {
  /** The header. */
  readonly header: Ipv6ExtensionHeader;
  /** Its offset from the start of the IPv6 header (what a Parameter Problem's pointer counts from). */
  readonly offset: number;
  /** Its length in bytes. */
  readonly length: number;
}

/** The extension headers of a packet and what follows them. */
export interface Ipv6HeaderChain {
  /** The extension headers in order (empty when the fixed header names the upper layer). */
  readonly entries: readonly Ipv6ChainEntry[];
  /** The Next Header value after the last extension header: the upper-layer protocol (or 59, nothing). */
  readonly upperLayer: number;
  /** Where the upper-layer header starts, from the start of the IPv6 header. */
  readonly upperLayerOffset: number;
  /** Offset (from the start of the IPv6 header) of the Next Header field that names `upperLayer`. */
  readonly upperLayerPointer: number;
  /** The fragment header, when there is one. */
  readonly fragment?: Extract<Ipv6ExtensionHeader, { kind: 'fragment' }>;
}

/** The chain of a packet whose fixed header names `upperLayer` itself: no extension header. */
function directChain(upperLayer: number): Ipv6HeaderChain {
  return { entries: Object.freeze([]), upperLayer, upperLayerOffset: IPV6_HEADER_LENGTH, upperLayerPointer: 6 };
}

/** parseIpv6ExtensionHeaders's answers for packets without extension headers, by upper layer (shared: chains are never changed). */
const DIRECT_CHAINS: Array<Result<Ipv6HeaderChain, Ipv6ChainError> | undefined> = new Array(256).fill(undefined);

/** ICMPv6 Parameter Problem codes (RFC 4443 §3.4, RFC 7112 §7). */
export const ParameterProblemCode = {
  /** Erroneous header field encountered. */
  ERRONEOUS_HEADER_FIELD: 0,
  /** Unrecognized Next Header type encountered. */
  UNRECOGNIZED_NEXT_HEADER: 1,
  /** Unrecognized IPv6 option encountered. */
  UNRECOGNIZED_OPTION: 2,
  /** IPv6 first fragment has incomplete IPv6 header chain (RFC 7112 §7). */
  INCOMPLETE_HEADER_CHAIN: 3,
} as const;

/** The Parameter Problem a refused packet earns (RFC 4443 §3.4). */
export interface ParameterProblem {
  /** `ParameterProblemCode`. */
  readonly code: number;
  /** Octet offset of the culprit from the start of the IPv6 header. */
  readonly pointer: number;
  /** True for an option whose high bits are 11 (RFC 8200 §4.2): send nothing when the destination was multicast. */
  readonly unlessMulticast: boolean;
}

/** Why an extension-header chain was refused, and the ICMPv6 error owed for it, if any. */
export interface Ipv6ChainError extends DecodeError {
  /** The Parameter Problem to send; absent when the packet is dropped silently. */
  readonly parameterProblem?: ParameterProblem;
}

function refuse(reason: DecodeReason, message: string, parameterProblem?: ParameterProblem): Result<never, Ipv6ChainError> {
  return fail(parameterProblem === undefined ? { layer: 'ipv6', reason, message } : { layer: 'ipv6', reason, message, parameterProblem });
}

/** True for the Next Header values this codec reads as extension headers. */
export function isIpv6ExtensionHeader(nextHeader: number): boolean {
  return (
    nextHeader === Ipv6NextHeader.HOP_BY_HOP ||
    nextHeader === Ipv6NextHeader.ROUTING ||
    nextHeader === Ipv6NextHeader.FRAGMENT ||
    nextHeader === Ipv6NextHeader.DESTINATION_OPTIONS
  );
}

/** The shortest upper-layer headers a first fragment must hold whole (RFC 7112 §5). */
const UPPER_LAYER_HEADER_LENGTH: Readonly<Record<number, number>> = {
  [Ipv6NextHeader.TCP]: 20,
  [Ipv6NextHeader.UDP]: 8,
  [Ipv6NextHeader.ICMPV6]: 4,
};

/**
 * Reads the chain starting at `payload` (the bytes after the fixed header, Payload Length long)
 * whose first header is `nextHeader` (the fixed header's). Refuses, naming the reason:
 * - a header that runs past the payload ('truncated'; in a first fragment RFC 7112 §5's
 *   Parameter Problem code 3);
 * - a Hop-by-Hop header anywhere but first (RFC 8200 §4.1: code 1 at the Next Header naming it);
 * - an option whose length runs past its header, more than 7 bytes of padding in a row or a
 *   PadN with non-zero data (RFC 4942 §2.1.9.5, as Linux) ('badOption', silently);
 * - an unrecognized option whose high bits say so (RFC 8200 §4.2: 'unsupported', code 2 at the
 *   option for 10 and 11), Router Alert only in a Hop-by-Hop header (RFC 2711);
 * - a Routing header with Segments Left ≠ 0 (RFC 8200 §4.4: this node recognizes no routing
 *   type, and type 0 is to be treated as unrecognized, RFC 5095 §3; code 0 at Routing Type);
 *   with Segments Left 0 it is skipped;
 * - a fragment whose length is not a multiple of 8 while M is set (RFC 8200 §4.5: code 0 at
 *   Payload Length), or that would make the reassembled payload longer than 65535 bytes (code 0
 *   at Fragment Offset);
 * - a first fragment without the whole upper-layer header (RFC 7112 §5: code 3, pointer 0).
 */
export function parseIpv6ExtensionHeaders(payload: Uint8Array, nextHeader: number): Result<Ipv6HeaderChain, Ipv6ChainError> {
  // Nearly every packet has no extension header: its chain is the same for each upper layer.
  if (!isIpv6ExtensionHeader(nextHeader)) return (DIRECT_CHAINS[nextHeader & 0xff] ??= Object.freeze(ok(Object.freeze(directChain(nextHeader & 0xff)))));
  const entries: Ipv6ChainEntry[] = [];
  let fragment: Extract<Ipv6ExtensionHeader, { kind: 'fragment' }> | undefined;
  let offset = 0;
  let pointer = 6; // the fixed header's Next Header field
  let protocol = nextHeader;
  const incomplete = (what: string): Result<never, Ipv6ChainError> =>
    fragment !== undefined && fragment.fragmentOffset === 0
      ? refuse('truncated', `${what}: the first fragment does not hold the whole header chain (RFC 7112 §5)`, {
          code: ParameterProblemCode.INCOMPLETE_HEADER_CHAIN,
          pointer: 0,
          unlessMulticast: false,
        })
      : refuse('truncated', what);
  while (isIpv6ExtensionHeader(protocol)) {
    const at = IPV6_HEADER_LENGTH + offset;
    if (protocol === Ipv6NextHeader.HOP_BY_HOP && entries.length > 0) {
      return refuse('badField', `a Hop-by-Hop Options header at offset ${at}, not directly after the IPv6 header (RFC 8200 §4.1)`, {
        code: ParameterProblemCode.UNRECOGNIZED_NEXT_HEADER,
        pointer,
        unlessMulticast: false,
      });
    }
    if (payload.length < offset + 8) return incomplete(`the extension header at offset ${at} needs 8 bytes, ${payload.length - offset} are left`);
    const length = protocol === Ipv6NextHeader.FRAGMENT ? 8 : (payload[offset + 1] + 1) * 8;
    if (payload.length < offset + length) return incomplete(`the extension header at offset ${at} is ${length} bytes, ${payload.length - offset} are left`);
    const bytes = payload.subarray(offset, offset + length);
    let header: Ipv6ExtensionHeader;
    if (protocol === Ipv6NextHeader.HOP_BY_HOP || protocol === Ipv6NextHeader.DESTINATION_OPTIONS) {
      const kind = protocol === Ipv6NextHeader.HOP_BY_HOP ? 'hopByHop' : 'destinationOptions';
      const options = parseOptions(bytes.subarray(2), at + 2, kind);
      if (!options.ok) return options;
      header = { kind, options: options.value };
    } else if (protocol === Ipv6NextHeader.ROUTING) {
      header = { kind: 'routing', routingType: bytes[2], segmentsLeft: bytes[3], data: bytes.subarray(4) };
      if (header.segmentsLeft !== 0) {
        const deprecated = header.routingType === 0 ? ' (type 0 is deprecated, RFC 5095 §3)' : '';
        return refuse('unsupported', `routing type ${header.routingType} with ${header.segmentsLeft} segments left${deprecated} (RFC 8200 §4.4)`, {
          code: ParameterProblemCode.ERRONEOUS_HEADER_FIELD,
          pointer: at + 2,
          unlessMulticast: false,
        });
      }
    } else {
      const word = readUint16(bytes, 2);
      header = {
        kind: 'fragment',
        reserved: bytes[1],
        fragmentOffset: word & 0xfff8,
        reservedBits: (word >> 1) & 0x03,
        moreFragments: (word & 1) !== 0,
        identification: readUint32(bytes, 4),
      };
      const fragmentLength = payload.length - offset - 8;
      if (header.moreFragments && fragmentLength % 8 !== 0) {
        return refuse('badField', `a fragment of ${fragmentLength} bytes with M set is not a multiple of 8 (RFC 8200 §4.5)`, {
          code: ParameterProblemCode.ERRONEOUS_HEADER_FIELD,
          pointer: 4,
          unlessMulticast: false,
        });
      }
      // RFC 8200 §4.5: the reassembled packet's Payload Length — the unfragmentable headers
      // before this one, the offset and this fragment's data — may not exceed 65535. (Linux
      // counts only the offset and the data, so it takes up to `offset` bytes more.)
      const reassembledLength = offset + header.fragmentOffset + fragmentLength;
      if (reassembledLength > 65535) {
        return refuse('badField', `the reassembled payload would be ${reassembledLength} bytes, past 65535 (RFC 8200 §4.5)`, {
          code: ParameterProblemCode.ERRONEOUS_HEADER_FIELD,
          pointer: at + 2,
          unlessMulticast: false,
        });
      }
      fragment = header;
    }
    entries.push({ header, offset: at, length });
    pointer = at;
    protocol = bytes[0];
    offset += length;
    // A fragment other than the first carries a piece of the fragmentable part from its
    // offset on (RFC 8200 §4.5): what follows its Fragment header is data, not headers, even
    // when the Next Header it names is an extension header; the chain ends here.
    if (header.kind === 'fragment' && header.fragmentOffset !== 0) break;
  }
  if (fragment !== undefined && fragment.fragmentOffset === 0 && fragment.moreFragments) {
    const needed = UPPER_LAYER_HEADER_LENGTH[protocol] ?? 0;
    if (payload.length - offset < needed) return incomplete(`the first fragment holds ${payload.length - offset} of the ${needed}-byte upper-layer header`);
  }
  const chain = { entries, upperLayer: protocol, upperLayerOffset: IPV6_HEADER_LENGTH + offset, upperLayerPointer: pointer };
  return ok(fragment === undefined ? chain : { ...chain, fragment });
}

/** Reads the options of one header (`area` starts after Next Header and Hdr Ext Len, `at` its offset from the IPv6 header). */
function parseOptions(area: Uint8Array, at: number, kind: 'hopByHop' | 'destinationOptions'): Result<Ipv6Option[], Ipv6ChainError> {
  const options: Ipv6Option[] = [];
  let padding = 0;
  for (let i = 0; i < area.length;) {
    const type = area[i];
    if (type === Ipv6OptionType.PAD1) {
      options.push({ type, data: area.subarray(i + 1, i + 1) });
      i++;
      if (++padding > 7) return refuse('badOption', `more than 7 bytes of padding in a row at offset ${at + i} (RFC 4942 §2.1.9.5)`);
      continue;
    }
    if (i + 2 > area.length || i + 2 + area[i + 1] > area.length) {
      return refuse('badOption', `option ${type} at offset ${at + i} runs past its header`);
    }
    const data = area.subarray(i + 2, i + 2 + area[i + 1]);
    if (type === Ipv6OptionType.PADN) {
      padding += data.length + 2;
      if (padding > 7) return refuse('badOption', `more than 7 bytes of padding in a row at offset ${at + i} (RFC 4942 §2.1.9.5)`);
      if (data.some((byte) => byte !== 0)) return refuse('badOption', `PadN at offset ${at + i} carries non-zero data (RFC 4942 §2.1.9.5)`);
    } else {
      padding = 0;
      const recognized = type === Ipv6OptionType.ROUTER_ALERT && kind === 'hopByHop' && data.length === 2;
      if (!recognized) {
        const action = unrecognizedOptionAction(type);
        if (action !== 'skip') {
          const message = `unrecognized option 0x${type.toString(16).padStart(2, '0')} at offset ${at + i} (RFC 8200 §4.2: ${action})`;
          if (action === 'discard') return refuse('unsupported', message);
          return refuse('unsupported', message, {
            code: ParameterProblemCode.UNRECOGNIZED_OPTION,
            pointer: at + i,
            unlessMulticast: action === 'discardAndReportUnlessMulticast',
          });
        }
      }
    }
    options.push({ type, data });
    i += 2 + data.length;
  }
  return ok(options);
}

/** Bytes an option takes on the wire. */
function optionLength(option: Ipv6Option): number {
  return option.type === Ipv6OptionType.PAD1 ? 1 : 2 + option.data.length;
}

/** Bytes `emitIpv6ExtensionHeader` writes for `header`: options padded to a multiple of 8. */
export function ipv6ExtensionHeaderLength(header: Ipv6ExtensionHeader): number {
  switch (header.kind) {
    case 'hopByHop':
    case 'destinationOptions': {
      let length = 2;
      for (const option of header.options) length += optionLength(option);
      return (length + 7) & ~7;
    }
    case 'routing':
      return (4 + header.data.length + 7) & ~7;
    case 'fragment':
      return 8;
  }
}

/** Bytes the whole chain takes. */
export function ipv6ExtensionHeadersLength(headers: readonly Ipv6ExtensionHeader[]): number {
  let length = 0;
  for (const header of headers) length += ipv6ExtensionHeaderLength(header);
  return length;
}

/** The Next Header number of an extension header's kind. */
export function extensionHeaderNumber(header: Ipv6ExtensionHeader): number {
  switch (header.kind) {
    case 'hopByHop':
      return Ipv6NextHeader.HOP_BY_HOP;
    case 'destinationOptions':
      return Ipv6NextHeader.DESTINATION_OPTIONS;
    case 'routing':
      return Ipv6NextHeader.ROUTING;
    case 'fragment':
      return Ipv6NextHeader.FRAGMENT;
  }
}

/**
 * Writes one header at the start of `out` with `nextHeader` in its Next Header field. Options
 * that do not fill the header to a multiple of 8 bytes are followed by Pad1 or PadN (RFC 8200
 * §4.2), as are routing data likewise short. Returns the length written.
 */
export function emitIpv6ExtensionHeader(header: Ipv6ExtensionHeader, nextHeader: number, out: Uint8Array): number {
  const length = ipv6ExtensionHeaderLength(header);
  out[0] = nextHeader;
  switch (header.kind) {
    case 'hopByHop':
    case 'destinationOptions': {
      out[1] = length / 8 - 1;
      let i = 2;
      for (const option of header.options) {
        out[i++] = option.type;
        if (option.type === Ipv6OptionType.PAD1) continue;
        out[i++] = option.data.length;
        out.set(option.data, i);
        i += option.data.length;
      }
      const pad = length - i;
      if (pad === 1) out[i] = Ipv6OptionType.PAD1;
      else if (pad > 1) {
        out[i] = Ipv6OptionType.PADN;
        out[i + 1] = pad - 2;
        out.fill(0, i + 2, length);
      }
      return length;
    }
    case 'routing':
      out[1] = length / 8 - 1;
      out[2] = header.routingType;
      out[3] = header.segmentsLeft;
      out.set(header.data, 4);
      out.fill(0, 4 + header.data.length, length);
      return length;
    case 'fragment':
      out[1] = header.reserved;
      writeUint16(out, 2, (header.fragmentOffset & 0xfff8) | ((header.reservedBits & 0x03) << 1) | (header.moreFragments ? 1 : 0));
      writeUint32(out, 4, header.identification >>> 0);
      return 8;
  }
}

/**
 * Writes the chain at the start of `out`, each header's Next Header naming the one after it and
 * the last naming `upperLayer`. Returns the bytes written. The fixed header's Next Header is
 * `firstNextHeader(headers, upperLayer)`.
 */
export function emitIpv6ExtensionHeaders(headers: readonly Ipv6ExtensionHeader[], upperLayer: number, out: Uint8Array): number {
  let offset = 0;
  headers.forEach((header, i) => {
    const next = i + 1 < headers.length ? extensionHeaderNumber(headers[i + 1]) : upperLayer;
    offset += emitIpv6ExtensionHeader(header, next, out.subarray(offset));
  });
  return offset;
}

/** The fixed header's Next Header for a chain: its first header's number, or the upper layer when it is empty. */
export function firstNextHeader(headers: readonly Ipv6ExtensionHeader[], upperLayer: number): number {
  return headers.length > 0 ? extensionHeaderNumber(headers[0]) : upperLayer;
}

/** A Hop-by-Hop header with a Router Alert (RFC 2711) and the PadN that fills it to 8 bytes, as MLD messages carry (RFC 3810 §5). */
export function routerAlertHeader(value: number): Ipv6ExtensionHeader {
  return {
    kind: 'hopByHop',
    options: [
      { type: Ipv6OptionType.ROUTER_ALERT, data: Uint8Array.of(value >> 8, value & 0xff) },
      { type: Ipv6OptionType.PADN, data: new Uint8Array(0) },
    ],
  };
}
