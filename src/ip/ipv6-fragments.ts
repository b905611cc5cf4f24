/**
 * IPv6 fragmentation at the source and reassembly at the destination (RFC 8200 §4.5).
 *
 * A packet is its unfragmentable part (the IPv6 header and the extension headers routers must
 * see: Hop-by-Hop, Routing) and its fragmentable part (everything after them). Each fragment is
 * the unfragmentable part, a Fragment header, and a piece of the fragmentable part, every piece
 * but the last a multiple of 8 bytes. Only the source fragments; routers never do.
 *
 * Reassembly is bounded as IPv4's is, on the same bookkeeping (reassembly.ts) and from the same
 * budget (`ReassemblyMemory`): a timeout per packet (60 s, RFC 8200 §4.5), the host's memory cap, and a
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
import { FRAGMENT_OVERHEAD, FragmentReassembly, type ReassemblyConfig, type ReassemblyDropped, type ReassemblyMemory } from './reassembly.js';

/** RFC 8200 §4.5: reassembly is abandoned 60 seconds after the first-arriving fragment. */
export const IPV6_REASSEMBLY_TIMEOUT_MS = 60_000;
/** The Fragment header's length. */
export const FRAGMENT_HEADER_LENGTH = 8;

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

/** What happened to one fragment. */
export type Ipv6ReassemblyResult =
  /** `packet`: the reassembled packet, Fragment header gone (RFC 8200 §4.5); `firstFragment`: the start of the first fragment, to quote. */
  { readonly kind: 'complete'; readonly packet: Uint8Array; readonly firstFragment: Uint8Array } | { readonly kind: 'pending' } | ReassemblyDropped;

/** What the first fragment (offset 0) leaves. */
interface FirstFragment {
  /** Its unfragmentable part, with the Next Header field already naming the fragmentable part. */
  readonly unfragmentable: Uint8Array;
  /** Its start, for a Time Exceeded (RFC 8200 §4.5). */
  readonly quote: Uint8Array;
}

/** A packet whose time ran out; `firstFragment` is set when its first fragment had arrived. */
export interface ExpiredIpv6Packet {
  readonly firstFragment: Uint8Array | null;
}

/**
 * Collects IPv6 fragments into packets (RFC 8200 §4.5), on the shared bookkeeping of
 * reassembly.ts: only an exact duplicate is dropped alone, any other overlap discards the packet
 * (RFC 5722 §4). Time comes in as an argument.
 */
export class Ipv6Reassembler {
  private readonly packets: FragmentReassembly<FirstFragment>;

  constructor(
    config: ReassemblyConfig,
    /** The host's reassembly budget, shared with IPv4's (fragments.ts). */
    readonly budget: ReassemblyMemory,
  ) {
    this.packets = new FragmentReassembly(config, budget, 'exact');
  }

  /** Bytes held by this reassembler's packets. */
  get memory(): number {
    return this.packets.memory;
  }

  /** Packets being reassembled. */
  get pending(): number {
    return this.packets.pending;
  }

  /** Adds one fragment; returns the packet when this fragment completed it. */
  insert(fragment: Ipv6Fragment, now: number): Ipv6ReassemblyResult {
    const data = fragment.packet.subarray(fragment.fragmentHeaderOffset + FRAGMENT_HEADER_LENGTH);
    const start = fragment.offset;
    // A piece with no data has nothing to reassemble (the codec has already refused a non-last
    // piece whose length is not a multiple of 8, RFC 8200 §4.5).
    if (data.length === 0) return { kind: 'dropped', reason: 'fragmentInconsistent' };
    const cost = data.length + FRAGMENT_OVERHEAD + (start === 0 ? Math.min(fragment.packet.length, QUOTE_LIMIT) + fragment.fragmentHeaderOffset : 0);
    const partial = this.packets.add(fragment.key, start, data, fragment.moreFragments, cost, now);
    if ('kind' in partial) return partial;
    if (start === 0) {
      const unfragmentable = fragment.packet.slice(0, fragment.fragmentHeaderOffset);
      unfragmentable[fragment.nextHeaderField] = fragment.nextHeader;
      partial.first = { unfragmentable, quote: fragment.packet.slice(0, Math.min(fragment.packet.length, QUOTE_LIMIT)) };
    }
    if (!this.packets.isComplete(partial)) return { kind: 'pending' };
    const { unfragmentable: head, quote } = partial.first!;
    const totalLength = partial.totalLength!;
    // RFC 8200 §4.5: the reassembled Payload Length must fit its 16 bits.
    if (head.length - IPV6_HEADER_LENGTH + totalLength > IPV6_MAX_PAYLOAD_LENGTH) return this.packets.drop(partial, 'fragmentTooLong');
    const packet = new Uint8Array(head.length + totalLength);
    packet.set(head);
    this.packets.assemble(partial, packet, head.length);
    writeUint16(packet, 4, packet.length - IPV6_HEADER_LENGTH);
    return { kind: 'complete', packet, firstFragment: quote };
  }

  /** Removes the packets whose 60 seconds ran out (RFC 8200 §4.5). */
  expire(now: number): ExpiredIpv6Packet[] {
    return this.packets.expire(now).map((partial) => ({ firstFragment: partial.first?.quote ?? null }));
  }

  /** The earliest deadline, or Infinity. */
  pollAt(): number {
    return this.packets.pollAt();
  }
}

/** Defaults for IPv6 reassembly: IPv4's limits with RFC 8200's 60-second timeout. */
export function ipv6ReassemblyConfig(ipv4: ReassemblyConfig): ReassemblyConfig {
  return { ...ipv4, timeoutMs: IPV6_REASSEMBLY_TIMEOUT_MS };
}
