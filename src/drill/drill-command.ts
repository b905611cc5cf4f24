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
 *   --pcap_dir=DIR          where the pcap of a failed run goes (default captures/failures)
 *   --pcap_always           write a pcap for passing scripts too
 *   --local_ip, --remote_ip, --bind_port, --connect_port, --remote_port, --remote_isn, --mtu
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { runScript, type DrillResult } from './runner.js';

const USAGE =
  'usage: ustack drill [--linux] [--tolerance_usecs=N] [--strict_segments] [-D NAME] [--pcap_dir=DIR] [--pcap_always] (SCRIPT.pkt... | --corpus DIR...)';

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
  const files: { path: string; corpus: string | null }[] = [];
  const overrides: { name: string; value: string | undefined }[] = [];
  let pcapDir = 'captures/failures';
  let pcapAlways = false;
  let defines: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-h' || arg === '--help') {
      out(USAGE);
      return 0;
    }
    // nplab's `-D NAME` / `--define NAME`: a name `#ifdef` sees (replaces the default STANDARD).
    const define = /^(?:-D|--define=?)(.*)$/.exec(arg);
    if (define) {
      const name = define[1] !== '' ? define[1] : args[++i];
      if (name === undefined || !/^[A-Za-z_]\w*$/.test(name)) {
        out(`${arg} needs a name`);
        return 2;
      }
      (defines ??= []).push(name);
      continue;
    }
    const corpus = /^--corpus(?:=(.*))?$/.exec(arg);
    if (corpus) {
      const directory = corpus[1] ?? args[++i];
      try {
        if (directory === undefined) throw new Error('--corpus needs a folder');
        for (const path of scriptsUnder(directory)) files.push({ path, corpus: directory });
      } catch (error) {
        out(`cannot read the corpus: ${error instanceof Error ? error.message : String(error)}`);
        return 2;
      }
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
    if (name === 'pcap_dir') pcapDir = option[2] ?? pcapDir;
    else if (name === 'pcap_always') pcapAlways = true;
    else overrides.push({ name, value: option[2] });
  }
  if (files.length === 0) {
    out(USAGE);
    return 2;
  }
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
