/** MX profiles over HTTP, strict enforcement: the ISSSTE ECU patient is accepted, each single defect is a 422 with a precise message. */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, test } from 'vitest';
import { mxFixture, mxFixtureFiles, type MxFixtureFile } from '../fixtures/mx/index.ts';
import { fhirJson, uniqueTag, useTestApp } from '../support/app.ts';

const t = useTestApp({ profileEnforcement: 'strict' });
const declared = useTestApp({ profileEnforcement: 'declared' });

function put(r: Resource) {
  return t.request({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id}`, headers: fhirJson, payload: r });
}

/** A defect must be a 422 whose OperationOutcome says what is wrong, and nothing is stored under its id. */
async function rejected(file: MxFixtureFile, change: (r: Resource & Record<string, any>) => void, message: RegExp): Promise<void> {
  const r = mxFixture(file) as Resource & Record<string, any>;
  r.id = `defecto-${uniqueTag()}`;
  change(r);
  const res = await put(r);
  expect(res.statusCode, res.body).toBe(422);
  const texts = (res.json() as OperationOutcome).issue.map((i) => `${i.expression?.join(',')}: ${i.details?.text}`).join('\n');
  expect(texts).toMatch(message);
  expect((await t.request({ method: 'GET', url: `/fhir/${r.resourceType}/${r.id}` })).statusCode).toBe(404);
}

beforeAll(async () => {
  for (const file of mxFixtureFiles) {
    const res = await put(mxFixture(file));
    expect(res.statusCode, `${file}: ${res.body}`).toBeLessThan(300);
  }
});

describe('the ECU patient of the ISSSTE record', () => {
  test('every resource was accepted and reads back', async () => {
    for (const file of mxFixtureFiles) {
      const r = mxFixture(file);
      expect((await t.request({ method: 'GET', url: `/fhir/${r.resourceType}/${r.id}` })).statusCode).toBe(200);
    }
  });

  test('bad CURP check digit', () =>
    rejected('patient.json', (p) => (p.identifier[0].value = 'VIRB840210MDFGMN06'), /Patient.identifier\[0\].value: CURP inválida: el dígito verificador debe ser 5, no 6/));

  test('CURP birth date differing from birthDate', () =>
    rejected('patient.json', (p) => (p.birthDate = '1984-03-10'), /La CURP VIRB840210MDFGMN05 indica fecha de nacimiento 1984-02-10, pero Patient.birthDate es 1984-03-10/));

  test('expediente without system', () =>
    rejected('patient.json', (p) => delete p.identifier[1].system, /Patient.identifier\[1\].system: El número de expediente QUNCB3104 \(type MR\) debe llevar system https:\/\/ecu-fhir.org\/fhir\/sid\/expediente\/\{CLUES\}/));

  test('vital sign in the wrong unit', () =>
    rejected('observation-temperature.json', (o) => (o.valueQuantity = { value: 97, unit: '°F', system: 'http://unitsofmeasure.org', code: '[degF]' }), /Observation.valueQuantity.code debe ser "Cel"/));

  test('BMI inconsistent with weight and height beyond rounding', () =>
    rejected('observation-bmi.json', (o) => (o.valueQuantity.value = 29.39), /IMC 29.39 kg\/m2 no corresponde a peso 71 kg y talla 161 cm \(derivedFrom\): debe ser 27.39 kg\/m2/));

  test('family history with an uncoded relationship', () =>
    rejected('family-member-history-mother.json', (f) => (f.relationship = { text: 'madre' }), /FamilyMemberHistory.relationship debe llevar un código del conjunto https:\/\/ecu-fhir.org\/fhir\/ValueSet\/parentesco/));

  test('prescription signed by an Organization, not a Practitioner with cédula', () =>
    rejected('medication-request.json', (m) => (m.requester = { reference: 'Organization/issste-cmf-narvarte' }), /requester "Organization\/issste-cmf-narvarte" no es un Practitioner/));

  test('prescription signed by a Practitioner without cédula (stored by a declared-mode server)', async () => {
    const id = `sin-cedula-${uniqueTag()}`;
    const created = await declared.request({ method: 'PUT', url: `/fhir/Practitioner/${id}`, headers: fhirJson, payload: { resourceType: 'Practitioner', id, name: [{ family: 'Pérez' }] } });
    expect(created.statusCode).toBe(201);
    await rejected('medication-request.json', (m) => (m.requester = { reference: `Practitioner/${id}` }), /no tiene cédula profesional válida/);
  });

  test('base R4 failures stay 400', async () => {
    const res = await t.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { ...mxFixture('patient.json'), gender: 'mujer' } });
    expect(res.statusCode).toBe(400);
  });

  test('updates and patches are held to the profile too', async () => {
    const res = await t.request({
      method: 'PATCH',
      url: '/fhir/Patient/paciente-ecu-1',
      headers: { 'content-type': 'application/json-patch+json' },
      payload: [{ op: 'replace', path: '/birthDate', value: '1985-02-10' }],
    });
    expect(res.statusCode).toBe(422);
    expect(res.body).toMatch(/indica fecha de nacimiento 1984-02-10/);
  });
});

describe('$validate', () => {
  test('type level: valid, then invalid, nothing stored', async () => {
    const ok = await t.request({ method: 'POST', url: '/fhir/Patient/$validate', headers: fhirJson, payload: { ...mxFixture('patient.json'), id: undefined } });
    expect(ok.statusCode).toBe(200);
    expect((ok.json() as OperationOutcome).issue.map((i) => i.severity)).toEqual(['information']);
    const bad = await t.request({ method: 'POST', url: '/fhir/Patient/$validate', headers: fhirJson, payload: { ...mxFixture('patient.json'), id: 'no-guardar', birthDate: '1990-01-01' } });
    expect(bad.statusCode).toBe(200);
    expect(bad.body).toMatch(/indica fecha de nacimiento 1984-02-10/);
    expect((await t.request({ method: 'GET', url: '/fhir/Patient/no-guardar' })).statusCode).toBe(404);
  });

  test('Parameters with a profile, on a declared-mode server', async () => {
    const payload = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', gender: 'female' } }, { name: 'profile', valueUri: 'https://ecu-fhir.org/fhir/StructureDefinition/mx-patient' }] };
    const res = await declared.request({ method: 'POST', url: '/fhir/Patient/$validate', headers: fhirJson, payload });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/mx-pat-1/);
    expect(res.body).toMatch(/Patient.birthDate/);
  });

  test('instance level with mode=update and mode=delete', async () => {
    const upd = await t.request({ method: 'POST', url: '/fhir/Patient/paciente-ecu-1/$validate?mode=update', headers: fhirJson, payload: { ...mxFixture('patient.json'), id: 'otro' } });
    expect(upd.body).toMatch(/no coincide con el de la URL/);
    const del = await t.request({ method: 'POST', url: '/fhir/Patient/paciente-ecu-1/$validate?mode=delete', headers: fhirJson, payload: {} });
    expect(del.statusCode).toBe(200);
    expect((await t.request({ method: 'POST', url: '/fhir/Patient/nadie/$validate?mode=delete', headers: fhirJson, payload: {} })).statusCode).toBe(404);
  });
});

describe('conformance resources', () => {
  test('GET /StructureDefinition/{id} serves ours with its snapshot; writes are refused', async () => {
    const res = await t.request({ method: 'GET', url: '/fhir/StructureDefinition/mx-patient' });
    expect(res.statusCode).toBe(200);
    const sd = res.json() as { url: string; snapshot: { element: unknown[] } };
    expect(sd.url).toBe('https://ecu-fhir.org/fhir/StructureDefinition/mx-patient');
    expect(sd.snapshot.element.length).toBeGreaterThan(50);
    const put = await t.request({ method: 'PUT', url: '/fhir/StructureDefinition/mx-patient', headers: fhirJson, payload: sd });
    expect(put.statusCode).toBe(405);
  });

  test('the CapabilityStatement lists the supported profiles and $validate', async () => {
    const cs = (await t.request({ method: 'GET', url: '/fhir/metadata' })).json() as { rest: { resource: { type: string; supportedProfile?: string[]; operation?: { name: string }[] }[] }[] };
    const byType = Object.fromEntries(cs.rest[0]!.resource.map((r) => [r.type, r]));
    expect(byType.Patient?.supportedProfile).toEqual(['https://ecu-fhir.org/fhir/StructureDefinition/mx-patient']);
    expect(byType.Observation?.supportedProfile).toContain('https://ecu-fhir.org/fhir/StructureDefinition/mx-bmi');
    expect(byType.Patient?.operation?.map((o) => o.name)).toEqual(['validate', 'everything', 'summary', 'resumen-medico', 'export', 'match']);
  });
});
