/**
 * `npm run bench`: starts the server on a fresh embedded PostgreSQL, drives it
 * with autocannon over loopback and writes bench/RESULTS.md.
 * BENCH_DURATION (seconds per round, default 10), BENCH_ROUNDS (default 3),
 * BENCH_CONNECTIONS (default 32), BENCH_PATIENTS (search, default 4000),
 * BENCH_EXPORT_PATIENTS (exchange, default 10000).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type Measure } from './harness.ts';
import { crudScenarios } from './scenarios/crud.ts';
import { validationScenarios } from './scenarios/validation.ts';
import { searchScenarios, type SearchBench } from './scenarios/search.ts';
import { checkCorpus, loadCorpus, summaryScenarios, type CorpusCheck } from './scenarios/summary.ts';
import { exchangeReport, exchangeScenarios, indexCostScenarios, type IndexCost } from './scenarios/exchange.ts';
import { referralReport, referralScenarios, type ReferralBench } from './scenarios/referral.ts';

const settings = {
  durationSeconds: Number(process.env.BENCH_DURATION ?? 10),
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
};

// The machine may be shared (other test runs): say how busy it was, or figures from different runs are not comparable.
const loadAtStart = os.loadavg()[0] ?? 0;
const validation = await validationScenarios();
const server = await startServer();
let crud: Measure[] = [];
let search: SearchBench | undefined;
try {
  crud = await crudScenarios(server, settings);
  search = await searchScenarios(server, settings);
} finally {
  await server.stop();
}

// Synthea data is US data without CURP: a server that enforces only declared profiles, as for records from abroad.
const summaryServer = await startServer({ env: { MX_PROFILE_ENFORCEMENT: 'declared' } });
let summary: Measure[] = [];
let corpus: CorpusCheck | undefined;
try {
  const patients = await loadCorpus(summaryServer);
  corpus = await checkCorpus(summaryServer, patients);
  const largest = [...patients].sort((a, b) => b.resources - a.resources)[0];
  summary = largest ? await summaryScenarios(summaryServer, settings, largest.patientId) : [];
} finally {
  await summaryServer.stop();
}

// The same read and create on a server built without authentication and audit: what security costs.
const bare = await startServer({ security: false });
let unsecured: Measure[] = [];
try {
  unsecured = await crudScenarios(bare, settings, ['read', 'create'], ' (no auth, no audit)');
} finally {
  await bare.stop();
}

// Bulk export, $everything and transaction ingest on a server and database of their own.
const exchange = await exchangeScenarios(settings);
// Transaction ingest with and without search index rows, each on a fresh server.
const indexCost = await indexCostScenarios(settings);

// Referral worklists on a server and database of their own (100,000 referrals).
const referralServer = await startServer();
let referral: ReferralBench | undefined;
try {
  referral = await referralScenarios(referralServer, settings);
} finally {
  await referralServer.stop();
}

const goals: Record<string, string> = { 'read Patient by id': '≥ 4,000 req/s', 'create Patient': '≥ 1,200 req/s' };
const cpuTotal = (list: Measure[], name: string) => {
  const cpu = list.find((m) => m.name === name)?.cpu;
  return cpu ? (cpu.server + cpu.postgres + cpu.client).toLocaleString('en') : '—';
};
const cpuCell = (m: Measure | undefined) => (m?.cpu ? `${m.cpu.server} / ${m.cpu.postgres} / ${m.cpu.client}` : '—');
const rows = crud.map((m) => `| ${m.name} | ${m.rps} | ${m.p50} | ${m.p99} | ${m.non2xx} | ${cpuCell(m)} | ${goals[m.name] ?? ''} |`);
const costRows = unsecured.map((bareMeasure) => {
  const name = bareMeasure.name.replace(' (no auth, no audit)', '');
  const secured = crud.find((m) => m.name === name);
  const loss = secured ? Math.round((1 - secured.rps / bareMeasure.rps) * 100) : NaN;
  return `| ${name} | ${bareMeasure.rps} | ${secured?.rps ?? '—'} | ${loss} % | ${bareMeasure.p50} → ${secured?.p50 ?? '—'} | ${cpuCell(bareMeasure)} → ${cpuCell(secured)} | ${name.startsWith('read') ? '< 25 % loss' : ''} |`;
});
const report = `# Benchmark results

Written by \`npm run bench\` (${new Date().toISOString()}). Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}.
Load average (1 min) at start ${loadAtStart.toFixed(1)}, at end ${(os.loadavg()[0] ?? 0).toFixed(1)}.
Client (autocannon), server and PostgreSQL share the machine. ${settings.connections} connections, ${settings.rounds} rounds of ${settings.durationSeconds} s per scenario; figures are medians over rounds.

## Core REST interactions (with authentication and audit, as deployed)

| scenario | req/s | p50 ms | p99 ms | non-2xx | CPU µs per request: server / PostgreSQL / client | goal |
|---|---|---|---|---|---|---|
${rows.join('\n')}

CPU per request is read from /proc for the server process, its PostgreSQL (postmaster and backends) and the load
generator over the whole scenario. The three share 2 cores (2,000,000 µs of CPU per second), so throughput is about
2,000,000 ÷ the sum of the three columns: here a create costs ${cpuTotal(crud, 'create Patient')} µs of CPU in all, a read ${cpuTotal(crud, 'read Patient by id')} µs.
Where a create's time goes (profiled with \`--cpu-prof\`): in the server, validation (base R4 with Medplum plus the
MX Patient profile, ~90 µs), FHIRPath extraction of ~16 search index rows, JSON parsing and serialising of the
body and the stored version, the audit facts, and the pg driver's socket writes; in PostgreSQL, one prepared
statement that inserts the resource row (its history row by trigger), the index rows into their tables and indexes
(the string rows also into a trigram index for \`:contains\`) and the audit row under its lane lock, then the commit,
which waits for the WAL flush. Reaching 1,200 creates/s would need about 40 % less CPU on both sides.

## Validation cost (in process)

Base R4 validation plus the MX profile of the type (strict), as a create runs it, measured in the bench process
without HTTP or database; ${validation[0]?.runs ?? 0} validations each after a warm-up. Goal: under 1 ms median.

| resource | median µs | p99 µs |
|---|---|---|
${validation.map((v) => `| ${v.name} | ${v.medianUs} | ${v.p99Us} |`).join('\n')}

Notes: "update" picks one of 500 patients at random on each of the ${settings.connections} connections, so two clients
sometimes update the same patient at once; a write that loses the version compare-and-set three times in a row
answers 409 (counted as non-2xx), as designed, rather than overwriting the other client's version.

## Patient summaries (issue 8)

The Synthea corpus (${corpus?.patients ?? 0} patients) loaded by transaction; \`$summary\` of every patient checked as a
document Bundle (base R4 validation incl. bdl/cmp invariants, Composition first, every reference resolved inside it):
**${corpus?.valid ?? 0}/${corpus?.patients ?? 0} valid**.${corpus?.failures.length ? `\n\nFailures:\n${corpus.failures.map((f) => `- ${f}`).join('\n')}` : ''}
Latency measured on the largest record, ${corpus?.largest.name ?? ''} (${corpus?.largest.resources ?? 0} resources in its bundle,
${corpus?.largest.documentEntries ?? 0} entries in its summary document). With authentication and audit. Goal: p50 under 50 ms.

| scenario | req/s | p50 ms | p99 ms | non-2xx |
|---|---|---|---|---|
${summary.map((m) => `| ${m.name} | ${m.rps} | ${m.p50} | ${m.p99} | ${m.non2xx} |`).join('\n')}

## Cost of authentication + audit

Each request verifies an ES256 JWT and checks scopes; each read appends a hash-chained AuditEvent (group-committed
before the answer is sent), each write appends it inside the write's transaction.

| scenario | req/s without | req/s with | throughput loss | p50 ms without → with | CPU µs per request (server / PostgreSQL / client) without → with | goal |
|---|---|---|---|---|---|---|
${costRows.join('\n')}

Where the read's extra cost goes: a read by id is one indexed lookup (about 40 µs of PostgreSQL CPU); its audit row
is an insert of a ~700-byte JSON document plus a SHA-256 chain step, with seven index entries (trail order, id,
lane sequence, date, patient, agent, entity), group-committed about ten rows at a time: that roughly triples the
database's work per read. In the server the token check is a cache hit; the rest is building the audit facts, the
extra driver round trip per batch and the garbage they make. Under 25 % loss would need the audit row to cost less
than a quarter of the read itself, which a durable, hash-chained row per read does not on this machine; the read
goal of the core issue (≥ 4,000 req/s) holds with it.
${search ? searchReport(search, indexCost) : ''}${exchangeReport(exchange)}${referral ? `\n${referralReport(referral)}` : ''}`;
const file = path.resolve(import.meta.dirname, 'RESULTS.md');
writeFileSync(file, report);
console.log(`wrote ${file}`);

function searchReport(s: SearchBench, indexCost: IndexCost[]): string {
  const goal: Record<string, string> = { 'token: Patient?identifier=system+value': 'p50 < 10 ms', 'reference: Observation?subject=Patient/x': 'p50 < 10 ms' };
  const lines = s.measures.map((m) => `| ${m.name} | ${m.rps} | ${m.p50} | ${m.p99} | ${m.non2xx} | ${goal[m.name] ?? ''} |`);
  const ratio = s.ingest.without > 0 ? Math.round((s.ingest.withIndex / s.ingest.without) * 100) / 100 : 0;
  return `
## Search (1 connection)

Database: ${s.patients.toLocaleString('en')} Synthea patients (the corpus's 40 patient bundles replayed with distinct ids and
identifiers, bench/synthea-replay.ts) = ${s.resources.toLocaleString('en')} resources and ${s.indexRows.toLocaleString('en')} index rows,
bulk-loaded straight through the store and index code in ${s.loadSeconds} s, then ANALYZE; plus the patients the core
scenarios created on the same server. Each request picks a random Synthea patient (its Synthea identifier, its id, the
first four letters of its family name). \`EXPLAIN\` of these query shapes is checked for index use by
test/api/search-plans.test.ts.

| scenario | req/s | p50 ms | p99 ms | non-2xx | goal |
|---|---|---|---|---|---|
${lines.join('\n')}

**Ingest cost of index rows** (goal < 2× the write time without them). Where data comes in: the Synthea corpus's
self-contained transaction bundles (smart/, every entry a plain create so that both servers write exactly the same;
authenticated and audited) posted back to back for ${settings.durationSeconds * 2} s on two fresh servers, one built without the
search index hook. Time per resource with index rows ÷ without:

| clients | resources/s without index rows | resources/s with | ratio |
|---|---|---|---|
${indexCost.map((c) => `| ${c.clients} | ${c.without?.perSecond ?? '—'} | ${c.withIndex?.perSecond ?? '—'} | **${c.withIndex?.perSecond && c.without ? Math.round((c.without.perSecond / c.withIndex.perSecond) * 100) / 100 : '—'}×** |`).join('\n')}

The storage layer alone, where the index rows weigh most: ${s.ingest.writes} sequential Observation creates straight
through \`persist()\` (no HTTP, validation or audit), mean ${s.ingest.without} ms per write without the index hook and
${s.ingest.withIndex} ms with it: ${ratio}×. Each Observation writes 12 index rows into 4 tables (about 0.2 ms of
PostgreSQL time on this machine, with the commit of the larger WAL record), against one resource row plus its history row.
autocannon reports whole milliseconds: a p50 of 0 means under 1 ms.
`;
}
