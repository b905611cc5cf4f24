import { describe, expect, it } from 'vitest';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
function twoStacks(seed = 1, latencyMs = 10) {
  const network = new VirtualNetwork(seed);
  const client = network.createStack('client');
  const server = network.createStack('server');
  network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs });
  return { network, client, server };
}

describe('VirtualNetwork.runAsync', () => {
  it('runs promise-based code to completion and returns its value, in virtual time', async () => {
    const { network, client, server } = twoStacks(1, 10);
    const started = performance.now();
    const reply = await network.runAsync(async () => {
      const socket = server.dgram.createSocket('udp4');
      socket.on('message', (message: Buffer, rinfo: any) => socket.send(message.toString().toUpperCase(), rinfo.port, rinfo.address));
      await new Promise<void>((resolve) => socket.bind(7, resolve));
      const asker = client.dgram.createSocket('udp4');
      const answer = new Promise<string>((resolve) => asker.once('message', (message: Buffer) => resolve(`${message} at ${network.now} ms`)));
      asker.send('ping', 7, '10.0.0.2');
      const result = await answer;
      asker.close();
      socket.close();
      return result;
    });
    // One 10 ms hop each way: the answer arrives at exactly 20 ms of virtual time.
    expect(reply).toBe('PING at 20 ms');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('runs the README example: an echo server and a client iterating over its socket', async () => {
    const { network, client, server } = twoStacks(1, 1);
    const lines: string[] = [];
    await network.runAsync(async () => {
      const echo = server.net.createServer((socket: any) => socket.pipe(socket)).listen(7);
      const socket = client.net.connect(7, '10.0.0.2', () => socket.end('hello'));
      for await (const chunk of socket) lines.push(`${chunk} at ${network.now} ms`);
      echo.close();
    });
    // SYN, SYN-ACK, then the data 1 ms each way (the client sends as soon as it is connected).
    expect(lines).toEqual(['hello at 4 ms']);
  });

  it("accepts a promise as well as a function, and rejects with the promise's own error", async () => {
    const { network } = twoStacks();
    await expect(network.runAsync(Promise.resolve(42))).resolves.toBe(42);
    await expect(network.runAsync(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('finishes the event-loop work of one instant before the clock moves on', async () => {
    const { network, client } = twoStacks();
    const seen: number[] = [];
    await network.runAsync(async () => {
      const socket = client.net.connect(80, '10.0.0.2');
      socket.on('error', () => {});
      // A chain of ticks and immediates at time 0, while the SYN waits for its 10 ms hop.
      await new Promise<void>((resolve) => {
        const chain = (left: number) => {
          seen.push(network.now);
          if (left === 0) resolve();
          else if (left % 2) process.nextTick(chain, left - 1);
          else setImmediate(chain, left - 1);
        };
        chain(6);
      });
      await new Promise((resolve) => socket.once('close', resolve));
    });
    expect(seen).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('gives up after limitMs of virtual time', async () => {
    const { network, client } = twoStacks();
    const never = network.runAsync(
      async () => {
        const socket = client.net.connect(80, '10.0.0.3'); // nobody answers: SYN retries for 127 s
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('close', resolve));
      },
      { limitMs: 5_000 },
    );
    await expect(never).rejects.toThrow('not settled within 5000 ms of virtual time');
    expect(network.now).toBeLessThanOrEqual(5_000);
  });

  it('says so when nothing is left to do in virtual time and the promise is still pending', async () => {
    const { network } = twoStacks();
    await expect(network.runAsync(new Promise(() => {}), { idleRealTimeMs: 20 })).rejects.toThrow('nothing left to do in virtual time');
  });
});
