/**
 * TIME-WAIT as a compact record (RFC 9293 §3.10.7.4, §3.10.8): once a connection enters
 * TIME-WAIT, everything was sent and acknowledged both ways, and all that is left to do for
 * 2·MSL is to acknowledge a retransmitted FIN, answer what else arrives, keep old duplicates
 * out (PAWS, RFC 7323 §5) and let a newer SYN take the 4-tuple (RFC 6191). The TCP layer
 * (tcp-layer.ts) then replaces the connection in its demultiplexing with a TimeWaitRecord that
 * holds only what those rules read — as Linux's inet_timewait_sock replaces the socket — so a
 * million TIME-WAIT entries cost their records, not a million connections.
 *
 * What a record answers is what the whole connection answered in TIME-WAIT (input.ts's steps
 * for that state, in the RFC's order), a D-SACK block (RFC 2883 §4) on the ACK of a duplicate
 * included (Linux's tcp_timewait_state_process sends none; RFC 2883 asks for it and it costs a
 * flag), but no ECN echo: RFC 3168 §6.1.3 echoes congestion to a sender that still sends data.
 *
 * RSTs in TIME-WAIT are ignored, as RFC 1337 §3 (fix F1) asks, against "TIME-WAIT
 * assassination". Linux's default differs: net.ipv4.tcp_rfc1337 = 0 lets an acceptable RST
 * end the TIME-WAIT at once (tcp_timewait_state_process's "kill"); RFC 1337 is the RFC, and the
 * hazard it names (an old duplicate RST ending the wait early, letting a new incarnation meet
 * the old one's segments) is real, so ustack keeps the RFC's rule.
 */
import { NO_BYTES } from '../core/bytes.js';
import type { Counter, Stats } from '../core/stats.js';
import type { ErrnoCode } from '../core/errno.js';
import type { IpAddress } from '../ip/ip-address.js';
import { answerIsRateLimited, InvalidSegmentAckLimit } from './ack-rate-limits.js';
import type { TcpConfig } from './config.js';
import type { TcpConnection, TcpConnectionOptions, TcpState } from './connection.js';
import { sequenceAcceptable } from './input.js';
import { has, type Segment } from './segment.js';
import { seqAdd, seqGe, seqGt, seqInWindow, seqLe, seqLt } from './seq.js';
import type { ChallengeAckReason, TcpCounterName } from './tcp-counters.js';
import type { SackBlock, TcpOption } from './tcp-options.js';
import { TcpFlag, type TcpRepr } from './tcp-packet.js';
import { pawsRejects } from './timestamps.js';

/** No-Operation, padding the timestamps option to 32 bits; shared, as options are never changed. */
const NO_OPERATION: TcpOption = Object.freeze({ kind: 'noOperation' });

/** TimeWaitRecord's flags. */
const TIMESTAMPS = 1;
const SACK = 2;
const ENDED = 4;

/** What the records need from the TCP layer that owns them. */
export interface TimeWaitHost {
  readonly config: TcpConfig;
  readonly stats: Stats<TcpCounterName>;
  /** `tcp.tx.segments`, counted for every segment a record sends. */
  readonly counters: { readonly txSegments: Counter };
  /** Stack-wide challenge-ACK ceiling (RFC 5961 §7), after the record's own limit. */
  challengeAckAllowed(now: number): boolean;
  /** Hands a segment of the record's 4-tuple to IP, with the connection's IP_TTL, IP_TOS and DF. */
  transmitTimeWait(record: TimeWaitRecord, segment: TcpRepr): void;
}

/**
 * One connection in TIME-WAIT: its 4-tuple and family (IPv4's numbers or IPv6's text), SND.NXT,
 * RCV.NXT, the window, TS.Recent and its age, the 2·MSL deadline, and the limit on answers to
 * invalid segments — what RFC 9293 §3.10.7.4, RFC 7323 (PAWS), RFC 6191 (reuse) and RFC 5961
 * (challenge ACKs) read in this state, and nothing made for moving data.
 */
export class TimeWaitRecord {
  // Sequence numbers kept as int32 and read as uint32 (a V8 small integer each, as in connection.ts).
  #sndNxt: number;
  #rcvNxt: number;
  #tsRecent: number;
  /** The deadline: 2·MSL after entry, restarted by a retransmitted FIN (RFC 9293 §3.10.7.4). */
  deadline: number;
  /** When TS.Recent was last set, for RFC 7323 §5.5's 24 days. */
  tsRecentSetAt: number;
  /** The limit on answers to invalid segments (ack-rate-limits.ts); made at the first answer, fresh at entry as Linux's tw_last_oow_ack_time. */
  #answers: InvalidSegmentAckLimit | null = null;
  /** The connection, while someone listens for its end (an onClose callback): told when the record ends. */
  owner: TcpConnection | null;
  /** TIMESTAMPS, SACK and ENDED, in one small integer (a field each would cost a pointer-sized slot). */
  #flags: number;
  /** Neighbours in the table's expiry list, earliest deadline first. */
  previous: TimeWaitRecord | null = null;
  next: TimeWaitRecord | null = null;

  /** Our timestamp clock's offset (RFC 7323 §5.4), as int32. */
  #tsOffset: number;

  private constructor(
    /** The 4-tuple, kept once: as the table's key (connection.ts's connectionKey), read back by the getters below. */
    readonly key: string,
    sndNxt: number,
    rcvNxt: number,
    /** The window RFC 9293 §3.10.7.4's acceptability test uses, in bytes (input.ts's receiveWindow). */
    readonly window: number,
    /** The window field of the connection's last ACK: what every ACK from here carries (Linux's tw_rcv_wnd). */
    readonly windowField: number,
    /** MAX.SND.WND (RFC 5961 §5.2): how far below SND.UNA (= SND.NXT here) an ACK may be. */
    readonly maxSndWnd: number,
    timestamps: boolean,
    sack: boolean,
    tsOffset: number,
    tsRecent: number,
    tsRecentSetAt: number,
    /** The connection's socket options (shared with every connection that changed none): IP_TTL, IP_TOS, DF. */
    readonly options: Readonly<TcpConnectionOptions>,
    /**
     * The IPv6 flow label the connection last sent with (RFC 6437 §3: one label per flow), or
     * −1 (IPv4, or none yet): the record's ACKs keep it, as Linux's tw_flowlabel.
     */
    readonly flowLabel: number,
    deadline: number,
    owner: TcpConnection | null,
  ) {
    this.#sndNxt = sndNxt | 0;
    this.#rcvNxt = rcvNxt | 0;
    this.#tsRecent = tsRecent | 0;
    this.#tsOffset = tsOffset | 0;
    this.#flags = (timestamps ? TIMESTAMPS : 0) | (sack ? SACK : 0);
    this.tsRecentSetAt = tsRecentSetAt;
    this.deadline = deadline;
    this.owner = owner;
  }

  /**
   * The record of a connection that has just entered TIME-WAIT and sent its last ACK (its
   * Last.ACK.sent is RCV.NXT from here on). The connection is kept only while an onClose
   * callback waits for its end (a socket clears its callbacks when closed, berkeley.ts and
   * tcp-handle.ts): otherwise nobody is told, and all it held can go at once, as Linux frees
   * the socket of an orphan that enters TIME-WAIT.
   */
  static of(connection: TcpConnection, deadline: number): TimeWaitRecord {
    const config = connection.host.config;
    const advertised = Math.max(0, (connection.rcvAdvertisedEdge - connection.rcvNxt) | 0);
    const window = config.receiveWindow === 'advertised' ? advertised : Math.max(advertised, connection.receiveWindowSpace());
    const ts = connection.timestamps;
    return new TimeWaitRecord(
      connection.key,
      connection.sndNxt,
      connection.rcvNxt,
      window,
      connection.info.receiveWindow >>> connection.rcvWindowShift,
      connection.maxSndWnd,
      ts.enabled,
      connection.sackEnabled,
      ts.offset,
      ts.recent,
      ts.recentSetAt,
      connection.options,
      connection.flowLabel,
      deadline,
      connection.eventsOrNull?.onClose === undefined ? null : connection,
    );
  }

  /** SND.NXT: our FIN's sequence number plus one. */
  get sndNxt(): number {
    return this.#sndNxt >>> 0;
  }

  /** RCV.NXT: the peer's FIN's sequence number plus one. */
  get rcvNxt(): number {
    return this.#rcvNxt >>> 0;
  }

  /** TS.Recent (RFC 7323 §4.3): what our TSecr echoes, and what PAWS compares with. */
  get tsRecent(): number {
    return this.#tsRecent >>> 0;
  }

  /** The Timestamps option was negotiated (RFC 7323 §3.2): every segment carries it. */
  get timestamps(): boolean {
    return (this.#flags & TIMESTAMPS) !== 0;
  }

  /** SACK was negotiated (RFC 2018): the ACK of a duplicate carries a D-SACK block (RFC 2883). */
  get sack(): boolean {
    return (this.#flags & SACK) !== 0;
  }

  /** Ended: expired, reopened by a SYN, reset or aborted, and out of the table. */
  get ended(): boolean {
    return (this.#flags & ENDED) !== 0;
  }

  /** Marks the record ended (TimeWaitTable.remove). */
  markEnded(): void {
    this.#flags |= ENDED;
  }

  /** TIME-WAIT until it ends, then CLOSED. */
  get state(): TcpState {
    return this.ended ? 'CLOSED' : 'TIME-WAIT';
  }

  /** This end's address: IPv4's number (the key's first two 16-bit units) or IPv6's text (its first field). */
  get localAddress(): IpAddress {
    const key = this.key;
    return key.length === 6 ? ((key.charCodeAt(0) << 16) | key.charCodeAt(1)) >>> 0 : key.split('|')[0];
  }

  get localPort(): number {
    const key = this.key;
    return key.length === 6 ? key.charCodeAt(2) : Number(key.split('|')[1]);
  }

  /** The peer's address, of the same family. */
  get remoteAddress(): IpAddress {
    const key = this.key;
    return key.length === 6 ? ((key.charCodeAt(3) << 16) | key.charCodeAt(4)) >>> 0 : key.split('|')[2];
  }

  get remotePort(): number {
    const key = this.key;
    return key.length === 6 ? key.charCodeAt(5) : Number(key.split('|')[3]);
  }

  /** Our TSval at `now` (RFC 7323 §5.4: milliseconds from the connection's random offset). */
  tsVal(now: number): number {
    return (Math.floor(now) + this.#tsOffset) >>> 0;
  }

  /**
   * RFC 6191 §2 (Linux's tcp_timewait_state_process): a SYN may take the 4-tuple when it is
   * newer than the old connection — by its timestamp when both use them, else by a sequence
   * number above RCV.NXT.
   */
  synMayReopen(segment: Segment): boolean {
    const ts = segment.parsed.timestamps;
    if (this.timestamps && ts) return seqGt(ts.tsVal, this.tsRecent);
    return seqGt(segment.seq, this.rcvNxt);
  }

  /** The ISS of a connection that reopens the 4-tuple: beyond anything the old one sent (RFC 6191 §2, as Linux: SND.NXT + 65535 + 2). */
  get reopeningIss(): number {
    return seqAdd(this.sndNxt, 65535 + 2);
  }

  /** PAWS (RFC 7323 §5.3): a TSval older than TS.Recent marks an old duplicate, unless TS.Recent is older than 24 days (§5.5). */
  pawsRejects(tsVal: number, now: number): boolean {
    return pawsRejects(tsVal, this.tsRecent, this.tsRecentSetAt, now);
  }

  /** RFC 7323 §4.3: an acceptable segment at or before Last.ACK.sent (RCV.NXT) updates TS.Recent if not older. */
  segmentAccepted(seq: number, tsVal: number, now: number): void {
    if (seqLe(seq, this.rcvNxt) && seqGe(tsVal, this.tsRecent)) {
      this.#tsRecent = tsVal | 0;
      this.tsRecentSetAt = now;
    }
  }

  /** Whether an answer to an invalid segment may go at `now` (one per `intervalMs`); if so it counts as sent. */
  answerAllowed(now: number, intervalMs: number): boolean {
    this.#answers ??= new InvalidSegmentAckLimit();
    return this.#answers.allow(now, intervalMs);
  }
}

/**
 * How many records hold each local address on one port: one address and its count (the usual
 * case: a port is used from one address), a Map for any others.
 */
class PortHolders {
  count = 1;
  others: Map<IpAddress, number> | null = null;

  constructor(public address: IpAddress) {}

  add(address: IpAddress): void {
    if (address === this.address) this.count++;
    else {
      this.others ??= new Map();
      this.others.set(address, (this.others.get(address) ?? 0) + 1);
    }
  }

  /** Takes one record at `address` away; true when none is left on the port. */
  remove(address: IpAddress): boolean {
    if (address === this.address) this.count--;
    else if (this.others !== null) {
      const left = (this.others.get(address) ?? 1) - 1;
      if (left > 0) this.others.set(address, left);
      else this.others.delete(address);
    }
    if (this.count === 0 && this.others !== null && this.others.size > 0) {
      // Another address takes the first place.
      const [address, count] = this.others.entries().next().value!;
      this.others.delete(address);
      this.address = address;
      this.count = count;
    }
    return this.count === 0 && (this.others === null || this.others.size === 0);
  }
}

/**
 * The TCP layer's TIME-WAIT records: by 4-tuple key (the demultiplexing), by local port and
 * address (bind conflicts and RFC 6056's port choice), and in a list by deadline (expiry; a
 * record whose deadline restarts moves to the end, so the list stays sorted as long as the
 * 2·MSL setting does, and a changed setting places a record by walking back from the end).
 */
export class TimeWaitTable {
  readonly #records = new Map<string, TimeWaitRecord>();
  /** The local addresses records hold, per local port: the record itself while it is alone there (as an ephemeral port's usually is). */
  readonly #byPort = new Map<number, TimeWaitRecord | PortHolders>();
  #first: TimeWaitRecord | null = null;
  #last: TimeWaitRecord | null = null;

  constructor(private readonly host: TimeWaitHost) {}

  /** Records in the table. */
  get size(): number {
    return this.#records.size;
  }

  /** The record of a 4-tuple key (connection.ts's connectionKey), if in TIME-WAIT. */
  get(key: string): TimeWaitRecord | undefined {
    return this.#records.get(key);
  }

  /** Whether a 4-tuple key is in TIME-WAIT. */
  has(key: string): boolean {
    return this.#records.has(key);
  }

  /** Every record, in no particular order. */
  values(): IterableIterator<TimeWaitRecord> {
    return this.#records.values();
  }

  /** Whether a record holds `port` at an address `overlaps` says clashes. */
  portUsed(port: number, overlaps: (address: IpAddress) => boolean): boolean {
    const holders = this.#byPort.get(port);
    if (holders === undefined) return false;
    if (holders instanceof TimeWaitRecord) return overlaps(holders.localAddress);
    if (overlaps(holders.address)) return true;
    if (holders.others !== null) for (const address of holders.others.keys()) if (overlaps(address)) return true;
    return false;
  }

  /** The earliest deadline, or Infinity. */
  get nextDeadline(): number {
    return this.#first?.deadline ?? Infinity;
  }

  /** Adds a record (its 4-tuple must not be in the table). */
  add(record: TimeWaitRecord): void {
    this.#records.set(record.key, record);
    const port = record.localPort;
    const holders = this.#byPort.get(port);
    if (holders === undefined) this.#byPort.set(port, record);
    else if (holders instanceof PortHolders) holders.add(record.localAddress);
    else {
      const both = new PortHolders(holders.localAddress);
      both.add(record.localAddress);
      this.#byPort.set(port, both);
    }
    this.#link(record);
  }

  /** Takes a record out of the table, ended; nothing is sent and no counter moves. */
  remove(record: TimeWaitRecord): void {
    if (record.ended) return;
    record.markEnded();
    this.#records.delete(record.key);
    const port = record.localPort;
    const holders = this.#byPort.get(port);
    if (holders === record || (holders instanceof PortHolders && holders.remove(record.localAddress))) this.#byPort.delete(port);
    this.#unlink(record);
  }

  /**
   * Ends a record (RFC 9293 §3.10.8 deletes the TCB): out of the table, and the connection, if
   * its socket still holds it, closes with `error`; otherwise the transition is counted here.
   */
  end(record: TimeWaitRecord, error: ErrnoCode | null): void {
    if (record.ended) return;
    this.remove(record);
    const owner = record.owner;
    record.owner = null;
    if (owner !== null) owner.closeWithError(error);
    else this.host.stats.increment('tcp.state.CLOSED');
  }

  /** 2·MSL passed (RFC 9293 §3.10.8): the records due at `now` end, earliest first. */
  expire(now: number): void {
    for (let record = this.#first; record !== null && record.deadline <= now; record = this.#first) {
      this.host.stats.increment('tcp.timeWait.expired');
      this.end(record, null);
    }
  }

  /** Restarts a record's 2·MSL (a retransmitted FIN, RFC 9293 §3.10.7.4). */
  #restart(record: TimeWaitRecord, now: number): void {
    this.#unlink(record);
    record.deadline = now + this.host.config.timeWaitMs;
    this.#link(record);
  }

  /** Puts a record into the expiry list after the last one due no later. */
  #link(record: TimeWaitRecord): void {
    let before = this.#last;
    while (before !== null && before.deadline > record.deadline) before = before.previous;
    record.previous = before;
    record.next = before === null ? this.#first : before.next;
    if (record.next !== null) record.next.previous = record;
    else this.#last = record;
    if (before !== null) before.next = record;
    else this.#first = record;
  }

  #unlink(record: TimeWaitRecord): void {
    if (record.previous !== null) record.previous.next = record.next;
    else if (this.#first === record) this.#first = record.next;
    if (record.next !== null) record.next.previous = record.previous;
    else if (this.#last === record) this.#last = record.previous;
    record.previous = null;
    record.next = null;
  }

  // ---- segment arrival: RFC 9293 §3.10.7.4 in TIME-WAIT, in the RFC's order (as input.ts) ----

  /** A segment for a record's 4-tuple that is not a SYN reopening it (tcp-layer.ts decided that). */
  arrive(record: TimeWaitRecord, segment: Segment, now: number): void {
    const stats = this.host.stats;
    // PAWS (RFC 7323 §5.3): an old duplicate gets an ACK (rate-limited) and is dropped.
    const ts = segment.parsed.timestamps;
    if (record.timestamps && ts && !has.rst(segment) && record.pawsRejects(ts.tsVal, now)) {
      stats.increment('drop.tcp.paws');
      if (this.#mayAnswerInvalid(record, segment, now)) this.#sendAck(record, now);
      return;
    }
    // A SYN is answered "irrespective of the sequence number" (RFC 5961 §4.2, RFC 9293 §3.10.7.4).
    if (has.syn(segment) && !has.rst(segment)) {
      this.#synArrives(record, segment, now);
      return;
    }
    // First: the sequence number check.
    if (!sequenceAcceptable(record.rcvNxt, record.window, segment)) {
      if (has.rst(segment)) {
        stats.increment('drop.tcp.resetOutsideWindow');
        return;
      }
      stats.increment('drop.tcp.outsideWindow');
      if (has.fin(segment)) this.#restart(record, now); // a retransmitted FIN: ACK it and restart 2·MSL
      // A duplicate of what was received is reported with a D-SACK block (RFC 2883 §4).
      const end = seqAdd(segment.seq, segment.len);
      const duplicate = segment.len > 0 && seqLe(end, record.rcvNxt) ? { leftEdge: segment.seq, rightEdge: end } : null;
      if (this.#mayAnswerInvalid(record, segment, now)) this.#sendAck(record, now, duplicate);
      return;
    }
    // Second: RST — ignored in TIME-WAIT (RFC 1337 §3; see the file's comment for Linux's default).
    if (has.rst(segment)) {
      stats.increment('tcp.rx.resetInTimeWaitIgnored');
      return;
    }
    // Fifth: ACK. One for something never sent, or too old (RFC 5961 §5.2), gets a challenge ACK.
    if (!has.ack(segment)) {
      stats.increment('drop.tcp.noAck');
      return;
    }
    if (seqGt(segment.ack, record.sndNxt)) {
      stats.increment('drop.tcp.ackTooNew');
      this.#challengeAck(record, now, 'ackTooNew');
      return;
    }
    if (seqLt(segment.ack, seqAdd(record.sndNxt, -record.maxSndWnd))) {
      stats.increment('drop.tcp.ackTooOld');
      this.#challengeAck(record, now, 'ackTooOld');
      return;
    }
    if (ts && record.timestamps) record.segmentAccepted(segment.seq, ts.tsVal, now);
    // "The only thing that can arrive in this state is a retransmission of the remote FIN.
    // Acknowledge it, and restart the 2 MSL timeout." Anything but a bare repeat of the peer's
    // last ACK is acknowledged; text is ignored (seventh step); a FIN restarts the timeout.
    if ((has.fin(segment) || segment.payload.length > 0 || segment.seq !== record.rcvNxt) && this.#mayAnswerInvalid(record, segment, now)) {
      stats.increment('tcp.timeWait.acknowledged');
      this.#sendAck(record, now);
    }
    if (has.fin(segment)) this.#restart(record, now);
  }

  /** A SYN that does not reopen the 4-tuple: a challenge ACK (RFC 5961 §4.2), or RFC 793's reset for one in the window (TcpConfig.inWindowSyn). */
  #synArrives(record: TimeWaitRecord, segment: Segment, now: number): void {
    if (this.host.config.inWindowSyn === 'challenge-ack') {
      this.#challengeAck(record, now, 'syn');
      return;
    }
    const stats = this.host.stats;
    if (!seqInWindow(segment.seq, record.rcvNxt, record.window)) {
      stats.increment('drop.tcp.outsideWindow');
      this.#sendAck(record, now);
      return;
    }
    stats.increment('tcp.rx.synInWindowReset');
    stats.increment('tcp.tx.resets');
    this.#send(record, TcpFlag.RST | TcpFlag.ACK, 0, []);
    this.end(record, 'ECONNRESET');
  }

  /** A challenge ACK under the record's own limit, then the stack-wide ceiling (RFC 5961 §7; ack-rate-limits.ts). */
  #challengeAck(record: TimeWaitRecord, now: number, reason: ChallengeAckReason): void {
    const stats = this.host.stats;
    if (!record.answerAllowed(now, this.host.config.invalidAckRateLimitMs)) {
      stats.increment('tcp.challengeAck.rateLimited');
      return;
    }
    if (!this.host.challengeAckAllowed(now)) {
      stats.increment('tcp.challengeAck.overCeiling');
      return;
    }
    stats.increment(`tcp.challengeAck.${reason}`);
    this.#sendAck(record, now);
  }

  /**
   * Whether the answer to an unacceptable segment may go: always for one carrying data or a FIN,
   * at most once per TcpConfig.invalidAckRateLimitMs for a pure ACK or a SYN (Linux's
   * tcp_timewait_check_oow_rate_limit).
   */
  #mayAnswerInvalid(record: TimeWaitRecord, segment: Segment, now: number): boolean {
    if (!answerIsRateLimited(segment.len, has.syn(segment))) return true;
    if (record.answerAllowed(now, this.host.config.invalidAckRateLimitMs)) return true;
    this.host.stats.increment('tcp.oowAck.rateLimited');
    return false;
  }

  /**
   * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, with the timestamps option when negotiated (RFC 7323
   * §3.2) and a D-SACK block for a duplicate when SACK was (RFC 2883; TcpConfig.duplicateSack).
   */
  #sendAck(record: TimeWaitRecord, now: number, duplicate: SackBlock | null = null): void {
    const options: TcpOption[] = record.timestamps
      ? [NO_OPERATION, NO_OPERATION, { kind: 'timestamps', tsVal: record.tsVal(now), tsEcr: record.tsRecent }]
      : [];
    if (duplicate !== null && record.sack && this.host.config.duplicateSack) options.push(NO_OPERATION, NO_OPERATION, { kind: 'sack', blocks: [duplicate] });
    this.#send(record, TcpFlag.ACK, record.windowField, options);
  }

  #send(record: TimeWaitRecord, flags: number, window: number, options: TcpOption[]): void {
    this.host.counters.txSegments.increment();
    this.host.transmitTimeWait(record, {
      srcPort: record.localPort,
      dstPort: record.remotePort,
      seq: record.sndNxt,
      ack: record.rcvNxt,
      flags,
      window,
      urgentPointer: 0,
      options,
      payload: NO_BYTES,
    });
  }
}
