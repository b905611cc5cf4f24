/**
 * The Node compatibility runner (scripts/node-compat.mjs) against a small fake Node test tree
 * with Node's layout (test/common, test/parallel): it must map `net`/`dgram` to ustack's for
 * require() and import alike, report each file, and leave non-portable files out.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const runner = join(root, 'scripts', 'node-compat.mjs');
const fakeTree = join(import.meta.dirname, 'fake-node-test');

function run(args: string[], env: Record<string, string | undefined>) {
  const result = spawnSync(process.execPath, [runner, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('node-compat runner', () => {
  it('without NODE_TEST_DIR it says what it needs and exits non-zero', () => {
    const { status, output } = run([], { NODE_TEST_DIR: undefined });
    expect(status).not.toBe(0);
    expect(output).toContain('NODE_TEST_DIR is not set');
  });

  it("runs the portable files with ustack's net and dgram, one line each and a summary", () => {
    const { status, output } = run([], { NODE_TEST_DIR: fakeTree });
    const lines = output.split('\n').filter((line) => /^(PASS|FAIL) |passed, /.test(line));
    expect(lines).toEqual([
      'PASS test-dgram-fake-esm.mjs',
      'PASS test-net-fake-echo.js',
      'FAIL test-net-fake-fails.js: exit code 1: AssertionError [ERR_ASSERTION]: deliberate failure',
      '2 passed, 1 failed',
    ]);
    expect(status).toBe(1);
  }, 200_000);

  it('runs just the files named, and lists why others are left out', () => {
    const named = run(['test-net-fake-echo.js'], { NODE_TEST_DIR: fakeTree });
    expect(named.output).toContain('1 passed, 0 failed');
    expect(named.status).toBe(0);
    const listed = run(['--list'], { NODE_TEST_DIR: fakeTree });
    expect(listed.output).toContain('skip test-net-fake-internals.js: uses Node internals');
  }, 200_000);
});
