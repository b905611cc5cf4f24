/**
 * TIME-WAIT as a compact record (time-wait.ts): the layer's demultiplexing holds a record in
 * place of the connection, which still binds its port (RFC 6056, bind conflicts), still answers
 * (an ICMP error about it is out of the window: nothing is in flight), and ends after 2·MSL in
 * deadline order. The answers themselves are the TIME-WAIT tests of state-close, state-reset
 * and the conformance scripts, unchanged.
 */
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../src/core/result.js';
import { parseIpv4Address } from '../../src/ip/address.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { ACK, ack, FIN, flags, LISTEN_PORT, PEER_ADDRESS, PEER_CLIENT_PORT, timeWait } from './harness.js';

describe('TIME-WAIT as a record in the layer (time-wait.ts)', () => {
  it('the layer holds a record for the 4-tuple, not the connection; it keeps the connection only while an onClose waits', () => {
    const h = timeWait();
    expect(h.stack.tcp.listConnections()).toEqual([]);
    const [record] = h.stack.tcp.listTimeWait();
    expect(record.state).toBe('TIME-WAIT');
    expect([record.localAddress, record.localPort, record.remoteAddress, record.remotePort]).toEqual([
      h.conn.localAddress,
      LISTEN_PORT,
      PEER_ADDRESS,
      PEER_CLIENT_PORT,
    ]);
    expect([record.sndNxt, record.rcvNxt]).toEqual([h.ourSeq(1), h.peerSeq(1)]);
    expect(record.owner).toBe(h.conn); // the harness listens for onClose
    h.conn.events = {}; // as a socket does when closed (berkeley.ts, tcp-handle.ts)
    expect(record.owner).toBe(null);
    h.advance(60_000);
    expect(h.conn.state).toBe('CLOSED'); // read from the ended record
    expect(h.events).not.toContain('close:ok'); // nobody was listening any more
    expect(h.stack.tcp.listTimeWait()).toEqual([]);
    expect(h.stat('tcp.timeWait.expired')).toBe(1);
    expect(h.stat('tcp.state.CLOSED')).toBe(1);
  });

  it('its port stays taken: bind needs SO_REUSEADDR, and connect to the same 4-tuple fails with EADDRINUSE', () => {
    const h = timeWait();
    h.listener!.close(); // the listener's binding of port 80 goes; the record's use of it stays
    const bound = h.stack.tcp.bind(0, LISTEN_PORT);
    expect(bound.ok ? 'bound' : bound.error).toBe('EADDRINUSE');
    h.stack.tcp.unbind(unwrap(h.stack.tcp.bind(0, LISTEN_PORT, { reuseAddress: true })));
    const reused = h.stack.tcp.connect(PEER_ADDRESS, PEER_CLIENT_PORT, { localPort: LISTEN_PORT });
    expect(reused.ok ? 'connected' : reused.error).toBe('EADDRINUSE');
    expect(h.stack.tcp.portInUse(0, LISTEN_PORT)).toBe(true);
    h.advance(60_000);
    expect(h.stack.tcp.portInUse(0, LISTEN_PORT)).toBe(false);
    expect(h.stack.tcp.bind(0, LISTEN_PORT).ok).toBe(true);
  });

  it('an ICMP error quoting a segment of the 4-tuple is out of the window (RFC 5927 §4.1): nothing is in flight', () => {
    const h = timeWait();
    h.send({ seq: h.peerSeq(0), ack: h.ourSeq(1), flags: FIN | ACK }); // a retransmitted FIN
    const ours = h.expectSent(flags(ACK), ack(h.peerSeq(1)));
    h.sendIcmpUnreachable(ours, 1);
    expect(h.stat('drop.tcp.icmpOutOfWindow')).toBe(1);
    expect(h.conn.state).toBe('TIME-WAIT');
  });

  it('records end in the order of their deadlines, 2·MSL after each entered TIME-WAIT', () => {
    const net = new VirtualNetwork(5);
    const client = net.createStack('client');
    const server = net.createStack('server');
    net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
    const listener = unwrap(server.tcp.listen(0, 5001, 16));
    listener.onAcceptable = () => {
      for (let c = listener.accept(); c !== null; c = listener.accept()) {
        const accepted = c;
        accepted.events.onReadable = () => {
          if (accepted.endOfStream) accepted.close();
        };
      }
    };
    const entered: number[] = [];
    for (let i = 0; i < 3; i++) {
      const connection = unwrap(client.tcp.connect(parseIpv4Address('10.0.0.2')!, 5001, { localPort: 20_000 + i }));
      connection.events.onConnect = () => connection.close();
      net.runUntil(() => client.tcp.timeWaitCount === i + 1);
      entered.push(net.clock.now());
      net.run(10_000);
    }
    const ports = () =>
      client.tcp
        .listTimeWait()
        .map((r) => r.localPort)
        .sort();
    expect(ports()).toEqual([20_000, 20_001, 20_002]);
    net.run(entered[0] + 60_000 - net.clock.now());
    expect(ports()).toEqual([20_001, 20_002]);
    net.run(entered[1] + 60_000 - net.clock.now() - 1);
    expect(ports()).toEqual([20_001, 20_002]);
    net.run(1);
    expect(ports()).toEqual([20_002]);
    expect(client.tcp.pollAt()).toBe(client.tcp.listTimeWait()[0].deadline);
  });
});
