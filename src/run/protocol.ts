/**
 * What native/preload.c and the `ustack run` process say to each other over UNIX stream
 * connections (little-endian, the host's order; addresses as the four bytes of a sockaddr_in):
 *
 *   hello      8 bytes, first on every connection: kind (1 control, 2 data), id (data: the socket)
 *   request   32 bytes: op, id, a, b, c, addr[4], port u16, pad u16, len — then len bytes
 *   response  24 bytes: result, error (a Linux errno), a, addr[4], port u16, pad u16, len — then len bytes
 *   datagram  12 bytes before each UDP datagram on a data connection, both ways: len, addr[4], port u16, pad u16
 *
 * A control connection carries one request at a time (each thread of the program has its own);
 * a data connection is the socket's bytes: TCP's stream itself, or UDP's framed datagrams. The
 * C file's enum and structs are the other half of this table; change both together.
 */

/** What a connection is, from its hello. */
export const HELLO_CONTROL = 1;
/** A data connection: the bytes of one socket. */
export const HELLO_DATA = 2;
/** Bytes of a hello. */
export const HELLO_BYTES = 8;
/** Bytes of a request header. */
export const REQUEST_BYTES = 32;
/** Bytes of a response header. */
export const RESPONSE_BYTES = 24;
/** Bytes of a datagram's header. */
export const DATAGRAM_HEADER_BYTES = 12;
/** The largest UDP payload over IPv4. */
export const MAX_DATAGRAM = 65507;

/** The requests. */
export const Op = {
  /** socket(): a = type (SOCK_STREAM, SOCK_DGRAM), b = protocol; result = the new socket's id. */
  SOCKET: 1,
  /** bind(): addr, port. */
  BIND: 2,
  /** listen(): a = backlog. */
  LISTEN: 3,
  /** accept(): the next connection the listener queued; result = its id, addr/port = the peer. */
  ACCEPT: 4,
  /** connect(): addr, port; a = bytes of filler the program wrote (non-blocking), b = 1 to wait for the end. */
  CONNECT: 5,
  /** getsockname(). */
  GETSOCKNAME: 6,
  /** getpeername(). */
  GETPEERNAME: 7,
  /** setsockopt(): a = level, b = name; the payload is the value as the program gave it. */
  SETSOCKOPT: 8,
  /** getsockopt(): a = level, b = name, c = the room the program has; the payload is the value. */
  GETSOCKOPT: 9,
  /** shutdown(): a = how (SHUT_WR itself is the end of the data stream, which keeps it after the data). */
  SHUTDOWN: 10,
  /** The socket's state: result = SocketState, a = 1 once a connect has ended; with a = 2 in the request, error = the error a write reports (taken); a = 3, the one a read at the stream's end reports (none after the peer's FIN). */
  STATUS: 11,
  /** getaddrinfo() of a name: the payload is the name; addr = its address, or error ENOENT. */
  RESOLVE: 12,
} as const;

/** What OP_STATUS reports as `result`. */
export const SocketState = {
  /** Neither connected nor listening yet. */
  FRESH: 0,
  /** A connect is under way. */
  CONNECTING: 1,
  /** Connected (or an accepted connection). */
  CONNECTED: 2,
  /** A connect failed, or the connection is gone. */
  FAILED: 3,
  /** Listening. */
  LISTENING: 4,
} as const;

/** One request as read. */
export interface Request {
  readonly op: number;
  readonly id: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  /** The IPv4 address as dotted text. */
  readonly address: string;
  readonly port: number;
  readonly payload: Buffer;
}

/** One response to write. */
export interface Response {
  readonly result?: number;
  /** A Linux errno, 0 on success. */
  readonly error?: number;
  readonly a?: number;
  readonly address?: string;
  readonly port?: number;
  readonly payload?: Uint8Array;
}

/** The four bytes of a sockaddr_in's address as dotted text. */
export function addressText(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** Dotted text as four bytes (0.0.0.0 for anything else). */
export function addressBytes(text: string | undefined): Uint8Array {
  const parts = (text ?? '0.0.0.0').split('.').map(Number);
  return parts.length === 4 && parts.every((n) => Number.isInteger(n) && n >= 0 && n <= 255) ? Uint8Array.from(parts) : new Uint8Array(4);
}

/** Decodes a request header (REQUEST_BYTES) and its payload. */
export function decodeRequest(header: Buffer, payload: Buffer): Request {
  return {
    op: header.readUInt32LE(0),
    id: header.readInt32LE(4),
    a: header.readInt32LE(8),
    b: header.readInt32LE(12),
    c: header.readInt32LE(16),
    address: addressText(header.subarray(20, 24)),
    port: header.readUInt16LE(24),
    payload,
  };
}

/** A request header's payload length. */
export function requestPayloadLength(header: Buffer): number {
  return header.readUInt32LE(28);
}

/** Encodes a response and its payload. */
export function encodeResponse(response: Response): Buffer {
  const payload = response.payload ?? new Uint8Array(0);
  const out = Buffer.alloc(RESPONSE_BYTES + payload.length);
  out.writeInt32LE(response.result ?? 0, 0);
  out.writeInt32LE(response.error ?? 0, 4);
  out.writeInt32LE(response.a ?? 0, 8);
  out.set(addressBytes(response.address), 12);
  out.writeUInt16LE(response.port ?? 0, 16);
  out.writeUInt32LE(payload.length, 20);
  out.set(payload, RESPONSE_BYTES);
  return out;
}

/** One datagram with its header, as the program reads it. */
export function encodeDatagram(data: Uint8Array, address: string, port: number): Buffer {
  const out = Buffer.alloc(DATAGRAM_HEADER_BYTES + data.length);
  out.writeUInt32LE(data.length, 0);
  out.set(addressBytes(address), 4);
  out.writeUInt16LE(port, 8);
  out.set(data, DATAGRAM_HEADER_BYTES);
  return out;
}

/** Reads exact byte counts from a stream that arrives in arbitrary chunks. */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private size = 0;

  /** Bytes queued. */
  get length(): number {
    return this.size;
  }

  /** Adds bytes at the end. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Takes `n` bytes from the front, or null when fewer are queued. */
  take(n: number): Buffer | null {
    if (n > this.size) return null;
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = n < all.length ? [all.subarray(n)] : [];
    this.size -= n;
    return all.subarray(0, n);
  }

  /** Looks at `n` bytes at the front without taking them, or null. */
  peek(n: number): Buffer | null {
    if (n > this.size) return null;
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, n);
  }

  /** Takes everything. */
  takeAll(): Buffer {
    return this.take(this.size) ?? Buffer.alloc(0);
  }
}
