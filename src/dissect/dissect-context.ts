/**
 * The machinery every layer dissector shares: the growing list of layers, byte spans that know
 * how much of a layer was captured and how much the packet claims, and the rule for what
 * happens when a header runs out of bytes.
 *
 * That rule follows tshark, because `--json` must print what tshark prints: a field appears when
 * its bytes are there, and the first field whose bytes are missing ends the dissection of the
 * whole frame (tshark throws an exception and prints "[Malformed Packet]" or "[Packet size
 * limited during capture]"). Here that is `need()`, which throws a StopDissection that
 * `dissectFrame` catches; nothing else ever escapes to the caller.
 */
import type { ChecksumCoverage, Dissection, DissectionField, DissectionLayer, LayerKind, PseudoHeader } from './dissection.js';
import type { Ipv6Handoff } from './dissect-ipv6.js';

/**
 * A stretch of the frame a layer owns, in frame offsets. `capturedEnd` is where the captured
 * bytes stop, `reportedEnd` where the packet says they stop (its length fields, or the length on
 * the wire); either may be the smaller one. A field is readable when it ends at or before both.
 */
export interface Span {
  readonly start: number;
  readonly capturedEnd: number;
  readonly reportedEnd: number;
}

/** Where the readable bytes of `span` stop. */
export function availableEnd(span: Span): number {
  return Math.max(span.start, Math.min(span.capturedEnd, span.reportedEnd));
}

/** A span for the bytes from `start` up to `length` bytes long, inside `outer`. */
export function subSpan(outer: Span, start: number, length = Infinity): Span {
  const end = start + length;
  return { start, capturedEnd: Math.min(outer.capturedEnd, end), reportedEnd: Math.min(outer.reportedEnd, end) };
}

/** Thrown when a field's bytes are missing; ends the frame's dissection (tshark's exception). */
export class StopDissection extends Error {
  constructor(
    readonly kind: 'truncated' | 'malformed',
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** A layer while it is being filled in. */
export class LayerDraft {
  title: string;
  end: number;
  payloadStart: number;
  payloadEnd: number;
  payloadTo: string | undefined;
  readonly fields: DissectionField[] = [];
  readonly notes: string[] = [];

  constructor(
    readonly layer: LayerKind,
    title: string,
    readonly start: number,
    readonly depth: number,
  ) {
    this.title = title;
    this.end = start;
    this.payloadStart = start;
    this.payloadEnd = start;
  }

  /**
   * Adds a field; `name` undefined for values Wireshark has no field name for. `at` is
   * [offset, length] of the field's bytes relative to the layer's start (`ustack view` draws the
   * field over them); `checksum` what a checksum field covers.
   */
  field(
    name: string | undefined,
    label: string,
    value: string,
    extra: { readonly display?: string; readonly problem?: string; readonly at?: readonly [number, number]; readonly checksum?: ChecksumCoverage } = {},
  ): void {
    const field: { -readonly [K in keyof DissectionField]: DissectionField[K] } = { label, value };
    if (name !== undefined) field.name = name;
    if (extra.display !== undefined && extra.display !== value) field.display = extra.display;
    if (extra.problem !== undefined) field.problem = extra.problem;
    if (extra.at !== undefined) {
      field.start = this.start + extra.at[0];
      field.end = this.start + extra.at[0] + extra.at[1];
    }
    if (extra.checksum !== undefined) field.checksum = extra.checksum;
    this.fields.push(field);
  }

  /** Adds a remark. */
  note(text: string): void {
    this.notes.push(text);
  }

  /** Sets the header range [start, end) and the payload range handed on. */
  setRanges(end: number, payloadStart: number, payloadEnd: number, payloadTo?: string): void {
    this.end = end;
    this.payloadStart = payloadStart;
    this.payloadEnd = Math.max(payloadStart, payloadEnd);
    this.payloadTo = payloadTo;
  }

  freeze(): DissectionLayer {
    const layer: { -readonly [K in keyof DissectionLayer]: DissectionLayer[K] } = {
      layer: this.layer,
      title: this.title,
      start: this.start,
      end: Math.max(this.start, this.end),
      payloadStart: this.payloadStart,
      payloadEnd: this.payloadEnd,
      depth: this.depth,
      fields: this.fields,
      notes: this.notes,
    };
    if (this.payloadTo !== undefined) layer.payloadTo = this.payloadTo;
    return layer;
  }
}

/**
 * The dissectors a layer hands a nested packet to when that packet may again hold the layer
 * itself (IP in IP, IPv6 in IPv4, an ICMP error quoting IP, Ethernet over IP). A frame's
 * dissection carries them (Wireshark's dissector tables), so that these modules reach one
 * another at run time through `dissectFrame`, which fills the table, instead of importing each
 * other in a ring.
 */
export interface NestedDissectors {
  ipv4(ctx: DissectionBuilder, span: Span, depth: number, via?: 'link' | 'ethertype' | 'payload'): number | undefined;
  ipv6(ctx: DissectionBuilder, span: Span, depth: number, handoff?: Ipv6Handoff): number | undefined;
  icmp(ctx: DissectionBuilder, span: Span, network: NetworkContext): void;
  icmpv6(ctx: DissectionBuilder, span: Span, network: NetworkContext): void;
  ethernet(ctx: DissectionBuilder, span: Span, depth?: number): void;
}

/** Collects the layers of one frame. */
export class DissectionBuilder {
  private readonly drafts: LayerDraft[] = [];
  private malformedReason: string | undefined;
  /** The name of the layer that was malformed first. */
  private malformedWhere: string | undefined;

  constructor(
    readonly frame: Uint8Array,
    readonly linkType: number,
    readonly frameNumber: number,
    readonly originalLength: number,
    /** Where nested packets go (dissect.ts fills it). */
    readonly dissectors: NestedDissectors,
  ) {}

  /** Starts a new layer at frame offset `start`. */
  addLayer(kind: LayerKind, title: string, start: number, depth: number): LayerDraft {
    const draft = new LayerDraft(kind, title, start, depth);
    this.drafts.push(draft);
    return draft;
  }

  /** The layer added last, if any. */
  get lastLayer(): LayerDraft | undefined {
    return this.drafts[this.drafts.length - 1];
  }

  /** Records that `layer` is malformed (an impossible length or value) without stopping. */
  malformed(layer: LayerDraft, reason: string): void {
    layer.note(`malformed: ${reason}`);
    this.markMalformed(layer, reason);
  }

  private markMalformed(layer: LayerDraft | undefined, reason: string): void {
    if (this.malformedReason !== undefined) return;
    this.malformedReason = reason;
    this.malformedWhere = layer === undefined ? 'frame' : layer.title.split(',')[0];
  }

  /**
   * Throws StopDissection unless bytes [offset, offset+length) of `span` (offsets relative to
   * span.start) are readable. `what` names the field for the note.
   */
  need(layer: LayerDraft, span: Span, offset: number, length: number, what: string): void {
    const end = span.start + offset + length;
    if (end <= span.capturedEnd && end <= span.reportedEnd) return;
    if (end > span.reportedEnd) {
      const reason = `${what} needs bytes ${offset}..${offset + length} but the ${layer.title.split(',')[0]} has only ${Math.max(0, span.reportedEnd - span.start)}`;
      throw new StopDissection('malformed', reason);
    }
    throw new StopDissection(
      'truncated',
      `${what} needs bytes ${offset}..${offset + length} but only ${Math.max(0, span.capturedEnd - span.start)} were captured`,
    );
  }

  /** Ends the frame's dissection: the layer being built is malformed for `reason`. */
  stop(reason: string): never {
    throw new StopDissection('malformed', reason);
  }

  /** Turns a StopDissection into notes on the layer being built and a closing malformed layer. */
  recordStop(stop: StopDissection): void {
    const layer = this.lastLayer;
    if (stop.kind === 'truncated') {
      layer?.note(`truncated: ${stop.reason} (packet size limited during capture)`);
      return;
    }
    layer?.note(`malformed: ${stop.reason}`);
    this.markMalformed(layer, stop.reason);
  }

  /** Records an unexpected failure of the dissector itself: the frame is reported malformed. */
  recordFailure(error: unknown): void {
    const reason = `dissector failure: ${error instanceof Error ? error.message : String(error)}`;
    this.lastLayer?.note(reason);
    this.markMalformed(this.lastLayer, reason);
  }

  /** The finished dissection (a closing `malformed` layer when something was). */
  finish(): Dissection {
    const layers = this.drafts.map((draft) => draft.freeze());
    if (this.malformedReason !== undefined) {
      layers.push({
        layer: 'malformed',
        title: `[Malformed Packet: ${this.malformedWhere ?? 'frame'}]`,
        start: this.frame.length,
        end: this.frame.length,
        payloadStart: this.frame.length,
        payloadEnd: this.frame.length,
        depth: 0,
        fields: [],
        notes: [this.malformedReason],
      });
    }
    const dissection: { -readonly [K in keyof Dissection]: Dissection[K] } = {
      frameNumber: this.frameNumber,
      linkType: this.linkType,
      capturedLength: this.frame.length,
      originalLength: this.originalLength,
      layers,
    };
    if (this.malformedReason !== undefined) dissection.malformed = this.malformedReason;
    return dissection;
  }
}

/** What a transport dissector needs to know about the network header above it. */
export interface NetworkContext {
  /** 0 for the frame's own headers, 1 and more inside ICMP errors. */
  readonly depth: number;
  /** The datagram is a fragment (MF set or offset non-zero): the transport header may be whole, its data is not. */
  readonly fragmented: boolean;
  /** Payload length the network header claims (IPv4 Total Length − header, IPv6 Payload Length − extensions). */
  readonly payloadLength: number;
  /** The unfolded pseudo-header sum for `protocol` and upper-layer `length` (RFC 9293 §3.1, RFC 8200 §8.1). */
  readonly pseudoHeaderSum: (protocol: number, length: number) => number;
  /** The same pseudo-header's fields, for the checksum's coverage. */
  readonly pseudoHeader: (protocol: number, length: number) => PseudoHeader;
}

/**
 * Adds a `data` layer for bytes [start, end) of the frame (clamped to what was captured): the
 * payload no dissector here understands. tshark's own `data` dissector reads the same bytes.
 */
export function addDataLayer(ctx: DissectionBuilder, start: number, end: number, depth: number, title?: string): void {
  const capturedEnd = Math.min(end, ctx.frame.length);
  if (end <= start) return;
  const length = end - start;
  const layer = ctx.addLayer('data', title ?? `Data (${length} bytes)`, start, depth);
  // tshark's data.len counts the bytes captured (a frame cut by the snapshot length shows fewer), and is absent when there are none.
  if (capturedEnd > start) layer.field('data.len', 'Length', String(capturedEnd - start), { at: [0, capturedEnd - start] });
  if (capturedEnd < end) layer.note(`only ${Math.max(0, capturedEnd - start)} of the ${length} bytes were captured`);
  layer.setRanges(Math.max(start, capturedEnd), Math.max(start, capturedEnd), Math.max(start, capturedEnd));
}
