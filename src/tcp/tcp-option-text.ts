/**
 * TCP options as text in packetdrill's notation, `mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7`:
 * what the trace events show and what `ustack drill` prints and compares with a script. (The
 * dissector keeps tshark's wording, `MSS 1460`, `SACK_PERM`, since it answers to tshark.)
 */
import type { TcpOption } from './tcp-options.js';

/** An option's name in packetdrill's notation; `raw` for a kind it has no name for. */
export type TcpOptionName = 'nop' | 'eol' | 'mss' | 'wscale' | 'sackOK' | 'sack' | 'TS' | 'raw';

/**
 * How the 32-bit numbers of the options are shown: as on the wire by default; the drill shows
 * SACK edges relative to the peer's ISN and TS val relative to ustack's first one.
 */
export interface TcpOptionNumbering {
  readonly sackEdge?: (edge: number) => number;
  readonly tsVal?: (value: number) => number;
}

const AS_ON_THE_WIRE: TcpOptionNumbering = {};

/** The packetdrill name of `option`'s kind. */
export function tcpOptionName(option: TcpOption): TcpOptionName {
  switch (option.kind) {
    case 'noOperation':
      return 'nop';
    case 'endOfList':
      return 'eol';
    case 'maxSegmentSize':
      return 'mss';
    case 'windowScale':
      return 'wscale';
    case 'sackPermitted':
      return 'sackOK';
    case 'sack':
      return 'sack';
    case 'timestamps':
      return 'TS';
    case 'raw':
      return 'raw';
  }
}

/** One option: `mss 1460`, `wscale 7`, `sackOK`, `sack 1:2 3:4`, `TS val 1 ecr 0`, `nop`, `eol`, `kind 254 (2 bytes)`. */
export function formatTcpOption(option: TcpOption, numbering: TcpOptionNumbering = AS_ON_THE_WIRE): string {
  switch (option.kind) {
    case 'maxSegmentSize':
      return `mss ${option.mss}`;
    case 'windowScale':
      return `wscale ${option.shiftCount}`;
    case 'sack': {
      const edge = numbering.sackEdge ?? ((value: number) => value);
      return `sack ${option.blocks.map((b) => `${edge(b.leftEdge) >>> 0}:${edge(b.rightEdge) >>> 0}`).join(' ')}`;
    }
    case 'timestamps':
      return `TS val ${(numbering.tsVal ? numbering.tsVal(option.tsVal) : option.tsVal) >>> 0} ecr ${option.tsEcr >>> 0}`;
    case 'raw':
      return `kind ${option.optionKind} (${option.data.length} bytes)`;
    default:
      return tcpOptionName(option);
  }
}

/** A list of options as packetdrill writes them between `<` and `>`: comma-separated, no spaces. */
export function formatTcpOptions(options: readonly TcpOption[], numbering: TcpOptionNumbering = AS_ON_THE_WIRE): string {
  return options.map((option) => formatTcpOption(option, numbering)).join(',');
}
