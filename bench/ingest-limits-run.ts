/**
 * Issue 21's benchmark, on its own (heavy: ~10 minutes):
 * `npm run build && flock /tmp/ecu-bench.lock node bench/ingest-limits-run.ts [seconds] [import resources]`.
 * In one process run: the raw Fastify + pg ceiling (bench/ceiling.ts), create
 * Patient (strict MX validation, auth, audit) and read by id (auth, durable
 * read audit) at 32 connections, the Synthea support batch on 50,000
 * Patients, the HIV transaction ingest at 4 clients and `$import` of the
 * replayed corpus. Prints the RESULTS.md section.
 */
import os from 'node:os';
import { loadDefinitions } from '../src/fhir/definitions.ts';
import { startServer, type Measure } from './harness.ts';
import { ceilingScenarios, type Ceiling } from './ceiling.ts';
import { crudScenarios, type CrudScenario } from './scenarios/crud.ts';
import { bulkImport, supportBatches, transactionIngest, type ImportRun } from './scenarios/ingest-limits.ts';
import type { IngestRun } from './scenarios/exchange.ts';

loadDefinitions();
const seconds = Number(process.argv[2] ?? 10);
const importResources = Number(process.argv[3] ?? 300_000);
// BENCH_SERVER_ENV=K=V,…: extra environment for the batch and import servers.
const serverEnv: Record<string, string> = Object.fromEntries((process.env.BENCH_SERVER_ENV ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
const only = new Set((process.env.BENCH_ONLY ?? 'crud,batch,ingest,import').split(','));
const connections = 32;
const rounds = 3;
const started = new Date();
const loadStart = os.loadavg()[0] ?? 0;
const settings = { connections, durationSeconds: seconds, rounds };

let rest: Measure[] = [];
let ceiling: Ceiling | undefined;
// BENCH_ONLY=ceiling,…: the raw ceiling alone, beside the write-path parts (their ratios need it from the same run).
if (only.has('ceiling') && !only.has('crud')) ceiling = await ceilingScenarios(settings);
if (only.has('crud')) {
  ceiling = await ceilingScenarios(settings);
  const server = await startServer();
  try {
    // BENCH_CRUD=read: the read alone (its engineer's runs), else create and read.
    rest = await crudScenarios(server, settings, (process.env.BENCH_CRUD ?? 'create,read').split(',') as CrudScenario[]);
  } finally {
    await server.stop();
  }
}
const batches = only.has('batch') ? await supportBatches(50_000, serverEnv) : [];
const ingest4 = only.has('ingest') ? await transactionIngest(4, seconds * 2) : undefined;
const imported = only.has('import') ? await bulkImport(importResources, serverEnv) : undefined;
const loadEnd = os.loadavg()[0] ?? 0;

const pct = (a: number, b: number) => `${Math.round((a / b) * 100)} %`;
const create = rest.find((m) => m.name.startsWith('create'));
const read = rest.find((m) => m.name.startsWith('read'));
console.log(`
## Ingest at the limit (issue 21)

Run ${started.toISOString()} (\`node bench/ingest-limits-run.ts ${seconds} ${importResources}\`), load average (1 min) at start ${loadStart.toFixed(1)}, at end ${loadEnd.toFixed(1)}.
${ceiling && rest.length ? crudSection(ceiling) : ''}${ceiling && !rest.length ? ceilingLine(ceiling) : ''}${batches.length ? batchSection() : ''}${ingest4 ? ingestSection(ingest4, 'as deployed') : ''}${imported ? importSection(imported) : ''}`);

function batchSection(): string {
  return `
**Synthea support batches** on a database holding 50,000 Patients, statistics taken while it was empty (goal: the hospital batch under 5 s):

| batch | entries | seconds | answers | CPU µs per entry: server / PostgreSQL |
|---|---|---|---|---|
${batches.map((b) => `| ${b.name} | ${b.entries.toLocaleString('en')} | **${b.seconds}** | ${Object.entries(b.statuses).map(([s, k]) => `${k} × ${s}`).join(', ')} | ${b.cpu.server} / ${b.cpu.postgres} |`).join('\n')}
`;
}

function ingestSection(r: IngestRun, how: string): string {
  return `
**Synthea HIV transaction ingest**, ${how}, 4 clients, ${r.seconds} s: **${r.perSecond.toLocaleString('en')} resources/s** (goal ≥ 3,000)${ofInsert(r.perSecond)}, ${r.bundles} bundles, ${r.failures} failures;
CPU µs per resource: server ${r.cpu.server} / PostgreSQL ${r.cpu.postgres} / client ${r.cpu.client}.
`;
}

function importSection(r: ImportRun): string {
  return `
**\`$import\`** of ${r.resources.toLocaleString('en')} replayed HIV resources (${r.megabytes} MB of NDJSON from a URL source): ${r.imported.toLocaleString('en')} imported,
${r.failed} refused, in ${r.seconds} s = **${r.perSecond.toLocaleString('en')} resources/s** (goal ≥ 10,000)${ofInsert(r.perSecond)}; server RSS ${r.idleRssMb} MB idle, **${r.peakRssMb} MB** at most (goal < 300 MB);
CPU µs per resource: server ${r.cpu.server} / PostgreSQL ${r.cpu.postgres}.
`;
}

function crudSection(c: Ceiling): string {
  return `The raw ceiling (bench/ceiling.ts: Fastify + pg, one JSONB insert / one primary-key read per request, no validation,
auth or audit) was measured in the same run, ${connections} connections, ${rounds} rounds of ${seconds} s, medians.

| workload | raw ceiling | this server | ratio | goal | CPU µs per request: server / PostgreSQL / client |
|---|---|---|---|---|---|
| create Patient (strict MX validation, auth, audit) | ${c.insert.rps} req/s | ${create?.rps} req/s | **${pct(create?.rps ?? 0, c.insert.rps)}** | ≥ 20 % | ${create?.cpu?.server} / ${create?.cpu?.postgres} / ${create?.cpu?.client} |
| read Patient by id (auth, durable read audit) | ${c.read.rps} req/s | ${read?.rps} req/s | **${pct(read?.rps ?? 0, c.read.rps)}** | ≥ 60 % | ${read?.cpu?.server} / ${read?.cpu?.postgres} / ${read?.cpu?.client} |

Ceiling CPU µs per request: insert ${c.insert.cpu?.server ?? '?'} / ${c.insert.cpu?.postgres ?? '?'}, read ${c.read.cpu?.server ?? '?'} / ${c.read.cpu?.postgres ?? '?'} (server / PostgreSQL).

`;
}

/** Resources/s as a share of the raw one-row insert ceiling's requests/s (each a one-resource write). */
function ofInsert(perSecond: number): string {
  return ceiling ? ` = ${pct(perSecond, ceiling.insert.rps)} of the raw insert ceiling (${ceiling.insert.rps} req/s)` : '';
}

function ceilingLine(c: Ceiling): string {
  return `Raw ceiling in the same run (bench/ceiling.ts, ${connections} connections, ${rounds} rounds of ${seconds} s): one-row JSONB insert ${c.insert.rps} req/s (CPU µs server ${c.insert.cpu?.server ?? '?'} / PostgreSQL ${c.insert.cpu?.postgres ?? '?'}), read ${c.read.rps} req/s.
`;
}
