/**
 * Synthea-like synthetic patients (Patient, Encounters, Observations,
 * MedicationRequests) and a bulk loader that writes them straight through the
 * store and the index code (no HTTP): one INSERT per batch into `resource`
 * (history by the trigger, as always), then the index rows, one statement per table.
 */
import type { Resource } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { patientsOf } from '../src/fhir/compartment.ts';
import { extractIndexValues } from '../src/search/extract-index-values.ts';
import { insertIndexRowsBulk } from '../src/search/write-index.ts';
import type { Db } from '../src/store/resource-store.ts';

const families = ['Hernández', 'García', 'Martínez', 'López', 'González', 'Pérez', 'Rodríguez', 'Sánchez', 'Ramírez', 'Cruz', 'Flores', 'Gómez'];
const givens = ['José', 'María', 'Juan', 'Guadalupe', 'Francisco', 'Ana', 'Luis', 'Rosa', 'Carlos', 'Sofía'];
const vitals = [
  { code: '8867-4', display: 'Heart rate', unit: '/min', base: 60, spread: 40 },
  { code: '29463-7', display: 'Body weight', unit: 'kg', base: 50, spread: 50 },
  { code: '8302-2', display: 'Body height', unit: 'cm', base: 150, spread: 40 },
  { code: '8310-5', display: 'Body temperature', unit: 'Cel', base: 36, spread: 2 },
];

export function patientIdentifier(n: number): string {
  return `EXP${String(n).padStart(8, '0')}`;
}

/** One patient and their record: 1 Patient, 3 Encounters, 20 Observations, 1 MedicationRequest. */
export function syntheticPatient(n: number): Resource[] {
  const pid = `p${n}`;
  const subject = { reference: `Patient/${pid}` };
  const out: Resource[] = [
    {
      resourceType: 'Patient',
      id: pid,
      identifier: [{ system: 'https://ecu-fhir.org/fhir/sid/expediente', value: patientIdentifier(n) }],
      name: [{ family: families[n % families.length]!, given: [givens[n % givens.length]!] }],
      gender: n % 2 ? 'male' : 'female',
      birthDate: `${1940 + (n % 80)}-0${1 + (n % 9)}-1${n % 10}`,
      address: [{ city: 'Ciudad de México', state: 'CDMX', country: 'MX' }],
    },
  ];
  for (let e = 0; e < 3; e++) {
    out.push({ resourceType: 'Encounter', id: `${pid}-e${e}`, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject, period: { start: `${2015 + e * 3}-0${1 + (n % 9)}-10T09:00:00-06:00`, end: `${2015 + e * 3}-0${1 + (n % 9)}-10T09:30:00-06:00` } });
  }
  for (let o = 0; o < 20; o++) {
    const v = vitals[o % vitals.length]!;
    out.push({
      resourceType: 'Observation',
      id: `${pid}-o${o}`,
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: v.code, display: v.display }] },
      subject,
      encounter: { reference: `Encounter/${pid}-e${o % 3}` },
      effectiveDateTime: `${2015 + (o % 3) * 3}-0${1 + (n % 9)}-10T09:${String(10 + o).padStart(2, '0')}:00-06:00`,
      valueQuantity: { value: v.base + ((n * 7 + o * 13) % v.spread), unit: v.unit, system: 'http://unitsofmeasure.org', code: v.unit },
    } as Resource);
  }
  out.push({ resourceType: 'MedicationRequest', id: `${pid}-m0`, status: n % 3 ? 'active' : 'stopped', intent: 'order', subject, medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '313782' }] } } as Resource);
  return out;
}

/** Inserts resources as version 1 and, unless `index` is false, their index rows. */
export async function bulkLoad(db: Db, resources: Resource[], index = true): Promise<void> {
  const now = new Date();
  const rows = resources.map((r) => ({ ...r, meta: { versionId: '1', lastUpdated: now.toISOString() } }) as Resource & { id: string });
  await db.transaction().execute(async (tx) => {
    // The compartment column as a write through the API would store it ($everything, exports and patient tokens read it).
    const patients = rows.map((r) => `{${[...patientsOf(r)].map((p) => `"${p}"`).join(',')}}`);
    await sql`INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content, patients)
      SELECT t, i, 1, ${now}, false, c, p::text[] FROM unnest(${rows.map((r) => r.resourceType)}::text[], ${rows.map((r) => r.id)}::text[], ${rows.map((r) => JSON.stringify(r))}::text[], ${patients}::text[]) AS u(t, i, c, p)`.execute(tx);
    if (index) await insertIndexRowsBulk(tx, rows.map((r) => ({ resourceType: r.resourceType, id: r.id, rows: extractIndexValues(r) })));
  });
}

/**
 * Loads `count` generated resources of `resourceType` (ids starting with `idPrefix`) unless a kept database
 * (BENCH_PG_DIR) already holds exactly them, so a rerun skips a load of minutes. Returns the load's seconds,
 * undefined when nothing was loaded; a kept database holding another count is refused rather than measured.
 */
export async function loadOnce(db: Db, what: { resourceType: string; idPrefix: string; count: number }, loadAll: () => Promise<void>): Promise<number | undefined> {
  const started = performance.now();
  const present = await sql<{ n: number }>`SELECT count(*)::int AS n FROM resource WHERE resource_type = ${what.resourceType} AND id LIKE ${`${what.idPrefix}%`}`.execute(db);
  const loaded = present.rows[0]?.n ?? 0;
  if (loaded === what.count) return undefined;
  if (loaded > 0) throw new Error(`the kept database holds ${loaded} generated ${what.resourceType} resources, not ${what.count}: remove BENCH_PG_DIR's folder`);
  await loadAll();
  return Math.round((performance.now() - started) / 100) / 10;
}
