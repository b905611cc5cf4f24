/** What TCP counts (tcp-layer.ts and the connection's files; see core/stats.ts). docs/counters.md lists it. */
import { DECODE_REASONS, type DecodeReason } from '../core/decode-error.js';
import { counterFamily, type Counter, type CounterNameOf, type CounterRegistry, type Stats } from '../core/stats.js';
import type { IcmpErrno } from '../ip/icmp-errors.js';
import { ICMP_ERRNOS, IP_SEND_ERRORS } from '../ip/ip-counters.js';
import type { IpSendError } from '../ip/ip-layer.js';
import type { TcpState } from './connection.js';

/** Which check of RFC 5961 a challenge ACK answers: a RST (§3.2), a SYN (§4.2), an ACK out of range (§5.2). */
export type ChallengeAckReason = 'reset' | 'syn' | 'ackTooNew' | 'ackTooOld';

/** What the TCP layer and its connections count. */
export const TCP_COUNTERS = {
  // Segments and connections.
  'tcp.rx.segments': 'segments to a unicast address that the codec accepted',
  'tcp.rx.dataSegments': 'segments whose data, in order or not, went to the receive queue or the reassembly',
  'tcp.rx.headerPredicted': 'segments of ESTABLISHED taken by header prediction: in order, ACK and at most PSH (header-prediction.ts)',
  'tcp.tx.segments': 'segments sent (a segmentation-offload segment counts once)',
  'tcp.tx.dataSegments': 'segments sent carrying new data (retransmissions not included)',
  'tcp.activeOpens': 'connections opened by connect (a SYN sent)',
  'tcp.passiveOpens': "connections a listener's handshake completed, queued for accept",
  'tcp.state.<TcpState>': counterFamily<TcpState>('connections that entered the state (RFC 9293 §3.3.2)', {
    CLOSED: true,
    LISTEN: true,
    'SYN-SENT': true,
    'SYN-RECEIVED': true,
    ESTABLISHED: true,
    'FIN-WAIT-1': true,
    'FIN-WAIT-2': true,
    'CLOSE-WAIT': true,
    CLOSING: true,
    'LAST-ACK': true,
    'TIME-WAIT': true,
  }),

  // Demultiplexing and listeners (tcp-layer.ts).
  'drop.tcp.<DecodeReason>': counterFamily<DecodeReason>('segments the TCP codec refused (tcp-packet.ts)', DECODE_REASONS),
  'tcp.rx.malformedOption': "segments with a malformed option, processed without it (Linux's tcp_parse_options)",
  'drop.tcp.notUnicast': 'segments to a broadcast or multicast address (RFC 1122 §4.2.3.10)',
  'tcp.rx.noConnection': 'segments for no connection and no listener (answered with a RST unless a RST, RFC 9293 §3.10.7.1)',
  'tcp.closedPort.silent': 'of those, left unanswered by TcpConfig.closedPortReset',
  'tcp.tx.resets': 'RSTs sent: to strays, on abort, on keepalive timeout, on data after close',
  'tcp.timeWait.reopened': 'SYNs that reopened a connection in TIME-WAIT (RFC 6191)',
  'drop.tcp.listenReset': 'RSTs to a listener (RFC 9293 §3.10.7.2)',
  'tcp.listen.ackWithoutConnection': 'ACKs to a listener that were not a valid SYN cookie, answered with a RST',
  'drop.tcp.listenNoSyn': 'segments to a listener with none of SYN, ACK, RST',
  'drop.tcp.synFin': 'SYNs with FIN, dropped by TcpConfig.dropSynFin',
  'drop.tcp.listenOverflow': "SYNs, and ACKs with a valid cookie, dropped while the listener's accept queue is full",
  'drop.tcp.synNoRoute': 'SYNs from a source with no route back (no half-open state for them)',
  'drop.tcp.synQueueFull': 'SYNs dropped with the SYN queue full and SYN cookies off',
  'tcp.synQueue.pruned': 'half-open connections that had retransmitted their SYN-ACK, dropped for room in a full SYN queue',
  'tcp.rx.syn': 'SYNs that made a half-open connection in the SYN queue',
  'tcp.rx.synTextQueued': 'SYNs carrying data or FIN, kept for after the handshake (RFC 9293 §3.10.7.2)',
  'tcp.synCookies.sent': 'SYN-ACKs sent with a cookie instead of SYN-queue state (RFC 4987 §3.6)',
  'tcp.synCookies.valid': 'ACKs whose cookie checked out and made a connection',
  'tcp.synCookies.invalid': 'ACKs whose cookie did not check out',
  'tcp.tx.failed.<IpSendError>': counterFamily<IpSendError>('segments IP refused to send, by errno (left to the timers as if lost)', IP_SEND_ERRORS),

  // ICMP errors (RFC 5927, RFC 1191).
  'drop.tcp.icmpQuoteTooShort': 'ICMP errors quoting fewer than the 8 bytes of ports and sequence number',
  'tcp.icmp.noConnection': 'ICMP errors about no connection',
  'drop.tcp.icmpOutOfWindow': 'ICMP errors whose quoted sequence number is outside SND.UNA..SND.NXT (RFC 5927 §4.1)',
  'tcp.icmp.<IcmpErrno>': counterFamily<IcmpErrno>(
    'ICMP errors believed, by the errno they mean (fatal ones abort a handshake, RFC 1122 §4.2.3.9)',
    ICMP_ERRNOS,
  ),
  'tcp.pmtu.mssLowered': 'connections whose MSS a lower path MTU reduced (RFC 1191 §6.3)',

  // SEGMENT ARRIVES (input.ts, RFC 9293 §3.10.7).
  'drop.tcp.synSentBadAck': 'segments in SYN-SENT whose ACK does not cover our SYN (answered with a RST unless a RST)',
  'tcp.rx.resetRefused': 'RSTs in SYN-SENT acknowledging our SYN: connection refused',
  'drop.tcp.synSentResetWithoutAck': 'RSTs in SYN-SENT without an acceptable ACK',
  'drop.tcp.synSentNoSyn': 'segments in SYN-SENT without SYN or RST',
  'tcp.rx.synRetransmitted': 'retransmitted SYNs in SYN-RECEIVED (the SYN-ACK sent again)',
  'drop.tcp.paws': 'segments with a timestamp older than TS.Recent (PAWS, RFC 7323 §5)',
  'drop.tcp.resetOutsideWindow': 'RSTs outside the receive window',
  'tcp.rx.oldSegmentAckRead': 'segments wholly before RCV.NXT whose ACK field was read (TcpConfig.oldSegmentAck)',
  'drop.tcp.outsideWindow': 'segments outside the receive window (acknowledged unless a RST, RFC 9293 §3.10.7.4)',
  'tcp.rx.resetInTimeWaitIgnored': 'RSTs in TIME-WAIT, ignored (RFC 1337)',
  'tcp.rx.resets': 'RSTs accepted: the connection reset',
  'tcp.rx.synInSynReceived': 'SYNs in SYN-RECEIVED of a passive open: back to LISTEN (RFC 9293 §3.10.7.4)',
  'tcp.rx.synInWindowReset': "in-window SYNs in a synchronized state that reset the connection (TcpConfig.inWindowSyn = 'reset', RFC 793's rule)",
  'drop.tcp.noAck': 'segments without ACK in a synchronized state',
  'drop.tcp.synReceivedBadAck': 'ACKs in SYN-RECEIVED outside SND.UNA..SND.NXT (answered with a RST)',
  'drop.tcp.acceptQueueFull': "handshake-completing ACKs dropped while the accept queue is full (Linux's tcp_abort_on_overflow = 0)",
  'drop.tcp.ackTooNew': 'ACKs of data not yet sent (RFC 5961 §5.2)',
  'drop.tcp.ackTooOld': 'ACKs older than SND.UNA minus the largest window (RFC 5961 §5.2)',
  'tcp.challengeAck.<ChallengeAckReason>': counterFamily<ChallengeAckReason>('challenge ACKs sent, by what they answer (RFC 5961 §3.2, §4.2, §5.2)', {
    reset: true,
    syn: true,
    ackTooNew: true,
    ackTooOld: true,
  }),
  'tcp.challengeAck.rateLimited': "challenge ACKs not sent: over the connection's limit (RFC 5961 §7)",
  'tcp.challengeAck.overCeiling': 'challenge ACKs not sent: over the stack-wide ceiling (TcpConfig.challengeAckPerSecond)',
  'tcp.oowAck.rateLimited': "ACKs to out-of-window segments not sent: over the connection's limit (Linux's tcp_oow_rate_limited)",
  'tcp.timeWait.acknowledged': 'segments in TIME-WAIT answered with an ACK',
  'tcp.rx.congestionExperienced': 'segments marked CE by the network (RFC 3168 §6.1.3)',
  'tcp.rx.dataAfterClose': 'new data for a closed socket: the connection reset (RFC 1122 §4.2.2.13)',
  'tcp.rx.urgent': 'segments with URG (RFC 9293 §3.8.5)',
  'tcp.rx.trimmedToWindow': 'segments whose data ran past the receive window, trimmed',
  'drop.tcp.outOfOrderLimit': 'out-of-order data refused: the reassembly was full',
  'tcp.rx.fin': 'FINs received in order',

  // Loss detection and recovery (recovery.ts, rack.ts, frto.ts).
  'tcp.rx.duplicateAcks': 'duplicate ACKs (RFC 5681 §2)',
  'tcp.fastRetransmits': 'fast retransmits at the duplicate-ACK threshold (RFC 5681 §3.2, RFC 6582)',
  'tcp.recovery.sack': 'fast recoveries entered with SACK (RFC 6675)',
  'tcp.recovery.newReno': 'fast recoveries entered without SACK (RFC 6582)',
  'tcp.recovery.partialAck': 'partial ACKs in NewReno recovery: the next hole retransmitted',
  'tcp.recovery.exit': 'fast recoveries ended',
  'tcp.rx.dsack': 'D-SACKs received (RFC 2883)',
  'tcp.rx.sackInvalid': 'SACK blocks ignored: empty, or outside SND.UNA..SND.NXT',
  'tcp.rx.sackedSegments': 'segments newly SACKed',
  'tcp.sack.renegingSuspected': 'ACKs that advanced SND.UNA up to a SACKed segment: the receiver reneged, the timer shortened (RFC 2018 §8)',
  'tcp.sack.reneging': 'retransmission timeouts with the first segment SACKed: the SACK marks cleared (RFC 2018 §8)',
  'tcp.rack.lost': 'segments RACK marked lost (RFC 8985)',
  'tcp.rack.reorderWindowGrown': "RACK's reordering window widened: a D-SACK showed a spurious retransmission (RFC 8985 §6.2)",
  'tcp.ecn.reductions': 'congestion window reductions for ECN-Echo (RFC 3168 §6.1.2)',
  'tcp.cwnd.undone': 'congestion window reductions undone: the retransmissions were spurious',
  'tcp.cwnd.idleRestart': 'congestion windows restarted after an idle period (RFC 5681 §4.1)',
  'tcp.rto.fired': 'retransmission timeouts (RFC 6298 §5)',
  'tcp.rto.droppedLocally': "timeout retransmissions the interface's full transmit queue dropped",
  'tcp.frto.started': 'timeouts that started F-RTO (RFC 5682)',
  'tcp.frto.newData': 'F-RTO steps that sent new data',
  'tcp.frto.spuriousRto': 'timeouts F-RTO found spurious (RFC 5682 §3)',
  'tcp.rtt.ambiguousEcho': 'timestamp echoes of a retransmission, not used as RTT samples',
  'tcp.tlp.probes': 'tail loss probes sent (RFC 8985 §7)',
  'tcp.tx.retransmits': 'segments retransmitted',
  'tcp.tx.retransmitsFailed': 'retransmissions the interface refused (its transmit queue full)',

  // Output (output.ts, mtu-probe.ts).
  'tcp.nagle.delayed': 'small segments held by Nagle (RFC 9293 §3.7.4)',
  'tcp.cork.held': 'partial segments held by TCP_CORK or MSG_MORE',
  'tcp.tx.finRepeated': 'ACKs that repeated an unacknowledged FIN (TcpConfig.repeatFinInAcks)',
  'tcp.mtuProbe.sent': 'path MTU probes sent (RFC 4821)',
  'tcp.mtuProbe.succeeded': 'path MTU probes acknowledged',
  'tcp.mtuProbe.failed': 'path MTU probes lost',

  // Timers (timers.ts) and closing (connection.ts).
  'tcp.delayedAck.fired': 'delayed ACKs sent when their timer fired (RFC 9293 §3.8.6.3)',
  'tcp.tx.synRetransmits': 'SYNs retransmitted',
  'tcp.tx.synAckRetransmits': 'SYN-ACKs retransmitted',
  'tcp.connect.timeout': 'handshakes given up after their retransmissions or timeout',
  'tcp.retransmit.giveUp': 'connections given up after their retransmissions or TCP_USER_TIMEOUT (RFC 9293 §3.8.3 R2)',
  'tcp.tx.windowProbes': 'zero-window probes sent (RFC 9293 §3.8.6.1)',
  'tcp.persist.giveUp': "connections given up with the peer's window closed",
  'tcp.cork.probeSends': 'held or locally dropped data sent by the probe timer with nothing in flight',
  'tcp.tx.resourceProbes': 'probe-timer sends the full transmit queue refused again (retried later)',
  'tcp.tx.keepaliveProbes': 'keepalive probes sent (RFC 9293 §3.8.4)',
  'tcp.keepalive.timeout': 'connections reset after unanswered keepalive probes',
  'tcp.finWait2.timeout': 'orphaned connections closed by the FIN-WAIT-2 timeout',
  'tcp.timeWait.expired': 'connections whose TIME-WAIT ended',
  'tcp.close.lingerZeroReset': 'closes with SO_LINGER 0: the connection reset',
  'tcp.close.unreadDataReset': 'closes with unread data: the connection reset (RFC 9293 §3.10.4)',
} as const satisfies CounterRegistry;

/** A counter of TCP. */
export type TcpCounterName = CounterNameOf<typeof TCP_COUNTERS>;

/**
 * The counter `tcp.state.<state>` of every state, looked up once per stack: a connection's life
 * passes through five to seven states, and setState counting each by a name built from the
 * state and found in the map cost more than the transition itself.
 */
export function stateCounters(stats: Stats<TcpCounterName>): Readonly<Record<TcpState, Counter>> {
  const counters = {} as Record<TcpState, Counter>;
  for (const state of TCP_COUNTERS['tcp.state.<TcpState>'].parts!) counters[state] = stats.counter(`tcp.state.${state}`);
  return counters;
}
