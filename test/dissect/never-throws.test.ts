/**
 * The dissector reads untrusted bytes: whatever it is given — a real frame cut short at any
 * length, random bytes, a real frame with bytes changed, a header whose lengths contradict each
 * other — it returns a dissection and never throws, and the dissection is self-consistent.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dissectFrame, toTsharkFields, type Dissection } from '../../src/dissect/dissect.js';
import { formatDissection } from '../../src/dissect/format-text.js';
import { captureRecords, malformedEthernetCases, mutatedCases, otherLinkTypeCases, randomCases, truncations, vlanCases, type EdgeCase } from './edge-cases.js';
import { ascii, ethernet, ipv4, udp } from './frame-builder.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIR = resolve(HERE, '../../captures/fixtures');
const FIXTURE_FRAMES = readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith('.pcap'))
  .sort()
  .flatMap((name) => captureRecords(join(FIXTURE_DIR, name)));

/** What every dissection must satisfy, whatever the input: the reasons it does not (plain checks, for speed). */
function inconsistencies(dissection: Dissection, c: EdgeCase): string[] {
  const length = c.frame.length;
  const out: string[] = [];
  if (dissection.capturedLength !== length) out.push(`captured length ${dissection.capturedLength}`);
  if (dissection.layers[0]?.layer !== 'frame') out.push('the first layer is not the frame');
  for (const layer of dissection.layers) {
    const ok = 0 <= layer.start && layer.start <= layer.end && layer.end <= length && layer.payloadStart <= layer.payloadEnd && layer.payloadEnd <= length;
    if (!ok) out.push(`${layer.layer} layer [${layer.start}..${layer.end}) payload [${layer.payloadStart}..${layer.payloadEnd}) of ${length} bytes`);
    for (const field of layer.fields) if (field.value === '') out.push(`${layer.layer} ${field.label} is empty`);
  }
  const malformedLayers = dissection.layers.filter((layer) => layer.layer === 'malformed').length;
  if (malformedLayers !== (dissection.malformed === undefined ? 0 : 1)) out.push(`${malformedLayers} malformed layers`);
  return out;
}

/** Dissects, converts and formats `cases`; returns the failures (there must be none). */
function dissectAll(cases: readonly EdgeCase[]): string[] {
  const failures: string[] = [];
  cases.forEach((c, i) => {
    try {
      const dissection = dissectFrame(c.frame, c.linkType, i + 1, { originalLength: c.originalLength });
      toTsharkFields(dissection, { all: true });
      formatDissection(dissection, { frame: c.frame, time: { seconds: 0, nanoseconds: 0 } });
      for (const problem of inconsistencies(dissection, c)) failures.push(`${c.name}: ${problem}`);
    } catch (error) {
      failures.push(`${c.name}: ${(error as Error).message}`);
    }
  });
  return failures;
}

describe('dissectFrame never throws', () => {
  it('on a fixture frame of every shape cut short at every length (snapshot-cut and wire-short)', () => {
    // One frame per shape: link type and the layers with their field counts (ARP, ping, IP
    // options, fragments, ICMP errors, SYN, SACK, TSO, …); headers all lie in the first 200 bytes.
    const shapes = new Map<string, { data: Uint8Array; linkType: number }>();
    FIXTURE_FRAMES.forEach((f, i) => {
      const d = dissectFrame(f.data, f.linkType, i + 1);
      const shape = `${f.linkType} ${d.layers.map((layer) => `${layer.layer}:${layer.fields.length}`).join(' ')}`;
      if (!shapes.has(shape)) shapes.set(shape, f);
    });
    expect(shapes.size).toBeGreaterThan(40);
    const cases = [...shapes.values()].flatMap((f, i) => truncations(`frame shape ${i}`, f.linkType, f.data.subarray(0, 200)));
    const failures = dissectAll(cases);
    expect(failures.slice(0, 10), failures.slice(0, 10).join('\n')).toEqual([]);
  });

  it('on random bytes of every link type, and of link types it does not know', () => {
    const cases = [1, 101, 113, 228, 276, 0, 147, 65535].flatMap((linkType) => randomCases(linkType, 1000 + linkType, 3000));
    const failures = dissectAll(cases);
    expect(failures.slice(0, 10), failures.slice(0, 10).join('\n')).toEqual([]);
  });

  it('on real frames with a few bytes changed', () => {
    const failures = dissectAll(mutatedCases(FIXTURE_FRAMES, 31337, 20_000));
    expect(failures.slice(0, 10), failures.slice(0, 10).join('\n')).toEqual([]);
  });

  it('on hand-made malformed headers and other link types', () => {
    const failures = dissectAll([...malformedEthernetCases(), ...otherLinkTypeCases(), ...vlanCases()]);
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('on an original length smaller than the captured bytes, or absurdly large', () => {
    const frame = ethernet(ipv4(udp(ascii('hello'))));
    for (const originalLength of [0, 1, frame.length - 1, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER]) {
      const dissection = dissectFrame(frame, 1, 1, { originalLength });
      expect(dissection.originalLength).toBeGreaterThanOrEqual(frame.length);
      expect(toTsharkFields(dissection)['udp.length']).toBe('13');
    }
  });

  it("marks a frame that ends inside a header malformed, like tshark's [Malformed Packet]", () => {
    const frame = ethernet(ipv4(udp(ascii('hello')), { totalLength: 24 }));
    const dissection = dissectFrame(frame, 1, 1);
    expect(dissection.malformed).toMatch(/the length needs bytes 4\.\.6 but the User Datagram Protocol has only 4/);
    const last = dissection.layers[dissection.layers.length - 1];
    expect(last.layer).toBe('malformed');
    expect(last.title).toBe('[Malformed Packet: User Datagram Protocol]');
    const udpLayer = dissection.layers.find((layer) => layer.layer === 'udp');
    expect(udpLayer?.notes.some((note) => note.startsWith('malformed:'))).toBe(true);
  });

  it('says "truncated", not malformed, when the snapshot length cut the frame', () => {
    const frame = ethernet(ipv4(udp(ascii('hello'))));
    const dissection = dissectFrame(frame.subarray(0, 40), 1, 1, { originalLength: frame.length });
    expect(dissection.malformed).toBeUndefined();
    const udpLayer = dissection.layers.find((layer) => layer.layer === 'udp');
    expect(udpLayer?.notes.join()).toMatch(/^truncated: .*packet size limited during capture/);
  });
});
