/**
 * `npm run fuzz -- --frames N --seed S [--epoch E] [--epoch-frames N] [--keep-going] [--coverage] [--ipv6 PERCENT]`
 *
 * Prints frames/s, what was generated and the findings; on a finding, the seed, epoch and frame
 * index to replay it, and exits 1.
 */
import type { FuzzResult } from './fuzzer.js';
import { startCoverage, type CoverageReport } from './coverage.js';

interface Arguments {
  frames: number;
  seed: number;
  epoch?: number;
  epochFrames?: number;
  keepGoing: boolean;
  coverage: boolean;
  ipv6Percent?: number;
}

function parseArguments(argv: readonly string[]): Arguments {
  const args: Arguments = { frames: 100_000, seed: 1, keepGoing: false, coverage: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const text = argv[++i];
      const number = Number(text);
      if (text === undefined || !Number.isInteger(number) || number < 0) throw new Error(`${flag} needs a non-negative integer, got ${text}`);
      return number;
    };
    if (flag === '--frames') args.frames = value();
    else if (flag === '--seed') args.seed = value();
    else if (flag === '--epoch') args.epoch = value();
    else if (flag === '--epoch-frames') args.epochFrames = value();
    else if (flag === '--keep-going') args.keepGoing = true;
    else if (flag === '--coverage') args.coverage = true;
    else if (flag === '--ipv6') {
      args.ipv6Percent = value();
      if (args.ipv6Percent > 100) throw new Error(`--ipv6 is a percentage of frames, 0 to 100; got ${args.ipv6Percent}`);
    } else throw new Error(`unknown argument ${flag} (try --frames N --seed S [--epoch E] [--epoch-frames N] [--keep-going] [--coverage] [--ipv6 PERCENT])`);
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArguments(process.argv.slice(2));
  // Coverage starts before the stack's modules load, so that every function is counted.
  const coverage = args.coverage ? await startCoverage() : null;
  const { fuzz } = await import('./fuzzer.js');
  let lastReport = performance.now();
  const result: FuzzResult = fuzz({
    frames: args.frames,
    seed: args.seed,
    epoch: args.epoch,
    epochFrames: args.epochFrames,
    keepGoing: args.keepGoing,
    ipv6Percent: args.ipv6Percent,
    onEpoch: (epoch, done) => {
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        console.log(`  … epoch ${epoch}, ${done} frames`);
      }
    },
  });
  const seconds = result.elapsedMs / 1000;
  console.log(
    `fuzz: seed ${args.seed}: ${result.frames} frames in ${result.epochs} epochs, ${seconds.toFixed(1)} s, ${Math.round(result.frames / seconds)} frames/s`,
  );
  console.log(
    `  generated: ${Object.entries(result.generated)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ')}`,
  );
  console.log(`  final transfers checked on ${result.transfersChecked} surviving connections`);
  if (coverage) printCoverage(await coverage.stop());
  if (result.findings.length === 0) {
    console.log('  findings: none');
    return 0;
  }
  console.log(`  findings: ${result.findings.length}`);
  for (const finding of result.findings) {
    console.log(`  - ${finding.target}, seed ${finding.seed}, epoch ${finding.epoch}, frame ${finding.frame}: ${finding.message}`);
    if (finding.frameHex) console.log(`    frame: ${finding.frameHex}`);
    console.log(
      `    replay: npm run fuzz -- --seed ${finding.seed} --epoch ${finding.epoch}${args.epochFrames ? ` --epoch-frames ${args.epochFrames}` : ''}${args.ipv6Percent !== undefined ? ` --ipv6 ${args.ipv6Percent}` : ''}`,
    );
  }
  return 1;
}

function printCoverage(report: CoverageReport): void {
  console.log(`  line coverage (V8, per source file via source maps):`);
  for (const group of report.groups)
    console.log(`    ${group.name.padEnd(10)} ${group.covered}/${group.lines} lines, ${((100 * group.covered) / Math.max(1, group.lines)).toFixed(1)} %`);
  for (const file of report.files) {
    console.log(`      ${file.path.padEnd(40)} ${file.covered}/${file.lines} ${((100 * file.covered) / Math.max(1, file.lines)).toFixed(1)} %`);
    if (file.uncovered.length > 0) console.log(`        uncovered: ${lineRanges(file.uncovered)}`);
  }
}

/** `3-5,9,12-14` from sorted line numbers. */
function lineRanges(lines: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < lines.length;) {
    let j = i;
    while (j + 1 < lines.length && lines[j + 1] === lines[j] + 1) j++;
    parts.push(j === i ? `${lines[i]}` : `${lines[i]}-${lines[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  },
);
