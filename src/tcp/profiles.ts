/**
 * OS personalities: the TcpConfig settings in which Linux or FreeBSD differ from ustack's own
 * defaults. Each entry is an ordinary setting a user may also set alone; a profile only
 * gathers them. `ustack drill` applies one when a script's own sysctls say which system it was
 * written for (net.ipv4.* → Linux, net.inet.* → FreeBSD), and says so.
 *
 * ustack's defaults follow the RFCs and, where they leave room, Linux. A setting belongs here
 * only when an OS deviates from what ustack does by default; its doc comment in config.ts names
 * the RFC rule and the deviation.
 */
import type { TcpConfig } from './config.js';

/** An OS personality: the settings it changes. */
export type TcpProfile = Partial<TcpConfig>;

/**
 * Linux (as of 6.x) where it differs from ustack's defaults. Where Linux changed within 6.x, the
 * version Google's packetdrill corpus was checked against (6.1) decides.
 */
export const LINUX_PROFILE: TcpProfile = {
  rackRttInSequenceOrder: true,
  cwndGrowthFromDeliveredData: true,
  slowStartAckLimitSegments: Number.POSITIVE_INFINITY,
  congestionWindowValidation: 'linux',
  rttEstimator: 'linux',
  cubicImplementation: 'linux',
  reductionBasis: 'cwnd',
  quickAck: 'linux',
  windowUpdate: 'linux',
  readShutdownDiscards: false,
  sendBufferAccounting: 'linux',
  hystartRoundsBelowLowWindow: false,
  delayFinAck: true,
  sackCoversFin: true,
  sackCompression: true,
};

/**
 * FreeBSD (as of 14.x) where it differs from ustack's defaults: its socket-buffer accounting
 * (SO_RCVBUF as set, grown to whole segments once connected), its receive window for the
 * acceptability test (the free buffer space when larger than advertised), its FIN repeated in
 * ACKs while unacknowledged and the ACK field read of a segment wholly before RCV.NXT (tcp_input's
 * trim), ECONNRESET for a RST in CLOSING or LAST-ACK and in CLOSE-WAIT
 * (Linux and ustack say EPIPE there), a SYN+FIN
 * answered in LISTEN (drop_synfin = 0 by default; ustack, as Linux, drops it), and no F-RTO
 * (RFC 5682: its base stack has only tcp_bad_rexmt's undo, by timestamp or timing).
 */
export const FREEBSD_PROFILE: TcpProfile = {
  socketBufferAccounting: 'freebsd',
  receiveWindow: 'buffer',
  repeatFinInAcks: true,
  oldSegmentAck: 'process',
  resetAfterCloseReported: true,
  closeWaitResetError: 'ECONNRESET',
  dropSynFin: false,
  frto: false,
};

/** The profiles by name. */
export const TCP_PROFILES: Readonly<Record<'linux' | 'freebsd', TcpProfile>> = { linux: LINUX_PROFILE, freebsd: FREEBSD_PROFILE };
