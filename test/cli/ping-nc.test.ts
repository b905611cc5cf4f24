/**
 * The parts of `ustack ping` and `ustack nc` that need no device: the echo request ping builds,
 * how it reads what its raw socket receives, and nc's progress line. (On a device against the
 * kernel: test/interop/ping-nc.test.ts.)
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressLine } from '../../src/cli/nc-command.js';
import { buildEchoRequest, parsePingDatagram } from '../../src/cli/ping-command.js';
import { internetChecksum } from '../../src/ip/checksum.js';

/** An IPv4 datagram (20-byte header, valid checksum) carrying `payload`. */
function ipv4(protocol: number, source: number[], destination: number[], payload: Uint8Array, ttl = 64): Uint8Array {
  const packet = new Uint8Array(20 + payload.length);
  packet[0] = 0x45;
  packet[2] = packet.length >>> 8;
  packet[3] = packet.length & 0xff;
  packet[8] = ttl;
  packet[9] = protocol;
  packet.set(source, 12);
  packet.set(destination, 16);
  const checksum = internetChecksum(packet.subarray(0, 20));
  packet[10] = checksum >>> 8;
  packet[11] = checksum & 0xff;
  packet.set(payload, 20);
  return packet;
}

/** The echo reply a peer makes of `request`: type 0, checksum redone. */
function replyTo(request: Uint8Array): Uint8Array {
  const reply = request.slice();
  reply[0] = 0;
  reply[2] = reply[3] = 0;
  const checksum = internetChecksum(reply);
  reply[2] = checksum >>> 8;
  reply[3] = checksum & 0xff;
  return reply;
}

describe('ustack ping: echo requests and what comes back', () => {
  it('builds type 8 code 0 with identifier, sequence, data and a valid checksum', () => {
    const request = buildEchoRequest(0xbeef, 0x0102, new Uint8Array([1, 2, 3]));
    expect([...request.subarray(0, 2)]).toEqual([8, 0]);
    expect([...request.subarray(4)]).toEqual([0xbe, 0xef, 0x01, 0x02, 1, 2, 3]);
    expect(internetChecksum(request)).toBe(0);
  });

  it('takes an echo reply carrying our identifier: sequence, TTL, ICMP bytes, data', () => {
    const request = buildEchoRequest(0x1234, 7, new Uint8Array(56).fill(9));
    const packet = ipv4(1, [10, 77, 0, 1], [10, 77, 0, 2], replyTo(request), 63);
    const event = parsePingDatagram(packet, 0x1234);
    expect(event).toMatchObject({ kind: 'reply', sequence: 7, ttl: 63, icmpBytes: 64 });
    expect(event?.kind === 'reply' && [...event.data]).toEqual(new Array(56).fill(9));
  });

  it('ignores replies to another pinger, requests, and corrupted messages', () => {
    const request = buildEchoRequest(0x1234, 1, new Uint8Array(8));
    expect(parsePingDatagram(ipv4(1, [10, 77, 0, 1], [10, 77, 0, 2], replyTo(request)), 0x4321)).toBeNull();
    expect(parsePingDatagram(ipv4(1, [10, 77, 0, 1], [10, 77, 0, 2], request), 0x1234)).toBeNull();
    const corrupted = replyTo(request);
    corrupted[10] ^= 0xff;
    expect(parsePingDatagram(ipv4(1, [10, 77, 0, 1], [10, 77, 0, 2], corrupted), 0x1234)).toBeNull();
    expect(parsePingDatagram(new Uint8Array(10), 0x1234)).toBeNull();
  });

  it('reads an ICMP error quoting one of our requests (host unreachable, TTL exceeded)', () => {
    const ours = ipv4(1, [10, 77, 0, 2], [10, 9, 9, 9], buildEchoRequest(0x1234, 5, new Uint8Array(56)));
    for (const [type, code, text] of [
      [3, 1, 'Destination Host Unreachable'],
      [11, 0, 'Time to live exceeded'],
    ] as const) {
      const error = new Uint8Array(8 + 28);
      error[0] = type;
      error[1] = code;
      error.set(ours.subarray(0, 28), 8);
      const checksum = internetChecksum(error);
      error[2] = checksum >>> 8;
      error[3] = checksum & 0xff;
      expect(parsePingDatagram(ipv4(1, [10, 77, 0, 1], [10, 77, 0, 2], error), 0x1234)).toEqual({ kind: 'error', sequence: 5, text });
      expect(parsePingDatagram(ipv4(1, [10, 77, 0, 1], [10, 77, 0, 2], error), 0x9999)).toBeNull();
    }
  });
});

describe('ustack nc: the progress line', () => {
  function sink(): { stream: Writable; writes: string[] } {
    const writes: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        writes.push(chunk.toString());
        callback();
      },
    });
    return { stream, writes };
  }

  it('redraws in place at most every 250 ms, with the percentage of a known size; the last line ends it', async () => {
    const out = sink();
    const progress = new ProgressLine(out.stream, 1000);
    for (let i = 0; i < 100; i++) {
      progress.sent += 5;
      progress.update();
    }
    expect(out.writes).toHaveLength(1); // the first update draws, the rest come too soon
    expect(out.writes[0]).toMatch(/^\r5 bytes sent \(0%\), 0 received, [\d.]+ s, /);
    await new Promise((resolve) => setTimeout(resolve, 260));
    progress.received += 2048;
    progress.update();
    expect(out.writes).toHaveLength(2);
    expect(out.writes[1]).toMatch(/^\r500 bytes sent \(50%\), 2048 received, /);
    progress.sent = 1000;
    progress.finish();
    expect(out.writes.at(-1)).toMatch(/^\r1000 bytes sent \(100%\), 2048 received, [\d.]+ s, [\d.]+ (B|KiB|MiB)\/s *\n$/);
  });

  it('pads over a longer previous line; without a size, no percentage', () => {
    const out = sink();
    const progress = new ProgressLine(out.stream, undefined);
    progress.sent = 123_456_789;
    progress.update();
    progress.sent = 0;
    progress.finish();
    expect(out.writes[0]).not.toContain('%');
    expect(out.writes[1].length).toBeGreaterThanOrEqual(out.writes[0].length + 1);
  });
});
