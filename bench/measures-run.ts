/**
 * `node bench/measures-run.ts` (after `npm run build`): only the
 * $evaluate-measure scenario, on a fresh server, printing its RESULTS.md
 * section (`npm run bench` runs it with the others and writes the file).
 * BENCH_PG_DIR=<folder> keeps the database there between runs: the generated
 * Encounters are loaded once (minutes on a shared machine), later runs reuse them.
 */
import os from 'node:os';
import { startServer } from './harness.ts';
import { measureScenarios, measuresReport } from './scenarios/measures.ts';

const settings = { durationSeconds: Number(process.env.BENCH_DURATION ?? 10), rounds: Number(process.env.BENCH_ROUNDS ?? 3), connections: 1 };
const server = await startServer(process.env.BENCH_PG_DIR ? { pgDir: process.env.BENCH_PG_DIR } : {});
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
try {
  const startedAt = new Date().toISOString();
  const before = load();
  const report = measuresReport(await measureScenarios(server, settings));
  console.log(`${report}\nRun ${startedAt} → ${new Date().toISOString()}; load average (1, 5, 15 min) at start ${before}, at end ${load()}.`);
} finally {
  await server.stop();
}
