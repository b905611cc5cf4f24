import { describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/core/clock.js';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { VirtualWire, type WireEnd } from '../../src/link/virtual-wire.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { udpFrame } from '../support/packets.js';
import { Stack } from '../../src/socket-api/stack.js';

/** Two stacks on a wire, each on its own driver (one clock), a frame put on the wire waking the other's driver as a device read would. */
function wiredPair() {
  const clock = new SystemClock();
  const wire = new VirtualWire({ name: 'wire' });
  const a = new Stack({ name: 'a', seed: 1 });
  const b = new Stack({ name: 'b', seed: 2 });
  const drivers = { a: new RealtimeDriver(a, clock).start(), b: new RealtimeDriver(b, clock).start() };
  const sent = { a: 0, b: 0 };
  const wake = (end: WireEnd, side: 'a' | 'b', peer: RealtimeDriver) => {
    const transmit = end.transmit.bind(end);
    end.transmit = (frame, now, segmentSize) => {
      sent[side]++;
      transmit(frame, now, segmentSize);
      peer.pollSoon();
    };
  };
  wake(wire.a, 'a', drivers.b);
  wake(wire.b, 'b', drivers.a);
  a.addInterface({ name: 'eth0', link: wire.a, address: '10.0.0.1/24' });
  b.addInterface({ name: 'eth0', link: wire.b, address: '10.0.0.2/24' });
  return { a, b, drivers, sent, stop: () => (drivers.a.stop(), drivers.b.stop()) };
}

const A = parseIpv4Address('10.0.0.1')!;
const B = parseIpv4Address('10.0.0.2')!;
const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve));
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RealtimeDriver', () => {
  it('runs a TCP echo over loopback in real time, with the stack never reading a clock itself', async () => {
    const stack = new Stack({ name: 'local', seed: 7 });
    const driver = new RealtimeDriver(stack).start();
    const listener = unwrap(stack.tcp.listen(0, 7));
    listener.onAcceptable = () => {
      const connection = listener.accept()!;
      connection.events.onReadable = () => {
        const data = connection.receive();
        if (data.length > 0) connection.send(data);
        if (connection.endOfStream) connection.close();
      };
    };
    const client = unwrap(stack.tcp.connect(parseIpv4Address('127.0.0.1')!, 7));
    const echoed = await new Promise<string>((resolve) => {
      let text = '';
      client.events.onConnect = () => client.send(new TextEncoder().encode('hello over loopback'));
      client.events.onReadable = () => {
        text += new TextDecoder().decode(client.receive());
        if (text.length === 'hello over loopback'.length) resolve(text);
      };
    });
    expect(echoed).toBe('hello over loopback');
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(client.state === 'FIN-WAIT-2' || client.state === 'TIME-WAIT').toBe(true);
    driver.stop();
    expect(stack.stats.sum('drop.')).toBe(0);
  });

  it('a datagram sent between two turns leaves once the ticks of the callback that sent it are done, not a turn later', async () => {
    const { a, sent, stop } = wiredPair();
    await nextTurn(); // the start polls are over
    const socket = a.udp.open();
    unwrap(socket.send(new Uint8Array([1, 2, 3]), B, 9));
    expect(sent.a).toBe(0); // queued: the stack sends from its poll, never from the call
    await nextTick();
    expect(sent.a).toBe(1);
    // A second send in the same turn waits for the next: one poll after ticks per turn.
    unwrap(socket.send(new Uint8Array([4]), B, 9));
    await nextTick();
    expect(sent.a).toBe(1);
    await nextTurn();
    expect(sent.a).toBe(2);
    stop();
  });

  it("a device's batch is polled once, at its end: the replies it queued leave together and no poll is left for later", async () => {
    const { a, b, drivers, sent, stop } = wiredPair();
    await nextTurn(); // the start polls are over
    const echo = b.udp.open();
    unwrap(echo.bind(undefined, 7));
    echo.onReadable = () => {
      for (let datagram = echo.receive(); datagram !== null; datagram = echo.receive())
        unwrap(echo.send(datagram.payload, datagram.sourceAddress, datagram.sourcePort));
    };
    const replies = [0, 1, 2].map((i) => {
      const socket = a.udp.open();
      unwrap(socket.bind(undefined, 4000 + i));
      return socket;
    });
    let polls = 0;
    const poll = b.poll.bind(b);
    b.poll = (now) => (polls++, poll(now));
    drivers.b.beginBatch();
    for (let i = 0; i < 3; i++) b.receive('eth0', udpFrame({ source: A, destination: B }, 4000 + i, 7, new Uint8Array([i])), drivers.b.clock.now());
    expect(sent.b).toBe(0); // queued: nothing leaves before the batch ends
    drivers.b.endBatch();
    expect([polls, sent.b]).toEqual([1, 3]);
    await nextTick();
    await nextTurn();
    expect(polls).toBe(1);
    expect(replies.map((socket) => socket.receive()?.payload[0])).toEqual([0, 1, 2]);
    expect(a.stats.sum('drop.') + b.stats.sum('drop.')).toBe(0);
    stop();
  });

  it('two stacks answering each other at once never keep the event loop from its timers and I/O', async () => {
    const { a, b, sent, stop } = wiredPair();
    // UDP echo on both ends: every datagram comes straight back, for ever.
    for (const [stack, peer] of [
      [a, B],
      [b, A],
    ] as const) {
      const socket = stack.udp.open();
      unwrap(socket.bind(undefined, 7));
      socket.onReadable = () => {
        for (let datagram = socket.receive(); datagram !== null; datagram = socket.receive()) unwrap(socket.send(datagram.payload, peer, 7));
      };
    }
    const first = a.udp.open();
    unwrap(first.bind(undefined, 7000));
    unwrap(first.send(new Uint8Array([42]), B, 7));
    // b echoes to a's port 7, a's echo answers b's port 7: a ping-pong with no end.
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const waited = performance.now() - started;
    stop();
    expect(sent.a + sent.b).toBeGreaterThan(10);
    expect(waited).toBeLessThan(2000);
  });
});
