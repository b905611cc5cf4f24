#!/usr/bin/env node
// `npm test`: checks the system tools the tests use (installing them when root and missing),
// runs every vitest suite, and ends with one line: `N passed, N failed, N skipped`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const inCi = process.env.CI === 'true';

/** command → Debian package providing it. */
const tools = {
  tshark: 'tshark',
  editcap: 'wireshark-common',
  capinfos: 'wireshark-common',
  text2pcap: 'wireshark-common',
  tcpdump: 'tcpdump',
  ip: 'iproute2',
  ethtool: 'ethtool',
  ping: 'iputils-ping',
  nc: 'netcat-openbsd',
  python3: 'python3',
  nft: 'nftables',
  curl: 'curl',
  iperf3: 'iperf3',
  nmap: 'nmap',
  hping3: 'hping3',
  wrk: 'wrk',
  scapy: 'python3-scapy',
  // ustack view's browser tests (test/view), driven by playwright-core.
  chromium: 'chromium',
};
/** Tools that are not commands: how to tell they are there. */
const checks = { scapy: '/usr/bin/python3 -c "import scapy"' };

const has = (tool) => spawnSync('sh', ['-c', checks[tool] ?? `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
let missing = Object.keys(tools).filter((t) => !has(t));

if (missing.length > 0 && isRoot) {
  const packages = [...new Set(missing.map((t) => tools[t]))];
  console.log(`npm test: installing missing system tools (${missing.join(', ')}) with apt-get: ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
  if (install.status !== 0) console.log('npm test: apt-get install failed; tests needing those tools will say so.');
  missing = Object.keys(tools).filter((t) => !has(t));
}
if (missing.length > 0) {
  console.log(`npm test: SKIPPED parts: missing ${missing.join(', ')} — tests that need them are skipped (under CI=true they fail).`);
}
if (!isRoot) {
  console.log('npm test: not root — device and network-namespace tests (recording kernel captures, TUN/TAP) are SKIPPED; run as root to include them.');
}

const outDir = mkdtempSync(join(tmpdir(), 'ustack-test-'));
const resultsFile = join(outDir, 'results.json');
const vitest = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`, ...process.argv.slice(2)],
  { stdio: 'inherit', env: process.env },
);

let summary = null;
try {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  const skipped = results.numPendingTests + results.numTodoTests;
  // A suite that failed to load counts as a failure even though it ran no test.
  const brokenSuites = results.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
  summary = { passed: results.numPassedTests, failed: results.numFailedTests + brokenSuites, skipped };
} catch {
  summary = null;
}
rmSync(outDir, { recursive: true, force: true });

if (summary === null) {
  console.log('0 passed, 1 failed');
  process.exit(vitest.status || 1);
}
if (inCi && summary.passed === 0) summary.failed += 1;
console.log(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
process.exit(summary.failed > 0 ? 1 : (vitest.status ?? 1));
