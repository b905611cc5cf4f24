#!/usr/bin/env node
// Runs Node.js's own `net` and `dgram` tests (test/parallel/test-net-*.js, test-dgram-*.js),
// unedited, with `net`, `dgram`, `dns` and `os` replaced by ustack's: each file runs in its own
// Node process with scripts/node-compat/preload.mjs, which starts an in-process stack owning
// 127.0.0.1 and ::1 (and a dummy0 with a link-local address) and maps `require('net')` /
// `import 'node:net'` (and dgram, dns, os) to that stack's modules.
//
// Node's test suite is not part of this repository. Give the path of a Node `test/` directory
// (a Node.js checkout's, or denoland/node_test's):
//
//   NODE_TEST_DIR=/path/to/node/test node scripts/node-compat.mjs              the portable set
//   NODE_TEST_DIR=… node scripts/node-compat.mjs test-net-pingpong.js …       just these files
//   options: --jobs N (parallel processes), --timeout MS (per file), --list (print the selection
//            and why others are left out), --verbose (print a failing test's output),
//            --baseline (run each failing file again on Node's own net and dgram: one that fails
//            there too is `SKIP file: fails on Node's own net too`, counted as skipped)
//
// Prints `PASS file` or `FAIL file: reason` per file, then `N passed, N failed` (`, N skipped`
// with --baseline); exits non-zero when a file failed. Uses the compiled stack in dist/ and compiles it first if it is missing
// or older than src/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist', 'src');
const preload = join(root, 'scripts', 'node-compat', 'preload.mjs');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(name);
  if (index < 0) return fallback;
  const value = args[index + 1];
  args.splice(index, 2);
  return value;
};
const flag = (name) => {
  const index = args.indexOf(name);
  if (index < 0) return false;
  args.splice(index, 1);
  return true;
};
const jobs = Number(option('--jobs', String(Math.max(1, Math.min(8, availableParallelism())))));
const timeoutMs = Number(option('--timeout', '30000'));
const listOnly = flag('--list');
const verbose = flag('--verbose');
const baseline = flag('--baseline');

const testDir = process.env.NODE_TEST_DIR && resolve(process.env.NODE_TEST_DIR);
if (!testDir) {
  console.error('node-compat: NODE_TEST_DIR is not set. Point it at the test/ directory of a Node.js source tree');
  console.error('(for example a checkout of github.com/denoland/node_test: NODE_TEST_DIR=…/node_test/test).');
  process.exit(2);
}
const parallel = join(testDir, 'parallel');
if (!existsSync(parallel) || !existsSync(join(testDir, 'common'))) {
  console.error(`node-compat: ${testDir} does not look like Node's test/ directory (no parallel/ and common/ in it)`);
  process.exit(2);
}

/**
 * Why a test cannot run against a user-space stack in one process, or null when it can.
 * The checks read the test's source; a file named on the command line runs regardless.
 */
function unportable(source, name) {
  const rules = [
    [/--expose[-_]internals|internalBinding|process\.binding\(/, 'uses Node internals'],
    [/common\.PIPE|\.listen\(\s*(path|pipePath)|pipePath|listen-path|pipe-connect|connect-options-path|\bPipe\b/, 'IPC pipes'],
    [/require\(['"](node:)?cluster['"]\)|cluster-/, 'cluster (several processes)'],
    [/require\(['"](node:)?child_process['"]\)|common\.childShouldThrowAndAbort|\bfork\(/, 'child processes (each would have its own stack)'],
    [/require\(['"](node:)?worker_threads['"]\)/, 'worker threads (own module instances)'],
    [/\bfd\s*:|\.fd\b|_handle|handle\s*:|createHandle/, 'file descriptors or libuv handles'],
    [/require\(['"](node:)?(https?|tls|http2)['"]\)|common\.hasCrypto/, "http/tls use the kernel's sockets"],
    [/process\.std(in|out|err)\.(destroy|_handle)|listen-after-destroying-stdin|listen-fd0/, 'process stdio handles'],
    [/perf_hooks|PerformanceObserver/, "performance hooks of Node's own net"],
    [/common\.hasMultiLocalhost|127\.0\.0\.2/, 'a second local address'],
    [/--test-udp-no-try-send/, "libuv's send queue (--test-udp-no-try-send)"],
  ];
  for (const [pattern, reason] of rules) if (pattern.test(source) || pattern.test(name)) return reason;
  return null;
}

function flagsOf(source) {
  const match = source.match(/^\/\/ Flags: (.+)$/m);
  return match ? match[1].trim().split(/\s+/) : [];
}

const named = args.map((file) => basename(file));
const candidates = readdirSync(parallel)
  .filter((file) => /^test-(net|dgram)-.*\.(js|mjs)$/.test(file))
  .sort();
let selected;
if (named.length > 0) {
  const missing = named.filter((file) => !existsSync(join(parallel, file)));
  if (missing.length > 0) {
    console.error(`node-compat: not in ${parallel}: ${missing.join(', ')}`);
    process.exit(2);
  }
  selected = named;
} else {
  selected = [];
  for (const file of candidates) {
    const reason = unportable(readFileSync(join(parallel, file), 'utf8'), file);
    if (reason === null) selected.push(file);
    else if (listOnly) console.log(`skip ${file}: ${reason}`);
  }
}
if (listOnly) {
  for (const file of selected) console.log(`run  ${file}`);
  console.log(`${selected.length} selected of ${candidates.length}`);
  process.exit(0);
}

ensureBuilt();

/** Compiles the stack into dist/ when dist is missing or older than a source file. */
function ensureBuilt() {
  const marker = join(dist, 'socket-api', 'node-modules.js');
  const newest = (dir) => {
    let latest = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) latest = Math.max(latest, newest(path));
      else if (entry.name.endsWith('.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
    }
    return latest;
  };
  if (existsSync(marker) && statSync(marker).mtimeMs >= newest(join(root, 'src'))) return;
  console.log('node-compat: compiling the stack (tsc -p tsconfig.build.json)…');
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (!existsSync(marker)) {
    console.error(tsc.stdout, tsc.stderr);
    console.error('node-compat: compiling failed; dist/src/socket-api/node-modules.js is missing');
    process.exit(2);
  }
  // Type errors elsewhere do not stop tsc from emitting; the stack's own files are what matter.
}

/**
 * Runs one test file (on ustack, or with `own` on Node's own net and dgram); resolves with
 * `{ reason, output }`, reason null on success or a one-line reason.
 */
function runOne(file, own = false) {
  const path = join(parallel, file);
  const flags = flagsOf(readFileSync(path, 'utf8')).filter((f) => f !== '--expose-internals');
  const loader = own ? [] : ['--import', pathToFileURL(preload).href];
  return new Promise((resolvePromise) => {
    // Its own process group, so that a test's children (and their hold on our pipes) go too.
    const child = spawn(process.execPath, [...flags, ...loader, path], {
      cwd: parallel,
      // NODE_TEST_DIR absolute: test/common reads it (tmpdir) from the test's own cwd.
      env: { ...process.env, NODE_TEST_DIR: testDir, USTACK_DIST: pathToFileURL(dist).href, NODE_SKIP_FLAG_CHECK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (data) => (output += data));
    child.stderr.on('data', (data) => (output += data));
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup();
      // Let the pipes drain (they close once every process of the group is gone).
      const finish = () => {
        if (code === 0) return resolvePromise({ reason: null, output });
        const why = timedOut ? `timed out after ${timeoutMs} ms` : signal ? `killed by ${signal}` : `exit code ${code}`;
        resolvePromise({ reason: `${why}${summarize(output)}`, output });
      };
      let finished = false;
      const once = () => {
        if (!finished) {
          finished = true;
          finish();
        }
      };
      child.on('close', once);
      setTimeout(once, 1000).unref();
    });
  });
}

/** The most telling line of a failed test's output: its error. */
function summarize(output) {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const error = lines.find((line) => /^(\w*Error|AssertionError|Error)( \[\w+\])?:/.test(line) || /^(Mismatched|Uncaught)/.test(line));
  const line = error ?? lines.filter((l) => !l.startsWith('at ')).pop();
  return line ? `: ${line.length > 240 ? `${line.slice(0, 240)}…` : line}` : '';
}

let passed = 0;
let failed = 0;
let skipped = 0;
const queue = [...selected];
const results = new Map();
let nextToPrint = 0;
const printReady = () => {
  while (nextToPrint < selected.length && results.has(selected[nextToPrint])) {
    const file = selected[nextToPrint++];
    const { reason, output } = results.get(file);
    if (reason === null) {
      passed++;
      console.log(`PASS ${file}`);
    } else if (results.get(file).ownReason) {
      skipped++;
      console.log(`SKIP ${file}: fails on Node's own net too (${results.get(file).ownReason.replace(/: .*/, '')}); on ustack: ${reason}`);
    } else {
      failed++;
      console.log(`FAIL ${file}: ${reason}`);
      if (verbose) console.log(output.replace(/^/gm, '    '));
    }
  }
};
async function worker() {
  for (let file = queue.shift(); file; file = queue.shift()) {
    const result = await runOne(file);
    // A file that fails on ustack is tried on Node's own modules: failing there too, it tells
    // nothing about ustack (an error text of a newer Node, a test needing what this host lacks).
    if (baseline && result.reason !== null) result.ownReason = (await runOne(file, true)).reason;
    results.set(file, result);
    printReady();
  }
}
await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
console.log(`${passed} passed, ${failed} failed${baseline ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
