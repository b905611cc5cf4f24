import { describe, expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';

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
});
