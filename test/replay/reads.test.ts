/**
 * The application's reads inferred from the receiver's advertised windows (inferReads,
 * src/replay/reads.ts): a ustack receiver on Linux's window (TcpConfig.receiveWindowGrowth
 * 'linux') whose application reads known amounts at known times is captured, and the reads are
 * inferred back from its capture alone; and replayed with them (`reads: 'window'`), the kernel's
 * eth.pcap shows fewer divergences than with a read per run of segments.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { planConversation, tcpConversations } from '../../src/drill/pcap-to-script.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { timestampToMs } from '../../src/pcap/timestamp.js';
import { replayCapture } from '../../src/replay.js';
import { lostBeforeHost } from '../../src/replay/inbound.js';
import { inferReads } from '../../src/replay/reads.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';
const BUFFER = { receiveBufferSize: 131072, receiveSegmentOverhead: 768, receiveOffloadOverhead: 1845 };
const FIXTURES = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../captures/fixtures');

/** The reads the receiving application makes: nothing until its window has closed, then these (ms after the connection, bytes). */
const KNOWN_READS = [
  { atMs: 40, length: 30000 },
  { atMs: 60, length: 12000 },
  { atMs: 80, length: 50000 },
  { atMs: 100, length: 20000 },
];
const TOTAL = 300 * 1024;

/** 300 KiB from a client to a server that reads KNOWN_READS, then the rest; the server's capture. */
async function captureKnownReads(): Promise<{ capture: Uint8Array; startMs: number; readEnds: number[] }> {
  const net = new VirtualNetwork(5);
  const clientStack = net.createStack('client');
  const serverStack = net.createStack('server', { tcp: { receiveWindowGrowth: 'linux', ...BUFFER } });
  const { b } = net.connect(
    { stack: clientStack, address: `${CLIENT}/24` },
    { stack: serverStack, address: `${SERVER}/24`, capture: true },
    { mtu: 1500, latencyMs: 1 },
  );
  const client = new BerkeleySockets(clientStack);
  const server = new BerkeleySockets(serverStack);
  const listener = server.socket(C.AF_INET, C.SOCK_STREAM);
  server.bind(listener, { address: '0.0.0.0', port: 5001 });
  server.listen(listener, 4);
  const accepting = server.accept(listener);
  const fd = client.socket(C.AF_INET, C.SOCK_STREAM);
  await net.runAsync(client.connect(fd, { address: SERVER, port: 5001 }));
  const { fd: connection } = await net.runAsync(accepting);
  const startMs = net.now;
  const data = new Uint8Array(TOTAL).map((_, i) => (i * 13 + 5) & 0xff);
  const sending = client.send(fd, data);
  const readEnds: number[] = [];
  let read = 0;
  for (const { atMs, length } of KNOWN_READS) {
    net.run(startMs + atMs - net.now);
    let left = length;
    while (left > 0) {
      const got = await server.recv(connection, left);
      expect(got.length).toBeGreaterThan(0); // what the read takes had arrived
      left -= got.length;
    }
    read += length;
    readEnds.push(read);
  }
  net.run(20);
  await net.runAsync(async () => {
    await sending;
    client.close(fd);
    for (;;) if ((await server.recv(connection, 65536)).length === 0) break;
    server.close(connection);
  });
  net.run(1000);
  return { capture: b.tap!.writer.toBytes(), startMs, readEnds };
}

describe('inferReads', () => {
  it('infers known reads back from the receiver’s windows: when (at the read) and how much (within a segment)', async () => {
    const { capture, startMs, readEnds } = await captureKnownReads();
    const parsed = readCapture(capture);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const records = parsed.value.records;
    const origin = timestampToMs(records[0]);
    const plan = planConversation(records, { host: parseIpv4Address(SERVER)!, conversation: 1 });
    const reads = inferReads(plan, lostBeforeHost(plan), BUFFER, origin);
    const readBy = (ms: number) => reads.filter((r) => r.atMs <= ms).reduce((sum, r) => sum + (r.call.length ?? 0), 0);
    const connectedAt = startMs - origin;
    // Nothing was read before the first read, though the window first grew and then closed (what
    // is inferred there is the rounding of the window to its scale, bytes a segment).
    expect(readBy(connectedAt + KNOWN_READS[0].atMs - 0.001)).toBeLessThan(1448);
    KNOWN_READS.forEach(({ atMs }, k) => {
      // Each read is seen at its own time (the window update it caused), and its size to within a segment.
      const inferred = readBy(connectedAt + atMs + 0.001);
      expect(Math.abs(inferred - readEnds[k]), `read ${k + 1} at ${atMs} ms: inferred ${inferred}, read ${readEnds[k]}`).toBeLessThanOrEqual(1448);
      // And not earlier: before it, only what the reads before it took.
      expect(readBy(connectedAt + atMs - 0.001)).toBeLessThanOrEqual((readEnds[k - 1] ?? 0) + 1448);
    });
    // The reads are the application's calls on the accepted socket, and the last one before the close takes the rest.
    expect(reads.every((r) => r.call.name === 'read' && r.call.fd === 4 && (r.call.length ?? 0) > 0)).toBe(true);
    expect(reads.reduce((sum, r) => sum + (r.call.length ?? 0), 0)).toBe(TOTAL);
  });
});

it("eth.pcap's receiver on Linux's window: reading as its windows show leaves fewer divergences than a read per run of segments", async () => {
  const linuxWindow = { receiveWindowGrowth: 'linux', receiveBufferSize: 131072 } as const;
  const options = { host: '10.1.1.2', linux: true, tcp: linuxWindow, datagrams: false };
  const perRun = await replayCapture(join(FIXTURES, 'eth.pcap'), { ...options, reads: 'runs' });
  const fromWindow = await replayCapture(join(FIXTURES, 'eth.pcap'), { ...options, reads: 'window' });
  const extraAcks = (r: typeof perRun) => r.divergences.filter((d) => d.kind === 'extra').length;
  // A reader that takes everything keeps the buffer free, so the window threshold grows (an
  // immediate ACK each time) where the kernel's stood still: 143 divergences, 42 extra ACKs;
  // reading as the windows show: 70 and 12 (docs/replay.md).
  expect(fromWindow.divergences.length).toBeLessThan(perRun.divergences.length * 0.6);
  expect(extraAcks(perRun)).toBeGreaterThan(30);
  expect(extraAcks(fromWindow)).toBeLessThanOrEqual(20);
});

it("eth.pcap: only an ACK whose bound rises above every earlier one shows a read — frames 179, 195 and 196 repeat a bound under frame 177's and show none", () => {
  const parsed = readCapture(readFileSync(join(FIXTURES, 'eth.pcap')));
  if (!parsed.ok) throw new Error(parsed.error.message);
  const records = parsed.value.records;
  const host = parseIpv4Address('10.1.1.2')!;
  // The 256 KiB transfer: the conversation with the most segments.
  const conversations = tcpConversations(records);
  const transfer = conversations.indexOf(conversations.reduce((a, b) => (b.segments.length > a.segments.length ? b : a))) + 1;
  const plan = planConversation(records, { host, conversation: transfer });
  const reads = inferReads(plan, lostBeforeHost(plan), BUFFER, timestampToMs(records[0]));
  const shownBy = new Set(reads.map((r) => r.shownBy));
  // Frame 177 keeps the right edge (ack 102809, window 58368) and so bounds the reading at
  // 101692, more than had arrived by the segment its read is placed before (81089, all read by
  // then). Frames 179, 195 and 196 show lower bounds (92883, 94331, 95779): what they would add
  // is the rest of frame 177's, read at the next higher bound (frame 198's) instead of in three
  // small reads.
  expect([179, 195, 196].filter((frame) => shownBy.has(frame))).toEqual([]);
  expect(shownBy.has(198)).toBe(true);
  // The reads follow their times, whichever ACK showed them.
  expect(reads.every((r, i) => i === 0 || r.atMs >= reads[i - 1].atMs)).toBe(true);
  expect(reads.reduce((sum, r) => sum + (r.call.length ?? 0), 0)).toBe(256 * 1024);
});
