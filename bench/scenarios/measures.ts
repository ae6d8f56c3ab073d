/**
 * Productivity statistics (issue 20): the weekly national report of
 * consultations by unit × specialty over 1,000,000 Encounters, at one
 * connection (goal: p50 under 2 s):
 *   Measure/consultas/$evaluate-measure?periodStart=<Mon>&periodEnd=<Sun>&stratifier=unidad-especialidad
 * The Encounters are generated in PostgreSQL (generate_series), the resource
 * row and the index rows the API would write for the elements set (status,
 * class, serviceType, serviceProvider, subject, period): a write through the
 * API costs ~1 ms each, 1,000,000 of them would take the bench past its budget.
 * They span 52 weeks of 2026 (~19,000 a week) over 1,000 units (CLUES, level
 * of care), 12 specialties; 90 % finished, 85 % AMB, 10 % VR, 5 % EMER;
 * 2 in 7 first-time (primera vez), the rest follow-up (Encounter.type).
 * BENCH_ENCOUNTERS changes the count. A database that already holds them
 * (BENCH_PG_DIR, bench/measures-run.ts) is not loaded again.
 */
import type { Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { loadDefinitions } from '../../src/fhir/definitions.ts';
import { relacionTemporalSystem as relacionSystem } from '../../src/measures/definitions.ts';
import { cluesSystem } from '../../src/mx/systems.ts';
import { connect } from '../../src/store/connect.ts';
import type { Db } from '../../src/store/resource-store.ts';
import type { Measure, Server } from '../harness.ts';
import { load } from '../harness.ts';
import { bulkLoad, loadOnce } from '../synthetic.ts';
import type { BenchSettings } from './crud.ts';

export const measureUnits = 1000;
const specialties = ['419772000', '419192003', '394609007', '394801008', '394807007', '394587001', '394537008', '394579002', '394582007', '394583002', '394802001', '394803006'];

export interface MeasuresBench {
  encounters: number;
  /** Undefined: a kept database already held them (BENCH_PG_DIR). */
  loadSeconds?: number;
  measures: Measure[];
}

const levelUrl = 'https://ecu-fhir.org/fhir/StructureDefinition/mx-nivel-atencion';
const levelSystem = 'https://ecu-fhir.org/fhir/CodeSystem/nivel-atencion';

export async function loadEncounters(db: Db, encounters: number): Promise<void> {
  const units: Resource[] = Array.from(
    { length: measureUnits },
    (_, i) =>
      ({
        resourceType: 'Organization',
        id: `mu-${i}`,
        identifier: [{ system: cluesSystem, value: `DFSSA${String(i).padStart(6, '0')}` }],
        extension: [{ url: levelUrl, valueCoding: { system: levelSystem, code: String((i % 10) < 7 ? 1 : (i % 10) < 9 ? 2 : 3) } }],
        active: true,
        name: `Unidad ${i}`,
      }) as Resource,
  );
  await bulkLoad(db, units);
  const chunk = 100_000;
  for (let from = 0; from < encounters; from += chunk) {
    const to = Math.min(encounters, from + chunk) - 1;
    await db.transaction().execute(async (tx) => {
      // g → a spread over 364 days from Monday 5 Jan 2026, 1,000 units, 12 specialties, 250,000 patients.
      await sql`CREATE TEMP TABLE gen ON COMMIT DROP AS
        SELECT 'me-' || g AS id, 'mp-' || (g % 250000) AS patient, 'mu-' || ((g * 7919) % ${measureUnits}) AS unit,
          (${specialties}::text[])[1 + (g * 31) % 12] AS specialty,
          CASE WHEN g % 20 = 0 THEN 'EMER' WHEN g % 10 = 1 THEN 'VR' ELSE 'AMB' END AS cls,
          CASE WHEN g % 10 = 3 THEN 'cancelled' ELSE 'finished' END AS status,
          CASE WHEN g % 7 < 2 THEN 'primera-vez' ELSE 'subsecuente' END AS relacion,
          timestamptz '2026-01-05T00:00:00Z' + ((g * 104729) % 364) * interval '1 day' + (g % 600) * interval '1 minute' + interval '13 hours' AS start
        FROM generate_series(${from}::bigint, ${to}::bigint) AS g`.execute(tx);
      await sql`INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content, patients)
        SELECT 'Encounter', id, 1, now(), false, json_build_object(
          'resourceType', 'Encounter', 'id', id, 'meta', json_build_object('versionId', '1', 'lastUpdated', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
          'status', status, 'class', json_build_object('system', 'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'code', cls),
          'type', json_build_array(json_build_object('coding', json_build_array(json_build_object('system', ${relacionSystem}::text, 'code', relacion)))),
          'serviceType', json_build_object('coding', json_build_array(json_build_object('system', 'http://snomed.info/sct', 'code', specialty))),
          'subject', json_build_object('reference', 'Patient/' || patient), 'serviceProvider', json_build_object('reference', 'Organization/' || unit),
          'period', json_build_object('start', to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'end', to_char((start + interval '20 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
        )::text, ARRAY[patient] FROM gen`.execute(tx);
      await sql`INSERT INTO sp_token (resource_type, id, param, grp, system, code, text)
        SELECT 'Encounter', id, 'status', 0, 'http://hl7.org/fhir/encounter-status', status, NULL FROM gen
        UNION ALL SELECT 'Encounter', id, 'class', 0, 'http://terminology.hl7.org/CodeSystem/v3-ActCode', cls, NULL FROM gen
        UNION ALL SELECT 'Encounter', id, 'service-type', 0, 'http://snomed.info/sct', specialty, NULL FROM gen
        UNION ALL SELECT 'Encounter', id, 'type', 0, ${relacionSystem}::text, relacion, NULL FROM gen`.execute(tx);
      await sql`INSERT INTO sp_reference (resource_type, id, param, grp, target_type, target_id, url)
        SELECT 'Encounter', id, 'service-provider', 0, 'Organization', unit, NULL FROM gen
        UNION ALL SELECT 'Encounter', id, 'subject', 0, 'Patient', patient, NULL FROM gen
        UNION ALL SELECT 'Encounter', id, 'patient', 0, 'Patient', patient, NULL FROM gen`.execute(tx);
      await sql`INSERT INTO sp_date (resource_type, id, param, grp, lo, hi)
        SELECT 'Encounter', id, 'date', 0, start, start + interval '20 minutes' FROM gen`.execute(tx);
    });
    console.log(`measures: loaded ${to + 1} / ${encounters} Encounters`);
  }
  // What autovacuum does to a table after bulk inserts (and must have done for index-only scans to skip the heap).
  await sql`VACUUM ANALYZE sp_date`.execute(db);
  await sql`VACUUM ANALYZE sp_token`.execute(db);
  await sql`VACUUM ANALYZE sp_reference`.execute(db);
  await sql`ANALYZE`.execute(db);
}

export async function measureScenarios(server: Server, s: BenchSettings): Promise<MeasuresBench> {
  loadDefinitions();
  const encounters = Number(process.env.BENCH_ENCOUNTERS ?? 1_000_000);
  const db = connect({ databaseUrl: server.databaseUrl, maxConnections: 2 });
  try {
    const loadSeconds = await loadOnce(db, { resourceType: 'Encounter', idPrefix: 'me-', count: encounters }, () => loadEncounters(db, encounters));
    // A national auditor: no CLUES claim, so every unit counts.
    const headers = { authorization: `Bearer ${await server.tokenFor({ role: 'auditor', scope: 'user/*.rs' })}` };
    const one = { url: server.url, connections: 1, durationSeconds: s.durationSeconds, rounds: s.rounds };
    // Weeks 10 to 40 of 2026, a different one each request (no warm cache of one week's rows).
    const week = () => {
      const monday = new Date(Date.UTC(2026, 0, 5) + (10 + Math.floor(Math.random() * 30)) * 7 * 86_400_000);
      const sunday = new Date(monday.getTime() + 6 * 86_400_000);
      return `periodStart=${monday.toISOString().slice(0, 10)}&periodEnd=${sunday.toISOString().slice(0, 10)}`;
    };
    const get = (name: string, path: () => string) => load({ ...one, name, requests: [{ method: 'GET', headers, setupRequest: (req) => ({ ...req, path: path() }) }] });
    const measures = [
      await get('weekly consultations by unit × specialty (JSON)', () => `/fhir/Measure/consultas/$evaluate-measure?${week()}&stratifier=unidad-especialidad`),
      await get('same, every stratifier (unit, level, specialty, unit × specialty, class, day, week, month)', () => `/fhir/Measure/consultas/$evaluate-measure?${week()}`),
      await get('same as CSV, unit × specialty', () => `/fhir/Measure/consultas/$evaluate-measure?${week()}&stratifier=unidad-especialidad&_format=text/csv`),
    ];
    return { encounters, loadSeconds, measures };
  } finally {
    await db.destroy();
  }
}

export function measuresReport(r: MeasuresBench): string {
  const rows = r.measures.map((m) => `| ${m.name} | ${m.rps} | ${m.p50} | ${m.p99} | ${m.non2xx} |`);
  return `## Productivity statistics: $evaluate-measure (issue 20)

${r.encounters.toLocaleString('en')} Encounters over 52 weeks (~${Math.round(r.encounters / 52).toLocaleString('en')} a week), ${measureUnits} units, 12 specialties, generated in SQL; ${r.loadSeconds === undefined ? 'loaded in an earlier run (kept database)' : `loaded in ${r.loadSeconds} s`}.
One connection, with authentication and audit, a national auditor token; each request a different week. Goal: p50 under 2 s.

| scenario | req/s | p50 ms | p99 ms | non-2xx |
|---|---|---|---|---|
${rows.join('\n')}
`;
}
