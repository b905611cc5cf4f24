/**
 * IPv4 fragmentation and reassembly (RFC 791 §2.3 and §3.2, RFC 815 for the hole bookkeeping).
 *
 * Reassembly is bounded three ways (reassembly.ts, shared with IPv6): a timeout per datagram
 * (30 s by default, as Linux), a memory cap across all datagrams (new fragments are refused
 * while it is exceeded, as Linux does since 4.17), and a cap on fragments per datagram. A
 * fragment that overlaps data already received discards the whole datagram, as RFC 5722
 * prescribes for IPv6 and Linux does for IPv4; a duplicate — a fragment wholly inside one
 * already held — is dropped on its own, as Linux does.
 */
import { emitIpv4, ipv4HeaderLength, IPV4_MAX_TOTAL_LENGTH, type Ipv4Repr } from './ipv4.js';
import type { Ipv4Option } from './ipv4-options.js';
import type { Ipv4Address } from './address.js';
import { FRAGMENT_OVERHEAD, FragmentReassembly, ReassemblyMemory, type ReassemblyConfig, type ReassemblyDropped } from './reassembly.js';

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

/** Defaults for IPv4 reassembly (ReassemblyConfig; IPv6 takes them with its own timeout). */
export const DEFAULT_REASSEMBLY: ReassemblyConfig = { timeoutMs: 30_000, memoryLimit: 4 * 1024 * 1024, maxFragmentsPerDatagram: 128 };

/** Bytes of fragment zero kept for an ICMP error: all an error may quote (RFC 1812 §4.3.2.3). */
const QUOTE_LIMIT = 576;

/** What fragment zero leaves: its header (options and all) and its start as received, for ICMP. */
interface FirstFragment {
  readonly header: Ipv4Repr;
  readonly frame: Uint8Array;
}

/** What happened to one fragment. */
export type ReassemblyResult =
  /** `firstFrame`: the start of fragment zero as received (≤ 576 bytes), for ICMP quoting. */
  | { readonly kind: 'complete'; readonly header: Ipv4Repr; readonly payload: Uint8Array; readonly firstFrame: Uint8Array }
  | { readonly kind: 'pending' }
  | ReassemblyDropped;

/** A datagram that timed out; `firstFrame` is set when its first fragment had arrived. */
export interface ExpiredDatagram {
  readonly source: Ipv4Address;
  readonly firstFrame: Uint8Array | null;
}

/**
 * Collects IPv4 fragments into datagrams (RFC 791 §3.2), on the shared bookkeeping of
 * reassembly.ts. A fragment wholly inside one held is a duplicate, dropped alone (Linux's
 * IPFRAG_DUP); any other overlap discards the datagram. Time comes in as an argument.
 */
export class Reassembler {
  private readonly datagrams: FragmentReassembly<FirstFragment>;

  constructor(
    config: ReassemblyConfig = DEFAULT_REASSEMBLY,
    /** The host's reassembly budget, shared with IPv6's reassembler (a private one by default). */
    readonly budget: ReassemblyMemory = new ReassemblyMemory(config.memoryLimit),
  ) {
    this.datagrams = new FragmentReassembly(config, budget, 'contained');
  }

  /** Bytes currently held by this reassembler's datagrams. */
  get memory(): number {
    return this.datagrams.memory;
  }

  /** Datagrams currently being reassembled. */
  get pending(): number {
    return this.datagrams.pending;
  }

  /**
   * Adds one fragment (`frame` is the whole IPv4 packet, kept for ICMP quoting when it is the
   * first fragment). Returns the datagram when this fragment completed it.
   */
  insert(header: Ipv4Repr, payload: Uint8Array, frame: Uint8Array, now: number): ReassemblyResult {
    const key = `${header.source}>${header.destination}/${header.protocol}#${header.identification}`;
    const start = header.fragmentOffset;
    const isLast = !header.moreFragments;
    if (start + payload.length + ipv4HeaderLength(header) > IPV4_MAX_TOTAL_LENGTH) {
      const held = this.datagrams.partial(key);
      if (held) this.datagrams.discard(held);
      return { kind: 'dropped', reason: 'fragmentTooLong' };
    }
    // RFC 791: every fragment but the last carries a multiple of 8 data octets. A fragment with
    // no data at all carries nothing to reassemble; kept, it would sit at an offset where the
    // real fragment would then look like an overlap.
    if ((!isLast && payload.length % 8 !== 0) || payload.length === 0) return { kind: 'dropped', reason: 'fragmentInconsistent' };

    // Fragment zero also leaves a copy of its first bytes for ICMP quoting: that is held too.
    const cost = payload.length + FRAGMENT_OVERHEAD + (start === 0 ? Math.min(frame.length, QUOTE_LIMIT) : 0);
    const partial = this.datagrams.add(key, start, payload, header.moreFragments, cost, now);
    if ('kind' in partial) return partial;
    if (start === 0) partial.first = { header, frame: frame.slice(0, Math.min(frame.length, QUOTE_LIMIT)) };
    if (!this.datagrams.isComplete(partial)) return { kind: 'pending' };

    // The whole datagram is fragment zero's header (options and all) plus the data; a last
    // fragment with a short header can fit the limit on its own while the whole does not.
    const first = partial.first!;
    const totalLength = partial.totalLength!;
    if (ipv4HeaderLength(first.header) + totalLength > IPV4_MAX_TOTAL_LENGTH) return this.datagrams.drop(partial, 'fragmentTooLong');
    const data = new Uint8Array(totalLength);
    this.datagrams.assemble(partial, data, 0);
    const complete: Ipv4Repr = { ...first.header, moreFragments: false, fragmentOffset: 0, payloadLength: data.length };
    return { kind: 'complete', header: complete, payload: data, firstFrame: first.frame };
  }

  /** Removes datagrams whose time ran out (RFC 791 §3.2 "timer runs out"). */
  expire(now: number): ExpiredDatagram[] {
    return this.datagrams.expire(now).map((partial) => ({
      source: partial.first?.header.source ?? Number(partial.key.slice(0, partial.key.indexOf('>'))),
      firstFrame: partial.first?.frame ?? null,
    }));
  }

  /** The earliest deadline, or Infinity. */
  pollAt(): number {
    return this.datagrams.pollAt();
  }
}
