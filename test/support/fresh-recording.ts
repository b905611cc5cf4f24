/**
 * A kernel capture recorded now, as the tests that run a recording script (record-captures.sh,
 * record-ipv6.sh, record-sll2.sh: network namespaces, tcpdump) see it: it runs as root with
 * every tool on PATH; elsewhere it is SKIPPED, said loudly; under CI=true it always runs, and
 * fails when it cannot (no root, a tool missing) rather than passing unrun.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect } from 'vitest';

const IS_ROOT = process.getuid?.() === 0;
const IN_CI = process.env.CI === 'true';

/** One recording script, as a test runs it. */
export interface FreshRecording {
  /** Whether the recording runs here: root with every tool, or CI (which fails loudly when it cannot). */
  readonly runs: boolean;
  /**
   * Runs the script into a new temporary directory (or, given `file`, into that file inside it)
   * and checks that it succeeded; returns the directory, for `remove`.
   */
  record(options?: { readonly file?: string; readonly timeoutMs?: number }): string;
  /** Removes a directory `record` made. */
  remove(directory: string): void;
}

/**
 * The recording `script` makes, needing `tools` on PATH; `doing` ends the SKIPPED line ("recording
 * fresh fixtures in network namespaces"), printed now when it does not run.
 */
export function freshRecording(script: string, tools: readonly string[], doing: string): FreshRecording {
  const name = basename(script);
  const missing = IS_ROOT || IN_CI ? tools.filter((tool) => spawnSync('sh', ['-c', 'command -v "$1" >/dev/null 2>&1', 'sh', tool]).status !== 0) : [];
  const runs = IN_CI || (IS_ROOT && missing.length === 0);
  if (!IS_ROOT && !IN_CI) console.warn(`SKIPPED (needs root): ${name} ${doing}`);
  else if (!runs) console.warn(`SKIPPED (needs ${missing.join(', ')}): ${name} ${doing}`);
  return {
    runs,
    record({ file, timeoutMs = 90_000 } = {}) {
      if (!IS_ROOT) throw new Error('CI=true: this test must run as root (it records in network namespaces)');
      if (missing.length > 0) throw new Error(`CI=true: ${name} needs ${missing.join(', ')}`);
      const directory = mkdtempSync(join(tmpdir(), `ustack-${basename(name, '.sh')}-`));
      const run = spawnSync('bash', [script, file === undefined ? directory : join(directory, file)], { encoding: 'utf8', timeout: timeoutMs });
      if (run.status !== 0) rmSync(directory, { recursive: true, force: true });
      expect(run.status, `${name} failed:\n${run.stdout}\n${run.stderr}`).toBe(0);
      return directory;
    },
    remove(directory) {
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
