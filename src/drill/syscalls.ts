/**
 * System call lines, carried out on ustack's Berkeley API. Arguments written `...` take
 * packetdrill's defaults: the address of a bind is the local address and `--bind_port`
 * (8080), of a connect or sendto the remote address and `--connect_port` (8080); buffers are
 * zeros of the length given. Values a call returns through an argument (`getsockopt(…, [1],
 * [4])`, `ioctl(…, SIOCINQ, [1000])`, poll's `revents`) are compared with what is written.
 */
import { Errno, ErrnoError } from '../core/errno.js';
import type { BerkeleySockets, ReceivedMessage } from '../socket-api/berkeley.js';
import * as C from '../socket-api/berkeley-constants.js';
import type { Expression, SyscallEvent } from './script.js';
import { UnsupportedFeatureError } from './unsupported.js';
import type { Flow } from './wire.js';

/** A call that was understood but whose outcome differs from the script, or cannot be made. */
export class SyscallProblem extends Error {}

/** Symbols a script may use, by name. */
const CONSTANTS: Readonly<Record<string, number>> = {
  ...Object.fromEntries(Object.entries(C as Record<string, unknown>).filter((entry): entry is [string, number] => typeof entry[1] === 'number')),
  ...Errno,
  EWOULDBLOCK: Errno.EAGAIN,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  INADDR_ANY: 0,
  PF_INET: C.AF_INET,
  PF_INET6: C.AF_INET6,
  // Google's run_all.py gives the IPv6 variants -D CMSG_LEVEL_IP=SOL_IPV6
  // -D CMSG_TYPE_RECVERR=IPV6_RECVERR (the runner substitutes them: runner.ts).
  SOL_IPV6: C.IPPROTO_IPV6,
  IPV6_RECVERR: 25,
  SOCK_CLOEXEC: 0o2000000,
  SOL_TCP: C.IPPROTO_TCP,
  NULL: 0,
  // Google's run_all.py runs the IPv4 scripts with -D CMSG_LEVEL_IP=SOL_IP
  // -D CMSG_TYPE_RECVERR=IP_RECVERR: the error queue's control message.
  CMSG_LEVEL_IP: C.SOL_IP,
  CMSG_TYPE_RECVERR: C.IP_RECVERR,
  // Linux's numbers for what ustack reports as unsupported (so the script says which feature).
  MSG_FASTOPEN: 0x20000000,
  TCP_FASTOPEN: 23,
  TCP_FASTOPEN_CONNECT: 30,
  TCP_FASTOPEN_KEY: 33,
  TCP_FASTOPEN_NO_COOKIE: 34,
  TCP_MD5SIG: 14,
  TCP_MD5SIG_EXT: 32,
  SO_TIMESTAMPING: 37,
};

/** Socket options and flags of features ustack lacks: using one makes the script UNSUPPORTED. */
const UNSUPPORTED_OPTIONS: Readonly<Record<string, ConstructorParameters<typeof UnsupportedFeatureError>[0]>> = {
  [`${C.IPPROTO_TCP}:23`]: 'TCP Fast Open',
  [`${C.IPPROTO_TCP}:30`]: 'TCP Fast Open',
  [`${C.IPPROTO_TCP}:33`]: 'TCP Fast Open',
  [`${C.IPPROTO_TCP}:34`]: 'TCP Fast Open',
  [`${C.IPPROTO_TCP}:14`]: 'TCP-MD5/AO',
  [`${C.IPPROTO_TCP}:32`]: 'TCP-MD5/AO',
  [`${C.SOL_SOCKET}:37`]: 'SO_TIMESTAMPING',
};

/** Send flags of features ustack lacks. */
function checkSendFlags(flags: number): number {
  if (flags & CONSTANTS.MSG_FASTOPEN) throw new UnsupportedFeatureError('TCP Fast Open', 'a send with MSG_FASTOPEN');
  return flags;
}

/** Evaluates an expression to a number (symbols, `a|b`, htons()). */
export function evaluate(expression: Expression): number {
  switch (expression.kind) {
    case 'number':
      return expression.value;
    case 'symbol': {
      const value = CONSTANTS[expression.name];
      if (value === undefined) throw new SyscallProblem(`unknown symbol ${expression.name}`);
      return value;
    }
    case 'binary':
      return (evaluate(expression.left) | evaluate(expression.right)) >>> 0;
    case 'call':
      if ((expression.name === 'htons' || expression.name === 'htonl' || expression.name === 'ntohs') && expression.args.length === 1)
        return evaluate(expression.args[0]);
      throw new SyscallProblem(`cannot evaluate ${expression.name}(…)`);
    case 'array':
      if (expression.items.length === 1) return evaluate(expression.items[0]);
      throw new SyscallProblem('expected a single value');
    default:
      throw new SyscallProblem(`expected a number, got ${expression.kind}`);
  }
}

function isElided(expression: Expression | undefined): boolean {
  return expression === undefined || expression.kind === 'elided';
}

/** The field `name` of a struct expression. */
function field(expression: Expression, ...names: string[]): Expression | undefined {
  if (expression.kind !== 'struct') return undefined;
  return expression.fields.find((f) => names.includes(f.name))?.value;
}

/** What the runner passes to a call. */
export interface SyscallContext {
  readonly api: BerkeleySockets;
  readonly flow: Flow;
  /** The domain of `socket(..., …)`: AF_INET, or AF_INET6 in the ipv6 and ipv4-mapped-ipv6 modes. */
  readonly socketDomain: number;
  /** The address of `bind(fd, ..., ...)`: ustack's, IPv4-mapped in ipv4-mapped-ipv6. */
  readonly bindAddress: string;
  /** The address of `connect(fd, ..., ...)` and `sendto(…, ..., ...)`: the peer's, IPv4-mapped in ipv4-mapped-ipv6. */
  readonly connectAddress: string;
  readonly bindPort: number;
  readonly connectPort: number;
  /** The script's peer chose this port for passive connections and datagrams to ustack. */
  readonly remotePort: number;
  /** Sockets the script opened, by (live) descriptor: their type. */
  readonly socketTypes: Map<number, number>;
  /**
   * The script's descriptor numbers → ustack's: as in packetdrill, the number a script writes
   * for socket(), accept() or epoll_create() names the descriptor, whatever number it gets.
   */
  readonly descriptors: Map<number, number>;
}

/**
 * The buffer of a read or write: `NULL` is a bad pointer (the call fails with EFAULT, as in
 * C); anything else is zeros of the length given.
 */
function buffer(expression: Expression | undefined, length: number): Uint8Array | null {
  return expression?.kind === 'symbol' && expression.name === 'NULL' ? null : new Uint8Array(length);
}

/** Total length of an iovec array `[{..., 100}, {..., 200}]` (fields iov_base, iov_len, or positional). */
function iovLength(iov: Expression | undefined): number {
  if (!iov || iov.kind !== 'array') throw new SyscallProblem('expected msg_iov=[{..., length}, …]');
  return iov.items.reduce((total, item) => {
    const length = field(item, 'iov_len', '#1');
    if (!length) throw new SyscallProblem('each iovec is {base, length}');
    return total + evaluate(length);
  }, 0);
}

/** The fields of struct sock_extended_err as a script writes them, and ExtendedError's names. */
const EXTENDED_ERROR_FIELDS = [
  ['ee_errno', 'errno'],
  ['ee_origin', 'origin'],
  ['ee_type', 'type'],
  ['ee_code', 'code'],
  ['ee_info', 'info'],
  ['ee_data', 'data'],
] as const;

/**
 * Compares the control messages a script expects from recvmsg with what ustack attached:
 * TCP_CM_INQ (SOL_TCP) and IP_RECVERR (SOL_IP, a struct sock_extended_err), as many as written.
 * On an AF_INET6 socket the error queue's message is SOL_IPV6 / IPV6_RECVERR, whatever family
 * the error came in: Linux's inet_recv_error reads it with ipv6_recv_error there.
 */
function checkControl(control: Expression | undefined, result: ReceivedMessage, socketDomain: number): void {
  const recvErrorKind = socketDomain === C.AF_INET6 ? `${C.IPPROTO_IPV6}:${CONSTANTS.IPV6_RECVERR}` : `${C.SOL_IP}:${C.IP_RECVERR}`;
  if (!control || isElided(control)) return;
  const messages = control.kind === 'array' ? control.items : [control];
  const attached = [result.inq !== undefined ? 'TCP_CM_INQ' : null, result.recvError ? 'IP_RECVERR' : null].filter((name) => name !== null);
  if (messages.length !== attached.length) {
    throw new SyscallProblem(
      `recvmsg attached ${attached.length === 0 ? 'no control message' : attached.join(', ')}, expected ${messages.length} control message(s)`,
    );
  }
  for (const message of messages) {
    const level = field(message, 'cmsg_level');
    const type = field(message, 'cmsg_type');
    const data = field(message, 'cmsg_data');
    const kind = level && type ? `${evaluate(level)}:${evaluate(type)}` : '';
    if (kind === `${C.IPPROTO_TCP}:${C.TCP_CM_INQ}`) {
      if (result.inq === undefined) throw new SyscallProblem('recvmsg attached no TCP_CM_INQ (is TCP_INQ on?)');
      checkOutput('recvmsg', 'TCP_CM_INQ', result.inq, writtenValue(data));
    } else if (kind === recvErrorKind) {
      const error = result.recvError;
      if (!error) throw new SyscallProblem('recvmsg attached no IP_RECVERR');
      if (!data || data.kind !== 'struct') throw new SyscallProblem('IP_RECVERR data is {ee_errno=…, ee_origin=…, …}');
      for (const [name, key] of EXTENDED_ERROR_FIELDS) checkOutput('recvmsg', name, error[key], writtenValue(field(data, name)));
    } else {
      throw new SyscallProblem('the runner checks only TCP_CM_INQ and IP_RECVERR control messages');
    }
  }
}

/** A symbol's name, for messages. */
function symbolName(expression: Expression | undefined): string {
  return expression?.kind === 'symbol' ? expression.name : String(expression && expression.kind === 'number' ? expression.value : '?');
}

/** The expected value written in an output argument like `[1]`, or undefined for `...`. */
function writtenValue(expression: Expression | undefined): number | undefined {
  if (expression === undefined || isElided(expression)) return undefined;
  return evaluate(expression);
}

function checkOutput(call: string, what: string, got: number, expected: number | undefined): void {
  if (expected !== undefined && got !== expected) throw new SyscallProblem(`${call} returned ${what} ${got}, expected ${expected}`);
}

function addressOf(expression: Expression | undefined, fallbackAddress: string, fallbackPort: number): { address: string; port: number } {
  if (expression === undefined || isElided(expression)) return { address: fallbackAddress, port: fallbackPort };
  const port = field(expression, 'sin_port');
  const address = field(expression, 'sin_addr');
  let text = fallbackAddress;
  if (address?.kind === 'call' && address.name === 'inet_addr' && address.args[0]?.kind === 'string') text = address.args[0].value;
  return { address: text, port: port ? evaluate(port) : fallbackPort };
}

/**
 * Starts the call of `event`. Returns its value (a number), or a Promise for a call that may
 * block. Errors come as thrown or rejected ErrnoErrors; a disagreement with an output argument
 * as a SyscallProblem.
 */
export function startSyscall(event: SyscallEvent, context: SyscallContext): number | Promise<number> {
  const { api, flow } = context;
  const args = event.args;
  const live = (scriptFd: number): number => context.descriptors.get(scriptFd) ?? scriptFd;
  const fd = (): number => live(evaluate(args[0]));
  const local = context.bindAddress;
  const remote = context.connectAddress;
  switch (event.name) {
    case 'socket': {
      const domain = isElided(args[0]) ? context.socketDomain : evaluate(args[0]);
      const type = evaluate(args[1]);
      const result = api.socket(domain, type & ~0o2000000, isElided(args[2]) ? 0 : evaluate(args[2]));
      context.socketTypes.set(result, type & 0xf);
      return result;
    }
    case 'bind': {
      const target = addressOf(args[1], local, context.bindPort);
      api.bind(fd(), target);
      flow.localPort = target.port || api.getsockname(fd()).port;
      flow.remotePort = context.remotePort;
      return 0;
    }
    case 'listen':
      api.listen(fd(), isElided(args[1]) ? 128 : evaluate(args[1]));
      flow.localPort = api.getsockname(fd()).port;
      flow.remotePort = context.remotePort;
      return 0;
    case 'accept':
    case 'accept4':
      return api.accept(fd()).then((accepted) => accepted.fd);
    case 'connect': {
      const descriptor = fd();
      const target = addressOf(args[1], remote, context.connectPort);
      flow.remotePort = target.port;
      flow.localIsn = null;
      flow.tsOffset = null;
      const promise = api.connect(descriptor, target);
      try {
        flow.localPort = api.getsockname(descriptor).port;
      } catch {
        // the descriptor is bad; connect's own error says so
      }
      return promise.then(() => 0);
    }
    case 'write':
    case 'send': {
      const flags = event.name === 'send' && !isElided(args[3]) ? checkSendFlags(evaluate(args[3])) : 0;
      return api.send(fd(), buffer(args[1], evaluate(args[2])), flags);
    }
    case 'sendto': {
      const descriptor = fd();
      const target = addressOf(args[4], remote, context.connectPort);
      if (context.socketTypes.get(descriptor) === C.SOCK_DGRAM) flow.remotePort = target.port;
      const promise = api.sendto(descriptor, buffer(args[1], evaluate(args[2])), target, isElided(args[3]) ? 0 : checkSendFlags(evaluate(args[3])));
      if (context.socketTypes.get(descriptor) === C.SOCK_DGRAM) flow.localPort = api.getsockname(descriptor).port;
      return promise;
    }
    case 'sendmsg': {
      // sendmsg(fd, {msg_name(...)=..., msg_iov(N)=[{..., len}, …], msg_flags=0}, flags)
      const flags = isElided(args[2]) ? 0 : checkSendFlags(evaluate(args[2]));
      const control = field(args[1], 'msg_control');
      if (control && !isElided(control)) throw new SyscallProblem('sendmsg with msg_control is not supported by the runner');
      return api.send(fd(), new Uint8Array(iovLength(field(args[1], 'msg_iov'))), flags);
    }
    case 'read':
    case 'recv':
    case 'recvfrom': {
      const flags = event.name !== 'read' && !isElided(args[3]) ? evaluate(args[3]) : 0;
      return api.recvInto(fd(), buffer(args[1], evaluate(args[2])), flags);
    }
    case 'recvmsg': {
      // recvmsg(fd, {msg_iov(1)=[{..., len}], msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=N}], msg_flags=0}, flags)
      // msg_flags and the control messages are what the call returned, compared as packetdrill does.
      const message = args[1];
      const flags = isElided(args[2]) ? 0 : evaluate(args[2]);
      return api.recvmsg(fd(), iovLength(field(message, 'msg_iov')), flags).then((result) => {
        checkOutput('recvmsg', 'msg_flags', result.flags, writtenValue(field(message, 'msg_flags')));
        checkControl(field(message, 'msg_control'), result, context.socketDomain);
        return result.data.length;
      });
    }
    case 'epoll_create':
    case 'epoll_create1':
      return api.epollCreate(event.name === 'epoll_create' ? evaluate(args[0]) : 1);
    case 'epoll_ctl': {
      const event4 = args[3];
      const events = field(event4, 'events');
      const data = field(event4, 'fd', 'ptr', 'u32', 'u64');
      // The data of an entry written as fd=N is that descriptor (ustack's number for it).
      const registered = events ? { events: evaluate(events), data: data ? (field(event4, 'fd') ? live(evaluate(data)) : evaluate(data)) : 0 } : null;
      api.epollCtl(fd(), evaluate(args[1]), live(evaluate(args[2])), registered);
      return 0;
    }
    case 'epoll_wait': {
      const expected = args[1];
      const max = evaluate(args[2]);
      const timeout = isElided(args[3]) ? -1 : evaluate(args[3]);
      return api.epollWait(fd(), max, timeout).then((ready) => {
        // The script writes the first event it expects (or {events=0, ptr=0} for none).
        const first = ready[0] ?? { events: 0, data: 0 };
        const wanted = writtenValue(field(expected, 'events'));
        checkOutput('epoll_wait', 'events', first.events >>> 0, wanted === undefined ? undefined : wanted >>> 0);
        const descriptor = field(expected, 'fd');
        if (ready.length > 0 && descriptor) checkOutput('epoll_wait', 'fd', first.data, live(evaluate(descriptor)));
        return ready.length;
      });
    }
    case 'splice':
    case 'vmsplice':
      throw new UnsupportedFeatureError('splice', `${event.name}()`);
    case 'sendfile':
      throw new UnsupportedFeatureError('sendfile', 'sendfile()');
    case 'shutdown':
      api.shutdown(fd(), evaluate(args[1]));
      return 0;
    case 'close':
      api.close(fd());
      context.socketTypes.delete(fd());
      return 0;
    case 'fcntl': {
      const command = evaluate(args[1]);
      if (command === C.F_GETFL) return api.fcntl(fd(), command) | CONSTANTS.O_RDWR; // a socket is open read-write
      return api.fcntl(fd(), command, evaluate(args[2]));
    }
    case 'ioctl': {
      const request = evaluate(args[1]);
      const value = api.ioctl(fd(), request);
      checkOutput('ioctl', 'value', value, writtenValue(args[2]));
      return 0;
    }
    case 'setsockopt': {
      const level = evaluate(args[1]);
      const name = evaluate(args[2]);
      const value = args[3];
      const unsupported = UNSUPPORTED_OPTIONS[`${level}:${name}`];
      if (unsupported) throw new UnsupportedFeatureError(unsupported, `setsockopt ${symbolName(args[2])}`);
      if (level === C.SOL_SOCKET && name === C.SO_LINGER) {
        const onoff = field(value, 'l_onoff', 'onoff');
        const linger = field(value, 'l_linger', 'linger');
        if (!onoff || !linger) throw new SyscallProblem('SO_LINGER takes {l_onoff=N, l_linger=N}');
        api.setsockopt(fd(), level, name, { onoff: evaluate(onoff), linger: evaluate(linger) });
      } else if (value.kind === 'string') {
        api.setsockopt(fd(), level, name, value.value);
      } else {
        api.setsockopt(fd(), level, name, evaluate(value));
      }
      return 0;
    }
    case 'getsockopt': {
      const level = evaluate(args[1]);
      const name = evaluate(args[2]);
      const got = api.getsockopt(fd(), level, name);
      const expected = args[3];
      if (typeof got === 'number') checkOutput('getsockopt', 'value', got, writtenValue(expected));
      else if (typeof got === 'string') {
        if (expected?.kind === 'string' && expected.value !== got) throw new SyscallProblem(`getsockopt returned "${got}", expected "${expected.value}"`);
      } else if (expected && expected.kind === 'struct' && 'onoff' in got) {
        const onoff = field(expected, 'l_onoff', 'onoff');
        const linger = field(expected, 'l_linger', 'linger');
        if (onoff) checkOutput('getsockopt', 'l_onoff', got.onoff, evaluate(onoff));
        if (linger) checkOutput('getsockopt', 'l_linger', got.linger, evaluate(linger));
      }
      return 0;
    }
    case 'poll': {
      const list = args[0];
      if (list.kind !== 'array') throw new SyscallProblem('poll takes [{fd=N, events=…, revents=…}, …]');
      const entries = list.items.map((item) => {
        const descriptor = field(item, 'fd');
        const events = field(item, 'events');
        if (!descriptor || !events) throw new SyscallProblem('each poll entry needs fd= and events=');
        return { fd: live(evaluate(descriptor)), events: evaluate(events), revents: writtenValue(field(item, 'revents')) };
      });
      const timeout = isElided(args[2]) ? -1 : evaluate(args[2]);
      return api
        .poll(
          entries.map(({ fd: d, events }) => ({ fd: d, events })),
          timeout,
        )
        .then((results) => {
          results.forEach((result, i) => checkOutput('poll', `revents of fd ${result.fd}`, result.revents, entries[i].revents));
          return results.filter((r) => r.revents !== 0).length;
        });
    }
    case 'getsockname':
    case 'getpeername':
      event.name === 'getsockname' ? api.getsockname(fd()) : api.getpeername(fd());
      return 0;
    default:
      throw new SyscallProblem(`system call ${event.name}() is not supported by the runner`);
  }
}

/** Describes a call's outcome for messages: `4` or `-1 ECONNREFUSED (Connection refused)`. */
export function describeOutcome(outcome: { value: number } | { error: unknown }): string {
  if ('value' in outcome) return String(outcome.value);
  const error = outcome.error;
  if (error instanceof ErrnoError) return `-1 ${error.code} (${error.message})`;
  return `an exception: ${error instanceof Error ? error.message : String(error)}`;
}
