/**
 * When the host's application read, and how much, inferred from the window the host advertised
 * (`inferReads`). A capture does not show reads, but a receiver whose window follows its free
 * buffer shows them: RFC 9293 §3.8.6 has the window be what the receiver "is currently prepared
 * to accept", so data left unread shrinks it and a read opens it again. With Linux's window
 * (TcpConfig.receiveWindowGrowth 'linux', src/tcp/receive-window.ts) the window is the smaller of
 * a threshold that grows with the data (rcv_ssthresh) and the free buffer's worth of window,
 *
 *   free = F − (unread + held out of order) × k,
 *
 * where F is the whole buffer's window (tcp_full_space) and k what a byte of queued data costs in
 * window (its truesize share at the scaling ratio, about 1). So each advertised window bounds what
 * was still unread from above,
 *
 *   unread ≤ (F − window) / k − held,
 *
 * which is exact while the free space is what limits the window, and a bound while the threshold
 * does. Under half of F Linux rounds the free window down to the scale, so the window is the
 * free memory to within a unit, and there the bound is taken from the accounting in whole
 * buffers (queuedWithin) rather than from k. The application here reads lazily: nothing until the bound forces a read, and then just
 * enough to meet it — a jump of the right edge (RCV.NXT + window) beyond what the queue explains.
 * A reader that reads more than the capture shows keeps its buffer free, so the threshold grows
 * where the host's stood still, and every growth is an immediate ACK the host did not send
 * (docs/replay.md, "Why receive-window and ack-policy stay with Linux's defaults").
 *
 * F is not on the wire. It starts as the initial buffer's window (`receiveBufferSize` at the
 * scaling ratio the host's segment size gives) and autotuning only grows it; no window exceeds
 * it, so F is taken as the largest window seen if that is more. (Not the window plus what was
 * held out of order: Linux merges adjacent queued segments into one buffer, tcp_try_coalesce and
 * tcp_ooo_try_coalesce, so held data costs it less than one buffer per segment, and that bound
 * would run ahead of the buffer.) While the host's windows set new highs this reads everything
 * delivered, as a reader keeping up does.
 *
 * Each read is placed just before the peer's segment that the host's ACK answers (its
 * acknowledgement, or for a duplicate its first SACK block, RFC 2018 §4: the most recent), since
 * ustack answers a segment when it arrives while the host's ACK left a little later; a window
 * update (the same acknowledgement and blocks, a larger window) is a read at its own time, or
 * just before the first segment that reached the tap before it and that it does not cover (the
 * host had not taken that one in when its read sent the update). A read takes no more than had
 * been delivered then. Before a close or shutdown the application reads
 * what is left, as pcap2drill's plan does (close() with unread data resets, RFC 9293 §3.6).
 *
 * Only an ACK whose bound rises above every bound shown before it shows a read: an application
 * that reads in chunks makes few reads, and a later ACK repeating a bound (or a lower one) says
 * nothing new about it. When a read falls short of its bound because less had arrived by the
 * segment it is placed before (the host's reader ran after that segment, before its ACK; placing
 * such reads at the ACK fits sll.pcap but not raw.pcap's relay, docs/replay.md), the rest is read
 * when a higher bound shows, not at the next ACK that repeats the old one. The reads are then taken in the
 * order of their times, not of the ACKs that showed them (an ACK answering an earlier segment
 * places its read before a read shown earlier).
 */
import { seqSub } from '../tcp/seq.js';
import { TcpFlag } from '../tcp/tcp-packet.js';
import type { IpAddress } from '../ip/ip-address.js';
import type { CapturedSegment, ConversationPlan } from '../drill/pcap-to-script.js';
import type { TimedCall } from './application.js';

/** What the host's receive buffer is taken to be (Linux's tcp_rmem[1] and truesize overhead). */
export interface ReceiveBufferModel {
  /** The initial receive buffer in memory bytes (TcpConfig.receiveBufferSize, tcp_rmem[1]). */
  readonly receiveBufferSize: number;
  /** Memory a queued segment costs beyond its payload (TcpConfig.receiveSegmentOverhead). */
  readonly receiveSegmentOverhead: number;
  /** The same for a segment longer than the peer may send: one offloaded buffer (TcpConfig.receiveOffloadOverhead). */
  readonly receiveOffloadOverhead: number;
}

/** One read the host's application is inferred to have made. */
export interface InferredRead extends TimedCall {
  /** The host's segment whose window showed it (0 for the read before a close or shutdown). */
  readonly shownBy: number;
}

/** The window a byte of buffer memory is worth, per 256 (TCP_RMEM_TO_WIN_SCALE). */
const RATIO_ONE = 256;
/** The largest scaling ratio (an u8 in Linux's tcp_sock). */
const RATIO_MAX = 255;
/** Linux's TCPOLEN_TSTAMP_ALIGNED: the room a segment loses to the timestamp option. */
const TIMESTAMP_OPTION_BYTES = 12;

/**
 * An ACK captured this much later than the host answers at once was held (ms): more than the
 * capture's jitter, less than any delayed-ACK timer (Linux's is at least 40 ms, TCP_DELACK_MIN).
 */
const HELD_ACK_MS = 1;

/** One data segment of the peer that reached the host, in capture order. */
interface Arrival {
  readonly segment: CapturedSegment<IpAddress>;
  /** Relative sequence range (1 is the first data byte). */
  readonly start: number;
  readonly end: number;
  /** The in-order data delivered before it arrived (relative sequence number past it, less 1). */
  readonly deliveredBefore: number;
  /** The same after it, and the data held out of order then. */
  readonly deliveredAfter: number;
  readonly heldAfter: ReadonlyArray<{ readonly start: number; readonly end: number }>;
  /** The capture frame before it in the plan (a call placed before it follows that frame). */
  readonly previousFrame: number;
}

/**
 * The most bytes a receiver with `memory` bytes of buffer can hold queued (unread, or held out of
 * order) and still offer `window`: a window is the free memory × `ratio` / 256
 * (tcp_win_from_space), and each queued segment of `segment` bytes costs `overhead` more, a part
 * of one too (Linux frees a buffer only once all of it is read, tcp_eat_recv_skb;
 * src/tcp/receive-window.ts charges the queue the same way).
 */
export function queuedWithin(memory: number, window: number, ratio: number, segment: number, overhead: number): number {
  const used = memory - Math.ceil((window * RATIO_ONE) / ratio);
  if (used <= 0) return 0;
  const whole = Math.floor(used / (segment + overhead));
  return whole * segment + Math.max(0, used - whole * (segment + overhead) - overhead);
}

/**
 * The first of `arrived` (in capture order) after the last one an ACK of `ack` with SACK `blocks`
 * covers, when that one is not the last: a segment the host had not taken in when it sent the ACK.
 */
function firstUncovered(arrived: readonly Arrival[], ack: number, blocks: ReadonlyArray<{ start: number; end: number }>): Arrival | undefined {
  const covered = (a: Arrival) => a.end <= ack || blocks.some((b) => a.start >= b.start && a.end <= b.end);
  let last = -1;
  arrived.forEach((a, i) => {
    if (covered(a)) last = i;
  });
  return last >= 0 ? arrived[last + 1] : undefined;
}

/**
 * The reads of the host's application in `plan`, from its advertised windows (see above), as
 * calls at their times (ms after `originMs`); `lost` are the peer's segments that never reached
 * the host (lostBeforeHost). Empty when the host received no data.
 */
export function inferReads<A extends IpAddress>(
  plan: ConversationPlan<A>,
  lost: ReadonlySet<CapturedSegment<A>>,
  model: ReceiveBufferModel,
  originMs: number,
): InferredRead[] {
  const segments = plan.steps.flatMap((step) => (step.kind === 'segment' ? [step] : []));
  // The host's window scale applies when both SYNs carried the option (RFC 7323 §2.2).
  const scaleOf = (outbound: boolean) =>
    segments
      .filter((s) => s.outbound === outbound && (s.segment.tcp.flags & TcpFlag.SYN) !== 0)
      .flatMap((s) => s.segment.tcp.options.flatMap((o) => (o.kind === 'windowScale' ? [Math.min(o.shiftCount, 14)] : [])))[0];
  const hostShift = scaleOf(true);
  const shift = hostShift !== undefined && scaleOf(false) !== undefined ? hostShift : 0;
  // The longest segment the peer may send: the host's MSS, less the timestamp option when both
  // SYNs carried it (RFC 7323 §3.2); without an MSS option, the longest the peer sent.
  const synOptions = (outbound: boolean) =>
    segments.filter((s) => s.outbound === outbound && (s.segment.tcp.flags & TcpFlag.SYN) !== 0).flatMap((s) => s.segment.tcp.options);
  const hostMss = synOptions(true).flatMap((o) => (o.kind === 'maxSegmentSize' ? [o.mss] : []))[0];
  const timestamps = synOptions(true).some((o) => o.kind === 'timestamps') && synOptions(false).some((o) => o.kind === 'timestamps');
  const lengths = segments.filter((s) => !s.outbound).map((s) => s.segment.tcp.payload.length);
  const peerSegment = hostMss !== undefined ? hostMss - (timestamps ? TIMESTAMP_OPTION_BYTES : 0) : Math.max(1, ...lengths);
  // tcp_measure_rcv_mss: the scaling ratio of the first full segment, payload × 256 / truesize;
  // a longer one is an offloaded buffer, charged once (src/tcp/receive-window.ts).
  const mss = Math.max(1, lengths.find((length) => length >= peerSegment) ?? Math.max(1, ...lengths));
  const overhead = mss > peerSegment ? model.receiveOffloadOverhead : model.receiveSegmentOverhead;
  const ratio = Math.min(RATIO_MAX, Math.floor((mss * RATIO_ONE) / (mss + overhead)));
  const bytesPerByte = ((mss + overhead) / mss) * (ratio / RATIO_ONE);
  let fullWindow = Math.floor((model.receiveBufferSize * ratio) / RATIO_ONE);
  let bufferMemory = model.receiveBufferSize; // the memory behind fullWindow

  const relative = (value: number) => seqSub(value, plan.peerIsn);
  const reads: InferredRead[] = [];
  const arrivals: Arrival[] = [];
  const held: Array<{ start: number; end: number }> = [];
  let delivered = 1; // relative sequence number past the in-order data
  let read = 1; // relative sequence number past what the application read
  let previousFrame = 0;
  let shortestLag = Infinity;
  let highestBound = 1; // the highest bound an ACK has shown (relative sequence number)
  const shown: Array<{ target: number; limit: number; atMs: number; afterFrame: number; shownBy: number }> = [];
  let previous: { ack: number; window: number; sack: string; edge: number; kept: boolean } | undefined;

  const take = (arrival: { start: number; end: number }) => {
    held.push({ ...arrival });
    held.sort((a, b) => a.start - b.start);
    // Merged, so data that came twice counts once.
    for (let i = 1; i < held.length; i++) {
      if (held[i].start > held[i - 1].end) continue;
      held[i - 1].end = Math.max(held[i - 1].end, held[i].end);
      held.splice(i--, 1);
    }
    while (held.length > 0 && held[0].start <= delivered) delivered = Math.max(delivered, held.shift()!.end);
  };
  // The script's descriptors: 4 an accepted connection, 3 a connected socket.
  const fd = plan.hostListened ? 4 : 3;
  const readUpTo = (target: number, limit: number, atMs: number, afterFrame: number, shownBy: number) => {
    let end = Math.min(target, limit);
    if (end <= read) return;
    // A segment an offload kept as one buffer is charged whole until it is all read
    // (src/tcp/receive-window.ts), and the window cannot tell a part of it read from none: a
    // read that reaches into one takes all of it, as a reader with a larger buffer does.
    const within = arrivals.find((a) => a.start < end && a.end > end && a.end - a.start > peerSegment);
    if (within && within.end <= limit) end = within.end;
    reads.push({ atMs: atMs - originMs, afterFrame, call: { name: 'read', fd, length: end - read }, shownBy });
    read = end;
  };

  for (const step of plan.steps) {
    if (step.kind === 'call') {
      // What is left is read before the socket is closed or shut (as pcap2drill's plan does).
      if (step.call.name === 'close' || step.call.name === 'shutdown')
        shown.push({ target: delivered, limit: delivered, atMs: step.timeMs, afterFrame: previousFrame, shownBy: 0 });
      continue;
    }
    if (step.kind !== 'segment') continue;
    const { segment, outbound } = step;
    const tcp = segment.tcp;
    if (!outbound) {
      if (tcp.payload.length > 0 && (tcp.flags & TcpFlag.SYN) === 0 && !lost.has(segment)) {
        const start = relative(tcp.seq);
        const range = { start, end: start + tcp.payload.length };
        const deliveredBefore = delivered;
        take(range);
        arrivals.push({ segment, ...range, deliveredBefore, deliveredAfter: delivered, heldAfter: held.map((r) => ({ ...r })), previousFrame });
      }
      previousFrame = segment.frame;
      continue;
    }
    previousFrame = segment.frame;
    if ((tcp.flags & TcpFlag.SYN) !== 0 || (tcp.flags & TcpFlag.ACK) === 0 || (tcp.flags & TcpFlag.RST) !== 0 || arrivals.length === 0) continue;
    const ack = relative(tcp.ack);
    const window = tcp.window * 2 ** shift;
    const blocks = tcp.options.flatMap((o) => (o.kind === 'sack' ? o.blocks.map((b) => ({ start: relative(b.leftEdge), end: relative(b.rightEdge) })) : []));
    const sack = blocks.map((b) => `${b.start}:${b.end}`).join(' ');
    const advanced = previous === undefined || ack > previous.ack;
    const update = !advanced && sack === previous!.sack && window > previous!.window;
    // A kept right edge shows no read. Linux never moves the edge left (tcp_select_window: when
    // the window it computes is smaller than the one still open, it offers that one, rounded up
    // to the scale), so such a window is no larger than the free buffer's and bounds nothing
    // read. It is kept when the edge stayed within a unit and the window shrank (the
    // acknowledgement moved into it), or the ACK before kept it too. The same window at the same
    // edge right after an edge that moved may be the computed one again, the threshold's while
    // out-of-order data comes in (raw.pcap frames 81-101, 78 << 10): its bound stands.
    const edge = ack + window;
    const still = previous !== undefined && edge - previous.edge < 2 ** shift;
    const kept = still && (window < previous!.window || previous!.kept);
    previous = { ack, window, sack, edge, kept };
    // The peer's segment this ACK answers: one that moved the acknowledgement, the one that brought
    // delivery up to it; a duplicate, the one in its first SACK block (RFC 2018 §4: the most
    // recent); else the last one that arrived. (A window update answers none.)
    const arrived = arrivals.filter((a) => a.segment.timeMs <= segment.timeMs);
    const inFirstBlock = blocks.length > 0 ? arrived.findLast((a) => a.start >= blocks[0].start && a.end <= blocks[0].end) : undefined;
    const answered = update
      ? arrived[arrived.length - 1]
      : ((advanced ? arrived.findLast((a) => a.deliveredBefore < ack && a.deliveredAfter === ack) : undefined) ?? inFirstBlock ?? arrived[arrived.length - 1]);
    if (!answered) continue;
    // What the host held out of order when it sent this ACK: what had arrived by the segment it answers.
    const outOfOrder = answered.heldAfter.reduce((sum, range) => sum + Math.max(0, range.end - Math.max(range.start, ack)), 0);
    // No window is larger than the whole buffer's: a larger one shows the buffer grew.
    if (window > fullWindow) {
      fullWindow = window;
      bufferMemory = Math.ceil((window * RATIO_ONE) / ratio);
    }
    // The most the host can have left unread, and so the least it had read by now. Under half the
    // whole buffer's window Linux offers its free window rounded down to the scale
    // (__tcp_select_window), so the free window is at least the window (within a unit of it
    // while the threshold is above), and memory is charged in whole buffers: the bound inverts
    // the accounting the replayed model charges (queuedWithin). Above half the window is the
    // smaller of the free window and the threshold rounded up, no lower bound of the free
    // window; it is read linearly, a byte of queue costing its share of a segment's truesize.
    const exact = window > 0 && window < fullWindow >> 1 && mss <= peerSegment;
    const queued = exact ? queuedWithin(bufferMemory, window, ratio, mss, overhead) : Math.floor((fullWindow - window) / bytesPerByte);
    const unread = Math.max(0, queued - outOfOrder);
    const target = ack - unread;
    if (kept || target <= highestBound) continue;
    highestBound = target;
    // How long after the segment it answers the ACK was captured: the path from the tap to the
    // host and back (the least such lag), or more when the host held the ACK (delayed, RFC 9293
    // §3.8.6.3) until something sent it — a read, as Linux's tcp_cleanup_rbuf sends a held ACK.
    const lag = segment.timeMs - answered.segment.timeMs;
    if (!update) shortestLag = Math.min(shortestLag, lag);
    // A window update is sent by the read itself (tcp_cleanup_rbuf), and what it acknowledges
    // and SACKs is what the host had taken in by then: a segment that reached the tap before it
    // and that it does not cover came in while the reader held the socket (tcp_add_backlog,
    // taken in at release_sock) or had not been processed yet. The read goes before the first
    // such segment, so that ustack's update, like the host's, comes before it.
    const unseen = update ? firstUncovered(arrived, ack, blocks) : undefined;
    if (unseen)
      shown.push({
        target,
        limit: Math.min(unseen.deliveredBefore, ack),
        atMs: unseen.segment.timeMs,
        afterFrame: unseen.previousFrame,
        shownBy: segment.frame,
      });
    else if (update || lag - shortestLag > HELD_ACK_MS)
      shown.push({ target, limit: Math.min(answered.deliveredAfter, ack), atMs: segment.timeMs, afterFrame: previousFrame, shownBy: segment.frame });
    else shown.push({ target, limit: answered.deliveredBefore, atMs: answered.segment.timeMs, afterFrame: answered.previousFrame, shownBy: segment.frame });
  }
  // Stable: reads at the same moment stay in the order of the ACKs that showed them.
  shown.sort((a, b) => a.atMs - b.atMs || a.afterFrame - b.afterFrame);
  for (const { target, limit, atMs, afterFrame, shownBy } of shown) readUpTo(target, limit, atMs, afterFrame, shownBy);
  return reads;
}
