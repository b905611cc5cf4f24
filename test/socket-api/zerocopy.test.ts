/**
 * MSG_ZEROCOPY on the Berkeley API (Linux's Documentation/networking/msg_zerocopy.rst, socket(7)
 * SO_ZEROCOPY, ip(7) IP_RECVERR): ids consecutive per socket from 0, a completion on the error
 * queue once the bytes are acknowledged, consecutive completions coalesced into one range,
 * every one SO_EE_CODE_ZEROCOPY_COPIED (ustack always copies), POLLERR while one waits. Two
 * stacks 5 ms apart in virtual time, so "before the ACK" is a real interval.
 */
import { describe, expect, it } from 'vitest';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import type { Stack } from '../../src/socket-api/stack.js';
import { VirtualNetwork } from '../../src/socket-api/virtual-network.js';
import { errnoOf } from '../support/errno.js';

/** Resolves after `ms` of the stack's (virtual) time. */
function sleep(stack: Stack, ms: number): Promise<void> {
  return new Promise((resolve) => stack.schedule(stack.currentTimeForCalls() + ms, resolve));
}

/** The completion of ids `info`–`data`, as Linux reports the copied case. */
const copied = (info: number, data: number) => ({ errno: 0, origin: C.SO_EE_ORIGIN_ZEROCOPY, type: 0, code: C.SO_EE_CODE_ZEROCOPY_COPIED, info, data });

/** A connected pair on two stacks 5 ms apart; `body` runs in virtual time with the client's API. */
async function connected(
  body: (t: { api: BerkeleySockets; peer: BerkeleySockets; fd: number; accepted: number; client: Stack }) => Promise<void>,
  zerocopy = true,
): Promise<void> {
  const network = new VirtualNetwork(7);
  const client = network.createStack('client');
  const server = network.createStack('server');
  network.connect({ stack: client, address: '10.0.0.1/24' }, { stack: server, address: '10.0.0.2/24' }, { latencyMs: 5 });
  const api = new BerkeleySockets(client);
  const peer = new BerkeleySockets(server);
  await network.runAsync(async () => {
    const listener = peer.socket(C.AF_INET, C.SOCK_STREAM);
    peer.bind(listener, { address: '0.0.0.0', port: 80 });
    peer.listen(listener, 4);
    const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
    if (zerocopy) api.setsockopt(fd, C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
    api.setsockopt(fd, C.IPPROTO_TCP, C.TCP_NODELAY, 1);
    const accepting = peer.accept(listener);
    await api.connect(fd, { address: '10.0.0.2', port: 80 });
    const accepted = (await accepting).fd;
    await body({ api, peer, fd, accepted, client });
  });
}

describe('SO_ZEROCOPY and MSG_ZEROCOPY', () => {
  it('SO_ZEROCOPY reads back what was set; only 0 and 1 (EINVAL), TCP and UDP only (EOPNOTSUPP), as Linux’s sock_setsockopt', () => {
    const network = new VirtualNetwork(1);
    const api = new BerkeleySockets(network.createStack('host'));
    const tcp = api.socket(C.AF_INET, C.SOCK_STREAM);
    expect(api.getsockopt(tcp, C.SOL_SOCKET, C.SO_ZEROCOPY)).toBe(0);
    api.setsockopt(tcp, C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
    expect(api.getsockopt(tcp, C.SOL_SOCKET, C.SO_ZEROCOPY)).toBe(1);
    expect(() => api.setsockopt(tcp, C.SOL_SOCKET, C.SO_ZEROCOPY, 2)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const udp = api.socket(C.AF_INET, C.SOCK_DGRAM);
    api.setsockopt(udp, C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
    const raw = api.socket(C.AF_INET, C.SOCK_RAW, C.IPPROTO_ICMP);
    expect(() => api.setsockopt(raw, C.SOL_SOCKET, C.SO_ZEROCOPY, 1)).toThrow(expect.objectContaining({ code: 'EOPNOTSUPP' }));
  });

  it('a send completes only once the peer acknowledged its bytes; ids are consecutive from 0', async () => {
    await connected(async ({ api, fd, client }) => {
      expect(await api.send(fd, new Uint8Array(3000), C.MSG_ZEROCOPY)).toBe(3000);
      // In flight: the data left, the ACK is 10 ms away.
      expect(await errnoOf(api.recvmsg(fd, 0, C.MSG_ERRQUEUE))).toBe('EAGAIN');
      await sleep(client, 20);
      const first = await api.recvmsg(fd, 0, C.MSG_ERRQUEUE);
      expect(first.data.length).toBe(0);
      expect(first.flags).toBe(C.MSG_ERRQUEUE);
      expect(first.recvError).toEqual(copied(0, 0));
      await api.send(fd, new Uint8Array(100), C.MSG_ZEROCOPY);
      await sleep(client, 20);
      expect((await api.recvmsg(fd, 0, C.MSG_ERRQUEUE)).recvError).toEqual(copied(1, 1));
      expect(await errnoOf(api.recvmsg(fd, 0, C.MSG_ERRQUEUE))).toBe('EAGAIN');
    });
  });

  it('completions a reader has not read coalesce into one range (Linux’s skb_zerocopy_notify_extend)', async () => {
    await connected(async ({ api, fd, client }) => {
      for (let i = 0; i < 3; i++) {
        await api.send(fd, new Uint8Array(500), C.MSG_ZEROCOPY);
        await sleep(client, 20);
      }
      expect((await api.recvmsg(fd, 0, C.MSG_ERRQUEUE)).recvError).toEqual(copied(0, 2));
      expect(await errnoOf(api.recvmsg(fd, 0, C.MSG_ERRQUEUE))).toBe('EAGAIN');
    });
  });

  it('MSG_ZEROCOPY without SO_ZEROCOPY is an ordinary send: no id, nothing on the error queue', async () => {
    await connected(async ({ api, fd, client }) => {
      expect(await api.send(fd, new Uint8Array(1000), C.MSG_ZEROCOPY)).toBe(1000);
      await sleep(client, 20);
      expect(await errnoOf(api.recvmsg(fd, 0, C.MSG_ERRQUEUE))).toBe('EAGAIN');
      // Turned on later, the first numbered send is id 0.
      api.setsockopt(fd, C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
      await api.send(fd, new Uint8Array(1000), C.MSG_ZEROCOPY);
      await sleep(client, 20);
      expect((await api.recvmsg(fd, 0, C.MSG_ERRQUEUE)).recvError).toEqual(copied(0, 0));
    }, false);
  });

  it('a send of 0 bytes returns 0 and takes no id; a failed send gives none either (EPIPE before connecting)', async () => {
    const network = new VirtualNetwork(1);
    const api = new BerkeleySockets(network.createStack('host'));
    const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
    api.setsockopt(fd, C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
    expect(await errnoOf(api.send(fd, new Uint8Array(10), C.MSG_ZEROCOPY))).toBe('EPIPE');
    expect(await errnoOf(api.recvmsg(fd, 0, C.MSG_ERRQUEUE))).toBe('EAGAIN');
    await connected(async ({ api, fd, client }) => {
      expect(await api.send(fd, new Uint8Array(0), C.MSG_ZEROCOPY)).toBe(0);
      await api.send(fd, new Uint8Array(10), C.MSG_ZEROCOPY);
      await sleep(client, 20);
      expect((await api.recvmsg(fd, 0, C.MSG_ERRQUEUE)).recvError).toEqual(copied(0, 0));
    });
  });

  it('poll reports POLLERR while a completion waits (even unasked), not before the ACK nor after the read', async () => {
    await connected(async ({ api, fd }) => {
      const pollerr = async () => (await api.poll([{ fd, events: C.POLLIN }], 0))[0].revents & C.POLLERR;
      await api.send(fd, new Uint8Array(2000), C.MSG_ZEROCOPY);
      expect(await pollerr()).toBe(0);
      // A blocked poll wakes for the completion (Linux's sk_error_report).
      const waiting = api.poll([{ fd, events: C.POLLIN }], 1000);
      const [result] = await waiting;
      expect(result.revents).toBe(C.POLLERR);
      await api.recvmsg(fd, 0, C.MSG_ERRQUEUE);
      expect(await pollerr()).toBe(0);
    });
  });

  it('epoll: an edge-triggered entry reports EPOLLERR once per completion', async () => {
    await connected(async ({ api, fd, client }) => {
      const epoll = api.epollCreate(1);
      api.epollCtl(epoll, C.EPOLL_CTL_ADD, fd, { events: C.EPOLLOUT | C.EPOLLET, data: fd });
      expect(await api.epollWait(epoll, 4, 0)).toEqual([{ events: C.EPOLLOUT, data: fd }]);
      await api.send(fd, new Uint8Array(1000), C.MSG_ZEROCOPY);
      await sleep(client, 20);
      expect(await api.epollWait(epoll, 4, 0)).toEqual([{ events: C.EPOLLERR | C.EPOLLOUT, data: fd }]);
      expect(await api.epollWait(epoll, 4, 0)).toEqual([]);
    });
  });

  it('a connection reset completes the sends it drops (Linux’s tcp_write_queue_purge)', async () => {
    await connected(async ({ api, peer, fd, accepted, client }) => {
      peer.setsockopt(accepted, C.SOL_SOCKET, C.SO_LINGER, { onoff: 1, linger: 0 });
      await api.send(fd, new Uint8Array(1000), C.MSG_ZEROCOPY);
      peer.close(accepted); // RST before our data arrives: it is never acknowledged
      await sleep(client, 20);
      expect((await api.recvmsg(fd, 0, C.MSG_ERRQUEUE)).recvError).toEqual(copied(0, 0));
    });
  });

  it('UDP: a datagram sent with MSG_ZEROCOPY completes at once (it was copied into the packet)', async () => {
    const network = new VirtualNetwork(1);
    const api = new BerkeleySockets(network.createStack('host'));
    const receiver = api.socket(C.AF_INET, C.SOCK_DGRAM);
    api.bind(receiver, { address: '127.0.0.1', port: 9 });
    const fd = api.socket(C.AF_INET, C.SOCK_DGRAM);
    api.setsockopt(fd, C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
    expect((await api.poll([{ fd, events: 0 }], 0))[0].revents).toBe(0);
    await api.sendto(fd, new Uint8Array(100), { address: '127.0.0.1', port: 9 }, C.MSG_ZEROCOPY);
    await api.sendto(fd, new Uint8Array(100), { address: '127.0.0.1', port: 9 }, C.MSG_ZEROCOPY);
    expect((await api.poll([{ fd, events: 0 }], 0))[0].revents).toBe(C.POLLERR);
    expect((await api.recvmsg(fd, 0, C.MSG_ERRQUEUE)).recvError).toEqual(copied(0, 1));
  });
});
