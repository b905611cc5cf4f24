/**
 * One frame of `ustack view`'s model and the two lookups into its dissection that the model and
 * its finders (tcp-connections.ts, fragments.ts) share — apart from view-model.ts, which
 * imports those finders, so that no import goes round in a circle.
 */
import type { Dissection, DissectionLayer } from '../dissect/dissect.js';

/** One frame as the page shows it. */
export interface ViewFrame {
  /** 1-based, as tshark counts. */
  readonly number: number;
  /** Seconds since the capture's first frame. */
  readonly time: number;
  /** The frame's bytes in lowercase hex, two digits a byte. */
  readonly hex: string;
  /** The frame list's columns. */
  readonly source: string;
  /** Destination address (IP when there is an IP layer, else the link layer's). */
  readonly destination: string;
  /** The innermost protocol recognised (`TCP`, `UDP`, `ICMP`, `ARP`, `IPv4` for a later fragment). */
  readonly protocol: string;
  /** tshark-like info column. */
  readonly info: string;
  /** The dissection: layers with fields and byte ranges. */
  readonly dissection: Dissection;
}

/** The value of the first field named `name` in `layer`. */
export function fieldValue(layer: DissectionLayer | undefined, name: string): string | undefined {
  return layer?.fields.find((field) => field.name === name)?.value;
}

/** The frame's outermost layer of `kind` at depth 0 (not one quoted in an ICMP error). */
export function topLayer(dissection: Dissection, kind: DissectionLayer['layer']): DissectionLayer | undefined {
  return dissection.layers.find((layer) => layer.layer === kind && layer.depth === 0);
}
