/**
 * `ustack pcap2drill`: a TCP conversation of a capture becomes a script the drill runs. A capture
 * of ustack talking to ustack (two stacks on a virtual wire, each side recorded) must replay
 * with no failure from either end; a capture of two Linux kernels (captures/fixtures/sll2.pcap)
 * replays from the client's end under the Linux profile once the window-scale shift ustack
 * offers is written in, and its handshake lines are exactly what the capture shows.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listenTcp } from '../../examples/server-socket.js';
import { startTcpUpperServer, tcpUpperClient } from '../../examples/tcp-upper.js';
import { Rng } from '../../src/core/rng.js';
import { pcapToScript, PcapToScriptError, tcpConversations } from '../../src/drill/pcap-to-script.js';
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
): Promise<{ client: readonly CaptureRecord[]; server: readonly CaptureRecord[] }> {
  const net = new VirtualNetwork(7);
  const clientStack = net.createStack('client');
  const serverStack = net.createStack('server');
  const { a, b } = net.connect(
    { stack: clientStack, address: `${CLIENT}/24`, capture: true },
    { stack: serverStack, address: `${SERVER}/24`, capture: true },
    { mtu: 1500, latencyMs: 1 },
  );
  await net.runAsync(exchange(new BerkeleySockets(clientStack), new BerkeleySockets(serverStack)));
  net.run(1000); // the last ACKs
  return { client: records(a.tap!.writer.toBytes()), server: records(b.tap!.writer.toBytes()) };
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
