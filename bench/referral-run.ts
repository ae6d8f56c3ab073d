/**
 * `node bench/referral-run.ts` (after `npm run build`): only the referral
 * worklist scenario, on a fresh server, printing its RESULTS.md section
 * (`npm run bench` runs it with the others and writes the file), with the
 * load average at start and end and, for scale, the raw Fastify+pg ceiling's
 * read by id at the same single connection (bench/ceiling.ts), measured in the same run.
 * BENCH_PG_DIR=<folder> keeps the database there between runs (the 100,000
 * referrals are loaded once); BENCH_PROFILE=<folder> runs the server with
 * --cpu-prof, its profile written there when it stops.
 */
import os from 'node:os';
import { ceilingScenarios } from './ceiling.ts';
import { startServer } from './harness.ts';
import { referralReport, referralScenarios } from './scenarios/referral.ts';

const settings = { durationSeconds: Number(process.env.BENCH_DURATION ?? 10), rounds: Number(process.env.BENCH_ROUNDS ?? 3), connections: 1 };
const load = () => os.loadavg().map((n) => n.toFixed(2)).join(' ');
const started = `${new Date().toISOString()}, load average ${load()}`;
const profile = process.env.BENCH_PROFILE ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE}` } : undefined;
const server = await startServer({ ...(process.env.BENCH_PG_DIR ? { pgDir: process.env.BENCH_PG_DIR } : {}), ...(profile ? { env: profile } : {}) });
let report: string;
try {
  report = referralReport(await referralScenarios(server, settings));
} finally {
  await server.stop();
}
const ceiling = await ceilingScenarios(settings);
console.log(report);
console.log(`Started ${started}; ended ${new Date().toISOString()}, load average ${load()}. Raw Fastify+pg ceiling, read by id at 1 connection: p50 ${ceiling.read.p50} ms, ${ceiling.read.rps} req/s.`);
