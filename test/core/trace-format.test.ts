/**
 * FrameTracePrinter (core/trace-format.ts): the layers of a stack report one frame at different
 * moments; the printer puts each frame's lines together under one heading, in the order the
 * layers wrap it. Synthetic events first (each rule on its own), then real stacks on an Ethernet
 * wire, checked against the capture of the same wire.
 */
import { describe, expect, it } from 'vitest';
import { FrameTracePrinter } from '../../src/core/trace-format.js';
import type { TraceEvent } from '../../src/core/trace.js';
import { readCapture } from '../../src/pcap/pcap.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { echoClient, startEchoServer } from '../../examples/tcp-echo.js';

/** A trace event with what the printer reads; `header` and `payloadLength` give the frame's size. */
function event(direction: 'up' | 'down', layer: string, summary: string, options: Partial<TraceEvent> = {}): TraceEvent {
  return { direction, layer, time: 1, where: 'eth0', summary, fields: [], header: new Uint8Array(0), payloadLength: 0, ...options };
}

function printer(detail: 'summary' | 'fields' = 'summary') {
  const lines: string[] = [];
  const trace = new FrameTracePrinter({ print: (line) => lines.push(line), detail });
  return { lines, trace };
}

describe('FrameTracePrinter', () => {
  it("holds a segment's tcp and ipv4 lines until its link reports, so two segments made before one flush print as two frames", () => {
    const { lines, trace } = printer();
    const client = trace.tracerFor('client');
    const first = new Uint8Array(40);
    const second = new Uint8Array(40);
    client(event('down', 'tcp', 'segment 1'));
    client(event('down', 'ipv4', 'packet 1', { packet: first }));
    client(event('down', 'tcp', 'segment 2'));
    client(event('down', 'ipv4', 'packet 2', { packet: second }));
    expect(lines).toEqual([]);
    client(event('down', 'link', 'link 1', { packet: first, payloadLength: 40 }));
    client(event('down', 'link', 'link 2', { packet: second, payloadLength: 40 }));
    expect(lines).toEqual([
      'client sends a 40-byte frame on eth0 at 1.000 ms',
      '  ↓ tcp  segment 1',
      '  ↓ ipv4 packet 1',
      '  ↓ link link 1',
      'client sends a 40-byte frame on eth0 at 1.000 ms',
      '  ↓ tcp  segment 2',
      '  ↓ ipv4 packet 2',
      '  ↓ link link 2',
    ]);
  });

  it('a packet waiting for ARP: the request goes first as a frame of its own, the packet when its Ethernet header is added', () => {
    const { lines, trace } = printer();
    const client = trace.tracerFor('client');
    const server = trace.tracerFor('server');
    const packet = new Uint8Array(36);
    const ethernetHeader = new Uint8Array(14);
    client(event('down', 'udp', 'datagram'));
    client(event('down', 'ipv4', 'packet', { packet }));
    client(event('down', 'arp', 'who-has'));
    client(event('down', 'eth', 'broadcast', { header: ethernetHeader, payloadLength: 28 }));
    server(event('up', 'eth', 'broadcast arrives', { header: ethernetHeader, payloadLength: 46 }));
    server(event('up', 'arp', 'who-has arrives'));
    server(event('down', 'arp', 'is-at'));
    server(event('down', 'eth', 'to the client', { header: ethernetHeader, payloadLength: 28 }));
    client(event('up', 'eth', 'reply arrives', { header: ethernetHeader, payloadLength: 46 }));
    client(event('up', 'arp', 'is-at arrives'));
    client(event('down', 'eth', 'the packet at last', { packet, header: ethernetHeader, payloadLength: 36 }));
    expect(lines).toEqual([
      'client sends a 60-byte frame on eth0 at 1.000 ms',
      '  ↓ arp  who-has',
      '  ↓ eth  broadcast',
      'server receives a 60-byte frame on eth0 at 1.000 ms',
      '  ↑ eth  broadcast arrives',
      '  ↑ arp  who-has arrives',
      'server sends a 60-byte frame on eth0 at 1.000 ms',
      '  ↓ arp  is-at',
      '  ↓ eth  to the client',
      'client receives a 60-byte frame on eth0 at 1.000 ms',
      '  ↑ eth  reply arrives',
      '  ↑ arp  is-at arrives',
      'client sends a 60-byte frame on eth0 at 1.000 ms',
      '  ↓ udp  datagram',
      '  ↓ ipv4 packet',
      '  ↓ eth  the packet at last',
    ]);
  });

  it('a frame coming up: one heading at its lowest layer, a new one at the next frame or another host', () => {
    const { lines, trace } = printer();
    const client = trace.tracerFor('client');
    const server = trace.tracerFor('server');
    server(event('up', 'link', 'fragment 1', { payloadLength: 1500 }));
    server(event('up', 'ipv4', 'fragment 1 kept'));
    server(event('up', 'link', 'fragment 2', { payloadLength: 100 }));
    server(event('up', 'ipv4', 'fragment 2 completes the datagram'));
    server(event('up', 'icmp', 'echo request'));
    client(event('up', 'ipv4', 'on another host'));
    expect(lines).toEqual([
      'server receives a 1500-byte frame on eth0 at 1.000 ms',
      '  ↑ link fragment 1',
      '  ↑ ipv4 fragment 1 kept',
      'server receives a 100-byte frame on eth0 at 1.000 ms',
      '  ↑ link fragment 2',
      '  ↑ ipv4 fragment 2 completes the datagram',
      '  ↑ icmp echo request',
      'client receives a 0-byte frame on eth0 at 1.000 ms',
      '  ↑ ipv4 on another host',
    ]);
  });

  it('an Ethernet frame is never shorter than 60 bytes: a short one is padded', () => {
    const { lines, trace } = printer();
    trace.tracerFor('a')(event('down', 'eth', 'short', { header: new Uint8Array(14), payloadLength: 28 }));
    trace.tracerFor('a')(event('down', 'eth', 'long', { header: new Uint8Array(14), payloadLength: 60 }));
    expect(lines.filter((line) => line.startsWith('a sends'))).toEqual([
      'a sends a 60-byte frame on eth0 at 1.000 ms',
      'a sends a 74-byte frame on eth0 at 1.000 ms',
    ]);
  });

  it('flush prints what never reached a link, and says so', () => {
    const { lines, trace } = printer();
    const host = trace.tracerFor('host');
    host(event('down', 'udp', 'datagram', { header: new Uint8Array(8), payloadLength: 8 }));
    host(event('down', 'ipv4', 'packet', { packet: new Uint8Array(36), header: new Uint8Array(20), payloadLength: 16 }));
    host(event('down', 'tcp', 'segment', { header: new Uint8Array(20), payloadLength: 0 }));
    trace.flush();
    expect(lines).toEqual([
      'host: a 20-byte TCP segment made, not (yet) handed to IP, at 1.000 ms',
      '  ↓ tcp  segment',
      'host: a 36-byte IPv4 packet made, not (yet) handed to a link, at 1.000 ms',
      '  ↓ udp  datagram',
      '  ↓ ipv4 packet',
    ]);
  });

  it('with detail "fields", each layer also shows its header fields and bytes', () => {
    const { lines, trace } = printer('fields');
    const header = new Uint8Array([0x3a, 0x98, 0x00, 0x07]);
    trace.tracerFor('h')(
      event('up', 'link', 'arrived', {
        header,
        payloadLength: 4,
        fields: [
          ['source port', '15000'],
          ['destination port', '7'],
        ],
      }),
    );
    expect(lines).toEqual([
      'h receives a 8-byte frame on eth0 at 1.000 ms',
      '  ↑ link arrived',
      '         source port=15000, destination port=7',
      '         header bytes: 3a 98 00 07',
    ]);
  });

  it("real stacks on an Ethernet wire: every frame the client sends is printed whole, in the capture's order", async () => {
    const net = new VirtualNetwork(7);
    const client = net.createStack('client');
    const server = net.createStack('server');
    const lines: string[] = [];
    const trace = new FrameTracePrinter({ print: (line) => lines.push(line) });
    // Traced from the start: the interface sends IPv6's own frames (MLD, DAD) as it comes up.
    client.tracer = trace.tracerFor('client');
    const { a } = net.connect(
      { stack: client, address: '10.0.0.1/24', capture: true },
      { stack: server, address: '10.0.0.2/24' },
      { medium: 'ethernet', latencyMs: 1 },
    );
    const serverApi = new BerkeleySockets(server);
    const echo = startEchoServer(serverApi, 'single');
    // 20 kB each way: bursts of segments made before the stack flushes them to the link.
    const message = new Uint8Array(20_000).map((_, i) => i & 0xff);
    const reply = await net.runAsync(echoClient(new BerkeleySockets(client), '10.0.0.2', message));
    expect(reply).toEqual(message);
    await net.runAsync(echo.stopped); // 'single': the server closes its socket after one client
    net.run(1000);
    trace.flush();

    // Each frame the client sent, as printed: its heading's size and the layers under it.
    const sent: Array<{ size: number; layers: string[]; tcp: string }> = [];
    let current: { size: number; layers: string[]; tcp: string } | null = null;
    for (const line of lines) {
      const heading = /^client (sends|receives) a (\d+)-byte frame/.exec(line);
      if (heading) {
        current = heading[1] === 'sends' ? { size: Number(heading[2]), layers: [], tcp: '' } : null;
        if (current) sent.push(current);
        continue;
      }
      const layer = /^ {2}[↓↑] (\S+)\s+(.*)$/.exec(line);
      if (current && layer) {
        current.layers.push(layer[1]);
        if (layer[1] === 'tcp') current.tcp = layer[2];
      }
    }
    expect(lines.some((line) => line.includes('made, not'))).toBe(false);
    const capture = readCapture(a.tap!.toBytes());
    if (!capture.ok) throw new Error(capture.error.message);
    // The client's own frames in the capture: those from its MAC (the source at bytes 6..12).
    const clientMac = capture.value.records[0].data.subarray(6, 12);
    const outbound = capture.value.records.filter((record) => record.data.subarray(6, 12).every((byte, i) => byte === clientMac[i]));
    expect(sent.length).toBe(outbound.length);
    expect(sent.length).toBeGreaterThan(10);
    outbound.forEach((record, i) => {
      const frame = record.data;
      const isArp = frame[12] === 0x08 && frame[13] === 0x06;
      // IPv6's own traffic on the link (DAD, MLD reports, router solicitations: test/ip/ndp*.test.ts).
      const isIpv6 = frame[12] === 0x86 && frame[13] === 0xdd;
      expect(sent[i].layers, `frame ${i}`).toEqual(isArp ? ['arp', 'eth'] : isIpv6 ? ['ipv6', 'eth'] : ['tcp', 'ipv4', 'eth']);
      expect(sent[i].size, `frame ${i}`).toBe(frame.length);
      if (!isArp && !isIpv6) {
        // The TCP line of the group is the segment this very frame carries.
        const seq = new DataView(frame.buffer, frame.byteOffset).getUint32(14 + 20 + 4);
        expect(sent[i].tcp, `frame ${i}`).toContain(`, seq ${seq},`);
      }
    });
  });
});
