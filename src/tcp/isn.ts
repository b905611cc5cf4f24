/**
 * Initial sequence numbers by RFC 6528 §3: ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey), where M is a timer ticking every 4 µs and F a keyed hash (here
 * HMAC-SHA-256 truncated to 32 bits). The key comes from the stack's injected Rng, so the
 * ISNs of a seeded run are reproducible while still unpredictable to an off-path attacker.
 */
import { createHmac } from 'node:crypto';
import type { Rng } from '../core/rng.js';
import type { IpAddress } from '../ip/ip-address.js';

/** Computes ISNs for one stack. */
export class IsnGenerator {
  private readonly key: Buffer;

  constructor(rng: Rng) {
    this.key = Buffer.from(rng.bytes(16));
  }

  /** The ISN for a connection at time `now` (ms). */
  next(localAddress: IpAddress, localPort: number, remoteAddress: IpAddress, remotePort: number, now: number): number {
    const tuple = tupleBytes(localAddress, localPort, remoteAddress, remotePort);
    const f = createHmac('sha256', this.key).update(tuple).digest().readUInt32BE(0);
    const m = Math.floor(now * 250) % 0x1_0000_0000; // one tick per 4 µs
    return (m + f) >>> 0;
  }
}

/**
 * The 4-tuple as the keyed hash reads it: IPv4's 12 bytes; for IPv6 the addresses' text and the
 * ports (RFC 6528 §3 names the 4-tuple, not its encoding).
 */
export function tupleBytes(localAddress: IpAddress, localPort: number, remoteAddress: IpAddress, remotePort: number): Buffer {
  if (typeof localAddress !== 'number' || typeof remoteAddress !== 'number') return Buffer.from(`${localAddress}|${localPort}|${remoteAddress}|${remotePort}`);
  const tuple = Buffer.alloc(12);
  tuple.writeUInt32BE(localAddress >>> 0, 0);
  tuple.writeUInt16BE(localPort, 4);
  tuple.writeUInt32BE(remoteAddress >>> 0, 6);
  tuple.writeUInt16BE(remotePort, 10);
  return tuple;
}
