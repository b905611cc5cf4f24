/**
 * `ustack drill [options] SCRIPT.pkt...` and `ustack drill --corpus DIR...`: runs packetdrill
 * scripts against ustack in virtual time and reports, per script, PASS, FAIL (the line, what
 * it expected and what ustack did) or UNSUPPORTED (a feature ustack lacks, named in
 * src/drill/unsupported.ts), then `N passed, N failed, N unsupported`.
 *
 * Options (also accepted as `--` lines inside a script; the command line wins):
 *   --linux                 compare as packetdrill on Linux: option lists exact and in order
 *   --tolerance_usecs=N     timing tolerance (default 4000)
 *   --strict_segments       one scripted packet never matches several real segments
 *   -D NAME, --define NAME  a name `#ifdef NAME` sees (nplab); default STANDARD
 *   --corpus DIR, or DIR    every .pkt under DIR (sorted), one line each, and a table per folder
 *   --out DIR, --pcap_dir=DIR  where the pcap of a failed run goes (default: ustack-drill in the
 *                           OS temp dir, so nothing lands in the current directory unasked)
 *   --pcap_always           write a pcap for passing scripts too
 *   --ip_version=MODE       ipv4, ipv4-mapped-ipv6 or ipv6 for every script (src/drill/ip-version.ts)
 *   --run_all[=MODE,...]    each script in each of Google's run_all.py variants, with its arguments
 *   --local_ip, --remote_ip, --bind_port, --connect_port, --remote_port, --remote_isn, --mtu
 *
 * A script that runs in another mode than ipv4 is reported with it (`PASS name (ipv6)`), and a
 * run with more than one mode prints a table and the counts per mode.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../cli/arguments.js';
import { IP_VERSIONS, parseIpVersion, RUN_ALL_VARIANTS, runAllRuns, type IpVersion } from './ip-version.js';
import { runScript, type DrillResult } from './runner.js';

/** Help text of `ustack drill`. */
export const DRILL_USAGE = `usage: ustack drill [options] (SCRIPT.pkt... | DIR... | --corpus DIR...)

Runs packetdrill scripts against ustack in virtual time: PASS, FAIL (the line, what it expected,
what ustack did, and a pcap of the run) or UNSUPPORTED per script (docs/drill.md).
  --out DIR               where the pcaps of failed runs go (default ${defaultPcapDirectory()});
                          --pcap_dir=DIR is packetdrill's name for it
  --pcap_always           a pcap for passing scripts too
  --corpus DIR, or DIR    every .pkt under DIR, one line each, and a table per folder (per mode)
  --run_all[=MODE,...]    each script in each mode as Google's run_all.py runs it: ipv4,
                          ipv4-mapped-ipv6 and ipv6 (or those named), *v4.pkt not in ipv6,
                          *v6.pkt only there, each with run_all.py's arguments (ipv6: --mtu=1520)
  -D NAME, --define NAME  a name \`#ifdef NAME\` sees (nplab); default STANDARD
packetdrill's options (also accepted as \`--\` lines inside a script; the command line wins):
  --linux                 compare as packetdrill on Linux: option lists exact and in order
  --tolerance_usecs=N     timing tolerance (default 4000)
  --strict_segments       one scripted packet never matches several real segments
  --local_ip=A --remote_ip=A --bind_port=N --connect_port=N --remote_port=N --remote_isn=N
  --ip_version=MODE       ipv4 (default), ipv4-mapped-ipv6 (AF_INET6 sockets, IPv4 packets) or ipv6,
                          with packetdrill's addresses for the mode
  --mtu=N --tcp_ts_tick_usecs=N --seed=N`;

/** Where failure pcaps go unless --out says: a folder of the OS temp dir. */
export function defaultPcapDirectory(): string {
  return join(tmpdir(), 'ustack-drill');
}

/** packetdrill's command-line options the runner takes (src/drill/runner.ts applyOptions), and whether each needs a number. */
const DRILL_OPTIONS: Readonly<Record<string, 'flag' | 'number' | 'text'>> = {
  linux: 'flag',
  portable: 'flag',
  strict_segments: 'flag',
  tolerance_usecs: 'number',
  tolerance_percent: 'number',
  local_ip: 'text',
  remote_ip: 'text',
  bind_port: 'number',
  connect_port: 'number',
  remote_port: 'number',
  remote_isn: 'number',
  mtu: 'number',
  tcp_ts_tick_usecs: 'number',
  seed: 'number',
  ip_version: 'text',
  verbose: 'flag',
  dry_run: 'flag',
  non_fatal: 'flag',
  wire_client: 'text',
  wire_server: 'text',
};

/** PASS, FAIL or UNSUPPORTED. */
export function verdict(result: DrillResult): 'PASS' | 'FAIL' | 'UNSUPPORTED' {
  return result.passed ? 'PASS' : result.unsupported ? 'UNSUPPORTED' : 'FAIL';
}

/** The report lines of one result (without the summary). */
export function formatResult(result: DrillResult, pcapPath: string | null): string[] {
  const lines: string[] = [];
  lines.push(`${verdict(result)} ${shownName(result)}${result.unsupported ? `: ${result.unsupported}` : ''}`);
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  const failure = result.failure;
  if (failure) {
    // What the backtick lines set (the FreeBSD profile among them): the context of the failure.
    for (const line of result.applied) lines.push(`  applied: ${line}`);
    lines.push(`  line ${failure.line}: ${failure.text}`);
    lines.push(`  error: ${failure.message}`);
    if (failure.expected !== undefined) lines.push(`  expected: ${failure.expected}`);
    if (failure.actual !== undefined) lines.push(`  ustack:   ${failure.actual}`);
    lines.push(`  at virtual time ${failure.time.toFixed(3)} s`);
  }
  if (pcapPath) lines.push(`  pcap: ${pcapPath}`);
  return lines;
}

/** The name a report gives a result: the script's, with its mode unless that is ipv4 (`x.pkt (ipv6)`). */
function shownName(result: DrillResult): string {
  return result.ipVersion === 'ipv4' ? result.name : `${result.name} (${result.ipVersion})`;
}

/** One line per script, for a corpus: `PASS name`, `FAIL name: line N: reason (expected …; ustack …)`, `UNSUPPORTED name: feature`. */
export function formatResultLine(result: DrillResult): string {
  const failure = result.failure;
  const name = shownName(result);
  if (result.passed || !failure) return `PASS ${name}`;
  if (result.unsupported) return `UNSUPPORTED ${name}: ${result.unsupported} (${failure.message})`;
  const detail = failure.expected !== undefined ? ` (expected ${failure.expected}; ustack ${failure.actual ?? 'nothing'})` : '';
  return `FAIL ${name}: line ${failure.line}: ${failure.message}${detail}`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Every `.pkt` file under `directory`, sorted. */
function scriptsUnder(directory: string): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.pkt')) found.push(path);
    }
  };
  walk(directory);
  return found;
}

/** Counts of each verdict. */
interface Tally {
  passed: number;
  failed: number;
  unsupported: number;
}

function count(tally: Tally, result: DrillResult): void {
  const v = verdict(result);
  if (v === 'PASS') tally.passed++;
  else if (v === 'UNSUPPORTED') tally.unsupported++;
  else tally.failed++;
}

/**
 * Runs the scripts named in `args` and reports through `out`, one line per call. Returns the
 * exit code: 0 when no script failed, 1 when one did, 2 for bad usage.
 */
export async function runDrill(args: string[], out: (line: string) => void): Promise<number> {
  const fail = (text: string): never => {
    throw new UsageError(`ustack drill: ${text}`);
  };
  if (args.some((arg) => arg === '-h' || arg === '--help')) {
    out(DRILL_USAGE);
    return 0;
  }
  const files: { path: string; corpus: string | null }[] = [];
  const overrides: { name: string; value: string | undefined }[] = [];
  let pcapDir = defaultPcapDirectory();
  let pcapAlways = false;
  let defines: string[] | undefined;
  /** --run_all's modes; null: one run per script, in the mode it names (or --ip_version's). */
  let runAll: IpVersion[] | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    // nplab's `-D NAME` / `--define NAME`: a name `#ifdef` sees (replaces the default STANDARD).
    const define = /^(?:-D|--define=?)(.*)$/.exec(arg);
    if (define) {
      const name = define[1] !== '' ? define[1] : args[++i];
      if (name === undefined || !/^[A-Za-z_]\w*$/.test(name)) fail(`${arg} takes a NAME (letters, digits, _)${name === undefined ? '' : `, not '${name}'`}`);
      (defines ??= []).push(name);
      continue;
    }
    const corpus = /^--corpus(?:=(.*))?$/.exec(arg);
    if (corpus) {
      const directory = corpus[1] ?? args[++i];
      if (directory === undefined || !isDirectory(directory))
        fail(`--corpus takes a DIR of .pkt scripts${directory === undefined ? '' : `, not '${directory}'`}`);
      for (const path of scriptsUnder(directory!)) files.push({ path, corpus: directory! });
      continue;
    }
    const outOption = /^--out(?:=(.*))?$/.exec(arg);
    if (outOption) {
      const directory = outOption[1] ?? args[++i];
      if (directory === undefined || directory === '') fail('--out takes a DIR for the pcaps of failed runs');
      pcapDir = directory!;
      continue;
    }
    const option = /^--([A-Za-z0-9_-]+)(?:=(.*))?$/.exec(arg);
    if (!option) {
      // A folder is a corpus: every .pkt under it.
      if (isDirectory(arg)) for (const path of scriptsUnder(arg)) files.push({ path, corpus: arg });
      else files.push({ path: arg, corpus: null });
      continue;
    }
    const name = option[1].replace(/-/g, '_');
    const value = option[2];
    if (name === 'pcap_dir') {
      if (!value) fail('--pcap_dir takes =DIR for the pcaps of failed runs');
      pcapDir = value!;
      continue;
    }
    if (name === 'pcap_always') {
      pcapAlways = true;
      continue;
    }
    if (name === 'run_all') {
      const modes = value === undefined ? [...IP_VERSIONS] : value.split(',').map((mode) => parseIpVersion(mode.trim()));
      if (modes.some((mode) => mode === null) || modes.length === 0) fail(`--run_all takes modes from ${IP_VERSIONS.join(', ')}, not '${value ?? ''}'`);
      runAll = IP_VERSIONS.filter((mode) => modes.includes(mode));
      continue;
    }
    if (name === 'ip_version' && parseIpVersion(value) === null) fail(`--ip_version takes ${IP_VERSIONS.join(', ')}, not '${value ?? ''}'`);
    const kind = DRILL_OPTIONS[name];
    if (kind === undefined) fail(`unknown option ${arg.replace(/=.*/, '')} (\`ustack drill --help\` lists the options)`);
    if (kind === 'number' && (value === undefined || value.trim() === '' || Number.isNaN(Number(value))))
      fail(`--${option[1]} takes =N, a number${value === undefined ? '' : `, not '${value}'`}`);
    if (kind === 'text' && value === undefined) fail(`--${option[1]} takes =VALUE`);
    overrides.push({ name, value });
  }
  if (files.length === 0) fail('which scripts? give SCRIPT.pkt... or a DIR (`ustack drill --help`)');
  if (runAll !== null && overrides.some((o) => o.name === 'ip_version'))
    fail('--run_all chooses the modes itself; give it the modes (--run_all=ipv6) instead of --ip_version');
  // Each run: a script, and (with --run_all) a variant's arguments before the command line's own.
  const runs: { path: string; corpus: string | null; variant: IpVersion | null }[] = [];
  for (const file of files) {
    if (runAll === null) runs.push({ ...file, variant: null });
    else for (const mode of runAll) if (runAllRuns(file.path, mode)) runs.push({ ...file, variant: mode });
  }
  const total: Tally = { passed: 0, failed: 0, unsupported: 0 };
  // Per mode: the counts and a table per folder.
  const modes = new Map<IpVersion, { total: Tally; folders: Map<string, Tally> }>();
  for (const { path: file, corpus, variant } of runs) {
    const name = corpus === null ? file : relative(corpus, file);
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (error) {
      out(`FAIL ${name}: cannot read: ${error instanceof Error ? error.message : String(error)}`);
      total.failed++;
      continue;
    }
    const runOverrides = variant === null ? overrides : [...RUN_ALL_VARIANTS[variant], ...overrides];
    const result = await runScript(source, { name, overrides: runOverrides, defines, directory: dirname(resolve(file)) });
    let pcapPath: string | null = null;
    if ((!result.passed && !result.unsupported) || pcapAlways) {
      try {
        mkdirSync(pcapDir, { recursive: true });
        // Runs of one script in several modes leave one pcap each (FreeBSD's names carry theirs).
        const mode = result.ipVersion === 'ipv4' || file.endsWith(`${result.ipVersion}.pkt`) ? '' : `-${result.ipVersion}`;
        pcapPath = join(pcapDir, `drill-${basename(file).replace(/\.pkt$/, '')}${mode}.pcap`);
        writeFileSync(pcapPath, result.pcap);
        pcapPath = resolve(pcapPath);
      } catch (error) {
        out(`  warning: could not write the pcap: ${error instanceof Error ? error.message : String(error)}`);
        pcapPath = null;
      }
    }
    if (!modes.has(result.ipVersion)) modes.set(result.ipVersion, { total: { passed: 0, failed: 0, unsupported: 0 }, folders: new Map() });
    const mode = modes.get(result.ipVersion)!;
    if (corpus === null) for (const line of formatResult(result, pcapPath)) out(line);
    else {
      out(formatResultLine(result));
      const folder = dirname(name);
      if (!mode.folders.has(folder)) mode.folders.set(folder, { passed: 0, failed: 0, unsupported: 0 });
      count(mode.folders.get(folder)!, result);
    }
    count(mode.total, result);
    count(total, result);
  }
  // A run entirely in ipv4 reports as it always has; any other names its mode(s).
  const named = [...modes.keys()].some((mode) => mode !== 'ipv4');
  for (const version of IP_VERSIONS) {
    const mode = modes.get(version);
    if (!mode) continue;
    if (mode.folders.size > 0) {
      out('');
      if (named) out(`${version}:`);
      out('| folder | passed | failed | unsupported |');
      out('| --- | --- | --- | --- |');
      for (const [folder, t] of mode.folders) out(`| ${folder} | ${t.passed} | ${t.failed} | ${t.unsupported} |`);
      out('');
    }
    if (named) out(`${version}: ${mode.total.passed} passed, ${mode.total.failed} failed, ${mode.total.unsupported} unsupported`);
  }
  out(`${total.passed} passed, ${total.failed} failed, ${total.unsupported} unsupported`);
  return total.failed === 0 ? 0 : 1;
}
