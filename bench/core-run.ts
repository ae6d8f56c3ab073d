/**
 * `node bench/core-run.ts` (after `npm run build`): the core read/write and
 * search scenarios only, beside the raw Fastify + pg ceiling in the same run,
 * printed as Markdown. For checking that a change (e.g. the access model in
 * SQL) does not cost the read and search figures, without the hour-long
 * `npm run bench`. BENCH_DURATION, BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_PATIENTS.
 */
import os from 'node:os';
import { startServer, type Measure } from './harness.ts';
import { ceilingScenarios, ofCeiling } from './ceiling.ts';
import { crudScenarios } from './scenarios/crud.ts';
import { searchScenarios, type SearchBench } from './scenarios/search.ts';

const settings = {
  durationSeconds: Number(process.env.BENCH_DURATION ?? 10),
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
};
const started = new Date();
const loadAtStart = os.loadavg()[0] ?? 0;

const ceiling = await ceilingScenarios(settings);
const server = await startServer();
let crud: Measure[] = [];
let search: SearchBench | undefined;
try {
  crud = await crudScenarios(server, settings, ['read', 'create', 'vread']);
  if (process.env.BENCH_SEARCH !== 'off') search = await searchScenarios(server, settings);
} finally {
  await server.stop();
}

const cpu = (m: Measure) => (m.cpu ? `${m.cpu.server} / ${m.cpu.postgres} / ${m.cpu.client}` : '—');
const ceilingFor = (name: string) => (name.startsWith('create') ? ceiling.insert : ceiling.read);
console.log(`
Measured ${started.toISOString()} – ${new Date().toISOString()}, load average (1 min) ${loadAtStart.toFixed(1)} at start, ${(os.loadavg()[0] ?? 0).toFixed(1)} at end.
${settings.connections} connections, ${settings.rounds} rounds of ${settings.durationSeconds} s; medians over rounds.

| scenario | req/s | of raw ceiling | p50 ms | p99 ms | non-2xx | CPU µs per request: server / PostgreSQL / client |
|---|---|---|---|---|---|---|
${[ceiling.read, ceiling.insert].map((m) => `| ${m.name} | ${m.rps} | 100 % | ${m.p50} | ${m.p99} | ${m.non2xx} | ${cpu(m)} |`).join('\n')}
${crud.map((m) => `| ${m.name} | ${m.rps} | ${ofCeiling(m.rps, ceilingFor(m.name))} | ${m.p50} | ${m.p99} | ${m.non2xx} | ${cpu(m)} |`).join('\n')}
${search ? `
Search, 1 connection, ${search.patients.toLocaleString('en')} Synthea patients (${search.resources.toLocaleString('en')} resources, ${search.indexRows.toLocaleString('en')} index rows):

| scenario | req/s | p50 ms | p99 ms | non-2xx |
|---|---|---|---|---|
${search.measures.map((m) => `| ${m.name} | ${m.rps} | ${m.p50} | ${m.p99} | ${m.non2xx} |`).join('\n')}
` : ''}`);
