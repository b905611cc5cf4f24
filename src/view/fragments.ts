/**
 * Fragmented datagrams for `ustack view`: the fragments of one IPv4 datagram (same source,
 * destination, protocol and identification, RFC 791 §3.2) or IPv6 packet (same source,
 * destination and Fragment header identification, RFC 8200 §4.5) drawn as pieces of the whole,
 * from the frames' ip.* and ipv6.* fields. The dissector takes each frame on its own, as tshark does with
 * reassembly off; this says which bytes of the datagram's payload each frame carries, where
 * the gaps are, and whether the pieces make the whole (the last one, MF clear, says how long
 * it is).
 */
import { fieldValue, topLayer, type ViewFrame } from './view-frame.js';

/** One fragment: payload bytes [offset, offset + length) of the datagram. */
export interface FragmentPiece {
  /** The frame it is in. */
  readonly frame: number;
  /** Where its payload goes in the datagram's payload (the fragment offset in bytes). */
  readonly offset: number;
  /** Payload bytes it carries (Total Length − header length). */
  readonly length: number;
  /** More Fragments was set. */
  readonly moreFragments: boolean;
  /** Frame bytes [start, end) of its payload. */
  readonly payloadStart: number;
  /** Where its payload ends in the frame (exclusive). */
  readonly payloadEnd: number;
}

/** A datagram that travelled in fragments. */
export interface FragmentedDatagram {
  /** Source address. */
  readonly source: string;
  /** Destination address. */
  readonly destination: string;
  /** The IP protocol number the reassembled payload goes to. */
  readonly protocol: number;
  /** The Identification field (tshark's hex). */
  readonly identification: string;
  /** 4 or 6. */
  readonly version: 4 | 6;
  /** Fragments in capture order. */
  readonly pieces: readonly FragmentPiece[];
  /** Payload length of the whole, when the last fragment (MF clear) was seen. */
  readonly totalLength?: number;
  /** Ranges [start, end) of the payload no fragment carried. */
  readonly gaps: ReadonlyArray<readonly [number, number]>;
  /** Every byte up to the last fragment's end is there. */
  readonly complete: boolean;
}

/** Finds the datagrams that were fragmented, in order of their first fragment seen. */
export function findFragmentedDatagrams(frames: readonly ViewFrame[]): FragmentedDatagram[] {
  const groups = new Map<string, { source: string; destination: string; protocol: number; identification: string; version: 4 | 6; pieces: FragmentPiece[] }>();
  const add = (key: string, head: { source: string; destination: string; protocol: number; identification: string; version: 4 | 6 }, piece: FragmentPiece) => {
    let group = groups.get(key);
    if (group === undefined) {
      group = { ...head, pieces: [] };
      groups.set(key, group);
    }
    group.pieces.push(piece);
  };
  for (const frame of frames) {
    const ipv6 = topLayer(frame.dissection, 'ipv6');
    const fragmentOffset = fieldValue(ipv6, 'ipv6.fraghdr.offset');
    if (ipv6 !== undefined && fragmentOffset !== undefined) {
      const more = fieldValue(ipv6, 'ipv6.fraghdr.more') === '1';
      // An atomic fragment (offset 0, no more) is a whole packet (RFC 6946).
      if (!more && fragmentOffset === '0') continue;
      const source = fieldValue(ipv6, 'ipv6.src') ?? '?';
      const destination = fieldValue(ipv6, 'ipv6.dst') ?? '?';
      const identification = fieldValue(ipv6, 'ipv6.fraghdr.ident') ?? '?';
      const payloadLength = Number(fieldValue(ipv6, 'ipv6.plen') ?? 0);
      // The fragment's data: what follows the headers, up to the end Payload Length gives.
      const length = payloadLength - (ipv6.payloadStart - ipv6.start - 40);
      add(
        `6|${source}|${destination}|${identification}`,
        { source, destination, protocol: Number(fieldValue(ipv6, 'ipv6.fraghdr.nxt')), identification, version: 6 },
        { frame: frame.number, offset: Number(fragmentOffset) * 8, length, moreFragments: more, payloadStart: ipv6.payloadStart, payloadEnd: ipv6.payloadEnd },
      );
      continue;
    }
    const ip = topLayer(frame.dissection, 'ip');
    const mf = fieldValue(ip, 'ip.flags.mf');
    const units = fieldValue(ip, 'ip.frag_offset');
    const totalLength = fieldValue(ip, 'ip.len');
    const headerLength = fieldValue(ip, 'ip.hdr_len');
    const identification = fieldValue(ip, 'ip.id');
    if (ip === undefined || mf === undefined || units === undefined || totalLength === undefined || headerLength === undefined || identification === undefined)
      continue;
    if (mf === '0' && units === '0') continue;
    const source = fieldValue(ip, 'ip.src') ?? '?';
    const destination = fieldValue(ip, 'ip.dst') ?? '?';
    const protocol = Number(fieldValue(ip, 'ip.proto'));
    add(
      `4|${source}|${destination}|${protocol}|${identification}`,
      { source, destination, protocol, identification, version: 4 },
      {
        frame: frame.number,
        offset: Number(units) * 8,
        length: Number(totalLength) - Number(headerLength),
        moreFragments: mf === '1',
        payloadStart: ip.payloadStart,
        payloadEnd: ip.payloadEnd,
      },
    );
  }
  return [...groups.values()].map((group) => {
    const last = group.pieces.find((piece) => !piece.moreFragments);
    const totalLength = last === undefined ? undefined : last.offset + last.length;
    const end = totalLength ?? Math.max(...group.pieces.map((piece) => piece.offset + piece.length));
    const gaps: Array<readonly [number, number]> = [];
    let covered = 0;
    for (const piece of [...group.pieces].sort((x, y) => x.offset - y.offset)) {
      if (piece.offset > covered) gaps.push([covered, piece.offset]);
      covered = Math.max(covered, piece.offset + piece.length);
    }
    if (covered < end) gaps.push([covered, end]);
    const datagram: { -readonly [K in keyof FragmentedDatagram]: FragmentedDatagram[K] } = {
      ...group,
      gaps,
      complete: totalLength !== undefined && gaps.length === 0,
    };
    if (totalLength !== undefined) datagram.totalLength = totalLength;
    return datagram;
  });
}
