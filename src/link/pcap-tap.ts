/**
 * PcapTap: a Link that records every frame passing through another Link into a pcap file.
 *
 *   stack ──transmit──▶ PcapTap ──transmit──▶ inner link ──▶ medium
 *   stack ◀──receiver── PcapTap ◀──receiver── inner link ◀── medium
 *                          │
 *                          └─ PcapWriter (RAW 101 for an `ip` link, ETHERNET 1 for `ethernet`)
 *
 * Frames are stamped with the `now` they travel with (the stack's clock, ms) plus `epochMs`,
 * so a virtual-network capture starting at 0 can be shifted to a real date. Outbound frames are
 * recorded when the stack transmits them, inbound frames when the inner link delivers them;
 * both directions go into one file in the order they happened. The frame itself is passed on
 * untouched (the writer copies what it records).
 */
import { LinkType } from '../pcap/link-type.js';
import { PcapWriter } from '../pcap/pcap-writer.js';
import { LinkDecorator, type FrameReceiver, type Link, type LinkMedium } from './link.js';

/** How a PcapTap records. */
export interface PcapTapOptions {
  /** Added to every frame's `now` to make the pcap timestamp (ms since the Unix epoch). Default 0. */
  readonly epochMs?: number;
  /** Write nanosecond timestamps instead of microseconds. */
  readonly nanosecond?: boolean;
  /** Longest frame prefix to keep. Default 262144. */
  readonly snaplen?: number;
  /** Streams the file as it grows (see `PcapWriterOptions.onChunk`), e.g. `openPcapFileSink(path).write`. */
  readonly onChunk?: (chunk: Uint8Array) => void;
  /** Keep the file in memory for `toBytes()` (default: only when there is no `onChunk`). */
  readonly retain?: boolean;
}

/** The pcap link type for frames of a Link's medium. */
export function linkTypeForMedium(medium: LinkMedium): number {
  return medium === 'ip' ? LinkType.RAW : LinkType.ETHERNET;
}

/** A Link decorator that records both directions of `inner` into a `PcapWriter`. */
export class PcapTap extends LinkDecorator {
  /** The writer holding (or streaming) the capture. */
  readonly writer: PcapWriter;
  private readonly epochMs: number;

  /** `inner`: the link being recorded; everything but the recording is its business. */
  constructor(inner: Link, options: PcapTapOptions = {}) {
    super(inner);
    this.epochMs = options.epochMs ?? 0;
    this.writer = new PcapWriter({
      linkType: linkTypeForMedium(inner.medium),
      nanosecond: options.nanosecond,
      snaplen: options.snaplen,
      onChunk: options.onChunk,
      retain: options.retain,
    });
  }

  /** Records `frame` as outbound at `now`, then hands it to the inner link. */
  override transmit(frame: Uint8Array, now: number, segmentSize?: number): void {
    this.writer.record(now + this.epochMs, frame);
    this.inner.transmit(frame, now, segmentSize);
  }

  /** Installs `receiver` behind a recorder: inbound frames are recorded, then delivered. */
  override setReceiver(receiver: FrameReceiver): void {
    this.inner.setReceiver((frame, now, checksumTrusted) => {
      this.writer.record(now + this.epochMs, frame);
      receiver(frame, now, checksumTrusted);
    });
  }

  /** The capture so far as pcap bytes (requires the writer to retain chunks). */
  toBytes(): Uint8Array {
    return this.writer.toBytes();
  }
}
