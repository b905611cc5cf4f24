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
 *   --local_ip, --remote_ip, --bind_port, --connect_port, --remote_port, --remote_isn, --mtu
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../cli/arguments.js';
import { runScript, type DrillResult } from './runner.js';

/** Help text of `ustack drill`. */
export const DRILL_USAGE = `usage: ustack drill [options] (SCRIPT.pkt... | DIR... | --corpus DIR...)

Runs packetdrill scripts against ustack in virtual time: PASS, FAIL (the line, what it expected,
what ustack did, and a pcap of the run) or UNSUPPORTED per script (docs/drill.md).
  --out DIR               where the pcaps of failed runs go (default ${defaultPcapDirectory()});
                          --pcap_dir=DIR is packetdrill's name for it
  --pcap_always           a pcap for passing scripts too
  --corpus DIR, or DIR    every .pkt under DIR, one line each, and a table per folder
  -D NAME, --define NAME  a name \`#ifdef NAME\` sees (nplab); default STANDARD
packetdrill's options (also accepted as \`--\` lines inside a script; the command line wins):
  --linux                 compare as packetdrill on Linux: option lists exact and in order
  --tolerance_usecs=N     timing tolerance (default 4000)
  --strict_segments       one scripted packet never matches several real segments
  --local_ip=A --remote_ip=A --bind_port=N --connect_port=N --remote_port=N --remote_isn=N
  --mtu=N --tcp_ts_tick_usecs=N --seed=N --ip_version=ipv4`;

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
  lines.push(`${verdict(result)} ${result.name}${result.unsupported ? `: ${result.unsupported}` : ''}`);
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

/** One line per script, for a corpus: `PASS name`, `FAIL name: line N: reason (expected …; ustack …)`, `UNSUPPORTED name: feature`. */
export function formatResultLine(result: DrillResult): string {
  const failure = result.failure;
  if (result.passed || !failure) return `PASS ${result.name}`;
  if (result.unsupported) return `UNSUPPORTED ${result.name}: ${result.unsupported} (${failure.message})`;
  const detail = failure.expected !== undefined ? ` (expected ${failure.expected}; ustack ${failure.actual ?? 'nothing'})` : '';
  return `FAIL ${result.name}: line ${failure.line}: ${failure.message}${detail}`;
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
    const kind = DRILL_OPTIONS[name];
    if (kind === undefined) fail(`unknown option ${arg.replace(/=.*/, '')} (\`ustack drill --help\` lists the options)`);
    if (kind === 'number' && (value === undefined || value.trim() === '' || Number.isNaN(Number(value))))
      fail(`--${option[1]} takes =N, a number${value === undefined ? '' : `, not '${value}'`}`);
    if (kind === 'text' && value === undefined) fail(`--${option[1]} takes =VALUE`);
    overrides.push({ name, value });
  }
  if (files.length === 0) fail('which scripts? give SCRIPT.pkt... or a DIR (`ustack drill --help`)');
  const total: Tally = { passed: 0, failed: 0, unsupported: 0 };
  const folders = new Map<string, Tally>();
  for (const { path: file, corpus } of files) {
    const name = corpus === null ? file : relative(corpus, file);
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (error) {
      out(`FAIL ${name}: cannot read: ${error instanceof Error ? error.message : String(error)}`);
      total.failed++;
      continue;
    }
    const result = await runScript(source, { name, overrides, defines, directory: dirname(resolve(file)) });
    let pcapPath: string | null = null;
    if ((!result.passed && !result.unsupported) || pcapAlways) {
      try {
        mkdirSync(pcapDir, { recursive: true });
        pcapPath = join(pcapDir, `drill-${basename(file).replace(/\.pkt$/, '')}.pcap`);
        writeFileSync(pcapPath, result.pcap);
        pcapPath = resolve(pcapPath);
      } catch (error) {
        out(`  warning: could not write the pcap: ${error instanceof Error ? error.message : String(error)}`);
        pcapPath = null;
      }
    }
    if (corpus === null) for (const line of formatResult(result, pcapPath)) out(line);
    else {
      out(formatResultLine(result));
      const folder = dirname(name);
      if (!folders.has(folder)) folders.set(folder, { passed: 0, failed: 0, unsupported: 0 });
      count(folders.get(folder)!, result);
    }
    count(total, result);
  }
  if (folders.size > 0) {
    out('');
    out('| folder | passed | failed | unsupported |');
    out('| --- | --- | --- | --- |');
    for (const [folder, t] of folders) out(`| ${folder} | ${t.passed} | ${t.failed} | ${t.unsupported} |`);
    out('');
  }
  out(`${total.passed} passed, ${total.failed} failed, ${total.unsupported} unsupported`);
  return total.failed === 0 ? 0 : 1;
}
