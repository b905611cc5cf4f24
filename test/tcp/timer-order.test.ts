/**
 * The order in which the layer runs the due timers of several connections: the order the
 * connections entered its table, as a scan of the table would, whatever their deadlines.
 */
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import type { TcpConnection } from '../../src/tcp/connection.js';

/** A client stack with `count` idle ESTABLISHED connections to a server, and the source ports of what it sends from now on. */
function idleConnections(count: number) {
  const net = new VirtualNetwork(3);
  const client = net.createStack('client');
  const server = net.createStack('server');
  const wire = net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
  const listener = unwrap(server.tcp.listen(0, 80, 64));
  const accepted: TcpConnection[] = [];
  listener.onAcceptable = () => {
    for (let c = listener.accept(); c !== null; c = listener.accept()) accepted.push(c);
  };
  const connections = Array.from({ length: count }, () => unwrap(client.tcp.connect(parseIpv4Address('10.0.0.2')!, 80)));
  net.runUntil(() => accepted.length === count);
  net.runUntilIdle(1000);
  const sentFrom: number[] = [];
  const link = wire.a.iface.link;
  const transmit = link.transmit.bind(link);
  link.transmit = (frame: Uint8Array, now: number) => {
    sentFrom.push((frame[20] << 8) | frame[21]);
    transmit(frame, now);
  };
  for (const connection of connections) connection.setKeepalive({ enabled: true });
  return { net, client, connections, sentFrom };
}

describe('TCP timers of several connections', () => {
  it('run in the order the connections were opened, not in deadline order', () => {
    const { net, client, connections, sentFrom } = idleConnections(3);
    const [a, b, c] = connections;
    const now = net.now;
    c.keepaliveDeadline = now + 100;
    a.keepaliveDeadline = now + 200;
    b.keepaliveDeadline = now + 300;
    client.poll(now + 500); // all three due in one poll
    expect(sentFrom).toEqual([a.localPort, b.localPort, c.localPort]);
  });

  it("a connection that another's timer makes due runs in the same poll if the scan has not passed it, else in the next", () => {
    const { net, client, connections, sentFrom } = idleConnections(3);
    const [a, b, c] = connections;
    const now = net.now;
    const due = now + 500;
    b.keepaliveDeadline = now + 100;
    // While b's timer runs (its probe goes to IP), a and c become due.
    const transmit = client.tcp.transmit.bind(client.tcp);
    client.tcp.transmit = (connection, segment) => {
      if (connection === b) {
        a.keepaliveDeadline = due;
        c.keepaliveDeadline = due;
      }
      return transmit(connection, segment);
    };
    client.poll(due);
    expect(sentFrom).toEqual([b.localPort, c.localPort]); // a came before b in the table: already passed
    expect(client.pollAt()).toBe(due);
    client.poll(due);
    expect(sentFrom).toEqual([b.localPort, c.localPort, a.localPort]);
  });
});
