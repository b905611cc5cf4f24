/**
 * Backtick lines. packetdrill runs them in a shell; they mostly set sysctls for the test. The
 * runner runs nothing: it maps the settings it knows to ustack's TCP configuration and reports
 * every other command as unsupported (never silently ignores it). FreeBSD's sockstat and
 * tcpdrop are answered in freebsd-tools.ts.
 *
 * Understood forms: `sysctl [-q] [-w] name=value …`, `echo value > /proc/sys/net/…`,
 * `ip route … initcwnd N`, `tc qdisc … root fq|pfifo [limit N]`, and ustack's own `ustack tcp.key=value` (any TcpConfig field).
 * FreeBSD's `net.inet.tcp.*` and `kern.ipc.*` names are mapped in portable mode only. Script
 * files such as packetdrill's `defaults.sh` are read by shell-scripts.ts and come here line by
 * line; the runner applies the OS profile (src/tcp/profiles.ts) the sysctls name.
 */
import type { Stack } from '../socket-api/stack.js';
import type { CongestionAlgorithm } from '../tcp/congestion.js';
import type { TcpConfig } from '../tcp/config.js';

/** TCP configuration being built up, field by field. */
export type TcpConfigChanges = { -readonly [K in keyof TcpConfig]?: TcpConfig[K] };

/** A route an `ip [-6] route add|change|replace` line sets (the runner puts it in ustack's table). */
export interface DrillRoute {
  /** `a.b.c.d/n` (a bare address is /32), or IPv6's `2001:db8::1/128`. */
  readonly destination: string;
  readonly via?: string;
  readonly mtu?: number;
  readonly advertisedMss?: number;
}

/** What a backtick line did. */
export interface ShellOutcome {
  /** Configuration to apply. */
  readonly changes: TcpConfigChanges;
  /** Routes to set, in order. */
  readonly routes: DrillRoute[];
  /** One line per command understood (`net.ipv4.tcp_sack=0 → tcp.sack=false`). */
  readonly applied: string[];
  /** One line per command not understood or with no ustack equivalent. */
  readonly unsupported: string[];
  /** Things to do to the running stack (not settings); each returns what it did, for `applied`. */
  readonly actions: ShellAction[];
  /**
   * A qdisc installed on the script's interface: how many packets its transmit queue holds
   * (Infinity: no limit the stack would reach), for the runner's link. Undefined: unchanged.
   */
  transmitQueueLimit?: number;
}

/** Something a command does to the stack itself, rather than to its configuration. */
export type ShellAction = (stack: Stack) => string;

type Setter = (value: string, changes: TcpConfigChanges, notes: string[], actions: ShellAction[]) => string | null;

const on = (value: string) => Number(value.trim()) !== 0;

/** A setter of one boolean field. */
function flag(field: 'sack' | 'timestamps' | 'windowScaling' | 'dropSynFin' | 'idleRestart' | 'hystart'): Setter {
  return (value, changes) => {
    changes[field] = on(value);
    return `tcp.${field}=${changes[field]}`;
  };
}

/** A setter of one numeric field, value scaled by `scale`. */
function number(field: keyof TcpConfig, scale = 1): Setter {
  return (value, changes) => {
    const n = Number(value.trim().split(/\s+/)[0]) * scale;
    if (!Number.isFinite(n) || n < 0) return null;
    (changes as Record<string, unknown>)[field] = n;
    return `tcp.${field}=${n}`;
  };
}

/** Linux tcp_ecn and FreeBSD ecn.enable agree: 0 off, 1 ask and accept, 2 accept when asked. */
function ecnSetting(value: string, changes: TcpConfigChanges): string | null {
  const mode = (['off', 'on', 'accept'] as const)[Number(value.trim())];
  if (mode === undefined) return null;
  changes.ecn = mode;
  return `tcp.ecn=${mode}`;
}

/** tcp_syncookies and FreeBSD's syncookies / syncookies_only: the mode each value means. */
function synCookies(modes: readonly TcpConfig['synCookies'][]): Setter {
  return (value, changes) => {
    const mode = modes[Number(value.trim())];
    if (mode === undefined) return null;
    changes.synCookies = mode;
    return `tcp.synCookies=${mode}`;
  };
}

function congestion(value: string, changes: TcpConfigChanges): string | null {
  const name = value.trim();
  const algorithm: CongestionAlgorithm | null = name === 'cubic' ? 'cubic' : name === 'reno' || name === 'newreno' ? 'newreno' : null;
  if (!algorithm) return null;
  changes.congestionControl = algorithm;
  return `tcp.congestionControl=${algorithm}`;
}

/**
 * A setter of one ICMP error rate limit (Linux's icmp_ratelimit in ms, icmp_msgs_per_sec,
 * icmp_msgs_burst): the stack's ICMP layer takes it through `configure` when the script runs.
 */
function icmpLimit(field: 'errorIntervalPerDestinationMs' | 'errorRatePerSecond' | 'errorBurst'): Setter {
  return (value, _changes, _notes, actions) => {
    const n = Number(value.trim());
    if (!Number.isInteger(n) || n < 0) return null;
    actions.push((stack) => {
      stack.icmp.configure({ [field]: n });
      return `icmp.${field}=${n}`;
    });
    return `icmp.${field}=${n}`;
  };
}

/** Linux sysctls (net.ipv4.*), understood in both modes. */
const LINUX: Readonly<Record<string, Setter>> = {
  'net.ipv4.tcp_sack': flag('sack'),
  'net.ipv4.tcp_timestamps': flag('timestamps'),
  'net.ipv4.tcp_window_scaling': flag('windowScaling'),
  'net.ipv4.tcp_ecn': ecnSetting,
  'net.ipv4.tcp_syncookies': synCookies(['off', 'auto', 'always']),
  'net.ipv4.tcp_init_cwnd': number('initialWindowSegments'),
  'net.ipv4.tcp_fin_timeout': number('finWait2TimeoutMs', 1000),
  'net.ipv4.tcp_syn_retries': number('synRetries'),
  'net.ipv4.tcp_synack_retries': number('synAckRetries'),
  'net.ipv4.tcp_retries2': number('dataRetries'),
  'net.ipv4.tcp_reordering': (value, changes) => {
    const n = Number(value.trim());
    if (!Number.isInteger(n) || n < 1) return null;
    changes.duplicateThreshold = n;
    return `tcp.duplicateThreshold=${n}`;
  },
  // Linux always detects losses with RACK given SACK (bit 0x1 is no longer read); 0x2 keeps the
  // reordering window static, 0x4 drops its DupThresh shortcut.
  'net.ipv4.tcp_recovery': (value, changes) => {
    const bits = Number(value.trim());
    if (!Number.isInteger(bits) || bits < 0 || bits > 7) return null;
    changes.rackAdaptiveReorderWindow = (bits & 2) === 0;
    changes.rackDuplicateThreshold = (bits & 4) === 0;
    return `tcp.rackAdaptiveReorderWindow=${changes.rackAdaptiveReorderWindow}, tcp.rackDuplicateThreshold=${changes.rackDuplicateThreshold}`;
  },
  // Linux arms tail loss probes when tcp_early_retrans is 3 or 4 (early retransmit itself is gone).
  'net.ipv4.tcp_early_retrans': (value, changes) => {
    const mode = Number(value.trim());
    if (!Number.isInteger(mode) || mode < 0 || mode > 4) return null;
    changes.tailLossProbe = mode === 3 || mode === 4;
    return `tcp.tailLossProbe=${changes.tailLossProbe}`;
  },
  // Linux's tcp_frto: 0 off; 1 and 2 on (since 3.10 both run RFC 5682 §3's algorithm).
  'net.ipv4.tcp_frto': (value, changes) => {
    const mode = Number(value.trim());
    if (!Number.isInteger(mode) || mode < 0 || mode > 2) return null;
    changes.frto = mode !== 0;
    return `tcp.frto=${changes.frto}`;
  },
  'net.ipv4.tcp_dsack': (value, changes) => {
    changes.duplicateSack = on(value);
    return `tcp.duplicateSack=${changes.duplicateSack}`;
  },
  // 0 turns SACK compression off; any other count is taken as on (ustack holds at most 44, the default).
  'net.ipv4.tcp_comp_sack_nr': (value, changes) => {
    const count = Number(value.trim());
    if (!Number.isInteger(count) || count < 0) return null;
    changes.sackCompression = count > 0;
    return `tcp.sackCompression=${changes.sackCompression}${count > 0 && count !== 44 ? ' (ustack holds at most 44 segments)' : ''}`;
  },
  'net.ipv4.tcp_keepalive_time': number('keepaliveIdleMs', 1000),
  'net.ipv4.tcp_keepalive_intvl': number('keepaliveIntervalMs', 1000),
  'net.ipv4.tcp_keepalive_probes': number('keepaliveCount'),
  'net.ipv4.tcp_challenge_ack_limit': number('challengeAckPerSecond'),
  'net.ipv4.tcp_invalid_ratelimit': number('invalidAckRateLimitMs'),
  'net.ipv4.tcp_rto_min_us': number('minRtoMs', 1 / 1000),
  'net.ipv4.tcp_rmem': (value, changes) => {
    const [, middle, max] = value.trim().split(/\s+/).map(Number);
    if (!(middle > 0)) return null;
    changes.receiveBufferSize = middle;
    if (max > 0) changes.receiveBufferMax = max;
    return `tcp.receiveBufferSize=${middle}${max > 0 ? `, tcp.receiveBufferMax=${max}` : ''}`;
  },
  'net.ipv4.tcp_wmem': (value, changes) => {
    const [, middle, max] = value.trim().split(/\s+/).map(Number);
    if (!Number.isFinite(middle) || middle <= 0) return null;
    changes.sendBufferSize = middle;
    if (max > 0) changes.sendBufferMax = max;
    return `tcp.sendBufferSize=${middle}${max > 0 ? `, tcp.sendBufferMax=${max}` : ''}`;
  },
  'net.ipv4.tcp_congestion_control': congestion,
  'net.ipv4.tcp_slow_start_after_idle': flag('idleRestart'),
  'net.ipv4.tcp_min_tso_segs': number('minSendUnitSegments'),
  'net.ipv4.tcp_pacing_ss_ratio': number('pacingSlowStartRatio'),
  'net.ipv4.tcp_pacing_ca_ratio': number('pacingCongestionAvoidanceRatio'),
  // tcp_cubic's module parameters (echo N > /sys/module/tcp_cubic/parameters/NAME).
  'tcp_cubic.hystart': flag('hystart'),
  'tcp_cubic.hystart_detect': number('hystartDetect'),
  'tcp_cubic.hystart_low_window': number('hystartLowWindow'),
  'tcp_cubic.hystart_ack_delta_us': number('hystartAckDeltaUs'),
  'net.ipv4.tcp_notsent_lowat': number('notSentLowWater'),
  'net.ipv4.tcp_mtu_probing': (value, changes) => {
    const mode = Number(value.trim());
    if (mode !== 0 && mode !== 2) return null; // 1: only after a black hole is detected, which ustack does not do
    changes.mtuProbing = mode === 2;
    return `tcp.mtuProbing=${changes.mtuProbing}`;
  },
  'net.ipv4.tcp_base_mss': number('mtuProbeBaseMss'),
  'net.ipv4.tcp_probe_threshold': number('mtuProbeThreshold'),
  'net.ipv4.tcp_probe_interval': number('mtuProbeIntervalMs', 1000),
  'net.core.somaxconn': number('defaultBacklog'),
  'net.ipv4.icmp_ratelimit': icmpLimit('errorIntervalPerDestinationMs'),
  'net.ipv4.icmp_msgs_per_sec': icmpLimit('errorRatePerSecond'),
  'net.ipv4.icmp_msgs_burst': icmpLimit('errorBurst'),
};

/** A setter choosing one of a field's values by the sysctl's number (index into `values`). */
function choice<K extends 'closedPortReset' | 'inWindowSyn' | 'inWindowReset'>(field: K, values: readonly TcpConfig[K][]): Setter {
  return (value, changes) => {
    const chosen = values[Number(value.trim())];
    if (chosen === undefined) return null;
    (changes as Record<string, unknown>)[field] = chosen;
    return `tcp.${field}=${chosen}`;
  };
}

/**
 * FreeBSD sysctls (net.inet.tcp.*, kern.ipc.maxsockbuf), understood in portable mode. Times
 * there are in ms. A script that sets one is written for FreeBSD, so it also gets FreeBSD's
 * socket-buffer accounting (see mapShellCommand).
 */
const FREEBSD: Readonly<Record<string, Setter>> = {
  'net.inet.tcp.rfc1323': (value, changes) => {
    changes.timestamps = on(value);
    changes.windowScaling = on(value);
    return `tcp.timestamps=${changes.timestamps}, tcp.windowScaling=${changes.windowScaling}`;
  },
  'net.inet.tcp.sack.enable': flag('sack'),
  'net.inet.tcp.ecn.enable': ecnSetting,
  'net.inet.tcp.recvspace': number('receiveBufferSize'),
  'net.inet.tcp.sendspace': number('sendBufferSize'),
  'kern.ipc.maxsockbuf': number('receiveBufferMax'),
  'net.inet.tcp.blackhole': choice('closedPortReset', ['always', 'except-syn', 'never']),
  'net.inet.tcp.drop_synfin': flag('dropSynFin'),
  'net.inet.tcp.insecure_syn': choice('inWindowSyn', ['challenge-ack', 'reset']),
  'net.inet.tcp.insecure_rst': choice('inWindowReset', ['challenge-ack', 'accept']),
  'net.inet.tcp.keepinit': number('handshakeTimeoutMs'),
  // FreeBSD's host cache remembers per-destination metrics (RTT, ssthresh, MTU) for new
  // connections. ustack remembers none of them per destination but the path MTU that ICMP
  // taught (RFC 1191), which IP keeps: purging the cache forgets those.
  'net.inet.tcp.hostcache.purgenow': (value, _changes, _notes, actions) => {
    if (!on(value)) return null;
    actions.push((stack) => `forgot ${stack.ip.forgetPathMtus()} learned path MTU(s)`);
    return 'the learned path MTUs are forgotten (ustack keeps no other per-destination metrics)';
  },
  'net.inet.tcp.initcwnd_segments': number('initialWindowSegments'),
  'net.inet.tcp.msl': number('timeWaitMs', 2),
  'net.inet.tcp.delacktime': number('delayedAckMs'),
  'net.inet.tcp.keepidle': number('keepaliveIdleMs'),
  'net.inet.tcp.keepintvl': number('keepaliveIntervalMs'),
  'net.inet.tcp.keepcnt': number('keepaliveCount'),
  'net.inet.tcp.rexmit_min': number('minRtoMs'),
  'net.inet.tcp.rexmit_initial': number('initialRtoMs'),
  'net.inet.tcp.syncookies': (value, changes) => {
    // syncookies=1 keeps syncookies_only=1 (cookies for every SYN) if that came first.
    if (on(value) && changes.synCookies === 'always') return 'tcp.synCookies=always';
    return synCookies(['off', 'auto'])(value, changes, [], []);
  },
  'net.inet.tcp.syncookies_only': (value, changes) => {
    if (on(value)) return synCookies(['auto', 'always'])(value, changes, [], []);
    if (changes.synCookies === 'always') changes.synCookies = 'auto';
    return `tcp.synCookies=${changes.synCookies ?? 'auto'}`;
  },
  'net.inet.tcp.cc.algorithm': congestion,
};

/** The TcpConfig fields `ustack tcp.key=value` may set, with their kind (or the words they take). */
const USTACK_FIELDS: Readonly<Record<string, 'number' | 'boolean' | 'congestion' | readonly string[]>> = {
  defaultMss: 'number',
  initialRtoMs: 'number',
  minRtoMs: 'number',
  maxRtoMs: 'number',
  mtuProbing: 'boolean',
  mtuProbeBaseMss: 'number',
  synRetries: 'number',
  synAckRetries: 'number',
  dataRetries: 'number',
  timeWaitMs: 'number',
  finWait2TimeoutMs: 'number',
  delayedAckMs: 'number',
  quickAck: ['push', 'linux'],
  windowUpdate: ['bsd', 'linux'],
  readShutdownDiscards: 'boolean',
  keepaliveIdleMs: 'number',
  keepaliveIntervalMs: 'number',
  keepaliveCount: 'number',
  receiveBufferSize: 'number',
  sendBufferSize: 'number',
  sendBufferAccounting: ['bytes', 'linux'],
  sendBufferMax: 'number',
  receiveBufferMax: 'number',
  windowScaling: 'boolean',
  timestamps: 'boolean',
  sack: 'boolean',
  ecn: ['on', 'accept', 'off'],
  socketBufferAccounting: ['linux', 'freebsd'],
  receiveWindow: ['advertised', 'buffer'],
  closedPortReset: ['always', 'except-syn', 'never'],
  dropSynFin: ['false', 'listen', 'true'],
  delayFinAck: 'boolean',
  repeatFinInAcks: 'boolean',
  oldSegmentAck: ['ignore', 'process'],
  resetAfterCloseReported: 'boolean',
  closeWaitResetError: ['EPIPE', 'ECONNRESET'],
  inWindowSyn: ['challenge-ack', 'reset'],
  inWindowReset: ['challenge-ack', 'accept'],
  handshakeTimeoutMs: 'number',
  congestionControl: 'congestion',
  initialWindowSegments: 'number',
  challengeAckPerSecond: 'number',
  invalidAckRateLimitMs: 'number',
  defaultBacklog: 'number',
  synCookies: ['auto', 'always', 'off'],
  userTimeoutMs: 'number',
  duplicateThreshold: 'number',
  rackAdaptiveReorderWindow: 'boolean',
  rackDuplicateThreshold: 'boolean',
  tailLossProbe: 'boolean',
  duplicateSack: 'boolean',
  sackCoversFin: 'boolean',
  sackCompression: 'boolean',
  rackRttInSequenceOrder: 'boolean',
  cwndGrowthFromDeliveredData: 'boolean',
  slowStartAckLimitSegments: 'number',
  idleRestart: 'boolean',
  minSendUnitSegments: 'number',
  pacingSlowStartRatio: 'number',
  pacingCongestionAvoidanceRatio: 'number',
  pacing: 'boolean',
  congestionWindowValidation: ['rfc7661', 'linux'],
  rttEstimator: ['rfc6298', 'linux'],
  cubicImplementation: ['rfc9438', 'linux'],
  reductionBasis: ['flight-size', 'cwnd'],
  hystart: 'boolean',
  hystartDetect: 'number',
  hystartLowWindow: 'number',
  hystartAckDeltaUs: 'number',
  notSentLowWater: 'number',
  hystartRoundsBelowLowWindow: 'boolean',
};

function ustackSetting(assignment: string, changes: TcpConfigChanges): string | null {
  const match = /^tcp\.([A-Za-z0-9]+)=(.+)$/.exec(assignment);
  if (!match) return null;
  const [, field, value] = match;
  const kind = USTACK_FIELDS[field];
  if (kind === 'boolean') {
    if (value !== 'true' && value !== 'false') return null;
    (changes as Record<string, unknown>)[field] = value === 'true';
  } else if (kind === 'number') {
    const n = Number(value);
    if (Number.isNaN(n) || n < 0) return null; // Infinity is a value: no limit
    (changes as Record<string, unknown>)[field] = n;
  } else if (kind === 'congestion') {
    return congestion(value, changes);
  } else if (Array.isArray(kind)) {
    if (!kind.includes(value)) return null;
    // A choice that includes the booleans (dropSynFin: false | 'listen' | true) takes them as such.
    (changes as Record<string, unknown>)[field] = value === 'true' ? true : value === 'false' ? false : value;
  } else {
    return null;
  }
  return `tcp.${field}=${value}`;
}

/** Applies one `name=value` sysctl assignment. */
function sysctl(name: string, value: string, portable: boolean, outcome: ShellOutcome): void {
  const freebsd = portable ? FREEBSD[name] : undefined;
  const setter = LINUX[name] ?? freebsd;
  const notes: string[] = [];
  const result = setter ? setter(value, outcome.changes, notes, outcome.actions) : null;
  if (result === null) {
    outcome.unsupported.push(`${name}=${value.trim()}: ${setter === undefined ? 'no ustack equivalent' : 'this value has no ustack equivalent'}`);
    return;
  }
  outcome.applied.push(`${name}=${value.trim()} → ${result}`);
  for (const note of notes) outcome.unsupported.push(note);
}

/** Splits a shell line into simple commands (on `;`, `&&`, `||` and newlines). */
function simpleCommands(command: string): string[] {
  return command
    .split(/;|&&|\|\||\n/)
    .map((c) => c.trim())
    .filter((c) => c !== '');
}

/**
 * `ip [-6] route add|change|replace DEST [via GW] [dev IF] [advmss N] [mtu [lock] N] [initcwnd N]`:
 * a route with its MTU and advertised MSS; initcwnd sets the initial window stack-wide (ustack
 * keeps no per-route window). Any other attribute is reported. `words` starts at `route`.
 */
function ipRoute(simple: string, words: string[], ipv6: boolean, outcome: ShellOutcome): void {
  const [, verb, target] = words;
  if (!['add', 'change', 'replace'].includes(verb) || target === undefined) {
    outcome.unsupported.push(`'${simple}': only ip route add/change/replace DEST … is understood`);
    return;
  }
  const host = ipv6 || target.includes(':') ? '/128' : '/32';
  const destination = target === 'default' ? (ipv6 ? '::/0' : '0.0.0.0/0') : target.includes('/') ? target : `${target}${host}`;
  const route: { -readonly [K in keyof DrillRoute]: DrillRoute[K] } = { destination };
  const notes: string[] = [];
  for (let i = 3; i < words.length; i++) {
    const [word, value] = [words[i], words[i + 1]];
    if (word === 'via') route.via = value;
    else if (word === 'dev') {
      // the drill has one interface
    } else if (word === 'advmss') route.advertisedMss = Number(value);
    else if (word === 'mtu') {
      if (value === 'lock') i++;
      route.mtu = Number(words[i + 1]);
    } else if (word === 'initcwnd') {
      outcome.changes.initialWindowSegments = Number(value);
      notes.push(`tcp.initialWindowSegments=${value}`);
    } else {
      outcome.unsupported.push(`'${simple}': route attribute '${word}' has no ustack equivalent`);
    }
    i++; // the attribute's value
  }
  outcome.routes.push(route);
  const shown = [route.via ? `via ${route.via}` : '', route.mtu ? `mtu ${route.mtu}` : '', route.advertisedMss ? `advmss ${route.advertisedMss}` : '']
    .filter((s) => s !== '')
    .join(' ');
  outcome.applied.push(`${simple} → route ${destination}${shown ? ` ${shown}` : ''}${notes.length > 0 ? `, ${notes.join(', ')}` : ''}`);
}

/** The interface a script's packets use (the runner's `tun0`). */
const SCRIPT_INTERFACE = 'tun0';

/**
 * `tc qdisc add|replace|delete dev tun0 root [fq | pfifo [limit N] | pfifo_fast]`: the root
 * qdisc of the script's interface. fq paces each flow at its socket's pacing rate
 * (tcp.pacing); pfifo and pfifo_fast send at once, and a pfifo limit bounds the transmit queue:
 * `limit 0` drops every packet before it reaches the wire, which Linux's TCP sees as a failed
 * transmission (NET_XMIT_DROP). Deleting the root qdisc restores the default (pfifo_fast).
 */
function trafficControl(command: string, outcome: ShellOutcome): void {
  const simple = command.replace(/\s*\d?>\s*\/dev\/null/g, '').trim();
  const match = /^tc\s+qdisc\s+(add|replace|change|del|delete)\s+dev\s+(\S+)\s+root(?:\s+(.*))?$/.exec(simple);
  if (!match || match[2] !== SCRIPT_INTERFACE) {
    outcome.unsupported.push(`'${command}': only a root qdisc on ${SCRIPT_INTERFACE} is understood`);
    return;
  }
  const [, verb, , spec = ''] = match;
  const words = spec.split(/\s+/).filter((w) => w !== '');
  let limit = Number.POSITIVE_INFINITY;
  let pacing = false;
  if (verb === 'del' || verb === 'delete') {
    if (words.length > 0) {
      outcome.unsupported.push(`'${command}': a qdisc to delete is named by its handle only`);
      return;
    }
  } else if (words.length === 1 && words[0] === 'fq') {
    pacing = true;
  } else if (words[0] === 'pfifo' && (words.length === 1 || (words.length === 3 && words[1] === 'limit' && /^\d+$/.test(words[2])))) {
    if (words.length === 3) limit = Number(words[2]);
  } else if (!(words.length === 1 && words[0] === 'pfifo_fast')) {
    outcome.unsupported.push(`'${command}': only fq, pfifo [limit N] and pfifo_fast are modelled`);
    return;
  }
  outcome.changes.pacing = pacing;
  outcome.transmitQueueLimit = limit;
  const queue = Number.isFinite(limit) ? `, the transmit queue holds ${limit} packet(s)` : '';
  outcome.applied.push(`${command} → tcp.pacing=${pacing}${queue}`);
}

/** Maps a backtick command to ustack configuration. */
export function mapShellCommand(command: string, portable: boolean): ShellOutcome {
  const outcome: ShellOutcome = { changes: {}, routes: [], applied: [], unsupported: [], actions: [] };
  for (const simple of simpleCommands(command)) {
    const words = simple.split(/\s+/);
    if (words[0] === 'sysctl') {
      const assignments = words.slice(1).filter((w) => !w.startsWith('-'));
      // `sysctl -w net.ipv4.tcp_rmem="4096 87380 6291456"`: rejoin quoted values split on spaces.
      const joined = simple.replace(/^sysctl(\s+-\w+)*\s+/, '');
      const pairs = [...joined.matchAll(/([\w.]+)\s*=\s*("[^"]*"|'[^']*'|\S+)/g)];
      if (pairs.length === 0 || assignments.length === 0) {
        outcome.unsupported.push(`'${simple}': only sysctl name=value is understood`);
        continue;
      }
      for (const [, name, value] of pairs) sysctl(name, value.replace(/^["']|["']$/g, ''), portable, outcome);
      continue;
    }
    const echo = /^echo\s+("[^"]*"|'[^']*'|\S+)\s*>\s*\/proc\/sys\/(\S+)$/.exec(simple);
    if (echo) {
      sysctl(echo[2].replace(/\//g, '.'), echo[1].replace(/^["']|["']$/g, ''), portable, outcome);
      continue;
    }
    const cubic = /^echo\s+("[^"]*"|'[^']*'|\S+)\s*>\s*\/sys\/module\/tcp_cubic\/parameters\/(\w+)$/.exec(simple);
    if (cubic) {
      sysctl(`tcp_cubic.${cubic[2]}`, cubic[1].replace(/^["']|["']$/g, ''), portable, outcome);
      continue;
    }
    if (words[0] === 'ip' && (words[1] === 'route' || (/^-[46]$/.test(words[1]) && words[2] === 'route'))) {
      ipRoute(simple, words.slice(words[1] === 'route' ? 1 : 2), words[1] === '-6', outcome);
      continue;
    }
    if (words[0] === 'ethtool' && words[1] === '-K' && words.slice(3).every((w, i) => (i % 2 === 0 ? /^(gso|tso|gro)$/.test(w) : w === 'off'))) {
      outcome.applied.push(`${simple} → ustack's drill link has no segmentation offload`);
      continue;
    }
    if (words[0] === 'tc') {
      trafficControl(simple, outcome);
      continue;
    }
    if (words[0] === 'ustack') {
      for (const assignment of words.slice(1)) {
        const result = ustackSetting(assignment, outcome.changes);
        if (result === null) outcome.unsupported.push(`'${assignment}': not a ustack tcp.<field>=<value> setting`);
        else outcome.applied.push(`${assignment} → ${result}`);
      }
      continue;
    }
    outcome.unsupported.push(`'${simple}': not run (the runner maps sysctls to ustack configuration and runs no shell)`);
  }
  return outcome;
}
