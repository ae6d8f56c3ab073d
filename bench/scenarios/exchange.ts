/**
 * Exchange (issue 6): on a fresh server with real Synthea patients bulk-loaded
 * (the corpus replayed to over 1,000 patients, bench/synthea-replay.ts), measure
 * - system-level Bulk Data export: resources/s from kick-off to the manifest,
 *   and the server process RSS sampled while it runs;
 * - Patient/$everything latency for a median Synthea patient;
 * - Synthea transaction ingest: the corpus's own transaction bundles POSTed to
 *   /fhir from 1 and 4 concurrent clients, in resources/s, on fresh servers
 *   with and without the search index hook (what index rows cost at ingest).
 * The servers run with MX_PROFILE_ENFORCEMENT=declared: Synthea data has no
 * CURP, as in test/api/everything.test.ts.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { loadDefinitions } from '../../src/fhir/definitions.ts';
import { connect } from '../../src/store/connect.ts';
import { cpuPer, cpuStart, load, rssMb, startServer, type CpuPerRequest, type Measure, type Server } from '../harness.ts';
import { corpusFiles, loadReplayed, patientFiles } from '../synthea-replay.ts';
import type { BenchSettings } from './crud.ts';

export interface ExportRound {
  types: string;
  resources: number;
  seconds: number;
  perSecond: number;
  peakRssMb: number;
  files: number;
  megabytes: number;
}

export interface IngestRun {
  clients: number;
  bundles: number;
  resources: number;
  seconds: number;
  perSecond: number;
  failures: number;
  cpu: CpuPerRequest;
}

export interface ExchangeBench {
  patients: number;
  resources: number;
  loadSeconds: number;
  idleRssMb: number;
  exports: ExportRound[];
  everything: Measure;
  /** Entries in the bundle of the median patient, the one $everything reads. */
  medianEntries: number;
  ingest: IngestRun[];
}

/** One system-level export (of `types`, or everything): time from kick-off to the manifest, RSS sampled every 50 ms meanwhile. */
export async function exportRound(server: Server, types?: string): Promise<ExportRound> {
  const headers = { ...server.auth, prefer: 'respond-async', accept: 'application/fhir+json' };
  let peak = await rssMb(server.pid);
  const t0 = performance.now();
  const kick = await fetch(`${server.url}/fhir/$export${types ? `?_type=${types}` : ''}`, { headers });
  if (kick.status !== 202) throw new Error(`export kick-off: ${kick.status} ${await kick.text()}`);
  const status = kick.headers.get('content-location') ?? '';
  let manifest: { output: { url: string; count: number }[] } | undefined;
  while (!manifest) {
    peak = Math.max(peak, await rssMb(server.pid));
    const res = await fetch(status, { headers: server.auth });
    if (res.status === 200) manifest = (await res.json()) as typeof manifest;
    else if (res.status !== 202) throw new Error(`export status: ${res.status} ${await res.text()}`);
    else await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  const resources = manifest.output.reduce((n, o) => n + o.count, 0);
  // Download once to check the files are whole and to size them; then drop the job.
  let bytes = 0;
  for (const file of manifest.output) {
    const res = await fetch(file.url, { headers: server.auth });
    const body = await res.text();
    bytes += Buffer.byteLength(body);
    const lines = body.split('\n').length - 1;
    if (lines !== file.count) throw new Error(`export file ${file.url}: ${lines} lines, manifest says ${file.count}`);
  }
  await fetch(status, { method: 'DELETE', headers: server.auth });
  const round = { types: types ?? 'all', resources, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(resources / seconds), peakRssMb: peak, files: manifest.output.length, megabytes: Math.round(bytes / 2 ** 20) };
  console.log(`bulk export ${types ?? 'all'}: ${round.resources} resources in ${round.seconds} s = ${round.perSecond}/s, peak RSS ${round.peakRssMb} MB, ${round.files} files, ${round.megabytes} MB`);
  return round;
}

/**
 * The ingest replays one Synthea export as a receiving server gets it: the
 * HIV module's (hiv/ in the corpus): hospital and practitioner batches with
 * conditional creates, then patient transaction bundles whose references to
 * them are conditional. (The corpus's two modules share hospital identifiers,
 * so loading both into one server would make those references ambiguous.)
 */
const ingestModule = 'hiv/';

export function ingestBundles(): Bundle[] {
  return patientFiles().filter((f) => f.name.startsWith(ingestModule)).map((f) => f.bundle);
}

/**
 * For comparing servers with and without index rows: the self-contained
 * bundles (smart/ in the corpus) with every entry a plain create. Conditional
 * creates and references are searches, which a server without index rows
 * cannot answer; without them both servers do exactly the same writes.
 */
function plainCreateBundles(): Bundle[] {
  return patientFiles()
    .filter((f) => f.name.startsWith('smart/'))
    .map((f) => ({ ...f.bundle, entry: f.bundle.entry?.map((e) => ({ ...e, request: { method: 'POST' as const, url: e.request?.url ?? e.resource?.resourceType ?? '' } })) }));
}

/**
 * Makes a server ready for the ingest: the module's hospital and practitioner
 * batches, then each patient bundle once from one client, so that every
 * conditional create already has its one match before concurrent clients run
 * (two transactions racing to create the same hospital would leave two, and
 * every later reference to it would answer 412).
 */
export async function prepareIngest(server: Server): Promise<void> {
  for (const file of corpusFiles().filter((f) => f.information && f.name.startsWith(ingestModule))) await postBundle(server, file.bundle);
  for (const bundle of ingestBundles()) await postBundle(server, bundle);
}

export async function postBundle(server: Server, bundle: Bundle): Promise<number> {
  const res = await fetch(`${server.url}/fhir`, { method: 'POST', headers: { ...server.auth, 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: JSON.stringify(bundle) });
  await res.arrayBuffer();
  return res.status;
}

/** Each client POSTs the bundles, round robin, back to back for `seconds`. */
export async function ingest(server: Server, clients: number, seconds: number, bundles: Bundle[]): Promise<IngestRun> {
  const sources = bundles.map((bundle) => ({ body: JSON.stringify(bundle), entries: bundle.entry?.length ?? 0 }));
  let next = 0;
  let answered = 0;
  let resources = 0;
  let failures = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const before = cpuStart(server);
  const client = async () => {
    while (performance.now() < deadline) {
      const source = sources[next++ % sources.length]!;
      const res = await fetch(`${server.url}/fhir`, { method: 'POST', headers: { ...server.auth, 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: source.body });
      await res.arrayBuffer();
      if (res.status === 200) {
        answered++;
        resources += source.entries;
      } else failures++;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuPer(before, server, resources);
  const out = { clients, bundles: answered, resources, seconds: Math.round(elapsed * 10) / 10, perSecond: Math.round(resources / elapsed), failures, cpu };
  console.log(`transaction ingest, ${clients} client(s): ${out.perSecond} resources/s (${out.bundles} bundles, ${out.failures} failures), cpu µs/resource: server ${cpu.server}, postgres ${cpu.postgres}, client ${cpu.client}`);
  return out;
}

export interface IndexCost {
  clients: number;
  withIndex: IngestRun | undefined;
  without: IngestRun | undefined;
}

/**
 * What index rows cost where data comes in: the same transaction ingest on two
 * fresh servers, one built without the search index hook (BENCH_INDEXING=off).
 * Resources/s without ÷ with is the time a resource takes with its index rows
 * relative to writing it without them.
 */
export async function indexCostScenarios(s: BenchSettings): Promise<IndexCost[]> {
  const runs = new Map<string, IngestRun>();
  for (const indexing of ['on', 'off']) {
    const server = await startServer({ env: { MX_PROFILE_ENFORCEMENT: 'declared', BENCH_INDEXING: indexing } });
    try {
      await ingest(server, 4, 3, plainCreateBundles()); // warm-up
      for (const clients of [1, 4]) runs.set(`${indexing}-${clients}`, await ingest(server, clients, s.durationSeconds * 2, plainCreateBundles()));
    } finally {
      await server.stop();
    }
  }
  return [1, 4].map((clients) => ({ clients, withIndex: runs.get(`on-${clients}`), without: runs.get(`off-${clients}`) }));
}

export async function exchangeScenarios(s: BenchSettings): Promise<ExchangeBench> {
  loadDefinitions();
  // 40 corpus patients × 26: over 1,000 Synthea patients.
  const patients = Number(process.env.BENCH_EXPORT_PATIENTS ?? patientFiles().length * 26);
  const server = await startServer({ env: { MX_PROFILE_ENFORCEMENT: 'declared' } });
  try {
    const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 2 });
    const loaded = await loadReplayed(db, patients, 'exchange').finally(() => db.destroy());
    const idleRssMb = await rssMb(server.pid);
    const exports: ExportRound[] = [];
    for (let round = 0; round < s.rounds; round++) exports.push(await exportRound(server));
    // Smaller exports on the same server: peak RSS should not depend on how much is exported.
    for (const types of ['MedicationRequest', 'Encounter', 'Observation']) exports.push(await exportRound(server, types));
    // The median patient: the corpus bundle with the median entry count, in any of its replayed copies.
    const sources = patientFiles();
    const bySize = sources.map((f, i) => ({ i, entries: f.bundle.entry?.length ?? 0 })).sort((a, b) => a.entries - b.entries);
    const medianSource = bySize[Math.floor(bySize.length / 2)]!;
    const ids = loaded.patients.filter((_, n) => n % sources.length === medianSource.i).map((p) => p.patientId);
    const everything = await load({
      name: `Patient/$everything (median patient, ${medianSource.entries} resources)`,
      url: server.url,
      connections: 1,
      durationSeconds: s.durationSeconds,
      rounds: s.rounds,
      requests: [{ method: 'GET', headers: server.auth, setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${ids[Math.floor(Math.random() * ids.length)]}/$everything?_count=1000` }) }],
    });
    return { patients, resources: loaded.resources, loadSeconds: loaded.seconds, idleRssMb, exports, everything, medianEntries: medianSource.entries, ingest: await syntheaIngest(s) };
  } finally {
    await server.stop();
  }
}

/** The HIV module's export, as Synthea wrote it, into a fresh server from 1 and 4 clients. */
export async function syntheaIngest(s: BenchSettings): Promise<IngestRun[]> {
  const server = await startServer({ env: { MX_PROFILE_ENFORCEMENT: 'declared' } });
  try {
    await prepareIngest(server);
    const runs: IngestRun[] = [];
    for (const clients of [1, 4]) runs.push(await ingest(server, clients, s.durationSeconds * 2, ingestBundles()));
    return runs;
  } finally {
    await server.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The RESULTS.md section. */
export function exchangeReport(b: ExchangeBench): string {
  const whole = b.exports.filter((e) => e.types === 'all');
  const rate = median(whole.map((e) => e.perSecond));
  const peak = Math.max(...b.exports.map((e) => e.peakRssMb));
  const rows = b.exports.map((e, i) => `| ${i + 1} | ${e.types} | ${e.resources.toLocaleString('en')} | ${e.seconds} | ${e.perSecond.toLocaleString('en')} | ${e.peakRssMb} | ${e.files} | ${e.megabytes} |`);
  const ingestRows = b.ingest.map((r) => `| ${r.clients} | ${r.bundles} | ${r.resources.toLocaleString('en')} | ${r.seconds} | **${r.perSecond.toLocaleString('en')}** | ${r.failures} | ${r.cpu.server} / ${r.cpu.postgres} / ${r.cpu.client} | ≥ 2,000 resources/s |`);
  return `
## Exchange: bulk export, $everything, transaction ingest

Fresh server (MX_PROFILE_ENFORCEMENT=declared: Synthea data has no CURP) and database: ${b.patients.toLocaleString('en')} Synthea
patients (the corpus's 40 patient bundles replayed with distinct ids and identifiers, bench/synthea-replay.ts) =
${b.resources.toLocaleString('en')} resources, bulk-loaded with their compartment column and index rows in ${b.loadSeconds} s, then ANALYZE.

**System-level \`$export\`** of everything (kick-off to manifest, files written to DATA_DIR/exports; the files are then
downloaded and their line counts checked against the manifest). Median **${rate.toLocaleString('en')} resources/s** (goal ≥ 20,000/s).
Server RSS: ${b.idleRssMb} MB idle before the first export, **${peak} MB** at most while exporting, sampled every 50 ms (goal < 300 MB).
The last rounds export one type each: the peak does not grow with the size of the export (the job holds one cursor
batch of 500 rows and 64 KB of write buffer per open file).

| round | _type | resources | seconds | resources/s | peak RSS MB | files | MB written |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

**\`Patient/$everything\`** of the median Synthea patient (the corpus bundle with the median entry count, ${b.medianEntries} entries,
in a random one of its copies), 1 connection: ${b.everything.rps} req/s, p50 **${b.everything.p50} ms**, p99 ${b.everything.p99} ms, non-2xx ${b.everything.non2xx}.

**Synthea transaction ingest**: on a fresh server, the corpus's HIV-module export as Synthea wrote it: its hospital and
practitioner batches, each patient bundle once (so every conditional create has its one match), then each client
POSTs the module's ${ingestBundles().length} patient transaction bundles (urn:uuid references, conditional references to the hospitals and
clinicians) round robin, back to back, \`Prefer: return=minimal\`, for the time shown. Resources = entries of the
bundles answered 200.

| clients | bundles | resources | seconds | resources/s | failures | CPU µs per resource: server / PostgreSQL / client | goal |
|---|---|---|---|---|---|---|---|
${ingestRows.join('\n')}

Where the time goes: the three processes share 2 cores, so at most about 2,000,000 µs of CPU per second are spent across
the columns above; ≥ 2,000 resources/s needs their sum under ~1,000 µs. Per resource the server validates it (base R4
plus profiles), extracts its search index rows with FHIRPath, stamps and serialises it and writes one statement (row,
history, index rows and audit record); PostgreSQL executes that statement and commits the bundle. Both halves would
have to shrink a lot: the largest remaining levers are sending a whole bundle's rows in a few multi-row statements
instead of one statement per entry, and fewer index rows per resource.
`;
}
