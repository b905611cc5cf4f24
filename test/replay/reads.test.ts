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
import { inferReads, queuedWithin } from '../../src/replay/reads.js';
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

/**
 * 300 KiB from a client to a server that reads KNOWN_READS, then the rest; the server's capture.
 * `lossRate` drops that share of the client's frames (seeded), so the server holds data out of order.
 */
async function captureKnownReads(lossRate = 0): Promise<{ capture: Uint8Array; startMs: number; readEnds: number[] }> {
  const net = new VirtualNetwork(lossRate > 0 ? 7 : 5);
  const clientStack = net.createStack('client');
  const serverStack = net.createStack('server', { tcp: { receiveWindowGrowth: 'linux', ...BUFFER } });
  const { b } = net.connect(
    { stack: clientStack, address: `${CLIENT}/24`, faults: lossRate > 0 ? { lossRate } : undefined },
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
  // Through loss the server holds data out of order and its window shrinks while its right edge
  // stays (a kept edge, which shows no read): read as bounds, those windows made 115 reads where
  // the application made 4 and a close, 29168 bytes of them before its first.
  it.each([
    ['', 0],
    [' through 2 % loss', 0.02],
  ])('infers known reads back from the receiver’s windows%s: when (at the read) and how much (within a segment)', async (_, lossRate) => {
    const { capture, startMs, readEnds } = await captureKnownReads(lossRate);
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
  // reading as the windows show: 69 and 12 (docs/replay.md).
  expect(fromWindow.divergences.length).toBeLessThan(perRun.divergences.length * 0.6);
  expect(extraAcks(perRun)).toBeGreaterThan(30);
  expect(extraAcks(fromWindow)).toBeLessThanOrEqual(20);
});

it("eth.pcap's inferred reads: a kept right edge shows none (frames 53-121, 152-177), and a bound no higher than an earlier one shows none", () => {
  const parsed = readCapture(readFileSync(join(FIXTURES, 'eth.pcap')));
  if (!parsed.ok) throw new Error(parsed.error.message);
  const records = parsed.value.records;
  const host = parseIpv4Address('10.1.1.2')!;
  // The 256 KiB transfer: the conversation with the most segments.
  const conversations = tcpConversations(records);
  const transfer = conversations.indexOf(conversations.reduce((a, b) => (b.segments.length > a.segments.length ? b : a))) + 1;
  const plan = planConversation(records, { host, conversation: transfer });
  const reads = inferReads(plan, lostBeforeHost(plan), BUFFER, timestampToMs(records[0]));
  const shownBy = reads.map((r) => r.shownBy);
  // From frame 53 to 121 the host's right edge stays (within a unit of 1 KiB: 89905 from frame
  // 71) while its window shrinks, and again from frame 152 to 177 (160961): Linux offered the
  // window still open (tcp_select_window), which bounds nothing read. The least reading each of
  // those windows allows, read as bounds, made 30 small reads there.
  expect(shownBy.filter((frame) => (frame >= 53 && frame <= 121) || (frame >= 152 && frame <= 177))).toEqual([]);
  // The read that frame 132's window update shows (29 -> 77 KiB) is there, and the reads follow
  // their times whichever ACK showed them.
  expect(shownBy).toContain(132);
  expect(reads.every((r, i) => i === 0 || r.atMs >= reads[i - 1].atMs)).toBe(true);
  // Each inferred read is shown by an ACK whose bound rose above every earlier one.
  expect(new Set(shownBy.filter((frame) => frame > 0)).size).toBe(shownBy.filter((frame) => frame > 0).length);
  expect(reads.reduce((sum, r) => sum + (r.call.length ?? 0), 0)).toBe(256 * 1024);
});

it('queuedWithin: the most a receiver can hold queued and still offer a window, a part segment charged as a whole one', () => {
  // veth's buffers: 2216 bytes of memory for 1448 of payload, scaling ratio 167.
  const queued = queuedWithin(131072, 33792, 167, 1448, 768);
  const free = (bytes: number) => Math.floor(((131072 - bytes - Math.ceil(bytes / 1448) * 768) * 167) / 256);
  expect(queued).toBe(35 * 1448 + 943);
  expect(free(queued)).toBeGreaterThanOrEqual(33792);
  expect(free(queued + 1)).toBeLessThan(33792);
  // A whole segment more costs its overhead too: 943 bytes into the 36th segment, not 943 + 768.
  expect(free(35 * 1448 + 944)).toBeLessThan(33792);
  expect(queuedWithin(131072, 85504, 167, 1448, 768)).toBe(0);
});

it("eth.pcap's windows under half the buffer's are its free window rounded down: the reads inferred from them give the host's windows at frames 122-131", async () => {
  // After the retransmission that fills the hole up to 62265 the host offers 33 << 10 and then 29
  // << 10, under half of the 85504-byte window of its 131072-byte buffer, where Linux rounds the
  // free window down to the unit (__tcp_select_window): its free memory was at least 33792 × 256 /
  // 167 bytes. Read off linearly (a byte of queue costing its share of a segment's truesize), the
  // bound let 175 bytes more stay queued than whole buffers allow, and ustack offered 32 and 28 << 10.
  const result = await replayCapture(join(FIXTURES, 'eth.pcap'), { host: '10.1.1.2', linux: true, datagrams: false });
  const windows = result.divergences.filter((d) => d.kind === 'window').map((d) => d.frames.capture);
  expect(windows.filter((frame) => frame !== undefined && frame >= 122 && frame <= 131)).toEqual([]);
});

it("eth.pcap's window update at frame 232 shows a read made before frame 226, the first segment it does not acknowledge", () => {
  const parsed = readCapture(readFileSync(join(FIXTURES, 'eth.pcap')));
  if (!parsed.ok) throw new Error(parsed.error.message);
  const records = parsed.value.records;
  const conversations = tcpConversations(records);
  const transfer = conversations.indexOf(conversations.reduce((a, b) => (b.segments.length > a.segments.length ? b : a))) + 1;
  const plan = planConversation(records, { host: parseIpv4Address('10.1.1.2')!, conversation: transfer });
  const origin = timestampToMs(records[0]);
  const reads = inferReads(plan, lostBeforeHost(plan), BUFFER, origin);
  // Frame 232 (1086.510 ms) opens the window at ack 175441, though frames 226-231 (175441-182889,
  // from 1086.499 ms) had passed the tap: the host sent it before it took them in (the reader held
  // the socket, or they were not processed yet). The read goes before frame 226, not at 232.
  const update = reads.find((r) => r.shownBy === 232)!;
  expect(update).toBeDefined();
  expect(update.afterFrame).toBe(225);
  const frame226 = records[225];
  expect(update.atMs).toBeCloseTo(timestampToMs(frame226) - origin, 6);
});
