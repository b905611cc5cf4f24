/**
 * Every seed program, both ends on the virtual network, over a wire that loses, duplicates and
 * reorders frames: the programs still get their answers, and the stacks repaired the damage.
 */
import { describe, expect, it } from 'vitest';
import { EXAMPLES, runOnVirtualNetwork } from '../../examples/run-example.js';

const faults = { lossRate: 0.2, duplicateRate: 0.05, reorderRate: 0.1, reorderDelayMs: 3 };

const expected: Record<string, RegExp[]> = {
  echo: [/echo client: sent "hello, echo", got back "hello, echo"/, /sent "a second connection", got back "a second connection"/],
  'tcp-upper': [/tcp upper client: "A SENTENCE IN LOWER CASE"/],
  'udp-upper': [/udp upper client: "DATAGRAMS CARRY THEIR OWN ADDRESSES" from 10\.0\.0\.2:15000/],
  kv: [/"func":"PUT","response":\{"obj":"colour","response":"ok"\}/, /"func":"GET","response":\{"obj":"colour","val":"blue"\}/],
  gateway: [/add\(2, 3\) = 5/, /countdown → lift-off after callbacks 3, 2, 1/, /fail\(\) raised GatewayError: this method always fails/],
};

describe('the seed programs on a faulty virtual network (20% loss, 5% duplication, 10% reordering)', () => {
  for (const name of Object.keys(EXAMPLES)) {
    it.each([1, 2, 3])(`${name}, seed %i`, async (seed) => {
      const lines: string[] = [];
      const run = await runOnVirtualNetwork(name, { seed, faults, print: (line) => lines.push(line) });
      const output = lines.join('\n');
      for (const pattern of expected[name]) expect(output).toMatch(pattern);
      for (const stack of run.stacks) expect(stack.lastInternalError).toBe(null);
    });
  }

  it('the faults really hit: across the runs, TCP retransmitted', async () => {
    let retransmits = 0;
    for (const name of ['echo', 'kv', 'gateway']) retransmits += (await runOnVirtualNetwork(name, { seed: 4, faults })).retransmits;
    expect(retransmits).toBeGreaterThan(0);
  });
});
