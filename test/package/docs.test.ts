/**
 * `npm run docs` builds the API reference with TypeDoc and fails when an export of an entry
 * point has no doc comment (typedoc.json: validation.notDocumented, treated as an error). Here
 * the same check without writing the pages, and without source links: those follow the clone's
 * git remote, and TypeDoc warns when a clone's `origin` is a local path or an unknown host.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

it('every export of the entry points has a doc comment, and every {@link} resolves (TypeDoc validation)', () => {
  const typedoc = spawnSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--emit', 'none', '--disableSources'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const output = `${typedoc.stdout}${typedoc.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  expect(output.split('\n').filter((line) => /\[(warning|error)\]/.test(line))).toEqual([]);
  expect(typedoc.status).toBe(0);
}, 120_000);
