/**
 * `ustack drill [options] SCRIPT.pkt...`: runs packetdrill scripts against ustack in virtual
 * time and prints, per script, PASS or FAIL — on failure what its backtick lines applied, the
 * line, what it expected and what ustack did, decoded — then `N passed, N failed`.
 *
 * Options (also accepted as `--` lines inside a script; the command line wins):
 *   --linux                 compare as packetdrill on Linux: option lists exact and in order
 *   --tolerance_usecs=N     timing tolerance (default 4000)
 *   --strict_segments       one scripted packet never matches several real segments
 *   --pcap_dir=DIR          where the pcap of a failed run goes (default captures/failures)
 *   --pcap_always           write a pcap for passing scripts too
 *   -D NAME, --define NAME  a name `#ifdef NAME` sees (nplab); default STANDARD
 *   --local_ip, --remote_ip, --bind_port, --connect_port, --remote_port, --remote_isn, --mtu
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { runScript, type DrillResult } from './runner.js';

const USAGE = 'usage: ustack drill [--linux] [--tolerance_usecs=N] [--strict_segments] [-D NAME] [--pcap_dir=DIR] [--pcap_always] SCRIPT.pkt...';

/** The report lines of one result (without the summary). */
export function formatResult(result: DrillResult, pcapPath: string | null): string[] {
  const lines: string[] = [];
  lines.push(`${result.passed ? 'PASS' : 'FAIL'} ${result.name}`);
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

/**
 * Runs the scripts named in `args` and reports through `out`, one line per call. Returns the
 * exit code: 0 when every script passed, 1 when one failed, 2 for bad usage.
 */
export async function runDrill(args: string[], out: (line: string) => void): Promise<number> {
  const files: string[] = [];
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
    const option = /^--([A-Za-z0-9_-]+)(?:=(.*))?$/.exec(arg);
    if (!option) {
      files.push(arg);
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
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (error) {
      out(`FAIL ${file}`);
      out(`  error: cannot read: ${error instanceof Error ? error.message : String(error)}`);
      failed++;
      continue;
    }
    const result = await runScript(source, { name: file, overrides, defines });
    let pcapPath: string | null = null;
    if (!result.passed || pcapAlways) {
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
    for (const line of formatResult(result, pcapPath)) out(line);
    if (result.passed) passed++;
    else failed++;
  }
  out(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
