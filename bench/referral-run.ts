/**
 * `node bench/referral-run.ts` (after `npm run build`): only the referral
 * worklist scenario, on a fresh server, printing its RESULTS.md section
 * (`npm run bench` runs it with the others and writes the file).
 */
import { startServer } from './harness.ts';
import { referralReport, referralScenarios } from './scenarios/referral.ts';

const settings = { durationSeconds: Number(process.env.BENCH_DURATION ?? 10), rounds: Number(process.env.BENCH_ROUNDS ?? 3), connections: 1 };
const server = await startServer();
try {
  console.log(referralReport(await referralScenarios(server, settings)));
} finally {
  await server.stop();
}
