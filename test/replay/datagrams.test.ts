/**
 * replayCapture replays UDP and ICMP as well as TCP: the packets that reached the host go in as
 * captured (fragments too), its UDP sockets — inferred (a port it answered datagrams from was
 * bound; what it sent, its application wrote) or given — send what it sent, and ustack's echo
 * replies, port unreachables and datagrams are compared with the host's. A capture of ustack
 * talking to ustack replays with no divergence; a kernel fixture with exactly the documented
 * IP-header differences; a changed datagram is caught and named by its frame.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../../src/ip/checksum.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { PcapWriter } from '../../src/pcap/pcap-writer.js';
import { timestampToMs } from '../../src/pcap/timestamp.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { mutatedCases } from '../dissect/edge-cases.js';
import { inferDatagramSockets, replayCapture, type Divergence, type ReplayResult } from '../../src/replay.js';

const FIXTURES = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../captures/fixtures');
const ETH = new Uint8Array(readFileSync(join(FIXTURES, 'eth.pcap')));

/** Each datagram divergence as `kind frame`, the capture's frame (or `+N`, ustack's replay frame). */
function datagramDivergences(result: ReplayResult): string[] {
  return result.divergences.filter((d) => d.datagram !== undefined).map((d: Divergence) => `${d.kind} ${d.frames.capture ?? `+${d.frames.replay}`}`);
}

/** eth.pcap with frame `frame`'s IPv4 packet (after the 14-byte Ethernet header) changed by `edit`. */
function ethWithPacketChanged(frame: number, edit: (packet: Uint8Array) => void): Uint8Array {
  const capture = readCapture(ETH);
  if (!capture.ok) throw new Error(capture.error.message);
  const writer = new PcapWriter({ linkType: capture.value.records[0].linkType });
  for (const record of capture.value.records) {
    const data = record.data.slice();
    if (record.index + 1 === frame) edit(data.subarray(14));
    writer.record(timestampToMs(record), data);
  }
  return writer.toBytes();
}

/** Sets the ICMP checksum of `packet` (20-byte IP header) right again. */
function fixIcmpChecksum(packet: Uint8Array): void {
  const icmp = packet.subarray(20, (packet[2] << 8) | packet[3]);
  icmp[2] = 0;
  icmp[3] = 0;
  const sum = internetChecksum(icmp);
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
}

describe("a kernel fixture's UDP and ICMP (eth.pcap, its receiving end 10.1.1.2)", () => {
  it('every datagram lines up, fragmented ones whole; the divergences are the four documented IP-header ones', async () => {
    const result = await replayCapture(ETH, { host: '10.1.1.2' });
    // 15 packets in: 6 pings (2 of 3 fragments each), the UDP echoes (100 and 3000 bytes), the closed port.
    expect(result.datagrams).toEqual({ inbound: 15, sockets: [{ port: 6000, sends: 2 }], expected: 9, actual: 9, matched: 9 });
    // Frame 20: ping -R (Linux records its address on arrival and on leaving, ustack once); 22:
    // ping -T tsonly (likewise a time stamp); 24: DF on the 100-byte UDP echo (Linux's path MTU
    // discovery); 32: the port unreachable with TOS 0xc0 (precedence 6).
    expect(datagramDivergences(result)).toEqual(['ip 20', 'ip 22', 'ip 24', 'ip 32']);
    const byFrame = new Map(result.divergences.map((d) => [d.frames.capture, d]));
    expect(byFrame.get(20)?.message).toContain("ustack's IP options <rr ptr 12 [10.1.1.1 10.1.1.2]>, the host's <rr ptr 16 [10.1.1.1 10.1.1.2 10.1.1.2]>");
    expect(byFrame.get(24)?.message).toContain("ustack's IP header TTL 64, DF 0, TOS 0x00; the host's TTL 64, DF 1, TOS 0x00");
    expect(byFrame.get(32)?.expectedDatagram?.text).toBe('icmp unreachable/port_unreachable to 10.1.1.1 quoting udp 57489 > 6001 (60 bytes quoted)');
    // 2 ARP frames not replayed; the ping replies and the 3000-byte UDP echo went out in 3 fragments each, as the host's.
    expect(result.framesNotReplayed).toBe(2);
  });

  it('a changed echo request: ustack echoes the changed bytes, and the reply is named (frame 4, payload byte 10)', async () => {
    const changed = ethWithPacketChanged(3, (packet) => {
      packet[20 + 8 + 10] ^= 0xff;
      fixIcmpChecksum(packet);
    });
    const result = await replayCapture(changed, { host: '10.1.1.2' });
    expect(datagramDivergences(result)).toEqual(['payload 4', 'ip 20', 'ip 22', 'ip 24', 'ip 32']);
    const payload = result.divergences.find((d) => d.kind === 'payload')!;
    expect(payload.message).toMatch(
      /^frame 4 \(icmp echo_reply to 10\.1\.1\.1 id 2227 seq 1 len 56\): differs from byte 10: ustack 0x[0-9a-f]{2}, the host 0x/,
    );
    expect(payload.frames.replay).toBeGreaterThan(0);
  });

  it("a UDP request sent to the open port instead of the closed one: the host's port unreachable (frame 32) is missing", async () => {
    const changed = ethWithPacketChanged(31, (packet) => {
      packet[20 + 3] = 6000 & 0xff; // destination port 6001 → 6000 (0x1771 → 0x1770); replay fixes the checksum
    });
    const result = await replayCapture(changed, { host: '10.1.1.2' });
    // ustack's socket on 6000 read it and kept quiet, as the application's would.
    expect(datagramDivergences(result)).toEqual(['ip 20', 'ip 22', 'ip 24', 'missing 32']);
    expect(result.divergences.find((d) => d.kind === 'missing' && d.datagram !== undefined)!.message).toBe(
      'frame 32 (icmp unreachable/port_unreachable to 10.1.1.1 quoting udp 57489 > 6001 (60 bytes quoted)) at 743.513 ms: the host sent it, ustack sent nothing like it',
    );
  });

  it("a UDP request to another port, with the capture's sockets given: ustack refuses it with a port unreachable the host never sent (extra, named)", async () => {
    const changed = ethWithPacketChanged(23, (packet) => {
      packet[20 + 3] = 6002 & 0xff; // destination port 6000 → 6002 (0x1770 → 0x1772)
    });
    // Inferred from the changed capture, 6002 would be a socket that read and kept quiet: the
    // original's sockets (6000 only) say the application had none there.
    const result = await replayCapture(changed, { host: '10.1.1.2', datagramSockets: await inferDatagramSockets(ETH, '10.1.1.2') });
    const extra = result.divergences.filter((d) => d.kind === 'extra' && d.datagram !== undefined);
    expect(extra.map((d) => d.actualDatagram?.text)).toEqual(['icmp unreachable/port_unreachable to 10.1.1.1 quoting udp 44757 > 6002 (128 bytes quoted)']);
    expect(extra[0].message).toMatch(
      /^replay frame \d+ \(icmp unreachable\/port_unreachable .*\) at 640\.\d+ ms: ustack sent it, the host sent nothing like it$/,
    );
  });

  it("the host's port unreachable changed to a host unreachable: missing, frame 32", async () => {
    const changed = ethWithPacketChanged(32, (packet) => {
      packet[20 + 1] = 1;
      fixIcmpChecksum(packet);
    });
    const result = await replayCapture(changed, { host: '10.1.1.2' });
    // The host refused nothing now, so port 6001 is inferred a socket that read: ustack keeps quiet too.
    expect(datagramDivergences(result)).toEqual(['ip 20', 'ip 22', 'ip 24', 'missing 32']);
    expect(result.divergences.find((d) => d.kind === 'missing' && d.datagram !== undefined)?.expectedDatagram?.key).toBe(
      'icmp unreachable/host_unreachable to 10.1.1.1 quoting udp 57489 > 6001',
    );
  });

  it('sockets given: the inferred ones replay as inferred; none at all leaves the UDP echoes missing and ustack refusing them', async () => {
    const sockets = await inferDatagramSockets(ETH, '10.1.1.2');
    expect(sockets.map((s) => ({ port: s.port, sends: s.sends.map((send) => [send.to, send.data.length, send.afterFrame]) }))).toEqual([
      {
        port: 6000,
        sends: [
          ['10.1.1.1:44757', 100, 23],
          ['10.1.1.1:44757', 3000, 27],
        ],
      },
    ]);
    const given = await replayCapture(ETH, { host: '10.1.1.2', datagramSockets: sockets });
    expect(datagramDivergences(given)).toEqual(['ip 20', 'ip 22', 'ip 24', 'ip 32']);
    const none = await replayCapture(ETH, { host: '10.1.1.2', datagramSockets: [] });
    expect(datagramDivergences(none)).toEqual([
      'ip 20',
      'ip 22',
      expect.stringMatching(/^extra \+/),
      'missing 24',
      expect.stringMatching(/^extra \+/),
      'missing 28',
      'ip 32',
    ]);
  });
});

describe('hostile datagrams', () => {
  it("400 of eth.pcap's UDP and ICMP frames with bytes changed in their headers replay without a throw, every datagram read", async () => {
    const capture = readCapture(ETH);
    if (!capture.ok) throw new Error(capture.error.message);
    const datagramFrames = capture.value.records.slice(2, 32).map((r) => ({ data: r.data, linkType: r.linkType }));
    const writer = new PcapWriter({ linkType: capture.value.records[0].linkType });
    mutatedCases(datagramFrames, 14, 400, { window: 60, cut: true }).forEach((edge, i) => writer.record(i, edge.frame));
    const result = await replayCapture(writer.toBytes(), { host: '10.1.1.2' });
    // Seed 14: 72 reach the host (the rest were sent by it, or no longer IPv4 to it); some still line up.
    expect(result.datagrams).toMatchObject({ inbound: 72, expected: 31, actual: 43, matched: 22 });
    // Whatever the mutations left of each datagram was lined up or named: each divergence has a frame.
    expect(result.divergences.every((d) => d.frames.capture !== undefined || d.frames.replay !== undefined)).toBe(true);
  });
});

describe('a capture of ustack talking to ustack replays with no divergence', () => {
  it('pings (56 and 3000 bytes), a UDP echo (100 and 3000 bytes) and a closed UDP port, from either end', async () => {
    const net = new VirtualNetwork(5);
    const client = net.createStack('client');
    const server = net.createStack('server');
    const wire = net.connect(
      { stack: client, address: '10.0.0.1/24', capture: true },
      { stack: server, address: '10.0.0.2/24', capture: true },
      { mtu: 1500, latencyMs: 1 },
    );
    const echo = server.dgram.createSocket('udp4');
    echo.on('message', (message, from) => echo.send(message, from.port, from.address));
    echo.bind(7000);
    await net.runAsync(async () => {
      client.ping('10.0.0.2', 0x1234, 1);
      client.ping(
        '10.0.0.2',
        0x1234,
        2,
        new Uint8Array(3000).map((_, i) => i & 0xff),
      );
      const socket = client.dgram.createSocket('udp4');
      const answers: number[] = [];
      const answered = new Promise<void>((resolve) =>
        socket.on('message', (message) => {
          answers.push(message.length);
          if (answers.length === 2) resolve();
        }),
      );
      socket.send(new Uint8Array(100).fill(7), 7000, '10.0.0.2');
      socket.send(
        new Uint8Array(3000).map((_, i) => (i * 3) & 0xff),
        7000,
        '10.0.0.2',
      );
      await answered;
      socket.send(new Uint8Array(20), 7001, '10.0.0.2');
    });
    net.run(1000);
    const serverCapture = wire.b.tap!.writer.toBytes();
    const asServer = await replayCapture(serverCapture, { host: '10.0.0.2' });
    expect(asServer.divergences.map((d) => d.message)).toEqual([]);
    expect(asServer.pass).toBe(true);
    // Two echo replies (one in 3 fragments), two UDP echoes (one in 3 fragments), a port unreachable.
    expect(asServer.datagrams).toMatchObject({ sockets: [{ port: 7000, sends: 2 }], expected: 5, actual: 5, matched: 5 });
    const asClient = await replayCapture(wire.a.tap!.writer.toBytes(), { host: '10.0.0.1' });
    expect(asClient.divergences.map((d) => d.message)).toEqual([]);
    expect(asClient.notes).toContain("the host's 2 echo requests (a ping it ran) are not replayed");
    expect(asClient.datagrams).toMatchObject({ expected: 3, actual: 3, matched: 3 });
  });
});
