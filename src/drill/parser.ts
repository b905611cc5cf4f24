/**
 * Parser of the packetdrill script language (the subset ustack's runner understands, which is
 * most of what TCP/UDP/ICMP scripts over IPv4 use):
 *
 *     --tolerance_usecs=10000                          option lines
 *     `sysctl -q net.ipv4.tcp_timestamps=0`            backtick shell lines
 *     0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3  system calls, `...` for defaults
 *     +0...0.2 accept(3, ..., ...) = 4                 a blocking call and when it returns
 *     +.1   < S 0:0(0) win 32792 <mss 1460,nop,wscale 7>     an injected packet
 *     *     > S. 0:0(0) ack 1 <...>                     an expected packet, any time, any options
 *     0.1~0.3 > . 1:1(0) ack 1                          an expected packet in a time range
 *     +0    < icmp unreachable port_unreachable [1:1(0)]
 *     +0    > udp (100)
 *
 * Comments are `//` to the end of the line and `/* … *\/`. A statement continues on the next line
 * while a bracket is open. Errors name the line.
 */
import type {
  EcnSpec,
  EventTime,
  Expression,
  IcmpPacketSpec,
  OptionSpec,
  PacketEvent,
  QuotedSpec,
  Script,
  ScriptEvent,
  ScriptOption,
  SyscallEvent,
  TcpPacketSpec,
  TimePoint,
  UdpPacketSpec,
} from './script.js';
import { UnsupportedFeatureError } from './unsupported.js';

/** A script that cannot be parsed: the line and what is wrong there. */
export class ScriptSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'ScriptSyntaxError';
  }
}

/** One statement: text joined from one or more physical lines, and its first line number. */
interface Statement {
  readonly text: string;
  readonly line: number;
}

/**
 * nplab packetdrill's conditional lines: `#ifdef NAME`, `#ifndef NAME`, `#else`, `#endif`.
 * Lines of a branch not taken, and the directives themselves, become empty (line numbers hold).
 */
function preprocess(source: string, defines: ReadonlySet<string>): string {
  const lines = source.split('\n');
  /** One entry per open #if: whether its current branch is taken, and whether its parent's is. */
  const open: { taken: boolean; parentTaken: boolean; line: number; sawElse: boolean }[] = [];
  const active = (): boolean => open.length === 0 || open[open.length - 1].taken;
  const out = lines.map((line, index) => {
    const directive = /^\s*#\s*(ifdef|ifndef|else|endif)\b\s*(\S*)/.exec(line);
    if (!directive) return active() ? line : '';
    const [, word, name] = directive;
    if (word === 'ifdef' || word === 'ifndef') {
      if (name === '') throw new ScriptSyntaxError(index + 1, `#${word} needs a name`);
      const parentTaken = active();
      open.push({ taken: parentTaken && defines.has(name) === (word === 'ifdef'), parentTaken, line: index + 1, sawElse: false });
    } else {
      const top = open[open.length - 1];
      if (!top) throw new ScriptSyntaxError(index + 1, `#${word} without #ifdef`);
      if (word === 'else') {
        if (top.sawElse) throw new ScriptSyntaxError(index + 1, 'a second #else');
        top.sawElse = true;
        top.taken = top.parentTaken && !top.taken;
      } else {
        open.pop();
      }
    }
    return '';
  });
  if (open.length > 0) throw new ScriptSyntaxError(open[open.length - 1].line, '#ifdef without #endif');
  return out.join('\n');
}

/**
 * Blanks out comments, keeping newlines (so line numbers hold) and leaving strings, backtick
 * commands and `%{ … }%` code blocks intact (`//` is Python's integer division).
 */
function stripComments(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '"' || c === '`' || (c === '%' && source[i + 1] === '{')) {
      const closing = c === '%' ? '}%' : c;
      const close = source.indexOf(closing, i + (c === '%' ? 2 : 1));
      const end = close < 0 ? source.length : close + closing.length;
      out += source.slice(i, end);
      i = end;
    } else if (c === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (c === '/' && source[i + 1] === '*') {
      const close = source.indexOf('*/', i + 2);
      const end = close < 0 ? source.length : close + 2;
      out += source.slice(i, end).replace(/[^\n]/g, ' ');
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * Splits into statements. A statement goes on over the next lines while (), [] or {} are open,
 * and inside a backtick command or a `%{ … }%` block, whose lines keep their newlines (shell
 * commands and Python code are line-structured).
 */
function statements(source: string): Statement[] {
  const lines = stripComments(source).split('\n');
  const result: Statement[] = [];
  let pending = '';
  let pendingLine = 0;
  let depth = 0;
  /** What the end of the previous line was inside. */
  let mode: 'normal' | 'string' | 'backtick' | 'code' = 'normal';
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    const continuing = depth > 0 || mode !== 'normal';
    if (!continuing && line.trim() === '') return;
    if (!continuing) {
      pending = line.trim();
      pendingLine = index + 1;
    } else if (mode === 'backtick' || mode === 'code') {
      pending += '\n' + line;
    } else {
      pending += ' ' + line.trim();
    }
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (mode === 'string') {
        if (c === '\\') i++;
        else if (c === '"') mode = 'normal';
      } else if (mode === 'backtick') {
        if (c === '`') mode = 'normal';
      } else if (mode === 'code') {
        if (c === '}' && line[i + 1] === '%') {
          mode = 'normal';
          i++;
        }
      } else if (c === '"') mode = 'string';
      else if (c === '`') mode = 'backtick';
      else if (c === '%' && line[i + 1] === '{') {
        mode = 'code';
        i++;
      } else if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') depth = Math.max(0, depth - 1);
    }
    if (depth === 0 && mode === 'normal') {
      result.push({ text: pending, line: pendingLine });
      pending = '';
    }
  });
  if (pending !== '') result.push({ text: pending, line: pendingLine });
  return result;
}

const NUMBER = String.raw`(?:\d+\.?\d*|\.\d+)`;
const TIME_PATTERN = new RegExp(String.raw`^(\*|(\+?)(${NUMBER})(?:\s*(\.\.\.|~)\s*(\+?)(${NUMBER}))?)(?=\s|$)`);

/** Parses the leading time of an event, returning it and the rest of the text. */
function parseTime(text: string, line: number): { time: EventTime; end?: TimePoint; rest: string } | null {
  const match = TIME_PATTERN.exec(text);
  if (!match) return null;
  const rest = text.slice(match[0].length).trim();
  if (match[1] === '*') return { time: { kind: 'any' }, rest };
  const start: TimePoint = { relative: match[2] === '+', seconds: Number(match[3]) };
  if (!Number.isFinite(start.seconds)) throw new ScriptSyntaxError(line, `bad time '${match[1]}'`);
  if (match[4] === undefined) return { time: { kind: 'point', at: start }, rest };
  // As packetdrill (run.c, adjust_relative_event_times): the end of a blocking call counts from
  // the same base as its start, so `+0...0.1` after an event at 0.2 s ends at 0.3 s; a range is
  // `a~b` (absolute) or `+a~+b` (relative). A `+` on the second number alone makes it relative.
  const second: TimePoint = { relative: (match[4] === '...' && start.relative) || match[5] === '+', seconds: Number(match[6]) };
  if (match[4] === '~') return { time: { kind: 'range', low: start, high: second }, rest };
  return { time: { kind: 'point', at: start }, end: second, rest };
}

/** A cursor over one statement's text. */
class Cursor {
  position = 0;
  constructor(
    readonly text: string,
    readonly line: number,
  ) {}

  get done(): boolean {
    this.skipSpace();
    return this.position >= this.text.length;
  }

  skipSpace(): void {
    while (this.position < this.text.length && /\s/.test(this.text[this.position])) this.position++;
  }

  peek(): string {
    this.skipSpace();
    return this.text[this.position] ?? '';
  }

  /** Consumes `pattern` at the cursor (sticky) and returns the match, or null. */
  take(pattern: RegExp): RegExpExecArray | null {
    this.skipSpace();
    const sticky = new RegExp(pattern.source, 'y' + pattern.flags.replace(/[gy]/g, ''));
    sticky.lastIndex = this.position;
    const match = sticky.exec(this.text);
    if (match) this.position = sticky.lastIndex;
    return match;
  }

  expect(pattern: RegExp, what: string): RegExpExecArray {
    const match = this.take(pattern);
    if (!match) throw this.error(`expected ${what}`);
    return match;
  }

  error(detail: string): ScriptSyntaxError {
    const near = this.text.slice(this.position, this.position + 30);
    return new ScriptSyntaxError(this.line, `${detail}${near ? ` at '${near}'` : ' at end of line'}`);
  }
}

function integer(text: string): number {
  return text.startsWith('0x') || text.startsWith('0X') ? parseInt(text, 16) : Number(text);
}

/** IP header fields a packet line may pin (packetdrill's ip_info). */
interface IpInfo {
  ecn?: EcnSpec;
  tos?: number;
  ttl?: number;
}

/**
 * packetdrill's `[ect0]`, `(tos 0x20)`, `(ttl 4)`, `[ce, flowlabel 7]` (brackets or
 * parentheses): the ECN codepoint, the whole TOS octet, or the TTL. A flow label is IPv6's.
 */
function takeIpInfo(cursor: Cursor, into: IpInfo): boolean {
  const match = cursor.take(/[[(]\s*(noecn|ect0|ect1|ce|ect01|tos\s+0x[0-9a-f]+|ttl\s+\d+)\s*[\])]/i);
  if (!match) return false;
  const [word, value] = match[1].split(/\s+/);
  if (word === 'tos') into.tos = parseInt(value, 16);
  else if (word === 'ttl') into.ttl = Number(value);
  else into.ecn = word as EcnSpec;
  if (into.tos !== undefined && into.tos > 0xff) throw cursor.error('tos out of range for 8 bits');
  return true;
}

/** `<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>` or `<...>`. */
function parseOptions(cursor: Cursor): readonly OptionSpec[] | 'any' {
  const match = cursor.expect(/<([^>]*)>/, 'an option list <...>');
  const body = match[1].trim();
  if (body === '...') return 'any';
  if (body === '') return [];
  return body.split(',').map((item): OptionSpec => {
    const words = item.trim().split(/\s+/);
    const number = (index: number): number | undefined => {
      if (words[index] === undefined) return undefined;
      const value = integer(words[index]);
      if (!Number.isInteger(value)) throw new ScriptSyntaxError(cursor.line, `bad number '${words[index]}' in option '${item.trim()}'`);
      return value;
    };
    switch (words[0]) {
      case 'nop':
        return { kind: 'nop' };
      case 'eol':
        return { kind: 'eol' };
      case 'mss':
        return { kind: 'mss', value: number(1) };
      case 'wscale':
        return { kind: 'wscale', value: number(1) };
      case 'sackOK':
        return { kind: 'sackOK' };
      case 'sack': {
        if (words.length === 1) return { kind: 'sack' };
        const blocks = words.slice(1).map((block) => {
          const edges = /^(\d+):(\d+)$/.exec(block);
          if (!edges) throw new ScriptSyntaxError(cursor.line, `bad SACK block '${block}'`);
          return [Number(edges[1]), Number(edges[2])] as const;
        });
        return { kind: 'sack', blocks };
      }
      case 'TS': {
        if (words.length === 1) return { kind: 'TS' };
        if (words[1] !== 'val' || (words.length > 3 && words[3] !== 'ecr')) {
          throw new ScriptSyntaxError(cursor.line, `expected 'TS val X ecr Y', got '${item.trim()}'`);
        }
        return { kind: 'TS', val: number(2), ecr: number(4) };
      }
      case 'FO':
      case 'FOEXP':
        throw new UnsupportedFeatureError('TCP Fast Open', `the TCP option '${item.trim()}' (line ${cursor.line})`);
      case 'md5':
        throw new UnsupportedFeatureError('TCP-MD5/AO', `the TCP option '${item.trim()}' (line ${cursor.line})`);
      default:
        throw new ScriptSyntaxError(cursor.line, `unknown TCP option '${item.trim()}'`);
    }
  });
}

function parseTcpPacket(cursor: Cursor, ip: IpInfo): TcpPacketSpec {
  takeIpInfo(cursor, ip);
  const flags = cursor.expect(/[SFRPUEW.\-]+(?=\s)/, 'TCP flags (S, S., ., P., F., R…)')[0];
  takeIpInfo(cursor, ip);
  const seq = cursor.expect(/(?:(\d+):(\d+)|\.\.\.)\((\d+)\)/, 'a sequence range start:end(length) or ...(length)');
  const anySequence = seq[1] === undefined;
  const length = Number(seq[3]);
  const seqStart = anySequence ? 0 : Number(seq[1]);
  const seqEnd = anySequence ? length : Number(seq[2]);
  if ((seqEnd - seqStart) >>> 0 !== length) throw new ScriptSyntaxError(cursor.line, `sequence range ${seq[0]}: end - start is not the length`);
  let ack: number | undefined;
  let window: number | undefined;
  let urgent: number | undefined;
  let options: readonly OptionSpec[] | 'any' | undefined;
  while (!cursor.done) {
    if (cursor.take(/ack\b/)) ack = integer(cursor.expect(/0x[0-9a-f]+|\d+/i, 'an ack number')[0]);
    else if (cursor.take(/win\b/)) window = integer(cursor.expect(/0x[0-9a-f]+|\d+/i, 'a window')[0]);
    else if (cursor.take(/urg\b/)) urgent = integer(cursor.expect(/\d+/, 'an urgent pointer')[0]);
    else if (cursor.peek() === '<') options = parseOptions(cursor);
    else if (cursor.peek() === '[' || cursor.peek() === '(') {
      if (!takeIpInfo(cursor, ip)) throw cursor.error('unknown bracketed field');
    } else throw cursor.error('unexpected text in TCP packet');
  }
  if (window !== undefined && (window < 0 || window > 0xffff)) throw new ScriptSyntaxError(cursor.line, `window ${window} does not fit 16 bits`);
  return { protocol: 'tcp', flags, ...(anySequence ? { anySequence } : {}), seqStart, seqEnd, length, ack, window, urgent, options, ...ip };
}

function parseQuoted(cursor: Cursor): QuotedSpec {
  const udp = cursor.take(/\[\s*udp\s*\(\s*(\d+)\s*\)\s*\]/);
  if (udp) return { protocol: 'udp', length: Number(udp[1]) };
  const tcp = cursor.expect(/\[\s*(\d+):(\d+)\((\d+)\)\s*\]/, 'a quoted packet [start:end(length)] or [udp (N)]');
  return { protocol: 'tcp', seqStart: Number(tcp[1]), seqEnd: Number(tcp[2]), length: Number(tcp[3]) };
}

function parseIcmpPacket(cursor: Cursor): IcmpPacketSpec {
  const type = cursor.expect(/[a-z_]+/, 'an ICMP type (unreachable, time_exceeded…)')[0];
  let code: string | undefined;
  let mtu: number | undefined;
  let quoted: QuotedSpec | undefined;
  while (!cursor.done) {
    if (cursor.take(/mtu\b/)) mtu = Number(cursor.expect(/\d+/, 'an MTU')[0]);
    else if (cursor.peek() === '[') quoted = parseQuoted(cursor);
    else if (code === undefined) code = cursor.expect(/[a-z_]+/, 'an ICMP code')[0];
    else throw cursor.error('unexpected text in ICMP packet');
  }
  return { protocol: 'icmp', type, code, mtu, quoted };
}

function parsePacket(text: string, line: number): PacketEvent {
  const cursor = new Cursor(text, line);
  const direction = cursor.expect(/[<>]/, "'<' or '>'")[0] === '<' ? 'inbound' : 'outbound';
  const ip: IpInfo = {};
  takeIpInfo(cursor, ip);
  if (cursor.take(/udp\b/)) {
    const length = Number(cursor.expect(/\(\s*(\d+)\s*\)/, 'a UDP payload length (N)')[1]);
    takeIpInfo(cursor, ip);
    const packet: UdpPacketSpec = { protocol: 'udp', length, ...ip };
    if (!cursor.done) throw cursor.error('unexpected text after UDP packet');
    return { kind: 'packet', direction, packet };
  }
  if (cursor.take(/icmp\b/)) return { kind: 'packet', direction, packet: parseIcmpPacket(cursor) };
  return { kind: 'packet', direction, packet: parseTcpPacket(cursor, ip) };
}

// ---- system call expressions ---------------------------------------------------------------

function parseExpression(cursor: Cursor): Expression {
  let left = parsePrimary(cursor);
  while (cursor.take(/\|(?!\|)/)) {
    left = { kind: 'binary', operator: '|', left, right: parsePrimary(cursor) };
  }
  return left;
}

function parseList(cursor: Cursor, close: string): Expression[] {
  const items: Expression[] = [];
  if (cursor.peek() === close) {
    cursor.position++;
    return items;
  }
  for (;;) {
    items.push(parseExpression(cursor));
    if (cursor.take(/,/)) continue;
    cursor.expect(new RegExp('\\' + close), `'${close}'`);
    return items;
  }
}

function parsePrimary(cursor: Cursor): Expression {
  if (cursor.take(/\.\.\./)) return { kind: 'elided' };
  const number = cursor.take(/-?(0x[0-9a-f]+|\d+)/i);
  if (number) return { kind: 'number', value: number[0].startsWith('-') ? -integer(number[1]) : integer(number[1]) };
  const string = cursor.take(/"((?:[^"\\]|\\.)*)"(\.\.\.)?/);
  if (string) return { kind: 'string', value: string[1] };
  if (cursor.take(/\[/)) return { kind: 'array', items: parseList(cursor, ']') };
  if (cursor.take(/\{/)) {
    // `{fd=4, events=POLLIN}`, `{msg_iov(1)=[…], msg_flags=0}` (a length in parentheses, as
    // packetdrill writes arrays' sizes), or positional `{..., 100}` (an iovec: base, length).
    const fields: { name: string; value: Expression }[] = [];
    if (cursor.take(/\}/)) return { kind: 'struct', fields };
    for (let index = 0; ; index++) {
      const named = cursor.take(/\.?([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*(?:\.\.\.|\d+)\s*\))?\s*=(?!=)/);
      fields.push({ name: named ? named[1] : `#${index}`, value: parseExpression(cursor) });
      if (cursor.take(/,/)) continue;
      cursor.expect(/\}/, "'}'");
      return { kind: 'struct', fields };
    }
  }
  const name = cursor.take(/[A-Za-z_][A-Za-z0-9_]*/);
  if (name) {
    if (cursor.take(/\(/)) return { kind: 'call', name: name[0], args: parseList(cursor, ')') };
    return { kind: 'symbol', name: name[0] };
  }
  throw cursor.error('expected an expression');
}

function parseSyscall(text: string, line: number, end: TimePoint | undefined): SyscallEvent {
  const cursor = new Cursor(text, line);
  const name = cursor.expect(/[a-z_][a-z0-9_]*/, 'a system call name')[0];
  cursor.expect(/\(/, "'(' after the call's name");
  const args = parseList(cursor, ')');
  cursor.expect(/=/, "'= result' after the call");
  const result = parseExpression(cursor);
  const errno = cursor.take(/E[A-Z0-9]+/)?.[0];
  if (cursor.peek() === '(') cursor.position = cursor.text.length; // the strerror text
  if (!cursor.done) throw cursor.error('unexpected text after the result');
  return { kind: 'syscall', name, args, result, errno, end };
}

/**
 * Parses a whole script. `defines` are the names `#ifdef` tests (nplab's `-D NAME`). Throws
 * ScriptSyntaxError naming the line of the first problem.
 */
export function parseScript(source: string, defines: ReadonlySet<string> = new Set()): Script {
  const options: ScriptOption[] = [];
  const events: ScriptEvent[] = [];
  for (const statement of statements(preprocess(source, defines))) {
    const { text, line } = statement;
    if (text.startsWith('--')) {
      for (const word of text.split(/\s+/)) {
        const match = /^--([A-Za-z0-9_-]+)(?:=(.*))?$/.exec(word);
        if (!match) throw new ScriptSyntaxError(line, `bad option '${word}'`);
        options.push({ name: match[1].replace(/-/g, '_'), value: match[2], line });
      }
      continue;
    }
    const timed = parseTime(text, line);
    const body = timed ? timed.rest : text;
    const time: EventTime = timed ? timed.time : { kind: 'point', at: { relative: true, seconds: 0 } };
    if (body.startsWith('`')) {
      const close = body.lastIndexOf('`');
      if (close <= 0) throw new ScriptSyntaxError(line, 'unterminated backtick command');
      events.push({ kind: 'shell', command: body.slice(1, close).trim(), time, line, text });
      continue;
    }
    if (body.startsWith('%{')) {
      const close = body.lastIndexOf('}%');
      if (close < 2) throw new ScriptSyntaxError(line, 'unterminated %{ code block');
      // As packetdrill: spaces and tabs at either end go (Python minds indentation). A final
      // line continuation joined, in packetdrill's generated file, the blank line after it.
      const code = body
        .slice(2, close)
        .replace(/^[ \t]+|[ \t]+$/g, '')
        .replace(/\\\s*$/, '');
      events.push({ kind: 'code', code, time, line, text });
      continue;
    }
    if (!timed) throw new ScriptSyntaxError(line, `expected a time (0, +0.1, *, 0.1~0.2) at '${text.slice(0, 30)}'`);
    if (body.startsWith('<') || body.startsWith('>')) {
      if (timed.end) throw new ScriptSyntaxError(line, 'a packet takes a time, not a start...end range');
      events.push({ ...parsePacket(body, line), time, line, text });
    } else {
      events.push({ ...parseSyscall(body, line, timed.end), time, line, text });
    }
  }
  return { options, events };
}
