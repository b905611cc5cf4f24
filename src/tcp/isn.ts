/**
 * Initial sequence numbers by RFC 6528 §3: ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey), where M is a timer ticking every 4 µs and F a keyed hash: SipHash-2-4
 * truncated to 32 bits, the PRF Linux uses there too (secure_tcp_seq) — RFC 6528 asks for a
 * keyed PRF and names MD5 only as an example. The key comes from the stack's injected Rng, so
 * the ISNs of a seeded run are reproducible while still unpredictable to an off-path attacker.
 */
import type { Rng } from '../core/rng.js';
import { SipHashKey, sipHash24 } from '../core/siphash.js';
import type { IpAddress } from '../ip/ip-address.js';

/** Computes ISNs for one stack. */
export class IsnGenerator {
  private readonly key: SipHashKey;

  constructor(rng: Rng) {
    this.key = new SipHashKey(rng.bytes(16));
  }

  /** The ISN for a connection at time `now` (ms). */
  next(localAddress: IpAddress, localPort: number, remoteAddress: IpAddress, remotePort: number, now: number): number {
    const tuple =
      typeof localAddress === 'number' && typeof remoteAddress === 'number'
        ? ipv4TupleBytes(localAddress, localPort, remoteAddress, remotePort)
        : tupleBytes(localAddress, localPort, remoteAddress, remotePort);
    const f = sipHash24(this.key, tuple).low;
    const m = Math.floor(now * 250) % 0x1_0000_0000; // one tick per 4 µs
    return (m + f) >>> 0;
  }
}

const encoder = new TextEncoder();

/** The 12 bytes of an IPv4 tuple, rewritten by each ISN: every connection asks for one, and the hash keeps nothing of its input. */
const ipv4Tuple = new Uint8Array(12);

/** tupleBytes of an IPv4 tuple without extra bytes, written into ipv4Tuple (valid until the next call). */
function ipv4TupleBytes(localAddress: number, localPort: number, remoteAddress: number, remotePort: number): Uint8Array {
  const tuple = ipv4Tuple;
  tuple[0] = localAddress >>> 24;
  tuple[1] = localAddress >>> 16;
  tuple[2] = localAddress >>> 8;
  tuple[3] = localAddress;
  tuple[4] = localPort >>> 8;
  tuple[5] = localPort;
  tuple[6] = remoteAddress >>> 24;
  tuple[7] = remoteAddress >>> 16;
  tuple[8] = remoteAddress >>> 8;
  tuple[9] = remoteAddress;
  tuple[10] = remotePort >>> 8;
  tuple[11] = remotePort;
  return tuple;
}

/**
 * The 4-tuple as the keyed hashes read it: IPv4's 12 bytes; for IPv6 the addresses' text and the
 * ports (RFC 6528 §3 names the 4-tuple, not its encoding). `extra` more bytes are left zero at
 * the end for the caller (SYN cookies add a counter).
 */
export function tupleBytes(localAddress: IpAddress, localPort: number, remoteAddress: IpAddress, remotePort: number, extra = 0): Uint8Array {
  if (typeof localAddress !== 'number' || typeof remoteAddress !== 'number') {
    const text = encoder.encode(`${localAddress}|${localPort}|${remoteAddress}|${remotePort}`);
    const tuple = new Uint8Array(text.length + extra);
    tuple.set(text);
    return tuple;
  }
  const tuple = new Uint8Array(12 + extra);
  const view = new DataView(tuple.buffer);
  view.setUint32(0, localAddress >>> 0);
  view.setUint16(4, localPort);
  view.setUint32(6, remoteAddress >>> 0);
  view.setUint16(10, remotePort);
  return tuple;
}
