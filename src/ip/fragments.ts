/**
 * IPv4 fragmentation and reassembly (RFC 791 §2.3 and §3.2, RFC 815 for the hole bookkeeping).
 *
 * Reassembly is bounded three ways: a timeout per datagram (30 s by default, as Linux), a
 * memory cap across all datagrams (new fragments are refused while it is exceeded, as Linux
 * does since 4.17), and a cap on fragments per datagram. A fragment that overlaps data already
 * received discards the whole datagram, as RFC 5722 prescribes for IPv6 and Linux does for IPv4;
 * a duplicate — a fragment wholly inside one already held — is dropped on its own, as Linux does.
 */
import { emitIpv4, ipv4HeaderLength, IPV4_MAX_TOTAL_LENGTH, type Ipv4Repr } from './ipv4.js';
import type { Ipv4Option } from './ipv4-options.js';
import type { Ipv4Address } from './address.js';

/**
 * Options repeated in every fragment: those whose type has the copied flag (RFC 791 §3.1,
 * "copied flag"). Record route and timestamp stay in the first fragment only.
 */
function copiedOptions(options: readonly Ipv4Option[]): Ipv4Option[] {
  return options.filter((o) => o.kind === 'raw' && (o.type & 0x80) !== 0);
}

/**
 * The smallest MTU an IPv4 link may have: "every internet module must be able to forward a
 * datagram of 68 octets without further fragmentation" (RFC 791 §3.2) — a 60-byte header
 * and 8 octets of data, so every fragment can carry data.
 */
export const IPV4_MIN_MTU = 68;

/**
 * Splits a datagram into frames no larger than `mtu`. `header` describes the datagram (it may
 * itself be a fragment being forwarded: offsets add and its MF carries to the last piece).
 * Returns one frame when it already fits. The caller has checked DF. An MTU below 68 is a
 * configuration error (interfaces and routes refuse it) and throws.
 */
export function fragmentDatagram(header: Ipv4Repr, payload: Uint8Array, mtu: number): Uint8Array[] {
  if (!(mtu >= IPV4_MIN_MTU)) throw new RangeError(`MTU ${mtu} is below the IPv4 minimum of ${IPV4_MIN_MTU}`);
  const firstHeaderLength = ipv4HeaderLength(header);
  if (firstHeaderLength + payload.length <= mtu) {
    const frame = new Uint8Array(firstHeaderLength + payload.length);
    emitIpv4({ ...header, payloadLength: payload.length }, frame);
    frame.set(payload, firstHeaderLength);
    return [frame];
  }
  const laterOptions = copiedOptions(header.options);
  const frames: Uint8Array[] = [];
  let offset = 0;
  while (offset < payload.length) {
    const options = offset === 0 ? header.options : laterOptions;
    const headerLength = ipv4HeaderLength({ options });
    const room = Math.floor((mtu - headerLength) / 8) * 8;
    const length = Math.min(room, payload.length - offset);
    const last = offset + length >= payload.length;
    const frame = new Uint8Array(headerLength + length);
    emitIpv4(
      {
        ...header,
        options,
        moreFragments: last ? header.moreFragments : true,
        fragmentOffset: header.fragmentOffset + offset,
        payloadLength: length,
      },
      frame,
    );
    frame.set(payload.subarray(offset, offset + length), headerLength);
    frames.push(frame);
    offset += length;
  }
  return frames;
}

/** Limits on reassembly. */
export interface ReassemblyConfig {
  /** Time a partial datagram is kept (ms). RFC 791 suggests 15 s; Linux and we use 30 s. */
  readonly timeoutMs: number;
  /** Bytes all partial datagrams may hold together (Linux ipfrag_high_thresh: 4 MiB). */
  readonly memoryLimit: number;
  /** Fragments one datagram may have. */
  readonly maxFragmentsPerDatagram: number;
}

/** Defaults for ReassemblyConfig. */
export const DEFAULT_REASSEMBLY: ReassemblyConfig = { timeoutMs: 30_000, memoryLimit: 4 * 1024 * 1024, maxFragmentsPerDatagram: 128 };

/** Bytes charged per fragment on top of its data, so that tiny fragments cannot be free. */
const FRAGMENT_OVERHEAD = 64;
/** Bytes of fragment zero kept for an ICMP error: all an error may quote (RFC 1812 §4.3.2.3). */
const QUOTE_LIMIT = 576;

interface Fragment {
  readonly offset: number;
  readonly data: Uint8Array;
}

interface PartialDatagram {
  readonly key: string;
  readonly deadline: number;
  /** Sorted by offset, never overlapping. */
  readonly fragments: Fragment[];
  /** The header and first payload bytes of the offset-0 fragment, once it arrived (for ICMP). */
  firstHeader: Ipv4Repr | null;
  firstFrame: Uint8Array | null;
  /** Total data length, known once the last fragment (MF clear) arrived. */
  totalLength: number | null;
  charged: number;
}

/** Why a fragment was not kept; each maps to a `drop.ipv4.<reason>` counter. */
export type ReassemblyDrop = 'fragmentOverlap' | 'fragmentDuplicate' | 'fragmentTooLong' | 'fragmentInconsistent' | 'reassemblyMemoryFull' | 'tooManyFragments';

/** What happened to one fragment. */
export type ReassemblyResult =
  /** `firstFrame`: the start of fragment zero as received (≤ 576 bytes), for ICMP quoting. */
  | { readonly kind: 'complete'; readonly header: Ipv4Repr; readonly payload: Uint8Array; readonly firstFrame: Uint8Array }
  | { readonly kind: 'pending' }
  | { readonly kind: 'dropped'; readonly reason: ReassemblyDrop };

/** A datagram that timed out; `firstFrame` is set when its first fragment had arrived. */
export interface ExpiredDatagram {
  readonly source: Ipv4Address;
  readonly firstFrame: Uint8Array | null;
}

/**
 * The bytes held by every partial datagram of a host, IPv4's and IPv6's together: one budget
 * (`ReassemblyConfig.memoryLimit`), so that fragments of one family cannot take twice the
 * memory by arriving as both (Linux keeps a limit per family; one shared limit is the stricter
 * reading of "bounded").
 */
export class ReassemblyMemory {
  /** Bytes charged now. */
  inUse = 0;

  constructor(
    /** Bytes all partial datagrams may hold together. */
    public limit: number,
  ) {}

  /** Whether `cost` more bytes fit. */
  fits(cost: number): boolean {
    return this.inUse + cost <= this.limit;
  }
}

/** Collects fragments into datagrams. Time comes in as an argument. */
export class Reassembler {
  private readonly partials = new Map<string, PartialDatagram>();
  private memoryInUse = 0;

  constructor(
    private readonly config: ReassemblyConfig = DEFAULT_REASSEMBLY,
    /** The host's reassembly budget, shared with IPv6's reassembler (a private one by default). */
    readonly budget: ReassemblyMemory = new ReassemblyMemory(config.memoryLimit),
  ) {}

  /** Bytes currently held by this reassembler's datagrams. */
  get memory(): number {
    return this.memoryInUse;
  }

  /** Datagrams currently being reassembled. */
  get pending(): number {
    return this.partials.size;
  }

  /**
   * Adds one fragment (`frame` is the whole IPv4 packet, kept for ICMP quoting when it is the
   * first fragment). Returns the datagram when this fragment completed it.
   */
  insert(header: Ipv4Repr, payload: Uint8Array, frame: Uint8Array, now: number): ReassemblyResult {
    const key = `${header.source}>${header.destination}/${header.protocol}#${header.identification}`;
    const start = header.fragmentOffset;
    const end = start + payload.length;
    const isLast = !header.moreFragments;

    let partial = this.partials.get(key);
    if (end + ipv4HeaderLength(header) > IPV4_MAX_TOTAL_LENGTH) {
      if (partial) this.discard(partial);
      return { kind: 'dropped', reason: 'fragmentTooLong' };
    }
    // RFC 791: every fragment but the last carries a multiple of 8 data octets. A fragment with
    // no data at all carries nothing to reassemble; kept, it would sit at an offset where the
    // real fragment would then look like an overlap.
    if ((!isLast && payload.length % 8 !== 0) || payload.length === 0) return { kind: 'dropped', reason: 'fragmentInconsistent' };

    // Fragment zero also leaves a copy of its first bytes for ICMP quoting: that is held too.
    const cost = payload.length + FRAGMENT_OVERHEAD + (start === 0 ? Math.min(frame.length, QUOTE_LIMIT) : 0);
    if (!this.budget.fits(cost)) return { kind: 'dropped', reason: 'reassemblyMemoryFull' };

    if (!partial) {
      partial = { key, deadline: now + this.config.timeoutMs, fragments: [], firstHeader: null, firstFrame: null, totalLength: null, charged: 0 };
      this.partials.set(key, partial);
    }

    if (isLast) {
      if ((partial.totalLength !== null && partial.totalLength !== end) || end < this.highestEnd(partial)) {
        this.discard(partial);
        return { kind: 'dropped', reason: 'fragmentInconsistent' };
      }
      partial.totalLength = end;
    } else if (partial.totalLength !== null && end > partial.totalLength) {
      this.discard(partial);
      return { kind: 'dropped', reason: 'fragmentInconsistent' };
    }

    // Find the insertion point and check the neighbours for overlap.
    const fragments = partial.fragments;
    let index = 0;
    while (index < fragments.length && fragments[index].offset < start) index++;
    const next = fragments[index];
    const previous = fragments[index - 1];
    // A fragment lying wholly inside one already received is a duplicate (Linux's IPFRAG_DUP).
    const container = next && next.offset === start ? next : previous;
    if (container && container.offset <= start && end <= container.offset + container.data.length) {
      return { kind: 'dropped', reason: 'fragmentDuplicate' };
    }
    if ((previous && previous.offset + previous.data.length > start) || (next && next.offset < end)) {
      this.discard(partial);
      return { kind: 'dropped', reason: 'fragmentOverlap' };
    }
    if (fragments.length >= this.config.maxFragmentsPerDatagram) {
      this.discard(partial);
      return { kind: 'dropped', reason: 'tooManyFragments' };
    }

    fragments.splice(index, 0, { offset: start, data: payload.slice() });
    partial.charged += cost;
    this.memoryInUse += cost;
    this.budget.inUse += cost;
    if (start === 0) {
      partial.firstHeader = header;
      partial.firstFrame = frame.slice(0, Math.min(frame.length, QUOTE_LIMIT));
    }

    if (partial.totalLength === null || partial.firstHeader === null || !this.isContiguous(partial)) return { kind: 'pending' };

    // The whole datagram is fragment zero's header (options and all) plus the data; a last
    // fragment with a short header can fit the limit on its own while the whole does not.
    if (ipv4HeaderLength(partial.firstHeader) + partial.totalLength > IPV4_MAX_TOTAL_LENGTH) {
      this.discard(partial);
      return { kind: 'dropped', reason: 'fragmentTooLong' };
    }
    const data = new Uint8Array(partial.totalLength);
    for (const fragment of fragments) data.set(fragment.data, fragment.offset);
    const complete: Ipv4Repr = { ...partial.firstHeader, moreFragments: false, fragmentOffset: 0, payloadLength: data.length };
    this.discard(partial);
    return { kind: 'complete', header: complete, payload: data, firstFrame: partial.firstFrame! };
  }

  /** Removes datagrams whose time ran out (RFC 791 §3.2 "timer runs out"). */
  expire(now: number): ExpiredDatagram[] {
    const expired: ExpiredDatagram[] = [];
    for (const partial of this.partials.values()) {
      if (partial.deadline <= now) {
        const source = partial.firstHeader?.source ?? Number(partial.key.slice(0, partial.key.indexOf('>')));
        expired.push({ source, firstFrame: partial.firstFrame });
        this.discard(partial);
      }
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

  private highestEnd(partial: PartialDatagram): number {
    const last = partial.fragments[partial.fragments.length - 1];
    return last ? last.offset + last.data.length : 0;
  }

  private isContiguous(partial: PartialDatagram): boolean {
    let covered = 0;
    for (const fragment of partial.fragments) {
      if (fragment.offset !== covered) return false;
      covered += fragment.data.length;
    }
    return covered === partial.totalLength;
  }

  private discard(partial: PartialDatagram): void {
    this.memoryInUse -= partial.charged;
    this.budget.inUse -= partial.charged;
    this.partials.delete(partial.key);
  }
}
