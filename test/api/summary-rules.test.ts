/**
 * The rules behind the summaries: which vital sign wins, which statuses are
 * left out, how a record's level of care is found when it carries no stamp,
 * and a fixed number of queries whatever the size of the record.
 */
import type { Observation, Parameters, Resource } from '@medplum/fhirtypes';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { loadPatientRecord } from '../../src/summary/load-record.ts';
import type { Database } from '../../src/store/database.ts';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { absentReason, param } from '../support/summary.ts';
import { roleToken } from '../support/tokens.ts';

const t = useTestApp();
let admin: string;
let clinic: string;

beforeAll(async () => {
  admin = await roleToken('admin', {}, 'admin-summary-rules');
  clinic = await roleToken('clinician', { clues: 'DFIST000011' }, 'clinician-summary-rules');
});

async function create(r: Resource, token = clinic): Promise<Resource> {
  const res = await t.request({ method: r.id ? 'PUT' : 'POST', url: `/fhir/${r.resourceType}${r.id ? `/${r.id}` : ''}`, headers: fhirJson, payload: r, token });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
}

async function newPatient(gender: 'female' | 'male' = 'female'): Promise<string> {
  return (await create({ resourceType: 'Patient', name: [{ family: 'Prueba', given: [uniqueTag()] }], gender, birthDate: '1990-05-05' })).id ?? '';
}

function weight(patient: string, value: number, when: string, status = 'final'): Resource {
  return {
    resourceType: 'Observation',
    status: status as 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: when,
    valueQuantity: { value, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
}

async function resumen(patient: string): Promise<Parameters> {
  const res = await t.request({ method: 'GET', url: `/fhir/Patient/${patient}/$resumen-medico?date=2026-11-23` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('last vital signs', () => {
  test('the newest valid measurement wins; entered-in-error, cancelled and amended ones never show; a corrected value replaces the one it corrects', async () => {
    const p = await newPatient();
    await create(weight(p, 70, '2026-01-10T09:00:00-06:00'));
    const june = await create(weight(p, 72, '2026-06-10T09:00:00-06:00'));
    await create(weight(p, 99, '2026-10-01T09:00:00-06:00', 'entered-in-error'));
    await create(weight(p, 80, '2026-09-01T09:00:00-06:00', 'cancelled'));
    await create(weight(p, 85, '2026-09-15T09:00:00-06:00', 'registered'));
    expect(param(await resumen(p), 'signosVitales.peso.valor')?.valueQuantity?.value).toBe(72);
    // An amended result is left out: the summary falls back to the newest final one (January).
    await create({ ...(june as Observation), status: 'amended', valueQuantity: { value: 71.8, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } });
    expect(param(await resumen(p), 'signosVitales.peso.valor')?.valueQuantity?.value).toBe(70);
    // The June value was wrong: corrected (a new version of the same Observation) to 71.5.
    await create({ ...(june as Observation), status: 'corrected', valueQuantity: { value: 71.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } });
    const r = await resumen(p);
    expect(param(r, 'signosVitales.peso.valor')?.valueQuantity?.value).toBe(71.5);
    expect(param(r, 'signosVitales.peso.observacion')?.valueReference?.reference).toBe(`Observation/${june.id}`);
    // Later in the day wins over earlier the same day, across time zones.
    await create(weight(p, 73, '2026-06-10T16:00:00Z'));
    expect(param(await resumen(p), 'signosVitales.peso.valor')?.valueQuantity?.value).toBe(73);
    // A deleted measurement is gone from the summary too.
    const newest = await create(weight(p, 74, '2026-11-01T09:00:00-06:00'));
    expect(param(await resumen(p), 'signosVitales.peso.valor')?.valueQuantity?.value).toBe(74);
    await t.request({ method: 'DELETE', url: `/fhir/Observation/${newest.id}` });
    expect(param(await resumen(p), 'signosVitales.peso.valor')?.valueQuantity?.value).toBe(73);
  });

  test('a patient with no vital signs gets explicit absences', async () => {
    const r = await resumen(await newPatient());
    expect(absentReason(param(r, 'signosVitales.peso'))).toBe('unknown');
    expect(absentReason(param(r, 'signosVitales.ultimaActualizacion'))).toBe('unknown');
    expect(absentReason(param(r, 'resumenMedico.grupoSanguineo'))).toBe('unknown');
    expect(absentReason(param(r, 'ultimaAtencion'))).toBe('unknown');
  });
});

describe('level of care of a record', () => {
  const tag = uniqueTag();
  const unit = (id: string, clues: string, level?: string): Resource => ({
    resourceType: 'Organization',
    id,
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.631', value: clues }],
    name: `Unidad ${id}`,
    ...(level ? { extension: [{ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-nivel-atencion', valueCoding: { system: 'https://ecu-fhir.org/fhir/CodeSystem/nivel-atencion', code: level } }] } : {}),
  });
  const condition = (patient: string, text: string, extra: object = {}): Resource => ({
    resourceType: 'Condition',
    subject: { reference: `Patient/${patient}` },
    code: { text },
    ...extra,
  });

  test('stamp, else Provenance, else the record\'s own author Organization; without any, an explicit unknown-level block', async () => {
    await create(unit(`tercer-nivel-${tag}`, 'DFSSA003456', '3'), admin);
    await create(unit(`sin-nivel-${tag}`, 'DFSSA009999'), admin);
    const p = await newPatient('male');
    // Received from another institution through an institution token: it keeps its stamp.
    const institution = await roleToken('institution', { clues: 'DFIMS000011' }, 'interfaz-imss');
    await create(
      condition(p, 'Diabetes mellitus tipo 2', { meta: { extension: [{ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-unidad-autora', valueIdentifier: { system: 'urn:oid:2.16.840.1.113883.4.631', value: 'DFSSA003456' } }] } }),
      institution,
    );
    // No stamp: a Provenance (targeting the patient and the record) names the unit.
    const viaProvenance = await create(condition(p, 'Hipertensión arterial'), institution);
    await create(
      {
        resourceType: 'Provenance',
        target: [{ reference: `Patient/${p}` }, { reference: `Condition/${viaProvenance.id}` }],
        recorded: '2026-11-01T10:00:00Z',
        agent: [{ who: { reference: `Organization/tercer-nivel-${tag}` } }],
      },
      institution,
    );
    // No stamp, no Provenance: the record's own asserter is a unit.
    await create(condition(p, 'Asma', { asserter: undefined, recorder: { reference: `Organization/tercer-nivel-${tag}` } }), institution);
    // A unit without level of care, and a record with no unit at all.
    await create(condition(p, 'Gastritis', { meta: { extension: [{ url: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-unidad-autora', valueIdentifier: { system: 'urn:oid:2.16.840.1.113883.4.631', value: 'DFSSA009999' } }] } }), institution);
    await create(condition(p, 'Migraña'), institution);
    const r = await resumen(p);
    const texts = (path: string) => param(r, path)?.part?.filter((x) => x.name === 'registro').map((x) => param(x, 'texto')?.valueString).sort();
    expect(texts('antecedentes.segundoTercerNivel.patologicos')).toEqual(['Asma', 'Diabetes mellitus tipo 2', 'Hipertensión arterial']);
    expect(texts('antecedentes.nivelDesconocido.patologicos')).toEqual(['Gastritis', 'Migraña']);
    expect(absentReason(param(r, 'antecedentes.primerNivel.patologicos'))).toBe('unknown');
    expect(absentReason(param(r, 'antecedentes.primerNivel.ginecoObstetricos'))).toBe('not-applicable');
  });
});

describe('a fixed number of queries', () => {
  let db: Kysely<Database>;
  let queries = 0;
  beforeAll(() => {
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 }) }), log: () => void queries++ });
  });
  afterAll(async () => {
    await db.destroy();
  });

  test('two queries for a small record and for a record 20 times larger (no N+1)', async () => {
    const p = await newPatient();
    await create(weight(p, 70, '2026-01-10T09:00:00-06:00'));
    queries = 0;
    const small = await loadPatientRecord(db, p);
    expect(queries).toBe(2);
    for (let i = 0; i < 20; i++) {
      await create(weight(p, 60 + i, `2025-01-${String(i + 1).padStart(2, '0')}T09:00:00-06:00`));
      await create({ resourceType: 'Condition', subject: { reference: `Patient/${p}` }, code: { text: `padecimiento ${i}` }, recorder: { reference: `Organization/org-${i}` } } as Resource, admin);
    }
    queries = 0;
    const large = await loadPatientRecord(db, p);
    expect(queries).toBe(2);
    expect(large.compartment.length).toBe(small.compartment.length + 40);
  });
});
