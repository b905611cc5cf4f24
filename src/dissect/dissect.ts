/**
 * Layer-by-layer dissection of one captured frame: the entry point `dissectFrame`, shared by
 * `ustack dissect` and the trace tools. It never throws: a frame too short for a header, or with
 * lengths that contradict each other, gives a dissection whose layer notes say so and a closing
 * `malformed` layer (tshark's "[Malformed Packet]").
 *
 * Per link type, the first layer after `frame`:
 *    1 Ethernet  → eth (→ vlan) → IPv4 | ARP | IPv6 | data, then padding/trailer
 *  101 RAW       → IPv4 or IPv6 by the version nibble
 *  113 SLL       → sll (v1) → IPv4 | ARP | IPv6 | Ethernet | data, then a trailer
 *  276 SLL2      → sll (v2, with the interface index) → the same as v1
 *  228 IPv4      → IPv4 (IPv6 when the version nibble says 6, as tshark does)
 *  229 IPv6      → IPv6 (a bogus version is named as such, as tshark does)
 * and from IPv4: ICMP (its error messages quote an IPv4 datagram, dissected again), UDP, TCP.
 */
import { linkTypeName, LinkType } from '../pcap/link-type.js';
import { addDataLayer, DissectionBuilder, StopDissection, type NestedDissectors, type Span } from './dissect-context.js';
import { dissectIcmp } from './dissect-icmp.js';
import { dissectIpv4 } from './dissect-ip.js';
import { dissectIcmpv6 } from './dissect-icmpv6.js';
import { dissectIpv6 } from './dissect-ipv6.js';
import { addTrailer, dissectEthernet } from './dissect-link.js';
import { dissectLinuxSll, dissectLinuxSll2 } from './dissect-sll.js';
import type { Dissection } from './dissection.js';

export { toTsharkFields, TSHARK_JSON_FIELDS, type Dissection, type DissectionField, type DissectionLayer, type LayerKind } from './dissection.js';

/** Where each layer hands a nested packet (dissect-context.ts). */
const NESTED_DISSECTORS: NestedDissectors = { ipv4: dissectIpv4, ipv6: dissectIpv6, icmp: dissectIcmp, icmpv6: dissectIcmpv6, ethernet: dissectEthernet };

/** Options for dissectFrame. */
export interface DissectOptions {
  /**
   * The frame's length on the wire, when the capture cut it shorter (pcap's original length).
   * Defaults to the captured length. Decides, like tshark's "reported length", whether a header
   * that runs out of bytes was cut by the snapshot length or is malformed.
   */
  readonly originalLength?: number;
}

/**
 * Takes `data` (one captured frame of LINKTYPE_ `linkType`) apart layer by layer.
 * `frameNumber` is its 1-based position in the capture, as tshark counts.
 */
export function dissectFrame(data: Uint8Array, linkType: number, frameNumber: number, options: DissectOptions = {}): Dissection {
  const originalLength = Math.max(data.length, options.originalLength ?? data.length);
  const ctx = new DissectionBuilder(data, linkType, frameNumber, originalLength, NESTED_DISSECTORS);
  const frameLayer = ctx.addLayer('frame', frameTitle(frameNumber, data.length, originalLength), 0, 0);
  frameLayer.field('frame.number', 'Frame Number', String(frameNumber));
  frameLayer.field('frame.len', 'Frame Length', String(originalLength));
  frameLayer.field('frame.cap_len', 'Capture Length', String(data.length));
  frameLayer.field(undefined, 'Link type', `${linkTypeName(linkType)} (${linkType})`);
  frameLayer.setRanges(0, 0, data.length);
  const span: Span = { start: 0, capturedEnd: data.length, reportedEnd: originalLength };
  try {
    dissectLink(ctx, span, linkType);
  } catch (error) {
    if (error instanceof StopDissection) ctx.recordStop(error);
    else ctx.recordFailure(error);
  }
  return ctx.finish();
}

function frameTitle(frameNumber: number, captured: number, original: number): string {
  return captured === original ? `Frame ${frameNumber}: ${captured} bytes` : `Frame ${frameNumber}: ${original} bytes on wire, ${captured} bytes captured`;
}

function dissectLink(ctx: DissectionBuilder, span: Span, linkType: number): void {
  const frame = ctx.frame;
  switch (linkType) {
    case LinkType.ETHERNET:
      dissectEthernet(ctx, span);
      return;
    case LinkType.LINUX_SLL:
      dissectLinuxSll(ctx, span);
      return;
    case LinkType.LINUX_SLL2:
      dissectLinuxSll2(ctx, span);
      return;
    case LinkType.IPV6: {
      if (frame.length === 0) return;
      const end = dissectIpv6(ctx, span, 0);
      if (end !== undefined && end < frame.length) addTrailer(ctx, end, frame.length, undefined, 'Trailer', 'Bytes after the packet');
      return;
    }
    case LinkType.RAW:
    case LinkType.IPV4: {
      // tshark's raw-IP dissector wants 8 bytes before it decides IPv4 or IPv6.
      if (frame.length === 0 || (linkType === LinkType.RAW && frame.length < 8)) {
        // tshark shows such a frame as bytes with no data.len.
        const layer = ctx.addLayer('data', `Data (${frame.length} bytes: too short to tell IPv4 from IPv6)`, 0, 0);
        layer.setRanges(frame.length, frame.length, frame.length);
        return;
      }
      const version = frame[0] >> 4;
      let end: number | undefined;
      if (linkType === LinkType.IPV4) {
        end = dissectIpv4(ctx, span, 0, 'link');
      } else if (version === 6) {
        end = dissectIpv6(ctx, span, 0);
      } else if (version === 4) {
        end = dissectIpv4(ctx, span, 0, 'link');
      } else {
        addDataLayer(ctx, 0, frame.length, 0, `Data (${frame.length} bytes: version nibble ${version} is neither IPv4 nor IPv6)`);
        return;
      }
      if (end !== undefined && end < frame.length) addTrailer(ctx, end, frame.length, undefined, 'Trailer', 'Bytes after the packet');
      return;
    }
    default:
      addDataLayer(ctx, 0, frame.length, 0, `Data (${frame.length} bytes of link type ${linkTypeName(linkType)}, not dissected)`);
  }
}
