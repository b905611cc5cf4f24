/**
 * Path MTUs learned from ICMP (RFC 1191 for IPv4, RFC 8201 for IPv6): one cache per family,
 * keyed by destination, each entry kept for a lifetime and then forgotten so that the route's
 * MTU is tried again (RFC 1191 §6.3, RFC 8201 §5.3). The families differ only in the floor a
 * report may push a path to, which each layer passes in (`floor`).
 */

/** Limits of one family's cache. */
export interface PathMtuLimits {
  /**
   * The smallest path MTU a report can set; a lower one is taken as this (IPv4: Linux's min_pmtu
   * 552, against forged tiny values; IPv6: 1280, RFC 8201 §4 / RFC 8200 §5).
   */
  readonly floor: number;
  /**
   * How long a learned MTU is kept (ms): RFC 1191 §6.3 "about ten minutes"; RFC 8201 §5.3 "at
   * least 5 minutes", Linux's ip6_rt_mtu_expires 10.
   */
  readonly lifetimeMs: number;
  /** Destinations remembered at most: a flood of forged reports costs bounded memory (the oldest go first). */
  readonly entriesMax: number;
}

/** Ten minutes: RFC 1191 §6.3's "about ten minutes", and Linux's for both families. */
export const PATH_MTU_LIFETIME_MS = 10 * 60_000;
/** Destinations whose path MTU is remembered at most, per family. */
export const PATH_MTU_ENTRIES_MAX = 4096;

/** The path MTUs one family learned, with their expiry. Time comes in as an argument. */
export class PathMtuCache<Destination> {
  private readonly entries = new Map<Destination, { readonly mtu: number; readonly expires: number }>();

  constructor(private readonly limits: PathMtuLimits) {}

  /** Destinations remembered now. */
  get size(): number {
    return this.entries.size;
  }

  /** The learned MTU toward `destination`, or undefined. */
  get(destination: Destination): number | undefined {
    return this.entries.get(destination)?.mtu;
  }

  /**
   * Records a report that the path to `destination` carries only `mtu` (clamped to the floor),
   * when that is below `current`, the MTU used now (null with no route). Returns whether it was
   * lowered, for the layer's counter.
   */
  lower(destination: Destination, mtu: number, current: number | null, now: number): boolean {
    const clamped = Math.max(mtu, this.limits.floor);
    if (current !== null && clamped >= current) return false;
    this.entries.delete(destination);
    while (this.entries.size >= this.limits.entriesMax) this.entries.delete(this.entries.keys().next().value as Destination);
    this.entries.set(destination, { mtu: clamped, expires: now + this.limits.lifetimeMs });
    return true;
  }

  /** Forgets every learned MTU; returns how many destinations were forgotten. */
  clear(): number {
    const count = this.entries.size;
    this.entries.clear();
    return count;
  }

  /**
   * Forgets the MTUs whose lifetime ran out. Entries are in expiry order: each is (re)inserted at
   * the end with the same lifetime from a clock that never goes back, so the walk stops at the
   * first one still alive.
   */
  expire(now: number): void {
    for (const [destination, entry] of this.entries) {
      if (entry.expires > now) return;
      this.entries.delete(destination);
    }
  }

  /** The earliest expiry (the first entry's, see expire), or Infinity. */
  pollAt(): number {
    for (const entry of this.entries.values()) return entry.expires;
    return Infinity;
  }
}
