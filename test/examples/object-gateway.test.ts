import { afterEach, describe, expect, it } from 'vitest';
import { connectGateway, GatewayError, startGatewayServer, type RemoteObject } from '../../examples/object-gateway/gateway.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';

let driver: RealtimeDriver | null = null;
afterEach(() => driver?.stop());

class Counter {
  value = 0;
  add(n: number) {
    this.value += n;
    return this.value;
  }
}

describe('the object gateway (Py4J style)', () => {
  it('calls methods by name, returns objects by reference, calls back to the client, and raises remote errors', async () => {
    const stack = new Stack({ name: 'gw', seed: 9 });
    driver = new RealtimeDriver(stack).start();
    const api = new BerkeleySockets(stack);
    const entryPoint = {
      greet: (name: string) => `hello, ${name}`,
      newCounter: () => new Counter(),
      divide: (a: number, b: number) => {
        if (b === 0) throw new RangeError('division by zero');
        return a / b;
      },
      // The server calls back into an object the client passed.
      notifyTwice: async (listener: RemoteObject) => [await listener.onEvent('first'), await listener.onEvent('second')],
    };
    const server = startGatewayServer(api, 25333, entryPoint);
    const client = await connectGateway(api, '127.0.0.1', 25333);
    const gateway = client.remote('entryPoint');

    expect(await gateway.greet('ustack')).toBe('hello, ustack');
    const counter = (await gateway.newCounter()) as RemoteObject;
    await counter.add(5);
    expect(await counter.add(2)).toBe(7);

    const seen: string[] = [];
    const listener = { onEvent: (event: string) => (seen.push(event), event.toUpperCase()) };
    expect(await gateway.notifyTwice(listener)).toEqual(['FIRST', 'SECOND']);
    expect(seen).toEqual(['first', 'second']);

    await expect(gateway.divide(1, 0)).rejects.toThrow(GatewayError);
    await expect(gateway.divide(1, 0)).rejects.toMatchObject({ message: 'division by zero', remoteName: 'RangeError' });
    await expect(gateway.noSuchMethod()).rejects.toThrow(/has no method noSuchMethod/);

    client.close();
    api.close(server.fd);
    await server.stopped;
  });
});
