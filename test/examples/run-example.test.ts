/**
 * Every seed program, both ends on the virtual network, over a wire that loses, duplicates and
 * reorders frames: the programs still get their answers, and the stacks repaired the damage.
 */
import { describe, expect, it } from 'vitest';
import type { CounterName } from '../../src/socket-api/counters.js';
import { DEFAULT_EXAMPLE_SEED, EXAMPLE_FAULTS, EXAMPLES, runExample, runOnVirtualNetwork } from '../../examples/run-example.js';

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

describe('ustack example NAME --faults, with the default seed', () => {
  it.each(Object.keys(EXAMPLES))('%s: the wire really faults, and the output says what repaired it', async (name) => {
    const lines: string[] = [];
    expect(await runExample([name, '--faults'], (line) => lines.push(line))).toBe(0);
    const output = lines.join('\n');
    const faults = /faults: the wire lost (\d+) frames?, duplicated (\d+) frames? and reordered (\d+) frames?/.exec(output);
    expect(faults).not.toBeNull();
    expect(Number(faults![1]) + Number(faults![2]) + Number(faults![3])).toBeGreaterThan(0);
    if (name === 'udp-upper') {
      // UDP has no retransmission: the program asked again, and the output says so, not TCP.
      expect(output).toMatch(/repairs: UDP does not retransmit; the client asked again [1-9]\d* times?/);
      expect(output).not.toMatch(/TCP/);
    } else {
      const repairs = /repairs: TCP retransmitted (\d+) segments?, (\d+) SYNs? and (\d+) SYN-ACKs?/.exec(output);
      expect(repairs).not.toBeNull();
      expect(Number(repairs![1]) + Number(repairs![2]) + Number(repairs![3])).toBeGreaterThan(0);
    }
  });

  it('counts SYN and SYN-ACK retransmissions with the data retransmissions', async () => {
    const run = await runOnVirtualNetwork('echo', { seed: DEFAULT_EXAMPLE_SEED, faults: EXAMPLE_FAULTS });
    const stat = (counter: CounterName) => run.stacks.reduce((sum, stack) => sum + stack.stats.get(counter), 0);
    expect(run.synRetransmits).toBe(stat('tcp.tx.synRetransmits'));
    expect(run.synAckRetransmits).toBe(stat('tcp.tx.synAckRetransmits'));
    expect(run.retransmits).toBe(stat('tcp.tx.retransmits'));
  });
});
