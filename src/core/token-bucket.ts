/**
 * A token bucket: tokens accrue at a fixed rate up to a capacity, and an event may happen only
 * while the tokens it costs are there. The shape of Linux's rate limits (icmp_global for ICMP
 * errors, inet_peer's rate_tokens per destination, a socket's last out-of-window ACK), kept in
 * one place so that their refill arithmetic is written once.
 *
 * Time is given, never read: every call takes `now` in ms. The rate is given with every call
 * too, so that a setting changed while the stack runs takes effect at the next event, as a
 * Linux sysctl does; a capacity lowered clamps the tokens at once.
 */

/** How fast a bucket fills and how much it holds. */
export interface TokenBucketRate {
  /** The most tokens the bucket holds (the burst). */
  readonly capacity: number;
  /** Tokens added per `everyMs` of time, pro rata (fractions accrue). */
  readonly tokens: number;
  /** The period `tokens` are added over, ms (> 0). */
  readonly everyMs: number;
}

/** One bucket's tokens and when they were last brought up to date. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number | null = null;

  /**
   * A bucket holding `tokens` (by default full: clamped to the capacity at the first call).
   * Nothing accrues before the first call.
   */
  constructor(tokens = Number.POSITIVE_INFINITY) {
    this.tokens = tokens;
  }

  /** The tokens in the bucket as of the last call. */
  get available(): number {
    return this.tokens;
  }

  /**
   * Adds what accrued since the last call (nothing if time went backwards), clamped to the
   * capacity, and says whether `cost` tokens are there. Spends nothing: `spend` does, so that a
   * caller may look at several buckets before paying any.
   */
  allows(now: number, cost: number, rate: TokenBucketRate): boolean {
    const accrued = this.updatedAt === null ? 0 : (Math.max(0, now - this.updatedAt) * rate.tokens) / rate.everyMs;
    this.tokens = Math.min(rate.capacity, this.tokens + accrued);
    this.updatedAt = now;
    return this.tokens >= cost;
  }

  /** Takes `cost` tokens out (after `allows` said they are there). */
  spend(cost: number): void {
    this.tokens -= cost;
  }

  /** `allows`, then `spend` if it did: whether the event may happen at `now`. */
  take(now: number, cost: number, rate: TokenBucketRate): boolean {
    if (!this.allows(now, cost, rate)) return false;
    this.tokens -= cost;
    return true;
  }
}
