/**
 * dissectFrame's own promises: layer ranges and handoffs, checksum verdicts (good on every
 * frame the kernel checksummed, bad and explained where offload left them unfilled), frames
 * that are not IPv4 reported for what they are, and toTsharkFields' shapes.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/core/bytes.js';
import { dissectFrame, toTsharkFields, type Dissection, type DissectionLayer } from '../../src/dissect/dissect.js';
import { captureRecords } from './edge-cases.js';
import { arp, ascii, ethernet, ethernetVlan, icmp, ipv4, ipv6, repeat, sackOption, tcp, udp } from './frame-builder.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = resolve(HERE, '../../captures/fixtures');

function layer(dissection: Dissection, kind: DissectionLayer['layer'], depth = 0): DissectionLayer {
  const found = dissection.layers.find((l) => l.layer === kind && l.depth === depth);
  if (found === undefined) throw new Error(`no ${kind} layer at depth ${depth}`);
  return found;
}

function problems(dissection: Dissection): string[] {
  return dissection.layers.flatMap((l) => l.fields.filter((f) => f.problem !== undefined).map((f) => `${l.layer} ${f.label}: ${f.problem}`));
}

describe('layers and byte ranges', () => {
  it('an Ethernet/IPv4/TCP frame: each header range and the payload it hands on', () => {
    const options = Uint8Array.from([1, 1, ...sackOption([5, 9])]);
    const frame = ethernet(ipv4(tcp(ascii('hello'), { options }), { protocol: 6 }));
    const d = dissectFrame(frame, 1, 7);
    expect(d.layers.map((l) => l.layer)).toEqual(['frame', 'eth', 'ip', 'tcp', 'data']);
    expect(layer(d, 'eth')).toMatchObject({ start: 0, end: 14, payloadStart: 14, payloadEnd: frame.length, payloadTo: 'IPv4' });
    expect(layer(d, 'ip')).toMatchObject({ start: 14, end: 34, payloadStart: 34, payloadEnd: frame.length, payloadTo: 'TCP' });
    expect(layer(d, 'tcp')).toMatchObject({ start: 34, end: 66, payloadStart: 66, payloadEnd: 71, payloadTo: 'data' });
    expect(layer(d, 'data')).toMatchObject({ start: 66, end: 71 });
    expect(d.malformed).toBeUndefined();
    expect(problems(d)).toEqual([]);
  });

  it('the datagram quoted in an ICMP error is a second IPv4 and UDP layer, one level deeper', () => {
    const quoted = ipv4(udp(ascii('x'.repeat(12))));
    const frame = ethernet(ipv4(icmp(3, 3, [0, 0, 0, 0], quoted), { protocol: 1, tos: 0xc0 }));
    const d = dissectFrame(frame, 1, 1);
    expect(d.layers.map((l) => `${l.layer}/${l.depth}`)).toEqual(['frame/0', 'eth/0', 'ip/0', 'icmp/0', 'ip/1', 'udp/1', 'data/1']);
    expect(layer(d, 'icmp')).toMatchObject({ start: 34, end: 42, payloadStart: 42, payloadTo: 'the quoted IPv4 datagram' });
    expect(layer(d, 'ip', 1)).toMatchObject({ start: 42, end: 62 });
    const fields = toTsharkFields(d);
    expect(fields['ip.dsfield']).toEqual(['0xc0', '0x00']);
    expect(fields['ip.proto']).toEqual(['1', '17']);
    expect(fields['udp.length']).toBe('20');
  });

  it('a first fragment shows its transport header; a later one only data', () => {
    const datagram = udp(ascii('y'.repeat(40)));
    const first = dissectFrame(ethernet(ipv4(datagram.subarray(0, 24), { flagsFragment: 0x2000 })), 1, 1);
    expect(toTsharkFields(first)['udp.length']).toBe('48');
    expect(layer(first, 'udp').fields.find((f) => f.name === 'udp.checksum')?.display).toMatch(/unverified: the datagram is fragmented/);
    const later = dissectFrame(ethernet(ipv4(datagram.subarray(24), { flagsFragment: 0x0003 })), 1, 2);
    expect(later.layers.map((l) => l.layer)).toEqual(['frame', 'eth', 'ip', 'data']);
    expect(later.layers[3].title).toBe('Fragment data (24 bytes at offset 24, not reassembled)');
  });

  it('Ethernet padding after a short packet is its own layer', () => {
    const d = dissectFrame(concatBytes(ethernet(arp(1), 0x0806), repeat(0, 18)), 1, 1);
    expect(d.layers.map((l) => l.layer)).toEqual(['frame', 'eth', 'arp', 'padding']);
    expect(layer(d, 'padding')).toMatchObject({ start: 42, end: 60 });
    expect(toTsharkFields(d)['arp.opcode']).toBe('1');
  });

  it('an 802.1Q tag is a layer between Ethernet and IPv4', () => {
    const d = dissectFrame(ethernetVlan(ipv4(udp(ascii('v'))), 0x2064), 1, 1);
    expect(d.layers.map((l) => l.layer)).toEqual(['frame', 'eth', 'vlan', 'ip', 'udp', 'data']);
    expect(layer(d, 'vlan')).toMatchObject({ start: 14, end: 18, payloadTo: 'IPv4' });
    expect(toTsharkFields(d, { fields: ['eth.type', 'vlan.id', 'vlan.priority', 'udp.length'] })).toEqual({
      'eth.type': '0x8100',
      'vlan.id': '100',
      'vlan.priority': '1',
      'udp.length': '9',
    });
  });

  it('IPv6 and unknown EtherTypes are reported as such, not as errors', () => {
    const v6 = dissectFrame(ethernet(ipv6(udp(ascii('six'))), 0x86dd), 1, 1);
    expect(v6.malformed).toBeUndefined();
    expect(v6.layers.map((l) => l.layer)).toEqual(['frame', 'eth', 'ipv6', 'udp', 'data']);
    expect(layer(v6, 'ipv6').title).toBe('Internet Protocol Version 6, Src: 2001::1, Dst: fe80::211:22ff:fe33:4455');
    const unknown = dissectFrame(ethernet(repeat(7, 46), 0x88b5), 1, 1);
    expect(unknown.malformed).toBeUndefined();
    expect(unknown.layers.map((l) => l.layer)).toEqual(['frame', 'eth', 'data']);
    expect(layer(unknown, 'eth').notes).toEqual(['EtherType 0x88b5 is not dissected here (not an error)']);
  });
});

describe('checksums', () => {
  it('every checksum of the captures made with offloads off verifies', () => {
    for (const name of ['eth.pcap', 'raw.pcap', 'ipv4.pcap', 'sll.pcap']) {
      const records = captureRecords(join(FIXTURE_DIR, name));
      const found = records.flatMap((r, i) => problems(dissectFrame(r.data, r.linkType, i + 1)).map((p) => `${name} ${i + 1}: ${p}`));
      expect(found, found.slice(0, 5).join('\n')).toEqual([]);
    }
  });

  it('unfilled offload checksums are shown as they are, flagged bad, and explained', () => {
    const records = captureRecords(join(FIXTURE_DIR, 'eth-offload.pcap'));
    const dissections = records.map((r, i) => dissectFrame(r.data, r.linkType, i + 1));
    const bad = dissections.flatMap((d) => d.layers.filter((l) => l.fields.some((f) => f.problem === 'bad checksum')));
    expect(bad.some((l) => l.layer === 'tcp')).toBe(true);
    expect(bad.some((l) => l.layer === 'udp')).toBe(true);
    expect(bad.every((l) => l.layer === 'tcp' || l.layer === 'udp')).toBe(true);
    for (const l of bad) expect(l.notes.join()).toMatch(/pseudo-header sum left by checksum offload/);
    // The value printed is the frame's own, as tshark prints it.
    const golden = dissections.map((d) => toTsharkFields(d)['tcp.checksum']).filter((v) => v !== undefined);
    expect(golden).toContain('0x1833');
  });

  it('a UDP checksum of 0 means none', () => {
    const d = dissectFrame(ethernet(ipv4(udp(ascii('zero'), { checksum: 0 }))), 1, 1);
    expect(layer(d, 'udp').fields.find((f) => f.name === 'udp.checksum')).toMatchObject({ value: '0x0000', display: '0x0000 (none)' });
    expect(problems(d)).toEqual([]);
  });

  it('a wrong IPv4 header checksum is flagged with the right value in the note', () => {
    const good = ipv4(udp(ascii('ok')));
    const right = (good[10] << 8) | good[11];
    const d = dissectFrame(ethernet(ipv4(udp(ascii('ok')), { checksum: right ^ 0x0101 })), 1, 1);
    expect(problems(d)).toEqual(['ip Header Checksum: bad checksum']);
    expect(layer(d, 'ip').notes).toContain(
      `header checksum 0x${(right ^ 0x0101).toString(16).padStart(4, '0')} is wrong; it should be 0x${right.toString(16).padStart(4, '0')}`,
    );
  });
});

describe('toTsharkFields', () => {
  const d = dissectFrame(ethernet(ipv4(tcp(new Uint8Array(0), { options: Uint8Array.from([1, 1, ...sackOption([1, 2, 3, 4])]) }), { protocol: 6 })), 1, 3);

  it('keeps one value as a string and several as an array in tree order', () => {
    const fields = toTsharkFields(d);
    expect(fields['frame.number']).toBe('3');
    expect(fields['tcp.options.sack_le']).toEqual(['1', '3']);
    expect(fields['tcp.options.sack_re']).toEqual(['2', '4']);
    expect(fields['icmp.type']).toBeUndefined();
  });

  it('lists the default fields in TSHARK_JSON_FIELDS order, and every named field with all', () => {
    expect(Object.keys(toTsharkFields(d)).slice(0, 4)).toEqual(['frame.number', 'eth.src', 'eth.dst', 'eth.type']);
    const all = toTsharkFields(d, { all: true });
    expect(all['frame.len']).toBe('74');
    expect(all['tcp.seq']).toBe('1000');
    expect(Object.keys(all).length).toBeGreaterThan(Object.keys(toTsharkFields(d)).length);
  });
});

describe('every fixture capture', () => {
  it('is dissected without a malformed frame', () => {
    for (const name of readdirSync(FIXTURE_DIR).filter((n) => n.endsWith('.pcap'))) {
      captureRecords(join(FIXTURE_DIR, name)).forEach((r, i) => {
        expect(dissectFrame(r.data, r.linkType, i + 1).malformed, `${name} frame ${i + 1}`).toBeUndefined();
      });
    }
  });
});
