/**
 * How much a connection's writer may queue, and when it is writable again (SO_SNDBUF). RFC 9293
 * leaves send buffering to the implementation (§3.10.2: SEND "may" be refused for lack of
 * room), so two models (TcpConfig.sendBufferAccounting):
 *
 * - `bytes` (default): the send buffer holds SO_SNDBUF bytes of data, sent or not; a write takes
 *   what fits.
 * - `linux`: Linux's socket memory accounting. The limit is sk_sndbuf: twice SO_SNDBUF when set
 *   (locked then), else tcp_wmem[1] grown by tcp_sndbuf_expand — at the handshake and whenever
 *   an ACK frees room for a writer that ran short while the congestion window is not full — to
 *   room for two congestion windows of segments, each charged a whole skb, up to tcp_wmem[2]. It
 *   is charged with sk_wmem_queued: the data plus a fixed overhead per skb. A write copies into
 *   the last unsent skb up to the size goal (half the peer's largest window, at most 64 KiB, in
 *   whole segments) without looking at the limit, and starts a new skb only while the charge is
 *   under the limit and the unsent bytes are under TCP_NOTSENT_LOWAT (tcp_sendmsg_locked). Skbs
 *   split where transmission cuts them into send units (tso_fragment) and go when fully
 *   acknowledged.
 *
 * In both, the socket is writable (POLLOUT, and a wakeup for a blocked writer) when the room
 * left is at least half of what is queued and the unsent bytes are under half the low water mark
 * (Linux's __sk_stream_is_writeable(sk, 1)).
 */
import type { TcpConnection } from './connection.js';
import { seqGt, seqLe, seqSub } from './seq.js';

/** Which send-buffer model a connection uses (TcpConfig.sendBufferAccounting). */
export type SendBufferAccounting = 'bytes' | 'linux';

/**
 * What Linux charges per skb beyond its data (x86-64): SKB_TRUESIZE of an skb allocated with
 * MAX_TCP_HEADER of head room — a 704-byte head, a 256-byte sk_buff and 320 bytes of
 * skb_shared_info (tcp_stream_alloc_skb).
 */
const LINUX_SKB_OVERHEAD = 1280;

/** Linux's SOCK_MIN_SNDBUF: 2 × (2048 + 256). */
const LINUX_MIN_SEND_BUFFER = 4608;

/** Linux's GSO_LEGACY_MAX_SIZE: the largest skb a write fills (tcp_xmit_size_goal). */
const LINUX_LARGEST_SKB = 65536;

/** Linux's TCP_INIT_CWND: tcp_sndbuf_expand plans for at least this many segments. */
const LINUX_EXPAND_MIN_SEGMENTS = 10;

/** Linux's tcp_reordering default + 1, the other floor of tcp_sndbuf_expand. */
const LINUX_EXPAND_REORDERING_SEGMENTS = 4;

/** MAX_TCP_HEADER + SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), added to an MSS (tcp_sndbuf_expand). */
const LINUX_SEGMENT_HEADROOM = 320 + 320;

/** SKB_DATA_ALIGN(sizeof(struct sk_buff)). */
const LINUX_SK_BUFF = 256;

/** Room a write may take beyond the limit: one more skb's worth (storage, not accounting). */
const STORAGE_SLACK = LINUX_LARGEST_SKB;

/** The skb ends of every connection with none (`bytes` accounting, or nothing queued at rest): shared, frozen. */
const NO_SKBS: number[] = Object.freeze([]) as unknown as number[];

/** A connection's send-buffer limit and charge. */
export class SendMemory {
  /** The limit: SO_SNDBUF bytes (`bytes`), or sk_sndbuf (`linux`). */
  private limitBytes: number;
  /** SO_SNDBUF was set: the limit no longer grows (Linux's SOCK_SNDBUF_LOCK). */
  private locked = false;
  /** A writer ran short of room (Linux's SOCK_NOSPACE): freed room may grow the limit and wakes it. */
  writerWaiting = false;
  /** Sequence numbers where skbs end, ascending (`linux`); the first starts at the send buffer's head. */
  private skbEnds: number[] = NO_SKBS;
  /** The last skb takes no more data (MSG_EOR ended it). */
  private tailClosed = false;
  /** An ACK freed room since the last `takeFreed`. */
  private roomWasFreed = false;
  /** Where the last push mark was put (Linux's pushed_seq). */
  private pushedSeq: number | null = null;

  constructor(
    private readonly connection: TcpConnection,
    readonly accounting: SendBufferAccounting,
  ) {
    this.limitBytes = connection.host.config.sendBufferSize;
    this.applyLimit();
  }

  /** The limit in force (`linux`: sk_sndbuf, what getsockopt(SO_SNDBUF) reads). */
  get limit(): number {
    return this.limitBytes;
  }

  /** SO_SNDBUF set to `bytes` (`linux`: doubled for bookkeeping, at least SOCK_MIN_SNDBUF, and locked). */
  setSize(bytes: number): void {
    if (this.accounting === 'linux') {
      this.limitBytes = Math.max(2 * bytes, LINUX_MIN_SEND_BUFFER);
      this.locked = true;
    } else {
      this.limitBytes = bytes;
    }
    this.applyLimit();
  }

  /** What the limit is charged with: bytes held, plus (`linux`) the overhead of each skb. */
  get charged(): number {
    const held = this.connection.sendBuffer.length;
    if (this.accounting === 'bytes') return held;
    return held + LINUX_SKB_OVERHEAD * this.skbCount();
  }

  /**
   * Bytes a write may copy now, of `wanted`: `bytes`, what fits and keeps the unsent bytes under
   * the low water mark; `linux`, the room left in the last unsent skb, else — while the charge is
   * under the limit and the unsent bytes under the low water mark — a new skb's worth.
   */
  writeRoom(wanted: number): number {
    const c = this.connection;
    if (this.accounting === 'bytes') return Math.min(wanted, c.sendBuffer.free, c.notSentLowWater - c.unsentBytes);
    const goal = this.sizeGoal();
    const tail = this.openTailLength();
    if (tail !== null && tail < goal) return Math.min(wanted, goal - tail, c.sendBuffer.free);
    if (this.charged >= this.limitBytes || c.unsentBytes >= c.notSentLowWater) return 0;
    return Math.min(wanted, goal, c.sendBuffer.free);
  }

  /** A write copied `bytes` (as `writeRoom` allowed); `endOfRecord`: MSG_EOR closes its skb. */
  appended(bytes: number, endOfRecord: boolean): void {
    if (this.accounting === 'bytes' || bytes === 0) return;
    const end = this.connection.sendBufferEnd;
    if (this.openTailLength() !== null) this.skbEnds[this.skbEnds.length - 1] = end;
    else if (this.skbEnds === NO_SKBS) this.skbEnds = [end];
    else this.skbEnds.push(end);
    this.tailClosed = endOfRecord;
  }

  /**
   * After a write copied into the last skb (`linux`): when that filled it and more than half the
   * peer's largest window was written since the last push mark, the skb's end is pushed (Linux's
   * forced_push: PSH reaches a receiver that would otherwise hold a long stream). Returns the
   * sequence number to mark, or null.
   */
  forcedPush(): number | null {
    if (this.accounting === 'bytes') return null;
    const c = this.connection;
    const end = c.sendBufferEnd;
    const tail = this.openTailLength();
    if (tail === null || tail < this.sizeGoal()) return null;
    this.pushedSeq ??= c.sendBufferSeq;
    if (seqSub(end, this.pushedSeq) <= c.maxSndWnd >>> 1) return null;
    this.pushedSeq = end;
    return end;
  }

  /** A write ended with a push mark (Linux's tcp_mark_push). */
  pushed(): void {
    this.pushedSeq = this.connection.sendBufferEnd;
  }

  /**
   * New data [start, end) left in one burst, cut into send units of `unitBytes` from each skb's
   * start (`linux`: tso_fragment splits an skb where a transmission ends inside it).
   */
  transmitted(start: number, end: number, unitBytes: number): void {
    if (this.accounting === 'bytes' || !seqGt(end, start)) return;
    this.prune();
    let position = start;
    let index = this.skbEnds.findIndex((skbEnd) => seqGt(skbEnd, position));
    while (index >= 0 && index < this.skbEnds.length && seqGt(end, position)) {
      const skbEnd = this.skbEnds[index];
      const cut = Math.min(seqSub(skbEnd, position), Math.max(1, unitBytes), seqSub(end, position));
      const cutSeq = (position + cut) >>> 0;
      if (cutSeq !== skbEnd) this.skbEnds.splice(index, 0, cutSeq);
      position = cutSeq;
      index++;
    }
    if (this.openTailLength() === null) this.tailClosed = false;
  }

  /**
   * Writable now (POLLOUT; worth waking a blocked writer): room left at least half of the charge,
   * and fewer unsent bytes than half the low water mark.
   */
  get writable(): boolean {
    const c = this.connection;
    const charged = this.charged;
    const room = this.limitBytes - charged;
    return room > 0 && room >= charged / 2 && c.unsentBytes * 2 < c.notSentLowWater;
  }

  /**
   * The handshake completed (`linux`, tcp_init_buffer_space): an unlocked limit grows to room for
   * the initial window.
   */
  established(): void {
    if (this.accounting === 'linux' && !this.locked) this.expand();
  }

  /** An ACK acknowledged data: room was freed. */
  freed(): void {
    this.roomWasFreed = true;
  }

  /**
   * Once the segment that freed room was processed and what it let us send left (Linux's
   * tcp_check_space / tcp_new_space): with a writer waiting and the congestion window not full,
   * an unlocked `linux` limit grows to two windows of segments, and a writable socket stops
   * waiting. Returns whether room was freed since the last call.
   */
  takeFreed(): boolean {
    if (!this.roomWasFreed) return false;
    this.roomWasFreed = false;
    if (!this.writerWaiting) return true;
    const c = this.connection;
    if (this.accounting === 'linux' && !this.locked) {
      const mss = Math.max(1, c.sendMss);
      if (Math.ceil(c.inFlight.pipe / mss) < Math.floor(c.cc.cwnd / mss)) this.expand();
    }
    if (this.writable) this.writerWaiting = false;
    return true;
  }

  /** Linux's tcp_sndbuf_expand. */
  private expand(): void {
    const c = this.connection;
    const config = c.host.config;
    const peerMss = c.options.maxSegmentSize > 0 ? Math.min(c.peerMss, c.options.maxSegmentSize) : c.peerMss;
    const perSegment = roundUpToPowerOfTwo(Math.max(peerMss, c.sendMss) + LINUX_SEGMENT_HEADROOM) + LINUX_SK_BUFF;
    const segments = Math.max(LINUX_EXPAND_MIN_SEGMENTS, Math.floor(c.cc.cwnd / Math.max(1, c.sendMss)), LINUX_EXPAND_REORDERING_SEGMENTS);
    const wanted = Math.min(2 * segments * perSegment, config.sendBufferMax);
    if (wanted > this.limitBytes) {
      this.limitBytes = wanted;
      this.applyLimit();
    }
  }

  /**
   * Linux's tcp_xmit_size_goal: whole segments up to 64 KiB, and at most half the largest window
   * the peer offered (tcp_bound_to_half_wnd), at least one segment.
   */
  private sizeGoal(): number {
    const c = this.connection;
    const mss = Math.max(1, c.sendMss);
    const window = c.maxSndWnd;
    const cutoff = window > 536 ? window >>> 1 : window;
    const bound = cutoff > 0 && LINUX_LARGEST_SKB > cutoff ? Math.max(cutoff, 48) : LINUX_LARGEST_SKB;
    return Math.max(mss, Math.floor(bound / mss) * mss);
  }

  /** Bytes in the last skb if a write may still add to it (not sent, not closed), else null. */
  private openTailLength(): number | null {
    this.prune();
    const c = this.connection;
    if (this.tailClosed || this.skbEnds.length === 0) return null;
    const end = this.skbEnds[this.skbEnds.length - 1];
    const start = this.skbEnds.length > 1 ? this.skbEnds[this.skbEnds.length - 2] : c.sendBufferSeq;
    if (seqGt(c.sndNxt, start)) return null; // some of it left: Linux moved it to the retransmission queue
    return seqSub(end, start);
  }

  /** Skbs holding data, the partly acknowledged first one included. */
  private skbCount(): number {
    this.prune();
    return this.skbEnds.length;
  }

  /** Forgets skbs wholly acknowledged (tcp_clean_rtx_queue frees them). */
  private prune(): void {
    const head = this.connection.sendBufferSeq;
    let drop = 0;
    while (drop < this.skbEnds.length && seqLe(this.skbEnds[drop], head)) drop++;
    if (drop === this.skbEnds.length)
      this.skbEnds = NO_SKBS; // all acknowledged: the array goes
    else if (drop > 0) this.skbEnds.splice(0, drop);
  }

  /** The byte store must hold what the model admits: `linux` overfills by up to one skb. */
  private applyLimit(): void {
    this.connection.sendBuffer.capacity = this.accounting === 'linux' ? this.limitBytes + STORAGE_SLACK : this.limitBytes;
  }
}

function roundUpToPowerOfTwo(n: number): number {
  let power = 1;
  while (power < n) power *= 2;
  return power;
}
