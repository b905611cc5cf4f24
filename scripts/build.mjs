#!/usr/bin/env node
// `npm run build` (and prepare): tsc -p tsconfig.build.json (incremental), then the `ustack` bin
// made executable (tsc writes plain files; `npx ustack` runs the bin itself).
// `--if-stale` (npm start's prestart): compiles only when dist/ is older than the sources — a .ts
// under src/, examples/ or bench/ newer than the last build, its .js missing, or a tsconfig or
// package.json changed since. Right after `npm ci` (whose prepare has just built) it only looks
// at timestamps, so `npm start` does not compile everything twice.
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Written by every tsc build with tsconfig.build.json ("incremental"): the time of the last build.
const stamp = join(root, 'dist', 'tsconfig.build.tsbuildinfo');

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** Why dist/ needs building, or null; `full` when the incremental record cannot be trusted. */
function staleness() {
  const built = mtime(stamp);
  if (built < 0) return { reason: 'no build yet', full: true };
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) {
    if (mtime(join(root, file)) > built) return { reason: `${file} changed`, full: true };
  }
  for (const folder of ['src', 'examples', 'bench']) {
    const walk = (directory) => {
      for (const entry of readdirSync(directory, { withFileTypes: true })) {
        const path = join(directory, entry.name);
        if (entry.isDirectory()) {
          const found = walk(path);
          if (found) return found;
        } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
          const source = relative(root, path);
          if (mtime(path) > built) return { reason: `${source} changed`, full: false };
          if (mtime(join(root, 'dist', source.replace(/\.ts$/, '.js'))) < 0) return { reason: `${source} has no build`, full: true };
        }
      }
      return null;
    };
    const found = walk(join(root, folder));
    if (found) return found;
  }
  return null;
}

function build() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  // An incremental build with nothing to emit leaves the stamp alone: mark this build done.
  const now = new Date();
  utimesSync(stamp, now, now);
  chmodSync(join(root, 'dist', 'src', 'cli', 'main.js'), 0o755);
}

if (!process.argv.includes('--if-stale')) build();
else {
  const stale = staleness();
  if (stale) {
    console.error(`building (${stale.reason})`);
    // tsc's incremental record does not notice a deleted output: build everything then.
    if (stale.full) rmSync(stamp, { force: true });
    build();
  }
}
