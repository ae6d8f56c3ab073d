/**
 * Issue 21's goals, each measured on its own fresh server (MX_PROFILE_ENFORCEMENT
 * strict for the Patient create, declared for Synthea data, which has no CURP):
 * - the 2,382-entry Synthea support batch (hospitals, `ifNoneExist` each) on a
 *   database already holding 50,000 Patients, whose statistics were taken
 *   while it was empty (the plan that went quadratic);
 * - the HIV module's transaction ingest from 4 clients;
 * - `$import` of the replayed HIV corpus (≥ 300,000 resources) from a URL
 *   source served by the bench process: resources/s from kick-off to the
 *   manifest, server RSS sampled meanwhile;
 * CPU µs per resource for the server process and its PostgreSQL throughout.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { sql } from 'kysely';
import { connect } from '../../src/store/connect.ts';
import { cpuPer, cpuStart, rssMb, startServer, type CpuPerRequest, type Server } from '../harness.ts';
import { mexicanPatient } from '../fixtures.ts';
import { bulkLoad } from '../synthetic.ts';
import { corpusFiles, replayedPatient } from '../synthea-replay.ts';
import { ingest, ingestBundles, postBundle, prepareIngest, type IngestRun } from './exchange.ts';

const module = 'hiv/';

export interface SupportBatchRun {
  patients: number;
  name: string;
  entries: number;
  seconds: number;
  statuses: Record<string, number>;
  cpu: CpuPerRequest;
}

async function timedBundle(server: Server, name: string, bundle: unknown, entries: number, patients: number): Promise<SupportBatchRun> {
  const before = cpuStart(server);
  const t0 = performance.now();
  const res = await fetch(`${server.url}/fhir`, { method: 'POST', headers: { ...server.auth, 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: JSON.stringify(bundle) });
  const body = (await res.json()) as { entry?: { response?: { status?: string } }[] };
  const seconds = Math.round((performance.now() - t0) / 10) / 100;
  const statuses: Record<string, number> = {};
  if (res.status !== 200) statuses[`bundle ${res.status}`] = 1;
  for (const e of body.entry ?? []) {
    const s = (e.response?.status ?? '?').split(' ')[0]!;
    statuses[s] = (statuses[s] ?? 0) + 1;
  }
  const run = { patients, name, entries, seconds, statuses, cpu: cpuPer(before, server, entries) };
  console.log(`support batch ${name} (${entries} entries, ${patients} Patients): ${seconds} s, ${JSON.stringify(statuses)}, cpu µs/entry server ${run.cpu.server} postgres ${run.cpu.postgres}`);
  return run;
}

/** The hospital and practitioner batches on a database holding `patients` Patients, analysed while empty; then the hospital batch again (all matches). */
export async function supportBatches(patients = 50_000, env: Record<string, string> = {}): Promise<SupportBatchRun[]> {
  const server = await startServer({ env: { MX_PROFILE_ENFORCEMENT: 'declared', ...env } });
  try {
    const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 2 });
    await sql`ANALYZE`.execute(db);
    for (let start = 0; start < patients; start += 1000) {
      await bulkLoad(db, Array.from({ length: Math.min(1000, patients - start) }, (_, i) => ({ ...mexicanPatient(start + i), id: `bench-p${start + i}` }) as never));
    }
    await db.destroy();
    const info = corpusFiles().filter((f) => f.information && f.name.startsWith(module));
    const runs: SupportBatchRun[] = [];
    for (const f of info) runs.push(await timedBundle(server, f.name.replace(/^.*\//, '').replace(/\d+$/, ''), f.bundle, f.bundle.entry?.length ?? 0, patients));
    const hospitals = info.find((f) => f.name.includes('hospital'));
    if (hospitals) runs.push(await timedBundle(server, 'hospitalInformation again (all match)', hospitals.bundle, hospitals.bundle.entry?.length ?? 0, patients));
    return runs;
  } finally {
    await server.stop();
  }
}

/** The HIV transaction ingest at `clients` clients for `seconds`. */
export async function transactionIngest(clients: number, seconds: number, env: Record<string, string> = {}): Promise<IngestRun> {
  const server = await startServer({ env: { MX_PROFILE_ENFORCEMENT: 'declared', ...env } });
  try {
    await prepareIngest(server);
    return await ingest(server, clients, seconds, ingestBundles());
  } finally {
    await server.stop();
  }
}

export interface ImportRun {
  resources: number;
  megabytes: number;
  seconds: number;
  perSecond: number;
  imported: number;
  failed: number;
  idleRssMb: number;
  peakRssMb: number;
  cpu: CpuPerRequest;
}

/** Replayed HIV patients (copies 40k + j, j < 20, are the HIV bundles) as one NDJSON file, until `atLeast` resources. */
async function writeCorpus(file: string, atLeast: number): Promise<number> {
  const out = createWriteStream(file);
  let resources = 0;
  for (let k = 0; resources < atLeast; k++) {
    for (let j = 0; j < 20 && resources < atLeast; j++) {
      for (const r of replayedPatient(40 * k + j).resources) {
        if (!out.write(`${JSON.stringify(r)}\n`)) await once(out, 'drain');
        resources++;
      }
    }
  }
  out.end();
  await once(out, 'finish');
  return resources;
}

export async function bulkImport(atLeast = 300_000, env: Record<string, string> = {}): Promise<ImportRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ecu-bench-ndjson-'));
  const file = path.join(dir, 'corpus.ndjson');
  const resources = await writeCorpus(file, atLeast);
  const megabytes = Math.round((await stat(file)).size / 2 ** 20);
  const files: HttpServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/fhir+ndjson' });
    createReadStream(file).pipe(res);
  });
  files.listen(0, '127.0.0.1');
  await once(files, 'listening');
  const address = files.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  const server = await startServer({ env: { MX_PROFILE_ENFORCEMENT: 'declared', IMPORT_ALLOWED_SOURCES: base, ...env } });
  try {
    // The hospitals and clinicians the patients' conditional references name.
    for (const f of corpusFiles().filter((c) => c.information && c.name.startsWith(module))) await postBundle(server, f.bundle);
    const idleRssMb = await rssMb(server.pid);
    const parameters = { resourceType: 'Parameters', parameter: [{ name: 'inputFormat', valueString: 'application/fhir+ndjson' }, { name: 'input', part: [{ name: 'url', valueUri: `${base}corpus.ndjson` }] }] };
    const before = cpuStart(server);
    const t0 = performance.now();
    const kick = await fetch(`${server.url}/fhir/$import`, { method: 'POST', headers: { ...server.auth, 'content-type': 'application/fhir+json', prefer: 'respond-async' }, body: JSON.stringify(parameters) });
    if (kick.status !== 202) throw new Error(`$import kick-off: ${kick.status} ${await kick.text()}`);
    const status = kick.headers.get('content-location') ?? '';
    let peak = 0;
    let manifest: { output: { count: number }[]; error: { count: number }[] } | undefined;
    let lastLog = 0;
    while (!manifest) {
      peak = Math.max(peak, await rssMb(server.pid));
      const res = await fetch(status, { headers: server.auth });
      if (res.status === 200) manifest = (await res.json()) as typeof manifest;
      else if (res.status !== 202) throw new Error(`$import status: ${res.status} ${await res.text()}`);
      else {
        await res.arrayBuffer();
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          console.log(`$import: ${res.headers.get('x-progress')}, RSS ${peak} MB`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const imported = manifest.output.reduce((n, o) => n + o.count, 0);
    const failed = manifest.error.reduce((n, o) => n + o.count, 0);
    const run = { resources, megabytes, seconds: Math.round(seconds * 10) / 10, perSecond: Math.round(imported / seconds), imported, failed, idleRssMb, peakRssMb: peak, cpu: cpuPer(before, server, imported) };
    console.log(`$import: ${imported} imported, ${failed} failed of ${resources} (${megabytes} MB) in ${run.seconds} s = ${run.perSecond}/s, RSS ${idleRssMb} → ${peak} MB, cpu µs/resource server ${run.cpu.server} postgres ${run.cpu.postgres}`);
    return run;
  } finally {
    await server.stop();
    files.close();
    await rm(dir, { recursive: true, force: true });
  }
}
