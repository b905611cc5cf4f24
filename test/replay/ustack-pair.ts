/**
 * Captures of two ustack stacks talking, for the replay tests over IPv4 (replay.test.ts) and
 * IPv6 (ipv6-replay.test.ts): the pair on a 1 ms wire with each side's interface recorded, the
 * 64 KiB transfer through a lossy link both families replay, and the helpers to read and change
 * a capture.
 */
import { expect } from 'vitest';
import type { FaultConfig } from '../../src/link/fault-injector.js';
import { readCapture, type CaptureRecord } from '../../src/pcap/pcap.js';
import { PcapWriter } from '../../src/pcap/pcap-writer.js';
import { timestampToMs } from '../../src/pcap/timestamp.js';
import { replayCapture, type ReplayResult } from '../../src/replay.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

/** The pair's IPv4 addresses (a /24). */
export const IPV4_PAIR = { client: '10.0.0.1', server: '10.0.0.2' } as const;
/** The pair's IPv6 addresses (a /64), beside the IPv4 ones when `ipv6` is asked for. */
export const IPV6_PAIR = { client: 'fd00:7::1', server: 'fd00:7::2' } as const;

/** One of the pair's stacks. */
export type PairStack = ReturnType<VirtualNetwork['createStack']>;

/** Both ends' captures. */
export interface PairCaptures {
  readonly client: Uint8Array;
  readonly server: Uint8Array;
}

/** How the pair is made. */
export interface PairOptions {
  /** IPv6 addresses too (IPV6_PAIR). */
  readonly ipv6?: boolean;
  /** The network's seed (7 by default). */
  readonly seed?: number;
  /** Faults on the client's side of the wire. */
  readonly clientFaults?: FaultConfig;
}

/** A capture's records; throws on bytes that are none. */
export function records(bytes: Uint8Array): readonly CaptureRecord[] {
  const capture = readCapture(bytes);
  if (!capture.ok) throw new Error(capture.error.message);
  return capture.value.records;
}

/** A replay's divergences, a line each ('' when there are none). */
export function describeDivergences(result: ReplayResult): string {
  return result.divergences.map((d) => `${d.kind}: ${d.message}`).join('\n');
}

/** Two ustack stacks on a 1 ms wire, each side's interface recorded; `exchange` runs between them in virtual time. */
export async function captureUstackPair(
  exchange: (client: BerkeleySockets, server: BerkeleySockets, stacks: { client: PairStack; server: PairStack }) => Promise<unknown>,
  { ipv6 = false, seed = 7, clientFaults }: PairOptions = {},
): Promise<PairCaptures> {
  const net = new VirtualNetwork(seed);
  const clientStack = net.createStack('client');
  const serverStack = net.createStack('server');
  const address6 = (address: string) => (ipv6 ? { address6: `${address}/64` } : {});
  const { a, b } = net.connect(
    { stack: clientStack, address: `${IPV4_PAIR.client}/24`, ...address6(IPV6_PAIR.client), capture: true, faults: clientFaults },
    { stack: serverStack, address: `${IPV4_PAIR.server}/24`, ...address6(IPV6_PAIR.server), capture: true },
    { mtu: 1500, latencyMs: 1 },
  );
  await net.runAsync(exchange(new BerkeleySockets(clientStack), new BerkeleySockets(serverStack), { client: clientStack, server: serverStack }));
  net.run(1000); // the last ACKs
  return { client: a.tap!.writer.toBytes(), server: b.tap!.writer.toBytes() };
}

/**
 * 64 KiB from the client to the server over IPv4 or IPv6, through a link losing 5 % of the
 * client's frames (seed 11: some are lost, and retransmitted with SACK); the server reads it all.
 */
export function lossyTransfer(family: 4 | 6): Promise<PairCaptures> {
  const data = new Uint8Array(64 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
  const domain = family === 6 ? C.AF_INET6 : C.AF_INET;
  const server = family === 6 ? IPV6_PAIR.server : IPV4_PAIR.server;
  return captureUstackPair(
    async (client, serverApi) => {
      const listener = serverApi.socket(domain, C.SOCK_STREAM);
      serverApi.bind(listener, { address: family === 6 ? '::' : '0.0.0.0', port: 5001 });
      serverApi.listen(listener, 4);
      const receiving = (async () => {
        const { fd } = await serverApi.accept(listener);
        let total = 0;
        for (;;) {
          const chunk = await serverApi.recv(fd, 65536);
          if (chunk.length === 0) break;
          total += chunk.length;
        }
        serverApi.close(fd);
        return total;
      })();
      const fd = client.socket(domain, C.SOCK_STREAM);
      await client.connect(fd, { address: server, port: 5001 });
      await client.send(fd, data);
      client.close(fd);
      expect(await receiving).toBe(data.length);
    },
    { ipv6: family === 6, seed: 11, clientFaults: { lossRate: 0.05 } },
  );
}

/**
 * lossyTransfer's two captures each replayed as the server and as the client, with no
 * divergence: the server's capture holds what reached it, the client's also the segments lost
 * on the way (lostBeforeHost when the server is replayed from it; unseenByTap when the client is
 * replayed from the server's). The receiving application's reads are not on the wire (it read
 * once per run of segments that arrived together, as pcap2drill's plan says, docs/replay.md):
 * its window may stray by what it held, 16 KiB. Returns the captures.
 */
export async function expectLossyTransferReplays(family: 4 | 6): Promise<PairCaptures> {
  const capture = await lossyTransfer(family);
  const { client, server } = family === 6 ? IPV6_PAIR : IPV4_PAIR;
  const tolerances = { windowBytes: 16 * 1024 };
  for (const [name, bytes] of Object.entries(capture)) {
    const asServer = await replayCapture(bytes, { host: server, tolerances });
    expect(describeDivergences(asServer), `${name}'s capture, replayed as the server`).toBe('');
    const asClient = await replayCapture(bytes, { host: client });
    expect(describeDivergences(asClient), `${name}'s capture, replayed as the client`).toBe('');
    if (name === 'client') {
      expect(asServer.conversations[0].lostBeforeHost.length).toBeGreaterThan(0);
      expect(asClient.conversations[0].unseenByTap).toEqual([]);
    } else {
      expect(asServer.conversations[0].lostBeforeHost).toEqual([]);
      expect(asClient.conversations[0].unseenByTap.length).toBeGreaterThan(0);
    }
  }
  return capture;
}

/** The capture with frame `frame` (from 1) changed by `edit` on a copy of its record's bytes. */
export function withRecordChanged(bytes: Uint8Array, frame: number, edit: (data: Uint8Array) => void): Uint8Array {
  const list = records(bytes);
  const writer = new PcapWriter({ linkType: list[0].linkType });
  for (const record of list) {
    const data = record.data.slice();
    if (record.index + 1 === frame) edit(data);
    writer.record(timestampToMs(record), data);
  }
  return writer.toBytes();
}
