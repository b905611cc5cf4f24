/**
 * An object gateway in the spirit of Py4J (seed notes 000/001): one side exposes objects, the
 * other calls their methods by name over a TCP connection; either side may pass its own objects
 * as arguments, and the receiver calls back through them on the same connection. Errors thrown
 * by a method come back to the caller as a GatewayError.
 *
 * Wire format: the key-value RPC's framing (8-byte header + JSON). Messages:
 *   { type: 'call', id, target, method, args }   target: an exposed name or a reference id
 *   { type: 'return', id, value }
 *   { type: 'error', id, name, message }
 * A value is JSON, except an object with methods, which travels as { $ref: 'a:3' } — a reference
 * into the sender's table — and arrives as a proxy whose methods are remote calls.
 */
import * as C from '../../src/socket-api/berkeley-constants.js';
import type { BerkeleySockets } from '../../src/socket-api/berkeley.js';
import { encodeFrame, FrameDecoder } from '../kv-rpc/framing.js';
import { acceptLoop, listenTcp } from '../server-socket.js';

/** A remote method failed, or the connection did. */
export class GatewayError extends Error {
  constructor(
    message: string,
    readonly remoteName = 'Error',
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

type Message =
  | { type: 'call'; id: number; target: string; method: string; args: unknown[] }
  | { type: 'return'; id: number; value: unknown }
  | { type: 'error'; id: number; name: string; message: string };

/** A remote object: every property is a method returning a promise. */
export type RemoteObject = Record<string, (...args: unknown[]) => Promise<unknown>>;

/** One end of a gateway connection. */
export class GatewayPeer {
  private readonly exposed = new Map<string, object>();
  private readonly references = new Map<object, string>();
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private nextReference = 1;
  private closed = false;
  /** Resolves when the connection ends. */
  readonly finished: Promise<void>;

  constructor(
    private readonly api: BerkeleySockets,
    private readonly fd: number,
    private readonly side: string,
  ) {
    this.finished = this.readLoop();
  }

  /** Makes `object` callable by the peer under `name`. */
  expose(name: string, object: object): void {
    this.exposed.set(name, object);
  }

  /** A proxy for the peer's object `name`. */
  remote(name: string): RemoteObject {
    return new Proxy({} as RemoteObject, {
      get: (_target, method) => (typeof method === 'string' && method !== 'then' ? (...args: unknown[]) => this.call(name, method, args) : undefined),
    });
  }

  /** Calls `method` on the peer's object `target`. */
  async call(target: string, method: string, args: unknown[]): Promise<unknown> {
    if (this.closed) throw new GatewayError('the gateway connection is closed');
    const id = this.nextId++;
    const result = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    await this.sendMessage({ type: 'call', id, target, method, args: args.map((a) => this.encode(a)) });
    return result;
  }

  /** Closes the connection; pending calls fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.api.close(this.fd);
    } catch {
      // already closed
    }
  }

  private async sendMessage(message: Message): Promise<void> {
    await this.api.send(this.fd, encodeFrame(message));
  }

  private encode(value: unknown): unknown {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const hasMethods = Object.values(value).some((v) => typeof v === 'function') || Object.getPrototypeOf(value) !== Object.prototype;
    if (!hasMethods) return value;
    let reference = this.references.get(value);
    if (!reference) {
      reference = `${this.side}:${this.nextReference++}`;
      this.references.set(value, reference);
      this.exposed.set(reference, value);
    }
    return { $ref: reference };
  }

  private decode(value: unknown): unknown {
    if (value && typeof value === 'object' && '$ref' in value && typeof (value as { $ref: unknown }).$ref === 'string') {
      return this.remote((value as { $ref: string }).$ref);
    }
    return value;
  }

  private async readLoop(): Promise<void> {
    const decoder = new FrameDecoder();
    let ending = 'the gateway connection closed';
    try {
      for (;;) {
        const data = await this.api.recv(this.fd, 65536);
        if (data.length === 0) break;
        for (const message of decoder.push(data) as Message[]) void this.dispatch(message);
      }
    } catch (error) {
      ending = `the gateway connection failed: ${(error as Error).message}`;
    } finally {
      for (const { reject } of this.pending.values()) reject(new GatewayError(ending));
      this.pending.clear();
      this.close();
    }
  }

  private async dispatch(message: Message): Promise<void> {
    if (message.type === 'return' || message.type === 'error') {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!waiter) return;
      if (message.type === 'return') waiter.resolve(this.decode(message.value));
      else waiter.reject(new GatewayError(message.message, message.name));
      return;
    }
    const target = this.exposed.get(message.target) as Record<string, unknown> | undefined;
    try {
      if (!target) throw new Error(`no object named ${message.target}`);
      const method = target[message.method];
      if (typeof method !== 'function') throw new Error(`${message.target} has no method ${message.method}`);
      const value = await method.apply(
        target,
        message.args.map((a) => this.decode(a)),
      );
      await this.sendMessage({ type: 'return', id: message.id, value: this.encode(value) });
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      if (!this.closed) await this.sendMessage({ type: 'error', id: message.id, name: e.name, message: e.message });
    }
  }
}

/** The server side: exposes an entry point to every client (like Py4J's GatewayServer). */
export function startGatewayServer(
  api: BerkeleySockets,
  port: number,
  entryPoint: object,
  onClient: (peer: GatewayPeer) => void = () => {},
  /** 6: listen on `[::]`, IPv6 only. */
  family: 4 | 6 = 4,
): { fd: number; stopped: Promise<void> } {
  const fd = listenTcp(api, port, 16, family);
  const stopped = acceptLoop(api, fd, (connection) => {
    const peer = new GatewayPeer(api, connection, 'server');
    peer.expose('entryPoint', entryPoint);
    onClient(peer);
  });
  return { fd, stopped };
}

/** The client side: connects and returns the peer (like Py4J's GatewayConnection.start). */
export async function connectGateway(api: BerkeleySockets, host: string, port: number): Promise<GatewayPeer> {
  const fd = api.socket(C.AF_INET, C.SOCK_STREAM);
  await api.connect(fd, { address: host, port });
  return new GatewayPeer(api, fd, 'client');
}
