#!/usr/bin/env node
// Writes docs/counters.md from the counter registries (src/socket-api/counters.ts's
// countersReference), after building dist/ if it is stale. test/socket-api/counters.test.ts fails
// when the file and the registries disagree.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const { countersReference } = await import(pathToFileURL(join(root, 'dist/src/socket-api/counters.js')).href);
writeFileSync(join(root, 'docs/counters.md'), countersReference());
console.log('wrote docs/counters.md');
