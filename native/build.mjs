#!/usr/bin/env node
// `npm ci` / `npm install` runs this (the package's `install` script): builds the TUN/TAP addon
// with node-gyp from native/binding.gyp, then the LD_PRELOAD library of `ustack run`
// (native/preload.c, plain `cc -shared -fPIC`: no node headers needed). ustack works without
// either (the addon serves real TUN/TAP devices, the library `ustack run`), so a failed build
// prints one line and exits 0 instead of failing the install.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const skip = (reason) => {
  console.log(`ustack: TUN/TAP addon not built (${reason}); everything else works — TUN/TAP links will say so when asked for.`);
  buildPreload();
  process.exit(0);
};

// `ustack run`'s library: built after node-gyp, whose `rebuild` empties native/build first.
function buildPreload() {
  if (process.platform !== 'linux') return;
  const output = join(here, 'build', 'libustack-preload.so');
  mkdirSync(join(here, 'build'), { recursive: true });
  const cc = process.env.CC || 'cc';
  const built = spawnSync(cc, ['-shared', '-fPIC', '-O2', '-o', output, join(here, 'preload.c'), '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (built.error || built.status !== 0) {
    const why = built.error ? built.error.message : (built.stderr.split('\n').find((line) => /error/.test(line)) ?? `exit status ${built.status}`);
    console.log(
      `ustack: \`ustack run\`'s library not built (${why.trim()}); \`ustack run\` will say so — run \`node native/build.mjs\` after fixing it (needs a C compiler)`,
    );
    return;
  }
  console.log('ustack: built the LD_PRELOAD library of `ustack run` (native/build/libustack-preload.so)');
}

if (process.platform !== 'linux') skip(`TUN/TAP needs Linux, this is ${process.platform}`);

// node-gyp ships inside npm; prefer that copy (no download), else one on PATH.
const candidates = [];
if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
const script = candidates.find((path) => existsSync(path));
const command = script ? [process.execPath, script] : ['node-gyp'];

// Build against the headers of the running node when they are installed next to it, so node-gyp
// never tries to download them (an offline machine cannot).
const args = ['rebuild', `--directory=${here}`];
const prefix = resolve(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const result = spawnSync(command[0], [...command.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (result.error) skip(`could not run node-gyp: ${result.error.message}`);
if (result.status !== 0) {
  const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => /error/i.test(line));
  skip(
    `node-gyp failed: ${(lines[0] ?? `exit status ${result.status}`).trim()} — run \`node native/build.mjs\` after fixing it (needs python3, make, a C compiler and node's headers)`,
  );
}
console.log('ustack: built the TUN/TAP addon (native/build/Release/ustack_tun.node)');
buildPreload();
