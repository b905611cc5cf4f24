/**
 * The stack's `os.networkInterfaces()` (src/socket-api/os.ts) and the zone of a link-local
 * sender (RFC 4007 §11) in ustack's dgram, which Node's test-dgram-udp6-link-local-address.js
 * needs (the node-compat harness maps `os` and gives its stack a dummy0). The loopback's entries
 * are judged against what Node reports for this host's own `lo` (the kernel's, through libuv).
 */
import * as nodeOs from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { Link } from '../../src/link/link.js';
import { networkInterfacesOf } from '../../src/socket-api/os.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** A link to nowhere, as a Linux dummy device. */
function dummyLink(name: string): Link {
  return { name, medium: 'ip', mtu: 1500, transmit() {}, setReceiver() {}, pollAt: () => Infinity, poll() {} };
}

const drivers: RealtimeDriver[] = [];
afterEach(() => {
  for (const driver of drivers.splice(0)) driver.stop();
});

function dummyStack(): Stack {
  const stack = new Stack({ name: 'os', seed: 3 });
  stack.addInterface({ name: 'dummy0', link: dummyLink('dummy0'), address: '198.18.0.1/32', address6: 'fd00:5::1/64' });
  return stack;
}

describe("the stack's os.networkInterfaces()", () => {
  it("lists the loopback as Node lists this host's lo", () => {
    const ours = networkInterfacesOf(dummyStack()).lo;
    const host = nodeOs.networkInterfaces().lo;
    if (!host) throw new Error('this host has no interface named lo to compare with');
    // The host's lo may have more addresses than 127.0.0.1/8 and ::1/128; compare those two.
    // A host without IPv6 has only the first.
    const wanted = host.filter((entry) => entry.cidr === '127.0.0.1/8' || entry.cidr === '::1/128');
    expect(wanted.length).toBeGreaterThan(0);
    expect(ours.filter((entry) => wanted.some((w) => w.cidr === entry.cidr))).toEqual(wanted);
  });

  it('lists every other interface with its IPv4 address, its link-local address (zone = its number) and the others', () => {
    const stack = dummyStack();
    const dummy = networkInterfacesOf(stack).dummy0;
    const linkLocal = dummy.find((entry) => entry.address.startsWith('fe80:'))!;
    expect(dummy.map((entry) => [entry.family, entry.cidr.replace(/^fe80:[^/]*/, 'fe80::…'), entry.netmask, entry.internal, entry.scopeid])).toEqual([
      ['IPv4', '198.18.0.1/32', '255.255.255.255', false, undefined],
      ['IPv6', 'fe80::…/64', 'ffff:ffff:ffff:ffff::', false, 2],
      ['IPv6', 'fd00:5::1/64', 'ffff:ffff:ffff:ffff::', false, 0],
    ]);
    expect(linkLocal.scopeid).toBe(stack.ip.listInterfaces().findIndex((iface) => iface.name === 'dummy0') + 1);
  });
});

describe('a link-local sender carries its zone (RFC 4007 §11), as libuv reports sin6_scope_id', () => {
  it('to an address of ours: the zone is the interface the address is on, not the loopback it came by', async () => {
    const stack = dummyStack();
    drivers.push(new RealtimeDriver(stack).start());
    const linkLocal = networkInterfacesOf(stack).dummy0.find((entry) => entry.address.startsWith('fe80:'))!.address;
    const address = `${linkLocal}%dummy0`;
    const server = stack.dgram.createSocket('udp6');
    const client = stack.dgram.createSocket('udp6');
    await new Promise<void>((resolve) => server.bind({ address }, resolve));
    const received = new Promise<any>((resolve) =>
      server.on('message', (message: Buffer, rinfo: any) => resolve({ message: String(message), address: rinfo.address })),
    );
    client.send('hello', server.address().port, address);
    expect(await received).toEqual({ message: 'hello', address });
    // A global address has no zone.
    server.close();
    const other = stack.dgram.createSocket('udp6');
    const plain = stack.dgram.createSocket('udp6');
    await new Promise<void>((resolve) => plain.bind({ address: 'fd00:5::1' }, resolve));
    const plainReceived = new Promise<any>((resolve) => plain.on('message', (_: Buffer, rinfo: any) => resolve(rinfo.address)));
    other.send('x', plain.address().port, 'fd00:5::1');
    expect(await plainReceived).toBe('fd00:5::1');
    for (const socket of [client, other, plain]) socket.close();
  });

  it('from another host on the wire: the zone is the interface it arrived on', async () => {
    const network = new VirtualNetwork(4);
    const a = network.createStack('a');
    const b = network.createStack('b');
    network.connect({ stack: a, address: '10.0.0.1/24', interfaceName: 'eth7' }, { stack: b, address: '10.0.0.2/24', interfaceName: 'eth9' });
    const linkLocalOf = (stack: Stack, name: string) => networkInterfacesOf(stack)[name].find((entry) => entry.address.startsWith('fe80:'))!.address;
    const got = await network.runAsync(async () => {
      const server = b.dgram.createSocket('udp6');
      await new Promise<void>((resolve) => server.bind({ port: 4000, address: '::' }, resolve));
      const received = new Promise<string>((resolve) => server.on('message', (_: Buffer, rinfo: any) => resolve(rinfo.address)));
      const client = a.dgram.createSocket('udp6');
      client.send('hi', 4000, `${linkLocalOf(b, 'eth9')}%eth7`);
      const address = await received;
      client.close();
      server.close();
      return address;
    });
    expect(got).toBe(`${linkLocalOf(a, 'eth7')}%eth9`);
  });
});
