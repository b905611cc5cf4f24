/**
 * Command-line parsing for every `ustack` command: options declared once with what their value
 * takes, checked before anything is set up, and every mistake reported as one line that names
 * the option and what it takes (`ustack up: --for takes SECONDS, not 'abc'`), exit status 2, as
 * the neighbours (`ip`, `nc`, `ping`) do. Node's `parseArgs` only tokenizes; its own error text
 * never reaches the user.
 */
import { parseArgs } from 'node:util';
import { parseIpv4Address, parseIpv4Cidr } from '../ip/address.js';

/** A mistake on the command line: the one line to print; the command exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

/** One option: a flag (boolean) or one that takes a value (string). */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Given more than once, every value is kept (else the last wins). */
  readonly multiple?: boolean;
  /** What the value is, for the usage error: `SECONDS`, `N (68 to 65535)`. */
  readonly takes?: string;
  /** Whether a value is acceptable; unchecked when absent. */
  readonly accepts?: (value: string) => boolean;
}

/** A command's options by long name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** What the options were given as: booleans, strings, or string lists for `multiple`. */
export type OptionValues<T extends OptionSpecs> = {
  -readonly [K in keyof T]?: T[K] extends { type: 'boolean' } ? boolean : T[K] extends { multiple: true } ? string[] : string;
};

/** How a command is parsed besides its options. */
export interface ParseOptions {
  /** The most words that are not options (default none). */
  readonly maxPositionals?: number;
  /** Flags the command knows of but does not take (another tool's), with why: `-k: keep listening is not supported`. */
  readonly refused?: Readonly<Record<string, string>>;
}

/** The parsed command line. `help` is set when `-h`/`--help` was given (nothing else is checked then). */
export interface ParsedCommandLine<T extends OptionSpecs> {
  readonly values: OptionValues<T>;
  readonly positionals: string[];
  readonly help: boolean;
}

/**
 * Parses `args` of `ustack COMMAND` against `options`. Throws UsageError for an unknown option, a
 * missing or unacceptable value, a value given to a flag, or too many positional words.
 */
export function parseCommandLine<T extends OptionSpecs>(command: string, args: readonly string[], options: T, parse: ParseOptions = {}): ParsedCommandLine<T> {
  const fail = (text: string): never => {
    throw new UsageError(`ustack ${command}: ${text}`);
  };
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(options)) {
    config[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
    if (spec.short) byShort.set(spec.short, name);
  }
  const { tokens } = parseArgs({ args: [...args], options: config, allowPositionals: true, strict: false, tokens: true });
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  // Help wins over any other mistake: `ustack up --bogus --help` shows the options.
  const help = tokens.some((token) => token.kind === 'option' && (token.rawName === '--help' || token.rawName === '-h'));
  if (help) return { values: values as OptionValues<T>, positionals, help };
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const shortName = token.rawName.startsWith('--') ? undefined : token.rawName.slice(1);
    const name = shortName !== undefined ? byShort.get(shortName) : token.name;
    const spec = name === undefined ? undefined : options[name];
    if (!spec || name === undefined) {
      const refused = parse.refused?.[shortName ?? token.name];
      if (refused) fail(`${token.rawName}: ${refused}`);
      fail(`unknown option ${token.rawName} (\`ustack ${command} --help\` lists the options)`);
      return undefined as never;
    }
    const what = spec.takes ?? 'a value';
    if (spec.type === 'boolean') {
      if (token.value !== undefined) fail(`${token.rawName} takes no value (given '${token.value}')`);
      values[name] = true;
      continue;
    }
    if (token.value === undefined) fail(`${token.rawName} takes ${what}`);
    const value = token.value as string;
    if (spec.accepts && !spec.accepts(value)) fail(`${token.rawName} takes ${what}, not '${value}'`);
    if (spec.multiple) ((values[name] ??= []) as string[]).push(value);
    else values[name] = value;
  }
  const most = parse.maxPositionals ?? 0;
  if (positionals.length > most) {
    fail(most === 0 ? `unexpected argument '${positionals[0]}' (takes none)` : `unexpected argument '${positionals[most]}' (takes at most ${most})`);
  }
  return { values: values as OptionValues<T>, positionals, help };
}

/**
 * The start of a command that reads one capture FILE (`view`, `replay`, `pcap2drill`): the
 * command line parsed, `--help` answered with `usage`, the FILE required. Returns the parsed line
 * and the path, or the exit code when the command is done already (0 after `--help`, 2 for a
 * usage error, said through `err`).
 */
export function parseCaptureCommand<T extends OptionSpecs>(
  command: string,
  args: readonly string[],
  options: T,
  usage: string,
  out: (line: string) => void,
  err: (line: string) => void,
): { readonly parsed: ParsedCommandLine<T>; readonly path: string } | number {
  let parsed: ParsedCommandLine<T>;
  try {
    parsed = parseCommandLine(command, args, options, { maxPositionals: 1 });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(error.message);
    return error.exitCode;
  }
  if (parsed.help) {
    out(usage);
    return 0;
  }
  const [path] = parsed.positionals;
  if (path === undefined) {
    err(`ustack ${command}: which capture FILE? (\`ustack ${command} --help\`)`);
    return 2;
  }
  return { parsed, path };
}

/** Value checks for `OptionSpec.accepts`. */
export const accepts = {
  /** A number of seconds, fractions allowed, zero or more. */
  seconds: (value: string): boolean => value.trim() !== '' && Number.isFinite(Number(value)) && Number(value) >= 0,
  /** An integer from `min` to `max`. */
  integer:
    (min: number, max: number) =>
    (value: string): boolean =>
      /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max,
  /** A percentage, 0 to 100. */
  percentage: (value: string): boolean => value.trim() !== '' && Number(value) >= 0 && Number(value) <= 100,
  /** a.b.c.d */
  ipv4: (value: string): boolean => parseIpv4Address(value) !== null,
  /** a.b.c.d/n */
  cidr: (value: string): boolean => parseIpv4Cidr(value) !== null,
  /** a.b.c.d or a.b.c.d/n */
  ipv4OrCidr: (value: string): boolean => (value.includes('/') ? parseIpv4Cidr(value) !== null : parseIpv4Address(value) !== null),
  /** A Linux interface name: 1 to 15 bytes, no '/', ':' or white space, not `.` or `..`. */
  interfaceName: (value: string): boolean => /^[^/:\s]{1,15}$/.test(value) && Buffer.byteLength(value) <= 15 && value !== '.' && value !== '..',
  /** A network namespace name (a file under /run/netns). */
  namespaceName: (value: string): boolean => /^[A-Za-z0-9_.-]{1,64}$/.test(value) && value !== '.' && value !== '..',
  /** Anything not empty (a file name). */
  nonEmpty: (value: string): boolean => value !== '',
} as const;
