/**
 * `node bench/cpuprofile-top.ts <file.cpuprofile> [n] [last-seconds]`: where a V8 CPU profile (from `--cpu-prof`)
 * spent its time — the functions with the most self time, the same summed by package or source file, and the
 * server's own functions by inclusive time — optionally only over its last seconds (the load phase of a
 * bench, not its start-up and data loading), for comparing two profiles by eye.
 */
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
const profile = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; endTime: number; startTime: number };
const n = Number(process.argv[3] ?? 40);
const lastUs = Number(process.argv[4] ?? 0) * 1e6;
const byId = new Map(profile.nodes.map((x) => [x.id, x]));
const parent = new Map<number, number>();
for (const x of profile.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
const self = new Map<number, number>();
let t = profile.startTime;
const from = lastUs > 0 ? profile.endTime - lastUs : -Infinity;
profile.samples.forEach((id, i) => {
  t += profile.timeDeltas[i] ?? 0;
  if (t >= from) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
const busy = [...self.values()].reduce((a, b) => a + b, 0) - idle;
const where = (url: string) => url.replace(/^.*?\/(node_modules\/(@[^/]+\/)?[^/]+|dist\/src\/.*|src\/.*)$/, '$1').replace(/^dist\//, '');
const keyOf = (id: number) => {
  const f = byId.get(id)!.callFrame;
  return `${f.functionName || '(anonymous)'} ${where(f.url)}:${f.lineNumber + 1}`;
};
const fn = new Map<string, number>();
const file = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of self) {
  const f = byId.get(id)!.callFrame;
  if (f.functionName === '(idle)') continue;
  fn.set(keyOf(id), (fn.get(keyOf(id)) ?? 0) + us);
  const pkg = f.url ? where(f.url).replace(/^(node_modules\/(@[^/]+\/)?[^/]+).*$/, '$1') : f.functionName;
  file.set(pkg, (file.get(pkg) ?? 0) + us);
  // Each ancestor that is the server's own code counts the sample once.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const url = byId.get(at)!.callFrame.url;
    if (!/\/src\//.test(url) || /node_modules/.test(url)) continue;
    const k = keyOf(at);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}
const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `${((100 * us) / busy).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`).join('\n');
console.log(`busy ${(busy / 1e6).toFixed(2)} s (idle ${(idle / 1e6).toFixed(2)} s)\n\nby function (self):\n${top(fn)}\n\nby package or file (self):\n${top(file)}\n\nserver code (inclusive):\n${top(inclusive)}`);
