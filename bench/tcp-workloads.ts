/**
 * The TCP workloads of bench/tcp-virtual.ts and bench/compare-builds.ts: two stacks in one
 * process on one virtual wire (1 ms one way, MTU 1500, no faults), default TCP settings. Each
 * takes the build to run (its modules' exports, so that compare-builds can hand it another
 * checkout's) and a meter (ms: wall or CPU time), and returns the metered time of its part.
 */
import type { unwrap } from '../src/core/result.js';
import type { Rng } from '../src/core/rng.js';
import type { parseIpv4Address } from '../src/ip/address.js';
import type { Stack } from '../src/socket-api/stack.js';
import type { VirtualNetwork } from '../src/socket-api/virtual-network.js';

/** What the workloads use of a build of ustack, by the names its modules export. */
export interface Build {
  readonly VirtualNetwork: typeof VirtualNetwork;
  readonly Rng: typeof Rng;
  readonly unwrap: typeof unwrap;
  readonly parseIpv4Address: typeof parseIpv4Address;
}

/** A clock in ms: `performance.now` for wall time, or the process's CPU time. */
export type Meter = () => number;

const PORT = 5001;

/** A client and a server stack joined by one wire. */
export function pair(build: Build, seed = 1): { net: VirtualNetwork; client: Stack; server: Stack } {
  const net = new build.VirtualNetwork(seed);
  const client = net.createStack('client');
  const server = net.createStack('server');
  net.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 1 });
  return { net, client, server };
}

const serverAddress = (build: Build) => build.parseIpv4Address('10.0.0.2')!;

/** `connections` bulk transfers of `bytes` each, client → server, at once; the metered time of the transfer. */
export function bulk(build: Build, meter: Meter, connections: number, bytes: number): number {
  const { net, client, server } = pair(build);
  const data = new build.Rng(7).bytes(1 << 20);
  const listener = build.unwrap(server.tcp.listen(0, PORT));
  let received = 0;
  listener.onAcceptable = () => {
    for (let c = listener.accept(); c !== null; c = listener.accept()) {
      const connection = c;
      connection.events.onReadable = () => {
        for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) received += chunk.length;
      };
    }
  };
  for (let i = 0; i < connections; i++) {
    const connection = build.unwrap(client.tcp.connect(serverAddress(build), PORT));
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const offset = sent % data.length;
        const result = connection.send(data.subarray(offset, Math.min(data.length, offset + (bytes - sent))));
        if (!result.ok || result.value === 0) break;
        sent += result.value;
      }
    };
    connection.events.onConnect = pump;
    connection.events.onWritable = pump;
  }
  const total = connections * bytes;
  const startedAt = meter();
  net.runUntil(() => received >= total, 600_000);
  return meter() - startedAt;
}

/** `transactions` 1-byte requests and 1-byte responses, one at a time, after the handshake; the metered time. */
export function requestResponse(build: Build, meter: Meter, transactions: number): number {
  const { net, client, server } = pair(build);
  const listener = build.unwrap(server.tcp.listen(0, PORT));
  listener.onAcceptable = () => {
    const connection = listener.accept()!;
    connection.events.onReadable = () => {
      for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) connection.send(chunk);
    };
  };
  const request = new Uint8Array([42]);
  const connection = build.unwrap(client.tcp.connect(serverAddress(build), PORT));
  let done = 0;
  connection.events.onConnect = () => connection.send(request);
  connection.events.onReadable = () => {
    for (let chunk = connection.receive(); chunk.length > 0; chunk = connection.receive()) {
      done += chunk.length;
      if (done < transactions) connection.send(request);
    }
  };
  net.runUntil(() => connection.state === 'ESTABLISHED', 10_000);
  const first = done;
  const startedAt = meter();
  net.runUntil(() => done >= transactions, 3_600_000);
  if (first !== 0) throw new Error('requestResponse: a transaction finished during the handshake');
  return meter() - startedAt;
}

/** `count` connections opened, used for nothing and closed both ways, one after another; the metered time. */
export function connectClose(build: Build, meter: Meter, count: number): number {
  const { net, client, server } = pair(build);
  const listener = build.unwrap(server.tcp.listen(0, PORT, 65535));
  listener.onAcceptable = () => {
    for (let c = listener.accept(); c !== null; c = listener.accept()) {
      const connection = c;
      connection.events.onReadable = () => {
        if (connection.endOfStream) connection.close();
      };
    }
  };
  const startedAt = meter();
  for (let i = 0; i < count; i++) {
    const connection = build.unwrap(client.tcp.connect(serverAddress(build), PORT));
    connection.events.onConnect = () => connection.close();
    // Our side ends in TIME-WAIT (60 s of virtual time, which never passes here): it stays in
    // the table, as on a busy client.
    net.runUntil(() => connection.state === 'TIME-WAIT' || connection.state === 'CLOSED', 10_000);
  }
  return meter() - startedAt;
}
