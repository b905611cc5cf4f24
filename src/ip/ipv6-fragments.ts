/**
 * IPv6 fragmentation at the source and reassembly at the destination (RFC 8200 §4.5).
 *
 * A packet is its unfragmentable part (the IPv6 header and the extension headers routers must
 * see: Hop-by-Hop, Routing) and its fragmentable part (everything after them). Each fragment is
 * the unfragmentable part, a Fragment header, and a piece of the fragmentable part, every piece
 * but the last a multiple of 8 bytes. Only the source fragments; routers never do.
 *
 * Reassembly is bounded as IPv4's is (fragments.ts), and from the same budget
 * (`ReassemblyMemory`): a timeout per packet (60 s, RFC 8200 §4.5), the host's memory cap, and a
 * cap on fragments per packet. A fragment that overlaps one already held discards the whole
 * packet (RFC 5722 §4, RFC 8200 §4.5); an exact duplicate — same offset, same length — is
 * dropped alone, as RFC 8200 §4.5 allows ("may choose to detect this case and drop exact
 * duplicate fragments while keeping the other fragments"). Linux drops any fragment lying
 * wholly inside one held as a duplicate; for IPv6 the RFC names only exact duplicates, so a
 * smaller fragment inside a bigger one counts here as an overlap.
 */
import { writeUint16 } from '../core/bytes.js';
import { emitIpv6ExtensionHeader } from './ipv6-extension-headers.js';
import { IPV6_HEADER_LENGTH, IPV6_MAX_PAYLOAD_LENGTH, Ipv6NextHeader } from './ipv6.js';
import { ReassemblyMemory, type ReassemblyConfig } from './fragments.js';

/** RFC 8200 §4.5: reassembly is abandoned 60 seconds after the first-arriving fragment. */
export const IPV6_REASSEMBLY_TIMEOUT_MS = 60_000;
/** The Fragment header's length. */
export const FRAGMENT_HEADER_LENGTH = 8;

/** Bytes charged per fragment on top of its data (as fragments.ts), so tiny fragments are not free. */
const FRAGMENT_OVERHEAD = 64;
/** Bytes of the first fragment kept for a Time Exceeded: all an ICMPv6 error may quote (RFC 4443 §2.4(c)). */
const QUOTE_LIMIT = 1232;

/**
 * Cuts a packet into fragments no larger than `mtu` (RFC 8200 §4.5). `unfragmentable` is the
 * IPv6 header and the extension headers that every fragment repeats; `nextHeaderField` is the
 * offset in it of the Next Header field that names what follows it (6 when it is the fixed
 * header alone); `fragmentable` is the rest. Every piece but the last is the largest multiple of
 * 8 that fits. Returns the fragments, each a whole IPv6 packet.
 */
export function fragmentIpv6Packet(
  unfragmentable: Uint8Array,
  nextHeaderField: number,
  fragmentable: Uint8Array,
  mtu: number,
  identification: number,
): Uint8Array[] {
  const prefixLength = unfragmentable.length + FRAGMENT_HEADER_LENGTH;
  const room = Math.floor((mtu - prefixLength) / 8) * 8;
  if (room < 8) throw new RangeError(`MTU ${mtu} leaves no room for fragment data after ${prefixLength} bytes of headers`);
  const nextHeader = unfragmentable[nextHeaderField];
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset < fragmentable.length; offset += room) {
    const length = Math.min(room, fragmentable.length - offset);
    const frame = new Uint8Array(prefixLength + length);
    frame.set(unfragmentable);
    frame[nextHeaderField] = Ipv6NextHeader.FRAGMENT;
    writeUint16(frame, 4, frame.length - IPV6_HEADER_LENGTH);
    emitIpv6ExtensionHeader(
      { kind: 'fragment', reserved: 0, fragmentOffset: offset, reservedBits: 0, moreFragments: offset + length < fragmentable.length, identification },
      nextHeader,
      frame.subarray(unfragmentable.length),
    );
    frame.set(fragmentable.subarray(offset, offset + length), prefixLength);
    frames.push(frame);
  }
  return frames;
}

/** One fragment as the IPv6 layer hands it over. */
export interface Ipv6Fragment {
  /** Source, Destination and Identification as one key (RFC 8200 §4.5: they name the original packet). */
  readonly key: string;
  /** The whole fragment packet as received (the first fragment's start is kept to quote). */
  readonly packet: Uint8Array;
  /** Where the Fragment header starts: the unfragmentable part is the bytes before it. */
  readonly fragmentHeaderOffset: number;
  /** Offset of the Next Header field that names the Fragment header (6, or an extension header's first byte). */
  readonly nextHeaderField: number;
  /** The Fragment header's Next Header: the first header of the fragmentable part. */
  readonly nextHeader: number;
  /** Fragment Offset, in bytes. */
  readonly offset: number;
  /** The M flag. */
  readonly moreFragments: boolean;
}

/** Why a fragment was not kept; each is counted as `drop.ipv6.<reason>`. */
export type Ipv6ReassemblyDrop =
  'fragmentOverlap' | 'fragmentDuplicate' | 'fragmentTooLong' | 'fragmentInconsistent' | 'reassemblyMemoryFull' | 'tooManyFragments';

/** What happened to one fragment. */
export type Ipv6ReassemblyResult =
  /** `packet`: the reassembled packet, Fragment header gone (RFC 8200 §4.5); `firstFragment`: the start of the first fragment, to quote. */
  | { readonly kind: 'complete'; readonly packet: Uint8Array; readonly firstFragment: Uint8Array }
  | { readonly kind: 'pending' }
  | { readonly kind: 'dropped'; readonly reason: Ipv6ReassemblyDrop };

interface Piece {
  readonly offset: number;
  readonly data: Uint8Array;
}

interface PartialPacket {
  readonly key: string;
  readonly deadline: number;
  /** Sorted by offset, never overlapping. */
  readonly pieces: Piece[];
  /** From the first fragment (offset 0): its unfragmentable part, with the Next Header field already naming the fragmentable part. */
  unfragmentable: Uint8Array | null;
  /** The first fragment's start, for a Time Exceeded (RFC 8200 §4.5). */
  firstFragment: Uint8Array | null;
  /** Length of the fragmentable part, known once the last fragment (M clear) arrived. */
  totalLength: number | null;
  charged: number;
}

/** A packet whose time ran out; `firstFragment` is set when its first fragment had arrived. */
export interface ExpiredIpv6Packet {
  readonly firstFragment: Uint8Array | null;
}

/** Collects IPv6 fragments into packets. Time comes in as an argument. */
export class Ipv6Reassembler {
  private readonly partials = new Map<string, PartialPacket>();
  private memoryInUse = 0;

  constructor(
    private readonly config: ReassemblyConfig,
    /** The host's reassembly budget, shared with IPv4's (fragments.ts). */
    readonly budget: ReassemblyMemory,
  ) {}

  /** Bytes held by this reassembler's packets. */
  get memory(): number {
    return this.memoryInUse;
  }

  /** Packets being reassembled. */
  get pending(): number {
    return this.partials.size;
  }

  /** Adds one fragment; returns the packet when this fragment completed it. */
  insert(fragment: Ipv6Fragment, now: number): Ipv6ReassemblyResult {
    const data = fragment.packet.subarray(fragment.fragmentHeaderOffset + FRAGMENT_HEADER_LENGTH);
    const start = fragment.offset;
    const end = start + data.length;
    const isLast = !fragment.moreFragments;
    let partial = this.partials.get(fragment.key);
    // A piece with no data has nothing to reassemble (the codec has already refused a non-last
    // piece whose length is not a multiple of 8, RFC 8200 §4.5).
    if (data.length === 0) return { kind: 'dropped', reason: 'fragmentInconsistent' };
    const cost = data.length + FRAGMENT_OVERHEAD + (start === 0 ? Math.min(fragment.packet.length, QUOTE_LIMIT) + fragment.fragmentHeaderOffset : 0);
    if (!this.budget.fits(cost)) return { kind: 'dropped', reason: 'reassemblyMemoryFull' };
    if (!partial) {
      partial = {
        key: fragment.key,
        deadline: now + this.config.timeoutMs,
        pieces: [],
        unfragmentable: null,
        firstFragment: null,
        totalLength: null,
        charged: 0,
      };
      this.partials.set(fragment.key, partial);
    }
    if (isLast) {
      // RFC 8200 §4.5: the last fragment fixes the length; one that disagrees with what is held is an error.
      if ((partial.totalLength !== null && partial.totalLength !== end) || end < this.highestEnd(partial)) return this.drop(partial, 'fragmentInconsistent');
      partial.totalLength = end;
    } else if (partial.totalLength !== null && end > partial.totalLength) {
      return this.drop(partial, 'fragmentInconsistent');
    }
    const pieces = partial.pieces;
    let index = 0;
    while (index < pieces.length && pieces[index].offset < start) index++;
    const next = pieces[index];
    const previous = pieces[index - 1];
    if (next && next.offset === start && next.data.length === data.length) return { kind: 'dropped', reason: 'fragmentDuplicate' };
    if ((previous && previous.offset + previous.data.length > start) || (next && next.offset < end)) return this.drop(partial, 'fragmentOverlap');
    if (pieces.length >= this.config.maxFragmentsPerDatagram) return this.drop(partial, 'tooManyFragments');
    pieces.splice(index, 0, { offset: start, data: data.slice() });
    partial.charged += cost;
    this.memoryInUse += cost;
    this.budget.inUse += cost;
    if (start === 0) {
      const unfragmentable = fragment.packet.slice(0, fragment.fragmentHeaderOffset);
      unfragmentable[fragment.nextHeaderField] = fragment.nextHeader;
      partial.unfragmentable = unfragmentable;
      partial.firstFragment = fragment.packet.slice(0, Math.min(fragment.packet.length, QUOTE_LIMIT));
    }
    if (partial.totalLength === null || partial.unfragmentable === null || !this.isContiguous(partial)) return { kind: 'pending' };
    const head = partial.unfragmentable;
    // RFC 8200 §4.5: the reassembled Payload Length must fit its 16 bits.
    if (head.length - IPV6_HEADER_LENGTH + partial.totalLength > IPV6_MAX_PAYLOAD_LENGTH) return this.drop(partial, 'fragmentTooLong');
    const packet = new Uint8Array(head.length + partial.totalLength);
    packet.set(head);
    for (const piece of pieces) packet.set(piece.data, head.length + piece.offset);
    writeUint16(packet, 4, packet.length - IPV6_HEADER_LENGTH);
    const firstFragment = partial.firstFragment!;
    this.discard(partial);
    return { kind: 'complete', packet, firstFragment };
  }

  /** Removes the packets whose 60 seconds ran out (RFC 8200 §4.5). */
  expire(now: number): ExpiredIpv6Packet[] {
    const expired: ExpiredIpv6Packet[] = [];
    for (const partial of this.partials.values()) {
      if (partial.deadline > now) continue;
      expired.push({ firstFragment: partial.firstFragment });
      this.discard(partial);
    }
    return expired;
  }

  /** The earliest deadline, or Infinity. */
  pollAt(): number {
    if (this.partials.size === 0) return Infinity;
    let earliest = Infinity;
    for (const partial of this.partials.values()) earliest = Math.min(earliest, partial.deadline);
    return earliest;
  }

  private drop(partial: PartialPacket, reason: Ipv6ReassemblyDrop): Ipv6ReassemblyResult {
    this.discard(partial);
    return { kind: 'dropped', reason };
  }

  private highestEnd(partial: PartialPacket): number {
    const last = partial.pieces[partial.pieces.length - 1];
    return last ? last.offset + last.data.length : 0;
  }

  private isContiguous(partial: PartialPacket): boolean {
    let covered = 0;
    for (const piece of partial.pieces) {
      if (piece.offset !== covered) return false;
      covered += piece.data.length;
    }
    return covered === partial.totalLength;
  }

  private discard(partial: PartialPacket): void {
    this.memoryInUse -= partial.charged;
    this.budget.inUse -= partial.charged;
    this.partials.delete(partial.key);
  }
}

/** Defaults for IPv6 reassembly: IPv4's limits with RFC 8200's 60-second timeout. */
export function ipv6ReassemblyConfig(ipv4: ReassemblyConfig): ReassemblyConfig {
  return { ...ipv4, timeoutMs: IPV6_REASSEMBLY_TIMEOUT_MS };
}
