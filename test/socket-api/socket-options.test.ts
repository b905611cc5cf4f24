/**
 * The socket-option table of TCP sockets (src/socket-api/tcp-socket-options.ts) as the Berkeley
 * API exposes it: which values each option refuses and with what errno, what reads back, and
 * that options set before connect() reach the connection through its setters.
 */
import { describe, expect, it } from 'vitest';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';

function errorOf(call: () => unknown): string {
  try {
    call();
    return 'ok';
  } catch (error) {
    return (error as { code: string }).code;
  }
}

function tcpSocket(): { api: BerkeleySockets; fd: number } {
  const api = new BerkeleySockets(new Stack({ name: 'host', seed: 1 }));
  return { api, fd: api.socket(C.AF_INET, C.SOCK_STREAM) };
}

describe('setsockopt on a TCP socket: what each option refuses', () => {
  const cases: [string, number, number, number | string | boolean | { onoff: number; linger: number }, string][] = [
    ['SO_LINGER without its pair', C.SOL_SOCKET, C.SO_LINGER, 1, 'EINVAL'],
    ['SO_LINGER with its pair', C.SOL_SOCKET, C.SO_LINGER, { onoff: 1, linger: 0 }, 'ok'],
    ['SO_RCVBUF 0', C.SOL_SOCKET, C.SO_RCVBUF, 0, 'EINVAL'],
    ['SO_SNDBUF negative', C.SOL_SOCKET, C.SO_SNDBUF, -1, 'EINVAL'],
    ['SO_RCVTIMEO 0 (wait forever)', C.SOL_SOCKET, C.SO_RCVTIMEO, 0, 'ok'],
    ['SO_ZEROCOPY 2', C.SOL_SOCKET, C.SO_ZEROCOPY, 2, 'EINVAL'],
    ['SO_TYPE (read-only)', C.SOL_SOCKET, C.SO_TYPE, 1, 'ENOPROTOOPT'],
    ['SO_ERROR (read-only)', C.SOL_SOCKET, C.SO_ERROR, 0, 'ENOPROTOOPT'],
    ['IP_TTL 0', C.IPPROTO_IP, C.IP_TTL, 0, 'EINVAL'],
    ['IP_TTL 256', C.IPPROTO_IP, C.IP_TTL, 256, 'EINVAL'],
    ['IP_TTL -1 (the default again)', C.IPPROTO_IP, C.IP_TTL, -1, 'ok'],
    ['IP_MTU_DISCOVER beyond PROBE', C.IPPROTO_IP, C.IP_MTU_DISCOVER, C.IP_PMTUDISC_PROBE + 1, 'EINVAL'],
    ['IP_HDRINCL (raw sockets only)', C.IPPROTO_IP, C.IP_HDRINCL, 1, 'ENOPROTOOPT'],
    ['IP_MULTICAST_TTL (UDP only)', C.IPPROTO_IP, C.IP_MULTICAST_TTL, 1, 'ENOPROTOOPT'],
    ['IP_ADD_MEMBERSHIP (UDP only)', C.IPPROTO_IP, C.IP_ADD_MEMBERSHIP, '224.1.2.3', 'ENOPROTOOPT'],
    ['TCP_MAXSEG 87', C.IPPROTO_TCP, C.TCP_MAXSEG, 87, 'EINVAL'],
    ['TCP_MAXSEG 32768', C.IPPROTO_TCP, C.TCP_MAXSEG, 32768, 'EINVAL'],
    ['TCP_MAXSEG 88', C.IPPROTO_TCP, C.TCP_MAXSEG, 88, 'ok'],
    ['TCP_KEEPIDLE 0', C.IPPROTO_TCP, C.TCP_KEEPIDLE, 0, 'EINVAL'],
    ['TCP_KEEPINTVL 0', C.IPPROTO_TCP, C.TCP_KEEPINTVL, 0, 'EINVAL'],
    ['TCP_KEEPCNT 0', C.IPPROTO_TCP, C.TCP_KEEPCNT, 0, 'EINVAL'],
    ['TCP_USER_TIMEOUT negative', C.IPPROTO_TCP, C.TCP_USER_TIMEOUT, -5, 'EINVAL'],
    ['TCP_CONGESTION unknown (as Linux)', C.IPPROTO_TCP, C.TCP_CONGESTION, 'vegas', 'ENOENT'],
    ['TCP_INFO (read-only)', C.IPPROTO_TCP, C.TCP_INFO, 1, 'ENOPROTOOPT'],
    ['an unknown level', 999, 1, 1, 'ENOPROTOOPT'],
  ];
  for (const [what, level, name, value, expected] of cases) {
    it(`${what}: ${expected}`, () => {
      const { api, fd } = tcpSocket();
      expect(errorOf(() => api.setsockopt(fd, level, name, value))).toBe(expected);
    });
  }
});

describe('getsockopt on a TCP socket', () => {
  it('reads back what was set, in the units it was set in', () => {
    const { api, fd } = tcpSocket();
    api.setsockopt(fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1);
    api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_KEEPIDLE, 30);
    api.setsockopt(fd, C.SOL_SOCKET, C.SO_LINGER, { onoff: 1, linger: 5 });
    api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_CONGESTION, 'newreno');
    api.setsockopt(fd, C.IPPROTO_IP, C.IP_TTL, 9);
    expect(api.getsockopt(fd, C.SOL_SOCKET, C.SO_KEEPALIVE)).toBe(1);
    expect(api.getsockopt(fd, C.IPPROTO_TCP, C.TCP_KEEPIDLE)).toBe(30);
    expect(api.getsockopt(fd, C.SOL_SOCKET, C.SO_LINGER)).toEqual({ onoff: 1, linger: 5 });
    expect(api.getsockopt(fd, C.IPPROTO_TCP, C.TCP_CONGESTION)).toBe('reno');
    expect(api.getsockopt(fd, C.IPPROTO_IP, C.IP_TTL)).toBe(9);
    api.setsockopt(fd, C.IPPROTO_IP, C.IP_TTL, -1);
    expect(api.getsockopt(fd, C.IPPROTO_IP, C.IP_TTL)).toBe(64);
  });

  it('UDP’s multicast settings read as Linux’s defaults on a TCP socket; options nobody has are ENOPROTOOPT', () => {
    const { api, fd } = tcpSocket();
    expect([
      api.getsockopt(fd, C.IPPROTO_IP, C.IP_MULTICAST_TTL),
      api.getsockopt(fd, C.IPPROTO_IP, C.IP_MULTICAST_LOOP),
      api.getsockopt(fd, C.SOL_SOCKET, C.SO_TYPE),
    ]).toEqual([1, 1, C.SOCK_STREAM]);
    expect(errorOf(() => api.getsockopt(fd, C.IPPROTO_IP, C.IP_ADD_MEMBERSHIP))).toBe('ENOPROTOOPT');
  });
});

describe('options set before connect() reach the connection through its setters', () => {
  it('TCP_CORK, TCP_NODELAY, keep-alive, TCP_USER_TIMEOUT and IP_TOS are in force once connected', async () => {
    const network = new VirtualNetwork(2);
    const client = network.createStack('client');
    const server = network.createStack('server');
    network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 5 });
    server.net.createServer(() => {}).listen(80);
    const api = new BerkeleySockets(client);
    const connection = await network.runAsync(async () => {
      const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
      api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_CORK, 1);
      api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_NODELAY, 1);
      api.setsockopt(fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1);
      api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_KEEPIDLE, 20);
      api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_USER_TIMEOUT, 4000);
      api.setsockopt(fd, C.IPPROTO_IP, C.IP_TOS, 0x10);
      await api.connect(fd, { address: '10.0.0.2', port: 80 });
      return api.descriptors().find((d) => d.fd === fd)!.connection!;
    });
    expect(connection.options).toMatchObject({ cork: true, noDelay: true, userTimeoutMs: 4000, tos: 0x10 });
    expect([connection.keepalive.enabled, connection.keepalive.idleMs]).toEqual([true, 20_000]);
    // The handshake's end started the keepalive timer: 20 s after the SYN-ACK arrived.
    expect(connection.keepaliveDeadline).toBe(connection.lastReceiveAt + 20_000);
  });
});

describe('TCP_CONGESTION on an open connection', () => {
  it('the new algorithm takes over cwnd and ssthresh, as Linux keeps snd_cwnd and snd_ssthresh', async () => {
    const network = new VirtualNetwork(3);
    const client = network.createStack('client');
    const server = network.createStack('server');
    network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 5 });
    server.net.createServer((socket) => socket.resume()).listen(80);
    const api = new BerkeleySockets(client);
    const { connection, fd } = await network.runAsync(async () => {
      const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
      await api.connect(fd, { address: '10.0.0.2', port: 80 });
      const connection = api.descriptors().find((d) => d.fd === fd)!.connection!;
      // Enough data that slow start grows cwnd past the initial window.
      for (let i = 0; i < 20; i++) await api.send(fd, new Uint8Array(16_384));
      return { connection, fd };
    });
    network.run(2_000);
    const before = { algorithm: connection.cc.algorithm, cwnd: connection.cc.cwnd, ssthresh: connection.cc.ssthresh };
    expect(before.cwnd).toBeGreaterThan(10 * connection.sendMss);
    api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_CONGESTION, before.algorithm === 'cubic' ? 'reno' : 'cubic');
    expect(connection.cc.algorithm).not.toBe(before.algorithm);
    expect({ cwnd: connection.cc.cwnd, ssthresh: connection.cc.ssthresh }).toEqual({ cwnd: before.cwnd, ssthresh: before.ssthresh });
  });
});
