/**
 * `node bench/measures-run.ts` (after `npm run build`): only the
 * $evaluate-measure scenario, on a fresh server, printing its RESULTS.md
 * section (`npm run bench` runs it with the others and writes the file).
 */
import { startServer } from './harness.ts';
import { measureScenarios, measuresReport } from './scenarios/measures.ts';

const settings = { durationSeconds: Number(process.env.BENCH_DURATION ?? 10), rounds: Number(process.env.BENCH_ROUNDS ?? 3), connections: 1 };
const server = await startServer();
try {
  console.log(measuresReport(await measureScenarios(server, settings)));
} finally {
  await server.stop();
}
