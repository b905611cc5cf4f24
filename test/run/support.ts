/**
 * Helpers of the `ustack run` tests: the built CLI run as a user runs it, programs started in the
 * background and ended by their PID, and a network namespace whose only interface is `lo`, down
 * (`unshare -n`), so that a program that reached the kernel's stack would fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const MAIN = join(ROOT, 'dist/src/cli/main.js');
export const EXAMPLES = join(ROOT, 'examples/python');
export const IS_ROOT = process.getuid?.() === 0;
export const IN_CI = process.env.CI === 'true';

/** python3: the system's when there is one (a version manager's shim, a shell script, costs half a second a run). */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Builds dist/ if a source is newer (others may be mid-edit: the emitted files are what counts). */
export function buildIfStale(): void {
  spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(MAIN)) throw new Error('dist/src/cli/main.js is missing after the build');
}

/** How to enter a fresh network namespace (only `lo`, down): `unshare -n` as root, `unshare -rn` in a user namespace, or null. */
export const NETNS_PREFIX: string[] | null = (() => {
  for (const prefix of IS_ROOT
    ? [
        ['unshare', '-n'],
        ['unshare', '-rn'],
      ]
    : [['unshare', '-rn']]) {
    if (spawnSync(prefix[0], [...prefix.slice(1), 'true']).status === 0) return prefix;
  }
  return null;
})();

/** A folder of its own for the named networks' sockets (USTACK_NET_DIR). */
export function networkDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'ustack-run-test-'));
}

/** What a finished command left. */
export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A program running in the background. */
export interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when it exits. */
  readonly exited: Promise<Finished>;
  /** Waits until stdout (or stderr) matches, or fails after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** Ends it (SIGTERM to its PID, then SIGKILL) and waits. */
  stop(): Promise<Finished>;
}

const running = new Set<Running>();

/** Starts `command` (in the namespace when `isolated`), with `env` added; killed after `timeoutMs`. */
export function start(
  command: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string | Buffer; isolated?: boolean; timeoutMs?: number; cwd?: string } = {},
): Running {
  const full = options.isolated && NETNS_PREFIX ? [...NETNS_PREFIX, ...command] : command;
  const child = spawn(full[0], full.slice(1), { env: { ...process.env, ...options.env }, cwd: options.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.stdin!.on('error', () => {});
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  const timer = setTimeout(() => child.pid && child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const exited = new Promise<Finished>((resolveExit) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(handle);
      resolveExit({ code, stdout: out, stderr: err });
    }),
  );
  const handle: Running = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, ms = 20_000) {
      const end = Date.now() + ms;
      while (!pattern.test(out) && !pattern.test(err)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`waited for ${pattern} in vain; stdout: ${out}\nstderr: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const kill = setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 3000);
      const result = await exited;
      clearTimeout(kill);
      return result;
    },
  };
  running.add(handle);
  return handle;
}

/** Runs `command` to its end. */
export function run(command: string[], options: Parameters<typeof start>[1] = {}): Promise<Finished> {
  return start(command, options).exited;
}

/** `ustack run ARGS -- PROGRAM` as a command line. */
export function ustackRun(args: string[], program: string[]): string[] {
  return [process.execPath, MAIN, 'run', ...args, '--', ...program];
}

/** Ends every program still running (by PID). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((r) => r.stop()));
}

/** Whether a tool is on PATH. */
export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}
