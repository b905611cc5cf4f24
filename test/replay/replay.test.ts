/**
 * replayCapture (ustack/replay): a capture of ustack talking to ustack replays with no
 * divergence from either end; a segment changed in the capture is caught and named by its frame
 * and field.
 */
import { describe, expect, it } from 'vitest';
import { startTcpUpperServer, tcpUpperClient } from '../../examples/tcp-upper.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { PcapWriter } from '../../src/pcap/pcap-writer.js';
import { timestampToMs } from '../../src/pcap/timestamp.js';
import { inferSockets, replayCapture } from '../../src/replay.js';
import { captureUstackPair, describeDivergences, expectLossyTransferReplays, IPV4_PAIR, lossyTransfer, records, withRecordChanged } from './ustack-pair.js';

const CLIENT = IPV4_PAIR.client;
const SERVER = IPV4_PAIR.server;

describe('a capture of ustack talking to ustack replays with no divergence', () => {
  it('the upper-casing exchange, from the server end (listened, read, wrote, closed) and the client end (connected, wrote, read)', async () => {
    const capture = await captureUstackPair(async (client, server) => {
      startTcpUpperServer(server, 12000);
      return tcpUpperClient(client, SERVER, 'a sentence in lower case', 12000);
    });
    const server = await replayCapture(capture.server, { host: SERVER });
    expect(describeDivergences(server)).toBe('');
    expect(server.pass).toBe(true);
    expect(server.conversations).toHaveLength(1);
    expect(server.conversations[0]).toMatchObject({ role: 'listened', host: `${SERVER}:12000` });
    expect(server.conversations[0].matched).toBe(server.conversations[0].expected);
    const client = await replayCapture(capture.client, { host: CLIENT });
    expect(describeDivergences(client)).toBe('');
    expect(client.conversations[0]).toMatchObject({ role: 'connected', peer: `${SERVER}:12000` });
  });

  it("64 KiB through a link losing 5 % of the client's frames, from both ends, each capture taken at either end", async () => {
    const capture = await expectLossyTransferReplays(4);
    // Without the tolerance, the windows are named.
    const exact = await replayCapture(capture.server, { host: SERVER });
    expect(new Set(exact.divergences.map((d) => d.kind))).toEqual(new Set(['window']));
  });
});

/** The capture with frame `frame` (from 1) changed by `edit` on its IPv4 packet's TCP header and payload. */
function withSegmentChanged(bytes: Uint8Array, frame: number, edit: (tcp: DataView, payload: Uint8Array) => void): Uint8Array {
  return withRecordChanged(bytes, frame, (data) => {
    const ipHeader = (data[0] & 0x0f) * 4;
    const tcpHeader = (data[ipHeader + 12] >> 4) * 4;
    edit(new DataView(data.buffer, ipHeader, tcpHeader), data.subarray(ipHeader + tcpHeader));
  });
}

/** Frame numbers of the segments `source` sent, with their payload lengths. */
function segmentsFrom(bytes: Uint8Array, source: string): Array<{ frame: number; length: number }> {
  const [a, b, c, d] = source.split('.').map(Number);
  return records(bytes)
    .filter((r) => r.data[9] === 6 && r.data[12] === a && r.data[13] === b && r.data[14] === c && r.data[15] === d)
    .map((r) => {
      const ipHeader = (r.data[0] & 0x0f) * 4;
      return { frame: r.index + 1, length: r.data.length - ipHeader - (r.data[ipHeader + 12] >> 4) * 4 };
    });
}

describe('a capture with a deliberately changed segment: the divergence is caught and named by frame and field', async () => {
  const capture = await captureUstackPair(async (client, server) => {
    startTcpUpperServer(server, 12000);
    return tcpUpperClient(client, SERVER, 'a sentence in lower case', 12000);
  });
  const serverSegments = segmentsFrom(capture.server, SERVER);
  const answer = serverSegments.find((s) => s.length > 0)!.frame;
  const bareAck = serverSegments.filter((s) => s.length === 0)[1].frame;

  it('a payload byte of a retransmission: the host resent other bytes than it first sent', async () => {
    const lossy = await lossyTransfer(4);
    // The client's retransmissions: a sequence number it sent data from twice.
    const seen = new Set<number>();
    let resent = 0;
    for (const record of records(lossy.client)) {
      const ipHeader = (record.data[0] & 0x0f) * 4;
      if (record.data[12] !== 10 || record.data[15] !== 1 || record.data.length - ipHeader <= 32) continue;
      const seq = new DataView(record.data.buffer, record.data.byteOffset + ipHeader).getUint32(4);
      if (seen.has(seq)) {
        resent = record.index + 1;
        break;
      }
      seen.add(seq);
    }
    expect(resent).toBeGreaterThan(0);
    const changed = withSegmentChanged(lossy.client, resent, (_, payload) => (payload[3] ^= 0x20));
    const result = await replayCapture(changed, { host: CLIENT });
    expect(result.pass).toBe(false);
    expect(result.divergences.map((d) => [d.kind, d.frames.capture])).toEqual([['payload', resent]]);
    const [divergence] = result.divergences;
    expect(divergence.message).toContain(`frame ${resent}`);
    expect(divergence.message).toContain('byte 3');
    expect(divergence.expected!.payload[3]).toBe(divergence.actual!.payload[3] ^ 0x20);
    expect(divergence.frames.replay).toBe(divergence.actual!.frame);
  });

  it('the acknowledgement number of a bare ACK, the window and the flags of the answer', async () => {
    const ack = await replayCapture(
      withSegmentChanged(capture.server, bareAck, (tcp) => tcp.setUint32(8, tcp.getUint32(8) + 1)),
      { host: SERVER },
    );
    // A bare ACK is lined up by what it acknowledges: changed, it is one the host sent and ustack did not, and the reverse.
    expect(ack.divergences.map((d) => [d.kind, d.frames.capture])).toEqual(expect.arrayContaining([['missing', bareAck]]));
    expect(ack.divergences.filter((d) => d.kind === 'extra')).toHaveLength(1);
    const window = await replayCapture(
      withSegmentChanged(capture.server, answer, (tcp) => tcp.setUint16(14, tcp.getUint16(14) - 100)),
      { host: SERVER },
    );
    expect(window.divergences.map((d) => [d.kind, d.frames.capture])).toEqual([['window', answer]]);
    expect(window.divergences[0].message).toMatch(/ustack's window \d+ bytes .*, the host's \d+/);
    expect(
      (
        await replayCapture(
          withSegmentChanged(capture.server, answer, (tcp) => tcp.setUint8(13, tcp.getUint8(13) | 0x40)),
          { host: SERVER },
        )
      ).divergences.map((d) => [d.kind, d.frames.capture]),
    ).toEqual([['flags', answer]]);
  });

  it('within a stated tolerance a changed window passes; with --strict a PSH bit the host left off is named', async () => {
    const window = withSegmentChanged(capture.server, answer, (tcp) => tcp.setUint16(14, tcp.getUint16(14) - 100));
    expect((await replayCapture(window, { host: SERVER, tolerances: { windowBytes: 100 * 32 } })).pass).toBe(true);
    const noPush = withSegmentChanged(capture.server, answer, (tcp) => tcp.setUint8(13, tcp.getUint8(13) & ~0x08));
    expect((await replayCapture(noPush, { host: SERVER })).pass).toBe(true);
    const strict = await replayCapture(noPush, { host: SERVER, strict: true });
    expect(strict.divergences.map((d) => [d.kind, d.frames.capture])).toEqual([['flags', answer]]);
  });
});

describe('the sockets side: inferred from the capture, or given', () => {
  it('inferSockets says what replayCapture plays; given back explicitly it replays the same; a close left out is a missing FIN', async () => {
    const capture = await captureUstackPair(async (client, server) => {
      startTcpUpperServer(server, 12000);
      return tcpUpperClient(client, SERVER, 'a sentence in lower case', 12000);
    });
    const [inferred] = await inferSockets(capture.server, SERVER);
    expect(inferred.conversation).toBe(1);
    expect(inferred.calls.map((c) => c.call.name)).toEqual(['socket', 'setsockopt', 'bind', 'listen', 'accept', 'read', 'write', 'close']);
    expect(inferred.calls.find((c) => c.call.name === 'write')!.call.length).toBe(24);
    const again = await replayCapture(capture.server, { host: SERVER, sockets: [inferred] });
    expect(describeDivergences(again)).toBe('');
    const noClose = { conversation: 1, calls: inferred.calls.filter((c) => c.call.name !== 'close') };
    const result = await replayCapture(capture.server, { host: SERVER, sockets: [noClose] });
    const finFrame = segmentsFrom(capture.server, SERVER).at(-2)!.frame;
    expect(result.divergences.map((d) => [d.kind, d.frames.capture])).toContainEqual(['missing', finFrame]);
  });
});

describe('several conversations, and captures that cannot be replayed', () => {
  it('three connections from one client (two answered, one refused) replay in one stack from both ends, ports mapped', async () => {
    const capture = await captureUstackPair(async (client, server) => {
      startTcpUpperServer(server, 12000);
      const first = await tcpUpperClient(client, SERVER, 'one', 12000);
      const refused = client.socket(C.AF_INET, C.SOCK_STREAM);
      await client.connect(refused, { address: SERVER, port: 12001 }).catch(() => undefined);
      client.close(refused);
      return [first, await tcpUpperClient(client, SERVER, 'two', 12000)];
    });
    const asClient = await replayCapture(capture.client, { host: CLIENT });
    expect(describeDivergences(asClient)).toBe('');
    expect(asClient.conversations.map((c) => [c.role, c.peer])).toEqual([
      ['connected', `${SERVER}:12000`],
      ['connected', `${SERVER}:12001`],
      ['connected', `${SERVER}:12000`],
    ]);
    expect(asClient.notes.filter((note) => note.includes('ECONNREFUSED'))).toHaveLength(1);
    const asServer = await replayCapture(capture.server, { host: SERVER });
    expect(describeDivergences(asServer)).toBe('');
    expect(asServer.conversations.map((c) => c.role)).toEqual(['listened', 'none', 'listened']);
    const second = await replayCapture(capture.server, { host: SERVER, conversations: [3] });
    expect(second.conversations.map((c) => c.number)).toEqual([3]);
    expect(second.pass).toBe(true);
  });

  it('bytes that are no capture: a ReplayError; a host with no TCP conversation: nothing to compare, said in a note', async () => {
    await expect(replayCapture(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), { host: SERVER })).rejects.toThrow(/not a readable capture/);
    await expect(replayCapture(new Uint8Array(0), { host: 'server' })).rejects.toThrow(/not an IPv4 address|not a readable capture/);
    const capture = await captureUstackPair(async (client, server) => {
      startTcpUpperServer(server, 12000);
      return tcpUpperClient(client, SERVER, 'one', 12000);
    });
    const nobody = await replayCapture(capture.server, { host: '10.9.9.9' });
    expect(nobody.conversations).toEqual([]);
    expect(nobody.notes).toEqual(['10.9.9.9 is not an end of any TCP conversation in the capture']);
  });

  it('a conversation whose SYN the capture missed is not replayed, and the note says why', async () => {
    const capture = await captureUstackPair(async (client, server) => {
      startTcpUpperServer(server, 12000);
      return tcpUpperClient(client, SERVER, 'one', 12000);
    });
    const list = records(capture.server);
    const writer = new PcapWriter({ linkType: list[0].linkType });
    for (const record of list.slice(1)) writer.record(timestampToMs(record), record.data);
    const result = await replayCapture(writer.toBytes(), { host: SERVER });
    expect(result.conversations).toEqual([]);
    expect(result.notes).toEqual([expect.stringMatching(/^conversation 1 not replayed: conversation 1 does not start with a SYN/)]);
  });
});
