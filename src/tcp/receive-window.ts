/**
 * Linux's receive window (TcpConfig.receiveWindowGrowth = 'linux'). RFC 9293 §3.8.6 lets a
 * receiver offer less than its free buffer — the window is what it "is currently prepared to
 * accept" — and §3.8.6.2.2 (receiver SWS avoidance) only bounds how the right edge moves; how
 * much to offer is the implementation's choice. ustack's default offers the free buffer. Linux
 * offers a window that starts at half its initial buffer and grows with the data the sender
 * actually sends — a receiver-side slow start that commits memory only as it is used — and
 * counts its buffer in memory, not bytes (the kernel's sk_buff "truesize": payload plus the
 * buffer's headers and bookkeeping). The rules, as Linux 6.x has them:
 *
 * - Memory and window. The buffer (sk_rcvbuf, here `receiveBufferSize`: tcp_rmem[1] or
 *   SO_RCVBUF) is memory; each queued segment costs its payload plus `receiveSegmentOverhead`.
 *   A segment longer than the peer may send is several that an offload kept as one buffer (the
 *   sender's TSO over veth, GRO, a TUN's virtio-net GSO): Linux charges that buffer once, its
 *   skb->truesize (skb_set_owner_r, from tcp_queue_rcv), so it costs its payload plus one
 *   `receiveOffloadOverhead`, not one overhead per segment inside, until the application has
 *   read all of it (tcp_eat_recv_skb frees a buffer only once it is consumed).
 *   A window is space × scaling_ratio / 256 (include/net/tcp.h, tcp_win_from_space), the ratio
 *   starting at 128 (50 %, TCP_DEFAULT_SCALING_RATIO) and measured from the first full-sized
 *   segment as payload × 256 / truesize (tcp_input.c, tcp_measure_rcv_mss), which then also
 *   sets the clamp (tcp_set_window_clamp).
 * - The SYN's window (tcp_output.c, tcp_select_initial_window): the buffer's window at 50 %,
 *   rounded down to whole segments of our MSS (less the timestamp option on a SYN-ACK that
 *   negotiated it, tcp_openreq_init_rwin), at most 65535; the threshold (rcv_ssthresh) starts
 *   there.
 * - Growth (tcp_input.c, tcp_grow_window and __tcp_grow_window, from tcp_event_data_recv for
 *   in-order segments of 128 bytes or more and tcp_data_queue_ofo for out-of-order ones when
 *   SACK is on): while the threshold is below min(clamp, free window), it rises by two
 *   segments (twice advmss, our MSS less the timestamp option, or twice the segment if
 *   larger) — when the segment's truesize is worth no more window than its payload, or, for a
 *   costlier one, while the threshold is small enough against tcp_rmem[2] — and each rise sets
 *   bit 0 of the quick-ACK count (`icsk_ack.quick |= 1`), so the sender hears of the larger
 *   window at once.
 * - Selection (tcp_output.c, __tcp_select_window and tcp_select_window): the window is the
 *   free window, at most the threshold, rounded up to the scale's unit (RFC 7323 §2.3: a scaled
 *   window is a multiple of 2^shift); under half the full window, the quick-ACK count is
 *   cleared and the free window is rounded down instead, and a window under a sixteenth of the
 *   buffer's or under one segment is offered as zero. A smaller window than the one still
 *   open is never offered: the edge stays (RFC 9293 §3.8.6.2.2: the right edge never moves
 *   left).
 * - Autotuning (tcp_input.c, tcp_rcv_space_adjust and tcp_rcvbuf_grow as in Linux 6.16 to
 *   6.18-rc3, the round timed by the last segment as 6.19 times it): once per receiver RTT, if
 *   the application read more than in the RTT before (less what it left unread), the buffer
 *   grows to hold twice that plus the span held out of order, at most tcp_rmem[2]
 *   (`receiveBufferMax`), unless SO_RCVBUF locked it; each out-of-order segment grows it the
 *   same way (tcp_data_queue_ofo); the clamp follows. The receiver's RTT is the smallest of the times a window's worth took to arrive and of the non-zero timestamp
 *   echoes (tcp_rcv_rtt_measure, tcp_rcv_rtt_measure_ts).
 */
import type { TcpConnection } from './connection.js';
import { seqGt, seqLt, seqSub } from './seq.js';

/** TCP_DEFAULT_SCALING_RATIO and TCP_RMEM_TO_WIN_SCALE: the window is space × ratio >> 8. */
const DEFAULT_SCALING_RATIO = 128;
const RATIO_SHIFT = 8;
/** Linux's TCPOLEN_TSTAMP_ALIGNED: the room a segment loses to the timestamp option. */
const TIMESTAMP_OPTION_BYTES = 12;
/** TCP_MSS_DEFAULT: the receive-MSS estimate before a longer segment was measured (tcp_initialize_rcv_mss). */
const INITIAL_RECEIVE_MSS = 536;
/** tcp_event_data_recv grows the window only for in-order segments of at least this length. */
const MIN_GROWING_SEGMENT = 128;
/** The largest unscaled window field. */
const MAX_WINDOW_FIELD = 0xffff;

/** An offloaded buffer queued in order: where it ends, its payload, and its memory (skb->truesize). */
interface OffloadedBuffer {
  readonly end: number;
  readonly length: number;
  readonly truesize: number;
}

/** One connection's Linux receive-window state. */
export class LinuxReceiveWindow {
  /**
   * Offloaded buffers queued in order and not yet wholly read, oldest first: each is charged
   * its own truesize. At most the buffer's bytes over the peer's segment size of them.
   */
  readonly offloaded: OffloadedBuffer[] = [];
  /** The most the window may offer now (rcv_ssthresh); 0 before the SYN set it. */
  threshold = 0;
  /** The largest window the buffer allows (window_clamp). */
  clamp = 0;
  /** Window per 256 bytes of buffer memory (scaling_ratio). */
  ratio = DEFAULT_SCALING_RATIO;
  /** The segment length the ratio was measured at (icsk_ack.rcv_mss when it last changed). */
  measuredLength = 0;
  /** The receiver's RTT estimate in ms × 8 (rcv_rtt_est.rtt_us); 0 before a sample. */
  rtt8 = 0;
  /** The RCV.NXT that ends the current window-based RTT measurement, and when it began (rcv_rtt_est). */
  rttSeq = 0;
  rttStart = -1;
  /** The last TSecr that gave an RTT sample (rcv_rtt_last_tsecr). */
  lastTsEcr: number | null = null;
  /** Autotuning (rcvq_space): the bytes read in the last round, where reading stood when this one began, and when; -1 before the first data. */
  roundBytes = 0;
  roundSeq = 0;
  roundStart = -1;
  /** Where the application's reading stood after its last read (copied_seq then). */
  lastReadSeq = 0;
  /** When the last data segment was taken in (tcp_mstamp, as autotuning reads it); -1 before. */
  lastSegmentAt = -1;

  /** Window worth `space` bytes of buffer memory (tcp_win_from_space). */
  windowFromSpace(space: number): number {
    return Math.floor((space * this.ratio) / 2 ** RATIO_SHIFT);
  }

  /** Buffer memory that holds `window` bytes of window (tcp_space_from_win). */
  spaceFromWindow(window: number): number {
    return Math.floor((window * 2 ** RATIO_SHIFT) / this.ratio);
  }
}

function state(connection: TcpConnection): LinuxReceiveWindow {
  return connection.quickAcks.receiveWindow;
}

function enabled(connection: TcpConnection): boolean {
  return connection.host.config.receiveWindowGrowth === 'linux';
}

/** The most the window field with our scale can carry. */
function largestWindow(connection: TcpConnection): number {
  return MAX_WINDOW_FIELD * 2 ** connection.rcvWindowShift;
}

/** The longest segment the peer may send us: our MSS less the timestamp option when it is on. */
function peerSegmentSize(connection: TcpConnection): number {
  const mss = connection.advertisedMss || connection.sendMss;
  return mss - (connection.timestamps.enabled ? TIMESTAMP_OPTION_BYTES : 0);
}

/** Whether a segment of `length` bytes is several that an offload kept as one buffer. */
function offloaded(connection: TcpConnection, length: number): boolean {
  const peerSegment = peerSegmentSize(connection);
  return peerSegment > 0 && length > peerSegment;
}

/** The memory a buffer of `length` bytes costs (skb->truesize). */
function truesizeOf(connection: TcpConnection, length: number): number {
  const config = connection.host.config;
  return length + (offloaded(connection, length) ? config.receiveOffloadOverhead : config.receiveSegmentOverhead);
}

/**
 * The memory the queued segments take: each offloaded buffer not yet wholly read its truesize,
 * the rest their payload plus one overhead per full-sized segment's worth.
 */
function usedMemory(connection: TcpConnection, w: LinuxReceiveWindow): number {
  const bytes = connection.receiveQueueBytes + connection.assembler.heldBytes;
  const read = readSeq(connection);
  while (w.offloaded.length > 0 && !seqGt(w.offloaded[0].end, read)) w.offloaded.shift();
  if (bytes === 0) return 0;
  let charged = 0;
  let unread = 0;
  for (const buffer of w.offloaded) {
    charged += buffer.truesize;
    unread += Math.min(buffer.length, seqSub(buffer.end, read));
  }
  const rest = Math.max(0, bytes - unread);
  const segment = Math.max(1, w.measuredLength || connection.advertisedMss || connection.sendMss);
  return charged + rest + Math.ceil(rest / segment) * connection.host.config.receiveSegmentOverhead;
}

/** The free window (tcp_space): the free buffer memory's worth of window. */
function freeWindow(connection: TcpConnection, w: LinuxReceiveWindow): number {
  return Math.max(0, w.windowFromSpace(connection.receiveBufferSize - usedMemory(connection, w)));
}

/** The full buffer's window (tcp_full_space). */
function fullWindow(connection: TcpConnection, w: LinuxReceiveWindow): number {
  return w.windowFromSpace(connection.receiveBufferSize);
}

/**
 * The window of a SYN or SYN-ACK, which also starts the threshold and the clamp
 * (tcp_select_initial_window, tcp_init_buffer_space). Null when the model is off.
 */
export function linuxSynWindow(connection: TcpConnection, isSynAck: boolean): number | null {
  if (!enabled(connection)) return null;
  const w = state(connection);
  w.ratio = DEFAULT_SCALING_RATIO;
  const full = fullWindow(connection, w);
  const mss = (connection.advertisedMss || connection.sendMss) - (isSynAck && connection.timestamps.enabled ? TIMESTAMP_OPTION_BYTES : 0);
  let space = full;
  if (mss > 0 && space > mss) space -= space % mss;
  const window = Math.min(space, MAX_WINDOW_FIELD);
  w.threshold = window;
  w.clamp = Math.min(full, largestWindow(connection));
  w.measuredLength = Math.min(INITIAL_RECEIVE_MSS, connection.advertisedMss || INITIAL_RECEIVE_MSS);
  return window;
}

/**
 * A data segment of `length` bytes was taken in, in order or held out of order. Measures the
 * ratio, takes an RTT sample, and raises the threshold if there is room. Returns whether it
 * rose: the segment is then ACKed at once, as Linux's `icsk_ack.quick |= 1` makes it.
 */
export function linuxDataReceived(connection: TcpConnection, length: number, inOrder: boolean, tsEcr: number | undefined, now: number, start: number): boolean {
  if (!enabled(connection)) return false;
  const w = state(connection);
  if (w.threshold === 0) return false; // no SYN of ours set it (should not happen)
  const truesize = truesizeOf(connection, length);
  // An offloaded buffer queued in order is charged as one (skb_set_owner_r in tcp_queue_rcv).
  // One held out of order is charged, and once filled in freed, as full-sized segments.
  if (inOrder && offloaded(connection, length) && connection.receiveQueueBytes > 0) {
    w.offloaded.push({ end: (start + length) >>> 0, length, truesize });
  }
  // tcp_measure_rcv_mss: a segment of another size than the receive-MSS estimate, and not
  // shorter, sets the ratio (from the whole buffer, skb->len × 256 / skb->truesize). A segment
  // longer than the peer can send is several that the sender's segmentation offload or a
  // receive offload joined (a GSO buffer): its size is the peer's segment (gso_size), so later
  // ones of that size measure nothing.
  const size = offloaded(connection, length) ? peerSegmentSize(connection) : length;
  if (size > w.measuredLength) {
    w.measuredLength = Math.min(size, connection.advertisedMss || size);
    const ratio = Math.max(1, Math.min(255, Math.floor((length * 2 ** RATIO_SHIFT) / truesize)));
    if (ratio !== w.ratio) {
      w.ratio = ratio;
      w.clamp = Math.min(fullWindow(connection, w), largestWindow(connection));
      if (w.clamp < w.threshold) w.threshold = w.clamp;
    }
  }
  if (w.roundStart < 0) {
    // tcp_init_buffer_space: autotuning's first round counts from here, against the smaller
    // of the threshold and ten segments. (Linux 6.18 starts it at the handshake's last segment,
    // tcp_init_transfer, against the window offered too; kept as is for the same reason as
    // measureRttByWindow's differences.)
    w.roundStart = now;
    w.roundSeq = readSeq(connection);
    w.lastReadSeq = w.roundSeq;
    w.roundBytes = Math.min(w.threshold, 10 * (connection.advertisedMss || connection.sendMss));
  }
  w.lastSegmentAt = now;
  measureRttByTimestamp(connection, w, length, tsEcr, now);
  if (inOrder) {
    measureRttByWindow(connection, w, now);
    return length >= MIN_GROWING_SEGMENT && growThreshold(connection, w, length, 0);
  }
  // tcp_data_queue_ofo grows the threshold before it charges the segment to the socket
  // (tcp_grow_window, then skb_set_owner_r) and only then the buffer (tcp_rcvbuf_grow): the
  // room is what was free before this segment, under the clamp before this growth.
  const grew = connection.sackEnabled && growThreshold(connection, w, length, truesize);
  growBuffer(connection, w); // room for the span held out of order
  return grew;
}

/**
 * tcp_grow_window and __tcp_grow_window: raise the threshold by two segments if it is below
 * the clamp and the free window (`uncharged` bytes of memory not yet counted as used).
 */
function growThreshold(connection: TcpConnection, w: LinuxReceiveWindow, length: number, uncharged: number): boolean {
  const config = connection.host.config;
  const truesize = truesizeOf(connection, length);
  const free = Math.max(0, w.windowFromSpace(connection.receiveBufferSize - usedMemory(connection, w) + uncharged));
  const room = Math.min(w.clamp, free) - w.threshold;
  if (room <= 0) return false;
  // Linux's advmss: our MSS less the timestamp option once timestamps are on
  // (tcp_rcv_state_process and tcp_rcv_synsent_state_process take TCPOLEN_TSTAMP_ALIGNED off).
  const mss = peerSegmentSize(connection);
  let increase = 0;
  if (w.windowFromSpace(truesize) <= length) increase = 2 * mss;
  else {
    // __tcp_grow_window: a costly segment grows the window only while the threshold is small
    // against the largest buffer, halving both until the segment is worth its payload.
    let worth = w.windowFromSpace(truesize) >> 1;
    let window = w.windowFromSpace(config.receiveBufferMax) >> 1;
    while (w.threshold <= window) {
      if (worth <= length) {
        increase = 2 * Math.max(w.measuredLength, 1);
        break;
      }
      worth >>= 1;
      window >>= 1;
    }
  }
  if (increase === 0) return false;
  w.threshold += Math.min(room, Math.max(increase, 2 * length));
  return true;
}

/**
 * The receiver's RTT (tcp_rcv_rtt_update): the smallest sample is taken at once; a larger one
 * is ignored when measured over a window (tcp_rcv_rtt_measure: RCV.NXT passing the window's
 * right edge as it was when the measurement began takes at least one RTT) and moves the
 * estimate an eighth when it comes from a timestamp echo with nothing left unread.
 */
function rttSample(connection: TcpConnection, w: LinuxReceiveWindow, sample: number, windowBased: boolean): void {
  if (w.rtt8 === 0 || sample * 8 < w.rtt8) w.rtt8 = sample * 8;
  else if (!windowBased && connection.receiveQueueBytes === 0) w.rtt8 += sample - w.rtt8 / 8;
}

/**
 * tcp_rcv_rtt_measure, for in-order data. Linux 6.18 differs in two ways, kept here because the
 * replayed fixtures get worse with Linux's (docs/replay.md, "Linux 6.18's receiver read again"):
 * it starts a measurement for rcv_nxt + rcv_wnd (past the advertised edge by what came since
 * rcv_wup), not the edge, and it ends one on RCV.NXT just past this segment, before
 * tcp_ofo_queue moves held data behind it in, where this takes RCV.NXT after a filled hole.
 */
function measureRttByWindow(connection: TcpConnection, w: LinuxReceiveWindow, now: number): void {
  if (w.rttStart >= 0) {
    if (seqLt(connection.rcvNxt, w.rttSeq)) return;
    rttSample(connection, w, Math.max(now - w.rttStart, 0.001), true);
  }
  w.rttSeq = connection.rcvAdvertisedEdge;
  w.rttStart = now;
}

/**
 * tcp_rcv_rtt_measure_ts: a full-sized segment echoing a new TSecr measures the time since we
 * sent that TSval, in whole ticks; a zero-tick sample is no sample (Linux 6.16 on).
 */
function measureRttByTimestamp(connection: TcpConnection, w: LinuxReceiveWindow, length: number, tsEcr: number | undefined, now: number): void {
  if (tsEcr === undefined || !connection.timestamps.enabled || tsEcr === w.lastTsEcr) return;
  w.lastTsEcr = tsEcr;
  if (length < w.measuredLength) return;
  const ticks = (connection.timestamps.tsVal(now) - tsEcr) | 0;
  if (ticks > 0) rttSample(connection, w, ticks, false);
}

/** Where the application's reading stands (copied_seq). */
function readSeq(connection: TcpConnection): number {
  return seqSub(connection.rcvNxt, connection.receiveQueueBytes) >>> 0;
}

/**
 * tcp_rcvbuf_grow (Linux 6.16 to 6.18-rc3; 6.18-rc4 adds a slow-start term, not taken:
 * docs/replay.md): the buffer to hold twice what the application read in the last RTT, plus
 * the span held out of order, at most tcp_rmem[2] (`receiveBufferMax`), never for a buffer
 * SO_RCVBUF set; the clamp follows.
 */
function growBuffer(connection: TcpConnection, w: LinuxReceiveWindow): void {
  if (connection.options.receiveBufferLocked) return;
  let window = 2 * w.roundBytes;
  if (connection.assembler.heldBytes > 0) {
    let end = connection.rcvNxt;
    for (const block of connection.assembler.sackBlocks(Number.MAX_SAFE_INTEGER)) if (seqGt(block.rightEdge, end)) end = block.rightEdge;
    window += seqSub(end, connection.rcvNxt);
  }
  const buffer = Math.min(w.spaceFromWindow(window), connection.host.config.receiveBufferMax);
  if (buffer <= connection.receiveBufferSize) return;
  connection.receiveBufferSize = buffer;
  connection.assembler.limitBytes = buffer;
  w.clamp = Math.min(fullWindow(connection, w), largestWindow(connection));
}

/**
 * The application read data: autotune the buffer once per receiver RTT from what it read in
 * that RTT, less what it left unread (tcp_rcv_space_adjust, tcp_moderate_rcvbuf on). Linux
 * adjusts after each buffer a read copies (tcp_recvmsg_locked), not once per read, so the
 * first buffer of a read decides: the RTT has passed, what it read in the round is set against
 * all still queued behind that buffer, and the round restarts there — so a read that takes
 * much of a long queue at once grows nothing, where one that keeps up grows the buffer. A
 * buffer here is one segment (our receive-MSS estimate); the rest of the read then falls
 * inside the new round.
 */
export function linuxDataRead(connection: TcpConnection, readAt: number): void {
  if (!enabled(connection)) return;
  const w = state(connection);
  const nowRead = readSeq(connection);
  const readBefore = w.roundStart < 0 ? nowRead : w.lastReadSeq;
  w.lastReadSeq = nowRead;
  // The round's clock is tcp_mstamp, which tcp_rcv_space_adjust does not refresh ("We do not
  // refresh tp->tcp_mstamp here"): for a receiver, when its last segment came in, not the read.
  // That is Linux 6.19's; 6.18 refreshes it (the read's time), which the replayed fixtures fit
  // worse (docs/replay.md, the reads inference table).
  const now = w.lastSegmentAt >= 0 ? w.lastSegmentAt : readAt;
  if (w.roundStart < 0 || w.rtt8 === 0 || now - w.roundStart < w.rtt8 / 8) return;
  // Where reading stood after the first buffer of this read, and what was queued behind it.
  const firstBuffer = Math.min(seqSub(nowRead, readBefore), Math.max(1, w.measuredLength));
  const readAfterFirst = (readBefore + firstBuffer) >>> 0;
  const queuedBehind = connection.receiveQueueBytes + seqSub(nowRead, readAfterFirst);
  const copied = seqSub(readAfterFirst, w.roundSeq) - queuedBehind;
  if (copied > w.roundBytes) {
    w.roundBytes = copied;
    growBuffer(connection, w);
  }
  w.roundSeq = readAfterFirst;
  w.roundStart = now;
}

/**
 * The window to offer in bytes (__tcp_select_window with tcp_select_window's rule that the
 * window still open is never withdrawn), or null when the model is off. `quickAcks.remaining`
 * is cleared when under half the full window is free, as Linux clears icsk_ack.quick there.
 */
export function linuxWindow(connection: TcpConnection): number | null {
  if (!enabled(connection)) return null;
  const w = state(connection);
  const unit = 2 ** connection.rcvWindowShift;
  const current = Math.max(0, seqSub(connection.rcvAdvertisedEdge, connection.rcvNxt));
  const keep = Math.ceil(current / unit) * unit;
  const allowed = fullWindow(connection, w);
  const full = Math.min(w.clamp || allowed, allowed);
  let mss = w.measuredLength || connection.advertisedMss || connection.sendMss;
  if (mss > full) mss = full;
  if (mss <= 0) return keep;
  let free = freeWindow(connection, w);
  if (free < full >> 1) {
    connection.quickAcks.remaining = 0;
    free -= free % unit;
    if (free < allowed >> 4 || free < mss) return keep;
  }
  if (w.threshold > 0 && free > w.threshold) free = w.threshold;
  const window = Math.min(Math.ceil(free / unit) * unit, largestWindow(connection));
  return Math.max(window, keep);
}

/**
 * For a window update after a read (__tcp_cleanup_rbuf): the clamp and the window
 * __tcp_select_window would offer, or null when the model is off.
 */
export function linuxWindowUpdateBounds(connection: TcpConnection): { clamp: number; window: number } | null {
  if (!enabled(connection)) return null;
  const w = state(connection);
  const saved = connection.quickAcks.remaining;
  const edge = connection.rcvAdvertisedEdge;
  connection.rcvAdvertisedEdge = connection.rcvNxt; // the window alone, without the one still open
  const window = linuxWindow(connection) ?? 0;
  connection.rcvAdvertisedEdge = edge;
  connection.quickAcks.remaining = saved;
  return { clamp: w.clamp, window };
}
