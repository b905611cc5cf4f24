/**
 * What a dissection is: a frame taken apart layer by layer, as `ustack dissect` prints it and as
 * trace events describe encapsulation. Each layer says where its header (or wrapper) lies in the
 * frame, which bytes it hands to the next layer, and its header fields, each with the name
 * Wireshark gives it and the text `tshark -T fields` prints for it, so that a dissection can be
 * compared with tshark field for field (`toTsharkFields`).
 *
 *    frame bytes   0                14                  34          42                 98
 *                  +----------------+-------------------+-----------+------------------+
 *                  | Ethernet hdr   | IPv4 header       | ICMP hdr  | echo data        |
 *                  +----------------+-------------------+-----------+------------------+
 *    eth layer     [start ....... end)[payloadStart ........................ payloadEnd)
 *    ip layer                       [start ........ end)[payloadStart ...... payloadEnd)
 *    icmp layer                                         [start . end)[payload ........)
 */

/** The kinds of layer a dissection can hold. */
export type LayerKind = 'frame' | 'eth' | 'vlan' | 'sll' | 'arp' | 'ip' | 'ipv6' | 'icmp' | 'icmpv6' | 'udp' | 'tcp' | 'data' | 'padding' | 'malformed';

/** One header field of a layer. */
export interface DissectionField {
  /** Wireshark's field name (`ip.ttl`) when Wireshark has one for exactly this value. */
  readonly name?: string;
  /** What the field is, for humans (`Time to Live`). */
  readonly label: string;
  /** The value as `tshark -T fields` prints it (`64`, `0x0800`, `10.0.0.1`). */
  readonly value: string;
  /** A friendlier rendering for the text mode (`0x0018 (PSH, ACK)`); `value` when absent. */
  readonly display?: string;
  /** What is wrong with the value, when something is (`bad checksum`). */
  readonly problem?: string;
  /**
   * The bytes the field lies in, as frame offsets [start, end); absent for fields that are not
   * bytes of the frame (frame.len) or summaries. A bit field (ip.flags.df) names the bytes it
   * shares with its neighbours. `ustack view` draws the field over these bytes.
   */
  readonly start?: number;
  /** Where the field's bytes end (exclusive). */
  readonly end?: number;
  /** For a checksum field: what the sum covers and how it checked out. */
  readonly checksum?: ChecksumCoverage;
}

/** What an Internet checksum covers (RFC 1071) and whether the value in the header verifies. */
export interface ChecksumCoverage {
  /** good: the sum verifies; bad: it does not; absent: the sender computed none (UDP's 0); unverified: bytes are missing. */
  readonly verdict: 'good' | 'bad' | 'absent' | 'unverified';
  /** Why it could not be verified, when unverified. */
  readonly why?: string;
  /** What the sender should have written (tshark's hex), when bad. */
  readonly expected?: string;
  /** Frame bytes [start, end) the sum is taken over, the checksum field included. */
  readonly start: number;
  /** Where the covered bytes end (exclusive). */
  readonly end: number;
  /** The pseudo-header added to the sum (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1), for UDP and TCP. */
  readonly pseudoHeader?: PseudoHeader;
}

/** The fields of the pseudo-header a transport checksum covers. */
export interface PseudoHeader {
  /** The source address as printed (`10.0.0.1`). */
  readonly source: string;
  /** The destination address (the source route's last hop when there is one). */
  readonly destination: string;
  /** The IP protocol number (6 TCP, 17 UDP). */
  readonly protocol: number;
  /** The upper-layer length in the pseudo-header. */
  readonly length: number;
}

/** One layer of a frame: a header or wrapper, its fields, and the payload it hands on. */
export interface DissectionLayer {
  /** What kind of layer this is. */
  readonly layer: LayerKind;
  /** One line naming the layer and its key values, Wireshark style. */
  readonly title: string;
  /** Byte range of this layer's header or wrapper within the frame: [start, end). */
  readonly start: number;
  /** Where the header or wrapper ends (exclusive). */
  readonly end: number;
  /** Byte range of the payload this layer hands to the next one: [payloadStart, payloadEnd). */
  readonly payloadStart: number;
  /** Where the payload ends (exclusive). */
  readonly payloadEnd: number;
  /** The layer that receives the payload, for humans (`UDP`, `data`), when there is one. */
  readonly payloadTo?: string;
  /** How deep inside ICMP errors this layer sits: 0 for the frame's own headers, 1 when quoted. */
  readonly depth: number;
  /** The header fields in wire order. */
  readonly fields: readonly DissectionField[];
  /** Remarks: checksum verdicts, truncation, `malformed: …` when the bytes contradict themselves. */
  readonly notes: readonly string[];
}

/** A whole frame, dissected. */
export interface Dissection {
  /** The frame's 1-based position in the capture, as tshark counts. */
  readonly frameNumber: number;
  /** The capture's LINKTYPE_ number the frame was read with. */
  readonly linkType: number;
  /** Bytes present in the capture. */
  readonly capturedLength: number;
  /** Bytes the frame had on the wire (larger than capturedLength when the snapshot cut it). */
  readonly originalLength: number;
  /** The layers in the order dissected, starting with `frame`; a `malformed` layer closes them when something was. */
  readonly layers: readonly DissectionLayer[];
  /** Set when some layer is malformed (tshark's "[Malformed Packet]"): the first reason. */
  readonly malformed?: string;
}

/**
 * The fields `ustack dissect --json` prints by default, in this order: those the acceptance
 * comparison with tshark covers. `toTsharkFields(d, { all: true })` adds every other named field.
 */
export const TSHARK_JSON_FIELDS = [
  'frame.number',
  'eth.src',
  'eth.dst',
  'eth.type',
  'arp.opcode',
  'ip.version',
  'ip.hdr_len',
  'ip.dsfield',
  'ip.len',
  'ip.id',
  'ip.flags.df',
  'ip.flags.mf',
  'ip.frag_offset',
  'ip.ttl',
  'ip.proto',
  'ip.checksum',
  'ip.src',
  'ip.dst',
  'icmp.type',
  'icmp.code',
  'icmp.checksum',
  'icmp.ident',
  'icmp.seq',
  'udp.srcport',
  'udp.dstport',
  'udp.length',
  'udp.checksum',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.hdr_len',
  'tcp.flags',
  'tcp.window_size_value',
  'tcp.checksum',
  'tcp.urgent_pointer',
  'tcp.len',
  'tcp.options.mss_val',
  'tcp.options.wscale.shift',
  'tcp.options.timestamp.tsval',
  'tcp.options.timestamp.tsecr',
  'tcp.options.sack_le',
  'tcp.options.sack_re',
] as const;

/** Options for toTsharkFields. */
export interface TsharkFieldsOptions {
  /** Every named field, in tree order, instead of TSHARK_JSON_FIELDS. */
  readonly all?: boolean;
  /** Exactly these fields, in this order. */
  readonly fields?: readonly string[];
}

/**
 * The dissection as tshark's `-T fields -E occurrence=a` reads it: field name → value, or every
 * value in tree order when the field occurs more than once (outer header before the headers
 * quoted in an ICMP error; SACK blocks in option order). Fields the frame does not have are
 * absent. Keys come in TSHARK_JSON_FIELDS order (or `fields` order, or tree order with `all`).
 */
export function toTsharkFields(dissection: Dissection, options: TsharkFieldsOptions = {}): Record<string, string | string[]> {
  const occurrences = new Map<string, string[]>();
  for (const layer of dissection.layers) {
    for (const field of layer.fields) {
      if (field.name === undefined) continue;
      const values = occurrences.get(field.name);
      if (values === undefined) occurrences.set(field.name, [field.value]);
      else values.push(field.value);
    }
  }
  const names = options.all ? [...occurrences.keys()] : (options.fields ?? TSHARK_JSON_FIELDS);
  const out: Record<string, string | string[]> = {};
  for (const name of names) {
    const values = occurrences.get(name);
    if (values === undefined) continue;
    out[name] = values.length === 1 ? values[0] : values;
  }
  return out;
}

/** `0x` and lowercase hex padded to `digits`, as tshark prints hex fields. */
export function hex(value: number, digits: number): string {
  return `0x${(value >>> 0).toString(16).padStart(digits, '0')}`;
}
