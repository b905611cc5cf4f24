/**
 * Linux's forced push (TcpConfig.forcedPush): during one long write, PSH also marks the end of
 * each buffer-full ("skb") that leaves the written data more than half of the largest window the
 * peer offered past the last push, so a receiver that waits for PSH before waking its reader
 * (RFC 9293 §3.9.1 lets it deliver at PSH) still hears of data every half window. RFC 9293
 * leaves PSH beyond a write's end to the sender.
 *
 * Linux copies a write into buffers of a size goal — whole segments, at most half the peer's
 * largest window and a 64 KiB GSO packet (tcp_xmit_size_goal) — and checks, each time one is
 * full, whether SND.WRITE is more than half a window past the last push (forced_push, then
 * tcp_mark_push). Where those buffers begin matters: the last one keeps filling after the
 * sender sent its head (it was split), so this tracks where the last buffer begins.
 */
import { seqAdd, seqGt, seqLt, seqSub } from './seq.js';

/** The largest GSO packet's payload (Linux's GSO_LEGACY_MAX_SIZE). */
const GSO_MAX_BYTES = 65536;

/** Linux's TCP_MSS_DEFAULT: a peer window no larger than this is not halved for the size goal. */
const SMALL_WINDOW = 536;

/** Where the write queue's last buffer begins and where the last push was. */
export class ForcedPush {
  /** The sequence number the last buffer of unsent data begins at. */
  private bufferStart: number | null = null;
  /** SND.WRITE at the last push (Linux's pushed_seq); null before the first write. */
  private pushedAt: number | null = null;

  /**
   * Bytes the last buffer takes before it reaches the size goal, opening a new one when it is
   * full or none is unsent. `writeEnd` is the sequence number after the last byte written,
   * `sndNxt` the first unsent one, `dataStart` the first byte the connection ever wrote.
   */
  room(writeEnd: number, sndNxt: number, dataStart: number, sizeGoal: number): number {
    this.pushedAt ??= dataStart;
    if (this.bufferStart === null || !seqLt(sndNxt, writeEnd)) this.bufferStart = writeEnd;
    else if (seqLt(this.bufferStart, sndNxt)) this.bufferStart = sndNxt; // its head was sent
    const room = sizeGoal - seqSub(writeEnd, this.bufferStart);
    if (room > 0) return room;
    this.bufferStart = writeEnd;
    return sizeGoal;
  }

  /**
   * The last buffer reached the size goal with more of the write to come: whether SND.WRITE is
   * now more than half of `maxWindow` past the last push, in which case this is a push.
   */
  full(writeEnd: number, maxWindow: number): boolean {
    if (this.pushedAt === null || !seqGt(writeEnd, seqAdd(this.pushedAt, maxWindow >> 1))) return false;
    this.pushedAt = writeEnd;
    return true;
  }

  /**
   * A write ended at `writeEnd`: a push unless MSG_MORE said more follows (`push` false), in
   * which case it is one only if forced (Linux's tcp_push). After the end of a record (MSG_EOR)
   * the next write starts a new buffer. Returns whether the end is a push.
   */
  writeEnded(writeEnd: number, push: boolean, endOfRecord: boolean, maxWindow: number): boolean {
    if (endOfRecord) this.bufferStart = null;
    if (!push) return this.full(writeEnd, maxWindow);
    this.pushedAt = writeEnd;
    return true;
  }
}

/**
 * Linux's size goal for the buffers a write fills (tcp_xmit_size_goal): whole segments of
 * `mss`, as many as half the peer's largest window holds (all of a window of 536 bytes or
 * less) and a GSO packet carries, at least one.
 */
export function writeSizeGoal(mss: number, maxWindow: number): number {
  const cutoff = maxWindow > SMALL_WINDOW ? maxWindow >> 1 : maxWindow;
  const bound = cutoff > 0 && GSO_MAX_BYTES > cutoff ? cutoff : GSO_MAX_BYTES;
  return Math.max(mss, Math.floor(bound / mss) * mss);
}
