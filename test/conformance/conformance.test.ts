/**
 * The conformance suite: every `*.pkt` script in this folder is one test, run by ustack's
 * packetdrill-compatible runner (src/drill) in virtual time. Each script's header names the
 * RFC rule it pins. A failing script's report (line, expected, what ustack did) is the test's
 * error, and its pcap goes to captures/failures/.
 *
 * Scripts under `pending/` pin behaviour ustack does not have yet (a design question, listed in
 * pending/README.md); they run as expected failures, so fixing ustack turns them red until they
 * move up here.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { formatResult } from '../../src/drill/drill-command.js';
import { runScript } from '../../src/drill/runner.js';

const here = dirname(fileURLToPath(import.meta.url));
const failures = join(here, '../../captures/failures');

function scripts(folder: string): string[] {
  try {
    return readdirSync(folder)
      .filter((name) => name.endsWith('.pkt'))
      .sort();
  } catch {
    return [];
  }
}

async function run(folder: string, name: string) {
  const result = await runScript(readFileSync(join(folder, name), 'utf8'), { name });
  let pcapPath: string | null = null;
  if (!result.passed) {
    mkdirSync(failures, { recursive: true });
    pcapPath = join(failures, `drill-${name.replace(/\.pkt$/, '')}.pcap`);
    writeFileSync(pcapPath, result.pcap);
  }
  return { result, report: formatResult(result, pcapPath).join('\n') };
}

describe('conformance scripts', () => {
  const names = scripts(here);
  test('the suite has at least 80 scripts', () => {
    expect(names.length).toBeGreaterThanOrEqual(80);
  });
  for (const name of names) {
    test(name, async () => {
      const { result, report } = await run(here, name);
      if (!result.passed) throw new Error(report);
      expect(result.warnings.filter((w) => w.includes('unsupported'))).toEqual([]);
    });
  }
});

const pendingFolder = join(here, 'pending');
describe.skipIf(scripts(pendingFolder).length === 0)('pending scripts (known differences, see pending/README.md)', () => {
  const folder = pendingFolder;
  for (const name of scripts(folder)) {
    test.fails(name, async () => {
      const { result, report } = await run(folder, name);
      if (!result.passed) throw new Error(report);
    });
  }
});
