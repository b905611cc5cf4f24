/**
 * What `ustack view` shows, computed from a capture before any HTML is written: each frame's
 * dissection (the layers and their fields with byte ranges, from src/dissect — the one owner of
 * dissection), its bytes, a one-line summary; the TCP connections (tcp-connections.ts) and the
 * fragmented IPv4 datagrams (fragments.ts) found among them. The page (page-script.ts) only
 * draws this model; the browser tests compare what it drew with the same model.
 */
import { toHex } from '../core/bytes.js';
import { dissectFrame, type Dissection } from '../dissect/dissect.js';
import type { CaptureRecord } from '../pcap/capture.js';
import { timestampToMs } from '../pcap/timestamp.js';
import { findFragmentedDatagrams, type FragmentedDatagram } from './fragments.js';
import { findTcpConnections, type TcpConnection } from './tcp-connections.js';
import { fieldValue, topLayer, type ViewFrame } from './view-frame.js';

export type { ViewFrame } from './view-frame.js';

/** Everything one page shows. */
export interface ViewModel {
  /** The capture's name, for the title. */
  readonly title: string;
  /** When the page was made from a live capture, a note saying so. */
  readonly live?: string;
  /** The frames in capture order. */
  readonly frames: readonly ViewFrame[];
  /** TCP connections, in order of their first frame. */
  readonly connections: readonly TcpConnection[];
  /** Fragmented IPv4 datagrams, in order of their first fragment. */
  readonly datagrams: readonly FragmentedDatagram[];
  /** Frames the capture had beyond `maxFrames`, left out. */
  readonly omittedFrames: number;
  /**
   * Frames the capture had before the first one shown (a live view shows the latest frames:
   * `frames[0].number` is this plus 1).
   */
  readonly earlierFrames: number;
}

/** Options for buildViewModel. */
export interface ViewModelOptions {
  /** The title (the capture file's name). */
  readonly title: string;
  /** Frames beyond this many are left out (a page with a million frames helps nobody); 5,000 by default (about 7 KB of page a frame). */
  readonly maxFrames?: number;
  /** A note for a live capture. */
  readonly live?: string;
  /**
   * `records` are the latest of a longer capture, this many frames after its start (default 0):
   * frames are numbered as in the whole capture, and their times count from `originMs`.
   */
  readonly earlierFrames?: number;
  /** When the capture's first frame was captured, ms (default: the first of `records`). */
  readonly originMs?: number;
}

/** The default for ViewModelOptions.maxFrames. */
export const DEFAULT_MAX_FRAMES = 5_000;

/** Dissects `records` and finds their connections and fragmented datagrams. */
export function buildViewModel(records: readonly CaptureRecord[], options: ViewModelOptions): ViewModel {
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  const kept = records.slice(0, maxFrames);
  const earlierFrames = options.earlierFrames ?? 0;
  const firstMs = options.originMs ?? (kept.length > 0 ? timestampToMs(kept[0]) : 0);
  const frames = kept.map((record, index): ViewFrame => {
    const number = earlierFrames + index + 1;
    const dissection = dissectFrame(record.data, record.linkType, number, { originalLength: record.originalLength });
    return {
      number,
      time: (timestampToMs(record) - firstMs) / 1000,
      hex: toHex(record.data),
      ...summarize(dissection),
      dissection,
    };
  });
  const model: { -readonly [K in keyof ViewModel]: ViewModel[K] } = {
    title: options.title,
    frames,
    connections: findTcpConnections(frames),
    datagrams: findFragmentedDatagrams(frames),
    omittedFrames: records.length - kept.length,
    earlierFrames,
  };
  if (options.live !== undefined) model.live = options.live;
  return model;
}

/** The frame list's columns, from the dissection's fields. */
function summarize(dissection: Dissection): { source: string; destination: string; protocol: string; info: string } {
  const ip = topLayer(dissection, 'ip') ?? topLayer(dissection, 'ipv6');
  const ipSource = fieldValue(ip, 'ip.src') ?? fieldValue(ip, 'ipv6.src');
  const ipDestination = fieldValue(ip, 'ip.dst') ?? fieldValue(ip, 'ipv6.dst');
  const link = topLayer(dissection, 'eth') ?? topLayer(dissection, 'sll');
  const source = ipSource ?? fieldValue(link, 'eth.src') ?? fieldValue(link, 'sll.src.eth') ?? '';
  const destination = ipDestination ?? fieldValue(link, 'eth.dst') ?? '';
  const tcp = topLayer(dissection, 'tcp');
  if (tcp !== undefined) {
    const flags = tcp.fields.find((f) => f.name === 'tcp.flags');
    const names = /\((.*)\)/.exec(flags?.display ?? '')?.[1] ?? '';
    const parts = [`${fieldValue(tcp, 'tcp.srcport')} → ${fieldValue(tcp, 'tcp.dstport')} [${names}]`];
    parts.push(`Seq=${fieldValue(tcp, 'tcp.seq_raw') ?? '?'}`);
    if (names.includes('ACK')) parts.push(`Ack=${fieldValue(tcp, 'tcp.ack_raw') ?? '?'}`);
    parts.push(`Win=${fieldValue(tcp, 'tcp.window_size_value') ?? '?'}`, `Len=${fieldValue(tcp, 'tcp.len') ?? '?'}`);
    const sackLeft = tcp.fields.filter((f) => f.name === 'tcp.options.sack_le').map((f) => f.value);
    const sackRight = tcp.fields.filter((f) => f.name === 'tcp.options.sack_re').map((f) => f.value);
    sackLeft.forEach((left, i) => parts.push(`SLE=${left} SRE=${sackRight[i] ?? '?'}`));
    return { source, destination, protocol: 'TCP', info: parts.join(' ') };
  }
  const udp = topLayer(dissection, 'udp');
  if (udp !== undefined) {
    const length = Number(fieldValue(udp, 'udp.length') ?? 8) - 8;
    return { source, destination, protocol: 'UDP', info: `${fieldValue(udp, 'udp.srcport')} → ${fieldValue(udp, 'udp.dstport')} Len=${length}` };
  }
  const icmp = topLayer(dissection, 'icmp');
  if (icmp !== undefined) {
    const type = icmp.fields.find((f) => f.name === 'icmp.type');
    const id = fieldValue(icmp, 'icmp.ident');
    const seq = fieldValue(icmp, 'icmp.seq');
    const more = id === undefined ? '' : ` id=${id}${seq === undefined ? '' : `, seq=${seq}`}`;
    return { source, destination, protocol: 'ICMP', info: `${/\((.*)\)/.exec(type?.display ?? '')?.[1] ?? type?.value}${more}` };
  }
  const arp = topLayer(dissection, 'arp');
  if (arp !== undefined) {
    const target = fieldValue(arp, 'arp.dst.proto_ipv4');
    const sender = fieldValue(arp, 'arp.src.proto_ipv4');
    const opcode = fieldValue(arp, 'arp.opcode');
    const info = opcode === '1' ? `Who has ${target}? Tell ${sender}` : opcode === '2' ? `${sender} is at ${fieldValue(arp, 'arp.src.hw_mac')}` : arp.title;
    return { source: fieldValue(link, 'eth.src') ?? '', destination: fieldValue(link, 'eth.dst') ?? '', protocol: 'ARP', info };
  }
  if (ip !== undefined) {
    const offset = fieldValue(ip, 'ip.frag_offset');
    const info = offset !== undefined && offset !== '0' ? `Fragment at offset ${Number(offset) * 8} (id ${fieldValue(ip, 'ip.id')})` : ip.title;
    return { source, destination, protocol: ip.layer === 'ip' ? 'IPv4' : 'IPv6', info };
  }
  const last = dissection.layers[dissection.layers.length - 1];
  return { source, destination, protocol: last.layer, info: last.title };
}
