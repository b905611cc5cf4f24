/**
 * FreeBSD's status tools as the nplab scripts use them in backtick lines, answered from
 * ustack's own tables instead of a shell:
 *
 * - `sockstat [-4] [-6] -P tcp [-p PORTS] [-s] [-l|-c] [-q]`, alone or piped through `grep [-c] [-v]
 *   [-i] PATTERN` stages: lists the script's descriptors (`BerkeleySockets.descriptors()`)
 *   and the TCP connections no descriptor holds (`TcpLayer.listConnections()`: orphans after
 *   close, half-open and unaccepted connections; `listTimeWait()`: TIME-WAIT), one line each, in sockstat's columns. The
 *   pipeline's exit status is its last command's, as in a shell; packetdrill fails a script
 *   whose command exits non-zero, and so does the runner.
 * - `tcpdrop -a`, `tcpdrop -s STATE`, `tcpdrop LADDR LPORT FADDR FPORT`: drops connections
 *   (RFC 9293 §3.10.5 ABORT: a RST where the peer may still send, then gone).
 *
 * Any other form is reported as unsupported, naming the command.
 */
import { formatIpAddress } from '../ip/ip-address.js';
import type { BerkeleySockets, DescriptorStatus } from '../socket-api/berkeley.js';
import * as C from '../socket-api/berkeley-constants.js';
import type { Stack } from '../socket-api/stack.js';
import type { TcpConnection, TcpState } from '../tcp/connection.js';
import { TimeWaitRecord } from '../tcp/time-wait.js';

/** FreeBSD's names of the TCP states (netinet/tcp_fsm.h tcpstates[]). */
export const FREEBSD_STATE_NAMES: Readonly<Record<TcpState, string>> = {
  CLOSED: 'CLOSED',
  LISTEN: 'LISTEN',
  'SYN-SENT': 'SYN_SENT',
  'SYN-RECEIVED': 'SYN_RCVD',
  ESTABLISHED: 'ESTABLISHED',
  'CLOSE-WAIT': 'CLOSE_WAIT',
  'FIN-WAIT-1': 'FIN_WAIT_1',
  CLOSING: 'CLOSING',
  'LAST-ACK': 'LAST_ACK',
  'FIN-WAIT-2': 'FIN_WAIT_2',
  'TIME-WAIT': 'TIME_WAIT',
};

/** What running a tool pipeline did. */
export type ToolOutcome =
  | { readonly kind: 'ran'; readonly exitStatus: number; readonly output: string; readonly summary: string }
  | { readonly kind: 'unsupported'; readonly reason: string };

/** What the tools look at. */
export interface ToolContext {
  readonly stack: Stack;
  readonly api: BerkeleySockets;
  /** The name sockstat shows for the script's own process (packetdrill's, truncated to 10). */
  readonly command: string;
  readonly pid: number;
}

/** Whether `command` is a pipeline of the tools this module answers (sockstat, tcpdrop). */
export function isFreeBsdTool(command: string): boolean {
  return /^\s*(sockstat|tcpdrop)(\s|$)/.test(command);
}

/** Runs a `sockstat … | grep …` pipeline or a `tcpdrop` command against the stack. */
export function runFreeBsdTool(command: string, context: ToolContext): ToolOutcome {
  const stages = command.split('|').map((stage) => stage.trim().split(/\s+/));
  const [first, ...rest] = stages;
  let output: string[];
  let status: number;
  if (first[0] === 'tcpdrop') {
    if (rest.length > 0) return { kind: 'unsupported', reason: `'${command.trim()}': tcpdrop's output is not piped by the runner` };
    const dropped = tcpdrop(first.slice(1), context);
    if (typeof dropped === 'string') return { kind: 'unsupported', reason: dropped };
    return { kind: 'ran', exitStatus: 0, output: '', summary: `dropped ${dropped} connection(s)` };
  }
  const listed = sockstat(first.slice(1), context);
  if (typeof listed === 'string') return { kind: 'unsupported', reason: listed };
  output = listed;
  status = 0;
  for (const stage of rest) {
    if (stage[0] !== 'grep') return { kind: 'unsupported', reason: `'${stage.join(' ')}': only grep may follow sockstat` };
    const filtered = grep(stage.slice(1), output);
    if (typeof filtered === 'string') return { kind: 'unsupported', reason: filtered };
    ({ output, status } = filtered);
  }
  return {
    kind: 'ran',
    exitStatus: status,
    output: output.join('\n'),
    summary: `exit status ${status}${output.length > 0 ? `, output ${JSON.stringify(output.join('\n'))}` : ''}`,
  };
}

/** One sockstat row: its columns before the state. */
interface Row {
  readonly user: string;
  readonly command: string;
  readonly pid: string;
  readonly fd: string;
  readonly local: string;
  readonly foreign: string;
  readonly localPort: number;
  readonly foreignPort: number;
  readonly state: TcpState;
  /**
   * IPv4 or IPv6, as FreeBSD's inpcb vflag says: a connection by its addresses (one of an AF_INET6
   * socket with an IPv4-mapped peer is IPv4, as FreeBSD's in6_pcbconnect makes it), a socket
   * without one by its local address.
   */
  readonly family: 4 | 6;
}

/** The family a socket's local address text belongs to: IPv6 text has colons, except the IPv4-mapped form. */
function familyOfText(address: string): 4 | 6 {
  return address.includes(':') && !/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? 6 : 4;
}

/** sockstat(1): the rows of the TCP sockets, or why the arguments are not understood. */
function sockstat(args: string[], context: ToolContext): string[] | string {
  let ports: Set<number> | null = null;
  let showState = false;
  let listeningOnly = false;
  let connectedOnly = false;
  let header = true;
  // -4 and -6 choose the families (AF_INET, AF_INET6 sockets); neither or both: every socket.
  const families = new Set<4 | 6>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-4') families.add(4);
    else if (arg === '-6') families.add(6);
    else if (arg === '-s') showState = true;
    else if (arg === '-l') listeningOnly = true;
    else if (arg === '-c') connectedOnly = true;
    else if (arg === '-q') header = false;
    else if (arg === '-P') {
      const protocols = (args[++i] ?? '').split(',');
      if (!protocols.every((p) => p === 'tcp')) return `sockstat -P ${args[i]}: only tcp is answered`;
    } else if (arg === '-p') {
      ports = new Set((args[++i] ?? '').split(',').map(Number));
      if ([...ports].some((p) => !Number.isInteger(p))) return `sockstat -p ${args[i]}: only a list of port numbers is understood`;
    } else return `sockstat ${arg}: option not understood by the runner`;
  }
  const rows: Row[] = [];
  const held = new Set<TcpConnection | null>();
  for (const descriptor of context.api.descriptors()) {
    if (descriptor.type !== C.SOCK_STREAM || descriptor.tcpState === null) continue;
    if (descriptor.connection) held.add(descriptor.connection);
    rows.push(rowOfDescriptor(descriptor, context));
  }
  // Connections no descriptor holds: closed by the application but not gone (FIN-WAIT, TIME-WAIT),
  // or not accepted yet. sockstat shows them with '?' for the owner.
  for (const connection of [...context.stack.tcp.listConnections(), ...context.stack.tcp.listTimeWait()]) {
    if (held.has(connection instanceof TimeWaitRecord ? connection.owner : connection)) continue;
    rows.push({
      user: '?',
      command: '?',
      pid: '?',
      fd: '?',
      local: `${formatIpAddress(connection.localAddress)}:${connection.localPort}`,
      foreign: `${formatIpAddress(connection.remoteAddress)}:${connection.remotePort}`,
      localPort: connection.localPort,
      foreignPort: connection.remotePort,
      state: connection.state,
      family: typeof connection.localAddress === 'number' ? 4 : 6,
    });
  }
  const lines = header
    ? [`USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS       ${showState ? 'PATH STATE   CONN STATE' : ''}`.trimEnd()]
    : [];
  for (const row of rows) {
    if (families.size > 0 && !families.has(row.family)) continue;
    if (ports && !ports.has(row.localPort) && !ports.has(row.foreignPort)) continue;
    if (listeningOnly && row.state !== 'LISTEN') continue;
    if (connectedOnly && row.state === 'LISTEN') continue;
    const columns = [
      row.user.padEnd(8),
      row.command.padEnd(10),
      row.pid.padEnd(5),
      row.fd.padEnd(3),
      `tcp${row.family}  `,
      row.local.padEnd(21),
      row.foreign.padEnd(21),
    ];
    if (showState) columns.push(' '.repeat(12), FREEBSD_STATE_NAMES[row.state]);
    lines.push(columns.join(' ').trimEnd());
  }
  return lines;
}

function rowOfDescriptor(descriptor: DescriptorStatus, context: ToolContext): Row {
  const remote = descriptor.remote;
  return {
    user: 'root',
    command: context.command.slice(0, 10),
    pid: String(context.pid),
    fd: String(descriptor.fd),
    local: `${descriptor.local.address === '0.0.0.0' || descriptor.local.address === '::' ? '*' : descriptor.local.address}:${descriptor.local.port === 0 ? '*' : descriptor.local.port}`,
    foreign: remote ? `${remote.address}:${remote.port}` : '*:*',
    localPort: descriptor.local.port,
    foreignPort: remote?.port ?? 0,
    state: descriptor.tcpState!,
    family: descriptor.connection ? (typeof descriptor.connection.localAddress === 'number' ? 4 : 6) : familyOfText(descriptor.local.address),
  };
}

/** grep(1) over the lines: the selected lines (or their count with -c) and the exit status. */
function grep(args: string[], input: string[]): { output: string[]; status: number } | string {
  let count = false;
  let invert = false;
  let ignoreCase = false;
  let quiet = false;
  let pattern: string | null = null;
  for (const arg of args) {
    if (pattern === null && /^-[cviq]+$/.test(arg)) {
      count ||= arg.includes('c');
      invert ||= arg.includes('v');
      ignoreCase ||= arg.includes('i');
      quiet ||= arg.includes('q');
    } else if (pattern === null) pattern = arg.replace(/^'(.*)'$|^"(.*)"$/, '$1$2');
    else return `grep ${args.join(' ')}: one pattern and no files are understood`;
  }
  // A basic regular expression made of letters, digits and the few operators BRE and JavaScript
  // read alike.
  if (pattern === null || !/^[\w .:*^$-]*$/.test(pattern)) return `grep ${args.join(' ')}: only simple patterns are understood`;
  const expression = new RegExp(pattern, ignoreCase ? 'i' : '');
  const selected = input.filter((line) => expression.test(line) !== invert);
  const status = selected.length > 0 ? 0 : 1;
  if (quiet) return { output: [], status };
  return { output: count ? [String(selected.length)] : selected, status };
}

/** tcpdrop(8): how many connections it dropped, or why the arguments are not understood. */
function tcpdrop(args: string[], context: ToolContext): number | string {
  const connections = [...context.stack.tcp.listConnections(), ...context.stack.tcp.listTimeWait()];
  let chosen: Array<TcpConnection | TimeWaitRecord>;
  if (args.length === 4 && !args[0].startsWith('-')) {
    const [localAddress, localPort, foreignAddress, foreignPort] = args;
    chosen = connections.filter(
      (c) =>
        formatIpAddress(c.localAddress) === localAddress &&
        String(c.localPort) === localPort &&
        formatIpAddress(c.remoteAddress) === foreignAddress &&
        String(c.remotePort) === foreignPort,
    );
  } else if (args.length === 1 && args[0] === '-a') {
    chosen = connections;
  } else if (args.length >= 2 && args[0] === '-s' && (args.length === 2 || (args.length === 3 && args[2] === '-a'))) {
    const state = (Object.keys(FREEBSD_STATE_NAMES) as TcpState[]).find((s) => FREEBSD_STATE_NAMES[s] === args[1]);
    if (state === undefined) return `tcpdrop -s ${args[1]}: not a TCP state`;
    chosen = connections.filter((c) => c.state === state);
  } else {
    return `tcpdrop ${args.join(' ')}: only -a, -s STATE and LADDR LPORT FADDR FPORT are understood`;
  }
  for (const connection of chosen) context.stack.tcp.abort(connection);
  return chosen.length;
}
