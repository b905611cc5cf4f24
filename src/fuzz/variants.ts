/**
 * Per-epoch configuration of each stack under fuzz, drawn from the epoch's dice: an OS profile
 * (src/tcp/profiles.ts) and, over it, the settings a user or a sysctl may change — congestion
 * control, the RTT estimator, MTU probing, pacing, ECN, F-RTO, SYN cookies, the SYN+FIN,
 * in-window SYN and in-window RST rules — plus what the epoch's application does: a tracer
 * installed, lossy bulk transfers at the end.
 */
import type { IcmpConfig } from '../ip/icmp-layer.js';
import type { IpConfig } from '../ip/ip-layer.js';
import type { TcpConfig } from '../tcp/config.js';
import type { UdpConfig } from '../udp/udp-layer.js';
import { FREEBSD_PROFILE, LINUX_PROFILE } from '../tcp/profiles.js';
import type { Dice } from './frames.js';

/** Frames of an epoch a tracer watches (tracing costs most of the speed, and a little shows it works). */
export const TRACED_FRAMES = 1_000;

/** How one stack is set up for one epoch. */
export interface Variant {
  /** A short description for reports (`linux newreno cookies …`). */
  readonly label: string;
  readonly tcp: Partial<TcpConfig>;
  readonly ip: Partial<IpConfig>;
  readonly icmp: Partial<IcmpConfig>;
  readonly udp: Partial<UdpConfig>;
  /** The link: TCP segmentation offload (largest frame), a transmit queue limit, checksums vouched for on receive. */
  readonly link: { readonly tso: number; readonly queueLimit: number | undefined; readonly checksumOffload: boolean };
  /** Routes beyond the connected network: a default route and two more specific ones via the peer. */
  readonly routes: boolean;
  /** A tracer is installed on the stack for the epoch's first TRACED_FRAMES frames (every layer builds its trace events). */
  readonly tracer: boolean;
  /** Some of the final transfers run over a lossy, reordering, SACKing peer, in bulk. */
  readonly lossy: boolean;
}

/** Draws a variant; `tun` keeps challenge ACKs unlimited (every one is sent, so their paths run). */
export function drawVariant(dice: Dice, name: 'tun' | 'tap'): Variant {
  const words: string[] = [];
  const profile = dice.pick(['default', 'default', 'linux', 'freebsd'] as const);
  if (profile !== 'default') words.push(profile);
  const tcp: Record<string, unknown> = { ...(profile === 'linux' ? LINUX_PROFILE : profile === 'freebsd' ? FREEBSD_PROFILE : {}) };
  if (name === 'tun') tcp.challengeAckPerSecond = 1_000_000;
  const set = (key: keyof TcpConfig, value: unknown, word: string) => {
    tcp[key] = value;
    words.push(word);
  };
  if (dice.chance(0.3)) set('congestionControl', 'newreno', 'newreno');
  else if (dice.chance(0.3)) set('cubicImplementation', profile === 'linux' ? 'rfc9438' : 'linux', `cubic-${profile === 'linux' ? 'rfc9438' : 'linux'}`);
  if (profile !== 'linux' && dice.chance(0.3)) set('rttEstimator', 'linux', 'rtt-linux');
  if (dice.chance(0.3)) set('mtuProbing', true, 'mtu-probing');
  if (dice.chance(0.3)) set('pacing', true, 'pacing');
  if (dice.chance(0.4)) {
    const ecn = dice.pick(['accept', 'off'] as const);
    set('ecn', ecn, `ecn-${ecn}`);
  }
  if (dice.chance(0.25)) set('frto', profile === 'freebsd', profile === 'freebsd' ? 'frto' : 'no-frto');
  if (dice.chance(0.3)) {
    const dropSynFin = dice.pick([true, false, 'listen'] as const);
    set('dropSynFin', dropSynFin, `drop-syn-fin-${dropSynFin}`);
  }
  if (dice.chance(0.2)) set('inWindowSyn', 'reset', 'syn-reset');
  if (dice.chance(0.2)) set('inWindowReset', 'accept', 'rst-accept');
  if (dice.chance(0.25)) set('synCookies', 'always', 'cookies');
  else if (dice.chance(0.2)) set('synCookies', 'off', 'no-cookies');
  if (dice.chance(0.15)) set('tailLossProbe', false, 'no-tlp');
  if (dice.chance(0.15)) set('duplicateSack', false, 'no-dsack');
  if (dice.chance(0.15)) set('rackAdaptiveReorderWindow', false, 'rack-static');
  if (dice.chance(0.15)) set('rackDuplicateThreshold', false, 'rack-no-dupthresh');
  if (dice.chance(0.1)) set('timestamps', false, 'no-timestamps');
  if (dice.chance(0.1)) set('sack', false, 'no-sack');
  if (dice.chance(0.1)) set('windowScaling', false, 'no-wscale');
  if (dice.chance(0.15)) set('handshakeTimeoutMs', 75_000, 'keepinit');
  if (dice.chance(0.15)) set('closedPortReset', dice.pick(['except-syn', 'never'] as const), 'blackhole');
  if (profile === 'freebsd' && dice.chance(0.5)) {
    // FreeBSD's own recvspace and sendspace, so that its buffers grow to whole segments.
    tcp.receiveBufferSize = 65_536;
    tcp.sendBufferSize = 32_768;
    words.push('freebsd-buffers');
  }
  if (profile === 'linux' && dice.chance(0.5)) {
    // Linux's own tcp_rmem[1] and tcp_wmem[1]: an unlocked send buffer that grows with cwnd.
    tcp.receiveBufferSize = 131_072;
    tcp.sendBufferSize = 16_384;
    words.push('linux-buffers');
  }
  if (name === 'tap' && dice.chance(0.15)) {
    set('challengeAckPerSecond', 5, 'challenge-ceiling');
    tcp.invalidAckRateLimitMs = 0;
  }
  const ip: Record<string, unknown> = {};
  const icmp: Record<string, unknown> = {};
  const udp: Record<string, unknown> = {};
  if (dice.chance(0.25)) {
    ip.forwarding = true;
    words.push('forwarding');
  }
  if (dice.chance(0.2)) {
    icmp.errorDestinationsMax = 4;
    words.push('icmp-destinations-4');
  }
  if (dice.chance(0.15)) {
    udp.ephemeralPorts = { low: 61_000, high: 61_003 };
    words.push('ephemeral-4');
  }
  const routes = dice.chance(0.4);
  if (routes) words.push('routes');
  const tso = dice.chance(0.25) ? dice.pick([16_384, 65_535]) : 0;
  if (tso) words.push(`tso-${tso}`);
  const queueLimit = name === 'tun' && dice.chance(0.2) ? dice.pick([8, 32]) : undefined;
  if (queueLimit) words.push(`txqueue-${queueLimit}`);
  const checksumOffload = dice.chance(0.25);
  if (checksumOffload) words.push('rx-checksum-offload');
  const tracer = dice.chance(0.15);
  if (tracer) words.push('traced');
  const lossy = dice.chance(0.4);
  if (lossy) words.push('lossy');
  return {
    label: words.join(' ') || 'default',
    tcp: tcp as Partial<TcpConfig>,
    ip: ip as Partial<IpConfig>,
    icmp: icmp as Partial<IcmpConfig>,
    udp: udp as Partial<UdpConfig>,
    link: { tso, queueLimit, checksumOffload },
    routes,
    tracer,
    lossy,
  };
}
