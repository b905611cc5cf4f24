/**
 * TCP_INFO on both faces: `getsockopt(fd, IPPROTO_TCP, TCP_INFO)` of the Berkeley API and
 * `socket.getTcpInfo()` of ustack's net.Socket, on two stacks 5 ms apart in virtual time.
 */
import { describe, expect, it } from 'vitest';
import { ErrnoError } from '../../src/core/errno.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { NO_MIN_RTT, TCP_INFINITE_SSTHRESH, type TcpInfo } from '../../src/tcp/tcp-info.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
function twoStacks() {
  const network = new VirtualNetwork(3);
  const client = network.createStack('client');
  const server = network.createStack('server');
  network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 5 });
  return { network, client, server };
}

/** Resolves after `ms` of the stack's (virtual) time. */
function sleep(stack: Stack, ms: number): Promise<void> {
  return new Promise((resolve) => stack.schedule(stack.currentTimeForCalls() + ms, resolve));
}

function tcpInfoOf(api: BerkeleySockets, fd: number, level = C.IPPROTO_TCP): TcpInfo {
  return api.getsockopt(fd, level, C.TCP_INFO) as TcpInfo;
}

describe('getsockopt(fd, IPPROTO_TCP, TCP_INFO)', () => {
  it('a fresh socket reads TCP_CLOSE with Linux’s initial values, a listener TCP_LISTEN with its backlog; SOL_TCP is the same level', () => {
    const { server } = twoStacks();
    const api = new BerkeleySockets(server);
    const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
    const fresh = tcpInfoOf(api, fd, C.SOL_TCP);
    expect([fresh.state, fresh.rto, fresh.snd_cwnd, fresh.snd_ssthresh, fresh.min_rtt]).toEqual([7, 1_000_000, 10, TCP_INFINITE_SSTHRESH, NO_MIN_RTT]);
    api.bind(fd, { address: '0.0.0.0', port: 80 });
    api.listen(fd, 16);
    const listening = tcpInfoOf(api, fd);
    expect([listening.state, listening.unacked, listening.sacked]).toEqual([10, 0, 16]);
  });

  it('is not an option of a UDP socket (ENOPROTOOPT, as Linux)', () => {
    const { client } = twoStacks();
    const api = new BerkeleySockets(client);
    const fd = api.socket(C.AF_INET, C.SOCK_DGRAM);
    expect(() => api.getsockopt(fd, C.IPPROTO_TCP, C.TCP_INFO)).toThrow(ErrnoError);
  });

  it('a connection over a 10 ms round trip: state, negotiated options, RTT, MSSes and counters on both ends', async () => {
    const { network, client, server } = twoStacks();
    const clientApi = new BerkeleySockets(client);
    const serverApi = new BerkeleySockets(server);
    await network.runAsync(async () => {
      const listener = serverApi.socket(C.AF_INET, C.SOCK_STREAM);
      serverApi.bind(listener, { address: '0.0.0.0', port: 80 });
      serverApi.listen(listener, 4);
      const fd = clientApi.socket(C.AF_INET, C.SOCK_STREAM);
      const accepting = serverApi.accept(listener);
      await clientApi.connect(fd, { address: '10.0.0.2', port: 80 });
      const accepted = (await accepting).fd;

      const active = tcpInfoOf(clientApi, fd);
      expect([active.state, active.options, active.snd_wscale, active.rcv_wscale]).toEqual([1, 1 | 2 | 4 | 8, 5, 5]);
      expect([active.rtt, active.rttvar, active.min_rtt, active.rto]).toEqual([10_000, 5_000, 10_000, 200_000]);
      expect([active.snd_mss, active.advmss, active.pmtu, active.snd_cwnd]).toEqual([1448, 1460, 1500, 10]);
      expect([active.segs_out, active.segs_in, active.bytes_acked]).toEqual([2, 1, 1]);

      await clientApi.send(fd, new TextEncoder().encode('hello'));
      expect(new TextDecoder().decode(await serverApi.recv(accepted, 100))).toBe('hello');
      await sleep(server, 100);
      const passive = tcpInfoOf(serverApi, accepted);
      expect([passive.state, passive.segs_in, passive.data_segs_in, passive.bytes_received, passive.last_data_recv]).toEqual([1, 2, 1, 5, 100]);
      const sender = tcpInfoOf(clientApi, fd);
      expect([sender.data_segs_out, sender.bytes_sent, sender.bytes_acked, sender.last_data_sent]).toEqual([1, 5, 6, 105]); // sent 5 ms before it arrived

      // Both sides close: the client's end passes through TIME-WAIT, which its fd reads as
      // TCP_CLOSE (Linux moves TIME-WAIT to a mini-socket and closes the socket itself).
      clientApi.shutdown(fd, C.SHUT_WR);
      expect((await serverApi.recv(accepted, 100)).length).toBe(0);
      serverApi.close(accepted);
      expect((await clientApi.recv(fd, 100)).length).toBe(0);
      await sleep(client, 20);
      const closed = tcpInfoOf(clientApi, fd);
      expect([closed.state, closed.bytes_acked, closed.bytes_received]).toEqual([7, 7, 1]);
      clientApi.close(fd);
      serverApi.close(listener);
    });
  });
});

describe('net.Socket getTcpInfo() (a ustack extension)', () => {
  it('is undefined before connect and after destroy, and the connection’s TCP_INFO in between', async () => {
    const { network, client, server } = twoStacks();
    await network.runAsync(async () => {
      const echo = server.net.createServer((socket: any) => socket.pipe(socket)).listen(7);
      const socket = new client.net.Socket();
      expect(socket.getTcpInfo()).toBeUndefined();
      await new Promise<void>((resolve) => socket.connect(7, '10.0.0.2', resolve));
      const info = socket.getTcpInfo()!;
      expect([info.state, info.rtt, info.snd_mss, info.segs_out]).toEqual([1, 10_000, 1448, 2]);
      socket.write('ping');
      await new Promise((resolve) => socket.once('data', resolve));
      expect(socket.getTcpInfo()!.bytes_received).toBe(4);
      socket.destroy();
      expect(socket.getTcpInfo()).toBeUndefined();
      echo.close();
    });
  });
});
