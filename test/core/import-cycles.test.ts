import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

/** Every .ts file under `dir`, as absolute paths. */
function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files.sort();
}

/**
 * The relative module specifiers a file loads at run time: its import and export-from
 * statements, less those that name only types (`import type`, `export type`, or braces whose
 * every name is marked `type`). A side-effect import (`import './x.js'`) loads the module too.
 */
function runtimeSpecifiers(text: string, fileName = 'module.ts'): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const specifiers: string[] = [];
  for (const statement of file.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause) {
        if (clause.isTypeOnly) continue;
        const bindings = clause.namedBindings;
        const onlyTypes =
          !clause.name &&
          bindings !== undefined &&
          ts.isNamedImports(bindings) &&
          bindings.elements.length > 0 &&
          bindings.elements.every((element) => element.isTypeOnly);
        if (onlyTypes) continue;
      }
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier) {
      if (statement.isTypeOnly) continue;
      const clause = statement.exportClause;
      if (clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((element) => element.isTypeOnly)) continue;
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return specifiers;
}

/** The run-time import graph of src: file (relative to the repository) → the src files it loads. */
function importGraph(): Map<string, string[]> {
  const files = sourceFiles(SRC);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets: string[] = [];
    for (const specifier of runtimeSpecifiers(readFileSync(file, 'utf8'), file)) {
      if (!specifier.startsWith('.')) continue;
      const base = resolve(dirname(file), specifier);
      const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
      const target = candidates.find((candidate) => known.has(candidate));
      if (target) targets.push(relative(ROOT, target));
    }
    graph.set(relative(ROOT, file), [...new Set(targets)]);
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file that loads itself (Tarjan). */
function cyclicComponents(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) components.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components;
}

/** Shortest path from `from` to `to` inside `members` (breadth first), both ends included. */
function shortestPath(graph: Map<string, string[]>, members: Set<string>, from: string, to: string): string[] {
  const previous = new Map<string, string | null>([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const node = queue.shift()!;
    if (node === to) break;
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next) || previous.has(next)) continue;
      previous.set(next, node);
      queue.push(next);
    }
  }
  const path: string[] = [];
  for (let node: string | null = to; node !== null; node = previous.get(node) ?? null) path.unshift(node);
  return path;
}

/**
 * One cycle per import edge inside each cyclic component (the edge, then the shortest way back),
 * deduplicated: every edge that keeps a component together appears in some listed cycle.
 */
function cycles(graph: Map<string, string[]>): string[] {
  const listed = new Set<string>();
  for (const component of cyclicComponents(graph)) {
    const members = new Set(component);
    for (const from of component) {
      for (const to of graph.get(from) ?? []) {
        if (!members.has(to)) continue;
        const cycle = [from, ...shortestPath(graph, members, to, from)];
        // Rotate so the smallest name leads: the same cycle found from another edge compares equal.
        const ring = cycle.slice(0, -1);
        const start = ring.indexOf([...ring].sort()[0]);
        const rotated = [...ring.slice(start), ...ring.slice(0, start)];
        listed.add([...rotated, rotated[0]].join(' → '));
      }
    }
  }
  return [...listed].sort();
}

describe('run-time imports inside src', () => {
  it('count value imports and export-from, not type-only ones', () => {
    const text = [
      "import type { A } from './a.js';",
      "import { type B, type C } from './b.js';",
      "import { type D, e } from './d.js';",
      "import f from './f.js';",
      "import * as g from './g.js';",
      "import './h.js';",
      "export type { I } from './i.js';",
      "export { type J } from './j.js';",
      "export { k } from './k.js';",
      "export * from './l.js';",
    ].join('\n');
    expect(runtimeSpecifiers(text)).toEqual(['./d.js', './f.js', './g.js', './h.js', './k.js', './l.js']);
  });

  it('form no cycle', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles(graph)).toEqual([]);
  });
});
