/**
 * Imports flow one way (the brief's layout rule). A runtime import cycle makes
 * module initialisation order matter and hides layering mistakes, so any new
 * one fails here. Type-only imports are erased at run time and may point back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = path.dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [full] : [];
  });
}

/** Relative runtime imports and re-exports of one file, as absolute paths. */
export function runtimeImports(file: string, text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/^(import|export)\s+([^;]*?)\s+from\s+'(\.[^']+)'/gms)) {
    const clause = m[2] ?? '';
    if (clause.startsWith('type ')) continue;
    found.push(path.resolve(path.dirname(file), m[3] ?? ''));
  }
  return found;
}

/** Strongly connected components with more than one file (Tarjan). */
export function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v) ?? 0);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('import graph', () => {
  it('finds a cycle when there is one, and ignores type-only imports', () => {
    const a = '/x/a.ts';
    const b = '/x/b.ts';
    expect(runtimeImports(a, "import { f } from './b.ts';\nimport type { T } from './c.ts';")).toEqual([b]);
    expect(cycles(new Map([[a, [b]], [b, [a]]]))).toEqual([[a, b]]);
    expect(cycles(new Map([[a, [b]], [b, []]]))).toEqual([]);
  });

  it('has no runtime import cycle in src', () => {
    const graph = new Map(sourceFiles(srcDir).map((f) => [f, runtimeImports(f, readFileSync(f, 'utf8'))]));
    expect(graph.size).toBeGreaterThan(100);
    const found = cycles(graph).map((c) => c.map((f) => path.relative(srcDir, f)));
    expect(found).toEqual([]);
  });
});
