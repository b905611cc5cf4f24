/**
 * The parsed form of a packetdrill script: option lines, then events in file order. Each event
 * has a time (when it happens, or when an outbound packet is expected) and one action: a packet
 * the script injects (`<`) or expects (`>`), a system call, or a backtick shell line.
 *
 * Times are seconds as written; the runner turns them into milliseconds of virtual time.
 */

/** A point in time as written: `0.1` (absolute) or `+0.1` (after the previous event). */
export interface TimePoint {
  readonly relative: boolean;
  readonly seconds: number;
}

/** When an event happens. */
export type EventTime =
  /** `0.100` or `+.1` */
  | { readonly kind: 'point'; readonly at: TimePoint }
  /** `*`: an outbound packet may come at any time; anything else happens now. */
  | { readonly kind: 'any' }
  /** `0.1~0.3` or `+0.1~+0.3`: an outbound packet anywhere in the range. */
  | { readonly kind: 'range'; readonly low: TimePoint; readonly high: TimePoint };

/** One TCP option as a script writes it. `undefined` values are not checked (`mss` alone). */
export type OptionSpec =
  | { readonly kind: 'nop' }
  | { readonly kind: 'eol' }
  | { readonly kind: 'mss'; readonly value?: number }
  | { readonly kind: 'wscale'; readonly value?: number }
  | { readonly kind: 'sackOK' }
  | { readonly kind: 'sack'; readonly blocks?: readonly (readonly [number, number])[] }
  | { readonly kind: 'TS'; readonly val?: number; readonly ecr?: number };

/** IP ECN codepoint written in brackets: `[ect0]`, `[ce]`… */
export type EcnSpec = 'noecn' | 'ect0' | 'ect1' | 'ce' | 'ect01';

/** A TCP packet line: `< S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>`. */
export interface TcpPacketSpec {
  readonly protocol: 'tcp';
  /** Flag letters as written: S F R P . U E W (and `-` for none). */
  readonly flags: string;
  /** `...(N)` (nplab): the sequence number is not checked; only outbound lines may write it. */
  readonly anySequence?: boolean;
  readonly seqStart: number;
  readonly seqEnd: number;
  readonly length: number;
  readonly ack?: number;
  readonly window?: number;
  readonly urgent?: number;
  /** The option list; `'any'` for `<...>`; undefined when the line has none. */
  readonly options?: readonly OptionSpec[] | 'any';
  readonly ecn?: EcnSpec;
  /** `(tos 0x20)`: the whole TOS octet (DSCP and ECN). */
  readonly tos?: number;
  /** `(ttl 4)`: the IP TTL. */
  readonly ttl?: number;
}

/** A UDP packet line: `< udp (100)`. */
export interface UdpPacketSpec {
  readonly protocol: 'udp';
  readonly length: number;
  readonly ecn?: EcnSpec;
  readonly tos?: number;
  readonly ttl?: number;
}

/** What an ICMP error quotes: a TCP segment by sequence range, or a UDP datagram by length. */
export type QuotedSpec =
  | { readonly protocol: 'tcp'; readonly seqStart: number; readonly seqEnd: number; readonly length: number }
  | { readonly protocol: 'udp'; readonly length: number };

/** An ICMP packet line: `< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]`. */
export interface IcmpPacketSpec {
  readonly protocol: 'icmp';
  /** `unreachable`, `time_exceeded`, `echo_request`, `echo_reply`… */
  readonly type: string;
  /** `port_unreachable`, `frag_needed`…; undefined = any code. */
  readonly code?: string;
  readonly mtu?: number;
  readonly quoted?: QuotedSpec;
}

/** A packet injected (`<`, inbound to ustack) or expected (`>`, outbound from ustack). */
export interface PacketEvent {
  readonly kind: 'packet';
  readonly direction: 'inbound' | 'outbound';
  readonly packet: TcpPacketSpec | UdpPacketSpec | IcmpPacketSpec;
}

/** An argument or result of a system call. */
export type Expression =
  | { readonly kind: 'elided' }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'symbol'; readonly name: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'array'; readonly items: readonly Expression[] }
  | { readonly kind: 'struct'; readonly fields: readonly { readonly name: string; readonly value: Expression }[] }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expression[] }
  | { readonly kind: 'binary'; readonly operator: '|'; readonly left: Expression; readonly right: Expression };

/** A system call line: `+0 accept(3, ..., ...) = 4` or `= -1 EAGAIN (Resource …)`. */
export interface SyscallEvent {
  readonly kind: 'syscall';
  readonly name: string;
  readonly args: readonly Expression[];
  /** The expected return value. */
  readonly result: Expression;
  /** The expected errno name when the result is -1. */
  readonly errno?: string;
  /** For a blocking call (`0...0.2`): when it must return. */
  readonly end?: TimePoint;
}

/** A backtick line: a shell command in packetdrill; here mapped to ustack configuration. */
export interface ShellEvent {
  readonly kind: 'shell';
  readonly command: string;
}

/**
 * A `%{ ... }%` block: Python code packetdrill runs with the `tcpi_*` fields of the socket
 * under test's TCP_INFO, read when the event happens, defined as variables.
 */
export interface CodeEvent {
  readonly kind: 'code';
  readonly code: string;
}

/** An event with where it came from. */
export type ScriptEvent = (PacketEvent | SyscallEvent | ShellEvent | CodeEvent) & {
  readonly time: EventTime;
  /** 1-based line number in the script. */
  readonly line: number;
  /** The source text of the event, trimmed. */
  readonly text: string;
};

/** An option line `--name=value` (or `--flag`). */
export interface ScriptOption {
  readonly name: string;
  readonly value: string | undefined;
  readonly line: number;
}

/** A whole script. */
export interface Script {
  readonly options: readonly ScriptOption[];
  readonly events: readonly ScriptEvent[];
}
