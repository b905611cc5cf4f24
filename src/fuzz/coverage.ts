/**
 * V8 line coverage of the protocol code (src/ip, src/udp, src/tcp) during a fuzz run, through the
 * inspector's precise block coverage, mapped from dist/*.js back to the .ts sources with the
 * source maps tsc writes. A source line counts when some generated code maps to it; it is covered
 * when any of that code ran.
 */
import { Session } from 'node:inspector/promises';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Lines of one source file. */
export interface FileCoverage {
  readonly path: string;
  readonly lines: number;
  readonly covered: number;
  /** Line numbers (1-based) that have code and never ran. */
  readonly uncovered: number[];
}

/** Coverage by folder and by file. */
export interface CoverageReport {
  readonly groups: Array<{ readonly name: string; readonly lines: number; readonly covered: number }>;
  readonly files: FileCoverage[];
}

const GROUPS = ['src/ip', 'src/udp', 'src/tcp'];

interface Range {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly count: number;
}

/** Starts precise coverage; `stop()` takes it and builds the report. */
export async function startCoverage(): Promise<{ stop(): Promise<CoverageReport> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  return {
    async stop() {
      const { result } = await session.post('Profiler.takePreciseCoverage');
      await session.post('Profiler.stopPreciseCoverage');
      session.disconnect();
      return report(result as Array<{ url: string; functions: Array<{ ranges: Range[] }> }>);
    },
  };
}

function report(scripts: Array<{ url: string; functions: Array<{ ranges: Range[] }> }>): CoverageReport {
  const files: FileCoverage[] = [];
  for (const script of scripts) {
    if (!script.url.startsWith('file://')) continue;
    const jsPath = fileURLToPath(script.url);
    const mapPath = `${jsPath}.map`;
    if (!existsSync(mapPath)) continue;
    const map = JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[]; mappings: string; sourceRoot?: string };
    if (map.sources.length !== 1) continue;
    const sourcePath = resolve(dirname(jsPath), map.sourceRoot ?? '', map.sources[0]);
    const projectPath = projectRelative(sourcePath);
    if (projectPath === null || !GROUPS.some((group) => projectPath.startsWith(`${group}/`))) continue;
    files.push(fileCoverage(projectPath, readFileSync(jsPath, 'utf8'), map.mappings, script.functions));
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  const groups = GROUPS.map((name) => {
    const members = files.filter((f) => f.path.startsWith(`${name}/`));
    return { name, lines: members.reduce((n, f) => n + f.lines, 0), covered: members.reduce((n, f) => n + f.covered, 0) };
  });
  return { groups, files };
}

/** `src/tcp/input.ts` for a path inside the project (the folder holding package.json), else null. */
function projectRelative(path: string): string | null {
  let dir = dirname(path);
  for (let i = 0; i < 8; i++, dir = dirname(dir)) {
    if (existsSync(resolve(dir, 'package.json'))) return relative(dir, path).split('\\').join('/');
  }
  return null;
}

function fileCoverage(path: string, js: string, mappings: string, functions: Array<{ ranges: Range[] }>): FileCoverage {
  // Count at each character: the innermost range wins (outer ranges sort first and are painted over).
  const counts = new Int32Array(js.length).fill(-1);
  const ranges = functions.flatMap((f) => f.ranges).sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  for (const range of ranges) counts.fill(Math.min(range.count, 1 << 30), range.startOffset, Math.min(range.endOffset, js.length));
  const lineStarts = [0];
  for (let i = 0; i < js.length; i++) if (js.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const hasCode = new Set<number>();
  const ran = new Set<number>();
  for (const { generatedLine, generatedColumn, sourceLine } of decodeMappings(mappings)) {
    const offset = (lineStarts[generatedLine] ?? js.length) + generatedColumn;
    if (offset >= js.length || /\s/.test(js[offset])) continue;
    hasCode.add(sourceLine + 1);
    if (counts[offset] > 0) ran.add(sourceLine + 1);
  }
  const uncovered = [...hasCode].filter((line) => !ran.has(line)).sort((a, b) => a - b);
  return { path, lines: hasCode.size, covered: ran.size, uncovered };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The segments of a source map's `mappings` (version 3, base64 VLQ). */
function* decodeMappings(mappings: string): Generator<{ generatedLine: number; generatedColumn: number; sourceLine: number }> {
  let generatedLine = 0;
  let sourceLine = 0;
  let sourceIndex = 0;
  let sourceColumn = 0;
  let nameIndex = 0;
  for (const line of mappings.split(';')) {
    let generatedColumn = 0;
    for (const segment of line.split(',')) {
      if (segment === '') continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = BASE64.indexOf(char);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      generatedColumn += values[0];
      if (values.length >= 4) {
        sourceIndex += values[1];
        sourceLine += values[2];
        sourceColumn += values[3];
        if (values.length >= 5) nameIndex += values[4];
        yield { generatedLine, generatedColumn, sourceLine };
      }
    }
    generatedLine++;
  }
  void sourceIndex;
  void sourceColumn;
  void nameIndex;
}
