/**
 * replayCapture over IPv6 (`--host` an IPv6 address): a capture of two ustack stacks talking
 * IPv6 — TCP (the upper-casing exchange, a refused connection, 64 KiB through 5 % loss), UDP
 * echoes of 100 and 3000 bytes (fragmented), pings of 56 and 3000 bytes, a closed UDP port —
 * replays with no divergence from either end; a changed IPv6 segment, and a changed ICMPv6 echo
 * request, are caught and named by frame and field; `ustack replay --host fd00:7::2` says the same.
 */
import { describe, expect, it } from 'vitest';
import { startTcpUpperServer } from '../../examples/tcp-upper.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { PcapWriter } from '../../src/pcap/pcap-writer.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { inferDatagramSockets, replayCapture } from '../../src/replay.js';
import { captureUstackPair, describeDivergences, expectLossyTransferReplays, IPV6_PAIR, records, withRecordChanged } from './ustack-pair.js';
import { runReplay } from '../../src/replay/replay-command.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mutatedCases } from '../dissect/edge-cases.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLIENT = IPV6_PAIR.client;
const SERVER = IPV6_PAIR.server;

/** The client's side of the upper-casing exchange over AF_INET6: connect, write, read to the end. */
async function upperClient6(api: BerkeleySockets, sentence: string, port: number): Promise<string> {
  const fd = api.socket(C.AF_INET6, C.SOCK_STREAM);
  try {
    await api.connect(fd, { address: SERVER, port });
    await api.send(fd, new TextEncoder().encode(sentence));
    let reply = '';
    for (;;) {
      const data = await api.recv(fd, 1024);
      if (data.length === 0) return reply;
      reply += new TextDecoder().decode(data);
    }
  } finally {
    api.close(fd);
  }
}

/** TCP (answered and refused), UDP (an echo of 100 and 3000 bytes, a closed port) and pings (56 and 3000 bytes), all over IPv6. */
function mixedExchange() {
  return captureUstackPair(
    async (client, server, stacks) => {
      startTcpUpperServer(server, 12000, () => {}, 6);
      const echo = stacks.server.dgram.createSocket('udp6');
      echo.on('message', (message, from) => echo.send(message, from.port, from.address));
      echo.bind(7000);
      expect(await upperClient6(client, 'a sentence in lower case', 12000)).toBe('A SENTENCE IN LOWER CASE');
      const refused = client.socket(C.AF_INET6, C.SOCK_STREAM);
      await client.connect(refused, { address: SERVER, port: 12001 }).catch(() => undefined);
      client.close(refused);
      stacks.client.ping6(SERVER, 0x1234, 1);
      stacks.client.ping6(
        SERVER,
        0x1234,
        2,
        new Uint8Array(3000).map((_, i) => i & 0xff),
      );
      const socket = stacks.client.dgram.createSocket('udp6');
      const answered = new Promise<void>((resolve) => {
        let answers = 0;
        socket.on('message', () => {
          if (++answers === 2) resolve();
        });
      });
      socket.send(new Uint8Array(100).fill(7), 7000, SERVER);
      socket.send(
        new Uint8Array(3000).map((_, i) => (i * 3) & 0xff),
        7000,
        SERVER,
      );
      await answered;
      socket.send(new Uint8Array(20), 7001, SERVER);
    },
    { ipv6: true },
  );
}

/** The frames of `bytes` carrying TCP over IPv6 (Next Header 6 right after the fixed header) from `source`'s last group `last`. */
function tcpFrames(bytes: Uint8Array, lastByteOfSource: number): Array<{ frame: number; flags: number; length: number }> {
  return records(bytes).flatMap((record) => {
    const d = record.data;
    if (d[0] >> 4 !== 6 || d[6] !== 6 || d[23] !== lastByteOfSource) return [];
    const tcpHeader = (d[40 + 12] >> 4) * 4;
    return [{ frame: record.index + 1, flags: d[40 + 13], length: d.length - 40 - tcpHeader }];
  });
}

describe('a capture of ustack talking to ustack over IPv6 replays with no divergence', () => {
  it('TCP (answered, refused), UDP echoes of 100 and 3000 bytes, a closed port, pings of 56 and 3000 bytes: from either end', async () => {
    const capture = await mixedExchange();
    expect(records(capture.server)[0].data[0] >> 4).toBe(6);
    const asServer = await replayCapture(capture.server, { host: SERVER });
    expect(describeDivergences(asServer)).toBe('');
    expect(asServer.pass).toBe(true);
    expect(asServer.conversations.map((c) => [c.role, c.host])).toEqual([
      ['listened', `[${SERVER}]:12000`],
      ['none', `[${SERVER}]:12001`],
    ]);
    expect(asServer.conversations[0].matched).toBe(asServer.conversations[0].expected);
    // Two echo replies (one in 3 fragments), two UDP echoes (one in 3 fragments), a port unreachable.
    expect(asServer.datagrams).toMatchObject({ sockets: [{ port: 7000, sends: 2 }], expected: 5, actual: 5, matched: 5 });
    expect(asServer.settings.mtu).toBe(1500); // the server's MSS 1440 + 60
    const asClient = await replayCapture(capture.client, { host: CLIENT });
    expect(describeDivergences(asClient)).toBe('');
    expect(asClient.conversations.map((c) => [c.role, c.peer])).toEqual([
      ['connected', `[${SERVER}]:12000`],
      ['connected', `[${SERVER}]:12001`],
    ]);
    expect(asClient.notes).toContain("the host's 2 echo requests (a ping it ran) are not replayed");
    expect(asClient.datagrams).toMatchObject({ expected: 3, actual: 3, matched: 3 });
    // The same capture read for IPv4 has nothing of 10.0.0.2's: only IPv6 flowed.
    const asIpv4 = await replayCapture(capture.server, { host: '10.0.0.2' });
    expect(asIpv4.conversations).toEqual([]);
    expect(asIpv4.notes).toContain('10.0.0.2 is not an end of any TCP conversation in the capture');
  });

  it("64 KiB through a link losing 5 % of the client's frames, from both ends, each capture taken at either end (SACK, retransmissions)", async () => {
    await expectLossyTransferReplays(6);
  });
});

describe('a changed IPv6 segment or datagram is caught and named', () => {
  it("the window and the flags of the server's answer, the acknowledgement of a bare ACK: each named by frame and field", async () => {
    const capture = await mixedExchange();
    // The server's segments (fd00:7::2): its SYN-ACK, then the answer (24 bytes), then its FIN.
    const fromServer = tcpFrames(capture.server, 2);
    const answer = fromServer.find((s) => s.length === 24)!.frame;
    // The replay writes what the capture shows the host wrote, so a changed payload byte is not
    // ustack's to differ in; the header fields the stack chooses are.
    const tcpHeaderOf = (packet: Uint8Array) => new DataView(packet.buffer, packet.byteOffset + 40);
    const window = await replayCapture(
      withRecordChanged(capture.server, answer, (packet) => tcpHeaderOf(packet).setUint16(14, tcpHeaderOf(packet).getUint16(14) - 100)),
      { host: SERVER },
    );
    expect(window.divergences.map((d) => [d.kind, d.frames.capture])).toEqual([['window', answer]]);
    expect(window.divergences[0].message).toMatch(
      new RegExp(`^frame ${answer} \\(P\\. 1:25\\(24\\) ack 25 .*\\): ustack's window \\d+ bytes .*, the host's \\d+`),
    );
    const flags = await replayCapture(
      withRecordChanged(capture.server, answer, (packet) => (packet[40 + 13] |= 0x40)),
      { host: SERVER },
    );
    expect(flags.divergences.map((d) => [d.kind, d.frames.capture])).toEqual([['flags', answer]]);

    const bareAck = fromServer.find((s) => s.length === 0 && s.flags === 0x10)!.frame;
    const changedAck = withRecordChanged(capture.server, bareAck, (packet) => {
      const view = new DataView(packet.buffer, packet.byteOffset + 40);
      view.setUint32(8, view.getUint32(8) + 1);
    });
    const ack = await replayCapture(changedAck, { host: SERVER });
    // A bare ACK is lined up by what it acknowledges: changed, the host's is missing and ustack's extra.
    expect(ack.divergences.map((d) => [d.kind, d.frames.capture ?? 'replay'])).toEqual(expect.arrayContaining([['missing', bareAck]]));
    expect(ack.divergences.filter((d) => d.kind === 'extra')).toHaveLength(1);
  });

  it('a changed echo request: ustack echoes the changed bytes and the reply is named; a closed port opened: its unreachable is missing', async () => {
    const capture = await mixedExchange();
    const list = records(capture.server);
    // The first echo request (ICMPv6 type 128, not fragmented) from the client.
    const request = list.find((r) => r.data[6] === 58 && r.data[40] === 128)!.index + 1;
    const changed = withRecordChanged(capture.server, request, (packet) => {
      packet[40 + 8 + 10] ^= 0xff; // the replay computes the ICMPv6 checksum again (over the pseudo-header)
    });
    const result = await replayCapture(changed, { host: SERVER });
    expect(result.divergences.map((d) => d.kind)).toEqual(['payload']);
    const [reply] = result.divergences;
    expect(reply.frames.capture).toBeGreaterThan(request);
    expect(reply.datagram).toBe('icmp6 echo_reply to fd00:7::1 id 4660 seq 1');
    expect(reply.message).toMatch(/^frame \d+ \(icmp6 echo_reply to fd00:7::1 id 4660 seq 1 len 56\): differs from byte 10: ustack 0x[0-9a-f]{2}, the host 0x/);

    // The datagram to the closed port 7001 sent to 7000 instead, with the capture's sockets
    // given: the echo socket answers it, so the host's port unreachable is missing and ustack's echo extra.
    const closed = list.find((r) => r.data[6] === 17 && ((r.data[42] << 8) | r.data[43]) === 7001)!.index + 1;
    const reopened = withRecordChanged(capture.server, closed, (packet) => {
      packet[43] = 7000 & 0xff;
    });
    const sockets = await inferDatagramSockets(capture.server, SERVER);
    expect(sockets.map((s) => s.port)).toEqual([7000]);
    expect(sockets[0].sends.map((send) => [send.to.startsWith(`[${CLIENT}]:`), send.data.length])).toEqual([
      [true, 100],
      [true, 3000],
    ]);
    const moved = await replayCapture(reopened, { host: SERVER, datagramSockets: sockets });
    expect(moved.divergences.map((d) => [d.kind, d.datagram?.split(' ')[0]])).toEqual([['missing', 'icmp6']]);
    expect(moved.divergences[0].expectedDatagram!.key).toMatch(/^icmp6 unreachable\/port_unreachable to fd00:7::1 quoting udp \d+ > 7001$/);
  });
});

describe('ustack replay --host with an IPv6 address', () => {
  it('PASS with exit 0 for the ustack capture; a bad address is a usage error (exit 2)', async () => {
    const capture = await mixedExchange();
    const scratch = mkdtempSync(join(tmpdir(), 'ustack-replay6-'));
    try {
      const file = join(scratch, 'server6.pcap');
      writeFileSync(file, capture.server);
      const lines: string[] = [];
      expect(await runReplay([file, '--host', SERVER], (line) => lines.push(line))).toBe(0);
      expect(lines.join('\n')).toMatch(/PASS: no divergence/);
      expect(lines.join('\n')).toContain(`[${SERVER}]:12000`);
      const errors: string[] = [];
      expect(
        await runReplay(
          [file, '--host', 'fd00::7::2'],
          () => {},
          (line) => errors.push(line),
        ),
      ).toBe(2);
      expect(errors.join('\n')).toMatch(/IPv4 or IPv6/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('hostile IPv6 input', () => {
  it("600 of the kernel fixture's IPv6 frames (TCP, UDP, ICMPv6, fragments, extension headers) with header bytes changed replay without a throw, every divergence named by a frame", async () => {
    const capture = readCapture(new Uint8Array(readFileSync(fileURLToPath(new URL('../../captures/fixtures/ipv6/eth.pcap', import.meta.url)))));
    if (!capture.ok) throw new Error(capture.error.message);
    // Frames 18–99: NDP, pings (fragmented too), UDP, TCP, the hand-made packets, the forwarded ones.
    const frames = capture.value.records.slice(17).map((r) => ({ data: r.data, linkType: r.linkType }));
    const writer = new PcapWriter({ linkType: capture.value.records[0].linkType });
    mutatedCases(frames, 6, 600, { window: 100, cut: true }).forEach((edge, i) => writer.record(i, edge.frame));
    for (const host of ['fd00:15::2', 'fd00:15::1']) {
      const result = await replayCapture(writer.toBytes(), { host });
      expect(result.datagrams!.inbound).toBeGreaterThan(10); // some still reach each end as IPv6 packets to it
      expect(result.divergences.every((d) => d.frames.capture !== undefined || d.frames.replay !== undefined)).toBe(true);
    }
  });
});
