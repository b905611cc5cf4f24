/**
 * The key-value RPC's framing from the seed notes: an 8-byte header — version and payload length,
 * two 32-bit integers as Python's `struct.pack("ii", ...)` writes them on x86 (little-endian) —
 * then that many bytes of JSON.
 *
 * The seed's `recv_message` assumes one `recv(8)` returns the whole header and one
 * `recv(data_len)` the whole body. TCP is a byte stream: a message may arrive in several
 * segments, and one segment may hold the end of one message and the start of the next. This
 * decoder takes bytes as they come and yields whole messages, and refuses oversized or
 * malformed frames with a clear error instead of waiting forever or crashing.
 */

/** The protocol version the seed sends. */
export const KV_VERSION = 1;
/** Header length: version (int32) + length (int32). */
export const KV_HEADER_LENGTH = 8;
/** Largest JSON body accepted (the seed has no limit; an unbounded one is a memory hazard). */
export const KV_MAX_BODY = 1024 * 1024;

/** A framing error: the stream cannot be trusted any more and the connection should close. */
export class FrameError extends Error {}

/** Encodes one message. */
export function encodeFrame(message: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(message));
  const frame = new Uint8Array(KV_HEADER_LENGTH + body.length);
  const view = new DataView(frame.buffer);
  view.setInt32(0, KV_VERSION, true);
  view.setInt32(4, body.length, true);
  frame.set(body, KV_HEADER_LENGTH);
  return frame;
}

/** Accumulates stream bytes and yields complete messages. */
export class FrameDecoder {
  private buffer = new Uint8Array(0);

  /** Adds bytes; returns every message they complete (possibly none). Throws FrameError. */
  push(bytes: Uint8Array): unknown[] {
    const joined = new Uint8Array(this.buffer.length + bytes.length);
    joined.set(this.buffer);
    joined.set(bytes, this.buffer.length);
    this.buffer = joined;
    const messages: unknown[] = [];
    for (;;) {
      if (this.buffer.length < KV_HEADER_LENGTH) break;
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset, KV_HEADER_LENGTH);
      const version = view.getInt32(0, true);
      const length = view.getInt32(4, true);
      if (version !== KV_VERSION) throw new FrameError(`unsupported version ${version}`);
      if (length < 0 || length > KV_MAX_BODY) throw new FrameError(`frame of ${length} bytes exceeds the ${KV_MAX_BODY}-byte limit`);
      if (this.buffer.length < KV_HEADER_LENGTH + length) break;
      const body = this.buffer.subarray(KV_HEADER_LENGTH, KV_HEADER_LENGTH + length);
      let message: unknown;
      try {
        message = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
      } catch (error) {
        throw new FrameError(`malformed JSON body: ${(error as Error).message}`);
      }
      messages.push(message);
      this.buffer = this.buffer.slice(KV_HEADER_LENGTH + length);
    }
    return messages;
  }

  /** Bytes received that do not yet form a message. */
  get pending(): number {
    return this.buffer.length;
  }
}
