/**
 * The Linux profile's receiver rules judged by what Linux 6.18 did (captures/fixtures/eth.pcap,
 * the 256 KiB transfer losing every 15th segment, replayed with ustack as the receiver): SACK
 * compression (TcpConfig.sackCompression) and the FIN in a SACK block (TcpConfig.sackCoversFin).
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { replayCapture, type ReplayResult } from '../../src/replay.js';

const ETH = join(resolve(fileURLToPath(new URL('.', import.meta.url)), '../../captures/fixtures'), 'eth.pcap');

const count = (result: ReplayResult, kind: string) => result.divergences.filter((d) => d.kind === kind).length;

// SACK compression and the FIN's SACK edge are judged with ustack's free-space window, so that
// what they change is all that changes (Linux's window, on in LINUX_REPLAY_CONFIG, moves ACKs too).
const FREE_SPACE = { receiveWindowGrowth: 'free-space' } as const;

it("SACK compression: ustack's duplicate ACKs line up with the kernel's (99 extra without it, at most 2 with it)", async () => {
  const uncompressed = await replayCapture(ETH, { host: '10.1.1.2', linux: true, tcp: { ...FREE_SPACE, sackCompression: false } });
  const compressed = await replayCapture(ETH, { host: '10.1.1.2', linux: true, tcp: FREE_SPACE });
  expect(count(uncompressed, 'extra')).toBeGreaterThan(90);
  expect(count(compressed, 'extra')).toBeLessThanOrEqual(2);
  // What is left are ACKs the kernel sent at once while its quick ACKs lasted (docs/replay.md).
  expect(count(compressed, 'missing')).toBeLessThan(25);
});

it('the SACK block that ends at the held FIN takes it in, as the kernel reported it (262089:262146)', async () => {
  const linux = await replayCapture(ETH, { host: '10.1.1.2', linux: true, tcp: FREE_SPACE });
  const rfc = await replayCapture(ETH, { host: '10.1.1.2', linux: true, tcp: { ...FREE_SPACE, sackCoversFin: false } });
  const finEdge = (r: ReplayResult) => r.divergences.filter((d) => d.kind === 'options' && /262089:262146/.test(d.expected?.options ?? ''));
  expect(finEdge(rfc)).toHaveLength(1);
  expect(finEdge(linux)).toEqual([]);
});

it("Linux's receive window (TcpConfig.receiveWindowGrowth, in LINUX_REPLAY_CONFIG): the SYN-ACK's and the first four grown windows are the kernel's", async () => {
  const windowFrames = (r: ReplayResult) => r.divergences.filter((d) => d.kind === 'window').map((d) => d.frames.capture);
  const modelled = await replayCapture(ETH, { host: '10.1.1.2', linux: true });
  const freeSpace = await replayCapture(ETH, { host: '10.1.1.2', linux: true, tcp: FREE_SPACE });
  // Frame 36: SYN-ACK win 65160 (45 × 1448); frames 43–46: 67, 70, 73, 75 << 10 (each growth
  // two segments of advmss, 1448: the MSS less the timestamp option).
  for (const frame of [36, 43, 44, 45, 46]) {
    expect(windowFrames(freeSpace)).toContain(frame);
    expect(windowFrames(modelled)).not.toContain(frame);
  }
});
