/**
 * MSG_ZEROCOPY completions and the error queue they are read from (Linux's
 * Documentation/networking/msg_zerocopy.rst; socket(7) SO_ZEROCOPY; ip(7) IP_RECVERR).
 *
 * On Linux a send with MSG_ZEROCOPY on a socket with SO_ZEROCOPY pins the caller's pages
 * instead of copying them, numbers the send (a 32-bit id, consecutive per socket from 0) and,
 * once the stack no longer needs the pages — for TCP when the bytes are acknowledged and their
 * buffers freed — queues a `struct sock_extended_err` on the socket's error queue naming the
 * range of ids completed. ustack always copies a write into its send buffer, so its completions
 * are exactly Linux's copied case: every one carries SO_EE_CODE_ZEROCOPY_COPIED. They still come
 * when Linux's would (after the ACK), so a program written for MSG_ZEROCOPY runs unchanged.
 *
 * Nothing here exists for a socket that never sent with MSG_ZEROCOPY: the socket creates it on
 * its first such send, and the TCP paths look at it only when it exists.
 */
import { seqGe, type SeqNumber } from '../tcp/seq.js';
import * as C from './berkeley-constants.js';

/**
 * Linux's struct sock_extended_err (linux/errqueue.h) without the `ee_` prefix, as recvmsg
 * returns it in the SOL_IP / IP_RECVERR control message of an error-queue read.
 */
export interface ExtendedError {
  /** 0 for a completion (it is not an error). */
  readonly errno: number;
  /** SO_EE_ORIGIN_ZEROCOPY. */
  readonly origin: number;
  /** ee_type: unused for zerocopy, always 0. */
  readonly type: number;
  /** SO_EE_CODE_ZEROCOPY_COPIED: ustack copied the data (it always does). */
  readonly code: number;
  /** The first id of the range completed. */
  readonly info: number;
  /** The last id of the range completed (inclusive). */
  readonly data: number;
}

/** Sends of one TCP connection not yet acknowledged: ids `first`–`last`, whose last byte is before `end`. */
interface PendingSend {
  first: number;
  last: number;
  /** The sequence number after the last byte of the newest send in the range. */
  end: SeqNumber;
  /** Bytes the range covers (Linux's uarg bytelen). */
  bytes: number;
}

/** A completed range waiting on the error queue (ids inclusive, u32). */
interface Completion {
  readonly first: number;
  last: number;
}

/**
 * Linux joins a send to the previous one's id range (msg_zerocopy_realloc) while that range
 * holds under 512 KiB and fewer than 65535 ids; ustack keeps the same limits.
 */
const RANGE_BYTE_LIMIT = 1 << 19;
const RANGE_ID_LIMIT = 0xffff;
/**
 * At most this many unacknowledged ranges per connection: a further send joins the newest
 * range instead, so the record stays bounded however small the sends (Linux bounds its
 * completion records by the socket's option memory and fails the send with ENOBUFS instead;
 * ustack delays the earlier ids' completion to the later bytes' ACK rather than fail).
 */
const MAX_PENDING_RANGES = 1024;

/** One socket's MSG_ZEROCOPY state: the next id, the sends awaiting their ACK, the error queue. */
export class ZerocopyNotifications {
  /** The id the next send gets (Linux's sk_zckey). */
  private nextId = 0;
  /** Unacknowledged TCP sends, oldest first. */
  private readonly pending: PendingSend[] = [];
  /** The error queue: completed ranges, oldest first (Linux's sk_error_queue). */
  private readonly queue: Completion[] = [];

  /** Whether a notification waits to be read (POLLERR, as Linux's tcp_poll and datagram_poll). */
  get readable(): boolean {
    return this.queue.length > 0;
  }

  /** The end of the newest send awaiting its ACK, or null when none does. */
  get newestEnd(): SeqNumber | null {
    return this.pending.length > 0 ? this.pending[this.pending.length - 1].end : null;
  }

  /** Sends awaiting acknowledgement (tests and status tools). */
  get pendingRanges(): number {
    return this.pending.length;
  }

  /**
   * A TCP send of `bytes` bytes (more than 0: Linux gives a send of nothing no id) was queued,
   * its last byte before `end`. `tailUnsent`: bytes of the previous write were still waiting to
   * be sent when it was queued, so (as Linux's msg_zerocopy_realloc does when the write queue's
   * tail buffer carries the previous send's record) it joins that send's range.
   */
  streamSent(bytes: number, end: SeqNumber, tailUnsent: boolean): void {
    const id = this.takeId();
    const newest = this.pending[this.pending.length - 1];
    const joinable =
      newest !== undefined &&
      newest.last === (id - 1) >>> 0 &&
      newest.bytes + bytes <= RANGE_BYTE_LIMIT &&
      ((newest.last - newest.first) >>> 0) + 1 < RANGE_ID_LIMIT;
    if (joinable && (tailUnsent || this.pending.length >= MAX_PENDING_RANGES)) {
      newest.last = id;
      newest.end = end;
      newest.bytes += bytes;
      return;
    }
    this.pending.push({ first: id, last: id, end, bytes });
  }

  /**
   * A datagram of more than 0 bytes was sent: ustack copied it into the packet before send()
   * returned, so its id completes at once (Linux's completes when the skb is freed after
   * transmission; a copy needs the user's bytes no longer than the call).
   */
  datagramSent(): void {
    const id = this.takeId();
    this.complete(id, id);
  }

  /**
   * The bytes before `acknowledgedTo` (the connection's first byte still in its send buffer)
   * are acknowledged: the sends they end complete, in order. Returns whether any did.
   */
  acknowledged(acknowledgedTo: SeqNumber): boolean {
    let released = 0;
    while (released < this.pending.length && seqGe(acknowledgedTo, this.pending[released].end)) {
      const range = this.pending[released];
      this.complete(range.first, range.last);
      released++;
    }
    if (released > 0) this.pending.splice(0, released);
    return released > 0;
  }

  /**
   * The connection is gone (closed, reset or timed out): Linux's tcp_write_queue_purge frees
   * every buffer, which completes every send still pending. Returns whether any did.
   */
  connectionGone(): boolean {
    for (const range of this.pending) this.complete(range.first, range.last);
    const any = this.pending.length > 0;
    this.pending.length = 0;
    return any;
  }

  /** Dequeues the oldest notification (recvmsg with MSG_ERRQUEUE), or null when the queue is empty. */
  take(): ExtendedError | null {
    const completion = this.queue.shift();
    if (!completion) return null;
    return {
      errno: 0,
      origin: C.SO_EE_ORIGIN_ZEROCOPY,
      type: 0,
      code: C.SO_EE_CODE_ZEROCOPY_COPIED,
      info: completion.first,
      data: completion.last,
    };
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = (id + 1) >>> 0;
    return id;
  }

  /**
   * Queues the completion of ids `first`–`last`. As Linux's skb_zerocopy_notify_extend, a range
   * that follows the newest queued one extends it instead while the sum stays under 2^32 ids,
   * so a reader that falls behind finds one notification, not one per send.
   */
  private complete(first: number, last: number): void {
    const tail = this.queue[this.queue.length - 1];
    const length = ((last - first) >>> 0) + 1;
    if (tail && first === (tail.last + 1) >>> 0 && ((tail.last - tail.first) >>> 0) + 1 + length < 2 ** 32) {
      tail.last = last;
      return;
    }
    this.queue.push({ first, last });
  }
}
