import { describe, expect, it } from 'vitest';
import { formatTcpOption, formatTcpOptions, tcpOptionName } from '../../src/tcp/tcp-option-text.js';
import type { TcpOption } from '../../src/tcp/tcp-options.js';

const SYN_OPTIONS: TcpOption[] = [
  { kind: 'maxSegmentSize', mss: 1460 },
  { kind: 'sackPermitted' },
  { kind: 'timestamps', tsVal: 1, tsEcr: 0 },
  { kind: 'noOperation' },
  { kind: 'windowScale', shiftCount: 7 },
];

describe("TCP options in packetdrill's notation", () => {
  it("a SYN's options read as a script writes them", () => {
    expect(formatTcpOptions(SYN_OPTIONS)).toBe('mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7');
  });

  it('SACK blocks, eol, and a kind without a name', () => {
    const sack: TcpOption = {
      kind: 'sack',
      blocks: [
        { leftEdge: 0xfffffff0, rightEdge: 10 },
        { leftEdge: 20, rightEdge: 30 },
      ],
    };
    expect(formatTcpOption(sack)).toBe('sack 4294967280:10 20:30');
    expect(formatTcpOption({ kind: 'endOfList', padding: new Uint8Array(3) })).toBe('eol');
    expect(formatTcpOption({ kind: 'raw', optionKind: 254, data: new Uint8Array(2) })).toBe('kind 254 (2 bytes)');
  });

  it('numbers shown relative where the caller says so (the drill: SACK edges to the ISN, TS val to the first)', () => {
    const numbering = { sackEdge: (edge: number) => (edge - 1000) >>> 0, tsVal: (value: number) => (value - 500) >>> 0 };
    expect(formatTcpOption({ kind: 'sack', blocks: [{ leftEdge: 1001, rightEdge: 1011 }] }, numbering)).toBe('sack 1:11');
    expect(formatTcpOption({ kind: 'timestamps', tsVal: 600, tsEcr: 7 }, numbering)).toBe('TS val 100 ecr 7');
  });

  it('names each kind as packetdrill does', () => {
    expect(SYN_OPTIONS.map(tcpOptionName)).toEqual(['mss', 'sackOK', 'TS', 'nop', 'wscale']);
  });
});
