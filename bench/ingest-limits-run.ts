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
import { curpCheckDigit } from '../src/mx/curp.ts';
import { mexicanPatient } from './fixtures.ts';
import { load, post, startServer, type Measure } from './harness.ts';
import { bulkImport, supportBatches, transactionIngest } from './scenarios/ingest-limits.ts';
import { measureCeiling } from './ceiling.ts';

loadDefinitions();
const seconds = Number(process.argv[2] ?? 10);
const importResources = Number(process.argv[3] ?? 300_000);
const connections = 32;
const rounds = 3;
const started = new Date();
const loadStart = os.loadavg()[0] ?? 0;

/** The fixture patient with CURP n (distinct consonants and homoclave; same person data, so the CURP rules hold). */
const letters = 'BCDFGHJKLMNPQRSTVWXZ';
function patientBody(n: number): string {
  const c = (k: number) => letters.charAt(Math.floor(n / 20 ** k) % 20);
  const first17 = `VIRB840210MDF${c(0)}${c(1)}${c(2)}${Math.floor(n / 8000) % 10}`;
  const p = mexicanPatient(n);
  p.identifier[0]!.value = first17 + curpCheckDigit(first17);
  return JSON.stringify(p);
}

const ceiling = await measureCeiling({ connections, durationSeconds: seconds, rounds });

const server = await startServer();
const rest: Measure[] = [];
try {
  const ids: string[] = [];
  for (let i = 0; i < 500; i++) ids.push((await post(server, '/fhir/Patient', JSON.parse(patientBody(70_000 + i)))).id);
  const common = { url: server.url, connections, durationSeconds: seconds, rounds, server };
  let n = 0;
  rest.push(
    await load({
      ...common,
      name: 'create Patient',
      requests: [{ method: 'POST', path: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json', ...server.auth }, setupRequest: (req) => ({ ...req, body: patientBody(n++ % 70_000) }) }],
    }),
  );
  rest.push(await load({ ...common, name: 'read Patient by id', requests: [{ method: 'GET', headers: server.auth, setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${ids[Math.floor(Math.random() * ids.length)]}` }) }] }));
} finally {
  await server.stop();
}
const batches = await supportBatches(50_000);
const ingest4 = await transactionIngest(4, seconds * 2);
const imported = await bulkImport(importResources);
const loadEnd = os.loadavg()[0] ?? 0;

const pct = (a: number, b: number) => `${Math.round((a / b) * 100)} %`;
const [create, read] = rest;
console.log(`
## Ingest at the limit (issue 21)

Run ${started.toISOString()} (\`node bench/ingest-limits-run.ts ${seconds} ${importResources}\`), load average (1 min) at start ${loadStart.toFixed(1)}, at end ${loadEnd.toFixed(1)}.
The raw ceiling (bench/ceiling.ts: Fastify + pg, one JSONB insert / one primary-key read per request, no validation,
auth or audit) was measured in the same run, ${connections} connections, ${rounds} rounds of ${seconds} s, medians.

| workload | raw ceiling | this server | ratio | goal | CPU µs per request: server / PostgreSQL / client |
|---|---|---|---|---|---|
| create Patient (strict MX validation, auth, audit) | ${ceiling.insert.rps} req/s | ${create?.rps} req/s | **${pct(create?.rps ?? 0, ceiling.insert.rps)}** | ≥ 20 % | ${create?.cpu?.server} / ${create?.cpu?.postgres} / ${create?.cpu?.client} |
| read Patient by id (auth, durable read audit) | ${ceiling.read.rps} req/s | ${read?.rps} req/s | **${pct(read?.rps ?? 0, ceiling.read.rps)}** | ≥ 60 % | ${read?.cpu?.server} / ${read?.cpu?.postgres} / ${read?.cpu?.client} |

Ceiling CPU µs per request: insert ${ceiling.insert.cpu?.server ?? '?'} / ${ceiling.insert.cpu?.postgres ?? '?'}, read ${ceiling.read.cpu?.server ?? '?'} / ${ceiling.read.cpu?.postgres ?? '?'} (server / PostgreSQL).

**Synthea support batches** on a database holding 50,000 Patients, statistics taken while it was empty (goal: the hospital batch under 5 s):

| batch | entries | seconds | answers | CPU µs per entry: server / PostgreSQL |
|---|---|---|---|---|
${batches.map((b) => `| ${b.name} | ${b.entries.toLocaleString('en')} | **${b.seconds}** | ${Object.entries(b.statuses).map(([s, k]) => `${k} × ${s}`).join(', ')} | ${b.cpu.server} / ${b.cpu.postgres} |`).join('\n')}

**Synthea HIV transaction ingest**, 4 clients, ${ingest4.seconds} s: **${ingest4.perSecond.toLocaleString('en')} resources/s** (goal ≥ 3,000), ${ingest4.bundles} bundles, ${ingest4.failures} failures;
CPU µs per resource: server ${ingest4.cpu.server} / PostgreSQL ${ingest4.cpu.postgres} / client ${ingest4.cpu.client}.

**\`$import\`** of ${imported.resources.toLocaleString('en')} replayed HIV resources (${imported.megabytes} MB of NDJSON from a URL source): ${imported.imported.toLocaleString('en')} imported,
${imported.failed} refused, in ${imported.seconds} s = **${imported.perSecond.toLocaleString('en')} resources/s** (goal ≥ 10,000); server RSS ${imported.idleRssMb} MB idle, **${imported.peakRssMb} MB** at most (goal < 300 MB);
CPU µs per resource: server ${imported.cpu.server} / PostgreSQL ${imported.cpu.postgres}.
`);
