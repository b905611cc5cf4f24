import { afterEach, describe, expect, it } from 'vitest';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';
import { errnoOf } from '../support/errno.js';

const encode = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

let driver: RealtimeDriver | null = null;
function sockets(): BerkeleySockets {
  const stack = new Stack({ name: 'host', seed: 11 });
  driver = new RealtimeDriver(stack).start();
  return new BerkeleySockets(stack);
}
afterEach(() => driver?.stop());

describe('Berkeley sockets over ustack', () => {
  it("runs the seed notes' TCP echo: socket, bind, listen, accept, recv, send, close", async () => {
    const api = sockets();
    const server = api.socket(C.AF_INET, C.SOCK_STREAM);
    api.setsockopt(server, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
    api.bind(server, { address: '127.0.0.1', port: 5000 });
    api.listen(server, 1);
    const serving = (async () => {
      const { fd, address } = await api.accept(server);
      expect(address).toBe('127.0.0.1');
      for (;;) {
        const data = await api.recv(fd, 1024);
        if (data.length === 0) break;
        await api.send(fd, data);
      }
      api.close(fd);
    })();
    const client = api.socket(C.AF_INET, C.SOCK_STREAM);
    await api.connect(client, { address: '127.0.0.1', port: 5000 });
    expect(api.getpeername(client)).toEqual({ address: '127.0.0.1', port: 5000 });
    expect(api.getsockname(client).port).toBeGreaterThanOrEqual(49152);
    await api.send(client, encode('Hello World'));
    expect(decode(await api.recv(client, 1024))).toBe('Hello World');
    api.shutdown(client, C.SHUT_WR);
    expect((await api.recv(client, 1024)).length).toBe(0); // the server closed after our FIN
    api.close(client);
    await serving;
    api.close(server);
  });

  it('runs the UDP upper-casing server with sendto/recvfrom and an implicitly bound client', async () => {
    const api = sockets();
    const server = api.socket(C.AF_INET, C.SOCK_DGRAM);
    api.bind(server, { address: '', port: 12000 });
    const serving = (async () => {
      const { data, address, port } = await api.recvfrom(server, 2048);
      await api.sendto(server, encode(decode(data).toUpperCase()), { address, port });
    })();
    const client = api.socket(C.AF_INET, C.SOCK_DGRAM);
    await api.sendto(client, encode('lower case'), { address: '127.0.0.1', port: 12000 });
    const reply = await api.recvfrom(client, 2048);
    expect(decode(reply.data)).toBe('LOWER CASE');
    expect(reply.port).toBe(12000);
    await serving;
  });

  it('multicast: IP_ADD_MEMBERSHIP lets a UDP socket receive a group; the options read back as set', async () => {
    const api = sockets();
    api.stack.addRoute('224.0.0.0/4', { interfaceName: 'lo' });
    const server = api.socket(C.AF_INET, C.SOCK_DGRAM);
    api.bind(server, { address: '', port: 5353 });
    api.setsockopt(server, C.IPPROTO_IP, C.IP_ADD_MEMBERSHIP, '239.1.2.3');
    expect(await errnoOf(() => api.setsockopt(server, C.IPPROTO_IP, C.IP_ADD_MEMBERSHIP, '239.1.2.3'))).toBe('EADDRINUSE');
    expect(await errnoOf(() => api.setsockopt(server, C.IPPROTO_IP, C.IP_DROP_MEMBERSHIP, '239.9.9.9'))).toBe('EADDRNOTAVAIL');
    expect(await errnoOf(() => api.setsockopt(server, C.IPPROTO_IP, C.IP_ADD_MEMBERSHIP, '10.0.0.1'))).toBe('EINVAL');
    const client = api.socket(C.AF_INET, C.SOCK_DGRAM);
    expect(api.getsockopt(client, C.IPPROTO_IP, C.IP_MULTICAST_TTL)).toBe(1);
    api.setsockopt(client, C.IPPROTO_IP, C.IP_MULTICAST_TTL, 4);
    expect(api.getsockopt(client, C.IPPROTO_IP, C.IP_MULTICAST_TTL)).toBe(4);
    await api.sendto(client, encode('to the group'), { address: '239.1.2.3', port: 5353 });
    expect(decode((await api.recvfrom(server, 2048)).data)).toBe('to the group');
    api.setsockopt(server, C.IPPROTO_IP, C.IP_DROP_MEMBERSHIP, '239.1.2.3');
    await api.sendto(client, encode('not any more'), { address: '239.1.2.3', port: 5353 });
    api.setsockopt(server, C.SOL_SOCKET, C.SO_RCVTIMEO, 50);
    expect(await errnoOf(api.recvfrom(server, 2048))).toBe('EAGAIN');
    expect(api.stack.stats.get('drop.ipv4.multicastNotJoined')).toBe(1);
  });

  it('reports the POSIX errors of each call', async () => {
    const api = sockets();
    expect(await errnoOf(() => api.socket(99, C.SOCK_STREAM))).toBe('EAFNOSUPPORT');
    expect(await errnoOf(() => api.socket(C.AF_INET, C.SOCK_STREAM, C.IPPROTO_UDP))).toBe('EPROTONOSUPPORT');
    expect(await errnoOf(() => api.close(1234))).toBe('EBADF');
    const a = api.socket(C.AF_INET, C.SOCK_STREAM);
    const b = api.socket(C.AF_INET, C.SOCK_STREAM);
    api.bind(a, { address: '0.0.0.0', port: 6000 });
    api.listen(a);
    expect(await errnoOf(() => api.bind(b, { address: '127.0.0.1', port: 6000 }))).toBe('EADDRINUSE');
    expect(await errnoOf(() => api.bind(b, { address: '10.9.9.9', port: 6001 }))).toBe('EADDRNOTAVAIL');
    expect(await errnoOf(api.recv(b, 10))).toBe('ENOTCONN');
    expect(await errnoOf(() => api.getpeername(b))).toBe('ENOTCONN');
    const c = api.socket(C.AF_INET, C.SOCK_STREAM);
    expect(await errnoOf(api.connect(c, { address: '127.0.0.1', port: 6999 }))).toBe('ECONNREFUSED');
    const u = api.socket(C.AF_INET, C.SOCK_DGRAM);
    expect(await errnoOf(api.send(u, encode('x')))).toBe('EDESTADDRREQ');
    expect(await errnoOf(api.sendto(u, new Uint8Array(65508), { address: '127.0.0.1', port: 9 }))).toBe('EMSGSIZE');
    expect(await errnoOf(() => api.listen(u))).toBe('EOPNOTSUPP');
  });

  it('non-blocking: EAGAIN, EINPROGRESS, then poll POLLOUT and SO_ERROR 0', async () => {
    const api = sockets();
    const server = api.socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_NONBLOCK);
    api.bind(server, { address: '127.0.0.1', port: 7000 });
    api.listen(server);
    expect(await errnoOf(api.accept(server))).toBe('EAGAIN');
    const client = api.socket(C.AF_INET, C.SOCK_STREAM);
    api.fcntl(client, C.F_SETFL, api.fcntl(client, C.F_GETFL) | C.O_NONBLOCK);
    expect(await errnoOf(api.connect(client, { address: '127.0.0.1', port: 7000 }))).toBe('EINPROGRESS');
    const [ready] = await api.poll([{ fd: client, events: C.POLLOUT }], 1000);
    expect(ready.revents & C.POLLOUT).toBe(C.POLLOUT);
    expect(api.getsockopt(client, C.SOL_SOCKET, C.SO_ERROR)).toBe(0);
    const [acceptable] = await api.poll([{ fd: server, events: C.POLLIN }], 1000);
    expect(acceptable.revents & C.POLLIN).toBe(C.POLLIN);
    const { fd } = await api.accept(server);
    expect(await errnoOf(api.recv(fd, 10, C.MSG_DONTWAIT))).toBe('EAGAIN'); // accept() does not pass O_NONBLOCK on
    await api.send(client, encode('abc'));
    await api.poll([{ fd, events: C.POLLIN }], 1000);
    expect(api.ioctl(fd, C.FIONREAD)).toBe(3);
    expect(decode(await api.recv(fd, 10, C.MSG_PEEK))).toBe('abc');
    expect(decode(await api.recv(fd, 10))).toBe('abc');
  });

  it("SO_RCVTIMEO bounds a blocking recv with EAGAIN (the seed's setSoTimeout)", async () => {
    const api = sockets();
    const u = api.socket(C.AF_INET, C.SOCK_DGRAM);
    api.bind(u, { address: '127.0.0.1', port: 0 });
    api.setsockopt(u, C.SOL_SOCKET, C.SO_RCVTIMEO, 30);
    expect(await errnoOf(api.recvfrom(u, 100))).toBe('EAGAIN');
  });

  it('close with unread data resets the connection (RFC 2525 §2.17), seen as ECONNRESET', async () => {
    const api = sockets();
    const server = api.socket(C.AF_INET, C.SOCK_STREAM);
    api.bind(server, { address: '127.0.0.1', port: 7100 });
    api.listen(server);
    const client = api.socket(C.AF_INET, C.SOCK_STREAM);
    await api.connect(client, { address: '127.0.0.1', port: 7100 });
    const { fd } = await api.accept(server);
    await api.send(client, encode('unread'));
    await api.poll([{ fd, events: C.POLLIN }], 1000);
    api.close(fd);
    expect(await errnoOf(api.recv(client, 10))).toBe('ECONNRESET');
  });

  it('data sent after the peer closed is answered by a RST; in CLOSE-WAIT that is EPIPE, as Linux tcp_reset, then EPIPE', async () => {
    const api = sockets();
    const server = api.socket(C.AF_INET, C.SOCK_STREAM);
    api.bind(server, { address: '127.0.0.1', port: 7101 });
    api.listen(server);
    const client = api.socket(C.AF_INET, C.SOCK_STREAM);
    await api.connect(client, { address: '127.0.0.1', port: 7101 });
    const { fd } = await api.accept(server);
    api.close(fd);
    expect((await api.recv(client, 10)).length).toBe(0); // the peer's FIN: CLOSE-WAIT
    expect(await api.send(client, new Uint8Array(100))).toBe(100);
    // The closed end resets on the data (RFC 1122 §4.2.2.13); the client hears it as POLLERR.
    const [ready] = await api.poll([{ fd: client, events: 0 }], 1000);
    expect(ready.revents & C.POLLERR).toBe(C.POLLERR);
    expect(await errnoOf(api.send(client, new Uint8Array(100)))).toBe('EPIPE');
    expect(await errnoOf(api.send(client, new Uint8Array(100)))).toBe('EPIPE');
    // A reset read after the FIN: the end of the stream, as Linux's SOCK_DONE.
    expect((await api.recv(client, 10)).length).toBe(0);
  });

  it('IP_HDRINCL: a raw socket sends a whole datagram it built, and a raw UDP socket sees datagrams with their IP header', async () => {
    const api = sockets();
    const rawUdp = api.socket(C.AF_INET, C.SOCK_RAW, C.IPPROTO_UDP);
    const server = api.socket(C.AF_INET, C.SOCK_DGRAM);
    api.bind(server, { address: '127.0.0.1', port: 9999 });
    const sender = api.socket(C.AF_INET, C.SOCK_RAW, C.IPPROTO_RAW);
    expect(api.getsockopt(sender, C.IPPROTO_IP, C.IP_HDRINCL)).toBe(1);
    // IPv4 header (source 0.0.0.0: the stack fills it in, and the checksum) + UDP header + "raw!".
    const payload = encode('raw!');
    const datagram = new Uint8Array(20 + 8 + payload.length);
    datagram.set([0x45, 0, 0, datagram.length, 0x12, 0x34, 0x40, 0, 64, C.IPPROTO_UDP, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1]);
    datagram.set([0x30, 0x39, 0x27, 0x0f, 0, 8 + payload.length, 0, 0], 20); // 12345 → 9999, no UDP checksum
    datagram.set(payload, 28);
    await api.sendto(sender, datagram, { address: '127.0.0.1', port: 0 });
    const received = await api.recvfrom(server, 100);
    expect(decode(received.data)).toBe('raw!');
    expect(received.port).toBe(12345);
    const seen = await api.recvfrom(rawUdp, 1500);
    expect(seen.data[9]).toBe(C.IPPROTO_UDP);
    expect(decode(seen.data.subarray(28))).toBe('raw!');
    expect(seen.data[12]).toBe(127); // the source the stack filled in
  });

  it('a raw ICMP socket implements ping', async () => {
    const api = sockets();
    const raw = api.socket(C.AF_INET, C.SOCK_RAW, C.IPPROTO_ICMP);
    // Echo request: type 8, code 0, checksum, identifier 0x4242, sequence 1, data "ping".
    const request = new Uint8Array([8, 0, 0, 0, 0x42, 0x42, 0, 1, ...encode('ping')]);
    let sum = 0;
    for (let i = 0; i < request.length; i += 2) sum += (request[i] << 8) | (request[i + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    request[2] = (~sum >> 8) & 0xff;
    request[3] = ~sum & 0xff;
    await api.sendto(raw, request, { address: '127.0.0.1', port: 0 });
    // The raw socket sees our own request looped back, then the stack's reply.
    for (;;) {
      const { data } = await api.recvfrom(raw, 1500);
      const icmp = data.subarray((data[0] & 0x0f) * 4);
      if (icmp[0] !== 0) continue;
      expect(icmp[4]).toBe(0x42);
      expect(decode(icmp.subarray(8))).toBe('ping');
      break;
    }
  });
});
