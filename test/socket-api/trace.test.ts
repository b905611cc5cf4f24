/**
 * Trace events (core/trace.ts) from every layer a packet crosses: a TCP handshake and a ping seen
 * layer by layer, with each header's bytes as they go on the wire.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/core/trace.js';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

function twoHosts() {
  const net = new VirtualNetwork(1);
  const client = net.createStack('client');
  const server = net.createStack('server');
  net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
  return { net, client, server };
}

describe('trace events', () => {
  it('TCP: the SYN goes down tcp → ipv4 → link with its options, and comes up link → ipv4 → tcp with the same header bytes', () => {
    const { net, client, server } = twoHosts();
    unwrap(server.tcp.listen(0, 80));
    const down: TraceEvent[] = [];
    const up: TraceEvent[] = [];
    client.tracer = (event) => down.push(event);
    server.tracer = (event) => up.push(event);
    unwrap(client.tcp.connect(parseIpv4Address('10.0.0.2')!, 80));
    net.runUntilIdle();

    expect(down.slice(0, 3).map((e) => `${e.direction} ${e.layer}`)).toEqual(['down tcp', 'down ipv4', 'down link']);
    const syn = down[0];
    // An ECN-setup SYN (RFC 3168 §6.1.1): ECE and CWR set beside SYN.
    // tcpdump's words and flag letters: S for SYN, E and W for ECE and CWR; no ack on a SYN.
    expect(syn.summary).toMatch(
      /^TCP \d+ → 80 Flags \[SEW\], seq \d+, win \d+, options \[mss 1460,sackOK,TS val \d+ ecr 0,wscale \d+\], length 0: added (\d+)-byte header, checksum 0x[0-9a-f]{4}$/,
    );
    expect(syn.header.length).toBe(Number(/added (\d+)-byte/.exec(syn.summary)![1]));
    expect(syn.header.length).toBe((syn.header[12] >> 4) * 4);
    expect(Object.fromEntries(syn.fields)).toMatchObject({ 'destination port': '80', flags: '0x0c2 (SYN, ECE, CWR)' });
    // The server's tcp layer removes the very header the client's added.
    const arrived = up.find((e) => e.layer === 'tcp' && e.direction === 'up')!;
    expect(arrived.summary).toMatch(/Flags \[SEW\].*removed \d+-byte header, checksum verified/);
    expect(arrived.header).toEqual(syn.header);
    expect(up.map((e) => `${e.direction} ${e.layer}`).slice(0, 3)).toEqual(['up link', 'up ipv4', 'up tcp']);
    // The SYN-ACK goes down the server's layers.
    expect(up.some((e) => e.layer === 'tcp' && e.direction === 'down' && /Flags \[S\.E\], seq \d+, ack \d+,/.test(e.summary))).toBe(true);
  });

  it('ICMP: an echo request and its reply, each with its 8-byte header', () => {
    const { net, client, server } = twoHosts();
    const events: TraceEvent[] = [];
    server.tracer = (event) => events.push(event);
    client.ping('10.0.0.2', 0x1234, 7, new Uint8Array(16));
    net.runUntilIdle();
    const icmp = events.filter((e) => e.layer === 'icmp');
    expect(icmp.map((e) => e.summary)).toEqual([
      'ICMP echo request id=4660 seq=7: removed 8-byte header, checksum verified, 16 bytes of data',
      expect.stringMatching(/^ICMP echo reply id=4660 seq=7: added 8-byte header, checksum 0x[0-9a-f]{4}, 16 bytes of data$/),
    ]);
    expect(icmp.map((e) => e.header.length)).toEqual([8, 8]);
    expect(icmp[1].header[0]).toBe(0); // type 0, echo reply
  });
});
