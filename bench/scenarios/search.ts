/**
 * Search (issue 3): bulk-load real Synthea patients (the corpus, replayed; bench/synthea-replay.ts)
 * straight through the store and index code, ANALYZE, then measure search latency at 1 connection over
 * HTTP, and the storage-layer ingest cost of index rows (the same sequential writes through persist()
 * with and without the index hook).
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { loadDefinitions } from '../../src/fhir/definitions.ts';
import { persist } from '../../src/fhir/persist.ts';
import type { FhirContext } from '../../src/fhir/types.ts';
import { stamp } from '../../src/fhir/versioning.ts';
import { indexWriteStatement } from '../../src/search/write-index.ts';
import { connect } from '../../src/store/connect.ts';
import type { Db } from '../../src/store/resource-store.ts';
import { validateBase } from '../../src/validation/validate-base.ts';
import type { Measure, Server } from '../harness.ts';
import { load } from '../harness.ts';
import { loadReplayed, patientFiles } from '../synthea-replay.ts';
import { syntheticPatient } from '../synthetic.ts';
import type { BenchSettings } from './crud.ts';

export interface SearchBench {
  patients: number;
  resources: number;
  loadSeconds: number;
  indexRows: number;
  measures: Measure[];
  ingest: { withIndex: number; without: number; writes: number };
}

export async function searchScenarios(server: Server, s: BenchSettings): Promise<SearchBench> {
  loadDefinitions();
  // 40 corpus patients × 26 copies: over 1,000 Synthea patients, several hundred thousand resources.
  const patients = Number(process.env.BENCH_PATIENTS ?? patientFiles().length * 26);
  const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 2 });
  try {
    const loaded = await loadReplayed(db, patients, 'search');
    const loadSeconds = loaded.seconds;
    const who = loaded.patients.map((p) => ({ patientId: p.patientId, identifier: `${p.identifier.system}|${p.identifier.value}`, family: p.family }));
    const counts = await sql<{ resources: string; rows: string }>`SELECT (SELECT count(*) FROM resource) AS resources,
      (SELECT (SELECT count(*) FROM sp_string) + (SELECT count(*) FROM sp_token) + (SELECT count(*) FROM sp_date) + (SELECT count(*) FROM sp_number)
        + (SELECT count(*) FROM sp_quantity) + (SELECT count(*) FROM sp_reference) + (SELECT count(*) FROM sp_uri)) AS rows`.execute(db);
    const pick = () => who[Math.floor(Math.random() * who.length)]!;
    const one = { url: server.url, connections: 1, durationSeconds: s.durationSeconds, rounds: s.rounds };
    const get = (name: string, path: () => string) => load({ ...one, name, requests: [{ method: 'GET', headers: server.auth, setupRequest: (req) => ({ ...req, path: path() }) }] });
    const measures: Measure[] = [];
    measures.push(await get('token: Patient?identifier=system+value', () => `/fhir/Patient?identifier=${encodeURIComponent(pick().identifier)}`));
    measures.push(await get('reference: Observation?subject=Patient/x', () => `/fhir/Observation?subject=Patient/${pick().patientId}`));
    measures.push(await get('Observation?subject,code,_sort=-date,_count=5', () => `/fhir/Observation?subject=Patient/${pick().patientId}&code=http://loinc.org|8867-4&_sort=-date&_count=5`));
    measures.push(await get('Encounter?patient=x&date=ge2020', () => `/fhir/Encounter?patient=${pick().patientId}&date=ge2020`));
    measures.push(await get('Patient?family=…&birthdate=ge1980', () => `/fhir/Patient?family=${encodeURIComponent(pick().family.slice(0, 4))}&birthdate=ge1980&_count=10`));
    measures.push(await get('Patient?_has:Observation:subject:…', () => `/fhir/Patient?_id=${pick().patientId}&_has:Observation:subject:code=http://loinc.org|8867-4`));
    measures.push(await get('MedicationRequest?patient&status&_include', () => `/fhir/MedicationRequest?patient=${pick().patientId}&status=active&_include=MedicationRequest:medication`));
    const ingest = await ingestCost(db, server.url);
    return { patients, resources: Number(counts.rows[0]?.resources ?? 0), loadSeconds, indexRows: Number(counts.rows[0]?.rows ?? 0), measures, ingest };
  } finally {
    await db.destroy();
  }
}

/** Mean ms per sequential write of a Synthea-like Observation through persist(), with and without the index hook. */
async function ingestCost(db: Db, baseUrl: string): Promise<{ withIndex: number; without: number; writes: number }> {
  const writes = Number(process.env.BENCH_INGEST_WRITES ?? 1500);
  const sample = syntheticPatient(1).filter((r) => r.resourceType === 'Observation')[0]!;
  const ctx = (hooks: boolean): FhirContext => ({ db, baseUrl, now: () => new Date(), validate: validateBase, writeStatements: hooks ? [indexWriteStatement] : [] });
  const run = async (hooks: boolean) => {
    const c = ctx(hooks);
    const t0 = performance.now();
    for (let i = 0; i < writes; i++) await persist(c, stamp(sample as Resource, randomUUID(), 1, new Date()), undefined);
    return (performance.now() - t0) / writes;
  };
  await run(true); // warm-up
  const out = { without: 0, withIndex: 0, writes };
  for (let round = 0; round < 2; round++) {
    out.without += (await run(false)) / 2;
    out.withIndex += (await run(true)) / 2;
  }
  return { withIndex: Math.round(out.withIndex * 100) / 100, without: Math.round(out.without * 100) / 100, writes };
}
