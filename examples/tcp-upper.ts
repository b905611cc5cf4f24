/**
 * The upper-casing TCP server of the seed notes ("Socket Programming with TCP"): a welcome
 * socket accepts each client and hands it a connection socket of its own; the server reads a
 * sentence, upper-cases it, sends it back and closes that connection socket.
 */
import { ErrnoError } from '../src/core/errno.js';
import * as C from '../src/socket-api/berkeley-constants.js';
import type { BerkeleySockets } from '../src/socket-api/berkeley.js';
import { acceptLoop, listenTcp } from './server-socket.js';

/** The port the notes' TCP example uses. */
export const TCP_UPPER_PORT = 12000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Starts the server (with `family` 6 on `[::]`, IPv6 only); closing the returned fd stops it. */
export function startTcpUpperServer(
  api: BerkeleySockets,
  port = TCP_UPPER_PORT,
  log: (line: string) => void = () => {},
  family: 4 | 6 = 4,
): { fd: number; stopped: Promise<void> } {
  const welcome = listenTcp(api, port, 16, family);
  const stopped = acceptLoop(api, welcome, async (fd, client) => {
    try {
      const sentence = decoder.decode(await api.recv(fd, 1024));
      log(`tcp upper: ${JSON.stringify(sentence)} from ${client.address}:${client.port}`);
      await api.send(fd, encoder.encode(sentence.toUpperCase()));
    } catch (error) {
      if (!(error instanceof ErrnoError)) throw error;
    } finally {
      api.close(fd);
    }
  });
  return { fd: welcome, stopped };
}

/** The client: connect, send a sentence, read the reply until the server closes. */
export async function tcpUpperClient(api: BerkeleySockets, host: string, sentence: string, port = TCP_UPPER_PORT): Promise<string> {
  const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
  try {
    await api.connect(fd, { address: host, port });
    await api.send(fd, encoder.encode(sentence));
    let reply = '';
    for (;;) {
      const data = await api.recv(fd, 1024);
      if (data.length === 0) return reply;
      reply += decoder.decode(data, { stream: true });
    }
  } finally {
    api.close(fd);
  }
}
