/** Who may call the summaries, what each token gets, and the audit trail of who looked at whose summary. */
import type { AuditEvent, Bundle, Composition, Parameters, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';
import { absentReason, param } from '../support/summary.ts';
import { mintToken, roleToken } from '../support/tokens.ts';

const t = useTestApp();
const tag = uniqueTag();
let patient: string;
let other: string;

async function create(r: Resource): Promise<Resource> {
  const res = await t.request({ method: 'POST', url: `/fhir/${r.resourceType}`, headers: fhirJson, payload: r });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

beforeAll(async () => {
  patient = (await create({ resourceType: 'Patient', name: [{ family: 'Acceso', given: [tag] }], gender: 'female', birthDate: '1980-01-01' })).id ?? '';
  other = (await create({ resourceType: 'Patient', name: [{ family: 'Otro', given: [tag] }], gender: 'male', birthDate: '1970-01-01' })).id ?? '';
  await create({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: '2026-11-01T08:00:00Z',
    valueQuantity: { value: 64, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  });
  await create({ resourceType: 'Condition', subject: { reference: `Patient/${patient}` }, code: { text: 'Hipotiroidismo' } });
});

const get = (url: string, token: string) => t.request({ method: 'GET', url, token });

describe('scopes', () => {
  test('the auditor role can call both', async () => {
    const auditor = await roleToken('auditor', {}, `auditor-${tag}`);
    expect((await get(`/fhir/Patient/${patient}/$summary`, auditor)).statusCode).toBe(200);
    expect((await get(`/fhir/Patient/${patient}/$resumen-medico`, auditor)).statusCode).toBe(200);
  });

  test('a patient token sees its own summary and no one else\'s', async () => {
    const own = await roleToken('patient', { patient }, `paciente-${tag}`);
    const doc = (await get(`/fhir/Patient/${patient}/$summary`, own)).json() as Bundle;
    expect(doc.type).toBe('document');
    expect((doc.entry?.[0]?.resource as Composition | undefined)?.section?.[0]?.entry).toHaveLength(1);
    expect(param((await get(`/fhir/Patient/${patient}/$resumen-medico`, own)).json(), 'signosVitales.frecuenciaCardiaca.valor')?.valueQuantity?.value).toBe(64);
    // Another patient's record answers as one that does not exist.
    expect((await get(`/fhir/Patient/${other}/$summary`, own)).statusCode).toBe(404);
    expect((await get(`/fhir/Patient/${other}/$resumen-medico`, own)).statusCode).toBe(404);
  });

  test('a token that may read Patient but not Observation or Condition gets them marked as withheld', async () => {
    const narrow = await mintToken({ sub: `narrow-${tag}`, claims: { role: 'clinician', scope: 'user/Patient.rs' } });
    const r = (await get(`/fhir/Patient/${patient}/$resumen-medico`, narrow)).json() as Parameters;
    expect(absentReason(param(r, 'signosVitales.frecuenciaCardiaca'))).toBe('masked');
    expect(absentReason(param(r, 'antecedentes.primerNivel.patologicos'))).toBe('masked');
    const doc = (await get(`/fhir/Patient/${patient}/$summary`, narrow)).json() as Bundle;
    const problems = (doc.entry?.[0]?.resource as Composition | undefined)?.section?.[0];
    expect(problems?.emptyReason?.coding?.[0]?.code).toBe('withheld');
    expect(doc.entry?.map((e) => e.resource?.resourceType)).toEqual(['Composition', 'Patient', 'Device']);
  });

  test('without read access to Patient: 403', async () => {
    const obsOnly = await mintToken({ sub: `obs-${tag}`, claims: { role: 'clinician', scope: 'user/Observation.rs' } });
    expect((await get(`/fhir/Patient/${patient}/$summary`, obsOnly)).statusCode).toBe(403);
    expect((await get(`/fhir/Patient/${patient}/$resumen-medico`, obsOnly)).statusCode).toBe(403);
  });

  test('unknown and deleted patients: 404 and 410', async () => {
    const auditor = await roleToken('auditor', {}, `auditor-${tag}`);
    expect((await get('/fhir/Patient/no-existe-nunca/$summary', auditor)).statusCode).toBe(404);
    const gone = (await create({ resourceType: 'Patient', gender: 'unknown' })).id;
    await t.request({ method: 'DELETE', url: `/fhir/Patient/${gone}` });
    expect((await get(`/fhir/Patient/${gone}/$resumen-medico`, auditor)).statusCode).toBe(410);
    expect((await get(`/fhir/Patient/${patient}/$resumen-medico?date=23-11-2026`, auditor)).statusCode).toBe(400);
  });
});

test('each call leaves one AuditEvent naming the reader, the operation and the patient', async () => {
  const sub = `auditora-${tag}`;
  const auditor = await roleToken('auditor', { clues: 'DFIST000011' }, sub);
  await get(`/fhir/Patient/${patient}/$summary`, auditor);
  await get(`/fhir/Patient/${patient}/$resumen-medico?date=2026-11-23`, auditor);
  const patientToken = await roleToken('patient', { patient: other }, sub);
  await get(`/fhir/Patient/${patient}/$summary`, patientToken);
  const trail = await get(`/fhir/AuditEvent?agent=${sub}&_count=100`, auditor);
  const events = ((trail.json() as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
  const seen = events.map((e) => `${e.subtype?.[1]?.code} ${e.outcome} ${e.entity?.find((x) => x.role?.code === '1')?.what?.reference}`).sort();
  expect(seen).toEqual([`$resumen-medico 0 Patient/${patient}`, `$summary 0 Patient/${patient}`, `$summary 4 Patient/${patient}`]);
});

test('the CapabilityStatement lists both operations on Patient', async () => {
  const cs = (await t.request({ method: 'GET', url: '/fhir/metadata' })).json();
  const ops = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Patient').operation;
  expect(ops).toEqual(
    expect.arrayContaining([
      { name: 'summary', definition: 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary' },
      { name: 'resumen-medico', definition: 'https://ecu-fhir.org/fhir/OperationDefinition/Patient-resumen-medico' },
    ]),
  );
});
