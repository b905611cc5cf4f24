/**
 * `ustack pcap2drill`: a TCP conversation of a capture becomes a script the drill runs. A capture
 * of ustack talking to ustack (two stacks on a virtual wire, each side recorded) must replay
 * with no failure from either end; a capture of two Linux kernels (captures/fixtures/sll2.pcap)
 * replays from the client's end under the Linux profile once the window-scale shift ustack
 * offers is written in, and its handshake lines are exactly what the capture shows.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listenTcp } from '../../examples/server-socket.js';
import { startTcpUpperServer, tcpUpperClient } from '../../examples/tcp-upper.js';
import { Rng } from '../../src/core/rng.js';
import { pcapToScript, PcapToScriptError, tcpConversations } from '../../src/drill/pcap-to-script.js';
import { runDrill } from '../../src/drill/drill-command.js';
import { runPcap2drill } from '../../src/drill/pcap2drill-command.js';
import { runScript } from '../../src/drill/runner.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { readCapture, type CaptureRecord } from '../../src/pcap/pcap.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';
const CLIENT6 = 'fd00:7::1';
const SERVER6 = 'fd00:7::2';

function address(text: string): number {
  const parsed = parseIpv4Address(text);
  if (parsed === null) throw new Error(`not an address: ${text}`);
  return parsed;
}

function records(bytes: Uint8Array): readonly CaptureRecord[] {
  const capture = readCapture(bytes);
  if (!capture.ok) throw new Error(capture.error.message);
  return capture.value.records;
}

/** Two ustack stacks on a 1 ms wire, each side's interface recorded; `exchange` runs between them in virtual time. */
async function captureUstackPair(
  exchange: (client: BerkeleySockets, server: BerkeleySockets) => Promise<unknown>,
): Promise<{ client: readonly CaptureRecord[]; server: readonly CaptureRecord[]; serverBytes: Uint8Array }> {
  const net = new VirtualNetwork(7);
  const clientStack = net.createStack('client');
  const serverStack = net.createStack('server');
  const { a, b } = net.connect(
    { stack: clientStack, address: `${CLIENT}/24`, address6: `${CLIENT6}/64`, capture: true },
    { stack: serverStack, address: `${SERVER}/24`, address6: `${SERVER6}/64`, capture: true },
    { mtu: 1500, latencyMs: 1 },
  );
  await net.runAsync(exchange(new BerkeleySockets(clientStack), new BerkeleySockets(serverStack)));
  net.run(1000); // the last ACKs
  const serverBytes = b.tap!.writer.toBytes();
  return { client: records(a.tap!.writer.toBytes()), server: records(serverBytes), serverBytes };
}

async function expectReplays(script: string, name: string): Promise<void> {
  const result = await runScript(script, { name });
  expect(result.failure, `${script}\n${JSON.stringify(result.failure)}`).toBeNull();
  expect(result.passed).toBe(true);
}

describe('a capture of ustack talking to ustack, converted and replayed by the drill', () => {
  it('the upper-casing exchange: the server listened, read, wrote and closed; the client connected, wrote, read', async () => {
    const capture = await captureUstackPair(async (client, server) => {
      startTcpUpperServer(server, 12000);
      return tcpUpperClient(client, SERVER, 'a sentence in lower case', 12000);
    });
    const serverScript = pcapToScript(capture.server, { host: address(SERVER) });
    expect(serverScript).toMatch(/^0 socket\(\.\.\., SOCK_STREAM, IPPROTO_TCP\) = 3\n\+0 setsockopt\(3, SOL_SOCKET, SO_REUSEADDR, \[1\], 4\) = 0\n/m);
    expect(serverScript).toMatch(/^\+0 < SEW 0:0\(0\) win \d+ <mss 1460,/m);
    expect(serverScript).toMatch(/^\+0 accept\(3, \.\.\., \.\.\.\) = 4$/m);
    expect(serverScript).toMatch(/^\+0 read\(4, \.\.\., 24\) = 24$/m);
    expect(serverScript).toMatch(/^\+[\d.]+ write\(4, \.\.\., 24\) = 24\n\+0 > P\. 1:25\(24\) ack 25/m);
    await expectReplays(serverScript, 'upper-server.pkt');

    const clientScript = pcapToScript(capture.client, { host: address(CLIENT) });
    expect(clientScript).toMatch(/^\+0 connect\(3, \.\.\., \.\.\.\) = -1 EINPROGRESS/m);
    expect(clientScript).toMatch(/^\+0 > SEW 0:0\(0\) <mss 1460,/m);
    expect(clientScript).not.toMatch(/tcp_ecn/);
    await expectReplays(clientScript, 'upper-client.pkt');
  });

  it('30,000 bytes one way: one write of several segments with the FIN on its last, reads as data arrives, FINs both ways', async () => {
    const message = new Rng(5).bytes(30_000);
    const capture = await captureUstackPair(async (client, server) => {
      const welcome = listenTcp(server, 9000);
      const received = (async () => {
        const { fd } = await server.accept(welcome);
        let count = 0;
        for (;;) {
          const data = await server.recv(fd, 65536);
          if (data.length === 0) break;
          count += data.length;
        }
        server.close(fd);
        return count;
      })();
      const fd = client.socket(C.AF_INET, C.SOCK_STREAM);
      await client.connect(fd, { address: SERVER, port: 9000 });
      await client.send(fd, message);
      client.close(fd);
      expect(await received).toBe(30_000);
    });
    const serverScript = pcapToScript(capture.server, { host: address(SERVER) });
    const clientScript = pcapToScript(capture.client, { host: address(CLIENT) });
    const total = (script: string, call: 'read' | 'write') =>
      [...script.matchAll(new RegExp(`${call}\\(\\d, \\.\\.\\., (\\d+)\\) = (\\d+)`, 'g'))].reduce((sum, m) => sum + Number(m[2]), 0);
    expect(total(clientScript, 'write')).toBe(30_000);
    expect(total(serverScript, 'read')).toBe(30_000);
    expect(clientScript).toMatch(/^\+0 write\(3, \.\.\., 30000\) = 30000\n\+0 close\(3\) = 0\n/m);
    expect(serverScript).toMatch(/^\+0 close\(4\) = 0\n\+0 > F\./m);
    await expectReplays(serverScript, 'bulk-server.pkt');
    await expectReplays(clientScript, 'bulk-client.pkt');
  });

  it('a script that does not match the capture fails: the replay is a real comparison', async () => {
    const capture = await captureUstackPair(async (client, server) => {
      startTcpUpperServer(server, 12000);
      return tcpUpperClient(client, SERVER, 'abc', 12000);
    });
    const script = pcapToScript(capture.server, { host: address(SERVER) }).replace(/(> P\. 1:4\(3\) ack \d+)/, '> P. 1:5(4) ack 4');
    const result = await runScript(script, { name: 'altered.pkt' });
    expect(result.passed).toBe(false);
  });
});

/** The upper-casing exchange over AF_INET6 sockets: the server reads, answers upper-cased and closes; the client reads to the end. */
function upperExchange6(sentence: string): (client: BerkeleySockets, server: BerkeleySockets) => Promise<void> {
  return async (client, server) => {
    const listener = server.socket(C.AF_INET6, C.SOCK_STREAM);
    server.bind(listener, { address: '::', port: 12000 });
    server.listen(listener, 4);
    const served = (async () => {
      const { fd } = await server.accept(listener);
      const request = await server.recv(fd, 1024);
      await server.send(fd, new TextEncoder().encode(new TextDecoder().decode(request).toUpperCase()));
      server.close(fd);
    })();
    const fd = client.socket(C.AF_INET6, C.SOCK_STREAM);
    await client.connect(fd, { address: SERVER6, port: 12000 });
    await client.send(fd, new TextEncoder().encode(sentence));
    let answer = '';
    for (;;) {
      const data = await client.recv(fd, 1024);
      if (data.length === 0) break;
      answer += new TextDecoder().decode(data);
    }
    client.close(fd);
    await served;
    expect(answer).toBe(sentence.toUpperCase());
  };
}

describe('an IPv6 capture of ustack talking to ustack, converted to an --ip_version=ipv6 script', () => {
  it('the upper-casing exchange over AF_INET6: both ends replay in ipv6 mode; the IPv4 conversations of the capture are not counted', async () => {
    const capture = await captureUstackPair(upperExchange6('a sentence in lower case'));
    // The capture holds IPv6 only (no IPv4 TCP), and one IPv6 conversation.
    expect(tcpConversations(capture.server)).toHaveLength(0);
    expect(tcpConversations(capture.server, 6)).toHaveLength(1);
    expect(() => pcapToScript(capture.server, { host: address(SERVER) })).toThrow('the capture holds no IPv4 TCP segment');

    const serverScript = pcapToScript(capture.server, { host: SERVER6 });
    const lines = serverScript.split('\n');
    expect(lines[0]).toMatch(/^\/\/ capture, TCP conversation 1: \[fd00:7::2\]:12000 \(the stack under test\) with \[fd00:7::1\]:\d+\.$/);
    expect(lines[2]).toBe('--ip_version=ipv6');
    // The MSS over IPv6 on a 1500-byte link: 1500 − 40 − 20.
    expect(serverScript).toMatch(/^\+0 < SEW 0:0\(0\) win \d+ <mss 1440,/m);
    expect(serverScript).toMatch(/^\+0 accept\(3, \.\.\., \.\.\.\) = 4$/m);
    expect(serverScript).toMatch(/^\+0 read\(4, \.\.\., 24\) = 24$/m);
    expect(serverScript).toMatch(/^\+[\d.]+ write\(4, \.\.\., 24\) = 24\n\+0 > P\. 1:25\(24\) ack 25 .*\n\+0 close\(4\) = 0\n\+0 > F\. 25:25\(0\) ack 25 /m);
    const serverRun = await runScript(serverScript, { name: 'upper6-server.pkt' });
    expect(serverRun.ipVersion).toBe('ipv6');
    expect(serverRun.failure, `${serverScript}\n${JSON.stringify(serverRun.failure)}`).toBeNull();
    expect(serverRun.passed).toBe(true);

    const clientScript = pcapToScript(capture.client, { host: CLIENT6 });
    expect(clientScript).toMatch(/^--ip_version=ipv6\n0 socket\(/m);
    expect(clientScript).toMatch(/^\+0 > SEW 0:0\(0\) <mss 1440,/m);
    const clientRun = await runScript(clientScript, { name: 'upper6-client.pkt' });
    expect(clientRun.ipVersion).toBe('ipv6');
    expect(clientRun.failure, `${clientScript}\n${JSON.stringify(clientRun.failure)}`).toBeNull();

    // The replay is a real comparison over IPv6 too: a changed answer fails.
    const altered = await runScript(serverScript.replace(/> P\. 1:25\(24\) ack 25/, '> P. 1:26(25) ack 25'), { name: 'altered6.pkt' });
    expect(altered.passed).toBe(false);
    // Run in ipv4 mode (the command line wins over the script's line), no IPv6 packet matches.
    const asIpv4 = await runScript(serverScript, { name: 'upper6-as-ipv4.pkt', overrides: [{ name: 'ip_version', value: 'ipv4' }] });
    expect(asIpv4.passed).toBe(false);
  });

  it('the command takes an IPv6 --host (any spelling) and prints the same script', async () => {
    const capture = await captureUstackPair(async (client, server) => {
      const listener = server.socket(C.AF_INET6, C.SOCK_STREAM);
      server.bind(listener, { address: '::', port: 9000 });
      server.listen(listener, 4);
      const accepted = server.accept(listener);
      const fd = client.socket(C.AF_INET6, C.SOCK_STREAM);
      await client.connect(fd, { address: SERVER6, port: 9000 });
      client.close(fd);
      const peer = await accepted;
      await server.recv(peer.fd, 10);
      server.close(peer.fd);
    });
    const dir = mkdtempSync(join(tmpdir(), 'pcap2drill6-'));
    try {
      const path = join(dir, 'six.pcap');
      writeFileSync(path, capture.serverBytes);
      const out: string[] = [];
      const err: string[] = [];
      expect(
        await runPcap2drill(
          [path, '--host', 'FD00:7:0:0::2'],
          (l) => out.push(l),
          (l) => err.push(l),
        ),
      ).toBe(0);
      expect(err).toEqual([]);
      expect(`${out.join('\n')}\n`).toBe(pcapToScript(capture.server, { host: SERVER6, sourceName: path }));
      // `ustack drill` runs the printed script in the mode its line names.
      const scriptPath = join(dir, 'six.pkt');
      writeFileSync(scriptPath, `${out.join('\n')}\n`);
      const drilled: string[] = [];
      expect(await runDrill([scriptPath], (l) => drilled.push(l))).toBe(0);
      expect(drilled, drilled.join('\n')).toContain(`PASS ${scriptPath} (ipv6)`);
      expect(drilled).toContain('ipv6: 1 passed, 0 failed, 0 unsupported');
      out.length = 0;
      expect(
        await runPcap2drill(
          [path, '--host', 'fd00:7::99'],
          (l) => out.push(l),
          (l) => err.push(l),
        ),
      ).toBe(1);
      expect(err[0]).toMatch(/fd00:7::99 is not an end of conversation 1 \(\[fd00:7::/);
      expect(
        await runPcap2drill(
          [path, '--host', 'fd00::7::2'],
          (l) => out.push(l),
          (l) => err.push(l),
        ),
      ).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('IPv6 in every link type the IPv4 path reads, past extension headers, fragments left out', () => {
  /** The raw IPv6 packet with a Destination Options header (PadN only) in front of its TCP header. */
  const withDestinationOptions = (packet: Uint8Array): Uint8Array => {
    const out = new Uint8Array(packet.length + 8);
    out.set(packet.subarray(0, 40));
    out.set([packet[6], 0, 1, 4, 0, 0, 0, 0], 40); // Next Header TCP, length 8 bytes, PadN of 4
    out.set(packet.subarray(40), 48);
    out[6] = 60; // Destination Options (RFC 8200 §4.6)
    new DataView(out.buffer).setUint16(4, packet.length - 40 + 8);
    return out;
  };
  /** The packet as the first fragment of a larger one (a Fragment header with M set). */
  const asFirstFragment = (packet: Uint8Array): Uint8Array => {
    const out = new Uint8Array(packet.length + 8);
    out.set(packet.subarray(0, 40));
    out.set([packet[6], 0, 0, 1, 0, 0, 0, 9], 40); // offset 0, M = 1, identification 9
    out.set(packet.subarray(40), 48);
    out[6] = 44;
    new DataView(out.buffer).setUint16(4, packet.length - 40 + 8);
    return out;
  };
  const frame = (linkType: number, header: number[], packet: Uint8Array): Uint8Array => {
    const out = new Uint8Array(header.length + packet.length);
    out.set(header);
    out.set(packet, header.length);
    return out;
  };
  const ETHERNET = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
  const wrappings: [string, number, (packet: Uint8Array) => Uint8Array][] = [
    ['Ethernet', 1, (p) => frame(1, [...ETHERNET, 0x86, 0xdd], p)],
    ['Ethernet with an 802.1Q tag', 1, (p) => frame(1, [...ETHERNET, 0x81, 0x00, 0, 7, 0x86, 0xdd], p)],
    ['LINKTYPE_IPV6', 229, (p) => p],
    ['Linux cooked v1', 113, (p) => frame(113, [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x86, 0xdd], p)],
    ['Linux cooked v2', 276, (p) => frame(276, [0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0], p)],
  ];

  it('each link type, and a Destination Options header before TCP, convert to the same script as raw IPv6', async () => {
    const capture = await captureUstackPair(upperExchange6('abc'));
    const raw = capture.server;
    expect(raw[0].linkType).toBe(101);
    const expected = pcapToScript(raw, { host: SERVER6 });
    expect(expected).toMatch(/^--ip_version=ipv6$/m);
    for (const [name, linkType, wrap] of wrappings) {
      const wrapped = raw.map((r) => ({ ...r, linkType, data: wrap(r.data) }));
      expect(pcapToScript(wrapped, { host: SERVER6 }), name).toBe(expected);
      // The same link type carrying IPv4 only: no IPv6 conversation is read out of the wrong EtherType.
      expect(tcpConversations(wrapped), name).toHaveLength(0);
    }
    expect(
      pcapToScript(
        raw.map((r) => ({ ...r, data: withDestinationOptions(r.data) })),
        { host: SERVER6 },
      ),
    ).toBe(expected);
    // A fragment is no segment: the SYN-ACK sent as a first fragment leaves the conversation without it.
    const fragmented = raw.map((r, index) => (index === 1 ? { ...r, data: asFirstFragment(r.data) } : r));
    const segments = tcpConversations(fragmented, 6)[0].segments;
    expect(segments).toHaveLength(tcpConversations(raw, 6)[0].segments.length - 1);
    expect(segments.map((segment) => segment.frame)).not.toContain(2);
  });
});

describe('a conversation recorded between two Linux kernels (captures/fixtures/sll2.pcap)', () => {
  const bytes = new Uint8Array(readFileSync(join(ROOT, 'captures/fixtures/sll2.pcap')));

  it('converts with the handshake as the capture shows it, and parses', async () => {
    const script = pcapToScript(records(bytes), { host: address('10.3.3.1') });
    const lines = script.split('\n');
    expect(lines).toContain('`sysctl -q net.ipv4.tcp_ecn=0`');
    expect(lines).toContain('+0 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 10>');
    expect(lines).toContain('+0.000028 < S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 2721872769 ecr 0,nop,wscale 10>');
    expect(lines).toContain('+0.000017 > . 1:1(0) ack 1 <nop,nop,TS val 0 ecr 2721872769>');
    // The client shut down its sending side and still read the answer that came after its FIN.
    expect(lines).toContain('+0.000031 shutdown(3, SHUT_WR) = 0');
    const result = await runScript(script, { name: 'sll2-client.pkt', overrides: [{ name: 'linux', value: '' }] });
    // The one difference: Linux offered wscale 10 (its receive buffer limit), ustack offers 5.
    expect(result.failure?.message).toBe('wscale 5, expected 10');
    expect(result.failure?.text).toBe('+0 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 10>');
  });

  it("replays from the client's end under the Linux profile once ustack's window scale is written in", async () => {
    const script = pcapToScript(records(bytes), { host: address('10.3.3.1') }).replace(/^(\S+ > .*)wscale 10/m, '$1wscale 5');
    const result = await runScript(script, { name: 'sll2-client.pkt', overrides: [{ name: 'linux', value: '' }] });
    expect(result.failure, script).toBeNull();
    expect(result.passed).toBe(true);
  });

  it("from the server's end under the Linux profile: the ACK of the client's FIN waits and rides on the answer, as Linux's did", async () => {
    const script = pcapToScript(records(bytes), { host: address('10.3.3.2') }).replace(/^(\S+ > .*)wscale 10/m, '$1wscale 5');
    const result = await runScript(script, { name: 'sll2-server.pkt', overrides: [{ name: 'linux', value: '' }] });
    expect(result.failure, script).toBeNull();
    // Without the profile's delayFinAck (ustack's default), the FIN is ACKed at once: a bare ACK before the answer.
    const immediate = await runScript(script.replace('`sysctl -q net.ipv4.tcp_ecn=2`', '`sysctl -q net.ipv4.tcp_ecn=2; ustack tcp.delayFinAck=false`'), {
      name: 'sll2-server.pkt',
      overrides: [{ name: 'linux', value: '' }],
    });
    expect(immediate.failure?.text).toBe('+0 > P. 1:18(17) ack 19 <nop,nop,TS val 10 ecr 3139745692>');
    expect(immediate.failure?.actual).toMatch(/^\. 1:1\(0\) ack 19 /);
  });
});

describe('the SYN to a closed port in captures/fixtures/eth.pcap (Linux 6.18), conversation 1', () => {
  const all = records(new Uint8Array(readFileSync(join(ROOT, 'captures/fixtures/eth.pcap'))));

  it("from the closed port's end: no system call, the SYN answered by RST+ACK; it passes under --linux as converted", async () => {
    const script = pcapToScript(all, { host: address('10.1.1.2') });
    const body = script.split('\n').filter((line) => line !== '' && !line.startsWith('//'));
    expect(body).toEqual(['0 < S 0:0(0) win 64240 <mss 1460,sackOK,TS val 608286407 ecr 0,nop,wscale 10>', '+0.000033 > R. 0:0(0) ack 1']);
    const result = await runScript(script, { name: 'eth-closed-port.pkt', overrides: [{ name: 'linux', value: '' }] });
    expect(result.failure).toBeNull();
  });

  it("from the connecting end: connect is refused; it passes under --linux once ustack's window scale is written in", async () => {
    const script = pcapToScript(all, { host: address('10.1.1.1') });
    expect(script).toMatch(/^\+0\.000033 < R\. 0:0\(0\) ack 1 win 0$/m);
    const unedited = await runScript(script, { name: 'eth-refused.pkt', overrides: [{ name: 'linux', value: '' }] });
    expect(unedited.failure?.message).toBe('wscale 5, expected 10');
    const edited = await runScript(script.replace(/^(\S+ > .*)wscale 10/m, '$1wscale 5'), {
      name: 'eth-refused.pkt',
      overrides: [{ name: 'linux', value: '' }],
    });
    expect(edited.failure).toBeNull();
  });
});

describe("eth.pcap's 256 KiB conversation (conversation 2), from the receiving end", () => {
  const all = records(new Uint8Array(readFileSync(join(ROOT, 'captures/fixtures/eth.pcap'))));

  it("runs on Linux's quick-ACK rules (the listener's peer asked for no ECN: tcp_ecn=2) and matches the kernel's ACKs until the segment lost after the tap", async () => {
    const script = pcapToScript(all, { host: address('10.1.1.2'), conversation: 2 }).replace(/^(\S+ > .*)wscale 10/m, '$1wscale 5');
    expect(script.split('\n')).toContain('`sysctl -q net.ipv4.tcp_ecn=2`');
    const result = await runScript(script, { name: 'eth-receiver.pkt', overrides: [{ name: 'linux', value: '' }] });
    // The capture was taken at the sender: 20273:21721 was lost after it, so the replay delivers a
    // segment the kernel never got, and ustack rightly ACKs past it. Every ACK before matched.
    expect(result.failure?.text).toBe('+0.000001 > . 1:1(0) ack 20273 <nop,nop,TS val 27 ecr 495311032,nop,nop,sack 21721:23169>');
    expect(result.failure?.actual).toMatch(/^\. 1:1\(0\) ack 21721 /);
  });
});

describe('what the converter refuses', () => {
  const bytes = new Uint8Array(readFileSync(join(ROOT, 'captures/fixtures/eth.pcap')));

  it('a host that is not an end of the conversation, and a conversation the capture lacks', () => {
    const all = records(bytes);
    const count = tcpConversations(all).length;
    expect(() => pcapToScript(all, { host: address('192.0.2.99') })).toThrow(PcapToScriptError);
    expect(() => pcapToScript(all, { host: address('192.0.2.99'), conversation: count + 1 })).toThrow(`not ${count + 1}`);
  });

  it('the command: an unknown flag is one line and exit 2; no --host is exit 2; --help prints the usage', async () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(
      await runPcap2drill(
        ['captures/fixtures/eth.pcap', '--hots', '10.0.0.1'],
        (l) => out.push(l),
        (l) => err.push(l),
      ),
    ).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^ustack pcap2drill: .*--hots/);
    expect(out).toEqual([]);
    expect(
      await runPcap2drill(
        [join(ROOT, 'captures/fixtures/eth.pcap')],
        (l) => out.push(l),
        (l) => err.push(l),
      ),
    ).toBe(2);
    expect(err[1]).toMatch(/--host ADDR is needed/);
    expect(
      await runPcap2drill(
        ['--help'],
        (l) => out.push(l),
        (l) => err.push(l),
      ),
    ).toBe(0);
    expect(out[0]).toMatch(/^usage: ustack pcap2drill FILE --host ADDR/);
  });
});
