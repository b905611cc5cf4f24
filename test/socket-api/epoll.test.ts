/**
 * epoll(7) on ustack's Berkeley API, over loopback in real time: a blocked epoll_wait wakes
 * for data, edge triggering reports once per wakeup, EPOLLONESHOT until EPOLL_CTL_MOD, the
 * errors of epoll_ctl, and an epoll descriptor is not a socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrnoError } from '../../src/core/errno.js';
import * as C from '../../src/socket-api/berkeley-constants.js';
import { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { RealtimeDriver } from '../../src/socket-api/realtime-driver.js';
import { Stack } from '../../src/socket-api/stack.js';

let driver: RealtimeDriver | null = null;
afterEach(() => driver?.stop());

/** A connected pair over loopback: [client, accepted]. */
async function pair(): Promise<{ api: BerkeleySockets; client: number; server: number }> {
  const stack = new Stack({ name: 'host', seed: 5 });
  driver = new RealtimeDriver(stack).start();
  const api = new BerkeleySockets(stack);
  const listener = api.socket(C.AF_INET, C.SOCK_STREAM);
  api.bind(listener, { address: '127.0.0.1', port: 7000 });
  api.listen(listener, 1);
  const client = api.socket(C.AF_INET, C.SOCK_STREAM);
  const accepted = api.accept(listener);
  await api.connect(client, { address: '127.0.0.1', port: 7000 });
  return { api, client, server: (await accepted).fd };
}

function codeOf(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    if (error instanceof ErrnoError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('epoll on the Berkeley API', () => {
  it('a blocked epoll_wait returns when data arrives, with the entry and its data', async () => {
    const { api, client, server } = await pair();
    const epoll = api.epollCreate(1);
    api.epollCtl(epoll, C.EPOLL_CTL_ADD, server, { events: C.EPOLLIN, data: 42 });
    expect(await api.epollWait(epoll, 8, 0)).toEqual([]);
    const waiting = api.epollWait(epoll, 8, -1);
    await api.send(client, new Uint8Array(5));
    expect(await waiting).toEqual([{ events: C.EPOLLIN, data: 42 }]);
    // Level-triggered: still ready, still reported.
    expect(await api.epollWait(epoll, 8, 0)).toEqual([{ events: C.EPOLLIN, data: 42 }]);
  });

  it('edge-triggered: reported once per wakeup, again only after new data', async () => {
    const { api, client, server } = await pair();
    const epoll = api.epollCreate(1);
    api.epollCtl(epoll, C.EPOLL_CTL_ADD, server, { events: C.EPOLLIN | C.EPOLLET, data: server });
    expect(await api.epollWait(epoll, 8, 0)).toEqual([]);
    await api.send(client, new Uint8Array(5));
    expect(await api.epollWait(epoll, 8, 100)).toEqual([{ events: C.EPOLLIN, data: server }]);
    expect(await api.epollWait(epoll, 8, 0)).toEqual([]);
    await api.send(client, new Uint8Array(5));
    expect(await api.epollWait(epoll, 8, 100)).toEqual([{ events: C.EPOLLIN, data: server }]);
  });

  it('EPOLLONESHOT reports once, until EPOLL_CTL_MOD re-arms it', async () => {
    const { api, client, server } = await pair();
    const epoll = api.epollCreate(1);
    await api.send(client, new Uint8Array(5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    api.epollCtl(epoll, C.EPOLL_CTL_ADD, server, { events: C.EPOLLIN | C.EPOLLONESHOT, data: 1 });
    expect(await api.epollWait(epoll, 8, 0)).toHaveLength(1);
    expect(await api.epollWait(epoll, 8, 0)).toEqual([]);
    api.epollCtl(epoll, C.EPOLL_CTL_MOD, server, { events: C.EPOLLIN | C.EPOLLONESHOT, data: 2 });
    expect(await api.epollWait(epoll, 8, 0)).toEqual([{ events: C.EPOLLIN, data: 2 }]);
  });

  it('EPOLLEXCLUSIVE: of two instances blocked on one socket, a wakeup wakes one; ADD only, not with EPOLLONESHOT (EINVAL)', async () => {
    const { api, client, server } = await pair();
    const first = api.epollCreate(1);
    const second = api.epollCreate(1);
    for (const epoll of [first, second]) api.epollCtl(epoll, C.EPOLL_CTL_ADD, server, { events: C.EPOLLIN | C.EPOLLEXCLUSIVE, data: epoll });
    let secondSettled = false;
    const firstWait = api.epollWait(first, 8, 1000);
    const secondWait = api.epollWait(second, 8, 200).then(() => (secondSettled = true));
    await api.send(client, new Uint8Array(5));
    expect(await firstWait).toEqual([{ events: C.EPOLLIN, data: first }]);
    await new Promise((resolve) => setImmediate(resolve));
    // The wakeup that woke the first stopped there (Linux's ep_poll_callback and an exclusive
    // wait queue entry); a later wakeup of the socket may reach the second.
    expect(secondSettled).toBe(false);
    await secondWait;
    // The data is still there for a level-triggered look.
    expect(await api.epollWait(second, 8, 0)).toEqual([{ events: C.EPOLLIN, data: second }]);
    expect(codeOf(() => api.epollCtl(first, C.EPOLL_CTL_MOD, server, { events: C.EPOLLIN, data: 0 }))).toBe('EINVAL');
    const third = api.epollCreate(1);
    expect(codeOf(() => api.epollCtl(third, C.EPOLL_CTL_ADD, server, { events: C.EPOLLIN | C.EPOLLONESHOT | C.EPOLLEXCLUSIVE, data: 0 }))).toBe('EINVAL');
    api.epollCtl(third, C.EPOLL_CTL_ADD, server, { events: C.EPOLLIN, data: 0 });
    expect(codeOf(() => api.epollCtl(third, C.EPOLL_CTL_MOD, server, { events: C.EPOLLIN | C.EPOLLEXCLUSIVE, data: 0 }))).toBe('EINVAL');
  });

  it('a timed wait with nothing ready returns empty after its timeout', async () => {
    const { api, server } = await pair();
    const epoll = api.epollCreate(1);
    api.epollCtl(epoll, C.EPOLL_CTL_ADD, server, { events: C.EPOLLIN, data: 0 });
    expect(await api.epollWait(epoll, 8, 30)).toEqual([]);
  });

  it('epoll_ctl and epoll_wait fail as on Linux', async () => {
    const { api, server } = await pair();
    const epoll = api.epollCreate(1);
    expect(codeOf(() => api.epollCreate(0))).toBe('EINVAL');
    expect(codeOf(() => api.epollCtl(epoll, C.EPOLL_CTL_MOD, server, { events: C.EPOLLIN, data: 0 }))).toBe('ENOENT');
    api.epollCtl(epoll, C.EPOLL_CTL_ADD, server, { events: C.EPOLLIN, data: 0 });
    expect(codeOf(() => api.epollCtl(epoll, C.EPOLL_CTL_ADD, server, { events: C.EPOLLIN, data: 0 }))).toBe('EEXIST');
    expect(codeOf(() => api.epollCtl(epoll, C.EPOLL_CTL_ADD, epoll, { events: C.EPOLLIN, data: 0 }))).toBe('EINVAL');
    expect(codeOf(() => api.epollCtl(epoll, C.EPOLL_CTL_ADD, 999, { events: C.EPOLLIN, data: 0 }))).toBe('EBADF');
    expect(codeOf(() => api.epollCtl(server, C.EPOLL_CTL_ADD, epoll, { events: C.EPOLLIN, data: 0 }))).toBe('EINVAL');
    expect(codeOf(() => api.getsockopt(epoll, C.SOL_SOCKET, C.SO_ERROR))).toBe('ENOTSOCK');
    await expect(api.epollWait(epoll, 0, 0)).rejects.toMatchObject({ code: 'EINVAL' });
    // Closing a socket removes it from the interest list.
    api.close(server);
    expect(await api.epollWait(epoll, 8, 0)).toEqual([]);
    api.close(epoll);
    expect(codeOf(() => api.epollCtl(epoll, C.EPOLL_CTL_DEL, server, null))).toBe('EBADF');
  });
});
