/**
 * The server-side boilerplate every seed program shares: a listening ("welcome") socket, and
 * an accept loop that ends when that socket is closed.
 */
import { ErrnoError } from '../src/core/errno.js';
import * as C from '../src/socket-api/berkeley-constants.js';
import type { BerkeleySockets, SocketAddress } from '../src/socket-api/berkeley.js';

/**
 * socket(AF_INET, SOCK_STREAM); setsockopt(SO_REUSEADDR); bind(("", port)); listen(backlog).
 * With `family` 6: an AF_INET6 socket with IPV6_V6ONLY bound to `::`, beside the IPv4 one on the
 * same port (IPv4 clients keep coming to that one, and are shown as they were).
 */
export function listenTcp(api: BerkeleySockets, port: number, backlog = 128, family: 4 | 6 = 4): number {
  const fd = api.socket(family === 6 ? C.AF_INET6 : C.AF_INET, C.SOCK_STREAM);
  api.setsockopt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
  if (family === 6) api.setsockopt(fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, 1);
  api.bind(fd, { address: family === 6 ? '::' : '0.0.0.0', port });
  api.listen(fd, backlog);
  return fd;
}

/**
 * Accepts connections until the listening socket is closed (accept then fails with EBADF),
 * handing each to `handle`. When `handle` returns a promise the loop waits for it before the
 * next accept only if `oneAtATime` is set; otherwise connections are served at once.
 */
export async function acceptLoop(
  api: BerkeleySockets,
  listening: number,
  handle: (fd: number, peer: SocketAddress) => void | Promise<unknown>,
  options: { oneAtATime?: boolean; limit?: number } = {},
): Promise<void> {
  // Tasks still serving a connection; each leaves when it settles, so a server that runs for
  // days holds only the connections it is serving (an array of every task ever grew forever).
  const running = new Set<Promise<unknown>>();
  for (let served = 0; served < (options.limit ?? Infinity); served++) {
    let accepted;
    try {
      accepted = await api.accept(listening);
    } catch (error) {
      if (error instanceof ErrnoError && error.code === 'EBADF') break;
      throw error;
    }
    const task = Promise.resolve(handle(accepted.fd, { address: accepted.address, port: accepted.port }));
    if (options.oneAtATime) {
      await task;
      continue;
    }
    running.add(task);
    // A task that fails stays, so that the loop's own promise rejects with its error at the end.
    task.then(
      () => running.delete(task),
      () => {},
    );
  }
  await Promise.all(running);
}
