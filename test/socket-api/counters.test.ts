/**
 * The counter registries (src/socket-api/counters.ts and the layers' own): docs/counters.md is
 * made from them, no name is declared twice, and what a stack really counts is declared.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIpv4Address } from '../../src/ip/address.js';
import { COUNTER_SECTIONS, countersReference } from '../../src/socket-api/counters.js';
import { runScenario } from '../e2e/netsim.js';

const root = new URL('../../', import.meta.url).pathname;

/** Every name or family pattern of the registries, as the names it stands for: a list, or a pattern for an open family. */
function declared(): { names: string[]; open: RegExp[] } {
  const names: string[] = [];
  const open: RegExp[] = [];
  for (const section of COUNTER_SECTIONS) {
    for (const [pattern, entry] of Object.entries(section.counters)) {
      if (typeof entry === 'string') {
        names.push(pattern);
        continue;
      }
      const [head, tail] = pattern.split(/<[^>]+>/);
      if (entry.parts === null) open.push(new RegExp(`^${head.replaceAll('.', '\\.')}[^.]+${tail.replaceAll('.', '\\.')}$`));
      else for (const part of entry.parts) names.push(`${head}${part}${tail}`);
    }
  }
  return { names, open };
}

describe('the counter registries', () => {
  it('docs/counters.md is the registries as they are (else run: node scripts/counters-doc.mjs)', () => {
    expect(readFileSync(join(root, 'docs/counters.md'), 'utf8')).toBe(countersReference());
  });

  it('declare each name once: no name is both a plain name and a family member, or in two families', () => {
    const { names } = declared();
    const seen = new Set<string>();
    const twice = names.filter((name) => seen.size === seen.add(name).size);
    expect(twice).toEqual([]);
    expect(names.length).toBeGreaterThan(200);
  });

  it('give every family exactly one <Part>, with at least one value unless open', () => {
    for (const section of COUNTER_SECTIONS) {
      for (const [pattern, entry] of Object.entries(section.counters)) {
        if (typeof entry === 'string') {
          expect(pattern).not.toMatch(/[<>]/);
          continue;
        }
        expect(pattern.match(/<[^>]+>/g)?.length, pattern).toBe(1);
        if (entry.parts !== null) expect(entry.parts.length, pattern).toBeGreaterThan(0);
      }
    }
  });

  it('declare every counter a lossy, duplicating, reordering, corrupting run with pings, fragments and stray datagrams makes', () => {
    const faults = { lossRate: 0.03, duplicateRate: 0.02, reorderRate: 0.05, reorderDelayMs: 3, corruptRate: 0.02 };
    const result = runScenario({ name: 'counters', link: { latencyMs: 2, faults } }, { seed: 7, bytes: 300_000, limitMs: 120_000 });
    expect(result.failure).toBeNull();
    const { client, server, net } = result;
    const serverAddress = parseIpv4Address('10.0.0.2')!;
    for (let sequence = 0; sequence < 20; sequence++) {
      client.ping('10.0.0.2', 1, sequence, new Uint8Array(sequence % 2 === 0 ? 56 : 4000)); // every other one in fragments
      const stray = client.udp.open();
      stray.send(new Uint8Array(32), serverAddress, 9); // no socket there: port unreachable
      stray.close();
      net.run(10);
    }
    net.runUntilIdle();

    const { names, open } = declared();
    const known = new Set(names);
    const counted = [client.stats.snapshot(), server.stats.snapshot(), result.clientFaults!.stats.snapshot(), result.serverFaults!.stats.snapshot()].flatMap(
      Object.keys,
    );
    const undeclared = counted.filter((name) => !known.has(name) && !open.some((pattern) => pattern.test(name)));
    expect(undeclared).toEqual([]);
    // The run did reach the corners it is meant to: drops, fragments, ICMP errors, every fault.
    expect(client.stats.get('ipv4.tx.fragments') + server.stats.get('ipv4.rx.reassembled')).toBeGreaterThan(0);
    expect(client.stats.get('icmp.rx.destinationUnreachable')).toBeGreaterThan(0);
    expect(client.stats.sum('drop.') + server.stats.sum('drop.')).toBeGreaterThan(0);
    expect(new Set(counted).size).toBeGreaterThan(60);
  });
});
